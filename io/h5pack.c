/* h5pack.c — the verified HDF5 container (sf_h5pack.h). Called by checkpoints, the identity
 * bank and final latents. The subtle part is that HDF5 never touches the disk: the file is
 * built with the core driver and its image published with sf_file, and an image is opened only
 * after its SHA-256 matched the sidecar, so neither a torn write nor a crafted file reaches
 * HDF5's parser. HDF5's automatic error printing is silenced here; sf_h5_check logs the stack. */
#define _POSIX_C_SOURCE 200809L
#include "sf_h5pack.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_hash.h"
#include "sf_log.h"
#include "sf_status.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H5PACK_MAX_BYTES ((size_t)64 << 30)

struct sf_h5pack {
    hid_t file;
    char *image;
    size_t size;
    char path[4096];
};

static void (*publish_hook)(const char *path);

void sf_h5pack_set_publish_hook(void (*hook)(const char *path))
{
    publish_hook = hook;
}

static void quiet_hdf5(void)
{
    static int done;
    if (!done) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        done = 1;
    }
}

static hid_t h5_type(enum sf_dtype t)
{
    switch (t) {
    case SF_DTYPE_F32: return H5T_IEEE_F32LE;
    case SF_DTYPE_F64: return H5T_IEEE_F64LE;
    case SF_DTYPE_I64: return H5T_STD_I64LE;
    case SF_DTYPE_I32: return H5T_STD_I32LE;
    case SF_DTYPE_U8: return H5T_STD_U8LE;
    case SF_DTYPE_BF16:
    case SF_DTYPE_F16: return H5T_STD_U16LE;
    default: return -1;
    }
}

static void sha256_hex(const void *data, size_t n, char hex[SF_SHA256_HEX])
{
    uint8_t md[SF_SHA256_BYTES];
    sf_sha256(data, n, md);
    sf_sha256_hex(md, hex);
}

static int write_string_attr(hid_t obj, const char *name, const char *value)
{
    int st = SF_OK;
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR), attr = -1;
    H5Tset_size(type, strlen(value) + 1);
    attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    SF_TRY(st, sf_h5_check(attr, "create a string attribute"));
    SF_TRY(st, sf_h5_check(H5Awrite(attr, type, value), "write a string attribute"));
out:
    if (attr >= 0) H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    return st;
}

static int build_image(const struct sf_h5_array *arrays, int n_arrays,
                       const struct sf_h5_attr *attrs, int n_attrs, char **image, size_t *size)
{
    int st = SF_OK;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), file = -1, lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_fapl_core(fapl, 1 << 20, 0); /* in memory, never written by HDF5 itself */
    H5Pset_create_intermediate_group(lcpl, 1);
    /* no object timestamps: the same arrays give the same bytes (render's latents compare) */
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0);
    file = H5Fcreate("sf_h5pack_image", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    SF_TRY(st, sf_h5_check(file, "create an in-memory HDF5 file"));
    SF_TRY(st, write_string_attr(file, "sf_format", "shotfarm h5pack 1"));
    for (int i = 0; i < n_arrays; i++) {
        const struct sf_h5_array *a = &arrays[i];
        hid_t type = h5_type(a->dtype);
        SF_ASSERT(type >= 0 && a->ndim >= 0 && a->ndim <= SF_H5PACK_MAX_DIMS);
        hsize_t dims[SF_H5PACK_MAX_DIMS];
        for (int d = 0; d < a->ndim; d++) dims[d] = (hsize_t)a->shape[d];
        hid_t space = a->ndim ? H5Screate_simple(a->ndim, dims, NULL) : H5Screate(H5S_SCALAR);
        hid_t ds = H5Dcreate2(file, a->name, type, space, lcpl, dcpl, H5P_DEFAULT);
        int ok = sf_h5_check(ds, a->name) == SF_OK;
        if (ok) ok = sf_h5_check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->data),
                                 a->name) == SF_OK;
        if (ok) ok = write_string_attr(ds, "sf_dtype", sf_dtype_name(a->dtype)) == SF_OK;
        if (ds >= 0) H5Dclose(ds);
        H5Sclose(space);
        if (!ok) {
            st = SF_E_HDF5;
            goto out;
        }
    }
    for (int i = 0; i < n_attrs; i++) {
        const struct sf_h5_attr *a = &attrs[i];
        if (a->type == SF_H5_STRING) {
            SF_TRY(st, write_string_attr(file, a->name, a->s ? a->s : ""));
            continue;
        }
        hid_t type = a->type == SF_H5_INT ? H5T_STD_I64LE : H5T_IEEE_F64LE;
        hid_t space = H5Screate(H5S_SCALAR);
        hid_t at = H5Acreate2(file, a->name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        int ok = sf_h5_check(at, a->name) == SF_OK &&
                 sf_h5_check(H5Awrite(at, type, a->type == SF_H5_INT ? (const void *)&a->i
                                                                      : (const void *)&a->d),
                             a->name) == SF_OK;
        if (at >= 0) H5Aclose(at);
        H5Sclose(space);
        if (!ok) {
            st = SF_E_HDF5;
            goto out;
        }
    }
    SF_TRY(st, sf_h5_check(H5Fflush(file, H5F_SCOPE_GLOBAL), "flush the in-memory HDF5 file"));
    ssize_t n = H5Fget_file_image(file, NULL, 0);
    SF_TRY(st, sf_h5_check(n, "size the HDF5 file image"));
    *image = malloc((size_t)n);
    if (!*image) {
        st = SF_E_NOMEM;
        goto out;
    }
    if (H5Fget_file_image(file, *image, (size_t)n) != n) {
        free(*image);
        *image = NULL;
        st = sf_h5_check(-1, "copy the HDF5 file image");
        goto out;
    }
    *size = (size_t)n;
out:
    if (file >= 0) H5Fclose(file);
    H5Pclose(fapl);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    return st;
}

int sf_h5pack_write(const char *path, const struct sf_h5_array *arrays, int n_arrays,
                    const struct sf_h5_attr *attrs, int n_attrs)
{
    quiet_hdf5();
    int st = SF_OK;
    char *image = NULL;
    size_t size = 0;
    char sidecar[4200], line[128], hex[65];
    SF_TRY(st, build_image(arrays, n_arrays, attrs, n_attrs, &image, &size));
    sha256_hex(image, size, hex);
    snprintf(sidecar, sizeof sidecar, "%s.sha256", path);
    int len = snprintf(line, sizeof line, "%s %zu\n", hex, size);
    /* Data first, then its checksum: a crash in between leaves a file without a valid sidecar,
     * which readers refuse (they fall back to the previous checkpoint). */
    SF_TRY(st, sf_file_write_atomic(path, image, size));
    if (publish_hook) publish_hook(path);
    SF_TRY(st, sf_file_write_atomic(sidecar, line, (size_t)len));
out:
    free(image);
    return st;
}

int sf_h5pack_open(const char *path, struct sf_h5pack **out)
{
    quiet_hdf5();
    int st = SF_OK;
    char *side = NULL;
    size_t side_n = 0;
    char sidecar[4200];
    struct sf_h5pack *p = calloc(1, sizeof *p);
    hid_t fapl = -1;
    if (!p) return SF_E_NOMEM;
    p->file = -1;
    snprintf(p->path, sizeof p->path, "%s", path);
    snprintf(sidecar, sizeof sidecar, "%s.sha256", path);
    st = sf_file_read_all(sidecar, 256, &side, &side_n);
    if (st == SF_E_NOTFOUND) {
        SF_ERROR("h5pack", "%s: no checksum sidecar %s (the write did not finish); using an "
                 "older file", path, sidecar);
        st = SF_E_CHECKSUM;
        goto out;
    }
    if (st) goto out;
    char want[65] = "";
    unsigned long long want_size = 0;
    if (sscanf(side, "%64[0-9a-f] %llu", want, &want_size) != 2 || strlen(want) != 64) {
        SF_ERROR("h5pack", "%s: malformed checksum sidecar", sidecar);
        st = SF_E_CHECKSUM;
        goto out;
    }
    SF_TRY(st, sf_file_read_all(path, H5PACK_MAX_BYTES, &p->image, &p->size));
    char hex[65];
    sha256_hex(p->image, p->size, hex);
    if (p->size != want_size || strcmp(hex, want) != 0) {
        SF_ERROR("h5pack", "%s: checksum mismatch (%zu bytes, sidecar says %llu): the file is "
                 "corrupt or truncated; using an older file", path, p->size, want_size);
        st = SF_E_CHECKSUM;
        goto out;
    }
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, 1 << 20, 0);
    if (sf_h5_check(H5Pset_file_image(fapl, p->image, p->size), "hand the image to HDF5")) {
        st = SF_E_HDF5;
        goto out;
    }
    /* The core driver refuses to open an image under a name that exists on disk: give it one
     * that cannot exist. */
    p->file = H5Fopen("/proc/self/sf-h5pack-image", H5F_ACC_RDONLY, fapl);
    if (sf_h5_check(p->file, path)) {
        st = SF_E_FORMAT;
        goto out;
    }
    char fmt[64];
    if (sf_h5pack_attr_string(p, "sf_format", fmt, sizeof fmt) != SF_OK ||
        strcmp(fmt, "shotfarm h5pack 1") != 0) {
        SF_ERROR("h5pack", "%s: not a shotfarm container (attribute sf_format)", path);
        st = SF_E_FORMAT;
        goto out;
    }
    *out = p;
    p = NULL;
out:
    if (fapl >= 0) H5Pclose(fapl);
    free(side);
    sf_h5pack_close(p);
    return st;
}

void sf_h5pack_close(struct sf_h5pack *p)
{
    if (!p) return;
    if (p->file >= 0) H5Fclose(p->file);
    free(p->image);
    free(p);
}

static int read_dtype_attr(hid_t ds, enum sf_dtype *t)
{
    char buf[16] = "";
    hid_t at = H5Aopen(ds, "sf_dtype", H5P_DEFAULT);
    if (at < 0) return SF_E_FORMAT;
    hid_t type = H5Aget_type(at);
    int st = SF_E_FORMAT;
    if (H5Tget_class(type) == H5T_STRING && H5Tget_size(type) < sizeof buf &&
        H5Aread(at, type, buf) >= 0 && sf_dtype_parse(buf, t) == 0)
        st = SF_OK;
    H5Tclose(type);
    H5Aclose(at);
    return st;
}

int sf_h5pack_describe(struct sf_h5pack *p, const char *name, struct sf_h5_array *out)
{
    if (H5Lexists(p->file, name, H5P_DEFAULT) <= 0) return SF_E_NOTFOUND;
    hid_t ds = H5Dopen2(p->file, name, H5P_DEFAULT);
    if (ds < 0) return SF_E_NOTFOUND;
    int st = SF_OK;
    hid_t space = H5Dget_space(ds);
    memset(out, 0, sizeof *out);
    out->name = name;
    int nd = H5Sget_simple_extent_ndims(space);
    if (nd < 0 || nd > SF_H5PACK_MAX_DIMS || read_dtype_attr(ds, &out->dtype) != SF_OK) {
        SF_ERROR("h5pack", "%s: array %s has an unsupported shape or dtype", p->path, name);
        st = SF_E_FORMAT;
    } else {
        hsize_t dims[SF_H5PACK_MAX_DIMS];
        H5Sget_simple_extent_dims(space, dims, NULL);
        out->ndim = nd;
        for (int d = 0; d < nd; d++) out->shape[d] = (int64_t)dims[d];
    }
    H5Sclose(space);
    H5Dclose(ds);
    return st;
}

int sf_h5pack_read(struct sf_h5pack *p, const char *name, enum sf_dtype want, void *buf,
                   size_t bytes)
{
    struct sf_h5_array a;
    int st = sf_h5pack_describe(p, name, &a);
    if (st == SF_E_NOTFOUND) SF_ERROR("h5pack", "%s: no array %s", p->path, name);
    if (st) return st;
    size_t n = 1;
    for (int d = 0; d < a.ndim; d++) n *= (size_t)a.shape[d];
    if (a.dtype != want || n * sf_dtype_size(a.dtype) != bytes) {
        SF_ERROR("h5pack", "%s: array %s is %s with %zu elements; expected %s with %zu",
                 p->path, name, sf_dtype_name(a.dtype), n, sf_dtype_name(want),
                 bytes / (sf_dtype_size(want) ? sf_dtype_size(want) : 1));
        return SF_E_FORMAT;
    }
    hid_t ds = H5Dopen2(p->file, name, H5P_DEFAULT);
    st = sf_h5_check(H5Dread(ds, h5_type(a.dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), name);
    H5Dclose(ds);
    return st ? SF_E_FORMAT : SF_OK;
}

static int read_attr(struct sf_h5pack *p, const char *name, hid_t mem_type, H5T_class_t cls,
                     void *out)
{
    if (H5Aexists(p->file, name) <= 0) return SF_E_NOTFOUND;
    hid_t at = H5Aopen(p->file, name, H5P_DEFAULT);
    hid_t type = H5Aget_type(at);
    int st = SF_E_FORMAT;
    if (H5Tget_class(type) == cls && H5Aread(at, mem_type, out) >= 0) st = SF_OK;
    H5Tclose(type);
    H5Aclose(at);
    if (st) SF_ERROR("h5pack", "%s: attribute %s has the wrong type", p->path, name);
    return st;
}

int sf_h5pack_attr_int(struct sf_h5pack *p, const char *name, int64_t *out)
{
    return read_attr(p, name, H5T_NATIVE_INT64, H5T_INTEGER, out);
}

int sf_h5pack_attr_double(struct sf_h5pack *p, const char *name, double *out)
{
    return read_attr(p, name, H5T_NATIVE_DOUBLE, H5T_FLOAT, out);
}

int sf_h5pack_attr_string(struct sf_h5pack *p, const char *name, char *buf, size_t n)
{
    if (H5Aexists(p->file, name) <= 0) return SF_E_NOTFOUND;
    hid_t at = H5Aopen(p->file, name, H5P_DEFAULT);
    hid_t type = H5Aget_type(at);
    int st = SF_E_FORMAT;
    if (H5Tget_class(type) == H5T_STRING && !H5Tis_variable_str(type)) {
        size_t sz = H5Tget_size(type);
        if (sz + 1 > n) {
            st = SF_E_INVAL;
        } else if (H5Aread(at, type, buf) >= 0) {
            buf[sz] = '\0';
            st = SF_OK;
        }
    }
    H5Tclose(type);
    H5Aclose(at);
    return st;
}

/* ---- walking the container (inspect) ------------------------------------------------------ */

struct walk {
    struct sf_h5pack *p;
    int (*on_array)(void *arg, const struct sf_h5_array *a);
    int (*on_attr)(void *arg, const struct sf_h5_attr *a);
    void *arg;
    int st;
};

static herr_t visit_object(hid_t obj, const char *name, const H5O_info_t *info, void *op)
{
    (void)obj;
    struct walk *w = op;
    if (info->type != H5O_TYPE_DATASET) return 0;
    struct sf_h5_array a;
    w->st = sf_h5pack_describe(w->p, name, &a);
    if (w->st == SF_OK) w->st = w->on_array(w->arg, &a);
    return w->st == SF_OK ? 0 : 1;
}

static herr_t visit_attr(hid_t loc, const char *name, const H5A_info_t *info, void *op)
{
    (void)loc;
    (void)info;
    struct walk *w = op;
    if (strcmp(name, "sf_format") == 0) return 0;
    struct sf_h5_attr a = {.name = name};
    char s[1024];
    hid_t at = H5Aopen(w->p->file, name, H5P_DEFAULT), type = at >= 0 ? H5Aget_type(at) : -1;
    const H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    if (type >= 0) H5Tclose(type);
    if (at >= 0) H5Aclose(at);
    if (cls == H5T_INTEGER && sf_h5pack_attr_int(w->p, name, &a.i) == SF_OK) {
        a.type = SF_H5_INT;
    } else if (cls == H5T_FLOAT && sf_h5pack_attr_double(w->p, name, &a.d) == SF_OK) {
        a.type = SF_H5_DOUBLE;
    } else if (cls == H5T_STRING && sf_h5pack_attr_string(w->p, name, s, sizeof s) == SF_OK) {
        a.type = SF_H5_STRING;
        a.s = s;
    } else {
        SF_ERROR("h5pack", "%s: attribute %s is not an integer, number or string", w->p->path,
                 name);
        w->st = SF_E_FORMAT;
        return 1;
    }
    w->st = w->on_attr(w->arg, &a);
    return w->st == SF_OK ? 0 : 1;
}

int sf_h5pack_walk(struct sf_h5pack *p, int (*on_array)(void *arg, const struct sf_h5_array *a),
                   int (*on_attr)(void *arg, const struct sf_h5_attr *a), void *arg)
{
    struct walk w = {p, on_array, on_attr, arg, SF_OK};
    if (on_array && H5Ovisit2(p->file, H5_INDEX_NAME, H5_ITER_INC, visit_object, &w, H5O_INFO_BASIC) < 0 &&
        w.st == SF_OK)
        w.st = sf_h5_check(-1, "list the arrays");
    if (w.st != SF_OK) return w.st;
    hsize_t idx = 0;
    if (on_attr && H5Aiterate2(p->file, H5_INDEX_NAME, H5_ITER_INC, &idx, visit_attr, &w) < 0 &&
        w.st == SF_OK)
        w.st = sf_h5_check(-1, "list the attributes");
    return w.st;
}
