/* backend.cu — the CUDA backend table (sf_backend.h) and its life: the device picked by local
 * rank, one non-blocking stream, a cuBLASLt handle and workspace, the memory slots (cudaMalloc,
 * async copies on the stream) and the sticky first error. One instance per process: a rank
 * drives one GPU. CUDA 12.0 runtime APIs only (the GPU machine's toolkit may be newer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_be.h"
extern "C" {
#include "sf_cuda.h"
}

struct cuda_be sf_cuda_be = {-1, "", NULL, NULL, NULL, 0, NULL, 0, SF_OK}; /* closed */

#define WORKSPACE_BYTES (32u << 20) /* cuBLASLt's recommendation for Hopper */

int sf_cuda_failed(cudaError_t e, const char *what, const char *file, int line)
{
    if (e == cudaSuccess) return 0;
    if (sf_cuda_be.status == SF_OK)
        sf_log(SF_LOG_ERROR, "cuda", "%s on device %d (%s) failed: %s (%s) (%s:%d)", what,
               sf_cuda_be.device, sf_cuda_be.name, cudaGetErrorString(e), cudaGetErrorName(e), file,
               line);
    sf_cuda_be.status = SF_E_CUDA;
    return 1;
}

int sf_cuda_lt_failed(cublasStatus_t s, const char *what, const char *file, int line)
{
    if (s == CUBLAS_STATUS_SUCCESS) return 0;
    if (sf_cuda_be.status == SF_OK)
        sf_log(SF_LOG_ERROR, "cuda", "%s on device %d (%s) failed: cuBLASLt status %d (%s:%d)",
               what, sf_cuda_be.device, sf_cuda_be.name, (int)s, file, line);
    sf_cuda_be.status = SF_E_CUDA;
    return 1;
}

void *sf_cuda_conv_scratch(size_t bytes)
{
    if (bytes <= sf_cuda_be.conv_bytes) return sf_cuda_be.conv;
    /* the old scratch may still be read by queued work: free only after the stream drains */
    if (sf_cuda_be.conv) {
        if (!CU_OK(cudaStreamSynchronize(sf_cuda_be.stream), "drain before growing scratch"))
            return NULL;
        cudaFree(sf_cuda_be.conv);
        sf_cuda_be.conv = NULL;
        sf_cuda_be.conv_bytes = 0;
    }
    size_t want = (bytes + (1u << 20) - 1) & ~(size_t)((1u << 20) - 1);
    if (!CU_OK(cudaMalloc(&sf_cuda_be.conv, want), "allocate GEMM input scratch")) return NULL;
    sf_cuda_be.conv_bytes = want;
    return sf_cuda_be.conv;
}

/* ---- memory slots ------------------------------------------------------------------------- */

static int be_alloc(void **p, size_t bytes)
{
    *p = NULL;
    cudaError_t e = cudaMalloc(p, bytes ? bytes : 256);
    if (e != cudaSuccess) {
        size_t free_b = 0, total_b = 0;
        cudaGetLastError();
        cudaMemGetInfo(&free_b, &total_b);
        sf_log(SF_LOG_ERROR, "cuda",
               "allocating %.1f MiB on device %d (%s) failed: %s (%.1f of %.1f GiB free)",
               bytes / 1048576.0, sf_cuda_be.device, sf_cuda_be.name, cudaGetErrorString(e),
               free_b / 1073741824.0, total_b / 1073741824.0);
        *p = NULL;
        return e == cudaErrorMemoryAllocation ? SF_E_NOMEM : SF_E_CUDA;
    }
    return SF_OK;
}

static void be_free(void *p)
{
    if (p) CU_OK(cudaFree(p), "free device memory");
}

static void be_upload(void *dst, const void *src, size_t bytes)
{
    if (!bytes || !CU_LIVE()) return;
    CU_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, sf_cuda_be.stream),
          "copy host to device");
}

static void be_download(void *dst, const void *src, size_t bytes)
{
    if (!bytes || !CU_LIVE()) return;
    if (CU_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, sf_cuda_be.stream),
              "copy device to host"))
        CU_OK(cudaStreamSynchronize(sf_cuda_be.stream), "wait for a copy to the host");
}

static void be_copy(void *dst, const void *src, size_t bytes)
{
    if (!bytes || !CU_LIVE()) return;
    CU_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, sf_cuda_be.stream),
          "copy device to device");
}

static void be_zero(void *dst, size_t bytes)
{
    if (!bytes || !CU_LIVE()) return;
    CU_OK(cudaMemsetAsync(dst, 0, bytes, sf_cuda_be.stream), "zero device memory");
}

static void be_sync(void)
{
    if (CU_LIVE()) CU_OK(cudaStreamSynchronize(sf_cuda_be.stream), "wait for the stream");
}

static int be_status(void)
{
    if (CU_LIVE()) {
        /* errors of kernels that already ran (an illegal address) surface here */
        cudaError_t e = cudaStreamQuery(sf_cuda_be.stream);
        if (e != cudaSuccess && e != cudaErrorNotReady)
            sf_cuda_failed(e, "queued GPU work", __FILE__, __LINE__);
    }
    int st = sf_cuda_be.status;
    sf_cuda_be.status = SF_OK;
    return st;
}

/* Filled at open (C++ has no designated initialisers before C++20); slots in sf_backend.h
 * order. gemm_f32 stays NULL: no model on this backend calls it. */
static struct sf_backend cuda_backend;

static void fill_table(struct sf_backend *t)
{
    memset(t, 0, sizeof *t);
    t->name = "cuda";
    sf_cuda_fill_linear(t);
    sf_cuda_fill_attention(t);
    sf_cuda_fill_ops(t);
    sf_cuda_fill_rmsnorm(t);
    t->host_memory = 0;
    t->alloc = be_alloc;
    t->free = be_free;
    t->upload = be_upload;
    t->download = be_download;
    t->copy = be_copy;
    t->zero = be_zero;
    t->sync = be_sync;
    t->status = be_status;
}

static void reset_state(void)
{
    memset(&sf_cuda_be, 0, sizeof sf_cuda_be);
    sf_cuda_be.device = -1;
    sf_cuda_be.status = SF_OK;
}

/* ---- device choice and life ---------------------------------------------------------------- */

extern "C" int sf_cuda_local_rank(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID",
                                 "PMI_LOCAL_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            char *end;
            long r = strtol(v, &end, 10);
            if (!*end && r >= 0 && r < 1 << 20) return (int)r;
        }
    }
    return 0;
}

extern "C" int sf_cuda_backend_open(int dev, const struct sf_backend **out)
{
    *out = NULL;
    int n = sf_cuda_device_count();
    if (n <= 0) {
        sf_log(SF_LOG_ERROR, "cuda",
               "no CUDA device is visible (driver missing, no GPU, or "
               "CUDA_VISIBLE_DEVICES empty): use --device cpu");
        return SF_E_UNSUPPORTED;
    }
    if (dev < 0) dev = sf_cuda_local_rank() % n;
    if (sf_cuda_be.device >= 0) {
        if (sf_cuda_be.device == dev) {
            *out = &cuda_backend;
            return SF_OK;
        }
        sf_log(SF_LOG_ERROR, "cuda",
               "the CUDA backend already runs on device %d; one device "
               "per process (asked for %d)",
               sf_cuda_be.device, dev);
        return SF_E_INVAL;
    }
    fill_table(&cuda_backend);
    sf_cuda_be.device = dev;
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, dev) == cudaSuccess)
        snprintf(sf_cuda_be.name, sizeof sf_cuda_be.name, "%.120s", p.name);
    sf_cuda_be.status = SF_OK;
    if (!CU_OK(cudaSetDevice(dev), "select the device") ||
        !CU_OK(cudaStreamCreateWithFlags(&sf_cuda_be.stream, cudaStreamNonBlocking),
               "create the stream") ||
        !LT_OK(cublasLtCreate(&sf_cuda_be.lt), "create the cuBLASLt handle") ||
        !CU_OK(cudaMalloc(&sf_cuda_be.workspace, WORKSPACE_BYTES), "allocate cuBLASLt workspace")) {
        sf_cuda_be.status = SF_OK;
        sf_cuda_backend_close();
        return SF_E_CUDA;
    }
    sf_cuda_be.workspace_bytes = WORKSPACE_BYTES;
    char what[256];
    sf_cuda_describe(dev, what, sizeof what);
    sf_log(SF_LOG_INFO, "cuda", "device %d of %d: %s", dev, n, what);
    *out = &cuda_backend;
    return SF_OK;
}

extern "C" void sf_cuda_backend_close(void)
{
    if (sf_cuda_be.device < 0) return;
    if (sf_cuda_be.stream) cudaStreamSynchronize(sf_cuda_be.stream);
    sf_cuda_linear_release();
    cudaFree(sf_cuda_be.conv);
    cudaFree(sf_cuda_be.workspace);
    if (sf_cuda_be.lt) cublasLtDestroy(sf_cuda_be.lt);
    if (sf_cuda_be.stream) cudaStreamDestroy(sf_cuda_be.stream);
    cudaGetLastError();
    reset_state();
}
