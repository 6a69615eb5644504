/* test_vace_errors.c — every way the VACE path refuses bad input, each with one error line that
 * names the file or tensor and the fix and a non-zero exit (the binary) or SF_E_INVAL (the API):
 * a VACE input for a model without VACE layers, a VACE model without one, a scale of the wrong
 * length, a conditioning for another latent, both a ready and a raw input, a latent too short
 * for its references, sizes the mask fold cannot take, a config whose vace_layers do not start
 * at 0. Also the reference noise keys (sf_vace_noise): the video's noise does not change when
 * references are added, and no reference's noise changes when another is appended. Uses the
 * committed fixtures tests/fixtures/dit/h3-f32 (no VACE) and tests/fixtures/vace/v3-f32. */
#include "sf_dit.h"
#include "sf_rng.h"
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_test.h"
#include "sf_vace.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static char src[1024], dir[1024];
static const char *shotfarm;
static float buf[1 << 18];

/* A tensor of IN: name and shape (n_dims from the zeros at the end). */
struct t {
    const char *name;
    int64_t shape[4];
};

static const char *write_in(const char *name, const struct t *ts, int n)
{
    static char path[1200];
    struct sf_st_desc d[8];
    sf_test_fill(buf, sizeof buf / sizeof buf[0], 5);
    buf[0] = 500.0f; /* t */
    for (int i = 0; i < n; i++) {
        int nd = 0;
        while (nd < 4 && ts[i].shape[nd]) nd++;
        d[i] = (struct sf_st_desc){.name = ts[i].name, .dtype = SF_DTYPE_F32, .n_dims = nd,
                                   .data = buf};
        memcpy(d[i].shape, ts[i].shape, sizeof ts[i].shape);
    }
    snprintf(path, sizeof path, "%s/%s.in.safetensors", dir, name);
    CHECK_EQ_INT(sf_st_write(path, d, (size_t)n, NULL, 0, NULL, NULL), SF_OK);
    return path;
}

/* Runs `shotfarm ARGS` with stderr captured: it must fail, and its stderr must hold `says`. */
static void refuses(const char *what, const char *args, const char *says)
{
    char cmd[5000], err[1200], text[4096] = "";
    snprintf(err, sizeof err, "%s/err.stderr", dir);
    snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>'%s'", shotfarm, args, err);
    int rc = system(cmd);
    FILE *f = fopen(err, "r");
    if (f) {
        text[fread(text, 1, sizeof text - 1, f)] = 0;
        fclose(f);
    }
    int failed = rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) != 0;
    if (!failed || !strstr(text, says)) {
        fprintf(stderr, "%s: want a failure saying '%s'; exit %d, stderr:\n%s", what, says,
                rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, text);
        sf_test_failures++;
    } else {
        int errors = 0; /* one error line (an info line about the loaded model may precede it) */
        for (const char *p = text; (p = strstr(p, "error:")); p++) errors++;
        CHECK(errors == 1);
    }
}

static void cli_errors(void)
{
    char args[4000], t2v[1200], vm[1200], vae[1200], out[1200];
    snprintf(t2v, sizeof t2v, "%s/tests/fixtures/dit/h3-f32", src);
    snprintf(vm, sizeof vm, "%s/tests/fixtures/vace/v3-f32", src);
    snprintf(vae, sizeof vae, "%s/tests/fixtures/vae/small/vae", src);
    snprintf(out, sizeof out, "%s/err.out.safetensors", dir);
    const struct t x = {"x", {16, 3, 6, 10}}, t = {"t", {1}}, ctx = {"context", {7, 32}};
    const struct t vace = {"vace", {96, 3, 6, 10}};

    const char *in = write_in("t2v-with-vace", (struct t[]){x, t, ctx, vace}, 4);
    snprintf(args, sizeof args, "forward dit --model '%s' -i '%s' -o '%s'", t2v, in, out);
    refuses("VACE input, model without VACE", args, "h3-f32/config.json: this DiT has no VACE "
            "layers (no vace_layers in its config), so it cannot take a VACE input");

    in = write_in("vace-without", (struct t[]){x, t, ctx}, 3);
    snprintf(args, sizeof args, "forward dit --model '%s' -i '%s' -o '%s'", vm, in, out);
    refuses("VACE model, no VACE input", args, "v3-f32/config.json: this is a Wan2.1-VACE DiT "
            "(vace_layers in its config) and needs a VACE input");

    in = write_in("scale", (struct t[]){x, t, ctx, vace, {"vace_scale", {2}}}, 5);
    snprintf(args, sizeof args, "forward dit --model '%s' -i '%s' -o '%s'", vm, in, out);
    refuses("scale of the wrong length", args, "`vace_scale` has 2 values; the model");

    in = write_in("frames", (struct t[]){x, t, ctx, {"vace", {96, 1, 6, 10}}}, 4);
    snprintf(args, sizeof args, "forward dit --model '%s' -i '%s' -o '%s'", vm, in, out);
    refuses("conditioning of another latent", args, "the VACE input covers a latent of (1, 6, "
            "10), the model runs on (3, 6, 10)");

    in = write_in("both", (struct t[]){x, t, ctx, vace, {"ref0", {3, 8, 8}}}, 5);
    snprintf(args, sizeof args, "forward dit --model '%s' -i '%s' -o '%s'", vm, in, out);
    refuses("ready and raw", args, "holds a ready `vace` tensor and references/video/mask too");

    in = write_in("short", (struct t[]){{"x", {16, 2, 4, 4}}, t, ctx, {"ref0", {3, 8, 8}},
                                        {"ref1", {3, 8, 8}}}, 5);
    snprintf(args, sizeof args, "forward dit --model '%s' --vae '%s' -i '%s' -o '%s'", vm, vae,
             in, out);
    refuses("latent too short for its references", args, "a latent of 2 frames cannot hold 2 "
            "reference frames");

    in = write_in("size", (struct t[]){{"video", {3, 5, 24, 32}}}, 1);
    snprintf(args, sizeof args, "forward vace --vae '%s' -i '%s' -o '%s'", vae, in, out);
    refuses("sizes the mask fold cannot take", args, "height and width multiples of 16");

    in = write_in("refs-only", (struct t[]){{"ref0", {3, 8, 8}}}, 1);
    snprintf(args, sizeof args, "forward vace --vae '%s' -i '%s' -o '%s'", vae, in, out);
    refuses("references without a size", args, "give --frames, --height and --width");

    /* a config whose vace_layers do not start at 0 */
    char bad[1200], cmd[8192];
    snprintf(bad, sizeof bad, "%s/bad-layers", dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s' && sed -i 's/\"vace_layers\": \\[/"
             "\"vace_layers\": [7, /' '%s/config.json'", bad, vm, bad, bad);
    CHECK(system(cmd) == 0);
    in = write_in("x", (struct t[]){x, t, ctx, vace}, 4);
    snprintf(args, sizeof args, "forward dit --model '%s' -i '%s' -o '%s'", bad, in, out);
    refuses("vace_layers not from 0", args, "bad-layers/config.json: vace_layers [7, 0, 1, 3] "
            "must start at 0 and strictly increase below num_layers 4");
}

static void api_errors(void)
{
    char t2v[1200], vm[1200];
    snprintf(t2v, sizeof t2v, "%s/tests/fixtures/dit/h3-f32", src);
    snprintf(vm, sizeof vm, "%s/tests/fixtures/vace/v3-f32", src);
    struct sf_dit_opts o = {.max_latent = {3, 6, 10}, .max_batch = 1};
    struct sf_dit *m = NULL;
    const int64_t thw[3] = {3, 6, 10};
    static float x[16 * 3 * 6 * 10], cond[96 * 3 * 6 * 10], y[16 * 3 * 6 * 10], ctx[7 * 32];
    CHECK_EQ_INT(sf_dit_load(t2v, &o, &m), SF_OK);
    if (m) CHECK_EQ_INT(sf_dit_set_vace(m, cond, thw, NULL), SF_E_INVAL);
    if (m) CHECK_EQ_INT(sf_dit_set_vace(m, NULL, thw, NULL), SF_OK); /* clearing is fine */
    sf_dit_destroy(m);
    m = NULL;
    CHECK_EQ_INT(sf_dit_load(vm, &o, &m), SF_OK);
    if (!m) return;
    CHECK_EQ_INT(sf_dit_forward(m, x, thw, 500, ctx, 7, y), SF_E_INVAL); /* no conditioning */
    CHECK_EQ_INT(sf_dit_set_vace(m, cond, (int64_t[]){1, 6, 10}, NULL), SF_OK);
    CHECK_EQ_INT(sf_dit_forward(m, x, thw, 500, ctx, 7, y), SF_E_INVAL); /* another latent */
    CHECK_EQ_INT(sf_dit_set_vace(m, cond, thw, NULL), SF_OK);
    CHECK_EQ_INT(sf_dit_forward(m, x, thw, 500, ctx, 7, y), SF_OK);
    /* the scale weighs the hints: at 0 the output no longer depends on the conditioning */
    static float y0[16 * 3 * 6 * 10], y1[16 * 3 * 6 * 10];
    const float zero[3] = {0, 0, 0};
    sf_test_fill(cond, sizeof cond / sizeof cond[0], 3);
    CHECK_EQ_INT(sf_dit_set_vace(m, cond, thw, zero), SF_OK);
    CHECK_EQ_INT(sf_dit_forward(m, x, thw, 500, ctx, 7, y0), SF_OK);
    sf_test_fill(cond, sizeof cond / sizeof cond[0], 4);
    CHECK_EQ_INT(sf_dit_forward(m, x, thw, 500, ctx, 7, y1), SF_OK);
    CHECK(memcmp(y0, y1, sizeof y0) == 0);
    CHECK_EQ_INT(sf_dit_set_vace(m, cond, thw, NULL), SF_OK);
    CHECK_EQ_INT(sf_dit_forward(m, x, thw, 500, ctx, 7, y1), SF_OK);
    CHECK(memcmp(y0, y1, sizeof y0) != 0);
    sf_dit_destroy(m);
}

/* Reference noise keys: stable video frames, stable references, render's keys without refs. */
static void noise_keys(void)
{
    const int64_t plane = 12, V = 3;
    static float n0[16 * 3 * 12], n2[16 * 5 * 12], n3[16 * 6 * 12], direct[12];
    sf_vace_noise(42, 1, 16, 0, V, plane, n0);
    sf_vace_noise(42, 1, 16, 2, V, plane, n2);
    sf_vace_noise(42, 1, 16, 3, V, plane, n3);
    for (int c = 0; c < 16; c++) {
        for (int64_t f = 0; f < V; f++) {
            /* render's keys (coordinator/render_work.c): ids (aspect, frame, channel) */
            struct sf_rng r;
            sf_rng_init(&r, 42, (uint64_t[]){1, (uint64_t)f, (uint64_t)c}, 3);
            sf_rng_normal(&r, 0, direct, (size_t)plane);
            CHECK(memcmp(n0 + (c * V + f) * plane, direct, sizeof direct) == 0);
            CHECK(memcmp(n2 + (c * (V + 2) + 2 + f) * plane, direct, sizeof direct) == 0);
            CHECK(memcmp(n3 + (c * (V + 3) + 3 + f) * plane, direct, sizeof direct) == 0);
        }
        /* reference i sits at position n_refs - 1 - i: refs 0 and 1 keep their noise when a
         * third is appended (it takes position 0) */
        for (int i = 0; i < 2; i++)
            CHECK(memcmp(n2 + (c * (V + 2) + 1 - i) * plane, n3 + (c * (V + 3) + 2 - i) * plane,
                         (size_t)plane * sizeof(float)) == 0);
        CHECK(memcmp(n3 + (c * (V + 3)) * plane, n3 + (c * (V + 3) + 1) * plane,
                     (size_t)plane * sizeof(float)) != 0);
    }
}

int main(void)
{
    const char *s, *bin;
    if (sf_test_env(&s, &bin, &shotfarm)) return 1;
    snprintf(src, sizeof src, "%s", s);
    snprintf(dir, sizeof dir, "%s/tests/vace", bin);
    cli_errors();
    api_errors();
    noise_keys();
    return sf_test_result("vace_errors");
}
