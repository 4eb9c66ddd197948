/* proxy.c: the proxy's lifecycle and request dispatch. Owns the process-wide proxy state
 * (a documented singleton: the server, readiness, draining, in-flight count), turns each
 * hr_http_exchange into an hr_request (ids, tenant key, decoded body), sends it to a local
 * route (routes.def) or the forwarding core, and writes one log line + metrics per request
 * when the exchange ends.
 */
#include "proxy/proxy.h"

#include "ccr/store.h"
#include "compress/pipeline_instance.h"
#include "http/decode.h"
#include "http/upstream.h"
#include "proxy/cache_watch.h"
#include "proxy/codex.h"
#include "proxy/backpressure.h"
#include "proxy/bedrock.h"
#include "proxy/housekeeping.h"
#include "proxy/low_memory.h"
#include "proxy/proxy_internal.h"
#include "proxy/savings.h"
#include "proxy/upstream_base.h"
#include "sys/budget.h"
#include "sys/hash.h"
#include "sys/log.h"
#include "sys/mem.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>

/* The effective limits, the one rule for both server models (set once before serving;
 * read by /health; the rule is connection_limits() below). */
typedef struct {
    unsigned connections; /* client connections served at once; beyond: 503 at accept */
    unsigned active;      /* requests relayed at once; beyond: 503 server_busy at once */
} conn_limits;

static struct {
    atomic_int ready;
    atomic_int draining;
    atomic_int in_flight;
    atomic_ullong finished;
    atomic_int port; /* the port listened on: the configured one, or the system's for 0 */
    hr_http_server *server;
    conn_limits limits; /* written once before serving starts */
} S;

int hr_proxy_ready(void) { return atomic_load(&S.ready) && !atomic_load(&S.draining); }
int hr_proxy_draining(void) { return atomic_load(&S.draining); }
int hr_proxy_in_flight(void) { return atomic_load(&S.in_flight); }
int hr_proxy_port(void) { return atomic_load(&S.port); }
unsigned hr_proxy_max_connections(void) { return S.limits.connections; }
unsigned hr_proxy_max_active(void) { return S.limits.active; }
unsigned hr_proxy_connections(void) { return S.server ? hr_http_server_connections(S.server) : 0; }

void hr_proxy_client_guard_counts(unsigned long *cut, unsigned long *refused)
{
    *cut = S.server ? hr_http_server_timeouts(S.server) : 0;
    *refused = S.server ? hr_http_server_refusals(S.server) : 0;
}

void hr_relay_stats_release(hr_relay_stats *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        free(s);
}

/* ---- answers ----------------------------------------------------------------------------- */

void hr_send_response(hr_http_exchange *ex, hr_req_ctx *ctx, hr_response *res)
{
    const char *h[2 * (HR_RESPONSE_MAX_HEADERS + 2)];
    size_t n = 0;
    h[2 * n] = "Content-Type";
    h[2 * n + 1] = res->content_type ? res->content_type : "application/json";
    n++;
    h[2 * n] = "x-headroom-request-id";
    h[2 * n + 1] = ctx->id;
    n++;
    for (int i = 0; i < res->n_headers; i++, n++) {
        h[2 * n] = res->header_names[i];
        h[2 * n + 1] = res->header_values[i];
    }
    int status = res->status ? res->status : 500;
    ctx->rec.status = status;
    ctx->rec.bytes_out = res->body.len;
    hr_http_respond(ex, status, h, n, res->body.data ? res->body.data : "", res->body.len);
}

/* A provider-shaped error, with a Retry-After header when retry_after is given. */
static void send_error_v(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_api *p, int status,
                         const char *type, const char *code, const char *retry_after,
                         const char *fmt, va_list ap)
{
    hr_buf msg = HR_BUF_INIT;
    hr_buf_vprintf(&msg, fmt, ap);
    hr_response res = HR_RESPONSE_INIT;
    hr_response_error(&res, p, status, type, code, "%s", msg.data ? msg.data : "");
    if (retry_after)
        hr_response_header(&res, "Retry-After", retry_after);
    hr_send_response(ex, ctx, &res);
    hr_response_free(&res);
    hr_buf_free(&msg);
}

void hr_send_error(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_api *p, int status,
                   const char *type, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    send_error_v(ex, ctx, p, status, type, code, NULL, fmt, ap);
    va_end(ap);
}

/* ---- per-request context ----------------------------------------------------------------- */

static void new_request_id(char out[24])
{
    uint8_t r[8];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        uint64_t t = (uint64_t)hr_now_ms() * 2654435761u;
        memcpy(r, &t, sizeof r);
    }
    char hex[17];
    hr_hex(r, sizeof r, hex);
    snprintf(out, 24, "hr-%s", hex);
}

static void ctx_free(void *arg)
{
    hr_req_ctx *ctx = arg;
    hr_relay_stats_release(ctx->relay);
    free(ctx);
}

static const char *exchange_header(void *ex, const char *name)
{
    return hr_http_header(ex, name);
}

/* The API whose errors and upstream a request gets: the one owning its path, else the one
 * its auth headers name (api/api.h). */
static const hr_api *api_for(const char *path, const hr_http_exchange *ex)
{
    const hr_api *a = hr_api_for_path(path);
    if (!a && hr_codex_is_alias(path)) /* /v1/codex/... (the row owns /backend-api/codex) */
        a = &hr_api_codex_responses;
    return a ? a : hr_api_from_headers(exchange_header, (void *)ex);
}

/* Seconds a client is told to wait after a 503 for memory: about one housekeeping tick
 * plus the time a burst's buffers take to drain. */
#define OVERLOAD_RETRY_AFTER "2"

/* 503 with Retry-After in the provider's error shape: nothing is wrong with the request,
 * the proxy is short of memory now, so the client may retry. */
static void send_overloaded(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_api *p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void send_overloaded(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_api *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    send_error_v(ex, ctx, p, 503, p->overloaded_type,
                 "memory_budget_exceeded", OVERLOAD_RETRY_AFTER, fmt, ap);
    va_end(ap);
}

/* The answer when the in-flight budget cannot hold a request's bytes. */
static void send_over_budget(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_api *p, const char *what)
{
    send_overloaded(ex, ctx, p, "the proxy is holding too many request bytes to take %s now "
                    "(--max-inflight-body-mb %ld, --memory-budget-mb %ld); retry shortly", what,
                    hr_proxy_config_current()->max_inflight_body_mb,
                    hr_proxy_config_current()->memory_budget_mb);
}

static void send_too_large(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_api *p, const char *fmt,
                           unsigned long long limit)
{
    hr_send_error(ex, ctx, p, 413, p->too_large_type,
                  "request_too_large", fmt, limit);
}

/* Decoded output up to this size is never refused for its compression ratio. */
#define DECODE_RATIO_FLOOR ((size_t)1 << 20)

/* Decodes a Content-Encoding'd body into buf, its bytes reserved on the exchange's lease.
 * 0 ok (req body set), -1 answered with an error. Unknown encodings are left as they are
 * (the forwarding core decides). */
static int decode_body(hr_http_exchange *ex, hr_req_ctx *ctx, hr_request *req, hr_buf *buf)
{
    const hr_proxy_config *cfg = hr_proxy_config_current();
    size_t raw_len;
    const char *raw = hr_http_body(ex, &raw_len);
    req->body = raw;
    req->body_len = raw_len;
    const char *enc = hr_http_header(ex, "content-encoding");
    const char *mode = hr_http_header(ex, "x-headroom-mode");
    const char *bypass = hr_http_header(ex, "x-headroom-bypass");
    int passthrough = (mode && !strcasecmp(mode, "passthrough")) || (bypass && !strcasecmp(bypass, "true"));
    hr_decode_limits lim = {cfg->max_body_bytes, (unsigned)cfg->max_decode_ratio,
                            DECODE_RATIO_FLOOR, hr_http_lease(ex)};
    hr_decode_result r = hr_decode_body_limited(enc, raw, raw_len, &lim, buf);
    switch (r) {
    case HR_DECODE_OK:
        req->body = buf->data ? buf->data : "";
        req->body_len = buf->len;
        return 0;
    case HR_DECODE_IDENTITY:
    case HR_DECODE_UNSUPPORTED:
        return 0;
    case HR_DECODE_TOO_LARGE:
        send_too_large(ex, ctx, req->api,
                       "request body decodes to more than %llu bytes (--max-body-bytes)",
                       (unsigned long long)cfg->max_body_bytes);
        return -1;
    case HR_DECODE_RATIO:
        send_too_large(ex, ctx, req->api,
                       "request body decodes to more than %llu times its encoded size "
                       "(--max-decode-ratio)", (unsigned long long)cfg->max_decode_ratio);
        return -1;
    case HR_DECODE_BUDGET:
        send_over_budget(ex, ctx, req->api, "its decoded body");
        return -1;
    default:
        if (passthrough)
            return 0; /* forwarded as it came; the provider judges it */
        hr_send_error(ex, ctx, req->api, 400, "invalid_request_error", "invalid_encoding",
                      "request body is not valid %s data", enc);
        return -1;
    }
}

static void run_local_route(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_route *route,
                            const hr_request *req)
{
    hr_response res = HR_RESPONSE_INIT;
    ctx->rec.route = strncmp(route->name, "hr_route_", 9) ? route->name : route->name + 9;
    ctx->rec.provider = "local";
    if (route->handler(req, &res) != 0 || res.status == 0) {
        hr_response_free(&res);
        hr_response_error(&res, req->api, 500, "api_error", "internal_error",
                          "%s failed", route->name);
    }
    hr_send_response(ex, ctx, &res);
    hr_response_free(&res);
}

static void on_request(hr_http_exchange *ex, void *user)
{
    (void)user;
    hr_req_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return; /* the server answers 500 */
    ctx->t_start_ms = hr_now_ms();
    ctx->rec.upstream_ms = -1;
    ctx->rec.overhead_ms = -1;
    ctx->rec.route = "unknown";
    ctx->rec.provider = "local";
    new_request_id(ctx->id);
    hr_http_set_data(ex, ctx, ctx_free);
    atomic_fetch_add(&S.in_flight, 1);
    ctx->counted = 1;

    const char *path = hr_http_path(ex);
    const char *cred = hr_http_header(ex, "x-api-key");
    if (!cred)
        cred = hr_http_header(ex, "authorization");
    if (!cred) /* Gemini API keys, then Azure's */
        cred = hr_http_header(ex, "x-goog-api-key");
    if (!cred)
        cred = hr_http_header(ex, "api-key");
    hr_tenant_for_header(cred, ctx->tenant);
    size_t n_pairs;
    const char *const *headers = hr_http_headers(ex, &n_pairs);
    hr_request req = {hr_http_method(ex), path, hr_http_query(ex), "", 0,
                      hr_http_client_addr(ex), hr_http_client_is_loopback(ex), ctx->id,
                      ctx->tenant, api_for(path, ex), headers, n_pairs};
    size_t raw_len;
    hr_http_body(ex, &raw_len);
    ctx->rec.bytes_in = raw_len;
    const char *why;
    int rejected = hr_http_rejected(ex, &why);
    if (rejected) {
        ctx->rec.route = "rejected";
        hr_send_error(ex, ctx, req.api, rejected, "invalid_request_error",
                      rejected == 501 ? "not_implemented" : "bad_request", "%s", why);
        return;
    }
    if (hr_http_body_too_large(ex)) {
        ctx->rec.route = "too_large";
        send_too_large(ex, ctx, req.api, "request body is larger than %llu bytes (--max-body-bytes)",
                       (unsigned long long)hr_proxy_config_current()->max_body_bytes);
        return;
    }
    if (hr_http_body_refused(ex)) {
        ctx->rec.route = "over_budget";
        send_over_budget(ex, ctx, req.api, "its body");
        return;
    }
    if (!strncmp(path, "/debug/", 7) && !req.client_is_loopback) {
        ctx->rec.route = "debug";
        hr_send_error(ex, ctx, req.api, 404, "not_found_error", "not_found",
                      "%s is only served to loopback clients", path);
        return;
    }
    hr_buf decoded = HR_BUF_INIT;
    if (decode_body(ex, ctx, &req, &decoded) == 0) {
        int path_matched = 0;
        const hr_route *route = hr_route_find(req.method, path, &path_matched);
        if (hr_ws_relay_handle(ex, ctx, &req)) {
            /* a WebSocket: refused or relayed until it closed */
        } else if (route) {
            run_local_route(ex, ctx, route, &req);
        } else if (path_matched || !strncmp(path, "/debug/", 7)) {
            ctx->rec.route = "local";
            hr_send_error(ex, ctx, req.api, path_matched ? 405 : 404,
                          path_matched ? "invalid_request_error" : "not_found_error",
                          path_matched ? "method_not_allowed" : "not_found",
                          "%s %s is not served here", req.method, path);
        } else if (!hr_backpressure_admit()) {
            ctx->rec.route = "over_budget"; /* stage 3: refused before any work, never later */
            send_overloaded(ex, ctx, req.api, "the proxy is near its memory budget "
                            "(--memory-budget-mb %ld); retry shortly",
                            hr_proxy_config_current()->memory_budget_mb);
        } else {
            hr_forward(ex, ctx, &req);
        }
    }
    hr_buf_free(&decoded);
}

/* Splits a forwarded request's time into upstream, client send and the proxy's own, so
 * the three add up to the latency: the upstream time is every wait on upstream bytes (the
 * handler's and, for a relayed stream, the relay's); what followed the handler and was not
 * an upstream wait is sending to the client; the rest is ours. Local routes keep -1. */
static void finish_timing(hr_req_ctx *ctx, double t_done)
{
    hr_request_record *r = &ctx->rec;
    r->latency_ms = t_done - ctx->t_start_ms;
    r->client_send_ms = -1;
    if (r->upstream_ms < 0 || ctx->t_handler_end_ms <= 0)
        return;
    double relay_up = ctx->relay ? ctx->relay->upstream_ms : 0;
    r->upstream_ms += relay_up;
    double send = t_done - ctx->t_handler_end_ms - relay_up;
    r->client_send_ms = send > 0 ? send : 0;
    double own = r->latency_ms - r->upstream_ms - r->client_send_ms;
    r->overhead_ms = own > 0 ? own : 0;
}

static void on_done(hr_http_exchange *ex, void *user)
{
    (void)user;
    hr_req_ctx *ctx = hr_http_data(ex);
    if (!ctx)
        return;
    hr_request_record *r = &ctx->rec;
    finish_timing(ctx, hr_now_ms());
    r->model = ctx->model;
    r->compressors = ctx->compressors;
    r->tenant = ctx->tenant;
    const char *outcome = hr_http_completed_ok(ex) ? "ok" : "client_gone";
    if (ctx->relay) {
        r->bytes_out = atomic_load(&ctx->relay->bytes_out);
        hr_record_usage(r, &ctx->relay->usage);
        if (ctx->relay->failed)
            outcome = "upstream_failed";
    }
    hr_metrics_record(r);
    hr_cache_watch_usage(ctx->session, r);
    hr_savings_record(r);
    char status[16], bytes_in[24], bytes_out[24], latency[32], upstream[32], tin[24], tout[24],
        attempts[12];
    snprintf(status, sizeof status, "%d", r->status);
    snprintf(bytes_in, sizeof bytes_in, "%zu", r->bytes_in);
    snprintf(bytes_out, sizeof bytes_out, "%zu", r->bytes_out);
    snprintf(latency, sizeof latency, "%.2f", r->latency_ms);
    snprintf(upstream, sizeof upstream, "%.2f", r->upstream_ms < 0 ? 0 : r->upstream_ms);
    snprintf(tin, sizeof tin, "%lld", r->input_tokens);
    snprintf(tout, sizeof tout, "%lld", r->output_tokens);
    snprintf(attempts, sizeof attempts, "%d", r->attempts);
    hr_log_fields(HR_LOG_INFO, "request", "id", ctx->id, "method", hr_http_method(ex), "route",
                  r->route, "provider", r->provider, "model", ctx->model, "status", status,
                  "stream", r->stream ? "true" : "false", "bytes_in", bytes_in, "bytes_out",
                  bytes_out, "latency_ms", latency, "upstream_ms", upstream, "attempts", attempts,
                  "input_tokens", tin, "output_tokens", tout, "bypass", r->bypass ? "true" : "false",
                  "outcome", outcome, NULL);
    atomic_fetch_add(&S.finished, 1);
    if (ctx->counted)
        atomic_fetch_sub(&S.in_flight, 1);
    ctx->counted = 0;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

/* Each client connection's thread runs the whole request, compression included: 1 MiB of
 * stack leaves a wide margin (only touched pages are resident), and glibc's cache of
 * exited threads' stacks (40 MiB) then holds ~40 of them, not ~160, after a burst. */
#define CONNECTION_STACK_BYTES ((size_t)1 << 20)

/* Thread-per-connection needs a descriptor per client and one or two per upstream transfer;
 * the soft limit is often 1024, below what 1,000 keep-alive clients need. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Descriptors the process holds besides connections and upstream transfers: stdio, the
 * listen socket, the SQLite stores with their WAL and shared-memory files, logs, model files,
 * Redis, the signal and wakeup pipes. */
#define FD_RESERVE 128

/* A limit the open-file limit cannot back refuses nobody: past RLIMIT_NOFILE accept() fails,
 * libmicrohttpd stops accepting until a connection closes, and new clients wait unanswered
 * in the backlog (10,000 streams under a limit of 20,000 descriptors stalled at ~5,000 until
 * their clients gave up). So every limit is capped to what the descriptors back, beyond a
 * fixed reserve, and clients past it get a 503 at once:
 * - an active request (a stream being relayed) holds its client's descriptor plus an
 *   upstream transfer's (HR_UPSTREAM_FDS_PER_TRANSFER): at most (NOFILE - reserve) / 4, and
 *   at most --limit-concurrency;
 * - threads: a connection is its request's thread, so connections = active;
 * - events: an idle keep-alive connection holds one descriptor and no thread, so
 *   connections = NOFILE - reserve. Idle connections and active requests share the
 *   descriptors: with both at their caps at once an upstream connect can fail (a 502 at
 *   once, never a stall); sized this way 10,000 idle agents fit under 20,000 descriptors.
 * Logged once, at start, when the configured limit is capped. */
static conn_limits connection_limits(const hr_proxy_config *cfg)
{
    unsigned configured = cfg->max_connections;
    conn_limits lim = {configured, configured};
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return lim;
    size_t fixed = FD_RESERVE + hr_upstream_pool_fds_max() + HR_HTTP_REFUSAL_SLOTS;
    size_t per_stream = 1 + HR_UPSTREAM_FDS_PER_TRANSFER;
    size_t usable = rl.rlim_cur > fixed + per_stream ? rl.rlim_cur - fixed : per_stream;
    size_t cap = usable / per_stream;
    if (cfg->server_model == HR_HTTP_MODEL_EVENTS)
        lim.connections = usable < UINT_MAX / 2 ? (unsigned)usable : UINT_MAX / 2;
    if (configured <= cap) {
        if (cfg->server_model != HR_HTTP_MODEL_EVENTS)
            lim.connections = configured;
        return lim;
    }
    lim.active = (unsigned)cap;
    if (cfg->server_model != HR_HTTP_MODEL_EVENTS)
        lim.connections = lim.active;
    char want[24], got[24], conns[24], nofile[24], per[8];
    snprintf(want, sizeof want, "%u", configured);
    snprintf(got, sizeof got, "%zu", cap);
    snprintf(conns, sizeof conns, "%u", lim.connections);
    snprintf(nofile, sizeof nofile, "%llu", (unsigned long long)rl.rlim_cur);
    snprintf(per, sizeof per, "%zu", per_stream);
    hr_log_fields(HR_LOG_WARN, "connection limit capped by the open-file limit", "configured",
                  want, "capped_to", got, "max_connections", conns, "rlimit_nofile", nofile,
                  "descriptors_per_stream", per,
                  "hint", "raise the hard limit (ulimit -Hn, LimitNOFILE=) to serve more", NULL);
    return lim;
}

/* Upstream handle pairs kept warm across an idle period: enough for a few clients to
 * resume without reconnecting; the rest of a burst's pool is closed so its memory can go. */
#define IDLE_POOL_KEEP 4

/* glibc gives each thread that meets a locked arena a new one, up to 8 per core: with a
 * thread per connection a burst spreads small long-lived allocations over 16 arenas whose
 * top chunks malloc_trim cannot shrink (measured: ~100 KB each kept after a 32-client
 * burst). Four arenas keep RSS near its idle size after bursts (2 and 4 measured the same)
 * while 32 threads contend less for their locks than on 2 (arena-lock futex waits were ~3%
 * of the proxy's CPU with 2). See docs/benchmarks.md (proxy). An explicit MALLOC_ARENA_MAX
 * in the environment wins. Must run before any thread starts. */
#define PROXY_ARENA_MAX 4

/* glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), after
 * which request bodies of a few MB come from the arenas, where a burst leaves them
 * fragmented and idle RSS stays tens of MB above its start (measured: 59 MB after 64
 * concurrent decompression bombs). A fixed threshold keeps every block of 256 KiB or more
 * an mmap of its own, which free() hands straight back to the kernel. An explicit
 * MALLOC_MMAP_THRESHOLD_ in the environment wins. */
#define PROXY_MMAP_THRESHOLD (256 * 1024)

static void cap_malloc_arenas(int arena_max)
{
#ifdef M_ARENA_MAX
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, arena_max > 0 ? arena_max : PROXY_ARENA_MAX);
#endif
#ifdef M_MMAP_THRESHOLD
    if (!getenv("MALLOC_MMAP_THRESHOLD_"))
        mallopt(M_MMAP_THRESHOLD, PROXY_MMAP_THRESHOLD);
#endif
}

/* The persistent stats writer (savings.c) as a housekeeping hook. */
static void savings_tick_hook(void *arg)
{
    (void)arg;
    hr_savings_tick();
}

/* The main thread waits for a shutdown signal and runs the housekeeping tick between. */
static int wait_for_signal(sigset_t *set, hr_housekeeping *hk)
{
    for (;;) {
        struct timespec tick = {HR_HOUSEKEEPING_TICK_MS / 1000, (HR_HOUSEKEEPING_TICK_MS % 1000) * 1000000L};
        int sig = sigtimedwait(set, NULL, &tick);
        if (sig > 0)
            return sig;
        hr_housekeeping_tick(hk, atomic_load(&S.finished), atomic_load(&S.in_flight));
    }
}

static void drain(const hr_proxy_config *cfg)
{
    double deadline = hr_now_ms() + cfg->graceful_shutdown_timeout_s * 1000.0;
    while (atomic_load(&S.in_flight) > 0 && hr_now_ms() < deadline) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    int left = atomic_load(&S.in_flight);
    if (left > 0) {
        char n[16];
        snprintf(n, sizeof n, "%d", left);
        hr_log_fields(HR_LOG_WARN, "graceful shutdown timed out", "in_flight", n, NULL);
    }
}

/* One "provider=URL" of the start-up line's upstreams (space-separated; "-" when unset:
 * Vertex then takes the request's region, Azure refuses). The logger masks URL credentials. */
static int describe_upstream(void *user, const char *provider, const char *url)
{
    hr_buf *b = user;
    return hr_buf_printf(b, "%s%s=%s", b->len ? " " : "", provider, *url ? url : "-") ? -1 : 0;
}

int hr_proxy_run(const hr_proxy_config *cfg)
{
    hr_proxy_config_set_current(cfg);
    hr_ml_configure(&cfg->ml); /* before any ML thread or session */
    hr_image_configure(&cfg->images);
    hr_log_configure(cfg->log_level, cfg->log_format);
    cap_malloc_arenas(hr_low_memory_apply_process(cfg)); /* before any thread */
    hr_housekeeping hk;
    hr_housekeeping_init(&hk, IDLE_POOL_KEEP); /* before any ML session loads */
    hr_housekeeping_add_hook(&hk, savings_tick_hook, NULL); /* persistent stats flush + memory sample */
    hr_metrics_init();
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);
    /* Block the shutdown signals before any thread starts, so every thread inherits the mask
     * and only sigwait below receives them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (hr_upstream_global_init(cfg->upstream_ca_file) != 0) {
        hr_logf(HR_LOG_ERROR, "cannot initialise libcurl");
        return 1;
    }
    if (hr_pipeline_configure(&cfg->pipeline) != 0) {
        hr_logf(HR_LOG_ERROR, "cannot configure the compression pipeline");
        hr_upstream_global_cleanup();
        return 1;
    }
    /* say at start whether prose goes through the model (and why not) */
    hr_log_fields(HR_LOG_INFO, "kompress", "status", hr_pipeline_kompress_note(hr_pipeline_process()),
                  NULL);
    hr_log_fields(HR_LOG_INFO, "embedder", "status",
                  hr_pipeline_embedder_note(hr_pipeline_process()), NULL);
    char err[256];
    hr_bedrock_setup(cfg->bedrock_url, cfg->bedrock_region, cfg->bedrock_profile);
    hr_savings_start(cfg->ccr.data_dir, cfg->ccr.backend != HR_CCR_BACKEND_MEMORY, &cfg->savings);
    hr_budget_init(hr_budget_process(), (size_t)cfg->max_inflight_body_mb << 20);
    hr_backpressure_configure((size_t)cfg->memory_budget_mb << 20);
    S.limits = connection_limits(cfg);
    hr_http_server_opts opts = {
        .model = cfg->server_model,
        .host = cfg->host, .port = cfg->port, .max_connections = S.limits.connections, .max_active = S.limits.active,
        .max_body_bytes = cfg->max_body_bytes, .budget = hr_budget_process(),
        .thread_stack_bytes = CONNECTION_STACK_BYTES, .idle_timeout_s = cfg->idle_timeout_s,
        .per_address_limit = cfg->max_connections_per_address,
        .header_timeout_ms = (unsigned)cfg->client_header_timeout_ms,
        .body_timeout_ms = (unsigned)cfg->client_body_timeout_ms,
        .handler = on_request, .done = on_done, .user = NULL};
    S.server = hr_http_server_start(&opts, err, sizeof err);
    if (!S.server) {
        hr_log_fields(HR_LOG_ERROR, "cannot start", "error", err, NULL);
        hr_pipeline_process_close();
        hr_upstream_global_cleanup();
        return 1;
    }
    /* port 0 means "any": the one we got is kept beside the configuration, which handler
     * threads read without a lock and which is therefore never written once serving */
    atomic_store(&S.port, hr_http_server_port(S.server));
    char port[16];
    snprintf(port, sizeof port, "%d", hr_proxy_port());
    atomic_store(&S.ready, 1);
    char budget[24];
    snprintf(budget, sizeof budget, "%ld", cfg->memory_budget_mb);
    hr_buf profile = HR_BUF_INIT;
    if (cfg->low_memory)
        hr_low_memory_describe(&profile);
    hr_buf upstreams = HR_BUF_INIT;
    hr_upstream_each(describe_upstream, &upstreams);
    hr_log_fields(HR_LOG_INFO, "listening", "host", cfg->host, "port", port, "version",
                  HEADROOM_VERSION, "upstreams", upstreams.data ? upstreams.data : "",
                  "memory_budget_mb", budget, "low_memory", cfg->low_memory ? "on" : "off",
                  cfg->low_memory ? "low_memory_profile" : NULL, profile.data ? profile.data : "",
                  NULL);
    hr_buf_free(&upstreams);
    hr_buf_free(&profile);
    int sig = wait_for_signal(&set, &hk);
    hr_log_fields(HR_LOG_INFO, "shutting down", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    atomic_store(&S.draining, 1);
    hr_http_server_quiesce(S.server);
    drain(cfg);
    hr_http_server_stop(S.server);
    S.server = NULL;
    hr_savings_stop();
    hr_pipeline_process_close();
    hr_upstream_global_cleanup();
    hr_log_fields(HR_LOG_INFO, "stopped", NULL);
    return 0;
}
