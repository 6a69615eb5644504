/* config.c — named model configurations (sf_config.h). The 1.3B and 14B numbers come from
 * wan/configs/wan_t2v_{1_3B,14B}.py (WAN-FACTS.md § 1); `tiny` is ours: small enough that a
 * whole denoising run takes well under a second on one core, with every structural feature
 * (several heads, several layers, an RoPE split over frames/height/width) exercised. */
#include "sf_config.h"

#include <stdio.h>
#include <string.h>

static const struct sf_dit_config configs[] = {
    {.name = "tiny", .dim = 128, .ffn_dim = 256, .freq_dim = 256, .text_dim = 64, .n_heads = 4,
     .n_layers = 2, .in_dim = 16, .out_dim = 16, .patch = {1, 2, 2}, .text_len = 512,
     .eps = 1e-6f},
    {.name = "wan2.1-t2v-1.3b", .dim = 1536, .ffn_dim = 8960, .freq_dim = 256, .text_dim = 4096,
     .n_heads = 12, .n_layers = 30, .in_dim = 16, .out_dim = 16, .patch = {1, 2, 2},
     .text_len = 512, .eps = 1e-6f},
    {.name = "wan2.1-t2v-14b", .dim = 5120, .ffn_dim = 13824, .freq_dim = 256, .text_dim = 4096,
     .n_heads = 40, .n_layers = 40, .in_dim = 16, .out_dim = 16, .patch = {1, 2, 2},
     .text_len = 512, .eps = 1e-6f},
};

static const char *const config_names[] = {"tiny", "wan2.1-t2v-1.3b", "wan2.1-t2v-14b", NULL};

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
    return 0;
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
    return patch + text + time + c->n_layers * block + head;
}
