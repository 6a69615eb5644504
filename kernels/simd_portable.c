/* simd_portable.c — the "portable" instance of the CPU hot loops (4 floats per vector). CMake
 * compiles this file with the matching -m flags; cpu_simd.c runs it only on a CPU that has them. */
#define VL 4
#define SIMD_NAME portable
#define SIMD_STR "portable"
#include "simd_body.h"
