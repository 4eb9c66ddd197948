/* eventstream.c: the AWS event-stream codec; see eventstream.h for the frame layout. */
#include "http/eventstream.h"

#include <string.h>
#include <zlib.h>

#define PRELUDE 12 /* total length, headers length, prelude CRC */
#define MIN_MESSAGE 16

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(0L, p, (uInt)n);
}

/* Size of a fixed-size value of type t; -1 for variable (6, 7) or unknown types. */
static int fixed_size(uint8_t t)
{
    static const int SIZES[] = {0, 0, 1, 2, 4, 8, -1, -1, 8, 16};
    return t < sizeof SIZES / sizeof SIZES[0] ? SIZES[t] : -2;
}

static int parse_headers(const uint8_t *p, size_t n, hr_es_message *m)
{
    size_t i = 0;
    m->n_headers = 0;
    while (i < n) {
        if (m->n_headers == HR_ES_MAX_HEADERS)
            return -1;
        hr_es_header *h = &m->headers[m->n_headers++];
        h->name_len = p[i++];
        if (!h->name_len || i + h->name_len + 1 > n)
            return -1;
        h->name = (const char *)p + i;
        i += h->name_len;
        h->type = p[i++];
        int size = fixed_size(h->type);
        if (size == -2)
            return -1;
        if (size == -1) {
            if (i + 2 > n)
                return -1;
            size = (int)(p[i] << 8 | p[i + 1]);
            i += 2;
        }
        if (i + (size_t)size > n)
            return -1;
        h->value = p + i;
        h->value_len = (size_t)size;
        i += (size_t)size;
    }
    return 0;
}

int hr_es_parse_message(const uint8_t *p, size_t len, hr_es_message *m)
{
    if (len < MIN_MESSAGE || be32(p) != len || crc(p, 8) != be32(p + 8) ||
        crc(p, len - 4) != be32(p + len - 4))
        return -1;
    size_t hlen = be32(p + 4);
    if (hlen > len - MIN_MESSAGE || parse_headers(p + PRELUDE, hlen, m) != 0)
        return -1;
    m->payload = p + PRELUDE + hlen;
    m->payload_len = len - MIN_MESSAGE - hlen;
    return 0;
}

const char *hr_es_header_string(const hr_es_message *m, const char *name, size_t *len)
{
    size_t k = strlen(name);
    for (size_t i = 0; i < m->n_headers; i++) {
        const hr_es_header *h = &m->headers[i];
        if (h->name_len == k && !memcmp(h->name, name, k) && h->type == HR_ES_TYPE_STRING) {
            *len = h->value_len;
            return (const char *)h->value;
        }
    }
    return NULL;
}

void hr_es_decoder_init(hr_es_decoder *d, hr_es_message_fn fn, void *user, size_t max_message)
{
    memset(d, 0, sizeof *d);
    d->on_message = fn;
    d->user = user;
    d->max_message = max_message ? max_message : HR_ES_DEFAULT_MAX_MESSAGE;
}

/* Bytes still needed to complete the current message (the prelude first). 0 when the
 * pending bytes hold a whole message; -1 when its prelude is invalid. */
static long need(const hr_es_decoder *d)
{
    if (d->pending.len < PRELUDE)
        return (long)(PRELUDE - d->pending.len);
    const uint8_t *p = (const uint8_t *)d->pending.data;
    uint32_t total = be32(p);
    if (crc(p, 8) != be32(p + 8) || total < MIN_MESSAGE || total > d->max_message ||
        be32(p + 4) > total - MIN_MESSAGE)
        return -1;
    return (long)(total - d->pending.len);
}

int hr_es_feed(hr_es_decoder *d, const void *data, size_t len)
{
    const uint8_t *in = data;
    while (!d->failed && len > 0) {
        long want = need(d);
        if (want < 0) {
            d->failed = 1;
            break;
        }
        size_t k = (size_t)want < len ? (size_t)want : len;
        if (hr_buf_append(&d->pending, in, k) != 0) {
            d->failed = 1;
            break;
        }
        in += k;
        len -= k;
        long left = need(d);
        if (left < 0) { /* the prelude just completed says no: refuse before buffering more */
            d->failed = 1;
            break;
        }
        if (left > 0)
            continue;
        hr_es_message m;
        if (hr_es_parse_message((const uint8_t *)d->pending.data, d->pending.len, &m) != 0) {
            d->failed = 1;
            break;
        }
        d->messages++;
        if (d->on_message)
            d->on_message(d->user, &m);
        hr_buf_reset(&d->pending);
    }
    if (d->failed)
        hr_buf_free(&d->pending);
    return d->failed ? -1 : 0;
}

void hr_es_decoder_free(hr_es_decoder *d)
{
    hr_buf_free(&d->pending);
}

int hr_es_encode(hr_buf *out, const hr_es_string_header *headers, size_t n_headers,
                 const void *payload, size_t payload_len)
{
    size_t hlen = 0;
    for (size_t i = 0; i < n_headers; i++) {
        size_t nl = strlen(headers[i].name), vl = strlen(headers[i].value);
        if (!nl || nl > 255 || vl > 65535)
            return -1;
        hlen += 1 + nl + 1 + 2 + vl;
    }
    size_t total = hlen + payload_len + MIN_MESSAGE;
    if (total > HR_ES_DEFAULT_MAX_MESSAGE || hr_buf_reserve(out, total) != 0)
        return -1;
    uint8_t *start = (uint8_t *)out->data + out->len, *p = start;
    put_be32(p, (uint32_t)total);
    put_be32(p + 4, (uint32_t)hlen);
    put_be32(p + 8, crc(p, 8));
    p += PRELUDE;
    for (size_t i = 0; i < n_headers; i++) {
        size_t nl = strlen(headers[i].name), vl = strlen(headers[i].value);
        *p++ = (uint8_t)nl;
        memcpy(p, headers[i].name, nl);
        p += nl;
        *p++ = HR_ES_TYPE_STRING;
        *p++ = (uint8_t)(vl >> 8);
        *p++ = (uint8_t)vl;
        memcpy(p, headers[i].value, vl);
        p += vl;
    }
    if (payload_len)
        memcpy(p, payload, payload_len);
    p += payload_len;
    put_be32(p, crc(start, total - 4));
    out->len += total;
    out->data[out->len] = '\0';
    return 0;
}
