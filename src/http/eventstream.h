/* eventstream.h: the AWS event-stream framing (application/vnd.amazon.eventstream) that
 * Bedrock's streaming answers use, decoded incrementally while the bytes are relayed
 * unchanged, and encoded for the one frame the proxy itself writes (an exception when the
 * upstream breaks mid-stream).
 *
 * A message is
 *   prelude:  total length (u32 BE), headers length (u32 BE), CRC32 of those 8 bytes
 *   headers:  repeated { name length u8, name, type u8, value }; type 7 (string) and 6
 *             (bytes) carry a u16 BE length, the others a fixed size (0/1 bool: none,
 *             2 byte: 1, 3 short: 2, 4 int: 4, 5 long: 8, 8 timestamp: 8, 9 uuid: 16)
 *   payload:  total - headers - 16 bytes
 *   CRC32 of everything before it (zlib's CRC-32, the one AWS uses).
 * Bedrock's events carry ":message-type" (event | exception | error), ":event-type"
 * (chunk, or a Converse event name) or ":exception-type", ":content-type", and a JSON
 * payload: for invoke-with-response-stream {"bytes":"<base64 of one Anthropic stream
 * event>"}, for converse-stream the event itself.
 *
 * Limits: a message larger than max_message (16 MiB, AWS's own cap, when 0 is given) or
 * one whose CRCs do not match stops the decoder for good (hr_es_feed returns -1 from then
 * on); the caller keeps relaying bytes, it only stops reading them.
 * Ownership: the decoder owns its buffer (hr_es_decoder_free); a message handed to the
 * callback points into it and is valid only during the call.
 */
#ifndef HR_HTTP_EVENTSTREAM_H
#define HR_HTTP_EVENTSTREAM_H

#include "sys/buf.h"

#include <stddef.h>
#include <stdint.h>

#define HR_ES_MAX_HEADERS 32
#define HR_ES_DEFAULT_MAX_MESSAGE (16u * 1024 * 1024)

enum { HR_ES_TYPE_BYTES = 6, HR_ES_TYPE_STRING = 7 };

typedef struct hr_es_header {
    const char *name;
    size_t name_len;
    uint8_t type;
    const uint8_t *value; /* the value bytes (without the u16 length of bytes/strings) */
    size_t value_len;
} hr_es_header;

typedef struct hr_es_message {
    hr_es_header headers[HR_ES_MAX_HEADERS];
    size_t n_headers;
    const uint8_t *payload;
    size_t payload_len;
} hr_es_message;

/* The string value of header name, or NULL (absent or not a string); *len gets its
 * length. */
const char *hr_es_header_string(const hr_es_message *m, const char *name, size_t *len);

typedef void (*hr_es_message_fn)(void *user, const hr_es_message *m);

typedef struct hr_es_decoder {
    hr_es_message_fn on_message;
    void *user;
    size_t max_message;
    hr_buf pending;    /* bytes of the message being assembled */
    int failed;        /* framing error seen: decoding stopped */
    size_t messages;   /* messages reported so far */
} hr_es_decoder;

void hr_es_decoder_init(hr_es_decoder *d, hr_es_message_fn fn, void *user, size_t max_message);
/* Feeds bytes in any chunking; calls on_message for each complete message. 0 ok; -1 once
 * a frame was invalid, too large, or memory ran out (latched). */
int hr_es_feed(hr_es_decoder *d, const void *data, size_t len);
void hr_es_decoder_free(hr_es_decoder *d);

/* Parses exactly one message from p[0..len) (len must be its total length). 0 ok, -1
 * invalid. */
int hr_es_parse_message(const uint8_t *p, size_t len, hr_es_message *m);

/* A string header for hr_es_encode. */
typedef struct hr_es_string_header {
    const char *name;
    const char *value;
} hr_es_string_header;

/* Appends one message with string headers and the payload to out. 0 ok, -1 out of memory
 * or a name/value too long for the format. */
int hr_es_encode(hr_buf *out, const hr_es_string_header *headers, size_t n_headers,
                 const void *payload, size_t payload_len);

#endif
