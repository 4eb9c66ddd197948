/* tool_inject.c: see tool_inject.h. Where the tool goes and the rules for when offering it
 * would change what the client asked for (a forced tool call; an API's own blocker, such
 * as OpenAI's legacy `functions`): then nothing is injected. The tool's words and format
 * are the API row's (api/api.h: one description and schema for every API).
 */
#include "ccr/tool_inject.h"

#include "ccr/marker.h"
#include "json/json.h"

#include <string.h>

static int defines_retrieve_tool(const hr_api *api, const hr_json_doc *d, uint32_t tools)
{
    for (uint32_t t = d->nodes[tools].first_child; t != HR_JSON_NONE; t = d->nodes[t].next)
        if (hr_json_string_eq(d, api->tool_name(d, t), HR_CCR_TOOL_NAME))
            return 1;
    return 0;
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

int hr_ccr_inject_tool(const hr_api *api, const char *body, size_t len, hr_buf *out)
{
    if (!api->tool_definition || !hr_marker_present(body, len))
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
    if ((api->tool_offer_blocked && api->tool_offer_blocked(&d)) || tool_choice_forces_ours(&d)) {
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
        if (api->tool_definition(&insert) < 0)
            goto done;
    } else {
        at = root->end - 1; /* before the root's '}' */
        if ((root->count && hr_buf_putc(&insert, ',') < 0) ||
            hr_buf_puts(&insert, "\"tools\":[") < 0 || api->tool_definition(&insert) < 0 ||
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
