/* metrics.h: the proxy's counters, histograms and recent-latency windows, read by /metrics
 * (Prometheus text) and /stats (JSON). A documented singleton guarded by one mutex: every
 * finished request adds one hr_request_record; readers take a consistent snapshot.
 * Memory is fixed: label combinations are capped (MAX_SERIES) and percentiles come from a
 * ring of the most recent samples.
 */
#ifndef HR_PROXY_METRICS_H
#define HR_PROXY_METRICS_H

#include "sys/buf.h"

#include <stddef.h>

typedef struct hr_request_record {
    const char *route;       /* static label, e.g. "chat_completions", "passthrough" */
    const char *provider;    /* "openai" / "anthropic" / "local" */
    int status;
    int stream;              /* relayed as SSE */
    size_t bytes_in;         /* request body bytes received from the client */
    size_t bytes_out;        /* response body bytes sent to the client */
    double latency_ms;       /* first byte in to last byte out */
    double upstream_ms;      /* waiting on the upstream, whole answer (every round, body and
                                stream included); < 0 = no upstream */
    double client_send_ms;   /* handing the answer to the client after the handler returned,
                                minus upstream waits inside it; < 0 n/a */
    double overhead_ms;      /* the proxy's own time: latency - upstream - client send; < 0 n/a */
    int attempts;
    long long input_tokens, output_tokens;  /* from the provider's usage, when seen */
    long long tokens_before, tokens_after;  /* from the compression pipeline */
    const char *token_counter; /* static name of the counter behind them, or NULL */
    int bypass;
    int failed_open;
    /* for the persistent savings (stats_store.h) and the prompt-cache view: */
    const char *model;       /* the request's "model", "" when none (borrowed) */
    const char *compressors; /* comma-separated compressors applied, "" when none */
    const char *tenant;      /* hashed credential (16 hex) */
    long long cache_read_tokens, cache_creation_tokens; /* provider usage, 0 when not seen */
    int retrievals;          /* headroom_retrieve rounds the proxy answered */
    int cache_bust;          /* our compression changed a prefix this session sent before */
} hr_request_record;

void hr_metrics_init(void);          /* sets the start time; idempotent */
void hr_metrics_record(const hr_request_record *r);
void hr_metrics_set_connections(unsigned n); /* gauge, refreshed by the server */
void hr_metrics_count_ws_idle_close(void); /* a WebSocket session closed for idling */
double hr_metrics_uptime_s(void);

int hr_metrics_prometheus(hr_buf *out);
int hr_metrics_stats_json(hr_buf *out);

/* Percentile (0..100) of n samples (sorted in place). 0 when n == 0. */
double hr_percentile(double *v, size_t n, double p);

#endif
