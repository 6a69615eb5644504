/* config.c — named model configurations (sf_config.h). The 1.3B and 14B numbers come from
 * wan/configs/wan_t2v_{1_3B,14B}.py (WAN-FACTS.md § 1); `tiny` is ours: small enough that a
 * whole denoising run takes well under a second on one core, with every structural feature
 * (several heads, several layers, an RoPE split over frames/height/width) exercised. */
#include "sf_config.h"

#include <stdio.h>
#include <string.h>

/* Wan2.1-VACE's vace_layers (diffusers scripts/convert_wan_to_diffusers.py:456,479; the official
 * class's default is every second layer, diffusers' the 14B list, so every config names them). */
#define VACE_1_3B .vace_in_dim = 96, .n_vace = 15, \
    .vace_layers = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28}
#define VACE_14B .vace_in_dim = 96, .n_vace = 8, .vace_layers = {0, 5, 10, 15, 20, 25, 30, 35}

static const struct sf_dit_config configs[] = {
    {.name = "tiny", .dim = 128, .ffn_dim = 256, .freq_dim = 256, .text_dim = 64, .n_heads = 4,
     .n_layers = 2, .in_dim = 16, .out_dim = 16, .patch = {1, 2, 2}, .text_len = 512,
     .eps = 1e-6f},
    /* tiny with 3 layers and VACE blocks after layers 0 and 2 (uneven: layer 1 gets no hint) */
    {.name = "tiny-vace", .dim = 128, .ffn_dim = 256, .freq_dim = 256, .text_dim = 64,
     .n_heads = 4, .n_layers = 3, .in_dim = 16, .out_dim = 16, .patch = {1, 2, 2},
     .text_len = 512, .eps = 1e-6f, .vace_in_dim = 96, .n_vace = 2, .vace_layers = {0, 2}},
    {.name = "wan2.1-t2v-1.3b", .dim = 1536, .ffn_dim = 8960, .freq_dim = 256, .text_dim = 4096,
     .n_heads = 12, .n_layers = 30, .in_dim = 16, .out_dim = 16, .patch = {1, 2, 2},
     .text_len = 512, .eps = 1e-6f},
    {.name = "wan2.1-t2v-14b", .dim = 5120, .ffn_dim = 13824, .freq_dim = 256, .text_dim = 4096,
     .n_heads = 40, .n_layers = 40, .in_dim = 16, .out_dim = 16, .patch = {1, 2, 2},
     .text_len = 512, .eps = 1e-6f},
    {.name = "wan2.1-vace-1.3b", .dim = 1536, .ffn_dim = 8960, .freq_dim = 256, .text_dim = 4096,
     .n_heads = 12, .n_layers = 30, .in_dim = 16, .out_dim = 16, .patch = {1, 2, 2},
     .text_len = 512, .eps = 1e-6f, VACE_1_3B},
    {.name = "wan2.1-vace-14b", .dim = 5120, .ffn_dim = 13824, .freq_dim = 256, .text_dim = 4096,
     .n_heads = 40, .n_layers = 40, .in_dim = 16, .out_dim = 16, .patch = {1, 2, 2},
     .text_len = 512, .eps = 1e-6f, VACE_14B},
};

static const char *const config_names[] = {"tiny",           "tiny-vace",
                                           "wan2.1-t2v-1.3b", "wan2.1-t2v-14b",
                                           "wan2.1-vace-1.3b", "wan2.1-vace-14b",
                                           NULL};

int sf_dit_config_by_name(const char *name, struct sf_dit_config *cfg)
{
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        if (strcmp(configs[i].name, name) == 0) {
            *cfg = configs[i];
            return 0;
        }
    }
    return -1;
}

const char *const *sf_dit_config_names(void) { return config_names; }

int sf_dit_config_check(const struct sf_dit_config *c, char *why, size_t n)
{
    if (c->dim <= 0 || c->n_heads <= 0 || c->n_layers <= 0 || c->ffn_dim <= 0 ||
        c->freq_dim <= 0 || c->text_dim <= 0 || c->in_dim <= 0 || c->out_dim <= 0) {
        snprintf(why, n, "every size must be positive");
        return -1;
    }
    if (c->dim % c->n_heads) {
        snprintf(why, n, "dim %d is not divisible by %d heads", c->dim, c->n_heads);
        return -1;
    }
    int hd = c->dim / c->n_heads;
    if (hd % 2 || hd < 6) {
        snprintf(why, n, "head_dim %d must be even and at least 6 (3D RoPE splits it in three)", hd);
        return -1;
    }
    if (c->freq_dim % 2) {
        snprintf(why, n, "freq_dim %d must be even", c->freq_dim);
        return -1;
    }
    if (c->n_vace < 0 || c->n_vace > SF_DIT_MAX_VACE || (c->n_vace && c->vace_in_dim <= 0)) {
        snprintf(why, n, "%d VACE layers with vace_in_dim %d; 0..%d layers and a positive input",
                 c->n_vace, c->vace_in_dim, SF_DIT_MAX_VACE);
        return -1;
    }
    for (int j = 0; j < c->n_vace; j++) {
        int l = c->vace_layers[j];
        if ((j == 0 && l != 0) || (j > 0 && l <= c->vace_layers[j - 1]) || l >= c->n_layers) {
            char list[512];
            snprintf(why, n, "vace_layers %s must start at 0 and strictly increase below "
                     "num_layers %d", sf_dit_config_vace_str(c, list, sizeof list), c->n_layers);
            return -1;
        }
    }
    return 0;
}

const char *sf_dit_config_vace_str(const struct sf_dit_config *c, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int j = 0; j < c->n_vace && k < n; j++)
        k += (size_t)snprintf(buf + k, n - k, "%s%d", j ? ", " : "", c->vace_layers[j]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

double sf_dit_config_params(const struct sf_dit_config *c)
{
    double D = c->dim, F = c->ffn_dim, T = c->text_dim, Fq = c->freq_dim;
    double P = (double)c->patch[0] * c->patch[1] * c->patch[2];
    double patch = D * c->in_dim * P + D;
    double text = (T * D + D) + (D * D + D);
    double time = (Fq * D + D) + (D * D + D) + (D * 6 * D + 6 * D);
    double attn = 4 * (D * D + D) + 2 * D; /* q,k,v,o + norm_q,norm_k */
    double block = 2 * attn + 2 * D /* norm3 affine */ + (D * F + F) + (F * D + D) + 6 * D;
    double head = (D * c->out_dim * P + c->out_dim * P) + 2 * D;
    double vace = 0;
    if (c->n_vace) /* patch embedding, blocks with proj_out each, proj_in on the first */
        vace = (D * c->vace_in_dim * P + D) + c->n_vace * (block + D * D + D) + (D * D + D);
    return patch + text + time + c->n_layers * block + head + vace;
}
