/* test_umt5_golden.c — the umT5 encoder against transformers' UMT5EncoderModel
 * (scripts/golden/umt5.py, fixtures in tests/fixtures/umt5/). Two configs, each a batch of two
 * right-padded 224-token prompts (one over 200 tokens, so the logarithmic buckets and the
 * max-distance clamp are used), through `shotfarm forward text`:
 *   - fp32 weights vs the fp32 reference:                       <= 1e-4 * max|ref| (valid rows)
 *   - bf16 weights vs the fp32 reference on the rounded weights: <= 1e-4 * max|ref|
 *   - the bf16 weights under Wan's t5.py names (config a without config.json): same reference,
 *     also given as a bare .safetensors file (config inferred from the shapes)
 *   - every relative position in [-1100, 1100]: the reference's bucket, exactly. */
#include "sf_umt5.h"
#include "umt5_test_util.h"

#define TOL 1e-4
#define SPAN 1100

static void check_buckets(const char *dir, struct sf_st *io)
{
    struct sf_umt5 *m = NULL;
    CHECK(sf_umt5_load(dir, &m) == 0);
    if (!m) return;
    const struct sf_umt5_config *c = sf_umt5_get_config(m);
    uint64_t n = 0;
    int64_t *want = read_i64(io, "buckets", &n);
    CHECK_EQ_INT(n, 2 * SPAN + 1);
    int bad = 0;
    for (int64_t r = -SPAN; want && r <= SPAN && bad < 5; r++) {
        int got = sf_umt5_bucket(r, c->num_buckets, c->max_distance);
        if (got != want[r + SPAN]) {
            fprintf(stderr, "%s: bucket(%lld) = %d, reference %lld\n", dir, (long long)r, got,
                    (long long)want[r + SPAN]);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    free(want);
    sf_umt5_destroy(m);
}

/* Runs forward text on fix/variant (a model path) with io's inputs; compares the valid rows with
 * ref_name. */
static void check_forward(const char *fix, const char *variant, const char *io_path,
                          struct sf_st *io, const char *ref_name, enum sf_umt5_names names)
{
    char dir[4096], args[8192], err[4096], what[256], tag[128];
    snprintf(dir, sizeof dir, "%s/%s", fix, variant);
    snprintf(what, sizeof what, "%s vs %s", variant, ref_name);
    snprintf(tag, sizeof tag, "%s", variant);
    for (char *p = tag; *p; p++)
        if (*p == '/' || *p == '.') *p = '_';

    struct sf_umt5 *m = NULL;
    CHECK(sf_umt5_load(dir, &m) == 0);
    if (m) CHECK_EQ_INT(sf_umt5_get_names(m), names);
    sf_umt5_destroy(m);

    snprintf(args, sizeof args, "forward text --model '%s' -i '%s' -o out_%s.safetensors", dir,
             io_path, tag);
    int lines;
    int rc = run_shotfarm(args, "golden_err.txt", &lines, err, sizeof err);
    if (rc != 0) fprintf(stderr, "%s: shotfarm exit %d:\n%s", what, rc, err);
    CHECK_EQ_INT(rc, 0);
    if (rc) return;

    char out_path[512];
    snprintf(out_path, sizeof out_path, "out_%s.safetensors", tag);
    struct sf_st *out = NULL;
    CHECK(sf_st_open(out_path, &out) == 0);
    if (!out) return;
    const struct sf_st_tensor *ref_t = sf_st_find(io, ref_name);
    const struct sf_st_tensor *got_t = sf_st_find(out, "last_hidden_state");
    const struct sf_st_tensor *mask_t = sf_st_find(io, "attention_mask");
    CHECK(ref_t && got_t && mask_t);
    if (!ref_t || !got_t || !mask_t) {
        sf_st_close(out);
        return;
    }
    int64_t B = ref_t->shape[0], L = ref_t->shape[1], D = ref_t->shape[2];
    int64_t *mask = read_i64(io, "attention_mask", NULL);
    int64_t *lens = read_i64(out, "seq_lens", NULL);
    float *ref = read_f32(io, ref_name, NULL);
    float *got = read_f32(out, "last_hidden_state", NULL);
    int64_t N = 0, total = 0;
    for (int64_t b = 0; b < B; b++) {
        int64_t n = 0;
        for (int64_t j = 0; j < L; j++)
            n += mask[b * L + j];
        CHECK_EQ_INT(lens[b], n);
        if (n > N) N = n;
        total += n;
    }
    CHECK_EQ_INT(got_t->n_dims, 3);
    CHECK_EQ_INT(got_t->shape[0], B);
    CHECK_EQ_INT(got_t->shape[1], N);
    CHECK_EQ_INT(got_t->shape[2], D);
    /* gather the valid rows of both; rows past a prompt's count must be zero */
    float *gv = malloc((size_t)(total * D) * sizeof *gv),
          *rv = malloc((size_t)(total * D) * sizeof *rv);
    int64_t k = 0, nonzero_pad = 0;
    for (int64_t b = 0; b < B; b++) {
        for (int64_t j = 0; j < N; j++) {
            const float *g = got + (b * N + j) * D;
            if (j < lens[b]) {
                memcpy(gv + k * D, g, (size_t)D * sizeof *gv);
                memcpy(rv + k * D, ref + (b * L + j) * D, (size_t)D * sizeof *rv);
                k++;
            } else {
                for (int64_t e = 0; e < D; e++)
                    nonzero_pad += g[e] != 0.0f;
            }
        }
    }
    CHECK_EQ_INT(nonzero_pad, 0);
    if (sf_test_close_f32(what, gv, rv, (size_t)(total * D), TOL)) {
        double worst = 0, mx = 0;
        for (int64_t i = 0; i < total * D; i++) {
            double d = fabs((double)gv[i] - rv[i]);
            if (d > worst) worst = d;
            if (fabs(rv[i]) > mx) mx = fabs(rv[i]);
        }
        fprintf(stderr, "%s: max|a-b| %.3g = %.3g * max|ref| over %lld valid rows\n", what, worst,
                worst / mx, (long long)total);
    }
    free(gv);
    free(rv);
    free(mask);
    free(lens);
    free(ref);
    free(got);
    sf_st_close(out);
}

int main(void)
{
    char fix[4096], io_path[4200], dir[4200];
    snprintf(fix, sizeof fix, "%s/tests/fixtures/umt5", env_or_die("SF_SOURCE_DIR"));
    const char *cfgs[] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        char v32[8], v16[16], vwan[16];
        snprintf(v32, sizeof v32, "%s", cfgs[i]);
        snprintf(v16, sizeof v16, "%s_bf16", cfgs[i]);
        snprintf(vwan, sizeof vwan, "%s_wan", cfgs[i]);
        snprintf(io_path, sizeof io_path, "%s/%s_io.safetensors", fix, cfgs[i]);
        struct sf_st *io = NULL;
        CHECK(sf_st_open(io_path, &io) == 0);
        if (!io) continue;
        snprintf(dir, sizeof dir, "%s/%s", fix, v32);
        check_buckets(dir, io);
        check_forward(fix, v32, io_path, io, "last_hidden_state", SF_UMT5_NAMES_HF);
        check_forward(fix, v16, io_path, io, "last_hidden_state_bf16", SF_UMT5_NAMES_HF);
        check_forward(fix, vwan, io_path, io, "last_hidden_state_bf16", SF_UMT5_NAMES_WAN);
        /* the component directory itself, and a bare Wan-named file (a converted .pth) */
        char sub[64];
        snprintf(sub, sizeof sub, "%s/text_encoder", v32);
        check_forward(fix, sub, io_path, io, "last_hidden_state", SF_UMT5_NAMES_HF);
        snprintf(sub, sizeof sub, "%s/text_encoder/model.safetensors", vwan);
        check_forward(fix, sub, io_path, io, "last_hidden_state_bf16", SF_UMT5_NAMES_WAN);
        sf_st_close(io);
    }
    return sf_test_result("umt5_golden");
}
