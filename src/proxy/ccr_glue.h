/* ccr_glue.h: the forwarding core's side of the model's way back (docs/ccr.md, "Proxy
 * integration"). forward.c offers the headroom_retrieve tool on bodies that carry markers
 * and, only when it did, resolves the model's headroom_retrieve turns itself by more
 * upstream rounds (same URL, same headers, longer conversation), buffered or streamed, so the
 * client never sees a tool it did not define. The pure parts (injection, finding calls,
 * follow-up bodies, usage sums, stream rewriting) are src/ccr/tool_*.h; this file owns the
 * extra upstream rounds and their failure handling.
 *
 * Ownership: an hr_ccrw_origin is borrowed for the call it is passed to. hr_ccrw_stream_new
 * copies what it needs from it (the stream outlives hr_forward: the HTTP response owns it)
 * and takes over the first upstream transfer; hr_ccrw_stream_free releases everything.
 */
#ifndef HR_PROXY_CCR_GLUE_H
#define HR_PROXY_CCR_GLUE_H

#include "compress/pipeline.h"
#include "json/edits.h"
#include "json/json.h"
#include "http/upstream.h"
#include "proxy/proxy_internal.h"
#include "sys/buf.h"

#include <stddef.h>
#include <sys/types.h>

/* Runs one upstream round with the proxy's retry policy (forward.c): the live transfer with
 * its status and headers in, or NULL. Adds the time spent waiting to *upstream_ms. */
typedef hr_upstream *(*hr_ccrw_connect_fn)(hr_http_exchange *ex, hr_req_ctx *ctx,
                                           const hr_upstream_request *ur, double *upstream_ms);

typedef struct hr_ccrw_origin {
    const hr_api *api;             /* the route's API */
    const char *tenant;            /* whose originals the tool may read */
    const hr_upstream_request *ur; /* the first round as sent: URL, headers, timeouts, cancel,
                                      and the forwarded body (with the tool) */
    hr_ccrw_connect_fn connect;
    hr_http_exchange *ex;          /* valid while the exchange is answered */
    hr_req_ctx *ctx;
} hr_ccrw_origin;

/* Step 2. When the body to be forwarded on a route of api (d, the one parse of the
 * client's body, with edits applied) holds a marker, the process has a store, and the
 * client defines no headroom_retrieve of its own, appends the tool's edit to edits and
 * returns 1 (forward the spliced body, then resolve the answer below). 0: no tool.
 * Deterministic: the same body always gets the same bytes. */
int hr_ccrw_offer_tool(const hr_api *api, const hr_json_doc *d, hr_json_edits *edits);

/* Step 3. body/status: the first buffered answer. When it is a turn of headroom_retrieve
 * calls only, answers them and runs the follow-up rounds (at most HR_CCR_MAX_ROUNDS);
 * on 1 body/status were replaced by the final answer (usage summed over all rounds, or the
 * failing round's error). 0: leave the answer as it is. */
int hr_ccrw_resolve_buffered(const hr_ccrw_origin *o, hr_buf *body, int *status,
                             double *upstream_ms);

/* Step 4. A streamed answer (status 200, SSE) to a request that offered the tool. */
typedef struct hr_ccrw_stream hr_ccrw_stream;

/* Takes over first (freed by hr_ccrw_stream_free). NULL: out of memory or no store, and
 * first stays the caller's (relay it plainly). */
hr_ccrw_stream *hr_ccrw_stream_new(const hr_ccrw_origin *o, hr_upstream *first);
/* The client's next bytes (a reader for hr_http_respond_stream): > 0 count, 0 end of the
 * (possibly multi-round) stream, -1 upstream failure (hr_ccrw_stream_error says which).
 * A continuation round that cannot be started ends the stream with the provider's error
 * event, so the client's SDK reports an error instead of a silently cut answer. */
ssize_t hr_ccrw_stream_read(hr_ccrw_stream *s, char *buf, size_t max);
hr_up_error hr_ccrw_stream_error(const hr_ccrw_stream *s);
void hr_ccrw_stream_free(hr_ccrw_stream *s);

/* Appends to out the SSE error event of api (its row's error_event) carrying message (JSON-escaped
 * here), the one format for every stream headroom has to end in an error: a failed
 * headroom_retrieve continuation above, and an upstream that breaks a relayed stream
 * (forward.c). 0 ok, -1 out of memory (out may hold part of it). */
int hr_ccrw_error_event(const hr_api *api, const char *message, hr_buf *out);

#endif
