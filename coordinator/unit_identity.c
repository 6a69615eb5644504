/* unit_identity.c — the `identity` unit kind (sf_unit.h): the identity bank. One unit per element
 * that a shot shows and that has reference images or a reference clip: each reference (an image,
 * or a frame sampled from the clip by sf_media_clip_times' rule) is decoded (libavformat,
 * io/sf_media.h), fitted onto a white canvas of every size the element's shots render at and
 * VAE-encoded once (sf_vace_encode_ref, exactly the reference part of Wan2.1-VACE's
 * conditioning), into CACHE/identity/KEY.h5. Denoise units of the shots that show the element
 * read those latents (unit_denoise.c); every group reads the same file.
 * The subtle thing: the key is the SHA-256 of the reference files' bytes (the clip's with the
 * name of its sample rule), the target sizes and the VAE's files, never of paths or the
 * campaign, so a changed image re-encodes (and re-renders exactly the shots showing the element,
 * whose keys include this one), a moved one does not. */
#define _POSIX_C_SOURCE 200809L
#include "sf_cost.h"
#include "sf_h5pack.h"
#include "sf_hash.h"
#include "sf_log.h"
#include "sf_media.h"
#include "sf_plan.h"
#include "sf_render.h"
#include "sf_status.h"
#include "sf_unit.h"
#include "sf_vace.h"
#include "sf_vae.h"
#include "sf_vae_image.h"

#include <stdio.h>
#include <stdlib.h>

/* The most references of one element: its images and its clip's samples. */
#define MAX_ELEMENT_REFS (SF_CAMPAIGN_MAX_REFS + SF_MEDIA_CLIP_SAMPLES)

int sf_unit_identity_count(const struct sf_element *el)
{
    return el->n_refs + (el->clip ? SF_MEDIA_CLIP_SAMPLES : 0);
}

int sf_unit_identity_pick(const struct sf_campaign *c, const struct sf_shot *s, int max_refs,
                          int element[SF_UNIT_MAX_REFS], int ref[SF_UNIT_MAX_REFS])
{
    int n = 0;
    if (max_refs > SF_UNIT_MAX_REFS) max_refs = SF_UNIT_MAX_REFS;
    for (int r = 0; r < MAX_ELEMENT_REFS && n < max_refs; r++)
        for (int k = 0; k < s->n_elements && n < max_refs; k++)
            if (r < sf_unit_identity_count(sf_campaign_element(c, s->elements[k]))) {
                element[n] = s->elements[k];
                ref[n++] = r;
            }
    return n;
}

/* Bit a set when some shot showing element e renders aspect a (the sizes its references are
 * encoded at). */
static int element_aspects(const struct sf_campaign *c, int e)
{
    int mask = 0;
    for (int si = 0; si < sf_campaign_n_shots(c); si++) {
        const struct sf_shot *s = sf_campaign_shot(c, si);
        for (int k = 0; k < s->n_elements; k++)
            if (s->elements[k] == e)
                for (int a = 0; a < SF_ASPECT_COUNT; a++)
                    if (sf_plan_renders_aspect(c, s->sequence, a)) mask |= 1 << a;
    }
    return mask;
}

/* The distinct sizes of the aspects in mask (a square tier renders every aspect at one size),
 * in aspect order; returns how many. */
static int mask_sizes(const struct sf_tier *t, int mask, int w[SF_ASPECT_COUNT],
                      int h[SF_ASPECT_COUNT])
{
    int n = 0;
    for (int a = 0; a < SF_ASPECT_COUNT; a++) {
        if (!(mask & 1 << a)) continue;
        int cw, ch, seen = 0;
        sf_campaign_tier_size(t, (enum sf_aspect)a, &cw, &ch);
        for (int k = 0; k < n; k++)
            seen |= w[k] == cw && h[k] == ch;
        if (!seen) w[n] = cw, h[n++] = ch;
    }
    return n;
}

/* The bank's array of reference r at w x h: (16, 1, h/8, w/8), normalised. */
static void array_name(int r, int w, int h, char *buf, size_t n)
{
    snprintf(buf, n, "ref%d.%dx%d", r, w, h);
}

/* ---- plan ---------------------------------------------------------------------------------- */

/* One per element with references that a shot shows: a one-frame encode per reference (image
 * or clip sample) and size. */
static int plan(struct sf_plan_builder *b)
{
    const struct sf_tier *tier = sf_campaign_tier(b->c, b->opt->tier);
    for (int e = 0; e < sf_campaign_n_elements(b->c); e++) {
        const struct sf_element *el = sf_campaign_element(b->c, e);
        const int n_refs = sf_unit_identity_count(el);
        int aspects = n_refs ? element_aspects(b->c, e) : 0;
        if (!aspects) continue;
        double fl = 0, mem = 0;
        int w[SF_ASPECT_COUNT], h[SF_ASPECT_COUNT];
        for (int k = 0, n = mask_sizes(tier, aspects, w, h); k < n; k++) {
            fl += n_refs * sf_cost_vae_encode(b->m.vae_dim, 1, h[k] / 8, w[k] / 8);
            double m = sf_plan_vae_mem(&b->m, w[k], h[k]);
            if (m > mem) mem = m;
        }
        int u = sf_plan_add(b, &sf_unit_identity, -1, fl, b->opt->hw->eff_vae, mem, NULL, 0,
                            "identity %s (%d refs)", el->id, n_refs);
        if (u < 0) return SF_E_NOMEM;
        b->p->units[u].element = e;
    }
    return SF_OK;
}

/* ---- prepare ------------------------------------------------------------------------------- */

/* The cache file, the status row (the element's), and the key: the VAE's key, each reference
 * file's SHA-256 (the clip's with its sample rule) and the sizes. An element without a clip
 * keeps the key it had before clips. */
static int prepare(struct sf_render_setup *s, struct sf_render_job *j,
                   const struct sf_plan_unit *u, const struct sf_campaign *c)
{
    const struct sf_element *el = sf_campaign_element(c, u->element);
    const struct sf_tier *t = sf_campaign_tier(c, (enum sf_tier_kind)s->tier);
    j->aspects = element_aspects(c, u->element);
    /* status shows the bank per element: "identity bank (runner)" */
    snprintf(j->row, sizeof j->row, "%s (%s)", sf_unit_identity.status_row, el->id);
    struct sf_canon cn;
    uint8_t d[SF_SHA256_BYTES];
    sf_canon_begin(&cn, "shotfarm.unit.identity.v1");
    sf_canon_str(&cn, "vae", s->vae_key);
    sf_canon_list_begin(&cn, "refs", (size_t)el->n_refs);
    for (int r = 0; r < el->n_refs; r++) {
        uint8_t img[SF_SHA256_BYTES];
        int st = sf_sha256_file(el->refs[r], img);
        if (st != SF_OK) {
            SF_ERROR("render", "%s: reference %d of element `%s` cannot be read; fix its path in "
                     "the campaign's elements", el->refs[r], r + 1, el->id);
            return st;
        }
        sf_canon_digest(&cn, NULL, img);
    }
    sf_canon_list_end(&cn);
    if (el->clip) {
        uint8_t clip[SF_SHA256_BYTES];
        int st = sf_sha256_file(el->clip, clip);
        if (st != SF_OK) {
            SF_ERROR("render", "%s: the reference clip of element `%s` cannot be read; fix its "
                     "path in the campaign's elements", el->clip, el->id);
            return st;
        }
        sf_canon_digest(&cn, "clip", clip);
        sf_canon_str(&cn, "clip_rule", SF_MEDIA_CLIP_RULE);
        sf_canon_f64(&cn, "clip_seconds", el->clip_seconds);
    }
    int w[SF_ASPECT_COUNT], h[SF_ASPECT_COUNT];
    const int n_sizes = mask_sizes(t, j->aspects, w, h);
    sf_canon_list_begin(&cn, "sizes", (size_t)n_sizes);
    for (int k = 0; k < n_sizes; k++) {
        sf_canon_int(&cn, NULL, w[k]);
        sf_canon_int(&cn, NULL, h[k]);
    }
    sf_canon_list_end(&cn);
    sf_canon_end(&cn, d);
    sf_sha256_hex(d, j->key);
    snprintf(j->out, sizeof j->out, "%s/identity/%s.h5", s->cache, j->key);
    return SF_OK;
}

/* ---- run ----------------------------------------------------------------------------------- */

/* A bank file that verifies (h5pack checks its sidecar) and carries this unit's key. */
static int output_ok(const struct sf_render_job *j)
{
    return sf_render_h5_has_key(j->out, j->key);
}

static int run(struct sf_render_worker *w, const struct sf_render_job *j,
               const struct sf_render_report *r)
{
    (void)r;
    int st = SF_OK, n = 0;
    const struct sf_campaign *c = w->s->campaign;
    const struct sf_element *el = sf_campaign_element(c, j->element);
    const struct sf_tier *t = sf_campaign_tier(c, (enum sf_tier_kind)w->s->tier);
    const int n_refs = sf_unit_identity_count(el);
    struct sf_h5_array arr[MAX_ELEMENT_REFS * SF_ASPECT_COUNT];
    char names[MAX_ELEMENT_REFS * SF_ASPECT_COUNT][48];
    float *z[MAX_ELEMENT_REFS * SF_ASPECT_COUNT] = {0}, *pix = NULL;
    uint8_t *rgb = NULL, *clip = NULL;
    int clip_w = 0, clip_h = 0;
    if (output_ok(j)) { /* another render (or an earlier launch) encoded it */
        SF_INFO("render", "%s: cached (%s)", j->name, j->out);
        return SF_OK;
    }
    SF_TRY(st, sf_render_part_failed(&w->vae));
    if (!w->vae.p)
        SF_TRY(st, sf_render_part_ready(&w->vae, sf_vae_load(w->s->model_dir,
                                                             (struct sf_vae **)&w->vae.p)));
    if (el->clip) { /* the samples, in one pass over the clip */
        double times[SF_MEDIA_CLIP_SAMPLES];
        char why[256] = "";
        sf_media_clip_times(el->clip_seconds, times);
        st = sf_media_frames(el->clip, SF_MEDIA_CLIP_SAMPLES, times, &clip, &clip_w, &clip_h,
                             why, sizeof why);
        if (st != SF_OK) {
            SF_ERROR("render", "%s: the reference clip of element `%s` %s (run `shotfarm "
                     "validate` on the campaign)", el->clip, el->id,
                     st == SF_E_NOMEM ? "does not fit in memory" : why);
            goto out;
        }
    }
    for (int ri = 0; ri < n_refs; ri++) {
        int iw = clip_w, ih = clip_h;
        const uint8_t *src;
        if (ri < el->n_refs) {
            SF_TRY(st, sf_vae_image_read(el->refs[ri], &rgb, &iw, &ih));
            src = rgb;
        } else {
            src = clip + (size_t)(ri - el->n_refs) * 3 * (size_t)clip_w * (size_t)clip_h;
        }
        pix = malloc((size_t)3 * (size_t)iw * (size_t)ih * sizeof *pix);
        if (!pix) {
            st = SF_E_NOMEM;
            goto out;
        }
        sf_vae_frames_from_rgb8(src, 1, ih, iw, pix);
        const struct sf_vace_image img = {pix, ih, iw};
        int sw[SF_ASPECT_COUNT], sh[SF_ASPECT_COUNT];
        for (int k = 0, n_sizes = mask_sizes(t, j->aspects, sw, sh); k < n_sizes; k++) {
            const int cw = sw[k], ch = sh[k];
            z[n] = malloc((size_t)16 * (size_t)(ch / 8) * (size_t)(cw / 8) * sizeof *z[n]);
            if (!z[n]) {
                st = SF_E_NOMEM;
                goto out;
            }
            SF_TRY(st, sf_vace_encode_ref(w->vae.p, &img, ch, cw, z[n]));
            array_name(ri, cw, ch, names[n], sizeof names[n]);
            arr[n] = (struct sf_h5_array){.name = names[n],
                                          .dtype = SF_DTYPE_F32,
                                          .ndim = 4,
                                          .shape = {16, 1, ch / 8, cw / 8},
                                          .data = z[n]};
            n++;
        }
        free(rgb), rgb = NULL;
        free(pix), pix = NULL;
    }
    SF_TRY(st, sf_render_mkdirs(j->out, 1));
    struct sf_h5_attr at[] = {
        {.name = "unit", .type = SF_H5_STRING, .s = j->name},
        {.name = "element", .type = SF_H5_STRING, .s = el->id},
        {.name = "refs", .type = SF_H5_INT, .i = n_refs},
        {.name = "key", .type = SF_H5_STRING, .s = j->key},
    };
    SF_TRY(st, sf_h5pack_write(j->out, arr, n, at, (int)(sizeof at / sizeof at[0])));
    SF_INFO("render", "%s: %d reference latent(s) in %s", j->name, n, j->out);
out:
    for (size_t i = 0; i < sizeof z / sizeof z[0]; i++)
        free(z[i]);
    free(rgb);
    free(clip);
    free(pix);
    return st;
}

int sf_unit_identity_read(const struct sf_render_job *bank, int ref, int width, int height,
                          float *z)
{
    struct sf_h5pack *p = NULL;
    char name[48];
    array_name(ref, width, height, name, sizeof name);
    int st = sf_h5pack_open(bank->out, &p);
    if (st == SF_OK)
        st = sf_h5pack_read(p, name, SF_DTYPE_F32, z,
                            (size_t)16 * (size_t)(height / 8) * (size_t)(width / 8) * sizeof *z);
    if (st != SF_OK)
        SF_ERROR("render", "%s: no reference latent `%s` for %s (delete the file to encode the "
                 "references again)", bank->out, name, bank->name);
    sf_h5pack_close(p);
    return st;
}

const struct sf_unit_kind sf_unit_identity = {
    .name = "identity",
    .status_row = "identity bank",
    .resource = SF_UNIT_GROUP,
    .ranks = SF_UNIT_LEADER,
    .plan = plan,
    .prepare = prepare,
    .run = run,
    .output_ok = output_ok,
};
