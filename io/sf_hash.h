/* sf_hash.h — SHA-256 content hashes over a canonical form of the inputs (docs/campaign.md
 * § Content hashes). Every cache key and manifest hash in shotfarm goes through here, so two
 * runs that mean the same thing hash the same, and two that differ never collide by encoding.
 *
 * Canonical form: a version tag, then fields in the order the caller's schema fixes, each
 * encoded as  type byte | u32 LE key length | key | u64 LE value length | value  with
 *   's' string (UTF-8 bytes), 'i' int64 (8 bytes LE), 'f' double (IEEE-754 bits LE, -0 -> +0;
 *   NaN is a bug), 'b' raw bytes, 'h' a nested digest (32 bytes), '[' / ']' list brackets.
 * Length prefixes make the encoding injective: no two field lists give the same byte stream.
 *
 *   struct sf_canon c;
 *   sf_canon_begin(&c, "shotfarm.shot.v1");
 *   sf_canon_str(&c, "prompt", prompt);
 *   sf_canon_int(&c, "seed", seed);
 *   uint8_t key[SF_SHA256_BYTES];
 *   sf_canon_end(&c, key);
 *
 * Full build only (OpenSSL libcrypto). A failure inside libcrypto is a broken invariant
 * (it only fails on allocation), so these functions abort rather than return a status.
 */
#ifndef SF_HASH_H
#define SF_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SF_SHA256_BYTES 32
#define SF_SHA256_HEX 65 /* 64 hex digits + NUL */

/* One-shot SHA-256 of a buffer. */
void sf_sha256(const void *data, size_t len, uint8_t out[SF_SHA256_BYTES]);
/* Lower-case hex of a digest into hex[SF_SHA256_HEX]. */
void sf_sha256_hex(const uint8_t digest[SF_SHA256_BYTES], char hex[SF_SHA256_HEX]);
/* SHA-256 of a file's bytes, streamed. Returns SF_OK, or SF_E_IO / SF_E_NOTFOUND (logged). */
int sf_sha256_file(const char *path, uint8_t out[SF_SHA256_BYTES]);

struct sf_canon {
    void *ctx; /* EVP_MD_CTX, owned until sf_canon_end */
};

/* Starts a canonical record; `version` ("shotfarm.shot.v1") is hashed first, so a change of
 * schema changes every key. */
void sf_canon_begin(struct sf_canon *c, const char *version);
void sf_canon_str(struct sf_canon *c, const char *key, const char *value); /* NULL hashes as "" */
void sf_canon_strn(struct sf_canon *c, const char *key, const char *value, size_t len);
void sf_canon_int(struct sf_canon *c, const char *key, int64_t value);
void sf_canon_f64(struct sf_canon *c, const char *key, double value);
void sf_canon_bytes(struct sf_canon *c, const char *key, const void *data, size_t len);
void sf_canon_digest(struct sf_canon *c, const char *key, const uint8_t digest[SF_SHA256_BYTES]);
void sf_canon_list_begin(struct sf_canon *c, const char *key, size_t n_items);
void sf_canon_list_end(struct sf_canon *c);
/* Finishes the record into out and frees the context. */
void sf_canon_end(struct sf_canon *c, uint8_t out[SF_SHA256_BYTES]);

#endif
