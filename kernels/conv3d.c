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

/* cr[p] = x_t[ho*sh - ph + dh, wo*sw - pw + dw] for the np output pixels from p0 (zero where
 * that falls in the padding), one output row segment at a time: the valid wo range of a segment
 * is computed once, so the inner loop is a strided copy. */
static void gather_row(const struct conv_job *c, const float *xt, int64_t dh, int64_t dw,
                       int64_t p0, int64_t np, float *cr)
{
    /* wo with 0 <= wo*sw - pw + dw < W  <=>  wo in [wlo, whi) */
    int64_t off = c->pw - dw;
    int64_t wlo = off > 0 ? (off + c->sw - 1) / c->sw : 0;
    int64_t whi = c->W + off > 0 ? (c->W + off - 1) / c->sw + 1 : 0;
    if (whi > c->Wo) whi = c->Wo;
    for (int64_t p = 0; p < np;) {
        int64_t ho = (p0 + p) / c->Wo, wo0 = (p0 + p) % c->Wo;
        int64_t seg = c->Wo - wo0 < np - p ? c->Wo - wo0 : np - p;
        int64_t hi = ho * c->sh - c->ph + dh;
        float *dst = cr + p;
        if (hi < 0 || hi >= c->H) {
            memset(dst, 0, (size_t)seg * sizeof(float));
        } else {
            const float *src = xt + hi * c->W;
            int64_t a = wlo > wo0 ? wlo : wo0, b = whi < wo0 + seg ? whi : wo0 + seg;
            if (b < a) b = a;
            for (int64_t wo = wo0; wo < a; wo++)
                dst[wo - wo0] = 0.0f;
            if (c->sw == 1)
                memcpy(dst + (a - wo0), src + a - off, (size_t)(b - a) * sizeof(float));
            else
                for (int64_t wo = a; wo < b; wo++)
                    dst[wo - wo0] = src[wo * c->sw - off];
            for (int64_t wo = b; wo < wo0 + seg; wo++)
                dst[wo - wo0] = 0.0f;
        }
        p += seg;
    }
}

static void conv_item(void *ctx, int64_t item)
{
    const struct conv_job *c = ctx;
    int64_t to = item / c->n_pblocks, p0 = item % c->n_pblocks * CONV_P;
    int64_t HWo = c->Ho * c->Wo, np = HWo - p0 < CONV_P ? HWo - p0 : CONV_P;
    float *y = c->y + to * HWo + p0;
    int64_t ldy = c->To * HWo;
    if (c->pointwise) {
        sf_cpu_sgemm_serial(0, 0, c->cout, np, c->K, 1.0f, c->w, c->K, c->x + to * c->H * c->W + p0,
                            c->T * c->H * c->W, 0.0f, y, ldy);
    } else {
        float *col = sf_cpu_scratch(SCRATCH_CONV_COL, (size_t)c->K * CONV_P * sizeof(float));
        int64_t row = 0;
        for (int64_t ci = 0; ci < c->cin; ci++)
            for (int64_t dt = 0; dt < c->kt; dt++) {
                int64_t ti = to * c->st - c->pt + dt;
                const float *xt = c->x + (ci * c->T + ti) * c->H * c->W;
                for (int64_t dh = 0; dh < c->kh; dh++)
                    for (int64_t dw = 0; dw < c->kw; dw++, row++) {
                        float *cr = col + row * np;
                        if (ti < 0 || ti >= c->T)
                            memset(cr, 0, (size_t)np * sizeof(float));
                        else
                            gather_row(c, xt, dh, dw, p0, np, cr);
                    }
            }
        sf_cpu_sgemm_serial(0, 0, c->cout, np, c->K, 1.0f, c->w, c->K, col, np, 0.0f, y, ldy);
    }
    if (c->bias)
        for (int64_t co = 0; co < c->cout; co++) {
            float b = c->bias[co], *yr = y + co * c->To * HWo;
            for (int64_t p = 0; p < np; p++)
                yr[p] += b;
        }
}

void sf_cpu_conv3d(const float *x, int64_t cin, const int64_t in_thw[3], const struct sf_tensor *w,
                   const struct sf_tensor *bias, const int stride[3], const int pad[6], float *y)
{
    SF_ASSERT(w && w->ndim == 5 && w->shape[1] == cin);
    SF_ASSERT(stride[0] > 0 && stride[1] > 0 && stride[2] > 0);
    for (int i = 0; i < 6; i++)
        SF_ASSERT(pad[i] >= 0);
    int64_t cout = w->shape[0], k_thw[3] = {w->shape[2], w->shape[3], w->shape[4]}, o[3];
    sf_conv3d_out_shape(in_thw, k_thw, stride, pad, o);
    if (o[0] <= 0 || o[1] <= 0 || o[2] <= 0 || cout <= 0) return;
    int64_t K = cin * k_thw[0] * k_thw[1] * k_thw[2];
    const float *wf = w->data;
    if (w->dtype != SF_DTYPE_F32) {
        float *buf = sf_cpu_scratch(SCRATCH_CONV_W, (size_t)(cout * K) * sizeof(float));
        sf_convert_to_f32(w->dtype, w->data, buf, (size_t)(cout * K));
        wf = buf;
    }
    const float *bf = NULL;
    if (bias) {
        SF_ASSERT(sf_tensor_numel(bias) == cout);
        float *buf = sf_cpu_scratch(SCRATCH_CONV_BIAS, (size_t)cout * sizeof(float));
        sf_convert_to_f32(bias->dtype, bias->data, buf, (size_t)cout);
        bf = buf;
    }
    struct conv_job c = {.x = x,
                         .w = wf,
                         .bias = bf,
                         .y = y,
                         .cin = cin,
                         .cout = cout,
                         .T = in_thw[0],
                         .H = in_thw[1],
                         .W = in_thw[2],
                         .kt = k_thw[0],
                         .kh = k_thw[1],
                         .kw = k_thw[2],
                         .To = o[0],
                         .Ho = o[1],
                         .Wo = o[2],
                         .K = K,
                         .st = stride[0],
                         .sh = stride[1],
                         .sw = stride[2],
                         .pt = pad[0],
                         .ph = pad[2],
                         .pw = pad[4]};
    c.pointwise = K == cin && stride[0] == 1 && stride[1] == 1 && stride[2] == 1 && pad[0] == 0 &&
                  pad[2] == 0 && pad[4] == 0 && pad[1] == 0 && pad[3] == 0 && pad[5] == 0;
    c.n_pblocks = (c.Ho * c.Wo + CONV_P - 1) / CONV_P;
    sf_parallel_for(c.To * c.n_pblocks, conv_item, &c);
}
