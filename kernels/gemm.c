/* gemm.c — the GEMMs of the CPU backend: sf_gemm_f32 (general fp32) and sf_linear (activations
 * times a weight of any float dtype), both cut into tiles whose boundaries depend only on the
 * shapes and run on our pool, each tile through a single-threaded sgemm (OpenBLAS, or the
 * portable blocked one of simd_body.h in SF_MINIMAL builds). Called by every model layer.
 *
 * sf_linear never expands a weight: a tile of LIN_TN output features (LIN_TN x k) is converted
 * from bf16/fp16 into the running thread's scratch buffer and reused for every row block the
 * thread takes while it still holds that tile (items are ordered tile-major). Each output
 * element is computed by exactly one sgemm call whose shape does not depend on the thread count,
 * so results are bit-identical for any --threads. */
#include <limits.h>
#include <stdatomic.h>
#include <string.h>

#include "cpu.h"
#include "sf_status.h"

#ifdef SF_HAVE_OPENBLAS
#include <cblas.h>
#endif

#define LIN_TN 384                  /* output features per weight tile */
#define LIN_TM 1024                 /* activation rows per item */
#define GEMM_TM 256                 /* sf_gemm_f32 tile rows */
#define GEMM_TN 512                 /* sf_gemm_f32 tile columns */
#define GEMM_SERIAL_FLOPS (1 << 22) /* below this, one call on the caller's thread */

void sf_cpu_sgemm_serial(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc)
{
    if (M <= 0 || N <= 0) return;
#ifdef SF_HAVE_OPENBLAS
    sf_threads_count(); /* the first call sets OpenBLAS to one thread (threads.c) */
    SF_ASSERT(M < INT_MAX && N < INT_MAX && K < INT_MAX && lda < INT_MAX && ldb < INT_MAX &&
              ldc < INT_MAX);
    if (K <= 0) { /* cblas rejects lda < 1 for K == 0 on some paths: scale C ourselves */
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha, A, (int)lda, B,
                (int)ldb, beta, C, (int)ldc);
#else
    sf_cpu_simd()->sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

/* ---- sf_gemm_f32 -------------------------------------------------------------------------- */

struct gemm_job {
    int ta, tb;
    int64_t M, N, K, lda, ldb, ldc, n_tiles_n;
    float alpha, beta;
    const float *A, *B;
    float *C;
};

static void gemm_item(void *ctx, int64_t item)
{
    const struct gemm_job *g = ctx;
    int64_t i0 = item / g->n_tiles_n * GEMM_TM, j0 = item % g->n_tiles_n * GEMM_TN;
    int64_t m = g->M - i0 < GEMM_TM ? g->M - i0 : GEMM_TM;
    int64_t n = g->N - j0 < GEMM_TN ? g->N - j0 : GEMM_TN;
    const float *a = g->ta ? g->A + i0 : g->A + i0 * g->lda;
    const float *b = g->tb ? g->B + j0 * g->ldb : g->B + j0;
    sf_cpu_sgemm_serial(g->ta, g->tb, m, n, g->K, g->alpha, a, g->lda, b, g->ldb, g->beta,
                        g->C + i0 * g->ldc + j0, g->ldc);
}

void sf_cpu_gemm_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                     int64_t ldc)
{
    if (M <= 0 || N <= 0) return;
    if ((double)M * N * K * 2 < GEMM_SERIAL_FLOPS) {
        sf_cpu_sgemm_serial(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    struct gemm_job g = {.ta = trans_a,
                         .tb = trans_b,
                         .M = M,
                         .N = N,
                         .K = K,
                         .lda = lda,
                         .ldb = ldb,
                         .ldc = ldc,
                         .alpha = alpha,
                         .beta = beta,
                         .A = A,
                         .B = B,
                         .C = C,
                         .n_tiles_n = (N + GEMM_TN - 1) / GEMM_TN};
    sf_parallel_for((M + GEMM_TM - 1) / GEMM_TM * g.n_tiles_n, gemm_item, &g);
}

/* ---- sf_linear ---------------------------------------------------------------------------- */

struct linear_job {
    uint64_t call; /* distinct per sf_linear call: a held tile is reused within one call only */
    const float *x;
    int64_t n, k, m, n_row_blocks;
    const struct sf_tensor *w, *bias;
    float *y;
};

/* The tile this thread holds converted in SCRATCH_LINEAR_W (to skip re-converting it). */
static _Thread_local struct {
    uint64_t call;
    int64_t j0;
} held;
static atomic_uint_fast64_t linear_calls;

static void linear_item(void *ctx, int64_t item)
{
    const struct linear_job *L = ctx;
    int64_t j0 = item / L->n_row_blocks * LIN_TN, i0 = item % L->n_row_blocks * LIN_TM;
    int64_t tn = L->m - j0 < LIN_TN ? L->m - j0 : LIN_TN;
    int64_t rows = L->n - i0 < LIN_TM ? L->n - i0 : LIN_TM;
    size_t es = sf_dtype_size(L->w->dtype);
    const float *wt;
    if (L->w->dtype == SF_DTYPE_F32) {
        wt = (const float *)L->w->data + j0 * L->k;
    } else {
        float *buf = sf_cpu_scratch(SCRATCH_LINEAR_W, (size_t)LIN_TN * L->k * sizeof(float));
        if (held.call != L->call || held.j0 != j0) {
            sf_convert_to_f32(L->w->dtype, (const char *)L->w->data + (size_t)j0 * L->k * es, buf,
                              (size_t)(tn * L->k));
            held.call = L->call;
            held.j0 = j0;
        }
        wt = buf;
    }
    float *y = L->y + i0 * L->m + j0;
    sf_cpu_sgemm_serial(0, 1, rows, tn, L->k, 1.0f, L->x + i0 * L->k, L->k, wt, L->k, 0.0f, y,
                        L->m);
    if (L->bias) {
        float *b = sf_cpu_scratch(SCRATCH_LINEAR_BIAS, LIN_TN * sizeof(float));
        sf_convert_to_f32(L->bias->dtype,
                          (const char *)L->bias->data + (size_t)j0 * sf_dtype_size(L->bias->dtype),
                          b, (size_t)tn);
        const struct cpu_simd *s = sf_cpu_simd();
        for (int64_t r = 0; r < rows; r++)
            s->add(y + r * L->m, b, tn);
    }
}

void sf_cpu_linear(const float *x, int64_t n, int64_t k, const struct sf_tensor *w,
                   const struct sf_tensor *bias, float *y)
{
    SF_ASSERT(w && w->ndim >= 1 && w->shape[w->ndim - 1] == k && k > 0);
    int64_t m = sf_tensor_numel(w) / k;
    SF_ASSERT(!bias || sf_tensor_numel(bias) == m);
    if (n <= 0 || m <= 0) return;
    /* A weight buffer may be rewritten between calls at the same address (a streaming loader's
     * slot), so a converted tile is only trusted within the call that converted it. */
    struct linear_job L = {.call = atomic_fetch_add(&linear_calls, 1) + 1,
                           .x = x,
                           .n = n,
                           .k = k,
                           .m = m,
                           .w = w,
                           .bias = bias,
                           .y = y,
                           .n_row_blocks = (n + LIN_TM - 1) / LIN_TM};
    sf_parallel_for((m + LIN_TN - 1) / LIN_TN * L.n_row_blocks, linear_item, &L);
}
