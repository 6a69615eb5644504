/* sf_forward.h — `shotfarm forward COMPONENT`: run one model component on a safetensors input
 * and write a safetensors output (docs/forward.md). Each component lives in its own
 * coordinator/forward_<component>.c. The golden tests go through these same functions. */
#ifndef SF_FORWARD_H
#define SF_FORWARD_H

#include <stdint.h>

struct sf_dit;
struct sf_st;
struct sf_st_tensor;

/* argv[0] is the component name ("dit"); same conventions as sf_cmd_* (sf_cli.h). */
int sf_forward_dit(int argc, char **argv);
int sf_forward_denoise(int argc, char **argv);
int sf_forward_text(int argc, char **argv);
int sf_forward_vae_decode(int argc, char **argv);
int sf_forward_vae_encode(int argc, char **argv);
int sf_forward_vace(int argc, char **argv);

/* Tensor `name` of IN with ndim dimensions (dims describes them for the message), floating, as
 * a malloc'ed fp32 array in *out (the caller frees it); *tp (may be NULL) gets the tensor.
 * SF_E_NOTFOUND / SF_E_FORMAT with one logged line naming the file, the tensor and `shotfarm
 * CMD --help`, or SF_E_NOMEM. */
int sf_forward_load_f32(const struct sf_st *in, const char *cmd, const char *name, int ndim,
                        const char *dims, const struct sf_st_tensor **tp, float **out);

/* The Wan2.1-VACE input of a forward command (docs/forward.md § VACE). */
struct sf_forward_vace {
    int present;       /* 0: IN has no VACE input (a text-to-video pass) */
    float *cond;       /* (channels, thw) */
    int64_t channels, thw[3];
    int n_refs;        /* leading reference frames (0 for a ready `vace` tensor) */
    float *scale;      /* `vace_scale` (n_scale), or NULL: 1 for every layer */
    int64_t n_scale;
};
/* Reads IN's `vace` tensor, or builds the conditioning from its `video`, `mask` and `ref0`,
 * `ref1`... tensors plus ref_files (image files) with the VAE of vae_dir (sf_vace.h); and
 * `vace_scale`. The pixel size comes from latent (the DiT's (frames, h, w), reference frames
 * included) when given, else from pixels, else from the video or mask. No VACE tensor at all
 * leaves v->present 0. Fails with one logged line (SF_E_NOTFOUND / SF_E_FORMAT / SF_E_INVAL /
 * SF_E_NOMEM, or the VAE's status); free v with sf_forward_vace_free in any case. */
int sf_forward_vace_read(const struct sf_st *in, const char *cmd, const char *vae_dir,
                         const char *const *ref_files, int n_ref_files, const int64_t *latent,
                         const int64_t pixels[3], struct sf_forward_vace *v);
/* Checks v against the DiT (channels, scale count, latent thw) and sets it (sf_dit_set_vace);
 * with no VACE input it clears it, so a VACE model then refuses to run (one logged line). */
int sf_forward_vace_apply(struct sf_dit *dit, const struct sf_forward_vace *v, const char *model,
                          const int64_t thw[3]);
void sf_forward_vace_free(struct sf_forward_vace *v);

#endif
