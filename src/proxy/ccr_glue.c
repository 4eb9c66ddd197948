/* ccr_glue.c: the extra upstream rounds that answer the model's headroom_retrieve calls
 * (see ccr_glue.h). Buffered answers go through hr_ccr_tool_loop with a send callback that
 * reuses the first round's URL, headers and retry policy. Streamed answers are relayed
 * through an hr_ccr_stream: upstream bytes are parsed into events, the stream rewriter
 * decides what the client gets now, and at the end of a round that ended in
 * headroom_retrieve calls only the continuation is requested and relayed into the same
 * client response.
 *
 * The store is the process's (hr_ccr_process_store); without one the tool is never offered,
 * so nothing here has to answer calls it cannot serve.
 */
#include "proxy/ccr_glue.h"

#include "ccr/marker.h"
#include "ccr/store.h"
#include "ccr/tool_inject.h"
#include "ccr/tool_loop.h"
#include "ccr/tool_stream.h"
#include "http/sse.h"
#include "json/json.h"
#include "proxy/config.h"
#include "sys/clock.h"
#include "sys/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Largest upstream event the stream rewriter sees whole. The plain relay only reads usage
 * from events, but here a skipped event would be lost for the client, so the bound is far
 * above any provider event (response.completed repeats the whole output). */
#define CCRW_MAX_EVENT ((size_t)64 << 20)

/* 1 when the body as it will be forwarded holds a marker: the client's own bytes (markers
 * of earlier turns) or a replacement made by the edits (this turn's compression). */
static int forwarded_marker(const hr_json_doc *d, const hr_json_edits *edits)
{
    if (hr_marker_present(d->src, d->len))
        return 1;
    for (size_t i = 0; i < edits->n; i++)
        if (edits->item[i].data.data && hr_marker_present(edits->item[i].data.data, edits->item[i].data.len))
            return 1;
    return 0;
}

int hr_ccrw_offer_tool(const hr_api *api, const hr_json_doc *d, hr_json_edits *edits)
{
    if (!hr_ccr_process_store() || hr_proxy_config_current()->no_ccr_tool)
        return 0; /* no way to answer the calls, or --no-ccr-inject-tool: do not offer it */
    return forwarded_marker(d, edits) && hr_ccr_tool_edit(api, d, edits) == 1;
}

/* ---- buffered ---------------------------------------------------------------------------- */

typedef struct buffered_round {
    const hr_ccrw_origin *o;
    double *upstream_ms;
} buffered_round;

/* hr_ccr_send_fn: one more round trip with a new body, read whole. */
static int send_buffered(void *user, const char *body, size_t len, hr_buf *response,
                         int *status)
{
    buffered_round *br = user;
    hr_upstream_request ur = *br->o->ur;
    ur.body = body;
    ur.body_len = len;
    hr_upstream *u = br->o->connect(br->o->ex, br->o->ctx, &ur, br->upstream_ms);
    if (!u)
        return -1;
    double t0 = hr_now_ms();
    int rc = hr_read_whole_answer(br->o->ex, u, response); /* capped like the first answer */
    *br->upstream_ms += hr_now_ms() - t0;
    *status = hr_upstream_status(u);
    hr_upstream_free(u);
    return rc < 0 ? -1 : 0;
}

int hr_ccrw_resolve_buffered(const hr_ccrw_origin *o, hr_buf *body, int *status,
                             double *upstream_ms)
{
    hr_ccr_store *store = hr_ccr_process_store();
    if (*status != 200 || !body->len || !store)
        return 0;
    buffered_round br = {o, upstream_ms};
    hr_buf final = HR_BUF_INIT;
    int final_status = 0;
    int rc = hr_ccr_tool_loop(o->api, store, o->tenant, o->ur->body, o->ur->body_len,
                              body->data, body->len, send_buffered, &br, &final, &final_status);
    if (rc != 1) {
        hr_buf_free(&final);
        return 0;
    }
    hr_buf_free(body);
    *body = final;
    *status = final_status;
    char st[16];
    snprintf(st, sizeof st, "%d", final_status);
    o->ctx->rec.retrievals++; /* counted in the persistent stats (savings.h) */
    hr_log_fields(HR_LOG_INFO, "headroom_retrieve answered", "id", o->ctx->id, "mode", "buffered",
                  "final_status", st, (const char *)NULL);
    return 1;
}

/* ---- streamed ---------------------------------------------------------------------------- */

/* The first round's request, copied: the stream outlives the request that made it. */
typedef struct request_copy {
    char *method, *url;
    char **headers; /* 2 * n strings */
    size_t n;
    long connect_timeout_ms, idle_timeout_ms;
    int (*cancelled)(void *arg);
    void *cancel_arg;
} request_copy;

struct hr_ccrw_stream {
    hr_ccr_stream *rewriter;
    int refused;      /* the rewriter refused a held turn: end with the error event */
    hr_ccr_store *store; /* the process's; open until after the drain, so for every read */
    const hr_api *api; /* also for the error event */
    char tenant[HR_TENANT_MAX + 1];
    hr_ccrw_connect_fn connect;
    hr_http_exchange *ex;
    hr_req_ctx *ctx;
    request_copy req;
    hr_upstream *u;   /* the current round */
    hr_buf body;      /* the current round's request when it is a follow-up (u borrows it) */
    hr_sse_parser sse;
    hr_buf pending;   /* bytes for the client not yet handed out */
    size_t sent;      /* of pending */
    int ended;        /* no further upstream round: pending is the rest of the stream */
    int oom;          /* the rewriter failed to allocate */
    hr_up_error error;
    double upstream_ms;
};

static void request_copy_free(request_copy *c)
{
    for (size_t i = 0; c->headers && i < 2 * c->n; i++)
        free(c->headers[i]);
    free(c->headers);
    free(c->method);
    free(c->url);
    memset(c, 0, sizeof *c);
}

static int request_copy_init(request_copy *c, const hr_upstream_request *ur)
{
    memset(c, 0, sizeof *c);
    c->method = strdup(ur->method);
    c->url = strdup(ur->url);
    c->headers = calloc(2 * ur->n_headers + 1, sizeof *c->headers);
    if (!c->method || !c->url || !c->headers)
        return -1;
    for (c->n = 0; c->n < ur->n_headers; c->n++) {
        c->headers[2 * c->n] = strdup(ur->headers[2 * c->n]);
        c->headers[2 * c->n + 1] = strdup(ur->headers[2 * c->n + 1]);
        if (!c->headers[2 * c->n] || !c->headers[2 * c->n + 1]) {
            c->n++;
            return -1;
        }
    }
    c->connect_timeout_ms = ur->connect_timeout_ms;
    c->idle_timeout_ms = ur->idle_timeout_ms;
    c->cancelled = ur->cancelled;
    c->cancel_arg = ur->cancel_arg;
    return 0;
}

static void on_upstream_event(void *user, const char *event, const char *data, size_t len)
{
    hr_ccrw_stream *s = user;
    /* The parser names an event without an "event:" line "message" (the SSE default); the
     * rewriter would write that name out, and chat clients reject named events. No provider
     * sends "event: message" itself. */
    if (!strcmp(event, "message"))
        event = NULL;
    if (s->refused)
        return; /* the stream is ending: nothing more goes to the client */
    int rc = hr_ccr_stream_event(s->rewriter, event, data, len, &s->pending);
    if (rc == -2)
        s->refused = 1;
    else if (rc != 0)
        s->oom = 1;
}

hr_ccrw_stream *hr_ccrw_stream_new(const hr_ccrw_origin *o, hr_upstream *first)
{
    hr_ccr_store *store = hr_ccr_process_store();
    hr_ccrw_stream *s = store ? calloc(1, sizeof *s) : NULL;
    if (!s)
        return NULL;
    s->store = store;
    s->api = o->api;
    snprintf(s->tenant, sizeof s->tenant, "%s", o->tenant ? o->tenant : "");
    s->connect = o->connect;
    s->ex = o->ex;
    s->ctx = o->ctx;
    hr_sse_init(&s->sse, on_upstream_event, s, CCRW_MAX_EVENT);
    s->rewriter = hr_ccr_stream_new(s->api, o->ur->body, o->ur->body_len);
    if (!s->rewriter || request_copy_init(&s->req, o->ur) != 0) {
        hr_ccrw_stream_free(s);
        return NULL;
    }
    hr_ccr_stream_set_limit(s->rewriter, hr_proxy_config_current()->max_answer_bytes);
    s->u = first;
    return s;
}

void hr_ccrw_stream_free(hr_ccrw_stream *s)
{
    if (!s)
        return;
    hr_upstream_free(s->u);
    hr_ccr_stream_free(s->rewriter);
    request_copy_free(&s->req);
    hr_sse_free(&s->sse);
    hr_buf_free(&s->body);
    hr_buf_free(&s->pending);
    free(s);
}

hr_up_error hr_ccrw_stream_error(const hr_ccrw_stream *s) { return s->error; }

int hr_ccrw_error_event(const hr_api *api, const char *message, hr_buf *out)
{
    return api->error_event ? api->error_event(out, message) : -1; /* not SSE: no event */
}

/* Ends the client's stream with the provider's error event: a continuation could not be
 * had, and a stream that just stops would read as a complete (but cut) answer. */
static void append_error_event(hr_ccrw_stream *s, const char *message)
{
    (void)hr_ccrw_error_event(s->api, message, &s->pending);
}

static int is_event_stream(hr_upstream *u)
{
    const char *ct = hr_upstream_header(u, "content-type");
    return ct && strncasecmp(ct, "text/event-stream", 17) == 0;
}

/* Starts the follow-up round whose request is in s->body. 0 ok, -1 with the error event
 * appended to pending. */
static int start_followup(hr_ccrw_stream *s)
{
    hr_upstream_request ur = {s->req.method, s->req.url, (const char *const *)s->req.headers,
                              s->req.n, s->body.data, s->body.len, s->req.connect_timeout_ms,
                              s->req.idle_timeout_ms, s->req.cancelled, s->req.cancel_arg};
    hr_upstream *u = s->connect(s->ex, s->ctx, &ur, &s->upstream_ms);
    if (!u) {
        append_error_event(s, "headroom: the upstream could not be reached for the answer "
                              "after headroom_retrieve");
        return -1;
    }
    if (hr_upstream_status(u) != 200 || !is_event_stream(u)) {
        char m[160];
        snprintf(m, sizeof m, "headroom: the upstream answered %d (not a stream) to the "
                 "request after headroom_retrieve", hr_upstream_status(u));
        append_error_event(s, m);
        hr_upstream_free(u);
        return -1;
    }
    s->u = u;
    return 0;
}

/* A held headroom_retrieve turn that cannot be resolved never reaches the client (it did
 * not define the tool): the stream ends with the provider's error event saying why. */
static void end_refused(hr_ccrw_stream *s)
{
    char m[256];
    snprintf(m, sizeof m, "headroom: %s", hr_ccr_stream_refusal(s->rewriter));
    append_error_event(s, m);
    hr_log_fields(HR_LOG_WARN, "headroom_retrieve refused", "id", s->ctx->id, "reason",
                  hr_ccr_stream_refusal(s->rewriter), "ended_with", "provider error event",
                  (const char *)NULL);
}

/* At the end of one upstream round: either the stream is complete, or the model's
 * headroom_retrieve calls were answered and the next round starts. */
static void end_of_round(hr_ccrw_stream *s)
{
    hr_buf followup = HR_BUF_INIT;
    int rc = hr_ccr_stream_end(s->rewriter, s->store, s->tenant, &followup, &s->pending);
    hr_upstream_free(s->u);
    s->u = NULL;
    if (rc == -1)
        end_refused(s);
    if (rc != 1) {
        hr_buf_free(&followup);
        s->ended = 1;
        return;
    }
    hr_buf_free(&s->body);
    s->body = followup; /* the next transfer borrows it */
    hr_sse_free(&s->sse);
    hr_sse_init(&s->sse, on_upstream_event, s, CCRW_MAX_EVENT);
    int ok = start_followup(s) == 0;
    s->ctx->rec.retrievals += ok;
    hr_log_fields(ok ? HR_LOG_INFO : HR_LOG_WARN, "headroom_retrieve answered", "id", s->ctx->id,
                  "mode", "stream", "continuation", ok ? "started" : "failed", (const char *)NULL);
    if (!ok)
        s->ended = 1;
}

ssize_t hr_ccrw_stream_read(hr_ccrw_stream *s, char *buf, size_t max)
{
    for (;;) {
        if (s->sent < s->pending.len) {
            size_t k = hr_buf_copy_out(&s->pending, &s->sent, buf, max);
            if (s->sent == s->pending.len) {
                hr_buf_reset(&s->pending);
                s->sent = 0;
            }
            return (ssize_t)k;
        }
        if (s->ended)
            return 0;
        /* buf doubles as the read buffer: the client's bytes come from pending */
        ssize_t n = hr_upstream_read(s->u, buf, max);
        if (n > 0) {
            if (hr_sse_feed(&s->sse, buf, (size_t)n) != 0 || s->oom) {
                s->error = HR_UP_FAILED;
                return -1;
            }
            if (s->refused) { /* stop reading the upstream: the error event is the end */
                hr_upstream_free(s->u);
                s->u = NULL;
                end_refused(s);
                s->ended = 1;
            }
        } else if (n < 0) {
            s->error = hr_upstream_error(s->u);
            return -1;
        } else {
            /* a last event without its blank line still counts (the plain relay would
             * have passed its bytes on) */
            if (hr_sse_feed(&s->sse, "\n\n", 2) != 0 || s->oom) {
                s->error = HR_UP_FAILED;
                return -1;
            }
            end_of_round(s);
        }
    }
}
