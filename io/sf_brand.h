/* sf_brand.h — the brand layer (docs/brand.md): a sequence's supers, logo and end card, checked
 * at validation (every character has a glyph in the super's font, every super fits the
 * graphics-safe width) and drawn by libavfilter (drawtext in Debian's Noto CJK fonts, overlay)
 * into every delivered picture, inside the EBU R 95 graphics-safe area (5 % margins).
 *
 *   struct sf_brand_graph *g;
 *   SF_TRY(st, sf_brand_graph_create(&seq->brand, &where, &g)); // NULL *g: nothing to draw
 *   SF_TRY(st, sf_brand_graph_apply(g, frame, branded));        // one picture in, one out
 *   sf_brand_graph_destroy(g);
 *
 * The picture goes through the layer in the encoder's own pixel format (yuv420p for H.264,
 * yuv422p10le for ProRes and FFV1), so pixels outside what the layer draws are never touched.
 * Full build only (libavfilter, FreeType). */
#ifndef SF_BRAND_H
#define SF_BRAND_H

#include <stdint.h>

#include <libavutil/frame.h>

#include "sf_campaign.h"

/* EBU R 95 graphics-safe area: 5 % of the width and height from every edge (the same as SMPTE
 * ST 2046-1's title-safe area). */
#define SF_BRAND_SAFE_MARGIN 0.05

/* The font file of f (Debian's fonts-noto-cjk; face 0 of the collection, Noto Sans/Serif CJK JP:
 * Latin, Greek, Cyrillic, Chinese, Japanese and Korean). */
const char *sf_brand_font_file(enum sf_brand_font f);

/* A font opened with FreeType, to check characters at validation. */
struct sf_brand_face;
/* Opens face 0 of font f. SF_E_NOTFOUND (logged, naming the package) when the file is missing,
 * SF_E_FORMAT (logged) when FreeType cannot read it, SF_E_NOMEM. */
int sf_brand_face_open(enum sf_brand_font f, struct sf_brand_face **out);
/* 1 when the face has a glyph for code point cp (with its advance width in ems in *ems, may be
 * NULL), 0 when it has none (an empty box on air). */
int sf_brand_face_glyph(struct sf_brand_face *face, uint32_t cp, double *ems);
void sf_brand_face_close(struct sf_brand_face *face);

/* Delivery frames: the first frame at or after ms on a time line at fps. */
int64_t sf_brand_frame_at(int64_t ms, struct sf_fps fps);
/* Frames of an end card of duration_ms: duration x the nominal rate, like deliverable lengths
 * (a 2 s card is 60 frames at 29.97), rounded to the nearest frame. */
int64_t sf_brand_end_card_frames(int duration_ms, struct sf_fps fps);

/* Where a layer is drawn: one language of one edit (length index, -1 the full-length edit). */
struct sf_brand_where {
    enum sf_lang lang;
    int length;            /* index into deliverables.lengths, -1: the full-length edit */
    int64_t frames;        /* frames of the edit */
    struct sf_fps fps;
    int width, height;     /* the delivered picture */
    int pix_fmt;           /* enum AVPixelFormat of the pictures (yuv420p, yuv422p10le) */
};

/* 1 when the layer draws something in that language and edit. */
int sf_brand_draws(const struct sf_brand *b, enum sf_lang lang, int length);

/* 1 when a super is shown in that edit: the languages' pictures differ. */
int sf_brand_per_language(const struct sf_brand *b, int length);

struct sf_brand_graph;

/* Builds the filter graph of b for w; *out NULL (and SF_OK) when it draws nothing there. Fails
 * with SF_E_NOTFOUND (a font missing, logged with its package), SF_E_AV / SF_E_UNSUPPORTED
 * (logged with libav's message), SF_E_NOMEM. The caller destroys *out. */
int sf_brand_graph_create(const struct sf_brand *b, const struct sf_brand_where *w,
                          struct sf_brand_graph **out);
/* Draws the layer on the next picture of the edit (pictures must come in order, from frame
 * 0): in is borrowed, out receives the drawn picture (unref'd first; the caller unrefs it). */
int sf_brand_graph_apply(struct sf_brand_graph *g, const AVFrame *in, AVFrame *out);
void sf_brand_graph_destroy(struct sf_brand_graph *g);

#endif
