/* embed_relevance.h: the embedder on the request path. When an embedding model is
 * configured (--embed-model / HEADROOM_EMBED_MODEL), this opens it as an ML session through
 * the session helper (ml/session.h: lazy load, idle unload, the thread cap, the memory
 * budget's ML stage) and installs it as the semantic half of sys/hybrid.h, so SmartCrusher,
 * the search compressor and CCR query retrieval rank by the original's hybrid score.
 *
 * Bounds per ranking: the question plus at most max_items documents (the best by lexical
 * score) are embedded, each truncated to the session's max_seq tokens, within deadline_ms
 * measured from the ranking's start; past it, or when the session is busy, unloaded under
 * memory pressure (hr_ml_set_paused) or failing, the ranking stays lexical (fail open) and
 * the reason is counted.
 *
 * Ownership: hr_embed_rel_open copies the config; hr_embed_rel_close uninstalls the scorer
 * if this instance installed it, then closes the session. Thread-safe.
 */
#ifndef HR_COMPRESS_EMBED_RELEVANCE_H
#define HR_COMPRESS_EMBED_RELEVANCE_H

#include "ml/session.h"
#include "sys/buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hr_embed_rel_config {
    const char *model_path;
    size_t max_items;   /* documents embedded per ranking (default 32) */
    long deadline_ms;   /* per ranking (default 300) */
    int max_seq;        /* tokens per text; 0 = 256 (the original's), capped by the model */
} hr_embed_rel_config;

typedef struct hr_embed_rel hr_embed_rel;

/* Opens the (unloaded) session. NULL with err filled when the config is bad. */
hr_embed_rel *hr_embed_rel_open(const hr_embed_rel_config *c, hr_ml_error *err);
void hr_embed_rel_close(hr_embed_rel *e);

/* Makes e the process's hybrid scorer (sys/hybrid.h). */
void hr_embed_rel_install(hr_embed_rel *e);

hr_ml_session *hr_embed_rel_session(hr_embed_rel *e);
const char *hr_embed_rel_model_path(const hr_embed_rel *e);

typedef struct hr_embed_rel_stats {
    uint64_t rankings;        /* rankings blended */
    uint64_t texts;           /* texts embedded (questions and documents) */
    uint64_t busy, paused, deadline, errors; /* rankings left lexical, by reason */
} hr_embed_rel_stats;

void hr_embed_rel_stats_get(hr_embed_rel *e, hr_embed_rel_stats *out);
/* {"rankings":N,"texts":N,"failed_open":{"busy":N,...}} appended to out; 0 or -1. */
int hr_embed_rel_stats_json(hr_embed_rel *e, hr_buf *out);

#endif
