/* sf_plan.h — what a campaign will cost before it runs: the work units it expands into, their
 * FLOPs (node/sf_cost.h), time on a hardware profile, peak memory per rank, the makespan of the
 * farm's scheduling policy (sf_sched.h) on the chosen cluster, money, and the hosted price of
 * the same seconds of video. `shotfarm plan` prints it; render runs the same units. */
#ifndef SF_PLAN_H
#define SF_PLAN_H

#include <stddef.h>

#include "sf_campaign.h"
#include "sf_sched.h"
#include "sf_unit.h"

/* A device the farm can run on. Peak and efficiencies are per device; efficiencies are
 * assumptions until a measurement is recorded in BENCHMARKS.md (`efficiency_source` says which). */
struct sf_hw_profile {
    const char *name;             /* "h100" */
    const char *description;      /* "NVIDIA H100 SXM 80 GB" */
    double peak_flops;            /* dense bf16 FLOP/s (GPU) or measured fp32 FLOP/s (CPU) */
    double mem_bytes;             /* device memory */
    double eff_dit, eff_vae, eff_text; /* fraction of peak reached by each component */
    const char *efficiency_source;
    double price_per_hour;        /* default cost of one device-hour, USD (an assumption) */
    int is_cpu;
};

/* The `cpu` profile made concrete for ranks_per_node ranks on a node: cores_per_rank cores
 * (<= 0: this machine's online cores / ranks) and mem_per_rank bytes (<= 0: this machine's
 * memory / ranks) per rank, the peak scaled by the cores; the description (in desc[n], which
 * out->description points to) says which numbers came from this machine. */
void sf_plan_cpu_profile(const struct sf_hw_profile *cpu, int ranks_per_node, int cores_per_rank,
                         double mem_per_rank, struct sf_hw_profile *out, char *desc, size_t n);

/* NULL-terminated table of profiles: h100, h200, a100, l40s, cpu. */
const struct sf_hw_profile *sf_plan_profiles(void);
const struct sf_hw_profile *sf_plan_profile(const char *name);

struct sf_plan_unit {
    char name[160];       /* "dawn-run/tracking take 2 16:9 denoise" */
    const struct sf_unit_kind *kind; /* sf_unit.h: what runs it, where, and its outputs */
    int sequence;         /* sequence index, -1 for campaign-wide units */
    double flops;
    double seconds;       /* on one worker group (or one CPU lane) */
    int gang;             /* worker groups it occupies at once (1, or n for a gang unit) */
    int elastic;          /* gang is a most: any 1 .. gang idle groups start it (sf_sched_groups) */
    double mem_bytes;     /* peak per rank */
    double video_seconds; /* seconds of video this unit produces (denoise units) */
    /* What the unit works on, for render (which runs these same units): */
    int shot, take, aspect; /* shot index, take (0-based), enum sf_aspect; -1 when not per shot */
    const char *text;     /* text units: the prompt (owned by the campaign); "" = Wan's default
                             negative prompt */
    int element;          /* identity units: element index, else -1 */
    int length;           /* assembly units: index into deliverables.lengths, -1 the whole
                             sequence (a campaign without lengths), else -1 */
    int language;         /* sound units: enum sf_lang, else -1 */
};

struct sf_plan_options {
    const struct sf_hw_profile *hw;
    int nodes, devices_per_node, tp;
    enum sf_tier_kind tier;
    double price_per_hour;  /* <= 0: the profile's default */
    double credit_usd;      /* value of one hosted credit in USD */
    int cpu_lanes;          /* CPU lanes per node for CPU units (<= 0: 1) */
    const char *model_dir;  /* a model directory whose DiT config.json (or shapes) size the model;
                               NULL: the campaign's model (its config name, else its dir) */
    int cfg_parallel;       /* --cfg-parallel: a guided denoise unit is a gang of 2 branches */
};

struct sf_plan {
    int n_units;
    struct sf_plan_unit *units;
    struct sf_sched_unit *sched;   /* parallel to units */
    struct sf_sched_result sim;
    int n_groups, n_lanes;         /* worker groups; CPU lanes (cpu_lanes per node) */
    struct sf_plan_model model;    /* what the cost formulas assumed */
    double lane_seconds;           /* CPU-lane seconds (not device time) */
    double total_flops, group_seconds, device_seconds, cost_usd;
    double video_seconds;          /* rendered seconds: shots x takes x aspects */
    double peak_mem_bytes;         /* the largest unit's peak per rank */
    int peak_mem_unit;
    int uses_references, has_dialogue;
};

/* Expands and simulates. SF_E_VALIDATION with one line naming the unit, its memory and the device's
 * when a unit cannot fit (and a fix: a larger --tp or another --gpu); SF_E_USAGE for a cluster
 * that holds no worker group; SF_E_NOMEM. The caller frees with sf_plan_fini. */
int sf_plan_build(const struct sf_campaign *c, const struct sf_plan_options *opt,
                  struct sf_plan *out);
void sf_plan_fini(struct sf_plan *p);

/* Hosted per-second rates (Kling 3.0 credit list): NULL-terminated. */
struct sf_hosted_rate {
    const char *name;      /* "Kling 3.0 Omni Pro + audio" */
    double credits_per_second;
    int omni, audio;       /* reference-driven (Omni) tier; with native audio */
};
const struct sf_hosted_rate *sf_plan_hosted_rates(void);
/* Where assembly's encoder throughputs come from (printed with the plan; unit_assemble.c). */
extern const char *const sf_plan_encoder_source;
/* Where the rates and the default credit value come from (printed with the plan). */
extern const char *const sf_plan_hosted_source;
#define SF_PLAN_DEFAULT_CREDIT_USD 0.01

#endif
