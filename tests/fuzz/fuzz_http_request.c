/* fuzz_http_request: raw request bytes through the real HTTP server (libmicrohttpd with our
 * request-head checks and connection guard), started once in-process on 127.0.0.1 with
 * short deadlines (the threads model, or the events model with HEADROOM_SERVER_MODEL=events).
 * Each input is written on a fresh connection whose write side is then closed; the answer
 * is read until the server closes.
 * Invariants: no crash or sanitizer report; the server closes within a bound (it never holds
 * a connection); whatever comes back is empty or starts with a valid HTTP/1.1 status line;
 * every request that reaches the handler as accepted has an origin-form target that passes
 * hr_reqcheck_target again and header values without CR, LF or other control bytes (what the
 * proxy would forward upstream). */
#include "http/reqcheck.h"
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The server closes a connection at most this long after the client's last byte: the
 * deadlines below plus a wide margin for a sanitizer build on a loaded machine. */
#define CLOSE_BOUND_MS 5000

static hr_http_server *g_srv;

static void check_accepted(hr_http_exchange *ex)
{
    hr_reqcheck_result r;
    if (hr_reqcheck_target(hr_http_target(ex), &r) != 0) {
        fprintf(stderr, "accepted target fails its check: %s\n", r.reason);
        abort();
    }
    size_t n;
    const char *const *h = hr_http_headers(ex, &n);
    for (size_t i = 0; i < n; i++)
        if (hr_reqcheck_field(h[2 * i], h[2 * i + 1], strlen(h[2 * i + 1]), &r) != 0) {
            fprintf(stderr, "accepted header fails its check: %s\n", r.reason);
            abort();
        }
}

/* Like the proxy: refusals and oversize bodies get their status, the rest a small echo. */
static void handler(hr_http_exchange *ex, void *user)
{
    (void)user;
    const char *why;
    const char *ct[] = {"Content-Type", "application/json"};
    int status = hr_http_rejected(ex, &why);
    if (!status && hr_http_body_too_large(ex))
        status = 413;
    if (!status) {
        check_accepted(ex);
        size_t len;
        hr_http_body(ex, &len);
        char body[64];
        int k = snprintf(body, sizeof body, "{\"ok\":true,\"bytes\":%zu}", len);
        hr_http_respond(ex, 200, ct, 1, body, (size_t)k);
        return;
    }
    static const char err[] = "{\"error\":{\"message\":\"refused\",\"type\":\"invalid_request_error\"}}";
    hr_http_respond(ex, status, ct, 1, err, sizeof err - 1);
}

static int start_server(void)
{
    hr_http_server_opts o = {
        .host = "127.0.0.1", .port = 0, .max_connections = 256, .max_body_bytes = 4096,
        .idle_timeout_s = 2, .per_address_limit = 0, .header_timeout_ms = 500,
        .body_timeout_ms = 500, .handler = handler,
    };
    /* HEADROOM_SERVER_MODEL=events fuzzes the events model (evserver.c) the same way */
    const char *model = getenv("HEADROOM_SERVER_MODEL");
    if (model && !strcmp(model, "events"))
        o.model = HR_HTTP_MODEL_EVENTS;
    char err[256];
    g_srv = hr_http_server_start(&o, err, sizeof err);
    if (!g_srv) {
        fprintf(stderr, "fuzz_http_request: %s\n", err);
        return -1;
    }
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)hr_http_server_port(g_srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("fuzz_http_request: connect");
        abort();
    }
    return fd;
}

/* Reads until the server closes; aborts when it holds the connection past the bound. */
static size_t read_answer(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    double end = now_ms() + CLOSE_BOUND_MS;
    for (;;) {
        int left = (int)(end - now_ms());
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            fprintf(stderr, "fuzz_http_request: the server held the connection for %d ms\n",
                    CLOSE_BOUND_MS);
            abort();
        }
        char tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0)
            return len;
        size_t k = (size_t)n < cap - len ? (size_t)n : cap - len;
        memcpy(buf + len, tmp, k);
        len += k;
    }
}

/* "HTTP/1.1 ddd " with a status from 100 to 599. */
static int valid_status_line(const char *s, size_t n)
{
    if (n < 13 || memcmp(s, "HTTP/1.1 ", 9) != 0 || s[12] != ' ')
        return 0;
    for (int i = 9; i < 12; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return s[9] >= '1' && s[9] <= '5';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_srv && start_server() != 0)
        abort();
    int fd = connect_server();
    size_t off = 0;
    while (off < size) { /* the server may close before reading everything: that is fine */
        ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    static char answer[1 << 16];
    size_t len = read_answer(fd, answer, sizeof answer);
    close(fd);
    if (len && !valid_status_line(answer, len)) {
        fprintf(stderr, "fuzz_http_request: not a status line: %.40s\n", answer);
        abort();
    }
    return 0;
}
