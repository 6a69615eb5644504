/* sf_shot_file.h — lossless shot files (written by render's decode units, read by assembly): RGB frames in FFV1 (version 3, planar GBR, 8 bit) inside
 * Matroska, written with the muxer's and encoder's bit-exact flags, so the same frames give the
 * same bytes on every machine and FFmpeg version that honours them (`ffmpeg -f framemd5` is the
 * portable check). Published durably: written to PATH.tmp.<pid>, fsynced, renamed, directory
 * fsynced — a reader sees no file or a complete one.
 *
 *   struct sf_shot_file *f;
 *   SF_TRY(st, sf_shot_file_open("run/shots/a.mkv", 64, 64, 16, 1, &f));
 *   SF_TRY(st, sf_shot_file_write(f, rgb));   // width*height*3 bytes, row-major RGB24
 *   SF_TRY(st, sf_shot_file_commit(f));       // f freed either way
 *
 * Full build only (libavformat, libavcodec).
 */
#ifndef SF_SHOT_FILE_H
#define SF_SHOT_FILE_H

#include <stdint.h>

struct sf_shot_file;

/* Starts a shot file of width x height at fps_num/fps_den. Fails with SF_E_IO / SF_E_INVAL
 * (logged with the path and the libav message). The caller commits or aborts *out. */
int sf_shot_file_open(const char *path, int width, int height, int fps_num, int fps_den,
                      struct sf_shot_file **out);
/* Appends one frame of packed RGB24 (width*height*3 bytes). On failure f is aborted. */
int sf_shot_file_write(struct sf_shot_file *f, const uint8_t *rgb);
/* Flushes the encoder, writes the trailer and publishes the file. f is freed either way. */
int sf_shot_file_commit(struct sf_shot_file *f);
/* Removes the temporary file and frees f; NULL does nothing. */
void sf_shot_file_abort(struct sf_shot_file *f);

/* Reading a shot file back, frame by frame, as packed RGB24 (lossless: the frames written).
 * open fails with SF_E_NOTFOUND (no file), SF_E_FORMAT (not a shot file) or SF_E_AV, logged
 * with the path. next returns SF_OK with width*height*3 bytes in rgb, SF_E_NOTFOUND after the
 * last frame, or the failure. */
struct sf_shot_reader;
int sf_shot_reader_open(const char *path, struct sf_shot_reader **out);
void sf_shot_reader_size(const struct sf_shot_reader *r, int *width, int *height);
int sf_shot_reader_next(struct sf_shot_reader *r, uint8_t *rgb);
void sf_shot_reader_close(struct sf_shot_reader *r);

#endif
