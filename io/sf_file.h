/* sf_file.h — small files read whole, and files written whole or not at all: under a temporary
 * name in the target's directory, fsynced, renamed over the target, and the directory fsynced
 * (STYLE.md, "durable writes"). A crash leaves either the old file or the new one, plus at worst a stray
 * "NAME.tmp.PID" that the next writer of NAME ignores.
 *
 *   struct sf_atomic_file a;
 *   SF_TRY(st, sf_file_atomic_open(&a, "out/config.json"));
 *   fputs("{}\n", a.f);                       // or sf_file_atomic_write(&a, buf, n)
 *   SF_TRY(st, sf_file_atomic_commit(&a));         // on any failure before: sf_file_atomic_abort(&a)
 */
#ifndef SF_FILE_H
#define SF_FILE_H

#include <stddef.h>
#include <stdio.h>

/* Reads the whole file into a malloc'ed, NUL-terminated buffer (*buf, freed by the caller) of
 * *len bytes. Files larger than max_bytes are refused. Returns SF_OK, or SF_E_NOTFOUND / SF_E_IO /
 * SF_E_FORMAT (too large) / SF_E_NOMEM with one logged line naming the path. */
int sf_file_read_all(const char *path, size_t max_bytes, char **buf, size_t *len);

struct sf_atomic_file {
    FILE *f;          /* write through this (buffered) */
    char *path;       /* final name (owned) */
    char *tmp;        /* temporary name (owned) */
};

/* Creates the temporary file next to path. Returns SF_OK, or SF_E_IO / SF_E_NOSPC /
 * SF_E_NOTFOUND (missing directory) with one logged line naming the path; *a is then empty and
 * needs no abort. */
int sf_file_atomic_open(struct sf_atomic_file *a, const char *path);
/* fwrite with the error turned into a status (logged once, naming the final path). */
int sf_file_atomic_write(struct sf_atomic_file *a, const void *buf, size_t n);
/* Flushes, fsyncs, renames over the final name and fsyncs the directory. On failure the
 * temporary file is removed. *a is released either way. */
int sf_file_atomic_commit(struct sf_atomic_file *a);
/* Removes the temporary file and releases *a; safe on an empty or released *a. */
void sf_file_atomic_abort(struct sf_atomic_file *a);

#endif
