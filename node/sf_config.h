/* sf_config.h — model configurations by name: the Wan2.1 DiT (1.3B, 14B), Wan2.1-VACE (1.3B,
 * 14B: the same DiT plus VACE context blocks) and the small `tiny` / `tiny-vace` configs that tests
 * and the demo use. Numbers from WAN-FACTS.md § 1 and docs/models.md § VACE. */
#ifndef SF_CONFIG_H
#define SF_CONFIG_H

#include <stddef.h>

/* The most VACE blocks a config may have (14B has 8, 1.3B 15). */
#define SF_DIT_MAX_VACE 64

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
    /* Wan2.1-VACE (0 / empty for a text-to-video DiT): n_vace context blocks whose hint j is
     * added to the residual stream after main block vace_layers[j]; vace_layers starts at 0 and
     * strictly increases (diffusers and the official code then agree on which hint goes where). */
    int vace_in_dim;  /* channels of the VACE input (96 = 16 inactive + 16 reactive + 64 mask) */
    int n_vace;       /* VACE blocks */
    int vace_layers[SF_DIT_MAX_VACE];
};

/* Fills *cfg with a named DiT config: "tiny", "tiny-vace", "wan2.1-t2v-1.3b", "wan2.1-t2v-14b",
 * "wan2.1-vace-1.3b", "wan2.1-vace-14b".
 * Returns 0, or -1 when the name is unknown (cfg untouched). */
int sf_dit_config_by_name(const char *name, struct sf_dit_config *cfg);
/* NULL-terminated list of the names sf_dit_config_by_name accepts. */
const char *const *sf_dit_config_names(void);
/* Checks internal consistency (dim divisible by heads, head_dim even and >= 6, vace_layers
 * starting at 0, strictly increasing and below n_layers, ...). Returns 0,
 * or -1 and writes why into why[n]. */
int sf_dit_config_check(const struct sf_dit_config *cfg, char *why, size_t n);
/* Parameter count of the DiT (all Linear, norm and modulation tensors; VACE blocks included). */
double sf_dit_config_params(const struct sf_dit_config *cfg);

/* Writes "[0, 2, 4]" (cfg's vace_layers) into buf[n]; "[]" without VACE. Returns buf. */
const char *sf_dit_config_vace_str(const struct sf_dit_config *cfg, char *buf, size_t n);

#endif
