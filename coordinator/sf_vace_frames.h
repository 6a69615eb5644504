/* sf_vace_frames.h — the known frames of a shot's Wan2.1-VACE conditioning video: key art
 * (`first_frame`, `last_frame`) and continuation (`continues`: the last frames of another shot's
 * selected take, read from its shot file), each written into the video with mask 0 (keep), the
 * rest left 0 with mask 1 (generate), as the reference VACE pipeline's masked video takes them
 * (docs/campaign.md § Keyframes and continuation; node/sf_vace.h). Render's denoise units build
 * the video and mask with these, then sf_vace_build_encoded. Full build (FFmpeg). */
#ifndef SF_VACE_FRAMES_H
#define SF_VACE_FRAMES_H

#include <stdint.h>

/* The video (3, frames, height, width) and mask (frames, height, width) of a shot's known
 * frames, *video and *mask malloc'ed (the caller frees them, also on failure), or both NULL
 * when there are none: the last continue_frames frames of the shot file continue_file (NULL:
 * no continuation) as the first frames, then the key art first_frame (frame 0) and last_frame
 * (the last frame), each NULL when absent. What render's denoise units hand sf_vace_build_encoded.
 * SF_OK or the failure of the parts below. */
int sf_vace_frames_build(const char *continue_file, int continue_frames, const char *first_frame,
                         const char *last_frame, int64_t frames, int64_t height, int64_t width,
                         float **video, float **mask);

/* Decodes the image at path (the one picture decoder, io/sf_media.h), covers the
 * height x width frame with it (sf_vace_place_frame) and keeps it as frame f of video
 * (3, frames, height, width) with mask (frames, height, width) 0 there. SF_OK, or the
 * decoder's status (logged with the path) or SF_E_NOMEM. */
int sf_vace_frames_image(const char *path, int64_t f, int64_t frames, int64_t height,
                         int64_t width, float *video, float *mask);

/* Keeps the last n frames of the shot file at path (sf_shot_reader: the 8-bit frames its decode
 * unit wrote, as code / 127.5 - 1) as frames 0 .. n-1 of video, mask 0 there. The shot file must
 * be width x height and hold at least n frames. SF_OK, SF_E_FORMAT (size or length; logged with
 * the path and the fix), the reader's status, or SF_E_NOMEM. */
int sf_vace_frames_continue(const char *path, int n, int64_t frames, int64_t height,
                            int64_t width, float *video, float *mask);

#endif
