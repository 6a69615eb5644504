/* unicode.c — UTF-8, NFC, whitespace classes and grapheme clusters over the generated tables
 * in unicode_tables.c. Called by prompt_clean.c (ftfy's NFC step, Python's \s) and tokenizer.c
 * (the Precompiled normalizer walks grapheme clusters; Strip and WhitespaceSplit use
 * White_Space). The subtle thing: NFC here must equal Python's for the Unicode version of the
 * tables, so the composition table holds exactly the pairs whose NFC is one code point
 * (composition exclusions are already left out by the generator). */
#include "sf_unicode.h"

#include "unicode_tables.h"

#include <stdlib.h>
#include <string.h>

int sf_uc_utf8_decode(const char *str, size_t n, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    if (n == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)len > n) return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

int sf_uc_utf8_encode(uint32_t cp, char *o)
{
    unsigned char *out = (unsigned char *)o;
    if (cp < 0x80) { out[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t sf_uc_utf8_check(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if ((unsigned char)s[i] < 0x80) { i++; continue; }
        uint32_t cp;
        int k = sf_uc_utf8_decode(s + i, n - i, &cp);
        if (!k) return i;
        i += (size_t)k;
    }
    return n;
}

/* ---- table lookups ------------------------------------------------------------------------ */

/* bsearch comparators: the key is a code point, the element a table row starting with one
 * (struct sf_uc_range / sf_uc_range8 start with lo, hi; sf_uc_decomp / sf_uc_map with cp). */
static int cmp_range(const void *key, const void *elem)
{
    uint32_t cp = *(const uint32_t *)key;
    const uint32_t *r = elem;
    return cp < r[0] ? -1 : cp > r[1] ? 1 : 0;
}

static int cmp_cp(const void *key, const void *elem)
{
    uint32_t cp = *(const uint32_t *)key, e = *(const uint32_t *)elem;
    return cp < e ? -1 : cp > e ? 1 : 0;
}

static int in_ranges(const struct sf_uc_range *t, int n, uint32_t cp)
{
    return bsearch(&cp, t, (size_t)n, sizeof *t, cmp_range) != NULL;
}

static int range8_value(const struct sf_uc_range8 *t, int n, uint32_t cp)
{
    const struct sf_uc_range8 *r = bsearch(&cp, t, (size_t)n, sizeof *t, cmp_range);
    return r ? r->value : 0;
}

const char *sf_uc_map_lookup(const struct sf_uc_map *t, int n, uint32_t cp)
{
    const struct sf_uc_map *m = bsearch(&cp, t, (size_t)n, sizeof *t, cmp_cp);
    return m ? m->utf8 : NULL;
}

int sf_uc_ccc(uint32_t cp)
{
    if (cp < 0x300) return 0;
    return range8_value(sf_uc_ccc_table, sf_uc_ccc_count, cp);
}

int sf_uc_is_pyspace(uint32_t cp)
{
    return in_ranges(sf_uc_pyspace_table, sf_uc_pyspace_count, cp);
}

int sf_uc_is_white_space(uint32_t cp)
{
    return in_ranges(sf_uc_white_space_table, sf_uc_white_space_count, cp);
}

static const struct sf_uc_decomp *find_decomp(uint32_t cp)
{
    return bsearch(&cp, sf_uc_decomp_table, (size_t)sf_uc_decomp_count, sizeof *sf_uc_decomp_table,
                   cmp_cp);
}

/* Hangul syllable arithmetic (Unicode ch. 3.12). */
enum { SBASE = 0xAC00, LBASE = 0x1100, VBASE = 0x1161, TBASE = 0x11A7, LCOUNT = 19, VCOUNT = 21,
       TCOUNT = 28, NCOUNT = VCOUNT * TCOUNT, SCOUNT = LCOUNT * NCOUNT };

static uint32_t compose(uint32_t a, uint32_t b)
{
    if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE && b < VBASE + VCOUNT)
        return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
    if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 && b > TBASE &&
        b < TBASE + TCOUNT)
        return a + (b - TBASE);
    uint64_t key = ((uint64_t)a << 21) | b;
    int lo = 0, hi = sf_uc_comp_count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (key < sf_uc_comp_table[mid].pair) hi = mid - 1;
        else if (key > sf_uc_comp_table[mid].pair) lo = mid + 1;
        else return sf_uc_comp_table[mid].cp;
    }
    return 0;
}

size_t sf_uc_nfc(uint32_t **cpsp, size_t n, size_t *cap)
{
    uint32_t *cps = *cpsp;
    /* Quick exit: nothing below U+0300 decomposes into or composes with anything that is not
     * already composed, except Latin-1 letters, which are already NFC. */
    size_t i = 0;
    while (i < n && cps[i] < 0x300) i++;
    if (i == n) return n;

    /* 1. full canonical decomposition into a new array (at most 4 code points each, Hangul 3) */
    size_t need = n * 4;
    uint32_t *d = malloc((need ? need : 1) * sizeof *d);
    if (!d) return (size_t)-1;
    size_t m = 0;
    for (i = 0; i < n; i++) {
        uint32_t c = cps[i];
        if (c >= SBASE && c < SBASE + SCOUNT) {
            uint32_t s = c - SBASE;
            d[m++] = LBASE + s / NCOUNT;
            d[m++] = VBASE + (s % NCOUNT) / TCOUNT;
            if (s % TCOUNT) d[m++] = TBASE + s % TCOUNT;
            continue;
        }
        const struct sf_uc_decomp *e = c >= 0xC0 ? find_decomp(c) : NULL;
        if (!e) {
            d[m++] = c;
            continue;
        }
        for (int k = 0; k < e->len; k++) d[m++] = sf_uc_decomp_pool[e->off + k];
    }
    /* 2. canonical ordering: stable insertion sort of each run of non-starters by class */
    for (i = 1; i < m; i++) {
        int cc = sf_uc_ccc(d[i]);
        if (cc == 0) continue;
        size_t j = i;
        uint32_t c = d[i];
        while (j > 0) {
            int pc = sf_uc_ccc(d[j - 1]);
            if (pc <= cc) break;
            d[j] = d[j - 1];
            j--;
        }
        d[j] = c;
    }
    /* 3. canonical composition */
    size_t out = 0;
    if (m > 0) {
        size_t starter = 0;
        uint32_t starter_cp = d[0];
        int last = sf_uc_ccc(d[0]) ? 256 : 0;
        out = 1;
        for (i = 1; i < m; i++) {
            uint32_t c = d[i];
            int cc = sf_uc_ccc(c);
            uint32_t comp = compose(starter_cp, c);
            if (comp && (last < cc || last == 0)) {
                d[starter] = comp;
                starter_cp = comp;
                continue;
            }
            if (cc == 0) {
                starter = out;
                starter_cp = c;
            }
            last = cc;
            d[out++] = c;
        }
    }
    free(*cpsp);
    *cpsp = d;
    *cap = need ? need : 1;
    return out;
}

/* ---- grapheme clusters (UAX #29) ---------------------------------------------------------- */

enum gcb { G_OTHER, G_CR, G_LF, G_CONTROL, G_EXTEND, G_ZWJ, G_RI, G_PREPEND, G_SPACINGMARK, G_L,
           G_V, G_T, G_LV, G_LVT };

static unsigned gprop(uint32_t cp)
{
    if (cp >= 0x20 && cp < 0x7F) return 0;
    return (unsigned)range8_value(sf_uc_grapheme_table, sf_uc_grapheme_count, cp);
}

size_t sf_uc_grapheme_end(const char *s, size_t n, size_t pos)
{
    /* ASCII followed by ASCII: always a boundary, except CR LF */
    if ((unsigned char)s[pos] < 0x80 && (pos + 1 == n || ((unsigned char)s[pos + 1] < 0x80 &&
                                                           !(s[pos] == '\r' && s[pos + 1] == '\n'))))
        return pos + 1;
    uint32_t cp;
    int k = sf_uc_utf8_decode(s + pos, n - pos, &cp);
    if (!k) return pos + 1;
    unsigned p = gprop(cp);
    size_t i = pos + (size_t)k;
    int ri = (p & 15) == G_RI;              /* regional indicators in the current run */
    int emoji = (p & 16) ? 1 : 0;           /* 1: ExtPict Extend*, 2: ... ZWJ */
    int incb = ((p >> 5) & 3) == 2 ? 1 : 0; /* 1: Consonant [Extend|Linker]*, 2: ... with Linker */
    while (i < n) {
        uint32_t c2;
        int k2 = sf_uc_utf8_decode(s + i, n - i, &c2);
        if (!k2) break;
        unsigned q = gprop(c2);
        unsigned a = p & 15, b = q & 15;
        int join;
        if (a == G_CR && b == G_LF) join = 1;                                        /* GB3 */
        else if (a == G_CONTROL || a == G_CR || a == G_LF) join = 0;                 /* GB4 */
        else if (b == G_CONTROL || b == G_CR || b == G_LF) join = 0;                 /* GB5 */
        else if (a == G_L && (b == G_L || b == G_V || b == G_LV || b == G_LVT)) join = 1;
        else if ((a == G_LV || a == G_V) && (b == G_V || b == G_T)) join = 1;        /* GB7 */
        else if ((a == G_LVT || a == G_T) && b == G_T) join = 1;                     /* GB8 */
        else if (b == G_EXTEND || b == G_ZWJ || b == G_SPACINGMARK) join = 1;        /* GB9, 9a */
        else if (a == G_PREPEND) join = 1;                                           /* GB9b */
        else if (incb == 2 && ((q >> 5) & 3) == 2) join = 1;                         /* GB9c */
        else if (emoji == 2 && a == G_ZWJ && (q & 16)) join = 1;                     /* GB11 */
        else if (a == G_RI && b == G_RI && (ri % 2) == 1) join = 1;                  /* GB12/13 */
        else join = 0;
        if (!join) break;
        /* update the states with c2 */
        ri = b == G_RI ? ri + 1 : 0;
        if (q & 16) emoji = 1;
        else if (emoji == 1 && b == G_EXTEND) emoji = 1;
        else if (emoji == 1 && b == G_ZWJ) emoji = 2;
        else emoji = 0;
        unsigned ic = (q >> 5) & 3;
        if (ic == 2) incb = 1;
        else if (incb && ic == 1) incb = 2;
        else if (incb && (ic == 3 || b == G_ZWJ)) { /* Extend keeps the state */ }
        else incb = 0;
        p = q;
        i += (size_t)k2;
    }
    return i;
}

/* ---- buffer -------------------------------------------------------------------------------- */

int sf_ucbuf_reserve(struct sf_ucbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int sf_ucbuf_put(struct sf_ucbuf *b, const char *s, size_t n)
{
    if (sf_ucbuf_reserve(b, n)) return -1;
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

int sf_ucbuf_putcp(struct sf_ucbuf *b, uint32_t cp)
{
    char tmp[4];
    return sf_ucbuf_put(b, tmp, (size_t)sf_uc_utf8_encode(cp, tmp));
}

void sf_ucbuf_free(struct sf_ucbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
