/* Durable writes: a published file has exactly the bytes written; a failed write (injected
 * ENOSPC at the n-th write, or EIO) leaves the previous file intact and no temp file behind;
 * bounded reads refuse oversized files and non-files. */
#define _POSIX_C_SOURCE 200809L
#include "sf_file.h"
#include "sf_status.h"
#include "sf_test.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

static int count_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/sf-io-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/manifest.json", dir);

    CHECK_EQ_INT(sf_file_write_atomic(path, "first", 5), SF_OK);
    char *data = NULL;
    size_t n = 0;
    CHECK_EQ_INT(sf_file_read_all(path, 1 << 20, &data, &n), SF_OK);
    CHECK(n == 5 && memcmp(data, "first", 5) == 0 && data[5] == '\0');
    free(data);

    /* Streaming in pieces, then the 3rd write of the process fails with ENOSPC. */
    struct sf_wfile *f = NULL;
    CHECK_EQ_INT(sf_wfile_open(path, &f), SF_OK);
    CHECK_EQ_INT(sf_wfile_write(f, "ab", 2), SF_OK);
    setenv("SF_FAULT_WRITE", "1", 1); /* counting starts at the first write after this */
    CHECK_EQ_INT(sf_wfile_write(f, "cd", 2), SF_E_NOSPC); /* f is aborted */
    unsetenv("SF_FAULT_WRITE");
    CHECK_EQ_INT(count_entries(dir), 1); /* no temp file left */
    CHECK_EQ_INT(sf_file_read_all(path, 1 << 20, &data, &n), SF_OK);
    CHECK(n == 5 && memcmp(data, "first", 5) == 0); /* previous content intact */
    free(data);

    /* An injected EIO is an I/O error, not "disk full". */
    setenv("SF_FAULT_WRITE", "1:EIO", 1);
    CHECK_EQ_INT(sf_file_write_atomic(path, "second", 6), SF_E_IO);
    unsetenv("SF_FAULT_WRITE");
    CHECK_EQ_INT(count_entries(dir), 1);

    /* Abort leaves nothing. */
    CHECK_EQ_INT(sf_wfile_open(path, &f), SF_OK);
    CHECK_EQ_INT(sf_wfile_write(f, "xyz", 3), SF_OK);
    CHECK_EQ_INT(sf_wfile_size(f), 3);
    sf_wfile_abort(f);
    CHECK_EQ_INT(count_entries(dir), 1);

    CHECK_EQ_INT(sf_file_write_atomic(path, "second", 6), SF_OK);
    CHECK_EQ_INT(sf_file_read_all(path, 1 << 20, &data, &n), SF_OK);
    CHECK(n == 6 && memcmp(data, "second", 6) == 0);
    free(data);

    /* Bounded reads. */
    CHECK_EQ_INT(sf_file_read_all(path, 3, &data, &n), SF_E_FORMAT);
    CHECK_EQ_INT(sf_file_read_all(dir, 1 << 20, &data, &n), SF_E_INVAL);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    CHECK_EQ_INT(sf_file_read_all(missing, 10, &data, &n), SF_E_NOTFOUND);
    /* Writing into a directory that does not exist. */
    snprintf(missing, sizeof missing, "%s/no/such/dir/file", dir);
    CHECK_EQ_INT(sf_file_write_atomic(missing, "x", 1), SF_E_NOTFOUND);

    unlink(path);
    rmdir(dir);
    return sf_test_result("io_file");
}
