/* vace_frames.c — known frames of a shot's VACE conditioning video (sf_vace_frames.h): key art
 * images and the last frames of a continued shot, for render's denoise units (unit_denoise.c).
 * The subtle thing: a continuation reads the continued take's SHOT FILE, not its latent, so the
 * frames a shot continues from are the very 8-bit frames that take's decode wrote and assembly
 * cuts; the last n are kept in a ring while the file is read once from the start. */
#include "sf_vace_frames.h"

#include "sf_log.h"
#include "sf_shot_file.h"
#include "sf_status.h"
#include "sf_vace.h"
#include "sf_vae.h"
#include "sf_vae_image.h"

#include <stdlib.h>

int sf_vace_frames_image(const char *path, int64_t f, int64_t F, int64_t H, int64_t W,
                         float *video, float *mask)
{
    uint8_t *rgb = NULL;
    int iw = 0, ih = 0;
    int st = sf_vae_image_read(path, &rgb, &iw, &ih);
    if (st != SF_OK) return st;
    float *pix = malloc((size_t)3 * (size_t)iw * (size_t)ih * sizeof *pix);
    float *frame = malloc((size_t)(3 * H * W) * sizeof *frame);
    if (pix && frame) {
        sf_vae_frames_from_rgb8(rgb, 1, ih, iw, pix);
        const struct sf_vace_image img = {pix, ih, iw};
        sf_vace_place_frame(&img, H, W, frame);
        sf_vace_keep_frame(F, H, W, f, frame, video, mask);
    } else {
        st = SF_E_NOMEM;
    }
    free(rgb);
    free(pix);
    free(frame);
    return st;
}

int sf_vace_frames_continue(const char *path, int n, int64_t F, int64_t H, int64_t W,
                            float *video, float *mask)
{
    struct sf_shot_reader *r = NULL;
    const size_t fb = (size_t)(3 * H * W);
    uint8_t *ring = malloc((size_t)n * fb);
    float *frame = malloc(fb * sizeof *frame);
    int64_t count = 0;
    int st = ring && frame ? sf_shot_reader_open(path, &r) : SF_E_NOMEM;
    if (st != SF_OK) goto out;
    int rw = 0, rh = 0;
    sf_shot_reader_size(r, &rw, &rh);
    if (rw != W || rh != H) {
        SF_ERROR("render", "%s: the shot to continue from is %dx%d, this shot renders at "
                 "%lldx%lld (delete the file to decode it again)", path, rw, rh, (long long)W,
                 (long long)H);
        st = SF_E_FORMAT;
        goto out;
    }
    while ((st = sf_shot_reader_next(r, ring + (size_t)(count % n) * fb)) == SF_OK)
        count++;
    if (st != SF_E_NOTFOUND) goto out;
    if (count < n) {
        SF_ERROR("render", "%s: %lld frames, fewer than the %d to continue from (delete the "
                 "file to decode it again)", path, (long long)count, n);
        st = SF_E_FORMAT;
        goto out;
    }
    st = SF_OK;
    for (int k = 0; k < n; k++) { /* the oldest of the last n first */
        sf_vae_frames_from_rgb8(ring + (size_t)((count - n + k) % n) * fb, 1, H, W, frame);
        sf_vace_keep_frame(F, H, W, k, frame, video, mask);
    }
out:
    sf_shot_reader_close(r);
    free(ring);
    free(frame);
    return st;
}

int sf_vace_frames_build(const char *continue_file, int continue_frames, const char *first_frame,
                         const char *last_frame, int64_t F, int64_t H, int64_t W, float **video,
                         float **mask)
{
    *video = *mask = NULL;
    if (!continue_file && !first_frame && !last_frame) return SF_OK;
    *video = malloc((size_t)(3 * F * H * W) * sizeof **video);
    *mask = malloc((size_t)(F * H * W) * sizeof **mask);
    if (!*video || !*mask) return SF_E_NOMEM;
    sf_vace_frames_clear(F, H, W, *video, *mask);
    int st = SF_OK;
    if (continue_file)
        st = sf_vace_frames_continue(continue_file, continue_frames, F, H, W, *video, *mask);
    if (st == SF_OK && first_frame)
        st = sf_vace_frames_image(first_frame, 0, F, H, W, *video, *mask);
    if (st == SF_OK && last_frame)
        st = sf_vace_frames_image(last_frame, F - 1, F, H, W, *video, *mask);
    return st;
}
