/* Golden test (issue 12): for every string of scripts/golden/tokenizer_strings.py, Wan's
 * cleaning (sf_prompt_clean) must give the text Python gave, and the tokenizer the ids the
 * `tokenizers` library gave, id for id: on the cleaned text, on the raw text, under five
 * rewrites of tokenizer.json (both Metaspace forms, first/never, byte_fallback, the
 * WhitespaceSplit form) and with padding. Strings whose cleaning differs only because ftfy's
 * encoding repair (mojibake fixing) changed them are compared with fix_encoding=False and are
 * counted and listed. Fixture: tests/fixtures/tokenizer/golden.json. */
#define _POSIX_C_SOURCE 200809L
#include "sf_json.h"
#include "sf_prompt_clean.h"
#include "sf_status.h"
#include "sf_test.h"
#include "sf_tokenizer.h"

#include "sf_file.h"

#include <stdlib.h>
#include <string.h>

/* The whole file, or NULL (the reason is logged). */
static char *read_all(const char *path, size_t *n)
{
    char *p = NULL;
    return sf_file_read_all(path, (size_t)1 << 30, &p, n) == 0 ? p : NULL;
}

static void show(const char *what, const char *s)
{
    fprintf(stderr, "  %s: \"", what);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == '"' || *p == '\\') fprintf(stderr, "\\x%02x", *p);
        else fputc(*p, stderr);
    fprintf(stderr, "\"\n");
}

static int fails_shown;

/* Encodes text and compares with the fixture's id array; prints the first difference. */
static int check_ids(const struct sf_tokenizer *tok, const char *text, size_t len,
                     const struct sf_json *want, int max_len, int pad, const char *what, long idx)
{
    int32_t ids[1024];
    size_t n = 0;
    int trunc = 0;
    int st = sf_tokenizer_encode(tok, text, len, max_len, pad, ids, &n, &trunc);
    int ok = st == SF_OK && want && n == want->n;
    size_t at = 0;
    for (; ok && at < n; at++)
        if (want->items[at]->integer != ids[at]) ok = 0;
    if (!ok && fails_shown++ < 12) {
        fprintf(stderr, "%s mismatch, string %ld (status %d, %zu ids, want %zu), first at %zu:\n",
                what, idx, st, n, want ? want->n : 0, at ? at - 1 : 0);
        show("text", text);
        fprintf(stderr, "  got: ");
        for (size_t i = 0; i < n && i < 40; i++) fprintf(stderr, "%d ", ids[i]);
        fprintf(stderr, "\n  want:");
        for (size_t i = 0; want && i < want->n && i < 40; i++)
            fprintf(stderr, " %lld", (long long)want->items[i]->integer);
        fprintf(stderr, "\n");
    }
    return ok;
}

static char *replace_once(const char *s, const char *a, const char *b)
{
    const char *p = strstr(s, a);
    if (!p || strstr(p + 1, a)) return NULL;
    size_t la = strlen(a), lb = strlen(b), ls = strlen(s);
    char *o = malloc(ls - la + lb + 1);
    memcpy(o, s, (size_t)(p - s));
    memcpy(o + (p - s), b, lb);
    strcpy(o + (p - s) + lb, p + la);
    return o;
}

int main(void)
{
    const char *src = getenv("SF_SOURCE_DIR");
    if (!src) src = ".";
    char path[4096], tpath[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/tokenizer/golden.json", src);
    snprintf(tpath, sizeof tpath, "%s/examples/models/tokenizer.json", src);
    size_t n, tn;
    char *text = read_all(path, &n), *tjson = read_all(tpath, &tn);
    CHECK(text && tjson);
    if (!text || !tjson) return sf_test_result("tokenizer_golden");
    char err[256];
    struct sf_json_doc *doc = sf_json_parse(text, n, err, sizeof err);
    CHECK(doc);
    if (!doc) { fprintf(stderr, "%s: %s\n", path, err); return 1; }
    const struct sf_json *root = sf_json_root(doc);
    const struct sf_json *cases = sf_json_get(root, "cases");
    int64_t max_len = 512;
    sf_json_get_int(root, "max_len", &max_len);
    struct sf_tokenizer *tok = NULL;
    CHECK_EQ_INT(sf_tokenizer_parse(tjson, tn, tpath, &tok), SF_OK);
    if (!tok || !cases) return sf_test_result("tokenizer_golden");

    enum { MAXCAT = 64 };
    const char *cat_name[MAXCAT];
    int cat_n[MAXCAT], cat_bad[MAXCAT], n_cat = 0;
    int clean_bad = 0, ids_bad = 0, raw_bad = 0, repaired = 0;
    for (size_t i = 0; i < cases->n; i++) {
        const struct sf_json *c = cases->items[i];
        const char *cat = sf_json_get_str(c, "cat");
        int ci = 0;
        while (ci < n_cat && strcmp(cat_name[ci], cat)) ci++;
        if (ci == n_cat && n_cat < MAXCAT) {
            cat_name[n_cat] = cat;
            cat_n[n_cat] = cat_bad[n_cat] = 0;
            n_cat++;
        }
        cat_n[ci]++;
        const struct sf_json *t = sf_json_get(c, "text");
        const struct sf_json *want_clean = sf_json_get(c, "clean_noenc");
        const struct sf_json *want_ids = sf_json_get(c, "ids_noenc");
        if (want_clean) {
            repaired++;
            fprintf(stderr, "encoding repair (not done by shotfarm) changes string %zu:\n", i);
            show("text", t->str);
            show("ftfy", sf_json_get_str(c, "clean"));
            show("ours", want_clean->str);
        } else {
            want_clean = sf_json_get(c, "clean");
            want_ids = sf_json_get(c, "ids");
        }
        char *clean = NULL;
        size_t clen = 0;
        int st = sf_prompt_clean(t->str, t->str_len, &clean, &clen, NULL);
        int ok = st == SF_OK && clen == want_clean->str_len && !memcmp(clean, want_clean->str, clen);
        if (!ok) {
            clean_bad++;
            cat_bad[ci]++;
            if (fails_shown++ < 12) {
                fprintf(stderr, "clean mismatch, string %zu (%s):\n", i, cat);
                show("text", t->str);
                show("got", clean ? clean : "(null)");
                show("want", want_clean->str);
            }
        }
        if (!check_ids(tok, want_clean->str, want_clean->str_len, want_ids, (int)max_len, 0,
                       "ids", (long)i)) {
            ids_bad++;
            cat_bad[ci]++;
        }
        if (!check_ids(tok, t->str, t->str_len, sf_json_get(c, "raw_ids"), (int)max_len, 0,
                       "raw ids", (long)i)) {
            raw_bad++;
            cat_bad[ci]++;
        }
        free(clean);
    }
    for (int ci = 0; ci < n_cat; ci++)
        fprintf(stderr, "  %-15s %4d strings, %d mismatches\n", cat_name[ci], cat_n[ci], cat_bad[ci]);
    fprintf(stderr, "%zu strings: %d cleaning, %d id, %d raw-id mismatches; %d changed by ftfy's "
                    "encoding repair (compared without it)\n",
            cases->n, clean_bad, ids_bad, raw_bad, repaired);
    CHECK_EQ_INT(clean_bad, 0);
    CHECK_EQ_INT(ids_bad, 0);
    CHECK_EQ_INT(raw_bad, 0);
    CHECK(cases->n >= 2000);

    const struct sf_json *variants = sf_json_get(root, "variants");
    for (size_t v = 0; variants && v < variants->n; v++) {
        const struct sf_json *var = variants->items[v];
        const struct sf_json *reps = sf_json_get(var, "replace");
        char *vj = strdup(tjson);
        for (size_t r = 0; vj && r < reps->n; r++) {
            char *nj = replace_once(vj, reps->items[r]->items[0]->str, reps->items[r]->items[1]->str);
            free(vj);
            vj = nj;
        }
        CHECK(vj);
        struct sf_tokenizer *vt = NULL;
        const char *vname = sf_json_get_str(var, "name");
        CHECK_EQ_INT(vj ? sf_tokenizer_parse(vj, strlen(vj), vname, &vt) : -1, SF_OK);
        const struct sf_json *vc = sf_json_get(var, "cases");
        int bad = 0;
        for (size_t k = 0; vt && k < vc->n; k++) {
            size_t idx = (size_t)vc->items[k]->items[0]->integer;
            const struct sf_json *t = sf_json_get(cases->items[idx], "text");
            bad += !check_ids(vt, t->str, t->str_len, vc->items[k]->items[1], (int)max_len, 0,
                              vname, (long)idx);
        }
        fprintf(stderr, "variant %-32s %zu strings, %d mismatches\n", vname, vc->n, bad);
        CHECK_EQ_INT(bad, 0);
        sf_tokenizer_destroy(vt);
        free(vj);
    }
    const struct sf_json *padded = sf_json_get(root, "padded");
    int pbad = 0;
    for (size_t k = 0; padded && k < padded->n; k++) {
        const struct sf_json *p = padded->items[k];
        int64_t idx, ml;
        sf_json_get_int(p, "index", &idx);
        sf_json_get_int(p, "max_len", &ml);
        const struct sf_json *cl = sf_json_get(cases->items[idx], "clean_noenc");
        if (!cl) cl = sf_json_get(cases->items[idx], "clean");
        else continue; /* the fixture padded ftfy's repaired text */
        pbad += !check_ids(tok, cl->str, cl->str_len, sf_json_get(p, "ids"), (int)ml, 1, "padded",
                           (long)idx);
    }
    fprintf(stderr, "padded: %zu cases, %d mismatches\n", padded ? padded->n : 0, pbad);
    CHECK_EQ_INT(pbad, 0);
    sf_tokenizer_destroy(tok);
    sf_json_free(doc);
    free(text);
    free(tjson);
    return sf_test_result("tokenizer_golden");
}
