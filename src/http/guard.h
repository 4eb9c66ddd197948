/* guard.h: the connection guard. Owns what libmicrohttpd cannot do for hostile clients: a
 * per-address connection limit with a clear refusal, and deadlines for whole request phases.
 *
 * Why not the library's options: MHD_OPTION_PER_IP_CONNECTION_LIMIT closes the socket with no
 * answer, and MHD_OPTION_CONNECTION_TIMEOUT is an idle timeout that every received byte
 * restarts, so a client sending a byte every few seconds holds its connection (and its
 * thread) for ever. The guard keeps one record per open connection and one watchdog thread:
 *   - HEADERS phase: from accept (or from the first byte after a keep-alive pause) until the
 *     request head is complete; at most header_timeout_ms in total;
 *   - BODY phase: from the end of the head until the body is complete; at most
 *     body_timeout_ms in total;
 *   - BUSY (the handler and the answer: upstream timeouts govern) and IDLE (between
 *     keep-alive requests: the server's idle timeout governs) have no guard deadline.
 * A connection past its deadline gets "408 Request Timeout" (JSON error body) written on
 * its socket and the socket shut down, which makes the connection's own thread close it.
 * A phase whose deadline passes while the client's bytes wait unread in the socket (the
 * connection's thread was starved, not the client slow) gets its limit once more first.
 * A connection over the per-address limit gets "429 Too Many Requests" the same way at
 * accept, and one over the total limit "503 Service Unavailable" (rather than the reset the
 * library gives at its own limit); the caller also refuses any request it manages to send.
 *
 * The IDLE -> HEADERS step needs to know when the next request's first byte arrived, which
 * the library does not say; the watchdog reads it from the kernel (TCP_INFO
 * tcpi_last_data_recv) every 500 ms, and counts the phase from the latest byte it sees then
 * (a slow head gets at most that much longer).
 *
 * Threading: every function is thread-safe (one mutex). A record is freed by
 * hr_guard_close, which the server calls before the library closes the descriptor, so the
 * watchdog never touches a reused descriptor.
 */
#ifndef HR_HTTP_GUARD_H
#define HR_HTTP_GUARD_H

#include <sys/socket.h>

typedef struct hr_guard hr_guard;
typedef struct hr_guard_conn hr_guard_conn;

typedef enum { HR_GUARD_HEADERS = 0, HR_GUARD_BODY, HR_GUARD_BUSY, HR_GUARD_IDLE } hr_guard_phase;

typedef struct hr_guard_opts {
    unsigned total_limit;       /* connections served at once; 0 = no limit (the server's
                                   own limit is set higher, so the guard refuses first) */
    unsigned per_address_limit; /* open connections per client address; 0 = no limit */
    unsigned header_timeout_ms; /* whole HEADERS phase; 0 = no deadline */
    unsigned body_timeout_ms;   /* whole BODY phase; 0 = no deadline */
} hr_guard_opts;

/* Starts the watchdog. NULL when out of memory or threads. */
hr_guard *hr_guard_start(const hr_guard_opts *opts);
/* Stops the watchdog and frees what is left (call after the server stopped). */
void hr_guard_stop(hr_guard *g);

/* A new connection on fd from addr (NULL if unknown). Returns its record, or NULL when out
 * of memory (the connection is then unguarded). *refused = 1 when the address is over its
 * limit: the refusal has been written and the connection must not be served. */
hr_guard_conn *hr_guard_open(hr_guard *g, int fd, const struct sockaddr *addr, int *refused);
void hr_guard_close(hr_guard *g, hr_guard_conn *c);
void hr_guard_set_phase(hr_guard *g, hr_guard_conn *c, hr_guard_phase phase);
int hr_guard_refused(hr_guard *g, const hr_guard_conn *c);
/* Cuts c now as if phase's deadline had passed: 408 written, socket shut down, counted and
 * reported like the watchdog's own cuts. For a server that keeps the deadlines on its own
 * loop (the events model, evserver.c) and starts the guard with no deadlines. */
void hr_guard_cut(hr_guard *g, hr_guard_conn *c, hr_guard_phase phase);

/* A small JSON error answer (the generic error shape: no request head was parsed, so the
 * provider is unknown) with Connection: close, in one non-blocking send into the empty send
 * buffer; Retry-After: 1 on 429 and 503. For the guard's own refusals and cuts, and the
 * events server's answers to heads it cannot parse. */
void hr_guard_write_answer(int fd, int status, const char *reason, const char *code,
                           const char *message);

/* How many times the guard cut a connection at a deadline, and refused one at accept
 * (per-address or total limit). */
unsigned long hr_guard_timeouts(hr_guard *g);
unsigned long hr_guard_refusals(hr_guard *g);
/* How many head or body deadlines were extended (once each) because the client's bytes sat
 * unread in the socket: the proxy's thread, not the client, was late. */
unsigned long hr_guard_graces(hr_guard *g);

#endif
