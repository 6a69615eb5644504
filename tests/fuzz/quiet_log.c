/* quiet_log.c — silent replacements for io/log.c's sinks, linked into fuzz harnesses that compile
 * the code under test into themselves (so SF_FUZZ's coverage reaches it): one error line per
 * rejected input would drown libFuzzer's own output and slow it about 10x. A failed SF_ASSERT
 * still reports and aborts, which is what the fuzzer looks for.
 * Use: add ${SF_TEST_DIR}/fuzz/quiet_log.c to sf_add_fuzz's SOURCES. */
#include "sf_log.h"
#include "sf_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void sf_logv(enum sf_log_level level, const char *module, const char *fmt, va_list ap)
{
    (void)level, (void)module, (void)fmt, (void)ap;
}

void sf_log(enum sf_log_level level, const char *module, const char *fmt, ...)
{
    (void)level, (void)module, (void)fmt;
}

void sf_status_trace(const char *file, int line, const char *expr, int st)
{
    (void)file, (void)line, (void)expr, (void)st;
}

void sf_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fprintf(stderr, "%s:%d: %s: assertion '%s' failed\n", file, line, func, expr);
    abort();
}
