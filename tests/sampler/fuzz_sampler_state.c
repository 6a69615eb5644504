/* Fuzz harness: sf_sampler_load_mem must never crash, hang, leak or read outside the input on any
 * bytes, and whatever it accepts must be a state the sampler can run to the end. Logging is
 * switched off per input. */
#include "sf_log.h"
#include "sf_sampler.h"
#include "sf_status.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sf_log_set_level(SF_LOG_OFF); /* one error line per rejected input would drown libFuzzer */
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
