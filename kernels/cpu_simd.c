/* cpu_simd.c — picks the CPU backend's SIMD table at run time and owns the per-thread scratch.
 * Called by every CPU op. The choice is made once (first use): the best instruction set the CPU
 * and OS support (__builtin_cpu_supports checks XCR0 too), unless SF_SIMD names another;
 * sf_cpu_force_simd switches it for tests. Scratch buffers are thread-local and only grow, so a
 * steady-state loop allocates nothing. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "sf_log.h"
#include "sf_ops.h"
#include "sf_status.h"

#ifdef SF_HAVE_X86_SIMD
#include <cpuid.h>
#endif

static _Atomic(const struct cpu_simd *) active_simd;

#ifdef SF_HAVE_X86_SIMD
/* F16C by CPUID leaf 1 (clang's __builtin_cpu_supports does not know "f16c"). */
static int has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}
#endif

static int cpu_has(const char *path)
{
    if (strcmp(path, "portable") == 0) return 1;
#ifdef SF_HAVE_X86_SIMD
    __builtin_cpu_init();
    if (strcmp(path, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    if (strcmp(path, "avx512") == 0)
        return cpu_has("avx2") && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq");
#endif
    return 0;
}

static const struct cpu_simd *table_for(const char *path)
{
    if (!cpu_has(path)) return NULL;
#ifdef SF_HAVE_X86_SIMD
    if (strcmp(path, "avx512") == 0) return &sf_cpu_simd_avx512;
    if (strcmp(path, "avx2") == 0) return &sf_cpu_simd_avx2;
#endif
    return &sf_cpu_simd_portable;
}

const struct cpu_simd *sf_cpu_simd(void)
{
    const struct cpu_simd *t = atomic_load_explicit(&active_simd, memory_order_acquire);
    if (t) return t;
    const char *env = getenv("SF_SIMD");
    if (env && *env) {
        t = table_for(env);
        if (!t)
            SF_WARN("kernels",
                    "SF_SIMD=%s: this CPU lacks it (or it is unknown); using the "
                    "best available (avx512, avx2 or portable)",
                    env);
    }
    if (!t) t = table_for("avx512");
    if (!t) t = table_for("avx2");
    if (!t) t = &sf_cpu_simd_portable;
    atomic_store_explicit(&active_simd, t, memory_order_release);
    return t;
}

const char *sf_cpu_simd_path(void)
{
    return sf_cpu_simd()->name;
}

int sf_cpu_force_simd(const char *path)
{
    const struct cpu_simd *t = path ? table_for(path) : NULL;
    if (!t) return -1;
    atomic_store_explicit(&active_simd, t, memory_order_release);
    return 0;
}

struct scratch {
    void *p;
    size_t bytes;
};
static _Thread_local struct scratch scratch_slots[SF_CPU_SCRATCH_SLOTS];

void *sf_cpu_scratch(int slot, size_t bytes)
{
    SF_ASSERT(slot >= 0 && slot < SF_CPU_SCRATCH_SLOTS);
    struct scratch *s = &scratch_slots[slot];
    if (s->bytes >= bytes && s->p) return s->p;
    free(s->p);
    size_t want = (bytes + 63) & ~(size_t)63;
    if (want < 4096) want = 4096;
    s->p = aligned_alloc(64, want);
    if (!s->p) {
        SF_ERROR("kernels", "out of memory growing scratch slot %d to %zu bytes", slot, want);
        abort();
    }
    s->bytes = want;
    return s->p;
}

void sf_cpu_scratch_release(void)
{
    for (int i = 0; i < SF_CPU_SCRATCH_SLOTS; i++) {
        free(scratch_slots[i].p);
        scratch_slots[i].p = NULL;
        scratch_slots[i].bytes = 0;
    }
}
