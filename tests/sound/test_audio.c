/* test_audio.c — the sound pieces on their own (io/sf_audio.h, io/sf_speech.h): the loudness
 * meter on EBU Tech 3341's reference signals, the true-peak limiter forced to work (a -10 LUFS
 * target with a peaky bed whose inter-sample peaks sit above its samples), mastering that
 * meets -23 LUFS and keeps the stems summing to the mix, 24-bit WAV round trips, decoding
 * errors, and espeak-ng's lines (trimmed to their first sound, unknown variants refused). */
#define _GNU_SOURCE
#include "sf_audio.h"
#include "sf_speech.h"
#include "sf_status.h"
#include "sf_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RATE SF_AUDIO_RATE

/* A stereo sine, both sides, amplitude a (linear), frequency f, phase ph. */
static float *sine(int64_t n, double a, double f, double ph)
{
    float *x = malloc((size_t)n * 2 * sizeof *x);
    for (int64_t i = 0; i < n; i++)
        x[2 * i] = x[2 * i + 1] = (float)(a * sin(2 * M_PI * f * i / RATE + ph));
    return x;
}

/* EBU Tech 3341 case 1: a 1 kHz sine at -23 dBFS on both sides is -23.0 LUFS; case 15-style: a
 * sine at fs/4 sampled 45 degrees off its crest has true peak 3 dB over its samples. */
static void test_meter(void)
{
    float *x = sine(20 * RATE, pow(10, -23 / 20.0), 1000, 0);
    struct sf_loudness l;
    CHECK_EQ_INT(sf_audio_measure(x, 20 * RATE, &l), SF_OK);
    fprintf(stderr, "1 kHz at -23 dBFS: I %.2f LUFS, S max %.2f, true peak %.2f dBTP\n",
            l.integrated, l.short_term_max, l.true_peak);
    CHECK(fabs(l.integrated - -23.0) <= 0.1);
    CHECK(fabs(l.short_term_max - -23.0) <= 0.1);
    CHECK(fabs(l.true_peak - -23.0) <= 0.2);
    free(x);
    x = sine(5 * RATE, 0.5, RATE / 4.0, M_PI / 4);
    CHECK_EQ_INT(sf_audio_measure(x, 5 * RATE, &l), SF_OK);
    fprintf(stderr, "fs/4 at 45 degrees: sample peak %.2f dBFS, true peak %.2f dBTP\n",
            l.sample_peak, l.true_peak);
    CHECK(fabs(l.sample_peak - 20 * log10(0.5 * M_SQRT1_2)) <= 0.05);
    /* ebur128's 4x upsampler reads this 12 kHz tone about 0.6 dB hot (measured: -5.42 dBTP);
     * what matters here is that it sees between the samples at all */
    CHECK(l.true_peak >= 20 * log10(0.5) - 0.1 && l.true_peak <= 20 * log10(0.5) + 0.8);
    CHECK(l.true_peak > l.sample_peak + 2.5);
    free(x);
    /* silence: no loudness, no peak */
    float *z = calloc(2 * RATE, sizeof *z);
    CHECK_EQ_INT(sf_audio_measure(z, RATE, &l), SF_OK);
    CHECK(l.integrated <= -70 && !isfinite(l.true_peak));
    free(z);
}

/* A peaky bed: a quiet pad, and every 0.3 s a click made of fs/4 bursts 45 degrees off their
 * crests, so its true peak is well above its sample peak. */
static float *peaky(int64_t n)
{
    float *x = sine(n, 0.05, 220, 0);
    for (int64_t at = RATE / 10; at + 64 < n; at += RATE * 3 / 10)
        for (int k = 0; k < 48; k++) {
            const double v = 0.6 * sin(2 * M_PI * (at + k) / 4.0 + M_PI / 4) * exp(-k / 16.0);
            x[2 * (at + k)] += (float)v;
            x[2 * (at + k) + 1] -= (float)v;
        }
    return x;
}

static void test_limiter(void)
{
    const int64_t n = 12 * RATE;
    float *bed = peaky(n), *dia = calloc((size_t)n * 2, sizeof *dia), *mix = malloc(n * 8);
    float *stems[2] = {dia, bed};
    struct sf_loudness before;
    CHECK_EQ_INT(sf_audio_measure(bed, n, &before), SF_OK);
    const struct sf_master_target hot = {-10, -1, 0};
    struct sf_master_result r;
    CHECK_EQ_INT(sf_audio_master(stems, 2, n, &hot, mix, &r), SF_OK);
    fprintf(stderr, "peaky bed at %.1f LUFS (sample peak %.1f, true peak %.1f) mastered to -10: "
            "%.2f LUFS, true peak %.2f dBTP, gain %+.1f dB, %lld frames limited, %d passes\n",
            before.integrated, before.sample_peak, before.true_peak, r.measured.integrated,
            r.measured.true_peak, r.gain_db, (long long)r.limited_frames, r.passes);
    CHECK(before.true_peak > before.sample_peak + 1.0); /* the test signal is what it claims */
    CHECK(r.limited_frames > 1000);                    /* the limiter had to work */
    CHECK(r.measured.true_peak <= -1.0);
    CHECK(fabs(r.measured.integrated - -10.0) <= 0.5);
    /* the stems, as scaled, add up to the mix exactly */
    int exact = 1;
    for (int64_t i = 0; i < 2 * n && exact; i++)
        exact = dia[i] + bed[i] == mix[i];
    CHECK(exact);
    /* the gain is one envelope shared by both sides and never above unity gain x G */
    free(bed);
    free(dia);
    free(mix);
}

static void test_master_broadcast(void)
{
    const int64_t n = 10 * RATE;
    float *a = sine(n, 0.02, 440, 0), *b = sine(n, 0.3, 95, 1), *mix = malloc(n * 8);
    float *stems[2] = {a, b};
    const struct sf_master_target ebu = {-23, -1, -18};
    struct sf_master_result r;
    CHECK_EQ_INT(sf_audio_master(stems, 2, n, &ebu, mix, &r), SF_OK);
    CHECK(fabs(r.measured.integrated - -23) <= 0.5);
    CHECK(r.measured.true_peak <= -1 && r.measured.short_term_max <= -18 && r.short_term_ok);
    /* silence is left alone */
    memset(a, 0, n * 8);
    memset(b, 0, n * 8);
    CHECK_EQ_INT(sf_audio_master(stems, 2, n, &ebu, mix, &r), SF_OK);
    CHECK(r.gain_db == 0 && mix[0] == 0 && mix[2 * n - 1] == 0);
    free(a);
    free(b);
    free(mix);
}

static void test_wav_and_decode(void)
{
    char dir[] = "/tmp/sf_audio_XXXXXX", path[256], bad[256], why[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/a.wav", dir);
    const int64_t n = RATE / 2 + 7;
    float *x = sine(n, 0.7, 1234.5, 0.3);
    x[0] = 1.5f; /* clipped to full scale */
    CHECK_EQ_INT(sf_audio_write_wav(path, x, n), SF_OK);
    float *y = NULL;
    int64_t m = 0;
    CHECK_EQ_INT(sf_audio_decode(path, n + 100, &y, &m, NULL, 0), SF_OK);
    CHECK(m == n);
    int same = m == n;
    for (int64_t i = 0; i < 2 * n && same; i++)
        same = y[i] == sf_audio_q24(x[i]);
    CHECK(same); /* 24-bit values exactly */
    free(y);
    /* not sound: a clear reason, no output */
    snprintf(bad, sizeof bad, "%s/bad.wav", dir);
    FILE *f = fopen(bad, "w");
    fputs("this is not a wave file\n", f);
    fclose(f);
    y = NULL;
    CHECK_EQ_INT(sf_audio_decode(bad, n, &y, &m, why, sizeof why), SF_E_FORMAT);
    CHECK(y == NULL && strstr(why, "cannot be decoded") != NULL);
    unlink(bad);
    unlink(path);
    rmdir(dir);
    free(x);
}

static void test_speech(void)
{
    struct sf_speech_voice v = {SF_LANG_EN, "m3", 35, 165};
    float *pcm = NULL;
    int64_t n = 0;
    CHECK_EQ_INT(sf_speech_synth(&v, "Push! Own the morning!", &pcm, &n), SF_OK);
    fprintf(stderr, "en line: %.2f s (espeak-ng %s)\n", (double)n / RATE, sf_speech_version());
    CHECK(n > RATE / 2 && n < 4 * RATE);
    CHECK(pcm && fabsf(pcm[0]) >= 0.001f); /* trimmed: the line starts where it is placed */
    float *again = NULL;
    int64_t n2 = 0;
    CHECK_EQ_INT(sf_speech_synth(&v, "Push! Own the morning!", &again, &n2), SF_OK);
    CHECK(n2 == n && again && memcmp(pcm, again, (size_t)n * sizeof *pcm) == 0); /* deterministic */
    free(again);
    free(pcm);
    /* zh from pinyin, ja from kana */
    struct sf_speech_voice zh = {SF_LANG_ZH, NULL, 50, 165}, ja = {SF_LANG_JA, "f2", 60, 165};
    CHECK_EQ_INT(sf_speech_synth(&zh, "jia1 you2!", &pcm, &n), SF_OK);
    CHECK(n > RATE / 4);
    free(pcm);
    CHECK_EQ_INT(sf_speech_synth(&ja, "がんばって", &pcm, &n), SF_OK);
    CHECK(n > RATE / 4);
    free(pcm);
    /* a faster rate reads the same line in less time */
    struct sf_speech_voice fast = v;
    fast.rate = 300;
    int64_t nf = 0;
    CHECK_EQ_INT(sf_speech_synth(&fast, "Push! Own the morning!", &pcm, &nf), SF_OK);
    CHECK(nf < n2);
    free(pcm);
    CHECK(sf_speech_has_variant("m3") && sf_speech_has_variant("f2"));
    CHECK(!sf_speech_has_variant("nosuchvoice"));
    struct sf_speech_voice bad = {SF_LANG_EN, "nosuchvoice", 50, 165};
    pcm = NULL;
    CHECK_EQ_INT(sf_speech_synth(&bad, "hello", &pcm, &n), SF_E_INVAL);
    CHECK(pcm == NULL);
}

int main(void)
{
    test_meter();
    test_limiter();
    test_master_broadcast();
    test_wav_and_decode();
    test_speech();
    return sf_test_result("sound_audio");
}
