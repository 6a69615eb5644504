/* slurm_acct.c — Slurm's client commands run from shotfarm (sf_slurm.h): the one way of running
 * one and capturing what it prints (posix_spawnp, no shell), and a job's accounting from sacct,
 * one record per launch (docs/submit.md § Accounting). Used by submit (sbatch, scontrol) and
 * status (sacct). */
#define _GNU_SOURCE
#include "sf_json.h"
#include "sf_render.h"
#include "sf_slurm.h"
#include "sf_status.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int sf_slurm_run(char *const args[], int merge_stderr, char *out, size_t n, int *exit_status,
                 char *why, size_t why_n)
{
    int fd[2];
    *exit_status = -1;
    if (pipe2(fd, O_CLOEXEC) != 0) {
        snprintf(why, why_n, "cannot create a pipe for %s: %s", args[0], strerror(errno));
        return SF_E_IO;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd[1], STDOUT_FILENO);
    if (merge_stderr) posix_spawn_file_actions_adddup2(&fa, fd[1], STDERR_FILENO);
    pid_t pid;
    int err = posix_spawnp(&pid, args[0], &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    if (err) {
        close(fd[0]);
        snprintf(why, why_n, "cannot run %s: %s", args[0], strerror(err));
        return err == ENOENT ? SF_E_NOTFOUND : SF_E_IO;
    }
    size_t got = 0;
    for (;;) {
        char sink[4096];
        char *dst = got + 1 < n ? out + got : sink;
        size_t room = got + 1 < n ? n - 1 - got : sizeof sink;
        ssize_t r = read(fd[0], dst, room);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (dst != sink) got += (size_t)r;
    }
    close(fd[0]);
    out[got] = '\0';
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR) {
            snprintf(why, why_n, "cannot wait for %s: %s", args[0], strerror(errno));
            return SF_E_IO;
        }
    *exit_status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    return SF_OK;
}

/* The field'th '|'-separated field of line (0-based), copied into buf. */
static void field(const char *line, int k, char *buf, size_t n)
{
    for (; k > 0 && line; k--)
        if ((line = strchr(line, '|'))) line++;
    size_t len = line ? strcspn(line, "|\n") : 0;
    if (len >= n) len = n - 1;
    memcpy(buf, line ? line : "", len);
    buf[len] = '\0';
}

/* The "gres/gpu=N" item of an AllocTRES list (typed GPUs are listed again as
 * gres/gpu:TYPE=N; not counted twice): N, else 0. */
static int tres_gpus(const char *tres)
{
    for (const char *p = tres; p && *p;) {
        if (strncmp(p, "gres/gpu=", 9) == 0) return atoi(p + 9);
        p = strchr(p, ',');
        if (p) p++;
    }
    return 0;
}

int sf_slurm_acct_read(const char *job, struct sf_slurm_acct *a)
{
    memset(a, 0, sizeof *a);
    if (!*job || strspn(job, "0123456789_+") != strlen(job) || strlen(job) >= sizeof a->v[0].job) {
        snprintf(a->why, sizeof a->why, "job id '%.40s' is not a Slurm job id", job);
        return SF_E_INVAL;
    }
    static char text[1 << 16];
    char *args[] = {"timeout", "20", "sacct", "-j", (char *)job, "--duplicates",
                    "--allocations", "--noheader", "--parsable2",
                    "--format=JobID,State,Start,ElapsedRaw,AllocCPUS,CPUTimeRAW,AllocTRES,NodeList",
                    NULL};
    int status = -1;
    if (sf_slurm_run(args, 1, text, sizeof text, &status, a->why, sizeof a->why) != SF_OK)
        return SF_OK; /* not available: a->why says why */
    if (status != 0) {
        const char *msg = text;
        while (*msg == ' ' || *msg == '\n') msg++;
        if (strncmp(msg, "sacct: ", 7) == 0) msg += 7; /* said once, below */
        if (status == 124)
            snprintf(a->why, sizeof a->why, "sacct did not answer within 20 s");
        else if (status == 127)
            snprintf(a->why, sizeof a->why, "sacct is not installed");
        else
            snprintf(a->why, sizeof a->why, "sacct: %.*s", (int)strcspn(msg, "\n"), msg);
        return SF_OK;
    }
    a->available = 1;
    for (char *line = text; *line && a->n < (int)(sizeof a->v / sizeof a->v[0]);) {
        char *next = line + strcspn(line, "\n");
        if (*next) *next++ = '\0';
        if (strchr(line, '|')) {
            struct sf_slurm_launch *l = &a->v[a->n++];
            char num[64], tres[512];
            field(line, 0, l->job, sizeof l->job);
            field(line, 1, l->state, sizeof l->state);
            field(line, 2, l->start, sizeof l->start);
            field(line, 3, num, sizeof num);
            l->elapsed = strtod(num, NULL);
            field(line, 4, num, sizeof num);
            l->cpus = atoi(num);
            field(line, 5, num, sizeof num);
            l->cpu_seconds = strtod(num, NULL);
            field(line, 6, tres, sizeof tres);
            l->gpus = tres_gpus(tres);
            l->gpu_seconds = l->elapsed * l->gpus;
            field(line, 7, l->nodes, sizeof l->nodes);
            a->elapsed += l->elapsed;
            a->cpu_seconds += l->cpu_seconds;
            a->gpu_seconds += l->gpu_seconds;
        }
        line = next;
    }
    return SF_OK;
}

/* ---- the job of a run directory ------------------------------------------------------------ */

static int on_launch(void *arg, const struct sf_json *e)
{
    struct sf_slurm_job *l = arg;
    const char *what = sf_json_get_str(e, "event"), *job = sf_json_get_str(e, "job");
    int64_t restarts = 0;
    if (!what || !job) return SF_OK;
    if (strcmp(job, l->job) != 0) { /* a new submission into the same run directory */
        snprintf(l->job, sizeof l->job, "%s", job);
        l->n = l->restarts = 0;
        free(l->stopped);
        l->stopped = NULL;
    }
    if (strcmp(what, "launch") == 0) {
        l->n++;
        if (sf_json_get_int(e, "restarts", &restarts) == 0) l->restarts = (int)restarts;
        free(l->stopped); /* launched again (requeued by hand) */
        l->stopped = NULL;
    } else if (strcmp(what, "stopped") == 0) {
        const char *why = sf_json_get_str(e, "reason");
        if (why) {
            free(l->stopped);
            if (!(l->stopped = strdup(why))) return SF_E_NOMEM;
        }
    }
    return SF_OK;
}

int sf_slurm_job_read(const char *rundir, struct sf_slurm_job *j)
{
    char path[4096 + 32];
    memset(j, 0, sizeof *j);
    snprintf(path, sizeof path, "%s/slurm-launches.jsonl", rundir);
    if (access(path, F_OK) != 0) return SF_OK; /* not submitted */
    int st = sf_render_events_each(path, on_launch, j);
    if (st) sf_slurm_job_fini(j);
    return st;
}

void sf_slurm_job_fini(struct sf_slurm_job *j)
{
    free(j->stopped);
    memset(j, 0, sizeof *j);
}
