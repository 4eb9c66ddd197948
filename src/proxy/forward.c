/* forward.c: the forwarding core. For one client request it prepares the body (decode,
 * JSON check, compression pipeline, the headroom_retrieve tool, the API's stream edit such as
 * stream_options.include_usage: all on one parse of the body, their edits applied with one
 * splice), picks the upstream,
 * filters headers, runs the upstream transfer with retries, and answers either buffered
 * (compressible routes, non-SSE: usage read, x-headroom-tokens-* headers) or as a relay
 * that hands each upstream chunk to the client as it arrives (SSE and passthrough).
 * A body that carries compression markers is offered the headroom_retrieve tool, and then
 * the model's calls to it are answered by more upstream rounds (ccr_glue.h), buffered or
 * inside the same client stream.
 *
 * Ownership: everything allocated for a request is freed before hr_forward returns, except
 * the relay (upstream transfer + SSE parser), which the HTTP response owns and frees when
 * the last byte is sent or the client goes away.
 */
#include "proxy/proxy_internal.h"

#include "http/base_url.h"
#include "proxy/upstream_base.h"

#include "compress/pipeline.h"
#include "proxy/backpressure.h"
#include "proxy/bedrock.h"
#include "http/decode.h"
#include "http/reqcheck.h"
#include "http/sse.h"
#include "http/upstream.h"
#include "json/json.h"
#include "proxy/cache_watch.h"
#include "proxy/ccr_glue.h"
#include "proxy/codex.h"
#include "proxy/config.h"
#include "sys/budget.h"
#include "sys/buf.h"
#include "sys/log.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

typedef enum { KIND_PASSTHROUGH = 0, KIND_COMPRESSIBLE } route_kind;

typedef struct route_info {
    route_kind kind;
    const hr_api *api; /* compressible routes: the API row whose route this is */
    const char *label;
} route_info;

/* The compressible routes are the API rows' (api/api.h); the rest are passed through and
 * only labelled here for logs and metrics. */
static route_info classify_route(const char *method, const char *path)
{
    const hr_api *api = hr_api_for_route(method, path);
    if (api)
        return (route_info){KIND_COMPRESSIBLE, api, api->label};
    if (hr_codex_is_alias(path)) /* other paths under Codex's aliases (codex.h) */
        return (route_info){KIND_PASSTHROUGH, NULL, "codex"};
    if (!strcmp(path, "/v1/messages/count_tokens"))
        return (route_info){KIND_PASSTHROUGH, NULL, "count_tokens"};
    if (!strncmp(path, "/v1/models", 10))
        return (route_info){KIND_PASSTHROUGH, NULL, "models"};
    if (!strcmp(path, "/v1/embeddings"))
        return (route_info){KIND_PASSTHROUGH, NULL, "embeddings"};
    return (route_info){KIND_PASSTHROUGH, NULL, "passthrough"};
}

static int header_true(const char *v)
{
    return v && (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes"));
}

int hr_request_bypass(const hr_request *req)
{
    const char *mode = hr_request_header(req, "x-headroom-mode");
    return header_true(hr_request_header(req, "x-headroom-bypass")) ||
           (mode && !strcasecmp(mode, "passthrough"));
}

/* ---- header rules ------------------------------------------------------------------------ */

static const char *const HOP_BY_HOP[] = {
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade",
};

static int is_hop_by_hop(const char *name, const char *connection_value)
{
    for (size_t i = 0; i < sizeof HOP_BY_HOP / sizeof HOP_BY_HOP[0]; i++)
        if (!strcasecmp(name, HOP_BY_HOP[i]))
            return 1;
    return hr_http_list_has(connection_value, name);
}

/* Request headers that go upstream: all but hop-by-hop, host, content-length,
 * accept-encoding, x-headroom-*, and content-encoding when the body was decoded. */
int hr_forward_request_header(const char *name, const char *connection_value, int body_decoded)
{
    if (is_hop_by_hop(name, connection_value) || !strcasecmp(name, "host") ||
        !strcasecmp(name, "content-length") || !strcasecmp(name, "accept-encoding") ||
        !strncasecmp(name, "x-headroom-", 11))
        return 0;
    return !(body_decoded && !strcasecmp(name, "content-encoding"));
}

/* Response headers that go back to the client: all but hop-by-hop and content-length (the
 * server frames the body itself). */
static int forward_response_header(const char *name, const char *connection_value)
{
    return !is_hop_by_hop(name, connection_value) && strcasecmp(name, "content-length") != 0 &&
           strcasecmp(name, "date") != 0;
}

/* ---- body preparation -------------------------------------------------------------------- */

#define BYPASS_INSPECT_MAX (64 * 1024)

typedef struct prepared {
    const char *body;        /* what goes upstream (points into one of the below) */
    size_t len;
    int decoded;             /* Content-Encoding removed */
    int stream;              /* the client asked for a stream */
    hr_buf decoded_buf;
    hr_json_doc doc;         /* the one parse of the body (compressible routes) */
    hr_buf spliced;          /* the body with every edit applied: the one splice */
    int tool_offered;        /* only then are headroom_retrieve turns resolved */
    hr_pipeline_result pr;   /* pr.edits: compression's, then the tool's and include_usage's */
    int pipeline_ran;
} prepared;

static void prepared_free(prepared *p)
{
    hr_buf_free(&p->decoded_buf);
    hr_buf_free(&p->spliced);
    hr_json_doc_free(&p->doc);
    if (p->pipeline_ran)
        hr_pipeline_result_free(&p->pr);
}

/* The parse and the edits are spent once the body is spliced: they are released before the
 * upstream round trip rather than held through it (a body of many small values parses into
 * a node array several times its size). */
static void release_parse(prepared *p)
{
    hr_json_doc_free(&p->doc);
    if (p->pipeline_ran)
        hr_json_edits_free(&p->pr.edits);
}

/* Parses a JSON body into d (the caller frees it) and reads model and stream from it.
 * 0 ok, -1 not JSON (err filled), -2 not an object. */
static int inspect_body(const char *body, size_t len, hr_req_ctx *ctx, int *stream,
                        hr_json_doc *d_out, hr_json_error *err)
{
    hr_json_doc d;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    lim.max_string = len ? len : 1; /* no string is longer than its body, which is bounded by
                                       --max-body-bytes: a long valid string is forwarded */
    if (hr_json_parse(&d, body, len, &lim, err) != 0)
        return -1;
    *d_out = d;
    const hr_json_node *root = hr_json_at(&d, 0);
    if (root->type != HR_JSON_OBJECT)
        return -2;
    hr_buf model = HR_BUF_INIT;
    uint32_t m = hr_json_get(&d, 0, "model");
    if (m != HR_JSON_NONE && hr_json_string(&d, m, &model) == 0 && model.data)
        snprintf(ctx->model, sizeof ctx->model, "%s", model.data);
    hr_buf_free(&model);
    *stream = hr_json_is_true(&d, hr_json_get(&d, 0, "stream"));
    return 0;
}

/* Bedrock names the model and whether it streams in the path, not the body. */
static void bedrock_request_facts(const hr_request *req, hr_req_ctx *ctx, prepared *p)
{
    if (!hr_bedrock_is_api(req->api))
        return;
    hr_bedrock_model_id(req->path, ctx->model, sizeof ctx->model);
    p->stream = hr_bedrock_streams(req->path);
}

/* Compression on the one parse: its edits stay in p->pr.edits (no copy of the body yet). */
static void run_pipeline(hr_req_ctx *ctx, const hr_request *req, route_info ri, prepared *p)
{
    const char *session = hr_request_header(req, "x-headroom-session-id");
    hr_pipeline_input in = {ri.api, p->body, p->len, session, req->tenant, req->request_id,
                            &p->doc};
    hr_pipeline_run(&in, &p->pr);
    p->pipeline_ran = 1;
    ctx->rec.tokens_before = p->pr.tokens_before;
    ctx->rec.tokens_after = p->pr.tokens_after;
    ctx->rec.token_counter = p->pr.counter;
    ctx->rec.failed_open = p->pr.failed_open;
    snprintf(ctx->compressors, sizeof ctx->compressors, "%.63s", p->pr.transforms);
    snprintf(ctx->session, sizeof ctx->session, "%s", session ? session : "");
}

/* The later edits on the same parse (the headroom_retrieve tool when the forwarded body
 * will hold a marker; the API's stream edit such as include_usage), then the one splice of
 * all edits. The splice is the one copy of the body compression makes: its exact size is
 * known from the edits, so that (and no guess) is reserved on the exchange's lease before
 * it is built. A result past max_len, a refused reservation (fail open under memory
 * pressure) or a failed splice forwards the client's bytes. */
static void edit_and_splice(hr_req_ctx *ctx, route_info ri, prepared *p, size_t max_len,
                            hr_budget_lease *lease)
{
    hr_json_edits *edits = &p->pr.edits;
    if (p->pr.modified && hr_json_edits_result_len(edits, p->len) > max_len)
        hr_json_edits_truncate(edits, 0); /* compression made it larger than allowed */
    p->pr.modified = edits->n > 0;
    /* not on a Bedrock event stream: its calls could not be answered inside it */
    p->tool_offered = !(p->stream && hr_bedrock_is_api(ri.api)) &&
                      hr_ccrw_offer_tool(ri.api, &p->doc, edits) == 1;
    if (ri.api->stream_request && p->stream) /* e.g. OpenAI chat's include_usage */
        ri.api->stream_request(&p->doc, edits);
    if (!edits->n)
        return;
    if (hr_budget_lease_add(lease, hr_json_edits_result_len(edits, p->len) + 1) != 0) {
        hr_log_fields(HR_LOG_WARN, "compression skipped", "id", ctx->id, "reason",
                      "memory budget", (const char *)NULL);
        p->pr.modified = p->tool_offered = 0;
        ctx->rec.failed_open = 1;
        return;
    }
    if (hr_json_edits_apply(edits, p->body, p->len, &p->spliced) != 0) {
        hr_buf_free(&p->spliced);
        p->pr.modified = p->tool_offered = 0;
        ctx->rec.failed_open = 1;
        return;
    }
    p->body = p->spliced.data;
    p->len = p->spliced.len;
}

/* Fills p; on a client error answers ex and returns -1. */
static int prepare_body(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_request *req,
                        route_info ri, int bypass, prepared *p)
{
    const hr_proxy_config *cfg = hr_proxy_config_current();
    size_t raw_len;
    const char *raw = hr_http_body(ex, &raw_len);
    p->body = raw;
    p->len = raw_len;
    if (bypass) { /* byte for byte, encoding and all; the model only for the log line, and
                   * only when that costs little (a full parse of a 1 MB body would be most
                   * of the proxy's time on the bypass path) */
        hr_json_error err;
        if (req->body_len <= BYPASS_INSPECT_MAX)
            inspect_body(req->body, req->body_len, ctx, &p->stream, &p->doc, &err);
        bedrock_request_facts(req, ctx, p);
        return 0;
    }
    if (req->body != raw) { /* the dispatcher decoded it */
        p->body = req->body;
        p->len = req->body_len;
        p->decoded = 1;
    }
    if (ri.kind != KIND_COMPRESSIBLE)
        return 0;
    hr_json_error err = {0};
    int rc = inspect_body(p->body, p->len, ctx, &p->stream, &p->doc, &err);
    if (rc == -1 && err.kind == HR_JSON_ERR_LIMIT) { /* valid so far, past a parser limit
                                                      * (in practice nesting: strings are
                                                      * bounded by the body) */
        hr_send_error(ex, ctx, req->api, 400, "invalid_request_error", "json_limit_exceeded",
                      "request body is beyond what the proxy parses: %s", err.msg);
        return -1;
    }
    if (rc == -1 && err.kind == HR_JSON_ERR_NOMEM) {
        hr_send_error(ex, ctx, req->api, 503, "api_error", "out_of_memory",
                      "the proxy ran out of memory reading the request body; retry shortly");
        return -1;
    }
    if (rc == -1) {
        hr_send_error(ex, ctx, req->api, 400, "invalid_request_error", "invalid_json",
                      "request body is not valid JSON: %s", err.msg);
        return -1;
    }
    if (rc == -2) {
        hr_send_error(ex, ctx, req->api, 400, "invalid_request_error", "invalid_json",
                      "request body must be a JSON object");
        return -1;
    }
    bedrock_request_facts(req, ctx, p);
    /* Compression makes one more copy of the body (all its edits, the tool's and
     * include_usage's applied in one splice), reserved at its exact size when the edits are
     * known (edit_and_splice), or the original is forwarded (fail open: under memory
     * pressure the request still goes, uncompressed). */
    if (!hr_backpressure_allow_compression()) {
        ctx->rec.failed_open = 1; /* stage 2: forwarded as sent (counted, logged per minute) */
        return 0;
    }
    run_pipeline(ctx, req, ri, p);
    edit_and_splice(ctx, ri, p, cfg->max_body_bytes * 2, hr_http_lease(ex));
    /* only messages matter to the cache watch, and the tool and include_usage edits leave
     * them as they are: without compression edits the client's bytes stand for them */
    ctx->rec.cache_bust = hr_cache_watch_turn(
        ctx->session, ctx->id, &p->doc, hr_json_get(&p->doc, 0, ri.api->conversation_key),
        p->pr.modified ? &p->pr.edits : NULL, p->body, p->len);
    return 0;
}

/* ---- upstream ---------------------------------------------------------------------------- */

static int client_cancelled(void *arg)
{
    hr_http_exchange *ex = arg;
    return hr_http_client_gone(ex) || hr_http_stopping(ex);
}

static double uniform01(void)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint32_t)time(NULL) * 2654435761u;
    return (double)r / 4294967296.0;
}

/* Sleeps the backoff in short slices; 0 when done, -1 if the client went away. */
static int backoff(hr_http_exchange *ex, long ms)
{
    while (ms > 0) {
        long slice = ms < 100 ? ms : 100;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
        if (client_cancelled(ex))
            return -1;
    }
    return 0;
}

typedef struct outgoing {
    const char **headers;  /* pairs; strings borrowed from the request */
    size_t n;
    hr_buf url;
} outgoing;

/* The upstream base: the one named by x-headroom-base-url when its origin is on the
 * operator's allowlist (http/base_url.h), else the API's provider's configured upstream
 * (upstream_base.h). -1 with *status and *reason when there is none to use: a refused
 * per-request base is an error, never a quiet fall-back to the default upstream (the
 * client's credentials were meant for the host it named). */
static int pick_base(const hr_request *req, char *out, size_t outlen, int *status,
                     const char **reason)
{
    const char *named = hr_request_header(req, "x-headroom-base-url");
    if (named) {
        *status = 403;
        if (hr_base_url_allowed(hr_proxy_config_current()->allow_base_urls, named, reason) != 0)
            return -1;
        if (hr_normalize_upstream_url(named, out, outlen) != 0) {
            *reason = "x-headroom-base-url is not a usable base URL";
            return -1;
        }
        return 0;
    }
    *status = 502;
    if (hr_bedrock_is_api(req->api)) { /* the configured URL, else the region's endpoint */
        int n = snprintf(out, outlen, "%s", hr_bedrock_url());
        if (n > 0 && (size_t)n < outlen)
            return 0;
        *reason = "the Bedrock upstream URL is too long";
        return -1;
    }
    return hr_upstream_base_url(req->api, req->path, out, outlen, reason);
}

static const char *request_header(void *req, const char *name)
{
    return hr_request_header(req, name);
}

/* The upstream URL is the base (scheme, authority, no query; pick_base) followed by the
 * request target, which the server admitted only in origin-form ('/' path, RFC 3986 bytes,
 * no dot-segments; http/reqcheck.h): so the client can never change the scheme, host, port
 * or user of the upstream. Codex requests signed in with ChatGPT go to its backend. */
static int url_on_base(const hr_request *req, const char *target, const char *base, hr_buf *url)
{
    int codex = hr_codex_upstream_url(target, hr_request_header(req, "chatgpt-account-id"), url);
    if (codex != 0)
        return codex < 0 ? -1 : 0;
    if (req->api->upstream_url)
        return req->api->upstream_url(base, target, request_header, (void *)req, url) != 0 ? -1 : 0;
    return hr_buf_puts(url, base) != 0 || hr_buf_puts(url, target) != 0 ? -1 : 0;
}

int hr_upstream_url_for(const hr_request *req, const char *target, hr_buf *url)
{
    char base[1024];
    int status;
    const char *reason = NULL;
    if (pick_base(req, base, sizeof base, &status, &reason) != 0) {
        hr_log_fields(HR_LOG_ERROR, "no upstream for this request", "provider",
                      req->api->provider, "reason", reason, NULL);
        return -1;
    }
    return url_on_base(req, target, base, url);
}

static int build_outgoing(const hr_request *req, hr_http_exchange *ex, int body_decoded,
                          const char *base, outgoing *o)
{
    const char *target = hr_http_target(ex);
    hr_reqcheck_result check;
    if (hr_reqcheck_target(target, &check) != 0) {
        hr_log_fields(HR_LOG_ERROR, "request target reached forwarding unchecked", "reason",
                      check.reason, NULL);
        return -1;
    }
    if (url_on_base(req, target, base, &o->url) != 0)
        return -1;
    /* + 1: the client's Host, which a Bedrock passthrough keeps (bedrock_outgoing) */
    o->headers = malloc((req->n_headers + 1) * 2 * sizeof *o->headers);
    if (!o->headers)
        return -1;
    const char *conn = hr_request_header(req, "connection");
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *name = req->headers[2 * i];
        if (!hr_forward_request_header(name, conn, body_decoded))
            continue;
        o->headers[2 * o->n] = name;
        o->headers[2 * o->n + 1] = req->headers[2 * i + 1];
        o->n++;
    }
    return 0;
}

static void outgoing_free(outgoing *o)
{
    free(o->headers);
    hr_buf_free(&o->url);
}

/* Bedrock: the headers are re-signed for the upstream host over the body that goes (the
 * client's signature covered its own body and the proxy's host); in a passthrough the
 * client's Host goes along so its own signature stays valid. -1: cannot sign. */
static int bedrock_outgoing(const hr_request *req, hr_http_exchange *ex, int sign,
                            const prepared *p, outgoing *o, hr_bedrock_signed *sig)
{
    if (!sign) {
        const char *host = hr_request_header(req, "host");
        if (host) {
            o->headers[2 * o->n] = "host";
            o->headers[2 * o->n + 1] = host;
            o->n++;
        }
        return 0;
    }
    if (hr_bedrock_sign(req->method, hr_http_target(ex), o->headers, o->n, p->body, p->len,
                        time(NULL), sig) != 0)
        return -1;
    free(o->headers);
    o->headers = sig->headers; /* the signed list; sig keeps the strings it added */
    o->n = sig->n;
    sig->headers = NULL;
    return 0;
}

/* Bedrock's rule before anything is read: without credentials (or on request) the request
 * passes through untouched; with them the client must have signed with the same
 * credentials (proxy/bedrock.h). Returns the x-headroom-bedrock value, or NULL after
 * answering a refusal. *bypass is set for a passthrough. */
static const char *bedrock_admit(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_request *req,
                                 int *bypass)
{
    if (*bypass)
        return "passthrough; reason=bypass";
    if (!hr_bedrock_can_sign()) {
        *bypass = 1;
        return "passthrough; reason=no-credentials";
    }
    size_t len;
    const char *raw = hr_http_body(ex, &len);
    char why[160];
    if (hr_bedrock_verify_client(req->method, hr_http_target(ex), req->headers, req->n_headers,
                                 raw, len, time(NULL), why, sizeof why) != 0) {
        hr_send_error(ex, ctx, req->api, 403, "permission_error", "signature_refused",
                      "headroom signs Bedrock requests with its own AWS credentials only for "
                      "clients that hold them: %s", why);
        return NULL;
    }
    return "signed";
}

/* Runs attempts until a response (status + headers) is in or the retry budget is spent.
 * Returns the live transfer, or NULL with *err set. */
static hr_upstream *connect_with_retries(hr_http_exchange *ex, hr_req_ctx *ctx,
                                         const hr_upstream_request *ur, hr_up_error *err,
                                         double *upstream_ms, hr_buf *detail)
{
    const hr_proxy_config *cfg = hr_proxy_config_current();
    for (int attempt = 0;; attempt++) {
        ctx->rec.attempts = attempt + 1;
        double t0 = hr_now_ms();
        hr_upstream *u = hr_upstream_start(ur);
        if (!u) {
            *err = HR_UP_FAILED;
            hr_buf_puts(detail, "cannot start the upstream transfer");
            return NULL;
        }
        *err = hr_upstream_wait_headers(u);
        *upstream_ms += hr_now_ms() - t0;
        int last = attempt + 1 >= cfg->retry_attempts;
        int retryable = (*err == HR_UP_CONNECT) || (*err == HR_UP_OK && hr_upstream_status(u) >= 500);
        if (!retryable || last) {
            if (*err == HR_UP_OK)
                return u;
            hr_buf_reset(detail);
            hr_buf_puts(detail, hr_upstream_error_detail(u));
            hr_upstream_free(u);
            return NULL;
        }
        hr_log_fields(HR_LOG_WARN, "upstream retry", "id", ctx->id, "attempt",
                      attempt == 0 ? "1" : attempt == 1 ? "2" : "3+", "reason",
                      *err == HR_UP_OK ? "5xx" : hr_up_error_name(*err), NULL);
        hr_upstream_free(u);
        if (backoff(ex, hr_retry_delay_ms(cfg, attempt, uniform01())) != 0) {
            *err = HR_UP_CANCELLED;
            return NULL;
        }
    }
}

static void answer_upstream_failure(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_request *req,
                                    hr_up_error err, const char *raw_detail)
{
    const hr_proxy_config *cfg = hr_proxy_config_current();
    const char *which = req->api->provider;
    hr_buf shown = HR_BUF_INIT; /* libcurl's words may quote the URL, credentials and all */
    const char *detail = hr_log_redact(raw_detail, &shown) == 0 && shown.data ? shown.data : "";
    switch (err) {
    case HR_UP_CONNECT:
        hr_send_error(ex, ctx, req->api, 502, "api_error", "upstream_unreachable",
                      "the %s upstream could not be reached after %d attempt(s): %s", which,
                      ctx->rec.attempts, detail);
        break;
    case HR_UP_TIMEOUT:
        hr_send_error(ex, ctx, req->api, 504, "timeout_error", "upstream_timeout",
                      "the %s upstream sent nothing for %.1f s", which,
                      cfg->upstream_timeout_ms / 1000.0);
        break;
    case HR_UP_CANCELLED:
        hr_send_error(ex, ctx, req->api, 499, "api_error", "client_closed",
                      "the client closed the connection");
        break;
    default:
        hr_send_error(ex, ctx, req->api, 502, "api_error", "upstream_error",
                      "the %s upstream failed: %s", which,
                      *detail ? detail : "the transfer failed without a reason");
        break;
    }
    hr_buf_free(&shown);
}

/* Upstream response headers to forward, plus ours. Pairs are borrowed from u / ctx. Beyond
 * max - 1 headers the rest are dropped, with a warning naming how many. */
static size_t response_headers(hr_upstream *u, hr_req_ctx *ctx, const char **out, size_t max)
{
    size_t n = 0, dropped = 0;
    const char *conn = hr_upstream_header(u, "connection");
    for (size_t i = 0; i < hr_upstream_header_count(u); i++) {
        const char *name = hr_upstream_header_name(u, i);
        if (!forward_response_header(name, conn))
            continue;
        if (n + 2 >= max) { /* room for ours below */
            dropped++;
            continue;
        }
        out[2 * n] = name;
        out[2 * n + 1] = hr_upstream_header_value(u, i);
        n++;
    }
    if (dropped) {
        char k[24];
        snprintf(k, sizeof k, "%zu", dropped);
        hr_log_fields(HR_LOG_WARN, "upstream response headers dropped", "id", ctx->id, "dropped",
                      k, "kept", "126", NULL);
    }
    out[2 * n] = "x-headroom-request-id";
    out[2 * n + 1] = ctx->id;
    if (ctx->bedrock_mode) {
        n++;
        out[2 * n] = "x-headroom-bedrock";
        out[2 * n + 1] = ctx->bedrock_mode;
    }
    return n + 1;
}

#define MAX_RESPONSE_HEADERS 128

/* ---- relay (streamed answers) ------------------------------------------------------------ */

typedef struct relay {
    hr_upstream *u;
    hr_ccrw_stream *ccr;   /* instead of u: a stream whose headroom_retrieve turns we resolve */
    hr_sse_parser sse;
    int parse_sse;
    hr_bedrock_stream *es; /* a Bedrock event stream: read for usage, ended by an exception */
    hr_relay_stats *stats;
    int error_event;       /* a provider SSE stream: a broken upstream ends it with an event */
    const hr_api *api;     /* whose error event */
    const hr_api *shape;   /* whose usage reports the events carry */
    char id[24];           /* the request's, for the log (the context may be gone by then) */
    char last[4];          /* the last bytes sent, to tell whether an event is left open */
    hr_buf tail;           /* after a break: the error event, then a clean end */
    size_t tail_sent;
    int in_tail;
} relay;

static void on_sse_event(void *user, const char *event, const char *data, size_t len)
{
    (void)event;
    relay *r = user;
    hr_usage_from_json(r->shape, data, len, &r->stats->usage);
}

static void remember_last_bytes(relay *r, const char *buf, size_t n)
{
    for (size_t i = n > sizeof r->last ? n - sizeof r->last : 0; i < n; i++) {
        memmove(r->last, r->last + 1, sizeof r->last - 1);
        r->last[sizeof r->last - 1] = buf[i];
    }
}

/* An event is open unless the bytes sent so far end in a blank line (or nothing was sent). */
static int event_left_open(const relay *r)
{
    static const char none[4] = {0};
    if (!memcmp(r->last, none, sizeof none))
        return 0;
    return memcmp(r->last + 2, "\n\n", 2) != 0 && memcmp(r->last, "\r\n\r\n", 4) != 0;
}

static const char *break_reason(hr_up_error e)
{
    return e == HR_UP_TIMEOUT ? "no data within the upstream timeout"
                              : "the connection failed mid-stream";
}

/* The upstream failed after the client's stream started (status and headers are out): rather
 * than cut the chunked body, which SDKs may read as a complete answer, finish it with the
 * provider's own error event and a clean end. An event left half-written is closed first so
 * the error event is parsed on its own. 0: r->tail holds what to send; -1: cut as before. */
static int start_error_tail(relay *r, hr_up_error e)
{
    if (!r->error_event || e == HR_UP_CANCELLED) /* cancelled: the client is gone */
        return -1;
    const char *reason = break_reason(e);
    char message[128];
    snprintf(message, sizeof message, "headroom: the upstream stream broke: %s", reason);
    if (r->es) { /* a binary frame can only follow a whole one: mid-frame, cut */
        if (!hr_bedrock_stream_at_boundary(r->es) ||
            hr_bedrock_exception_frame(&r->tail, message) != 0)
            return -1;
    } else if ((event_left_open(r) && hr_buf_append(&r->tail, "\n\n", 2) != 0) ||
               hr_ccrw_error_event(r->api, message, &r->tail) != 0)
        return -1;
    hr_log_fields(HR_LOG_WARN, "upstream stream broke", "id", r->id, "reason", hr_up_error_name(e),
                  "ended_with", "provider error event", (const char *)NULL);
    r->in_tail = 1;
    return 0;
}

static ssize_t drain_tail(relay *r, char *buf, size_t max)
{
    /* 0 once drained: the chunked body ends cleanly */
    return (ssize_t)hr_buf_copy_out(&r->tail, &r->tail_sent, buf, max);
}

static ssize_t relay_read(void *arg, char *buf, size_t max)
{
    relay *r = arg;
    if (r->in_tail)
        return drain_tail(r, buf, max);
    double t0 = hr_now_ms();
    ssize_t n = r->ccr ? hr_ccrw_stream_read(r->ccr, buf, max) : hr_upstream_read(r->u, buf, max);
    r->stats->upstream_ms += hr_now_ms() - t0; /* waiting on the upstream, not the client */
    if (n > 0) {
        if (r->parse_sse)
            hr_sse_feed(&r->sse, buf, (size_t)n);
        if (r->es)
            hr_bedrock_stream_feed(r->es, buf, (size_t)n);
        remember_last_bytes(r, buf, (size_t)n);
        atomic_fetch_add(&r->stats->bytes_out, (size_t)n);
        return n;
    }
    if (n < 0) {
        hr_up_error e = r->ccr ? hr_ccrw_stream_error(r->ccr) : hr_upstream_error(r->u);
        r->stats->failed = 1;
        snprintf(r->stats->error, sizeof r->stats->error, "%s", hr_up_error_name(e));
        if (start_error_tail(r, e) == 0)
            return drain_tail(r, buf, max);
    }
    return n;
}

static void relay_free(void *arg)
{
    relay *r = arg;
    hr_upstream_free(r->u);
    hr_ccrw_stream_free(r->ccr);
    hr_sse_free(&r->sse);
    if (r->es)
        hr_bedrock_stream_free(r->es);
    free(r->es);
    hr_buf_free(&r->tail);
    hr_relay_stats_release(r->stats);
    free(r);
}

static void answer_streamed(hr_http_exchange *ex, hr_req_ctx *ctx, hr_upstream *u, int is_sse,
                            int is_es, route_info ri, const hr_api *shape,
                            const hr_ccrw_origin *ccr)
{
    relay *r = calloc(1, sizeof *r);
    hr_relay_stats *st = calloc(1, sizeof *st);
    hr_bedrock_stream *es = is_es ? calloc(1, sizeof *es) : NULL;
    if (!r || !st || (is_es && !es)) {
        free(r);
        free(st);
        free(es);
        hr_upstream_free(u);
        return; /* the server answers 500 */
    }
    atomic_init(&st->refs, 2); /* the relay and the request context */
    st->usage = (hr_usage)HR_USAGE_INIT;
    r->u = u;
    if (ccr && is_sse && hr_upstream_status(u) == 200)
        r->ccr = hr_ccrw_stream_new(ccr, u);
    if (r->ccr)
        r->u = NULL; /* the CCR stream owns the transfer now */
    r->stats = st;
    r->parse_sse = is_sse;
    r->error_event = (is_sse || is_es) && ri.kind == KIND_COMPRESSIBLE && hr_upstream_status(u) == 200;
    if (es)
        hr_bedrock_stream_init(es, &st->usage);
    r->es = es;
    r->api = ri.api;
    r->shape = shape;
    snprintf(r->id, sizeof r->id, "%s", ctx->id);
    hr_sse_init(&r->sse, on_sse_event, r, 0);
    ctx->relay = st;
    ctx->rec.stream = is_sse || is_es;
    ctx->rec.status = hr_upstream_status(u);
    const char *h[2 * MAX_RESPONSE_HEADERS];
    size_t n = response_headers(u, ctx, h, MAX_RESPONSE_HEADERS);
    hr_http_respond_stream(ex, hr_upstream_status(u), h, n, relay_read, r, relay_free);
}

/* ---- buffered answers (compressible routes, not SSE) -------------------------------------- */

int hr_read_whole_answer(hr_http_exchange *ex, hr_upstream *u, hr_buf *body)
{
    size_t cap = hr_proxy_config_current()->max_answer_bytes;
    char chunk[64 * 1024];
    ssize_t n;
    while ((n = hr_upstream_read(u, chunk, sizeof chunk)) > 0) {
        if (body->len + (size_t)n > cap)
            return -2;
        if (hr_budget_lease_add(hr_http_lease(ex), (size_t)n) != 0)
            return -3;
        if (hr_buf_append(body, chunk, (size_t)n) != 0)
            return -1;
    }
    return n < 0 ? -1 : 0;
}

static void answer_buffered(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_request *req,
                            hr_upstream *u, const hr_api *shape, double *upstream_ms,
                            const hr_ccrw_origin *ccr)
{
    hr_buf body = HR_BUF_INIT;
    double t0 = hr_now_ms();
    int rc = hr_read_whole_answer(ex, u, &body);
    *upstream_ms += hr_now_ms() - t0;
    if (rc == -2 || rc == -3) { /* nothing of the answer was sent: one clean error */
        hr_buf_free(&body);
        if (rc == -2)
            hr_send_error(ex, ctx, req->api, 502, "api_error", "upstream_answer_too_large",
                          "the %s upstream's answer is larger than %zu bytes (--max-answer-bytes)",
                          req->api->provider, hr_proxy_config_current()->max_answer_bytes);
        else
            hr_send_error(ex, ctx, req->api, 503, "api_error", "memory_budget_exceeded",
                          "the %s upstream's answer does not fit the proxy's in-flight budget "
                          "(--max-inflight-body-mb); retry shortly", req->api->provider);
        return;
    }
    if (rc < 0) {
        hr_buf detail = HR_BUF_INIT;
        hr_buf_puts(&detail, hr_upstream_error_detail(u));
        answer_upstream_failure(ex, ctx, req, hr_upstream_error(u), detail.data ? detail.data : "");
        hr_buf_free(&detail);
        hr_buf_free(&body);
        return;
    }
    int status = hr_upstream_status(u);
    if (ccr) /* the final answer after any headroom_retrieve rounds */
        hr_ccrw_resolve_buffered(ccr, &body, &status, upstream_ms);
    hr_usage usage = HR_USAGE_INIT;
    if (status < 300 && body.len)
        hr_usage_from_json(shape, body.data, body.len, &usage);
    hr_record_usage(&ctx->rec, &usage);
    char before[24], after[24], saved[24];
    snprintf(before, sizeof before, "%lld", ctx->rec.tokens_before);
    snprintf(after, sizeof after, "%lld", ctx->rec.tokens_after);
    snprintf(saved, sizeof saved, "%lld", ctx->rec.tokens_before - ctx->rec.tokens_after);
    const char *h[2 * (MAX_RESPONSE_HEADERS + 4)];
    size_t k = response_headers(u, ctx, h, MAX_RESPONSE_HEADERS);
    /* The counter says whether the numbers are exact (o200k_base, ...) or an estimate. */
    const char *extra[] = {"x-headroom-tokens-before", before, "x-headroom-tokens-after", after,
                           "x-headroom-tokens-saved", saved, "x-headroom-token-counter",
                           ctx->rec.token_counter ? ctx->rec.token_counter : "estimate"};
    memcpy(&h[2 * k], extra, sizeof extra);
    k += 4;
    ctx->rec.status = status;
    ctx->rec.bytes_out = body.len;
    hr_http_respond(ex, status, h, k, body.data ? body.data : "", body.len);
    hr_buf_free(&body);
}

/* ---- entry ------------------------------------------------------------------------------- */

/* One more upstream round for the CCR tool loop (ccr_glue.h): new body, same retry policy. */
static hr_upstream *ccr_connect(hr_http_exchange *ex, hr_req_ctx *ctx,
                                const hr_upstream_request *ur, double *upstream_ms)
{
    hr_up_error err;
    hr_buf detail = HR_BUF_INIT;
    hr_bedrock_signed sig = {0};
    hr_upstream_request again;
    if (ctx->bedrock_mode && !strcmp(ctx->bedrock_mode, "signed")) {
        /* a new body needs a new signature: the previous one covered the last round's */
        if (hr_bedrock_sign(ur->method, hr_http_target(ex), ur->headers, ur->n_headers, ur->body,
                            ur->body_len, time(NULL), &sig) != 0)
            return NULL;
        again = *ur;
        again.headers = sig.headers;
        again.n_headers = sig.n;
        ur = &again;
    }
    hr_upstream *u = connect_with_retries(ex, ctx, ur, &err, upstream_ms, &detail);
    hr_bedrock_signed_free(&sig);
    hr_buf_free(&detail);
    return u;
}

static void log_message_body(const hr_req_ctx *ctx, const prepared *p)
{
    if (!hr_proxy_config_current()->log_messages)
        return;
    hr_buf b = HR_BUF_INIT;
    if (hr_buf_append(&b, p->body, p->len) == 0)
        hr_log_fields(HR_LOG_INFO, "request body", "id", ctx->id, "body", b.data ? b.data : "", NULL);
    hr_buf_free(&b);
}

void hr_forward(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_request *req)
{
    const hr_proxy_config *cfg = hr_proxy_config_current();
    route_info ri = classify_route(req->method, req->path);
    int bypass = hr_request_bypass(req);
    int bedrock = hr_bedrock_is_api(req->api); /* its auth covers the body: sign or pass */
    if (bedrock && !(ctx->bedrock_mode = bedrock_admit(ex, ctx, req, &bypass)))
        return; /* refused, answered */
    ctx->rec.route = ri.label;
    ctx->rec.provider = req->api->provider;
    ctx->rec.bypass = bypass;
    if (req->api->path_model) /* e.g. Google's: their bodies name none (a body "model" wins) */
        req->api->path_model(req->path, ctx->model, sizeof ctx->model);
    char base[1024];
    int base_status;
    const char *base_reason = NULL;
    if (pick_base(req, base, sizeof base, &base_status, &base_reason) != 0) {
        hr_send_error(ex, ctx, req->api, base_status,
                      base_status == 403 ? "permission_error" : "api_error",
                      base_status == 403 ? "base_url_not_allowed" : "no_upstream", "%s",
                      base_reason);
        return;
    }
    prepared p = {0};
    if (prepare_body(ex, ctx, req, ri, bypass, &p) != 0) {
        prepared_free(&p);
        return;
    }
    release_parse(&p);
    log_message_body(ctx, &p);
    outgoing o = {0};
    hr_bedrock_signed sig = {0};
    if (build_outgoing(req, ex, p.decoded, base, &o) != 0 ||
        (bedrock && bedrock_outgoing(req, ex, !bypass, &p, &o, &sig) != 0)) {
        hr_bedrock_signed_free(&sig);
        outgoing_free(&o);
        prepared_free(&p);
        return; /* server answers 500 */
    }
    hr_upstream_request ur = {req->method, o.url.data, o.headers, o.n, p.body, p.len,
                              cfg->connect_timeout_ms, cfg->upstream_timeout_ms,
                              client_cancelled, ex};
    double upstream_ms = 0;
    hr_up_error err;
    hr_buf detail = HR_BUF_INIT;
    hr_upstream *u = connect_with_retries(ex, ctx, &ur, &err, &upstream_ms, &detail);
    ctx->rec.upstream_ms = upstream_ms;
    hr_ccrw_origin ccr = {ri.api, req->tenant, &ur, ccr_connect, ex, ctx};
    const hr_api *shape = ri.api ? ri.api : req->api; /* whose usage reports the answer has */
    if (!u) {
        answer_upstream_failure(ex, ctx, req, err, detail.data ? detail.data : "");
    } else {
        const char *ct = hr_upstream_header(u, "content-type");
        int is_sse = ct && strncasecmp(ct, "text/event-stream", 17) == 0;
        int is_es = bedrock && ct && strncasecmp(ct, "application/vnd.amazon.eventstream", 34) == 0;
        if (is_sse || is_es || ri.kind != KIND_COMPRESSIBLE) {
            answer_streamed(ex, ctx, u, is_sse, is_es, ri, shape, p.tool_offered ? &ccr : NULL); /* owns u */
        } else {
            answer_buffered(ex, ctx, req, u, shape, &upstream_ms, p.tool_offered ? &ccr : NULL);
            ctx->rec.upstream_ms = upstream_ms; /* the whole answer, retrieve rounds included */
            hr_upstream_free(u);
        }
    }
    /* Overhead and client-send time are settled at the end of the exchange (proxy.c
     * finish_timing): only then is the streamed part of the answer over. */
    ctx->t_handler_end_ms = hr_now_ms();
    hr_buf_free(&detail);
    outgoing_free(&o);
    hr_bedrock_signed_free(&sig);
    prepared_free(&p);
}
