/* proxy_internal.h: what proxy.c (dispatch, lifecycle) and forward.c (the forwarding core)
 * share: the per-request context. Not for route handlers (they use routes.h). */
#ifndef HR_PROXY_INTERNAL_H
#define HR_PROXY_INTERNAL_H

#include "ccr/store.h"
#include "http/server.h"
#include "http/upstream.h"
#include "proxy/metrics.h"
#include "proxy/routes.h"
#include "proxy/usage.h"
#include "sys/clock.h"

#include <stdatomic.h>

/* Shared by the forwarding core and the streaming relay: the relay may outlive the
 * request's log/metrics step or the other way round, so it is reference-counted. */
typedef struct hr_relay_stats {
    atomic_int refs;
    atomic_size_t bytes_out;
    hr_usage usage;        /* written by the relay thread only; read at the end */
    int failed;            /* the stream ended with an upstream error */
    double upstream_ms;    /* time the relay waited on upstream reads (relay thread only) */
    char error[64];
} hr_relay_stats;

typedef struct hr_req_ctx {
    char id[24];          /* "hr-" + 16 hex */
    char tenant[HR_TENANT_MAX + 1];
    double t_start_ms;
    double t_handler_end_ms; /* hr_forward returned: the rest is relaying and sending; 0 = local */
    hr_request_record rec;
    char model[128];
    char compressors[64];  /* what the pipeline applied (copied: its result is freed early) */
    char session[64];      /* x-headroom-session-id, "" when none */
    hr_relay_stats *relay; /* set when the answer is streamed */
    const char *bedrock_mode; /* x-headroom-bedrock of a Bedrock answer (static), or NULL */
    int counted;           /* in the in-flight count */
} hr_req_ctx;

/* Copies the usage fields that were seen (> 0) into the record (usage.c). */
void hr_record_usage(hr_request_record *r, const hr_usage *u);
void hr_relay_stats_release(hr_relay_stats *s);

/* 1 when a client request header goes upstream as it is (forward.c): not hop-by-hop
 * (connection_value: the request's Connection header), host, content-length,
 * accept-encoding, x-headroom-*, nor content-encoding of a body we decoded. */
int hr_forward_request_header(const char *name, const char *connection_value, int body_decoded);

/* 1 when the client asked for no modification (x-headroom-bypass: true, or
 * x-headroom-mode: passthrough) (forward.c). */
int hr_request_bypass(const hr_request *req);

/* Appends the upstream URL for a request target (forward.c): Codex's routing first
 * (codex.h: aliases, the ChatGPT backend for an account id), else the request's API row
 * (its upstream_url hook, or its provider's base + target). 0 ok, -1 failed (logged). */
int hr_upstream_url_for(const hr_request *req, const char *target, hr_buf *url);

/* A WebSocket upgrade request (ws_relay.c): answered here (refused, or upgraded and relayed
 * until either side closes) and 1 returned; 0 when req is no upgrade request. */
int hr_ws_relay_handle(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_request *req);

/* Forwards req upstream and answers the exchange (forward.c). route is the log label. */
void hr_forward(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_request *req);

/* Reads a whole upstream answer into body (forward.c), each chunk reserved on the
 * exchange's budget lease first and the total capped at --max-answer-bytes, so no answer is
 * held without a limit. 0 ok; -1 upstream failure or no memory; -2 over the cap; -3 over
 * the in-flight budget. On an error the caller drops body and answers with one error. */
int hr_read_whole_answer(hr_http_exchange *ex, hr_upstream *u, hr_buf *body);

/* Answers ex with res (request id header added); used for local routes and errors. */
void hr_send_response(hr_http_exchange *ex, hr_req_ctx *ctx, hr_response *res);
/* Answers with an error in the shape of p (the request's API row). */
void hr_send_error(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_api *p, int status,
                   const char *type, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

#endif
