/* umt5_names.c — the umT5 encoder's configs, tensor names and shapes under both naming schemes
 * (transformers UMT5EncoderModel and Wan's t5.py, WAN-FACTS § 4), and its config.json. Used by
 * the loader (node/umt5.c) to find and check every tensor, and by `shotfarm mkmodel --component
 * text` to write a random encoder that the loader and transformers both accept.
 * The subtle thing: transformers ties the embedding under two names (shared.weight and
 * encoder.embed_tokens.weight); files carry one or both, so the loader tries both and this table
 * names the canonical one. */
#include "sf_umt5.h"

#include "sf_json.h"
#include "sf_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off: one config per row */
static const struct {
    const char *name;
    struct sf_umt5_config cfg;
} configs[] = {
    /* wan/modules/t5.py:456-467,490-494 */
    {"umt5-xxl", {.vocab_size = 256384, .d_model = 4096, .d_kv = 64, .n_heads = 64, .d_ff = 10240,
                  .n_layers = 24, .num_buckets = 32, .max_distance = 128, .eps = 1e-6f}},
    /* ours: d_model 64 feeds the `tiny` DiT (text_dim 64); the vocabulary is the size of the
     * committed test tokenizer examples/models/tokenizer.json (tests/umt5 checks they agree) */
    {"tiny", {.vocab_size = SF_UMT5_TINY_VOCAB, .d_model = 64, .d_kv = 16, .n_heads = 4,
              .d_ff = 128, .n_layers = 2, .num_buckets = 32, .max_distance = 128, .eps = 1e-6f}},
};
/* clang-format on */

static const char *const config_names[] = {"umt5-xxl", "tiny", NULL};

int sf_umt5_config_by_name(const char *name, struct sf_umt5_config *cfg)
{
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        if (strcmp(configs[i].name, name) == 0) {
            *cfg = configs[i].cfg;
            return 0;
        }
    }
    return -1;
}

const char *const *sf_umt5_config_names(void)
{
    return config_names;
}

int sf_umt5_config_check(const struct sf_umt5_config *c, char *why, size_t n)
{
    if (c->vocab_size <= 0 || c->d_model <= 0 || c->d_kv <= 0 || c->n_heads <= 0 || c->d_ff <= 0 ||
        c->n_layers <= 0) {
        snprintf(why, n, "every size must be positive");
        return -1;
    }
    if (c->num_buckets < 4 || c->num_buckets % 2) {
        snprintf(why, n, "relative_attention_num_buckets %d must be even and at least 4",
                 c->num_buckets);
        return -1;
    }
    /* the logarithmic half needs max_distance above the exact range (num_buckets / 4) */
    if (c->max_distance <= c->num_buckets / 4) {
        snprintf(why, n, "relative_attention_max_distance %d must exceed num_buckets / 4 = %d",
                 c->max_distance, c->num_buckets / 4);
        return -1;
    }
    if ((int64_t)c->n_heads * c->d_kv > (1 << 24) || c->d_model > (1 << 24) ||
        c->d_ff > (1 << 24)) {
        snprintf(why, n, "sizes above 2^24 are not supported");
        return -1;
    }
    if (!(c->eps > 0.0f)) {
        snprintf(why, n, "layer_norm_epsilon must be positive");
        return -1;
    }
    return 0;
}

double sf_umt5_config_params(const struct sf_umt5_config *c)
{
    double D = c->d_model, A = (double)c->n_heads * c->d_kv, F = c->d_ff;
    double layer = 4 * D * A + (double)c->num_buckets * c->n_heads + 2 * D + 3 * D * F;
    return (double)c->vocab_size * D + c->n_layers * layer + D;
}

void sf_umt5_tensor_name(enum sf_umt5_names names, enum sf_umt5_tensor role, int layer, char *buf,
                         size_t n)
{
    /* transformers suffix after encoder.block.N.layer., Wan suffix after blocks.N. */
    static const char *const hf[SF_UMT5_T_COUNT] = {
        [SF_UMT5_T_NORM1] = "0.layer_norm.weight",
        [SF_UMT5_T_Q] = "0.SelfAttention.q.weight",
        [SF_UMT5_T_K] = "0.SelfAttention.k.weight",
        [SF_UMT5_T_V] = "0.SelfAttention.v.weight",
        [SF_UMT5_T_O] = "0.SelfAttention.o.weight",
        [SF_UMT5_T_REL_BIAS] = "0.SelfAttention.relative_attention_bias.weight",
        [SF_UMT5_T_NORM2] = "1.layer_norm.weight",
        [SF_UMT5_T_GATE] = "1.DenseReluDense.wi_0.weight",
        [SF_UMT5_T_UP] = "1.DenseReluDense.wi_1.weight",
        [SF_UMT5_T_DOWN] = "1.DenseReluDense.wo.weight",
    };
    static const char *const wan[SF_UMT5_T_COUNT] = {
        [SF_UMT5_T_NORM1] = "norm1.weight", [SF_UMT5_T_Q] = "attn.q.weight",
        [SF_UMT5_T_K] = "attn.k.weight",    [SF_UMT5_T_V] = "attn.v.weight",
        [SF_UMT5_T_O] = "attn.o.weight",    [SF_UMT5_T_REL_BIAS] = "pos_embedding.embedding.weight",
        [SF_UMT5_T_NORM2] = "norm2.weight", [SF_UMT5_T_GATE] = "ffn.gate.0.weight",
        [SF_UMT5_T_UP] = "ffn.fc1.weight",  [SF_UMT5_T_DOWN] = "ffn.fc2.weight",
    };
    int is_wan = names == SF_UMT5_NAMES_WAN;
    if (role == SF_UMT5_T_EMBED)
        snprintf(buf, n, "%s", is_wan ? "token_embedding.weight" : "shared.weight");
    else if (role == SF_UMT5_T_FINAL_NORM)
        snprintf(buf, n, "%s", is_wan ? "norm.weight" : "encoder.final_layer_norm.weight");
    else if (is_wan)
        snprintf(buf, n, "blocks.%d.%s", layer, wan[role]);
    else
        snprintf(buf, n, "encoder.block.%d.layer.%s", layer, hf[role]);
}

int sf_umt5_tensor_shape(const struct sf_umt5_config *c, enum sf_umt5_tensor role, int64_t shape[2])
{
    /* each role's (rows, cols) as sizes of the config; cols 0: a vector */
    enum { NONE, VOCAB, DMODEL, ATTN, FFN, BUCKETS, HEADS };
    static const unsigned char dims[SF_UMT5_T_COUNT][2] = {
        [SF_UMT5_T_EMBED] = {VOCAB, DMODEL}, [SF_UMT5_T_FINAL_NORM] = {DMODEL, NONE},
        [SF_UMT5_T_NORM1] = {DMODEL, NONE},  [SF_UMT5_T_Q] = {ATTN, DMODEL},
        [SF_UMT5_T_K] = {ATTN, DMODEL},      [SF_UMT5_T_V] = {ATTN, DMODEL},
        [SF_UMT5_T_O] = {DMODEL, ATTN},      [SF_UMT5_T_REL_BIAS] = {BUCKETS, HEADS},
        [SF_UMT5_T_NORM2] = {DMODEL, NONE},  [SF_UMT5_T_GATE] = {FFN, DMODEL},
        [SF_UMT5_T_UP] = {FFN, DMODEL},      [SF_UMT5_T_DOWN] = {DMODEL, FFN},
    };
    const int64_t size[] = {[NONE] = 1,
                            [VOCAB] = c->vocab_size,
                            [DMODEL] = c->d_model,
                            [ATTN] = (int64_t)c->n_heads * c->d_kv,
                            [FFN] = c->d_ff,
                            [BUCKETS] = c->num_buckets,
                            [HEADS] = c->n_heads};
    SF_ASSERT((unsigned)role < SF_UMT5_T_COUNT);
    shape[0] = size[dims[role][0]];
    shape[1] = size[dims[role][1]];
    return dims[role][1] == NONE ? 1 : 2;
}

void sf_umt5_config_json(const struct sf_umt5_config *c, const char *torch_dtype, FILE *f)
{
    struct sf_jw w;
    sf_jw_init(&w, f, 2);
    sf_jw_obj_begin(&w);
    sf_jw_key(&w, "architectures"), sf_jw_arr_begin(&w), sf_jw_str(&w, "UMT5EncoderModel");
    sf_jw_arr_end(&w);
    sf_jw_key(&w, "d_ff"), sf_jw_int(&w, c->d_ff);
    sf_jw_key(&w, "d_kv"), sf_jw_int(&w, c->d_kv);
    sf_jw_key(&w, "d_model"), sf_jw_int(&w, c->d_model);
    sf_jw_key(&w, "decoder_start_token_id"), sf_jw_int(&w, 0);
    sf_jw_key(&w, "dense_act_fn"), sf_jw_str(&w, "gelu_new");
    sf_jw_key(&w, "dropout_rate"), sf_jw_num(&w, 0.1);
    sf_jw_key(&w, "eos_token_id"), sf_jw_int(&w, 1);
    sf_jw_key(&w, "feed_forward_proj"), sf_jw_str(&w, "gated-gelu");
    sf_jw_key(&w, "is_encoder_decoder"), sf_jw_bool(&w, 1);
    sf_jw_key(&w, "is_gated_act"), sf_jw_bool(&w, 1);
    char eps[32]; /* the float's shortest decimal (1e-06), not its double expansion */
    snprintf(eps, sizeof eps, "%.7g", (double)c->eps);
    sf_jw_key(&w, "layer_norm_epsilon"), sf_jw_num(&w, strtod(eps, NULL));
    sf_jw_key(&w, "model_type"), sf_jw_str(&w, "umt5");
    sf_jw_key(&w, "num_decoder_layers"), sf_jw_int(&w, c->n_layers);
    sf_jw_key(&w, "num_heads"), sf_jw_int(&w, c->n_heads);
    sf_jw_key(&w, "num_layers"), sf_jw_int(&w, c->n_layers);
    sf_jw_key(&w, "pad_token_id"), sf_jw_int(&w, 0);
    sf_jw_key(&w, "relative_attention_max_distance"), sf_jw_int(&w, c->max_distance);
    sf_jw_key(&w, "relative_attention_num_buckets"), sf_jw_int(&w, c->num_buckets);
    sf_jw_key(&w, "tie_word_embeddings"), sf_jw_bool(&w, 0);
    sf_jw_key(&w, "torch_dtype"), sf_jw_str(&w, torch_dtype);
    sf_jw_key(&w, "use_cache"), sf_jw_bool(&w, 1);
    sf_jw_key(&w, "vocab_size"), sf_jw_int(&w, c->vocab_size);
    sf_jw_obj_end(&w);
    sf_jw_finish(&w);
}
