/* test_dit_parity.c — the DiT on the CUDA backend against the same DiT on the CPU (label gpu;
 * exit 77 without a device), on the reference fixtures of tests/fixtures/dit and /vace (fp32 and
 * bf16 weights, diffusers and official layouts, Wan2.1-VACE): one pass, a batch of two with
 * precomputed contexts (the sampler's path), a repeated pass bit-identical to the first, and a
 * 4-step guided denoise (UniPC) through sf_denoise_run.
 * Tolerances (max|a-b| <= k max|cpu|): fp32 models 1e-4 per pass and 1e-3 after 4 steps; bf16
 * models 3e-2 per pass and 1e-1 after 4 guided steps (the GPU's GEMMs round their activations to
 * bf16 and its attention rounds q, k, v and the softmax weights to bf16; the CPU keeps them fp32;
 * guidance 5 amplifies the difference of the two branches). The bf16 bounds are first estimates,
 * to be tightened to the errors the first GPU run prints. The CPU side is the code the golden
 * tests hold to diffusers. */
#include "gpu_test.h"
#include "sf_denoise.h"
#include "sf_dit.h"
#include "sf_log.h"
#include "sf_sampler.h"
#include "sf_test_st.h"

#include <stdlib.h>
#include <string.h>

static const struct sf_backend *gpu;
static char src_dir[1024];

static void one_model(const char *area, const char *name, int vace, int bf16)
{
    char model[1200], in[1200], what[160];
    snprintf(model, sizeof model, "%s/tests/fixtures/%s/%s", src_dir, area, name);
    snprintf(in, sizeof in, "%s/tests/fixtures/%s/%s.in.safetensors", src_dir, area, name);
    double k_pass = bf16 ? 3e-2 : 1e-4, k_denoise = bf16 ? 1e-1 : 1e-3;
    size_t nx, nc, nt, nv = 0;
    int64_t xs[4], cs[4];
    float *x = sf_test_load_f32(in, "x", xs, &nx), *ctx = sf_test_load_f32(in, "context", cs, &nc);
    float *t = sf_test_load_f32(in, "t", NULL, &nt);
    float *vc = vace ? sf_test_load_f32(in, "vace", NULL, &nv) : NULL;
    if (!x || !ctx || !t || (vace && !vc)) return;
    const int64_t thw[3] = {xs[1], xs[2], xs[3]};
    struct sf_dit *mc = NULL, *mg = NULL;
    struct sf_dit_opts oc = {.max_latent = {thw[0], thw[1], thw[2]}, .max_batch = 2};
    struct sf_dit_opts og = oc;
    og.backend = gpu;
    CHECK_EQ_INT(sf_dit_load(model, &oc, &mc), SF_OK);
    CHECK_EQ_INT(sf_dit_load(model, &og, &mg), SF_OK);
    if (!mc || !mg) goto out;
    if (vc) {
        CHECK_EQ_INT(sf_dit_set_vace(mc, vc, thw, NULL), SF_OK);
        CHECK_EQ_INT(sf_dit_set_vace(mg, vc, thw, NULL), SF_OK);
    }
    const struct sf_dit_config *cfg = sf_dit_get_config(mc);
    size_t no = (size_t)cfg->out_dim * thw[0] * thw[1] * thw[2];
    float *c0 = malloc(no * 4), *g0 = malloc(no * 4), *g1 = malloc(no * 4);
    float *cb[2] = {malloc(no * 4), malloc(no * 4)}, *gb[2] = {malloc(no * 4), malloc(no * 4)};
    float *x2 = malloc(nx * 4);
    sf_test_fill(x2, nx, 7);

    /* one pass, and the same pass again (bit-identical on the GPU too) */
    CHECK_EQ_INT(sf_dit_forward(mc, x, thw, t[0], ctx, cs[0], c0), SF_OK);
    CHECK_EQ_INT(sf_dit_forward(mg, x, thw, t[0], ctx, cs[0], g0), SF_OK);
    snprintf(what, sizeof what, "%s/%s one pass, cuda vs cpu", area, name);
    gpu_test_close(what, g0, c0, no, k_pass);
    CHECK_EQ_INT(sf_dit_forward(mg, x, thw, t[0], ctx, cs[0], g1), SF_OK);
    CHECK(memcmp(g0, g1, no * 4) == 0);

    /* batch of two with precomputed contexts */
    struct sf_dit_context *cc[2] = {NULL, NULL}, *gc[2] = {NULL, NULL};
    CHECK_EQ_INT(sf_dit_context_create(mc, ctx, cs[0], &cc[0]), SF_OK);
    CHECK_EQ_INT(sf_dit_context_create(mc, ctx + cs[1], cs[0] - 2, &cc[1]), SF_OK);
    CHECK_EQ_INT(sf_dit_context_create(mg, ctx, cs[0], &gc[0]), SF_OK);
    CHECK_EQ_INT(sf_dit_context_create(mg, ctx + cs[1], cs[0] - 2, &gc[1]), SF_OK);
    if (cc[0] && cc[1] && gc[0] && gc[1]) {
        const float *xv[2] = {x, x2};
        const double tv[2] = {t[0], 250.0};
        const struct sf_dit_context *ccv[2] = {cc[0], cc[1]}, *gcv[2] = {gc[0], gc[1]};
        CHECK_EQ_INT(sf_dit_forward_cached(mc, 2, xv, thw, tv, ccv, cb), SF_OK);
        CHECK_EQ_INT(sf_dit_forward_cached(mg, 2, xv, thw, tv, gcv, gb), SF_OK);
        for (int i = 0; i < 2; i++) {
            snprintf(what, sizeof what, "%s/%s cached batch sample %d", area, name, i);
            gpu_test_close(what, gb[i], cb[i], no, k_pass);
        }
    }
    for (int i = 0; i < 2; i++) {
        sf_dit_context_destroy(cc[i]);
        sf_dit_context_destroy(gc[i]);
    }

    /* a 4-step guided denoise from the fixture's latent as noise */
    if (cfg->out_dim == cfg->in_dim) {
        struct sf_sampler *sc = NULL, *sg = NULL;
        CHECK_EQ_INT(sf_sampler_create(SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 4, 5.0, 5.0,
                                       (int64_t)nx, x, &sc), SF_OK);
        CHECK_EQ_INT(sf_sampler_create(SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 4, 5.0, 5.0,
                                       (int64_t)nx, x, &sg), SF_OK);
        if (sc && sg) {
            CHECK_EQ_INT(sf_denoise_run(mc, sc, thw, ctx, cs[0], ctx + cs[1], cs[0] - 2, -1, NULL,
                                        NULL), SF_OK);
            CHECK_EQ_INT(sf_denoise_run(mg, sg, thw, ctx, cs[0], ctx + cs[1], cs[0] - 2, -1, NULL,
                                        NULL), SF_OK);
            snprintf(what, sizeof what, "%s/%s 4-step denoise", area, name);
            gpu_test_close(what, sg->x, sc->x, nx, k_denoise);
        }
        sf_sampler_destroy(sc);
        sf_sampler_destroy(sg);
    }
    free(c0), free(g0), free(g1), free(cb[0]), free(cb[1]), free(gb[0]), free(gb[1]), free(x2);
out:
    sf_dit_destroy(mc);
    sf_dit_destroy(mg);
    free(x), free(ctx), free(t), free(vc);
}

int main(void)
{
    sf_log_init();
    sf_log_set_level(SF_LOG_WARN);
    const char *src = getenv("SF_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "SF_SOURCE_DIR must be set (run under ctest)\n");
        return 1;
    }
    snprintf(src_dir, sizeof src_dir, "%s", src);
    gpu = gpu_test_open("gpu_dit_parity");
    if (!gpu) return sf_test_failures ? 1 : SF_TEST_SKIP;
    /* a device backend refuses tensor parallelism until NCCL (issue 28) — checked where that
     * refusal lives: sf_dit_load with opts.comm, in tests/tp on CPU builds */
    one_model("dit", "h3-f32", 0, 0);
    one_model("dit", "h5-bf16", 0, 1);
    one_model("dit", "h5-bf16-official", 0, 1);
    one_model("vace", "v3-f32", 1, 0);
    one_model("vace", "v2-bf16", 1, 1);
    sf_cuda_backend_close();
    return sf_test_result("gpu_dit_parity");
}
