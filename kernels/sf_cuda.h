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

/* The CUDA backend (sf_backend.h) of this process. Device dev, or dev < 0: the local rank
 * (sf_cuda_local_rank) modulo the visible devices, so one rank per GPU on a node. Sets the
 * device, creates the backend's stream, cuBLASLt handle and workspace, logs the device, and
 * returns its table in *out (static; valid until sf_cuda_backend_close). One device per
 * process: asking again for the same device returns the same table, another is SF_E_INVAL.
 * SF_E_UNSUPPORTED without a device or a CUDA build, SF_E_CUDA when CUDA fails (logged). */
struct sf_backend;
int sf_cuda_backend_open(int dev, const struct sf_backend **out);
/* Releases what open made (a model using the table must be destroyed first). */
void sf_cuda_backend_close(void);
/* This process's rank on its node: OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID, MPI_LOCALRANKID
 * or PMI_LOCAL_RANK, the first that is set; 0 without any. */
int sf_cuda_local_rank(void);

/* The backend a command runs its DiT on, by name: "cpu", "cuda", or NULL / "auto" for cuda when
 * a device is visible and the CPU otherwise (kernels/backend.c). On failure logs one line naming
 * the choice and the fix ("--device cpu") and returns SF_E_UNSUPPORTED / SF_E_CUDA / SF_E_USAGE
 * (an unknown name). */
int sf_backend_for_device(const char *device, const struct sf_backend **out);

/* Dense bf16 tensor-core peak of device dev in TFLOP/s from its SM count, clock and
 * architecture (flops per SM per clock: 2048 on sm_80, 1024 on sm_86/89, 4096 on sm_90; the
 * boost clock the driver reports, so a card running below it reaches less); 0 when unknown. */
double sf_cuda_bf16_peak_tflops(int dev);
/* Bytes of device memory in use (total - free, every process on the device) and in all on the
 * backend's device; SF_OK or SF_E_UNSUPPORTED / SF_E_CUDA. */
int sf_cuda_mem_info(size_t *used, size_t *total);

/* GPU twin of sf_cpu_rmsnorm_f32 on host buffers (copies in, runs, copies out): used by the
 * parity test and by code paths that are not device-resident yet. */
int sf_cuda_rmsnorm_f32_host(const float *x, const float *w, float *y, size_t rows, size_t cols,
                             float eps);

#endif
