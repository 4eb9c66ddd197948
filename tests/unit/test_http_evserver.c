/* Unit tests for the events model of src/http/server.h (evserver.c), on a real loopback
 * server with a small handler: pipelined requests answered in order, chunked bodies and
 * 100 Continue, streamed answers in chunked framing, keep-alive reuse, the idle timeout,
 * a declared body over the limit, quiesce and stop with connections open, requests past the
 * active cap refused at once while connections stay open. The expected
 * bytes follow RFC 9112 framing, not our output; the proxy-level behaviour on this model
 * is covered by the node_events.* suites. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the handler: echoes what it saw ------------------------------------------------- */

typedef struct stream_ctx {
    int left;
} stream_ctx;

static ssize_t stream_read(void *ctx, char *buf, size_t max)
{
    stream_ctx *s = ctx;
    if (!s->left)
        return 0;
    int n = snprintf(buf, max, "piece%d;", s->left--);
    return n;
}

/* /hold blocks its worker until hold_release: a request that occupies an active slot. */
static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv = PTHREAD_COND_INITIALIZER;
static int hold_open, hold_entered;

static void hold_release(void)
{
    pthread_mutex_lock(&hold_mu);
    hold_open = 1;
    pthread_cond_broadcast(&hold_cv);
    pthread_mutex_unlock(&hold_mu);
}

static void handler(hr_http_exchange *ex, void *user)
{
    (void)user;
    const char *h[] = {"Content-Type", "text/plain"};
    char out[512];
    if (!strcmp(hr_http_path(ex), "/hold")) {
        pthread_mutex_lock(&hold_mu);
        hold_entered++;
        pthread_cond_broadcast(&hold_cv);
        while (!hold_open)
            pthread_cond_wait(&hold_cv, &hold_mu);
        pthread_mutex_unlock(&hold_mu);
    }
    if (hr_http_body_too_large(ex)) {
        hr_http_respond(ex, 413, h, 1, "too large", 9);
        return;
    }
    if (!strcmp(hr_http_path(ex), "/stream")) {
        stream_ctx *s = malloc(sizeof *s);
        s->left = 3;
        hr_http_respond_stream(ex, 200, h, 1, stream_read, s, free);
        return;
    }
    size_t blen;
    const char *body = hr_http_body(ex, &blen);
    int n = snprintf(out, sizeof out, "%s %s q=%s body=%.*s", hr_http_method(ex),
                     hr_http_path(ex), hr_http_query(ex), (int)blen, body);
    hr_http_respond(ex, 200, h, 1, out, (size_t)n);
}

static hr_http_server *start_active(unsigned idle_s, unsigned max_active)
{
    hr_http_server_opts o = {.model = HR_HTTP_MODEL_EVENTS, .host = "127.0.0.1", .port = 0,
                             .max_connections = 64, .max_active = max_active, .max_body_bytes = 1000,
                             .idle_timeout_s = idle_s, .header_timeout_ms = 2000,
                             .body_timeout_ms = 2000, .handler = handler};
    char err[256];
    hr_http_server *s = hr_http_server_start(&o, err, sizeof err);
    if (!s)
        fail_msg("start: %s", err);
    return s;
}

static hr_http_server *start(unsigned idle_s) { return start_active(idle_s, 0); }

/* ---- a raw client ---------------------------------------------------------------------- */

static int dial(hr_http_server *s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)hr_http_server_port(s))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void put(int fd, const char *text) { assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text)); }

/* Reads until want appears in what arrived (or the peer closes, or 3 s pass). */
static size_t read_until(int fd, char *buf, size_t cap, const char *want)
{
    size_t len = 0;
    buf[0] = 0;
    while (len + 1 < cap && !strstr(buf, want)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 3000) <= 0)
            break;
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = 0;
    }
    return len;
}

/* 1 when the server closed the connection within ms. */
static int closed_within(int fd, int ms)
{
    char b[256];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, ms) > 0) {
        ssize_t n = read(fd, b, sizeof b);
        if (n <= 0)
            return 1;
    }
    return 0;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void pipelined_requests_are_answered_in_order(void **state)
{
    (void)state;
    hr_http_server *s = start(5);
    int fd = dial(s);
    put(fd, "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"
            "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
            "GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
    char buf[4096];
    read_until(fd, buf, sizeof buf, "GET /c");
    const char *a = strstr(buf, "GET /a q=x=1 body="), *b = strstr(buf, "POST /b q= body=xyz"),
               *c = strstr(buf, "GET /c q= body=");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);
    assert_int_equal(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17), 0);
    close(fd);
    hr_http_server_stop(s);
}

static void chunked_body_and_100_continue(void **state)
{
    (void)state;
    hr_http_server *s = start(5);
    int fd = dial(s);
    put(fd, "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
            "Expect: 100-continue\r\n\r\n");
    char buf[2048];
    read_until(fd, buf, sizeof buf, "\r\n\r\n");
    assert_string_equal(buf, "HTTP/1.1 100 Continue\r\n\r\n");
    put(fd, "3;ext\r\nabc\r\n");
    put(fd, "A\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n");
    const char *want = "POST /up q= body=abc0123456789";
    read_until(fd, buf, sizeof buf, want);
    char cl[64];
    snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", strlen(want));
    assert_non_null(strstr(buf, cl));
    assert_non_null(strstr(buf, want));
    /* a bad chunk size on the same keep-alive connection: 400 and close */
    put(fd, "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    read_until(fd, buf, sizeof buf, "\r\n\r\n");
    assert_int_equal(strncmp(buf, "HTTP/1.1 400 ", 13), 0);
    assert_true(closed_within(fd, 3000));
    close(fd);
    hr_http_server_stop(s);
}

static void streamed_answer_is_chunked(void **state)
{
    (void)state;
    hr_http_server *s = start(5);
    int fd = dial(s);
    put(fd, "GET /stream HTTP/1.1\r\nHost: h\r\n\r\n");
    char buf[2048];
    read_until(fd, buf, sizeof buf, "0\r\n\r\n");
    assert_non_null(strstr(buf, "Transfer-Encoding: chunked\r\n"));
    const char *body = strstr(buf, "\r\n\r\n") + 4;
    assert_string_equal(body, "7\r\npiece3;\r\n7\r\npiece2;\r\n7\r\npiece1;\r\n0\r\n\r\n");
    /* the connection is reused after the stream */
    put(fd, "GET /again HTTP/1.1\r\nHost: h\r\n\r\n");
    read_until(fd, buf, sizeof buf, "GET /again");
    assert_non_null(strstr(buf, "GET /again"));
    close(fd);
    hr_http_server_stop(s);
}

static void idle_connections_close_after_the_idle_timeout(void **state)
{
    (void)state;
    hr_http_server *s = start(1);
    int fd = dial(s);
    put(fd, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    char buf[1024];
    read_until(fd, buf, sizeof buf, "body=");
    assert_int_equal(hr_http_server_connections(s), 1);
    assert_true(closed_within(fd, 3000));
    close(fd);
    hr_http_server_stop(s);
}

static void declared_body_over_the_limit_is_answered_and_closed(void **state)
{
    (void)state;
    hr_http_server *s = start(5);
    int fd = dial(s);
    put(fd, "POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n");
    char buf[1024];
    read_until(fd, buf, sizeof buf, "too large");
    assert_int_equal(strncmp(buf, "HTTP/1.1 413 ", 13), 0);
    assert_non_null(strstr(buf, "Connection: close\r\n"));
    assert_true(closed_within(fd, 3000));
    close(fd);
    hr_http_server_stop(s);
}

static void quiesce_refuses_new_connections_and_stop_frees_open_ones(void **state)
{
    (void)state;
    hr_http_server *s = start(30);
    int idle = dial(s), partial = dial(s);
    put(idle, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    char buf[1024];
    read_until(idle, buf, sizeof buf, "body=");
    put(partial, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
    hr_http_server_quiesce(s);
    assert_int_equal(dial(s), -1);
    /* the open connection is still served */
    put(idle, "GET /still HTTP/1.1\r\nHost: h\r\n\r\n");
    read_until(idle, buf, sizeof buf, "GET /still");
    assert_non_null(strstr(buf, "GET /still"));
    hr_http_server_stop(s); /* with one idle and one half-sent request open */
    assert_true(closed_within(idle, 1000));
    close(idle);
    close(partial);
}

/* Connections and active requests are counted apart: with two requests held in workers
 * (max_active 2), a third connection still opens and its request is answered 503
 * server_busy at once, counted as a refusal; an idle fourth connection is served once a
 * slot is free again. */
static void requests_past_the_active_cap_get_503_at_once_connections_stay_open(void **state)
{
    (void)state;
    hold_open = 0;
    hold_entered = 0;
    hr_http_server *s = start_active(5, 2);
    int held[2];
    for (int i = 0; i < 2; i++) {
        held[i] = dial(s);
        put(held[i], "GET /hold HTTP/1.1\r\nHost: h\r\n\r\n");
    }
    pthread_mutex_lock(&hold_mu);
    while (hold_entered < 2)
        pthread_cond_wait(&hold_cv, &hold_mu);
    pthread_mutex_unlock(&hold_mu);
    int idle = dial(s);
    int third = dial(s);
    assert_true(idle >= 0 && third >= 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    put(third, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
    char buf[2048];
    read_until(third, buf, sizeof buf, "server_busy");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_non_null(strstr(buf, "HTTP/1.1 503"));
    assert_non_null(strstr(buf, "server_busy"));
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true(ms < 1000); /* at once, not after a held request ends */
    assert_int_equal(hr_http_server_refusals(s), 1);
    assert_true(closed_within(third, 2000));
    hold_release();
    for (int i = 0; i < 2; i++) {
        read_until(held[i], buf, sizeof buf, "body=");
        assert_non_null(strstr(buf, "HTTP/1.1 200"));
        close(held[i]);
    }
    put(idle, "GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
    read_until(idle, buf, sizeof buf, "body=");
    assert_non_null(strstr(buf, "HTTP/1.1 200"));
    assert_non_null(strstr(buf, "GET /after"));
    close(idle);
    close(third);
    hr_http_server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pipelined_requests_are_answered_in_order),
        cmocka_unit_test(chunked_body_and_100_continue),
        cmocka_unit_test(streamed_answer_is_chunked),
        cmocka_unit_test(idle_connections_close_after_the_idle_timeout),
        cmocka_unit_test(declared_body_over_the_limit_is_answered_and_closed),
        cmocka_unit_test(quiesce_refuses_new_connections_and_stop_frees_open_ones),
        cmocka_unit_test(requests_past_the_active_cap_get_503_at_once_connections_stay_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
