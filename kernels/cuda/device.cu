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

extern "C" double sf_cuda_bf16_peak_tflops(int dev)
{
    int sms = 0, khz = 0, major = 0, minor = 0;
    if (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev) != cudaSuccess) {
        cudaGetLastError();
        return 0.0;
    }
    double per_clk = major == 9 ? 4096 : major == 8 && minor == 0 ? 2048 : major == 8 ? 1024 : 0;
    return per_clk * sms * (khz * 1e3) / 1e12;
}

extern "C" int sf_cuda_mem_info(size_t *used, size_t *total)
{
    size_t free_b = 0, total_b = 0;
    *used = *total = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        cudaGetLastError();
        return SF_E_CUDA;
    }
    *used = total_b - free_b;
    *total = total_b;
    return SF_OK;
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
