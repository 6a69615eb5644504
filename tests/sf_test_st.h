/* sf_test_st.h — reading reference fixtures (safetensors) in tests: one tensor widened to fp32,
 * and the relative error the golden tests report. Include after sf_test.h; link sf_io. */
#ifndef SF_TEST_ST_H
#define SF_TEST_ST_H

#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_test.h"

#include <stdlib.h>

/* Tensor `name` of the safetensors file at path as fp32 (malloc'd; the caller frees it), its
 * element count in *n and, when shape is not NULL, its first 4 dims in shape (1 past n_dims).
 * NULL (and a counted failure) when the file or tensor is missing. */
static inline float *sf_test_load_f32(const char *path, const char *name, int64_t shape[4],
                                      size_t *n)
{
    struct sf_st *st = NULL;
    float *v = NULL;
    if (sf_st_open(path, &st) != SF_OK) {
        fprintf(stderr, "cannot open %s\n", path);
        sf_test_failures++;
        return NULL;
    }
    const struct sf_st_tensor *t = sf_st_find(st, name);
    CHECK(t != NULL);
    if (t) {
        *n = t->n_elems;
        for (int d = 0; d < 4 && shape; d++)
            shape[d] = d < t->n_dims ? t->shape[d] : 1;
        v = malloc(t->n_elems * sizeof *v);
        CHECK(sf_st_read_all(t, SF_DTYPE_F32, v, t->n_elems * sizeof *v) == SF_OK);
    }
    sf_st_close(st);
    return v;
}

/* max|got - ref| / max|ref|, what the golden tests print next to their tolerance. */
static inline double sf_test_rel_err(const float *got, const float *ref, size_t n)
{
    double worst = 0, amax = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]), r = fabs((double)ref[i]);
        worst = d > worst ? d : worst;
        amax = r > amax ? r : amax;
    }
    return amax > 0 ? worst / amax : worst;
}

/* A Wan2.1-VACE conditioning (96, T, h, w) of n floats against the reference's: its 32 latent
 * channels within 1e-4 of their own max|ref| (printing the error), its 64 mask channels equal
 * bit for bit. Failures are counted. */
static inline void sf_test_check_vace_cond(const char *what, const float *got, const float *ref,
                                           size_t n)
{
    const size_t lat = n / 96 * 32;
    char w[256];
    snprintf(w, sizeof w, "%s latent channels", what);
    if (sf_test_close_f32(w, got, ref, lat, 1e-4))
        fprintf(stderr, "%s: ok, max|a-b| = %.3g max|ref|\n", w, sf_test_rel_err(got, ref, lat));
    CHECK(memcmp(got + lat, ref + lat, (n - lat) * sizeof *got) == 0);
}

#endif
