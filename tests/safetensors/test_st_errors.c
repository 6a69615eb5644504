/* Bad safetensors files: each is refused with its status and ONE log line that names the file,
 * the tensor and what is wrong (truncated, oversized header, overlapping / holed / trailing
 * offsets, unknown and unsupported dtypes, shape x dtype != bytes, bad JSON, broken shard index),
 * and a good file around the edges (empty, zero-size tensors) is accepted. */
#define _POSIX_C_SOURCE 200809L
#include "capture.h"
#include "sf_log.h"
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_test.h"

#include <stdlib.h>
#include <string.h>

/* 8-byte length + header + data_len zero bytes, into buf; returns the size. */
static size_t make(unsigned char *buf, const char *hdr, uint64_t claimed_len, size_t data_len)
{
    size_t h = strlen(hdr);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(claimed_len >> (8 * i));
    memcpy(buf + 8, hdr, h);
    memset(buf + 8 + h, 0, data_len);
    return 8 + h + data_len;
}

static unsigned char buf[1 << 16];

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Opens bytes, expects status want and one line with the needles. */
static void expect(const char *what, size_t n, int want, const char *const *needles)
{
    struct sf_st *st = (struct sf_st *)1;
    char msg[4096];
    FILE *tmp;
    int saved = capture_begin(&tmp);
    int rc = sf_st_open_mem(buf, n, "bad.safetensors", &st);
    capture_end(tmp, saved, msg, sizeof msg);
    if (rc != want) fprintf(stderr, "%s: status %s, want %s\n", what, sf_status_name(rc), sf_status_name(want));
    CHECK_EQ_INT(rc, want);
    CHECK(st == NULL);
    CHECK(one_line_with(what, msg, needles));
}

static size_t hdr(const char *h, size_t data_len) { return make(buf, h, strlen(h), data_len); }

#define T1(name, dt, shape, offs) "{\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" offs "}}"

/* Headers with a correct length field: each breaks one rule. */
static const struct {
    const char *what, *header;
    size_t data_len;
    int status;
    const char *const *needles;
} cases[] = {
    {"overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, SF_E_FORMAT,
     NEEDLES("bad.safetensors", "tensor 'b'", "overlap tensor 'a'")},
    {"unknown dtype", T1("w", "F33", "[1]", "[0,4]"), 4, SF_E_FORMAT,
     NEEDLES("bad.safetensors", "tensor 'w'", "unknown dtype 'F33'")},
    {"unsupported dtype", T1("w", "F8_E4M3", "[4]", "[0,4]"), 4, SF_E_UNSUPPORTED,
     NEEDLES("bad.safetensors", "tensor 'w'", "F8_E4M3 is not supported")},
    {"shape x dtype", T1("w", "F32", "[2,3]", "[0,20]"), 20, SF_E_FORMAT,
     NEEDLES("bad.safetensors", "tensor 'w'", "[2, 3]", "needs 24 bytes", "hold 20")},
    {"data truncated", T1("w", "F32", "[4]", "[0,16]"), 8, SF_E_FORMAT,
     NEEDLES("bad.safetensors", "tensor 'w'", "truncated")},
    {"hole", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, SF_E_FORMAT,
     NEEDLES("bad.safetensors", "tensor 'b'", "hole of 4 bytes", "'a'")},
    {"trailing", T1("a", "F32", "[1]", "[0,4]"), 8, SF_E_FORMAT,
     NEEDLES("bad.safetensors", "4 bytes follow the last tensor 'a'")},
    {"bad json", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4, SF_E_FORMAT,
     NEEDLES("bad.safetensors", "header JSON: line 1")},
    {"negative dim", T1("a", "F32", "[-1]", "[0,4]"), 4, SF_E_FORMAT,
     NEEDLES("bad.safetensors", "tensor 'a'", "shape[0]")},
    {"reversed offsets", T1("a", "F32", "[1]", "[4,0]"), 4, SF_E_FORMAT,
     NEEDLES("bad.safetensors", "tensor 'a'", "end before")},
    {"unknown field", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
     SF_E_FORMAT, NEEDLES("bad.safetensors", "tensor 'a'", "unknown header field 'x'")},
    {"shape overflow", T1("a", "F32", "[4611686018427387904,4]", "[0,4]"), 4, SF_E_FORMAT,
     NEEDLES("bad.safetensors", "tensor 'a'", "too large")},
    {"not an object", "[1,2]", 0, SF_E_FORMAT, NEEDLES("bad.safetensors", "not start with '{'")},
    {"metadata value", "{\"__metadata__\":{\"a\":1}}", 0, SF_E_FORMAT,
     NEEDLES("bad.safetensors", "__metadata__ 'a'")},
};

int main(void)
{
    sf_log_init();
    expect("short", 5, SF_E_FORMAT, NEEDLES("bad.safetensors", "truncated: 5 bytes"));
    size_t n = make(buf, "{}", 1000, 0);
    expect("header past end", n, SF_E_FORMAT, NEEDLES("bad.safetensors", "truncated", "1000"));
    n = make(buf, "{}", 200000000, 0);
    expect("oversized header", n, SF_E_FORMAT, NEEDLES("bad.safetensors", "exceeds the 100000000-byte limit"));
    n = make(buf, "{}", 0xffffffffffffffffull, 0);
    expect("huge header length", n, SF_E_FORMAT, NEEDLES("bad.safetensors", "header length"));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect(cases[i].what, hdr(cases[i].header, cases[i].data_len), cases[i].status, cases[i].needles);

    /* Edges that are valid: no tensors; zero-size tensors sharing an offset; a scalar. */
    struct sf_st *st = NULL;
    n = hdr("{\"__metadata__\":{\"format\":\"pt\"}}", 0);
    CHECK_EQ_INT(sf_st_open_mem(buf, n, "empty", &st), SF_OK);
    CHECK_EQ_INT(sf_st_count(st), 0);
    CHECK_STR(sf_st_metadata(st, "format"), "pt");
    sf_st_close(st);
    n = hdr("{\"z\":{\"dtype\":\"BF16\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
            "\"y\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
            "\"x\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]}}", 4);
    CHECK_EQ_INT(sf_st_open_mem(buf, n, "edges", &st), SF_OK);
    if (st) {
        CHECK_EQ_INT(sf_st_count(st), 3);
        CHECK_STR(sf_st_at(st, 0)->name, "x"); /* sorted by name */
        CHECK_EQ_INT(sf_st_find(st, "y")->n_elems, 1);
        CHECK_EQ_INT(sf_st_find(st, "z")->n_bytes, 0);
        CHECK(sf_st_find(st, "nope") == NULL);
        sf_st_close(st);
    }

    /* A file on disk: the message names its path; a truncated copy of a valid file. */
    const char *path = "st_errors_trunc.safetensors";
    n = hdr("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, n - 3, f) == n - 3);
    if (f) fclose(f);
    char msg[4096];
    FILE *tmp;
    int saved = capture_begin(&tmp);
    int rc = sf_st_open(path, &st);
    capture_end(tmp, saved, msg, sizeof msg);
    CHECK_EQ_INT(rc, SF_E_FORMAT);
    CHECK(one_line_with("truncated file", msg, NEEDLES(path, "tensor 'w'", "truncated")));
    remove(path);
    saved = capture_begin(&tmp);
    rc = sf_st_open("no/such/file.safetensors", &st);
    capture_end(tmp, saved, msg, sizeof msg);
    CHECK_EQ_INT(rc, SF_E_NOTFOUND);
    CHECK(one_line_with("missing file", msg, NEEDLES("no/such/file.safetensors")));

    /* A shard index that promises a tensor its shard lacks, and one that misses a tensor. */
    n = hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    f = fopen("st_errors-00001.safetensors", "wb");
    CHECK(f && fwrite(buf, 1, n, f) == n);
    if (f) fclose(f);
    f = fopen("st_errors.safetensors.index.json", "w");
    if (f) {
        fputs("{\"metadata\":{},\"weight_map\":{\"a\":\"st_errors-00001.safetensors\","
              "\"b\":\"st_errors-00001.safetensors\"}}", f);
        fclose(f);
    }
    saved = capture_begin(&tmp);
    rc = sf_st_open("st_errors.safetensors.index.json", &st);
    capture_end(tmp, saved, msg, sizeof msg);
    CHECK_EQ_INT(rc, SF_E_FORMAT);
    CHECK(one_line_with("index promises", msg, NEEDLES("st_errors.safetensors.index.json", "tensor 'b'", "st_errors-00001.safetensors")));
    f = fopen("st_errors.safetensors.index.json", "w");
    if (f) {
        fputs("{\"weight_map\":{\"c\":\"st_errors-00001.safetensors\"}}", f);
        fclose(f);
    }
    saved = capture_begin(&tmp);
    rc = sf_st_open("st_errors.safetensors.index.json", &st);
    capture_end(tmp, saved, msg, sizeof msg);
    CHECK_EQ_INT(rc, SF_E_FORMAT);
    CHECK(one_line_with("index misses", msg, NEEDLES("st_errors.safetensors.index.json", "tensor 'c'")));
    remove("st_errors-00001.safetensors");
    remove("st_errors.safetensors.index.json");

    /* Reads outside a tensor and conversions that do not exist. */
    n = hdr("{\"i\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16);
    CHECK_EQ_INT(sf_st_open_mem(buf, n, "ints", &st), SF_OK);
    if (st) {
        float out[4];
        saved = capture_begin(&tmp);
        rc = sf_st_read_all(sf_st_find(st, "i"), SF_DTYPE_F32, out, sizeof out);
        capture_end(tmp, saved, msg, sizeof msg);
        CHECK_EQ_INT(rc, SF_E_UNSUPPORTED);
        CHECK(one_line_with("convert", msg, NEEDLES("ints", "tensor 'i'", "cannot convert I64 to F32")));
        int64_t iv[4];
        saved = capture_begin(&tmp);
        rc = sf_st_read(sf_st_find(st, "i"), SF_DTYPE_I64, 1, 2, 0, 1, iv, sizeof iv);
        capture_end(tmp, saved, msg, sizeof msg);
        CHECK_EQ_INT(rc, SF_E_INVAL);
        CHECK(one_line_with("outside", msg, NEEDLES("ints", "tensor 'i'", "outside")));
        sf_st_close(st);
    }
    return sf_test_result("st_errors");
}
