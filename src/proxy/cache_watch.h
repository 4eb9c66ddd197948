/* cache_watch.h: the provider prompt cache, per session (x-headroom-session-id). A
 * provider caches a request's prefix; the next turn of a session hits that cache only if
 * its earlier messages are byte-identical. This remembers, per session, a hash of each
 * message as the client sent it and as we forwarded it. A turn whose client-sent earlier
 * messages are unchanged but whose forwarded bytes for one of them changed is a cache bust
 * caused by us: counted and logged with the reason (which message). It also keeps each
 * session's cache read / creation / input tokens for a per-session hit rate.
 *
 * A bounded table (MAX_SESSIONS, least recently used replaced) behind one mutex.
 */
#ifndef HR_PROXY_CACHE_WATCH_H
#define HR_PROXY_CACHE_WATCH_H

#include "json/edits.h"
#include "json/json.h"
#include "proxy/metrics.h"
#include "sys/buf.h"

#include <stddef.h>

/* One turn of session, read from the request's one parse (nothing is parsed again): d is
 * the body as the client sent it, messages its conversation array (the API row's
 * conversation_key; HR_JSON_NONE when absent), and the forwarded body is fwd (fwd_len
 * bytes), d's source with edits applied — edits NULL when it went as sent. A message's
 * forwarded bytes are its span moved by the edits before it and resized by those inside
 * it; a turn where an edit crosses a message's edge (none of ours does) is not compared.
 * Returns 1 when our compression changed bytes of a message the previous turn also sent
 * (a bust we caused), else 0. No session, or no message array: 0. */
int hr_cache_watch_turn(const char *session, const char *request_id, const hr_json_doc *d,
                        uint32_t messages, const hr_json_edits *edits, const char *fwd,
                        size_t fwd_len);

/* Adds the finished request's usage (cache read, creation, input tokens) to its session. */
void hr_cache_watch_usage(const char *session, const hr_request_record *r);

/* {"sessions_tracked":N,"busts":N,"sessions":[{"session":..,"turns":..,"hit_rate":..,
 * "busts":..,"last_bust_reason":..}, ...]} most recent first, at most 20. */
int hr_cache_watch_json(hr_buf *out);

void hr_cache_watch_reset(void); /* for tests */

#endif
