/* bench_http_relayfloorev: bench_http_relayfloor's twin on libevent (issue 14): the same
 * relay (POST body to one upstream; the upstream's status, Content-Type and body back;
 * nothing else) with libevent's evhttp for the client side and libcurl's multi socket
 * interface driven from the same event_base for the upstream side. One thread.
 *
 * Why it exists: the issue asks for libmicrohttpd's epoll mode "or another maintained
 * event library from Debian if it serves better — say why". Run beside the MHD floor,
 * nginx and the proxy (bench/proxy/arms.mjs), it gives the CPU per request and the memory
 * per idle connection of each library on the same relay, so that choice rests on numbers.
 * A benchmark program, never part of the proxy; a client that leaves before its answer is
 * not handled (wrk and the memory bench never do).
 * usage: bench_http_relayfloorev UPSTREAM_PORT   prints "port=N" (127.0.0.1, ephemeral) */
#include "relayfloor.h"

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define MAX_ANSWER ((size_t)1 << 20)

typedef struct relay {
    struct evhttp_request *req;
    CURL *easy;
    struct curl_slist *hdrs;
    struct evbuffer *answer;
    char content_type[128];
} relay;

typedef struct sock_watch {
    struct event *ev;
} sock_watch;

static struct event_base *g_base;
static CURLM *g_multi;
static struct event *g_timer;
static char g_upstream[64];

/* ---- curl on the event_base ----------------------------------------------------------- */

static void collect_done(void);

static void on_sock_event(evutil_socket_t fd, short what, void *arg)
{
    (void)arg;
    int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(g_multi, fd, flags, &running);
    collect_done();
}

static void on_timer_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    int running;
    curl_multi_socket_action(g_multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect_done();
}

static int on_sock(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    (void)userp;
    sock_watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            event_free(w->ev);
            free(w);
            curl_multi_assign(g_multi, s, NULL);
        }
        return 0;
    }
    short kind = (short)((what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0) |
                         EV_PERSIST);
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w)
            return -1;
        curl_multi_assign(g_multi, s, w);
    } else {
        event_del(w->ev);
        event_free(w->ev);
    }
    w->ev = event_new(g_base, s, kind, on_sock_event, NULL);
    return w->ev && event_add(w->ev, NULL) == 0 ? 0 : -1;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    (void)userp;
    if (timeout_ms < 0) {
        evtimer_del(g_timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(g_timer, &tv);
    return 0;
}

static size_t on_up_body(char *p, size_t sz, size_t n, void *ud)
{
    relay *r = ud;
    if (evbuffer_get_length(r->answer) + sz * n > MAX_ANSWER)
        return 0;
    return evbuffer_add(r->answer, p, sz * n) == 0 ? sz * n : 0;
}

static size_t on_up_header(char *p, size_t sz, size_t n, void *ud)
{
    relay *r = ud;
    size_t len = sz * n;
    floor_content_type(p, len, r->content_type, sizeof r->content_type);
    return len;
}

static void relay_free(relay *r)
{
    if (r->easy) {
        curl_multi_remove_handle(g_multi, r->easy);
        floor_easy_give(r->easy);
    }
    curl_slist_free_all(r->hdrs);
    if (r->answer)
        evbuffer_free(r->answer);
    free(r);
}

static void finish(void *arg, CURLcode rc)
{
    relay *r = arg;
    long status = 502;
    if (rc == CURLE_OK)
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(out, "Content-Type", r->content_type[0] ? r->content_type : "application/json");
    if (rc != CURLE_OK) {
        evbuffer_drain(r->answer, evbuffer_get_length(r->answer));
        evbuffer_add_printf(r->answer, "{\"error\":{\"message\":\"upstream failed\"}}");
    }
    evhttp_send_reply(r->req, (int)status, "OK", r->answer);
    relay_free(r);
}

static void collect_done(void) { floor_each_done(g_multi, finish); }

/* ---- evhttp side ----------------------------------------------------------------------- */

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    relay *r = calloc(1, sizeof *r);
    if (!r || !(r->answer = evbuffer_new())) {
        free(r);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    r->req = req;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *auth = evhttp_find_header(in, "Authorization");
    const char *ctype = evhttp_find_header(in, "Content-Type");
    r->hdrs = floor_headers(ctype, auth);
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(body);
    const char *bdata = (const char *)evbuffer_pullup(body, -1); /* valid until the reply */
    char url[2048];
    snprintf(url, sizeof url, "%s%s", g_upstream, evhttp_request_get_uri(req));
    CURL *e = floor_easy_take();
    r->easy = e;
    if (!e) {
        finish(r, CURLE_FAILED_INIT);
        return;
    }
    floor_easy_setup(e, url, r->hdrs, bdata, blen, on_up_body, on_up_header, r);
    if (curl_multi_add_handle(g_multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        r->easy = NULL;
        finish(r, CURLE_FAILED_INIT);
    }
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    event_base_loopbreak(g_base);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s UPSTREAM_PORT\n", argv[0]);
        return 2;
    }
    snprintf(g_upstream, sizeof g_upstream, "http://127.0.0.1:%d", atoi(argv[1]));
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_base = event_base_new();
    g_multi = curl_multi_init();
    g_timer = evtimer_new(g_base, on_timer_event, NULL);
    curl_multi_setopt(g_multi, CURLMOPT_SOCKETFUNCTION, on_sock);
    curl_multi_setopt(g_multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(g_multi, CURLMOPT_MAXCONNECTS, 256L);
    struct evhttp *http = evhttp_new(g_base);
    struct evhttp_bound_socket *bs = http ? evhttp_bind_socket_with_handle(http, "127.0.0.1", 0) : NULL;
    struct event *term = evsignal_new(g_base, SIGTERM, on_signal, NULL);
    if (!g_base || !g_multi || !g_timer || !bs || !term || event_add(term, NULL) != 0) {
        fprintf(stderr, "start failed\n");
        return 1;
    }
    evhttp_set_gencb(http, on_request, NULL);
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl);
    printf("port=%u\n", (unsigned)ntohs(sa.sin_port));
    fflush(stdout);
    event_base_dispatch(g_base);
    evhttp_free(http);
    event_free(term);
    event_free(g_timer);
    floor_easy_drain();
    curl_multi_cleanup(g_multi);
    event_base_free(g_base);
    curl_global_cleanup();
    return 0;
}
