/* Fuzz harness: the JSON reader must never crash, leak or read out of bounds on any input. */
#include "sf_json.h"

#include "sf_log.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sf_log_set_level(SF_LOG_OFF); /* one error line per rejected input would drown libFuzzer */
    char err[256];
    struct sf_json_doc *d = sf_json_parse((const char *)data, size, err, sizeof err);
    if (d) {
        const struct sf_json *r = sf_json_root(d);
        (void)sf_json_get(r, "__metadata__");
    }
    sf_json_free(d);
    return 0;
}
