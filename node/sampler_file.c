/* sampler_file.c — sf_sampler_save / sf_sampler_load: the sampler state as a safetensors file
 * (io/sf_safetensors.h), so `shotfarm inspect` and Python read it too. Called by `forward
 * denoise --save-state/--resume` and the resume tests; HDF5 checkpoints store the same fields
 * (sf_sampler_fields) their own way.
 *
 * Every field of sf_sampler_fields is a tensor (scalars of shape []), written in field order;
 * __metadata__ carries format "shotfarm-sampler-state", version "1" and checksum
 * "fnv1a64:<16 hex>" over the fields' bytes in that order. The safetensors reader already
 * refuses malformed headers, truncation, holes and overlaps; on top of it the load is strict:
 * exactly those tensors, dtypes and shapes, the checksum, then the state's own invariants
 * (sf_sampler_validate). Each failure is one line naming the file, the field and what to do.
 * The subtle thing: the checksum runs in a fixed field order, not file order, so swapped data
 * offsets of two same-sized tensors are caught too, and it is checked before any field is
 * interpreted, so damaged data is always reported as such.
 */
#include "sf_sampler.h"

#include "sf_log.h"
#include "sf_safetensors.h"
#include "sf_status.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define FORMAT_NAME "shotfarm-sampler-state"
#define FORMAT_VERSION "1"
#define FIX "use an earlier state or start the unit again"

static uint64_t fnv1a64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}
#define FNV_OFFSET 0xcbf29ce484222325ull

static size_t field_bytes(const struct sf_sampler_field *f)
{
    size_t n = sf_dtype_size(f->dtype);
    for (int d = 0; d < f->ndim; d++)
        n *= (size_t)f->shape[d];
    return n;
}

/* The checksum runs over the fields in this order (every name sf_sampler_fields can give),
 * skipping absent ones, so it can be checked before the fields are interpreted. */
static const char *const checksum_order[] = {
    "kind",   "schedule",   "n_steps", "shift",     "guidance", "n",       "step",
    "n_hist", "last_order", "sigmas",  "timesteps", "x",        "history", "last_sample"};
#define N_ORDER (sizeof checksum_order / sizeof checksum_order[0])

static void checksum_fields(const struct sf_sampler_field *f, int nf, char hex[32])
{
    uint64_t h = FNV_OFFSET;
    int used = 0;
    for (size_t k = 0; k < N_ORDER; k++)
        for (int i = 0; i < nf; i++)
            if (strcmp(f[i].name, checksum_order[k]) == 0) {
                h = fnv1a64(h, f[i].data, field_bytes(&f[i]));
                used++;
            }
    SF_ASSERT(used == nf); /* a new field must be added to checksum_order */
    snprintf(hex, 32, "fnv1a64:%016" PRIx64, h);
}

static void checksum_file(const struct sf_st *st, char hex[32])
{
    uint64_t h = FNV_OFFSET;
    for (size_t k = 0; k < N_ORDER; k++) {
        const struct sf_st_tensor *t = sf_st_find(st, checksum_order[k]);
        if (t) h = fnv1a64(h, t->data, (size_t)t->n_bytes);
    }
    snprintf(hex, 32, "fnv1a64:%016" PRIx64, h);
}

int sf_sampler_save(const struct sf_sampler *s, const char *path)
{
    struct sf_sampler_field f[SF_SAMPLER_MAX_FIELDS];
    struct sf_st_desc d[SF_SAMPLER_MAX_FIELDS];
    int nf = sf_sampler_fields((struct sf_sampler *)s, f); /* fields are only read here */
    for (int i = 0; i < nf; i++) {
        memset(&d[i], 0, sizeof d[i]);
        d[i].name = f[i].name;
        d[i].dtype = f[i].dtype;
        d[i].n_dims = f[i].ndim;
        for (int k = 0; k < f[i].ndim; k++)
            d[i].shape[k] = f[i].shape[k];
        d[i].data = f[i].data;
    }
    char hex[32];
    checksum_fields(f, nf, hex);
    const char *meta[] = {"format", FORMAT_NAME, "version", FORMAT_VERSION, "checksum", hex};
    return sf_st_write(path, d, (size_t)nf, meta, 3, NULL, NULL);
}

/* Copies tensor f->name of st into f->data after checking its dtype and shape. */
static int read_field(const struct sf_st *st, const struct sf_sampler_field *f)
{
    const char *path = sf_st_path(st);
    const struct sf_st_tensor *t = sf_st_find(st, f->name);
    if (!t) {
        SF_ERROR("sampler", "%s: tensor '%s' is missing: not a complete sampler state; " FIX, path,
                 f->name);
        return SF_E_FORMAT;
    }
    int ok = t->dtype == f->dtype && t->n_dims == f->ndim;
    for (int k = 0; ok && k < f->ndim; k++)
        ok = t->shape[k] == f->shape[k];
    if (!ok) {
        char got[96], want[96];
        sf_st_shape_str(t->n_dims, t->shape, got, sizeof got);
        sf_st_shape_str(f->ndim, f->shape, want, sizeof want);
        SF_ERROR("sampler",
                 "%s: tensor '%s' is %s %s where its other fields imply %s %s; the "
                 "state is damaged or from another shotfarm; " FIX,
                 path, f->name, sf_dtype_st_name(t->dtype), got, sf_dtype_st_name(f->dtype), want);
        return SF_E_FORMAT;
    }
    return sf_st_read_all(t, f->dtype, f->data, field_bytes(f));
}

/* The state in an opened safetensors set; `path` names it in messages. */
static int load_from(struct sf_st *st, const char *path, struct sf_sampler **out)
{
    struct sf_sampler *s = NULL;
    int rc;
    const char *fmt = sf_st_metadata(st, "format"), *ver = sf_st_metadata(st, "version");
    const char *sum = sf_st_metadata(st, "checksum");
    if (!fmt || strcmp(fmt, FORMAT_NAME) != 0 || !ver || strcmp(ver, FORMAT_VERSION) != 0 || !sum) {
        SF_ERROR("sampler",
                 "%s: __metadata__ does not say format \"" FORMAT_NAME "\" version "
                 "\"" FORMAT_VERSION "\" with a checksum: not a sampler state of this shotfarm",
                 path);
        rc = SF_E_FORMAT;
        goto out;
    }
    char hex[32];
    checksum_file(st, hex);
    if (strcmp(sum, hex) != 0) {
        SF_ERROR("sampler",
                 "%s: checksum mismatch (header %s, data %s): the file is corrupted; " FIX, path,
                 sum, hex);
        rc = SF_E_CHECKSUM;
        goto out;
    }

    /* the configuration scalars size everything else */
    struct sf_sampler cfg = {0};
    struct sf_sampler_field f[SF_SAMPLER_MAX_FIELDS];
    sf_sampler_fields(&cfg, f);
    for (int i = 0; i < SF_SAMPLER_N_CONFIG; i++) {
        SF_ASSERT(f[i].ndim == 0);
        SF_TRY(rc, read_field(st, &f[i]));
    }
    const struct sf_st_tensor *x = sf_st_find(st, "x");
    if (cfg.n < 1 || !x || (uint64_t)cfg.n != x->n_elems) {
        SF_ERROR("sampler",
                 "%s: scalar 'n' = %" PRId64 " does not match tensor 'x'; the state is "
                 "damaged; " FIX,
                 path, cfg.n);
        rc = SF_E_FORMAT;
        goto out;
    }
    rc = sf_sampler_create(cfg.kind, cfg.schedule, cfg.n_steps, cfg.shift, cfg.guidance, cfg.n,
                           NULL, &s);
    if (rc == SF_E_INVAL) {
        SF_ERROR("sampler", "%s: its configuration scalars are invalid (above); " FIX, path);
        rc = SF_E_FORMAT;
    }
    if (rc != SF_OK) goto out;
    int nf = sf_sampler_fields(s, f);
    if (sf_st_count(st) != (size_t)nf) {
        SF_ERROR("sampler",
                 "%s: %zu tensors where a %s state has %d: not a state of this "
                 "shotfarm; " FIX,
                 path, sf_st_count(st), sf_sampler_kind_name(s->kind), nf);
        rc = SF_E_FORMAT;
        goto out;
    }
    for (int i = 0; i < nf; i++)
        SF_TRY(rc, read_field(st, &f[i]));
    SF_TRY(rc, sf_sampler_validate(s, path));
    *out = s;
    s = NULL;
out:
    sf_sampler_destroy(s);
    return rc;
}

int sf_sampler_load(const char *path, struct sf_sampler **out)
{
    *out = NULL;
    struct sf_st *st = NULL;
    int rc = sf_st_open(path, &st);
    if (rc == SF_OK) rc = load_from(st, path, out);
    sf_st_close(st);
    return rc;
}

int sf_sampler_load_mem(const void *bytes, size_t n, const char *what, struct sf_sampler **out)
{
    *out = NULL;
    struct sf_st *st = NULL;
    int rc = sf_st_open_mem(bytes, n, what, &st);
    if (rc == SF_OK) rc = load_from(st, what, out);
    sf_st_close(st);
    return rc;
}
