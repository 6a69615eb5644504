/* sf_render.h — the pieces of `shotfarm render` (docs/render.md), shared by its files:
 *   cmd_render.c      the command: options, MPI and run-directory set-up, then the two loops;
 *   render_plan.c     the campaign expanded into jobs (sf_plan_build's units, so plan and render
 *                     agree), each prepared by its unit kind (sf_unit.h, unit_*.c) with its
 *                     output path and cache key fixed before anything runs;
 *   units.c           the registry of unit kinds and what every kind's run shares (the model
 *                     parts a worker loads once);
 *   render_coord.c    the coordinator thread on rank 0: dispatch, failures, retries, signals,
 *                     stalls (render_internal.h);
 *   render_worker.c   the worker loop of every rank and the CPU lanes;
 *   render_manifest.c manifest.json (inputs hashed, determinism domain);
 *   render_events.c   events.jsonl and the progress lines;
 *   render_signal.c   SIGTERM/SIGUSR1, recorded for the loops and for resume;
 *   render_resume.c   what a launch keeps of the earlier ones; render_ckpt.c checkpoints;
 *   cmd_status.c      `shotfarm status RUNDIR` from manifest.json and events.jsonl.
 * Every rank expands the campaign itself, identically, so the coordinator sends only job indices.
 */
#ifndef SF_RENDER_H
#define SF_RENDER_H

#include <stdint.h>

#include "sf_hash.h"
#include "sf_sched.h"
#include "sf_unit.h"

#define SF_RENDER_PATH_MAX 4096

/* One unit of the plan, ready to run. The first block is every kind's; the rest belongs to the
 * kinds named (a kind reads the fields of the jobs it depends on). */
struct sf_render_job {
    const struct sf_unit_kind *kind; /* sf_unit.h */
    char name[160];      /* the plan's unit name */
    char shot_label[96]; /* "sequence/shot" for per-shot jobs, "" otherwise */
    char row[96];        /* status row: the shot label, else the kind's status_row */
    char stem[160];      /* "sequence.shot.take1.16x9": file names of this job's outputs */
    int shot, take, aspect, sequence, element; /* -1 where not per shot / sequence / element */
    int length;          /* index into deliverables.lengths (-1: the whole sequence / none) */
    int language;        /* sound: enum sf_lang (-1: not per language) */
    int gang;            /* worker groups at once (1, or n for a gang unit) */
    int steps;           /* progress steps reported (denoise: sampler steps), 0 for none */
    /* text */
    const char *prompt; /* the prompt as written (Wan's default negative substituted) */
    /* denoise */
    int text_job, neg_job;
    int width, height, frames;    /* pixels and model frames */
    int64_t latent[3];            /* latent frames, height, width */
    uint32_t seed;                /* the shot's seed + take (Philox key) */
    int sampler, schedule;        /* sampler / schedule as the enum values of sf_sampler.h */
    double shift, guidance;
    int window, overlap;          /* temporal windows (latent frames) of the video's frames */
    int cfg_split;                /* --cfg-parallel: guidance as two batch-1 passes; a gang
                                     is the pair of branches, not a share of the windows */
    /* identity: bit a set when the references are encoded at aspect a's size */
    int aspects;
    /* denoise with references (Wan2.1-VACE): the shot's picks (sf_unit_identity_pick), each an
     * identity job and the index of one of its element's references, in the conditioning's
     * list order; n_refs leading latent frames are added while denoising and dropped after */
    int n_refs;
    int ref_job[SF_UNIT_MAX_REFS], ref_index[SF_UNIT_MAX_REFS];
    /* denoise with known frames (VACE's masked video): key art images (NULL: none), and the
     * decode job of the continued shot's selected take (-1: none) with the frames taken */
    const char *first_frame, *last_frame;
    int continue_job, continue_frames;
    /* decode */
    int denoise_job;
    const void *data;             /* a kind's own, set by its prepare (borrowed) */
    char out[SF_RENDER_PATH_MAX]; /* text: cache file; denoise: latent .h5; decode: shot .mkv */
    /* SHA-256 of everything the output depends on (docs/render.md § Resume): a unit whose key
     * is unchanged and whose output is present was rendered already */
    char key[SF_SHA256_HEX];
};

struct sf_render_setup {
    const char *model_dir; /* the pipeline directory (transformer/, text_encoder/, vae/) */
    const char *tokenizer; /* tokenizer.json */
    const char *rundir, *cache;
    char text_key[SF_SHA256_HEX]; /* SHA-256 of the text encoder's files and the tokenizer */
    char dit_key[SF_SHA256_HEX];  /* ... of the DiT's files (transformer/, else the model's) */
    char vae_key[SF_SHA256_HEX];  /* ... of the VAE's files (vae/, else the model's) */
    int tp;                       /* ranks per worker group: part of the denoise key */
    int tier;                     /* 0 draft, 1 final (enum sf_tier_kind) */
    int cfg_parallel; /* render --cfg-parallel: guidance passes split, a pair of groups a unit */
    const struct sf_campaign *campaign; /* borrowed from the command, alive while jobs run */
    /* checkpoints (docs/render.md § Checkpoints): every ckpt_steps steps when > 0, else every
     * ckpt_seconds of a unit's denoising; into ckpt_dir (RUNDIR/ckpt) */
    int ckpt_steps;
    double ckpt_seconds;
    char ckpt_dir[SF_RENDER_PATH_MAX + 16];
    int text_len;                 /* the DiT's text rows (512): tokenizer max_len */
    int n_jobs;
    struct sf_render_job *jobs;
    struct sf_sched_unit *sched; /* parallel to jobs: durations, ranks and deps */
    int64_t max_latent[3];
    const char *device; /* where the DiT runs: "cpu", "cuda", or NULL (sf_backend_for_device) */
};

struct sf_campaign;
/* The hardware profile (sf_plan_profile) render prices its units with, whatever its device: the
 * jobs, their ranks and the manifest's `plan` must not depend on the machine that renders. */
#define SF_RENDER_PRICE_PROFILE "h200"

struct sf_json;
/* The manifest's `plan` as status and the report show it: the makespan in seconds (< 0: the
 * manifest has none) and the hardware profile it was priced with ("h200"; "?" when not
 * recorded), also upper-cased for a label ("H200 estimate"). */
struct sf_render_planned {
    double makespan;
    char profile[16], label[16];
};
void sf_render_manifest_plan(const struct sf_json *manifest, struct sf_render_planned *p);

/* Expands the campaign for `tier` (0 draft, 1 final) at tensor-parallel degree tp. Needs
 * setup->model_dir, tokenizer, rundir, cache, text_key, dit_key and vae_key set; fills every
 * job's key. Fails with the plan's statuses
 * (logged) or SF_E_INVAL for a prompt that is not valid UTF-8. sf_render_setup_fini frees. */
int sf_render_expand(const struct sf_campaign *c, int tier, int tp, struct sf_render_setup *s);
void sf_render_setup_fini(struct sf_render_setup *s);
/* SF_OK when tensor-parallel degree tp splits the DiT of model_dir (its heads and FFN width);
 * otherwise SF_E_USAGE (exit 2) with one error line listing the valid degrees, or the model
 * directory's own status (logged) when its DiT cannot be opened. */
int sf_render_check_tp(const char *model_dir, int tp);

/* ---- workers (units.c) ------------------------------------------------------------------ */
struct sf_comm;

/* A model part loaded on first use; a failed load is remembered with its cause. */
struct sf_render_part {
    void *p;
    int st; /* SF_OK until a load failed */
    char cause[512];
};
/* SF_OK, or the status of the part's earlier failed load (its cause logged again). */
int sf_render_part_failed(const struct sf_render_part *p);
/* Whether path is an h5pack file that verifies (its sidecar) and carries the root attribute
 * `key` equal to key: the output_ok of kinds that write HDF5 (denoise latents, the identity
 * bank). Main thread (HDF5). */
int sf_render_h5_has_key(const char *path, const char *key);
/* Records the outcome st of loading p (and its cause when it failed); returns st. */
int sf_render_part_ready(struct sf_render_part *p, int st);

/* Where a gang unit's member runs (every job has one: index 0 of 1 for a plain unit). */
struct sf_render_gang {
    int index, size;                 /* this group's place in the gang, and the gang's groups */
    int leaders[SF_UNIT_MAX_GANG];   /* world rank of each member group's leader, by index */
    void *world_comm;                /* MPI_Comm * on which they may talk (borrowed), or NULL */
};

struct sf_render_worker {
    const struct sf_render_setup *s;
    struct sf_comm *comm; /* the group (tp > 1) or NULL */
    int leader;           /* group rank 0: reports and writes */
    int lane;             /* a CPU lane (a thread without a group or model) */
    struct sf_render_gang gang; /* of the running job */
    struct sf_render_part dit, umt5, vae, tok;
};

/* One rank of a worker group: loads each model part on first use and keeps it. group is the
 * group's communicator (borrowed; it must outlive the worker), or NULL for a group of one (and
 * for a CPU lane). With group->size > 1 the DiT is sharded over the group, every rank of the
 * group must run the same SF_UNIT_EVERY_RANK jobs in the same order (they are collectives), and
 * only group rank 0 (the leader) runs SF_UNIT_LEADER jobs; the others compute but neither report
 * progress nor write. Fails with SF_E_NOMEM only. */
int sf_render_worker_create(const struct sf_render_setup *s, struct sf_comm *group,
                            struct sf_render_worker **out);
void sf_render_worker_destroy(struct sf_render_worker *w);

/* ---- inside a gang unit (render_gang.c): every rank of every member calls these in the same
 * order; with a gang of one they are the group's collectives alone. */
/* Member 0's buf (its group leader's) to every rank of the gang. */
int sf_render_gang_bcast(struct sf_render_worker *w, void *buf, size_t bytes);
/* *x := the sum of *x over every rank of the gang (members added in order). */
int sf_render_gang_sum(struct sf_render_worker *w, double *x);
/* The windows of a cut of n that member g->index runs: a contiguous block, *count of them from
 * *first (member m: floor(m n / size) .. floor((m+1) n / size) - 1). Needs size <= n. */
void sf_render_gang_windows(const struct sf_render_gang *g, int n, int *first, int *count);
/* sf_denoise_windows.blend for a gang: arg is a struct sf_render_gang_blend. */
struct sf_render_gang_blend {
    struct sf_render_worker *w;
    int64_t channels, frames, plane; /* the whole latent's (channels, frames, H*W) */
    float *part;                     /* scratch of channels*frames*plane on member 0 */
};
int sf_render_gang_blend(void *arg, float *v, int64_t lo, int64_t hi);
/* The guidance branches on a pair of groups (render --cfg-parallel): arg is a struct
 * sf_render_gang_blend (part unused).
 * sf_denoise_windows.pair: member 1 gives its unconditional prediction u (n floats) to member 0,
 * whose every rank gets it; sf_denoise_windows.blend: member 0's guided prediction to every
 * rank of the pair. */
int sf_render_gang_pair(void *arg, float *u, int64_t n);
int sf_render_gang_share(void *arg, float *v, int64_t lo, int64_t hi);
/* What a job tells its caller while it runs. The group leader gets every call; the other ranks
 * of a tensor-parallel group only `stop` (any member may be asked to stop; the group agrees at
 * the step boundary). Any member may be NULL. */
struct sf_render_report {
    /* once, when the job starts work: step 0, or the step a denoise unit continues from and the
     * checkpoint it was read from */
    void (*started)(void *arg, int step, int n_steps, const char *checkpoint);
    void (*step)(void *arg, int step, int n_steps);             /* after each denoising step */
    void (*checkpoint)(void *arg, int step, const char *path); /* after each one written */
    int (*stop)(void *arg); /* nonzero: checkpoint at this step boundary and stop */
    void *arg;
};
/* Runs job j with its kind's run. Returns SF_OK, SF_E_INTERRUPTED (a denoise unit stopped at a step boundary
 * because `stop` said so, after its checkpoint was reported), or the failure's status; the
 * cause is the first error line this thread logged (sf_log_first_error) — a part that failed
 * to load fails every job that needs it with the same cause, without retrying the load. */
int sf_render_job_run(struct sf_render_worker *w, int j, const struct sf_render_report *r);

/* Removes a job's output made for other inputs (its kind's remove_output, else the file and its
 * .sha256 sidecar), logging what it removed. */
void sf_render_remove_output(const struct sf_render_job *j);

/* How the guidance passes run (SF_DENOISE_GUIDANCE_MODE, or SF_DENOISE_GUIDANCE_SPLIT with
 * render --cfg-parallel): recorded in the manifest and in the
 * denoise key. */
const char *sf_render_guidance_mode(int cfg_parallel);

/* ---- resume (render_resume.c) ------------------------------------------------------------ */

/* What a run directory was rendered with, beyond the units' keys: a change of any of these is
 * refused on resume unless --force (manifest.json `identity`). Strings borrowed. */
struct sf_render_identity {
    const char *transformer, *vae, *text_encoder; /* the components' keys */
    const char *sampler, *schedule;               /* names */
    int steps, tp;
    double shift, guidance;
    const char *guidance_passes; /* sf_render_guidance_mode */
    uint32_t seed; /* the campaign's */
};

/* This launch's identity (the first denoise job's sampler settings: one tier per render). */
void sf_render_identity_of(const struct sf_render_setup *s, uint32_t seed,
                           struct sf_render_identity *id);
/* Writes it as the manifest's `identity` object (the names resume compares). */
struct sf_jw;
void sf_render_identity_json(struct sf_jw *j, const struct sf_render_identity *id);

struct sf_render_resume_opts {
    int require;     /* --resume: a run directory without a manifest is an error */
    int force;       /* --force: a changed identity re-renders instead of being refused */
    int max_retries; /* --max-retries */
};

/* Per job, what this launch does with what earlier launches left. */
struct sf_render_resume {
    int attempt;             /* this launch's number: 1 + the last recorded one */
    int resumed;             /* an earlier manifest was there */
    unsigned char *reuse;    /* finished earlier with the same key, output valid: not run */
    unsigned char *poisoned; /* failures > max_retries: marked failed, not run */
    int *failures;           /* failures charged: two consecutive job deaths while running */
    unsigned char *suspect;  /* running, and not excused by a signal, when the last launch
                              * died: it runs alone on its ranks this launch, so that a second
                              * death is charged to the unit that crashes and not to the units
                              * that shared its process (render_coord.c) */
};

/* Reads RUNDIR's manifest.json, events.jsonl and signals/ (docs/render.md § Resume) and decides
 * per job; removes the outputs of jobs that are not reused. Rank 0, before the new manifest is
 * written; makes HDF5 calls. SF_E_USAGE (exit 2, logged) for --resume with nothing to resume,
 * an unreadable manifest or a changed identity without force; SF_E_NOMEM; the file errors of
 * events.jsonl. r is filled even for a fresh directory; sf_render_resume_fini frees. */
int sf_render_resume_plan(const struct sf_render_setup *s, const struct sf_render_identity *id,
                          const struct sf_render_resume_opts *o, struct sf_render_resume *r);
void sf_render_resume_fini(struct sf_render_resume *r);

/* Calls fn for every complete JSON object line of the events file at path (a torn line, from a
 * writer killed mid-append, is skipped); stops at fn's first non-SF_OK and returns it.
 * SF_E_NOTFOUND when the file does not exist. */
struct sf_json;
int sf_render_events_each(const char *path, int (*fn)(void *arg, const struct sf_json *ev),
                          void *arg);

/* ---- per-sequence renders (render_sequence.c, docs/submit.md § Per-sequence job arrays) --- */
/* Keeps only the worker-group units of sequence `seq` (by id) and the units they depend on,
 * renumbering the jobs' references to each other; called after sf_render_expand on every rank.
 * SF_E_USAGE (one line listing the sequences) for an unknown id; SF_E_NOMEM. */
int sf_render_keep_sequence(struct sf_render_setup *s, const char *seq);
/* Marks reused every worker-group job not reused yet whose output a per-sequence render in
 * s->rundir/seq/NAME finished with the same key, hard-linking that output (and its sidecar)
 * into s->rundir. Rank 0, after sf_render_resume_plan (HDF5 calls). SF_E_USAGE when
 * s->rundir/seq cannot be read; SF_E_FORMAT for a damaged manifest there; SF_E_IO. */
int sf_render_import_sequences(const struct sf_render_setup *s, struct sf_render_resume *r);
/* mkdir -p of path's directory part (dir_of_file 1) or of path itself. SF_E_IO logged. */
int sf_render_mkdirs(const char *path, int dir_of_file);

#endif
