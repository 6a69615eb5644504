/* render_resume.c — what a render launch into an existing run directory does with what the
 * earlier launches left (sf_render.h, docs/render.md § Checkpoints and resume). Called by
 * cmd_render.c on rank 0 before the manifest is rewritten and before any unit runs; also the
 * reader of the launch history in events.jsonl (render_events.c reads the lines).
 *
 * Decisions, per unit (matched across launches by name):
 *   - its key equals the old manifest's and its output is present and valid: reused;
 *   - otherwise its old output is removed (so a later launch can never take a stale file for a
 *     finished one) and it runs, from its newest valid checkpoint when it has one (the
 *     checkpoint carries the key too);
 *   - it was running during two consecutive job deaths (launches without a `run_end` event)
 *     and neither death was a signal to every rank of its group: one failure charged. A rank
 *     that receives SIGTERM/SIGUSR1 records the unit it was running in RUNDIR/signals/ from the
 *     signal handler; Open MPI sends SIGTERM to every surviving rank when one dies, so the
 *     units of the survivors are excused and the unit whose rank crashed is not. After more
 *     than --max-retries failures the unit is poisoned: marked failed without running.
 *     A rank runs several units at once (its group's and, on a node's first rank, the CPU
 *     lanes'), and a crash cannot tell them apart; so a unit charged in the last death is a
 *     suspect and the next launch runs it alone on its ranks: a second death then names the
 *     unit that crashes, not the one that happened to share its process twice.
 * A change of model, sampler settings, guidance passes (--cfg-parallel), tp or campaign seed
 * against the old manifest is refused (one line naming what changed) unless --force. */
#define _GNU_SOURCE
#include "sf_render.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_sampler.h"
#include "sf_status.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_JSON (256u << 20)

/* ---- identity ------------------------------------------------------------------------------ */

void sf_render_identity_of(const struct sf_render_setup *s, uint32_t seed,
                           struct sf_render_identity *id)
{
    memset(id, 0, sizeof *id);
    id->transformer = s->dit_key;
    id->vae = s->vae_key;
    id->text_encoder = s->text_key;
    id->sampler = id->schedule = "none";
    id->seed = seed;
    id->tp = s->tp;
    id->guidance_passes = sf_render_guidance_mode(s->cfg_parallel);
    for (int i = 0; i < s->n_jobs; i++) { /* one tier: every denoise unit has its settings */
        const struct sf_render_job *j = &s->jobs[i];
        if (j->kind != &sf_unit_denoise) continue;
        id->sampler = sf_sampler_kind_name((enum sf_sampler_kind)j->sampler);
        id->schedule = sf_schedule_kind_name((enum sf_schedule_kind)j->schedule);
        id->steps = j->steps;
        id->shift = j->shift;
        id->guidance = j->guidance;
        break;
    }
}

void sf_render_identity_json(struct sf_jw *j, const struct sf_render_identity *id)
{
    sf_jw_obj_begin(j);
    sf_jw_key(j, "transformer"), sf_jw_str(j, id->transformer);
    sf_jw_key(j, "vae"), sf_jw_str(j, id->vae);
    sf_jw_key(j, "text_encoder"), sf_jw_str(j, id->text_encoder);
    sf_jw_key(j, "sampler"), sf_jw_str(j, id->sampler);
    sf_jw_key(j, "schedule"), sf_jw_str(j, id->schedule);
    sf_jw_key(j, "steps"), sf_jw_int(j, id->steps);
    sf_jw_key(j, "shift"), sf_jw_num(j, id->shift);
    sf_jw_key(j, "guidance"), sf_jw_num(j, id->guidance);
    sf_jw_key(j, "seed"), sf_jw_int(j, id->seed);
    sf_jw_key(j, "tp"), sf_jw_int(j, id->tp);
    sf_jw_key(j, "guidance_passes"), sf_jw_str(j, id->guidance_passes);
    sf_jw_obj_end(j);
}

/* ---- the old manifest ---------------------------------------------------------------------- */

/* Appends "what (old -> new)" to buf when they differ. */
/* A value as the refusal shows it: whole up to 24 characters (a 64-bit seed has 20), a content
 * hash cut to its first 16 hex digits and "...". */
static const char *shown(const char *v, char out[24])
{
    if (!v) return "none";
    if (strlen(v) <= 24) return v;
    snprintf(out, 24, "%.16s...", v);
    return out;
}

static void differs(char *buf, size_t n, const char *what, const char *old, const char *now)
{
    if (old && now && strcmp(old, now) == 0) return;
    size_t l = strlen(buf);
    char a[24], b[24];
    snprintf(buf + l, n - l, "%s%s (%s -> %s)", l ? ", " : "", what, shown(old, a), shown(now, b));
}

static void num_str(const struct sf_json *o, const char *k, char *buf, size_t n)
{
    const struct sf_json *v = sf_json_get(o, k);
    if (!v)
        snprintf(buf, n, "none");
    else if (v->type == SF_JSON_STRING)
        snprintf(buf, n, "%s", v->str);
    else if (v->type == SF_JSON_NUMBER)
        snprintf(buf, n, "%.17g", v->number);
    else
        snprintf(buf, n, "?");
}

/* Compares the old manifest's identity with this launch's; names what changed in why[]. */
static void compare_identity(const struct sf_json *old, const struct sf_render_identity *now,
                             char *why, size_t n)
{
    const struct sf_json *id = sf_json_get(old, "identity");
    why[0] = '\0';
    differs(why, n, "model transformer/ files", sf_json_get_str(id, "transformer"),
            now->transformer);
    differs(why, n, "model vae/ files", sf_json_get_str(id, "vae"), now->vae);
    differs(why, n, "model text encoder", sf_json_get_str(id, "text_encoder"), now->text_encoder);
    char a[64], b[64];
    static const char *const keys[] = {"sampler", "schedule", "steps", "shift", "guidance",
                                       "seed", "tp"};
    const struct sf_render_identity *x = now;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        num_str(id, keys[k], a, sizeof a);
        switch (k) {
        case 0: snprintf(b, sizeof b, "%s", x->sampler); break;
        case 1: snprintf(b, sizeof b, "%s", x->schedule); break;
        case 2: snprintf(b, sizeof b, "%.17g", (double)x->steps); break;
        case 3: snprintf(b, sizeof b, "%.17g", x->shift); break;
        case 4: snprintf(b, sizeof b, "%.17g", x->guidance); break;
        case 5: snprintf(b, sizeof b, "%.17g", (double)x->seed); break;
        default: snprintf(b, sizeof b, "%.17g", (double)x->tp); break;
        }
        char what[32];
        snprintf(what, sizeof what, "%s%s", k == 5 ? "campaign " : k == 6 || k == 0 ? "" : "sampler ",
                 keys[k]);
        differs(why, n, what, a, b);
    }
    /* a manifest from before --cfg-parallel has no guidance_passes: it was batched */
    const char *gp = sf_json_get_str(id, "guidance_passes");
    differs(why, n, "guidance_passes", gp ? gp : sf_render_guidance_mode(0), now->guidance_passes);
}

/* ---- the launch history --------------------------------------------------------------------- */

#define MAX_RUNNING 4096

struct launch {
    int attempt, ended;
    int n_running;
    char *running[MAX_RUNNING]; /* units dispatched and not ended when the launch stopped */
    char *keys[MAX_RUNNING];
    int ranks[MAX_RUNNING]; /* ranks it was sent to: the group (denoise) or its leader */
};

struct history {
    struct launch *v;
    int n, cap;
};

static void drop_running(struct launch *l, const char *unit)
{
    for (int i = 0; i < l->n_running; i++)
        if (strcmp(l->running[i], unit) == 0) {
            free(l->running[i]);
            free(l->keys[i]);
            l->running[i] = l->running[--l->n_running];
            l->keys[i] = l->keys[l->n_running];
            l->ranks[i] = l->ranks[l->n_running];
            return;
        }
}

static int on_event(void *arg, const struct sf_json *ev)
{
    struct history *h = arg;
    const char *what = sf_json_get_str(ev, "event"), *unit = sf_json_get_str(ev, "unit");
    if (!what) return SF_OK;
    if (strcmp(what, "run") == 0) {
        if (h->n == h->cap) {
            int nc = h->cap ? 2 * h->cap : 8;
            struct launch *nv = realloc(h->v, (size_t)nc * sizeof *nv);
            if (!nv) return SF_E_NOMEM;
            h->v = nv, h->cap = nc;
        }
        struct launch *l = &h->v[h->n++];
        memset(l, 0, sizeof *l);
        int64_t a = h->n;
        sf_json_get_int(ev, "attempt", &a);
        l->attempt = (int)a;
        return SF_OK;
    }
    if (!h->n) return SF_OK; /* a run directory from before launches were recorded */
    struct launch *l = &h->v[h->n - 1];
    if (strcmp(what, "run_end") == 0) {
        l->ended = 1;
    } else if (unit && strcmp(what, "dispatched") == 0) {
        const char *key = sf_json_get_str(ev, "key");
        int64_t ranks = 1;
        sf_json_get_int(ev, "ranks", &ranks);
        drop_running(l, unit);
        l->ranks[l->n_running] = (int)ranks;
        if (l->n_running < MAX_RUNNING) {
            l->running[l->n_running] = strdup(unit);
            l->keys[l->n_running] = strdup(key ? key : "");
            if (!l->running[l->n_running] || !l->keys[l->n_running]) return SF_E_NOMEM;
            l->n_running++;
        }
    } else if (unit && (strcmp(what, "finished") == 0 || strcmp(what, "failed") == 0 ||
                        strcmp(what, "interrupted") == 0)) {
        drop_running(l, unit);
    }
    return SF_OK;
}

static void history_fini(struct history *h)
{
    for (int i = 0; i < h->n; i++)
        for (int k = 0; k < h->v[i].n_running; k++) {
            free(h->v[i].running[k]);
            free(h->v[i].keys[k]);
        }
    free(h->v);
}

/* How many ranks recorded a signal while running `unit` in launch `attempt`. */
static int signalled(const char *rundir, int attempt, const char *unit)
{
    char dir[SF_RENDER_PATH_MAX + 16], prefix[32];
    snprintf(dir, sizeof dir, "%s/signals", rundir);
    snprintf(prefix, sizeof prefix, "%d.", attempt);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        char p[SF_RENDER_PATH_MAX + 300], line[256];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        int hit = 0;
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = '\0';
            char *sp = strrchr(line, ' '); /* "UNIT SIGNO" */
            if (sp) *sp = '\0';
            hit |= strcmp(line, unit) == 0;
        }
        fclose(f);
        n += hit;
    }
    closedir(d);
    return n;
}

/* Temporary files of writes that a death interrupted (io/sf_file.h names them NAME.tmp.PID.N,
 * shot files NAME.tmp.PID): garbage once no render holds the directory, which rank 0's lock on
 * RUNDIR/.lock guarantees here. The shared cache is left alone: other renders may be writing. */
static void sweep_temporaries(const char *rundir)
{
    static const char *const dirs[] = {"",     "/ckpt",       "/latents",  "/shots",
                                       "/out", "/out/.units", "/out/shots"};
    for (size_t k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
        char dir[SF_RENDER_PATH_MAX + 16];
        snprintf(dir, sizeof dir, "%s%s", rundir, dirs[k]);
        DIR *d = opendir(dir);
        if (!d) continue;
        for (struct dirent *e; (e = readdir(d));) {
            if (!strstr(e->d_name, ".tmp.")) continue;
            char p[SF_RENDER_PATH_MAX + 300];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (sf_file_is_regular(p) && unlink(p) == 0)
                SF_INFO("render", "%s: removed (a write that an earlier launch did not finish)",
                        p);
        }
        closedir(d);
    }
}

int sf_render_resume_plan(const struct sf_render_setup *s, const struct sf_render_identity *id,
                          const struct sf_render_resume_opts *o, struct sf_render_resume *r)
{
    int st = SF_OK;
    char path[SF_RENDER_PATH_MAX + 32], *text = NULL;
    size_t len = 0;
    struct sf_json_doc *doc = NULL;
    struct history h = {0};
    memset(r, 0, sizeof *r);
    r->attempt = 1;
    r->reuse = calloc((size_t)s->n_jobs + 1, 1);
    r->poisoned = calloc((size_t)s->n_jobs + 1, 1);
    r->failures = calloc((size_t)s->n_jobs + 1, sizeof *r->failures);
    r->suspect = calloc((size_t)s->n_jobs + 1, 1);
    if (!r->reuse || !r->poisoned || !r->failures || !r->suspect) return SF_E_NOMEM;

    snprintf(path, sizeof path, "%s/manifest.json", s->rundir);
    st = sf_file_is_regular(path) ? sf_file_read_all(path, MAX_JSON, &text, &len)
                                  : SF_E_NOTFOUND;
    if (st == SF_E_NOTFOUND) {
        if (!o->require) return SF_OK; /* a fresh run */
        SF_ERROR("render",
                 "%s: nothing to resume (no manifest.json there); drop --resume to start a "
                 "new render, or give the run directory of an earlier render",
                 s->rundir);
        return SF_E_USAGE;
    }
    if (st) return st;
    char err[160];
    if (!(doc = sf_json_parse(text, len, err, sizeof err)) ||
        !sf_json_get(sf_json_root(doc), "identity")) {
        if (o->force) { /* render it again from scratch: nothing of it can be trusted */
            SF_WARN("render", "%s: %s; --force: every unit is rendered again", path,
                    doc ? "no `identity` object (an older shotfarm's run)" : err);
            sweep_temporaries(s->rundir);
            for (int i = 0; i < s->n_jobs; i++)
                if (s->jobs[i].kind->run) sf_render_remove_output(&s->jobs[i]);
            goto out;
        }
        SF_ERROR("render",
                 "%s: %s; it is not a manifest this version can resume from: pass --force to "
                 "render the directory again from scratch, or render into a new -o directory",
                 path, doc ? "no `identity` object (an older shotfarm's run)" : err);
        st = SF_E_USAGE;
        goto out;
    }
    const struct sf_json *old = sf_json_root(doc);
    r->resumed = 1;
    sweep_temporaries(s->rundir);
    int64_t attempt = 0;
    sf_json_get_int(old, "attempt", &attempt);
    char why[1024];
    compare_identity(old, id, why, sizeof why);
    if (why[0] && !o->force) {
        SF_ERROR("render",
                 "%s was rendered with other settings: %s; pass --force to re-render what they "
                 "change, or render into a new -o directory",
                 s->rundir, why);
        st = SF_E_USAGE;
        goto out;
    }
    if (why[0]) SF_WARN("render", "--force: %s; the units they change are rendered again", why);

    /* the launches so far */
    snprintf(path, sizeof path, "%s/events.jsonl", s->rundir);
    st = sf_render_events_each(path, on_event, &h);
    if (st == SF_E_NOTFOUND) st = SF_OK;
    if (st) goto out;
    for (int i = 0; i < h.n; i++)
        if (h.v[i].attempt > attempt) attempt = h.v[i].attempt;
    r->attempt = (int)attempt + 1;

    const struct sf_json *units = sf_json_get(old, "units");
    for (int i = 0; i < s->n_jobs; i++) {
        const struct sf_render_job *j = &s->jobs[i];
        if (!j->kind->run) continue; /* planned, not rendered */
        /* an unchanged campaign lists its units in the same order: look at index i first, so
         * resuming 4 400 units is not 19 million string compares */
        const char *old_key = NULL;
        const size_t n_old = units && units->type == SF_JSON_ARRAY ? units->n : 0;
        for (size_t q = 0; q < n_old && !old_key; q++) {
            const struct sf_json *x = units->items[((size_t)i + q) % n_old];
            const char *nm = sf_json_get_str(x, "name");
            if (nm && strcmp(nm, j->name) == 0) old_key = sf_json_get_str(x, "key");
        }
        int same = old_key && strcmp(old_key, j->key) == 0;
        if (same && j->kind->output_ok && j->kind->output_ok(j)) {
            r->reuse[i] = 1;
            continue;
        }
        sf_render_remove_output(j); /* its kind knows (text files are keyed by content) */
        /* deaths: consecutive launches that died with the unit running, not all by signal */
        int streak = 0;
        for (int a = 0; a < h.n; a++) {
            const struct launch *l = &h.v[a];
            int charged = 0;
            for (int k = 0; k < l->n_running && !l->ended; k++)
                if (strcmp(l->running[k], j->name) == 0 && strcmp(l->keys[k], j->key) == 0)
                    charged = signalled(s->rundir, l->attempt, j->name) < l->ranks[k];
            streak = charged ? streak + 1 : 0;
            r->suspect[i] = (unsigned char)charged; /* of the last launch, in the end */
            if (streak == 2) {
                r->failures[i]++;
                streak = 0;
            }
        }
        r->poisoned[i] = r->failures[i] > o->max_retries;
    }
out:
    history_fini(&h);
    sf_json_free(doc);
    free(text);
    return st;
}

void sf_render_resume_fini(struct sf_render_resume *r)
{
    free(r->reuse);
    free(r->poisoned);
    free(r->failures);
    free(r->suspect);
    memset(r, 0, sizeof *r);
}
