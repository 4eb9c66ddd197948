/* tool_inject.c: see tool_inject.h. One tool description and schema for all three
 * provider formats, so the model sees the same words whichever API the agent speaks, and
 * the rules for when offering it would change what the client asked for (legacy
 * `functions`, a forced tool call): then nothing is injected.
 */
#include "ccr/tool_inject.h"

#include "ccr/marker.h"
#include "json/json.h"

#include <string.h>

#define TOOL_DESCRIPTION                                                                   \
    "Retrieve original content that was compressed to save context. Compressed content "   \
    "ends with a marker like [100 items compressed to 12. Retrieve more: hash=abc...]. "   \
    "Call this with that hash to get the full original, or add a query to get only the " \
    "most relevant items or lines."

#define TOOL_SCHEMA                                                                        \
    "{\"type\":\"object\",\"properties\":{\"hash\":{\"type\":\"string\",\"description\":" \
    "\"the 24 hex characters after hash= in the marker\"},\"query\":{\"type\":\"string\"," \
    "\"description\":\"optional: what to look for; returns only matching items\"}},"       \
    "\"required\":[\"hash\"]}"

/* Gemini's Schema is an OpenAPI subset whose types are the enum names (OBJECT, STRING). */
#define GEMINI_SCHEMA                                                                      \
    "{\"type\":\"OBJECT\",\"properties\":{\"hash\":{\"type\":\"STRING\",\"description\":" \
    "\"the 24 hex characters after hash= in the marker\"},\"query\":{\"type\":\"STRING\"," \
    "\"description\":\"optional: what to look for; returns only matching items\"}},"       \
    "\"required\":[\"hash\"]}"

int hr_ccr_tool_definition(hr_ccr_api api, hr_buf *out)
{
    switch (api) {
    case HR_CCR_API_GEMINI: /* one more Tool in tools[], holding our one declaration */
        return hr_buf_puts(out, "{\"functionDeclarations\":[{\"name\":\"" HR_CCR_TOOL_NAME
                                "\",\"description\":\"" TOOL_DESCRIPTION "\",\"parameters\":"
                                GEMINI_SCHEMA "}]}");
    case HR_CCR_API_ANTHROPIC:
        return hr_buf_puts(out, "{\"name\":\"" HR_CCR_TOOL_NAME "\",\"description\":\""
                                TOOL_DESCRIPTION "\",\"input_schema\":" TOOL_SCHEMA "}");
    case HR_CCR_API_RESPONSES:
        return hr_buf_puts(out, "{\"type\":\"function\",\"name\":\"" HR_CCR_TOOL_NAME
                                "\",\"description\":\"" TOOL_DESCRIPTION "\",\"parameters\":"
                                TOOL_SCHEMA ",\"strict\":false}");
    default:
        return hr_buf_puts(out, "{\"type\":\"function\",\"function\":{\"name\":\""
                                HR_CCR_TOOL_NAME "\",\"description\":\"" TOOL_DESCRIPTION
                                "\",\"parameters\":" TOOL_SCHEMA "}}");
    }
}

/* The name of a tools[] element: function.name (chat) or name (Anthropic, Responses). */
static uint32_t tool_name_node(hr_ccr_api api, const hr_json_doc *d, uint32_t tool)
{
    if (d->nodes[tool].type != HR_JSON_OBJECT)
        return HR_JSON_NONE;
    if (api == HR_CCR_API_OPENAI_CHAT) {
        uint32_t fn = hr_json_get(d, tool, "function");
        return fn == HR_JSON_NONE ? HR_JSON_NONE : hr_json_get(d, fn, "name");
    }
    return hr_json_get(d, tool, "name");
}

/* Gemini: tools[] holds Tool objects, each with a functionDeclarations[] list. */
static int gemini_declares_retrieve(const hr_json_doc *d, uint32_t tool)
{
    uint32_t decls = d->nodes[tool].type == HR_JSON_OBJECT
                         ? hr_json_get(d, tool, "functionDeclarations") : HR_JSON_NONE;
    if (decls == HR_JSON_NONE || d->nodes[decls].type != HR_JSON_ARRAY)
        return 0;
    for (uint32_t f = d->nodes[decls].first_child; f != HR_JSON_NONE; f = d->nodes[f].next)
        if (d->nodes[f].type == HR_JSON_OBJECT &&
            hr_json_string_eq(d, hr_json_get(d, f, "name"), HR_CCR_TOOL_NAME))
            return 1;
    return 0;
}

static int defines_retrieve_tool(hr_ccr_api api, const hr_json_doc *d, uint32_t tools)
{
    for (uint32_t t = d->nodes[tools].first_child; t != HR_JSON_NONE; t = d->nodes[t].next)
        if (api == HR_CCR_API_GEMINI ? gemini_declares_retrieve(d, t)
                                     : hr_json_string_eq(d, tool_name_node(api, d, t), HR_CCR_TOOL_NAME))
            return 1;
    return 0;
}

/* An OpenAI chat request on the legacy `functions` array: OpenAI rejects a request with
 * both `functions` and `tools`, so adding ours would break the client's request. */
static int uses_legacy_functions(hr_ccr_api api, const hr_json_doc *d)
{
    return api == HR_CCR_API_OPENAI_CHAT && hr_json_get(d, 0, "functions") != HR_JSON_NONE;
}

/* The tool a tool_choice object names, in any of the three formats: chat
 * {"type":"function","function":{"name":..}}, Responses {"type":"function","name":..},
 * Anthropic {"type":"tool","name":..}. HR_JSON_NONE when it names none. */
static uint32_t chosen_tool_name(const hr_json_doc *d, uint32_t tc)
{
    uint32_t fn = hr_json_get(d, tc, "function");
    if (fn != HR_JSON_NONE && d->nodes[fn].type == HR_JSON_OBJECT)
        return hr_json_get(d, fn, "name");
    return hr_json_get(d, tc, "name");
}

/* A turn whose tool_choice forces some tool call ("required", Anthropic {"type":"any"}) must
 * call a tool; offering ours would let the model satisfy that with a retrieval instead of
 * the client's action, and the tool loop's follow-up rounds are forced the same way. A
 * tool_choice naming headroom_retrieve (without the client defining it) would force ours.
 * Either way the offer is skipped. "auto", "none", a client tool by name and allowed-tools
 * lists (ours is not in them) leave the model free not to call ours. */
static int tool_choice_forces_ours(const hr_json_doc *d)
{
    /* Gemini: toolConfig.functionCallingConfig.mode ANY forces a call (allowedFunctionNames
     * would not name ours, but the follow-up rounds would still be forced) */
    uint32_t fcc = hr_json_get(d, hr_json_get(d, 0, "toolConfig"), "functionCallingConfig");
    if (fcc != HR_JSON_NONE && hr_json_string_eq(d, hr_json_get(d, fcc, "mode"), "ANY"))
        return 1;
    uint32_t tc = hr_json_get(d, 0, "tool_choice");
    if (tc == HR_JSON_NONE)
        return 0;
    if (d->nodes[tc].type == HR_JSON_STRING)
        return hr_json_string_eq(d, tc, "required") || hr_json_string_eq(d, tc, "any");
    if (d->nodes[tc].type != HR_JSON_OBJECT)
        return 0;
    uint32_t type = hr_json_get(d, tc, "type");
    return hr_json_string_eq(d, type, "any") ||
           hr_json_string_eq(d, chosen_tool_name(d, tc), HR_CCR_TOOL_NAME);
}

int hr_ccr_inject_tool(hr_ccr_api api, const char *body, size_t len, hr_buf *out)
{
    if (!hr_marker_present(body, len))
        return 0;
    hr_json_doc d = {0};
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, body, len, &lim, &err) != 0)
        return -1;
    int rc = -1;
    hr_buf insert = HR_BUF_INIT;
    const hr_json_node *root = &d.nodes[0];
    if (root->type != HR_JSON_OBJECT)
        goto done;
    if (uses_legacy_functions(api, &d) || tool_choice_forces_ours(&d)) {
        rc = 0; /* the original stays retrievable through the routes, CLI and MCP */
        goto done;
    }
    uint32_t tools = hr_json_get(&d, 0, "tools");
    size_t at;
    if (tools != HR_JSON_NONE) {
        if (d.nodes[tools].type != HR_JSON_ARRAY || defines_retrieve_tool(api, &d, tools)) {
            rc = 0; /* the client's own tool (or a tools value we do not understand) wins */
            goto done;
        }
        at = d.nodes[tools].end - 1; /* before ']' */
        if (d.nodes[tools].count && hr_buf_putc(&insert, ',') < 0)
            goto done;
        if (hr_ccr_tool_definition(api, &insert) < 0)
            goto done;
    } else {
        at = root->end - 1; /* before the root's '}' */
        if ((root->count && hr_buf_putc(&insert, ',') < 0) ||
            hr_buf_puts(&insert, "\"tools\":[") < 0 || hr_ccr_tool_definition(api, &insert) < 0 ||
            hr_buf_putc(&insert, ']') < 0)
            goto done;
    }
    hr_json_edit e = {at, at, insert.data, insert.len};
    rc = hr_json_splice(body, len, &e, 1, out) == 0 ? 1 : -1;
done:
    hr_buf_free(&insert);
    hr_json_doc_free(&d);
    return rc;
}
