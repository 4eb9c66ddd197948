/* server.h: the HTTP server, independent of what the requests mean.
 *
 * Two implementations of this one contract, chosen per server by opts.model (the proxy's
 * --server-model; server_impl.h dispatches the names below):
 *   - threads (default; server.c, libmicrohttpd): one thread per connection
 *     (MHD_USE_THREAD_PER_CONNECTION over poll, so descriptors above FD_SETSIZE work). An
 *     idle keep-alive connection costs its thread (~64 KB RssAnon measured).
 *   - events (evserver.c): one epoll loop thread accepts, parses (h1parse.h, strict) and
 *     reads every request head and body and keeps every deadline; a complete request runs
 *     on a worker thread (workers.h: grown on demand up to max_active, shrunk after
 *     2 s idle) that also writes the answer, streams included, on the non-blocking socket
 *     (poll for writability: a slow client slows the reader, never grows a buffer). An idle
 *     keep-alive connection holds no thread and no buffer, a few hundred bytes of state.
 *     Phase B (not done): streams on the loop too, the upstream side on curl multi, so an
 *     open stream holds no thread either.
 * In both, a handler may block: it may run a whole upstream transfer on its thread, and a
 * streaming reader may wait for the next upstream chunk. No request state is shared
 * between threads.
 *
 * Lifecycle of one request (an hr_http_exchange):
 *   - the server collects method, path, raw query, headers, client address and the body
 *     (up to max_body_bytes; beyond that the handler is called with hr_http_body_too_large()
 *     = 1 and must answer, typically 413: at once when Content-Length says so, after the
 *     rest of a chunked body was read and dropped otherwise (a chunked body longer than
 *     twice the limit is cut without an answer); the connection then closes);
 *   - a body the in-flight budget cannot hold (opts.budget: the declared Content-Length
 *     at once, a chunked body as it grows) is not buffered: it is read and dropped, and the
 *     handler is called at its end (at once if the client waits for 100 Continue) with
 *     hr_http_body_refused() = 1, typically for a 503; the connection then closes;
 *   - a request head that breaks the rules of reqcheck.h (target form, field bytes,
 *     framing) reaches the handler at once with hr_http_rejected() != 0: it must answer
 *     with that status and reason; the connection then closes;
 *   - deadlines for the whole head and the whole body and a per-address connection limit
 *     are enforced outside any handler: by the connection guard (guard.h) in threads, by
 *     the loop (with the guard's limits, refusals and 408s) in events;
 *   - handler(ex, user) is called once on the connection's thread (threads) or a worker
 *     (events); it answers with exactly one hr_http_respond or hr_http_respond_stream (no
 *     answer = 500);
 *   - done(ex, user) is called once when the exchange ends (sent, failed or client gone),
 *     e.g. to log and count it; then the exchange and its attached data are freed.
 *
 * Ownership: the server owns every hr_http_exchange and the strings it hands out (valid
 * until done returns). hr_http_set_data attaches caller data freed by the given function
 * after done. A stream reader's ctx is freed by its free function when the response is
 * released (after the last byte, or when the client went away).
 */
#ifndef HR_HTTP_SERVER_H
#define HR_HTTP_SERVER_H

#include "sys/budget.h"

#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct hr_http_server hr_http_server;
typedef struct hr_http_exchange hr_http_exchange;

typedef void (*hr_http_handler)(hr_http_exchange *ex, void *user);

/* Which implementation serves (server_impl.h): see the header comment. */
typedef enum { HR_HTTP_MODEL_THREADS = 0, HR_HTTP_MODEL_EVENTS } hr_http_model;

/* Connections accepted beyond max_connections only to be told 503 (each for at most the
 * guard's one-second grace); past these libmicrohttpd itself closes new connections
 * unanswered. Each holds a descriptor and a thread while it lasts. 64 let 658 of 10,000
 * clients arriving 100 at a time be cut unanswered on a loaded 2-core machine (the refused
 * connections' threads ran late); 256 cost 192 descriptors more. */
#define HR_HTTP_REFUSAL_SLOTS 256

typedef struct hr_http_server_opts {
    hr_http_model model;        /* threads (default) or events */
    const char *host;           /* numeric or name; "127.0.0.1" by default */
    int port;                   /* 0 = any free port (see hr_http_server_port) */
    unsigned max_connections;   /* simultaneous connections served; beyond: 503 at accept */
    unsigned max_active;        /* events: requests in a worker at once (each may hold an
                                   upstream); beyond: 503 server_busy at once. 0 or above
                                   max_connections = max_connections. Threads: unused (a
                                   connection is its request's thread) */
    size_t max_body_bytes;      /* request bodies beyond this go to the handler early */
    hr_budget *budget;          /* optional: every body's bytes are reserved here first and
                                   released when the exchange ends */
    size_t thread_stack_bytes;  /* per-connection (threads) or per-worker (events) thread
                                   stack; 0 = library default */
    unsigned idle_timeout_s;    /* close keep-alive connections idle this long; 0 = never */
    unsigned per_address_limit; /* open connections per client address; 0 = no limit */
    unsigned header_timeout_ms; /* whole request head, from its first byte; 0 = none */
    unsigned body_timeout_ms;   /* whole request body, after the head; 0 = none */
    hr_http_handler handler;
    hr_http_handler done;       /* optional */
    void *user;
} hr_http_server_opts;

/* Starts listening and serving. NULL with err filled on failure (bad address, port in use,
 * fd limits). */
hr_http_server *hr_http_server_start(const hr_http_server_opts *opts, char *err, size_t errlen);
int hr_http_server_port(const hr_http_server *srv);
/* Stops accepting new connections (the listening socket is closed); open connections
 * keep being served. */
void hr_http_server_quiesce(hr_http_server *srv);
/* Currently open client connections. */
unsigned hr_http_server_connections(const hr_http_server *srv);
/* Connections cut at a phase deadline (408) and refused over the per-address limit (429). */
unsigned long hr_http_server_timeouts(const hr_http_server *srv);
unsigned long hr_http_server_refusals(const hr_http_server *srv);
/* Closes every connection (streams end with an error) and joins all threads. */
void hr_http_server_stop(hr_http_server *srv);

/* ---- inside the handler ---------------------------------------------------------------- */

const char *hr_http_method(const hr_http_exchange *ex);
const char *hr_http_path(const hr_http_exchange *ex);   /* decoded, no query */
const char *hr_http_query(const hr_http_exchange *ex);  /* raw, without '?'; "" if none */
const char *hr_http_target(const hr_http_exchange *ex); /* raw request target: path?query */
const char *hr_http_header(const hr_http_exchange *ex, const char *name); /* case-insens. */
/* All request headers as name/value pairs (names as sent): pairs[2i], pairs[2i+1]. */
const char *const *hr_http_headers(const hr_http_exchange *ex, size_t *n_pairs);
const char *hr_http_body(const hr_http_exchange *ex, size_t *len); /* raw bytes as sent */
int hr_http_body_too_large(const hr_http_exchange *ex);
/* 1 when the body was refused because the in-flight budget could not hold it. */
int hr_http_body_refused(const hr_http_exchange *ex);
/* The exchange's lease on opts.budget: the handler may add what it buffers for this
 * request (decoded body, held answer) so it is released with the body. */
hr_budget_lease *hr_http_lease(hr_http_exchange *ex);
/* The status (400, 501) when the request head was refused, with the reason for the client;
 * 0 when it was accepted. */
int hr_http_rejected(const hr_http_exchange *ex, const char **reason);
const char *hr_http_client_addr(const hr_http_exchange *ex);
int hr_http_client_is_loopback(const hr_http_exchange *ex);
/* 1 when the client closed its side (checked without blocking): abort upstream work. */
int hr_http_client_gone(const hr_http_exchange *ex);
/* 1 after the server began stopping: long waits should give up. */
int hr_http_stopping(const hr_http_exchange *ex);

/* Inside done: 1 if the answer was sent completely, 0 if the client went away or the
 * connection failed first. */
int hr_http_completed_ok(const hr_http_exchange *ex);

void hr_http_set_data(hr_http_exchange *ex, void *data, void (*free_fn)(void *));
void *hr_http_data(const hr_http_exchange *ex);

/* Buffered answer: headers are name/value pairs (copied); body copied. 0 ok, -1 failed. */
int hr_http_respond(hr_http_exchange *ex, int status, const char *const *headers,
                    size_t n_pairs, const char *body, size_t len);

/* Streaming answer, chunked. read(ctx, buf, max) blocks until it has bytes; it returns the
 * count (> 0), 0 at the end of the stream, or -1 to abort the connection (the client sees a
 * truncated stream). free_ctx(ctx) runs when the response is released. */
typedef ssize_t (*hr_http_reader)(void *ctx, char *buf, size_t max);
int hr_http_respond_stream(hr_http_exchange *ex, int status, const char *const *headers,
                           size_t n_pairs, hr_http_reader read, void *ctx,
                           void (*free_ctx)(void *));

/* Protocol switch (101), e.g. to a WebSocket. headers must include Upgrade (and whatever
 * the protocol needs, Sec-WebSocket-Accept); MHD adds Connection: Upgrade. Once the 101 is
 * out, run(ctx, &io) is called on the connection's thread and may block for the life of
 * the upgraded connection (thread per connection): io.fd is the client socket
 * (non-blocking; never close it), io.extra the bytes the client sent after its request
 * head. When run returns the socket is closed; then done runs (so it sees what the session
 * recorded), then free_ctx(ctx) as the exchange is freed. If the 101 could not be sent, run
 * is never called; free_ctx always is. 0 queued, -1 failed. */
typedef struct hr_http_upgraded {
    int fd;
    const char *extra;
    size_t extra_len;
    const atomic_int *stopping; /* becomes 1 when the server stops: end the session */
} hr_http_upgraded;
typedef void (*hr_http_upgrade_fn)(void *ctx, const hr_http_upgraded *io);
int hr_http_respond_upgrade(hr_http_exchange *ex, const char *const *headers, size_t n_pairs,
                            hr_http_upgrade_fn run, void *ctx, void (*free_ctx)(void *));

/* 1 if addr (numeric IPv4/IPv6 text) is a loopback address. */
int hr_http_addr_is_loopback(const char *addr);

#endif
