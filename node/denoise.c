/* denoise.c — the guided denoising loop (sf_denoise.h), whole or over temporal windows. Called
 * by coordinator/forward_denoise.c (`shotfarm forward denoise`) and coordinator/unit_denoise.c
 * (render's denoise units), so the golden-tested loop is the one that renders. The subtle
 * things: g == 1 must skip the unconditional pass entirely (diffusers does), not run it and
 * multiply by zero, or the result would differ in the last bit from the reference; and a
 * windowed step blends PREDICTIONS, then steps the sampler once on the whole latent (blending
 * stepped latents would give every window its own sampler history). */
#include "sf_denoise.h"
#include "sf_log.h"
#include "sf_status.h"

#include <stdlib.h>
#include <string.h>

/* The guided prediction at x (in_dim, thw) into v; u is scratch of the same size (unused when
 * g is 1). */
static int guided(struct sf_dit *dit, float g, const float *x, const int64_t thw[3], double t,
                  const float *ctx, int64_t ctx_rows, const float *neg, int64_t neg_rows,
                  int64_t n, float *v, float *u)
{
    if (g == 1.0f) return sf_dit_forward(dit, x, thw, t, ctx, ctx_rows, v);
    const float *xs[2] = {x, x}, *cs[2] = {ctx, neg};
    const double ts[2] = {t, t};
    const int64_t rows[2] = {ctx_rows, neg_rows};
    float *outs[2] = {v, u};
    int st = sf_dit_forward_batch(dit, 2, xs, thw, ts, cs, rows, outs);
    if (st == SF_OK) sf_sampler_cfg(v, v, u, g, n);
    return st;
}

/* guided() as two batch-1 passes (win->split): on a pair of groups one branch each. */
static int guided_split(struct sf_dit *dit, float g, const float *x, const int64_t thw[3],
                        double t, const float *ctx, int64_t ctx_rows, const float *neg,
                        int64_t neg_rows, int64_t n, float *v, float *u,
                        const struct sf_denoise_windows *win)
{
    int st = SF_OK;
    if (g == 1.0f) return sf_dit_forward(dit, x, thw, t, ctx, ctx_rows, v);
    if (win->branch != 1) SF_TRY(st, sf_dit_forward(dit, x, thw, t, ctx, ctx_rows, v));
    if (win->branch != 0) SF_TRY(st, sf_dit_forward(dit, x, thw, t, neg, neg_rows, u));
    if (win->branch >= 0) SF_TRY(st, win->pair(win->blend_arg, u, n));
    if (win->branch != 1) sf_sampler_cfg(v, v, u, g, n);
out:
    return st;
}

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
        SF_TRY(st, guided(dit, g, sf_sampler_sample(s), thw, t, ctx, ctx_rows, neg, neg_rows, n,
                          cond, uncond));
        sf_sampler_step(s, cond);
        SF_DEBUG("denoise", "step %d/%d t=%g done", s->step, s->n_steps, t);
        if (on_step) SF_TRY(st, on_step(arg, s, t));
    }
out:
    free(cond);
    free(uncond);
    return st;
}

/* Copies frames [0, lead) and [lead + start, lead + start + len) of every channel of a
 * (channels, frames, plane) tensor into a (channels, lead + len, plane) one. */
static void gather(float *dst, const float *src, int64_t channels, int64_t frames, int64_t lead,
                   int64_t start, int64_t len, int64_t plane)
{
    for (int64_t c = 0; c < channels; c++) {
        const float *sc = src + c * frames * plane;
        float *dc = dst + c * (lead + len) * plane;
        memcpy(dc, sc, (size_t)(lead * plane) * sizeof *dc);
        memcpy(dc + lead * plane, sc + (lead + start) * plane, (size_t)(len * plane) * sizeof *dc);
    }
}

int sf_denoise_run_windows(struct sf_dit *dit, struct sf_sampler *s, const int64_t thw[3],
                           const struct sf_denoise_windows *win, const float *ctx,
                           int64_t ctx_rows, const float *neg, int64_t neg_rows, int stop,
                           sf_denoise_step_fn on_step, void *arg)
{
    if (win && win->vace && win->cut.n == 1) {
        int vs = sf_dit_set_vace(dit, win->vace, thw, win->vace_scale);
        if (vs != SF_OK) return vs;
    }
    if (!win || (win->cut.n == 1 && !win->split))
        return sf_denoise_run(dit, s, thw, ctx, ctx_rows, neg, neg_rows, stop, on_step, arg);
    int st = SF_OK;

    const struct sf_windows *w = &win->cut;
    const int64_t lead = win->n_lead, plane = thw[1] * thw[2], T = thw[0];
    const int64_t C = s->n / (T * plane);
    if (lead < 0 || lead + w->frames != T || C * T * plane != s->n) {
        SF_ERROR("denoise", "windows over %lld frames after %lld lead frames do not fit a "
                 "latent of %lld frames and %lld elements",
                 (long long)w->frames, (long long)lead, (long long)T, (long long)s->n);
        return SF_E_INVAL;
    }
    const int part = win->count > 0 && (!win->split || win->branch < 0);
    const int k0 = part ? win->first : 0, k1 = part ? k0 + win->count : w->n;
    if (k0 < 0 || k1 > w->n || k0 >= k1) {
        SF_ERROR("denoise", "windows %d .. %d of a cut of %d", k0, k1 - 1, w->n);
        return SF_E_INVAL;
    }
    /* the frames this member's windows write (window 0 writes the lead frames too) */
    const int64_t lo = k0 == 0 ? 0 : lead + sf_windows_start(w, k0); /* branches: 0 .. T */
    const int64_t hi = lead + sf_windows_start(w, k1 - 1) + w->len;
    const int64_t wthw[3] = {lead + w->len, thw[1], thw[2]}, wn = C * wthw[0] * plane;
    float *v = malloc((size_t)s->n * sizeof *v);
    float *xw = malloc((size_t)wn * sizeof *xw), *pw = malloc((size_t)wn * sizeof *pw);
    float *uw = malloc((size_t)wn * sizeof *uw), *vw = NULL;
    if (win->vace) vw = malloc((size_t)(win->vace_channels * wthw[0] * plane) * sizeof *vw);
    if (!v || !xw || !pw || !uw || (win->vace && !vw)) {
        st = SF_E_NOMEM;
        goto out;
    }
    const float g = (float)s->guidance;
    while (!sf_sampler_done(s) && (stop < 0 || s->step < stop)) {
        const double t = sf_sampler_timestep(s);
        const float *x = sf_sampler_sample(s);
        memset(v, 0, (size_t)s->n * sizeof *v);
        for (int k = k0; k < k1; k++) {
            const int64_t a = sf_windows_start(w, k);
            gather(xw, x, C, T, lead, a, w->len, plane);
            if (win->vace) {
                gather(vw, win->vace, win->vace_channels, T, lead, a, w->len, plane);
                SF_TRY(st, sf_dit_set_vace(dit, vw, wthw, win->vace_scale));
            }
            if (win->split) {
                SF_TRY(st, guided_split(dit, g, xw, wthw, t, ctx, ctx_rows, neg, neg_rows, wn, pw,
                                        uw, win));
                if (win->branch == 1 && g != 1.0f) continue; /* branch 0's prediction comes */
            } else {
                SF_TRY(st, guided(dit, g, xw, wthw, t, ctx, ctx_rows, neg, neg_rows, wn, pw, uw));
            }
            for (int64_t c = 0; c < C; c++) {
                float *vc = v + c * T * plane;
                const float *pc = pw + c * wthw[0] * plane;
                if (k == 0) memcpy(vc, pc, (size_t)(lead * plane) * sizeof *vc);
                for (int64_t i = 0; i < w->len; i++) {
                    const float wt = sf_windows_weight(w, k, i);
                    float *dst = vc + (lead + a + i) * plane;
                    const float *src = pc + (lead + i) * plane;
                    for (int64_t p = 0; p < plane; p++)
                        dst[p] += wt * src[p];
                }
            }
        }
        if (win->blend) SF_TRY(st, win->blend(win->blend_arg, v, lo, hi));
        sf_sampler_step(s, v);
        SF_DEBUG("denoise", "step %d/%d t=%g done (%d windows)", s->step, s->n_steps, t, w->n);
        if (on_step) SF_TRY(st, on_step(arg, s, t));
    }
out:
    if (win->vace) sf_dit_set_vace(dit, NULL, NULL, NULL); /* vw is freed next */
    free(v);
    free(xw);
    free(pw);
    free(uw);
    free(vw);
    return st;
}
