/* rope.c — Wan's 3D rotary position embedding (WAN-FACTS § 3). Called by the DiT's self-attention
 * on q and k. head_dim d gives d/2 complex pairs (x[2j], x[2j+1]) = (re, im): the first
 * (d - 4*(d/6))/2 pairs turn with the frame index, the next d/6 with the row, the last d/6 with
 * the column; the angle of pair i of a group is p * 10000^(-2i/dim_group). The reference builds
 * the table and multiplies in float64 and casts the result to fp32: so do we (the cost is
 * negligible next to the projections), which keeps us bit-close for any head_dim and position. */
#include <math.h>
#include <stdlib.h>

#include "cpu.h"
#include "sf_status.h"

struct sf_rope3d {
    int head_dim, frames, height, width;
    int n_f, n_h, n_w; /* pairs per group */
    double *cs;        /* (frames + height + width) positions x their group's pairs, (cos, sin) */
    double *f_tab, *h_tab, *w_tab;
    size_t n_cs;
    void *device;                  /* a device backend's copy of cs, or NULL */
    void (*device_free)(void *p); /* how to free it */
};

static void fill(double *tab, int positions, int pairs, int dim_group)
{
    for (int p = 0; p < positions; p++)
        for (int i = 0; i < pairs; i++) {
            double ang = p * pow(10000.0, -(double)(2 * i) / dim_group);
            tab[2 * (p * pairs + i)] = cos(ang);
            tab[2 * (p * pairs + i) + 1] = sin(ang);
        }
}

struct sf_rope3d *sf_rope3d_create(int head_dim, int frames, int height, int width)
{
    if (head_dim < 6 || head_dim % 2 || frames < 1 || height < 1 || width < 1) return NULL;
    struct sf_rope3d *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->head_dim = head_dim;
    r->frames = frames;
    r->height = height;
    r->width = width;
    r->n_h = r->n_w = head_dim / 6;
    r->n_f = head_dim / 2 - 2 * r->n_h; /* == (d - 4*(d/6)) / 2 */
    size_t n = 2 * ((size_t)frames * r->n_f + (size_t)height * r->n_h + (size_t)width * r->n_w);
    r->n_cs = n;
    r->cs = malloc(n * sizeof *r->cs);
    if (!r->cs) {
        free(r);
        return NULL;
    }
    r->f_tab = r->cs;
    r->h_tab = r->f_tab + 2 * (size_t)frames * r->n_f;
    r->w_tab = r->h_tab + 2 * (size_t)height * r->n_h;
    fill(r->f_tab, frames, r->n_f, 2 * r->n_f);
    fill(r->h_tab, height, r->n_h, 2 * r->n_h);
    fill(r->w_tab, width, r->n_w, 2 * r->n_w);
    return r;
}

void sf_rope3d_destroy(struct sf_rope3d *r)
{
    if (!r) return;
    if (r->device && r->device_free) r->device_free(r->device);
    free(r->cs);
    free(r);
}

struct rope_job {
    const struct sf_rope3d *r;
    float *x;
    int n_heads;
};

static void rotate(float *x, const double *cs, int pairs)
{
    for (int i = 0; i < pairs; i++) {
        double re = x[2 * i], im = x[2 * i + 1], c = cs[2 * i], s = cs[2 * i + 1];
        x[2 * i] = (float)(re * c - im * s);
        x[2 * i + 1] = (float)(re * s + im * c);
    }
}

static void rope_item(void *ctx, int64_t tok)
{
    const struct rope_job *j = ctx;
    const struct sf_rope3d *r = j->r;
    int64_t hw = (int64_t)r->height * r->width;
    int64_t f = tok / hw, h = tok % hw / r->width, w = tok % r->width;
    for (int hd = 0; hd < j->n_heads; hd++) {
        float *x = j->x + (tok * j->n_heads + hd) * r->head_dim;
        rotate(x, r->f_tab + 2 * f * r->n_f, r->n_f);
        rotate(x + 2 * r->n_f, r->h_tab + 2 * h * r->n_h, r->n_h);
        rotate(x + 2 * (r->n_f + r->n_h), r->w_tab + 2 * w * r->n_w, r->n_w);
    }
}

void sf_cpu_rope3d_apply(const struct sf_rope3d *r, float *x, int64_t tokens, int n_heads)
{
    SF_ASSERT(tokens <= (int64_t)r->frames * r->height * r->width);
    struct rope_job j = {.r = r, .x = x, .n_heads = n_heads};
    sf_parallel_for(tokens, rope_item, &j);
}

void sf_rope3d_layout(const struct sf_rope3d *r, struct sf_rope3d_layout *out)
{
    *out = (struct sf_rope3d_layout){.head_dim = r->head_dim,
                                     .frames = r->frames,
                                     .height = r->height,
                                     .width = r->width,
                                     .n_f = r->n_f,
                                     .n_h = r->n_h,
                                     .n_w = r->n_w,
                                     .cs = r->cs,
                                     .n_cs = r->n_cs};
}

void **sf_rope3d_device_slot(const struct sf_rope3d *r, void (*free_fn)(void *))
{
    struct sf_rope3d *w = (struct sf_rope3d *)r; /* the cache is not the table: see cpu.h */
    w->device_free = free_fn;
    return &w->device;
}
