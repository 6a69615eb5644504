/* audio.c — decoding, loudness, the true-peak limiter and WAV files (sf_audio.h). Used by the
 * sound units (coordinator/unit_sound.c) on CPU lanes, by assembly to read the mixes back, and
 * by the campaign loader to prove a music file decodes.
 *
 * The subtle parts: ebur128 reports through frame metadata, once per 100 ms block, so the
 * programme is fed in 100 ms frames (one block each) and followed by 100 ms of silence that
 * flushes the true-peak upsampler; integrated loudness and the short-term maximum are read
 * before that silence. The limiter works offline on the whole programme, so its look-ahead is
 * a forward window instead of a delay line: the output lines up with the input sample for
 * sample (the delay a real-time limiter adds is compensated by construction). */
#define _POSIX_C_SOURCE 200809L
#include "sf_audio.h"
#include "sf_av_input.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_log.h"
#include "sf_status.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- decoding -------------------------------------------------------------------------- */

/* Appends up to `room` frames of swr's output for `in` (NULL: flush) to buf. */
static int resample_into(SwrContext *swr, const AVFrame *in, float **buf, int64_t *have,
                         int64_t *cap, int64_t max_frames)
{
    const int in_n = in ? in->nb_samples : 0;
    const int64_t want = swr_get_out_samples(swr, in_n) + 16;
    if (*have + want > *cap) {
        int64_t nc = (*have + want) * 2;
        float *nb = realloc(*buf, (size_t)nc * 2 * sizeof **buf);
        if (!nb) return SF_E_NOMEM;
        *buf = nb;
        *cap = nc;
    }
    uint8_t *out[1] = {(uint8_t *)(*buf + *have * 2)};
    int got = swr_convert(swr, out, (int)want, in ? (const uint8_t **)in->extended_data : NULL,
                          in_n);
    if (got < 0) return sf_av_check(got, "resample the sound");
    *have += got;
    if (*have > max_frames) *have = max_frames;
    return SF_OK;
}

int sf_audio_decode(const char *path, int64_t max_frames, float **lr, int64_t *frames, char *why,
                    size_t why_len)
{
    struct sf_av_input in;
    SwrContext *swr = NULL;
    float *buf = NULL;
    int64_t have = 0, cap = 0;
    int st = SF_OK;
    char err[AV_ERROR_MAX_STRING_SIZE] = "";
    *lr = NULL;
    *frames = 0;
    const int level = av_log_get_level();
    av_log_set_level(AV_LOG_QUIET); /* one line of ours instead of libav's chatter */
    int rc = sf_av_input_open(&in, path, AVMEDIA_TYPE_AUDIO, SF_AV_EXPLODE);
    av_log_set_level(level);
    if (rc < 0) {
        const int none = rc == AVERROR_STREAM_NOT_FOUND || rc == AVERROR_DECODER_NOT_FOUND;
        av_strerror(rc, err, sizeof err);
        if (why)
            snprintf(why, why_len, none ? "holds no sound stream" : "cannot be decoded (%s)", err);
        else
            SF_ERROR("audio", "%s: %s; allowed: a WAV, FLAC, MP3 or AAC (.m4a) audio file",
                     path, none ? "holds no sound stream" : err);
        st = rc == AVERROR(ENOMEM) ? SF_E_NOMEM : SF_E_FORMAT;
        goto out;
    }
    const AVCodecContext *dec = in.dec;
    AVChannelLayout stereo;
    av_channel_layout_default(&stereo, 2);
    AVChannelLayout in_layout;
    const int n_in = dec->ch_layout.nb_channels;
    if (dec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || n_in == 0)
        av_channel_layout_default(&in_layout, n_in ? n_in : 2);
    else if (av_channel_layout_copy(&in_layout, &dec->ch_layout) < 0) {
        st = SF_E_NOMEM;
        goto out;
    }
    rc = swr_alloc_set_opts2(&swr, &stereo, AV_SAMPLE_FMT_FLT, SF_AUDIO_RATE, &in_layout,
                             dec->sample_fmt, dec->sample_rate, 0, NULL);
    av_channel_layout_uninit(&in_layout);
    if (rc >= 0) rc = swr_init(swr);
    SF_TRY(st, sf_av_check(rc, "set up the resampler"));
    while (have < max_frames && (rc = sf_av_input_next(&in)) == 0) {
        st = resample_into(swr, in.frame, &buf, &have, &cap, max_frames);
        av_frame_unref(in.frame);
        if (st) goto out;
    }
    if (rc < 0 && rc != AVERROR_EOF) {
        av_strerror(rc, err, sizeof err);
        if (why)
            snprintf(why, why_len, "cannot be decoded after %.2f s (%s)",
                     (double)have / SF_AUDIO_RATE, err);
        else
            SF_ERROR("audio", "%s: cannot be decoded after %.2f s (%s); allowed: an undamaged "
                     "WAV, FLAC, MP3 or AAC file (export it again)", path,
                     (double)have / SF_AUDIO_RATE, err);
        st = SF_E_FORMAT;
        goto out;
    }
    if (have < max_frames) SF_TRY(st, resample_into(swr, NULL, &buf, &have, &cap, max_frames));
    *lr = buf;
    *frames = have;
    buf = NULL;
out:
    free(buf);
    swr_free(&swr);
    sf_av_input_close(&in);
    return st;
}

/* ---- loudness ---------------------------------------------------------------------------- */

static double meta(const AVFrame *f, const char *key, double dflt)
{
    const AVDictionaryEntry *e = av_dict_get(f->metadata, key, NULL, 0);
    return e ? strtod(e->value, NULL) : dflt;
}

int sf_audio_measure(const float *lr, int64_t frames, struct sf_loudness *out)
{
    const int block = SF_AUDIO_RATE / 10; /* ebur128 computes once per 100 ms */
    AVFilterGraph *g = avfilter_graph_alloc();
    AVFilterContext *src = NULL, *ebu = NULL, *sink = NULL;
    AVFrame *in = av_frame_alloc(), *res = av_frame_alloc();
    int st = SF_OK;
    out->integrated = -70;
    out->short_term_max = -120;
    double tp = 0, sp = 0;
    if (!g || !in || !res) {
        st = SF_E_NOMEM;
        goto out;
    }
    g->nb_threads = 1;
    sf_av_log_quiet(); /* ebur128 prints a summary when it is freed */
    char args[128];
    snprintf(args, sizeof args, "time_base=1/%d:sample_rate=%d:sample_fmt=flt:channel_layout=stereo",
             SF_AUDIO_RATE, SF_AUDIO_RATE);
    SF_TRY(st, sf_av_check(avfilter_graph_create_filter(&src, avfilter_get_by_name("abuffer"),
                                                        "in", args, NULL, g),
                           "create the loudness meter's source"));
    SF_TRY(st, sf_av_check(avfilter_graph_create_filter(&ebu, avfilter_get_by_name("ebur128"),
                                                        "ebur128", "peak=true+sample:metadata=1",
                                                        NULL, g),
                           "create the ebur128 loudness meter"));
    SF_TRY(st, sf_av_check(avfilter_graph_create_filter(&sink, avfilter_get_by_name("abuffersink"),
                                                        "out", NULL, NULL, g),
                           "create the loudness meter's sink"));
    SF_TRY(st, sf_av_check(avfilter_link(src, 0, ebu, 0), "link the loudness meter"));
    SF_TRY(st, sf_av_check(avfilter_link(ebu, 0, sink, 0), "link the loudness meter"));
    SF_TRY(st, sf_av_check(avfilter_graph_config(g, NULL), "configure the loudness meter"));
    const int64_t padded = frames + block; /* the silence that flushes the true-peak meter */
    for (int64_t at = 0; at < padded || at == 0; at += block) {
        const int n = (int)(padded - at < block ? padded - at : block);
        in->format = AV_SAMPLE_FMT_FLT;
        in->sample_rate = SF_AUDIO_RATE;
        in->nb_samples = n;
        av_channel_layout_default(&in->ch_layout, 2);
        SF_TRY(st, sf_av_check(av_frame_get_buffer(in, 0), "allocate a sound frame"));
        float *d = (float *)in->data[0];
        for (int i = 0; i < n; i++) {
            const int64_t k = at + i;
            d[2 * i] = k < frames ? lr[2 * k] : 0.0f;
            d[2 * i + 1] = k < frames ? lr[2 * k + 1] : 0.0f;
        }
        in->pts = at;
        st = sf_av_check(av_buffersrc_add_frame(src, in), "measure loudness");
        av_frame_unref(in);
        if (st) goto out;
        for (;;) {
            int rc = av_buffersink_get_frame(sink, res);
            if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) break;
            SF_TRY(st, sf_av_check(rc, "read the loudness meter"));
            const int in_programme = res->pts + res->nb_samples <= frames;
            if (in_programme) { /* the programme's blocks: loudness */
                out->integrated = meta(res, "lavfi.r128.I", out->integrated);
                const double s = meta(res, "lavfi.r128.S", -120);
                if (s > out->short_term_max) out->short_term_max = s;
            }
            tp = fmax(tp, meta(res, "lavfi.r128.true_peak", 0));
            sp = fmax(sp, meta(res, "lavfi.r128.sample_peak", 0));
            av_frame_unref(res);
        }
        if (frames == 0) break;
    }
    out->true_peak = tp > 0 ? 20 * log10(tp) : -INFINITY;
    out->sample_peak = sp > 0 ? 20 * log10(sp) : -INFINITY;
out:
    av_frame_free(&in);
    av_frame_free(&res);
    avfilter_graph_free(&g);
    return st;
}

/* ---- the true-peak limiter ----------------------------------------------------------------- */

#define OS 4          /* oversampling of the peak detector */
#define TAPS 32       /* taps per phase of the interpolator (16 each side) */
#define LOOKAHEAD 96  /* frames: 2 ms at 48 kHz */
#define RELEASE_S 0.08

/* Phase k (1..OS-1) of the interpolator at offset k/OS: Hann-windowed sinc, normalised. */
static void interp_taps(float h[OS][TAPS])
{
    for (int k = 1; k < OS; k++) {
        double sum = 0, t[TAPS];
        for (int j = 0; j < TAPS; j++) {
            const double x = (j - TAPS / 2 + 1) - (double)k / OS; /* tap j is x[i + j - 15] */
            const double sinc = fabs(x) < 1e-12 ? 1.0 : sin(M_PI * x) / (M_PI * x);
            const double win = 0.5 + 0.5 * cos(M_PI * x / (TAPS / 2 + 1));
            t[j] = sinc * win;
            sum += t[j];
        }
        for (int j = 0; j < TAPS; j++)
            h[k][j] = (float)(t[j] / sum);
    }
}

int64_t sf_audio_limit_gain(const float *lr, int64_t frames, double ceiling_db, float *g)
{
    float h[OS][TAPS];
    interp_taps(h);
    const double ceiling = pow(10.0, ceiling_db / 20.0);
    float *m = malloc((size_t)(frames > 0 ? frames : 1) * sizeof *m);
    if (!m) return -1;
    /* r: the gain each frame needs on its own (1 when its oversampled peak is under ceiling) */
    int64_t limited = 0;
    for (int64_t i = 0; i < frames; i++) {
        double peak = 0;
        for (int c = 0; c < 2; c++) {
            peak = fmax(peak, fabs(lr[2 * i + c]));
            for (int k = 1; k < OS; k++) {
                double y = 0;
                for (int j = 0; j < TAPS; j++) {
                    const int64_t s = i + j - TAPS / 2 + 1;
                    if (s >= 0 && s < frames) y += h[k][j] * lr[2 * s + c];
                }
                peak = fmax(peak, fabs(y));
            }
        }
        g[i] = peak > ceiling ? (float)(ceiling / peak) : 1.0f;
    }
    /* m[i] = min g[i .. i + LOOKAHEAD - 1]: a forward window (the look-ahead), monotone deque */
    int64_t *dq = malloc((size_t)(frames > 0 ? frames : 1) * sizeof *dq);
    if (!dq) {
        free(m);
        return -1;
    }
    int64_t head = 0, tail = 0;
    for (int64_t i = frames - 1; i >= 0; i--) {
        while (tail > head && g[dq[tail - 1]] >= g[i])
            tail--;
        dq[tail++] = i;
        while (dq[head] > i + LOOKAHEAD - 1)
            head++;
        m[i] = g[dq[head]];
    }
    free(dq);
    /* release: back towards 1 exponentially, never above m */
    const double beta = exp(-1.0 / (RELEASE_S * SF_AUDIO_RATE));
    double q = 1.0;
    for (int64_t i = 0; i < frames; i++) {
        q = 1.0 - (1.0 - q) * beta;
        if (m[i] < q) q = m[i];
        m[i] = (float)q;
    }
    /* attack: the mean of the last LOOKAHEAD values, each <= the gain frame i needs */
    double sum = 0;
    for (int64_t i = 0; i < frames; i++) {
        sum += m[i];
        if (i >= LOOKAHEAD) sum -= m[i - LOOKAHEAD];
        const int64_t n = i + 1 < LOOKAHEAD ? i + 1 : LOOKAHEAD;
        /* before the programme the gain is 1: the missing terms count as 1 */
        const double v = (sum + (double)(LOOKAHEAD - n)) / LOOKAHEAD;
        g[i] = (float)(v < m[i] ? v : m[i]);
        if (g[i] < 1.0f) limited++;
    }
    free(m);
    return limited;
}

/* ---- mastering --------------------------------------------------------------------------- */

int sf_audio_master(float *const *stems, int n_stems, int64_t frames,
                    const struct sf_master_target *t, float *mix, struct sf_master_result *r)
{
    const size_t n = (size_t)(frames > 0 ? frames : 1);
    float *sum = malloc(2 * n * sizeof *sum), *g = malloc(n * sizeof *g);
    int st = SF_OK;
    memset(r, 0, sizeof *r);
    if (!sum || !g) {
        st = SF_E_NOMEM;
        goto out;
    }
    for (int64_t i = 0; i < 2 * frames; i++) {
        double v = 0;
        for (int k = 0; k < n_stems; k++)
            v += stems[k][i];
        sum[i] = (float)v;
    }
    struct sf_loudness raw;
    SF_TRY(st, sf_audio_measure(sum, frames, &raw));
    double gain_db = 0, ceiling = t->true_peak - 0.3; /* the limiter's margin below the limit */
    for (int64_t i = 0; i < frames; i++)
        g[i] = 1.0f;
    if (raw.integrated > -69.0) { /* silence (below the absolute gate) is left as it is */
        gain_db = t->integrated - raw.integrated;
        for (r->passes = 1; r->passes <= 6; r->passes++) {
            const double G = pow(10.0, gain_db / 20.0);
            for (int64_t i = 0; i < 2 * frames; i++)
                mix[i] = (float)(G * sum[i]);
            r->limited_frames = sf_audio_limit_gain(mix, frames, ceiling, g);
            if (r->limited_frames < 0) {
                st = SF_E_NOMEM;
                goto out;
            }
            for (int64_t i = 0; i < frames; i++)
                mix[2 * i] *= g[i], mix[2 * i + 1] *= g[i];
            struct sf_loudness m;
            SF_TRY(st, sf_audio_measure(mix, frames, &m));
            if (m.true_peak > t->true_peak - 0.1) { /* inter-sample overshoot: a lower ceiling */
                ceiling -= m.true_peak - (t->true_peak - 0.2);
                continue;
            }
            if (fabs(m.integrated - t->integrated) > 0.2) { /* the limiter took loudness away */
                gain_db += t->integrated - m.integrated;
                continue;
            }
            break;
        }
        if (r->passes > 6) r->passes = 6;
    }
    r->gain_db = gain_db;
    const double G = pow(10.0, gain_db / 20.0);
    for (int64_t i = 0; i < frames; i++)
        for (int c = 0; c < 2; c++) {
            double v = 0;
            for (int k = 0; k < n_stems; k++) {
                float *x = &stems[k][2 * i + c];
                *x = sf_audio_q24((float)(G * g[i] * *x));
                v += *x;
            }
            mix[2 * i + c] = (float)v; /* 24-bit values add up to a 24-bit value */
        }
    SF_TRY(st, sf_audio_measure(mix, frames, &r->measured));
    if (r->measured.true_peak > t->true_peak) { /* the passes ran out: a last, plain gain down */
        const double down = pow(10.0, (t->true_peak - 0.1 - r->measured.true_peak) / 20.0);
        r->gain_db += 20.0 * log10(down);
        for (int64_t i = 0; i < 2 * frames; i++) {
            double v = 0;
            for (int k = 0; k < n_stems; k++)
                v += stems[k][i] = sf_audio_q24((float)(down * stems[k][i]));
            mix[i] = (float)v;
        }
        SF_TRY(st, sf_audio_measure(mix, frames, &r->measured));
    }
    r->short_term_ok = t->short_term_max == 0 || r->measured.short_term_max <= t->short_term_max;
out:
    free(sum);
    free(g);
    return st;
}

/* ---- WAV --------------------------------------------------------------------------------- */

int sf_audio_write_wav(const char *path, const float *lr, int64_t frames)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *enc = NULL;
    AVFrame *fr = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    char tmp[4200], what[4300];
    int st = SF_OK, opened = 0;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (!fr || !pkt) {
        st = SF_E_NOMEM;
        goto out;
    }
    snprintf(what, sizeof what, "create the WAV muxer for %s", path);
    SF_TRY(st, sf_av_check(avformat_alloc_output_context2(&fmt, NULL, "wav", tmp), what));
    fmt->flags |= AVFMT_FLAG_BITEXACT;
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PCM_S24LE);
    if (!codec || !(enc = avcodec_alloc_context3(codec))) {
        st = codec ? SF_E_NOMEM : SF_E_UNSUPPORTED;
        goto out;
    }
    enc->sample_rate = SF_AUDIO_RATE;
    enc->sample_fmt = AV_SAMPLE_FMT_S32;
    av_channel_layout_default(&enc->ch_layout, 2);
    enc->time_base = (AVRational){1, SF_AUDIO_RATE};
    enc->flags |= AV_CODEC_FLAG_BITEXACT;
    SF_TRY(st, sf_av_check(avcodec_open2(enc, codec, NULL), "open the PCM encoder"));
    AVStream *as = avformat_new_stream(fmt, NULL);
    if (!as) {
        st = SF_E_NOMEM;
        goto out;
    }
    as->time_base = enc->time_base;
    SF_TRY(st, sf_av_check(avcodec_parameters_from_context(as->codecpar, enc),
                           "copy the sound parameters"));
    int rc = avio_open(&fmt->pb, tmp, AVIO_FLAG_WRITE);
    if (rc < 0) {
        st = sf_av_check(rc, "create a WAV file");
        SF_ERROR("audio", "%s: cannot create it; check that the directory exists and is writable",
                 tmp);
        goto out;
    }
    opened = 1;
    snprintf(what, sizeof what, "write the header of %s", path);
    SF_TRY(st, sf_av_check(avformat_write_header(fmt, NULL), what));
    const int chunk = 4096;
    for (int64_t at = 0; at < frames; at += chunk) {
        const int n = (int)(frames - at < chunk ? frames - at : chunk);
        fr->format = AV_SAMPLE_FMT_S32;
        fr->sample_rate = SF_AUDIO_RATE;
        fr->nb_samples = n;
        av_channel_layout_default(&fr->ch_layout, 2);
        SF_TRY(st, sf_av_check(av_frame_get_buffer(fr, 0), "allocate a sound frame"));
        int32_t *d = (int32_t *)fr->data[0];
        for (int i = 0; i < 2 * n; i++)
            d[i] = (int32_t)((uint32_t)(int32_t)lrint(sf_audio_q24(lr[2 * at + i]) * 8388608.0)
                             << 8);
        fr->pts = at;
        st = sf_av_check(avcodec_send_frame(enc, fr), "encode PCM");
        av_frame_unref(fr);
        if (st) goto out;
        while ((rc = avcodec_receive_packet(enc, pkt)) >= 0) {
            av_packet_rescale_ts(pkt, enc->time_base, as->time_base);
            pkt->stream_index = as->index;
            SF_TRY(st, sf_av_check(av_interleaved_write_frame(fmt, pkt), what));
        }
    }
    SF_TRY(st, sf_av_check(av_write_trailer(fmt), what));
    avio_closep(&fmt->pb);
    opened = 0;
    st = sf_file_publish(tmp, path);
out:
    if (opened) avio_closep(&fmt->pb);
    if (st) unlink(tmp);
    avcodec_free_context(&enc);
    avformat_free_context(fmt);
    av_frame_free(&fr);
    av_packet_free(&pkt);
    return st;
}
