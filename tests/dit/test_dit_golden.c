/* test_dit_golden.c — the DiT forward pass against the reference fixtures of scripts/golden/dit.py
 * (tests/fixtures/dit/): each case runs `shotfarm forward dit` (the binary, so the CLI's own code
 * path) and compares `out` with the reference's, max|a-b| <= 1e-4 max|ref|.
 *   h3-f32            diffusers layout, fp32 weights, 3 heads, t a scalar
 *   h5-bf16           diffusers layout, bf16 weights (reference: fp32 on the same rounded ones)
 *   h5-bf16-official  the same weights under the official names, reference Wan2.1's WanModel
 * Every fixture's context is unpadded and its reference padded to 512 rows, so this also proves
 * the padding. A batch of two (the fixture and a second sample) checks sf_dit_forward_batch. */
#include "sf_dit.h"
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_test.h"
#include "sf_test_st.h"

#include <stdlib.h>
#include <sys/wait.h>

static char fixtures[1024], outdir[1024];
static const char *shotfarm;

static void golden_case(const char *name, double k)
{
    char model[1200], in[1200], ref[1200], out[1200];
    snprintf(model, sizeof model, "%s/%s", fixtures, name);
    snprintf(in, sizeof in, "%s/%s.in.safetensors", fixtures, name);
    snprintf(ref, sizeof ref, "%s/%s.ref.safetensors", fixtures, name);
    snprintf(out, sizeof out, "%s/%s.out.safetensors", outdir, name);
    char cmd[5000];
    snprintf(cmd, sizeof cmd, "'%s' forward dit --model '%s' -i '%s' -o '%s'", shotfarm, model, in,
             out);
    int rc = system(cmd);
    CHECK(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    if (rc != 0) return;
    size_t n_got = 0, n_ref = 0;
    int64_t s_got[4], s_ref[4];
    float *got = sf_test_load_f32(out, "out", s_got, &n_got),
          *want = sf_test_load_f32(ref, "out", s_ref, &n_ref);
    if (got && want) {
        for (int d = 0; d < 4; d++)
            CHECK_EQ_INT(s_got[d], s_ref[d]);
        CHECK_EQ_INT(n_got, n_ref);
        if (n_got == n_ref) {
            char what[256];
            snprintf(what, sizeof what, "dit golden %s", name);
            if (sf_test_close_f32(what, got, want, n_got, k))
                fprintf(stderr, "%s: ok, max|a-b| = %.3g max|ref| (tolerance %.0e)\n", what,
                        sf_test_rel_err(got, want, n_got), k);
        }
    }
    free(got);
    free(want);
}

/* Two samples in one pass: the fixture, and a second sample (other latent values, another t,
 * fewer context rows). Sample 0 must still match the reference and sample 1 its own single pass. */
static void batch_case(const char *name)
{
    char model[1200], in[1200], ref[1200];
    snprintf(model, sizeof model, "%s/%s", fixtures, name);
    snprintf(in, sizeof in, "%s/%s.in.safetensors", fixtures, name);
    snprintf(ref, sizeof ref, "%s/%s.ref.safetensors", fixtures, name);
    size_t nx, nc, nr;
    int64_t xs[4], cs[4], rs[4];
    float *x = sf_test_load_f32(in, "x", xs, &nx), *ctx = sf_test_load_f32(in, "context", cs, &nc);
    float *want = sf_test_load_f32(ref, "out", rs, &nr);
    size_t nt;
    float *t = sf_test_load_f32(in, "t", NULL, &nt);
    struct sf_dit *m = NULL;
    float *x2 = malloc(nx * sizeof *x2), *o[2] = {malloc(nr * 4), malloc(nr * 4)};
    float *single = malloc(nr * 4);
    struct sf_dit_opts opts = {.max_latent = {xs[1], xs[2], xs[3]}, .max_batch = 2};
    if (!x || !ctx || !want || !t || !x2 || !o[0] || !o[1] || !single) goto out;
    CHECK_EQ_INT(sf_dit_load(model, &opts, &m), SF_OK);
    if (!m) goto out;
    sf_test_fill(x2, nx, 42);
    const int64_t thw[3] = {xs[1], xs[2], xs[3]};
    const float *xv[2] = {x, x2}, *cv[2] = {ctx, ctx + cs[1]};
    const double tv[2] = {t[0], 250.0};
    const int64_t rows[2] = {cs[0], cs[0] - 2};
    CHECK_EQ_INT(sf_dit_forward_batch(m, 2, xv, thw, tv, cv, rows, o), SF_OK);
    sf_test_close_f32("batch sample 0 vs reference", o[0], want, nr, 1e-4);
    CHECK_EQ_INT(sf_dit_forward(m, x2, thw, 250.0, ctx + cs[1], cs[0] - 2, single), SF_OK);
    sf_test_close_f32("batch sample 1 vs its single pass", o[1], single, nr, 1e-5);
    /* A second call on the same buffers gives the same answer (nothing left over). */
    CHECK_EQ_INT(sf_dit_forward(m, x, thw, t[0], ctx, cs[0], single), SF_OK);
    sf_test_close_f32("single pass after a batch", single, want, nr, 1e-4);

    /* Precomputed contexts: bit-identical for one sample, and the batch of two as above. */
    struct sf_dit_context *cc[2] = {NULL, NULL};
    CHECK_EQ_INT(sf_dit_context_create(m, ctx, cs[0], &cc[0]), SF_OK);
    CHECK_EQ_INT(sf_dit_context_create(m, ctx + cs[1], cs[0] - 2, &cc[1]), SF_OK);
    if (cc[0] && cc[1]) {
        const struct sf_dit_context *ccv[2] = {cc[0], cc[1]};
        CHECK_EQ_INT(sf_dit_forward_cached(m, 1, xv, thw, tv, ccv, o), SF_OK);
        CHECK(memcmp(o[0], single, nr * sizeof *single) == 0);
        CHECK_EQ_INT(sf_dit_forward_cached(m, 2, xv, thw, tv, ccv, o), SF_OK);
        sf_test_close_f32("cached batch sample 0 vs reference", o[0], want, nr, 1e-4);
        CHECK_EQ_INT(sf_dit_forward(m, x2, thw, 250.0, ctx + cs[1], cs[0] - 2, single), SF_OK);
        sf_test_close_f32("cached batch sample 1 vs its single pass", o[1], single, nr, 1e-5);
    }
    sf_dit_context_destroy(cc[0]);
    sf_dit_context_destroy(cc[1]);
out:
    sf_dit_destroy(m);
    free(x);
    free(ctx);
    free(want);
    free(t);
    free(x2);
    free(o[0]);
    free(o[1]);
    free(single);
}

int main(void)
{
    const char *src, *bin;
    if (sf_test_env(&src, &bin, &shotfarm)) return 1;
    snprintf(fixtures, sizeof fixtures, "%s/tests/fixtures/dit", src);
    snprintf(outdir, sizeof outdir, "%s/tests/dit", bin);
    golden_case("h3-f32", 1e-4);
    golden_case("h5-bf16", 1e-4);
    golden_case("h5-bf16-official", 1e-4);
    batch_case("h3-f32");
    return sf_test_result("dit_golden");
}
