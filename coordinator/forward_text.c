/* forward_text.c — `shotfarm forward text --model DIR -i IN.safetensors -o OUT.safetensors`:
 * the umT5 encoder on token ids (docs/forward.md § text). IN holds input_ids (B, L) and
 * optionally attention_mask (B, L); OUT gets last_hidden_state (B, N, d_model) fp32 cut to
 * N = the longest true token count, and seq_lens (B). The golden tests drive this command.
 * The subtle thing: the mask must be right-padded (1...1 0...0, as the tokenizer's
 * padding='max_length' gives) because the output is cut to the true count, as Wan does; a row
 * shorter than N is zero past its own count. */
#include "sf_cli.h"
#include "sf_forward.h"
#include "sf_log.h"
#include "sf_ops.h"
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_umt5.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "forward text"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: shotfarm forward text --model DIR -i IN.safetensors -o OUT.safetensors\n"
            "\n"
            "Runs the umT5 text encoder (DIR/text_encoder/, transformers or Wan names).\n"
            "  IN:  input_ids (B, L) int64/int32; attention_mask (B, L) int64/int32/uint8, 1 for\n"
            "       tokens and 0 for right padding (absent: every token is valid)\n"
            "  OUT: last_hidden_state (B, N, d_model) fp32, N = the longest true token count\n"
            "       (rows past a shorter prompt's count are 0); seq_lens (B) int64\n"
            "  --model DIR   model directory (or the text_encoder directory itself)\n"
            "  -i, --input   input safetensors file\n"
            "  -o, --output  output safetensors file (written atomically)\n"
            "See docs/forward.md.\n");
}

/* Reads an integer (B, L) tensor as int64; dtypes I64, I32, U8. */
static int read_ints(const char *path, const struct sf_st_tensor *t, int64_t *dst)
{
    uint64_t n = t->n_elems;
    if (t->dtype == SF_DTYPE_I64) return sf_st_read_all(t, SF_DTYPE_I64, dst, n * sizeof *dst);
    if (t->dtype == SF_DTYPE_I32) {
        int32_t v;
        for (uint64_t i = 0; i < n; i++) {
            memcpy(&v, (const char *)t->data + i * 4, 4);
            dst[i] = v;
        }
        return SF_OK;
    }
    if (t->dtype == SF_DTYPE_U8) {
        for (uint64_t i = 0; i < n; i++)
            dst[i] = ((const uint8_t *)t->data)[i];
        return SF_OK;
    }
    SF_ERROR("forward", "%s: tensor %s is %s; it must be int64, int32 or uint8", path, t->name,
             sf_dtype_name(t->dtype));
    return SF_E_FORMAT;
}

int sf_forward_text(int argc, char **argv)
{
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"input", required_argument, 0, 'i'},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model = NULL, *in = NULL, *outp = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "m:i:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'i':
            in = optarg;
            break;
        case 'o':
            outp = optarg;
            break;
        case 'h':
            usage(stdout);
            return SF_OK;
        default:
            return sf_cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return sf_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!model || !in || !outp) return sf_cli_usage_error(CMD, "--model, -i and -o are required");

    int st = SF_OK;
    struct sf_st *ist = NULL;
    struct sf_umt5 *te = NULL;
    int64_t *ids = NULL, *mask = NULL, *lens = NULL;
    float *hs = NULL;

    sf_threads_init(0);
    SF_TRY(st, sf_st_open(in, &ist));
    const struct sf_st_tensor *tid = sf_st_find(ist, "input_ids");
    const struct sf_st_tensor *tmask = sf_st_find(ist, "attention_mask");
    if (!tid) {
        SF_ERROR("forward", "%s: no tensor input_ids; write the token ids (B, L) under that name",
                 in);
        st = SF_E_FORMAT;
        goto out;
    }
    if (tid->n_dims != 2 || tid->shape[0] < 1 || tid->shape[1] < 1) {
        char sh[96];
        sf_st_shape_str(tid->n_dims, tid->shape, sh, sizeof sh);
        SF_ERROR("forward", "%s: input_ids has shape %s; it must be (batch, tokens), both >= 1", in,
                 sh);
        st = SF_E_FORMAT;
        goto out;
    }
    const int64_t B = tid->shape[0], L = tid->shape[1];
    if (tmask && (tmask->n_dims != 2 || tmask->shape[0] != B || tmask->shape[1] != L)) {
        char sh[96];
        sf_st_shape_str(tmask->n_dims, tmask->shape, sh, sizeof sh);
        SF_ERROR("forward",
                 "%s: attention_mask has shape %s but input_ids is [%lld, %lld]; they "
                 "must match",
                 in, sh, (long long)B, (long long)L);
        st = SF_E_FORMAT;
        goto out;
    }
    ids = malloc((size_t)(B * L) * sizeof *ids);
    mask = malloc((size_t)(B * L) * sizeof *mask);
    lens = malloc((size_t)B * sizeof *lens);
    if (!ids || !mask || !lens) {
        st = SF_E_NOMEM;
        goto out;
    }
    SF_TRY(st, read_ints(in, tid, ids));
    if (tmask) {
        SF_TRY(st, read_ints(in, tmask, mask));
    } else {
        for (int64_t i = 0; i < B * L; i++)
            mask[i] = 1;
    }

    /* true counts; the mask must be 1...1 0...0 with at least one token */
    int64_t N = 0;
    for (int64_t b = 0; b < B; b++) {
        int64_t n = 0;
        for (int64_t j = 0; j < L; j++) {
            int64_t v = mask[b * L + j];
            if (v != 0 && v != 1) {
                SF_ERROR("forward", "%s: attention_mask[%lld][%lld] = %lld; it must be 0 or 1", in,
                         (long long)b, (long long)j, (long long)v);
                st = SF_E_FORMAT;
                goto out;
            }
            if (v == 1 && n != j) {
                SF_ERROR("forward",
                         "%s: attention_mask row %lld has a 1 at %lld after a 0; pad on "
                         "the right (tokenizer padding='max_length')",
                         in, (long long)b, (long long)j);
                st = SF_E_FORMAT;
                goto out;
            }
            n += v;
        }
        if (n == 0) {
            SF_ERROR("forward",
                     "%s: attention_mask row %lld has no token; every prompt needs at "
                     "least </s>",
                     in, (long long)b);
            st = SF_E_FORMAT;
            goto out;
        }
        lens[b] = n;
        if (n > N) N = n;
    }

    double t0 = sf_log_elapsed();
    SF_TRY(st, sf_umt5_load(model, &te));
    double t1 = sf_log_elapsed();
    const struct sf_umt5_config *cfg = sf_umt5_get_config(te);
    const int64_t D = cfg->d_model;
    for (int64_t b = 0; b < B; b++) {
        for (int64_t j = 0; j < lens[b]; j++) {
            int64_t v = ids[b * L + j];
            if (v < 0 || v >= cfg->vocab_size) {
                SF_ERROR("forward",
                         "%s: input_ids[%lld][%lld] = %lld is outside the vocabulary "
                         "[0, %lld) of %s; tokenize with this model's tokenizer",
                         in, (long long)b, (long long)j, (long long)v, (long long)cfg->vocab_size,
                         sf_umt5_get_dir(te));
                st = SF_E_INVAL;
                goto out;
            }
        }
    }
    hs = calloc((size_t)(B * N * D), sizeof *hs);
    if (!hs) {
        st = SF_E_NOMEM;
        goto out;
    }
    for (int64_t b = 0; b < B; b++)
        SF_TRY(st, sf_umt5_encode(te, ids + b * L, lens[b], hs + b * N * D));
    double t2 = sf_log_elapsed();
    struct sf_st_desc d[2] = {
        {.name = "last_hidden_state",
         .dtype = SF_DTYPE_F32,
         .n_dims = 3,
         .shape = {B, N, D},
         .data = hs},
        {.name = "seq_lens", .dtype = SF_DTYPE_I64, .n_dims = 1, .shape = {B}, .data = lens},
    };
    SF_TRY(st, sf_st_write(outp, d, 2, NULL, 0, NULL, NULL));
    SF_INFO("forward", "text: %lld prompt(s), up to %lld tokens: load %.2f s, encode %.2f s -> %s",
            (long long)B, (long long)N, t1 - t0, t2 - t1, outp);
out:
    free(hs);
    free(ids);
    free(mask);
    free(lens);
    sf_umt5_destroy(te);
    sf_st_close(ist);
    return st;
}
