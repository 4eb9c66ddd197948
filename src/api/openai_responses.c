/* openai_responses.c: the OpenAI Responses row (POST /v1/responses; the provider also owns
 * /v1/responses/...), and Codex's row: the same API on Codex's alias paths
 * (POST /backend-api/codex/responses and /v1/codex/responses; docs/codex.md), so both rows
 * share every hook below and differ in paths and label only. Where a Codex request goes
 * upstream (the aliases, the ChatGPT backend for a chatgpt-account-id) depends on the
 * proxy's settings and is decided in src/proxy/codex.c for both rows.
 *
 * Conversation: "input" (a string is a one-message conversation) with top-level
 * "instructions"; items are messages or typed items. Tool calls are function_call /
 * custom_tool_call items (call_id, name); tool outputs are *_output items answering a
 * call_id. Tools: {"type":"function","name",...}. Usage: input_tokens / output_tokens /
 * total_tokens. Errors: the OpenAI body; in a stream, "event: error" with a flat object.
 */
#include "api/api.h"

#include <string.h>


static int error_event(hr_buf *out, const char *msg)
{
    return hr_api_sse_error(out, "error",
                            "{\"type\":\"error\",\"code\":\"upstream_error\",\"message\":%s,"
                            "\"param\":null}",
                            msg);
}

static void walk(const hr_json_doc *d, uint32_t input, const hr_api_visitor *v)
{
    uint32_t i = 0;
    for (uint32_t it = d->nodes[input].first_child; it != HR_JSON_NONE;
         it = d->nodes[it].next, i++) {
        if (hr_api_member_is(d, it, "type", "function_call") ||
            hr_api_member_is(d, it, "type", "custom_tool_call"))
            v->tool_call(v->user, hr_json_get(d, it, "call_id"), hr_json_get(d, it, "name"));
        else if (hr_api_member_is(d, it, "type", "function_call_output") ||
                 hr_api_member_is(d, it, "type", "custom_tool_call_output"))
            v->tool_output(v->user, hr_json_get(d, it, "output"), i, hr_json_get(d, it, "call_id"));
        else if (hr_api_member_is(d, it, "role", "user") &&
                 hr_api_has_user_text(d, hr_json_get(d, it, "content")))
            v->user_text(v->user, hr_json_get(d, it, "content"));
        else if (hr_api_member_is(d, it, "role", "system") ||
                 hr_api_member_is(d, it, "role", "developer"))
            v->system(v->user, hr_json_get(d, it, "content"));
    }
}

static hr_api_image image_part(const hr_json_doc *d, uint32_t part)
{
    if (!hr_api_member_is(d, part, "type", "input_image"))
        return (hr_api_image){HR_API_IMAGE_NONE, HR_JSON_NONE, HR_JSON_NONE};
    return (hr_api_image){HR_API_IMAGE_URL, part, hr_json_get(d, part, "image_url")};
}

static int tool_definition(hr_buf *out)
{
    return hr_buf_puts(out, "{\"type\":\"function\",\"name\":\"" HR_API_TOOL_NAME
                            "\",\"description\":\"" HR_API_TOOL_DESCRIPTION "\",\"parameters\":"
                            HR_API_TOOL_SCHEMA ",\"strict\":false}");
}

static uint32_t tool_name(const hr_json_doc *d, uint32_t tool)
{
    return d->nodes[tool].type == HR_JSON_OBJECT ? hr_json_get(d, tool, "name") : HR_JSON_NONE;
}

/* A function_call item {call_id, name, arguments: "<JSON>"} (its type checked by the
 * caller). */
static int retrieve_call(const hr_json_doc *d, uint32_t item, uint32_t *id, uint32_t *args,
                         int *args_string)
{
    if (!hr_json_string_eq(d, hr_json_get(d, item, "name"), HR_API_TOOL_NAME))
        return 0;
    *id = hr_json_get(d, item, "call_id");
    *args = hr_json_get(d, item, "arguments");
    *args_string = 1;
    return 1;
}

static int tool_result(hr_buf *out, const char *id, const hr_buf *result)
{
    return hr_api_tool_result(out, "{\"type\":\"function_call_output\",\"call_id\":", id,
                              "output", result);
}

static int find_calls(const hr_json_doc *d, hr_api_calls *calls)
{
    uint32_t output = hr_json_get(d, 0, "output");
    if (output == HR_JSON_NONE || d->nodes[output].type != HR_JSON_ARRAY)
        return 0;
    HR_JSON_FOREACH(d, output, it) {
        if (!hr_json_string_eq(d, hr_json_get(d, it, "type"), "function_call")) {
            if (!hr_json_string_eq(d, hr_json_get(d, it, "type"), "reasoning") &&
                !hr_json_string_eq(d, hr_json_get(d, it, "type"), "message"))
                calls->other++; /* built-in tools (web search, ...) end the turn too */
            continue;
        }
        if (hr_api_take_call(calls, d, it, retrieve_call) < 0)
            return 0;
    }
    return 1;
}

/* The response's output items as they are (reasoning, message, function_call), then one
 * function_call_output per call. */
static int followup_items(const hr_json_doc *resp, const hr_api_calls *calls,
                          const hr_buf *results, hr_buf *ins)
{
    int rc = 0, first = 1;
    uint32_t output = hr_json_get(resp, 0, "output");
    HR_JSON_FOREACH(resp, output, it) {
        if (!first)
            rc |= hr_buf_putc(ins, ',');
        rc |= hr_json_write_raw(ins, resp, it);
        first = 0;
    }
    for (size_t i = 0; i < calls->n; i++) {
        if (!first)
            rc |= hr_buf_putc(ins, ',');
        rc |= tool_result(ins, calls->call[i].id, &results[i]);
        first = 0;
    }
    return rc ? -1 : 0;
}

static const hr_api_usage_field USAGE[] = {
    HR_API_USAGE_NUMBER("input_tokens", input),
    HR_API_USAGE_NUMBER("output_tokens", output),
    HR_API_USAGE_NUMBER("total_tokens", total),
    HR_API_USAGE_COUNTED("cached_tokens", cache_read, HR_API_USAGE_CACHED_IN_INPUT,
                         "input_tokens_details"),
    {.key = NULL}};

/* response.completed and the other response.* events carry {"response":{"usage":...}} */
static const char *const USAGE_WRAPPERS[] = {"response", NULL};

/* Everything but identity and paths, shared by the Responses row and Codex's. */
#define RESPONSES_API_HOOKS                                                                \
    .error_json = hr_api_openai_error_json, .error_event = error_event,                    \
    .overloaded_type = "server_error", .too_large_type = "invalid_request_error",          \
    .conversation_key = "input", .system_key = "instructions",                             \
    .conversation_may_be_string = 1, .walk = walk, .image_part = image_part,               \
    .tool_definition = tool_definition, .tool_name = tool_name, .find_calls = find_calls,  \
    .retrieve_call = retrieve_call, .tool_result = tool_result,                            \
    .followup_items = followup_items, .usage_fields = USAGE, .usage_wrappers = USAGE_WRAPPERS

const hr_api hr_api_openai_responses = {
    .name = "responses",
    .label = "responses",
    .provider = "openai",
    .upstream_setting = "openai_url",
    .method = "POST",
    .path = "/v1/responses",
    .owns_prefix = "/v1/responses",
    RESPONSES_API_HOOKS,
};

static int codex_match(const char *method, const char *path)
{
    return !strcmp(method, "POST") &&
           (!strcmp(path, "/backend-api/codex/responses") || !strcmp(path, "/v1/codex/responses"));
}

const hr_api hr_api_codex_responses = {
    .name = "codex",
    .label = "codex_responses",
    .provider = "openai",
    .upstream_setting = "openai_url",
    .method = "POST",
    .match = codex_match,
    .owns_prefix = "/backend-api/codex",
    RESPONSES_API_HOOKS,
};

/* Azure OpenAI's Responses: /openai/v1/responses, /openai/deployments/{d}/responses (the
 * /openai/ prefix is owned by the Azure chat row, same provider). */
static int match_azure(const char *method, const char *path)
{
    const char *op = hr_api_azure_operation(path);
    return !strcmp(method, "POST") && op && !strcmp(op, "responses");
}

const hr_api hr_api_azure_responses = {
    .name = "azure_responses",
    .label = "azure_responses",
    .provider = "azure",
    HR_API_AZURE_UPSTREAM,
    .method = "POST",
    .match = match_azure,
    RESPONSES_API_HOOKS,
};
