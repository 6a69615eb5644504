/* test_tp_dit.c — the tensor-parallel DiT (node/dit.c with sf_dit_opts.comm) on the reference
 * fixtures of scripts/golden/tp.py (tests/fixtures/tp/: 4 heads fp32, 8 heads bf16), run under
 * mpiexec with NP ranks in worker groups of --tp (default: all ranks in one group):
 *   - every rank's output equals the fp32 diffusers reference within 1e-4 max|ref|, and the
 *     single-process model (sf_comm_self) within 1e-5;
 *   - all ranks of a group hold bit-identical outputs, a second pass on the same inputs is
 *     bit-identical to the first, and so is every other group's run (the all-reduce sums in a
 *     fixed order);
 *   - batches of two, with and without precomputed (sharded) contexts, match; the cached single
 *     pass is bit-identical to the uncached one;
 *   - each rank holds the replicated tensors plus exactly 1/tp of the sharded ones.
 * With the argument "bad-tp" (NP 3): loading a 4-head model at tp 3 fails on every rank with
 * SF_E_INVAL and exactly one error line (rank 0's) listing the valid degrees.
 * With "vace" (NP 2): the same checks on the Wan2.1-VACE fixtures of scripts/golden/vace.py
 * (tests/fixtures/vace/v2-bf16 and v2-bf16-official: VACE blocks sharded like the main blocks),
 * their `vace` conditioning set on both models and shared by every sample of a batch. */
#define _POSIX_C_SOURCE 200809L
#include "sf_comm.h"
#include "sf_dit.h"
#include "sf_log.h"
#include "sf_status.h"
#include "sf_test.h"
#include "sf_test_st.h"

#include <mpi.h>
#include <stdlib.h>
#include <unistd.h>

static char fixtures[1024];
static int world_rank, vace_mode;

static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void golden_case(struct sf_world *w, const char *name)
{
    struct sf_comm *g = w->group_comm;
    int tp = g->size;
    char model[1200], in[1200], ref[1200], what[300];
    snprintf(model, sizeof model, "%s/%s", fixtures, name);
    snprintf(in, sizeof in, "%s/%s.in.safetensors", fixtures, name);
    snprintf(ref, sizeof ref, "%s/%s.ref.safetensors", fixtures, name);
    size_t nx = 0, nc = 0, nr = 0, nt = 0;
    int64_t xs[4], cs[4], rs[4];
    float *x = sf_test_load_f32(in, "x", xs, &nx), *ctx = sf_test_load_f32(in, "context", cs, &nc);
    float *t = sf_test_load_f32(in, "t", NULL, &nt), *want = sf_test_load_f32(ref, "out", rs, &nr);
    size_t nv = 0;
    float *vace = vace_mode ? sf_test_load_f32(in, "vace", NULL, &nv) : NULL;
    float *out = malloc(nr * 4), *again = malloc(nr * 4), *whole = malloc(nr * 4);
    float *o2[2] = {malloc(nr * 4), malloc(nr * 4)}, *x2 = malloc(nx * 4);
    struct sf_dit *m = NULL, *m1 = NULL;
    struct sf_dit_context *cc[2] = {NULL, NULL};
    struct sf_dit_opts opts = {.max_latent = {xs[1], xs[2], xs[3]}, .max_batch = 2, .comm = g};
    struct sf_dit_opts opts1 = {.max_latent = {xs[1], xs[2], xs[3]}, .max_batch = 1};
    const int64_t thw[3] = {xs[1], xs[2], xs[3]};
    if (!x || !ctx || !t || !want || !out || !again || !whole || !o2[0] || !o2[1] || !x2 ||
        (vace_mode && !vace))
        goto out;
    CHECK_EQ_INT(sf_dit_load(model, &opts, &m), SF_OK);
    CHECK_EQ_INT(sf_dit_load(model, &opts1, &m1), SF_OK);
    if (!m || !m1) goto out;
    if (vace) {
        CHECK_EQ_INT(sf_dit_set_vace(m, vace, thw, NULL), SF_OK);
        CHECK_EQ_INT(sf_dit_set_vace(m1, vace, thw, NULL), SF_OK);
    }

    /* Against the reference and the single-process model. */
    CHECK_EQ_INT(sf_dit_forward(m, x, thw, t[0], ctx, cs[0], out), SF_OK);
    snprintf(what, sizeof what, "%s tp %d rank %d vs diffusers", name, tp, g->rank);
    if (sf_test_close_f32(what, out, want, nr, 1e-4) && g->rank == 0)
        fprintf(stderr, "%s: ok, max|a-b| = %.3g max|ref| (tolerance 1e-4)\n", what,
                sf_test_rel_err(out, want, nr));
    CHECK_EQ_INT(sf_dit_forward(m1, x, thw, t[0], ctx, cs[0], whole), SF_OK);
    snprintf(what, sizeof what, "%s tp %d rank %d vs tp 1", name, tp, g->rank);
    if (sf_test_close_f32(what, out, whole, nr, 1e-5) && g->rank == 0)
        fprintf(stderr, "%s: ok, max|a-b| = %.3g max|ref| (tolerance 1e-5)\n", what,
                sf_test_rel_err(out, whole, nr));

    /* Bit-identical when repeated, and on every rank of the group. */
    CHECK_EQ_INT(sf_dit_forward(m, x, thw, t[0], ctx, cs[0], again), SF_OK);
    CHECK(memcmp(out, again, nr * 4) == 0);
    uint64_t h = hash_bytes(out, nr * 4), hs[64];
    if (tp <= 64) {
        CHECK_EQ_INT(sf_comm_allgather(g, &h, hs, sizeof h), SF_OK);
        for (int r = 0; r < tp; r++)
            CHECK(hs[r] == h);
    }
    /* Every group of the world (two groups of 2 on 4 ranks: separate processes running the
     * same inputs) gets the same bits. */
    int world_size;
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    if (world_size <= 64) {
        MPI_Allgather(&h, 1, MPI_UINT64_T, hs, 1, MPI_UINT64_T, MPI_COMM_WORLD);
        for (int r = 0; r < world_size; r++)
            CHECK(hs[r] == h);
    }

    /* Batch of two with precomputed sharded contexts (the sampler's path). */
    sf_test_fill(x2, nx, 7);
    CHECK_EQ_INT(sf_dit_context_create(m, ctx, cs[0], &cc[0]), SF_OK);
    CHECK_EQ_INT(sf_dit_context_create(m, ctx + cs[1], cs[0] - 2, &cc[1]), SF_OK);
    if (cc[0] && cc[1]) {
        const float *xv[2] = {x, x2};
        const double tv[2] = {t[0], 250.0};
        const struct sf_dit_context *ccv[2] = {cc[0], cc[1]};
        CHECK_EQ_INT(sf_dit_forward_cached(m, 1, xv, thw, tv, ccv, o2), SF_OK);
        CHECK(memcmp(o2[0], out, nr * 4) == 0);
        CHECK_EQ_INT(sf_dit_forward_cached(m, 2, xv, thw, tv, ccv, o2), SF_OK);
        snprintf(what, sizeof what, "%s tp %d cached batch sample 0 vs diffusers", name, tp);
        sf_test_close_f32(what, o2[0], want, nr, 1e-4);
        CHECK_EQ_INT(sf_dit_forward(m1, x2, thw, 250.0, ctx + cs[1], cs[0] - 2, whole), SF_OK);
        snprintf(what, sizeof what, "%s tp %d cached batch sample 1 vs tp 1", name, tp);
        sf_test_close_f32(what, o2[1], whole, nr, 1e-5);
        /* The uncached batch: both samples' text keys/values normed in one all-reduce. */
        const float *cv[2] = {ctx, ctx + cs[1]};
        const int64_t rows[2] = {cs[0], cs[0] - 2};
        CHECK_EQ_INT(sf_dit_forward_batch(m, 2, xv, thw, tv, cv, rows, o2), SF_OK);
        snprintf(what, sizeof what, "%s tp %d batch sample 0 vs diffusers", name, tp);
        sf_test_close_f32(what, o2[0], want, nr, 1e-4);
        snprintf(what, sizeof what, "%s tp %d batch sample 1 vs tp 1", name, tp);
        sf_test_close_f32(what, o2[1], whole, nr, 1e-5);
    }

    /* Weights: replicated + 1/tp of the sharded tensors, exactly. */
    uint64_t total = sf_dit_weight_bytes(m1), mine = sf_dit_weight_bytes(m), sharded, copied;
    sf_dit_weight_split(m, &sharded, &copied);
    uint64_t full_sharded = sharded * (uint64_t)tp;
    CHECK(mine - sharded + full_sharded == total);
    if (tp > 1) {
        CHECK(sharded > 0 && copied > 0 && copied < sharded);
        CHECK(mine < total);
    } else {
        CHECK(sharded == 0 && copied == 0 && mine == total);
    }
    if (g->rank == 0)
        fprintf(stderr,
                "%s tp %d: rank 0 holds %llu of %llu weight bytes (slices %llu = 1/%d of %llu "
                "sharded; %llu copied)\n",
                name, tp, (unsigned long long)mine, (unsigned long long)total,
                (unsigned long long)sharded, tp, (unsigned long long)full_sharded,
                (unsigned long long)copied);
out:
    sf_dit_context_destroy(cc[0]);
    sf_dit_context_destroy(cc[1]);
    sf_dit_destroy(m);
    sf_dit_destroy(m1);
    free(x);
    free(ctx);
    free(t);
    free(want);
    free(out);
    free(again);
    free(whole);
    free(o2[0]);
    free(o2[1]);
    free(x2);
    free(vace);
}

/* Loads model at the group's tp with stderr captured; returns SF_E_* and the captured text. */
static int load_captured(struct sf_world *w, const char *model, char *text, size_t n)
{
    char path[] = "/tmp/sf_tp_dit_XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    struct sf_dit *m = NULL;
    struct sf_dit_opts o = {.max_tokens = 16, .comm = w->group_comm};
    fflush(stderr);
    dup2(fd, 2);
    int st = sf_dit_load(model, &o, &m);
    dup2(saved, 2);
    close(saved);
    CHECK(m == NULL);
    sf_dit_destroy(m);
    ssize_t got = pread(fd, text, n - 1, 0);
    text[got > 0 ? got : 0] = 0;
    close(fd);
    unlink(path);
    return st;
}

static void bad_tp_case(struct sf_world *w)
{
    char model[1200], text[4096], want[1500];
    snprintf(model, sizeof model, "%s/h4-f32", fixtures);
    CHECK_EQ_INT(load_captured(w, model, text, sizeof text), SF_E_INVAL);
    snprintf(
        want, sizeof want,
        "dit: error: --tp 3 does not divide the 4 attention heads of %s; valid degrees: 1 2 4\n",
        model);
    if (w->group_rank == 0) {
        /* one line: "  0.0s r0 dit: error: ...\n" */
        const char *at = strstr(text, "dit: ");
        CHECK(at != NULL && strcmp(at, want) == 0);
        CHECK(strchr(text, '\n') == text + strlen(text) - 1);
        if (at && strcmp(at, want)) fprintf(stderr, "got: %swant: %s", text, want);
    } else {
        CHECK_STR(text, "");
    }
    snprintf(model, sizeof model, "%s/h8-bf16", fixtures);
    CHECK_EQ_INT(load_captured(w, model, text, sizeof text), SF_E_INVAL);
    if (w->group_rank == 0) CHECK(strstr(text, "valid degrees: 1 2 4 8\n") != NULL);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int size;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    sf_log_init();
    sf_log_set_rank(world_rank);
    sf_log_set_level(SF_LOG_WARN);
    const char *src = getenv("SF_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "SF_SOURCE_DIR must be set (run under ctest)\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    int bad = argc > 1 && strcmp(argv[1], "bad-tp") == 0;
    vace_mode = argc > 1 && strcmp(argv[1], "vace") == 0;
    snprintf(fixtures, sizeof fixtures, "%s/tests/fixtures/%s", src, vace_mode ? "vace" : "tp");
    int tp = argc > 1 && !bad && !vace_mode ? atoi(argv[1]) : size;
    char why[256] = "";
    struct sf_world *w = NULL;
    CHECK_EQ_INT(sf_world_create(MPI_COMM_WORLD, tp, &w, why, sizeof why), SF_OK);
    if (!w) {
        fprintf(stderr, "r%d: %s\n", world_rank, why);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (bad) {
        bad_tp_case(w);
    } else if (vace_mode) {
        golden_case(w, "v2-bf16");
        golden_case(w, "v2-bf16-official");
    } else {
        golden_case(w, "h4-f32");
        golden_case(w, "h8-bf16");
    }
    sf_world_destroy(w);
    int local = sf_test_failures, total = 0;
    MPI_Allreduce(&local, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    if (world_rank == 0)
        fprintf(stderr, "tp_dit (%d ranks, tp %d%s): %s\n", size, tp,
                bad ? ", bad tp" : vace_mode ? ", VACE" : "",
                total ? "FAILED" : "ok");
    return total ? 1 : 0;
}
