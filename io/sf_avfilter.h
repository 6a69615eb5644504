/* sf_avfilter.h — libavfilter chains the review outputs share (docs/review.md): building a chain
 * filter by filter with options set one by one (so text, paths and timecodes need no filter-graph
 * escaping), and decoding a video file through a chain.
 *
 *   static const char *const black[] = {"d", "0.5", NULL};
 *   const struct sf_avfilter_spec chain[] = {{"blackdetect", black}};
 *   SF_TRY(st, sf_avfilter_decode("spot.mp4", chain, 1, -1, on_frame, arg, &rate));
 *
 * Full build only (libav*). */
#ifndef SF_AVFILTER_H
#define SF_AVFILTER_H

#include <libavfilter/avfilter.h>
#include <libavutil/frame.h>

/* One filter: its name and options as key, value, ..., NULL (NULL: none). */
struct sf_avfilter_spec {
    const char *name;
    const char *const *kv;
};

/* Adds filter spec to g and links *prev's output to it (when *prev is not NULL); *prev becomes
 * the new filter. SF_E_AV (logged with the filter and libav's message) or SF_E_NOMEM. */
int sf_avfilter_add(AVFilterGraph *g, AVFilterContext **prev, const struct sf_avfilter_spec *spec);

/* Decodes the first video stream of path, passes every picture through buffer -> chain[0..n) ->
 * (format out_fmt, unless it is -1) -> buffersink, and calls fn for every frame the chain
 * gives, with the stream's time base (fn returns SF_OK to go on, else that status is
 * returned). *rate (may be NULL) is the stream's frame rate. Fails with SF_E_AV / SF_E_IO
 * (logged with the path and libav's message), SF_E_NOMEM, or fn's status. */
int sf_avfilter_decode(const char *path, const struct sf_avfilter_spec *chain, int n, int out_fmt,
                       int (*fn)(void *arg, AVFrame *frame, AVRational time_base), void *arg,
                       AVRational *rate);

#endif
