/* render_work.c — what a worker group does with one render job (sf_render.h): encode a prompt
 * into the shared cache, denoise one shot x take x aspect into RUNDIR/latents/, decode a latent
 * into a lossless shot file in RUNDIR/shots/. Called by the worker loop of cmd_render.c on the
 * main thread of every rank, which is therefore the one thread that makes HDF5 calls. In a
 * tensor-parallel group (tp > 1) every rank of the group runs each denoise job with its shard of
 * the DiT (the same calls, the same bits out); only the leader (group rank 0) reports progress
 * and writes the latent, and only the leader is given text and decode jobs.
 * The subtle thing is determinism: the initial noise of a latent plane is keyed by (shot seed +
 * take | aspect, latent frame, channel) and the position inside the plane (sf_rng.h), never by a
 * stream, so a job gives the same bits on any group, in any order. Model parts load on first use
 * and stay; one that fails to load fails every job that needs it with the same cause. */
#define _POSIX_C_SOURCE 200809L
#include "sf_render.h"
#include "sf_ckpt.h"
#include "sf_comm.h"
#include "sf_denoise.h"
#include "sf_dit.h"
#include "sf_h5pack.h"
#include "sf_log.h"
#include "sf_rng.h"
#include "sf_safetensors.h"
#include "sf_sampler.h"
#include "sf_shot_file.h"
#include "sf_status.h"
#include "sf_tokenizer.h"
#include "sf_umt5.h"
#include "sf_vae.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A model part loaded on first use; a failed load is remembered with its cause. */
struct part {
    void *p;
    int st; /* SF_OK until a load failed */
    char cause[512];
};

struct sf_render_worker {
    const struct sf_render_setup *s;
    struct sf_comm *comm; /* the group (tp > 1) or NULL */
    int leader;           /* group rank 0: reports and writes */
    struct part dit, umt5, vae, tok;
};

const char *sf_job_kind_name(enum sf_job_kind k)
{
    static const char *names[] = {"text", "denoise", "decode", "skip"};
    return (unsigned)k <= SF_JOB_SKIP ? names[k] : "?";
}

const char *sf_render_guidance_mode(void)
{
    return SF_DENOISE_GUIDANCE_MODE;
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

int sf_render_worker_create(const struct sf_render_setup *s, struct sf_comm *group,
                            struct sf_render_worker **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return SF_E_NOMEM;
    (*out)->s = s;
    (*out)->comm = group && group->size > 1 ? group : NULL;
    (*out)->leader = !group || group->rank == 0;
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

/* Loads a part once: remembers the first error line of a failed load and repeats it (so every
 * job that needs the part reports the cause) without loading again. */
static int part_ready(struct part *p, int st)
{
    if (st != SF_OK) {
        p->st = st;
        snprintf(p->cause, sizeof p->cause, "%s", sf_log_first_error());
    }
    return st;
}

static int part_failed(const struct part *p)
{
    if (p->st == SF_OK) return SF_OK;
    SF_ERROR("render", "%s", p->cause);
    return p->st;
}

/* ---- text ------------------------------------------------------------------------------ */

static int run_text(struct sf_render_worker *w, const struct sf_render_job *j)
{
    int st = SF_OK;
    int32_t *ids = NULL;
    int64_t *ids64 = NULL;
    float *states = NULL;
    if (access(j->out, R_OK) == 0) {
        struct sf_st *c = NULL;
        if (sf_st_open(j->out, &c) == SF_OK && sf_st_find(c, "context")) {
            sf_st_close(c);
            SF_INFO("render", "%s: cached (%s)", j->name, j->out);
            return SF_OK;
        }
        sf_st_close(c);
        SF_WARN("render", "%s: unreadable cache entry, encoding again", j->out);
    }
    SF_TRY(st, part_failed(&w->tok));
    SF_TRY(st, part_failed(&w->umt5));
    if (!w->tok.p)
        SF_TRY(st, part_ready(&w->tok, sf_tokenizer_load(w->s->tokenizer,
                                                         (struct sf_tokenizer **)&w->tok.p)));
    if (!w->umt5.p)
        SF_TRY(st,
               part_ready(&w->umt5, sf_umt5_load(w->s->model_dir, (struct sf_umt5 **)&w->umt5.p)));
    const int max_len = w->s->text_len;
    ids = malloc((size_t)max_len * sizeof *ids);
    ids64 = malloc((size_t)max_len * sizeof *ids64);
    if (!ids || !ids64) {
        st = SF_E_NOMEM;
        goto out;
    }
    size_t n = 0;
    SF_TRY(st, sf_tokenizer_encode_prompt(w->tok.p, j->prompt, strlen(j->prompt), j->name, 1,
                                          max_len, 0, ids, &n));
    for (size_t i = 0; i < n; i++)
        ids64[i] = ids[i];
    const int d = sf_umt5_get_config(w->umt5.p)->d_model;
    states = malloc(n * (size_t)d * sizeof *states);
    if (!states) {
        st = SF_E_NOMEM;
        goto out;
    }
    SF_TRY(st, sf_umt5_encode(w->umt5.p, ids64, (int64_t)n, states));
    SF_TRY(st, sf_render_mkdirs(j->out, 1));
    struct sf_st_desc desc = {.name = "context",
                              .dtype = SF_DTYPE_F32,
                              .n_dims = 2,
                              .shape = {(int64_t)n, d},
                              .data = states};
    const char *meta[] = {"producer", "shotfarm render", "text_encoder_key", w->s->text_key};
    SF_TRY(st, sf_st_write(j->out, &desc, 1, meta, 2, NULL, NULL));
out:
    free(ids);
    free(ids64);
    free(states);
    return st;
}

/* ---- denoise --------------------------------------------------------------------------- */

/* A cached encoding (rows, text_dim) that fits the DiT: text_dim columns, at most text_len rows. */
static int read_context(const char *path, const struct sf_dit_config *cfg, float **out,
                        int64_t *rows)
{
    int st = SF_OK;
    struct sf_st *c = NULL;
    *out = NULL;
    SF_TRY(st, sf_st_open(path, &c));
    const struct sf_st_tensor *t = sf_st_find(c, "context");
    if (!t || t->n_dims != 2 || t->shape[1] != cfg->text_dim || t->shape[0] > cfg->text_len) {
        SF_ERROR("render",
                 "%s: no (rows <= %d, %d) tensor `context` for this DiT; the text encoder and "
                 "the DiT of the model directory disagree on text_dim, or the file is damaged "
                 "(delete it to encode the prompt again)",
                 path, cfg->text_len, cfg->text_dim);
        st = SF_E_FORMAT;
        goto out;
    }
    *rows = t->shape[0];
    *out = malloc((t->n_elems ? t->n_elems : 1) * sizeof **out);
    if (!*out) {
        st = SF_E_NOMEM;
        goto out;
    }
    SF_TRY(st, sf_st_read_all(t, SF_DTYPE_F32, *out, t->n_elems * sizeof **out));
out:
    sf_st_close(c);
    return st;
}

/* ---- fault injection (tests only; docs/testing.md § fault) --------------------------------- */

static long env_long(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : 0;
}

/* SF_FAULT_CRASH_UNIT / SF_FAULT_STALL_UNIT: this unit's name contains the variable's value. */
static int fault_unit(const char *name, const char *unit)
{
    const char *v = getenv(name);
    return v && *v && strstr(unit, v);
}

static void kill_self(const char *path)
{
    SF_WARN("render", "SF_FAULT_KILL_CKPT: killed inside the write of %s", path);
    raise(SIGKILL);
}

/* ---- denoise --------------------------------------------------------------------------- */

struct progress {
    struct sf_render_worker *w;
    const struct sf_render_job *j;
    const struct sf_render_report *r; /* never NULL */
    struct sf_ckpt_meta meta;
    int last_ckpt;      /* step of the newest checkpoint */
    double last_ckpt_t; /* when it was written (or the unit started) */
    long delay_ms;      /* SF_FAULT_STEP_DELAY_MS */
};

static int write_ckpt(struct progress *p, const struct sf_sampler *s)
{
    static long n_written; /* this process's checkpoints, for SF_FAULT_KILL_CKPT */
    char path[SF_RENDER_PATH_MAX + 64];
    int st = sf_render_mkdirs(p->w->s->ckpt_dir, 0);
    if (st) return st;
    if (++n_written == env_long("SF_FAULT_KILL_CKPT")) sf_h5pack_set_publish_hook(kill_self);
    st = sf_ckpt_write(p->w->s->ckpt_dir, p->j->stem, s, &p->meta, path, sizeof path);
    sf_h5pack_set_publish_hook(NULL);
    if (st) return st;
    p->last_ckpt = s->step;
    p->last_ckpt_t = sf_time_now();
    if (p->r->checkpoint) p->r->checkpoint(p->r->arg, s->step, path);
    return SF_OK;
}

/* After each step: progress, then the group agrees whether to stop, then the leader writes a
 * checkpoint when one is due or the group stops, and the group learns whether that worked (a
 * failed write on the leader must not leave the others waiting in the next step's collective). */
static int on_step(void *arg, const struct sf_sampler *s, double t)
{
    (void)t;
    struct progress *p = arg;
    const struct sf_render_setup *su = p->w->s;
    if (p->delay_ms > 0) {
        struct timespec ts = {p->delay_ms / 1000, (p->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (p->r->step) p->r->step(p->r->arg, s->step, s->n_steps);
    if (sf_sampler_done(s)) return SF_OK; /* the latent is published next: nothing to save */
    double stop = p->r->stop ? p->r->stop(p->r->arg) != 0 : 0;
    int st = p->w->comm ? sf_comm_allreduce_sum_f64(p->w->comm, &stop, 1) : SF_OK;
    if (st) return st;
    if (p->w->leader) {
        int due = su->ckpt_steps > 0 ? s->step - p->last_ckpt >= su->ckpt_steps
                                     : sf_time_now() - p->last_ckpt_t >= su->ckpt_seconds;
        if ((due || stop > 0) && p->last_ckpt != s->step) st = write_ckpt(p, s);
    }
    if (p->w->comm) {
        double failed = st != SF_OK;
        int cs = sf_comm_allreduce_sum_f64(p->w->comm, &failed, 1);
        if (cs) return cs;
        if (failed > 0 && st == SF_OK) {
            SF_ERROR("render", "%s: the group leader could not write its checkpoint",
                     p->j->name);
            st = SF_E_IO;
        }
    }
    if (st) return st;
    return stop > 0 ? SF_E_INTERRUPTED : SF_OK;
}

/* A group of several ranks starts from the leader's state: the leader found (or did not find)
 * the checkpoint; the others receive its step and, when resumed, every state field. */
static int share_state(struct sf_render_worker *w, struct sf_sampler *s)
{
    int32_t step = s->step;
    int st = sf_comm_broadcast(w->comm, &step, sizeof step, 0);
    if (st || step == 0) return st;
    struct sf_sampler_field f[SF_SAMPLER_MAX_FIELDS];
    const int nf = sf_sampler_fields(s, f);
    for (int i = SF_SAMPLER_N_CONFIG; i < nf && st == SF_OK; i++) {
        size_t bytes = sf_dtype_size(f[i].dtype);
        for (int k = 0; k < f[i].ndim; k++)
            bytes *= (size_t)f[i].shape[k];
        st = sf_comm_broadcast(w->comm, f[i].data, bytes, 0);
    }
    return st;
}

static int run_denoise(struct sf_render_worker *w, const struct sf_render_job *j,
                       const struct sf_render_report *r)
{
    int st = SF_OK;
    float *ctx = NULL, *neg = NULL, *noise = NULL;
    struct sf_sampler *s = NULL;
    int64_t ctx_rows = 0, neg_rows = 0;
    const struct sf_render_job *tj = &w->s->jobs[j->text_job], *nj = &w->s->jobs[j->neg_job];
    SF_TRY(st, part_failed(&w->dit));
    if (!w->dit.p) {
        struct sf_dit_opts o = {
            .max_latent = {w->s->max_latent[0], w->s->max_latent[1], w->s->max_latent[2]},
            .max_batch = 2,
            .comm = w->comm};
        SF_TRY(st,
               part_ready(&w->dit, sf_dit_load(w->s->model_dir, &o, (struct sf_dit **)&w->dit.p)));
    }
    const struct sf_dit_config *cfg = sf_dit_get_config(w->dit.p);
    SF_TRY(st, read_context(tj->out, cfg, &ctx, &ctx_rows));
    SF_TRY(st, read_context(nj->out, cfg, &neg, &neg_rows));
    const int64_t T = j->latent[0], H = j->latent[1], W = j->latent[2], plane = H * W;
    const int64_t n = (int64_t)cfg->in_dim * T * plane;
    noise = malloc((size_t)n * sizeof *noise);
    if (!noise) {
        st = SF_E_NOMEM;
        goto out;
    }
    for (int c = 0; c < cfg->in_dim; c++)
        for (int64_t f = 0; f < T; f++) {
            struct sf_rng rng;
            const uint64_t ids[3] = {(uint64_t)j->aspect, (uint64_t)f, (uint64_t)c};
            sf_rng_init(&rng, j->seed, ids, 3);
            sf_rng_normal(&rng, 0, noise + ((size_t)c * T + f) * plane, (size_t)plane);
        }
    SF_TRY(st,
           sf_sampler_create((enum sf_sampler_kind)j->sampler, (enum sf_schedule_kind)j->schedule,
                             j->steps, j->shift, j->guidance, n, noise, &s));
    struct progress p = {.w = w,
                         .j = j,
                         .r = r,
                         .meta = {.unit = j->name,
                                  .key = j->key,
                                  .model = w->s->dit_key,
                                  .seed = j->seed,
                                  .aspect = j->aspect,
                                  .shape = {cfg->in_dim, T, H, W}},
                         .last_ckpt_t = sf_time_now(),
                         .delay_ms = env_long("SF_FAULT_STEP_DELAY_MS")};
    char from[SF_RENDER_PATH_MAX + 64] = "";
    if (w->leader) {
        int ls = sf_ckpt_load_latest(w->s->ckpt_dir, j->stem, &p.meta, s, from, sizeof from);
        if (ls != SF_OK && ls != SF_E_NOTFOUND) SF_TRY(st, ls);
        sf_log_error_mark(); /* a checkpoint skipped for an older one is not this unit's cause */
    }
    if (w->comm) SF_TRY(st, share_state(w, s));
    p.last_ckpt = s->step;
    if (r->started) r->started(r->arg, s->step, s->n_steps, from[0] ? from : NULL);
    if (fault_unit("SF_FAULT_CRASH_UNIT", j->name)) {
        SF_WARN("render", "SF_FAULT_CRASH_UNIT: %s crashes its rank", j->name);
        raise(SIGKILL);
    }
    while (fault_unit("SF_FAULT_STALL_UNIT", j->name))
        sleep(1);
    const int64_t thw[3] = {T, H, W};
    SF_TRY(st, sf_denoise_run(w->dit.p, s, thw, ctx, ctx_rows, neg, neg_rows, -1, on_step, &p));
    if (!w->leader) goto out; /* the leader holds the same bits and writes them */
    SF_TRY(st, sf_render_mkdirs(j->out, 1));
    struct sf_h5_array a = {.name = "latent",
                            .dtype = SF_DTYPE_F32,
                            .ndim = 4,
                            .shape = {cfg->in_dim, T, H, W},
                            .data = sf_sampler_sample(s)};
    struct sf_h5_attr at[] = {
        {.name = "unit", .type = SF_H5_STRING, .s = j->name},
        {.name = "seed", .type = SF_H5_INT, .i = j->seed},
        {.name = "steps", .type = SF_H5_INT, .i = j->steps},
        {.name = "sampler", .type = SF_H5_STRING, .s = sf_sampler_kind_name(j->sampler)},
        {.name = "schedule", .type = SF_H5_STRING, .s = sf_schedule_kind_name(j->schedule)},
        {.name = "shift", .type = SF_H5_DOUBLE, .d = j->shift},
        {.name = "guidance", .type = SF_H5_DOUBLE, .d = j->guidance},
        {.name = "normalized", .type = SF_H5_INT, .i = 1},
        {.name = "key", .type = SF_H5_STRING, .s = j->key},
    };
    SF_TRY(st, sf_h5pack_write(j->out, &a, 1, at, (int)(sizeof at / sizeof at[0])));
    /* published: its checkpoints are history (a failure here costs disk, not the result) */
    if (sf_ckpt_remove_all(w->s->ckpt_dir, j->stem) != SF_OK)
        SF_WARN("render", "%s: could not remove its checkpoints from %s", j->name,
                w->s->ckpt_dir);
out:
    free(ctx);
    free(neg);
    free(noise);
    sf_sampler_destroy(s);
    return st;
}

/* ---- decode ---------------------------------------------------------------------------- */

struct emit_ctx {
    struct sf_shot_file *f;
    uint8_t *rgb;
    const struct sf_render_report *r;
    int64_t done, total; /* frames */
};

/* x (3, n, H, W) in [-1, 1] -> RGB24 frames, with the reference pipeline's mapping
 * round((x / 2 + 0.5).clamp(0, 1) * 255). */
static int emit_frames(void *ctx, const float *x, int64_t frame0, int64_t n_frames, int64_t H,
                       int64_t W)
{
    (void)frame0;
    struct emit_ctx *e = ctx;
    const int64_t plane = H * W;
    for (int64_t f = 0; f < n_frames; f++) {
        for (int64_t i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++) {
                float v = x[((size_t)c * n_frames + f) * plane + i] * 0.5f + 0.5f;
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                e->rgb[3 * i + c] = (uint8_t)lrintf(v * 255.0f);
            }
        int st = sf_shot_file_write(e->f, e->rgb);
        if (st != SF_OK) {
            e->f = NULL; /* aborted by the writer */
            return st;
        }
    }
    e->done += n_frames; /* progress per chunk: what the stall timeout watches */
    if (e->r && e->r->step) e->r->step(e->r->arg, (int)e->done, (int)e->total);
    return SF_OK;
}

static int run_decode(struct sf_render_worker *w, const struct sf_render_job *j,
                      const struct sf_render_report *r)
{
    int st = SF_OK;
    const struct sf_render_job *dj = &w->s->jobs[j->denoise_job];
    struct sf_h5pack *pk = NULL;
    float *z = NULL;
    struct emit_ctx e = {.r = r, .total = 4 * (dj->latent[0] - 1) + 1};
    SF_TRY(st, part_failed(&w->vae));
    if (!w->vae.p)
        SF_TRY(st, part_ready(&w->vae, sf_vae_load(w->s->model_dir, (struct sf_vae **)&w->vae.p)));
    const int64_t T = dj->latent[0], H = dj->latent[1], W = dj->latent[2];
    const int zc = sf_vae_config_of(w->vae.p)->z_dim;
    const size_t n = (size_t)zc * T * H * W;
    z = malloc(n * sizeof *z);
    e.rgb = malloc((size_t)H * W * 64 * 3);
    if (!z || !e.rgb) {
        st = SF_E_NOMEM;
        goto out;
    }
    SF_TRY(st, sf_h5pack_open(dj->out, &pk));
    SF_TRY(st, sf_h5pack_read(pk, "latent", SF_DTYPE_F32, z, n * sizeof *z));
    sf_vae_denormalize(w->vae.p, z, T, H, W);
    SF_TRY(st, sf_render_mkdirs(j->out, 1));
    SF_TRY(st, sf_shot_file_open(j->out, (int)W * 8, (int)H * 8, 16, 1, &e.f));
    SF_TRY(st, sf_vae_decode(w->vae.p, z, T, H, W, NULL, emit_frames, &e));
    st = sf_shot_file_commit(e.f);
    e.f = NULL;
out:
    sf_shot_file_abort(e.f);
    sf_h5pack_close(pk);
    free(z);
    free(e.rgb);
    return st;
}

int sf_render_job_run(struct sf_render_worker *w, int j, const struct sf_render_report *r)
{
    static const struct sf_render_report none;
    const struct sf_render_job *job = &w->s->jobs[j];
    if (!r) r = &none;
    sf_log_error_mark();
    SF_ASSERT(w->leader || job->kind == SF_JOB_DENOISE);
    if (job->kind != SF_JOB_DENOISE && r->started) r->started(r->arg, 0, 0, NULL);
    int st = SF_OK;
    switch (job->kind) {
    case SF_JOB_TEXT:
        st = run_text(w, job);
        break;
    case SF_JOB_DENOISE:
        st = run_denoise(w, job, r);
        break;
    case SF_JOB_DECODE:
        st = run_decode(w, job, r);
        break;
    default:
        break;
    }
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
