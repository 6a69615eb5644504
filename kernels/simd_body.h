/* simd_body.h — the CPU hot loops written once with GCC/Clang generic vectors and compiled once
 * per instruction set: simd_portable.c (baseline, 4 lanes), simd_avx2.c (-mavx2 -mfma -mf16c, 8
 * lanes) and simd_avx512.c (-mavx512f/bw/vl/dq, 16 lanes) each define VL and SIMD_NAME and
 * include this file, which ends with that instruction set's struct cpu_simd. Only cpu_simd.c
 * decides which table runs, after asking the CPU, so no AVX instruction runs on a CPU without it.
 *
 * Subtle: loads/stores go through memcpy (unaligned, compiles to one vector move); exp is a
 * Cephes-style polynomial (about 1 ulp on [-87, 88], 0 below), so GELU/SiLU/softmax use
 * x / (1 + exp(-y)) forms that never cancel. Reductions use several accumulators in a fixed
 * order: results depend on the instruction set, never on threads. */
#ifndef VL
#error "define VL (floats per vector) and SIMD_NAME before including simd_body.h"
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu.h"
#include "sf_dtype.h"
#if defined(__F16C__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(name##_, SIMD_NAME)

typedef float vf __attribute__((vector_size(VL * 4)));
typedef int32_t vi __attribute__((vector_size(VL * 4)));
typedef uint32_t vu __attribute__((vector_size(VL * 4)));
typedef uint16_t vh __attribute__((vector_size(VL * 2)));

static inline vf FN(ld)(const float *p)
{
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void FN(st)(float *p, vf v)
{
    memcpy(p, &v, sizeof v);
}
static inline vf FN(splat)(float a)
{
    vf v = (vf){0} + a;
    return v;
}
static inline float FN(hsum)(vf v)
{
    double s = 0; /* fixed lane order */
    for (int i = 0; i < VL; i++)
        s += v[i];
    return (float)s;
}
static inline float FN(hmax)(vf v)
{
    float m = v[0];
    for (int i = 1; i < VL; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}
static inline vf FN(vmax)(vf a, vf b)
{
    vi gt = a > b;
    return (vf)(((vi)a & gt) | ((vi)b & ~gt));
}

/* exp(x) for x in [-87.3, 88.7] (clamped above; 0 below -87.3). */
static inline vf FN(vexp)(vf x)
{
    const vf hi = FN(splat)(88.7f), lo = FN(splat)(-87.3f);
    vi under = x < lo;
    x = (vf)(((vi)x & ~(x > hi)) | ((vi)hi & (x > hi)));
    x = (vf)(((vi)x & ~under) | ((vi)lo & under));
    const vf magic = FN(splat)(12582912.0f); /* 1.5 * 2^23: round to nearest */
    vf t = x * 1.44269504088896341f + magic;
    vi n = (vi)t - (vi)magic;
    vf fn = t - magic;
    vf r = x - fn * 0.693359375f;
    r = r - fn * -2.12194440e-4f;
    vf p = FN(splat)(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    vi pow2 = (n + 127) << 23;
    vf e = p * (vf)pow2;
    return (vf)((vi)e & ~under);
}

static inline float FN(sexp)(float x)
{
    vf v = FN(splat)(x);
    return FN(vexp)(v)[0];
}

static void FN(bf16_to_f32)(const uint16_t *src, float *dst, size_t n)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL) {
        vh h;
        memcpy(&h, src + i, sizeof h);
        vu u = __builtin_convertvector(h, vu) << 16;
        FN(st)(dst + i, (vf)u);
    }
    for (; i < n; i++)
        dst[i] = sf_bf16_to_f32(src[i]);
}

static void FN(f16_to_f32)(const uint16_t *src, float *dst, size_t n)
{
    size_t i = 0;
#if VL == 16
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
#elif VL == 8 && defined(__F16C__)
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
#endif
    for (; i < n; i++)
        dst[i] = sf_f16_to_f32(src[i]);
}

static void FN(f32_to_bf16)(const float *src, uint16_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL) {
        vf x = FN(ld)(src + i);
        vu u = (vu)x;
        vu nan = (vu)((u & 0x7fffffffu) > 0x7f800000u);
        vu rne = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
        vu q = (u >> 16) | 0x40u;
        vu r = (rne & ~nan) | (q & nan);
        vh h = __builtin_convertvector(r, vh);
        memcpy(dst + i, &h, sizeof h);
    }
    for (; i < n; i++)
        dst[i] = sf_f32_to_bf16(src[i]);
}

static void FN(f32_to_f16)(const float *src, uint16_t *dst, size_t n)
{
    size_t i = 0;
    /* The hardware rounds to nearest even like sf_f32_to_f16; NaNs keep the scalar encoding. */
#if VL == 16
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(src + i);
        if (_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q)) break;
        _mm256_storeu_si256((__m256i *)(dst + i), _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
    }
#elif VL == 8 && defined(__F16C__)
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(src + i);
        if (_mm256_movemask_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q))) break;
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
    }
#endif
    for (; i < n; i++)
        dst[i] = sf_f32_to_f16(src[i]);
}

/* Sum and sum of squared deviations of a row, 2 accumulators per pass. */
static void FN(layernorm_row)(const float *x, const float *w, const float *b, float *y,
                              int64_t cols, float eps)
{
    vf a0 = {0}, a1 = {0};
    int64_t c = 0;
    for (; c + 2 * VL <= cols; c += 2 * VL) {
        a0 += FN(ld)(x + c);
        a1 += FN(ld)(x + c + VL);
    }
    double s = (double)FN(hsum)(a0) + FN(hsum)(a1);
    for (; c < cols; c++)
        s += x[c];
    float mean = (float)(s / (double)cols);
    vf vm = FN(splat)(mean);
    a0 = (vf){0};
    a1 = (vf){0};
    for (c = 0; c + 2 * VL <= cols; c += 2 * VL) {
        vf d0 = FN(ld)(x + c) - vm, d1 = FN(ld)(x + c + VL) - vm;
        a0 += d0 * d0;
        a1 += d1 * d1;
    }
    double ss = (double)FN(hsum)(a0) + FN(hsum)(a1);
    for (; c < cols; c++)
        ss += (double)(x[c] - mean) * (x[c] - mean);
    float inv = (float)(1.0 / sqrt(ss / (double)cols + (double)eps));
    vf vi_ = FN(splat)(inv);
    for (c = 0; c + VL <= cols; c += VL) {
        vf v = (FN(ld)(x + c) - vm) * vi_;
        if (w) v = v * FN(ld)(w + c);
        if (b) v = v + FN(ld)(b + c);
        FN(st)(y + c, v);
    }
    for (; c < cols; c++) {
        float v = (x[c] - mean) * inv;
        if (w) v = v * w[c];
        if (b) v = v + b[c];
        y[c] = v;
    }
}

static void FN(rmsnorm_row)(const float *x, const float *w, float *y, int64_t cols, float eps)
{
    vf a0 = {0}, a1 = {0};
    int64_t c = 0;
    for (; c + 2 * VL <= cols; c += 2 * VL) {
        vf x0 = FN(ld)(x + c), x1 = FN(ld)(x + c + VL);
        a0 += x0 * x0;
        a1 += x1 * x1;
    }
    double ss = (double)FN(hsum)(a0) + FN(hsum)(a1);
    for (; c < cols; c++)
        ss += (double)x[c] * x[c];
    float inv = (float)(1.0 / sqrt(ss / (double)cols + (double)eps));
    vf vinv = FN(splat)(inv);
    for (c = 0; c + VL <= cols; c += VL) {
        vf v = FN(ld)(x + c) * vinv;
        if (w) v = v * FN(ld)(w + c);
        FN(st)(y + c, v);
    }
    for (; c < cols; c++)
        y[c] = x[c] * inv * (w ? w[c] : 1.0f);
}

static void FN(modulate_row)(const float *x, const float *shift, const float *scale, float *y,
                             int64_t cols)
{
    int64_t c = 0;
    for (; c + VL <= cols; c += VL)
        FN(st)(y + c, FN(ld)(x + c) * (1.0f + FN(ld)(scale + c)) + FN(ld)(shift + c));
    for (; c < cols; c++)
        y[c] = x[c] * (1.0f + scale[c]) + shift[c];
}

/* 0.5x(1+tanh(u)) == x / (1 + exp(-2u)), u = sqrt(2/pi)(x + 0.044715x^3). */
static void FN(gelu_tanh)(float *x, int64_t n)
{
    const float k0 = -2.0f * 0.7978845608028654f, k1 = k0 * 0.044715f;
    int64_t i = 0;
    for (; i + VL <= n; i += VL) {
        vf v = FN(ld)(x + i);
        vf e = FN(vexp)(v * (k0 + k1 * v * v));
        FN(st)(x + i, v / (1.0f + e));
    }
    for (; i < n; i++)
        x[i] = x[i] / (1.0f + FN(sexp)(x[i] * (k0 + k1 * x[i] * x[i])));
}

static void FN(silu)(float *x, int64_t n)
{
    int64_t i = 0;
    for (; i + VL <= n; i += VL) {
        vf v = FN(ld)(x + i);
        FN(st)(x + i, v / (1.0f + FN(vexp)(-v)));
    }
    for (; i < n; i++)
        x[i] = x[i] / (1.0f + FN(sexp)(-x[i]));
}

static float FN(softmax_step)(float *s, int64_t n, float scale, float *m, float *l)
{
    vf vmx = FN(splat)(-INFINITY), vs = FN(splat)(scale);
    int64_t i = 0;
    for (; i + VL <= n; i += VL)
        vmx = FN(vmax)(vmx, FN(ld)(s + i) * vs);
    float m_new = FN(hmax)(vmx);
    for (; i < n; i++)
        m_new = s[i] * scale > m_new ? s[i] * scale : m_new;
    if (*m > m_new) m_new = *m;
    float alpha = *m == -INFINITY ? 0.0f : FN(sexp)(*m - m_new);
    vf vmn = FN(splat)(m_new), acc = {0};
    for (i = 0; i + VL <= n; i += VL) {
        vf e = FN(vexp)(FN(ld)(s + i) * vs - vmn);
        acc += e;
        FN(st)(s + i, e);
    }
    double sum = FN(hsum)(acc);
    for (; i < n; i++) {
        s[i] = FN(sexp)(s[i] * scale - m_new);
        sum += s[i];
    }
    *l = *l * alpha + (float)sum;
    *m = m_new;
    return alpha;
}

static void FN(scale)(float *x, float a, int64_t n)
{
    int64_t i = 0;
    for (; i + VL <= n; i += VL)
        FN(st)(x + i, FN(ld)(x + i) * a);
    for (; i < n; i++)
        x[i] *= a;
}

static void FN(add)(float *y, const float *b, int64_t n)
{
    int64_t i = 0;
    for (; i + VL <= n; i += VL)
        FN(st)(y + i, FN(ld)(y + i) + FN(ld)(b + i));
    for (; i < n; i++)
        y[i] += b[i];
}

/* ---- Winograd F(2x2, 3x3) transforms (winograd.c) ------------------------------------------ */

/* Lane indices for __builtin_shufflevector (GCC >= 12, Clang): de-interleave the even and odd
 * floats of two vectors, and interleave two vectors back. */
#if VL == 4
#define WINO_EVEN 0, 2, 4, 6
#define WINO_ODD 1, 3, 5, 7
#define WINO_ZIP_LO 0, 4, 1, 5
#define WINO_ZIP_HI 2, 6, 3, 7
#elif VL == 8
#define WINO_EVEN 0, 2, 4, 6, 8, 10, 12, 14
#define WINO_ODD 1, 3, 5, 7, 9, 11, 13, 15
#define WINO_ZIP_LO 0, 8, 1, 9, 2, 10, 3, 11
#define WINO_ZIP_HI 4, 12, 5, 13, 6, 14, 7, 15
#elif VL == 16
#define WINO_EVEN 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define WINO_ODD 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#define WINO_ZIP_LO 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define WINO_ZIP_HI 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#else
#error "VL must be 4, 8 or 16"
#endif

/* The 4x4 transform B^T d B of one tile, with its rows given as columns (d0 .. d3 per row):
 * t = d B along the rows, then B^T down the columns; out[pt], pt = 4·(row point) + column. */
#define WINO_IN_TILE(T, x, out)                                                                    \
    do {                                                                                           \
        T t_[4][4];                                                                                \
        for (int r_ = 0; r_ < 4; r_++) {                                                           \
            t_[r_][0] = x[r_][0] - x[r_][2];                                                       \
            t_[r_][1] = x[r_][1] + x[r_][2];                                                       \
            t_[r_][2] = x[r_][2] - x[r_][1];                                                       \
            t_[r_][3] = x[r_][1] - x[r_][3];                                                       \
        }                                                                                          \
        for (int c_ = 0; c_ < 4; c_++) {                                                           \
            out[c_] = t_[0][c_] - t_[2][c_];                                                       \
            out[4 + c_] = t_[1][c_] + t_[2][c_];                                                   \
            out[8 + c_] = t_[2][c_] - t_[1][c_];                                                   \
            out[12 + c_] = t_[1][c_] - t_[3][c_];                                                  \
        }                                                                                          \
    } while (0)

/* V = B^T d B of VL consecutive tiles whose 4 input rows start at rows[r] (each read
 * [0, 2VL + 2)): the even/odd columns are de-interleaved from two loads per row. */
static inline void FN(wino_in_vl)(const float *const rows[4], vf o[16])
{
    vf x[4][4];
    for (int r = 0; r < 4; r++) {
        const float *d = rows[r];
        vf a = FN(ld)(d), b = FN(ld)(d + VL), c = FN(ld)(d + 2), e = FN(ld)(d + 2 + VL);
        x[r][0] = __builtin_shufflevector(a, b, WINO_EVEN);
        x[r][1] = __builtin_shufflevector(a, b, WINO_ODD);
        x[r][2] = __builtin_shufflevector(c, e, WINO_EVEN);
        x[r][3] = __builtin_shufflevector(c, e, WINO_ODD);
    }
    WINO_IN_TILE(vf, x, o);
}

/* Input transform of n tiles: tile j reads r_a[2j .. 2j+3] of the 4 input rows; V = B^T d B
 * goes to v[pt * ldv + j]. Whole vectors only: the rows must be readable up to
 * 2·ceil(n/VL)·VL + 2 floats and v is written up to ceil(n/VL)·VL columns (the lanes past n
 * hold junk for the caller to ignore or overwrite). */
static void FN(wino_in)(const float *r0, const float *r1, const float *r2, const float *r3,
                        int64_t n, float *v, int64_t ldv)
{
    vf o[16];
    for (int64_t j = 0; j < n; j += VL) {
        const float *rows[4] = {r0 + 2 * j, r1 + 2 * j, r2 + 2 * j, r3 + 2 * j};
        FN(wino_in_vl)(rows, o);
        for (int pt = 0; pt < 16; pt++)
            FN(st)(v + pt * ldv + j, o[pt]);
    }
}

/* Y = A^T M A + b of VL tiles from m[pt * ldm], written interleaved to y0 and y1 (2VL floats
 * each; y1 NULL to skip). */
static inline void FN(wino_out_vl)(const float *m, int64_t ldm, vf b, float *y0, float *y1)
{
    vf s[2][4];
    for (int c = 0; c < 4; c++) { /* A^T down the columns */
        vf m0 = FN(ld)(m + c * ldm), m1 = FN(ld)(m + (4 + c) * ldm);
        vf m2 = FN(ld)(m + (8 + c) * ldm), m3 = FN(ld)(m + (12 + c) * ldm);
        s[0][c] = m0 + m1 + m2;
        s[1][c] = m1 - m2 - m3;
    }
    for (int a = 0; a < 2; a++) { /* then A along the rows, interleaved back */
        float *y = a ? y1 : y0;
        if (!y) break;
        vf e = s[a][0] + s[a][1] + s[a][2] + b, o = s[a][1] - s[a][2] - s[a][3] + b;
        FN(st)(y, __builtin_shufflevector(e, o, WINO_ZIP_LO));
        FN(st)(y + VL, __builtin_shufflevector(e, o, WINO_ZIP_HI));
    }
}

/* Output transform of n tiles: Y = A^T M A + b from m[pt * ldm + j] into output rows y0 and y1
 * (exactly 2n floats each; y1 NULL to skip the second row). m must be readable up to
 * ceil(n/VL)·VL columns (junk past n is ignored); the last partial vector goes through a copy. */
static void FN(wino_out)(const float *m, int64_t ldm, float b, int64_t n, float *y0, float *y1)
{
    int64_t j = 0;
    vf vb = FN(splat)(b);
    for (; j + VL <= n; j += VL)
        FN(wino_out_vl)(m + j, ldm, vb, y0 + 2 * j, y1 ? y1 + 2 * j : NULL);
    if (j == n) return;
    float yb[2][2 * VL];
    FN(wino_out_vl)(m + j, ldm, vb, yb[0], y1 ? yb[1] : NULL);
    memcpy(y0 + 2 * j, yb[0], (size_t)(2 * (n - j)) * sizeof(float));
    if (y1) memcpy(y1 + 2 * j, yb[1], (size_t)(2 * (n - j)) * sizeof(float));
}

#undef WINO_EVEN
#undef WINO_ODD
#undef WINO_ZIP_LO
#undef WINO_ZIP_HI
#undef WINO_IN_TILE

/* ---- portable blocked sgemm: packed panels, MR x NR register tile ------------------------- */
#define MR 4
#define NR (2 * VL)
#define KC 256
#define MC 128
#define NC 1024

static inline float FN(at)(const float *X, int64_t ld, int trans, int64_t r, int64_t c)
{
    return trans ? X[c * ld + r] : X[r * ld + c];
}

/* C[m x n] += alpha * Ap (MR x kc strip) * Bp (kc x NR strip); m <= MR, n <= NR. */
static void FN(gemm_tile)(int64_t kc, const float *Ap, const float *Bp, float alpha, float *C,
                          int64_t ldc, int64_t m, int64_t n)
{
    vf c[MR][2] = {{{0}}};
    for (int64_t p = 0; p < kc; p++) {
        vf b0 = FN(ld)(Bp + p * NR), b1 = FN(ld)(Bp + p * NR + VL);
        for (int r = 0; r < MR; r++) {
            vf a = FN(splat)(Ap[p * MR + r]);
            c[r][0] += a * b0;
            c[r][1] += a * b1;
        }
    }
    if (m == MR && n == NR) {
        for (int r = 0; r < MR; r++) {
            FN(st)(C + r * ldc, FN(ld)(C + r * ldc) + alpha * c[r][0]);
            FN(st)(C + r * ldc + VL, FN(ld)(C + r * ldc + VL) + alpha * c[r][1]);
        }
        return;
    }
    for (int64_t r = 0; r < m; r++)
        for (int64_t j = 0; j < n; j++)
            C[r * ldc + j] += alpha * c[r][j / VL][j % VL];
}

static void FN(sgemm)(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                      int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++)
            C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    if (K == 0 || alpha == 0.0f) return;
    float *Ap = sf_cpu_scratch(SCRATCH_GEMM_A, (size_t)MC * KC * sizeof(float));
    float *Bp = sf_cpu_scratch(SCRATCH_GEMM_B, (size_t)NC * KC * sizeof(float));
    for (int64_t jc = 0; jc < N; jc += NC) {
        int64_t nc = N - jc < NC ? N - jc : NC;
        for (int64_t pc = 0; pc < K; pc += KC) {
            int64_t kc = K - pc < KC ? K - pc : KC;
            for (int64_t js = 0; js < nc; js += NR) /* pack op(B)[pc.., jc+js..] as kc x NR */
                for (int64_t p = 0; p < kc; p++)
                    for (int64_t j = 0; j < NR; j++)
                        Bp[js * kc + p * NR + j] =
                            js + j < nc ? FN(at)(B, ldb, tb, pc + p, jc + js + j) : 0.0f;
            for (int64_t ic = 0; ic < M; ic += MC) {
                int64_t mc = M - ic < MC ? M - ic : MC;
                for (int64_t is = 0; is < mc; is += MR)
                    for (int64_t p = 0; p < kc; p++)
                        for (int64_t r = 0; r < MR; r++)
                            Ap[is * kc + p * MR + r] =
                                is + r < mc ? FN(at)(A, lda, ta, ic + is + r, pc + p) : 0.0f;
                for (int64_t js = 0; js < nc; js += NR)
                    for (int64_t is = 0; is < mc; is += MR)
                        FN(gemm_tile)
                        (kc, Ap + is * kc, Bp + js * kc, alpha, C + (ic + is) * ldc + jc + js, ldc,
                         mc - is < MR ? mc - is : MR, nc - js < NR ? nc - js : NR);
            }
        }
    }
}
#undef MR
#undef NR
#undef KC
#undef MC
#undef NC

const struct cpu_simd CAT(sf_cpu_simd_, SIMD_NAME) = {
    .name = SIMD_STR,
    .bf16_to_f32 = FN(bf16_to_f32),
    .f16_to_f32 = FN(f16_to_f32),
    .f32_to_bf16 = FN(f32_to_bf16),
    .f32_to_f16 = FN(f32_to_f16),
    .layernorm_row = FN(layernorm_row),
    .rmsnorm_row = FN(rmsnorm_row),
    .modulate_row = FN(modulate_row),
    .gelu_tanh = FN(gelu_tanh),
    .silu = FN(silu),
    .softmax_step = FN(softmax_step),
    .scale = FN(scale),
    .add = FN(add),
    .sgemm = FN(sgemm),
    .wino_in = FN(wino_in),
    .wino_out = FN(wino_out),
};
