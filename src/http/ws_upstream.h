/* ws_upstream.h: the client side of a WebSocket to a provider, over a libcurl connect-only
 * connection (Debian 12's libcurl 7.88 has no WebSocket support of its own).
 *
 * libcurl does what it is good at: resolving, connecting, TLS (verified against the
 * proxy's CA bundle, hr_upstream_ca_file) and moving bytes (curl_easy_send/recv, so TLS is
 * transparent). We write the RFC 6455 opening handshake ourselves: a fresh random
 * Sec-WebSocket-Key per connection, the answer's Sec-WebSocket-Accept checked against it,
 * Upgrade/Connection checked, and no extension accepted (we offer none, so a server that
 * picks one is refused). Frames are the caller's business (ws_frame.h): this file only
 * opens the connection and moves bytes.
 *
 * When the upstream answers the upgrade with anything but 101 (401 for a bad key, 404),
 * its status, headers and up to HR_WS_UPSTREAM_MAX_ANSWER bytes of its body are kept so
 * the proxy can hand the refusal to the client as it came.
 *
 * Ownership: one hr_ws_upstream per connection, used by one thread; it copies what it needs
 * from the request. Never logs or keeps the request headers (credentials).
 */
#ifndef HR_HTTP_WS_UPSTREAM_H
#define HR_HTTP_WS_UPSTREAM_H

#include <stddef.h>
#include <sys/types.h>

#define HR_WS_UPSTREAM_MAX_HEAD (64 * 1024)
#define HR_WS_UPSTREAM_MAX_ANSWER (64 * 1024)

typedef struct hr_ws_upstream_request {
    const char *url;              /* http(s)://host[:port]/path[?query] */
    const char *const *headers;   /* name/value pairs sent as they are (no CR/LF allowed) */
    size_t n_headers;
    long connect_timeout_ms;
    long handshake_timeout_ms;    /* for the upgrade answer's head (and a refusal's body) */
} hr_ws_upstream_request;

typedef struct hr_ws_upstream hr_ws_upstream;

/* Connects and runs the opening handshake. NULL with err filled when the connection or
 * the handshake failed (unreachable, TLS, a 101 with a wrong accept value, a head over the
 * limit); otherwise the handle: status 101 means the WebSocket is open, any other status
 * is the upstream's refusal (header/body readable, nothing else). */
hr_ws_upstream *hr_ws_upstream_connect(const hr_ws_upstream_request *r, char *err, size_t errlen);

int hr_ws_upstream_status(const hr_ws_upstream *u);
/* Case-insensitive; NULL when absent. Valid until free. */
const char *hr_ws_upstream_header(const hr_ws_upstream *u, const char *name);
size_t hr_ws_upstream_header_count(const hr_ws_upstream *u);
const char *hr_ws_upstream_header_name(const hr_ws_upstream *u, size_t i);
const char *hr_ws_upstream_header_value(const hr_ws_upstream *u, size_t i);
/* A refusal's body (what arrived of it within the limit and the timeout). */
const char *hr_ws_upstream_body(const hr_ws_upstream *u, size_t *len);

/* The socket to poll for readability / writability. */
int hr_ws_upstream_fd(const hr_ws_upstream *u);
/* Non-blocking: > 0 bytes, 0 the upstream closed, -1 error, -2 nothing now. Bytes that
 * followed the handshake head come first. */
ssize_t hr_ws_upstream_recv(hr_ws_upstream *u, void *buf, size_t n);
/* Non-blocking: > 0 bytes taken, -1 error, -2 cannot take any now. */
ssize_t hr_ws_upstream_send(hr_ws_upstream *u, const void *buf, size_t n);

void hr_ws_upstream_free(hr_ws_upstream *u);

#endif
