/* log.c — the logging and status helpers of sf_log.h / sf_status.h.
 * Called from every layer; depends on nothing of ours. The one subtlety: a log line is
 * assembled in a stack buffer and written with a single write(2), so lines from threads and
 * from ranks sharing a terminal do not interleave mid-line. */
#define _POSIX_C_SOURCE 200809L
#include "sf_log.h"
#include "sf_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static struct timespec t0;
static int t0_set;
static int log_rank = -1;
static enum sf_log_level log_level = SF_LOG_INFO;
/* The first error line of this thread since sf_log_error_mark (render reports it as a unit's
 * cause). Thread-local, so a coordinator thread and a worker never see each other's. */
static _Thread_local char first_error[512];
static _Thread_local int first_error_set;

void sf_log_error_mark(void)
{
    first_error[0] = '\0';
    first_error_set = 0;
}

const char *sf_log_first_error(void) { return first_error; }

int sf_log_parse_level(const char *s)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (!s || !*s) return -2;
    if (strcasecmp(s, "off") == 0) return SF_LOG_OFF;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0) return i;
    if (s[1] == '\0' && s[0] >= '0' && s[0] <= '3') return s[0] - '0';
    return -2;
}

void sf_log_init(void)
{
    if (!t0_set) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        t0_set = 1;
    }
    int lv = sf_log_parse_level(getenv("SF_LOG"));
    if (lv >= SF_LOG_OFF) log_level = (enum sf_log_level)lv;
}

void sf_log_set_rank(int rank) { log_rank = rank; }
void sf_log_set_level(enum sf_log_level level) { log_level = level; }
enum sf_log_level sf_log_get_level(void) { return log_level; }

double sf_log_elapsed(void)
{
    if (!t0_set) sf_log_init();
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - t0.tv_nsec);
}

double sf_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void sf_logv(enum sf_log_level level, const char *module, const char *fmt, va_list ap)
{
    if (level == SF_LOG_ERROR && !first_error_set) {
        va_list aq;
        va_copy(aq, ap);
        int k = snprintf(first_error, sizeof first_error, "%s: ", module);
        if (k > 0 && (size_t)k < sizeof first_error)
            vsnprintf(first_error + k, sizeof first_error - (size_t)k, fmt, aq);
        va_end(aq);
        first_error_set = 1;
    }
    if ((int)level > (int)log_level || (int)level < 0) return;
    char line[2048];
    static const char *tag[] = {"error: ", "warning: ", "", ""};
    int n;
    if (log_rank >= 0)
        n = snprintf(line, sizeof line, "%7.1fs r%d %s: %s", sf_log_elapsed(), log_rank, module,
                     tag[level]);
    else
        n = snprintf(line, sizeof line, "%7.1fs %s: %s", sf_log_elapsed(), module, tag[level]);
    if (n < 0) return;
    if ((size_t)n < sizeof line) {
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        if (m > 0) n += m;
    }
    if ((size_t)n >= sizeof line - 1) n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void sf_log(enum sf_log_level level, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sf_logv(level, module, fmt, ap);
    va_end(ap);
}

static const struct {
    int st;
    const char *name, *text;
} status_table[] = {
    {SF_OK, "SF_OK", "success"},
    {SF_E_NOMEM, "SF_E_NOMEM", "out of memory"},
    {SF_E_IO, "SF_E_IO", "input/output error"},
    {SF_E_FORMAT, "SF_E_FORMAT", "malformed file"},
    {SF_E_INVAL, "SF_E_INVAL", "invalid value"},
    {SF_E_USAGE, "SF_E_USAGE", "usage error"},
    {SF_E_VALIDATION, "SF_E_VALIDATION", "validation failed"},
    {SF_E_UNSUPPORTED, "SF_E_UNSUPPORTED", "not supported"},
    {SF_E_NOTFOUND, "SF_E_NOTFOUND", "not found"},
    {SF_E_NOSPC, "SF_E_NOSPC", "no space left on device"},
    {SF_E_MPI, "SF_E_MPI", "MPI error"},
    {SF_E_HDF5, "SF_E_HDF5", "HDF5 error"},
    {SF_E_AV, "SF_E_AV", "FFmpeg error"},
    {SF_E_CUDA, "SF_E_CUDA", "CUDA error"},
    {SF_E_INTERRUPTED, "SF_E_INTERRUPTED", "interrupted, checkpointed"},
    {SF_E_CHECKSUM, "SF_E_CHECKSUM", "checksum mismatch"},
};

const char *sf_status_name(int st)
{
    for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
        if (status_table[i].st == st) return status_table[i].name;
    return "SF_E_UNKNOWN";
}

const char *sf_status_str(int st)
{
    for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
        if (status_table[i].st == st) return status_table[i].text;
    return "unknown error";
}

int sf_status_exit_code(int st)
{
    switch (st) {
    case SF_OK: return 0;
    case SF_E_USAGE:
    case SF_E_VALIDATION: return 2;
    case SF_E_INTERRUPTED: return 75;
    default: return 1;
    }
}

void sf_status_trace(const char *file, int line, const char *expr, int st)
{
    sf_log(SF_LOG_DEBUG, "trace", "%s:%d: %s -> %s", file, line, expr, sf_status_name(st));
}

void sf_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg, "shotfarm: BUG: rank %d: %s:%d: %s: assertion '%s' failed\n",
                     log_rank, file, line, func, expr);
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, msg, (size_t)(n < (int)sizeof msg ? n : (int)sizeof msg - 1));
        (void)w;
    }
    abort();
}
