/* units.c — the registry of unit kinds (sf_unit.h) and what every kind's run shares: the worker
 * of one rank or CPU lane (sf_render.h) with the model parts it loads once, and the one entry
 * point that runs a job. Called by plan.c (the kinds in order), render_plan.c (prepare),
 * render_worker.c (run), render_resume.c (output_ok, remove_output).
 * The subtle thing: the registry's order is the plan's order, and a kind may depend only on the
 * units of kinds before it, so dependencies always have lower indices than their dependents. */
#define _POSIX_C_SOURCE 200809L
#include "sf_render.h"
#include "sf_comm.h"
#include "sf_denoise.h"
#include "sf_dit.h"
#include "sf_h5pack.h"
#include "sf_log.h"
#include "sf_status.h"
#include "sf_tokenizer.h"
#include "sf_umt5.h"
#include "sf_unit.h"
#include "sf_vae.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the registry ------------------------------------------------------------------------ */

#define MAX_KINDS 32

static const struct sf_unit_kind *kinds[MAX_KINDS] = {
    &sf_unit_text,   &sf_unit_identity, &sf_unit_denoise,
    &sf_unit_decode, &sf_unit_sound,    &sf_unit_assemble, &sf_unit_master,
    &sf_unit_timeline, &sf_unit_qc,     &sf_unit_contact,  &sf_unit_review,
};
static int n_kinds = 11;

int sf_unit_kind_count(void) { return n_kinds; }

const struct sf_unit_kind *sf_unit_kind_at(int i)
{
    SF_ASSERT(i >= 0 && i < n_kinds);
    return kinds[i];
}

const struct sf_unit_kind *sf_unit_kind_find(const char *name)
{
    for (int i = 0; i < n_kinds; i++)
        if (strcmp(kinds[i]->name, name) == 0) return kinds[i];
    return NULL;
}

int sf_unit_kind_register(const struct sf_unit_kind *k)
{
    if (!k || !k->name || sf_unit_kind_find(k->name) || n_kinds == MAX_KINDS) {
        SF_ERROR("units", "cannot register unit kind %s: %s", k && k->name ? k->name : "(null)",
                 n_kinds == MAX_KINDS ? "the table is full" : "no name, or the name is taken");
        return SF_E_INVAL;
    }
    kinds[n_kinds++] = k;
    return SF_OK;
}

/* ---- shared by the kinds ------------------------------------------------------------------ */

const char *sf_render_guidance_mode(int cfg_parallel)
{
    return cfg_parallel ? SF_DENOISE_GUIDANCE_SPLIT : SF_DENOISE_GUIDANCE_MODE;
}

int sf_render_mkdirs(const char *path, int dir_of_file)
{
    char buf[SF_RENDER_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    if (dir_of_file) {
        char *slash = strrchr(buf, '/');
        if (!slash) return SF_OK;
        *slash = '\0';
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                SF_ERROR("render",
                         "%s: cannot create the directory (%s); check the path and "
                         "its permissions",
                         buf, strerror(errno));
                return SF_E_IO;
            }
            *p = c;
            if (!c) break;
        }
    }
    return SF_OK;
}

/* Loads a part once: remembers the first error line of a failed load and repeats it (so every
 * job that needs the part reports the cause) without loading again. */
int sf_render_part_ready(struct sf_render_part *p, int st)
{
    if (st != SF_OK) {
        p->st = st;
        snprintf(p->cause, sizeof p->cause, "%s", sf_log_first_error());
    }
    return st;
}

int sf_render_h5_has_key(const char *path, const char *key)
{
    struct sf_h5pack *p = NULL;
    char got[2 * SF_SHA256_HEX];
    int ok = access(path, R_OK) == 0 && sf_h5pack_open(path, &p) == SF_OK &&
             sf_h5pack_attr_string(p, "key", got, sizeof got) == SF_OK && strcmp(got, key) == 0;
    sf_h5pack_close(p);
    return ok;
}

int sf_render_part_failed(const struct sf_render_part *p)
{
    if (p->st == SF_OK) return SF_OK;
    SF_ERROR("render", "%s", p->cause);
    return p->st;
}

/* ---- workers ------------------------------------------------------------------------------ */

int sf_render_worker_create(const struct sf_render_setup *s, struct sf_comm *group,
                            struct sf_render_worker **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return SF_E_NOMEM;
    (*out)->s = s;
    (*out)->comm = group && group->size > 1 ? group : NULL;
    (*out)->leader = !group || group->rank == 0;
    (*out)->gang.size = 1;
    return SF_OK;
}

void sf_render_worker_destroy(struct sf_render_worker *w)
{
    if (!w) return;
    sf_dit_destroy(w->dit.p);
    sf_umt5_destroy(w->umt5.p);
    sf_vae_destroy(w->vae.p);
    sf_tokenizer_destroy(w->tok.p);
    free(w);
}

int sf_render_job_run(struct sf_render_worker *w, int j, const struct sf_render_report *r)
{
    static const struct sf_render_report none;
    const struct sf_render_job *job = &w->s->jobs[j];
    if (!r) r = &none;
    sf_log_error_mark();
    SF_ASSERT(job->kind->run);
    SF_ASSERT(w->leader || job->kind->ranks == SF_UNIT_EVERY_RANK);
    /* a kind with progress steps reports its own start (it may continue from a checkpoint) */
    if (!job->steps && r->started) r->started(r->arg, 0, 0, NULL);
    int st = job->kind->run(w, job, r);
    if (st == SF_E_NOSPC) { /* the unit's cause says what to do, not only what failed */
        char what[512];
        snprintf(what, sizeof what, "%s", sf_log_first_error());
        sf_log_error_mark();
        SF_ERROR("render",
                 "%s: the disk is full (or a file-size limit was hit): %s; nothing was "
                 "published half-written and the last complete checkpoints are intact: free "
                 "space and run the same command again to resume",
                 job->name, what);
    }
    return st;
}

void sf_render_remove_output(const struct sf_render_job *j)
{
    if (j->kind->remove_output) {
        j->kind->remove_output(j);
        return;
    }
    char side[SF_RENDER_PATH_MAX + 16];
    snprintf(side, sizeof side, "%s.sha256", j->out);
    if (unlink(side) == 0) SF_INFO("render", "%s: removed: made for other inputs", side);
    if (unlink(j->out) == 0) SF_INFO("render", "%s: removed: made for other inputs", j->out);
}
