/* av_input.c — reading one stream of a media file frame by frame (sf_av_input.h). Used by the
 * media reader (media_frames.c), the campaign's media probe, the audio decoder and the shot
 * file reader. The subtle thing: libavcodec's send/receive API wants frames received until it
 * answers EAGAIN before the next packet is sent; at the end of the file a NULL packet drains
 * the frames still inside the decoder, which then answers AVERROR_EOF. */
#include "sf_av_input.h"

#include <errno.h>
#include <string.h>

int sf_av_input_open(struct sf_av_input *in, const char *path, enum AVMediaType type,
                     unsigned flags)
{
    memset(in, 0, sizeof *in);
    in->stream = -1;
    int rc = avformat_open_input(&in->fmt, path, NULL, NULL);
    if (rc < 0) return rc;
    if ((rc = avformat_find_stream_info(in->fmt, NULL)) < 0) return rc;
    const AVCodec *codec = NULL;
    rc = av_find_best_stream(in->fmt, type, -1, -1, &codec, 0);
    if (rc < 0) return rc;
    if (!codec) return AVERROR_DECODER_NOT_FOUND;
    in->stream = rc;
    in->dec = avcodec_alloc_context3(codec);
    in->pkt = av_packet_alloc();
    in->frame = av_frame_alloc();
    if (!in->dec || !in->pkt || !in->frame) return AVERROR(ENOMEM);
    if ((rc = avcodec_parameters_to_context(in->dec, in->fmt->streams[in->stream]->codecpar)) < 0)
        return rc;
    if (flags & (SF_AV_EXPLODE | SF_AV_STRICT)) in->dec->err_recognition |= AV_EF_EXPLODE;
    if (flags & SF_AV_STRICT) in->dec->err_recognition |= AV_EF_BITSTREAM | AV_EF_BUFFER;
    if (flags & SF_AV_BITEXACT) {
        in->dec->thread_count = 1;
        in->dec->flags |= AV_CODEC_FLAG_BITEXACT;
    }
    return avcodec_open2(in->dec, codec, NULL);
}

int sf_av_input_next(struct sf_av_input *in)
{
    for (;;) {
        int rc = avcodec_receive_frame(in->dec, in->frame);
        if (rc != AVERROR(EAGAIN)) return rc; /* a frame, the end, or a failure */
        if (in->eof) return AVERROR_EOF;     /* drained: no decoder should get here */
        rc = av_read_frame(in->fmt, in->pkt);
        if (rc == AVERROR_EOF) {
            in->eof = 1;
            rc = avcodec_send_packet(in->dec, NULL);
        } else if (rc >= 0) {
            if (in->pkt->stream_index == in->stream) rc = avcodec_send_packet(in->dec, in->pkt);
            av_packet_unref(in->pkt);
        }
        if (rc < 0) return rc;
    }
}

void sf_av_input_close(struct sf_av_input *in)
{
    av_frame_free(&in->frame);
    av_packet_free(&in->pkt);
    avcodec_free_context(&in->dec);
    avformat_close_input(&in->fmt);
}
