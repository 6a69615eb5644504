/* rmsnorm.c — RMSNorm on the CPU (Wan's q/k norm and umT5's layer norm). The sum of squares is
 * accumulated in double: cols can be 5120 and the result must match the GPU twin closely. */
#include "sf_kernels.h"

#include <math.h>

void sf_cpu_rmsnorm_f32(const float *x, const float *w, float *y, size_t rows, size_t cols,
                        float eps)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        double ss = 0.0;
        for (size_t c = 0; c < cols; c++) ss += (double)xr[c] * xr[c];
        float inv = (float)(1.0 / sqrt(ss / (double)cols + (double)eps));
        for (size_t c = 0; c < cols; c++) yr[c] = xr[c] * inv * (w ? w[c] : 1.0f);
    }
}
