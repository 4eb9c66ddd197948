/* session_cache.h: what the pipeline decided for each tool output, per session, so later
 * requests replay the same bytes (token mode) and cache mode knows where the frozen prefix
 * ends.
 *
 * A session is named by a key (x-headroom-session-id, or the content hash of model +
 * system prompt). Per session: a bounded LRU of entries keyed by the content hash of a
 * tool output, each holding the decision (compressed text, or "left as is") and its token
 * counts, and when its original was last put in the CCR store; plus the message count of
 * the session's previous request. A session belongs to one tenant (the caller puts the
 * tenant in the key), so that put time is the tenant's. Bounds: sessions
 * (LRU), entries per session and bytes per session (LRU within the session), and bytes
 * over all sessions (least recently used sessions go first), so the process's memory for
 * replay has one fixed ceiling.
 *
 * Thread safety: one mutex per cache; every call copies in or out under it, so callers
 * never hold pointers into the cache. Ownership: hr_session_cache_new allocates, the caller
 * frees with hr_session_cache_free; out->text in get is appended to the caller's buffer.
 */
#ifndef HR_COMPRESS_SESSION_CACHE_H
#define HR_COMPRESS_SESSION_CACHE_H

#include "sys/buf.h"
#include "sys/hash.h"

#include <stddef.h>
#include <stdint.h>

#define HR_SESSION_KEY_MAX 128

typedef struct hr_session_cache hr_session_cache;

typedef struct hr_span_decision {
    int compressed;            /* 1: text replaces the original; 0: original stays */
    long long tokens_before, tokens_after;
    const char *compressor;    /* static name, or NULL */
    unsigned long long units_total, units_kept;
} hr_span_decision;

hr_session_cache *hr_session_cache_new(size_t max_sessions, size_t max_entries,
                                       size_t max_bytes, size_t max_total_bytes);
void hr_session_cache_free(hr_session_cache *c);

/* 1 found (dec filled, compressed text appended to text, *stored_ms set to the time the
 * original was last stored; stored_ms may be NULL), 0 absent, -1 out of memory. */
int hr_session_cache_get(hr_session_cache *c, const char *session, const char *hash,
                         hr_span_decision *dec, hr_buf *text, long long *stored_ms);
/* Records (or refreshes) the decision for hash; text/len is the compressed text (ignored
 * when dec->compressed is 0); stored_ms is when its original was stored (the caller's
 * clock, monotonic milliseconds). 0 ok, -1 out of memory (the cache is left consistent). */
int hr_session_cache_put(hr_session_cache *c, const char *session, const char *hash,
                         const hr_span_decision *dec, const char *text, size_t len,
                         long long stored_ms);
/* Notes that hash's original was stored again at stored_ms (a replay re-put it). No-op
 * when the entry is gone. */
void hr_session_cache_mark_stored(hr_session_cache *c, const char *session, const char *hash,
                                  long long stored_ms);

/* Message count of the session's previous request (0 for a new session), and its update
 * after a request: cache mode compresses only messages at or after the previous count. */
uint32_t hr_session_cache_prefix(hr_session_cache *c, const char *session);
void hr_session_cache_set_prefix(hr_session_cache *c, const char *session, uint32_t n);

/* Sessions, entries and bytes of compressed text currently held (stats and tests). */
void hr_session_cache_counts(hr_session_cache *c, size_t *sessions, size_t *entries,
                             size_t *bytes);

#endif
