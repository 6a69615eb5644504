/* sf_st_release (io/sf_safetensors.h), which a tensor-parallel rank calls after copying its
 * column slice of a row-parallel weight: the tensor's whole pages leave this process's mapping
 * (Rss of the file's mapping in /proc/self/smaps drops), reading it again gives the same bytes,
 * and a tensor of borrowed bytes (sf_st_open_mem) is left alone. */
#define _POSIX_C_SOURCE 200809L
#include "sf_safetensors.h"
#include "sf_status.h"
#include "sf_test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Resident kB of this process's mappings of `path` (by its file name). */
static double mapped_kb(const char *path)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char line[4096];
    int in = 0;
    double kb = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *dash = strchr(line, '-'), *sp = strchr(line, ' ');
        if (dash && sp && dash < sp) {
            size_t n = strlen(line), b = strlen(base);
            in = n > b + 1 && strncmp(line + n - 1 - b, base, b) == 0;
        } else if (in && strncmp(line, "Rss:", 4) == 0) {
            kb += atof(line + 4);
        }
    }
    if (f) fclose(f);
    return kb;
}

static double sum(const float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s;
}

int main(void)
{
    char path[] = "/tmp/sf_st_release_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return sf_test_result("tp_st_release");
    close(fd);
    const size_t n = 1 << 20; /* 4 MiB of fp32: 1024 pages */
    float *w = malloc(n * sizeof *w), *got = malloc(n * sizeof *got);
    sf_test_fill(w, n, 3);
    struct sf_st_desc d = {
        .name = "w", .dtype = SF_DTYPE_F32, .n_dims = 2, .shape = {1024, 1024}, .data = w};
    CHECK_EQ_INT(sf_st_write(path, &d, 1, NULL, 0, NULL, NULL), SF_OK);

    struct sf_st *st = NULL;
    CHECK_EQ_INT(sf_st_open(path, &st), SF_OK);
    const struct sf_st_tensor *t = st ? sf_st_find(st, "w") : NULL;
    CHECK(t != NULL);
    if (t) {
        /* A column slice, as a tp rank reads it: every page of the tensor is faulted in. */
        CHECK_EQ_INT(sf_st_read(t, SF_DTYPE_F32, 0, 1024, 512, 512, got, n * 2), SF_OK);
        double before = mapped_kb(path);
        sf_st_release(st, t);
        double after = mapped_kb(path);
        fprintf(stderr, "mapped: %.0f kB after the slice read, %.0f kB after release\n", before,
                after);
        CHECK(before >= 4000 && after <= 16); /* at most the header's and the edge pages */
        CHECK_EQ_INT(sf_st_read_all(t, SF_DTYPE_F32, got, n * sizeof *got), SF_OK);
        CHECK(memcmp(got, w, n * sizeof *w) == 0);
        CHECK(sum(got, n) == sum(w, n));
    }
    sf_st_close(st);

    /* Borrowed bytes: nothing happens to them. */
    FILE *f = fopen(path, "rb");
    static unsigned char bytes[(5u << 20)];
    size_t len = f ? fread(bytes, 1, sizeof bytes, f) : 0;
    if (f) fclose(f);
    struct sf_st *mem = NULL;
    CHECK_EQ_INT(sf_st_open_mem(bytes, len, "bytes", &mem), SF_OK);
    const struct sf_st_tensor *tm = mem ? sf_st_find(mem, "w") : NULL;
    if (tm) {
        sf_st_release(mem, tm);
        CHECK(memcmp(tm->data, w, n * sizeof *w) == 0);
    }
    sf_st_close(mem);
    unlink(path);
    free(w);
    free(got);
    return sf_test_result("tp_st_release");
}
