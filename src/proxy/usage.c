/* usage.c: see usage.h. Cheap rejection first (no "usage" substring, no parse), because it
 * runs on every SSE event of every stream. */
#include "proxy/usage.h"

#include "proxy/proxy_internal.h"

#include "json/json.h"

#include <stdio.h>
#include <string.h>

static long long int_member(const hr_json_doc *d, uint32_t obj, const char *key)
{
    int64_t v;
    uint32_t n = hr_json_get(d, obj, key);
    if (n == HR_JSON_NONE || hr_json_int64(d, n, &v) != 0)
        return -1;
    return v;
}

static int read_usage_object(const hr_json_doc *d, uint32_t usage, hr_usage *u)
{
    const hr_json_node *n = hr_json_at(d, usage);
    if (!n || n->type != HR_JSON_OBJECT)
        return 0;
    int found = 0;
    long long in = int_member(d, usage, "prompt_tokens");
    uint32_t details = hr_json_get(d, usage, "prompt_tokens_details");
    if (in < 0) {
        in = int_member(d, usage, "input_tokens");
        details = hr_json_get(d, usage, "input_tokens_details"); /* Responses API */
    }
    int camel = in < 0; /* Bedrock Converse: inputTokens, cacheReadInputTokens, ... */
    if (camel)
        in = int_member(d, usage, "inputTokens");
    if (in >= 0) {
        /* OpenAI counts cached tokens inside the prompt; Anthropic reports them beside it. */
        long long openai_cached = details != HR_JSON_NONE ? int_member(d, details, "cached_tokens") : -1;
        long long cache_read = int_member(d, usage, camel ? "cacheReadInputTokens" : "cache_read_input_tokens");
        long long cache_create = int_member(d, usage, camel ? "cacheWriteInputTokens" : "cache_creation_input_tokens");
        if (openai_cached >= 0 && openai_cached <= in) {
            in -= openai_cached;
            cache_read = openai_cached;
        }
        u->input_tokens = in;
        if (cache_read >= 0)
            u->cache_read_tokens = cache_read;
        if (cache_create >= 0)
            u->cache_creation_tokens = cache_create;
        found = 1;
    }
    long long out = int_member(d, usage, "completion_tokens");
    if (out < 0)
        out = int_member(d, usage, "output_tokens");
    if (out < 0)
        out = int_member(d, usage, "outputTokens");
    if (out >= 0) {
        u->output_tokens = out;
        found = 1;
    }
    return found;
}

/* Gemini's usageMetadata: promptTokenCount includes cachedContentTokenCount (billed at the
 * cache rate, so kept apart as for OpenAI); thoughts are billed as output. */
static int read_usage_metadata(const hr_json_doc *d, uint32_t meta, hr_usage *u)
{
    const hr_json_node *n = hr_json_at(d, meta);
    if (!n || n->type != HR_JSON_OBJECT)
        return 0;
    int found = 0;
    long long prompt = int_member(d, meta, "promptTokenCount");
    long long cached = int_member(d, meta, "cachedContentTokenCount");
    if (prompt >= 0) {
        if (cached >= 0 && cached <= prompt) {
            prompt -= cached;
            u->cache_read_tokens = cached;
        }
        u->input_tokens = prompt;
        found = 1;
    }
    long long out = int_member(d, meta, "candidatesTokenCount");
    long long thoughts = int_member(d, meta, "thoughtsTokenCount");
    if (out >= 0 || thoughts >= 0) {
        u->output_tokens = (out > 0 ? out : 0) + (thoughts > 0 ? thoughts : 0);
        found = 1;
    }
    return found;
}

int hr_usage_from_json(const char *json, size_t len, hr_usage *u)
{
    if (!memmem(json, len, "usage", 5))
        return 0;
    hr_json_doc d;
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, json, len, &lim, &err) != 0)
        return -1;
    int found = 0;
    const hr_json_node *root = hr_json_at(&d, 0);
    if (root && root->type == HR_JSON_OBJECT) {
        found |= read_usage_object(&d, hr_json_get(&d, 0, "usage"), u);
        found |= read_usage_metadata(&d, hr_json_get(&d, 0, "usageMetadata"), u);
        const char *wrappers[] = {"message", "response"};
        for (int i = 0; i < 2; i++) {
            uint32_t w = hr_json_get(&d, 0, wrappers[i]);
            const hr_json_node *wn = hr_json_at(&d, w);
            if (wn && wn->type == HR_JSON_OBJECT)
                found |= read_usage_object(&d, hr_json_get(&d, w, "usage"), u);
        }
    }
    hr_json_doc_free(&d);
    return found;
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
