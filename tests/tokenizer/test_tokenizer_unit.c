/* Unit tests (issue 12): the tokenizer.json reader's refusals (each by name), encode's error
 * paths, truncation/padding, sf_tokenizer_install, and the Unicode helpers the cleaner and the
 * tokenizer stand on (UTF-8 strictness, NFC, grapheme clusters, Python's whitespace). The ids
 * themselves are proven by tokenizer_golden against the `tokenizers` library. */
#define _POSIX_C_SOURCE 200809L
#include "sf_prompt_clean.h"
#include "sf_status.h"
#include "sf_test.h"
#include "sf_tokenizer.h"
#include "sf_unicode.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A tiny but complete tokenizer.json: vocab <pad> </s> <unk> ▁ a b ab <0x41>, charsmap omitted. */
#define TINY_HEAD "\"version\":\"1.0\",\"added_tokens\":[{\"id\":0,\"content\":\"<pad>\",\"special\":true}," \
    "{\"id\":1,\"content\":\"</s>\",\"special\":true,\"lstrip\":false}],"
#define TINY_MODEL "\"model\":{\"type\":\"Unigram\",\"unk_id\":2,\"byte_fallback\":false,\"vocab\":[" \
    "[\"<pad>\",0],[\"</s>\",0],[\"<unk>\",0],[\"\\u2581\",-2],[\"a\",-3],[\"b\",-3],[\"ab\",-1],[\"<0x41>\",0]]}"
#define TINY_POST "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}," \
    "{\"SpecialToken\":{\"id\":\"</s>\",\"type_id\":0}}],\"special_tokens\":{\"</s>\":{\"id\":\"</s>\",\"ids\":[1],\"tokens\":[\"</s>\"]}}},"
#define TINY_PRE "\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"prepend_scheme\":\"always\",\"split\":true},"

static int parse(const char *json, struct sf_tokenizer **t)
{
    return sf_tokenizer_parse(json, strlen(json), "test.json", t);
}

static void expect_refused(const char *json, const char *what)
{
    struct sf_tokenizer *t = NULL;
    int st = parse(json, &t);
    if (st != SF_E_FORMAT) fprintf(stderr, "not refused: %s (status %d)\n", what, st);
    CHECK_EQ_INT(st, SF_E_FORMAT);
    CHECK(t == NULL);
    sf_tokenizer_destroy(t);
}

static void test_refusals(void)
{
    expect_refused("{", "malformed JSON");
    expect_refused("[]", "not an object");
    expect_refused("{\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}", "BPE model");
    expect_refused("{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}", "empty vocab");
    expect_refused("{\"model\":{\"type\":\"Unigram\",\"vocab\":[[\"a\"]]}}", "vocab entry");
    expect_refused("{\"model\":{\"type\":\"Unigram\",\"unk_id\":5,\"vocab\":[[\"a\",0]]}}", "unk_id");
    expect_refused("{" TINY_MODEL ",\"normalizer\":{\"type\":\"NFKC\"}}", "NFKC normalizer");
    expect_refused("{" TINY_MODEL ",\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Lowercase\"}]}}",
                   "Lowercase in a sequence");
    expect_refused("{" TINY_MODEL ",\"pre_tokenizer\":{\"type\":\"ByteLevel\"}}", "ByteLevel");
    expect_refused("{" TINY_MODEL ",\"normalizer\":{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"!!!!\"}}",
                   "bad base64");
    expect_refused("{" TINY_MODEL ",\"normalizer\":{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"/////w==\"}}",
                   "trie larger than the map");
    expect_refused("{" TINY_MODEL ",\"normalizer\":{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"a|b\"},\"content\":\"\"}}",
                   "regex alternation");
    expect_refused("{" TINY_MODEL ",\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"add_prefix_space\":false}}",
                   "add_prefix_space false with the default scheme");
    expect_refused("{" TINY_MODEL ",\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"ab\"}}",
                   "two-character replacement");
    expect_refused("{" TINY_MODEL ",\"post_processor\":{\"type\":\"BertProcessing\"}}", "BertProcessing");
    expect_refused("{" TINY_MODEL ",\"added_tokens\":[{\"id\":9,\"content\":\"x\",\"single_word\":true}]}",
                   "single_word");
}

static void test_encode(void)
{
    struct sf_tokenizer *t = NULL;
    CHECK_EQ_INT(parse("{" TINY_HEAD TINY_PRE TINY_POST TINY_MODEL "}", &t), SF_OK);
    if (!t) return;
    CHECK_EQ_INT(sf_tokenizer_vocab_size(t), 8);
    CHECK_EQ_INT(sf_tokenizer_pad_id(t), 0);
    int32_t ids[16];
    size_t n;
    int tr;
    /* "ab a" -> ▁ab? no: ▁ then ab (-1) beats a+b (-6); "c" is unknown -> <unk> */
    CHECK_EQ_INT(sf_tokenizer_encode(t, "ab c</s>a", 9, 16, 0, ids, &n, &tr), SF_OK);
    int32_t want[] = {3, 6, 3, 2, 1, 3, 4, 1};
    CHECK_EQ_INT(n, 8);
    for (size_t i = 0; i < n && i < 8; i++) CHECK_EQ_INT(ids[i], want[i]);
    CHECK_EQ_INT(tr, 0);
    /* truncation keeps </s>; padding fills with <pad> */
    CHECK_EQ_INT(sf_tokenizer_encode(t, "ab c</s>a", 9, 3, 0, ids, &n, &tr), SF_OK);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(ids[2], 1);
    CHECK_EQ_INT(tr, 1);
    CHECK_EQ_INT(sf_tokenizer_encode(t, "a", 1, 6, 1, ids, &n, &tr), SF_OK);
    CHECK_EQ_INT(n, 6);
    CHECK_EQ_INT(ids[2], 1);
    CHECK_EQ_INT(ids[5], 0);
    /* bad input */
    CHECK_EQ_INT(sf_tokenizer_encode(t, "a\xff", 2, 6, 0, ids, &n, &tr), SF_E_INVAL);
    CHECK_EQ_INT(sf_tokenizer_encode(t, "a\xed\xa0\x80", 4, 6, 0, ids, &n, &tr), SF_E_INVAL);
    CHECK_EQ_INT(sf_tokenizer_encode(t, "a", 1, 0, 0, ids, &n, &tr), SF_E_INVAL);
    sf_tokenizer_destroy(t);

    /* byte fallback: "A" has no piece, its byte token <0x41> exists; "C" has none -> <unk> */
    CHECK_EQ_INT(parse("{" TINY_POST "\"model\":{\"type\":\"Unigram\",\"unk_id\":2,\"byte_fallback\":true,"
                       "\"vocab\":[[\"<pad>\",0],[\"</s>\",0],[\"<unk>\",0],[\"a\",-1],[\"<0x41>\",0]]}}", &t),
                 SF_OK);
    /* (expected ids checked with tokenizers 0.23.3: [3, 2, 1] and [3, 4, 1]) */
    CHECK_EQ_INT(sf_tokenizer_encode(t, "aAC", 3, 8, 0, ids, &n, &tr), SF_OK);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(ids[0], 3);
    CHECK_EQ_INT(ids[1], 2); /* "AC" fused, 'C' has no byte token: one <unk> */
    CHECK_EQ_INT(sf_tokenizer_encode(t, "aA", 2, 8, 0, ids, &n, &tr), SF_OK);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(ids[1], 4); /* 'A' alone: its byte token */
    sf_tokenizer_destroy(t);
    /* no unk_id and an unknown character: an error, not a crash */
    CHECK_EQ_INT(parse("{\"model\":{\"type\":\"Unigram\",\"unk_id\":null,\"vocab\":[[\"a\",-1]]}}", &t), SF_OK);
    CHECK_EQ_INT(sf_tokenizer_encode(t, "ab", 2, 8, 0, ids, &n, &tr), SF_E_INVAL);
    CHECK_EQ_INT(sf_tokenizer_encode(t, "ab", 2, 8, 1, ids, &n, &tr), SF_E_INVAL); /* no <pad> */
    sf_tokenizer_destroy(t);
    /* Replace with a repeated-character regex and Strip */
    CHECK_EQ_INT(parse("{\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Strip\",\"strip_left\":true,"
                       "\"strip_right\":true},{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"b{2,3}\"},\"content\":\"a\"}]},"
                       "\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0],[\"a\",-1],[\"b\",-1]]}}", &t),
                 SF_OK);
    CHECK_EQ_INT(sf_tokenizer_encode(t, "  bbbbb b ", 10, 8, 0, ids, &n, &tr), SF_OK);
    /* "bbbbb b" -> "a" + "a" + " b" -> a a <unk>(space) b */
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(ids[0], 1);
    CHECK_EQ_INT(ids[1], 1);
    CHECK_EQ_INT(ids[2], 0);
    CHECK_EQ_INT(ids[3], 2);
    sf_tokenizer_destroy(t);
}

static void test_install(void)
{
    const char *src = getenv("SF_SOURCE_DIR");
    if (!src) return;
    char path[4096], dir[] = "/tmp/sf_tok_installXXXXXX", dst[4096];
    snprintf(path, sizeof path, "%s/examples/models/tokenizer.json", src);
    CHECK(mkdtemp(dir) != NULL);
    int vocab = 0;
    CHECK_EQ_INT(sf_tokenizer_install(path, dir, &vocab), SF_OK);
    CHECK_EQ_INT(vocab, 8100);
    snprintf(dst, sizeof dst, "%s/tokenizer/tokenizer.json", dir);
    struct stat a, b;
    CHECK(stat(path, &a) == 0 && stat(dst, &b) == 0 && a.st_size == b.st_size);
    CHECK_EQ_INT(sf_tokenizer_install("/nonexistent/tokenizer.json", dir, NULL), SF_E_NOTFOUND);
    unlink(dst);
    snprintf(dst, sizeof dst, "%s/tokenizer", dir);
    rmdir(dst);
    rmdir(dir);
}

static void test_unicode(void)
{
    uint32_t cp;
    CHECK_EQ_INT(sf_uc_utf8_decode("\xc0\x80", 2, &cp), 0);         /* overlong */
    CHECK_EQ_INT(sf_uc_utf8_decode("\xf4\x90\x80\x80", 4, &cp), 0); /* > U+10FFFF */
    CHECK_EQ_INT(sf_uc_utf8_decode("\xe2\x82", 2, &cp), 0);         /* truncated */
    CHECK_EQ_INT(sf_uc_utf8_decode("\xe2\x82\xac", 3, &cp), 3);
    CHECK_EQ_INT(cp, 0x20AC);
    CHECK_EQ_INT(sf_uc_utf8_check("ab\xffq", 4), 2);
    /* NFC: e + acute -> é; Hangul jamo compose; a singleton (Angstrom sign) maps to Å; an
     * excluded composite stays decomposed; marks reorder by class */
    uint32_t *v = malloc(8 * sizeof *v);
    size_t cap = 8;
    v[0] = 'e'; v[1] = 0x301;
    CHECK_EQ_INT(sf_uc_nfc(&v, 2, &cap), 1);
    CHECK_EQ_INT(v[0], 0xE9);
    v[0] = 0x1100; v[1] = 0x1161; v[2] = 0x11A8;
    CHECK_EQ_INT(sf_uc_nfc(&v, 3, &cap), 1);
    CHECK_EQ_INT(v[0], 0xAC01);
    v[0] = 0x212B;
    CHECK_EQ_INT(sf_uc_nfc(&v, 1, &cap), 1);
    CHECK_EQ_INT(v[0], 0xC5);
    v[0] = 0x915; v[1] = 0x93C; /* क़ is a composition exclusion */
    CHECK_EQ_INT(sf_uc_nfc(&v, 2, &cap), 2);
    v[0] = 'a'; v[1] = 0x323; v[2] = 0x302; v[3] = 0x301; /* ậ́ -> ậ + ́ */
    size_t m = sf_uc_nfc(&v, 4, &cap);
    CHECK_EQ_INT(m, 2);
    CHECK_EQ_INT(v[0], 0x1EAD);
    free(v);
    /* grapheme clusters */
    const char *g = "e\xcc\x81x\r\n\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd\xf0\x9f\x87\xaa\xf0\x9f\x87\xb8\xf0\x9f\x87\xaf";
    size_t n = strlen(g);
    CHECK_EQ_INT(sf_uc_grapheme_end(g, n, 0), 3);   /* e + acute */
    CHECK_EQ_INT(sf_uc_grapheme_end(g, n, 3), 4);   /* x */
    CHECK_EQ_INT(sf_uc_grapheme_end(g, n, 4), 6);   /* CR LF */
    CHECK_EQ_INT(sf_uc_grapheme_end(g, n, 6), 14);  /* thumbs up + skin tone */
    CHECK_EQ_INT(sf_uc_grapheme_end(g, n, 14), 22); /* flag pair */
    CHECK_EQ_INT(sf_uc_grapheme_end(g, n, 22), 26); /* lone regional indicator */
    const char *zwj = "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb"; /* woman ZWJ laptop */
    CHECK_EQ_INT(sf_uc_grapheme_end(zwj, strlen(zwj), 0), strlen(zwj));
    CHECK(sf_uc_is_pyspace(0x1C) && sf_uc_is_pyspace(0x3000) && !sf_uc_is_pyspace(0x200B));
    CHECK(!sf_uc_is_white_space(0x1C) && sf_uc_is_white_space(0x85));
}

static void test_clean(void)
{
    char *o = NULL;
    size_t n, bad = 0;
    const char *in = "  a\xe2\x80\x9c" "b\xe2\x80\x9d &amp;amp; \xef\xac\x81  \t x ";
    CHECK_EQ_INT(sf_prompt_clean(in, strlen(in), &o, &n, &bad), SF_OK);
    CHECK_STR(o, "a\"b\" & fi x");
    free(o);
    o = NULL;
    CHECK_EQ_INT(sf_prompt_clean("ok\xc3", 3, &o, &n, &bad), SF_E_INVAL);
    CHECK_EQ_INT(bad, 2);
    CHECK(o == NULL);
    CHECK_EQ_INT(sf_prompt_html_unescape("&copyright; &#x41; &#0; &bogus;", 31, &o, &n, NULL), SF_OK);
    CHECK_STR(o, "\xc2\xa9right; A \xef\xbf\xbd &bogus;");
    free(o);
    /* ftfy stops unescaping for the rest of the text once a line holds '<' */
    CHECK_EQ_INT(sf_prompt_fix_text("&NTILDE;\n<b>&NTILDE;", 21, &o, &n, NULL), SF_OK);
    CHECK_STR(o, "\xc3\x91\n<b>&NTILDE;");
    free(o);
}

int main(void)
{
    test_refusals();
    test_encode();
    test_install();
    test_unicode();
    test_clean();
    return sf_test_result("tokenizer_unit");
}
