/* conv3d.c — 3D convolution as GEMM: the DiT's patch embedding (kernel = stride = (1,2,2)) and
 * the VAE's causal convolutions (padding only in front in time). Called by node/ models.
 * The weight (Cout, Cin·kt·kh·kw) is converted to fp32 once per call into the caller's scratch
 * (conv weights are small; the DiT's big weights go through sf_linear). One task = one output
 * frame x CONV_P output pixels: it gathers its im2col block (K x P, zeros where padded) into its
 * own scratch and runs y[:, t, pixels] = W · col with a single-threaded sgemm writing straight
 * into y. 1x1x1 convolutions with stride 1 skip the gather and read x in place. The tiling
 * depends only on shapes, so results do not depend on the thread count. */
#include <string.h>

#include "cpu.h"
#include "sf_status.h"

#define CONV_P 256 /* output pixels per task */

void sf_conv3d_out_shape(const int64_t in_thw[3], const int64_t k_thw[3], const int stride[3],
                         const int pad[6], int64_t out_thw[3])
{
    for (int a = 0; a < 3; a++) {
        int64_t span = in_thw[a] + pad[2 * a] + pad[2 * a + 1] - k_thw[a];
        out_thw[a] = span < 0 ? 0 : span / stride[a] + 1;
    }
}

struct conv_job {
    const float *x, *w, *bias;
    float *y;
    int64_t cin, cout, T, H, W, kt, kh, kw, To, Ho, Wo, K, n_pblocks;
    int st, sh, sw, pt, ph, pw;
    int pointwise;
};

static void conv_item(void *ctx, int64_t item)
{
    const struct conv_job *c = ctx;
    int64_t to = item / c->n_pblocks, p0 = item % c->n_pblocks * CONV_P;
    int64_t HWo = c->Ho * c->Wo, np = HWo - p0 < CONV_P ? HWo - p0 : CONV_P;
    float *y = c->y + to * HWo + p0;
    int64_t ldy = c->To * HWo;
    if (c->pointwise) {
        sf_cpu_sgemm_serial(0, 0, c->cout, np, c->K, 1.0f, c->w, c->K,
                            c->x + to * c->H * c->W + p0, c->T * c->H * c->W, 0.0f, y, ldy);
    } else {
        float *col = sf_cpu_scratch(SCRATCH_CONV_COL, (size_t)c->K * CONV_P * sizeof(float));
        int64_t row = 0;
        for (int64_t ci = 0; ci < c->cin; ci++)
            for (int64_t dt = 0; dt < c->kt; dt++) {
                int64_t ti = to * c->st - c->pt + dt;
                for (int64_t dh = 0; dh < c->kh; dh++)
                    for (int64_t dw = 0; dw < c->kw; dw++, row++) {
                        float *cr = col + row * np;
                        if (ti < 0 || ti >= c->T) {
                            memset(cr, 0, (size_t)np * sizeof(float));
                            continue;
                        }
                        const float *xp = c->x + (ci * c->T + ti) * c->H * c->W;
                        for (int64_t p = 0; p < np; p++) {
                            int64_t ho = (p0 + p) / c->Wo, wo = (p0 + p) % c->Wo;
                            int64_t hi = ho * c->sh - c->ph + dh, wi = wo * c->sw - c->pw + dw;
                            cr[p] = hi >= 0 && hi < c->H && wi >= 0 && wi < c->W
                                        ? xp[hi * c->W + wi]
                                        : 0.0f;
                        }
                    }
            }
        sf_cpu_sgemm_serial(0, 0, c->cout, np, c->K, 1.0f, c->w, c->K, col, np, 0.0f, y, ldy);
    }
    if (c->bias)
        for (int64_t co = 0; co < c->cout; co++) {
            float b = c->bias[co], *yr = y + co * c->To * HWo;
            for (int64_t p = 0; p < np; p++) yr[p] += b;
        }
}

void sf_cpu_conv3d(const float *x, int64_t cin, const int64_t in_thw[3],
                   const struct sf_tensor *w, const struct sf_tensor *bias, const int stride[3],
                   const int pad[6], float *y)
{
    SF_ASSERT(w && w->ndim == 5 && w->shape[1] == cin);
    SF_ASSERT(stride[0] > 0 && stride[1] > 0 && stride[2] > 0);
    int64_t cout = w->shape[0], k_thw[3] = {w->shape[2], w->shape[3], w->shape[4]}, o[3];
    sf_conv3d_out_shape(in_thw, k_thw, stride, pad, o);
    if (o[0] <= 0 || o[1] <= 0 || o[2] <= 0 || cout <= 0) return;
    int64_t K = cin * k_thw[0] * k_thw[1] * k_thw[2];
    const float *wf = w->data;
    if (w->dtype != SF_DTYPE_F32) {
        float *buf = sf_cpu_scratch(SCRATCH_CONV_W, (size_t)(cout * K) * sizeof(float));
        sf_cpu_to_f32(w->dtype, w->data, buf, (size_t)(cout * K));
        wf = buf;
    }
    const float *bf = NULL;
    if (bias) {
        SF_ASSERT(sf_tensor_numel(bias) == cout);
        float *buf = sf_cpu_scratch(SCRATCH_CONV_BIAS, (size_t)cout * sizeof(float));
        sf_cpu_to_f32(bias->dtype, bias->data, buf, (size_t)cout);
        bf = buf;
    }
    struct conv_job c = {.x = x, .w = wf, .bias = bf, .y = y, .cin = cin, .cout = cout,
                         .T = in_thw[0], .H = in_thw[1], .W = in_thw[2], .kt = k_thw[0],
                         .kh = k_thw[1], .kw = k_thw[2], .To = o[0], .Ho = o[1], .Wo = o[2],
                         .K = K, .st = stride[0], .sh = stride[1], .sw = stride[2],
                         .pt = pad[0], .ph = pad[2], .pw = pad[4]};
    c.pointwise = K == cin && stride[0] == 1 && stride[1] == 1 && stride[2] == 1 && pad[0] == 0 &&
                  pad[2] == 0 && pad[4] == 0 && pad[1] == 0 && pad[3] == 0 && pad[5] == 0;
    c.n_pblocks = (c.Ho * c.Wo + CONV_P - 1) / CONV_P;
    sf_parallel_for(c.To * c.n_pblocks, conv_item, &c);
}
