/* sf_timeline.h — an edit as the editor's tools read it (docs/review.md § Timelines): an
 * OpenTimelineIO file (`.otio`, the otio_json schema: Timeline.1 > Stack.1 > Track.1 > Clip.2
 * with ExternalReference.1 media and Marker.2 markers) and a CMX3600 EDL of the same cuts (what
 * Premiere, Avid and Resolve import). Both are written by shotfarm itself (no OTIO library in
 * the product); tests load them with the `opentimelineio` package and its cmx_3600 adapter.
 *
 *   struct sf_timeline_clip clips[] = {{.name = "street", .source = "/run/out/shots/x.mov",
 *                                       .source_frames = 98, .record_in = 0, .frames = 96}};
 *   struct sf_timeline t = {.name = "spot", .fps = {24000, 1001}, .tc_start = {1, 0, 0, 0},
 *                           .frames = 96, .n_clips = 1, .clips = clips};
 *   SF_TRY(st, sf_timeline_write_otio(&t, "spot.otio"));
 *   SF_TRY(st, sf_timeline_write_edl(&t, "spot.edl"));
 *
 * Frames are counted at the delivery rate. Every source starts at the same timecode as the
 * record (shotfarm's files all start at `start_timecode`), so source frame i of a clip is
 * timecode tc_start + i. Both files are published durably (temporary name, fsync, rename). */
#ifndef SF_TIMELINE_H
#define SF_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "sf_campaign.h" /* struct sf_fps */

/* A point of interest inside a clip: a dialogue line. */
struct sf_timeline_marker {
    int64_t frame;        /* source frame (0 = the clip's source file's first frame) */
    const char *name;     /* "coach (en)" */
    const char *comment;  /* the line's text */
    const char *language; /* "en" */
};

struct sf_timeline_clip {
    const char *name;       /* the clip's name ("dawn-run/street take 1") */
    const char *source;     /* absolute path of its media (a shot master) */
    int64_t source_frames;  /* frames the media has */
    int64_t source_in;      /* first media frame used */
    int64_t record_in;      /* first frame on the edit */
    int64_t frames;         /* frames used (> 0) */
    int n_markers;
    const struct sf_timeline_marker *markers;
};

struct sf_timeline {
    const char *name;       /* the edit's name (the spot's file name without language) */
    struct sf_fps fps;
    int tc_start[4];        /* hours, minutes, seconds, frames of the first frame */
    int drop_frame;         /* 29.97 drop-frame labels */
    int64_t frames;         /* the edit's length */
    int n_clips;            /* in record order, back to back from frame 0 */
    const struct sf_timeline_clip *clips;
    const char *comment;    /* the AI disclosure (OTIO metadata) */
};

/* The frame number of a timecode label at fps (drop-frame labels skip frames 0 and 1 of every
 * minute not divisible by 10). */
int64_t sf_timecode_to_frames(const int tc[4], struct sf_fps fps, int drop_frame);
/* "01:00:04:12" (';' before the frames for drop-frame) of frame n. */
void sf_timecode_format(int64_t n, struct sf_fps fps, int drop_frame, char *buf, size_t len);

/* Writes the OTIO file. SF_E_INVAL (logged) when the clips do not tile [0, frames) or a clip
 * reads outside its media; SF_E_IO / SF_E_NOSPC / SF_E_NOMEM from the write. */
int sf_timeline_write_otio(const struct sf_timeline *t, const char *path);
/* Writes the CMX3600 EDL (one cut event per clip, the source named by FROM CLIP NAME and its
 * path by FROM CLIP, dialogue as LOC comments). Fails as sf_timeline_write_otio. */
int sf_timeline_write_edl(const struct sf_timeline *t, const char *path);

#endif
