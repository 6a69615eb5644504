/* test_ops_parity.c — every operation of the CUDA backend table against its CPU twin on odd
 * shapes (label gpu; exit 77 without a device): linear with fp32, bf16 and fp16 weights,
 * LayerNorm with and without affine, RMSNorm, modulate, GELU, SiLU, 3D RoPE, attention (masked
 * keys, strided q/k/v, head dims 8..128; the fp32 kernel and the bf16 tensor-core one), conv3d, the gated residual adds, broadcast adds, the
 * transpose and the split-RMSNorm halves — and attention at real size (32,760 tokens, 12 heads x
 * 128) checked on sampled rows against the CPU op, so that a kernel storing the score matrix
 * (4 GiB per head) cannot pass. The CPU half first checks the CPU elementwise ops against plain
 * loops, so it is a unit test on any machine.
 * Tolerances (k in max|a-b| <= k max|ref|): 1e-5 for fp32 ops, 1e-4 for the fp32 GEMM and
 * attention, 1e-2 for bf16 weights (the GPU rounds the GEMM's activations to bf16), 2e-3 for
 * fp16, 3e-2 for bf16 attention (q, k, v and the softmax weights rounded to bf16). */
#include "gpu_test.h"
#include "sf_log.h"
#include "sf_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct sf_backend *cpu, *gpu;

static float *rnd(size_t n, uint64_t seed)
{
    float *x = malloc(n * sizeof *x + 4);
    if (!x) exit(1);
    sf_test_fill(x, n, seed);
    return x;
}

/* ---- CPU half: the elementwise ops against plain loops ------------------------------------- */

static void cpu_elementwise(void)
{
    const int64_t rows = 13, cols = 37, L = 5; /* 3 groups (5, 5, 3 rows) */
    float *x = rnd(rows * cols, 1), *y = rnd(rows * cols, 2), *g = rnd(3 * 2 * cols, 3);
    float *a = malloc(rows * cols * 4), *b = malloc(rows * cols * 4);
    memcpy(a, x, rows * cols * 4);
    cpu->add_gated(a, y, g, 2 * cols, L, rows, cols);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            b[r * cols + c] = x[r * cols + c] + y[r * cols + c] * g[r / L * 2 * cols + c];
    CHECK(memcmp(a, b, rows * cols * 4) == 0);
    memcpy(a, x, rows * cols * 4);
    cpu->axpy(a, 0.37f, y, rows * cols);
    for (int64_t i = 0; i < rows * cols; i++)
        b[i] = x[i] + y[i] * 0.37f;
    CHECK(memcmp(a, b, rows * cols * 4) == 0);
    cpu->transpose(x, rows, cols, a);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            CHECK(a[c * rows + r] == x[r * cols + c]);
    cpu->add_bcast(a, 2 * cols, x, cols, g, 3, cols);
    for (int64_t r = 0; r < 3; r++)
        for (int64_t c = 0; c < cols; c++)
            CHECK(a[r * 2 * cols + c] == x[r * cols + c] + g[c]);
    double ss[13];
    cpu->sumsq_rows(x, rows, cols, ss);
    memcpy(a, x, rows * cols * 4);
    cpu->rms_scale(a, ss, g, rows, cols, cols, 1e-6f);
    cpu->rmsnorm(x, g, b, rows, cols, 1e-6f);
    sf_test_close_f32("cpu split rmsnorm vs rmsnorm", a, b, rows * cols, 1e-6);
    free(x), free(y), free(g), free(a), free(b);
}

/* ---- GPU half ------------------------------------------------------------------------------ */

static void linear_case(enum sf_dtype dt, int64_t n, int64_t k, int64_t m, double tol)
{
    float *x = rnd(n * k, 10 + n), *wf = rnd(m * k, 11 + m), *bf = rnd(m, 12);
    size_t es = sf_dtype_size(dt);
    void *wraw = malloc(m * k * es), *braw = malloc(m * es);
    sf_convert_from_f32(dt, wf, wraw, m * k);
    sf_convert_from_f32(dt, bf, braw, m);
    struct sf_tensor w, b, dw, db;
    sf_tensor_view(&w, dt, 2, (int64_t[]){m, k}, wraw);
    sf_tensor_view(&b, dt, 1, (int64_t[]){m}, braw);
    sf_tensor_view(&dw, dt, 2, (int64_t[]){m, k}, gpu_test_dev_bytes(gpu, wraw, m * k * es));
    sf_tensor_view(&db, dt, 1, (int64_t[]){m}, gpu_test_dev_bytes(gpu, braw, m * es));
    float *ref = malloc(n * m * 4), *dx = gpu_test_dev(gpu, x, n * k), *dy = gpu_test_dev(gpu, NULL, n * m);
    cpu->linear(x, n, k, &w, &b, ref);
    gpu->linear(dx, n, k, &dw, &db, dy);
    float *got = gpu_test_host(gpu, dy, n * m);
    char what[96];
    snprintf(what, sizeof what, "linear %s (%lld, %lld) x (%lld, %lld)^T", sf_dtype_name(dt),
             (long long)n, (long long)k, (long long)m, (long long)k);
    gpu_test_close(what, got, ref, n * m, tol);
    gpu->free(dw.data), gpu->free(db.data), gpu->free(dx), gpu->free(dy);
    free(x), free(wf), free(bf), free(wraw), free(braw), free(ref), free(got);
}

static void rows_cases(void)
{
    const int64_t rows = 29, cols = 1539;
    size_t n = rows * cols;
    float *x = rnd(n, 20), *w = rnd(cols, 21), *b = rnd(cols, 22), *ref = malloc(n * 4);
    float *dx = gpu_test_dev(gpu, x, n), *dw = gpu_test_dev(gpu, w, cols),
          *db = gpu_test_dev(gpu, b, cols), *dy = gpu_test_dev(gpu, NULL, n), *got;
    for (int affine = 0; affine < 2; affine++) {
        cpu->layernorm(x, affine ? w : NULL, affine ? b : NULL, ref, rows, cols, 1e-6f);
        gpu->layernorm(dx, affine ? dw : NULL, affine ? db : NULL, dy, rows, cols, 1e-6f);
        got = gpu_test_host(gpu, dy, n);
        gpu_test_close(affine ? "layernorm affine 29x1539" : "layernorm 29x1539", got, ref, n,
                       1e-5);
        free(got);
    }
    cpu->rmsnorm(x, w, ref, rows, cols, 1e-6f);
    gpu->rmsnorm(dx, dw, dy, rows, cols, 1e-6f);
    got = gpu_test_host(gpu, dy, n);
    gpu_test_close("rmsnorm 29x1539", got, ref, n, 1e-5);
    free(got);
    cpu->modulate(x, b, w, ref, rows, cols);
    gpu->modulate(dx, db, dw, dy, rows, cols);
    got = gpu_test_host(gpu, dy, n);
    gpu_test_close("modulate 29x1539", got, ref, n, 1e-6);
    free(got);
    { /* fused LayerNorm + modulate, 3 groups of 10, 10, 9 rows: vectors (3, 2, cols) */
        float *mods = rnd(3 * 2 * cols, 25), *dm = gpu_test_dev(gpu, mods, 3 * 2 * cols);
        cpu->layernorm(x, NULL, NULL, ref, rows, cols, 1e-6f);
        for (int g = 0; g < 3; g++) {
            int64_t r0 = g * 10, nr = g < 2 ? 10 : rows - 20;
            cpu->modulate(ref + r0 * cols, mods + g * 2 * cols, mods + g * 2 * cols + cols,
                          ref + r0 * cols, nr, cols);
        }
        gpu->layernorm_modulate(dx, dy, rows, cols, 1e-6f, dm, dm + cols, 10, 2 * cols);
        got = gpu_test_host(gpu, dy, n);
        gpu_test_close("layernorm + modulate 29x1539 (groups of 10)", got, ref, n, 1e-5);
        free(got);
        gpu->free(dm);
        free(mods);
    }
    /* in place, as the DiT calls them */
    for (int op = 0; op < 2; op++) {
        void (*c)(float *, int64_t) = op ? cpu->silu : cpu->gelu_tanh;
        void (*g)(float *, int64_t) = op ? gpu->silu : gpu->gelu_tanh;
        memcpy(ref, x, n * 4);
        c(ref, n);
        gpu->copy(dy, dx, n * 4);
        g(dy, n);
        got = gpu_test_host(gpu, dy, n);
        gpu_test_close(op ? "silu 44631" : "gelu_tanh 44631", got, ref, n, 1e-5);
        free(got);
    }
    /* the elementwise glue */
    float *y = rnd(n, 23), *dyy = gpu_test_dev(gpu, y, n), *g = rnd(3 * 2 * cols, 24);
    float *dg = gpu_test_dev(gpu, g, 3 * 2 * cols);
    memcpy(ref, x, n * 4);
    cpu->add_gated(ref, y, g, 2 * cols, 11, rows, cols);
    gpu->copy(dy, dx, n * 4);
    gpu->add_gated(dy, dyy, dg, 2 * cols, 11, rows, cols);
    got = gpu_test_host(gpu, dy, n);
    gpu_test_close("gated residual add 29x1539 (groups of 11)", got, ref, n, 1e-6);
    free(got);
    memcpy(ref, x, n * 4);
    cpu->add_gated(ref, y, NULL, 0, 11, rows, cols);
    gpu->copy(dy, dx, n * 4);
    gpu->add_gated(dy, dyy, NULL, 0, 11, rows, cols);
    got = gpu_test_host(gpu, dy, n);
    gpu_test_close("residual add 29x1539", got, ref, n, 1e-6);
    free(got);
    memcpy(ref, x, n * 4);
    cpu->axpy(ref, -0.61f, y, n);
    gpu->copy(dy, dx, n * 4);
    gpu->axpy(dy, -0.61f, dyy, n);
    got = gpu_test_host(gpu, dy, n);
    gpu_test_close("axpy 44631", got, ref, n, 1e-6);
    free(got);
    memcpy(ref, x, n * 4);
    cpu->add_bcast(ref + 5, 2 * cols, x, cols, g, 7, cols - 5);
    gpu->copy(dy, dx, n * 4);
    gpu->add_bcast(dy + 5, 2 * cols, dx, cols, dg, 7, cols - 5);
    got = gpu_test_host(gpu, dy, n);
    gpu_test_close("broadcast add 7x1534 strided", got, ref, n, 1e-6);
    free(got);
    cpu->transpose(x, rows, cols, ref);
    gpu->transpose(dx, rows, cols, dy);
    got = gpu_test_host(gpu, dy, n);
    CHECK(memcmp(got, ref, n * 4) == 0);
    fprintf(stderr, "  ok  transpose 29x1539 (exact)\n");
    free(got);
    double ss[29];
    memcpy(ref, x, n * 4);
    cpu->sumsq_rows(ref, rows, cols, ss);
    cpu->rms_scale(ref, ss, w, rows, cols, 3 * cols, 1e-6f);
    double *dss = gpu_test_dev_bytes(gpu, NULL, sizeof ss);
    gpu->copy(dy, dx, n * 4);
    gpu->sumsq_rows(dy, rows, cols, dss);
    gpu->rms_scale(dy, dss, dw, rows, cols, 3 * cols, 1e-6f);
    got = gpu_test_host(gpu, dy, n);
    gpu_test_close("split rmsnorm halves 29x1539", got, ref, n, 1e-5);
    free(got);
    gpu->free(dss), gpu->free(dyy), gpu->free(dg);
    free(y), free(g);
    gpu->free(dx), gpu->free(dw), gpu->free(db), gpu->free(dy);
    free(x), free(w), free(b), free(ref);
}

static void rope_case(int head_dim, int heads, int f, int h, int w, int64_t tokens)
{
    struct sf_rope3d *r = sf_rope3d_create(head_dim, f, h, w);
    size_t n = (size_t)tokens * heads * head_dim;
    float *x = rnd(n, 30 + head_dim), *dx = gpu_test_dev(gpu, x, n);
    cpu->rope3d_apply(r, x, tokens, heads);
    gpu->rope3d_apply(r, dx, tokens, heads);
    float *got = gpu_test_host(gpu, dx, n);
    char what[96];
    snprintf(what, sizeof what, "rope3d d %d, %d heads, grid %dx%dx%d, %lld tokens", head_dim,
             heads, f, h, w, (long long)tokens);
    gpu_test_close(what, got, x, n, 1e-6);
    sf_rope3d_destroy(r); /* frees the device copy too */
    gpu->free(dx);
    free(x), free(got);
}

/* q, k, v as slices of one fused (L, 3, H, d) projection: row strides 3*H*d. */
/* bf16: the tensor-core slot (attention_bf16) against the fp32 CPU op. */
static void attention_case(int64_t Lq, int64_t Lk, int H, int d, int64_t k_valid, int bf16)
{
    int64_t st = 3 * (int64_t)H * d, L = Lq > Lk ? Lq : Lk;
    float *qkv = rnd(L * st, 40 + d), *ref = malloc(Lq * H * d * 4);
    for (int64_t i = 0; i < L * st; i++)
        qkv[i] *= 3.0f; /* sharper softmax */
    float *dqkv = gpu_test_dev(gpu, qkv, L * st), *dout = gpu_test_dev(gpu, NULL, Lq * H * d);
    float scale = 1.0f / sqrtf((float)d);
    cpu->attention(qkv, st, qkv + H * d, st, qkv + 2 * H * d, st, ref, H * d, Lq, Lk, H, d,
                   k_valid, scale);
    (bf16 ? gpu->attention_bf16 : gpu->attention)(dqkv, st, dqkv + H * d, st, dqkv + 2 * H * d,
                                                  st, dout, H * d, Lq, Lk, H, d, k_valid, scale);
    float *got = gpu_test_host(gpu, dout, Lq * H * d);
    char what[96];
    snprintf(what, sizeof what, "attention%s Lq %lld Lk %lld (valid %lld) %dx%d",
             bf16 ? " bf16" : "", (long long)Lq, (long long)Lk, (long long)k_valid, H, d);
    if (k_valid <= 0) {
        for (int64_t i = 0; i < Lq * H * d; i++)
            CHECK(got[i] == 0.0f);
        fprintf(stderr, "  ok  %s: zeros\n", what);
    } else {
        gpu_test_close(what, got, ref, Lq * H * d, bf16 ? 3e-2 : 1e-4);
    }
    gpu->free(dqkv), gpu->free(dout);
    free(qkv), free(ref), free(got);
}

/* Real size: 32,760 tokens (81 frames at 480x832), 12 heads x 128; the CPU op on 24 sampled
 * query rows (each against all keys) is the reference. */
static void attention_real_size(int bf16)
{
    const int64_t L = 32760;
    const int H = 12, d = 128;
    size_t n = (size_t)L * H * d;
    float *q = rnd(n, 50), *k = rnd(n, 51), *v = rnd(n, 52);
    for (size_t i = 0; i < n; i++)
        q[i] *= 2.0f;
    float *dq = gpu_test_dev(gpu, q, n), *dk = gpu_test_dev(gpu, k, n),
          *dv = gpu_test_dev(gpu, v, n), *dout = gpu_test_dev(gpu, NULL, n);
    double t0 = sf_time_now();
    (bf16 ? gpu->attention_bf16 : gpu->attention)(dq, H * d, dk, H * d, dv, H * d, dout, H * d,
                                                  L, L, H, d, L, 1.0f / sqrtf((float)d));
    gpu->sync();
    double secs = sf_time_now() - t0;
    float *got = gpu_test_host(gpu, dout, n);
    const int rows = 24;
    float *ref = malloc((size_t)rows * H * d * 4), *sel = malloc((size_t)rows * H * d * 4);
    uint64_t seed = 99;
    for (int i = 0; i < rows; i++) {
        int64_t r = i == 0 ? 0 : i == 1 ? L - 1 : (int64_t)(sf_test_rand_u64(&seed) % L);
        cpu->attention(q + r * H * d, H * d, k, H * d, v, H * d, ref + (size_t)i * H * d, H * d,
                       1, L, H, d, L, 1.0f / sqrtf((float)d));
        memcpy(sel + (size_t)i * H * d, got + r * H * d, (size_t)H * d * 4);
    }
    gpu_test_close(bf16 ? "attention bf16 32760 tokens 12x128, 24 sampled rows"
                        : "attention 32760 tokens 12x128, 24 sampled rows",
                   sel, ref, (size_t)rows * H * d, bf16 ? 3e-2 : 1e-4);
    fprintf(stderr, "  attention%s 32760x32760x12x128 on the GPU: %.3f s (%.1f TFLOP/s)\n",
            bf16 ? " bf16" : "", secs, 4.0 * L * L * H * d / secs / 1e12);
    gpu->free(dq), gpu->free(dk), gpu->free(dv), gpu->free(dout);
    free(q), free(k), free(v), free(got), free(ref), free(sel);
}

static void conv_case(int64_t cin, int64_t cout, const int64_t thw[3], const int64_t kk[3],
                      const int stride[3], const int pad[6], enum sf_dtype dt)
{
    int64_t o[3];
    sf_conv3d_out_shape(thw, kk, stride, pad, o);
    size_t nx = cin * thw[0] * thw[1] * thw[2], nw = cout * cin * kk[0] * kk[1] * kk[2];
    size_t ny = cout * o[0] * o[1] * o[2], es = sf_dtype_size(dt);
    float *x = rnd(nx, 60), *wf = rnd(nw, 61), *bf = rnd(cout, 62), *ref = malloc(ny * 4);
    void *wraw = malloc(nw * es), *braw = malloc(cout * es);
    sf_convert_from_f32(dt, wf, wraw, nw);
    sf_convert_from_f32(dt, bf, braw, cout);
    int64_t wshape[5] = {cout, cin, kk[0], kk[1], kk[2]};
    struct sf_tensor w, b, dw, db;
    sf_tensor_view(&w, dt, 5, wshape, wraw);
    sf_tensor_view(&b, dt, 1, (int64_t[]){cout}, braw);
    sf_tensor_view(&dw, dt, 5, wshape, gpu_test_dev_bytes(gpu, wraw, nw * es));
    sf_tensor_view(&db, dt, 1, (int64_t[]){cout}, gpu_test_dev_bytes(gpu, braw, cout * es));
    float *dx = gpu_test_dev(gpu, x, nx), *dy = gpu_test_dev(gpu, NULL, ny);
    cpu->conv3d(x, cin, thw, &w, &b, stride, pad, ref);
    gpu->conv3d(dx, cin, thw, &dw, &db, stride, pad, dy);
    float *got = gpu_test_host(gpu, dy, ny);
    char what[96];
    snprintf(what, sizeof what, "conv3d %s %lld->%lld k %lldx%lldx%lld s %d%d%d",
             sf_dtype_name(dt), (long long)cin, (long long)cout, (long long)kk[0],
             (long long)kk[1], (long long)kk[2], stride[0], stride[1], stride[2]);
    gpu_test_close(what, got, ref, ny, 1e-5);
    gpu->free(dw.data), gpu->free(db.data), gpu->free(dx), gpu->free(dy);
    free(x), free(wf), free(bf), free(ref), free(wraw), free(braw), free(got);
}

int main(void)
{
    cpu = sf_backend_cpu();
    cpu_elementwise();
    gpu = gpu_test_open("gpu_ops_parity");
    if (!gpu) return sf_test_failures ? 1 : SF_TEST_SKIP;
    fprintf(stderr, "gpu_ops_parity: CPU half ok; the CUDA backend against the CPU:\n");

    linear_case(SF_DTYPE_F32, 37, 67, 45, 1e-4);
    linear_case(SF_DTYPE_F32, 300, 1536, 1536, 1e-4);
    linear_case(SF_DTYPE_BF16, 37, 64, 40, 1e-2);
    linear_case(SF_DTYPE_BF16, 513, 1536, 8960, 1e-2);
    linear_case(SF_DTYPE_BF16, 7, 33, 19, 1e-2); /* unaligned rows: a non-tensor-core path */
    linear_case(SF_DTYPE_F16, 37, 64, 40, 2e-3);
    rows_cases();
    rope_case(128, 3, 3, 5, 7, 100);
    rope_case(24, 2, 2, 3, 4, 24);
    rope_case(16, 1, 1, 2, 3, 6);
    for (int bf16 = 0; bf16 < 2; bf16++) {
        attention_case(77, 53, 3, 24, 53, bf16);
        attention_case(77, 53, 3, 24, 40, bf16);
        attention_case(5, 9, 2, 24, 0, bf16);
        attention_case(130, 130, 2, 128, 130, bf16);
        attention_case(33, 512, 4, 64, 512, bf16);
        attention_case(31, 17, 3, 8, 17, bf16);
        attention_case(65, 65, 1, 100, 61, bf16);
        attention_case(200, 77, 2, 16, 77, bf16);
    }
    const int64_t thw[3] = {3, 6, 10}, pk[3] = {1, 2, 2}, k3[3] = {3, 3, 3};
    const int ps[3] = {1, 2, 2}, s1[3] = {1, 1, 1}, s2[3] = {2, 2, 1};
    const int p0[6] = {0}, pc[6] = {2, 0, 1, 1, 1, 1};
    conv_case(16, 24, thw, pk, ps, p0, SF_DTYPE_F32); /* a patch embedding */
    conv_case(96, 32, thw, pk, ps, p0, SF_DTYPE_BF16);
    conv_case(5, 7, thw, k3, s1, pc, SF_DTYPE_F32); /* causal padding */
    conv_case(5, 7, thw, k3, s2, pc, SF_DTYPE_F16);
    attention_real_size(0);
    attention_real_size(1);
    sf_cuda_backend_close();
    return sf_test_result("gpu_ops_parity");
}
