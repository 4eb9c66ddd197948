/* usage.c: see usage.h. Which numbers a provider reports and where lives on its API row
 * (api/api.h usage_fields; hr_api_read_usage reads them); this file parses one body or
 * event and keeps what the row found. Cheap rejection first (no usage key in the bytes, no
 * parse), because it runs on every SSE event of every stream. */
#include "proxy/usage.h"

#include "proxy/proxy_internal.h"

#include "api/api.h"
#include "json/json.h"

#include <string.h>

int hr_usage_from_json(const hr_api *api, const char *json, size_t len, hr_usage *u)
{
    const char *key = hr_api_usage_key(api);
    if (!memmem(json, len, key, strlen(key)))
        return 0;
    hr_json_doc d;
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, json, len, &lim, &err) != 0)
        return -1;
    hr_api_usage found = {-1, -1, -1, -1, -1};
    int rc = hr_api_read_usage(api, &d, &found);
    hr_json_doc_free(&d);
    if (found.input >= 0)
        u->input_tokens = found.input;
    if (found.output >= 0)
        u->output_tokens = found.output;
    if (found.cache_read >= 0)
        u->cache_read_tokens = found.cache_read;
    if (found.cache_creation >= 0)
        u->cache_creation_tokens = found.cache_creation;
    return rc;
}

static void add_seen(long long *a, long long b)
{
    if (b >= 0)
        *a = (*a > 0 ? *a : 0) + b;
}

void hr_usage_add(hr_usage *a, const hr_usage *b)
{
    add_seen(&a->input_tokens, b->input_tokens);
    add_seen(&a->output_tokens, b->output_tokens);
    add_seen(&a->cache_read_tokens, b->cache_read_tokens);
    add_seen(&a->cache_creation_tokens, b->cache_creation_tokens);
}

void hr_record_usage(hr_request_record *r, const hr_usage *u)
{
    if (u->input_tokens > 0)
        r->input_tokens = u->input_tokens;
    if (u->output_tokens > 0)
        r->output_tokens = u->output_tokens;
    if (u->cache_read_tokens > 0)
        r->cache_read_tokens = u->cache_read_tokens;
    if (u->cache_creation_tokens > 0)
        r->cache_creation_tokens = u->cache_creation_tokens;
}
