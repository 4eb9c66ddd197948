/* sse.h: incremental Server-Sent Events framing, for reading a stream while it is relayed.
 *
 * The relay forwards upstream bytes to the client unchanged as they arrive; this parser
 * sees the same bytes (in any chunking) and reports each complete event (event name and
 * data, multi-line data joined with '\n') to a callback, e.g. to read token usage. Lines
 * end in LF, CRLF or CR. An event larger than max_event bytes is skipped whole (reported
 * nowhere) so memory stays bounded whatever the stream holds.
 *
 * Ownership: the parser owns its buffers (hr_sse_free); the strings passed to the callback
 * are valid only during the call.
 */
#ifndef HR_HTTP_SSE_H
#define HR_HTTP_SSE_H

#include "sys/buf.h"

#include <stddef.h>

typedef void (*hr_sse_event_fn)(void *user, const char *event, const char *data, size_t len);

typedef struct hr_sse_parser {
    hr_sse_event_fn on_event;
    void *user;
    size_t max_event;
    hr_buf line;     /* current partial line */
    hr_buf event;    /* event field of the current event */
    hr_buf data;     /* accumulated data lines */
    int has_data;
    int overflow;    /* current event exceeded max_event: skip until a blank line */
    int line_too_long; /* inside a line longer than max_event: skip to its end */
    int last_cr;     /* previous chunk ended in CR (a following LF belongs to it) */
    size_t events;   /* events reported so far */
} hr_sse_parser;

void hr_sse_init(hr_sse_parser *p, hr_sse_event_fn fn, void *user, size_t max_event);
/* Feeds bytes; calls on_event for each event completed by them. 0 ok, -1 out of memory. */
int hr_sse_feed(hr_sse_parser *p, const char *data, size_t len);
void hr_sse_free(hr_sse_parser *p);

#endif
