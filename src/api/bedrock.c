/* bedrock.c: the two Amazon Bedrock Runtime rows (provider "bedrock").
 *
 *   bedrock_invoke    POST /model/{id}/invoke and /invoke-with-response-stream: the body is
 *                     Anthropic Messages (anthropic_version instead of model), so the
 *                     conversation, images and usage are the Anthropic row's; the row also
 *                     owns every other /model/ path (their errors take Bedrock's shape).
 *   bedrock_converse  POST /model/{id}/converse and /converse-stream: Converse blocks are
 *                     keyed by kind, not typed: {"text"}, {"toolUse": {toolUseId, name,
 *                     input}}, {"toolResult": {toolUseId, content: [{"text"} | {"json"} |
 *                     {"image"} ...]}}; its text and json parts are outputs.
 *
 * Errors: {"message": "..."} with x-amzn-errortype naming the exception, which the AWS SDKs
 * read. Streams are AWS event streams, not SSE: no error_event here; the proxy ends a
 * broken stream with an exception frame (proxy/bedrock.h). headroom_retrieve is offered on
 * invoke in Anthropic's format and on Converse in its own (toolConfig.tools[].toolSpec,
 * calls as toolUse blocks, stopReason "tool_use", results as toolResult blocks), and
 * answered in non-streaming answers only (each round is a new body the proxy signs again;
 * the event-stream answers have no rewriter, so the proxy does not offer the tool on
 * them). The signing, the credentials and the event-stream reading live in
 * src/proxy/bedrock.c and src/http (this layer is JSON only).
 */
#include "api/api.h"

#include <string.h>

#define MODEL_PREFIX "/model/"

/* /model/{id}{suffix}, POST, with a non-empty id (the path is decoded: an ARN id may hold
 * '/', the suffix decides). */
static int model_route(const char *method, const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix), p = sizeof MODEL_PREFIX - 1;
    return !strcmp(method, "POST") && !strncmp(path, MODEL_PREFIX, p) && n > p + k &&
           !strcmp(path + n - k, suffix);
}

static int match_invoke(const char *method, const char *path)
{
    return model_route(method, path, "/invoke") ||
           model_route(method, path, "/invoke-with-response-stream");
}

static int match_converse(const char *method, const char *path)
{
    return model_route(method, path, "/converse") || model_route(method, path, "/converse-stream");
}

static int error_json(hr_buf *out, int status, const char *type, const char *code,
                      const char *msg)
{
    (void)status;
    (void)type; /* the type travels in x-amzn-errortype */
    (void)code;
    int rc = hr_buf_puts(out, "{\"message\":");
    rc |= hr_json_write_string(out, msg, strlen(msg));
    rc |= hr_buf_putc(out, '}');
    return rc ? -1 : 0;
}

static const char *error_type(int status)
{
    switch (status) {
    case 403: return "AccessDeniedException";
    case 404: return "ResourceNotFoundException";
    case 408: case 504: return "ModelTimeoutException";
    case 429: return "ThrottlingException";
    case 503: return "ServiceUnavailableException";
    default: return status >= 500 ? "InternalServerException" : "ValidationException";
    }
}

/* A toolResult's content parts: {"text"} parts are text outputs, {"json"} parts JSON
 * values (their document compresses like any JSON tool output and goes back as a string,
 * which a json part may hold); images and documents are left alone. */
static void tool_result_parts(const hr_json_doc *d, uint32_t parts, uint32_t message,
                              uint32_t id, const hr_api_visitor *v)
{
    for (uint32_t p = d->nodes[parts].first_child; p != HR_JSON_NONE; p = d->nodes[p].next) {
        if (d->nodes[p].type != HR_JSON_OBJECT)
            continue;
        uint32_t text = hr_json_get(d, p, "text"), json = hr_json_get(d, p, "json");
        if (text != HR_JSON_NONE)
            v->tool_output(v->user, text, message, id);
        else if (json != HR_JSON_NONE && v->tool_json)
            v->tool_json(v->user, json, message, id);
    }
}

static void walk_converse(const hr_json_doc *d, uint32_t messages, const hr_api_visitor *v)
{
    uint32_t i = 0;
    for (uint32_t m = d->nodes[messages].first_child; m != HR_JSON_NONE;
         m = d->nodes[m].next, i++) {
        uint32_t content = hr_json_get(d, m, "content");
        int user = hr_api_member_is(d, m, "role", "user");
        if (content == HR_JSON_NONE || d->nodes[content].type != HR_JSON_ARRAY)
            continue;
        for (uint32_t b = d->nodes[content].first_child; b != HR_JSON_NONE;
             b = d->nodes[b].next) {
            if (d->nodes[b].type != HR_JSON_OBJECT)
                continue;
            uint32_t use = hr_json_get(d, b, "toolUse"), result = hr_json_get(d, b, "toolResult");
            uint32_t text = hr_json_get(d, b, "text");
            if (use != HR_JSON_NONE && d->nodes[use].type == HR_JSON_OBJECT)
                v->tool_call(v->user, hr_json_get(d, use, "toolUseId"), hr_json_get(d, use, "name"));
            else if (user && text != HR_JSON_NONE && d->nodes[text].type == HR_JSON_STRING)
                v->user_text(v->user, text);
            else if (result != HR_JSON_NONE && d->nodes[result].type == HR_JSON_OBJECT) {
                uint32_t parts = hr_json_get(d, result, "content"), id = hr_json_get(d, result, "toolUseId");
                if (parts == HR_JSON_NONE || d->nodes[parts].type != HR_JSON_ARRAY)
                    continue;
                tool_result_parts(d, parts, i, id, v);
            }
        }
    }
}

/* ---- Converse's headroom_retrieve ------------------------------------------------------- */

static int converse_tool_definition(hr_buf *out)
{
    return hr_buf_puts(out, "{\"toolSpec\":{\"name\":\"" HR_API_TOOL_NAME "\",\"description\":\""
                            HR_API_TOOL_DESCRIPTION "\",\"inputSchema\":{\"json\":"
                            HR_API_TOOL_SCHEMA "}}}");
}

/* A toolConfig.tools element: {"toolSpec": {name, ...}} (or a cachePoint: no name). */
static uint32_t converse_tool_name(const hr_json_doc *d, uint32_t tool)
{
    uint32_t spec = hr_json_is(d, tool, HR_JSON_OBJECT) ? hr_json_get(d, tool, "toolSpec")
                                                         : HR_JSON_NONE;
    return hr_json_is(d, spec, HR_JSON_OBJECT) ? hr_json_get(d, spec, "name") : HR_JSON_NONE;
}

/* toolConfig.toolChoice {"any": {}} makes the model call some tool (ours would do), and
 * {"tool": {"name": "headroom_retrieve"}} would force ours: either way no offer.
 * {"auto": {}} and a client tool by name leave the model free not to call ours. */
static int converse_tool_offer_blocked(const hr_json_doc *d)
{
    uint32_t cfg = hr_json_get(d, 0, "toolConfig");
    uint32_t choice = hr_json_is(d, cfg, HR_JSON_OBJECT) ? hr_json_get(d, cfg, "toolChoice")
                                                         : HR_JSON_NONE;
    if (!hr_json_is(d, choice, HR_JSON_OBJECT))
        return 0;
    uint32_t tool = hr_json_get(d, choice, "tool");
    return hr_json_get(d, choice, "any") != HR_JSON_NONE ||
           (hr_json_is(d, tool, HR_JSON_OBJECT) &&
            hr_json_string_eq(d, hr_json_get(d, tool, "name"), HR_API_TOOL_NAME));
}

/* A content block {"toolUse": {toolUseId, name, input}}: 1 when it calls ours. */
static int converse_retrieve_call(const hr_json_doc *d, uint32_t block, uint32_t *id,
                                  uint32_t *args, int *args_string)
{
    uint32_t use = hr_json_get(d, block, "toolUse");
    if (!hr_json_is(d, use, HR_JSON_OBJECT) ||
        !hr_json_string_eq(d, hr_json_get(d, use, "name"), HR_API_TOOL_NAME))
        return 0;
    *id = hr_json_get(d, use, "toolUseId");
    *args = hr_json_get(d, use, "input");
    *args_string = 0;
    return 1;
}

/* The answer's message: {"output": {"message": {"role": "assistant", "content": [...]}}}. */
static uint32_t converse_answer_message(const hr_json_doc *d)
{
    uint32_t output = hr_json_get(d, 0, "output");
    uint32_t msg = hr_json_is(d, output, HR_JSON_OBJECT) ? hr_json_get(d, output, "message")
                                                         : HR_JSON_NONE;
    return hr_json_is(d, msg, HR_JSON_OBJECT) ? msg : HR_JSON_NONE;
}

static int converse_find_calls(const hr_json_doc *d, hr_api_calls *calls)
{
    if (!hr_json_string_eq(d, hr_json_get(d, 0, "stopReason"), "tool_use"))
        return 0;
    uint32_t msg = converse_answer_message(d);
    uint32_t content = msg != HR_JSON_NONE ? hr_json_get(d, msg, "content") : HR_JSON_NONE;
    if (!hr_json_is(d, content, HR_JSON_ARRAY))
        return 0;
    HR_JSON_FOREACH(d, content, b) {
        if (!hr_json_is(d, hr_json_get(d, b, "toolUse"), HR_JSON_OBJECT))
            continue;
        if (hr_api_take_call(calls, d, b, converse_retrieve_call) < 0)
            return 0;
    }
    return 1;
}

/* {"toolResult": {"toolUseId": id, "content": [{"text": result}]}} */
static int converse_tool_result(hr_buf *out, const char *id, const hr_buf *result)
{
    int rc = hr_buf_puts(out, "{\"toolResult\":{\"toolUseId\":");
    rc |= hr_json_write_string(out, id, strlen(id));
    rc |= hr_buf_puts(out, ",\"content\":[{\"text\":");
    rc |= hr_json_write_string(out, result->data ? result->data : "", result->len);
    rc |= hr_buf_puts(out, "}]}}");
    return rc ? -1 : 0;
}

/* The model's message as it came (role and content), then one user message with a
 * toolResult block per call, as Converse pairs them. */
static int converse_followup_items(const hr_json_doc *resp, const hr_api_calls *calls,
                                   const hr_buf *results, hr_buf *ins)
{
    uint32_t msg = converse_answer_message(resp);
    if (msg == HR_JSON_NONE)
        return -1;
    int rc = hr_json_write_raw(ins, resp, msg);
    rc |= hr_api_results_turn(ins, ",{\"role\":\"user\",\"content\":[", calls, results,
                              converse_tool_result);
    return rc ? -1 : 0;
}

static const hr_api_usage_field CONVERSE_USAGE[] = {
    HR_API_USAGE_NUMBER("inputTokens", input),
    HR_API_USAGE_NUMBER("outputTokens", output),
    HR_API_USAGE_NUMBER("totalTokens", total),
    HR_API_USAGE_NUMBER("cacheReadInputTokens", cache_read),
    HR_API_USAGE_NUMBER("cacheWriteInputTokens", cache_creation),
    {.key = NULL}};

/* What both rows share: provider, error shape, where the conversation lives. */
#define BEDROCK_ROW                                                                        \
    .provider = "bedrock", .error_json = error_json, .error_header = "x-amzn-errortype",  \
    .error_header_value = error_type, .overloaded_type = "ServiceUnavailableException",   \
    .too_large_type = "ValidationException", .conversation_key = "messages",              \
    .system_key = "system"

const hr_api hr_api_bedrock_invoke = {
    BEDROCK_ROW,
    .name = "bedrock",
    .label = "bedrock_invoke",
    .match = match_invoke,
    .owns_prefix = MODEL_PREFIX,
    HR_API_ANTHROPIC_BODY, /* invoke's bodies and stream events are Anthropic's */
};

const hr_api hr_api_bedrock_converse = {
    BEDROCK_ROW,
    .name = "bedrock-converse",
    .label = "bedrock_converse",
    .match = match_converse,
    .walk = walk_converse,
    .tool_definition = converse_tool_definition,
    .tool_name = converse_tool_name,
    .tool_offer_blocked = converse_tool_offer_blocked,
    .tools_holder = "toolConfig",
    .find_calls = converse_find_calls,
    .followup_items = converse_followup_items,
    .retrieve_call = converse_retrieve_call,
    .tool_result = converse_tool_result,
    .usage_fields = CONVERSE_USAGE,
};
