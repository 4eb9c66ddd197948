/* anthropic_messages.c: the Anthropic Messages row (POST /v1/messages; the provider also
 * owns /v1/messages/count_tokens and is chosen by x-api-key, anthropic-version or an
 * "sk-ant-" bearer token on paths that name no provider).
 *
 * Conversation: "messages" with a top-level "system"; content is a string or blocks. Tool
 * calls are assistant tool_use blocks (id, name, input object); tool outputs are user
 * tool_result blocks answering a tool_use_id. Tools: {"name","description","input_schema"}.
 * Errors: {"type":"error","error":{"type","message"}}; in a stream, "event: error".
 * Vertex AI serves the same API for Anthropic's models at /v1/projects/{p}/locations/{l}/
 * publishers/anthropic/models/{m}:rawPredict (and :streamRawPredict; also /v1beta1/): the
 * model in the path, "anthropic_version" in the body, Google's bearer token passed through;
 * its row differs only in route and provider ("vertex").
 */
#include "api/api.h"

#include <string.h>

static int error_json(hr_buf *out, int status, const char *type, const char *code,
                      const char *msg)
{
    (void)status;
    (void)code; /* Anthropic's shape has no code */
    int rc = 0;
    rc |= hr_buf_puts(out, "{\"type\":\"error\",\"error\":{\"type\":");
    rc |= hr_json_write_string(out, type, strlen(type));
    rc |= hr_buf_puts(out, ",\"message\":");
    rc |= hr_json_write_string(out, msg, strlen(msg));
    rc |= hr_buf_puts(out, "}}");
    return rc ? -1 : 0;
}

static int error_event(hr_buf *out, const char *msg)
{
    return hr_api_sse_error(out, "error",
                            "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":%s}}",
                            msg);
}

void hr_api_anthropic_walk(const hr_json_doc *d, uint32_t messages, const hr_api_visitor *v)
{
    uint32_t i = 0;
    for (uint32_t m = d->nodes[messages].first_child; m != HR_JSON_NONE;
         m = d->nodes[m].next, i++) {
        uint32_t content = hr_json_get(d, m, "content");
        int user = hr_api_member_is(d, m, "role", "user");
        if (user && content != HR_JSON_NONE && d->nodes[content].type == HR_JSON_STRING) {
            v->user_text(v->user, content);
            continue;
        }
        if (content == HR_JSON_NONE || d->nodes[content].type != HR_JSON_ARRAY)
            continue;
        HR_JSON_FOREACH(d, content, b) {
            if (hr_api_member_is(d, b, "type", "tool_use"))
                v->tool_call(v->user, hr_json_get(d, b, "id"), hr_json_get(d, b, "name"));
            else if (user && hr_api_member_is(d, b, "type", "text"))
                v->user_text(v->user, content);
            else if (hr_api_member_is(d, b, "type", "tool_result"))
                v->tool_output(v->user, hr_json_get(d, b, "content"), i,
                               hr_json_get(d, b, "tool_use_id"));
        }
    }
}

hr_api_image hr_api_anthropic_image_part(const hr_json_doc *d, uint32_t part)
{
    if (!hr_api_member_is(d, part, "type", "image"))
        return (hr_api_image){HR_API_IMAGE_NONE, HR_JSON_NONE, HR_JSON_NONE};
    return (hr_api_image){HR_API_IMAGE_SOURCE, hr_json_get(d, part, "source"), HR_JSON_NONE};
}

int hr_api_anthropic_tool_definition(hr_buf *out)
{
    return hr_buf_puts(out, "{\"name\":\"" HR_API_TOOL_NAME "\",\"description\":\""
                            HR_API_TOOL_DESCRIPTION "\",\"input_schema\":" HR_API_TOOL_SCHEMA "}");
}

uint32_t hr_api_anthropic_tool_name(const hr_json_doc *d, uint32_t tool)
{
    return d->nodes[tool].type == HR_JSON_OBJECT ? hr_json_get(d, tool, "name") : HR_JSON_NONE;
}

/* A tool_use block {id, name, input} (its type checked by the caller). */
int hr_api_anthropic_retrieve_call(const hr_json_doc *d, uint32_t block, uint32_t *id,
                                   uint32_t *args, int *args_string)
{
    if (!hr_json_string_eq(d, hr_json_get(d, block, "name"), HR_API_TOOL_NAME))
        return 0;
    *id = hr_json_get(d, block, "id");
    *args = hr_json_get(d, block, "input");
    *args_string = 0;
    return 1;
}

int hr_api_anthropic_tool_result(hr_buf *out, const char *id, const hr_buf *result)
{
    return hr_api_tool_result(out, "{\"type\":\"tool_result\",\"tool_use_id\":", id, "content",
                              result);
}

int hr_api_anthropic_find_calls(const hr_json_doc *d, hr_api_calls *calls)
{
    if (!hr_json_string_eq(d, hr_json_get(d, 0, "stop_reason"), "tool_use"))
        return 0;
    uint32_t content = hr_json_get(d, 0, "content");
    if (content == HR_JSON_NONE || d->nodes[content].type != HR_JSON_ARRAY)
        return 0;
    HR_JSON_FOREACH(d, content, b) {
        if (!hr_json_string_eq(d, hr_json_get(d, b, "type"), "tool_use"))
            continue;
        if (hr_api_take_call(calls, d, b, hr_api_anthropic_retrieve_call) < 0)
            return 0;
    }
    return 1;
}

int hr_api_anthropic_followup_items(const hr_json_doc *resp, const hr_api_calls *calls,
                                    const hr_buf *results, hr_buf *ins)
{
    int rc = hr_buf_puts(ins, "{\"role\":\"assistant\",\"content\":");
    rc |= hr_json_write_raw(ins, resp, hr_json_get(resp, 0, "content"));
    rc |= hr_api_results_turn(ins, "},{\"role\":\"user\",\"content\":[", calls, results,
                              hr_api_anthropic_tool_result);
    return rc ? -1 : 0;
}

const hr_api_usage_field hr_api_anthropic_usage[] = {
    HR_API_USAGE_NUMBER("input_tokens", input),
    HR_API_USAGE_NUMBER("output_tokens", output),
    HR_API_USAGE_NUMBER("cache_read_input_tokens", cache_read),
    HR_API_USAGE_NUMBER("cache_creation_input_tokens", cache_creation),
    {.key = NULL}};

/* message_start: {"message":{"usage":...}}; message_delta and whole answers: root usage */
const char *const hr_api_anthropic_usage_wrappers[] = {"message", NULL};

static const char *const AUTH_HEADERS[] = {"x-api-key", "anthropic-version", NULL};

/* What the rows of this API share (all but route and provider). */
#define MESSAGES_HOOKS \
    .error_json = error_json, \
    .error_event = error_event, \
    .overloaded_type = "overloaded_error", \
    .too_large_type = "request_too_large", \
    .conversation_key = "messages", \
    .system_key = "system", \
    HR_API_ANTHROPIC_BODY

const hr_api hr_api_anthropic_messages = {
    .name = "anthropic",
    .label = "messages",
    .provider = "anthropic",
    .upstream_setting = "anthropic_url",
    .method = "POST",
    .path = "/v1/messages",
    .owns_prefix = "/v1/messages",
    .auth_headers = AUTH_HEADERS,
    .bearer_prefix = "sk-ant-",
    MESSAGES_HOOKS,
};

static int match_vertex(const char *method, const char *path)
{
    size_t n = strlen(path);
    int raw = (n > 11 && !strcmp(path + n - 11, ":rawPredict")) ||
              (n > 17 && !strcmp(path + n - 17, ":streamRawPredict"));
    return !strcmp(method, "POST") && raw &&
           (!strncmp(path, "/v1/projects/", 13) || !strncmp(path, "/v1beta1/projects/", 18)) &&
           strstr(path, "/publishers/anthropic/models/") != NULL;
}

const hr_api hr_api_vertex_anthropic = {
    .name = "vertex_anthropic",
    .label = "raw_predict",
    .provider = "vertex",
    HR_API_VERTEX_UPSTREAM,
    .method = "POST",
    .match = match_vertex,
    MESSAGES_HOOKS,
};
