/* render_ckpt.c — denoise checkpoints (sf_ckpt.h). Called by unit_denoise.c on a group leader's
 * main thread (the process's HDF5 thread) after a step, and when a unit starts, to continue
 * from the newest checkpoint. The subtle things: a checkpoint is loaded into a scratch sampler
 * and checked whole (checksum before HDF5 parses it, then format, key, shape, settings and the
 * sampler's own invariants) before the caller's sampler is touched, so a bad file costs only a
 * fall back to the one before it; and pruning runs only after the new file and its sidecar are
 * both published, so at every instant at least one complete checkpoint exists once one was
 * written. */
#define _POSIX_C_SOURCE 200809L
#include "sf_ckpt.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_h5pack.h"
#include "sf_log.h"
#include "sf_sampler.h"
#include "sf_status.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_KEEP 64

void sf_ckpt_path(const char *dir, const char *stem, int step, char *out, size_t n)
{
    snprintf(out, n, "%s/%s.step%04d.h5", dir, stem, step);
}

/* The step of name when it is STEM.stepNNNN.h5 exactly, else -1. */
static int step_of(const char *name, const char *stem)
{
    size_t ls = strlen(stem);
    if (strncmp(name, stem, ls) != 0 || strncmp(name + ls, ".step", 5) != 0) return -1;
    const char *p = name + ls + 5;
    int k = 0, digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 9; p++, digits++)
        k = k * 10 + (*p - '0');
    return digits >= 4 && strcmp(p, ".h5") == 0 ? k : -1;
}

static int cmp_desc(const void *a, const void *b)
{
    return *(const int *)b - *(const int *)a;
}

int sf_ckpt_list(const char *dir, const char *stem, int *steps, int max)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0, all[MAX_KEEP];
    for (struct dirent *e; (e = readdir(d));) {
        int k = step_of(e->d_name, stem);
        if (k >= 0 && n < MAX_KEEP) all[n++] = k;
    }
    closedir(d);
    qsort(all, (size_t)n, sizeof *all, cmp_desc);
    for (int i = 0; i < n && i < max; i++)
        steps[i] = all[i];
    return n;
}

static int remove_step(const char *dir, const char *stem, int step)
{
    char p[4200], side[4300];
    sf_ckpt_path(dir, stem, step, p, sizeof p);
    snprintf(side, sizeof side, "%s.sha256", p);
    /* the sidecar first: a file left without one is never trusted */
    if (unlink(side) != 0 && errno != ENOENT) return sf_err_errno(errno, "remove", side);
    if (unlink(p) != 0 && errno != ENOENT) return sf_err_errno(errno, "remove", p);
    return SF_OK;
}

int sf_ckpt_remove_all(const char *dir, const char *stem)
{
    int steps[MAX_KEEP];
    int n = sf_ckpt_list(dir, stem, steps, MAX_KEEP);
    int st = SF_OK;
    for (int i = 0; i < n && i < MAX_KEEP && st == SF_OK; i++)
        st = remove_step(dir, stem, steps[i]);
    if (n > 0 && st == SF_OK) {
        char any[4200];
        sf_ckpt_path(dir, stem, 0, any, sizeof any);
        sf_file_sync_dir(any);
    }
    return st;
}

int sf_ckpt_write(const char *dir, const char *stem, const struct sf_sampler *s,
                  const struct sf_ckpt_meta *m, char *path, size_t n)
{
    struct sf_sampler_field f[SF_SAMPLER_MAX_FIELDS];
    struct sf_h5_array a[SF_SAMPLER_MAX_FIELDS];
    char names[SF_SAMPLER_MAX_FIELDS][40];
    const int nf = sf_sampler_fields((struct sf_sampler *)s, f);
    int na = 0;
    for (int i = 0; i < nf; i++) {
        struct sf_h5_array *x = &a[na++];
        memset(x, 0, sizeof *x);
        if (strcmp(f[i].name, "x") == 0) { /* the sample is the latent, with its shape */
            x->name = "latent";
            x->ndim = 4;
            memcpy(x->shape, m->shape, sizeof m->shape);
        } else {
            snprintf(names[i], sizeof names[i], "sampler/%s", f[i].name);
            x->name = names[i];
            x->ndim = f[i].ndim;
            memcpy(x->shape, f[i].shape, sizeof f[i].shape);
        }
        x->dtype = f[i].dtype;
        x->data = f[i].data;
    }
    const struct sf_h5_attr at[] = {
        {.name = "format", .type = SF_H5_STRING, .s = SF_CKPT_FORMAT},
        {.name = "unit", .type = SF_H5_STRING, .s = m->unit},
        {.name = "key", .type = SF_H5_STRING, .s = m->key},
        {.name = "model", .type = SF_H5_STRING, .s = m->model},
        {.name = "step", .type = SF_H5_INT, .i = s->step},
        {.name = "steps", .type = SF_H5_INT, .i = s->n_steps},
        {.name = "seed", .type = SF_H5_INT, .i = m->seed},
        {.name = "aspect", .type = SF_H5_INT, .i = m->aspect},
    };
    sf_ckpt_path(dir, stem, s->step, path, n);
    int st = sf_h5pack_write(path, a, na, at, (int)(sizeof at / sizeof at[0]));
    if (st) return st; /* logged with the path; the previous checkpoint is untouched */
    /* keep this one and the newest before it; anything newer was not resumed from */
    int steps[MAX_KEEP], kept_older = 0, removed = 0;
    int k = sf_ckpt_list(dir, stem, steps, MAX_KEEP);
    for (int i = 0; i < k && i < MAX_KEEP && st == SF_OK; i++) {
        if (steps[i] == s->step) continue;
        if (steps[i] < s->step && !kept_older) {
            kept_older = 1;
            continue;
        }
        st = remove_step(dir, stem, steps[i]);
        removed++;
    }
    if (removed) sf_file_sync_dir(path);
    return st;
}

/* Loads checkpoint `path` into t (a scratch sampler with the unit's settings) when it belongs
 * to m; why[] says what disqualified it otherwise. */
static int try_load(const char *path, const struct sf_ckpt_meta *m, struct sf_sampler *t,
                    char *why, size_t wn)
{
    struct sf_h5pack *p = NULL;
    char s[256];
    int st = sf_h5pack_open(path, &p);
    if (st) {
        snprintf(why, wn, "%s", st == SF_E_CHECKSUM ? "it fails its checksum (a torn or "
                                                      "damaged write)"
                                                    : "it is not a valid container");
        goto out;
    }
    st = SF_E_FORMAT;
    if (sf_h5pack_attr_string(p, "format", s, sizeof s) || strcmp(s, SF_CKPT_FORMAT) != 0) {
        snprintf(why, wn, "attribute format is not %s", SF_CKPT_FORMAT);
        goto out;
    }
    if (sf_h5pack_attr_string(p, "key", s, sizeof s) || strcmp(s, m->key) != 0) {
        snprintf(why, wn, "it was written for other inputs (key %.12s…, the unit's is %.12s…)",
                 s, m->key);
        goto out;
    }
    struct sf_h5_array d;
    if (sf_h5pack_describe(p, "latent", &d) || d.ndim != 4 ||
        memcmp(d.shape, m->shape, sizeof m->shape) != 0) {
        snprintf(why, wn, "its latent is not (%lld, %lld, %lld, %lld)", (long long)m->shape[0],
                 (long long)m->shape[1], (long long)m->shape[2], (long long)m->shape[3]);
        goto out;
    }
    struct sf_sampler_field f[SF_SAMPLER_MAX_FIELDS];
    const int nf = sf_sampler_fields(t, f);
    for (int i = 0; i < nf; i++) {
        char name[48];
        snprintf(name, sizeof name, "sampler/%s", f[i].name);
        size_t bytes = sf_dtype_size(f[i].dtype);
        for (int k = 0; k < f[i].ndim; k++)
            bytes *= (size_t)f[i].shape[k];
        if (i < SF_SAMPLER_N_CONFIG) { /* the unit's settings: compare, never overwrite */
            char v[8];
            if (sf_h5pack_read(p, name, f[i].dtype, v, bytes) || memcmp(v, f[i].data, bytes)) {
                snprintf(why, wn, "its sampler setting %s differs from the unit's", f[i].name);
                goto out;
            }
            continue;
        }
        const char *src = strcmp(f[i].name, "x") == 0 ? "latent" : name;
        if (sf_h5pack_read(p, src, f[i].dtype, f[i].data, bytes)) {
            snprintf(why, wn, "array %s is missing or has the wrong size", src);
            goto out;
        }
    }
    if (sf_sampler_validate(t, path)) {
        snprintf(why, wn, "its sampler state is inconsistent");
        goto out;
    }
    st = SF_OK;
out:
    sf_h5pack_close(p);
    return st;
}

int sf_ckpt_load_latest(const char *dir, const char *stem, const struct sf_ckpt_meta *m,
                        struct sf_sampler *s, char *path, size_t n)
{
    int steps[MAX_KEEP];
    int k = sf_ckpt_list(dir, stem, steps, MAX_KEEP);
    if (k <= 0) return SF_E_NOTFOUND;
    struct sf_sampler *t = NULL;
    int st = sf_sampler_create(s->kind, s->schedule, s->n_steps, s->shift, s->guidance, s->n,
                               NULL, &t);
    if (st) return st;
    st = SF_E_NOTFOUND;
    for (int i = 0; i < k && i < MAX_KEEP; i++) {
        char p[4200], why[256] = "";
        sf_ckpt_path(dir, stem, steps[i], p, sizeof p);
        if (try_load(p, m, t, why, sizeof why) != SF_OK) {
            SF_WARN("ckpt", "%s: not used: %s; trying the one before it", p, why);
            continue;
        }
        /* the whole state moves over: same settings, so same shapes */
        struct sf_sampler_field ft[SF_SAMPLER_MAX_FIELDS], fs[SF_SAMPLER_MAX_FIELDS];
        const int nf = sf_sampler_fields(t, ft);
        SF_ASSERT(sf_sampler_fields(s, fs) == nf);
        for (int j = SF_SAMPLER_N_CONFIG; j < nf; j++) {
            size_t bytes = sf_dtype_size(ft[j].dtype);
            for (int q = 0; q < ft[j].ndim; q++)
                bytes *= (size_t)ft[j].shape[q];
            memcpy(fs[j].data, ft[j].data, bytes);
        }
        snprintf(path, n, "%s", p);
        st = SF_OK;
        break;
    }
    sf_sampler_destroy(t);
    return st;
}
