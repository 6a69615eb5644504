/* dit.c — the Wan2.1 DiT forward pass (sf_dit.h): weights bound as views into the mmapped
 * safetensors file, activation buffers carved once from an arena, then patch embedding, time and
 * text embeddings, N modulated blocks, the head and unpatchify (WAN-FACTS.md § 3).
 * Called by the sampler (node/) per denoising step and by `shotfarm forward dit`.
 *
 * The subtle things: (1) the residual stream is fp32 throughout, as in Wan's official code
 * (diffusers rounds it to the model dtype at each add, which we do not copy); (2) the context is
 * zero-padded to text_len rows BEFORE the text MLP and all rows are attended unmasked, so pad rows
 * carry text_embedding(0) = a bias-only vector, not zeros; (3) the head is modulated by the time
 * embedding e itself (no SiLU, not the 6-vector projection); (4) Wan's norm3 (affine, before
 * cross-attention) is diffusers' norm2, while diffusers' norm3 is the FFN's plain LayerNorm.
 *
 * Tensor parallel (opts.comm of tp > 1 ranks, Megatron style): each rank holds n_heads/tp heads
 * (q/k/v column-parallel, Dl = D/tp features) and ffn_dim/tp FFN columns (FFN-up column-parallel);
 * attention-out and FFN-down are row-parallel, their partial sums all-reduced once each (the bias
 * added by rank 0 alone, before the sum). Wan's q/k RMSNorm spans all heads, so each rank's sum of
 * squares per token is all-reduced (fp64) before scaling its own features. Embeddings,
 * modulation, LayerNorms and the head are replicated: every rank ends with the same residual
 * stream and the same output. The all-reduce sums in a fixed order (sf_comm.h), so a tp run is
 * bit-identical when repeated; tp = 1 takes exactly the single-process path (no collective).
 *
 * Wan2.1-VACE (cfg.n_vace > 0; docs/forward.md § VACE): the conditioning (vace_in_dim, F, H, W),
 * set with sf_dit_set_vace, is patch-embedded, projected (VACE block 0's proj_in) and added to the
 * patch-embedded latent x0; that second residual stream `cs` runs through the VACE blocks (main
 * blocks in all but name, their own weights) and block j's proj_out is hint j, added times
 * scale[j] to the main stream right after main block vace_layers[j]. diffusers computes every
 * hint before the first main block; hint j depends only on x0, the text and the time, so running
 * VACE block j just before its hint is needed gives the same numbers with one (R, D) stream
 * instead of n_vace stored hints.
 *
 * Backends (sf_dit_opts.backend, kernels/sf_backend.h): every operation on activations, the
 * elementwise glue included, goes through the table m->be, and every buffer lives in its memory
 * (an arena carved once; on a device backend the weights are copied there once at load), so the
 * same code runs on the CPU and on a GPU (docs/gpu.md). The host touches only the inputs (copied
 * in) and the head's output (copied out) of a pass; with the CPU table those copies are memcpy
 * and the results are the bytes the inline host loops gave before the table had the glue ops. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "sf_dit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dit_load.h"
#include "sf_backend.h"
#include "sf_comm.h"
#include "sf_log.h"
#include "sf_ops.h"
#include "sf_status.h"

/* FFN rows per GEMM pair: bounds the (rows, ffn_dim) buffer while keeping the GEMMs large. */
#define FFN_CHUNK_ROWS 4096

struct sf_dit {
    struct sf_dit_config cfg;
    struct sf_dit_params w;
    struct sf_dit_opts opts;
    const struct sf_backend *be; /* where the weights and activations live and ops run */
    void *dev_weights;           /* device backend: every tensor and fp32 vector, as stored */
    int attn_bf16;               /* bf16/fp16 weights on a backend with attention_bf16 */
    struct sf_comm *comm;   /* the tensor-parallel group (sf_comm_self() for tp = 1) */
    int tp, heads;          /* group size; heads on this rank (n_heads / tp) */
    int64_t dl, fl;         /* this rank's attention features (dim / tp) and FFN columns */
    int64_t ffn_rows;       /* rows of the FFN buffer */
    struct sf_arena arena;  /* every activation buffer */
    struct sf_rope3d *rope; /* for grid rope_thw; rebuilt when the grid changes */
    int64_t rope_thw[3];
    /* activations; R = max_batch * max_tokens video rows, T = max_batch * text_len text rows */
    float *xs;     /* (R, D) residual stream */
    float *h;      /* (R, D) a sub-layer's normalised input, then the attention output */
    float *q;      /* (R, D) queries, then the sub-layer's output before the residual add;
                      also the patch embedding's (D, L) output */
    float *k, *v;  /* (max(R, T), D) keys, values; k also holds the text MLP's hidden layer */
    float *ffn;    /* (ffn_rows, F / tp) */
    float *cs;     /* (R, D) the VACE stream (n_vace > 0) */
    double *ss;    /* (R + max(R, T)) per-row sums of squares of the q/k RMSNorm (tp > 1) */
    float *ho;     /* (R, out_dim * patch volume) head output */
    float *ctx_in; /* (T, text_dim) zero-padded context */
    float *ctx;    /* (T, D) embedded context */
    float *sinus;  /* (B, freq_dim) */
    float *e;      /* (B, D) time embedding */
    float *et;     /* (B, D) scratch of the time MLP */
    float *e0;     /* (B, 6D) time projection */
    float *mod;    /* (B, 6D) a block's modulation: table + e0 */
    float *xin;    /* device backend: (max(in_dim, vace_in_dim), max voxels) input staging */
    float *ho_host;    /* device backend: (R, out_dim * patch volume) the head output on the host */
    float *sinus_host; /* (B, freq_dim) the sinusoids, computed on the host */
    struct sf_dit_timing *timing; /* NULL, or where lin()/att() add their wall time */
    const float *vace;            /* borrowed VACE input (vace_in_dim, vace_thw), or NULL */
    int64_t vace_thw[3];
    float vace_scale[SF_DIT_MAX_VACE];
};

/* A prompt's text embedding pushed through every block's cross-attention key/value projections:
 * all a forward pass needs from the context, and the same at every denoising step. */
struct sf_dit_context {
    const struct sf_dit *model;
    float *kv; /* (n_layers + n_vace, 2, text_len, D / tp): RMS-normed keys, then values, per
                  block (main blocks, then VACE blocks) */
};

static size_t arena_need(size_t n_floats)
{
    return (n_floats * 4 + 63) / 64 * 64;
}

static int alloc_buffers(struct sf_dit *m)
{
    const struct sf_dit_config *c = &m->cfg;
    size_t B = (size_t)m->opts.max_batch, D = (size_t)c->dim;
    size_t R = B * (size_t)m->opts.max_tokens, T = B * (size_t)c->text_len;
    size_t P = (size_t)c->patch[0] * c->patch[1] * c->patch[2];
    size_t KV = R > T ? R : T;
    int in_max = c->in_dim > c->vace_in_dim ? c->in_dim : c->vace_in_dim;
    m->ffn_rows = (int64_t)(R < FFN_CHUNK_ROWS ? R : FFN_CHUNK_ROWS);
    const struct {
        float **p;
        size_t n; /* floats */
    } bufs[] = {
        {&m->xs, R * D},
        {&m->h, R * D},
        {&m->q, R * D},
        {&m->k, KV * D},
        {&m->v, KV * D},
        {&m->ffn, (size_t)m->ffn_rows * (size_t)m->fl},
        {&m->ho, R * c->out_dim * P},
        {&m->ctx_in, T * c->text_dim},
        {&m->ctx, T * D},
        {&m->sinus, B * c->freq_dim},
        {&m->e, B * D},
        {&m->et, B * D},
        {&m->e0, B * 6 * D},
        {&m->mod, B * 6 * D},
        {&m->cs, c->n_vace ? R * D : 0},
        {&m->xin, m->be->host_memory ? 0 : (size_t)in_max * (R / B) * P},
    };
    const size_t n_bufs = sizeof bufs / sizeof bufs[0];
    size_t total = 0;
    for (size_t i = 0; i < n_bufs; i++)
        total += arena_need(bufs[i].n);
    size_t ss_doubles = m->tp > 1 ? R + KV : 0; /* self-attention: q and k rows; cross: q, text */
    total += arena_need(2 * ss_doubles);
    int st = sf_arena_init_on(&m->arena, total, m->be);
    if (st == SF_OK && !m->be->host_memory) {
        m->ho_host = malloc(R * c->out_dim * P * sizeof *m->ho_host);
        if (!m->ho_host) st = SF_E_NOMEM;
    }
    if (st == SF_OK) {
        m->sinus_host = malloc(B * c->freq_dim * sizeof *m->sinus_host);
        if (!m->sinus_host) st = SF_E_NOMEM;
    }
    if (st != SF_OK) {
        SF_ERROR("dit",
                 "cannot allocate %.1f MiB of activation buffers for %lld tokens x %d "
                 "samples: lower the latent size or the batch",
                 total / 1048576.0, (long long)m->opts.max_tokens, m->opts.max_batch);
        return st;
    }
    for (size_t i = 0; i < n_bufs; i++)
        *bufs[i].p = bufs[i].n ? sf_arena_alloc(&m->arena, bufs[i].n * 4) : NULL;
    if (ss_doubles) m->ss = sf_arena_alloc(&m->arena, ss_doubles * sizeof *m->ss);
    return SF_OK;
}

/* One tensor of upload_weights' walk: counted at *off (base NULL: sizing), or copied to
 * base + *off and re-pointed there. Absent tensors (no data) take nothing. */
static void place(struct sf_dit *m, struct sf_tensor *t, char *base, size_t *off)
{
    if (!t->data) return;
    size_t bytes = sf_tensor_bytes(t);
    if (base) {
        m->be->upload(base + *off, t->data, bytes);
        t->data = base + *off;
    }
    *off += (bytes + 255) & ~(size_t)255;
}

static void place_linear(struct sf_dit *m, struct sf_dit_linear *l, char *base, size_t *off)
{
    place(m, &l->w, base, off);
    place(m, &l->b, base, off);
}

/* Every weight tensor of p, in one fixed order (sizing and copying walk the same way). */
static size_t place_all(struct sf_dit *m, char *base)
{
    struct sf_dit_params *p = &m->w;
    const struct sf_dit_config *c = &m->cfg;
    size_t off = 0;
    place(m, &p->patch_w, base, &off);
    place(m, &p->patch_b, base, &off);
    struct sf_dit_linear *top[] = {&p->text1, &p->text2, &p->time1, &p->time2, &p->time_proj,
                                   &p->head};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        place_linear(m, top[i], base, &off);
    for (int l = 0; l < c->n_layers + c->n_vace; l++) {
        struct sf_dit_block *b = &p->blocks[l];
        struct sf_dit_linear *bl[] = {&b->self.q,  &b->self.k,  &b->self.v, &b->self.o,
                                      &b->cross.q, &b->cross.k, &b->cross.v, &b->cross.o,
                                      &b->ffn1,    &b->ffn2};
        for (size_t i = 0; i < sizeof bl / sizeof bl[0]; i++)
            place_linear(m, bl[i], base, &off);
    }
    if (c->n_vace) {
        place(m, &p->vace_patch_w, base, &off);
        place(m, &p->vace_patch_b, base, &off);
        place_linear(m, &p->vace_in, base, &off);
        for (int j = 0; j < c->n_vace; j++)
            place_linear(m, &p->vace_out[j], base, &off);
    }
    return off;
}

/* A device backend: every weight tensor and the fp32 vectors copied once into one device
 * allocation, in their stored dtype, and the bound views re-pointed there (the mapping stays
 * open only for sf_dit_params_close). The host backend keeps the views into the mapping. */
static int upload_weights(struct sf_dit *m)
{
    struct sf_dit_params *p = &m->w;
    const struct sf_dit_config *c = &m->cfg;
    int nb = c->n_layers + c->n_vace;
    size_t vec_bytes = p->n_vecs * sizeof *p->vecs;
    size_t tensors = place_all(m, NULL), total = tensors + vec_bytes;
    int st = m->be->alloc(&m->dev_weights, total);
    if (st != SF_OK) {
        SF_ERROR("dit", "cannot hold %.1f MiB of weights on the %s device: use a smaller model "
                 "or --device cpu", total / 1048576.0, m->be->name);
        return st;
    }
    char *base = m->dev_weights;
    place_all(m, base);
    /* the fp32 vectors: one block, every pointer into p->vecs re-based */
    float *dv = (float *)(base + tensors);
    m->be->upload(dv, p->vecs, vec_bytes);
#define REBASE(ptr) ((ptr) = dv + ((ptr) - p->vecs))
    for (int l = 0; l < nb; l++) {
        struct sf_dit_block *b = &p->blocks[l];
        REBASE(b->modulation);
        REBASE(b->self.norm_q);
        REBASE(b->self.norm_k);
        REBASE(b->cross.norm_q);
        REBASE(b->cross.norm_k);
        REBASE(b->norm3_w);
        REBASE(b->norm3_b);
    }
    REBASE(p->head_modulation);
#undef REBASE
    return m->be->status ? m->be->status() : SF_OK;
}

int sf_dit_load(const char *model_dir, const struct sf_dit_opts *opts, struct sf_dit **out)
{
    *out = NULL;
    const int64_t *ml = opts->max_latent;
    if (opts->max_batch < 0 || opts->max_batch > SF_DIT_MAX_BATCH || opts->max_tokens < 0 ||
        (!opts->max_tokens && (ml[0] <= 0 || ml[1] <= 0 || ml[2] <= 0))) {
        SF_ERROR("dit", "%s: give a positive max_tokens or max_latent, and max_batch 0..%d",
                 model_dir, SF_DIT_MAX_BATCH);
        return SF_E_INVAL;
    }
    struct sf_dit *m = calloc(1, sizeof *m);
    if (!m) return SF_E_NOMEM;
    int st;
    m->opts = *opts;
    if (m->opts.max_batch == 0) m->opts.max_batch = 1;
    m->comm = opts->comm ? opts->comm : sf_comm_self();
    m->tp = m->comm->size;
    m->be = opts->backend ? opts->backend : sf_backend_cpu();
    if (m->tp > 1 && !m->be->host_memory) {
        SF_ERROR("dit", "%s: tensor parallel (tp %d) runs on the CPU only so far (NCCL is issue "
                 "28): use --device cpu or tp 1", model_dir, m->tp);
        st = SF_E_UNSUPPORTED;
        goto out;
    }
    SF_TRY(st, sf_dit_params_open(model_dir, m->tp, m->comm->rank, &m->w));
    m->cfg = m->w.files.cfg;
    m->heads = m->cfg.n_heads / m->tp;
    m->dl = m->cfg.dim / m->tp;
    m->fl = m->cfg.ffn_dim / m->tp;
    if (!m->opts.max_tokens) {
        const int *p = m->cfg.patch;
        m->opts.max_tokens =
            (ml[0] + p[0] - 1) / p[0] * ((ml[1] + p[1] - 1) / p[1]) * ((ml[2] + p[2] - 1) / p[2]);
    }
    SF_TRY(st, alloc_buffers(m));
    if (!m->be->host_memory) SF_TRY(st, upload_weights(m));
    m->attn_bf16 = m->be->attention_bf16 && m->w.blocks[0].self.q.w.dtype != SF_DTYPE_F32;
    *out = m;
    return SF_OK;
out:
    sf_dit_destroy(m);
    return st;
}

void sf_dit_destroy(struct sf_dit *m)
{
    if (!m) return;
    sf_rope3d_destroy(m->rope);
    sf_arena_fini(&m->arena);
    if (m->dev_weights) m->be->free(m->dev_weights);
    free(m->ho_host);
    free(m->sinus_host);
    sf_dit_params_close(&m->w);
    free(m);
}

const struct sf_dit_config *sf_dit_get_config(const struct sf_dit *m)
{
    return &m->cfg;
}

uint64_t sf_dit_weight_bytes(const struct sf_dit *m)
{
    return m->w.bytes;
}

void sf_dit_weight_split(const struct sf_dit *m, uint64_t *sharded, uint64_t *copied)
{
    if (sharded) *sharded = m->w.sharded_bytes;
    if (copied) *copied = m->w.copied_bytes;
}

uint64_t sf_dit_buffer_bytes(const struct sf_dit *m)
{
    return m->arena.size;
}

void sf_dit_set_timing(struct sf_dit *m, struct sf_dit_timing *t)
{
    m->timing = t;
}

/* ---- the pieces of a forward pass ------------------------------------------------------- */

/* The wall clock for m->timing; on an asynchronous (device) backend it first waits for the
 * queued work, so the split is real at the cost of a sync per timed call (timing is for the
 * benchmark only). */
static double clock_now(struct sf_dit *m)
{
    if (m->be->sync) m->be->sync();
    return sf_time_now();
}

/* The backend's linear / attention, adding their wall time to m->timing when it is set (two
 * clock reads per call, a few hundred calls per pass: free on the CPU). */
static void lin(struct sf_dit *m, const float *x, int64_t n, int64_t k, const struct sf_tensor *w,
                const struct sf_tensor *bias, float *y)
{
    double t0 = m->timing ? clock_now(m) : 0.0;
    m->be->linear(x, n, k, w, bias, y);
    if (m->timing) m->timing->linear += clock_now(m) - t0;
}

static void att(struct sf_dit *m, const float *q, const float *k, const float *v, float *out,
                int64_t Lq, int64_t Lk)
{
    const struct sf_dit_config *c = &m->cfg;
    int64_t Dl = m->dl; /* this rank's heads: D / tp features per row */
    int hd = c->dim / c->n_heads;
    double t0 = m->timing ? clock_now(m) : 0.0;
    (m->attn_bf16 ? m->be->attention_bf16 : m->be->attention)(
        q, Dl, k, Dl, v, Dl, out, Dl, Lq, Lk, m->heads, hd, Lk, 1.0f / sqrtf((float)hd));
    if (m->timing) m->timing->attention += clock_now(m) - t0;
}

/* RMSNorm over all D features of rows whose features are split over the group: x holds this
 * rank's (rows, D/tp) block and w its D/tp weights. Each rank's per-row sum of squares is summed
 * over the group first (fp64, like the kernel's accumulation). a and b (b may be NULL) are
 * normalised with one all-reduce. tp = 1 is sf_rmsnorm over the full rows. */
static int rmsnorm_heads(struct sf_dit *m, float *a, const float *wa, int64_t ra, float *b,
                         const float *wb, int64_t rb)
{
    int64_t D = m->cfg.dim, dl = m->dl;
    const struct sf_backend *be = m->be;
    if (m->tp == 1) {
        be->rmsnorm(a, wa, a, ra, D, m->cfg.eps);
        if (b) be->rmsnorm(b, wb, b, rb, D, m->cfg.eps);
        return SF_OK;
    }
    if (!b) rb = 0;
    be->sumsq_rows(a, ra, dl, m->ss);
    if (b) be->sumsq_rows(b, rb, dl, m->ss + ra);
    int st = sf_comm_allreduce_sum_f64(m->comm, m->ss, (size_t)(ra + rb));
    if (st != SF_OK) return st;
    be->rms_scale(a, m->ss, wa, ra, dl, D, m->cfg.eps);
    if (b) be->rms_scale(b, m->ss + ra, wb, rb, dl, D, m->cfg.eps);
    return SF_OK;
}

/* A row-parallel Linear: y (n, D) = x (n, k) · Wᵀ over this rank's k input features, summed
 * over the group; rank 0 adds the bias before the sum. tp = 1 is sf_linear. With sum = 0 the
 * caller all-reduces y later (the FFN's row chunks share one all-reduce). */
static int linear_row_parallel(struct sf_dit *m, const float *x, int64_t n, int64_t k,
                               const struct sf_dit_linear *l, float *y, int sum)
{
    lin(m, x, n, k, &l->w, m->comm->rank == 0 ? &l->b : NULL, y);
    if (m->tp == 1 || !sum) return SF_OK;
    return sf_comm_allreduce_sum_f32(m->comm, y, (size_t)(n * m->cfg.dim));
}

/* Patch embedding of one sample of in_dim channels (the latent, or the VACE input with its own
 * weights), x on the host: Conv3d with kernel = stride = patch, then (D, L) -> (L, D) rows in
 * (f, h, w) order. A device backend first copies x into its staging buffer. */
static void patch_embed(struct sf_dit *m, const struct sf_tensor *w, const struct sf_tensor *b,
                        int in_dim, const float *x, const int64_t thw[3], float *rows, int64_t L)
{
    const struct sf_dit_config *c = &m->cfg;
    const int stride[3] = {c->patch[0], c->patch[1], c->patch[2]};
    const int pad[6] = {0, 0, 0, 0, 0, 0};
    float *dl = m->q; /* (D, L) scratch */
    if (!m->be->host_memory) {
        m->be->upload(m->xin, x, (size_t)(in_dim * thw[0] * thw[1] * thw[2]) * sizeof *x);
        x = m->xin;
    }
    m->be->conv3d(x, in_dim, thw, w, b, stride, pad, dl);
    m->be->transpose(dl, c->dim, L, rows);
}

/* e = time_embedding(sinusoid(t)), e0 = time_projection(e) for n samples, all fp32. */
static void time_embed(struct sf_dit *m, int n, const double *t)
{
    const struct sf_dit_config *c = &m->cfg;
    int64_t D = c->dim;
    for (int i = 0; i < n; i++)
        sf_timestep_embedding(t[i], c->freq_dim, m->sinus_host + (int64_t)i * c->freq_dim);
    m->be->upload(m->sinus, m->sinus_host, (size_t)n * c->freq_dim * sizeof *m->sinus);
    lin(m, m->sinus, n, c->freq_dim, &m->w.time1.w, &m->w.time1.b, m->et);
    m->be->silu(m->et, n * D);
    lin(m, m->et, n, D, &m->w.time2.w, &m->w.time2.b, m->e);
    m->be->copy(m->et, m->e, (size_t)(n * D) * sizeof *m->et);
    m->be->silu(m->et, n * D);
    lin(m, m->et, n, D, &m->w.time_proj.w, &m->w.time_proj.b, m->e0);
}

/* ctx = text_embedding(context zero-padded to text_len rows) for n samples. */
static void text_embed(struct sf_dit *m, int n, const float *const *context, const int64_t *rows)
{
    const struct sf_dit_config *c = &m->cfg;
    int64_t Lt = c->text_len, Td = c->text_dim;
    for (int i = 0; i < n; i++) {
        float *dst = m->ctx_in + (int64_t)i * Lt * Td;
        if (rows[i]) m->be->upload(dst, context[i], (size_t)(rows[i] * Td) * sizeof *dst);
        m->be->zero(dst + rows[i] * Td, (size_t)((Lt - rows[i]) * Td) * sizeof *dst);
    }
    float *hid = m->k; /* (n*Lt, D) scratch */
    lin(m, m->ctx_in, n * Lt, Td, &m->w.text1.w, &m->w.text1.b, hid);
    m->be->gelu_tanh(hid, n * Lt * c->dim);
    lin(m, hid, n * Lt, c->dim, &m->w.text2.w, &m->w.text2.b, m->ctx);
}

/* h = LayerNorm (no affine) of all n*L rows of xs, then per sample h*(1+scale)+shift, where
 * sample i's shift and scale vectors start at mods + i*stride + shift_at / scale_at. */
static void norm_modulate(struct sf_dit *m, int n, int64_t L, const float *mods, int64_t stride,
                          int64_t shift_at, int64_t scale_at)
{
    int64_t D = m->cfg.dim;
    if (m->be->layernorm_modulate) { /* fused (a device backend) */
        m->be->layernorm_modulate(m->xs, m->h, n * L, D, m->cfg.eps, mods + shift_at,
                                  mods + scale_at, L, stride);
        return;
    }
    m->be->layernorm(m->xs, NULL, NULL, m->h, n * L, D, m->cfg.eps);
    for (int i = 0; i < n; i++) {
        float *hi = m->h + (int64_t)i * L * D;
        const float *mi = mods + i * stride;
        m->be->modulate(hi, mi + shift_at, mi + scale_at, hi, L, D);
    }
}

/* q, k, v of this rank's heads (R, Dl), attention into m->h (R, Dl), then the row-parallel
 * output projection into m->q (R, D). */
static int self_attention(struct sf_dit *m, const struct sf_dit_block *b, int n, int64_t L)
{
    const struct sf_dit_config *c = &m->cfg;
    int64_t D = c->dim, R = n * L, Dl = m->dl;
    int H = m->heads;
    lin(m, m->h, R, D, &b->self.q.w, &b->self.q.b, m->q);
    lin(m, m->h, R, D, &b->self.k.w, &b->self.k.b, m->k);
    lin(m, m->h, R, D, &b->self.v.w, &b->self.v.b, m->v);
    int st = rmsnorm_heads(m, m->q, b->self.norm_q, R, m->k, b->self.norm_k, R);
    if (st != SF_OK) return st;
    for (int i = 0; i < n; i++) {
        int64_t o = (int64_t)i * L * Dl;
        m->be->rope3d_apply(m->rope, m->q + o, L, H);
        m->be->rope3d_apply(m->rope, m->k + o, L, H);
        att(m, m->q + o, m->k + o, m->v + o, m->h + o, L, L);
    }
    return linear_row_parallel(m, m->h, R, Dl, &b->self.o, m->q, 1);
}

/* Keys (RMS-normed) and values of the text for block `layer`, all n samples: computed from
 * m->ctx into m->k / m->v, or taken from each sample's precomputed context. */
/* Keys (RMS-normed) and values of this rank's heads of the text for block `layer`, all n samples:
 * computed from m->ctx into m->k / m->v (the key norm's all-reduce joined with the query's: q
 * and its rows rq are passed through), or taken from each sample's precomputed context. */
static int text_kv(struct sf_dit *m, const struct sf_dit_block *b, int layer, int n,
                   const struct sf_dit_context *const *cc, float *q, int64_t rq, const float **kp,
                   const float **vp)
{
    int64_t Dl = m->dl, D = m->cfg.dim, Lt = m->cfg.text_len;
    if (cc) {
        for (int i = 0; i < n; i++) {
            kp[i] = cc[i]->kv + (int64_t)layer * 2 * Lt * Dl;
            vp[i] = kp[i] + Lt * Dl;
        }
        return rmsnorm_heads(m, q, b->cross.norm_q, rq, NULL, NULL, 0);
    }
    lin(m, m->ctx, n * Lt, D, &b->cross.k.w, &b->cross.k.b, m->k);
    int st = rmsnorm_heads(m, q, b->cross.norm_q, rq, m->k, b->cross.norm_k, n * Lt);
    lin(m, m->ctx, n * Lt, D, &b->cross.v.w, &b->cross.v.b, m->v);
    for (int i = 0; i < n; i++) {
        kp[i] = m->k + (int64_t)i * Lt * Dl;
        vp[i] = m->v + (int64_t)i * Lt * Dl;
    }
    return st;
}

static int cross_attention(struct sf_dit *m, const struct sf_dit_block *b, int layer, int n,
                           int64_t L, const struct sf_dit_context *const *cc)
{
    const struct sf_dit_config *c = &m->cfg;
    int64_t D = c->dim, R = n * L, Lt = c->text_len, Dl = m->dl;
    const float *kp[SF_DIT_MAX_BATCH], *vp[SF_DIT_MAX_BATCH];
    m->be->layernorm(m->xs, b->norm3_w, b->norm3_b, m->h, R, D, c->eps);
    lin(m, m->h, R, D, &b->cross.q.w, &b->cross.q.b, m->q);
    int st = text_kv(m, b, layer, n, cc, m->q, R, kp, vp);
    if (st != SF_OK) return st;
    for (int i = 0; i < n; i++) {
        int64_t o = (int64_t)i * L * Dl;
        att(m, m->q + o, kp[i], vp[i], m->h + o, L, Lt);
    }
    return linear_row_parallel(m, m->h, R, Dl, &b->cross.o, m->q, 1);
}

/* FFN-up on this rank's columns, GELU, FFN-down partial sums into m->q, in row chunks; one
 * all-reduce of the whole (R, D) at the end. */
static int ffn(struct sf_dit *m, const struct sf_dit_block *b, int64_t R)
{
    int64_t D = m->cfg.dim, F = m->fl;
    for (int64_t r0 = 0; r0 < R; r0 += m->ffn_rows) {
        int64_t rows = R - r0 < m->ffn_rows ? R - r0 : m->ffn_rows;
        lin(m, m->h + r0 * D, rows, D, &b->ffn1.w, &b->ffn1.b, m->ffn);
        m->be->gelu_tanh(m->ffn, rows * F);
        linear_row_parallel(m, m->ffn, rows, F, &b->ffn2, m->q + r0 * D, 0);
    }
    if (m->tp == 1) return SF_OK;
    return sf_comm_allreduce_sum_f32(m->comm, m->q, (size_t)(R * D));
}

static int block_forward(struct sf_dit *m, int layer, int n, int64_t L,
                         const struct sf_dit_context *const *cc)
{
    const struct sf_dit_block *b = &m->w.blocks[layer];
    const struct sf_backend *be = m->be;
    int64_t D = m->cfg.dim;
    int st;
    /* mod[i] = (shift_msa, scale_msa, gate_msa, shift_ffn, scale_ffn, gate_ffn) of sample i */
    be->add_bcast(m->mod, 6 * D, m->e0, 6 * D, b->modulation, n, 6 * D);

    /* the fp32 residual stream: x += attention * gate_msa, + cross-attention, + FFN * gate_ffn */
    norm_modulate(m, n, L, m->mod, 6 * D, 0 * D, 1 * D);
    if ((st = self_attention(m, b, n, L)) != SF_OK) return st;
    be->add_gated(m->xs, m->q, m->mod + 2 * D, 6 * D, L, n * L, D);

    if ((st = cross_attention(m, b, layer, n, L, cc)) != SF_OK) return st;
    be->add_gated(m->xs, m->q, NULL, 0, L, n * L, D);

    norm_modulate(m, n, L, m->mod, 6 * D, 3 * D, 4 * D);
    if ((st = ffn(m, b, n * L)) != SF_OK) return st;
    be->add_gated(m->xs, m->q, m->mod + 5 * D, 6 * D, L, n * L, D);
    return SF_OK;
}

/* The VACE stream of n samples before VACE block 0: cs_i = proj_in(vace_patch_embedding(vace))
 * + x0_i, x0_i being sample i's patch-embedded latent (m->xs before any block). The VACE input
 * is the same for every sample (the guidance branches share it, as WanVACEPipeline passes the
 * same control_hidden_states to both). */
static void vace_start(struct sf_dit *m, int n, int64_t L, const int64_t thw[3])
{
    const struct sf_dit_config *c = &m->cfg;
    int64_t D = c->dim;
    patch_embed(m, &m->w.vace_patch_w, &m->w.vace_patch_b, c->vace_in_dim, m->vace, thw, m->h, L);
    lin(m, m->h, L, D, &m->w.vace_in.w, &m->w.vace_in.b, m->cs);
    for (int i = 1; i < n; i++)
        m->be->copy(m->cs + i * L * D, m->cs, (size_t)(L * D) * sizeof *m->cs);
    m->be->add_gated(m->cs, m->xs, NULL, 0, L, n * L, D);
}

/* VACE block j on the VACE stream (the block code runs on m->xs, so the streams swap for it),
 * then hint j = proj_out(cs) into m->h and x += hint * scale[j]. */
static int vace_block(struct sf_dit *m, int j, int n, int64_t L,
                      const struct sf_dit_context *const *cc)
{
    int64_t D = m->cfg.dim;
    float *main_stream = m->xs;
    m->xs = m->cs;
    int st = block_forward(m, m->cfg.n_layers + j, n, L, cc);
    m->xs = main_stream;
    if (st != SF_OK) return st;
    lin(m, m->cs, n * L, D, &m->w.vace_out[j].w, &m->w.vace_out[j].b, m->h);
    m->be->axpy(m->xs, m->vace_scale[j], m->h, n * L * D);
    return SF_OK;
}

/* Head: LayerNorm, modulation by (head table + e), Linear(D, out_dim * patch volume). */
static void head(struct sf_dit *m, int n, int64_t L)
{
    int64_t D = m->cfg.dim;
    float *hm = m->mod; /* (n, 2D): shift, scale; each half is its table row + e */
    for (int half = 0; half < 2; half++)
        m->be->add_bcast(hm + half * D, 2 * D, m->e, D, m->w.head_modulation + half * D, n, D);
    norm_modulate(m, n, L, hm, 2 * D, 0, D);
    lin(m, m->h, n * L, D, &m->w.head.w, &m->w.head.b, m->ho);
}

/* Token (f, h, w) row of (pt, ph, pw, C) values, C innermost -> out (C, F, H, W). */
static void unpatchify(const struct sf_dit_config *c, const float *rows, const int64_t thw[3],
                       float *out)
{
    int pt = c->patch[0], ph = c->patch[1], pw = c->patch[2], C = c->out_dim;
    int64_t T = thw[0], H = thw[1], W = thw[2];
    int64_t gf = T / pt, gh = H / ph, gw = W / pw;
    for (int64_t f = 0; f < gf; f++)
        for (int64_t hh = 0; hh < gh; hh++)
            for (int64_t ww = 0; ww < gw; ww++) {
                const float *r = rows + ((f * gh + hh) * gw + ww) * (int64_t)pt * ph * pw * C;
                for (int p = 0; p < pt; p++)
                    for (int q = 0; q < ph; q++)
                        for (int s = 0; s < pw; s++)
                            for (int ch = 0; ch < C; ch++)
                                out[((ch * T + f * pt + p) * H + hh * ph + q) * W + ww * pw + s] =
                                    *r++;
            }
}

static int check_rows(const struct sf_dit_config *c, int64_t rows)
{
    if (rows >= 0 && rows <= c->text_len) return SF_OK;
    SF_ERROR("dit", "context of %lld rows; 0 to %d (text_len) are allowed", (long long)rows,
             c->text_len);
    return SF_E_INVAL;
}

/* Checks a call's batch and latent shape, sets *L (tokens per sample) and makes the RoPE table
 * match the grid (the only allocation a forward pass may make, when the grid changes). */
static int prepare(struct sf_dit *m, int n, const int64_t thw[3], int64_t *L)
{
    const struct sf_dit_config *c = &m->cfg;
    if (n < 1 || n > m->opts.max_batch) {
        SF_ERROR("dit", "batch of %d samples; this model was loaded for 1..%d", n,
                 m->opts.max_batch);
        return SF_E_INVAL;
    }
    for (int d = 0; d < 3; d++)
        if (thw[d] <= 0 || thw[d] % c->patch[d]) {
            SF_ERROR("dit",
                     "latent (frames, height, width) = (%lld, %lld, %lld) must be positive "
                     "multiples of the patch size (%d, %d, %d)",
                     (long long)thw[0], (long long)thw[1], (long long)thw[2], c->patch[0],
                     c->patch[1], c->patch[2]);
            return SF_E_INVAL;
        }
    if (c->n_vace && !m->vace) {
        SF_ERROR("dit",
                 "%s: this is a Wan2.1-VACE DiT (vace_layers in its config) and needs a VACE "
                 "input: give `forward dit`/`forward denoise` a `vace` tensor, or `video`, "
                 "`mask`, `ref0`... tensors or --ref images (sf_dit_set_vace)",
                 m->w.files.config_source);
        return SF_E_INVAL;
    }
    if (c->n_vace && memcmp(thw, m->vace_thw, sizeof m->vace_thw)) {
        SF_ERROR("dit",
                 "the VACE input covers a latent of (%lld, %lld, %lld) but x is (%lld, %lld, "
                 "%lld): build the conditioning for the latent being denoised (reference frames "
                 "included)",
                 (long long)m->vace_thw[0], (long long)m->vace_thw[1], (long long)m->vace_thw[2],
                 (long long)thw[0], (long long)thw[1], (long long)thw[2]);
        return SF_E_INVAL;
    }
    int64_t grid[3] = {thw[0] / c->patch[0], thw[1] / c->patch[1], thw[2] / c->patch[2]};
    *L = grid[0] * grid[1] * grid[2];
    if (*L > m->opts.max_tokens) {
        SF_ERROR("dit",
                 "latent (%lld, %lld, %lld) has %lld tokens; this model was loaded for at "
                 "most %lld",
                 (long long)thw[0], (long long)thw[1], (long long)thw[2], (long long)*L,
                 (long long)m->opts.max_tokens);
        return SF_E_INVAL;
    }
    if (!m->rope || memcmp(grid, m->rope_thw, sizeof grid)) {
        sf_rope3d_destroy(m->rope);
        m->rope = sf_rope3d_create(c->dim / c->n_heads, (int)grid[0], (int)grid[1], (int)grid[2]);
        if (!m->rope) return SF_E_NOMEM;
        memcpy(m->rope_thw, grid, sizeof grid);
    }
    return SF_OK;
}

/* Everything after the text embedding (in m->ctx, or precomputed in cc). Fails only when a
 * collective does (tp > 1), leaving out unwritten. */
static int run(struct sf_dit *m, int n, int64_t L, const float *const *x, const int64_t thw[3],
               const double *t, const struct sf_dit_context *const *cc, float *const *out)
{
    const struct sf_dit_config *c = &m->cfg;
    int64_t D = c->dim, P = (int64_t)c->patch[0] * c->patch[1] * c->patch[2];
    for (int i = 0; i < n; i++)
        patch_embed(m, &m->w.patch_w, &m->w.patch_b, c->in_dim, x[i], thw, m->xs + i * L * D, L);
    time_embed(m, n, t);
    if (c->n_vace) vace_start(m, n, L, thw);
    for (int l = 0, j = 0; l < c->n_layers; l++) {
        int st = block_forward(m, l, n, L, cc);
        if (st == SF_OK && j < c->n_vace && c->vace_layers[j] == l) st = vace_block(m, j++, n, L, cc);
        if (st != SF_OK) return st;
    }
    head(m, n, L);
    const float *ho = m->ho;
    if (!m->be->host_memory) {
        m->be->download(m->ho_host, m->ho, (size_t)(n * L * P * c->out_dim) * sizeof *ho);
        ho = m->ho_host;
    }
    int st = m->be->status ? m->be->status() : SF_OK;
    if (st != SF_OK) return st;
    for (int i = 0; i < n; i++)
        unpatchify(c, ho + i * L * P * c->out_dim, thw, out[i]);
    return SF_OK;
}

int sf_dit_forward_batch(struct sf_dit *m, int n, const float *const *x, const int64_t thw[3],
                         const double *t, const float *const *context, const int64_t *n_ctx_rows,
                         float *const *out)
{
    int64_t L;
    int st = prepare(m, n, thw, &L);
    for (int i = 0; st == SF_OK && i < n; i++)
        st = check_rows(&m->cfg, n_ctx_rows[i]);
    if (st != SF_OK) return st;
    double t0 = m->timing ? clock_now(m) : 0.0;
    text_embed(m, n, context, n_ctx_rows);
    st = run(m, n, L, x, thw, t, NULL, out);
    if (m->timing) m->timing->total += clock_now(m) - t0;
    return st;
}

int sf_dit_forward(struct sf_dit *m, const float *x, const int64_t thw[3], double t,
                   const float *context, int64_t n_ctx_rows, float *out)
{
    return sf_dit_forward_batch(m, 1, &x, thw, &t, &context, &n_ctx_rows, &out);
}

uint64_t sf_dit_context_bytes(const struct sf_dit_config *c)
{
    return (uint64_t)(c->n_layers + c->n_vace) * 2 * c->text_len * c->dim * sizeof(float);
}

int sf_dit_set_vace(struct sf_dit *m, const float *vace, const int64_t thw[3], const float *scale)
{
    const struct sf_dit_config *c = &m->cfg;
    if (!vace) {
        m->vace = NULL;
        return SF_OK;
    }
    if (!c->n_vace) {
        SF_ERROR("dit",
                 "%s: this DiT has no VACE layers (no vace_layers in its config), so it cannot "
                 "take a VACE input (references, video, mask): use a Wan2.1-VACE model (e.g. "
                 "`shotfarm mkmodel --config tiny-vace`)",
                 m->w.files.config_source);
        return SF_E_INVAL;
    }
    for (int d = 0; d < 3; d++)
        if (thw[d] <= 0) {
            SF_ERROR("dit", "VACE input of latent shape (%lld, %lld, %lld): sizes must be positive",
                     (long long)thw[0], (long long)thw[1], (long long)thw[2]);
            return SF_E_INVAL;
        }
    m->vace = vace;
    memcpy(m->vace_thw, thw, sizeof m->vace_thw);
    for (int j = 0; j < c->n_vace; j++)
        m->vace_scale[j] = scale ? scale[j] : 1.0f;
    return SF_OK;
}

int sf_dit_context_create(struct sf_dit *m, const float *context, int64_t n_ctx_rows,
                          struct sf_dit_context **out)
{
    const struct sf_dit_config *c = &m->cfg;
    int64_t D = c->dim, Lt = c->text_len, Dl = m->dl;
    size_t bytes = sf_dit_context_bytes(c) / (size_t)m->tp;
    *out = NULL;
    int st = check_rows(c, n_ctx_rows);
    if (st != SF_OK) return st;
    struct sf_dit_context *cc = calloc(1, sizeof *cc);
    if (cc) {
        cc->model = m;
        if (m->be->alloc((void **)&cc->kv, bytes) != SF_OK) cc->kv = NULL;
    }
    if (!cc || !cc->kv) {
        SF_ERROR("dit", "cannot allocate %.1f MB for a precomputed context", bytes / 1e6);
        sf_dit_context_destroy(cc);
        return SF_E_NOMEM;
    }
    text_embed(m, 1, &context, &n_ctx_rows);
    for (int l = 0; l < c->n_layers + c->n_vace && st == SF_OK; l++) {
        const struct sf_dit_block *b = &m->w.blocks[l];
        float *k = cc->kv + (int64_t)l * 2 * Lt * Dl, *v = k + Lt * Dl;
        lin(m, m->ctx, Lt, D, &b->cross.k.w, &b->cross.k.b, k);
        st = rmsnorm_heads(m, k, b->cross.norm_k, Lt, NULL, NULL, 0);
        lin(m, m->ctx, Lt, D, &b->cross.v.w, &b->cross.v.b, v);
    }
    if (st == SF_OK && m->be->status) st = m->be->status();
    if (st != SF_OK) {
        sf_dit_context_destroy(cc);
        return st;
    }
    *out = cc;
    return SF_OK;
}

void sf_dit_context_destroy(struct sf_dit_context *cc)
{
    if (!cc) return;
    if (cc->kv) cc->model->be->free(cc->kv);
    free(cc);
}

int sf_dit_forward_cached(struct sf_dit *m, int n, const float *const *x, const int64_t thw[3],
                          const double *t, const struct sf_dit_context *const *ctx,
                          float *const *out)
{
    int64_t L;
    int st = prepare(m, n, thw, &L);
    if (st != SF_OK) return st;
    for (int i = 0; i < n; i++)
        SF_ASSERT(ctx[i] && ctx[i]->model == m); /* a context of another model is a bug */
    double t0 = m->timing ? clock_now(m) : 0.0;
    st = run(m, n, L, x, thw, t, ctx, out);
    if (m->timing) m->timing->total += clock_now(m) - t0;
    return st;
}
