/* unit_denoise.c — the `denoise` unit kind (sf_unit.h): one shot x take x aspect, from noise to
 * the final latent in RUNDIR/latents/STEM.h5, on every rank of a worker group (the DiT is
 * sharded over a tensor-parallel group; only the leader reports and writes). It checkpoints the
 * whole sampler state to RUNDIR/ckpt/ (render_ckpt.c) and continues from the newest valid one.
 * The subtle thing is determinism: the initial noise of a latent plane is keyed by (shot seed +
 * take | aspect, latent frame, channel) and the position inside the plane (sf_rng.h), never by a
 * stream, so a unit gives the same bits on any group, in any order, after any restart. A shot
 * longer than the tier's `window` is denoised as overlapping windows (sf_denoise_run_windows,
 * docs/windows.md): the sampler state and checkpoints stay the whole latent's, the DiT sees one
 * window (plus the reference frames) at a time. */
#define _POSIX_C_SOURCE 200809L
#include "sf_ckpt.h"
#include "sf_comm.h"
#include "sf_cost.h"
#include "sf_cuda.h"
#include "sf_denoise.h"
#include "sf_dit.h"
#include "sf_h5pack.h"
#include "sf_hash.h"
#include "sf_log.h"
#include "sf_plan.h"
#include "sf_render.h"
#include "sf_safetensors.h"
#include "sf_sampler.h"
#include "sf_status.h"
#include "sf_umt5.h"
#include "sf_unit.h"
#include "sf_vace.h"
#include "sf_vace_frames.h"
#include "sf_vae.h"
#include "sf_window.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- plan ---------------------------------------------------------------------------------- */

/* Peak bytes per rank of a DiT pass on `tokens` tokens at tensor-parallel degree tp: weights
 * (the blocks' linear layers split over tp, the rest replicated) and the fp32 activations one
 * block keeps alive (residual, normed input, q/k/v and attention output of this rank's heads,
 * FFN hidden of this rank's columns, cross-attention k/v of the text). */
static double dit_mem(const struct sf_plan_model *m, double tokens, int tp)
{
    const struct sf_dit_config *d = &m->dit;
    double D = d->dim, F = d->ffn_dim;
    double sharded = d->n_layers * (8.0 * D * D + 2.0 * D * F);
    double total = sf_dit_config_params(d);
    double weights = m->weight_bytes_per_param * (sharded / tp + (total - sharded));
    double act = 4.0 * tokens * (3.0 * D + 4.0 * D / tp + F / tp) + 4.0 * 512 * (d->text_dim + 2.0 * D / tp);
    return weights + act;
}

/* Per shot, rendered aspect and take: guided steps of the DiT. Depends on the shot's prompt and
 * negative prompt text units (in that order: prepare reads them so), the identity units of
 * its elements, and for a `continues:` shot the decode unit of the continued shot's selected
 * take at the same aspect (added here, before this unit: sf_unit_decode_add). A VACE model runs
 * its VACE blocks on a latent one frame longer per reference (sf_cost_dit_forward counts the
 * blocks) and VAE-encodes the conditioning video twice (inactive and reactive halves) before
 * the first step. */
static int plan(struct sf_plan_builder *b)
{
    const struct sf_campaign *c = b->c;
    const struct sf_tier *tier = sf_campaign_tier(c, b->opt->tier);
    for (int si = 0; si < sf_campaign_n_shots(c); si++) {
        const struct sf_shot *s = sf_campaign_shot(c, si);
        const struct sf_sequence *seq = sf_campaign_sequence(c, s->sequence);
        int deps[SF_SCHED_MAX_DEPS], n_deps = 0, with_refs = 0;
        int tu = sf_plan_find_text(b, s->effective_prompt), nu = sf_plan_find_text(b, s->negative);
        SF_ASSERT(tu >= 0 && nu >= 0); /* the text kind comes first */
        deps[n_deps++] = tu;
        if (nu != tu) deps[n_deps++] = nu;
        for (int k = 0; k < s->n_elements; k++) {
            int id = sf_plan_find(b, &sf_unit_identity, -1, -1, -1, s->elements[k]);
            if (id >= 0 && n_deps < SF_SCHED_MAX_DEPS) {
                deps[n_deps++] = id;
                with_refs = 1;
            }
        }
        int pick_e[SF_UNIT_MAX_REFS], pick_r[SF_UNIT_MAX_REFS];
        const int n_refs =
            with_refs ? sf_unit_identity_pick(c, s, tier->max_refs, pick_e, pick_r) : 0;
        const int vace = b->m.dit.n_vace > 0;
        if (with_refs || s->first_frame || s->last_frame || s->continues)
            b->p->uses_references = 1;
        if (s->n_dialogue) b->p->has_dialogue = 1;
        for (int a = 0; a < SF_ASPECT_COUNT; a++) {
            if (!sf_plan_renders_aspect(c, s->sequence, a)) continue;
            int w, h;
            sf_campaign_tier_size(tier, (enum sf_aspect)a, &w, &h);
            int64_t lf = (s->frames - 1) / 4 + 1, lh = h / 8, lw = w / 8;
            struct sf_windows cut; /* the tier's window and overlap were validated */
            if (sf_windows_plan(lf, tier->window, tier->overlap, &cut) != SF_OK) return SF_E_INVAL;
            double tokens =
                (double)sf_cost_dit_tokens(&b->m.dit, cut.len + (vace ? n_refs : 0), lh, lw);
            struct sf_cost_dit cd = sf_cost_dit_forward(&b->m.dit, (int64_t)tokens, 512);
            cd.total *= cut.n; /* every window is one pass per branch and step */
            double mem = dit_mem(&b->m, tokens, b->opt->tp);
            double cond = vace ? 2 * sf_cost_vae_encode(b->m.vae_dim, lf, lh, lw) : 0;
            int n_all = n_deps;
            if (s->continues) { /* the continued take's decode, this aspect */
                const struct sf_shot *p = s->continues;
                int pd = sf_plan_find(b, &sf_unit_denoise,
                                      sf_campaign_sequence(c, p->sequence)->first_shot + p->index,
                                      p->selected_take, a, -1);
                SF_ASSERT(pd >= 0); /* an earlier shot of the same sequence: planned already */
                int dc = sf_unit_decode_add(b, pd);
                if (dc < 0) return SF_E_NOMEM;
                SF_ASSERT(n_all < SF_SCHED_MAX_DEPS);
                deps[n_all++] = dc;
            }
            for (int t = 0; t < s->takes; t++) {
                int dn = sf_plan_add(b, &sf_unit_denoise, s->sequence,
                                     cd.total * 2 * tier->steps, b->opt->hw->eff_dit, mem,
                                     deps, n_all, "%s/%s take %d %s denoise", seq->id, s->id,
                                     t + 1, sf_aspect_name((enum sf_aspect)a));
                if (dn < 0) return SF_E_NOMEM;
                struct sf_plan_unit *u = &b->p->units[dn];
                u->flops += cond; /* on the leader's VAE, at the VAE's efficiency */
                u->seconds += cond / (b->dev_flops * b->opt->hw->eff_vae);
                u->video_seconds = s->duration_ms / 1000.0;
                u->shot = si, u->take = t, u->aspect = a;
                if (cut.n > 1) { /* its windows on up to n groups at once (docs/windows.md), in
                                  * either guidance mode: n >= 2 ways beat 2 branches */
                    u->gang = cut.n < SF_UNIT_MAX_GANG ? cut.n : SF_UNIT_MAX_GANG;
                    u->elastic = 1;
                } else if (b->opt->cfg_parallel && tier->guidance != 1.0) { /* its 2 branches */
                    u->gang = 2; /* on up to 2 groups */
                    u->elastic = 1;
                }
            }
        }
    }
    return SF_OK;
}

/* ---- prepare ------------------------------------------------------------------------------- */

/* The known frames' part of a denoise key: each key art file's SHA-256 under its place, and the
 * continued take's decode key with the number of frames taken. Nothing when the shot has none. */
static int known_frames_key(const struct sf_render_setup *s, const struct sf_render_job *j,
                            struct sf_canon *cn)
{
    const char *files[2] = {j->first_frame, j->last_frame};
    static const char *const names[2] = {"first_frame", "last_frame"};
    for (int k = 0; k < 2; k++) {
        if (!files[k]) continue;
        uint8_t img[SF_SHA256_BYTES];
        int st = sf_sha256_file(files[k], img);
        if (st != SF_OK) {
            SF_ERROR("render", "%s: the %s of %s cannot be read; fix its path in the campaign",
                     files[k], names[k], j->shot_label);
            return st;
        }
        sf_canon_digest(cn, names[k], img);
    }
    if (j->continue_job >= 0) {
        sf_canon_str(cn, "continues", s->jobs[j->continue_job].key);
        sf_canon_int(cn, "continue_frames", j->continue_frames);
    }
    return SF_OK;
}

/* Sizes, sampler settings and inputs from the tier and the shot; the key covers every input of
 * the latent, including the tensor-parallel degree, which is part of the determinism domain
 * (docs/render.md § Determinism). */
static int prepare(struct sf_render_setup *s, struct sf_render_job *j,
                   const struct sf_plan_unit *u, const struct sf_campaign *c)
{
    const struct sf_shot *sh = sf_campaign_shot(c, u->shot);
    const struct sf_tier *t = sf_campaign_tier(c, (enum sf_tier_kind)s->tier);
    const int i = (int)(j - s->jobs);
    sf_campaign_tier_size(t, (enum sf_aspect)u->aspect, &j->width, &j->height);
    j->frames = sh->frames;
    j->latent[0] = (sh->frames - 1) / 4 + 1;
    j->latent[1] = j->height / 8;
    j->latent[2] = j->width / 8;
    /* the references: each pick's element has an identity job among the dependencies */
    int pick_e[SF_UNIT_MAX_REFS], pick_r[SF_UNIT_MAX_REFS];
    const int n_picks = sf_unit_identity_pick(c, sh, t->max_refs, pick_e, pick_r);
    j->n_refs = 0;
    for (int k = 0; k < n_picks; k++)
        for (int d = 0; d < s->sched[i].n_deps; d++) {
            const struct sf_render_job *dj = &s->jobs[s->sched[i].deps[d]];
            if (dj->kind == &sf_unit_identity && dj->element == pick_e[k]) {
                j->ref_job[j->n_refs] = s->sched[i].deps[d];
                j->ref_index[j->n_refs++] = pick_r[k];
                break;
            }
        }
    /* known frames: key art, and the continued take's decode (its only decode dependency) */
    j->first_frame = sh->first_frame;
    j->last_frame = sh->last_frame;
    j->continue_job = -1;
    j->continue_frames = sh->continue_frames;
    for (int d = 0; d < s->sched[i].n_deps; d++)
        if (s->jobs[s->sched[i].deps[d]].kind == &sf_unit_decode)
            j->continue_job = s->sched[i].deps[d];
    j->window = t->window;
    j->overlap = t->overlap;
    struct sf_windows cut;
    int st = sf_windows_plan(j->latent[0], j->window, j->overlap, &cut);
    if (st != SF_OK) return st;
    for (int k = 0; k < 3; k++) { /* the DiT sees one window and the references */
        int64_t v = (k == 0 ? cut.len : j->latent[k]) + (k == 0 ? j->n_refs : 0);
        if (v > s->max_latent[k]) s->max_latent[k] = v;
    }
    j->seed = sh->seed + (uint32_t)u->take;
    j->steps = t->steps;
    j->sampler = (int)t->sampler;
    j->schedule = (int)t->schedule;
    j->shift = t->shift;
    j->guidance = t->guidance;
    j->cfg_split = s->cfg_parallel;
    /* the plan lists the prompt's text unit first, then the negative's (when distinct) */
    j->text_job = s->sched[i].deps[0];
    j->neg_job = s->sched[i].n_deps > 1 && s->jobs[s->sched[i].deps[1]].kind == &sf_unit_text
                     ? s->sched[i].deps[1]
                     : j->text_job;
    snprintf(j->out, sizeof j->out, "%s/latents/%s.h5", s->rundir, j->stem);

    struct sf_canon cn;
    uint8_t d[SF_SHA256_BYTES];
    sf_canon_begin(&cn, "shotfarm.unit.denoise.v1");
    sf_canon_str(&cn, "dit", s->dit_key);
    sf_canon_str(&cn, "context", s->jobs[j->text_job].key);
    sf_canon_str(&cn, "negative", s->jobs[j->neg_job].key);
    sf_canon_int(&cn, "seed", j->seed);
    sf_canon_int(&cn, "aspect", j->aspect);
    sf_canon_list_begin(&cn, "latent", 3);
    for (int k = 0; k < 3; k++)
        sf_canon_int(&cn, NULL, j->latent[k]);
    sf_canon_list_end(&cn);
    sf_canon_int(&cn, "steps", j->steps);
    sf_canon_int(&cn, "sampler", j->sampler);
    sf_canon_int(&cn, "schedule", j->schedule);
    sf_canon_f64(&cn, "shift", j->shift);
    sf_canon_f64(&cn, "guidance", j->guidance);
    sf_canon_str(&cn, "guidance_passes", sf_render_guidance_mode(s->cfg_parallel));
    sf_canon_int(&cn, "tp", s->tp);
    if (j->n_refs) { /* absent without references: keys of shots without elements unchanged */
        sf_canon_list_begin(&cn, "references", (size_t)j->n_refs);
        for (int k = 0; k < j->n_refs; k++) {
            sf_canon_str(&cn, "bank", s->jobs[j->ref_job[k]].key);
            sf_canon_int(&cn, "ref", j->ref_index[k]);
        }
        sf_canon_list_end(&cn);
    }
    if (cut.n > 1) { /* absent for one window: keys of shorter shots unchanged */
        sf_canon_int(&cn, "window", j->window);
        sf_canon_int(&cn, "overlap", j->overlap);
    }
    st = known_frames_key(s, j, &cn); /* absent without: other keys unchanged */
    if (st != SF_OK) return st;
    sf_canon_end(&cn, d);
    sf_sha256_hex(d, j->key);
    return SF_OK;
}

/* ---- run ----------------------------------------------------------------------------------- */

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
    int st = sf_render_gang_sum(p->w, &stop); /* the group's and the gang's members' */
    if (st) return st;
    if (p->w->leader && p->w->gang.index == 0) { /* the gang's leader alone checkpoints */
        int due = su->ckpt_steps > 0 ? s->step - p->last_ckpt >= su->ckpt_steps
                                     : sf_time_now() - p->last_ckpt_t >= su->ckpt_seconds;
        if ((due || stop > 0) && p->last_ckpt != s->step) st = write_ckpt(p, s);
    }
    if (p->w->comm || p->w->gang.size > 1) {
        double failed = st != SF_OK;
        int cs = sf_render_gang_sum(p->w, &failed);
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
    int st = sf_render_gang_bcast(w, &step, sizeof step);
    if (st || step == 0) return st;
    struct sf_sampler_field f[SF_SAMPLER_MAX_FIELDS];
    const int nf = sf_sampler_fields(s, f);
    for (int i = SF_SAMPLER_N_CONFIG; i < nf && st == SF_OK; i++) {
        size_t bytes = sf_dtype_size(f[i].dtype);
        for (int k = 0; k < f[i].ndim; k++)
            bytes *= (size_t)f[i].shape[k];
        st = sf_render_gang_bcast(w, f[i].data, bytes);
    }
    return st;
}

/* The Wan2.1-VACE conditioning of job j into cond (sf_vace_cond_floats, the caller's), as
 * `forward denoise` builds it (docs/forward.md § VACE): the leader reads the references' bank
 * latents, builds the video and mask of the known frames (key art, the continued take's last
 * frames: sf_vace_frames.h; none: no video and no mask), VAE-encodes the video and sends the
 * result to the group. The group learns first whether the leader succeeded, so a failure leaves
 * nobody waiting in the broadcast. */
static int build_vace(struct sf_render_worker *w, const struct sf_render_job *j, float *cond)
{
    int st = SF_OK;
    float *ref_z = NULL, *video = NULL, *mask = NULL;
    const size_t zf = (size_t)16 * (size_t)(j->latent[1] * j->latent[2]);
    if (w->leader) {
        st = sf_vace_frames_build(j->continue_job >= 0 ? w->s->jobs[j->continue_job].out : NULL,
                                  j->continue_frames, j->first_frame, j->last_frame, j->frames,
                                  j->height, j->width, &video, &mask);
        ref_z = malloc((j->n_refs ? (size_t)j->n_refs : 1) * zf * sizeof *ref_z);
        if (st == SF_OK) st = ref_z ? sf_render_part_failed(&w->vae) : SF_E_NOMEM;
        if (st == SF_OK && !w->vae.p)
            st = sf_render_part_ready(&w->vae,
                                      sf_vae_load(w->s->model_dir, (struct sf_vae **)&w->vae.p));
        for (int k = 0; k < j->n_refs && st == SF_OK; k++)
            st = sf_unit_identity_read(&w->s->jobs[j->ref_job[k]], j->ref_index[k], j->width,
                                       j->height, ref_z + (size_t)k * zf);
        if (st == SF_OK)
            st = sf_vace_build_encoded(w->vae.p, j->frames, j->height, j->width, video, mask,
                                       ref_z, j->n_refs, cond);
        free(ref_z);
        free(video);
        free(mask);
    }
    if (!w->comm) return st;
    double failed = st != SF_OK;
    int cs = sf_comm_allreduce_sum_f64(w->comm, &failed, 1);
    if (cs) return cs;
    if (failed > 0) {
        if (st == SF_OK)
            SF_ERROR("render", "%s: the group leader could not build the VACE conditioning",
                     j->name);
        return st ? st : SF_E_IO;
    }
    return sf_comm_broadcast(w->comm, cond,
                             sf_vace_cond_floats(j->frames, j->height, j->width, j->n_refs) *
                                 sizeof *cond,
                             0);
}

static int run(struct sf_render_worker *w, const struct sf_render_job *j,
               const struct sf_render_report *r)
{
    int st = SF_OK;
    float *ctx = NULL, *neg = NULL, *noise = NULL, *cond = NULL, *video = NULL;
    struct sf_sampler *s = NULL;
    int64_t ctx_rows = 0, neg_rows = 0;
    const struct sf_render_job *tj = &w->s->jobs[j->text_job], *nj = &w->s->jobs[j->neg_job];
    SF_TRY(st, sf_render_part_failed(&w->dit));
    if (w->umt5.p) {
        /* Encode, release, then denoise: the text encoder (umT5-XXL, about 11 GB in bf16) is
         * not kept beside the DiT, as plan prices a denoise unit's memory. Text units are ready
         * from the start and ranked above the units that wait for them, so they mostly run
         * before any denoise; a later one loads the encoder again. */
        sf_umt5_destroy(w->umt5.p);
        w->umt5.p = NULL;
        SF_INFO("render", "released the text encoder before denoising");
    }
    if (!w->dit.p) {
        struct sf_dit_opts o = {
            .max_latent = {w->s->max_latent[0], w->s->max_latent[1], w->s->max_latent[2]},
            .max_batch = 2,
            .comm = w->comm};
        /* the automatic choice takes a GPU only for groups of one (no NCCL yet: issue 28) */
        const char *device = w->s->device;
        if (!device && w->comm && w->comm->size > 1) device = "cpu";
        SF_TRY(st, sf_render_part_ready(&w->dit, sf_backend_for_device(device, &o.backend)));
        SF_TRY(st,
               sf_render_part_ready(&w->dit, sf_dit_load(w->s->model_dir, &o, (struct sf_dit **)&w->dit.p)));
    }
    const struct sf_dit_config *cfg = sf_dit_get_config(w->dit.p);
    SF_TRY(st, read_context(tj->out, cfg, &ctx, &ctx_rows));
    SF_TRY(st, read_context(nj->out, cfg, &neg, &neg_rows));
    /* the video's latent frames, and with references the n_refs frames in front of them */
    const int nr = j->n_refs;
    const int64_t V = j->latent[0], T = nr + V, H = j->latent[1], W = j->latent[2], plane = H * W;
    const int64_t n = (int64_t)cfg->in_dim * T * plane;
    const int64_t thw[3] = {T, H, W};
    if ((nr || j->first_frame || j->last_frame || j->continue_job >= 0) && !cfg->n_vace) {
        /* render refuses such a campaign before anything runs */
        SF_ERROR("render", "%s: references, keyframes and continuation need a model with VACE "
                 "layers (shotfarm mkmodel --config tiny-vace, or a Wan2.1-VACE model)", j->name);
        st = SF_E_INVAL;
        goto out;
    }
    if (cfg->n_vace) {
        cond = malloc(sf_vace_cond_floats(j->frames, j->height, j->width, nr) * sizeof *cond);
        if (!cond) {
            st = SF_E_NOMEM;
            goto out;
        }
        SF_TRY(st, build_vace(w, j, cond));
        SF_TRY(st, sf_dit_set_vace(w->dit.p, cond, thw, NULL));
    }
    noise = malloc((size_t)n * sizeof *noise);
    if (!noise) {
        st = SF_E_NOMEM;
        goto out;
    }
    /* without references, the ids of every plain latent: (aspect, frame, channel) */
    sf_vace_noise(j->seed, (uint64_t)j->aspect, cfg->in_dim, nr, V, plane, noise);
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
    if (w->leader && w->gang.index == 0) { /* a gang's members get its state next */
        int ls = sf_ckpt_load_latest(w->s->ckpt_dir, j->stem, &p.meta, s, from, sizeof from);
        if (ls != SF_OK && ls != SF_E_NOTFOUND) SF_TRY(st, ls);
        sf_log_error_mark(); /* a checkpoint skipped for an older one is not this unit's cause */
    }
    if (w->comm || w->gang.size > 1) SF_TRY(st, share_state(w, s));
    p.last_ckpt = s->step;
    if (r->started) r->started(r->arg, s->step, s->n_steps, from[0] ? from : NULL);
    if (fault_unit("SF_FAULT_CRASH_UNIT", j->name)) {
        SF_WARN("render", "SF_FAULT_CRASH_UNIT: %s crashes its rank", j->name);
        raise(SIGKILL);
    }
    while (fault_unit("SF_FAULT_STALL_UNIT", j->name))
        sleep(1);
    struct sf_denoise_windows win = {
        .n_lead = nr, .vace = cond, .vace_channels = cfg->n_vace ? cfg->vace_in_dim : 0};
    SF_TRY(st, sf_windows_plan(V, j->window, j->overlap, &win.cut));
    struct sf_render_gang_blend gb = {.w = w, .channels = cfg->in_dim, .frames = T, .plane = plane};
    win.split = j->cfg_split;
    win.branch = -1;
    if (j->cfg_split && w->gang.size > 1 && win.cut.n == 1) { /* a pair: member m runs branch m */
        if (w->gang.size != 2) {
            SF_ERROR("render", "%s: a gang of %d for 2 guidance branches", j->name, w->gang.size);
            st = SF_E_INVAL;
            goto out;
        }
        win.branch = w->gang.index;
        win.pair = sf_render_gang_pair;
        win.blend = sf_render_gang_share;
        win.blend_arg = &gb;
    } else if (w->gang.size > 1) { /* this member's block of windows; the leader sums the blocks */
        if (w->gang.size > win.cut.n) {
            SF_ERROR("render", "%s: a gang of %d for %d windows", j->name, w->gang.size, win.cut.n);
            st = SF_E_INVAL;
            goto out;
        }
        sf_render_gang_windows(&w->gang, win.cut.n, &win.first, &win.count);
        win.blend = sf_render_gang_blend;
        win.blend_arg = &gb;
        if (w->gang.index == 0 && (!w->comm || w->comm->rank == 0)) {
            gb.part = malloc((size_t)n * sizeof *gb.part);
            if (!gb.part) {
                st = SF_E_NOMEM;
                goto out;
            }
        }
    }
    if (j->cfg_split && w->leader)
        SF_INFO("render", "%s: guidance passes split, %s on gang member %d of %d", j->name,
                win.branch < 0 ? "both" : win.branch ? "uncond" : "cond", w->gang.index,
                w->gang.size);
    if (win.cut.n > 1 && w->leader)
        SF_INFO("render", "%s: %d windows of %lld latent frames (overlap %d) over %lld, "
                "windows %d .. %d on gang member %d of %d", j->name, win.cut.n,
                (long long)win.cut.len, j->overlap, (long long)V, win.first,
                win.first + (win.count ? win.count : win.cut.n) - 1, w->gang.index, w->gang.size);
    st = sf_denoise_run_windows(w->dit.p, s, thw, &win, ctx, ctx_rows, neg, neg_rows, -1, on_step,
                                &p);
    free(gb.part);
    if (st) goto out;
    /* the leader (of the gang's first member) holds the same bits and writes them */
    if (!w->leader || w->gang.index > 0) goto out;
    SF_TRY(st, sf_render_mkdirs(j->out, 1));
    const float *full = sf_sampler_sample(s);
    if (nr) { /* the reference frames lead; the latent decode reads is the video's alone */
        video = malloc((size_t)(cfg->in_dim * V * plane) * sizeof *video);
        if (!video) {
            st = SF_E_NOMEM;
            goto out;
        }
        for (int c = 0; c < cfg->in_dim; c++)
            memcpy(video + (size_t)c * (size_t)(V * plane),
                   full + ((size_t)c * (size_t)T + (size_t)nr) * (size_t)plane,
                   (size_t)(V * plane) * sizeof *video);
    }
    struct sf_h5_array a = {.name = "latent",
                            .dtype = SF_DTYPE_F32,
                            .ndim = 4,
                            .shape = {cfg->in_dim, V, H, W},
                            .data = nr ? video : full};
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
    if (cond) sf_dit_set_vace(w->dit.p, NULL, NULL, NULL); /* cond is freed next */
    free(cond);
    free(video);
    free(ctx);
    free(neg);
    free(noise);
    sf_sampler_destroy(s);
    return st;
}


/* ---- resume -------------------------------------------------------------------------------- */

/* A latent file that verifies (h5pack checks its sidecar) and carries this unit's key. */
static int output_ok(const struct sf_render_job *j)
{
    return sf_render_h5_has_key(j->out, j->key);
}

const struct sf_unit_kind sf_unit_denoise = {
    .name = "denoise",
    .status_row = "denoise",
    .resource = SF_UNIT_GROUP,
    .ranks = SF_UNIT_EVERY_RANK,
    .plan = plan,
    .prepare = prepare,
    .run = run,
    .output_ok = output_ok,
};
