/* prompt_clean.c — Wan's prompt cleaning (ftfy.fix_text subset, html.unescape twice, whitespace
 * collapsed and stripped), so that token ids equal those of Wan's pipeline. Called by the
 * tokenizer's callers (shotfarm tokenize, the text encoder's prompt path) before
 * sf_tokenizer_encode. Works on arrays of code points because every rule it mirrors is written
 * over Python str characters (html's {1,32} counts code points). The subtle things: ftfy runs
 * per line segment and, once a segment contains '<', stops unescaping HTML for the rest of the
 * text; and its fixers repeat until nothing changes, so a fix can enable another (an entity
 * that yields a curly quote is uncurled on the same pass, an NFC change triggers another pass).
 * Tables: unicode_tables.c (generated from Python's ftfy, html and unicodedata). */
#include "sf_prompt_clean.h"

#include "sf_status.h"
#include "sf_unicode.h"
#include "unicode_tables.h"

#include <stdlib.h>
#include <string.h>

struct cpv {
    uint32_t *p;
    size_t n, cap;
};

static int cpv_reserve(struct cpv *v, size_t extra)
{
    if (v->n + extra <= v->cap) return 0;
    size_t cap = v->cap ? v->cap : 32;
    while (cap < v->n + extra) cap *= 2;
    uint32_t *p = realloc(v->p, cap * sizeof *p);
    if (!p) return -1;
    v->p = p;
    v->cap = cap;
    return 0;
}

static int cpv_push(struct cpv *v, uint32_t c)
{
    if (v->n == v->cap && cpv_reserve(v, 1)) return -1;
    v->p[v->n++] = c;
    return 0;
}

static int cpv_push_n(struct cpv *v, const uint32_t *c, size_t n)
{
    if (cpv_reserve(v, n)) return -1;
    if (n) memcpy(v->p + v->n, c, n * sizeof *c);
    v->n += n;
    return 0;
}

/* Pushes the code points of a NUL-terminated UTF-8 string from the generated tables. */
static int cpv_push_utf8(struct cpv *v, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t c;
        int k = sf_uc_utf8_decode(s + i, n - i, &c);
        SF_ASSERT(k > 0);
        if (cpv_push(v, c)) return -1;
        i += (size_t)k;
    }
    return 0;
}

static int cpv_from_utf8(struct cpv *v, const char *s, size_t n, size_t *bad)
{
    size_t b = sf_uc_utf8_check(s, n);
    if (b != n) {
        if (bad) *bad = b;
        return SF_E_INVAL;
    }
    if (cpv_reserve(v, n)) return SF_E_NOMEM;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        int k = sf_uc_utf8_decode(s + i, n - i, &c);
        v->p[v->n++] = c;
        i += (size_t)k;
    }
    return SF_OK;
}

static int cpv_to_utf8(const struct cpv *v, char **out, size_t *out_len)
{
    char *s = malloc(v->n * 4 + 1);
    if (!s) return SF_E_NOMEM;
    size_t m = 0;
    for (size_t i = 0; i < v->n; i++) m += (size_t)sf_uc_utf8_encode(v->p[i], s + m);
    s[m] = 0;
    *out = s;
    *out_len = m;
    return SF_OK;
}

/* Entity name lookup: name[0..n) ASCII bytes against a table sorted by name. */
static const char *entity_lookup(const struct sf_uc_entity *t, int count, const char *name,
                                 size_t n)
{
    int lo = 0, hi = count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const char *k = t[mid].name;
        size_t kn = strlen(k);
        int c = memcmp(name, k, n < kn ? n : kn);
        if (c == 0) c = n < kn ? -1 : n > kn ? 1 : 0;
        if (c < 0) hi = mid - 1;
        else if (c > 0) lo = mid + 1;
        else return t[mid].utf8;
    }
    return NULL;
}

static int in_table(const struct sf_uc_range *t, int n, uint32_t cp)
{
    for (int i = 0; i < n; i++)
        if (cp >= t[i].lo && cp <= t[i].hi) return 1;
    return 0;
}

/* ---- Python html.unescape ------------------------------------------------------------------ */

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static int is_hex(uint32_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int is_alnum(uint32_t c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* The replacement of a numeric reference (html._replace_charref). */
static int numeric_ref(struct cpv *o, uint32_t num)
{
    const char *inv = sf_uc_map_lookup(sf_uc_html_invalid_charref_table,
                                 sf_uc_html_invalid_charref_count, num);
    if (inv) return cpv_push_utf8(o, inv);
    if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return cpv_push(o, 0xFFFD);
    if (in_table(sf_uc_html_invalid_codepoint_table, sf_uc_html_invalid_codepoint_count, num))
        return 0;
    return cpv_push(o, num);
}

/* html.unescape of in[0..n) appended to o. Regex: &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|
 * [^\t\n\f <&#;]{1,32};?), numeric references per the invalid-charref tables, names looked up
 * whole and then by their longest prefix of at least 2 characters. */
static int html_unescape(const uint32_t *in, size_t n, struct cpv *o)
{
    size_t i = 0;
    while (i < n) {
        if (in[i] != '&') {
            if (cpv_push(o, in[i++])) return -1;
            continue;
        }
        size_t j = i + 1;
        if (j < n && in[j] == '#') {
            int hex = j + 1 < n && (in[j + 1] == 'x' || in[j + 1] == 'X');
            size_t k = j + 1 + (size_t)hex;
            size_t d0 = k;
            uint32_t num = 0;
            while (k < n && (hex ? is_hex(in[k]) : is_digit(in[k]))) {
                uint32_t dv = is_digit(in[k]) ? in[k] - '0' : (in[k] | 0x20) - 'a' + 10;
                if (num <= 0x10FFFF) num = num * (hex ? 16 : 10) + dv; /* saturates above */
                k++;
            }
            if (k == d0) { /* no digits: "&#" is kept, the named form cannot start with '#' */
                if (cpv_push(o, in[i++])) return -1;
                continue;
            }
            if (k < n && in[k] == ';') k++;
            if (numeric_ref(o, num)) return -1;
            i = k;
            continue;
        }
        size_t k = j;
        while (k < n && k - j < 32 && in[k] != '\t' && in[k] != '\n' && in[k] != '\f' &&
               in[k] != ' ' && in[k] != '<' && in[k] != '&' && in[k] != '#' && in[k] != ';')
            k++;
        if (k == j) {
            if (cpv_push(o, in[i++])) return -1;
            continue;
        }
        if (k < n && in[k] == ';') k++;
        size_t len = k - j, ascii = 0;
        char name[40];
        while (ascii < len && in[j + ascii] < 0x80) {
            name[ascii] = (char)in[j + ascii];
            ascii++;
        }
        const char *val = ascii == len ? entity_lookup(sf_uc_html5_table, sf_uc_html5_count,
                                                       name, len) : NULL;
        size_t used = len;
        for (size_t x = (ascii < len - 1 ? ascii : len - 1); !val && x >= 2; x--) {
            val = entity_lookup(sf_uc_html5_table, sf_uc_html5_count, name, x);
            used = x;
        }
        if (val) {
            if (cpv_push_utf8(o, val) || cpv_push_n(o, in + j + used, k - j - used)) return -1;
        } else if (cpv_push_n(o, in + i, k - i)) {
            return -1;
        }
        i = k;
    }
    return 0;
}

/* ---- ftfy ------------------------------------------------------------------------------------ */

/* fixes.unescape_html: &#?[0-9A-Za-z]{1,24}; replaced by ftfy's HTML_ENTITIES (html5 names with
 * ';' and some upper-cased ones), or for "&#...;" by html.unescape unless that leaves a ';'. */
static int ftfy_unescape_html(const uint32_t *in, size_t n, struct cpv *o)
{
    size_t i = 0;
    while (i < n) {
        if (in[i] != '&') {
            if (cpv_push(o, in[i++])) return -1;
            continue;
        }
        size_t j = i + 1;
        int hash = j < n && in[j] == '#';
        j += (size_t)hash;
        size_t k = j;
        while (k < n && k - j < 25 && is_alnum(in[k])) k++;
        if (k == j || k - j > 24 || k >= n || in[k] != ';') {
            if (cpv_push(o, in[i++])) return -1;
            continue;
        }
        k++; /* the match is in[i..k) */
        if (hash) {
            struct cpv u = {0};
            if (html_unescape(in + i, k - i, &u)) { free(u.p); return -1; }
            int semi = 0;
            for (size_t t = 0; t < u.n; t++) semi |= u.p[t] == ';';
            int rc = semi ? cpv_push_n(o, in + i, k - i) : cpv_push_n(o, u.p, u.n);
            free(u.p);
            if (rc) return -1;
        } else {
            char name[32];
            size_t len = k - j;
            for (size_t t = 0; t < len; t++) name[t] = (char)in[j + t];
            const char *val = entity_lookup(sf_uc_html5_table, sf_uc_html5_count, name, len);
            if (!val) val = entity_lookup(sf_uc_ftfy_upper_entity_table,
                                          sf_uc_ftfy_upper_entity_count, name, len);
            if (val ? cpv_push_utf8(o, val) : cpv_push_n(o, in + i, k - i)) return -1;
        }
        i = k;
    }
    return 0;
}

static uint32_t uncurl(uint32_t c)
{
    if (c == 0x2BC || (c >= 0x2018 && c <= 0x201B)) return '\'';
    if (c >= 0x201C && c <= 0x201F) return '"';
    return c;
}

/* fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes: each maps single
 * characters, so applying them in sequence is applying their composition per character. */
static int char_fixes(const uint32_t *in, size_t n, struct cpv *o)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t c = in[i];
        if (c >= 0x80 && c <= 0x9F) c = sf_uc_ftfy_c1_table[c - 0x80];
        const char *lig = c >= 0x132 && c <= 0xFB06
                              ? sf_uc_map_lookup(sf_uc_ftfy_ligature_table, sf_uc_ftfy_ligature_count, c)
                              : NULL;
        uint32_t l[4];
        int nl = 0;
        if (lig) {
            for (size_t t = 0, m = strlen(lig); t < m;) {
                int k = sf_uc_utf8_decode(lig + t, m - t, &l[nl++]);
                t += (size_t)k;
            }
        } else {
            l[nl++] = c;
        }
        for (int a = 0; a < nl; a++) {
            const char *wide = l[a] == 0x3000 || (l[a] >= 0xFF01 && l[a] <= 0xFFEF)
                                   ? sf_uc_map_lookup(sf_uc_ftfy_width_table, sf_uc_ftfy_width_count, l[a])
                                   : NULL;
            if (!wide) {
                if (cpv_push(o, uncurl(l[a]))) return -1;
                continue;
            }
            for (size_t t = 0, m = strlen(wide); t < m;) {
                uint32_t w;
                int k = sf_uc_utf8_decode(wide + t, m - t, &w);
                if (cpv_push(o, uncurl(w))) return -1;
                t += (size_t)k;
            }
        }
    }
    return 0;
}

/* fix_line_breaks, remove_terminal_escapes, remove_control_chars in one pass: each rewrites
 * only what the previous leaves, and none produces what an earlier one consumes. */
static int line_fixes(const uint32_t *in, size_t n, struct cpv *o)
{
    struct cpv lb = {0};
    for (size_t i = 0; i < n; i++) {
        uint32_t c = in[i];
        if (c == '\r' && i + 1 < n && in[i + 1] == '\n') continue; /* \r\n -> \n */
        if (c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85) c = '\n';
        if (cpv_push(&lb, c)) { free(lb.p); return -1; }
    }
    for (size_t i = 0; i < lb.n; i++) {
        uint32_t c = lb.p[i];
        if (c == 0x1B && i + 1 < lb.n && lb.p[i + 1] == '[') { /* \033\[([0-9;]*)[a-zA-Z] */
            size_t k = i + 2;
            while (k < lb.n && (is_digit(lb.p[k]) || lb.p[k] == ';')) k++;
            if (k < lb.n && ((lb.p[k] | 0x20) >= 'a' && (lb.p[k] | 0x20) <= 'z')) {
                i = k;
                continue;
            }
        }
        if (in_table(sf_uc_ftfy_control_table, sf_uc_ftfy_control_count, c)) continue;
        if (cpv_push(o, c)) { free(lb.p); return -1; }
    }
    free(lb.p);
    return 0;
}

/* One segment to ftfy's fixed point. t is replaced. */
static int ftfy_segment(struct cpv *t, int unescape)
{
    struct cpv a = {0}, b = {0};
    int rc = SF_E_NOMEM;
    for (;;) {
        a.n = 0;
        if (unescape) {
            if (ftfy_unescape_html(t->p, t->n, &a)) goto out;
        } else if (cpv_push_n(&a, t->p, t->n)) {
            goto out;
        }
        b.n = 0;
        if (char_fixes(a.p, a.n, &b)) goto out;
        a.n = 0;
        if (line_fixes(b.p, b.n, &a)) goto out;
        size_t m = a.n ? sf_uc_nfc(&a.p, a.n, &a.cap) : 0;
        if (m == (size_t)-1) goto out;
        a.n = m;
        int same = a.n == t->n && (a.n == 0 || memcmp(a.p, t->p, a.n * sizeof *a.p) == 0);
        struct cpv sw = *t;
        *t = a;
        a = sw;
        if (same) break;
    }
    rc = SF_OK;
out:
    free(a.p);
    free(b.p);
    return rc;
}

static int ftfy_fix(const struct cpv *in, struct cpv *out)
{
    int unescape = 1;
    size_t pos = 0;
    while (pos < in->n) {
        size_t end = pos;
        while (end < in->n && in->p[end] != '\n') end++;
        if (end < in->n) end++; /* the segment keeps its '\n' */
        struct cpv seg = {0};
        if (cpv_push_n(&seg, in->p + pos, end - pos)) return SF_E_NOMEM;
        for (size_t i = 0; i < seg.n && unescape; i++)
            if (seg.p[i] == '<') unescape = 0; /* sticky, as ftfy's config._replace */
        int st = ftfy_segment(&seg, unescape);
        if (st == SF_OK && cpv_push_n(out, seg.p, seg.n)) st = SF_E_NOMEM;
        free(seg.p);
        if (st) return st;
        pos = end;
    }
    return SF_OK;
}

/* strip, \s+ -> ' ', strip (Python's \s == str.isspace) */
static void collapse_space(struct cpv *v)
{
    size_t o = 0;
    int pending = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (sf_uc_is_pyspace(v->p[i])) {
            pending = 1;
            continue;
        }
        if (pending && o) v->p[o++] = ' ';
        pending = 0;
        v->p[o++] = v->p[i];
    }
    v->n = o;
}

enum { DO_FTFY = 1, DO_HTML = 2, DO_SPACE = 4 };

static int clean(const char *text, size_t len, int what, char **out, size_t *out_len,
                 size_t *bad)
{
    struct cpv a = {0}, b = {0};
    int st = cpv_from_utf8(&a, text, len, bad);
    if (st) goto out;
    if (what & DO_FTFY) {
        st = ftfy_fix(&a, &b);
        if (st) goto out;
        struct cpv sw = a;
        a = b;
        b = sw;
    }
    for (int pass = 0; (what & DO_HTML) && pass < 2; pass++) {
        b.n = 0;
        if (html_unescape(a.p, a.n, &b)) { st = SF_E_NOMEM; goto out; }
        struct cpv sw = a;
        a = b;
        b = sw;
    }
    if (what & DO_SPACE) collapse_space(&a);
    st = cpv_to_utf8(&a, out, out_len);
out:
    free(a.p);
    free(b.p);
    return st;
}

int sf_prompt_clean(const char *text, size_t len, char **out, size_t *out_len, size_t *bad_offset)
{
    return clean(text, len, DO_FTFY | DO_HTML | DO_SPACE, out, out_len, bad_offset);
}

int sf_prompt_fix_text(const char *text, size_t len, char **out, size_t *out_len,
                       size_t *bad_offset)
{
    return clean(text, len, DO_FTFY, out, out_len, bad_offset);
}

int sf_prompt_html_unescape(const char *text, size_t len, char **out, size_t *out_len,
                            size_t *bad_offset)
{
    return clean(text, len, DO_HTML, out, out_len, bad_offset);
}
