/* json.c — strict JSON reader and streaming writer (sf_json.h).
 * The reader is a recursive-descent parser over untrusted bytes: every read is bounds-checked
 * against the caller's length, depth is capped, and all allocation goes through one list owned
 * by the doc so that any failure frees everything. Strings are validated as UTF-8 (surrogate
 * pairs in \u escapes are combined; lone surrogates are an error). */
#include "sf_json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 256

struct block {
    struct block *next;
};

struct sf_json_doc {
    struct sf_json *root;
    struct block *blocks;
};

struct parser {
    const char *p, *end, *line_start;
    int line;
    int depth;
    struct sf_json_doc *doc;
    char *err;
    size_t errlen;
    int failed;
};

static void *doc_alloc(struct sf_json_doc *doc, size_t n)
{
    struct block *b = malloc(sizeof(struct block) + n + 16);
    if (!b) return NULL;
    b->next = doc->blocks;
    doc->blocks = b;
    return (char *)b + sizeof(struct block) + (16 - sizeof(struct block) % 16) % 16;
}

static void fail(struct parser *ps, const char *fmt, ...)
{
    if (ps->failed) return;
    ps->failed = 1;
    int col = (int)(ps->p - ps->line_start) + 1;
    int n = snprintf(ps->err, ps->errlen, "line %d, column %d: ", ps->line, col);
    if (n < 0 || (size_t)n >= ps->errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == '\n') {
            ps->line++;
            ps->p++;
            ps->line_start = ps->p;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            ps->p++;
        } else {
            break;
        }
    }
}

static struct sf_json *new_node(struct parser *ps, enum sf_json_type t)
{
    struct sf_json *v = doc_alloc(ps->doc, sizeof *v);
    if (!v) {
        fail(ps, "out of memory");
        return NULL;
    }
    memset(v, 0, sizeof *v);
    v->type = t;
    v->line = ps->line;
    v->col = (int)(ps->p - ps->line_start) + 1;
    return v;
}

static int hex4(struct parser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = ps->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    ps->p += 4;
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xc0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the valid UTF-8 sequence at s (max n bytes), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* Parses a string at ps->p (which is at the opening quote); returns decoded text. */
static char *parse_string(struct parser *ps, size_t *out_len)
{
    ps->p++; /* opening quote */
    const char *start = ps->p;
    /* Decoded output is never longer than the source span. */
    const char *q = start;
    while (q < ps->end && *q != '"') {
        if (*q == '\\') q++;
        q++;
    }
    if (q >= ps->end) {
        fail(ps, "unterminated string");
        return NULL;
    }
    char *out = doc_alloc(ps->doc, (size_t)(q - start) + 1);
    if (!out) {
        fail(ps, "out of memory");
        return NULL;
    }
    size_t o = 0;
    while (ps->p < ps->end) {
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"') {
            ps->p++;
            out[o] = '\0';
            *out_len = o;
            return out;
        }
        if (c < 0x20) {
            fail(ps, "control character 0x%02x in string (escape it)", c);
            return NULL;
        }
        if (c == '\\') {
            ps->p++;
            if (ps->p >= ps->end) break;
            char e = *ps->p++;
            switch (e) {
            case '"': out[o++] = '"'; break;
            case '\\': out[o++] = '\\'; break;
            case '/': out[o++] = '/'; break;
            case 'b': out[o++] = '\b'; break;
            case 'f': out[o++] = '\f'; break;
            case 'n': out[o++] = '\n'; break;
            case 'r': out[o++] = '\r'; break;
            case 't': out[o++] = '\t'; break;
            case 'u': {
                unsigned cp, lo;
                if (hex4(ps, &cp)) { fail(ps, "bad \\u escape"); return NULL; }
                if (cp >= 0xdc00 && cp <= 0xdfff) { fail(ps, "lone low surrogate"); return NULL; }
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                        fail(ps, "high surrogate without its low half");
                        return NULL;
                    }
                    ps->p += 2;
                    if (hex4(ps, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                        fail(ps, "bad low surrogate");
                        return NULL;
                    }
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                o += put_utf8(out + o, cp);
                break;
            }
            default: fail(ps, "unknown escape '\\%c'", e); return NULL;
            }
            continue;
        }
        size_t l = utf8_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
        if (!l) {
            fail(ps, "invalid UTF-8 in string");
            return NULL;
        }
        memcpy(out + o, ps->p, l);
        o += l;
        ps->p += l;
    }
    fail(ps, "unterminated string");
    return NULL;
}

static struct sf_json *parse_value(struct parser *ps);

static int push_item(struct parser *ps, struct sf_json ***items, const char ***keys, size_t *cap,
                     size_t n, struct sf_json *v, const char *key)
{
    if (n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        struct sf_json **ni = doc_alloc(ps->doc, nc * sizeof *ni);
        const char **nk = keys ? doc_alloc(ps->doc, nc * sizeof *nk) : NULL;
        if (!ni || (keys && !nk)) {
            fail(ps, "out of memory");
            return -1;
        }
        if (n) memcpy(ni, *items, n * sizeof *ni);
        if (keys && n) memcpy(nk, *keys, n * sizeof *nk);
        *items = ni;
        if (keys) *keys = nk;
        *cap = nc;
    }
    (*items)[n] = v;
    if (keys) (*keys)[n] = key;
    return 0;
}

static struct sf_json *parse_array(struct parser *ps)
{
    struct sf_json *v = new_node(ps, SF_JSON_ARRAY);
    if (!v) return NULL;
    ps->p++;
    size_t cap = 0;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return v;
    }
    for (;;) {
        struct sf_json *item = parse_value(ps);
        if (!item) return NULL;
        if (push_item(ps, &v->items, NULL, &cap, v->n, item, NULL)) return NULL;
        v->n++;
        skip_ws(ps);
        if (ps->p >= ps->end) { fail(ps, "unterminated array"); return NULL; }
        if (*ps->p == ',') { ps->p++; continue; }
        if (*ps->p == ']') { ps->p++; return v; }
        fail(ps, "expected ',' or ']' in array");
        return NULL;
    }
}

static struct sf_json *parse_object(struct parser *ps)
{
    struct sf_json *v = new_node(ps, SF_JSON_OBJECT);
    if (!v) return NULL;
    ps->p++;
    size_t cap = 0;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return v;
    }
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"') {
            fail(ps, "expected a string key in object");
            return NULL;
        }
        size_t klen;
        char *key = parse_string(ps, &klen);
        if (!key) return NULL;
        if (strlen(key) != klen) {
            fail(ps, "object key contains a NUL character");
            return NULL;
        }
        /* Duplicate keys make a file mean two things; refuse them. Linear scan is fine for
         * the sizes we read, and a hash would cost more code than it saves. */
        if (v->n < 4096) {
            for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->keys[i], key) == 0) {
                    fail(ps, "duplicate key \"%.64s\"", key);
                    return NULL;
                }
        }
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            fail(ps, "expected ':' after key");
            return NULL;
        }
        ps->p++;
        struct sf_json *item = parse_value(ps);
        if (!item) return NULL;
        if (push_item(ps, &v->items, &v->keys, &cap, v->n, item, key)) return NULL;
        v->n++;
        skip_ws(ps);
        if (ps->p >= ps->end) { fail(ps, "unterminated object"); return NULL; }
        if (*ps->p == ',') { ps->p++; continue; }
        if (*ps->p == '}') { ps->p++; return v; }
        fail(ps, "expected ',' or '}' in object");
        return NULL;
    }
}

static struct sf_json *parse_number(struct parser *ps)
{
    struct sf_json *v = new_node(ps, SF_JSON_NUMBER);
    if (!v) return NULL;
    const char *s = ps->p;
    const char *q = s;
    int integral = 1;
    if (q < ps->end && *q == '-') q++;
    if (q >= ps->end || !(*q >= '0' && *q <= '9')) { fail(ps, "invalid number"); return NULL; }
    if (*q == '0') {
        q++;
    } else {
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < ps->end && *q == '.') {
        integral = 0;
        q++;
        if (q >= ps->end || !(*q >= '0' && *q <= '9')) { fail(ps, "invalid number"); return NULL; }
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        integral = 0;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) q++;
        if (q >= ps->end || !(*q >= '0' && *q <= '9')) { fail(ps, "invalid number"); return NULL; }
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    size_t n = (size_t)(q - s);
    if (n > 400) { fail(ps, "number too long"); return NULL; }
    char buf[401];
    memcpy(buf, s, n);
    buf[n] = '\0';
    v->number = strtod(buf, NULL);
    if (integral) {
        errno = 0;
        long long ll = strtoll(buf, NULL, 10);
        if (errno == 0) {
            v->is_int = 1;
            v->integer = ll;
        }
    } else if (isfinite(v->number) && v->number == floor(v->number) &&
               fabs(v->number) < 9007199254740992.0) {
        v->is_int = 1;
        v->integer = (int64_t)v->number;
    }
    ps->p = q;
    return v;
}

static int match_lit(struct parser *ps, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, lit, n) != 0) return 0;
    ps->p += n;
    return 1;
}

static struct sf_json *parse_value(struct parser *ps)
{
    skip_ws(ps);
    if (ps->p >= ps->end) {
        fail(ps, "unexpected end of input");
        return NULL;
    }
    if (++ps->depth > JSON_MAX_DEPTH) {
        fail(ps, "nesting deeper than %d", JSON_MAX_DEPTH);
        return NULL;
    }
    struct sf_json *v = NULL;
    char c = *ps->p;
    if (c == '{') {
        v = parse_object(ps);
    } else if (c == '[') {
        v = parse_array(ps);
    } else if (c == '"') {
        v = new_node(ps, SF_JSON_STRING);
        if (v) {
            char *s = parse_string(ps, &v->str_len);
            v->str = s;
            if (!s) v = NULL;
        }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        v = parse_number(ps);
    } else {
        struct sf_json *lit = new_node(ps, SF_JSON_NULL);
        if (lit && match_lit(ps, "null")) {
            v = lit;
        } else if (lit && match_lit(ps, "true")) {
            lit->type = SF_JSON_BOOL;
            lit->boolean = 1;
            v = lit;
        } else if (lit && match_lit(ps, "false")) {
            lit->type = SF_JSON_BOOL;
            v = lit;
        } else {
            fail(ps, "unexpected character '%c'", (c >= 0x20 && c < 0x7f) ? c : '?');
        }
    }
    ps->depth--;
    return v;
}

struct sf_json_doc *sf_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    struct sf_json_doc *doc = calloc(1, sizeof *doc);
    if (!doc) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct parser ps = {.p = text, .end = text + len, .line_start = text, .line = 1, .doc = doc,
                        .err = err, .errlen = errlen};
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) ps.p += 3, ps.line_start = ps.p;
    doc->root = parse_value(&ps);
    if (doc->root) {
        skip_ws(&ps);
        if (ps.p != ps.end) fail(&ps, "trailing characters after the JSON value");
    }
    if (ps.failed || !doc->root) {
        sf_json_free(doc);
        return NULL;
    }
    return doc;
}

void sf_json_free(struct sf_json_doc *doc)
{
    if (!doc) return;
    struct block *b = doc->blocks;
    while (b) {
        struct block *n = b->next;
        free(b);
        b = n;
    }
    free(doc);
}

const struct sf_json *sf_json_root(const struct sf_json_doc *doc) { return doc ? doc->root : NULL; }

const struct sf_json *sf_json_get(const struct sf_json *obj, const char *key)
{
    if (!obj || obj->type != SF_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
    return NULL;
}

int sf_json_get_int(const struct sf_json *obj, const char *key, int64_t *out)
{
    const struct sf_json *v = sf_json_get(obj, key);
    if (!v || v->type != SF_JSON_NUMBER || !v->is_int) return -1;
    *out = v->integer;
    return 0;
}

int sf_json_get_num(const struct sf_json *obj, const char *key, double *out)
{
    const struct sf_json *v = sf_json_get(obj, key);
    if (!v || v->type != SF_JSON_NUMBER) return -1;
    *out = v->number;
    return 0;
}

const char *sf_json_get_str(const struct sf_json *obj, const char *key)
{
    const struct sf_json *v = sf_json_get(obj, key);
    return v && v->type == SF_JSON_STRING ? v->str : NULL;
}

const char *sf_json_type_name(enum sf_json_type t)
{
    static const char *names[] = {"null", "boolean", "number", "string", "array", "object"};
    return (unsigned)t < 6 ? names[t] : "?";
}

/* ---- writer ----------------------------------------------------------------------------- */

void sf_json_write_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20) fprintf(f, "\\u%04x", c);
            else fputc(c, f);
        }
    }
    fputc('"', f);
}

void sf_jw_init(struct sf_jw *w, FILE *f, int indent)
{
    memset(w, 0, sizeof *w);
    w->f = f;
    w->indent = indent;
}

static void jw_newline(struct sf_jw *w)
{
    if (!w->indent) return;
    fputc('\n', w->f);
    for (int i = 0; i < w->depth * w->indent; i++) fputc(' ', w->f);
}

static void jw_value_prefix(struct sf_jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth > 0) {
        if (w->need_comma[w->depth]) fputc(',', w->f);
        if (!w->indent && w->need_comma[w->depth]) fputc(' ', w->f);
        jw_newline(w);
        w->need_comma[w->depth] = 1;
    }
}

static void jw_open(struct sf_jw *w, char c)
{
    jw_value_prefix(w);
    fputc(c, w->f);
    if (w->depth < 63) w->depth++;
    w->need_comma[w->depth] = 0;
}

static void jw_close(struct sf_jw *w, char c)
{
    int had = w->need_comma[w->depth];
    if (w->depth > 0) w->depth--;
    if (had) jw_newline(w);
    fputc(c, w->f);
}

void sf_jw_obj_begin(struct sf_jw *w) { jw_open(w, '{'); }
void sf_jw_obj_end(struct sf_jw *w) { jw_close(w, '}'); }
void sf_jw_arr_begin(struct sf_jw *w) { jw_open(w, '['); }
void sf_jw_arr_end(struct sf_jw *w) { jw_close(w, ']'); }

void sf_jw_key(struct sf_jw *w, const char *key)
{
    jw_value_prefix(w);
    sf_json_write_string(w->f, key, strlen(key));
    fputs(": ", w->f);
    w->after_key = 1;
}

void sf_jw_strn(struct sf_jw *w, const char *s, size_t n)
{
    jw_value_prefix(w);
    sf_json_write_string(w->f, s, n);
}

void sf_jw_str(struct sf_jw *w, const char *s)
{
    if (!s) {
        sf_jw_null(w);
        return;
    }
    sf_jw_strn(w, s, strlen(s));
}

void sf_jw_int(struct sf_jw *w, int64_t v)
{
    jw_value_prefix(w);
    fprintf(w->f, "%lld", (long long)v);
}

void sf_jw_num(struct sf_jw *w, double v)
{
    jw_value_prefix(w);
    if (!isfinite(v)) {
        fputs("null", w->f);
        return;
    }
    char buf[40];
    for (int prec = 6; prec <= 17; prec++) { /* shortest form that reads back exactly */
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, w->f);
}

void sf_jw_bool(struct sf_jw *w, int v)
{
    jw_value_prefix(w);
    fputs(v ? "true" : "false", w->f);
}

void sf_jw_null(struct sf_jw *w)
{
    jw_value_prefix(w);
    fputs("null", w->f);
}

void sf_jw_value(struct sf_jw *w, const struct sf_json *v)
{
    switch (v->type) {
    case SF_JSON_STRING: sf_jw_strn(w, v->str, v->str_len); break;
    case SF_JSON_NUMBER: v->is_int ? sf_jw_int(w, v->integer) : sf_jw_num(w, v->number); break;
    case SF_JSON_BOOL: sf_jw_bool(w, v->boolean); break;
    case SF_JSON_ARRAY:
        sf_jw_arr_begin(w);
        for (size_t i = 0; i < v->n; i++)
            sf_jw_value(w, v->items[i]);
        sf_jw_arr_end(w);
        break;
    case SF_JSON_OBJECT:
        sf_jw_obj_begin(w);
        for (size_t i = 0; i < v->n; i++) {
            sf_jw_key(w, v->keys[i]);
            sf_jw_value(w, v->items[i]);
        }
        sf_jw_obj_end(w);
        break;
    default: sf_jw_null(w);
    }
}

void sf_jw_finish(struct sf_jw *w)
{
    fputc('\n', w->f);
    fflush(w->f);
}
