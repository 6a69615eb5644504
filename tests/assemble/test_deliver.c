/* Deliverable files (io/sf_deliver.h): colour bars come out with BT.709 coefficients in limited
 * range (not swscale's default BT.601), every codec's stream carries the tags, the frame count
 * is enforced, the sound lasts exactly as long as the picture, and a bad path fails with the
 * path named and nothing left behind. The files are read back with libavformat/libavcodec. */
#define _POSIX_C_SOURCE 200809L
#include "sf_deliver.h"
#include "sf_log.h"
#include "sf_status.h"
#include "sf_test.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Four vertical bars: red, green, blue, white. */
static void bars(uint8_t *rgb, int w, int h)
{
    static const uint8_t c[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(rgb + 3 * ((size_t)y * w + x), c[x * 4 / w], 3);
}

struct probe {
    int width, height, frames, pix_fmt, range, primaries, trc, space;
    int64_t samples;  /* decoded (AAC: whole frames of 1024, priming cut) */
    int64_t track;    /* the sound track's length in samples, as the container says */
    double y[4], cb[4], cr[4]; /* mid-bar values of the first frame, 8-bit scale */
};

/* Decodes every frame of the video and every sound sample of path. */
static int probe(const char *path, struct probe *p)
{
    memset(p, 0, sizeof *p);
    AVFormatContext *fmt = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0) return -1;
    avformat_find_stream_info(fmt, NULL);
    AVCodecContext *dec[8] = {0};
    for (unsigned i = 0; i < fmt->nb_streams && i < 8; i++) {
        const AVCodecParameters *par = fmt->streams[i]->codecpar;
        const AVCodec *codec = avcodec_find_decoder(par->codec_id);
        if (!codec || (par->codec_type != AVMEDIA_TYPE_VIDEO && par->codec_type != AVMEDIA_TYPE_AUDIO))
            continue;
        if (par->codec_type == AVMEDIA_TYPE_AUDIO && fmt->streams[i]->duration > 0)
            p->track = av_rescale_q(fmt->streams[i]->duration, fmt->streams[i]->time_base,
                                    (AVRational){1, SF_DELIVER_RATE});
        dec[i] = avcodec_alloc_context3(codec);
        avcodec_parameters_to_context(dec[i], par);
        avcodec_open2(dec[i], codec, NULL);
    }
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    for (int eof = 0; !eof;) {
        int rc = av_read_frame(fmt, pkt);
        eof = rc < 0;
        for (unsigned i = 0; i < fmt->nb_streams && i < 8; i++) {
            if (!dec[i] || (!eof && pkt->stream_index != (int)i)) continue;
            avcodec_send_packet(dec[i], eof ? NULL : pkt);
            while (avcodec_receive_frame(dec[i], fr) == 0) {
                if (dec[i]->codec_type == AVMEDIA_TYPE_AUDIO) {
                    p->samples += fr->nb_samples;
                } else {
                    if (p->frames++ == 0) {
                        p->width = fr->width, p->height = fr->height, p->pix_fmt = fr->format;
                        p->range = fr->color_range, p->primaries = fr->color_primaries;
                        p->trc = fr->color_trc, p->space = fr->colorspace;
                        const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fr->format);
                        const int deep = d->comp[0].depth > 8, sx = d->log2_chroma_w;
                        for (int b = 0; b < 4; b++) {
                            const int x = (2 * b + 1) * fr->width / 8, y = fr->height / 2;
                            double v[3];
                            for (int c = 0; c < 3; c++) {
                                const int xx = c ? x >> sx : x, yy = c ? y >> d->log2_chroma_h : y;
                                const uint8_t *row = fr->data[c] + (size_t)yy * fr->linesize[c];
                                v[c] = deep ? ((const uint16_t *)row)[xx] / 4.0 : row[xx];
                            }
                            p->y[b] = v[0], p->cb[b] = v[1], p->cr[b] = v[2];
                        }
                    }
                }
                av_frame_unref(fr);
            }
        }
        av_packet_unref(pkt);
    }
    for (int i = 0; i < 8; i++)
        avcodec_free_context(&dec[i]);
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    return 0;
}

static int leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/sf-deliver.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    enum { SW = 64, SH = 36, FRAMES = 12 };
    uint8_t rgb[SW * SH * 3];
    bars(rgb, SW, SH);
    /* BT.709, limited range, 8-bit scale: Y = 16 + 219 Kr R + ..., C = 128 + 224 (...) / d */
    const double kr = 0.2126, kb = 0.0722, kg = 1 - kr - kb;
    const double want_y[4] = {16 + 219 * kr, 16 + 219 * kg, 16 + 219 * kb, 235};
    const double want_cb[4] = {128 - 112 * kr / (1 - kb), 128 - 112 * kg / (1 - kb), 240, 128};
    const double want_cr[4] = {240, 128 - 112 * kg / (1 - kr), 128 - 112 * kb / (1 - kr), 128};
    const double bt601_red_y = 16 + 219 * 0.299; /* 81.5: what swscale's default would give */

    for (int c = 0; c < SF_CODEC_COUNT; c++) {
        char p0[256], p1[256];
        snprintf(p0, sizeof p0, "%s/bars_en.%s", dir, sf_deliver_ext((enum sf_codec)c));
        snprintf(p1, sizeof p1, "%s/bars_es.%s", dir, sf_deliver_ext((enum sf_codec)c));
        const char *paths[] = {p0, p1};
        struct sf_deliver_opts o = {.codec = (enum sf_codec)c, .width = 320, .height = 180,
                                    .fps = {30000, 1001}, .frames = FRAMES, .crf = 1,
                                    .preset = "veryfast", .threads = 2,
                                    .timecode = "01:00:00;00", .comment = "test"};
        struct sf_deliver *d = NULL;
        CHECK_EQ_INT(sf_deliver_open(&o, paths, 2, &d), SF_OK);
        for (int f = 0; f < FRAMES; f++)
            CHECK_EQ_INT(sf_deliver_write(d, rgb, SW, SH), SF_OK);
        CHECK_EQ_INT(sf_deliver_commit(d), SF_OK);
        for (int k = 0; k < 2; k++) {
            struct probe pr;
            CHECK_EQ_INT(probe(paths[k], &pr), 0);
            CHECK_EQ_INT(pr.frames, FRAMES);
            CHECK(pr.width == 320 && pr.height == 180);
            CHECK(pr.range == AVCOL_RANGE_MPEG && pr.primaries == AVCOL_PRI_BT709 &&
                  pr.trc == AVCOL_TRC_BT709 && pr.space == AVCOL_SPC_BT709);
            /* exactly the picture's length: 12 frames at 29.97 = 12 x 1601.6 samples; PCM
             * decodes to it, AAC's track says it (its last frame is padded to 1024) */
            const int want = (int)sf_deliver_samples(FRAMES, o.fps);
            if (c == SF_CODEC_H264)
                CHECK_EQ_INT((int)pr.track, want);
            else
                CHECK_EQ_INT((int)pr.samples, want);
            for (int b = 0; b < 4; b++) {
                if (fabs(pr.y[b] - want_y[b]) > 2 || fabs(pr.cb[b] - want_cb[b]) > 2 ||
                    fabs(pr.cr[b] - want_cr[b]) > 2) {
                    fprintf(stderr, "%s bar %d: YCbCr %.1f %.1f %.1f, want BT.709 %.1f %.1f %.1f\n",
                            paths[k], b, pr.y[b], pr.cb[b], pr.cr[b], want_y[b], want_cb[b],
                            want_cr[b]);
                    CHECK(0);
                }
            }
            CHECK(fabs(pr.y[0] - bt601_red_y) > 10);
        }
        CHECK_EQ_INT((int)sf_deliver_samples(FRAMES, o.fps), 19219);
    }
    CHECK_EQ_INT(leftovers(dir), 0);

    /* errors: a directory that does not exist (named, nothing left), a wrong frame count */
    sf_log_error_mark();
    char bad[300];
    snprintf(bad, sizeof bad, "%s/missing/spot.mp4", dir);
    const char *bp[] = {bad};
    struct sf_deliver_opts o = {.codec = SF_CODEC_H264, .width = 64, .height = 36,
                                .fps = {24, 1}, .frames = 2, .threads = 1};
    struct sf_deliver *d = NULL;
    CHECK(sf_deliver_open(&o, bp, 1, &d) != SF_OK && d == NULL);
    CHECK(strstr(sf_log_first_error(), bad) != NULL);
    char ok[300];
    snprintf(ok, sizeof ok, "%s/short.mkv", dir);
    const char *op[] = {ok};
    o.codec = SF_CODEC_FFV1;
    CHECK_EQ_INT(sf_deliver_open(&o, op, 1, &d), SF_OK);
    CHECK_EQ_INT(sf_deliver_write(d, rgb, SW, SH), SF_OK);
    sf_log_error_mark();
    CHECK_EQ_INT(sf_deliver_commit(d), SF_E_INVAL); /* 1 of 2 frames */
    CHECK(strstr(sf_log_first_error(), "1 frames written, 2 asked for") != NULL);
    CHECK(access(ok, F_OK) != 0);
    CHECK_EQ_INT(leftovers(dir), 0);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return sf_test_result("assemble_deliver");
}
