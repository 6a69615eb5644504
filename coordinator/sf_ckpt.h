/* sf_ckpt.h — a denoise unit's checkpoints: the sampler state after step k in one verified HDF5
 * container (io/sf_h5pack.h), so a killed or preempted render continues at step k with the
 * bits an uninterrupted run would have had (docs/render.md § Checkpoints and resume).
 *
 *   RUNDIR/ckpt/STEM.step0003.h5 (+ .sha256)   the state after 3 of the unit's steps
 *
 * Contents: array `latent` (C, T, H, W) f32 — the sample x after step k — and the rest of the
 * sampler state under `sampler/` (node/sf_sampler.h's fields: scalars as 0-d arrays, history,
 * last_sample, sigmas, timesteps); root attributes format ("shotfarm.ckpt.v1"), unit, key (the
 * unit's input key, docs/render.md § Resume), model (the DiT files' key), step, steps, seed
 * (the Philox key of the unit's noise) and aspect. The last two checkpoints of a unit are kept;
 * a checkpoint that fails its checksum, or was written for other inputs, is skipped for the one
 * before it.
 *
 * Every function makes HDF5 calls: call them from the process's one HDF5 thread.
 */
#ifndef SF_CKPT_H
#define SF_CKPT_H

#include <stddef.h>
#include <stdint.h>

#define SF_CKPT_FORMAT "shotfarm.ckpt.v1"

struct sf_sampler;

/* What a checkpoint belongs to (borrowed strings). */
struct sf_ckpt_meta {
    const char *unit;  /* the unit's name */
    const char *key;   /* the unit's input key (hex SHA-256) */
    const char *model; /* the DiT's key (hex SHA-256) */
    uint32_t seed;
    int aspect;
    int64_t shape[4]; /* the latent: channels, frames, height, width */
};

/* DIR/STEM.stepNNNN.h5 into out[n]. */
void sf_ckpt_path(const char *dir, const char *stem, int step, char *out, size_t n);

/* Writes the state of s (after s->step steps) as DIR/STEM.stepNNNN.h5 with its sidecar
 * (temp + fsync + rename + directory fsync for each), then removes the unit's older
 * checkpoints but the newest one before it. The path written goes to path[n]. On failure
 * nothing published before is touched: SF_E_NOSPC (a full disk or a file-size limit) or
 * SF_E_IO, logged with the path. */
int sf_ckpt_write(const char *dir, const char *stem, const struct sf_sampler *s,
                  const struct sf_ckpt_meta *m, char *path, size_t n);

/* Finds the unit's newest checkpoint that verifies and belongs to m (format, key, latent shape
 * and sampler settings equal to s's), loads it into s (a sampler created with the unit's
 * settings; its whole state is replaced) and writes its path to path[n]. A checkpoint that
 * does not qualify is named in a warning with the reason and the previous one is tried.
 * Returns SF_OK, SF_E_NOTFOUND when none qualifies (s is then unchanged), or SF_E_NOMEM. */
int sf_ckpt_load_latest(const char *dir, const char *stem, const struct sf_ckpt_meta *m,
                        struct sf_sampler *s, char *path, size_t n);

/* Removes every checkpoint of STEM in dir (after its final latent was published, or when its
 * inputs changed). Missing files are fine; SF_E_IO (logged) when one cannot be removed. */
int sf_ckpt_remove_all(const char *dir, const char *stem);

/* The steps of STEM's checkpoint files in dir (verified or not), newest first, at most max;
 * returns how many there are (possibly more than max), or -1 when dir cannot be read. */
int sf_ckpt_list(const char *dir, const char *stem, int *steps, int max);

#endif
