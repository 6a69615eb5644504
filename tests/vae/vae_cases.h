/* vae_cases.h — shared by the VAE tests: the fixture directory, reading a case tensor of
 * tests/fixtures/vae/cases.safetensors as fp32, and running the shotfarm CLI. */
#ifndef SF_TEST_VAE_CASES_H
#define SF_TEST_VAE_CASES_H

#include "sf_safetensors.h"
#include "sf_test.h"

#include <stdlib.h>

static char vae_fixdir[1024];

static inline const char *vae_fixtures(void)
{
    const char *src = getenv("SF_SOURCE_DIR");
    snprintf(vae_fixdir, sizeof vae_fixdir, "%s/tests/fixtures/vae", src ? src : ".");
    return vae_fixdir;
}

/* The case tensor as malloc'ed fp32 with its shape (up to 5 dims), or NULL (a failed check). */
static inline float *vae_case(const struct sf_st *cases, const char *name, int64_t *shape,
                              int *ndim)
{
    const struct sf_st_tensor *t = sf_st_find(cases, name);
    CHECK(t != NULL);
    if (!t) return NULL;
    float *v = malloc(t->n_elems * sizeof *v);
    if (!v || sf_st_read_all(t, SF_DTYPE_F32, v, t->n_elems * sizeof *v)) {
        CHECK(!"read case");
        free(v);
        return NULL;
    }
    for (int i = 0; i < t->n_dims; i++) shape[i] = t->shape[i];
    if (ndim) *ndim = t->n_dims;
    return v;
}

#endif
