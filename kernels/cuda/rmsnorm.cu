/* rmsnorm.cu — GPU twin of sf_cpu_rmsnorm_f32 and the backend's rmsnorm slot: one block per row,
 * a block-wide tree reduction of the sum of squares in double (as the CPU twin), then the scaled
 * write. x and y may alias (each element is read before it is written, by the same thread). */
#include "check.h"
#include "cuda_be.h"
extern "C" {
#include "sf_cuda.h"
}

#define RMS_THREADS 256

__global__ void rmsnorm_f32_kernel(const float *x, const float *w, float *y, size_t cols,
                                   float eps)
{
    __shared__ double partial[RMS_THREADS];
    const float *xr = x + blockIdx.x * cols;
    float *yr = y + blockIdx.x * cols;
    double ss = 0.0;
    for (size_t c = threadIdx.x; c < cols; c += blockDim.x) ss += (double)xr[c] * xr[c];
    partial[threadIdx.x] = ss;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
        __syncthreads();
    }
    float inv = (float)(1.0 / sqrt(partial[0] / (double)cols + (double)eps));
    for (size_t c = threadIdx.x; c < cols; c += blockDim.x)
        yr[c] = xr[c] * inv * (w ? w[c] : 1.0f);
}

extern "C" int sf_cuda_rmsnorm_f32_host(const float *x, const float *w, float *y, size_t rows,
                                        size_t cols, float eps)
{
    int st = SF_OK;
    float *d_x = NULL, *d_w = NULL, *d_y = NULL;
    size_t bytes = rows * cols * sizeof(float);
    SF_CUDA_TRY(st, cudaMalloc((void **)&d_x, bytes), "allocate rmsnorm input");
    SF_CUDA_TRY(st, cudaMalloc((void **)&d_y, bytes), "allocate rmsnorm output");
    SF_CUDA_TRY(st, cudaMemcpy(d_x, x, bytes, cudaMemcpyHostToDevice), "copy rmsnorm input");
    if (w) {
        SF_CUDA_TRY(st, cudaMalloc((void **)&d_w, cols * sizeof(float)), "allocate rmsnorm weight");
        SF_CUDA_TRY(st, cudaMemcpy(d_w, w, cols * sizeof(float), cudaMemcpyHostToDevice),
                    "copy rmsnorm weight");
    }
    if (rows > 0) {
        rmsnorm_f32_kernel<<<(unsigned)rows, RMS_THREADS>>>(d_x, d_w, d_y, cols, eps);
        SF_CUDA_TRY(st, cudaGetLastError(), "launch rmsnorm kernel");
    }
    SF_CUDA_TRY(st, cudaMemcpy(y, d_y, bytes, cudaMemcpyDeviceToHost), "copy rmsnorm output");
out:
    cudaFree(d_x);
    cudaFree(d_w);
    cudaFree(d_y);
    return st;
}

static void op_rmsnorm(const float *x, const float *w, float *y, int64_t rows, int64_t cols,
                       float eps)
{
    if (!CU_LIVE() || rows <= 0 || cols <= 0) return;
    rmsnorm_f32_kernel<<<(unsigned)rows, RMS_THREADS, 0, sf_cuda_be.stream>>>(x, w, y,
                                                                               (size_t)cols, eps);
    CU_LAUNCHED("rmsnorm kernel");
}

/* This file's slots of the CUDA table (backend.cu calls it when the backend opens). */
void sf_cuda_fill_rmsnorm(struct sf_backend *t)
{
    t->rmsnorm = op_rmsnorm;
}
