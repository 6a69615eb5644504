/* vae_arch.h — private to node/: the Wan-VAE as a list of modules in execution order, each
 * with its diffusers and official name prefix. vae_names.c builds it (and the tensor list from
 * it); vae.c binds weights to it and runs it. One walk of the architecture, used by both. */
#ifndef SF_VAE_ARCH_H
#define SF_VAE_ARCH_H

#include "sf_vae.h"

enum vae_mod_kind {
    VM_CONV,   /* causal conv3d 3x3x3 (conv_in): weight, bias */
    VM_POINT,  /* 1x1x1 conv (quant_conv, post_quant_conv) */
    VM_RES,    /* residual block: norm1, conv1, norm2, conv2 [, conv_shortcut] */
    VM_ATTN,   /* single-head spatial attention over each frame */
    VM_UP2D,   /* nearest x2 + conv2d 3x3 (C -> C/2) */
    VM_UP3D,   /* time_conv (3,1,1) C -> 2C interleaved into 2 frames, then as UP2D */
    VM_DOWN2D, /* zero pad right/bottom + conv2d 3x3 stride 2 */
    VM_DOWN3D, /* as DOWN2D, then time_conv (3,1,1) stride 2 over [cached frame, x] */
    VM_HEAD,   /* norm_out, SiLU, conv_out 3x3x3 */
};

#define VAE_MAX_MODS 64

struct vae_mod {
    enum vae_mod_kind kind;
    int cin, cout;
    char dname[64]; /* diffusers prefix, e.g. "decoder.up_blocks.1.resnets.0" */
    char oname[64]; /* official prefix, e.g. "decoder.upsamples.4" */
};

/* side 0: the encoder then quant_conv; side 1: post_quant_conv then the decoder. Returns the
 * module count (<= VAE_MAX_MODS; the config was checked). */
int vae_arch_modules(const struct sf_vae_config *cfg, int side, struct vae_mod *out);

/* One tensor of a module: index k = 0, 1, ... until it returns 0. Fills the suffixes (".conv1.
 * weight" / ".residual.2.weight") and the shape. */
int vae_mod_tensor(const struct vae_mod *m, int k, const char **dsuf, const char **osuf,
                   int *ndim, int64_t shape[5]);

/* Supplies one weight: a borrowed view of the tensor `want` names (diffusers or official name,
 * whichever layout the source has), already checked against want's shape; a status (logged
 * with file and tensor) when it is missing or does not fit. */
typedef int (*vae_get_fn)(void *ctx, const struct sf_vae_tensor *want, struct sf_tensor *out);

/* Builds a VAE for cfg with the weights get supplies (borrowed: they must outlive the VAE,
 * see vae_set_files). *out owned by the caller. */
int vae_create(const struct sf_vae_config *cfg, vae_get_fn get, void *ctx, struct sf_vae **out);
/* Hands the VAE the files its weights live in; close_fn(files) runs at sf_vae_destroy. */
void vae_set_files(struct sf_vae *v, void *files, void (*close_fn)(void *));

#endif
