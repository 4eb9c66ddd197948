/* upstream.c: hr_upstream over libcurl (see upstream.h). Owns the process-wide share handle
 * (connection cache, DNS, TLS sessions) and, per transfer, an easy + multi handle pair driven
 * on the caller's thread. Body bytes go through one pending buffer; when it holds more than
 * PENDING_MAX the write callback pauses the transfer until the reader drains it. */
#include "http/upstream.h"

#include "sys/buf.h"
#include "sys/clock.h"

#include <curl/curl.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PENDING_MAX (64 * 1024)
#define POLL_SLICE_MS 100
#define HR_UPSTREAM_MAX_IDLE_CONNECTIONS 4

static CURLSH *g_share;
static pthread_mutex_t g_share_locks[CURL_LOCK_DATA_LAST];
static char *g_ca_file; /* NULL: the system's CA bundle */

/* Idle easy + multi handle pairs, reused across transfers: creating them costs a socketpair
 * (the multi's wakeup), several allocations and curl's 16 KiB download buffer each time.
 * Each pair's multi keeps its own idle upstream connections, so taking the most recently
 * returned pair (LIFO) reuses a warm connection without a process-wide connection-cache
 * lock (a shared cache made every transfer contend on one mutex). Bounded, so memory at
 * idle stays small whatever the peak concurrency was; a pair dropped past the bound closes
 * its connections. */
#define POOL_MAX 64
typedef struct handle_pair {
    CURL *easy;
    CURLM *multi;
} handle_pair;
static pthread_mutex_t g_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static handle_pair g_pool[POOL_MAX];
static int g_pool_n;

static int pool_take(handle_pair *out)
{
    pthread_mutex_lock(&g_pool_mu);
    int ok = g_pool_n > 0;
    if (ok)
        *out = g_pool[--g_pool_n];
    pthread_mutex_unlock(&g_pool_mu);
    if (ok)
        return 0;
    out->easy = curl_easy_init();
    out->multi = curl_multi_init();
    if (out->easy && out->multi)
        return 0;
    if (out->easy)
        curl_easy_cleanup(out->easy);
    if (out->multi)
        curl_multi_cleanup(out->multi);
    return -1;
}

/* The easy handle must already be out of its multi. */
static void pool_give(handle_pair hp)
{
    curl_easy_reset(hp.easy);
    pthread_mutex_lock(&g_pool_mu);
    int kept = g_pool_n < POOL_MAX;
    if (kept)
        g_pool[g_pool_n++] = hp;
    pthread_mutex_unlock(&g_pool_mu);
    if (!kept) {
        curl_easy_cleanup(hp.easy);
        curl_multi_cleanup(hp.multi);
    }
}

size_t hr_upstream_pool_shrink(size_t keep)
{
    handle_pair dropped[POOL_MAX];
    size_t n_dropped = 0;
    pthread_mutex_lock(&g_pool_mu);
    if ((size_t)g_pool_n > keep) {
        /* The oldest pairs sit at the bottom of the LIFO stack: drop those, keep the warm top. */
        n_dropped = (size_t)g_pool_n - keep;
        memcpy(dropped, g_pool, n_dropped * sizeof *dropped);
        memmove(g_pool, g_pool + n_dropped, keep * sizeof *g_pool);
        g_pool_n = (int)keep;
    }
    pthread_mutex_unlock(&g_pool_mu);
    /* Cleaned up outside the lock: closing connections must not hold up transfers. */
    for (size_t i = 0; i < n_dropped; i++) {
        curl_easy_cleanup(dropped[i].easy);
        curl_multi_cleanup(dropped[i].multi);
    }
    return n_dropped;
}

size_t hr_upstream_pool_fds_max(void)
{
    return (size_t)POOL_MAX * (2 + HR_UPSTREAM_MAX_IDLE_CONNECTIONS);
}

static void pool_drain(void)
{
    pthread_mutex_lock(&g_pool_mu);
    while (g_pool_n > 0) {
        handle_pair hp = g_pool[--g_pool_n];
        curl_easy_cleanup(hp.easy);
        curl_multi_cleanup(hp.multi);
    }
    pthread_mutex_unlock(&g_pool_mu);
}

struct hr_upstream {
    CURL *easy;
    CURLM *multi;
    struct curl_slist *send_headers;
    char **names, **values;  /* response headers, owned */
    size_t n_headers, cap_headers;
    int status;
    int headers_done;        /* final (non-1xx) header block complete */
    int done;                /* transfer finished (ok or not) */
    int paused;
    hr_buf pending;          /* body bytes not yet read */
    size_t pending_off;
    hr_up_error err;
    char errbuf[CURL_ERROR_SIZE];
    long idle_timeout_ms;
    double start_ms, last_activity_ms, ttfb_ms;
    int (*cancelled)(void *);
    void *cancel_arg;
};

const char *hr_up_error_name(hr_up_error e)
{
    switch (e) {
    case HR_UP_OK: return "ok";
    case HR_UP_CONNECT: return "connect";
    case HR_UP_TIMEOUT: return "timeout";
    case HR_UP_CANCELLED: return "cancelled";
    default: return "failed";
    }
}

/* ---- process-wide share ----------------------------------------------------------------- */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *u)
{
    (void)h;
    (void)access;
    (void)u;
    pthread_mutex_lock(&g_share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *u)
{
    (void)h;
    (void)u;
    pthread_mutex_unlock(&g_share_locks[data]);
}

int hr_upstream_global_init(const char *ca_file)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    if (ca_file && *ca_file && !(g_ca_file = strdup(ca_file)))
        return -1;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&g_share_locks[i], NULL);
    g_share = curl_share_init();
    if (!g_share)
        return -1;
    curl_share_setopt(g_share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(g_share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return 0;
}

const char *hr_upstream_ca_file(void) { return g_ca_file; }

void hr_upstream_global_cleanup(void)
{
    pool_drain();
    free(g_ca_file);
    g_ca_file = NULL;
    if (g_share)
        curl_share_cleanup(g_share);
    g_share = NULL;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&g_share_locks[i]);
    curl_global_cleanup();
}

/* ---- curl callbacks --------------------------------------------------------------------- */

static void clear_headers(hr_upstream *u)
{
    for (size_t i = 0; i < u->n_headers; i++) {
        free(u->names[i]);
        free(u->values[i]);
    }
    u->n_headers = 0;
}

static int store_header(hr_upstream *u, const char *name, size_t nlen, const char *val,
                        size_t vlen)
{
    if (u->n_headers == u->cap_headers) {
        size_t cap = u->cap_headers ? u->cap_headers * 2 : 16;
        char **n = realloc(u->names, cap * sizeof *n);
        if (!n)
            return -1;
        u->names = n;
        char **v = realloc(u->values, cap * sizeof *v);
        if (!v)
            return -1;
        u->values = v;
        u->cap_headers = cap;
    }
    char *n = strndup(name, nlen), *v = strndup(val, vlen);
    if (!n || !v) {
        free(n);
        free(v);
        return -1;
    }
    u->names[u->n_headers] = n;
    u->values[u->n_headers] = v;
    u->n_headers++;
    return 0;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *arg)
{
    hr_upstream *u = arg;
    size_t len = size * nitems;
    u->last_activity_ms = hr_now_ms();
    if (u->headers_done)
        return len; /* trailers: not forwarded */
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        clear_headers(u); /* a new status line: 1xx blocks before it are dropped */
        const char *sp = memchr(line, ' ', len);
        u->status = sp ? atoi(sp + 1) : 0;
        return size * nitems;
    }
    if (len == 0) {
        if (u->status >= 200) {
            u->headers_done = 1;
            if (u->ttfb_ms == 0)
                u->ttfb_ms = hr_now_ms() - u->start_ms;
        }
        return size * nitems;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return size * nitems;
    size_t nlen = (size_t)(colon - line);
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    while (vlen && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    return store_header(u, line, nlen, v, vlen) == 0 ? size * nitems : 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    hr_upstream *u = arg;
    size_t len = size * nmemb;
    if (u->pending.len - u->pending_off >= PENDING_MAX) {
        u->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (u->pending_off == u->pending.len) {
        hr_buf_reset(&u->pending);
        u->pending_off = 0;
    }
    if (hr_buf_append(&u->pending, data, len) != 0)
        return 0; /* out of memory: curl fails the transfer */
    u->headers_done = 1;
    u->last_activity_ms = hr_now_ms();
    if (u->ttfb_ms == 0)
        u->ttfb_ms = u->last_activity_ms - u->start_ms;
    return len;
}

/* ---- transfer --------------------------------------------------------------------------- */

static int has_header(const hr_upstream_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[2 * i], name) == 0)
            return 1;
    return 0;
}

static int append_header(struct curl_slist **list, const char *name, const char *value)
{
    hr_buf line = HR_BUF_INIT;
    /* curl drops "Name:" (empty value) headers; "Name;" sends them empty. */
    int rc = *value ? hr_buf_printf(&line, "%s: %s", name, value) : hr_buf_printf(&line, "%s;", name);
    struct curl_slist *n = rc == 0 ? curl_slist_append(*list, line.data) : NULL;
    hr_buf_free(&line);
    if (!n)
        return -1;
    *list = n;
    return 0;
}

/* The request headers as given, plus blanks that stop curl adding its own defaults. */
static int build_send_headers(hr_upstream *u, const hr_upstream_request *r)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (append_header(&u->send_headers, r->headers[2 * i], r->headers[2 * i + 1]) != 0)
            return -1;
    const char *suppress[] = {"Expect", "Accept", "Content-Type"};
    for (size_t i = 0; i < 3; i++) {
        if (has_header(r, suppress[i]))
            continue;
        hr_buf line = HR_BUF_INIT;
        if (hr_buf_printf(&line, "%s:", suppress[i]) != 0)
            return -1;
        struct curl_slist *n = curl_slist_append(u->send_headers, line.data);
        hr_buf_free(&line);
        if (!n)
            return -1;
        u->send_headers = n;
    }
    return 0;
}

static void set_method_and_body(CURL *e, const hr_upstream_request *r)
{
    int has_body = r->body_len > 0;
    if (strcmp(r->method, "GET") == 0 && !has_body) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        return;
    }
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
    if (strcmp(r->method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
}

hr_upstream *hr_upstream_start(const hr_upstream_request *req)
{
    hr_upstream *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->idle_timeout_ms = req->idle_timeout_ms > 0 ? req->idle_timeout_ms : 600000;
    u->cancelled = req->cancelled;
    u->cancel_arg = req->cancel_arg;
    u->start_ms = u->last_activity_ms = hr_now_ms();
    handle_pair hp;
    if (pool_take(&hp) != 0) {
        free(u);
        return NULL;
    }
    u->easy = hp.easy;
    u->multi = hp.multi;
    if (build_send_headers(u, req) != 0) {
        hr_upstream_free(u);
        return NULL;
    }
    /* A pair keeps a few idle connections (one per upstream host in practice). */
    curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, (long)HR_UPSTREAM_MAX_IDLE_CONNECTIONS);
    CURL *e = u->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_SHARE, g_share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    /* Only http(s), and a redirect is the client's to see, never followed here: a base URL
     * a request named (x-headroom-base-url, http/base_url.h) must not lead elsewhere. */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (g_ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, g_ca_file);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    /* Small buffers: 4 KiB to receive (an SSE event is far smaller; curl's minimum is 1 KiB),
     * 16 KiB to send (curl's minimum): an open stream then costs ~30 KB of curl heap, not
     * ~90 KB with the 64 KiB default upload buffer; the receive buffer lives as long as the
     * stream (at 16 KiB, with MHD's response block at 16 KiB too, an open stream held 6 KB
     * more resident: bench/proxy/stream_memory.mjs). */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L);
    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 10000L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, u->send_headers);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, u);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, u);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, u->errbuf);
    set_method_and_body(e, req);
    if (curl_multi_add_handle(u->multi, e) != CURLM_OK) {
        hr_upstream_free(u); /* remove_handle on a handle not added is harmless */
        return NULL;
    }
    return u;
}

static hr_up_error classify(CURL *e, CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return HR_UP_OK;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
        return HR_UP_CONNECT;
    case CURLE_OPERATION_TIMEDOUT: {
        curl_off_t connect_us = 0;
        curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect_us);
        return connect_us == 0 ? HR_UP_CONNECT : HR_UP_TIMEOUT;
    }
    default:
        return HR_UP_FAILED;
    }
}

static void collect_done(hr_upstream *u)
{
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(u->multi, &left))) {
        if (m->msg == CURLMSG_DONE && m->easy_handle == u->easy) {
            u->done = 1;
            u->err = classify(u->easy, m->data.result);
            if (u->err == HR_UP_OK)
                u->headers_done = 1;
        }
    }
}

static void finish_with(hr_upstream *u, hr_up_error err, const char *detail)
{
    u->done = 1;
    u->err = err;
    strncpy(u->errbuf, detail, sizeof u->errbuf - 1);
}

/* The transfer has ended (every body byte is in u->pending, or it failed): its handle pair
 * goes back to the pool at once, not when the caller frees u after the client has the last
 * byte. A client that sends its next request as soon as it has that byte, on another
 * connection, then finds the pair (and the upstream connection or HTTP/2 session it keeps)
 * in the pool instead of opening a second one. Removing an unfinished transfer (cancelled,
 * idle timeout) closes its connection: an aborted upstream request really stops. */
static void release_pair(hr_upstream *u)
{
    if (!u->easy)
        return;
    curl_multi_remove_handle(u->multi, u->easy);
    pool_give((handle_pair){u->easy, u->multi});
    u->easy = NULL;
    u->multi = NULL;
    u->paused = 0;
}

static int headers_ready(const hr_upstream *u) { return u->headers_done; }
static int body_ready(const hr_upstream *u) { return u->pending.len > u->pending_off; }

/* Drives the transfer on this thread until ready(u), completion, cancel or idle timeout. */
static void pump(hr_upstream *u, int (*ready)(const hr_upstream *))
{
    while (!ready(u) && !u->done) {
        int running = 0;
        if (curl_multi_perform(u->multi, &running) != CURLM_OK) {
            finish_with(u, HR_UP_FAILED, "curl multi failure");
            break;
        }
        collect_done(u);
        if (ready(u) || u->done)
            break;
        if (u->cancelled && u->cancelled(u->cancel_arg)) {
            finish_with(u, HR_UP_CANCELLED, "cancelled");
            break;
        }
        if (hr_now_ms() - u->last_activity_ms > (double)u->idle_timeout_ms) {
            finish_with(u, HR_UP_TIMEOUT, "upstream idle timeout");
            break;
        }
        curl_multi_poll(u->multi, NULL, 0, POLL_SLICE_MS, NULL);
    }
    if (u->done)
        release_pair(u);
}

hr_up_error hr_upstream_wait_headers(hr_upstream *u)
{
    pump(u, headers_ready);
    if (u->headers_done && u->status >= 100)
        return HR_UP_OK;
    return u->err != HR_UP_OK ? u->err : HR_UP_FAILED;
}

ssize_t hr_upstream_read(hr_upstream *u, char *buf, size_t max)
{
    if (!body_ready(u) && u->paused) {
        u->paused = 0;
        curl_easy_pause(u->easy, CURLPAUSE_CONT);
    }
    pump(u, body_ready);
    if (!body_ready(u))
        return u->err == HR_UP_OK ? 0 : -1;
    return (ssize_t)hr_buf_copy_out(&u->pending, &u->pending_off, buf, max);
}

int hr_upstream_status(const hr_upstream *u) { return u->status; }
size_t hr_upstream_header_count(const hr_upstream *u) { return u->n_headers; }
const char *hr_upstream_header_name(const hr_upstream *u, size_t i) { return u->names[i]; }
const char *hr_upstream_header_value(const hr_upstream *u, size_t i) { return u->values[i]; }
hr_up_error hr_upstream_error(const hr_upstream *u) { return u->err; }
const char *hr_upstream_error_detail(const hr_upstream *u) { return u->errbuf; }
double hr_upstream_ttfb_ms(const hr_upstream *u) { return u->ttfb_ms; }

const char *hr_upstream_header(const hr_upstream *u, const char *name)
{
    for (size_t i = 0; i < u->n_headers; i++)
        if (strcasecmp(u->names[i], name) == 0)
            return u->values[i];
    return NULL;
}

void hr_upstream_free(hr_upstream *u)
{
    if (!u)
        return;
    release_pair(u); /* unless the transfer's end released it already */
    curl_slist_free_all(u->send_headers);
    clear_headers(u);
    free(u->names);
    free(u->values);
    hr_buf_free(&u->pending);
    free(u);
}
