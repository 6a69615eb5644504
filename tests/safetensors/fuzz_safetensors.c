/* Fuzz harness: the safetensors header parser and validator must never crash, hang, leak or read
 * outside the input on any bytes; whatever it accepts must be readable end to end.
 * The reader and the JSON parser are compiled into this target (tests/safetensors/CMakeLists.txt)
 * so libFuzzer's coverage instrumentation sees them, and the log sinks below replace io/log.c's:
 * one error line per rejected input would drown the fuzzer's own output (and slow it 10x). */
#include "sf_log.h"
#include "sf_safetensors.h"
#include "sf_status.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sf_st *st = NULL;
    if (sf_st_open_mem(data, size, "fuzz", &st) != 0) return 0;
    for (size_t i = 0; i < sf_st_count(st); i++) {
        const struct sf_st_tensor *t = sf_st_at(st, i);
        if (t->n_bytes > (1u << 20)) continue;
        enum sf_dtype to = (t->dtype == SF_DTYPE_BF16 || t->dtype == SF_DTYPE_F16) ? SF_DTYPE_F32 : t->dtype;
        void *buf = malloc(t->n_elems * sf_dtype_size(to) + 1);
        if (buf) sf_st_read_all(t, to, buf, t->n_elems * sf_dtype_size(to) + 1);
        free(buf);
        (void)sf_st_find(st, t->name);
    }
    (void)sf_st_metadata(st, "format");
    sf_st_close(st);
    return 0;
}
