/* backend.c — the CPU backend table and the free functions of sf_ops.h, which dispatch through
 * the active table (sf_backend.h). A table installed with sf_backend_set may leave slots NULL;
 * they fall back to the CPU slot, so a partial GPU backend is safe. */
#include <string.h>

#include "cpu.h"
#include "sf_backend.h"
#include "sf_cuda.h"
#include "sf_log.h"
#include "sf_status.h"

static const struct sf_backend cpu_backend = {
    .name = "cpu",
    .linear = sf_cpu_linear,
    .gemm_f32 = sf_cpu_gemm_f32,
    .layernorm = sf_cpu_layernorm,
    .rmsnorm = sf_cpu_rmsnorm,
    .modulate = sf_cpu_modulate,
    .gelu_tanh = sf_cpu_gelu_tanh,
    .silu = sf_cpu_silu,
    .rope3d_apply = sf_cpu_rope3d_apply,
    .attention = sf_cpu_attention,
    .conv3d = sf_cpu_conv3d,
    .add_gated = sf_cpu_add_gated,
    .axpy = sf_cpu_axpy,
    .add_bcast = sf_cpu_add_bcast,
    .transpose = sf_cpu_transpose,
    .sumsq_rows = sf_cpu_sumsq_rows,
    .rms_scale = sf_cpu_rms_scale,
    .host_memory = 1,
    .alloc = sf_cpu_alloc,
    .free = sf_cpu_free,
    .upload = sf_cpu_copy,
    .download = sf_cpu_copy,
    .copy = sf_cpu_copy,
    .zero = sf_cpu_zero,
};

static const struct sf_backend *active = &cpu_backend;

const struct sf_backend *sf_backend_cpu(void)
{
    return &cpu_backend;
}
const struct sf_backend *sf_backend_get(void)
{
    return active;
}
void sf_backend_set(const struct sf_backend *be)
{
    active = be ? be : &cpu_backend;
}

#define SLOT(name) (active->name ? active->name : cpu_backend.name)

void sf_linear(const float *x, int64_t n, int64_t k, const struct sf_tensor *w,
               const struct sf_tensor *bias, float *y)
{
    SLOT(linear)(x, n, k, w, bias, y);
}

void sf_gemm_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                 int64_t ldc)
{
    SLOT(gemm_f32)(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sf_layernorm(const float *x, const float *w, const float *b, float *y, int64_t rows,
                  int64_t cols, float eps)
{
    SLOT(layernorm)(x, w, b, y, rows, cols, eps);
}

void sf_rmsnorm(const float *x, const float *w, float *y, int64_t rows, int64_t cols, float eps)
{
    SLOT(rmsnorm)(x, w, y, rows, cols, eps);
}

void sf_modulate(const float *x, const float *shift, const float *scale, float *y, int64_t rows,
                 int64_t cols)
{
    SLOT(modulate)(x, shift, scale, y, rows, cols);
}

void sf_gelu_tanh(float *x, int64_t n)
{
    SLOT(gelu_tanh)(x, n);
}
void sf_silu(float *x, int64_t n)
{
    SLOT(silu)(x, n);
}

void sf_rope3d_apply(const struct sf_rope3d *r, float *x, int64_t tokens, int n_heads)
{
    SLOT(rope3d_apply)(r, x, tokens, n_heads);
}

void sf_attention(const float *q, int64_t q_stride, const float *k, int64_t k_stride,
                  const float *v, int64_t v_stride, float *out, int64_t out_stride, int64_t Lq,
                  int64_t Lk, int n_heads, int head_dim, int64_t k_valid, float scale)
{
    SLOT(attention)
    (q, q_stride, k, k_stride, v, v_stride, out, out_stride, Lq, Lk, n_heads, head_dim, k_valid,
     scale);
}

void sf_conv3d(const float *x, int64_t cin, const int64_t in_thw[3], const struct sf_tensor *w,
               const struct sf_tensor *bias, const int stride[3], const int pad[6], float *y)
{
    SLOT(conv3d)(x, cin, in_thw, w, bias, stride, pad, y);
}

void sf_add_gated(float *x, const float *y, const float *gate, int64_t gate_stride,
                  int64_t group_rows, int64_t rows, int64_t cols)
{
    SLOT(add_gated)(x, y, gate, gate_stride, group_rows, rows, cols);
}

void sf_axpy(float *y, float a, const float *x, int64_t n)
{
    SLOT(axpy)(y, a, x, n);
}

void sf_add_bcast(float *y, int64_t y_stride, const float *a, int64_t a_stride, const float *b,
                  int64_t rows, int64_t cols)
{
    SLOT(add_bcast)(y, y_stride, a, a_stride, b, rows, cols);
}

void sf_transpose(const float *x, int64_t rows, int64_t cols, float *y)
{
    SLOT(transpose)(x, rows, cols, y);
}

void sf_sumsq_rows(const float *x, int64_t rows, int64_t cols, double *ss)
{
    SLOT(sumsq_rows)(x, rows, cols, ss);
}

void sf_rms_scale(float *x, const double *ss, const float *w, int64_t rows, int64_t cols,
                  int64_t n_total, float eps)
{
    SLOT(rms_scale)(x, ss, w, rows, cols, n_total, eps);
}

int sf_backend_for_device(const char *device, const struct sf_backend **out)
{
    *out = NULL;
    int autoselect = !device || strcmp(device, "auto") == 0;
    if (device && strcmp(device, "cpu") == 0) {
        *out = &cpu_backend;
        return SF_OK;
    }
    if (!autoselect && strcmp(device, "cuda") != 0) {
        SF_ERROR("kernels", "--device %s: use cpu or cuda", device);
        return SF_E_USAGE;
    }
    if (!sf_cuda_built()) {
        if (autoselect) {
            *out = &cpu_backend;
            return SF_OK;
        }
        SF_ERROR("kernels", "--device cuda: this build has no CUDA (configure with the toolkit "
                 "installed, SF_CUDA=ON) — use --device cpu");
        return SF_E_UNSUPPORTED;
    }
    if (autoselect && sf_cuda_device_count() <= 0) {
        *out = &cpu_backend;
        return SF_OK;
    }
    int st = sf_cuda_backend_open(-1, out);
    if (st != SF_OK && st != SF_E_UNSUPPORTED) /* (that one already said to use the CPU) */
        SF_ERROR("kernels", "--device cuda: the GPU failed to start (above); use --device cpu");
    return st;
}
