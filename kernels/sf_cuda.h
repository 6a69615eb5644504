/* sf_cuda.h — the CUDA side of kernels/: device discovery, error checks, and the GPU twins of
 * CPU operations. Every function here exists in every build: without CUDA (SF_CUDA=OFF or no
 * toolkit) they return SF_E_UNSUPPORTED, so callers and parity tests need no #ifdefs.
 * Device pointers are marked `d_`; host pointers are plain. */
#ifndef SF_CUDA_H
#define SF_CUDA_H

#include <stddef.h>

/* 1 when this binary was built with CUDA. */
int sf_cuda_built(void);
/* Number of usable devices (0 without a driver or GPU; never fails). */
int sf_cuda_device_count(void);
/* Human description of device `dev` ("NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB"), or the reason
 * there is none; writes at most n bytes. */
void sf_cuda_describe(int dev, char *buf, size_t n);

/* GPU twin of sf_cpu_rmsnorm_f32 on host buffers (copies in, runs, copies out): used by the
 * parity test and by code paths that are not device-resident yet. */
int sf_cuda_rmsnorm_f32_host(const float *x, const float *w, float *y, size_t rows, size_t cols,
                             float eps);

#endif
