/* Fuzz harness: the campaign parser and validator must never crash, leak, hang or read out of
 * bounds on any input, YAML or JSON (an input that starts with '{' is also tried as JSON).
 * No base directory, so paths are reported, never opened: the fuzzer cannot reach the file
 * system or the media decoders through it. */
#include "sf_campaign.h"

#include "sf_log.h"

#include <stddef.h>
#include <stdint.h>

static void one(const uint8_t *data, size_t size, int json)
{
    struct sf_campaign *c = NULL;
    struct sf_diags *d = NULL;
    sf_campaign_load_buffer(json ? "fuzz.json" : "fuzz.yaml", NULL, (const char *)data, size, json,
                            SF_CAMPAIGN_NO_MEDIA, &c, &d);
    for (int i = 0; c && i < sf_campaign_n_shots(c); i++)
        (void)sf_campaign_shot(c, i)->effective_prompt[0];
    (void)sf_diags_count(d);
    sf_campaign_destroy(c);
    sf_diags_destroy(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sf_log_set_level(SF_LOG_OFF); /* one error line per rejected input would drown libFuzzer */
    one(data, size, 0);
    if (size && data[0] == '{') one(data, size, 1);
    return 0;
}
