/* ws_frame.h: the RFC 6455 (WebSocket) frame codec and handshake values, with no I/O.
 *
 * Why our own: Debian 12's libcurl has no WebSocket support and libmicrohttpd only hands
 * over the upgraded socket, so both sides of the proxy's WebSocket relay (ws_relay in
 * proxy/) speak the framing through these functions. Pure functions over caller buffers,
 * so the unit tests and the fuzz target exercise exactly what the relay runs.
 *
 * Rules enforced when parsing a frame head (RFC 6455 5.2, 5.5): no RSV bits (we never
 * negotiate an extension), known opcodes only, control frames unfragmented and at most
 * 125 bytes, the 64-bit length's top bit clear, frames from a client masked and frames
 * from a server unmasked. A payload longer than the caller's limit is refused with 1009
 * before any of it is buffered.
 */
#ifndef HR_HTTP_WS_FRAME_H
#define HR_HTTP_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum {
    HR_WS_OP_CONT = 0x0,
    HR_WS_OP_TEXT = 0x1,
    HR_WS_OP_BINARY = 0x2,
    HR_WS_OP_CLOSE = 0x8,
    HR_WS_OP_PING = 0x9,
    HR_WS_OP_PONG = 0xA,
};

/* Close codes we send (RFC 6455 7.4.1). */
enum {
    HR_WS_CLOSE_NORMAL = 1000,
    HR_WS_CLOSE_GOING_AWAY = 1001,
    HR_WS_CLOSE_PROTOCOL = 1002,
    HR_WS_CLOSE_TOO_BIG = 1009,
    HR_WS_CLOSE_INTERNAL = 1011,
};

#define HR_WS_MAX_HEAD 14     /* 2 + 8 (64-bit length) + 4 (mask) */
#define HR_WS_MAX_CONTROL 125 /* control frame payload limit */

typedef struct hr_ws_head {
    int fin;
    int opcode;
    int masked;
    uint8_t mask[4];
    uint64_t payload_len;
    size_t head_len;          /* bytes of the head; the payload follows */
} hr_ws_head;

/* Parses the frame head at buf[0..len). Returns the head length (> 0) with h filled, 0 when
 * more bytes are needed, -1 on a violation with *close_code set (1002 protocol, 1009 over
 * max_payload). from_client: 1 when the frame was sent by a client (must be masked), 0 by a
 * server (must not be). */
int hr_ws_parse_head(const uint8_t *buf, size_t len, int from_client, uint64_t max_payload,
                     hr_ws_head *h, int *close_code);

/* Writes a frame head into out and returns its length (2..14): the shortest length form;
 * mask NULL for an unmasked (server) frame. */
size_t hr_ws_write_head(uint8_t out[HR_WS_MAX_HEAD], int fin, int opcode, const uint8_t *mask,
                        uint64_t payload_len);

/* XORs data[0..n) with the mask as payload bytes starting at offset off, so a payload can
 * be (un)masked in pieces. Masking twice restores the input. */
void hr_ws_mask(uint8_t *data, size_t n, const uint8_t mask[4], uint64_t off);

/* 1 when key is a valid Sec-WebSocket-Key: 24 characters of base64 encoding 16 bytes. */
int hr_ws_key_valid(const char *key);

#define HR_WS_ACCEPT_LEN 28
/* Sec-WebSocket-Accept for key: base64(SHA-1(key + the RFC's GUID)), 28 chars + NUL. */
void hr_ws_accept(const char *key, char out[HR_WS_ACCEPT_LEN + 1]);

/* The close code in a close frame's (unmasked) payload; 1005 (none given) when shorter than
 * 2 bytes. */
int hr_ws_close_code(const uint8_t *payload, size_t len);

/* 1 when a close frame's (unmasked) payload is one RFC 6455 allows (5.5.1, 7.4): empty, or
 * a code that may be sent on the wire (1000-1003, 1007-1014, 3000-4999) and a reason (its
 * UTF-8 is not checked here). A relay checks this before passing a close on: the peer would fail the
 * connection on a bad one, as an answer to bytes the proxy sent. */
int hr_ws_close_payload_valid(const uint8_t *payload, size_t len);

#endif
