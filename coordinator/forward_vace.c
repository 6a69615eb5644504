/* forward_vace.c — the Wan2.1-VACE inputs of the forward commands (docs/forward.md § VACE):
 * `shotfarm forward vace` builds the conditioning tensor from references, a video and a mask;
 * `forward dit` and `forward denoise` read the same inputs (or a ready `vace` tensor) through
 * sf_forward_vace_read and hand the result to the DiT. The conditioning itself is node/vace.c.
 * The subtle thing: the pixel size a conditioning is built for follows from the latent the DiT
 * runs on, minus one leading frame per reference (frames = 4 (T - n_refs - 1) + 1), so `forward
 * dit` never needs to be told the video size. */
#define _POSIX_C_SOURCE 200809L
#include "sf_cli.h"
#include "sf_dit.h"
#include "sf_forward.h"
#include "sf_log.h"
#include "sf_ops.h"
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_vace.h"
#include "sf_vae.h"
#include "sf_vae_image.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sf_forward_load_f32(const struct sf_st *in, const char *cmd, const char *name, int ndim,
                        const char *dims, const struct sf_st_tensor **tp, float **out)
{
    const struct sf_st_tensor *t = sf_st_find(in, name);
    if (tp) *tp = t;
    *out = NULL;
    if (!t) {
        SF_ERROR("forward", "%s: tensor `%s` %s is missing; shotfarm %s --help lists the inputs",
                 sf_st_path(in), name, dims, cmd);
        return SF_E_NOTFOUND;
    }
    char s[96];
    sf_st_shape_str(t->n_dims, t->shape, s, sizeof s);
    if (t->n_dims != ndim ||
        (t->dtype != SF_DTYPE_F32 && t->dtype != SF_DTYPE_BF16 && t->dtype != SF_DTYPE_F16)) {
        SF_ERROR("forward",
                 "%s: tensor `%s` is %s %s; write it as float32 %s, without a batch dimension",
                 t->file, name, sf_dtype_name(t->dtype), s, dims);
        return SF_E_FORMAT;
    }
    *out = malloc((t->n_elems ? t->n_elems : 1) * sizeof **out);
    if (!*out) return SF_E_NOMEM;
    return sf_st_read_all(t, SF_DTYPE_F32, *out, t->n_elems * sizeof **out);
}

void sf_forward_vace_free(struct sf_forward_vace *v)
{
    free(v->cond);
    free(v->scale);
    memset(v, 0, sizeof *v);
}

/* Reference images: tensors ref0, ref1, ... of IN in order, then the image files. */
static int read_refs(const struct sf_st *in, const char *cmd, const char *const *files,
                     int n_files, float **pix, struct sf_vace_image *refs, int *n)
{
    int st = SF_OK, k = 0;
    *n = 0;
    for (; k < SF_VACE_MAX_REFS; k++) {
        char name[16];
        snprintf(name, sizeof name, "ref%d", k);
        if (!sf_st_find(in, name)) break;
        const struct sf_st_tensor *t;
        SF_TRY(st, sf_forward_load_f32(in, cmd, name, 3, "(3, height, width) in [-1, 1]", &t,
                                       &pix[k]));
        if (t->shape[0] != 3) {
            SF_ERROR("forward", "%s: tensor `%s` has %lld channels; a reference is RGB (3, "
                     "height, width) in [-1, 1]", t->file, name, (long long)t->shape[0]);
            st = SF_E_FORMAT;
            goto out;
        }
        refs[k] = (struct sf_vace_image){pix[k], t->shape[1], t->shape[2]};
    }
    if (k + n_files > SF_VACE_MAX_REFS) {
        SF_ERROR("forward", "%d reference images; at most %d (drop some --ref or refN tensors)",
                 k + n_files, SF_VACE_MAX_REFS);
        st = SF_E_INVAL;
        goto out;
    }
    for (int f = 0; f < n_files; f++, k++) {
        uint8_t *rgb = NULL;
        int w = 0, h = 0;
        SF_TRY(st, sf_vae_image_read(files[f], &rgb, &w, &h));
        pix[k] = malloc((size_t)3 * (size_t)w * (size_t)h * sizeof *pix[k]);
        if (!pix[k]) {
            free(rgb);
            st = SF_E_NOMEM;
            goto out;
        }
        sf_vae_frames_from_rgb8(rgb, 1, h, w, pix[k]);
        free(rgb);
        refs[k] = (struct sf_vace_image){pix[k], h, w};
    }
out:
    *n = k;
    return st;
}

int sf_forward_vace_read(const struct sf_st *in, const char *cmd, const char *vae_dir,
                         const char *const *ref_files, int n_ref_files, const int64_t *latent,
                         const int64_t pixels[3], struct sf_forward_vace *v)
{
    int st = SF_OK, n_refs = 0;
    float *pix[SF_VACE_MAX_REFS] = {0}, *video = NULL, *mask = NULL;
    struct sf_vace_image refs[SF_VACE_MAX_REFS];
    struct sf_vae *vae = NULL;
    const struct sf_st_tensor *tv = NULL, *tm = NULL, *ts = NULL;
    memset(v, 0, sizeof *v);
    if (sf_st_find(in, "vace_scale")) {
        SF_TRY(st, sf_forward_load_f32(in, cmd, "vace_scale", 1, "(n_vace,) one per VACE layer",
                                       &ts, &v->scale));
        v->n_scale = ts->shape[0];
    }
    int raw = sf_st_find(in, "video") || sf_st_find(in, "mask") || sf_st_find(in, "ref0") ||
              n_ref_files > 0;
    if (sf_st_find(in, "vace")) {
        const struct sf_st_tensor *tc;
        if (raw) {
            SF_ERROR("forward", "%s: holds a ready `vace` tensor and references/video/mask too: "
                     "give one or the other", sf_st_path(in));
            st = SF_E_INVAL;
            goto out;
        }
        SF_TRY(st, sf_forward_load_f32(in, cmd, "vace", 4, "(96, frames, height, width)", &tc,
                                       &v->cond));
        memcpy(v->thw, tc->shape + 1, sizeof v->thw);
        v->channels = tc->shape[0];
        v->present = 1;
        goto out;
    }
    if (!raw) goto out; /* no VACE input: a plain text-to-video pass */
    SF_TRY(st, read_refs(in, cmd, ref_files, n_ref_files, pix, refs, &n_refs));
    int64_t F = pixels ? pixels[0] : 0, H = pixels ? pixels[1] : 0, W = pixels ? pixels[2] : 0;
    if (latent) { /* the latent the DiT runs on fixes the pixel size */
        F = 4 * (latent[0] - n_refs - 1) + 1, H = 8 * latent[1], W = 8 * latent[2];
        if (latent[0] <= n_refs) {
            SF_ERROR("forward", "%s: a latent of %lld frames cannot hold %d reference frames and "
                     "a video: give the noise one extra leading frame per reference",
                     sf_st_path(in), (long long)latent[0], n_refs);
            st = SF_E_INVAL;
            goto out;
        }
    }
    if (sf_st_find(in, "video")) {
        SF_TRY(st, sf_forward_load_f32(in, cmd, "video", 4, "(3, frames, height, width)", &tv,
                                       &video));
        if (!F) F = tv->shape[1], H = tv->shape[2], W = tv->shape[3];
        if (tv->shape[0] != 3 || tv->shape[1] != F || tv->shape[2] != H || tv->shape[3] != W) {
            char s[96];
            sf_st_shape_str(tv->n_dims, tv->shape, s, sizeof s);
            SF_ERROR("forward", "%s: tensor `video` has shape %s; this run needs (3, %lld, %lld, "
                     "%lld) (the latent's frames after the %d reference frames, times the VAE "
                     "stride)", tv->file, s, (long long)F, (long long)H, (long long)W, n_refs);
            st = SF_E_FORMAT;
            goto out;
        }
    }
    if (sf_st_find(in, "mask")) {
        SF_TRY(st, sf_forward_load_f32(in, cmd, "mask", 3, "(frames, height, width) in [0, 1]",
                                       &tm, &mask));
        if (!F) F = tm->shape[0], H = tm->shape[1], W = tm->shape[2];
        if (tm->shape[0] != F || tm->shape[1] != H || tm->shape[2] != W) {
            SF_ERROR("forward", "%s: tensor `mask` is (%lld, %lld, %lld); it must cover the "
                     "video's (%lld, %lld, %lld) frames and pixels", tm->file,
                     (long long)tm->shape[0], (long long)tm->shape[1], (long long)tm->shape[2],
                     (long long)F, (long long)H, (long long)W);
            st = SF_E_FORMAT;
            goto out;
        }
    }
    if (!F || !H || !W) {
        SF_ERROR("forward", "%s: references alone do not say the video's size: give --frames, "
                 "--height and --width (or a `video` or `mask` tensor)", sf_st_path(in));
        st = SF_E_INVAL;
        goto out;
    }
    SF_TRY(st, sf_vae_load(vae_dir, &vae));
    v->cond = malloc(sf_vace_cond_floats(F, H, W, n_refs) * sizeof *v->cond);
    if (!v->cond) {
        st = SF_E_NOMEM;
        goto out;
    }
    SF_TRY(st, sf_vace_build(vae, F, H, W, video, mask, refs, n_refs, v->cond));
    v->thw[0] = sf_vace_latent_frames(F, n_refs), v->thw[1] = H / 8, v->thw[2] = W / 8;
    v->channels = 96;
    v->n_refs = n_refs;
    v->present = 1;
    SF_INFO("vace", "conditioning from %d reference(s), %s video, %s mask: (96, %lld, %lld, %lld)",
            n_refs, video ? "a" : "no", mask ? "a" : "no", (long long)v->thw[0],
            (long long)v->thw[1], (long long)v->thw[2]);
out:
    for (int i = 0; i < SF_VACE_MAX_REFS; i++)
        free(pix[i]);
    free(video);
    free(mask);
    sf_vae_destroy(vae);
    if (st != SF_OK) sf_forward_vace_free(v);
    return st;
}

int sf_forward_vace_apply(struct sf_dit *dit, const struct sf_forward_vace *v, const char *model,
                          const int64_t thw[3])
{
    const struct sf_dit_config *c = sf_dit_get_config(dit);
    if (!v->present) return sf_dit_set_vace(dit, NULL, thw, NULL);
    if (c->n_vace && v->channels != c->vace_in_dim) {
        SF_ERROR("forward", "the VACE input has %lld channels; the model %s takes %d "
                 "(vace_in_dim)", (long long)v->channels, model, c->vace_in_dim);
        return SF_E_FORMAT;
    }
    if (v->scale && v->n_scale != c->n_vace) {
        SF_ERROR("forward", "`vace_scale` has %lld values; the model %s has %d VACE layers: give "
                 "one per layer", (long long)v->n_scale, model, c->n_vace);
        return SF_E_FORMAT;
    }
    if (memcmp(v->thw, thw, sizeof v->thw) && c->n_vace) {
        SF_ERROR("forward", "the VACE input covers a latent of (%lld, %lld, %lld), the model "
                 "runs on (%lld, %lld, %lld): one leading latent frame per reference, then the "
                 "video's", (long long)v->thw[0], (long long)v->thw[1], (long long)v->thw[2],
                 (long long)thw[0], (long long)thw[1], (long long)thw[2]);
        return SF_E_FORMAT;
    }
    return sf_dit_set_vace(dit, v->cond, v->thw, v->scale);
}

/* ---- `shotfarm forward vace` ------------------------------------------------------------- */

#define CMD "forward vace"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: shotfarm forward vace --vae DIR -i IN.safetensors -o OUT.safetensors\n"
            "         [--ref IMAGE]... [--frames F --height H --width W] [--threads N]\n\n"
            "Builds the Wan2.1-VACE conditioning exactly as diffusers' WanVACEPipeline does\n"
            "(docs/forward.md § VACE). IN may hold (float32, bfloat16 or float16):\n"
            "  video          (3, frames, height, width) in [-1, 1]; absent: zeros\n"
            "  mask           (frames, height, width) in [0, 1], 1 = generate; absent: ones\n"
            "  ref0, ref1...  (3, h, w) in [-1, 1] reference images, any size\n"
            "frames = 1 + 4k; height and width multiples of 16. OUT gets `vace` (96, n_refs +\n"
            "(frames + 3) / 4, height / 8, width / 8): [inactive 16 | reactive 16 | mask 64]\n"
            "channels, the references' frames first, the LAST reference first (as diffusers).\n\n"
            "options:\n"
            "  --vae DIR        the VAE (a pipeline directory, its vae/, or an official dir)\n"
            "  -i, --input      input safetensors (may be empty of tensors with --ref and sizes)\n"
            "  -o, --output     output safetensors (written atomically)\n"
            "  --ref IMAGE      a reference image file (PNG, JPEG, ...: FFmpeg decodes it), after\n"
            "                   IN's refN; repeatable, up to %d references in all\n"
            "  --frames F --height H --width W\n"
            "                   the video's size when IN has neither video nor mask\n"
            "  --threads N      compute threads (default: SF_THREADS, else cores / local ranks)\n",
            SF_VACE_MAX_REFS);
}

int sf_forward_vace(int argc, char **argv)
{
    enum { O_VAE = 256, O_REF, O_FRAMES, O_HEIGHT, O_WIDTH, O_THREADS };
    static const struct option lo[] = {
        {"vae", required_argument, 0, O_VAE},       {"input", required_argument, 0, 'i'},
        {"output", required_argument, 0, 'o'},      {"ref", required_argument, 0, O_REF},
        {"frames", required_argument, 0, O_FRAMES}, {"height", required_argument, 0, O_HEIGHT},
        {"width", required_argument, 0, O_WIDTH},   {"threads", required_argument, 0, O_THREADS},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    const char *vae = NULL, *inpath = NULL, *outpath = NULL, *files[SF_VACE_MAX_REFS];
    long size[3] = {0, 0, 0}, threads = 0;
    int n_files = 0, st = SF_OK;
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":i:o:h", lo, NULL)) != -1;) {
        switch (c) {
        case O_VAE: vae = optarg; break;
        case 'i': inpath = optarg; break;
        case 'o': outpath = optarg; break;
        case O_REF:
            if (n_files == SF_VACE_MAX_REFS)
                return sf_cli_usage_error(CMD, "at most %d --ref images", SF_VACE_MAX_REFS);
            files[n_files++] = optarg;
            break;
        case O_FRAMES:
            if (sf_cli_parse_int(CMD, "--frames", optarg, 1, 100001, &size[0])) return SF_E_USAGE;
            break;
        case O_HEIGHT:
            if (sf_cli_parse_int(CMD, "--height", optarg, 16, 65536, &size[1])) return SF_E_USAGE;
            break;
        case O_WIDTH:
            if (sf_cli_parse_int(CMD, "--width", optarg, 16, 65536, &size[2])) return SF_E_USAGE;
            break;
        case O_THREADS:
            if (sf_cli_parse_int(CMD, "--threads", optarg, 1, 4096, &threads)) return SF_E_USAGE;
            break;
        case 'h': usage(stdout); return SF_OK;
        case ':': return sf_cli_usage_error(CMD, "option %s needs a value", argv[optind - 1]);
        default: return sf_cli_usage_error(CMD, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) return sf_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!vae || !inpath || !outpath)
        return sf_cli_usage_error(CMD, "--vae, -i and -o are all required");
    if ((size[0] || size[1] || size[2]) && !(size[0] && size[1] && size[2]))
        return sf_cli_usage_error(CMD, "give --frames, --height and --width together");
    if (threads) sf_threads_init((int)threads);
    struct sf_st *in = NULL;
    struct sf_forward_vace v = {0};
    const int64_t px[3] = {size[0], size[1], size[2]};
    SF_TRY(st, sf_st_open(inpath, &in));
    if (size[0] && (sf_st_find(in, "video") || sf_st_find(in, "mask")))
        st = sf_cli_usage_error(CMD, "--frames/--height/--width are for references alone; %s "
                                "has a video or mask that sets the size", inpath);
    if (st != SF_OK) goto out;
    SF_TRY(st, sf_forward_vace_read(in, CMD, vae, files, n_files, NULL, size[0] ? px : NULL, &v));
    if (!v.present) {
        SF_ERROR("forward", "%s: no VACE input in it (video, mask, ref0...) and no --ref",
                 inpath);
        st = SF_E_INVAL;
        goto out;
    }
    struct sf_st_desc d = {.name = "vace",
                           .dtype = SF_DTYPE_F32,
                           .n_dims = 4,
                           .shape = {v.channels, v.thw[0], v.thw[1], v.thw[2]},
                           .data = v.cond};
    const char *meta[] = {"producer", "shotfarm forward vace", "vae", vae};
    SF_TRY(st, sf_st_write(outpath, &d, 1, meta, 2, NULL, NULL));
    printf("%s: vace f32[96, %lld, %lld, %lld] from %d reference(s)\n", outpath,
           (long long)v.thw[0], (long long)v.thw[1], (long long)v.thw[2], v.n_refs);
out:
    sf_forward_vace_free(&v);
    sf_st_close(in);
    return st;
}
