/* forward_vae.c — `shotfarm forward vae-decode` and `vae-encode`: the Wan-VAE from a safetensors
 * file of inputs to a safetensors file of outputs (docs/forward.md). Called by cmd_forward.c;
 * the golden tests (tests/vae/) run these same commands on the reference fixtures.
 * The subtle thing: `z` is the VAE's own latent — already un-normalised (z * std + mean), as the
 * pipeline passes it to the decoder and as the encoder's quant_conv gives it; the DiT's
 * normalised latent is (z - mean) / std. */
#define _POSIX_C_SOURCE 200809L
#include "sf_cli.h"
#include "sf_forward.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_ops.h"
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_vae.h"
#include "sf_vae_image.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f, int encode)
{
    if (encode)
        fprintf(f,
                "usage: shotfarm forward vae-encode --model DIR (-i IN.safetensors | --image FILE) "
                "-o OUT.safetensors [--threads N] [--json]\n\n"
                "Wan-VAE encode. IN holds `x` (3, frames, height, width), video in [-1, 1],\n"
                "frames = 1 + 4k, height and width multiples of 8 (a leading batch dim of 1 is\n"
                "accepted); or --image gives one still (PNG, JPEG, ...; full build) as one frame,\n"
                "x = code / 127.5 - 1. OUT gets `z` (16, 1 + k, height/8, width/8) float32: the\n"
                "latent mean, un-normalised (the DiT's latent is (z - latents_mean) / latents_std).\n");
    else
        fprintf(f,
                "usage: shotfarm forward vae-decode --model DIR -i IN.safetensors -o "
                "OUT.safetensors [--vae-tile TILE[:STRIDE]] [--rgb8] [--threads N] [--json]\n\n"
                "Wan-VAE decode. IN holds `z` (16, frames, height, width): the latent already\n"
                "un-normalised (z * latents_std + latents_mean), as the pipeline passes it to the\n"
                "decoder (a leading batch dim of 1 is accepted). OUT gets `x` (3, 1 + 4(frames-1),\n"
                "8 height, 8 width) float32 in [-1, 1].\n");
    fprintf(f, "Floating inputs may be float32, bfloat16 or float16. See docs/forward.md.\n\n"
               "options:\n"
               "  --model DIR     pipeline dir, its vae/ dir, or an official Wan2.1 dir with\n"
               "                  Wan2.1_VAE.safetensors\n"
               "  -i, --input     input safetensors\n"
               "  -o, --output    output safetensors (written atomically)\n");
    if (!encode)
        fprintf(f, "  --vae-tile T[:S]  decode in tiles of T pixels every S pixels (default S =\n"
                   "                  3T/4), blended as diffusers' enable_tiling; only used when\n"
                   "                  the frame is larger than a tile (off by default)\n"
                   "  --rgb8          also write `rgb8` (frames, height, width, 3) uint8 with the\n"
                   "                  reference's mapping round((x/2 + 0.5) * 255)\n");
    fprintf(f, "  --threads N     compute threads (default: SF_THREADS, else cores / local ranks)\n"
               "  --json          print one JSON document with shapes and timing\n");
}

/* Reads input tensor `name` as fp32 (C, F, H, W), accepting a leading batch of 1. */
static int read_input(const struct sf_st *in, const char *name, const char *cmd, float **out,
                      int64_t shape[4])
{
    char s[96];
    const struct sf_st_tensor *t = sf_st_find(in, name);
    if (!t) {
        SF_ERROR("forward", "%s: tensor `%s` is missing (shotfarm forward %s --help)",
                 sf_st_path(in), name, cmd);
        return SF_E_NOTFOUND;
    }
    int off = t->n_dims == 5 && t->shape[0] == 1;
    if (t->n_dims != 4 + off) {
        sf_st_shape_str(t->n_dims, t->shape, s, sizeof s);
        SF_ERROR("forward", "%s: tensor `%s` has shape %s; expected (channels, frames, height, "
                 "width)", t->file, name, s);
        return SF_E_FORMAT;
    }
    if (t->dtype != SF_DTYPE_F32 && t->dtype != SF_DTYPE_BF16 && t->dtype != SF_DTYPE_F16) {
        SF_ERROR("forward", "%s: tensor `%s` is %s; write it as float32, bfloat16 or float16",
                 t->file, name, sf_dtype_name(t->dtype));
        return SF_E_FORMAT;
    }
    for (int i = 0; i < 4; i++) shape[i] = t->shape[i + off];
    *out = malloc((t->n_elems ? t->n_elems : 1) * sizeof **out);
    if (!*out) return SF_E_NOMEM;
    return sf_st_read_all(t, SF_DTYPE_F32, *out, t->n_elems * sizeof **out);
}

static int run(int argc, char **argv, int encode)
{
    const char *cmd = encode ? "forward vae-encode" : "forward vae-decode";
    const char *model = NULL, *inpath = NULL, *outpath = NULL, *tile = NULL, *image = NULL;
    long threads = 0;
    int json = 0, rgb8 = 0, st = SF_OK;
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},   {"input", required_argument, 0, 'i'},
        {"output", required_argument, 0, 'o'},  {"threads", required_argument, 0, 'T'},
        {"vae-tile", required_argument, 0, 't'}, {"rgb8", no_argument, 0, '8'},
        {"json", no_argument, 0, 'j'},          {"help", no_argument, 0, 'h'},
        {"image", required_argument, 0, 'I'},  {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":i:o:h", opts, NULL)) != -1;) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'i': inpath = optarg; break;
        case 'o': outpath = optarg; break;
        case 'j': json = 1; break;
        case 't': tile = optarg; break;
        case '8': rgb8 = 1; break;
        case 'I': image = optarg; break;
        case 'T':
            if (sf_cli_parse_int(cmd, "--threads", optarg, 1, 4096, &threads)) return SF_E_USAGE;
            break;
        case 'h': usage(stdout, encode); return SF_OK;
        case ':': return sf_cli_usage_error(cmd, "option %s needs a value", argv[optind - 1]);
        default: return sf_cli_usage_error(cmd, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) return sf_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (image && (!encode || inpath))
        return sf_cli_usage_error(cmd, "--image replaces -i, for vae-encode");
    if (image) inpath = image;
    if (!model || !inpath || !outpath)
        return sf_cli_usage_error(cmd, "--model, -i and -o are all required");
    if (encode && (tile || rgb8))
        return sf_cli_usage_error(cmd, "--vae-tile and --rgb8 are decode options");
    struct sf_vae_tiling tiling = {0, 0};
    char why[128];
    if (tile && sf_vae_tiling_parse(tile, &tiling, why, sizeof why))
        return sf_cli_usage_error(cmd, "--vae-tile %s: %s", tile, why);
    if (threads) sf_threads_init((int)threads);

    struct sf_st *in = NULL;
    struct sf_vae *vae = NULL;
    float *src = NULL, *dst = NULL;
    uint8_t *rgb = NULL;
    int64_t s[4], o[4];
    if (image) {
        int w, h;
        SF_TRY(st, sf_vae_image_read(image, &rgb, &w, &h));
        s[0] = 3, s[1] = 1, s[2] = h, s[3] = w;
        if (!(src = malloc((size_t)w * h * 3 * sizeof *src))) {
            st = SF_E_NOMEM;
            goto out;
        }
        sf_vae_frames_from_rgb8(rgb, 1, h, w, src);
        free(rgb);
        rgb = NULL;
    } else {
        SF_TRY(st, sf_st_open(inpath, &in));
        SF_TRY(st, read_input(in, encode ? "x" : "z", cmd, &src, s));
    }
    double t0 = sf_time_now();
    SF_TRY(st, sf_vae_load(model, &vae));
    double t_load = sf_time_now() - t0;
    const struct sf_vae_config *cfg = sf_vae_config_of(vae);
    const char *in_name = encode ? "x" : "z";
    int want_c = encode ? 3 : cfg->z_dim;
    if (s[0] != want_c) {
        SF_ERROR("forward", "%s: tensor `%s` has %lld channels; the VAE of %s takes %d%s",
                 inpath, in_name, (long long)s[0], model, want_c,
                 encode ? " (RGB)" : " (z_dim)");
        st = SF_E_FORMAT;
        goto out;
    }
    if (encode && (s[1] < 1 || (s[1] - 1) % 4)) {
        SF_ERROR("forward", "%s: tensor `x` has %lld frames; the VAE encodes 1 + 4k frames "
                 "(1, 5, 9, ..., 81)", inpath, (long long)s[1]);
        st = SF_E_FORMAT;
        goto out;
    }
    if (encode && (s[2] % 8 || s[3] % 8 || s[2] < 8 || s[3] < 8)) {
        SF_ERROR("forward", "%s: %s is %lldx%lld pixels; height and width must be "
                 "multiples of 8 (crop or resize it)", inpath, image ? "the image" : "tensor `x`",
                 (long long)s[3], (long long)s[2]);
        st = SF_E_FORMAT;
        goto out;
    }
    if (encode) o[0] = cfg->z_dim, o[1] = 1 + (s[1] - 1) / 4, o[2] = s[2] / 8, o[3] = s[3] / 8;
    else o[0] = 3, o[1] = 1 + 4 * (s[1] - 1), o[2] = 8 * s[2], o[3] = 8 * s[3];
    size_t n_out = (size_t)(o[0] * o[1] * o[2] * o[3]);
    if (!(dst = malloc(n_out * sizeof *dst))) {
        st = SF_E_NOMEM;
        goto out;
    }
    t0 = sf_time_now();
    if (encode) SF_TRY(st, sf_vae_encode(vae, src, s[1], s[2], s[3], dst));
    else SF_TRY(st, sf_vae_decode_to(vae, src, s[1], s[2], s[3], &tiling, dst));
    double t_run = sf_time_now() - t0;

    struct sf_st_desc d[2] = {{.name = encode ? "z" : "x", .dtype = SF_DTYPE_F32, .n_dims = 4,
                               .shape = {o[0], o[1], o[2], o[3]}, .data = dst}};
    size_t nd = 1;
    if (rgb8) {
        if (!(rgb = malloc(n_out))) {
            st = SF_E_NOMEM;
            goto out;
        }
        sf_vae_frames_to_rgb8(dst, o[1], o[2], o[3], rgb);
        d[nd++] = (struct sf_st_desc){.name = "rgb8", .dtype = SF_DTYPE_U8, .n_dims = 4,
                                      .shape = {o[1], o[2], o[3], 3}, .data = rgb};
    }
    const char *meta[] = {"producer", encode ? "shotfarm forward vae-encode" :
                          "shotfarm forward vae-decode", "model", model};
    SF_TRY(st, sf_st_write(outpath, d, nd, meta, 2, NULL, NULL));
    if (json) {
        struct sf_jw w;
        sf_jw_init(&w, stdout, 2);
        sf_jw_obj_begin(&w);
        sf_jw_key(&w, "component"); sf_jw_str(&w, encode ? "vae-encode" : "vae-decode");
        sf_jw_key(&w, "output"); sf_jw_str(&w, outpath);
        sf_jw_key(&w, "shape");
        sf_jw_arr_begin(&w);
        for (int i = 0; i < 4; i++) sf_jw_int(&w, o[i]);
        sf_jw_arr_end(&w);
        sf_jw_key(&w, "tile_px"); sf_jw_int(&w, tiling.tile_px);
        sf_jw_key(&w, "stride_px"); sf_jw_int(&w, tiling.stride_px);
        sf_jw_key(&w, "load_seconds"); sf_jw_num(&w, t_load);
        sf_jw_key(&w, "run_seconds"); sf_jw_num(&w, t_run);
        sf_jw_key(&w, "weight_bytes"); sf_jw_int(&w, (int64_t)sf_vae_weight_bytes(vae));
        sf_jw_obj_end(&w);
        sf_jw_finish(&w);
    } else {
        printf("%s: %s f32[%lld, %lld, %lld, %lld]: load %.2f s, %s %.3f s\n", outpath,
               d[0].name, (long long)o[0], (long long)o[1], (long long)o[2], (long long)o[3],
               t_load, encode ? "encode" : "decode", t_run);
    }
out:
    free(rgb);
    free(dst);
    free(src);
    sf_vae_destroy(vae);
    sf_st_close(in);
    return st;
}

int sf_forward_vae_decode(int argc, char **argv) { return run(argc, argv, 0); }
int sf_forward_vae_encode(int argc, char **argv) { return run(argc, argv, 1); }
