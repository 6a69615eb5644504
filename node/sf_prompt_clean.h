/* sf_prompt_clean.h — Wan's prompt cleaning, done before tokenizing (wan/modules/tokenizers.py
 * clean='whitespace', diffusers pipeline_wan.py prompt_clean):
 *
 *     ftfy.fix_text(text) -> html.unescape twice -> strip -> \s+ to ' ' -> strip
 *
 * What of ftfy 6.3 is done, in its order and to its fixed point, per line segment: its own
 * HTML entity unescaping (off for the rest of the text once a segment holds '<'), C1 controls
 * read as windows-1252, Latin ligatures, full/half-width forms, curly quotes, line breaks,
 * terminal escapes, control characters, NFC. What is NOT done: ftfy's encoding repair
 * (fix_encoding: mojibake such as "cafÃ©" -> "café", with restore_byte_a0,
 * replace_lossy_sequences and decode_inconsistent_utf8). Authored prompts are not mojibake; the
 * golden test counts and lists the strings where this makes a difference. Terminal escapes
 * accept ASCII digits only (ftfy's \d also takes other scripts' digits).
 *
 *   char *clean; size_t n, bad;
 *   if (sf_prompt_clean(text, len, &clean, &n, &bad) == SF_E_INVAL) ...byte `bad` is not UTF-8
 *   free(clean);
 */
#ifndef SF_PROMPT_CLEAN_H
#define SF_PROMPT_CLEAN_H

#include <stddef.h>

/* Cleans text[0..len) as Wan does. On SF_OK *out is a malloc'd NUL-terminated UTF-8 string of
 * *out_len bytes that the caller frees. Fails with SF_E_INVAL when text is not valid UTF-8
 * (*bad_offset = byte offset of the first invalid sequence; bad_offset may be NULL), or
 * SF_E_NOMEM. */
int sf_prompt_clean(const char *text, size_t len, char **out, size_t *out_len, size_t *bad_offset);

/* The two halves, for tests and for callers that need only one: ftfy's fix_text subset, and
 * Python's html.unescape (HTML5 named and numeric references, as the standard says). Same
 * contract as sf_prompt_clean. */
int sf_prompt_fix_text(const char *text, size_t len, char **out, size_t *out_len,
                       size_t *bad_offset);
int sf_prompt_html_unescape(const char *text, size_t len, char **out, size_t *out_len,
                            size_t *bad_offset);

#endif
