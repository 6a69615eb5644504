/* cuda_be.h — private to kernels/cuda: the one CUDA backend instance of a process (its device,
 * stream, cuBLASLt handle and workspace, and the sticky first error), the error macros every
 * .cu file uses, and the op entry points backend.cu puts into the table. Every op launches on
 * the backend's stream and returns at once; after a failure (logged once, naming the operation
 * and the device) later ops do nothing until sf_backend.status reports and clears it. */
#ifndef SF_CUDA_BE_H
#define SF_CUDA_BE_H

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "sf_backend.h"
#include "sf_log.h"
#include "sf_status.h"
}

struct cuda_be {
    int device;              /* cudaSetDevice index, -1 before sf_cuda_backend_open */
    char name[128];          /* "NVIDIA H100 80GB HBM3" */
    cudaStream_t stream;     /* every op, copy and GEMM of the backend */
    cublasLtHandle_t lt;
    void *workspace;         /* cuBLASLt workspace */
    size_t workspace_bytes;
    void *conv;              /* activations converted to a GEMM's bf16/fp16 input */
    size_t conv_bytes;
    int status;              /* SF_OK, or SF_E_CUDA after the first failure */
};
extern struct cuda_be sf_cuda_be;

/* Records a failed CUDA runtime call: logs what was being done, the device and CUDA's message,
 * sets the sticky status. Returns 1 when e is a failure. */
int sf_cuda_failed(cudaError_t e, const char *what, const char *file, int line);
int sf_cuda_lt_failed(cublasStatus_t s, const char *what, const char *file, int line);
static inline int sf_cuda_ok(cudaError_t e, const char *what, const char *file, int line)
{
    return !sf_cuda_failed(e, what, file, line);
}
static inline int sf_cuda_lt_ok(cublasStatus_t s, const char *what, const char *file, int line)
{
    return !sf_cuda_lt_failed(s, what, file, line);
}
/* 1 when the call succeeded; else logged and recorded (the result may be ignored). */
#define CU_OK(call, what) sf_cuda_ok((call), (what), __FILE__, __LINE__)
#define LT_OK(call, what) sf_cuda_lt_ok((call), (what), __FILE__, __LINE__)
/* After a kernel launch: the launch error, if any. */
#define CU_LAUNCHED(what) CU_OK(cudaGetLastError(), (what))
/* Ops do nothing once the backend has failed (the caller learns through status()). */
#define CU_LIVE() (sf_cuda_be.status == SF_OK)

/* Scratch of the backend (grown, never shrunk; the first forward pass sizes it): NULL after a
 * failure (logged). */
void *sf_cuda_conv_scratch(size_t bytes);

/* Grid size for n elements at `threads` per block, capped (kernels loop grid-stride). */
static inline unsigned sf_cuda_blocks(int64_t n, int threads)
{
    int64_t b = (n + threads - 1) / threads;
    if (b < 1) b = 1;
    if (b > 65535LL * 16) b = 65535LL * 16;
    return (unsigned)b;
}

/* The table's op slots (ops.cu, linear.cu, attention.cu). */
void sf_cuda_op_linear(const float *x, int64_t n, int64_t k, const struct sf_tensor *w,
                       const struct sf_tensor *bias, float *y);
void sf_cuda_op_layernorm(const float *x, const float *w, const float *b, float *y, int64_t rows,
                          int64_t cols, float eps);
void sf_cuda_op_rmsnorm(const float *x, const float *w, float *y, int64_t rows, int64_t cols,
                        float eps);
void sf_cuda_op_layernorm_modulate(const float *x, float *y, int64_t rows, int64_t cols,
                                   float eps, const float *shift, const float *scale,
                                   int64_t group_rows, int64_t stride);
void sf_cuda_op_modulate(const float *x, const float *shift, const float *scale, float *y,
                         int64_t rows, int64_t cols);
void sf_cuda_op_gelu_tanh(float *x, int64_t n);
void sf_cuda_op_silu(float *x, int64_t n);
void sf_cuda_op_rope3d_apply(const struct sf_rope3d *r, float *x, int64_t tokens, int n_heads);
void sf_cuda_op_attention(const float *q, int64_t q_stride, const float *k, int64_t k_stride,
                          const float *v, int64_t v_stride, float *out, int64_t out_stride,
                          int64_t Lq, int64_t Lk, int n_heads, int head_dim, int64_t k_valid,
                          float scale);
void sf_cuda_op_attention_bf16(const float *q, int64_t q_stride, const float *k,
                               int64_t k_stride, const float *v, int64_t v_stride, float *out,
                               int64_t out_stride, int64_t Lq, int64_t Lk, int n_heads,
                               int head_dim, int64_t k_valid, float scale);
void sf_cuda_op_conv3d(const float *x, int64_t cin, const int64_t in_thw[3],
                       const struct sf_tensor *w, const struct sf_tensor *bias,
                       const int stride[3], const int pad[6], float *y);
void sf_cuda_op_add_gated(float *x, const float *y, const float *gate, int64_t gate_stride,
                          int64_t group_rows, int64_t rows, int64_t cols);
void sf_cuda_op_axpy(float *y, float a, const float *x, int64_t n);
void sf_cuda_op_add_bcast(float *y, int64_t y_stride, const float *a, int64_t a_stride,
                          const float *b, int64_t rows, int64_t cols);
void sf_cuda_op_transpose(const float *x, int64_t rows, int64_t cols, float *y);
void sf_cuda_op_sumsq_rows(const float *x, int64_t rows, int64_t cols, double *ss);
void sf_cuda_op_rms_scale(float *x, const double *ss, const float *w, int64_t rows, int64_t cols,
                          int64_t n_total, float eps);
/* Frees the linear's cached cuBLASLt plans (backend close). */
void sf_cuda_linear_release(void);

#endif
