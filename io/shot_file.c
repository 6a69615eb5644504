/* shot_file.c — FFV1/Matroska shot files (sf_shot_file.h). Called by render's decode units
 * (coordinator/unit_decode.c). The subtle things: bit-exactness needs both AVFMT_FLAG_BITEXACT
 * on the muxer (no encoder version string, no random segment UID) and AV_CODEC_FLAG_BITEXACT on
 * the encoder; FFV1 runs with a fixed slice count and one thread, so its output never depends
 * on the core count; the file is written under a temporary name and renamed only when complete. */
#define _POSIX_C_SOURCE 200809L
#include "sf_shot_file.h"

#include "sf_av_input.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_log.h"
#include "sf_status.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sf_shot_file {
    char path[4096], tmp[4200];
    AVFormatContext *fmt;
    AVCodecContext *enc;
    AVStream *stream;
    AVFrame *frame;
    AVPacket *pkt;
    int64_t pts;
    int header_written;
};

static void release(struct sf_shot_file *f)
{
    if (f->fmt) {
        if (f->fmt->pb) avio_closep(&f->fmt->pb);
        avformat_free_context(f->fmt);
    }
    avcodec_free_context(&f->enc);
    av_frame_free(&f->frame);
    av_packet_free(&f->pkt);
    free(f);
}

void sf_shot_file_abort(struct sf_shot_file *f)
{
    if (!f) return;
    char tmp[sizeof f->tmp];
    memcpy(tmp, f->tmp, sizeof tmp);
    release(f);
    unlink(tmp);
}

int sf_shot_file_open(const char *path, int width, int height, int fps_num, int fps_den,
                      struct sf_shot_file **out)
{
    int st = SF_OK;
    *out = NULL;
    struct sf_shot_file *f = calloc(1, sizeof *f);
    if (!f) return SF_E_NOMEM;
    snprintf(f->path, sizeof f->path, "%s", path);
    snprintf(f->tmp, sizeof f->tmp, "%s.tmp.%ld", path, (long)getpid());
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_FFV1);
    if (!codec) {
        SF_ERROR("shot", "%s: this FFmpeg has no FFV1 encoder; install a full libavcodec", path);
        st = SF_E_UNSUPPORTED;
        goto out;
    }
    SF_TRY(st, sf_av_check(avformat_alloc_output_context2(&f->fmt, NULL, "matroska", f->tmp),
                           "create the Matroska muxer"));
    f->fmt->flags |= AVFMT_FLAG_BITEXACT;
    f->enc = avcodec_alloc_context3(codec);
    f->frame = av_frame_alloc();
    f->pkt = av_packet_alloc();
    if (!f->enc || !f->frame || !f->pkt) {
        st = SF_E_NOMEM;
        goto out;
    }
    f->enc->width = width;
    f->enc->height = height;
    f->enc->pix_fmt = AV_PIX_FMT_0RGB32; /* FFV1's 8-bit RGB */
    f->enc->time_base = (AVRational){fps_den, fps_num};
    f->enc->framerate = (AVRational){fps_num, fps_den};
    f->enc->flags |= AV_CODEC_FLAG_BITEXACT;
    f->enc->thread_count = 1;
    f->enc->level = 3; /* FFV1 version 3: CRC per slice */
    if (f->fmt->oformat->flags & AVFMT_GLOBALHEADER) f->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_opt_set_int(f->enc->priv_data, "slices", 4, 0);
    av_opt_set_int(f->enc->priv_data, "slicecrc", 1, 0);
    SF_TRY(st, sf_av_check(avcodec_open2(f->enc, codec, NULL), "open the FFV1 encoder"));
    f->stream = avformat_new_stream(f->fmt, NULL);
    if (!f->stream) {
        st = SF_E_NOMEM;
        goto out;
    }
    f->stream->time_base = f->enc->time_base;
    SF_TRY(st, sf_av_check(avcodec_parameters_from_context(f->stream->codecpar, f->enc),
                           "copy the encoder parameters"));
    int rc = avio_open(&f->fmt->pb, f->tmp, AVIO_FLAG_WRITE);
    if (rc < 0) {
        char e[128];
        av_strerror(rc, e, sizeof e);
        SF_ERROR("shot",
                 "%s: cannot create (%s); check that the directory exists and is "
                 "writable",
                 f->tmp, e);
        st = SF_E_IO;
        goto out;
    }
    av_dict_set(&f->fmt->metadata, "encoder", "shotfarm", 0);
    SF_TRY(st, sf_av_check(avformat_write_header(f->fmt, NULL), "write the Matroska header"));
    f->header_written = 1;
    f->frame->format = AV_PIX_FMT_0RGB32;
    f->frame->width = width;
    f->frame->height = height;
    SF_TRY(st, sf_av_check(av_frame_get_buffer(f->frame, 0), "allocate a frame"));
    *out = f;
    return SF_OK;
out:
    sf_shot_file_abort(f);
    return st;
}

/* Sends frame (NULL: flush) and writes every packet the encoder gives back. */
static int encode(struct sf_shot_file *f, AVFrame *frame)
{
    int st = SF_OK;
    SF_TRY(st, sf_av_check(avcodec_send_frame(f->enc, frame), "encode a frame with FFV1"));
    for (;;) {
        int rc = avcodec_receive_packet(f->enc, f->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) break;
        SF_TRY(st, sf_av_check(rc, "receive an FFV1 packet"));
        av_packet_rescale_ts(f->pkt, f->enc->time_base, f->stream->time_base);
        f->pkt->stream_index = f->stream->index;
        SF_TRY(st, sf_av_check(av_interleaved_write_frame(f->fmt, f->pkt), "write a packet"));
    }
out:
    return st;
}

int sf_shot_file_write(struct sf_shot_file *f, const uint8_t *rgb)
{
    int st = SF_OK;
    SF_TRY(st, sf_av_check(av_frame_make_writable(f->frame), "make a frame writable"));
    const int w = f->enc->width, h = f->enc->height;
    /* 0RGB32: one native-endian 32-bit word 0x00RRGGBB per pixel */
    for (int y = 0; y < h; y++) {
        uint8_t *row = f->frame->data[0] + (size_t)y * f->frame->linesize[0];
        const uint8_t *src = rgb + (size_t)y * w * 3;
        for (int x = 0; x < w; x++) {
            uint32_t v =
                (uint32_t)src[3 * x] << 16 | (uint32_t)src[3 * x + 1] << 8 | src[3 * x + 2];
            memcpy(row + 4 * (size_t)x, &v, 4);
        }
    }
    f->frame->pts = f->pts++;
    SF_TRY(st, encode(f, f->frame));
    return SF_OK;
out:
    sf_shot_file_abort(f);
    return st;
}

int sf_shot_file_commit(struct sf_shot_file *f)
{
    int st = SF_OK;
    SF_TRY(st, encode(f, NULL));
    SF_TRY(st, sf_av_check(av_write_trailer(f->fmt), "write the Matroska trailer"));
    avio_closep(&f->fmt->pb);
    st = sf_file_publish(f->tmp, f->path);
    release(f);
    return st;
out:
    sf_shot_file_abort(f);
    return st;
}

/* ---- reading ------------------------------------------------------------------------------- */

struct sf_shot_reader {
    char path[4096];
    struct sf_av_input in;
    struct SwsContext *sws;
    int width, height;
};

void sf_shot_reader_close(struct sf_shot_reader *r)
{
    if (!r) return;
    sf_av_input_close(&r->in);
    sws_freeContext(r->sws);
    free(r);
}

int sf_shot_reader_open(const char *path, struct sf_shot_reader **out)
{
    int st = SF_OK;
    *out = NULL;
    struct sf_shot_reader *r = calloc(1, sizeof *r);
    if (!r) return SF_E_NOMEM;
    snprintf(r->path, sizeof r->path, "%s", path);
    const int rc = sf_av_input_open(&r->in, path, AVMEDIA_TYPE_VIDEO, SF_AV_BITEXACT);
    if (rc == AVERROR_STREAM_NOT_FOUND || rc == AVERROR_DECODER_NOT_FOUND) {
        SF_ERROR("shot", "%s: no video stream this FFmpeg decodes; delete it and run the same "
                 "render again (its decode unit remakes it)",
                 path);
        st = SF_E_FORMAT;
        goto out;
    }
    if (rc == AVERROR(ENOMEM)) {
        st = SF_E_NOMEM;
        goto out;
    }
    if (rc < 0) {
        char e[128];
        av_strerror(rc, e, sizeof e);
        SF_ERROR("shot", "%s: cannot open (%s); delete it and run the same render again (its "
                 "decode unit remakes it)", path, e);
        st = rc == AVERROR(ENOENT) ? SF_E_NOTFOUND : SF_E_FORMAT;
        goto out;
    }
    r->width = r->in.dec->width;
    r->height = r->in.dec->height;
    *out = r;
    return SF_OK;
out:
    sf_shot_reader_close(r);
    return st;
}

void sf_shot_reader_size(const struct sf_shot_reader *r, int *width, int *height)
{
    *width = r->width;
    *height = r->height;
}

int sf_shot_reader_next(struct sf_shot_reader *r, uint8_t *rgb)
{
    int st = SF_OK;
    char what[4200]; /* libav's failures name the file and the fix */
    snprintf(what, sizeof what, "decode %s (damaged? delete it and run the same render again)",
             r->path);
    const int rc = sf_av_input_next(&r->in);
    if (rc == AVERROR_EOF) return SF_E_NOTFOUND;
    SF_TRY(st, sf_av_check(rc, what));
    AVFrame *f = r->in.frame;
    if (f->width != r->width || f->height != r->height) {
        SF_ERROR("shot", "%s: a frame of %dx%d in a %dx%d file", r->path, f->width,
                 f->height, r->width, r->height);
        av_frame_unref(f);
        return SF_E_FORMAT;
    }
    if (!r->sws)
        r->sws = sws_getContext(r->width, r->height, f->format, r->width, r->height,
                                AV_PIX_FMT_RGB24, SWS_POINT | SWS_BITEXACT, NULL, NULL, NULL);
    if (!r->sws) {
        av_frame_unref(f);
        SF_ERROR("shot", "%s: cannot convert %s to RGB", r->path,
                 av_get_pix_fmt_name(f->format));
        return SF_E_AV;
    }
    uint8_t *dst[4] = {rgb, NULL, NULL, NULL};
    const int stride[4] = {3 * r->width, 0, 0, 0};
    sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, r->height,
              dst, stride);
    av_frame_unref(f);
out:
    return st;
}
