/* report.c — RUNDIR/report.html (sf_report.h). Called by cmd_render.c at the end of every launch
 * (rank 0, after the coordinator wrote run_end) and by cmd_report.c. Everything comes from the
 * run directory: manifest.json (units, their plan estimates, identity, determinism domain),
 * events.jsonl (what ran, for how long, failures, retries), out/deliverables.json (files and
 * QC verdicts) and the units' records in out/.units/ (which files each spot, timeline and
 * contact sheet is). The subtle thing: paths in those files are as render was given them
 * (relative or absolute); the page links everything relative to RUNDIR by cutting each path at
 * its `out/` directory, so the page works wherever the directory is copied. */
#define _POSIX_C_SOURCE 200809L
#include "sf_file.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_render.h"
#include "sf_report.h"
#include "sf_review.h"
#include "sf_slurm.h"
#include "sf_status.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_JSON (256u << 20)

struct unit {
    const char *name, *kind, *shot, *row, *output;
    double planned;           /* the plan's seconds on one worker group or lane */
    int ranks;                /* of its last dispatch */
    int dispatches, failures, reused, done;
    double seconds;           /* measured, summed over its finished runs */
    double t_first, t_last;   /* first start, last end (wall clock) */
    const char *error;        /* its last failure (points into the events' copy) */
    char *error_own;
};

struct run {
    struct unit *u;
    int n;
    const int *map; /* reading a sequence's events: its unit index -> ours (-1: none) */
    int n_map;
    int *dispatches; /* ... and the dispatches of each unit there (a prompt that several
                        sequences share is sent once in each: not a retry) */
};

static int on_event(void *arg, const struct sf_json *e)
{
    struct run *r = arg;
    int64_t job = -1, ranks = 1;
    double t = 0, secs = 0;
    const char *ev = sf_json_get_str(e, "event"), *name = sf_json_get_str(e, "unit");
    if (!ev || sf_json_get_int(e, "job", &job)) return SF_OK; /* a launch event */
    if (r->map) job = job >= 0 && job < r->n_map ? r->map[job] : -1;
    if (job < 0 || job >= r->n || !name ||
        strcmp(name, r->u[job].name) != 0)
        return SF_OK; /* a launch event, or a unit of an edited campaign's earlier plan */
    struct unit *u = &r->u[job];
    sf_json_get_num(e, "t", &t);
    if (strcmp(ev, "dispatched") == 0) {
        (r->map ? &r->dispatches[job] : &u->dispatches)[0]++;
        if (sf_json_get_int(e, "ranks", &ranks) == 0) u->ranks = (int)ranks;
    } else if (strcmp(ev, "started") == 0) {
        if (u->t_first == 0 || t < u->t_first) u->t_first = t;
    } else if (strcmp(ev, "finished") == 0) {
        u->done = 1;
        if (r->map) u->reused = 0; /* taken from the sequence's render, which computed it */
        if (sf_json_get_num(e, "seconds", &secs) == 0) u->seconds += secs;
        if (t > u->t_last) u->t_last = t;
    } else if (strcmp(ev, "reused") == 0) {
        u->reused = 1, u->done = 1;
    } else if (strcmp(ev, "failed") == 0) {
        u->failures++, u->done = 0;
        const char *err = sf_json_get_str(e, "error");
        free(u->error_own);
        u->error_own = strdup(err ? err : "");
        u->error = u->error_own;
    }
    return SF_OK;
}

/* A per-sequence render (submit --per-sequence, docs/submit.md): the shots' units ran in
 * RUNDIR/seq/NAME, and RUNDIR's events say only that they were taken from there (reused); the
 * sequences' own events count here too. Each directory numbers its own units, in the plan's
 * order, so they are matched by name, looking first just after the last match. */
static int sequence_events(const char *rundir, struct run *r)
{
    char dir[SF_RENDER_PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/seq", rundir);
    DIR *d = opendir(dir);
    if (!d) return SF_OK; /* not a per-sequence render */
    int st = SF_OK;
    for (struct dirent *de; st == SF_OK && (de = readdir(d));) {
        char path[SF_RENDER_PATH_MAX + 300], *text = NULL;
        struct sf_json_doc *doc = NULL;
        int *map = NULL;
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s/manifest.json", dir, de->d_name);
        if (!sf_file_is_regular(path)) continue; /* that sequence has not started */
        st = sf_review_load_json(path, &text, &doc);
        const struct sf_json *units = st ? NULL : sf_json_get(sf_json_root(doc), "units");
        const int n = units && units->type == SF_JSON_ARRAY ? (int)units->n : 0;
        if (st == SF_OK && n > 0 && !(map = malloc((size_t)n * sizeof *map))) st = SF_E_NOMEM;
        for (int i = 0, k = 0; st == SF_OK && i < n; i++) {
            const char *name = sf_json_get_str(units->items[i], "name");
            map[i] = -1;
            for (int q = 0; name && q < r->n && map[i] < 0; q++)
                if (strcmp(r->u[(k + q) % r->n].name, name) == 0) map[i] = (k + q) % r->n;
            if (map[i] >= 0) k = map[i] + 1;
        }
        if (st == SF_OK && n > 0 && !r->dispatches &&
            !(r->dispatches = calloc((size_t)r->n + 1, sizeof *r->dispatches)))
            st = SF_E_NOMEM;
        if (st == SF_OK && n > 0) {
            r->map = map, r->n_map = n;
            snprintf(path, sizeof path, "%s/%s/events.jsonl", dir, de->d_name);
            st = sf_render_events_each(path, on_event, r);
            if (st == SF_E_NOTFOUND) st = SF_OK;
            r->map = NULL, r->n_map = 0;
            for (int k = 0; k < r->n; k++) { /* retries: the most sends in one directory */
                if (r->dispatches[k] > r->u[k].dispatches) r->u[k].dispatches = r->dispatches[k];
                r->dispatches[k] = 0;
            }
        }
        free(map);
        sf_json_free(doc);
        free(text);
    }
    closedir(d);
    return st;
}

/* HTML text. */
static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* The part of path from its last "out/" directory: RUNDIR-relative. */
static const char *rel(const char *path)
{
    const char *best = NULL;
    for (const char *p = path; (p = strstr(p, "out/")); p++)
        if (p == path || p[-1] == '/') best = p;
    return best ? best : path;
}

/* A URL path: RUNDIR-relative, each byte outside the safe set percent-encoded. */
static void url(FILE *f, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)rel(path); *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_./~", *p))
            fputc(*p, f);
        else
            fprintf(f, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
}

/* The deliverables.json entry of path, or NULL. */
static const struct sf_json *entry_of(const struct sf_json *files, const char *path)
{
    for (size_t i = 0; files && files->type == SF_JSON_ARRAY && i < files->n; i++) {
        const char *p = sf_json_get_str(files->items[i], "path");
        if (p && strcmp(rel(p), rel(path)) == 0) return files->items[i];
    }
    return NULL;
}

/* "dawn-run 16:9 15s" of "dawn-run 16:9 15s assemble (3 languages)": the spot a unit is of. */
static size_t spot_len(const char *name)
{
    int spaces = 0; /* "SEQ ASPECT LENGTH ..." */
    for (const char *p = name; *p; p++)
        if (*p == ' ' && ++spaces == 3) return (size_t)(p - name);
    return strlen(name);
}

static int same_spot(const char *a, const char *b)
{
    const size_t la = spot_len(a), lb = spot_len(b);
    return la == lb && strncmp(a, b, la) == 0;
}

static const char *css =
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}"
    "h1{margin:0 0 4px}h2{margin-top:32px;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;"
    "text-align:left;vertical-align:top}th{background:#eee}.num{text-align:right}"
    ".pass{color:#176b2c;font-weight:600}.fail{color:#b00020;font-weight:600}"
    ".box{border:1px solid #ccc;background:#fff;padding:8px 12px;margin:12px 0}"
    ".flag{border-color:#b00020;background:#fff0f0}video{background:#000;max-width:360px;"
    "max-height:240px}img{max-width:100%}pre{background:#fff;border:1px solid #ddd;padding:8px;"
    "overflow:auto}";

/* "review zh" for ".../NAME_zh[_v2]_review.mp4" (the language is the name's last part). */
static void review_label(const char *path, char *buf, size_t n)
{
    char name[256];
    const char *slash = strrchr(path, '/');
    snprintf(name, sizeof name, "%s", slash ? slash + 1 : path);
    char *end = strstr(name, "_review.");
    if (end) *end = '\0';
    char *last = strrchr(name, '_');
    if (last && last[1] == 'v' && last[2] >= '0' && last[2] <= '9') { /* a version */
        *last = '\0';
        last = strrchr(name, '_');
    }
    snprintf(buf, n, "review %.48s", last ? last + 1 : name);
}

/* One spot: its video, files, QC verdict and timelines. */
static void spot_row(FILE *f, const struct run *r, int a, const struct sf_json *files,
                     struct sf_report_summary *sum)
{
    const struct unit *u = &r->u[a];
    struct sf_review_file fl[SF_REVIEW_MAX_FILES];
    int n = 0;
    const char *cut = strstr(u->name, " assemble");
    fputs("<tr><td>", f);
    fprintf(f, "%.*s", cut ? (int)(cut - u->name) : (int)strlen(u->name), u->name);
    fputs("</td><td>", f);
    if (!u->done || sf_review_load_files(u->output, fl, &n) != SF_OK) {
        fputs("not delivered", f);
        if (u->error) fputs(": ", f), esc(f, u->error);
        fputs("</td><td></td><td></td></tr>\n", f);
        return;
    }
    sum->spots++;
    int shown = 0;
    for (int i = 0; i < n && !shown; i++) {
        if (fl[i].codec != SF_CODEC_H264) continue;
        fputs("<video controls muted preload=\"auto\" src=\"", f);
        url(f, fl[i].path);
        fputs("\"></video><br>", f);
        shown = 1;
    }
    for (int i = 0; i < n; i++) {
        fputs("<a href=\"", f);
        url(f, fl[i].path);
        fprintf(f, "\">%s %s</a>%s", sf_lang_name(fl[i].lang), sf_codec_name(fl[i].codec),
                i + 1 < n ? " · " : "");
    }
    /* QC: the verdict of each codec's picture (the languages share it) */
    fputs("</td><td>", f);
    int flagged = 0, checked = 0;
    for (int i = 0; i < n; i++) {
        const struct sf_json *q = sf_json_get(entry_of(files, fl[i].path), "qc");
        const struct sf_json *pass = sf_json_get(q, "pass");
        if (!pass) continue;
        checked = 1;
        if (!pass->boolean) {
            if (!flagged) fputs("<span class=\"fail\">FAILED</span>", f);
            flagged = 1;
            fprintf(f, "<br>%s %s: ", sf_lang_name(fl[i].lang), sf_codec_name(fl[i].codec));
            esc(f, sf_json_get_str(q, "failures"));
        }
    }
    if (!checked) fputs("not checked", f);
    else if (!flagged) fputs("<span class=\"pass\">passed</span>", f);
    sum->flagged += flagged;
    fputs("</td><td>", f);
    for (int t = 0; t < r->n; t++) {
        const int review = strcmp(r->u[t].kind, "review") == 0;
        if ((!review && strcmp(r->u[t].kind, "timeline") != 0) ||
            !same_spot(r->u[t].name, u->name) || !r->u[t].done)
            continue;
        char *text = NULL;
        struct sf_json_doc *doc = NULL;
        if (sf_review_load_json(r->u[t].output, &text, &doc) == SF_OK) {
            const struct sf_json *tfs = sf_json_get(sf_json_root(doc), "files");
            for (size_t k = 0; tfs && tfs->type == SF_JSON_ARRAY && k < tfs->n; k++) {
                const char *p = sf_json_get_str(tfs->items[k], "path");
                if (!p) continue;
                const char *dot = strrchr(p, '.');
                char label[64];
                if (review) /* "..._zh[_v2]_review.mp4": "review zh" */
                    review_label(p, label, sizeof label);
                else
                    snprintf(label, sizeof label, "%s", dot ? dot + 1 : p);
                fputs("<a href=\"", f);
                url(f, p);
                fputs("\">", f);
                esc(f, label);
                fputs("</a> ", f);
            }
        }
        sf_json_free(doc);
        free(text);
    }
    fputs("</td></tr>\n", f);
}

/* Per sequence (its contact unit, in manifest order): its spots and its contact sheet. */
static void sequences(FILE *f, const struct run *r, const struct sf_json *files,
                      struct sf_report_summary *sum)
{
    fputs("<div id=\"sequences\">\n", f);
    for (int i = 0; i < r->n; i++) {
        if (strcmp(r->u[i].kind, "contact") != 0) continue;
        const char *seq_end = strchr(r->u[i].name, ' ');
        const int seq_len = seq_end ? (int)(seq_end - r->u[i].name) : (int)strlen(r->u[i].name);
        fprintf(f, "<h2>Sequence %.*s</h2>\n", seq_len, r->u[i].name);
        fputs("<table><tr><th>spot</th><th>picture and files</th><th>QC</th><th>timelines, review copies</th>"
              "</tr>\n",
              f);
        for (int a = 0; a < r->n; a++)
            if (strcmp(r->u[a].kind, "assemble") == 0 &&
                strncmp(r->u[a].name, r->u[i].name, (size_t)seq_len + 1) == 0)
                spot_row(f, r, a, files, sum);
        fputs("</table>\n", f);
        char *text = NULL;
        struct sf_json_doc *doc = NULL;
        const struct sf_json *cf = NULL;
        if (r->u[i].done && sf_review_load_json(r->u[i].output, &text, &doc) == SF_OK &&
            (cf = sf_json_get(sf_json_root(doc), "files")) && cf->type == SF_JSON_ARRAY &&
            cf->n > 0 && sf_json_get_str(cf->items[0], "path")) {
            fputs("<p>Contact sheet: one row per shot and take (green: the selected take)</p>"
                  "<img alt=\"contact sheet\" src=\"", f);
            url(f, sf_json_get_str(cf->items[0], "path"));
            fputs("\">\n", f);
        } else {
            fputs("<p>No contact sheet (its unit did not finish).</p>\n", f);
        }
        sf_json_free(doc);
        free(text);
    }
    fputs("</div>\n", f);
}

static void fmt_secs(FILE *f, double s)
{
    if (s < 0.05)
        fputs("<td class=\"num\">–</td>", f);
    else
        fprintf(f, "<td class=\"num\">%.1f</td>", s);
}

/* The Slurm job's launches as sacct accounted them, beside the plan's makespan (docs/submit.md
 * § Accounting). */
static void accounting(FILE *f, const struct sf_slurm_acct *a, const struct sf_render_planned *p)
{
    fputs("<h2>Slurm accounting</h2>\n", f);
    if (!a->available) {
        fputs("<p id=\"sacct\">Not available: ", f);
        esc(f, a->why);
        fputs("</p>\n", f);
        return;
    }
    fprintf(f, "<p>Per launch of the job, from sacct: elapsed time and the CPU- and GPU-seconds "
            "allocated, beside the plan's makespan (render prices its units for an %s whatever "
            "the device: an estimate to compare with, not a forecast for this cluster).</p>\n"
            "<table id=\"sacct\"><tr><th>launch</th><th>job</th><th>state</th><th>nodes</th>"
            "<th>elapsed s</th><th>CPUs</th><th>CPU-s</th><th>GPUs</th><th>GPU-s</th>"
            "<th>planned s (%s estimate)</th></tr>\n", p->label, p->label);
    for (int i = 0; i < a->n; i++) {
        const struct sf_slurm_launch *l = &a->v[i];
        fprintf(f, "<tr><td class=\"num\">%d</td><td>", i + 1);
        esc(f, l->job);
        fputs("</td><td>", f);
        esc(f, l->state);
        fputs("</td><td>", f);
        esc(f, l->nodes[0] ? l->nodes : "-");
        fputs("</td>", f);
        fmt_secs(f, l->elapsed);
        fprintf(f, "<td class=\"num\">%d</td>", l->cpus);
        fmt_secs(f, l->cpu_seconds);
        fprintf(f, "<td class=\"num\">%d</td>", l->gpus);
        fmt_secs(f, l->gpu_seconds);
        if (p->makespan >= 0) fmt_secs(f, p->makespan);
        else fputs("<td>-</td>", f);
        fputs("</tr>\n", f);
    }
    fprintf(f, "<tr><td colspan=\"4\">all %d launch%s</td>", a->n, a->n == 1 ? "" : "es");
    fmt_secs(f, a->elapsed);
    fputs("<td></td>", f);
    fmt_secs(f, a->cpu_seconds);
    fputs("<td></td>", f);
    fmt_secs(f, a->gpu_seconds);
    fputs("<td></td></tr>\n</table>\n", f);
}

int sf_report_write(const char *rundir, const struct sf_slurm_acct *acct,
                    struct sf_report_summary *sum)
{
    int st = SF_OK;
    char path[SF_RENDER_PATH_MAX + 64], *mtext = NULL, *dtext = NULL, *buf = NULL;
    struct sf_json_doc *mdoc = NULL, *ddoc = NULL;
    struct sf_report_summary local = {0};
    struct run r = {0};
    size_t blen = 0;
    FILE *f = NULL;
    if (!sum) sum = &local;
    memset(sum, 0, sizeof *sum);
    snprintf(path, sizeof path, "%s/manifest.json", rundir);
    SF_TRY(st, sf_review_load_json(path, &mtext, &mdoc));
    const struct sf_json *m = sf_json_root(mdoc), *units = sf_json_get(m, "units");
    if (!units || units->type != SF_JSON_ARRAY) {
        SF_ERROR("report", "%s: no `units`; is this a shotfarm run directory?", path);
        st = SF_E_FORMAT;
        goto out;
    }
    r.n = (int)units->n;
    if (!(r.u = calloc((size_t)r.n + 1, sizeof *r.u))) {
        st = SF_E_NOMEM;
        goto out;
    }
    for (int i = 0; i < r.n; i++) {
        const struct sf_json *x = units->items[i];
        struct unit *u = &r.u[i];
        u->name = sf_json_get_str(x, "name");
        u->kind = sf_json_get_str(x, "kind");
        u->shot = sf_json_get_str(x, "shot");
        u->row = sf_json_get_str(x, "row");
        u->output = sf_json_get_str(x, "output");
        u->ranks = 1;
        sf_json_get_num(x, "planned_seconds", &u->planned);
        if (!u->name || !u->kind || !u->shot) {
            SF_ERROR("report", "%s: units[%d] lacks name, kind or shot", path, i);
            st = SF_E_FORMAT;
            goto out;
        }
        if (!u->row) u->row = u->shot;
        if (!u->output) u->output = "";
    }
    snprintf(path, sizeof path, "%s/events.jsonl", rundir);
    st = sf_render_events_each(path, on_event, &r);
    if (st == SF_E_NOTFOUND) st = SF_OK; /* nothing ran yet */
    if (st == SF_OK) st = sequence_events(rundir, &r);
    if (st) goto out;
    snprintf(path, sizeof path, "%s/out/deliverables.json", rundir);
    if (sf_file_is_regular(path)) SF_TRY(st, sf_review_load_json(path, &dtext, &ddoc));
    const struct sf_json *files = ddoc ? sf_json_get(sf_json_root(ddoc), "files") : NULL;
    const char *campaign = ddoc ? sf_json_get_str(sf_json_root(ddoc), "campaign") : NULL;
    const char *version = sf_json_get_str(m, "shotfarm");
    const struct sf_json *ident = sf_json_get(m, "identity");

    if (!(f = open_memstream(&buf, &blen))) {
        st = SF_E_NOMEM;
        goto out;
    }
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<meta name=\"generator\" content=\"shotfarm\">\n<title>");
    esc(f, campaign ? campaign : sf_json_get_str(m, "campaign"));
    fprintf(f, " — shotfarm report</title>\n<style>%s</style></head><body>\n<h1>", css);
    esc(f, campaign ? campaign : sf_json_get_str(m, "campaign"));
    fputs("</h1>\n<p>", f);
    esc(f, sf_json_get_str(m, "campaign"));
    fputs(" · tier ", f);
    esc(f, sf_json_get_str(m, "tier"));
    const struct sf_json *world = sf_json_get(m, "world");
    int64_t ranks = 0, groups = 0, tp = 0, attempt = 0;
    sf_json_get_int(world, "ranks", &ranks);
    sf_json_get_int(world, "groups", &groups);
    sf_json_get_int(world, "tp", &tp);
    sf_json_get_int(m, "attempt", &attempt);
    fprintf(f, " · %lld ranks in %lld groups (tp %lld) · launch %lld</p>\n", (long long)ranks,
            (long long)groups, (long long)tp, (long long)attempt);

    /* the disclosure: what made the pictures */
    fputs("<div class=\"box\" id=\"disclosure\"><strong>AI-generated video.</strong> Every "
          "picture in these deliverables was made by a video diffusion model (Wan2.1 "
          "architecture) with shotfarm ",
          f);
    esc(f, version);
    fputs(". Model (SHA-256 of its files): transformer <code>", f);
    esc(f, sf_json_get_str(ident, "transformer"));
    fputs("</code>, VAE <code>", f);
    esc(f, sf_json_get_str(ident, "vae"));
    fputs("</code>, text encoder <code>", f);
    esc(f, sf_json_get_str(ident, "text_encoder"));
    fputs("</code>. Each file says so in its container metadata.</div>\n", f);

    /* the spots first (the QC summary above them needs their verdicts), then the page */
    char *sbuf = NULL;
    size_t slen = 0;
    FILE *sf = open_memstream(&sbuf, &slen);
    if (!sf) {
        st = SF_E_NOMEM;
        goto out;
    }
    sequences(sf, &r, files, sum);
    if (fclose(sf) != 0) {
        free(sbuf);
        st = SF_E_NOMEM;
        goto out;
    }
    if (sum->flagged)
        fprintf(f, "<div class=\"box flag\" id=\"qc-summary\"><strong>QC: %d of %d spots "
                   "FAILED</strong> (marked below and in out/deliverables.json).</div>\n",
                sum->flagged, sum->spots);
    else
        fprintf(f, "<div class=\"box\" id=\"qc-summary\">QC: all %d spots passed.</div>\n",
                sum->spots);
    fwrite(sbuf, 1, slen, f);
    free(sbuf);

    /* cost per shot (and per row of campaign-wide work): plan against measurement */
    fputs("<h2>Cost</h2>\n<p>Planned: the plan's estimate (docs/plan.md); measured: the "
          "units' own seconds from events.jsonl. Device-seconds are seconds times the ranks "
          "that ran the unit; wall: first start to last end.</p>\n"
          "<table id=\"cost\"><tr><th>shot / row</th><th>units</th><th>planned s</th>"
          "<th>planned device-s</th><th>measured s</th><th>measured device-s</th>"
          "<th>wall s</th><th>reused</th><th>retries</th><th>failures</th></tr>\n",
          f);
    for (int i = 0; i < r.n; i++) {
        int first = 1;
        for (int k = 0; k < i && first; k++)
            first = strcmp(r.u[k].row, r.u[i].row) != 0;
        if (!first) continue;
        int n = 0, reused = 0, retries = 0, failures = 0;
        double planned = 0, planned_dev = 0, secs = 0, dev = 0, t0 = 0, t1 = 0;
        for (int k = i; k < r.n; k++) {
            const struct unit *u = &r.u[k];
            if (strcmp(u->row, r.u[i].row) != 0) continue;
            n++;
            planned += u->planned;
            planned_dev += u->planned * u->ranks;
            secs += u->seconds;
            dev += u->seconds * u->ranks;
            reused += u->reused;
            retries += u->dispatches > 1 ? u->dispatches - 1 : 0;
            failures += u->failures;
            if (u->t_first > 0 && (t0 == 0 || u->t_first < t0)) t0 = u->t_first;
            if (u->t_last > t1) t1 = u->t_last;
        }
        fputs("<tr><td>", f);
        esc(f, r.u[i].row);
        fprintf(f, "</td><td class=\"num\">%d</td>", n);
        fmt_secs(f, planned);
        fmt_secs(f, planned_dev);
        fmt_secs(f, secs);
        fmt_secs(f, dev);
        fmt_secs(f, t1 > t0 && t0 > 0 ? t1 - t0 : 0);
        fprintf(f, "<td class=\"num\">%d</td><td class=\"num\">%d</td><td class=\"num\">%d</td>"
                   "</tr>\n", reused, retries, failures);
    }
    fputs("</table>\n", f);

    if (acct) {
        struct sf_render_planned planned; /* for the world that rendered (manifest `plan`) */
        sf_render_manifest_plan(m, &planned);
        accounting(f, acct, &planned);
    }

    /* failures with their causes */
    fputs("<h2>Failures</h2>\n<table id=\"failures\"><tr><th>unit</th><th>kind</th><th>times"
          "</th><th>last cause</th><th>now</th></tr>\n", f);
    int any = 0;
    for (int i = 0; i < r.n; i++) {
        const struct unit *u = &r.u[i];
        if (!u->failures) continue;
        any = 1;
        sum->failed += !u->done;
        fputs("<tr><td>", f);
        esc(f, u->name);
        fputs("</td><td>", f);
        esc(f, u->kind);
        fprintf(f, "</td><td class=\"num\">%d</td><td>", u->failures);
        esc(f, u->error);
        fprintf(f, "</td><td>%s</td></tr>\n", u->done ? "done since" : "failed");
    }
    if (!any) fputs("<tr><td colspan=\"5\">none</td></tr>\n", f);
    fputs("</table>\n", f);

    /* the determinism domain, as the manifest records it */
    fputs("<h2>Determinism domain</h2>\n<p>Output is bit-identical within this domain "
          "(docs/render.md).</p>\n<pre id=\"domain\">", f);
    {
        char *dbuf = NULL;
        size_t dlen = 0;
        FILE *df = open_memstream(&dbuf, &dlen);
        if (df) {
            struct sf_jw w;
            sf_jw_init(&w, df, 2);
            const struct sf_json *dom = sf_json_get(m, "determinism_domain");
            if (dom)
                sf_jw_value(&w, dom);
            else
                sf_jw_null(&w);
            sf_jw_finish(&w);
            if (fclose(df) == 0) esc(f, dbuf);
        }
        free(dbuf);
    }
    fputs("</pre>\n", f);
    fputs("</body></html>\n", f);
    if (fclose(f) != 0) {
        f = NULL;
        st = SF_E_NOMEM;
        goto out;
    }
    f = NULL;
    snprintf(path, sizeof path, "%s/report.html", rundir);
    st = sf_file_write_atomic(path, buf, blen);
out:
    if (f) fclose(f);
    for (int i = 0; r.u && i < r.n; i++)
        free(r.u[i].error_own);
    free(r.u);
    free(r.dispatches);
    free(buf);
    sf_json_free(mdoc);
    sf_json_free(ddoc);
    free(mtext);
    free(dtext);
    return st;
}
