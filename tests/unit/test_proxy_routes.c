/* Unit tests for the route abstraction (routes.h): table lookup, request helpers, response
 * building and both providers' error shapes (checked by parsing them back with json.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "json/json.h"
#include "api/api.h"
#include "proxy/upstream_base.h"
#include "proxy/bedrock.h"
#include "proxy/config.h"
#include "proxy/routes.h"
#include "proxy/usage.h"

#include <string.h>

static void table_lookup(void **state)
{
    (void)state;
    int other = 0;
    const hr_route *r = hr_route_find("GET", "/livez", &other);
    assert_non_null(r);
    assert_string_equal(r->name, "hr_route_livez");
    assert_non_null(hr_route_find("HEAD", "/health", &other));
    assert_null(hr_route_find("POST", "/livez", &other));
    assert_int_equal(other, 1);
    assert_null(hr_route_find("POST", "/v1/chat/completions", &other));
    assert_int_equal(other, 0);
    size_t n;
    const hr_route *all = hr_routes(&n);
    assert_true(n >= 6);
    for (size_t i = 0; i < n; i++)
        assert_non_null(all[i].handler);
}

static void request_helpers(void **state)
{
    (void)state;
    const char *headers[] = {"X-Api-Key", "k1", "Content-Type", "application/json"};
    hr_request req = {"GET", "/v1/retrieve/abc", "query=a%20b+c&empty&x=1", "", 0, "127.0.0.1", 1,
                      "hr-1", "0123456789abcdef", &hr_api_anthropic_messages, headers, 2};
    assert_string_equal(hr_request_header(&req, "x-api-key"), "k1");
    assert_null(hr_request_header(&req, "authorization"));
    hr_buf v = HR_BUF_INIT;
    assert_int_equal(hr_request_query_param(&req, "query", &v), 1);
    assert_string_equal(v.data, "a b c");
    hr_buf_reset(&v);
    assert_int_equal(hr_request_query_param(&req, "empty", &v), 1);
    assert_int_equal(v.len, 0);
    assert_int_equal(hr_request_query_param(&req, "missing", &v), 0);
    hr_buf_free(&v);
}

static void error_shapes(void **state)
{
    (void)state;
    hr_response res = HR_RESPONSE_INIT;
    assert_int_equal(hr_response_error(&res, &hr_api_openai_chat, 400, "invalid_request_error",
                                       "invalid_json", "bad \"json\" at byte %d", 7), 0);
    assert_int_equal(res.status, 400);
    hr_json_doc d;
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(&d, res.body.data, res.body.len, &lim, &err), 0);
    uint32_t e = hr_json_get(&d, 0, "error");
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, e, "message"), "bad \"json\" at byte 7"));
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, e, "type"), "invalid_request_error"));
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, e, "code"), "invalid_json"));
    hr_json_doc_free(&d);
    hr_response_free(&res);

    assert_int_equal(hr_response_error(&res, &hr_api_anthropic_messages, 413, "request_too_large",
                                       "ignored", "too big"), 0);
    assert_int_equal(hr_json_parse(&d, res.body.data, res.body.len, &lim, &err), 0);
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, 0, "type"), "error"));
    e = hr_json_get(&d, 0, "error");
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, e, "type"), "request_too_large"));
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, e, "message"), "too big"));
    assert_int_equal(hr_json_get(&d, e, "code"), HR_JSON_NONE);
    hr_json_doc_free(&d);
    hr_response_free(&res);
}

static void response_headers_are_bounded(void **state)
{
    (void)state;
    hr_response res = HR_RESPONSE_INIT;
    for (int i = 0; i < HR_RESPONSE_MAX_HEADERS; i++)
        assert_int_equal(hr_response_header(&res, "x-a", "b"), 0);
    assert_int_equal(hr_response_header(&res, "x-a", "b"), -1);
    assert_int_equal(hr_response_body(&res, 201, "text/plain", "hi", 2), 0);
    assert_string_equal(res.content_type, "text/plain");
    assert_int_equal(res.status, 201);
    hr_response_free(&res);
}

static void usage_from_each_shape(void **state)
{
    (void)state;
    hr_usage u = HR_USAGE_INIT;
    const char *openai = "{\"choices\":[],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":7}}";
    assert_int_equal(hr_usage_from_json(&hr_api_openai_chat, openai, strlen(openai), &u), 1);
    assert_int_equal(u.input_tokens, 42);
    assert_int_equal(u.output_tokens, 7);
    u = (hr_usage)HR_USAGE_INIT;
    const char *start = "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,"
                        "\"cache_read_input_tokens\":5,\"output_tokens\":1}}}";
    const char *delta = "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}";
    assert_int_equal(hr_usage_from_json(&hr_api_anthropic_messages, start, strlen(start), &u), 1);
    assert_int_equal(hr_usage_from_json(&hr_api_anthropic_messages, delta, strlen(delta), &u), 1);
    assert_int_equal(u.input_tokens, 10); /* cache reads are counted apart, not as input */
    assert_int_equal(u.cache_read_tokens, 5);
    assert_int_equal(u.cache_creation_tokens, -1);
    assert_int_equal(u.output_tokens, 9);
    u = (hr_usage)HR_USAGE_INIT;
    const char *cached = "{\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":2,"
                         "\"prompt_tokens_details\":{\"cached_tokens\":64}}}";
    assert_int_equal(hr_usage_from_json(&hr_api_openai_chat, cached, strlen(cached), &u), 1);
    assert_int_equal(u.input_tokens, 36);
    assert_int_equal(u.cache_read_tokens, 64);
    u = (hr_usage)HR_USAGE_INIT;
    const char *write = "{\"usage\":{\"input_tokens\":7,\"cache_creation_input_tokens\":900,"
                        "\"output_tokens\":1}}";
    assert_int_equal(hr_usage_from_json(&hr_api_anthropic_messages, write, strlen(write), &u), 1);
    assert_int_equal(u.input_tokens, 7);
    assert_int_equal(u.cache_creation_tokens, 900);
    u = (hr_usage)HR_USAGE_INIT;
    const char *resp = "{\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}}";
    assert_int_equal(hr_usage_from_json(&hr_api_openai_responses, resp, strlen(resp), &u), 1);
    assert_int_equal(u.input_tokens, 3);
    assert_int_equal(u.output_tokens, 4);
    u = (hr_usage)HR_USAGE_INIT; /* Responses: cached tokens inside input_tokens */
    const char *rc = "{\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":50,"
                     "\"input_tokens_details\":{\"cached_tokens\":20},\"output_tokens\":5}}}";
    assert_int_equal(hr_usage_from_json(&hr_api_openai_responses, rc, strlen(rc), &u), 1);
    assert_int_equal(u.input_tokens, 30);
    assert_int_equal(u.cache_read_tokens, 20);
    assert_int_equal(u.output_tokens, 5);
    u = (hr_usage)HR_USAGE_INIT; /* Bedrock Converse (and converse-stream's metadata event) */
    const char *cv = "{\"usage\":{\"inputTokens\":11,\"outputTokens\":4,\"totalTokens\":15,"
                     "\"cacheReadInputTokens\":8,\"cacheWriteInputTokens\":2},\"metrics\":{}}";
    assert_int_equal(hr_usage_from_json(&hr_api_bedrock_converse, cv, strlen(cv), &u), 1);
    assert_int_equal(u.input_tokens, 11);
    assert_int_equal(u.output_tokens, 4);
    assert_int_equal(u.cache_read_tokens, 8);
    assert_int_equal(u.cache_creation_tokens, 2);
    u = (hr_usage)HR_USAGE_INIT; /* Bedrock invoke: Anthropic's events */
    assert_int_equal(hr_usage_from_json(&hr_api_bedrock_invoke, start, strlen(start), &u), 1);
    assert_int_equal(u.input_tokens, 10);
    assert_int_equal(u.cache_read_tokens, 5);
    u = (hr_usage)HR_USAGE_INIT; /* a delta's cache number without input is not read */
    const char *cd = "{\"usage\":{\"output_tokens\":3,\"cache_read_input_tokens\":99}}";
    assert_int_equal(hr_usage_from_json(&hr_api_anthropic_messages, cd, strlen(cd), &u), 1);
    assert_int_equal(u.output_tokens, 3);
    assert_int_equal(u.cache_read_tokens, -1);
    /* each row reads its own shape only: an OpenAI report is nothing to Gemini's row */
    u = (hr_usage)HR_USAGE_INIT;
    assert_int_equal(hr_usage_from_json(&hr_api_gemini, openai, strlen(openai), &u), 0);
    assert_int_equal(u.input_tokens, -1);
    u = (hr_usage)HR_USAGE_INIT;
    assert_int_equal(hr_usage_from_json(&hr_api_openai_chat, "{\"usage\":null}", 14, &u), 0);
    assert_int_equal(hr_usage_from_json(&hr_api_openai_chat, "[DONE]", 6, &u), 0);
    assert_int_equal(hr_usage_from_json(&hr_api_openai_chat, "{\"usage\":", 9, &u), -1);
    assert_int_equal(u.input_tokens, -1);
}

/* OpenAI chat's stream edit on a parsed body, applied: 1 changed (out filled), 0 not. */
static int stream_edit(const char *body, hr_buf *out)
{
    hr_json_doc d;
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(&d, body, strlen(body), &lim, &err), 0);
    hr_json_edits edits = HR_JSON_EDITS_INIT;
    int rc = hr_api_openai_chat.stream_request(&d, &edits);
    if (rc == 1)
        assert_int_equal(hr_json_edits_apply(&edits, body, strlen(body), out), 0);
    hr_json_edits_free(&edits);
    hr_json_doc_free(&d);
    return rc;
}

static void include_usage_splice(void **state)
{
    (void)state;
    struct { const char *in, *out; } cases[] = {
        {"{\"stream\":true,\"m\":[1, 2]}", "{\"stream_options\":{\"include_usage\":true},\"stream\":true,\"m\":[1, 2]}"},
        {"{\"stream\":true,\"stream_options\":{}}", "{\"stream\":true,\"stream_options\":{\"include_usage\":true}}"},
        {"{\"stream_options\":{\"x\":1},\"stream\":true}", "{\"stream_options\":{\"include_usage\":true,\"x\":1},\"stream\":true}"},
        {"{\"stream_options\":null,\"stream\":true}", "{\"stream_options\":{\"include_usage\":true},\"stream\":true}"},
    };
    for (size_t i = 0; i < 4; i++) {
        hr_buf out = HR_BUF_INIT;
        assert_int_equal(stream_edit(cases[i].in, &out), 1);
        assert_string_equal(out.data, cases[i].out);
        hr_buf_free(&out);
    }
    const char *explicit_false = "{\"stream\":true,\"stream_options\":{\"include_usage\":false}}";
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(stream_edit(explicit_false, &out), 0);
    assert_int_equal(out.len, 0);
    hr_buf_free(&out);
    /* only chat streams need it */
    assert_null(hr_api_anthropic_messages.stream_request);
    assert_null(hr_api_openai_responses.stream_request);
}

/* Google's error shape (google.rpc.Status), its code and status paired by HTTP status. */
static void google_error_shape(void **state)
{
    (void)state;
    hr_response res = HR_RESPONSE_INIT;
    assert_int_equal(hr_response_error(&res, &hr_api_gemini, 404, "not_found_error", "x",
                                       "no model %s", "m"), 0);
    assert_int_equal(res.status, 404);
    assert_string_equal(res.body.data,
                        "{\"error\":{\"code\":404,\"message\":\"no model m\",\"status\":\"NOT_FOUND\"}}");
    hr_response_free(&res);
    hr_buf b = HR_BUF_INIT;
    assert_int_equal(hr_api_gemini.error_json(&b, 400, "invalid_request_error", NULL, "bad"), 0);
    assert_string_equal(b.data, "{\"error\":{\"code\":400,\"message\":\"bad\",\"status\":\"INVALID_ARGUMENT\"}}");
    hr_buf_free(&b);
    hr_usage u = HR_USAGE_INIT; /* Gemini usage: cached prompt tokens apart, thoughts as output */
    const char *g = "{\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":100,\"cachedContentTokenCount\":60,"
                    "\"candidatesTokenCount\":7,\"thoughtsTokenCount\":3,\"totalTokenCount\":110}}";
    assert_int_equal(hr_usage_from_json(&hr_api_gemini, g, strlen(g), &u), 1);
    assert_int_equal(u.input_tokens, 40);
    assert_int_equal(u.cache_read_tokens, 60);
    assert_int_equal(u.output_tokens, 10);
}

/* Which row a path belongs to; Vertex's endpoint from the path's location. */
static void api_paths(void **state)
{
    (void)state;
    const hr_api *a = hr_api_for_route("POST", "/v1beta/models/gemini-2.0-flash:generateContent");
    assert_ptr_equal(a, &hr_api_gemini);
    assert_ptr_equal(hr_api_for_route("POST", "/v1beta/models/g:streamGenerateContent"), &hr_api_gemini);
    assert_null(hr_api_for_route("GET", "/v1beta/models/gemini-2.0-flash:generateContent"));
    assert_null(hr_api_for_route("POST", "/v1beta/models/g:countTokens"));
    assert_ptr_equal(hr_api_for_path("/v1beta/models/g:countTokens"), &hr_api_gemini);
    assert_null(hr_api_for_route("POST", "/v1/models/ft:gpt-4o:org:x")); /* OpenAI's */
    assert_ptr_equal(hr_api_for_route("POST", "/v1/projects/p/locations/us-east5/publishers/anthropic/"
                                              "models/claude:streamRawPredict"), &hr_api_vertex_anthropic);
    assert_ptr_equal(hr_api_for_route("POST", "/v1beta1/projects/p/locations/global/publishers/google/"
                                              "models/g:generateContent"), &hr_api_vertex_gemini);
    assert_ptr_equal(hr_api_for_path("/v1/projects/p/locations/l/operations/x"), &hr_api_vertex_gemini);
    assert_ptr_equal(hr_api_for_route("POST", "/openai/deployments/d1/chat/completions"), &hr_api_azure_chat);
    assert_ptr_equal(hr_api_for_route("POST", "/openai/v1/responses"), &hr_api_azure_responses);
    assert_null(hr_api_for_route("POST", "/openai/deployments//chat/completions"));
    assert_ptr_equal(hr_api_for_path("/openai/deployments//chat/completions"), &hr_api_azure_chat);
    assert_ptr_equal(hr_api_for_route("POST", "/v1/chat/completions"), &hr_api_openai_chat);

    /* Google's paths name the model; the log line takes it from there */
    char model[64];
    assert_int_equal(hr_api_gemini.path_model("/v1beta/models/gemini-2.0-flash:generateContent",
                                              model, sizeof model), 1);
    assert_string_equal(model, "gemini-2.0-flash");
    assert_int_equal(hr_api_vertex_anthropic.path_model("/v1/projects/p/locations/l/publishers/"
                                                        "anthropic/models/claude-x:rawPredict",
                                                        model, sizeof model), 1);
    assert_string_equal(model, "claude-x");
    assert_int_equal(hr_api_vertex_gemini.path_model("/v1/projects/p/locations/l/models/:x", model,
                                                     sizeof model), 0);
    assert_null(hr_api_openai_chat.path_model);

    hr_proxy_config c;
    hr_proxy_config_defaults(&c);
    hr_proxy_config_set_current(&c);
    char url[256];
    const char *why = NULL;
    assert_int_equal(hr_upstream_base_url(&hr_api_vertex_gemini, "/v1/projects/p/locations/us-east5/x", url, sizeof url, &why), 0);
    assert_string_equal(url, "https://us-east5-aiplatform.googleapis.com");
    assert_int_equal(hr_upstream_base_url(&hr_api_vertex_anthropic, "/v1/projects/p/locations/global/x", url, sizeof url, &why), 0);
    assert_string_equal(url, "https://aiplatform.googleapis.com");
    assert_int_equal(hr_upstream_base_url(&hr_api_vertex_anthropic, "/v1/projects/p/locations/eu/x", url, sizeof url, &why), 0);
    assert_string_equal(url, "https://aiplatform.eu.rep.googleapis.com");
    /* a location that is not a region name never becomes part of a host */
    const char *bad[] = {"/v1/projects/p/locations/evil.com%2f/x", "/v1/projects/p/locations/a.b/x",
                         "/v1/projects/p/locations/A/x", "/v1/projects/p/locations//x", "/v1/projects/p/x",
                         "/v1/projects/p/locations/x@y/x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        if (hr_upstream_base_url(&hr_api_vertex_anthropic, bad[i], url, sizeof url, &why) == 0)
            fail_msg("derived %s from %s", url, bad[i]);
        assert_non_null(why);
    }
    assert_int_equal(hr_upstream_base_url(&hr_api_azure_chat, "/openai/v1/responses", url, sizeof url, &why), -1);
    assert_non_null(strstr(why, "--azure-api-url"));
    assert_int_equal(hr_upstream_base_url(&hr_api_gemini, "/v1beta/x", url, sizeof url, &why), 0);
    assert_string_equal(url, "https://generativelanguage.googleapis.com");
    assert_int_equal(hr_upstream_base_url(&hr_api_azure_responses, "/openai/v1/responses", url, sizeof url, &why), -1);
    assert_int_equal(hr_upstream_base_url(&hr_api_openai_responses, "/v1/responses", url, sizeof url, &why), 0);
    assert_string_equal(url, c.openai_url);
    assert_int_equal(hr_upstream_base_url(&hr_api_anthropic_messages, "/v1/messages", url, sizeof url, &why), 0);
    assert_string_equal(url, c.anthropic_url);
    /* Bedrock's base is the proxy's own choice (proxy/bedrock.c), named by no setting */
    assert_int_equal(hr_upstream_base_url(&hr_api_bedrock_invoke, "/model/m/invoke", url, sizeof url, &why), -1);
    strcpy(c.azure_url, "https://res.openai.azure.com");
    strcpy(c.vertex_url, "https://proxy.example");
    hr_proxy_config_set_current(&c);
    assert_int_equal(hr_upstream_base_url(&hr_api_azure_chat, "/openai/v1/chat/completions", url, sizeof url, &why), 0);
    assert_string_equal(url, "https://res.openai.azure.com");
    assert_int_equal(hr_upstream_base_url(&hr_api_vertex_anthropic, "/v1/projects/p/locations/us-east5/x", url, sizeof url, &why), 0);
    assert_string_equal(url, "https://proxy.example");
}

/* Every API row names the proxy setting of its upstream (a URL row of proxy/config.c), so a
 * new provider needs no edit in upstream_base.c; only Bedrock's rows leave the base to
 * proxy/bedrock.c. Rows of one provider share the setting. */
static void rows_name_their_upstream_setting(void **state)
{
    (void)state;
    size_t n;
    const hr_api *const *all = hr_api_all(&n);
    for (size_t i = 0; i < n; i++) {
        const hr_api *a = all[i];
        if (hr_bedrock_is_api(a)) {
            assert_null(a->upstream_setting);
            continue;
        }
        const hr_setting_row *r = hr_settings_find(&hr_proxy_settings, a->upstream_setting);
        if (!r)
            fail_msg("%s: upstream_setting %s is no proxy setting", a->name,
                     a->upstream_setting ? a->upstream_setting : "(none)");
        size_t fl = strlen(r->flag);
        assert_true(fl > 4 && !strcmp(r->flag + fl - 4, "-url"));
        assert_true(r->size > 1);
        for (size_t k = 0; k < n; k++)
            if (!strcmp(all[k]->provider, a->provider) && all[k]->upstream_setting)
                assert_string_equal(all[k]->upstream_setting, a->upstream_setting);
        /* a setting without a default needs a default_base or a message saying what to set */
        if (!r->dflt)
            assert_true(a->default_base || (a->upstream_missing && strstr(a->upstream_missing, r->flag)));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_lookup),
        cmocka_unit_test(request_helpers),
        cmocka_unit_test(error_shapes),
        cmocka_unit_test(response_headers_are_bounded),
        cmocka_unit_test(usage_from_each_shape),
        cmocka_unit_test(include_usage_splice),
        cmocka_unit_test(google_error_shape),
        cmocka_unit_test(api_paths),
        cmocka_unit_test(rows_name_their_upstream_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
