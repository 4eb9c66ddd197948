/* sse.c: the SSE line and event framing of sse.h (WHATWG event-stream rules: "field:
 * value" with one optional space after the colon, ':' comment lines, blank line ends the
 * event; fields other than event and data are ignored here). */
#include "http/sse.h"

#include <string.h>

void hr_sse_init(hr_sse_parser *p, hr_sse_event_fn fn, void *user, size_t max_event)
{
    memset(p, 0, sizeof *p);
    p->on_event = fn;
    p->user = user;
    p->max_event = max_event ? max_event : (size_t)8 << 20;
}

static void reset_event(hr_sse_parser *p)
{
    hr_buf_reset(&p->event);
    hr_buf_reset(&p->data);
    p->has_data = 0;
    p->overflow = 0;
}

static void dispatch_event(hr_sse_parser *p)
{
    if (p->has_data && !p->overflow && p->on_event) {
        p->events++;
        p->on_event(p->user, p->event.len ? p->event.data : "message",
                    p->data.data ? p->data.data : "", p->data.len);
    }
    reset_event(p);
}

static int process_line(hr_sse_parser *p, const char *s, size_t n)
{
    if (n == 0) {
        dispatch_event(p);
        return 0;
    }
    if (p->overflow || s[0] == ':')
        return 0;
    const char *colon = memchr(s, ':', n);
    size_t flen = colon ? (size_t)(colon - s) : n;
    const char *v = colon ? colon + 1 : s + n;
    size_t vlen = colon ? n - flen - 1 : 0;
    if (vlen && *v == ' ') {
        v++;
        vlen--;
    }
    if (flen == 5 && memcmp(s, "event", 5) == 0) {
        hr_buf_reset(&p->event);
        return hr_buf_append(&p->event, v, vlen);
    }
    if (flen == 4 && memcmp(s, "data", 4) == 0) {
        if (p->data.len + vlen + 1 > p->max_event) {
            p->overflow = 1;
            hr_buf_free(&p->data);
            return 0;
        }
        if (p->has_data && hr_buf_putc(&p->data, '\n') != 0)
            return -1;
        p->has_data = 1;
        return vlen ? hr_buf_append(&p->data, v, vlen) : hr_buf_reserve(&p->data, 1);
    }
    return 0;
}

/* A line longer than max_event drops its whole event, however the bytes were chunked: the
 * length is checked on the whole line (kept part + this chunk), never on a piece of it. */
int hr_sse_feed(hr_sse_parser *p, const char *data, size_t len)
{
    size_t i = 0;
    if (p->last_cr && len && data[0] == '\n')
        i = 1; /* the LF of a CRLF split across chunks */
    p->last_cr = 0;
    while (i < len) {
        const char *start = data + i;
        size_t rest = len - i, k = 0;
        while (k < rest && start[k] != '\n' && start[k] != '\r')
            k++;
        int complete = k < rest;
        if (p->line_too_long || p->line.len + k > p->max_event) {
            p->line_too_long = 1; /* skip to the end of this line */
            p->overflow = 1;      /* and drop its event */
            hr_buf_reset(&p->line);
        } else if (!complete) {
            if (hr_buf_append(&p->line, start, k) != 0)
                return -1;
        } else {
            int rc;
            if (p->line.len) {
                rc = hr_buf_append(&p->line, start, k);
                if (rc == 0)
                    rc = process_line(p, p->line.data, p->line.len);
                hr_buf_reset(&p->line);
            } else {
                rc = process_line(p, start, k);
            }
            if (rc != 0)
                return -1;
        }
        if (!complete)
            break;
        if (p->line_too_long)
            p->line_too_long = 0; /* the long line ended; the next one counts again */
        i += k + 1;
        if (start[k] == '\r') {
            if (i < len && data[i] == '\n')
                i++;
            else if (i == len)
                p->last_cr = 1;
        }
    }
    return 0;
}

void hr_sse_free(hr_sse_parser *p)
{
    hr_buf_free(&p->line);
    hr_buf_free(&p->event);
    hr_buf_free(&p->data);
}
