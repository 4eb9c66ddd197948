/* retrieve_route.c: the CCR routes of the proxy (registered in routes.def):
 *   POST /v1/retrieve          {"hash": H, "query"?: Q}
 *   GET  /v1/retrieve/<hash>   ?query=Q
 *   GET  /v1/retrieve/stats    store counters (no content, no tenant data)
 *   POST /v1/retrieve/tool_call  a headroom_retrieve tool call in, its tool result out
 * Lookups are scoped to the tenant the core derived from the request's credential, so a
 * client reads only originals stored for its own key. 200 with retrieve.h's JSON object;
 * 400 malformed hash or body; 404 unknown or expired (or another tenant's); 503 when the
 * store is unavailable. Errors use the provider's error shape.
 */
#include "proxy/routes.h"

#include "ccr/retrieve.h"
#include "ccr/store.h"
#include "json/json.h"
#include "sys/hash.h"

#include <stdio.h>
#include <string.h>

static int answer(const hr_request *req, hr_response *res, const char *hash, size_t hash_len,
                  const char *query, size_t query_len)
{
    hr_ccr_store *store = hr_ccr_process_store();
    if (!store)
        return hr_response_error(res, req->api, 503, "api_error", NULL,
                                 "the CCR store is unavailable");
    char anonymous[HR_TENANT_MAX + 1];
    const char *tenant = hr_tenant_or_anonymous(req->tenant, anonymous);
    hr_ccr_retrieval r;
    hr_ccr_status st = hr_ccr_retrieve(store, tenant, hash, hash_len, query, query_len, &r);
    int rc;
    if (st == HR_CCR_FOUND) {
        hr_buf body = HR_BUF_INIT;
        char h[HR_CONTENT_HASH_HEX + 1];
        memcpy(h, hash, HR_CONTENT_HASH_HEX);
        h[HR_CONTENT_HASH_HEX] = '\0';
        rc = hr_ccr_retrieval_json(&r, h, query, query_len, &body);
        if (rc == 0)
            rc = hr_response_json(res, 200, body.data, body.len);
        hr_buf_free(&body);
    } else if (st == HR_CCR_NOT_FOUND)
        rc = hr_response_error(res, req->api, 404, "not_found_error", "ccr_not_found",
                               "no original stored for hash %.24s: unknown or expired "
                               "(originals are kept for the CCR TTL)", hash);
    else if (st == HR_CCR_INVALID)
        rc = hr_response_error(res, req->api, 400, "invalid_request_error",
                               "ccr_invalid_hash", "malformed hash: expected 24 lowercase hex "
                               "characters, as after hash= in a marker");
    else
        rc = hr_response_error(res, req->api, 503, "api_error", NULL,
                               "the CCR store failed to read; try again");
    hr_ccr_retrieval_free(&r);
    return rc;
}

/* Parses the request body into d; on failure res holds the 400 and 1 is returned (with
 * *rc the handler's return value). */
static int parse_body(const hr_request *req, hr_response *res, hr_json_doc *d, int *rc)
{
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    memset(d, 0, sizeof *d);
    if (hr_json_parse(d, req->body, req->body_len, &lim, &err) == 0)
        return 0;
    *rc = hr_response_error(res, req->api, 400, "invalid_request_error", NULL,
                            "body is not JSON: %s", err.msg);
    return 1;
}

int hr_route_retrieve_post(const hr_request *req, hr_response *res)
{
    hr_json_doc d;
    int bad;
    if (parse_body(req, res, &d, &bad))
        return bad;
    uint32_t hash = d.nodes[0].type == HR_JSON_OBJECT ? hr_json_get(&d, 0, "hash")
                                                      : HR_JSON_NONE;
    uint32_t query = d.nodes[0].type == HR_JSON_OBJECT ? hr_json_get(&d, 0, "query")
                                                       : HR_JSON_NONE;
    hr_buf h = HR_BUF_INIT, q = HR_BUF_INIT;
    int rc;
    if (!hr_json_is(&d, hash, HR_JSON_STRING) ||
        hr_json_string(&d, hash, &h) < 0 ||
        (query != HR_JSON_NONE && d.nodes[query].type != HR_JSON_NULL &&
         (d.nodes[query].type != HR_JSON_STRING || hr_json_string(&d, query, &q) < 0)))
        rc = hr_response_error(res, req->api, 400, "invalid_request_error", NULL,
                               "expected {\"hash\": string, \"query\"?: string}");
    else
        rc = answer(req, res, h.data ? h.data : "", h.len, q.data, q.len);
    hr_buf_free(&h);
    hr_buf_free(&q);
    hr_json_doc_free(&d);
    return rc;
}

int hr_route_retrieve_get(const hr_request *req, hr_response *res)
{
    static const char prefix[] = "/v1/retrieve/";
    const char *hash = req->path + sizeof prefix - 1;
    hr_buf q = HR_BUF_INIT;
    if (hr_request_query_param(req, "query", &q) < 0) {
        hr_buf_free(&q);
        return -1;
    }
    int rc = answer(req, res, hash, strlen(hash), q.data, q.len);
    hr_buf_free(&q);
    return rc;
}

int hr_route_retrieve_stats(const hr_request *req, hr_response *res)
{
    hr_ccr_store *store = hr_ccr_process_store();
    if (!store)
        return hr_response_error(res, req->api, 503, "api_error", NULL,
                                 "the CCR store is unavailable");
    hr_ccr_stats st;
    hr_ccr_store_stats(store, &st);
    hr_buf body = HR_BUF_INIT;
    int rc = hr_ccr_stats_json(&st, &body);
    if (rc == 0)
        rc = hr_response_json(res, 200, body.data, body.len);
    hr_buf_free(&body);
    return rc;
}

/* ---- POST /v1/retrieve/tool_call ---------------------------------------------------------
 * For agent frameworks that run headroom_retrieve calls themselves, as the original's route:
 *   {"tool_call": {"id", "name": "headroom_retrieve", "input": {"hash", "query"?}},
 *    "provider": "anthropic"}                       (the default provider)
 *   {"tool_call": {"id", "function": {"name", "arguments": "{\"hash\": ...}"}},
 *    "provider": "openai"}
 * "provider" is an API row's name (api/api.h); the call is read in that row's form
 * (retrieve_call), else in any row's (the original took OpenAI's and Anthropic's forms
 * whatever the provider). Answers 200 {"tool_result": <the row's tool result item, its
 * text the data as JSON>, "success": bool, "data": <the retrieval, or {"error", "hash"}>};
 * a provider no row answers gets {"tool_call_id", "content"}. 400 when the body is not a
 * headroom_retrieve call. */

typedef struct tool_call {
    hr_buf id, hash, query;
} tool_call;

/* Reads hash/query from an arguments object. 0 ok (hash present). */
static int call_args(const hr_json_doc *d, uint32_t args, tool_call *c)
{
    if (!hr_json_is(d, args, HR_JSON_OBJECT))
        return -1;
    uint32_t h = hr_json_get(d, args, "hash"), q = hr_json_get(d, args, "query");
    if (!hr_json_is(d, h, HR_JSON_STRING) || hr_json_string(d, h, &c->hash))
        return -1;
    if (hr_json_is(d, q, HR_JSON_STRING) && hr_json_string(d, q, &c->query))
        return -1;
    return 0;
}

/* The call's id and arguments nodes: read in api's form first, then in any row's. 1 found. */
static int find_call(const hr_api *api, const hr_json_doc *d, uint32_t call, uint32_t *id,
                     uint32_t *args)
{
    int args_string; /* the node's own type decides below, as the original's route did */
    if (api && api->retrieve_call && api->retrieve_call(d, call, id, args, &args_string))
        return 1;
    size_t n;
    const hr_api *const *all = hr_api_all(&n);
    for (size_t i = 0; i < n; i++)
        if (all[i]->retrieve_call && all[i]->retrieve_call(d, call, id, args, &args_string))
            return 1;
    return 0;
}

static int parse_tool_call(const hr_api *api, const hr_json_doc *d, uint32_t call, tool_call *c)
{
    uint32_t id, a;
    if (!hr_json_is(d, call, HR_JSON_OBJECT) || !find_call(api, d, call, &id, &a))
        return -1;
    if (hr_json_is(d, id, HR_JSON_STRING) && hr_json_string(d, id, &c->id))
        return -1;
    if (hr_json_is(d, a, HR_JSON_OBJECT))
        return call_args(d, a, c);
    hr_buf text = HR_BUF_INIT;
    hr_json_doc ad;
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    int rc = -1;
    if (hr_json_is(d, a, HR_JSON_STRING) && !hr_json_string(d, a, &text) &&
        text.data && hr_json_parse(&ad, text.data, text.len, &lim, &e) == 0) {
        rc = call_args(&ad, 0, c);
        hr_json_doc_free(&ad);
    }
    hr_buf_free(&text);
    return rc;
}

/* The row "provider" names (Anthropic's when absent, as the original's default), or NULL. */
static const hr_api *provider_row(const hr_json_doc *d, uint32_t prov)
{
    if (prov == HR_JSON_NONE)
        return &hr_api_anthropic_messages;
    hr_buf name = HR_BUF_INIT;
    const hr_api *api = NULL;
    if (hr_json_is(d, prov, HR_JSON_STRING) && hr_json_string(d, prov, &name) == 0 && name.data &&
        strlen(name.data) == name.len)
        api = hr_api_by_name(name.data);
    hr_buf_free(&name);
    return api;
}

/* data: the retrieval as /v1/retrieve answers it, or {"error", "hash"}. 1 found, 0 not. */
static int tool_call_data(const hr_request *req, const tool_call *c, hr_buf *data)
{
    hr_ccr_store *store = hr_ccr_process_store();
    char anonymous[HR_TENANT_MAX + 1];
    const char *tenant = hr_tenant_or_anonymous(req->tenant, anonymous);
    hr_ccr_retrieval r;
    hr_ccr_status st = store ? hr_ccr_retrieve(store, tenant, c->hash.data, c->hash.len,
                                               c->query.data, c->query.len, &r)
                             : HR_CCR_ERROR;
    int found = st == HR_CCR_FOUND && c->hash.len == HR_CONTENT_HASH_HEX;
    if (found) {
        hr_ccr_retrieval_json(&r, c->hash.data, c->query.data, c->query.len, data);
    } else {
        hr_buf_puts(data, "{\"error\":");
        const char *why = st == HR_CCR_INVALID ? "malformed hash"
                          : st == HR_CCR_NOT_FOUND ? "Entry not found or expired"
                                                   : "the CCR store is unavailable";
        hr_json_write_string(data, why, strlen(why));
        hr_buf_puts(data, ",\"hash\":");
        hr_json_write_string(data, c->hash.data, c->hash.len);
        hr_buf_putc(data, '}');
    }
    if (store)
        hr_ccr_retrieval_free(&r);
    return found;
}

int hr_route_retrieve_tool_call(const hr_request *req, hr_response *res)
{
    hr_json_doc d;
    int bad;
    if (parse_body(req, res, &d, &bad))
        return bad;
    int obj = d.nodes[0].type == HR_JSON_OBJECT;
    const hr_api *api = provider_row(&d, obj ? hr_json_get(&d, 0, "provider") : HR_JSON_NONE);
    tool_call c = {HR_BUF_INIT, HR_BUF_INIT, HR_BUF_INIT};
    int rc;
    if (parse_tool_call(api, &d, obj ? hr_json_get(&d, 0, "tool_call") : HR_JSON_NONE, &c) != 0 ||
        !c.hash.len) {
        rc = hr_response_error(res, req->api, 400, "invalid_request_error", NULL,
                               "Invalid tool call or not a headroom_retrieve call");
    } else {
        hr_buf data = HR_BUF_INIT, out = HR_BUF_INIT;
        int found = tool_call_data(req, &c, &data);
        const char *id = c.id.data ? c.id.data : "";
        rc = hr_buf_puts(&out, "{\"tool_result\":");
        rc |= api && api->tool_result ? api->tool_result(&out, id, &data)
                                      : hr_api_tool_result(&out, "{\"tool_call_id\":", id, "content", &data);
        rc |= hr_buf_printf(&out, ",\"success\":%s,\"data\":", found ? "true" : "false");
        rc |= hr_buf_append(&out, data.data ? data.data : "{}", data.data ? data.len : 2);
        rc |= hr_buf_putc(&out, '}');
        if (rc == 0)
            rc = hr_response_json(res, 200, out.data, out.len);
        hr_buf_free(&data);
        hr_buf_free(&out);
    }
    hr_buf_free(&c.id);
    hr_buf_free(&c.hash);
    hr_buf_free(&c.query);
    hr_json_doc_free(&d);
    return rc;
}
