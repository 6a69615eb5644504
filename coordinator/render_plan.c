/* render_plan.c — a campaign expanded into render jobs (sf_render.h). Called by cmd_render.c on
 * every rank, which must all get the same list: the jobs are sf_plan_build's units (plan and
 * render share one expansion, and render dispatches with the plan's sf_sched_pick rule on the
 * plan's durations), each given what a worker needs and where its output goes. The subtle
 * thing: a text job's cache file is named by the SHA-256 of the text encoder's files and the
 * CLEANED prompt (Wan's cleaning), so prompts that differ only in what cleaning removes share
 * one encoding, and a changed encoder never reuses a stale one. */
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

/* Wan's default negative prompt (WAN-FACTS.md: wan/configs/shared_config.py:19), used when a
 * shot gives none. */
static const char wan_default_negative[] =
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，"
    "低质量，JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，"
    "毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走";

/* "16:9" -> "16x9" for file names. */
static void aspect_tag(int a, char *buf, size_t n)
{
    snprintf(buf, n, "%s", sf_aspect_name((enum sf_aspect)a));
    for (char *p = buf; *p; p++)
        if (*p == ':') *p = 'x';
}

/* The text job's cache file, named by its key (hex[]) */
static int text_path(const struct sf_render_setup *s, const char *prompt, const char *what,
                     char *out, size_t n, char hex[SF_SHA256_HEX])
{
    char *clean = NULL;
    size_t len = 0, bad = 0;
    int st = sf_prompt_clean(prompt, strlen(prompt), &clean, &len, &bad);
    if (st != SF_OK) {
        SF_ERROR("render",
                 "%s: the prompt is not valid UTF-8 at byte %zu; fix the campaign "
                 "file",
                 what, bad + 1);
        return st;
    }
    struct sf_canon c;
    uint8_t d[SF_SHA256_BYTES];
    sf_canon_begin(&c, "shotfarm.text.v1");
    sf_canon_str(&c, "text_encoder", s->text_key);
    sf_canon_int(&c, "max_len", s->text_len);
    sf_canon_strn(&c, "prompt", clean, len);
    sf_canon_end(&c, d);
    sf_sha256_hex(d, hex);
    free(clean);
    snprintf(out, n, "%s/text/%s.safetensors", s->cache, hex);
    return SF_OK;
}

/* A denoise job's key: every input of its latent, including the tensor-parallel degree, which
 * is part of the determinism domain (docs/render.md § Determinism). A decode job's: the VAE
 * and its latent's key. Skipped jobs have none. */
static void unit_key(const struct sf_render_setup *s, struct sf_render_job *j)
{
    struct sf_canon c;
    uint8_t d[SF_SHA256_BYTES];
    if (j->kind == SF_JOB_DENOISE) {
        sf_canon_begin(&c, "shotfarm.unit.denoise.v1");
        sf_canon_str(&c, "dit", s->dit_key);
        sf_canon_str(&c, "context", s->jobs[j->text_job].key);
        sf_canon_str(&c, "negative", s->jobs[j->neg_job].key);
        sf_canon_int(&c, "seed", j->seed);
        sf_canon_int(&c, "aspect", j->aspect);
        sf_canon_list_begin(&c, "latent", 3);
        for (int k = 0; k < 3; k++)
            sf_canon_int(&c, NULL, j->latent[k]);
        sf_canon_list_end(&c);
        sf_canon_int(&c, "steps", j->steps);
        sf_canon_int(&c, "sampler", j->sampler);
        sf_canon_int(&c, "schedule", j->schedule);
        sf_canon_f64(&c, "shift", j->shift);
        sf_canon_f64(&c, "guidance", j->guidance);
        sf_canon_str(&c, "guidance_passes", sf_render_guidance_mode());
        sf_canon_int(&c, "tp", s->tp);
    } else if (j->kind == SF_JOB_DECODE) {
        sf_canon_begin(&c, "shotfarm.unit.decode.v1");
        sf_canon_str(&c, "vae", s->vae_key);
        sf_canon_str(&c, "latent", s->jobs[j->denoise_job].key);
    } else {
        return; /* text: named by its cache key already; skipped: nothing */
    }
    sf_canon_end(&c, d);
    sf_sha256_hex(d, j->key);
}

int sf_render_expand(const struct sf_campaign *c, int tier, int tp, struct sf_render_setup *s)
{
    int st = SF_OK;
    struct sf_plan p;
    struct sf_plan_options po = {.hw = sf_plan_profile("h200"),
                                 .nodes = 1,
                                 .devices_per_node = tp,
                                 .tp = tp,
                                 .tier = (enum sf_tier_kind)tier,
                                 .model_dir = s->model_dir};
    SF_TRY(st, sf_plan_build(c, &po, &p));
    struct sf_dit_config dc;
    if (sf_dit_config_by_name(sf_campaign_model(c)->config, &dc) == 0)
        s->text_len = dc.text_len;
    else
        s->text_len = 512;
    s->n_jobs = p.n_units;
    s->jobs = calloc((size_t)p.n_units + 1, sizeof *s->jobs);
    s->sched = calloc((size_t)p.n_units + 1, sizeof *s->sched);
    if (!s->jobs || !s->sched) {
        st = SF_E_NOMEM;
        goto out;
    }
    memcpy(s->sched, p.sched, (size_t)p.n_units * sizeof *s->sched);
    const struct sf_tier *t = sf_campaign_tier(c, (enum sf_tier_kind)tier);
    for (int i = 0; i < p.n_units; i++) {
        const struct sf_plan_unit *u = &p.units[i];
        struct sf_render_job *j = &s->jobs[i];
        snprintf(j->name, sizeof j->name, "%s", u->name);
        j->shot = u->shot, j->take = u->take, j->aspect = u->aspect;
        j->text_job = j->neg_job = j->denoise_job = -1;
        if (u->shot >= 0) {
            const struct sf_shot *sh = sf_campaign_shot(c, u->shot);
            const char *seq = sf_campaign_sequence(c, sh->sequence)->id;
            char at[8];
            aspect_tag(u->aspect, at, sizeof at);
            snprintf(j->shot_label, sizeof j->shot_label, "%s/%s", seq, sh->id);
            snprintf(j->stem, sizeof j->stem, "%s.%s.take%d.%s", seq, sh->id, u->take + 1, at);
        }
        switch (u->kind) {
        case SF_UNIT_TEXT:
            j->kind = SF_JOB_TEXT;
            j->prompt = u->text && *u->text ? u->text : wan_default_negative;
            SF_TRY(st, text_path(s, j->prompt, u->name, j->out, sizeof j->out, j->key));
            break;
        case SF_UNIT_DENOISE: {
            const struct sf_shot *sh = sf_campaign_shot(c, u->shot);
            j->kind = SF_JOB_DENOISE;
            sf_campaign_tier_size(t, (enum sf_aspect)u->aspect, &j->width, &j->height);
            j->frames = sh->frames;
            j->latent[0] = (sh->frames - 1) / 4 + 1;
            j->latent[1] = j->height / 8;
            j->latent[2] = j->width / 8;
            for (int k = 0; k < 3; k++)
                if (j->latent[k] > s->max_latent[k]) s->max_latent[k] = j->latent[k];
            j->seed = sh->seed + (uint32_t)u->take;
            j->steps = t->steps;
            j->sampler = (int)t->sampler;
            j->schedule = (int)t->schedule;
            j->shift = t->shift;
            j->guidance = t->guidance;
            /* the plan lists the prompt's text unit first, then the negative's (when distinct) */
            j->text_job = s->sched[i].deps[0];
            j->neg_job = s->sched[i].n_deps > 1 && p.units[s->sched[i].deps[1]].kind == SF_UNIT_TEXT
                             ? s->sched[i].deps[1]
                             : j->text_job;
            snprintf(j->out, sizeof j->out, "%s/latents/%s.h5", s->rundir, j->stem);
            break;
        }
        case SF_UNIT_DECODE:
            j->kind = SF_JOB_DECODE;
            j->denoise_job = s->sched[i].deps[0];
            snprintf(j->out, sizeof j->out, "%s/shots/%s.mkv", s->rundir, j->stem);
            break;
        default:
            j->kind = SF_JOB_SKIP;
            break;
        }
    }
    for (int i = 0; i < s->n_jobs; i++) /* dependencies come first in the plan */
        unit_key(s, &s->jobs[i]);
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
