/* model_dir.c — what a --model path is, and opening its DiT checked against its config
 * (sf_model_dir.h). Called by inspect, forward and the renderer's model loading.
 * Subtle: the official Wan2.1 config.json leaves out text_dim and patch_size (WanModel's
 * ignore_for_config), so for that layout they come from the weights; every other size comes from
 * the config and is then checked tensor by tensor, so a config that does not match its weights
 * fails here with the first differing tensor rather than later inside a matmul. */
#define _POSIX_C_SOURCE 200809L
#include "sf_model_dir.h"
#include "sf_file.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MOD "model"
#define CONFIG_MAX_BYTES (1u << 20)

static const struct sf_component_info components[SF_COMPONENT_COUNT] = {
    [SF_COMPONENT_DIT] = {"dit", "transformer", "WanTransformer3DModel",
                          "diffusion_pytorch_model.safetensors"},
    [SF_COMPONENT_VAE] = {"vae", "vae", "AutoencoderKLWan", "Wan2.1_VAE.pth"},
    [SF_COMPONENT_TEXT] = {"text", "text_encoder", "UMT5EncoderModel",
                           "models_t5_umt5-xxl-enc-bf16.pth"},
    [SF_COMPONENT_TOKENIZER] = {"tokenizer", "tokenizer", NULL, "google/umt5-xxl"},
};

const struct sf_component_info *sf_component_info(enum sf_component c)
{
    return (unsigned)c < SF_COMPONENT_COUNT ? &components[c] : NULL;
}

const char *sf_model_kind_name(enum sf_model_kind k)
{
    switch (k) {
    case SF_MODEL_PIPELINE: return "diffusers pipeline";
    case SF_MODEL_COMPONENT: return "diffusers component";
    case SF_MODEL_OFFICIAL: return "official Wan2.1 checkpoint";
    case SF_MODEL_FILE: return "safetensors file";
    }
    return "?";
}

static int fail(int st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int st, const char *fmt, ...)
{
    char msg[3 * SF_MODEL_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    SF_ERROR(MOD, "%s", msg);
    return st;
}

static int join(char *out, const char *dir, const char *name)
{
    int k = snprintf(out, SF_MODEL_PATH_MAX, "%s/%s", dir, name);
    return k > 0 && k < SF_MODEL_PATH_MAX ? SF_OK : fail(SF_E_INVAL, "%s/%s: path too long", dir, name);
}

/* A pickle by name or by its first bytes (zip archive of torch.save, or pickle protocol 2+). */
static int is_pickle(const char *path)
{
    static const char *const ext[] = {".pth", ".pt", ".bin", ".ckpt", ".pkl", ".pickle"};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (sf_str_ends_with(path, ext[i])) return 1;
    unsigned char m[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(m, 1, 4, f);
    fclose(f);
    return (n == 4 && memcmp(m, "PK\x03\x04", 4) == 0) || (n >= 2 && m[0] == 0x80 && m[1] <= 5);
}

static int refuse_pickle(const char *path)
{
    return fail(SF_E_UNSUPPORTED,
                "%s: is a PyTorch pickle, which shotfarm does not load (unpickling runs code from "
                "the file); convert it once with: python -c \"import torch, safetensors.torch as s; "
                "s.save_file(torch.load('%s', map_location='cpu', weights_only=True), "
                "'%s.safetensors')\" (or diffusers' scripts/convert_wan_to_diffusers.py for a "
                "whole model)", path, path, path);
}

static int load_json(const char *path, struct sf_json_doc **doc)
{
    char *text = NULL, err[256];
    size_t len = 0;
    int st = sf_file_read_all(path, CONFIG_MAX_BYTES, &text, &len);
    if (st != SF_OK) return st;
    *doc = sf_json_parse(text, len, err, sizeof err);
    free(text);
    if (!*doc) return fail(SF_E_FORMAT, "%s: %s", path, err);
    if (sf_json_root(*doc)->type != SF_JSON_OBJECT) {
        sf_json_free(*doc);
        *doc = NULL;
        return fail(SF_E_FORMAT, "%s: must be a JSON object", path);
    }
    return SF_OK;
}

/* The official checkpoint's parts other than the DiT, where present. */
static int fill_official(struct sf_model_dir *md)
{
    for (int c = SF_COMPONENT_VAE; c < SF_COMPONENT_COUNT; c++) {
        char p[SF_MODEL_PATH_MAX];
        if (join(p, md->path, components[c].official_path) != SF_OK) return SF_E_INVAL;
        if (sf_file_is_regular(p) || sf_file_is_dir(p)) memcpy(md->component[c], p, sizeof p);
    }
    return SF_OK;
}

int sf_model_dir_detect(const char *path, struct sf_model_dir *md)
{
    int st = SF_OK;
    struct sf_json_doc *doc = NULL;
    char p[SF_MODEL_PATH_MAX];
    memset(md, 0, sizeof *md);
    if (snprintf(md->path, sizeof md->path, "%s", path) >= (int)sizeof md->path)
        return fail(SF_E_INVAL, "%.64s...: path too long", path);
    size_t len = strlen(md->path);
    while (len > 1 && md->path[len - 1] == '/') md->path[--len] = 0;
    struct stat sb;
    if (stat(md->path, &sb) != 0)
        return fail(errno == ENOENT ? SF_E_NOTFOUND : SF_E_IO, "%s: %s; --model takes a model "
                    "directory or a .safetensors file (make one with `shotfarm mkmodel -o DIR`)",
                    md->path, strerror(errno));
    if (S_ISREG(sb.st_mode)) {
        if (sf_str_ends_with(md->path, ".safetensors") || sf_str_ends_with(md->path, ".safetensors.index.json")) {
            md->kind = SF_MODEL_FILE;
            memcpy(md->component[SF_COMPONENT_DIT], md->path, sizeof md->path);
            return SF_OK;
        }
        if (is_pickle(md->path)) return refuse_pickle(md->path);
        return fail(SF_E_FORMAT, "%s: not a .safetensors file or a model directory", md->path);
    }
    SF_TRY(st, join(p, md->path, "model_index.json"));
    if (sf_file_is_regular(p)) {
        md->kind = SF_MODEL_PIPELINE;
        SF_TRY(st, load_json(p, &doc));
        for (int c = 0; c < SF_COMPONENT_COUNT; c++) {
            char sub[SF_MODEL_PATH_MAX];
            SF_TRY(st, join(sub, md->path, components[c].pipeline_key));
            if (sf_file_is_dir(sub)) memcpy(md->component[c], sub, sizeof sub);
        }
        if (!md->component[SF_COMPONENT_DIT][0]) {
            st = fail(SF_E_FORMAT, "%s: no transformer/ directory, so no DiT; a diffusers Wan "
                      "pipeline has transformer/, vae/, text_encoder/ and tokenizer/", md->path);
            goto out;
        }
        goto out;
    }
    SF_TRY(st, join(p, md->path, "config.json"));
    if (!sf_file_is_regular(p)) {
        st = fail(SF_E_FORMAT, "%s: has neither model_index.json (a diffusers pipeline) nor "
                  "config.json (one component, or an official Wan2.1 checkpoint); make a model "
                  "with `shotfarm mkmodel -o DIR`", md->path);
        goto out;
    }
    SF_TRY(st, load_json(p, &doc));
    const struct sf_json *root = sf_json_root(doc);
    const char *cls = sf_json_get_str(root, "_class_name");
    /* transformers components (the text encoder) name their class in "architectures" */
    const struct sf_json *arch = sf_json_get(root, "architectures");
    if (!cls && arch && arch->type == SF_JSON_ARRAY && arch->n > 0 &&
        arch->items[0]->type == SF_JSON_STRING)
        cls = arch->items[0]->str;
    if ((cls && (strcmp(cls, "WanModel") == 0 || strcmp(cls, "VaceWanModel") == 0)) ||
        (!cls && sf_json_get(root, "dim") && sf_json_get(root, "num_heads"))) {
        md->kind = SF_MODEL_OFFICIAL;
        memcpy(md->component[SF_COMPONENT_DIT], md->path, sizeof md->path);
        SF_TRY(st, fill_official(md));
        goto out;
    }
    md->kind = SF_MODEL_COMPONENT;
    for (int c = 0; c < SF_COMPONENT_COUNT; c++) {
        if (components[c].diffusers_class && cls && strcmp(cls, components[c].diffusers_class) == 0) {
            memcpy(md->component[c], md->path, sizeof md->path);
            goto out;
        }
    }
    if ((cls && strcmp(cls, "WanVACETransformer3DModel") == 0) ||
        (!cls && sf_json_get(root, "num_attention_heads"))) {
        memcpy(md->component[SF_COMPONENT_DIT], md->path, sizeof md->path);
        goto out;
    }
    st = fail(SF_E_FORMAT, "%s: _class_name '%s' is not a Wan2.1 component shotfarm knows "
              "(WanTransformer3DModel, WanVACETransformer3DModel, WanModel, VaceWanModel, "
              "AutoencoderKLWan, UMT5EncoderModel)", p,
              cls ? cls : "(none)");
out:
    sf_json_free(doc);
    return st;
}

/* ---- the DiT ---------------------------------------------------------------------------- */

/* The weights of a DiT component directory (diffusers or official): the index if sharded, else
 * the single file; pickles are refused. */
static int find_weights(const char *dir, char *out)
{
    int st;
    static const char *const names[] = {"diffusion_pytorch_model.safetensors.index.json",
                                        "diffusion_pytorch_model.safetensors",
                                        "model.safetensors.index.json", "model.safetensors"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if ((st = join(out, dir, names[i])) != SF_OK) return st;
        if (sf_file_is_regular(out)) return SF_OK;
    }
    static const char *const pickles[] = {"diffusion_pytorch_model.bin", "pytorch_model.bin",
                                          "model.pth", "diffusion_pytorch_model.pth"};
    for (size_t i = 0; i < sizeof pickles / sizeof pickles[0]; i++) {
        if ((st = join(out, dir, pickles[i])) != SF_OK) return st;
        if (sf_file_is_regular(out)) return refuse_pickle(out);
    }
    out[0] = 0;
    return fail(SF_E_NOTFOUND, "%s: no diffusion_pytorch_model.safetensors (or its sharded "
                ".safetensors.index.json) in this DiT directory", dir);
}

int sf_dit_layout_detect(const struct sf_st *st, enum sf_layout *layout)
{
    if (sf_st_find(st, "condition_embedder.time_proj.weight")) *layout = SF_LAYOUT_DIFFUSERS;
    else if (sf_st_find(st, "time_projection.1.weight")) *layout = SF_LAYOUT_OFFICIAL;
    else
        return fail(SF_E_FORMAT, "%s: not a Wan2.1 DiT: neither 'time_projection.1.weight' "
                    "(official names) nor 'condition_embedder.time_proj.weight' (diffusers names) "
                    "is in it", sf_st_path(st));
    return SF_OK;
}

/* The tensor named by its official name in st, in layout l (NULL if absent). */
static const struct sf_st_tensor *get(const struct sf_st *st, enum sf_layout l, const char *official)
{
    char name[SF_DIT_NAME_MAX];
    if (sf_dit_name_convert(official, SF_LAYOUT_OFFICIAL, l, name, sizeof name)) return NULL;
    return sf_st_find(st, name);
}

/* shape[axis] of an official-named tensor, or a logged SF_E_FORMAT when absent or too small. */
static int dim_of(const struct sf_st *st, enum sf_layout l, const char *official, int axis,
                  int *out)
{
    const struct sf_st_tensor *t = get(st, l, official);
    char name[SF_DIT_NAME_MAX];
    if (!t || t->n_dims <= axis || t->shape[axis] > (1 << 30)) {
        sf_dit_name_convert(official, SF_LAYOUT_OFFICIAL, l, name, sizeof name);
        return fail(SF_E_FORMAT, "%s: tensor '%s' is missing or has too few dimensions, so the "
                    "DiT config cannot be read from the shapes", sf_st_path(st), name);
    }
    *out = (int)t->shape[axis];
    return SF_OK;
}

/* The parts of a config that tensor shapes do not show are compared through these. */
static int same_shapes(const struct sf_dit_config *a, const struct sf_dit_config *b)
{
    return a->dim == b->dim && a->ffn_dim == b->ffn_dim && a->freq_dim == b->freq_dim &&
           a->text_dim == b->text_dim && a->n_layers == b->n_layers && a->in_dim == b->in_dim &&
           a->out_dim == b->out_dim && !memcmp(a->patch, b->patch, sizeof a->patch) &&
           a->n_vace == b->n_vace && a->vace_in_dim == b->vace_in_dim &&
           !memcmp(a->vace_layers, b->vace_layers, (size_t)a->n_vace * sizeof a->vace_layers[0]);
}

int sf_dit_config_infer(const struct sf_st *st, enum sf_layout l, struct sf_dit_config *cfg)
{
    int rc = SF_OK, out_rows = 0;
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->name, sizeof cfg->name, "inferred");
    SF_TRY(rc, dim_of(st, l, "patch_embedding.weight", 0, &cfg->dim));
    SF_TRY(rc, dim_of(st, l, "patch_embedding.weight", 1, &cfg->in_dim));
    for (int i = 0; i < 3; i++) SF_TRY(rc, dim_of(st, l, "patch_embedding.weight", 2 + i, &cfg->patch[i]));
    SF_TRY(rc, dim_of(st, l, "text_embedding.0.weight", 1, &cfg->text_dim));
    SF_TRY(rc, dim_of(st, l, "time_embedding.0.weight", 1, &cfg->freq_dim));
    SF_TRY(rc, dim_of(st, l, "blocks.0.ffn.0.weight", 0, &cfg->ffn_dim));
    SF_TRY(rc, dim_of(st, l, "head.head.weight", 0, &out_rows));
    int p = cfg->patch[0] * cfg->patch[1] * cfg->patch[2];
    cfg->out_dim = p > 0 ? out_rows / p : 0;
    char name[SF_DIT_NAME_MAX];
    while (snprintf(name, sizeof name, "blocks.%d.modulation", cfg->n_layers) > 0 &&
           get(st, l, name))
        cfg->n_layers++;
    while (snprintf(name, sizeof name, "vace_blocks.%d.modulation", cfg->n_vace) > 0 &&
           get(st, l, name) && cfg->n_vace < SF_DIT_MAX_VACE)
        cfg->n_vace++;
    if (cfg->n_vace) {
        SF_TRY(rc, dim_of(st, l, "vace_patch_embedding.weight", 1, &cfg->vace_in_dim));
    }
    cfg->text_len = 512;
    cfg->eps = 1e-6f;
    /* Heads do not show in any shape: take them from a named config of the same shapes, else
     * Wan's head_dim of 128 (or the largest power of two dividing dim). */
    for (const char *const *n = sf_dit_config_names(); *n; n++) {
        struct sf_dit_config named;
        sf_dit_config_by_name(*n, &named);
        struct sf_dit_config with_layers = *cfg; /* the shapes cannot tell vace_layers */
        memcpy(with_layers.vace_layers, named.vace_layers, sizeof named.vace_layers);
        if (same_shapes(&named, &with_layers)) {
            memcpy(cfg->vace_layers, named.vace_layers, sizeof cfg->vace_layers);
            cfg->n_heads = named.n_heads;
            snprintf(cfg->name, sizeof cfg->name, "%s", named.name);
        }
    }
    if (cfg->n_vace && strcmp(cfg->name, "inferred") == 0)
        return fail(SF_E_FORMAT, "%s: a VACE DiT whose vace_layers the tensor shapes do not show "
                    "(%d VACE blocks, %d layers, no named config of these shapes): load it from "
                    "a directory whose config.json lists vace_layers", sf_st_path(st),
                    cfg->n_vace, cfg->n_layers);
    for (int hd = 128; !cfg->n_heads && hd >= 8; hd /= 2)
        if (cfg->dim % hd == 0) cfg->n_heads = cfg->dim / hd;
    if (!cfg->n_heads) cfg->n_heads = 1;
out:
    return rc;
}

/* Reads one integer key when present; a present key of the wrong type is an error. */
static int opt_int(const char *path, const struct sf_json *root, const char *key, int *out)
{
    const struct sf_json *v = sf_json_get(root, key);
    if (!v || v->type == SF_JSON_NULL) return SF_OK;
    if (v->type != SF_JSON_NUMBER || !v->is_int || v->integer <= 0 || v->integer > (1 << 30))
        return fail(SF_E_FORMAT, "%s:%d: %s must be a positive integer", path, v->line, key);
    *out = (int)v->integer;
    return SF_OK;
}

static int opt_patch(const char *path, const struct sf_json *root, const char *key, int patch[3])
{
    const struct sf_json *v = sf_json_get(root, key);
    if (!v || v->type == SF_JSON_NULL) return SF_OK;
    if (v->type != SF_JSON_ARRAY || v->n != 3)
        return fail(SF_E_FORMAT, "%s:%d: %s must be [frames, height, width], e.g. [1, 2, 2]", path,
                    v->line, key);
    for (int i = 0; i < 3; i++) {
        const struct sf_json *e = v->items[i];
        if (e->type != SF_JSON_NUMBER || !e->is_int || e->integer <= 0 || e->integer > 64)
            return fail(SF_E_FORMAT, "%s:%d: %s[%d] must be a small positive integer", path,
                        e->line, key, i);
        patch[i] = (int)e->integer;
    }
    return SF_OK;
}

/* A key whose value must be one thing for a t2v Wan DiT (or absent/null when allowed). */
static int require(const char *path, const struct sf_json *root, const char *key,
                   enum sf_json_type type, const char *want, int want_bool)
{
    const struct sf_json *v = sf_json_get(root, key);
    if (!v) return SF_OK;
    int ok;
    if (type == SF_JSON_NULL) ok = v->type == SF_JSON_NULL;
    else if (type == SF_JSON_BOOL) ok = v->type == SF_JSON_BOOL && v->boolean == want_bool;
    else ok = v->type == SF_JSON_STRING && strcmp(v->str, want) == 0;
    if (!ok)
        return fail(SF_E_UNSUPPORTED, "%s:%d: %s must be %s for a Wan2.1 text-to-video DiT "
                    "(image-to-video and other variants are not supported)", path, v->line, key,
                    want);
    return SF_OK;
}

/* vace_layers: a list of layer indices (checked for order by sf_dit_config_check). */
static int opt_layers(const char *path, const struct sf_json *root, const char *key,
                      struct sf_dit_config *cfg)
{
    const struct sf_json *v = sf_json_get(root, key);
    if (!v || v->type == SF_JSON_NULL) return SF_OK;
    if (v->type != SF_JSON_ARRAY || v->n < 1 || v->n > SF_DIT_MAX_VACE)
        return fail(SF_E_FORMAT, "%s:%d: %s must be a list of 1 to %d layer indices, e.g. [0, 2, "
                    "4]", path, v->line, key, SF_DIT_MAX_VACE);
    memset(cfg->vace_layers, 0, sizeof cfg->vace_layers); /* no class default left behind */
    for (size_t i = 0; i < v->n; i++) {
        const struct sf_json *e = v->items[i];
        if (e->type != SF_JSON_NUMBER || !e->is_int || e->integer < 0 || e->integer > (1 << 20))
            return fail(SF_E_FORMAT, "%s:%d: %s[%zu] must be a layer index (0 or more)", path,
                        e->line, key, i);
        cfg->vace_layers[i] = (int)e->integer;
    }
    cfg->n_vace = (int)v->n;
    return SF_OK;
}

/* The VACE part of a config: present for the VACE classes, an official model_type "vace" or a
 * vace_layers key. Missing keys take the class defaults, which differ: diffusers
 * WanVACETransformer3DModel [0, 5, ..., 35] and 96 channels, official VaceWanModel every second
 * layer and in_dim channels (so shotfarm's configs always write both). */
static int read_vace(const char *path, const struct sf_json *r, int official,
                     struct sf_dit_config *cfg)
{
    const char *cls = sf_json_get_str(r, "_class_name"), *type = sf_json_get_str(r, "model_type");
    int vace = (cls && (!strcmp(cls, "VaceWanModel") || !strcmp(cls, "WanVACETransformer3DModel"))) ||
               (type && !strcmp(type, "vace")) || sf_json_get(r, "vace_layers");
    int rc = SF_OK;
    if (!vace) return SF_OK;
    if (official) {
        cfg->vace_in_dim = cfg->in_dim;
        for (int l = 0; l < cfg->n_layers && cfg->n_vace < SF_DIT_MAX_VACE; l += 2)
            cfg->vace_layers[cfg->n_vace++] = l;
        SF_TRY(rc, opt_int(path, r, "vace_in_dim", &cfg->vace_in_dim));
    } else {
        static const int dflt[] = {0, 5, 10, 15, 20, 25, 30, 35};
        cfg->vace_in_dim = 96;
        cfg->n_vace = 8;
        memcpy(cfg->vace_layers, dflt, sizeof dflt);
        SF_TRY(rc, opt_int(path, r, "vace_in_channels", &cfg->vace_in_dim));
    }
    SF_TRY(rc, opt_layers(path, r, "vace_layers", cfg));
out:
    return rc;
}

/* config.json (diffusers WanTransformer3DModel / WanVACETransformer3DModel or official WanModel /
 * VaceWanModel keys) into *cfg. */
static int read_config(const char *path, const struct sf_st *st, enum sf_layout l,
                       struct sf_dit_config *cfg)
{
    int rc = SF_OK;
    struct sf_json_doc *doc = NULL;
    SF_TRY(rc, load_json(path, &doc));
    const struct sf_json *r = sf_json_root(doc);
    const char *cls = sf_json_get_str(r, "_class_name");
    int official = cls ? strcmp(cls, "WanModel") == 0 || strcmp(cls, "VaceWanModel") == 0
                       : sf_json_get(r, "dim") != NULL;
    const char *type = sf_json_get_str(r, "model_type");
    /* Defaults: the reference classes' constructor defaults. */
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->name, sizeof cfg->name, "custom");
    cfg->freq_dim = 256;
    cfg->text_dim = 4096;
    cfg->in_dim = cfg->out_dim = 16;
    cfg->patch[0] = 1;
    cfg->patch[1] = cfg->patch[2] = 2;
    cfg->text_len = 512;
    double eps = 1e-6;
    if (official) {
        cfg->dim = 2048, cfg->ffn_dim = 8192, cfg->n_heads = 16, cfg->n_layers = 32;
        SF_TRY(rc, require(path, r, "model_type", SF_JSON_STRING,
                           type && !strcmp(type, "vace") ? "vace" : "t2v", 0));
        SF_TRY(rc, opt_int(path, r, "dim", &cfg->dim));
        SF_TRY(rc, opt_int(path, r, "num_heads", &cfg->n_heads));
        SF_TRY(rc, opt_int(path, r, "in_dim", &cfg->in_dim));
        SF_TRY(rc, opt_int(path, r, "out_dim", &cfg->out_dim));
        SF_TRY(rc, opt_int(path, r, "text_len", &cfg->text_len));
        /* Not saved by WanModel (ignore_for_config): the weights say. */
        if (!sf_json_get(r, "text_dim")) SF_TRY(rc, dim_of(st, l, "text_embedding.0.weight", 1, &cfg->text_dim));
        if (!sf_json_get(r, "patch_size"))
            for (int i = 0; i < 3; i++)
                SF_TRY(rc, dim_of(st, l, "patch_embedding.weight", 2 + i, &cfg->patch[i]));
    } else {
        int head_dim = 128;
        cfg->n_heads = 40, cfg->ffn_dim = 13824, cfg->n_layers = 40;
        SF_TRY(rc, opt_int(path, r, "num_attention_heads", &cfg->n_heads));
        SF_TRY(rc, opt_int(path, r, "attention_head_dim", &head_dim));
        SF_TRY(rc, opt_int(path, r, "in_channels", &cfg->in_dim));
        SF_TRY(rc, opt_int(path, r, "out_channels", &cfg->out_dim));
        SF_TRY(rc, require(path, r, "qk_norm", SF_JSON_STRING, "rms_norm_across_heads", 0));
        SF_TRY(rc, require(path, r, "image_dim", SF_JSON_NULL, "null", 0));
        SF_TRY(rc, require(path, r, "added_kv_proj_dim", SF_JSON_NULL, "null", 0));
        cfg->dim = cfg->n_heads * head_dim;
    }
    SF_TRY(rc, require(path, r, "cross_attn_norm", SF_JSON_BOOL, "true", 1));
    SF_TRY(rc, opt_int(path, r, "ffn_dim", &cfg->ffn_dim));
    SF_TRY(rc, opt_int(path, r, "freq_dim", &cfg->freq_dim));
    SF_TRY(rc, opt_int(path, r, "text_dim", &cfg->text_dim));
    SF_TRY(rc, opt_int(path, r, "num_layers", &cfg->n_layers));
    SF_TRY(rc, opt_patch(path, r, "patch_size", cfg->patch));
    SF_TRY(rc, read_vace(path, r, official, cfg));
    const struct sf_json *e = sf_json_get(r, "eps");
    if (e) {
        if (e->type != SF_JSON_NUMBER || !(e->number > 0 && e->number < 1)) {
            rc = fail(SF_E_FORMAT, "%s:%d: eps must be a small positive number", path, e->line);
            goto out;
        }
        eps = e->number;
    }
    cfg->eps = (float)eps;
    char why[512];
    if (sf_dit_config_check(cfg, why, sizeof why)) {
        rc = fail(SF_E_FORMAT, "%s: %s", path, why);
        goto out;
    }
    /* Name it after a named config when it is one. */
    for (const char *const *n = sf_dit_config_names(); *n; n++) {
        struct sf_dit_config named;
        sf_dit_config_by_name(*n, &named);
        if (same_shapes(&named, cfg) && named.n_heads == cfg->n_heads)
            snprintf(cfg->name, sizeof cfg->name, "%s", named.name);
    }
out:
    sf_json_free(doc);
    return rc;
}

/* Every expected tensor present with its shape and a float dtype, and nothing else. */
static int check_weights(const struct sf_dit_weights *w)
{
    struct sf_dit_tensor *exp = NULL;
    size_t n = 0;
    int rc = SF_OK;
    const struct sf_dit_config *c = &w->cfg;
    char cfgdesc[SF_MODEL_PATH_MAX + 640];
    char vl[512];
    snprintf(cfgdesc, sizeof cfgdesc, "%s (dim %d, ffn_dim %d, text_dim %d, freq_dim %d, %d layers%s%s)",
             w->config_source, c->dim, c->ffn_dim, c->text_dim, c->freq_dim, c->n_layers,
             c->n_vace ? ", vace_layers " : "", c->n_vace ? sf_dit_config_vace_str(c, vl, sizeof vl) : "");
    if (sf_dit_tensors(c, w->layout, &exp, &n)) return SF_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct sf_st_tensor *t = sf_st_find(w->st, exp[i].name);
        char want[96], got[96];
        sf_st_shape_str(exp[i].n_dims, exp[i].shape, want, sizeof want);
        if (!t) {
            rc = fail(SF_E_FORMAT, "%s: tensor '%s' is missing; %s expects it with shape %s: the "
                      "weights and the config do not belong together", w->weights_path,
                      exp[i].name, cfgdesc, want);
            goto out;
        }
        sf_st_shape_str(t->n_dims, t->shape, got, sizeof got);
        if (t->n_dims != exp[i].n_dims ||
            memcmp(t->shape, exp[i].shape, (size_t)t->n_dims * sizeof t->shape[0])) {
            rc = fail(SF_E_FORMAT, "%s: tensor '%s' has shape %s but %s expects %s: fix the config "
                      "or use the weights written with it", t->file, t->name, got, cfgdesc, want);
            goto out;
        }
        if (!sf_dtype_is_weight_float(t->dtype)) {
            rc = fail(SF_E_FORMAT, "%s: tensor '%s' has dtype %s; DiT weights must be F32, BF16 or "
                      "F16: re-save the model in bf16", t->file, t->name,
                      sf_dtype_st_name(t->dtype));
            goto out;
        }
    }
    if (sf_st_count(w->st) != n) {
        for (size_t i = 0; i < sf_st_count(w->st); i++) {
            const struct sf_st_tensor *t = sf_st_at(w->st, i);
            char tmp[SF_DIT_NAME_MAX];
            int known = sf_dit_name_convert(t->name, w->layout, w->layout, tmp, sizeof tmp) == 0;
            size_t j = 0;
            while (known && j < n && strcmp(exp[j].name, t->name)) j++;
            if (!known || j == n) {
                rc = fail(SF_E_FORMAT, "%s: tensor '%s' is not part of a Wan2.1 DiT with %s "
                          "(image-to-video and other variants are not supported; VACE tensors "
                          "need vace_layers in the config)",
                          t->file, t->name, cfgdesc);
                goto out;
            }
        }
    }
out:
    free(exp);
    return rc;
}

int sf_model_dir_open_dit(const struct sf_model_dir *md, struct sf_dit_weights *w)
{
    int rc = SF_OK;
    const char *where = md->component[SF_COMPONENT_DIT];
    memset(w, 0, sizeof *w);
    if (!where[0])
        return fail(SF_E_NOTFOUND, "%s: this %s has no DiT", md->path,
                    sf_model_kind_name(md->kind));
    if (md->kind == SF_MODEL_FILE) {
        snprintf(w->weights_path, sizeof w->weights_path, "%s", where);
    } else {
        SF_TRY(rc, find_weights(where, w->weights_path));
    }
    SF_TRY(rc, sf_st_open(w->weights_path, &w->st));
    SF_TRY(rc, sf_dit_layout_detect(w->st, &w->layout));
    if (md->kind == SF_MODEL_FILE) {
        snprintf(w->config_source, sizeof w->config_source, "the tensor shapes");
        SF_TRY(rc, sf_dit_config_infer(w->st, w->layout, &w->cfg));
    } else {
        SF_TRY(rc, join(w->config_source, where, "config.json"));
        SF_TRY(rc, read_config(w->config_source, w->st, w->layout, &w->cfg));
    }
    SF_TRY(rc, check_weights(w));
out:
    if (rc != SF_OK) sf_dit_weights_fini(w);
    return rc;
}

void sf_dit_weights_fini(struct sf_dit_weights *w)
{
    sf_st_close(w->st);
    memset(w, 0, sizeof *w);
}

const struct sf_st_tensor *sf_dit_weights_get(const struct sf_dit_weights *w, const char *official)
{
    return get(w->st, w->layout, official);
}
