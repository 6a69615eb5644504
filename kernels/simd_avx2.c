/* simd_avx2.c — the "avx2" instance of the CPU hot loops (8 floats per vector). CMake compiles
 * this file with -mavx2 -mfma -mf16c on x86-64 (SF_HAVE_X86_SIMD); cpu_simd.c runs it only on a CPU
 * that has those instructions. */
#ifdef SF_HAVE_X86_SIMD
#define VL 8
#define SIMD_NAME avx2
#define SIMD_STR "avx2"
#include "simd_body.h"
#endif
