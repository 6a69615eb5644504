/* denoise.c — the guided denoising loop (sf_denoise.h). Called by coordinator/forward_denoise.c
 * (`shotfarm forward denoise`) and coordinator/unit_denoise.c (render's denoise units), so the
 * golden-tested loop is the one that renders. The subtle thing: g == 1 must skip the
 * unconditional pass entirely (diffusers does), not run it and multiply by zero, or the result
 * would differ in the last bit from the reference. */
#include "sf_denoise.h"
#include "sf_log.h"
#include "sf_status.h"

#include <stdlib.h>

int sf_denoise_run(struct sf_dit *dit, struct sf_sampler *s, const int64_t thw[3], const float *ctx,
                   int64_t ctx_rows, const float *neg, int64_t neg_rows, int stop,
                   sf_denoise_step_fn on_step, void *arg)
{
    int st = SF_OK;
    const int64_t n = s->n;
    float *cond = malloc((size_t)n * sizeof *cond);
    float *uncond = malloc((size_t)n * sizeof *uncond);
    if (!cond || !uncond) {
        st = SF_E_NOMEM;
        goto out;
    }
    const float g = (float)s->guidance;
    while (!sf_sampler_done(s) && (stop < 0 || s->step < stop)) {
        const double t = sf_sampler_timestep(s);
        const float *x = sf_sampler_sample(s);
        if (g == 1.0f) {
            SF_TRY(st, sf_dit_forward(dit, x, thw, t, ctx, ctx_rows, cond));
        } else {
            const float *xs[2] = {x, x}, *cs[2] = {ctx, neg};
            const double ts[2] = {t, t};
            const int64_t rows[2] = {ctx_rows, neg_rows};
            float *outs[2] = {cond, uncond};
            SF_TRY(st, sf_dit_forward_batch(dit, 2, xs, thw, ts, cs, rows, outs));
            sf_sampler_cfg(cond, cond, uncond, g, n);
        }
        sf_sampler_step(s, cond);
        SF_DEBUG("denoise", "step %d/%d t=%g done", s->step, s->n_steps, t);
        if (on_step) SF_TRY(st, on_step(arg, s, t));
    }
out:
    free(cond);
    free(uncond);
    return st;
}
