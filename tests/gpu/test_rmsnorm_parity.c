/* RMSNorm: the CUDA kernel against the CPU twin, and the CPU twin against a double-precision
 * reference, on odd sizes. The CPU half runs everywhere; the GPU half skips (77) without one. */
#include "sf_cuda.h"
#include "sf_kernels.h"
#include "sf_test.h"

#include <stdlib.h>

static void rmsnorm_ref(const float *x, const float *w, float *y, size_t rows, size_t cols,
                        float eps)
{
    for (size_t r = 0; r < rows; r++) {
        long double ss = 0;
        for (size_t c = 0; c < cols; c++) ss += (long double)x[r * cols + c] * x[r * cols + c];
        long double inv = 1.0L / sqrtl(ss / cols + eps);
        for (size_t c = 0; c < cols; c++)
            y[r * cols + c] = (float)(x[r * cols + c] * inv * (w ? w[c] : 1.0L));
    }
}

int main(void)
{
    static const size_t shapes[][2] = {{1, 1}, {3, 7}, {17, 1536}, {5, 5120}, {64, 257}};
    int gpu = sf_cuda_device_count() > 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t rows = shapes[s][0], cols = shapes[s][1];
        float *x = malloc(rows * cols * 4), *w = malloc(cols * 4), *ref = malloc(rows * cols * 4),
              *cpu = malloc(rows * cols * 4), *gpu_out = malloc(rows * cols * 4);
        sf_test_fill(x, rows * cols, 100 + s);
        sf_test_fill(w, cols, 200 + s);
        rmsnorm_ref(x, w, ref, rows, cols, 1e-6f);
        sf_cpu_rmsnorm_f32(x, w, cpu, rows, cols, 1e-6f);
        char what[64];
        snprintf(what, sizeof what, "cpu rmsnorm %zux%zu", rows, cols);
        sf_test_close_f32(what, cpu, ref, rows * cols, 1e-6);
        if (gpu) {
            CHECK_EQ_INT(sf_cuda_rmsnorm_f32_host(x, w, gpu_out, rows, cols, 1e-6f), 0);
            snprintf(what, sizeof what, "cuda rmsnorm %zux%zu", rows, cols);
            sf_test_close_f32(what, gpu_out, cpu, rows * cols, 1e-6);
        }
        free(x); free(w); free(ref); free(cpu); free(gpu_out);
    }
    if (!gpu) {
        char why[256];
        sf_cuda_describe(0, why, sizeof why);
        fprintf(stderr, "gpu_rmsnorm_parity: CPU half ok; GPU half skipped: %s\n", why);
        return sf_test_failures ? 1 : SF_TEST_SKIP;
    }
    return sf_test_result("gpu_rmsnorm_parity");
}
