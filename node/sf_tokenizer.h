/* sf_tokenizer.h — a Hugging Face tokenizer.json reader and encoder for the unigram kind that
 * umT5 ships, giving the same ids as the `tokenizers` library (the golden test proves it).
 *
 * Supported, by the names tokenizer.json uses; anything else is refused by name:
 *   normalizer     Sequence, Precompiled (SentencePiece's compiled character map), Strip,
 *                  Replace (a literal string, or a regex of one repeated character like " {2,}")
 *   pre_tokenizer  Sequence, WhitespaceSplit, Metaspace (prepend_scheme always/first/never, or
 *                  the older add_prefix_space form; split on or off)
 *   model          Unigram (Viterbi; unknown characters fused into one <unk>, or byte tokens
 *                  <0xNN> when byte_fallback is on)
 *   post_processor TemplateProcessing (the single-sequence template: umT5's "$A </s>")
 *   added_tokens   matched leftmost-longest in the raw text ("normalized": false, umT5's) or in
 *                  each normalized segment ("normalized": true); lstrip/rstrip honoured,
 *                  single_word refused
 * The file's own "truncation"/"padding" are ignored: callers pass max_len and pad, as Wan does
 * (max_length 512, truncation, padding to max_length).
 *
 *   struct sf_tokenizer *tok;
 *   if (sf_tokenizer_load("tokenizer.json", &tok)) ...          // message already logged
 *   int32_t ids[512]; size_t n; int truncated;
 *   sf_tokenizer_encode(tok, text, strlen(text), 512, 1, ids, &n, &truncated);
 *   sf_tokenizer_destroy(tok);
 *
 * The text should first go through sf_prompt_clean() (sf_prompt_clean.h), as Wan's does.
 * A loaded tokenizer is read-only: encode may run from several threads at once.
 */
#ifndef SF_TOKENIZER_H
#define SF_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

struct sf_tokenizer;

/* Reads and checks tokenizer.json at path. Fails with SF_E_IO (unreadable), SF_E_FORMAT
 * (malformed JSON, a missing or mistyped field, an unsupported component; one line naming the
 * file, the field and the fix is logged) or SF_E_NOMEM. The caller destroys *out. */
int sf_tokenizer_load(const char *path, struct sf_tokenizer **out);
/* The same from memory; `name` is used in messages (e.g. the path). */
int sf_tokenizer_parse(const char *json, size_t len, const char *name, struct sf_tokenizer **out);
void sf_tokenizer_destroy(struct sf_tokenizer *tok);

/* Vocabulary size (the model's pieces; added tokens beyond them included), pad id (-1: none). */
int sf_tokenizer_vocab_size(const struct sf_tokenizer *tok);
int sf_tokenizer_pad_id(const struct sf_tokenizer *tok);

/* Encodes text[0..len) into ids[0..max_len): the template's special tokens around the pieces
 * (umT5: a trailing </s>), the pieces truncated so that the whole fits max_len (*truncated set
 * to 1 when any were cut, else 0), then, when pad, <pad> up to max_len. *n_ids counts the ids
 * written, padding included. Fails with SF_E_INVAL when the text is not valid UTF-8 (check it
 * first with sf_uc_utf8_check to name the offending byte; sf_prompt_clean does), when
 * max_len < 1 or smaller than the template's special tokens, when pad is asked for and there is
 * no <pad>, or when a character is outside the vocabulary of a file without unk_id; SF_E_NOMEM.
 * ids must hold max_len entries. */
int sf_tokenizer_encode(const struct sf_tokenizer *tok, const char *text, size_t len,
                        int max_len, int pad, int32_t *ids, size_t *n_ids, int *truncated);

/* Wan's whole prompt path: sf_prompt_clean (skipped when clean is 0), then sf_tokenizer_encode.
 * `what` names the prompt in messages, e.g. "campaign.yaml: sequences[0].shots[3].prompt" or
 * "stdin line 4". Text that is not UTF-8 fails with SF_E_INVAL and one error line
 * "WHAT: not valid UTF-8 at byte N (1-based); ..."; a prompt longer than max_len is truncated
 * with one warning "WHAT: prompt longer than N tokens, truncated". Otherwise as
 * sf_tokenizer_encode. */
int sf_tokenizer_encode_prompt(const struct sf_tokenizer *tok, const char *text, size_t len,
                               const char *what, int clean, int max_len, int pad, int32_t *ids,
                               size_t *n_ids);

/* Copies a tokenizer.json into model_dir/tokenizer/tokenizer.json for `shotfarm mkmodel`, after
 * checking that it loads: written to a temporary name, fsynced, renamed, directory fsynced.
 * *vocab_size (may be NULL) receives its vocabulary size, for the text encoder's embedding.
 * Fails like sf_tokenizer_load, or SF_E_IO / SF_E_NOSPC when writing. */
int sf_tokenizer_install(const char *src_path, const char *model_dir, int *vocab_size);

#endif
