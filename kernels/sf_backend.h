/* sf_backend.h — the backend table behind the free functions of sf_ops.h (ggml-backend style):
 * one struct of function pointers per backend, filled with designated initialisers. The CPU
 * backend is always present and active by default; a GPU backend (kernels/cuda) installs its own
 * table with sf_backend_set once it has device-resident twins. Slots marked optional may be NULL:
 * the dispatcher then falls back to the CPU slot.
 *
 * A model can also hold a table of its own (the DiT: struct sf_dit_opts.backend) and call its
 * slots directly with buffers in that backend's memory (the memory slots below): that is how the
 * DiT runs on a GPU while the VAE and text encoder of the same process use the CPU through the
 * free functions. Such a device table fills every slot the model calls.
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
    /* optional: layernorm (no affine) then modulate in one pass, y[r] = LN(x[r]) * (1 + scale)
     * + shift with row r's shift/scale at shift + (r / group_rows) * stride (scale likewise);
     * NULL: callers run layernorm, then modulate per group. */
    void (*layernorm_modulate)(const float *x, float *y, int64_t rows, int64_t cols, float eps,
                               const float *shift, const float *scale, int64_t group_rows,
                               int64_t stride);
    void (*gelu_tanh)(float *x, int64_t n);
    void (*silu)(float *x, int64_t n);
    void (*rope3d_apply)(const struct sf_rope3d *r, float *x, int64_t tokens, int n_heads);
    void (*attention)(const float *q, int64_t q_stride, const float *k, int64_t k_stride,
                      const float *v, int64_t v_stride, float *out, int64_t out_stride, int64_t Lq,
                      int64_t Lk, int n_heads, int head_dim, int64_t k_valid, float scale);
    /* optional: attention with q, k, v rounded to bf16 and fp32 accumulation (tensor cores),
     * for models whose weights are bf16/fp16; NULL: callers use attention. */
    void (*attention_bf16)(const float *q, int64_t q_stride, const float *k, int64_t k_stride,
                           const float *v, int64_t v_stride, float *out, int64_t out_stride,
                           int64_t Lq, int64_t Lk, int n_heads, int head_dim, int64_t k_valid,
                           float scale);
    void (*conv3d)(const float *x, int64_t cin, const int64_t in_thw[3], const struct sf_tensor *w,
                   const struct sf_tensor *bias, const int stride[3], const int pad[6], float *y);

    /* ---- elementwise glue of a model (sf_ops.h documents each as sf_<slot>) ---- */
    void (*add_gated)(float *x, const float *y, const float *gate, int64_t gate_stride,
                      int64_t group_rows, int64_t rows, int64_t cols);
    void (*axpy)(float *y, float a, const float *x, int64_t n);
    void (*add_bcast)(float *y, int64_t y_stride, const float *a, int64_t a_stride,
                      const float *b, int64_t rows, int64_t cols);
    void (*transpose)(const float *x, int64_t rows, int64_t cols, float *y);
    void (*sumsq_rows)(const float *x, int64_t rows, int64_t cols, double *ss);
    void (*rms_scale)(float *x, const double *ss, const float *w, int64_t rows, int64_t cols,
                      int64_t n_total, float eps);

    /* ---- memory: where a model's weights and activations live on this backend ----
     * A model holding a backend (struct sf_dit_opts.backend) puts every buffer its ops touch in
      * this memory and passes only such pointers to
     * the slots above (weights copied in with alloc + upload, in their stored dtype). host_memory = 1: plain host memory (the CPU), so host pointers may be
     * passed directly and the copies below are memcpy. A device backend fills every slot. */
    int host_memory;
    /* *p = bytes of backend memory (256-byte aligned); SF_OK or SF_E_NOMEM / SF_E_CUDA, logged
     * with the device. free(NULL) does nothing. */
    int (*alloc)(void **p, size_t bytes);
    void (*free)(void *p);
    /* Copies: host -> backend, backend -> host (returns when the data is on the host),
     * backend -> backend; zero fills backend memory. Ordered with the ops. */
    void (*upload)(void *dst, const void *src, size_t bytes);
    void (*download)(void *dst, const void *src, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes);
    void (*zero)(void *dst, size_t bytes);
    /* Waits for the work queued so far (timing); NULL for a synchronous backend. */
    void (*sync)(void);
    /* The first failure since the last call (SF_OK, or SF_E_CUDA after an op or copy failed and
     * was logged naming the operation and device; later ops then do nothing), and clears it.
     * NULL: ops cannot fail. Models check it once per forward pass. */
    int (*status)(void);
};

/* The CPU table (static storage, never NULL). */
const struct sf_backend *sf_backend_cpu(void);
/* The active table (the CPU one unless sf_backend_set installed another). */
const struct sf_backend *sf_backend_get(void);
/* Installs be as the active table (NULL restores the CPU one). Not thread-safe: call at
 * start-up, before compute threads run. NULL slots of be fall back to the CPU slots. */
void sf_backend_set(const struct sf_backend *be);

#endif
