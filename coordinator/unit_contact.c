/* unit_contact.c — the `contact` unit kind (sf_unit.h, docs/review.md § Contact sheets): per
 * sequence a contact sheet, RUNDIR/out/review/CAMPAIGN_SEQ_contact.png, one row per shot and
 * take in the sequence's rendered aspect, labelled with shot id, take, seed and whether it is the
 * selected take (io/sf_contact.h). A CPU unit after the decodes of every take, so a producer
 * choosing between takes sees them all side by side. */
#define _POSIX_C_SOURCE 200809L
#include "sf_assemble.h"
#include "sf_contact.h"
#include "sf_hash.h"
#include "sf_log.h"
#include "sf_plan.h"
#include "sf_render.h"
#include "sf_review.h"
#include "sf_status.h"
#include "sf_unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_ROW 4 /* frames per take */
#define MAX_ROWS 64

static int plan(struct sf_plan_builder *b)
{
    const struct sf_campaign *c = b->c;
    for (int q = 0; q < sf_campaign_n_sequences(c); q++) {
        const struct sf_sequence *seq = sf_campaign_sequence(c, q);
        int deps[MAX_ROWS], n = 0;
        for (int k = 0; k < seq->n_shots; k++) {
            const struct sf_shot *sh = sf_campaign_shot(c, seq->first_shot + k);
            for (int t = 0; t < sh->takes && n < MAX_ROWS; t++) {
                const int d = sf_plan_find(b, &sf_unit_decode, seq->first_shot + k, t,
                                           (int)seq->aspect, -1);
                SF_ASSERT(d >= 0); /* every take is decoded in the sequence's aspect */
                deps[n++] = d;
            }
        }
        if (n > SF_SCHED_MAX_DEPS) n = SF_SCHED_MAX_DEPS; /* a sheet of the first takes */
        int u = sf_plan_add(b, &sf_unit_contact, q, 0, 0, 64.0 * 1024 * 1024, deps, n,
                            "%s contact sheet", seq->id);
        if (u < 0) return SF_E_NOMEM;
        b->p->units[u].seconds = 0.02 * n; /* a few decoded frames per take */
        b->p->units[u].aspect = (int)seq->aspect;
    }
    return SF_OK;
}

static int prepare(struct sf_render_setup *s, struct sf_render_job *j,
                   const struct sf_plan_unit *u, const struct sf_campaign *c)
{
    (void)u;
    const int i = (int)(j - s->jobs);
    const struct sf_sequence *seq = sf_campaign_sequence(c, j->sequence);
    snprintf(j->stem, sizeof j->stem, "%s", seq->id);
    snprintf(j->out, sizeof j->out, "%s/out/.units/%s.contact.json", s->rundir, j->stem);
    struct sf_canon cn;
    uint8_t d[SF_SHA256_BYTES];
    sf_canon_begin(&cn, "shotfarm.unit.contact.v1");
    sf_canon_str(&cn, "font", SF_CONTACT_FONT);
    sf_canon_list_begin(&cn, "takes", (size_t)s->sched[i].n_deps * 3);
    for (int k = 0; k < s->sched[i].n_deps; k++) {
        const struct sf_render_job *dj = &s->jobs[s->sched[i].deps[k]];
        sf_canon_str(&cn, NULL, dj->key);
        sf_canon_int(&cn, NULL, sf_campaign_shot(c, dj->shot)->selected_take == dj->take);
        sf_canon_str(&cn, NULL, sf_campaign_shot(c, dj->shot)->id);
    }
    sf_canon_list_end(&cn);
    sf_canon_end(&cn, d);
    sf_sha256_hex(d, j->key);
    return SF_OK;
}

static int run(struct sf_render_worker *w, const struct sf_render_job *j,
               const struct sf_render_report *r)
{
    const struct sf_render_setup *s = w->s;
    const struct sf_campaign *c = s->campaign;
    const int i = (int)(j - s->jobs), n = s->sched[i].n_deps;
    struct sf_contact_row rows[MAX_ROWS];
    char labels[MAX_ROWS][160], png[SF_RENDER_PATH_MAX + 256];
    for (int k = 0; k < n; k++) {
        const struct sf_render_job *dj = &s->jobs[s->sched[i].deps[k]];
        const struct sf_render_job *nj = &s->jobs[dj->denoise_job]; /* its seed and frames */
        const struct sf_shot *sh = sf_campaign_shot(c, dj->shot);
        const int selected = sh->selected_take == dj->take;
        snprintf(labels[k], sizeof labels[k], "%s\ntake %d of %d\nseed %u%s", sh->id, dj->take + 1,
                 sh->takes, nj->seed, selected ? "\nSELECTED" : "");
        rows[k] = (struct sf_contact_row){
            .path = dj->out, .frames = nj->frames, .label = labels[k], .selected = selected};
    }
    snprintf(png, sizeof png, "%s/out/review/%s_%s_contact.png", s->rundir, sf_campaign_name(c),
             sf_campaign_sequence(c, j->sequence)->id);
    int st = sf_render_mkdirs(png, 1);
    if (st == SF_OK)
        st = sf_contact_sheet(rows, n, PER_ROW, SF_CONTACT_FONT, png, sf_review_alive, (void *)r);
    if (st) return st;
    SF_INFO("contact", "%s: %d takes -> %s", j->name, n, png);
    const char *paths[] = {png};
    return sf_review_write_record(j, paths, 1, NULL, NULL);
}

const struct sf_unit_kind sf_unit_contact = {
    .name = "contact",
    .status_row = "review",
    .resource = SF_UNIT_CPU,
    .plan = plan,
    .prepare = prepare,
    .run = run,
    .output_ok = sf_assemble_output_ok,
    .remove_output = sf_assemble_remove_record,
};
