/* avfilter.c — libavfilter chains (sf_avfilter.h), used by QC (io/qc.c), contact sheets
 * (io/contact.c) and review copies (io/review_copy.c). The subtle thing: a chain is built filter
 * by filter with av_opt_set, never from a filter-graph string, so option values (drawtext's text,
 * a font path, a timecode with colons) go through exactly as given. */
#define _POSIX_C_SOURCE 200809L
#include "sf_avfilter.h"
#include "sf_errors.h"
#include "sf_log.h"
#include "sf_status.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sf_avfilter_add(AVFilterGraph *g, AVFilterContext **prev, const struct sf_avfilter_spec *spec)
{
    char what[128];
    snprintf(what, sizeof what, "set up the %s filter", spec->name);
    const AVFilter *flt = avfilter_get_by_name(spec->name);
    if (!flt) {
        SF_ERROR("avfilter", "this FFmpeg has no %s filter; install Debian's libavfilter8 "
                 "(scripts/setup.sh does)", spec->name);
        return SF_E_UNSUPPORTED;
    }
    AVFilterContext *f = avfilter_graph_alloc_filter(g, flt, NULL);
    if (!f) return SF_E_NOMEM;
    for (int i = 0; spec->kv && spec->kv[i]; i += 2) {
        int st = sf_av_check(av_opt_set(f, spec->kv[i], spec->kv[i + 1], AV_OPT_SEARCH_CHILDREN),
                             what);
        if (st) return st;
    }
    int st = sf_av_check(avfilter_init_str(f, NULL), what);
    if (st == SF_OK && *prev) st = sf_av_check(avfilter_link(*prev, 0, f, 0), what);
    *prev = f;
    return st;
}

/* Every frame the sink has ready, to fn. */
static int pull(AVFilterContext *sink, AVFrame *fr, AVRational tb,
                int (*fn)(void *, AVFrame *, AVRational), void *arg)
{
    for (;;) {
        int rc = av_buffersink_get_frame(sink, fr);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return SF_OK;
        int st = sf_av_check(rc, "take a filtered frame");
        if (st) return st;
        st = fn(arg, fr, tb);
        av_frame_unref(fr);
        if (st) return st;
    }
}

/* Every picture the decoder has ready, through the chain. */
static int decoded(AVCodecContext *dec, AVFrame *ff, AVFilterContext *src, AVFilterContext *sink,
                   AVFrame *fr, AVRational tb, int (*fn)(void *, AVFrame *, AVRational),
                   void *arg, const char *what)
{
    for (;;) {
        int rc = avcodec_receive_frame(dec, ff);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return SF_OK;
        int st = sf_av_check(rc, what);
        if (st) return st;
        ff->pts = ff->best_effort_timestamp;
        st = sf_av_check(av_buffersrc_add_frame(src, ff), what);
        if (!st) st = pull(sink, fr, tb, fn, arg);
        if (st) return st;
    }
}

int sf_avfilter_decode(const char *path, const struct sf_avfilter_spec *chain, int n, int out_fmt,
                       int (*fn)(void *arg, AVFrame *frame, AVRational time_base), void *arg,
                       AVRational *rate)
{
    int st = SF_OK;
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVFilterGraph *g = NULL;
    AVFilterContext *src = NULL, *last = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc(), *ff = av_frame_alloc();
    char what[4400];
    if (!pkt || !fr || !ff) {
        st = SF_E_NOMEM;
        goto out;
    }
    const char *lv = getenv("SF_LOG"); /* the filters' own lines only when asked for detail */
    av_log_set_level(lv && strcmp(lv, "debug") == 0 ? AV_LOG_INFO : AV_LOG_ERROR);
    snprintf(what, sizeof what, "open %s", path);
    SF_TRY(st, sf_av_check(avformat_open_input(&fmt, path, NULL, NULL), what));
    SF_TRY(st, sf_av_check(avformat_find_stream_info(fmt, NULL), what));
    const AVCodec *codec = NULL;
    const int vi = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    snprintf(what, sizeof what, "find the picture of %s", path);
    SF_TRY(st, sf_av_check(vi, what));
    AVStream *vs = fmt->streams[vi];
    if (!(dec = avcodec_alloc_context3(codec))) {
        st = SF_E_NOMEM;
        goto out;
    }
    SF_TRY(st, sf_av_check(avcodec_parameters_to_context(dec, vs->codecpar), what));
    dec->thread_count = 2;
    snprintf(what, sizeof what, "open the %s decoder for %s", codec->name, path);
    SF_TRY(st, sf_av_check(avcodec_open2(dec, codec, NULL), what));
    if (rate) *rate = av_guess_frame_rate(fmt, vs, NULL);

    if (!(g = avfilter_graph_alloc())) {
        st = SF_E_NOMEM;
        goto out;
    }
    g->nb_threads = 1;
    char size[32], tb[48];
    snprintf(size, sizeof size, "%dx%d", dec->width, dec->height);
    snprintf(tb, sizeof tb, "%d/%d", vs->time_base.num, vs->time_base.den);
    const char *pix = av_get_pix_fmt_name(dec->pix_fmt);
    if (!pix) {
        SF_ERROR("avfilter", "%s: the decoder gives no known pixel format", path);
        st = SF_E_AV;
        goto out;
    }
    const char *buf_kv[] = {"video_size", size, "pix_fmt", pix, "time_base", tb,
                            "pixel_aspect", "1/1", NULL};
    const struct sf_avfilter_spec buffer = {"buffer", buf_kv};
    SF_TRY(st, sf_avfilter_add(g, &last, &buffer));
    src = last;
    for (int i = 0; i < n; i++)
        SF_TRY(st, sf_avfilter_add(g, &last, &chain[i]));
    if (out_fmt >= 0) {
        const char *fmt_kv[] = {"pix_fmts", av_get_pix_fmt_name(out_fmt), NULL};
        const struct sf_avfilter_spec format = {"format", fmt_kv};
        SF_TRY(st, sf_avfilter_add(g, &last, &format));
    }
    const struct sf_avfilter_spec sink = {"buffersink", NULL};
    SF_TRY(st, sf_avfilter_add(g, &last, &sink));
    snprintf(what, sizeof what, "set up the filters for %s", path);
    SF_TRY(st, sf_av_check(avfilter_graph_config(g, NULL), what));

    snprintf(what, sizeof what, "decode %s", path);
    for (;;) {
        int rc = av_read_frame(fmt, pkt);
        if (rc == AVERROR_EOF) break;
        SF_TRY(st, sf_av_check(rc, what));
        if (pkt->stream_index != vi) {
            av_packet_unref(pkt);
            continue;
        }
        rc = avcodec_send_packet(dec, pkt);
        av_packet_unref(pkt);
        SF_TRY(st, sf_av_check(rc, what));
        SF_TRY(st, decoded(dec, ff, src, last, fr, vs->time_base, fn, arg, what));
    }
    SF_TRY(st, sf_av_check(avcodec_send_packet(dec, NULL), what));
    SF_TRY(st, decoded(dec, ff, src, last, fr, vs->time_base, fn, arg, what));
    SF_TRY(st, sf_av_check(av_buffersrc_add_frame(src, NULL), what));
    st = pull(last, fr, vs->time_base, fn, arg);
out:
    avfilter_graph_free(&g);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    av_packet_free(&pkt);
    av_frame_free(&fr);
    av_frame_free(&ff);
    return st;
}
