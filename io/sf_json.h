/* sf_json.h — a strict JSON reader (RFC 8259) for untrusted files — safetensors headers,
 * config.json, tokenizer.json, checkpoints' sidecars — and a small streaming writer for the
 * --json outputs and events.jsonl.
 *
 * Reader: the whole document becomes a tree of nodes owned by one sf_json_doc; nodes and
 * strings live as long as the doc. Limits: nesting depth 256 and the caller's length. Errors
 * carry line and column. Numbers keep their double value and, when integral and within int64,
 * the exact integer (safetensors offsets exceed 2^53 only in theory, but must be exact).
 *
 *   char err[256];
 *   struct sf_json_doc *doc = sf_json_parse(text, len, err, sizeof err);
 *   if (!doc) { log("%s: %s", path, err); ... }
 *   const struct sf_json *dims = sf_json_get(sf_json_root(doc), "dim");
 *   sf_json_free(doc);
 */
#ifndef SF_JSON_H
#define SF_JSON_H

#include <stdint.h>
#include <stdio.h>

enum sf_json_type { SF_JSON_NULL, SF_JSON_BOOL, SF_JSON_NUMBER, SF_JSON_STRING, SF_JSON_ARRAY,
                    SF_JSON_OBJECT };

struct sf_json {
    enum sf_json_type type;
    int line, col;          /* 1-based position of the value's first character */
    int boolean;            /* SF_JSON_BOOL */
    double number;          /* SF_JSON_NUMBER */
    int is_int;             /* number is integral and fits int64 exactly */
    int64_t integer;        /* valid when is_int */
    const char *str;        /* SF_JSON_STRING: decoded UTF-8, NUL-terminated */
    size_t str_len;         /* bytes, without the NUL (the string may contain NUL) */
    size_t n;               /* ARRAY / OBJECT: element count */
    struct sf_json **items; /* ARRAY / OBJECT values */
    const char **keys;      /* OBJECT keys (decoded), parallel to items */
};

struct sf_json_doc;

/* Parses text[0..len) (need not be NUL-terminated). Returns NULL on malformed input or no
 * memory, with "line L, column C: what" in err. Duplicate object keys are an error. */
struct sf_json_doc *sf_json_parse(const char *text, size_t len, char *err, size_t errlen);
void sf_json_free(struct sf_json_doc *doc);
const struct sf_json *sf_json_root(const struct sf_json_doc *doc);

/* Object member by key, or NULL (also when obj is NULL or not an object). */
const struct sf_json *sf_json_get(const struct sf_json *obj, const char *key);
/* Typed lookups: return 0 and set *out, or -1 when missing or of another type. */
int sf_json_get_int(const struct sf_json *obj, const char *key, int64_t *out);
int sf_json_get_num(const struct sf_json *obj, const char *key, double *out);
/* Returns the string or NULL. */
const char *sf_json_get_str(const struct sf_json *obj, const char *key);
const char *sf_json_type_name(enum sf_json_type t);

/* ---- writer ----------------------------------------------------------------------------- */
/* Streaming writer: tracks commas and indentation. indent 0 writes one line (JSON lines). */
struct sf_jw {
    FILE *f;
    int indent;
    int depth;
    int need_comma[64];
    int after_key;
};

void sf_jw_init(struct sf_jw *w, FILE *f, int indent);
void sf_jw_obj_begin(struct sf_jw *w);
void sf_jw_obj_end(struct sf_jw *w);
void sf_jw_arr_begin(struct sf_jw *w);
void sf_jw_arr_end(struct sf_jw *w);
void sf_jw_key(struct sf_jw *w, const char *key);
void sf_jw_str(struct sf_jw *w, const char *s); /* NULL writes null */
void sf_jw_strn(struct sf_jw *w, const char *s, size_t n);
void sf_jw_int(struct sf_jw *w, int64_t v);
void sf_jw_num(struct sf_jw *w, double v); /* shortest exact form; NaN/inf become null */
void sf_jw_bool(struct sf_jw *w, int v);
void sf_jw_null(struct sf_jw *w);
void sf_jw_value(struct sf_jw *w, const struct sf_json *v); /* a parsed value, nested included */
/* Ends the document with a newline. */
void sf_jw_finish(struct sf_jw *w);
/* Writes s as a JSON string literal (with quotes) to f. */
void sf_json_write_string(FILE *f, const char *s, size_t n);

#endif
