/* unit_text.c — the `text` unit kind (sf_unit.h): one distinct prompt (or negative prompt)
 * tokenized and umT5-encoded into the shared cache, RUNDIR-independent. Planned once per
 * distinct text, before every other kind; denoise units read its output.
 * The subtle thing: the cache file is named by the SHA-256 of the text encoder's files and the
 * CLEANED prompt (Wan's cleaning), so prompts that differ only in what cleaning removes share
 * one encoding, and a changed encoder never reuses a stale one. */
#define _POSIX_C_SOURCE 200809L
#include "sf_cost.h"
#include "sf_hash.h"
#include "sf_log.h"
#include "sf_plan.h"
#include "sf_prompt_clean.h"
#include "sf_render.h"
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_tokenizer.h"
#include "sf_umt5.h"
#include "sf_unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Wan's default negative prompt (WAN-FACTS.md: wan/configs/shared_config.py:19), used when a
 * shot gives none. */
static const char wan_default_negative[] =
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，"
    "低质量，JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，"
    "毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走";

/* ---- plan ---------------------------------------------------------------------------------- */

/* The text unit of s, added when new ("" is Wan's default negative prompt). */
static int text_unit(struct sf_plan_builder *b, const char *s)
{
    int u = sf_plan_find_text(b, s);
    if (u >= 0) return u;
    const struct sf_plan_model *m = &b->m;
    double fl = sf_cost_umt5_encode(m->t5_model, m->t5_attn, m->t5_ff, m->t5_layers, 512);
    double mem = 2.0 * m->t5_params / b->opt->tp +
                 4.0 * 512 * (m->t5_model * 4.0 + m->t5_ff * 2.0);
    /* the name shows the prompt's first 48 bytes, cut before a UTF-8 character, not inside one
     * (the manifest must stay valid UTF-8: a Korean prompt cut mid-character damaged it) */
    int shown = strlen(s) > 48 ? 48 : (int)strlen(s);
    while (shown > 0 && ((unsigned char)s[shown] & 0xC0) == 0x80) shown--;
    u = *s ? sf_plan_add(b, &sf_unit_text, -1, fl, b->opt->hw->eff_text, mem, NULL, 0,
                         "encode prompt \"%.*s%s\"", shown, s, s[shown] ? "..." : "")
           : sf_plan_add(b, &sf_unit_text, -1, fl, b->opt->hw->eff_text, mem, NULL, 0,
                         "encode Wan's default negative prompt");
    if (u >= 0) b->p->units[u].text = s;
    return u;
}

/* Every shot's prompt, then its negative prompt, each once. */
static int plan(struct sf_plan_builder *b)
{
    for (int si = 0; si < sf_campaign_n_shots(b->c); si++) {
        const struct sf_shot *s = sf_campaign_shot(b->c, si);
        if (text_unit(b, s->effective_prompt) < 0 || text_unit(b, s->negative) < 0)
            return SF_E_NOMEM;
    }
    return SF_OK;
}

/* ---- prepare ------------------------------------------------------------------------------- */

/* The job's cache file and key: SHA-256 of the encoder's key, the text length and the cleaned
 * prompt. */
static int prepare(struct sf_render_setup *s, struct sf_render_job *j,
                   const struct sf_plan_unit *u, const struct sf_campaign *c)
{
    (void)c;
    j->prompt = u->text && *u->text ? u->text : wan_default_negative;
    char *clean = NULL;
    size_t len = 0, bad = 0;
    int st = sf_prompt_clean(j->prompt, strlen(j->prompt), &clean, &len, &bad);
    if (st != SF_OK) {
        SF_ERROR("render", "%s: the prompt is not valid UTF-8 at byte %zu; fix the campaign file",
                 u->name, bad + 1);
        return st;
    }
    struct sf_canon cn;
    uint8_t d[SF_SHA256_BYTES];
    sf_canon_begin(&cn, "shotfarm.text.v1");
    sf_canon_str(&cn, "text_encoder", s->text_key);
    sf_canon_int(&cn, "max_len", s->text_len);
    sf_canon_strn(&cn, "prompt", clean, len);
    sf_canon_end(&cn, d);
    sf_sha256_hex(d, j->key);
    free(clean);
    snprintf(j->out, sizeof j->out, "%s/text/%s.safetensors", s->cache, j->key);
    return SF_OK;
}

/* ---- run ----------------------------------------------------------------------------------- */

/* A cache entry that opens and holds `context` (it is named by its key). */
static int output_ok(const struct sf_render_job *j)
{
    struct sf_st *c = NULL;
    int ok = access(j->out, R_OK) == 0 && sf_st_open(j->out, &c) == SF_OK &&
             sf_st_find(c, "context");
    sf_st_close(c);
    return ok;
}


static int run(struct sf_render_worker *w, const struct sf_render_job *j,
               const struct sf_render_report *r)
{
    (void)r;
    int st = SF_OK;
    int32_t *ids = NULL;
    int64_t *ids64 = NULL;
    float *states = NULL;
    if (output_ok(j)) { /* another render (or an earlier launch) encoded it */
        SF_INFO("render", "%s: cached (%s)", j->name, j->out);
        return SF_OK;
    }
    if (access(j->out, F_OK) == 0)
        SF_WARN("render", "%s: unreadable cache entry, encoding again", j->out);
    SF_TRY(st, sf_render_part_failed(&w->tok));
    SF_TRY(st, sf_render_part_failed(&w->umt5));
    if (!w->tok.p)
        SF_TRY(st, sf_render_part_ready(&w->tok, sf_tokenizer_load(w->s->tokenizer,
                                                         (struct sf_tokenizer **)&w->tok.p)));
    if (!w->umt5.p)
        SF_TRY(st,
               sf_render_part_ready(&w->umt5, sf_umt5_load(w->s->model_dir, (struct sf_umt5 **)&w->umt5.p)));
    const int max_len = w->s->text_len;
    ids = malloc((size_t)max_len * sizeof *ids);
    ids64 = malloc((size_t)max_len * sizeof *ids64);
    if (!ids || !ids64) {
        st = SF_E_NOMEM;
        goto out;
    }
    size_t n = 0;
    SF_TRY(st, sf_tokenizer_encode_prompt(w->tok.p, j->prompt, strlen(j->prompt), j->name, 1,
                                          max_len, 0, ids, &n));
    for (size_t i = 0; i < n; i++)
        ids64[i] = ids[i];
    const int d = sf_umt5_get_config(w->umt5.p)->d_model;
    states = malloc(n * (size_t)d * sizeof *states);
    if (!states) {
        st = SF_E_NOMEM;
        goto out;
    }
    SF_TRY(st, sf_umt5_encode(w->umt5.p, ids64, (int64_t)n, states));
    SF_TRY(st, sf_render_mkdirs(j->out, 1));
    struct sf_st_desc desc = {.name = "context",
                              .dtype = SF_DTYPE_F32,
                              .n_dims = 2,
                              .shape = {(int64_t)n, d},
                              .data = states};
    const char *meta[] = {"producer", "shotfarm render", "text_encoder_key", w->s->text_key};
    SF_TRY(st, sf_st_write(j->out, &desc, 1, meta, 2, NULL, NULL));
out:
    free(ids);
    free(ids64);
    free(states);
    return st;
}

/* ---- resume -------------------------------------------------------------------------------- */

/* Cache files are keyed by content: another key names another file, so nothing is stale. */
static void keep_output(const struct sf_render_job *j) { (void)j; }

const struct sf_unit_kind sf_unit_text = {
    .name = "text",
    .status_row = "prompts",
    .resource = SF_UNIT_GROUP,
    .ranks = SF_UNIT_LEADER,
    .plan = plan,
    .prepare = prepare,
    .run = run,
    .output_ok = output_ok,
    .remove_output = keep_output,
};
