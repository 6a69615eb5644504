/* render_worker.c — the workers of a render (render_internal.h): the loop on every rank's main
 * thread, and the CPU lanes (threads on the first rank of every node). Both wait for a job from
 * the coordinator in a sleeping probe loop, run it through its unit kind (units.c) and report
 * started / step / checkpoint / finished / failed / interrupted to the coordinator. Only a
 * group's leader (and a lane) reports; the other ranks of a tensor-parallel group compute their
 * shard and stay silent. Called by cmd_render.c.
 * The subtle thing: a rank's main thread is the only thread that makes HDF5 calls and uses the
 * compute kernels, which is why CPU units (on lanes) may do neither (sf_unit.h). */
#define _GNU_SOURCE
#include "render_internal.h"
#include "sf_comm.h"
#include "sf_errors.h"
#include "sf_log.h"
#include "sf_status.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One loop: a rank's main thread, or one lane. */
struct loop {
    const struct sf_render_setup *s;
    MPI_Comm comm;
    int tag;        /* its jobs come on this tag from rank 0 */
    int who;        /* 0 the main thread, 1 + lane: its record for the signal handler */
    int leader;     /* reports (a group's rank 0, or a lane) */
    int is_rank0;   /* rank 0's main thread: its coordinator sees a signal by itself */
    int lane;       /* a CPU lane */
    struct sf_comm *group; /* the tensor-parallel group (main thread, tp > 1), else NULL */
    struct sf_render_event_msg m;
    int ckpt_step;                      /* the running job's newest checkpoint */
    char ckpt[SF_RENDER_PATH_MAX + 64]; /* and its path */
    int stop;                           /* the coordinator said SF_RENDER_MSG_STOP */
    int told;                           /* the coordinator knows of this rank's signal */
    int mpi_failed;                     /* a send failed: the coordinator is unreachable */
    int st;
};

static void send_event(struct loop *l, int type, int step, int n_steps, int status,
                       const char *text)
{
    l->m.type = type;
    l->m.step = step;
    l->m.n_steps = n_steps;
    l->m.status = status;
    l->m.t = sf_render_wall_now();
    snprintf(l->m.text, sizeof l->m.text, "%s", text ? text : "");
    /* only the bytes in use: a small message goes out eagerly, so a report never waits for
     * the coordinator to be receiving */
    const size_t used = offsetof(struct sf_render_event_msg, text) + strlen(l->m.text) + 1;
    int rc = MPI_Send(&l->m, (int)used, MPI_BYTE, 0, SF_RENDER_TAG_EVENT, l->comm);
    if (rc != MPI_SUCCESS && !l->mpi_failed) {
        /* MPI_ERRORS_RETURN: stop at the next step boundary with a checkpoint, as for a
         * signal, rather than compute what nobody can be told about */
        sf_mpi_check(rc, "report to the coordinator (rank 0)");
        l->mpi_failed = 1;
    }
}

static void on_started(void *arg, int step, int n_steps, const char *checkpoint)
{
    struct loop *l = arg;
    l->ckpt_step = step;
    snprintf(l->ckpt, sizeof l->ckpt, "%s", checkpoint ? checkpoint : "");
    send_event(l, EV_STARTED, step, n_steps, 0, checkpoint);
}

static void on_progress(void *arg, int step, int n_steps)
{
    send_event(arg, EV_STEP, step, n_steps, 0, NULL);
    const struct loop *l = arg;
    if (l->s->jobs[l->m.job].steps > 0) sf_render_fault_silent(l->m.rank);
}

static void on_checkpoint(void *arg, int step, const char *path)
{
    struct loop *l = arg;
    l->ckpt_step = step;
    snprintf(l->ckpt, sizeof l->ckpt, "%s", path);
    send_event(l, EV_CKPT, step, 0, 0, path);
}

/* Whether the running unit should stop at this step boundary: a signal here, the
 * coordinator's stop message (the only message a busy loop can receive), or a lost
 * coordinator. */
static int should_stop(void *arg)
{
    struct loop *l = arg;
    int flag = 0;
    MPI_Iprobe(0, l->tag, l->comm, &flag, MPI_STATUS_IGNORE);
    if (flag) {
        int32_t msg = 0;
        MPI_Recv(&msg, 1, MPI_INT32_T, 0, l->tag, l->comm, MPI_STATUS_IGNORE);
        SF_ASSERT(msg == SF_RENDER_MSG_STOP); /* never a job while one runs */
        l->stop = 1;
    }
    return l->stop || sf_render_signal() || l->mpi_failed;
}

static int run_loop(struct loop *l)
{
    struct sf_render_worker *w = NULL;
    int st = sf_render_worker_create(l->s, l->group, &w);
    if (st) return st;
    w->lane = l->lane;
    const struct sf_render_report lead = {on_started, on_progress, on_checkpoint, should_stop, l},
                                  member = {.stop = should_stop, .arg = l};
    long wait_ns = 100000;
    for (;;) {
        if (sf_render_signal() && !l->told && !l->is_rank0 && !l->lane) {
            l->told = 1; /* rank 0's coordinator sees its own; lanes leave it to their rank */
            l->m.job = -1;
            send_event(l, EV_SIGNAL, 0, 0, sf_render_signal(), NULL);
        }
        int flag = 0;
        MPI_Status ps;
        MPI_Iprobe(0, l->tag, l->comm, &flag, &ps);
        if (!flag) {
            sf_render_back_off(&wait_ns);
            continue;
        }
        wait_ns = 100000;
        struct sf_render_msg msg;
        int count = 0;
        MPI_Get_count(&ps, MPI_INT32_T, &count);
        SF_ASSERT(count >= 1 && count <= (int)(sizeof msg / sizeof msg.job));
        MPI_Recv(&msg, count, MPI_INT32_T, 0, l->tag, l->comm, MPI_STATUS_IGNORE);
        if (msg.job == SF_RENDER_MSG_END) {
            l->m.job = -1;
            send_event(l, EV_BYE, 0, 0, 0, NULL);
            break;
        }
        if (msg.job == SF_RENDER_MSG_STOP) continue; /* the job it was meant for has ended */
        const int job = msg.job;
        SF_ASSERT(job >= 0 && job < l->s->n_jobs && count == 3 + msg.gang_size);
        l->m.job = job;
        l->m.gang_index = msg.gang_index;
        l->stop = 0;
        l->ckpt_step = 0;
        l->ckpt[0] = '\0';
        w->gang.index = msg.gang_index;
        w->gang.size = msg.gang_size;
        memcpy(w->gang.leaders, msg.leaders, (size_t)msg.gang_size * sizeof msg.leaders[0]);
        w->gang.world_comm = &l->comm;
        const struct sf_render_job *u = &l->s->jobs[job];
        sf_render_signal_job(l->who, job);
        if (!l->leader) { /* an every-rank job of the group: compute the shard, the leader reports */
            int rs = sf_render_job_run(w, job, &member);
            if (rs != SF_OK && rs != SF_E_INTERRUPTED)
                SF_ERROR("render", "%s failed on group rank %d: %s", u->name, w->comm ? w->comm->rank : 0,
                         sf_log_first_error());
            if (l->stop || rs == SF_E_INTERRUPTED) l->told = 1;
            sf_render_signal_job(l->who, -1);
            continue;
        }
        int rs = sf_render_job_run(w, job, &lead);
        sf_render_signal_job(l->who, -1);
        if (rs == SF_OK)
            send_event(l, EV_FINISHED, 0, 0, 0, NULL);
        else if (rs == SF_E_INTERRUPTED)
            send_event(l, EV_INTERRUPTED, l->ckpt_step, u->steps, rs, l->ckpt);
        else
            send_event(l, EV_FAILED, 0, 0, rs, sf_log_first_error());
        if (l->stop || rs == SF_E_INTERRUPTED) l->told = 1; /* the coordinator is stopping */
    }
    sf_render_worker_destroy(w);
    return SF_OK;
}

static void loop_init(struct loop *l, const struct sf_render_setup *s, const struct sf_world *world,
                      MPI_Comm comm)
{
    memset(l, 0, sizeof *l);
    l->s = s;
    l->comm = comm;
    l->m.rank = world->world_rank;
    gethostname(l->m.host, sizeof l->m.host - 1);
}

int sf_render_worker_loop(const struct sf_render_setup *s, const struct sf_world *world,
                          MPI_Comm comm)
{
    struct loop l;
    loop_init(&l, s, world, comm);
    l.tag = SF_RENDER_TAG_JOB;
    l.leader = world->group_rank == 0;
    l.is_rank0 = world->world_rank == 0;
    l.group = world->tp > 1 ? world->group_comm : NULL;
    l.m.slot = world->group;
    return run_loop(&l);
}

/* ---- CPU lanes ------------------------------------------------------------------------------- */

struct sf_render_lanes {
    int n;
    pthread_t *threads;
    struct loop *loops;
};

static void *lane_main(void *arg)
{
    struct loop *l = arg;
    l->st = run_loop(l);
    return NULL;
}

int sf_render_lanes_start(const struct sf_render_setup *s, const struct sf_world *world,
                          MPI_Comm comm, int cpu_lanes, struct sf_render_lanes **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return SF_E_NOMEM;
    struct sf_render_lanes *ls = *out;
    if (world->local_rank != 0) return SF_OK; /* a node's lanes live on its first rank */
    SF_ASSERT(cpu_lanes >= 1 && cpu_lanes < SF_RENDER_SIGNAL_THREADS);
    ls->threads = calloc((size_t)cpu_lanes, sizeof *ls->threads);
    ls->loops = calloc((size_t)cpu_lanes, sizeof *ls->loops);
    if (!ls->threads || !ls->loops) return SF_E_NOMEM;
    for (int k = 0; k < cpu_lanes; k++) {
        struct loop *l = &ls->loops[k];
        loop_init(l, s, world, comm);
        l->tag = SF_RENDER_TAG_LANE + k;
        l->who = 1 + k;
        l->leader = 1;
        l->lane = 1;
        l->m.slot = world->n_groups + world->node * cpu_lanes + k;
        if (pthread_create(&ls->threads[k], NULL, lane_main, l) != 0) return SF_E_NOMEM;
        ls->n++;
    }
    return SF_OK;
}

void sf_render_lanes_join(struct sf_render_lanes *ls)
{
    if (!ls) return;
    for (int k = 0; k < ls->n; k++)
        pthread_join(ls->threads[k], NULL);
    free(ls->threads);
    free(ls->loops);
    free(ls);
}
