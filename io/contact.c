/* contact.c — contact sheets (sf_contact.h). Called by the contact unit kind
 * (coordinator/unit_contact.c) on a CPU lane. The frames are pushed into one libavfilter chain,
 * buffer -> scale -> pad -> drawtext -> tile -> buffersink, in row-major order (a row's label
 * card, then its frames), and the tile filter hands back the whole sheet as one picture. The
 * subtle thing: every tile's caption travels as the frame's own metadata (`sf.label`), which
 * drawtext expands with %{metadata:sf.label}, so one drawtext instance labels every tile
 * differently. */
#define _POSIX_C_SOURCE 200809L
#include "sf_contact.h"
#include "sf_avfilter.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_log.h"
#include "sf_shot_file.h"
#include "sf_status.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/dict.h>
#include <libavutil/opt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PER_ROW 12

/* One W x H RGB picture into the chain, captioned. */
static int push(AVFilterContext *src, AVFrame *fr, const uint8_t *rgb, int w, int h,
                const char *caption, int64_t pts)
{
    int st = sf_av_check(av_frame_make_writable(fr), "make a contact frame writable");
    if (st) return st;
    for (int y = 0; y < h; y++)
        memcpy(fr->data[0] + (size_t)y * fr->linesize[0], rgb + (size_t)y * w * 3, (size_t)w * 3);
    av_dict_set(&fr->metadata, "sf.label", caption, 0);
    fr->pts = pts;
    AVFrame *ref = av_frame_clone(fr);
    if (!ref) return SF_E_NOMEM;
    st = sf_av_check(av_buffersrc_add_frame(src, ref), "add a frame to the contact sheet");
    av_frame_free(&ref);
    av_dict_free(&fr->metadata);
    return st;
}

/* The sheet picture as PNG bytes, published at path. */
static int write_png(const AVFrame *sheet, const char *path)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    if (!codec) {
        SF_ERROR("contact", "%s: this FFmpeg has no PNG encoder", path);
        return SF_E_UNSUPPORTED;
    }
    AVCodecContext *e = avcodec_alloc_context3(codec);
    AVPacket *pkt = av_packet_alloc();
    int st = SF_OK;
    if (!e || !pkt) {
        st = SF_E_NOMEM;
        goto out;
    }
    e->width = sheet->width;
    e->height = sheet->height;
    e->pix_fmt = sheet->format;
    e->time_base = (AVRational){1, 16};
    e->flags |= AV_CODEC_FLAG_BITEXACT;
    SF_TRY(st, sf_av_check(avcodec_open2(e, codec, NULL), "open the PNG encoder"));
    SF_TRY(st, sf_av_check(avcodec_send_frame(e, sheet), "encode the contact sheet"));
    SF_TRY(st, sf_av_check(avcodec_receive_packet(e, pkt), "encode the contact sheet"));
    st = sf_file_write_atomic(path, pkt->data, (size_t)pkt->size);
out:
    av_packet_free(&pkt);
    avcodec_free_context(&e);
    return st;
}

int sf_contact_sheet(const struct sf_contact_row *rows, int n, int per_row, const char *font,
                     const char *png_path, void (*progress)(void *arg, int64_t rows_done),
                     void *progress_arg)
{
    int st = SF_OK, w = 0, h = 0;
    AVFilterGraph *g = NULL;
    AVFilterContext *src = NULL, *sink = NULL, *last = NULL;
    AVFrame *fr = NULL, *sheet = NULL;
    uint8_t *rgb = NULL, *card = NULL;
    struct sf_shot_reader *rd = NULL;
    SF_ASSERT(n >= 1 && per_row >= 2 && per_row <= MAX_PER_ROW);
    if (access(font, R_OK) != 0) {
        SF_ERROR("contact", "%s: the label font is missing; install Debian's fonts-noto-mono "
                 "(scripts/setup.sh does)", font);
        return SF_E_NOTFOUND;
    }
    const char *lv = getenv("SF_LOG"); /* libav's own lines only when asked for detail */
    av_log_set_level(lv && strcmp(lv, "debug") == 0 ? AV_LOG_INFO : AV_LOG_ERROR);
    for (int r = 0; r < n; r++) {
        SF_TRY(st, sf_shot_reader_open(rows[r].path, &rd));
        const int tw0 = w, th0 = h;
        sf_shot_reader_size(rd, &w, &h);
        if (r > 0 && (w != tw0 || h != th0)) {
            SF_ERROR("contact", "%s: %dx%d, the sheet's other shots are %dx%d; a sheet needs "
                     "one size", rows[r].path, w, h, tw0, th0);
            st = SF_E_INVAL;
            goto out;
        }
        if (r == 0) {
            rgb = malloc((size_t)w * h * 3);
            card = malloc((size_t)w * h * 3);
            fr = av_frame_alloc();
            sheet = av_frame_alloc();
            g = avfilter_graph_alloc();
            if (!rgb || !card || !fr || !sheet || !g) {
                st = SF_E_NOMEM;
                goto out;
            }
            g->nb_threads = 1;
            fr->format = AV_PIX_FMT_RGB24, fr->width = w, fr->height = h;
            SF_TRY(st, sf_av_check(av_frame_get_buffer(fr, 0), "allocate a contact frame"));
            /* tiles of SF_CONTACT_TILE on the short side, the shot's aspect */
            const int tw = w >= h ? (SF_CONTACT_TILE * w / h + 1) / 2 * 2 : SF_CONTACT_TILE;
            const int th = w >= h ? SF_CONTACT_TILE : (SF_CONTACT_TILE * h / w + 1) / 2 * 2;
            char size[32], tsz[16], th_s[16], tw_s[16], layout[32];
            snprintf(size, sizeof size, "%dx%d", w, h);
            snprintf(tw_s, sizeof tw_s, "%d", tw);
            snprintf(th_s, sizeof th_s, "%d", th);
            snprintf(tsz, sizeof tsz, "%d", SF_CONTACT_TILE / 10);
            snprintf(layout, sizeof layout, "%dx%d", per_row + 1, n);
            const char *buf_kv[] = {"video_size", size, "pix_fmt", "rgb24", "time_base", "1/16",
                                    "pixel_aspect", "1/1", NULL};
            const char *scale_kv[] = {"w", tw_s, "h", th_s, "force_original_aspect_ratio",
                                      "decrease", "flags", "bicubic", NULL};
            const char *pad_kv[] = {"w", tw_s, "h", th_s, "x", "(ow-iw)/2", "y", "(oh-ih)/2",
                                    "color", "0x303030", NULL};
            const char *text_kv[] = {"fontfile", font, "text", "%{metadata:sf.label}",
                                     "fontsize", tsz, "fontcolor", "white", "box", "1",
                                     "boxcolor", "black@0.55", "boxborderw", "3", "x", "6",
                                     "y", "6", "line_spacing", "3", NULL};
            const char *tile_kv[] = {"layout", layout, "padding", "4", "margin", "4", "color",
                                     "0x181818", NULL};
            SF_TRY(st, sf_avfilter_add(g, &last, &(struct sf_avfilter_spec){"buffer", buf_kv}));
            src = last;
            SF_TRY(st, sf_avfilter_add(g, &last, &(struct sf_avfilter_spec){"scale", scale_kv}));
            SF_TRY(st, sf_avfilter_add(g, &last, &(struct sf_avfilter_spec){"pad", pad_kv}));
            SF_TRY(st, sf_avfilter_add(g, &last, &(struct sf_avfilter_spec){"drawtext", text_kv}));
            SF_TRY(st, sf_avfilter_add(g, &last, &(struct sf_avfilter_spec){"tile", tile_kv}));
            SF_TRY(st, sf_avfilter_add(g, &last, &(struct sf_avfilter_spec){"buffersink", NULL}));
            sink = last;
            SF_TRY(st, sf_av_check(avfilter_graph_config(g, NULL), "set up the contact sheet"));
        }
        /* the label card: green for the selected take */
        for (int64_t i = 0; i < (int64_t)w * h; i++) {
            card[3 * i] = rows[r].selected ? 30 : 64;
            card[3 * i + 1] = rows[r].selected ? 110 : 64;
            card[3 * i + 2] = rows[r].selected ? 50 : 64;
        }
        const int64_t base = (int64_t)r * (per_row + 1);
        SF_TRY(st, push(src, fr, card, w, h, rows[r].label, base));
        /* per_row frames from the first to the last, evenly spread */
        int64_t have = 0;
        for (int k = 0; k < per_row; k++) {
            const int64_t want = (int64_t)k * (rows[r].frames - 1) / (per_row - 1);
            while (have <= want) {
                st = sf_shot_reader_next(rd, rgb);
                if (st == SF_E_NOTFOUND) {
                    SF_ERROR("contact", "%s: ends after %lld frames, %d expected; delete it and "
                             "run the same render again", rows[r].path, (long long)have,
                             rows[r].frames);
                    st = SF_E_FORMAT;
                }
                if (st) goto out;
                have++;
            }
            char caption[32];
            snprintf(caption, sizeof caption, "%.2f s", (double)want / 16);
            SF_TRY(st, push(src, fr, rgb, w, h, caption, base + 1 + k));
        }
        sf_shot_reader_close(rd);
        rd = NULL;
        if (progress) progress(progress_arg, r + 1);
    }
    SF_TRY(st, sf_av_check(av_buffersrc_add_frame(src, NULL), "finish the contact sheet"));
    SF_TRY(st, sf_av_check(av_buffersink_get_frame(sink, sheet), "take the contact sheet"));
    st = write_png(sheet, png_path);
out:
    sf_shot_reader_close(rd);
    avfilter_graph_free(&g);
    av_frame_free(&fr);
    av_frame_free(&sheet);
    free(rgb);
    free(card);
    return st;
}
