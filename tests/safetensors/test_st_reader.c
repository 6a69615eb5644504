/* Reading real files written by the reference (safetensors' save_file and diffusers'
 * save_pretrained, single and sharded), value by value against the values the script recorded;
 * and the writer: round trip, fill callback, block reads with conversion, atomic replacement. */
#define _POSIX_C_SOURCE 200809L
#include "sf_file.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char fixtures[4096];

static struct sf_json_doc *load_json(const char *name)
{
    char path[4200], *text = NULL, err[256];
    size_t len;
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    if (sf_file_read_all(path, 1 << 20, &text, &len) != SF_OK) return NULL;
    struct sf_json_doc *d = sf_json_parse(text, len, err, sizeof err);
    free(text);
    return d;
}

/* dtypes.safetensors: every dtype read to itself (and floats to f32) equals the recorded values. */
static void check_dtypes(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/dtypes.safetensors", fixtures);
    struct sf_st *st = NULL;
    struct sf_json_doc *d = load_json("dtypes.values.json");
    CHECK(d != NULL);
    CHECK_EQ_INT(sf_st_open(path, &st), SF_OK);
    if (!st || !d) return;
    CHECK_STR(sf_st_metadata(st, "format"), "pt");
    const struct sf_json *root = sf_json_root(d);
    CHECK_EQ_INT(sf_st_count(st), root->n);
    for (size_t k = 0; k < root->n; k++) {
        const struct sf_st_tensor *t = sf_st_find(st, root->keys[k]);
        CHECK(t != NULL);
        if (!t) continue;
        const struct sf_json *shape = sf_json_get(root->items[k], "shape");
        const struct sf_json *vals = sf_json_get(root->items[k], "values");
        CHECK_EQ_INT(t->n_dims, shape->n);
        for (size_t i = 0; i < shape->n && (int)i < t->n_dims; i++)
            CHECK_EQ_INT(t->shape[i], shape->items[i]->integer);
        CHECK_EQ_INT(t->n_elems, vals->n);
        double got[16];
        for (size_t i = 0; i < vals->n && i < 16; i++) {
            const unsigned char *p = (const unsigned char *)t->data;
            switch (t->dtype) {
            case SF_DTYPE_F64: { double v; memcpy(&v, p + 8 * i, 8); got[i] = v; break; }
            case SF_DTYPE_I64: { int64_t v; memcpy(&v, p + 8 * i, 8); got[i] = (double)v; break; }
            case SF_DTYPE_I32: { int32_t v; memcpy(&v, p + 4 * i, 4); got[i] = v; break; }
            case SF_DTYPE_U8: got[i] = p[i]; break;
            default: {
                float f[16];
                CHECK_EQ_INT(sf_st_read_all(t, SF_DTYPE_F32, f, sizeof f), SF_OK);
                got[i] = f[i];
            }
            }
            if (got[i] != vals->items[i]->number) {
                fprintf(stderr, "%s[%zu]: got %.17g want %.17g\n", t->name, i, got[i],
                        vals->items[i]->number);
                sf_test_failures++;
            }
        }
    }
    sf_st_close(st);
    sf_json_free(d);
}

/* The micro model: recorded leading values, and the sharded copy equal byte for byte. */
static void check_micro(const char *dir, const char *file, const char *values)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s/%s", fixtures, dir, file);
    struct sf_st *st = NULL;
    struct sf_json_doc *d = load_json(values);
    CHECK_EQ_INT(sf_st_open(path, &st), SF_OK);
    CHECK(d != NULL);
    if (!st || !d) return;
    const struct sf_json *root = sf_json_root(d);
    for (size_t k = 0; k < root->n; k++) {
        const struct sf_st_tensor *t = sf_st_find(st, root->keys[k]);
        CHECK(t != NULL && t->dtype == SF_DTYPE_BF16);
        if (!t) continue;
        const struct sf_json *v = root->items[k];
        float got[8], want[8];
        size_t n = v->n < 8 ? v->n : 8;
        int64_t cols = (int64_t)(t->n_elems / (uint64_t)(t->n_dims ? t->shape[0] : 1));
        /* leading values: first row's columns, or the first rows of a 1-D tensor */
        if (cols >= (int64_t)n) CHECK_EQ_INT(sf_st_read(t, SF_DTYPE_F32, 0, 1, 0, (int64_t)n, got, sizeof got), SF_OK);
        else CHECK_EQ_INT(sf_st_read(t, SF_DTYPE_F32, 0, (int64_t)n, 0, 1, got, sizeof got), SF_OK);
        for (size_t i = 0; i < n; i++) want[i] = (float)v->items[i]->number;
        sf_test_close_f32(t->name, got, want, n, 0.0);
    }
    sf_json_free(d);
    if (strcmp(dir, "micro-diffusers") == 0) {
        struct sf_st *sh = NULL;
        snprintf(path, sizeof path, "%s/micro-diffusers-sharded/"
                 "diffusion_pytorch_model.safetensors.index.json", fixtures);
        CHECK_EQ_INT(sf_st_open(path, &sh), SF_OK);
        if (sh) {
            CHECK_EQ_INT(sf_st_n_files(sh), 3);
            CHECK_EQ_INT(sf_st_count(sh), sf_st_count(st));
            CHECK_EQ_INT(sf_st_total_bytes(sh), sf_st_total_bytes(st));
            CHECK(sf_st_metadata(sh, "total_size") == NULL); /* a number there, not a string */
            for (size_t i = 0; i < sf_st_count(st); i++) {
                const struct sf_st_tensor *a = sf_st_at(st, i), *b = sf_st_find(sh, a->name);
                CHECK(b && b->n_bytes == a->n_bytes && memcmp(a->data, b->data, a->n_bytes) == 0);
            }
            sf_st_close(sh);
        }
    }
    sf_st_close(st);
}

static int fill_ramp(void *ctx, size_t i, uint64_t offset, void *buf, size_t n)
{
    (void)ctx;
    float *f = buf;
    for (size_t k = 0; k < n / 4; k++) f[k] = (float)(offset / 4 + k) + (float)i * 1000.0f;
    return SF_OK;
}

static int fill_fail(void *ctx, size_t i, uint64_t offset, void *buf, size_t n)
{
    (void)ctx, (void)i, (void)offset, (void)buf, (void)n;
    return SF_E_IO;
}

static int tmp_files_left(void)
{
    DIR *d = opendir(".");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, "st_reader_rt.safetensors.tmp")) n++;
    if (d) closedir(d);
    return n;
}

static void check_writer(void)
{
    const char *path = "st_reader_rt.safetensors";
    float m[5 * 6];
    uint16_t h[3] = {0x3f80, 0xc000, 0x0000}; /* bf16 1, -2, 0 */
    for (int i = 0; i < 30; i++) m[i] = (float)i * 0.5f - 3.0f;
    struct sf_st_desc d[] = {
        {.name = "m", .dtype = SF_DTYPE_F32, .n_dims = 2, .shape = {5, 6}, .data = m},
        {.name = "h", .dtype = SF_DTYPE_BF16, .n_dims = 1, .shape = {3}, .data = h},
        /* 2.5M floats: more than one fill chunk */
        {.name = "big", .dtype = SF_DTYPE_F32, .n_dims = 2, .shape = {2500, 1000}, .data = NULL},
        {.name = "s", .dtype = SF_DTYPE_F32, .n_dims = 0, .data = m},
    };
    const char *meta[] = {"format", "pt", "note", "round \"trip\""};
    CHECK_EQ_INT(sf_st_write(path, d, 4, meta, 2, fill_ramp, NULL), SF_OK);
    CHECK_EQ_INT(tmp_files_left(), 0);
    struct sf_st *st = NULL;
    CHECK_EQ_INT(sf_st_open(path, &st), SF_OK);
    if (!st) return;
    CHECK_STR(sf_st_metadata(st, "note"), "round \"trip\"");
    const struct sf_st_tensor *t = sf_st_find(st, "m");
    CHECK(t && memcmp(t->data, m, sizeof m) == 0);
    /* rows 1..3, columns 2..5 of m, as bf16 then back */
    uint16_t blk16[12];
    float blk[12], want[12];
    CHECK_EQ_INT(sf_st_read(t, SF_DTYPE_BF16, 1, 3, 2, 4, blk16, sizeof blk16), SF_OK);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++) {
            want[r * 4 + c] = m[(1 + r) * 6 + 2 + c];
            blk[r * 4 + c] = sf_bf16_to_f32(blk16[r * 4 + c]);
        }
    sf_test_close_f32("m block via bf16", blk, want, 12, 0.0); /* multiples of 0.5: exact */
    float hv[3], hw[3] = {1, -2, 0};
    CHECK_EQ_INT(sf_st_read(sf_st_find(st, "h"), SF_DTYPE_F32, 1, 2, 0, 1, hv, sizeof hv), SF_OK);
    sf_test_close_f32("h rows 1..2", hv, hw + 1, 2, 0.0);
    uint16_t f16[3];
    CHECK_EQ_INT(sf_st_read_all(sf_st_find(st, "h"), SF_DTYPE_F16, f16, sizeof f16), SF_OK);
    CHECK_EQ_INT(f16[0], 0x3c00);
    CHECK_EQ_INT(f16[1], 0xc000);
    const struct sf_st_tensor *b = sf_st_find(st, "big");
    float tail[3];
    CHECK_EQ_INT(sf_st_read(b, SF_DTYPE_F32, 2499, 1, 997, 3, tail, sizeof tail), SF_OK);
    float tw[3] = {2499997 + 2000, 2499998 + 2000, 2499999 + 2000};
    sf_test_close_f32("big tail", tail, tw, 3, 0.0);
    float s;
    CHECK_EQ_INT(sf_st_read_all(sf_st_find(st, "s"), SF_DTYPE_F32, &s, sizeof s), SF_OK);
    CHECK(s == -3.0f);
    sf_st_close(st);

    /* A failing fill and a duplicate name leave the old file untouched and no temp behind. */
    CHECK_EQ_INT(sf_st_write(path, d, 3, NULL, 0, fill_fail, NULL), SF_E_IO);
    struct sf_st_desc dup[] = {d[0], d[0]};
    CHECK_EQ_INT(sf_st_write(path, dup, 2, NULL, 0, NULL, NULL), SF_E_INVAL);
    CHECK_EQ_INT(tmp_files_left(), 0);
    CHECK_EQ_INT(sf_st_open(path, &st), SF_OK);
    if (st) CHECK_EQ_INT(sf_st_count(st), 4);
    sf_st_close(st);
    /* The disk fills up mid-file (io/file.c's fault injection): same promise. */
    setenv("SF_FAULT_WRITE", "4", 1);
    CHECK_EQ_INT(sf_st_write(path, d, 3, NULL, 0, fill_ramp, NULL), SF_E_NOSPC);
    unsetenv("SF_FAULT_WRITE");
    CHECK_EQ_INT(tmp_files_left(), 0);
    CHECK_EQ_INT(sf_st_open(path, &st), SF_OK);
    if (st) CHECK_EQ_INT(sf_st_count(st), 4);
    sf_st_close(st);
    CHECK_EQ_INT(sf_st_write("no/such/dir/x.safetensors", d, 1, NULL, 0, NULL, NULL), SF_E_NOTFOUND);
    remove(path);
}

int main(void)
{
    sf_log_init();
    const char *src = getenv("SF_SOURCE_DIR");
    if (!src) return SF_TEST_SKIP;
    snprintf(fixtures, sizeof fixtures, "%s/tests/fixtures/safetensors", src);
    check_dtypes();
    check_micro("micro-diffusers", "diffusion_pytorch_model.safetensors", "micro-diffusers.values.json");
    check_micro("micro-official", "diffusion_pytorch_model.safetensors", "micro-official.values.json");
    check_writer();
    return sf_test_result("st_reader");
}
