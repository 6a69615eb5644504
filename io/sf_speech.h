/* sf_speech.h — synthetic dialogue with libespeak-ng (docs/sound.md § Dialogue). shotfarm makes
 * no lip sync and clones no voice: every line is read by espeak-ng's formant synthesiser.
 *
 * espeak-ng voices belong to one language, so a line's voice is its language's base voice
 * (sf_speech_base_voice) with the speaker's variant ("m3", "f2": espeak-ng's voices/!v), pitch
 * and rate. zh is read from its pinyin (`phonetic`, with cmn-latn-pinyin: espeak-ng 1.51's
 * `cmn` reads tone digits aloud) and ja from its kana reading.
 *
 *   struct sf_speech_voice v = {SF_LANG_EN, "m3", 35, 165};
 *   float *pcm; int64_t n;
 *   SF_TRY(st, sf_speech_synth(&v, "Push! Own the morning!", &pcm, &n));   // 48 kHz mono
 *
 * espeak-ng is not thread-safe: every call here holds one process-wide lock. Each line is read
 * in a short-lived fork of the caller (espeak-ng carries state from one synthesis to the next),
 * so a line's samples are the same whatever was read before it. Full build only.
 */
#ifndef SF_SPEECH_H
#define SF_SPEECH_H

#include <stdint.h>

#include "sf_campaign.h" /* enum sf_lang */

#define SF_SPEECH_DEFAULT_PITCH 50
#define SF_SPEECH_DEFAULT_RATE 165 /* words per minute (espeak-ng's default is 175) */

struct sf_speech_voice {
    enum sf_lang language;
    const char *variant; /* NULL: the base voice as it is */
    int pitch;           /* 0..99 */
    int rate;            /* words per minute, 80..450 */
};

/* The espeak-ng voice each language is read with: en-us, es, cmn-latn-pinyin, ja, ko. */
const char *sf_speech_base_voice(enum sf_lang l);
/* Whether espeak-ng has the variant (a name from its voices/!v directory, such as "m3"). */
int sf_speech_has_variant(const char *variant);
/* espeak-ng's version ("1.51"): part of a sound unit's key. */
const char *sf_speech_version(void);

/* Reads text (for zh: pinyin; ja: kana) in voice v: 48 kHz mono float (resampled from
 * espeak-ng's 22.05 kHz with libswresample), silence before the first and after the last
 * sound trimmed, so the line starts exactly where it is placed. *pcm is malloc'd. Fails with
 * SF_E_UNSUPPORTED (espeak-ng's data or the voice is missing: logged with the fix),
 * SF_E_INVAL (an unknown variant) or SF_E_NOMEM. Deterministic. */
int sf_speech_synth(const struct sf_speech_voice *v, const char *text, float **pcm, int64_t *n);

#endif
