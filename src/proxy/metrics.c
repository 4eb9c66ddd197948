/* metrics.c: see metrics.h. State: one struct behind one mutex. */
#include "proxy/metrics.h"

#include "json/json.h"
#include "proxy/backpressure.h"

#include "sys/assert.h"
#include "sys/budget.h"
#include "sys/clock.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SERIES 128
#define RING 4096

static const double BUCKETS_S[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
#define N_BUCKETS (sizeof BUCKETS_S / sizeof BUCKETS_S[0])

typedef struct series {
    const char *route, *provider;
    int status;
    unsigned long long count;
} series;

#define MAX_MODELS 64 /* distinct models counted for requests.by_model; the rest are "other" */

typedef struct model_count {
    char name[96];
    unsigned long long count;
} model_count;

static struct {
    pthread_mutex_t mu;
    model_count models[MAX_MODELS];
    size_t n_models;
    int ready;
    double start_ms; /* hr_now_ms at init */
    series s[MAX_SERIES];
    size_t n_series;
    unsigned long long dropped_series;
    unsigned long long requests, streams, bypassed, failed_open, errors;
    unsigned long long bytes_in, bytes_out;
    unsigned long long hist[N_BUCKETS + 1];
    double hist_sum;
    unsigned long long hist_count;
    long long input_tokens, output_tokens, tokens_before, tokens_after, cache_read, cache_write;
    double lat[RING], ovh[RING], ups[RING];
    /* the time breakdown of forwarded requests: sum_total = sum_upstream + sum_send + sum_ovh */
    unsigned long long timed;
    double sum_total, sum_upstream, sum_send, sum_ovh, min_ovh, max_ovh;
    unsigned long long rate_limited, retrievals, cache_busts, ws_idle_closes;
    size_t n_lat, n_ovh, n_ups, i_lat, i_ovh, i_ups;
    unsigned connections;
} M = {.mu = PTHREAD_MUTEX_INITIALIZER};

void hr_metrics_init(void)
{
    pthread_mutex_lock(&M.mu);
    if (!M.ready) {
        M.start_ms = hr_now_ms();
        M.ready = 1;
    }
    pthread_mutex_unlock(&M.mu);
}

double hr_metrics_uptime_s(void)
{
    return (hr_now_ms() - M.start_ms) / 1e3;
}

static void ring_push(double *ring, size_t *n, size_t *i, double v)
{
    ring[*i] = v;
    *i = (*i + 1) % RING;
    if (*n < RING)
        (*n)++;
}

static void count_series(const hr_request_record *r)
{
    for (size_t i = 0; i < M.n_series; i++) {
        series *s = &M.s[i];
        if (s->status == r->status && !strcmp(s->route, r->route) && !strcmp(s->provider, r->provider)) {
            s->count++;
            return;
        }
    }
    if (M.n_series == MAX_SERIES) {
        M.dropped_series++;
        return;
    }
    M.s[M.n_series++] = (series){r->route, r->provider, r->status, 1};
}

static void count_model(const char *model)
{
    if (!model || !*model)
        return;
    size_t i = 0;
    while (i < M.n_models && strcmp(M.models[i].name, model) != 0)
        i++;
    if (i == M.n_models) {
        if (M.n_models == MAX_MODELS) {
            i = MAX_MODELS - 1;
            snprintf(M.models[i].name, sizeof M.models[i].name, "other");
        } else {
            snprintf(M.models[i].name, sizeof M.models[i].name, "%s", model);
            M.n_models++;
        }
    }
    M.models[i].count++;
}

void hr_metrics_record(const hr_request_record *r)
{
    pthread_mutex_lock(&M.mu);
    count_series(r);
    if (r->provider && strcmp(r->provider, "local") != 0)
        count_model(r->model);
    M.requests++;
    M.streams += r->stream != 0;
    M.bypassed += r->bypass != 0;
    M.failed_open += r->failed_open != 0;
    M.errors += r->status >= 500;
    M.bytes_in += r->bytes_in;
    M.bytes_out += r->bytes_out;
    M.input_tokens += r->input_tokens;
    M.output_tokens += r->output_tokens;
    M.tokens_before += r->tokens_before;
    M.tokens_after += r->tokens_after;
    M.cache_read += r->cache_read_tokens;
    M.cache_write += r->cache_creation_tokens;
    ring_push(M.lat, &M.n_lat, &M.i_lat, r->latency_ms);
    M.rate_limited += r->status == 429;
    M.retrievals += (unsigned long long)(r->retrievals > 0 ? r->retrievals : 0);
    M.cache_busts += r->cache_bust != 0;
    if (r->overhead_ms >= 0) {
        ring_push(M.ovh, &M.n_ovh, &M.i_ovh, r->overhead_ms);
        if (M.timed == 0 || r->overhead_ms < M.min_ovh)
            M.min_ovh = r->overhead_ms;
        if (r->overhead_ms > M.max_ovh)
            M.max_ovh = r->overhead_ms;
    }
    if (r->overhead_ms >= 0 && r->upstream_ms >= 0 && r->client_send_ms >= 0) {
        M.timed++;
        M.sum_total += r->latency_ms;
        M.sum_upstream += r->upstream_ms;
        M.sum_send += r->client_send_ms;
        M.sum_ovh += r->overhead_ms;
    }
    if (r->upstream_ms >= 0) {
        ring_push(M.ups, &M.n_ups, &M.i_ups, r->upstream_ms);
        double s = r->upstream_ms / 1000.0;
        size_t b = 0;
        while (b < N_BUCKETS && s > BUCKETS_S[b])
            b++;
        M.hist[b]++;
        M.hist_sum += s;
        M.hist_count++;
    }
    pthread_mutex_unlock(&M.mu);
}

void hr_metrics_set_connections(unsigned n)
{
    pthread_mutex_lock(&M.mu);
    M.connections = n;
    pthread_mutex_unlock(&M.mu);
}

void hr_metrics_count_ws_idle_close(void)
{
    pthread_mutex_lock(&M.mu);
    M.ws_idle_closes++;
    pthread_mutex_unlock(&M.mu);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double hr_percentile(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    double rank = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(rank), hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (v[hi] - v[lo]) * (rank - (double)lo);
}

int hr_metrics_prometheus(hr_buf *o)
{
    pthread_mutex_lock(&M.mu);
    hr_buf_puts(o, "# HELP headroom_requests_total Requests answered, by route, provider and status.\n"
                   "# TYPE headroom_requests_total counter\n");
    for (size_t i = 0; i < M.n_series; i++)
        hr_buf_printf(o, "headroom_requests_total{route=\"%s\",provider=\"%s\",status=\"%d\"} %llu\n",
                      M.s[i].route, M.s[i].provider, M.s[i].status, M.s[i].count);
    hr_buf_printf(o,
        "# HELP headroom_request_bytes_total Request body bytes received from clients.\n"
        "# TYPE headroom_request_bytes_total counter\nheadroom_request_bytes_total %llu\n"
        "# HELP headroom_response_bytes_total Response body bytes sent to clients.\n"
        "# TYPE headroom_response_bytes_total counter\nheadroom_response_bytes_total %llu\n"
        "# HELP headroom_streams_total Responses relayed as server-sent events.\n"
        "# TYPE headroom_streams_total counter\nheadroom_streams_total %llu\n"
        "# HELP headroom_tokens_total Tokens reported by provider usage, and counted by compression.\n"
        "# TYPE headroom_tokens_total counter\n"
        "headroom_tokens_total{kind=\"input\"} %lld\nheadroom_tokens_total{kind=\"output\"} %lld\n"
        "headroom_tokens_total{kind=\"before_compression\"} %lld\n"
        "headroom_tokens_total{kind=\"after_compression\"} %lld\n"
        "headroom_tokens_total{kind=\"cache_read\"} %lld\n"
        "headroom_tokens_total{kind=\"cache_write\"} %lld\n"
        "# HELP headroom_retrievals_total headroom_retrieve rounds the proxy answered.\n"
        "# TYPE headroom_retrievals_total counter\nheadroom_retrievals_total %llu\n"
        "# HELP headroom_cache_busts_total Turns whose earlier messages our compression changed (prompt cache busted).\n"
        "# TYPE headroom_cache_busts_total counter\nheadroom_cache_busts_total %llu\n"
        "# HELP headroom_websocket_idle_closes_total WebSocket sessions closed after --ws-idle-timeout without traffic.\n"
        "# TYPE headroom_websocket_idle_closes_total counter\nheadroom_websocket_idle_closes_total %llu\n"
        "# HELP headroom_active_connections Open client connections.\n"
        "# TYPE headroom_active_connections gauge\nheadroom_active_connections %u\n"
        "# HELP headroom_upstream_latency_seconds Time waiting on the upstream for the whole answer.\n"
        "# TYPE headroom_upstream_latency_seconds histogram\n",
        M.bytes_in, M.bytes_out, M.streams, M.input_tokens, M.output_tokens, M.tokens_before,
        M.tokens_after, M.cache_read, M.cache_write, M.retrievals, M.cache_busts, M.ws_idle_closes, M.connections);
    unsigned long long cum = 0;
    for (size_t b = 0; b < N_BUCKETS; b++) {
        cum += M.hist[b];
        hr_buf_printf(o, "headroom_upstream_latency_seconds_bucket{le=\"%g\"} %llu\n", BUCKETS_S[b], cum);
    }
    cum += M.hist[N_BUCKETS];
    hr_buf_printf(o, "headroom_upstream_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
                     "headroom_upstream_latency_seconds_sum %.6f\n"
                     "headroom_upstream_latency_seconds_count %llu\n",
                  cum, M.hist_sum, M.hist_count);
    const hr_budget *bud = hr_budget_process();
    hr_buf_printf(o,
        "# HELP headroom_inflight_bytes Request bytes held now (bodies, decoded bodies, answers).\n"
        "# TYPE headroom_inflight_bytes gauge\nheadroom_inflight_bytes %zu\n"
        "# HELP headroom_inflight_limit_bytes --max-inflight-body-mb in bytes (0 = unlimited).\n"
        "# TYPE headroom_inflight_limit_bytes gauge\nheadroom_inflight_limit_bytes %zu\n"
        "# HELP headroom_inflight_refused_total Reservations refused by the in-flight budget.\n"
        "# TYPE headroom_inflight_refused_total counter\nheadroom_inflight_refused_total %llu\n",
        hr_budget_used(bud), bud->limit, hr_budget_refused(bud));
    hr_backpressure_prometheus(o);
    pthread_mutex_unlock(&M.mu);
    return hr_buf_failed(o) ? -1 : 0;
}

static int put_percentiles(hr_buf *o, const char *name, const double *ring, size_t n)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return hr_buf_fail(o);
    memcpy(v, ring, n * sizeof *v);
    double p50 = hr_percentile(v, n, 50), p90 = hr_percentile(v, n, 90), p99 = hr_percentile(v, n, 99);
    free(v);
    return hr_buf_printf(o, "\"%s\":{\"samples\":%zu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f}", name, n,
                         p50, p90, p99);
}

/* Where forwarded requests' time went, as sums that add up (total = upstream + client send
 * + proxy overhead, each request's three parts computed so), and the original proxy's
 * "latency" / "overhead" objects (average, min, max in ms). */
static int put_breakdown_locked(hr_buf *o)
{
    HR_ASSERT_HELD(&M.mu);
    double n = M.timed ? (double)M.timed : 1;
    return hr_buf_printf(o,
        "\"time_breakdown_ms\":{\"requests\":%llu,\"total\":%.3f,\"upstream\":%.3f,"
        "\"client_send\":%.3f,\"proxy_overhead\":%.3f},"
        "\"latency\":{\"average_ms\":%.3f,\"total_requests\":%llu},"
        "\"overhead\":{\"average_ms\":%.3f,\"min_ms\":%.3f,\"max_ms\":%.3f}",
        M.timed, M.sum_total, M.sum_upstream, M.sum_send, M.sum_ovh, M.sum_total / n, M.timed,
        M.sum_ovh / n, M.min_ovh, M.max_ovh);
}

/* The original proxy's requests.by_provider / by_model maps: {"name": count, ...}. */
static int put_request_maps_locked(hr_buf *o)
{
    HR_ASSERT_HELD(&M.mu);
    hr_buf_puts(o, ",\"by_provider\":{");
    const char *names[MAX_SERIES];
    unsigned long long counts[MAX_SERIES];
    size_t n = 0;
    for (size_t i = 0; i < M.n_series; i++) {
        if (!strcmp(M.s[i].provider, "local"))
            continue;
        size_t k = 0;
        while (k < n && strcmp(names[k], M.s[i].provider) != 0)
            k++;
        if (k == n) {
            names[n] = M.s[i].provider;
            counts[n++] = 0;
        }
        counts[k] += M.s[i].count;
    }
    for (size_t k = 0; k < n; k++)
        hr_buf_printf(o, "%s\"%s\":%llu", k ? "," : "", names[k], counts[k]);
    hr_buf_puts(o, "},\"by_model\":{");
    for (size_t i = 0; i < M.n_models; i++) {
        hr_buf_puts(o, i ? "," : "");
        hr_json_write_string(o, M.models[i].name, strlen(M.models[i].name));
        hr_buf_printf(o, ":%llu", M.models[i].count);
    }
    hr_buf_putc(o, '}');
    return hr_buf_failed(o) ? -1 : 0;
}

int hr_metrics_stats_json(hr_buf *o)
{
    pthread_mutex_lock(&M.mu);
    long long saved = M.tokens_before - M.tokens_after;
    hr_buf_printf(o,
        "{\"uptime_s\":%.3f,\"requests\":{\"total\":%llu,\"streams\":%llu,\"bypassed\":%llu,"
        "\"failed_open\":%llu,\"errors_5xx\":%llu,\"cached\":0,\"rate_limited\":%llu,"
        "\"failed\":%llu",
        hr_metrics_uptime_s(), M.requests, M.streams, M.bypassed, M.failed_open, M.errors,
        M.rate_limited, M.errors);
    put_request_maps_locked(o);
    hr_buf_printf(o, "},\"bytes\":{\"in\":%llu,\"out\":%llu},"
        "\"tokens\":{\"input\":%lld,\"output\":%lld,\"cache_read\":%lld,\"cache_write\":%lld,"
        "\"before_compression\":%lld,\"after_compression\":%lld,\"saved\":%lld,"
        "\"total_before_compression\":%lld,\"savings_percent\":%.2f},"
        "\"active_connections\":%u,\"latency_ms\":{",
        M.bytes_in, M.bytes_out, M.input_tokens, M.output_tokens,
        M.cache_read, M.cache_write, M.tokens_before, M.tokens_after, saved, M.tokens_before,
        M.tokens_before > 0 ? 100.0 * (double)saved / (double)M.tokens_before : 0.0, M.connections);
    put_percentiles(o, "total", M.lat, M.n_lat);
    hr_buf_putc(o, ',');
    put_percentiles(o, "upstream", M.ups, M.n_ups);
    hr_buf_putc(o, ',');
    put_percentiles(o, "proxy_overhead", M.ovh, M.n_ovh);
    hr_buf_puts(o, "},");
    put_breakdown_locked(o);
    hr_buf_puts(o, ",\"by_route\":[");
    for (size_t i = 0; i < M.n_series; i++)
        hr_buf_printf(o, "%s{\"route\":\"%s\",\"provider\":\"%s\",\"status\":%d,\"count\":%llu}",
                      i ? "," : "", M.s[i].route, M.s[i].provider, M.s[i].status, M.s[i].count);
    hr_buf_puts(o, "]}");
    pthread_mutex_unlock(&M.mu);
    return hr_buf_failed(o) ? -1 : 0;
}
