/* sf_config.h — model configurations by name: the Wan2.1 DiT (1.3B, 14B) and the small
 * `tiny` config that tests and the demo use. Numbers from WAN-FACTS.md § 1. */
#ifndef SF_CONFIG_H
#define SF_CONFIG_H

#include <stddef.h>

struct sf_dit_config {
    char name[32];
    int dim;          /* hidden size D */
    int ffn_dim;      /* FFN inner size */
    int freq_dim;     /* sinusoidal timestep embedding size (256) */
    int text_dim;     /* text encoder output size (4096 for umT5-XXL) */
    int n_heads;      /* attention heads; head_dim = dim / n_heads */
    int n_layers;     /* DiT blocks */
    int in_dim;       /* latent channels in (16) */
    int out_dim;      /* latent channels out (16) */
    int patch[3];     /* (frames, height, width) patch size, (1, 2, 2) */
    int text_len;     /* context rows after zero padding (512) */
    float eps;        /* norm epsilon (1e-6) */
};

/* Fills *cfg with a named DiT config: "tiny", "wan2.1-t2v-1.3b", "wan2.1-t2v-14b".
 * Returns 0, or -1 when the name is unknown (cfg untouched). */
int sf_dit_config_by_name(const char *name, struct sf_dit_config *cfg);
/* NULL-terminated list of the names sf_dit_config_by_name accepts. */
const char *const *sf_dit_config_names(void);
/* Checks internal consistency (dim divisible by heads, head_dim even and >= 6, ...). Returns 0,
 * or -1 and writes why into why[n]. */
int sf_dit_config_check(const struct sf_dit_config *cfg, char *why, size_t n);
/* Parameter count of the DiT (all Linear, norm and modulation tensors). */
double sf_dit_config_params(const struct sf_dit_config *cfg);

#endif
