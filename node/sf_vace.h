/* sf_vace.h — Wan2.1-VACE conditioning: the (96, frames, h, w) tensor a VACE DiT takes
 * (sf_dit_set_vace), built from reference images, a conditioning video and its mask exactly as
 * diffusers' WanVACEPipeline builds it (preprocess_conditions, prepare_video_latents,
 * prepare_masks; docs/forward.md § VACE):
 *
 *   channels  [inactive 16 | reactive 16 | mask 64]
 *   frames    [ref n-1, ..., ref 1, ref 0, video latent frames 0 .. (F+3)/4 - 1]
 *
 *   - video (3, F, H, W) in [-1, 1] (zeros when absent) and mask (F, H, W) in [0, 1] (ones when
 *     absent): m = mask > 0.5; inactive = VAE(video * (1 - m)), reactive = VAE(video * m), each
 *     normalised (z - mean) / std;
 *   - the mask itself (not thresholded) folded 8x8 into 64 channels (channel 8·dy + dx), then
 *     resampled along time from F to (F+3)/4 frames with torch's nearest-exact rule
 *     src = min(floor((dst + 0.5)·F/T), F - 1): for F = 81 latent frame 0 takes pixel frame 1
 *     (not 0). Reproduced, not fixed;
 *   - each reference (3, h, w) in [-1, 1]: scaled by min(H/h, W/w) (sizes truncated) with torch's
 *     bilinear (align_corners false, no antialias), centred on a white (+1) H x W canvas, VAE-
 *     encoded as one frame and normalised, then 16 zero channels and a zero mask. diffusers
 *     prepends references one at a time, so the LAST one comes first (the official wan/vace.py
 *     keeps list order; we follow diffusers).
 * The noise latent has one leading frame per reference too (sf_vace_latent_frames); the DiT
 * output's first n_refs frames are dropped before decoding.
 *
 *   float *cond = malloc(sf_vace_cond_floats(F, H, W, n_refs) * sizeof *cond);
 *   SF_TRY(st, sf_vace_build(vae, F, H, W, video, mask, refs, n_refs, cond));
 *   SF_TRY(st, sf_dit_set_vace(dit, cond, (int64_t[]){sf_vace_latent_frames(F, n_refs),
 *                                                   H / 8, W / 8}, NULL));
 */
#ifndef SF_VACE_H
#define SF_VACE_H

#include <stddef.h>
#include <stdint.h>

struct sf_vae;

/* Official Wan2.1-VACE sampling defaults (docs/models.md § VACE has the source lines):
 * UniPC, 50 steps, guidance 5, shift 16; 1.3B at 832x480 / 480x832 only, 14B also 720p; 81
 * frames at 16 fps; context scale 1. */
#define SF_VACE_SAMPLE_SHIFT 16.0
#define SF_VACE_SAMPLE_STEPS 50
#define SF_VACE_GUIDE_SCALE 5.0
#define SF_VACE_FRAMES 81

/* The most reference images one conditioning takes. */
#define SF_VACE_MAX_REFS 8

/* One reference image: rgb (3, height, width) planar in [-1, 1] (borrowed). */
struct sf_vace_image {
    const float *rgb;
    int64_t height, width;
};

/* Latent frames of a VACE latent for `frames` video frames (1 + 4k) and n_refs references:
 * n_refs + (frames + 3) / 4. */
int64_t sf_vace_latent_frames(int64_t frames, int n_refs);
/* Floats of the conditioning: 96 · sf_vace_latent_frames · (H/8) · (W/8). */
size_t sf_vace_cond_floats(int64_t frames, int64_t height, int64_t width, int n_refs);

/* Builds the conditioning into out (sf_vace_cond_floats, caller's). frames = 1 + 4k, height
 * and width multiples of 16 (the pipeline's mask fold needs 8 · patch); video and mask may each
 * be NULL (zeros / ones, as the pipeline does); refs may be NULL when n_refs is 0. The VAE must
 * have z_dim 16. Fails with SF_E_INVAL (sizes, too many references; one logged line naming what
 * to fix), SF_E_NOMEM, or the VAE's status. */
int sf_vace_build(struct sf_vae *vae, int64_t frames, int64_t height, int64_t width,
                  const float *video, const float *mask, const struct sf_vace_image *refs,
                  int n_refs, float *out);

/* One reference fitted onto a white H x W canvas (sf_vace_place_ref), VAE-encoded as one frame
 * and normalised into z (16, 1, H/8, W/8), the caller's: the reference's part of the
 * conditioning, which depends on nothing else (the render farm's identity bank stores it).
 * SF_E_INVAL (empty image, sizes not multiples of 16; logged), SF_E_NOMEM or the VAE's status. */
int sf_vace_encode_ref(struct sf_vae *vae, const struct sf_vace_image *ref, int64_t height,
                       int64_t width, float *z);
/* sf_vace_build with the references already encoded by sf_vace_encode_ref at (height, width):
 * ref_z (n_refs, 16, height/8, width/8) in the caller's list order (NULL when n_refs is 0).
 * Bit-identical to sf_vace_build on the images; the same failures. */
int sf_vace_build_encoded(struct sf_vae *vae, int64_t frames, int64_t height, int64_t width,
                          const float *video, const float *mask, const float *ref_z, int n_refs,
                          float *out);

/* Noise keys of a VACE latent (docs/forward.md § VACE, "Noise keys"). A video latent frame f
 * keeps the ids render uses for every latent, (aspect, f, channel) with f counted from the
 * video's first latent frame, so the video's noise is the same with or without references.
 * Reference i of the caller's list (i = 0 first given) is keyed (aspect, SF_VACE_REF_KEY + i,
 * channel), a range no video frame reaches, wherever diffusers' order puts it in the latent
 * (position n_refs - 1 - i): adding a reference changes no other frame's noise. */
#define SF_VACE_REF_KEY (UINT64_C(1) << 63)
/* Fills noise (channels, n_refs + video_frames, plane) with standard normals keyed as above
 * (seed = the Philox key, plane = latent height × width). */
void sf_vace_noise(uint64_t seed, uint64_t aspect, int channels, int n_refs,
                   int64_t video_frames, int64_t plane, float *noise);

/* Known frames of the conditioning video (keyframes, continuation; docs/campaign.md § Keyframes
 * and continuation), as the reference VACE pipeline's masked video takes them: a video starts as
 * zeros with a mask of ones (generate everything: what sf_vace_build does for NULL video and
 * mask), and each known frame f gets its pixels and mask 0 (keep). */
void sf_vace_frames_clear(int64_t frames, int64_t height, int64_t width, float *video, float *mask);
/* Frame f of video (3, frames, height, width) := rgb (3, height, width) in [-1, 1], and frame f
 * of mask (frames, height, width) := 0. */
void sf_vace_keep_frame(int64_t frames, int64_t height, int64_t width, int64_t f, const float *rgb,
                        float *video, float *mask);
/* A key art image over a whole height x width frame (out (3, height, width), the caller's): scaled
 * by max(H/h, W/w) to cover it (new sizes rounded, at least H and W) with torch's bilinear
 * (align_corners false, no antialias; the references' resize) and the centre cropped, offsets
 * ((h' - H)/2, (w' - W)/2) truncated. */
void sf_vace_place_frame(const struct sf_vace_image *img, int64_t height, int64_t width,
                         float *out);

/* The reference placement alone (exposed for tests): refs[i] fitted and centred on a white
 * (3, height, width) canvas, out owned by the caller. */
void sf_vace_place_ref(const struct sf_vace_image *ref, int64_t height, int64_t width, float *out);

#endif
