/* hash.c — SHA-256 (OpenSSL EVP) and the canonical field encoding behind every content hash:
 * shot cache keys, identity-bank keys, manifest input hashes, derived seeds. Called by the
 * campaign loader (derived seeds) and later by the planner, cache and checkpoints.
 * The subtle part is injectivity: every field carries its type, its key and its length, so
 * ("ab","c") and ("a","bc") never hash alike, and -0.0 is folded into +0.0 so equal numbers
 * give equal keys. */
#include "sf_hash.h"

#include "sf_errors.h"
#include "sf_status.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

void sf_sha256(const void *data, size_t len, uint8_t out[SF_SHA256_BYTES])
{
    unsigned int n = 0;
    SF_ASSERT(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == SF_SHA256_BYTES);
}

void sf_sha256_hex(const uint8_t digest[SF_SHA256_BYTES], char hex[SF_SHA256_HEX])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SF_SHA256_BYTES; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[2 * SF_SHA256_BYTES] = '\0';
}

int sf_sha256_file(const char *path, uint8_t out[SF_SHA256_BYTES])
{
    FILE *f = fopen(path, "rb");
    if (!f) return sf_err_errno(errno, "open for hashing", path);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    SF_ASSERT(ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1);
    static _Thread_local unsigned char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) SF_ASSERT(EVP_DigestUpdate(ctx, buf, got) == 1);
    int st = SF_OK;
    if (ferror(f)) st = sf_err_errno(errno ? errno : EIO, "read for hashing", path);
    fclose(f);
    unsigned int n = 0;
    SF_ASSERT(EVP_DigestFinal_ex(ctx, out, &n) == 1);
    EVP_MD_CTX_free(ctx);
    return st;
}

static void put(struct sf_canon *c, const void *p, size_t n)
{
    SF_ASSERT(c->ctx && EVP_DigestUpdate((EVP_MD_CTX *)c->ctx, p, n) == 1);
}

static void put_u64(struct sf_canon *c, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    put(c, b, 8);
}

/* type | u32 key length | key | u64 value length (the value follows from the caller). */
static void field(struct sf_canon *c, char type, const char *key, uint64_t value_len)
{
    size_t klen = key ? strlen(key) : 0;
    unsigned char hdr[5] = {(unsigned char)type, (unsigned char)klen, (unsigned char)(klen >> 8),
                            (unsigned char)(klen >> 16), (unsigned char)(klen >> 24)};
    put(c, hdr, 5);
    if (klen) put(c, key, klen);
    put_u64(c, value_len);
}

void sf_canon_begin(struct sf_canon *c, const char *version)
{
    c->ctx = EVP_MD_CTX_new();
    SF_ASSERT(c->ctx && EVP_DigestInit_ex((EVP_MD_CTX *)c->ctx, EVP_sha256(), NULL) == 1);
    sf_canon_str(c, "version", version);
}

void sf_canon_strn(struct sf_canon *c, const char *key, const char *value, size_t len)
{
    field(c, 's', key, len);
    if (len) put(c, value, len);
}

void sf_canon_str(struct sf_canon *c, const char *key, const char *value)
{
    sf_canon_strn(c, key, value ? value : "", value ? strlen(value) : 0);
}

void sf_canon_int(struct sf_canon *c, const char *key, int64_t value)
{
    field(c, 'i', key, 8);
    put_u64(c, (uint64_t)value);
}

void sf_canon_f64(struct sf_canon *c, const char *key, double value)
{
    SF_ASSERT(value == value); /* NaN has no canonical form */
    if (value == 0) value = 0; /* -0 -> +0 */
    uint64_t bits;
    memcpy(&bits, &value, 8);
    field(c, 'f', key, 8);
    put_u64(c, bits);
}

void sf_canon_bytes(struct sf_canon *c, const char *key, const void *data, size_t len)
{
    field(c, 'b', key, len);
    if (len) put(c, data, len);
}

void sf_canon_digest(struct sf_canon *c, const char *key, const uint8_t digest[SF_SHA256_BYTES])
{
    field(c, 'h', key, SF_SHA256_BYTES);
    put(c, digest, SF_SHA256_BYTES);
}

void sf_canon_list_begin(struct sf_canon *c, const char *key, size_t n_items)
{
    field(c, '[', key, n_items);
}

void sf_canon_list_end(struct sf_canon *c)
{
    field(c, ']', NULL, 0);
}

void sf_canon_end(struct sf_canon *c, uint8_t out[SF_SHA256_BYTES])
{
    unsigned int n = 0;
    SF_ASSERT(c->ctx && EVP_DigestFinal_ex((EVP_MD_CTX *)c->ctx, out, &n) == 1);
    EVP_MD_CTX_free((EVP_MD_CTX *)c->ctx);
    c->ctx = NULL;
}
