/* retrieve_route.c: the CCR routes of the proxy (registered in routes.def):
 *   POST /v1/retrieve          {"hash": H, "query"?: Q}
 *   GET  /v1/retrieve/<hash>   ?query=Q
 *   GET  /v1/retrieve/stats    store counters (no content, no tenant data)
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

#include <string.h>

static int answer(const hr_request *req, hr_response *res, const char *hash, size_t hash_len,
                  const char *query, size_t query_len)
{
    hr_ccr_store *store = hr_ccr_process_store();
    if (!store)
        return hr_response_error(res, req->provider, 503, "api_error", NULL,
                                 "the CCR store is unavailable");
    char anonymous[HR_CCR_TENANT_MAX + 1];
    const char *tenant = req->tenant;
    if (!tenant || !*tenant) {
        hr_ccr_tenant_derive(NULL, 0, anonymous);
        tenant = anonymous;
    }
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
        rc = hr_response_error(res, req->provider, 404, "not_found_error", "ccr_not_found",
                               "no original stored for hash %.24s: unknown or expired "
                               "(originals are kept for the CCR TTL)", hash);
    else if (st == HR_CCR_INVALID)
        rc = hr_response_error(res, req->provider, 400, "invalid_request_error",
                               "ccr_invalid_hash", "malformed hash: expected 24 lowercase hex "
                               "characters, as after hash= in a marker");
    else
        rc = hr_response_error(res, req->provider, 503, "api_error", NULL,
                               "the CCR store failed to read; try again");
    hr_ccr_retrieval_free(&r);
    return rc;
}

int hr_route_retrieve_post(const hr_request *req, hr_response *res)
{
    hr_json_doc d = {0};
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, req->body, req->body_len, &lim, &err) != 0)
        return hr_response_error(res, req->provider, 400, "invalid_request_error", NULL,
                                 "body is not JSON: %s", err.msg);
    uint32_t hash = d.nodes[0].type == HR_JSON_OBJECT ? hr_json_get(&d, 0, "hash")
                                                      : HR_JSON_NONE;
    uint32_t query = d.nodes[0].type == HR_JSON_OBJECT ? hr_json_get(&d, 0, "query")
                                                       : HR_JSON_NONE;
    hr_buf h = HR_BUF_INIT, q = HR_BUF_INIT;
    int rc;
    if (hash == HR_JSON_NONE || d.nodes[hash].type != HR_JSON_STRING ||
        hr_json_string(&d, hash, &h) < 0 ||
        (query != HR_JSON_NONE && d.nodes[query].type != HR_JSON_NULL &&
         (d.nodes[query].type != HR_JSON_STRING || hr_json_string(&d, query, &q) < 0)))
        rc = hr_response_error(res, req->provider, 400, "invalid_request_error", NULL,
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
        return hr_response_error(res, req->provider, 503, "api_error", NULL,
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
