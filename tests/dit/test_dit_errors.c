/* test_dit_errors.c — every way `shotfarm forward dit` (the binary) and sf_dit_forward refuse bad
 * input (an error line naming the tensor, a non-zero exit or status, no output written), and
 Uses the committed tiny fixture model
 * tests/fixtures/dit/h3-f32 (dim 48, 3 heads, text_dim 32, in/out 16). */
#include "sf_dit.h"
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_test.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static char model[1024], dir[1024];
static const char *shotfarm;

/* Writes an input file with x (xs), t (ts) and context (cs); a NULL shape leaves that tensor
 * out; a t dims count of -1 writes t as int64. Returns the path. */
static const char *write_input(const char *name, const int64_t *xs, int tdims, const int64_t *ts,
                               const int64_t *cs)
{
    static char path[1200];
    static float buf[1 << 16];
    static int64_t t_i64 = 500;
    struct sf_st_desc d[3];
    size_t n = 0;
    sf_test_fill(buf, sizeof buf / sizeof buf[0], 7);
    buf[0] = 500.0f;
    if (xs)
        d[n++] = (struct sf_st_desc){.name = "x",
                                     .dtype = SF_DTYPE_F32,
                                     .n_dims = xs[3] ? 4 : 3,
                                     .shape = {xs[0], xs[1], xs[2], xs[3]},
                                     .data = buf};
    if (ts) {
        d[n] = (struct sf_st_desc){.name = "t",
                                   .dtype = tdims < 0 ? SF_DTYPE_I64 : SF_DTYPE_F32,
                                   .n_dims = tdims < 0 ? 0 : tdims,
                                   .data = tdims < 0 ? (void *)&t_i64 : buf};
        for (int i = 0; i < d[n].n_dims; i++)
            d[n].shape[i] = ts[i];
        n++;
    }
    if (cs)
        d[n++] = (struct sf_st_desc){.name = "context",
                                     .dtype = SF_DTYPE_F32,
                                     .n_dims = 2,
                                     .shape = {cs[0], cs[1]},
                                     .data = buf};
    snprintf(path, sizeof path, "%s/%s.in.safetensors", dir, name);
    CHECK_EQ_INT(sf_st_write(path, d, n, NULL, 0, NULL, NULL), SF_OK);
    return path;
}

/* Runs the binary with stderr captured; returns its exit code (-1 if it did not exit). */
static int run(const char *in, const char *out, const char *model_path, const char *errfile)
{
    char cmd[5000];
    snprintf(cmd, sizeof cmd, "'%s' forward dit --model '%s' -i '%s' -o '%s' >/dev/null 2>'%s'",
             shotfarm, model_path, in, out, errfile);
    int rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Exit code want; on failure an error line containing `says`. */
static void expect(const char *what, int want, const char *says, const char *in)
{
    char out[1200], err[1200], text[4096] = "";
    snprintf(out, sizeof out, "%s/err.out.safetensors", dir);
    snprintf(err, sizeof err, "%s/err.stderr", dir);
    unlink(out);
    int got = run(in, out, model, err);
    FILE *f = fopen(err, "r");
    if (f) {
        text[fread(text, 1, sizeof text - 1, f)] = 0;
        fclose(f);
    }
    if (got != want) {
        fprintf(stderr, "%s: exit %d, want %d; stderr:\n%s", what, got, want, text);
        sf_test_failures++;
    }
    if (want != 0 && (!strstr(text, "error") || !strstr(text, says))) {
        fprintf(stderr, "%s: stderr lacks an error naming '%s':\n%s", what, says, text);
        sf_test_failures++;
    }
    if (want != 0 && access(out, F_OK) == 0) {
        fprintf(stderr, "%s: an output was written despite the error\n", what);
        sf_test_failures++;
    }
}

int main(void)
{
    const char *src = getenv("SF_SOURCE_DIR"), *bin = getenv("SF_BINARY_DIR");
    shotfarm = getenv("SF_SHOTFARM");
    if (!src || !bin || !shotfarm) return 1;
    snprintf(model, sizeof model, "%s/tests/fixtures/dit/h3-f32", src);
    snprintf(dir, sizeof dir, "%s/tests/dit", bin);
    const int64_t x_ok[4] = {16, 2, 4, 6}, c_ok[2] = {5, 32}, one[1] = {1};

    expect("good input", 0, "", write_input("good", x_ok, 0, one, c_ok));
    expect("t as [1]", 0, "", write_input("t1", x_ok, 1, one, c_ok));
    expect("t as int64", 0, "", write_input("ti64", x_ok, -1, one, c_ok));
    expect("empty context", 0, "", write_input("c0", x_ok, 0, one, (int64_t[]){0, 32}));
    expect("512 context rows", 0, "", write_input("c512", x_ok, 0, one, (int64_t[]){512, 32}));
    expect("x missing", 1, "`x` is missing", write_input("nox", NULL, 0, one, c_ok));
    expect("t missing", 1, "`t`", write_input("not", x_ok, 0, NULL, c_ok));
    expect("context missing", 1, "`context` is missing", write_input("noc", x_ok, 0, one, NULL));
    expect("t of two values", 1, "`t` has shape [2]",
           write_input("t2", x_ok, 1, (int64_t[]){2}, c_ok));
    expect("x with 15 channels", 1, "`x` has 15 channels",
           write_input("x15", (int64_t[]){15, 2, 4, 6}, 0, one, c_ok));
    expect("x without channels", 1, "`x` has shape [2, 4, 6]",
           write_input("x3d", (int64_t[]){2, 4, 6, 0}, 0, one, c_ok));
    expect("odd latent height", 1, "multiples of the patch size",
           write_input("xodd", (int64_t[]){16, 2, 5, 6}, 0, one, c_ok));
    expect("context too wide", 1, "`context` has shape [5, 33]",
           write_input("cw", x_ok, 0, one, (int64_t[]){5, 33}));
    expect("513 context rows", 1, "`context` has shape [513, 32]",
           write_input("c513", x_ok, 0, one, (int64_t[]){513, 32}));

    char out[1200], err[1200], bad_model[1200], cmd[3000];
    snprintf(out, sizeof out, "%s/err.out.safetensors", dir);
    snprintf(err, sizeof err, "%s/err.stderr", dir);
    snprintf(bad_model, sizeof bad_model, "%s/no-such-model", dir);
    CHECK(run(write_input("good", x_ok, 0, one, c_ok), out, bad_model, err) == 1);
    /* usage errors exit 2 */
    snprintf(cmd, sizeof cmd, "'%s' forward dit --model '%s' 2>/dev/null", shotfarm, model);
    int rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 2);
    snprintf(cmd, sizeof cmd, "'%s' forward dit --bogus 2>/dev/null", shotfarm);
    rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 2);
    snprintf(cmd, sizeof cmd, "'%s' forward dit --help | grep -q 'context'", shotfarm);
    CHECK(system(cmd) == 0);

    { /* the API's own checks */
        struct sf_dit *m = NULL;
        struct sf_dit_opts o = {.max_tokens = 12};
        CHECK_EQ_INT(sf_dit_load(model, &o, &m), SF_OK);
        if (m) {
            static float x[16 * 4 * 4 * 6], ctx[600 * 32], y[16 * 4 * 4 * 6];
            CHECK_EQ_INT(sf_dit_forward(m, x, (int64_t[]){2, 4, 6}, 1, ctx, 3, y), SF_OK);
            CHECK_EQ_INT(sf_dit_forward(m, x, (int64_t[]){4, 4, 6}, 1, ctx, 3, y), SF_E_INVAL);
            CHECK_EQ_INT(sf_dit_forward(m, x, (int64_t[]){2, 4, 6}, 1, ctx, 513, y), SF_E_INVAL);
            CHECK_EQ_INT(sf_dit_forward(m, x, (int64_t[]){2, 4, 6}, 1, ctx, -1, y), SF_E_INVAL);
            CHECK_EQ_INT(sf_dit_forward(m, x, (int64_t[]){0, 4, 6}, 1, ctx, 3, y), SF_E_INVAL);
            const float *xv[2] = {x, x}, *cv[2] = {ctx, ctx};
            float *ov[2] = {y, y};
            CHECK_EQ_INT(sf_dit_forward_batch(m, 2, xv, (int64_t[]){2, 4, 6}, (double[]){1, 1}, cv,
                                              (int64_t[]){3, 3}, ov),
                         SF_E_INVAL);
            struct sf_dit_context *cc = NULL;
            CHECK_EQ_INT(sf_dit_context_create(m, ctx, 513, &cc), SF_E_INVAL);
            CHECK(cc == NULL);
            sf_dit_context_destroy(NULL);
            CHECK_EQ_INT(sf_dit_get_config(m)->n_heads, 3);
            CHECK(sf_dit_weight_bytes(m) > 0);
        }
        sf_dit_destroy(m);
        sf_dit_destroy(NULL);
        struct sf_dit_opts bad = {0};
        CHECK_EQ_INT(sf_dit_load(model, &bad, &m), SF_E_INVAL);
        CHECK(m == NULL);
        struct sf_dit_opts big = {.max_tokens = 12, .max_batch = SF_DIT_MAX_BATCH + 1};
        CHECK_EQ_INT(sf_dit_load(model, &big, &m), SF_E_INVAL);
        CHECK(m == NULL);
    }

    return sf_test_result("dit_errors");
}
