/* campaign_media.c — proves that a campaign's reference images and clips are real media by
 * decoding them with libavformat/libavcodec (an image's frame; a clip's first frame and the
 * frames its sample rule takes, sf_media.h), and measures a clip's duration.
 * Called by the campaign loader for every `refs` entry and `clip`. The subtle part: libav*
 * logs to stderr on bad input; the level is lowered for the probe and restored, so `validate`
 * prints only its own one-line diagnostics. An extension is never trusted: a text file named
 * .png fails here. */
#include "campaign_internal.h"
#include "sf_audio.h"
#include "sf_av_input.h"
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
    struct sf_av_input in;
    int ok = -1;
    char err[AV_ERROR_MAX_STRING_SIZE];
    int level = av_log_get_level();
    av_log_set_level(AV_LOG_QUIET);
    /* Corrupt data fails instead of being concealed: a truncated JPEG is not a reference. */
    int rc = sf_av_input_open(&in, path, AVMEDIA_TYPE_VIDEO, SF_AV_STRICT);
    if (rc == AVERROR_STREAM_NOT_FOUND || rc == AVERROR_DECODER_NOT_FOUND) {
        snprintf(why, why_len, "holds no picture");
        goto out;
    }
    if (rc >= 0) rc = sf_av_input_next(&in);
    if (rc < 0) {
        av_strerror(rc == AVERROR_EOF ? AVERROR_INVALIDDATA : rc, err, sizeof err);
        snprintf(why, why_len, "cannot be decoded (%s)", err);
        goto out;
    }
    if (in.frame->width <= 0 || in.frame->height <= 0) {
        snprintf(why, why_len, "decodes to an empty picture");
        goto out;
    }
    *fmt_out = in.fmt;
    *st_out = in.fmt->streams[in.stream];
    in.fmt = NULL;
    ok = 0;
out:
    sf_av_input_close(&in);
    av_log_set_level(level);
    return ok;
}

static int is_still_codec(enum AVCodecID id)
{
    return id == AV_CODEC_ID_PNG || id == AV_CODEC_ID_MJPEG || id == AV_CODEC_ID_WEBP ||
           id == AV_CODEC_ID_BMP || id == AV_CODEC_ID_TIFF;
}

int campaign_probe_image(const char *path, int *width, int *height, char *why, size_t why_len)
{
    AVFormatContext *fmt = NULL;
    AVStream *st = NULL;
    if (decode_first_frame(path, &fmt, &st, why, why_len) != 0) return -1;
    int ok = 0;
    enum AVCodecID id = st->codecpar->codec_id;
    *width = st->codecpar->width;
    *height = st->codecpar->height;
    /* A JPEG inside a video container (motion JPEG .avi) is a clip, not a still. */
    if (!is_still_codec(id) || (st->nb_frames > 1)) {
        snprintf(why, why_len, "is a %s video, not a still image", avcodec_get_name(id));
        ok = -1;
    } else if (*width <= 0 || *height <= 0) {
        snprintf(why, why_len, "has no pixel size");
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
