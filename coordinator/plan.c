/* plan.c — expands a campaign into work units and prices them (sf_plan.h). Called by
 * `shotfarm plan` and by render (which runs the same units). Every unit kind (sf_unit.h) adds
 * its own units through the builder here, in registry order. The FLOPs come from node/sf_cost.h (one formula per component); time is
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
#include "sf_unit.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    /* per core and per GiB: sf_plan_cpu_profile scales it to a rank's cores and memory */
    {"cpu", "one CPU core (x86-64 AVX-512, OpenBLAS)", 166e9, 1073741824.0, 0.51, 0.30, 0.50,
     "measured for the DiT (BENCHMARKS.md, DiT step on CPU: sgemm 2048^3 333 GFLOP/s on 2 cores, "
     "a 1.3B step at 3120 tokens 51% of it); VAE and text assumed",
     0.04, 1},
    {0},
};

const struct sf_hw_profile *sf_plan_profiles(void) { return profiles; }

void sf_plan_cpu_profile(const struct sf_hw_profile *cpu, int ranks_per_node, int cores_per_rank,
                         double mem_per_rank, struct sf_hw_profile *out, char *desc, size_t n)
{
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const double mem = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (ranks_per_node < 1) ranks_per_node = 1;
    const int c = cores_per_rank > 0 ? cores_per_rank
                                     : (int)(cores / ranks_per_node > 0 ? cores / ranks_per_node : 1);
    const double m = mem_per_rank > 0 ? mem_per_rank : mem / ranks_per_node;
    *out = *cpu;
    out->peak_flops = cpu->peak_flops * c;
    out->mem_bytes = m;
    snprintf(desc, n, "%d x86-64 core%s and %.1f GiB per rank%s%s; this machine: %ld cores, %.1f GiB",
             c, c == 1 ? "" : "s", m / 1073741824.0,
             cores_per_rank > 0 ? " (--cores-per-rank)" : "",
             mem_per_rank > 0 ? " (--mem-per-rank)" : "", cores, mem / 1073741824.0);
    out->description = desc;
}

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

static int model_dims(const struct sf_campaign *c, const char *model_dir, struct sf_plan_model *m)
{
    const struct sf_model_settings *ms = sf_campaign_model(c);
    const char *dir = model_dir ? model_dir : ms->config ? NULL : ms->dir;
    if (dir) {
        int st = dir_config(dir, &m->dit);
        if (st) return st;
    } else if (!ms->config || sf_dit_config_by_name(ms->config, &m->dit) != 0) {
        SF_ERROR("plan", "%s: model: give a config (tiny, tiny-vace, wan2.1-t2v-1.3b, wan2.1-t2v-14b, "
                 "wan2.1-vace-1.3b, wan2.1-vace-14b) or a "
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

/* A campaign whose shots show elements with references, or have keyframes or continue another
 * shot, needs a DiT with VACE layers: refused before anything runs (exit 2), in one line naming
 * the shots and the fix. */
static int check_references(const struct sf_campaign *c, const struct sf_plan_options *opt,
                            const struct sf_plan_model *m)
{
    if (m->dit.n_vace > 0) return SF_OK;
    char shots[512] = "";
    size_t len = 0;
    int n = 0;
    for (int si = 0; si < sf_campaign_n_shots(c); si++) {
        const struct sf_shot *s = sf_campaign_shot(c, si);
        int e[SF_UNIT_MAX_REFS], r[SF_UNIT_MAX_REFS];
        if (!sf_unit_identity_pick(c, s, sf_campaign_tier(c, opt->tier)->max_refs, e, r) &&
            !s->first_frame && !s->last_frame && !s->continues)
            continue;
        if (len < sizeof shots - 1)
            len += (size_t)snprintf(shots + len, sizeof shots - len, "%s%s/%s", n ? ", " : "",
                                    sf_campaign_sequence(c, s->sequence)->id, s->id);
        n++;
    }
    if (!n) return SF_OK;
    const struct sf_model_settings *ms = sf_campaign_model(c);
    const char *model = opt->model_dir ? opt->model_dir : ms->config ? ms->config : ms->dir;
    SF_ERROR("plan", "%s: shot%s %s use%s reference images, keyframes or continuation, but the "
             "model %s has no VACE layers: use a Wan2.1-VACE model (model.config: tiny-vace, "
             "wan2.1-vace-1.3b or wan2.1-vace-14b; for a test pipeline `shotfarm mkmodel "
             "--config tiny-vace`)",
             sf_campaign_name(c), n > 1 ? "s" : "", shots, n > 1 ? "" : "s", model);
    return SF_E_USAGE;
}

double sf_plan_vae_mem(const struct sf_plan_model *m, int width, int height)
{
    double weights = 4.0 * 73.3e6 * (m->vae_dim / 96.0) * (m->vae_dim / 96.0);
    /* Largest stage: base width x (4 frames + 2 cached) x full resolution, in, out and temp. */
    return weights + 3.0 * 4.0 * m->vae_dim * 6.0 * width * height;
}

int sf_plan_add(struct sf_plan_builder *b, const struct sf_unit_kind *k, int seq, double flops,
                double eff, double mem, const int *deps, int n_deps, const char *fmt, ...)
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
    u->kind = k;
    u->sequence = seq;
    u->shot = u->take = u->aspect = u->element = u->length = u->language = -1;
    u->gang = 1;
    u->flops = flops;
    u->mem_bytes = mem;
    u->seconds = eff > 0 ? flops / (b->dev_flops * eff) : 0;
    SF_ASSERT(n_deps <= SF_SCHED_MAX_DEPS);
    s->n_deps = n_deps;
    for (int i = 0; i < n_deps; i++) {
        SF_ASSERT(deps[i] >= 0 && deps[i] < p->n_units); /* dependencies come first */
        s->deps[i] = deps[i];
    }
    return p->n_units++;
}

int sf_plan_find(const struct sf_plan_builder *b, const struct sf_unit_kind *k, int shot,
                 int take, int aspect, int element)
{
    const struct sf_plan *p = b->p;
    for (int i = 0; i < p->n_units; i++) {
        const struct sf_plan_unit *u = &p->units[i];
        if (u->kind == k && (shot < 0 || u->shot == shot) && (take < 0 || u->take == take) &&
            (aspect < 0 || u->aspect == aspect) && (element < 0 || u->element == element))
            return i;
    }
    return -1;
}

int sf_plan_find_text(const struct sf_plan_builder *b, const char *text)
{
    const struct sf_plan *p = b->p;
    for (int i = 0; i < p->n_units; i++)
        if (p->units[i].kind == &sf_unit_text && strcmp(p->units[i].text, text) == 0) return i;
    return -1;
}

int sf_plan_renders_aspect(const struct sf_campaign *c, int seq, int a)
{
    const struct sf_deliverables *dl = sf_campaign_deliverables(c);
    const int master = (int)sf_campaign_sequence(c, seq)->aspect;
    return dl->reframe ? master == a : dl->aspects[a] || master == a;
}

int sf_plan_build(const struct sf_campaign *c, const struct sf_plan_options *opt,
                  struct sf_plan *out)
{
    int st = SF_OK;
    memset(out, 0, sizeof *out);
    struct sf_plan_builder b = {.p = out, .c = c, .opt = opt};
    SF_TRY(st, model_dims(c, opt->model_dir, &b.m));
    out->model = b.m;
    int devices = opt->nodes * opt->devices_per_node;
    if (opt->tp < 1 || opt->devices_per_node % opt->tp) {
        SF_ERROR("plan", "--tp %d must divide --gpus-per-node %d (a worker group never spans "
                 "nodes)", opt->tp, opt->devices_per_node);
        st = SF_E_USAGE;
        goto out;
    }
    out->n_groups = devices / opt->tp;
    out->n_lanes = opt->nodes * (opt->cpu_lanes > 0 ? opt->cpu_lanes : 1);
    double tp_eff = opt->tp > 1 ? 0.9 : 1.0; /* assumption: 10% lost to all-reduces over NVLink */
    b.dev_flops = opt->tp * opt->hw->peak_flops * tp_eff;

    /* every kind in registry order: a kind depends only on units of the kinds before it */
    for (int k = 0; k < sf_unit_kind_count(); k++) {
        const struct sf_unit_kind *kind = sf_unit_kind_at(k);
        if (!kind->plan) continue;
        st = kind->plan(&b);
        if (st == -1) st = SF_E_NOMEM;
        if (st) goto out;
    }
    SF_TRY(st, check_references(c, opt, &b.m));

    /* Totals, memory verdict (units on a worker group: CPU lanes use host memory), simulation. */
    out->peak_mem_unit = -1;
    for (int i = 0; i < out->n_units; i++) {
        struct sf_plan_unit *u = &out->units[i];
        const int cpu = u->kind->resource == SF_UNIT_CPU;
        out->sched[i].seconds = u->seconds;
        out->sched[i].gang = u->gang;
        out->sched[i].elastic = u->elastic;
        out->sched[i].cpu = cpu;
        out->total_flops += u->flops;
        out->group_seconds += u->seconds * (cpu ? 0 : u->elastic ? 1 : u->gang);
        out->lane_seconds += cpu ? u->seconds : 0;
        if (u->video_seconds > 0) out->video_seconds += u->video_seconds;
        if (u->gang > out->n_groups && !cpu && !u->elastic) {
            SF_ERROR("plan", "unit '%s' runs on %d worker groups at once but the cluster has %d: "
                     "add nodes (--nodes) or lower --tp (now %d)", u->name, u->gang,
                     out->n_groups, opt->tp);
            st = SF_E_VALIDATION;
            goto out;
        }
        if (!cpu && (out->peak_mem_unit < 0 || u->mem_bytes > out->peak_mem_bytes)) {
            out->peak_mem_bytes = u->mem_bytes;
            out->peak_mem_unit = i;
        }
    }
    if (out->peak_mem_unit < 0) out->peak_mem_unit = 0;
    out->device_seconds = out->group_seconds * opt->tp;
    if (out->n_units && out->peak_mem_bytes > 0.92 * opt->hw->mem_bytes) {
        const struct sf_plan_unit *u = &out->units[out->peak_mem_unit];
        SF_ERROR("plan", "unit '%s' needs %.1f GiB per rank but a %s has %.0f GiB (92%% usable): "
                 "use a larger --tp (now %d) or %s", u->name, u->mem_bytes / (1 << 30),
                 opt->hw->name, opt->hw->mem_bytes / (1 << 30), opt->tp,
                 opt->hw->is_cpu ? "more memory per rank (fewer ranks per node, --mem-per-rank)"
                                 : "a GPU with more memory (--gpu h200)");
        st = SF_E_VALIDATION;
        goto out;
    }
    SF_TRY(st, sf_sched_rank(out->sched, out->n_units));
    SF_TRY(st, sf_sched_simulate(out->sched, out->n_units, out->n_groups, out->n_lanes, &out->sim));
    double price = opt->price_per_hour > 0 ? opt->price_per_hour : opt->hw->price_per_hour;
    out->cost_usd = out->sim.makespan / 3600.0 * devices * price;
out:
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
