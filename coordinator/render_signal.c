/* render_signal.c — SIGTERM / SIGUSR1 during a render (render_internal.h). The first signal is
 * kept for the worker loops (which stop at their next step boundary) and the coordinator
 * thread. The handler also appends "UNIT SIGNO" for every unit this process runs (its main
 * thread's and its CPU lanes') to RUNDIR/signals/A.R (launch A, rank R): the record that the
 * unit was stopped from outside, which resume reads to tell a preempted or torn-down unit from
 * one that crashed its rank (render_resume.c).
 * The subtle thing: everything in the handler is async-signal-safe (no stdio, no malloc); the
 * per-thread job slots are sig_atomic_t written by their own threads. */
#define _POSIX_C_SOURCE 200809L
#include "render_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_signal;
static volatile sig_atomic_t g_job[SF_RENDER_SIGNAL_THREADS]; /* -1 idle (set at install) */
static const struct sf_render_job *g_jobs;
static char g_path[SF_RENDER_PATH_MAX + 64];

static void on_signal(int signo)
{
    const int saved = errno;
    if (!g_signal) g_signal = signo;
    int fd = g_path[0] ? open(g_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666) : -1;
    for (int t = 0; t < SF_RENDER_SIGNAL_THREADS && fd >= 0; t++) {
        const int j = g_job[t];
        if (t > 0 && j < 0) continue; /* an idle lane; an idle main thread records "-" */
        const char *name = j >= 0 && g_jobs ? g_jobs[j].name : "-";
        char line[sizeof g_jobs[0].name + 16];
        size_t n = 0;
        for (; name[n] && n < sizeof g_jobs[0].name; n++)
            line[n] = name[n];
        line[n++] = ' ';
        if (signo >= 10) line[n++] = (char)('0' + signo / 10 % 10);
        line[n++] = (char)('0' + signo % 10);
        line[n++] = '\n';
        ssize_t wr = write(fd, line, n);
        (void)wr;
    }
    if (fd >= 0) close(fd);
    errno = saved;
}

void sf_render_signals_install(const struct sf_render_job *jobs, const char *path)
{
    for (int t = 0; t < SF_RENDER_SIGNAL_THREADS; t++)
        g_job[t] = -1;
    g_jobs = jobs;
    snprintf(g_path, sizeof g_path, "%s", path);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

int sf_render_signal(void) { return g_signal; }

int sf_render_signal_busy(void)
{
    for (int t = 0; t < SF_RENDER_SIGNAL_THREADS; t++)
        if (g_job[t] >= 0) return 1;
    return 0;
}

void sf_render_signal_job(int who, int j)
{
    if (who >= 0 && who < SF_RENDER_SIGNAL_THREADS) g_job[who] = j;
}
