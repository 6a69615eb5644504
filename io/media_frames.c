/* media_frames.c — the frames of a picture or clip at given times, as 8-bit RGB (sf_media.h).
 * Called by the campaign loader (a reference clip's sampled frames must decode at `validate`),
 * the identity bank (reference images and clip samples) and `forward vae-encode --image`.
 * The subtle thing: a frame is known to be the one shown at t only when the next frame starts
 * after t (or the stream ends), so the previous frame is held (a reference, not a copy) and
 * converted when its successor passes t: one conversion per sample however long the clip. */
#include "sf_media.h"

#include "sf_status.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sf_media_clip_times(double seconds, double times[SF_MEDIA_CLIP_SAMPLES])
{
    for (int i = 0; i < SF_MEDIA_CLIP_SAMPLES; i++)
        times[i] = (2.0 * i + 1.0) / (2.0 * SF_MEDIA_CLIP_SAMPLES) * seconds;
}

/* One decoding session: the file, its picture stream and decoder, the frame held. */
struct media {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame, *held;
    struct SwsContext *sws;
    int stream;
    int64_t first_pts;
    int width, height;
};

static int av_fail(int rc, char *why, size_t why_len)
{
    char err[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(rc, err, sizeof err);
    snprintf(why, why_len, "cannot be decoded (%s)", err);
    return rc == AVERROR(ENOENT) ? SF_E_NOTFOUND : SF_E_FORMAT;
}

static int media_open(struct media *m, const char *path, char *why, size_t why_len)
{
    int rc;
    if ((rc = avformat_open_input(&m->fmt, path, NULL, NULL)) < 0 ||
        (rc = avformat_find_stream_info(m->fmt, NULL)) < 0)
        return av_fail(rc, why, why_len);
    const AVCodec *codec = NULL;
    m->stream = av_find_best_stream(m->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (m->stream < 0 || !codec) {
        snprintf(why, why_len, "holds no picture");
        return SF_E_FORMAT;
    }
    m->dec = avcodec_alloc_context3(codec);
    m->pkt = av_packet_alloc();
    m->frame = av_frame_alloc();
    m->held = av_frame_alloc();
    if (!m->dec || !m->pkt || !m->frame || !m->held) return SF_E_NOMEM;
    /* corrupt data fails instead of being concealed: a damaged picture is no reference */
    m->dec->err_recognition |= AV_EF_EXPLODE | AV_EF_BITSTREAM | AV_EF_BUFFER;
    if ((rc = avcodec_parameters_to_context(m->dec, m->fmt->streams[m->stream]->codecpar)) < 0 ||
        (rc = avcodec_open2(m->dec, codec, NULL)) < 0)
        return av_fail(rc, why, why_len);
    m->first_pts = AV_NOPTS_VALUE;
    return SF_OK;
}

/* The next decoded frame into m->frame: 1, 0 at the end of the stream, or a failure status
 * (negative) with why. */
static int media_next(struct media *m, int *eof, char *why, size_t why_len)
{
    for (;;) {
        int rc = avcodec_receive_frame(m->dec, m->frame);
        if (rc >= 0) return 1;
        if (rc == AVERROR_EOF) return 0;
        if (rc != AVERROR(EAGAIN)) {
            av_fail(rc, why, why_len);
            return SF_E_FORMAT;
        }
        if (*eof) return 0;
        rc = av_read_frame(m->fmt, m->pkt);
        if (rc == AVERROR_EOF) {
            *eof = 1;
            rc = avcodec_send_packet(m->dec, NULL); /* flush: frames may still be inside */
        } else if (rc >= 0) {
            if (m->pkt->stream_index == m->stream) rc = avcodec_send_packet(m->dec, m->pkt);
            av_packet_unref(m->pkt);
            if (rc == AVERROR(EAGAIN)) rc = 0;
        }
        if (rc < 0) {
            av_fail(rc, why, why_len);
            return SF_E_FORMAT;
        }
    }
}

/* Seconds from the stream's first frame to m->frame (0 when the stream carries no times). */
static double frame_time(struct media *m)
{
    int64_t pts = m->frame->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) return 0;
    if (m->first_pts == AV_NOPTS_VALUE) m->first_pts = pts;
    return (double)(pts - m->first_pts) * av_q2d(m->fmt->streams[m->stream]->time_base);
}

/* The held frame as RGB into out (height, width, 3). */
static int convert(struct media *m, uint8_t *out, char *why, size_t why_len)
{
    const AVFrame *f = m->held;
    m->sws = sws_getCachedContext(m->sws, f->width, f->height, (enum AVPixelFormat)f->format,
                                  f->width, f->height, AV_PIX_FMT_RGB24,
                                  SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL,
                                  NULL);
    if (!m->sws) {
        snprintf(why, why_len, "has a pixel format that cannot be converted to RGB (%s)",
                 av_get_pix_fmt_name((enum AVPixelFormat)f->format));
        return SF_E_FORMAT;
    }
    uint8_t *dst[4] = {out, NULL, NULL, NULL};
    int stride[4] = {3 * f->width, 0, 0, 0};
    sws_scale(m->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
    return SF_OK;
}

int sf_media_frames(const char *path, int n, const double *times, uint8_t **rgb, int *width,
                    int *height, char *why, size_t why_len)
{
    struct media m = {0};
    int st, eof = 0, done = 0, have = 0;
    size_t frame_bytes = 0;
    int level = av_log_get_level();
    av_log_set_level(AV_LOG_QUIET);
    *rgb = NULL;
    if ((st = media_open(&m, path, why, why_len)) != SF_OK) goto out;
    while (done < n) {
        int got = media_next(&m, &eof, why, why_len);
        if (got < 0) {
            st = got;
            goto out;
        }
        double t = got ? frame_time(&m) : 0;
        /* every sample whose time the new frame passes (or all, at the end) takes the held one */
        while (have && done < n && (!got || t > times[done])) {
            if ((st = convert(&m, *rgb + (size_t)done * frame_bytes, why, why_len))) goto out;
            done++;
        }
        if (!got) break;
        if (!have) {
            m.width = m.frame->width, m.height = m.frame->height;
            if (m.width <= 0 || m.height <= 0) {
                snprintf(why, why_len, "decodes to an empty picture");
                st = SF_E_FORMAT;
                goto out;
            }
            frame_bytes = (size_t)m.width * (size_t)m.height * 3;
            if (!(*rgb = malloc((size_t)n * frame_bytes))) {
                st = SF_E_NOMEM;
                goto out;
            }
            have = 1;
        } else if (m.frame->width != m.width || m.frame->height != m.height) {
            snprintf(why, why_len, "changes its picture size from %dx%d to %dx%d", m.width,
                     m.height, m.frame->width, m.frame->height);
            st = SF_E_FORMAT;
            goto out;
        }
        av_frame_unref(m.held);
        av_frame_move_ref(m.held, m.frame);
    }
    if (!have) { /* the stream ended without a picture */
        av_fail(AVERROR_INVALIDDATA, why, why_len);
        st = SF_E_FORMAT;
        goto out;
    }
    *width = m.width, *height = m.height;
    st = SF_OK;
out:
    if (st != SF_OK) {
        free(*rgb);
        *rgb = NULL;
    }
    sws_freeContext(m.sws);
    av_frame_free(&m.frame);
    av_frame_free(&m.held);
    av_packet_free(&m.pkt);
    avcodec_free_context(&m.dec);
    avformat_close_input(&m.fmt);
    av_log_set_level(level);
    return st;
}
