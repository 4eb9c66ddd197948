/* usage.h: token usage as providers report it, read from a response body or SSE event.
 *
 * The shape of each provider's report is on its API row (api/api.h: usage_fields,
 * usage_key, usage_wrappers), e.g. OpenAI chat {"usage":{"prompt_tokens",...}}, Anthropic's
 * message_start {"message":{"usage":...}} and cumulative message_delta, Responses'
 * {"response":{"usage":...}}, Bedrock Converse's camelCase numbers, Gemini's usageMetadata
 * (every stream chunk; the last one holds the totals). Fields found are set; others are
 * left as they were.
 * Prompt-cache tokens are kept apart from input, so each can be priced at its own rate:
 *   input_tokens          tokens billed at the full input price (Anthropic "input_tokens";
 *                         OpenAI prompt_tokens minus prompt_tokens_details.cached_tokens)
 *   cache_read_tokens     Anthropic cache_read_input_tokens / OpenAI cached_tokens
 *   cache_creation_tokens Anthropic cache_creation_input_tokens (OpenAI has no such charge)
 */
#ifndef HR_PROXY_USAGE_H
#define HR_PROXY_USAGE_H

#include "api/api.h"

#include <stddef.h>

typedef struct hr_usage {
    long long input_tokens;  /* -1 until seen */
    long long output_tokens; /* -1 until seen */
    long long cache_read_tokens;     /* -1 until seen */
    long long cache_creation_tokens; /* -1 until seen */
} hr_usage;

#define HR_USAGE_INIT {-1, -1, -1, -1}

/* Reads json (len bytes) as api reports usage. 1 if usage was found, 0 if not, -1 if json
 * is not valid JSON. */
int hr_usage_from_json(const hr_api *api, const char *json, size_t len, hr_usage *u);

/* Adds the numbers b has seen to a (a's unseen ones count from 0): the usage of several
 * turns on one connection (a Responses WebSocket). */
void hr_usage_add(hr_usage *a, const hr_usage *b);

#endif
