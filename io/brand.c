/* brand.c — the brand layer (sf_brand.h): FreeType for the validator's glyph and width checks
 * (io/campaign.c), and one libavfilter graph per delivered file for the deliver writer
 * (io/deliver.c), which the assembly (coordinator/unit_assemble.c) opens per language when the
 * sequence has a brand layer. The graph is
 *
 *   buffer -> [overlay logo] -> [overlay end card, from frame F] -> [drawtext super]... -> format
 *   movie(logo) -> scale -> format rgba -> colorchannelmixer aa=opacity -^
 *   movie(end card) -> scale (cover) -> crop --------------------------------^
 *
 * in the encoder's pixel format, built filter by filter (sf_avfilter_add: text and paths need no
 * escaping). The subtle thing: times are frame numbers (`n` in the filters' `enable`), never
 * seconds, so an end card starts on exactly the frame the validator counted on, at any rate. */
#define _POSIX_C_SOURCE 200809L
#include "sf_brand.h"
#include "sf_avfilter.h"
#include "sf_errors.h"
#include "sf_log.h"
#include "sf_status.h"

#include <ft2build.h>
#include FT_FREETYPE_H

#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/pixdesc.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const font_files[SF_BRAND_FONT_COUNT] = {
    [SF_BRAND_SANS] = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    [SF_BRAND_SANS_BOLD] = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    [SF_BRAND_SERIF] = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    [SF_BRAND_SERIF_BOLD] = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
};

const char *sf_brand_font_file(enum sf_brand_font f)
{
    SF_ASSERT((unsigned)f < SF_BRAND_FONT_COUNT);
    return font_files[f];
}

static int font_present(enum sf_brand_font f)
{
    if (access(font_files[f], R_OK) == 0) return SF_OK;
    SF_ERROR("brand", "%s: the supers' font is missing; install Debian's fonts-noto-cjk "
             "(scripts/setup.sh does)", font_files[f]);
    return SF_E_NOTFOUND;
}

/* ---- FreeType: glyphs and widths ------------------------------------------------------------ */

struct sf_brand_face {
    FT_Library lib;
    FT_Face face;
};

int sf_brand_face_open(enum sf_brand_font f, struct sf_brand_face **out)
{
    *out = NULL;
    int st = font_present(f);
    if (st) return st;
    struct sf_brand_face *bf = calloc(1, sizeof *bf);
    if (!bf) return SF_E_NOMEM;
    FT_Error e = FT_Init_FreeType(&bf->lib);
    if (!e) e = FT_New_Face(bf->lib, font_files[f], 0, &bf->face);
    if (e) {
        SF_ERROR("brand", "%s: FreeType cannot read it (%s); reinstall Debian's fonts-noto-cjk",
                 font_files[f], FT_Error_String(e) ? FT_Error_String(e) : "error");
        sf_brand_face_close(bf);
        return SF_E_FORMAT;
    }
    *out = bf;
    return SF_OK;
}

int sf_brand_face_glyph(struct sf_brand_face *bf, uint32_t cp, double *ems)
{
    const FT_UInt gi = FT_Get_Char_Index(bf->face, cp);
    if (gi == 0) return 0;
    if (ems) { /* unscaled: font units over units per em */
        *ems = 0;
        if (FT_Load_Glyph(bf->face, gi, FT_LOAD_NO_SCALE) == 0 && bf->face->units_per_EM)
            *ems = (double)bf->face->glyph->advance.x / bf->face->units_per_EM;
    }
    return 1;
}

void sf_brand_face_close(struct sf_brand_face *bf)
{
    if (!bf) return;
    if (bf->face) FT_Done_Face(bf->face);
    if (bf->lib) FT_Done_FreeType(bf->lib);
    free(bf);
}

/* ---- time ----------------------------------------------------------------------------------- */

int64_t sf_brand_frame_at(int64_t ms, struct sf_fps fps)
{
    const int64_t d = 1000LL * fps.den;
    return (ms * fps.num + d - 1) / d;
}

int64_t sf_brand_end_card_frames(int duration_ms, struct sf_fps fps)
{
    const int64_t nominal = (fps.num + fps.den - 1) / fps.den;
    return ((int64_t)duration_ms * nominal + 500) / 1000;
}

static int shown_in(const struct sf_super *s, int length)
{
    return length < 0 || (s->lengths_mask >> length) & 1;
}

int sf_brand_draws(const struct sf_brand *b, enum sf_lang lang, int length)
{
    if (b->logo.file || b->end_card.file) return 1;
    for (int i = 0; i < b->n_supers; i++)
        if (b->supers[i].text[lang] && shown_in(&b->supers[i], length)) return 1;
    return 0;
}

int sf_brand_per_language(const struct sf_brand *b, int length)
{
    for (int i = 0; i < b->n_supers; i++)
        if (shown_in(&b->supers[i], length)) return 1;
    return 0;
}

/* ---- the graph ------------------------------------------------------------------------------ */

struct sf_brand_graph {
    AVFilterGraph *g;
    AVFilterContext *src, *sink;
};

void sf_brand_graph_destroy(struct sf_brand_graph *bg)
{
    if (!bg) return;
    avfilter_graph_free(&bg->g);
    free(bg);
}

/* x and y of an object of size ow x oh (expressions of the filter's own names for them) at
 * position p inside the safe area of a w x h picture, `pad` pixels further in. */
static void place(enum sf_brand_pos p, int w, int h, int pad, const char *ow, const char *oh,
                  char *x, char *y, size_t n)
{
    const int mx = (int)lround(SF_BRAND_SAFE_MARGIN * w) + pad;
    const int my = (int)lround(SF_BRAND_SAFE_MARGIN * h) + pad;
    const int col = (int)p % 3, row = (int)p / 3;
    if (col == 0) snprintf(x, n, "%d", mx);
    else if (col == 1) snprintf(x, n, "(%d-%s)/2", w, ow);
    else snprintf(x, n, "%d-%s", w - mx, ow);
    if (row == 0) snprintf(y, n, "%d", my);
    else if (row == 1) snprintf(y, n, "(%d-%s)/2", h, oh);
    else snprintf(y, n, "%d-%s", h - my, oh);
}

/* overlay's `format` for the pictures' pixel format (the main input is never converted), and
 * the format with alpha its second input is given in. */
static const char *overlay_format(int pix_fmt, const char **alpha_fmt)
{
    switch (pix_fmt) {
    case AV_PIX_FMT_YUV420P: *alpha_fmt = "yuva420p"; return "yuv420";
    case AV_PIX_FMT_YUV422P10LE: *alpha_fmt = "yuva422p10le"; return "yuv422p10";
    default: return NULL;
    }
}

/* movie(file) -> chain[0..n) -> BT.709 limited-range Y'CbCr with alpha, into input 1 of
 * `over`. The conversion is asked for here: libavfilter's own would use BT.601. */
static int second_input(AVFilterGraph *g, const char *file, const struct sf_avfilter_spec *chain,
                        int n, const char *alpha_fmt, AVFilterContext *over)
{
    const char *movie_kv[] = {"filename", file, NULL};
    const char *conv_kv[] = {"out_color_matrix", "bt709", "out_range", "tv", NULL};
    const char *fmt_kv[] = {"pix_fmts", alpha_fmt, NULL};
    AVFilterContext *last = NULL;
    int st = sf_avfilter_add(g, &last, &(struct sf_avfilter_spec){"movie", movie_kv});
    for (int i = 0; st == SF_OK && i < n; i++)
        st = sf_avfilter_add(g, &last, &chain[i]);
    if (st == SF_OK) st = sf_avfilter_add(g, &last, &(struct sf_avfilter_spec){"scale", conv_kv});
    if (st == SF_OK) st = sf_avfilter_add(g, &last, &(struct sf_avfilter_spec){"format", fmt_kv});
    if (st == SF_OK) st = sf_av_check(avfilter_link(last, 0, over, 1), "link the brand layer");
    return st;
}

int sf_brand_graph_create(const struct sf_brand *b, const struct sf_brand_where *w,
                          struct sf_brand_graph **out)
{
    *out = NULL;
    if (!sf_brand_draws(b, w->lang, w->length)) return SF_OK;
    const char *afmt = NULL, *ofmt = overlay_format(w->pix_fmt, &afmt);
    const char *pix = av_get_pix_fmt_name(w->pix_fmt);
    if (!ofmt || !pix) {
        SF_ERROR("brand", "the brand layer cannot be drawn on %s pictures", pix ? pix : "these");
        return SF_E_UNSUPPORTED;
    }
    struct sf_brand_graph *bg = calloc(1, sizeof *bg);
    if (!bg) return SF_E_NOMEM;
    int st = SF_OK;
    AVFilterContext *last = NULL;
    char size[32], tb[48], x[64], y[64], en[64], lh[16], op[32], wh[2][16];
    if (!(bg->g = avfilter_graph_alloc())) {
        st = SF_E_NOMEM;
        goto out;
    }
    bg->g->nb_threads = 1;
    const int short_side = w->width < w->height ? w->width : w->height; /* brand sizes' unit */
    snprintf(size, sizeof size, "%dx%d", w->width, w->height);
    snprintf(tb, sizeof tb, "%d/%d", w->fps.den, w->fps.num);
    const char *buf_kv[] = {"video_size", size, "pix_fmt", pix, "time_base", tb,
                            "pixel_aspect", "1/1", NULL};
    SF_TRY(st, sf_avfilter_add(bg->g, &last, &(struct sf_avfilter_spec){"buffer", buf_kv}));
    bg->src = last;

    if (b->logo.file) { /* scaled to its height, faded to its opacity, at its position */
        snprintf(lh, sizeof lh, "%d", (int)lround(b->logo.size * short_side));
        snprintf(op, sizeof op, "%.4f", b->logo.opacity);
        place(b->logo.position, w->width, w->height, 0, "w", "h", x, y, sizeof x);
        const char *scale_kv[] = {"w", "-2", "h", lh, "flags", "lanczos", NULL};
        const char *rgba_kv[] = {"pix_fmts", "rgba", NULL};
        const char *fade_kv[] = {"aa", op, NULL};
        const char *ov_kv[] = {"x", x, "y", y, "format", ofmt, "eof_action", "repeat", NULL};
        const struct sf_avfilter_spec chain[] = {
            {"scale", scale_kv}, {"format", rgba_kv}, {"colorchannelmixer", fade_kv}};
        SF_TRY(st, sf_avfilter_add(bg->g, &last, &(struct sf_avfilter_spec){"overlay", ov_kv}));
        SF_TRY(st, second_input(bg->g, b->logo.file, chain, 3, afmt, last));
    }
    if (b->end_card.file) { /* covers the picture from its first frame to the end */
        const int64_t first = w->frames - sf_brand_end_card_frames(b->end_card.duration_ms, w->fps);
        snprintf(en, sizeof en, "gte(n,%lld)", (long long)(first > 0 ? first : 0));
        snprintf(wh[0], sizeof wh[0], "%d", w->width);
        snprintf(wh[1], sizeof wh[1], "%d", w->height);
        const char *scale_kv[] = {"w", wh[0], "h", wh[1], "force_original_aspect_ratio",
                                  "increase", "flags", "lanczos", NULL};
        const char *crop_kv[] = {"w", wh[0], "h", wh[1], NULL};
        const char *ov_kv[] = {"x", "0", "y", "0", "format", ofmt, "eof_action", "repeat",
                               "enable", en, NULL};
        const struct sf_avfilter_spec chain[] = {{"scale", scale_kv}, {"crop", crop_kv}};
        SF_TRY(st, sf_avfilter_add(bg->g, &last, &(struct sf_avfilter_spec){"overlay", ov_kv}));
        SF_TRY(st, second_input(bg->g, b->end_card.file, chain, 2, afmt, last));
    }
    for (int i = 0; i < b->n_supers; i++) { /* white on a translucent box, over everything */
        const struct sf_super *s = &b->supers[i];
        if (!s->text[w->lang] || !shown_in(s, w->length)) continue;
        SF_TRY(st, font_present(s->font));
        const int px = (int)lround(s->size * short_side), pad = px / 4 > 1 ? px / 4 : 1;
        char fs[16], bw[16];
        snprintf(fs, sizeof fs, "%d", px);
        snprintf(bw, sizeof bw, "%d", pad);
        snprintf(en, sizeof en, "between(n,%lld,%lld)",
                 (long long)sf_brand_frame_at(s->in_ms, w->fps),
                 (long long)sf_brand_frame_at(s->out_ms, w->fps) - 1);
        place(s->position, w->width, w->height, pad, "tw", "th", x, y, sizeof x);
        const char *dt_kv[] = {"fontfile", font_files[s->font], "text", s->text[w->lang],
                               "expansion", "none", "fontsize", fs, "fontcolor", "white",
                               "box", "1", "boxcolor", "black@0.5", "boxborderw", bw,
                               "x", x, "y", y, "enable", en, NULL};
        SF_TRY(st, sf_avfilter_add(bg->g, &last, &(struct sf_avfilter_spec){"drawtext", dt_kv}));
    }
    const char *fmt_kv[] = {"pix_fmts", pix, NULL};
    SF_TRY(st, sf_avfilter_add(bg->g, &last, &(struct sf_avfilter_spec){"format", fmt_kv}));
    SF_TRY(st, sf_avfilter_add(bg->g, &last, &(struct sf_avfilter_spec){"buffersink", NULL}));
    bg->sink = last;
    SF_TRY(st, sf_av_check(avfilter_graph_config(bg->g, NULL), "set up the brand layer"));
    *out = bg;
    return SF_OK;
out:
    sf_brand_graph_destroy(bg);
    return st;
}

int sf_brand_graph_apply(struct sf_brand_graph *bg, const AVFrame *in, AVFrame *out)
{
    int st = SF_OK;
    av_frame_unref(out);
    SF_TRY(st, sf_av_check(av_buffersrc_add_frame_flags(bg->src, (AVFrame *)in,
                                                        AV_BUFFERSRC_FLAG_KEEP_REF),
                           "draw the brand layer"));
    const int rc = av_buffersink_get_frame(bg->sink, out);
    if (rc == AVERROR(EAGAIN)) { /* every filter in the graph gives one picture per picture */
        SF_ERROR("brand", "the brand layer's filters held a picture back");
        return SF_E_AV;
    }
    SF_TRY(st, sf_av_check(rc, "draw the brand layer"));
out:
    return st;
}
