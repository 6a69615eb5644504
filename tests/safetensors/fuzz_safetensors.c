/* Fuzz harness: the safetensors header parser and validator must never crash, hang, leak or read
 * outside the input on any bytes; whatever it accepts must be readable end to end.
 * Logging is switched off per input: one error line per rejected input would drown the fuzzer's
 * own output (and slow it 10x). */
#include "sf_log.h"
#include "sf_safetensors.h"
#include "sf_status.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sf_log_set_level(SF_LOG_OFF); /* one error line per rejected input would drown libFuzzer */
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
