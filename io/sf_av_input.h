/* sf_av_input.h — one stream of a media file, decoded frame by frame with libavformat and
 * libavcodec: the one open-and-decode loop behind every file shotfarm reads (reference images
 * and clips, key art, music, shot files). Full build only (FFmpeg).
 *
 *   struct sf_av_input in;
 *   int rc = sf_av_input_open(&in, path, AVMEDIA_TYPE_AUDIO, SF_AV_EXPLODE);
 *   while (rc >= 0 && (rc = sf_av_input_next(&in)) == 0) {
 *       use(in.frame);
 *       av_frame_unref(in.frame);
 *   }
 *   sf_av_input_close(&in);
 *   if (rc != AVERROR_EOF) ... av_strerror(rc, ...): why it could not be read
 *
 * Callers word their own errors from the AVERROR codes (they know which fix to name), and set
 * libav's log level themselves: nothing here logs. */
#ifndef SF_AV_INPUT_H
#define SF_AV_INPUT_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

/* Flags of sf_av_input_open. */
enum {
    SF_AV_EXPLODE = 1 << 0,  /* a decoding error fails instead of being concealed */
    SF_AV_STRICT = 1 << 1,   /* also bitstream deviations and overreads (pictures that are
                              * references: a truncated JPEG is none) */
    SF_AV_BITEXACT = 1 << 2, /* one thread, bit-exact decoding: the same pixels everywhere */
};

struct sf_av_input {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame; /* what sf_av_input_next decoded; the caller unrefs or moves it */
    int stream;     /* index of the stream decoded */
    int eof;        /* the file is read to its end; the decoder is being drained */
};

/* Opens path and a decoder for its best stream of type. Returns 0, or a negative AVERROR:
 * AVERROR(ENOENT) no such file, AVERROR_STREAM_NOT_FOUND / AVERROR_DECODER_NOT_FOUND no stream
 * of that type this FFmpeg decodes, AVERROR(ENOMEM), or the demuxer's and decoder's own codes.
 * *in is filled even on failure: sf_av_input_close it either way. */
int sf_av_input_open(struct sf_av_input *in, const char *path, enum AVMediaType type,
                     unsigned flags);

/* Decodes the next frame into in->frame: 0, AVERROR_EOF once every frame was given (the
 * decoder drained), or the negative AVERROR of a read or decoding failure. */
int sf_av_input_next(struct sf_av_input *in);

/* Frees everything of in (an unopened, zeroed or failed one too). */
void sf_av_input_close(struct sf_av_input *in);

#endif
