/* dit_load.c — binds a DiT's tensors by role (dit_load.h) for node/dit.c.
 *
 * sf_model_dir.h has already read the config and checked every tensor (present, shape, float
 * dtype, nothing extra) in whichever layout the files use; here each role is asked for by its
 * official name (sf_dit_weights_get translates). Large tensors stay in the mapping in their file
 * dtype — no fp32 copy, so a 1.3B bf16 model stays 2.8 GB resident — and only vectors of size
 * dim are widened to fp32. A tensor missing here after that check is a bug (SF_ASSERT). */
#include "dit_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_log.h"
#include "sf_status.h"

struct binder {
    const struct sf_dit_weights *files;
    uint64_t bytes;
    float *vec_next; /* next free fp32 slot in p->vecs */
};

static const struct sf_st_tensor *get(struct binder *b, const char *official, int64_t numel)
{
    const struct sf_st_tensor *t = sf_dit_weights_get(b->files, official);
    SF_ASSERT(t && (int64_t)t->n_elems == numel); /* sf_model_dir_open_dit checked the shapes */
    b->bytes += t->n_bytes;
    return t;
}

/* A view of the tensor in place (file dtype, borrowed from the mapping). */
static void bind_view(struct binder *b, const char *official, int ndim, const int64_t *shape,
                      struct sf_tensor *dst)
{
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++)
        numel *= shape[d];
    const struct sf_st_tensor *t = get(b, official, numel);
    sf_tensor_view(dst, t->dtype, ndim, shape, t->data);
}

/* The tensor widened to fp32 into the next numel floats of p->vecs. */
static int bind_vec(struct binder *b, const char *official, int64_t numel, const float **dst)
{
    const struct sf_st_tensor *t = get(b, official, numel);
    int st = sf_st_read_all(t, SF_DTYPE_F32, b->vec_next, (size_t)numel * sizeof(float));
    if (st != SF_OK) return st;
    *dst = b->vec_next;
    b->vec_next += numel;
    return SF_OK;
}

/* Official names are at most "blocks.NNN.cross_attn.norm_q.weight". */
#define NAME(buf, ...) (snprintf(buf, sizeof buf, __VA_ARGS__), buf)

static void bind_linear(struct binder *b, const char *module, int64_t out, int64_t in,
                        struct sf_dit_linear *l)
{
    char name[96];
    bind_view(b, NAME(name, "%s.weight", module), 2, (int64_t[]){out, in}, &l->w);
    bind_view(b, NAME(name, "%s.bias", module), 1, (int64_t[]){out}, &l->b);
}

static int bind_attn(struct binder *b, int layer, const char *which, int64_t D,
                     struct sf_dit_attn *a)
{
    char name[96];
    struct sf_dit_linear *lin[4] = {&a->q, &a->k, &a->v, &a->o};
    const char *proj = "qkvo";
    for (int i = 0; i < 4; i++)
        bind_linear(b, NAME(name, "blocks.%d.%s.%c", layer, which, proj[i]), D, D, lin[i]);
    int st = bind_vec(b, NAME(name, "blocks.%d.%s.norm_q.weight", layer, which), D, &a->norm_q);
    if (st == SF_OK)
        st = bind_vec(b, NAME(name, "blocks.%d.%s.norm_k.weight", layer, which), D, &a->norm_k);
    return st;
}

static int bind_block(struct binder *b, const struct sf_dit_config *c, int l,
                      struct sf_dit_block *blk)
{
    char name[96];
    int64_t D = c->dim, F = c->ffn_dim;
    int st;
    SF_TRY(st, bind_vec(b, NAME(name, "blocks.%d.modulation", l), 6 * D, &blk->modulation));
    SF_TRY(st, bind_attn(b, l, "self_attn", D, &blk->self));
    SF_TRY(st, bind_attn(b, l, "cross_attn", D, &blk->cross));
    SF_TRY(st, bind_vec(b, NAME(name, "blocks.%d.norm3.weight", l), D, &blk->norm3_w));
    SF_TRY(st, bind_vec(b, NAME(name, "blocks.%d.norm3.bias", l), D, &blk->norm3_b));
    bind_linear(b, NAME(name, "blocks.%d.ffn.0", l), F, D, &blk->ffn1);
    bind_linear(b, NAME(name, "blocks.%d.ffn.2", l), D, F, &blk->ffn2);
out:
    return st;
}

int sf_dit_params_open(const char *model_path, struct sf_dit_params *p)
{
    memset(p, 0, sizeof *p);
    struct sf_model_dir *md = malloc(sizeof *md); /* ~20 KB of paths: not on the stack */
    struct binder b = {.files = &p->files};
    int st;
    if (!md) return SF_E_NOMEM;
    SF_TRY(st, sf_model_dir_detect(model_path, md));
    SF_TRY(st, sf_model_dir_open_dit(md, &p->files));
    const struct sf_dit_config *c = &p->files.cfg;
    int64_t D = c->dim, P = (int64_t)c->patch[0] * c->patch[1] * c->patch[2];
    p->blocks = calloc((size_t)c->n_layers, sizeof *p->blocks);
    /* per block: modulation 6D, 4 q/k-norm weights, norm3 weight + bias; the head's 2D */
    p->vecs = malloc(((size_t)c->n_layers * 12 + 2) * (size_t)D * sizeof *p->vecs);
    if (!p->blocks || !p->vecs) {
        st = SF_E_NOMEM;
        goto out;
    }
    b.vec_next = p->vecs;
    bind_view(&b, "patch_embedding.weight", 5,
              (int64_t[]){D, c->in_dim, c->patch[0], c->patch[1], c->patch[2]}, &p->patch_w);
    bind_view(&b, "patch_embedding.bias", 1, (int64_t[]){D}, &p->patch_b);
    bind_linear(&b, "text_embedding.0", D, c->text_dim, &p->text1);
    bind_linear(&b, "text_embedding.2", D, D, &p->text2);
    bind_linear(&b, "time_embedding.0", D, c->freq_dim, &p->time1);
    bind_linear(&b, "time_embedding.2", D, D, &p->time2);
    bind_linear(&b, "time_projection.1", 6 * D, D, &p->time_proj);
    bind_linear(&b, "head.head", c->out_dim * P, D, &p->head);
    SF_TRY(st, bind_vec(&b, "head.modulation", 2 * D, &p->head_modulation));
    for (int l = 0; l < c->n_layers; l++)
        SF_TRY(st, bind_block(&b, c, l, &p->blocks[l]));
    p->bytes = b.bytes;
    SF_INFO("dit", "%s: %s layout, dim %d, %d layers, %d heads, %.1f MB of %s weights",
            p->files.weights_path, sf_layout_name(p->files.layout), c->dim, c->n_layers, c->n_heads,
            b.bytes / 1e6, sf_dtype_name(p->head.w.dtype));
out:
    free(md);
    if (st != SF_OK) sf_dit_params_close(p);
    return st;
}

void sf_dit_params_close(struct sf_dit_params *p)
{
    sf_dit_weights_fini(&p->files);
    free(p->blocks);
    free(p->vecs);
    memset(p, 0, sizeof *p);
}
