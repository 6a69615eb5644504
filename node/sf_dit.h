/* sf_dit.h — the Wan2.1 diffusion transformer (DiT): load a model directory, run forward passes.
 *
 *   struct sf_dit *m;
 *   struct sf_dit_opts o = {.max_latent = {21, 60, 104}, .max_batch = 2};  // 480x832, 81 frames
 *   SF_TRY(st, sf_dit_load("models/wan2.1-t2v-1.3b", &o, &m));
 *   // per sampler step, one pass per guidance branch, or both at once:
 *   SF_TRY(st, sf_dit_forward(m, x, thw, t, ctx, n_ctx_rows, out));
 *   // or, computing what depends only on the prompts once per shot:
 *   SF_TRY(st, sf_dit_context_create(m, ctx, n_ctx_rows, &cond));  // and &uncond
 *   SF_TRY(st, sf_dit_forward_cached(m, 2, (const float *[]){x, x}, thw, (double[]){t, t},
 *                                    (const struct sf_dit_context *[]){cond, uncond}, outs));
 *   ...
 *   sf_dit_destroy(m);
 *
 * Weights stay in the file's dtype (bf16, fp16 or fp32) in the mmapped safetensors file; only
 * vectors of size dim (norm weights, modulation tables) are widened to fp32 at load. Every
 * activation buffer is sized at load for (max_batch, max_tokens) and reused, so a forward pass
 * allocates nothing (the one exception: the 3D RoPE table is rebuilt when the latent grid
 * changes, which a denoising loop never does). Compute is fp32 and the residual stream stays
 * fp32 (as Wan's official code; diffusers rounds it to bf16 at each add for bf16 models). On a
 * GPU (sf_dit_opts.backend, docs/gpu.md) the weights and buffers live on the device; a bf16/fp16
 * model's GEMMs and attention then take bf16-rounded inputs (fp32 accumulation, fp32 residual
 * stream).
 *
 * The model directory may use the diffusers layout (WanTransformer3DModel names) or the official
 * Wan2.1 one (WanModel names); WAN-FACTS.md § 3-4 and docs/forward.md describe the computation.
 * A Wan2.1-VACE model (WanVACETransformer3DModel / VaceWanModel) loads the same way and takes its
 * conditioning through sf_dit_set_vace before the forward calls.
 */
#ifndef SF_DIT_H
#define SF_DIT_H

#include <stdint.h>

#include "sf_config.h"

struct sf_backend;
struct sf_comm;
struct sf_dit;
struct sf_dit_context;

/* The most samples one forward pass takes. */
#define SF_DIT_MAX_BATCH 8

struct sf_dit_opts {
    int64_t max_tokens;    /* largest video token count (F/pt)*(H/ph)*(W/pw) of one sample, or 0: */
    int64_t max_latent[3]; /* ... the largest latent (frames, height, width) instead */
    int max_batch; /* samples per call, 1..SF_DIT_MAX_BATCH (2: both CFG branches); 0 means 1 */
    /* Tensor parallel: the worker group this rank belongs to (borrowed; it must outlive the
     * model), or NULL for one process (sf_comm_self()). With comm->size = tp > 1 this rank loads
     * and computes its shard (n_heads/tp heads, ffn_dim/tp FFN columns; docs/forward.md), and
     * sf_dit_load, every forward call and sf_dit_context_create become collectives: all ranks
     * of the group make the same calls with the same arguments, and all get the same output. */
    struct sf_comm *comm;
    /* Where the weights and activations live and the ops run (kernels/sf_backend.h): NULL or
     * sf_backend_cpu() for the CPU; a device backend (sf_cuda_backend(), kernels/sf_cuda.h)
     * gets the weights copied to the device once at load, in their stored dtype, and every
     * activation buffer in device memory; inputs are copied in and the output out once per
     * forward pass. Borrowed: it must outlive the model. A device backend with tp > 1 is
     * refused (SF_E_UNSUPPORTED) until NCCL lands (issue 28). */
    const struct sf_backend *backend;
};

/* Opens the DiT of a model directory (either layout, any weight dtype), checks every tensor
 * against the config (one error line naming the file, tensor and what was expected; a tp that
 * does not divide the heads and FFN width gets one line listing the valid degrees), and sizes
 * the activation buffers for opts. Returns SF_OK and *out (owned by the caller, freed with
 * sf_dit_destroy), or SF_E_NOTFOUND / SF_E_FORMAT / SF_E_INVAL / SF_E_UNSUPPORTED / SF_E_IO /
 * SF_E_NOMEM with *out NULL. */
int sf_dit_load(const char *model_dir, const struct sf_dit_opts *opts, struct sf_dit **out);
/* Unmaps and frees everything; NULL does nothing. */
void sf_dit_destroy(struct sf_dit *m);

/* The loaded configuration (borrowed, valid until sf_dit_destroy). */
const struct sf_dit_config *sf_dit_get_config(const struct sf_dit *m);
/* Bytes of the weights this rank holds, as stored (what mmap brings in; at tp > 1 the replicated
 * tensors plus 1/tp of the sharded ones), and of the activation buffers. */
uint64_t sf_dit_weight_bytes(const struct sf_dit *m);
/* Of sf_dit_weight_bytes: *sharded the bytes of this rank's slices of sharded tensors (0 at
 * tp = 1), *copied those copied out of the mapping at load (the row-parallel slices, whose
 * columns are strided in the file). Either pointer may be NULL. */
void sf_dit_weight_split(const struct sf_dit *m, uint64_t *sharded, uint64_t *copied);
uint64_t sf_dit_buffer_bytes(const struct sf_dit *m);

/* One forward pass of one sample.
 *   x        (in_dim, F, H, W) fp32 latent; thw = {F, H, W}, each divisible by the patch size
 *   t        the timestep (0..1000 in Wan's schedule; any real value is accepted)
 *   context  (n_ctx_rows, text_dim) fp32 text embedding, 0 <= n_ctx_rows <= text_len (512);
 *            zero-padded to text_len rows inside, as Wan does (pad rows become bias-only)
 *   out      (out_dim, F, H, W) fp32, the model's velocity prediction; must not alias x
 * Returns SF_OK, or SF_E_INVAL (shape not divisible by the patch, more tokens than max_tokens,
 * too many context rows) with out untouched. Never allocates (see the header comment). */
int sf_dit_forward(struct sf_dit *m, const float *x, const int64_t thw[3], double t,
                   const float *context, int64_t n_ctx_rows, float *out);

/* n samples (1..max_batch) of the same latent shape in one pass: the linear layers run over all
 * samples' rows at once, attention and modulation per sample. x[i], context[i], out[i] as in
 * sf_dit_forward, with their own t[i] and n_ctx_rows[i]. Sample i's result does not depend on
 * the others'. */
int sf_dit_forward_batch(struct sf_dit *m, int n, const float *const *x, const int64_t thw[3],
                         const double *t, const float *const *context, const int64_t *n_ctx_rows,
                         float *const *out);

/* Precomputes what a forward pass needs from a context (its text embedding pushed through every
 * block's cross-attention key/value projections): the same at every denoising step, so a
 * sampler makes one per prompt and shot. Costs the text MLP plus 4·text_len·dim² FLOPs per block
 * once, and holds sf_dit_context_bytes (189 MB for 1.3B, 839 MB for 14B; 1/tp of it per rank;
 * VACE blocks count as blocks).
 * context and n_ctx_rows as in sf_dit_forward. Uses m's buffers: not concurrently with a forward
 * pass on m. Returns SF_OK and *out (the caller destroys it before m), SF_E_INVAL or SF_E_NOMEM. */
int sf_dit_context_create(struct sf_dit *m, const float *context, int64_t n_ctx_rows,
                          struct sf_dit_context **out);
/* NULL does nothing. */
void sf_dit_context_destroy(struct sf_dit_context *c);
uint64_t sf_dit_context_bytes(const struct sf_dit_config *cfg);

/* sf_dit_forward_batch with precomputed contexts (made by sf_dit_context_create on this m):
 * bit-identical to the uncached pass for one sample. */
int sf_dit_forward_cached(struct sf_dit *m, int n, const float *const *x, const int64_t thw[3],
                          const double *t, const struct sf_dit_context *const *ctx,
                          float *const *out);

/* Wan2.1-VACE: the conditioning every following forward pass on m uses (until set again, or
 * cleared with vace NULL), for every sample of a batch (the guidance branches share it, as
 * WanVACEPipeline does).
 *   vace   (vace_in_dim, thw[0], thw[1], thw[2]) fp32: [inactive 16 | reactive 16 | mask 64]
 *          latent channels over the latent's frames, reference frames first (sf_vace.h builds
 *          it); borrowed: it must stay valid while forward passes use it
 *   thw    the latent (frames, height, width) it is for; x must have the same
 *   scale  (n_vace) per-VACE-layer conditioning scale (diffusers conditioning_scale, official
 *          context_scale), copied; NULL means 1 for every layer
 * A model with VACE layers refuses forward passes until this is set; a model without VACE
 * layers refuses it. Returns SF_OK or SF_E_INVAL (one logged line naming the model's config). */
int sf_dit_set_vace(struct sf_dit *m, const float *vace, const int64_t thw[3], const float *scale);

/* Wall-clock split of forward passes (bench/dit_step): seconds spent in sf_linear, in
 * sf_attention and in whole passes (the rest = total - linear - attention: norms, modulation,
 * RoPE, residual adds, embeddings' glue). Adds to *t during every forward call on m until set
 * back to NULL; t is the caller's and must outlive that. Two clock reads per GEMM/attention
 * call, so it costs nothing measurable; NULL (the default) costs one branch. */
struct sf_dit_timing {
    double linear, attention, total;
};
void sf_dit_set_timing(struct sf_dit *m, struct sf_dit_timing *t);

/* FLOPs of a forward pass: sf_cost_dit_forward (node/sf_cost.h, docs/cost-model.md). */

#endif
