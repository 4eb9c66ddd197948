/* base64.c: the codec of base64.h (table-driven, one pass, no allocation beyond the
 * output's single reserve). */
#include "sys/base64.h"

#include <stdint.h>

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int hr_base64_decode(const char *s, size_t n, hr_buf *out)
{
    if (n % 4)
        return -1;
    size_t pad = n && s[n - 1] == '=' ? (n > 1 && s[n - 2] == '=' ? 2 : 1) : 0;
    size_t old = out->len, want = n / 4 * 3 - pad;
    if (hr_buf_reserve(out, want + 1) != 0)
        return -1;
    uint8_t *o = (uint8_t *)out->data + old;
    for (size_t i = 0; i < n; i += 4) {
        const int last = i + 4 == n;
        int v[4];
        for (int k = 0; k < 4; k++) {
            const int is_pad = last && k >= 4 - (int)pad;
            v[k] = is_pad ? 0 : sextet((unsigned char)s[i + k]);
            if (v[k] < 0)
                return -1;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        *o++ = (uint8_t)(w >> 16);
        if (!last || pad < 2)
            *o++ = (uint8_t)(w >> 8);
        if (!last || pad < 1)
            *o++ = (uint8_t)w;
    }
    out->len = old + want;
    out->data[out->len] = '\0';
    return 0;
}

int hr_base64_encode(const void *p, size_t n, hr_buf *out)
{
    const uint8_t *b = p;
    size_t old = out->len, want = (n + 2) / 3 * 4;
    if (hr_buf_reserve(out, want + 1) != 0)
        return -1;
    char *o = out->data + old;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)b[i] << 16;
        if (i + 1 < n)
            w |= (uint32_t)b[i + 1] << 8;
        if (i + 2 < n)
            w |= b[i + 2];
        *o++ = ALPHABET[w >> 18 & 63];
        *o++ = ALPHABET[w >> 12 & 63];
        *o++ = i + 1 < n ? ALPHABET[w >> 6 & 63] : '=';
        *o++ = i + 2 < n ? ALPHABET[w & 63] : '=';
    }
    out->len = old + want;
    out->data[out->len] = '\0';
    return 0;
}
