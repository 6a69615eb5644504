/* rng.c — Philox4x32-10 and the keyed uniform / normal streams (sf_rng.h). Callers: mkmodel's
 * random weights now; the renderer's initial noise and the samplers' noise later.
 * Subtle: a position's value must not depend on where a request starts, so each request
 * recomputes the Philox block holding `first` and skips the lanes before it; normals come in
 * Box-Muller pairs (lanes 0,1 and 2,3), so both members of a pair always see the same block. */
#include "sf_rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void sf_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* splitmix64's finaliser: a bijective mix so that nearby ids land far apart. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sf_rng_init(struct sf_rng *r, uint64_t seed, const uint64_t *ids, int n_ids)
{
    uint64_t h = mix64(0x53686f74ull + (uint64_t)n_ids);
    for (int i = 0; i < n_ids && i < SF_RNG_MAX_IDS; i++)
        h = mix64(h ^ mix64(ids[i] + 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1)));
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32);
    r->stream[0] = (uint32_t)h;
    r->stream[1] = (uint32_t)(h >> 32);
}

static void block(const struct sf_rng *r, uint64_t b, uint32_t out[4])
{
    uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), r->stream[0], r->stream[1]};
    sf_philox4x32_10(ctr, r->key, out);
}

/* Uniforms: 24 high bits -> [0, 1), exactly representable in float. */
static void lanes_uniform(const uint32_t v[4], float z[4])
{
    for (int k = 0; k < 4; k++) z[k] = (float)(v[k] >> 8) * (1.0f / 16777216.0f);
}

/* Normals: Box-Muller on lanes (0, 1) and (2, 3), from 32-bit uniforms, in double. */
static void lanes_normal(const uint32_t v[4], float z[4])
{
    for (int k = 0; k < 4; k += 2) {
        /* u1 in (0, 1] so the log is finite; u2 in [0, 1) */
        double u1 = ((double)v[k] + 1.0) * (1.0 / 4294967296.0);
        double u2 = (double)v[k + 1] * (1.0 / 4294967296.0);
        double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
        z[k] = (float)(rad * cos(th));
        z[k + 1] = (float)(rad * sin(th));
    }
}

/* Positions first..first+n-1 through a block transform; a request starting mid-block
 * recomputes that block and skips the lanes before `first`. */
static void stream(const struct sf_rng *r, uint64_t first, float *out, size_t n,
                   void (*lanes)(const uint32_t v[4], float z[4]))
{
    uint32_t v[4];
    float z[4];
    size_t i = 0;
    while (i < n) {
        uint64_t p = first + i;
        block(r, p >> 2, v);
        lanes(v, z);
        for (unsigned lane = (unsigned)(p & 3); lane < 4 && i < n; lane++) out[i++] = z[lane];
    }
}

void sf_rng_uniform(const struct sf_rng *r, uint64_t first, float *out, size_t n)
{
    stream(r, first, out, n, lanes_uniform);
}

void sf_rng_normal(const struct sf_rng *r, uint64_t first, float *out, size_t n)
{
    stream(r, first, out, n, lanes_normal);
}
