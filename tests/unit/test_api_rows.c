/* test_api_rows.c: the invariants every API row (src/api, api.h) must hold, checked over the
 * whole registry, so a new row is tested the moment it is registered: unique names and
 * routes that find their row, error bodies and SSE error events that are valid JSON in the
 * row's documented shape, a tool definition that its own tool_name hook reads back, the
 * CCR hooks present all together or not at all, and the lookups (route, path, headers,
 * name, guess) that replaced the three enums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "api/api.h"
#include "json/json.h"

#include <string.h>
#include <strings.h>

static const hr_json_limits LIMITS = HR_JSON_LIMITS_DEFAULT;

static int parses(const char *s, size_t n, hr_json_doc *d)
{
    hr_json_error err;
    return hr_json_parse(d, s, n, &LIMITS, &err) == 0;
}

/* The string value at a path of object keys, or "" (copied into out). */
static const char *string_at(const hr_json_doc *d, const char *const *keys, hr_buf *out)
{
    uint32_t n = 0;
    for (; *keys && n != HR_JSON_NONE; keys++)
        n = hr_json_get(d, n, *keys);
    hr_buf_reset(out);
    if (n == HR_JSON_NONE || hr_json_string(d, n, out) != 0 || !out->data)
        return "";
    return out->data;
}

static void names_unique_and_routes_find_their_row(void **state)
{
    (void)state;
    size_t n;
    const hr_api *const *all = hr_api_all(&n);
    assert_true(n >= 3);
    for (size_t i = 0; i < n; i++) {
        const hr_api *a = all[i];
        assert_non_null(a->name);
        assert_non_null(a->label);
        assert_non_null(a->provider);
        assert_non_null(a->error_json);
        /* error_event is for SSE streams; an API without one (Bedrock's event streams)
         * names its errors in a header instead */
        assert_true(a->error_event || (a->error_header && a->error_header_value));
        assert_non_null(a->overloaded_type);
        assert_non_null(a->too_large_type);
        assert_non_null(a->conversation_key);
        assert_ptr_equal(hr_api_by_name(a->name), a);
        if (a->path) {
            assert_ptr_equal(hr_api_for_route(a->method, a->path), a);
            assert_ptr_equal(hr_api_for_path(a->path), a);
            assert_null(hr_api_for_route("GET", a->path)); /* only its method compresses */
        } else {
            assert_non_null(a->match); /* a route it can be found by */
        }
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(all[j]->name, a->name);
            assert_string_not_equal(all[j]->label, a->label);
        }
    }
    assert_null(hr_api_by_name("nope"));
    assert_null(hr_api_for_route("POST", "/v1/embeddings"));
}

/* Each error body is JSON carrying the message, in the row's shape: OpenAI rows
 * error.message/error.type/error.code, Anthropic type "error" with error.type/message,
 * Google error.code/message/status. */
static void error_bodies_and_events_are_json(void **state)
{
    (void)state;
    size_t n;
    const hr_api *const *all = hr_api_all(&n);
    const char *msg = "bad \"thing\"\n";
    for (size_t i = 0; i < n; i++) {
        hr_buf body = HR_BUF_INIT, ev = HR_BUF_INIT, v = HR_BUF_INIT;
        assert_int_equal(all[i]->error_json(&body, 400, "invalid_request_error", "bad_thing", msg), 0);
        hr_json_doc d;
        assert_true(parses(body.data, body.len, &d));
        if (all[i]->error_header) { /* Bedrock: {"message"}, the exception in the header */
            const char *path[] = {"message", NULL};
            assert_string_equal(string_at(&d, path, &v), msg);
            assert_string_equal(all[i]->error_header_value(400), "ValidationException");
            assert_string_equal(all[i]->error_header_value(429), "ThrottlingException");
            assert_string_equal(all[i]->error_header_value(502), "InternalServerException");
            hr_json_doc_free(&d);
            hr_buf_free(&body);
            hr_buf_free(&v);
            continue;
        }
        const char *path[] = {"error", "message", NULL};
        assert_string_equal(string_at(&d, path, &v), msg);
        const char *type[] = {"error", "type", NULL};
        const char *status[] = {"error", "status", NULL};
        if (all[i]->error_json == hr_api_gemini.error_json) /* Google: the canonical status */
            assert_string_equal(string_at(&d, status, &v), "INVALID_ARGUMENT");
        else
            assert_string_equal(string_at(&d, type, &v), "invalid_request_error");
        hr_json_doc_free(&d);
        /* the stream's error event: one SSE event whose data line is JSON with the message */
        assert_int_equal(all[i]->error_event(&ev, msg), 0);
        const char *data = strstr(ev.data, "data: ");
        assert_non_null(data);
        assert_true(ev.len >= 2 && !memcmp(ev.data + ev.len - 2, "\n\n", 2));
        data += 6;
        size_t dlen = (size_t)(ev.data + ev.len - 2 - data);
        assert_true(parses(data, dlen, &d));
        assert_non_null(strstr(data, "bad \\\"thing\\\"\\n"));
        hr_json_doc_free(&d);
        hr_buf_free(&body);
        hr_buf_free(&ev);
        hr_buf_free(&v);
    }
    /* the documented shapes of the three first rows */
    hr_buf b = HR_BUF_INIT;
    hr_api_openai_chat.error_json(&b, 404, "not_found_error", NULL, "m");
    assert_string_equal(b.data, "{\"error\":{\"message\":\"m\",\"type\":\"not_found_error\",\"code\":null}}");
    hr_buf_reset(&b);
    hr_api_anthropic_messages.error_json(&b, 404, "not_found_error", "x", "m");
    assert_string_equal(b.data, "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"m\"}}");
    hr_buf_reset(&b);
    hr_api_openai_chat.error_event(&b, "m"); /* chat clients reject named events */
    assert_int_equal(strncmp(b.data, "data: ", 6), 0);
    hr_buf_reset(&b);
    hr_api_anthropic_messages.error_event(&b, "m");
    assert_int_equal(strncmp(b.data, "event: error\ndata: ", 19), 0);
    hr_buf_free(&b);
}

/* The tool definition is one JSON object that the row's own tool_name finds as
 * headroom_retrieve when it sits in a tools array; the CCR hooks come all or none. */
static void tool_hooks_read_back_their_definition(void **state)
{
    (void)state;
    size_t n;
    const hr_api *const *all = hr_api_all(&n);
    for (size_t i = 0; i < n; i++) {
        const hr_api *a = all[i];
        int some = a->tool_definition || a->tool_name || a->find_calls || a->followup_items ||
                   a->retrieve_call || a->tool_result;
        int every = a->tool_definition && a->tool_name && a->find_calls && a->followup_items &&
                    a->retrieve_call && a->tool_result;
        assert_int_equal(some, every);
        if (!every)
            continue;
        assert_non_null(a->usage_fields);
        hr_buf tools = HR_BUF_INIT;
        hr_buf_putc(&tools, '[');
        assert_int_equal(a->tool_definition(&tools), 0);
        hr_buf_putc(&tools, ']');
        hr_json_doc d;
        assert_true(parses(tools.data, tools.len, &d));
        uint32_t tool = hr_json_index(&d, 0, 0);
        assert_int_equal(d.nodes[tool].type, HR_JSON_OBJECT);
        assert_true(hr_json_string_eq(&d, a->tool_name(&d, tool), HR_API_TOOL_NAME));
        hr_json_doc_free(&d);
        hr_buf_free(&tools);
        /* a tool result item is one JSON object carrying the call's id and the text */
        hr_buf item = HR_BUF_INIT, text = HR_BUF_INIT;
        hr_buf_puts(&text, "line \"one\"");
        assert_int_equal(a->tool_result(&item, "call_7", &text), 0);
        assert_true(parses(item.data, item.len, &d));
        assert_int_equal(d.nodes[0].type, HR_JSON_OBJECT);
        hr_json_doc_free(&d);
        assert_non_null(strstr(item.data, "\"call_7\""));
        assert_non_null(strstr(item.data, "\"line \\\"one\\\"\""));
        hr_buf_free(&item);
        hr_buf_free(&text);
    }
}

static const char *lookup(void *user, const char *name)
{
    for (const char *const *h = user; *h; h += 2)
        if (!strcasecmp(h[0], name))
            return h[1];
    return NULL;
}

static void lookups(void **state)
{
    (void)state;
    const char *ant[] = {"X-Api-Key", "k", NULL};
    const char *bearer[] = {"authorization", "bearer SK-ANT-abc", NULL};
    const char *version[] = {"anthropic-version", "2023-06-01", NULL};
    const char *openai[] = {"authorization", "Bearer sk-proj-abc", NULL};
    const char *none[] = {NULL};
    assert_ptr_equal(hr_api_from_headers(lookup, ant), &hr_api_anthropic_messages);
    assert_ptr_equal(hr_api_from_headers(lookup, bearer), &hr_api_anthropic_messages);
    assert_ptr_equal(hr_api_from_headers(lookup, version), &hr_api_anthropic_messages);
    assert_ptr_equal(hr_api_from_headers(lookup, openai), hr_api_default());
    assert_ptr_equal(hr_api_from_headers(lookup, none), &hr_api_openai_chat);
    assert_ptr_equal(hr_api_for_path("/v1/responses/abc"), &hr_api_openai_responses);
    assert_null(hr_api_for_path("/v1/models"));
    assert_ptr_equal(hr_api_for_path("/v1/messages/count_tokens"), &hr_api_anthropic_messages);
    assert_null(hr_api_for_path("/v1/chat/completions/x")); /* chat owns its exact path only */
    /* Codex's row: the Responses API on its alias paths (docs/codex.md) */
    assert_ptr_equal(hr_api_for_route("POST", "/backend-api/codex/responses"), &hr_api_codex_responses);
    assert_ptr_equal(hr_api_for_route("POST", "/v1/codex/responses"), &hr_api_codex_responses);
    assert_null(hr_api_for_route("GET", "/v1/codex/responses"));
    assert_null(hr_api_for_route("POST", "/backend-api/codex/models"));
    assert_ptr_equal(hr_api_for_path("/backend-api/codex/models"), &hr_api_codex_responses);
    assert_ptr_equal(hr_api_for_route("POST", "/v1/responses"), &hr_api_openai_responses);
    /* Bedrock: the model id is in the path; every other /model/ path is Bedrock's too */
    assert_ptr_equal(hr_api_for_route("POST", "/model/anthropic.claude-v1:0/invoke"), &hr_api_bedrock_invoke);
    assert_ptr_equal(hr_api_for_route("POST", "/model/m/invoke-with-response-stream"), &hr_api_bedrock_invoke);
    assert_ptr_equal(hr_api_for_route("POST", "/model/arn:aws:bedrock:us-east-1:1:inference-profile/x/converse"),
                     &hr_api_bedrock_converse);
    assert_ptr_equal(hr_api_for_route("POST", "/model/m/converse-stream"), &hr_api_bedrock_converse);
    assert_null(hr_api_for_route("GET", "/model/m/invoke"));
    assert_null(hr_api_for_route("POST", "/model//invoke"));
    assert_null(hr_api_for_route("POST", "/model/m/count-tokens"));
    assert_ptr_equal(hr_api_for_path("/model/m/count-tokens"), &hr_api_bedrock_invoke);
    struct {
        const char *body;
        const hr_api *want;
    } cases[] = {
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", &hr_api_openai_chat},
        {"{\"system\":\"s\",\"messages\":[]}", &hr_api_anthropic_messages},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\"}]}]}",
         &hr_api_anthropic_messages},
        {"{\"input\":\"hi\"}", &hr_api_openai_responses},
        {"[1]", &hr_api_openai_chat},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hr_json_doc d;
        assert_true(parses(cases[i].body, strlen(cases[i].body), &d));
        assert_ptr_equal(hr_api_guess(&d), cases[i].want);
        hr_json_doc_free(&d);
    }
}

/* Each row's walk reports the tool output of a two-turn conversation of its API, with the
 * call it answers (so tool exclusion by name works), and the user text before it. */
typedef struct seen {
    const hr_json_doc *d;
    int calls, outputs, users, jsons;
    int output_matches_call, json_matches_call;
    uint32_t call_id;
} seen;

static void on_call(void *u, uint32_t id, uint32_t name)
{
    seen *s = u;
    (void)name;
    s->calls++;
    s->call_id = id;
}

/* 1 when string nodes a and b hold the same text (an output names its call by value). */
static int same_string(const hr_json_doc *d, uint32_t a, uint32_t b)
{
    hr_buf x = HR_BUF_INIT, y = HR_BUF_INIT;
    hr_json_string(d, a, &x);
    hr_json_string(d, b, &y);
    int same = x.data && y.data && !strcmp(x.data, y.data);
    hr_buf_free(&x);
    hr_buf_free(&y);
    return same;
}

static void on_output(void *u, uint32_t content, uint32_t message, uint32_t call_id)
{
    seen *s = u;
    (void)message;
    s->outputs++;
    s->output_matches_call = same_string(s->d, call_id, s->call_id) &&
                             hr_json_at(s->d, content) != NULL;
}

/* A JSON output: an object or array node, answering the call seen last. */
static void on_json(void *u, uint32_t value, uint32_t message, uint32_t call_id)
{
    seen *s = u;
    (void)message;
    s->jsons++;
    const hr_json_node *n = hr_json_at(s->d, value);
    s->json_matches_call = n && (n->type == HR_JSON_OBJECT || n->type == HR_JSON_ARRAY) &&
                           same_string(s->d, call_id, s->call_id);
}

static void on_user(void *u, uint32_t content)
{
    (void)content;
    ((seen *)u)->users++;
}

static void on_system(void *u, uint32_t content)
{
    (void)u;
    (void)content;
}

static void walks_find_tool_outputs(void **state)
{
    (void)state;
    struct {
        const hr_api *api;
        const char *body;
        int jsons; /* tool outputs sent as JSON values */
    } cases[] = {
        {&hr_api_openai_chat,
         "{\"messages\":[{\"role\":\"user\",\"content\":\"find it\"},{\"role\":\"assistant\","
         "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"grep\","
         "\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"out\"}]}", 0},
        {&hr_api_anthropic_messages,
         "{\"messages\":[{\"role\":\"user\",\"content\":\"find it\"},{\"role\":\"assistant\","
         "\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"grep\",\"input\":{}}]},"
         "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\","
         "\"content\":\"out\"}]}]}", 0},
        {&hr_api_openai_responses,
         "{\"input\":[{\"role\":\"user\",\"content\":\"find it\"},{\"type\":\"function_call\","
         "\"call_id\":\"f1\",\"name\":\"grep\",\"arguments\":\"{}\"},{\"type\":"
         "\"function_call_output\",\"call_id\":\"f1\",\"output\":\"out\"}]}", 0},
        {&hr_api_bedrock_invoke,
         "{\"anthropic_version\":\"bedrock-2023-05-31\",\"messages\":[{\"role\":\"user\","
         "\"content\":\"find it\"},{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
         "\"id\":\"t1\",\"name\":\"grep\",\"input\":{}}]},{\"role\":\"user\",\"content\":[{"
         "\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":\"out\"}]}]}", 0},
        /* Converse: blocks keyed by kind; a json part of the result is a JSON output */
        {&hr_api_bedrock_converse,
         "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"find it\"}]},{\"role\":"
         "\"assistant\",\"content\":[{\"toolUse\":{\"toolUseId\":\"u1\",\"name\":\"grep\","
         "\"input\":{}}}]},{\"role\":\"user\",\"content\":[{\"toolResult\":{\"toolUseId\":"
         "\"u1\",\"content\":[{\"text\":\"out\"},{\"json\":{\"n\":1}}]}}]}]}", 1},
        {&hr_api_gemini, /* the call is known by its name */
         "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"find it\"}]},{\"role\":\"model\","
         "\"parts\":[{\"functionCall\":{\"name\":\"grep\",\"args\":{}}}]},{\"role\":\"user\","
         "\"parts\":[{\"functionResponse\":{\"name\":\"grep\",\"response\":{\"output\":\"out\","
         "\"n\":3,\"matches\":[{\"line\":1}]}}}]}]}", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hr_json_doc d;
        assert_true(parses(cases[i].body, strlen(cases[i].body), &d));
        seen s = {.d = &d};
        hr_api_visitor v = {&s, on_call, on_output, on_user, on_system, on_json};
        cases[i].api->walk(&d, hr_json_get(&d, 0, cases[i].api->conversation_key), &v);
        assert_int_equal(s.calls, 1);
        assert_int_equal(s.outputs, 1);
        assert_int_equal(s.users, 1);
        assert_true(s.output_matches_call);
        assert_int_equal(s.jsons, cases[i].jsons);
        if (s.jsons)
            assert_true(s.json_matches_call);
        hr_json_doc_free(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_unique_and_routes_find_their_row),
        cmocka_unit_test(error_bodies_and_events_are_json),
        cmocka_unit_test(tool_hooks_read_back_their_definition),
        cmocka_unit_test(lookups),
        cmocka_unit_test(walks_find_tool_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
