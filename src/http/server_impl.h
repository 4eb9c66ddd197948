/* server_impl.h: the two implementations of server.h, for server_dispatch.c only.
 *
 * "threads" (server.c, libmicrohttpd, a thread per connection) and "events" (evserver.c,
 * our own epoll loop and a worker pool) each implement the whole contract of server.h under
 * their own prefix (hr_mhd_*, hr_ev_*). server_dispatch.c defines the public hr_http_*
 * names and picks the implementation from the first member of the server or exchange, an
 * int tag both implementations put first in their structs (C allows reading a struct's
 * first member through a pointer to the struct). One tag read per call; no table. What an
 * exchange holds whatever the model (body, lease, the head's verdict, the client's address,
 * the caller's data) is the hr_http_exchange_core both exchange structs begin with, and its
 * accessors are written once, in server_dispatch.c.
 */
#ifndef HR_HTTP_SERVER_IMPL_H
#define HR_HTTP_SERVER_IMPL_H

#include "http/reqcheck.h"
#include "http/server.h"
#include "sys/buf.h"

#include <arpa/inet.h>

enum { HR_HTTP_IMPL_THREADS = 0x7468, HR_HTTP_IMPL_EVENTS = 0x6576 };

/* The first member of both exchange structs. Each model fills it (the body as it is read,
 * the head's verdict, the address at accept) and frees body, lease and data with its
 * exchange. */
typedef struct hr_http_exchange_core {
    int impl;                    /* HR_HTTP_IMPL_*: first, read by the dispatch */
    hr_buf body;
    hr_budget_lease lease;       /* the body's bytes and what the handler adds */
    int too_large, refused, completed_ok;
    hr_reqcheck_result rejected; /* status 0 = the head passed reqcheck */
    char client_addr[INET6_ADDRSTRLEN + 8];
    int loopback;
    void *data;
    void (*free_data)(void *);
} hr_http_exchange_core;

#define HR_HTTP_IMPL_DECLARE(P, S, E)                                                         \
    S *P##_server_start(const hr_http_server_opts *opts, char *err, size_t errlen);         \
    int P##_server_port(const S *srv);                                                        \
    void P##_server_quiesce(S *srv);                                                          \
    unsigned P##_server_connections(const S *srv);                                            \
    unsigned long P##_server_timeouts(const S *srv);                                          \
    unsigned long P##_server_refusals(const S *srv);                                          \
    void P##_server_stop(S *srv);                                                             \
    const char *P##_method(const E *ex);                                                      \
    const char *P##_path(const E *ex);                                                        \
    const char *P##_query(const E *ex);                                                       \
    const char *P##_target(const E *ex);                                                      \
    const char *P##_header(const E *ex, const char *name);                                    \
    const char *const *P##_headers(const E *ex, size_t *n_pairs);                             \
    int P##_client_gone(const E *ex);                                                         \
    int P##_stopping(const E *ex);                                                            \
    int P##_respond(E *ex, int status, const char *const *headers, size_t n_pairs,            \
                    const char *body, size_t len);                                            \
    int P##_respond_stream(E *ex, int status, const char *const *headers, size_t n_pairs,     \
                           hr_http_reader read, void *ctx, void (*free_ctx)(void *));         \
    int P##_respond_upgrade(E *ex, const char *const *headers, size_t n_pairs,                \
                            hr_http_upgrade_fn run, void *ctx, void (*free_ctx)(void *));

/* A streamed answer is read in blocks of this size: an SSE event is usually far smaller,
 * and the block is held for as long as the stream lasts. */
#define HR_HTTP_STREAM_BLOCK 4096
/* Kept below the frame where a stream's first block is read; the handler's deeper pages
 * (parsing, compression, logging) are dropped. Any margin is safe: nothing live lies below
 * the stack pointer, and a dropped page touched again is a fresh zero page (a page fault).
 * The margin only sets how much of the relay's own depth (curl's receive path, the SSE
 * parser) faults back in on the first read: measured, the rest of the stream stays within
 * it plus the one page more it touches (bench/proxy/stream_memory.mjs: 11.8 KB of stack per
 * open stream with 4 KiB, 15.7 KB with 8 KiB, 19.6 KB untrimmed). */
#define HR_HTTP_STREAM_STACK_MARGIN (4 * 1024)

/* Shared by both models (server_dispatch.c). The listen address for host ("127.0.0.1" when
 * NULL) and port: 0 with *ss and *len filled, -1 with err. */
int hr_http_listen_address(const char *host, int port, struct sockaddr_storage *ss,
                           socklen_t *len, char *err, size_t errlen);
/* The numeric text of an IPv4/IPv6 address; "" for NULL or another family. */
void hr_http_format_addr(const struct sockaddr *sa, char *out, size_t n);

typedef struct hr_mhd_server hr_mhd_server;
typedef struct hr_mhd_exchange hr_mhd_exchange;
typedef struct hr_ev_server hr_ev_server;
typedef struct hr_ev_exchange hr_ev_exchange;

HR_HTTP_IMPL_DECLARE(hr_mhd, hr_mhd_server, hr_mhd_exchange)
HR_HTTP_IMPL_DECLARE(hr_ev, hr_ev_server, hr_ev_exchange)

#endif
