/* campaign_media.c — proves that a campaign's reference images and clips are real media by
 * decoding them with libavformat/libavcodec (an image's frame; a clip's first frame and the
 * frames its sample rule takes, sf_media.h), and measures a clip's duration.
 * Called by the campaign loader for every `refs` entry and `clip`. The subtle part: libav*
 * logs to stderr on bad input; the level is lowered for the probe and restored, so `validate`
 * prints only its own one-line diagnostics. An extension is never trusted: a text file named
 * .png fails here. */
#include "campaign_internal.h"
#include "sf_audio.h"
#include "sf_media.h"
#include "sf_status.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <stdio.h>
#include <stdlib.h>

/* Opens path, finds its best video stream and decodes its first frame. On success returns 0
 * with *fmt_out (caller closes) and the stream; else -1 with why. */
static int decode_first_frame(const char *path, AVFormatContext **fmt_out, AVStream **st_out,
                              char *why, size_t why_len)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = NULL;
    AVFrame *frame = NULL;
    int ok = -1, rc;
    char err[AV_ERROR_MAX_STRING_SIZE];
    int level = av_log_get_level();
    av_log_set_level(AV_LOG_QUIET);

    if ((rc = avformat_open_input(&fmt, path, NULL, NULL)) < 0 ||
        (rc = avformat_find_stream_info(fmt, NULL)) < 0) {
        av_strerror(rc, err, sizeof err);
        snprintf(why, why_len, "cannot be decoded (%s)", err);
        goto out;
    }
    const AVCodec *codec = NULL;
    int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (si < 0 || !codec) {
        snprintf(why, why_len, "holds no picture");
        goto out;
    }
    AVStream *st = fmt->streams[si];
    dec = avcodec_alloc_context3(codec);
    pkt = av_packet_alloc();
    frame = av_frame_alloc();
    if (!dec || !pkt || !frame) {
        snprintf(why, why_len, "cannot be decoded (out of memory)");
        goto out;
    }
    /* Corrupt data fails instead of being concealed: a truncated JPEG is not a reference. */
    dec->err_recognition |= AV_EF_EXPLODE | AV_EF_BITSTREAM | AV_EF_BUFFER;
    if ((rc = avcodec_parameters_to_context(dec, st->codecpar)) < 0 ||
        (rc = avcodec_open2(dec, codec, NULL)) < 0) {
        av_strerror(rc, err, sizeof err);
        snprintf(why, why_len, "cannot be decoded (%s)", err);
        goto out;
    }
    int got = 0, eof = 0;
    rc = 0;
    while (!got && rc >= 0) {
        if (!eof) {
            rc = av_read_frame(fmt, pkt);
            if (rc == AVERROR_EOF) {
                eof = 1;
                rc = avcodec_send_packet(dec, NULL);
            } else if (rc >= 0) {
                if (pkt->stream_index == si) rc = avcodec_send_packet(dec, pkt);
                av_packet_unref(pkt);
                if (rc == AVERROR(EAGAIN)) rc = 0;
            }
            if (rc < 0) break;
        }
        rc = avcodec_receive_frame(dec, frame);
        if (rc >= 0) got = 1;
        else if (rc == AVERROR(EAGAIN) && !eof) rc = 0;
    }
    if (!got) {
        if (rc >= 0 || rc == AVERROR_EOF || rc == AVERROR(EAGAIN)) rc = AVERROR_INVALIDDATA;
        av_strerror(rc, err, sizeof err);
        snprintf(why, why_len, "cannot be decoded (%s)", err);
        goto out;
    }
    if (frame->width <= 0 || frame->height <= 0) {
        snprintf(why, why_len, "decodes to an empty picture");
        goto out;
    }
    *fmt_out = fmt;
    *st_out = st;
    fmt = NULL;
    ok = 0;
out:
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    av_log_set_level(level);
    return ok;
}

static int is_still_codec(enum AVCodecID id)
{
    return id == AV_CODEC_ID_PNG || id == AV_CODEC_ID_MJPEG || id == AV_CODEC_ID_WEBP ||
           id == AV_CODEC_ID_BMP || id == AV_CODEC_ID_TIFF;
}

int campaign_probe_image(const char *path, char *why, size_t why_len)
{
    AVFormatContext *fmt = NULL;
    AVStream *st = NULL;
    if (decode_first_frame(path, &fmt, &st, why, why_len) != 0) return -1;
    int ok = 0;
    enum AVCodecID id = st->codecpar->codec_id;
    /* A JPEG inside a video container (motion JPEG .avi) is a clip, not a still. */
    if (!is_still_codec(id) || (st->nb_frames > 1)) {
        snprintf(why, why_len, "is a %s video, not a still image", avcodec_get_name(id));
        ok = -1;
    }
    avformat_close_input(&fmt);
    return ok;
}

int campaign_probe_clip(const char *path, double *seconds, char *why, size_t why_len)
{
    AVFormatContext *fmt = NULL;
    AVStream *st = NULL;
    if (decode_first_frame(path, &fmt, &st, why, why_len) != 0) return -1;
    int ok = 0;
    double d = -1;
    if (st->duration > 0 && st->time_base.den > 0) d = (double)st->duration * av_q2d(st->time_base);
    else if (fmt->duration > 0) d = (double)fmt->duration / AV_TIME_BASE;
    if (is_still_codec(st->codecpar->codec_id) && d <= 0) {
        snprintf(why, why_len, "is a still image, not a video clip");
        ok = -1;
    } else if (d <= 0) {
        snprintf(why, why_len, "has no known duration");
        ok = -1;
    }
    if (ok == 0) { /* the frames the identity bank samples must decode too, not only the first */
        double t[SF_MEDIA_CLIP_SAMPLES];
        uint8_t *rgb = NULL;
        int w, h;
        sf_media_clip_times(d, t);
        if (sf_media_frames(path, SF_MEDIA_CLIP_SAMPLES, t, &rgb, &w, &h, why, why_len) != 0)
            ok = -1;
        free(rgb);
    }
    *seconds = d;
    avformat_close_input(&fmt);
    return ok;
}

int campaign_probe_audio(const char *path, char *why, size_t why_len)
{
    float *lr = NULL;
    int64_t frames = 0;
    /* the whole file (up to 10 minutes): damage in the middle fails here, not in a mix */
    int st = sf_audio_decode(path, (int64_t)SF_AUDIO_RATE * 600, &lr, &frames, why, why_len);
    free(lr);
    if (st == SF_OK && frames == 0) {
        snprintf(why, why_len, "holds no sound");
        return -1;
    }
    return st == SF_OK ? 0 : -1;
}
