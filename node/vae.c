/* vae.c — the Wan2.1 causal 3D VAE: decode latents to frames and encode frames to the latent
 * mean, chunk by chunk in time (sf_vae.h). Called by `shotfarm forward vae-decode|vae-encode`,
 * the render pipeline's final decode and the identity bank's encode.
 *
 * The network is the module list of vae_arch.h, run on activations laid out (C, t, H, W).
 * Decode feeds one latent frame per pass, encode the first frame and then 4 frames per pass.
 * Every causal conv with a temporal kernel of 3 owns a feature-cache slot holding the last two
 * frames of its input, which the next pass prepends in place of the zero padding — so a pass
 * costs the same whatever the clip length (wan:wan/modules/vae.py:17-36, 202-217).
 * The subtle things: (1) the upsample3d time_conv does nothing on the first pass and starts
 * from zero history on the second (the reference's "Rep" marker); (2) the downsample3d
 * time_conv keeps one frame, not two, and also does nothing on the first pass; (3) tiled decode
 * blends each tile in place with the already-blended tiles above and to the left, in row-major
 * order, as diffusers does — the order matters for the numbers.
 * Memory: one pass's activations (the layers after the last temporal upsample run one frame at
 * a time), the caches (two frames per conv input), for tiled decode the video itself, and the
 * convolutions prepared once per side (struct sf_conv3d_plan: Winograd F(2x2,3x3) for the 3x3
 * ones, 16/9 of their fp32 weight).
 */
#include "sf_vae.h"
#include "vae_arch.h"

#include "sf_log.h"
#include "sf_ops.h"
#include "sf_status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- model --------------------------------------------------------------------------------- */

struct conv {
    struct sf_tensor w, b; /* w viewed (cout, cin, kt, kh, kw); b (cout) */
    int cin, cout, kt, kh, kw;
    int slot;                    /* feature-cache slot, or -1 */
    int stride[3];               /* (t, h, w) */
    struct sf_conv3d_plan *plan; /* prepared on the side's first use (owned) */
};

struct layer {
    enum vae_mod_kind kind;
    int cin, cout;
    float *g1, *g2;         /* RMS gammas as fp32 (owned): RES norm1/norm2, ATTN norm, HEAD */
    struct conv c1, c2, sc; /* RES conv1/conv2/shortcut; CONV/POINT/HEAD c1; resample: c1 2d,
                             * c2 time_conv */
    int has_sc;
    struct sf_tensor qkv_w, qkv_b, proj_w, proj_b; /* ATTN: (3C, C), (3C), (C, C), (C) */
};

struct side {
    struct layer l[VAE_MAX_MODS];
    int n, n_slots;
    int prepared;      /* the convs' plans exist */
    size_t plan_bytes; /* what they hold (Winograd weights are 16/9 of fp32) */
    int stream_from;   /* decoder: the last upsample3d; encoder: the layer after the last
                        * downsample3d (see run_side) */
};


struct sf_vae {
    struct sf_vae_config cfg;
    struct side enc, dec;
    size_t weight_bytes;
    void *files;                 /* the loader's mmapped files (vae_load.c) */
    void (*files_close)(void *); /* releases them */
};

/* ---- activations --------------------------------------------------------------------------- */

struct act {
    float *d;
    int64_t c, t, h, w;
};

static int64_t act_plane(const struct act *a) { return a->t * a->h * a->w; }
static int64_t act_numel(const struct act *a) { return a->c * act_plane(a); }

/* Buffers freed during a decode/encode are kept, by exact size, for the next pass: passes repeat
 * the same shapes, so after the second pass nothing is allocated (and big blocks are not handed
 * back to the kernel and faulted in again each layer). The pool of the running decode/encode is
 * thread-local: only the calling thread allocates activations. */
#define POOL_SLOTS 48

struct pool {
    void *buf[POOL_SLOTS];
    size_t bytes[POOL_SLOTS];
    int n;
};

static _Thread_local struct pool *cur_pool;

static void pool_fini(struct pool *p)
{
    for (int i = 0; i < p->n; i++) free(p->buf[i]);
    p->n = 0;
}

static int act_new(struct act *a, int64_t c, int64_t t, int64_t h, int64_t w)
{
    a->c = c, a->t = t, a->h = h, a->w = w;
    size_t bytes = ((size_t)(c * t * h * w) * sizeof(float) + 63) & ~(size_t)63;
    struct pool *p = cur_pool;
    for (int i = 0; p && i < p->n; i++)
        if (p->bytes[i] == bytes) {
            a->d = p->buf[i];
            p->buf[i] = p->buf[p->n - 1], p->bytes[i] = p->bytes[p->n - 1];
            p->n--;
            return SF_OK;
        }
    a->d = aligned_alloc(64, bytes);
    return a->d ? SF_OK : SF_E_NOMEM;
}

static void act_free(struct act *a)
{
    struct pool *p = cur_pool;
    if (a->d && p && p->n < POOL_SLOTS) {
        p->buf[p->n] = a->d;
        p->bytes[p->n++] = ((size_t)act_numel(a) * sizeof(float) + 63) & ~(size_t)63;
    } else {
        free(a->d);
    }
    a->d = NULL;
}

/* ---- elementwise ops (VAE-specific) ---------------------------------------------------------- */

struct rms_ctx {
    const float *x;
    float *y;
    const float *gamma;
    int64_t c, plane, block;
    int silu;
};

/* The reference's RMS_norm over channels (F.normalize * sqrt(C) * gamma), optionally followed
 * by SiLU, for one block of positions. */
static void rms_block(void *vctx, int64_t bi)
{
    const struct rms_ctx *k = vctx;
    int64_t p0 = bi * k->block, n = k->plane - p0 < k->block ? k->plane - p0 : k->block;
    float ss[256], inv[256];
    for (int64_t p = 0; p < n; p++) ss[p] = 0.f;
    for (int64_t c = 0; c < k->c; c++) {
        const float *xc = k->x + c * k->plane + p0;
        for (int64_t p = 0; p < n; p++) ss[p] += xc[p] * xc[p];
    }
    float sc = sqrtf((float)k->c);
    for (int64_t p = 0; p < n; p++) {
        float nrm = sqrtf(ss[p]);
        inv[p] = sc / (nrm > 1e-12f ? nrm : 1e-12f);
    }
    for (int64_t c = 0; c < k->c; c++) {
        const float *xc = k->x + c * k->plane + p0;
        float *yc = k->y + c * k->plane + p0, g = k->gamma[c];
        for (int64_t p = 0; p < n; p++) yc[p] = xc[p] * inv[p] * g;
        if (k->silu) sf_silu(yc, n);
    }
}

/* y = RMS(x) [then SiLU]; y may be x. */
static void rms_norm(const struct act *x, const float *gamma, int silu, float *y)
{
    struct rms_ctx k = {x->d, y, gamma, x->c, act_plane(x), 256, silu};
    sf_parallel_for((k.plane + k.block - 1) / k.block, rms_block, &k);
}

struct copy_ctx {
    const float *src;
    float *dst;
    int64_t src_stride, dst_stride, n;
};

static void copy_row(void *vctx, int64_t i)
{
    const struct copy_ctx *k = vctx;
    memcpy(k->dst + i * k->dst_stride, k->src + i * k->src_stride, (size_t)k->n * sizeof(float));
}

/* rows of n floats: dst[i * dst_stride ..] = src[i * src_stride ..], i < rows */
static void copy_rows(float *dst, int64_t dst_stride, const float *src, int64_t src_stride,
                      int64_t rows, int64_t n)
{
    struct copy_ctx k = {src, dst, src_stride, dst_stride, n};
    sf_parallel_for(rows, copy_row, &k);
}

struct up_ctx {
    const float *x;
    float *y;
    int64_t h, w;
};

/* nearest-exact x2 of one (h, w) plane: y[2i+a][2j+b] = x[i][j] */
static void up_plane(void *vctx, int64_t pl)
{
    const struct up_ctx *k = vctx;
    const float *x = k->x + pl * k->h * k->w;
    float *y = k->y + pl * 4 * k->h * k->w;
    for (int64_t i = 0; i < k->h; i++) {
        float *r0 = y + 2 * i * 2 * k->w, *r1 = r0 + 2 * k->w;
        for (int64_t j = 0; j < k->w; j++) r0[2 * j] = r0[2 * j + 1] = x[i * k->w + j];
        memcpy(r1, r0, (size_t)(2 * k->w) * sizeof(float));
    }
}

static void add_into(float *y, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

/* ---- convolutions with the feature cache ------------------------------------------------------ */

struct fcache {
    float *d; /* (cin, n, h, w) */
    int64_t cap;
    int n, calls;
};

struct stream {
    struct fcache *slot;
    int n;
};

static void stream_fini(struct stream *s)
{
    for (int i = 0; s->slot && i < s->n; i++) free(s->slot[i].d);
    free(s->slot);
    s->slot = NULL;
}

static int stream_init(struct stream *s, int n)
{
    s->n = n;
    s->slot = calloc((size_t)(n > 0 ? n : 1), sizeof *s->slot);
    return s->slot ? SF_OK : SF_E_NOMEM;
}

/* Keeps the last `keep` frames of the sequence (cache frames, then x) in the cache. */
static int cache_keep(struct fcache *fc, const struct act *x, int keep)
{
    int64_t plane = x->h * x->w, total = fc->n + x->t;
    int nk = total < keep ? (int)total : keep;
    if (!fc->d) {
        fc->cap = x->c * keep * plane;
        fc->d = malloc((size_t)fc->cap * sizeof(float));
        if (!fc->d) return SF_E_NOMEM;
    }
    SF_ASSERT(x->c * keep * plane == fc->cap);
    /* frames come from the old cache only when x has fewer than nk frames */
    int from_old = nk - (int)(x->t < nk ? x->t : nk);
    for (int64_t c = 0; c < x->c; c++) {
        float *dc = fc->d + c * keep * plane;
        if (from_old) memmove(dc, dc + (fc->n - from_old) * plane,
                              (size_t)(from_old * plane) * sizeof(float));
        int nx = nk - from_old;
        memcpy(dc + from_old * plane, x->d + c * x->t * plane + (x->t - nx) * plane,
               (size_t)(nx * plane) * sizeof(float));
    }
    fc->n = nk;
    return SF_OK;
}

/* x with the cached frames in front: (cin, n_cached + t, h, w) in *buf (allocated), or x
 * itself when nothing is cached. */
static int with_cache(const struct fcache *fc, int keep, const struct act *x, struct act *buf)
{
    if (!fc || fc->n == 0) {
        *buf = *x;
        return SF_OK;
    }
    int st = act_new(buf, x->c, fc->n + x->t, x->h, x->w);
    if (st) return st;
    int64_t plane = x->h * x->w;
    copy_rows(buf->d, buf->t * plane, fc->d, keep * plane, x->c, fc->n * plane);
    copy_rows(buf->d + fc->n * plane, buf->t * plane, x->d, x->t * plane, x->c, x->t * plane);
    return SF_OK;
}

/* The causal conv of the reference: pad H, W by k/2 on both sides, T by kt-1 in front minus
 * the cached frames; with fc the last kt-1 input frames are kept for the next pass. Output
 * (cout, t, h, w) in y (allocated here). */
static int causal_conv(const struct conv *cv, struct fcache *fc, const struct act *x,
                       struct act *y)
{
    int st, keep = cv->kt - 1;
    struct act buf = {0};
    if (keep == 0) fc = NULL;
    SF_TRY(st, with_cache(fc, keep, x, &buf));
    /* On a first pass (nothing cached) the taps that meet only the zero padding are left out
     * of the sum by the plan: one frame after nothing costs one tap, not kt. */
    int pad[6] = {keep - (fc ? fc->n : 0), 0, cv->kh / 2, cv->kh / 2, cv->kw / 2, cv->kw / 2};
    SF_TRY(st, act_new(y, cv->cout, x->t, x->h, x->w));
    sf_conv3d_plan_run(cv->plan, buf.d, buf.c, (int64_t[]){buf.t, buf.h, buf.w}, pad, y->d);
    if (fc) SF_TRY(st, cache_keep(fc, x, keep));
out:
    if (buf.d != x->d) act_free(&buf);
    return st;
}

/* A 2D conv applied to every frame (weights viewed with kt = 1). */
static int conv_frames(const struct conv *cv, const struct act *x, int s, const int pad_hw[4],
                       struct act *y)
{
    int pad[6] = {0, 0, pad_hw[0], pad_hw[1], pad_hw[2], pad_hw[3]}, stride[3] = {1, s, s};
    int64_t in[3] = {x->t, x->h, x->w}, k[3] = {1, cv->kh, cv->kw}, o[3];
    SF_ASSERT(cv->stride[1] == s && cv->stride[2] == s);
    sf_conv3d_out_shape(in, k, stride, pad, o);
    int st = act_new(y, cv->cout, o[0], o[1], o[2]);
    if (st) return st;
    sf_conv3d_plan_run(cv->plan, x->d, x->c, in, pad, y->d);
    return SF_OK;
}

/* Prepares every conv of the side once (fp32 weights laid out per algorithm; Winograd for the
 * 3x3 spatial ones): on its first decode/encode, so a decode-only run never holds the
 * encoder's. SF_E_NOMEM when out of memory (the plans made so far stay and are reused). */
static int prepare_side(struct side *sd, const char *what)
{
    if (sd->prepared) return SF_OK;
    for (int i = 0; i < sd->n; i++) {
        struct conv *cs[3] = {&sd->l[i].c1, &sd->l[i].c2, &sd->l[i].sc};
        for (int j = 0; j < 3; j++) {
            struct conv *cv = cs[j];
            if (!cv->w.data || cv->plan) continue;
            cv->plan = sf_conv3d_plan_create(&cv->w, cv->b.data ? &cv->b : NULL, cv->stride,
                                             SF_CONV_AUTO);
            if (!cv->plan) {
                SF_ERROR("vae", "%s: out of memory preparing the convolutions", what);
                return SF_E_NOMEM;
            }
            sd->plan_bytes += sf_conv3d_plan_bytes(cv->plan);
        }
    }
    sd->prepared = 1;
    SF_DEBUG("vae", "%s: prepared convolutions hold %.1f MB", what, sd->plan_bytes / 1e6);
    return SF_OK;
}

/* ---- layers (each consumes its input act and returns a new one) ------------------------------ */

static int run_res(const struct layer *L, struct stream *s, struct act *x, struct act *out)
{
    int st;
    struct act a = {0}, b = {0}, c = {0}, h = {0};
    SF_TRY(st, act_new(&a, x->c, x->t, x->h, x->w));
    rms_norm(x, L->g1, 1, a.d);
    SF_TRY(st, causal_conv(&L->c1, &s->slot[L->c1.slot], &a, &b));
    act_free(&a);
    rms_norm(&b, L->g2, 1, b.d);
    SF_TRY(st, causal_conv(&L->c2, &s->slot[L->c2.slot], &b, &c));
    act_free(&b);
    if (L->has_sc) {
        SF_TRY(st, causal_conv(&L->sc, NULL, x, &h));
        add_into(c.d, h.d, act_numel(&c));
    } else {
        add_into(c.d, x->d, act_numel(&c));
    }
    act_free(x);
    *out = c;
    c.d = NULL;
out:
    act_free(&a), act_free(&b), act_free(&c), act_free(&h);
    return st;
}

/* Single-head attention over the h*w positions of each frame, residual. */
static int run_attn(const struct layer *L, struct act *x, struct act *out)
{
    int st;
    int64_t C = x->c, HW = x->h * x->w, plane = act_plane(x);
    struct act n = {0};
    float *tok = NULL, *qkv = NULL, *att = NULL;
    SF_TRY(st, act_new(&n, x->c, x->t, x->h, x->w));
    rms_norm(x, L->g1, 0, n.d);
    tok = malloc((size_t)(HW * C) * sizeof(float));
    qkv = malloc((size_t)(HW * 3 * C) * sizeof(float));
    att = malloc((size_t)(HW * C) * sizeof(float));
    if (!tok || !qkv || !att) {
        st = SF_E_NOMEM;
        goto out;
    }
    for (int64_t f = 0; f < x->t; f++) {
        for (int64_t c = 0; c < C; c++)
            for (int64_t p = 0; p < HW; p++) tok[p * C + c] = n.d[c * plane + f * HW + p];
        sf_linear(tok, HW, C, &L->qkv_w, &L->qkv_b, qkv);
        sf_attention(qkv, 3 * C, qkv + C, 3 * C, qkv + 2 * C, 3 * C, att, C, HW, HW, 1, (int)C,
                     HW, 1.0f / sqrtf((float)C));
        sf_linear(att, HW, C, &L->proj_w, &L->proj_b, tok);
        for (int64_t c = 0; c < C; c++)
            for (int64_t p = 0; p < HW; p++) x->d[c * plane + f * HW + p] += tok[p * C + c];
    }
    *out = *x;
    x->d = NULL;
out:
    act_free(&n);
    free(tok), free(qkv), free(att);
    return st;
}

/* The temporal half of upsample3d, in place on *x: time_conv C -> 2C, the halves become frames
 * 2i and 2i+1 (nothing on the first pass). */
static int up3d_time(const struct layer *L, struct stream *s, struct act *x)
{
    int st = SF_OK;
    struct act y = {0}, t = {0};
    struct fcache *fc = &s->slot[L->c2.slot];
    if (fc->calls++ == 0) return SF_OK;
    SF_TRY(st, causal_conv(&L->c2, fc, x, &t));
    SF_TRY(st, act_new(&y, x->c, 2 * x->t, x->h, x->w));
    int64_t plane = x->h * x->w;
    for (int half = 0; half < 2; half++)
        for (int64_t i = 0; i < x->t; i++)
            copy_rows(y.d + (2 * i + half) * plane, y.t * plane,
                      t.d + half * x->c * t.t * plane + i * plane, t.t * plane, x->c, plane);
    act_free(x);
    *x = y;
    y.d = NULL;
out:
    act_free(&t), act_free(&y);
    return st;
}

/* Resamplers; with time_done the temporal half of upsample3d has already run (run_side). */
static int run_resample(const struct layer *L, struct stream *s, struct act *x, struct act *out,
                        int time_done)
{
    int st = SF_OK;
    struct act y = {0}, t = {0}, buf = {0};
    if (L->kind == VM_UP3D && !time_done) SF_TRY(st, up3d_time(L, s, x));
    if (L->kind == VM_UP2D || L->kind == VM_UP3D) {
        SF_TRY(st, act_new(&t, x->c, x->t, 2 * x->h, 2 * x->w));
        struct up_ctx k = {x->d, t.d, x->h, x->w};
        sf_parallel_for(x->c * x->t, up_plane, &k);
        act_free(x);
        SF_TRY(st, conv_frames(&L->c1, &t, 1, (const int[]){1, 1, 1, 1}, out));
        goto out;
    }
    /* downsample: zero pad right and bottom by one, 3x3 stride 2 */
    SF_TRY(st, conv_frames(&L->c1, x, 2, (const int[]){0, 1, 0, 1}, &y));
    act_free(x);
    if (L->kind == VM_DOWN3D) {
        struct fcache *fc = &s->slot[L->c2.slot];
        if (fc->calls++ > 0) {
            SF_TRY(st, with_cache(fc, 1, &y, &buf));
            int64_t in[3] = {buf.t, buf.h, buf.w}, k[3] = {3, 1, 1}, o[3];
            int stride[3] = {2, 1, 1}, pad[6] = {0};
            sf_conv3d_out_shape(in, k, stride, pad, o);
            SF_TRY(st, act_new(&t, L->c2.cout, o[0], o[1], o[2]));
            sf_conv3d_plan_run(L->c2.plan, buf.d, buf.c, in, pad, t.d);
            act_free(&buf);
            fc->n = 0; /* keep y's last frame only */
            SF_TRY(st, cache_keep(fc, &y, 1));
            act_free(&y);
            y = t;
            t.d = NULL;
        } else {
            SF_TRY(st, cache_keep(fc, &y, 1));
        }
    }
    *out = y;
    y.d = NULL;
out:
    act_free(&buf), act_free(&y), act_free(&t);
    return st;
}

static int run_layer(const struct layer *L, struct stream *s, struct act *x, struct act *y,
                     int time_done)
{
    int st;
    switch (L->kind) {
    case VM_CONV:
    case VM_POINT:
        st = causal_conv(&L->c1, L->c1.slot >= 0 ? &s->slot[L->c1.slot] : NULL, x, y);
        act_free(x);
        return st;
    case VM_RES: return run_res(L, s, x, y);
    case VM_ATTN: return run_attn(L, x, y);
    case VM_HEAD:
        rms_norm(x, L->g1, 1, x->d);
        st = causal_conv(&L->c1, &s->slot[L->c1.slot], x, y);
        act_free(x);
        return st;
    default: return run_resample(L, s, x, y, time_done);
    }
}

/* Runs the side's layers over one chunk; x is consumed, the result returned in *out.
 * From sd->stream_from on no layer changes the frame count (for the decoder: from the spatial
 * half of the last upsample3d), so a chunk of several frames goes through those layers one frame
 * at a time — the causal caches make that the same computation — which keeps the decoder's
 * high-resolution activations at one frame instead of four. */
static int run_side(const struct side *sd, struct stream *s, struct act *x, struct act *out)
{
    int st = SF_OK;
    struct act res = {0}, f = {0};
    for (int i = 0; i < sd->n; i++) {
        struct act y = {0};
        int split = i == sd->stream_from && sd->l[i].kind == VM_UP3D;
        if (split) SF_TRY(st, up3d_time(&sd->l[i], s, x));
        if (i == sd->stream_from && x->t > 1) {
            int64_t plane = x->h * x->w;
            for (int64_t k = 0; k < x->t; k++) {
                SF_TRY(st, act_new(&f, x->c, 1, x->h, x->w));
                copy_rows(f.d, plane, x->d + k * plane, x->t * plane, x->c, plane);
                for (int j = i; j < sd->n; j++) {
                    SF_TRY(st, run_layer(&sd->l[j], s, &f, &y, split && j == i));
                    f = y;
                    y.d = NULL;
                }
                if (!res.d) SF_TRY(st, act_new(&res, f.c, x->t, f.h, f.w));
                int64_t fp = f.h * f.w;
                copy_rows(res.d + k * fp, res.t * fp, f.d, fp, f.c, fp);
                act_free(&f);
            }
            act_free(x);
            *x = res;
            res.d = NULL;
            break;
        }
        SF_TRY(st, run_layer(&sd->l[i], s, x, &y, split));
        *x = y;
    }
    *out = *x;
    x->d = NULL;
out:
    if (st) act_free(x);
    act_free(&res), act_free(&f);
    return st;
}

/* ---- decode --------------------------------------------------------------------------------- */


static void blend_v(const struct act *a, struct act *b, int64_t ext)
{
    if (ext > a->h) ext = a->h;
    if (ext > b->h) ext = b->h;
    for (int64_t c = 0; c < b->c * b->t; c++)
        for (int64_t y = 0; y < ext; y++) {
            const float *ra = a->d + (c * a->h + a->h - ext + y) * a->w;
            float *rb = b->d + (c * b->h + y) * b->w;
            float wb = (float)((double)y / (double)ext), wa = (float)(1.0 - (double)y / (double)ext);
            for (int64_t x = 0; x < b->w; x++) rb[x] = ra[x] * wa + rb[x] * wb;
        }
}

static void blend_h(const struct act *a, struct act *b, int64_t ext)
{
    if (ext > a->w) ext = a->w;
    if (ext > b->w) ext = b->w;
    for (int64_t r = 0; r < b->c * b->t * b->h; r++) {
        const float *ra = a->d + r * a->w + a->w - ext;
        float *rb = b->d + r * b->w;
        for (int64_t x = 0; x < ext; x++) {
            float wb = (float)((double)x / (double)ext), wa = (float)(1.0 - (double)x / (double)ext);
            rb[x] = ra[x] * wa + rb[x] * wb;
        }
    }
}

static int decode_pass(struct sf_vae *v, struct stream *s, const float *z, int64_t T, int64_t k,
                       int64_t h, int64_t w, int64_t y0, int64_t x0, int64_t lh, int64_t lw,
                       struct act *out)
{
    struct act x;
    int st = act_new(&x, v->cfg.z_dim, 1, lh, lw);
    if (st) return st;
    for (int64_t c = 0; c < x.c; c++)
        for (int64_t i = 0; i < lh; i++)
            memcpy(x.d + (c * lh + i) * lw, z + ((c * T + k) * h + y0 + i) * w + x0,
                   (size_t)lw * sizeof(float));
    return run_side(&v->dec, s, &x, out);
}

static void clamp_pm1(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = x[i] < -1.f ? -1.f : (x[i] > 1.f ? 1.f : x[i]);
}

/* Untiled: one pass per latent frame, frames handed out as they are made; memory is one pass's
 * activations plus the caches, whatever the clip length. */
static int decode_frames(struct sf_vae *v, const float *z, int64_t T, int64_t h, int64_t w,
                         sf_vae_frames_fn emit, void *ctx)
{
    int st;
    struct stream s = {0};
    struct act frame = {0};
    int64_t frame0 = 0;
    SF_TRY(st, stream_init(&s, v->dec.n_slots));
    for (int64_t k = 0; k < T; k++) {
        SF_TRY(st, decode_pass(v, &s, z, T, k, h, w, 0, 0, h, w, &frame));
        clamp_pm1(frame.d, act_numel(&frame));
        SF_TRY(st, emit(ctx, frame.d, frame0, frame.t, frame.h, frame.w));
        frame0 += frame.t;
        act_free(&frame);
    }
out:
    act_free(&frame);
    stream_fini(&s);
    return st;
}

/* Copies the part of tile (i, j) that diffusers keeps (its first stride x stride pixels) into
 * the video. */
static void crop_tile(const struct act *b, int64_t i, int64_t j, int64_t sp, struct act *video)
{
    int64_t oy = i * sp, ox = j * sp, H = video->h, W = video->w;
    int64_t ch = b->h < sp ? b->h : sp, cw = b->w < sp ? b->w : sp;
    if (oy + ch > H) ch = H - oy;
    if (ox + cw > W) cw = W - ox;
    for (int64_t c = 0; c < b->c * b->t; c++)
        for (int64_t y = 0; y < ch; y++)
            memcpy(video->d + (c * H + oy + y) * W + ox, b->d + (c * b->h + y) * b->w,
                   (size_t)cw * sizeof(float));
}

/* Tiled, as diffusers' tiled_decode: each tile is decoded over the whole clip with its own
 * caches (only one tile's caches and activations live at a time — the point of tiling), then
 * blended in place with the already-blended tiles above and to the left, in row-major order.
 * A tile is cropped into the video and freed once the tile below it is blended, so about one
 * row of tiles is held besides the video itself. */
static int decode_tiled(struct sf_vae *v, const float *z, int64_t T, int64_t h, int64_t w,
                        const struct sf_vae_tiling *tiling, sf_vae_frames_fn emit, void *ctx)
{
    int st = SF_OK;
    int64_t H = 8 * h, W = 8 * w, F = 1 + 4 * (T - 1), tl = tiling->tile_px / 8;
    int64_t sl = tiling->stride_px / 8, sp = tiling->stride_px;
    int64_t blend = tiling->tile_px - tiling->stride_px;
    int64_t nr = (h + sl - 1) / sl, nc = (w + sl - 1) / sl;
    struct act *tiles = calloc((size_t)(nr * nc), sizeof *tiles);
    struct act video = {0}, chunk = {0}, part = {0};
    struct stream s = {0};
    if (!tiles) return SF_E_NOMEM;
    SF_TRY(st, act_new(&video, 3, F, H, W));
    for (int64_t i = 0; i < nr; i++)
        for (int64_t j = 0; j < nc; j++) {
            int64_t y0 = i * sl, x0 = j * sl;
            int64_t lh = h - y0 < tl ? h - y0 : tl, lw = w - x0 < tl ? w - x0 : tl, f0 = 0;
            struct act *b = &tiles[i * nc + j];
            SF_TRY(st, stream_init(&s, v->dec.n_slots));
            for (int64_t k = 0; k < T; k++) {
                SF_TRY(st, decode_pass(v, &s, z, T, k, h, w, y0, x0, lh, lw, &part));
                if (!b->d) SF_TRY(st, act_new(b, 3, F, part.h, part.w));
                int64_t pl = part.h * part.w;
                copy_rows(b->d + f0 * pl, F * pl, part.d, part.t * pl, 3, part.t * pl);
                f0 += part.t;
                act_free(&part);
            }
            stream_fini(&s);
            SF_ASSERT(f0 == F);
            if (i > 0) blend_v(&tiles[(i - 1) * nc + j], b, blend);
            if (j > 0) blend_h(&tiles[i * nc + j - 1], b, blend);
            if (i > 0) { /* the tile above is final now */
                crop_tile(&tiles[(i - 1) * nc + j], i - 1, j, sp, &video);
                act_free(&tiles[(i - 1) * nc + j]);
            }
        }
    for (int64_t j = 0; j < nc; j++) {
        crop_tile(&tiles[(nr - 1) * nc + j], nr - 1, j, sp, &video);
        act_free(&tiles[(nr - 1) * nc + j]);
    }
    clamp_pm1(video.d, act_numel(&video));
    /* hand the frames out in the same chunks as the untiled decode */
    for (int64_t f0 = 0, k = 0; k < T; k++) {
        int64_t t = k == 0 ? 1 : 4, pl = H * W;
        SF_TRY(st, act_new(&chunk, 3, t, H, W));
        copy_rows(chunk.d, t * pl, video.d + f0 * pl, F * pl, 3, t * pl);
        SF_TRY(st, emit(ctx, chunk.d, f0, t, H, W));
        act_free(&chunk);
        f0 += t;
    }
out:
    stream_fini(&s);
    for (int64_t i = 0; i < nr * nc; i++) act_free(&tiles[i]);
    free(tiles);
    act_free(&video), act_free(&chunk), act_free(&part);
    return st;
}

int sf_vae_decode(struct sf_vae *v, const float *z, int64_t T, int64_t h, int64_t w,
                  const struct sf_vae_tiling *tiling, sf_vae_frames_fn emit, void *ctx)
{
    if (T < 1 || h < 1 || w < 1) {
        SF_ERROR("vae", "decode: latent (%d, %lld, %lld, %lld) is empty", v->cfg.z_dim,
                 (long long)T, (long long)h, (long long)w);
        return SF_E_INVAL;
    }
    int st = prepare_side(&v->dec, "decode");
    if (st) return st;
    struct pool pool = {0};
    cur_pool = &pool;
    int tiled = tiling && tiling->tile_px > 0 &&
                (8 * h > tiling->tile_px || 8 * w > tiling->tile_px);
    if (tiled) st = decode_tiled(v, z, T, h, w, tiling, emit, ctx);
    else st = decode_frames(v, z, T, h, w, emit, ctx);
    cur_pool = NULL;
    pool_fini(&pool);
    return st;
}

struct to_buf {
    float *x;
    int64_t frames;
};

static int emit_to_buf(void *vctx, const float *x, int64_t frame0, int64_t n, int64_t H,
                       int64_t W)
{
    struct to_buf *b = vctx;
    int64_t plane = H * W;
    for (int c = 0; c < 3; c++)
        memcpy(b->x + (c * b->frames + frame0) * plane, x + c * n * plane,
               (size_t)(n * plane) * sizeof(float));
    return SF_OK;
}

int sf_vae_decode_to(struct sf_vae *v, const float *z, int64_t T, int64_t h, int64_t w,
                     const struct sf_vae_tiling *tiling, float *x)
{
    struct to_buf b = {x, 1 + 4 * (T - 1)};
    return sf_vae_decode(v, z, T, h, w, tiling, emit_to_buf, &b);
}

/* ---- encode --------------------------------------------------------------------------------- */

int sf_vae_encode(struct sf_vae *v, const float *x, int64_t F, int64_t H, int64_t W, float *z)
{
    if (F < 1 || (F - 1) % 4) {
        SF_ERROR("vae", "encode: %lld frames; the VAE takes 1 + 4k frames (1, 5, 9, ..., 81)",
                 (long long)F);
        return SF_E_INVAL;
    }
    if (H < 8 || W < 8 || H % 8 || W % 8) {
        SF_ERROR("vae", "encode: frame %lldx%lld; height and width must be multiples of 8",
                 (long long)H, (long long)W);
        return SF_E_INVAL;
    }
    int st = prepare_side(&v->enc, "encode");
    if (st) return st;
    int64_t T = 1 + (F - 1) / 4, h = H / 8, w = W / 8, plane = H * W, zd = v->cfg.z_dim;
    struct stream s = {0};
    struct act a = {0}, y = {0};
    struct pool pool = {0};
    cur_pool = &pool;
    SF_TRY(st, stream_init(&s, v->enc.n_slots));
    for (int64_t k = 0; k < T; k++) {
        int64_t f0 = k == 0 ? 0 : 1 + 4 * (k - 1), nf = k == 0 ? 1 : 4;
        SF_TRY(st, act_new(&a, 3, nf, H, W));
        copy_rows(a.d, nf * plane, x + f0 * plane, F * plane, 3, nf * plane);
        SF_TRY(st, run_side(&v->enc, &s, &a, &y));
        SF_ASSERT(y.t == 1 && y.h == h && y.w == w && y.c == 2 * zd);
        /* the first z_dim channels of quant_conv's output are the mean */
        copy_rows(z + k * h * w, T * h * w, y.d, h * w, zd, h * w);
        act_free(&y);
    }
out:
    act_free(&a), act_free(&y);
    stream_fini(&s);
    cur_pool = NULL;
    pool_fini(&pool);
    return st;
}

/* ---- latents and frames --------------------------------------------------------------------- */

void sf_vae_normalize(const struct sf_vae *v, float *z, int64_t T, int64_t h, int64_t w)
{
    for (int c = 0; c < v->cfg.z_dim; c++)
        for (int64_t i = 0; i < T * h * w; i++)
            z[c * T * h * w + i] = (z[c * T * h * w + i] - v->cfg.latents_mean[c]) /
                                   v->cfg.latents_std[c];
}

void sf_vae_denormalize(const struct sf_vae *v, float *z, int64_t T, int64_t h, int64_t w)
{
    for (int c = 0; c < v->cfg.z_dim; c++)
        for (int64_t i = 0; i < T * h * w; i++)
            z[c * T * h * w + i] = z[c * T * h * w + i] * v->cfg.latents_std[c] +
                                   v->cfg.latents_mean[c];
}

static float unit(float x)
{
    float u = x / 2.f + 0.5f;
    return u < 0.f ? 0.f : (u > 1.f ? 1.f : u);
}

void sf_vae_frames_to_rgb8(const float *x, int64_t frames, int64_t height, int64_t width,
                           uint8_t *rgb)
{
    int64_t plane = height * width, n = frames * plane;
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) rgb[3 * i + c] = (uint8_t)nearbyintf(unit(x[c * n + i]) * 255.f);
}

void sf_vae_frames_to_rgb16(const float *x, int64_t frames, int64_t height, int64_t width,
                            uint16_t *rgb)
{
    int64_t n = frames * height * width;
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            rgb[3 * i + c] = (uint16_t)nearbyintf(unit(x[c * n + i]) * 65535.f);
}

void sf_vae_frames_from_rgb8(const uint8_t *rgb, int64_t frames, int64_t height, int64_t width,
                             float *x)
{
    int64_t n = frames * height * width;
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) x[c * n + i] = (float)rgb[3 * i + c] / 127.5f - 1.f;
}

/* ---- binding weights -------------------------------------------------------------------------- */

const struct sf_vae_config *sf_vae_config_of(const struct sf_vae *v) { return &v->cfg; }
size_t sf_vae_weight_bytes(const struct sf_vae *v) { return v->weight_bytes; }

static void free_side(struct side *sd)
{
    for (int i = 0; i < sd->n; i++) {
        struct layer *L = &sd->l[i];
        free(L->g1), free(L->g2);
        sf_conv3d_plan_destroy(L->c1.plan);
        sf_conv3d_plan_destroy(L->c2.plan);
        sf_conv3d_plan_destroy(L->sc.plan);
    }
}


void sf_vae_destroy(struct sf_vae *v)
{
    if (!v) return;
    free_side(&v->enc);
    free_side(&v->dec);
    if (v->files_close) v->files_close(v->files);
    free(v);
}

static void bind_conv(struct conv *cv, const struct sf_tensor *w, int *slots, int cached)
{
    cv->w = *w;
    cv->cout = (int)w->shape[0], cv->cin = (int)w->shape[1];
    if (w->ndim == 4) { /* Conv2d (cout, cin, kh, kw) viewed as (cout, cin, 1, kh, kw) */
        cv->kt = 1, cv->kh = (int)w->shape[2], cv->kw = (int)w->shape[3];
        cv->w.ndim = 5;
        cv->w.shape[4] = cv->kw, cv->w.shape[3] = cv->kh, cv->w.shape[2] = 1;
    } else {
        cv->kt = (int)w->shape[2], cv->kh = (int)w->shape[3], cv->kw = (int)w->shape[4];
    }
    cv->slot = cached && cv->kt > 1 ? (*slots)++ : -1;
    cv->stride[0] = cv->stride[1] = cv->stride[2] = 1;
}

static int gamma_f32(const struct sf_tensor *t, float **out)
{
    int64_t n = sf_tensor_numel(t);
    *out = malloc((size_t)n * sizeof(float));
    if (!*out) return SF_E_NOMEM;
    sf_convert_to_f32(t->dtype, t->data, *out, (size_t)n);
    return SF_OK;
}

static int bind(struct sf_vae *v, vae_get_fn get, void *ctx)
{
    int st = SF_OK;
    struct vae_mod mods[VAE_MAX_MODS];
    for (int side = 0; side < 2; side++) {
        struct side *sd = side ? &v->dec : &v->enc;
        sd->n = vae_arch_modules(&v->cfg, side, mods);
        sd->stream_from = 0;
        for (int i = 0; i < sd->n; i++)
            if (mods[i].kind == VM_UP3D) sd->stream_from = i; /* its spatial half streams */
            else if (mods[i].kind == VM_DOWN3D) sd->stream_from = i + 1;
        for (int i = 0; i < sd->n; i++) {
            struct layer *L = &sd->l[i];
            const struct vae_mod *m = &mods[i];
            L->kind = m->kind, L->cin = m->cin, L->cout = m->cout;
            const char *ds, *os;
            struct sf_vae_tensor want;
            for (int k = 0; vae_mod_tensor(m, k, &ds, &os, &want.ndim, want.shape); k++) {
                snprintf(want.name, sizeof want.name, "%s%s", m->dname, ds);
                snprintf(want.official, sizeof want.official, "%s%s", m->oname, os);
                struct sf_tensor t;
                SF_TRY(st, get(ctx, &want, &t));
                v->weight_bytes += sf_tensor_bytes(&t);
                switch (m->kind) {
                case VM_CONV:
                case VM_POINT:
                    if (k == 0) bind_conv(&L->c1, &t, &sd->n_slots, 1);
                    else L->c1.b = t;
                    break;
                case VM_RES:
                    switch (k) {
                    case 0: SF_TRY(st, gamma_f32(&t, &L->g1)); break;
                    case 1: bind_conv(&L->c1, &t, &sd->n_slots, 1); break;
                    case 2: L->c1.b = t; break;
                    case 3: SF_TRY(st, gamma_f32(&t, &L->g2)); break;
                    case 4: bind_conv(&L->c2, &t, &sd->n_slots, 1); break;
                    case 5: L->c2.b = t; break;
                    case 6: bind_conv(&L->sc, &t, &sd->n_slots, 0), L->has_sc = 1; break;
                    default: L->sc.b = t; break;
                    }
                    break;
                case VM_ATTN:
                    switch (k) {
                    case 0: SF_TRY(st, gamma_f32(&t, &L->g1)); break;
                    case 1: L->qkv_w = t, L->qkv_w.ndim = 2; break;
                    case 2: L->qkv_b = t; break;
                    case 3: L->proj_w = t, L->proj_w.ndim = 2; break;
                    default: L->proj_b = t; break;
                    }
                    break;
                case VM_HEAD:
                    if (k == 0) SF_TRY(st, gamma_f32(&t, &L->g1));
                    else if (k == 1) bind_conv(&L->c1, &t, &sd->n_slots, 1);
                    else L->c1.b = t;
                    break;
                default: /* resamplers: 2d conv, then time_conv (one cache slot) */
                    if (k == 0) {
                        bind_conv(&L->c1, &t, &sd->n_slots, 0);
                        if (m->kind == VM_DOWN2D || m->kind == VM_DOWN3D)
                            L->c1.stride[1] = L->c1.stride[2] = 2;
                    } else if (k == 1) {
                        L->c1.b = t;
                    } else if (k == 2) {
                        bind_conv(&L->c2, &t, &sd->n_slots, 0);
                        L->c2.slot = sd->n_slots++;
                        if (m->kind == VM_DOWN3D) L->c2.stride[0] = 2;
                    } else {
                        L->c2.b = t;
                    }
                    break;
                }
            }
        }
    }
out:
    return st;
}

int vae_create(const struct sf_vae_config *cfg, vae_get_fn get, void *ctx, struct sf_vae **out)
{
    char why[160];
    *out = NULL;
    if (sf_vae_config_check(cfg, why, sizeof why)) {
        SF_ERROR("vae", "config: %s", why);
        return SF_E_INVAL;
    }
    struct sf_vae *v = calloc(1, sizeof *v);
    if (!v) return SF_E_NOMEM;
    v->cfg = *cfg;
    int st = bind(v, get, ctx);
    if (st) {
        sf_vae_destroy(v);
        return st;
    }
    *out = v;
    return SF_OK;
}

void vae_set_files(struct sf_vae *v, void *files, void (*close_fn)(void *))
{
    v->files = files;
    v->files_close = close_fn;
}

int sf_vae_tiling_parse(const char *s, struct sf_vae_tiling *t, char *why, size_t n)
{
    char *end;
    long tile = strtol(s, &end, 10), stride = 0;
    if (*end == ':') stride = strtol(end + 1, &end, 10);
    else stride = tile * 3 / 4 / 8 * 8;
    if (*end || tile < 16 || tile > 65536 || tile % 8) {
        snprintf(why, n, "the tile must be a multiple of 8 pixels, at least 16 (e.g. 256:192)");
        return -1;
    }
    if (stride < 8 || stride > tile || stride % 8) {
        snprintf(why, n, "the stride must be a multiple of 8 pixels in 8..%ld", tile);
        return -1;
    }
    t->tile_px = (int)tile, t->stride_px = (int)stride;
    return 0;
}
