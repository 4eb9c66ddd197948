/* bench_http_relayfloor: the floor of an event-driven relay on the libraries the proxy uses
 * (issue 14). One thread, one epoll loop: libmicrohttpd in external epoll mode (its epoll fd
 * inside ours, connections suspended while their upstream transfer runs) and libcurl's multi
 * socket interface (curl_multi_socket_action) for the upstream side. It relays POST bodies
 * to one upstream and answers with the upstream's status, Content-Type and body, nothing
 * else: no header filtering, logging, metrics, usage or retries.
 *
 * Why it exists: to measure, beside nginx and the proxy in the same run (bench/proxy/
 * arms.mjs --floor), what an event-driven relay built on MHD + curl can reach at best, so
 * the choice of libraries for the events server model rests on a number. It is a benchmark
 * program, never part of the proxy.
 *
 * Answers: a JSON answer is buffered whole (up to 1 MiB, else 502) and sent with its length;
 * an event stream (Content-Type text/event-stream) is relayed as it arrives through one
 * bounded buffer of STREAM_BUF bytes with backpressure both ways: a full buffer pauses the
 * curl transfer (CURL_WRITEFUNC_PAUSE, so the upstream socket is no longer read and TCP
 * slows the upstream), an empty one suspends the client connection inside MHD's content
 * reader until curl delivers more. A request body is capped at 16 MiB (413).
 * A client that leaves while its connection is suspended is noticed through our own epoll
 * (MHD does not watch a suspended socket) and ends its upstream transfer. Not handled:
 * stopping with suspended connections (MHD_stop_daemon would abort) is left to exit.
 * usage: bench_http_relayfloor UPSTREAM_PORT [MHD_CONNECTION_MEMORY_BYTES]
 *        prints "port=N" once listening on 127.0.0.1 (an ephemeral port). */
#include "relayfloor.h"

#include <curl/curl.h>
#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>

#define MAX_BODY ((size_t)16 << 20)
#define MAX_ANSWER ((size_t)1 << 20)
#define STREAM_BUF ((size_t)16 << 10)
/* What an epoll event's data says: MHD's own epoll fd (MHD_TAG), a suspended client's socket
 * (the relay's address with CLIENT_TAG set; user-space addresses stay below bit 62), or a
 * curl socket (its fd). */
#define MHD_TAG UINT64_MAX
#define CLIENT_TAG ((uint64_t)1 << 62)

typedef struct bytes {
    char *data;
    size_t len, cap;
} bytes;

/* Per exchange, owned by MHD's connection (freed in on_completed). */
typedef struct relay {
    struct MHD_Connection *conn;
    CURL *easy;             /* while the upstream transfer runs */
    struct curl_slist *hdrs;
    bytes body, answer;
    size_t answer_off;      /* stream: bytes of answer already given to MHD */
    char content_type[128];
    long status;
    int started, done, failed, too_large;
    int stream;             /* the answer is an event stream, relayed as it arrives */
    int headers_in;         /* the upstream's final headers arrived */
    int suspended;          /* the client connection waits (for the answer or for bytes) */
    int paused;             /* curl is paused: the stream buffer is full */
    int queued;             /* the stream response is queued */
    int client_fd;          /* watched in our epoll while suspended: MHD does not */
    int client_gone;        /* the client hung up while suspended: end the exchange */
} relay;

static CURLM *g_multi;
static int g_epoll;
static char g_upstream[64];
static long long g_curl_deadline_ms = -1; /* absolute, CLOCK_MONOTONIC; -1 = none */
static int g_mhd_due;                      /* a connection was resumed: run MHD */
static volatile sig_atomic_t g_stop;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int bytes_add(bytes *b, const void *p, size_t n, size_t cap)
{
    if (b->len + n > cap)
        return -1;
    if (b->len + n > b->cap) {
        size_t c = b->cap ? b->cap * 2 : 4096;
        while (c < b->len + n)
            c *= 2;
        char *d = realloc(b->data, c);
        if (!d)
            return -1;
        b->data = d;
        b->cap = c;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* ---- curl side ---------------------------------------------------------------------- */

static int on_sock(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    (void)userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(g_epoll, EPOLL_CTL_DEL, s, NULL); /* may be closed already: ignored */
        curl_multi_assign(g_multi, s, NULL);
        return 0;
    }
    struct epoll_event ev = {.data.u64 = (uint64_t)s};
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    if (epoll_ctl(g_epoll, socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0)
        return -1;
    curl_multi_assign(g_multi, s, (void *)1);
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    (void)userp;
    g_curl_deadline_ms = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    return 0;
}

/* Suspends the client connection; its socket goes into our epoll for EPOLLRDHUP, since MHD
 * stops watching a suspended socket and a client that leaves must end its upstream transfer
 * (woken, MHD reads the close and completes the request, which ends the transfer). */
static void suspend(relay *r)
{
    r->suspended = 1;
    MHD_suspend_connection(r->conn);
    struct epoll_event ev = {.events = EPOLLRDHUP, .data.u64 = (uint64_t)(uintptr_t)r | CLIENT_TAG};
    epoll_ctl(g_epoll, EPOLL_CTL_ADD, r->client_fd, &ev);
}

static void wake(relay *r)
{
    if (!r->suspended)
        return;
    r->suspended = 0;
    epoll_ctl(g_epoll, EPOLL_CTL_DEL, r->client_fd, NULL);
    MHD_resume_connection(r->conn);
    g_mhd_due = 1;
}

static size_t on_up_body(char *p, size_t sz, size_t n, void *ud)
{
    relay *r = ud;
    size_t len = sz * n;
    if (!r->stream)
        return bytes_add(&r->answer, p, len, MAX_ANSWER) == 0 ? len : 0; /* 0 aborts: 502 */
    if (r->answer_off == r->answer.len) /* all given out: reuse the buffer from its start */
        r->answer.len = r->answer_off = 0;
    if (r->answer.len + len > STREAM_BUF) {
        r->paused = 1; /* curl keeps these bytes and offers them again after the unpause */
        return CURL_WRITEFUNC_PAUSE;
    }
    if (bytes_add(&r->answer, p, len, STREAM_BUF) != 0)
        return 0;
    wake(r);
    return len;
}

static size_t on_up_header(char *p, size_t sz, size_t n, void *ud)
{
    relay *r = ud;
    size_t len = sz * n;
    if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) { /* end of a header block */
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
        if (r->status >= 200) {
            r->headers_in = 1;
            r->stream = !strncasecmp(r->content_type, "text/event-stream", 17);
            if (r->stream)
                wake(r); /* the access handler queues the streamed response */
        }
        return len;
    }
    floor_content_type(p, len, r->content_type, sizeof r->content_type);
    return len;
}

static int start_upstream(relay *r, const char *url, const char *auth, const char *ctype)
{
    char full[2048];
    if (snprintf(full, sizeof full, "%s%s", g_upstream, url) >= (int)sizeof full)
        return -1;
    CURL *e = floor_easy_take();
    if (!e)
        return -1;
    r->hdrs = floor_headers(ctype, auth);
    floor_easy_setup(e, full, r->hdrs, r->body.data, r->body.len, on_up_body, on_up_header, r);
    if (curl_multi_add_handle(g_multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        return -1;
    }
    r->easy = e;
    return 0;
}

static void end_upstream(relay *r)
{
    if (!r->easy)
        return;
    curl_multi_remove_handle(g_multi, r->easy);
    floor_easy_give(r->easy);
    r->easy = NULL;
}

/* A finished transfer: record the outcome and hand the connection back to MHD. */
static void on_done(void *arg, CURLcode rc)
{
    relay *r = arg;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
    end_upstream(r);
    r->failed = rc != CURLE_OK;
    r->done = 1;
    wake(r);
}

/* ---- MHD side ----------------------------------------------------------------------- */

/* MHD asks for the next stream bytes: what the buffer holds, or the end, or (nothing yet)
 * suspend the connection until curl delivers; a drained buffer lets a paused curl go on. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    relay *r = cls;
    if (r->client_gone)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t avail = r->answer.len - r->answer_off;
    if (avail) {
        size_t k = avail < max ? avail : max;
        memcpy(buf, r->answer.data + r->answer_off, k);
        r->answer_off += k;
        if (r->answer_off == r->answer.len && r->paused && r->easy) {
            r->paused = 0;
            curl_easy_pause(r->easy, CURLPAUSE_CONT); /* may deliver at once, into the buffer */
        }
        return (ssize_t)k;
    }
    if (r->done)
        return r->failed ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    suspend(r);
    return 0;
}

static enum MHD_Result answer_stream(relay *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, r, NULL);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", r->content_type);
    r->queued = 1;
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result answer(relay *r)
{
    static const char bad[] = "{\"error\":{\"message\":\"upstream failed\"}}";
    static const char big[] = "{\"error\":{\"message\":\"body too large\"}}";
    struct MHD_Response *resp;
    unsigned status;
    if (r->too_large || r->failed) {
        const char *msg = r->too_large ? big : bad;
        resp = MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = r->too_large ? 413 : 502;
        MHD_add_response_header(resp, "Content-Type", "application/json");
    } else {
        resp = MHD_create_response_from_buffer(r->answer.len, r->answer.data,
                                               MHD_RESPMEM_MUST_FREE);
        r->answer = (bytes){0}; /* MHD owns it now */
        status = (unsigned)r->status;
        if (r->content_type[0])
            MHD_add_response_header(resp, "Content-Type", r->content_type);
    }
    if (!resp)
        return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)method;
    (void)version;
    relay *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->conn = c;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        r->client_fd = ci ? ci->connect_fd : -1;
        *con_cls = r;
        return MHD_YES;
    }
    if (r->client_gone)
        return MHD_NO; /* closes the connection; on_completed ends the transfer */
    if (*upload_size) {
        if (bytes_add(&r->body, upload, *upload_size, MAX_BODY) != 0)
            r->too_large = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->stream && !r->queued)
        return answer_stream(r);
    if ((r->done && !r->stream) || r->too_large)
        return answer(r);
    if (r->started)
        return MHD_YES;
    r->started = 1;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (start_upstream(r, url, auth, ctype) != 0) {
        r->failed = 1;
        return answer(r);
    }
    suspend(r);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    relay *r = *con_cls;
    if (!r)
        return;
    end_upstream(r);
    curl_slist_free_all(r->hdrs);
    free(r->body.data);
    free(r->answer.data);
    free(r);
    *con_cls = NULL;
}

/* ---- the loop ----------------------------------------------------------------------- */

static int next_timeout_ms(struct MHD_Daemon *d)
{
    long long t = 1000;
    MHD_UNSIGNED_LONG_LONG mt;
    if (MHD_get_timeout(d, &mt) == MHD_YES && (long long)mt < t)
        t = (long long)mt;
    if (g_curl_deadline_ms >= 0) {
        long long c = g_curl_deadline_ms - now_ms();
        if (c < t)
            t = c < 0 ? 0 : c;
    }
    return g_mhd_due ? 0 : (int)t;
}

static void run_loop(struct MHD_Daemon *d)
{
    struct epoll_event evs[256];
    while (!g_stop) {
        int n = epoll_wait(g_epoll, evs, 256, next_timeout_ms(d));
        if (n < 0 && errno != EINTR)
            break;
        int running, mhd_ready = g_mhd_due;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == MHD_TAG) {
                mhd_ready = 1;
                continue;
            }
            if (evs[i].data.u64 != MHD_TAG && (evs[i].data.u64 & CLIENT_TAG)) {
                relay *r = (relay *)(uintptr_t)(evs[i].data.u64 & ~CLIENT_TAG);
                r->client_gone = 1; /* MHD, resumed, is told to close (reader or handler) */
                wake(r);
                continue;
            }
            int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                        (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                        (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(g_multi, (curl_socket_t)evs[i].data.u64, flags, &running);
        }
        if (g_curl_deadline_ms >= 0 && now_ms() >= g_curl_deadline_ms) {
            g_curl_deadline_ms = -1;
            curl_multi_socket_action(g_multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        floor_each_done(g_multi, on_done);
        mhd_ready |= g_mhd_due || n == 0; /* resumed connections, or MHD's own timeouts */
        g_mhd_due = 0;
        if (mhd_ready)
            MHD_run(d);
    }
}

static void on_signal(int s)
{
    (void)s;
    g_stop = 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s UPSTREAM_PORT [MHD_CONNECTION_MEMORY_BYTES]\n", argv[0]);
        return 2;
    }
    snprintf(g_upstream, sizeof g_upstream, "http://127.0.0.1:%d", atoi(argv[1]));
    size_t pool = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 32768;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_epoll = epoll_create1(EPOLL_CLOEXEC);
    g_multi = curl_multi_init();
    curl_multi_setopt(g_multi, CURLMOPT_SOCKETFUNCTION, on_sock);
    curl_multi_setopt(g_multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(g_multi, CURLMOPT_MAXCONNECTS, 256L);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_access, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        NULL, MHD_OPTION_CONNECTION_LIMIT, 30000u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (!d || g_epoll < 0 || !g_multi) {
        fprintf(stderr, "start failed\n");
        return 1;
    }
    const union MHD_DaemonInfo *ei = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *pi = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = MHD_TAG};
    if (!ei || !pi || epoll_ctl(g_epoll, EPOLL_CTL_ADD, ei->epoll_fd, &ev) != 0) {
        fprintf(stderr, "epoll setup failed\n");
        return 1;
    }
    printf("port=%u\n", (unsigned)pi->port);
    fflush(stdout);
    run_loop(d);
    /* No MHD_stop_daemon: with connections still suspended it is an API violation (MHD
     * aborts); process exit releases everything. */
    (void)d;
    floor_easy_drain();
    curl_multi_cleanup(g_multi);
    curl_global_cleanup();
    return 0;
}
