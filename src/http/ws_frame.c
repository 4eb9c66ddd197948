/* ws_frame.c: the RFC 6455 frame codec (see ws_frame.h). */
#include "http/ws_frame.h"

#include "sys/base64.h"
#include "sys/buf.h"
#include "sys/hash.h"

#include <string.h>

static int known_opcode(int op)
{
    return op == HR_WS_OP_CONT || op == HR_WS_OP_TEXT || op == HR_WS_OP_BINARY ||
           op == HR_WS_OP_CLOSE || op == HR_WS_OP_PING || op == HR_WS_OP_PONG;
}

static int refuse(int *close_code, int code)
{
    *close_code = code;
    return -1;
}

/* The first two bytes alone decide everything but the extended length and the mask. */
static int check_first_bytes(uint8_t b0, uint8_t b1, int from_client, hr_ws_head *h,
                             int *close_code)
{
    h->fin = (b0 & 0x80) != 0;
    h->opcode = b0 & 0x0F;
    h->masked = (b1 & 0x80) != 0;
    if (b0 & 0x70)
        return refuse(close_code, HR_WS_CLOSE_PROTOCOL); /* RSV without an extension */
    if (!known_opcode(h->opcode))
        return refuse(close_code, HR_WS_CLOSE_PROTOCOL);
    if (h->masked != from_client)
        return refuse(close_code, HR_WS_CLOSE_PROTOCOL); /* 5.1: both directions */
    if (h->opcode >= HR_WS_OP_CLOSE && (!h->fin || (b1 & 0x7F) > HR_WS_MAX_CONTROL))
        return refuse(close_code, HR_WS_CLOSE_PROTOCOL);
    return 0;
}

int hr_ws_parse_head(const uint8_t *buf, size_t len, int from_client, uint64_t max_payload,
                     hr_ws_head *h, int *close_code)
{
    if (len < 2)
        return 0;
    if (check_first_bytes(buf[0], buf[1], from_client, h, close_code) != 0)
        return -1;
    uint64_t n = buf[1] & 0x7F;
    size_t at = 2;
    if (n == 126 || n == 127) {
        size_t bytes = n == 126 ? 2 : 8;
        if (len < at + bytes)
            return 0;
        n = 0;
        for (size_t i = 0; i < bytes; i++)
            n = n << 8 | buf[at + i];
        at += bytes;
        if (n >> 63)
            return refuse(close_code, HR_WS_CLOSE_PROTOCOL); /* 5.2: top bit must be 0 */
    }
    if (n > max_payload)
        return refuse(close_code, HR_WS_CLOSE_TOO_BIG);
    if (h->masked) {
        if (len < at + 4)
            return 0;
        memcpy(h->mask, buf + at, 4);
        at += 4;
    } else {
        memset(h->mask, 0, 4);
    }
    h->payload_len = n;
    h->head_len = at;
    return (int)at;
}

size_t hr_ws_write_head(uint8_t out[HR_WS_MAX_HEAD], int fin, int opcode, const uint8_t *mask,
                        uint64_t payload_len)
{
    size_t at = 0;
    out[at++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    uint8_t mbit = mask ? 0x80 : 0;
    if (payload_len <= 125) {
        out[at++] = (uint8_t)(mbit | payload_len);
    } else if (payload_len <= 0xFFFF) {
        out[at++] = (uint8_t)(mbit | 126);
        out[at++] = (uint8_t)(payload_len >> 8);
        out[at++] = (uint8_t)payload_len;
    } else {
        out[at++] = (uint8_t)(mbit | 127);
        for (int i = 7; i >= 0; i--)
            out[at++] = (uint8_t)(payload_len >> (8 * i));
    }
    if (mask) {
        memcpy(out + at, mask, 4);
        at += 4;
    }
    return at;
}

void hr_ws_mask(uint8_t *data, size_t n, const uint8_t mask[4], uint64_t off)
{
    for (size_t i = 0; i < n; i++)
        data[i] ^= mask[(off + i) & 3];
}

int hr_ws_key_valid(const char *key)
{
    if (!key || strlen(key) != 24)
        return 0;
    hr_buf raw = HR_BUF_INIT;
    int ok = hr_base64_decode(key, 24, &raw) == 0 && raw.len == 16;
    hr_buf_free(&raw);
    return ok;
}

/* RFC 6455 1.3: the fixed GUID appended to the client's key. */
static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void hr_ws_accept(const char *key, char out[HR_WS_ACCEPT_LEN + 1])
{
    char joined[128];
    size_t kl = strnlen(key, sizeof joined - sizeof WS_GUID);
    memcpy(joined, key, kl);
    memcpy(joined + kl, WS_GUID, sizeof WS_GUID - 1);
    uint8_t digest[20];
    hr_sha1(joined, kl + sizeof WS_GUID - 1, digest);
    hr_buf b = HR_BUF_INIT;
    out[0] = 0;
    if (hr_base64_encode(digest, sizeof digest, &b) == 0 && b.len == HR_WS_ACCEPT_LEN) {
        memcpy(out, b.data, HR_WS_ACCEPT_LEN);
        out[HR_WS_ACCEPT_LEN] = 0;
    }
    hr_buf_free(&b);
}

int hr_ws_close_code(const uint8_t *payload, size_t len)
{
    return len < 2 ? 1005 : (payload[0] << 8 | payload[1]);
}

/* Codes an endpoint may put in a close frame: 1004-1006 and 1015 are reserved for local
 * use (no code, abnormal end, TLS failure); 1016-2999 are unassigned to extensions. */
static int close_code_sendable(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

int hr_ws_close_payload_valid(const uint8_t *payload, size_t len)
{
    if (len == 0)
        return 1;
    return len >= 2 && close_code_sendable(hr_ws_close_code(payload, len));
}
