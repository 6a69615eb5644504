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

/* How the two guidance passes run (recorded in render manifests). */
#define SF_DENOISE_GUIDANCE_MODE "batched (cond and uncond as one batch of 2)"

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

#endif
