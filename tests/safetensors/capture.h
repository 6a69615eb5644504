/* capture.h — runs a call with stderr redirected to a temporary file and returns what it
 * logged, so error tests can assert the exact user-facing line (one line, naming file and
 * tensor). Used by the safetensors and model-directory error tests. */
#ifndef SF_TEST_CAPTURE_H
#define SF_TEST_CAPTURE_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Starts capturing fd 2; returns the saved fd (or -1). */
static inline int capture_begin(FILE **tmp)
{
    fflush(stderr);
    *tmp = tmpfile();
    if (!*tmp) return -1;
    int saved = dup(2);
    dup2(fileno(*tmp), 2);
    return saved;
}

/* Stops capturing, puts the text (NUL-terminated, truncated to n) in buf. */
static inline void capture_end(FILE *tmp, int saved, char *buf, size_t n)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t k = fread(buf, 1, n - 1, tmp);
    buf[k] = 0;
    fclose(tmp);
}

/* Checks that msg is exactly one line containing every NULL-terminated needle. */
static inline int one_line_with(const char *what, const char *msg, const char *const *needles)
{
    int ok = 1;
    const char *nl = strchr(msg, '\n');
    if (!nl || nl[1] != 0) ok = 0;
    for (const char *const *n = needles; *n; n++)
        if (!strstr(msg, *n)) ok = 0;
    if (!ok) {
        fprintf(stderr, "%s: expected one line containing", what);
        for (const char *const *n = needles; *n; n++) fprintf(stderr, " [%s]", *n);
        fprintf(stderr, "\n  got: %s%s", msg, nl ? "" : "\n");
    }
    return ok;
}

#endif
