/* forward_text.c — `shotfarm forward text --model DIR -i IN.safetensors -o OUT.safetensors`:
 * the umT5 encoder on token ids (docs/forward.md § text). IN holds input_ids, (L) for one prompt
 * as every forward component takes it, or (B, L) as transformers' tokenizer gives it, and
 * optionally attention_mask of the same shape; OUT gets last_hidden_state (N, d_model) or
 * (B, N, d_model) fp32 cut to N = the (longest) true token count, and seq_lens. The golden tests
 * drive this command.
 * The subtle thing: the mask must be right-padded (1...1 0...0, as the tokenizer's
 * padding='max_length' gives) because the output is cut to the true count, as Wan does; a row
 * shorter than N is zero past its own count. */
#define _POSIX_C_SOURCE 200809L
#include "sf_cli.h"
#include "sf_cost.h"
#include "sf_forward.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_ops.h"
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_umt5.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMD "forward text"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: shotfarm forward text --model DIR -i IN.safetensors -o OUT.safetensors "
            "[--threads N] [--json]\n\n"
            "The umT5 text encoder (transformers UMT5EncoderModel or Wan t5.py names, fp32/bf16/\n"
            "fp16).\n"
            "IN holds:\n"
            "  input_ids       (L) one prompt, or (B, L)  token ids, int64 or int32\n"
            "  attention_mask  same shape, optional       1 for tokens, 0 for padding on the\n"
            "                                             right (absent: all tokens valid)\n"
            "OUT gets:\n"
            "  last_hidden_state  (N, d_model), or (B, N, d_model)  float32, cut to N = the true\n"
            "                     token count (the longest of the batch; shorter rows end in 0)\n"
            "  seq_lens           [1] or (B) int64                   each prompt's true count\n"
            "See docs/forward.md.\n\n"
            "options:\n"
            "  --model DIR     model directory or file (a text_encoder directory, a pipeline,\n"
            "                  an official checkpoint, or a bare Wan-named .safetensors)\n"
            "  -i, --input     input safetensors\n"
            "  -o, --output    output safetensors (written atomically)\n"
            "  --threads N     compute threads (default: SF_THREADS, else cores / local ranks)\n"
            "  --json          print one JSON document with shapes, timing and FLOPs\n");
}

/* "[b][j]" for a batch, "[j]" for one prompt. */
static const char *at(char *buf, size_t n, int batched, int64_t b, int64_t j)
{
    if (batched)
        snprintf(buf, n, "[%lld][%lld]", (long long)b, (long long)j);
    else
        snprintf(buf, n, "[%lld]", (long long)j);
    return buf;
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
                                         {"threads", required_argument, 0, 'T'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model = NULL, *in = NULL, *outp = NULL;
    long threads = 0;
    int c, json = 0;
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
        case 'T':
            if (sf_cli_parse_int(CMD, "--threads", optarg, 1, 4096, &threads)) return SF_E_USAGE;
            break;
        case 'j':
            json = 1;
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
    char ix[64];

    if (threads) sf_threads_init((int)threads);
    SF_TRY(st, sf_st_open(in, &ist));
    const struct sf_st_tensor *tid = sf_st_find(ist, "input_ids");
    const struct sf_st_tensor *tmask = sf_st_find(ist, "attention_mask");
    if (!tid) {
        SF_ERROR("forward",
                 "%s: no tensor input_ids; write the token ids, (L) or (B, L), under that name",
                 in);
        st = SF_E_FORMAT;
        goto out;
    }
    /* (L): one prompt, no batch dimension, as every forward component; (B, L): a batch */
    const int batched = tid->n_dims == 2;
    if (tid->n_dims < 1 || tid->n_dims > 2 || tid->shape[0] < 1 ||
        tid->shape[tid->n_dims - 1] < 1) {
        char sh[96];
        sf_st_shape_str(tid->n_dims, tid->shape, sh, sizeof sh);
        SF_ERROR("forward",
                 "%s: input_ids has shape %s; it must be (tokens) or (batch, tokens), all >= 1", in,
                 sh);
        st = SF_E_FORMAT;
        goto out;
    }
    const int64_t B = batched ? tid->shape[0] : 1, L = tid->shape[tid->n_dims - 1];
    if (tmask && (tmask->n_dims != tid->n_dims || tmask->shape[0] != tid->shape[0] ||
                  tmask->shape[tmask->n_dims - 1] != L)) {
        char sh[96], ish[96];
        sf_st_shape_str(tmask->n_dims, tmask->shape, sh, sizeof sh);
        sf_st_shape_str(tid->n_dims, tid->shape, ish, sizeof ish);
        SF_ERROR("forward", "%s: attention_mask has shape %s but input_ids is %s; they must match",
                 in, sh, ish);
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
                SF_ERROR("forward", "%s: attention_mask%s = %lld; it must be 0 or 1", in,
                         at(ix, sizeof ix, batched, b, j), (long long)v);
                st = SF_E_FORMAT;
                goto out;
            }
            if (v == 1 && n != j) {
                SF_ERROR("forward",
                         "%s: attention_mask%s is 1 after a 0; pad on the right (tokenizer "
                         "padding='max_length')",
                         in, at(ix, sizeof ix, batched, b, j));
                st = SF_E_FORMAT;
                goto out;
            }
            n += v;
        }
        if (n == 0) {
            if (batched)
                snprintf(ix, sizeof ix, " row %lld", (long long)b);
            else
                ix[0] = 0;
            SF_ERROR("forward",
                     "%s: attention_mask%s has no token; every prompt needs at least </s>", in, ix);
            st = SF_E_FORMAT;
            goto out;
        }
        lens[b] = n;
        if (n > N) N = n;
    }

    double t0 = sf_time_now();
    SF_TRY(st, sf_umt5_load(model, &te));
    double t1 = sf_time_now();
    const struct sf_umt5_config *cfg = sf_umt5_get_config(te);
    const int64_t D = cfg->d_model;
    for (int64_t b = 0; b < B; b++) {
        for (int64_t j = 0; j < lens[b]; j++) {
            int64_t v = ids[b * L + j];
            if (v < 0 || v >= cfg->vocab_size) {
                SF_ERROR("forward",
                         "%s: input_ids%s = %lld is outside the vocabulary [0, %lld) of %s; "
                         "tokenize with this model's tokenizer",
                         in, at(ix, sizeof ix, batched, b, j), (long long)v,
                         (long long)cfg->vocab_size, sf_umt5_get_dir(te));
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
    double t2 = sf_time_now();
    struct sf_st_desc d[2] = {
        {.name = "last_hidden_state", .dtype = SF_DTYPE_F32, .n_dims = batched ? 3 : 2},
        {.name = "seq_lens", .dtype = SF_DTYPE_I64, .n_dims = 1, .shape = {B}, .data = lens},
    };
    int64_t shape3[3] = {B, N, D};
    memcpy(d[0].shape, batched ? shape3 : shape3 + 1, (size_t)d[0].n_dims * sizeof(int64_t));
    d[0].data = hs;
    SF_TRY(st, sf_st_write(outp, d, 2, NULL, 0, NULL, NULL));

    double flops = 0;
    for (int64_t b = 0; b < B; b++)
        flops += sf_cost_umt5_encode(cfg->d_model, cfg->n_heads * cfg->d_kv, cfg->d_ff,
                                     cfg->n_layers, lens[b]);
    char shape[96];
    sf_st_shape_str(d[0].n_dims, d[0].shape, shape, sizeof shape);
    if (json) {
        struct sf_jw w;
        sf_jw_init(&w, stdout, 2);
        sf_jw_obj_begin(&w);
        sf_jw_key(&w, "component"), sf_jw_str(&w, "text");
        sf_jw_key(&w, "output"), sf_jw_str(&w, outp);
        sf_jw_key(&w, "shape"), sf_jw_arr_begin(&w);
        for (int i = 0; i < d[0].n_dims; i++)
            sf_jw_int(&w, d[0].shape[i]);
        sf_jw_arr_end(&w);
        sf_jw_key(&w, "seq_lens"), sf_jw_arr_begin(&w);
        for (int64_t b = 0; b < B; b++)
            sf_jw_int(&w, lens[b]);
        sf_jw_arr_end(&w);
        sf_jw_key(&w, "load_seconds"), sf_jw_num(&w, t1 - t0);
        sf_jw_key(&w, "forward_seconds"), sf_jw_num(&w, t2 - t1);
        sf_jw_key(&w, "flops"), sf_jw_num(&w, flops);
        sf_jw_obj_end(&w);
        sf_jw_finish(&w);
    } else {
        printf("%s: last_hidden_state f32%s, %lld prompt(s): load %.2f s, forward %.3f s (%.1f "
               "GFLOP, %.1f GFLOP/s)\n",
               outp, shape, (long long)B, t1 - t0, t2 - t1, flops / 1e9,
               t2 > t1 ? flops / (t2 - t1) / 1e9 : 0.0);
    }
out:
    free(hs);
    free(ids);
    free(mask);
    free(lens);
    sf_umt5_destroy(te);
    sf_st_close(ist);
    return st;
}
