/* Philox4x32-10 against Random123's published known-answer vectors (tests/kat_vectors of the
 * Random123 distribution, Salmon et al. SC'11), and the keyed streams built on it: a value
 * depends only on (seed, ids, position) — any slice reproduces the same numbers — different
 * keys give unrelated streams, and the distributions have the right moments. */
#include "sf_rng.h"
#include "sf_test.h"

#include <math.h>
#include <stdlib.h>

static void kat(const uint32_t ctr[4], const uint32_t key[2], const uint32_t want[4])
{
    uint32_t out[4];
    sf_philox4x32_10(ctr, key, out);
    for (int i = 0; i < 4; i++) {
        if (out[i] != want[i]) {
            fprintf(stderr, "philox(%08x..., key %08x %08x)[%d] = %08x, want %08x\n", ctr[0],
                    key[0], key[1], i, out[i], want[i]);
            sf_test_failures++;
        }
    }
}

int main(void)
{
    kat((const uint32_t[]){0, 0, 0, 0}, (const uint32_t[]){0, 0},
        (const uint32_t[]){0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
    kat((const uint32_t[]){0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
        (const uint32_t[]){0xffffffff, 0xffffffff},
        (const uint32_t[]){0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
    kat((const uint32_t[]){0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
        (const uint32_t[]){0xa4093822, 0x299f31d0},
        (const uint32_t[]){0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});

    enum { N = 1 << 20 };
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    if (!a || !b) return 1;
    struct sf_rng r, r2, r3;
    uint64_t ids[4] = {7, 3, 120, 15}; /* shot, take, frame, channel */
    sf_rng_init(&r, 42, ids, 4);

    /* Slices at odd offsets reproduce the full stream exactly. */
    sf_rng_normal(&r, 0, a, N);
    sf_rng_normal(&r, 12345, b, 1001);
    sf_test_close_f32("normal slice at 12345", b, a + 12345, 1001, 0.0);
    sf_rng_normal(&r, 3, b, 1);
    CHECK(b[0] == a[3]);
    double s = 0, s2 = 0, s4 = 0;
    for (int i = 0; i < N; i++) {
        s += a[i];
        s2 += (double)a[i] * a[i];
        s4 += (double)a[i] * a[i] * a[i] * a[i];
        if (!isfinite(a[i])) sf_test_failures++;
    }
    double mean = s / N, var = s2 / N - mean * mean, kurt = s4 / N;
    /* standard errors at N = 2^20: mean 0.001, variance 0.0014, E[z^4] 0.009 */
    if (fabs(mean) > 0.005 || fabs(var - 1) > 0.01 || fabs(kurt - 3) > 0.05) {
        fprintf(stderr, "normal moments: mean %g var %g E[z^4] %g\n", mean, var, kurt);
        sf_test_failures++;
    }

    sf_rng_uniform(&r, 0, a, N);
    sf_rng_uniform(&r, 999, b, 77);
    sf_test_close_f32("uniform slice at 999", b, a + 999, 77, 0.0);
    s = 0;
    int out_of_range = 0;
    for (int i = 0; i < N; i++) {
        s += a[i];
        out_of_range += !(a[i] >= 0.0f && a[i] < 1.0f);
    }
    CHECK_EQ_INT(out_of_range, 0);
    if (fabs(s / N - 0.5) > 0.002) {
        fprintf(stderr, "uniform mean %g\n", s / N);
        sf_test_failures++;
    }

    /* Another seed, another id, another id order, fewer ids: all different streams. */
    uint64_t other[4] = {7, 3, 121, 15}, swapped[4] = {3, 7, 120, 15};
    sf_rng_init(&r2, 43, ids, 4);
    sf_rng_init(&r3, 42, other, 4);
    struct sf_rng r4, r5;
    sf_rng_init(&r4, 42, swapped, 4);
    sf_rng_init(&r5, 42, ids, 3);
    const struct sf_rng *others[] = {&r2, &r3, &r4, &r5};
    for (int k = 0; k < 4; k++) {
        sf_rng_uniform(others[k], 0, b, 1000);
        int same = 0;
        for (int i = 0; i < 1000; i++) same += b[i] == a[i];
        if (same > 5) {
            fprintf(stderr, "stream %d shares %d of 1000 values with the base stream\n", k, same);
            sf_test_failures++;
        }
    }
    /* Same key twice: identical. */
    sf_rng_init(&r2, 42, ids, 4);
    sf_rng_uniform(&r2, 0, b, 1000);
    sf_test_close_f32("same key", b, a, 1000, 0.0);
    free(a);
    free(b);
    return sf_test_result("st_rng");
}
