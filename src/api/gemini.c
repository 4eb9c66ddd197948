/* gemini.c: the Gemini rows: Google's Gemini API (POST /v1beta/models/{m}:generateContent and
 * :streamGenerateContent, also /v1alpha/ and /v1/models/; the provider owns /v1beta/) and
 * the same API on Vertex AI for Google's models (/v1/projects/{p}/locations/{l}/publishers/
 * google/models/{m}:generateContent, also /v1beta1/; the provider owns /v1/projects/).
 *
 * Conversation: "contents" of {role: "user" | "model", parts: [...]}, with a top-level
 * "systemInstruction"; a part is {text}, {functionCall: {name, args, id?}},
 * {functionResponse: {name, response, id?}}, {inlineData: {mimeType, data}}, ... Tool
 * outputs are functionResponse parts. Their "response" is a JSON object the client fills as
 * it likes (google.protobuf.Struct): the text sits in its string members ("output",
 * "result", "content", "error", ...) or in an MCP-style "content" array of text items, and
 * those are the text spans; its object and array members are JSON spans (numbers and
 * booleans stay as they are). Gemini call ids are
 * optional, so a tool is known by its name: the walk reports the name as the call's id.
 * Tools: [{"functionDeclarations":[{name, description, parameters}]}]; headroom_retrieve is
 * offered as one more Tool (types are Schema enum names: OBJECT, STRING);
 * toolConfig.functionCallingConfig.mode ANY forces a call, so nothing is offered then.
 * Usage: "usageMetadata" {promptTokenCount, candidatesTokenCount, totalTokenCount,
 * cachedContentTokenCount}. Errors: google.rpc.Status {"error":{"code","message","status"}};
 * a broken stream ends with that object as a data event.
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

/* Google's canonical codes (google.rpc.Code) by HTTP status, as Google's APIs pair them. */
static const char *google_status(int status)
{
    switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 405: return "UNIMPLEMENTED";
    case 408:
    case 504: return "DEADLINE_EXCEEDED";
    case 409: return "ABORTED";
    case 413: return "INVALID_ARGUMENT";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 501: return "UNIMPLEMENTED";
    case 503: return "UNAVAILABLE";
    default: return status >= 400 && status < 500 ? "FAILED_PRECONDITION" : "INTERNAL";
    }
}

static int error_json(hr_buf *out, int status, const char *type, const char *code,
                      const char *msg)
{
    (void)type;
    (void)code; /* Google's shape carries the HTTP code and the canonical status only */
    int rc = hr_buf_printf(out, "{\"error\":{\"code\":%d,\"message\":", status);
    rc |= hr_json_write_string(out, msg, strlen(msg));
    rc |= hr_buf_printf(out, ",\"status\":\"%s\"}}", google_status(status));
    return rc ? -1 : 0;
}

static int error_event(hr_buf *out, const char *msg)
{
    return hr_api_sse_error(out, NULL,
                            "{\"error\":{\"code\":502,\"message\":%s,\"status\":\"UNAVAILABLE\"}}", msg);
}

/* ---- routes ------------------------------------------------------------------------------ */

static int starts(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

static int ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static int generate_method(const char *path)
{
    return ends(path, ":generateContent") || ends(path, ":streamGenerateContent");
}

static int match_gemini(const char *method, const char *path)
{
    return !strcmp(method, "POST") && generate_method(path) &&
           (starts(path, "/v1beta/models/") || starts(path, "/v1alpha/models/") ||
            starts(path, "/v1/models/"));
}

static int match_vertex(const char *method, const char *path)
{
    return !strcmp(method, "POST") && generate_method(path) &&
           (starts(path, "/v1/projects/") || starts(path, "/v1beta1/projects/")) &&
           strstr(path, "/publishers/google/models/") != NULL;
}

/* ---- the conversation ---------------------------------------------------------------------- */

/* One functionResponse: its string members and MCP "content" arrays are text outputs, its
 * other object and array members JSON outputs ({"result": {...}}: a compressed one becomes
 * a string member, which a Struct allows, so the response stays an object). */
static void function_response(const hr_json_doc *d, uint32_t fr, uint32_t message,
                              const hr_api_visitor *v)
{
    uint32_t name = hr_json_get(d, fr, "name");
    uint32_t resp = hr_json_get(d, fr, "response");
    if (resp == HR_JSON_NONE || d->nodes[resp].type != HR_JSON_OBJECT)
        return;
    v->tool_call(v->user, name, name); /* ids are optional: the name stands for the call */
    for (uint32_t m = d->nodes[resp].first_child; m != HR_JSON_NONE; m = d->nodes[m].next) {
        int type = d->nodes[m].type;
        if (type == HR_JSON_STRING || (type == HR_JSON_ARRAY && hr_json_key_eq(d, m, "content")))
            v->tool_output(v->user, m, message, name);
        else if ((type == HR_JSON_OBJECT || type == HR_JSON_ARRAY) && v->tool_json)
            v->tool_json(v->user, m, message, name);
    }
}

static void walk(const hr_json_doc *d, uint32_t contents, const hr_api_visitor *v)
{
    uint32_t i = 0;
    for (uint32_t c = d->nodes[contents].first_child; c != HR_JSON_NONE;
         c = d->nodes[c].next, i++) {
        uint32_t parts = hr_json_get(d, c, "parts");
        if (parts == HR_JSON_NONE || d->nodes[parts].type != HR_JSON_ARRAY)
            continue;
        int user = !hr_api_member_is(d, c, "role", "model");
        for (uint32_t p = d->nodes[parts].first_child; p != HR_JSON_NONE; p = d->nodes[p].next) {
            uint32_t fr = hr_json_get(d, p, "functionResponse");
            uint32_t text = hr_json_get(d, p, "text");
            if (fr != HR_JSON_NONE && d->nodes[fr].type == HR_JSON_OBJECT)
                function_response(d, fr, i, v);
            else if (user && text != HR_JSON_NONE && d->nodes[text].type == HR_JSON_STRING &&
                     d->nodes[text].end - d->nodes[text].start > 2)
                v->user_text(v->user, text);
        }
    }
}

/* inlineData (REST camelCase) or inline_data (the snake_case the API also takes) with an
 * image MIME type; fileData URIs are never fetched. */
static hr_api_image image_part(const hr_json_doc *d, uint32_t part)
{
    uint32_t in = hr_json_get(d, part, "inlineData");
    uint32_t mime = hr_json_get(d, in, "mimeType");
    if (in == HR_JSON_NONE) {
        in = hr_json_get(d, part, "inline_data");
        mime = hr_json_get(d, in, "mime_type");
    }
    if (mime == HR_JSON_NONE || d->nodes[mime].type != HR_JSON_STRING ||
        strncmp(d->src + d->nodes[mime].start, "\"image/", 7) != 0)
        return (hr_api_image){HR_API_IMAGE_NONE, HR_JSON_NONE, HR_JSON_NONE};
    return (hr_api_image){HR_API_IMAGE_INLINE, in, mime};
}

/* ---- the model's way back ------------------------------------------------------------------ */

/* Schema types are the enum names here. */
#define GEMINI_SCHEMA                                                                      \
    "{\"type\":\"OBJECT\",\"properties\":{\"hash\":{\"type\":\"STRING\",\"description\":" \
    "\"the 24 hex characters after hash= in the marker\"},\"query\":{\"type\":\"STRING\"," \
    "\"description\":\"optional: what to look for; returns only matching items\"}},"       \
    "\"required\":[\"hash\"]}"

static int tool_definition(hr_buf *out)
{
    return hr_buf_puts(out, "{\"functionDeclarations\":[{\"name\":\"" HR_API_TOOL_NAME
                            "\",\"description\":\"" HR_API_TOOL_DESCRIPTION "\",\"parameters\":"
                            GEMINI_SCHEMA "}]}");
}

/* A Tool holds a list of declarations: the name node of headroom_retrieve when it declares
 * it, else of its first declaration. */
static uint32_t tool_name(const hr_json_doc *d, uint32_t tool)
{
    uint32_t decls = hr_json_get(d, tool, "functionDeclarations");
    if (decls == HR_JSON_NONE || d->nodes[decls].type != HR_JSON_ARRAY)
        return HR_JSON_NONE;
    uint32_t first = HR_JSON_NONE;
    for (uint32_t f = d->nodes[decls].first_child; f != HR_JSON_NONE; f = d->nodes[f].next) {
        uint32_t name = hr_json_get(d, f, "name");
        if (hr_json_string_eq(d, name, HR_API_TOOL_NAME))
            return name;
        if (first == HR_JSON_NONE)
            first = name;
    }
    return first;
}

static int tool_offer_blocked(const hr_json_doc *d)
{
    uint32_t fcc = hr_json_get(d, hr_json_get(d, 0, "toolConfig"), "functionCallingConfig");
    return fcc != HR_JSON_NONE && hr_json_string_eq(d, hr_json_get(d, fcc, "mode"), "ANY");
}

/* A functionCall object {name, args, id?}; a call without an id is kept with an empty one
 * (its result then carries none). */
static int retrieve_call(const hr_json_doc *d, uint32_t fc, uint32_t *id, uint32_t *args,
                         int *args_string)
{
    if (!hr_json_string_eq(d, hr_json_get(d, fc, "name"), HR_API_TOOL_NAME))
        return 0;
    *id = hr_json_get(d, fc, "id");
    if (*id == HR_JSON_NONE)
        *id = HR_API_NO_ID;
    *args = hr_json_get(d, fc, "args");
    *args_string = 0;
    return 1;
}

/* {"functionResponse":{"id"?,"name","response":{"output": text}}}: the text goes in
 * response.output, as Google's docs show. */
static int tool_result(hr_buf *out, const char *id, const hr_buf *result)
{
    int rc = hr_buf_puts(out, "{\"functionResponse\":{");
    if (id[0]) {
        rc |= hr_buf_puts(out, "\"id\":");
        rc |= hr_json_write_string(out, id, strlen(id));
        rc |= hr_buf_putc(out, ',');
    }
    rc |= hr_buf_puts(out, "\"name\":\"" HR_API_TOOL_NAME "\",\"response\":{\"output\":");
    rc |= hr_json_write_string(out, result->data ? result->data : "", result->len);
    rc |= hr_buf_puts(out, "}}}");
    return rc ? -1 : 0;
}

/* candidates[0].content.parts[] with functionCall parts. */
static int find_calls(const hr_json_doc *d, hr_api_calls *calls)
{
    uint32_t cands = hr_json_get(d, 0, "candidates");
    uint32_t cand = hr_json_index(d, cands, 0);
    if (cand == HR_JSON_NONE || hr_json_index(d, cands, 1) != HR_JSON_NONE)
        return 0; /* several candidates: leave it to the client */
    uint32_t parts = hr_json_get(d, hr_json_get(d, cand, "content"), "parts");
    if (parts == HR_JSON_NONE || d->nodes[parts].type != HR_JSON_ARRAY)
        return 0;
    for (uint32_t p = d->nodes[parts].first_child; p != HR_JSON_NONE; p = d->nodes[p].next) {
        uint32_t fc = hr_json_get(d, p, "functionCall");
        if (fc != HR_JSON_NONE && hr_api_take_call(calls, d, fc, retrieve_call) < 0)
            return 0;
    }
    return 1;
}

/* The candidate's content as it came (role "model"), then one user turn with a
 * functionResponse per call. */
static int followup_items(const hr_json_doc *resp, const hr_api_calls *calls,
                          const hr_buf *results, hr_buf *ins)
{
    uint32_t cand = hr_json_index(resp, hr_json_get(resp, 0, "candidates"), 0);
    int rc = hr_json_write_raw(ins, resp, hr_json_get(resp, cand, "content"));
    rc |= hr_api_results_turn(ins, ",{\"role\":\"user\",\"parts\":[", calls, results, tool_result);
    return rc ? -1 : 0;
}

static const hr_api_usage_field USAGE[] = {
    HR_API_USAGE_NUMBER("promptTokenCount", input),
    HR_API_USAGE_NUMBER("candidatesTokenCount", output),
    HR_API_USAGE_NUMBER("totalTokenCount", total),
    HR_API_USAGE_COUNTED("cachedContentTokenCount", cache_read, HR_API_USAGE_CACHED_IN_INPUT, NULL),
    HR_API_USAGE_COUNTED("thoughtsTokenCount", output, HR_API_USAGE_PLUS_OUTPUT, NULL),
    {.key = NULL}};

#define GEMINI_HOOKS                                                                       \
    .method = "POST", .error_json = error_json, .error_event = error_event,                \
    .overloaded_type = "server_error", .too_large_type = "invalid_request_error",          \
    .conversation_key = "contents", .system_key = "systemInstruction", .walk = walk,       \
    .image_part = image_part, .tool_definition = tool_definition, .tool_name = tool_name,  \
    .tool_offer_blocked = tool_offer_blocked, .find_calls = find_calls,                    \
    .retrieve_call = retrieve_call, .tool_result = tool_result,                            \
    .followup_items = followup_items, .usage_fields = USAGE,                               \
    .usage_key = "usageMetadata", .parts_key = "parts"

const hr_api hr_api_gemini = {
    .name = "gemini",
    .label = "generate_content",
    .provider = "gemini",
    .upstream_setting = "gemini_url",
    .path_model = hr_api_google_path_model,
    .match = match_gemini,
    .owns_prefix = "/v1beta/",
    GEMINI_HOOKS,
};

const hr_api hr_api_vertex_gemini = {
    .name = "vertex_gemini",
    .label = "vertex_generate_content",
    .provider = "vertex",
    HR_API_VERTEX_UPSTREAM,
    .match = match_vertex,
    .owns_prefix = "/v1/projects/",
    GEMINI_HOOKS,
};
