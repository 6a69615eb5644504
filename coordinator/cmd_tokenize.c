/* cmd_tokenize.c — `shotfarm tokenize`: prompts on stdin, one per line, to umT5 token ids on
 * stdout, one JSON array per line, as Wan's pipeline makes them (prompt cleaning, then the
 * tokenizer with truncation to --max-len and the trailing </s>). The subtle thing: output lines
 * stay aligned with input lines, so an invalid line stops the command (naming the line) rather
 * than being skipped. */
#define _POSIX_C_SOURCE 200809L
#include "sf_cli.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_status.h"
#include "sf_tokenizer.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: shotfarm tokenize --tokenizer FILE [--max-len N] [--pad] [--no-clean]\n\n"
            "Reads one UTF-8 prompt per line on stdin and prints its umT5 token ids as one JSON\n"
            "array per line. Prompts are cleaned as Wan does (ftfy subset, HTML unescaping,\n"
            "whitespace collapsed; see node/sf_prompt_clean.h), then tokenized with the\n"
            "tokenizer.json FILE: pieces, then </s>, truncated to N ids (default 512, Wan's).\n\n"
            "  --tokenizer FILE  a Hugging Face tokenizer.json of the Unigram kind (umT5's)\n"
            "  --max-len N       at most N ids per prompt, </s> included (default 512)\n"
            "  --pad             pad every line to N ids with <pad> (Wan's padding='max_length')\n"
            "  --no-clean        tokenize the text as it is, without Wan's prompt cleaning\n");
}

int sf_cmd_tokenize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tokenizer", required_argument, 0, 't'}, {"max-len", required_argument, 0, 'm'},
        {"pad", no_argument, 0, 'p'},             {"no-clean", no_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    const char *path = NULL;
    long max_len = 512;
    int pad = 0, no_clean = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': path = optarg; break;
        case 'm':
            if (sf_cli_parse_int("tokenize", "--max-len", optarg, 1, 1 << 20, &max_len))
                return SF_E_USAGE;
            break;
        case 'p': pad = 1; break;
        case 'n': no_clean = 1; break;
        case 'h': usage(stdout); return SF_OK;
        default: return sf_cli_usage_error("tokenize", "unknown option");
        }
    }
    if (optind < argc) return sf_cli_usage_error("tokenize", "unexpected argument '%s'", argv[optind]);
    if (!path) return sf_cli_usage_error("tokenize", "--tokenizer FILE is required");

    struct sf_tokenizer *tok = NULL;
    int st = sf_tokenizer_load(path, &tok);
    if (st) return st;
    int32_t *ids = malloc((size_t)max_len * sizeof *ids);
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    if (!ids) { st = SF_E_NOMEM; goto out; }
    ssize_t got;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        size_t len = (size_t)got, n = 0;
        if (len && line[len - 1] == '\n') len--;
        char what[64];
        snprintf(what, sizeof what, "stdin line %ld", lineno);
        st = sf_tokenizer_encode_prompt(tok, line, len, what, !no_clean, (int)max_len, pad, ids, &n);
        if (st) goto out;
        struct sf_jw w;
        sf_jw_init(&w, stdout, 0);
        sf_jw_arr_begin(&w);
        for (size_t i = 0; i < n; i++) sf_jw_int(&w, ids[i]);
        sf_jw_arr_end(&w);
        sf_jw_finish(&w);
    }
    if (ferror(stdin)) {
        SF_ERROR("tokenize", "stdin: read error after line %ld", lineno);
        st = SF_E_IO;
    }
out:
    free(line);
    free(ids);
    sf_tokenizer_destroy(tok);
    if (fflush(stdout) != 0 && st == SF_OK) st = SF_E_IO;
    return st;
}
