/* sf_unicode.h — the Unicode pieces the prompt cleaner and the tokenizer need: strict UTF-8,
 * NFC, Python's whitespace class, Unicode White_Space, extended grapheme clusters (UAX #29),
 * and a growable byte buffer. Tables are generated (scripts/gen_unicode_tables.py) from Python's
 * unicodedata (sf_uc_unicode_version) and the `regex` module, so the C matches the reference
 * implementations the golden tests compare against.
 *
 *   uint32_t cp; int k = sf_uc_utf8_decode(s, n, &cp);   // 0: invalid byte sequence
 *   size_t end = sf_uc_grapheme_end(s, n, pos);          // one extended grapheme cluster
 */
#ifndef SF_UNICODE_H
#define SF_UNICODE_H

#include <stddef.h>
#include <stdint.h>

extern const char sf_uc_unicode_version[];

/* Decodes one code point from s[0..n). Returns its length 1..4, or 0 when the bytes are not
 * valid UTF-8 (overlong forms, surrogates, > U+10FFFF and truncated sequences included). */
int sf_uc_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Writes cp (must be <= U+10FFFF) as UTF-8 into out[0..4); returns the length. */
int sf_uc_utf8_encode(uint32_t cp, char *out);
/* Returns n when s[0..n) is valid UTF-8, else the byte offset of the first invalid sequence. */
size_t sf_uc_utf8_check(const char *s, size_t n);

int sf_uc_ccc(uint32_t cp);            /* canonical combining class */
int sf_uc_is_pyspace(uint32_t cp);     /* Python str.isspace() == re's \s for str */
int sf_uc_is_white_space(uint32_t cp); /* Unicode White_Space == Rust char::is_whitespace */

/* NFC of cps[0..n) (Python's unicodedata.normalize("NFC") for sf_uc_unicode_version).
 * Decomposition can lengthen the text, so *cps may be replaced by a new malloc'd array (the old
 * one freed) whose capacity in code points goes to *cap. Returns the new length, or (size_t)-1
 * when allocation fails (*cps is then untouched). */
size_t sf_uc_nfc(uint32_t **cps, size_t n, size_t *cap);

/* Byte offset just past the extended grapheme cluster that starts at s[pos] (pos < n; s valid
 * UTF-8). Rules GB3-GB13 of UAX #29 including GB9c (Indic conjuncts). */
size_t sf_uc_grapheme_end(const char *s, size_t n, size_t pos);

/* A growable byte buffer, always NUL-terminated once anything was put. len excludes the NUL. */
struct sf_ucbuf {
    char *p;
    size_t len, cap;
};
/* Appends; return 0, or -1 when allocation fails (the buffer stays valid). */
int sf_ucbuf_put(struct sf_ucbuf *b, const char *s, size_t n);
int sf_ucbuf_putcp(struct sf_ucbuf *b, uint32_t cp);
int sf_ucbuf_reserve(struct sf_ucbuf *b, size_t extra);
void sf_ucbuf_free(struct sf_ucbuf *b);

#endif
