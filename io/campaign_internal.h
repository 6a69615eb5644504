/* campaign_internal.h — what the campaign loader's files share and nobody else uses: an arena
 * for strings and nodes, the generic document tree that libfyaml events become, and the
 * diagnostics list. Not installed, not for other modules (they use sf_campaign.h). */
#ifndef SF_CAMPAIGN_INTERNAL_H
#define SF_CAMPAIGN_INTERNAL_H

#include "sf_campaign.h"

#include <stdarg.h>
#include <stddef.h>

/* ---- arena: everything a campaign or a diagnostics list owns, freed at once -------------- */
struct arena_chunk;
struct arena {
    struct arena_chunk *head;
    int failed; /* an allocation failed; results so far stay valid */
};
void *arena_alloc(struct arena *a, size_t n);          /* zeroed, 16-aligned; NULL when out */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);    /* NULL in -> NULL out */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(struct arena *a);

/* ---- document tree --------------------------------------------------------------------- */
enum cnode_kind { CN_SCALAR, CN_MAP, CN_SEQ };

/* A node of the parsed document. Aliases are shared pointers (the tree is a DAG), which is why
 * the loader bounds the expanded size (SF_CAMPAIGN_ALIAS_BUDGET). */
struct cnode {
    enum cnode_kind kind;
    int line, col;       /* 1-based, of the node's first character */
    const char *text;    /* SCALAR: the text as written (after YAML unescaping), NUL-terminated */
    size_t len;
    int quoted;          /* SCALAR: quoted, block or tagged !!str: always a string */
    int n;               /* SEQ: items; MAP: pairs */
    struct cnode **kids; /* SEQ: kids[i]; MAP: key kids[2i] (a scalar), value kids[2i+1] */
};

/* ---- diagnostics ----------------------------------------------------------------------- */
struct sf_diags {
    struct arena a;
    const char *file;
    struct sf_diag *v;
    int n, cap;
    int dropped; /* problems past SF_DIAGS_MAX, counted but not kept */
    int nomem;
};
#define SF_DIAGS_MAX 500
struct sf_diags *diags_create(const char *file);
/* Adds "field: msg" at line:col. field may be built from a base and a key (key NULL: base
 * alone; base "": key alone). */
void diags_add(struct sf_diags *d, int line, int col, const char *base, const char *key,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void diags_vadd(struct sf_diags *d, int line, int col, const char *base, const char *key,
                const char *fmt, va_list ap);
/* Sorts by position, keeping the order of equal positions. */
void diags_sort(struct sf_diags *d);

/* Parses data[0..len) (YAML, or JSON when json) into a tree in arena a. Returns the root, or
 * NULL after reporting why (invalid UTF-8, syntax, aliases over budget, more than one
 * document, an empty document) to d. */
struct cnode *campaign_parse_tree(const char *data, size_t len, int json, struct arena *a,
                                  struct sf_diags *d);

/* ---- media ----------------------------------------------------------------------------- */
/* Checks that path decodes as a still image (PNG, JPEG, WebP, BMP, TIFF) and returns its pixel
 * size. Returns 0, or -1 with the reason ("is not a readable image (…)") in why. */
int campaign_probe_image(const char *path, int *width, int *height, char *why, size_t why_len);
/* Checks that path decodes as a video clip and returns its duration in seconds. */
int campaign_probe_clip(const char *path, double *seconds, char *why, size_t why_len);
/* Checks that path decodes as sound (the whole file, resampled as the mix will read it). */
int campaign_probe_audio(const char *path, char *why, size_t why_len);

/* Levenshtein distance of two short strings (capped at 64 characters). */
int campaign_edit_distance(const char *a, const char *b);

#endif
