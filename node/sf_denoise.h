/* sf_denoise.h — the denoising loop with classifier-free guidance through the DiT: the one
 * implementation that `shotfarm forward denoise` and the render farm's denoise units share.
 *
 *   SF_TRY(st, sf_denoise_run(dit, sampler, thw, ctx, ctx_rows, neg, neg_rows, -1, cb, arg));
 *
 * Each step runs the conditional and unconditional passes as one batch of two
 * (sf_dit_forward_batch), combines them with uncond + g·(cond − uncond) and steps the sampler;
 * g = 1 runs the conditional pass alone, as diffusers does. The guidance mode is part of the
 * determinism domain (SF_DENOISE_GUIDANCE_MODE). Results are a pure function of the sampler state,
 * the weights and the contexts: the same bits on any rank, in any order, with any thread count
 * (the kernels are thread-count invariant).
 */
#ifndef SF_DENOISE_H
#define SF_DENOISE_H

#include <stdint.h>

#include "sf_dit.h"
#include "sf_sampler.h"
#include "sf_window.h"

/* How the two guidance passes run (recorded in render manifests). */
#define SF_DENOISE_GUIDANCE_MODE "batched (cond and uncond as one batch of 2)"
/* The other mode (render --cfg-parallel, docs/windows.md § Guidance branches in parallel): two
 * batch-1 passes, on one group or on a pair of groups, the same bits either way. */
#define SF_DENOISE_GUIDANCE_SPLIT "split (cond and uncond as two batch-1 passes)"

/* Called after every step (s->step is the number of steps done). A non-SF_OK return stops the
 * loop and is returned by sf_denoise_run. */
typedef int (*sf_denoise_step_fn)(void *arg, const struct sf_sampler *s, double t);

/* Runs steps until the sampler is done or `stop` steps are done (stop < 0: no limit).
 * x's shape is (in_dim, thw[0], thw[1], thw[2]) with s->n elements; ctx (ctx_rows, text_dim)
 * and neg (neg_rows, text_dim) as sf_dit_forward takes them (neg unused when s->guidance is 1).
 * Allocates two latents of scratch once, before the loop. Returns SF_OK, SF_E_NOMEM, the DiT's
 * status or the callback's. */
int sf_denoise_run(struct sf_dit *dit, struct sf_sampler *s, const int64_t thw[3], const float *ctx,
                   int64_t ctx_rows, const float *neg, int64_t neg_rows, int stop,
                   sf_denoise_step_fn on_step, void *arg);

/* A long latent denoised as overlapping temporal windows (sf_window.h, docs/windows.md). */
struct sf_denoise_windows {
    struct sf_windows cut; /* over the frames after the n_lead leading ones */
    int n_lead;            /* leading frames every window carries in front (VACE references):
                              never cut, never blended; their prediction is window 0's */
    const float *vace;     /* NULL, or the whole latent's VACE conditioning (vace_channels, thw):
                              each window gets the lead frames' and its own frames' slice */
    int64_t vace_channels;
    const float *vace_scale; /* as sf_dit_set_vace takes it (NULL: 1) */
    /* A gang member (several groups run one shot's windows): it computes windows first ..
     * first + count - 1 only (count 0: all), accumulates them as the one-group loop does into
     * a prediction that is zero elsewhere, and blend(blend_arg, v, lo, hi) must turn that into
     * the whole blended prediction on every member before the step: [lo, hi) are the latent
     * frames (lead frames counted) its windows wrote. NULL blend: no exchange. */
    int first, count;
    int (*blend)(void *blend_arg, float *v, int64_t lo, int64_t hi);
    void *blend_arg;
    /* split: the guidance passes as two batch-1 forwards (SF_DENOISE_GUIDANCE_SPLIT), also for
     * one window. branch -1: both passes here, for this member's windows (first/count, as
     * above: a windowed shot's gang shares its windows in either mode). On a pair of groups
     * (branch 0 or 1) every window runs here (first/count are ignored): 0 runs cond and gets
     * uncond through pair(blend_arg, u, n), 1 runs uncond and gives it away through pair; blend
     * then gives every member branch 0's prediction (lo, hi are the whole latent's). Unused
     * when the guidance is 1. */
    int split, branch;
    int (*pair)(void *blend_arg, float *u, int64_t n);
};

/* sf_denoise_run over windows: every step each window's guided prediction is computed on the
 * window's frames alone (the DiT sees local positions from 0, the lead frames first), the
 * predictions are blended with the cut's fixed weights into one prediction of the whole
 * latent, and ONE sampler step is taken on the whole latent (s is the whole shot's: UniPC's
 * history, checkpoints and resume are unchanged). This rank's windows (win->first/count) run
 * one after another, then win->blend completes the prediction from the other members; the
 * result depends only on the cut. win NULL or one window: exactly sf_denoise_run (with the
 * VACE conditioning set first when given). thw is the whole latent's (n_lead + cut.frames, H,
 * W). Allocates its window buffers once, before the loop. Returns SF_OK, SF_E_NOMEM, SF_E_INVAL
 * (a cut that does not match thw, logged), the DiT's or the callback's status. */
int sf_denoise_run_windows(struct sf_dit *dit, struct sf_sampler *s, const int64_t thw[3],
                           const struct sf_denoise_windows *win, const float *ctx,
                           int64_t ctx_rows, const float *neg, int64_t neg_rows, int stop,
                           sf_denoise_step_fn on_step, void *arg);

#endif
