/* dit_load.h — private to node/dit.c: the DiT's weights bound by role, whatever the layout
 * (diffusers or official names) and dtype of the files (opened and checked by sf_model_dir.h).
 * Large tensors are views into the mmapped safetensors data; the vectors that the fp32
 * norm/modulation ops take as float * (norm weights and biases, modulation tables) are widened
 * into one fp32 allocation. */
#ifndef SF_DIT_LOAD_H
#define SF_DIT_LOAD_H

#include <stdint.h>

#include "sf_config.h"
#include "sf_model_dir.h"
#include "sf_tensor.h"

struct sf_dit_linear {
    struct sf_tensor w; /* (out, in) */
    struct sf_tensor b; /* (out) */
};

struct sf_dit_attn {
    struct sf_dit_linear q, k, v, o; /* each (D, D) */
    const float *norm_q, *norm_k;    /* (D) RMSNorm weights over all heads */
};

struct sf_dit_block {
    const float *modulation; /* (6, D): shift/scale/gate of attention, then of the FFN */
    struct sf_dit_attn self, cross;
    const float *norm3_w, *norm3_b;  /* (D) affine LayerNorm before cross-attention */
    struct sf_dit_linear ffn1, ffn2; /* (F, D), (D, F) */
};

struct sf_dit_params {
    struct sf_dit_weights files;       /* config, layout and the open safetensors (the mapping) */
    uint64_t bytes;                    /* bytes of all bound tensors, as stored */
    struct sf_tensor patch_w;          /* (D, in_dim, pt, ph, pw) */
    struct sf_tensor patch_b;          /* (D) */
    struct sf_dit_linear text1, text2; /* (D, text_dim), (D, D) */
    struct sf_dit_linear time1, time2, time_proj; /* (D, freq), (D, D), (6D, D) */
    struct sf_dit_linear head;                    /* (out_dim * pt*ph*pw, D) */
    const float *head_modulation;                 /* (2, D): shift, scale */
    struct sf_dit_block *blocks;                  /* n_layers */
    float *vecs;                                  /* the fp32 vectors above point in here */
};

/* Opens the DiT of a model path (any form sf_model_dir_detect accepts; the config and every
 * tensor are checked there) and binds its tensors by role. On failure logs one line naming the
 * file and the tensor or field, returns SF_E_* and leaves *p closed. */
int sf_dit_params_open(const char *model_path, struct sf_dit_params *p);
/* Frees what sf_dit_params_open made; a zeroed struct is fine. */
void sf_dit_params_close(struct sf_dit_params *p);

#endif
