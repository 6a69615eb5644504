/* render_coord.c — the coordinator of a render (render_internal.h): a thread of rank 0 that
 * hands units to slots (worker groups and CPU lanes), follows their reports, fails the
 * dependents of a failed unit, stops everything on a signal, fails a stalled unit, and is the
 * only writer of RUNDIR/events.jsonl. Started by cmd_render.c after the manifest is written.
 *
 * Dispatch: whenever slots are idle, the highest-ranked ready unit that fits goes out (sf_sched's
 * rule and the plan's ranks, sf_sched_rank): a CPU unit to an idle lane, a group unit to the first idle group, a gang unit to
 * its n first idle groups at once. A unit of an SF_UNIT_EVERY_RANK kind is sent to every rank of
 * its groups (they run collectives, and end with the same bits), one of an SF_UNIT_LEADER kind
 * to the leaders alone (the other ranks wait in a sleeping probe loop, not a spinning
 * broadcast, which would take a core from the leader). Each rank receives its jobs in the order
 * they were sent (one source, one tag), so the ranks of a group enter the same jobs in the same
 * order. A gang unit ends when every member has reported; a member's failure fails it at once.
 *
 * Suspects (sf_render_resume): a unit that was running when the last launch died runs alone on
 * its ranks: only on slots whose ranks run nothing else, and nothing else goes to those ranks
 * while it runs. While a ready suspect finds no such rank, nothing new is dispatched (the
 * running units drain). Only a launch after a death has suspects.
 *
 * Threading rule (MPI_THREAD_MULTIPLE): this thread makes MPI calls on its own tags and file
 * writes of JSON only; it never calls HDF5 or the compute kernels. */
#define _GNU_SOURCE
#include "render_internal.h"
#include "sf_comm.h"
#include "sf_errors.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sf_render_coord coord_t;

static void slot_ranks(const coord_t *c, int g, int *first, int *n);

static void event(coord_t *c, const char *what, int job, const struct sf_render_event_msg *m,
                  const char *error)
{
    sf_render_event(c, what, job, m, error, NULL, NULL);
}

/* Fails every pending job that depends on a failed one, with the cause. */
static void fail_dependents(coord_t *c)
{
    const struct sf_render_setup *s = c->s;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < s->n_jobs; i++) {
            if (c->state[i] != J_PENDING) continue;
            for (int d = 0; d < s->sched[i].n_deps; d++) {
                int dep = s->sched[i].deps[d];
                if (c->state[dep] != J_FAILED) continue;
                char why[sizeof c->cause[0] + 200];
                snprintf(why, sizeof why, "not run: `%s` failed: %s", s->jobs[dep].name,
                         c->cause[dep]);
                memcpy(c->cause[i], c->cause[dep], sizeof c->cause[i]);
                c->state[i] = J_FAILED;
                c->n_failed++;
                event(c, "failed", i, NULL, why);
                SF_WARN("render", "%s: %s", s->jobs[i].name, why);
                changed = 1;
                break;
            }
        }
    }
}

static int all_deps_done(const coord_t *c, int i)
{
    for (int d = 0; d < c->s->sched[i].n_deps; d++) {
        int s = c->state[c->s->sched[i].deps[d]];
        if (s != J_DONE && s != J_SKIPPED) return 0;
    }
    return 1;
}

static void fail_job(coord_t *c, int job, const char *why)
{
    c->state[job] = J_FAILED;
    c->n_failed++;
    snprintf(c->cause[job], sizeof c->cause[job], "%.*s", (int)sizeof c->cause[job] - 1, why);
}

/* Sends a job message (or a control value alone) to one rank on one tag; an MPI failure stops
 * the coordinator. */
static int send_msg(coord_t *c, int rank, int tag, const struct sf_render_msg *m)
{
    const int n = m->job < 0 ? 1 : 3 + m->gang_size;
    int rc = MPI_Send(m, n, MPI_INT32_T, rank, tag, c->comm);
    if (rc != MPI_SUCCESS && !c->st) c->st = sf_mpi_check(rc, "send to a worker");
    return rc == MPI_SUCCESS;
}

static int send_control(coord_t *c, int rank, int tag, int32_t what)
{
    const struct sf_render_msg m = {.job = what};
    return send_msg(c, rank, tag, &m);
}

/* Calls fn(c, rank, tag, arg) for every rank (and tag) that runs job j on slot g. */
static int each_runner(coord_t *c, int g, int j, const struct sf_render_msg *m, int32_t control)
{
    if (g >= c->n_groups) { /* a lane */
        const int l = g - c->n_groups;
        return m ? send_msg(c, c->lane_rank[l], c->lane_tag[l], m)
                 : send_control(c, c->lane_rank[l], c->lane_tag[l], control);
    }
    /* the leader first; an every-rank kind also to the group's other ranks */
    int ok = m ? send_msg(c, c->leader[g], SF_RENDER_TAG_JOB, m)
               : send_control(c, c->leader[g], SF_RENDER_TAG_JOB, control);
    const int every = c->s->jobs[j].kind->ranks == SF_UNIT_EVERY_RANK;
    for (int r = 0; r < c->n_ranks && ok && every; r++)
        if (c->rank_group[r] == g && r != c->leader[g])
            ok = m ? send_msg(c, r, SF_RENDER_TAG_JOB, m)
                   : send_control(c, r, SF_RENDER_TAG_JOB, control);
    return ok;
}

static void ex_signal(struct sf_jw *j, const void *arg)
{
    const struct sf_render_event_msg *m = arg;
    sf_jw_key(j, "signal"), sf_jw_int(j, m->status);
    sf_jw_key(j, "rank"), sf_jw_int(j, m->rank);
}

/* A signal reached a rank: no new work; every running unit is told to checkpoint at its next
 * step boundary and stop (units without steps, a text or a decode, just finish). */
static void begin_stop(coord_t *c, const struct sf_render_event_msg *m)
{
    if (c->stopping) return;
    c->stopping = 1;
    c->deadline = sf_time_now() + c->o->signal_grace;
    sf_render_progress_erase(c);
    SF_WARN("render",
            "signal %d on rank %d: every running unit checkpoints at its next step, then "
            "render exits 75 (at the latest in %.0f s, --signal-grace)",
            m->status, m->rank, c->o->signal_grace);
    sf_render_event(c, "signal", -1, NULL, NULL, ex_signal, m);
    for (int g = 0; g < c->n_slots; g++)
        if (c->busy[g] >= 0) each_runner(c, g, c->busy[g], NULL, SF_RENDER_MSG_STOP);
}

struct job_ref {
    const coord_t *c;
    int job, slot;
};

static void ex_ckpt(struct sf_jw *j, const void *arg)
{
    const coord_t *c = ((const struct job_ref *)arg)->c;
    const int job = ((const struct job_ref *)arg)->job;
    const int g = ((const struct job_ref *)arg)->slot;
    sf_jw_key(j, "step"), sf_jw_int(j, c->ckpt_step[job]);
    sf_jw_key(j, "checkpoint");
    if (c->ckpt[g][0])
        sf_jw_str(j, c->ckpt[g]);
    else
        sf_jw_null(j);
}

/* The grace ran out with units still running: they keep their last periodic checkpoint. */
static void grace_expired(coord_t *c)
{
    for (int g = 0; g < c->n_slots; g++) {
        int job = c->busy[g];
        if (job < 0) continue;
        const struct job_ref ref = {c, job, g};
        sf_render_event(c, "interrupted", job, NULL,
                        "no step boundary within --signal-grace; its last periodic checkpoint "
                        "is kept",
                        ex_ckpt, &ref);
        SF_WARN("render", "%s: no step boundary within %.0f s (--signal-grace); resuming "
                "will continue from step %d", c->s->jobs[job].name, c->o->signal_grace,
                c->ckpt_step[job]);
    }
}

static void ex_silent(struct sf_jw *j, const void *arg)
{
    const struct sf_render_event_msg *m = arg;
    sf_jw_key(j, "rank"), sf_jw_int(j, m->rank);
    sf_jw_key(j, "host"), sf_jw_str(j, m->host);
    sf_jw_key(j, "silent_s"), sf_jw_num(j, m->t);
    sf_jw_key(j, "slot"), sf_jw_int(j, m->slot);
}

/* A rank silent past --heartbeat-timeout (render_heartbeat.c): a cut link or a hung node. Its
 * slots are lost (their units keep their last periodic checkpoint), every other running unit
 * checkpoints at its next step as on a signal, and the job ends with exit 75 (MPI_Abort: the
 * silent rank would hold MPI_Finalize forever), so that Slurm requeues it and the next launch
 * resumes. */
static void rank_silent(coord_t *c, int rank, double silence, const char *host)
{
    const int g = c->rank_group[rank];
    sf_render_progress_erase(c);
    SF_ERROR("render",
             "rank %d (%s, group %d) silent for %.0f s (--heartbeat-timeout %.0f; a cut link or "
             "a hung node): the other units checkpoint at their next step, then render exits 75",
             rank, host, g, silence, c->o->heartbeat_timeout);
    struct sf_render_event_msg m = {.rank = rank, .slot = g, .t = silence};
    snprintf(m.host, sizeof m.host, "%s", host);
    sf_render_event(c, "silent", -1, NULL, NULL, ex_silent, &m);
    for (int k = 0; k < c->n_slots; k++) {
        int r0, n;
        slot_ranks(c, k, &r0, &n);
        if (rank < r0 || rank >= r0 + n || c->busy[k] == SF_RENDER_SLOT_LOST) continue;
        const int job = c->busy[k];
        c->busy[k] = SF_RENDER_SLOT_LOST;
        c->n_lost++;
        if (job < 0 || c->state[job] != J_RUNNING) continue;
        c->state[job] = J_PENDING; /* the next launch runs it from its last checkpoint */
        const struct job_ref ref = {c, job, k};
        char why[160];
        snprintf(why, sizeof why, "rank %d (%s) went silent; its last periodic checkpoint is kept",
                 rank, host);
        sf_render_event(c, "interrupted", job, NULL, why, ex_ckpt, &ref);
    }
    c->interrupted = 1;
    if (!c->stopping) {
        c->stopping = 1;
        c->deadline = sf_time_now() + c->o->signal_grace;
        for (int k = 0; k < c->n_slots; k++)
            if (c->busy[k] >= 0) each_runner(c, k, c->busy[k], NULL, SF_RENDER_MSG_STOP);
    }
}

/* A running unit without progress for --stall-timeout: failed, its slots never used again. */
static void stalled(coord_t *c, int g)
{
    int job = c->busy[g];
    char why[256];
    snprintf(why, sizeof why,
             "stalled: no progress for %.0f s on %s %d (--stall-timeout); it is not used again "
             "in this launch",
             sf_time_now() - c->alive[job], g < c->n_groups ? "group" : "lane",
             g < c->n_groups ? g : g - c->n_groups);
    sf_render_progress_erase(c);
    for (int k = 0; k < c->n_slots; k++) /* every member of a gang */
        if (c->busy[k] == job) {
            c->busy[k] = SF_RENDER_SLOT_LOST;
            c->n_lost++;
        }
    fail_job(c, job, why);
    event(c, "failed", job, NULL, why);
    SF_ERROR("render", "%s %s", c->s->jobs[job].name, why);
    fail_dependents(c);
}

/* A member of job's gang (or the job's one slot) ended: frees its slot; returns whether it was
 * the last member. */
static int member_ended(coord_t *c, const struct sf_render_event_msg *m)
{
    if (c->busy[m->slot] == m->job) c->busy[m->slot] = -1;
    return --c->gang_left[m->job] == 0;
}

static void handle(coord_t *c, const struct sf_render_event_msg *m)
{
    if (m->type == EV_SIGNAL) { /* the only event without a job */
        begin_stop(c, m);
        return;
    }
    SF_ASSERT(m->job >= 0 && m->job < c->s->n_jobs && m->slot >= 0 && m->slot < c->n_slots);
    const struct sf_render_job *u = &c->s->jobs[m->job];
    const int lead = m->gang_index == 0; /* a gang's first member speaks for it */
    c->alive[m->job] = sf_time_now();
    switch (m->type) {
    case EV_STARTED:
        snprintf(c->ckpt[m->slot], sizeof c->ckpt[0], "%s", m->text);
        if (!lead) break;
        c->step[m->job] = m->step;
        c->ckpt_step[m->job] = m->step;
        event(c, "started", m->job, m, NULL);
        if (!c->tty && m->step > 0)
            SF_INFO("render", "%s: continuing at step %d/%d on %s %d (rank %d, %s) from %s",
                    u->name, m->step, m->n_steps, m->slot < c->n_groups ? "group" : "lane",
                    m->slot < c->n_groups ? m->slot : m->slot - c->n_groups, m->rank, m->host,
                    m->text);
        else if (!c->tty)
            SF_INFO("render", "%s: started on %s %d (rank %d, %s)%s", u->name,
                    m->slot < c->n_groups ? "group" : "lane",
                    m->slot < c->n_groups ? m->slot : m->slot - c->n_groups, m->rank, m->host,
                    u->gang > 1 ? " with its gang" : "");
        break;
    case EV_STEP:
        if (u->steps <= 0 || !lead) break; /* progress without steps (frames): alive only */
        c->step[m->job] = m->step;
        event(c, "step", m->job, m, NULL);
        if (!c->tty) SF_INFO("render", "%s: step %d/%d", u->name, m->step, m->n_steps);
        break;
    case EV_CKPT:
        snprintf(c->ckpt[m->slot], sizeof c->ckpt[0], "%s", m->text);
        if (!lead) break;
        c->ckpt_step[m->job] = m->step;
        event(c, "checkpoint", m->job, m, NULL);
        break;
    case EV_INTERRUPTED:
        sf_render_progress_erase(c);
        c->interrupted = 1;
        if (c->gang_end[m->job] < 1) c->gang_end[m->job] = 1;
        if (!member_ended(c, m)) break;
        if (c->state[m->job] == J_RUNNING) c->state[m->job] = J_PENDING;
        if (c->state[m->job] == J_PENDING) event(c, "interrupted", m->job, m, NULL);
        SF_INFO("render", "%s: stopped at step %d/%d, checkpoint %s", u->name, m->step,
                m->n_steps, m->text[0] ? m->text : "(none)");
        break;
    case EV_FINISHED:
        sf_render_progress_erase(c);
        if (!member_ended(c, m)) break;
        if (c->gang_end[m->job] == 1 && c->state[m->job] == J_RUNNING) {
            c->state[m->job] = J_PENDING; /* a member was interrupted: the gang runs again */
            event(c, "interrupted", m->job, m, NULL);
        } else if (c->state[m->job] == J_RUNNING) {
            c->state[m->job] = J_DONE;
            c->n_done++;
            event(c, "finished", m->job, m, NULL);
            SF_INFO("render", "%s: finished in %.1f s%s%s", u->name,
                    sf_render_wall_now() - c->started[m->job],
                    u->kind == &sf_unit_decode ? " -> " : "",
                    u->kind == &sf_unit_decode ? u->out : "");
        }
        break;
    case EV_FAILED:
        sf_render_progress_erase(c);
        member_ended(c, m);
        c->gang_end[m->job] = 2;
        if (c->state[m->job] != J_RUNNING) break; /* its gang failed already */
        fail_job(c, m->job, m->text[0] ? m->text : sf_status_str(m->status));
        event(c, "failed", m->job, m, c->cause[m->job]);
        SF_ERROR("render", "%s failed on %s %d: %s", u->name,
                 m->slot < c->n_groups ? "group" : "lane",
                 m->slot < c->n_groups ? m->slot : m->slot - c->n_groups, c->cause[m->job]);
        fail_dependents(c);
        break;
    }
    sf_render_progress_draw(c);
}

static void ex_run(struct sf_jw *j, const void *arg)
{
    const coord_t *c = arg;
    sf_jw_key(j, "attempt"), sf_jw_int(j, c->attempt);
    sf_jw_key(j, "resumed"), sf_jw_bool(j, c->resume->resumed);
    sf_jw_key(j, "ranks"), sf_jw_int(j, c->n_ranks);
    sf_jw_key(j, "tp"), sf_jw_int(j, c->tp);
    sf_jw_key(j, "groups"), sf_jw_int(j, c->n_groups);
    sf_jw_key(j, "lanes"), sf_jw_int(j, c->n_lanes);
}

static void ex_run_end(struct sf_jw *j, const void *arg)
{
    const coord_t *c = arg;
    sf_jw_key(j, "attempt"), sf_jw_int(j, c->attempt);
    sf_jw_key(j, "status"), sf_jw_int(j, c->exit_code);
    sf_jw_key(j, "done"), sf_jw_int(j, c->n_done);
    sf_jw_key(j, "reused"), sf_jw_int(j, c->n_reused);
    sf_jw_key(j, "failed"), sf_jw_int(j, c->n_failed);
}

struct dispatch_info {
    const coord_t *c;
    const int *slots; /* the slots it went to (gang members in order) */
    int n_slots, ranks; /* ranks it is sent to: all of its groups' for every-rank kinds */
    const char *key;
    int alone; /* a suspect, alone on its ranks */
};

static void ex_dispatched(struct sf_jw *j, const void *arg)
{
    const struct dispatch_info *d = arg;
    const int lane = d->slots[0] >= d->c->n_groups;
    sf_jw_key(j, lane ? "lane" : "group");
    sf_jw_int(j, lane ? d->slots[0] - d->c->n_groups : d->slots[0]);
    if (d->n_slots > 1) {
        sf_jw_key(j, "groups"), sf_jw_arr_begin(j);
        for (int k = 0; k < d->n_slots; k++)
            sf_jw_int(j, d->slots[k]);
        sf_jw_arr_end(j);
    }
    sf_jw_key(j, "ranks"), sf_jw_int(j, d->ranks);
    sf_jw_key(j, "key"), sf_jw_str(j, d->key);
    if (d->alone) sf_jw_key(j, "alone"), sf_jw_bool(j, 1);
}

static void ex_key(struct sf_jw *j, const void *arg)
{
    sf_jw_key(j, "key"), sf_jw_str(j, arg);
}

static void ex_poisoned(struct sf_jw *j, const void *arg)
{
    sf_jw_key(j, "poisoned"), sf_jw_bool(j, 1);
    sf_jw_key(j, "failures"), sf_jw_int(j, *(const int *)arg);
}

/* The launch's start: kinds that render does not run yet are skipped, what earlier launches
 * finished is reused, poisoned units fail. */
static void start_launch(coord_t *c)
{
    const struct sf_render_setup *s = c->s;
    sf_render_event(c, "run", -1, NULL, NULL, ex_run, c);
    for (int i = 0; i < s->n_jobs; i++) {
        if (!s->jobs[i].kind->run) {
            c->state[i] = J_SKIPPED;
            event(c, "skipped", i, NULL,
                  s->jobs[i].kind->skip_reason ? s->jobs[i].kind->skip_reason
                                               : "not part of render yet");
        } else if (c->resume->reuse[i]) {
            c->state[i] = J_DONE;
            c->n_reused++;
            sf_render_event(c, "reused", i, NULL, NULL, ex_key, s->jobs[i].key);
        }
    }
    for (int i = 0; i < s->n_jobs; i++) {
        if (c->state[i] != J_PENDING || !c->resume->poisoned[i]) continue;
        char why[300];
        snprintf(why, sizeof why,
                 "poisoned: it was running in %d pair%s of consecutive job deaths that were not "
                 "signals to its group (a unit that crashes its rank); not retried "
                 "(--max-retries %ld)",
                 c->resume->failures[i], c->resume->failures[i] == 1 ? "" : "s",
                 c->o->max_retries);
        fail_job(c, i, why);
        sf_render_event(c, "failed", i, NULL, why, ex_poisoned, &c->resume->failures[i]);
        SF_ERROR("render", "%s %s", s->jobs[i].name, why);
    }
    fail_dependents(c);
    int n_suspects = 0;
    for (int i = 0; i < s->n_jobs; i++)
        n_suspects += c->resume->suspect[i] && c->state[i] == J_PENDING;
    if (n_suspects)
        SF_INFO("render",
                "%d unit%s running on a rank that crashed when launch %d died: %s alone on its "
                "ranks this launch, so that another death is charged to the unit that causes it",
                n_suspects, n_suspects == 1 ? " was" : "s were", c->attempt - 1,
                n_suspects == 1 ? "it runs" : "each runs");
    if (c->n_reused)
        SF_INFO("render", "resuming launch %d: %d unit%s finished earlier and kept", c->attempt,
                c->n_reused, c->n_reused == 1 ? "" : "s");
}

/* RANK_BUSY: a slot of the rank holds a unit; RANK_FENCED: the unit is a suspect. */
enum { RANK_BUSY = 1, RANK_FENCED = 2 };

/* The world ranks of slot g: a lane's host, or its group's tp consecutive ranks. */
static void slot_ranks(const coord_t *c, int g, int *first, int *n)
{
    if (g >= c->n_groups) {
        *first = c->lane_rank[g - c->n_groups], *n = 1;
    } else {
        *first = c->leader[g], *n = c->tp;
        SF_ASSERT(*first + *n <= c->n_ranks && c->rank_group[*first + *n - 1] == g);
    }
}

/* c->rank_mark from what the slots run now (only while there are suspects). */
static void mark_ranks(coord_t *c)
{
    memset(c->rank_mark, 0, (size_t)c->n_ranks);
    for (int g = 0; g < c->n_slots; g++) {
        if (c->busy[g] < 0) continue;
        const unsigned char m = RANK_BUSY | (c->resume->suspect[c->busy[g]] ? RANK_FENCED : 0);
        int r0, n;
        slot_ranks(c, g, &r0, &n);
        for (int r = r0; r < r0 + n; r++)
            c->rank_mark[r] |= m;
    }
}

/* Whether idle slot g may take a unit: a suspect needs ranks that run nothing, any other unit
 * ranks that run no suspect. Every idle slot when there are no suspects (c->isolating 0). */
static int slot_open(const coord_t *c, int g, int suspect)
{
    if (c->busy[g] != -1) return 0;
    if (!c->isolating) return 1;
    int r0, n;
    slot_ranks(c, g, &r0, &n);
    for (int r = r0; r < r0 + n; r++)
        if (c->rank_mark[r] & (suspect ? RANK_BUSY : RANK_FENCED)) return 0;
    return 1;
}

/* The slots job j would get now (idle groups from the lowest, or an idle lane): their number,
 * or 0 when too few are open. */
static int choose_slots(const coord_t *c, int j, int slots[SF_UNIT_MAX_GANG])
{
    const struct sf_render_job *u = &c->s->jobs[j];
    const int cpu = u->kind->resource == SF_UNIT_CPU;
    const int suspect = c->isolating && c->resume->suspect[j];
    int n = 0, open = 0;
    for (int g = 0; g < c->n_groups && !cpu; g++)
        open += slot_open(c, g, suspect);
    /* the plan's rule: an elastic gang (a windowed shot) takes 1 .. gang of the idle groups */
    const int want = cpu ? 1 : sf_sched_groups(&c->s->sched[j], open);
    if (!want) return 0;
    for (int g = cpu ? c->n_groups : 0; g < (cpu ? c->n_slots : c->n_groups) && n < want; g++)
        if (slot_open(c, g, suspect)) slots[n++] = g;
    return n == want ? n : 0;
}

/* Gives job j the slots chosen for it and sends it there. 0 when an MPI send failed. */
static int dispatch(coord_t *c, int j, const int *slots, int n)
{
    const struct sf_render_job *u = &c->s->jobs[j];
    const int cpu = u->kind->resource == SF_UNIT_CPU;
    struct sf_render_msg m = {.job = j, .gang_size = n};
    for (int k = 0; k < n; k++)
        m.leaders[k] = cpu ? c->lane_rank[slots[k] - c->n_groups] : c->leader[slots[k]];
    c->state[j] = J_RUNNING;
    c->gang_left[j] = n;
    c->gang_end[j] = 0;
    c->started[j] = sf_render_wall_now();
    c->alive[j] = sf_time_now();
    for (int k = 0; k < n; k++) {
        c->busy[slots[k]] = j;
        c->ckpt[slots[k]][0] = '\0';
    }
    /* recorded before it is sent: a job death from here on is charged to it */
    const int per = !cpu && u->kind->ranks == SF_UNIT_EVERY_RANK ? c->tp : 1;
    const struct dispatch_info info = {c, slots, n, per * n, u->key,
                                       c->isolating && c->resume->suspect[j]};
    sf_render_event(c, "dispatched", j, NULL, NULL, ex_dispatched, &info);
    for (int k = 0; k < n; k++) {
        m.gang_index = k;
        if (!each_runner(c, slots[k], j, &m, 0)) return 0;
    }
    return 1;
}

/* Sends out what fits the idle slots: ready suspects first, each alone on its ranks; then the
 * highest-ranked ready unit that fits, until nothing fits. *n_running counts what went out. 0 when an
 * MPI send failed. */
static int dispatch_ready(coord_t *c, int *n_running)
{
    const struct sf_render_setup *s = c->s;
    int slots[SF_UNIT_MAX_GANG];
    c->isolating = 0;
    for (int i = 0; i < s->n_jobs && !c->isolating; i++)
        c->isolating = c->resume->suspect[i] &&
                       (c->state[i] == J_PENDING || c->state[i] == J_RUNNING);
    for (;;) {
        int j = -1, n = 0;
        if (c->isolating) {
            mark_ranks(c);
            int waiting = 0;
            for (int i = 0; i < s->n_jobs && j < 0; i++) {
                if (!c->ready[i] || !c->resume->suspect[i]) continue;
                if ((n = choose_slots(c, i, slots))) j = i;
                waiting = 1;
            }
            if (waiting && j < 0) return 1; /* let its ranks drain */
        }
        if (j < 0) {
            int groups_free = 0, lanes_free = 0;
            for (int g = 0; g < c->n_slots; g++)
                if (slot_open(c, g, 0)) *(g < c->n_groups ? &groups_free : &lanes_free) += 1;
            j = sf_sched_pick_fit(s->sched, s->n_jobs, c->ready, groups_free, lanes_free);
            if (j < 0) return 1;
            n = choose_slots(c, j, slots);
            SF_ASSERT(n); /* sf_sched_pick_fit chose what fits */
        }
        c->ready[j] = 0;
        if (!dispatch(c, j, slots, n)) return 0;
        ++*n_running;
    }
}

/* Receives the next report into *m (1), or sleeps the back-off when there is none (0). */
static int next_event(coord_t *c, struct sf_render_event_msg *m, long *wait_ns)
{
    int flag = 0;
    MPI_Status ms;
    MPI_Iprobe(MPI_ANY_SOURCE, SF_RENDER_TAG_EVENT, c->comm, &flag, &ms);
    if (!flag) {
        sf_render_back_off(wait_ns);
        return 0;
    }
    *wait_ns = 100000;
    MPI_Recv(m, (int)sizeof *m, MPI_BYTE, ms.MPI_SOURCE, SF_RENDER_TAG_EVENT, c->comm,
             MPI_STATUS_IGNORE);
    return 1;
}

void *sf_render_coordinator(void *arg)
{
    coord_t *c = arg;
    const struct sf_render_setup *s = c->s;
    int abort_job = 0;
    start_launch(c);
    long wait_ns = 100000;
    for (;;) {
        if (!c->stopping && sf_render_signal())
            begin_stop(c, &(struct sf_render_event_msg){.status = sf_render_signal(), .rank = 0});
        /* dispatch: the highest-ranked ready unit that fits what is idle, until nothing fits */
        int n_running = 0;
        for (int i = 0; i < s->n_jobs; i++) {
            c->ready[i] = !c->stopping && c->state[i] == J_PENDING && all_deps_done(c, i);
            n_running += c->state[i] == J_RUNNING;
        }
        if (!dispatch_ready(c, &n_running)) goto stop;
        /* a slot that still holds a job whose state ended (a failed gang's other members) */
        int busy_slots = 0;
        for (int g = 0; g < c->n_slots; g++)
            busy_slots += c->busy[g] >= 0;
        if (n_running == 0 && busy_slots == 0) {
            if (c->stopping) { /* stopped by the signal: what is left runs after a requeue */
                for (int i = 0; i < s->n_jobs; i++)
                    c->interrupted |= c->state[i] == J_PENDING;
                break;
            }
            int pending = 0, live_groups = 0, live_lanes = 0;
            for (int i = 0; i < s->n_jobs; i++)
                pending += c->state[i] == J_PENDING;
            for (int g = 0; g < c->n_slots; g++)
                if (c->busy[g] != SF_RENDER_SLOT_LOST)
                    *(g < c->n_groups ? &live_groups : &live_lanes) += 1;
            if (!pending) break;
            /* every slot that could run what is left stalled: nothing can run it */
            int stuck = 0;
            for (int i = 0; i < s->n_jobs; i++) {
                if (c->state[i] != J_PENDING) continue;
                const int cpu = s->jobs[i].kind->resource == SF_UNIT_CPU;
                if (cpu ? live_lanes > 0 : sf_sched_groups(&s->sched[i], live_groups)) continue;
                fail_job(c, i, cpu ? "not run: every CPU lane stalled"
                                   : "not run: too few worker groups left (the others stalled)");
                event(c, "failed", i, NULL, c->cause[i]);
                stuck = 1;
            }
            if (stuck) {
                fail_dependents(c);
                continue;
            }
            /* pending jobs, nothing running, nothing ready: only a dependency on a failed job
             * can do that, and fail_dependents already handled it */
            SF_ASSERT(!"render: jobs pending with nothing running");
        }
        double silence;
        const char *host;
        const int quiet = sf_render_beat_silent(c->beat, &silence, &host);
        if (quiet >= 0 && !c->silent_seen) {
            c->silent_seen = 1;
            rank_silent(c, quiet, silence, host);
            continue;
        }
        const double now = sf_time_now();
        if (c->stopping && now > c->deadline) {
            grace_expired(c);
            c->interrupted = 1;
            abort_job = 1;
            break;
        }
        for (int g = 0; g < c->n_slots; g++)
            if (c->busy[g] >= 0 && now - c->alive[c->busy[g]] > c->o->stall_timeout)
                stalled(c, g);
        struct sf_render_event_msg m;
        if (next_event(c, &m, &wait_ns)) handle(c, &m);
    }
stop:
    sf_render_progress_erase(c);
    c->exit_code = c->interrupted ? 75 : c->n_failed || c->st ? 1 : 0;
    sf_render_event(c, "run_end", -1, NULL, NULL, ex_run_end, c);
    if (abort_job || c->n_lost) {
        /* a slot that will never answer (stalled, or still inside a step past the grace):
         * MPI_Finalize would wait for it forever; everything is on disk, end the job here */
        if (!c->silent_seen) /* rank_silent's line said it */
            SF_ERROR("render", "ending the job with exit %d: %s", c->exit_code,
                     abort_job ? "units did not reach a step boundary within --signal-grace"
                               : "a worker group or lane stalled");
        MPI_Abort(c->comm, c->exit_code);
    }
    for (int r = 0; r < c->n_ranks; r++) /* every rank, leaders or not */
        send_control(c, r, SF_RENDER_TAG_JOB, SF_RENDER_MSG_END);
    for (int l = 0; l < c->n_lanes; l++)
        send_control(c, c->lane_rank[l], c->lane_tag[l], SF_RENDER_MSG_END);
    /* every rank and lane answers END with its last message, after anything it sent before
     * (one source, one tag: in order): once all have, no message is left unreceived at
     * MPI_Finalize, and no worker is left blocked sending a late report (a signal seen while
     * idle) */
    wait_ns = 100000;
    for (int byes = 0; byes < c->n_ranks + c->n_lanes && !c->st;) {
        struct sf_render_event_msg m;
        if (next_event(c, &m, &wait_ns)) byes += m.type == EV_BYE;
    }
    return NULL;
}
