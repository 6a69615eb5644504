/* test_umt5_mkmodel.c — `shotfarm mkmodel` writes a text encoder the loader accepts in every
 * form: a pipeline's text_encoder/ (transformers names), `--component text` (a component
 * directory, --vocab honoured), and the official checkpoint form (Wan names in
 * models_t5_umt5-xxl-enc-bf16.pth.safetensors, config inferred). One seed gives the same
 * weights in both layouts, so `forward text` must give bit-identical states. The tiny encoder's
 * vocabulary must equal the committed test tokenizer's (examples/models/tokenizer.json), when
 * that file is in the tree. A sharded copy (index + 2 shards) gives the same states.
 * sf_model_dir_detect knows a transformers text_encoder directory. */
#include "sf_json.h"
#include "sf_model_dir.h"
#include "sf_umt5.h"
#include "umt5_test_util.h"

#include <unistd.h>

static float *encode(const char *model, const char *tag, uint64_t *n)
{
    char args[8192], err[4096], out[256];
    int lines;
    snprintf(out, sizeof out, "mk_out_%s.safetensors", tag);
    snprintf(args, sizeof args, "forward text --model %s -i mk_in.safetensors -o %s", model, out);
    int rc = run_shotfarm(args, "mk_err.txt", &lines, err, sizeof err);
    if (rc) fprintf(stderr, "%s: exit %d:\n%s", model, rc, err);
    CHECK_EQ_INT(rc, 0);
    struct sf_st *st = NULL;
    if (rc || sf_st_open(out, &st)) return NULL;
    float *h = read_f32(st, "last_hidden_state", n);
    sf_st_close(st);
    return h;
}

static void mk(const char *args)
{
    char full[1024], err[4096];
    int lines;
    snprintf(full, sizeof full, "mkmodel %s", args);
    int rc = run_shotfarm(full, "mk_err.txt", &lines, err, sizeof err);
    if (rc) fprintf(stderr, "mkmodel %s: exit %d:\n%s", args, rc, err);
    CHECK_EQ_INT(rc, 0);
}

/* Entries in the vocabulary of a tokenizer.json (HF tokenizers format). */
static int64_t tokenizer_vocab(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len);
    size_t got = fread(text, 1, (size_t)len, f);
    fclose(f);
    char err[256];
    struct sf_json_doc *doc = sf_json_parse(text, got, err, sizeof err);
    free(text);
    CHECK(doc != NULL);
    if (!doc) return -1;
    const struct sf_json *v = sf_json_get(sf_json_get(sf_json_root(doc), "model"), "vocab");
    int64_t n = v ? (int64_t)v->n : -1;
    sf_json_free(doc);
    return n;
}

/* A sharded copy of model dir src/text_encoder in dst/text_encoder: two shard files and
 * model.safetensors.index.json, as the diffusers Wan pipelines ship umT5-XXL. */
static void make_sharded(const char *src, const char *dst)
{
    char p[4400];
    snprintf(p, sizeof p,
             "rm -rf '%s' && mkdir -p '%s/text_encoder' && cp '%s/text_encoder/"
             "config.json' '%s/text_encoder/'",
             dst, dst, src, dst);
    CHECK_EQ_INT(system(p), 0);
    snprintf(p, sizeof p, "%s/text_encoder/model.safetensors", src);
    struct sf_st *st = NULL;
    CHECK(sf_st_open(p, &st) == 0);
    if (!st) return;
    size_t n = sf_st_count(st), half = n / 2;
    struct sf_st_desc *d = calloc(n, sizeof *d);
    for (size_t i = 0; i < n; i++) {
        const struct sf_st_tensor *t = sf_st_at(st, i);
        d[i] = (struct sf_st_desc){
            .name = t->name, .dtype = t->dtype, .n_dims = t->n_dims, .data = t->data};
        memcpy(d[i].shape, t->shape, sizeof t->shape);
    }
    const char *shard[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/text_encoder/%s", dst, shard[k]);
        CHECK(sf_st_write(p, d + (k ? half : 0), k ? n - half : half, NULL, 0, NULL, NULL) == 0);
    }
    snprintf(p, sizeof p, "%s/text_encoder/model.safetensors.index.json", dst);
    FILE *f = fopen(p, "w");
    fprintf(f, "{\"metadata\": {\"total_size\": %llu}, \"weight_map\": {",
            (unsigned long long)sf_st_total_bytes(st));
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\"%s\": \"%s\"", i ? ", " : "", d[i].name, shard[i >= half]);
    fprintf(f, "}}\n");
    fclose(f);
    free(d);
    sf_st_close(st);
}

int main(void)
{
    CHECK_EQ_INT(system("rm -rf mk_all mk_text mk_off"), 0);
    mk("-o mk_all");
    mk("--layout official -o mk_off");
    mk("--component text --vocab 300 -o mk_text");
    CHECK(access("mk_off/models_t5_umt5-xxl-enc-bf16.pth.safetensors", F_OK) == 0);
    CHECK(access("mk_text/config.json", F_OK) == 0 &&
          access("mk_text/model.safetensors", F_OK) == 0);

    int64_t ids[12] = {5, 17, 250, 299, 1, 0, 7, 1, 0, 0, 0, 0};
    int64_t mask[12] = {1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0};
    struct sf_st_desc d[2] = {
        {.name = "input_ids", .dtype = SF_DTYPE_I64, .n_dims = 2, .shape = {2, 6}, .data = ids},
        {.name = "attention_mask",
         .dtype = SF_DTYPE_I64,
         .n_dims = 2,
         .shape = {2, 6},
         .data = mask},
    };
    CHECK(sf_st_write("mk_in.safetensors", d, 2, NULL, 0, NULL, NULL) == 0);

    uint64_t n1 = 0, n2 = 0, n3 = 0;
    float *a = encode("mk_all", "all", &n1);
    float *b = encode("mk_off", "off", &n2);
    float *c = encode("mk_text", "text", &n3);
    CHECK_EQ_INT(n1, 2 * 5 * 64);
    CHECK(a && b && n1 == n2 && memcmp(a, b, n1 * sizeof *a) == 0);
    CHECK(c && n3 == n1);
    int finite = 1, nonzero = 0; /* prompt 0 has 5 tokens: its 5 rows are all set */
    for (uint64_t i = 0; a && i < n1; i++)
        finite &= isfinite(a[i]);
    for (uint64_t i = 0; a && i < 5 * 64; i++)
        nonzero += a[i] != 0;
    CHECK(finite);
    CHECK(nonzero > 5 * 60);

    /* the same weights in two shards behind model.safetensors.index.json */
    make_sharded("mk_all", "mk_sharded");
    uint64_t n4 = 0;
    float *sh = encode("mk_sharded", "sharded", &n4);
    CHECK(sh && a && n4 == n1 && memcmp(a, sh, n1 * sizeof *a) == 0);
    free(sh);

    struct sf_umt5 *m = NULL;
    CHECK(sf_umt5_load("mk_text", &m) == 0);
    if (m) CHECK_EQ_INT(sf_umt5_get_config(m)->vocab_size, 300);
    sf_umt5_destroy(m);
    m = NULL;
    CHECK(sf_umt5_load("mk_off", &m) == 0);
    if (m) CHECK_EQ_INT(sf_umt5_get_names(m), SF_UMT5_NAMES_WAN);
    sf_umt5_destroy(m);

    /* a transformers config.json (class in "architectures") is a text encoder component */
    struct sf_model_dir md;
    CHECK(sf_model_dir_detect("mk_all/text_encoder", &md) == 0);
    CHECK_EQ_INT(md.kind, SF_MODEL_COMPONENT);
    CHECK_STR(md.component[SF_COMPONENT_TEXT], "mk_all/text_encoder");
    CHECK(sf_model_dir_detect("mk_all", &md) == 0);
    CHECK_STR(md.component[SF_COMPONENT_TEXT], "mk_all/text_encoder");

    char tok[4200];
    snprintf(tok, sizeof tok, "%s/examples/models/tokenizer.json", env_or_die("SF_SOURCE_DIR"));
    int64_t tv = tokenizer_vocab(tok);
    if (tv >= 0)
        CHECK_EQ_INT(SF_UMT5_TINY_VOCAB, tv);
    else
        fprintf(stderr, "umt5_mkmodel: %s not in this tree; vocabulary check skipped\n", tok);
    free(a);
    free(b);
    free(c);
    return sf_test_result("umt5_mkmodel");
}
