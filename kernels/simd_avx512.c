/* simd_avx512.c — the "avx512" instance of the CPU hot loops (16 floats per vector). CMake
 * compiles this file with -mavx512f -mavx512bw -mavx512vl -mavx512dq (and avx2, fma, f16c) on
 * x86-64 (SF_HAVE_X86_SIMD); cpu_simd.c runs it only on a CPU that has those instructions. */
#ifdef SF_HAVE_X86_SIMD
#define VL 16
#define SIMD_NAME avx512
#define SIMD_STR "avx512"
#include "simd_body.h"
#endif
