/* sf_kernels.h — CPU operations of the compute layer (the backend table arrives with the
 * kernels issue; these are its first members). All take row-major contiguous fp32 buffers;
 * shapes are given outermost first. */
#ifndef SF_KERNELS_H
#define SF_KERNELS_H

#include <stddef.h>

/* y[r,:] = x[r,:] / sqrt(mean(x[r,:]^2) + eps) * w[:]   (rows, cols); w may be NULL (no scale).
 * x and y may alias. The reduction is over cols in a fixed order: results do not depend on
 * threads. */
void sf_cpu_rmsnorm_f32(const float *x, const float *w, float *y, size_t rows, size_t cols,
                        float eps);

#endif
