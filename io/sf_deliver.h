/* sf_deliver.h — deliverable files (docs/deliverables.md): one picture, encoded once, muxed into
 * one file per language with that language's sound, in a broadcast format:
 *   h264    H.264 High, yuv420p, libx264 (CRF, closed GOP, fixed threads), MP4 with +faststart,
 *           AAC 48 kHz stereo;
 *   prores  ProRes 422 HQ (prores_ks, yuv422p10le), MOV, PCM 24-bit 48 kHz stereo;
 *   ffv1    FFV1 level 3 (yuv422p10le), Matroska, PCM 24-bit 48 kHz stereo.
 * Every file: BT.709 limited range, tagged in the stream and the container; a timecode track
 * (MOV/MP4 tmcd) or tag (Matroska) from the given start; bit-exact muxing; the AI disclosure
 * in its metadata; published durably (temporary name, fsync, rename).
 *
 *   struct sf_deliver *d;
 *   const char *paths[] = {"out/spot_en.mp4", "out/spot_es.mp4"};
 *   SF_TRY(st, sf_deliver_open(&opts, paths, 2, &d));
 *   sf_deliver_set_sound(d, 0, mix_en);                        // else silence
 *   for (f = 0; f < opts.frames; f++)
 *       SF_TRY(st, sf_deliver_write(d, rgb, src_w, src_h));   // any size: covered, cropped
 *   SF_TRY(st, sf_deliver_commit(d));                          // d freed either way
 *
 * The picture goes through sf_deliver_write as packed RGB24 of any size: it is scaled to COVER
 * the delivery size (lanczos) and centre-cropped, then converted with BT.709 coefficients
 * (swscale's bit-exact mode, so the bytes do not depend on the CPU). Full build only (libav*).
 */
#ifndef SF_DELIVER_H
#define SF_DELIVER_H

#include <stdint.h>

#include "sf_campaign.h" /* enum sf_codec, struct sf_fps */

#define SF_DELIVER_MAX_OUTPUTS 8
#define SF_DELIVER_RATE 48000 /* audio sample rate */

struct sf_deliver_opts {
    enum sf_codec codec;
    int width, height;   /* delivery size (even) */
    struct sf_fps fps;
    int64_t frames;      /* exact picture frames; the sound lasts exactly as long */
    int crf;             /* H.264 quality (lower is better) */
    const char *preset;  /* x264 preset, e.g. "medium" */
    int threads;         /* encoder threads: fixed, so the bytes do not depend on the node */
    char timecode[16];   /* of the first frame: "01:00:00:00" (';' before frames: drop-frame) */
    const char *title;   /* metadata title */
    const char *comment; /* metadata comment: the AI disclosure */
    /* the brand layer drawn on every picture (sf_brand.h), or NULL: the picture as given; all
     * outputs get the same picture, so one language per writer when supers differ */
    const struct sf_brand *brand;
    enum sf_lang brand_lang;
    int brand_length;    /* deliverables.lengths index of the edit, -1 the full-length edit */
};

struct sf_deliver;

/* The file extension of a codec's container: "mp4", "mov", "mkv". */
const char *sf_deliver_ext(enum sf_codec c);
/* Samples of sound for `frames` frames at fps (exact: frames x 48000 x den / num, rounded
 * down). */
int64_t sf_deliver_samples(int64_t frames, struct sf_fps fps);

/* Opens the encoder and n muxers (one per path, written under temporary names). Fails with
 * SF_E_AV / SF_E_IO / SF_E_UNSUPPORTED (logged with the path and libav's message) or
 * SF_E_NOMEM; nothing is left behind. */
int sf_deliver_open(const struct sf_deliver_opts *o, const char *const *paths, int n,
                    struct sf_deliver **out);
/* The sound of output i (in the order of paths): interleaved stereo float at 48 kHz, exactly
 * sf_deliver_samples(frames, fps) frames, borrowed until commit or abort; PCM files get its
 * 24-bit values exactly (sf_audio_q24). Before the first picture. Without it: silence. */
void sf_deliver_set_sound(struct sf_deliver *d, int i, const float *lr);
/* One picture: packed RGB24, src_w x src_h. On failure d is aborted. */
int sf_deliver_write(struct sf_deliver *d, const uint8_t *rgb, int src_w, int src_h);
/* Flushes, checks that exactly opts.frames pictures came, writes the sound, publishes every
 * file. d is freed either way; on failure no output file is left. */
int sf_deliver_commit(struct sf_deliver *d);
/* Removes the temporary files and frees d; NULL does nothing. */
void sf_deliver_abort(struct sf_deliver *d);

#endif
