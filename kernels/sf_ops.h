/* sf_ops.h — the compute operations every model is built from, and the backend table that
 * carries them (ggml-backend style: a struct of function pointers filled with designated
 * initialisers; the CPU backend is always present, CUDA joins when built and a GPU exists).
 *
 * Conventions
 * - Activations are fp32, row-major, shapes outermost first. Weights are struct sf_tensor of
 *   any float dtype (fp32/bf16/fp16) and are never expanded whole: bf16/fp16 weights are
 *   converted tile by tile into a per-thread buffer inside the GEMM.
 * - Results do not depend on the thread count: every reduction has a fixed order and split.
 * - Nothing here allocates per call in steady state: scratch comes from per-thread buffers sized
 *   on first use (or from an sf_arena the caller owns).
 * - The free functions below dispatch through the active backend table (struct sf_backend in
 *   the kernels implementation); the CPU table is filled with designated initialisers.
 * - Every op has a CPU implementation here and a test against a naive double-precision
 *   reference (tests/kernels/); GPU twins have parity tests (tests/gpu/).
 */
#ifndef SF_OPS_H
#define SF_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "sf_tensor.h"

/* ---- threads ----------------------------------------------------------------------------- */

/* Sets the number of compute threads for our pool and for OpenBLAS
 * (openblas_set_num_threads). n <= 0 picks the default: SF_THREADS, else online cores divided by
 * the MPI ranks on this node (OMPI_COMM_WORLD_LOCAL_SIZE / MPI_LOCALNRANKS /
 * SLURM_NTASKS_PER_NODE), at least 1. Returns the number in effect. The pool owns parallelism:
 * OpenBLAS is set to 1 thread and called once per tile from the pool's threads (OpenBLAS's own
 * threading changes results with its thread count; ours never does). The first op initialises
 * the pool with the default when nobody called this. */
int sf_threads_init(int n);
int sf_threads_count(void);
/* Runs fn(ctx, i) for i in [0, n) on the pool; returns when all are done. Tasks must write
 * disjoint outputs. Called from inside a task (or while another thread uses the pool) it runs
 * the items serially on the calling thread. */
void sf_parallel_for(int64_t n, void (*fn)(void *ctx, int64_t i), void *ctx);

/* ---- arena ------------------------------------------------------------------------------- */

/* A bump allocator sized once (e.g. when a model is loaded) so that a denoising loop
 * allocates nothing. */
struct sf_arena {
    char *base;
    size_t size, used, high_water;
    const struct sf_backend *be; /* where base lives: NULL for host memory (sf_arena_init) */
};
int sf_arena_init(struct sf_arena *a, size_t bytes); /* SF_OK or SF_E_NOMEM */
/* The same in a backend's memory (sf_backend.h; a device arena for a GPU backend): SF_OK, or
 * the backend's allocation failure. sf_arena_fini frees it there. */
struct sf_backend;
int sf_arena_init_on(struct sf_arena *a, size_t bytes, const struct sf_backend *be);
void sf_arena_fini(struct sf_arena *a);
/* 64-byte aligned; aborts (a bug: the arena was sized wrong) when it does not fit. */
void *sf_arena_alloc(struct sf_arena *a, size_t bytes);
size_t sf_arena_mark(const struct sf_arena *a);
void sf_arena_reset(struct sf_arena *a, size_t mark);

/* ---- operations -------------------------------------------------------------------------- */

/* Runtime-selected SIMD path of the CPU backend: "avx512", "avx2" or "portable". */
const char *sf_cpu_simd_path(void);
/* Forces a SIMD path ("avx512", "avx2", "portable"), for tests; returns -1 if the CPU lacks it. */
int sf_cpu_force_simd(const char *path);

/* y (n, m) = x (n, k) · w (m, k)^T + bias (m). w: fp32/bf16/fp16 tensor of shape (m, k) (any
 * ndim whose last dim is k: m = numel / k); bias: float tensor of m elements or NULL. y must not
 * overlap x. A weight whose last dim is not k is a bug (SF_ASSERT). */
void sf_linear(const float *x, int64_t n, int64_t k, const struct sf_tensor *w,
               const struct sf_tensor *bias, float *y);

/* C (M, N) = alpha · op(A) · op(B) + beta · C, all fp32 row-major (cblas semantics). */
void sf_gemm_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                 int64_t ldc);

/* LayerNorm over the last dim (rows, cols): (x - mean) / sqrt(var + eps) [* w + b];
 * w, b fp32 (cols) or NULL. x and y may alias. */
void sf_layernorm(const float *x, const float *w, const float *b, float *y, int64_t rows,
                  int64_t cols, float eps);
/* RMSNorm over the last dim: x / sqrt(mean(x^2) + eps) [* w]. (sf_kernels.h has the scalar
 * twin used by the CUDA parity test.) */
void sf_rmsnorm(const float *x, const float *w, float *y, int64_t rows, int64_t cols, float eps);
/* adaLN modulate: y[r,c] = x[r,c] * (1 + scale[c]) + shift[c]. x and y may alias. */
void sf_modulate(const float *x, const float *shift, const float *scale, float *y, int64_t rows,
                 int64_t cols);
/* In place, n elements. GELU tanh form 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))). */
void sf_gelu_tanh(float *x, int64_t n);
void sf_silu(float *x, int64_t n);
/* Wan's sinusoidal timestep embedding: dim even; out[i] = cos(t·f_i) for i < dim/2 and
 * sin(t·f_{i-dim/2}) after, f_i = 10000^(-i/(dim/2)), computed in double. */
void sf_timestep_embedding(double t, int dim, float *out);

/* 3D RoPE of Wan (WAN-FACTS § 3): head_dim d gives d/2 interleaved pairs (x[2j], x[2j+1]) =
 * (re, im); the first (d - 4*(d/6))/2 pairs rotate by the frame index, the next d/6 by the row,
 * the last d/6 by the column (d = 128: 22 + 21 + 21); each group's angles are
 * p * 10000^(-2i/dim_group) with dim_group = d - 4*(d/6) or 2*(d/6). The table holds cos/sin for
 * every (f, h, w) position of a grid, computed in double. */
struct sf_rope3d;
struct sf_rope3d *sf_rope3d_create(int head_dim, int frames, int height, int width);
void sf_rope3d_destroy(struct sf_rope3d *r);
/* x (tokens, n_heads, head_dim) with tokens <= frames*height*width in (f, h, w) order; rotated in
 * place (padding tokens after the grid are the caller's to leave out, as the reference does).
 * sf_rope3d_create returns NULL for head_dim < 6 or odd, an empty grid, or out of memory. */
void sf_rope3d_apply(const struct sf_rope3d *r, float *x, int64_t tokens, int n_heads);

/* Softmax attention with online softmax in tiles (never an Lq×Lk matrix):
 * out (Lq, H, d) = softmax(q·k^T · scale + mask) · v with q (Lq, H, d), k and v (Lk, H, d);
 * keys at index >= k_valid are masked out (k_valid = Lk for none; k_valid <= 0 gives zeros).
 * Row strides are given in floats so that q/k/v may be slices of a fused projection. out must
 * not overlap q, k or v. */
void sf_attention(const float *q, int64_t q_stride, const float *k, int64_t k_stride,
                  const float *v, int64_t v_stride, float *out, int64_t out_stride, int64_t Lq,
                  int64_t Lk, int n_heads, int head_dim, int64_t k_valid, float scale);

/* ---- elementwise glue (what a model does between the ops above) ------------------------ */

/* The gated residual update of an fp32 stream x (rows, cols): x[r,c] += y[r,c] * gate[c] with
 * the gate of row r at gate + (r / group_rows) * gate_stride (one gate vector per sample of
 * group_rows rows); gate NULL: x += y. */
void sf_add_gated(float *x, const float *y, const float *gate, int64_t gate_stride,
                  int64_t group_rows, int64_t rows, int64_t cols);
/* y[i] += x[i] * a for n elements. */
void sf_axpy(float *y, float a, const float *x, int64_t n);
/* y[r*y_stride + c] = a[r*a_stride + c] + b[c] for rows x cols (a row vector b broadcast over
 * rows; a modulation table plus a time projection). y may alias a. */
void sf_add_bcast(float *y, int64_t y_stride, const float *a, int64_t a_stride, const float *b,
                  int64_t rows, int64_t cols);
/* y (cols, rows) = x (rows, cols) transposed; x and y must not overlap. */
void sf_transpose(const float *x, int64_t rows, int64_t cols, float *y);
/* The two halves of an RMSNorm whose features are split over ranks (the sum of squares is
 * summed over the group between them): ss[r] = sum_c x[r,c]^2 in double; then in place
 * x[r,c] = x[r,c] * inv_r * w[c] with inv_r = (float)(1 / sqrt(ss[r] / n_total + eps)). */
void sf_sumsq_rows(const float *x, int64_t rows, int64_t cols, double *ss);
void sf_rms_scale(float *x, const double *ss, const float *w, int64_t rows, int64_t cols,
                  int64_t n_total, float eps);

/* Conv3d over x (Cin, T, H, W) with weight (Cout, Cin, kt, kh, kw) of any float dtype and
 * bias (Cout) or NULL, stride (st, sh, sw) and zero padding given per side: pad[0..5] =
 * (t_front, t_back, h_top, h_bottom, w_left, w_right) — so causal convolutions pad only in
 * front. y is (Cout, T', H', W'); sf_conv3d_out_shape computes T', H', W'. x and y must not
 * overlap; a weight whose Cin differs from cin is a bug (SF_ASSERT). */
void sf_conv3d_out_shape(const int64_t in_thw[3], const int64_t k_thw[3], const int stride[3],
                         const int pad[6], int64_t out_thw[3]);
void sf_conv3d(const float *x, int64_t cin, const int64_t in_thw[3], const struct sf_tensor *w,
               const struct sf_tensor *bias, const int stride[3], const int pad[6], float *y);

/* A conv3d prepared once for many calls (a model layer): the weight converted to fp32 and laid
 * out for its algorithm, the bias converted. Runs on the CPU (no backend slot).
 *   SF_CONV_WINOGRAD: Winograd F(2x2, 3x3) — for kh = kw = 3 with spatial stride 1 (any kt,
 *     temporal stride and padding); holds 16/9 of the fp32 weight; 2.25x fewer multiplies than
 *     direct; agrees with the direct path to a few ulps of the sum of |terms| (about 1e-6
 *     relative to max|y| in tests/kernels/test_winograd.c).
 *   SF_CONV_DIRECT: im2col + sgemm, as sf_conv3d; any shape.
 *   SF_CONV_AUTO: Winograd where it applies, else direct.
 * Either way temporal taps that meet only padding are skipped, results do not depend on the
 * thread count, and sf_conv3d_plan_run(p, x, cin, in_thw, pad, y) computes what
 * sf_conv3d(x, cin, in_thw, w, bias, stride, pad, y) computes (to rounding).
 * create: w (Cout, Cin, kt, kh, kw) and bias (Cout) or NULL of any float dtype, borrowed only
 * during the call; SF_CONV_WINOGRAD for a shape it does not fit, or a bad stride, is a bug
 * (SF_ASSERT); NULL when out of memory. The plan is owned by the caller (destroy(NULL) is a
 * no-op) and may be run from several threads at once. */
enum sf_conv_algo { SF_CONV_AUTO, SF_CONV_DIRECT, SF_CONV_WINOGRAD };
struct sf_conv3d_plan;
struct sf_conv3d_plan *sf_conv3d_plan_create(const struct sf_tensor *w,
                                             const struct sf_tensor *bias, const int stride[3],
                                             enum sf_conv_algo algo);
/* x (cin, in_thw) -> y (Cout, T', H', W') with the plan's stride and pad as in sf_conv3d; a cin
 * other than the weight's is a bug (SF_ASSERT). x and y must not overlap. */
void sf_conv3d_plan_run(const struct sf_conv3d_plan *p, const float *x, int64_t cin,
                        const int64_t in_thw[3], const int pad[6], float *y);
enum sf_conv_algo sf_conv3d_plan_algo(const struct sf_conv3d_plan *p);
size_t sf_conv3d_plan_bytes(const struct sf_conv3d_plan *p); /* what the plan holds (0 for NULL) */
void sf_conv3d_plan_destroy(struct sf_conv3d_plan *p);

#endif
