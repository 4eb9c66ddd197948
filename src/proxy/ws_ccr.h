/* ws_ccr.h: headroom_retrieve over a Responses WebSocket (used by ws_relay.c).
 *
 * Over HTTP the proxy offers the tool on a body that carries markers and answers the
 * model's calls itself (ccr_glue.h). Over WebSocket a turn is one response.create message
 * upstream and a series of event messages back, ended by response.completed (or
 * .incomplete / .failed / error); the same stream rewriter (ccr/tool_stream.h, Responses
 * API) then applies unchanged: each upstream event goes through it, events of a
 * headroom_retrieve call are held back, and at the end of the turn the calls are answered
 * from the store and the follow-up (the same response.create with the model's turn and the
 * tool outputs appended) goes upstream on the same WebSocket. The client sees one response:
 * continuation events keep its numbering, response.completed carries every item it saw and
 * usage over all rounds. A turn that cannot be resolved ends with an `error` event.
 *
 * Messages that pass through the rewriter are sent as they came except for raw CR/LF
 * bytes, which become spaces (JSON whitespace) because the rewriter speaks SSE lines.
 *
 * Ownership: one hr_ws_ccr per turn, owned by the relay session.
 */
#ifndef HR_PROXY_WS_CCR_H
#define HR_PROXY_WS_CCR_H

#include "api/api.h"
#include "sys/buf.h"

#include <stddef.h>

typedef struct hr_ws_ccr hr_ws_ccr;

/* For a response.create message about to go upstream (api: the Responses row of its path): when the tool is offered (markers,
 * a store, no headroom_retrieve of the client's, --no-ccr-inject-tool off), writes the
 * message with the tool into out and returns the turn; NULL: send body as it is. */
hr_ws_ccr *hr_ws_ccr_begin(const hr_api *api, const char *body, size_t len, const char *tenant,
                           size_t max_held, hr_buf *out);

/* Called with each message for the client the rewriter lets through. */
typedef int (*hr_ws_ccr_emit)(void *arg, const char *msg, size_t len);

enum { HR_WS_CCR_GOING = 0, HR_WS_CCR_DONE = 1, HR_WS_CCR_FOLLOWUP = 2 };

/* One upstream text message of the turn. Emits what the client gets now, and returns
 * GOING, DONE (the turn is over: free it), or FOLLOWUP (send followup upstream as a
 * response.create; the turn goes on). -1: emitting failed or no memory. */
int hr_ws_ccr_message(hr_ws_ccr *t, char *msg, size_t len, hr_ws_ccr_emit emit, void *arg,
                      hr_buf *followup);

void hr_ws_ccr_free(hr_ws_ccr *t);

/* 1 when msg is a JSON object whose "type" is one of types: NUL-separated names ending in
 * an empty one: "a\0b\0", and "a\0" for one (the literal adds the final NUL). */
int hr_ws_event_is(const char *msg, size_t len, const char *types);

#endif
