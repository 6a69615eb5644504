/* check.h — CUDA error conversion for .cu files: logs what was being done, the CUDA message,
 * file and line, and turns the failure into SF_E_CUDA (goto out, as SF_TRY). */
#ifndef SF_CUDA_CHECK_H
#define SF_CUDA_CHECK_H

#include <cuda_runtime.h>

extern "C" {
#include "sf_log.h"
#include "sf_status.h"
}

#define SF_CUDA_TRY(st, call, what)                                                                \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            sf_log(SF_LOG_ERROR, "cuda", "%s failed: %s (%s) (%s:%d)", (what),                     \
                   cudaGetErrorString(e_), cudaGetErrorName(e_), __FILE__, __LINE__);              \
            (st) = SF_E_CUDA;                                                                      \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

#endif
