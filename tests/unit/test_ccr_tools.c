/* The headroom_retrieve tool: injection in the three provider formats (bytes outside the
 * edit unchanged, appended last, deterministic, not when the client defines its own,
 * there is no marker, the request uses legacy functions or tool_choice forces a call), call detection, follow-up requests, usage summing, and the
 * non-streaming loop against a scripted upstream (the provider is the only stand-in). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ccr/tool_loop.h"
#include "json/json.h"
#include "sys/hash.h"

#include <stdio.h>
#include <string.h>

#define MARK "[100 items compressed to 12. Retrieve more: hash=0123456789abcdef01234567]"

static hr_json_doc parse_ok(const char *s, size_t n)
{
    hr_json_doc d = {0};
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, s, n, &lim, &err) != 0)
        fail_msg("invalid JSON: %s in %.*s", err.msg, (int)n, s);
    return d;
}

static void injects_in_each_format(void **state)
{
    (void)state;
    struct { const hr_api *api; const char *body; const char *name_path; } cases[] = {
        {&hr_api_openai_chat,
         "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"[1]\\n" MARK "\"}]}",
         "function"},
        {&hr_api_anthropic_messages,
         "{\"model\":\"claude\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":\"" MARK "\"}]}]}",
         "name"},
        {&hr_api_openai_responses,
         "{\"model\":\"gpt-4o\",\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"" MARK "\"}]}",
         "name"},
    };
    for (size_t k = 0; k < 3; k++) {
        const char *body = cases[k].body;
        size_t len = strlen(body);
        hr_buf out = HR_BUF_INIT, again = HR_BUF_INIT;
        assert_int_equal(hr_ccr_inject_tool(cases[k].api, body, len, &out), 1);
        assert_int_equal(hr_ccr_inject_tool(cases[k].api, body, len, &again), 1);
        assert_string_equal(out.data, again.data); /* deterministic */
        /* Everything before the root's closing brace is unchanged. */
        assert_memory_equal(out.data, body, len - 1);
        hr_json_doc d = parse_ok(out.data, out.len);
        uint32_t tools = hr_json_get(&d, 0, "tools");
        assert_int_equal(d.nodes[tools].count, 1);
        uint32_t t = hr_json_index(&d, tools, 0);
        uint32_t name = cases[k].api == &hr_api_openai_chat
                            ? hr_json_get(&d, hr_json_get(&d, t, "function"), "name")
                            : hr_json_get(&d, t, "name");
        assert_true(hr_json_string_eq(&d, name, "headroom_retrieve"));
        uint32_t schema = cases[k].api == &hr_api_anthropic_messages
                              ? hr_json_get(&d, t, "input_schema")
                              : cases[k].api == &hr_api_openai_responses
                                    ? hr_json_get(&d, t, "parameters")
                                    : hr_json_get(&d, hr_json_get(&d, t, "function"), "parameters");
        uint32_t req = hr_json_get(&d, schema, "required");
        assert_true(hr_json_string_eq(&d, hr_json_index(&d, req, 0), "hash"));
        assert_int_equal(d.nodes[req].count, 1);
        hr_json_doc_free(&d);
        hr_buf_free(&out);
        hr_buf_free(&again);
    }
}

static void appends_after_client_tools_and_respects_theirs(void **state)
{
    (void)state;
    const char *body = "{\"tools\":[{\"name\":\"Read\",\"input_schema\":{\"type\":\"object\"}}],"
                       "\"messages\":[{\"role\":\"user\",\"content\":\"" MARK "\"}]}";
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_inject_tool(&hr_api_anthropic_messages, body, strlen(body), &out), 1);
    const char *close = strstr(body, "}]") + 1; /* end of the client's tools array */
    size_t prefix = (size_t)(close - body);
    assert_memory_equal(out.data, body, prefix);
    assert_true(!strncmp(out.data + prefix, ",{\"name\":\"headroom_retrieve\"", 28));
    hr_json_doc d = parse_ok(out.data, out.len);
    assert_int_equal(d.nodes[hr_json_get(&d, 0, "tools")].count, 2);
    hr_json_doc_free(&d);
    hr_buf_free(&out);

    const char *theirs = "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"headroom_retrieve\"}}],"
                         "\"messages\":[{\"role\":\"tool\",\"content\":\"" MARK "\"}]}";
    assert_int_equal(hr_ccr_inject_tool(&hr_api_openai_chat, theirs, strlen(theirs), &out), 0);
    const char *plain = "{\"messages\":[{\"role\":\"user\",\"content\":\"hash=0123456789abcdef01234567\"}]}";
    assert_int_equal(hr_ccr_inject_tool(&hr_api_openai_chat, plain, strlen(plain), &out), 0);
    assert_int_equal(hr_ccr_inject_tool(&hr_api_openai_chat, "[" MARK, 76, &out), -1);
    assert_int_equal(out.len, 0);
}

/* Requests where offering the tool would change what the client asked for get nothing:
 * legacy chat `functions` (OpenAI rejects functions + tools) and a tool_choice that forces
 * a call; tool_choice values that leave the model free still get the tool. */
static void skips_legacy_functions_and_forced_tool_choice(void **state)
{
    (void)state;
    struct { const hr_api *api; const char *body; int want; } cases[] = {
        {&hr_api_openai_chat,
         "{\"model\":\"gpt-4o\",\"functions\":[{\"name\":\"q\",\"parameters\":{}}],"
         "\"messages\":[{\"role\":\"function\",\"name\":\"q\",\"content\":\"" MARK "\"}]}", 0},
        {&hr_api_openai_chat, /* legacy functions with function_call forced */
         "{\"functions\":[{\"name\":\"q\"}],\"function_call\":{\"name\":\"q\"},"
         "\"messages\":[{\"role\":\"user\",\"content\":\"" MARK "\"}]}", 0},
        {&hr_api_openai_chat,
         "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"q\"}}],\"tool_choice\":"
         "\"required\",\"messages\":[{\"role\":\"tool\",\"content\":\"" MARK "\"}]}", 0},
        {&hr_api_openai_responses,
         "{\"tools\":[{\"type\":\"function\",\"name\":\"q\"}],\"tool_choice\":\"required\","
         "\"input\":[{\"type\":\"function_call_output\",\"output\":\"" MARK "\"}]}", 0},
        {&hr_api_anthropic_messages,
         "{\"tools\":[{\"name\":\"Read\",\"input_schema\":{}}],\"tool_choice\":{\"type\":\"any\"},"
         "\"messages\":[{\"role\":\"user\",\"content\":\"" MARK "\"}]}", 0},
        {&hr_api_anthropic_messages, /* forcing ours without defining it */
         "{\"tool_choice\":{\"type\":\"tool\",\"name\":\"headroom_retrieve\"},"
         "\"messages\":[{\"role\":\"user\",\"content\":\"" MARK "\"}]}", 0},
        {&hr_api_openai_chat,
         "{\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"headroom_retrieve\"}},"
         "\"messages\":[{\"role\":\"tool\",\"content\":\"" MARK "\"}]}", 0},
        /* the model stays free not to call ours: injected */
        {&hr_api_openai_chat,
         "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"q\"}}],\"tool_choice\":"
         "\"auto\",\"messages\":[{\"role\":\"tool\",\"content\":\"" MARK "\"}]}", 1},
        {&hr_api_openai_chat,
         "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"q\"}}],\"tool_choice\":"
         "\"none\",\"messages\":[{\"role\":\"tool\",\"content\":\"" MARK "\"}]}", 1},
        {&hr_api_openai_chat,
         "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"q\"}}],\"tool_choice\":"
         "{\"type\":\"function\",\"function\":{\"name\":\"q\"}},\"messages\":[{\"role\":\"tool\","
         "\"content\":\"" MARK "\"}]}", 1},
        {&hr_api_anthropic_messages,
         "{\"tools\":[{\"name\":\"Read\",\"input_schema\":{}}],\"tool_choice\":{\"type\":\"tool\","
         "\"name\":\"Read\"},\"messages\":[{\"role\":\"user\",\"content\":\"" MARK "\"}]}", 1},
        {&hr_api_anthropic_messages, /* `functions` means nothing to Anthropic */
         "{\"functions\":[],\"messages\":[{\"role\":\"user\",\"content\":\"" MARK "\"}]}", 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        hr_buf out = HR_BUF_INIT;
        int rc = hr_ccr_inject_tool(cases[k].api, cases[k].body, strlen(cases[k].body), &out);
        if (rc != cases[k].want)
            fail_msg("case %zu: got %d, want %d", k, rc, cases[k].want);
        if (!cases[k].want) {
            assert_int_equal(out.len, 0); /* untouched: the client's bytes are forwarded */
        } else {
            hr_json_doc d = parse_ok(out.data, out.len);
            uint32_t tools = hr_json_get(&d, 0, "tools");
            uint32_t last = hr_json_index(&d, tools, d.nodes[tools].count - 1);
            uint32_t name = cases[k].api == &hr_api_openai_chat
                                ? hr_json_get(&d, hr_json_get(&d, last, "function"), "name")
                                : hr_json_get(&d, last, "name");
            assert_true(hr_json_string_eq(&d, name, "headroom_retrieve"));
            hr_json_doc_free(&d);
        }
        hr_buf_free(&out);
    }
}

static const char CHAT_CALL[] =
    "{\"id\":\"x\",\"choices\":[{\"index\":0,\"finish_reason\":\"tool_calls\",\"message\":{\"role\":"
    "\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
    "\"function\":{\"name\":\"headroom_retrieve\",\"arguments\":\"{\\\"hash\\\":\\\"%s\\\",\\\"query\\\":\\\"disk\\\"}\"}}]}}],"
    "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":10,\"total_tokens\":110}}";

/* resp (a response of api) ends in exactly one headroom_retrieve call with these values. */
static void finds_one_call(const hr_api *api, const char *resp, const char *id, const char *hash,
                           const char *query)
{
    hr_ccr_calls calls;
    assert_int_equal(hr_ccr_find_calls(api, resp, strlen(resp), &calls), 1);
    assert_int_equal(calls.n, 1);
    assert_true(calls.call[0].args_ok);
    assert_string_equal(calls.call[0].id, id);
    assert_string_equal(calls.call[0].hash, hash);
    assert_string_equal(calls.call[0].query, query);
}

static void finds_calls_in_each_format(void **state)
{
    (void)state;
    hr_ccr_calls calls;
    char chat[1024];
    snprintf(chat, sizeof chat, CHAT_CALL, "0123456789abcdef01234567");
    finds_one_call(&hr_api_openai_chat, chat, "call_1", "0123456789abcdef01234567", "disk");

    const char *anth = "{\"type\":\"message\",\"stop_reason\":\"tool_use\",\"content\":[{\"type\":\"text\","
                       "\"text\":\"let me look\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":"
                       "\"headroom_retrieve\",\"input\":{\"hash\":\"aa\"}}]}";
    assert_int_equal(hr_ccr_find_calls(&hr_api_anthropic_messages, anth, strlen(anth), &calls), 1);
    assert_string_equal(calls.call[0].id, "toolu_1");
    assert_string_equal(calls.call[0].hash, "aa");
    assert_string_equal(calls.call[0].query, "");

    const char *mixed = "{\"stop_reason\":\"tool_use\",\"content\":[{\"type\":\"tool_use\",\"id\":\"a\","
                        "\"name\":\"headroom_retrieve\",\"input\":{\"hash\":\"aa\"}},{\"type\":\"tool_use\","
                        "\"id\":\"b\",\"name\":\"Bash\",\"input\":{}}]}";
    assert_int_equal(hr_ccr_find_calls(&hr_api_anthropic_messages, mixed, strlen(mixed), &calls), 0);
    assert_int_equal(calls.other, 1);

    const char *resp = "{\"output\":[{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[]},{\"type\":"
                       "\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_9\",\"name\":\"headroom_retrieve\","
                       "\"arguments\":\"{\\\"hash\\\":\\\"bb\\\"}\"}]}";
    assert_int_equal(hr_ccr_find_calls(&hr_api_openai_responses, resp, strlen(resp), &calls), 1);
    assert_string_equal(calls.call[0].id, "call_9");
    const char *text = "{\"stop_reason\":\"end_turn\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}";
    assert_int_equal(hr_ccr_find_calls(&hr_api_anthropic_messages, text, strlen(text), &calls), 0);
}

/* ---- the loop against a scripted upstream ---------------------------------------- */

typedef struct upstream {
    int calls;
    int always_call;      /* keep calling the tool (round cap) */
    char hash[32];
    hr_buf last_request;
    int saw_original;     /* the follow-up carried the original's text as tool_result */
} upstream;

static int anthropic_upstream(void *user, const char *body, size_t len, hr_buf *response,
                              int *status)
{
    upstream *u = user;
    u->calls++;
    hr_buf_reset(&u->last_request);
    hr_buf_append(&u->last_request, body, len);
    hr_json_doc d = parse_ok(body, len);
    uint32_t msgs = hr_json_get(&d, 0, "messages");
    uint32_t last = hr_json_index(&d, msgs, d.nodes[msgs].count - 1);
    uint32_t block = hr_json_index(&d, hr_json_get(&d, last, "content"), 0);
    hr_buf content = HR_BUF_INIT;
    if (hr_json_string_eq(&d, hr_json_get(&d, block, "type"), "tool_result")) {
        hr_json_string(&d, hr_json_get(&d, block, "content"), &content);
        u->saw_original = content.data && strstr(content.data, "disk full on /var") != NULL;
    }
    hr_buf_free(&content);
    hr_json_doc_free(&d);
    *status = 200;
    if (u->always_call)
        return hr_buf_printf(response, "{\"type\":\"message\",\"stop_reason\":\"tool_use\",\"content\":"
                                       "[{\"type\":\"tool_use\",\"id\":\"toolu_%d\",\"name\":\"headroom_retrieve\","
                                       "\"input\":{\"hash\":\"%s\"}}],\"usage\":{\"input_tokens\":10,"
                                       "\"output_tokens\":1}}", u->calls, u->hash);
    return hr_buf_puts(response, "{\"type\":\"message\",\"stop_reason\":\"end_turn\",\"content\":"
                                 "[{\"type\":\"text\",\"text\":\"The disk is full.\"}],"
                                 "\"usage\":{\"input_tokens\":500,\"output_tokens\":7,"
                                 "\"cache_read_input_tokens\":0}}");
}

static void loop_answers_and_sums_usage(void **state)
{
    (void)state;
    hr_ccr_config c;
    hr_ccr_config_default(&c);
    c.backend = HR_CCR_BACKEND_MEMORY;
    char err[128];
    hr_ccr_store *s = hr_ccr_store_open(&c, err, sizeof err);
    const char *original = "line 1 ok\nline 2 disk full on /var\nline 3 ok\n";
    upstream u = {0};
    hr_content_hash(original, strlen(original), u.hash);
    assert_int_equal(hr_ccr_put(s, "abcdef", u.hash, original, strlen(original), 0), 0);

    char request[512], first[512];
    snprintf(request, sizeof request, "{\"model\":\"claude\",\"max_tokens\":100,\"messages\":"
             "[{\"role\":\"user\",\"content\":\"why? [3 lines compressed to 1. Retrieve more: hash=%s]\"}]}", u.hash);
    snprintf(first, sizeof first, "{\"type\":\"message\",\"stop_reason\":\"tool_use\",\"content\":[{\"type\":"
             "\"tool_use\",\"id\":\"toolu_0\",\"name\":\"headroom_retrieve\",\"input\":{\"hash\":\"%s\"}}],"
             "\"usage\":{\"input_tokens\":400,\"output_tokens\":20,\"cache_read_input_tokens\":5}}", u.hash);
    hr_buf final = HR_BUF_INIT;
    int status = 0;
    assert_int_equal(hr_ccr_tool_loop(&hr_api_anthropic_messages, s, "abcdef", request, strlen(request),
                                      first, strlen(first), anthropic_upstream, &u, &final, &status), 1);
    assert_int_equal(u.calls, 1);
    assert_true(u.saw_original);
    /* The follow-up keeps the original request as its prefix (prompt cache). */
    assert_memory_equal(u.last_request.data, request, strlen(request) - 2);
    assert_int_equal(status, 200);
    hr_json_doc d = parse_ok(final.data, final.len);
    uint32_t usage = hr_json_get(&d, 0, "usage");
    int64_t in, out, cr;
    hr_json_int64(&d, hr_json_get(&d, usage, "input_tokens"), &in);
    hr_json_int64(&d, hr_json_get(&d, usage, "output_tokens"), &out);
    hr_json_int64(&d, hr_json_get(&d, usage, "cache_read_input_tokens"), &cr);
    assert_int_equal(in, 900);
    assert_int_equal(out, 27);
    assert_int_equal(cr, 5);
    assert_non_null(strstr(final.data, "The disk is full."));
    hr_json_doc_free(&d);

    /* Another tenant's call gets an explanation, not the original. */
    hr_buf_free(&u.last_request);
    u = (upstream){0};
    hr_content_hash(original, strlen(original), u.hash);
    assert_int_equal(hr_ccr_tool_loop(&hr_api_anthropic_messages, s, "fedcba", request, strlen(request),
                                      first, strlen(first), anthropic_upstream, &u, &final, &status), 1);
    assert_false(u.saw_original);
    assert_non_null(strstr(u.last_request.data, "unknown or expired"));

    /* A model that keeps calling stops after the round cap. */
    hr_buf_free(&u.last_request);
    u = (upstream){0};
    u.always_call = 1;
    hr_content_hash(original, strlen(original), u.hash);
    assert_int_equal(hr_ccr_tool_loop(&hr_api_anthropic_messages, s, "abcdef", request, strlen(request),
                                      first, strlen(first), anthropic_upstream, &u, &final, &status), 1);
    assert_int_equal(u.calls, HR_CCR_MAX_ROUNDS);
    hr_buf_free(&u.last_request);
    hr_buf_free(&final);
    hr_ccr_store_close(s);
}

static void followup_in_chat_and_responses_formats(void **state)
{
    (void)state;
    char resp[1024];
    snprintf(resp, sizeof resp, CHAT_CALL, "0123456789abcdef01234567");
    hr_ccr_calls calls;
    assert_int_equal(hr_ccr_find_calls(&hr_api_openai_chat, resp, strlen(resp), &calls), 1);
    hr_buf results[1] = {HR_BUF_INIT};
    hr_buf_puts(&results[0], "the \"original\"");
    const char *req = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_build_followup(&hr_api_openai_chat, req, strlen(req), resp, strlen(resp),
                                           &calls, results, &out), 0);
    hr_json_doc d = parse_ok(out.data, out.len);
    uint32_t msgs = hr_json_get(&d, 0, "messages");
    assert_int_equal(d.nodes[msgs].count, 3);
    uint32_t tool = hr_json_index(&d, msgs, 2);
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, tool, "role"), "tool"));
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, tool, "tool_call_id"), "call_1"));
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, tool, "content"), "the \"original\""));
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, hr_json_index(&d, msgs, 1), "role"), "assistant"));
    hr_json_doc_free(&d);

    const char *rresp = "{\"output\":[{\"type\":\"function_call\",\"call_id\":\"c7\",\"name\":\"headroom_retrieve\","
                        "\"arguments\":\"{\\\"hash\\\":\\\"bb\\\"}\"}],\"usage\":{\"input_tokens\":3,\"output_tokens\":4,\"total_tokens\":7}}";
    assert_int_equal(hr_ccr_find_calls(&hr_api_openai_responses, rresp, strlen(rresp), &calls), 1);
    const char *rreq = "{\"model\":\"gpt-4o\",\"input\":\"summarise\"}";
    hr_buf_reset(&out);
    assert_int_equal(hr_ccr_build_followup(&hr_api_openai_responses, rreq, strlen(rreq), rresp, strlen(rresp),
                                           &calls, results, &out), 0);
    d = parse_ok(out.data, out.len);
    uint32_t input = hr_json_get(&d, 0, "input");
    assert_int_equal(d.nodes[input].count, 3);
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, hr_json_index(&d, input, 0), "content"), "summarise"));
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, hr_json_index(&d, input, 2), "type"), "function_call_output"));
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, hr_json_index(&d, input, 2), "call_id"), "c7"));
    hr_json_doc_free(&d);

    hr_ccr_usage earlier = {0};
    assert_int_equal(hr_ccr_read_usage(&hr_api_openai_responses, rresp, strlen(rresp), &earlier), 0);
    hr_buf_reset(&out);
    assert_int_equal(hr_ccr_merge_usage(&hr_api_openai_responses, rresp, strlen(rresp), &earlier, &out), 0);
    assert_non_null(strstr(out.data, "\"usage\":{\"input_tokens\":6,\"output_tokens\":8,\"total_tokens\":14}"));
    hr_buf_free(&out);
    hr_buf_free(&results[0]);
}

/* A response's usage read as an earlier round's and merged into the same response: each
 * summed number doubles; expect is the usage member the merged answer must hold. */
static void usage_doubles(const hr_api *api, const char *resp, const char *expect)
{
    hr_ccr_usage earlier = {0};
    assert_int_equal(hr_ccr_read_usage(api, resp, strlen(resp), &earlier), 0);
    hr_buf merged = HR_BUF_INIT;
    assert_int_equal(hr_ccr_merge_usage(api, resp, strlen(resp), &earlier, &merged), 0);
    if (!strstr(merged.data, expect))
        fail_msg("merged usage: %s", merged.data);
    hr_buf_free(&merged);
}

/* Gemini: the tool as one more Tool of functionDeclarations (not when the client declares
 * it or toolConfig forces a call), calls read from candidates[0].content.parts, the
 * follow-up appended to contents (model turn as it came + functionResponse), usage in
 * usageMetadata summed. */
static void gemini_format(void **state)
{
    (void)state;
    const char *body = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"f\","
                       "\"response\":{\"output\":\"" MARK "\"}}}]}],\"tools\":[{\"functionDeclarations\":[{\"name\":\"f\"}]}]}";
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_inject_tool(&hr_api_gemini, body, strlen(body), &out), 1);
    const char *tail = strstr(body, "]}]}") + 2; /* the tools array's closing bracket */
    size_t head = (size_t)(tail - body);
    assert_memory_equal(out.data, body, head); /* every byte before the edit unchanged */
    assert_memory_equal(out.data + out.len - 2, "]}", 2);
    hr_json_doc d = parse_ok(out.data, out.len);
    uint32_t tools = hr_json_get(&d, 0, "tools");
    assert_int_equal(d.nodes[tools].count, 2);
    uint32_t decl = hr_json_index(&d, hr_json_get(&d, hr_json_index(&d, tools, 1), "functionDeclarations"), 0);
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, decl, "name"), "headroom_retrieve"));
    uint32_t params = hr_json_get(&d, decl, "parameters");
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, params, "type"), "OBJECT"));
    hr_json_doc_free(&d);
    /* declared by the client already, or a forced call: nothing */
    hr_buf again = HR_BUF_INIT;
    assert_int_equal(hr_ccr_inject_tool(&hr_api_gemini, out.data, out.len, &again), 0);
    const char *forced = "{\"contents\":[{\"parts\":[{\"text\":\"" MARK "\"}]}],\"toolConfig\":"
                         "{\"functionCallingConfig\":{\"mode\":\"ANY\"}}}";
    assert_int_equal(hr_ccr_inject_tool(&hr_api_gemini, forced, strlen(forced), &again), 0);
    hr_buf_free(&again);

    const char *resp = "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":"
                       "{\"name\":\"headroom_retrieve\",\"args\":{\"hash\":\"0123456789abcdef01234567\",\"query\":\"disk\"}}}]},"
                       "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":100,"
                       "\"candidatesTokenCount\":5,\"totalTokenCount\":105}}";
    hr_ccr_calls calls;
    assert_int_equal(hr_ccr_find_calls(&hr_api_gemini, resp, strlen(resp), &calls), 1);
    assert_int_equal(calls.n, 1);
    assert_true(calls.call[0].args_ok);
    assert_string_equal(calls.call[0].hash, "0123456789abcdef01234567");
    assert_string_equal(calls.call[0].query, "disk");
    const char *mixed = "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"headroom_retrieve\","
                        "\"args\":{\"hash\":\"a\"}}},{\"functionCall\":{\"name\":\"other\",\"args\":{}}}]}}]}";
    hr_ccr_calls c2;
    assert_int_equal(hr_ccr_find_calls(&hr_api_gemini, mixed, strlen(mixed), &c2), 0);

    hr_buf results[1] = {HR_BUF_INIT};
    hr_buf_puts(&results[0], "line 2 disk full");
    hr_buf next = HR_BUF_INIT;
    assert_int_equal(hr_ccr_build_followup(&hr_api_gemini, out.data, out.len, resp, strlen(resp),
                                           &calls, results, &next), 0);
    d = parse_ok(next.data, next.len);
    uint32_t contents = hr_json_get(&d, 0, "contents");
    assert_int_equal(d.nodes[contents].count, 3);
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, hr_json_index(&d, contents, 1), "role"), "model"));
    uint32_t fr = hr_json_get(&d, hr_json_index(&d, hr_json_get(&d, hr_json_index(&d, contents, 2), "parts"), 0),
                              "functionResponse");
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, fr, "name"), "headroom_retrieve"));
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, hr_json_get(&d, fr, "response"), "output"), "line 2 disk full"));
    assert_int_equal(hr_json_get(&d, fr, "id"), HR_JSON_NONE); /* the call had none */
    hr_json_doc_free(&d);

    usage_doubles(&hr_api_gemini, resp, "\"usageMetadata\":{\"promptTokenCount\":200,"
                                       "\"candidatesTokenCount\":10,\"totalTokenCount\":210}");
    hr_buf_free(&next);
    hr_buf_free(&results[0]);
    hr_buf_free(&out);
}

/* Bedrock Converse: the tool goes into toolConfig.tools as a toolSpec (toolConfig created
 * when absent, tools created inside a toolConfig without them), not when the client
 * defines it or toolChoice forces a call ("any", or ours by name); calls are toolUse
 * blocks of output.message with stopReason "tool_use"; the follow-up appends the model's
 * message as it came and a user message of toolResult blocks; all five usage numbers sum. */
static uint32_t converse_tools(const hr_json_doc *d)
{
    return hr_json_get(d, hr_json_get(d, 0, "toolConfig"), "tools");
}

static void converse_offer(void **state)
{
    (void)state;
    const char *bare = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"toolResult\":{\"toolUseId\":\"t1\","
                       "\"content\":[{\"text\":\"" MARK "\"}]}}]}]}";
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_inject_tool(&hr_api_bedrock_converse, bare, strlen(bare), &out), 1);
    assert_memory_equal(out.data, bare, strlen(bare) - 1); /* the rest is unchanged */
    hr_json_doc d = parse_ok(out.data, out.len);
    uint32_t tools = converse_tools(&d);
    assert_int_equal(d.nodes[tools].count, 1);
    uint32_t spec = hr_json_get(&d, hr_json_index(&d, tools, 0), "toolSpec");
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, spec, "name"), "headroom_retrieve"));
    uint32_t schema = hr_json_get(&d, hr_json_get(&d, spec, "inputSchema"), "json");
    assert_true(hr_json_string_eq(&d, hr_json_index(&d, hr_json_get(&d, schema, "required"), 0), "hash"));
    hr_json_doc_free(&d);
    /* the client's tools (a cache point last) and toolChoice stay; ours goes last */
    const char *theirs = "{\"toolConfig\":{\"tools\":[{\"toolSpec\":{\"name\":\"ls\",\"inputSchema\":{\"json\":{}}}},"
                         "{\"cachePoint\":{\"type\":\"default\"}}],\"toolChoice\":{\"tool\":{\"name\":\"ls\"}}},"
                         "\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"" MARK "\"}]}]}";
    hr_buf_reset(&out);
    assert_int_equal(hr_ccr_inject_tool(&hr_api_bedrock_converse, theirs, strlen(theirs), &out), 1);
    size_t head = (size_t)(strstr(theirs, "}}],") + 2 - theirs); /* up to the tools' ']' */
    assert_memory_equal(out.data, theirs, head);
    d = parse_ok(out.data, out.len);
    tools = converse_tools(&d);
    assert_int_equal(d.nodes[tools].count, 3);
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, hr_json_get(&d, hr_json_index(&d, tools, 2), "toolSpec"), "name"),
                                  "headroom_retrieve"));
    uint32_t choice = hr_json_get(&d, hr_json_get(&d, 0, "toolConfig"), "toolChoice");
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, hr_json_get(&d, choice, "tool"), "name"), "ls"));
    hr_json_doc_free(&d);
    /* a toolConfig without tools gets them inside it */
    const char *no_tools = "{\"toolConfig\":{\"toolChoice\":{\"auto\":{}}},\"messages\":[{\"role\":\"user\","
                           "\"content\":[{\"text\":\"" MARK "\"}]}]}";
    hr_buf_reset(&out);
    assert_int_equal(hr_ccr_inject_tool(&hr_api_bedrock_converse, no_tools, strlen(no_tools), &out), 1);
    d = parse_ok(out.data, out.len);
    assert_int_equal(d.nodes[converse_tools(&d)].count, 1);
    assert_int_equal(d.nodes[hr_json_get(&d, 0, "toolConfig")].count, 2);
    hr_json_doc_free(&d);
    /* no offer: defined by the client, a forced call, ours forced, a toolConfig not an object */
    const char *none[] = {
        "{\"toolConfig\":{\"tools\":[{\"toolSpec\":{\"name\":\"headroom_retrieve\"}}]},\"messages\":[{\"content\":[{\"text\":\"" MARK "\"}]}]}",
        "{\"toolConfig\":{\"tools\":[],\"toolChoice\":{\"any\":{}}},\"messages\":[{\"content\":[{\"text\":\"" MARK "\"}]}]}",
        "{\"toolConfig\":{\"tools\":[],\"toolChoice\":{\"tool\":{\"name\":\"headroom_retrieve\"}}},\"messages\":[{\"content\":[{\"text\":\"" MARK "\"}]}]}",
        "{\"toolConfig\":[],\"messages\":[{\"content\":[{\"text\":\"" MARK "\"}]}]}",
    };
    for (size_t k = 0; k < sizeof none / sizeof none[0]; k++) {
        hr_buf_reset(&out);
        assert_int_equal(hr_ccr_inject_tool(&hr_api_bedrock_converse, none[k], strlen(none[k]), &out), 0);
    }
    hr_buf_free(&out);
}

#define CONVERSE_CALL                                                                          \
    "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"Let me look.\"},"   \
    "{\"toolUse\":{\"toolUseId\":\"tooluse_1\",\"name\":\"headroom_retrieve\",\"input\":"          \
    "{\"hash\":\"0123456789abcdef01234567\",\"query\":\"disk\"}}}]}},\"stopReason\":\"tool_use\","  \
    "\"usage\":{\"inputTokens\":100,\"outputTokens\":5,\"totalTokens\":105,"                       \
    "\"cacheReadInputTokens\":3,\"cacheWriteInputTokens\":2},\"metrics\":{\"latencyMs\":9}}"

static void converse_calls_and_followup(void **state)
{
    (void)state;
    const char *resp = CONVERSE_CALL;
    finds_one_call(&hr_api_bedrock_converse, resp, "tooluse_1", "0123456789abcdef01234567", "disk");
    hr_ccr_calls calls;
    assert_int_equal(hr_ccr_find_calls(&hr_api_bedrock_converse, resp, strlen(resp), &calls), 1);
    const char *mixed = "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"toolUse\":{\"toolUseId\":\"a\","
                        "\"name\":\"headroom_retrieve\",\"input\":{\"hash\":\"x\"}}},{\"toolUse\":{\"toolUseId\":\"b\","
                        "\"name\":\"ls\",\"input\":{}}}]}},\"stopReason\":\"tool_use\"}";
    hr_ccr_calls c2;
    assert_int_equal(hr_ccr_find_calls(&hr_api_bedrock_converse, mixed, strlen(mixed), &c2), 0);
    const char *done = "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"hi\"}]}},\"stopReason\":\"end_turn\"}";
    assert_int_equal(hr_ccr_find_calls(&hr_api_bedrock_converse, done, strlen(done), &c2), 0);

    const char *req = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"why?\"}]}],\"toolConfig\":"
                      "{\"tools\":[{\"toolSpec\":{\"name\":\"headroom_retrieve\"}}]}}";
    hr_buf results[1] = {HR_BUF_INIT}, next = HR_BUF_INIT;
    hr_buf_puts(&results[0], "line 2 \"disk\" full");
    assert_int_equal(hr_ccr_build_followup(&hr_api_bedrock_converse, req, strlen(req), resp, strlen(resp),
                                           &calls, results, &next), 0);
    size_t head = (size_t)(strstr(req, "}]}]") + 3 - req); /* up to the messages' ']' */
    assert_memory_equal(next.data, req, head);
    hr_json_doc d = parse_ok(next.data, next.len);
    uint32_t msgs = hr_json_get(&d, 0, "messages");
    assert_int_equal(d.nodes[msgs].count, 3);
    uint32_t model = hr_json_index(&d, msgs, 1);
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, model, "role"), "assistant"));
    assert_int_equal(d.nodes[hr_json_get(&d, model, "content")].count, 2); /* as it came */
    uint32_t user = hr_json_index(&d, msgs, 2);
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, user, "role"), "user"));
    uint32_t tr = hr_json_get(&d, hr_json_index(&d, hr_json_get(&d, user, "content"), 0), "toolResult");
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, tr, "toolUseId"), "tooluse_1"));
    uint32_t text = hr_json_get(&d, hr_json_index(&d, hr_json_get(&d, tr, "content"), 0), "text");
    assert_true(hr_json_string_eq(&d, text, "line 2 \"disk\" full"));
    hr_json_doc_free(&d);

    usage_doubles(&hr_api_bedrock_converse, resp,
                  "\"usage\":{\"inputTokens\":200,\"outputTokens\":10,\"totalTokens\":210,"
                  "\"cacheReadInputTokens\":6,\"cacheWriteInputTokens\":4}");
    hr_buf_free(&next);
    hr_buf_free(&results[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(injects_in_each_format),
        cmocka_unit_test(appends_after_client_tools_and_respects_theirs),
        cmocka_unit_test(skips_legacy_functions_and_forced_tool_choice),
        cmocka_unit_test(finds_calls_in_each_format),
        cmocka_unit_test(loop_answers_and_sums_usage),
        cmocka_unit_test(followup_in_chat_and_responses_formats),
        cmocka_unit_test(gemini_format),
        cmocka_unit_test(converse_offer),
        cmocka_unit_test(converse_calls_and_followup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
