/* Model directories and DiT names: the official <-> diffusers map against both reference
 * state_dicts; real diffusers and official directories (single and sharded) detected, configs
 * read and checked; mkmodel's two layouts holding the same numbers; and every refusal — missing
 * tensor, config that does not match, wrong dtype, extra tensor, pickle, unknown directory,
 * image-to-video config — as one line naming the file and tensor. */
#define _POSIX_C_SOURCE 200809L
#include "capture.h"
#include "sf_config.h"
#include "sf_dit_names.h"
#include "sf_log.h"
#include "sf_model_dir.h"
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

static char src[4096];

/* ---- the name map against tests/fixtures/names ------------------------------------------- */

struct entry {
    char name[256], shape[256];
};

static size_t read_list(const char *path, struct entry *e, size_t max)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    char line[256];
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        sf_test_failures++;
        return 0;
    }
    while (n < max && fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = 0;
        tab[strcspn(tab + 1, "\n") + 1] = 0;
        snprintf(e[n].name, sizeof e[n].name, "%s", line);
        snprintf(e[n].shape, sizeof e[n].shape, "%s", tab + 1);
        n++;
    }
    fclose(f);
    return n;
}

static void check_map(const char *config)
{
    static struct entry off[2048], dif[2048];
    char p[4300];
    snprintf(p, sizeof p, "%s/tests/fixtures/names/%s.official.txt", src, config);
    size_t no = read_list(p, off, 2048);
    snprintf(p, sizeof p, "%s/tests/fixtures/names/%s.diffusers.txt", src, config);
    size_t nd = read_list(p, dif, 2048);
    CHECK_EQ_INT(no, nd);
    CHECK(no > 0);
    for (size_t i = 0; i < no; i++) {
        char d[SF_DIT_NAME_MAX], back[SF_DIT_NAME_MAX];
        if (sf_dit_name_convert(off[i].name, SF_LAYOUT_OFFICIAL, SF_LAYOUT_DIFFUSERS, d, sizeof d)) {
            fprintf(stderr, "%s: no diffusers name for official '%s'\n", config, off[i].name);
            sf_test_failures++;
            continue;
        }
        size_t j = 0;
        while (j < nd && strcmp(dif[j].name, d)) j++;
        if (j == nd || strcmp(dif[j].shape, off[i].shape)) {
            fprintf(stderr, "%s: official '%s' [%s] maps to '%s', which the diffusers list %s\n",
                    config, off[i].name, off[i].shape, d, j == nd ? "lacks" : "shapes differently");
            sf_test_failures++;
        }
        CHECK_EQ_INT(sf_dit_name_convert(d, SF_LAYOUT_DIFFUSERS, SF_LAYOUT_OFFICIAL, back, sizeof back), 0);
        CHECK_STR(back, off[i].name);
    }
    char junk[SF_DIT_NAME_MAX];
    CHECK_EQ_INT(sf_dit_name_convert("blocks.0.self_attn.norm_q.bias", SF_LAYOUT_OFFICIAL, SF_LAYOUT_DIFFUSERS, junk, sizeof junk), -1);
    CHECK_EQ_INT(sf_dit_name_convert("blocks.x.modulation", SF_LAYOUT_OFFICIAL, SF_LAYOUT_DIFFUSERS, junk, sizeof junk), -1);
    CHECK_EQ_INT(sf_dit_name_convert("blocks.0.attn2.add_k_proj.weight", SF_LAYOUT_DIFFUSERS, SF_LAYOUT_OFFICIAL, junk, sizeof junk), -1);
    CHECK_EQ_INT(sf_dit_name_convert("head.head.weight", SF_LAYOUT_DIFFUSERS, SF_LAYOUT_OFFICIAL, junk, sizeof junk), -1);
}

/* ---- real directories written by the reference ------------------------------------------- */

static void check_real(const char *dir, enum sf_model_kind kind, enum sf_layout layout, size_t files)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/tests/fixtures/safetensors/%s", src, dir);
    struct sf_model_dir md;
    struct sf_dit_weights w;
    CHECK_EQ_INT(sf_model_dir_detect(p, &md), SF_OK);
    CHECK_EQ_INT(md.kind, kind);
    CHECK_EQ_INT(sf_model_dir_open_dit(&md, &w), SF_OK);
    if (!w.st) return;
    CHECK_EQ_INT(w.layout, layout);
    CHECK_EQ_INT(sf_st_n_files(w.st), files);
    CHECK_EQ_INT(w.cfg.dim, 32);
    CHECK_EQ_INT(w.cfg.n_heads, 2);
    CHECK_EQ_INT(w.cfg.n_layers, 2);
    CHECK_EQ_INT(w.cfg.ffn_dim, 64);
    CHECK_EQ_INT(w.cfg.text_dim, 24);
    CHECK_EQ_INT(w.cfg.freq_dim, 32);
    CHECK_EQ_INT(w.cfg.patch[2], 2);
    CHECK(fabsf(w.cfg.eps - 1e-6f) < 1e-12f);
    const struct sf_st_tensor *t = sf_dit_weights_get(&w, "blocks.1.cross_attn.o.weight");
    CHECK(t && t->shape[0] == 32 && t->shape[1] == 32);
    t = sf_dit_weights_get(&w, "head.modulation");
    CHECK(t && t->n_dims == 3 && t->shape[1] == 2);
    CHECK(sf_dit_weights_get(&w, "blocks.2.modulation") == NULL);
    sf_dit_weights_fini(&w);
}

/* ---- mkmodel: both layouts hold the same numbers; the init scales ------------------------- */

static void check_mkmodel(void)
{
    const char *sf = getenv("SF_SHOTFARM");
    if (!sf) return;
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf mk_d mk_o && %s mkmodel --seed 5 -o mk_d 2>/dev/null && "
             "%s mkmodel --seed 5 --layout official --dtype fp32 -o mk_o 2>/dev/null", sf, sf);
    CHECK_EQ_INT(system(cmd), 0);
    struct sf_model_dir a, b;
    struct sf_dit_weights wa, wb;
    CHECK_EQ_INT(sf_model_dir_detect("mk_d", &a), SF_OK);
    CHECK_EQ_INT(a.kind, SF_MODEL_PIPELINE);
    CHECK_EQ_INT(sf_model_dir_detect("mk_o", &b), SF_OK);
    CHECK_EQ_INT(b.kind, SF_MODEL_OFFICIAL);
    CHECK_EQ_INT(sf_model_dir_open_dit(&a, &wa), SF_OK);
    CHECK_EQ_INT(sf_model_dir_open_dit(&b, &wb), SF_OK);
    if (!wa.st || !wb.st) return;
    CHECK_STR(wa.cfg.name, "tiny");
    CHECK_STR(wb.cfg.name, "tiny");
    CHECK_EQ_INT(wb.cfg.n_heads, 4);
    CHECK_STR(sf_st_metadata(wa.st, "shotfarm_mkmodel_seed"), "5");
    struct sf_dit_tensor *list;
    size_t n;
    CHECK_EQ_INT(sf_dit_tensors(&wa.cfg, SF_LAYOUT_OFFICIAL, &list, &n), 0);
    static float x[1 << 16], y[1 << 16], yb[1 << 16];
    for (size_t i = 0; i < n; i++) {
        const struct sf_st_tensor *ta = sf_dit_weights_get(&wa, list[i].official);
        const struct sf_st_tensor *tb = sf_dit_weights_get(&wb, list[i].official);
        CHECK(ta && tb && ta->dtype == SF_DTYPE_BF16 && tb->dtype == SF_DTYPE_F32);
        if (!ta || !tb || ta->n_elems > (1 << 16)) continue;
        size_t ne = ta->n_elems;
        CHECK_EQ_INT(sf_st_read_all(ta, SF_DTYPE_F32, x, sizeof x), SF_OK);
        CHECK_EQ_INT(sf_st_read_all(tb, SF_DTYPE_F32, y, sizeof y), SF_OK);
        /* bf16 of the fp32 file's value is exactly the bf16 file's value */
        for (size_t k = 0; k < ne; k++) yb[k] = sf_bf16_to_f32(sf_f32_to_bf16(y[k]));
        sf_test_close_f32(list[i].official, x, yb, ne, 0.0);
        double s = 0, s2 = 0;
        for (size_t k = 0; k < ne; k++) s += y[k], s2 += (double)y[k] * y[k];
        double mean = s / (double)ne, sd = sqrt(s2 / (double)ne - mean * mean);
        double want_sd = list[i].init == SF_DIT_INIT_WEIGHT ? 0.02
                       : list[i].init == SF_DIT_INIT_BIAS ? 0.002
                       : list[i].init == SF_DIT_INIT_MODULATION ? 1.0 / sqrt(128.0) : 0.0;
        double want_mean = list[i].init == SF_DIT_INIT_ONES ? 1.0 : 0.0;
        /* 5 standard errors of the estimates: never flaky over ~150 tensors, still tight */
        double tol_mean = 5 * want_sd / sqrt((double)ne) + 1e-9;
        double tol_sd = 5 * want_sd / sqrt(2.0 * (double)ne) + 1e-9;
        if (fabs(sd - want_sd) > tol_sd || fabs(mean - want_mean) > tol_mean) {
            fprintf(stderr, "%s: mean %g sd %g, want %g and %g\n", list[i].official, mean, sd,
                    want_mean, want_sd);
            sf_test_failures++;
        }
    }
    free(list);
    sf_dit_weights_fini(&wa);
    sf_dit_weights_fini(&wb);
}

/* ---- refusals ----------------------------------------------------------------------------- */

enum tamper { NONE, DROP, SHAPE_CONFIG, DTYPE, EXTRA, I2V };

static int zero_fill(void *ctx, size_t i, uint64_t off, void *buf, size_t n)
{
    (void)ctx, (void)i, (void)off;
    memset(buf, 0, n);
    return SF_OK;
}

/* A tiny diffusers component directory, tampered with. */
static void make_dir(const char *dir, enum tamper how)
{
    struct sf_dit_config c;
    struct sf_dit_tensor *t;
    size_t n;
    sf_dit_config_by_name("tiny", &c);
    mkdir(dir, 0777);
    CHECK_EQ_INT(sf_dit_tensors(&c, SF_LAYOUT_DIFFUSERS, &t, &n), 0);
    struct sf_st_desc *d = calloc(n + 1, sizeof *d);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (how == DROP && strcmp(t[i].name, "blocks.1.attn1.to_q.weight") == 0) continue;
        d[k].name = t[i].name;
        d[k].dtype = SF_DTYPE_BF16;
        d[k].n_dims = t[i].n_dims;
        memcpy(d[k].shape, t[i].shape, sizeof t[i].shape);
        if (how == DTYPE && strcmp(t[i].name, "blocks.0.attn2.norm_k.weight") == 0)
            d[k].dtype = SF_DTYPE_I32;
        k++;
    }
    if (how == EXTRA) {
        d[k].name = "blocks.0.attn2.add_k_proj.weight";
        d[k].dtype = SF_DTYPE_BF16;
        d[k].n_dims = 2;
        d[k].shape[0] = d[k].shape[1] = 128;
        k++;
    }
    char p[512];
    snprintf(p, sizeof p, "%s/diffusion_pytorch_model.safetensors", dir);
    CHECK_EQ_INT(sf_st_write(p, d, k, NULL, 0, zero_fill, NULL), SF_OK);
    snprintf(p, sizeof p, "%s/config.json", dir);
    FILE *f = fopen(p, "w");
    fprintf(f, "{\"_class_name\": \"WanTransformer3DModel\", \"num_attention_heads\": 4, "
               "\"attention_head_dim\": 32, \"ffn_dim\": %d, \"num_layers\": 2, \"text_dim\": 64,"
               " \"freq_dim\": 256, \"image_dim\": %s}\n",
            how == SHAPE_CONFIG ? 512 : 256, how == I2V ? "1280" : "null");
    fclose(f);
    free(d);
    free(t);
}

static void refused(const char *what, const char *path, int want, const char *const *needles)
{
    struct sf_model_dir md;
    struct sf_dit_weights w;
    char msg[8192];
    FILE *tmp;
    int saved = capture_begin(&tmp);
    int rc = sf_model_dir_detect(path, &md);
    if (rc == SF_OK) rc = sf_model_dir_open_dit(&md, &w);
    capture_end(tmp, saved, msg, sizeof msg);
    if (rc != want) fprintf(stderr, "%s: status %s, want %s\n", what, sf_status_name(rc), sf_status_name(want));
    CHECK_EQ_INT(rc, want);
    CHECK(one_line_with(what, msg, needles));
    if (rc == SF_OK) sf_dit_weights_fini(&w);
}

static void check_refusals(void)
{
    make_dir("m_ok", NONE);
    struct sf_model_dir md;
    struct sf_dit_weights w;
    CHECK_EQ_INT(sf_model_dir_detect("m_ok", &md), SF_OK);
    CHECK_EQ_INT(sf_model_dir_open_dit(&md, &w), SF_OK);
    if (w.st) sf_dit_weights_fini(&w);
    /* The bare file: config inferred from the shapes, heads from the named config. */
    CHECK_EQ_INT(sf_model_dir_detect("m_ok/diffusion_pytorch_model.safetensors", &md), SF_OK);
    CHECK_EQ_INT(md.kind, SF_MODEL_FILE);
    CHECK_EQ_INT(sf_model_dir_open_dit(&md, &w), SF_OK);
    CHECK_STR(w.cfg.name, "tiny");
    CHECK_EQ_INT(w.cfg.n_heads, 4);
    if (w.st) sf_dit_weights_fini(&w);

    make_dir("m_drop", DROP);
    refused("missing tensor", "m_drop", SF_E_FORMAT,
            NEEDLES("m_drop/diffusion_pytorch_model.safetensors", "'blocks.1.attn1.to_q.weight' is missing", "[128, 128]"));
    make_dir("m_cfg", SHAPE_CONFIG);
    refused("config mismatch", "m_cfg", SF_E_FORMAT,
            NEEDLES("m_cfg/diffusion_pytorch_model.safetensors", "'blocks.0.ffn.net.0.proj.weight'",
                    "has shape [256, 128]", "m_cfg/config.json", "expects [512, 128]"));
    make_dir("m_dtype", DTYPE);
    refused("wrong dtype", "m_dtype", SF_E_FORMAT,
            NEEDLES("m_dtype/diffusion_pytorch_model.safetensors", "'blocks.0.attn2.norm_k.weight'", "dtype I32"));
    make_dir("m_extra", EXTRA);
    refused("extra tensor", "m_extra", SF_E_FORMAT,
            NEEDLES("m_extra/diffusion_pytorch_model.safetensors", "'blocks.0.attn2.add_k_proj.weight'", "not part of"));
    make_dir("m_i2v", I2V);
    refused("i2v", "m_i2v", SF_E_UNSUPPORTED, NEEDLES("m_i2v/config.json", "image_dim", "image-to-video"));

    FILE *f = fopen("model.pth", "wb");
    fwrite("PK\x03\x04junk", 1, 8, f);
    fclose(f);
    refused("pickle file", "model.pth", SF_E_UNSUPPORTED,
            NEEDLES("model.pth", "PyTorch pickle", "save_file(torch.load('model.pth'", "model.pth.safetensors"));
    mkdir("m_bin", 0777);
    f = fopen("m_bin/config.json", "w");
    fputs("{\"_class_name\": \"WanTransformer3DModel\"}", f);
    fclose(f);
    f = fopen("m_bin/diffusion_pytorch_model.bin", "wb");
    fputs("\x80\x02junk", f);
    fclose(f);
    refused("pickle in dir", "m_bin", SF_E_UNSUPPORTED,
            NEEDLES("m_bin/diffusion_pytorch_model.bin", "PyTorch pickle", "convert"));
    mkdir("m_empty", 0777);
    refused("empty dir", "m_empty", SF_E_FORMAT, NEEDLES("m_empty", "neither model_index.json", "mkmodel"));
    refused("no such path", "m_nope", SF_E_NOTFOUND, NEEDLES("m_nope", "No such file"));
    char p[4300];
    snprintf(p, sizeof p, "%s/tests/fixtures/safetensors/dtypes.safetensors", src);
    refused("not a DiT", p, SF_E_FORMAT, NEEDLES("dtypes.safetensors", "not a Wan2.1 DiT"));
    system("rm -rf m_ok m_drop m_cfg m_dtype m_extra m_i2v m_bin m_empty model.pth mk_d mk_o");
}

int main(void)
{
    sf_log_init();
    const char *s = getenv("SF_SOURCE_DIR");
    if (!s) return SF_TEST_SKIP;
    snprintf(src, sizeof src, "%s", s);
    check_map("tiny");
    check_map("wan2.1-t2v-1.3b");
    check_map("wan2.1-t2v-14b");
    check_real("micro-diffusers", SF_MODEL_COMPONENT, SF_LAYOUT_DIFFUSERS, 1);
    check_real("micro-diffusers-sharded", SF_MODEL_COMPONENT, SF_LAYOUT_DIFFUSERS, 3);
    check_real("micro-official", SF_MODEL_OFFICIAL, SF_LAYOUT_OFFICIAL, 1);
    check_mkmodel();
    check_refusals();
    return sf_test_result("st_model");
}
