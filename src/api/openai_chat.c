/* openai_chat.c: the OpenAI Chat Completions row (POST /v1/chat/completions).
 *
 * Conversation: "messages"; tool calls are assistant messages' tool_calls[] (id,
 * function.name, function.arguments as a JSON string); tool outputs are role "tool"
 * messages answering a tool_call_id. Tools: {"type":"function","function":{...}}; the legacy
 * "functions" array cannot be combined with "tools", so no tool is offered beside it.
 * Streams report usage only with stream_options.include_usage, which the proxy adds.
 * Errors: {"error":{"message","type","code"}}; in a stream, a data-only error chunk (chat
 * clients reject named events).
 * Azure OpenAI's row is the same API on its deployment paths (/openai/deployments/{d}/chat/
 * completions?api-version=..., /openai/v1/chat/completions; the api-key header passes
 * through like any other); the provider "azure" owns /openai/.
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>


int hr_api_openai_error_json(hr_buf *out, int status, const char *type, const char *code,
                             const char *msg)
{
    (void)status;
    int rc = 0;
    rc |= hr_buf_puts(out, "{\"error\":{\"message\":");
    rc |= hr_json_write_string(out, msg, strlen(msg));
    rc |= hr_buf_puts(out, ",\"type\":");
    rc |= hr_json_write_string(out, type, strlen(type));
    rc |= hr_buf_puts(out, ",\"code\":");
    if (code)
        rc |= hr_json_write_string(out, code, strlen(code));
    else
        rc |= hr_buf_puts(out, "null");
    rc |= hr_buf_puts(out, "}}");
    return rc ? -1 : 0;
}

static int error_event(hr_buf *out, const char *msg)
{
    return hr_api_sse_error(out, NULL,
                            "{\"error\":{\"message\":%s,\"type\":\"api_error\","
                            "\"code\":\"upstream_error\"}}",
                            msg);
}

static void walk(const hr_json_doc *d, uint32_t messages, const hr_api_visitor *v)
{
    uint32_t i = 0;
    for (uint32_t m = d->nodes[messages].first_child; m != HR_JSON_NONE;
         m = d->nodes[m].next, i++) {
        uint32_t content = hr_json_get(d, m, "content");
        if (hr_api_member_is(d, m, "role", "system") || hr_api_member_is(d, m, "role", "developer"))
            v->system(v->user, content);
        else if (hr_api_member_is(d, m, "role", "user") && hr_api_has_user_text(d, content))
            v->user_text(v->user, content);
        else if (hr_api_member_is(d, m, "role", "assistant")) {
            uint32_t calls = hr_json_get(d, m, "tool_calls");
            if (calls != HR_JSON_NONE && d->nodes[calls].type == HR_JSON_ARRAY)
                HR_JSON_FOREACH(d, calls, t)
                    v->tool_call(v->user, hr_json_get(d, t, "id"),
                                 hr_json_get(d, hr_json_get(d, t, "function"), "name"));
        } else if (hr_api_member_is(d, m, "role", "tool")) {
            v->tool_output(v->user, content, i, hr_json_get(d, m, "tool_call_id"));
        }
    }
}

static hr_api_image image_part(const hr_json_doc *d, uint32_t part)
{
    if (!hr_api_member_is(d, part, "type", "image_url"))
        return (hr_api_image){HR_API_IMAGE_NONE, HR_JSON_NONE, HR_JSON_NONE};
    uint32_t iu = hr_json_get(d, part, "image_url");
    return (hr_api_image){HR_API_IMAGE_URL, iu,
                          iu != HR_JSON_NONE ? hr_json_get(d, iu, "url") : HR_JSON_NONE};
}

/* Adds stream_options.include_usage:true unless the client said (an explicit false is
 * respected). Every other byte stays as it was. */
static int stream_request(const hr_json_doc *d, hr_json_edits *edits)
{
    const hr_json_node *root = hr_json_at(d, 0);
    if (!root || root->type != HR_JSON_OBJECT)
        return 0;
    char text[64];
    size_t at, end;
    uint32_t so = hr_json_get(d, 0, "stream_options");
    const hr_json_node *son = hr_json_at(d, so);
    if (!son) {
        snprintf(text, sizeof text, "\"stream_options\":{\"include_usage\":true}%s",
                 root->count ? "," : "");
        at = end = root->start + 1;
    } else if (son->type != HR_JSON_OBJECT) {
        snprintf(text, sizeof text, "{\"include_usage\":true}");
        at = son->start;
        end = son->end;
    } else if (hr_json_get(d, so, "include_usage") == HR_JSON_NONE) {
        snprintf(text, sizeof text, "\"include_usage\":true%s", son->count ? "," : "");
        at = end = son->start + 1;
    } else {
        return 0;
    }
    return hr_json_edits_add(edits, at, end, text, strlen(text)) == 0 ? 1 : -1;
}

static int tool_definition(hr_buf *out)
{
    return hr_buf_puts(out, "{\"type\":\"function\",\"function\":{\"name\":\"" HR_API_TOOL_NAME
                            "\",\"description\":\"" HR_API_TOOL_DESCRIPTION
                            "\",\"parameters\":" HR_API_TOOL_SCHEMA "}}");
}

static uint32_t tool_name(const hr_json_doc *d, uint32_t tool)
{
    if (d->nodes[tool].type != HR_JSON_OBJECT)
        return HR_JSON_NONE;
    uint32_t fn = hr_json_get(d, tool, "function");
    return fn == HR_JSON_NONE ? HR_JSON_NONE : hr_json_get(d, fn, "name");
}

/* OpenAI rejects a request with both `functions` and `tools`. */
static int tool_offer_blocked(const hr_json_doc *d)
{
    return hr_json_get(d, 0, "functions") != HR_JSON_NONE;
}

/* A tool_calls entry {id, function: {name, arguments: "<JSON>"}}. */
static int retrieve_call(const hr_json_doc *d, uint32_t call, uint32_t *id, uint32_t *args,
                         int *args_string)
{
    uint32_t fn = hr_json_get(d, call, "function");
    if (!hr_json_string_eq(d, hr_json_get(d, fn, "name"), HR_API_TOOL_NAME))
        return 0;
    *id = hr_json_get(d, call, "id");
    *args = hr_json_get(d, fn, "arguments");
    *args_string = 1;
    return 1;
}

static int tool_result(hr_buf *out, const char *id, const hr_buf *result)
{
    return hr_api_tool_result(out, "{\"role\":\"tool\",\"tool_call_id\":", id, "content", result);
}

static int find_calls(const hr_json_doc *d, hr_api_calls *calls)
{
    uint32_t choice = hr_json_index(d, hr_json_get(d, 0, "choices"), 0);
    if (choice == HR_JSON_NONE || hr_json_index(d, hr_json_get(d, 0, "choices"), 1) != HR_JSON_NONE)
        return 0; /* n > 1 choices: leave it to the client */
    uint32_t msg = hr_json_get(d, choice, "message");
    uint32_t tcs = msg != HR_JSON_NONE ? hr_json_get(d, msg, "tool_calls") : HR_JSON_NONE;
    if (tcs == HR_JSON_NONE || d->nodes[tcs].type != HR_JSON_ARRAY)
        return 0;
    HR_JSON_FOREACH(d, tcs, t)
        if (hr_api_take_call(calls, d, t, retrieve_call) < 0)
            return 0;
    return 1;
}

static int followup_items(const hr_json_doc *resp, const hr_api_calls *calls,
                          const hr_buf *results, hr_buf *ins)
{
    uint32_t msg = hr_json_get(resp, hr_json_index(resp, hr_json_get(resp, 0, "choices"), 0), "message");
    uint32_t content = hr_json_get(resp, msg, "content");
    int rc = hr_buf_puts(ins, "{\"role\":\"assistant\",\"content\":");
    rc |= content != HR_JSON_NONE ? hr_json_write_raw(ins, resp, content) : hr_buf_puts(ins, "null");
    rc |= hr_buf_puts(ins, ",\"tool_calls\":");
    rc |= hr_json_write_raw(ins, resp, hr_json_get(resp, msg, "tool_calls"));
    rc |= hr_buf_putc(ins, '}');
    for (size_t i = 0; i < calls->n; i++) {
        rc |= hr_buf_putc(ins, ',');
        rc |= tool_result(ins, calls->call[i].id, &results[i]);
    }
    return rc ? -1 : 0;
}

static const hr_api_usage_field USAGE[] = {
    HR_API_USAGE_NUMBER("prompt_tokens", input),
    HR_API_USAGE_NUMBER("completion_tokens", output),
    HR_API_USAGE_NUMBER("total_tokens", total),
    HR_API_USAGE_COUNTED("cached_tokens", cache_read, HR_API_USAGE_CACHED_IN_INPUT,
                         "prompt_tokens_details"),
    {.key = NULL}};

/* What the rows of this API share (all but route and provider). */
#define CHAT_HOOKS \
    .error_json = hr_api_openai_error_json, \
    .error_event = error_event, \
    .overloaded_type = "server_error", \
    .too_large_type = "invalid_request_error", \
    .conversation_key = "messages", \
    .walk = walk, \
    .image_part = image_part, \
    .stream_request = stream_request, \
    .tool_definition = tool_definition, \
    .tool_name = tool_name, \
    .tool_offer_blocked = tool_offer_blocked, \
    .find_calls = find_calls, \
    .followup_items = followup_items, \
    .retrieve_call = retrieve_call, \
    .tool_result = tool_result, \
    .usage_fields = USAGE

const hr_api hr_api_openai_chat = {
    .name = "openai",
    .label = "chat_completions",
    .provider = "openai",
    .upstream_setting = "openai_url",
    .method = "POST",
    .path = "/v1/chat/completions",
    CHAT_HOOKS,
};

static int match_azure(const char *method, const char *path)
{
    const char *op = hr_api_azure_operation(path);
    return !strcmp(method, "POST") && op && !strcmp(op, "chat/completions");
}

const hr_api hr_api_azure_chat = {
    .name = "azure_chat",
    .label = "azure_chat_completions",
    .provider = "azure",
    HR_API_AZURE_UPSTREAM,
    .method = "POST",
    .match = match_azure,
    .owns_prefix = "/openai/",
    CHAT_HOOKS,
};
