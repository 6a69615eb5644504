/* umt5_test_util.h — helpers shared by the umT5 tests: run the real `shotfarm` binary with its
 * stderr captured, and read tensors of a safetensors file as fp32 / int64. */
#ifndef UMT5_TEST_UTIL_H
#define UMT5_TEST_UTIL_H

#include "sf_safetensors.h"
#include "sf_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static inline const char *env_or_die(const char *name)
{
    const char *v = getenv(name);
    if (!v) {
        fprintf(stderr, "%s is not set (run under ctest)\n", name);
        exit(1);
    }
    return v;
}

/* Runs `SF_LOG=warn $SF_SHOTFARM args` (so stderr holds only warnings and errors) with stderr
 * into err_path; returns the exit code (-1 on a signal).
 * *lines gets the number of stderr lines, err (size n) their text. */
static inline int run_shotfarm(const char *args, const char *err_path, int *lines, char *err,
                               size_t n)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "SF_LOG=warn '%s' %s 2>'%s' >/dev/null", env_or_die("SF_SHOTFARM"),
             args, err_path);
    int rc = system(cmd);
    int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    FILE *f = fopen(err_path, "r");
    size_t got = f ? fread(err, 1, n - 1, f) : 0;
    err[got] = 0;
    if (f) fclose(f);
    *lines = 0;
    for (size_t i = 0; i < got; i++)
        *lines += err[i] == '\n';
    return code;
}

/* The tensor `name` of st converted to fp32 (malloc'd), or NULL with a failed check. */
static inline float *read_f32(struct sf_st *st, const char *name, uint64_t *n)
{
    const struct sf_st_tensor *t = sf_st_find(st, name);
    CHECK(t != NULL);
    if (!t) return NULL;
    float *p = malloc(t->n_elems * sizeof *p);
    CHECK(sf_st_read_all(t, SF_DTYPE_F32, p, t->n_elems * sizeof *p) == 0);
    if (n) *n = t->n_elems;
    return p;
}

static inline int64_t *read_i64(struct sf_st *st, const char *name, uint64_t *n)
{
    const struct sf_st_tensor *t = sf_st_find(st, name);
    CHECK(t != NULL && t->dtype == SF_DTYPE_I64);
    if (!t || t->dtype != SF_DTYPE_I64) return NULL;
    int64_t *p = malloc(t->n_elems * sizeof *p);
    CHECK(sf_st_read_all(t, SF_DTYPE_I64, p, t->n_elems * sizeof *p) == 0);
    if (n) *n = t->n_elems;
    return p;
}

#endif
