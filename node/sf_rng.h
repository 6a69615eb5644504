/* sf_rng.h — counter-based random numbers (Philox4x32-10, Salmon et al., SC'11 "Parallel random
 * numbers: as easy as 1, 2, 3"). A value is a pure function of (seed, stream ids, position): no
 * state advances, so any rank, thread or GPU block can produce any slice of a stream, in any
 * order, and get the same numbers — the renderer keys its noise by (campaign seed, shot, take,
 * frame, channel) and the position inside that plane; mkmodel keys weights by (seed, tensor).
 *
 *   struct sf_rng r;
 *   uint64_t ids[] = {shot, take, frame};
 *   sf_rng_init(&r, seed, ids, 3);
 *   sf_rng_normal(&r, 0, noise, n);          // positions 0..n-1
 *   sf_rng_normal(&r, n / 2, half, n - n/2); // the same numbers as noise[n/2..]
 *
 * Philox's 64-bit key is the seed; the 128-bit counter is (position / 4, hash of the ids), so
 * different id tuples are independent streams (up to a 2^-64 hash collision) of 2^66 values. */
#ifndef SF_RNG_H
#define SF_RNG_H

#include <stddef.h>
#include <stdint.h>

#define SF_RNG_MAX_IDS 8

struct sf_rng {
    uint32_t key[2];    /* the seed */
    uint32_t stream[2]; /* counter words 2 and 3: the hashed ids */
};

/* The raw Philox4x32-10 bijection: out = philox(ctr, key) (Random123's philox4x32 with 10
 * rounds; its known-answer vectors apply). */
void sf_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Keys a stream by seed and n_ids (0..SF_RNG_MAX_IDS) 64-bit ids; order matters. */
void sf_rng_init(struct sf_rng *r, uint64_t seed, const uint64_t *ids, int n_ids);

/* out[i] = the value at position first + i: uniform in [0, 1) with 24 random bits, or standard
 * normal (Box-Muller on pairs of uniforms from the same Philox block, computed in double). */
void sf_rng_uniform(const struct sf_rng *r, uint64_t first, float *out, size_t n);
void sf_rng_normal(const struct sf_rng *r, uint64_t first, float *out, size_t n);

#endif
