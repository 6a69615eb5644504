/* sf_qc.h — technical and photosensitivity QC of one delivered video file (docs/review.md § QC):
 * the picture is decoded with libavformat/libavcodec and passed through libavfilter's
 * blackdetect and freezedetect; shotfarm's own code measures video levels and flashes.
 *
 *   struct sf_qc_result q;
 *   SF_TRY(st, sf_qc_file("out/spot_en.mp4", NULL, &q));     // NULL: the default thresholds
 *   if (!q.pass) printf("%s\n", q.failures);                  // "3 flashes ..."
 *
 * Checks (each names its standard):
 *  - levels, EBU R 103: in every frame at most 1 % of the pixels may lie outside the tolerated
 *    range, luma Y' from -1 % to 103 % (8-bit codes 13.8..241.6) and each of R'G'B' (BT.709
 *    matrix) from -5 % to 105 %;
 *  - black: a run of at least black_seconds of black frames (blackdetect: 98 % of the pixels
 *    below 10 % luma) outside the intended intervals;
 *  - freeze: at least freeze_seconds without change (freezedetect, -60 dB) outside the intended
 *    intervals;
 *  - flashes, ITU-R BT.1702 (the Ofcom / Harding rule): a flash is a pair of opposing changes of
 *    at least 20 cd/m2 in luminance where the darker state is below 160 cd/m2, over at least 25 %
 *    of the screen at once; a red flash the same for opposing changes of saturated red (R/(R+G+B)
 *    >= 0.8, change of (R - G - B) x 320 of at least 20); more than 3 flashes of either kind in
 *    any one-second window fail. Luminance assumes a BT.1886 display (gamma 2.4) of 200 cd/m2
 *    white; the screen is measured as a grid of 16 x 16 areas.
 * Full build only (libav*). */
#ifndef SF_QC_H
#define SF_QC_H

#include <stdint.h>

#define SF_QC_MAX_EVENTS 8

struct sf_qc_opts {
    double black_seconds;  /* shortest black run reported (default 0.5) */
    double freeze_seconds; /* shortest freeze reported (default 1.0) */
    int n_intended;        /* intervals where black or still pictures are meant (an end card) */
    double intended[4][2]; /* [start, end) seconds */
    /* called every 16 decoded frames (a long check shows it is alive), or NULL */
    void (*progress)(void *arg, int64_t frames);
    void *progress_arg;
};

/* An interval of the file, seconds from its first frame. */
struct sf_qc_event {
    double start, end;
};

struct sf_qc_result {
    int pass;                     /* every check passed */
    int64_t frames;               /* decoded */
    double fps;
    /* levels: the most out-of-range frame, its fraction of pixels out of tolerance, and the
     * extreme luma codes seen (8-bit scale) */
    double levels_worst;          /* fraction of the worst frame's pixels out of tolerance */
    int64_t levels_worst_frame;
    double luma_min, luma_max;
    /* black and frozen runs not inside an intended interval */
    int n_black, n_freeze;
    struct sf_qc_event black[SF_QC_MAX_EVENTS], freeze[SF_QC_MAX_EVENTS];
    /* the most flashes in any one-second window, and the window's first frame */
    int flashes, red_flashes;
    int64_t flashes_frame, red_flashes_frame;
    char failures[512];           /* "; "-separated reasons, "" when pass */
};

/* The default thresholds. */
void sf_qc_opts_default(struct sf_qc_opts *o);
/* Checks the first video stream of the file at path (NULL opts: the defaults). Fills r; the
 * file failing a check is not an error (r->pass is 0). Fails with SF_E_IO / SF_E_AV (logged
 * with the path and libav's message) or SF_E_NOMEM when it cannot be decoded. */
int sf_qc_file(const char *path, const struct sf_qc_opts *opts, struct sf_qc_result *r);

struct sf_jw;
/* Writes r as one JSON object (the `qc` of deliverables.json and the report). */
void sf_qc_write_json(struct sf_jw *w, const struct sf_qc_result *r);

#endif
