/* sf_review_copy.h — a review copy of a delivered file (docs/review.md § Review copies): the same
 * picture with burned-in version code (top left), running timecode (top right), NOT FOR AIR
 * (bottom centre) and the dialogue's subtitles (above it), drawn by libavfilter's drawtext in
 * Debian's Noto Sans Mono Bold and its subtitles filter (libass, Noto Sans CJK for every
 * language), encoded as H.264 MP4 with the spot's sound through io/sf_deliver.h. The delivered
 * files never carry burn-ins.
 *
 *   struct sf_review_copy_opts o = {.label = "STRD0001 v1 en", .deliver = dopts};
 *   SF_TRY(st, sf_review_copy("out/spot_en.mov", "out/review/spot_en_review.mp4", &o));
 *
 * Full build only (libav*). */
#ifndef SF_REVIEW_COPY_H
#define SF_REVIEW_COPY_H

#include "sf_deliver.h"

#define SF_REVIEW_COPY_FONT "/usr/share/fonts/truetype/noto/NotoSansMono-Bold.ttf"
/* The subtitles' font (Debian's fonts-noto-cjk: Latin, Chinese, Japanese and Korean). */
#define SF_REVIEW_COPY_SUB_FONT "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
#define SF_REVIEW_COPY_SUB_FAMILY "Noto Sans CJK SC"

struct sf_review_copy_opts {
    const char *label;              /* the version code burned in at the top left */
    struct sf_deliver_opts deliver; /* H.264, the source's size, rate, frames and timecode */
    const char *subtitles;          /* an SRT file on the copy's time line, or NULL */
    const float *sound;             /* interleaved stereo 48 kHz, the copy's length, or NULL */
    /* called every 16 frames written (a long copy shows it is alive), or NULL */
    void (*progress)(void *arg, int64_t frames);
    void *progress_arg;
};

/* Writes the review copy of src at dst. The burned-in timecode runs from deliver.timecode at
 * deliver.fps. Fails with SF_E_NOTFOUND (the font is missing: logged with its package), the
 * decoder's and the deliver writer's statuses (logged); nothing is left at dst on failure. */
int sf_review_copy(const char *src, const char *dst, const struct sf_review_copy_opts *o);

#endif
