/* sf_test.h — the few helpers every C test uses: checks that report file:line, a deterministic
 * random source, and the tolerance comparison of STYLE.md (max|a-b| <= k * max|ref|, printing the
 * worst element on failure). A test's main returns sf_test_result(): 0 pass, 1 fail; 77 skip. */
#ifndef SF_TEST_H
#define SF_TEST_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sf_test_failures;

#define SF_TEST_SKIP 77

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            sf_test_failures++;                                                                    \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "%s:%d: CHECK_EQ_INT failed: %s = %lld, %s = %lld\n", __FILE__,         \
                    __LINE__, #a, a_, #b, b_);                                                     \
            sf_test_failures++;                                                                    \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fprintf(stderr, "%s:%d: CHECK_STR failed:\n  got:  %s\n  want: %s\n", __FILE__,         \
                    __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                             \
            sf_test_failures++;                                                                    \
        }                                                                                          \
    } while (0)

static inline int sf_test_result(const char *name)
{
    if (sf_test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, sf_test_failures);
        return 1;
    }
    fprintf(stderr, "%s: ok\n", name);
    return 0;
}

/* The paths ctest gives a test that runs the binary (tests/CMakeLists.txt sf_add_test): the
 * source and build trees and the shotfarm executable. Returns 0, or 1 with a message when one is
 * missing (the test was not started by ctest). */
static inline int sf_test_env(const char **src, const char **bin, const char **shotfarm)
{
    *src = getenv("SF_SOURCE_DIR"), *bin = getenv("SF_BINARY_DIR"),
    *shotfarm = getenv("SF_SHOTFARM");
    if (*src && *bin && *shotfarm) return 0;
    fprintf(stderr, "SF_SOURCE_DIR, SF_BINARY_DIR and SF_SHOTFARM must be set (run under ctest)\n");
    return 1;
}

/* splitmix64: a reproducible stream for test inputs. */
static inline uint64_t sf_test_rand_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static inline float sf_test_rand_f32(uint64_t *s)
{
    return (float)((double)(sf_test_rand_u64(s) >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
}

static inline void sf_test_fill(float *x, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) x[i] = sf_test_rand_f32(&seed);
}

/* max|a-b| <= k * max|ref|; on failure prints the worst element (index, got, want) and counts a
 * failure. Returns 1 when within tolerance. */
static inline int sf_test_close_f32(const char *what, const float *got, const float *ref, size_t n,
                                    double k)
{
    double maxref = 0, worst = -1;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        double r = fabs((double)ref[i]);
        if (r > maxref) maxref = r;
    }
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (d != d || d > worst) { /* NaN counts as worst */
            worst = d != d ? INFINITY : d;
            wi = i;
            if (d != d) break;
        }
    }
    double tol = k * maxref;
    if (n && !(worst <= tol)) {
        fprintf(stderr,
                "%s: max|a-b| = %.6g > %.3g * max|ref| (%.6g) = %.6g; worst at [%zu]: got %.9g "
                "want %.9g\n",
                what, worst, k, maxref, tol, wi, (double)got[wi], (double)ref[wi]);
        sf_test_failures++;
        return 0;
    }
    return 1;
}

#endif
