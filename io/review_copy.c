/* review_copy.c — review copies (sf_review_copy.h). Called by the review unit kind
 * (coordinator/unit_review.c) on a CPU lane. The source is decoded through one libavfilter chain
 * of three drawtext filters and a conversion to RGB, and every picture goes to the deliver
 * writer, which converts it back to BT.709 Y'CbCr and encodes it. The subtle thing: the
 * timecode is drawn by drawtext's own timecode counter (timecode + rate), so it advances one
 * label per frame from the file's first timecode, drop-frame labels included. */
#define _POSIX_C_SOURCE 200809L
#include "sf_review_copy.h"
#include "sf_avfilter.h"
#include "sf_log.h"
#include "sf_status.h"

#include <libavutil/pixfmt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct copy {
    struct sf_deliver *d;
    uint8_t *rgb; /* one packed picture */
    const struct sf_review_copy_opts *o;
    int64_t frames;
};

static int on_frame(void *arg, AVFrame *f, AVRational tb)
{
    (void)tb;
    struct copy *c = arg;
    const size_t row = (size_t)f->width * 3;
    if (!c->rgb && !(c->rgb = malloc(row * (size_t)f->height))) return SF_E_NOMEM;
    for (int y = 0; y < f->height; y++)
        memcpy(c->rgb + row * (size_t)y, f->data[0] + (size_t)y * f->linesize[0], row);
    int st = sf_deliver_write(c->d, c->rgb, f->width, f->height);
    if (st) c->d = NULL; /* aborted by the writer */
    if (++c->frames % 16 == 0 && c->o->progress) c->o->progress(c->o->progress_arg, c->frames);
    return st;
}

int sf_review_copy(const char *src, const char *dst, const struct sf_review_copy_opts *o)
{
    if (access(SF_REVIEW_COPY_FONT, R_OK) != 0) {
        SF_ERROR("review", "%s: the burn-in font is missing; install Debian's fonts-noto-mono "
                 "(scripts/setup.sh does)", SF_REVIEW_COPY_FONT);
        return SF_E_NOTFOUND;
    }
    if (o->subtitles && access(SF_REVIEW_COPY_SUB_FONT, R_OK) != 0) {
        SF_ERROR("review", "%s: the subtitles' font is missing; install Debian's fonts-noto-cjk "
                 "(scripts/setup.sh does)", SF_REVIEW_COPY_SUB_FONT);
        return SF_E_NOTFOUND;
    }
    const struct sf_deliver_opts *d = &o->deliver;
    char size[16], margin[16], rate[32], tc[16], right[48], bottom[48];
    const int fs = d->height / 18 > 12 ? d->height / 18 : 12; /* font size, pixels */
    snprintf(size, sizeof size, "%d", fs);
    snprintf(margin, sizeof margin, "%d", fs);
    snprintf(right, sizeof right, "w-tw-%d", fs);
    snprintf(bottom, sizeof bottom, "h-th-%d", fs * 3 / 2);
    snprintf(rate, sizeof rate, "%d/%d", d->fps.num, d->fps.den);
    snprintf(tc, sizeof tc, "%s", d->timecode);
    const char *label_kv[] = {"fontfile", SF_REVIEW_COPY_FONT, "text", o->label, "fontsize", size,
                              "fontcolor", "white", "box", "1", "boxcolor", "black@0.6",
                              "boxborderw", "4", "x", margin, "y", margin, NULL};
    const char *tc_kv[] = {"fontfile", SF_REVIEW_COPY_FONT, "timecode", tc, "rate", rate,
                           "fontsize", size, "fontcolor", "white", "box", "1", "boxcolor",
                           "black@0.6", "boxborderw", "4", "x", right, "y", margin, NULL};
    const char *nfa_kv[] = {"fontfile", SF_REVIEW_COPY_FONT, "text", "NOT FOR AIR", "fontsize",
                            size, "fontcolor", "0xffd000", "box", "1", "boxcolor", "black@0.7",
                            "boxborderw", "6", "x", "(w-tw)/2", "y", bottom, NULL};
    /* subtitles above NOT FOR AIR: libass sizes in a 288-line script space */
    char style[160];
    snprintf(style, sizeof style, "FontName=%s,FontSize=%d,MarginV=%d,Outline=2,Shadow=0",
             SF_REVIEW_COPY_SUB_FAMILY, 22, 288 * (fs * 4) / d->height);
    const char *sub_kv[] = {"filename", o->subtitles, "fontsdir",
                            "/usr/share/fonts/opentype/noto", "force_style", style, NULL};
    const struct sf_avfilter_spec chain[] = {{"subtitles", sub_kv},
                                             {"drawtext", label_kv},
                                             {"drawtext", tc_kv},
                                             {"drawtext", nfa_kv}};
    const int first = o->subtitles ? 0 : 1;
    struct copy c = {.o = o};
    const char *paths[] = {dst};
    int st = sf_deliver_open(d, paths, 1, &c.d);
    if (st == SF_OK && o->sound) sf_deliver_set_sound(c.d, 0, o->sound);
    if (st == SF_OK)
        st = sf_avfilter_decode(src, chain + first, 4 - first, AV_PIX_FMT_RGB24, on_frame, &c,
                                NULL);
    if (st == SF_OK && c.d) {
        st = sf_deliver_commit(c.d); /* checks that exactly deliver.frames pictures came */
        c.d = NULL;
    }
    sf_deliver_abort(c.d);
    free(c.rgb);
    return st;
}
