/* tokenizer.c — reads a Hugging Face tokenizer.json of the unigram kind (umT5's) and encodes
 * text to the ids the `tokenizers` library gives. Called by `shotfarm tokenize`, the text
 * encoder's prompt path and mkmodel (sf_tokenizer_install).
 *
 * The pipeline, as tokenizers runs it: non-normalized added tokens (umT5's </s>, <pad>, ...)
 * are cut out of the raw text (longest match at the leftmost position); every other segment is
 * normalized on its own (so Strip acts at each segment's ends), split on normalized added
 * tokens, pre-tokenized into pieces, and each piece is segmented by Viterbi over the
 * vocabulary; the template's special tokens go around the result after truncation. Added
 * tokens' ids come from their content, not from the file's "id" fields (tokenizers ignores
 * those too). encode allocates its scratch per call (prompts are encoded once per shot).
 *
 * Subtle things, each checked by the golden test:
 *  - Precompiled (SentencePiece's charsmap) walks extended grapheme clusters; a cluster shorter
 *    than 6 bytes is replaced whole by the SHORTEST trie match of its prefix (so "Ａ" + a
 *    combining mark becomes "A" and the mark is gone, and "\r\n" becomes one space), otherwise
 *    each character is mapped alone. This is what spm_precompiled does, warts included.
 *  - Viterbi keeps the first best path on ties (strict >), scans prefixes shortest first, and
 *    adds an <unk> candidate (min score - 10) only where no single-character piece exists.
 *    Consecutive <unk>s fuse; the fused text is looked up in the vocabulary again, and with
 *    byte_fallback becomes <0xNN> tokens when all its bytes have one.
 *  - Metaspace's "first" scheme prepends only to a piece that begins at offset 0 of the original
 *    text; we track that as a flag (the start survives unless normalization deleted the first
 *    character or stripped leading space), not full alignments.
 * Lookups in the vocabulary go through a byte trie whose edges live in one open-addressing hash
 * table ((node, byte) -> child), built once at load; encode allocates only its scratch. */
#define _POSIX_C_SOURCE 200809L
#include "sf_tokenizer.h"

#include "sf_errors.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_prompt_clean.h"
#include "sf_status.h"
#include "sf_unicode.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MOD "tokenizer"
#define UNK_PENALTY 10.0

enum norm_type { NORM_PRECOMPILED, NORM_STRIP, NORM_REPLACE };
enum pre_type { PRE_WHITESPACE_SPLIT, PRE_METASPACE };
enum prepend { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER };

struct norm {
    enum norm_type type;
    /* Precompiled: darts-clone double array (units) and the normalized-strings blob */
    uint32_t *units;
    size_t n_units;
    char *blob;
    size_t blob_len;
    /* Strip */
    int left, right;
    /* Replace: literal pattern, or one character class repeated min..max (max 0: unbounded) */
    char *pattern;
    size_t pattern_len;
    int repeat;           /* 1: regex "<atom>{min,max}" */
    uint32_t atom;        /* the repeated character, or 0 with atom_space */
    int atom_space;       /* \s */
    int min, max;
    char *content;
    size_t content_len;
};

struct pre {
    enum pre_type type;
    char repl[5];
    int repl_len;
    enum prepend prepend;
    int split;
};

struct added {
    char *text; /* normalized tokens: the content after the normalizers */
    size_t len;
    int32_t id;
    int lstrip, rstrip;
    int normalized; /* matched in normalized segments, not in the raw text */
};

struct sf_tokenizer {
    struct norm *norms;
    int n_norms;
    struct pre *pres;
    int n_pres;
    struct added *added;
    int n_added, n_added_normalized;
    uint8_t added_first[2][256]; /* [normalized][byte]: bytes that begin some added token */
    /* unigram */
    int n_vocab;
    double *scores;
    double min_score;
    int32_t unk_id; /* -1: none */
    int byte_fallback;
    int32_t byte_ids[256]; /* -1 where <0xNN> is missing */
    /* trie: node 0 is the root; edges in a hash table keyed (node << 8 | byte) + 1 */
    uint64_t *edge_keys;
    uint32_t *edge_child;
    size_t edge_mask;
    int32_t *node_id; /* piece id ending at each node, -1 */
    size_t n_nodes, cap_nodes;
    /* post-processor template around the sequence */
    int32_t pre_ids[16], post_ids[16];
    int n_pre_ids, n_post_ids;
    int32_t pad_id;
    int vocab_size;
};

/* ---- trie ------------------------------------------------------------------------------------ */

static size_t edge_slot(const struct sf_tokenizer *t, uint64_t key)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & t->edge_mask;
}

static int64_t trie_child(const struct sf_tokenizer *t, uint32_t node, uint8_t byte)
{
    uint64_t key = (((uint64_t)node << 8) | byte) + 1;
    for (size_t s = edge_slot(t, key);; s = (s + 1) & t->edge_mask) {
        if (t->edge_keys[s] == key) return t->edge_child[s];
        if (t->edge_keys[s] == 0) return -1;
    }
}

static int trie_insert(struct sf_tokenizer *t, const char *s, size_t n, int32_t id)
{
    uint32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = (uint8_t)s[i];
        int64_t c = trie_child(t, node, b);
        if (c < 0) {
            SF_ASSERT(t->n_nodes < t->cap_nodes);
            uint32_t nn = (uint32_t)t->n_nodes++;
            t->node_id[nn] = -1;
            uint64_t key = (((uint64_t)node << 8) | b) + 1;
            size_t sl = edge_slot(t, key);
            while (t->edge_keys[sl]) sl = (sl + 1) & t->edge_mask;
            t->edge_keys[sl] = key;
            t->edge_child[sl] = nn;
            c = nn;
        }
        node = (uint32_t)c;
    }
    t->node_id[node] = id; /* a repeated piece: the last one wins, as in tokenizers' map */
    return 0;
}

/* Id of the piece s[0..n) exactly, or -1. */
static int32_t trie_find(const struct sf_tokenizer *t, const char *s, size_t n)
{
    uint32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t c = trie_child(t, node, (uint8_t)s[i]);
        if (c < 0) return -1;
        node = (uint32_t)c;
    }
    return t->node_id[node];
}

/* ---- loading ---------------------------------------------------------------------------------- */

static int fmt_error(const char *name, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fmt_error(const char *name, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    SF_ERROR(MOD, "%s: %s: %s", name, field, msg);
    return SF_E_FORMAT;
}

static const struct sf_json *get_typed(const struct sf_json *obj, const char *key,
                                       enum sf_json_type type)
{
    const struct sf_json *v = sf_json_get(obj, key);
    return v && v->type == type ? v : NULL;
}

static int get_bool(const struct sf_json *obj, const char *key, int dflt)
{
    const struct sf_json *v = get_typed(obj, key, SF_JSON_BOOL);
    return v ? v->boolean : dflt;
}

static char *dup_bytes(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Standard base64 with padding; returns decoded length or -1 when malformed. */
static long b64_decode(const char *s, size_t n, uint8_t *out)
{
    if (n % 4) return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad) return -1;
            v[k] = b64_value((unsigned char)s[i + k]);
            if (v[k] < 0) return -1;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (uint8_t)(w >> 16);
        if (pad < 2) out[o++] = (uint8_t)(w >> 8);
        if (pad < 1) out[o++] = (uint8_t)w;
    }
    return (long)o;
}

static int load_precompiled(const char *name, const struct sf_json *j, struct norm *nm)
{
    const struct sf_json *cm = get_typed(j, "precompiled_charsmap", SF_JSON_STRING);
    if (!cm)
        return fmt_error(name, "normalizer Precompiled.precompiled_charsmap",
                         "missing or not a string; the file must carry SentencePiece's charsmap");
    uint8_t *raw = malloc(cm->str_len / 4 * 3 + 4);
    if (!raw) return SF_E_NOMEM;
    long n = b64_decode(cm->str, cm->str_len, raw);
    int st = SF_OK;
    if (n < 4) {
        st = fmt_error(name, "normalizer Precompiled.precompiled_charsmap",
                       "not valid base64 of a charsmap (needs a 4-byte trie size at least)");
        goto out;
    }
    uint32_t trie_bytes = (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 |
                          (uint32_t)raw[3] << 24;
    size_t n_units = trie_bytes / 4;
    if (n_units > ((size_t)n - 4) / 4) {
        st = fmt_error(name, "normalizer Precompiled.precompiled_charsmap",
                       "trie size %u exceeds the %ld bytes of the map", trie_bytes, n - 4);
        goto out;
    }
    nm->n_units = n_units;
    nm->units = malloc((n_units ? n_units : 1) * sizeof *nm->units);
    size_t blob_off = 4 + n_units * 4;
    nm->blob_len = (size_t)n - blob_off;
    nm->blob = dup_bytes((const char *)raw + blob_off, nm->blob_len);
    if (!nm->units || !nm->blob) {
        st = SF_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n_units; i++) {
        const uint8_t *u = raw + 4 + i * 4;
        nm->units[i] = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
                       (uint32_t)u[3] << 24;
    }
    if (sf_uc_utf8_check(nm->blob, nm->blob_len) != nm->blob_len)
        st = fmt_error(name, "normalizer Precompiled.precompiled_charsmap",
                       "its normalized strings are not valid UTF-8");
out:
    free(raw);
    return st;
}

/* Parses the Replace pattern: {"String": s} or {"Regex": r} with r a literal or one atom with
 * a quantifier (+, {n}, {n,}, {n,m}). */
static int load_replace(const char *name, const struct sf_json *j, struct norm *nm)
{
    const struct sf_json *pat = get_typed(j, "pattern", SF_JSON_OBJECT);
    const struct sf_json *content = get_typed(j, "content", SF_JSON_STRING);
    if (!pat || !content)
        return fmt_error(name, "normalizer Replace", "needs \"pattern\" (object) and \"content\" (string)");
    nm->content = dup_bytes(content->str, content->str_len);
    nm->content_len = content->str_len;
    if (!nm->content) return SF_E_NOMEM;
    const struct sf_json *lit = get_typed(pat, "String", SF_JSON_STRING);
    const struct sf_json *re = get_typed(pat, "Regex", SF_JSON_STRING);
    if (lit) {
        if (lit->str_len == 0)
            return fmt_error(name, "normalizer Replace.pattern.String", "is empty");
        nm->pattern = dup_bytes(lit->str, lit->str_len);
        nm->pattern_len = lit->str_len;
        return nm->pattern ? SF_OK : SF_E_NOMEM;
    }
    if (!re) return fmt_error(name, "normalizer Replace.pattern", "needs \"String\" or \"Regex\"");
    /* Literal regex (no metacharacters, escapes allowed) or a single repeated atom. */
    const char *s = re->str;
    size_t n = re->str_len, i = 0;
    struct sf_ucbuf litb = {0};
    int atoms = 0, st = SF_OK;
    uint32_t atom = 0;
    int atom_space = 0;
    while (i < n) {
        uint32_t c;
        int space = 0;
        if (s[i] == '\\' && i + 1 < n) {
            char e = s[i + 1];
            i += 2;
            if (e == 's') { space = 1; c = 0; }
            else if (e == 't') c = '\t';
            else if (e == 'n') c = '\n';
            else if (e == 'r') c = '\r';
            else if (strchr(".[](){}|^$*+?\\-/ ", e)) c = (uint32_t)e;
            else goto unsupported;
        } else if (strchr(".[]()|^$*+?{}\\", s[i])) {
            goto unsupported;
        } else {
            int k = sf_uc_utf8_decode(s + i, n - i, &c);
            if (!k) goto unsupported;
            i += (size_t)k;
        }
        atoms++;
        atom = c;
        atom_space = space;
        if (i < n && (s[i] == '+' || s[i] == '{')) {
            if (atoms != 1) goto unsupported;
            int mn = 1, mx = 0;
            if (s[i] == '+') {
                i++;
            } else {
                char *end;
                long a = strtol(s + i + 1, &end, 10);
                if (end == s + i + 1 || a < 1 || a > 1000) goto unsupported;
                mn = (int)a;
                mx = (int)a;
                if (*end == ',') {
                    const char *b0 = end + 1;
                    long b = strtol(b0, &end, 10);
                    if (end == b0) mx = 0;
                    else if (b < a || b > 1000) goto unsupported;
                    else mx = (int)b;
                }
                if (*end != '}') goto unsupported;
                i = (size_t)(end + 1 - s);
            }
            if (i != n) goto unsupported;
            nm->repeat = 1;
            nm->atom = atom;
            nm->atom_space = atom_space;
            nm->min = mn;
            nm->max = mx;
            sf_ucbuf_free(&litb);
            return SF_OK;
        }
        if (space) goto unsupported;
        if (sf_ucbuf_putcp(&litb, c)) { st = SF_E_NOMEM; goto done; }
    }
    if (!litb.len) goto unsupported;
    nm->pattern = litb.p;
    nm->pattern_len = litb.len;
    return SF_OK;
unsupported:
    st = fmt_error(name, "normalizer Replace.pattern.Regex",
                   "\"%s\" is not supported: shotfarm handles literal text and one repeated "
                   "character such as \" {2,}\"", re->str);
done:
    sf_ucbuf_free(&litb);
    return st;
}

typedef int (*load_fn)(const char *name, const struct sf_json *j, struct sf_tokenizer *t, int depth);

/* {"type": "Sequence", KEY: [...]}: loads each member with fn. */
static int load_sequence(const char *name, const struct sf_json *j, struct sf_tokenizer *t,
                         int depth, const char *what, const char *key, load_fn fn)
{
    const struct sf_json *list = get_typed(j, key, SF_JSON_ARRAY);
    if (!list) return fmt_error(name, what, "Sequence.%s is missing or not an array", key);
    if (depth > 4) return fmt_error(name, what, "Sequence nested too deeply");
    for (size_t i = 0; i < list->n; i++) {
        int st = fn(name, list->items[i], t, depth + 1);
        if (st) return st;
    }
    return SF_OK;
}

static int load_normalizer(const char *name, const struct sf_json *j, struct sf_tokenizer *t,
                           int depth)
{
    const char *type = sf_json_get_str(j, "type");
    if (!type) return fmt_error(name, "normalizer.type", "missing");
    if (!strcmp(type, "Sequence"))
        return load_sequence(name, j, t, depth, "normalizer", "normalizers", load_normalizer);
    enum norm_type nt;
    if (!strcmp(type, "Precompiled")) nt = NORM_PRECOMPILED;
    else if (!strcmp(type, "Strip")) nt = NORM_STRIP;
    else if (!strcmp(type, "Replace")) nt = NORM_REPLACE;
    else
        return fmt_error(name, "normalizer.type",
                         "\"%s\" is not supported (shotfarm reads Sequence, Precompiled, Strip, "
                         "Replace: the normalizers of umT5's tokenizer)", type);
    struct norm *nn = realloc(t->norms, (size_t)(t->n_norms + 1) * sizeof *nn);
    if (!nn) return SF_E_NOMEM;
    t->norms = nn;
    struct norm *nm = &t->norms[t->n_norms++];
    memset(nm, 0, sizeof *nm);
    nm->type = nt;
    if (nt == NORM_PRECOMPILED) return load_precompiled(name, j, nm);
    if (nt == NORM_REPLACE) return load_replace(name, j, nm);
    nm->left = get_bool(j, "strip_left", 0);
    nm->right = get_bool(j, "strip_right", 0);
    return SF_OK;
}

static int load_pre(const char *name, const struct sf_json *j, struct sf_tokenizer *t, int depth)
{
    const char *type = sf_json_get_str(j, "type");
    if (!type) return fmt_error(name, "pre_tokenizer.type", "missing");
    if (!strcmp(type, "Sequence"))
        return load_sequence(name, j, t, depth, "pre_tokenizer", "pretokenizers", load_pre);
    enum pre_type pt;
    if (!strcmp(type, "WhitespaceSplit")) pt = PRE_WHITESPACE_SPLIT;
    else if (!strcmp(type, "Metaspace")) pt = PRE_METASPACE;
    else
        return fmt_error(name, "pre_tokenizer.type",
                         "\"%s\" is not supported (shotfarm reads Sequence, WhitespaceSplit, "
                         "Metaspace: the pre-tokenizers of umT5's tokenizer)", type);
    struct pre *np = realloc(t->pres, (size_t)(t->n_pres + 1) * sizeof *np);
    if (!np) return SF_E_NOMEM;
    t->pres = np;
    struct pre *p = &t->pres[t->n_pres++];
    memset(p, 0, sizeof *p);
    p->type = pt;
    if (pt == PRE_WHITESPACE_SPLIT) return SF_OK;
    const struct sf_json *r = get_typed(j, "replacement", SF_JSON_STRING);
    uint32_t rc;
    if (!r || !r->str_len || sf_uc_utf8_decode(r->str, r->str_len, &rc) != (int)r->str_len)
        return fmt_error(name, "pre_tokenizer Metaspace.replacement",
                         "must be a string of one character (umT5: \"\\u2581\")");
    memcpy(p->repl, r->str, r->str_len);
    p->repl_len = (int)r->str_len;
    const char *scheme = sf_json_get_str(j, "prepend_scheme");
    p->prepend = PREPEND_ALWAYS; /* tokenizers' default when the field is absent */
    if (scheme) {
        if (!strcmp(scheme, "always")) p->prepend = PREPEND_ALWAYS;
        else if (!strcmp(scheme, "first")) p->prepend = PREPEND_FIRST;
        else if (!strcmp(scheme, "never")) p->prepend = PREPEND_NEVER;
        else
            return fmt_error(name, "pre_tokenizer Metaspace.prepend_scheme",
                             "\"%s\" is not one of always, first, never", scheme);
    }
    const struct sf_json *aps = get_typed(j, "add_prefix_space", SF_JSON_BOOL);
    if (aps && !aps->boolean) {
        /* As tokenizers: add_prefix_space false must come with prepend_scheme "never". */
        if (p->prepend != PREPEND_NEVER)
            return fmt_error(name, "pre_tokenizer Metaspace.add_prefix_space",
                             "false does not match prepend_scheme; set \"prepend_scheme\": \"never\"");
    }
    p->split = get_bool(j, "split", 1);
    return SF_OK;
}

static int load_template(const char *name, const struct sf_json *j, struct sf_tokenizer *t)
{
    const char *type = sf_json_get_str(j, "type");
    if (!type || strcmp(type, "TemplateProcessing"))
        return fmt_error(name, "post_processor.type",
                         "\"%s\" is not supported (shotfarm reads TemplateProcessing)",
                         type ? type : "(missing)");
    const struct sf_json *single = get_typed(j, "single", SF_JSON_ARRAY);
    const struct sf_json *specials = get_typed(j, "special_tokens", SF_JSON_OBJECT);
    if (!single) return fmt_error(name, "post_processor.single", "missing or not an array");
    int seen_seq = 0;
    for (size_t i = 0; i < single->n; i++) {
        const struct sf_json *it = single->items[i];
        const struct sf_json *seq = get_typed(it, "Sequence", SF_JSON_OBJECT);
        const struct sf_json *sp = get_typed(it, "SpecialToken", SF_JSON_OBJECT);
        if (seq) {
            const char *id = sf_json_get_str(seq, "id");
            if (seen_seq || !id || strcmp(id, "A"))
                return fmt_error(name, "post_processor.single",
                                 "needs exactly one {\"Sequence\": {\"id\": \"A\"}}");
            seen_seq = 1;
            continue;
        }
        const char *id = sp ? sf_json_get_str(sp, "id") : NULL;
        const struct sf_json *def = id ? get_typed(specials, id, SF_JSON_OBJECT) : NULL;
        const struct sf_json *ids = get_typed(def, "ids", SF_JSON_ARRAY);
        if (!ids)
            return fmt_error(name, "post_processor.single",
                             "item %zu is neither a Sequence nor a SpecialToken listed with ids "
                             "in special_tokens", i);
        for (size_t k = 0; k < ids->n; k++) {
            const struct sf_json *v = ids->items[k];
            int *cnt = seen_seq ? &t->n_post_ids : &t->n_pre_ids;
            int32_t *arr = seen_seq ? t->post_ids : t->pre_ids;
            if (v->type != SF_JSON_NUMBER || !v->is_int || v->integer < 0 || v->integer > INT32_MAX)
                return fmt_error(name, "post_processor.special_tokens", "\"%s\" has a bad id", id);
            if (*cnt >= 16)
                return fmt_error(name, "post_processor.single", "more than 16 special tokens");
            arr[(*cnt)++] = (int32_t)v->integer;
        }
    }
    if (!seen_seq)
        return fmt_error(name, "post_processor.single", "has no {\"Sequence\": {\"id\": \"A\"}}");
    return SF_OK;
}

/* Added tokens get their ids as tokenizers assigns them when it reads a file (the "id" fields
 * are not used): the piece's id when the content is in the model's vocabulary, the id given to
 * the same content earlier in the list (whose flags the later entry replaces), or the next id
 * past the vocabulary. Empty contents are skipped. */
static int load_added(const char *name, const struct sf_json *list, struct sf_tokenizer *t)
{
    if (!list->n) return SF_OK;
    t->added = calloc(list->n, sizeof *t->added);
    if (!t->added) return SF_E_NOMEM;
    int32_t next_id = t->n_vocab;
    for (size_t i = 0; i < list->n; i++) {
        const struct sf_json *a = list->items[i];
        const struct sf_json *content = get_typed(a, "content", SF_JSON_STRING);
        if (!content)
            return fmt_error(name, "added_tokens", "entry %zu has no \"content\" string", i);
        if (!content->str_len) continue;
        if (get_bool(a, "single_word", 0))
            return fmt_error(name, "added_tokens", "\"%s\": single_word is not supported", content->str);
        struct added *ad = NULL;
        for (int k = 0; k < t->n_added && !ad; k++)
            if (t->added[k].len == content->str_len && !memcmp(t->added[k].text, content->str, content->str_len))
                ad = &t->added[k];
        if (!ad) {
            ad = &t->added[t->n_added++];
            ad->text = dup_bytes(content->str, content->str_len);
            if (!ad->text) return SF_E_NOMEM;
            ad->len = content->str_len;
            ad->id = trie_find(t, content->str, content->str_len);
            if (ad->id < 0) ad->id = next_id++;
        }
        int64_t id;
        if (!sf_json_get_int(a, "id", &id) && id != ad->id)
            SF_DEBUG(MOD, "%s: added token \"%s\" has id %lld in the file but %d by content",
                     name, content->str, (long long)id, ad->id);
        ad->lstrip = get_bool(a, "lstrip", 0);
        ad->rstrip = get_bool(a, "rstrip", 0);
        /* tokenizers' default: special tokens are not normalized, others are */
        ad->normalized = get_bool(a, "normalized", !get_bool(a, "special", 0));
        if (ad->id >= t->vocab_size) t->vocab_size = ad->id + 1;
    }
    return SF_OK;
}

static int load_unigram(const char *name, const struct sf_json *m, struct sf_tokenizer *t)
{
    const char *type = sf_json_get_str(m, "type");
    if (!type || strcmp(type, "Unigram"))
        return fmt_error(name, "model.type",
                         "\"%s\" is not supported: shotfarm reads Unigram tokenizers (umT5's kind)",
                         type ? type : "(missing)");
    const struct sf_json *vocab = get_typed(m, "vocab", SF_JSON_ARRAY);
    if (!vocab || !vocab->n)
        return fmt_error(name, "model.vocab", "missing, empty or not an array of [piece, score]");
    if (vocab->n > (size_t)INT32_MAX / 2)
        return fmt_error(name, "model.vocab", "too many pieces");
    t->n_vocab = (int)vocab->n;
    t->vocab_size = t->n_vocab;
    t->scores = malloc(vocab->n * sizeof *t->scores);
    size_t total = 1;
    for (size_t i = 0; i < vocab->n; i++) {
        const struct sf_json *e = vocab->items[i];
        if (e->type != SF_JSON_ARRAY || e->n != 2 || e->items[0]->type != SF_JSON_STRING ||
            e->items[1]->type != SF_JSON_NUMBER)
            return fmt_error(name, "model.vocab", "entry %zu is not [piece, score]", i);
        total += e->items[0]->str_len;
    }
    t->cap_nodes = total;
    size_t slots = 16;
    while (slots < total * 2) slots *= 2;
    t->edge_mask = slots - 1;
    t->edge_keys = calloc(slots, sizeof *t->edge_keys);
    t->edge_child = malloc(slots * sizeof *t->edge_child);
    t->node_id = malloc(total * sizeof *t->node_id);
    if (!t->scores || !t->edge_keys || !t->edge_child || !t->node_id) return SF_E_NOMEM;
    t->n_nodes = 1;
    t->node_id[0] = -1;
    t->min_score = INFINITY;
    for (size_t i = 0; i < vocab->n; i++) {
        const struct sf_json *e = vocab->items[i];
        t->scores[i] = e->items[1]->number;
        if (t->scores[i] < t->min_score) t->min_score = t->scores[i];
        trie_insert(t, e->items[0]->str, e->items[0]->str_len, (int32_t)i);
    }
    const struct sf_json *unk = sf_json_get(m, "unk_id");
    t->unk_id = -1;
    if (unk && unk->type != SF_JSON_NULL) {
        if (unk->type != SF_JSON_NUMBER || !unk->is_int || unk->integer < 0 ||
            unk->integer >= t->n_vocab)
            return fmt_error(name, "model.unk_id", "must be null or an index into model.vocab (0..%d)",
                             t->n_vocab - 1);
        t->unk_id = (int32_t)unk->integer;
    }
    t->byte_fallback = get_bool(m, "byte_fallback", 0);
    for (int b = 0; b < 256; b++) {
        char piece[8];
        snprintf(piece, sizeof piece, "<0x%02X>", b);
        t->byte_ids[b] = trie_find(t, piece, 6);
    }
    return SF_OK;
}

static int prepare_added(struct sf_tokenizer *t);

int sf_tokenizer_parse(const char *json, size_t len, const char *name, struct sf_tokenizer **out)
{
    *out = NULL;
    char err[256];
    struct sf_json_doc *doc = sf_json_parse(json, len, err, sizeof err);
    if (!doc) {
        SF_ERROR(MOD, "%s: not valid JSON: %s", name, err);
        return SF_E_FORMAT;
    }
    int st = SF_OK;
    struct sf_tokenizer *t = calloc(1, sizeof *t);
    if (!t) { st = SF_E_NOMEM; goto out; }
    const struct sf_json *root = sf_json_root(doc);
    const struct sf_json *model = get_typed(root, "model", SF_JSON_OBJECT);
    if (!model) { st = fmt_error(name, "model", "missing or not an object"); goto out; }
    SF_TRY(st, load_unigram(name, model, t));
    const struct sf_json *v = sf_json_get(root, "normalizer");
    if (v && v->type == SF_JSON_OBJECT) SF_TRY(st, load_normalizer(name, v, t, 0));
    else if (v && v->type != SF_JSON_NULL) { st = fmt_error(name, "normalizer", "must be an object or null"); goto out; }
    v = sf_json_get(root, "pre_tokenizer");
    if (v && v->type == SF_JSON_OBJECT) SF_TRY(st, load_pre(name, v, t, 0));
    else if (v && v->type != SF_JSON_NULL) { st = fmt_error(name, "pre_tokenizer", "must be an object or null"); goto out; }
    v = sf_json_get(root, "post_processor");
    if (v && v->type == SF_JSON_OBJECT) SF_TRY(st, load_template(name, v, t));
    else if (v && v->type != SF_JSON_NULL) { st = fmt_error(name, "post_processor", "must be an object or null"); goto out; }
    v = sf_json_get(root, "added_tokens");
    if (v && v->type == SF_JSON_ARRAY) SF_TRY(st, load_added(name, v, t));
    else if (v && v->type != SF_JSON_NULL) { st = fmt_error(name, "added_tokens", "must be an array"); goto out; }
    SF_TRY(st, prepare_added(t));
    t->pad_id = trie_find(t, "<pad>", 5);
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].len == 5 && !memcmp(t->added[i].text, "<pad>", 5)) t->pad_id = t->added[i].id;
out:
    sf_json_free(doc);
    if (st) {
        sf_tokenizer_destroy(t);
        return st;
    }
    *out = t;
    return SF_OK;
}

int sf_tokenizer_load(const char *path, struct sf_tokenizer **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return sf_err_errno(errno, "open the tokenizer", path);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int st = SF_OK;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            char *nb = realloc(buf, cap);
            if (!nb) { st = SF_E_NOMEM; goto out; }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) { st = sf_err_errno(errno ? errno : EIO, "read the tokenizer", path); goto out; }
    st = sf_tokenizer_parse(buf, n, path, out);
out:
    fclose(f);
    free(buf);
    return st;
}

void sf_tokenizer_destroy(struct sf_tokenizer *t)
{
    if (!t) return;
    for (int i = 0; i < t->n_norms; i++) {
        free(t->norms[i].units);
        free(t->norms[i].blob);
        free(t->norms[i].pattern);
        free(t->norms[i].content);
    }
    free(t->norms);
    free(t->pres);
    for (int i = 0; i < t->n_added; i++) free(t->added[i].text);
    free(t->added);
    free(t->scores);
    free(t->edge_keys);
    free(t->edge_child);
    free(t->node_id);
    free(t);
}

int sf_tokenizer_vocab_size(const struct sf_tokenizer *t) { return t->vocab_size; }
int sf_tokenizer_pad_id(const struct sf_tokenizer *t) { return t->pad_id; }

/* ---- normalizers ---------------------------------------------------------------------------- */

/* spm_precompiled's transform: the normalized string of the shortest trie match of a prefix of
 * key[0..n), or NULL. Out-of-range units of a corrupt map end the search (no match). */
static const char *charsmap_lookup(const struct norm *nm, const char *key, size_t n, size_t *out_len)
{
    if (!nm->n_units) return NULL;
    size_t pos = 0;
    uint32_t unit = nm->units[0];
#define OFFSET(u) ((size_t)((u) >> 10) << (((u) & (1u << 9)) >> 6))
#define LABEL(u) ((u) & ((1u << 31) | 0xFFu))
    pos ^= OFFSET(unit);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)key[i];
        if (c == 0) break;
        pos ^= c;
        if (pos >= nm->n_units) return NULL;
        unit = nm->units[pos];
        if (LABEL(unit) != c) return NULL;
        pos ^= OFFSET(unit);
        if ((unit >> 8) & 1) {
            if (pos >= nm->n_units) return NULL;
            size_t idx = nm->units[pos] & 0x7FFFFFFFu;
            if (idx > nm->blob_len) return NULL;
            if (idx < nm->blob_len && ((uint8_t)nm->blob[idx] & 0xC0) == 0x80) return NULL;
            size_t e = idx;
            while (e < nm->blob_len && nm->blob[e]) e++;
            *out_len = e - idx;
            return nm->blob + idx;
        }
    }
#undef OFFSET
#undef LABEL
    return NULL;
}

/* A normalized segment and whether its first character still sits at offset 0 of the original
 * text (for Metaspace's "first" scheme). */
struct seg {
    struct sf_ucbuf b;
    int origin0;
};

static int norm_precompiled(const struct norm *nm, const struct seg *in, struct seg *out)
{
    const char *s = in->b.p;
    size_t n = in->b.len, i = 0;
    out->b.len = 0;
    int first = 1;
    out->origin0 = in->origin0;
    while (i < n) {
        size_t g = sf_uc_grapheme_end(s, n, i), len;
        const char *rep = g - i < 6 ? charsmap_lookup(nm, s + i, g - i, &len) : NULL;
        if (rep) {
            if (sf_ucbuf_put(&out->b, rep, len)) return SF_E_NOMEM;
        } else {
            for (size_t c = i; c < g;) {
                uint32_t cp;
                int k = sf_uc_utf8_decode(s + c, g - c, &cp);
                const char *r = charsmap_lookup(nm, s + c, (size_t)k, &len);
                if (sf_ucbuf_put(&out->b, r ? r : s + c, r ? len : (size_t)k)) return SF_E_NOMEM;
                if (first && c == i && out->b.len == 0) out->origin0 = 0;
                c += (size_t)k;
            }
        }
        if (first && out->b.len == 0) out->origin0 = 0;
        first = 0;
        i = g;
    }
    return SF_OK;
}

static int norm_strip(const struct norm *nm, const struct seg *in, struct seg *out)
{
    const char *s = in->b.p;
    size_t a = 0, e = in->b.len;
    uint32_t cp;
    if (nm->left)
        while (a < e) {
            int k = sf_uc_utf8_decode(s + a, e - a, &cp);
            if (!sf_uc_is_white_space(cp)) break;
            a += (size_t)k;
        }
    if (nm->right)
        while (e > a) {
            size_t p = e - 1;
            while (p > a && ((uint8_t)s[p] & 0xC0) == 0x80) p--;
            sf_uc_utf8_decode(s + p, e - p, &cp);
            if (!sf_uc_is_white_space(cp)) break;
            e = p;
        }
    out->b.len = 0;
    out->origin0 = in->origin0 && a == 0;
    return sf_ucbuf_put(&out->b, s + a, e - a) ? SF_E_NOMEM : SF_OK;
}

static int atom_match(const struct norm *nm, uint32_t cp)
{
    return nm->atom_space ? sf_uc_is_white_space(cp) : cp == nm->atom;
}

static int norm_replace(const struct norm *nm, const struct seg *in, struct seg *out)
{
    const char *s = in->b.p;
    size_t n = in->b.len, i = 0;
    out->b.len = 0;
    out->origin0 = in->origin0;
    while (i < n) {
        size_t mlen = 0;
        if (nm->repeat) {
            size_t j = i;
            int count = 0;
            while (j < n && (nm->max == 0 || count < nm->max)) {
                uint32_t cp;
                int k = sf_uc_utf8_decode(s + j, n - j, &cp);
                if (!atom_match(nm, cp)) break;
                j += (size_t)k;
                count++;
            }
            if (count >= nm->min) mlen = j - i;
        } else if (n - i >= nm->pattern_len && !memcmp(s + i, nm->pattern, nm->pattern_len)) {
            mlen = nm->pattern_len;
        }
        if (mlen) {
            if (i == 0 && nm->content_len == 0) out->origin0 = 0;
            if (sf_ucbuf_put(&out->b, nm->content, nm->content_len)) return SF_E_NOMEM;
            i += mlen;
            continue;
        }
        uint32_t cp;
        int k = sf_uc_utf8_decode(s + i, n - i, &cp);
        if (sf_ucbuf_put(&out->b, s + i, (size_t)k)) return SF_E_NOMEM;
        i += (size_t)k;
    }
    return SF_OK;
}

/* ---- pre-tokenizers ------------------------------------------------------------------------- */

struct piece {
    size_t off, len;
    int origin0;
};

/* Pieces: strings in one arena. */
struct pieces {
    struct sf_ucbuf arena;
    struct piece *p;
    size_t n, cap;
};

static int pieces_add(struct pieces *ps, const char *s, size_t n, int origin0)
{
    if (n == 0) return SF_OK; /* tokenizers drops empty splits */
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        struct piece *np = realloc(ps->p, cap * sizeof *np);
        if (!np) return SF_E_NOMEM;
        ps->p = np;
        ps->cap = cap;
    }
    ps->p[ps->n++] = (struct piece){ps->arena.len, n, origin0};
    return sf_ucbuf_put(&ps->arena, s, n) ? SF_E_NOMEM : SF_OK;
}

static int pre_whitespace_split(const char *s, size_t n, int origin0, struct pieces *out)
{
    size_t i = 0, start = 0;
    while (i < n) {
        uint32_t cp;
        int k = sf_uc_utf8_decode(s + i, n - i, &cp);
        if (sf_uc_is_white_space(cp)) {
            int st = pieces_add(out, s + start, i - start, origin0 && start == 0);
            if (st) return st;
            start = i + (size_t)k;
        }
        i += (size_t)k;
    }
    return pieces_add(out, s + start, n - start, origin0 && start == 0);
}

static int pre_metaspace(const struct pre *p, const char *s, size_t n, int origin0,
                         struct sf_ucbuf *tmp, struct pieces *out)
{
    if (n == 0) return SF_OK;
    tmp->len = 0;
    /* tokenizers replaces ' ' first, then looks at the start */
    int starts = s[0] == ' ' || ((size_t)p->repl_len <= n && !memcmp(s, p->repl, (size_t)p->repl_len));
    if (!starts && ((p->prepend == PREPEND_ALWAYS) || (p->prepend == PREPEND_FIRST && origin0)))
        if (sf_ucbuf_put(tmp, p->repl, (size_t)p->repl_len)) return SF_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = s[i] == ' ' ? sf_ucbuf_put(tmp, p->repl, (size_t)p->repl_len)
                             : sf_ucbuf_put(tmp, s + i, 1);
        if (rc) return SF_E_NOMEM;
    }
    if (!p->split) return pieces_add(out, tmp->p, tmp->len, origin0);
    /* split on the replacement, each occurrence merged with what follows it */
    size_t rl = (size_t)p->repl_len, start = 0;
    for (size_t i = 1; i + rl <= tmp->len; i++) {
        if (memcmp(tmp->p + i, p->repl, rl)) continue;
        int st = pieces_add(out, tmp->p + start, i - start, origin0 && start == 0);
        if (st) return st;
        start = i;
    }
    return pieces_add(out, tmp->p + start, tmp->len - start, origin0 && start == 0);
}

/* ---- unigram ---------------------------------------------------------------------------------- */

struct work {
    struct seg a, b;
    struct pieces pa, pb;
    struct sf_ucbuf tmp;
    double *score;
    int32_t *from, *id, *path;
    size_t cap;
    int32_t *ids; /* the sequence before the template */
    size_t n_ids, cap_ids;
};

static int push_id(struct work *w, int32_t id)
{
    if (w->n_ids == w->cap_ids) {
        size_t cap = w->cap_ids ? w->cap_ids * 2 : 256;
        int32_t *p = realloc(w->ids, cap * sizeof *p);
        if (!p) return SF_E_NOMEM;
        w->ids = p;
        w->cap_ids = cap;
    }
    w->ids[w->n_ids++] = id;
    return SF_OK;
}

/* The ids of one fused run of unknown characters s[0..n) (tokenizers' Unigram::tokenize). */
static int push_unknown(const struct sf_tokenizer *t, struct work *w, const char *s, size_t n)
{
    int32_t id = trie_find(t, s, n);
    if (id >= 0) return push_id(w, id);
    if (t->byte_fallback) {
        size_t k = 0;
        while (k < n && t->byte_ids[(uint8_t)s[k]] >= 0) k++;
        if (k == n) {
            for (k = 0; k < n; k++) {
                int st = push_id(w, t->byte_ids[(uint8_t)s[k]]);
                if (st) return st;
            }
            return SF_OK;
        }
    }
    return push_id(w, t->unk_id);
}

static int viterbi(const struct sf_tokenizer *t, struct work *w, const char *s, size_t n)
{
    if (n + 1 > w->cap) {
        size_t cap = (n + 1) * 2;
        double *sc = realloc(w->score, cap * sizeof *sc);
        if (sc) w->score = sc;
        int32_t *fr = realloc(w->from, cap * sizeof *fr);
        if (fr) w->from = fr;
        int32_t *id = realloc(w->id, cap * sizeof *id);
        if (id) w->id = id;
        int32_t *pa = realloc(w->path, cap * sizeof *pa);
        if (pa) w->path = pa;
        if (!sc || !fr || !id || !pa) return SF_E_NOMEM;
        w->cap = cap;
    }
    for (size_t i = 0; i <= n; i++) w->from[i] = -1;
    w->score[0] = 0;
    double unk_score = t->min_score - UNK_PENALTY;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t mblen = (size_t)sf_uc_utf8_decode(s + i, n - i, &cp);
        double base = w->score[i];
        int single = 0;
        uint32_t node = 0;
        for (size_t j = i; j < n; j++) {
            int64_t c = trie_child(t, node, (uint8_t)s[j]);
            if (c < 0) break;
            node = (uint32_t)c;
            int32_t id = t->node_id[node];
            if (id < 0) continue;
            size_t end = j + 1;
            double cand = base + t->scores[id];
            if (w->from[end] < 0 || cand > w->score[end]) {
                w->score[end] = cand;
                w->from[end] = (int32_t)i;
                w->id[end] = id;
            }
            if (end - i == mblen) single = 1;
        }
        if (!single) {
            if (t->unk_id < 0) {
                SF_ERROR(MOD, "\"%.*s\" is not in the vocabulary and the tokenizer has no unk_id",
                         (int)mblen, s + i);
                return SF_E_INVAL;
            }
            size_t end = i + mblen;
            double cand = base + unk_score;
            if (w->from[end] < 0 || cand > w->score[end]) {
                w->score[end] = cand;
                w->from[end] = (int32_t)i;
                w->id[end] = -2; /* unknown */
            }
        }
        i += mblen;
    }
    /* Backtrack into path[] (piece ends, last first), then emit forward. Runs of unknowns
     * and of pieces whose id is unk_id fuse into one string, looked up again (push_unknown). */
    size_t n_path = 0;
    for (size_t e = n; e > 0; e = (size_t)w->from[e]) w->path[n_path++] = (int32_t)e;
    size_t k = n_path;
    while (k > 0) {
        size_t end = (size_t)w->path[--k];
        size_t beg = (size_t)w->from[end];
        int32_t id = w->id[end];
        if (id != -2 && (id != t->unk_id || t->unk_id < 0)) {
            int st = push_id(w, id);
            if (st) return st;
            continue;
        }
        while (k > 0) {
            int32_t nid = w->id[w->path[k - 1]];
            if (nid != -2 && nid != t->unk_id) break;
            end = (size_t)w->path[--k];
        }
        int st = push_unknown(t, w, s + beg, end - beg);
        if (st) return st;
    }
    return SF_OK;
}

/* ---- encode ------------------------------------------------------------------------------------ */

/* The next added token of one kind (normalized or not) in s[from..n): leftmost, longest there
 * (tokenizers' LeftmostLongest Aho-Corasick), widened over white space by lstrip (not before
 * `from`) and rstrip. Returns NULL when there is none. */
static const struct added *next_added(const struct sf_tokenizer *t, int normalized, const char *s,
                                      size_t n, size_t from, size_t *mb, size_t *me)
{
    for (size_t i = from; i < n; i++) {
        if (!t->added_first[normalized][(uint8_t)s[i]]) continue;
        const struct added *best = NULL;
        for (int k = 0; k < t->n_added; k++) {
            const struct added *a = &t->added[k];
            if (a->normalized == normalized && a->len && a->len <= n - i &&
                (!best || a->len > best->len) && !memcmp(s + i, a->text, a->len))
                best = a;
        }
        if (!best) continue;
        uint32_t cp;
        size_t b = i, e = i + best->len;
        if (best->lstrip)
            while (b > from) {
                size_t p = b - 1;
                while (p > from && ((uint8_t)s[p] & 0xC0) == 0x80) p--;
                sf_uc_utf8_decode(s + p, b - p, &cp);
                if (!sf_uc_is_white_space(cp)) break;
                b = p;
            }
        if (best->rstrip)
            while (e < n) {
                int k = sf_uc_utf8_decode(s + e, n - e, &cp);
                if (!sf_uc_is_white_space(cp)) break;
                e += (size_t)k;
            }
        *mb = b;
        *me = e;
        return best;
    }
    return NULL;
}

/* Runs the normalizers over s[0..n); the result is in the returned seg (one of w's two). */
static int normalize(const struct sf_tokenizer *t, struct work *w, const char *s, size_t n,
                     int origin0, struct seg **result)
{
    struct seg *cur = &w->a, *nxt = &w->b;
    cur->b.len = 0;
    if (sf_ucbuf_put(&cur->b, s, n)) return SF_E_NOMEM;
    cur->origin0 = origin0;
    for (int i = 0; i < t->n_norms; i++) {
        const struct norm *nm = &t->norms[i];
        int st = nm->type == NORM_PRECOMPILED ? norm_precompiled(nm, cur, nxt)
                 : nm->type == NORM_STRIP     ? norm_strip(nm, cur, nxt)
                                              : norm_replace(nm, cur, nxt);
        if (st) return st;
        struct seg *sw = cur;
        cur = nxt;
        nxt = sw;
    }
    *result = cur;
    return SF_OK;
}

/* Pre-tokenizers, then Viterbi on each piece. */
static int pretokenize_and_segment(const struct sf_tokenizer *t, struct work *w, const char *s,
                                   size_t n, int origin0)
{
    struct pieces *pc = &w->pa, *pn = &w->pb;
    pc->n = 0;
    pc->arena.len = 0;
    int st = pieces_add(pc, s, n, origin0);
    if (st) return st;
    for (int i = 0; i < t->n_pres; i++) {
        pn->n = 0;
        pn->arena.len = 0;
        for (size_t k = 0; k < pc->n; k++) {
            const struct piece *p = &pc->p[k];
            const char *ps = pc->arena.p + p->off;
            st = t->pres[i].type == PRE_WHITESPACE_SPLIT
                     ? pre_whitespace_split(ps, p->len, p->origin0, pn)
                     : pre_metaspace(&t->pres[i], ps, p->len, p->origin0, &w->tmp, pn);
            if (st) return st;
        }
        struct pieces *sw = pc;
        pc = pn;
        pn = sw;
    }
    for (size_t k = 0; k < pc->n; k++) {
        st = viterbi(t, w, pc->arena.p + pc->p[k].off, pc->p[k].len);
        if (st) return st;
    }
    return SF_OK;
}

/* One segment of raw text between non-normalized added tokens: normalized, then split on the
 * normalized added tokens, then pre-tokenized and segmented. */
static int encode_segment(const struct sf_tokenizer *t, struct work *w, const char *s, size_t n,
                          int origin0)
{
    struct seg *cur;
    int st = normalize(t, w, s, n, origin0, &cur);
    if (st) return st;
    if (!t->n_added_normalized)
        return pretokenize_and_segment(t, w, cur->b.p ? cur->b.p : "", cur->b.len, cur->origin0);
    /* the pieces go through w->a/w->b no more: copy the normalized text aside */
    struct sf_ucbuf norm = {0};
    if (sf_ucbuf_put(&norm, cur->b.p ? cur->b.p : "", cur->b.len)) return SF_E_NOMEM;
    size_t seg = 0, mb, me;
    const struct added *a;
    while (st == SF_OK && (a = next_added(t, 1, norm.p, norm.len, seg, &mb, &me))) {
        if (mb > seg) st = pretokenize_and_segment(t, w, norm.p + seg, mb - seg, cur->origin0 && !seg);
        if (st == SF_OK) st = push_id(w, a->id);
        seg = me;
    }
    if (st == SF_OK && norm.len > seg)
        st = pretokenize_and_segment(t, w, norm.p + seg, norm.len - seg, cur->origin0 && !seg);
    sf_ucbuf_free(&norm);
    return st;
}

static void work_free(struct work *w)
{
    sf_ucbuf_free(&w->a.b);
    sf_ucbuf_free(&w->b.b);
    sf_ucbuf_free(&w->pa.arena);
    sf_ucbuf_free(&w->pb.arena);
    free(w->pa.p);
    free(w->pb.p);
    sf_ucbuf_free(&w->tmp);
    free(w->score);
    free(w->from);
    free(w->id);
    free(w->path);
    free(w->ids);
}

/* Normalized added tokens are matched by their normalized form, as tokenizers does. */
static int prepare_added(struct sf_tokenizer *t)
{
    struct work w = {0};
    int st = SF_OK;
    for (int k = 0; k < t->n_added; k++) {
        struct added *a = &t->added[k];
        if (!a->normalized) {
            t->added_first[0][(uint8_t)a->text[0]] = 1;
            continue;
        }
        t->n_added_normalized++;
        struct seg *res;
        SF_TRY(st, normalize(t, &w, a->text, a->len, 1, &res));
        char *nt = dup_bytes(res->b.p ? res->b.p : "", res->b.len);
        if (!nt) { st = SF_E_NOMEM; goto out; }
        free(a->text);
        a->text = nt;
        a->len = res->b.len;
        if (a->len) t->added_first[1][(uint8_t)a->text[0]] = 1;
    }
out:
    work_free(&w);
    return st;
}

int sf_tokenizer_encode(const struct sf_tokenizer *t, const char *text, size_t len, int max_len,
                        int pad, int32_t *ids, size_t *n_ids, int *truncated)
{
    *n_ids = 0;
    *truncated = 0;
    int n_special = t->n_pre_ids + t->n_post_ids;
    if (max_len < 1 || max_len < n_special) {
        SF_ERROR(MOD, "max_len %d is below the %d special tokens the template adds", max_len,
                 n_special);
        return SF_E_INVAL;
    }
    if (pad && t->pad_id < 0) {
        SF_ERROR(MOD, "padding asked for, but the tokenizer has no <pad> token");
        return SF_E_INVAL;
    }
    size_t bad = sf_uc_utf8_check(text, len);
    if (bad != len) {
        SF_DEBUG(MOD, "text is not valid UTF-8 at byte %zu", bad);
        return SF_E_INVAL;
    }
    struct work w = {0};
    int st = SF_OK;
    size_t seg = 0, mb, me;
    const struct added *a;
    while ((a = next_added(t, 0, text, len, seg, &mb, &me))) {
        if (mb > seg) SF_TRY(st, encode_segment(t, &w, text + seg, mb - seg, seg == 0));
        SF_TRY(st, push_id(&w, a->id));
        seg = me;
    }
    if (len > seg) SF_TRY(st, encode_segment(t, &w, text + seg, len - seg, seg == 0));

    size_t room = (size_t)max_len - (size_t)n_special, n = w.n_ids;
    if (n > room) {
        n = room;
        *truncated = 1;
    }
    size_t o = 0;
    for (int k = 0; k < t->n_pre_ids; k++) ids[o++] = t->pre_ids[k];
    if (n) memcpy(ids + o, w.ids, n * sizeof *ids);
    o += n;
    for (int k = 0; k < t->n_post_ids; k++) ids[o++] = t->post_ids[k];
    while (pad && o < (size_t)max_len) ids[o++] = t->pad_id;
    *n_ids = o;
out:
    work_free(&w);
    return st;
}

int sf_tokenizer_encode_prompt(const struct sf_tokenizer *t, const char *text, size_t len,
                               const char *what, int clean, int max_len, int pad, int32_t *ids,
                               size_t *n_ids)
{
    char *cleaned = NULL;
    size_t bad = 0;
    int truncated = 0, st;
    *n_ids = 0;
    if (clean) {
        st = sf_prompt_clean(text, len, &cleaned, &len, &bad);
        text = cleaned;
    } else {
        bad = sf_uc_utf8_check(text, len);
        st = bad == len ? SF_OK : SF_E_INVAL;
    }
    if (st == SF_E_INVAL)
        SF_ERROR(MOD, "%s: not valid UTF-8 at byte %zu; write the prompt in UTF-8", what, bad + 1);
    if (st) goto out;
    st = sf_tokenizer_encode(t, text, len, max_len, pad, ids, n_ids, &truncated);
    if (st)
        SF_ERROR(MOD, "%s: could not be tokenized (%s)", what, sf_status_str(st));
    else if (truncated)
        SF_WARN(MOD, "%s: prompt longer than %d tokens, truncated", what, max_len);
out:
    free(cleaned);
    return st;
}

/* ---- install (mkmodel) ------------------------------------------------------------------------ */

int sf_tokenizer_install(const char *src_path, const char *model_dir, int *vocab_size)
{
    struct sf_tokenizer *t = NULL;
    int st = sf_tokenizer_load(src_path, &t);
    if (st) return st;
    if (vocab_size) *vocab_size = t->vocab_size;
    sf_tokenizer_destroy(t);

    char dir[PATH_MAX], tmp[PATH_MAX], dst[PATH_MAX];
    FILE *in = NULL;
    int fd = -1;
    if (snprintf(dir, sizeof dir, "%s/tokenizer", model_dir) >= (int)sizeof dir ||
        snprintf(tmp, sizeof tmp, "%s/.tokenizer.json.tmp", dir) >= (int)sizeof tmp ||
        snprintf(dst, sizeof dst, "%s/tokenizer.json", dir) >= (int)sizeof dst) {
        SF_ERROR(MOD, "%s: model directory path is too long", model_dir);
        return SF_E_INVAL;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return sf_err_errno(errno, "create", dir);
    in = fopen(src_path, "rb");
    if (!in) return sf_err_errno(errno, "open the tokenizer", src_path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { st = sf_err_errno(errno, "create", tmp); goto out; }
    char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0) {
        for (size_t off = 0; off < got;) {
            ssize_t wr = write(fd, buf + off, got - off);
            if (wr < 0) {
                if (errno == EINTR) continue;
                st = sf_err_errno(errno, "write", tmp);
                goto out;
            }
            off += (size_t)wr;
        }
    }
    if (ferror(in)) { st = sf_err_errno(EIO, "read the tokenizer", src_path); goto out; }
    if (fsync(fd) != 0) { st = sf_err_errno(errno, "fsync", tmp); goto out; }
    if (close(fd) != 0) { fd = -1; st = sf_err_errno(errno, "close", tmp); goto out; }
    fd = -1;
    if (rename(tmp, dst) != 0) { st = sf_err_errno(errno, "rename into place", dst); goto out; }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        if (fsync(dfd) != 0) st = sf_err_errno(errno, "fsync", dir);
        close(dfd);
    }
out:
    if (fd >= 0) close(fd);
    if (st && st != SF_OK) unlink(tmp);
    fclose(in);
    return st;
}
