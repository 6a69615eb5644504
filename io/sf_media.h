/* sf_media.h — pictures from media files: the frames of a still image or a video clip shown at
 * given times, decoded with libavformat/libavcodec and converted to packed 8-bit RGB with
 * libswscale. One decoder for every picture shotfarm reads (reference images, the frames sampled
 * from a reference clip, keyframes), so `validate` and `render` agree on what decodes. Full
 * build only (FFmpeg).
 *
 *   double t[SF_MEDIA_CLIP_SAMPLES];
 *   sf_media_clip_times(el->clip_seconds, t);
 *   uint8_t *rgb = NULL; int w, h; char why[256];
 *   if (sf_media_frames(el->clip, SF_MEDIA_CLIP_SAMPLES, t, &rgb, &w, &h, why, sizeof why))
 *       SF_ERROR("render", "%s %s", el->clip, why);
 */
#ifndef SF_MEDIA_H
#define SF_MEDIA_H

#include <stddef.h>
#include <stdint.h>

/* The sample rule of a reference clip (docs/campaign.md § elements): SF_MEDIA_CLIP_SAMPLES
 * frames, at the centres of equal parts of its duration, (2i + 1) / (2 · N) · seconds for
 * i = 0 .. N - 1 (1/6, 1/2 and 5/6 of a clip), each the frame shown at that time.
 * SF_MEDIA_CLIP_RULE names the rule in content hashes: a changed rule re-encodes. */
#define SF_MEDIA_CLIP_SAMPLES 3
#define SF_MEDIA_CLIP_RULE "clip.centres.3.v1"
void sf_media_clip_times(double seconds, double times[SF_MEDIA_CLIP_SAMPLES]);

/* Decodes the frames of path shown at times[0 .. n) seconds (ascending, counted from the first
 * frame): for each t the last frame whose presentation time is <= t (the first frame for t = 0,
 * a still image's only frame; the last frame for a t past the end). Corrupt data fails rather
 * than being concealed. On success *rgb is (n, *height, *width, 3), malloc'ed, the caller's.
 * Returns SF_OK, SF_E_NOTFOUND (no such file), SF_E_FORMAT (not decodable, no picture, a size
 * that changes between frames) or SF_E_NOMEM, with why ("cannot be decoded (Invalid data found
 * when processing input)") filled on failure. Logs nothing (libav*'s own log is silenced while
 * it runs, and restored). */
int sf_media_frames(const char *path, int n, const double *times, uint8_t **rgb, int *width,
                    int *height, char *why, size_t why_len);

#endif
