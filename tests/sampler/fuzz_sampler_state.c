/* Fuzz harness: sf_sampler_load_mem must never crash, hang, leak or read outside the input on any
 * bytes, and whatever it accepts must be a state the sampler can run to the end. The sampler and
 * the safetensors reader are compiled into this target (tests/sampler/CMakeLists.txt) so
 * SF_FUZZ's coverage reaches them; the log sinks below replace io/log.c's, as in
 * fuzz_safetensors.c (an error line per rejected input would drown libFuzzer's output). */
#include "sf_log.h"
#include "sf_sampler.h"
#include "sf_status.h"

#include <stdarg.h>
#include <stdint.h>
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sf_sampler *s = NULL;
    if (sf_sampler_load_mem(data, size, "fuzz", &s) != SF_OK) return 0;
    /* accepted: it must run to the end (a step on a bad state would trip an assert) */
    if (s->n <= (1 << 16)) {
        float *v = calloc((size_t)s->n, sizeof *v);
        while (v && !sf_sampler_done(s)) {
            (void)sf_sampler_timestep(s);
            sf_sampler_step(s, v);
        }
        free(v);
    }
    sf_sampler_destroy(s);
    return 0;
}
