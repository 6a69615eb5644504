/* bench/tokenize.c — prompts per second through Wan's cleaning and the umT5 tokenizer, on the
 * golden strings (tests/fixtures/tokenizer/golden.json, 2260 strings in 5 languages and the odd
 * categories), single thread. bench/tokenize_ref.py times the `tokenizers` library (and ftfy +
 * html for the cleaning) on the same strings; BENCHMARKS.md has both.
 *
 *   build/bench/tokenize [--reps N] [TOKENIZER_JSON [GOLDEN_JSON]]
 */
#define _POSIX_C_SOURCE 200809L
#include "sf_json.h"
#include "sf_log.h"
#include "sf_prompt_clean.h"
#include "sf_tokenizer.h"

#include <stdio.h>
#include "sf_file.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The whole file, or NULL (the reason is logged). */
static char *read_all(const char *path, size_t *n)
{
    char *p = NULL;
    return sf_file_read_all(path, (size_t)1 << 30, &p, n) == 0 ? p : NULL;
}

int main(int argc, char **argv)
{
    int reps = 20, a = 1;
    if (argc > 2 && !strcmp(argv[1], "--reps")) {
        reps = atoi(argv[2]);
        a = 3;
    }
    const char *tok_path = argc > a ? argv[a] : "examples/models/tokenizer.json";
    const char *gold_path = argc > a + 1 ? argv[a + 1] : "tests/fixtures/tokenizer/golden.json";
    struct sf_tokenizer *tok = NULL;
    if (sf_tokenizer_load(tok_path, &tok)) return 1;
    size_t n;
    char *text = read_all(gold_path, &n), err[256];
    struct sf_json_doc *doc = text ? sf_json_parse(text, n, err, sizeof err) : NULL;
    if (!doc) {
        fprintf(stderr, "%s: cannot read the golden strings\n", gold_path);
        return 1;
    }
    const struct sf_json *cases = sf_json_get(sf_json_root(doc), "cases");
    int32_t ids[512];
    size_t n_ids, total_ids = 0, total_bytes = 0;
    int tr;
    for (size_t i = 0; i < cases->n; i++) total_bytes += sf_json_get(cases->items[i], "text")->str_len;
    double best_enc = 1e30, best_all = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = sf_time_now();
        total_ids = 0;
        for (size_t i = 0; i < cases->n; i++) {
            const struct sf_json *c = sf_json_get(cases->items[i], "clean");
            sf_tokenizer_encode(tok, c->str, c->str_len, 512, 0, ids, &n_ids, &tr);
            total_ids += n_ids;
        }
        double t1 = sf_time_now();
        for (size_t i = 0; i < cases->n; i++) {
            const struct sf_json *c = sf_json_get(cases->items[i], "text");
            char *clean = NULL;
            size_t cl;
            sf_prompt_clean(c->str, c->str_len, &clean, &cl, NULL);
            sf_tokenizer_encode(tok, clean, cl, 512, 0, ids, &n_ids, &tr);
            free(clean);
        }
        double t2 = sf_time_now();
        if (t1 - t0 < best_enc) best_enc = t1 - t0;
        if (t2 - t1 < best_all) best_all = t2 - t1;
    }
    printf("shotfarm tokenize: %zu strings (%zu bytes, %zu ids), best of %d\n", cases->n,
           total_bytes, total_ids, reps);
    printf("  encode only      %8.1f ms  %8.2f us/string  %6.2f M ids/s\n", best_enc * 1e3,
           best_enc * 1e6 / (double)cases->n, (double)total_ids / best_enc * 1e-6);
    printf("  clean + encode   %8.1f ms  %8.2f us/string\n", best_all * 1e3,
           best_all * 1e6 / (double)cases->n);
    sf_json_free(doc);
    free(text);
    sf_tokenizer_destroy(tok);
    return 0;
}
