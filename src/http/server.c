/* server.c: hr_mhd_server over libmicrohttpd (see server.h). Owns the MHD daemon, the
 * per-request hr_mhd_exchange (created by MHD's URI callback so the raw query is kept,
 * freed in the completion callback), the adapters between MHD callbacks and ours, and the
 * wiring of the request-head checks (reqcheck.h) and the connection guard (guard.h) into
 * MHD's callbacks. */
#include "http/server_impl.h"

#include "http/guard.h"
#include "http/reqcheck.h"

#include "sys/buf.h"
#include "sys/log.h"
#include "sys/stack.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct hr_mhd_server {
    int impl; /* HR_HTTP_IMPL_THREADS: first, read by the dispatch (server_impl.h) */
    struct MHD_Daemon *daemon;
    hr_http_server_opts opts;
    int port;
    atomic_int stopping;
    atomic_uint connections;
    hr_guard *guard;
};

struct hr_mhd_exchange {
    hr_http_exchange_core c; /* first: the tag and what both models hold (server_impl.h) */
    hr_mhd_server *srv;
    struct MHD_Connection *conn;
    char *raw_uri;          /* owned: as received, path + '?' + query */
    const char *method;     /* MHD-owned */
    const char *path;       /* MHD-owned, decoded */
    const char *query;      /* points into raw_uri, or "" */
    const char **headers;   /* owned array of MHD-owned strings */
    size_t n_headers;
    size_t dropped;         /* body bytes dropped after the limit was passed or refused */
    int started, handled, responded;
    hr_guard_conn *guarded;       /* the connection's guard record, or NULL */
    int fd;
    struct upgrade_adapter *upgrade; /* owned: a 101 answer's session (freed here, after it
                                        ran, or unrun when the 101 never went out) */
};

static void upgrade_adapter_free(struct upgrade_adapter *ua);

/* ---- small helpers ---------------------------------------------------------------------- */

static void exchange_free(hr_mhd_exchange *ex)
{
    if (ex->upgrade)
        upgrade_adapter_free(ex->upgrade);
    if (ex->c.data && ex->c.free_data)
        ex->c.free_data(ex->c.data);
    free(ex->headers);
    free(ex->raw_uri);
    hr_buf_free(&ex->c.body);
    hr_budget_lease_end(&ex->c.lease);
    free(ex);
}

/* ---- MHD callbacks ---------------------------------------------------------------------- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    hr_mhd_exchange *ex = calloc(1, sizeof *ex);
    if (!ex)
        return NULL;
    ex->c.impl = HR_HTTP_IMPL_THREADS;
    ex->srv = cls;
    ex->conn = conn;
    ex->fd = -1;
    ex->c.lease = (hr_budget_lease)HR_BUDGET_LEASE_INIT(ex->srv->opts.budget);
    ex->raw_uri = strdup(uri ? uri : "/");
    if (!ex->raw_uri) {
        free(ex);
        return NULL;
    }
    char *q = strchr(ex->raw_uri, '?');
    ex->query = q ? q + 1 : "";
    return ex;
}

typedef struct header_collect {
    const char **pairs;
    size_t n, cap;
    int failed;
    hr_reqcheck_result *rejected; /* the first field that breaks a rule */
    hr_reqcheck_framing framing;
} header_collect;

/* With the sizes MHD reports, so a NUL inside a value is caught where the library keeps
 * it (0.9.75 cuts the value at the NUL itself and reports the part before it). */
static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    (void)key_size;
    header_collect *hc = cls;
    if (!hc->rejected->status) {
        hr_reqcheck_field(key, value ? value : "", value ? value_size : 0, hc->rejected);
        hr_reqcheck_framing_add(&hc->framing, key, value ? value : "");
    }
    if (hc->n == hc->cap) {
        size_t cap = hc->cap ? hc->cap * 2 : 32;
        const char **p = realloc(hc->pairs, cap * 2 * sizeof *p);
        if (!p) {
            hc->failed = 1;
            return MHD_NO;
        }
        hc->pairs = p;
        hc->cap = cap;
    }
    hc->pairs[2 * hc->n] = key;
    hc->pairs[2 * hc->n + 1] = value ? value : "";
    hc->n++;
    return MHD_YES;
}

/* The request head against reqcheck.h; a refusal is kept in ex->c.rejected. */
static void check_head(hr_mhd_exchange *ex, const header_collect *hc, const char *version)
{
    if (ex->c.rejected.status)
        return;
    hr_reqcheck_framing f = hc->framing;
    f.http11 = version && !strcmp(version, MHD_HTTP_VERSION_1_1);
    if (hr_reqcheck_target(ex->raw_uri, &ex->c.rejected) == 0)
        hr_reqcheck_framing_verdict(&f, &ex->c.rejected);
}

/* Fills what the handler reads, on the first call for a request. */
static int exchange_begin(hr_mhd_exchange *ex, const char *url, const char *method,
                          const char *version)
{
    ex->started = 1;
    ex->method = method;
    ex->path = url;
    header_collect hc = {.rejected = &ex->c.rejected};
    MHD_get_connection_values_n(ex->conn, MHD_HEADER_KIND, collect_header, &hc);
    ex->headers = hc.pairs;
    ex->n_headers = hc.n;
    check_head(ex, &hc, version);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(ex->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    hr_http_format_addr(ci ? ci->client_addr : NULL, ex->c.client_addr, sizeof ex->c.client_addr);
    ex->c.loopback = hr_http_addr_is_loopback(ex->c.client_addr);
    ci = MHD_get_connection_info(ex->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    ex->fd = ci ? ci->connect_fd : -1;
    const char *cl = hr_mhd_header(ex, "content-length");
    if (cl && !ex->c.rejected.status) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (end != cl && n > ex->srv->opts.max_body_bytes)
            ex->c.too_large = 1;
        else if (end != cl && n > 0 && hr_budget_lease_cover(&ex->c.lease, (size_t)n + 1) != 0)
            ex->c.refused = 1; /* before a byte is buffered: refused at once */
        else if (end != cl && n > 0 && hr_buf_reserve(&ex->c.body, (size_t)n) != 0)
            return -1; /* the declared size at once: no realloc copies while it arrives */
    }
    return hc.failed ? -1 : 0;
}

static int expects_continue(const hr_mhd_exchange *ex)
{
    const char *e = hr_mhd_header(ex, "expect");
    return e && !strcasecmp(e, "100-continue");
}

static void respond_internal_error(hr_mhd_exchange *ex)
{
    static const char body[] =
        "{\"error\":{\"message\":\"the proxy failed to produce an answer\","
        "\"type\":\"api_error\",\"code\":\"internal_error\"}}";
    const char *h[] = {"Content-Type", "application/json"};
    hr_mhd_respond(ex, 500, h, 1, body, sizeof body - 1);
}

static hr_guard_conn *guard_record(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void dispatch(hr_mhd_exchange *ex)
{
    ex->handled = 1;
    hr_guard_set_phase(ex->srv->guard, ex->guarded, HR_GUARD_BUSY);
    ex->srv->opts.handler((hr_http_exchange *)ex, ex->srv->opts.user);
    if (!ex->responded)
        respond_internal_error(ex);
}

/* The first call, when the head is complete: refuse a connection over its address limit,
 * answer a refused head or a declared oversize body at once, else wait for the body (a
 * body the budget refused is dropped as it comes, see below). */
static enum MHD_Result on_head(hr_mhd_exchange *ex, const char *url, const char *method,
                               const char *version)
{
    ex->guarded = guard_record(ex->conn);
    if (hr_guard_refused(ex->srv->guard, ex->guarded))
        return MHD_NO; /* the refusal was written at accept */
    if (exchange_begin(ex, url, method, version) != 0)
        return MHD_NO;
    /* A body the budget refused is answered before it is read only when the client waits
     * for 100 Continue: a client already sending would have the answer destroyed by the
     * reset a close with unread bytes causes, so its body is read and dropped instead
     * (never buffered) and answered at its end. */
    if (ex->c.too_large || ex->c.rejected.status || (ex->c.refused && expects_continue(ex))) {
        dispatch(ex);
        return MHD_YES;
    }
    int body_follows = hr_mhd_header(ex, "transfer-encoding") ||
                       (hr_mhd_header(ex, "content-length") &&
                        strcmp(hr_mhd_header(ex, "content-length"), "0") != 0);
    hr_guard_set_phase(ex->srv->guard, ex->guarded, body_follows ? HR_GUARD_BODY : HR_GUARD_BUSY);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)cls;
    hr_mhd_exchange *ex = *con_cls;
    if (!ex)
        return MHD_NO; /* out of memory in on_uri: drop the connection */
    ex->conn = conn;
    if (!ex->started)
        return on_head(ex, url, method, version);
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (ex->handled)
            return MHD_YES; /* answered early: drop the rest */
        if (ex->c.too_large || ex->c.refused) {
            /* over the limit, or refused by the budget: drop the rest (never buffered) to
             * answer after it, but not for ever: past another max_body_bytes, close
             * without an answer */
            ex->dropped += n;
            return ex->dropped <= ex->srv->opts.max_body_bytes ? MHD_YES : MHD_NO;
        }
        if (ex->c.body.len + n > ex->srv->opts.max_body_bytes) {
            /* MHD 0.9.75 cannot queue an answer while a body is arriving (only on the first
             * call or after the last byte): drop the rest, answer at the end; the body
             * deadline bounds how long that takes */
            ex->c.too_large = 1;
            hr_buf_free(&ex->c.body);
            hr_budget_lease_end(&ex->c.lease);
            return MHD_YES;
        }
        if (hr_budget_lease_cover(&ex->c.lease, ex->c.body.len + n + 1) != 0) {
            ex->c.refused = 1; /* a body without Content-Length outgrew the budget: the
                              * rest is dropped as it comes, the answer goes at its end */
            hr_buf_free(&ex->c.body);
            hr_budget_lease_end(&ex->c.lease);
            return MHD_YES;
        }
        return hr_buf_append(&ex->c.body, upload_data, n) == 0 ? MHD_YES : MHD_NO;
    }
    if (!ex->handled)
        dispatch(ex);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    hr_mhd_server *srv = cls;
    hr_mhd_exchange *ex = *con_cls;
    *con_cls = NULL;
    if (!ex)
        return;
    ex->c.completed_ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
    hr_guard_set_phase(srv->guard, guard_record(conn), HR_GUARD_IDLE);
    if (ex->handled && srv->opts.done)
        srv->opts.done((hr_http_exchange *)ex, srv->opts.user);
    exchange_free(ex);
}

/* STARTED runs before the connection's thread reads anything; CLOSED before MHD closes the
 * descriptor, so the guard record never outlives it. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    hr_mhd_server *srv = cls;
    if (code != MHD_CONNECTION_NOTIFY_STARTED) {
        hr_guard_close(srv->guard, *socket_context);
        *socket_context = NULL;
        atomic_fetch_sub(&srv->connections, 1);
        return;
    }
    atomic_fetch_add(&srv->connections, 1);
    const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ad = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    int refused; /* the guard wrote the refusal and counts it (logged in summary lines) */
    *socket_context = fd ? hr_guard_open(srv->guard, fd->connect_fd, ad ? ad->client_addr : NULL,
                                         &refused)
                         : NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (!hr_log_enabled(HR_LOG_DEBUG))
        return;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    hr_log_fields(HR_LOG_DEBUG, "microhttpd", "detail", line, NULL);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

hr_mhd_server *hr_mhd_server_start(const hr_http_server_opts *opts, char *err, size_t errlen)
{
    hr_mhd_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->impl = HR_HTTP_IMPL_THREADS;
    srv->opts = *opts;
    struct sockaddr_storage ss;
    socklen_t ss_len;
    if (hr_http_listen_address(opts->host, opts->port, &ss, &ss_len, err, errlen) != 0) {
        free(srv);
        return NULL;
    }
    unsigned limit = opts->max_connections ? opts->max_connections : 4096;
    hr_guard_opts go = {limit, opts->per_address_limit, opts->header_timeout_ms,
                        opts->body_timeout_ms};
    srv->guard = hr_guard_start(&go);
    if (!srv->guard) {
        snprintf(err, errlen, "cannot start the connection guard thread");
        free(srv);
        return NULL;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, on_request, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
        /* room above our limit so the guard answers 503 there instead of MHD resetting */
        MHD_OPTION_CONNECTION_LIMIT, limit + HR_HTTP_REFUSAL_SLOTS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)opts->idle_timeout_s,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)opts->thread_stack_bytes,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_END);
    if (!srv->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use, or not local?)",
                 opts->host ? opts->host : "127.0.0.1", opts->port);
        hr_guard_stop(srv->guard);
        free(srv);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : opts->port;
    return srv;
}

int hr_mhd_server_port(const hr_mhd_server *srv) { return srv->port; }

void hr_mhd_server_quiesce(hr_mhd_server *srv)
{
    MHD_socket s = MHD_quiesce_daemon(srv->daemon);
    if (s != MHD_INVALID_SOCKET)
        close(s);
}

unsigned hr_mhd_server_connections(const hr_mhd_server *srv)
{
    return atomic_load(&((hr_mhd_server *)srv)->connections);
}

unsigned long hr_mhd_server_timeouts(const hr_mhd_server *srv) { return hr_guard_timeouts(srv->guard); }
unsigned long hr_mhd_server_refusals(const hr_mhd_server *srv) { return hr_guard_refusals(srv->guard); }

void hr_mhd_server_stop(hr_mhd_server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->stopping, 1);
    MHD_stop_daemon(srv->daemon);
    hr_guard_stop(srv->guard);
    free(srv);
}

/* ---- exchange accessors ----------------------------------------------------------------- */

const char *hr_mhd_method(const hr_mhd_exchange *ex) { return ex->method; }
const char *hr_mhd_path(const hr_mhd_exchange *ex) { return ex->path; }
const char *hr_mhd_query(const hr_mhd_exchange *ex) { return ex->query; }
const char *hr_mhd_target(const hr_mhd_exchange *ex) { return ex->raw_uri; }

const char *hr_mhd_header(const hr_mhd_exchange *ex, const char *name)
{
    for (size_t i = 0; i < ex->n_headers; i++)
        if (strcasecmp(ex->headers[2 * i], name) == 0)
            return ex->headers[2 * i + 1];
    return NULL;
}

const char *const *hr_mhd_headers(const hr_mhd_exchange *ex, size_t *n_pairs)
{
    *n_pairs = ex->n_headers;
    return ex->headers;
}



int hr_mhd_stopping(const hr_mhd_exchange *ex) { return atomic_load(&ex->srv->stopping); }

int hr_mhd_client_gone(const hr_mhd_exchange *ex)
{
    if (ex->fd < 0)
        return 0;
    struct pollfd p = {.fd = ex->fd, .events = POLLRDHUP};
    if (poll(&p, 1, 0) <= 0)
        return 0;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}



/* ---- answers ---------------------------------------------------------------------------- */

static int add_headers(struct MHD_Response *r, const char *const *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (MHD_add_response_header(r, h[2 * i], h[2 * i + 1]) != MHD_YES)
            hr_log_fields(HR_LOG_DEBUG, "response header refused", "name", h[2 * i], NULL);
    return 0;
}

static int queue(hr_mhd_exchange *ex, int status, struct MHD_Response *r)
{
    enum MHD_Result rc = MHD_queue_response(ex->conn, (unsigned)status, r);
    MHD_destroy_response(r);
    if (rc != MHD_YES)
        return -1;
    ex->responded = 1;
    return 0;
}

int hr_mhd_respond(hr_mhd_exchange *ex, int status, const char *const *headers,
                    size_t n_pairs, const char *body, size_t len)
{
    if (ex->responded)
        return -1;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return -1;
    add_headers(r, headers, n_pairs);
    if (ex->c.too_large || ex->c.refused || ex->c.rejected.status) /* not reused */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    return queue(ex, status, r);
}

typedef struct stream_adapter {
    hr_http_reader read;
    void *ctx;
    void (*free_ctx)(void *);
    int stack_trimmed;
} stream_adapter;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_adapter *sa = cls;
    if (!sa->stack_trimmed) {
        /* a stream may stay open for minutes on this connection's thread */
        sa->stack_trimmed = 1;
        hr_stack_release_below(HR_HTTP_STREAM_STACK_MARGIN);
    }
    ssize_t n = sa->read(sa->ctx, buf, max);
    if (n > 0)
        return n;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
    stream_adapter *sa = cls;
    if (sa->free_ctx)
        sa->free_ctx(sa->ctx);
    free(sa);
}

int hr_mhd_respond_stream(hr_mhd_exchange *ex, int status, const char *const *headers,
                           size_t n_pairs, hr_http_reader read, void *ctx,
                           void (*free_ctx)(void *))
{
    stream_adapter *sa = ex->responded ? NULL : malloc(sizeof *sa);
    if (!sa) {
        if (free_ctx)
            free_ctx(ctx);
        return -1;
    }
    *sa = (stream_adapter){read, ctx, free_ctx, 0};
    /* 4 KiB blocks: an SSE event is usually far smaller, so each reaches the client in the
     * write that follows its arrival; the reader returns as soon as it has any bytes. MHD
     * allocates a block per response, for as long as the stream lasts (at 16 KiB, with
     * curl's receive buffer at 16 KiB too, an open stream held 6 KB more resident). */
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HR_HTTP_STREAM_BLOCK, stream_read,
                                          sa, stream_free);
    if (!r) {
        stream_free(sa);
        return -1;
    }
    add_headers(r, headers, n_pairs);
    return queue(ex, status, r);
}

/* ---- protocol switch (101) -------------------------------------------------------------- */

typedef struct upgrade_adapter {
    hr_http_upgrade_fn run;
    void *ctx;
    void (*free_ctx)(void *);
    hr_mhd_server *srv;
} upgrade_adapter;

static void upgrade_adapter_free(upgrade_adapter *ua)
{
    if (ua->free_ctx)
        ua->free_ctx(ua->ctx);
    free(ua);
}

/* MHD calls this on the connection's thread once the 101 is out (MHD 0.9.75 runs it from
 * the connection's state machine, before the completion callback); in thread-per-connection
 * mode it may block, so the whole upgraded session runs here. The adapter stays with the
 * exchange, freed with it. */
static void on_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls,
                        const char *extra_in, size_t extra_in_size, MHD_socket sock,
                        struct MHD_UpgradeResponseHandle *urh)
{
    (void)conn;
    (void)con_cls;
    upgrade_adapter *ua = cls;
    hr_http_upgraded io = {sock, extra_in, extra_in_size, &ua->srv->stopping};
    ua->run(ua->ctx, &io);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

int hr_mhd_respond_upgrade(hr_mhd_exchange *ex, const char *const *headers, size_t n_pairs,
                            hr_http_upgrade_fn run, void *ctx, void (*free_ctx)(void *))
{
    upgrade_adapter *ua = ex->responded ? NULL : calloc(1, sizeof *ua);
    if (!ua) {
        if (free_ctx)
            free_ctx(ctx);
        return -1;
    }
    *ua = (upgrade_adapter){run, ctx, free_ctx, ex->srv};
    struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgraded, ua);
    if (!r) {
        upgrade_adapter_free(ua);
        return -1;
    }
    add_headers(r, headers, n_pairs);
    ex->upgrade = ua;
    return queue(ex, MHD_HTTP_SWITCHING_PROTOCOLS, r);
}
