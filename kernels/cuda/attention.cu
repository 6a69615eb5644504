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
    flash_kernel(const float *q, int64_t q_stride, const float *k, int64_t k_stride,
                 const float *v, int64_t v_stride, float *out, int64_t out_stride, int64_t Lq,
                 int64_t kv_end, int d, float scale)
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

void sf_cuda_op_attention(const float *q, int64_t q_stride, const float *k, int64_t k_stride,
                          const float *v, int64_t v_stride, float *out, int64_t out_stride,
                          int64_t Lq, int64_t Lk, int n_heads, int head_dim, int64_t k_valid,
                          float scale)
{
    if (!CU_LIVE() || Lq <= 0 || n_heads <= 0) return;
    int64_t kv_end = k_valid < Lk ? k_valid : Lk;
    if (kv_end < 0) kv_end = 0;
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
