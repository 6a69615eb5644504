/* file.c — whole-file reads and whole-or-nothing writes (sf_file.h): temp file, fsync, rename,
 * dir fsync. Used by the safetensors reader (indexes) and writer, model_dir (config.json) and
 * mkmodel (config.json, model_index.json).
 * Subtle: fclose() can be the call that reports ENOSPC (buffered data), so its result counts,
 * and the directory fsync is what makes the rename itself survive a power cut. */
#define _POSIX_C_SOURCE 200809L
#include "sf_file.h"
#include "sf_errors.h"
#include "sf_log.h"
#include "sf_status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sf_file_read_all(const char *path, size_t max_bytes, char **buf, size_t *len)
{
    int st = SF_OK;
    FILE *f = fopen(path, "rb");
    *buf = NULL;
    if (!f) return sf_err_errno(errno, "open", path);
    if (fseek(f, 0, SEEK_END) != 0) {
        st = sf_err_errno(errno, "seek", path);
        goto out;
    }
    long n = ftell(f);
    if (n < 0) {
        st = sf_err_errno(errno, "size", path);
        goto out;
    }
    if ((unsigned long)n > max_bytes) {
        SF_ERROR("io", "%s: %ld bytes, more than the %zu expected of this kind of file", path, n,
                 max_bytes);
        st = SF_E_FORMAT;
        goto out;
    }
    rewind(f);
    *buf = malloc((size_t)n + 1);
    if (!*buf) {
        st = SF_E_NOMEM;
        goto out;
    }
    if (fread(*buf, 1, (size_t)n, f) != (size_t)n) {
        st = sf_err_errno(errno ? errno : EIO, "read", path);
        goto out;
    }
    (*buf)[n] = 0;
    *len = (size_t)n;
out:
    fclose(f);
    if (st != SF_OK) {
        free(*buf);
        *buf = NULL;
    }
    return st;
}

int sf_file_atomic_open(struct sf_atomic_file *a, const char *path)
{
    memset(a, 0, sizeof *a);
    size_t n = strlen(path) + 32;
    a->path = strdup(path);
    a->tmp = malloc(n);
    if (!a->path || !a->tmp) {
        sf_file_atomic_abort(a);
        return SF_E_NOMEM;
    }
    snprintf(a->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    a->f = fopen(a->tmp, "wb");
    if (!a->f) {
        int st = sf_err_errno(errno, "create", a->tmp);
        sf_file_atomic_abort(a);
        return st;
    }
    return SF_OK;
}

int sf_file_atomic_write(struct sf_atomic_file *a, const void *buf, size_t n)
{
    if (n && fwrite(buf, 1, n, a->f) != n) return sf_err_errno(errno, "write", a->path);
    return SF_OK;
}

static int fsync_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir) return SF_E_NOMEM;
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = 0;
    else if (slash) *slash = 0;
    else strcpy(dir, ".");
    int st = SF_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd) != 0) st = sf_err_errno(errno, "fsync directory", dir);
    if (fd >= 0) close(fd);
    free(dir);
    return st;
}

int sf_file_atomic_commit(struct sf_atomic_file *a)
{
    int st = SF_OK;
    if (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0) {
        st = sf_err_errno(errno, "write", a->path);
        goto out;
    }
    int rc = fclose(a->f);
    a->f = NULL;
    if (rc != 0) {
        st = sf_err_errno(errno, "close", a->path);
        goto out;
    }
    if (rename(a->tmp, a->path) != 0) {
        st = sf_err_errno(errno, "rename into place", a->path);
        goto out;
    }
    free(a->tmp); /* renamed: nothing left to remove */
    a->tmp = NULL;
    st = fsync_dir(a->path);
out:
    sf_file_atomic_abort(a);
    return st;
}

void sf_file_atomic_abort(struct sf_atomic_file *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
}
