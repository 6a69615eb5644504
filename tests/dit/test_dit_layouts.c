/* test_dit_layouts.c — the same random weights (`shotfarm mkmodel --config tiny --seed 5`, and
 * `--config tiny-vace` with a VACE conditioning) written in the diffusers and in the official
 * layout give bit-identical forward passes, and the result
 * does not depend on the thread count (DESIGN.md: bit-identical within a determinism domain),
 * nor on sf_dit_set_timing, whose split must add up (bench/dit_step reports it).
 * Complements the golden test, which proves each layout against its own reference. */
#include "sf_dit.h"
#include "sf_ops.h"
#include "sf_status.h"
#include "sf_test.h"

#include <stdlib.h>

#define F 3
#define H 4
#define W 6

static int forward(const char *dir, int threads, float *out, struct sf_dit_timing *tm)
{
    static float x[16 * F * H * W], ctx[9 * 64], vace[96 * F * H * W];
    sf_test_fill(x, sizeof x / sizeof x[0], 11);
    sf_test_fill(ctx, sizeof ctx / sizeof ctx[0], 12);
    sf_test_fill(vace, sizeof vace / sizeof vace[0], 13);
    sf_threads_init(threads);
    struct sf_dit *m = NULL;
    struct sf_dit_opts o = {.max_latent = {F, H, W}};
    int st = sf_dit_load(dir, &o, &m);
    if (st == SF_OK) sf_dit_set_timing(m, tm);
    if (st == SF_OK && sf_dit_get_config(m)->n_vace)
        st = sf_dit_set_vace(m, vace, (int64_t[]){F, H, W}, NULL);
    if (st == SF_OK) st = sf_dit_forward(m, x, (int64_t[]){F, H, W}, 500.0, ctx, 9, out);
    sf_dit_destroy(m);
    return st;
}

int main(void)
{
    const char *bin = getenv("SF_BINARY_DIR"), *exe = getenv("SF_SHOTFARM");
    if (!bin || !exe) return 1;
    static const char *const configs[2] = {"tiny", "tiny-vace"};
    for (int c = 0; c < 2; c++) {
        char dirs[2][1100], cmd[3000];
        const char *layouts[2] = {"diffusers", "official"};
        for (int i = 0; i < 2; i++) {
            snprintf(dirs[i], sizeof dirs[i], "%s/tests/dit/%s-%s", bin, configs[c], layouts[i]);
            snprintf(cmd, sizeof cmd,
                     "'%s' mkmodel --config %s --dtype bf16 --layout %s "
                     "--component dit --seed 5 -o '%s' 2>/dev/null",
                     exe, configs[c], layouts[i], dirs[i]);
            CHECK(system(cmd) == 0);
        }
        static float out[3][16 * F * H * W];
        struct sf_dit_timing tm = {0};
        CHECK_EQ_INT(forward(dirs[0], 1, out[0], NULL), SF_OK);
        CHECK_EQ_INT(forward(dirs[1], 1, out[1], NULL), SF_OK);
        CHECK_EQ_INT(forward(dirs[0], 2, out[2], &tm), SF_OK);
        CHECK(tm.linear > 0 && tm.attention > 0 && tm.linear + tm.attention <= tm.total);
        CHECK(memcmp(out[0], out[1], sizeof out[0]) == 0);
        CHECK(memcmp(out[0], out[2], sizeof out[0]) == 0);
        double amax = 0;
        for (size_t i = 0; i < sizeof out[0] / sizeof out[0][0]; i++)
            amax = fabs(out[0][i]) > amax ? fabs(out[0][i]) : amax;
        CHECK(amax > 1e-3 && isfinite(amax));
    }
    return sf_test_result("dit_layouts");
}
