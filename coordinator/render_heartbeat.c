/* render_heartbeat.c — the heartbeat between the coordinator (rank 0) and every other rank of a
 * render (render_internal.h, docs/render.md § Failures and retries). Open MPI 4 over TCP has no
 * timeout: a rank behind a cut link (or on a frozen host) is simply never heard from again, and
 * every rank waiting for it would wait forever. So every rank runs a thread that, on a
 * communicator of its own, sends a small message to rank 0 every interval (rank 0's thread sends
 * one to every rank) and notes when it last heard from the other side:
 *   - rank 0: a rank silent for longer than the timeout is reported to the coordinator thread
 *     (sf_render_beat_silent), which logs one line, lets the other units checkpoint and makes
 *     the job exit 75 (render_coord.c);
 *   - every other rank: a coordinator silent for longer than the timeout makes this rank log one
 *     line and act as on SIGUSR1 (its running unit checkpoints at its next step boundary, and
 *     the signal is recorded for resume, render_signal.c); once the rank is idle, or --signal-
 *     grace later, it ends the job with MPI_Abort(75).
 * The heartbeat comes from its own thread, so a long denoising step or a checkpoint write on the
 * main thread never looks like silence (render needs MPI_THREAD_MULTIPLE anyway).
 * The subtle thing: a send to a dead peer may never complete, so each destination has at most one
 * send in flight (MPI_Isend); a beat is skipped while the last one is still pending. */
#define _GNU_SOURCE
#include "render_internal.h"
#include "sf_errors.h"
#include "sf_log.h"
#include "sf_status.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TAG_BEAT 7301
#define HOST_LEN 64

struct sf_render_beat {
    MPI_Comm comm; /* a duplicate: beats never meet the render's own messages */
    int rank, size;
    double timeout, grace, interval;
    char (*host)[HOST_LEN]; /* every rank's host name */
    double *seen;           /* rank 0: when each rank was last heard from (monotonic) */
    MPI_Request *req;       /* the send in flight to each rank (rank 0), or to rank 0 */
    pthread_t thread;
    int started;
    atomic_int quit;
    atomic_int silent_rank; /* rank 0: the first rank found silent, -1 none */
    _Atomic double silence; /* and how long it had been silent */
    double found;           /* rank 0: when (monotonic) */
};

static atomic_int g_aborting; /* MPI_Abort called once per process */

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* The insurance of sf_render_beat_abort: MPI_Abort may itself wait for a daemon behind the
 * same cut link. */
static void *exit_later(void *arg)
{
    (void)arg;
    sleep_s(10);
    _exit(75);
    return NULL;
}

/* Ends the whole job with exit 75 (the job-level recovery: requeue and resume). */
static void abort_75(const struct sf_render_beat *b)
{
    if (atomic_exchange(&g_aborting, 1)) return;
    pthread_t t;
    if (pthread_create(&t, NULL, exit_later, NULL) == 0) pthread_detach(t);
    MPI_Abort(b->comm, 75);
    _exit(75);
}

/* Sends a beat to rank `to` unless the last one to it is still pending. */
static void beat(struct sf_render_beat *b, int to, MPI_Request *req)
{
    static const int32_t one = 1;
    if (*req != MPI_REQUEST_NULL) {
        int done = 0;
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (!done) return;
    }
    if (MPI_Isend(&one, 1, MPI_INT32_T, to, TAG_BEAT, b->comm, req) != MPI_SUCCESS)
        *req = MPI_REQUEST_NULL; /* MPI_ERRORS_RETURN: the next interval tries again */
}

/* Receives every beat that arrived; returns when each source was heard (seen[] on rank 0, a
 * single time elsewhere). */
static void drain(struct sf_render_beat *b, double now, double *seen0)
{
    for (;;) {
        int flag = 0;
        MPI_Status ms;
        if (MPI_Iprobe(b->rank == 0 ? MPI_ANY_SOURCE : 0, TAG_BEAT, b->comm, &flag, &ms) !=
                MPI_SUCCESS ||
            !flag)
            return;
        int32_t v;
        if (MPI_Recv(&v, 1, MPI_INT32_T, ms.MPI_SOURCE, TAG_BEAT, b->comm, MPI_STATUS_IGNORE) !=
            MPI_SUCCESS)
            return; /* not heard: silence, if it lasts */
        if (b->rank == 0)
            b->seen[ms.MPI_SOURCE] = now;
        else
            *seen0 = now;
    }
}

/* A worker rank whose coordinator went silent: the running unit checkpoints and stops as on
 * SIGUSR1, then the job ends with exit 75. */
static void coordinator_lost(struct sf_render_beat *b, double silence)
{
    SF_ERROR("render",
             "rank %d (%s): the coordinator (rank 0, %s) silent for %.0f s (--heartbeat-timeout "
             "%.0f; a cut link or a hung node): checkpointing at the next step, then exit 75",
             b->rank, b->host[b->rank], b->host[0], silence, b->timeout);
    kill(getpid(), SIGUSR1); /* render_signal.c: stop at the step boundary, recorded for resume */
    const double until = sf_time_now() + b->grace;
    while (sf_render_signal_busy() && sf_time_now() < until && !atomic_load(&b->quit))
        sleep_s(0.05);
    if (!atomic_load(&b->quit)) abort_75(b);
}

/* SF_FAULT_SILENT=RANK:N (tests only; docs/testing.md § fault): world rank RANK stops its whole
 * process (SIGSTOP) at its N-th denoising step report, as a node behind a cut link looks to the
 * others: no message, no error, nothing. Under Slurm only in the job's first launch
 * (SLURM_RESTART_COUNT 0), so that the requeued launch can finish. */
void sf_render_fault_silent(int rank)
{
    static atomic_int steps;
    const char *v = getenv("SF_FAULT_SILENT");
    int r = -1, n = 0;
    if (!v || sscanf(v, "%d:%d", &r, &n) != 2 || r != rank) return;
    const char *restarts = getenv("SLURM_RESTART_COUNT"); /* a requeued launch runs on */
    if (restarts && strcmp(restarts, "0") != 0) return;
    if (atomic_fetch_add(&steps, 1) + 1 != n) return;
    SF_WARN("render", "SF_FAULT_SILENT: rank %d stops (SIGSTOP) at its step report %d", rank, n);
    kill(getpid(), SIGSTOP);
}

static void *beat_main(void *arg)
{
    struct sf_render_beat *b = arg;
    double seen0 = sf_time_now(), next = 0, last = seen0;
    while (!atomic_load(&b->quit)) {
        const double now = sf_time_now();
        if (now - last > b->timeout / 2) { /* this process was stopped or not scheduled: */
            seen0 = now;                   /* the silence was its own, not its peers' */
            for (int r = 0; r < b->size; r++)
                b->seen[r] = now;
        }
        last = now;
        if (now >= next) {
            next = now + b->interval;
            if (b->rank == 0)
                for (int r = 1; r < b->size; r++)
                    beat(b, r, &b->req[r]);
            else
                beat(b, 0, &b->req[0]);
        }
        drain(b, now, &seen0);
        if (b->rank != 0 && now - seen0 > b->timeout) {
            coordinator_lost(b, now - seen0);
            break;
        }
        for (int r = 1; r < b->size && b->rank == 0; r++)
            if (now - b->seen[r] > b->timeout && atomic_load(&b->silent_rank) < 0) {
                atomic_store(&b->silence, now - b->seen[r]);
                atomic_store(&b->silent_rank, r);
                b->found = now;
            }
        /* the coordinator ends the job within --signal-grace of a silent rank; one that is past
         * its loop (waiting for the ranks' last words, writing the report, in the last
         * collective) cannot, so this thread does */
        const int quiet = b->rank == 0 ? atomic_load(&b->silent_rank) : -1;
        if (quiet >= 0 && now - b->found > b->grace + 10) {
            SF_ERROR("render",
                     "rank %d (%s) silent for %.0f s (--heartbeat-timeout %.0f) after the "
                     "coordinator's work: ending the job with exit 75",
                     quiet, b->host[quiet], now - b->seen[quiet], b->timeout);
            abort_75(b);
        }
        sleep_s(b->interval < 0.1 ? b->interval : 0.1);
    }
    return NULL;
}

int sf_render_beat_start(MPI_Comm comm, double timeout, double grace, struct sf_render_beat **out)
{
    struct sf_render_beat *b = calloc(1, sizeof *b);
    *out = b;
    int st = b ? SF_OK : SF_E_NOMEM;
    /* collective, so every rank gets here even when its allocation failed */
    MPI_Comm dup = MPI_COMM_NULL;
    MPI_Comm_dup(comm, &dup);
    int size = 1, rank = 0;
    MPI_Comm_size(comm, &size);
    MPI_Comm_rank(comm, &rank);
    char me[HOST_LEN] = "", (*hosts)[HOST_LEN] = calloc((size_t)size, HOST_LEN);
    gethostname(me, sizeof me - 1);
    if (!hosts) {
        SF_ERROR("render", "rank %d: out of memory for the heartbeat's host names", rank);
        MPI_Abort(comm, 1); /* the others are inside the collective below */
    }
    MPI_Allgather(me, HOST_LEN, MPI_CHAR, hosts, HOST_LEN, MPI_CHAR, dup);
    if (!b) {
        free(hosts);
        return st;
    }
    b->comm = dup;
    b->rank = rank;
    b->size = size;
    b->timeout = timeout;
    b->grace = grace;
    /* several beats per timeout, so one late beat is not silence; at most 5 s apart */
    b->interval = timeout / 6 < 5 ? timeout / 6 : 5;
    b->host = hosts;
    atomic_init(&b->silent_rank, -1);
    atomic_init(&b->quit, 0);
    b->seen = calloc((size_t)size, sizeof *b->seen);
    b->req = calloc((size_t)size, sizeof *b->req);
    if (st || !b->seen || !b->req) return SF_E_NOMEM;
    const double now = sf_time_now();
    for (int r = 0; r < size; r++) {
        b->seen[r] = now;
        b->req[r] = MPI_REQUEST_NULL;
    }
    if (size < 2) return SF_OK; /* a singleton has nobody to lose */
    if (pthread_create(&b->thread, NULL, beat_main, b) != 0) return SF_E_NOMEM;
    b->started = 1;
    return SF_OK;
}

int sf_render_beat_silent(struct sf_render_beat *b, double *silence, const char **host)
{
    const int r = b ? atomic_load(&b->silent_rank) : -1;
    if (r >= 0) {
        *silence = atomic_load(&b->silence);
        *host = b->host[r];
    }
    return r;
}

void sf_render_beat_stop(struct sf_render_beat *b)
{
    if (!b) return;
    atomic_store(&b->quit, 1);
    if (b->started) pthread_join(b->thread, NULL);
    /* a beat still in flight completes by itself (its peer is alive: the render ended) */
    for (int r = 0; b->req && r < b->size; r++)
        if (b->req[r] != MPI_REQUEST_NULL) MPI_Request_free(&b->req[r]);
    if (b->comm != MPI_COMM_NULL) MPI_Comm_free(&b->comm);
    free(b->host);
    free(b->seen);
    free(b->req);
    free(b);
}
