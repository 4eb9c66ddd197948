/* tool_inject.c: see tool_inject.h. Where the tool goes (the end of "tools", at the root
 * or in the row's tools_holder, either created when absent) and the rules for when offering it
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
    HR_JSON_FOREACH(d, tools, t)
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
    if (hr_json_is(d, fn, HR_JSON_OBJECT))
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

/* `"tools":[<ours>]` as the last member of object obj, inside `"<holder>":{...}` when
 * holder is not NULL (the holder the API keeps its tools in is missing). */
static int new_tools_member(const hr_api *api, const hr_json_doc *d, uint32_t obj,
                            const char *holder, hr_buf *insert, size_t *at)
{
    int rc = 0;
    *at = d->nodes[obj].end - 1; /* before the object's '}' */
    if (d->nodes[obj].count)
        rc |= hr_buf_putc(insert, ',');
    if (holder)
        rc |= hr_buf_printf(insert, "\"%s\":{", holder);
    rc |= hr_buf_puts(insert, "\"tools\":[");
    rc |= api->tool_definition(insert);
    rc |= hr_buf_putc(insert, ']');
    if (holder)
        rc |= hr_buf_putc(insert, '}');
    return rc ? -1 : 0;
}

/* The object holding "tools": the root, or the row's tools_holder member (*missing set
 * when there is none yet). HR_JSON_NONE: a holder that is not an object (left alone). */
static uint32_t tools_object(const hr_api *api, const hr_json_doc *d, int *missing)
{
    *missing = 0;
    if (!api->tools_holder)
        return 0;
    uint32_t h = hr_json_get(d, 0, api->tools_holder);
    if (h == HR_JSON_NONE) {
        *missing = 1;
        return 0;
    }
    return d->nodes[h].type == HR_JSON_OBJECT ? h : HR_JSON_NONE;
}

int hr_ccr_tool_edit(const hr_api *api, const hr_json_doc *d, hr_json_edits *edits)
{
    const hr_json_node *root = hr_json_at(d, 0);
    if (!root || root->type != HR_JSON_OBJECT)
        return -1;
    if (!api->tool_definition || (api->tool_offer_blocked && api->tool_offer_blocked(d)) ||
        tool_choice_forces_ours(d))
        return 0; /* the original stays retrievable through the routes, CLI and MCP */
    int missing;
    uint32_t holder = tools_object(api, d, &missing);
    if (holder == HR_JSON_NONE)
        return 0; /* a tools holder we do not understand */
    uint32_t tools = missing ? HR_JSON_NONE : hr_json_get(d, holder, "tools");
    hr_buf insert = HR_BUF_INIT;
    size_t at;
    int rc = 0;
    if (tools != HR_JSON_NONE) {
        if (d->nodes[tools].type != HR_JSON_ARRAY || defines_retrieve_tool(api, d, tools))
            return 0; /* the client's own tool (or a tools value we do not understand) wins */
        at = d->nodes[tools].end - 1; /* before ']' */
        if (d->nodes[tools].count)
            rc |= hr_buf_putc(&insert, ',');
        rc |= api->tool_definition(&insert);
    } else
        rc = new_tools_member(api, d, holder, missing ? api->tools_holder : NULL, &insert, &at);
    if (rc) {
        hr_buf_free(&insert);
        return -1;
    }
    return hr_json_edits_take(edits, at, at, &insert) == 0 ? 1 : -1;
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
    hr_json_edits edits = HR_JSON_EDITS_INIT;
    int rc = hr_ccr_tool_edit(api, &d, &edits);
    if (rc == 1 && hr_json_edits_apply(&edits, body, len, out) != 0)
        rc = -1;
    hr_json_edits_free(&edits);
    hr_json_doc_free(&d);
    return rc;
}
