/* sf_unit.h — a kind of render unit: everything plan, render, resume and status need to know
 * about one kind of work, as one table of functions (like the kernels' backend table). Each
 * kind lives in a file of its own (unit_text.c, unit_identity.c, unit_denoise.c, unit_decode.c,
 * unit_sound.c, unit_assemble.c, unit_master.c) and is listed once in units.c; adding a kind is adding a file and a line.
 *
 * How the farm uses a kind, in order:
 *   plan     sf_plan_build calls every kind's `plan` in registry order; it appends the kind's
 *            units with their dependencies (on units of kinds listed before it), cost, memory,
 *            resource class and gang size. `shotfarm plan` prints these units and simulates
 *            them; render runs exactly these units, so the two never disagree.
 *   prepare  render, on every rank identically: the unit becomes a job (sf_render.h) with its
 *            output path and its key (SHA-256 of every input; dependencies come first, so their
 *            keys are known).
 *   run      on a worker group (resource SF_UNIT_GROUP: every rank of the group, or only its
 *            leader) or on a CPU lane (SF_UNIT_CPU: a thread of a node's first rank, so an encode
 *            never holds a tensor-parallel group). A gang unit runs on `gang` groups at once (an
 *            elastic one, a windowed shot, on any 1 .. gang: sf_sched_groups), each
 *            told its place in the gang (w->gang). A kind without `run` is planned but skipped.
 *   resume   `output_ok` says whether a unit finished earlier with the same key;
 *            `remove_output` deletes a stale output before the unit runs again.
 *   status   the manifest records each unit's kind name, its steps and the row it belongs to
 *            (its shot, else the kind's `status_row`); status reads only the manifest and events.
 *
 * Threading rule: GROUP units run on a rank's main thread, which is the only thread that may call
 * HDF5 or the compute kernels' thread pool; CPU units run on lane threads and must do neither.
 */
#ifndef SF_UNIT_H
#define SF_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "sf_campaign.h"
#include "sf_config.h"

struct sf_plan;
struct sf_plan_unit;
struct sf_plan_options;
struct sf_render_setup;
struct sf_render_job;
struct sf_render_worker;
struct sf_render_report;

enum sf_unit_resource {
    SF_UNIT_GROUP, /* a worker group that holds the model (tensor-parallel shards) */
    SF_UNIT_CPU,   /* a CPU lane: no model, no group held */
};

enum sf_unit_ranks {
    SF_UNIT_LEADER,     /* the group's rank 0 alone (the other ranks wait for their next job) */
    SF_UNIT_EVERY_RANK, /* every rank of the group, in the same order (collectives inside) */
};

#define SF_UNIT_MAX_GANG 64

/* What the model looks like to the cost formulas (plan.c fills it from the campaign or --model). */
struct sf_plan_model {
    struct sf_dit_config dit;
    int t5_model, t5_attn, t5_ff, t5_layers;
    double t5_params;
    int vae_dim;
    double weight_bytes_per_param;
};

/* The expansion under way, handed to every kind's `plan` (plan.c owns it). */
struct sf_plan_builder {
    struct sf_plan *p;
    const struct sf_campaign *c;
    const struct sf_plan_options *opt;
    struct sf_plan_model m;
    double dev_flops; /* FLOP/s of one worker group: devices x peak x tensor-parallel efficiency */
    int cap;
};

struct sf_unit_kind {
    const char *name;       /* "denoise": in plan, the manifest, events and status */
    const char *status_row; /* status row of its units that belong to no shot ("prompts") */
    enum sf_unit_resource resource;
    enum sf_unit_ranks ranks; /* SF_UNIT_GROUP only */
    /* Appends this kind's units (sf_plan_add). SF_OK, SF_E_NOMEM, or a status logged. */
    int (*plan)(struct sf_plan_builder *b);
    /* Fills job j of s from its plan unit u (common fields are set: name, shot, stem, deps):
     * kind fields, j->out, j->steps (progress steps, 0 for none) and j->key. Every rank calls it
     * identically. Optional (a kind that is only planned). */
    int (*prepare)(struct sf_render_setup *s, struct sf_render_job *j,
                   const struct sf_plan_unit *u, const struct sf_campaign *c);
    /* Runs the job on worker w. Returns SF_OK, SF_E_INTERRUPTED (stopped at a step boundary
     * because r->stop said so, after a checkpoint was reported) or the failure's status with
     * its cause logged. NULL: planned, not rendered yet (the unit is logged `skipped`). */
    int (*run)(struct sf_render_worker *w, const struct sf_render_job *j,
               const struct sf_render_report *r);
    const char *skip_reason; /* when run is NULL: why (events.jsonl `skipped`) */
    /* The output is present, complete and made for j->key (resume skips the unit). Rank 0's main
     * thread; may make HDF5 calls. */
    int (*output_ok)(const struct sf_render_job *j);
    /* Removes an output made for other inputs. Optional: default unlinks j->out and its
     * .sha256 sidecar. */
    void (*remove_output)(const struct sf_render_job *j);
};

/* The registered kinds in order (built-ins first, then sf_unit_kind_register's). */
int sf_unit_kind_count(void);
const struct sf_unit_kind *sf_unit_kind_at(int i);
const struct sf_unit_kind *sf_unit_kind_find(const char *name);
/* Adds a kind after the built-ins (before any plan or render; e.g. from a test's main).
 * SF_E_INVAL for a duplicate name or a full table. The table borrows k. */
int sf_unit_kind_register(const struct sf_unit_kind *k);

/* The built-in kinds (units.c lists them). */
extern const struct sf_unit_kind sf_unit_text, sf_unit_identity, sf_unit_denoise, sf_unit_decode,
    sf_unit_sound, sf_unit_assemble, sf_unit_master;
/* The review kinds (docs/review.md): after the deliverables they look at. */
extern const struct sf_unit_kind sf_unit_timeline, sf_unit_qc, sf_unit_contact, sf_unit_review;

/* The mix a finished sound job delivered (the path its record lists). SF_E_FORMAT (logged with
 * the fix) when the record is damaged. */
int sf_unit_sound_mix(const struct sf_render_job *j, char *path, size_t n);

/* The most references one shot is conditioned on: the ceiling of tiers.<t>.max_refs (every
 * reference is one latent frame more for every step of the shot). */
#define SF_UNIT_MAX_REFS SF_CAMPAIGN_MAX_SHOT_REFS

/* An element's references in the bank's order: its `refs` images, then the frames sampled from
 * its `clip` (sf_media_clip_times). Reference r < el->n_refs is image r, the others clip sample
 * r - el->n_refs. */
int sf_unit_identity_count(const struct sf_element *el);

/* The references shot s is conditioned on (docs/campaign.md § elements): the first reference of
 * each of its elements in the shot's element order, then the second of each, and so on, until
 * max_refs (the tier's, at most SF_UNIT_MAX_REFS). Fills element[i] (campaign element index) and
 * ref[i] (its reference index, sf_unit_identity_count's order); returns how many.
 * Deterministic: a function of the campaign alone. */
int sf_unit_identity_pick(const struct sf_campaign *c, const struct sf_shot *s, int max_refs,
                          int element[SF_UNIT_MAX_REFS], int ref[SF_UNIT_MAX_REFS]);

/* The decode unit of denoise unit i: found, or appended now (the decode kind's plan adds the
 * others). The denoise plan calls it for the take a `continues:` shot continues from, so that
 * decode comes before the continuing shot's denoise in the unit order (docs/unit-kinds.md).
 * Returns its index, or -1 when out of memory. */
int sf_unit_decode_add(struct sf_plan_builder *b, int i);

/* Reads reference `ref` of identity job `bank` as encoded at width x height into z (16, 1,
 * height/8, width/8), the caller's. Main thread (HDF5). Fails with h5pack's statuses, logged
 * with the file. */
int sf_unit_identity_read(const struct sf_render_job *bank, int ref, int width, int height,
                          float *z);

/* ---- for a kind's `plan` (plan.c) ------------------------------------------------------- */

/* Appends a unit of kind k: sequence index (-1 campaign-wide), FLOPs, the efficiency that turns
 * them into seconds on one worker group (0: seconds set by the caller), peak memory per rank,
 * dependencies (earlier units), and its name. Returns its index, or -1 when out of memory.
 * The unit starts with shot/take/aspect/element -1, gang 1 and the kind's resource. */
int sf_plan_add(struct sf_plan_builder *b, const struct sf_unit_kind *k, int seq, double flops,
                double eff, double mem, const int *deps, int n_deps, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));
/* The first unit of kind k for (shot, take, aspect, element) (-1 matches anything), or -1. */
int sf_plan_find(const struct sf_plan_builder *b, const struct sf_unit_kind *k, int shot,
                 int take, int aspect, int element);
/* The text unit of prompt text, or -1. */
int sf_plan_find_text(const struct sf_plan_builder *b, const char *text);
/* Whether aspect a of sequence seq is rendered (its master aspect, or every delivered aspect
 * unless the campaign reframes). */
int sf_plan_renders_aspect(const struct sf_campaign *c, int seq, int a);
/* Peak bytes per rank of a VAE pass at width x height (plan.c's memory model). */
double sf_plan_vae_mem(const struct sf_plan_model *m, int width, int height);

#endif
