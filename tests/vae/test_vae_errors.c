/* test_vae_errors.c — every bad input of `shotfarm forward vae-decode|vae-encode` gives one
 * line naming the file and what is wrong, and a non-zero exit: a latent with the wrong channel
 * count, a video whose frame count is not 1 + 4k or whose size is not a multiple of 8, a missing
 * input tensor, weights that do not match the config (shape, missing tensor, extra tensor), a
 * pickle instead of safetensors, a bad --vae-tile, and --image with a file that is not an image or
 * whose size is not a multiple of 8 (a good image encodes like the same pixels given as `x`). Inputs are written here with the
 * safetensors writer; the model is tests/fixtures/vae/small. */
#define _POSIX_C_SOURCE 200809L
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_test.h"
#include "vae_cases.h"
#include "safetensors/capture.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char dir[512];
static const char *sf;

/* Runs shotfarm with args; checks the exit code is `want_rc` and stderr is one line holding
 * every needle. */
static void expect(const char *args, int want_rc, const char *const *needles)
{
    char cmd[4096], out[600], msg[4096] = "";
    snprintf(out, sizeof out, "%s/stderr.txt", dir);
    snprintf(cmd, sizeof cmd, "SF_LOG=info '%s' %s 2>'%s' >/dev/null", sf, args, out);
    int rc = system(cmd);
    rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    FILE *f = fopen(out, "r");
    if (f) {
        size_t k = fread(msg, 1, sizeof msg - 1, f);
        msg[k] = 0;
        fclose(f);
    }
    if (rc != want_rc) fprintf(stderr, "%s: exit %d, want %d\n", args, rc, want_rc);
    CHECK_EQ_INT(rc, want_rc);
    /* usage errors end with the CLI's standard "Try '... --help'." hint line */
    char *hint = want_rc == 2 ? strstr(msg, "Try '") : NULL;
    if (hint) *hint = 0;
    CHECK(one_line_with(args, msg, needles));
}

static void write_input(const char *name, const char *tensor, int64_t c, int64_t t, int64_t h,
                        int64_t w)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t n = (size_t)(c * t * h * w);
    float *v = calloc(n, sizeof *v);
    sf_test_fill(v, n, 7);
    struct sf_st_desc d = {.name = tensor, .dtype = SF_DTYPE_F32, .n_dims = 4,
                           .shape = {c, t, h, w}, .data = v};
    CHECK_EQ_INT(sf_st_write(path, &d, 1, NULL, 0, NULL, NULL), SF_OK);
    free(v);
}

/* A copy of the small VAE with `drop` left out and `extra` added (either may be NULL), and a
 * config.json with base_dim set to base. */
static void write_model(const char *name, const char *drop, const char *extra, int base)
{
    char src[1200], path[1200], cmd[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mkdir(path, 0777);
    snprintf(cmd, sizeof cmd, "sed 's/\"base_dim\": 4/\"base_dim\": %d/' '%s/small/vae/config.json' "
             "> '%s/config.json'", base, vae_fixtures(), path);
    CHECK_EQ_INT(system(cmd), 0);
    snprintf(src, sizeof src, "%s/small/vae/diffusion_pytorch_model.safetensors", vae_fixtures());
    struct sf_st *st = NULL;
    if (sf_st_open(src, &st) != SF_OK) {
        CHECK(!"open small vae");
        return;
    }
    size_t n = sf_st_count(st), k = 0;
    struct sf_st_desc *d = calloc(n + 1, sizeof *d);
    for (size_t i = 0; i < n; i++) {
        const struct sf_st_tensor *t = sf_st_at(st, i);
        if (drop && !strcmp(t->name, drop)) continue;
        d[k] = (struct sf_st_desc){.name = t->name, .dtype = t->dtype, .n_dims = t->n_dims,
                                   .data = t->data};
        memcpy(d[k].shape, t->shape, sizeof t->shape);
        k++;
    }
    static const float one = 1;
    if (extra)
        d[k++] = (struct sf_st_desc){.name = extra, .dtype = SF_DTYPE_F32, .n_dims = 1,
                                     .shape = {1}, .data = &one};
    snprintf(path, sizeof path, "%s/%s/diffusion_pytorch_model.safetensors", dir, name);
    CHECK_EQ_INT(sf_st_write(path, d, k, NULL, 0, NULL, NULL), SF_OK);
    free(d);
    sf_st_close(st);
}

#ifndef SF_TEST_MINIMAL
/* A w x h binary PPM with a gradient, and the same pixels as `x` (3, 1, h, w) in ok.safetensors
 * (x = code / 127.5 - 1). */
static void write_ppm(const char *name, int w, int h)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fprintf(f, "P6\n%d %d\n255\n", w, h);
    float *x = malloc((size_t)(3 * w * h) * sizeof *x);
    for (int i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++) {
            unsigned char v = (unsigned char)((i * 7 + c * 85) % 256);
            fputc(v, f);
            x[c * w * h + i] = (float)v / 127.5f - 1.f;
        }
    fclose(f);
    snprintf(path, sizeof path, "%s/ok.safetensors", dir);
    struct sf_st_desc d = {.name = "x", .dtype = SF_DTYPE_F32, .n_dims = 4, .shape = {3, 1, h, w},
                           .data = x};
    if (!strcmp(name, "ok.ppm")) CHECK_EQ_INT(sf_st_write(path, &d, 1, NULL, 0, NULL, NULL), SF_OK);
    free(x);
}

#endif

/* Tensor `name` of two output files is bit-identical. */
static void same_tensor(const char *a, const char *b, const char *name)
{
    char pa[700], pb[700];
    struct sf_st *sa = NULL, *sb = NULL;
    snprintf(pa, sizeof pa, "%s/%s", dir, a);
    snprintf(pb, sizeof pb, "%s/%s", dir, b);
    CHECK_EQ_INT(sf_st_open(pa, &sa), SF_OK);
    CHECK_EQ_INT(sf_st_open(pb, &sb), SF_OK);
    if (sa && sb) {
        const struct sf_st_tensor *ta = sf_st_find(sa, name), *tb = sf_st_find(sb, name);
        CHECK(ta && tb && ta->n_bytes == tb->n_bytes && !memcmp(ta->data, tb->data, ta->n_bytes));
    }
    sf_st_close(sa);
    sf_st_close(sb);
}

int main(void)
{
    const char *bin = getenv("SF_BINARY_DIR");
    sf = getenv("SF_SHOTFARM");
    if (!sf || !bin) return SF_TEST_SKIP;
    snprintf(dir, sizeof dir, "%s/tests/vae/errors", bin);
    mkdir(dir, 0777);
    char model[1200], args[8192], cmd[2048];
    snprintf(model, sizeof model, "%s/small", vae_fixtures());

    write_input("z8.safetensors", "z", 8, 1, 4, 6);
    write_input("x6.safetensors", "x", 3, 6, 16, 16);
    write_input("x4c.safetensors", "x", 4, 1, 16, 16);
    write_input("x20.safetensors", "x", 3, 1, 20, 16);
    write_input("noz.safetensors", "latent", 16, 1, 4, 6);
    write_input("z.safetensors", "z", 16, 1, 4, 6);

#define RUN(want, fmt, ...) \
    do { snprintf(args, sizeof args, fmt, __VA_ARGS__); expect(args, want, needles); } while (0)
    {
        const char *needles[] = {"z8.safetensors", "`z` has 8 channels", "takes 16", NULL};
        RUN(1, "forward vae-decode --model '%s' -i '%s/z8.safetensors' -o '%s/o.safetensors'",
            model, dir, dir);
    }
    {
        const char *needles[] = {"x6.safetensors", "6 frames", "1 + 4k", NULL};
        RUN(1, "forward vae-encode --model '%s' -i '%s/x6.safetensors' -o '%s/o.safetensors'",
            model, dir, dir);
    }
    {
        const char *needles[] = {"x4c.safetensors", "`x` has 4 channels", "takes 3", NULL};
        RUN(1, "forward vae-encode --model '%s' -i '%s/x4c.safetensors' -o '%s/o.safetensors'",
            model, dir, dir);
    }
    {
        const char *needles[] = {"x20.safetensors", "16x20 pixels", "multiples of 8", NULL};
        RUN(1, "forward vae-encode --model '%s' -i '%s/x20.safetensors' -o '%s/o.safetensors'",
            model, dir, dir);
    }
    {
        const char *needles[] = {"noz.safetensors", "`z` is missing", NULL};
        RUN(1, "forward vae-decode --model '%s' -i '%s/noz.safetensors' -o '%s/o.safetensors'",
            model, dir, dir);
    }
    /* weights that do not match */
    write_model("wide", NULL, NULL, 8);
    {
        const char *needles[] = {"wide/diffusion_pytorch_model.safetensors",
                                 "encoder.conv_in.weight", "[4, 3, 3, 3, 3]", "[8, 3, 3, 3, 3]",
                                 NULL};
        RUN(1, "forward vae-decode --model '%s/wide' -i '%s/z.safetensors' -o '%s/o.safetensors'",
            dir, dir, dir);
    }
    write_model("missing", "decoder.up_blocks.1.upsamplers.0.time_conv.weight", NULL, 4);
    {
        const char *needles[] = {"missing/diffusion_pytorch_model.safetensors",
                                 "decoder.up_blocks.1.upsamplers.0.time_conv.weight is missing",
                                 NULL};
        RUN(1, "forward vae-decode --model '%s/missing' -i '%s/z.safetensors' -o '%s/o.safetensors'",
            dir, dir, dir);
    }
    write_model("extra", NULL, "decoder.extra.weight", 4);
    {
        const char *needles[] = {"extra/diffusion_pytorch_model.safetensors",
                                 "decoder.extra.weight is not part of", NULL};
        RUN(1, "forward vae-decode --model '%s/extra' -i '%s/z.safetensors' -o '%s/o.safetensors'",
            dir, dir, dir);
    }
    /* a pickle, and no VAE at all */
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/pth' && : > '%s/pth/Wan2.1_VAE.pth'", dir, dir);
    CHECK_EQ_INT(system(cmd), 0);
    {
        const char *needles[] = {"Wan2.1_VAE.pth", "pickle", "Wan2.1_VAE.safetensors", NULL};
        RUN(1, "forward vae-decode --model '%s/pth' -i '%s/z.safetensors' -o '%s/o.safetensors'",
            dir, dir, dir);
    }
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/empty'", dir);
    CHECK_EQ_INT(system(cmd), 0);
    {
        const char *needles[] = {"empty", "no VAE here", NULL};
        RUN(1, "forward vae-decode --model '%s/empty' -i '%s/z.safetensors' -o '%s/o.safetensors'",
            dir, dir, dir);
    }
    {
        const char *needles[] = {"--vae-tile 100", "multiple of 8", NULL};
        RUN(2, "forward vae-decode --model '%s' -i '%s/z.safetensors' -o '%s/o.safetensors' "
            "--vae-tile 100", model, dir, dir);
    }
#ifndef SF_TEST_MINIMAL
    /* images: one that decodes (binary PPM) and encodes like the same pixels given as `x`, one
     * that does not decode, one whose size is not a multiple of 8 */
    write_ppm("ok.ppm", 24, 16);
    write_ppm("odd.ppm", 20, 16);
    snprintf(cmd, sizeof cmd, "printf 'not a png at all' > '%s/bad.png'", dir);
    CHECK_EQ_INT(system(cmd), 0);
    {
        const char *needles[] = {"bad.png", "cannot be decoded", NULL};
        RUN(1, "forward vae-encode --model '%s' --image '%s/bad.png' -o '%s/o.safetensors'",
            model, dir, dir);
    }
    {
        const char *needles[] = {"odd.ppm", "the image is 20x16 pixels", "multiples of 8", NULL};
        RUN(1, "forward vae-encode --model '%s' --image '%s/odd.ppm' -o '%s/o.safetensors'",
            model, dir, dir);
    }
    snprintf(args, sizeof args, "'%s' forward vae-encode --model '%s' --image '%s/ok.ppm' -o "
             "'%s/img.safetensors' >/dev/null 2>&1 && '%s' forward vae-encode --model '%s' -i "
             "'%s/ok.safetensors' -o '%s/ten.safetensors' >/dev/null 2>&1", sf, model, dir, dir,
             sf, model, dir, dir);
    CHECK_EQ_INT(system(args), 0);
    same_tensor("img.safetensors", "ten.safetensors", "z");
#else
    {   /* the minimal build has no FFmpeg and says so */
        const char *needles[] = {"a.png", "needs FFmpeg", NULL};
        RUN(1, "forward vae-encode --model '%s' --image '%s/a.png' -o '%s/o.safetensors'",
            model, dir, dir);
    }
#endif
    /* a whole official checkpoint dir from mkmodel: its config.json is the DiT's, the VAE is
     * Wan2.1_VAE.safetensors beside it; a pipeline dir: vae/ */
    snprintf(args, sizeof args, "'%s' mkmodel --vae-dim 8 --layout official -o '%s/off' 2>/dev/null && "
             "'%s' forward vae-decode --model '%s/off' -i '%s/z.safetensors' -o '%s/o1.safetensors' "
             ">/dev/null 2>&1 && '%s' mkmodel --vae-dim 8 -o '%s/pipe' 2>/dev/null && '%s' forward "
             "vae-decode --model '%s/pipe' -i '%s/z.safetensors' -o '%s/o2.safetensors' >/dev/null "
             "2>&1", sf, dir, sf, dir, dir, dir, sf, dir, sf, dir, dir, dir);
    CHECK_EQ_INT(system(args), 0);
    same_tensor("o1.safetensors", "o2.safetensors", "x"); /* one seed, both layouts: same VAE */
    /* and the good input works */
    {
        snprintf(args, sizeof args, "'%s' forward vae-decode --model '%s' -i '%s/z.safetensors' "
                 "-o '%s/o.safetensors' >/dev/null 2>&1", sf, model, dir, dir);
        CHECK_EQ_INT(system(args), 0);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    system(cmd);
    return sf_test_result("vae_errors");
}
