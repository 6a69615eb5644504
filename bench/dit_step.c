/* bench/dit_step.c — times one guided denoising step of the DiT (both CFG branches in one
 * sf_dit_forward_batch call, as the sampler runs them) after a warm-up, and in the same run the
 * machine's OpenBLAS cblas_sgemm 2048^3 peak with --threads OpenBLAS threads (measured before and
 * after the steps, since the shared machine's load drifts). Reports effective GFLOP/s from
 * sf_cost_dit_forward (node/sf_cost.h, docs/cost-model.md), the split between GEMM (sf_linear),
 * attention and the rest (sf_dit_set_timing), and peak RSS. Results go to BENCHMARKS.md next
 * to stable-diffusion.cpp and diffusers run back to back (scripts/bench/dit_step_peers.sh).
 *
 *   build/bench/dit_step --model DIR [--threads 2] [--reps 1] [--latent F,H,W]...
 *                        [--warmup small|full] [--no-sgemm] [--vace-model DIR]
 *
 * --device cuda: the DiT on the GPU (the CUDA backend); the table then also gives the GEMMs' and
 * attention's TFLOP/s against the card's dense bf16 peak (sf_cuda_bf16_peak_tflops; the split
 * times include a stream sync per call) and the device memory in use after the steps (the
 * arena, weights and scratch are all allocated by then, so it is the peak). The sgemm baseline
 * is skipped there.
 *
 * --vace-model: also a Wan2.1-VACE model of the same DiT; right after each plain step the same
 * latent runs through it with a random (96, F, H, W) conditioning (the values do not change the
 * cost; building it is a once-per-shot VAE encode, not timed), and a second table gives the
 * VACE/plain ratio of each pair, measured back to back so the shared machine's drift cancels.
 * Its default latents are 4,16,32 and 4,60,52: 512 and 3120 tokens, 2 reference frames + 2 video
 * frames each.
 *
 * Default latents: 2,32,32 (256x256x5 frames, 512 tokens) and 2,60,104 (832x480x5, 3120).
 * The context is zero rows (padded to text_len inside), as stable-diffusion.cpp runs without a
 * text encoder; the FLOPs do not depend on it. The subtle thing: the warm-up pages the mmapped
 * weights in and grows every per-thread scratch buffer; "small" does it with a 1x2x2 latent (the
 * same weight tiles, a fraction of the time), "full" runs a whole step of the first size. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sf_backend.h"
#include "sf_cost.h"
#include "sf_cuda.h"
#include "sf_log.h"
#include "sf_dit.h"
#include "sf_ops.h"
#include "sf_status.h"
#ifdef SF_HAVE_OPENBLAS
#include <cblas.h>
#endif

#define MAX_SIZES 8

/* CPU seconds (user + system) of this process so far: on the shared machine a step's CPU time
 * moves much less with the other load than its wall time. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* Best of 2 runs of a 2048^3 sgemm with n_threads OpenBLAS threads, in GFLOP/s; OpenBLAS goes
 * back to one thread after (our pool owns parallelism everywhere else). */
static double sgemm_peak(int n_threads)
{
    const int n = 2048;
    size_t bytes = (size_t)n * n * sizeof(float);
    float *a = malloc(bytes), *b = malloc(bytes), *c = malloc(bytes);
    if (!a || !b || !c) {
        fprintf(stderr, "dit_step: out of memory for the sgemm baseline\n");
        exit(1);
    }
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)(i % 7) * 0.25f - 0.5f;
        b[i] = (float)(i % 5) * 0.125f - 0.25f;
    }
    double best = 1e30;
#ifdef SF_HAVE_OPENBLAS
    openblas_set_num_threads(n_threads);
#else
    (void)n_threads;
#endif
    for (int r = 0; r < 2; r++) {
        double t0 = sf_time_now();
#ifdef SF_HAVE_OPENBLAS
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                    c, n);
#else
        sf_gemm_f32(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
#endif
        double t = sf_time_now() - t0;
        if (t < best) best = t;
    }
#ifdef SF_HAVE_OPENBLAS
    openblas_set_num_threads(1);
#endif
    free(a);
    free(b);
    free(c);
    return 2.0 * n * n * (double)n / best / 1e9;
}

static double load_avg(void)
{
    double l = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1.0;
        fclose(f);
    }
    return l;
}

static void usage(FILE *to)
{
    fprintf(to, "usage: dit_step --model DIR [--threads N] [--reps R] [--latent F,H,W]...\n"
                "                [--warmup small|full] [--no-sgemm] [--vace-model DIR]\n"
                "                [--device cpu|cuda]\n");
}

int main(int argc, char **argv)
{
    const char *model = NULL, *vace_model = NULL, *device = "cpu";
    int threads = 2, reps = 1, n_sizes = 0, do_sgemm = 1, warm_full = 0;
    int64_t sizes[MAX_SIZES][3];
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"threads", required_argument, 0, 't'},
                                         {"reps", required_argument, 0, 'r'},
                                         {"latent", required_argument, 0, 'l'},
                                         {"warmup", required_argument, 0, 'w'},
                                         {"no-sgemm", no_argument, 0, 'n'},
                                         {"vace-model", required_argument, 0, 'v'},
                                         {"device", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 'm': model = optarg; break;
        case 't': threads = atoi(optarg); break;
        case 'r': reps = atoi(optarg); break;
        case 'n': do_sgemm = 0; break;
        case 'v': vace_model = optarg; break;
        case 'd': device = optarg; break;
        case 'w': warm_full = !strcmp(optarg, "full"); break;
        case 'l': {
            long long f, h, w;
            if (n_sizes == MAX_SIZES || sscanf(optarg, "%lld,%lld,%lld", &f, &h, &w) != 3) {
                fprintf(stderr, "dit_step: --latent %s: give F,H,W (at most %d sizes)\n", optarg,
                        MAX_SIZES);
                return 2;
            }
            sizes[n_sizes][0] = f, sizes[n_sizes][1] = h, sizes[n_sizes][2] = w;
            n_sizes++;
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!model || threads < 1 || reps < 1) {
        usage(stderr);
        return 2;
    }
    if (!n_sizes) {
        const int64_t def[2][3] = {{2, 32, 32}, {2, 60, 104}};
        const int64_t def_vace[2][3] = {{4, 16, 32}, {4, 60, 52}};
        memcpy(sizes, vace_model ? def_vace : def, sizeof def);
        n_sizes = 2;
    }
    sf_threads_init(threads);
    const struct sf_backend *be = NULL;
    if (sf_backend_for_device(device, &be) != SF_OK) return 1;
    int on_gpu = !be->host_memory;
    if (on_gpu) do_sgemm = 0;
    double peak0 = do_sgemm ? sgemm_peak(threads) : 0.0;
    printf("sgemm 2048^3, %d OpenBLAS threads: %.1f GFLOP/s (load %.1f)\n", threads, peak0,
           load_avg());

    int64_t max_lat[3] = {2, 2, 2};
    for (int s = 0; s < n_sizes; s++)
        for (int d = 0; d < 3; d++)
            if (sizes[s][d] > max_lat[d]) max_lat[d] = sizes[s][d];
    struct sf_dit_opts o = {
        .max_latent = {max_lat[0], max_lat[1], max_lat[2]}, .max_batch = 2, .backend = be};
    struct sf_dit *m = NULL;
    if (sf_dit_load(model, &o, &m) != SF_OK) return 1;
    const struct sf_dit_config *cfg = sf_dit_get_config(m);
    size_t cap = (size_t)cfg->in_dim * max_lat[0] * max_lat[1] * max_lat[2];
    size_t cap_out = (size_t)cfg->out_dim * max_lat[0] * max_lat[1] * max_lat[2];
    float *x = malloc(cap * sizeof *x), *o0 = malloc(cap_out * sizeof *o0),
          *o1 = malloc(cap_out * sizeof *o1);
    if (!x || !o0 || !o1) {
        fprintf(stderr, "dit_step: out of memory for latents\n");
        return 1;
    }
    for (size_t i = 0; i < cap; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    const float *xs[2] = {x, x}, *ctx[2] = {NULL, NULL};
    const int64_t rows[2] = {0, 0};
    const double t[2] = {500.0, 500.0};
    float *outs[2] = {o0, o1};
    struct sf_dit *vm = NULL;
    float *cond = NULL;
    double vace_s[MAX_SIZES][8] = {{0}}, plain_s[MAX_SIZES][8] = {{0}};
    double vace_cpu[MAX_SIZES][8] = {{0}}, plain_cpu[MAX_SIZES][8] = {{0}};
    if (vace_model) {
        if (sf_dit_load(vace_model, &o, &vm) != SF_OK) return 1;
        const struct sf_dit_config *vc = sf_dit_get_config(vm);
        size_t nc = (size_t)vc->vace_in_dim * max_lat[0] * max_lat[1] * max_lat[2];
        if (!vc->n_vace || !(cond = malloc(nc * sizeof *cond))) {
            fprintf(stderr, "dit_step: %s is not a VACE model (or out of memory)\n", vace_model);
            return 1;
        }
        for (size_t i = 0; i < nc; i++)
            cond[i] = (float)((i * 2246822519u) % 1000) / 500.0f - 1.0f;
        const int64_t small1[3] = {1, 2, 2};
        if (sf_dit_set_vace(vm, cond, small1, NULL) != SF_OK ||
            sf_dit_forward_batch(vm, 2, xs, small1, t, ctx, rows, outs) != SF_OK)
            return 1;
    }

    double tw = sf_time_now();
    const int64_t small[3] = {1, 2, 2};
    if (sf_dit_forward_batch(m, 2, xs, warm_full ? sizes[0] : small, t, ctx, rows, outs) != SF_OK)
        return 1;
    printf("warm-up (%s): %.1f s; weights %.1f MiB, activation buffers %.1f MiB\n",
           warm_full ? "full" : "1x2x2 latent", sf_time_now() - tw, sf_dit_weight_bytes(m) / 1048576.0,
           sf_dit_buffer_bytes(m) / 1048576.0);

    printf("\n| latent | tokens | step s | GFLOP/step | GFLOP/s | GEMM | attention | rest | "
           "load |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int s = 0; s < n_sizes; s++) {
        int64_t L = sf_cost_dit_tokens(cfg, sizes[s][0], sizes[s][1], sizes[s][2]);
        struct sf_cost_dit cost = sf_cost_dit_forward(cfg, L, cfg->text_len);
        double flops = 2.0 * cost.total; /* two guidance branches */
        for (int r = 0; r < reps; r++) {
            struct sf_dit_timing tm = {0};
            sf_dit_set_timing(m, &tm);
            double t0 = sf_time_now(), c0 = cpu_seconds();
            if (sf_dit_forward_batch(m, 2, xs, sizes[s], t, ctx, rows, outs) != SF_OK) return 1;
            double dt = sf_time_now() - t0, dc = cpu_seconds() - c0;
            sf_dit_set_timing(m, NULL);
            double rest = tm.total - tm.linear - tm.attention;
            printf("| %lldx%lldx%lld | %lld | %.2f | %.0f | %.1f | %.0f%% | %.0f%% | %.0f%% | "
                   "%.1f |\n",
                   (long long)sizes[s][0], (long long)sizes[s][1], (long long)sizes[s][2],
                   (long long)L, dt, flops / 1e9, flops / dt / 1e9, 100 * tm.linear / tm.total,
                   100 * tm.attention / tm.total, 100 * rest / tm.total, load_avg());
            if (on_gpu) {
                double peak = sf_cuda_bf16_peak_tflops(0) * 1e12;
                double gl = 2.0 * cost.linear / tm.linear,
                       ga = 2.0 * (cost.attn_self + cost.attn_cross) / tm.attention;
                printf("|   GPU | GEMM %.1f TFLOP/s = %.0f%% of bf16 peak %.0f | attention %.1f "
                       "TFLOP/s = %.0f%% | | | | | |\n",
                       gl / 1e12, peak > 0 ? 100 * gl / peak : 0.0, peak / 1e12, ga / 1e12,
                       peak > 0 ? 100 * ga / peak : 0.0);
            }
            fflush(stdout);
            if (!vm || r >= 8) continue;
            plain_s[s][r] = dt;
            plain_cpu[s][r] = dc;
            if (sf_dit_set_vace(vm, cond, sizes[s], NULL) != SF_OK) return 1;
            t0 = sf_time_now();
            c0 = cpu_seconds();
            if (sf_dit_forward_batch(vm, 2, xs, sizes[s], t, ctx, rows, outs) != SF_OK) return 1;
            vace_s[s][r] = sf_time_now() - t0;
            vace_cpu[s][r] = cpu_seconds() - c0;
            printf("|   VACE | %lld | %.2f | | | | | | %.1f |\n", (long long)L, vace_s[s][r],
                   load_avg());
            fflush(stdout);
        }
    }
    if (vm) {
        const struct sf_dit_config *vc = sf_dit_get_config(vm);
        printf("\nVACE (%d VACE blocks on %d layers) against the plain steps above, back to back:\n"
               "\n| latent | tokens | plain step s | VACE step s | VACE / plain | plain CPU s | "
               "VACE CPU s | VACE / plain (CPU) | FLOP ratio |\n"
               "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
               vc->n_vace, vc->n_layers);
        for (int s = 0; s < n_sizes; s++)
            for (int r = 0; r < reps && r < 8; r++) {
                int64_t L = sf_cost_dit_tokens(cfg, sizes[s][0], sizes[s][1], sizes[s][2]);
                double fp = sf_cost_dit_forward(cfg, L, cfg->text_len).total;
                double fv = sf_cost_dit_forward(vc, L, vc->text_len).total;
                printf("| %lldx%lldx%lld | %lld | %.2f | %.2f | %.3f | %.2f | %.2f | %.3f | %.3f |\n",
                       (long long)sizes[s][0], (long long)sizes[s][1], (long long)sizes[s][2],
                       (long long)L, plain_s[s][r], vace_s[s][r], vace_s[s][r] / plain_s[s][r],
                       plain_cpu[s][r], vace_cpu[s][r], vace_cpu[s][r] / plain_cpu[s][r],
                       fv / fp);
            }
        sf_dit_destroy(vm);
        free(cond);
    }
    if (on_gpu) {
        char what[256];
        size_t used = 0, total = 0;
        sf_cuda_describe(0, what, sizeof what);
        sf_cuda_mem_info(&used, &total);
        printf("\ndevice: %s; device memory in use after the steps %.2f GiB of %.1f GiB "
               "(weights %.2f GiB, activation arena %.2f GiB)\n",
               what, used / 1073741824.0, total / 1073741824.0,
               sf_dit_weight_bytes(m) / 1073741824.0, sf_dit_buffer_bytes(m) / 1073741824.0);
    }
    printf("\npeak RSS %.1f MiB (weights %.1f MiB + 1 GiB = %.1f MiB allowed)\n", peak_rss_mib(),
           sf_dit_weight_bytes(m) / 1048576.0, sf_dit_weight_bytes(m) / 1048576.0 + 1024.0);
    if (do_sgemm)
        printf("sgemm 2048^3 after the steps: %.1f GFLOP/s (load %.1f)\n", sgemm_peak(threads),
               load_avg());
    free(x);
    free(o0);
    free(o1);
    sf_dit_destroy(m);
    return 0;
}
