/* vae_image.c — decodes one still image with libavformat/libavcodec and converts it to packed
 * 8-bit RGB with libswscale (sf_vae_image.h). Called by `forward vae-encode --image`.
 * The subtle thing: an image file is a one-frame stream; the decoder may need the flush packet
 * (NULL) before it hands the frame out, so EOF is sent before giving up. */
#include "sf_vae_image.h"

#include "sf_log.h"
#include "sf_status.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <stdlib.h>

static int fail(const char *path, const char *what, int rc, int st)
{
    char msg[128] = "";
    if (rc) av_strerror(rc, msg, sizeof msg);
    SF_ERROR("image", "%s: cannot decode the image: %s%s%s (give a PNG or JPEG file)", path, what,
             rc ? ": " : "", msg);
    return st;
}

int sf_vae_image_read(const char *path, uint8_t **rgb, int *width, int *height)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    struct SwsContext *sws = NULL;
    int st = SF_OK, rc, got = 0;
    *rgb = NULL;
    if (!pkt || !frame) {
        st = SF_E_NOMEM;
        goto out;
    }
    av_log_set_level(AV_LOG_QUIET);
    if ((rc = avformat_open_input(&fmt, path, NULL, NULL)) < 0) {
        st = fail(path, "not a readable image", rc, rc == AVERROR(ENOENT) ? SF_E_NOTFOUND : SF_E_FORMAT);
        goto out;
    }
    if ((rc = avformat_find_stream_info(fmt, NULL)) < 0) {
        st = fail(path, "no image stream", rc, SF_E_FORMAT);
        goto out;
    }
    const AVCodec *codec = NULL;
    int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (si < 0 || !codec) {
        st = fail(path, "no image stream", si < 0 ? si : 0, SF_E_FORMAT);
        goto out;
    }
    if (!(dec = avcodec_alloc_context3(codec))) {
        st = SF_E_NOMEM;
        goto out;
    }
    if ((rc = avcodec_parameters_to_context(dec, fmt->streams[si]->codecpar)) < 0 ||
        (rc = avcodec_open2(dec, codec, NULL)) < 0) {
        st = fail(path, "the decoder does not open", rc, SF_E_FORMAT);
        goto out;
    }
    while (!got) {
        rc = av_read_frame(fmt, pkt);
        if (rc < 0) {
            avcodec_send_packet(dec, NULL); /* flush: the frame may still be inside */
            got = avcodec_receive_frame(dec, frame) == 0;
            break;
        }
        if (pkt->stream_index == si) {
            rc = avcodec_send_packet(dec, pkt);
            if (rc < 0 && rc != AVERROR(EAGAIN)) {
                av_packet_unref(pkt);
                st = fail(path, "corrupt image data", rc, SF_E_FORMAT);
                goto out;
            }
            got = avcodec_receive_frame(dec, frame) == 0;
        }
        av_packet_unref(pkt);
    }
    if (!got || frame->width <= 0 || frame->height <= 0) {
        st = fail(path, "no picture in the file", 0, SF_E_FORMAT);
        goto out;
    }
    int w = frame->width, h = frame->height;
    sws = sws_getContext(w, h, (enum AVPixelFormat)frame->format, w, h, AV_PIX_FMT_RGB24,
                         SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!sws) {
        st = fail(path, "unsupported pixel format", 0, SF_E_FORMAT);
        goto out;
    }
    if (!(*rgb = malloc((size_t)w * h * 3))) {
        st = SF_E_NOMEM;
        goto out;
    }
    uint8_t *dst[4] = {*rgb, NULL, NULL, NULL};
    int stride[4] = {3 * w, 0, 0, 0};
    sws_scale(sws, (const uint8_t *const *)frame->data, frame->linesize, 0, h, dst, stride);
    *width = w, *height = h;
out:
    if (st != SF_OK) {
        free(*rgb);
        *rgb = NULL;
    }
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return st;
}
