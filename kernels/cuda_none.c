/* cuda_none.c — sf_cuda.h for builds without CUDA: every entry point says "not built". */
#include "sf_cuda.h"
#include "sf_status.h"

#include <stdio.h>

int sf_cuda_built(void) { return 0; }
int sf_cuda_device_count(void) { return 0; }

void sf_cuda_describe(int dev, char *buf, size_t n)
{
    snprintf(buf, n, "no CUDA device %d: this build has no CUDA (SF_CUDA=OFF)", dev);
}

int sf_cuda_rmsnorm_f32_host(const float *x, const float *w, float *y, size_t rows, size_t cols,
                             float eps)
{
    (void)x; (void)w; (void)y; (void)rows; (void)cols; (void)eps;
    return SF_E_UNSUPPORTED;
}

int sf_cuda_backend_open(int dev, const struct sf_backend **out)
{
    (void)dev;
    *out = NULL;
    return SF_E_UNSUPPORTED;
}

void sf_cuda_backend_close(void) {}

double sf_cuda_bf16_peak_tflops(int dev)
{
    (void)dev;
    return 0.0;
}

int sf_cuda_mem_info(size_t *used, size_t *total)
{
    *used = *total = 0;
    return SF_E_UNSUPPORTED;
}

int sf_cuda_local_rank(void)
{
    return 0;
}
