/* hash.h: SHA-256, HMAC-SHA256 and the content hash that names every stored original.
 *
 * The content hash is the one identity shared by compressors (markers), the CCR store and
 * the retrieve routes: the first 12 bytes of SHA-256 over the original bytes, written as 24
 * lowercase hex characters. It depends on the bytes alone, so it is stable across requests,
 * processes and restarts (the determinism invariant). hr_hash64 is a fast non-cryptographic
 * hash (FNV-1a) for in-process tables only; never persist it.
 */
#ifndef HR_SYS_HASH_H
#define HR_SYS_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HR_CONTENT_HASH_HEX 24

typedef struct hr_sha256_ctx {
    uint32_t state[8];
    uint64_t bytes;
    uint8_t block[64];
    size_t fill;
} hr_sha256_ctx;

void hr_sha256_init(hr_sha256_ctx *h);
void hr_sha256_update(hr_sha256_ctx *h, const void *data, size_t len);
void hr_sha256_final(hr_sha256_ctx *h, uint8_t out[32]);
void hr_sha256(const void *data, size_t len, uint8_t out[32]);
/* HMAC-SHA256 (RFC 2104) of msg under key: the primitive of AWS SigV4 (http/sigv4.h). */
void hr_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[32]);

/* SHA-1, only for protocols that require it (the WebSocket handshake's
 * Sec-WebSocket-Accept, RFC 6455 4.2.2); never for identity or integrity. */
void hr_sha1(const void *data, size_t len, uint8_t out[20]);

/* Writes 24 hex chars and a NUL into out (25 bytes). */
void hr_content_hash(const void *data, size_t len, char out[HR_CONTENT_HASH_HEX + 1]);

/* 1 if s is exactly 24 lowercase hex characters (the marker / route grammar). */
int hr_content_hash_valid(const char *s, size_t len);

void hr_hex(const uint8_t *in, size_t n, char *out); /* 2n chars + NUL */

uint64_t hr_hash64(const void *data, size_t len);

#endif
