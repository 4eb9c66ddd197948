/* server_dispatch.c: the public names of server.h, each passing the call to the model the
 * server or exchange belongs to (server_impl.h): server.c for "threads", evserver.c for
 * "events"; what both exchanges hold alike (hr_http_exchange_core) is read here directly,
 * and what both models need around a socket (the listen address, an address's text, the
 * loopback test) is written here once.
 * Generated once by hand from server.h's list; keep the two in step. */
#include "http/server_impl.h"

#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The tag both implementations put first in their server and exchange structs. */
static int is_events(const void *p) { return *(const int *)p == HR_HTTP_IMPL_EVENTS; }

/* Both exchange structs begin with the core (server_impl.h). */
static const hr_http_exchange_core *core_of(const hr_http_exchange *ex)
{
    return (const hr_http_exchange_core *)ex;
}

hr_http_server *hr_http_server_start(const hr_http_server_opts *opts, char *err, size_t errlen)
{
    if (opts->model == HR_HTTP_MODEL_EVENTS)
        return (hr_http_server *)hr_ev_server_start(opts, err, errlen);
    return (hr_http_server *)hr_mhd_server_start(opts, err, errlen);
}

void hr_http_server_stop(hr_http_server *srv)
{
    if (!srv)
        return;
    if (is_events(srv))
        hr_ev_server_stop((hr_ev_server *)srv);
    else
        hr_mhd_server_stop((hr_mhd_server *)srv);
}

int hr_http_server_port(const hr_http_server *srv)
{
    return is_events(srv) ? hr_ev_server_port((const hr_ev_server *)srv) : hr_mhd_server_port((const hr_mhd_server *)srv);
}

void hr_http_server_quiesce(hr_http_server *srv)
{
    if (is_events(srv))
        hr_ev_server_quiesce((hr_ev_server *)srv);
    else
        hr_mhd_server_quiesce((hr_mhd_server *)srv);
}

unsigned hr_http_server_connections(const hr_http_server *srv)
{
    return is_events(srv) ? hr_ev_server_connections((const hr_ev_server *)srv) : hr_mhd_server_connections((const hr_mhd_server *)srv);
}

unsigned long hr_http_server_timeouts(const hr_http_server *srv)
{
    return is_events(srv) ? hr_ev_server_timeouts((const hr_ev_server *)srv) : hr_mhd_server_timeouts((const hr_mhd_server *)srv);
}

unsigned long hr_http_server_refusals(const hr_http_server *srv)
{
    return is_events(srv) ? hr_ev_server_refusals((const hr_ev_server *)srv) : hr_mhd_server_refusals((const hr_mhd_server *)srv);
}

const char *hr_http_method(const hr_http_exchange *ex)
{
    return is_events(ex) ? hr_ev_method((const hr_ev_exchange *)ex) : hr_mhd_method((const hr_mhd_exchange *)ex);
}

const char *hr_http_path(const hr_http_exchange *ex)
{
    return is_events(ex) ? hr_ev_path((const hr_ev_exchange *)ex) : hr_mhd_path((const hr_mhd_exchange *)ex);
}

const char *hr_http_query(const hr_http_exchange *ex)
{
    return is_events(ex) ? hr_ev_query((const hr_ev_exchange *)ex) : hr_mhd_query((const hr_mhd_exchange *)ex);
}

const char *hr_http_target(const hr_http_exchange *ex)
{
    return is_events(ex) ? hr_ev_target((const hr_ev_exchange *)ex) : hr_mhd_target((const hr_mhd_exchange *)ex);
}

const char *hr_http_header(const hr_http_exchange *ex, const char *name)
{
    return is_events(ex) ? hr_ev_header((const hr_ev_exchange *)ex, name) : hr_mhd_header((const hr_mhd_exchange *)ex, name);
}

const char *const *hr_http_headers(const hr_http_exchange *ex, size_t *n_pairs)
{
    return is_events(ex) ? hr_ev_headers((const hr_ev_exchange *)ex, n_pairs) : hr_mhd_headers((const hr_mhd_exchange *)ex, n_pairs);
}

const char *hr_http_body(const hr_http_exchange *ex, size_t *len)
{
    const hr_http_exchange_core *c = core_of(ex);
    *len = c->body.len;
    return c->body.data ? c->body.data : "";
}

int hr_http_body_too_large(const hr_http_exchange *ex) { return core_of(ex)->too_large; }

int hr_http_body_refused(const hr_http_exchange *ex) { return core_of(ex)->refused; }

hr_budget_lease *hr_http_lease(hr_http_exchange *ex) { return &((hr_http_exchange_core *)ex)->lease; }

int hr_http_rejected(const hr_http_exchange *ex, const char **reason)
{
    const hr_http_exchange_core *c = core_of(ex);
    if (reason)
        *reason = c->rejected.reason;
    return c->rejected.status;
}

const char *hr_http_client_addr(const hr_http_exchange *ex) { return core_of(ex)->client_addr; }

int hr_http_client_is_loopback(const hr_http_exchange *ex) { return core_of(ex)->loopback; }

int hr_http_client_gone(const hr_http_exchange *ex)
{
    return is_events(ex) ? hr_ev_client_gone((const hr_ev_exchange *)ex) : hr_mhd_client_gone((const hr_mhd_exchange *)ex);
}

int hr_http_stopping(const hr_http_exchange *ex)
{
    return is_events(ex) ? hr_ev_stopping((const hr_ev_exchange *)ex) : hr_mhd_stopping((const hr_mhd_exchange *)ex);
}

int hr_http_completed_ok(const hr_http_exchange *ex) { return core_of(ex)->completed_ok; }

void hr_http_set_data(hr_http_exchange *ex, void *data, void (*free_fn)(void *))
{
    hr_http_exchange_core *c = (hr_http_exchange_core *)ex;
    c->data = data;
    c->free_data = free_fn;
}

void *hr_http_data(const hr_http_exchange *ex) { return core_of(ex)->data; }

int hr_http_respond(hr_http_exchange *ex, int status, const char *const *headers, size_t n_pairs, const char *body, size_t len)
{
    return is_events(ex) ? hr_ev_respond((hr_ev_exchange *)ex, status, headers, n_pairs, body, len) : hr_mhd_respond((hr_mhd_exchange *)ex, status, headers, n_pairs, body, len);
}

int hr_http_respond_stream(hr_http_exchange *ex, int status, const char *const *headers, size_t n_pairs, hr_http_reader read, void *ctx, void (*free_ctx)(void *))
{
    return is_events(ex) ? hr_ev_respond_stream((hr_ev_exchange *)ex, status, headers, n_pairs, read, ctx, free_ctx) : hr_mhd_respond_stream((hr_mhd_exchange *)ex, status, headers, n_pairs, read, ctx, free_ctx);
}

int hr_http_respond_upgrade(hr_http_exchange *ex, const char *const *headers, size_t n_pairs, hr_http_upgrade_fn run, void *ctx, void (*free_ctx)(void *))
{
    return is_events(ex) ? hr_ev_respond_upgrade((hr_ev_exchange *)ex, headers, n_pairs, run, ctx, free_ctx) : hr_mhd_respond_upgrade((hr_mhd_exchange *)ex, headers, n_pairs, run, ctx, free_ctx);
}

/* ---- shared by both models ---------------------------------------------------------------- */

int hr_http_listen_address(const char *host, int port, struct sockaddr_storage *ss,
                           socklen_t *len, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE}, *res = NULL;
    char port_s[16];
    if (!host)
        host = "127.0.0.1";
    snprintf(port_s, sizeof port_s, "%d", port);
    int rc = getaddrinfo(host, port_s, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "cannot resolve listen host '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

void hr_http_format_addr(const struct sockaddr *sa, char *out, size_t n)
{
    out[0] = 0;
    if (!sa)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)n);
}

/* Parsed, not prefix-matched: "127.0.0.1.evil" or a hostname must never count as loopback. */
int hr_http_addr_is_loopback(const char *a)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, a, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, a, &v6) != 1)
        return 0;
    if (IN6_IS_ADDR_LOOPBACK(&v6))
        return 1;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}
