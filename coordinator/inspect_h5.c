/* inspect_h5.c — `shotfarm inspect FILE.h5` (sf_inspect_h5.h): a checkpoint or final latent,
 * verified the way render verifies it (SHA-256 against the sidecar before HDF5 parses a byte),
 * then its attributes and arrays. Called by cmd_inspect.c for names ending in .h5. The subtle
 * thing: a file that fails verification is reported, not opened — inspect must be safe on the
 * damaged files it is used to diagnose. */
#define _POSIX_C_SOURCE 200809L
#include "sf_inspect_h5.h"
#include "sf_h5pack.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_status.h"

#include <stdio.h>
#include <string.h>

struct out {
    struct sf_jw *j; /* NULL: text */
    int list, n_arrays;
};

static int on_attr(void *arg, const struct sf_h5_attr *a)
{
    struct out *o = arg;
    if (o->j) {
        sf_jw_key(o->j, a->name);
        if (a->type == SF_H5_INT)
            sf_jw_int(o->j, a->i);
        else if (a->type == SF_H5_DOUBLE)
            sf_jw_num(o->j, a->d);
        else
            sf_jw_str(o->j, a->s);
        return SF_OK;
    }
    if (a->type == SF_H5_INT)
        printf("  %-12s %lld\n", a->name, (long long)a->i);
    else if (a->type == SF_H5_DOUBLE)
        printf("  %-12s %.17g\n", a->name, a->d);
    else
        printf("  %-12s %s\n", a->name, a->s);
    return SF_OK;
}

static int on_array(void *arg, const struct sf_h5_array *a)
{
    struct out *o = arg;
    o->n_arrays++;
    if (!o->list) return SF_OK;
    if (o->j) {
        sf_jw_obj_begin(o->j);
        sf_jw_key(o->j, "name"), sf_jw_str(o->j, a->name);
        sf_jw_key(o->j, "dtype"), sf_jw_str(o->j, sf_dtype_name(a->dtype));
        sf_jw_key(o->j, "shape"), sf_jw_arr_begin(o->j);
        for (int d = 0; d < a->ndim; d++)
            sf_jw_int(o->j, a->shape[d]);
        sf_jw_arr_end(o->j);
        sf_jw_obj_end(o->j);
        return SF_OK;
    }
    char shape[128] = "[]";
    int n = 0;
    for (int d = 0; d < a->ndim; d++)
        n += snprintf(shape + n, sizeof shape - (size_t)n, "%s%lld", d ? ", " : "[",
                      (long long)a->shape[d]);
    if (a->ndim) snprintf(shape + n, sizeof shape - (size_t)n, "]");
    printf("  %-28s %-5s %s\n", a->name, sf_dtype_name(a->dtype), shape);
    return SF_OK;
}

int sf_inspect_h5(const char *path, int json, int list)
{
    struct sf_h5pack *p = NULL;
    sf_log_error_mark();
    int st = sf_h5pack_open(path, &p);
    struct sf_jw j;
    struct out o = {json ? &j : NULL, list, 0};
    if (json) {
        sf_jw_init(&j, stdout, 2);
        sf_jw_obj_begin(&j);
        sf_jw_key(&j, "path"), sf_jw_str(&j, path);
        sf_jw_key(&j, "kind"), sf_jw_str(&j, "shotfarm HDF5 container");
        sf_jw_key(&j, "verified"), sf_jw_bool(&j, st == SF_OK);
        if (st) sf_jw_key(&j, "error"), sf_jw_str(&j, sf_log_first_error());
    } else {
        printf("path:       %s\n", path);
        printf("kind:       shotfarm HDF5 container (checkpoint or latent)\n");
        printf("verified:   %s\n", st == SF_OK ? "yes (SHA-256 matches the .sha256 sidecar)" : "no");
        if (st) printf("reason:     %s\n", sf_log_first_error());
    }
    if (st == SF_OK) {
        if (json) sf_jw_key(&j, "attributes"), sf_jw_obj_begin(&j);
        if (!json) printf("attributes:\n");
        st = sf_h5pack_walk(p, NULL, on_attr, &o);
        if (json) sf_jw_obj_end(&j), sf_jw_key(&j, "arrays"), sf_jw_arr_begin(&j);
        if (!json && list) printf("arrays:\n");
        if (st == SF_OK) st = sf_h5pack_walk(p, on_array, NULL, &o);
        if (json) sf_jw_arr_end(&j);
        if (!json && !list) printf("arrays:     %d\n", o.n_arrays);
    }
    if (json) {
        sf_jw_obj_end(&j);
        sf_jw_finish(&j);
    }
    sf_h5pack_close(p);
    return st;
}
