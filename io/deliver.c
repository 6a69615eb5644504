/* deliver.c — deliverable files (sf_deliver.h). Called by the assembly units
 * (coordinator/unit_assemble.c) on a CPU lane. The subtle things: the video is encoded ONCE and
 * its packets are copied into every language's muxer; the sound is written alongside the
 * pictures (after each picture, up to that picture's end) so the muxers interleave without
 * buffering a whole spot; swscale is asked for BT.709 in limited range explicitly (its default
 * is BT.601) and for bit-exact arithmetic; the encoders and muxers get the bit-exact flags and a
 * fixed thread count, so the same frames give the same bytes on any node. */
#define _POSIX_C_SOURCE 200809L
#include "sf_deliver.h"
#include "sf_audio.h"
#include "sf_brand.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_log.h"
#include "sf_status.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AUDIO_CHUNK 1024 /* samples per audio frame (AAC's frame size) */

struct output {
    char path[4096], tmp[4200];
    AVFormatContext *fmt;
    AVStream *vst, *ast;
    AVCodecContext *aenc;
    AVFrame *afr;
    int64_t samples; /* sound written so far */
    const float *sound; /* interleaved stereo, the whole length (borrowed); NULL: silence */
};

struct sf_deliver {
    struct sf_deliver_opts o;
    int n;
    struct output out[SF_DELIVER_MAX_OUTPUTS];
    AVCodecContext *venc;
    AVFrame *frame;
    struct sf_brand_graph *brand; /* NULL: no brand layer */
    AVFrame *branded;             /* the picture after the brand layer */
    AVPacket *pkt, *copy;
    struct SwsContext *sws;
    int sws_w, sws_h; /* the source size the scaler was made for */
    int crop_h;       /* rows of the source it reads */
    int64_t pts;
};

const char *sf_deliver_ext(enum sf_codec c)
{
    return c == SF_CODEC_H264 ? "mp4" : c == SF_CODEC_PRORES ? "mov" : "mkv";
}

int64_t sf_deliver_samples(int64_t frames, struct sf_fps fps)
{
    return sf_campaign_frame_samples(frames, fps);
}

static void release(struct sf_deliver *d)
{
    for (int i = 0; i < d->n; i++) {
        struct output *o = &d->out[i];
        if (o->fmt) {
            if (o->fmt->pb) avio_closep(&o->fmt->pb);
            avformat_free_context(o->fmt);
        }
        avcodec_free_context(&o->aenc);
        av_frame_free(&o->afr);
    }
    avcodec_free_context(&d->venc);
    av_frame_free(&d->frame);
    av_frame_free(&d->branded);
    sf_brand_graph_destroy(d->brand);
    av_packet_free(&d->pkt);
    av_packet_free(&d->copy);
    sws_freeContext(d->sws);
    free(d);
}

void sf_deliver_abort(struct sf_deliver *d)
{
    if (!d) return;
    char tmp[SF_DELIVER_MAX_OUTPUTS][4200];
    const int n = d->n;
    for (int i = 0; i < n; i++)
        memcpy(tmp[i], d->out[i].tmp, sizeof tmp[i]);
    release(d);
    for (int i = 0; i < n; i++)
        unlink(tmp[i]);
}

/* The video encoder for the codec: BT.709 limited range, bit-exact, fixed threads. */
static int open_video(struct sf_deliver *d, const char *path)
{
    const struct sf_deliver_opts *o = &d->o;
    int st = SF_OK;
    static const struct {
        const char *encoder;
        enum AVPixelFormat pix;
    } codecs[SF_CODEC_COUNT] = {
        [SF_CODEC_H264] = {"libx264", AV_PIX_FMT_YUV420P},
        [SF_CODEC_PRORES] = {"prores_ks", AV_PIX_FMT_YUV422P10LE},
        [SF_CODEC_FFV1] = {"ffv1", AV_PIX_FMT_YUV422P10LE},
    };
    const AVCodec *codec = avcodec_find_encoder_by_name(codecs[o->codec].encoder);
    if (!codec) {
        SF_ERROR("deliver", "%s: this FFmpeg has no %s encoder; install Debian's libavcodec59 "
                 "(scripts/setup.sh does)", path, codecs[o->codec].encoder);
        return SF_E_UNSUPPORTED;
    }
    AVCodecContext *e = d->venc = avcodec_alloc_context3(codec);
    if (!e) return SF_E_NOMEM;
    e->width = o->width;
    e->height = o->height;
    e->pix_fmt = codecs[o->codec].pix;
    e->time_base = (AVRational){o->fps.den, o->fps.num};
    e->framerate = (AVRational){o->fps.num, o->fps.den};
    e->sample_aspect_ratio = (AVRational){1, 1};
    e->color_range = AVCOL_RANGE_MPEG;
    e->color_primaries = AVCOL_PRI_BT709;
    e->color_trc = AVCOL_TRC_BT709;
    e->colorspace = AVCOL_SPC_BT709;
    e->flags |= AV_CODEC_FLAG_BITEXACT;
    e->thread_count = o->threads > 0 ? o->threads : 1;
    if (d->out[0].fmt->oformat->flags & AVFMT_GLOBALHEADER) e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary *opts = NULL;
    if (o->codec == SF_CODEC_H264) {
        const int nominal = (o->fps.num + o->fps.den - 1) / o->fps.den;
        e->profile = FF_PROFILE_H264_HIGH;
        e->gop_size = 2 * nominal; /* a key frame every 2 s */
        e->flags |= AV_CODEC_FLAG_CLOSED_GOP;
        av_dict_set(&opts, "preset", o->preset ? o->preset : "medium", 0);
        av_dict_set(&opts, "profile", "high", 0);
        av_dict_set_int(&opts, "crf", o->crf > 0 ? o->crf : 18, 0);
        /* frame threads only (sliced threads change the bitstream with the core count) */
        av_dict_set(&opts, "x264-params", "sliced-threads=0:open-gop=0", 0);
    } else if (o->codec == SF_CODEC_PRORES) {
        av_dict_set(&opts, "profile", "hq", 0);
        av_dict_set(&opts, "vendor", "apl0", 0);
    } else {
        e->level = 3;
        av_dict_set_int(&opts, "slices", 4, 0);
        av_dict_set_int(&opts, "slicecrc", 1, 0);
    }
    char what[4200];
    snprintf(what, sizeof what, "open the %s encoder for %s", codecs[o->codec].encoder, path);
    st = sf_av_check(avcodec_open2(e, codec, &opts), what);
    av_dict_free(&opts);
    return st;
}

/* The sound encoder: 48 kHz stereo, AAC in MP4, PCM 24-bit in MOV and Matroska. */
static int open_audio(struct sf_deliver *d, struct output *out)
{
    const int aac = d->o.codec == SF_CODEC_H264;
    const AVCodec *codec = avcodec_find_encoder(aac ? AV_CODEC_ID_AAC : AV_CODEC_ID_PCM_S24LE);
    if (!codec) {
        SF_ERROR("deliver", "%s: this FFmpeg has no %s encoder", out->path, aac ? "AAC" : "PCM");
        return SF_E_UNSUPPORTED;
    }
    AVCodecContext *a = out->aenc = avcodec_alloc_context3(codec);
    out->afr = av_frame_alloc();
    if (!a || !out->afr) return SF_E_NOMEM;
    a->sample_rate = SF_DELIVER_RATE;
    a->sample_fmt = aac ? AV_SAMPLE_FMT_FLTP : AV_SAMPLE_FMT_S32;
    av_channel_layout_default(&a->ch_layout, 2);
    a->time_base = (AVRational){1, SF_DELIVER_RATE};
    a->flags |= AV_CODEC_FLAG_BITEXACT;
    a->thread_count = 1;
    if (aac) a->bit_rate = 192000;
    if (out->fmt->oformat->flags & AVFMT_GLOBALHEADER) a->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int st = sf_av_check(avcodec_open2(a, codec, NULL), "open the audio encoder");
    if (st) return st;
    out->afr->format = a->sample_fmt;
    out->afr->sample_rate = a->sample_rate;
    out->afr->nb_samples = a->frame_size > 0 ? a->frame_size : AUDIO_CHUNK;
    if (av_channel_layout_copy(&out->afr->ch_layout, &a->ch_layout) < 0) return SF_E_NOMEM;
    return sf_av_check(av_frame_get_buffer(out->afr, 0), "allocate an audio frame");
}

/* Writes every packet enc has ready into out's stream st (tb: enc's time base). */
static int drain(AVCodecContext *enc, AVPacket *pkt, struct output *out, AVStream *st,
                 const char *what)
{
    for (;;) {
        int rc = avcodec_receive_packet(enc, pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return SF_OK;
        int s = sf_av_check(rc, what);
        if (s) return s;
        av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
        pkt->stream_index = st->index;
        s = sf_av_check(av_interleaved_write_frame(out->fmt, pkt), "write a sound packet");
        if (s) return s;
    }
}

/* Sound up to `upto` samples (NULL frame at the end: flush). */
static int feed_audio(struct sf_deliver *d, struct output *out, int64_t upto, int flush)
{
    int st = SF_OK;
    while (out->samples < upto) {
        const int chunk = out->afr->nb_samples;
        const int64_t left = upto - out->samples;
        if (left < chunk && !flush) break; /* a whole frame, except the last */
        SF_TRY(st, sf_av_check(av_frame_make_writable(out->afr), "make a sound frame writable"));
        out->afr->nb_samples = (int)(left < chunk ? left : chunk);
        const int ns = out->afr->nb_samples;
        const float *src = out->sound ? out->sound + 2 * out->samples : NULL;
        if (!src) {
            for (int c = 0; c < AV_NUM_DATA_POINTERS && out->afr->data[c]; c++)
                memset(out->afr->data[c], 0, (size_t)out->afr->linesize[0]);
        } else if (out->afr->format == AV_SAMPLE_FMT_FLTP) { /* AAC: planar float */
            float *l = (float *)out->afr->data[0], *r = (float *)out->afr->data[1];
            for (int i = 0; i < ns; i++)
                l[i] = src[2 * i], r[i] = src[2 * i + 1];
        } else { /* PCM: 24-bit in the top of 32, interleaved; the mix's 24-bit values exactly */
            int32_t *p = (int32_t *)out->afr->data[0];
            for (int i = 0; i < 2 * ns; i++)
                p[i] = (int32_t)((uint32_t)(int32_t)lrint(sf_audio_q24(src[i]) * 8388608.0) << 8);
        }
        out->afr->pts = out->samples;
        SF_TRY(st, sf_av_check(avcodec_send_frame(out->aenc, out->afr), "encode sound"));
        out->samples += out->afr->nb_samples;
        out->afr->nb_samples = chunk;
        SF_TRY(st, drain(out->aenc, d->pkt, out, out->ast, "receive a sound packet"));
    }
    if (flush) {
        SF_TRY(st, sf_av_check(avcodec_send_frame(out->aenc, NULL), "flush the sound encoder"));
        SF_TRY(st, drain(out->aenc, d->pkt, out, out->ast, "receive a sound packet"));
    }
out:
    return st;
}

static int open_output(struct sf_deliver *d, struct output *out, const char *path)
{
    const struct sf_deliver_opts *o = &d->o;
    int st = SF_OK;
    snprintf(out->path, sizeof out->path, "%s", path);
    snprintf(out->tmp, sizeof out->tmp, "%s.tmp.%ld", path, (long)getpid());
    static const char *const muxers[SF_CODEC_COUNT] = {"mp4", "mov", "matroska"};
    char what[4300];
    snprintf(what, sizeof what, "create the %s muxer for %s", muxers[o->codec], path);
    SF_TRY(st, sf_av_check(avformat_alloc_output_context2(&out->fmt, NULL, muxers[o->codec],
                                                          out->tmp),
                           what));
    out->fmt->flags |= AVFMT_FLAG_BITEXACT;
out:
    return st;
}

/* Streams, metadata, header: after the video encoder is open (its parameters are copied). */
static int start_output(struct sf_deliver *d, struct output *out)
{
    const struct sf_deliver_opts *o = &d->o;
    int st = SF_OK;
    out->vst = avformat_new_stream(out->fmt, NULL);
    if (!out->vst) return SF_E_NOMEM;
    out->vst->time_base = d->venc->time_base;
    out->vst->avg_frame_rate = d->venc->framerate;
    out->vst->r_frame_rate = d->venc->framerate;
    SF_TRY(st, sf_av_check(avcodec_parameters_from_context(out->vst->codecpar, d->venc),
                           "copy the video parameters"));
    SF_TRY(st, open_audio(d, out));
    out->ast = avformat_new_stream(out->fmt, NULL);
    if (!out->ast) return SF_E_NOMEM;
    out->ast->time_base = out->aenc->time_base;
    SF_TRY(st, sf_av_check(avcodec_parameters_from_context(out->ast->codecpar, out->aenc),
                           "copy the sound parameters"));
    if (o->timecode[0]) {
        av_dict_set(&out->fmt->metadata, "timecode", o->timecode, 0);
        av_dict_set(&out->vst->metadata, "timecode", o->timecode, 0);
    }
    if (o->title) av_dict_set(&out->fmt->metadata, "title", o->title, 0);
    if (o->comment) av_dict_set(&out->fmt->metadata, "comment", o->comment, 0);
    av_dict_set(&out->fmt->metadata, "encoder", "shotfarm", 0);
    int rc = avio_open(&out->fmt->pb, out->tmp, AVIO_FLAG_WRITE);
    if (rc < 0) {
        char e[128];
        av_strerror(rc, e, sizeof e);
        SF_ERROR("deliver", "%s: cannot create (%s); check that the directory exists and is "
                 "writable", out->tmp, e);
        return rc == AVERROR(ENOSPC) ? SF_E_NOSPC : SF_E_IO;
    }
    AVDictionary *mo = NULL;
    if (o->codec == SF_CODEC_H264) av_dict_set(&mo, "movflags", "+faststart+write_colr", 0);
    if (o->codec == SF_CODEC_PRORES) av_dict_set(&mo, "movflags", "+write_colr", 0);
    /* edit lists in samples, not the default milliseconds: AAC's priming and padding are cut
     * to the sample whatever the length */
    if (o->codec != SF_CODEC_FFV1) av_dict_set_int(&mo, "movie_timescale", SF_DELIVER_RATE, 0);
    char what[4300];
    snprintf(what, sizeof what, "write the header of %s", out->path);
    st = sf_av_check(avformat_write_header(out->fmt, &mo), what);
    av_dict_free(&mo);
out:
    return st;
}

int sf_deliver_open(const struct sf_deliver_opts *o, const char *const *paths, int n,
                    struct sf_deliver **out)
{
    int st = SF_OK;
    *out = NULL;
    SF_ASSERT(n >= 1 && n <= SF_DELIVER_MAX_OUTPUTS && o->width % 2 == 0 && o->height % 2 == 0);
    sf_av_log_quiet(); /* libav's own chatter only when shotfarm is asked for detail */
    struct sf_deliver *d = calloc(1, sizeof *d);
    if (!d) return SF_E_NOMEM;
    d->o = *o;
    d->pkt = av_packet_alloc();
    d->copy = av_packet_alloc();
    d->frame = av_frame_alloc();
    if (!d->pkt || !d->copy || !d->frame) {
        st = SF_E_NOMEM;
        goto out;
    }
    for (int i = 0; i < n; i++, d->n++)
        SF_TRY(st, open_output(d, &d->out[i], paths[i]));
    SF_TRY(st, open_video(d, paths[0]));
    for (int i = 0; i < n; i++)
        SF_TRY(st, start_output(d, &d->out[i]));
    d->frame->format = d->venc->pix_fmt;
    d->frame->width = o->width;
    d->frame->height = o->height;
    d->frame->color_range = AVCOL_RANGE_MPEG;
    d->frame->color_primaries = AVCOL_PRI_BT709;
    d->frame->color_trc = AVCOL_TRC_BT709;
    d->frame->colorspace = AVCOL_SPC_BT709;
    SF_TRY(st, sf_av_check(av_frame_get_buffer(d->frame, 0), "allocate a picture"));
    if (o->brand) {
        const struct sf_brand_where w = {o->brand_lang, o->brand_length, o->frames, o->fps,
                                         o->width, o->height, d->venc->pix_fmt};
        SF_TRY(st, sf_brand_graph_create(o->brand, &w, &d->brand));
        if (d->brand && !(d->branded = av_frame_alloc())) {
            st = SF_E_NOMEM;
            goto out;
        }
    }
    *out = d;
    return SF_OK;
out:
    sf_deliver_abort(d);
    return st;
}

/* Encoded pictures into every muxer (frame NULL: flush). */
static int encode(struct sf_deliver *d, AVFrame *frame)
{
    int st = SF_OK;
    SF_TRY(st, sf_av_check(avcodec_send_frame(d->venc, frame), "encode a picture"));
    for (;;) {
        int rc = avcodec_receive_packet(d->venc, d->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) break;
        SF_TRY(st, sf_av_check(rc, "receive a picture packet"));
        for (int i = 0; i < d->n; i++) {
            struct output *o = &d->out[i];
            SF_TRY(st, sf_av_check(av_packet_ref(d->copy, d->pkt), "copy a packet"));
            av_packet_rescale_ts(d->copy, d->venc->time_base, o->vst->time_base);
            d->copy->stream_index = o->vst->index;
            SF_TRY(st, sf_av_check(av_interleaved_write_frame(o->fmt, d->copy),
                                   "write a picture packet"));
        }
        av_packet_unref(d->pkt);
    }
out:
    return st;
}

/* The scaler for a src_w x src_h source: the centre crop of the delivery aspect, covered. */
static int scaler(struct sf_deliver *d, int src_w, int src_h, int *x0, int *y0)
{
    const int W = d->o.width, H = d->o.height;
    int cw = src_w, ch = src_h;
    if ((int64_t)src_w * H > (int64_t)src_h * W) /* wider than the delivery: crop the sides */
        cw = (int)(((int64_t)src_h * W + H / 2) / H);
    else
        ch = (int)(((int64_t)src_w * H + W / 2) / W);
    *x0 = (src_w - cw) / 2;
    *y0 = (src_h - ch) / 2;
    if (d->sws && d->sws_w == src_w && d->sws_h == src_h) return SF_OK;
    sws_freeContext(d->sws);
    d->sws = sws_getContext(cw, ch, AV_PIX_FMT_RGB24, W, H, d->venc->pix_fmt,
                            SWS_LANCZOS | SWS_ACCURATE_RND | SWS_BITEXACT, NULL, NULL, NULL);
    if (!d->sws) {
        SF_ERROR("deliver", "swscale cannot convert %dx%d RGB to %dx%d %s", cw, ch, W, H,
                 av_get_pix_fmt_name(d->venc->pix_fmt));
        return SF_E_AV;
    }
    /* BT.709 coefficients, full-range RGB in, limited-range YUV out (swscale's default is 601) */
    const int *c709 = sws_getCoefficients(SWS_CS_ITU709);
    if (sws_setColorspaceDetails(d->sws, c709, 1, c709, 0, 0, 1 << 16, 1 << 16) < 0) {
        SF_ERROR("deliver", "swscale refused BT.709 coefficients");
        return SF_E_AV;
    }
    d->sws_w = src_w;
    d->sws_h = src_h;
    d->crop_h = ch;
    return SF_OK;
}

void sf_deliver_set_sound(struct sf_deliver *d, int i, const float *lr)
{
    SF_ASSERT(i >= 0 && i < d->n && d->pts == 0);
    d->out[i].sound = lr;
}

int sf_deliver_write(struct sf_deliver *d, const uint8_t *rgb, int src_w, int src_h)
{
    int st = SF_OK, x0, y0;
    if (d->pts >= d->o.frames) {
        SF_ERROR("deliver", "%s: more than the %lld frames asked for", d->out[0].path,
                 (long long)d->o.frames);
        st = SF_E_INVAL;
        goto out;
    }
    SF_TRY(st, scaler(d, src_w, src_h, &x0, &y0));
    SF_TRY(st, sf_av_check(av_frame_make_writable(d->frame), "make a picture writable"));
    const uint8_t *src[4] = {rgb + ((size_t)y0 * src_w + x0) * 3, NULL, NULL, NULL};
    const int stride[4] = {src_w * 3, 0, 0, 0};
    sws_scale(d->sws, src, stride, 0, d->crop_h, d->frame->data, d->frame->linesize);
    d->frame->pts = d->pts++;
    if (d->brand) { /* drawn in the encoder's pixel format: nothing else is touched */
        SF_TRY(st, sf_brand_graph_apply(d->brand, d->frame, d->branded));
        d->branded->pts = d->frame->pts;
        st = encode(d, d->branded);
        av_frame_unref(d->branded);
        if (st) goto out;
    } else {
        SF_TRY(st, encode(d, d->frame));
    }
    /* the sound of every language up to this picture's end */
    const int64_t upto = sf_deliver_samples(d->pts, d->o.fps);
    for (int i = 0; i < d->n; i++)
        SF_TRY(st, feed_audio(d, &d->out[i], upto, 0));
    return SF_OK;
out:
    sf_deliver_abort(d);
    return st;
}

int sf_deliver_commit(struct sf_deliver *d)
{
    int st = SF_OK;
    if (d->pts != d->o.frames) {
        SF_ERROR("deliver", "%s: %lld frames written, %lld asked for", d->out[0].path,
                 (long long)d->pts, (long long)d->o.frames);
        st = SF_E_INVAL;
        goto out;
    }
    SF_TRY(st, encode(d, NULL));
    const int64_t total = sf_deliver_samples(d->o.frames, d->o.fps);
    for (int i = 0; i < d->n; i++) {
        struct output *o = &d->out[i];
        SF_TRY(st, feed_audio(d, o, total, 1));
        char what[4300];
        snprintf(what, sizeof what, "write the trailer of %s", o->path);
        SF_TRY(st, sf_av_check(av_write_trailer(o->fmt), what));
        avio_closep(&o->fmt->pb);
    }
    for (int i = 0; i < d->n; i++) {
        SF_TRY(st, sf_file_publish(d->out[i].tmp, d->out[i].path));
        d->out[i].tmp[0] = '\0'; /* published: not removed by an abort below */
    }
    release(d);
    return SF_OK;
out:
    sf_deliver_abort(d);
    return st;
}
