/* attention.c — softmax attention with online softmax in tiles (flash-attention style), never
 * materialising an Lq x Lk matrix. Called by the DiT (self and cross attention), umT5 and the
 * VAE's attention block. One task = one head x ATT_BQ queries; it walks the valid keys in tiles of
 * ATT_BK: S = Q·K^T (sgemm), online-softmax step per row (SIMD exp), O = O·alpha + P·V (sgemm).
 * Keys at index >= k_valid are skipped outright (their weight would be exp(-inf) = 0). The tile
 * sizes are constants, so every output row is computed identically for any thread count. */
#include <math.h>
#include <string.h>

#include "cpu.h"
#include "sf_status.h"

#define ATT_BQ 256 /* queries per task */
#define ATT_BK 256 /* keys per tile */

struct att_job {
    const float *q, *k, *v;
    float *out;
    int64_t qs, ks, vs, os, Lq, kv, n_qblocks;
    int n_heads, d;
    float scale;
};

static void att_item(void *ctx, int64_t item)
{
    const struct att_job *J = ctx;
    const struct cpu_simd *s = sf_cpu_simd();
    int h = (int)(item / J->n_qblocks);
    int64_t i0 = item % J->n_qblocks * ATT_BQ;
    int64_t bq = J->Lq - i0 < ATT_BQ ? J->Lq - i0 : ATT_BQ;
    int d = J->d;
    float *S = sf_cpu_scratch(SCRATCH_ATT_S, (size_t)ATT_BQ * ATT_BK * sizeof(float));
    float *O = sf_cpu_scratch(SCRATCH_ATT_O, (size_t)ATT_BQ * d * sizeof(float));
    float *ml = sf_cpu_scratch(SCRATCH_ATT_ML, 2 * ATT_BQ * sizeof(float));
    float *m = ml, *l = ml + ATT_BQ;
    memset(O, 0, (size_t)bq * d * sizeof(float));
    for (int64_t r = 0; r < bq; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
    }
    const float *q = J->q + i0 * J->qs + (int64_t)h * d;
    for (int64_t j0 = 0; j0 < J->kv; j0 += ATT_BK) {
        int64_t bk = J->kv - j0 < ATT_BK ? J->kv - j0 : ATT_BK;
        sf_cpu_sgemm_serial(0, 1, bq, bk, d, 1.0f, q, J->qs, J->k + j0 * J->ks + (int64_t)h * d,
                            J->ks, 0.0f, S, ATT_BK);
        for (int64_t r = 0; r < bq; r++) {
            float alpha = s->softmax_step(S + r * ATT_BK, bk, J->scale, &m[r], &l[r]);
            if (alpha != 1.0f) s->scale(O + r * d, alpha, d);
        }
        sf_cpu_sgemm_serial(0, 0, bq, d, bk, 1.0f, S, ATT_BK, J->v + j0 * J->vs + (int64_t)h * d,
                            J->vs, 1.0f, O, d);
    }
    for (int64_t r = 0; r < bq; r++) {
        float *o = J->out + (i0 + r) * J->os + (int64_t)h * d;
        memcpy(o, O + r * d, (size_t)d * sizeof(float));
        s->scale(o, l[r] > 0.0f ? 1.0f / l[r] : 0.0f, d);
    }
}

void sf_cpu_attention(const float *q, int64_t q_stride, const float *k, int64_t k_stride,
                      const float *v, int64_t v_stride, float *out, int64_t out_stride, int64_t Lq,
                      int64_t Lk, int n_heads, int head_dim, int64_t k_valid, float scale)
{
    int64_t hd = (int64_t)n_heads * head_dim;
    SF_ASSERT(n_heads > 0 && head_dim > 0 && Lq >= 0 && Lk >= 0);
    SF_ASSERT(q_stride >= hd && k_stride >= hd && v_stride >= hd && out_stride >= hd);
    if (Lq == 0) return;
    int64_t kv = k_valid < Lk ? k_valid : Lk;
    if (kv < 0) kv = 0;
    struct att_job J = {.q = q,
                        .k = k,
                        .v = v,
                        .out = out,
                        .qs = q_stride,
                        .ks = k_stride,
                        .vs = v_stride,
                        .os = out_stride,
                        .Lq = Lq,
                        .kv = kv,
                        .n_qblocks = (Lq + ATT_BQ - 1) / ATT_BQ,
                        .n_heads = n_heads,
                        .d = head_dim,
                        .scale = scale};
    sf_parallel_for(J.n_qblocks * n_heads, att_item, &J);
}
