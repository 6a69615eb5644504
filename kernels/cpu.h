/* cpu.h — private to kernels/: the CPU backend's pieces shared between its files — the SIMD
 * table chosen at run time (simd_*.c instantiate simd_body.h once per instruction set), the
 * single-threaded sgemm every tiled op calls, and per-thread scratch buffers. */
#ifndef SF_CPU_H
#define SF_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "sf_ops.h"

/* One instruction set's implementation of the hot inner loops. Every slot is filled. */
struct cpu_simd {
    const char *name; /* "avx512", "avx2", "portable" */
    void (*bf16_to_f32)(const uint16_t *src, float *dst, size_t n);
    void (*f16_to_f32)(const uint16_t *src, float *dst, size_t n);
    void (*f32_to_bf16)(const float *src, uint16_t *dst, size_t n);
    void (*f32_to_f16)(const float *src, uint16_t *dst, size_t n);
    void (*layernorm_row)(const float *x, const float *w, const float *b, float *y, int64_t cols,
                          float eps);
    void (*rmsnorm_row)(const float *x, const float *w, float *y, int64_t cols, float eps);
    void (*modulate_row)(const float *x, const float *shift, const float *scale, float *y,
                         int64_t cols);
    void (*gelu_tanh)(float *x, int64_t n);
    void (*silu)(float *x, int64_t n);
    /* Online-softmax step on one row of logits s (n): with z = s*scale, m' = max(*m, max z),
     * s := exp(z - m'), *l := *l*exp(*m - m') + sum s, *m := m'. Returns exp(*m_old - m'). */
    float (*softmax_step)(float *s, int64_t n, float scale, float *m, float *l);
    void (*scale)(float *x, float a, int64_t n);      /* x *= a */
    void (*add)(float *y, const float *b, int64_t n); /* y += b */
    /* Portable blocked sgemm (cblas semantics, row-major), used when OpenBLAS is absent. */
    void (*sgemm)(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                  int64_t ldc);
    /* Winograd F(2x2, 3x3) input / output transforms of n tiles (winograd.c documents them). */
    void (*wino_in)(const float *r0, const float *r1, const float *r2, const float *r3, int64_t n,
                    float *v, int64_t ldv);
    void (*wino_out)(const float *m, int64_t ldm, float b, int64_t n, float *y0, float *y1);
};

extern const struct cpu_simd sf_cpu_simd_portable;
#ifdef SF_HAVE_X86_SIMD
extern const struct cpu_simd sf_cpu_simd_avx2;
extern const struct cpu_simd sf_cpu_simd_avx512;
#endif

/* The table in effect (chosen on first use: best the CPU has, or SF_SIMD=avx2|portable|...). */
const struct cpu_simd *sf_cpu_simd(void);

/* Single-threaded sgemm (OpenBLAS with one thread, or the portable one): the building block of
 * every tiled op; deterministic for a given call. */
void sf_cpu_sgemm_serial(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc);

/* Per-thread scratch: slot s (0 .. SF_CPU_SCRATCH_SLOTS-1) of the calling thread, grown to at
 * least bytes (64-byte aligned) and kept; aborts when out of memory. Steady state allocates
 * nothing. Each op uses its own slots so nested use cannot clobber: see the SCRATCH_* list. */
enum {
    SCRATCH_LINEAR_W,
    SCRATCH_LINEAR_BIAS,
    SCRATCH_ATT_S,
    SCRATCH_ATT_O,
    SCRATCH_ATT_ML,
    SCRATCH_CONV_W,
    SCRATCH_CONV_BIAS,
    SCRATCH_CONV_COL,
    SCRATCH_GEMM_A,
    SCRATCH_GEMM_B,
    SCRATCH_WINO_V,
    SCRATCH_WINO_M,
    SF_CPU_SCRATCH_SLOTS
};
void *sf_cpu_scratch(int slot, size_t bytes);
/* Frees the calling thread's scratch (a pool worker does this as it exits). */
void sf_cpu_scratch_release(void);

/* One conv3d call's geometry (conv3d.c): input (cin, T, H, W), kernel (kt, kh, kw), output
 * (cout, To, Ho, Wo), stride (st, sh, sw), front/top/left padding (pt, ph, pw). */
struct conv_geom {
    int64_t cin, cout, T, H, W, kt, kh, kw, To, Ho, Wo;
    int st, sh, sw, pt, ph, pw;
};
/* The temporal taps [*d0, *d1) of output frame `to` that meet input frames (the others meet
 * zero padding and are left out of the sum). */
void sf_cpu_conv_tap_range(const struct conv_geom *g, int64_t to, int64_t *d0, int64_t *d1);
/* Winograd F(2x2, 3x3) (winograd.c). sf_cpu_wino_weight: w (cout, kt, cin, 3, 3) fp32 ->
 * u (16, cout, kt, cin), the transform G g G^T of every 3x3 tap, computed in double.
 * sf_cpu_wino_run: y (cout, To, Ho, Wo) from x (cin, T, H, W) for a geometry with kh = kw = 3
 * and sh = sw = 1, u from sf_cpu_wino_weight, bias (cout) or NULL. */
void sf_cpu_wino_weight(const float *w, int64_t cout, int64_t kt, int64_t cin, float *u);
void sf_cpu_wino_run(const struct conv_geom *g, const float *x, const float *u, const float *bias,
                     float *y);

/* CPU implementations of the sf_backend slots (sf_ops.h documents each). */
void sf_cpu_linear(const float *x, int64_t n, int64_t k, const struct sf_tensor *w,
                   const struct sf_tensor *bias, float *y);
void sf_cpu_gemm_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                     int64_t ldc);
void sf_cpu_layernorm(const float *x, const float *w, const float *b, float *y, int64_t rows,
                      int64_t cols, float eps);
void sf_cpu_rmsnorm(const float *x, const float *w, float *y, int64_t rows, int64_t cols,
                    float eps);
void sf_cpu_modulate(const float *x, const float *shift, const float *scale, float *y, int64_t rows,
                     int64_t cols);
void sf_cpu_gelu_tanh(float *x, int64_t n);
void sf_cpu_silu(float *x, int64_t n);
void sf_cpu_rope3d_apply(const struct sf_rope3d *r, float *x, int64_t tokens, int n_heads);
void sf_cpu_attention(const float *q, int64_t q_stride, const float *k, int64_t k_stride,
                      const float *v, int64_t v_stride, float *out, int64_t out_stride, int64_t Lq,
                      int64_t Lk, int n_heads, int head_dim, int64_t k_valid, float scale);
void sf_cpu_conv3d(const float *x, int64_t cin, const int64_t in_thw[3], const struct sf_tensor *w,
                   const struct sf_tensor *bias, const int stride[3], const int pad[6], float *y);
void sf_cpu_add_gated(float *x, const float *y, const float *gate, int64_t gate_stride,
                      int64_t group_rows, int64_t rows, int64_t cols);
void sf_cpu_axpy(float *y, float a, const float *x, int64_t n);
void sf_cpu_add_bcast(float *y, int64_t y_stride, const float *a, int64_t a_stride,
                      const float *b, int64_t rows, int64_t cols);
void sf_cpu_transpose(const float *x, int64_t rows, int64_t cols, float *y);
void sf_cpu_sumsq_rows(const float *x, int64_t rows, int64_t cols, double *ss);
void sf_cpu_rms_scale(float *x, const double *ss, const float *w, int64_t rows, int64_t cols,
                      int64_t n_total, float eps);
int sf_cpu_alloc(void **p, size_t bytes);
void sf_cpu_free(void *p);
void sf_cpu_copy(void *dst, const void *src, size_t bytes);
void sf_cpu_zero(void *dst, size_t bytes);

/* The RoPE table's layout for a device twin (rope.c): head_dim, grid, pairs per group and the
 * (cos, sin) table in double, f_tab then h_tab then w_tab, n_cs doubles in all. */
struct sf_rope3d_layout {
    int head_dim, frames, height, width, n_f, n_h, n_w;
    const double *cs;
    size_t n_cs;
};
void sf_rope3d_layout(const struct sf_rope3d *r, struct sf_rope3d_layout *out);
/* A device backend's copy of the table, kept with the table and freed by sf_rope3d_destroy
 * with free_fn: returns the slot (NULL until set). The table is immutable, so a copy made once
 * stays valid for its lifetime. */
void **sf_rope3d_device_slot(const struct sf_rope3d *r, void (*free_fn)(void *));

#endif
