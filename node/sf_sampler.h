/* sf_sampler.h — the denoising loop's sampler: flow-matching schedules with shift, UniPC
 * multistep (order 2, bh2, x0-prediction, the official Wan default) and Euler, classifier-free
 * guidance, and a sampler state that can be saved and resumed bit-exactly.
 *
 *   struct sf_sampler *s;
 *   SF_TRY(st, sf_sampler_create(SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 50, 5.0, 5.0, n, noise, &s));
 *   while (!sf_sampler_done(s)) {
 *       float t = sf_sampler_timestep(s);                 // what the DiT sees (Wan: an integer)
 *       dit(sf_sampler_sample(s), t, context, cond);      // model output v = flow velocity
 *       dit(sf_sampler_sample(s), t, negative, uncond);
 *       sf_sampler_cfg(v, cond, uncond, s->guidance, n);  // uncond + g * (cond - uncond)
 *       sf_sampler_step(s, v);                            // x <- next sample
 *       if (want_checkpoint) SF_TRY(st, sf_sampler_save(s, "state.sfs"));
 *   }
 *   memcpy(latent, sf_sampler_sample(s), n * sizeof(float));
 *   sf_sampler_destroy(s);
 *
 * Flow matching: x_σ = (1 − σ)·x0 + σ·ε, the model predicts v ≈ ε − x0, so x0 = x − σ·v.
 * Schedules (WAN-FACTS § 5):
 *   SF_SCHEDULE_WAN        the official one (wan/utils/fm_solvers_unipc.py): σ_i from
 *                          linspace(0.999, 0, N+1)[:N] shifted, timesteps int64(σ·1000)
 *                          truncated, a trailing σ = 0. Same table for both samplers.
 *   SF_SCHEDULE_DIFFUSERS  what diffusers' schedulers build: UniPC (UniPCMultistepScheduler with
 *                          use_flow_sigmas, flow_shift): linspace(1, 1/1000, N+1)[:N] shifted,
 *                          σ_0 -= 1e-6, int64 timesteps; Euler (FlowMatchEulerDiscreteScheduler
 *                          (shift=S)): its table, shifted twice at the low end as diffusers does,
 *                          with non-integer fp32 timesteps.
 * Shift: σ' = s·σ / (1 + (s − 1)·σ). Tables are computed in double exactly as numpy does and
 * rounded to fp32 where the references round, so the integer timesteps match exactly.
 *
 * The state is a plain struct of named scalars and flat arrays (sf_sampler_fields): a later
 * checkpoint writer can store it anywhere; sf_sampler_save/_load use a safetensors-format file
 * with a checksum. Bit-exactness of resume: every step is a pure function of the state and v,
 * and everything it reads is in the state.
 */
#ifndef SF_SAMPLER_H
#define SF_SAMPLER_H

#include "sf_dtype.h"

#include <stddef.h>
#include <stdint.h>

#include "sf_sampler_kind.h" /* enum sf_sampler_kind, enum sf_schedule_kind */

#define SF_SAMPLER_MAX_STEPS 1000 /* the training timesteps; more steps repeat timesteps */
#define SF_SAMPLER_MAX_SHIFT 1000.0
#define SF_SAMPLER_MAX_GUIDANCE 100.0

/* "unipc" / "euler"; "wan" / "diffusers". Parse: 0 and *out, or -1 when unknown. */
const char *sf_sampler_kind_name(enum sf_sampler_kind k);
const char *sf_schedule_kind_name(enum sf_schedule_kind k);
int sf_sampler_kind_parse(const char *s, enum sf_sampler_kind *out);
int sf_schedule_kind_parse(const char *s, enum sf_schedule_kind *out);

/* The schedule for n_steps steps (1..SF_SAMPLER_MAX_STEPS) and shift (0 < shift <=
 * SF_SAMPLER_MAX_SHIFT): sigmas[n_steps + 1] (last 0) and timesteps[n_steps] (what the model
 * sees). The kind matters only for SF_SCHEDULE_DIFFUSERS. Returns SF_E_INVAL (logged) for an
 * out-of-range n_steps or shift; the caller owns both arrays. */
int sf_sampler_schedule(enum sf_sampler_kind kind, enum sf_schedule_kind schedule, int n_steps,
                        double shift, float *sigmas, float *timesteps);

/* The whole sampler state. Fields are public so a checkpoint can store them
 * (sf_sampler_fields); only sampler.c changes them. Arrays are owned by the struct. */
struct sf_sampler {
    /* configuration, fixed at creation */
    int32_t kind;     /* enum sf_sampler_kind */
    int32_t schedule; /* enum sf_schedule_kind */
    int32_t n_steps;  /* 1..SF_SAMPLER_MAX_STEPS */
    double shift;
    double guidance; /* CFG scale g, 0..SF_SAMPLER_MAX_GUIDANCE; kept here so that a resumed
                        loop cannot silently combine with another g */
    int64_t n;       /* elements of one latent */
    /* progress */
    int32_t step;       /* steps done = index of the next step, 0..n_steps */
    int32_t n_hist;     /* UniPC: valid rows of history (diffusers' lower_order_nums), 0..2 */
    int32_t last_order; /* UniPC: order of the last predictor = the next corrector's; 0 at start */
    float *sigmas;      /* (n_steps + 1), sigmas[n_steps] == 0 */
    float *timesteps;   /* (n_steps) */
    float *x;           /* (n) the current sample: noise at step 0, the latent when done */
    float *history;     /* UniPC (2, n): x0 predictions, row 1 the newest; Euler: NULL */
    float *last_sample; /* UniPC (n): the (corrected) sample the last predictor started from */
    float *scratch;     /* UniPC (n): working memory of one step, not state */
};

/* Creates a sampler at step 0 with x = noise[0..n) (copied; NULL: zeros). Fails with
 * SF_E_INVAL (logged) for bad settings, SF_E_NOMEM. The caller destroys *out. */
int sf_sampler_create(enum sf_sampler_kind kind, enum sf_schedule_kind schedule, int n_steps,
                      double shift, double guidance, int64_t n, const float *noise,
                      struct sf_sampler **out);
/* Frees everything; NULL does nothing. */
void sf_sampler_destroy(struct sf_sampler *s);

static inline int sf_sampler_done(const struct sf_sampler *s)
{
    return s->step >= s->n_steps;
}
/* The timestep to give the model for the next step (requires !done). */
float sf_sampler_timestep(const struct sf_sampler *s);
/* The current sample (n floats, owned by s): the model input of the next step, or the final
 * latent once done. */
static inline const float *sf_sampler_sample(const struct sf_sampler *s)
{
    return s->x;
}

/* One step with the model output v (n floats, the guided velocity at the current sample and
 * timestep): x becomes the next sample. Allocates nothing. Calling it when done is a bug. */
void sf_sampler_step(struct sf_sampler *s, const float *v);

/* Classifier-free guidance: out = uncond + g·(cond − uncond), elementwise in fp32 as the
 * references do. out may be cond or uncond. */
void sf_sampler_cfg(float *out, const float *cond, const float *uncond, float g, int64_t n);

/* ---- the state as named fields ---------------------------------------------------------- */
/* One named scalar (ndim 0) or array. `data` points into the sampler (or at its scalar
 * members), so a reader can fill a sampler of the same configuration in place. */
struct sf_sampler_field {
    const char *name;
    enum sf_dtype dtype; /* I32, I64, F64 for scalars; F32 for arrays */
    int ndim;            /* 0..2 */
    int64_t shape[2];
    void *data;
};
#define SF_SAMPLER_MAX_FIELDS 16

/* Fills f[] with the fields of s (scalars first, then arrays) and returns their count. The
 * SF_SAMPLER_N_CONFIG configuration scalars (kind, schedule, n_steps, shift, guidance, n) come
 * first: a reader reads those, creates a sampler with them and then reads the rest into its
 * fields. */
#define SF_SAMPLER_N_CONFIG 6
int sf_sampler_fields(struct sf_sampler *s, struct sf_sampler_field f[SF_SAMPLER_MAX_FIELDS]);

/* Checks a state's invariants after it was filled from outside (ranges, history count against
 * step, the schedule equal to a freshly computed one). Returns SF_OK or SF_E_FORMAT with one
 * logged line naming `what` (e.g. the file) and the field. */
int sf_sampler_validate(const struct sf_sampler *s, const char *what);

/* ---- files ------------------------------------------------------------------------------ */
/* Writes the state to path as a safetensors-format file (every field a tensor, scalars of
 * shape [], metadata format/version and an FNV-1a-64 checksum of the data), durably: a
 * temporary file in the same directory, fsync, rename, directory fsync. Returns SF_OK, SF_E_IO
 * or SF_E_NOSPC (logged with the path). */
int sf_sampler_save(const struct sf_sampler *s, const char *path);

/* Reads a state written by sf_sampler_save into a new sampler (*out, caller destroys).
 * A missing file is SF_E_NOTFOUND; a truncated, corrupted or inconsistent one SF_E_FORMAT or
 * SF_E_CHECKSUM, each with one logged line naming the file, the field and what to do. */
int sf_sampler_load(const char *path, struct sf_sampler **out);
/* The same over bytes the caller holds (borrowed for the call); `what` names them in messages.
 * Used by the fuzz harness and by checkpoints that carry the state inside another file. */
int sf_sampler_load_mem(const void *bytes, size_t n, const char *what, struct sf_sampler **out);

#endif
