/* vae_names.c — the Wan-VAE's configuration (defaults, diffusers config.json) and its
 * architecture as a module list with both tensor-name layouts: diffusers AutoencoderKLWan and
 * the official Wan2.1 checkpoint (WAN-FACTS § 4, map of dif:scripts/convert_wan_to_diffusers.py
 * :646-846). Called by vae.c (loading), `mkmodel --component vae` and the name tests.
 * The subtle thing: the official layout numbers the encoder's and decoder's blocks in one flat
 * list each (residual blocks and resamplers counted together), diffusers nests the decoder's
 * into up_blocks.i.{resnets.j, upsamplers.0}; the flat counter below is what maps one to the
 * other. */
#include "vae_arch.h"

#include "sf_json.h"
#include "sf_log.h"
#include "sf_status.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float wan_mean[16] = {-0.7571f, -0.7089f, -0.9113f, 0.1075f, -0.1745f, 0.9653f,
                                   -0.1517f, 1.5508f,  0.4134f,  -0.0715f, 0.5517f, -0.3632f,
                                   -0.1922f, -0.9497f, 0.2503f,  -0.2921f};
static const float wan_std[16] = {2.8184f, 1.4541f, 2.3275f, 2.6558f, 1.2196f, 1.7708f,
                                  2.6052f, 2.0743f, 3.2687f, 2.1526f, 2.8652f, 1.5579f,
                                  1.6382f, 1.1253f, 2.8251f, 1.9160f};

void sf_vae_config_default(struct sf_vae_config *cfg, int base_dim)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->z_dim = 16;
    cfg->base_dim = base_dim;
    cfg->decoder_base_dim = base_dim;
    cfg->n_stages = 4;
    const int mult[4] = {1, 2, 4, 4};
    memcpy(cfg->dim_mult, mult, sizeof mult);
    cfg->num_res_blocks = 2;
    cfg->temporal_down[0] = 0;
    cfg->temporal_down[1] = 1;
    cfg->temporal_down[2] = 1;
    memcpy(cfg->latents_mean, wan_mean, sizeof wan_mean);
    memcpy(cfg->latents_std, wan_std, sizeof wan_std);
}

int sf_vae_config_check(const struct sf_vae_config *c, char *why, size_t n)
{
    if (c->z_dim < 1 || c->z_dim > SF_VAE_MAX_Z) {
        snprintf(why, n, "z_dim %d out of range 1..%d", c->z_dim, SF_VAE_MAX_Z);
        return -1;
    }
    if (c->base_dim < 1 || c->decoder_base_dim < 1 || c->base_dim > 4096) {
        snprintf(why, n, "base_dim %d / decoder_base_dim %d must be >= 1", c->base_dim,
                 c->decoder_base_dim);
        return -1;
    }
    if (c->n_stages < 2 || c->n_stages > SF_VAE_MAX_STAGES) {
        snprintf(why, n, "dim_mult has %d entries (2..%d)", c->n_stages, SF_VAE_MAX_STAGES);
        return -1;
    }
    for (int i = 0; i < c->n_stages; i++)
        if (c->dim_mult[i] < 1 || c->dim_mult[i] > 64) {
            snprintf(why, n, "dim_mult[%d] = %d out of range 1..64", i, c->dim_mult[i]);
            return -1;
        }
    /* the decoder halves the input width of stages 1.. (Wan 2.1): the widths must be even */
    for (int i = 0; i < c->n_stages; i++)
        if ((c->decoder_base_dim * c->dim_mult[i]) % 2) {
            snprintf(why, n, "decoder width %d at stage %d is odd", c->decoder_base_dim *
                     c->dim_mult[i], i);
            return -1;
        }
    if (c->num_res_blocks < 1 || c->num_res_blocks > 8) {
        snprintf(why, n, "num_res_blocks %d out of range 1..8", c->num_res_blocks);
        return -1;
    }
    int tdown = 0;
    for (int i = 0; i < c->n_stages - 1; i++) tdown += c->temporal_down[i] != 0;
    if (tdown != 2) {
        snprintf(why, n, "temperal_downsample has %d temporal stages; the 4x temporal stride of "
                 "Wan needs 2", tdown);
        return -1;
    }
    for (int i = 0; i < c->z_dim; i++)
        if (!(c->latents_std[i] > 0)) {
            snprintf(why, n, "latents_std[%d] = %g must be > 0", i, c->latents_std[i]);
            return -1;
        }
    return 0;
}

static int json_int_array(const struct sf_json *a, int *out, int cap, int *n)
{
    if (!a || a->type != SF_JSON_ARRAY || (int)a->n > cap) return -1;
    for (size_t i = 0; i < a->n; i++) {
        const struct sf_json *v = a->items[i];
        if (v->type == SF_JSON_BOOL) out[i] = v->boolean;
        else if (v->type == SF_JSON_NUMBER && v->is_int) out[i] = (int)v->integer;
        else return -1;
    }
    *n = (int)a->n;
    return 0;
}

static int json_float_array(const struct sf_json *a, float *out, int want)
{
    if (!a || a->type != SF_JSON_ARRAY || (int)a->n != want) return -1;
    for (size_t i = 0; i < a->n; i++) {
        if (a->items[i]->type != SF_JSON_NUMBER) return -1;
        out[i] = (float)a->items[i]->number;
    }
    return 0;
}

int sf_vae_config_read(const char *path, struct sf_vae_config *cfg)
{
    int st = SF_OK;
    char *text = NULL, err[256];
    struct sf_json_doc *doc = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        SF_ERROR("vae", "%s: cannot open: %s", path, strerror(errno));
        return errno == ENOENT ? SF_E_NOTFOUND : SF_E_IO;
    }
    size_t cap = 1 << 16, len = 0;
    text = malloc(cap);
    if (text) len = fread(text, 1, cap, f);
    fclose(f);
    if (!text) return SF_E_NOMEM;
    if (len == cap) {
        SF_ERROR("vae", "%s: larger than 64 KiB, not a VAE config.json", path);
        st = SF_E_FORMAT;
        goto out;
    }
    doc = sf_json_parse(text, len, err, sizeof err);
    if (!doc) {
        SF_ERROR("vae", "%s: %s", path, err);
        st = SF_E_FORMAT;
        goto out;
    }
    const struct sf_json *r = sf_json_root(doc);
    const char *cls = sf_json_get_str(r, "_class_name");
    if (cls && strcmp(cls, "AutoencoderKLWan") != 0) {
        SF_ERROR("vae", "%s: _class_name is '%s', expected AutoencoderKLWan", path, cls);
        st = SF_E_UNSUPPORTED;
        goto out;
    }
    sf_vae_config_default(cfg, 96);
    int64_t v;
    const char *field = NULL;
    if (!sf_json_get_int(r, "base_dim", &v)) cfg->base_dim = cfg->decoder_base_dim = (int)v;
    if (!sf_json_get_int(r, "decoder_base_dim", &v)) cfg->decoder_base_dim = (int)v;
    if (!sf_json_get_int(r, "z_dim", &v)) cfg->z_dim = (int)v;
    if (!sf_json_get_int(r, "num_res_blocks", &v)) cfg->num_res_blocks = (int)v;
    const struct sf_json *a;
    int n;
    if ((a = sf_json_get(r, "dim_mult")) &&
        json_int_array(a, cfg->dim_mult, SF_VAE_MAX_STAGES, &cfg->n_stages))
        field = "dim_mult (a list of up to 6 integers)";
    if (!field && (a = sf_json_get(r, "temperal_downsample")) &&
        (json_int_array(a, cfg->temporal_down, SF_VAE_MAX_STAGES, &n) || n != cfg->n_stages - 1))
        field = "temperal_downsample (len(dim_mult) - 1 booleans)";
    if (!field && (a = sf_json_get(r, "attn_scales")) && (a->type != SF_JSON_ARRAY || a->n))
        field = "attn_scales (must be [] as in Wan 2.1)";
    if (!field && (a = sf_json_get(r, "is_residual")) && a->type == SF_JSON_BOOL && a->boolean)
        field = "is_residual (the Wan 2.2 VAE is not supported)";
    if (!field && (a = sf_json_get(r, "patch_size")) && a->type != SF_JSON_NULL)
        field = "patch_size (must be null as in Wan 2.1)";
    if (!field && ((!sf_json_get_int(r, "in_channels", &v) && v != 3) ||
                   (!sf_json_get_int(r, "out_channels", &v) && v != 3)))
        field = "in_channels/out_channels (must be 3)";
    if (!field && (a = sf_json_get(r, "latents_mean")) &&
        json_float_array(a, cfg->latents_mean, cfg->z_dim))
        field = "latents_mean (z_dim numbers)";
    if (!field && (a = sf_json_get(r, "latents_std")) &&
        json_float_array(a, cfg->latents_std, cfg->z_dim))
        field = "latents_std (z_dim numbers)";
    if (field) {
        SF_ERROR("vae", "%s: field %s", path, field);
        st = SF_E_UNSUPPORTED;
        goto out;
    }
    if (sf_vae_config_check(cfg, err, sizeof err)) {
        SF_ERROR("vae", "%s: %s", path, err);
        st = SF_E_FORMAT;
    }
out:
    sf_json_free(doc);
    free(text);
    return st;
}

static struct vae_mod *add(struct vae_mod *out, int *n, enum vae_mod_kind kind, int cin,
                           int cout, const char *dname, const char *oname)
{
    SF_ASSERT(*n < VAE_MAX_MODS);
    struct vae_mod *m = &out[(*n)++];
    m->kind = kind;
    m->cin = cin;
    m->cout = cout;
    snprintf(m->dname, sizeof m->dname, "%s", dname);
    snprintf(m->oname, sizeof m->oname, "%s", oname);
    return m;
}

static void add_middle(struct vae_mod *out, int *n, const char *side, int c)
{
    char d[64], o[64];
    snprintf(d, sizeof d, "%s.mid_block.resnets.0", side);
    snprintf(o, sizeof o, "%s.middle.0", side);
    add(out, n, VM_RES, c, c, d, o);
    snprintf(d, sizeof d, "%s.mid_block.attentions.0", side);
    snprintf(o, sizeof o, "%s.middle.1", side);
    add(out, n, VM_ATTN, c, c, d, o);
    snprintf(d, sizeof d, "%s.mid_block.resnets.1", side);
    snprintf(o, sizeof o, "%s.middle.2", side);
    add(out, n, VM_RES, c, c, d, o);
}

int vae_arch_modules(const struct sf_vae_config *c, int side, struct vae_mod *out)
{
    int n = 0, S = c->n_stages;
    char d[64], o[64];
    if (side == 0) {
        int dims[SF_VAE_MAX_STAGES + 1];
        dims[0] = c->base_dim;
        for (int i = 0; i < S; i++) dims[i + 1] = c->base_dim * c->dim_mult[i];
        add(out, &n, VM_CONV, 3, dims[0], "encoder.conv_in", "encoder.conv1");
        int flat = 0;
        for (int i = 0; i < S; i++) {
            int cin = dims[i], cout = dims[i + 1];
            for (int j = 0; j < c->num_res_blocks; j++, flat++) {
                snprintf(d, sizeof d, "encoder.down_blocks.%d", flat);
                snprintf(o, sizeof o, "encoder.downsamples.%d", flat);
                add(out, &n, VM_RES, cin, cout, d, o);
                cin = cout;
            }
            if (i != S - 1) {
                snprintf(d, sizeof d, "encoder.down_blocks.%d", flat);
                snprintf(o, sizeof o, "encoder.downsamples.%d", flat);
                add(out, &n, c->temporal_down[i] ? VM_DOWN3D : VM_DOWN2D, cout, cout, d, o);
                flat++;
            }
        }
        add_middle(out, &n, "encoder", dims[S]);
        add(out, &n, VM_HEAD, dims[S], 2 * c->z_dim, "encoder", "encoder.head");
        add(out, &n, VM_POINT, 2 * c->z_dim, 2 * c->z_dim, "quant_conv", "conv1");
        return n;
    }
    int dims[SF_VAE_MAX_STAGES + 1], b = c->decoder_base_dim;
    dims[0] = b * c->dim_mult[S - 1];
    for (int i = 0; i < S; i++) dims[i + 1] = b * c->dim_mult[S - 1 - i];
    add(out, &n, VM_POINT, c->z_dim, c->z_dim, "post_quant_conv", "conv2");
    add(out, &n, VM_CONV, c->z_dim, dims[0], "decoder.conv_in", "decoder.conv1");
    add_middle(out, &n, "decoder", dims[0]);
    int flat = 0;
    for (int i = 0; i < S; i++) {
        int cin = i > 0 ? dims[i] / 2 : dims[i], cout = dims[i + 1];
        for (int j = 0; j <= c->num_res_blocks; j++, flat++) {
            snprintf(d, sizeof d, "decoder.up_blocks.%d.resnets.%d", i, j);
            snprintf(o, sizeof o, "decoder.upsamples.%d", flat);
            add(out, &n, VM_RES, cin, cout, d, o);
            cin = cout;
        }
        if (i != S - 1) {
            snprintf(d, sizeof d, "decoder.up_blocks.%d.upsamplers.0", i);
            snprintf(o, sizeof o, "decoder.upsamples.%d", flat);
            int t = c->temporal_down[S - 2 - i]; /* temperal_upsample = reversed */
            add(out, &n, t ? VM_UP3D : VM_UP2D, cout, cout / 2, d, o);
            flat++;
        }
    }
    add(out, &n, VM_HEAD, dims[S], 3, "decoder", "decoder.head");
    return n;
}

static void shape5(int *ndim, int64_t s[5], int nd, int64_t a, int64_t b, int64_t c, int64_t d,
                   int64_t e)
{
    *ndim = nd;
    s[0] = a, s[1] = b, s[2] = c, s[3] = d, s[4] = e;
}

int vae_mod_tensor(const struct vae_mod *m, int k, const char **dsuf, const char **osuf,
                   int *ndim, int64_t s[5])
{
    int ci = m->cin, co = m->cout;
    switch (m->kind) {
    case VM_CONV:
    case VM_POINT: {
        int kk = m->kind == VM_CONV ? 3 : 1;
        if (k == 0) { *dsuf = *osuf = ".weight"; shape5(ndim, s, 5, co, ci, kk, kk, kk); return 1; }
        if (k == 1) { *dsuf = *osuf = ".bias"; shape5(ndim, s, 1, co, 0, 0, 0, 0); return 1; }
        return 0;
    }
    case VM_RES: {
        static const char *d[] = {".norm1.gamma", ".conv1.weight", ".conv1.bias", ".norm2.gamma",
                                  ".conv2.weight", ".conv2.bias", ".conv_shortcut.weight",
                                  ".conv_shortcut.bias"};
        static const char *o[] = {".residual.0.gamma", ".residual.2.weight", ".residual.2.bias",
                                  ".residual.3.gamma", ".residual.6.weight", ".residual.6.bias",
                                  ".shortcut.weight", ".shortcut.bias"};
        if (k >= (ci != co ? 8 : 6)) return 0;
        *dsuf = d[k], *osuf = o[k];
        switch (k) {
        case 0: shape5(ndim, s, 4, ci, 1, 1, 1, 0); break;
        case 1: shape5(ndim, s, 5, co, ci, 3, 3, 3); break;
        case 3: shape5(ndim, s, 4, co, 1, 1, 1, 0); break;
        case 4: shape5(ndim, s, 5, co, co, 3, 3, 3); break;
        case 6: shape5(ndim, s, 5, co, ci, 1, 1, 1); break;
        default: shape5(ndim, s, 1, co, 0, 0, 0, 0); break;
        }
        return 1;
    }
    case VM_ATTN: {
        static const char *d[] = {".norm.gamma", ".to_qkv.weight", ".to_qkv.bias", ".proj.weight",
                                  ".proj.bias"};
        if (k >= 5) return 0;
        *dsuf = *osuf = d[k];
        switch (k) {
        case 0: shape5(ndim, s, 3, ci, 1, 1, 0, 0); break;
        case 1: shape5(ndim, s, 4, 3 * ci, ci, 1, 1, 0); break;
        case 2: shape5(ndim, s, 1, 3 * ci, 0, 0, 0, 0); break;
        case 3: shape5(ndim, s, 4, ci, ci, 1, 1, 0); break;
        default: shape5(ndim, s, 1, ci, 0, 0, 0, 0); break;
        }
        return 1;
    }
    case VM_UP2D:
    case VM_UP3D:
    case VM_DOWN2D:
    case VM_DOWN3D: {
        int three = m->kind == VM_UP3D || m->kind == VM_DOWN3D, up = m->kind <= VM_UP3D;
        if (k >= (three ? 4 : 2)) return 0;
        static const char *d[] = {".resample.1.weight", ".resample.1.bias", ".time_conv.weight",
                                  ".time_conv.bias"};
        *dsuf = *osuf = d[k];
        int tco = up ? 2 * ci : ci;
        switch (k) {
        case 0: shape5(ndim, s, 4, co, ci, 3, 3, 0); break;
        case 1: shape5(ndim, s, 1, co, 0, 0, 0, 0); break;
        case 2: shape5(ndim, s, 5, tco, ci, 3, 1, 1); break;
        default: shape5(ndim, s, 1, tco, 0, 0, 0, 0); break;
        }
        return 1;
    }
    case VM_HEAD: {
        static const char *d[] = {".norm_out.gamma", ".conv_out.weight", ".conv_out.bias"};
        static const char *o[] = {".0.gamma", ".2.weight", ".2.bias"};
        if (k >= 3) return 0;
        *dsuf = d[k], *osuf = o[k];
        if (k == 0) shape5(ndim, s, 4, ci, 1, 1, 1, 0);
        else if (k == 1) shape5(ndim, s, 5, co, ci, 3, 3, 3);
        else shape5(ndim, s, 1, co, 0, 0, 0, 0);
        return 1;
    }
    }
    return 0;
}

int sf_vae_tensor_list(const struct sf_vae_config *cfg, struct sf_vae_tensor *out, int cap)
{
    struct vae_mod mods[VAE_MAX_MODS];
    int count = 0;
    for (int side = 0; side < 2; side++) {
        int n = vae_arch_modules(cfg, side, mods);
        for (int i = 0; i < n; i++) {
            const char *ds, *os;
            int nd;
            int64_t s[5];
            for (int k = 0; vae_mod_tensor(&mods[i], k, &ds, &os, &nd, s); k++, count++) {
                if (count >= cap || !out) continue;
                struct sf_vae_tensor *t = &out[count];
                snprintf(t->name, sizeof t->name, "%s%s", mods[i].dname, ds);
                snprintf(t->official, sizeof t->official, "%s%s", mods[i].oname, os);
                t->ndim = nd;
                memcpy(t->shape, s, sizeof t->shape);
            }
        }
    }
    return count;
}

/* ---- random weights ---------------------------------------------------------------------------- */

static uint32_t fnv1a32(const char *s)
{
    uint32_t h = 0x811C9DC5u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x01000193u;
    return h;
}

static uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

void sf_vae_fill(const struct sf_vae_tensor *t, uint64_t seed, uint64_t first, float *out,
                 size_t n)
{
    uint32_t key = fnv1a32(t->name) ^ (uint32_t)(seed * 0x85EBCA6Bu) ^
                   (uint32_t)((seed >> 32) * 0xC2B2AE35u);
    size_t len = strlen(t->name);
    int gamma = len >= 5 && !strcmp(t->name + len - 5, "gamma");
    double scale = 0.05, offset = 0;
    if (gamma) {
        scale = 0.25, offset = 1.0;
    } else if (t->ndim >= 2) {
        int64_t fan_in = 1;
        for (int i = 1; i < t->ndim; i++) fan_in *= t->shape[i];
        scale = 1.0 / sqrt((double)fan_in);
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t h = fmix32(key + (uint32_t)(first + i) * 0x9E3779B9u);
        double u = (double)(h >> 8) / 16777216.0;
        out[i] = (float)((2 * u - 1) * scale + offset);
    }
}
