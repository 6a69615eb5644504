/* test_threads.c — results do not depend on the thread count: every op case of ops_cases.h is
 * run with 1, 2 and 3 threads and must be bit-identical (on every SIMD path this CPU has). Also
 * the pool itself (each index exactly once, nested calls, the SF_THREADS default), the arena
 * (alignment, mark/reset, high water) and the backend table's dispatch and fallback. */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdint.h>

#include "ops_cases.h"
#include "sf_backend.h"

static atomic_int hits[1000];

static void count_hit(void *ctx, int64_t i)
{
    (void)ctx;
    atomic_fetch_add(&hits[i], 1);
}

static void nested(void *ctx, int64_t i)
{
    (void)ctx;
    sf_parallel_for(10, count_hit, NULL); /* runs serially inside a task */
    atomic_fetch_add(&hits[100 + i], 1);
}

static void test_pool(void)
{
    CHECK_EQ_INT(sf_threads_init(3), 3);
    CHECK_EQ_INT(sf_threads_count(), 3);
    for (int rep = 0; rep < 50; rep++)
        sf_parallel_for(1000, count_hit, NULL);
    int ok = 1;
    for (int i = 0; i < 1000; i++)
        ok &= atomic_load(&hits[i]) == 50;
    CHECK(ok);
    memset(hits, 0, sizeof hits);
    sf_parallel_for(7, nested, NULL);
    ok = 1;
    for (int i = 0; i < 10; i++)
        ok &= atomic_load(&hits[i]) == 7;
    for (int i = 0; i < 7; i++)
        ok &= atomic_load(&hits[100 + i]) == 1;
    CHECK(ok);
    setenv("SF_THREADS", "2", 1);
    CHECK_EQ_INT(sf_threads_init(0), 2);
    unsetenv("SF_THREADS");
    setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "100000", 1); /* more ranks than cores: at least 1 */
    CHECK_EQ_INT(sf_threads_init(0), 1);
    unsetenv("OMPI_COMM_WORLD_LOCAL_SIZE");
}

static void test_arena(void)
{
    struct sf_arena a;
    CHECK_EQ_INT(sf_arena_init(&a, 1000), 0);
    char *p = sf_arena_alloc(&a, 10);
    size_t mark = sf_arena_mark(&a);
    char *q = sf_arena_alloc(&a, 100);
    CHECK((uintptr_t)p % 64 == 0 && (uintptr_t)q % 64 == 0 && q >= p + 10);
    sf_arena_reset(&a, mark);
    CHECK(sf_arena_alloc(&a, 100) == q);
    CHECK(a.high_water >= 64 + 128);
    memset(q, 1, 100);
    sf_arena_fini(&a);
    CHECK(a.base == NULL);
}

static int fake_silu_calls;
static void fake_silu(float *x, int64_t n)
{
    (void)x, (void)n;
    fake_silu_calls++;
}

/* A partial backend: its slot is used, its NULL slots fall back to the CPU table. */
static void test_backend(void)
{
    CHECK(sf_backend_get() == sf_backend_cpu());
    CHECK_STR(sf_backend_get()->name, "cpu");
    static const struct sf_backend fake = {.name = "fake", .silu = fake_silu};
    sf_backend_set(&fake);
    float x[3] = {1, 2, 3};
    sf_silu(x, 3);
    CHECK_EQ_INT(fake_silu_calls, 1);
    CHECK(x[0] == 1.0f);
    sf_gelu_tanh(x, 3); /* NULL slot: the CPU one */
    CHECK(fabsf(x[0] - 0.841192f) < 1e-5f);
    sf_backend_set(NULL);
    CHECK(sf_backend_get() == sf_backend_cpu());
}

int main(void)
{
    test_backend();
    test_pool();
    test_arena();
    static const char *paths[] = {"portable", "avx2", "avx512"};
    static const int counts[] = {1, 2, 3};
    for (int p = 0; p < 3; p++) {
        if (sf_cpu_force_simd(paths[p]) != 0) continue;
        for (size_t c = 0; c < N_OP_CASES; c++) {
            const struct op_case *oc = &op_cases[c];
            float *out[3];
            for (int t = 0; t < 3; t++) {
                sf_threads_init(counts[t]);
                out[t] = calloc(oc->n, sizeof *out[t]);
                oc->run(out[t]);
            }
            for (int t = 1; t < 3; t++)
                if (memcmp(out[0], out[t], oc->n * sizeof *out[0]) != 0) {
                    size_t i = 0;
                    while (out[0][i] == out[t][i])
                        i++;
                    fprintf(stderr, "%s [%s]: %d threads differ from 1 at [%zu]: %.9g vs %.9g\n",
                            oc->name, paths[p], counts[t], i, (double)out[t][i], (double)out[0][i]);
                    sf_test_failures++;
                }
            for (int t = 0; t < 3; t++)
                free(out[t]);
        }
    }
    return sf_test_result("kernels_threads");
}
