/* usage.h: token usage as providers report it, read from a response body or SSE event.
 *
 * Shapes understood (fields found are set; others left as they were):
 *   OpenAI chat:        {"usage":{"prompt_tokens","completion_tokens"}} (final chunk too)
 *   OpenAI responses:   {"response":{"usage":{"input_tokens","output_tokens"}}} or root usage
 *   Anthropic:          message_start {"message":{"usage":{"input_tokens","output_tokens"}}},
 *                       message_delta {"usage":{"output_tokens"}} (cumulative), and
 *                       non-streaming root usage.
 *   Bedrock Converse:   {"usage":{"inputTokens","outputTokens","cacheReadInputTokens",
 *                       "cacheWriteInputTokens"}} (converse-stream's metadata event too)
 *   Gemini:             {"usageMetadata":{"promptTokenCount","candidatesTokenCount",
 *                       "cachedContentTokenCount","thoughtsTokenCount"}} (every stream
 *                       chunk: the last one holds the totals)
 * Prompt-cache tokens are kept apart from input, so each can be priced at its own rate:
 *   input_tokens          tokens billed at the full input price (Anthropic "input_tokens";
 *                         OpenAI prompt_tokens minus prompt_tokens_details.cached_tokens)
 *   cache_read_tokens     Anthropic cache_read_input_tokens / OpenAI cached_tokens
 *   cache_creation_tokens Anthropic cache_creation_input_tokens (OpenAI has no such charge)
 */
#ifndef HR_PROXY_USAGE_H
#define HR_PROXY_USAGE_H

#include <stddef.h>

typedef struct hr_usage {
    long long input_tokens;  /* -1 until seen */
    long long output_tokens; /* -1 until seen */
    long long cache_read_tokens;     /* -1 until seen */
    long long cache_creation_tokens; /* -1 until seen */
} hr_usage;

#define HR_USAGE_INIT {-1, -1, -1, -1}

/* 1 if usage was found in json (len bytes), 0 if not, -1 if json is not valid JSON. */
int hr_usage_from_json(const char *json, size_t len, hr_usage *u);

#endif
