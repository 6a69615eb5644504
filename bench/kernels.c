/* bench/kernels.c — micro-benchmarks of the CPU kernels, each against a baseline measured in the
 * same run right after it: GEMM-like ops against OpenBLAS cblas_sgemm 1024^3 with --threads
 * OpenBLAS threads (the practical fp32 peak; in SF_MINIMAL builds our portable sf_gemm_f32
 * stands in), memory-bound ops against a memcpy of 64 MiB (larger than the caches). Best of
 * --reps runs. Adjacent baselines because the machines are shared and their load drifts within
 * a run. Results go to BENCHMARKS.md.
 *
 *   build/bench/kernels [--threads N] [--reps R] [--simd avx512|avx2|portable] [--quick]
 *                       [--only linear|attention|rowwise|conv]
 *
 * It also reports whether OpenBLAS sgemm gives bit-identical results with 1 and 2 of its own
 * threads (the reason our pool owns parallelism and OpenBLAS runs one thread per tile). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sf_ops.h"
#include "sf_log.h"
#ifdef SF_HAVE_OPENBLAS
#include <cblas.h>
#endif

static int reps = 2;

static float *buf(size_t n, unsigned seed)
{
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) & ~(size_t)63);
    if (!p) {
        fprintf(stderr, "bench: out of memory (%zu floats)\n", n);
        exit(1);
    }
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) * (1.0 / 16777216.0) - 0.5);
    }
    return p;
}

#define BEST(var, stmt)                                                                            \
    do {                                                                                           \
        var = 1e30;                                                                                \
        for (int r_ = 0; r_ < reps; r_++) {                                                        \
            double t0_ = sf_time_now();                                                                    \
            stmt;                                                                                  \
            double t_ = sf_time_now() - t0_;                                                               \
            if (t_ < var) var = t_;                                                                \
        }                                                                                          \
    } while (0)

static int n_threads;

/* Baselines measured right after each op (the machines are shared, so load drifts during a run;
 * a ratio to a baseline taken seconds earlier would measure the neighbours): sgemm 1024^3 with
 * n_threads OpenBLAS threads (our portable sf_gemm_f32 without OpenBLAS) and memcpy of 64 MiB. */
static double sgemm_now(int n)
{
    float *a = buf((size_t)n * n, 1), *b = buf((size_t)n * n, 2), *c = buf((size_t)n * n, 3);
    double t;
#ifdef SF_HAVE_OPENBLAS
    openblas_set_num_threads(n_threads);
    BEST(t, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                        c, n));
    openblas_set_num_threads(1);
#else
    BEST(t, sf_gemm_f32(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n));
#endif
    free(a), free(b), free(c);
    return 2.0 * n * n * n / t * 1e-9;
}

static double memcpy_now(size_t bytes)
{
    char *s = malloc(bytes), *d = malloc(bytes);
    memset(s, 1, bytes);
    memset(d, 2, bytes);
    double t;
    BEST(t, memcpy(d, s, bytes));
    free(s), free(d);
    return 2.0 * bytes / t * 1e-9;
}

static void row_flops(const char *op, const char *shape, double sec, double flops)
{
    double g = flops / sec * 1e-9, base = sgemm_now(1024);
    printf("| %-24s | %-30s | %9.2f | %8.1f GFLOP/s | %5.0f%% of sgemm (%.1f GFLOP/s) |\n", op,
           shape, sec * 1e3, g, 100 * g / base, base);
    fflush(stdout);
}

static void row_bytes(const char *op, const char *shape, double sec, double bytes)
{
    double g = bytes / sec * 1e-9, base = memcpy_now((size_t)64 << 20);
    printf("| %-24s | %-30s | %9.2f | %8.1f GB/s    | %5.0f%% of memcpy (%.1f GB/s) |\n", op, shape,
           sec * 1e3, g, 100 * g / base, base);
    fflush(stdout);
}

static void bench_baselines(void)
{
    const int n = 2048;
    double g = sgemm_now(n);
#ifdef SF_HAVE_OPENBLAS
    printf("| %-24s | %-30s | %9.2f | %8.1f GFLOP/s | peak: %d OpenBLAS threads |\n",
           "cblas_sgemm (OpenBLAS)", "2048^3", 2.0 * n * n * n / g * 1e-6, g, n_threads);
    float *a = buf((size_t)n * n, 1), *b = buf((size_t)n * n, 2), *c = buf((size_t)n * n, 3);
    double t;
    BEST(t, sf_gemm_f32(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n));
    row_flops("sf_gemm_f32 (our pool)", "2048^3", t, 2.0 * n * n * n);
    free(a), free(b), free(c);
#else
    printf("| %-24s | %-30s | %9.2f | %8.1f GFLOP/s | peak: portable GEMM (no OpenBLAS) |\n",
           "sf_gemm_f32", "2048^3", 2.0 * n * n * n / g * 1e-6, g);
#endif
    double bw = memcpy_now((size_t)256 << 20);
    printf("| %-24s | %-30s | %9.2f | %8.1f GB/s    | memory bandwidth (read + write) |\n",
           "memcpy", "256 MiB", 2.0 * (256 << 20) / bw * 1e-6, bw);
}

static void openblas_thread_determinism(void)
{
#ifdef SF_HAVE_OPENBLAS
    const int M = 777, N = 1001, K = 1537;
    float *a = buf((size_t)M * K, 4), *b = buf((size_t)K * N, 5);
    float *c1 = buf((size_t)M * N, 6), *c2 = buf((size_t)M * N, 6);
    openblas_set_num_threads(1);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a, K, b, N, 0, c1, N);
    openblas_set_num_threads(2);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a, K, b, N, 0, c2, N);
    openblas_set_num_threads(1);
    size_t diff = 0;
    for (size_t i = 0; i < (size_t)M * N; i++)
        diff += c1[i] != c2[i];
    printf("\nOpenBLAS sgemm %dx%dx%d, 1 vs 2 OpenBLAS threads: %zu of %zu elements differ\n", M, N,
           K, diff, (size_t)M * N);
    free(a), free(b), free(c1), free(c2);
#endif
}

static void bench_linear(int quick)
{
    static const struct {
        const char *what;
        int64_t k, m;
    } shapes[] = {{"qkvo 1536->1536", 1536, 1536},
                  {"ffn up 1536->8960", 1536, 8960},
                  {"ffn down 8960->1536", 8960, 1536}};
    int64_t n = quick ? 512 : 2048;
    for (int dt = 0; dt < 2; dt++) {
        enum sf_dtype t = dt ? SF_DTYPE_BF16 : SF_DTYPE_F32;
        for (int s = 0; s < 3; s++) {
            int64_t k = shapes[s].k, m = shapes[s].m;
            float *x = buf((size_t)(n * k), 7), *wf = buf((size_t)(m * k), 8),
                  *y = buf((size_t)(n * m), 9);
            struct sf_tensor *w = sf_tensor_create(t, 2, (int64_t[]){m, k});
            sf_convert_from_f32(t, wf, w->data, (size_t)(m * k));
            struct sf_tensor *bias = sf_tensor_create(SF_DTYPE_F32, 1, (int64_t[]){m});
            double sec;
            BEST(sec, sf_linear(x, n, k, w, bias, y));
            char op[64], shape[64];
            snprintf(op, sizeof op, "sf_linear %s w", sf_dtype_name(t));
            snprintf(shape, sizeof shape, "%s, n=%lld", shapes[s].what, (long long)n);
            row_flops(op, shape, sec, 2.0 * n * k * m);
            sf_tensor_destroy(w), sf_tensor_destroy(bias), free(x), free(wf), free(y);
        }
    }
}

static void bench_attention(int quick)
{
    const int H = 12, d = 128;
    int64_t L = quick ? 1024 : 2048;
    float *qkv = buf((size_t)L * 3 * H * d, 10), *out = buf((size_t)L * H * d, 11);
    double sec;
    BEST(sec, sf_attention(qkv, 3 * H * d, qkv + H * d, 3 * H * d, qkv + 2 * H * d, 3 * H * d, out,
                           H * d, L, L, H, d, L, 1.0f / sqrtf(d)));
    char shape[64];
    snprintf(shape, sizeof shape, "self L=%lld H=%d d=%d", (long long)L, H, d);
    row_flops("sf_attention", shape, sec, 4.0 * L * L * d * H);
    float *kv = buf((size_t)512 * 2 * H * d, 12);
    BEST(sec, sf_attention(qkv, 3 * H * d, kv, 2 * H * d, kv + H * d, 2 * H * d, out, H * d, L, 512,
                           H, d, 512, 1.0f / sqrtf(d)));
    snprintf(shape, sizeof shape, "cross Lq=%lld Lk=512", (long long)L);
    row_flops("sf_attention", shape, sec, 4.0 * L * 512 * d * H);
    free(qkv), free(out), free(kv);
}

static void bench_rowwise(int quick)
{
    int64_t rows = quick ? 2048 : 8192, cols = 1536;
    size_t n = (size_t)(rows * cols);
    float *x = buf(n, 13), *y = buf(n, 14), *w = buf((size_t)cols, 15), *b = buf((size_t)cols, 16);
    char shape[64];
    snprintf(shape, sizeof shape, "%lld x %lld", (long long)rows, (long long)cols);
    double sec;
    BEST(sec, sf_layernorm(x, w, b, y, rows, cols, 1e-6f));
    row_bytes("sf_layernorm (w, b)", shape, sec, 8.0 * n);
    BEST(sec, sf_rmsnorm(x, w, y, rows, cols, 1e-6f));
    row_bytes("sf_rmsnorm (w)", shape, sec, 8.0 * n);
    BEST(sec, sf_modulate(x, w, b, y, rows, cols));
    row_bytes("sf_modulate", shape, sec, 8.0 * n);
    BEST(sec, sf_gelu_tanh(y, (int64_t)n));
    row_bytes("sf_gelu_tanh (in place)", shape, sec, 8.0 * n);
    BEST(sec, sf_silu(y, (int64_t)n));
    row_bytes("sf_silu (in place)", shape, sec, 8.0 * n);
    uint16_t *h = malloc(n * 2);
    BEST(sec, sf_convert_from_f32(SF_DTYPE_BF16, x, h, n));
    row_bytes("sf_convert fp32->bf16", shape, sec, 6.0 * n);
    BEST(sec, sf_convert_to_f32(SF_DTYPE_BF16, h, y, n));
    row_bytes("sf_convert bf16->fp32", shape, sec, 6.0 * n);
    free(h);
    struct sf_rope3d *r = sf_rope3d_create(128, 4, 16, 32);
    BEST(sec, sf_rope3d_apply(r, x, 4 * 16 * 32, 12));
    row_bytes("sf_rope3d_apply", "2048 tok x 12 x 128", sec, 8.0 * 2048 * 12 * 128);
    sf_rope3d_destroy(r);
    free(x), free(y), free(w), free(b);
}

static void bench_conv(int quick)
{
    int64_t H = quick ? 30 : 60, W = quick ? 52 : 104, T = 3, c = 96;
    int64_t thw[3] = {T, H, W};
    float *x = buf((size_t)(c * T * H * W), 17), *y = buf((size_t)(c * T * H * W), 18);
    float *wf = buf((size_t)(c * c * 27), 19);
    struct sf_tensor *w = sf_tensor_create(SF_DTYPE_F32, 5, (int64_t[]){c, c, 3, 3, 3});
    memcpy(w->data, wf, (size_t)(c * c * 27) * sizeof(float));
    double sec;
    BEST(sec, sf_conv3d(x, c, thw, w, NULL, (int[]){1, 1, 1}, (int[]){2, 0, 1, 1, 1, 1}, y));
    char shape[64];
    snprintf(shape, sizeof shape, "VAE causal 96->96 3^3 %lldx%lldx%lld", (long long)T,
             (long long)H, (long long)W);
    row_flops("sf_conv3d", shape, sec, 2.0 * c * c * 27 * T * H * W);
    sf_tensor_destroy(w), free(x), free(y), free(wf);
    /* DiT patch embedding: 16 -> 1536, kernel = stride = (1, 2, 2), on a 21x30x52 latent */
    int64_t pthw[3] = {21, 30, 52};
    x = buf((size_t)16 * 21 * 30 * 52, 20);
    y = buf((size_t)1536 * 21 * 15 * 26, 21);
    w = sf_tensor_create(SF_DTYPE_BF16, 5, (int64_t[]){1536, 16, 1, 2, 2});
    BEST(sec, sf_conv3d(x, 16, pthw, w, NULL, (int[]){1, 2, 2}, (int[]){0, 0, 0, 0, 0, 0}, y));
    row_flops("sf_conv3d", "patch embed 16->1536 21x30x52", sec, 2.0 * 1536 * 64 * 21 * 15 * 26);
    sf_tensor_destroy(w), free(x), free(y);
}

/* A prepared VAE conv as the streaming decode runs it: c -> c, 3x3x3, one output frame from 2
 * cached frames + 1 (no padding in time), H x W, spatial padding 1. Rate in direct-equivalent
 * FLOP (27 taps), so Winograd shows as the speed-up it gives. */
static void bench_conv_plan(int64_t c, int64_t H, int64_t W)
{
    int64_t thw[3] = {3, H, W};
    float *x = buf((size_t)(c * 3 * H * W), 22), *y = buf((size_t)(c * H * W), 23);
    float *wf = buf((size_t)(c * c * 27), 24);
    struct sf_tensor *w = sf_tensor_create(SF_DTYPE_F32, 5, (int64_t[]){c, c, 3, 3, 3});
    memcpy(w->data, wf, (size_t)(c * c * 27) * sizeof(float));
    static const char *names[] = {"sf_conv3d_plan direct", "sf_conv3d_plan Winograd"};
    static const enum sf_conv_algo algos[] = {SF_CONV_DIRECT, SF_CONV_WINOGRAD};
    for (int a = 0; a < 2; a++) {
        struct sf_conv3d_plan *p = sf_conv3d_plan_create(w, NULL, (int[]){1, 1, 1}, algos[a]);
        double sec;
        BEST(sec, sf_conv3d_plan_run(p, x, c, thw, (int[]){0, 0, 1, 1, 1, 1}, y));
        char shape[64];
        snprintf(shape, sizeof shape, "VAE %lld->%lld 3^3 3x%lldx%lld->1", (long long)c,
                 (long long)c, (long long)H, (long long)W);
        row_flops(names[a], shape, sec, 2.0 * c * c * 27 * H * W);
        sf_conv3d_plan_destroy(p);
    }
    sf_tensor_destroy(w), free(x), free(y), free(wf);
}

int main(int argc, char **argv)
{
    int threads = 0, quick = 0;
    const char *simd = NULL, *only = NULL;
    static const struct option opts[] = {{"threads", required_argument, 0, 't'},
                                         {"reps", required_argument, 0, 'r'},
                                         {"simd", required_argument, 0, 's'},
                                         {"quick", no_argument, 0, 'q'},
                                         {"only", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 't':
            threads = atoi(optarg);
            break;
        case 'r':
            reps = atoi(optarg) > 0 ? atoi(optarg) : 1;
            break;
        case 's':
            simd = optarg;
            break;
        case 'q':
            quick = 1;
            break;
        case 'o':
            only = optarg;
            break;
        case 'h':
            printf("usage: kernels [--threads N] [--reps R] [--simd avx512|avx2|portable] "
                   "[--quick] [--only linear|attention|rowwise|conv]\n");
            return 0;
        default:
            return 2;
        }
    }
    threads = sf_threads_init(threads);
    if (simd && sf_cpu_force_simd(simd) != 0) {
        fprintf(stderr, "kernels: --simd %s: this CPU lacks it; use avx512, avx2 or portable\n",
                simd);
        return 2;
    }
    printf("threads %d, simd %s, best of %d%s\n\n", threads, sf_cpu_simd_path(), reps,
           quick ? ", --quick sizes" : "");
    printf("| %-24s | %-30s | %9s | %-16s | %s |\n", "op", "shape", "ms", "rate", "ratio");
    printf("|---|---|---:|---:|---|\n");
    n_threads = threads;
    bench_baselines();
#define PART(name) (!only || strcmp(only, #name) == 0)
    if (PART(linear)) bench_linear(quick);
    if (PART(attention)) bench_attention(quick);
    if (PART(rowwise)) bench_rowwise(quick);
    if (PART(conv)) {
        bench_conv(quick);
        bench_conv_plan(96, quick ? 128 : 256, quick ? 128 : 256);
        bench_conv_plan(384, quick ? 32 : 64, quick ? 32 : 64);
    }
    openblas_thread_determinism();
    return 0;
}
