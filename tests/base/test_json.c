/* The strict JSON reader: values, escapes, exact integers, and every error with its position. */
#define _POSIX_C_SOURCE 200809L
#include "sf_json.h"
#include <stdlib.h>
#include "sf_test.h"

static void expect_error(const char *text, const char *want_substr)
{
    char err[256];
    struct sf_json_doc *d = sf_json_parse(text, strlen(text), err, sizeof err);
    if (d) {
        fprintf(stderr, "expected an error for: %s\n", text);
        sf_test_failures++;
        sf_json_free(d);
        return;
    }
    if (!strstr(err, want_substr)) {
        fprintf(stderr, "error for %s\n  got:  %s\n  want: ...%s...\n", text, err, want_substr);
        sf_test_failures++;
    }
}

int main(void)
{
    const char *text = "{\n  \"a\": [1, -2.5e1, true, false, null],\n"
                       "  \"s\": \"x\\u00e9\\ud83d\\ude00\\n\\\"\",\n"
                       "  \"big\": 9223372036854775807, \"f\": 3.0, \"nested\": {\"k\": {}}\n}";
    char err[256];
    struct sf_json_doc *d = sf_json_parse(text, strlen(text), err, sizeof err);
    CHECK(d != NULL);
    if (!d) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const struct sf_json *r = sf_json_root(d);
    CHECK_EQ_INT(r->type, SF_JSON_OBJECT);
    const struct sf_json *a = sf_json_get(r, "a");
    CHECK(a && a->type == SF_JSON_ARRAY && a->n == 5);
    CHECK(a->items[1]->number == -25.0 && a->items[1]->is_int && a->items[1]->integer == -25);
    CHECK(a->items[2]->type == SF_JSON_BOOL && a->items[2]->boolean == 1);
    CHECK(a->items[4]->type == SF_JSON_NULL);
    CHECK_EQ_INT(a->line, 2);
    CHECK_EQ_INT(a->col, 8);
    CHECK_STR(sf_json_get_str(r, "s"), "x\xc3\xa9\xf0\x9f\x98\x80\n\"");
    int64_t big = 0;
    CHECK(sf_json_get_int(r, "big", &big) == 0 && big == INT64_MAX);
    int64_t f = 0;
    CHECK(sf_json_get_int(r, "f", &f) == 0 && f == 3);
    CHECK(sf_json_get(sf_json_get(r, "nested"), "k") != NULL);
    CHECK(sf_json_get(r, "missing") == NULL);
    CHECK(sf_json_get_str(r, "a") == NULL);
    sf_json_free(d);

    expect_error("", "line 1, column 1: unexpected end of input");
    expect_error("{\"a\": 1,}", "expected a string key");
    expect_error("{\"a\": 1 \"b\": 2}", "line 1, column 9: expected ',' or '}'");
    expect_error("[1, 2", "unterminated array");
    expect_error("\"abc", "unterminated string");
    expect_error("{\"a\":1, \"a\":2}", "duplicate key \"a\"");
    expect_error("[01]", "expected ',' or ']'");
    expect_error("[1.]", "invalid number");
    expect_error("\"\\x\"", "unknown escape");
    expect_error("\"\\ud800\"", "high surrogate");
    expect_error("\"\xff\"", "invalid UTF-8");
    expect_error("\"a\tb\"", "control character");
    expect_error("{} x", "trailing characters");
    expect_error("\n\n  nul", "line 3, column 3: unexpected character 'n'");
    char deep[600];
    memset(deep, '[', 300);
    deep[300] = '\0';
    expect_error(deep, "nesting deeper than 256");

    /* The writer round-trips through the reader. */
    char *out = NULL;
    size_t outlen = 0;
    FILE *m = open_memstream(&out, &outlen);
    struct sf_jw w;
    sf_jw_init(&w, m, 2);
    sf_jw_obj_begin(&w);
    sf_jw_key(&w, "name");
    sf_jw_str(&w, "tab\there \"q\"");
    sf_jw_key(&w, "list");
    sf_jw_arr_begin(&w);
    sf_jw_int(&w, -7);
    sf_jw_num(&w, 0.1);
    sf_jw_bool(&w, 1);
    sf_jw_null(&w);
    sf_jw_arr_end(&w);
    sf_jw_key(&w, "empty");
    sf_jw_obj_begin(&w);
    sf_jw_obj_end(&w);
    sf_jw_obj_end(&w);
    sf_jw_finish(&w);
    fclose(m);
    d = sf_json_parse(out, outlen, err, sizeof err);
    CHECK(d != NULL);
    if (d) {
        r = sf_json_root(d);
        CHECK_STR(sf_json_get_str(r, "name"), "tab\there \"q\"");
        a = sf_json_get(r, "list");
        CHECK(a && a->n == 4 && a->items[0]->integer == -7 && a->items[1]->number == 0.1);
        sf_json_free(d);
    } else {
        fprintf(stderr, "writer output did not parse: %s\n%s\n", err, out);
    }
    free(out);
    return sf_test_result("base_json");
}
