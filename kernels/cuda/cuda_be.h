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
    int device;          /* cudaSetDevice index, -1 before sf_cuda_backend_open */
    char name[128];      /* "NVIDIA H100 80GB HBM3" */
    cudaStream_t stream; /* every op, copy and GEMM of the backend */
    cublasLtHandle_t lt;
    void *workspace; /* cuBLASLt workspace */
    size_t workspace_bytes;
    void *conv; /* activations converted to a GEMM's bf16/fp16 input */
    size_t conv_bytes;
    int status; /* SF_OK, or SF_E_CUDA after the first failure */
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

/* Each op file puts its slots into the table; backend.cu calls these when the backend opens. */
void sf_cuda_fill_linear(struct sf_backend *t);    /* linear.cu: linear */
void sf_cuda_fill_attention(struct sf_backend *t); /* attention.cu: attention, attention_bf16 */
void sf_cuda_fill_ops(struct sf_backend *t);       /* ops.cu: norms, RoPE, conv3d, glue */
void sf_cuda_fill_rmsnorm(struct sf_backend *t);   /* rmsnorm.cu: rmsnorm */
/* Frees the linear's cached cuBLASLt plans (backend close). */
void sf_cuda_linear_release(void);

#endif
