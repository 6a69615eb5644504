/* sf_backend.h — the backend table behind the free functions of sf_ops.h (ggml-backend style):
 * one struct of function pointers per backend, filled with designated initialisers. The CPU
 * backend is always present and active by default; a GPU backend (kernels/cuda) installs its own
 * table with sf_backend_set once it has device-resident twins. Slots marked optional may be NULL:
 * the dispatcher then falls back to the CPU slot.
 *
 *   const struct sf_backend *be = sf_backend_get();   // "cpu"
 *   be->layernorm(x, NULL, NULL, y, rows, cols, 1e-6f);   // same as sf_layernorm(...)
 */
#ifndef SF_BACKEND_H
#define SF_BACKEND_H

#include "sf_ops.h"

struct sf_backend {
    const char *name; /* "cpu", "cuda" */
    void (*linear)(const float *x, int64_t n, int64_t k, const struct sf_tensor *w,
                   const struct sf_tensor *bias, float *y);
    void (*gemm_f32)(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                     int64_t ldc);
    void (*layernorm)(const float *x, const float *w, const float *b, float *y, int64_t rows,
                      int64_t cols, float eps);
    void (*rmsnorm)(const float *x, const float *w, float *y, int64_t rows, int64_t cols,
                    float eps);
    void (*modulate)(const float *x, const float *shift, const float *scale, float *y, int64_t rows,
                     int64_t cols);
    void (*gelu_tanh)(float *x, int64_t n);
    void (*silu)(float *x, int64_t n);
    void (*rope3d_apply)(const struct sf_rope3d *r, float *x, int64_t tokens, int n_heads);
    void (*attention)(const float *q, int64_t q_stride, const float *k, int64_t k_stride,
                      const float *v, int64_t v_stride, float *out, int64_t out_stride, int64_t Lq,
                      int64_t Lk, int n_heads, int head_dim, int64_t k_valid, float scale);
    void (*conv3d)(const float *x, int64_t cin, const int64_t in_thw[3], const struct sf_tensor *w,
                   const struct sf_tensor *bias, const int stride[3], const int pad[6], float *y);
};

/* The CPU table (static storage, never NULL). */
const struct sf_backend *sf_backend_cpu(void);
/* The active table (the CPU one unless sf_backend_set installed another). */
const struct sf_backend *sf_backend_get(void);
/* Installs be as the active table (NULL restores the CPU one). Not thread-safe: call at
 * start-up, before compute threads run. NULL slots of be fall back to the CPU slots. */
void sf_backend_set(const struct sf_backend *be);

#endif
