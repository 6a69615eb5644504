/* sf_log.h — one line per event on stderr: "  12.3s r3 ckpt: wrote step 14".
 *
 * The level comes from SF_LOG (off|error|warn|info|debug, default info), read once by
 * sf_log_init(). Elapsed time counts from sf_log_init() (or the first log call). The rank is
 * set by whoever knows it (sf_log_set_rank); -1 prints no rank. Thread-safe: each event is
 * formatted into one buffer and written with one write(2).
 */
#ifndef SF_LOG_H
#define SF_LOG_H

#include <stdarg.h>

/* SF_LOG_OFF silences everything (fuzz harnesses; SF_LOG=off). A failed SF_ASSERT still prints. */
enum sf_log_level { SF_LOG_OFF = -1, SF_LOG_ERROR = 0, SF_LOG_WARN = 1, SF_LOG_INFO = 2,
                    SF_LOG_DEBUG = 3 };

void sf_log_init(void);
void sf_log_set_rank(int rank);
void sf_log_set_level(enum sf_log_level level);
enum sf_log_level sf_log_get_level(void);
/* Parses "off|error|warn|info|debug" (or 0..3); returns -2 when unknown. */
int sf_log_parse_level(const char *s);
/* Seconds since sf_log_init(). */
double sf_log_elapsed(void);
/* CLOCK_MONOTONIC in seconds: the one clock for timing anything (benchmarks, step timers). */
double sf_time_now(void);

/* Error capture: sf_log_error_mark() forgets, sf_log_first_error() returns the first error line
 * ("module: text") this thread logged since (even below the log level), "" when none. Render
 * uses it to report a failed unit's cause. */
void sf_log_error_mark(void);
const char *sf_log_first_error(void);
void sf_log(enum sf_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sf_logv(enum sf_log_level level, const char *module, const char *fmt, va_list ap);

#define SF_ERROR(mod, ...) sf_log(SF_LOG_ERROR, mod, __VA_ARGS__)
#define SF_WARN(mod, ...) sf_log(SF_LOG_WARN, mod, __VA_ARGS__)
#define SF_INFO(mod, ...) sf_log(SF_LOG_INFO, mod, __VA_ARGS__)
#define SF_DEBUG(mod, ...) sf_log(SF_LOG_DEBUG, mod, __VA_ARGS__)

#endif
