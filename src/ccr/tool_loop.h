/* tool_loop.h: the model's way back, response side. When the model answers a request that
 * carried the injected headroom_retrieve tool by calling it, the proxy answers the call
 * from the CCR store and sends the continued conversation upstream again (at most
 * HR_CCR_MAX_ROUNDS times), so the client only ever sees a final answer and never a tool
 * it did not define. Usage in the final response is the sum over all rounds.
 *
 * Split in pure parts (parse calls, build the follow-up request, read and merge usage; no
 * I/O, deterministic) and one driver, hr_ccr_tool_loop, that the proxy calls for buffered
 * (non-streaming) responses with a function that performs one upstream round trip.
 * Ownership: callers own every buffer; hr_ccr_calls is plain data.
 */
#ifndef HR_CCR_TOOL_LOOP_H
#define HR_CCR_TOOL_LOOP_H

#include "ccr/store.h"
#include "ccr/tool_inject.h"

#define HR_CCR_MAX_CALLS HR_API_MAX_CALLS
#define HR_CCR_MAX_ROUNDS 3

/* The calls of one turn (api/api.h: each API's find_calls hook fills them). */
typedef hr_api_call hr_ccr_call;
typedef hr_api_calls hr_ccr_calls;

/* Reads a non-streaming response body of api. Returns 1 when the model's turn ends in tool
 * calls that are all headroom_retrieve (calls filled), 0 otherwise (no calls, other tools
 * mixed in, not a tool-call ending, unparseable), -1 no memory. */
int hr_ccr_find_calls(const hr_api *api, const char *response, size_t len, hr_ccr_calls *calls);

/* Writes the next request: request with the model's turn (from response) and one tool
 * result per call (results[i], the text for calls->call[i]) appended to the conversation.
 * 0 ok, -1 malformed input or no memory. */
int hr_ccr_build_followup(const hr_api *api, const char *request, size_t req_len,
                          const char *response, size_t resp_len, const hr_ccr_calls *calls,
                          const hr_buf *results, hr_buf *out);

typedef hr_api_usage hr_ccr_usage; /* which numbers: the API row's usage_fields */

/* Adds the usage of a response body to acc. 0 ok (missing usage adds nothing). */
int hr_ccr_read_usage(const hr_api *api, const char *response, size_t len, hr_ccr_usage *acc);
/* Writes response with its usage numbers replaced by (its own + earlier). 0 ok, -1 error
 * (then forward the response as it is). */
int hr_ccr_merge_usage(const hr_api *api, const char *response, size_t len,
                       const hr_ccr_usage *earlier, hr_buf *out);

/* Answers every call from the store (retrieve.h; tenant-scoped): results[i] receives the
 * text for calls->call[i] (the original, the selected items, or an explanation). 0 ok,
 * -1 no memory. results must hold calls->n initialised buffers. */
int hr_ccr_answer_calls(hr_ccr_store *store, const char *tenant, const hr_ccr_calls *calls,
                        hr_buf *results);

/* One upstream round trip, provided by the proxy: sends body (same route, same headers as
 * the client's request) and fills response with the buffered answer and *status with its
 * HTTP status. 0 ok, -1 transport failure. */
typedef int (*hr_ccr_send_fn)(void *user, const char *body, size_t len, hr_buf *response,
                              int *status);

/* The non-streaming loop. request is the body as forwarded (with the tool injected);
 * response the first upstream answer (status 200). Returns 1 when final/final_status hold
 * the answer to give the client instead (the last round's body with usage summed over all
 * rounds, or a failed round's error), 0 when the first response needs no resolution (or
 * could not be resolved: return it as it is). */
int hr_ccr_tool_loop(const hr_api *api, hr_ccr_store *store, const char *tenant,
                     const char *request, size_t req_len, const char *response,
                     size_t resp_len, hr_ccr_send_fn send, void *user, hr_buf *final,
                     int *final_status);

#endif
