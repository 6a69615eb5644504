/* sf_vae.h — the Wan2.1 causal 3D VAE (Wan-VAE, diffusers `AutoencoderKLWan`): decode latents
 * (z_dim, T, h, w) to video (3, 1 + 4(T-1), 8h, 8w) in [-1, 1] and encode video (3, 1 + 4k, H, W)
 * to the latent mean (z_dim, 1 + k, H/8, W/8). WAN-FACTS.md § 1, § 4 and § 6.
 *
 *   struct sf_vae *vae;
 *   if (sf_vae_load("models/wan-1.3b", &vae) != SF_OK) ...      // pipeline dir or its vae/
 *   sf_vae_decode(vae, z, T, h, w, NULL, emit_frames, ctx);      // frames arrive chunk by chunk
 *   sf_vae_destroy(vae);
 *
 * Latents here are the VAE's own ("un-normalised") values: what the decoder's post_quant_conv
 * takes and what the encoder's quant_conv gives (diffusers `latent_dist.mode()`). The DiT works
 * on (z - mean) / std; sf_vae_normalize / sf_vae_denormalize convert.
 *
 * Memory does not grow with the clip: decode runs one latent frame per pass and encode one
 * chunk of 4 frames (the first frame alone), each causal convolution keeping the last two input
 * frames of the previous pass (the reference's feature cache). Large frames can be split into
 * overlapping spatial tiles blended as diffusers' enable_tiling does (struct sf_vae_tiling).
 */
#ifndef SF_VAE_H
#define SF_VAE_H

#include <stddef.h>
#include <stdint.h>

#include "sf_tensor.h"

#define SF_VAE_MAX_STAGES 6
#define SF_VAE_MAX_Z 64
#define SF_VAE_NAME_MAX 96

struct sf_vae_config {
    int z_dim;            /* latent channels (16) */
    int base_dim;         /* encoder width of the first stage (96) */
    int decoder_base_dim; /* decoder base width (diffusers decoder_base_dim; = base_dim) */
    int n_stages;         /* len(dim_mult) (4) */
    int dim_mult[SF_VAE_MAX_STAGES];      /* (1, 2, 4, 4) */
    int num_res_blocks;                   /* 2 */
    int temporal_down[SF_VAE_MAX_STAGES]; /* n_stages - 1 flags (0, 1, 1); decoder reversed */
    float latents_mean[SF_VAE_MAX_Z];     /* per channel, for sf_vae_normalize */
    float latents_std[SF_VAE_MAX_Z];
};

/* The Wan2.1 VAE config with base width base_dim (96 is the released model; smaller widths are
 * for tests). */
void sf_vae_config_default(struct sf_vae_config *cfg, int base_dim);
/* Reads a diffusers vae/config.json. Fails with SF_E_IO / SF_E_FORMAT (bad JSON) /
 * SF_E_UNSUPPORTED (a variant we do not run: Wan2.2 residual VAE, patch_size) and one log line
 * naming the file and field. */
int sf_vae_config_read(const char *path, struct sf_vae_config *cfg);
/* Checks dims and flags; returns 0, or -1 with why[n] filled. */
int sf_vae_config_check(const struct sf_vae_config *cfg, char *why, size_t n);

/* One weight tensor: its diffusers name, its name in the official Wan2.1 checkpoint
 * (Wan2.1_VAE.pth converted to safetensors) and its shape. */
struct sf_vae_tensor {
    char name[SF_VAE_NAME_MAX];
    char official[SF_VAE_NAME_MAX];
    int ndim;
    int64_t shape[5];
};
/* Every weight of the VAE for cfg, in execution order (encoder, quant_conv, post_quant_conv,
 * decoder). Writes at most cap entries to out (out may be NULL with cap 0) and returns the
 * total count. */
int sf_vae_tensor_list(const struct sf_vae_config *cfg, struct sf_vae_tensor *out, int cap);

/* Random weights for `mkmodel --component vae` and the tests, a pure function of (seed, the
 * tensor's diffusers name, element index) that scripts/golden/vae.py reproduces bit for bit:
 * key = fnv1a32(name) ^ mix(seed); u = (fmix32(key + i * 0x9E3779B9) >> 8) / 2^24;
 * value = (2u - 1) * scale (+ 1 for RMS gammas), scale 1/sqrt(fan_in) for weights, 0.25 for
 * gammas, 0.05 for biases; computed in double, rounded to fp32. Elements [first, first + n). */
void sf_vae_fill(const struct sf_vae_tensor *t, uint64_t seed, uint64_t first, float *out,
                 size_t n);

struct sf_vae;

/* Loads the VAE of a model directory: a diffusers pipeline dir (vae/config.json and
 * vae/diffusion_pytorch_model.safetensors), that vae/ dir itself, or an official Wan2.1 dir
 * holding Wan2.1_VAE.safetensors (config: the released one). Weights fp32, bf16 or fp16, mmapped
 * and borrowed for the VAE's lifetime. Fails with one log line naming the file and the tensor:
 * SF_E_NOTFOUND (no VAE there, a tensor missing), SF_E_FORMAT (a shape that does not fit the
 * config, an unexpected tensor), SF_E_UNSUPPORTED (a .pth that needs conversion). *out owned by
 * the caller (sf_vae_destroy). */
int sf_vae_load(const char *dir, struct sf_vae **out);
void sf_vae_destroy(struct sf_vae *vae);
const struct sf_vae_config *sf_vae_config_of(const struct sf_vae *vae);
/* Bytes of weights (as stored). */
size_t sf_vae_weight_bytes(const struct sf_vae *vae);

/* Spatial tiling as diffusers' enable_tiling: tiles of tile_px pixels (multiple of 8) every
 * stride_px pixels, blended linearly over tile_px - stride_px pixels. Used only when the frame
 * is larger than one tile; tile_px 0 means off. Each tile is decoded over the whole clip in
 * turn, so the caches and activations are one tile's; the decoded video is held until the last
 * tile is blended (frames are handed to emit at the end). */
struct sf_vae_tiling {
    int tile_px, stride_px;
};
/* Parses "TILE" or "TILE:STRIDE" (pixels; stride defaults to 3/4 of the tile, rounded to 8).
 * Returns 0, or -1 with why[n] filled. */
int sf_vae_tiling_parse(const char *s, struct sf_vae_tiling *t, char *why, size_t n);

/* Receives decoded frames: x (3, n_frames, H, W) in [-1, 1], frames [frame0, frame0 +
 * n_frames) of the video; x is valid only during the call. Returns SF_OK or a status that
 * stops the decode and is returned by it. */
typedef int (*sf_vae_frames_fn)(void *ctx, const float *x, int64_t frame0, int64_t n_frames,
                                int64_t height, int64_t width);

/* Decodes z (z_dim, T, h, w), T >= 1, into 1 + 4(T-1) frames of 8h × 8w, handed to emit one
 * latent frame's worth at a time (1 frame, then 4 per latent frame) — as they are made, or, when
 * tiling applies, after the last tile. tiling may be NULL. Not reentrant for one VAE object.
 * The first call prepares the decoder's convolutions and keeps them with the VAE (fp32, the
 * 3x3 ones Winograd-transformed: 16/9 of their fp32 size; about 500 MB for the full-width VAE).
 * Fails with SF_E_INVAL (sizes; logged), SF_E_NOMEM, or emit's status. */
int sf_vae_decode(struct sf_vae *vae, const float *z, int64_t T, int64_t h, int64_t w,
                  const struct sf_vae_tiling *tiling, sf_vae_frames_fn emit, void *ctx);
/* Decodes into x (3, 1 + 4(T-1), 8h, 8w), owned by the caller. */
int sf_vae_decode_to(struct sf_vae *vae, const float *z, int64_t T, int64_t h, int64_t w,
                     const struct sf_vae_tiling *tiling, float *x);

/* Encodes x (3, F, H, W) in [-1, 1], F = 1 + 4k, H and W multiples of 8, into the latent mean
 * z (z_dim, 1 + k, H/8, W/8), owned by the caller; prepares the encoder's convolutions on the
 * first call, as decode does the decoder's. Fails with SF_E_INVAL (a frame count that
 * is not 1 + 4k, sizes; logged) or SF_E_NOMEM. */
int sf_vae_encode(struct sf_vae *vae, const float *x, int64_t F, int64_t H, int64_t W, float *z);

/* In place over z (z_dim, T, h, w): normalize (z - mean) / std (what the DiT sees) and back. */
void sf_vae_normalize(const struct sf_vae *vae, float *z, int64_t T, int64_t h, int64_t w);
void sf_vae_denormalize(const struct sf_vae *vae, float *z, int64_t T, int64_t h, int64_t w);

/* The reference's output mapping (diffusers VideoProcessor): v = clamp(x / 2 + 0.5, 0, 1),
 * code = round-half-even(v * 255) (8-bit) or v * 65535 (16-bit). x (3, F, H, W) planar ->
 * rgb (F, H, W, 3) interleaved. */
void sf_vae_frames_to_rgb8(const float *x, int64_t frames, int64_t height, int64_t width,
                           uint8_t *rgb);
void sf_vae_frames_to_rgb16(const float *x, int64_t frames, int64_t height, int64_t width,
                            uint16_t *rgb);
/* The inverse for encoder input: rgb (F, H, W, 3) 8-bit -> x (3, F, H, W) = code / 127.5 - 1. */
void sf_vae_frames_from_rgb8(const uint8_t *rgb, int64_t frames, int64_t height, int64_t width,
                             float *x);

#endif
