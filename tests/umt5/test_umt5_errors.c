/* test_umt5_errors.c — bad input to the umT5 encoder and `shotfarm forward text` gives one
 * stderr line that names the file and the tensor or key, and a non-zero exit: ids outside the
 * vocabulary, mask/ids shape mismatch, masks that are not 0/1 right padding, and weights that do
 * not match config.json (a wrong size, too few or too many layers, an unsupported FFN). Uses the
 * tiny fixture weights of config a (tests/fixtures/umt5/a). */
#define _POSIX_C_SOURCE 200809L /* symlink */
#include "sf_umt5.h"
#include "umt5_test_util.h"

#include <sys/stat.h>
#include <unistd.h>

static char fix_model[4200];

/* Writes input_ids (and attention_mask unless mask == NULL) of shape (b, l) / (mb, ml). */
static void write_input(const char *path, const int64_t *ids, int64_t b, int64_t l,
                        const int64_t *mask, int64_t mb, int64_t ml)
{
    struct sf_st_desc d[2] = {
        {.name = "input_ids", .dtype = SF_DTYPE_I64, .n_dims = 2, .shape = {b, l}, .data = ids},
        {.name = "attention_mask",
         .dtype = SF_DTYPE_I64,
         .n_dims = 2,
         .shape = {mb, ml},
         .data = mask},
    };
    CHECK(sf_st_write(path, d, mask ? 2 : 1, NULL, 0, NULL, NULL) == 0);
}

/* Runs forward text on model with input in; expects failure with one line containing want. */
static void expect_fail(const char *what, const char *model, const char *in, const char *want)
{
    char args[8192], err[4096];
    int lines;
    snprintf(args, sizeof args, "forward text --model '%s' -i '%s' -o err_out.safetensors", model,
             in);
    unlink("err_out.safetensors");
    int rc = run_shotfarm(args, "errors_err.txt", &lines, err, sizeof err);
    int ok = rc != 0 && lines == 1 && strstr(err, want) != NULL;
    if (!ok)
        fprintf(stderr, "%s: exit %d, %d line(s), want one line with \"%s\":\n%s", what, rc, lines,
                want, err);
    CHECK(ok);
    CHECK(access("err_out.safetensors", F_OK) != 0);
}

/* A model dir whose text_encoder/ links the fixture weights and has config.json = cfg. */
static void make_model(const char *dir, const char *cfg)
{
    char p[4400];
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/text_encoder", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/text_encoder/model.safetensors", dir);
    unlink(p);
    char src[4400];
    snprintf(src, sizeof src, "%s/text_encoder/model.safetensors", fix_model);
    CHECK(symlink(src, p) == 0);
    snprintf(p, sizeof p, "%s/text_encoder/config.json", dir);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(cfg, f);
        fclose(f);
    }
}

#define CFG(extra, layers, dff)                                                                    \
    "{\"vocab_size\": 256, \"d_model\": 64, \"d_kv\": 16, \"num_heads\": 4, \"d_ff\": " dff        \
    ", \"num_layers\": " layers ", \"relative_attention_num_buckets\": 32" extra "}"

int main(void)
{
    snprintf(fix_model, sizeof fix_model, "%s/tests/fixtures/umt5/a", env_or_die("SF_SOURCE_DIR"));
    int64_t ids[2 * 8], mask[2 * 8];
    for (int i = 0; i < 16; i++) {
        ids[i] = 5 + i;
        mask[i] = (i % 8) < 6;
    }

    /* a good run first, so the failures below are about the input */
    write_input("good.safetensors", ids, 2, 8, mask, 2, 8);
    char args[8192], err[4096];
    int lines;
    snprintf(args, sizeof args,
             "forward text --model '%s' -i good.safetensors -o good_out.safetensors", fix_model);
    CHECK_EQ_INT(run_shotfarm(args, "errors_err.txt", &lines, err, sizeof err), 0);

    /* one prompt without a batch dimension (and no mask) = row 0 of the batched run */
    struct sf_st_desc one = {
        .name = "input_ids", .dtype = SF_DTYPE_I64, .n_dims = 1, .shape = {6}, .data = ids};
    CHECK(sf_st_write("one.safetensors", &one, 1, NULL, 0, NULL, NULL) == 0);
    snprintf(args, sizeof args,
             "forward text --model '%s' -i one.safetensors -o one_out.safetensors", fix_model);
    CHECK_EQ_INT(run_shotfarm(args, "errors_err.txt", &lines, err, sizeof err), 0);
    struct sf_st *a = NULL, *b = NULL;
    CHECK(sf_st_open("one_out.safetensors", &a) == 0 &&
          sf_st_open("good_out.safetensors", &b) == 0);
    if (a && b) {
        const struct sf_st_tensor *ta = sf_st_find(a, "last_hidden_state");
        const struct sf_st_tensor *tb = sf_st_find(b, "last_hidden_state");
        CHECK(ta && ta->n_dims == 2 && ta->shape[0] == 6 && ta->shape[1] == 64);
        CHECK(tb && tb->n_dims == 3 && tb->shape[0] == 2 && tb->shape[1] == 6);
        if (ta && tb) CHECK(memcmp(ta->data, tb->data, 6 * 64 * sizeof(float)) == 0);
    }
    sf_st_close(a);
    sf_st_close(b);
    int64_t one_bad[6] = {5, 6, 7, 256, 1, 0};
    one.data = one_bad;
    CHECK(sf_st_write("one_bad.safetensors", &one, 1, NULL, 0, NULL, NULL) == 0);
    expect_fail("1-D id out of range", fix_model, "one_bad.safetensors", "input_ids[3] = 256");

    /* inputs */
    int64_t bad_ids[16];
    memcpy(bad_ids, ids, sizeof ids);
    bad_ids[8 + 3] = 256; /* == vocab_size */
    write_input("bad_id.safetensors", bad_ids, 2, 8, mask, 2, 8);
    expect_fail("id out of range", fix_model, "bad_id.safetensors", "input_ids[1][3] = 256");
    bad_ids[8 + 3] = -1;
    write_input("neg_id.safetensors", bad_ids, 2, 8, mask, 2, 8);
    expect_fail("negative id", fix_model, "neg_id.safetensors", "input_ids[1][3] = -1");
    memcpy(bad_ids, ids, sizeof ids);
    bad_ids[7] = 999; /* in a pad position: never looked up */
    write_input("pad_id.safetensors", bad_ids, 2, 8, mask, 2, 8);
    snprintf(args, sizeof args,
             "forward text --model '%s' -i pad_id.safetensors -o pad_out.safetensors", fix_model);
    CHECK_EQ_INT(run_shotfarm(args, "errors_err.txt", &lines, err, sizeof err), 0);

    write_input("shape.safetensors", ids, 2, 8, mask, 2, 7);
    expect_fail("mask shape", fix_model, "shape.safetensors", "attention_mask has shape [2, 7]");
    int64_t m2[16];
    memcpy(m2, mask, sizeof mask);
    m2[8 + 7] = 1; /* a 1 after the 0s of row 1 */
    write_input("holes.safetensors", ids, 2, 8, m2, 2, 8);
    expect_fail("left/holed mask", fix_model, "holes.safetensors",
                "attention_mask[1][7] is 1 after a 0");
    memcpy(m2, mask, sizeof mask);
    m2[2] = 2;
    write_input("two.safetensors", ids, 2, 8, m2, 2, 8);
    expect_fail("mask value", fix_model, "two.safetensors", "attention_mask[0][2] = 2");
    memset(m2, 0, sizeof m2);
    write_input("empty.safetensors", ids, 2, 8, m2, 2, 8);
    expect_fail("no token", fix_model, "empty.safetensors", "row 0 has no token");
    struct sf_st_desc only_mask = {.name = "attention_mask",
                                   .dtype = SF_DTYPE_I64,
                                   .n_dims = 2,
                                   .shape = {2, 8},
                                   .data = mask};
    CHECK(sf_st_write("no_ids.safetensors", &only_mask, 1, NULL, 0, NULL, NULL) == 0);
    expect_fail("no input_ids", fix_model, "no_ids.safetensors", "no tensor input_ids");

    /* weights that do not match config.json */
    make_model("m_dff", CFG("", "2", "97"));
    expect_fail("d_ff", "m_dff", "good.safetensors",
                "encoder.block.0.layer.1.DenseReluDense.wi_0.weight has shape [96, 64] but "
                "config.json wants [97, 64]");
    make_model("m_more", CFG("", "3", "96"));
    expect_fail("layers 3", "m_more", "good.safetensors",
                "encoder.block.2.layer.0.layer_norm.weight is missing");
    make_model("m_fewer", CFG("", "1", "96"));
    expect_fail("layers 1", "m_fewer", "good.safetensors",
                "encoder.block.1.layer.0.layer_norm.weight exists but config.json has 1 layers");
    make_model("m_ok", CFG(", \"relative_attention_max_distance\": 128", "2", "96"));
    snprintf(args, sizeof args,
             "forward text --model m_ok -i good.safetensors -o ok_out.safetensors");
    CHECK_EQ_INT(run_shotfarm(args, "errors_err.txt", &lines, err, sizeof err), 0);
    make_model("m_relu", CFG(", \"feed_forward_proj\": \"relu\"", "2", "96"));
    expect_fail("relu", "m_relu", "good.safetensors",
                "feed_forward_proj \"relu\" is not supported");
    make_model("m_nokey", "{\"vocab_size\": 256}");
    expect_fail("missing key", "m_nokey", "good.safetensors", "key \"d_model\" is missing");
    make_model("m_badjson", "{\"vocab_size\": 256,");
    expect_fail("bad json", "m_badjson", "good.safetensors", "config.json");
    expect_fail("no model", "does_not_exist", "good.safetensors", "does_not_exist");

    /* the library API: an id out of range is SF_E_INVAL */
    struct sf_umt5 *m = NULL;
    CHECK(sf_umt5_load(fix_model, &m) == 0);
    if (m) {
        float out[2 * 64];
        int64_t two[2] = {3, 256};
        CHECK(sf_umt5_encode(m, two, 2, out) != 0);
        two[1] = 255;
        CHECK(sf_umt5_encode(m, two, 2, out) == 0);
        sf_umt5_destroy(m);
    }
    return sf_test_result("umt5_errors");
}
