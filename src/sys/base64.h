/* base64.h: standard base64 (RFC 4648, alphabet A-Z a-z 0-9 + /, '=' padding), the form
 * provider APIs carry images in.
 *
 * Decoding is strict: length a multiple of 4, padding only at the end, no whitespace;
 * anything else is refused so an image we cannot read exactly is forwarded untouched.
 * Ownership: both functions append to a caller-owned hr_buf.
 */
#ifndef HR_SYS_BASE64_H
#define HR_SYS_BASE64_H

#include "sys/buf.h"

#include <stddef.h>

/* Appends the decoded bytes of s[0..n). 0 ok; -1 invalid base64 or out of memory (out
 * keeps what it had). */
int hr_base64_decode(const char *s, size_t n, hr_buf *out);
/* Appends the padded encoding of p[0..n). 0 ok; -1 out of memory. */
int hr_base64_encode(const void *p, size_t n, hr_buf *out);

#endif
