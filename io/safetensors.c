/* safetensors.c — the safetensors reader and writer (sf_safetensors.h).
 * Called by node/model_dir.c (model weights), the inspect and mkmodel commands, and the forward
 * command's inputs and outputs.
 * Subtle: the header is untrusted. Every number is range-checked before it is used in
 * arithmetic (offsets come as int64 from the JSON reader and are compared against the file size
 * before any pointer is formed), and tensors are validated in offset order so that an overlap
 * names both tensors. Data pointers are not aligned: reads go through memcpy. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* madvise(MADV_DONTNEED): posix_madvise's DONTNEED is a no-op on Linux */
#include "sf_safetensors.h"
#include "sf_file.h"
#include "sf_errors.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MOD "safetensors"
#define FIX_CORRUPT "the file is damaged or was not written by a safetensors writer: re-download or re-save it"

struct st_file {
    char *path;
    const unsigned char *map; /* whole file */
    size_t map_len;
    int mapped;               /* 1: munmap on close; 0: borrowed bytes */
    struct sf_json_doc *doc;  /* owns tensor names and metadata strings */
};

struct sf_st {
    char *path;
    struct st_file *files;
    size_t n_files;
    struct sf_st_tensor *t; /* sorted by name */
    size_t n;
    struct sf_json_doc *index_doc; /* sharded: the index (its "metadata") */
    const struct sf_json *meta;    /* __metadata__ or the index's metadata object */
};

uint64_t sf_st_shape_elems(int n_dims, const int64_t *shape)
{
    uint64_t n = 1;
    for (int i = 0; i < n_dims; i++) {
        if (shape[i] < 0) return 0;
        if (shape[i] && n > (UINT64_C(1) << 62) / (uint64_t)shape[i]) return 0;
        n *= (uint64_t)shape[i];
    }
    return n;
}

void sf_st_shape_str(int n_dims, const int64_t *shape, char *buf, size_t n)
{
    size_t k = 0;
    if (n == 0) return;
    buf[0] = 0;
    k += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < n_dims && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

/* ---- header validation ------------------------------------------------------------------ */

static int bad(int st, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(int st, const char *what, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    SF_ERROR(MOD, "%s: %s", what, msg);
    return st;
}

/* Safetensors dtype spelling -> ours; -1 unknown, -2 a real safetensors dtype we do not read. */
static int parse_dtype(const char *s, enum sf_dtype *out)
{
    for (int i = 0; i < SF_DTYPE_COUNT; i++) {
        if (strcmp(s, sf_dtype_st_name((enum sf_dtype)i)) == 0) {
            *out = (enum sf_dtype)i;
            return 0;
        }
    }
    static const char *const known[] = {"BOOL", "I8", "U16", "I16", "U32", "U64", "F8_E4M3",
                                        "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(s, known[i]) == 0) return -2;
    return -1;
}

static int cmp_offset(const void *a, const void *b)
{
    const struct sf_st_tensor *x = *(const struct sf_st_tensor *const *)a;
    const struct sf_st_tensor *y = *(const struct sf_st_tensor *const *)b;
    const unsigned char *px = x->data, *py = y->data;
    if (px != py) return px < py ? -1 : 1;
    return x->n_bytes < y->n_bytes ? -1 : x->n_bytes > y->n_bytes;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct sf_st_tensor *)a)->name, ((const struct sf_st_tensor *)b)->name);
}

/* Parses one tensor entry into *t (data set from the offsets, which are range-checked). */
static int parse_entry(const char *what, const char *name, const struct sf_json *e,
                       const unsigned char *data, uint64_t data_len, struct sf_st_tensor *t)
{
    if (e->type != SF_JSON_OBJECT)
        return bad(SF_E_FORMAT, what, "tensor '%s': header entry is a JSON %s, not an object; %s",
                   name, sf_json_type_name(e->type), FIX_CORRUPT);
    for (size_t k = 0; k < e->n; k++) {
        if (strcmp(e->keys[k], "dtype") && strcmp(e->keys[k], "shape") &&
            strcmp(e->keys[k], "data_offsets"))
            return bad(SF_E_FORMAT, what, "tensor '%s': unknown header field '%s' (allowed: dtype, "
                       "shape, data_offsets); %s", name, e->keys[k], FIX_CORRUPT);
    }
    const char *dt = sf_json_get_str(e, "dtype");
    const struct sf_json *shape = sf_json_get(e, "shape"), *offs = sf_json_get(e, "data_offsets");
    if (!dt || !shape || shape->type != SF_JSON_ARRAY || !offs || offs->type != SF_JSON_ARRAY)
        return bad(SF_E_FORMAT, what, "tensor '%s': needs a string 'dtype', an array 'shape' and "
                   "an array 'data_offsets'; %s", name, FIX_CORRUPT);
    int d = parse_dtype(dt, &t->dtype);
    if (d == -2)
        return bad(SF_E_UNSUPPORTED, what, "tensor '%s': dtype %s is not supported (shotfarm reads "
                   "F32, BF16, F16, F64, I64, I32, U8): convert the tensor, e.g. to BF16", name, dt);
    if (d < 0)
        return bad(SF_E_FORMAT, what, "tensor '%s': unknown dtype '%.32s' (safetensors dtypes are "
                   "F32, BF16, F16, ...); %s", name, dt, FIX_CORRUPT);
    if (shape->n > SF_ST_MAX_DIMS)
        return bad(SF_E_FORMAT, what, "tensor '%s': %zu dimensions, at most %d are supported", name,
                   shape->n, SF_ST_MAX_DIMS);
    t->n_dims = (int)shape->n;
    for (size_t i = 0; i < shape->n; i++) {
        const struct sf_json *s = shape->items[i];
        if (s->type != SF_JSON_NUMBER || !s->is_int || s->integer < 0)
            return bad(SF_E_FORMAT, what, "tensor '%s': shape[%zu] is not a non-negative integer; %s",
                       name, i, FIX_CORRUPT);
        t->shape[i] = s->integer;
    }
    int64_t o[2];
    if (offs->n != 2)
        return bad(SF_E_FORMAT, what, "tensor '%s': data_offsets has %zu entries, needs [begin, end]; "
                   "%s", name, offs->n, FIX_CORRUPT);
    for (int i = 0; i < 2; i++) {
        const struct sf_json *s = offs->items[i];
        if (s->type != SF_JSON_NUMBER || !s->is_int || s->integer < 0)
            return bad(SF_E_FORMAT, what, "tensor '%s': data_offsets[%d] is not a non-negative "
                       "integer; %s", name, i, FIX_CORRUPT);
        o[i] = s->integer;
    }
    if (o[1] < o[0])
        return bad(SF_E_FORMAT, what, "tensor '%s': data_offsets [%lld, %lld] end before they "
                   "begin; %s", name, (long long)o[0], (long long)o[1], FIX_CORRUPT);
    char sh[160];
    sf_st_shape_str(t->n_dims, t->shape, sh, sizeof sh);
    t->n_elems = sf_st_shape_elems(t->n_dims, t->shape);
    int empty = 0;
    for (int i = 0; i < t->n_dims; i++) empty |= t->shape[i] == 0;
    if (!t->n_elems && !empty)
        return bad(SF_E_FORMAT, what, "tensor '%s': shape %s is too large", name, sh);
    t->n_bytes = t->n_elems * sf_dtype_size(t->dtype);
    if ((uint64_t)(o[1] - o[0]) != t->n_bytes)
        return bad(SF_E_FORMAT, what, "tensor '%s': shape %s of %s needs %llu bytes but "
                   "data_offsets [%lld, %lld] hold %llu; %s", name, sh, dt,
                   (unsigned long long)t->n_bytes, (long long)o[0], (long long)o[1],
                   (unsigned long long)(o[1] - o[0]), FIX_CORRUPT);
    if ((uint64_t)o[1] > data_len)
        return bad(SF_E_FORMAT, what, "tensor '%s': data_offsets [%lld, %lld] run past the end of "
                   "the data (%llu bytes): the file is truncated; re-download or re-save it", name,
                   (long long)o[0], (long long)o[1], (unsigned long long)data_len);
    t->name = name;
    t->data = data + o[0];
    return SF_OK;
}

/* Validates map[0..len) as one safetensors file and appends its tensors to st->t. */
static int parse_file(struct sf_st *st, struct st_file *f)
{
    const char *what = f->path;
    const unsigned char *p = f->map;
    uint64_t len = f->map_len, hlen = 0;
    const struct sf_st_tensor **order = NULL;
    int rc = SF_OK;
    if (len < 8)
        return bad(SF_E_FORMAT, what, "truncated: %llu bytes, shorter than the 8-byte header "
                   "length; re-download or re-save it", (unsigned long long)len);
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | p[i];
    if (hlen > SF_ST_MAX_HEADER_BYTES)
        return bad(SF_E_FORMAT, what, "header length %llu exceeds the %llu-byte limit of "
                   "safetensors: not a safetensors file, or corrupt", (unsigned long long)hlen,
                   SF_ST_MAX_HEADER_BYTES);
    if (hlen > len - 8)
        return bad(SF_E_FORMAT, what, "truncated: the header claims %llu bytes but only %llu "
                   "follow; re-download or re-save it", (unsigned long long)hlen,
                   (unsigned long long)(len - 8));
    if (hlen < 2 || p[8] != '{')
        return bad(SF_E_FORMAT, what, "header does not start with '{': not a safetensors file");
    char err[256];
    f->doc = sf_json_parse((const char *)p + 8, (size_t)hlen, err, sizeof err);
    if (!f->doc)
        return bad(SF_E_FORMAT, what, "header JSON: %s; %s", err, FIX_CORRUPT);
    const struct sf_json *root = sf_json_root(f->doc);
    if (root->type != SF_JSON_OBJECT)
        return bad(SF_E_FORMAT, what, "header is a JSON %s, not an object; %s",
                   sf_json_type_name(root->type), FIX_CORRUPT);
    const unsigned char *data = p + 8 + hlen;
    uint64_t data_len = len - 8 - hlen;
    size_t n_new = root->n, base = st->n;
    const struct sf_json *meta = sf_json_get(root, "__metadata__");
    if (meta) {
        n_new--;
        if (meta->type != SF_JSON_OBJECT)
            return bad(SF_E_FORMAT, what, "__metadata__ is not an object; %s", FIX_CORRUPT);
        for (size_t k = 0; k < meta->n; k++)
            if (meta->items[k]->type != SF_JSON_STRING)
                return bad(SF_E_FORMAT, what, "__metadata__ '%s' is not a string; %s",
                           meta->keys[k], FIX_CORRUPT);
        if (!st->meta) st->meta = meta;
    }
    struct sf_st_tensor *grown = realloc(st->t, (st->n + n_new + 1) * sizeof *grown);
    if (!grown) return SF_E_NOMEM;
    st->t = grown;
    for (size_t k = 0; k < root->n; k++) {
        if (strcmp(root->keys[k], "__metadata__") == 0) continue;
        struct sf_st_tensor *t = &st->t[st->n];
        memset(t, 0, sizeof *t);
        SF_TRY(rc, parse_entry(what, root->keys[k], root->items[k], data, data_len, t));
        t->file = f->path;
        st->n++;
    }
    /* Offsets: sorted, no overlap, no hole, the last one ends the file (as the reference). */
    order = malloc((n_new + 1) * sizeof *order);
    if (!order) {
        rc = SF_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n_new; i++) order[i] = &st->t[base + i];
    qsort(order, n_new, sizeof *order, cmp_offset);
    const unsigned char *end = data;
    const char *prev = NULL;
    for (size_t i = 0; i < n_new; i++) {
        const unsigned char *b = order[i]->data;
        if (b < end) {
            rc = bad(SF_E_FORMAT, what, "tensor '%s': data_offsets [%lld, %lld] overlap tensor "
                     "'%s' (ends at %lld); %s", order[i]->name, (long long)(b - data),
                     (long long)(b - data + (long long)order[i]->n_bytes), prev,
                     (long long)(end - data), FIX_CORRUPT);
            goto out;
        }
        if (b > end) {
            rc = bad(SF_E_FORMAT, what, "tensor '%s': data_offsets begin at %lld, leaving a hole "
                     "of %lld bytes after %s%s%s; %s", order[i]->name, (long long)(b - data),
                     (long long)(b - end), prev ? "tensor '" : "the header", prev ? prev : "",
                     prev ? "'" : "", FIX_CORRUPT);
            goto out;
        }
        end = b + order[i]->n_bytes;
        prev = order[i]->name;
    }
    if ((uint64_t)(end - data) != data_len) {
        rc = bad(SF_E_FORMAT, what, "%llu bytes follow the last tensor%s%s%s; %s",
                 (unsigned long long)(data_len - (uint64_t)(end - data)), prev ? " '" : "",
                 prev ? prev : "", prev ? "'" : "", FIX_CORRUPT);
        goto out;
    }
out:
    free(order);
    return rc;
}

static int map_file(const char *path, struct st_file *f)
{
    int st = SF_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0) return sf_err_errno(errno, "open safetensors", path);
    if (fstat(fd, &sb) != 0) {
        st = sf_err_errno(errno, "stat", path);
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = bad(SF_E_IO, path, "not a regular file");
        goto out;
    }
    f->map_len = (size_t)sb.st_size;
    if (f->map_len) {
        void *m = mmap(NULL, f->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            st = sf_err_errno(errno, "map", path);
            goto out;
        }
        f->map = m;
        f->mapped = 1;
    } else {
        f->map = (const unsigned char *)"";
    }
out:
    close(fd);
    return st;
}

static struct sf_st *st_create(const char *path, size_t n_files)
{
    struct sf_st *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->path = strdup(path);
    st->files = calloc(n_files ? n_files : 1, sizeof *st->files);
    if (!st->path || !st->files) {
        sf_st_close(st);
        return NULL;
    }
    return st;
}

/* After every file is parsed: sort by name and refuse a name present in two shards. */
static int finish(struct sf_st *st)
{
    if (st->n) qsort(st->t, st->n, sizeof *st->t, cmp_name);
    for (size_t i = 1; i < st->n; i++) {
        if (strcmp(st->t[i - 1].name, st->t[i].name) == 0)
            return bad(SF_E_FORMAT, st->path, "tensor '%s' is in both %s and %s: fix the shards or "
                       "the index", st->t[i].name, st->t[i - 1].file, st->t[i].file);
    }
    return SF_OK;
}

/* One file: mapped from path when bytes is NULL, else the caller's bytes named path. */
static int open_single(const char *path, const void *bytes, size_t n, struct sf_st **out)
{
    int rc = SF_OK;
    *out = NULL;
    struct sf_st *st = st_create(path, 1);
    if (!st) return SF_E_NOMEM;
    st->n_files = 1;
    st->files[0].path = strdup(path);
    if (!st->files[0].path) {
        rc = SF_E_NOMEM;
        goto out;
    }
    if (bytes) {
        st->files[0].map = bytes;
        st->files[0].map_len = n;
    } else {
        SF_TRY(rc, map_file(path, &st->files[0]));
    }
    SF_TRY(rc, parse_file(st, &st->files[0]));
    SF_TRY(rc, finish(st));
    *out = st;
    st = NULL;
out:
    sf_st_close(st);
    return rc;
}

int sf_st_open_mem(const void *bytes, size_t n, const char *what, struct sf_st **out)
{
    return open_single(what, n ? bytes : "", n, out);
}

static int open_index(const char *path, struct sf_st **out)
{
    int rc = SF_OK;
    char *text = NULL, err[256], *dir = NULL;
    size_t len = 0;
    struct sf_json_doc *doc = NULL;
    struct sf_st *st = NULL;
    const char **names = NULL;
    SF_TRY(rc, sf_file_read_all(path, 256u << 20, &text, &len));
    doc = sf_json_parse(text, len, err, sizeof err);
    if (!doc) {
        rc = bad(SF_E_FORMAT, path, "%s; re-download the index or re-save the model", err);
        goto out;
    }
    const struct sf_json *wm = sf_json_get(sf_json_root(doc), "weight_map");
    if (!wm || wm->type != SF_JSON_OBJECT || wm->n == 0) {
        rc = bad(SF_E_FORMAT, path, "weight_map: missing, empty or not an object; a sharded "
                 "index maps every tensor name to its shard file");
        goto out;
    }
    /* Distinct shard names, in first-seen order (a few dozen at most: quadratic is fine). */
    names = calloc(wm->n, sizeof *names);
    if (!names) {
        rc = SF_E_NOMEM;
        goto out;
    }
    size_t n_files = 0;
    for (size_t k = 0; k < wm->n; k++) {
        const struct sf_json *v = wm->items[k];
        if (v->type != SF_JSON_STRING || !v->str_len || strchr(v->str, '/') ||
            strlen(v->str) != v->str_len) {
            rc = bad(SF_E_FORMAT, path, "weight_map['%s']: must be a shard file name in the "
                     "index's directory", wm->keys[k]);
            goto out;
        }
        size_t j = 0;
        while (j < n_files && strcmp(names[j], v->str)) j++;
        if (j == n_files) names[n_files++] = v->str;
    }
    dir = strdup(path);
    if (!dir) {
        rc = SF_E_NOMEM;
        goto out;
    }
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = 0;
    else dir[0] = 0;
    st = st_create(path, n_files);
    if (!st) {
        rc = SF_E_NOMEM;
        goto out;
    }
    for (size_t j = 0; j < n_files; j++) {
        struct st_file *f = &st->files[j];
        size_t n = strlen(dir) + strlen(names[j]) + 1;
        f->path = malloc(n);
        if (!f->path) {
            rc = SF_E_NOMEM;
            goto out;
        }
        snprintf(f->path, n, "%s%s", dir, names[j]);
        st->n_files++;
        SF_TRY(rc, map_file(f->path, f));
        SF_TRY(rc, parse_file(st, f));
    }
    SF_TRY(rc, finish(st));
    for (size_t k = 0; k < wm->n; k++) {
        const struct sf_st_tensor *t = sf_st_find(st, wm->keys[k]);
        if (!t || strcmp(strrchr(t->file, '/') ? strrchr(t->file, '/') + 1 : t->file,
                         wm->items[k]->str)) {
            rc = bad(SF_E_FORMAT, path, "tensor '%s': the weight_map puts it in %s, which %s; "
                     "re-download the shard or fix the index", wm->keys[k], wm->items[k]->str,
                     t ? "does not hold it (another shard does)" : "does not hold it");
            goto out;
        }
    }
    if (st->n != wm->n) {
        for (size_t i = 0; i < st->n; i++) {
            if (!sf_json_get(wm, st->t[i].name)) {
                rc = bad(SF_E_FORMAT, path, "tensor '%s' in %s is missing from the weight_map; "
                         "fix the index", st->t[i].name, st->t[i].file);
                goto out;
            }
        }
    }
    const struct sf_json *meta = sf_json_get(sf_json_root(doc), "metadata");
    if (meta && meta->type == SF_JSON_OBJECT) st->meta = meta;
    st->index_doc = doc;
    doc = NULL;
    *out = st;
    st = NULL;
out:
    sf_json_free(doc);
    sf_st_close(st);
    free(names);
    free(dir);
    free(text);
    return rc;
}

int sf_st_open(const char *path, struct sf_st **out)
{
    *out = NULL;
    if (sf_str_ends_with(path, ".index.json")) return open_index(path, out);
    return open_single(path, NULL, 0, out);
}

void sf_st_close(struct sf_st *st)
{
    if (!st) return;
    for (size_t i = 0; i < st->n_files; i++) {
        struct st_file *f = &st->files[i];
        if (f->mapped) munmap((void *)f->map, f->map_len);
        sf_json_free(f->doc);
        free(f->path);
    }
    sf_json_free(st->index_doc);
    free(st->files);
    free(st->t);
    free(st->path);
    free(st);
}

size_t sf_st_count(const struct sf_st *st) { return st->n; }

const struct sf_st_tensor *sf_st_at(const struct sf_st *st, size_t i)
{
    return i < st->n ? &st->t[i] : NULL;
}

const struct sf_st_tensor *sf_st_find(const struct sf_st *st, const char *name)
{
    struct sf_st_tensor key = {.name = name};
    if (!st->n) return NULL;
    return bsearch(&key, st->t, st->n, sizeof *st->t, cmp_name);
}

const char *sf_st_metadata(const struct sf_st *st, const char *key)
{
    return sf_json_get_str(st->meta, key);
}

const char *sf_st_path(const struct sf_st *st) { return st->path; }
size_t sf_st_n_files(const struct sf_st *st) { return st->n_files; }

uint64_t sf_st_total_bytes(const struct sf_st *st)
{
    uint64_t n = 0;
    for (size_t i = 0; i < st->n; i++) n += st->t[i].n_bytes;
    return n;
}

/* ---- reading values --------------------------------------------------------------------- */

/* n elements from src (type s, unaligned) to dst (type d); both float types or s == d. */
static void convert(enum sf_dtype d, void *dst, enum sf_dtype s, const unsigned char *src, size_t n)
{
    if (d == s) {
        memcpy(dst, src, n * sf_dtype_size(s));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float v;
        uint16_t h;
        if (s == SF_DTYPE_F32) {
            memcpy(&v, src + 4 * i, 4);
        } else {
            memcpy(&h, src + 2 * i, 2);
            v = s == SF_DTYPE_BF16 ? sf_bf16_to_f32(h) : sf_f16_to_f32(h);
        }
        if (d == SF_DTYPE_F32) {
            ((float *)dst)[i] = v;
        } else {
            h = d == SF_DTYPE_BF16 ? sf_f32_to_bf16(v) : sf_f32_to_f16(v);
            memcpy((unsigned char *)dst + 2 * i, &h, 2);
        }
    }
}

int sf_st_read(const struct sf_st_tensor *t, enum sf_dtype dst_dtype, int64_t row0,
               int64_t n_rows, int64_t col0, int64_t n_cols, void *dst, size_t dst_bytes)
{
    int64_t rows = t->n_dims ? t->shape[0] : 1;
    int64_t cols = t->n_dims ? (int64_t)sf_st_shape_elems(t->n_dims - 1, t->shape + 1) : 1;
    if (rows == 0) cols = 0;
    if (t->dtype != dst_dtype && !(sf_dtype_is_weight_float(t->dtype) && sf_dtype_is_weight_float(dst_dtype)))
        return bad(SF_E_UNSUPPORTED, t->file, "tensor '%s': cannot convert %s to %s", t->name,
                   sf_dtype_st_name(t->dtype), sf_dtype_st_name(dst_dtype));
    if (row0 < 0 || n_rows < 0 || col0 < 0 || n_cols < 0 || row0 > rows - n_rows ||
        col0 > cols - n_cols)
        return bad(SF_E_INVAL, t->file, "tensor '%s': block rows [%lld, +%lld) x columns [%lld, "
                   "+%lld) is outside its (%lld, %lld) matrix view", t->name, (long long)row0,
                   (long long)n_rows, (long long)col0, (long long)n_cols, (long long)rows,
                   (long long)cols);
    size_t es = sf_dtype_size(t->dtype), ds = sf_dtype_size(dst_dtype);
    if ((uint64_t)n_rows * (uint64_t)n_cols * ds > dst_bytes)
        return bad(SF_E_INVAL, t->file, "tensor '%s': destination holds %zu bytes, the block "
                   "needs %llu", t->name, dst_bytes,
                   (unsigned long long)((uint64_t)n_rows * (uint64_t)n_cols * ds));
    const unsigned char *src = t->data;
    for (int64_t r = 0; r < n_rows; r++) {
        const unsigned char *s = src + ((uint64_t)(row0 + r) * (uint64_t)cols + (uint64_t)col0) * es;
        convert(dst_dtype, (unsigned char *)dst + (size_t)r * (size_t)n_cols * ds, t->dtype, s,
                (size_t)n_cols);
    }
    return SF_OK;
}

int sf_st_read_all(const struct sf_st_tensor *t, enum sf_dtype dst_dtype, void *dst,
                   size_t dst_bytes)
{
    int64_t rows = t->n_dims ? t->shape[0] : 1;
    int64_t cols = t->n_dims ? (int64_t)sf_st_shape_elems(t->n_dims - 1, t->shape + 1) : 1;
    if (rows == 0) cols = 0;
    return sf_st_read(t, dst_dtype, 0, rows, 0, cols, dst, dst_bytes);
}

void sf_st_release(const struct sf_st *st, const struct sf_st_tensor *t)
{
    const unsigned char *p = t->data;
    for (size_t i = 0; i < st->n_files; i++) {
        const struct st_file *f = &st->files[i];
        if (!f->mapped || p < f->map || p >= f->map + f->map_len) continue;
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t a = ((uintptr_t)p + page - 1) / page * page;
        uintptr_t b = ((uintptr_t)p + t->n_bytes) / page * page;
        /* Read-only private file mapping: dropped pages come back from the file unchanged. */
        if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
        return;
    }
}

/* ---- writing ---------------------------------------------------------------------------- */

#define FILL_CHUNK_BYTES (8u << 20)

/* The JSON header, padded with spaces to a multiple of 8 bytes as the reference writer does. */
static int build_header(const char *path, const struct sf_st_desc *t, size_t n,
                        const char *const *meta_kv, size_t n_meta, char **out, size_t *out_len)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return SF_E_NOMEM;
    struct sf_jw w;
    sf_jw_init(&w, f, 0);
    sf_jw_obj_begin(&w);
    if (n_meta) {
        sf_jw_key(&w, "__metadata__");
        sf_jw_obj_begin(&w);
        for (size_t i = 0; i < n_meta; i++) {
            sf_jw_key(&w, meta_kv[2 * i]);
            sf_jw_str(&w, meta_kv[2 * i + 1]);
        }
        sf_jw_obj_end(&w);
    }
    uint64_t off = 0;
    int rc = SF_OK;
    for (size_t i = 0; i < n; i++) {
        uint64_t ne = sf_st_shape_elems(t[i].n_dims, t[i].shape);
        int empty = 0;
        for (int d = 0; d < t[i].n_dims; d++) empty |= t[i].shape[d] == 0;
        if (!t[i].name || !*t[i].name || strcmp(t[i].name, "__metadata__") == 0 ||
            t[i].n_dims < 0 || t[i].n_dims > SF_ST_MAX_DIMS || (!ne && !empty) ||
            !sf_dtype_size(t[i].dtype)) {
            rc = bad(SF_E_INVAL, path, "tensor %zu ('%s'): bad name, dtype or shape", i,
                     t[i].name ? t[i].name : "(null)");
            break;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(t[j].name, t[i].name) == 0) {
                rc = bad(SF_E_INVAL, path, "tensor '%s' is given twice", t[i].name);
                break;
            }
        }
        if (rc != SF_OK) break;
        uint64_t nb = ne * sf_dtype_size(t[i].dtype);
        sf_jw_key(&w, t[i].name);
        sf_jw_obj_begin(&w);
        sf_jw_key(&w, "dtype");
        sf_jw_str(&w, sf_dtype_st_name(t[i].dtype));
        sf_jw_key(&w, "shape");
        sf_jw_arr_begin(&w);
        for (int d = 0; d < t[i].n_dims; d++) sf_jw_int(&w, t[i].shape[d]);
        sf_jw_arr_end(&w);
        sf_jw_key(&w, "data_offsets");
        sf_jw_arr_begin(&w);
        sf_jw_int(&w, (int64_t)off);
        sf_jw_int(&w, (int64_t)(off + nb));
        sf_jw_arr_end(&w);
        sf_jw_obj_end(&w);
        off += nb;
    }
    sf_jw_obj_end(&w);
    while ((ftell(f) + 8) % 8) fputc(' ', f);
    if (fclose(f) != 0 && rc == SF_OK) rc = SF_E_NOMEM;
    if (rc != SF_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return SF_OK;
}

/* sf_wfile_write frees the file on failure: forget it then, so `out:` does not abort it twice. */
static int put(struct sf_wfile **f, const void *data, size_t n)
{
    int rc = sf_wfile_write(*f, data, n);
    if (rc != SF_OK) *f = NULL;
    return rc;
}

int sf_st_write(const char *path, const struct sf_st_desc *t, size_t n, const char *const *meta_kv,
                size_t n_meta, sf_st_fill_fn fill, void *ctx)
{
    int rc = SF_OK;
    char *hdr = NULL;
    size_t hlen = 0;
    unsigned char *chunk = NULL;
    struct sf_wfile *f = NULL;
    SF_TRY(rc, build_header(path, t, n, meta_kv, n_meta, &hdr, &hlen));
    SF_TRY(rc, sf_wfile_open(path, &f));
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    SF_TRY(rc, put(&f, len8, 8));
    SF_TRY(rc, put(&f, hdr, hlen));
    for (size_t i = 0; i < n; i++) {
        uint64_t nb = sf_st_shape_elems(t[i].n_dims, t[i].shape) * sf_dtype_size(t[i].dtype);
        if (t[i].data) {
            SF_TRY(rc, put(&f, t[i].data, (size_t)nb));
            continue;
        }
        if (!fill) {
            rc = bad(SF_E_INVAL, path, "tensor '%s' has no data and no fill callback", t[i].name);
            goto out;
        }
        if (!chunk && !(chunk = malloc(FILL_CHUNK_BYTES))) {
            rc = SF_E_NOMEM;
            goto out;
        }
        for (uint64_t off = 0; off < nb; off += FILL_CHUNK_BYTES) {
            size_t k = (size_t)(nb - off < FILL_CHUNK_BYTES ? nb - off : FILL_CHUNK_BYTES);
            SF_TRY(rc, fill(ctx, i, off, chunk, k));
            SF_TRY(rc, put(&f, chunk, k));
        }
    }
    rc = sf_wfile_commit(f); /* frees f either way */
    f = NULL;
out:
    sf_wfile_abort(f);
    free(chunk);
    free(hdr);
    return rc;
}
