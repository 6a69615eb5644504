/* device.cu — CUDA device discovery for sf_cuda.h. Uses only runtime APIs documented in
 * CUDA 12.0, so the code builds on the older toolkits clusters run. */
#include <stdio.h>

#include "check.h"
extern "C" {
#include "sf_cuda.h"
}

extern "C" int sf_cuda_built(void) { return 1; }

extern "C" int sf_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky "no device" error */
        return 0;
    }
    return n;
}

extern "C" void sf_cuda_describe(int dev, char *buf, size_t n)
{
    cudaDeviceProp p;
    cudaError_t e = cudaGetDeviceProperties(&p, dev);
    if (e != cudaSuccess) {
        snprintf(buf, n, "no CUDA device %d: %s", dev, cudaGetErrorString(e));
        cudaGetLastError();
        return;
    }
    snprintf(buf, n, "%s, sm_%d%d, %.1f GiB", p.name, p.major, p.minor,
             (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));
}
