/* dit_load.c — binds a DiT's tensors by role (dit_load.h) for node/dit.c.
 *
 * sf_model_dir.h has already read the config and checked every tensor (present, shape, float
 * dtype, nothing extra) in whichever layout the files use; here each role is asked for by its
 * official name (sf_dit_weights_get translates). Large tensors stay in the mapping in their file
 * dtype — no fp32 copy, so a 1.3B bf16 model stays 2.8 GB resident — and only vectors of size
 * dim are widened to fp32. A tensor missing here after that check is a bug (SF_ASSERT).
 * Tensor parallel: a rank binds only its slices (dit_load.h): row slices as views, column slices
 * of the row-parallel weights copied once into p->owned, so no rank reads another's pages. */
#include "dit_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_comm.h"
#include "sf_log.h"
#include "sf_status.h"

enum split {
    WHOLE,   /* replicated on every rank */
    BY_ROWS, /* column-parallel: rank r holds output features [r*out/tp, (r+1)*out/tp) */
    BY_COLS, /* row-parallel: rank r holds input features [r*in/tp, (r+1)*in/tp); bias whole */
};

struct binder {
    const struct sf_dit_weights *files;
    int tp, rank;
    uint64_t bytes, sharded, copied; /* as in struct sf_dit_params */
    float *vec_next;                 /* next free fp32 slot in p->vecs */
    char *owned_next;                /* next free byte of p->owned */
};

static const struct sf_st_tensor *get(struct binder *b, const char *official, int64_t numel)
{
    const struct sf_st_tensor *t = sf_dit_weights_get(b->files, official);
    SF_ASSERT(t && (int64_t)t->n_elems == numel); /* sf_model_dir_open_dit checked the shapes */
    return t;
}

static void held(struct binder *b, uint64_t bytes, int sharded)
{
    b->bytes += bytes;
    if (sharded) b->sharded += bytes;
}

/* A view of the whole tensor in place (file dtype, borrowed from the mapping). */
static void bind_view(struct binder *b, const char *official, int ndim, const int64_t *shape,
                      struct sf_tensor *dst)
{
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++)
        numel *= shape[d];
    const struct sf_st_tensor *t = get(b, official, numel);
    sf_tensor_view(dst, t->dtype, ndim, shape, t->data);
    held(b, t->n_bytes, 0);
}

/* The tensor widened to fp32 into the next numel floats of p->vecs. */
static int bind_vec(struct binder *b, const char *official, int64_t numel, const float **dst)
{
    const struct sf_st_tensor *t = get(b, official, numel);
    int st = sf_st_read_all(t, SF_DTYPE_F32, b->vec_next, (size_t)numel * sizeof(float));
    if (st != SF_OK) return st;
    held(b, t->n_bytes, 0);
    *dst = b->vec_next;
    b->vec_next += numel;
    return SF_OK;
}

/* Official names are at most "blocks.NNN.cross_attn.norm_q.weight". */
#define NAME(buf, ...) (snprintf(buf, sizeof buf, __VA_ARGS__), buf)

/* A Linear (out, in) + bias (out), whole or this rank's slice (enum split). Rows of the weight
 * are contiguous in the file, so a row slice is a view; a column slice is copied into p->owned. */
static int bind_linear(struct binder *b, const char *module, int64_t out, int64_t in,
                       enum split how, struct sf_dit_linear *l)
{
    char name[96];
    const struct sf_st_tensor *w = get(b, NAME(name, "%s.weight", module), out * in);
    const struct sf_st_tensor *bias = get(b, NAME(name, "%s.bias", module), out);
    size_t es = sf_dtype_size(w->dtype), bes = sf_dtype_size(bias->dtype);
    int shard = b->tp > 1 && how != WHOLE;
    if (!shard || how == BY_ROWS) {
        int64_t rows = shard ? out / b->tp : out, r0 = shard ? rows * b->rank : 0;
        sf_tensor_view(&l->w, w->dtype, 2, (int64_t[]){rows, in},
                       (const char *)w->data + (size_t)(r0 * in) * es);
        sf_tensor_view(&l->b, bias->dtype, 1, (int64_t[]){rows},
                       (const char *)bias->data + (size_t)r0 * bes);
        held(b, (uint64_t)(rows * in) * es + (uint64_t)rows * bes, shard);
        return SF_OK;
    }
    int64_t cols = in / b->tp;
    size_t n = (size_t)(out * cols) * es;
    int st = sf_st_read(w, w->dtype, 0, out, cols * b->rank, cols, b->owned_next, n);
    if (st != SF_OK) return st;
    sf_st_release(b->files->st, w); /* the read faulted in the other ranks' columns too */
    sf_tensor_view(&l->w, w->dtype, 2, (int64_t[]){out, cols}, b->owned_next);
    b->owned_next += (n + 63) / 64 * 64;
    sf_tensor_view(&l->b, bias->dtype, 1, (int64_t[]){out}, bias->data);
    held(b, n, 1);
    held(b, bias->n_bytes, 0);
    b->copied += n;
    return SF_OK;
}

/* pre is "blocks" or "vace_blocks". */
static int bind_attn(struct binder *b, const char *pre, int layer, const char *which, int64_t D,
                     struct sf_dit_attn *a)
{
    char name[96];
    struct sf_dit_linear *lin[4] = {&a->q, &a->k, &a->v, &a->o};
    const char *proj = "qkvo";
    int st;
    for (int i = 0; i < 4; i++)
        SF_TRY(st, bind_linear(b, NAME(name, "%s.%d.%s.%c", pre, layer, which, proj[i]), D, D,
                               i < 3 ? BY_ROWS : BY_COLS, lin[i]));
    SF_TRY(st, bind_vec(b, NAME(name, "%s.%d.%s.norm_q.weight", pre, layer, which), D, &a->norm_q));
    SF_TRY(st, bind_vec(b, NAME(name, "%s.%d.%s.norm_k.weight", pre, layer, which), D, &a->norm_k));
    /* The norms span all D features; this rank scales only its own D/tp of them. */
    a->norm_q += D / b->tp * b->rank;
    a->norm_k += D / b->tp * b->rank;
out:
    return st;
}

static int bind_block(struct binder *b, const struct sf_dit_config *c, const char *pre, int l,
                      struct sf_dit_block *blk)
{
    char name[96];
    int64_t D = c->dim, F = c->ffn_dim;
    int st;
    SF_TRY(st, bind_vec(b, NAME(name, "%s.%d.modulation", pre, l), 6 * D, &blk->modulation));
    SF_TRY(st, bind_attn(b, pre, l, "self_attn", D, &blk->self));
    SF_TRY(st, bind_attn(b, pre, l, "cross_attn", D, &blk->cross));
    SF_TRY(st, bind_vec(b, NAME(name, "%s.%d.norm3.weight", pre, l), D, &blk->norm3_w));
    SF_TRY(st, bind_vec(b, NAME(name, "%s.%d.norm3.bias", pre, l), D, &blk->norm3_b));
    SF_TRY(st, bind_linear(b, NAME(name, "%s.%d.ffn.0", pre, l), F, D, BY_ROWS, &blk->ffn1));
    SF_TRY(st, bind_linear(b, NAME(name, "%s.%d.ffn.2", pre, l), D, F, BY_COLS, &blk->ffn2));
out:
    return st;
}

/* Bytes of p->owned: every row-parallel slice, each rounded up to 64 (0 at tp = 1). */
static size_t owned_bytes(const struct sf_dit_weights *files, int tp)
{
    static const char *const row_parallel[] = {"self_attn.o", "cross_attn.o", "ffn.2"};
    size_t total = 0;
    char name[96];
    if (tp == 1) return 0;
    for (int l = 0; l < files->cfg.n_layers + files->cfg.n_vace; l++)
        for (int i = 0; i < 3; i++) {
            int vace = l >= files->cfg.n_layers;
            const struct sf_st_tensor *t = sf_dit_weights_get(
                files, NAME(name, "%s.%d.%s.weight", vace ? "vace_blocks" : "blocks",
                            vace ? l - files->cfg.n_layers : l, row_parallel[i]));
            SF_ASSERT(t);
            total += (t->n_bytes / (uint64_t)tp + 63) / 64 * 64;
        }
    return total;
}

int sf_dit_params_open(const char *model_path, int tp, int rank, struct sf_dit_params *p)
{
    memset(p, 0, sizeof *p);
    SF_ASSERT(tp >= 1 && rank >= 0 && rank < tp);
    struct sf_model_dir *md = malloc(sizeof *md); /* ~20 KB of paths: not on the stack */
    struct binder b = {.files = &p->files, .tp = tp, .rank = rank};
    char why[512];
    int st;
    if (!md) return SF_E_NOMEM;
    SF_TRY(st, sf_model_dir_detect(model_path, md));
    SF_TRY(st, sf_model_dir_open_dit(md, &p->files));
    const struct sf_dit_config *c = &p->files.cfg;
    if (sf_tp_check_model(tp, c->n_heads, c->ffn_dim, model_path, why, sizeof why) != SF_OK) {
        if (rank == 0) SF_ERROR("dit", "%s", why); /* once per group, not once per rank */
        st = SF_E_INVAL;
        goto out;
    }
    int64_t D = c->dim, P = (int64_t)c->patch[0] * c->patch[1] * c->patch[2];
    size_t owned = owned_bytes(&p->files, tp);
    p->tp = tp;
    p->rank = rank;
    const int n_blocks = c->n_layers + c->n_vace;
    p->blocks = calloc((size_t)n_blocks, sizeof *p->blocks);
    p->vace_out = c->n_vace ? calloc((size_t)c->n_vace, sizeof *p->vace_out) : NULL;
    /* per block: modulation 6D, 4 q/k-norm weights, norm3 weight + bias; the head's 2D */
    p->n_vecs = ((size_t)n_blocks * 12 + 2) * (size_t)D;
    p->vecs = malloc(p->n_vecs * sizeof *p->vecs);
    p->owned = owned ? aligned_alloc(64, owned) : NULL;
    if (!p->blocks || !p->vecs || (owned && !p->owned) || (c->n_vace && !p->vace_out)) {
        SF_ERROR("dit", "%s: out of memory binding the weights (%.1f MB of tp slices)", model_path,
                 owned / 1e6);
        st = SF_E_NOMEM;
        goto out;
    }
    b.vec_next = p->vecs;
    b.owned_next = p->owned;
    bind_view(&b, "patch_embedding.weight", 5,
              (int64_t[]){D, c->in_dim, c->patch[0], c->patch[1], c->patch[2]}, &p->patch_w);
    bind_view(&b, "patch_embedding.bias", 1, (int64_t[]){D}, &p->patch_b);
    SF_TRY(st, bind_linear(&b, "text_embedding.0", D, c->text_dim, WHOLE, &p->text1));
    SF_TRY(st, bind_linear(&b, "text_embedding.2", D, D, WHOLE, &p->text2));
    SF_TRY(st, bind_linear(&b, "time_embedding.0", D, c->freq_dim, WHOLE, &p->time1));
    SF_TRY(st, bind_linear(&b, "time_embedding.2", D, D, WHOLE, &p->time2));
    SF_TRY(st, bind_linear(&b, "time_projection.1", 6 * D, D, WHOLE, &p->time_proj));
    SF_TRY(st, bind_linear(&b, "head.head", c->out_dim * P, D, WHOLE, &p->head));
    SF_TRY(st, bind_vec(&b, "head.modulation", 2 * D, &p->head_modulation));
    for (int l = 0; l < c->n_layers; l++)
        SF_TRY(st, bind_block(&b, c, "blocks", l, &p->blocks[l]));
    for (int j = 0; j < c->n_vace; j++) {
        char name[96];
        SF_TRY(st, bind_block(&b, c, "vace_blocks", j, &p->blocks[c->n_layers + j]));
        if (j == 0) SF_TRY(st, bind_linear(&b, "vace_blocks.0.before_proj", D, D, WHOLE, &p->vace_in));
        SF_TRY(st, bind_linear(&b, NAME(name, "vace_blocks.%d.after_proj", j), D, D, WHOLE,
                               &p->vace_out[j]));
    }
    if (c->n_vace) {
        bind_view(&b, "vace_patch_embedding.weight", 5,
                  (int64_t[]){D, c->vace_in_dim, c->patch[0], c->patch[1], c->patch[2]},
                  &p->vace_patch_w);
        bind_view(&b, "vace_patch_embedding.bias", 1, (int64_t[]){D}, &p->vace_patch_b);
    }
    p->bytes = b.bytes;
    p->sharded_bytes = b.sharded;
    p->copied_bytes = b.copied;
    if (tp == 1)
        SF_INFO("dit", "%s: %s layout, dim %d, %d layers (%d VACE), %d heads, %.1f MB of %s weights",
                p->files.weights_path, sf_layout_name(p->files.layout), c->dim, c->n_layers,
                c->n_vace, c->n_heads, b.bytes / 1e6, sf_dtype_name(p->head.w.dtype));
    else
        SF_INFO("dit",
                "%s: %s layout, dim %d, %d layers, %d heads, %s weights; tp shard %d of %d: "
                "%.1f MB (%.1f MB of slices, %.1f MB of them copied)",
                p->files.weights_path, sf_layout_name(p->files.layout), c->dim, c->n_layers,
                c->n_heads, sf_dtype_name(p->head.w.dtype), rank, tp, b.bytes / 1e6,
                b.sharded / 1e6, b.copied / 1e6);
out:
    free(md);
    if (st != SF_OK) sf_dit_params_close(p);
    return st;
}

void sf_dit_params_close(struct sf_dit_params *p)
{
    sf_dit_weights_fini(&p->files);
    free(p->blocks);
    free(p->vace_out);
    free(p->vecs);
    free(p->owned);
    memset(p, 0, sizeof *p);
}
