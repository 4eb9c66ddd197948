/* upstream.h: one request to a provider over libcurl, read incrementally.
 *
 * Keep-alive connections to the provider are reused across client connections: transfers
 * draw their curl handles from a bounded process-wide pool whose handles keep their idle
 * connections; DNS results and TLS sessions are shared through a curl share handle. Both
 * are documented singletons set up by hr_upstream_global_init. HTTP/2 is used when the
 * server offers it over TLS. Each transfer runs on the calling thread (its own curl multi handle) and only
 * advances while the caller waits in hr_upstream_wait_headers / hr_upstream_read, so at
 * most one curl write (<= 64 KiB) is held in memory: a stream is never buffered whole.
 *
 * While waiting, the transfer polls the caller's cancel callback at least every 100 ms
 * (client gone, server stopping) and enforces the idle timeout (no byte for idle_timeout_ms,
 * before the headers or between body bytes).
 *
 * Ownership: hr_upstream_start copies what it needs from the request (URL, headers) but
 * borrows body, which must stay valid until hr_upstream_free.
 */
#ifndef HR_HTTP_UPSTREAM_H
#define HR_HTTP_UPSTREAM_H

#include <stddef.h>
#include <sys/types.h>

typedef enum {
    HR_UP_OK = 0,
    HR_UP_CONNECT,    /* could not connect / resolve / TLS handshake failed */
    HR_UP_TIMEOUT,    /* idle timeout */
    HR_UP_CANCELLED,  /* the cancel callback said so */
    HR_UP_FAILED,     /* any other transfer error (reset mid-body, protocol error) */
} hr_up_error;

const char *hr_up_error_name(hr_up_error e);

typedef struct hr_upstream_request {
    const char *method;
    const char *url;              /* full URL including query */
    const char *const *headers;   /* name/value pairs to send as they are */
    size_t n_headers;
    const char *body;             /* borrowed */
    size_t body_len;
    long connect_timeout_ms;
    long idle_timeout_ms;
    int (*cancelled)(void *arg);  /* optional */
    void *cancel_arg;
} hr_upstream_request;

typedef struct hr_upstream hr_upstream;

/* Process-wide setup (curl_global_init, the share handle); call once before threads.
 * ca_file: PEM bundle the upstreams' TLS certificates are verified against, or NULL / ""
 * for the system's (a private gateway or a test server with its own CA). Kept until
 * hr_upstream_global_cleanup. 0 ok, -1 failed. */
int hr_upstream_global_init(const char *ca_file);
void hr_upstream_global_cleanup(void);
/* The CA bundle given to hr_upstream_global_init, or NULL for the system's (also used by
 * the WebSocket upstream client, ws_upstream.h). */
const char *hr_upstream_ca_file(void);

hr_upstream *hr_upstream_start(const hr_upstream_request *req);
/* Runs the transfer until the final response status and headers are in (or it failed).
 * HR_UP_OK then hr_upstream_status / hr_upstream_header_* describe the response. */
hr_up_error hr_upstream_wait_headers(hr_upstream *u);
int hr_upstream_status(const hr_upstream *u);
/* Response headers as received (final response only), name/value pairs. */
size_t hr_upstream_header_count(const hr_upstream *u);
const char *hr_upstream_header_name(const hr_upstream *u, size_t i);
const char *hr_upstream_header_value(const hr_upstream *u, size_t i);
const char *hr_upstream_header(const hr_upstream *u, const char *name); /* case-insens. */
/* Next body bytes: > 0 count, 0 end of body, -1 error (hr_upstream_error tells which).
 * Blocks until bytes arrive. */
ssize_t hr_upstream_read(hr_upstream *u, char *buf, size_t max);
hr_up_error hr_upstream_error(const hr_upstream *u);
const char *hr_upstream_error_detail(const hr_upstream *u); /* curl's message, or "" */
/* Milliseconds from start to the first response byte / to now. */
double hr_upstream_ttfb_ms(const hr_upstream *u);
/* Closes pooled idle handles (and their idle upstream connections) beyond the keep most
 * recently used ones, returning their memory. For idle maintenance: after a burst the pool
 * holds one handle pair (~60 KB, spread over per-thread malloc arenas) per peak concurrent
 * transfer, which keeps those arenas from being trimmed. Returns how many were closed. */
size_t hr_upstream_pool_shrink(size_t keep);
/* Descriptors one transfer holds: its upstream connection and its multi handle's wakeup
 * socketpair (libcurl 7.88 makes one per multi handle). With the client's own descriptor, a
 * relayed stream costs four: the connection limit is sized to RLIMIT_NOFILE with these. */
#define HR_UPSTREAM_FDS_PER_TRANSFER 3
/* The most descriptors the pool's idle pairs can hold (each its socketpair and its idle
 * upstream connections). */
size_t hr_upstream_pool_fds_max(void);
/* Aborts and frees (closes the upstream connection if the body was not read to the end). */
void hr_upstream_free(hr_upstream *u);

#endif
