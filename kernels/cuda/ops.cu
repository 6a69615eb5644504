/* ops.cu — the CUDA twins of the CPU backend's row-wise and elementwise ops (LayerNorm,
 * modulate, GELU, SiLU, 3D RoPE, the gated residual adds of the fp32 stream, modulation tables,
 * the patch transpose, the split-RMSNorm halves) and a direct conv3d for the patch embeddings.
 * Each launches on the backend's stream. Reductions accumulate in double where the CPU twin
 * does (sums of squares), else in float with a fixed tree, so a result does not depend on the
 * launch; parity with the CPU twin is to rounding (tests/gpu). */
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "cuda_be.h"
extern "C" {
#include "cpu.h" /* sf_rope3d_layout */
}

#define THREADS 256

/* ---- block reductions ---------------------------------------------------------------------- */

template <typename T> __device__ T block_sum(T v, T *shared)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads(); /* shared may still be read by a previous call */
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    T s = 0;
    for (int i = 0; i < (int)(blockDim.x >> 5); i++)
        s += shared[i];
    return s;
}

/* ---- LayerNorm, modulate ------------------------------------------------------------------- */

/* One block per row: mean, then the variance about it (two passes over the row, in double),
 * then y = (x - mean) * rstd [* w + b], or with shift/scale (the fused adaLN form) y = that *
 * (1 + scale) + shift, the row's group's vectors at (row / group_rows) * stride. x and y may
 * alias. */
__global__ void layernorm_kernel(const float *x, const float *w, const float *b, float *y,
                                 int64_t cols, float eps, const float *shift, const float *scale,
                                 int64_t group_rows, int64_t stride)
{
    __shared__ double red[32];
    const float *xr = x + blockIdx.x * cols;
    float *yr = y + blockIdx.x * cols;
    double s = 0;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
        s += xr[c];
    double mean = block_sum(s, red) / (double)cols;
    double v = 0;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
        double d = xr[c] - mean;
        v += d * d;
    }
    double var = block_sum(v, red) / (double)cols;
    float rstd = (float)(1.0 / sqrt(var + (double)eps)), fm = (float)mean;
    const int64_t g = shift ? (int64_t)blockIdx.x / group_rows * stride : 0;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
        float t = (xr[c] - fm) * rstd;
        if (w) t = t * w[c] + (b ? b[c] : 0.0f);
        if (shift) t = t * (1.0f + scale[g + c]) + shift[g + c];
        yr[c] = t;
    }
}

static void op_layernorm(const float *x, const float *w, const float *b, float *y, int64_t rows,
                         int64_t cols, float eps)
{
    if (!CU_LIVE() || rows <= 0 || cols <= 0) return;
    layernorm_kernel<<<(unsigned)rows, THREADS, 0, sf_cuda_be.stream>>>(x, w, b, y, cols, eps, NULL,
                                                                        NULL, 1, 0);
    CU_LAUNCHED("layernorm kernel");
}

static void op_layernorm_modulate(const float *x, float *y, int64_t rows, int64_t cols, float eps,
                                  const float *shift, const float *scale, int64_t group_rows,
                                  int64_t stride)
{
    if (!CU_LIVE() || rows <= 0 || cols <= 0) return;
    layernorm_kernel<<<(unsigned)rows, THREADS, 0, sf_cuda_be.stream>>>(
        x, NULL, NULL, y, cols, eps, shift, scale, group_rows > 0 ? group_rows : 1, stride);
    CU_LAUNCHED("layernorm + modulate kernel");
}

__global__ void modulate_kernel(const float *x, const float *shift, const float *scale, float *y,
                                int64_t n, int64_t cols)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t c = i % cols;
        y[i] = x[i] * (1.0f + scale[c]) + shift[c];
    }
}

static void op_modulate(const float *x, const float *shift, const float *scale, float *y,
                        int64_t rows, int64_t cols)
{
    int64_t n = rows * cols;
    if (!CU_LIVE() || n <= 0) return;
    modulate_kernel<<<sf_cuda_blocks(n, THREADS), THREADS, 0, sf_cuda_be.stream>>>(x, shift, scale,
                                                                                   y, n, cols);
    CU_LAUNCHED("modulate kernel");
}

/* ---- activations --------------------------------------------------------------------------- */

__global__ void gelu_tanh_kernel(float *x, int64_t n)
{
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
    }
}

static void op_gelu_tanh(float *x, int64_t n)
{
    if (!CU_LIVE() || n <= 0) return;
    gelu_tanh_kernel<<<sf_cuda_blocks(n, THREADS), THREADS, 0, sf_cuda_be.stream>>>(x, n);
    CU_LAUNCHED("gelu kernel");
}

__global__ void silu_kernel(float *x, int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float v = x[i];
        x[i] = v / (1.0f + expf(-v));
    }
}

static void op_silu(float *x, int64_t n)
{
    if (!CU_LIVE() || n <= 0) return;
    silu_kernel<<<sf_cuda_blocks(n, THREADS), THREADS, 0, sf_cuda_be.stream>>>(x, n);
    CU_LAUNCHED("silu kernel");
}

/* ---- elementwise glue ---------------------------------------------------------------------- */

__global__ void add_gated_kernel(float *x, const float *y, const float *gate, int64_t gate_stride,
                                 int64_t group_rows, int64_t n, int64_t cols)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        if (gate) {
            int64_t r = i / cols, c = i % cols;
            x[i] += y[i] * gate[r / group_rows * gate_stride + c];
        } else {
            x[i] += y[i];
        }
    }
}

static void op_add_gated(float *x, const float *y, const float *gate, int64_t gate_stride,
                         int64_t group_rows, int64_t rows, int64_t cols)
{
    int64_t n = rows * cols;
    if (!CU_LIVE() || n <= 0) return;
    add_gated_kernel<<<sf_cuda_blocks(n, THREADS), THREADS, 0, sf_cuda_be.stream>>>(
        x, y, gate, gate_stride, group_rows > 0 ? group_rows : 1, n, cols);
    CU_LAUNCHED("gated residual add kernel");
}

__global__ void axpy_kernel(float *y, float a, const float *x, int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] += x[i] * a;
}

static void op_axpy(float *y, float a, const float *x, int64_t n)
{
    if (!CU_LIVE() || n <= 0) return;
    axpy_kernel<<<sf_cuda_blocks(n, THREADS), THREADS, 0, sf_cuda_be.stream>>>(y, a, x, n);
    CU_LAUNCHED("axpy kernel");
}

__global__ void add_bcast_kernel(float *y, int64_t y_stride, const float *a, int64_t a_stride,
                                 const float *b, int64_t rows, int64_t cols)
{
    int64_t n = rows * cols;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / cols, c = i % cols;
        y[r * y_stride + c] = a[r * a_stride + c] + b[c];
    }
}

static void op_add_bcast(float *y, int64_t y_stride, const float *a, int64_t a_stride,
                         const float *b, int64_t rows, int64_t cols)
{
    if (!CU_LIVE() || rows <= 0 || cols <= 0) return;
    add_bcast_kernel<<<sf_cuda_blocks(rows * cols, THREADS), THREADS, 0, sf_cuda_be.stream>>>(
        y, y_stride, a, a_stride, b, rows, cols);
    CU_LAUNCHED("broadcast add kernel");
}

/* 32x32 tiles through shared memory (+1 column against bank conflicts). */
__global__ void transpose_kernel(const float *x, int64_t rows, int64_t cols, float *y)
{
    __shared__ float tile[32][33];
    int64_t c0 = (int64_t)blockIdx.x * 32, r0 = (int64_t)blockIdx.y * 32;
    for (int i = threadIdx.y; i < 32; i += blockDim.y) {
        int64_t r = r0 + i, c = c0 + threadIdx.x;
        if (r < rows && c < cols) tile[i][threadIdx.x] = x[r * cols + c];
    }
    __syncthreads();
    for (int i = threadIdx.y; i < 32; i += blockDim.y) {
        int64_t c = c0 + i, r = r0 + threadIdx.x;
        if (r < rows && c < cols) y[c * rows + r] = tile[threadIdx.x][i];
    }
}

static void op_transpose(const float *x, int64_t rows, int64_t cols, float *y)
{
    if (!CU_LIVE() || rows <= 0 || cols <= 0) return;
    if ((cols + 31) / 32 > 0x7fffffff || (rows + 31) / 32 > 65535) {
        sf_cuda_failed(cudaErrorInvalidValue, "transpose (too many rows for one grid)", __FILE__,
                       __LINE__);
        return;
    }
    dim3 grid((unsigned)((cols + 31) / 32), (unsigned)((rows + 31) / 32)), block(32, 8);
    transpose_kernel<<<grid, block, 0, sf_cuda_be.stream>>>(x, rows, cols, y);
    CU_LAUNCHED("transpose kernel");
}

__global__ void sumsq_kernel(const float *x, int64_t cols, double *ss)
{
    __shared__ double red[32];
    const float *xr = x + blockIdx.x * cols;
    double s = 0;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
        s += (double)xr[c] * xr[c];
    s = block_sum(s, red);
    if (threadIdx.x == 0) ss[blockIdx.x] = s;
}

static void op_sumsq_rows(const float *x, int64_t rows, int64_t cols, double *ss)
{
    if (!CU_LIVE() || rows <= 0) return;
    sumsq_kernel<<<(unsigned)rows, THREADS, 0, sf_cuda_be.stream>>>(x, cols, ss);
    CU_LAUNCHED("sum of squares kernel");
}

__global__ void rms_scale_kernel(float *x, const double *ss, const float *w, int64_t rows,
                                 int64_t cols, double n_total, float eps)
{
    int64_t n = rows * cols;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / cols, c = i % cols;
        float inv = (float)(1.0 / sqrt(ss[r] / n_total + (double)eps));
        x[i] = x[i] * inv * w[c];
    }
}

static void op_rms_scale(float *x, const double *ss, const float *w, int64_t rows, int64_t cols,
                         int64_t n_total, float eps)
{
    if (!CU_LIVE() || rows <= 0 || cols <= 0) return;
    rms_scale_kernel<<<sf_cuda_blocks(rows * cols, THREADS), THREADS, 0, sf_cuda_be.stream>>>(
        x, ss, w, rows, cols, (double)n_total, eps);
    CU_LAUNCHED("rms scale kernel");
}

/* ---- 3D RoPE --------------------------------------------------------------------------------- */

struct rope_dev {
    int head_dim, height, width, n_f, n_h, n_w;
    const double *f_tab, *h_tab, *w_tab;
};

/* One thread per (token, head, pair): the pair's group picks frame, row or column; the rotation
 * in double as the CPU twin (and the reference) do. */
__global__ void rope_kernel(struct rope_dev r, float *x, int64_t tokens, int n_heads)
{
    int pairs = r.head_dim / 2;
    int64_t n = tokens * n_heads * pairs;
    int64_t hw = (int64_t)r.height * r.width;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int p = (int)(i % pairs);
        int64_t th = i / pairs, tok = th / n_heads;
        const double *cs;
        if (p < r.n_f)
            cs = r.f_tab + 2 * ((tok / hw) * r.n_f + p);
        else if (p < r.n_f + r.n_h)
            cs = r.h_tab + 2 * ((tok % hw / r.width) * r.n_h + (p - r.n_f));
        else
            cs = r.w_tab + 2 * ((tok % r.width) * r.n_w + (p - r.n_f - r.n_h));
        float *xp = x + th * r.head_dim + 2 * p;
        double re = xp[0], im = xp[1], c = cs[0], s = cs[1];
        xp[0] = (float)(re * c - im * s);
        xp[1] = (float)(re * s + im * c);
    }
}

static void free_device(void *p)
{
    cudaFree(p);
}

static void op_rope3d_apply(const struct sf_rope3d *r, float *x, int64_t tokens, int n_heads)
{
    if (!CU_LIVE() || tokens <= 0) return;
    struct sf_rope3d_layout l;
    sf_rope3d_layout(r, &l);
    if (tokens > (int64_t)l.frames * l.height * l.width) {
        sf_cuda_failed(cudaErrorInvalidValue, "rope (more tokens than the grid)", __FILE__,
                       __LINE__);
        return;
    }
    /* the table (immutable) copied to the device on first use, kept with it */
    void **slot = sf_rope3d_device_slot(r, free_device);
    if (!*slot) {
        void *d = NULL;
        if (!CU_OK(cudaMalloc(&d, l.n_cs * sizeof(double)), "allocate the rope table")) return;
        if (!CU_OK(cudaMemcpy(d, l.cs, l.n_cs * sizeof(double), cudaMemcpyHostToDevice),
                   "copy the rope table")) {
            cudaFree(d);
            return;
        }
        *slot = d;
    }
    const double *cs = (const double *)*slot;
    struct rope_dev rd = {l.head_dim,
                          l.height,
                          l.width,
                          l.n_f,
                          l.n_h,
                          l.n_w,
                          cs,
                          cs + 2 * (size_t)l.frames * l.n_f,
                          cs + 2 * (size_t)l.frames * l.n_f + 2 * (size_t)l.height * l.n_h};
    int64_t n = tokens * n_heads * (l.head_dim / 2);
    rope_kernel<<<sf_cuda_blocks(n, THREADS), THREADS, 0, sf_cuda_be.stream>>>(rd, x, tokens,
                                                                               n_heads);
    CU_LAUNCHED("rope kernel");
}

/* ---- conv3d (direct; the DiT's patch embeddings) -----------------------------------------------
 */

__device__ __forceinline__ float load_as_f32(const void *p, int dtype, int64_t i)
{
    if (dtype == SF_DTYPE_BF16) return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
    if (dtype == SF_DTYPE_F16) return __half2float(((const __half *)p)[i]);
    return ((const float *)p)[i];
}

struct conv_dev {
    int64_t cin, T, H, W, kt, kh, kw, To, Ho, Wo, cout;
    int st, sh, sw, pt, ph, pw;
};

/* One thread per output element: the sum over (cin, kt, kh, kw) taps that meet the input (the
 * others meet zero padding), in float, plus the bias. */
__global__ void conv3d_kernel(struct conv_dev g, const float *x, const void *w, int w_dtype,
                              const void *bias, int b_dtype, float *y)
{
    int64_t n = g.cout * g.To * g.Ho * g.Wo;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t wo = i % g.Wo, ho = i / g.Wo % g.Ho, to = i / (g.Wo * g.Ho) % g.To,
                co = i / (g.Wo * g.Ho * g.To);
        float acc = 0.0f;
        for (int64_t ci = 0; ci < g.cin; ci++)
            for (int64_t a = 0; a < g.kt; a++) {
                int64_t ti = to * g.st - g.pt + a;
                if (ti < 0 || ti >= g.T) continue;
                for (int64_t b = 0; b < g.kh; b++) {
                    int64_t hi = ho * g.sh - g.ph + b;
                    if (hi < 0 || hi >= g.H) continue;
                    for (int64_t c = 0; c < g.kw; c++) {
                        int64_t wi = wo * g.sw - g.pw + c;
                        if (wi < 0 || wi >= g.W) continue;
                        acc += x[((ci * g.T + ti) * g.H + hi) * g.W + wi] *
                               load_as_f32(w, w_dtype,
                                           (((co * g.cin + ci) * g.kt + a) * g.kh + b) * g.kw + c);
                    }
                }
            }
        y[i] = acc + (bias ? load_as_f32(bias, b_dtype, co) : 0.0f);
    }
}

static void op_conv3d(const float *x, int64_t cin, const int64_t in_thw[3],
                      const struct sf_tensor *w, const struct sf_tensor *bias, const int stride[3],
                      const int pad[6], float *y)
{
    if (!CU_LIVE()) return;
    int64_t k[3] = {w->shape[2], w->shape[3], w->shape[4]}, o[3];
    sf_conv3d_out_shape(in_thw, k, stride, pad, o);
    struct conv_dev g = {cin,       in_thw[0], in_thw[1], in_thw[2], k[0],        k[1],
                         k[2],      o[0],      o[1],      o[2],      w->shape[0], stride[0],
                         stride[1], stride[2], pad[0],    pad[2],    pad[4]};
    int64_t n = g.cout * g.To * g.Ho * g.Wo;
    if (n <= 0) return;
    conv3d_kernel<<<sf_cuda_blocks(n, THREADS), THREADS, 0, sf_cuda_be.stream>>>(
        g, x, w->data, (int)w->dtype, bias && bias->data ? bias->data : NULL,
        bias ? (int)bias->dtype : 0, y);
    CU_LAUNCHED("conv3d kernel");
}

/* This file's slots of the CUDA table (backend.cu calls it when the backend opens). */
void sf_cuda_fill_ops(struct sf_backend *t)
{
    t->layernorm = op_layernorm;
    t->layernorm_modulate = op_layernorm_modulate;
    t->modulate = op_modulate;
    t->gelu_tanh = op_gelu_tanh;
    t->silu = op_silu;
    t->add_gated = op_add_gated;
    t->axpy = op_axpy;
    t->add_bcast = op_add_bcast;
    t->transpose = op_transpose;
    t->sumsq_rows = op_sumsq_rows;
    t->rms_scale = op_rms_scale;
    t->rope3d_apply = op_rope3d_apply;
    t->conv3d = op_conv3d;
}
