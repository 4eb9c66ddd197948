/* evserver.c: the "events" model of hr_http_server (server.h, server_impl.h).
 *
 * One loop thread owns every connection that is not inside a request handler: it accepts,
 * reads request heads and bodies (h1parse.h for the framing, reqcheck.h for the rules),
 * keeps every deadline (head, body, idle, the grace of a closing connection) and closes.
 * One thread is enough on the two cores this runs on: the loop only moves bytes into
 * buffers and never blocks; the blocking work is elsewhere.
 *
 * A complete request goes to a worker thread (workers.h: started on demand up to the
 * active-request cap, gone after 2 s idle). The worker owns the connection until the
 * exchange ends: it runs the handler (which may block on its upstream), then writes the
 * answer itself on the non-blocking socket, waiting in poll for writability, so a slow
 * client slows the stream's reader and never grows a buffer. A 101 runs the upgraded
 * session on the worker, as the threads model runs it on the connection's thread. Then the
 * worker hands the connection back to the loop (a list under mu and an eventfd): kept
 * alive, lingering to close, or closed.
 *
 * An idle keep-alive connection holds no thread and no buffer: its ev_conn (about 150
 * bytes) and the guard's record. The head buffer is allocated when the first byte of a
 * request arrives and freed when the connection goes idle again.
 *
 * The connection guard (guard.h) is reused for what it owns at accept: the total and
 * per-address limits, their 503/429 refusals, and the counts and summary log of refusals
 * and cuts. It is started without deadlines: the loop keeps them (one owner) and cuts
 * through hr_guard_cut, so the 408 and its count are the guard's.
 *
 * Threads: the loop owns ev_conn fields; a worker owns its connection's exchange while the
 * connection is in C_WORKER; the only shared state is the hand-back list, quiesce request
 * and, for a connection in a worker, its fd (the worker may close it after an upgrade, stop
 * may shut it down): all under srv->mu.
 */
#include "http/server_impl.h"

#include "http/guard.h"
#include "http/h1parse.h"
#include "http/reqcheck.h"
#include "http/workers.h"

#include "sys/ascii.h"
#include "sys/buf.h"
#include "sys/clock.h"
#include "sys/log.h"
#include "sys/stack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* The largest request head (request line and fields), as the threads model's 32 KiB
 * connection pool allows: past it 431, or 414 when the request line alone is longer. */
#define HEAD_MAX 32768
/* Field lines in one head; past them 431 (the threads model's pool runs out near here). */
#define FIELDS_MAX 500
/* First allocation of a connection's head buffer; it doubles up to HEAD_MAX + 1. */
#define HEAD_FIRST_ALLOC 2048
/* Body bytes are read through one loop-owned buffer of this size. */
#define SCRATCH_BYTES 65536
/* Deadlines are checked this often (the guard's tick). */
#define TICK_MS 100
/* A connection closing after its answer, or refused at accept, has this long to read it and
 * close before its socket is closed (closing with unread input resets, destroying the
 * answer the client has not read yet). */
#define LINGER_MS 1000

typedef enum { C_HEAD, C_BODY, C_WORKER, C_IDLE, C_LINGER } conn_state;
typedef enum { BACK_KEEP, BACK_LINGER, BACK_CLOSE } back_kind;

typedef struct ev_conn {
    hr_ev_server *srv;
    struct ev_conn *prev, *next;  /* every open connection (loop-owned) */
    struct ev_conn *back_next;    /* the hand-back list (under srv->mu) */
    back_kind back;
    int fd;                       /* -1 once a worker closed it (after an upgrade) */
    conn_state state;
    double deadline_ms;           /* 0 = none */
    hr_guard_conn *guarded;
    struct sockaddr_storage *addr; /* owned: the peer, formatted per request */
    char *in;                     /* head bytes, then leftovers (pipelined); NULL when idle */
    size_t in_len, in_cap;
    hr_ev_exchange *ex;           /* the request being read or served */
} ev_conn;

typedef enum { ANS_NONE, ANS_BUFFER, ANS_STREAM, ANS_UPGRADE } answer_kind;

struct hr_ev_exchange {
    hr_http_exchange_core c; /* first: the tag and what both models hold (server_impl.h) */
    hr_ev_server *srv;
    ev_conn *conn;
    char *head;                   /* owned: the request head, parsed in place */
    hr_h1_head h;
    char *path;                   /* owned: decoded */
    const char *query;            /* into target (after '?'), or "" */
    unsigned long long declared;  /* Content-Length (0 when none) */
    int chunked;
    hr_h1_chunked chunks;
    size_t dropped;               /* body bytes dropped after the limit or the refusal */
    int handled, responded, close_after, is_head;
    /* the answer, sent by the worker after the handler returns */
    answer_kind kind;
    int status;
    hr_buf out_head;
    hr_buf out_body;
    hr_http_reader read;
    hr_http_upgrade_fn run;
    void *ctx;
    void (*free_ctx)(void *);
};

struct hr_ev_server {
    int impl; /* HR_HTTP_IMPL_EVENTS: first, read by the dispatch (server_impl.h) */
    hr_http_server_opts opts;
    int port;
    int listen_fd, ep, wake_fd;
    atomic_int stopping;
    atomic_uint connections;
    atomic_uint active;           /* exchanges dispatched to a worker and not yet ended */
    atomic_ulong busy_refused;    /* requests answered 503 server_busy at the active cap */
    unsigned open;                /* loop-owned: every open connection, refused ones too */
    int accept_paused;            /* loop-owned: the listener is out of the set for a tick */
    pthread_t loop;
    hr_guard *guard;
    hr_workers *workers;
    ev_conn *conns;               /* loop-owned */
    char *scratch;                /* loop-owned: SCRATCH_BYTES */
    pthread_mutex_t mu;
    pthread_cond_t cv;            /* quiesce done */
    ev_conn *back;                /* handed back by workers, newest first */
    int quiesce_req;
};

static void exchange_free(hr_ev_exchange *ex);

/* ---- small helpers ---------------------------------------------------------------------- */

static double deadline_in(unsigned ms) { return ms ? hr_now_ms() + ms : 0; }

static unsigned idle_ms(const hr_ev_server *srv) { return srv->opts.idle_timeout_s * 1000u; }

static void wake_loop(hr_ev_server *srv)
{
    uint64_t one = 1;
    (void)!write(srv->wake_fd, &one, sizeof one);
}

/* The path part of target, percent-decoded (reqcheck has refused bad escapes first; a bad
 * one left here is copied as is). */
static char *decode_path(const char *target)
{
    size_t n = strcspn(target, "?");
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (target[i] == '%' && i + 2 < n &&
            (hi = hr_hex_val((unsigned char)target[i + 1])) >= 0 &&
            (lo = hr_hex_val((unsigned char)target[i + 2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = target[i];
        }
    }
    *o = 0;
    return out;
}

static const char *status_phrase(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 529: return "Site Overloaded";
    default: return "Unknown";
    }
}

/* Writes all of iov on the non-blocking socket, waiting for writability; gives up when the
 * client reads nothing for the idle timeout, or the socket fails (stop shuts it down).
 * 0 sent, -1 failed. */
static int send_all(hr_ev_server *srv, int fd, struct iovec *iov, int cnt)
{
    int wait_ms = idle_ms(srv) ? (int)idle_ms(srv) : -1;
    while (cnt > 0) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
        ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return -1;
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int rc = poll(&p, 1, wait_ms);
            if (rc == 0 || (rc > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL))))
                return -1;
            continue;
        }
        while (cnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/* ---- connections (loop thread) ---------------------------------------------------------- */

static void conn_watch(ev_conn *c)
{
    struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(c->srv->ep, EPOLL_CTL_ADD, c->fd, &e);
}

static void conn_unwatch(ev_conn *c) { epoll_ctl(c->srv->ep, EPOLL_CTL_DEL, c->fd, NULL); }

static void conn_drop_input(ev_conn *c)
{
    free(c->in);
    c->in = NULL;
    c->in_len = c->in_cap = 0;
}

static void conn_close(ev_conn *c)
{
    hr_ev_server *srv = c->srv;
    if (c->ex)
        exchange_free(c->ex);
    hr_guard_close(srv->guard, c->guarded);
    if (c->fd >= 0)
        close(c->fd); /* also leaves the epoll set */
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    conn_drop_input(c);
    free(c->addr);
    free(c);
    srv->open--;
    atomic_fetch_sub(&srv->connections, 1);
}

/* End of stream towards the client, then read and drop what it still sends until it
 * closes or LINGER_MS pass: the answer already written is not destroyed by a reset. */
static void conn_linger(ev_conn *c)
{
    if (c->ex) {
        exchange_free(c->ex);
        c->ex = NULL;
    }
    conn_drop_input(c);
    shutdown(c->fd, SHUT_WR);
    c->state = C_LINGER;
    c->deadline_ms = hr_now_ms() + LINGER_MS;
}

static void conn_fail(ev_conn *c, int status, const char *code, const char *message)
{
    hr_guard_write_answer(c->fd, status, status_phrase(status), code, message);
    conn_linger(c);
}

static void conn_idle(ev_conn *c)
{
    c->state = C_IDLE;
    c->deadline_ms = deadline_in(idle_ms(c->srv));
}

/* The head phase: from accept or the next request's first byte, header_timeout_ms for the
 * whole head (the idle timeout when there is none). */
static void conn_head(ev_conn *c)
{
    unsigned ht = c->srv->opts.header_timeout_ms;
    c->state = C_HEAD;
    c->deadline_ms = deadline_in(ht ? ht : idle_ms(c->srv));
}

static int conn_reserve_input(ev_conn *c, size_t want)
{
    if (c->in_cap >= want)
        return 0;
    size_t cap = c->in_cap ? c->in_cap : HEAD_FIRST_ALLOC;
    while (cap < want)
        cap *= 2;
    if (want <= HEAD_MAX + 1 && cap > HEAD_MAX + 1)
        cap = HEAD_MAX + 1; /* a head never needs more: the next read shows it too long */
    char *p = realloc(c->in, cap);
    if (!p)
        return -1;
    c->in = p;
    c->in_cap = cap;
    return 0;
}

/* ---- request bodies (loop thread) ------------------------------------------------------- */

/* Keeps body bytes, or drops them once the body is over the limit or the budget: the rules
 * of server.h. -1 cuts the connection without an answer (dropped past another limit). */
static int body_bytes(void *arg, const char *p, size_t n)
{
    hr_ev_exchange *ex = arg;
    size_t max = ex->srv->opts.max_body_bytes;
    if (ex->c.too_large || ex->c.refused) {
        ex->dropped += n;
        return ex->dropped <= max ? 0 : -1;
    }
    if (ex->c.body.len + n > max || hr_budget_lease_cover(&ex->c.lease, ex->c.body.len + n + 1) != 0) {
        if (ex->c.body.len + n > max)
            ex->c.too_large = 1;
        else
            ex->c.refused = 1;
        hr_buf_free(&ex->c.body);
        hr_budget_lease_end(&ex->c.lease);
        return 0;
    }
    return hr_buf_append(&ex->c.body, p, n);
}

/* Feeds in[0..len) to the current body. Returns bytes used, with *done set when the body
 * ended; -1 when the connection was failed or cut (already handled). */
static ssize_t body_feed(ev_conn *c, const char *in, size_t len, int *done)
{
    hr_ev_exchange *ex = c->ex;
    *done = 0;
    if (ex->chunked) {
        size_t used = 0;
        hr_h1_chunk_rc rc = hr_h1_chunked_feed(&ex->chunks, in, len, &used, body_bytes, ex);
        if (rc == HR_H1_BAD) {
            if (ex->dropped > ex->srv->opts.max_body_bytes)
                conn_close(c); /* past twice the limit: cut without an answer */
            else
                conn_fail(c, 400, "bad_request", "malformed chunked body");
            return -1;
        }
        *done = rc == HR_H1_DONE;
        return (ssize_t)used;
    }
    size_t got = ex->c.body.len + ex->dropped;
    size_t n = len < ex->declared - got ? len : (size_t)(ex->declared - got);
    if (body_bytes(ex, in, n) != 0) {
        conn_close(c);
        return -1;
    }
    *done = ex->c.body.len + ex->dropped == ex->declared;
    return (ssize_t)n;
}

/* ---- dispatch to a worker --------------------------------------------------------------- */

static void run_exchange(void *arg);

static unsigned active_limit(const hr_ev_server *srv)
{
    unsigned limit = srv->opts.max_connections ? srv->opts.max_connections : 4096;
    return srv->opts.max_active && srv->opts.max_active < limit ? srv->opts.max_active : limit;
}

/* A slot for one more exchange in a worker, or 0 at the active cap. Only the loop takes
 * slots (workers only give them back), so the check and the increment need no lock. */
static int active_take(hr_ev_server *srv)
{
    if (atomic_load(&srv->active) >= active_limit(srv))
        return 0;
    atomic_fetch_add(&srv->active, 1);
    return 1;
}

/* A request past the active cap is answered at once, never queued behind streams that may
 * last minutes; counted with the guard's refusals, logged the first time only (a flood of
 * them would flood the log). */
static void refuse_busy(ev_conn *c)
{
    if (atomic_fetch_add(&c->srv->busy_refused, 1) == 0) {
        char cap[16];
        snprintf(cap, sizeof cap, "%u", active_limit(c->srv));
        hr_log_fields(HR_LOG_WARN, "request refused: every active-request slot is taken (logged once)",
                      "max_active", cap, NULL);
    }
    conn_fail(c, 503, "server_busy", "the proxy serves its maximum number of requests (--limit-concurrency)");
}

static void dispatch(ev_conn *c)
{
    hr_ev_exchange *ex = c->ex;
    if (ex->c.too_large || ex->c.refused || ex->c.rejected.status)
        ex->close_after = 1; /* a refused request's connection is not reused */
    if (!active_take(c->srv)) {
        refuse_busy(c);
        return;
    }
    conn_unwatch(c);
    c->state = C_WORKER;
    c->deadline_ms = 0;
    if (hr_workers_submit(c->srv->workers, run_exchange, c) != 0) {
        atomic_fetch_sub(&c->srv->active, 1);
        conn_watch(c);
        refuse_busy(c);
    }
}

static void consume_input(ev_conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

/* The body's first bytes may have come with the head: take them from the input buffer. */
static void body_from_input(ev_conn *c)
{
    int done = 0;
    ssize_t used = c->in_len ? body_feed(c, c->in, c->in_len, &done) : 0;
    if (used < 0)
        return;
    consume_input(c, (size_t)used);
    if (done)
        dispatch(c);
}

static int expects_continue(const hr_ev_exchange *ex)
{
    const char *e = hr_ev_header(ex, "expect");
    return e && !strcasecmp(e, "100-continue");
}

/* The rules of reqcheck.h over the parsed head; the first refusal is kept. */
static void check_head(hr_ev_exchange *ex)
{
    hr_reqcheck_framing f = {0};
    for (size_t i = 0; i < ex->h.n_fields; i++) {
        const char *name = ex->h.fields[2 * i], *value = ex->h.fields[2 * i + 1];
        if (!ex->c.rejected.status) {
            hr_reqcheck_field(name, value, ex->h.value_lens[i], &ex->c.rejected);
            hr_reqcheck_framing_add(&f, name, value);
        }
    }
    if (ex->c.rejected.status)
        return;
    f.http11 = ex->h.http11;
    if (hr_reqcheck_target(ex->h.target, &ex->c.rejected) == 0)
        hr_reqcheck_framing_verdict(&f, &ex->c.rejected);
}

/* Decides what the body is and whether the handler runs now (early answer), after the body,
 * or with no body at all. */
static void start_body(ev_conn *c)
{
    hr_ev_exchange *ex = c->ex;
    const char *cl = hr_ev_header(ex, "content-length");
    ex->chunked = !ex->c.rejected.status && hr_ev_header(ex, "transfer-encoding") != NULL;
    if (cl && !ex->c.rejected.status) {
        ex->declared = strtoull(cl, NULL, 10);
        if (ex->declared > ex->srv->opts.max_body_bytes)
            ex->c.too_large = 1;
        else if (ex->declared && hr_budget_lease_cover(&ex->c.lease, ex->declared + 1) != 0)
            ex->c.refused = 1; /* before a byte is buffered */
        else if (ex->declared && hr_buf_reserve(&ex->c.body, ex->declared) != 0) {
            conn_close(c);
            return;
        }
    }
    int body_follows = ex->chunked || ex->declared > 0;
    /* A refused body is answered before it is read only when the client waits for 100
     * Continue (see server.h); a too-large declared body or a refused head at once. */
    if (ex->c.too_large || ex->c.rejected.status || (ex->c.refused && expects_continue(ex)) ||
        !body_follows) {
        dispatch(c);
        return;
    }
    if (ex->h.http11 && expects_continue(ex))
        (void)!send(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_NOSIGNAL | MSG_DONTWAIT);
    c->state = C_BODY;
    c->deadline_ms = deadline_in(c->srv->opts.body_timeout_ms ? c->srv->opts.body_timeout_ms
                                                               : idle_ms(c->srv));
    body_from_input(c);
}

static int wants_close(const hr_ev_exchange *ex)
{
    const char *conn = hr_ev_header(ex, "connection");
    if (!ex->h.http11)
        return 1; /* HTTP/1.0: one request per connection */
    return conn && hr_http_list_has(conn, "close");
}

/* A whole head is in c->in[0..head_len): parse it into a new exchange. */
static void start_request(ev_conn *c, size_t head_len)
{
    hr_ev_server *srv = c->srv;
    hr_ev_exchange *ex = calloc(1, sizeof *ex);
    char *head = ex ? malloc(head_len + 1) : NULL;
    if (!head) {
        free(ex);
        conn_close(c);
        return;
    }
    memcpy(head, c->in, head_len);
    head[head_len] = 0;
    consume_input(c, head_len);
    *ex = (hr_ev_exchange){.c = {.impl = HR_HTTP_IMPL_EVENTS,
                                 .lease = HR_BUDGET_LEASE_INIT(srv->opts.budget)},
                           .srv = srv, .conn = c, .head = head};
    c->ex = ex;
    const char *reason = "malformed request head";
    int st = hr_h1_parse_head(head, head_len, &ex->h, &reason);
    if (st == 0 && ex->h.n_fields > FIELDS_MAX) {
        st = 431;
        reason = "too many header fields";
    }
    if (st != 0) {
        if (st < 0)
            conn_close(c);
        else
            conn_fail(c, st, st == 431 ? "request_header_fields_too_large" : "bad_request",
                      reason);
        return;
    }
    ex->path = decode_path(ex->h.target);
    if (!ex->path) {
        conn_close(c);
        return;
    }
    const char *q = strchr(ex->h.target, '?');
    ex->query = q ? q + 1 : "";
    ex->is_head = !strcmp(ex->h.method, "HEAD");
    hr_http_format_addr((const struct sockaddr *)c->addr, ex->c.client_addr, sizeof ex->c.client_addr);
    ex->c.loopback = hr_http_addr_is_loopback(ex->c.client_addr);
    check_head(ex);
    ex->close_after = wants_close(ex);
    start_body(c); /* may dispatch, fail or close c */
}

/* The head is not complete yet: refuse it once it cannot fit. */
static void head_too_long(ev_conn *c)
{
    int line_done = memchr(c->in, '\n', c->in_len) != NULL;
    conn_fail(c, line_done ? 431 : 414,
              line_done ? "request_header_fields_too_large" : "uri_too_long",
              line_done ? "the request head is too large" : "the request line is too long");
}

/* Bytes of a head are in c->in: start the request when the head is complete. */
static void head_progress(ev_conn *c)
{
    size_t end = hr_h1_head_end(c->in, c->in_len);
    if (end && end <= HEAD_MAX)
        start_request(c, end);
    else if (end || c->in_len > HEAD_MAX)
        head_too_long(c);
}

/* ---- reading (loop thread) -------------------------------------------------------------- */

/* Reads into c->in (head bytes). 1 read some, 0 nothing now, -1 closed. */
static int read_head_bytes(ev_conn *c)
{
    if (conn_reserve_input(c, c->in_len + 1024 < HEAD_MAX + 1 ? c->in_len + 1024 : HEAD_MAX + 1) != 0)
        return -1;
    size_t room = c->in_cap - c->in_len;
    if (!room) {
        head_too_long(c);
        return 0;
    }
    ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        return -1;
    if (n < 0)
        return 0;
    c->in_len += (size_t)n;
    return 1;
}

static void read_body_bytes(ev_conn *c)
{
    char *buf = c->srv->scratch;
    ssize_t n = recv(c->fd, buf, SCRATCH_BYTES, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        conn_close(c);
        return;
    }
    if (n < 0)
        return;
    int done = 0;
    ssize_t used = body_feed(c, buf, (size_t)n, &done);
    if (used < 0)
        return;
    if (done) {
        /* what follows the body is the next request's: keep it for after this one */
        size_t rest = (size_t)n - (size_t)used;
        if (rest && (conn_reserve_input(c, c->in_len + rest) != 0)) {
            conn_close(c);
            return;
        }
        if (rest)
            memcpy(c->in + c->in_len, buf + used, rest);
        c->in_len += rest;
        dispatch(c);
    }
}

static void drain_and_drop(ev_conn *c)
{
    ssize_t n = recv(c->fd, c->srv->scratch, SCRATCH_BYTES, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        conn_close(c);
}

static void on_conn_event(ev_conn *c, uint32_t events)
{
    switch (c->state) {
    case C_LINGER:
        drain_and_drop(c);
        return;
    case C_BODY:
        read_body_bytes(c);
        return;
    case C_IDLE:
    case C_HEAD: {
        int rc = read_head_bytes(c);
        if (rc < 0) {
            conn_close(c);
            return;
        }
        if (rc == 0)
            return;
        if (c->state == C_IDLE) /* the next request's first byte: its head deadline */
            conn_head(c);
        head_progress(c);
        return;
    }
    case C_WORKER:
        (void)events; /* not watched while a worker owns it */
        return;
    }
}

/* ---- accept (loop thread) --------------------------------------------------------------- */

static void accept_one(hr_ev_server *srv, int fd, const struct sockaddr_storage *ss)
{
    ev_conn *c = calloc(1, sizeof *c);
    struct sockaddr_storage *addr = c ? malloc(sizeof *addr) : NULL;
    if (!addr) {
        free(c);
        close(fd);
        return;
    }
    *addr = *ss;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->srv = srv;
    c->fd = fd;
    c->addr = addr;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->open++;
    atomic_fetch_add(&srv->connections, 1);
    int refused = 0; /* the guard wrote the refusal (503 or 429) and counts it */
    c->guarded = hr_guard_open(srv->guard, fd, (const struct sockaddr *)ss, &refused);
    if (refused) {
        c->state = C_LINGER;
        c->deadline_ms = hr_now_ms() + LINGER_MS;
    } else {
        conn_head(c);
    }
    conn_watch(c);
}

/* Out of descriptors or memory: stop watching the listener for a tick; the pending
 * clients wait in the backlog instead of the loop spinning on an accept that fails. */
static void accept_pause(hr_ev_server *srv)
{
    epoll_ctl(srv->ep, EPOLL_CTL_DEL, srv->listen_fd, NULL);
    srv->accept_paused = 1;
}

static void accept_resume(hr_ev_server *srv)
{
    struct epoll_event le = {.events = EPOLLIN, .data.ptr = &srv->listen_fd};
    if (srv->accept_paused && srv->listen_fd >= 0)
        epoll_ctl(srv->ep, EPOLL_CTL_ADD, srv->listen_fd, &le);
    srv->accept_paused = 0;
}

static void on_accept(hr_ev_server *srv)
{
    unsigned limit = srv->opts.max_connections ? srv->opts.max_connections : 4096;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(srv->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_pause(srv); /* else the level-triggered listener spins the loop */
            return;
        }
        /* past the refusal slots (server.h) not even a 503: closed unanswered */
        if (srv->open >= limit + HR_HTTP_REFUSAL_SLOTS) {
            close(fd);
            continue;
        }
        accept_one(srv, fd, &ss);
    }
}

/* ---- the loop --------------------------------------------------------------------------- */

/* Connections handed back by workers. */
static void take_back(hr_ev_server *srv)
{
    uint64_t v;
    (void)!read(srv->wake_fd, &v, sizeof v);
    pthread_mutex_lock(&srv->mu);
    ev_conn *list = srv->back;
    srv->back = NULL;
    if (srv->quiesce_req && srv->listen_fd >= 0) {
        if (!srv->accept_paused)
            epoll_ctl(srv->ep, EPOLL_CTL_DEL, srv->listen_fd, NULL);
        close(srv->listen_fd);
        srv->listen_fd = -1;
        pthread_cond_broadcast(&srv->cv);
    }
    pthread_mutex_unlock(&srv->mu);
    while (list) {
        ev_conn *c = list;
        list = c->back_next;
        if (c->back == BACK_CLOSE || c->fd < 0) {
            conn_close(c);
            continue;
        }
        conn_watch(c);
        if (c->back == BACK_LINGER) {
            conn_linger(c);
            continue;
        }
        if (c->in_len) { /* a pipelined request is already here: its head phase began */
            conn_head(c);
            head_progress(c);
        } else {
            conn_idle(c);
            conn_drop_input(c); /* idle: no buffer */
        }
    }
}

static void check_deadlines(hr_ev_server *srv)
{
    double now = hr_now_ms();
    for (ev_conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == C_WORKER || !c->deadline_ms || now < c->deadline_ms)
            continue;
        if (c->state == C_HEAD && srv->opts.header_timeout_ms)
            hr_guard_cut(srv->guard, c->guarded, HR_GUARD_HEADERS);
        else if (c->state == C_BODY && srv->opts.body_timeout_ms)
            hr_guard_cut(srv->guard, c->guarded, HR_GUARD_BODY);
        conn_close(c); /* idle timeout, linger over, or cut */
    }
}

static void *loop_main(void *arg)
{
    hr_ev_server *srv = arg;
    struct epoll_event evs[128];
    double last_tick = hr_now_ms();
    while (!atomic_load(&srv->stopping)) {
        int n = epoll_wait(srv->ep, evs, 128, TICK_MS);
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &srv->listen_fd)
                on_accept(srv);
            else if (p == &srv->wake_fd)
                take_back(srv);
            else
                on_conn_event(p, evs[i].events);
        }
        double now = hr_now_ms();
        if (now - last_tick >= TICK_MS) {
            last_tick = now;
            check_deadlines(srv);
            accept_resume(srv);
        }
    }
    return NULL;
}

/* ---- the worker's side ------------------------------------------------------------------ */

static void hand_back(ev_conn *c, back_kind kind)
{
    hr_ev_server *srv = c->srv;
    pthread_mutex_lock(&srv->mu);
    c->back = kind;
    c->back_next = srv->back;
    srv->back = c;
    pthread_mutex_unlock(&srv->mu);
    wake_loop(srv);
}

static void respond_internal_error(hr_ev_exchange *ex)
{
    static const char body[] =
        "{\"error\":{\"message\":\"the proxy failed to produce an answer\","
        "\"type\":\"api_error\",\"code\":\"internal_error\"}}";
    const char *h[] = {"Content-Type", "application/json"};
    hr_ev_respond(ex, 500, h, 1, body, sizeof body - 1);
}

static int send_buffer(hr_ev_exchange *ex)
{
    struct iovec iov[2] = {{ex->out_head.data, ex->out_head.len},
                           {ex->out_body.data, ex->out_body.len}};
    int cnt = ex->is_head || !ex->out_body.len ? 1 : 2;
    return send_all(ex->srv, ex->conn->fd, iov, cnt);
}

/* The stream's reader runs here, on the worker: each block goes out as one chunk before
 * the next is read, so the client's pace is the reader's pace. */
static int send_stream(hr_ev_exchange *ex)
{
    int fd = ex->conn->fd;
    struct iovec hv = {ex->out_head.data, ex->out_head.len};
    if (send_all(ex->srv, fd, &hv, 1) != 0)
        return -1;
    if (ex->is_head)
        return 0;
    char *buf = malloc(HR_HTTP_STREAM_BLOCK);
    if (!buf)
        return -1;
    hr_stack_release_below(HR_HTTP_STREAM_STACK_MARGIN); /* the handler's deep pages: a stream may
                                                    stay open for minutes on this worker */
    int chunked = ex->h.http11, rc = -1;
    for (;;) {
        ssize_t n = ex->read(ex->ctx, buf, HR_HTTP_STREAM_BLOCK);
        if (n < 0)
            break;
        if (n == 0) {
            struct iovec end = {"0\r\n\r\n", 5};
            rc = chunked ? send_all(ex->srv, fd, &end, 1) : 0;
            break;
        }
        char size[24];
        int sl = snprintf(size, sizeof size, "%zx\r\n", (size_t)n);
        struct iovec iov[3] = {{size, (size_t)sl}, {buf, (size_t)n}, {"\r\n", 2}};
        if ((chunked ? send_all(ex->srv, fd, iov, 3) : send_all(ex->srv, fd, iov + 1, 1)) != 0)
            break;
    }
    free(buf);
    return rc;
}

/* The 101 is out: the session runs here for its whole life; then the socket is closed
 * (before done, as server.h says). */
static void run_upgrade(ev_conn *c)
{
    hr_ev_exchange *ex = c->ex;
    hr_http_upgraded io = {c->fd, c->in ? c->in : "", c->in_len, &ex->srv->stopping};
    ex->run(ex->ctx, &io);
    pthread_mutex_lock(&ex->srv->mu);
    hr_guard_close(ex->srv->guard, c->guarded);
    c->guarded = NULL;
    close(c->fd);
    c->fd = -1;
    pthread_mutex_unlock(&ex->srv->mu);
}

static int send_answer(hr_ev_exchange *ex)
{
    switch (ex->kind) {
    case ANS_BUFFER:
        return send_buffer(ex);
    case ANS_STREAM:
        return send_stream(ex);
    case ANS_UPGRADE: {
        struct iovec hv = {ex->out_head.data, ex->out_head.len};
        return send_all(ex->srv, ex->conn->fd, &hv, 1);
    }
    default:
        return -1;
    }
}

static void run_exchange(void *arg)
{
    ev_conn *c = arg;
    hr_ev_exchange *ex = c->ex;
    hr_ev_server *srv = ex->srv;
    ex->handled = 1;
    srv->opts.handler((hr_http_exchange *)ex, srv->opts.user);
    if (!ex->responded)
        respond_internal_error(ex);
    ex->c.completed_ok = send_answer(ex) == 0;
    back_kind back = ex->c.completed_ok && !ex->close_after && !atomic_load(&srv->stopping)
                         ? BACK_KEEP
                         : ex->c.completed_ok ? BACK_LINGER : BACK_CLOSE;
    if (ex->kind == ANS_UPGRADE) {
        if (ex->c.completed_ok)
            run_upgrade(c);
        back = BACK_CLOSE;
    }
    if (srv->opts.done)
        srv->opts.done((hr_http_exchange *)ex, srv->opts.user);
    exchange_free(ex);
    c->ex = NULL;
    atomic_fetch_sub(&srv->active, 1);
    hand_back(c, back);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static int listen_on(hr_ev_server *srv, char *err, size_t errlen)
{
    const char *host = srv->opts.host ? srv->opts.host : "127.0.0.1";
    struct sockaddr_storage ss;
    socklen_t sl;
    if (hr_http_listen_address(host, srv->opts.port, &ss, &sl, err, errlen) != 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use, or not local?)", host,
                 srv->opts.port);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    srv->listen_fd = fd;
    return 0;
}

static void server_free(hr_ev_server *srv)
{
    while (srv->conns)
        conn_close(srv->conns);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    if (srv->ep >= 0)
        close(srv->ep);
    if (srv->wake_fd >= 0)
        close(srv->wake_fd);
    hr_workers_stop(srv->workers);
    hr_guard_stop(srv->guard);
    pthread_cond_destroy(&srv->cv);
    pthread_mutex_destroy(&srv->mu);
    free(srv->scratch);
    free(srv);
}

static int start_parts(hr_ev_server *srv, char *err, size_t errlen)
{
    unsigned limit = srv->opts.max_connections ? srv->opts.max_connections : 4096;
    hr_guard_opts go = {limit, srv->opts.per_address_limit, 0, 0}; /* deadlines: the loop's */
    hr_workers_opts wo = {.min_threads = 0, .max_threads = active_limit(srv), .max_queued = active_limit(srv),
                          .idle_ms = 2000, .stack_bytes = srv->opts.thread_stack_bytes};
    srv->guard = hr_guard_start(&go);
    srv->workers = hr_workers_start(&wo);
    srv->scratch = malloc(SCRATCH_BYTES);
    srv->ep = epoll_create1(EPOLL_CLOEXEC);
    srv->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!srv->guard || !srv->workers || !srv->scratch || srv->ep < 0 || srv->wake_fd < 0) {
        snprintf(err, errlen, "cannot start the event loop (out of memory or descriptors)");
        return -1;
    }
    if (listen_on(srv, err, errlen) != 0)
        return -1;
    struct epoll_event le = {.events = EPOLLIN, .data.ptr = &srv->listen_fd};
    struct epoll_event we = {.events = EPOLLIN, .data.ptr = &srv->wake_fd};
    if (epoll_ctl(srv->ep, EPOLL_CTL_ADD, srv->listen_fd, &le) != 0 ||
        epoll_ctl(srv->ep, EPOLL_CTL_ADD, srv->wake_fd, &we) != 0 ||
        pthread_create(&srv->loop, NULL, loop_main, srv) != 0) {
        snprintf(err, errlen, "cannot start the event loop thread");
        return -1;
    }
    return 0;
}

hr_ev_server *hr_ev_server_start(const hr_http_server_opts *opts, char *err, size_t errlen)
{
    hr_ev_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->impl = HR_HTTP_IMPL_EVENTS;
    srv->opts = *opts;
    srv->listen_fd = srv->ep = srv->wake_fd = -1;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->cv, NULL);
    if (start_parts(srv, err, errlen) != 0) {
        server_free(srv);
        return NULL;
    }
    return srv;
}

int hr_ev_server_port(const hr_ev_server *srv) { return srv->port; }

void hr_ev_server_quiesce(hr_ev_server *srv)
{
    pthread_mutex_lock(&srv->mu);
    srv->quiesce_req = 1;
    wake_loop(srv);
    while (srv->listen_fd >= 0)
        pthread_cond_wait(&srv->cv, &srv->mu);
    pthread_mutex_unlock(&srv->mu);
}

unsigned hr_ev_server_connections(const hr_ev_server *srv)
{
    return atomic_load(&((hr_ev_server *)srv)->connections);
}

unsigned long hr_ev_server_timeouts(const hr_ev_server *srv) { return hr_guard_timeouts(srv->guard); }
unsigned long hr_ev_server_refusals(const hr_ev_server *srv)
{
    return hr_guard_refusals(srv->guard) + atomic_load(&srv->busy_refused);
}

/* The loop stops first; then every connection a worker holds is shut down (its writes
 * fail, its stream ends with an error, an upgraded session sees stopping), the workers
 * finish, and what is left is closed. */
void hr_ev_server_stop(hr_ev_server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->stopping, 1);
    wake_loop(srv);
    pthread_join(srv->loop, NULL);
    pthread_mutex_lock(&srv->mu);
    for (ev_conn *c = srv->conns; c; c = c->next)
        if (c->state == C_WORKER && c->fd >= 0)
            shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&srv->mu);
    hr_workers_stop(srv->workers);
    srv->workers = NULL;
    server_free(srv);
}

/* ---- exchange accessors ----------------------------------------------------------------- */

static void exchange_free(hr_ev_exchange *ex)
{
    if (ex->free_ctx)
        ex->free_ctx(ex->ctx);
    if (ex->c.data && ex->c.free_data)
        ex->c.free_data(ex->c.data);
    hr_h1_head_free(&ex->h);
    free(ex->head);
    free(ex->path);
    hr_buf_free(&ex->c.body);
    hr_buf_free(&ex->out_head);
    hr_buf_free(&ex->out_body);
    hr_budget_lease_end(&ex->c.lease);
    free(ex);
}

const char *hr_ev_method(const hr_ev_exchange *ex) { return ex->h.method; }
const char *hr_ev_path(const hr_ev_exchange *ex) { return ex->path; }
const char *hr_ev_query(const hr_ev_exchange *ex) { return ex->query; }
const char *hr_ev_target(const hr_ev_exchange *ex) { return ex->h.target; }

const char *hr_ev_header(const hr_ev_exchange *ex, const char *name)
{
    for (size_t i = 0; i < ex->h.n_fields; i++)
        if (strcasecmp(ex->h.fields[2 * i], name) == 0)
            return ex->h.fields[2 * i + 1];
    return NULL;
}

const char *const *hr_ev_headers(const hr_ev_exchange *ex, size_t *n_pairs)
{
    *n_pairs = ex->h.n_fields;
    return ex->h.fields;
}




int hr_ev_stopping(const hr_ev_exchange *ex) { return atomic_load(&ex->srv->stopping); }

int hr_ev_client_gone(const hr_ev_exchange *ex)
{
    int fd = ex->conn->fd;
    if (fd < 0)
        return 1;
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    if (poll(&p, 1, 0) <= 0)
        return 0;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}



/* ---- answers (on the worker, inside the handler) ---------------------------------------- */

/* Framing and connection fields are the server's: the handler's copies are left out (a
 * Connection: close from it is honoured). */
static int server_owned_field(hr_ev_exchange *ex, const char *name, const char *value)
{
    if (!strcasecmp(name, "connection")) {
        if (hr_http_list_has(value, "close"))
            ex->close_after = 1;
        return 1;
    }
    return !strcasecmp(name, "content-length") || !strcasecmp(name, "transfer-encoding");
}

/* framing: "length" (Content-Length: len), "chunked", or NULL (none: 1xx, 204, 304). */
static int build_head(hr_ev_exchange *ex, int status, const char *const *h, size_t n,
                      const char *framing, size_t len)
{
    hr_buf *b = &ex->out_head;
    hr_buf_printf(b, "HTTP/1.1 %d %s\r\n", status, status_phrase(status));
    for (size_t i = 0; i < n; i++)
        if (!server_owned_field(ex, h[2 * i], h[2 * i + 1]))
            hr_buf_printf(b, "%s: %s\r\n", h[2 * i], h[2 * i + 1]);
    if (framing && !strcmp(framing, "length"))
        hr_buf_printf(b, "Content-Length: %zu\r\n", len);
    else if (framing && ex->h.http11)
        hr_buf_puts(b, "Transfer-Encoding: chunked\r\n");
    else if (framing)
        ex->close_after = 1; /* HTTP/1.0 stream: its end is the connection's */
    if (status == 101)
        hr_buf_puts(b, "Connection: Upgrade\r\n");
    else if (ex->close_after || wants_close(ex))
        hr_buf_puts(b, "Connection: close\r\n");
    hr_buf_puts(b, "\r\n");
    ex->status = status;
    ex->responded = 1;
    return hr_buf_failed(b) ? -1 : 0;
}

int hr_ev_respond(hr_ev_exchange *ex, int status, const char *const *headers, size_t n_pairs,
                  const char *body, size_t len)
{
    if (ex->responded)
        return -1;
    int bodyless = status < 200 || status == 204 || status == 304;
    if (!bodyless && len && hr_buf_append(&ex->out_body, body, len) != 0)
        return -1;
    ex->kind = ANS_BUFFER;
    return build_head(ex, status, headers, n_pairs, bodyless ? NULL : "length", len);
}

/* A streamed or upgraded answer takes ownership of ctx: when the exchange has answered
 * already, ctx is freed here and -1 returned. */
static int take_answer(hr_ev_exchange *ex, answer_kind kind, void *ctx, void (*free_ctx)(void *))
{
    if (ex->responded) {
        if (free_ctx)
            free_ctx(ctx);
        return -1;
    }
    ex->kind = kind;
    ex->ctx = ctx;
    ex->free_ctx = free_ctx;
    return 0;
}

int hr_ev_respond_stream(hr_ev_exchange *ex, int status, const char *const *headers,
                         size_t n_pairs, hr_http_reader read, void *ctx, void (*free_ctx)(void *))
{
    if (take_answer(ex, ANS_STREAM, ctx, free_ctx) != 0)
        return -1;
    ex->read = read;
    return build_head(ex, status, headers, n_pairs, "chunked", 0);
}

int hr_ev_respond_upgrade(hr_ev_exchange *ex, const char *const *headers, size_t n_pairs,
                          hr_http_upgrade_fn run, void *ctx, void (*free_ctx)(void *))
{
    if (take_answer(ex, ANS_UPGRADE, ctx, free_ctx) != 0)
        return -1;
    ex->run = run;
    return build_head(ex, 101, headers, n_pairs, NULL, 0);
}
