/* vace.c — Wan2.1-VACE conditioning (sf_vace.h): references placed on canvases, the video split
 * by the mask and VAE-encoded, the mask folded and resampled, all stacked the way diffusers'
 * WanVACEPipeline stacks them. Called by `shotfarm forward vace`, `forward dit` and `forward
 * denoise` (coordinator/forward_vace.c).
 * The subtle things, each the pipeline's and each kept: the mask channels are the mask itself,
 * not the thresholded one that splits the video; the time resampling is nearest-exact computed
 * in float (pixel frame 1 for latent frame 0 at 81 frames); references are prepended one at a
 * time, so the last comes first; and the resize is torch's bilinear (align_corners false, no
 * antialias, scale in float, weights h-outer as its CPU kernel sums them), not swscale's. */
#include "sf_vace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sf_log.h"
#include "sf_rng.h"
#include "sf_status.h"
#include "sf_vae.h"

#define Z 16 /* VAE latent channels; the VACE input is Z inactive + Z reactive + 64 mask */

int64_t sf_vace_latent_frames(int64_t frames, int n_refs)
{
    return n_refs + (frames + 3) / 4;
}

size_t sf_vace_cond_floats(int64_t frames, int64_t height, int64_t width, int n_refs)
{
    return (size_t)(2 * Z + 64) * (size_t)sf_vace_latent_frames(frames, n_refs) *
           (size_t)(height / 8) * (size_t)(width / 8);
}

/* torch's linear source index for one output position (upsample_bilinear2d, align_corners false,
 * no scale factor given): src = max(scale·(dst + 0.5) − 0.5, 0) with scale = in/out in float;
 * i1 = i0 + 1 unless i0 is the last; weights (1 − λ, λ). */
static void lin_index(int64_t dst, int64_t in, float scale, int64_t *i0, int64_t *i1, float *l0,
                      float *l1)
{
    float src = scale * ((float)dst + 0.5f) - 0.5f;
    if (src < 0) src = 0;
    *i0 = (int64_t)src;
    *i1 = *i0 + (*i0 < in - 1 ? 1 : 0);
    float l = src - (float)*i0;
    *l1 = l < 0 ? 0 : (l > 1 ? 1 : l);
    *l0 = 1.0f - *l1;
}

/* img resized to nh x nw with torch's bilinear; rows [top, top + rows) and columns
 * [left, left + cols) of the result written into out (3, H, W) at (dy, dx). */
static void resize_window(const struct sf_vace_image *r, int64_t nh, int64_t nw, int64_t top,
                          int64_t left, int64_t rows, int64_t cols, float *out, int64_t H,
                          int64_t W, int64_t dy, int64_t dx)
{
    float sh = (float)r->height / (float)nh, sw = (float)r->width / (float)nw;
    for (int64_t y = 0; y < rows; y++) {
        int64_t y0, y1;
        float wy0, wy1;
        lin_index(top + y, r->height, sh, &y0, &y1, &wy0, &wy1);
        for (int64_t x = 0; x < cols; x++) {
            int64_t x0, x1;
            float wx0, wx1;
            lin_index(left + x, r->width, sw, &x0, &x1, &wx0, &wx1);
            for (int c = 0; c < 3; c++) {
                const float *p = r->rgb + c * r->height * r->width;
                float t0 = p[y0 * r->width + x0] * wx0 + p[y0 * r->width + x1] * wx1;
                float t1 = p[y1 * r->width + x0] * wx0 + p[y1 * r->width + x1] * wx1;
                out[(c * H + dy + y) * W + dx + x] = t0 * wy0 + t1 * wy1;
            }
        }
    }
}

void sf_vace_place_ref(const struct sf_vace_image *r, int64_t H, int64_t W, float *out)
{
    /* the pipeline: scale = min(H / h, W / w) in Python floats, sizes int()-truncated */
    double s = fmin((double)H / (double)r->height, (double)W / (double)r->width);
    int64_t nh = (int64_t)((double)r->height * s), nw = (int64_t)((double)r->width * s);
    for (int64_t i = 0; i < 3 * H * W; i++)
        out[i] = 1.0f;
    resize_window(r, nh, nw, 0, 0, nh, nw, out, H, W, (H - nh) / 2, (W - nw) / 2);
}

void sf_vace_place_frame(const struct sf_vace_image *img, int64_t H, int64_t W, float *out)
{
    double s = fmax((double)H / (double)img->height, (double)W / (double)img->width);
    int64_t nh = (int64_t)floor((double)img->height * s + 0.5);
    int64_t nw = (int64_t)floor((double)img->width * s + 0.5);
    if (nh < H) nh = H;
    if (nw < W) nw = W;
    resize_window(img, nh, nw, (nh - H) / 2, (nw - W) / 2, H, W, out, H, W, 0, 0);
}

void sf_vace_frames_clear(int64_t F, int64_t H, int64_t W, float *video, float *mask)
{
    memset(video, 0, (size_t)(3 * F * H * W) * sizeof *video);
    for (int64_t i = 0; i < F * H * W; i++)
        mask[i] = 1.0f;
}

void sf_vace_keep_frame(int64_t F, int64_t H, int64_t W, int64_t f, const float *rgb,
                        float *video, float *mask)
{
    for (int c = 0; c < 3; c++)
        memcpy(video + ((size_t)c * (size_t)F + (size_t)f) * (size_t)(H * W),
               rgb + (size_t)c * (size_t)(H * W), (size_t)(H * W) * sizeof *video);
    memset(mask + (size_t)f * (size_t)(H * W), 0, (size_t)(H * W) * sizeof *mask);
}

/* The 64 mask channels of the video's latent frames, into out's mask block at frame offset
 * n_refs (out: (96, T, h, w)). */
static void fold_mask(const float *mask, int64_t F, int64_t H, int64_t W, int64_t T, int n_refs,
                      float *out)
{
    int64_t h = H / 8, w = W / 8, Tl = (F + 3) / 4;
    float scale = (float)F / (float)Tl;
    for (int64_t t = 0; t < Tl; t++) {
        int64_t f = (int64_t)floorf(((float)t + 0.5f) * scale);
        if (f > F - 1) f = F - 1;
        for (int dy = 0; dy < 8; dy++)
            for (int dx = 0; dx < 8; dx++) {
                float *o = out + (((int64_t)(2 * Z + dy * 8 + dx) * T + n_refs + t) * h) * w;
                for (int64_t y = 0; y < h; y++)
                    for (int64_t x = 0; x < w; x++)
                        o[y * w + x] = mask ? mask[(f * H + y * 8 + dy) * W + x * 8 + dx] : 1.0f;
            }
    }
}

/* z (Z, n, h, w) into channels [c0, c0 + Z) of out (96, T, h, w) at frames [t0, t0 + n). */
static void put_latent(const float *z, int64_t n, int64_t hw, int c0, int64_t T, int64_t t0,
                       float *out)
{
    for (int c = 0; c < Z; c++)
        memcpy(out + ((int64_t)(c0 + c) * T + t0) * hw, z + (int64_t)c * n * hw,
               (size_t)(n * hw) * sizeof *out);
}

/* The size rule of every conditioning (logged once, naming what to fix). */
static int check_size(int64_t F, int64_t H, int64_t W, int n_refs)
{
    if (F < 1 || (F - 1) % 4 || H <= 0 || W <= 0 || H % 16 || W % 16 || n_refs < 0 ||
        n_refs > SF_VACE_MAX_REFS) {
        SF_ERROR("vace",
                 "conditioning of %lld frames of %lld x %lld with %d references: frames must be "
                 "1 + 4k, height and width multiples of 16, references 0..%d",
                 (long long)F, (long long)H, (long long)W, n_refs, SF_VACE_MAX_REFS);
        return SF_E_INVAL;
    }
    return SF_OK;
}

int sf_vace_encode_ref(struct sf_vae *vae, const struct sf_vace_image *ref, int64_t H, int64_t W,
                       float *z)
{
    if (!ref->rgb || ref->height <= 0 || ref->width <= 0) {
        SF_ERROR("vace", "a reference is empty: give a (3, height, width) image");
        return SF_E_INVAL;
    }
    if (H <= 0 || W <= 0 || H % 16 || W % 16) return check_size(1, H, W, 0);
    float *canvas = malloc((size_t)(3 * H * W) * sizeof *canvas);
    if (!canvas) return SF_E_NOMEM;
    sf_vace_place_ref(ref, H, W, canvas);
    int st = sf_vae_encode(vae, canvas, 1, H, W, z);
    if (st == SF_OK) sf_vae_normalize(vae, z, 1, H / 8, W / 8);
    free(canvas);
    return st;
}

int sf_vace_build_encoded(struct sf_vae *vae, int64_t F, int64_t H, int64_t W, const float *video,
                          const float *mask, const float *ref_z, int n_refs, float *out)
{
    int st = check_size(F, H, W, n_refs);
    if (st) return st;
    const int64_t h = H / 8, w = W / 8, hw = h * w, Tl = (F + 3) / 4, T = n_refs + Tl;
    const size_t px = (size_t)(3 * F * H * W);
    float *split = malloc(px * sizeof *split);
    float *z = malloc((size_t)(Z * Tl * hw) * sizeof *z);
    if (!split || !z) {
        st = SF_E_NOMEM;
        goto out;
    }
    memset(out, 0, sf_vace_cond_floats(F, H, W, n_refs) * sizeof *out);
    /* inactive (keep = 0) and reactive (keep = 1): the video where the mask is (not) set */
    for (int keep = 0; keep < 2; keep++) {
        for (int c = 0; c < 3; c++)
            for (int64_t i = 0; i < F * H * W; i++) {
                float m = mask ? (mask[i] > 0.5f ? 1.0f : 0.0f) : 1.0f;
                float v = video ? video[(int64_t)c * F * H * W + i] : 0.0f;
                split[(int64_t)c * F * H * W + i] = keep ? v * m : v * (1.0f - m);
            }
        if ((st = sf_vae_encode(vae, split, F, H, W, z)) != SF_OK) goto out;
        sf_vae_normalize(vae, z, Tl, h, w);
        put_latent(z, Tl, hw, keep * Z, T, n_refs, out);
    }
    fold_mask(mask, F, H, W, T, n_refs, out);
    /* reference r lands at frame n_refs - 1 - r: the pipeline prepends them in list order */
    for (int r = 0; r < n_refs; r++)
        put_latent(ref_z + (size_t)r * Z * (size_t)hw, 1, hw, 0, T, n_refs - 1 - r, out);
out:
    free(split);
    free(z);
    return st;
}

int sf_vace_build(struct sf_vae *vae, int64_t F, int64_t H, int64_t W, const float *video,
                  const float *mask, const struct sf_vace_image *refs, int n_refs, float *out)
{
    int st = check_size(F, H, W, n_refs);
    if (st) return st;
    const size_t zf = (size_t)Z * (size_t)(H / 8) * (size_t)(W / 8);
    float *ref_z = malloc((n_refs ? (size_t)n_refs : 1) * zf * sizeof *ref_z);
    if (!ref_z) return SF_E_NOMEM;
    for (int r = 0; r < n_refs && st == SF_OK; r++)
        st = sf_vace_encode_ref(vae, &refs[r], H, W, ref_z + (size_t)r * zf);
    if (st == SF_OK) st = sf_vace_build_encoded(vae, F, H, W, video, mask, ref_z, n_refs, out);
    free(ref_z);
    return st;
}

void sf_vace_noise(uint64_t seed, uint64_t aspect, int channels, int n_refs,
                   int64_t video_frames, int64_t plane, float *noise)
{
    const int64_t T = n_refs + video_frames;
    for (int c = 0; c < channels; c++)
        for (int64_t p = 0; p < T; p++) {
            /* latent position p: reference n_refs - 1 - p, or video frame p - n_refs */
            uint64_t frame = p < n_refs ? SF_VACE_REF_KEY + (uint64_t)(n_refs - 1 - p)
                                        : (uint64_t)(p - n_refs);
            const uint64_t ids[3] = {aspect, frame, (uint64_t)c};
            struct sf_rng rng;
            sf_rng_init(&rng, seed, ids, 3);
            sf_rng_normal(&rng, 0, noise + ((size_t)c * (size_t)T + (size_t)p) * (size_t)plane,
                          (size_t)plane);
        }
}
