/* ws_upstream.c: WebSocket client over a libcurl connect-only connection (see
 * ws_upstream.h). Owns the curl handle, the handshake and the answer's head. */
#include "http/ws_upstream.h"

#include "http/reqcheck.h"
#include "http/upstream.h"
#include "http/ws_frame.h"
#include "sys/base64.h"
#include "sys/buf.h"
#include "sys/ascii.h"
#include "sys/clock.h"
#include "sys/parse.h"

#include <curl/curl.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define MAX_ANSWER_HEADERS 64

struct hr_ws_upstream {
    CURL *e;
    curl_socket_t fd;
    int status;
    hr_buf head;                       /* the answer head, split in place into the arrays */
    const char *names[MAX_ANSWER_HEADERS];
    const char *values[MAX_ANSWER_HEADERS];
    size_t n_headers;
    hr_buf pending;                    /* bytes after the head, handed out first */
    size_t pending_off;
    hr_buf body;                       /* a refusal's body */
};

/* Waits until fd is ready for events or the deadline passes. 1 ready, 0 timed out. */
static int wait_fd(curl_socket_t fd, short events, double deadline)
{
    for (;;) {
        double left = deadline - hr_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, left > 1000 ? 1000 : (int)left + 1);
        if (rc > 0)
            return 1;
    }
}

ssize_t hr_ws_upstream_send(hr_ws_upstream *u, const void *buf, size_t n)
{
    size_t sent = 0;
    CURLcode rc = curl_easy_send(u->e, buf, n, &sent);
    if (rc == CURLE_AGAIN)
        return -2;
    return rc == CURLE_OK ? (ssize_t)sent : -1;
}

ssize_t hr_ws_upstream_recv(hr_ws_upstream *u, void *buf, size_t n)
{
    if (u->pending_off < u->pending.len)
        return (ssize_t)hr_buf_copy_out(&u->pending, &u->pending_off, buf, n);
    size_t got = 0;
    CURLcode rc = curl_easy_recv(u->e, buf, n, &got);
    if (rc == CURLE_AGAIN)
        return -2;
    if (rc != CURLE_OK)
        return -1;
    return (ssize_t)got; /* 0: the peer closed */
}

static int send_all(hr_ws_upstream *u, const char *p, size_t n, double deadline)
{
    while (n) {
        ssize_t k = hr_ws_upstream_send(u, p, n);
        if (k == -1)
            return -1;
        if (k == -2) {
            if (!wait_fd(u->fd, POLLOUT, deadline))
                return -1;
            continue;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* ---- the opening handshake --------------------------------------------------------------- */

static int new_key(char out[25])
{
    uint8_t raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return -1;
    hr_buf b = HR_BUF_INIT;
    int ok = hr_base64_encode(raw, sizeof raw, &b) == 0 && b.len == 24;
    if (ok)
        memcpy(out, b.data, 25);
    hr_buf_free(&b);
    return ok ? 0 : -1;
}

static int has_crlf(const char *s) { return strpbrk(s, "\r\n") != NULL; }

/* GET <path?query> with Host, our handshake fields, then the caller's headers. */
static int build_request(const hr_ws_upstream_request *r, const char *key, hr_buf *out,
                         char *err, size_t errlen)
{
    CURLU *h = curl_url();
    char *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    int rc = -1;
    if (!h || curl_url_set(h, CURLUPART_URL, r->url, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
        snprintf(err, errlen, "the upstream URL cannot be parsed");
        goto done;
    }
    curl_url_get(h, CURLUPART_PORT, &port, 0); /* absent: the scheme's default */
    curl_url_get(h, CURLUPART_QUERY, &query, 0);
    hr_buf_printf(out, "GET %s%s%s HTTP/1.1\r\nHost: %s%s%s\r\n", path, query ? "?" : "",
                  query ? query : "", host, port ? ":" : "", port ? port : "");
    hr_buf_printf(out, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                       "Sec-WebSocket-Version: 13\r\n", key);
    for (size_t i = 0; i < r->n_headers; i++) {
        const char *n = r->headers[2 * i], *v = r->headers[2 * i + 1];
        if (has_crlf(n) || has_crlf(v) || strchr(n, ':')) {
            snprintf(err, errlen, "a request header cannot be sent as it is");
            goto done;
        }
        hr_buf_printf(out, "%s: %s\r\n", n, v);
    }
    rc = hr_buf_puts(out, "\r\n");
    if (rc != 0)
        snprintf(err, errlen, "out of memory");
done:
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(h);
    return rc;
}

/* Splits the head (status line + fields) in place. 0 ok, -1 not an HTTP/1.1 answer. */
static int parse_head(hr_ws_upstream *u)
{
    char *p = u->head.data;
    if (strncmp(p, "HTTP/1.", 7) != 0 || strlen(p) < 12 || !hr_is_digit(p[9]) ||
        !hr_is_digit(p[10]) || !hr_is_digit(p[11]))
        return -1;
    u->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    char *line = strstr(p, "\r\n");
    while (line && line[2] && u->n_headers < MAX_ANSWER_HEADERS) {
        *line = 0;
        char *name = line + 2;
        char *end = strstr(name, "\r\n");
        if (end)
            *end = 0;
        char *colon = strchr(name, ':');
        if (colon && colon != name) {
            *colon = 0;
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            u->names[u->n_headers] = name;
            u->values[u->n_headers++] = v;
        }
        if (!end)
            break;
        line = end;
        end[0] = 0; /* already cut */
        if (end[2] == 0)
            break;
    }
    return u->status >= 100 && u->status <= 599 ? 0 : -1;
}

/* Reads until the blank line ending the head. The rest is kept in pending. */
static int read_head(hr_ws_upstream *u, double deadline, char *err, size_t errlen)
{
    char chunk[4096];
    for (;;) {
        char *end = u->head.data ? strstr(u->head.data, "\r\n\r\n") : NULL;
        if (end) {
            size_t head_len = (size_t)(end - u->head.data) + 4;
            if (hr_buf_append(&u->pending, u->head.data + head_len, u->head.len - head_len) != 0)
                return -1;
            u->head.len = head_len - 2; /* keep one CRLF as the last line's end */
            u->head.data[u->head.len] = 0;
            return 0;
        }
        if (u->head.len > HR_WS_UPSTREAM_MAX_HEAD) {
            snprintf(err, errlen, "the upstream's answer head is larger than %d bytes",
                     HR_WS_UPSTREAM_MAX_HEAD);
            return -1;
        }
        ssize_t n = hr_ws_upstream_recv(u, chunk, sizeof chunk);
        if (n == -2) {
            if (!wait_fd(u->fd, POLLIN, deadline)) {
                snprintf(err, errlen, "the upstream did not answer the upgrade in time");
                return -1;
            }
            continue;
        }
        if (n <= 0) {
            snprintf(err, errlen, "the upstream closed the connection during the handshake");
            return -1;
        }
        if (hr_buf_append(&u->head, chunk, (size_t)n) != 0)
            return -1;
    }
}

/* RFC 6455 4.1: what a client must check in a 101 before it uses the connection. */
static int check_switch(const hr_ws_upstream *u, const char *key, char *err, size_t errlen)
{
    const char *up = hr_ws_upstream_header(u, "upgrade");
    const char *conn = hr_ws_upstream_header(u, "connection");
    const char *acc = hr_ws_upstream_header(u, "sec-websocket-accept");
    char want[HR_WS_ACCEPT_LEN + 1];
    hr_ws_accept(key, want);
    if (!up || strcasecmp(up, "websocket") != 0 || !hr_http_list_has(conn, "upgrade")) {
        snprintf(err, errlen, "the upstream's 101 lacks Upgrade: websocket / Connection: Upgrade");
        return -1;
    }
    if (!acc || strcmp(acc, want) != 0) {
        snprintf(err, errlen, "the upstream's Sec-WebSocket-Accept does not match our key");
        return -1;
    }
    if (hr_ws_upstream_header(u, "sec-websocket-extensions")) {
        snprintf(err, errlen, "the upstream chose an extension we did not offer");
        return -1;
    }
    return 0;
}

/* A refusal's body, for the client: as much as arrives within the limit and the time. */
static void read_refusal_body(hr_ws_upstream *u, double deadline)
{
    const char *cl = hr_ws_upstream_header(u, "content-length");
    uint64_t declared;
    size_t want = HR_WS_UPSTREAM_MAX_ANSWER; /* no length: what comes before the close */
    if (cl && hr_parse_u64(cl, UINT64_MAX, &declared) == 0 && declared < want)
        want = (size_t)declared;
    char chunk[4096];
    while (u->body.len < want) {
        size_t room = want - u->body.len;
        ssize_t n = hr_ws_upstream_recv(u, chunk, room < sizeof chunk ? room : sizeof chunk);
        if (n == -2 && wait_fd(u->fd, POLLIN, deadline))
            continue;
        if (n <= 0 || hr_buf_append(&u->body, chunk, (size_t)n) != 0)
            break;
    }
}

static int curl_connect(hr_ws_upstream *u, const hr_ws_upstream_request *r, char *err,
                        size_t errlen)
{
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(u->e, CURLOPT_URL, r->url);
    curl_easy_setopt(u->e, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(u->e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(u->e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(u->e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(u->e, CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms);
    curl_easy_setopt(u->e, CURLOPT_ERRORBUFFER, errbuf);
    if (hr_upstream_ca_file())
        curl_easy_setopt(u->e, CURLOPT_CAINFO, hr_upstream_ca_file());
    CURLcode rc = curl_easy_perform(u->e);
    curl_easy_setopt(u->e, CURLOPT_ERRORBUFFER, NULL);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "cannot connect to the upstream: %s",
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return -1;
    }
    if (curl_easy_getinfo(u->e, CURLINFO_ACTIVESOCKET, &u->fd) != CURLE_OK ||
        u->fd == CURL_SOCKET_BAD) {
        snprintf(err, errlen, "no socket after connecting to the upstream");
        return -1;
    }
    return 0;
}

hr_ws_upstream *hr_ws_upstream_connect(const hr_ws_upstream_request *r, char *err, size_t errlen)
{
    hr_ws_upstream *u = calloc(1, sizeof *u);
    if (!u || !(u->e = curl_easy_init())) {
        free(u);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char key[25];
    hr_buf req = HR_BUF_INIT;
    int ok = 0;
    if (new_key(key) != 0) {
        snprintf(err, errlen, "no random bytes for the handshake key");
        goto done;
    }
    if (build_request(r, key, &req, err, errlen) != 0 || curl_connect(u, r, err, errlen) != 0)
        goto done;
    double deadline = hr_now_ms() + (double)r->handshake_timeout_ms;
    if (send_all(u, req.data, req.len, deadline) != 0) {
        snprintf(err, errlen, "cannot send the upgrade request to the upstream");
        goto done;
    }
    if (read_head(u, deadline, err, errlen) != 0)
        goto done;
    if (parse_head(u) != 0) {
        snprintf(err, errlen, "the upstream's answer is not HTTP/1.1");
        goto done;
    }
    if (u->status == 101)
        ok = check_switch(u, key, err, errlen) == 0;
    else {
        read_refusal_body(u, deadline);
        ok = 1;
    }
done:
    hr_buf_free(&req);
    if (!ok) {
        hr_ws_upstream_free(u);
        return NULL;
    }
    return u;
}

int hr_ws_upstream_status(const hr_ws_upstream *u) { return u->status; }

const char *hr_ws_upstream_header(const hr_ws_upstream *u, const char *name)
{
    for (size_t i = 0; i < u->n_headers; i++)
        if (!strcasecmp(u->names[i], name))
            return u->values[i];
    return NULL;
}

size_t hr_ws_upstream_header_count(const hr_ws_upstream *u) { return u->n_headers; }
const char *hr_ws_upstream_header_name(const hr_ws_upstream *u, size_t i) { return u->names[i]; }
const char *hr_ws_upstream_header_value(const hr_ws_upstream *u, size_t i) { return u->values[i]; }

const char *hr_ws_upstream_body(const hr_ws_upstream *u, size_t *len)
{
    *len = u->body.len;
    return u->body.data ? u->body.data : "";
}

int hr_ws_upstream_fd(const hr_ws_upstream *u) { return (int)u->fd; }

void hr_ws_upstream_free(hr_ws_upstream *u)
{
    if (!u)
        return;
    if (u->e)
        curl_easy_cleanup(u->e);
    hr_buf_free(&u->head);
    hr_buf_free(&u->pending);
    hr_buf_free(&u->body);
    free(u);
}
