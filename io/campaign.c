/* campaign.c — the campaign schema: walks the document tree (campaign_tree.c), checks every
 * field against docs/campaign.md, reports every problem as "FIELD: what is wrong; allowed: …"
 * at its line and column, and builds the resolved model (struct sf_campaign) that `plan`,
 * `render` and assembly read. Called by `shotfarm validate` (coordinator/cmd_validate.c) and,
 * later, by every command that takes a campaign.
 *
 * The subtle parts: validation never stops early — each check reports and carries on with a
 * default, so one run lists every mistake; scalar types come from the schema, not from YAML
 * (an aspect is the text as written, a number must be an unquoted number); and the model is
 * built alongside the checks but handed out only when there were no diagnostics, so callers
 * never see a half-valid campaign. */
#define _XOPEN_SOURCE 700
#include "campaign_internal.h"
#include "sf_brand.h"
#include "sf_hash.h"
#include "sf_log.h"
#include "sf_speech.h"
#include "sf_status.h"

#include <errno.h>
#include <limits.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILE_BYTES (16u << 20)
#define MAX_ELEMENTS 64
#define MAX_TAKES 16
#define MAX_DIALOGUE 16
#define MAX_TEXT 4000 /* bytes of a prompt, description or line */

struct sf_campaign {
    struct arena a;
    const char *name, *title, *dir;
    uint32_t seed;
    enum sf_lang language;
    struct sf_model_settings model;
    struct sf_tier tiers[SF_TIER_COUNT];
    struct sf_deliverables deliv;
    struct sf_element *elements;
    int n_elements;
    struct sf_sequence *sequences;
    int n_sequences;
    struct sf_shot *shots;
    int n_shots;
};

/* The validator's state: where diagnostics go and what is known so far. */
struct probe;
struct v {
    struct sf_diags *d;
    struct sf_campaign *c;
    struct arena *a;
    const char *dir;       /* canonical campaign directory, or NULL (buffer without a dir) */
    unsigned flags;
    struct probe *probes;  /* media files decoded so far (probe_media) */
};

/* ---- describing values ------------------------------------------------------------------ */
/* "a mapping", "a list", "the text \"5\"", "'abc'" — for "expected X, got Y". */
static const char *got(struct v *v, const struct cnode *n)
{
    if (!n) return "nothing";
    if (n->kind == CN_MAP) return "a mapping";
    if (n->kind == CN_SEQ) return "a list";
    int cut = n->len > 40;
    if (n->quoted) return arena_printf(v->a, "the text \"%.40s%s\"", n->text, cut ? "…" : "");
    return arena_printf(v->a, "'%.40s%s'", n->text, cut ? "…" : "");
}

static void report(struct v *v, const struct cnode *n, const char *base, const char *key,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void report(struct v *v, const struct cnode *n, const char *base, const char *key,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diags_vadd(v->d, n ? n->line : 0, n ? n->col : 0, base, key, fmt, ap);
    va_end(ap);
}

static const char *path_of(struct v *v, const char *base, const char *key)
{
    if (!base || !*base) return key;
    return arena_printf(v->a, "%s.%s", base, key);
}

static int is_null(const struct cnode *n)
{
    return n && n->kind == CN_SCALAR && !n->quoted &&
           (n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0);
}

/* ---- mappings --------------------------------------------------------------------------- */
static const struct cnode *get(const struct cnode *map, const char *key)
{
    if (!map || map->kind != CN_MAP) return NULL;
    for (int i = 0; i < map->n; i++) {
        const struct cnode *k = map->kids[2 * i];
        if (k->kind == CN_SCALAR && strcmp(k->text, key) == 0) return map->kids[2 * i + 1];
    }
    return NULL;
}

static const char *join(struct v *v, const char *const *names, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++) len += strlen(names[i]) + 2;
    char *s = arena_alloc(v->a, len);
    if (!s) return "";
    for (int i = 0; i < n; i++) {
        if (i) strcat(s, ", ");
        strcat(s, names[i]);
    }
    return s;
}

static int count_names(const char *const *names)
{
    int n = 0;
    while (names[n]) n++;
    return n;
}

/* Checks that node is a mapping whose keys are all in `keys` (NULL-terminated), each once.
 * Returns 0 when node is a mapping (even with bad keys), -1 otherwise. */
static int check_map(struct v *v, const struct cnode *node, const char *path, const char *what,
                     const char *const *keys)
{
    int nk = count_names(keys);
    if (!node || node->kind != CN_MAP) {
        report(v, node, *path ? path : "(top level)", NULL, "expected %s (a mapping), got %s; allowed: a mapping with keys %s",
               what, got(v, node), join(v, keys, nk));
        return -1;
    }
    int first[32]; /* index of each known key's first occurrence (schemas have < 32 keys) */
    SF_ASSERT(nk <= 32);
    for (int j = 0; j < nk; j++) first[j] = -1;
    for (int i = 0; i < node->n; i++) {
        const struct cnode *k = node->kids[2 * i];
        if (k->kind != CN_SCALAR) continue; /* reported by the tree builder */
        int known = -1;
        for (int j = 0; j < nk && known < 0; j++)
            if (strcmp(k->text, keys[j]) == 0) known = j;
        if (known < 0) {
            const char *best = NULL;
            int best_d = 3;
            for (int j = 0; j < nk; j++) {
                int dist = campaign_edit_distance(k->text, keys[j]);
                int limit = strlen(keys[j]) <= 4 ? 1 : 2;
                if (dist <= limit && dist < best_d) {
                    best = keys[j];
                    best_d = dist;
                }
            }
            if (best)
                report(v, k, path_of(v, path, k->text), NULL,
                       "unknown key (did you mean '%s'?); allowed: %s", best, join(v, keys, nk));
            else
                report(v, k, path_of(v, path, k->text), NULL, "unknown key; allowed: %s",
                       join(v, keys, nk));
            continue;
        }
        if (first[known] >= 0)
            report(v, k, path_of(v, path, k->text), NULL,
                   "duplicate key (first at line %d); allowed: each key once",
                   node->kids[2 * first[known]]->line);
        else
            first[known] = i;
    }
    return 0;
}

/* ---- scalars ---------------------------------------------------------------------------- */
/* A JSON/YAML-1.2 decimal number as written without quotes; no hex, octal, inf or nan. */
static int parse_number(const struct cnode *n, double *out)
{
    if (!n || n->kind != CN_SCALAR || n->quoted) return -1;
    const char *s = n->text;
    size_t i = 0;
    if (s[i] == '-' || s[i] == '+') i++;
    size_t digits = 0;
    while (s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (!digits) return -1;
    if (s[i] == 'e' || s[i] == 'E') {
        i++;
        if (s[i] == '-' || s[i] == '+') i++;
        size_t e = 0;
        while (s[i] >= '0' && s[i] <= '9') i++, e++;
        if (!e) return -1;
    }
    if (s[i]) return -1;
    char *end = NULL;
    double d = strtod(s, &end);
    if (!isfinite(d)) return -1;
    *out = d;
    return 0;
}

/* A text field. Returns 1 and *out when present, 0 when absent (or null), -1 when bad. */
static int want_str(struct v *v, const struct cnode *map, const char *path, const char *key,
                    int required, int max_len, const char *allowed, const char **out)
{
    const struct cnode *n = get(map, key);
    if (!n || is_null(n)) {
        if (required) report(v, n ? n : map, path, key, "missing (required); allowed: %s", allowed);
        return required ? -1 : 0;
    }
    if (n->kind != CN_SCALAR) {
        report(v, n, path, key, "expected text, got %s; allowed: %s", got(v, n), allowed);
        return -1;
    }
    if (n->len > (size_t)max_len) {
        report(v, n, path, key, "%zu bytes is too long; allowed: at most %d bytes", n->len, max_len);
        return -1;
    }
    int blank = 1;
    for (size_t i = 0; i < n->len && blank; i++) blank = strchr(" \t\r\n", n->text[i]) != NULL;
    if (blank && required) {
        report(v, n, path, key, "empty; allowed: %s", allowed);
        return -1;
    }
    *out = n->text;
    return 1;
}

/* A number in [lo, hi]; integral when `integer`. Returns 1 with *out, 0 absent, -1 bad. */
static int want_num(struct v *v, const struct cnode *map, const char *path, const char *key,
                    int required, int integer, double lo, double hi, const char *allowed,
                    double *out)
{
    const struct cnode *n = get(map, key);
    if (!n || is_null(n)) {
        if (required) report(v, n ? n : map, path, key, "missing (required); allowed: %s", allowed);
        return required ? -1 : 0;
    }
    double d;
    if (parse_number(n, &d) != 0) {
        report(v, n, path, key, "expected %s, got %s; allowed: %s",
               integer ? "a whole number" : "a number", got(v, n), allowed);
        return -1;
    }
    if (integer && d != floor(d)) {
        report(v, n, path, key, "%s is not a whole number; allowed: %s", n->text, allowed);
        return -1;
    }
    if (!(d >= lo && d <= hi)) {
        report(v, n, path, key, "%s is out of range; allowed: %s", n->text, allowed);
        return -1;
    }
    *out = d;
    return 1;
}

/* One of names[] (NULL-terminated). Returns 1 with *out (the index), 0 absent, -1 bad. */
static int want_enum(struct v *v, const struct cnode *map, const char *path, const char *key,
                     int required, const char *const *names, const char *what, int *out)
{
    const struct cnode *n = get(map, key);
    int nn = count_names(names);
    if (!n || is_null(n)) {
        if (required)
            report(v, n ? n : map, path, key, "missing (required); allowed: %s", join(v, names, nn));
        return required ? -1 : 0;
    }
    if (n->kind == CN_SCALAR)
        for (int i = 0; i < nn; i++)
            if (strcmp(n->text, names[i]) == 0) {
                *out = i;
                return 1;
            }
    if (n->kind != CN_SCALAR)
        report(v, n, path, key, "expected %s, got %s; allowed: %s", what, got(v, n), join(v, names, nn));
    else
        report(v, n, path, key, "%s is not a known %s; allowed: %s", got(v, n), what, join(v, names, nn));
    return -1;
}

/* A list; returns the node, or NULL (absent or reported). */
static const struct cnode *want_list(struct v *v, const struct cnode *map, const char *path,
                                     const char *key, int required, const char *allowed)
{
    const struct cnode *n = get(map, key);
    if (!n || is_null(n)) {
        if (required) report(v, n ? n : map, path, key, "missing (required); allowed: %s", allowed);
        return NULL;
    }
    if (n->kind != CN_SEQ) {
        report(v, n, path, key, "expected a list, got %s; allowed: %s", got(v, n), allowed);
        return NULL;
    }
    return n;
}

static const char *const id_allowed =
    "1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit";

static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '-' && ch != '_' && ch != '.'))) return 0;
    }
    return 1;
}

static int want_id(struct v *v, const struct cnode *map, const char *path, const char *key,
                   int required, const char **out)
{
    const char *s = NULL;
    int r = want_str(v, map, path, key, required, 64 * 4, id_allowed, &s);
    if (r != 1) return r;
    if (!valid_id(s)) {
        report(v, get(map, key), path, key, "%s is not a valid id; allowed: %s",
               got(v, get(map, key)), id_allowed);
        *out = s; /* kept for lookups, so references to it do not cascade into more reports */
        return -1;
    }
    *out = s;
    return 1;
}

/* ---- paths ------------------------------------------------------------------------------ */
enum path_kind { PATH_IMAGE, PATH_CLIP, PATH_DIR, PATH_AUDIO };

/* What decoding one media file found, kept per canonical path and kind: a batch of variants
 * names the same logo, end card and music in every sequence, and each file is decoded once
 * (1000 sequences sharing a logo and an end card validated in 16 s, decoding them each time). */
struct probe {
    struct probe *next;
    const char *path;
    enum path_kind kind;
    int ok;                /* 0, or -1 with why */
    char why[256];
    int width, height;     /* an image's pixel size */
    double seconds;        /* a clip's duration */
};

/* The probe of path (canonical, in the arena) as kind; NULL only when out of memory. */
static const struct probe *probe_media(struct v *v, const char *path, enum path_kind kind)
{
    for (const struct probe *p = v->probes; p; p = p->next)
        if (p->kind == kind && strcmp(p->path, path) == 0) return p;
    struct probe *p = arena_alloc(v->a, sizeof *p);
    if (!p) return NULL;
    p->path = path, p->kind = kind;
    if (kind == PATH_IMAGE)
        p->ok = campaign_probe_image(path, &p->width, &p->height, p->why, sizeof p->why);
    else if (kind == PATH_AUDIO)
        p->ok = campaign_probe_audio(path, p->why, sizeof p->why);
    else if (kind == PATH_CLIP)
        p->ok = campaign_probe_clip(path, &p->seconds, p->why, sizeof p->why);
    p->next = v->probes;
    v->probes = p;
    return p;
}

/* Resolves a path written in the campaign (relative to its directory) to a canonical absolute
 * path. References (images, clips) must stay inside the campaign directory after symlinks are
 * resolved; a model directory may live anywhere. Returns the canonical path or NULL. */
static const char *want_path(struct v *v, const struct cnode *n, const char *path, const char *key,
                             enum path_kind kind, double *clip_seconds)
{
    static const char *const what[] = {"an image", "a video clip", "a model directory",
                                       "an audio file"};
    static const char *const allowed_ref =
        "allowed: a path inside the campaign file's directory (symlinks resolved)";
    if (!n || n->kind != CN_SCALAR || is_null(n)) {
        report(v, n, path, key, "expected a file path, got %s; allowed: the path of %s, "
                                "relative to the campaign file", got(v, n), what[kind]);
        return NULL;
    }
    const char *p = n->text;
    int is_ref = kind != PATH_DIR;
    if (n->len == 0 || n->len > 4000 || strlen(p) != n->len) {
        report(v, n, path, key, "the path is empty, too long or holds a NUL; allowed: 1 to 4000 "
                                "bytes of text");
        return NULL;
    }
    if (is_ref) {
        /* Lexical check first: it does not depend on what exists on this machine. */
        int depth = 0, escapes = p[0] == '/';
        for (const char *s = p; *s && !escapes;) {
            size_t seg = strcspn(s, "/");
            if (seg == 2 && s[0] == '.' && s[1] == '.') escapes = --depth < 0;
            else if (seg && !(seg == 1 && s[0] == '.')) depth++;
            s += seg;
            while (*s == '/') s++;
        }
        if (escapes) {
            report(v, n, path, key, "'%s' is outside the campaign directory; %s", p, allowed_ref);
            return NULL;
        }
    }
    if (!v->dir) return p; /* a buffer without a directory: the form is all that can be checked */
    char *joined = p[0] == '/' ? arena_strdup(v->a, p) : arena_printf(v->a, "%s/%s", v->dir, p);
    char *real = joined ? realpath(joined, NULL) : NULL;
    if (!real) {
        int err = errno;
        report(v, n, path, key, "'%s' %s; allowed: the path of %s, relative to the campaign file",
               p, err == ENOENT || err == ENOTDIR ? "does not exist" : strerror(err), what[kind]);
        return NULL;
    }
    const char *out = arena_strdup(v->a, real);
    free(real);
    if (!out) return NULL;
    size_t dl = strlen(v->dir);
    if (is_ref && !(strncmp(out, v->dir, dl) == 0 && (out[dl] == '/' || (dl == 1 && v->dir[0] == '/')))) {
        report(v, n, path, key, "'%s' leads outside the campaign directory through a symlink; %s",
               p, allowed_ref);
        return NULL;
    }
    struct stat sb;
    if (stat(out, &sb) != 0) {
        report(v, n, path, key, "'%s' cannot be read (%s); allowed: a readable file", p, strerror(errno));
        return NULL;
    }
    if (kind == PATH_DIR) {
        if (!S_ISDIR(sb.st_mode)) {
            report(v, n, path, key, "'%s' is not a directory; allowed: a model directory "
                                    "(safetensors files and their configs)", p);
            return NULL;
        }
        return out;
    }
    if (!S_ISREG(sb.st_mode)) {
        report(v, n, path, key, "'%s' is not a regular file; allowed: %s file", p, what[kind]);
        return NULL;
    }
    if (v->flags & SF_CAMPAIGN_NO_MEDIA) {
        if (clip_seconds) *clip_seconds = 0;
        return out;
    }
    const struct probe *pr = probe_media(v, out, kind);
    if (!pr) return NULL;
    if (kind == PATH_IMAGE && pr->ok != 0) {
        report(v, n, path, key, "'%s' %s; allowed: a PNG, JPEG, WebP, BMP or TIFF image", p,
               pr->why);
        return NULL;
    }
    if (kind == PATH_AUDIO && pr->ok != 0) {
        report(v, n, path, key, "'%s' %s; allowed: a WAV, FLAC, MP3 or AAC (.m4a) audio file", p,
               pr->why);
        return NULL;
    }
    if (kind == PATH_CLIP) {
        if (pr->ok != 0) {
            report(v, n, path, key, "'%s' %s; allowed: a video clip of 3 to 8 s", p, pr->why);
            return NULL;
        }
        if (pr->seconds < 3.0 - 1e-3 || pr->seconds > 8.0 + 1e-3) {
            report(v, n, path, key, "'%s' lasts %.2f s; allowed: a video clip of 3 to 8 s", p,
                   pr->seconds);
            return NULL;
        }
        *clip_seconds = pr->seconds;
    }
    return out;
}

/* ---- sections --------------------------------------------------------------------------- */
static const char *const lang_list[] = {"en", "es", "zh", "ja", "ko", NULL};
static const char *const aspect_list[] = {"16:9", "9:16", "1:1", NULL};
static const char *const codec_list[] = {"h264", "prores", "ffv1", NULL};
static const char *const dtype_list[] = {"bf16", "fp16", "fp32", NULL};
static const char *const config_list[] = {"tiny",           "tiny-vace",        "wan2.1-t2v-1.3b",
                                          "wan2.1-t2v-14b", "wan2.1-vace-1.3b", "wan2.1-vace-14b",
                                          NULL};
static const char *const sampler_list[] = {"unipc", "euler", NULL};
static const char *const schedule_list[] = {"wan", "diffusers", NULL};

static void parse_model(struct v *v, const struct cnode *n)
{
    static const char *const keys[] = {"config", "dir", "dtype", "tp", NULL};
    struct sf_model_settings *m = &v->c->model;
    m->config = "wan2.1-t2v-1.3b";
    m->dtype = "bf16";
    m->tp = 1;
    if (!n) return;
    if (check_map(v, n, "model", "model settings", keys) != 0) return;
    int idx;
    const struct cnode *cfg = get(n, "config"), *dir = get(n, "dir");
    if (cfg && dir) {
        report(v, dir, "model", "dir", "both `config` and `dir` are given; allowed: one of them "
                                       "(a named config, or a model directory)");
    } else if (dir) {
        m->config = NULL;
        m->dir = want_path(v, dir, "model", "dir", PATH_DIR, NULL);
    } else if (want_enum(v, n, "model", "config", 0, config_list, "model config", &idx) == 1) {
        m->config = config_list[idx];
    }
    if (want_enum(v, n, "model", "dtype", 0, dtype_list, "dtype", &idx) == 1) m->dtype = dtype_list[idx];
    double tp;
    if (want_num(v, n, "model", "tp", 0, 1, 1, 64, "a whole number from 1 to 64 (GPUs per model copy)",
                 &tp) == 1)
        m->tp = (int)tp;
}

static void parse_resolution(struct v *v, const struct cnode *map, const char *path,
                             struct sf_tier *t)
{
    const struct cnode *n = get(map, "resolution");
    if (!n) return;
    static const char *const allowed =
        "WIDTHxHEIGHT of the 16:9 frame, multiples of 16 from 64 to 4096, width >= height "
        "(e.g. 832x480)";
    int w = 0, h = 0;
    char tail = 0;
    if (n->kind != CN_SCALAR || sscanf(n->text, "%dx%d%c", &w, &h, &tail) != 2) {
        report(v, n, path, "resolution", "expected WIDTHxHEIGHT, got %s; allowed: %s", got(v, n), allowed);
        return;
    }
    if (w % 16 || h % 16 || w < 64 || h < 64 || w > 4096 || h > 4096 || w < h) {
        report(v, n, path, "resolution", "%s is not a usable size; allowed: %s", n->text, allowed);
        return;
    }
    t->width = w;
    t->height = h;
}

/* `window` and `overlap` (latent frames, sf_window_rule.h): each alone, then the pair. */
static void parse_window(struct v *v, const struct cnode *n, const char *path, struct sf_tier *t)
{
    double d;
    int ok = 1, r;
    r = want_num(v, n, path, "window", 0, 1, 2, SF_WINDOW_MAX,
                 "a whole number of latent frames from 2 to 1024 (the model's native length; "
                 "default 21 = 81 frames)",
                 &d);
    if (r == 1) t->window = (int)d;
    ok &= r >= 0;
    r = want_num(v, n, path, "overlap", 0, 1, 1, SF_WINDOW_MAX,
                 "a whole number of latent frames from 1 to window / 2 (default 5)", &d);
    if (r == 1) t->overlap = (int)d;
    ok &= r >= 0;
    if (ok && sf_window_rule_check(t->window, t->overlap)) {
        const struct cnode *at = get(n, "overlap") ? get(n, "overlap") : get(n, "window");
        report(v, at, path, at == get(n, "overlap") ? "overlap" : "window",
               "window %d with overlap %d: the overlap may be at most window / 2 (%d); allowed: "
               "a smaller overlap or a longer window",
               t->window, t->overlap, t->window / 2);
    }
}

static void parse_tier(struct v *v, const struct cnode *n, const char *path, struct sf_tier *t)
{
    static const char *const keys[] = {"steps", "resolution", "sampler", "schedule", "shift",
                                       "guidance", "max_refs", "window", "overlap", NULL};
    if (!n || check_map(v, n, path, "tier settings", keys) != 0) return;
    double d;
    int idx;
    if (want_num(v, n, path, "steps", 0, 1, 1, 1000, "a whole number from 1 to 1000", &d) == 1)
        t->steps = (int)d;
    parse_resolution(v, n, path, t);
    if (want_enum(v, n, path, "sampler", 0, sampler_list, "sampler", &idx) == 1) t->sampler = idx;
    if (want_enum(v, n, path, "schedule", 0, schedule_list, "schedule", &idx) == 1) t->schedule = idx;
    if (want_num(v, n, path, "shift", 0, 0, 0.01, 100, "a number from 0.01 to 100 (flow shift)", &d) == 1)
        t->shift = d;
    if (want_num(v, n, path, "guidance", 0, 0, 0, 50, "a number from 0 to 50 (1 turns CFG off)", &d) == 1)
        t->guidance = d;
    if (want_num(v, n, path, "max_refs", 0, 1, 1, SF_CAMPAIGN_MAX_SHOT_REFS,
                 "a whole number from 1 to 8 (references per shot; default 4)", &d) == 1)
        t->max_refs = (int)d;
    parse_window(v, n, path, t);
}

static void parse_tiers(struct v *v, const struct cnode *n)
{
    static const char *const keys[] = {"draft", "final", NULL};
    struct sf_tier *t = v->c->tiers;
    t[SF_TIER_DRAFT] = (struct sf_tier){20, 832, 480, SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 3.0, 5.0,
                                        SF_CAMPAIGN_DEFAULT_SHOT_REFS, SF_WINDOW_DEFAULT,
                                        SF_WINDOW_DEFAULT_OVERLAP};
    t[SF_TIER_FINAL] = (struct sf_tier){50, 1280, 720, SF_SAMPLER_UNIPC, SF_SCHEDULE_WAN, 5.0, 5.0,
                                        SF_CAMPAIGN_DEFAULT_SHOT_REFS, SF_WINDOW_DEFAULT,
                                        SF_WINDOW_DEFAULT_OVERLAP};
    if (!n || check_map(v, n, "tiers", "the draft and final tiers", keys) != 0) return;
    parse_tier(v, get(n, "draft"), "tiers.draft", &t[SF_TIER_DRAFT]);
    parse_tier(v, get(n, "final"), "tiers.final", &t[SF_TIER_FINAL]);
}

static void parse_voice(struct v *v, const struct cnode *n, const char *path, struct sf_voice *out)
{
    static const char *const keys[] = {"variant", "pitch", "rate", NULL};
    static const char *const variant_allowed =
        "an espeak-ng voice variant such as m1-m8, f1-f5, klatt (docs/sound.md § Dialogue)";
    out->pitch = SF_SPEECH_DEFAULT_PITCH;
    out->rate = SF_SPEECH_DEFAULT_RATE;
    const char *name = NULL;
    const struct cnode *name_node = n;
    if (n->kind == CN_MAP && get(n, "name")) {
        report(v, get(n, "name"), path, "name", "espeak-ng voices belong to one language, and "
               "each line is read in its own language's voice (en-us, es, cmn-latn-pinyin, ja, "
               "ko); allowed: `variant` (the speaker's timbre: m1-m8, f1-f5, ...), `pitch`, `rate`");
        return;
    }
    if (n->kind == CN_SCALAR) {
        name = n->quoted || !is_null(n) ? n->text : NULL;
    } else {
        if (check_map(v, n, path, "a voice", keys) != 0) return;
        if (want_str(v, n, path, "variant", 0, 64, variant_allowed, &name) != 1) name = NULL;
        name_node = get(n, "variant");
        double p;
        if (want_num(v, n, path, "pitch", 0, 1, 0, 99, "a whole number from 0 to 99 (default 50)", &p) == 1)
            out->pitch = (int)p;
        if (want_num(v, n, path, "rate", 0, 1, 80, 450,
                     "words per minute, a whole number from 80 to 450 (default 165)", &p) == 1)
            out->rate = (int)p;
    }
    if (!name) return;
    int ok = strlen(name) > 0 && strlen(name) <= 64;
    for (const char *s = name; *s && ok; s++)
        ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
             *s == '-' || *s == '_';
    if (!ok) {
        report(v, name_node, path, n->kind == CN_SCALAR ? NULL : "variant",
               "%s is not a voice variant; allowed: %s", got(v, name_node), variant_allowed);
        return;
    }
    if (!(v->flags & SF_CAMPAIGN_NO_MEDIA) && !sf_speech_has_variant(name)) {
        report(v, name_node, path, n->kind == CN_SCALAR ? NULL : "variant",
               "espeak-ng %s has no voice variant '%s'; allowed: %s", sf_speech_version(), name,
               variant_allowed);
        return;
    }
    out->variant = name;
}

static void parse_element(struct v *v, const struct cnode *n, const char *path, struct sf_element *e)
{
    static const char *const keys[] = {"id", "description", "refs", "clip", "voice", "language", NULL};
    if (check_map(v, n, path, "an element", keys) != 0) return;
    want_id(v, n, path, "id", 1, &e->id);
    want_str(v, n, path, "description", 1, MAX_TEXT, "a text that describes the element",
             &e->description);
    const struct cnode *refs = want_list(v, n, path, "refs", 0,
                                         "a list of up to 4 reference image paths");
    if (refs) {
        const char *rp = path_of(v, path, "refs");
        if (refs->n > SF_CAMPAIGN_MAX_REFS)
            report(v, refs, rp, NULL, "%d reference images; allowed: at most %d per element",
                   refs->n, SF_CAMPAIGN_MAX_REFS);
        for (int i = 0; i < refs->n && i < SF_CAMPAIGN_MAX_REFS; i++) {
            const char *p = want_path(v, refs->kids[i], arena_printf(v->a, "%s[%d]", rp, i), NULL,
                                      PATH_IMAGE, NULL);
            if (p) e->refs[e->n_refs++] = p;
        }
    }
    const struct cnode *clip = get(n, "clip");
    if (clip && !is_null(clip)) e->clip = want_path(v, clip, path, "clip", PATH_CLIP, &e->clip_seconds);
    const struct cnode *voice = get(n, "voice");
    if (voice && !is_null(voice)) parse_voice(v, voice, path_of(v, path, "voice"), &e->voice);
    int idx;
    e->language = SF_LANG_EN;
    if (want_enum(v, n, path, "language", 0, lang_list, "language", &idx) == 1) e->language = idx;
}

static int find_element(struct v *v, const char *id)
{
    for (int i = 0; i < v->c->n_elements; i++)
        if (v->c->elements[i].id && strcmp(v->c->elements[i].id, id) == 0) return i;
    return -1;
}

static void parse_elements(struct v *v, const struct cnode *n)
{
    if (!n) return;
    if (n->kind != CN_SEQ) {
        report(v, n, "elements", NULL, "expected a list, got %s; allowed: a list of elements "
                                       "(id, description, refs, clip, voice, language)", got(v, n));
        return;
    }
    if (n->n > MAX_ELEMENTS) {
        report(v, n, "elements", NULL, "%d elements; allowed: at most %d", n->n, MAX_ELEMENTS);
        return;
    }
    v->c->elements = arena_alloc(v->a, (size_t)(n->n ? n->n : 1) * sizeof *v->c->elements);
    if (!v->c->elements) return;
    for (int i = 0; i < n->n; i++) {
        struct sf_element *e = &v->c->elements[i];
        const char *path = arena_printf(v->a, "elements[%d]", i);
        parse_element(v, n->kids[i], path, e);
        if (e->id && find_element(v, e->id) >= 0)
            report(v, get(n->kids[i], "id"), path, "id",
                   "duplicate element id '%s'; allowed: ids unique among elements", e->id);
        v->c->n_elements = i + 1;
    }
}

/* fps as written: "23.976", "24", "25", "29.97", "30" (or 24000/1001, 30000/1001). */
static void parse_fps(struct v *v, const struct cnode *map, struct sf_fps *out)
{
    static const struct { const char *text; struct sf_fps fps; } rates[] = {
        {"23.976", {24000, 1001}}, {"24000/1001", {24000, 1001}}, {"24", {24, 1}},
        {"25", {25, 1}}, {"29.97", {30000, 1001}}, {"30000/1001", {30000, 1001}}, {"30", {30, 1}},
    };
    const struct cnode *n = get(map, "fps");
    if (!n || is_null(n)) return;
    for (size_t i = 0; n->kind == CN_SCALAR && i < sizeof rates / sizeof rates[0]; i++)
        if (strcmp(n->text, rates[i].text) == 0) {
            *out = rates[i].fps;
            return;
        }
    report(v, n, "deliverables", "fps", "%s is not a delivery frame rate; allowed: 23.976, 24, 25, "
                                        "29.97, 30", got(v, n));
}

/* A list of names from `names`, as flags; reports unknown and repeated entries. */
static void parse_name_set(struct v *v, const struct cnode *map, const char *path, const char *key,
                           const char *const *names, const char *what, int *flags)
{
    const struct cnode *n = want_list(v, map, path, key, 0, join(v, names, count_names(names)));
    if (!n) return;
    if (n->n == 0) {
        report(v, n, path, key, "the list is empty; allowed: one or more of %s",
               join(v, names, count_names(names)));
        return;
    }
    int set[16] = {0};
    for (int i = 0; i < n->n; i++) {
        const struct cnode *it = n->kids[i];
        const char *ip = arena_printf(v->a, "%s.%s[%d]", path, key, i);
        int found = -1;
        for (int j = 0; names[j] && it->kind == CN_SCALAR && found < 0; j++)
            if (strcmp(it->text, names[j]) == 0) found = j;
        if (found < 0)
            report(v, it, ip, NULL, "%s is not a known %s; allowed: %s", got(v, it), what,
                   join(v, names, count_names(names)));
        else if (set[found]++)
            report(v, it, ip, NULL, "'%s' is listed twice; allowed: each %s once", names[found], what);
    }
    for (int j = 0; names[j]; j++) flags[j] = set[j] > 0;
}

/* deliverables.KEY: true or false (absent or null: unchanged). */
static void want_flag(struct v *v, const struct cnode *n, const char *key, int *out)
{
    const struct cnode *f = get(n, key);
    if (!f || is_null(f)) return;
    if (f->kind == CN_SCALAR && !f->quoted && strcmp(f->text, "true") == 0)
        *out = 1;
    else if (!(f->kind == CN_SCALAR && !f->quoted && strcmp(f->text, "false") == 0))
        report(v, f, "deliverables", key, "expected true or false, got %s; allowed: true, false",
               got(v, f));
}

static void parse_deliverables(struct v *v, const struct cnode *n)
{
    static const char *const keys[] = {"aspects", "lengths", "languages", "codecs", "resolution",
                                       "fps", "loudness", "reframe", "conform", "timecode",
                                       "start_timecode", "code", "review_copies", NULL};
    static const char *const conform_list[] = {"repeat", "blend", NULL};
    static const char *const tc_list[] = {"ndf", "df", NULL};
    struct sf_deliverables *d = &v->c->deliv;
    d->codecs[SF_CODEC_H264] = 1;
    d->languages[v->c->language] = 1;
    d->resolution = 1080;
    d->fps = (struct sf_fps){24, 1};
    d->loudness_lufs = -23;
    d->true_peak_db = -1;
    d->short_term_max = -18;
    d->tc_start[0] = 1; /* 01:00:00:00, the broadcast convention */
    if (!n || check_map(v, n, "deliverables", "the deliverables", keys) != 0) return;
    int aspects[SF_ASPECT_COUNT] = {0};
    parse_name_set(v, n, "deliverables", "aspects", aspect_list, "aspect ratio", aspects);
    memcpy(d->aspects, aspects, sizeof aspects);
    int langs[SF_LANG_COUNT] = {0};
    if (get(n, "languages")) {
        parse_name_set(v, n, "deliverables", "languages", lang_list, "language", langs);
        memcpy(d->languages, langs, sizeof langs);
    }
    int codecs[SF_CODEC_COUNT] = {0};
    if (get(n, "codecs")) {
        parse_name_set(v, n, "deliverables", "codecs", codec_list, "codec", codecs);
        memcpy(d->codecs, codecs, sizeof codecs);
    }
    const struct cnode *lens = want_list(v, n, "deliverables", "lengths", 0,
                                         "a list of lengths in whole seconds, e.g. [15, 6]");
    if (lens && lens->n > 16) {
        report(v, lens, "deliverables", "lengths", "%d lengths; allowed: at most 16", lens->n);
    } else if (lens) {
        int *out = arena_alloc(v->a, (size_t)(lens->n ? lens->n : 1) * sizeof *out);
        for (int i = 0; out && i < lens->n; i++) {
            const char *ip = arena_printf(v->a, "deliverables.lengths[%d]", i);
            double s;
            if (parse_number(lens->kids[i], &s) != 0 || s != floor(s) || s < 1 || s > 600) {
                report(v, lens->kids[i], ip, NULL, "%s is not a length; allowed: whole seconds "
                                                   "from 1 to 600", got(v, lens->kids[i]));
                continue;
            }
            int dup = 0;
            for (int j = 0; j < d->n_lengths; j++) dup |= out[j] == (int)s;
            if (dup) {
                report(v, lens->kids[i], ip, NULL, "%d is listed twice; allowed: each length once", (int)s);
                continue;
            }
            out[d->n_lengths++] = (int)s;
        }
        d->lengths = out;
    }
    double x;
    if (want_num(v, n, "deliverables", "resolution", 0, 1, 360, 2160,
                 "the short side in pixels, an even number from 360 to 2160 (1080 = 1920x1080)",
                 &x) == 1) {
        if ((int)x % 2)
            report(v, get(n, "resolution"), "deliverables", "resolution",
                   "%d is odd; allowed: an even number from 360 to 2160", (int)x);
        else
            d->resolution = (int)x;
    }
    parse_fps(v, n, &d->fps);
    const struct cnode *loud = get(n, "loudness");
    if (loud && loud->kind == CN_SCALAR && strcmp(loud->text, "ebu-r128") == 0) {
        d->loudness_lufs = -23;
    } else if (loud && loud->kind == CN_SCALAR && strcmp(loud->text, "atsc-a85") == 0) {
        d->loudness_lufs = -24;
        d->true_peak_db = -2;
        d->short_term_max = 0;
    } else if (loud && !is_null(loud)) {
        if (parse_number(loud, &x) != 0 || x < -31 || x > -10)
            report(v, loud, "deliverables", "loudness", "%s is not a loudness target; allowed: "
                   "ebu-r128 (-23 LUFS), atsc-a85 (-24 LKFS), or LUFS from -31 to -10", got(v, loud));
        else {
            d->loudness_lufs = x;
            d->short_term_max = 0;
        }
    }
    int idx;
    if (want_enum(v, n, "deliverables", "conform", 0, conform_list, "conform method", &idx) == 1)
        d->conform_blend = idx == 1;
    if (want_enum(v, n, "deliverables", "timecode", 0, tc_list, "timecode kind", &idx) == 1) {
        d->drop_frame = idx == 1;
        if (d->drop_frame && !(d->fps.num == 30000 && d->fps.den == 1001))
            report(v, get(n, "timecode"), "deliverables", "timecode",
                   "drop-frame timecode at %d/%d fps; allowed: df only with fps 29.97, else ndf",
                   d->fps.num, d->fps.den);
    }
    const char *tc = NULL;
    if (want_str(v, n, "deliverables", "start_timecode", 0, 11, "HH:MM:SS:FF, e.g. 01:00:00:00",
                 &tc) == 1) {
        int h, m, sec, f, end = 0;
        const int nominal = (d->fps.num + d->fps.den - 1) / d->fps.den;
        if (sscanf(tc, "%2d:%2d:%2d%*[:;]%2d%n", &h, &m, &sec, &f, &end) != 4 || tc[end] ||
            h > 23 || m > 59 || sec > 59 || f >= nominal || h < 0 || m < 0 || sec < 0 || f < 0)
            report(v, get(n, "start_timecode"), "deliverables", "start_timecode",
                   "'%s' is not a timecode; allowed: HH:MM:SS:FF with FF below %d", tc, nominal);
        else
            d->tc_start[0] = h, d->tc_start[1] = m, d->tc_start[2] = sec, d->tc_start[3] = f;
    }
    const char *code = NULL;
    if (want_str(v, n, "deliverables", "code", 0, 12,
                 "letters and digits, e.g. an Ad-ID prefix ABCD", &code) == 1) {
        int ok = *code != 0;
        for (const char *p = code; *p; p++)
            ok &= isalnum((unsigned char)*p) != 0;
        if (!ok)
            report(v, get(n, "code"), "deliverables", "code",
                   "'%s' has characters a file name should not; allowed: letters and digits "
                   "(up to 12), e.g. an Ad-ID prefix ABCD", code);
        else
            d->code = code;
    }
    want_flag(v, n, "reframe", &d->reframe);
    want_flag(v, n, "review_copies", &d->review_copies);
}

/* Seconds to milliseconds for a duration field within [lo_ms, hi_ms]. */
static int want_ms(struct v *v, const struct cnode *map, const char *path, const char *key,
                   int required, int lo_ms, int hi_ms, const char *allowed, int *out)
{
    double s;
    int r = want_num(v, map, path, key, required, 0, lo_ms / 1000.0, hi_ms / 1000.0, allowed, &s);
    if (r == 1) *out = (int)llround(s * 1000);
    return r;
}

/* ---- dialogue --------------------------------------------------------------------------- */
/* Decodes one UTF-8 character (input validated by the tree builder). */
static uint32_t next_cp(const unsigned char **s)
{
    const unsigned char *p = *s;
    uint32_t c = *p++;
    if (c >= 0xf0) c = ((c & 7u) << 18) | ((p[0] & 63u) << 12) | ((p[1] & 63u) << 6) | (p[2] & 63u), p += 3;
    else if (c >= 0xe0) c = ((c & 15u) << 12) | ((p[0] & 63u) << 6) | (p[1] & 63u), p += 2;
    else if (c >= 0xc0) c = ((c & 31u) << 6) | (p[0] & 63u), p += 1;
    *s = p;
    return c;
}

static int is_cjk_ideograph(uint32_t c)
{
    return (c >= 0x3400 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0x20000 && c <= 0x3134f);
}

/* Pinyin: Latin letters (with tone marks or tone digits 1-5), spaces and punctuation; no
 * Chinese characters. Kana: hiragana, katakana, the long-vowel mark, spaces and punctuation;
 * no kanji or Latin letters. Returns 0 or the 1-based position of the first bad character. */
static int check_phonetic(const char *s, enum sf_lang lang, uint32_t *bad)
{
    const unsigned char *p = (const unsigned char *)s;
    for (int pos = 1; *p; pos++) {
        uint32_t c = next_cp(&p);
        int ok;
        if (lang == SF_LANG_ZH) {
            ok = !is_cjk_ideograph(c) && !(c >= 0x3040 && c <= 0x30ff) && !(c >= 0xac00 && c <= 0xd7af);
        } else {
            ok = (c >= 0x3040 && c <= 0x30ff) || c == ' ' || c == 0x3000 || c == 0x3001 ||
                 c == 0x3002 || c == 0xff01 || c == 0xff1f || c == ',' || c == '.' || c == '!' ||
                 c == '?' || c == 0x300c || c == 0x300d;
        }
        if (!ok) {
            *bad = c;
            return pos;
        }
    }
    return 0;
}

static void parse_dialogue_line(struct v *v, const struct cnode *n, const char *path,
                                int duration_ms, struct sf_dialogue *out)
{
    static const char *const keys[] = {"speaker", "language", "text", "phonetic", "start", NULL};
    out->speaker = -1;
    out->line = n->line;
    out->col = n->col;
    if (check_map(v, n, path, "a dialogue line", keys) != 0) return;
    const char *spk = NULL;
    if (want_str(v, n, path, "speaker", 1, 256, "the id of the element who speaks", &spk) == 1) {
        out->speaker = find_element(v, spk);
        if (out->speaker < 0)
            report(v, get(n, "speaker"), path, "speaker", "no element has the id '%s'; allowed: "
                   "an id from `elements`", spk);
    }
    int idx = -1;
    if (want_enum(v, n, path, "language", 0, lang_list, "language", &idx) == 1) out->language = idx;
    else if (out->speaker >= 0 && !get(n, "language")) out->language = v->c->elements[out->speaker].language;
    want_str(v, n, path, "text", 1, MAX_TEXT, "the words spoken", &out->text);
    const struct cnode *ph = get(n, "phonetic");
    int needs = out->language == SF_LANG_ZH || out->language == SF_LANG_JA;
    const char *what = out->language == SF_LANG_ZH ? "pinyin (e.g. \"jia1 you2\")"
                                                   : "kana (e.g. \"がんばって\")";
    if (needs && (!ph || is_null(ph))) {
        report(v, ph ? ph : n, path, "phonetic", "missing: a %s line needs its reading, because "
               "the speech engine reads only %s; allowed: %s",
               sf_lang_name(out->language), out->language == SF_LANG_ZH ? "pinyin" : "kana", what);
    } else if (needs) {
        if (want_str(v, n, path, "phonetic", 1, MAX_TEXT, what, &out->phonetic) == 1) {
            uint32_t bad = 0;
            int pos = check_phonetic(out->phonetic, out->language, &bad);
            if (pos) {
                report(v, ph, path, "phonetic", "character %d (U+%04X) is not %s; allowed: %s",
                       pos, (unsigned)bad, out->language == SF_LANG_ZH ? "pinyin" : "kana", what);
                out->phonetic = NULL;
            }
        }
    } else if (ph) {
        report(v, ph, path, "phonetic", "only zh and ja lines are read from `phonetic`; allowed: "
               "remove it from this %s line", sf_lang_name(out->language));
    }
    want_ms(v, n, path, "start", 0, 0, SF_CAMPAIGN_MAX_SHOT_MS,
            "seconds from the start of the shot, from 0 to the shot's duration", &out->start_ms);
    if (get(n, "start") && out->start_ms >= duration_ms && duration_ms > 0)
        report(v, get(n, "start"), path, "start", "%g s is not within the %g s shot; allowed: "
               "0 to %g s", out->start_ms / 1000.0, duration_ms / 1000.0, duration_ms / 1000.0);
}

/* Every dialogue line must exist in every deliverable language: lines with the same speaker
 * and start are one line in several languages. */
static void check_translations(struct v *v, const struct cnode *list, const char *path,
                               const struct sf_dialogue *d, int n)
{
    const int *want = v->c->deliv.languages;
    for (int i = 0; i < n; i++) {
        int first = 1, have[SF_LANG_COUNT] = {0};
        for (int j = 0; j < n; j++) {
            if (d[j].speaker != d[i].speaker || d[j].start_ms != d[i].start_ms) continue;
            if (j < i) first = 0;
            have[d[j].language] = 1;
        }
        if (!first || d[i].speaker < 0) continue;
        for (int l = 0; l < SF_LANG_COUNT; l++)
            if (want[l] && !have[l]) {
                report(v, list->kids[i], arena_printf(v->a, "%s[%d]", path, i), NULL,
                       "the line of '%s' at %g s has no %s version; allowed: one line per "
                       "deliverable language (same speaker and start)",
                       v->c->elements[d[i].speaker].id, d[i].start_ms / 1000.0, sf_lang_name(l));
                break;
            }
    }
}

/* ---- shots and sequences ---------------------------------------------------------------- */
struct seq_defaults {
    const char *negative;
    enum sf_camera camera;
    int n_elements;
    int elements[SF_CAMPAIGN_MAX_SHOT_ELEMENTS];
};

static const char *const camera_list[] = {"none", "static", "pan-left", "pan-right", "tilt-up",
                                          "tilt-down", "dolly-in", "dolly-out", "tracking",
                                          "crane-up", "crane-down", "orbit", "handheld", "zoom-in",
                                          "zoom-out", NULL};

static void parse_element_refs(struct v *v, const struct cnode *map, const char *path,
                               int *n_out, int *out)
{
    const struct cnode *n = want_list(v, map, path, "elements", 0,
                                      "a list of up to 4 element ids");
    if (!n) return;
    const char *lp = path_of(v, path, "elements");
    if (n->n > SF_CAMPAIGN_MAX_SHOT_ELEMENTS)
        report(v, n, lp, NULL, "%d elements; allowed: at most %d per shot", n->n,
               SF_CAMPAIGN_MAX_SHOT_ELEMENTS);
    *n_out = 0;
    for (int i = 0; i < n->n; i++) {
        const struct cnode *it = n->kids[i];
        const char *ip = arena_printf(v->a, "%s[%d]", lp, i);
        if (it->kind != CN_SCALAR) {
            report(v, it, ip, NULL, "expected an element id, got %s; allowed: an id from `elements`",
                   got(v, it));
            continue;
        }
        int e = find_element(v, it->text);
        if (e < 0) {
            report(v, it, ip, NULL, "no element has the id '%s'; allowed: an id from `elements`",
                   it->text);
            continue;
        }
        int dup = 0;
        for (int j = 0; j < *n_out; j++) dup |= out[j] == e;
        if (dup) report(v, it, ip, NULL, "'%s' is listed twice; allowed: each element once", it->text);
        else if (*n_out < SF_CAMPAIGN_MAX_SHOT_ELEMENTS) out[(*n_out)++] = e;
    }
}

static int ends_sentence(const char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n')) n--;
    if (!n) return 1;
    char last = s[n - 1];
    if (last == '.' || last == '!' || last == '?') return 1;
    return n >= 3 && (strncmp(s + n - 3, "\xe3\x80\x82", 3) == 0 ||
                      strncmp(s + n - 3, "\xef\xbc\x81", 3) == 0 ||
                      strncmp(s + n - 3, "\xef\xbc\x9f", 3) == 0);
}

/* prompt + element descriptions + camera phrase, each closed as a sentence; CJK prompts join
 * without spaces and close with "。" (docs/campaign.md § Effective prompt). */
static const char *effective_prompt(struct v *v, const struct sf_shot *s)
{
    enum sf_lang l = v->c->language;
    int cjk = l == SF_LANG_ZH || l == SF_LANG_JA;
    const char *sep = cjk ? "" : " ", *stop = cjk ? "\xe3\x80\x82" : ".";
    const char *parts[2 + SF_CAMPAIGN_MAX_SHOT_ELEMENTS];
    int np = 0;
    parts[np++] = s->prompt;
    for (int i = 0; i < s->n_elements; i++)
        if (v->c->elements[s->elements[i]].description)
            parts[np++] = v->c->elements[s->elements[i]].description;
    if (s->camera != SF_CAMERA_NONE) parts[np++] = sf_camera_phrase(s->camera, l);
    size_t len = 1;
    for (int i = 0; i < np; i++) len += strlen(parts[i]) + 8;
    char *out = arena_alloc(v->a, len);
    if (!out) return "";
    for (int i = 0; i < np; i++) {
        const char *p = parts[i];
        while (*p == ' ' || *p == '\n') p++;
        size_t n = strlen(p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\n')) n--;
        if (!n) continue;
        if (*out) strcat(out, sep);
        size_t at = strlen(out);
        strncat(out, p, n);
        /* Appended parts start a sentence: "… cold air. A young woman runner …". */
        if (i > 0 && out[at] >= 'a' && out[at] <= 'z') out[at] = (char)(out[at] - 'a' + 'A');
        if (!ends_sentence(out)) strcat(out, stop);
    }
    return out;
}

static uint32_t derived_seed(uint32_t campaign_seed, const char *seq, const char *shot)
{
    struct sf_canon c;
    uint8_t h[SF_SHA256_BYTES];
    sf_canon_begin(&c, "shotfarm.seed.v1");
    sf_canon_int(&c, "campaign_seed", campaign_seed);
    sf_canon_str(&c, "sequence", seq);
    sf_canon_str(&c, "shot", shot);
    sf_canon_end(&c, h);
    return (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
}

static void parse_shot(struct v *v, const struct cnode *n, const char *path, const char *seq_id,
                       const struct seq_defaults *def, struct sf_shot *s)
{
    static const char *const keys[] = {"id", "prompt", "negative", "duration", "seed", "takes",
                                       "selected_take", "elements", "camera", "dialogue",
                                       "first_frame", "last_frame", "continues",
                                       "continue_frames", NULL};
    s->duration_ms = SF_CAMPAIGN_DEFAULT_SHOT_MS;
    s->takes = 1;
    s->negative = def->negative;
    s->camera = def->camera;
    s->n_elements = def->n_elements;
    memcpy(s->elements, def->elements, sizeof s->elements);
    if (check_map(v, n, path, "a shot", keys) != 0) return;
    want_id(v, n, path, "id", 0, &s->id);
    want_str(v, n, path, "prompt", 1, MAX_TEXT, "a text that describes the shot", &s->prompt);
    want_str(v, n, path, "negative", 0, MAX_TEXT, "a text of what to avoid", &s->negative);
    want_ms(v, n, path, "duration", 0, SF_CAMPAIGN_MIN_SHOT_MS, SF_CAMPAIGN_MAX_SHOT_MS,
            "3 to 15 seconds (default 5)", &s->duration_ms);
    double d;
    int have_seed = want_num(v, n, path, "seed", 0, 1, 0, 4294967295.0,
                             "a whole number from 0 to 4294967295 (default: derived from the "
                             "campaign seed and the ids)", &d) == 1;
    if (have_seed) s->seed = (uint32_t)d;
    if (want_num(v, n, path, "takes", 0, 1, 1, MAX_TAKES, "a whole number from 1 to 16 (default 1)", &d) == 1)
        s->takes = (int)d;
    if (want_num(v, n, path, "selected_take", 0, 1, 1, MAX_TAKES,
                 "a take number from 1 to `takes` (default 1)", &d) == 1) {
        if ((int)d > s->takes)
            report(v, get(n, "selected_take"), path, "selected_take", "take %d of %d; allowed: a "
                   "take number from 1 to `takes` (%d)", (int)d, s->takes, s->takes);
        else
            s->selected_take = (int)d - 1;
    }
    if (get(n, "elements")) parse_element_refs(v, n, path, &s->n_elements, s->elements);
    int idx;
    if (want_enum(v, n, path, "camera", 0, camera_list, "camera move", &idx) == 1) s->camera = idx;
    const struct cnode *dl = want_list(v, n, path, "dialogue", 0,
                                       "a list of lines (speaker, language, text, phonetic, start)");
    if (dl) {
        const char *dp = path_of(v, path, "dialogue");
        if (dl->n > MAX_DIALOGUE)
            report(v, dl, dp, NULL, "%d lines; allowed: at most %d per shot", dl->n, MAX_DIALOGUE);
        int nd = dl->n < MAX_DIALOGUE ? dl->n : MAX_DIALOGUE;
        struct sf_dialogue *lines = arena_alloc(v->a, (size_t)(nd ? nd : 1) * sizeof *lines);
        if (!lines) return;
        for (int i = 0; i < nd; i++)
            parse_dialogue_line(v, dl->kids[i], arena_printf(v->a, "%s[%d]", dp, i),
                                s->duration_ms, &lines[i]);
        check_translations(v, dl, dp, lines, nd);
        s->dialogue = lines;
        s->n_dialogue = nd;
    }
    if (s->id && !have_seed) s->seed = derived_seed(v->c->seed, seq_id, s->id);
}

/* A shot's keyframes and continuation (docs/campaign.md § Keyframes and continuation): the key
 * art images, validated like references, and `continues`, the id of an EARLIER shot of the same
 * sequence (shots[0 .. i) of the sequence; so no cycle can be written), whose selected take's
 * last `continue_frames` (1 + 4k, default 5) frames become this shot's first frames. */
static void parse_shot_frames(struct v *v, const struct cnode *n, const char *path,
                              const struct sf_shot *shots, int i, struct sf_shot *s)
{
    if (n->kind != CN_MAP) return;
    const struct cnode *ff = get(n, "first_frame"), *lf = get(n, "last_frame");
    const struct cnode *cn = get(n, "continues"), *cf = get(n, "continue_frames");
    if (ff && !is_null(ff))
        s->first_frame = want_path(v, ff, path, "first_frame", PATH_IMAGE, NULL);
    if (lf && !is_null(lf))
        s->last_frame = want_path(v, lf, path, "last_frame", PATH_IMAGE, NULL);
    s->continue_frames = SF_CAMPAIGN_DEFAULT_CONTINUE_FRAMES;
    const char *id = NULL;
    if (want_str(v, n, path, "continues", 0, 64, "the id of an earlier shot of this sequence",
                 &id) == 1) {
        for (int j = 0; j < i && !s->continues; j++)
            if (shots[j].id && strcmp(shots[j].id, id) == 0) s->continues = &shots[j];
        if (!s->continues)
            report(v, cn, path, "continues", "'%s' is not a shot before this one in its sequence; "
                   "allowed: the id of an earlier shot of the same sequence", id);
        else if (ff && !is_null(ff))
            report(v, ff, path, "first_frame", "both `first_frame` and `continues` set the first "
                   "frames; allowed: one of them");
    }
    double d;
    int have = want_num(v, n, path, "continue_frames", 0, 1, 1, 4 * 60 + 1,
                        "1 + 4k frames (1, 5, 9, ...; default 5)", &d) == 1;
    if (!have) return;
    const int k = (int)d, frames = sf_campaign_frames_for_ms(s->duration_ms);
    int limit = frames;
    if (s->continues) {
        int pf = sf_campaign_frames_for_ms(s->continues->duration_ms);
        if (pf < limit) limit = pf;
    }
    if (!cn || is_null(cn))
        report(v, cf, path, "continue_frames", "given without `continues`; allowed: with "
               "`continues: SHOT` only");
    else if ((k - 1) % 4 != 0 || k >= limit)
        report(v, cf, path, "continue_frames", "%d frames; allowed: 1 + 4k frames (1, 5, 9, ...) "
               "fewer than this shot's and the continued shot's %d", k, limit);
    else
        s->continue_frames = k;
}

/* Checks each deliverable length against the shots that play in it (a `cuts` entry, or all
 * shots in order): they must last at least the deliverable. */
/* ---- sound ------------------------------------------------------------------------------ */
/* A music bed: `{file, gain_db, duck_db}`; fields missing here come from *inherit. */
static void parse_music_entry(struct v *v, const struct cnode *n, const char *path,
                              const struct sf_music *inherit, struct sf_music *out)
{
    static const char *const keys[] = {"file", "gain_db", "duck_db", "lengths", NULL};
    *out = *inherit;
    if (check_map(v, n, path, "a music bed", keys) != 0) return;
    const struct cnode *f = get(n, "file");
    if (f && !is_null(f)) out->file = want_path(v, f, path, "file", PATH_AUDIO, NULL);
    else if (!inherit->file)
        report(v, f ? f : n, path, "file", "missing (required); allowed: the path of a WAV, FLAC, "
               "MP3 or AAC file, relative to the campaign file");
    double x;
    if (want_num(v, n, path, "gain_db", 0, 0, -60, 20, "dB from -60 to 20 (default 0)", &x) == 1)
        out->gain_db = x;
    if (want_num(v, n, path, "duck_db", 0, 0, -60, 0,
                 "dB from -60 to 0: how far the music dips under dialogue (default -12)", &x) == 1)
        out->duck_db = x;
}

/* sequence.music: the bed of every edit, with `lengths: {"6": {...}}` for one length's own. */
static void parse_music(struct v *v, const struct cnode *seq_node, const char *path,
                        struct sf_sequence *q, struct sf_cut *cuts, int n_cuts)
{
    const struct cnode *n = get(seq_node, "music");
    const struct sf_music none = {NULL, 0, -12};
    q->music = none;
    for (int j = 0; j < n_cuts; j++)
        cuts[j].music = none;
    if (!n || is_null(n)) return;
    const char *mp = path_of(v, path, "music");
    const struct cnode *lens = get(n, "lengths");
    struct sf_music base = none;
    if (n->kind == CN_MAP && (get(n, "file") || !lens))
        parse_music_entry(v, n, mp, &none, &base);
    else if (n->kind != CN_MAP)
        check_map(v, n, mp, "a music bed", (const char *const[]){"file", NULL});
    q->music = base;
    for (int j = 0; j < n_cuts; j++)
        cuts[j].music = base;
    if (!lens || is_null(lens)) return;
    const char *lp = path_of(v, mp, "lengths");
    if (lens->kind != CN_MAP) {
        report(v, lens, lp, NULL, "expected a mapping, got %s; allowed: deliverable length in "
               "seconds -> {file, gain_db, duck_db}", got(v, lens));
        return;
    }
    const struct sf_deliverables *d = &v->c->deliv;
    for (int i = 0; i < lens->n; i++) {
        const struct cnode *k = lens->kids[2 * i];
        int hit = -1;
        for (int j = 0; k->kind == CN_SCALAR && j < d->n_lengths; j++)
            if (atoi(k->text) == d->lengths[j] && strspn(k->text, "0123456789") == k->len) hit = j;
        if (hit < 0) {
            report(v, k, path_of(v, lp, k->kind == CN_SCALAR ? k->text : "?"), NULL,
                   "no deliverable is %s s long; allowed: a length from deliverables.lengths",
                   k->kind == CN_SCALAR ? k->text : "that");
            continue;
        }
        if (hit < n_cuts)
            parse_music_entry(v, lens->kids[2 * i + 1], path_of(v, lp, k->text), &base,
                              &cuts[hit].music);
    }
}

/* Every dialogue line of sequence q, read by the speech engine: in any edit, a line that starts
 * inside the edit and runs past its end is an error (its length in the message), past the end
 * of its shot a warning (it plays over the next shot). Lines that start after an edit's end
 * are not in that edit. Skipped with SF_CAMPAIGN_NO_MEDIA. */
static void check_edits(struct v *v, const char *path, const struct sf_sequence *q,
                        const struct sf_shot *shots, int64_t (*lens)[MAX_DIALOGUE])
{
    const struct sf_deliverables *d = &v->c->deliv;
    const int n_edits = d->n_lengths ? d->n_lengths : 1;
    for (int e = 0; e < n_edits; e++) {
        int order[SF_CAMPAIGN_MAX_SHOTS], n = 0;
        int64_t edit_samples;
        char edit[32];
        if (d->n_lengths) {
            const struct sf_cut *c = &q->cuts[e];
            for (int k = 0; k < c->n_shots; k++) order[n++] = c->shots[k];
            edit_samples = sf_campaign_frame_samples(sf_campaign_delivery_frames(c->seconds, d->fps),
                                                     d->fps);
            snprintf(edit, sizeof edit, ":%02d edit", c->seconds);
        } else {
            for (int k = 0; k < q->n_shots; k++) order[n++] = k;
            edit_samples = sf_campaign_frame_samples(
                (int64_t)q->length_ms * d->fps.num / (1000LL * d->fps.den), d->fps);
            snprintf(edit, sizeof edit, "full-length edit");
        }
        int before_ms = 0;
        for (int k = 0; k < n; k++) {
            const struct sf_shot *s = &shots[order[k]];
            if (sf_campaign_line_sample(before_ms, 0, d->fps) >= edit_samples) break; /* cut off */
            const int64_t shot_end = sf_campaign_line_sample(before_ms + s->duration_ms, 0, d->fps);
            for (int i = 0; i < s->n_dialogue && i < MAX_DIALOGUE; i++) {
                const struct sf_dialogue *l = &s->dialogue[i];
                const int64_t len = lens[order[k]][i];
                if (len < 0) continue;
                const struct sf_element *el = &v->c->elements[l->speaker];
                const int64_t at = sf_campaign_line_sample(before_ms, l->start_ms, d->fps);
                const char *field = arena_printf(v->a, "%s.shots[%d].dialogue[%d]", path,
                                                 s->index, i);
                if (at >= edit_samples) continue; /* starts after the edit: not in it */
                if (at + len > edit_samples)
                    diags_add(v->d, l->line, l->col, field, NULL,
                              "the %s line of '%s' lasts %.2f s and ends %.2f s after the end of "
                              "the %s of '%s'; allowed: a shorter line, an earlier `start`, or a "
                              "faster voice `rate` for '%s'", sf_lang_name(l->language), el->id,
                              len / 48000.0, (double)(at + len - edit_samples) / 48000.0, edit,
                              q->id, el->id);
                else if (at + len > shot_end)
                    SF_WARN("campaign", "%s:%d:%d: %s: the %s line of '%s' lasts %.2f s and runs "
                            "%.2f s past the end of shot '%s' in the %s (it plays over the next "
                            "shot)", v->d->file, l->line, l->col, field,
                            sf_lang_name(l->language), el->id, len / 48000.0,
                            (double)(at + len - shot_end) / 48000.0, s->id, edit);
            }
            before_ms += s->duration_ms;
        }
    }
}

/* A line already read: its voice, text and length in samples (-1: unreadable). */
struct said {
    struct sf_speech_voice voice;
    const char *text;
    int64_t len;
};

static int same_voice(const struct sf_speech_voice *a, const struct sf_speech_voice *b)
{
    return a->language == b->language && a->pitch == b->pitch && a->rate == b->rate &&
           (a->variant == b->variant ||
            (a->variant && b->variant && strcmp(a->variant, b->variant) == 0));
}

/* Every dialogue line of the campaign, read by the speech engine once (language by language:
 * espeak-ng reloads its dictionary when the language changes; a line's samples depend on its
 * text and voice alone, so the same line in another sequence of a batch is not read again),
 * then checked in every edit of its sequence (check_edits). Runs once the rest is valid; skipped
 * with SF_CAMPAIGN_NO_MEDIA. */
static void check_dialogue_lengths(struct v *v)
{
    struct sf_campaign *c = v->c;
    const struct sf_deliverables *d = &c->deliv;
    if ((v->flags & SF_CAMPAIGN_NO_MEDIA) || c->n_shots == 0) return;
    int64_t (*lens)[MAX_DIALOGUE] = malloc((size_t)c->n_shots * sizeof *lens);
    if (!lens) {
        v->d->nomem = 1;
        return;
    }
    int n_lines = 0;
    for (int k = 0; k < c->n_shots; k++) {
        n_lines += c->shots[k].n_dialogue;
        for (int i = 0; i < MAX_DIALOGUE; i++)
            lens[k][i] = -1; /* not delivered, or unreadable */
    }
    struct said *said = malloc((size_t)(n_lines ? n_lines : 1) * sizeof *said);
    if (!said) {
        free(lens);
        v->d->nomem = 1;
        return;
    }
    for (int lang = 0; lang < SF_LANG_COUNT; lang++) {
        if (!d->languages[lang]) continue;
        int n_said = 0; /* the distinct lines of this language read so far */
        for (int k = 0; k < c->n_shots; k++) {
            const struct sf_shot *s = &c->shots[k];
            for (int i = 0; i < s->n_dialogue && i < MAX_DIALOGUE; i++) {
                const struct sf_dialogue *l = &s->dialogue[i];
                const char *text = l->phonetic ? l->phonetic : l->text;
                if ((int)l->language != lang || l->speaker < 0 || !text) continue;
                const struct sf_element *el = &c->elements[l->speaker];
                struct sf_speech_voice voice = {l->language, el->voice.variant,
                                                el->voice.pitch ? el->voice.pitch : SF_SPEECH_DEFAULT_PITCH,
                                                el->voice.rate ? el->voice.rate : SF_SPEECH_DEFAULT_RATE};
                int j = 0;
                while (j < n_said && !(strcmp(said[j].text, text) == 0 &&
                                       same_voice(&said[j].voice, &voice)))
                    j++;
                if (j == n_said) {
                    float *pcm = NULL;
                    int64_t len = -1;
                    if (sf_speech_synth(&voice, text, &pcm, &len) != SF_OK) len = -1;
                    free(pcm);
                    said[n_said++] = (struct said){voice, text, len};
                }
                lens[k][i] = said[j].len;
                if (said[j].len < 0)
                    diags_add(v->d, l->line, l->col,
                              arena_printf(v->a, "sequences[%d].shots[%d].dialogue[%d]",
                                           s->sequence, s->index, i), NULL,
                              "the speech engine cannot read this line (see the message above); "
                              "allowed: text espeak-ng %s reads", sf_speech_version());
            }
        }
    }
    for (int q = 0; q < c->n_sequences; q++) {
        const struct sf_sequence *seq = &c->sequences[q];
        if (seq->cuts)
            check_edits(v, arena_printf(v->a, "sequences[%d]", q), seq, &c->shots[seq->first_shot],
                        lens + seq->first_shot);
    }
    free(said);
    free(lens);
}

/* ---- brand layer (docs/brand.md) -------------------------------------------------------- */
static const char *const pos_list[] = {"top-left", "top", "top-right", "left", "center", "right",
                                       "bottom-left", "bottom", "bottom-right", NULL};
static const char *const font_list[] = {"sans", "sans-bold", "serif", "serif-bold", NULL};
static const char *const font_names[] = {"Noto Sans CJK", "Noto Sans CJK Bold", "Noto Serif CJK",
                                         "Noto Serif CJK Bold"};

const char *sf_brand_pos_name(enum sf_brand_pos p)
{
    return (unsigned)p < SF_BRAND_POS_COUNT ? pos_list[p] : "?";
}

const char *sf_brand_font_name(enum sf_brand_font f)
{
    return (unsigned)f < SF_BRAND_FONT_COUNT ? font_list[f] : "?";
}

/* The width of a delivered aspect over its short side (the unit of brand sizes). */
static double aspect_ratio(int a)
{
    return a == SF_ASPECT_16_9 ? 16.0 / 9.0 : 1.0;
}

/* One super's text in one language: one line, every character with a glyph in the font, and
 * narrow enough for the graphics-safe width of every aspect the sequence is delivered in.
 * faces[] caches the fonts opened so far (closed by the caller). */
static void check_super_text(struct v *v, const struct cnode *n, const char *path,
                             const struct sf_super *s, enum sf_lang lang, int seq_aspect,
                             struct sf_brand_face **faces)
{
    const unsigned char *p = (const unsigned char *)n->text;
    if (!faces[s->font] && sf_brand_face_open(s->font, &faces[s->font]) != SF_OK) {
        report(v, n, path, NULL, "the font %s (%s) cannot be read (see the message above); "
               "allowed: install Debian's fonts-noto-cjk", font_names[s->font],
               sf_brand_font_file(s->font));
        return;
    }
    double ems = 0;
    while (*p) {
        const uint32_t cp = next_cp(&p);
        double adv = 0;
        if (cp < 0x20 || cp == 0x7f) {
            report(v, n, path, NULL, "holds the control character U+%04X; allowed: one line of "
                   "text (a second line is a second super)", (unsigned)cp);
            return;
        }
        if (!sf_brand_face_glyph(faces[s->font], cp, &adv)) {
            char ch[8] = "";
            if (cp >= 0x20) { /* the character itself, UTF-8 */
                const unsigned char *q = p;
                while (q > (const unsigned char *)n->text && (q[-1] & 0xc0) == 0x80) q--;
                q--;
                snprintf(ch, sizeof ch, "%.*s", (int)(p - q), (const char *)q);
            }
            report(v, n, path, NULL, "the %s super has U+%04X '%s', which %s (%s) has no glyph for "
                   "(it would show as an empty box); allowed: characters the font draws, or "
                   "another `font`", sf_lang_name(lang), (unsigned)cp, ch, font_names[s->font],
                   sf_brand_font_file(s->font));
            return;
        }
        ems += adv;
    }
    const struct sf_deliverables *d = &v->c->deliv;
    for (int a = 0; a < SF_ASPECT_COUNT; a++) {
        if (!d->aspects[a] && a != seq_aspect) continue;
        /* text plus its box's borders (a quarter of the size each side), against 90 % */
        const double need = (ems + 0.5) * s->size, room = (1 - 2 * SF_BRAND_SAFE_MARGIN) * aspect_ratio(a);
        if (need > room)
            report(v, n, path, NULL, "the %s super is %.0f %% of the %s picture's width at size "
                   "%g; allowed: at most %.0f %% (the EBU R 95 graphics-safe width): a shorter "
                   "text or a smaller `size`", sf_lang_name(lang), 100 * need / aspect_ratio(a),
                   sf_aspect_name((enum sf_aspect)a), s->size, 100 * room / aspect_ratio(a));
    }
}

/* The logo, scaled to its height (size x the short side), must fit the graphics-safe width of
 * every aspect the sequence is delivered in: a wide logo at a large size would cross it. */
static void check_logo_width(struct v *v, const struct cnode *n, const char *path,
                             const struct sf_brand *b, int seq_aspect)
{
    if (!b->logo.file || !v->dir || (v->flags & SF_CAMPAIGN_NO_MEDIA)) return;
    const struct probe *pr = probe_media(v, b->logo.file, PATH_IMAGE); /* decoded by want_path */
    if (!pr || pr->ok != 0) return; /* already reported */
    const int w = pr->width, h = pr->height;
    const struct sf_deliverables *d = &v->c->deliv;
    for (int a = 0; a < SF_ASPECT_COUNT; a++) {
        if (!d->aspects[a] && a != seq_aspect) continue;
        const double need = b->logo.size * w / h, room = (1 - 2 * SF_BRAND_SAFE_MARGIN) * aspect_ratio(a);
        if (need > room) {
            const struct cnode *at = get(n, "size") ? get(n, "size") : n;
            report(v, at, path, "size", "%g makes the %dx%d logo %.0f %% of the %s picture's "
                   "width; allowed: at most %.0f %% (the EBU R 95 graphics-safe width), i.e. a "
                   "`size` of at most %.3f for this image", b->logo.size, w, h,
                   100 * need / aspect_ratio(a), sf_aspect_name((enum sf_aspect)a),
                   100 * room / aspect_ratio(a), room * h / w);
            return;
        }
    }
}

/* The length of edit j of q in ms (j -1: the full-length edit). */
static int edit_ms(const struct v *v, const struct sf_sequence *q, int j)
{
    return j < 0 ? q->length_ms : v->c->deliv.lengths[j] * 1000;
}

static void parse_super(struct v *v, const struct cnode *n, const char *path,
                        const struct sf_sequence *q, struct sf_super *s,
                        struct sf_brand_face **faces)
{
    static const char *const keys[] = {"text", "in", "out", "position", "font", "size", "lengths",
                                       NULL};
    const struct sf_deliverables *d = &v->c->deliv;
    s->line = n->line, s->col = n->col;
    s->position = SF_BRAND_BOTTOM;
    s->size = 0.05;
    s->lengths_mask = ~0;
    if (check_map(v, n, path, "a super", keys) != 0) return;
    int idx;
    if (want_enum(v, n, path, "position", 0, pos_list, "position", &idx) == 1) s->position = idx;
    if (want_enum(v, n, path, "font", 0, font_list, "font", &idx) == 1) s->font = idx;
    want_num(v, n, path, "size", 0, 0, 0.02, 0.2, "the font size as a fraction of the picture's "
             "short side, 0.02 to 0.2 (default 0.05)", &s->size);
    const int in_ok = want_ms(v, n, path, "in", 1, 0, 90000, "seconds from the edit's start, 0 "
                              "to 90", &s->in_ms) == 1;
    const int out_ok = want_ms(v, n, path, "out", 1, 1, 90000, "seconds from the edit's start, "
                               "after `in`", &s->out_ms) == 1;
    if (in_ok && out_ok && s->out_ms <= s->in_ms)
        report(v, get(n, "out"), path, "out", "%g s is not after `in` (%g s); allowed: an end "
               "after the start", s->out_ms / 1000.0, s->in_ms / 1000.0);
    const struct cnode *lens = get(n, "lengths");
    if (lens && !is_null(lens)) {
        const char *lp = path_of(v, path, "lengths");
        if (lens->kind != CN_SEQ || lens->n == 0) {
            report(v, lens, lp, NULL, "expected a list of deliverable lengths, got %s; allowed: "
                   "lengths from deliverables.lengths, e.g. [15]", got(v, lens));
        } else {
            s->lengths_mask = 0;
            for (int i = 0; i < lens->n; i++) {
                const struct cnode *k = lens->kids[i];
                int hit = -1;
                for (int j = 0; k->kind == CN_SCALAR && j < d->n_lengths; j++)
                    if (atoi(k->text) == d->lengths[j] && strspn(k->text, "0123456789") == k->len)
                        hit = j;
                if (hit < 0)
                    report(v, k, arena_printf(v->a, "%s[%d]", lp, i), NULL, "no deliverable is "
                           "%s s long; allowed: a length from deliverables.lengths",
                           k->kind == CN_SCALAR ? k->text : "that");
                else
                    s->lengths_mask |= 1 << hit;
            }
        }
    }
    for (int j = d->n_lengths ? 0 : -1; in_ok && out_ok && j < d->n_lengths; j++)
        if ((j < 0 || (s->lengths_mask >> j) & 1) && s->out_ms > edit_ms(v, q, j)) {
            report(v, get(n, "out"), path, "out", "%g s is after the end of the %g s edit; "
                   "allowed: at most %g s, or `lengths` without that edit", s->out_ms / 1000.0,
                   edit_ms(v, q, j) / 1000.0, edit_ms(v, q, j) / 1000.0);
            break;
        }
    const struct cnode *t = get(n, "text");
    const char *tp = path_of(v, path, "text");
    if (!t || is_null(t)) {
        report(v, t ? t : n, path, "text", "missing (required); allowed: a mapping of language "
               "-> one line of text, e.g. {en: \"Limited edition\", zh: \"限量版\"}");
        return;
    }
    if (check_map(v, t, tp, "the super's text per language", lang_list) != 0) return;
    for (int l = 0; l < SF_LANG_COUNT; l++) {
        const char *text = NULL;
        if (want_str(v, t, tp, lang_list[l], 0, 400, "one line of text", &text) != 1) continue;
        s->text[l] = text;
        if (!(v->flags & SF_CAMPAIGN_NO_MEDIA))
            check_super_text(v, get(t, lang_list[l]), path_of(v, tp, lang_list[l]), s,
                             (enum sf_lang)l, q->aspect, faces);
    }
}

/* map.file: a required image (what: "an image"); its canonical path, or NULL (reported). */
static const char *want_image_file(struct v *v, const struct cnode *map, const char *path,
                                   const char *what)
{
    const struct cnode *f = get(map, "file");
    if (f && !is_null(f)) return want_path(v, f, path, "file", PATH_IMAGE, NULL);
    report(v, f ? f : map, path, "file", "missing (required); allowed: the path of %s, relative "
           "to the campaign file", what);
    return NULL;
}

/* sequence.supers, .logo and .end_card. Before the cuts: an end card shortens what the shots
 * must cover. */
static void parse_brand(struct v *v, const struct cnode *seq_node, const char *path,
                        struct sf_sequence *q)
{
    struct sf_brand *b = &q->brand;
    const struct cnode *n = get(seq_node, "supers");
    if (n && !is_null(n)) {
        const char *sp = path_of(v, path, "supers");
        if (n->kind != CN_SEQ || n->n > SF_CAMPAIGN_MAX_SUPERS) {
            report(v, n, sp, NULL, "expected a list of at most %d supers, got %s; allowed: a list "
                   "of {text, in, out, position, font, size, lengths}", SF_CAMPAIGN_MAX_SUPERS,
                   n->kind == CN_SEQ ? arena_printf(v->a, "%d supers", n->n) : got(v, n));
        } else {
            struct sf_super *s = arena_alloc(v->a, (size_t)(n->n ? n->n : 1) * sizeof *s);
            struct sf_brand_face *faces[SF_BRAND_FONT_COUNT] = {0};
            for (int i = 0; s && i < n->n; i++)
                parse_super(v, n->kids[i], arena_printf(v->a, "%s[%d]", sp, i), q, &s[i], faces);
            for (int f = 0; f < SF_BRAND_FONT_COUNT; f++)
                sf_brand_face_close(faces[f]);
            b->supers = s;
            b->n_supers = s ? n->n : 0;
        }
    }
    n = get(seq_node, "logo");
    if (n && !is_null(n)) {
        static const char *const keys[] = {"file", "position", "opacity", "size", NULL};
        const char *lp = path_of(v, path, "logo");
        b->logo.position = SF_BRAND_TOP_RIGHT;
        b->logo.opacity = 1;
        b->logo.size = 0.1;
        if (check_map(v, n, lp, "a logo", keys) == 0) {
            int idx;
            b->logo.file = want_image_file(v, n, lp, "a PNG (with transparency) or other image");
            if (want_enum(v, n, lp, "position", 0, pos_list, "position", &idx) == 1)
                b->logo.position = idx;
            want_num(v, n, lp, "opacity", 0, 0, 0, 1, "0 (invisible) to 1 (opaque), default 1",
                     &b->logo.opacity);
            want_num(v, n, lp, "size", 0, 0, 0.02, 0.5, "the logo's height as a fraction of the "
                     "picture's short side, 0.02 to 0.5 (default 0.1)", &b->logo.size);
            check_logo_width(v, n, lp, b, q->aspect);
        }
    }
    n = get(seq_node, "end_card");
    if (n && !is_null(n)) {
        static const char *const keys[] = {"file", "duration", NULL};
        const char *ep = path_of(v, path, "end_card");
        if (check_map(v, n, ep, "an end card", keys) == 0) {
            b->end_card.file = want_image_file(v, n, ep, "an image");
            want_ms(v, n, ep, "duration", 1, 500, 10000, "seconds from 0.5 to 10: the end card "
                    "fills the last `duration` seconds of every edit", &b->end_card.duration_ms);
        }
    }
}

/* After the cuts: the end card must leave some of every edit to the shots. */
static void check_end_card(struct v *v, const struct cnode *seq_node, const char *path,
                           const struct sf_sequence *q)
{
    const struct sf_deliverables *d = &v->c->deliv;
    const int dur = q->brand.end_card.duration_ms;
    for (int j = d->n_lengths ? 0 : -1; dur && j < d->n_lengths; j++)
        if (dur >= edit_ms(v, q, j)) {
            report(v, get(get(seq_node, "end_card"), "duration"), path_of(v, path, "end_card"),
                   "duration", "%g s fills the whole %g s edit; allowed: less than the shortest "
                   "edit", dur / 1000.0, edit_ms(v, q, j) / 1000.0);
            return;
        }
}

static void parse_cuts(struct v *v, const struct cnode *seq_node, const char *path,
                       struct sf_sequence *q, const struct sf_shot *shots)
{
    const struct sf_deliverables *d = &v->c->deliv;
    const struct cnode *cuts = get(seq_node, "cuts");
    const char *cp = path_of(v, path, "cuts");
    if (cuts && !is_null(cuts) && cuts->kind != CN_MAP) {
        report(v, cuts, cp, NULL, "expected a mapping, got %s; allowed: deliverable length in "
                                  "seconds -> list of shot ids", got(v, cuts));
        cuts = NULL;
    }
    struct sf_cut *out = arena_alloc(v->a, (size_t)(d->n_lengths ? d->n_lengths : 1) * sizeof *out);
    if (!out) return;
    for (int i = 0; cuts && i < cuts->n; i++) {
        const struct cnode *k = cuts->kids[2 * i];
        if (k->kind != CN_SCALAR) continue;
        int found = 0;
        for (int j = 0; j < d->n_lengths; j++)
            found |= atoi(k->text) == d->lengths[j] && strspn(k->text, "0123456789") == k->len;
        if (!found)
            report(v, k, path_of(v, cp, k->text), NULL, "no deliverable is %s s long; allowed: a "
                   "length from deliverables.lengths", k->text);
    }
    for (int j = 0; j < d->n_lengths; j++) {
        struct sf_cut *c = &out[j];
        c->seconds = d->lengths[j];
        char key[16];
        snprintf(key, sizeof key, "%d", c->seconds);
        const struct cnode *list = cuts ? get(cuts, key) : NULL;
        const struct cnode *where = list ? list : seq_node;
        const char *wp = list ? path_of(v, cp, key) : path;
        if (list) {
            if (list->kind != CN_SEQ || list->n == 0 || list->n > SF_CAMPAIGN_MAX_SHOTS) {
                report(v, list, wp, NULL, "expected a list of 1 to %d shot ids, got %s; allowed: "
                       "ids of this sequence's shots, in play order", SF_CAMPAIGN_MAX_SHOTS,
                       list->kind == CN_SEQ ? arena_printf(v->a, "%d entries", list->n) : got(v, list));
                continue;
            }
            int bad = 0;
            for (int i = 0; i < list->n; i++) {
                const struct cnode *it = list->kids[i];
                int hit = -1;
                for (int s = 0; it->kind == CN_SCALAR && s < q->n_shots && hit < 0; s++)
                    if (shots[s].id && strcmp(shots[s].id, it->text) == 0) hit = s;
                if (hit < 0) {
                    report(v, it, arena_printf(v->a, "%s[%d]", wp, i), NULL, "%s is not a shot of "
                           "sequence '%s'; allowed: ids of this sequence's shots", got(v, it),
                           q->id ? q->id : "?");
                    bad = 1;
                    continue;
                }
                c->shots[c->n_shots++] = hit;
            }
            if (bad) continue; /* its length is not known: no second report */
        } else {
            for (int s = 0; s < q->n_shots && s < SF_CAMPAIGN_MAX_SHOTS; s++) c->shots[c->n_shots++] = s;
        }
        /* Shots must cover the deliverable: sum_ms * num >= 1000 * frames * den. */
        long long sum = 0;
        for (int i = 0; i < c->n_shots; i++) sum += shots[c->shots[i]].duration_ms;
        long long frames = sf_campaign_delivery_frames(c->seconds, d->fps);
        const long long card = sf_brand_end_card_frames(q->brand.end_card.duration_ms, d->fps);
        frames -= card < frames ? card : 0; /* the end card fills the last D seconds */
        if (c->n_shots && sum * d->fps.num < 1000LL * frames * d->fps.den)
            report(v, where, wp, NULL, "its shots last %g s, shorter than the :%02d deliverable%s; "
                   "allowed: shots lasting at least %.3f s (%lld frames at %g fps)%s",
                   sum / 1000.0, c->seconds, card ? " less its end card" : "",
                   (double)frames * d->fps.den / d->fps.num, frames,
                   (double)d->fps.num / d->fps.den, list ? "" : ", or a `cuts` entry");
    }
    q->cuts = out;
    q->n_cuts = d->n_lengths;
}

static void parse_sequence(struct v *v, const struct cnode *n, const char *path, int si)
{
    static const char *const keys[] = {"id", "title", "aspect", "length", "director", "shots",
                                       "elements", "negative", "camera", "cuts", "music", "supers",
                                       "logo", "end_card", NULL};
    struct sf_campaign *c = v->c;
    struct sf_sequence *q = &c->sequences[si];
    q->title = "";
    q->first_shot = c->n_shots;
    if (check_map(v, n, path, "a sequence", keys) != 0) return;
    want_id(v, n, path, "id", 1, &q->id);
    want_str(v, n, path, "title", 0, 256, "a short title", &q->title);
    int idx;
    if (want_enum(v, n, path, "aspect", 1, aspect_list, "aspect ratio", &idx) == 1) q->aspect = idx;
    struct seq_defaults def = {.negative = ""};
    want_str(v, n, path, "negative", 0, MAX_TEXT, "a text of what to avoid", &def.negative);
    if (want_enum(v, n, path, "camera", 0, camera_list, "camera move", &idx) == 1) def.camera = idx;
    if (get(n, "elements")) parse_element_refs(v, n, path, &def.n_elements, def.elements);

    const struct cnode *dir = get(n, "director"), *shots = get(n, "shots");
    int length_ms = 0;
    int have_len = want_ms(v, n, path, "length", 0, SF_CAMPAIGN_MIN_SHOT_MS, 90000,
                           "3 to 90 seconds (the sum of the shot durations)", &length_ms) == 1;
    struct sf_shot *first = &c->shots[c->n_shots];
    if (dir && shots && !is_null(dir) && !is_null(shots)) {
        report(v, dir, path, "director", "both `director` and `shots` are given; allowed: one of "
                                         "them");
        return;
    }
    if (dir && !is_null(dir)) {
        const char *text = NULL;
        if (want_str(v, n, path, "director", 1, MAX_TEXT * 6, "a prompt for the whole sequence",
                     &text) != 1)
            return;
        if (!have_len) {
            if (!get(n, "length"))
                report(v, n, path, "length", "missing: a director prompt needs the sequence's "
                                             "length; allowed: 3 to 90 seconds");
            return;
        }
        char *texts[SF_CAMPAIGN_MAX_SHOTS];
        int durs[SF_CAMPAIGN_MAX_SHOTS], ns = 0;
        char why[256];
        if (sf_campaign_split_director(text, length_ms, texts, durs, &ns, why, sizeof why) != 0) {
            report(v, dir, path, "director", "%s", why);
            return;
        }
        q->director = text;
        for (int i = 0; i < ns; i++) {
            struct sf_shot *s = &first[i];
            s->id = arena_printf(v->a, "shot%d", i + 1);
            s->prompt = arena_strdup(v->a, texts[i]);
            free(texts[i]);
            s->negative = def.negative;
            s->camera = def.camera;
            s->n_elements = def.n_elements;
            memcpy(s->elements, def.elements, sizeof s->elements);
            s->duration_ms = durs[i];
            s->takes = 1;
            s->from_director = 1;
            s->seed = q->id ? derived_seed(c->seed, q->id, s->id) : 0;
        }
        q->n_shots = ns;
    } else {
        const struct cnode *list = want_list(v, n, path, "shots", 1,
                                             "a list of 1 to 6 shots, or a `director` prompt");
        if (!list) return;
        const char *lp = path_of(v, path, "shots");
        if (list->n == 0 || list->n > SF_CAMPAIGN_MAX_SHOTS)
            report(v, list, lp, NULL, "%d shots; allowed: 1 to %d shots per sequence (split it "
                   "into two sequences, or use a director prompt)", list->n, SF_CAMPAIGN_MAX_SHOTS);
        int total = 0;
        for (int i = 0; i < list->n; i++) {
            struct sf_shot tmp = {0}, *s = i < SF_CAMPAIGN_MAX_SHOTS ? &first[i] : &tmp;
            const char *sp = arena_printf(v->a, "%s[%d]", lp, i);
            parse_shot(v, list->kids[i], sp, q->id ? q->id : "", &def, s);
            parse_shot_frames(v, list->kids[i], sp, first, i, s);
            if (!s->id) {
                s->id = arena_printf(v->a, "shot%d", i + 1);
                if (q->id && !get(list->kids[i], "seed")) s->seed = derived_seed(c->seed, q->id, s->id);
            }
            for (int j = 0; j < i && j < SF_CAMPAIGN_MAX_SHOTS; j++)
                if (s->id && first[j].id && strcmp(first[j].id, s->id) == 0) {
                    report(v, get(list->kids[i], "id") ? get(list->kids[i], "id") : list->kids[i],
                           sp, "id", "duplicate shot id '%s' in sequence '%s'; allowed: ids "
                           "unique within a sequence", s->id, q->id ? q->id : "?");
                    break;
                }
            total += s->duration_ms;
        }
        q->n_shots = list->n < SF_CAMPAIGN_MAX_SHOTS ? list->n : SF_CAMPAIGN_MAX_SHOTS;
        if (have_len && length_ms != total)
            report(v, get(n, "length"), path, "length", "%g s, but the shots add up to %g s; "
                   "allowed: the sum of the shot durations, or no `length`",
                   length_ms / 1000.0, total / 1000.0);
    }
    int sum = 0;
    for (int i = 0; i < q->n_shots; i++) {
        first[i].sequence = si;
        first[i].index = i;
        const struct sf_shot *p = first[i].continues; /* earlier: its frames are known */
        first[i].lead = p ? sf_campaign_continue_lead(p->frames, p->lead, p->duration_ms,
                                                      first[i].continue_frames)
                          : 0;
        first[i].frames = sf_campaign_frames_for(first[i].duration_ms, first[i].lead);
        sum += first[i].duration_ms;
    }
    q->length_ms = sum;
    c->n_shots += q->n_shots;
    parse_brand(v, n, path, q);
    parse_cuts(v, n, path, q, first);
    if (q->cuts) parse_music(v, n, path, q, (struct sf_cut *)q->cuts, q->n_cuts);
    check_end_card(v, n, path, q);
}

static void parse_sequences(struct v *v, const struct cnode *root)
{
    const struct cnode *n = want_list(v, root, "", "sequences", 1,
                                      "a list of sequences (id, aspect, shots or director)");
    if (!n) return;
    if (n->n == 0 || n->n > SF_CAMPAIGN_MAX_SEQUENCES) {
        report(v, n, "sequences", NULL, "%d sequences; allowed: 1 to %d (split a larger batch "
               "into several campaigns)", n->n, SF_CAMPAIGN_MAX_SEQUENCES);
        if (n->n == 0) return;
    }
    int ns = n->n < SF_CAMPAIGN_MAX_SEQUENCES ? n->n : SF_CAMPAIGN_MAX_SEQUENCES;
    v->c->sequences = arena_alloc(v->a, (size_t)ns * sizeof *v->c->sequences);
    v->c->shots = arena_alloc(v->a, (size_t)ns * SF_CAMPAIGN_MAX_SHOTS * sizeof *v->c->shots);
    if (!v->c->sequences || !v->c->shots) return;
    for (int i = 0; i < ns; i++) {
        const char *path = arena_printf(v->a, "sequences[%d]", i);
        parse_sequence(v, n->kids[i], path, i);
        v->c->n_sequences = i + 1;
        const char *id = v->c->sequences[i].id;
        for (int j = 0; id && j < i; j++)
            if (v->c->sequences[j].id && strcmp(v->c->sequences[j].id, id) == 0) {
                report(v, get(n->kids[i], "id"), path, "id", "duplicate sequence id '%s'; allowed: "
                       "ids unique among sequences", id);
                break;
            }
    }
}

/* ---- top level -------------------------------------------------------------------------- */
static void validate(struct v *v, const struct cnode *root)
{
    static const char *const keys[] = {"version", "campaign", "title", "seed", "language",
                                       "negative", "model", "tiers", "elements", "sequences",
                                       "deliverables", NULL};
    struct sf_campaign *c = v->c;
    c->title = "";
    if (check_map(v, root, "", "a campaign", keys) != 0) return;
    double d;
    if (want_num(v, root, "", "version", 0, 1, 1, 1, "1 (the only format version)", &d) == -1) return;
    want_id(v, root, "", "campaign", 1, &c->name);
    want_str(v, root, "", "title", 0, 256, "a short title", &c->title);
    if (want_num(v, root, "", "seed", 0, 1, 0, 4294967295.0,
                 "a whole number from 0 to 4294967295 (default 0)", &d) == 1)
        c->seed = (uint32_t)d;
    int idx;
    if (want_enum(v, root, "", "language", 0, lang_list, "language", &idx) == 1) c->language = idx;
    const char *neg = "";
    want_str(v, root, "", "negative", 0, MAX_TEXT, "a text of what to avoid in every shot", &neg);
    parse_model(v, get(root, "model"));
    parse_tiers(v, get(root, "tiers"));
    parse_elements(v, get(root, "elements"));
    parse_deliverables(v, get(root, "deliverables"));
    parse_sequences(v, root);
    /* Default aspects: those of the sequences. Campaign-wide negative prompt fills the gaps. */
    int any = 0;
    for (int i = 0; i < SF_ASPECT_COUNT; i++) any |= c->deliv.aspects[i];
    for (int i = 0; !any && i < c->n_sequences; i++) c->deliv.aspects[c->sequences[i].aspect] = 1;
    for (int i = 0; i < c->n_shots; i++) {
        struct sf_shot *s = &c->shots[i];
        if (!s->negative || !*s->negative) s->negative = neg;
        if (s->prompt) s->effective_prompt = effective_prompt(v, s);
    }
    if (sf_diags_count(v->d) == 0) check_dialogue_lengths(v);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *d;
    if (!slash) d = strdup(".");
    else if (slash == path) d = strdup("/");
    else d = strndup(path, (size_t)(slash - path));
    if (!d) return NULL;
    char *real = realpath(d, NULL);
    free(d);
    return real;
}

int sf_campaign_load_buffer(const char *name, const char *base_dir, const char *data, size_t len,
                            int json, unsigned flags, struct sf_campaign **out,
                            struct sf_diags **diags)
{
    *out = NULL;
    struct sf_diags *d = diags_create(name);
    *diags = d;
    struct sf_campaign *c = calloc(1, sizeof *c);
    if (!d || !c) {
        free(c);
        return SF_E_NOMEM;
    }
    char *real = base_dir ? realpath(base_dir, NULL) : NULL;
    if (base_dir && !real)
        diags_add(d, 0, 0, "(file)", NULL, "the campaign directory '%s' cannot be resolved (%s); "
                  "allowed: an existing directory", base_dir, strerror(errno));
    c->dir = real ? arena_strdup(&c->a, real) : NULL;
    free(real);
    struct v v = {.d = d, .c = c, .a = &c->a, .dir = c->dir, .flags = flags};
    struct cnode *root = NULL;
    if (len > MAX_FILE_BYTES)
        diags_add(d, 0, 0, "(file)", NULL, "%zu bytes is too large; allowed: at most %u bytes",
                  len, MAX_FILE_BYTES);
    else
        root = campaign_parse_tree(data, len, json, &c->a, d);
    if (root) validate(&v, root);
    diags_sort(d);
    if (c->a.failed || d->nomem) {
        sf_campaign_destroy(c);
        return SF_E_NOMEM;
    }
    if (sf_diags_count(d)) {
        sf_campaign_destroy(c);
        return SF_E_VALIDATION;
    }
    *out = c;
    return SF_OK;
}

int sf_campaign_load(const char *path, unsigned flags, struct sf_campaign **out,
                     struct sf_diags **diags)
{
    *out = NULL;
    *diags = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int err = errno;
        struct sf_diags *d = diags_create(path);
        *diags = d;
        if (!d) return SF_E_NOMEM;
        diags_add(d, 0, 0, "(file)", NULL, "cannot open: %s; allowed: a readable YAML or JSON file",
                  strerror(err));
        return SF_E_IO;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    int st = SF_OK;
    do {
        if (len == cap) {
            cap = cap ? 2 * cap : 65536;
            char *nb = cap <= 2 * (size_t)MAX_FILE_BYTES ? realloc(buf, cap) : NULL;
            if (!nb) break; /* over the limit: the loader reports the size */
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    int read_err = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (read_err) {
        struct sf_diags *d = diags_create(path);
        *diags = d;
        if (d)
            diags_add(d, 0, 0, "(file)", NULL, "cannot read: %s; allowed: a readable YAML or JSON "
                      "file", strerror(read_err));
        free(buf);
        return d ? SF_E_IO : SF_E_NOMEM;
    }
    size_t pl = strlen(path);
    int json = pl >= 5 && strcmp(path + pl - 5, ".json") == 0;
    char *dir = dir_of(path);
    st = sf_campaign_load_buffer(path, dir ? dir : ".", buf ? buf : "", len, json, flags, out, diags);
    free(dir);
    free(buf);
    return st;
}

void sf_campaign_destroy(struct sf_campaign *c)
{
    if (!c) return;
    arena_free(&c->a);
    free(c);
}

/* ---- accessors -------------------------------------------------------------------------- */
const char *sf_campaign_name(const struct sf_campaign *c) { return c->name; }
const char *sf_campaign_title(const struct sf_campaign *c) { return c->title; }
const char *sf_campaign_dir(const struct sf_campaign *c) { return c->dir; }
uint32_t sf_campaign_seed(const struct sf_campaign *c) { return c->seed; }
enum sf_lang sf_campaign_prompt_language(const struct sf_campaign *c) { return c->language; }
int sf_campaign_n_elements(const struct sf_campaign *c) { return c->n_elements; }
int sf_campaign_n_sequences(const struct sf_campaign *c) { return c->n_sequences; }
int sf_campaign_n_shots(const struct sf_campaign *c) { return c->n_shots; }
const struct sf_model_settings *sf_campaign_model(const struct sf_campaign *c) { return &c->model; }
const struct sf_deliverables *sf_campaign_deliverables(const struct sf_campaign *c) { return &c->deliv; }

const struct sf_element *sf_campaign_element(const struct sf_campaign *c, int i)
{
    SF_ASSERT(i >= 0 && i < c->n_elements);
    return &c->elements[i];
}

const struct sf_sequence *sf_campaign_sequence(const struct sf_campaign *c, int i)
{
    SF_ASSERT(i >= 0 && i < c->n_sequences);
    return &c->sequences[i];
}

const struct sf_shot *sf_campaign_shot(const struct sf_campaign *c, int i)
{
    SF_ASSERT(i >= 0 && i < c->n_shots);
    return &c->shots[i];
}

const struct sf_tier *sf_campaign_tier(const struct sf_campaign *c, enum sf_tier_kind t)
{
    SF_ASSERT((unsigned)t < SF_TIER_COUNT);
    return &c->tiers[t];
}

void sf_campaign_tier_size(const struct sf_tier *t, enum sf_aspect a, int *width, int *height)
{
    if (a == SF_ASPECT_9_16) {
        *width = t->height;
        *height = t->width;
    } else if (a == SF_ASPECT_1_1) {
        int side = (int)sqrt((double)t->width * t->height);
        side -= side % 16;
        *width = *height = side;
    } else {
        *width = t->width;
        *height = t->height;
    }
}
