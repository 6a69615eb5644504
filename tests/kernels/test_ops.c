/* test_ops.c — every op of sf_ops.h against a naive double-precision reference (ops_cases.h),
 * once per SIMD path this CPU supports (forced with sf_cpu_force_simd), with 2 threads.
 * Tolerances are max|a-b| <= k * max|ref| (k per case in ops_cases.h); GELU/SiLU are also checked
 * element by element (relative 2e-5) since their values span many magnitudes. */
#include "ops_cases.h"

static void check_elementwise_relative(const float *got, const float *ref, size_t n)
{
    size_t bad = n;
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - ref[i]) <= 2e-5 * fabs((double)ref[i]) + 1e-30)) {
            bad = i;
            break;
        }
    if (bad < n) {
        fprintf(stderr, "gelu/silu element %zu: got %.9g want %.9g\n", bad, (double)got[bad],
                (double)ref[bad]);
        sf_test_failures++;
    }
}

int main(void)
{
    sf_threads_init(2);
    static const char *paths[] = {"portable", "avx2", "avx512"};
    int ran = 0;
    for (int p = 0; p < 3; p++) {
        if (sf_cpu_force_simd(paths[p]) != 0) {
            fprintf(stderr, "simd path %s: not on this CPU, skipped\n", paths[p]);
            continue;
        }
        CHECK_STR(sf_cpu_simd_path(), paths[p]);
        ran++;
        for (size_t c = 0; c < N_OP_CASES; c++) {
            const struct op_case *oc = &op_cases[c];
            float *got = calloc(oc->n, sizeof *got), *ref = calloc(oc->n, sizeof *ref);
            oc->run(got);
            oc->ref(ref);
            char what[96];
            snprintf(what, sizeof what, "%s [%s]", oc->name, paths[p]);
            if (oc->tol == 0) {
                if (memcmp(got, ref, oc->n * sizeof *got) != 0) {
                    fprintf(stderr, "%s: not bit-identical to the double reference\n", what);
                    sf_test_failures++;
                }
            } else {
                sf_test_close_f32(what, got, ref, oc->n, oc->tol);
            }
            if (oc->run == run_elem) check_elementwise_relative(got, ref, oc->n);
            free(got), free(ref);
        }
    }
    CHECK(ran >= 1);
    CHECK(sf_cpu_force_simd("no-such-path") == -1);
    return sf_test_result("kernels_ops");
}
