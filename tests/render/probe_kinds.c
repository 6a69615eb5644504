/* probe_kinds.c — the shotfarm command line with two extra unit kinds, defined here and nowhere
 * else (test_unit_kinds.sh drives it): it proves that plan, render, resume and status pick up a
 * kind from its own file through sf_unit.h alone.
 *   probe-gang  a gang unit on 2 worker groups (leaders only): each member records its start,
 *               the two members exchange their world ranks over MPI (which only works when both
 *               run at once), then wait for the CPU unit to have run; member 0 publishes the
 *               output.
 *   probe-cpu   a CPU unit per sequence: waits until both gang members have started, so it can
 *               only finish while the gang holds both worker groups, then publishes its output.
 * Each run appends a line to RUNDIR/probe/runs.log, so the test can count what ran. A member
 * that waits more than 60 s fails with the reason, and so does the render. */
#define _POSIX_C_SOURCE 200809L
#include "render_internal.h"
#include "sf_cli.h"
#include "sf_file.h"
#include "sf_hash.h"
#include "sf_log.h"
#include "sf_plan.h"
#include "sf_status.h"
#include "sf_unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WAIT_SECONDS 60

static void probe_path(const struct sf_render_setup *s, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/probe/%s", s->rundir, name);
}

static void log_run(const struct sf_render_setup *s, const char *what)
{
    char p[SF_RENDER_PATH_MAX + 32];
    probe_path(s, "runs.log", p, sizeof p);
    FILE *f = fopen(p, "a");
    if (!f) return;
    fprintf(f, "%s\n", what);
    fclose(f);
}

/* Waits until every path exists; SF_E_TIMEOUT-like failure (logged) after WAIT_SECONDS. */
static int wait_for(const char *const *paths, int n, const char *who)
{
    for (int tick = 0; tick < WAIT_SECONDS * 20; tick++) {
        int all = 1;
        for (int i = 0; i < n; i++)
            all &= access(paths[i], F_OK) == 0;
        if (all) return SF_OK;
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL);
    }
    SF_ERROR("probe", "%s: waited %d s for %s; the units that should run beside it did not",
             who, WAIT_SECONDS, paths[n - 1]);
    return SF_E_IO;
}

static int publish(const struct sf_render_job *j, const char *text)
{
    char body[512];
    int n = snprintf(body, sizeof body, "%s\n%s\n", j->key, text);
    return sf_file_write_atomic(j->out, body, (size_t)n);
}

static int output_ok(const struct sf_render_job *j)
{
    char *text = NULL;
    size_t len = 0;
    int ok = sf_file_read_all(j->out, 4096, &text, &len) == SF_OK && len > strlen(j->key) &&
             strncmp(text, j->key, strlen(j->key)) == 0;
    free(text);
    return ok;
}

static void key_of(const struct sf_render_setup *s, struct sf_render_job *j, const char *what)
{
    struct sf_canon cn;
    uint8_t d[SF_SHA256_BYTES];
    sf_canon_begin(&cn, what);
    sf_canon_str(&cn, "name", j->name);
    sf_canon_str(&cn, "dit", s->dit_key);
    sf_canon_end(&cn, d);
    sf_sha256_hex(d, j->key);
}

/* ---- probe-gang -------------------------------------------------------------------------- */

static int gang_plan(struct sf_plan_builder *b)
{
    int u = sf_plan_add(b, sf_unit_kind_find("probe-gang"), -1, 0, 0, 1e6, NULL, 0,
                        "probe gang of two");
    if (u < 0) return SF_E_NOMEM;
    b->p->units[u].gang = 2;
    b->p->units[u].seconds = 1e6; /* the largest unit: dispatched first */
    return SF_OK;
}

static int gang_prepare(struct sf_render_setup *s, struct sf_render_job *j,
                        const struct sf_plan_unit *u, const struct sf_campaign *c)
{
    (void)u, (void)c;
    probe_path(s, "gang.out", j->out, sizeof j->out);
    key_of(s, j, "probe.gang.v1");
    return SF_OK;
}

static int gang_run(struct sf_render_worker *w, const struct sf_render_job *j,
                    const struct sf_render_report *r)
{
    (void)r;
    const struct sf_render_setup *s = w->s;
    char started[SF_RENDER_PATH_MAX + 32], other[SF_RENDER_PATH_MAX + 32],
        cpu[SF_RENDER_PATH_MAX + 32], line[128];
    int st = sf_render_mkdirs(j->out, 1);
    if (st) return st;
    if (w->gang.size != 2 || !w->gang.world_comm) {
        SF_ERROR("probe", "%s: gang of %d, want 2", j->name, w->gang.size);
        return SF_E_IO;
    }
    snprintf(line, sizeof line, "gang %d of %d", w->gang.index, w->gang.size);
    log_run(s, line);
    snprintf(started, sizeof started, "%s/probe/gang.started.%d", s->rundir, w->gang.index);
    snprintf(other, sizeof other, "%s/probe/gang.started.%d", s->rundir, 1 - w->gang.index);
    SF_TRY(st, sf_file_write_atomic(started, "1\n", 2));
    /* both members at once, or neither gets past this */
    MPI_Comm comm = *(MPI_Comm *)w->gang.world_comm;
    int me = 0, peer = -1;
    MPI_Comm_rank(comm, &me);
    MPI_Sendrecv(&me, 1, MPI_INT, w->gang.leaders[1 - w->gang.index], 9001, &peer, 1, MPI_INT,
                 w->gang.leaders[1 - w->gang.index], 9001, comm, MPI_STATUS_IGNORE);
    if (peer != w->gang.leaders[1 - w->gang.index]) {
        SF_ERROR("probe", "%s: peer said rank %d, want %d", j->name, peer,
                 w->gang.leaders[1 - w->gang.index]);
        return SF_E_IO;
    }
    probe_path(s, "cpu.done", cpu, sizeof cpu);
    const char *const need[] = {other, cpu};
    SF_TRY(st, wait_for(need, 2, j->name));
    if (w->gang.index == 0) {
        snprintf(line, sizeof line, "ranks %d and %d", me, peer);
        SF_TRY(st, publish(j, line));
    }
out:
    return st;
}

static const struct sf_unit_kind probe_gang = {
    .name = "probe-gang",
    .status_row = "probe gang",
    .resource = SF_UNIT_GROUP,
    .ranks = SF_UNIT_LEADER,
    .plan = gang_plan,
    .prepare = gang_prepare,
    .run = gang_run,
    .output_ok = output_ok,
};

/* ---- probe-cpu --------------------------------------------------------------------------- */

static int cpu_plan(struct sf_plan_builder *b)
{
    for (int q = 0; q < sf_campaign_n_sequences(b->c); q++) {
        int u = sf_plan_add(b, sf_unit_kind_find("probe-cpu"), q, 0, 0, 1e6, NULL, 0,
                            "probe cpu %s", sf_campaign_sequence(b->c, q)->id);
        if (u < 0) return SF_E_NOMEM;
        b->p->units[u].seconds = 1;
    }
    return SF_OK;
}

static int cpu_prepare(struct sf_render_setup *s, struct sf_render_job *j,
                       const struct sf_plan_unit *u, const struct sf_campaign *c)
{
    char name[96];
    snprintf(name, sizeof name, "cpu.%s.out", sf_campaign_sequence(c, u->sequence)->id);
    probe_path(s, name, j->out, sizeof j->out);
    key_of(s, j, "probe.cpu.v1");
    return SF_OK;
}

static int cpu_run(struct sf_render_worker *w, const struct sf_render_job *j,
                   const struct sf_render_report *r)
{
    (void)r;
    const struct sf_render_setup *s = w->s;
    char g0[SF_RENDER_PATH_MAX + 32], g1[SF_RENDER_PATH_MAX + 32], done[SF_RENDER_PATH_MAX + 32];
    int st = sf_render_mkdirs(j->out, 1);
    if (st) return st;
    if (!w->lane) {
        SF_ERROR("probe", "%s: a CPU unit ran on a worker group", j->name);
        return SF_E_IO;
    }
    log_run(s, j->name);
    probe_path(s, "gang.started.0", g0, sizeof g0);
    probe_path(s, "gang.started.1", g1, sizeof g1);
    probe_path(s, "cpu.done", done, sizeof done);
    if (access(done, F_OK) != 0) { /* the first CPU unit meets the gang; later ones need not */
        const char *const need[] = {g0, g1};
        SF_TRY(st, wait_for(need, 2, j->name));
    }
    SF_TRY(st, publish(j, "ran on a CPU lane while the gang held both groups"));
    SF_TRY(st, sf_file_write_atomic(done, "1\n", 2));
out:
    return st;
}

static const struct sf_unit_kind probe_cpu = {
    .name = "probe-cpu",
    .status_row = "probe cpu",
    .resource = SF_UNIT_CPU,
    .plan = cpu_plan,
    .prepare = cpu_prepare,
    .run = cpu_run,
    .output_ok = output_ok,
};

int main(int argc, char **argv)
{
    if (sf_unit_kind_register(&probe_gang) || sf_unit_kind_register(&probe_cpu)) return 1;
    return sf_cli_main(argc, argv);
}
