/* render_internal.h — what the files of `shotfarm render` share beyond sf_render.h: the parsed
 * options, the messages between the coordinator and the workers, and the coordinator's state.
 * Included by cmd_render.c, render_coord.c, render_worker.c, render_events.c,
 * render_manifest.c and render_signal.c only (they need MPI).
 *
 * Slots: the coordinator hands units to slots. Slots 0 .. n_groups-1 are the worker groups
 * (a group unit runs on one, a gang unit on several at once); slots n_groups .. n_slots-1 are
 * the CPU lanes (cpu_lanes threads on the first rank of every node), which run CPU units. */
#ifndef SF_RENDER_INTERNAL_H
#define SF_RENDER_INTERNAL_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "sf_render.h"

struct sf_world;
struct sf_jw;

/* `shotfarm render`'s options (cmd_render.c parses them). */
struct sf_render_opts {
    const char *campaign, *rundir, *model, *tokenizer, *cache;
    long tp, threads, max_retries, cpu_lanes;
    int tier, resume, force;
    int ckpt_steps;      /* > 0: every N steps */
    double ckpt_seconds; /* else every this many seconds */
    double signal_grace, stall_timeout;
    double heartbeat_timeout; /* --heartbeat-timeout (render_heartbeat.c) */
    const char *device; /* --device cpu|cuda, or NULL */
    const char *sequence; /* --sequence SEQ: that sequence's shots only, or NULL */
    int from_sequences;   /* --from-sequences: take the shots of RUNDIR/seq/NAME */
    int cfg_parallel;     /* --cfg-parallel: guidance passes split (docs/windows.md) */
};

/* ---- messages ------------------------------------------------------------------------------ */

#define SF_RENDER_TAG_JOB 7101   /* coordinator -> a rank's main thread: struct sf_render_msg */
#define SF_RENDER_TAG_EVENT 7102 /* a group leader or lane -> coordinator: sf_render_event_msg */
#define SF_RENDER_TAG_GANG 7103  /* between the members of a gang unit (render_gang.c) */
#define SF_RENDER_TAG_LANE 7200  /* + lane index on its node: coordinator -> that CPU lane */
#define SF_RENDER_MSG_END (-1)   /* no more work: leave the loop (answered with EV_BYE) */
#define SF_RENDER_MSG_STOP (-2)  /* a signal: checkpoint at the next step boundary and stop */

/* A job for a worker: its index and its place in the gang (a control message is job alone). */
struct sf_render_msg {
    int32_t job;                            /* index, or SF_RENDER_MSG_END / _STOP */
    int32_t gang_index, gang_size;
    int32_t leaders[SF_UNIT_MAX_GANG];      /* world rank of each gang member's leader */
};

/* EV_SIGNAL: a rank received SIGTERM/SIGUSR1 (status = the signal) while idle; EV_BYE: a rank's
 * or lane's last message, the answer to SF_RENDER_MSG_END; the others say what happened to a
 * job. EV_STEP of a job without steps (a decode's frames) is progress for the stall timeout
 * only, not logged. */
enum sf_render_ev {
    EV_STARTED,
    EV_STEP,
    EV_FINISHED,
    EV_FAILED,
    EV_CKPT,
    EV_INTERRUPTED,
    EV_SIGNAL,
    EV_BYE
};

struct sf_render_event_msg {
    int32_t job, type, step, n_steps, status;
    int32_t slot;       /* the group, or n_groups + lane, that ran it */
    int32_t rank, gang_index;
    double t;           /* wall clock (Unix seconds) at the worker */
    char host[64];
    char text[SF_RENDER_PATH_MAX + 64]; /* the error, or a checkpoint's path */
};

/* ---- the coordinator (render_coord.c; rank 0, its own thread) ------------------------------ */

enum sf_render_state { J_PENDING, J_RUNNING, J_DONE, J_FAILED, J_SKIPPED };
#define SF_RENDER_SLOT_LOST (-2) /* busy[] of a slot that stalled: never given work again */

struct sf_render_coord {
    const struct sf_render_setup *s;
    const struct sf_render_resume *resume;
    const struct sf_render_opts *o;
    MPI_Comm comm;
    int n_groups, n_lanes, n_slots, tp, attempt;
    int *leader;     /* world rank of each group's leader */
    int *lane_rank;  /* world rank that hosts each lane */
    int *lane_tag;   /* and the tag it listens on */
    int n_ranks;
    int *rank_group; /* group of each world rank */
    int *busy;       /* job of each slot, -1 when idle, SF_RENDER_SLOT_LOST */
    int isolating;   /* suspects (resume->suspect) are pending or running */
    unsigned char *rank_mark; /* per rank, while isolating: what its slots run */
    unsigned char *state, *ready;
    int *gang_left;  /* per job: members not yet ended */
    unsigned char *gang_end; /* per job: 1 a member was interrupted, 2 a member failed */
    int events_fd;
    int tty;
    int shown; /* progress lines on screen */
    int *step, *ckpt_step;
    char (*ckpt)[SF_RENDER_PATH_MAX + 64]; /* per slot: its running unit's newest checkpoint */
    double *started, *alive; /* when dispatched; the last sign of progress (monotonic) */
    char (*cause)[448]; /* each failed job's cause, passed on to its dependents */
    int n_failed, n_done, n_reused, n_lost;
    int stopping;    /* a signal arrived: no new work; running units checkpoint and stop */
    int interrupted; /* units were stopped by the signal: exit 75 */
    double deadline; /* of the signal grace (monotonic) */
    struct sf_render_beat *beat; /* rank 0's heartbeat: who went silent */
    int silent_seen; /* a rank went silent (--heartbeat-timeout): exit 75 */
    int exit_code;   /* of the launch, in run_end */
    int st;          /* first coordinator error (events file, MPI) */
};

/* The coordinator thread's body (arg: struct sf_render_coord *). */
void *sf_render_coordinator(void *arg);

/* ---- the event log and progress lines (render_events.c) ------------------------------------ */

/* Opens RUNDIR/events.jsonl for appending; a torn last line (a writer killed mid-append) gets
 * its newline, so the next event starts a line of its own. */
int sf_render_events_open(const char *rundir, int *fd);
/* One line of events.jsonl; fsynced unless it is a step (resume and status read these after a
 * crash). job < 0 for launch-wide events; m the worker's report or NULL; error the cause (or a
 * skip's reason) or NULL; ex writes the event's own extra fields, or is NULL. */
void sf_render_event(struct sf_render_coord *c, const char *what, int job,
                     const struct sf_render_event_msg *m, const char *error,
                     void (*ex)(struct sf_jw *j, const void *arg), const void *arg);
/* On a terminal: removes the progress lines so a log line can take their place. */
void sf_render_progress_erase(struct sf_render_coord *c);
/* On a terminal: one line per busy slot, redrawn in place. */
void sf_render_progress_draw(struct sf_render_coord *c);
/* Wall clock, Unix seconds. */
double sf_render_wall_now(void);
/* Sleeps *ns and doubles it up to 20 ms: the wait of every probe loop (never a busy spin). */
void sf_render_back_off(long *ns);

/* ---- the workers (render_worker.c) --------------------------------------------------------- */

/* Starts the CPU lanes of this rank (cpu_lanes threads when it is its node's first rank, else
 * none). SF_E_NOMEM. */
struct sf_render_lanes;
int sf_render_lanes_start(const struct sf_render_setup *s, const struct sf_world *world,
                          MPI_Comm comm, int cpu_lanes, struct sf_render_lanes **out);
/* Waits for the lanes to leave (after the coordinator's END) and frees them. */
void sf_render_lanes_join(struct sf_render_lanes *l);
/* The worker loop of this rank's main thread, until the coordinator's END. */
int sf_render_worker_loop(const struct sf_render_setup *s, const struct sf_world *world,
                          MPI_Comm comm);

/* ---- signals (render_signal.c) ------------------------------------------------------------- */

/* Installs the SIGTERM/SIGUSR1 handler: it records the first signal, and appends "UNIT SIGNO"
 * for every unit this process runs to path (RUNDIR/signals/LAUNCH.RANK), async-signal-safely. */
void sf_render_signals_install(const struct sf_render_job *jobs, const char *path);
/* The first signal received, or 0. */
int sf_render_signal(void);
/* Whether a thread of this process runs a job now. */
int sf_render_signal_busy(void);
/* Records that this process's thread `who` (0 the main thread, 1 + lane) runs job j (-1: idle). */
void sf_render_signal_job(int who, int j);
#define SF_RENDER_SIGNAL_THREADS 17 /* main + up to 16 lanes per rank */

/* ---- the heartbeat (render_heartbeat.c) --------------------------------------------------- */

/* Every rank: starts its heartbeat thread on a duplicate of comm (collective). A rank silent
 * for timeout seconds is reported to rank 0's coordinator (sf_render_beat_silent); a coordinator
 * silent that long makes a worker rank stop its unit as on SIGUSR1 and, once idle or grace
 * seconds later, end the job with exit 75. SF_E_NOMEM. sf_render_beat_stop ends it and frees. */
struct sf_render_beat;
int sf_render_beat_start(MPI_Comm comm, double timeout, double grace,
                         struct sf_render_beat **out);
/* Rank 0: the first rank found silent (its silence in seconds, its host), or -1. */
int sf_render_beat_silent(struct sf_render_beat *b, double *silence, const char **host);
void sf_render_beat_stop(struct sf_render_beat *b);
/* SF_FAULT_SILENT=RANK:N (tests): called at each denoising step report of world rank `rank`. */
void sf_render_fault_silent(int rank);

/* ---- manifest.json (render_manifest.c) ----------------------------------------------------- */

struct sf_render_input {
    char path[SF_RENDER_PATH_MAX];
    char sha[SF_SHA256_HEX];
    long long bytes;
};

struct sf_render_inputs {
    struct sf_render_input *v;
    int n, cap;
};

/* Rank 0's set-up before any job: the campaign, its references and the model's files hashed;
 * the keys of the text encoder (with the tokenizer), the DiT and the VAE into keys[]. */
int sf_render_inputs_hash(const struct sf_campaign *c, const char *campaign_path,
                          const struct sf_render_setup *s, struct sf_render_inputs *in,
                          char keys[3][SF_SHA256_HEX]);
void sf_render_inputs_fini(struct sf_render_inputs *in);

/* What decides the bits on one rank (gathered from every rank into the manifest). */
struct sf_render_domain {
    char cpu[128], simd[32], blas[64];
};
/* This rank's: read after the kernels chose their code paths (sf_threads_init). */
void sf_render_domain_local(struct sf_render_domain *d);

/* Writes RUNDIR/manifest.json durably (rank 0). */
int sf_render_manifest_write(const struct sf_render_opts *o, const struct sf_render_setup *s,
                             const struct sf_world *w, const struct sf_render_inputs *in,
                             const struct sf_render_domain *doms,
                             const struct sf_render_identity *id, int attempt, int argc,
                             char **argv);

#endif
