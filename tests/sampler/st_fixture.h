/* st_fixture.h — reads fp32 tensors of a golden fixture (a safetensors file written by
 * a scripts/golden script) for the sampler tests. Test-only and deliberately small: the whole file in
 * memory, the header parsed with sf_json, F32 tensors only. Replace with io/sf_safetensors.h
 * once that reader is in this branch. */
#ifndef ST_FIXTURE_H
#define ST_FIXTURE_H

#include "sf_json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct st_fixture {
    unsigned char *buf;
    size_t len, data_off;
    struct sf_json_doc *doc;
};

/* Returns 0 on success; prints why and returns -1 otherwise. */
static int st_fixture_open(struct st_fixture *fx, const char *path)
{
    memset(fx, 0, sizeof *fx);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open (run scripts/golden/sampler_synthetic.py?)\n", path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    fx->buf = malloc((size_t)n);
    if (!fx->buf || fread(fx->buf, 1, (size_t)n, f) != (size_t)n || n < 8) {
        fclose(f);
        fprintf(stderr, "%s: cannot read\n", path);
        return -1;
    }
    fclose(f);
    fx->len = (size_t)n;
    uint64_t h = 0;
    for (int i = 0; i < 8; i++) h |= (uint64_t)fx->buf[i] << (8 * i);
    char err[256];
    fx->doc = h <= fx->len - 8 ? sf_json_parse((char *)fx->buf + 8, h, err, sizeof err) : NULL;
    if (!fx->doc) {
        fprintf(stderr, "%s: bad header\n", path);
        return -1;
    }
    fx->data_off = 8 + h;
    return 0;
}

static void st_fixture_close(struct st_fixture *fx)
{
    sf_json_free(fx->doc);
    free(fx->buf);
}

/* Pointer to the F32 data of `name` (unaligned access is fine on x86, but we copy anyway in
 * callers that need alignment) and its element count; NULL when missing or not F32. */
static const float *st_fixture_f32(const struct st_fixture *fx, const char *name, size_t *count)
{
    const struct sf_json *e = sf_json_get(sf_json_root(fx->doc), name);
    const char *dt = sf_json_get_str(e, "dtype");
    const struct sf_json *o = sf_json_get(e, "data_offsets");
    if (!e || !dt || strcmp(dt, "F32") != 0 || !o || o->n != 2) return NULL;
    size_t a = (size_t)o->items[0]->integer, b = (size_t)o->items[1]->integer;
    if (b < a || fx->data_off + b > fx->len || (fx->data_off + a) % 4) return NULL;
    *count = (b - a) / 4;
    return (const float *)(fx->buf + fx->data_off + a);
}

/* Calls fn(key, user) for every tensor name (not __metadata__). */
static void st_fixture_each(const struct st_fixture *fx, void (*fn)(const char *, void *),
                            void *user)
{
    const struct sf_json *r = sf_json_root(fx->doc);
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->keys[i], "__metadata__") != 0) fn(r->keys[i], user);
}

#endif
