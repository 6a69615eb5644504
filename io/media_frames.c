/* media_frames.c — the frames of a picture or clip at given times, as 8-bit RGB (sf_media.h).
 * Called by the campaign loader (a reference clip's sampled frames must decode at `validate`),
 * the identity bank (reference images and clip samples) and `forward vae-encode --image`.
 * The subtle thing: a frame is known to be the one shown at t only when the next frame starts
 * after t (or the stream ends), so the previous frame is held (a reference, not a copy) and
 * converted when its successor passes t: one conversion per sample however long the clip. */
#include "sf_media.h"

#include "sf_av_input.h"
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

/* One decoding session: the file's picture stream, the frame held, the converter. */
struct media {
    struct sf_av_input in;
    AVFrame *held;
    struct SwsContext *sws;
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
    m->first_pts = AV_NOPTS_VALUE;
    /* corrupt data fails instead of being concealed: a damaged picture is no reference */
    int rc = sf_av_input_open(&m->in, path, AVMEDIA_TYPE_VIDEO, SF_AV_STRICT);
    if (rc == AVERROR_STREAM_NOT_FOUND || rc == AVERROR_DECODER_NOT_FOUND) {
        snprintf(why, why_len, "holds no picture");
        return SF_E_FORMAT;
    }
    if (rc == AVERROR(ENOMEM) || (!rc && !(m->held = av_frame_alloc()))) return SF_E_NOMEM;
    return rc < 0 ? av_fail(rc, why, why_len) : SF_OK;
}

/* The next decoded frame into m->in.frame: 1, 0 at the end of the stream, or a failure status
 * (negative) with why. */
static int media_next(struct media *m, char *why, size_t why_len)
{
    const int rc = sf_av_input_next(&m->in);
    if (rc == AVERROR_EOF) return 0;
    return rc < 0 ? av_fail(rc, why, why_len) : 1;
}

/* Seconds from the stream's first frame to m->in.frame (0 when the stream carries no times). */
static double frame_time(struct media *m)
{
    int64_t pts = m->in.frame->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) return 0;
    if (m->first_pts == AV_NOPTS_VALUE) m->first_pts = pts;
    return (double)(pts - m->first_pts) * av_q2d(m->in.fmt->streams[m->in.stream]->time_base);
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
    int st, done = 0, have = 0;
    size_t frame_bytes = 0;
    int level = av_log_get_level();
    av_log_set_level(AV_LOG_QUIET);
    *rgb = NULL;
    if ((st = media_open(&m, path, why, why_len)) != SF_OK) goto out;
    while (done < n) {
        int got = media_next(&m, why, why_len);
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
            m.width = m.in.frame->width, m.height = m.in.frame->height;
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
        } else if (m.in.frame->width != m.width || m.in.frame->height != m.height) {
            snprintf(why, why_len, "changes its picture size from %dx%d to %dx%d", m.width,
                     m.height, m.in.frame->width, m.in.frame->height);
            st = SF_E_FORMAT;
            goto out;
        }
        av_frame_unref(m.held);
        av_frame_move_ref(m.held, m.in.frame);
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
    av_frame_free(&m.held);
    sf_av_input_close(&m.in);
    av_log_set_level(level);
    return st;
}
