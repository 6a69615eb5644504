/* threads.c — the compute thread pool behind sf_parallel_for, and the thread count shared with
 * OpenBLAS. Called by every parallel CPU op; the models only call sf_threads_init at start-up.
 *
 * Work is split by the caller into items whose boundaries never depend on the thread count;
 * threads take items from an atomic counter, so which thread runs an item varies but what it
 * computes does not: results are bit-identical for any --threads. OpenBLAS is set to one thread:
 * our pool owns parallelism (each task calls a single-threaded sgemm on its tile), so the two
 * never oversubscribe the cores and OpenBLAS's own split cannot change results.
 * Nested calls (a task calling sf_parallel_for) and calls from a second thread while the pool is
 * busy run serially in the calling thread. Workers sleep on a condition variable (no spinning:
 * the machines are shared).
 *
 * OpenBLAS's kernel choice: a DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernels from the CPU
 * model number at load time and falls back to "Prescott" (SSE3) for models it does not know —
 * OpenBLAS 0.3.21 on an Emerald Rapids VM (family 6 model 207) does, and runs sgemm at half
 * speed. The first sf_threads_init re-runs OpenBLAS's core selection with the best core the CPU's
 * feature flags allow (SkylakeX for AVX-512, Haswell for AVX2+FMA) when it chose a generic one,
 * unless OPENBLAS_CORETYPE is set. SF_BLAS_CORE=NAME pins the kernels to NAME whatever OpenBLAS
 * chose (one determinism domain across a cluster of mixed CPUs). Kernels differ in summation
 * order, so this changes results in the last bits; they stay independent of the thread count. */
#define _GNU_SOURCE /* setenv, sched_getaffinity */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu.h"
#include "sf_log.h"
#include "sf_ops.h"
#include "sf_status.h"

#ifdef SF_HAVE_OPENBLAS
#include <cblas.h>
#endif

#define MAX_THREADS 256

struct pool {
    pthread_mutex_t mu; /* guards gen, busy, exiting */
    pthread_cond_t start, done;
    pthread_mutex_t submit; /* one sf_parallel_for at a time */
    pthread_t th[MAX_THREADS];
    int n_threads;     /* including the caller */
    unsigned long gen; /* bumped per job */
    int busy;          /* workers still in the current job */
    int exiting;
    void (*fn)(void *ctx, int64_t i);
    void *ctx;
    int64_t n_items;
    atomic_int_fast64_t next;
};

static struct pool pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
                           .start = PTHREAD_COND_INITIALIZER,
                           .done = PTHREAD_COND_INITIALIZER,
                           .submit = PTHREAD_MUTEX_INITIALIZER,
                           .n_threads = 0};
static _Thread_local int in_task;

static void run_items(void)
{
    in_task = 1;
    for (;;) {
        int64_t i = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed);
        if (i >= pool.n_items) break;
        pool.fn(pool.ctx, i);
    }
    in_task = 0;
}

static void *worker(void *arg)
{
    (void)arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (pool.gen == seen && !pool.exiting)
            pthread_cond_wait(&pool.start, &pool.mu);
        if (pool.exiting) break;
        seen = pool.gen;
        pthread_mutex_unlock(&pool.mu);
        run_items();
        pthread_mutex_lock(&pool.mu);
        if (--pool.busy == 0) pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.mu);
    sf_cpu_scratch_release();
    return NULL;
}

static void pool_stop(void)
{
    pthread_mutex_lock(&pool.mu);
    pool.exiting = 1;
    pthread_cond_broadcast(&pool.start);
    pthread_mutex_unlock(&pool.mu);
    for (int i = 1; i < pool.n_threads; i++)
        pthread_join(pool.th[i], NULL);
    pool.exiting = 0;
    pool.n_threads = 0;
}

/* A positive integer from the environment, or 0 when unset or not one. */
static long env_long(const char *name)
{
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    char *end;
    long v = strtol(s, &end, 10);
    return *end || v <= 0 ? 0 : v;
}

/* CPUs this process may run on (its affinity mask: what Slurm's task binding, mpirun's
 * --bind-to or taskset gave it), or 0 when unknown. */
static long cpus_allowed(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
}

/* SF_THREADS; else Slurm's --cpus-per-task; else the CPUs of the affinity mask when it was
 * narrowed (the launcher already divided the node); else the node's cores / its ranks. */
static int default_threads(void)
{
    long n = env_long("SF_THREADS");
    if (n <= 0) n = env_long("SLURM_CPUS_PER_TASK");
    long allowed = cpus_allowed(), online = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0 && allowed > 0 && allowed < online) n = allowed;
    if (n <= 0) {
        long cores = online;
        long ranks = env_long("OMPI_COMM_WORLD_LOCAL_SIZE");
        if (!ranks) ranks = env_long("MPI_LOCALNRANKS");
        if (!ranks) ranks = env_long("SLURM_NTASKS_PER_NODE");
        n = (cores < 1 ? 1 : cores) / (ranks ? ranks : 1);
    }
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

#ifdef SF_HAVE_OPENBLAS
/* Exported by DYNAMIC_ARCH builds of OpenBLAS only (weak: absent elsewhere). quit forgets the
 * chosen kernel table; init chooses again, reading OPENBLAS_CORETYPE. */
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

static void openblas_pick_core(void)
{
    static int done;
    if (done) return;
    done = 1;
    const char *core = openblas_get_corename();
    const char *force = getenv("SF_BLAS_CORE"), *want = NULL;
    if (!gotoblas_dynamic_init || !gotoblas_dynamic_quit || !core) {
        if (force && *force)
            SF_WARN("kernels", "SF_BLAS_CORE=%s: this OpenBLAS cannot change its kernels at run "
                    "time (not a DYNAMIC_ARCH build); it keeps %s", force, core ? core : "?");
        return;
    }
    if (force && *force) { /* pinned (e.g. one determinism domain across a mixed cluster) */
        if (strcmp(core, force) == 0) return;
        want = force;
    } else {
        if (getenv("OPENBLAS_CORETYPE") ||
            (strcmp(core, "Prescott") && strcmp(core, "Core2") && strcmp(core, "Nehalem")))
            return;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
            want = "SkylakeX";
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            want = "Haswell";
#endif
        if (!want) return;
    }
    setenv("OPENBLAS_CORETYPE", want, 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    SF_INFO("kernels", "OpenBLAS chose its %s kernels for this CPU; now %s (%s)", core,
            openblas_get_corename(),
            force && *force ? "SF_BLAS_CORE" : "set OPENBLAS_CORETYPE or SF_BLAS_CORE to choose");
}
#endif

int sf_threads_init(int n)
{
    if (n <= 0) n = default_threads();
    if (n > MAX_THREADS) n = MAX_THREADS;
    pthread_mutex_lock(&pool.submit);
    if (pool.n_threads != n) {
        if (pool.n_threads > 1) pool_stop();
        pool.n_threads = 1;
        for (int i = 1; i < n; i++) {
            if (pthread_create(&pool.th[i], NULL, worker, NULL) != 0) {
                SF_WARN("kernels", "could not start compute thread %d of %d; using %d", i + 1, n,
                        i);
                break;
            }
            pool.n_threads = i + 1;
        }
    }
#ifdef SF_HAVE_OPENBLAS
    openblas_pick_core();
    openblas_set_num_threads(1);
#endif
    n = pool.n_threads;
    pthread_mutex_unlock(&pool.submit);
    SF_DEBUG("kernels", "%d compute thread(s), simd %s", n, sf_cpu_simd_path());
    return n;
}

int sf_threads_count(void)
{
    if (pool.n_threads == 0) sf_threads_init(0);
    return pool.n_threads;
}

void sf_parallel_for(int64_t n, void (*fn)(void *ctx, int64_t i), void *ctx)
{
    if (n <= 0) return;
    if (pool.n_threads == 0) sf_threads_init(0);
    if (n == 1 || in_task || pool.n_threads == 1 || pthread_mutex_trylock(&pool.submit) != 0) {
        int was = in_task;
        in_task = 1;
        for (int64_t i = 0; i < n; i++)
            fn(ctx, i);
        in_task = was;
        return;
    }
    pthread_mutex_lock(&pool.mu);
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n_items = n;
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    pool.busy = pool.n_threads - 1;
    pool.gen++;
    pthread_cond_broadcast(&pool.start);
    pthread_mutex_unlock(&pool.mu);
    run_items();
    pthread_mutex_lock(&pool.mu);
    while (pool.busy > 0)
        pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
    pthread_mutex_unlock(&pool.submit);
}
