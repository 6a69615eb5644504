/* Fuzz harness (issue 12): the tokenizer.json reader and the encoder must never crash, leak or
 * read out of bounds, whatever the file holds (a corrupt Precompiled charsmap above all: its
 * double-array offsets come straight from the file). Input: a tokenizer.json, optionally
 * followed by a NUL byte and a text to encode; fixed texts are encoded too. */
#include "sf_tokenizer.h"

#include "sf_log.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const char *texts[] = {
    "hello \xe2\x96\x81 world", "  \t ", "\xef\xbc\xa1\xcc\x81\r\n</s>x<pad>", "\xff\xfe",
    "\xe4\xb8\x80\xe4\xb8\xaa \xed\x95\x9c \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sf_log_set_level(SF_LOG_OFF); /* one error line per rejected input would drown libFuzzer */
    const uint8_t *nul = memchr(data, 0, size);
    size_t json_len = nul ? (size_t)(nul - data) : size;
    struct sf_tokenizer *t = NULL;
    if (sf_tokenizer_parse((const char *)data, json_len, "fuzz", &t) != 0) return 0;
    int32_t ids[64];
    size_t n;
    int tr;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        sf_tokenizer_encode(t, texts[i], strlen(texts[i]), 64, 1, ids, &n, &tr);
    if (nul) sf_tokenizer_encode(t, (const char *)nul + 1, size - json_len - 1, 64, 0, ids, &n, &tr);
    sf_tokenizer_destroy(t);
    return 0;
}
