/* unit_master.c — the `master` unit kind (sf_unit.h, docs/deliverables.md § Shot masters): each
 * shot's selected take as a ProRes 422 HQ file at the delivery rate and size, with tail handles,
 * for the editor who re-cuts the spots: RUNDIR/out/shots/CAMPAIGN_SEQ_SHOT_ASPECT_takeK.mov.
 * One per shot and natively rendered aspect, after its decode; a CPU unit like assembly, and
 * written by the same code (sf_assemble.h), so the time line, picture and versions are the
 * spots'. The subtle thing: Wan renders 4n+1 frames, a little more than the shot's duration;
 * those frames are the handles, up to HANDLES delivery frames after the cut point (none before:
 * the render starts at the shot's first frame). */
#define _POSIX_C_SOURCE 200809L
#include "sf_assemble.h"
#include "sf_hash.h"
#include "sf_plan.h"
#include "sf_render.h"
#include "sf_status.h"
#include "sf_unit.h"

#include <stdio.h>
#include <string.h>

#define HANDLES 12 /* tail handle, delivery frames, at most */

/* Delivery frames of shot sh with its tail handle: its duration at the rate plus the frames the
 * render has beyond it, at most HANDLES. A continuing shot's master starts where its spots do, at
 * its first frame the continued shot has not played (sf_shot.lead). */
static int64_t master_frames(const struct sf_shot *sh, struct sf_fps fps)
{
    const int64_t body = (int64_t)sh->duration_ms * fps.num / (1000LL * fps.den);
    const int64_t have = (int64_t)(sh->frames - sh->lead) * fps.num / (16LL * fps.den); /* model
                                                                     frames played cover */
    return have < body + HANDLES ? (have > body ? have : body) : body + HANDLES;
}

/* Per shot and rendered aspect, after the decode of its selected take, priced like a spot's
 * ProRes file. */
static int plan(struct sf_plan_builder *b)
{
    const struct sf_campaign *c = b->c;
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    for (int si = 0; si < sf_campaign_n_shots(c); si++) {
        const struct sf_shot *sh = sf_campaign_shot(c, si);
        const struct sf_sequence *seq = sf_campaign_sequence(c, sh->sequence);
        for (int a = 0; a < SF_ASPECT_COUNT; a++) {
            if (!sf_plan_renders_aspect(c, sh->sequence, a)) continue;
            int d = sf_plan_find(b, &sf_unit_decode, si, sh->selected_take, a, -1);
            SF_ASSERT(d >= 0); /* the decode kind comes first */
            int w, h;
            sf_assemble_size(dl->resolution, a, &w, &h);
            int u = sf_plan_add(b, &sf_unit_master, sh->sequence, 0, 0, 6.0 * w * h * 4, &d, 1,
                                "%s/%s take %d %s master", seq->id, sh->id, sh->selected_take + 1,
                                sf_aspect_name((enum sf_aspect)a));
            if (u < 0) return SF_E_NOMEM;
            b->p->units[u].seconds = sf_assemble_seconds(SF_CODEC_PRORES, b->opt->tier,
                                                         master_frames(sh, dl->fps), w, h);
            b->p->units[u].shot = si, b->p->units[u].take = sh->selected_take;
            b->p->units[u].aspect = a;
        }
    }
    return SF_OK;
}

/* The unit's record and key: the decode's key and every delivery setting of the file. */
static int prepare(struct sf_render_setup *s, struct sf_render_job *j,
                   const struct sf_plan_unit *u, const struct sf_campaign *c)
{
    (void)u;
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    char tc[16];
    sf_assemble_timecode(dl, tc, sizeof tc);
    snprintf(j->out, sizeof j->out, "%s/out/.units/%s.master.json", s->rundir, j->stem);
    const struct sf_render_job *dj = &s->jobs[s->sched[j - s->jobs].deps[0]];
    struct sf_canon cn;
    uint8_t d[SF_SHA256_BYTES];
    sf_canon_begin(&cn, "shotfarm.unit.master.v1");
    sf_canon_str(&cn, "campaign", sf_campaign_name(c));
    sf_canon_str(&cn, "decode", dj->key);
    sf_canon_int(&cn, "duration_ms", sf_campaign_shot(c, j->shot)->duration_ms);
    sf_canon_int(&cn, "lead", sf_campaign_shot(c, j->shot)->lead);
    sf_canon_int(&cn, "fps_num", dl->fps.num);
    sf_canon_int(&cn, "fps_den", dl->fps.den);
    sf_canon_int(&cn, "resolution", dl->resolution);
    sf_canon_int(&cn, "conform_blend", dl->conform_blend);
    sf_canon_int(&cn, "handles", HANDLES);
    sf_canon_str(&cn, "timecode", tc);
    sf_canon_end(&cn, d);
    sf_sha256_hex(d, j->key);
    return SF_OK;
}

static int run(struct sf_render_worker *w, const struct sf_render_job *j,
               const struct sf_render_report *r)
{
    const struct sf_campaign *c = w->s->campaign;
    const struct sf_shot *sh = sf_campaign_shot(c, j->shot);
    const struct sf_sequence *seq = sf_campaign_sequence(c, sh->sequence);
    struct sf_assemble_cut cut = {.n = 1, .shots = {j->shot}, .subdir = "shots"};
    for (int l = 0; l < SF_LANG_COUNT; l++)
        cut.sound_job[l] = -1; /* picture masters: silent (the mix stage has the stems) */
    char at[8];
    cut.frames = master_frames(sh, sf_campaign_deliverables(c)->fps);
    cut.codecs[SF_CODEC_PRORES] = 1;
    sf_assemble_aspect_tag(j->aspect, at, sizeof at);
    snprintf(cut.base, sizeof cut.base, "%s_%s_%s_%s_take%d", sf_campaign_name(c), seq->id, sh->id,
             at, j->take + 1);
    snprintf(cut.title, sizeof cut.title, "%s %s/%s take %d %s master", sf_campaign_name(c),
             seq->id, sh->id, j->take + 1, sf_aspect_name((enum sf_aspect)j->aspect));
    return sf_assemble_files(w, j, r, &cut);
}

const struct sf_unit_kind sf_unit_master = {
    .name = "master",
    .status_row = "shot masters",
    .resource = SF_UNIT_CPU,
    .plan = plan,
    .prepare = prepare,
    .run = run,
    .output_ok = sf_assemble_output_ok,
    .remove_output = sf_assemble_remove_record,
};
