/* pipeline_instance.h: a configured pipeline (settings, session cache, where originals go,
 * savings counters) and the process's one instance behind hr_pipeline_run (pipeline.h).
 *
 * The process instance is a documented singleton: hr_pipeline_configure sets it up from
 * the proxy's flags before serving; if nobody configured it, the first hr_pipeline_run
 * builds it from defaults + environment (HEADROOM_MODE, ...; policy.h). Originals go to
 * the CCR process store (ccr/store.h) unless an instance is given its own store.
 * Rule: nothing is omitted without a stored original. When no store is available the
 * span is forwarded unchanged (and counted as failed open).
 *
 * Ownership: hr_pipeline_new returns an instance the caller frees with hr_pipeline_free;
 * a given store is borrowed and must outlive the instance. The instance opens Kompress from
 * the config's kompress_* settings, unless c->opts.kompress is already set (a config copied
 * from a running instance): that one is borrowed and must outlive the new instance. Thread-safe: any number of
 * requests may run on one instance at once.
 */
#ifndef HR_COMPRESS_PIPELINE_INSTANCE_H
#define HR_COMPRESS_PIPELINE_INSTANCE_H

#include "ccr/store.h"
#include "compress/compressors.h"
#include "compress/pipeline.h"
#include "compress/policy.h"
#include "sys/buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hr_pipeline hr_pipeline;

typedef enum {
    HR_PIPELINE_STORE_PROCESS = 0, /* hr_ccr_process_store() */
    HR_PIPELINE_STORE_GIVEN,       /* the store passed in; NULL = none (nothing omitted) */
} hr_pipeline_store_choice;

hr_pipeline *hr_pipeline_new(const hr_pipeline_config *c, hr_pipeline_store_choice choice,
                             hr_ccr_store *store);
void hr_pipeline_free(hr_pipeline *p);

/* The settings the instance runs with (copied out). */
void hr_pipeline_config_of(const hr_pipeline *p, hr_pipeline_config *out);

/* The instance's Kompress (compress/kompress.h), NULL without a model; and one line on
 * its state for logs and /health ("model X (loads on first use)", "no model ..."). */
struct hr_kompress *hr_pipeline_kompress(hr_pipeline *p);
const char *hr_pipeline_kompress_note(const hr_pipeline *p);

/* The instance's embedder for hybrid relevance (compress/embed_relevance.h), NULL without
 * a model or for any instance but the process's; and its one-line state. */
struct hr_embed_rel *hr_pipeline_embedder(hr_pipeline *p);
const char *hr_pipeline_embedder_note(const hr_pipeline *p);

/* hr_pipeline_run on this instance. */
int hr_pipeline_run_on(hr_pipeline *p, const hr_pipeline_input *in, hr_pipeline_result *out);

/* One raw tool output outside any request (CLI, MCP): the same routing, ratio rule and
 * store rule as a span. model picks the token counter (NULL: estimate); query may be NULL.
 * res->compressed 0 means forward the original. 0 ok, -1 internal error (forward too). */
int hr_pipeline_compress_text(hr_pipeline *p, const char *text, size_t len, const char *model,
                              const char *query, size_t query_len, const char *tenant,
                              hr_compress_result *res, long long *tokens_before,
                              long long *tokens_after);

/* The process instance (see above). Configure before serving; 0 ok, -1 out of memory. */
int hr_pipeline_configure(const hr_pipeline_config *c);
hr_pipeline *hr_pipeline_process(void);
/* Bytes of compressed text the session cache holds now (memory accounting); 0 for NULL. */
size_t hr_pipeline_cache_bytes(hr_pipeline *p);
void hr_pipeline_process_close(void); /* at shutdown, after the last request */

/* Room for every row of the compressor table (compressors.h): no name is ever dropped. */
#define HR_PIPELINE_MAX_COMPRESSORS HR_COMPRESSOR_COUNT

typedef struct hr_pipeline_stats {
    uint64_t requests, requests_modified;
    uint64_t spans_seen, spans_compressed, spans_replayed;
    uint64_t failed_open, deadline_exceeded, store_failures;
    long long tokens_before, tokens_after; /* over all candidate spans */
    size_t n_compressors;
    struct {
        const char *name;                  /* static */
        uint64_t spans;
        long long tokens_before, tokens_after; /* of the spans it compressed */
    } compressors[HR_PIPELINE_MAX_COMPRESSORS];
} hr_pipeline_stats;

void hr_pipeline_stats_get(hr_pipeline *p, hr_pipeline_stats *out);
/* The process instance's stats as JSON (for /stats); {} before the first request. */
int hr_pipeline_process_stats_json(hr_buf *out);
/* One JSON object: {"requests":..,"tokens_saved":..,"compressors":{"smart_crusher":{..}}}. */
int hr_pipeline_stats_json(const hr_pipeline_stats *s, hr_buf *out);

#endif
