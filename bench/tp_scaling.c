/* bench/tp_scaling.c — the tensor-parallel DiT's speed against one process: run it under mpiexec
 * with 1, 2, ... ranks (one worker group of all of them) and compare the seconds per forward pass,
 * with the time spent inside collectives (struct sf_comm's comm_seconds) split out, the bytes
 * all-reduced, and what each rank holds: weight bytes (sf_dit_weight_bytes: replicated + 1/tp of
 * the sharded tensors), the resident pages of its mapping of the weights file after the passes
 * (Rss of the .safetensors mappings in /proc/self/smaps: per process, unlike the shared page
 * cache) and the heap (RssAnon of /proc/self/status, which holds the copied slices).
 *
 *   build/shotfarm mkmodel --config wan2.1-t2v-1.3b --layers 2 --component dit -o /tmp/tpm
 *   SF_THREADS=1 mpiexec -n 1 build/bench/tp_scaling --model /tmp/tpm        # baseline
 *   SF_THREADS=1 mpiexec -n 2 build/bench/tp_scaling --model /tmp/tpm        # tp 2
 *   SF_THREADS=2 mpiexec -n 1 build/bench/tp_scaling --model /tmp/tpm        # 2 threads, tp 1
 *   options: --latent F,H,W (default 1,32,64: 512 tokens)  --reps N (default 2)  --uncached
 *
 * The timed pass is the sampler's: sf_dit_forward_cached with the context precomputed once per
 * prompt (sharded too), so the replicated text MLP is not in the loop; --uncached times
 * sf_dit_forward instead (text MLP and cross-attention keys/values every pass). Best of --reps
 * after one warm-up pass (which also faults the weights in); every pass starts at a barrier, and
 * the slowest rank's time counts. "cpu" is the process CPU time of that pass (all its threads;
 * the slowest rank), which a loaded machine inflates less than wall time. Results go to
 * BENCHMARKS.md. Full build only (MPI). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sf_comm.h"
#include "sf_cost.h"
#include "sf_dit.h"
#include "sf_log.h"
#include "sf_ops.h"
#include "sf_status.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static float *random_buf(size_t n, unsigned seed)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "tp_scaling: out of memory (%zu floats)\n", n);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    return p;
}

/* kB value of a /proc/self/status line ("RssFile:   1234 kB"), or 0. */
static double status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double v = 0;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') v = atof(line + n + 1);
    if (f) fclose(f);
    return v;
}

/* Resident bytes of this process's mappings of .safetensors files (the Rss of each in
 * /proc/self/smaps): the weight pages this rank has touched, not the shared page cache. */
static double mapped_weights_rss(void)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[4096];
    int in_weights = 0;
    double kb = 0;
    while (f && fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        if (strchr(line, '-') && strchr(line, '-') < strchr(line, ' ') && n > 1) {
            /* a mapping header: "start-end perms offset dev inode   path" */
            in_weights = n > 13 && strcmp(line + n - 13, ".safetensors\n") == 0;
        } else if (in_weights && strncmp(line, "Rss:", 4) == 0) {
            kb += atof(line + 4);
        }
    }
    if (f) fclose(f);
    return kb * 1024;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    sf_log_init();
    sf_log_set_rank(rank);
    sf_log_set_level(SF_LOG_WARN);
    const char *model = NULL;
    int64_t thw[3] = {1, 32, 64};
    int reps = 2, uncached = 0;
    static const struct option longs[] = {{"model", required_argument, 0, 'm'},
                                          {"latent", required_argument, 0, 'l'},
                                          {"reps", required_argument, 0, 'r'},
                                          {"uncached", no_argument, 0, 'u'},
                                          {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "m:l:r:u", longs, NULL)) != -1;) {
        if (c == 'm')
            model = optarg;
        else if (c == 'l' && sscanf(optarg, "%ld,%ld,%ld", &thw[0], &thw[1], &thw[2]) == 3) {
        } else if (c == 'r')
            reps = atoi(optarg);
        else if (c == 'u')
            uncached = 1;
        else
            model = NULL, optind = argc, reps = 0;
    }
    if (!model || reps < 1) {
        if (rank == 0)
            fprintf(stderr, "usage: mpiexec -n TP tp_scaling --model DIR [--latent F,H,W] "
                            "[--reps N] [--uncached]\n");
        MPI_Finalize();
        return 2;
    }
    char why[256] = "";
    struct sf_world *w = NULL;
    if (sf_world_create(MPI_COMM_WORLD, size, &w, why, sizeof why) != SF_OK) {
        if (rank == 0) fprintf(stderr, "tp_scaling: %s\n", why);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    struct sf_comm *g = w->group_comm;
    int threads = sf_threads_init(0);
    struct sf_dit *m = NULL;
    struct sf_dit_opts o = {.max_latent = {thw[0], thw[1], thw[2]}, .comm = g};
    double t0 = now();
    if (sf_dit_load(model, &o, &m) != SF_OK) MPI_Abort(MPI_COMM_WORLD, 1);
    double load_s = now() - t0;
    const struct sf_dit_config *c = sf_dit_get_config(m);
    int64_t L = thw[0] / c->patch[0] * (thw[1] / c->patch[1]) * (thw[2] / c->patch[2]);
    size_t nx = (size_t)c->in_dim * thw[0] * thw[1] * thw[2];
    float *x = random_buf(nx, 1), *ctx = random_buf((size_t)c->text_len * c->text_dim, 2);
    float *out = malloc(nx / c->in_dim * c->out_dim * sizeof *out);
    struct sf_dit_context *cc = NULL;
    if (!uncached && sf_dit_context_create(m, ctx, c->text_len, &cc) != SF_OK)
        MPI_Abort(MPI_COMM_WORLD, 1);
    double best = 1e30, best_comm = 0, best_cpu = 0, bytes = 0;
    for (int r = 0; r <= reps; r++) { /* r = 0: warm-up */
        MPI_Barrier(MPI_COMM_WORLD);
        g->comm_seconds = 0;
        g->comm_bytes = 0;
        double s = now(), cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        int st = uncached
                     ? sf_dit_forward(m, x, thw, 500.0, ctx, c->text_len, out)
                     : sf_dit_forward_cached(m, 1, (const float *[]){x}, thw, (double[]){500.0},
                                             (const struct sf_dit_context *[]){cc}, &out);
        if (st != SF_OK) MPI_Abort(MPI_COMM_WORLD, 1);
        double mine[3] = {now() - s, g->comm_seconds, clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu};
        double slowest[3];
        MPI_Allreduce(mine, slowest, 3, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (r > 0 && slowest[0] < best) {
            best = slowest[0];
            best_comm = slowest[1];
            best_cpu = slowest[2];
            bytes = (double)g->comm_bytes;
        }
    }
    uint64_t sharded, copied;
    sf_dit_weight_split(m, &sharded, &copied);
    double mem[5] = {(double)sf_dit_weight_bytes(m), (double)sharded, (double)copied,
                     mapped_weights_rss(), status_kb("RssAnon") * 1024};
    double all[5 * 64];
    if (size <= 64) MPI_Gather(mem, 5, MPI_DOUBLE, all, 5, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    struct sf_cost_dit cost = sf_cost_dit_forward(c, L, c->text_len);
    /* a cached pass: the text MLP and cross-attention keys/values are in the context */
    double flops = uncached ? cost.total : cost.total - cost.text_side;
    if (rank == 0) {
        printf("tp %d x %d thread%s, %lld tokens, %s pass: %.3f s (%.1f GFLOP/s; cpu %.3f s), comm "
               "%.3f s "
               "(%.1f%%, %.1f MB all-reduced per rank), load %.2f s\n",
               size, threads, threads == 1 ? "" : "s", (long long)L,
               uncached ? "uncached" : "cached-context", best, flops / best / 1e9, best_cpu,
               best_comm, 100 * best_comm / best, bytes / 1e6, load_s);
        for (int r = 0; r < size && size <= 64; r++) {
            const double *v = all + 5 * r;
            printf("  rank %d: weights %.1f MB (slices %.1f MB, %.1f MB copied), weight pages "
                   "mapped %.1f MB, "
                   "RssAnon %.1f MB\n",
                   r, v[0] / 1e6, v[1] / 1e6, v[2] / 1e6, v[3] / 1e6, v[4] / 1e6);
        }
    }
    sf_dit_context_destroy(cc);
    sf_dit_destroy(m);
    free(x);
    free(ctx);
    free(out);
    sf_world_destroy(w);
    MPI_Finalize();
    return 0;
}
