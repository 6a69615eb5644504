/* ops_cases.h — the op cases shared by test_ops.c (against naive double references, per SIMD
 * path) and test_threads.c (bit-identical across thread counts). Each case runs one sf_ops.h
 * call on inputs derived from fixed seeds and writes its output to out; its ref twin computes
 * the same in double. Sizes are odd and large enough to cross every tile boundary (several
 * sgemm tiles, linear column tiles and row blocks, attention query/key tiles, conv pixel
 * blocks). */
#ifndef OPS_CASES_H
#define OPS_CASES_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sf_ops.h"
#include "sf_status.h"
#include "sf_test.h"

static float *rnd(size_t n, uint64_t seed, float amp)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    sf_test_fill(x, n, seed);
    for (size_t i = 0; i < n; i++)
        x[i] *= amp;
    return x;
}

/* A weight tensor of dtype dt holding rnd values (rounded to dt); *f32 gets the exact values. */
static struct sf_tensor *weight(enum sf_dtype dt, int ndim, const int64_t *shape, uint64_t seed,
                                float **f32)
{
    struct sf_tensor *t = sf_tensor_create(dt, ndim, shape);
    size_t n = (size_t)sf_tensor_numel(t);
    float *v = rnd(n, seed, 0.5f);
    sf_convert_from_f32(dt, v, t->data, n);
    sf_convert_to_f32(dt, t->data, v, n);
    *f32 = v;
    return t;
}

/* ---- gemm: 4 transpose combinations, padded leading dims, alpha/beta ----------------------- */
enum { G_M = 301, G_N = 547, G_K = 67, G_PAD = 3 };
#define GEMM_OUT (4 * (size_t)G_M * (G_N + G_PAD))

static void gemm_case(float *out, int ref)
{
    float *A = rnd((size_t)(G_M + G_PAD) * (G_K + G_PAD + G_M), 11, 1);
    float *B = rnd((size_t)(G_N + G_PAD) * (G_K + G_PAD + G_N), 12, 1);
    float *C0 = rnd((size_t)G_M * (G_N + G_PAD), 13, 1);
    for (int t = 0; t < 4; t++) {
        int ta = t & 1, tb = t >> 1;
        int64_t lda = (ta ? G_M : G_K) + G_PAD, ldb = (tb ? G_K : G_N) + G_PAD, ldc = G_N + G_PAD;
        float *C = out + (size_t)t * G_M * ldc, beta = t == 3 ? 0.0f : -0.5f;
        memcpy(C, C0, (size_t)G_M * ldc * sizeof *C);
        if (!ref) {
            sf_gemm_f32(ta, tb, G_M, G_N, G_K, 0.75f, A, lda, B, ldb, beta, C, ldc);
            continue;
        }
        for (int64_t i = 0; i < G_M; i++)
            for (int64_t j = 0; j < G_N; j++) {
                double s = 0;
                for (int64_t p = 0; p < G_K; p++)
                    s += (double)(ta ? A[p * lda + i] : A[i * lda + p]) *
                         (tb ? B[j * ldb + p] : B[p * ldb + j]);
                C[i * ldc + j] = (float)(0.75 * s + (double)beta * C0[i * ldc + j]);
            }
    }
    free(A), free(B), free(C0);
}
static void run_gemm(float *out)
{
    gemm_case(out, 0);
}
static void ref_gemm(float *out)
{
    gemm_case(out, 1);
}

/* ---- linear: fp32/bf16/fp16 weights, with and without bias, > 1 tile and row block --------- */
enum { L_N = 523, L_K = 45, L_M = 277 };
#define LINEAR_OUT (3 * (size_t)L_N * L_M + 7 * 5)

static void linear_case(float *out, int ref)
{
    static const enum sf_dtype dts[3] = {SF_DTYPE_F32, SF_DTYPE_BF16, SF_DTYPE_F16};
    float *x = rnd((size_t)L_N * L_K, 21, 1);
    for (int d = 0; d < 3; d++) {
        float *wf, *bf;
        struct sf_tensor *w = weight(dts[d], 2, (int64_t[]){L_M, L_K}, 22 + d, &wf);
        struct sf_tensor *b = weight(dts[d], 1, (int64_t[]){L_M}, 25 + d, &bf);
        float *y = out + (size_t)d * L_N * L_M;
        if (!ref) {
            sf_linear(x, L_N, L_K, w, d == 1 ? NULL : b, y);
        } else {
            for (int64_t i = 0; i < L_N; i++)
                for (int64_t j = 0; j < L_M; j++) {
                    double s = d == 1 ? 0 : bf[j];
                    for (int64_t p = 0; p < L_K; p++)
                        s += (double)x[i * L_K + p] * wf[j * L_K + p];
                    y[i * L_M + j] = (float)s;
                }
        }
        sf_tensor_destroy(w), sf_tensor_destroy(b), free(wf), free(bf);
    }
    /* a tiny one: n = 7, k = 3, m = 5 (a single partial tile) */
    float *wf;
    struct sf_tensor *w = weight(SF_DTYPE_BF16, 2, (int64_t[]){5, 3}, 29, &wf);
    float *y = out + 3 * (size_t)L_N * L_M;
    if (!ref) {
        sf_linear(x, 7, 3, w, NULL, y);
    } else {
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 5; j++) {
                double s = 0;
                for (int p = 0; p < 3; p++)
                    s += (double)x[i * 3 + p] * wf[j * 3 + p];
                y[i * 5 + j] = (float)s;
            }
    }
    sf_tensor_destroy(w), free(wf), free(x);
}
static void run_linear(float *out)
{
    linear_case(out, 0);
}
static void ref_linear(float *out)
{
    linear_case(out, 1);
}

/* ---- norms and elementwise ---------------------------------------------------------------- */
enum { N_ROWS = 37, N_COLS = 1543 };
#define NORM_OUT (6 * (size_t)N_ROWS * N_COLS)

/* Variants: 0 LayerNorm, 1 with weight, 2 with weight and bias (in place), 3 RMSNorm, 4 with
 * weight, 5 modulate. */
static void norm_case(float *out, int ref)
{
    size_t n = (size_t)N_ROWS * N_COLS;
    float *x = rnd(n, 31, 3), *w = rnd(N_COLS, 32, 1), *b = rnd(N_COLS, 33, 1);
    for (size_t i = 0; i < n; i++)
        x[i] += 0.7f; /* a mean to subtract */
    for (int v = 0; v < 6; v++) {
        float *y = out + v * n;
        const float *wv = v == 1 || v == 2 || v == 4 ? w : NULL, *bv = v == 2 ? b : NULL;
        if (!ref) {
            if (v < 3) {
                memcpy(y, x, n * sizeof *y); /* in place: x and y alias */
                sf_layernorm(y, wv, bv, y, N_ROWS, N_COLS, 1e-6f);
            } else if (v < 5) {
                sf_rmsnorm(x, wv, y, N_ROWS, N_COLS, 1e-6f);
            } else {
                sf_modulate(x, w, b, y, N_ROWS, N_COLS);
            }
            continue;
        }
        for (int r = 0; r < N_ROWS; r++) {
            const float *xr = x + (size_t)r * N_COLS;
            float *yr = y + (size_t)r * N_COLS;
            double mean = 0, var = 0, ms = 0;
            for (int c = 0; c < N_COLS; c++)
                mean += xr[c];
            mean /= N_COLS;
            for (int c = 0; c < N_COLS; c++)
                var += (xr[c] - mean) * (xr[c] - mean);
            var /= N_COLS;
            for (int c = 0; c < N_COLS; c++)
                ms += (double)xr[c] * xr[c];
            ms /= N_COLS;
            for (int c = 0; c < N_COLS; c++) {
                double o;
                if (v < 3)
                    o = (xr[c] - mean) / sqrt(var + 1e-6) * (wv ? wv[c] : 1) + (bv ? bv[c] : 0);
                else if (v < 5)
                    o = xr[c] / sqrt(ms + 1e-6) * (wv ? wv[c] : 1);
                else
                    o = (double)xr[c] * (1.0 + b[c]) + w[c];
                yr[c] = (float)o;
            }
        }
    }
    free(x), free(w), free(b);
}
static void run_norm(float *out)
{
    norm_case(out, 0);
}
static void ref_norm(float *out)
{
    norm_case(out, 1);
}

enum { E_N = 40009 };
#define ELEM_OUT (2 * (size_t)E_N)

static void elem_case(float *out, int ref)
{
    float *x = rnd(E_N, 41, 12);
    for (int i = 0; i < 100; i++)
        x[i] *= 1e-4f; /* near zero */
    x[100] = -100.0f, x[101] = 100.0f, x[102] = 0.0f;
    memcpy(out, x, E_N * sizeof *x);
    memcpy(out + E_N, x, E_N * sizeof *x);
    if (!ref) {
        sf_gelu_tanh(out, E_N);
        sf_silu(out + E_N, E_N);
    } else {
        for (int i = 0; i < E_N; i++) {
            double v = x[i];
            /* 0.5(1 + tanh u) == 1 / (1 + exp(-2u)): the tanh form cancels to 0 in double for
             * x < -6 while the true value is still ~1e-15. */
            double u = sqrt(2 / 3.14159265358979323846) * (v + 0.044715 * v * v * v);
            out[i] = (float)(v / (1 + exp(-2 * u)));
            out[E_N + i] = (float)(v / (1 + exp(-v)));
        }
    }
    free(x);
}
static void run_elem(float *out)
{
    elem_case(out, 0);
}
static void ref_elem(float *out)
{
    elem_case(out, 1);
}

/* ---- rope: d = 128 (22/21/21 pairs) on a 3x4x5 grid, and d = 24 on 2x3x2 ------------------- */
#define ROPE_OUT ((size_t)60 * 3 * 128 + (size_t)12 * 2 * 24)

static void rope_case(float *out, int ref)
{
    static const int dims[2][5] = {{128, 3, 4, 5, 3}, {24, 2, 3, 2, 2}}; /* d, F, H, W, heads */
    float *o = out;
    for (int c = 0; c < 2; c++) {
        int d = dims[c][0], F = dims[c][1], H = dims[c][2], W = dims[c][3], nh = dims[c][4];
        int64_t tokens = (int64_t)F * H * W;
        size_t n = (size_t)tokens * nh * d;
        float *x = rnd(n, 51 + c, 2);
        memcpy(o, x, n * sizeof *o);
        if (!ref) {
            struct sf_rope3d *r = sf_rope3d_create(d, F, H, W);
            sf_rope3d_apply(r, o, tokens, nh);
            sf_rope3d_destroy(r);
        } else {
            int nhw = d / 6, nf = d / 2 - 2 * nhw;
            for (int64_t t = 0; t < tokens; t++)
                for (int h = 0; h < nh; h++)
                    for (int j = 0; j < d / 2; j++) {
                        int64_t pos;
                        int i, dim;
                        if (j < nf)
                            pos = t / (H * W), i = j, dim = d - 4 * (d / 6);
                        else if (j < nf + nhw)
                            pos = t / W % H, i = j - nf, dim = 2 * (d / 6);
                        else
                            pos = t % W, i = j - nf - nhw, dim = 2 * (d / 6);
                        double ang = pos * pow(10000.0, -(2.0 * i) / dim);
                        size_t at = ((size_t)t * nh + h) * d + 2 * j;
                        double re = x[at], im = x[at + 1];
                        o[at] = (float)(re * cos(ang) - im * sin(ang));
                        o[at + 1] = (float)(re * sin(ang) + im * cos(ang));
                    }
        }
        o += n;
        free(x);
    }
}
static void run_rope(float *out)
{
    rope_case(out, 0);
}
static void ref_rope(float *out)
{
    rope_case(out, 1);
}

/* ---- attention: fused-qkv strides, 2 query tiles, 2 key tiles, key mask, and no mask -------- */
enum { A_LQ = 131, A_LK = 301, A_H = 3, A_D = 40 };
#define ATT_OUT (2 * (size_t)A_LQ * A_H * A_D)

static void att_case(float *out, int ref)
{
    int64_t st = 3 * A_H * A_D + 5; /* q | k | v of one token, padded */
    float *qkv = rnd((size_t)A_LK * st, 61, 2);
    const float *q = qkv, *k = qkv + A_H * A_D, *v = qkv + 2 * A_H * A_D;
    float scale = 1.0f / sqrtf(A_D);
    for (int c = 0; c < 2; c++) {
        int64_t kvalid = c == 0 ? 257 : A_LK;
        float *o = out + (size_t)c * A_LQ * A_H * A_D;
        if (!ref) {
            sf_attention(q, st, k, st, v, st, o, A_H * A_D, A_LQ, A_LK, A_H, A_D, kvalid, scale);
            continue;
        }
        double *p = malloc(A_LK * sizeof *p);
        for (int i = 0; i < A_LQ; i++)
            for (int h = 0; h < A_H; h++) {
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < kvalid; j++) {
                    double s = 0;
                    for (int e = 0; e < A_D; e++)
                        s += (double)q[i * st + h * A_D + e] * k[j * st + h * A_D + e];
                    p[j] = s * scale;
                    mx = p[j] > mx ? p[j] : mx;
                }
                for (int j = 0; j < kvalid; j++)
                    sum += p[j] = exp(p[j] - mx);
                for (int e = 0; e < A_D; e++) {
                    double acc = 0;
                    for (int j = 0; j < kvalid; j++)
                        acc += p[j] * v[j * st + h * A_D + e];
                    o[(size_t)i * A_H * A_D + h * A_D + e] = (float)(acc / sum);
                }
            }
        free(p);
    }
    free(qkv);
}
static void run_att(float *out)
{
    att_case(out, 0);
}
static void ref_att(float *out)
{
    att_case(out, 1);
}

/* ---- conv3d: causal 3x3x3, patch embed (1,2,2), strided downsample, pointwise, strided with
 * padding on every side; then for prepared convs (sf_conv3d_plan, Winograd where it fits) a
 * 3x3 with padding that cuts the first frames, one with asymmetric padding, and tile blocks
 * that cross tile rows (19 x 21 tiles > one block) ------------------------------------------- */
struct conv_spec {
    int64_t cin, cout, thw[3], k[3];
    int stride[3], pad[6];
    enum sf_dtype dt;
};
#define N_CONV_SPECS 8
static const struct conv_spec conv_specs[N_CONV_SPECS] = {
    {3, 5, {5, 17, 19}, {3, 3, 3}, {1, 1, 1}, {2, 0, 1, 1, 1, 1}, SF_DTYPE_F32},
    {4, 7, {3, 9, 11}, {1, 2, 2}, {1, 2, 2}, {0, 0, 0, 0, 0, 0}, SF_DTYPE_BF16},
    {3, 4, {4, 9, 7}, {3, 3, 3}, {2, 2, 2}, {0, 0, 0, 1, 0, 1}, SF_DTYPE_F16},
    {6, 5, {2, 15, 21}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0, 0, 0, 0}, SF_DTYPE_BF16},
    {2, 3, {3, 11, 13}, {3, 3, 3}, {1, 2, 2}, {1, 1, 1, 1, 1, 1}, SF_DTYPE_BF16},
    {5, 6, {3, 13, 9}, {3, 3, 3}, {1, 1, 1}, {2, 0, 1, 1, 1, 1}, SF_DTYPE_BF16},
    {4, 3, {2, 10, 7}, {1, 3, 3}, {1, 1, 1}, {0, 0, 0, 2, 2, 0}, SF_DTYPE_F32},
    {2, 3, {1, 37, 41}, {1, 3, 3}, {1, 1, 1}, {0, 0, 1, 1, 1, 1}, SF_DTYPE_F16},
};
#define CONV_OUT ((size_t)30000)

/* y = conv3d(x, w, b) of spec s in double (b NULL for none), w in (Cout, Cin, kt, kh, kw). */
static void conv_ref(const struct conv_spec *s, const float *x, const float *wf, const float *b,
                     float *o)
{
    int64_t ot[3];
    sf_conv3d_out_shape(s->thw, s->k, s->stride, s->pad, ot);
    for (int64_t co = 0; co < s->cout; co++)
        for (int64_t t = 0; t < ot[0]; t++)
            for (int64_t h = 0; h < ot[1]; h++)
                for (int64_t q = 0; q < ot[2]; q++) {
                    double acc = b ? b[co] : 0;
                    for (int64_t ci = 0; ci < s->cin; ci++)
                        for (int64_t a = 0; a < s->k[0]; a++)
                            for (int64_t e = 0; e < s->k[1]; e++)
                                for (int64_t f = 0; f < s->k[2]; f++) {
                                    int64_t ti = t * s->stride[0] - s->pad[0] + a;
                                    int64_t hi = h * s->stride[1] - s->pad[2] + e;
                                    int64_t wi = q * s->stride[2] - s->pad[4] + f;
                                    if (ti < 0 || ti >= s->thw[0] || hi < 0 || hi >= s->thw[1] ||
                                        wi < 0 || wi >= s->thw[2])
                                        continue;
                                    acc += (double)wf[((co * s->cin + ci) * s->k[0] + a) * s->k[1] *
                                                          s->k[2] +
                                                      e * s->k[2] + f] *
                                           x[((ci * s->thw[0] + ti) * s->thw[1] + hi) * s->thw[2] +
                                             wi];
                                }
                    o[((co * ot[0] + t) * ot[1] + h) * ot[2] + q] = (float)acc;
                }
}

/* mode 0: sf_conv3d; 1: a plan with SF_CONV_AUTO; 2: the double reference. */
static void conv_case(float *out, int mode)
{
    float *o = out;
    for (int c = 0; c < N_CONV_SPECS; c++) {
        const struct conv_spec *s = &conv_specs[c];
        int64_t ot[3];
        sf_conv3d_out_shape(s->thw, s->k, s->stride, s->pad, ot);
        size_t nin = (size_t)(s->cin * s->thw[0] * s->thw[1] * s->thw[2]);
        float *x = rnd(nin, 71 + c, 1), *wf, *bf;
        struct sf_tensor *w =
            weight(s->dt, 5, (int64_t[]){s->cout, s->cin, s->k[0], s->k[1], s->k[2]}, 75 + c, &wf);
        struct sf_tensor *b = weight(SF_DTYPE_F32, 1, (int64_t[]){s->cout}, 79 + c, &bf);
        size_t nout = (size_t)(s->cout * ot[0] * ot[1] * ot[2]);
        if (mode == 0) {
            sf_conv3d(x, s->cin, s->thw, w, c == 2 ? NULL : b, s->stride, s->pad, o);
        } else if (mode == 1) {
            struct sf_conv3d_plan *p =
                sf_conv3d_plan_create(w, c == 2 ? NULL : b, s->stride, SF_CONV_AUTO);
            SF_ASSERT(p);
            sf_conv3d_plan_run(p, x, s->cin, s->thw, s->pad, o);
            sf_conv3d_plan_destroy(p);
        } else {
            conv_ref(s, x, wf, c == 2 ? NULL : bf, o);
        }
        o += nout;
        SF_ASSERT(o <= out + CONV_OUT);
        sf_tensor_destroy(w), sf_tensor_destroy(b), free(x), free(wf), free(bf);
    }
}
static void run_conv(float *out)
{
    conv_case(out, 0);
}
static void run_conv_plan(float *out)
{
    conv_case(out, 1);
}
static void ref_conv(float *out)
{
    conv_case(out, 2);
}

/* ---- timestep embedding ------------------------------------------------------------------- */
#define TEMB_OUT ((size_t)256 + 6)
static void temb_case(float *out, int ref)
{
    if (!ref) {
        sf_timestep_embedding(999.0, 256, out);
        sf_timestep_embedding(0.0, 6, out + 256);
        return;
    }
    for (int i = 0; i < 128; i++) {
        double f = pow(10000.0, -(double)i / 128);
        out[i] = (float)cos(999.0 * f), out[128 + i] = (float)sin(999.0 * f);
    }
    for (int i = 0; i < 3; i++)
        out[256 + i] = 1.0f, out[259 + i] = 0.0f;
}
static void run_temb(float *out)
{
    temb_case(out, 0);
}
static void ref_temb(float *out)
{
    temb_case(out, 1);
}

struct op_case {
    const char *name;
    void (*run)(float *out);
    void (*ref)(float *out);
    size_t n;
    double tol; /* k of max|a-b| <= k * max|ref| */
};

static const struct op_case op_cases[] = {
    {"gemm", run_gemm, ref_gemm, GEMM_OUT, 1e-5},
    {"linear", run_linear, ref_linear, LINEAR_OUT, 1e-5},
    {"layernorm/rmsnorm/modulate", run_norm, ref_norm, NORM_OUT, 2e-6},
    {"gelu_tanh/silu", run_elem, ref_elem, ELEM_OUT, 1e-6},
    {"rope3d", run_rope, ref_rope, ROPE_OUT, 1e-7},
    {"attention", run_att, ref_att, ATT_OUT, 2e-6},
    {"conv3d", run_conv, ref_conv, CONV_OUT, 1e-5},
    {"conv3d plan (Winograd/direct)", run_conv_plan, ref_conv, CONV_OUT, 1e-5},
    {"timestep_embedding", run_temb, ref_temb, TEMB_OUT, 0},
};
#define N_OP_CASES (sizeof op_cases / sizeof op_cases[0])

#endif
