/* render_plan.c — a campaign expanded into render jobs (sf_render.h). Called by cmd_render.c on
 * every rank, which must all get the same list: the jobs are sf_plan_build's units (plan and
 * render share one expansion, and render dispatches with the plan's rule on the plan's
 * durations), each prepared by its unit kind (sf_unit.h) with what a worker needs, where its
 * output goes and its key. The subtle thing: a kind's prepare reads the keys of the jobs it
 * depends on, so jobs are prepared in plan order (dependencies always come first). */
#define _POSIX_C_SOURCE 200809L
#include "sf_render.h"
#include "sf_campaign.h"
#include "sf_config.h"
#include "sf_hash.h"
#include "sf_comm.h"
#include "sf_log.h"
#include "sf_model_dir.h"
#include "sf_plan.h"
#include "sf_prompt_clean.h"
#include "sf_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "16:9" -> "16x9" for file names. */
static void aspect_tag(int a, char *buf, size_t n)
{
    snprintf(buf, n, "%s", sf_aspect_name((enum sf_aspect)a));
    for (char *p = buf; *p; p++)
        if (*p == ':') *p = 'x';
}

int sf_render_expand(const struct sf_campaign *c, int tier, int tp, struct sf_render_setup *s)
{
    int st = SF_OK;
    struct sf_plan p;
    struct sf_plan_options po = {.hw = sf_plan_profile(SF_RENDER_PRICE_PROFILE),
                                 .nodes = 1,
                                 /* room for any gang: the jobs must not depend on the world
                                  * (cmd_render checks gangs against its groups) */
                                 .devices_per_node = tp * SF_UNIT_MAX_GANG,
                                 .tp = tp,
                                 .tier = (enum sf_tier_kind)tier,
                                 .model_dir = s->model_dir,
                                 .cfg_parallel = s->cfg_parallel};
    SF_TRY(st, sf_plan_build(c, &po, &p));
    s->tier = tier;
    s->campaign = c;
    s->text_len = p.model.dit.text_len > 0 ? p.model.dit.text_len : 512; /* the model's DiT */
    s->n_jobs = p.n_units;
    s->jobs = calloc((size_t)p.n_units + 1, sizeof *s->jobs);
    s->sched = calloc((size_t)p.n_units + 1, sizeof *s->sched);
    if (!s->jobs || !s->sched) {
        st = SF_E_NOMEM;
        goto out;
    }
    memcpy(s->sched, p.sched, (size_t)p.n_units * sizeof *s->sched);
    /* what every kind's job has; then each kind fills its own, dependencies first */
    for (int i = 0; i < p.n_units; i++) {
        const struct sf_plan_unit *u = &p.units[i];
        struct sf_render_job *j = &s->jobs[i];
        j->kind = u->kind;
        snprintf(j->name, sizeof j->name, "%s", u->name);
        j->shot = u->shot, j->take = u->take, j->aspect = u->aspect;
        j->sequence = u->sequence, j->element = u->element, j->length = u->length;
        j->language = u->language;
        j->gang = u->gang > 1 ? u->gang : 1;
        j->text_job = j->neg_job = j->denoise_job = -1;
        if (u->shot >= 0) {
            const struct sf_shot *sh = sf_campaign_shot(c, u->shot);
            const char *seq = sf_campaign_sequence(c, sh->sequence)->id;
            char at[8];
            aspect_tag(u->aspect, at, sizeof at);
            snprintf(j->shot_label, sizeof j->shot_label, "%s/%s", seq, sh->id);
            snprintf(j->stem, sizeof j->stem, "%s.%s.take%d.%s", seq, sh->id, u->take + 1, at);
        }
        if (j->shot_label[0])
            snprintf(j->row, sizeof j->row, "%s", j->shot_label);
        else if (u->sequence >= 0)
            snprintf(j->row, sizeof j->row, "%s (%s)", u->kind->status_row,
                     sf_campaign_sequence(c, u->sequence)->id);
        else
            snprintf(j->row, sizeof j->row, "%s", u->kind->status_row);
    }
    for (int i = 0; i < p.n_units; i++)
        if (s->jobs[i].kind->prepare)
            SF_TRY(st, s->jobs[i].kind->prepare(s, &s->jobs[i], &p.units[i], c));
out:
    sf_plan_fini(&p);
    if (st) sf_render_setup_fini(s);
    return st;
}

int sf_render_check_tp(const char *model_dir, int tp)
{
    struct sf_model_dir md;
    struct sf_dit_weights w;
    char why[256];
    int st = sf_model_dir_detect(model_dir, &md);
    if (st == SF_OK) st = sf_model_dir_open_dit(&md, &w);
    if (st != SF_OK) return st;
    st = sf_tp_check_model(tp, w.cfg.n_heads, w.cfg.ffn_dim, model_dir, why, sizeof why);
    sf_dit_weights_fini(&w);
    if (st == SF_OK) return SF_OK;
    SF_ERROR("render", "%s (the degree is --tp, else the campaign's model.tp)", why);
    return SF_E_USAGE; /* exit 2: the command or campaign asks for a split the model lacks */
}

void sf_render_setup_fini(struct sf_render_setup *s)
{
    free(s->jobs);
    free(s->sched);
    s->jobs = NULL;
    s->sched = NULL;
    s->n_jobs = 0;
}
