/* sampler_file.c — sf_sampler_save / sf_sampler_load: the sampler state as a safetensors-format
 * file, so `shotfarm inspect` and Python's safetensors read it too. Called by `forward denoise
 * --save-state/--resume` and the resume tests; HDF5 checkpoints store the same fields
 * (sf_sampler_fields) their own way.
 *
 * Layout: u64 LE header length, JSON header, data. Every field of sf_sampler_fields is a tensor
 * (scalars with shape []), laid out contiguously in field order; __metadata__ carries
 * format "shotfarm-sampler-state", version "1" and checksum "fnv1a64:<16 hex>" of the data.
 * The reader is strict: exactly those tensors, those dtypes, shapes and offsets, the exact file
 * length, the checksum, then the state's own invariants (sf_sampler_validate). Any failure is
 * one line naming the file, the field and what to do.
 * The subtle thing: the header is not checksummed, so every header value is checked against
 * what the writer would have written instead (a flipped digit cannot slip through).
 */
#define _POSIX_C_SOURCE 200809L
#include "sf_sampler.h"

#include "sf_errors.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_status.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT_NAME "shotfarm-sampler-state"
#define FORMAT_VERSION "1"
#define MAX_HEADER_BYTES (1u << 20)

static uint64_t fnv1a64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}
#define FNV_OFFSET 0xcbf29ce484222325ull

static size_t field_bytes(const struct sf_sampler_field *f)
{
    size_t n = sf_dtype_size(f->dtype);
    for (int d = 0; d < f->ndim; d++) n *= (size_t)f->shape[d];
    return n;
}

/* The header JSON the writer produces for these fields and checksum, in a malloc'd buffer
 * padded with spaces to a multiple of 8 (as safetensors writers do). */
static int build_header(const struct sf_sampler_field *f, int nf, uint64_t sum, char **out,
                        size_t *len)
{
    char *buf = NULL;
    size_t sz = 0;
    FILE *m = open_memstream(&buf, &sz);
    if (!m) return SF_E_NOMEM;
    struct sf_jw w;
    sf_jw_init(&w, m, 0);
    sf_jw_obj_begin(&w);
    sf_jw_key(&w, "__metadata__");
    sf_jw_obj_begin(&w);
    char hex[32];
    snprintf(hex, sizeof hex, "fnv1a64:%016" PRIx64, sum);
    sf_jw_key(&w, "format");
    sf_jw_str(&w, FORMAT_NAME);
    sf_jw_key(&w, "version");
    sf_jw_str(&w, FORMAT_VERSION);
    sf_jw_key(&w, "checksum");
    sf_jw_str(&w, hex);
    sf_jw_obj_end(&w);
    size_t off = 0;
    for (int i = 0; i < nf; i++) {
        sf_jw_key(&w, f[i].name);
        sf_jw_obj_begin(&w);
        sf_jw_key(&w, "dtype");
        sf_jw_str(&w, sf_dtype_st_name(f[i].dtype));
        sf_jw_key(&w, "shape");
        sf_jw_arr_begin(&w);
        for (int d = 0; d < f[i].ndim; d++) sf_jw_int(&w, f[i].shape[d]);
        sf_jw_arr_end(&w);
        sf_jw_key(&w, "data_offsets");
        sf_jw_arr_begin(&w);
        sf_jw_int(&w, (int64_t)off);
        off += field_bytes(&f[i]);
        sf_jw_int(&w, (int64_t)off);
        sf_jw_arr_end(&w);
        sf_jw_obj_end(&w);
    }
    sf_jw_obj_end(&w);
    while (ftell(m) % 8) fputc(' ', m);
    if (fclose(m) != 0 || !buf) {
        free(buf);
        return SF_E_NOMEM;
    }
    *out = buf;
    *len = sz;
    return SF_OK;
}

static int write_all(int fd, const void *p, size_t n, const char *path)
{
    const char *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return sf_err_errno(errno, "write the sampler state", path);
        b += k;
        n -= (size_t)k;
    }
    return SF_OK;
}

/* fsync the directory holding path, so a rename into it survives a crash. */
static int fsync_dir_of(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return sf_err_errno(errno, "open the directory of the sampler state", dir);
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    return rc == 0 ? SF_OK : sf_err_errno(err, "fsync the directory of the sampler state", dir);
}

int sf_sampler_save(const struct sf_sampler *s, const char *path)
{
    struct sf_sampler_field f[SF_SAMPLER_MAX_FIELDS];
    int nf = sf_sampler_fields((struct sf_sampler *)s, f); /* fields are only read here */
    uint64_t sum = FNV_OFFSET;
    for (int i = 0; i < nf; i++) sum = fnv1a64(sum, f[i].data, field_bytes(&f[i]));
    char *hdr = NULL, tmp[4096];
    size_t hlen = 0;
    int fd = -1, st;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
        SF_ERROR("sampler", "%s: path too long for the sampler state", path);
        return SF_E_INVAL;
    }
    SF_TRY(st, build_header(f, nf, sum, &hdr, &hlen));
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        st = sf_err_errno(errno, "create the sampler state", tmp);
        goto out;
    }
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    SF_TRY(st, write_all(fd, le, 8, tmp));
    SF_TRY(st, write_all(fd, hdr, hlen, tmp));
    for (int i = 0; i < nf; i++) SF_TRY(st, write_all(fd, f[i].data, field_bytes(&f[i]), tmp));
    if (fsync(fd) != 0) {
        st = sf_err_errno(errno, "fsync the sampler state", tmp);
        goto out;
    }
    int rc = close(fd);
    fd = -1;
    if (rc != 0) {
        st = sf_err_errno(errno, "close the sampler state", tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        st = sf_err_errno(errno, "rename the sampler state into place", path);
        goto out;
    }
    st = fsync_dir_of(path);
out:
    if (fd >= 0) close(fd);
    if (st != SF_OK) unlink(tmp);
    free(hdr);
    return st;
}

/* ---- reading ---------------------------------------------------------------------------- */

struct reader {
    const char *path;
    const struct sf_json *root;
    const unsigned char *data; /* the data section */
    size_t data_len;
};

/* Checks the header entry of field f against what the writer would have put there (dtype, shape,
 * offsets starting at *off) and copies its bytes into f->data. */
static int read_field(const struct reader *r, const struct sf_sampler_field *f, size_t *off)
{
    const struct sf_json *e = sf_json_get(r->root, f->name);
    if (!e) {
        SF_ERROR("sampler", "%s: tensor '%s' is missing; not a complete sampler state (write it "
                 "with shotfarm, or start the unit again)", r->path, f->name);
        return SF_E_FORMAT;
    }
    const char *dt = sf_json_get_str(e, "dtype");
    const struct sf_json *shape = sf_json_get(e, "shape"), *offs = sf_json_get(e, "data_offsets");
    size_t nb = field_bytes(f);
    int ok = e->type == SF_JSON_OBJECT && e->n == 3 && dt &&
             strcmp(dt, sf_dtype_st_name(f->dtype)) == 0 && shape &&
             shape->type == SF_JSON_ARRAY && shape->n == (size_t)f->ndim && offs &&
             offs->type == SF_JSON_ARRAY && offs->n == 2;
    for (int d = 0; ok && d < f->ndim; d++)
        ok = shape->items[d]->type == SF_JSON_NUMBER && shape->items[d]->is_int &&
             shape->items[d]->integer == f->shape[d];
    ok = ok && offs->items[0]->is_int && offs->items[1]->is_int &&
         offs->items[0]->integer == (int64_t)*off && offs->items[1]->integer == (int64_t)(*off + nb);
    if (!ok) {
        char want[96];
        if (f->ndim == 0) snprintf(want, sizeof want, "%s []", sf_dtype_st_name(f->dtype));
        else if (f->ndim == 1)
            snprintf(want, sizeof want, "%s [%" PRId64 "]", sf_dtype_st_name(f->dtype), f->shape[0]);
        else
            snprintf(want, sizeof want, "%s [%" PRId64 ", %" PRId64 "]",
                     sf_dtype_st_name(f->dtype), f->shape[0], f->shape[1]);
        SF_ERROR("sampler", "%s: tensor '%s' (line %d) is not %s at data offsets [%zu, %zu] as "
                 "its other fields imply; the state is damaged, use an earlier one or start the "
                 "unit again", r->path, f->name, e->line, want, *off, *off + nb);
        return SF_E_FORMAT;
    }
    memcpy(f->data, r->data + *off, nb);
    *off += nb;
    return SF_OK;
}

/* Reads the whole file into a malloc'd buffer. */
static int slurp(const char *path, unsigned char **buf, size_t *len)
{
    *buf = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return sf_err_errno(errno, "open the sampler state", path);
    struct stat sb;
    int st = SF_OK;
    if (fstat(fd, &sb) != 0) {
        st = sf_err_errno(errno, "stat the sampler state", path);
        goto out;
    }
    size_t n = (size_t)sb.st_size, got = 0;
    *buf = malloc(n ? n : 1);
    if (!*buf) {
        st = SF_E_NOMEM;
        goto out;
    }
    while (got < n) {
        ssize_t k = read(fd, *buf + got, n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            st = sf_err_errno(errno, "read the sampler state", path);
            goto out;
        }
        if (k == 0) break;
        got += (size_t)k;
    }
    *len = got;
out:
    close(fd);
    if (st != SF_OK) {
        free(*buf);
        *buf = NULL;
    }
    return st;
}

int sf_sampler_load(const char *path, struct sf_sampler **out)
{
    *out = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    struct sf_json_doc *doc = NULL;
    struct sf_sampler *s = NULL;
    int st;
    SF_TRY(st, slurp(path, &buf, &len));
    uint64_t hlen = 0;
    for (int i = 0; i < 8 && (size_t)i < len; i++) hlen |= (uint64_t)buf[i] << (8 * i);
    if (len < 8 || hlen > MAX_HEADER_BYTES || hlen > len - 8) {
        SF_ERROR("sampler", "%s: %s (%zu bytes); it is not a sampler state or was cut short: use "
                 "an earlier state or start the unit again", path,
                 len < 8 ? "shorter than a header" : "header length exceeds the file", len);
        st = SF_E_FORMAT;
        goto out;
    }
    char err[256];
    doc = sf_json_parse((const char *)buf + 8, (size_t)hlen, err, sizeof err);
    if (!doc || sf_json_root(doc)->type != SF_JSON_OBJECT) {
        SF_ERROR("sampler", "%s: header: %s; the state is damaged, use an earlier one or start "
                 "the unit again", path, doc ? "not a JSON object" : err);
        st = SF_E_FORMAT;
        goto out;
    }
    const struct sf_json *root = sf_json_root(doc);
    const struct sf_json *meta = sf_json_get(root, "__metadata__");
    const char *fmt = sf_json_get_str(meta, "format"), *ver = sf_json_get_str(meta, "version");
    const char *sum_s = sf_json_get_str(meta, "checksum");
    if (!fmt || strcmp(fmt, FORMAT_NAME) != 0 || !ver || strcmp(ver, FORMAT_VERSION) != 0 ||
        !sum_s) {
        SF_ERROR("sampler", "%s: __metadata__ does not say format \"" FORMAT_NAME "\" version "
                 "\"" FORMAT_VERSION "\" with a checksum; not a sampler state of this shotfarm",
                 path);
        st = SF_E_FORMAT;
        goto out;
    }
    struct reader r = {path, root, buf + 8 + hlen, len - 8 - (size_t)hlen};

    /* the length the header claims, before anything reads the data */
    size_t end = 0;
    for (size_t i = 0; i < root->n; i++) {
        if (root->items[i] == meta) continue;
        const struct sf_json *o = sf_json_get(root->items[i], "data_offsets");
        if (!o || o->type != SF_JSON_ARRAY || o->n != 2 || !o->items[1]->is_int ||
            o->items[1]->integer < 0) {
            SF_ERROR("sampler", "%s: tensor '%s' (line %d) has no valid data_offsets; the state "
                     "is damaged, use an earlier one or start the unit again", path,
                     root->keys[i], root->items[i]->line);
            st = SF_E_FORMAT;
            goto out;
        }
        if ((uint64_t)o->items[1]->integer > end) end = (size_t)o->items[1]->integer;
    }
    if (end != r.data_len) {
        SF_ERROR("sampler", "%s: %s: %zu bytes of data where its header says %zu; use an "
                 "earlier state or start the unit again", path,
                 r.data_len < end ? "truncated" : "trailing bytes", r.data_len, end);
        st = SF_E_FORMAT;
        goto out;
    }
    char hex[32];
    snprintf(hex, sizeof hex, "fnv1a64:%016" PRIx64, fnv1a64(FNV_OFFSET, r.data, r.data_len));
    if (strcmp(sum_s, hex) != 0) {
        SF_ERROR("sampler", "%s: checksum mismatch (header %s, data %s): the file is corrupted; "
                 "use an earlier state or start the unit again", path, sum_s, hex);
        st = SF_E_CHECKSUM;
        goto out;
    }

    /* configuration scalars first: they size everything else */
    struct sf_sampler cfg = {0};
    struct sf_sampler_field f[SF_SAMPLER_MAX_FIELDS];
    sf_sampler_fields(&cfg, f);
    size_t off = 0;
    const int n_cfg = 5; /* kind, schedule, n_steps, shift, n */
    for (int i = 0; i < n_cfg; i++) {
        SF_ASSERT(f[i].ndim == 0);
        if (off + field_bytes(&f[i]) > r.data_len) {
            SF_ERROR("sampler", "%s: %zu bytes of data, less than its scalars need; not a "
                     "sampler state of this shotfarm", path, r.data_len);
            st = SF_E_FORMAT;
            goto out;
        }
        SF_TRY(st, read_field(&r, &f[i], &off));
    }
    if (cfg.n < 1 || cfg.n > (int64_t)(r.data_len / sizeof(float))) {
        SF_ERROR("sampler", "%s: scalar 'n' = %" PRId64 " does not fit the file's %zu data bytes; "
                 "the state is damaged", path, cfg.n, r.data_len);
        st = SF_E_FORMAT;
        goto out;
    }
    st = sf_sampler_create(cfg.kind, cfg.schedule, cfg.n_steps, cfg.shift, cfg.n, NULL, &s);
    if (st == SF_E_INVAL) {
        SF_ERROR("sampler", "%s: its configuration scalars are invalid (see above); the state is "
                 "damaged", path);
        st = SF_E_FORMAT;
    }
    if (st != SF_OK) goto out;
    int nf = sf_sampler_fields(s, f);
    if (root->n != (size_t)nf + 1) {
        SF_ERROR("sampler", "%s: %zu tensors where a %s state has %d; not a state of this shotfarm",
                 path, root->n - 1, sf_sampler_kind_name(s->kind), nf);
        st = SF_E_FORMAT;
        goto out;
    }
    off = 0;
    for (int i = 0; i < nf; i++) SF_TRY(st, read_field(&r, &f[i], &off));
    SF_TRY(st, sf_sampler_validate(s, path));
    *out = s;
    s = NULL;
out:
    sf_sampler_destroy(s);
    sf_json_free(doc);
    free(buf);
    return st;
}
