/* plan.c — expands a campaign into work units and prices them (sf_plan.h). Called by
 * `shotfarm plan`. The FLOPs come from node/sf_cost.h (one formula per component); time is
 * FLOPs / (devices x peak x efficiency); the makespan comes from simulating the farm's own
 * scheduling policy. Every efficiency, price and throughput that is not measured is labelled an
 * assumption where it is defined and in the printed plan. */
#define _POSIX_C_SOURCE 200809L
#include "sf_plan.h"
#include "sf_config.h"
#include "sf_cost.h"
#include "sf_log.h"
#include "sf_model_dir.h"
#include "sf_status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Dense bf16 peaks from the vendors' data sheets (SXM parts); efficiencies are assumptions: a
 * DiT step in bf16 with flash attention typically reaches 40-50% of peak, convolution-heavy VAE
 * decoding less. CPU: per core, half of OpenBLAS sgemm 2048^3 on 2 cores and the DiT step's
 * measured fraction of it (BENCHMARKS.md § DiT step on CPU, bench/dit_step). */
static const struct sf_hw_profile profiles[] = {
    {"h100", "NVIDIA H100 SXM 80 GB", 989e12, 80e9, 0.45, 0.25, 0.35,
     "assumption (no GPU measurement in BENCHMARKS.md yet)", 2.50, 0},
    {"h200", "NVIDIA H200 SXM 141 GB", 989e12, 141e9, 0.45, 0.25, 0.35,
     "assumption (no GPU measurement in BENCHMARKS.md yet)", 3.50, 0},
    {"a100", "NVIDIA A100 SXM 80 GB", 312e12, 80e9, 0.45, 0.25, 0.35,
     "assumption (no GPU measurement in BENCHMARKS.md yet)", 1.60, 0},
    {"l40s", "NVIDIA L40S 48 GB", 362e12, 48e9, 0.40, 0.25, 0.30,
     "assumption (no GPU measurement in BENCHMARKS.md yet)", 1.00, 0},
    {"cpu", "one CPU core (x86-64 AVX-512, OpenBLAS)", 166e9, 8e9, 0.51, 0.30, 0.50,
     "measured for the DiT (BENCHMARKS.md, DiT step on CPU: sgemm 2048^3 333 GFLOP/s on 2 cores, "
     "a 1.3B step at 3120 tokens 51% of it); VAE and text assumed",
     0.04, 1},
    {0},
};

const struct sf_hw_profile *sf_plan_profiles(void) { return profiles; }

const struct sf_hw_profile *sf_plan_profile(const char *name)
{
    for (const struct sf_hw_profile *p = profiles; p->name; p++)
        if (strcmp(p->name, name) == 0) return p;
    return NULL;
}

/* Kling 3.0 credits per second of video (the seed article's PixVerse list). */
static const struct sf_hosted_rate hosted[] = {
    {"Kling 3.0 Standard", 20, 0, 0},
    {"Kling 3.0 Standard + audio", 28, 0, 1},
    {"Kling 3.0 Omni Standard", 25, 1, 0},
    {"Kling 3.0 Omni Standard + audio", 35, 1, 1},
    {"Kling 3.0 Omni Pro", 35, 1, 0},
    {"Kling 3.0 Omni Pro + audio", 45, 1, 1},
    {0},
};

const char *const sf_plan_hosted_source =
    "credits/s from the Kling 3.0 list quoted in shared/seed (VidMuse, 2026: Standard 20, 28 "
    "with audio; Omni Standard 25/35; Omni Pro 35/45); the USD value of a credit is an "
    "assumption (no published rate in that source; set --credit-usd), 2026-11-25";

const struct sf_hosted_rate *sf_plan_hosted_rates(void) { return hosted; }

const char *sf_unit_kind_name(enum sf_unit_kind k)
{
    static const char *names[] = {"text", "identity", "denoise", "decode", "assemble"};
    return (unsigned)k < SF_UNIT_KIND_COUNT ? names[k] : "?";
}

/* Encoder throughput in output pixels per second on one core: assumptions for x264 preset
 * medium, prores_ks HQ and FFV1 at 1080p. */
static double codec_pixels_per_second(enum sf_codec c)
{
    switch (c) {
    case SF_CODEC_H264: return 40e6;
    case SF_CODEC_PRORES: return 120e6;
    default: return 60e6;
    }
}

struct model_dims {
    struct sf_dit_config dit;
    int t5_model, t5_attn, t5_ff, t5_layers;
    double t5_params;
    int vae_dim;
    double weight_bytes_per_param;
};

/* The DiT config of a model directory (its config.json, or the tensor shapes). */
static int dir_config(const char *dir, struct sf_dit_config *cfg)
{
    struct sf_model_dir md;
    struct sf_dit_weights w;
    int st = sf_model_dir_detect(dir, &md);
    if (st == SF_OK) st = sf_model_dir_open_dit(&md, &w);
    if (st == SF_OK) {
        *cfg = w.cfg;
        sf_dit_weights_fini(&w);
    }
    return st;
}

static int model_dims(const struct sf_campaign *c, const char *model_dir, struct model_dims *m)
{
    const struct sf_model_settings *ms = sf_campaign_model(c);
    const char *dir = model_dir ? model_dir : ms->config ? NULL : ms->dir;
    if (dir) {
        int st = dir_config(dir, &m->dit);
        if (st) return st;
    } else if (!ms->config || sf_dit_config_by_name(ms->config, &m->dit) != 0) {
        SF_ERROR("plan", "%s: model: give a config (tiny, wan2.1-t2v-1.3b, wan2.1-t2v-14b) or a "
                 "model directory (model.dir, or --model DIR)", sf_campaign_name(c));
        return SF_E_UNSUPPORTED;
    }
    if (m->dit.text_dim == 4096) { /* umT5-XXL */
        m->t5_model = m->t5_attn = 4096;
        m->t5_ff = 10240;
        m->t5_layers = 24;
        m->t5_params = 256384.0 * 4096 + 24 * (4.0 * 4096 * 4096 + 3.0 * 4096 * 10240);
        m->vae_dim = 96;
    } else { /* the tiny test pipeline: a small encoder of the DiT's text width */
        m->t5_model = m->t5_attn = m->dit.text_dim;
        m->t5_ff = 4 * m->dit.text_dim;
        m->t5_layers = 2;
        m->t5_params = 32000.0 * m->t5_model + 2 * (4.0 * m->t5_model * m->t5_model +
                                                    3.0 * m->t5_model * m->t5_ff);
        m->vae_dim = 32;
    }
    m->weight_bytes_per_param = strcmp(ms->dtype, "fp32") == 0 ? 4 : 2;
    return SF_OK;
}

/* Peak bytes per rank of a DiT pass on `tokens` tokens at tensor-parallel degree tp: weights
 * (the blocks' linear layers split over tp, the rest replicated) and the fp32 activations one
 * block keeps alive (residual, normed input, q/k/v and attention output of this rank's heads,
 * FFN hidden of this rank's columns, cross-attention k/v of the text). */
static double dit_mem(const struct model_dims *m, double tokens, int tp)
{
    const struct sf_dit_config *d = &m->dit;
    double D = d->dim, F = d->ffn_dim;
    double sharded = d->n_layers * (8.0 * D * D + 2.0 * D * F);
    double total = sf_dit_config_params(d);
    double weights = m->weight_bytes_per_param * (sharded / tp + (total - sharded));
    double act = 4.0 * tokens * (3.0 * D + 4.0 * D / tp + F / tp) + 4.0 * 512 * (d->text_dim + 2.0 * D / tp);
    return weights + act;
}

static double vae_decode_mem(const struct model_dims *m, int width, int height)
{
    double weights = 4.0 * 73.3e6 * (m->vae_dim / 96.0) * (m->vae_dim / 96.0);
    /* Largest stage: base width x (4 frames + 2 cached) x full resolution, in, out and temp. */
    return weights + 3.0 * 4.0 * m->vae_dim * 6.0 * width * height;
}

struct builder {
    struct sf_plan *p;
    int cap;
    const struct sf_plan_options *opt;
    double dev_flops; /* devices x peak of one group */
};

static int add_unit(struct builder *b, enum sf_unit_kind kind, int seq, double flops, double eff,
                    double mem, const int *deps, int n_deps, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));

#include <stdarg.h>
static int add_unit(struct builder *b, enum sf_unit_kind kind, int seq, double flops, double eff,
                    double mem, const int *deps, int n_deps, const char *fmt, ...)
{
    struct sf_plan *p = b->p;
    if (p->n_units == b->cap) {
        int nc = b->cap ? 2 * b->cap : 256;
        struct sf_plan_unit *nu = realloc(p->units, (size_t)nc * sizeof *nu);
        if (nu) p->units = nu;
        struct sf_sched_unit *ns = realloc(p->sched, (size_t)nc * sizeof *ns);
        if (ns) p->sched = ns;
        if (!nu || !ns) return -1;
        b->cap = nc;
    }
    struct sf_plan_unit *u = &p->units[p->n_units];
    struct sf_sched_unit *s = &p->sched[p->n_units];
    memset(u, 0, sizeof *u);
    memset(s, 0, sizeof *s);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->name, sizeof u->name, fmt, ap);
    va_end(ap);
    u->kind = kind;
    u->sequence = seq;
    u->shot = u->take = u->aspect = u->element = -1;
    u->flops = flops;
    u->mem_bytes = mem;
    u->seconds = eff > 0 ? flops / (b->dev_flops * eff) : 0;
    SF_ASSERT(n_deps <= SF_SCHED_MAX_DEPS);
    s->n_deps = n_deps;
    for (int i = 0; i < n_deps; i++) s->deps[i] = deps[i];
    return p->n_units++;
}

/* Index of the text unit for prompt s, adding it when new. texts[] holds the prompts seen. */
static int text_unit(struct builder *b, const char **texts, int *text_units, int *n_texts,
                     const char *s, const struct model_dims *m)
{
    for (int i = 0; i < *n_texts; i++)
        if (strcmp(texts[i], s) == 0) return text_units[i];
    double fl = sf_cost_umt5_encode(m->t5_model, m->t5_attn, m->t5_ff, m->t5_layers, 512);
    double mem = 2.0 * m->t5_params / b->opt->tp + 4.0 * 512 * (m->t5_model * 4.0 + m->t5_ff * 2.0);
    int u = *s ? add_unit(b, SF_UNIT_TEXT, -1, fl, b->opt->hw->eff_text, mem, NULL, 0,
                          "encode prompt \"%.48s%s\"", s, strlen(s) > 48 ? "..." : "")
               : add_unit(b, SF_UNIT_TEXT, -1, fl, b->opt->hw->eff_text, mem, NULL, 0,
                          "encode Wan's default negative prompt");
    if (u < 0) return -1;
    b->p->units[u].text = s;
    texts[*n_texts] = s;
    text_units[(*n_texts)++] = u;
    return u;
}

int sf_plan_build(const struct sf_campaign *c, const struct sf_plan_options *opt,
                  struct sf_plan *out)
{
    int st = SF_OK;
    memset(out, 0, sizeof *out);
    const char **texts = NULL;
    int *text_units = NULL, *ident = NULL, *sel_decode = NULL, n_texts = 0;
    struct model_dims m;
    SF_TRY(st, model_dims(c, opt->model_dir, &m));
    int devices = opt->nodes * opt->devices_per_node;
    if (opt->tp < 1 || opt->devices_per_node % opt->tp) {
        SF_ERROR("plan", "--tp %d must divide --gpus-per-node %d (a worker group never spans "
                 "nodes)", opt->tp, opt->devices_per_node);
        st = SF_E_USAGE;
        goto out;
    }
    out->n_groups = devices / opt->tp;
    double tp_eff = opt->tp > 1 ? 0.9 : 1.0; /* assumption: 10% lost to all-reduces over NVLink */
    struct builder b = {.p = out, .opt = opt, .dev_flops = opt->tp * opt->hw->peak_flops * tp_eff};

    int n_shots = sf_campaign_n_shots(c);
    texts = calloc((size_t)2 * n_shots + 2, sizeof *texts);
    text_units = calloc((size_t)2 * n_shots + 2, sizeof *text_units);
    int n_el = sf_campaign_n_elements(c);
    ident = malloc(((size_t)n_el + 1) * sizeof *ident);
    /* decode unit of (shot, aspect) for the selected take, for assembly dependencies */
    sel_decode = malloc(((size_t)n_shots * SF_ASPECT_COUNT + 1) * sizeof *sel_decode);
    if (!texts || !text_units || !ident || !sel_decode) {
        st = SF_E_NOMEM;
        goto out;
    }
    const struct sf_tier *tier = sf_campaign_tier(c, opt->tier);
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);

    /* Identity bank: every reference image (and clip frames) VAE-encoded once, at the tier's
     * 16:9 size. */
    for (int e = 0; e < n_el; e++) {
        const struct sf_element *el = sf_campaign_element(c, e);
        ident[e] = -1;
        int frames = el->n_refs + (el->clip ? (int)(el->clip_seconds * 16) : 0);
        if (!frames) continue;
        int w = tier->width, h = tier->height;
        double fl = el->n_refs * sf_cost_vae_encode(m.vae_dim, 1, h / 8, w / 8);
        if (el->clip) fl += sf_cost_vae_encode(m.vae_dim, (frames - el->n_refs - 1) / 4 + 1, h / 8, w / 8);
        ident[e] = add_unit(&b, SF_UNIT_IDENTITY, -1, fl, opt->hw->eff_vae,
                            vae_decode_mem(&m, w, h), NULL, 0, "identity %s (%d refs%s)", el->id,
                            el->n_refs, el->clip ? " + clip" : "");
        if (ident[e] < 0) { st = SF_E_NOMEM; goto out; }
        out->units[ident[e]].element = e;
    }

    for (int si = 0; si < n_shots; si++) {
        const struct sf_shot *s = sf_campaign_shot(c, si);
        const struct sf_sequence *seq = sf_campaign_sequence(c, s->sequence);
        int deps[SF_SCHED_MAX_DEPS], n_deps = 0, with_refs = 0;
        int tu = text_unit(&b, texts, text_units, &n_texts, s->effective_prompt, &m);
        int nu = text_unit(&b, texts, text_units, &n_texts, s->negative, &m);
        if (tu < 0 || nu < 0) { st = SF_E_NOMEM; goto out; }
        deps[n_deps++] = tu;
        if (nu != tu) deps[n_deps++] = nu;
        for (int k = 0; k < s->n_elements; k++)
            if (ident[s->elements[k]] >= 0) {
                deps[n_deps++] = ident[s->elements[k]];
                with_refs = 1;
            }
        if (with_refs) out->uses_references = 1;
        if (s->n_dialogue) out->has_dialogue = 1;
        int passes = with_refs ? 3 : 2;
        for (int a = 0; a < SF_ASPECT_COUNT; a++) {
            sel_decode[si * SF_ASPECT_COUNT + a] = -1;
            int wanted = dl->reframe ? (int)seq->aspect == a : (dl->aspects[a] || (int)seq->aspect == a);
            if (!wanted) continue;
            int w, h;
            sf_campaign_tier_size(tier, (enum sf_aspect)a, &w, &h);
            int64_t lf = (s->frames - 1) / 4 + 1, lh = h / 8, lw = w / 8;
            double tokens = (double)sf_cost_dit_tokens(&m.dit, lf, lh, lw);
            struct sf_cost_dit cd = sf_cost_dit_forward(&m.dit, (int64_t)tokens, 512);
            double mem = dit_mem(&m, tokens, opt->tp);
            for (int t = 0; t < s->takes; t++) {
                int dn = add_unit(&b, SF_UNIT_DENOISE, s->sequence, cd.total * passes * tier->steps,
                                  opt->hw->eff_dit, mem, deps, n_deps, "%s/%s take %d %s denoise",
                                  seq->id, s->id, t + 1, sf_aspect_name((enum sf_aspect)a));
                if (dn < 0) { st = SF_E_NOMEM; goto out; }
                out->units[dn].video_seconds = s->duration_ms / 1000.0;
                out->units[dn].shot = si, out->units[dn].take = t, out->units[dn].aspect = a;
                out->video_seconds += s->duration_ms / 1000.0;
                int dc = add_unit(&b, SF_UNIT_DECODE, s->sequence,
                                  sf_cost_vae_decode(m.vae_dim, lf, lh, lw), opt->hw->eff_vae,
                                  vae_decode_mem(&m, w, h), &dn, 1, "%s/%s take %d %s decode",
                                  seq->id, s->id, t + 1, sf_aspect_name((enum sf_aspect)a));
                if (dc < 0) { st = SF_E_NOMEM; goto out; }
                out->units[dc].shot = si, out->units[dc].take = t, out->units[dc].aspect = a;
                if (t == s->selected_take) sel_decode[si * SF_ASPECT_COUNT + a] = dc;
            }
        }
    }

    /* Assembly: per sequence and delivered aspect, every length x language x codec encoded on
     * one core (no FLOPs; time from the codec throughput assumptions). */
    for (int q = 0; q < sf_campaign_n_sequences(c); q++) {
        const struct sf_sequence *seq = sf_campaign_sequence(c, q);
        for (int a = 0; a < SF_ASPECT_COUNT; a++) {
            if (!dl->aspects[a] && (int)seq->aspect != a) continue;
            int src = dl->reframe ? (int)seq->aspect : a;
            int deps[SF_SCHED_MAX_DEPS], n_deps = 0;
            for (int k = 0; k < seq->n_shots && n_deps < SF_SCHED_MAX_DEPS; k++) {
                int d = sel_decode[(seq->first_shot + k) * SF_ASPECT_COUNT + src];
                if (d >= 0) deps[n_deps++] = d;
            }
            int short_side = dl->resolution;
            double px = a == SF_ASPECT_1_1 ? (double)short_side * short_side
                                           : (double)short_side * short_side * 16.0 / 9.0;
            double secs = 0;
            int n_lang = 0;
            for (int l = 0; l < SF_LANG_COUNT; l++) n_lang += dl->languages[l];
            for (int li = 0; li < dl->n_lengths; li++)
                for (int cc = 0; cc < SF_CODEC_COUNT; cc++)
                    if (dl->codecs[cc])
                        secs += n_lang * sf_campaign_delivery_frames(dl->lengths[li], dl->fps) * px /
                                codec_pixels_per_second((enum sf_codec)cc);
            int u = add_unit(&b, SF_UNIT_ASSEMBLE, q, 0, 0, 2.0 * 4.0 * px * 8, deps, n_deps,
                             "%s %s assemble (%d lengths x %d languages)", seq->id,
                             sf_aspect_name((enum sf_aspect)a), dl->n_lengths, n_lang);
            if (u < 0) { st = SF_E_NOMEM; goto out; }
            out->units[u].seconds = secs;
        }
    }

    /* Totals, memory verdict, simulation. */
    for (int i = 0; i < out->n_units; i++) {
        struct sf_plan_unit *u = &out->units[i];
        out->sched[i].seconds = u->seconds;
        out->total_flops += u->flops;
        out->group_seconds += u->seconds;
        if (u->mem_bytes > out->peak_mem_bytes) {
            out->peak_mem_bytes = u->mem_bytes;
            out->peak_mem_unit = i;
        }
    }
    out->device_seconds = out->group_seconds * opt->tp;
    if (out->n_units && out->peak_mem_bytes > 0.92 * opt->hw->mem_bytes) {
        const struct sf_plan_unit *u = &out->units[out->peak_mem_unit];
        SF_ERROR("plan", "unit '%s' needs %.1f GiB per rank but a %s has %.0f GiB (92%% usable): "
                 "use a larger --tp (now %d) or a GPU with more memory (--gpu h200)", u->name,
                 u->mem_bytes / (1 << 30), opt->hw->name, opt->hw->mem_bytes / (1 << 30), opt->tp);
        st = SF_E_VALIDATION;
        goto out;
    }
    SF_TRY(st, sf_sched_simulate(out->sched, out->n_units, out->n_groups, &out->sim));
    double price = opt->price_per_hour > 0 ? opt->price_per_hour : opt->hw->price_per_hour;
    out->cost_usd = out->sim.makespan / 3600.0 * devices * price;
out:
    free(texts);
    free(text_units);
    free(ident);
    free(sel_decode);
    if (st) sf_plan_fini(out);
    return st;
}

void sf_plan_fini(struct sf_plan *p)
{
    if (!p) return;
    free(p->units);
    free(p->sched);
    sf_sched_result_fini(&p->sim);
    memset(p, 0, sizeof *p);
}
