/* unit_timeline.c — the `timeline` unit kind (sf_unit.h, docs/review.md § Timelines): per spot
 * (sequence x delivered aspect x length) an OpenTimelineIO file and a CMX3600 EDL of its edit,
 * RUNDIR/out/timelines/SPOT[_vN].{otio,edl}, whose clips are the shot masters
 * (RUNDIR/out/shots/, unit_master.c) placed where the assembly put each shot, and whose markers
 * are the dialogue lines. A CPU unit after the spot's assemble unit and its shots' masters.
 *
 * The subtle thing: the cut points come from the assembly's own rule (sf_assemble_spans walks
 * every delivery frame through the function that picks its picture), so the edit matches the
 * delivered file frame for frame whatever the rate and conform; the names and versions come from
 * the delivering units' records, because a file's version is known only after its unit ran. */
#define _POSIX_C_SOURCE 200809L
#include "sf_assemble.h"
#include "sf_brand.h"
#include "sf_hash.h"
#include "sf_log.h"
#include "sf_plan.h"
#include "sf_render.h"
#include "sf_review.h"
#include "sf_status.h"
#include "sf_timeline.h"
#include "sf_unit.h"

#include <stdio.h>
#include <string.h>

#define MAX_MARKERS 64 /* dialogue lines per shot shown as markers */

/* After the spot's assemble unit (its first dependency) and the masters of the cut's shots in
 * the aspect they were rendered in (reframed spots cut the master aspect's shots). */
static int plan(struct sf_plan_builder *b)
{
    const struct sf_campaign *c = b->c;
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    const int n_units = b->p->n_units; /* the assemble units are all before this point */
    for (int i = 0; i < n_units; i++) {
        const struct sf_plan_unit *a = &b->p->units[i];
        if (a->kind != &sf_unit_assemble) continue;
        const struct sf_sequence *seq = sf_campaign_sequence(c, a->sequence);
        const int src = dl->reframe ? (int)seq->aspect : a->aspect;
        struct sf_assemble_cut cut;
        sf_assemble_spot_cut(c, a->sequence, a->aspect, a->length, &cut);
        int deps[1 + SF_CAMPAIGN_MAX_SHOTS], n_deps = 0;
        deps[n_deps++] = i;
        for (int k = 0; k < cut.n; k++) {
            const int m = sf_plan_find(b, &sf_unit_master, cut.shots[k],
                                       sf_campaign_shot(c, cut.shots[k])->selected_take, src, -1);
            SF_ASSERT(m >= 0); /* the master kind comes first and renders every shot's take */
            deps[n_deps++] = m;
        }
        char len[16];
        sf_assemble_length_tag(c, a->length, len, sizeof len);
        int u = sf_plan_add(b, &sf_unit_timeline, a->sequence, 0, 0, 1 << 20, deps, n_deps,
                            "%s %s %s timeline", seq->id, sf_aspect_name((enum sf_aspect)a->aspect),
                            len);
        if (u < 0) return SF_E_NOMEM;
        b->p->units[u].seconds = 0.05;
        b->p->units[u].aspect = a->aspect;
        b->p->units[u].length = a->length;
    }
    return SF_OK;
}

/* Key: the spot's and the masters' keys (their files), and the dialogue lines (the markers). */
static int prepare(struct sf_render_setup *s, struct sf_render_job *j,
                   const struct sf_plan_unit *u, const struct sf_campaign *c)
{
    (void)u;
    const int i = (int)(j - s->jobs);
    const struct sf_render_job *spot = &s->jobs[s->sched[i].deps[0]];
    snprintf(j->stem, sizeof j->stem, "%s", spot->stem);
    snprintf(j->out, sizeof j->out, "%s/out/.units/%s.timeline.json", s->rundir, j->stem);
    struct sf_canon cn;
    uint8_t d[SF_SHA256_BYTES];
    sf_canon_begin(&cn, "shotfarm.unit.timeline.v1");
    sf_canon_list_begin(&cn, "deps", (size_t)s->sched[i].n_deps);
    for (int k = 0; k < s->sched[i].n_deps; k++)
        sf_canon_str(&cn, NULL, s->jobs[s->sched[i].deps[k]].key);
    sf_canon_list_end(&cn);
    struct sf_assemble_cut cut;
    sf_assemble_spot_cut(c, j->sequence, j->aspect, j->length, &cut);
    sf_canon_list_begin(&cn, "dialogue", (size_t)cut.n);
    for (int k = 0; k < cut.n; k++) {
        const struct sf_shot *sh = sf_campaign_shot(c, cut.shots[k]);
        sf_canon_list_begin(&cn, NULL, (size_t)sh->n_dialogue * 4);
        for (int l = 0; l < sh->n_dialogue; l++) {
            const struct sf_dialogue *dg = &sh->dialogue[l];
            sf_canon_int(&cn, NULL, dg->start_ms);
            sf_canon_str(&cn, NULL, sf_lang_name(dg->language));
            sf_canon_str(&cn, NULL, sf_campaign_element(c, dg->speaker)->id);
            sf_canon_str(&cn, NULL, dg->text);
        }
        sf_canon_list_end(&cn);
    }
    sf_canon_list_end(&cn);
    sf_canon_end(&cn, d);
    sf_sha256_hex(d, j->key);
    return SF_OK;
}

static int run(struct sf_render_worker *w, const struct sf_render_job *j,
               const struct sf_render_report *r)
{
    (void)r;
    const struct sf_render_setup *s = w->s;
    const struct sf_campaign *c = s->campaign;
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    const int i = (int)(j - s->jobs);
    int st = SF_OK, n_spot = 0;
    struct sf_review_file spot[SF_REVIEW_MAX_FILES];
    struct sf_assemble_cut cut;
    sf_assemble_spot_cut(c, j->sequence, j->aspect, j->length, &cut);
    SF_ASSERT(s->sched[i].n_deps == 1 + cut.n);
    SF_TRY(st, sf_review_read_record(&s->jobs[s->sched[i].deps[0]], spot, &n_spot));

    int64_t first[SF_CAMPAIGN_MAX_SHOTS], count[SF_CAMPAIGN_MAX_SHOTS];
    sf_assemble_spans(c, &cut, first, count);
    struct sf_review_file master[SF_CAMPAIGN_MAX_SHOTS];
    struct sf_timeline_clip clips[SF_CAMPAIGN_MAX_SHOTS + 1]; /* the shots, the end card */
    struct sf_timeline_marker markers[SF_CAMPAIGN_MAX_SHOTS][MAX_MARKERS];
    char names[SF_CAMPAIGN_MAX_SHOTS][160], mnames[SF_CAMPAIGN_MAX_SHOTS][MAX_MARKERS][96];
    int n_clips = 0;
    /* an end card (docs/brand.md) covers the last frames: the shots stop where it starts */
    const int64_t card = cut.brand && cut.brand->end_card.file
                             ? sf_brand_end_card_frames(cut.brand->end_card.duration_ms, dl->fps)
                             : 0;
    for (int k = 0; k < cut.n; k++) {
        if (count[k] && first[k] + count[k] > cut.frames - card)
            count[k] = first[k] < cut.frames - card ? cut.frames - card - first[k] : 0;
        if (!count[k]) continue; /* cut off by the length or the end card */
        const struct sf_shot *sh = sf_campaign_shot(c, cut.shots[k]);
        int n_m = 0;
        SF_TRY(st, sf_review_read_record(&s->jobs[s->sched[i].deps[1 + k]], &master[k], &n_m));
        struct sf_timeline_clip *cl = &clips[n_clips++];
        snprintf(names[k], sizeof names[k], "%s/%s take %d", sf_campaign_sequence(c, sh->sequence)->id,
                 sh->id, sh->selected_take + 1);
        *cl = (struct sf_timeline_clip){.name = names[k],
                                        .source = master[k].path,
                                        .source_frames = master[k].frames,
                                        .source_in = 0,
                                        .record_in = first[k],
                                        .frames = count[k],
                                        .markers = markers[k]};
        for (int l = 0; l < sh->n_dialogue && cl->n_markers < MAX_MARKERS; l++) {
            const struct sf_dialogue *dg = &sh->dialogue[l];
            const int64_t at = (int64_t)dg->start_ms * dl->fps.num / (1000LL * dl->fps.den);
            if (at >= cl->source_in + cl->frames) continue; /* after the cut */
            const int mk = cl->n_markers++;
            snprintf(mnames[k][mk], sizeof mnames[k][mk], "%s (%s)",
                     sf_campaign_element(c, dg->speaker)->id, sf_lang_name(dg->language));
            markers[k][mk] = (struct sf_timeline_marker){.frame = at,
                                                         .name = mnames[k][mk],
                                                         .comment = dg->text,
                                                         .language = sf_lang_name(dg->language)};
        }
    }

    if (card) /* a still: its media is the image, as long as the card */
        clips[n_clips++] = (struct sf_timeline_clip){.name = "end card",
                                                     .source = cut.brand->end_card.file,
                                                     .source_frames = card,
                                                     .record_in = cut.frames - card,
                                                     .frames = card};

    /* named after the spot, with its version: SPOT_v2.otio edits SPOT_LANG_v2.mp4 */
    char name[320], otio[SF_RENDER_PATH_MAX + 400], edl[SF_RENDER_PATH_MAX + 400];
    char disclosure[1024];
    sf_review_disclosure(s, disclosure, sizeof disclosure);
    if (spot[0].version > 1)
        snprintf(name, sizeof name, "%s_v%d", cut.base, spot[0].version);
    else
        snprintf(name, sizeof name, "%s", cut.base);
    snprintf(otio, sizeof otio, "%s/out/timelines/%s.otio", s->rundir, name);
    snprintf(edl, sizeof edl, "%s/out/timelines/%s.edl", s->rundir, name);
    struct sf_timeline t = {.name = name,
                            .fps = dl->fps,
                            .drop_frame = dl->drop_frame,
                            .frames = cut.frames,
                            .n_clips = n_clips,
                            .clips = clips,
                            .comment = disclosure};
    memcpy(t.tc_start, dl->tc_start, sizeof t.tc_start);
    SF_TRY(st, sf_render_mkdirs(otio, 1));
    SF_TRY(st, sf_timeline_write_otio(&t, otio));
    SF_TRY(st, sf_timeline_write_edl(&t, edl));
    SF_INFO("timeline", "%s: %d clips -> %s, %s", j->name, n_clips, otio, edl);
    const char *paths[] = {otio, edl};
    st = sf_review_write_record(j, paths, 2, NULL, NULL);
out:
    return st;
}

const struct sf_unit_kind sf_unit_timeline = {
    .name = "timeline",
    .status_row = "review",
    .resource = SF_UNIT_CPU,
    .plan = plan,
    .prepare = prepare,
    .run = run,
    .output_ok = sf_assemble_output_ok,
    .remove_output = sf_assemble_remove_record,
};
