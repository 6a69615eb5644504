/* render_sequence.c — a render split by sequence (docs/submit.md § Per-sequence job arrays):
 * `render --sequence SEQ` keeps only the worker-group units one sequence's shots need (its
 * denoise and decode units and the prompts and identity banks they read), and `render
 * --from-sequences` takes those outputs from the per-sequence run directories RUNDIR/seq/NAME
 * instead of rendering them again, then runs the rest (sound, assembly, masters, review) in
 * RUNDIR itself. Called by cmd_render.c: sf_render_keep_sequence after sf_render_expand on
 * every rank, sf_render_import_sequences on rank 0 after sf_render_resume_plan.
 *
 * The subtle thing: every render directory keeps its own lock, manifest and events (one render
 * per directory), and a unit's key is the same whichever render prepared it (the key hashes the
 * unit's inputs, not the directory), so a unit finished in RUNDIR/seq/SEQ with the key this
 * render computed is the unit this render would have produced, byte for byte; it is hard-linked
 * into RUNDIR (same file system: no copy of the latents) and reused like a resumed unit. */
#define _GNU_SOURCE
#include "sf_render.h"
#include "sf_campaign.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_status.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_JSON (256u << 20)

/* The new index of every old job index (-1: dropped) after keeping keep[]. */
static int remap(const int *map, int i) { return i >= 0 ? map[i] : -1; }

int sf_render_keep_sequence(struct sf_render_setup *s, const char *seq)
{
    const struct sf_campaign *c = s->campaign;
    int q = -1;
    for (int i = 0; i < sf_campaign_n_sequences(c); i++)
        if (strcmp(sf_campaign_sequence(c, i)->id, seq) == 0) q = i;
    if (q < 0) {
        char ids[512] = "";
        size_t len = 0;
        for (int i = 0; i < sf_campaign_n_sequences(c) && len < sizeof ids - 1; i++)
            len += (size_t)snprintf(ids + len, sizeof ids - len, "%s%s", i ? ", " : "",
                                    sf_campaign_sequence(c, i)->id);
        SF_ERROR("render", "--sequence %s: the campaign %s has no such sequence; give one of: %s",
                 seq, sf_campaign_name(c), ids);
        return SF_E_USAGE;
    }
    int *map = malloc(((size_t)s->n_jobs + 1) * sizeof *map);
    unsigned char *keep = calloc((size_t)s->n_jobs + 1, 1);
    if (!map || !keep) {
        free(map);
        free(keep);
        return SF_E_NOMEM;
    }
    /* the sequence's own worker-group units, then (dependencies have lower indices) everything
     * they read; a group unit depends only on group units (the registry's order) */
    for (int i = s->n_jobs - 1; i >= 0; i--) {
        const struct sf_render_job *j = &s->jobs[i];
        if (j->kind->resource == SF_UNIT_GROUP && j->sequence == q) keep[i] = 1;
        if (!keep[i]) continue;
        for (int d = 0; d < s->sched[i].n_deps; d++)
            keep[s->sched[i].deps[d]] = 1;
    }
    int n = 0;
    for (int i = 0; i < s->n_jobs; i++)
        map[i] = keep[i] ? n++ : -1;
    for (int i = 0; i < s->n_jobs; i++) {
        if (!keep[i]) continue;
        struct sf_render_job j = s->jobs[i];
        struct sf_sched_unit u = s->sched[i];
        j.text_job = remap(map, j.text_job);
        j.neg_job = remap(map, j.neg_job);
        j.denoise_job = remap(map, j.denoise_job);
        j.continue_job = remap(map, j.continue_job);
        for (int k = 0; k < j.n_refs; k++)
            j.ref_job[k] = remap(map, j.ref_job[k]);
        for (int d = 0; d < u.n_deps; d++) {
            u.deps[d] = map[u.deps[d]];
            SF_ASSERT(u.deps[d] >= 0); /* kept with its dependent */
        }
        s->jobs[map[i]] = j;
        s->sched[map[i]] = u;
    }
    SF_INFO("render", "--sequence %s: %d of %d units (its shots, their prompts and references)",
            seq, n, s->n_jobs);
    s->n_jobs = n;
    free(map);
    free(keep);
    return SF_OK;
}

/* A per-sequence run directory's manifest: unit name -> key. */
struct seq_dir {
    char path[SF_RENDER_PATH_MAX + 300];
    char *text;
    struct sf_json_doc *doc;
    const struct sf_json *units;
};

static const char *key_in(const struct seq_dir *d, const char *name)
{
    for (size_t i = 0; d->units && i < d->units->n; i++) {
        const char *nm = sf_json_get_str(d->units->items[i], "name");
        if (nm && strcmp(nm, name) == 0) return sf_json_get_str(d->units->items[i], "key");
    }
    return NULL;
}

/* Hard-links from/REL to s->rundir/REL and its .sha256 sidecar when there is one. */
static int link_output(const char *from_dir, const struct sf_render_setup *s, const char *rel)
{
    char src[SF_RENDER_PATH_MAX * 2 + 16], dst[SF_RENDER_PATH_MAX * 2 + 16];
    for (int side = 0; side < 2; side++) {
        const char *ext = side ? ".sha256" : "";
        snprintf(src, sizeof src, "%s/%s%s", from_dir, rel, ext);
        snprintf(dst, sizeof dst, "%s/%s%s", s->rundir, rel, ext);
        if (side && !sf_file_is_regular(src)) continue;
        int st = sf_render_mkdirs(dst, 1);
        if (st) return st;
        if (unlink(dst) != 0 && errno != ENOENT)
            return sf_err_errno(errno, "replace", dst);
        if (link(src, dst) != 0) return sf_err_errno(errno, "link the sequence's output", src);
    }
    return SF_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct seq_dir *)a)->path, ((const struct seq_dir *)b)->path);
}

int sf_render_import_sequences(const struct sf_render_setup *s, struct sf_render_resume *r)
{
    char dir[SF_RENDER_PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/seq", s->rundir);
    DIR *dp = opendir(dir);
    if (!dp) {
        SF_ERROR("render",
                 "--from-sequences: %s: %s; it holds the per-sequence run directories "
                 "(render --sequence SEQ -o %s/seq/SEQ, written by submit --per-sequence)",
                 dir, strerror(errno), s->rundir);
        return SF_E_USAGE;
    }
    struct seq_dir *d = NULL;
    int n = 0, cap = 0, st = SF_OK;
    for (struct dirent *e; (e = readdir(dp));) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            struct seq_dir *nd = realloc(d, (size_t)cap * sizeof *nd);
            if (!nd) {
                st = SF_E_NOMEM;
                break;
            }
            d = nd;
        }
        memset(&d[n], 0, sizeof d[n]);
        snprintf(d[n].path, sizeof d[n].path, "%s/%s", dir, e->d_name);
        if (sf_file_is_dir(d[n].path)) n++;
    }
    closedir(dp);
    if (st) goto out;
    qsort(d, (size_t)n, sizeof *d, by_name);
    for (int k = 0; k < n; k++) {
        char mpath[SF_RENDER_PATH_MAX + 16], err[160];
        size_t len = 0;
        snprintf(mpath, sizeof mpath, "%s/manifest.json", d[k].path);
        if (!sf_file_is_regular(mpath)) {
            SF_WARN("render", "--from-sequences: %s has no manifest.json (its render never "
                    "started): its units are rendered here", d[k].path);
            continue;
        }
        if ((st = sf_file_read_all(mpath, MAX_JSON, &d[k].text, &len))) goto out;
        if (!(d[k].doc = sf_json_parse(d[k].text, len, err, sizeof err))) {
            SF_ERROR("render", "%s: %s; the sequence's run directory is damaged: render it "
                     "again (render --sequence)", mpath, err);
            st = SF_E_FORMAT;
            goto out;
        }
        d[k].units = sf_json_get(sf_json_root(d[k].doc), "units");
    }
    const size_t root = strlen(s->rundir);
    int imported = 0, missing = 0;
    for (int i = 0; i < s->n_jobs; i++) {
        const struct sf_render_job *j = &s->jobs[i];
        if (r->reuse[i] || j->kind->resource != SF_UNIT_GROUP || !j->kind->run) continue;
        if (j->kind->output_ok && j->kind->output_ok(j)) continue; /* the shared cache's */
        /* outputs inside the run directory (latents, shots) come from the sequence's */
        if (strncmp(j->out, s->rundir, root) != 0 || j->out[root] != '/') continue;
        const char *rel = j->out + root + 1;
        int found = 0;
        for (int k = 0; k < n && !found; k++) {
            const char *key = key_in(&d[k], j->name);
            if (!key || strcmp(key, j->key) != 0) continue;
            char src[SF_RENDER_PATH_MAX * 2 + 8];
            snprintf(src, sizeof src, "%s/%s", d[k].path, rel);
            if (!sf_file_is_regular(src)) continue;
            if ((st = link_output(d[k].path, s, rel))) goto out;
            found = j->kind->output_ok && j->kind->output_ok(j);
            if (!found) sf_render_remove_output(j); /* not the output its key promises */
        }
        if (found) {
            r->reuse[i] = 1;
            imported++;
        } else {
            missing++;
            SF_WARN("render", "--from-sequences: %s: not finished in any of %s/*: rendered here",
                    j->name, dir);
        }
    }
    SF_INFO("render", "--from-sequences: %d unit%s taken from %d sequence run director%s, %d "
            "to render here", imported, imported == 1 ? "" : "s", n, n == 1 ? "y" : "ies",
            missing);
out:
    for (int k = 0; k < n; k++) {
        sf_json_free(d[k].doc);
        free(d[k].text);
    }
    free(d);
    return st;
}
