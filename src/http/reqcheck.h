/* reqcheck.h: what the server accepts in a request head, checked before any handler sees it.
 *
 * libmicrohttpd (Debian 12: 0.9.75) parses the request line and the header fields itself and
 * is lenient where a proxy must not be: it keeps a bare CR inside a field value, truncates a
 * value at a NUL, accepts Content-Length together with Transfer-Encoding and two different
 * Content-Lengths (the first wins), and hands over any request target. A proxy that forwards
 * such a request lets the next hop read it differently (request smuggling), and a target
 * appended to the upstream base URL can move the authority ("@host:port/..." turns the base
 * host into a user name). So every head is checked here, on the parsed pieces, and refused
 * with a status and a reason (RFC 9112/9110/3986):
 *   - target: origin-form only ('/' path ['?' query]); RFC 3986 characters (plus the few
 *     that WHATWG URL serialisers leave raw, e.g. '[' ']' '|'; never space, controls, '"',
 *     '#', '<', '>' or raw non-ASCII, nor '\' in the path); every '%'
 *     followed by two hex digits; decoded path and query valid UTF-8 without control bytes;
 *     no dot-segments ('.', '..', also percent-encoded), no encoded '/' or '\' in the path,
 *     no leading "//". Nothing is rewritten: a target that would need rewriting is refused,
 *     so the path the proxy routes on is the path it forwards.
 *   - fields: names are tokens; values hold no CR, LF, NUL or other control byte (HTAB is
 *     allowed); exactly one Host in HTTP/1.1; Content-Length is digits and every copy agrees;
 *     Transfer-Encoding never with Content-Length; only "chunked" is implemented (501).
 * Pure functions over strings: no state, no allocation.
 */
#ifndef HR_HTTP_REQCHECK_H
#define HR_HTTP_REQCHECK_H

#include <stddef.h>

/* A refusal: status (400, 501, ...) and a reason for the client (static or in a buffer the
 * caller gave). status 0 = accepted. */
typedef struct hr_reqcheck_result {
    int status;
    char reason[160];
} hr_reqcheck_result;

/* The raw request target as received (path + optional '?' query). 0 ok, else the status
 * (r filled). */
int hr_reqcheck_target(const char *target, hr_reqcheck_result *r);

/* One header field: name and value with its length as received (a value holding a NUL is
 * longer than strlen says). 0 ok, else the status (r filled). */
int hr_reqcheck_field(const char *name, const char *value, size_t value_len,
                      hr_reqcheck_result *r);

/* Framing over all fields, after each passed hr_reqcheck_field: counts of Host, Content-Length
 * (with the values to compare) and Transfer-Encoding. */
typedef struct hr_reqcheck_framing {
    int http11;              /* the request line said HTTP/1.1 */
    int n_host;
    int n_content_length;
    const char *content_length; /* the first value */
    int content_length_differs; /* a later copy had another value */
    int n_transfer_encoding;
    const char *transfer_encoding; /* the first value */
} hr_reqcheck_framing;

/* Adds one field to the framing tally. */
void hr_reqcheck_framing_add(hr_reqcheck_framing *f, const char *name, const char *value);
/* 0 ok, else the status (r filled). */
int hr_reqcheck_framing_verdict(const hr_reqcheck_framing *f, hr_reqcheck_result *r);

/* 1 when a header value that is a list of tokens (Connection, Upgrade; separated by commas
 * or blanks) holds token, compared case-insensitively; 0 for a NULL list. The one reader
 * of such lists for the proxy's header rules and both sides of the WebSocket handshake. */
int hr_http_list_has(const char *list, const char *token);

#endif
