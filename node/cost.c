/* cost.c — FLOP counts (sf_cost.h). The VAE counts walk the same stage structure as
 * wan/modules/vae.py (Encoder3d / Decoder3d, Resample, ResidualBlock, AttentionBlock) chunk by
 * chunk, because the causal chunking changes how many frames each stage sees: the first chunk
 * skips the temporal resampling convolutions. */
#include "sf_cost.h"

/* FLOPs of a convolution producing `positions` output positions (frames x height x width). */
static double conv(double cin, double cout, double ksize, double positions)
{
    return 2.0 * cin * cout * ksize * positions;
}

struct sf_cost_dit sf_cost_dit_forward(const struct sf_dit_config *c, int64_t tokens, int text_len)
{
    double L = (double)tokens, Lt = text_len, D = c->dim, F = c->ffn_dim;
    double P = (double)c->patch[0] * c->patch[1] * c->patch[2];
    struct sf_cost_dit r;
    /* Per block: self q,k,v,o (8 L D^2), cross q,o on video (4 L D^2) and k,v on text
     * (4 Lt D^2), FFN (4 L D F). A VACE block is a block plus its output projection (2 L D^2),
     * the first also its input projection. */
    double blocks = c->n_layers + c->n_vace;
    r.linear = blocks * (12.0 * L * D * D + 4.0 * Lt * D * D + 4.0 * L * D * F) +
               (c->n_vace ? (c->n_vace + 1) * 2.0 * L * D * D : 0.0);
    r.attn_self = blocks * 4.0 * L * L * D;
    r.attn_cross = blocks * 4.0 * L * Lt * D;
    r.embed = 2.0 * L * D * c->in_dim * P               /* patch embedding */
              + 2.0 * L * D * c->vace_in_dim * P * (c->n_vace > 0) /* VACE patch embedding */
              + 2.0 * L * D * c->out_dim * P            /* head */
              + 2.0 * Lt * (c->text_dim * D + D * D)    /* text MLP */
              + 2.0 * (c->freq_dim * D + D * D + 6.0 * D * D); /* time MLPs */
    r.total = r.linear + r.attn_self + r.attn_cross + r.embed;
    r.text_side = 2.0 * Lt * (c->text_dim * D + D * D) + blocks * 4.0 * Lt * D * D;
    return r;
}

int64_t sf_cost_dit_tokens(const struct sf_dit_config *c, int64_t f, int64_t h, int64_t w)
{
    return (f / c->patch[0]) * (h / c->patch[1]) * (w / c->patch[2]);
}

double sf_cost_umt5_encode(int d_model, int d_attn, int d_ff, int n_layers, int64_t tokens)
{
    double L = (double)tokens, D = d_model, A = d_attn;
    double per_layer = 2.0 * L * D * A * 4.0    /* q, k, v, o */
                       + 2.0 * L * D * d_ff * 3.0 /* gate, fc1, fc2 */
                       + 4.0 * L * L * A;         /* q·k^T and p·v */
    return n_layers * per_layer;
}

/* A residual block at `pos` positions per frame and `t` frames: two 3x3x3 convs and the 1x1x1
 * shortcut when the width changes. */
static double resblock(double cin, double cout, double pos)
{
    return conv(cin, cout, 27, pos) + conv(cout, cout, 27, pos) + (cin != cout ? conv(cin, cout, 1, pos) : 0);
}

/* The single-head spatial attention of the middle block, per frame of hw pixels. */
static double attnblock(double ch, double hw, double frames)
{
    return frames * (conv(ch, 3 * ch, 1, hw) + 4.0 * hw * hw * ch + conv(ch, ch, 1, hw));
}

/* Decoder on one call: `t` latent frames in (1 here), `first` says the temporal upsampling is
 * skipped. Returns FLOPs; widths (base dim 96): 384 at latent size, then 384,192,96 per stage. */
static double decode_chunk(double dim, double h, double w, int first)
{
    double d4 = 4 * dim, d2 = 2 * dim, d1 = dim;
    double t = 1, hw = h * w, fl = 0;
    fl += conv(16, d4, 27, t * hw);                     /* conv1 */
    fl += 2 * resblock(d4, d4, t * hw) + attnblock(d4, hw, t); /* middle */
    /* stage 0: 3 x res(4d -> 4d), upsample3d */
    fl += 3 * resblock(d4, d4, t * hw);
    if (!first) {
        fl += conv(d4, 2 * d4, 3, t * hw);              /* time_conv, doubles the frames */
        t *= 2;
    }
    hw *= 4;
    fl += conv(d4, d4 / 2, 9, t * hw);                  /* 2x upsample + 3x3 conv to 2d */
    /* stage 1: res(2d -> 4d), 2 x res(4d), upsample3d */
    fl += resblock(d4 / 2, d4, t * hw) + 2 * resblock(d4, d4, t * hw);
    if (!first) {
        fl += conv(d4, 2 * d4, 3, t * hw);
        t *= 2;
    }
    hw *= 4;
    fl += conv(d4, d4 / 2, 9, t * hw);
    /* stage 2: 3 x res(2d -> 2d), upsample2d */
    fl += resblock(d4 / 2, d2, t * hw) + 2 * resblock(d2, d2, t * hw);
    hw *= 4;
    fl += conv(d2, d2 / 2, 9, t * hw);
    /* stage 3: 3 x res(d -> d) */
    fl += resblock(d2 / 2, d1, t * hw) + 2 * resblock(d1, d1, t * hw);
    fl += conv(d1, 3, 27, t * hw);                      /* head */
    return fl;
}

double sf_cost_vae_decode(int dim, int64_t latent_frames, int64_t h, int64_t w)
{
    if (latent_frames <= 0) return 0;
    double per_rest = decode_chunk(dim, (double)h, (double)w, 0);
    return conv(16, 16, 1, (double)(latent_frames * h * w)) /* conv2 (1x1x1) */
           + decode_chunk(dim, (double)h, (double)w, 1) + (double)(latent_frames - 1) * per_rest;
}

/* Encoder on one call of `t` frames at full resolution (H, W = 8 h, 8 w). */
static double encode_chunk(double dim, double H, double W, double t, int first)
{
    double d1 = dim, d2 = 2 * dim, d4 = 4 * dim;
    double hw = H * W, fl = 0;
    fl += conv(3, d1, 27, t * hw);                      /* conv1 */
    /* stage 0: 2 x res(d), downsample2d (3x3 stride 2) */
    fl += 2 * resblock(d1, d1, t * hw);
    hw /= 4;
    fl += conv(d1, d1, 9, t * hw);
    /* stage 1: res(d -> 2d), res(2d), downsample3d */
    fl += resblock(d1, d2, t * hw) + resblock(d2, d2, t * hw);
    hw /= 4;
    fl += conv(d2, d2, 9, t * hw);
    if (!first) {                                       /* time_conv on [cached, x], stride 2 */
        t = ((t + 1) - 3) / 2 + 1;
        fl += conv(d2, d2, 3, t * hw);
    }
    /* stage 2: res(2d -> 4d), res(4d), downsample3d */
    fl += resblock(d2, d4, t * hw) + resblock(d4, d4, t * hw);
    hw /= 4;
    fl += conv(d4, d4, 9, t * hw);
    if (!first) {
        t = ((t + 1) - 3) / 2 + 1;
        fl += conv(d4, d4, 3, t * hw);
    }
    /* stage 3: 2 x res(4d); middle; head to 2 z_dim */
    fl += 2 * resblock(d4, d4, t * hw);
    fl += 2 * resblock(d4, d4, t * hw) + attnblock(d4, hw, t);
    fl += conv(d4, 32, 27, t * hw);
    return fl;
}

double sf_cost_vae_encode(int dim, int64_t latent_frames, int64_t h, int64_t w)
{
    if (latent_frames <= 0) return 0;
    double H = 8.0 * (double)h, W = 8.0 * (double)w;
    return encode_chunk(dim, H, W, 1, 1) + (double)(latent_frames - 1) * encode_chunk(dim, H, W, 4, 0)
           + conv(32, 32, 1, (double)(latent_frames * h * w)); /* conv1 (1x1x1) */
}
