/* sf_dit_names.h — the tensors of a Wan2.1 text-to-video DiT (and of Wan2.1-VACE, which adds
 * vace_patch_embedding and vace_blocks.N.*): names and shapes for any sf_dit_config in either
 * naming layout, and the map between the layouts (WAN-FACTS.md § 4, docs/models.md § VACE).
 *
 *   official (Wan-Video/Wan2.1 WanModel)      diffusers (WanTransformer3DModel)
 *   text_embedding.0.weight                   condition_embedder.text_embedder.linear_1.weight
 *   blocks.3.self_attn.o.bias                 blocks.3.attn1.to_out.0.bias
 *   head.modulation                           scale_shift_table
 *
 * The list is what mkmodel writes and what model_dir checks a checkpoint against; the DiT forward
 * pass asks for weights by their official names (sf_dit_weights_get in sf_model_dir.h), whatever
 * the layout on disk. Validated against the state_dict() of both reference classes
 * (tests/fixtures/names, scripts/golden/dit_names.py).
 */
#ifndef SF_DIT_NAMES_H
#define SF_DIT_NAMES_H

#include "sf_config.h"

#include <stddef.h>
#include <stdint.h>

enum sf_layout { SF_LAYOUT_DIFFUSERS = 0, SF_LAYOUT_OFFICIAL = 1 };

/* "diffusers" / "official". */
const char *sf_layout_name(enum sf_layout l);
/* Returns 0 and sets *out, or -1 when s is neither name. */
int sf_layout_parse(const char *s, enum sf_layout *out);

/* How a random model initialises the tensor (mkmodel); the reference inits in brackets. */
enum sf_dit_init {
    SF_DIT_INIT_WEIGHT,     /* Linear / Conv3d weight: normal * 0.02 */
    SF_DIT_INIT_BIAS,       /* small: normal * 0.002 [zeros] */
    SF_DIT_INIT_ONES,       /* RMSNorm and LayerNorm scales */
    SF_DIT_INIT_ZEROS,      /* LayerNorm shifts */
    SF_DIT_INIT_MODULATION, /* modulation tables: normal / sqrt(dim) [the same] */
};

#define SF_DIT_NAME_MAX 64
#define SF_DIT_MAX_DIMS 5

struct sf_dit_tensor {
    char name[SF_DIT_NAME_MAX];      /* in the layout asked for */
    char official[SF_DIT_NAME_MAX];  /* the official name (the key the forward pass uses) */
    int n_dims;
    int64_t shape[SF_DIT_MAX_DIMS];  /* outermost first, as PyTorch stores it */
    enum sf_dit_init init;
    int layer;                       /* block (or VACE block) index, or -1 outside the blocks */
};

/* Every tensor of the DiT for cfg, in the official state_dict order. Returns 0 and a malloc'ed
 * array in *out (the caller frees it) with *n entries, or -1 when out of memory. */
int sf_dit_tensors(const struct sf_dit_config *cfg, enum sf_layout layout,
                   struct sf_dit_tensor **out, size_t *n);

/* Translates a DiT tensor name between layouts into out[n]. Returns 0, or -1 when name is not a
 * DiT (t2v or VACE) tensor name of layout `from` (out then holds ""). */
int sf_dit_name_convert(const char *name, enum sf_layout from, enum sf_layout to, char *out,
                        size_t n);

#endif
