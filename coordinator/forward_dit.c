/* forward_dit.c — `shotfarm forward dit`: one DiT forward pass from a safetensors file of inputs
 * to a safetensors file holding `out` (docs/forward.md). Called by cmd_forward.c; the golden
 * tests (tests/dit/) run this same function on the reference fixtures.
 * The subtle thing: `context` is given UNPADDED (rows <= 512); sf_dit_forward pads it with zero
 * rows the way Wan does, so the caller never has to know text_len. A Wan2.1-VACE model also takes
 * its conditioning from IN (forward_vace.c). */
#define _POSIX_C_SOURCE 200809L
#include "sf_cli.h"
#include "sf_cost.h"
#include "sf_backend.h"
#include "sf_cuda.h"
#include "sf_dit.h"
#include "sf_forward.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_ops.h"
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_vace.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
    fprintf(
        f, "usage: shotfarm forward dit --model DIR -i IN.safetensors -o OUT.safetensors "
           "[--ref IMAGE]... [--vae DIR] [--device cpu|cuda] [--threads N] [--json]\n\n"
           "One forward pass of the Wan2.1 DiT (diffusers or official layout, fp32/bf16/fp16),\n"
           "or of Wan2.1-VACE with its conditioning.\n"
           "IN holds:\n"
           "  x        (in_dim, frames, height, width)  the latent; frames/height/width divisible\n"
           "                                            by the patch size (1, 2, 2)\n"
           "  t        scalar or [1]                    the timestep (float32; int64 accepted)\n"
           "  context  (rows, text_dim), rows <= 512    text embedding, unpadded (zero-padded to\n"
           "                                            512 rows inside, as Wan does)\n"
           "Wan2.1-VACE (docs/forward.md § VACE) also takes, instead of nothing:\n"
           "  vace       (96, frames, height, width)    a ready conditioning (forward vace), or\n"
           "  video      (3, 4(frames-n_refs-1)+1, 8 height, 8 width) in [-1, 1], optional\n"
           "  mask       (video frames, 8 height, 8 width) in [0, 1], 1 = generate, optional\n"
           "  ref0, ref1...  (3, h, w) in [-1, 1] reference images (and --ref files); x has\n"
           "             one leading frame per reference\n"
           "  vace_scale (n_vace,)                      per-layer conditioning scale (default 1)\n"
           "OUT gets `out` (out_dim, frames, height, width) float32, the velocity prediction.\n"
           "Floating tensors may be float32, bfloat16 or float16. See docs/forward.md.\n\n"
           "options:\n"
           "  --model DIR     model directory or file (sf_model_dir: pipeline, component,\n"
           "                  official checkpoint, or a bare .safetensors)\n"
           "  -i, --input     input safetensors\n"
           "  -o, --output    output safetensors (written atomically)\n"
           "  --ref IMAGE     a VACE reference image file, after IN's refN (repeatable)\n"
           "  --vae DIR       the VAE that encodes VACE references/video (default: --model)\n"
           "  --device D      where the DiT runs: cpu, or cuda (one GPU per rank, by local\n"
           "                  rank; default: cuda when a GPU is visible, else cpu)\n"
           "  --threads N     compute threads (default: SF_THREADS, else cores / local ranks)\n"
           "  --json          print one JSON document with shapes, timing and FLOPs\n");
}

/* Reads a floating tensor of in into a malloc'ed fp32 array; NULL (logged) when it is absent
 * or not floating. */
static float *read_f32(const struct sf_st *in, const char *name, const struct sf_st_tensor **tp)
{
    const struct sf_st_tensor *t = sf_st_find(in, name);
    *tp = t;
    if (!t) {
        SF_ERROR("forward",
                 "%s: tensor `%s` is missing (shotfarm forward dit --help lists the "
                 "inputs)",
                 sf_st_path(in), name);
        return NULL;
    }
    if (t->dtype != SF_DTYPE_F32 && t->dtype != SF_DTYPE_BF16 && t->dtype != SF_DTYPE_F16) {
        SF_ERROR("forward", "%s: tensor `%s` is %s; write it as float32, bfloat16 or float16",
                 t->file, name, sf_dtype_name(t->dtype));
        return NULL;
    }
    float *v = malloc((t->n_elems ? t->n_elems : 1) * sizeof *v);
    if (!v || sf_st_read_all(t, SF_DTYPE_F32, v, t->n_elems * sizeof *v) != SF_OK) {
        free(v);
        return NULL;
    }
    return v;
}

/* 1 when t has n_dims dimensions; otherwise logs what was expected and returns 0. */
static int has_dims(const struct sf_st_tensor *t, int n_dims, const char *expected)
{
    if (t->n_dims == n_dims) return 1;
    char s[96];
    sf_st_shape_str(t->n_dims, t->shape, s, sizeof s);
    SF_ERROR("forward", "%s: tensor `%s` has shape %s; expected %s, without a batch dimension",
             t->file, t->name, s, expected);
    return 0;
}

static int read_t(const struct sf_st *in, double *t)
{
    const struct sf_st_tensor *tt = sf_st_find(in, "t");
    if (!tt) {
        SF_ERROR("forward", "%s: tensor `t` (the timestep, a scalar) is missing", sf_st_path(in));
        return SF_E_NOTFOUND;
    }
    if (tt->n_elems != 1 || tt->n_dims > 1) {
        char s[64];
        sf_st_shape_str(tt->n_dims, tt->shape, s, sizeof s);
        SF_ERROR("forward", "%s: tensor `t` has shape %s; give one timestep as a scalar or [1]",
                 tt->file, s);
        return SF_E_FORMAT;
    }
    if (tt->dtype == SF_DTYPE_I64) {
        int64_t v;
        memcpy(&v, tt->data, sizeof v);
        *t = (double)v;
        return SF_OK;
    }
    if (tt->dtype == SF_DTYPE_F64) {
        memcpy(t, tt->data, sizeof *t);
        return SF_OK;
    }
    float v;
    if (tt->dtype != SF_DTYPE_F32 && tt->dtype != SF_DTYPE_BF16 && tt->dtype != SF_DTYPE_F16) {
        SF_ERROR("forward", "%s: tensor `t` is %s; write it as float32", tt->file,
                 sf_dtype_name(tt->dtype));
        return SF_E_FORMAT;
    }
    int st = sf_st_read_all(tt, SF_DTYPE_F32, &v, sizeof v);
    *t = v;
    return st;
}

int sf_forward_dit(int argc, char **argv)
{
    const char *model = NULL, *inpath = NULL, *outpath = NULL, *vae = NULL, *device = NULL;
    const char *refs[SF_VACE_MAX_REFS];
    int n_refs = 0;
    long threads = 0;
    int json = 0, st = SF_OK;
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"input", required_argument, 0, 'i'},
                                         {"output", required_argument, 0, 'o'},
                                         {"threads", required_argument, 0, 'T'},
                                         {"json", no_argument, 0, 'j'},
                                         {"ref", required_argument, 0, 'r'},
                                         {"vae", required_argument, 0, 'v'},
                                         {"device", required_argument, 0, 'D'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":i:o:h", opts, NULL)) != -1;) {
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'i':
            inpath = optarg;
            break;
        case 'o':
            outpath = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'r':
            if (n_refs == SF_VACE_MAX_REFS)
                return sf_cli_usage_error("forward dit", "at most %d --ref images",
                                          SF_VACE_MAX_REFS);
            refs[n_refs++] = optarg;
            break;
        case 'v':
            vae = optarg;
            break;
        case 'D':
            if (strcmp(optarg, "cpu") && strcmp(optarg, "cuda"))
                return sf_cli_usage_error("forward dit", "--device %s: use cpu or cuda", optarg);
            device = optarg;
            break;
        case 'T':
            if (sf_cli_parse_int("forward dit", "--threads", optarg, 1, 4096, &threads))
                return SF_E_USAGE;
            break;
        case 'h':
            usage(stdout);
            return SF_OK;
        case ':':
            return sf_cli_usage_error("forward dit", "option %s needs a value", argv[optind - 1]);
        default:
            return sf_cli_usage_error("forward dit", "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return sf_cli_usage_error("forward dit", "unexpected argument '%s'", argv[optind]);
    if (!model || !inpath || !outpath)
        return sf_cli_usage_error("forward dit", "--model, -i and -o are all required");
    if (threads) sf_threads_init((int)threads);

    struct sf_st *in = NULL;
    struct sf_dit *dit = NULL;
    struct sf_forward_vace vace = {0};
    float *x = NULL, *ctx = NULL, *out = NULL;
    const struct sf_st_tensor *xt, *ct;
    double t;
    char s[96];
    SF_TRY(st, sf_st_open(inpath, &in));
    SF_TRY(st, read_t(in, &t));
    if (!(x = read_f32(in, "x", &xt)) || !(ctx = read_f32(in, "context", &ct))) {
        st = SF_E_FORMAT;
        goto out;
    }
    if (!has_dims(xt, 4, "(channels, frames, height, width) of one latent") ||
        !has_dims(ct, 2, "(rows, text_dim) of one prompt")) {
        st = SF_E_FORMAT;
        goto out;
    }

    /* The buffers are sized for exactly this latent. */
    const int64_t thw[3] = {xt->shape[1], xt->shape[2], xt->shape[3]};
    struct sf_dit_opts o = {.max_latent = {thw[0], thw[1], thw[2]}, .max_batch = 1};
    SF_TRY(st, sf_backend_for_device(device, &o.backend));
    double t0 = sf_time_now();
    SF_TRY(st, sf_dit_load(model, &o, &dit));
    double t_load = sf_time_now() - t0;
    const struct sf_dit_config *cfg = sf_dit_get_config(dit);
    if (xt->shape[0] != cfg->in_dim) {
        SF_ERROR("forward", "%s: tensor `x` has %lld channels; the model %s takes %d (in_dim)",
                 xt->file, (long long)xt->shape[0], model, cfg->in_dim);
        st = SF_E_FORMAT;
        goto out;
    }
    if (ct->shape[1] != cfg->text_dim || ct->shape[0] > cfg->text_len) {
        sf_st_shape_str(ct->n_dims, ct->shape, s, sizeof s);
        SF_ERROR("forward",
                 "%s: tensor `context` has shape %s; the model %s takes (rows <= %d, "
                 "%d): pass the text encoder's output cut to the prompt's tokens",
                 ct->file, s, model, cfg->text_len, cfg->text_dim);
        st = SF_E_FORMAT;
        goto out;
    }
    SF_TRY(st, sf_forward_vace_read(in, "forward dit", vae ? vae : model, refs, n_refs, thw, NULL,
                                    &vace));
    SF_TRY(st, sf_forward_vace_apply(dit, &vace, model, thw));
    size_t n_out = (size_t)cfg->out_dim * thw[0] * thw[1] * thw[2];
    if (!(out = malloc(n_out * sizeof *out))) {
        st = SF_E_NOMEM;
        goto out;
    }
    t0 = sf_time_now();
    SF_TRY(st, sf_dit_forward(dit, x, thw, t, ctx, ct->shape[0], out));
    double t_fwd = sf_time_now() - t0;

    struct sf_st_desc d = {.name = "out",
                           .dtype = SF_DTYPE_F32,
                           .n_dims = 4,
                           .shape = {cfg->out_dim, thw[0], thw[1], thw[2]},
                           .data = out};
    const char *meta[] = {"producer", "shotfarm forward dit", "model", model};
    SF_TRY(st, sf_st_write(outpath, &d, 1, meta, 2, NULL, NULL));

    int64_t tokens = sf_cost_dit_tokens(cfg, thw[0], thw[1], thw[2]);
    double flops = sf_cost_dit_forward(cfg, tokens, cfg->text_len).total;
    if (json) {
        struct sf_jw w;
        sf_jw_init(&w, stdout, 2);
        sf_jw_obj_begin(&w);
        sf_jw_key(&w, "component");
        sf_jw_str(&w, "dit");
        sf_jw_key(&w, "output");
        sf_jw_str(&w, outpath);
        sf_jw_key(&w, "shape");
        sf_jw_arr_begin(&w);
        for (int i = 0; i < 4; i++)
            sf_jw_int(&w, d.shape[i]);
        sf_jw_arr_end(&w);
        sf_jw_key(&w, "device");
        sf_jw_str(&w, o.backend->name);
        sf_jw_key(&w, "tokens");
        sf_jw_int(&w, tokens);
        sf_jw_key(&w, "timestep");
        sf_jw_num(&w, t);
        sf_jw_key(&w, "context_rows");
        sf_jw_int(&w, ct->shape[0]);
        sf_jw_key(&w, "load_seconds");
        sf_jw_num(&w, t_load);
        sf_jw_key(&w, "forward_seconds");
        sf_jw_num(&w, t_fwd);
        sf_jw_key(&w, "flops");
        sf_jw_num(&w, flops);
        sf_jw_key(&w, "weight_bytes");
        sf_jw_int(&w, (int64_t)sf_dit_weight_bytes(dit));
        sf_jw_key(&w, "buffer_bytes");
        sf_jw_int(&w, (int64_t)sf_dit_buffer_bytes(dit));
        sf_jw_obj_end(&w);
        sf_jw_finish(&w);
    } else {
        printf("%s: out f32[%d, %lld, %lld, %lld], %lld tokens, t = %g: load %.2f s, forward "
               "%.3f s (%.1f GFLOP, %.1f GFLOP/s)\n",
               outpath, cfg->out_dim, (long long)thw[0], (long long)thw[1], (long long)thw[2],
               (long long)tokens, t, t_load, t_fwd, flops / 1e9,
               t_fwd > 0 ? flops / t_fwd / 1e9 : 0.0);
    }
out:
    sf_forward_vace_free(&vace);
    free(out);
    free(x);
    free(ctx);
    sf_dit_destroy(dit);
    sf_st_close(in);
    return st;
}
