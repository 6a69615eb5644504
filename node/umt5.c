/* umt5.c — the umT5 encoder (sf_umt5.h): loading a text_encoder/ component with transformers or
 * Wan names, checking it against its config, and the forward pass on the kernels' ops. Called by
 * `shotfarm forward text` and, later, by the renderer to encode prompts.
 * The subtle things: T5 does not scale q·k by 1/sqrt(d) and adds a learned bias per (head,
 * bucket of key_pos - query_pos) in every layer; sf_attention has neither, so attention is done
 * here with sf_gemm_f32 in query tiles and a softmax that adds the bias. Only valid tokens are
 * computed (see sf_umt5.h on padding). */
#include "sf_umt5.h"

#include "sf_file.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_model_dir.h"
#include "sf_ops.h"
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MOD "umt5"
/* query rows per attention tile: the scores of one tile are QTILE x n floats */
#define QTILE 128

struct layer {
    struct sf_tensor q, k, v, o;     /* (A, D) x3, (D, A); A = n_heads * d_kv; file dtype */
    struct sf_tensor gate, up, down; /* (F, D), (F, D), (D, F) */
    float *norm1, *norm2;            /* (D) fp32 copies */
    float *rel_bias;                 /* (num_buckets, n_heads) fp32 copy */
};

struct sf_umt5 {
    struct sf_umt5_config cfg;
    enum sf_umt5_names names;
    char dir[SF_MODEL_PATH_MAX + 256]; /* the component directory */
    int bare_file;                     /* weights given as a file: no config.json of their own */
    struct sf_st *st;                  /* the mapped weights; tensors below point into it */
    const struct sf_st_tensor *embed;  /* (vocab_size, D), rows converted on lookup */
    struct layer *layers;              /* n_layers */
    float *final_norm;                 /* (D) */
};

/* ---- relative position buckets --------------------------------------------------------- */

int sf_umt5_bucket(int64_t rel, int num_buckets, int max_distance)
{
    /* transformers UMT5Attention._relative_position_bucket, bidirectional (encoder) branch:
     * every step in fp32 as torch does, so exact edges (n = 16, 32, 64 for 32/128) agree. */
    int nb = num_buckets / 2, max_exact = nb / 2;
    int bucket = rel > 0 ? nb : 0;
    int64_t n = rel < 0 ? -rel : rel;
    if (n < max_exact) return bucket + (int)n;
    float ratio = logf((float)n / (float)max_exact) / (float)log((double)max_distance / max_exact);
    float scaled = ratio * (float)(nb - max_exact);
    int64_t large = max_exact + (int64_t)scaled;
    if (large > nb - 1) large = nb - 1;
    return bucket + (int)large;
}

/* ---- loading ----------------------------------------------------------------------------- */

/* The weights of a text encoder directory: sharded index or single file, into w; 0 if none. */
static int dir_weights(const char *dir, char *w, size_t n)
{
    snprintf(w, n, "%s/model.safetensors.index.json", dir);
    if (sf_file_is_regular(w)) return 1;
    snprintf(w, n, "%s/model.safetensors", dir);
    return sf_file_is_regular(w);
}

/* Where the encoder of `path` lives: m->dir (its directory, for config.json and messages) and
 * weights (the .safetensors or its index). Accepts a text_encoder directory (transformers or
 * Wan names), a directory holding one as text_encoder/, a model directory in any form
 * sf_model_dir_detect knows, or a .safetensors file (Wan names, e.g. the official .pth
 * converted). */
static int resolve(struct sf_umt5 *m, const char *path, char *weights, size_t n)
{
    int st = SF_OK;
    struct sf_model_dir md;
    char sub[SF_MODEL_PATH_MAX + 16];
    snprintf(sub, sizeof sub, "%s/text_encoder", path);
    const char *direct[] = {path, sub};
    for (int i = 0; i < 2; i++) {
        if (sf_file_is_dir(direct[i]) && dir_weights(direct[i], weights, n)) {
            snprintf(m->dir, sizeof m->dir, "%s", direct[i]);
            return SF_OK;
        }
    }
    SF_TRY(st, sf_model_dir_detect(path, &md));
    const char *c = md.kind == SF_MODEL_FILE ? md.path : md.component[SF_COMPONENT_TEXT];
    /* the official checkpoint's .pth converted beside it, as model_dir's message suggests (and
     * mkmodel --layout official writes) */
    char conv[SF_MODEL_PATH_MAX + 128];
    snprintf(conv, sizeof conv, "%s/%s.safetensors", md.path,
             sf_component_info(SF_COMPONENT_TEXT)->official_path);
    if (md.kind == SF_MODEL_OFFICIAL && sf_file_is_regular(conv)) c = conv;
    if (!c[0]) {
        SF_ERROR(MOD,
                 "%s: this %s has no text encoder (text_encoder/ or %s); write one with "
                 "`shotfarm mkmodel --component text`",
                 path, sf_model_kind_name(md.kind),
                 sf_component_info(SF_COMPONENT_TEXT)->official_path);
        return SF_E_NOTFOUND;
    }
    if (sf_file_is_dir(c)) {
        snprintf(m->dir, sizeof m->dir, "%s", c);
        if (dir_weights(c, weights, n)) return SF_OK;
        SF_ERROR(MOD,
                 "%s: neither model.safetensors nor model.safetensors.index.json; not a text "
                 "encoder directory",
                 c);
        return SF_E_NOTFOUND;
    }
    if (!sf_str_ends_with(c, ".safetensors") && !sf_str_ends_with(c, ".safetensors.index.json")) {
        SF_ERROR(MOD,
                 "%s: a PyTorch pickle, which shotfarm does not load; convert it once with: "
                 "python -c \"import torch, safetensors.torch as s; s.save_file(torch.load('%s', "
                 "map_location='cpu', weights_only=True), '%s.safetensors')\"",
                 c, c, c);
        return SF_E_UNSUPPORTED;
    }
    snprintf(weights, n, "%s", c);
    m->bare_file = 1; /* a config.json beside it belongs to something else */
    snprintf(m->dir, sizeof m->dir, "%s", c);
    char *slash = strrchr(m->dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(m->dir, sizeof m->dir, ".");
out:
    return st;
}

/* An int member of config.json: required (no default) or with a default; range-checked. */
static int cfg_int(const struct sf_json *root, const char *path, const char *key, int required,
                   int64_t dflt, int64_t lo, int64_t hi, int64_t *out)
{
    const struct sf_json *v = sf_json_get(root, key);
    if (!v) {
        if (required) {
            SF_ERROR(MOD, "%s: key \"%s\" is missing; add it (transformers UMT5Config)", path, key);
            return SF_E_FORMAT;
        }
        *out = dflt;
        return SF_OK;
    }
    if (v->type != SF_JSON_NUMBER || !v->is_int || v->integer < lo || v->integer > hi) {
        SF_ERROR(MOD, "%s:%d:%d: \"%s\" must be an integer in [%lld, %lld]", path, v->line, v->col,
                 key, (long long)lo, (long long)hi);
        return SF_E_FORMAT;
    }
    *out = v->integer;
    return SF_OK;
}

static int parse_config(const char *path, struct sf_umt5_config *c)
{
    char *text = NULL, err[256];
    size_t len = 0;
    struct sf_json_doc *doc = NULL;
    int st = sf_file_read_all(path, 1u << 20, &text, &len);
    if (st) return st;
    doc = sf_json_parse(text, len, err, sizeof err);
    if (!doc) {
        SF_ERROR(MOD, "%s: %s", path, err);
        st = SF_E_FORMAT;
        goto out;
    }
    const struct sf_json *root = sf_json_root(doc);
    if (root->type != SF_JSON_OBJECT) {
        SF_ERROR(MOD, "%s: the top level must be an object (transformers UMT5Config)", path);
        st = SF_E_FORMAT;
        goto out;
    }
    int64_t v;
    const int64_t big = (int64_t)1 << 24;
    SF_TRY(st, cfg_int(root, path, "vocab_size", 1, 0, 1, (int64_t)1 << 31, &c->vocab_size));
    SF_TRY(st, cfg_int(root, path, "d_model", 1, 0, 1, big, &v));
    c->d_model = (int)v;
    SF_TRY(st, cfg_int(root, path, "d_kv", 1, 0, 1, big, &v));
    c->d_kv = (int)v;
    SF_TRY(st, cfg_int(root, path, "num_heads", 1, 0, 1, big, &v));
    c->n_heads = (int)v;
    SF_TRY(st, cfg_int(root, path, "d_ff", 1, 0, 1, big, &v));
    c->d_ff = (int)v;
    SF_TRY(st, cfg_int(root, path, "num_layers", 1, 0, 1, 4096, &v));
    c->n_layers = (int)v;
    SF_TRY(st, cfg_int(root, path, "relative_attention_num_buckets", 0, 32, 4, 1 << 16, &v));
    c->num_buckets = (int)v;
    SF_TRY(st, cfg_int(root, path, "relative_attention_max_distance", 0, 128, 1, 1 << 30, &v));
    c->max_distance = (int)v;
    double eps = 1e-6;
    const struct sf_json *e = sf_json_get(root, "layer_norm_epsilon");
    if (e && (e->type != SF_JSON_NUMBER || !(e->number > 0) || e->number > 1)) {
        SF_ERROR(MOD, "%s:%d:%d: \"layer_norm_epsilon\" must be a number in (0, 1]", path, e->line,
                 e->col);
        st = SF_E_FORMAT;
        goto out;
    }
    if (e) eps = e->number;
    c->eps = (float)eps;
    const char *ffp = sf_json_get_str(root, "feed_forward_proj");
    if (ffp && strcmp(ffp, "gated-gelu") != 0) {
        SF_ERROR(MOD, "%s: feed_forward_proj \"%s\" is not supported; umT5 uses \"gated-gelu\"",
                 path, ffp);
        st = SF_E_UNSUPPORTED;
        goto out;
    }
    const struct sf_json *dec = sf_json_get(root, "is_decoder");
    if (dec && dec->type == SF_JSON_BOOL && dec->boolean) {
        SF_ERROR(MOD, "%s: is_decoder is true; only the encoder stack is supported", path);
        st = SF_E_UNSUPPORTED;
        goto out;
    }
    char why[160];
    if (sf_umt5_config_check(c, why, sizeof why)) {
        SF_ERROR(MOD, "%s: %s", path, why);
        st = SF_E_FORMAT;
    }
out:
    sf_json_free(doc);
    free(text);
    return st;
}

/* The tensor for role/layer under m->names, or NULL. The HF embedding has a tied alias. */
static const struct sf_st_tensor *find(const struct sf_umt5 *m, enum sf_umt5_tensor role, int layer,
                                       char *name, size_t n)
{
    sf_umt5_tensor_name(m->names, role, layer, name, n);
    const struct sf_st_tensor *t = sf_st_find(m->st, name);
    if (!t && role == SF_UMT5_T_EMBED && m->names == SF_UMT5_NAMES_HF) {
        t = sf_st_find(m->st, "encoder.embed_tokens.weight");
        if (t) snprintf(name, n, "encoder.embed_tokens.weight");
    }
    return t;
}

static int dim_of(const struct sf_st_tensor *t, int i)
{
    return t->n_dims > i ? (int)t->shape[i] : 0;
}

/* Without config.json (Wan's checkpoints carry none): sizes from the tensor shapes. */
static int infer_config(struct sf_umt5 *m, const char *src)
{
    struct sf_umt5_config *c = &m->cfg;
    char name[160];
    const struct sf_st_tensor *emb = find(m, SF_UMT5_T_EMBED, 0, name, sizeof name);
    const struct sf_st_tensor *rel = find(m, SF_UMT5_T_REL_BIAS, 0, name, sizeof name);
    const struct sf_st_tensor *q = find(m, SF_UMT5_T_Q, 0, name, sizeof name);
    const struct sf_st_tensor *g = find(m, SF_UMT5_T_GATE, 0, name, sizeof name);
    if (!emb || !rel || !q || !g || emb->n_dims != 2 || rel->n_dims != 2 || q->n_dims != 2 ||
        g->n_dims != 2 || rel->shape[1] <= 0 || q->shape[0] % rel->shape[1]) {
        SF_ERROR(MOD,
                 "%s: no config.json, and the layer-0 tensors (%s) are missing or oddly "
                 "shaped, so the config cannot be inferred; add config.json (transformers "
                 "UMT5Config keys)",
                 src, name);
        return SF_E_FORMAT;
    }
    c->vocab_size = emb->shape[0];
    c->d_model = dim_of(emb, 1);
    c->n_heads = dim_of(rel, 1);
    c->num_buckets = dim_of(rel, 0);
    c->d_kv = (int)(q->shape[0] / rel->shape[1]);
    c->d_ff = dim_of(g, 0);
    c->max_distance = 128;
    c->eps = 1e-6f;
    c->n_layers = 0;
    while (find(m, SF_UMT5_T_NORM1, c->n_layers, name, sizeof name))
        c->n_layers++;
    char why[160];
    if (sf_umt5_config_check(c, why, sizeof why)) {
        SF_ERROR(MOD, "%s: no config.json, and the inferred config is invalid: %s", src, why);
        return SF_E_FORMAT;
    }
    SF_INFO(MOD,
            "%s: no config.json of its own; inferred d_model %d, %d layers, %d heads of %d, "
            "d_ff %d, vocab %lld, %d buckets (max_distance 128, eps 1e-6 assumed)",
            src, c->d_model, c->n_layers, c->n_heads, c->d_kv, c->d_ff, (long long)c->vocab_size,
            c->num_buckets);
    return SF_OK;
}

/* Finds a tensor and checks its shape against the config; float dtypes only. */
static int get_checked(struct sf_umt5 *m, enum sf_umt5_tensor role, int layer,
                       const struct sf_st_tensor **out, const char *cfg_src)
{
    char name[160], got[96], want[96];
    const struct sf_st_tensor *t = find(m, role, layer, name, sizeof name);
    if (!t) {
        SF_ERROR(MOD,
                 "%s: tensor %s is missing (%s wants %d layers); the weights do not match "
                 "the config",
                 sf_st_path(m->st), name, cfg_src, m->cfg.n_layers);
        return SF_E_NOTFOUND;
    }
    int64_t shape[2];
    int nd = sf_umt5_tensor_shape(&m->cfg, role, shape);
    int ok = t->n_dims == nd && t->shape[0] == shape[0] && (nd == 1 || t->shape[1] == shape[1]);
    if (!ok) {
        sf_st_shape_str(t->n_dims, t->shape, got, sizeof got);
        sf_st_shape_str(nd, shape, want, sizeof want);
        SF_ERROR(MOD,
                 "%s: tensor %s has shape %s but %s wants %s; the weights do not match the "
                 "config",
                 t->file, name, got, cfg_src, want);
        return SF_E_FORMAT;
    }
    if (t->dtype != SF_DTYPE_F32 && t->dtype != SF_DTYPE_BF16 && t->dtype != SF_DTYPE_F16) {
        SF_ERROR(MOD, "%s: tensor %s is %s; weights must be fp32, bf16 or fp16", t->file, name,
                 sf_dtype_name(t->dtype));
        return SF_E_UNSUPPORTED;
    }
    *out = t;
    return SF_OK;
}

static void view_of(struct sf_tensor *v, const struct sf_st_tensor *t)
{
    sf_tensor_view(v, t->dtype, t->n_dims, t->shape, t->data);
}

/* A small vector or table copied to fp32 (owned by the model). */
static int copy_f32(const struct sf_st_tensor *t, float **out)
{
    float *p = malloc(t->n_elems * sizeof *p);
    if (!p) return SF_E_NOMEM;
    int st = sf_st_read_all(t, SF_DTYPE_F32, p, t->n_elems * sizeof *p);
    if (st) {
        free(p);
        return st;
    }
    *out = p;
    return SF_OK;
}

static int load_layer(struct sf_umt5 *m, int i, const char *cfg_src)
{
    struct layer *L = &m->layers[i];
    const struct sf_st_tensor *t[SF_UMT5_T_COUNT] = {0};
    int st = SF_OK;
    for (int r = SF_UMT5_T_LAYER; r < SF_UMT5_T_COUNT; r++)
        SF_TRY(st, get_checked(m, (enum sf_umt5_tensor)r, i, &t[r], cfg_src));
    view_of(&L->q, t[SF_UMT5_T_Q]);
    view_of(&L->k, t[SF_UMT5_T_K]);
    view_of(&L->v, t[SF_UMT5_T_V]);
    view_of(&L->o, t[SF_UMT5_T_O]);
    view_of(&L->gate, t[SF_UMT5_T_GATE]);
    view_of(&L->up, t[SF_UMT5_T_UP]);
    view_of(&L->down, t[SF_UMT5_T_DOWN]);
    SF_TRY(st, copy_f32(t[SF_UMT5_T_NORM1], &L->norm1));
    SF_TRY(st, copy_f32(t[SF_UMT5_T_NORM2], &L->norm2));
    SF_TRY(st, copy_f32(t[SF_UMT5_T_REL_BIAS], &L->rel_bias));
out:
    return st;
}

int sf_umt5_load(const char *dir, struct sf_umt5 **out)
{
    int st = SF_OK;
    struct sf_umt5 *m = calloc(1, sizeof *m);
    char path[SF_MODEL_PATH_MAX + 320], cfg_path[SF_MODEL_PATH_MAX + 320];
    if (!m) return SF_E_NOMEM;

    SF_TRY(st, resolve(m, dir, path, sizeof path));
    SF_TRY(st, sf_st_open(path, &m->st));
    m->names = sf_st_find(m->st, "token_embedding.weight") ? SF_UMT5_NAMES_WAN : SF_UMT5_NAMES_HF;

    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", m->dir);
    const char *cfg_src = "config.json";
    if (!m->bare_file && sf_file_is_regular(cfg_path)) {
        SF_TRY(st, parse_config(cfg_path, &m->cfg));
    } else {
        SF_TRY(st, infer_config(m, path));
        cfg_src = "the inferred config";
    }

    /* no layer beyond the config's count */
    char name[160];
    if (find(m, SF_UMT5_T_NORM1, m->cfg.n_layers, name, sizeof name)) {
        SF_ERROR(MOD,
                 "%s: tensor %s exists but %s has %d layers; the weights do not match the "
                 "config",
                 sf_st_path(m->st), name, cfg_src, m->cfg.n_layers);
        st = SF_E_FORMAT;
        goto out;
    }
    SF_TRY(st, get_checked(m, SF_UMT5_T_EMBED, 0, &m->embed, cfg_src));
    const struct sf_st_tensor *fn = NULL;
    SF_TRY(st, get_checked(m, SF_UMT5_T_FINAL_NORM, 0, &fn, cfg_src));
    SF_TRY(st, copy_f32(fn, &m->final_norm));
    m->layers = calloc((size_t)m->cfg.n_layers, sizeof *m->layers);
    if (!m->layers) {
        st = SF_E_NOMEM;
        goto out;
    }
    for (int i = 0; i < m->cfg.n_layers; i++)
        SF_TRY(st, load_layer(m, i, cfg_src));

    SF_INFO(MOD,
            "%s: umT5 encoder, %d layers, d_model %d, %d heads of %d, d_ff %d, vocab %lld, "
            "%s names, embedding %s",
            m->dir, m->cfg.n_layers, m->cfg.d_model, m->cfg.n_heads, m->cfg.d_kv, m->cfg.d_ff,
            (long long)m->cfg.vocab_size, m->names == SF_UMT5_NAMES_WAN ? "Wan" : "transformers",
            sf_dtype_name(m->embed->dtype));
    *out = m;
    m = NULL;
out:
    sf_umt5_destroy(m);
    return st;
}

void sf_umt5_destroy(struct sf_umt5 *m)
{
    if (!m) return;
    if (m->layers) {
        for (int i = 0; i < m->cfg.n_layers; i++) {
            free(m->layers[i].norm1);
            free(m->layers[i].norm2);
            free(m->layers[i].rel_bias);
        }
        free(m->layers);
    }
    free(m->final_norm);
    sf_st_close(m->st);
    free(m);
}

const struct sf_umt5_config *sf_umt5_get_config(const struct sf_umt5 *m)
{
    return &m->cfg;
}
enum sf_umt5_names sf_umt5_get_names(const struct sf_umt5 *m)
{
    return m->names;
}
const char *sf_umt5_get_dir(const struct sf_umt5 *m)
{
    return m->dir;
}

/* ---- forward ----------------------------------------------------------------------------- */

/* Scratch of one encode call, all fp32. */
struct scratch {
    float *h;               /* (n, D) normed input of a sub-block */
    float *q, *k, *v, *att; /* (n, A) each */
    float *scores;          /* (QTILE, n) */
    float *ffa, *ffb;       /* (n, F) gate and up activations */
    float *y;               /* (n, D) sub-block output before the residual add */
    int *bucket;            /* (2n - 1): bucket of rel = index - (n - 1) */
};

struct softmax_ctx {
    float *s;          /* (rows, n) scores of one tile */
    const float *bias; /* (2n - 1) this head's bias by relative position */
    int64_t n, q0;     /* keys; first query row of the tile */
};

/* Row i of the tile: s += bias(key - query), then a softmax in fp32 (max-subtracted). */
static void softmax_row(void *vctx, int64_t i)
{
    const struct softmax_ctx *c = vctx;
    float *row = c->s + i * c->n;
    const float *b = c->bias + (c->n - 1) - (c->q0 + i); /* b[j] = bias of rel j - query */
    float mx = -INFINITY;
    for (int64_t j = 0; j < c->n; j++) {
        row[j] += b[j];
        if (row[j] > mx) mx = row[j];
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < c->n; j++) {
        row[j] = expf(row[j] - mx);
        sum += row[j];
    }
    float inv = 1.0f / sum;
    for (int64_t j = 0; j < c->n; j++)
        row[j] *= inv;
}

/* att (n, A) = per head softmax(q_h k_h^T + bias_h) v_h, unscaled; bias_tab (2n - 1) scratch. */
static void attention(const struct sf_umt5 *m, const struct layer *L, struct scratch *s, int64_t n,
                      float *bias_tab)
{
    const int H = m->cfg.n_heads, d = m->cfg.d_kv;
    const int64_t A = (int64_t)H * d;
    for (int h = 0; h < H; h++) {
        for (int64_t r = 0; r < 2 * n - 1; r++)
            bias_tab[r] = L->rel_bias[(int64_t)s->bucket[r] * H + h];
        for (int64_t q0 = 0; q0 < n; q0 += QTILE) {
            int64_t rows = n - q0 < QTILE ? n - q0 : QTILE;
            sf_gemm_f32(0, 1, rows, n, d, 1.0f, s->q + q0 * A + (int64_t)h * d, A,
                        s->k + (int64_t)h * d, A, 0.0f, s->scores, n);
            struct softmax_ctx c = {.s = s->scores, .bias = bias_tab, .n = n, .q0 = q0};
            sf_parallel_for(rows, softmax_row, &c);
            sf_gemm_f32(0, 0, rows, d, n, 1.0f, s->scores, n, s->v + (int64_t)h * d, A, 0.0f,
                        s->att + q0 * A + (int64_t)h * d, A);
        }
    }
}

static void add_inplace(float *x, const float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] += y[i];
}

static void mul_inplace(float *x, const float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] *= y[i];
}

int sf_umt5_encode(struct sf_umt5 *m, const int64_t *ids, int64_t n, float *out)
{
    const struct sf_umt5_config *c = &m->cfg;
    const int64_t D = c->d_model, A = (int64_t)c->n_heads * c->d_kv, F = c->d_ff;
    int st = SF_OK;
    struct scratch s = {0};
    float *bias_tab = NULL;
    SF_ASSERT(n >= 1);
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= c->vocab_size) {
            SF_ERROR(MOD,
                     "token %lld has id %lld, outside the vocabulary [0, %lld) of %s; "
                     "tokenize with this model's tokenizer",
                     (long long)i, (long long)ids[i], (long long)c->vocab_size, m->dir);
            return SF_E_INVAL;
        }
    }
    s.h = malloc((size_t)(n * D) * sizeof(float));
    s.y = malloc((size_t)(n * D) * sizeof(float));
    s.q = malloc((size_t)(n * A) * sizeof(float));
    s.k = malloc((size_t)(n * A) * sizeof(float));
    s.v = malloc((size_t)(n * A) * sizeof(float));
    s.att = malloc((size_t)(n * A) * sizeof(float));
    s.scores = malloc((size_t)((n < QTILE ? n : QTILE) * n) * sizeof(float));
    s.ffa = malloc((size_t)(n * F) * sizeof(float));
    s.ffb = malloc((size_t)(n * F) * sizeof(float));
    s.bucket = malloc((size_t)(2 * n - 1) * sizeof(int));
    bias_tab = malloc((size_t)(2 * n - 1) * sizeof(float));
    if (!s.h || !s.y || !s.q || !s.k || !s.v || !s.att || !s.scores || !s.ffa || !s.ffb ||
        !s.bucket || !bias_tab) {
        SF_ERROR(MOD, "out of memory for %lld tokens", (long long)n);
        st = SF_E_NOMEM;
        goto out;
    }
    for (int64_t r = 0; r < 2 * n - 1; r++)
        s.bucket[r] = sf_umt5_bucket(r - (n - 1), c->num_buckets, c->max_distance);

    /* x = embedding rows; the residual stream lives in out */
    size_t row_bytes = (size_t)D * sf_dtype_size(m->embed->dtype);
    for (int64_t i = 0; i < n; i++)
        sf_convert_to_f32(m->embed->dtype,
                          (const char *)m->embed->data + (size_t)ids[i] * row_bytes, out + i * D,
                          (size_t)D);

    for (int l = 0; l < c->n_layers; l++) {
        const struct layer *L = &m->layers[l];
        /* x += o(attention(norm1(x))) */
        sf_rmsnorm(out, L->norm1, s.h, n, D, c->eps);
        sf_linear(s.h, n, D, &L->q, NULL, s.q);
        sf_linear(s.h, n, D, &L->k, NULL, s.k);
        sf_linear(s.h, n, D, &L->v, NULL, s.v);
        attention(m, L, &s, n, bias_tab);
        sf_linear(s.att, n, A, &L->o, NULL, s.y);
        add_inplace(out, s.y, n * D);
        /* x += down(gelu_tanh(gate(norm2(x))) * up(norm2(x))) */
        sf_rmsnorm(out, L->norm2, s.h, n, D, c->eps);
        sf_linear(s.h, n, D, &L->gate, NULL, s.ffa);
        sf_linear(s.h, n, D, &L->up, NULL, s.ffb);
        sf_gelu_tanh(s.ffa, n * F);
        mul_inplace(s.ffa, s.ffb, n * F);
        sf_linear(s.ffa, n, F, &L->down, NULL, s.y);
        add_inplace(out, s.y, n * D);
    }
    sf_rmsnorm(out, m->final_norm, s.h, n, D, c->eps);
    memcpy(out, s.h, (size_t)(n * D) * sizeof(float));
out:
    free(s.h);
    free(s.y);
    free(s.q);
    free(s.k);
    free(s.v);
    free(s.att);
    free(s.scores);
    free(s.ffa);
    free(s.ffb);
    free(s.bucket);
    free(bias_tab);
    return st;
}
