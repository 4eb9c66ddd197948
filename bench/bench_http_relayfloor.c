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
 * Bounds: a request body up to 16 MiB and an upstream answer up to 1 MiB (buffered whole:
 * the floor measures short answers; streams are out of its scope); beyond either the client
 * gets 502/413.
 * usage: bench_http_relayfloor UPSTREAM_PORT [MHD_CONNECTION_MEMORY_BYTES]
 *        prints "port=N" once listening on 127.0.0.1 (an ephemeral port). */
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
#define MHD_TAG UINT64_MAX /* epoll data of MHD's own epoll fd; curl sockets carry their fd */

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
    char content_type[128];
    long status;
    int started, done, failed, too_large;
} relay;

static CURLM *g_multi;
static int g_epoll;
static char g_upstream[64];
static long long g_curl_deadline_ms = -1; /* absolute, CLOCK_MONOTONIC; -1 = none */
static int g_mhd_due;                      /* a connection was resumed: run MHD */
static volatile sig_atomic_t g_stop;
/* Finished easy handles kept for the next transfer (as the proxy's pool does): init and
 * cleanup per request would be measured otherwise. */
#define SPARE_MAX 256
static CURL *g_spare[SPARE_MAX];
static int g_n_spare;

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

static size_t on_up_body(char *p, size_t sz, size_t n, void *ud)
{
    relay *r = ud;
    if (bytes_add(&r->answer, p, sz * n, MAX_ANSWER) != 0)
        return 0; /* aborts the transfer: 502 */
    return sz * n;
}

static size_t on_up_header(char *p, size_t sz, size_t n, void *ud)
{
    relay *r = ud;
    size_t len = sz * n;
    static const char ct[] = "content-type:";
    if (len > sizeof ct && !strncasecmp(p, ct, sizeof ct - 1)) {
        const char *v = p + sizeof ct - 1;
        size_t k = len - (sizeof ct - 1);
        while (k && (*v == ' ' || *v == '\t'))
            v++, k--;
        while (k && (v[k - 1] == '\r' || v[k - 1] == '\n'))
            k--;
        if (k >= sizeof r->content_type)
            k = sizeof r->content_type - 1;
        memcpy(r->content_type, v, k);
        r->content_type[k] = 0;
    }
    return len;
}

static int start_upstream(relay *r, const char *url, const char *auth, const char *ctype)
{
    char full[2048];
    if (snprintf(full, sizeof full, "%s%s", g_upstream, url) >= (int)sizeof full)
        return -1;
    CURL *e = g_n_spare ? g_spare[--g_n_spare] : curl_easy_init();
    if (!e)
        return -1;
    char line[1024];
    snprintf(line, sizeof line, "Content-Type: %s", ctype ? ctype : "application/json");
    r->hdrs = curl_slist_append(r->hdrs, line);
    if (auth) {
        snprintf(line, sizeof line, "Authorization: %s", auth);
        r->hdrs = curl_slist_append(r->hdrs, line);
    }
    r->hdrs = curl_slist_append(r->hdrs, "Expect:");
    curl_easy_setopt(e, CURLOPT_URL, full);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body.data ? r->body.data : "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_up_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_up_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
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
    if (g_n_spare < SPARE_MAX) {
        curl_easy_reset(r->easy);
        g_spare[g_n_spare++] = r->easy;
    } else {
        curl_easy_cleanup(r->easy);
    }
    r->easy = NULL;
}

/* Finished transfers: record the outcome and hand the connection back to MHD. */
static void collect_done(void)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(g_multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        relay *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode rc = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &r->status);
        end_upstream(r);
        r->failed = rc != CURLE_OK;
        r->done = 1;
        MHD_resume_connection(r->conn);
        g_mhd_due = 1;
    }
}

/* ---- MHD side ----------------------------------------------------------------------- */

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
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        if (bytes_add(&r->body, upload, *upload_size, MAX_BODY) != 0)
            r->too_large = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->done || r->too_large)
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
    MHD_suspend_connection(c);
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
            int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                        (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                        (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(g_multi, (curl_socket_t)evs[i].data.u64, flags, &running);
        }
        if (g_curl_deadline_ms >= 0 && now_ms() >= g_curl_deadline_ms) {
            g_curl_deadline_ms = -1;
            curl_multi_socket_action(g_multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        collect_done();
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
    MHD_stop_daemon(d);
    while (g_n_spare)
        curl_easy_cleanup(g_spare[--g_n_spare]);
    curl_multi_cleanup(g_multi);
    curl_global_cleanup();
    return 0;
}
