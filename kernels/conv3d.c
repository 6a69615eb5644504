/* conv3d.c — 3D convolution: the DiT's patch embedding (kernel = stride = (1,2,2)) and the VAE's
 * causal convolutions (padding only in front in time). Called by node/ models, through
 * sf_conv3d (weights prepared per call) or a struct sf_conv3d_plan (prepared once per layer).
 *
 * Two algorithms, both as single-threaded sgemms over tasks whose split depends only on the
 * shapes, so results never depend on the thread count:
 * - direct: one task = one output frame x CONV_P output pixels; it gathers its im2col block
 *   (K x P, zeros where padded) into its own scratch and runs y[:, t, pixels] = W · col straight
 *   into y. 1x1x1 convolutions with stride 1 skip the gather and read x in place.
 * - Winograd F(2x2, 3x3) for 3x3 spatial taps at spatial stride 1 (winograd.c): 16 GEMMs over
 *   the transform points instead of one 9x as deep.
 * The weight is laid out (Cout, kt, Cin, kh, kw) — time outermost — so that the temporal taps
 * that meet only padding (the first frames of a causal conv) are a contiguous K range that is
 * simply left out of the GEMM: a frame after nothing costs one tap, not kt. */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "sf_status.h"

#define CONV_P 256 /* output pixels per direct task */

void sf_conv3d_out_shape(const int64_t in_thw[3], const int64_t k_thw[3], const int stride[3],
                         const int pad[6], int64_t out_thw[3])
{
    for (int a = 0; a < 3; a++) {
        int64_t span = in_thw[a] + pad[2 * a] + pad[2 * a + 1] - k_thw[a];
        out_thw[a] = span < 0 ? 0 : span / stride[a] + 1;
    }
}

void sf_cpu_conv_tap_range(const struct conv_geom *g, int64_t to, int64_t *d0, int64_t *d1)
{
    int64_t t0 = to * g->st - g->pt; /* input frame of tap 0 */
    *d0 = t0 < 0 ? -t0 : 0;
    *d1 = g->T - t0 < g->kt ? g->T - t0 : g->kt;
    if (*d1 < *d0) *d1 = *d0;
}

static void add_bias(const struct conv_geom *g, const float *bias, float *y, int64_t ldy,
                     int64_t np)
{
    if (!bias) return;
    for (int64_t co = 0; co < g->cout; co++) {
        float b = bias[co], *yr = y + co * ldy;
        for (int64_t p = 0; p < np; p++)
            yr[p] += b;
    }
}

struct conv_job {
    struct conv_geom g;
    const float *x, *w, *bias; /* w: (cout, kt, cin, kh, kw) fp32 */
    float *y;
    int64_t K, n_pblocks;
    int pointwise;
};

/* cr[p] = x_t[ho*sh - ph + dh, wo*sw - pw + dw] for the np output pixels from p0 (zero where
 * that falls in the padding), one output row segment at a time: the valid wo range of a segment
 * is computed once, so the inner loop is a strided copy. */
static void gather_row(const struct conv_geom *c, const float *xt, int64_t dh, int64_t dw,
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
    const struct conv_geom *g = &c->g;
    int64_t to = item / c->n_pblocks, p0 = item % c->n_pblocks * CONV_P;
    int64_t HWo = g->Ho * g->Wo, np = HWo - p0 < CONV_P ? HWo - p0 : CONV_P;
    float *y = c->y + to * HWo + p0;
    int64_t ldy = g->To * HWo, d0, d1, khw = g->kh * g->kw;
    sf_cpu_conv_tap_range(g, to, &d0, &d1);
    int64_t K = (d1 - d0) * g->cin * khw; /* only the taps that meet input frames */
    const float *w = c->w + d0 * g->cin * khw;
    if (c->pointwise) {
        sf_cpu_sgemm_serial(0, 0, g->cout, np, K, 1.0f, w, c->K, c->x + to * g->H * g->W + p0,
                            g->T * g->H * g->W, 0.0f, y, ldy);
    } else {
        float *col =
            sf_cpu_scratch(SCRATCH_CONV_COL, (size_t)(K > 0 ? K : 1) * CONV_P * sizeof(float));
        float *cr = col;
        for (int64_t dt = d0; dt < d1; dt++) {
            int64_t ti = to * g->st - g->pt + dt;
            for (int64_t ci = 0; ci < g->cin; ci++) {
                const float *xt = c->x + (ci * g->T + ti) * g->H * g->W;
                for (int64_t dh = 0; dh < g->kh; dh++)
                    for (int64_t dw = 0; dw < g->kw; dw++, cr += np)
                        gather_row(g, xt, dh, dw, p0, np, cr);
            }
        }
        sf_cpu_sgemm_serial(0, 0, g->cout, np, K, 1.0f, w, c->K, col, np, 0.0f, y, ldy);
    }
    add_bias(g, c->bias, y, ldy, np);
}

struct reorder_job {
    const struct sf_tensor *w;
    float *dst;
};

/* Output channel co of w (cout, cin, kt, kh, kw), any float dtype, into dst (cout, kt, cin, kh,
 * kw) fp32. */
static void reorder_item(void *ctx, int64_t co)
{
    const struct reorder_job *jb = ctx;
    const struct sf_tensor *w = jb->w;
    int64_t cin = w->shape[1], kt = w->shape[2], khw = w->shape[3] * w->shape[4];
    size_t es = sf_dtype_size(w->dtype);
    for (int64_t ci = 0; ci < cin; ci++)
        for (int64_t dt = 0; dt < kt; dt++)
            sf_convert_to_f32(w->dtype,
                              (const char *)w->data + ((co * cin + ci) * kt + dt) * khw * es,
                              jb->dst + ((co * kt + dt) * cin + ci) * khw, (size_t)khw);
}

static void reorder_weight(const struct sf_tensor *w, float *dst)
{
    struct reorder_job jb = {w, dst};
    sf_parallel_for(w->shape[0], reorder_item, &jb);
}

static void geom_init(struct conv_geom *g, int64_t cin, int64_t cout, const int64_t in_thw[3],
                      const int64_t k[3], const int stride[3], const int pad[6])
{
    int64_t o[3];
    sf_conv3d_out_shape(in_thw, k, stride, pad, o);
    *g = (struct conv_geom){.cin = cin,
                            .cout = cout,
                            .T = in_thw[0],
                            .H = in_thw[1],
                            .W = in_thw[2],
                            .kt = k[0],
                            .kh = k[1],
                            .kw = k[2],
                            .To = o[0],
                            .Ho = o[1],
                            .Wo = o[2],
                            .st = stride[0],
                            .sh = stride[1],
                            .sw = stride[2],
                            .pt = pad[0],
                            .ph = pad[2],
                            .pw = pad[4]};
}

static void run_direct(const struct conv_geom *g, const float *x, const float *w, const float *bias,
                       const int pad[6], float *y)
{
    struct conv_job c = {.g = *g, .x = x, .w = w, .bias = bias, .y = y};
    c.K = g->kt * g->cin * g->kh * g->kw;
    c.pointwise = g->kt == 1 && g->kh == 1 && g->kw == 1 && g->st == 1 && g->sh == 1 &&
                  g->sw == 1 && pad[0] == 0 && pad[2] == 0 && pad[4] == 0 && pad[1] == 0 &&
                  pad[3] == 0 && pad[5] == 0;
    c.n_pblocks = (g->Ho * g->Wo + CONV_P - 1) / CONV_P;
    sf_parallel_for(g->To * c.n_pblocks, conv_item, &c);
}

static void check_args(int64_t cin, const struct sf_tensor *w, const int stride[3],
                       const int pad[6])
{
    SF_ASSERT(w && w->ndim == 5 && w->shape[1] == cin);
    SF_ASSERT(stride[0] > 0 && stride[1] > 0 && stride[2] > 0);
    for (int i = 0; i < 6; i++)
        SF_ASSERT(pad[i] >= 0);
}

void sf_cpu_conv3d(const float *x, int64_t cin, const int64_t in_thw[3], const struct sf_tensor *w,
                   const struct sf_tensor *bias, const int stride[3], const int pad[6], float *y)
{
    check_args(cin, w, stride, pad);
    struct conv_geom g;
    geom_init(&g, cin, w->shape[0], in_thw, &w->shape[2], stride, pad);
    if (g.To <= 0 || g.Ho <= 0 || g.Wo <= 0 || g.cout <= 0) return;
    int64_t K = cin * g.kt * g.kh * g.kw;
    float *wf = sf_cpu_scratch(SCRATCH_CONV_W, (size_t)(g.cout * K) * sizeof(float));
    reorder_weight(w, wf);
    const float *bf = NULL;
    if (bias) {
        SF_ASSERT(sf_tensor_numel(bias) == g.cout);
        float *buf = sf_cpu_scratch(SCRATCH_CONV_BIAS, (size_t)g.cout * sizeof(float));
        sf_convert_to_f32(bias->dtype, bias->data, buf, (size_t)g.cout);
        bf = buf;
    }
    run_direct(&g, x, wf, bf, pad, y);
}

/* ---- prepared convolutions ---------------------------------------------------------------- */

struct sf_conv3d_plan {
    enum sf_conv_algo algo;
    int64_t cout, cin, k[3];
    int stride[3];
    float *w;    /* direct: (cout, kt, cin, kh, kw); Winograd: (16, cout, kt, cin) */
    float *bias; /* (cout) or NULL */
    size_t bytes;
};

struct sf_conv3d_plan *sf_conv3d_plan_create(const struct sf_tensor *w,
                                             const struct sf_tensor *bias, const int stride[3],
                                             enum sf_conv_algo algo)
{
    SF_ASSERT(w && w->ndim == 5);
    SF_ASSERT(stride[0] > 0 && stride[1] > 0 && stride[2] > 0);
    SF_ASSERT(!bias || sf_tensor_numel(bias) == w->shape[0]);
    int wino_ok = w->shape[3] == 3 && w->shape[4] == 3 && stride[1] == 1 && stride[2] == 1;
    SF_ASSERT(algo != SF_CONV_WINOGRAD || wino_ok);
    struct sf_conv3d_plan *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->algo = algo == SF_CONV_AUTO ? (wino_ok ? SF_CONV_WINOGRAD : SF_CONV_DIRECT) : algo;
    p->cout = w->shape[0], p->cin = w->shape[1];
    memcpy(p->k, &w->shape[2], sizeof p->k);
    memcpy(p->stride, stride, sizeof p->stride);
    int64_t taps = p->k[0] * p->k[1] * p->k[2], n = p->cout * p->cin * taps;
    int64_t nw = p->algo == SF_CONV_WINOGRAD ? p->cout * p->cin * p->k[0] * 16 : n;
    float *tmp = p->algo == SF_CONV_WINOGRAD ? malloc((size_t)n * sizeof(float)) : NULL;
    p->w = malloc((size_t)nw * sizeof(float));
    p->bias = bias ? malloc((size_t)p->cout * sizeof(float)) : NULL;
    if ((p->algo == SF_CONV_WINOGRAD && !tmp) || !p->w || (bias && !p->bias)) {
        free(tmp);
        sf_conv3d_plan_destroy(p);
        return NULL;
    }
    if (p->algo == SF_CONV_WINOGRAD) {
        reorder_weight(w, tmp);
        sf_cpu_wino_weight(tmp, p->cout, p->k[0], p->cin, p->w);
    } else {
        reorder_weight(w, p->w);
    }
    free(tmp);
    if (bias) sf_convert_to_f32(bias->dtype, bias->data, p->bias, (size_t)p->cout);
    p->bytes = sizeof *p + (size_t)(nw + (bias ? p->cout : 0)) * sizeof(float);
    return p;
}

void sf_conv3d_plan_run(const struct sf_conv3d_plan *p, const float *x, int64_t cin,
                        const int64_t in_thw[3], const int pad[6], float *y)
{
    SF_ASSERT(p && cin == p->cin);
    for (int i = 0; i < 6; i++)
        SF_ASSERT(pad[i] >= 0);
    struct conv_geom g;
    geom_init(&g, cin, p->cout, in_thw, p->k, p->stride, pad);
    if (g.To <= 0 || g.Ho <= 0 || g.Wo <= 0 || g.cout <= 0) return;
    if (p->algo == SF_CONV_WINOGRAD)
        sf_cpu_wino_run(&g, x, p->w, p->bias, y);
    else
        run_direct(&g, x, p->w, p->bias, pad, y);
}

enum sf_conv_algo sf_conv3d_plan_algo(const struct sf_conv3d_plan *p)
{
    return p->algo;
}
size_t sf_conv3d_plan_bytes(const struct sf_conv3d_plan *p)
{
    return p ? p->bytes : 0;
}

void sf_conv3d_plan_destroy(struct sf_conv3d_plan *p)
{
    if (!p) return;
    free(p->w);
    free(p->bias);
    free(p);
}
