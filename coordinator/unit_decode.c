/* unit_decode.c — the `decode` unit kind (sf_unit.h): a denoise unit's final latent through the
 * Wan-VAE into a lossless shot file, RUNDIR/shots/STEM.mkv (FFV1 in Matroska, published by
 * rename), on a worker group's leader (the VAE is not sharded). Progress is counted in frames:
 * it keeps the stall timeout quiet, and is not logged as steps. */
#define _POSIX_C_SOURCE 200809L
#include "sf_cost.h"
#include "sf_file.h"
#include "sf_h5pack.h"
#include "sf_hash.h"
#include "sf_log.h"
#include "sf_plan.h"
#include "sf_render.h"
#include "sf_shot_file.h"
#include "sf_status.h"
#include "sf_unit.h"
#include "sf_vae.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- plan ---------------------------------------------------------------------------------- */

/* Appends the decode unit of denoise unit i. */
static int add(struct sf_plan_builder *b, int i)
{
    const struct sf_tier *tier = sf_campaign_tier(b->c, b->opt->tier);
    const struct sf_plan_unit dn = b->p->units[i];
    const struct sf_shot *s = sf_campaign_shot(b->c, dn.shot);
    const struct sf_sequence *seq = sf_campaign_sequence(b->c, s->sequence);
    int w, h;
    sf_campaign_tier_size(tier, (enum sf_aspect)dn.aspect, &w, &h);
    int64_t lf = (s->frames - 1) / 4 + 1, lh = h / 8, lw = w / 8;
    int dc = sf_plan_add(b, &sf_unit_decode, s->sequence,
                         sf_cost_vae_decode(b->m.vae_dim, lf, lh, lw), b->opt->hw->eff_vae,
                         sf_plan_vae_mem(&b->m, w, h), &i, 1, "%s/%s take %d %s decode",
                         seq->id, s->id, dn.take + 1, sf_aspect_name((enum sf_aspect)dn.aspect));
    if (dc < 0) return -1;
    struct sf_plan_unit *u = &b->p->units[dc];
    u->shot = dn.shot, u->take = dn.take, u->aspect = dn.aspect;
    return dc;
}

int sf_unit_decode_add(struct sf_plan_builder *b, int i)
{
    for (int k = i + 1; k < b->p->n_units; k++) /* a decode comes after its denoise */
        if (b->p->units[k].kind == &sf_unit_decode && b->p->sched[k].deps[0] == i) return k;
    return add(b, i);
}

/* One per denoise unit, after it, except those a continuation made already (the denoise plan
 * adds the decode of a continued take: sf_unit_decode_add). Linear in the units. */
static int plan(struct sf_plan_builder *b)
{
    const int n = b->p->n_units; /* the units of the kinds before this one */
    unsigned char *has = calloc((size_t)n + 1, 1);
    if (!has) return SF_E_NOMEM;
    for (int k = 0; k < n; k++)
        if (b->p->units[k].kind == &sf_unit_decode) has[b->p->sched[k].deps[0]] = 1;
    int st = SF_OK;
    for (int i = 0; i < n && st == SF_OK; i++)
        if (b->p->units[i].kind == &sf_unit_denoise && !has[i] && add(b, i) < 0) st = SF_E_NOMEM;
    free(has);
    return st;
}

/* ---- prepare ------------------------------------------------------------------------------- */

/* Its latent's unit, the shot file, and the key: the VAE's files and the latent's key. */
static int prepare(struct sf_render_setup *s, struct sf_render_job *j,
                   const struct sf_plan_unit *u, const struct sf_campaign *c)
{
    (void)u, (void)c;
    j->denoise_job = s->sched[j - s->jobs].deps[0];
    snprintf(j->out, sizeof j->out, "%s/shots/%s.mkv", s->rundir, j->stem);
    struct sf_canon cn;
    uint8_t d[SF_SHA256_BYTES];
    sf_canon_begin(&cn, "shotfarm.unit.decode.v1");
    sf_canon_str(&cn, "vae", s->vae_key);
    sf_canon_str(&cn, "latent", s->jobs[j->denoise_job].key);
    sf_canon_end(&cn, d);
    sf_sha256_hex(d, j->key);
    return SF_OK;
}

/* ---- run ----------------------------------------------------------------------------------- */

struct emit_ctx {
    struct sf_shot_file *f;
    uint8_t *rgb;
    const struct sf_render_report *r;
    int64_t done, total; /* frames */
};

/* x (3, n, H, W) in [-1, 1] -> RGB24 frames, with the reference pipeline's mapping
 * round((x / 2 + 0.5).clamp(0, 1) * 255). */
static int emit_frames(void *ctx, const float *x, int64_t frame0, int64_t n_frames, int64_t H,
                       int64_t W)
{
    (void)frame0;
    struct emit_ctx *e = ctx;
    const int64_t plane = H * W;
    for (int64_t f = 0; f < n_frames; f++) {
        for (int64_t i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++) {
                float v = x[((size_t)c * n_frames + f) * plane + i] * 0.5f + 0.5f;
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                e->rgb[3 * i + c] = (uint8_t)lrintf(v * 255.0f);
            }
        int st = sf_shot_file_write(e->f, e->rgb);
        if (st != SF_OK) {
            e->f = NULL; /* aborted by the writer */
            return st;
        }
    }
    e->done += n_frames; /* progress per chunk: what the stall timeout watches */
    if (e->r && e->r->step) e->r->step(e->r->arg, (int)e->done, (int)e->total);
    return SF_OK;
}

/* Test-only stand-in for the VAE (SF_TEST_DECODE_COUNTER=1, docs/testing.md): every frame is one
 * solid colour that names it, RGB (5 x frame, 40 + 60 x the shot's place in its sequence, 128),
 * so the assembly tests can read back which model frame each delivery frame shows. */
static int write_counter(const struct sf_render_setup *s, const struct sf_render_job *j,
                         const struct sf_render_job *dj)
{
    const int64_t H = dj->latent[1] * 8, W = dj->latent[2] * 8, T = 4 * (dj->latent[0] - 1) + 1;
    const int k = sf_campaign_shot(s->campaign, j->shot)->index;
    uint8_t *rgb = malloc((size_t)H * W * 3);
    struct sf_shot_file *f = NULL;
    int st = rgb ? sf_render_mkdirs(j->out, 1) : SF_E_NOMEM;
    if (st == SF_OK) st = sf_shot_file_open(j->out, (int)W, (int)H, 16, 1, &f);
    for (int64_t m = 0; m < T && st == SF_OK; m++) {
        for (int64_t i = 0; i < H * W; i++) {
            rgb[3 * i] = (uint8_t)(5 * m);
            rgb[3 * i + 1] = (uint8_t)(40 + 60 * k);
            rgb[3 * i + 2] = 128;
        }
        st = sf_shot_file_write(f, rgb); /* aborts f on failure */
    }
    if (st == SF_OK) st = sf_shot_file_commit(f);
    free(rgb);
    return st;
}

static int run(struct sf_render_worker *w, const struct sf_render_job *j,
               const struct sf_render_report *r)
{
    int st = SF_OK;
    const char *counter = getenv("SF_TEST_DECODE_COUNTER");
    if (counter && *counter == '1') return write_counter(w->s, j, &w->s->jobs[j->denoise_job]);
    const struct sf_render_job *dj = &w->s->jobs[j->denoise_job];
    struct sf_h5pack *pk = NULL;
    float *z = NULL;
    struct emit_ctx e = {.r = r, .total = 4 * (dj->latent[0] - 1) + 1};
    SF_TRY(st, sf_render_part_failed(&w->vae));
    if (!w->vae.p)
        SF_TRY(st, sf_render_part_ready(&w->vae, sf_vae_load(w->s->model_dir, (struct sf_vae **)&w->vae.p)));
    const int64_t T = dj->latent[0], H = dj->latent[1], W = dj->latent[2];
    const int zc = sf_vae_config_of(w->vae.p)->z_dim;
    const size_t n = (size_t)zc * T * H * W;
    z = malloc(n * sizeof *z);
    e.rgb = malloc((size_t)H * W * 64 * 3);
    if (!z || !e.rgb) {
        st = SF_E_NOMEM;
        goto out;
    }
    SF_TRY(st, sf_h5pack_open(dj->out, &pk));
    SF_TRY(st, sf_h5pack_read(pk, "latent", SF_DTYPE_F32, z, n * sizeof *z));
    sf_vae_denormalize(w->vae.p, z, T, H, W);
    SF_TRY(st, sf_render_mkdirs(j->out, 1));
    SF_TRY(st, sf_shot_file_open(j->out, (int)W * 8, (int)H * 8, 16, 1, &e.f));
    SF_TRY(st, sf_vae_decode(w->vae.p, z, T, H, W, NULL, emit_frames, &e));
    st = sf_shot_file_commit(e.f);
    e.f = NULL;
out:
    sf_shot_file_abort(e.f);
    sf_h5pack_close(pk);
    free(z);
    free(e.rgb);
    return st;
}


/* ---- resume -------------------------------------------------------------------------------- */

/* Published by rename: present means complete. */
static int output_ok(const struct sf_render_job *j)
{
    return sf_file_is_regular(j->out);
}

const struct sf_unit_kind sf_unit_decode = {
    .name = "decode",
    .status_row = "decode",
    .resource = SF_UNIT_GROUP,
    .ranks = SF_UNIT_LEADER,
    .plan = plan,
    .prepare = prepare,
    .run = run,
    .output_ok = output_ok,
};
