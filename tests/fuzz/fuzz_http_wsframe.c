/* fuzz_http_wsframe: the WebSocket frame head parser (http/ws_frame.c) on untrusted bytes,
 * read the way the relay reads them (a buffer of frames, each head parsed from what has
 * arrived). Invariants checked: a parsed head is never longer than the bytes given nor than
 * 14 bytes; a prefix of a complete head asks for more bytes and never gives another
 * answer; a refused head names 1002 or 1009; payload lengths respect the limit; and writing
 * the parsed head back gives the same length fields (our writer's shortest form is at most
 * as long as what was read). */
#include "http/ws_frame.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_one(const uint8_t *p, size_t n, int from_client, uint64_t limit)
{
    hr_ws_head h;
    int code = 0;
    int hl = hr_ws_parse_head(p, n, from_client, limit, &h, &code);
    if (hl < 0) {
        if (code != HR_WS_CLOSE_PROTOCOL && code != HR_WS_CLOSE_TOO_BIG)
            abort();
        return;
    }
    if (hl == 0)
        return;
    if ((size_t)hl > n || hl > HR_WS_MAX_HEAD || h.payload_len > limit || h.masked != from_client)
        abort();
    for (int k = 0; k < hl; k++) { /* every prefix: "more bytes", never a different verdict */
        hr_ws_head h2;
        int c2 = 0;
        if (hr_ws_parse_head(p, (size_t)k, from_client, limit, &h2, &c2) != 0)
            abort();
    }
    uint8_t out[HR_WS_MAX_HEAD];
    size_t wl = hr_ws_write_head(out, h.fin, h.opcode, h.masked ? h.mask : NULL, h.payload_len);
    if (wl > (size_t)hl)
        abort();
    hr_ws_head back;
    if (hr_ws_parse_head(out, wl, from_client, limit, &back, &code) != (int)wl ||
        back.payload_len != h.payload_len || back.opcode != h.opcode || back.fin != h.fin)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint64_t limit = (uint64_t)data[0] << 10; /* 0 .. 255 KiB */
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    /* as a stream of frames: heads parsed, payloads skipped, until one is incomplete */
    for (int side = 0; side < 2; side++) {
        size_t at = 0;
        while (at < n) {
            check_one(p + at, n - at, side, limit);
            hr_ws_head h;
            int code;
            int hl = hr_ws_parse_head(p + at, n - at, side, limit, &h, &code);
            if (hl <= 0 || h.payload_len > n - at - (size_t)hl)
                break;
            uint8_t *copy = malloc(h.payload_len ? h.payload_len : 1);
            memcpy(copy, p + at + hl, h.payload_len);
            hr_ws_mask(copy, h.payload_len, h.mask, 0);
            hr_ws_mask(copy, h.payload_len, h.mask, 0); /* twice: the original again */
            if (memcmp(copy, p + at + hl, h.payload_len) != 0)
                abort();
            free(copy);
            at += (size_t)hl + h.payload_len;
        }
    }
    return 0;
}
