/* vae_load.c — finds a model's VAE on disk, maps its safetensors and hands every weight, checked
 * against the config, to vae_create (vae.c). Called through sf_vae_load by the forward command,
 * the pipeline and the benchmarks.
 * Accepted: a diffusers pipeline dir (vae/), a vae/ component dir (config.json +
 * diffusion_pytorch_model.safetensors, or sharded), an official Wan2.1 dir with
 * Wan2.1_VAE.safetensors (the released config; the .pth is refused with the conversion to run).
 * The name layout is detected from the file (diffusers "decoder.conv_in.weight" or official
 * "decoder.conv1.weight"). The subtle thing: views point into the mapping, so the mapping is
 * handed to the VAE and closed by sf_vae_destroy. */
#include "sf_vae.h"
#include "vae_arch.h"

#include "sf_json.h"
#include "sf_log.h"
#include "sf_safetensors.h"
#include "sf_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct getter {
    const struct sf_st *st;
    int official;
    size_t used;
};

static int get_weight(void *vctx, const struct sf_vae_tensor *want, struct sf_tensor *out)
{
    struct getter *g = vctx;
    const char *name = g->official ? want->official : want->name;
    const struct sf_st_tensor *t = sf_st_find(g->st, name);
    char a[96], b[96];
    if (!t) {
        SF_ERROR("vae", "%s: tensor %s is missing (%s layout); the file is not a Wan2.1 VAE of "
                 "this config", sf_st_path(g->st), name, g->official ? "official" : "diffusers");
        return SF_E_NOTFOUND;
    }
    int same = t->n_dims == want->ndim;
    for (int i = 0; same && i < want->ndim; i++) same = t->shape[i] == want->shape[i];
    if (!same) {
        sf_st_shape_str(t->n_dims, t->shape, a, sizeof a);
        sf_st_shape_str(want->ndim, want->shape, b, sizeof b);
        SF_ERROR("vae", "%s: tensor %s has shape %s, the config needs %s (check vae/config.json "
                 "base_dim/dim_mult/z_dim)", t->file, name, a, b);
        return SF_E_FORMAT;
    }
    if (t->dtype != SF_DTYPE_F32 && t->dtype != SF_DTYPE_BF16 && t->dtype != SF_DTYPE_F16) {
        SF_ERROR("vae", "%s: tensor %s has dtype %s; the VAE reads F32, BF16 or F16", t->file,
                 name, sf_dtype_name(t->dtype));
        return SF_E_UNSUPPORTED;
    }
    sf_tensor_view(out, t->dtype, t->n_dims, t->shape, t->data);
    g->used++;
    return SF_OK;
}

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static void close_st(void *st) { sf_st_close(st); }

/* out = a + b; 0, or -1 when it does not fit (too long a path: treated as absent) */
static int join(char *out, size_t n, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la + lb + 1 > n) {
        out[0] = 0;
        return -1;
    }
    memcpy(out, a, la);
    memcpy(out + la, b, lb + 1);
    return 0;
}

/* 1 when the config.json at path names class AutoencoderKLWan (or no class at all); the DiT's
 * config.json of an official checkpoint dir sits where a component's would. */
static int is_vae_config(const char *path)
{
    char text[65536], err[128];
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    struct sf_json_doc *doc = sf_json_parse(text, n, err, sizeof err);
    if (!doc) return 1; /* malformed: let sf_vae_config_read say why */
    const char *cls = sf_json_get_str(sf_json_root(doc), "_class_name");
    int yes = !cls || !strcmp(cls, "AutoencoderKLWan");
    sf_json_free(doc);
    return yes;
}

/* Finds config.json and the weights of the VAE under dir. */
static int locate(const char *dir, char *cfg_path, char *w_path, size_t n, int *official)
{
    static const char *const comp[] = {"/vae", ""};
    char base[4096];
    *official = 0;
    if (is_file(dir)) { /* a bare file: official names, released config */
        snprintf(w_path, n, "%s", dir);
        cfg_path[0] = 0;
        return SF_OK;
    }
    for (int i = 0; i < 2; i++) {
        join(base, sizeof base, dir, comp[i]);
        join(cfg_path, n, base, "/config.json");
        if (!is_file(cfg_path) || (i == 1 && !is_vae_config(cfg_path))) continue;
        join(w_path, n, base, "/diffusion_pytorch_model.safetensors");
        if (is_file(w_path)) return SF_OK;
        join(w_path, n, base, "/diffusion_pytorch_model.safetensors.index.json");
        if (is_file(w_path)) return SF_OK;
        join(w_path, n, base, "/diffusion_pytorch_model.bin");
        if (is_file(w_path)) {
            SF_ERROR("vae", "%s: a PyTorch pickle; save the VAE with safe_serialization=True "
                     "(diffusers save_pretrained) to get diffusion_pytorch_model.safetensors",
                     w_path);
            return SF_E_UNSUPPORTED;
        }
        if (i == 0) {
            SF_ERROR("vae", "%s: no diffusion_pytorch_model.safetensors beside config.json", base);
            return SF_E_NOTFOUND;
        }
    }
    cfg_path[0] = 0;
    *official = 1;
    join(w_path, n, dir, "/Wan2.1_VAE.safetensors");
    if (is_file(w_path)) return SF_OK;
    join(w_path, n, dir, "/Wan2.1_VAE.pth");
    if (is_file(w_path)) {
        SF_ERROR("vae", "%s: a PyTorch pickle; convert it once to Wan2.1_VAE.safetensors "
                 "(python -c \"import torch, safetensors.torch as s; s.save_file(torch.load("
                 "'Wan2.1_VAE.pth', weights_only=True), 'Wan2.1_VAE.safetensors')\")", w_path);
        return SF_E_UNSUPPORTED;
    }
    SF_ERROR("vae", "%s: no VAE here (looked for vae/config.json, config.json and "
             "Wan2.1_VAE.safetensors)", dir);
    return SF_E_NOTFOUND;
}

int sf_vae_load(const char *dir, struct sf_vae **out)
{
    char cfg_path[4096], w_path[4096];
    struct sf_vae_config cfg;
    struct sf_st *st = NULL;
    struct sf_vae *v = NULL;
    int official, rc;
    *out = NULL;
    SF_TRY(rc, locate(dir, cfg_path, w_path, sizeof w_path, &official));
    if (cfg_path[0]) SF_TRY(rc, sf_vae_config_read(cfg_path, &cfg));
    else sf_vae_config_default(&cfg, 96);
    SF_TRY(rc, sf_st_open(w_path, &st));
    /* the layout is what the file says, whatever directory it came in */
    if (sf_st_find(st, "decoder.conv_in.weight")) official = 0;
    else if (sf_st_find(st, "decoder.conv1.weight")) official = 1;
    if (official && !cfg_path[0]) { /* released config, base width from the shapes */
        const struct sf_st_tensor *t = sf_st_find(st, "encoder.conv1.weight");
        if (t && t->n_dims == 5) sf_vae_config_default(&cfg, (int)t->shape[0]);
    }
    struct getter g = {st, official, 0};
    SF_TRY(rc, vae_create(&cfg, get_weight, &g, &v));
    if (g.used != sf_st_count(st)) {
        /* name the first tensor that is not part of the VAE (error path only) */
        int n = sf_vae_tensor_list(&cfg, NULL, 0);
        struct sf_vae_tensor *all = malloc((size_t)n * sizeof *all);
        if (all) sf_vae_tensor_list(&cfg, all, n);
        for (size_t i = 0; all && i < sf_st_count(st); i++) {
            const char *nm = sf_st_at(st, i)->name;
            int known = 0;
            for (int j = 0; j < n && !known; j++)
                known = !strcmp(official ? all[j].official : all[j].name, nm);
            if (!known) {
                SF_ERROR("vae", "%s: tensor %s is not part of a Wan2.1 VAE with this config",
                         w_path, nm);
                break;
            }
        }
        free(all);
        rc = SF_E_FORMAT;
        goto out;
    }
    vae_set_files(v, st, close_st);
    st = NULL;
    SF_DEBUG("vae", "%s: %s layout, base width %d, %.1f MB of weights", w_path,
            official ? "official" : "diffusers", cfg.base_dim, sf_vae_weight_bytes(v) / 1e6);
    *out = v;
    v = NULL;
out:
    sf_vae_destroy(v);
    sf_st_close(st);
    return rc;
}
