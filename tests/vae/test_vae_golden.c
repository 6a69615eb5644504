/* test_vae_golden.c — the Wan-VAE against the references (scripts/golden/vae.py): the reduced
 * width AutoencoderKLWan in the diffusers layout with fp32 weights (decode 1 and 3 latent
 * frames, encode 1 and 9 frames, non-square), diffusers' tiled decode, the 8/16-bit frame
 * mapping, and the official WanVAE_ with its names and bf16 weights; decode and encode are
 * bit-identical with 1 and 3 threads. Tolerance: fp32,
 * max|a-b| <= 1e-4 max|ref|; 8-bit and 16-bit frames within 1 code value. */
#include "sf_ops.h"
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_test.h"
#include "sf_vae.h"
#include "vae_cases.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct sf_st *cases;

/* Decodes case `zname` and compares with `xname`; returns our frames (caller frees). */
static float *check_decode(struct sf_vae *v, const char *zname, const char *xname,
                           const struct sf_vae_tiling *tiling)
{
    int64_t zs[5], xs[5];
    float *z = vae_case(cases, zname, zs, NULL), *ref = vae_case(cases, xname, xs, NULL);
    if (!z || !ref) return NULL;
    int64_t n = xs[0] * xs[1] * xs[2] * xs[3];
    CHECK_EQ_INT(xs[1], 1 + 4 * (zs[1] - 1));
    float *x = calloc((size_t)n, sizeof *x);
    CHECK_EQ_INT(sf_vae_decode_to(v, z, zs[1], zs[2], zs[3], tiling, x), SF_OK);
    sf_test_close_f32(xname, x, ref, (size_t)n, 1e-4);
    free(z), free(ref);
    return x;
}

static void check_encode(struct sf_vae *v, const char *xname, const char *zname)
{
    int64_t xs[5], zs[5];
    float *x = vae_case(cases, xname, xs, NULL), *ref = vae_case(cases, zname, zs, NULL);
    if (!x || !ref) return;
    int64_t n = zs[0] * zs[1] * zs[2] * zs[3];
    float *z = calloc((size_t)n, sizeof *z);
    CHECK_EQ_INT(sf_vae_encode(v, x, xs[1], xs[2], xs[3], z), SF_OK);
    sf_test_close_f32(zname, z, ref, (size_t)n, 1e-4);
    free(x), free(ref), free(z);
}

static double psnr(const float *a, const float *b, int64_t n)
{
    double se = 0;
    for (int64_t i = 0; i < n; i++) se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return se > 0 ? 10 * log10(4.0 / (se / (double)n)) : INFINITY;
}

struct chunks {
    int64_t next, calls, sizes[8];
};

static int count_chunks(void *ctx, const float *x, int64_t frame0, int64_t n, int64_t H, int64_t W)
{
    struct chunks *c = ctx;
    (void)x, (void)H, (void)W;
    CHECK_EQ_INT(frame0, c->next);
    if (c->calls < 8) c->sizes[c->calls] = n;
    c->calls++;
    c->next += n;
    return SF_OK;
}

int main(void)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/cases.safetensors", vae_fixtures());
    if (sf_st_open(path, &cases) != SF_OK) return 1;

    /* reduced width, diffusers layout, fp32 */
    struct sf_vae *v = NULL;
    snprintf(path, sizeof path, "%s/small", vae_fixtures());
    CHECK_EQ_INT(sf_vae_load(path, &v), SF_OK);
    if (!v) return sf_test_result("vae_golden");
    CHECK_EQ_INT(sf_vae_config_of(v)->base_dim, 4);
    free(check_decode(v, "dec1.z", "dec1.x", NULL));
    float *x3 = check_decode(v, "dec3.z", "dec3.x", NULL);
    check_encode(v, "enc1.x", "enc1.z");
    check_encode(v, "enc9.x", "enc9.z");

    /* the frame mapping of the reference pipeline */
    int64_t s[5];
    float *u8 = vae_case(cases, "dec3.u8", s, NULL), *u16 = vae_case(cases, "dec3.u16", s, NULL);
    if (x3 && u8 && u16) {
        int64_t F = 9, H = 24, W = 40, n = F * H * W * 3;
        uint8_t *rgb = malloc((size_t)n);
        uint16_t *rgb16 = malloc((size_t)n * 2);
        sf_vae_frames_to_rgb8(x3, F, H, W, rgb);
        sf_vae_frames_to_rgb16(x3, F, H, W, rgb16);
        int worst8 = 0, worst16 = 0;
        for (int64_t i = 0; i < n; i++) {
            int d8 = abs((int)rgb[i] - (int)u8[i]);
            worst8 = d8 > worst8 ? d8 : worst8;
        }
        /* dec3.u16 is planar (3, F, H, W); ours interleaved (F, H, W, 3) */
        for (int64_t c = 0; c < 3; c++)
            for (int64_t p = 0; p < F * H * W; p++) {
                int d = abs((int)rgb16[3 * p + c] - (int)u16[c * F * H * W + p]);
                worst16 = d > worst16 ? d : worst16;
            }
        fprintf(stderr, "rgb8: worst %d code(s), rgb16: worst %d code(s)\n", worst8, worst16);
        CHECK(worst8 <= 1);
        CHECK(worst16 <= 1);
        /* and back: 8-bit codes to [-1, 1] */
        float *back = malloc((size_t)n * sizeof *back);
        sf_vae_frames_from_rgb8(rgb, F, H, W, back);
        double err = 0;
        for (int64_t i = 0; i < n; i++) err = fmax(err, fabs(back[i] - x3[i]));
        CHECK(err <= 1.0 / 255 + 1e-6);
        free(back), free(rgb), free(rgb16);
    }
    free(u8), free(u16), free(x3);

    /* latent normalisation: (z - mean) / std per channel, and back */
    {
        const struct sf_vae_config *c = sf_vae_config_of(v);
        float z[16 * 2 * 3], back[16 * 2 * 3];
        sf_test_fill(z, 96, 3);
        memcpy(back, z, sizeof z);
        sf_vae_normalize(v, back, 2, 1, 3);
        CHECK(fabsf(back[5 * 6 + 4] - (z[5 * 6 + 4] - c->latents_mean[5]) / c->latents_std[5]) < 1e-6f);
        CHECK(fabsf(c->latents_mean[0] - -0.7571f) < 1e-6f && fabsf(c->latents_std[15] - 1.9160f) < 1e-6f);
        sf_vae_denormalize(v, back, 2, 1, 3);
        sf_test_close_f32("normalize round trip", back, z, 96, 1e-6);
    }

    /* bit-identical for 1 and 3 threads (prepared convs, Winograd included, split work by
     * shape only) */
    {
        float *z = vae_case(cases, "dec3.z", s, NULL), *xe = vae_case(cases, "enc9.x", s, NULL);
        int64_t nx = 3 * 9 * 24 * 40, nz = 16 * 3 * 3 * 5;
        float *a = calloc((size_t)nx, sizeof *a), *b = calloc((size_t)nx, sizeof *b);
        float *za = calloc((size_t)nz, sizeof *za), *zb = calloc((size_t)nz, sizeof *zb);
        int nt = sf_threads_count();
        if (z && xe && a && b && za && zb) {
            sf_threads_init(1);
            CHECK_EQ_INT(sf_vae_decode_to(v, z, 3, 3, 5, NULL, a), SF_OK);
            CHECK_EQ_INT(sf_vae_encode(v, xe, 9, 24, 40, za), SF_OK);
            sf_threads_init(3);
            CHECK_EQ_INT(sf_vae_decode_to(v, z, 3, 3, 5, NULL, b), SF_OK);
            CHECK_EQ_INT(sf_vae_encode(v, xe, 9, 24, 40, zb), SF_OK);
            CHECK(memcmp(a, b, (size_t)nx * sizeof *a) == 0);
            CHECK(memcmp(za, zb, (size_t)nz * sizeof *za) == 0);
        }
        sf_threads_init(nt);
        free(z), free(xe), free(a), free(b), free(za), free(zb);
    }

    /* frames arrive one latent frame at a time: 1, then 4 per latent frame */
    float *z3 = vae_case(cases, "dec3.z", s, NULL);
    struct chunks ch = {0};
    if (z3) CHECK_EQ_INT(sf_vae_decode(v, z3, 3, 3, 5, NULL, count_chunks, &ch), SF_OK);
    CHECK_EQ_INT(ch.calls, 3);
    CHECK_EQ_INT(ch.sizes[0], 1);
    CHECK_EQ_INT(ch.sizes[1], 4);
    CHECK_EQ_INT(ch.next, 9);
    free(z3);

    /* diffusers' tiled decode: tiles of 32 px every 24 px over 48x64 */
    struct sf_vae_tiling tl;
    char why[128];
    CHECK_EQ_INT(sf_vae_tiling_parse("32:24", &tl, why, sizeof why), 0);
    float *xt = check_decode(v, "tile.z", "tile.x", &tl), *full = vae_case(cases, "tile.full", s, NULL);
    float *xu = check_decode(v, "tile.z", "tile.full", NULL);
    float *reft = vae_case(cases, "tile.x", s, NULL);
    if (xt && full && xu && reft)
        fprintf(stderr, "tiled decode (32:24 px) vs untiled: PSNR %.2f dB (diffusers: %.2f dB)\n",
                psnr(xt, xu, 3 * 5 * 48 * 64), psnr(reft, full, 3 * 5 * 48 * 64));
    free(reft);
    /* a tile larger than the frame leaves tiling off */
    float *xo = NULL;
    CHECK_EQ_INT(sf_vae_tiling_parse("64", &tl, why, sizeof why), 0);
    CHECK_EQ_INT(tl.stride_px, 48);
    free(xo = check_decode(v, "tile.z", "tile.full", &tl));
    free(xt), free(full), free(xu);
    CHECK(sf_vae_tiling_parse("30", &tl, why, sizeof why) != 0);
    CHECK(sf_vae_tiling_parse("32:40", &tl, why, sizeof why) != 0);
    sf_vae_destroy(v);

    /* official layout (Wan2.1_VAE.safetensors), bf16 weights, outputs of WanVAE_ */
    v = NULL;
    snprintf(path, sizeof path, "%s/official", vae_fixtures());
    CHECK_EQ_INT(sf_vae_load(path, &v), SF_OK);
    if (v) {
        CHECK_EQ_INT(sf_vae_config_of(v)->base_dim, 4);
        free(check_decode(v, "off_dec.z", "off_dec.x", NULL));
        check_encode(v, "off_enc.x", "off_enc.z");
        sf_vae_destroy(v);
    }
    sf_st_close(cases);
    return sf_test_result("vae_golden");
}
