/* health.c: the local status routes of routes.def: /livez, /readyz, /health, /metrics,
 * /stats and /debug/memory. Each reads the proxy state, config and metrics singletons;
 * none changes anything. */
#include "compress/compressors.h"
#include "compress/embed_relevance.h"
#include "compress/image_signals.h"
#include "compress/kompress.h"
#include "compress/pipeline_instance.h"
#include "json/json.h"
#include "ml/session.h"
#include "proxy/backpressure.h"
#include "proxy/bedrock.h"
#include "proxy/config.h"
#include "proxy/low_memory.h"
#include "proxy/memory_report.h"
#include "proxy/metrics.h"
#include "proxy/proxy.h"
#include "proxy/routes.h"
#include "proxy/savings.h"
#include "proxy/upstream_base.h"
#include "sys/budget.h"
#include "sys/log.h"
#include "sys/mem.h"

#include <string.h>

int hr_route_livez(const hr_request *req, hr_response *res)
{
    (void)req;
    static const char body[] = "{\"status\":\"alive\"}";
    return hr_response_json(res, 200, body, sizeof body - 1);
}

int hr_route_readyz(const hr_request *req, hr_response *res)
{
    (void)req;
    if (hr_proxy_ready()) {
        static const char ok[] = "{\"status\":\"ready\"}";
        return hr_response_json(res, 200, ok, sizeof ok - 1);
    }
    const char *why = hr_proxy_draining() ? "{\"status\":\"draining\"}" : "{\"status\":\"starting\"}";
    return hr_response_json(res, 503, why, strlen(why));
}

static int put_kv_string(hr_buf *b, const char *key, const char *value, int comma)
{
    int rc = hr_buf_printf(b, "%s\"%s\":", comma ? "," : "", key);
    return rc | hr_json_write_string(b, value, strlen(value));
}

/* One ML component's health member ("kompress", "embedder"): whether a model is set, the
 * one-line status, and its session's state; replaces the closing '}' of the health object. */
static int append_ml_health(hr_buf *b, const char *key, const char *note, const char *model,
                            hr_ml_session *s)
{
    b->len--; /* the object's '}' */
    int rc = hr_buf_printf(b, ",\"%s\":{\"enabled\":%s", key, model ? "true" : "false");
    rc |= put_kv_string(b, "status", note, 1);
    if (model) {
        hr_ml_session_status st;
        hr_ml_session_status_get(s, &st);
        rc |= put_kv_string(b, "model", model, 1);
        rc |= put_kv_string(b, "state", hr_ml_state_name(st.state), 1);
    }
    return rc | hr_buf_puts(b, "}}");
}

/* Whether prose goes through Kompress (and why not); whether relevance blends embeddings
 * (the hybrid scorer) or stays lexical. */
static int append_ml_components_health(hr_buf *b)
{
    hr_pipeline *p = hr_pipeline_process();
    hr_kompress *k = hr_pipeline_kompress(p);
    hr_embed_rel *e = hr_pipeline_embedder(p);
    return append_ml_health(b, "kompress", hr_pipeline_kompress_note(p), hr_kompress_model_path(k),
                            hr_kompress_session(k)) |
           append_ml_health(b, "embedder", hr_pipeline_embedder_note(p), hr_embed_rel_model_path(e),
                            hr_embed_rel_session(e));
}

/* The memory budget and the low-memory profile's values (or false): an operator sees at
 * once which it runs. */
static int append_memory_health(hr_buf *b, const hr_proxy_config *c)
{
    b->len--; /* the object's '}' */
    int rc = hr_buf_printf(b, ",\"memory_budget_mb\":%ld,\"low_memory\":", c->memory_budget_mb);
    rc |= c->low_memory ? hr_low_memory_json(b) : hr_buf_puts(b, "false");
    return rc | hr_buf_putc(b, '}');
}

/* An upstream URL as any client may see it: credentials in it masked. */
static int put_kv_url(hr_buf *b, const char *key, const char *url, int comma)
{
    if (!*url) /* not configured */
        return put_kv_string(b, key, "", comma);
    hr_buf shown = HR_BUF_INIT;
    int rc = hr_log_redact(url, &shown);
    rc |= put_kv_string(b, key, rc == 0 && shown.data ? shown.data : "[redacted]", comma);
    hr_buf_free(&shown);
    return rc;
}

typedef struct upstream_list {
    hr_buf *b;
    int listed;
} upstream_list;

static int put_upstream(void *user, const char *provider, const char *url)
{
    upstream_list *l = user;
    return put_kv_url(l->b, provider, url, l->listed++ > 0) ? -1 : 0;
}

/* Each provider's upstream once (upstream_base.h). */
static int put_upstreams(hr_buf *b)
{
    upstream_list l = {b, 0};
    return hr_upstream_each(put_upstream, &l);
}

int hr_route_health(const hr_request *req, hr_response *res)
{
    (void)req;
    const hr_proxy_config *c = hr_proxy_config_current();
    hr_buf b = HR_BUF_INIT;
    int rc = hr_buf_printf(&b, "{\"status\":\"%s\",\"version\":\"%s\",\"uptime_s\":%.3f,"
                               "\"in_flight\":%d,\"upstreams\":{",
                           hr_proxy_ready() ? "ok" : hr_proxy_draining() ? "draining" : "starting",
                           HEADROOM_VERSION, hr_metrics_uptime_s(), hr_proxy_in_flight());
    rc |= put_upstreams(&b); /* vertex "": from the request's region; azure "": none */
    /* whether Bedrock is signed or passed through, never where the keys came from */
    rc |= hr_buf_printf(&b, "},\"bedrock\":{\"mode\":\"%s\"",
                        hr_bedrock_can_sign() ? "signed" : "passthrough");
    rc |= put_kv_string(&b, "region", hr_bedrock_region(), 1);
    rc |= hr_buf_puts(&b, "},\"config\":{");
    rc |= put_kv_string(&b, "host", c->host, 0);
    rc |= hr_buf_printf(&b, ",\"port\":%d,\"max_body_bytes\":%zu,\"log_format\":\"%s\","
                            "\"log_messages\":%s,\"graceful_shutdown_timeout_s\":%d,"
                            "\"upstream_timeout_s\":%.3f,\"connect_timeout_s\":%.3f,"
                            "\"retry_attempts\":%d,\"max_connections\":%u,\"max_active\":%u,"
                            "\"limit_concurrency\":%u,\"mode\":\"%s\"}}",
                        hr_proxy_port(), c->max_body_bytes, c->log_format == HR_LOG_JSON ? "json" : "text",
                        c->log_messages ? "true" : "false", c->graceful_shutdown_timeout_s,
                        c->upstream_timeout_ms / 1000.0, c->connect_timeout_ms / 1000.0,
                        c->retry_attempts, hr_proxy_max_connections(), hr_proxy_max_active(),
                        c->max_connections, hr_compress_mode_name(c->pipeline.mode));
    rc |= append_ml_components_health(&b);
    rc |= append_memory_health(&b, c);
    if (rc == 0)
        rc = hr_response_json(res, 200, b.data, b.len);
    hr_buf_free(&b);
    return rc;
}

/* 1 if name is a /metrics series from the start (a listed row of the compressor table). */
static int listed_compressor(const char *name)
{
    const hr_compressor *r = hr_compressor_by_name(name);
    return r && r->listed;
}

/* Savings per compressor from the compression pipeline's counters: the listed rows of the
 * compressor table always (0 before their first use, so dashboards see every series), then
 * any other name the pipeline counted. */
static int append_compressor_metrics(hr_buf *b)
{
    const char *known[HR_COMPRESSOR_COUNT];
    size_t n_known = 0;
    for (int id = 0; id < HR_COMPRESSOR_COUNT; id++)
        if (hr_compressor_row((hr_compressor_id)id)->listed)
            known[n_known++] = hr_compressor_row((hr_compressor_id)id)->name;
    hr_pipeline *p = hr_pipeline_process();
    hr_pipeline_stats s;
    memset(&s, 0, sizeof s);
    if (p)
        hr_pipeline_stats_get(p, &s);
    int rc = hr_buf_puts(b, "# HELP headroom_compressor_spans_total Tool outputs each compressor shrank.\n"
                            "# TYPE headroom_compressor_spans_total counter\n"
                            "# HELP headroom_compressor_tokens_total Tokens of those outputs before and after, and saved.\n"
                            "# TYPE headroom_compressor_tokens_total counter\n");
    for (size_t i = 0; rc == 0 && i < n_known + s.n_compressors; i++) {
        const char *name = i < n_known ? known[i] : s.compressors[i - n_known].name;
        size_t k = 0;
        while (k < s.n_compressors && strcmp(s.compressors[k].name, name) != 0)
            k++;
        if (i >= n_known && listed_compressor(name))
            continue; /* already written among the built-in ones */
        unsigned long long spans = k < s.n_compressors ? s.compressors[k].spans : 0;
        long long before = k < s.n_compressors ? s.compressors[k].tokens_before : 0;
        long long after = k < s.n_compressors ? s.compressors[k].tokens_after : 0;
        rc = hr_buf_printf(b, "headroom_compressor_spans_total{compressor=\"%s\"} %llu\n"
                              "headroom_compressor_tokens_total{compressor=\"%s\",kind=\"before\"} %lld\n"
                              "headroom_compressor_tokens_total{compressor=\"%s\",kind=\"after\"} %lld\n"
                              "headroom_compressor_tokens_total{compressor=\"%s\",kind=\"saved\"} %lld\n",
                           name, spans, name, before, name, after, name, before - after);
    }
    /* What the pipeline decided per tool output, and every way it failed open: the numbers
     * an operator alerts on (a store that cannot write means originals are forwarded whole). */
    if (rc == 0)
        rc = hr_buf_printf(
            b,
            "# HELP headroom_compression_spans_total Tool outputs the pipeline looked at, by outcome.\n"
            "# TYPE headroom_compression_spans_total counter\n"
            "headroom_compression_spans_total{outcome=\"seen\"} %llu\n"
            "headroom_compression_spans_total{outcome=\"compressed\"} %llu\n"
            "headroom_compression_spans_total{outcome=\"replayed\"} %llu\n"
            "# HELP headroom_compression_failed_open_total Requests forwarded with originals after an error.\n"
            "# TYPE headroom_compression_failed_open_total counter\n"
            "headroom_compression_failed_open_total %llu\n"
            "# HELP headroom_compression_deadline_exceeded_total Compressions abandoned at the deadline.\n"
            "# TYPE headroom_compression_deadline_exceeded_total counter\n"
            "headroom_compression_deadline_exceeded_total %llu\n"
            "# HELP headroom_ccr_store_failures_total Originals the store could not keep (forwarded whole).\n"
            "# TYPE headroom_ccr_store_failures_total counter\n"
            "headroom_ccr_store_failures_total %llu\n",
            (unsigned long long)s.spans_seen, (unsigned long long)s.spans_compressed,
            (unsigned long long)s.spans_replayed, (unsigned long long)s.failed_open,
            (unsigned long long)s.deadline_exceeded, (unsigned long long)s.store_failures);
    return rc;
}

/* Kompress per section, by outcome; zeros without a model so the series always exist. */
static int append_kompress_metrics(hr_buf *b)
{
    hr_kompress_stats s;
    memset(&s, 0, sizeof s);
    hr_kompress *k = hr_pipeline_kompress(hr_pipeline_process());
    if (k)
        hr_kompress_stats_get(k, &s);
    return hr_buf_printf(
        b,
        "# HELP headroom_kompress_enabled 1 when a Kompress model is configured.\n"
        "# TYPE headroom_kompress_enabled gauge\n"
        "headroom_kompress_enabled %d\n"
        "# HELP headroom_kompress_sections_total Prose sections sent to Kompress, by outcome.\n"
        "# TYPE headroom_kompress_sections_total counter\n"
        "headroom_kompress_sections_total{outcome=\"compressed\"} %llu\n"
        "headroom_kompress_sections_total{outcome=\"passed\"} %llu\n"
        "headroom_kompress_sections_total{outcome=\"error\"} %llu\n"
        "headroom_kompress_sections_total{outcome=\"busy\"} %llu\n"
        "headroom_kompress_sections_total{outcome=\"deadline\"} %llu\n"
        "# HELP headroom_kompress_failed_open_total Sections forwarded without Kompress after an error, busy session or deadline.\n"
        "# TYPE headroom_kompress_failed_open_total counter\n"
        "headroom_kompress_failed_open_total %llu\n"
        "# HELP headroom_kompress_words_total Words of compressed sections, in and kept.\n"
        "# TYPE headroom_kompress_words_total counter\n"
        "headroom_kompress_words_total{kind=\"in\"} %llu\n"
        "headroom_kompress_words_total{kind=\"kept\"} %llu\n",
        k != NULL, (unsigned long long)s.compressed, (unsigned long long)s.passed,
        (unsigned long long)s.errors, (unsigned long long)s.busy, (unsigned long long)s.deadline,
        (unsigned long long)s.failed_open, (unsigned long long)s.words_in,
        (unsigned long long)s.words_kept);
}

/* The hybrid scorer's embedder: rankings blended, texts embedded, rankings left lexical by
 * reason; zeros without a model so the series always exist. */
static int append_embedder_metrics(hr_buf *b)
{
    hr_embed_rel_stats s;
    hr_embed_rel *e = hr_pipeline_embedder(hr_pipeline_process());
    hr_embed_rel_stats_get(e, &s);
    return hr_buf_printf(
        b,
        "# HELP headroom_embedder_enabled 1 when an embedding model is configured (hybrid relevance).\n"
        "# TYPE headroom_embedder_enabled gauge\n"
        "headroom_embedder_enabled %d\n"
        "# HELP headroom_embedder_rankings_total Rankings that blended embedding similarity with the lexical score.\n"
        "# TYPE headroom_embedder_rankings_total counter\n"
        "headroom_embedder_rankings_total %llu\n"
        "# HELP headroom_embedder_texts_total Texts embedded (questions and documents).\n"
        "# TYPE headroom_embedder_texts_total counter\n"
        "headroom_embedder_texts_total %llu\n"
        "# HELP headroom_embedder_failed_open_total Rankings left lexical, by reason.\n"
        "# TYPE headroom_embedder_failed_open_total counter\n"
        "headroom_embedder_failed_open_total{reason=\"busy\"} %llu\n"
        "headroom_embedder_failed_open_total{reason=\"paused\"} %llu\n"
        "headroom_embedder_failed_open_total{reason=\"deadline\"} %llu\n"
        "headroom_embedder_failed_open_total{reason=\"error\"} %llu\n",
        e != NULL, (unsigned long long)s.rankings, (unsigned long long)s.texts,
        (unsigned long long)s.busy, (unsigned long long)s.paused, (unsigned long long)s.deadline,
        (unsigned long long)s.errors);
}

/* The image signals (compress/image_signals.h): images scored, left unscored, and the
 * confidence adjustments they made. */
static int append_image_signal_metrics(hr_buf *b)
{
    hr_image_signal_stats s;
    hr_image_signal_stats_get(&s);
    return hr_buf_printf(
        b,
        "# HELP headroom_image_signals_total Images whose SigLIP signals were computed, or left without (fail open).\n"
        "# TYPE headroom_image_signals_total counter\n"
        "headroom_image_signals_total{outcome=\"analysed\"} %llu\n"
        "headroom_image_signals_total{outcome=\"failed_open\"} %llu\n"
        "# HELP headroom_image_confidence_adjustments_total Router confidence adjustments by the image signals.\n"
        "# TYPE headroom_image_confidence_adjustments_total counter\n"
        "headroom_image_confidence_adjustments_total{adjust=\"lowered\"} %llu\n"
        "headroom_image_confidence_adjustments_total{adjust=\"raised\"} %llu\n"
        "headroom_image_confidence_adjustments_total{adjust=\"noted\"} %llu\n",
        (unsigned long long)s.analysed, (unsigned long long)s.failed_open,
        (unsigned long long)s.lowered, (unsigned long long)s.raised, (unsigned long long)s.noted);
}

/* The connection guard's counters (http/guard.h): slow or hostile clients. */
static int append_client_guard_metrics(hr_buf *b)
{
    unsigned long cut, refused;
    hr_proxy_client_guard_counts(&cut, &refused);
    return hr_buf_printf(b,
        "# HELP headroom_client_deadline_cuts_total Client connections cut (408) at the header or body deadline.\n"
        "# TYPE headroom_client_deadline_cuts_total counter\nheadroom_client_deadline_cuts_total %lu\n"
        "# HELP headroom_connections_refused_total Client connections refused at accept: over the per-address limit (429) or the connection limit (503); on the events model also requests past the active-request limit (503 server_busy).\n"
        "# TYPE headroom_connections_refused_total counter\nheadroom_connections_refused_total %lu\n",
        cut, refused);
}

int hr_route_metrics(const hr_request *req, hr_response *res)
{
    (void)req;
    hr_buf b = HR_BUF_INIT;
    hr_metrics_set_connections(hr_proxy_connections());
    int rc = hr_metrics_prometheus(&b);
    if (rc == 0)
        rc = append_compressor_metrics(&b);
    if (rc == 0)
        rc = append_kompress_metrics(&b);
    if (rc == 0)
        rc = append_embedder_metrics(&b);
    if (rc == 0)
        rc = append_image_signal_metrics(&b);
    if (rc == 0)
        rc = append_client_guard_metrics(&b);
    if (rc == 0)
        rc = hr_response_body(res, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    hr_buf_free(&b);
    return rc;
}

int hr_route_stats(const hr_request *req, hr_response *res)
{
    (void)req;
    hr_buf b = HR_BUF_INIT;
    hr_metrics_set_connections(hr_proxy_connections());
    int rc = hr_metrics_stats_json(&b);
    /* the compression pipeline's own counters, as one more member of the object */
    if (rc == 0 && b.len && b.data[b.len - 1] == '}') {
        b.len--;
        rc |= hr_buf_puts(&b, ",\"compression\":");
        rc |= hr_pipeline_process_stats_json(&b);
        hr_kompress *k = hr_pipeline_kompress(hr_pipeline_process());
        rc |= hr_buf_puts(&b, ",\"kompress\":");
        rc |= k ? hr_kompress_stats_json(k, &b) : hr_buf_puts(&b, "null");
        hr_embed_rel *e = hr_pipeline_embedder(hr_pipeline_process());
        rc |= hr_buf_puts(&b, ",\"embedder\":");
        rc |= e ? hr_embed_rel_stats_json(e, &b) : hr_buf_puts(&b, "null");
        rc |= hr_savings_json(&b, 1); /* persistent savings, dollars, prompt cache, memory */
        rc |= hr_buf_putc(&b, '}');
    }
    if (rc == 0)
        rc = hr_response_json(res, 200, b.data, b.len);
    hr_buf_free(&b);
    return rc;
}

int hr_route_debug_memory(const hr_request *req, hr_response *res)
{
    (void)req;
    hr_mem_snapshot m;
    if (hr_mem_read(0, &m) != 0)
        return hr_response_error(res, req->api, 500, "api_error", "no_proc",
                                 "/proc/self/status is not readable");
    hr_buf b = HR_BUF_INIT;
    int rc = hr_buf_printf(&b, "{\"vm_rss\":%zu,\"rss_anon\":%zu,\"rss_file\":%zu,\"rss_shmem\":%zu,"
                               "\"vm_hwm\":%zu,\"heap_in_use\":%zu,\"heap_free\":%zu,\"threads\":%d,",
                           m.vm_rss, m.rss_anon, m.rss_file, m.rss_shmem, m.vm_hwm, m.heap_in_use,
                           m.heap_free, m.threads);
    const hr_budget *bud = hr_budget_process();
    if (rc == 0)
        rc = hr_buf_printf(&b, "\"inflight\":{\"used\":%zu,\"peak\":%zu,\"limit\":%zu,"
                               "\"refused\":%llu},\"backpressure\":",
                           hr_budget_used(bud), hr_budget_peak(bud), bud->limit,
                           hr_budget_refused(bud));
    if (rc == 0)
        rc = hr_backpressure_json(&b);
    if (rc == 0)
        rc = hr_buf_puts(&b, ",\"accounting\":");
    if (rc == 0)
        rc = hr_memory_report_json(&b);
    if (rc == 0)
        rc = hr_buf_puts(&b, ",\"ml\":");
    /* ML sessions own most of what can grow: their state, mapped and scratch bytes. */
    if (rc == 0)
        rc = hr_ml_runtime_json(&b);
    if (rc == 0)
        rc = hr_buf_putc(&b, '}');
    if (rc == 0)
        rc = hr_response_json(res, 200, b.data, b.len);
    hr_buf_free(&b);
    return rc;
}
