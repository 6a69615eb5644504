/* sf_umt5.h — the umT5 text encoder of Wan2.1 (WAN-FACTS § 7): token embedding, N blocks of
 * [RMSNorm, self-attention with a per-layer relative position bias and no 1/sqrt(d) scaling,
 * RMSNorm, gated-GELU(tanh) FFN], final RMSNorm. Equal to transformers' UMT5EncoderModel and to
 * Wan's wan/modules/t5.py T5Encoder (tests/umt5/).
 *
 *   struct sf_umt5 *te;
 *   SF_TRY(st, sf_umt5_load("models/wan-1.3b", &te));      // reads text_encoder/
 *   const struct sf_umt5_config *c = sf_umt5_get_config(te);
 *   float *states = malloc(n * c->d_model * sizeof *states);
 *   SF_TRY(st, sf_umt5_encode(te, ids, n, states));        // n = true token count incl. </s>
 *   sf_umt5_destroy(te);
 *
 * Padding: the encoder takes the n valid tokens only. With the pad keys masked, a pad token can
 * never change a valid one, so this equals encoding the 512 padded tokens and cutting the output
 * to n rows (what Wan does, t5.py:511-513), at n/512 of the cost.
 *
 * Weights stay in the file's dtype (bf16 stays bf16), mapped from the safetensors file; the
 * GEMMs convert them tile by tile. Only the small vectors (norm weights, position-bias tables)
 * are copied to fp32. Activations are fp32.
 */
#ifndef SF_UMT5_H
#define SF_UMT5_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sf_umt5_config {
    int64_t vocab_size; /* token embedding rows (256384 for umT5-XXL) */
    int d_model;        /* hidden size (4096) */
    int d_kv;           /* head dim (64); the attention width is n_heads * d_kv */
    int n_heads;        /* (64) */
    int d_ff;           /* gated FFN inner size (10240) */
    int n_layers;       /* (24) */
    int num_buckets;    /* relative position buckets over both directions (32) */
    int max_distance;   /* distances from here on share the last bucket (128) */
    float eps;          /* RMSNorm epsilon (1e-6) */
};

/* Tensor naming schemes the loader accepts (WAN-FACTS § 4). */
enum sf_umt5_names {
    SF_UMT5_NAMES_HF,  /* transformers UMT5EncoderModel: shared.weight, encoder.block.N.layer... */
    SF_UMT5_NAMES_WAN, /* Wan t5.py T5Encoder: token_embedding.weight, blocks.N.attn.q.weight... */
};

/* Every weight of the encoder; per-layer roles come after SF_UMT5_T_LAYER. */
enum sf_umt5_tensor {
    SF_UMT5_T_EMBED,                   /* (vocab_size, d_model) */
    SF_UMT5_T_FINAL_NORM,              /* (d_model) */
    SF_UMT5_T_LAYER,                   /* marker: roles below are per layer */
    SF_UMT5_T_NORM1 = SF_UMT5_T_LAYER, /* (d_model) */
    SF_UMT5_T_Q,                       /* (n_heads*d_kv, d_model) */
    SF_UMT5_T_K,                       /* (n_heads*d_kv, d_model) */
    SF_UMT5_T_V,                       /* (n_heads*d_kv, d_model) */
    SF_UMT5_T_O,                       /* (d_model, n_heads*d_kv) */
    SF_UMT5_T_REL_BIAS,                /* (num_buckets, n_heads) */
    SF_UMT5_T_NORM2,                   /* (d_model) */
    SF_UMT5_T_GATE,                    /* (d_ff, d_model): wi_0 / ffn.gate.0, goes through GELU */
    SF_UMT5_T_UP,                      /* (d_ff, d_model): wi_1 / ffn.fc1 */
    SF_UMT5_T_DOWN,                    /* (d_model, d_ff): wo / ffn.fc2 */
    SF_UMT5_T_COUNT
};

/* The vocabulary of the committed test tokenizer (examples/models/tokenizer.json), which the
 * tiny encoder uses so that its token ids fit. */
#define SF_UMT5_TINY_VOCAB 8100

/* Named configs: "umt5-xxl" (Wan2.1's encoder; vocabulary 256384) and "tiny" (d_model 64 to
 * feed the `tiny` DiT; vocabulary SF_UMT5_TINY_VOCAB). Returns 0, or -1 when the name is unknown
 * (cfg untouched). */
int sf_umt5_config_by_name(const char *name, struct sf_umt5_config *cfg);
/* NULL-terminated list of those names. */
const char *const *sf_umt5_config_names(void);
/* Checks that every size is positive and at most 2^24, the buckets even and >= 4, max_distance
 * above the exact range and eps positive. Returns 0, or -1 with why[n]. */
int sf_umt5_config_check(const struct sf_umt5_config *cfg, char *why, size_t n);
/* Parameter count. */
double sf_umt5_config_params(const struct sf_umt5_config *cfg);

/* Name of tensor `role` (of layer `layer` for per-layer roles) under `names`, into buf. */
void sf_umt5_tensor_name(enum sf_umt5_names names, enum sf_umt5_tensor role, int layer, char *buf,
                         size_t n);
/* Shape of tensor `role` for cfg: returns the number of dims (1 or 2) and fills shape[0..1]. */
int sf_umt5_tensor_shape(const struct sf_umt5_config *cfg, enum sf_umt5_tensor role,
                         int64_t shape[2]);
/* Writes cfg as a transformers UMT5Config config.json (architectures UMT5EncoderModel, the keys
 * UMT5Config saves) with torch_dtype `torch_dtype` ("bfloat16", "float32", "float16") to f. */
void sf_umt5_config_json(const struct sf_umt5_config *cfg, const char *torch_dtype, FILE *f);

/* The bidirectional relative-position bucket of T5 for rel = key_pos - query_pos, computed the
 * way transformers does (fp32 log, truncation toward zero), so the bucket edges agree exactly:
 * half the buckets per direction, the first half of those exact, the rest logarithmic up to
 * max_distance, clamped to the last. */
int sf_umt5_bucket(int64_t rel, int num_buckets, int max_distance);

struct sf_umt5;

/* Loads the encoder from dir: a text_encoder component directory, a directory holding one as
 * text_encoder/, any model directory sf_model_dir_detect knows (an official checkpoint needs its
 * .pth converted beside it as ....pth.safetensors; the pickle itself is refused), or a bare
 * .safetensors file. Weights: model.safetensors or a sharded set
 * (model.safetensors.index.json), with transformers or Wan names (detected). Config: config.json
 * (transformers UMT5Config keys) when present, otherwise inferred from the tensor shapes
 * (max_distance 128, eps 1e-6, as umT5). Every tensor's presence and shape is checked against
 * the config. Returns SF_OK and *out (destroy with sf_umt5_destroy), or SF_E_NOTFOUND /
 * SF_E_IO / SF_E_FORMAT (missing or malformed files, a missing tensor, a shape that does not
 * match the config, an unsupported feed_forward_proj), SF_E_NOMEM; one logged line each,
 * naming the file, the tensor or key, and the fix. */
int sf_umt5_load(const char *dir, struct sf_umt5 **out);
/* NULL does nothing. */
void sf_umt5_destroy(struct sf_umt5 *m);
const struct sf_umt5_config *sf_umt5_get_config(const struct sf_umt5 *m);
/* Which naming scheme the file used; the directory the weights came from (owned by m). */
enum sf_umt5_names sf_umt5_get_names(const struct sf_umt5 *m);
const char *sf_umt5_get_dir(const struct sf_umt5 *m);

/* Encodes n >= 1 valid tokens ids[0..n) (positions 0..n-1; no padding) into out (n, d_model)
 * fp32 — the last_hidden_state rows of those tokens. Returns SF_OK, SF_E_INVAL (an id outside
 * [0, vocab_size), logged with its index and the model directory) or SF_E_NOMEM. Scratch is
 * allocated per call (O(n * (d_ff + 4 * d_model)) floats); the layers themselves allocate
 * nothing. Not reentrant on the same model from several threads. */
int sf_umt5_encode(struct sf_umt5 *m, const int64_t *ids, int64_t n, float *out);

#endif
