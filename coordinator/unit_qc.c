/* unit_qc.c — the `qc` unit kind (sf_unit.h, docs/review.md § QC): every spot's files are
 * checked after its assemble unit (io/sf_qc.h: EBU R 103 levels, black and frozen runs, ITU-R
 * BT.1702 flashes) and each file's entry in RUNDIR/out/deliverables.json gets a `qc` object. A
 * CPU unit. A spot that fails is flagged, never silently delivered: its entries say
 * `"pass": false` with the reasons, a warning names it in the log, and the run's report
 * (report.html, printed at the end of render) lists it first. The unit itself succeeds: the
 * files are delivered and the verdict is a finding for a person, not a failure of the farm.
 *
 * The subtle thing: the languages of one codec carry the same picture packets (the assembly
 * encodes each codec once), so the picture is decoded once per codec and its verdict holds for
 * every language's file of that codec. */
#define _POSIX_C_SOURCE 200809L
#include "sf_assemble.h"
#include "sf_brand.h"
#include "sf_hash.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_plan.h"
#include "sf_qc.h"
#include "sf_render.h"
#include "sf_review.h"
#include "sf_status.h"
#include "sf_unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION "shotfarm.unit.qc.v1" /* a change of the checks changes every key */

/* One per spot, after its assemble unit; priced as a decode of its pictures. */
static int plan(struct sf_plan_builder *b)
{
    const struct sf_campaign *c = b->c;
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    int n_codecs = 0;
    for (int k = 0; k < SF_CODEC_COUNT; k++)
        n_codecs += dl->codecs[k];
    const int n_units = b->p->n_units;
    for (int i = 0; i < n_units; i++) {
        const struct sf_plan_unit *a = &b->p->units[i];
        if (a->kind != &sf_unit_assemble) continue;
        struct sf_assemble_cut cut;
        sf_assemble_spot_cut(c, a->sequence, a->aspect, a->length, &cut);
        int w, h;
        sf_assemble_size(dl->resolution, a->aspect, &w, &h);
        char len[16];
        sf_assemble_length_tag(c, a->length, len, sizeof len);
        int u = sf_plan_add(b, &sf_unit_qc, a->sequence, 0, 0, 16.0 * w * h, &i, 1, "%s %s %s qc",
                            sf_campaign_sequence(c, a->sequence)->id,
                            sf_aspect_name((enum sf_aspect)a->aspect), len);
        if (u < 0) return SF_E_NOMEM;
        /* decode and measure: about 30 Mpixel/s (`shotfarm qc` on the review test's 640x360
         * FFV1 spots took 1.3 s of CPU for 44 Mpixel on the 2-core test machine) */
        b->p->units[u].seconds = (double)n_codecs * (double)cut.frames * w * h / 30e6;
        b->p->units[u].aspect = a->aspect;
        b->p->units[u].length = a->length;
    }
    return SF_OK;
}

static int prepare(struct sf_render_setup *s, struct sf_render_job *j,
                   const struct sf_plan_unit *u, const struct sf_campaign *c)
{
    (void)u, (void)c;
    const struct sf_render_job *spot = &s->jobs[s->sched[j - s->jobs].deps[0]];
    struct sf_qc_opts o;
    sf_qc_opts_default(&o);
    snprintf(j->stem, sizeof j->stem, "%s", spot->stem);
    snprintf(j->out, sizeof j->out, "%s/out/.units/%s.qc.json", s->rundir, j->stem);
    struct sf_canon cn;
    uint8_t d[SF_SHA256_BYTES];
    sf_canon_begin(&cn, VERSION);
    sf_canon_str(&cn, "spot", spot->key);
    sf_canon_f64(&cn, "black_seconds", o.black_seconds);
    sf_canon_f64(&cn, "freeze_seconds", o.freeze_seconds);
    sf_canon_end(&cn, d);
    sf_sha256_hex(d, j->key);
    return SF_OK;
}

struct verdicts {
    int n;
    const struct sf_review_file *files;
    int of[SF_REVIEW_MAX_FILES];          /* file i's verdict is that of file of[i] */
    struct sf_qc_result res[SF_REVIEW_MAX_FILES];
};

static void write_qc(struct sf_jw *w, int i, void *arg)
{
    const struct verdicts *v = arg;
    sf_qc_write_json(w, &v->res[v->of[i]]);
}

/* The record: pass, and per file its verdict and which file's picture was decoded. */
static void write_extra(struct sf_jw *w, void *arg)
{
    const struct verdicts *v = arg;
    int pass = 1;
    for (int i = 0; i < v->n; i++)
        pass &= v->res[v->of[i]].pass;
    sf_jw_key(w, "pass"), sf_jw_bool(w, pass);
    sf_jw_key(w, "results"), sf_jw_arr_begin(w);
    for (int i = 0; i < v->n; i++) {
        sf_jw_obj_begin(w);
        sf_jw_key(w, "path"), sf_jw_str(w, v->files[i].path);
        sf_jw_key(w, "decoded"), sf_jw_str(w, v->files[v->of[i]].path);
        sf_jw_key(w, "qc"), sf_qc_write_json(w, &v->res[v->of[i]]);
        sf_jw_obj_end(w);
    }
    sf_jw_arr_end(w);
}

/* The spot's end card (docs/brand.md) is a still picture the campaign intends: its interval is
 * not a freeze (nor, if it is dark, a black run). */
static void intend_end_card(const struct sf_campaign *c, const struct sf_assemble_cut *cut,
                            struct sf_qc_opts *o)
{
    if (!cut->brand || !cut->brand->end_card.file) return;
    const struct sf_fps fps = sf_campaign_deliverables(c)->fps;
    const int64_t n = sf_brand_end_card_frames(cut->brand->end_card.duration_ms, fps);
    o->intended[0][0] = (double)(cut->frames - n) * fps.den / fps.num;
    o->intended[0][1] = (double)cut->frames * fps.den / fps.num;
    o->n_intended = 1;
}

static int run(struct sf_render_worker *w, const struct sf_render_job *j,
               const struct sf_render_report *r)
{
    const struct sf_render_setup *s = w->s;
    struct sf_review_file files[SF_REVIEW_MAX_FILES];
    struct verdicts *v = calloc(1, sizeof *v);
    int st = SF_OK, n = 0;
    if (!v) return SF_E_NOMEM;
    SF_TRY(st, sf_review_read_record(&s->jobs[s->sched[j - s->jobs].deps[0]], files, &n));
    v->n = n, v->files = files;
    /* one decode per codec: the languages share its packets, unless supers give each language
     * its own picture (docs/brand.md) */
    struct sf_assemble_cut cut;
    sf_assemble_spot_cut(s->campaign, j->sequence, j->aspect, j->length, &cut);
    const int per_language = cut.brand && sf_brand_per_language(cut.brand, cut.length);
    for (int i = 0; i < n; i++) {
        v->of[i] = i;
        for (int k = 0; k < i && !per_language && v->of[i] == i; k++)
            if (files[k].codec == files[i].codec) v->of[i] = k;
        if (v->of[i] != i) continue;
        struct sf_qc_opts o;
        sf_qc_opts_default(&o);
        o.progress = sf_review_alive, o.progress_arg = (void *)r;
        intend_end_card(s->campaign, &cut, &o);
        SF_TRY(st, sf_qc_file(files[i].path, &o, &v->res[i]));
    }
    const char *paths[SF_REVIEW_MAX_FILES];
    for (int i = 0; i < n; i++)
        paths[i] = files[i].path;
    SF_TRY(st, sf_assemble_index_annotate(s, paths, n, "qc", write_qc, v));
    SF_TRY(st, sf_review_write_record(j, paths, n, write_extra, v));
    int failed = 0;
    for (int i = 0; i < n; i++) {
        if (v->of[i] != i || v->res[i].pass) continue;
        SF_WARN("qc", "%s: FAILED QC (%s): %s; delivered but flagged (`qc` in "
                "out/deliverables.json, report.html): change the shots and render again",
                j->name, per_language ? files[i].path : sf_codec_name(files[i].codec),
                v->res[i].failures);
        failed = 1;
    }
    if (!failed) SF_INFO("qc", "%s: passed (%d files)", j->name, n);
out:
    free(v);
    return st;
}

const struct sf_unit_kind sf_unit_qc = {
    .name = "qc",
    .status_row = "review",
    .resource = SF_UNIT_CPU,
    .plan = plan,
    .prepare = prepare,
    .run = run,
    .output_ok = sf_assemble_output_ok,
    .remove_output = sf_assemble_remove_record,
};
