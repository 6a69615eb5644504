/* dit_names.c — DiT tensor names, shapes and the official <-> diffusers map (sf_dit_names.h).
 * Called by mkmodel (what to write), model_dir (what to check) and the DiT forward pass (what to
 * load). The map is the substring table of diffusers' scripts/convert_wan_to_diffusers.py
 * (WAN-FACTS.md § 4), applied to whole dot-separated components so that "norm2" inside a block
 * (diffusers' name for the official norm3) never matches a prefix of another name.
 * Wan2.1-VACE adds `vace_patch_embedding` (same name in both layouts) and `vace_blocks.N.`, whose
 * insides are a main block's plus before_proj / after_proj (diffusers proj_in / proj_out;
 * convert_wan_to_diffusers.py VACE_TRANSFORMER_KEYS_RENAME_DICT). */
#include "sf_dit_names.h"
#include "sf_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sf_layout_name(enum sf_layout l)
{
    return l == SF_LAYOUT_OFFICIAL ? "official" : "diffusers";
}

int sf_layout_parse(const char *s, enum sf_layout *out)
{
    if (strcmp(s, "diffusers") == 0) *out = SF_LAYOUT_DIFFUSERS;
    else if (strcmp(s, "official") == 0) *out = SF_LAYOUT_OFFICIAL;
    else return -1;
    return 0;
}

/* {official, diffusers} module paths (a parameter suffix like ".weight" follows). */
static const char *const top_map[][2] = {
    {"patch_embedding", "patch_embedding"},
    {"text_embedding.0", "condition_embedder.text_embedder.linear_1"},
    {"text_embedding.2", "condition_embedder.text_embedder.linear_2"},
    {"time_embedding.0", "condition_embedder.time_embedder.linear_1"},
    {"time_embedding.2", "condition_embedder.time_embedder.linear_2"},
    {"time_projection.1", "condition_embedder.time_proj"},
    {"head.head", "proj_out"},
    {"vace_patch_embedding", "vace_patch_embedding"},
};
/* Inside "vace_blocks.N." besides block_map: the input (block 0) and output projections. */
static const char *const vace_map[][2] = {
    {"before_proj", "proj_in"},
    {"after_proj", "proj_out"},
};
/* Inside "blocks.N.". */
static const char *const block_map[][2] = {
    {"self_attn.q", "attn1.to_q"},   {"self_attn.k", "attn1.to_k"},
    {"self_attn.v", "attn1.to_v"},   {"self_attn.o", "attn1.to_out.0"},
    {"self_attn.norm_q", "attn1.norm_q"}, {"self_attn.norm_k", "attn1.norm_k"},
    {"cross_attn.q", "attn2.to_q"},  {"cross_attn.k", "attn2.to_k"},
    {"cross_attn.v", "attn2.to_v"},  {"cross_attn.o", "attn2.to_out.0"},
    {"cross_attn.norm_q", "attn2.norm_q"}, {"cross_attn.norm_k", "attn2.norm_k"},
    {"norm3", "norm2"},              {"ffn.0", "ffn.net.0.proj"},
    {"ffn.2", "ffn.net.2"},
};

/* Maps module path + ".weight"/".bias" through a table; bare parameters handled by the caller. */
static int map_module(const char *name, const char *const (*map)[2], size_t n_map, int from,
                      char *out, size_t n)
{
    for (size_t i = 0; i < n_map; i++) {
        size_t k = strlen(map[i][from]);
        if (strncmp(name, map[i][from], k) == 0 &&
            (strcmp(name + k, ".weight") == 0 || strcmp(name + k, ".bias") == 0)) {
            /* norms have no bias in either layout except norm3/norm2 (LayerNorm affine) */
            if (strstr(map[i][0], "norm_") && strcmp(name + k, ".bias") == 0) return -1;
            return snprintf(out, n, "%s%s", map[i][!from], name + k) < (int)n ? 0 : -1;
        }
    }
    return -1;
}

int sf_dit_name_convert(const char *name, enum sf_layout from, enum sf_layout to, char *out,
                        size_t n)
{
    int f = from == SF_LAYOUT_DIFFUSERS; /* column of `from` in the tables */
    int rc = -1;
    if (n == 0) return -1;
    out[0] = 0;
    if (from == to) {
        /* still validate the name: convert there and back */
        char tmp[SF_DIT_NAME_MAX * 2];
        enum sf_layout other = from == SF_LAYOUT_OFFICIAL ? SF_LAYOUT_DIFFUSERS : SF_LAYOUT_OFFICIAL;
        if (sf_dit_name_convert(name, from, other, tmp, sizeof tmp) != 0) return -1;
        return snprintf(out, n, "%s", name) < (int)n ? 0 : -1;
    }
    const int vace = strncmp(name, "vace_blocks.", 12) == 0;
    if (vace || strncmp(name, "blocks.", 7) == 0) {
        const char *prefix = vace ? "vace_blocks" : "blocks";
        const char *p = name + strlen(prefix) + 1;
        char *end;
        long layer = strtol(p, &end, 10);
        if (end == p || *end != '.' || layer < 0 || (p[0] == '0' && end - p > 1)) goto out;
        const char *rest = end + 1;
        const char *mod[2] = {"modulation", "scale_shift_table"};
        if (strcmp(rest, mod[f]) == 0) {
            rc = snprintf(out, n, "%s.%ld.%s", prefix, layer, mod[!f]) < (int)n ? 0 : -1;
            goto out;
        }
        char tail[SF_DIT_NAME_MAX * 2];
        if (map_module(rest, block_map, sizeof block_map / sizeof block_map[0], f, tail,
                       sizeof tail) != 0 &&
            (!vace || map_module(rest, vace_map, sizeof vace_map / sizeof vace_map[0], f, tail,
                                 sizeof tail) != 0))
            goto out;
        rc = snprintf(out, n, "%s.%ld.%s", prefix, layer, tail) < (int)n ? 0 : -1;
        goto out;
    }
    const char *mod[2] = {"head.modulation", "scale_shift_table"};
    if (strcmp(name, mod[f]) == 0) {
        rc = snprintf(out, n, "%s", mod[!f]) < (int)n ? 0 : -1;
        goto out;
    }
    rc = map_module(name, top_map, sizeof top_map / sizeof top_map[0], f, out, n);
out:
    if (rc != 0) out[0] = 0;
    return rc;
}

struct builder {
    struct sf_dit_tensor *t;
    size_t n, cap;
    enum sf_layout layout;
    const char *prefix; /* of block tensors: "blocks" or "vace_blocks" */
    int failed;
};

static void add(struct builder *b, int layer, const char *official, enum sf_dit_init init,
                int n_dims, int64_t d0, int64_t d1, int64_t d2, int64_t d3, int64_t d4)
{
    if (b->failed) return;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        struct sf_dit_tensor *t = realloc(b->t, cap * sizeof *t);
        if (!t) {
            b->failed = 1;
            return;
        }
        b->t = t;
        b->cap = cap;
    }
    struct sf_dit_tensor *e = &b->t[b->n++];
    memset(e, 0, sizeof *e);
    int k = layer >= 0 ? snprintf(e->official, sizeof e->official, "%s.%d.%s", b->prefix, layer,
                                  official)
                       : snprintf(e->official, sizeof e->official, "%s", official);
    /* The tables cover every name added below: a failure here is a bug in this file. */
    SF_ASSERT(k < (int)sizeof e->official);
    SF_ASSERT(sf_dit_name_convert(e->official, SF_LAYOUT_OFFICIAL, b->layout, e->name,
                                  sizeof e->name) == 0);
    int64_t d[SF_DIT_MAX_DIMS] = {d0, d1, d2, d3, d4};
    e->n_dims = n_dims;
    memcpy(e->shape, d, sizeof d);
    e->init = init;
    e->layer = layer;
}

/* A Linear (weight [out, in] and bias [out]) named module. */
static void linear(struct builder *b, int layer, const char *module, int64_t out, int64_t in)
{
    char w[SF_DIT_NAME_MAX + 8], bias[SF_DIT_NAME_MAX + 8];
    SF_ASSERT(snprintf(w, sizeof w, "%s.weight", module) < (int)sizeof w);
    SF_ASSERT(snprintf(bias, sizeof bias, "%s.bias", module) < (int)sizeof bias);
    add(b, layer, w, SF_DIT_INIT_WEIGHT, 2, out, in, 0, 0, 0);
    add(b, layer, bias, SF_DIT_INIT_BIAS, 1, out, 0, 0, 0, 0);
}

static void attention(struct builder *b, int layer, const char *which, int64_t dim)
{
    static const char *const proj[] = {"q", "k", "v", "o"};
    char m[SF_DIT_NAME_MAX];
    for (int i = 0; i < 4; i++) {
        snprintf(m, sizeof m, "%s.%s", which, proj[i]);
        linear(b, layer, m, dim, dim);
    }
    snprintf(m, sizeof m, "%s.norm_q.weight", which);
    add(b, layer, m, SF_DIT_INIT_ONES, 1, dim, 0, 0, 0, 0);
    snprintf(m, sizeof m, "%s.norm_k.weight", which);
    add(b, layer, m, SF_DIT_INIT_ONES, 1, dim, 0, 0, 0, 0);
}

/* One DiT block (a main block, or the body of a VACE block) at index l under b->prefix. */
static void block(struct builder *b, const struct sf_dit_config *c, int l)
{
    int64_t D = c->dim;
    add(b, l, "modulation", SF_DIT_INIT_MODULATION, 3, 1, 6, D, 0, 0);
    attention(b, l, "self_attn", D);
    add(b, l, "norm3.weight", SF_DIT_INIT_ONES, 1, D, 0, 0, 0, 0);
    add(b, l, "norm3.bias", SF_DIT_INIT_ZEROS, 1, D, 0, 0, 0, 0);
    attention(b, l, "cross_attn", D);
    linear(b, l, "ffn.0", c->ffn_dim, D);
    linear(b, l, "ffn.2", D, c->ffn_dim);
}

int sf_dit_tensors(const struct sf_dit_config *c, enum sf_layout layout,
                   struct sf_dit_tensor **out, size_t *n)
{
    struct builder b = {.layout = layout, .prefix = "blocks"};
    int64_t D = c->dim, P = (int64_t)c->patch[0] * c->patch[1] * c->patch[2];
    /* Official state_dict order (wan/modules/model.py WanModel.__init__). */
    add(&b, -1, "patch_embedding.weight", SF_DIT_INIT_WEIGHT, 5, D, c->in_dim, c->patch[0],
        c->patch[1], c->patch[2]);
    add(&b, -1, "patch_embedding.bias", SF_DIT_INIT_BIAS, 1, D, 0, 0, 0, 0);
    linear(&b, -1, "text_embedding.0", D, c->text_dim);
    linear(&b, -1, "text_embedding.2", D, D);
    linear(&b, -1, "time_embedding.0", D, c->freq_dim);
    linear(&b, -1, "time_embedding.2", D, D);
    linear(&b, -1, "time_projection.1", 6 * D, D);
    for (int l = 0; l < c->n_layers; l++)
        block(&b, c, l);
    linear(&b, -1, "head.head", c->out_dim * P, D);
    add(&b, -1, "head.modulation", SF_DIT_INIT_MODULATION, 3, 1, 2, D, 0, 0);
    if (c->n_vace) { /* VaceWanModel registers these after WanModel's own */
        b.prefix = "vace_blocks";
        for (int j = 0; j < c->n_vace; j++) {
            block(&b, c, j);
            if (j == 0) linear(&b, j, "before_proj", D, D);
            linear(&b, j, "after_proj", D, D);
        }
        add(&b, -1, "vace_patch_embedding.weight", SF_DIT_INIT_WEIGHT, 5, D, c->vace_in_dim,
            c->patch[0], c->patch[1], c->patch[2]);
        add(&b, -1, "vace_patch_embedding.bias", SF_DIT_INIT_BIAS, 1, D, 0, 0, 0, 0);
    }
    if (b.failed) {
        free(b.t);
        return -1;
    }
    *out = b.t;
    *n = b.n;
    return 0;
}
