/* sf_audio.h — the sound of a deliverable as a post house makes it (docs/sound.md): audio files
 * decoded to 48 kHz stereo, loudness measured the broadcast way (ITU-R BS.1770 through
 * libavfilter's ebur128: integrated, short-term maximum, true peak), a true-peak limiter of our
 * own, and 24-bit WAV files written bit-exactly.
 *
 *   float *music; int64_t n;
 *   SF_TRY(st, sf_audio_decode("music/bed.flac", 48000 * 20, &music, &n));   // stereo, 48 kHz
 *   struct sf_loudness l;
 *   SF_TRY(st, sf_audio_measure(mix, frames, &l));       // l.integrated -23.0, l.true_peak ...
 *   SF_TRY(st, sf_audio_write_wav("out/mix.wav", mix, frames));
 *
 * Every buffer is interleaved stereo float (L R L R ...), full scale 1.0, at SF_AUDIO_RATE;
 * `frames` counts sample pairs. Full build only (libav*).
 */
#ifndef SF_AUDIO_H
#define SF_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#define SF_AUDIO_RATE 48000

/* BS.1770-4 / EBU R128 measures of a programme, as libavfilter's ebur128 reports them. */
struct sf_loudness {
    double integrated;     /* LUFS (gated); -70 or lower: silence */
    double short_term_max; /* LUFS, the loudest 3 s window (every 100 ms, from 3 s on) */
    double true_peak;      /* dBTP, 4x oversampled; -inf for silence */
    double sample_peak;    /* dBFS */
};

/* Decodes the first audio stream of path to 48 kHz stereo float (resampled with libswresample,
 * mono copied to both sides), at most max_frames frames. *lr is malloc'd (the caller frees it);
 * *frames may be 0. Fails with SF_E_FORMAT when it is not decodable audio (SF_E_NOMEM, SF_E_AV
 * otherwise): with why NULL one line naming the file and the fix is logged, else the reason
 * ("cannot be decoded (...)") goes to why and nothing is logged. */
int sf_audio_decode(const char *path, int64_t max_frames, float **lr, int64_t *frames, char *why,
                    size_t why_len);

/* Measures lr (frames stereo frames at 48 kHz). SF_OK or SF_E_AV / SF_E_NOMEM (logged). */
int sf_audio_measure(const float *lr, int64_t frames, struct sf_loudness *out);

/* A true-peak limiter, look-ahead and delay-compensated: the gain g[i] (0 < g <= 1, one per
 * frame, shared by both sides) that keeps the 4x oversampled peaks of g x lr at or under
 * ceiling_db dBFS. The peaks are found on lr upsampled 4x (windowed-sinc polyphase); the gain
 * reaches each peak's level over the look-ahead (2 ms) before it, so the signal needs no delay,
 * and recovers exponentially (release 80 ms). Returns how many frames it attenuated, or -1 when
 * out of memory. g must hold `frames` floats. */
int64_t sf_audio_limit_gain(const float *lr, int64_t frames, double ceiling_db, float *g);

/* What a mix is mastered to (deliverables.loudness). */
struct sf_master_target {
    double integrated;     /* LUFS */
    double true_peak;      /* dBTP ceiling */
    double short_term_max; /* LUFS; 0: not limited (only reported) */
};
struct sf_master_result {
    struct sf_loudness measured; /* of the final mix, as written (24-bit) */
    double gain_db;              /* the one linear gain */
    int64_t limited_frames;      /* frames the true-peak limiter attenuated */
    int passes;                  /* gain/limit/measure passes it took */
    int short_term_ok;           /* measured.short_term_max within the target (or no target) */
};

/* Masters stems (each interleaved stereo, `frames` long) into one mix: ONE linear gain G and the
 * true-peak limiter's envelope g (sf_audio_limit_gain) such that g G (sum of the stems) measures
 * t->integrated +-0.2 LU with its true peak at or under t->true_peak. The limiter lowers the
 * loudness when it works, so G is found by measuring again (at most 6 passes). Each stem is
 * scaled in place by g G and rounded to 24 bits, and mix (caller's, 2 x frames) is their sum:
 * the stems add up to the mix exactly. Silence stays silence. SF_OK, SF_E_NOMEM, SF_E_AV. */
int sf_audio_master(float *const *stems, int n_stems, int64_t frames,
                    const struct sf_master_target *t, float *mix, struct sf_master_result *r);

/* Writes lr as a 48 kHz 24-bit PCM WAV (libavformat, bit-exact), published durably (temporary
 * name, fsync, rename). Samples are clipped to [-1, 1). */
int sf_audio_write_wav(const char *path, const float *lr, int64_t frames);

/* Rounds x to what a 24-bit file holds (so buffers compare with what was written). */
static inline float sf_audio_q24(float x)
{
    double v = (double)x * 8388608.0;
    v = v >= 8388607.0 ? 8388607.0 : v <= -8388608.0 ? -8388608.0 : v;
    v = v >= 0 ? (double)(int64_t)(v + 0.5) : -(double)(int64_t)(-v + 0.5);
    return (float)(v / 8388608.0);
}

#endif
