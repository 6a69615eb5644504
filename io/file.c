/* file.c — durable writes (temp + fsync + rename + directory fsync) and bounded reads
 * (sf_file.h). Used by every writer of files that must survive a crash. The subtle part is the
 * order: the data is fsynced before the rename, and the directory after it, otherwise a power
 * loss can leave the new name pointing at an empty or partial file. SIGXFSZ is ignored so that
 * exceeding a file-size limit shows up as EFBIG (a clear error) instead of killing the process. */
#define _POSIX_C_SOURCE 200809L
#include "sf_file.h"
#include "sf_errors.h"
#include "sf_log.h"
#include "sf_status.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sf_wfile {
    int fd;
    size_t size;
    char path[PATH_MAX];
    char tmp[PATH_MAX + 32];
};

static atomic_long write_calls;
static atomic_uint tmp_counter;

/* SF_FAULT_WRITE=N[:ERRNO]: returns the errno to inject on this write to path, or 0. With
 * SF_FAULT_WRITE_PATH=TEXT only writes to paths holding TEXT are counted (CPU lanes write the
 * sound files and indexes concurrently with the main thread's checkpoints, so counting every
 * write would not give a fixed order). */
static int injected_fault(const char *path)
{
    static char armed[64]; /* the value the count belongs to: a new value restarts it */
    const char *s = getenv("SF_FAULT_WRITE");
    if (!s || !*s) return 0;
    const char *only = getenv("SF_FAULT_WRITE_PATH");
    if (only && *only && !strstr(path, only)) return 0;
    if (strncmp(s, armed, sizeof armed) != 0) {
        snprintf(armed, sizeof armed, "%s", s);
        atomic_store(&write_calls, 0);
    }
    long n = atol(s);
    long call = atomic_fetch_add(&write_calls, 1) + 1;
    if (n <= 0 || call != n) return 0;
    const char *e = strchr(s, ':');
    if (!e) return ENOSPC;
    e++;
    if (strcmp(e, "EIO") == 0) return EIO;
    if (strcmp(e, "EFBIG") == 0) return EFBIG;
#ifdef EDQUOT
    if (strcmp(e, "EDQUOT") == 0) return EDQUOT;
#endif
    return ENOSPC;
}

int sf_wfile_open(const char *path, struct sf_wfile **out)
{
    static int sigxfsz_ignored;
    if (!sigxfsz_ignored) {
        signal(SIGXFSZ, SIG_IGN);
        sigxfsz_ignored = 1;
    }
    struct sf_wfile *f = calloc(1, sizeof *f);
    if (!f) return SF_E_NOMEM;
    if (strlen(path) >= sizeof f->path) {
        free(f);
        SF_ERROR("io", "%s: path too long", path);
        return SF_E_INVAL;
    }
    strcpy(f->path, path);
    snprintf(f->tmp, sizeof f->tmp, "%s.tmp.%ld.%u", path, (long)getpid(),
             atomic_fetch_add(&tmp_counter, 1));
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        int st = sf_err_errno(errno, "create a temporary file", f->tmp);
        free(f);
        return st;
    }
    *out = f;
    return SF_OK;
}

void sf_wfile_abort(struct sf_wfile *f)
{
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    unlink(f->tmp);
    free(f);
}

size_t sf_wfile_size(const struct sf_wfile *f) { return f->size; }

int sf_wfile_write(struct sf_wfile *f, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        int fault = injected_fault(f->path);
        ssize_t w;
        if (fault) {
            errno = fault;
            w = -1;
        } else {
            w = write(f->fd, p, n > (size_t)1 << 30 ? (size_t)1 << 30 : n);
        }
        if (w < 0) {
            if (errno == EINTR) continue;
            int st = sf_err_errno(errno, "write", f->path);
            sf_wfile_abort(f);
            return st;
        }
        p += w;
        n -= (size_t)w;
        f->size += (size_t)w;
    }
    return SF_OK;
}

int sf_file_sync_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir) return SF_E_INVAL;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sf_err_errno(errno, "open directory for fsync", dir);
    int st = SF_OK;
    if (fsync(fd) != 0 && errno != EINVAL) st = sf_err_errno(errno, "fsync directory", dir);
    close(fd);
    return st;
}

int sf_wfile_commit(struct sf_wfile *f)
{
    int st = SF_OK;
    if (fsync(f->fd) != 0) {
        st = sf_err_errno(errno, "fsync", f->path);
        sf_wfile_abort(f);
        return st;
    }
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0) {
        st = sf_err_errno(errno, "close", f->path);
        sf_wfile_abort(f);
        return st;
    }
    if (rename(f->tmp, f->path) != 0) {
        st = sf_err_errno(errno, "publish (rename)", f->path);
        sf_wfile_abort(f);
        return st;
    }
    st = sf_file_sync_dir(f->path);
    free(f);
    return st;
}

int sf_file_publish(const char *tmp, const char *path)
{
    int st = SF_OK;
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        st = sf_err_errno(errno, "fsync", tmp);
        if (fd >= 0) close(fd);
        unlink(tmp);
        return st;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        st = sf_err_errno(errno, "publish (rename)", path);
        unlink(tmp);
        return st;
    }
    return sf_file_sync_dir(path);
}

int sf_file_write_atomic(const char *path, const void *data, size_t n)
{
    struct sf_wfile *f = NULL;
    int st = sf_wfile_open(path, &f);
    if (st) return st;
    st = sf_wfile_write(f, data, n);
    if (st) return st; /* already aborted */
    return sf_wfile_commit(f);
}

int sf_file_read_all(const char *path, size_t max_bytes, char **data, size_t *n)
{
    int st = SF_OK;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sf_err_errno(errno, "open", path);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = sf_err_errno(errno, "stat", path);
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        SF_ERROR("io", "%s: not a regular file", path);
        st = SF_E_INVAL;
        goto out;
    }
    if ((unsigned long long)sb.st_size > max_bytes) {
        SF_ERROR("io", "%s: %lld bytes is larger than the %zu-byte limit for this kind of file",
                 path, (long long)sb.st_size, max_bytes);
        st = SF_E_FORMAT;
        goto out;
    }
    size_t size = (size_t)sb.st_size, got = 0;
    buf = malloc(size + 1);
    if (!buf) {
        st = SF_E_NOMEM;
        goto out;
    }
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = sf_err_errno(errno, "read", path);
            goto out;
        }
        if (r == 0) break; /* shrank while reading */
        got += (size_t)r;
    }
    buf[got] = '\0';
    *data = buf;
    *n = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return st;
}

int sf_file_is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int sf_file_is_regular(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

int sf_str_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}
