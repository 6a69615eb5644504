/* campaign_tree.c — turns the bytes of a campaign file into a generic tree (struct cnode) with
 * 1-based line/column marks, using libfyaml's event parser for both YAML and JSON; also the
 * arena and the diagnostics list the loader shares. Called by campaign.c only.
 *
 * The subtle parts: (1) scalars keep their text exactly as written plus whether they were
 * quoted, so `aspect: 16:9` stays the text "16:9" (YAML 1.1 would read 970, a sexagesimal
 * number) and types are decided by the schema, never by YAML's implicit resolution;
 * (2) aliases become shared pointers, and every node and every alias use adds to an expansion
 * count bounded by SF_CAMPAIGN_ALIAS_BUDGET, so a "billion laughs" file fails in linear time
 * instead of exhausting memory in the validator's walk; (3) an anchor is registered only once
 * its node is complete, so an alias can never point into its own ancestor (no cycles);
 * (4) UTF-8 is checked before libfyaml sees the bytes, to name the exact line and column. */
#define _POSIX_C_SOURCE 200809L
#include "campaign_internal.h"

#include <libfyaml.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ----------------------------------------------------------------------------- */
struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *arena_alloc(struct arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct arena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        c = malloc(sizeof *c + cap);
        if (!c) {
            a->failed = 1;
            return NULL;
        }
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = n >= 0 ? arena_alloc(a, (size_t)n + 1) : NULL;
    if (p) vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

void arena_free(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

/* ---- diagnostics ----------------------------------------------------------------------- */
struct sf_diags *diags_create(const char *file)
{
    struct sf_diags *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->file = arena_strdup(&d->a, file ? file : "<campaign>");
    if (!d->file) {
        arena_free(&d->a);
        free(d);
        return NULL;
    }
    return d;
}

void diags_vadd(struct sf_diags *d, int line, int col, const char *base, const char *key,
                const char *fmt, va_list ap)
{
    if (!d) return;
    if (d->n >= SF_DIAGS_MAX) {
        d->dropped++;
        return;
    }
    if (d->n == d->cap) {
        int cap = d->cap ? 2 * d->cap : 16;
        struct sf_diag *v = realloc(d->v, (size_t)cap * sizeof *v);
        if (!v) {
            d->nomem = 1;
            return;
        }
        d->v = v;
        d->cap = cap;
    }
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    const char *field;
    if (!key) field = arena_strdup(&d->a, base ? base : "");
    else if (!base || !*base) field = arena_strdup(&d->a, key);
    else field = arena_printf(&d->a, "%s.%s", base, key);
    const char *m = arena_strdup(&d->a, msg);
    if (!field || !m) {
        d->nomem = 1;
        return;
    }
    /* One line per problem, whatever the file holds: control characters in quoted keys or
     * values become spaces. */
    for (char *c = (char *)field; *c; c++)
        if ((unsigned char)*c < 0x20) *c = ' ';
    for (char *c = (char *)m; *c; c++)
        if ((unsigned char)*c < 0x20) *c = ' ';
    d->v[d->n++] = (struct sf_diag){d->file, line, col, field, m};
}

void diags_add(struct sf_diags *d, int line, int col, const char *base, const char *key,
               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diags_vadd(d, line, col, base, key, fmt, ap);
    va_end(ap);
}

void diags_sort(struct sf_diags *d)
{
    /* Insertion sort: stable, and lists are short (and mostly in order already). */
    for (int i = 1; d && i < d->n; i++) {
        struct sf_diag x = d->v[i];
        int j = i - 1;
        while (j >= 0 && (d->v[j].line > x.line || (d->v[j].line == x.line && d->v[j].col > x.col))) {
            d->v[j + 1] = d->v[j];
            j--;
        }
        d->v[j + 1] = x;
    }
}

int sf_diags_count(const struct sf_diags *d) { return d ? d->n : 0; }
int sf_diags_total(const struct sf_diags *d) { return d ? d->n + d->dropped : 0; }

const struct sf_diag *sf_diags_get(const struct sf_diags *d, int i)
{
    return d && i >= 0 && i < d->n ? &d->v[i] : NULL;
}

void sf_diags_print(const struct sf_diags *d, FILE *f)
{
    for (int i = 0; d && i < d->n; i++) {
        const struct sf_diag *g = &d->v[i];
        if (g->line > 0) fprintf(f, "%s:%d:%d: %s: %s\n", g->file, g->line, g->col, g->field, g->msg);
        else fprintf(f, "%s: %s: %s\n", g->file, g->field, g->msg);
    }
    if (d && d->dropped)
        fprintf(f, "%s: (more): %d more problems not listed; allowed: fix the ones above first\n",
                d->file, d->dropped);
    if (d && d->nomem) fprintf(f, "%s: out of memory while collecting diagnostics\n", d->file);
}

void sf_diags_destroy(struct sf_diags *d)
{
    if (!d) return;
    free(d->v);
    arena_free(&d->a);
    free(d);
}

/* ---- UTF-8 ----------------------------------------------------------------------------- */
/* Returns 0 when data is valid UTF-8 without NUL bytes, else -1 with the 1-based line and
 * column (in characters) of the first bad byte and what is wrong with it. */
static int check_utf8(const unsigned char *s, size_t len, int *line, int *col, const char **what)
{
    int ln = 1, cl = 1;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t need;
        uint32_t cp, min;
        if (c == 0) {
            *what = "a NUL byte";
            goto bad;
        }
        if (c < 0x80) {
            if (c == '\n') {
                ln++;
                cl = 1;
            } else {
                cl++;
            }
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; min = 0x80; }
        else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f; min = 0x800; }
        else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07; min = 0x10000; }
        else {
            *what = "a byte that cannot start a UTF-8 character";
            goto bad;
        }
        if (len - i - 1 < need) {
            *what = "a UTF-8 character cut off by the end of the file";
            goto bad;
        }
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                *what = "a truncated UTF-8 sequence";
                goto bad;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            *what = "an overlong or out-of-range UTF-8 sequence";
            goto bad;
        }
        i += need + 1;
        cl++;
    }
    return 0;
bad:
    *line = ln;
    *col = cl;
    return -1;
}

/* ---- libfyaml glue --------------------------------------------------------------------- */
struct fy_capture {
    int line, col;
    char msg[256];
    int have;
};

/* libfyaml formats each error as "NAME:LINE:COL: error: MESSAGE" (then the source line and a
 * caret in later calls); keep the first error's position and message. */
static void fy_output(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag;
    struct fy_capture *cap = user;
    if (cap->have) return;
    char tmp[512];
    size_t n = len < sizeof tmp - 1 ? len : sizeof tmp - 1;
    memcpy(tmp, buf, n);
    tmp[n] = '\0';
    char *e = strstr(tmp, ": error: ");
    if (!e) return;
    char *m = e + strlen(": error: ");
    size_t ml = strcspn(m, "\n");
    m[ml] = '\0';
    snprintf(cap->msg, sizeof cap->msg, "%s", m);
    /* Walk back over ":COL" and ":LINE". */
    *e = '\0';
    char *c2 = strrchr(tmp, ':');
    if (c2) {
        cap->col = atoi(c2 + 1);
        *c2 = '\0';
        char *c1 = strrchr(tmp, ':');
        if (c1) cap->line = atoi(c1 + 1);
    }
    cap->have = 1;
}

struct frame {
    struct cnode *node;
    char *anchor;          /* registered when the node completes */
    struct cnode **kids;   /* growing */
    int n, cap;
};

struct anchor {
    char *name;
    struct cnode *node;
    size_t weight;
};

struct builder {
    struct arena *a;
    struct sf_diags *d;
    struct frame *stack;
    int depth, stack_cap;
    struct anchor *anchors; /* open-addressing hash table by name; a redefinition replaces */
    size_t n_anchors, anchors_cap;
    size_t expanded;  /* nodes so far, aliases counted at their expanded size */
    struct cnode *root;
    int failed;
};

static const struct fy_mark *mark_of(struct fy_event *e)
{
    return fy_event_start_mark(e);
}

static void fail_at(struct builder *b, struct fy_event *e, const char *fmt, const char *arg)
{
    const struct fy_mark *m = mark_of(e);
    diags_add(b->d, m ? m->line + 1 : 1, m ? m->column + 1 : 1, "(document)", NULL, fmt, arg);
    b->failed = 1;
}

static char *token_text(struct builder *b, struct fy_token *t)
{
    size_t len = 0;
    const char *s = t ? fy_token_get_text(t, &len) : NULL;
    return s ? arena_strndup(b->a, s, len) : NULL;
}

/* Copies a scalar's content into the arena through a token iterator. fy_token_get_text()
 * would be simpler, but libfyaml 0.7.12 leaks its cached text for some single-quoted scalars
 * (found by the fuzzer: a scalar made only of quotes); the iterator keeps no cache. */
static int scalar_text(struct arena *a, struct fy_token *t, struct cnode *n)
{
    struct fy_token_iter *it = fy_token_iter_create(t);
    if (!it) return -1;
    size_t len = 0, cap = 64;
    char *buf = malloc(cap);
    const struct fy_iter_chunk *c = NULL;
    int err = 0;
    while (buf && (c = fy_token_iter_chunk_next(it, c, &err)) != NULL) {
        if (len + c->len + 1 > cap) {
            while (len + c->len + 1 > cap) cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        memcpy(buf + len, c->str, c->len);
        len += c->len;
    }
    fy_token_iter_destroy(it);
    if (!buf) return -1;
    n->text = arena_strndup(a, buf, len);
    n->len = len;
    free(buf);
    return n->text ? 0 : -1;
}

/* Appends a finished node to the open container (or makes it the root). */
static int attach(struct builder *b, struct cnode *n, size_t weight)
{
    b->expanded += weight;
    if (b->depth == 0) {
        b->root = n;
        return 0;
    }
    struct frame *f = &b->stack[b->depth - 1];
    if (f->n == f->cap) {
        int cap = f->cap ? 2 * f->cap : 8;
        struct cnode **k = realloc(f->kids, (size_t)cap * sizeof *k);
        if (!k) return -1;
        f->kids = k;
        f->cap = cap;
    }
    f->kids[f->n++] = n;
    return 0;
}

static size_t name_hash(const char *s)
{
    size_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The slot holding name, or the empty slot where it would go. */
static struct anchor *anchor_slot(struct anchor *t, size_t cap, const char *name)
{
    size_t i = name_hash(name) & (cap - 1);
    while (t[i].name && strcmp(t[i].name, name) != 0) i = (i + 1) & (cap - 1);
    return &t[i];
}

static struct anchor *find_anchor(struct builder *b, const char *name)
{
    if (!b->anchors_cap || !name) return NULL;
    struct anchor *a = anchor_slot(b->anchors, b->anchors_cap, name);
    return a->name ? a : NULL;
}

static int add_anchor(struct builder *b, char *name, struct cnode *n, size_t weight)
{
    if (!name) return 0;
    if (2 * (b->n_anchors + 1) > b->anchors_cap) {
        size_t cap = b->anchors_cap ? 2 * b->anchors_cap : 64;
        struct anchor *t = calloc(cap, sizeof *t);
        if (!t) return -1;
        for (size_t i = 0; i < b->anchors_cap; i++)
            if (b->anchors[i].name) *anchor_slot(t, cap, b->anchors[i].name) = b->anchors[i];
        free(b->anchors);
        b->anchors = t;
        b->anchors_cap = cap;
    }
    struct anchor *slot = anchor_slot(b->anchors, b->anchors_cap, name);
    if (!slot->name) b->n_anchors++;
    *slot = (struct anchor){name, n, weight};
    return 0;
}

/* A container's expanded weight is the expansion count accumulated while it was open, plus
 * one for itself; an alias adds its anchor's weight. */
struct cnode *campaign_parse_tree(const char *data, size_t len, int json, struct arena *a,
                                  struct sf_diags *d)
{
    const char *allowed = json ? "allowed: JSON (RFC 8259)" : "allowed: YAML 1.2";
    int line = 0, col = 0;
    const char *what = NULL;
    if (check_utf8((const unsigned char *)data, len, &line, &col, &what) != 0) {
        diags_add(d, line, col, "(encoding)", NULL, "invalid UTF-8: %s; allowed: UTF-8 text", what);
        return NULL;
    }

    struct fy_capture cap = {0};
    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.output_fn = fy_output;
    dc.user = &cap;
    dc.colorize = false;
    dc.show_source = false;
    struct fy_diag *diag = fy_diag_create(&dc);
    struct fy_parse_cfg cfg = {0};
    cfg.flags = (json ? FYPCF_JSON_FORCE : FYPCF_JSON_NONE) | FYPCF_DEFAULT_VERSION_1_2;
    cfg.diag = diag;
    struct fy_parser *p = diag ? fy_parser_create(&cfg) : NULL;
    struct builder b = {.a = a, .d = d};
    /* Per open container: expansion count when it opened, to get its weight at the end. */
    size_t *opened_at = NULL;
    int docs = 0;
    if (!p || fy_parser_set_string(p, len ? data : "", len) != 0) {
        a->failed = 1;
        goto out;
    }

    struct fy_event *e;
    while (!b.failed && (e = fy_parser_parse(p)) != NULL) {
        const struct fy_mark *m = mark_of(e);
        int ln = m ? m->line + 1 : 1, cl = m ? m->column + 1 : 1;
        switch (e->type) {
        case FYET_DOCUMENT_START:
            if (++docs > 1)
                diags_add(d, ln, cl, "(document)", NULL,
                          "a second document; allowed: one document per campaign file"),
                    b.failed = 1;
            break;
        case FYET_SCALAR:
        case FYET_MAPPING_START:
        case FYET_SEQUENCE_START: {
            struct fy_token *anchor = e->type == FYET_SCALAR ? e->scalar.anchor
                                      : e->type == FYET_MAPPING_START ? e->mapping_start.anchor
                                                                      : e->sequence_start.anchor;
            struct fy_token *tag = e->type == FYET_SCALAR ? e->scalar.tag
                                   : e->type == FYET_MAPPING_START ? e->mapping_start.tag
                                                                   : e->sequence_start.tag;
            struct cnode *n = arena_alloc(a, sizeof *n);
            if (!n) goto nomem;
            n->line = ln;
            n->col = cl;
            int str_tag = 0;
            if (tag) {
                char *t = token_text(&b, tag);
                if (t && strcmp(t, "tag:yaml.org,2002:str") == 0 && e->type == FYET_SCALAR) {
                    str_tag = 1;
                } else {
                    /* Reported, and parsing goes on: the rest may hold more problems. */
                    diags_add(d, ln, cl, "(document)", NULL,
                              "tag '%s' is not supported; allowed: no tags, or !!str on a scalar",
                              t ? t : "?");
                }
            }
            if (e->type == FYET_SCALAR) {
                n->kind = CN_SCALAR;
                if (scalar_text(a, e->scalar.value, n) != 0) goto nomem;
                n->quoted = str_tag || fy_token_scalar_style(e->scalar.value) != FYSS_PLAIN;
                if (attach(&b, n, 1) != 0) goto nomem;
                if (anchor && add_anchor(&b, token_text(&b, anchor), n, 1) != 0) goto nomem;
            } else {
                n->kind = e->type == FYET_MAPPING_START ? CN_MAP : CN_SEQ;
                if (b.depth == b.stack_cap) {
                    int sc = b.stack_cap ? 2 * b.stack_cap : 16;
                    struct frame *st = realloc(b.stack, (size_t)sc * sizeof *st);
                    size_t *oa = realloc(opened_at, (size_t)sc * sizeof *oa);
                    if (st) b.stack = st;
                    if (oa) opened_at = oa;
                    if (!st || !oa) goto nomem;
                    b.stack_cap = sc;
                }
                b.stack[b.depth] = (struct frame){n, anchor ? token_text(&b, anchor) : NULL, NULL, 0, 0};
                opened_at[b.depth] = b.expanded;
                b.depth++;
            }
            break;
        }
        case FYET_MAPPING_END:
        case FYET_SEQUENCE_END: {
            if (b.depth == 0) break;
            struct frame f = b.stack[--b.depth];
            struct cnode *n = f.node;
            n->kids = f.n ? arena_alloc(a, (size_t)f.n * sizeof *n->kids) : NULL;
            if (f.n && !n->kids) {
                free(f.kids);
                goto nomem;
            }
            if (f.n) memcpy(n->kids, f.kids, (size_t)f.n * sizeof *n->kids);
            free(f.kids);
            if (n->kind == CN_MAP) {
                n->n = f.n / 2;
                for (int i = 0; i < n->n; i++)
                    if (n->kids[2 * i]->kind != CN_SCALAR)
                        diags_add(d, n->kids[2 * i]->line, n->kids[2 * i]->col, "(document)", NULL,
                                  "a %s used as a mapping key; allowed: text keys",
                                  n->kids[2 * i]->kind == CN_MAP ? "mapping" : "list");
            } else {
                n->n = f.n;
            }
            size_t weight = b.expanded - opened_at[b.depth] + 1;
            b.expanded = opened_at[b.depth];
            if (attach(&b, n, weight) != 0) goto nomem;
            if (add_anchor(&b, f.anchor, n, weight) != 0) goto nomem;
            break;
        }
        case FYET_ALIAS: {
            char *name = token_text(&b, e->alias.anchor);
            struct anchor *hit = find_anchor(&b, name);
            if (!hit) {
                fail_at(&b, e, "alias '*%s' names no finished anchor before it; allowed: aliases "
                               "to an anchor (&name) defined earlier, outside the alias",
                        name ? name : "?");
                break;
            }
            if (attach(&b, hit->node, hit->weight) != 0) goto nomem;
            break;
        }
        default:
            break;
        }
        /* The whole document counts: nodes outside open containers plus those inside. */
        size_t total = b.expanded;
        if (!b.failed && total > SF_CAMPAIGN_ALIAS_BUDGET) {
            diags_add(d, ln, cl, "(document)", NULL,
                      "the document expands to more than %d nodes (YAML aliases count once per "
                      "use); allowed: at most %d nodes after alias expansion",
                      SF_CAMPAIGN_ALIAS_BUDGET, SF_CAMPAIGN_ALIAS_BUDGET);
            b.failed = 1;
        }
        fy_parser_event_free(p, e);
        continue;
    nomem:
        fy_parser_event_free(p, e);
        a->failed = 1;
        b.failed = 1;
        break;
    }
    if (!b.failed && (fy_parser_get_stream_error(p) || cap.have)) {
        diags_add(d, cap.line > 0 ? cap.line : 1, cap.col > 0 ? cap.col : 1, "(syntax)", NULL,
                  "%s; %s", cap.have ? cap.msg : "malformed input", allowed);
        b.failed = 1;
    }
    if (!b.failed && !b.root) {
        diags_add(d, 1, 1, "(document)", NULL,
                  "the file holds no campaign; allowed: a mapping with the keys in docs/campaign.md");
        b.failed = 1;
    }
out:
    for (int i = 0; i < b.depth; i++) free(b.stack[i].kids);
    free(b.stack);
    free(opened_at);
    free(b.anchors);
    if (p) fy_parser_destroy(p);
    if (diag) fy_diag_destroy(diag);
    return a->failed || b.failed ? NULL : b.root;
}
