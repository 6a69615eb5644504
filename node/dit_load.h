/* dit_load.h — private to node/dit.c: the DiT's weights bound by role, whatever the layout
 * (diffusers or official names) and dtype of the files (opened and checked by sf_model_dir.h).
 * Large tensors are views into the mmapped safetensors data; the vectors that the fp32
 * norm/modulation ops take as float * (norm weights and biases, modulation tables) are widened
 * into one fp32 allocation.
 *
 * Tensor parallel (tp ranks, this one `rank`): each rank binds only its slice of the sharded
 * tensors. Column-parallel weights (q/k/v of both attentions, FFN-up; Megatron's terms) are split
 * by output feature = by rows of the (out, in) matrix, which are contiguous in the file, so the
 * rank's slice is a view into the mapping and only its pages are ever touched. Row-parallel
 * weights (attention-out, FFN-down) are split by input feature = by columns, which are strided in
 * the file: the rank's columns are copied once at load (sf_st_read, file dtype kept) into one
 * owned allocation, so the mapping's pages of other ranks' columns are never read. Everything
 * else (embeddings, modulation, norms, head, the row-parallel biases) is replicated. tp = 1 binds
 * exactly what it always did: whole views, no copies. VACE blocks split like the main blocks;
 * their input/output projections and patch embedding are replicated. */
#ifndef SF_DIT_LOAD_H
#define SF_DIT_LOAD_H

#include <stdint.h>

#include "sf_config.h"
#include "sf_model_dir.h"
#include "sf_tensor.h"

struct sf_dit_linear {
    struct sf_tensor w; /* (out, in); this rank's (out/tp, in) or (out, in/tp) when sharded */
    struct sf_tensor b; /* (out) or this rank's (out/tp) */
};

struct sf_dit_attn {
    struct sf_dit_linear q, k, v, o; /* each (D, D): q/k/v split by rows, o by columns */
    const float *norm_q, *norm_k;    /* (D) RMSNorm weights over all heads; sharded: this
                                        rank's D/tp of them (the norm still spans D) */
};

struct sf_dit_block {
    const float *modulation; /* (6, D): shift/scale/gate of attention, then of the FFN */
    struct sf_dit_attn self, cross;
    const float *norm3_w, *norm3_b;  /* (D) affine LayerNorm before cross-attention */
    struct sf_dit_linear ffn1, ffn2; /* (F, D), (D, F): ffn1 split by rows, ffn2 by columns */
};

struct sf_dit_params {
    struct sf_dit_weights files;       /* config, layout and the open safetensors (the mapping) */
    int tp, rank;                      /* the split: this rank's shard of tp */
    uint64_t bytes;                    /* bytes of the tensors (or slices) bound, as stored */
    uint64_t sharded_bytes;            /* ... of which slices of sharded tensors */
    uint64_t copied_bytes;             /* ... of which copied out of the mapping (in `owned`) */
    void *owned;                       /* the row-parallel slices (tp > 1), in file dtype */
    struct sf_tensor patch_w;          /* (D, in_dim, pt, ph, pw) */
    struct sf_tensor patch_b;          /* (D) */
    struct sf_dit_linear text1, text2; /* (D, text_dim), (D, D) */
    struct sf_dit_linear time1, time2, time_proj; /* (D, freq), (D, D), (6D, D) */
    struct sf_dit_linear head;                    /* (out_dim * pt*ph*pw, D) */
    const float *head_modulation;                 /* (2, D): shift, scale */
    struct sf_dit_block *blocks;    /* n_layers main blocks, then n_vace VACE block bodies */
    struct sf_tensor vace_patch_w;  /* (D, vace_in_dim, pt, ph, pw), when n_vace > 0 */
    struct sf_tensor vace_patch_b;  /* (D) */
    struct sf_dit_linear vace_in;   /* (D, D): VACE block 0's before_proj (diffusers proj_in) */
    struct sf_dit_linear *vace_out; /* n_vace (D, D): after_proj (diffusers proj_out) */
    float *vecs;                                  /* the fp32 vectors above point in here */
    size_t n_vecs;                                /* ... floats of it */
};

/* Opens the DiT of a model path (any form sf_model_dir_detect accepts; the config and every
 * tensor are checked there) and binds its tensors by role, rank `rank`'s shard of tp (1, 0: the
 * whole model). On failure logs one line naming the file and the tensor or field (or, for a tp
 * that does not split the heads and FFN evenly, the valid degrees; logged by rank 0 only),
 * returns SF_E_* and leaves *p closed. */
int sf_dit_params_open(const char *model_path, int tp, int rank, struct sf_dit_params *p);
/* Frees what sf_dit_params_open made; a zeroed struct is fine. */
void sf_dit_params_close(struct sf_dit_params *p);

#endif
