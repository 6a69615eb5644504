/* cmd_status.c — `shotfarm status RUNDIR [--json | --progress]`: per shot (and per row of
 * campaign-wide work: the manifest's `row` of each unit) state, step n/N,
 * elapsed time, ETA, worker group and last error of a run directory, read from manifest.json
 * (the units and which shot each belongs to) and events.jsonl (what happened). Called by main.c;
 * safe to run while a render is writing: a torn last line of events.jsonl (a render killed
 * mid-write, or caught mid-append) is skipped. The ETA is the denoise unit's mean step time
 * times its remaining steps; other units have none.
 *
 * Under `shotfarm submit`, RUNDIR/slurm-launches.jsonl (written by the batch script, one line per
 * launch of the job and one when the script stops requeueing) adds the job's launches and why it
 * stopped; `--progress` prints the durable progress count the script compares between launches
 * (docs/submit.md § Requeue cap). A per-sequence render (RUNDIR/seq/NAME, submit
 * --per-sequence) is shown as a set: each sequence's directory, then the assembly in RUNDIR.
 * The job's accounting comes from sacct (slurm_acct.c): per launch, its elapsed time and the
 * CPU- and GPU-seconds it was allocated, beside the plan's makespan from the manifest.
 */
#define _POSIX_C_SOURCE 200809L
#include "sf_cli.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_render.h"
#include "sf_slurm.h"
#include "sf_status.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMD "status"
#define MAX_FILE (256u << 20)

struct unit {
    const char *name, *kind, *shot, *row;
    int steps;
    int state; /* 0 pending, 1 running, 2 done, 3 failed, 4 skipped */
    int step, group, step0;
    int ckpt; /* the highest step a checkpoint event published */
    int dispatches; /* how often it was sent to a worker, over all launches */
    double t_start, t_last, t_step0;
    char *error, *host; /* owned */
};

struct events {
    struct unit *u;
    int n_units;
    int st;
};

static void set_str(char **dst, const char *s)
{
    if (!s) return;
    free(*dst);
    *dst = strdup(s);
}

/* One event line. Units are matched by index and checked by name (a resumed run rewrites the
 * manifest; indices of an edited campaign may move). A launch's `run` event puts the units the
 * previous launch left running back to pending: that launch ended (or died). */
static int on_event(void *arg, const struct sf_json *e)
{
    struct events *ev = arg;
    int64_t job = -1, step = 0, group = -1;
    double t = 0;
    sf_json_get_int(e, "job", &job);
    sf_json_get_num(e, "t", &t);
    const char *what = sf_json_get_str(e, "event"), *unit = sf_json_get_str(e, "unit");
    if (!what) return SF_OK;
    if (strcmp(what, "run") == 0) {
        for (int i = 0; i < ev->n_units; i++)
            if (ev->u[i].state == 1) ev->u[i].state = 0;
        return SF_OK;
    }
    if (job < 0 || job >= ev->n_units || !unit || strcmp(unit, ev->u[job].name) != 0)
        return SF_OK;
    struct unit *x = &ev->u[job];
    if (sf_json_get_int(e, "group", &group) == 0) x->group = (int)group;
    set_str(&x->host, sf_json_get_str(e, "host"));
    /* a unit kept from an earlier launch, or skipped, did no work in this one: its time stays
     * what it was */
    const int reused = strcmp(what, "reused") == 0, idle = reused || !strcmp(what, "skipped");
    if (!x->t_start && !idle) x->t_start = t;
    if (!idle) x->t_last = t;
    if (strcmp(what, "dispatched") == 0) {
        x->dispatches++;
    } else if (strcmp(what, "started") == 0) {
        x->state = 1;
        x->t_start = x->t_step0 = t;
        if (sf_json_get_int(e, "step", &step) == 0) x->step = x->step0 = (int)step;
    } else if (strcmp(what, "step") == 0 && sf_json_get_int(e, "step", &step) == 0) {
        x->step = (int)step;
    } else if (strcmp(what, "checkpoint") == 0 && sf_json_get_int(e, "step", &step) == 0) {
        if (step > x->ckpt) x->ckpt = (int)step;
    } else if (strcmp(what, "finished") == 0 || reused) {
        x->state = 2;
        x->step = x->steps;
        free(x->error);
        x->error = NULL;
    } else if (strcmp(what, "failed") == 0) {
        x->state = 3;
        set_str(&x->error, sf_json_get_str(e, "error"));
    } else if (strcmp(what, "interrupted") == 0) {
        x->state = 0;
        if (sf_json_get_int(e, "step", &step) == 0) x->step = (int)step;
    } else if (strcmp(what, "skipped") == 0) {
        x->state = 4;
    }
    return SF_OK;
}

/* A row of the table: a shot, or campaign-wide work of one kind (prompts, identity bank,
 * assembly of a sequence), named by the manifest's `row`. */
struct shot {
    const char *label;
    int is_shot;
    int state, step, steps, group;
    int n, n_done, n_running, n_failed, n_skipped, denoise_running;
    int retries; /* the most any of its units was sent again (resumes and restarts) */
    double t_start, t_end, eta;
    const char *error, *host;
};

static const char *state_name(int s)
{
    static const char *n[] = {"pending", "running", "done", "failed", "skipped"};
    return n[s];
}

/* One row as a JSON object. */
static void row_json(struct sf_jw *w, const struct shot *s, double now)
{
    sf_jw_obj_begin(w);
    sf_jw_key(w, s->is_shot ? "shot" : "row"), sf_jw_str(w, s->label);
    sf_jw_key(w, "state"), sf_jw_str(w, state_name(s->state));
    sf_jw_key(w, "step"), sf_jw_int(w, s->step);
    sf_jw_key(w, "steps"), sf_jw_int(w, s->steps);
    sf_jw_key(w, "elapsed");
    if (s->t_start)
        sf_jw_num(w, (s->state == 1 ? now : s->t_end) - s->t_start);
    else
        sf_jw_null(w);
    sf_jw_key(w, "eta");
    if (s->eta >= 0)
        sf_jw_num(w, s->eta);
    else
        sf_jw_null(w);
    sf_jw_key(w, "group");
    if (s->group >= 0)
        sf_jw_int(w, s->group);
    else
        sf_jw_null(w);
    sf_jw_key(w, "host");
    sf_jw_str(w, s->host); /* null when there is none */
    sf_jw_key(w, "retries"), sf_jw_int(w, s->retries);
    sf_jw_key(w, "error");
    sf_jw_str(w, s->error); /* null when there is none */
    sf_jw_obj_end(w);
}

/* The plan's prediction of a launch of `cpus` CPUs and `gpus` GPUs: the makespan (< 0: the
 * manifest has none) and the CPU- and GPU-seconds it would be allocated. */
static void plan_json(struct sf_jw *w, const struct sf_render_planned *p, int cpus, int gpus)
{
    if (p->makespan < 0) {
        sf_jw_null(w);
        return;
    }
    sf_jw_obj_begin(w);
    sf_jw_key(w, "profile"), sf_jw_str(w, p->profile);
    sf_jw_key(w, "elapsed_s"), sf_jw_num(w, p->makespan);
    sf_jw_key(w, "cpu_seconds"), sf_jw_num(w, p->makespan * cpus);
    sf_jw_key(w, "gpu_seconds"), sf_jw_num(w, p->makespan * gpus);
    sf_jw_obj_end(w);
}

/* sacct's figures: per launch and in all, beside the plan's (docs/submit.md § Accounting). */
static void acct_json(struct sf_jw *w, const struct sf_slurm_acct *a,
                      const struct sf_render_planned *p)
{
    sf_jw_obj_begin(w);
    sf_jw_key(w, "available"), sf_jw_bool(w, a->available);
    if (!a->available) {
        sf_jw_key(w, "why"), sf_jw_str(w, a->why);
        sf_jw_obj_end(w);
        return;
    }
    sf_jw_key(w, "launches"), sf_jw_arr_begin(w);
    for (int i = 0; i < a->n; i++) {
        const struct sf_slurm_launch *l = &a->v[i];
        sf_jw_obj_begin(w);
        sf_jw_key(w, "job"), sf_jw_str(w, l->job);
        sf_jw_key(w, "state"), sf_jw_str(w, l->state);
        sf_jw_key(w, "start"), sf_jw_str(w, l->start);
        sf_jw_key(w, "nodes"), sf_jw_str(w, l->nodes);
        sf_jw_key(w, "elapsed_s"), sf_jw_num(w, l->elapsed);
        sf_jw_key(w, "cpus"), sf_jw_int(w, l->cpus);
        sf_jw_key(w, "gpus"), sf_jw_int(w, l->gpus);
        sf_jw_key(w, "cpu_seconds"), sf_jw_num(w, l->cpu_seconds);
        sf_jw_key(w, "gpu_seconds"), sf_jw_num(w, l->gpu_seconds);
        sf_jw_key(w, "plan"), plan_json(w, p, l->cpus, l->gpus);
        sf_jw_obj_end(w);
    }
    sf_jw_arr_end(w);
    sf_jw_key(w, "elapsed_s"), sf_jw_num(w, a->elapsed);
    sf_jw_key(w, "cpu_seconds"), sf_jw_num(w, a->cpu_seconds);
    sf_jw_key(w, "gpu_seconds"), sf_jw_num(w, a->gpu_seconds);
    const struct sf_slurm_launch *last = a->n ? &a->v[a->n - 1] : NULL;
    sf_jw_key(w, "plan"), plan_json(w, p, last ? last->cpus : 0, last ? last->gpus : 0);
    sf_jw_obj_end(w);
}

/* The same as lines under the `slurm job` line: one per launch, then the sum. */
static void acct_print(const struct sf_slurm_acct *a, const struct sf_render_planned *p)
{
    if (!a->available) {
        printf("slurm accounting: not available (%s)\n", a->why);
        return;
    }
    for (int i = 0; i < a->n; i++) {
        const struct sf_slurm_launch *l = &a->v[i];
        printf("  sacct launch %d: job %s %s on %s: %.0f s elapsed, %d CPUs: %.0f CPU-s", i + 1,
               l->job, l->state, l->nodes[0] ? l->nodes : "-", l->elapsed, l->cpus,
               l->cpu_seconds);
        if (l->gpus) printf(", %d GPUs: %.0f GPU-s", l->gpus, l->gpu_seconds);
        if (p->makespan >= 0) {
            printf("; plan (%s estimate): %.1f s, %.0f CPU-s", p->label, p->makespan,
                   p->makespan * l->cpus);
            if (l->gpus) printf(", %.0f GPU-s", p->makespan * l->gpus);
        }
        putchar('\n');
    }
    printf("  sacct total: %d launch%s, %.0f s elapsed, %.0f CPU-s", a->n, a->n == 1 ? "" : "es",
           a->elapsed, a->cpu_seconds);
    if (a->gpu_seconds > 0) printf(", %.0f GPU-s", a->gpu_seconds);
    putchar('\n');
}

/* The launches as a JSON object (or null when the run was not submitted), with sacct's
 * accounting a when not NULL. */
static void launches_json(struct sf_jw *w, const struct sf_slurm_job *l,
                          const struct sf_slurm_acct *a, const struct sf_render_planned *p)
{
    if (!l->job[0]) {
        sf_jw_null(w);
        return;
    }
    sf_jw_obj_begin(w);
    sf_jw_key(w, "job"), sf_jw_str(w, l->job);
    sf_jw_key(w, "launches"), sf_jw_int(w, l->n);
    sf_jw_key(w, "restarts"), sf_jw_int(w, l->restarts);
    sf_jw_key(w, "stopped");
    sf_jw_str(w, l->stopped); /* null when there is none */
    if (a) sf_jw_key(w, "accounting"), acct_json(w, a, p);
    sf_jw_obj_end(w);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: shotfarm status RUNDIR [--json | --progress]\n\n"
               "Per shot of a render, then per row of campaign-wide work (prompts, identity\n"
               "bank, the assembly of each sequence): state (pending, running, done, failed,\n"
               "skipped), step n/N of the unit with steps (denoising), elapsed seconds, ETA,\n"
               "worker group, retries (times a unit of the row was sent again after an\n"
               "interruption or a job death) and the last error, from RUNDIR/manifest.json and\n"
               "RUNDIR/events.jsonl (docs/render.md). --json lists shots in `shots` and the\n"
               "other rows in `work`. Under `shotfarm submit`, also the Slurm job's launches\n"
               "and why it stopped requeueing (RUNDIR/slurm-launches.jsonl, docs/submit.md),\n"
               "and per launch sacct's elapsed time and allocated CPU- and GPU-seconds beside\n"
               "the plan's (one line saying why when the cluster has no accounting).\n\n"
               "options:\n"
               "  --json       one JSON document on stdout\n"
               "  --progress   print one number: the durable progress of the run (denoising\n"
               "               steps checkpointed plus finished units); it only grows, and a\n"
               "               launch that leaves it unchanged made no progress\n");
}

static int load_json(const char *path, char **text, struct sf_json_doc **doc)
{
    size_t n = 0;
    int st = sf_file_read_all(path, MAX_FILE, text, &n);
    if (st) return st;
    char err[160];
    *doc = sf_json_parse(*text, n, err, sizeof err);
    if (!*doc) {
        SF_ERROR(CMD,
                 "%s: %s; the run directory is damaged (render writes it durably: was it "
                 "edited?)",
                 path, err);
        return SF_E_FORMAT;
    }
    return SF_OK;
}

static int status_dir(const char *rundir, int progress, struct sf_jw *w);
static int is_set(const char *rundir);
static int status_set(const char *rundir, int json);

int sf_cmd_status(int argc, char **argv)
{
    static const struct option lo[] = {
        {"json", no_argument, 0, 'j'},
        {"progress", no_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int json = 0, progress = 0;
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":h", lo, NULL)) != -1;) {
        if (c == 'j')
            json = 1;
        else if (c == 'p')
            progress = 1;
        else if (c == 'h')
            return usage(stdout), SF_OK;
        else
            return sf_cli_usage_error(CMD, "unknown option %s", argv[optind - 1]);
    }
    if (optind + 1 != argc) return sf_cli_usage_error(CMD, "give one run directory");
    const char *rundir = argv[optind];
    if (!progress && is_set(rundir)) return status_set(rundir, json);
    if (!json) return status_dir(rundir, progress, NULL);
    struct sf_jw w;
    sf_jw_init(&w, stdout, 2);
    int st = status_dir(rundir, 0, &w);
    if (st == SF_OK) sf_jw_finish(&w);
    return st;
}

/* One run directory: its summary, Slurm launches and table on stdout; or (w) its JSON object
 * as the next value of w; or (progress) its durable progress count. */
static int status_dir(const char *rundir, int progress, struct sf_jw *w)
{
    const int json = w != NULL;
    int st = SF_OK;
    char *mtext = NULL, path[8192];
    struct sf_json_doc *mdoc = NULL;
    struct unit *u = NULL;
    struct shot *sh = NULL;
    int n_units = 0, n_shots = 0;
    struct sf_slurm_job launches = {0};
    struct sf_slurm_acct *acct = NULL;

    snprintf(path, sizeof path, "%s/manifest.json", rundir);
    SF_TRY(st, load_json(path, &mtext, &mdoc));
    const struct sf_json *units = sf_json_get(sf_json_root(mdoc), "units");
    if (!units || units->type != SF_JSON_ARRAY) {
        SF_ERROR(CMD, "%s: no `units` array; is this a shotfarm run directory?", path);
        st = SF_E_FORMAT;
        goto out;
    }
    n_units = (int)units->n;
    u = calloc((size_t)n_units + 1, sizeof *u);
    sh = calloc((size_t)n_units + 1, sizeof *sh);
    if (!u || !sh) {
        st = SF_E_NOMEM;
        goto out;
    }
    for (int i = 0; i < n_units; i++) {
        const struct sf_json *x = units->items[i];
        int64_t steps = 0;
        u[i].name = sf_json_get_str(x, "name");
        u[i].kind = sf_json_get_str(x, "kind");
        u[i].shot = sf_json_get_str(x, "shot");
        u[i].row = sf_json_get_str(x, "row"); /* older manifests: shots only */
        if (!u[i].row) u[i].row = u[i].shot;
        sf_json_get_int(x, "steps", &steps);
        u[i].steps = (int)steps;
        u[i].group = -1;
        if (!u[i].name || !u[i].kind || !u[i].shot) {
            SF_ERROR(CMD, "%s: units[%d] lacks name, kind or shot", path, i);
            st = SF_E_FORMAT;
            goto out;
        }
    }

    /* events: one JSON document per line (a torn last line is skipped) */
    snprintf(path, sizeof path, "%s/events.jsonl", rundir);
    struct events ev = {u, n_units, SF_OK};
    st = sf_render_events_each(path, on_event, &ev);
    if (st == SF_E_NOTFOUND) st = SF_OK; /* not started yet */
    if (st) goto out;
    if (progress) { /* a finished unit counts its steps and one more; others their checkpoint */
        long sum = 0;
        for (int i = 0; i < n_units; i++)
            sum += u[i].state == 2 ? u[i].steps + 1 : u[i].ckpt;
        printf("%ld\n", sum);
        goto out;
    }
    SF_TRY(st, sf_slurm_job_read(rundir, &launches));
    struct sf_render_planned planned; /* the plan's, for this world (manifest `plan`) */
    sf_render_manifest_plan(sf_json_root(mdoc), &planned);
    if (launches.job[0]) {
        if (!(acct = malloc(sizeof *acct))) {
            st = SF_E_NOMEM;
            goto out;
        }
        sf_slurm_acct_read(launches.job, acct); /* unavailable: acct->why says why */
    }

    /* per shot */
    struct timespec now_ts;
    clock_gettime(CLOCK_REALTIME, &now_ts);
    const double now = (double)now_ts.tv_sec + now_ts.tv_nsec * 1e-9;
    int counts[5] = {0};
    for (int i = 0; i < n_units; i++) {
        counts[u[i].state]++;
        if (!u[i].row[0]) continue; /* an older manifest's prompt units */
        int k = 0;
        while (k < n_shots && strcmp(sh[k].label, u[i].row) != 0)
            k++;
        if (k == n_shots) {
            sh[n_shots++] =
                (struct shot){.label = u[i].row, .is_shot = u[i].shot[0] != 0, .group = -1, .eta = -1};
        }
        struct shot *s = &sh[k];
        const struct unit *x = &u[i];
        if (x->t_start && (!s->t_start || x->t_start < s->t_start)) s->t_start = x->t_start;
        if (x->t_last > s->t_end) s->t_end = x->t_last;
        if (x->state == 3) s->error = x->error;
        if (x->state == 1 || (x->state >= 2 && s->group < 0))
            s->group = x->group, s->host = x->host;
        /* step n/N: the running unit with steps (a shot's denoise units: one per take x
         * aspect), else the one furthest along */
        if (x->steps > 0 && !s->denoise_running &&
            (x->state == 1 || x->step >= s->step)) {
            s->step = x->step;
            s->steps = x->steps;
            s->denoise_running = x->state == 1;
            if (x->state == 1 && x->step > x->step0)
                s->eta = (x->t_last - x->t_step0) / (x->step - x->step0) * (x->steps - x->step);
        }
        s->n++;
        if (x->dispatches - 1 > s->retries) s->retries = x->dispatches - 1;
        s->n_done += x->state == 2 || x->state == 4;
        s->n_skipped += x->state == 4;
        s->n_running += x->state == 1;
        s->n_failed += x->state == 3;
    }
    /* a row is failed when any of its units failed, skipped when all were, done when all are,
     * running once any started, else pending */
    for (int k = 0; k < n_shots; k++) {
        struct shot *s = &sh[k];
        s->state = s->n_failed                ? 3
                   : s->n_skipped == s->n     ? 4 /* work render does not do yet */
                   : s->n_done == s->n        ? 2
                   : s->n_running || s->n_done ? 1
                                               : 0;
    }

    if (json) {
        sf_jw_obj_begin(w);
        sf_jw_key(w, "rundir"), sf_jw_str(w, rundir);
        sf_jw_key(w, "units"), sf_jw_obj_begin(w);
        for (int s = 0; s < 5; s++)
            sf_jw_key(w, state_name(s)), sf_jw_int(w, counts[s]);
        sf_jw_obj_end(w);
        sf_jw_key(w, "slurm"), launches_json(w, &launches, acct, &planned);
        for (int pass = 0; pass < 2; pass++) { /* the shots, then campaign-wide work */
            sf_jw_key(w, pass ? "work" : "shots"), sf_jw_arr_begin(w);
            for (int k = 0; k < n_shots; k++)
                if (sh[k].is_shot == !pass) row_json(w, &sh[k], now);
            sf_jw_arr_end(w);
        }
        sf_jw_obj_end(w);
    } else {
        printf("%s: %d units: %d done, %d running, %d pending, %d failed, %d skipped\n", rundir,
               n_units, counts[2], counts[1], counts[0], counts[3], counts[4]);
        if (launches.job[0])
            printf("slurm job %s: %d launch%s (SLURM_RESTART_COUNT %d)%s%s\n", launches.job,
                   launches.n, launches.n == 1 ? "" : "es", launches.restarts,
                   launches.stopped ? "; stopped: " : "",
                   launches.stopped ? launches.stopped : "");
        if (acct) acct_print(acct, &planned);
        printf("%-32s %-8s %7s %9s %8s %5s %7s  %s\n", "shot", "state", "step", "elapsed", "eta",
               "group", "retries", "error");
        for (int pass = 0; pass < 2; pass++) /* the shots, then campaign-wide work */
            for (int k = 0; k < n_shots; k++) {
                const struct shot *s = &sh[k];
                if (s->is_shot != !pass) continue;
                char step[24] = "-", el[24] = "-", eta[24] = "-", grp[16] = "-";
                if (s->steps) snprintf(step, sizeof step, "%d/%d", s->step, s->steps);
                if (s->t_start)
                    snprintf(el, sizeof el, "%.1fs", (s->state == 1 ? now : s->t_end) - s->t_start);
                if (s->eta >= 0) snprintf(eta, sizeof eta, "%.1fs", s->eta);
                if (s->group >= 0) snprintf(grp, sizeof grp, "%d", s->group);
                printf("%-32s %-8s %7s %9s %8s %5s %7d  %s\n", s->label, state_name(s->state), step,
                       el, eta, grp, s->retries, s->error ? s->error : "");
            }
    }
out:
    for (int i = 0; u && i < n_units; i++) {
        free(u[i].error);
        free(u[i].host);
    }
    sf_slurm_job_fini(&launches);
    free(acct);
    sf_json_free(mdoc);
    free(mtext);
    free(u);
    free(sh);
    return st;
}

/* ---- a per-sequence render (submit --per-sequence, docs/submit.md) ------------------------ */

/* RUNDIR/seq holds the sequences' own run directories. */
static int is_set(const char *rundir)
{
    char p[8192];
    snprintf(p, sizeof p, "%s/seq", rundir);
    return sf_file_is_dir(p);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One directory of the set: its status, or "not started" when its render wrote no manifest
 * yet (a pending array task, or the assembly job waiting for them). */
static int status_member(const char *dir, const char *waiting, struct sf_jw *w)
{
    char p[8192 + 320];
    snprintf(p, sizeof p, "%s/manifest.json", dir);
    if (sf_file_is_regular(p)) return status_dir(dir, 0, w);
    if (w)
        sf_jw_null(w);
    else
        printf("%s: not started (%s)\n", dir, waiting);
    return SF_OK;
}

/* Every sequence's run directory RUNDIR/seq/NAME (by name), then the assembly in RUNDIR. */
static int status_set(const char *rundir, int json)
{
    char dir[8192];
    snprintf(dir, sizeof dir, "%s/seq", rundir);
    DIR *d = opendir(dir);
    if (!d) return sf_err_errno(errno, "list the sequences' run directories", dir);
    char **names = NULL;
    int n = 0, cap = 0, st = SF_OK;
    for (struct dirent *e; (e = readdir(d));) {
        char p[8192 + 300];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || !sf_file_is_dir(p)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, (size_t)cap * sizeof *nn);
            if (!nn) {
                st = SF_E_NOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            st = SF_E_NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (st) goto out;
    qsort(names, (size_t)n, sizeof *names, by_name);
    struct sf_jw jw, *w = json ? &jw : NULL;
    if (w) {
        sf_jw_init(w, stdout, 2);
        sf_jw_obj_begin(w);
        sf_jw_key(w, "rundir"), sf_jw_str(w, rundir);
        sf_jw_key(w, "sequences"), sf_jw_arr_begin(w);
    } else {
        printf("%s: per-sequence render: %d sequence%s in %s/NAME, then the assembly in %s\n",
               rundir, n, n == 1 ? "" : "s", dir, rundir);
    }
    for (int i = 0; i < n && st == SF_OK; i++) {
        char p[8192 + 300];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (w) {
            sf_jw_obj_begin(w);
            sf_jw_key(w, "sequence"), sf_jw_str(w, names[i]);
            sf_jw_key(w, "status");
        } else {
            printf("\nsequence %s:\n", names[i]);
        }
        st = status_member(p, "its array task has not run render yet", w);
        if (w) sf_jw_obj_end(w);
    }
    if (w) {
        sf_jw_arr_end(w);
        sf_jw_key(w, "assembly");
    } else {
        printf("\nassembly:\n");
    }
    if (st == SF_OK)
        st = status_member(rundir, "the assembly job waits for every sequence (afterok)", w);
    if (w && st == SF_OK) {
        sf_jw_obj_end(w);
        sf_jw_finish(w);
    }
out:
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return st;
}
