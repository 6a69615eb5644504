/* sf_file.h — durable file writes and bounded whole-file reads.
 *
 * Every file that must survive a crash (checkpoints, manifests, model files, shots) is written
 * through sf_wfile: to a temporary name beside the target, fsynced, renamed over the target,
 * and the directory fsynced. A reader therefore sees either the old file or the complete new
 * one, never a torn one. On any failure the temporary file is removed and the target is left
 * untouched. ENOSPC / EFBIG / EDQUOT become SF_E_NOSPC with the path in the log line.
 *
 * Fault injection for tests: SF_FAULT_WRITE=N makes the N-th write fail (counted from when the
 * variable took its current value)
 * with ENOSPC (SF_FAULT_WRITE=N:EIO for another errno name: EIO, EFBIG, EDQUOT); with
 * SF_FAULT_WRITE_PATH=TEXT only writes to paths that contain TEXT are counted.
 *
 *   struct sf_wfile *f;
 *   SF_TRY(st, sf_wfile_open("run/manifest.json", &f));
 *   SF_TRY(st, sf_wfile_write(f, buf, n));       // on failure f is already aborted
 *   SF_TRY(st, sf_wfile_commit(f));              // publishes; f is freed either way
 */
#ifndef SF_FILE_H
#define SF_FILE_H

#include <stddef.h>

struct sf_wfile;

/* Creates PATH.tmp.<pid>.<n> for writing. */
int sf_wfile_open(const char *path, struct sf_wfile **out);
/* Appends n bytes. On failure the file is aborted (temp removed, f freed): do not use f again. */
int sf_wfile_write(struct sf_wfile *f, const void *data, size_t n);
/* fsync + close + rename over the target + fsync of the directory. f is freed either way; on
 * failure the temp file is removed and the target is unchanged. */
int sf_wfile_commit(struct sf_wfile *f);
/* Removes the temp file and frees f; NULL does nothing. */
void sf_wfile_abort(struct sf_wfile *f);
/* Bytes written so far. */
size_t sf_wfile_size(const struct sf_wfile *f);

/* Publishes a file another writer (a libav muxer) completed under the temporary name tmp: fsync,
 * rename over path, fsync of the directory. On failure tmp is removed and path is unchanged. */
int sf_file_publish(const char *tmp, const char *path);

/* The whole sequence for one buffer. */
int sf_file_write_atomic(const char *path, const void *data, size_t n);

/* Reads a whole file into a malloc'd buffer (NUL-terminated for convenience; *n excludes the
 * NUL). Files larger than max_bytes are refused with SF_E_FORMAT naming the limit. The caller
 * frees *data. */
int sf_file_read_all(const char *path, size_t max_bytes, char **data, size_t *n);

/* 1 when path names a directory / a regular file (following symlinks), else 0. */
int sf_file_is_dir(const char *path);
int sf_file_is_regular(const char *path);
/* 1 when s ends with suffix. */
int sf_str_ends_with(const char *s, const char *suffix);

/* fsync of the directory that holds path (after a rename or unlink in it). */
int sf_file_sync_dir(const char *path);

#endif
