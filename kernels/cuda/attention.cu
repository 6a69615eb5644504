/* attention.cu — fused softmax attention on the GPU with online softmax (flash-attention
 * style): out (Lq, H, d) = softmax(q·k^T · scale, keys >= k_valid masked) · v, never forming
 * the Lq x Lk score matrix, fp32 in and fp32 accumulation (the CPU twin's semantics, so an fp32
 * model matches it to 1e-4). Head dims up to 128 (Wan's 128 and the test models' 8..64).
 *
 * A block takes 32 query rows of one head; each row belongs to a quad of 4 threads that split
 * its head dims (q and the running output in registers). Keys and values stream through shared
 * memory 32 at a time; each thread's dims are contiguous there so it reads them as float4, and
 * the quads' segments are padded apart so the four parts of a row hit different banks. Scores
 * are summed over the quad with two shuffles, then the running max m, sum l and output are
 * rescaled per tile (exp(m_old - m_new)).
 *
 * Not yet done: a bf16 tensor-core (mma) variant; this kernel runs on the CUDA cores. */
#include <math.h>

#include "cuda_be.h"

#define ROWS 32 /* query rows per block */
#define KT 32   /* keys per shared-memory tile */

template <int DPT> /* dims per thread: 4 parts x DPT >= head_dim */
__global__ void __launch_bounds__(ROWS * 4)
    flash_kernel(const float *q, int64_t q_stride, const float *k, int64_t k_stride, const float *v,
                 int64_t v_stride, float *out, int64_t out_stride, int64_t Lq, int64_t kv_end,
                 int d, float scale)
{
    constexpr int SEG = DPT + 4; /* a part's padded segment in a shared row */
    __shared__ __align__(16) float ks[KT][4 * SEG];
    __shared__ __align__(16) float vs[KT][4 * SEG];
    const int h = blockIdx.y, part = threadIdx.x & 3;
    const int64_t row = (int64_t)blockIdx.x * ROWS + (threadIdx.x >> 2);
    const int d0 = part * DPT; /* this thread's first dim */
    float qr[DPT], acc[DPT];
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        qr[i] = row < Lq && d0 + i < d ? q[row * q_stride + (int64_t)h * d + d0 + i] : 0.0f;
        acc[i] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    for (int64_t t0 = 0; t0 < kv_end; t0 += KT) {
        __syncthreads(); /* the previous tile is no longer read */
        for (int idx = threadIdx.x; idx < KT * 4 * DPT; idx += ROWS * 4) {
            int j = idx / (4 * DPT), dd = idx % (4 * DPT);
            int64_t key = t0 + j;
            int in = key < kv_end && dd < d;
            int at = dd / DPT * SEG + dd % DPT;
            ks[j][at] = in ? k[key * k_stride + (int64_t)h * d + dd] : 0.0f;
            vs[j][at] = in ? v[key * v_stride + (int64_t)h * d + dd] : 0.0f;
        }
        __syncthreads();
        float s[KT];
        float tile_max = -INFINITY;
#pragma unroll
        for (int j = 0; j < KT; j++) {
            const float4 *kp = (const float4 *)&ks[j][part * SEG];
            float dot = 0.0f;
#pragma unroll
            for (int i = 0; i < DPT / 4; i++) {
                float4 kv4 = kp[i];
                dot += qr[4 * i] * kv4.x + qr[4 * i + 1] * kv4.y + qr[4 * i + 2] * kv4.z +
                       qr[4 * i + 3] * kv4.w;
            }
            dot += __shfl_xor_sync(0xffffffffu, dot, 1);
            dot += __shfl_xor_sync(0xffffffffu, dot, 2);
            s[j] = t0 + j < kv_end ? dot * scale : -INFINITY;
            tile_max = fmaxf(tile_max, s[j]);
        }
        float m_new = fmaxf(m, tile_max);
        float corr = expf(m - m_new); /* m = -inf on the first tile: 0 */
        l *= corr;
#pragma unroll
        for (int i = 0; i < DPT; i++)
            acc[i] *= corr;
#pragma unroll
        for (int j = 0; j < KT; j++) {
            float p = expf(s[j] - m_new); /* masked: exp(-inf) = 0 */
            l += p;
            const float4 *vp = (const float4 *)&vs[j][part * SEG];
#pragma unroll
            for (int i = 0; i < DPT / 4; i++) {
                float4 v4 = vp[i];
                acc[4 * i] += p * v4.x;
                acc[4 * i + 1] += p * v4.y;
                acc[4 * i + 2] += p * v4.z;
                acc[4 * i + 3] += p * v4.w;
            }
        }
        m = m_new;
    }
    if (row >= Lq) return;
    float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
    for (int i = 0; i < DPT; i++)
        if (d0 + i < d) out[row * out_stride + (int64_t)h * d + d0 + i] = acc[i] * inv;
}

/* The keys a call attends to (min(k_valid, Lk), at least 0), or -1 when there is nothing to do
 * (the backend failed earlier, or no rows or heads). */
static int64_t keys_to_attend(int64_t Lq, int64_t Lk, int n_heads, int64_t k_valid)
{
    if (!CU_LIVE() || Lq <= 0 || n_heads <= 0) return -1;
    int64_t kv_end = k_valid < Lk ? k_valid : Lk;
    return kv_end < 0 ? 0 : kv_end;
}

static void op_attention(const float *q, int64_t q_stride, const float *k, int64_t k_stride,
                         const float *v, int64_t v_stride, float *out, int64_t out_stride,
                         int64_t Lq, int64_t Lk, int n_heads, int head_dim, int64_t k_valid,
                         float scale)
{
    int64_t kv_end = keys_to_attend(Lq, Lk, n_heads, k_valid);
    if (kv_end < 0) return;
    if (head_dim < 1 || head_dim > 128 || n_heads > 65535 || (Lq + ROWS - 1) / ROWS > 0x7fffffff) {
        sf_cuda_failed(cudaErrorInvalidValue, "attention (head_dim above 128 or too many heads)",
                       __FILE__, __LINE__);
        return;
    }
    dim3 grid((unsigned)((Lq + ROWS - 1) / ROWS), (unsigned)n_heads), block(ROWS * 4);
    cudaStream_t s = sf_cuda_be.stream;
    if (head_dim <= 16)
        flash_kernel<4><<<grid, block, 0, s>>>(q, q_stride, k, k_stride, v, v_stride, out,
                                               out_stride, Lq, kv_end, head_dim, scale);
    else if (head_dim <= 32)
        flash_kernel<8><<<grid, block, 0, s>>>(q, q_stride, k, k_stride, v, v_stride, out,
                                               out_stride, Lq, kv_end, head_dim, scale);
    else if (head_dim <= 64)
        flash_kernel<16><<<grid, block, 0, s>>>(q, q_stride, k, k_stride, v, v_stride, out,
                                                out_stride, Lq, kv_end, head_dim, scale);
    else
        flash_kernel<32><<<grid, block, 0, s>>>(q, q_stride, k, k_stride, v, v_stride, out,
                                                out_stride, Lq, kv_end, head_dim, scale);
    CU_LAUNCHED("attention kernel");
}

/* ---- bf16 tensor-core variant (sf_backend.attention_bf16) ------------------------------------
 * The same online softmax with q, k, v rounded to bf16 as they are staged into shared memory and
 * the two products on the tensor cores (WMMA 16x16x16, fp32 accumulation): a block takes 64 query
 * rows of one head, a warp 16 of them; S = Q·K^T per key tile goes through shared memory for the
 * softmax (two lanes per row), P is rounded to bf16 for P·V, and the running output of each warp
 * lives in shared memory in fp32 (a WMMA accumulator's layout is opaque, so the per-row rescale
 * exp(m_old - m_new) is applied there before P·V accumulates onto it). Head dims are padded with
 * zeros to 16, 32, 64 or 128. Needs sm_80 or newer. */
#include <cuda_bf16.h>
#include <mma.h>

#define TC_ROWS 64 /* query rows per block: 4 warps x 16 */

template <int DP, int KTILE> struct tc_layout {
    static constexpr int LQ = DP + 8;    /* bf16 row of Q, K, V (ld a multiple of 8) */
    static constexpr int LS = KTILE + 4; /* fp32 row of S */
    static constexpr int LP = KTILE + 8; /* bf16 row of P */
    static constexpr int LO = DP + 4;    /* fp32 row of O */
    static constexpr size_t q = 0;
    static constexpr size_t k = q + (size_t)TC_ROWS * LQ * 2;
    static constexpr size_t v = k + (size_t)KTILE * LQ * 2;
    static constexpr size_t s = v + (size_t)KTILE * LQ * 2;
    static constexpr size_t p = s + (size_t)4 * 16 * LS * 4;
    static constexpr size_t o = p + (size_t)4 * 16 * LP * 2;
    static constexpr size_t bytes = o + (size_t)4 * 16 * LO * 4;
};

template <int DP, int KTILE>
__global__ void __launch_bounds__(128)
    flash_tc_kernel(const float *q, int64_t q_stride, const float *k, int64_t k_stride,
                    const float *v, int64_t v_stride, float *out, int64_t out_stride, int64_t Lq,
                    int64_t kv_end, int d, float scale)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    using namespace nvcuda;
    typedef tc_layout<DP, KTILE> Lt;
    extern __shared__ __align__(128) unsigned char smem[];
    __nv_bfloat16 *qs = (__nv_bfloat16 *)(smem + Lt::q), *ks = (__nv_bfloat16 *)(smem + Lt::k),
                  *vs = (__nv_bfloat16 *)(smem + Lt::v);
    const int h = blockIdx.y, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    float *sw = (float *)(smem + Lt::s) + warp * 16 * Lt::LS;
    __nv_bfloat16 *pw = (__nv_bfloat16 *)(smem + Lt::p) + warp * 16 * Lt::LP;
    float *ow = (float *)(smem + Lt::o) + warp * 16 * Lt::LO;
    const int64_t q0 = (int64_t)blockIdx.x * TC_ROWS;
    for (int idx = threadIdx.x; idx < TC_ROWS * DP; idx += 128) {
        int r = idx / DP, c = idx % DP;
        int64_t row = q0 + r;
        float x = row < Lq && c < d ? q[row * q_stride + (int64_t)h * d + c] : 0.0f;
        qs[r * Lt::LQ + c] = __float2bfloat16_rn(x);
    }
    for (int i = lane; i < 16 * Lt::LO; i += 32)
        ow[i] = 0.0f;
    const int my_row = lane >> 1, half = lane & 1;
    float m_run = -INFINITY, l_run = 0.0f;
    for (int64_t t0 = 0; t0 < kv_end; t0 += KTILE) {
        __syncthreads(); /* Q is staged; the previous K/V tile is no longer read */
        for (int idx = threadIdx.x; idx < KTILE * DP; idx += 128) {
            int j = idx / DP, c = idx % DP;
            int64_t key = t0 + j;
            int in = key < kv_end && c < d;
            ks[j * Lt::LQ + c] =
                __float2bfloat16_rn(in ? k[key * k_stride + (int64_t)h * d + c] : 0.0f);
            vs[j * Lt::LQ + c] =
                __float2bfloat16_rn(in ? v[key * v_stride + (int64_t)h * d + c] : 0.0f);
        }
        __syncthreads();
        /* S (16 x KTILE) = Q_w (16 x DP) . K^T (DP x KTILE) */
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> sacc[KTILE / 16];
#pragma unroll
        for (int c = 0; c < KTILE / 16; c++)
            wmma::fill_fragment(sacc[c], 0.0f);
#pragma unroll
        for (int kk = 0; kk < DP / 16; kk++) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
            wmma::load_matrix_sync(a, qs + warp * 16 * Lt::LQ + kk * 16, Lt::LQ);
#pragma unroll
            for (int c = 0; c < KTILE / 16; c++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b;
                wmma::load_matrix_sync(b, ks + c * 16 * Lt::LQ + kk * 16, Lt::LQ);
                wmma::mma_sync(sacc[c], a, b, sacc[c]);
            }
        }
#pragma unroll
        for (int c = 0; c < KTILE / 16; c++)
            wmma::store_matrix_sync(sw + c * 16, sacc[c], Lt::LS, wmma::mem_row_major);
        __syncwarp();
        /* online softmax of row my_row: this lane's half of the tile's columns */
        float *srow = sw + my_row * Lt::LS;
        const int c0 = half * (KTILE / 2);
        float tmax = -INFINITY;
        for (int j = c0; j < c0 + KTILE / 2; j++) {
            float z = t0 + j < kv_end ? srow[j] * scale : -INFINITY;
            srow[j] = z;
            tmax = fmaxf(tmax, z);
        }
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
        float m_new = fmaxf(m_run, tmax), corr = expf(m_run - m_new), sum = 0.0f;
        for (int j = c0; j < c0 + KTILE / 2; j++) {
            float p = expf(srow[j] - m_new);
            sum += p;
            pw[my_row * Lt::LP + j] = __float2bfloat16_rn(p);
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        l_run = l_run * corr + sum;
        m_run = m_new;
        for (int c = half * (DP / 2); c < (half + 1) * (DP / 2); c++)
            ow[my_row * Lt::LO + c] *= corr;
        __syncwarp();
        /* O_w (16 x DP) += P (16 x KTILE) . V (KTILE x DP) */
#pragma unroll
        for (int c = 0; c < DP / 16; c++) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> oacc;
            wmma::load_matrix_sync(oacc, ow + c * 16, Lt::LO, wmma::mem_row_major);
#pragma unroll
            for (int kk = 0; kk < KTILE / 16; kk++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> b;
                wmma::load_matrix_sync(a, pw + kk * 16, Lt::LP);
                wmma::load_matrix_sync(b, vs + kk * 16 * Lt::LQ + c * 16, Lt::LQ);
                wmma::mma_sync(oacc, a, b, oacc);
            }
            wmma::store_matrix_sync(ow + c * 16, oacc, Lt::LO, wmma::mem_row_major);
        }
        __syncwarp();
    }
    int64_t row = q0 + warp * 16 + my_row;
    if (row >= Lq) return;
    float inv = l_run > 0.0f ? 1.0f / l_run : 0.0f;
    for (int c = half * (DP / 2); c < (half + 1) * (DP / 2) && c < d; c++)
        out[row * out_stride + (int64_t)h * d + c] = ow[my_row * Lt::LO + c] * inv;
#else
    __trap(); /* built for an architecture without bf16 WMMA: the launcher refuses first */
#endif
}

/* Launches one instantiation, raising its dynamic shared memory limit on first use. */
template <int DP, int KTILE>
static void launch_tc(dim3 grid, const float *q, int64_t q_stride, const float *k, int64_t k_stride,
                      const float *v, int64_t v_stride, float *out, int64_t out_stride, int64_t Lq,
                      int64_t kv_end, int d, float scale)
{
    static int ready = 0;
    const size_t bytes = tc_layout<DP, KTILE>::bytes;
    if (!ready) {
        if (!CU_OK(cudaFuncSetAttribute(flash_tc_kernel<DP, KTILE>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes),
                   "raise the bf16 attention kernel's shared memory"))
            return;
        ready = 1;
    }
    flash_tc_kernel<DP, KTILE><<<grid, 128, bytes, sf_cuda_be.stream>>>(
        q, q_stride, k, k_stride, v, v_stride, out, out_stride, Lq, kv_end, d, scale);
    CU_LAUNCHED("bf16 attention kernel");
}

template <int KTILE>
static void dispatch_tc(dim3 grid, const float *q, int64_t q_stride, const float *k,
                        int64_t k_stride, const float *v, int64_t v_stride, float *out,
                        int64_t out_stride, int64_t Lq, int64_t kv_end, int d, float scale)
{
    if (d <= 16)
        launch_tc<16, KTILE>(grid, q, q_stride, k, k_stride, v, v_stride, out, out_stride, Lq,
                             kv_end, d, scale);
    else if (d <= 32)
        launch_tc<32, KTILE>(grid, q, q_stride, k, k_stride, v, v_stride, out, out_stride, Lq,
                             kv_end, d, scale);
    else if (d <= 64)
        launch_tc<64, KTILE>(grid, q, q_stride, k, k_stride, v, v_stride, out, out_stride, Lq,
                             kv_end, d, scale);
    else
        launch_tc<128, KTILE>(grid, q, q_stride, k, k_stride, v, v_stride, out, out_stride, Lq,
                              kv_end, d, scale);
}

static void op_attention_bf16(const float *q, int64_t q_stride, const float *k, int64_t k_stride,
                              const float *v, int64_t v_stride, float *out, int64_t out_stride,
                              int64_t Lq, int64_t Lk, int n_heads, int head_dim, int64_t k_valid,
                              float scale)
{
    int64_t kv_end = keys_to_attend(Lq, Lk, n_heads, k_valid);
    if (kv_end < 0) return;
    int major = 0, optin = 0;
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, sf_cuda_be.device);
    cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, sf_cuda_be.device);
    if (major < 8 || head_dim < 1 || head_dim > 128 || n_heads > 65535 ||
        (Lq + TC_ROWS - 1) / TC_ROWS > 0x7fffffff) {
        /* no bf16 tensor cores (or a shape the kernel does not take): the fp32 kernel */
        op_attention(q, q_stride, k, k_stride, v, v_stride, out, out_stride, Lq, Lk, n_heads,
                     head_dim, k_valid, scale);
        return;
    }
    dim3 grid((unsigned)((Lq + TC_ROWS - 1) / TC_ROWS), (unsigned)n_heads);
    /* 64-key tiles where the card's shared memory allows (A100, H100), else 32 (L40S) */
    if ((size_t)optin >= tc_layout<128, 64>::bytes)
        dispatch_tc<64>(grid, q, q_stride, k, k_stride, v, v_stride, out, out_stride, Lq, kv_end,
                        head_dim, scale);
    else
        dispatch_tc<32>(grid, q, q_stride, k, k_stride, v, v_stride, out, out_stride, Lq, kv_end,
                        head_dim, scale);
}

/* This file's slots of the CUDA table (backend.cu calls it when the backend opens). */
void sf_cuda_fill_attention(struct sf_backend *t)
{
    t->attention = op_attention;
    t->attention_bf16 = op_attention_bf16;
}
