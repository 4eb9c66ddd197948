/* tool_inject.h: the model's way back, request side. When a forwarded request body holds
 * markers, the proxy offers a headroom_retrieve tool (hash required, query optional) in
 * the provider's own format; when the model calls it, tool_loop.h answers the call and
 * continues the conversation upstream.
 *
 * A pure function of bytes (no I/O, deterministic): the proxy calls hr_ccr_inject_tool on
 * the body it is about to forward (after compression). The body is edited by splicing
 * (json.h): every byte outside the edit stays as it was, so the client's prompt-cache
 * prefix is untouched, and the tool goes at the end of the tools array (a stable position:
 * the same request always gets the same bytes).
 *
 * Every API difference (the tool's format, where a tool's name is, what blocks the offer) is
 * a hook of the API's row (api/api.h); an API without tool_definition is never offered it.
 */
#ifndef HR_CCR_TOOL_INJECT_H
#define HR_CCR_TOOL_INJECT_H

#include "api/api.h"
#include "json/edits.h"
#include "sys/buf.h"
#include "sys/hash.h"

#include <stddef.h>

#define HR_CCR_TOOL_NAME HR_API_TOOL_NAME


/* If body (a request of api) contains a marker and does not already define a tool named
 * headroom_retrieve, writes the body with the tool appended to "tools" (created when
 * absent) into out and returns 1. 0: nothing to do (out untouched), also when offering the
 * tool would change the request's meaning: an OpenAI chat request on the legacy
 * "functions" array (OpenAI rejects functions + tools), or a tool_choice that forces a
 * tool call ("required", {"type":"any"}) or names headroom_retrieve (docs/ccr.md).
 * 0 too when api has no tool_definition.
 * -1: not a JSON object or no memory (forward the body as it is). */
int hr_ccr_inject_tool(const hr_api *api, const char *body, size_t len, hr_buf *out);

/* The same decision and edit on a parsed request, for a caller that applies all its edits
 * with one splice: the caller has checked that the body it forwards holds a marker. 1 the
 * tool's edit was appended to edits (over d's source), 0 nothing to do (see above), -1
 * not an object or no memory. */
int hr_ccr_tool_edit(const hr_api *api, const hr_json_doc *d, hr_json_edits *edits);

#endif
