/* linear.cu — the CUDA linear: y (n, m) = x (n, k) · W (m, k)^T + bias through cuBLASLt, fp32
 * accumulation. An fp32 weight runs an fp32 GEMM (CUBLAS_COMPUTE_32F: no TF32, so an fp32 model
 * matches the CPU to 1e-4); a bf16/fp16 weight, as stored, meets the activations rounded to its
 * dtype (x converted into the backend's scratch), the output stays fp32. The bias (any float
 * dtype) is added by a small kernel after the GEMM.
 *
 * Row-major to cuBLAS's column-major: y^T (m, n) = W · x^T, so A = W stored (k, m) with
 * op T, B = x stored (k, n) with op N, D = y^T stored (m, n): the "TN" layout every tensor-core
 * path supports. Algorithms come from cuBLASLt's heuristic once per (m, n, k, dtype, alignment)
 * and are cached. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <string.h>

#include "cuda_be.h"

#define PLANS 256

struct plan {
    int used;
    int64_t m, n, k;
    int dtype, align;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, d;
    cublasLtMatmulAlgo_t algo;
};
static struct plan plans[PLANS];

static void plan_free(struct plan *p)
{
    if (p->op) cublasLtMatmulDescDestroy(p->op);
    if (p->a) cublasLtMatrixLayoutDestroy(p->a);
    if (p->b) cublasLtMatrixLayoutDestroy(p->b);
    if (p->d) cublasLtMatrixLayoutDestroy(p->d);
    memset(p, 0, sizeof *p);
}

void sf_cuda_linear_release(void)
{
    for (int i = 0; i < PLANS; i++)
        if (plans[i].used) plan_free(&plans[i]);
}

/* The largest power of two (<= 256) dividing every pointer's address. */
static int alignment(const void *a, const void *b, const void *d)
{
    uintptr_t u = (uintptr_t)a | (uintptr_t)b | (uintptr_t)d;
    int al = 256;
    while (al > 1 && (u & (uintptr_t)(al - 1)))
        al >>= 1;
    return al;
}

/* The pointers' alignment (all four matrices) as a preference: the heuristic then offers only
 * algorithms that accept it. 1 on success. */
static int set_alignment(cublasLtMatmulPreference_t pref, uint32_t al)
{
    static const cublasLtMatmulPreferenceAttributes_t which[4] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    for (int i = 0; i < 4; i++)
        if (!LT_OK(cublasLtMatmulPreferenceSetAttribute(pref, which[i], &al, sizeof al),
                   "set a matmul alignment preference"))
            return 0;
    return 1;
}

static struct plan *get_plan(int64_t m, int64_t n, int64_t k, int dtype, int align)
{
    int free_slot = -1;
    for (int i = 0; i < PLANS; i++) {
        struct plan *p = &plans[i];
        if (!p->used) {
            if (free_slot < 0) free_slot = i;
            continue;
        }
        if (p->m == m && p->n == n && p->k == k && p->dtype == dtype && p->align == align) return p;
    }
    if (free_slot < 0) { /* full: drop one (shapes of one model fit many times over) */
        free_slot = (int)((m * 131 + n * 31 + k) % PLANS);
        plan_free(&plans[free_slot]);
    }
    struct plan *p = &plans[free_slot];
    cudaDataType_t ab = dtype == SF_DTYPE_BF16  ? CUDA_R_16BF
                        : dtype == SF_DTYPE_F16 ? CUDA_R_16F
                                                : CUDA_R_32F;
    cublasOperation_t tA = CUBLAS_OP_T, tB = CUBLAS_OP_N;
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t h;
    int found = 0;
    uint32_t al = (uint32_t)align;
    size_t ws = sf_cuda_be.workspace_bytes;
    p->m = m, p->n = n, p->k = k, p->dtype = dtype, p->align = align;
    if (!LT_OK(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F),
               "create a matmul descriptor") ||
        !LT_OK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &tA, sizeof tA),
               "set matmul transpose A") ||
        !LT_OK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tB, sizeof tB),
               "set matmul transpose B") ||
        !LT_OK(cublasLtMatrixLayoutCreate(&p->a, ab, (uint64_t)k, (uint64_t)m, k),
               "create the weight layout") ||
        !LT_OK(cublasLtMatrixLayoutCreate(&p->b, ab, (uint64_t)k, (uint64_t)n, k),
               "create the activation layout") ||
        !LT_OK(cublasLtMatrixLayoutCreate(&p->d, CUDA_R_32F, (uint64_t)m, (uint64_t)n, m),
               "create the output layout") ||
        !LT_OK(cublasLtMatmulPreferenceCreate(&pref), "create a matmul preference") ||
        !LT_OK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                    &ws, sizeof ws),
               "set the workspace size") ||
        !set_alignment(pref, al) ||
        !LT_OK(cublasLtMatmulAlgoGetHeuristic(sf_cuda_be.lt, p->op, p->a, p->b, p->d, p->d, pref, 1,
                                              &h, &found),
               "find a matmul algorithm")) {
        if (pref) cublasLtMatmulPreferenceDestroy(pref);
        plan_free(p);
        return NULL;
    }
    cublasLtMatmulPreferenceDestroy(pref);
    if (found < 1) {
        sf_cuda_lt_failed(CUBLAS_STATUS_NOT_SUPPORTED, "find a matmul algorithm (none fits)",
                          __FILE__, __LINE__);
        plan_free(p);
        return NULL;
    }
    p->algo = h.algo;
    p->used = 1;
    return p;
}

template <typename T> __device__ T from_f32(float v);
template <> __device__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v)
{
    return __float2bfloat16_rn(v);
}
template <> __device__ __half from_f32<__half>(float v)
{
    return __float2half_rn(v);
}

template <typename T> __global__ void convert_kernel(const float *x, T *y, int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = from_f32<T>(x[i]);
}

__global__ void bias_kernel(float *y, const void *b, int dtype, int64_t n, int64_t m)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n * m;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t c = i % m;
        float v = dtype == SF_DTYPE_BF16  ? __bfloat162float(((const __nv_bfloat16 *)b)[c])
                  : dtype == SF_DTYPE_F16 ? __half2float(((const __half *)b)[c])
                                          : ((const float *)b)[c];
        y[i] += v;
    }
}

static void op_linear(const float *x, int64_t n, int64_t k, const struct sf_tensor *w,
                      const struct sf_tensor *bias, float *y)
{
    if (!CU_LIVE() || n <= 0) return;
    int64_t m = sf_tensor_numel(w) / k;
    int dtype = (int)w->dtype;
    if (w->shape[w->ndim - 1] != k ||
        (dtype != SF_DTYPE_F32 && dtype != SF_DTYPE_BF16 && dtype != SF_DTYPE_F16)) {
        sf_cuda_failed(cudaErrorInvalidValue, "linear (weight shape or dtype)", __FILE__, __LINE__);
        return;
    }
    const void *xb = x;
    if (dtype != SF_DTYPE_F32) {
        void *s = sf_cuda_conv_scratch((size_t)(n * k) * 2);
        if (!s) return;
        if (dtype == SF_DTYPE_BF16)
            convert_kernel<<<sf_cuda_blocks(n * k, 256), 256, 0, sf_cuda_be.stream>>>(
                x, (__nv_bfloat16 *)s, n * k);
        else
            convert_kernel<<<sf_cuda_blocks(n * k, 256), 256, 0, sf_cuda_be.stream>>>(
                x, (__half *)s, n * k);
        if (!CU_LAUNCHED("convert activations for a GEMM")) return;
        xb = s;
    }
    struct plan *p = get_plan(m, n, k, dtype, alignment(w->data, xb, y));
    if (!p) return;
    const float one = 1.0f, zero = 0.0f;
    if (!LT_OK(cublasLtMatmul(sf_cuda_be.lt, p->op, &one, w->data, p->a, xb, p->b, &zero, y, p->d,
                              y, p->d, &p->algo, sf_cuda_be.workspace, sf_cuda_be.workspace_bytes,
                              sf_cuda_be.stream),
               "linear GEMM (cublasLtMatmul)"))
        return;
    if (bias && bias->data) {
        bias_kernel<<<sf_cuda_blocks(n * m, 256), 256, 0, sf_cuda_be.stream>>>(
            y, bias->data, (int)bias->dtype, n, m);
        CU_LAUNCHED("linear bias kernel");
    }
}

/* This file's slots of the CUDA table (backend.cu calls it when the backend opens). */
void sf_cuda_fill_linear(struct sf_backend *t)
{
    t->linear = op_linear;
}
