/* gpu_test.h — helpers of the GPU parity tests: the CUDA backend opened (or the reason there is
 * none, for the skip line), host <-> device copies through the backend table, and the pass line
 * each comparison prints with its measured error (so a GPU run's log states the numbers). */
#ifndef SF_GPU_TEST_H
#define SF_GPU_TEST_H

#include "sf_backend.h"
#include "sf_cuda.h"
#include "sf_status.h"
#include "sf_test.h"

/* The CUDA backend, or NULL after printing why the GPU half is skipped. */
static inline const struct sf_backend *gpu_test_open(const char *test)
{
    const struct sf_backend *be = NULL;
    if (sf_cuda_device_count() <= 0) {
        char why[256];
        sf_cuda_describe(0, why, sizeof why);
        fprintf(stderr, "%s: GPU half skipped: %s\n", test, why);
        return NULL;
    }
    if (sf_cuda_backend_open(-1, &be) != SF_OK) {
        fprintf(stderr, "%s: a device is visible but the CUDA backend did not open\n", test);
        sf_test_failures++;
        return NULL;
    }
    return be;
}

/* n floats (or bytes for the _bytes form) copied to new device memory; NULL host: zeros. */
static inline void *gpu_test_dev_bytes(const struct sf_backend *be, const void *host, size_t bytes)
{
    void *d = NULL;
    if (be->alloc(&d, bytes) != SF_OK) {
        fprintf(stderr, "device allocation of %zu bytes failed\n", bytes);
        exit(1);
    }
    if (host)
        be->upload(d, host, bytes);
    else
        be->zero(d, bytes);
    return d;
}
static inline float *gpu_test_dev(const struct sf_backend *be, const float *host, size_t n)
{
    return (float *)gpu_test_dev_bytes(be, host, n * sizeof(float));
}

/* The device buffer back on the host (malloc'd, the caller frees); a failed backend status is
 * a test failure. */
static inline float *gpu_test_host(const struct sf_backend *be, const float *d, size_t n)
{
    float *h = malloc(n * sizeof *h + 1);
    if (!h) exit(1);
    be->download(h, d, n * sizeof *h);
    int st = be->status();
    if (st != SF_OK) {
        fprintf(stderr, "CUDA backend status %s after an op (logged above)\n", sf_status_str(st));
        sf_test_failures++;
    }
    return h;
}

/* sf_test_close_f32 plus a line with the measured error when it passes. */
static inline int gpu_test_close(const char *what, const float *got, const float *ref, size_t n,
                                 double k)
{
    int ok = sf_test_close_f32(what, got, ref, n, k);
    if (ok) {
        double maxref = 0, worst = 0;
        for (size_t i = 0; i < n; i++) {
            double r = fabs((double)ref[i]), d = fabs((double)got[i] - (double)ref[i]);
            if (r > maxref) maxref = r;
            if (d > worst) worst = d;
        }
        fprintf(stderr, "  ok  %-48s max|a-b| = %.3g max|ref| (tolerance %.0e)\n", what,
                maxref > 0 ? worst / maxref : worst, k);
    }
    return ok;
}

#endif
