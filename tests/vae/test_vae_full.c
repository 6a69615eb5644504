/* test_vae_full.c — the VAE at the released base width 96 (127M parameters) on a tiny 4x6
 * latent: `shotfarm mkmodel --component vae --seed 0` writes the weights (bf16, the hash of
 * sf_vae_fill that scripts/golden/vae.py also applied before running diffusers), then decode of
 * 2 latent frames and encode of one 32x48 frame are compared with diffusers' outputs,
 * max|a-b| <= 1e-4 max|ref|. Also checks that the official layout mkmodel writes loads to the
 * same numbers (encode). */
#define _POSIX_C_SOURCE 200809L
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_test.h"
#include "sf_vae.h"
#include "vae_cases.h"

#include <stdlib.h>

static int run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0) fprintf(stderr, "failed (%d): %s\n", rc, cmd);
    return rc;
}

int main(void)
{
    const char *sf = getenv("SF_SHOTFARM"), *bin = getenv("SF_BINARY_DIR");
    if (!sf || !bin) return SF_TEST_SKIP;
    char dir[512], cmd[4096], path[1200];
    snprintf(dir, sizeof dir, "%s/tests/vae/full96", bin);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s-off' && '%s' mkmodel --component vae --seed 0 "
             "--dtype bf16 -o '%s' 2>/dev/null && '%s' mkmodel --component vae --seed 0 --dtype bf16 "
             "--layout official -o '%s-off' 2>/dev/null", dir, dir, sf, dir, sf, dir);
    CHECK_EQ_INT(run(cmd), 0);

    struct sf_st *cases = NULL;
    snprintf(path, sizeof path, "%s/cases.safetensors", vae_fixtures());
    if (sf_st_open(path, &cases) != SF_OK) return 1;
    int64_t zs[5], xs[5], es[5], ms[5];
    float *z = vae_case(cases, "full_dec.z", zs, NULL), *xref = vae_case(cases, "full_dec.x", xs, NULL);
    float *xe = vae_case(cases, "full_enc.x", es, NULL), *zref = vae_case(cases, "full_enc.z", ms, NULL);
    for (int layout = 0; layout < 2 && z && xref && xe && zref; layout++) {
        struct sf_vae *v = NULL;
        snprintf(path, sizeof path, layout ? "%s-off" : "%s", dir);
        CHECK_EQ_INT(sf_vae_load(path, &v), SF_OK);
        if (!v) break;
        CHECK_EQ_INT(sf_vae_config_of(v)->base_dim, 96);
        int64_t nx = xs[0] * xs[1] * xs[2] * xs[3], nz = ms[0] * ms[1] * ms[2] * ms[3];
        float *x = calloc((size_t)nx, sizeof *x), *m = calloc((size_t)nz, sizeof *m);
        if (!layout) { /* the official layout's decode path is the same code: encode suffices */
            CHECK_EQ_INT(sf_vae_decode_to(v, z, zs[1], zs[2], zs[3], NULL, x), SF_OK);
            sf_test_close_f32("full_dec.x", x, xref, (size_t)nx, 1e-4);
        }
        CHECK_EQ_INT(sf_vae_encode(v, xe, es[1], es[2], es[3], m), SF_OK);
        sf_test_close_f32(layout ? "full_enc.z (official)" : "full_enc.z", m, zref, (size_t)nz, 1e-4);
        free(x), free(m);
        sf_vae_destroy(v);
    }
    free(z), free(xref), free(xe), free(zref);
    sf_st_close(cases);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s-off'", dir, dir);
    run(cmd);
    return sf_test_result("vae_full_width");
}
