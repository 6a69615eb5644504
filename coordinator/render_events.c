/* render_events.c — RUNDIR/events.jsonl and the progress lines on a terminal
 * (render_internal.h, docs/render.md § Events). The coordinator thread is the only writer of
 * the events file; resume and `shotfarm status` read it back with sf_render_events_each, which
 * skips a torn last line (a writer killed mid-append).
 * The subtle thing: every event but `step` is fdatasync'ed before the coordinator acts on it,
 * so what resume reads after a crash is never behind what the farm did. */
#define _GNU_SOURCE
#include "render_internal.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_json.h"
#include "sf_status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_JSON (256u << 20)

double sf_render_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void sf_render_back_off(long *ns)
{
    struct timespec ts = {0, *ns};
    nanosleep(&ts, NULL);
    if (*ns < 20000000L) *ns *= 2;
}

/* ---- writing --------------------------------------------------------------------------------- */

int sf_render_events_open(const char *rundir, int *fd)
{
    char ev[SF_RENDER_PATH_MAX + 16];
    snprintf(ev, sizeof ev, "%s/events.jsonl", rundir);
    *fd = open(ev, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (*fd < 0) return sf_err_errno(errno, "open", ev);
    struct stat sb;
    char last = '\n';
    if (fstat(*fd, &sb) == 0 && sb.st_size > 0 && pread(*fd, &last, 1, sb.st_size - 1) == 1 &&
        last != '\n' && write(*fd, "\n", 1) != 1)
        return sf_err_errno(errno, "append to", ev);
    return SF_OK;
}

void sf_render_event(struct sf_render_coord *c, const char *what, int job,
                     const struct sf_render_event_msg *m, const char *error,
                     void (*ex)(struct sf_jw *j, const void *arg), const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return;
    struct sf_jw j;
    sf_jw_init(&j, f, 0);
    sf_jw_obj_begin(&j);
    sf_jw_key(&j, "t"), sf_jw_num(&j, sf_render_wall_now());
    sf_jw_key(&j, "event"), sf_jw_str(&j, what);
    if (job >= 0) {
        const struct sf_render_job *u = &c->s->jobs[job];
        sf_jw_key(&j, "job"), sf_jw_int(&j, job);
        sf_jw_key(&j, "unit"), sf_jw_str(&j, u->name);
        sf_jw_key(&j, "kind"), sf_jw_str(&j, u->kind->name);
        sf_jw_key(&j, "shot"), sf_jw_str(&j, u->shot_label);
    }
    if (m) {
        sf_jw_key(&j, "rank"), sf_jw_int(&j, m->rank);
        if (m->slot < c->n_groups)
            sf_jw_key(&j, "group"), sf_jw_int(&j, m->slot);
        else
            sf_jw_key(&j, "lane"), sf_jw_int(&j, m->slot - c->n_groups);
        if (job >= 0 && c->s->jobs[job].gang > 1)
            sf_jw_key(&j, "gang_index"), sf_jw_int(&j, m->gang_index);
        sf_jw_key(&j, "host"), sf_jw_str(&j, m->host);
        sf_jw_key(&j, "worker_t"), sf_jw_num(&j, m->t);
        if (m->type == EV_STEP || m->type == EV_STARTED || m->type == EV_CKPT ||
            m->type == EV_INTERRUPTED) {
            sf_jw_key(&j, "step"), sf_jw_int(&j, m->step);
            if (m->type != EV_CKPT) sf_jw_key(&j, "steps"), sf_jw_int(&j, m->n_steps);
        }
        if (m->type == EV_FINISHED || m->type == EV_FAILED) {
            sf_jw_key(&j, "seconds"), sf_jw_num(&j, sf_render_wall_now() - c->started[job]);
            if (c->s->jobs[job].kind->run)
                sf_jw_key(&j, "output"), sf_jw_str(&j, c->s->jobs[job].out);
        }
        if ((m->type == EV_STARTED || m->type == EV_INTERRUPTED) && m->text[0])
            sf_jw_key(&j, "checkpoint"), sf_jw_str(&j, m->text);
        if (m->type == EV_CKPT) sf_jw_key(&j, "path"), sf_jw_str(&j, m->text);
    }
    if (ex) ex(&j, arg);
    if (error)
        sf_jw_key(&j, strcmp(what, "skipped") == 0 ? "reason" : "error"), sf_jw_str(&j, error);
    sf_jw_obj_end(&j);
    sf_jw_finish(&j);
    if (fclose(f) == 0 && c->events_fd >= 0) {
        ssize_t wr = write(c->events_fd, buf, len);
        if (wr != (ssize_t)len && !c->st) c->st = sf_err_errno(errno, "append to", "events.jsonl");
        if (strcmp(what, "step") != 0) fdatasync(c->events_fd);
    }
    free(buf);
}

/* ---- reading --------------------------------------------------------------------------------- */

int sf_render_events_each(const char *path, int (*fn)(void *arg, const struct sf_json *ev),
                          void *arg)
{
    char *text = NULL;
    size_t len = 0;
    int st = sf_file_read_all(path, MAX_JSON, &text, &len);
    if (st) return st;
    for (char *p = text, *e; p < text + len && st == SF_OK; p = e + 1) {
        e = memchr(p, '\n', (size_t)(text + len - p));
        if (!e) break; /* a torn last line: its writer was killed mid-append */
        char err[128];
        struct sf_json_doc *d = sf_json_parse(p, (size_t)(e - p), err, sizeof err);
        if (!d) continue; /* the tail of a torn line, continued by the next launch */
        if (sf_json_root(d)->type == SF_JSON_OBJECT) st = fn(arg, sf_json_root(d));
        sf_json_free(d);
    }
    free(text);
    return st;
}

/* ---- progress lines -------------------------------------------------------------------------- */

void sf_render_progress_erase(struct sf_render_coord *c)
{
    if (!c->tty || !c->shown) return;
    char out[32];
    int n = snprintf(out, sizeof out, "\033[%dA\033[J", c->shown);
    ssize_t wr = write(STDERR_FILENO, out, (size_t)n);
    (void)wr;
    c->shown = 0;
}

void sf_render_progress_draw(struct sf_render_coord *c)
{
    if (!c->tty) return;
    char out[8192];
    int n = 0;
    if (c->shown) n += snprintf(out + n, sizeof out - (size_t)n, "\033[%dA\033[J", c->shown);
    c->shown = 0;
    for (int g = 0; g < c->n_slots && n < (int)sizeof out - 256; g++) {
        int j = c->busy[g];
        if (j < 0) continue;
        const struct sf_render_job *u = &c->s->jobs[j];
        char where[32];
        if (g < c->n_groups)
            snprintf(where, sizeof where, "group %-3d", g);
        else
            snprintf(where, sizeof where, "lane  %-3d", g - c->n_groups);
        n += snprintf(out + n, sizeof out - (size_t)n, "  %s %-28.28s %-8s", where, u->row,
                      u->kind->name);
        if (u->steps > 0) {
            int w = 20, k = c->step[j] * w / u->steps;
            n += snprintf(out + n, sizeof out - (size_t)n, " [%.*s%*s] %d/%d", k,
                          "####################", w - k, "", c->step[j], u->steps);
        }
        n += snprintf(out + n, sizeof out - (size_t)n, " %5.1fs\n",
                      sf_render_wall_now() - c->started[j]);
        c->shown++;
    }
    ssize_t wr = write(STDERR_FILENO, out, (size_t)n);
    (void)wr;
}
