/* sf_cost.h — FLOP counts of the model components, written once: the benchmarks report
 * effective GFLOP/s with them and `shotfarm plan` turns them into GPU-seconds and money.
 * A FLOP is a multiply or an add (2 per multiply-accumulate). Elementwise work (norms,
 * activations, modulation, RoPE, softmax) is left out: it is below 1% at every size that
 * matters, and docs/cost-model.md shows the arithmetic with hand-checked examples. */
#ifndef SF_COST_H
#define SF_COST_H

#include <stdint.h>

#include "sf_config.h"

struct sf_cost_dit {
    double linear;     /* projections and FFN on video and text tokens, all blocks */
    double attn_self;  /* q·k^T and p·v over the video tokens, all blocks */
    double attn_cross; /* the same against the text tokens */
    double embed;      /* patch embedding, head, text and time embeddings */
    double total;
    /* The part a per-prompt precomputed context (sf_dit_context_create) removes from each pass:
     * the text MLP and every block's cross-attention k/v projections of the text. Included in
     * the fields above. */
    double text_side;
};

/* One DiT forward pass (one guidance branch) on `tokens` video tokens and `text_len` context
 * rows (512 after Wan's padding). A guided step costs two (or three with references). */
struct sf_cost_dit sf_cost_dit_forward(const struct sf_dit_config *cfg, int64_t tokens,
                                       int text_len);
/* Video tokens of a latent (frames, height, width) for the config's patch size. */
int64_t sf_cost_dit_tokens(const struct sf_dit_config *cfg, int64_t latent_frames,
                           int64_t latent_h, int64_t latent_w);

/* umT5 encoder on `tokens` tokens (Wan encodes 512 rows, padding included): projections,
 * gated FFN and attention of n_layers blocks. XXL: d_model 4096, d_attn 4096, d_ff 10240, 24. */
double sf_cost_umt5_encode(int d_model, int d_attn, int d_ff, int n_layers, int64_t tokens);

/* Wan-VAE with base width `dim` (96) and dim_mult (1,2,4,4), 2 residual blocks per stage,
 * z_dim 16, run causally as the reference does (decode one latent frame per call; encode the
 * first frame alone, then 4 frames per call). latent (frames, h, w) is the latent size; pixels
 * are 8x larger and frames 1 + 4 (frames - 1). */
double sf_cost_vae_decode(int dim, int64_t latent_frames, int64_t latent_h, int64_t latent_w);
double sf_cost_vae_encode(int dim, int64_t latent_frames, int64_t latent_h, int64_t latent_w);

#endif
