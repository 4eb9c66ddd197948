/* tool_stream.h: resolving headroom_retrieve in streamed responses, so agents that always
 * stream (Claude Code) never see a tool they did not define.
 *
 * The proxy's relay feeds each upstream SSE event to hr_ccr_stream_event and sends the
 * client whatever it appends to out. Events pass through at once (content block indices
 * rewritten on later rounds) until a headroom_retrieve tool_use block starts; from there
 * on events are held back. When the upstream stream ends, hr_ccr_stream_end decides:
 *   1: the turn ended with headroom_retrieve calls only. The calls were answered from the
 *      store and followup holds the next request (same stream:true request with the
 *      model's turn and the tool results appended). The relay sends it upstream and feeds
 *      its events to the same hr_ccr_stream; the continuation reaches the client as part of
 *      one message: its message_start is dropped, block indices continue where the client's
 *      left off, and message_delta usage counts all rounds. At most HR_CCR_MAX_ROUNDS.
 *   0: nothing was held (no headroom_retrieve call): the stream is complete.
 *  -1: a headroom_retrieve turn was held but cannot be resolved: another tool was called
 *      in the same turn, the round cap was hit, the stream could not be tracked, or
 *      there is no memory. The held events are dropped (headroom_retrieve never reaches
 *      the client, which did not define it) and hr_ccr_stream_refusal says why; the caller
 *      ends the client's stream with the provider's error event.
 * A call whose arguments are malformed (not JSON, no hash) is not a refusal: the model gets
 * a tool result explaining the error, and the conversation goes on.
 * Memory: what the stream keeps to replay a turn (block texts, held events) is capped
 * (hr_ccr_stream_set_limit). Past the cap an ordinary turn is simply no longer tracked
 * (its events pass through; tracking is only needed for headroom_retrieve), while a held
 * headroom_retrieve turn is refused at once: hr_ccr_stream_event returns -2.
 * All four APIs: Anthropic Messages (block indices continue, message_delta usage summed),
 * OpenAI chat (continuation chunks keep the first round's id, the usage chunk sums all
 * rounds, one [DONE]) and Responses (continuation events keep counting sequence_number and
 * output_index; response.completed carries the first response's id, every output item the
 * client saw, and usage over all rounds) and Gemini's streamGenerateContent?alt=sse (each
 * event a whole chunk: the model's parts kept for the replay, cumulative usageMetadata with
 * earlier rounds added on continuations).
 * Ownership: hr_ccr_stream_new copies the request; hr_ccr_stream_free releases everything.
 */
#ifndef HR_CCR_TOOL_STREAM_H
#define HR_CCR_TOOL_STREAM_H

#include "ccr/tool_loop.h"

typedef struct hr_ccr_stream hr_ccr_stream;

/* NULL when out of memory or when api's stream grammar is not known here (see the
 * GRAMMARS table in tool_stream.c): the caller then relays the stream as it is. */
hr_ccr_stream *hr_ccr_stream_new(const hr_api *api, const char *request, size_t len);
void hr_ccr_stream_free(hr_ccr_stream *s);

/* Most bytes kept to replay a turn (0 = no cap; the default). */
void hr_ccr_stream_set_limit(hr_ccr_stream *s, size_t max_bytes);

/* One upstream event (event name may be NULL; data is the event's data payload). Appends
 * the SSE bytes to send now ("event: ...\ndata: ...\n\n") to out. 0 ok, -1 no memory,
 * -2 a held headroom_retrieve turn outgrew the cap (held events dropped; see above). */
int hr_ccr_stream_event(hr_ccr_stream *s, const char *event, const char *data, size_t len,
                        hr_buf *out);

/* At the end of an upstream stream; see above. store/tenant answer the calls. */
int hr_ccr_stream_end(hr_ccr_stream *s, hr_ccr_store *store, const char *tenant,
                      hr_buf *followup, hr_buf *out);
/* Why the last -1 / -2 was returned ("" before any). */
const char *hr_ccr_stream_refusal(const hr_ccr_stream *s);

#endif
