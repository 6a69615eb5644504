/* forward_denoise.c — `shotfarm forward denoise`: the whole denoising loop of one latent with
 * classifier-free guidance through the DiT, from a safetensors file holding `noise`, `context`
 * and `negative_context` to one holding `latent` (docs/forward.md). Called by cmd_forward.c;
 * the golden tests (tests/sampler/) run the binary on the reference fixtures.
 * The loop itself is node/sf_denoise.h (shared with render's denoise units): cond and uncond
 * as one batch of two, uncond + g·(cond − uncond), g = 1 the conditional pass alone.
 * --save-state writes the sampler state after every step and --resume continues from one:
 * the resumed latent is bit-identical to an uninterrupted run on the same machine and build.
 * Wan2.1-VACE: the conditioning (forward_vace.c) is built once before the loop and both guidance
 * passes take it; `latent` then leaves out the leading reference frames (`latent_full` keeps
 * them), as WanVACEPipeline drops them before decoding.
 */
#define _POSIX_C_SOURCE 200809L
#include "sf_backend.h"
#include "sf_cli.h"
#include "sf_cuda.h"
#include "sf_denoise.h"
#include "sf_dit.h"
#include "sf_forward.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_ops.h"
#include "sf_safetensors.h"
#include "sf_sampler.h"
#include "sf_status.h"
#include "sf_vace.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMD "forward denoise"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: shotfarm forward denoise --model DIR -i IN.safetensors -o OUT.safetensors\n"
        "         [--sampler unipc|euler] [--schedule wan|diffusers] [--steps N] [--shift S]\n"
        "         [--guidance G] [--trajectory] [--save-state FILE [--stop-after K]]\n"
        "         [--resume FILE] [--ref IMAGE]... [--vae DIR] [--device cpu|cuda]\n"
        "         [--window W [--overlap O]] [--threads N] [--json]\n\n"
        "The denoising loop with classifier-free guidance through the Wan2.1 DiT (or\n"
        "Wan2.1-VACE with its conditioning).\n"
        "IN holds (float32, bfloat16 or float16):\n"
        "  noise             (16, frames, height, width)  the initial latent\n"
        "  context           (rows, text_dim), rows <= 512  prompt embedding, unpadded\n"
        "  negative_context  (rows, text_dim), rows <= 512  negative prompt embedding\n"
        "Wan2.1-VACE takes `vace`, or `video`, `mask`, `ref0`, `ref1`... and `vace_scale`, as\n"
        "`forward dit` does; noise then has one leading frame per reference, and both guidance\n"
        "passes get the same conditioning (official VACE defaults: --shift 16, 50 steps, g 5).\n"
        "OUT gets `latent` (16, frames, height, width) float32 (VACE: without the reference\n"
        "frames; `latent_full` with them); with --trajectory also\n"
        "`trajectory` (steps + 1, 16, frames, height, width): noise, then every step's latent,\n"
        "and `timesteps` (steps,) float32, what the DiT saw. See docs/forward.md.\n\n"
        "options:\n"
        "  --model DIR        model directory or file (as `forward dit`)\n"
        "  -i, --input        input safetensors\n"
        "  -o, --output       output safetensors (written atomically)\n"
        "  --sampler S        unipc (default; Wan's) or euler\n"
        "  --schedule S       wan (default: the official table, integer timesteps) or\n"
        "                     diffusers (UniPCMultistep / FlowMatchEulerDiscrete's tables)\n"
        "  --steps N          sampling steps, 1..%d (default 50)\n"
        "  --shift S          flow shift, > 0 (default 5; Wan advises 8-12 for 1.3B)\n"
        "  --guidance G       guidance scale, 0..%g (default 5); 1 skips the unconditional pass\n"
        "  --trajectory       also write every intermediate latent\n"
        "  --save-state FILE  write the sampler state to FILE after every step\n"
        "  --stop-after K     with --save-state: stop after step K (OUT is not written)\n"
        "  --resume FILE      continue from a saved state; sampler, schedule, steps, shift\n"
        "                     and guidance come from FILE (options that disagree are errors)\n"
        "  --ref IMAGE        a VACE reference image file, after IN's refN (repeatable)\n"
        "  --vae DIR          the VAE that encodes VACE references/video (default: --model)\n"
        "  --device D         where the DiT runs: cpu, or cuda (one GPU per rank, by local\n"
        "                     rank; default: cuda when a GPU is visible, else cpu)\n"
        "  --window W         denoise in overlapping windows of W latent frames, 2..%d,\n"
        "                     blended every step (docs/windows.md; default: one window);\n"
        "                     give the same --window/--overlap again with --resume\n"
        "  --overlap O        latent frames neighbouring windows share, 1..W/2 (default %d)\n"
        "  --threads N        compute threads (default: SF_THREADS, else cores / local ranks)\n"
        "  --json             print one JSON document with settings and timing\n",
        SF_SAMPLER_MAX_STEPS, SF_SAMPLER_MAX_GUIDANCE, SF_WINDOW_MAX, SF_WINDOW_DEFAULT_OVERLAP);
}

static int load_input(const struct sf_st *in, const char *name, int ndim, const char *dims,
                      const struct sf_st_tensor **tp, float **out)
{
    return sf_forward_load_f32(in, CMD, name, ndim, dims, tp, out);
}

/* The text embeddings must fit the model: (rows <= text_len, text_dim). */
static int check_context(const struct sf_st_tensor *t, const struct sf_dit_config *cfg,
                         const char *model)
{
    if (t->shape[1] == cfg->text_dim && t->shape[0] <= cfg->text_len) return SF_OK;
    char s[96];
    sf_st_shape_str(t->n_dims, t->shape, s, sizeof s);
    SF_ERROR("forward",
             "%s: tensor `%s` has shape %s; the model %s takes (rows <= %d, %d): pass "
             "the text encoder's output cut to the prompt's tokens",
             t->file, t->name, s, model, cfg->text_len, cfg->text_dim);
    return SF_E_FORMAT;
}

struct opts {
    const char *model, *in, *out, *save_state, *resume, *vae, *device;
    const char *refs[SF_VACE_MAX_REFS];
    int n_refs;
    enum sf_sampler_kind kind;
    enum sf_schedule_kind schedule;
    long steps, stop_after, threads;
    long window, overlap; /* window 0: the whole latent at once */
    double shift, guidance;
    int trajectory, json;
    int set_kind, set_schedule, set_steps, set_shift, set_guidance; /* given explicitly */
};

static int parse(int argc, char **argv, struct opts *o)
{
    enum {
        O_MODEL = 256,
        O_SAMPLER,
        O_SCHEDULE,
        O_STEPS,
        O_SHIFT,
        O_GUIDANCE,
        O_TRAJ,
        O_SAVE,
        O_STOP,
        O_RESUME,
        O_THREADS,
        O_JSON,
        O_REF,
        O_VAE,
        O_DEVICE,
        O_WINDOW,
        O_OVERLAP
    };
    static const struct option lo[] = {{"model", required_argument, 0, O_MODEL},
                                       {"input", required_argument, 0, 'i'},
                                       {"output", required_argument, 0, 'o'},
                                       {"sampler", required_argument, 0, O_SAMPLER},
                                       {"schedule", required_argument, 0, O_SCHEDULE},
                                       {"steps", required_argument, 0, O_STEPS},
                                       {"shift", required_argument, 0, O_SHIFT},
                                       {"guidance", required_argument, 0, O_GUIDANCE},
                                       {"trajectory", no_argument, 0, O_TRAJ},
                                       {"save-state", required_argument, 0, O_SAVE},
                                       {"stop-after", required_argument, 0, O_STOP},
                                       {"resume", required_argument, 0, O_RESUME},
                                       {"threads", required_argument, 0, O_THREADS},
                                       {"json", no_argument, 0, O_JSON},
                                       {"ref", required_argument, 0, O_REF},
                                       {"vae", required_argument, 0, O_VAE},
                                       {"device", required_argument, 0, O_DEVICE},
                                       {"window", required_argument, 0, O_WINDOW},
                                       {"overlap", required_argument, 0, O_OVERLAP},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    *o = (struct opts){.kind = SF_SAMPLER_UNIPC,
                       .schedule = SF_SCHEDULE_WAN,
                       .steps = 50,
                       .shift = 5.0,
                       .guidance = 5.0,
                       .stop_after = -1,
                       .overlap = -1};
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":i:o:h", lo, NULL)) != -1;) {
        switch (c) {
        case O_MODEL:
            o->model = optarg;
            break;
        case 'i':
            o->in = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case O_SAMPLER:
            if (sf_sampler_kind_parse(optarg, &o->kind))
                return sf_cli_usage_error(CMD, "--sampler: '%s' is not unipc or euler", optarg);
            o->set_kind = 1;
            break;
        case O_SCHEDULE:
            if (sf_schedule_kind_parse(optarg, &o->schedule))
                return sf_cli_usage_error(CMD, "--schedule: '%s' is not wan or diffusers", optarg);
            o->set_schedule = 1;
            break;
        case O_STEPS:
            if (sf_cli_parse_int(CMD, "--steps", optarg, 1, SF_SAMPLER_MAX_STEPS, &o->steps))
                return SF_E_USAGE;
            o->set_steps = 1;
            break;
        case O_SHIFT:
            if (sf_cli_parse_double(CMD, "--shift", optarg, 0, SF_SAMPLER_MAX_SHIFT, &o->shift))
                return SF_E_USAGE;
            if (o->shift <= 0) return sf_cli_usage_error(CMD, "--shift must be above 0");
            o->set_shift = 1;
            break;
        case O_GUIDANCE:
            if (sf_cli_parse_double(CMD, "--guidance", optarg, 0, SF_SAMPLER_MAX_GUIDANCE,
                                    &o->guidance))
                return SF_E_USAGE;
            o->set_guidance = 1;
            break;
        case O_TRAJ:
            o->trajectory = 1;
            break;
        case O_SAVE:
            o->save_state = optarg;
            break;
        case O_STOP:
            if (sf_cli_parse_int(CMD, "--stop-after", optarg, 0, SF_SAMPLER_MAX_STEPS,
                                 &o->stop_after))
                return SF_E_USAGE;
            break;
        case O_RESUME:
            o->resume = optarg;
            break;
        case O_THREADS:
            if (sf_cli_parse_int(CMD, "--threads", optarg, 1, 4096, &o->threads)) return SF_E_USAGE;
            break;
        case O_JSON:
            o->json = 1;
            break;
        case O_DEVICE:
            if (strcmp(optarg, "cpu") && strcmp(optarg, "cuda"))
                return sf_cli_usage_error(CMD, "--device %s: use cpu or cuda", optarg);
            o->device = optarg;
            break;
        case O_REF:
            if (o->n_refs == SF_VACE_MAX_REFS)
                return sf_cli_usage_error(CMD, "at most %d --ref images", SF_VACE_MAX_REFS);
            o->refs[o->n_refs++] = optarg;
            break;
        case O_VAE:
            o->vae = optarg;
            break;
        case O_WINDOW:
            if (sf_cli_parse_int(CMD, "--window", optarg, 2, SF_WINDOW_MAX, &o->window))
                return SF_E_USAGE;
            break;
        case O_OVERLAP:
            if (sf_cli_parse_int(CMD, "--overlap", optarg, 1, SF_WINDOW_MAX, &o->overlap))
                return SF_E_USAGE;
            break;
        case 'h':
            usage(stdout);
            return 1;
        case ':':
            return sf_cli_usage_error(CMD, "option %s needs a value", argv[optind - 1]);
        default:
            return sf_cli_usage_error(CMD, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) return sf_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!o->model || !o->in || !o->out)
        return sf_cli_usage_error(CMD, "--model, -i and -o are all required");
    if (o->overlap >= 0 && !o->window)
        return sf_cli_usage_error(CMD, "--overlap needs --window");
    if (o->window && o->overlap < 0) o->overlap = SF_WINDOW_DEFAULT_OVERLAP;
    if (o->window && sf_window_rule_check(o->window, o->overlap))
        return sf_cli_usage_error(CMD, "--window %ld --overlap %ld: %s", o->window, o->overlap,
                                  sf_window_rule_check(o->window, o->overlap));
    if (o->stop_after >= 0 && !o->save_state)
        return sf_cli_usage_error(CMD, "--stop-after needs --save-state FILE to resume from");
    if (o->trajectory && o->resume)
        return sf_cli_usage_error(CMD, "--trajectory needs the whole loop; drop --resume");
    return SF_OK;
}

/* A resumed state must agree with every setting given on the command line. */
static int check_resumed(const struct sf_sampler *s, const struct opts *o)
{
    const char *bad = NULL;
    if (o->set_kind && s->kind != (int)o->kind)
        bad = "--sampler";
    else if (o->set_schedule && s->schedule != (int)o->schedule)
        bad = "--schedule";
    else if (o->set_steps && s->n_steps != o->steps)
        bad = "--steps";
    else if (o->set_shift && s->shift != o->shift)
        bad = "--shift";
    else if (o->set_guidance && s->guidance != o->guidance)
        bad = "--guidance";
    if (!bad) return SF_OK;
    return sf_cli_usage_error(CMD,
                              "%s disagrees with the state in %s (%s/%s, %d steps, shift %g, "
                              "guidance %g); drop the option or start without --resume",
                              bad, o->resume, sf_sampler_kind_name(s->kind),
                              sf_schedule_kind_name(s->schedule), s->n_steps, s->shift,
                              s->guidance);
}

/* After each step: keep the trajectory row and save the state when asked. */
struct step_ctx {
    float *traj;
    const char *save_state;
};

static int after_step(void *arg, const struct sf_sampler *s, double t)
{
    (void)t;
    struct step_ctx *c = arg;
    if (c->traj)
        memcpy(c->traj + (size_t)s->step * s->n, sf_sampler_sample(s),
               (size_t)s->n * sizeof *c->traj);
    return c->save_state ? sf_sampler_save(s, c->save_state) : SF_OK;
}

int sf_forward_denoise(int argc, char **argv)
{
    struct opts o;
    int st = parse(argc, argv, &o);
    if (st == 1) return SF_OK; /* --help */
    if (st != SF_OK) return st;
    if (o.threads) sf_threads_init((int)o.threads);

    struct sf_st *in = NULL;
    struct sf_dit *dit = NULL;
    struct sf_sampler *s = NULL;
    struct sf_forward_vace vace = {0};
    float *noise = NULL, *ctx = NULL, *neg = NULL, *traj = NULL, *video_part = NULL;
    const struct sf_st_tensor *tn = NULL, *tc, *tu;
    SF_TRY(st, sf_st_open(o.in, &in));
    SF_TRY(st, load_input(in, "context", 2, "(rows, text_dim)", &tc, &ctx));
    SF_TRY(st, load_input(in, "negative_context", 2, "(rows, text_dim)", &tu, &neg));
    int64_t shape[4];
    if (o.resume) {
        SF_TRY(st, sf_sampler_load(o.resume, &s));
        SF_TRY(st, check_resumed(s, &o));
        /* the latent's shape still comes from IN (noise), so a state of another size is caught */
    }
    SF_TRY(st, load_input(in, "noise", 4, "(channels, frames, height, width)", &tn, &noise));
    memcpy(shape, tn->shape, sizeof shape);
    const int64_t n = (int64_t)tn->n_elems;
    if (s && s->n != n) {
        SF_ERROR("forward",
                 "%s: the state holds a latent of %lld elements, `noise` in %s has %lld; "
                 "resume with the input it was started from",
                 o.resume, (long long)s->n, o.in, (long long)n);
        st = SF_E_FORMAT;
        goto out;
    }
    if (!s)
        SF_TRY(st, sf_sampler_create(o.kind, o.schedule, (int)o.steps, o.shift, o.guidance, n,
                                     noise, &s));

    const int64_t thw[3] = {shape[1], shape[2], shape[3]};
    struct sf_dit_opts dopts = {.max_latent = {thw[0], thw[1], thw[2]}, .max_batch = 2};
    SF_TRY(st, sf_backend_for_device(o.device, &dopts.backend));
    double t0 = sf_time_now();
    SF_TRY(st, sf_dit_load(o.model, &dopts, &dit));
    double t_load = sf_time_now() - t0;
    const struct sf_dit_config *cfg = sf_dit_get_config(dit);
    if (shape[0] != cfg->in_dim || cfg->out_dim != cfg->in_dim) {
        SF_ERROR("forward",
                 "%s: tensor `noise` has %lld channels; the model %s takes %d (in_dim) "
                 "and must give as many (out_dim %d)",
                 tn->file, (long long)shape[0], o.model, cfg->in_dim, cfg->out_dim);
        st = SF_E_FORMAT;
        goto out;
    }
    SF_TRY(st, check_context(tc, cfg, o.model));
    SF_TRY(st, check_context(tu, cfg, o.model));
    SF_TRY(st, sf_forward_vace_read(in, CMD, o.vae ? o.vae : o.model, o.refs, o.n_refs, thw, NULL,
                                    &vace));
    SF_TRY(st, sf_forward_vace_apply(dit, &vace, o.model, thw));

    if (o.trajectory) traj = malloc((size_t)(s->n_steps + 1) * (size_t)n * sizeof *traj);
    if (o.trajectory && !traj) {
        st = SF_E_NOMEM;
        goto out;
    }
    if (traj) memcpy(traj, sf_sampler_sample(s), (size_t)n * sizeof *traj);

    const int first = s->step;
    const int stop =
        o.stop_after >= 0 && o.stop_after < s->n_steps ? (int)o.stop_after : s->n_steps;
    SF_INFO("denoise",
            "%s/%s, %d steps (from step %d), shift %g, guidance %g, latent "
            "[%lld, %lld, %lld, %lld]",
            sf_sampler_kind_name(s->kind), sf_schedule_kind_name(s->schedule), s->n_steps, first,
            s->shift, s->guidance, (long long)shape[0], (long long)shape[1], (long long)shape[2],
            (long long)shape[3]);
    t0 = sf_time_now();
    struct step_ctx sc = {.traj = traj, .save_state = o.save_state};
    /* windows cut the frames after the reference frames, which every window carries */
    struct sf_denoise_windows win = {.n_lead = vace.n_refs,
                                     .vace = vace.present ? vace.cond : NULL,
                                     .vace_channels = vace.channels,
                                     .vace_scale = vace.scale};
    if (thw[0] - vace.n_refs < 1) {
        SF_ERROR("forward", "%s: `noise` has %lld frames, no more than its %d reference frames",
                 o.in, (long long)thw[0], vace.n_refs);
        st = SF_E_FORMAT;
        goto out;
    }
    if (o.window) SF_TRY(st, sf_windows_plan(thw[0] - vace.n_refs, (int)o.window, (int)o.overlap,
                                             &win.cut));
    if (o.window && win.cut.n > 1)
        SF_INFO("denoise", "%d windows of %lld latent frames (overlap %ld) over %lld frames",
                win.cut.n, (long long)win.cut.len, o.overlap, (long long)win.cut.frames);
    SF_TRY(st, sf_denoise_run_windows(dit, s, thw, o.window ? &win : NULL, ctx, tc->shape[0], neg, tu->shape[0],
                                      stop, after_step, &sc));
    const double t_loop = sf_time_now() - t0;
    const int ran = s->step - first;
    /* stopped before any step ran (--stop-after 0, or at the resumed step): still leave a state */
    if (o.save_state && ran == 0 && !sf_sampler_done(s))
        SF_TRY(st, sf_sampler_save(s, o.save_state));

    if (sf_sampler_done(s)) {
        /* VACE: the reference frames lead; `latent` is the video's frames alone */
        const int64_t r = vace.n_refs, fsz = shape[2] * shape[3];
        const float *full = sf_sampler_sample(s);
        if (r) {
            video_part = malloc((size_t)(shape[0] * (shape[1] - r) * fsz) * sizeof *video_part);
            if (!video_part) {
                st = SF_E_NOMEM;
                goto out;
            }
            for (int64_t c = 0; c < shape[0]; c++)
                memcpy(video_part + c * (shape[1] - r) * fsz, full + (c * shape[1] + r) * fsz,
                       (size_t)((shape[1] - r) * fsz) * sizeof *video_part);
        }
        struct sf_st_desc d[4] = {
            {.name = "latent",
             .dtype = SF_DTYPE_F32,
             .n_dims = 4,
             .shape = {shape[0], shape[1] - r, shape[2], shape[3]},
             .data = r ? video_part : full},
            {.name = "trajectory",
             .dtype = SF_DTYPE_F32,
             .n_dims = 5,
             .shape = {s->n_steps + 1, shape[0], shape[1], shape[2], shape[3]},
             .data = traj},
            {.name = "timesteps",
             .dtype = SF_DTYPE_F32,
             .n_dims = 1,
             .shape = {s->n_steps},
             .data = s->timesteps},
            {.name = "latent_full",
             .dtype = SF_DTYPE_F32,
             .n_dims = 4,
             .shape = {shape[0], shape[1], shape[2], shape[3]},
             .data = full}};
        /* the descriptors written: latent [, trajectory, timesteps] [, latent_full] */
        int nd = traj ? 3 : 1;
        if (r) d[nd++] = d[3];
        char steps_s[16], shift_s[32], g_s[32];
        snprintf(steps_s, sizeof steps_s, "%d", s->n_steps);
        snprintf(shift_s, sizeof shift_s, "%.17g", s->shift);
        snprintf(g_s, sizeof g_s, "%.17g", s->guidance);
        const char *meta[] = {"producer", "shotfarm forward denoise",
                              "model",    o.model,
                              "sampler",  sf_sampler_kind_name(s->kind),
                              "schedule", sf_schedule_kind_name(s->schedule),
                              "steps",    steps_s,
                              "shift",    shift_s,
                              "guidance", g_s};
        SF_TRY(st, sf_st_write(o.out, d, nd, meta, 7, NULL, NULL));
    }

    if (o.json) {
        struct sf_jw w;
        sf_jw_init(&w, stdout, 2);
        sf_jw_obj_begin(&w);
        sf_jw_key(&w, "component");
        sf_jw_str(&w, "denoise");
        sf_jw_key(&w, "device");
        sf_jw_str(&w, dopts.backend->name);
        sf_jw_key(&w, "output");
        if (sf_sampler_done(s))
            sf_jw_str(&w, o.out);
        else
            sf_jw_null(&w);
        sf_jw_key(&w, "state");
        if (o.save_state)
            sf_jw_str(&w, o.save_state);
        else
            sf_jw_null(&w);
        sf_jw_key(&w, "sampler");
        sf_jw_str(&w, sf_sampler_kind_name(s->kind));
        sf_jw_key(&w, "schedule");
        sf_jw_str(&w, sf_schedule_kind_name(s->schedule));
        sf_jw_key(&w, "steps");
        sf_jw_int(&w, s->n_steps);
        sf_jw_key(&w, "shift");
        sf_jw_num(&w, s->shift);
        sf_jw_key(&w, "guidance");
        sf_jw_num(&w, s->guidance);
        sf_jw_key(&w, "first_step");
        sf_jw_int(&w, first);
        sf_jw_key(&w, "steps_run");
        sf_jw_int(&w, ran);
        sf_jw_key(&w, "done");
        sf_jw_bool(&w, sf_sampler_done(s));
        sf_jw_key(&w, "load_seconds");
        sf_jw_num(&w, t_load);
        sf_jw_key(&w, "loop_seconds");
        sf_jw_num(&w, t_loop);
        sf_jw_obj_end(&w);
        sf_jw_finish(&w);
    } else if (sf_sampler_done(s)) {
        printf("%s: latent f32[%lld, %lld, %lld, %lld]%s, %s/%s %d steps (ran %d), shift %g, "
               "guidance %g: load %.2f s, loop %.2f s\n",
               o.out, (long long)shape[0], (long long)(shape[1] - vace.n_refs), (long long)shape[2],
               (long long)shape[3], vace.n_refs ? " (+ the reference frames in latent_full)" : "",
               sf_sampler_kind_name(s->kind), sf_schedule_kind_name(s->schedule), s->n_steps, ran,
               s->shift, s->guidance, t_load, t_loop);
    } else {
        printf("%s: stopped after step %d of %d; continue with --resume %s\n", o.save_state,
               s->step, s->n_steps, o.save_state);
    }
out:
    sf_forward_vace_free(&vace);
    free(video_part);
    free(noise);
    free(ctx);
    free(neg);
    free(traj);
    sf_sampler_destroy(s);
    sf_dit_destroy(dit);
    sf_st_close(in);
    return st;
}
