/* test_compress_policy.c: which spans the request policy picks in each shape. Every body
 * puts large strings everywhere (system, user text, thinking, tool_use input, assistant
 * text) and only tool outputs may come back; excluded tools, small and invalid-UTF-8 spans
 * are counted as skipped; each span names the user message asked before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "compress/policy.h"
#include "json/json.h"

#include <string.h>

static hr_buf big_text(const char *tag)
{
    hr_buf b = HR_BUF_INIT;
    hr_buf_putc(&b, '"');
    hr_buf_puts(&b, tag);
    for (int i = 0; i < 700; i++)
        hr_buf_putc(&b, 'a' + i % 26);
    hr_buf_putc(&b, '"');
    return b;
}

typedef struct parsed {
    hr_json_doc doc;
    hr_policy_scan scan;
} parsed;

static void scan_body(parsed *p, const hr_buf *body, const hr_api *shape, const char *exclude)
{
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(&p->doc, body->data, body->len, &lim, &e), 0);
    hr_pipeline_config c;
    hr_pipeline_config_default(&c);
    if (exclude)
        strcpy(c.exclude_tools, exclude);
    assert_int_equal(hr_policy_find_spans(&p->doc, shape, &c, &p->scan), 0);
}

/* The first bytes of span i's string, after the quote. */
static int span_starts(const parsed *p, size_t i, const char *prefix)
{
    const hr_json_node *n = &p->doc.nodes[p->scan.spans[i].node];
    return strncmp(p->doc.src + n->start + 1, prefix, strlen(prefix)) == 0;
}

static int query_is(const parsed *p, size_t i, const char *text)
{
    hr_buf q = HR_BUF_INIT;
    assert_int_equal(hr_policy_user_text(&p->doc, p->scan.spans[i].query, &q), 0);
    int eq = q.len == strlen(text) && (!q.len || memcmp(q.data, text, q.len) == 0);
    hr_buf_free(&q);
    return eq;
}

static void parsed_free(parsed *p)
{
    hr_policy_scan_free(&p->scan);
    hr_json_doc_free(&p->doc);
}

static void anthropic_only_tool_results(void **state)
{
    (void)state;
    hr_buf sys = big_text("SYS"), user = big_text("USER"), think = big_text("THINK"),
           input = big_text("INPUT"), said = big_text("SAID"), out1 = big_text("OUT1"),
           out2 = big_text("OUT2"), out3 = big_text("OUT3"), body = HR_BUF_INIT;
    hr_buf_printf(&body, "{\"model\":\"claude-x\",\"system\":[{\"type\":\"text\",\"text\":%s}],"
                         "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"first question\"},"
                         "{\"type\":\"text\",\"text\":%s}]},",
                  sys.data, user.data);
    hr_buf_printf(&body, "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":%s},"
                         "{\"type\":\"text\",\"text\":%s},"
                         "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"Bash\",\"input\":{\"cmd\":%s}},"
                         "{\"type\":\"tool_use\",\"id\":\"t2\",\"name\":\"Read\",\"input\":{}},"
                         "{\"type\":\"tool_use\",\"id\":\"t3\",\"name\":\"search\",\"input\":{}}]},",
                  think.data, said.data, input.data);
    hr_buf_printf(&body, "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":%s},"
                         "{\"type\":\"tool_result\",\"tool_use_id\":\"t2\",\"content\":%s},"
                         "{\"type\":\"tool_result\",\"tool_use_id\":\"t3\",\"content\":[{\"type\":\"text\",\"text\":%s},"
                         "{\"type\":\"text\",\"text\":\"small\"}]}]},"
                         "{\"role\":\"user\",\"content\":\"later question\"}]}",
                  out1.data, out2.data, out3.data);
    parsed p;
    scan_body(&p, &body, &hr_api_anthropic_messages, NULL);
    assert_int_equal(p.scan.n, 2);
    assert_true(span_starts(&p, 0, "OUT1"));
    assert_true(span_starts(&p, 1, "OUT3"));
    assert_int_equal(p.scan.skipped_excluded, 1); /* Read */
    assert_int_equal(p.scan.skipped_small, 1);
    assert_int_equal(p.scan.spans[0].message, 2);
    assert_int_equal(p.scan.n_messages, 4);
    assert_true(hr_json_at(&p.doc, p.scan.system) != NULL);
    /* the question asked before the outputs: both text blocks of the first message */
    hr_buf expect = HR_BUF_INIT;
    hr_buf_puts(&expect, "first question\n");
    hr_buf_append(&expect, user.data + 1, user.len - 2);
    assert_true(query_is(&p, 0, expect.data));
    parsed_free(&p);
    /* with search excluded too (a glob, case-insensitive), only the Bash output is left */
    scan_body(&p, &body, &hr_api_anthropic_messages, "Read, SEA*");
    assert_int_equal(p.scan.n, 1);
    assert_true(span_starts(&p, 0, "OUT1"));
    parsed_free(&p);
    hr_buf *all[] = {&sys, &user, &think, &input, &said, &out1, &out2, &out3, &body, &expect};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        hr_buf_free(all[i]);
}

/* Gemini: only functionResponse parts' text (string members of "response", MCP "content"
 * text items) and its object / array members as JSON spans (their source text, exactly);
 * numbers, model text, functionCall args, systemInstruction and user text stay. */
static void gemini_function_responses(void **state)
{
    (void)state;
    hr_buf sys = big_text("SYS"), user = big_text("USER"), args = big_text("ARGS"),
           said = big_text("SAID"), out1 = big_text("OUT1"), out2 = big_text("OUT2"),
           out3 = big_text("OUT3"), body = HR_BUF_INIT;
    hr_buf_printf(&body, "{\"systemInstruction\":{\"parts\":[{\"text\":%s}]},"
                         "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":%s}]},"
                         "{\"role\":\"model\",\"parts\":[{\"text\":%s},"
                         "{\"functionCall\":{\"name\":\"run\",\"args\":{\"cmd\":%s}}}]},",
                  sys.data, user.data, said.data, args.data);
    hr_buf_printf(&body, "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"run\","
                         "\"response\":{\"output\":%s,\"exit\":0,\"meta\":{\"x\":%s}}}},"
                         "{\"functionResponse\":{\"name\":\"Read\",\"response\":{\"result\":%s}}},"
                         "{\"functionResponse\":{\"name\":\"mcp\",\"response\":{\"content\":"
                         "[{\"type\":\"text\",\"text\":%s}]}}}]}]}",
                  out1.data, said.data, out2.data, out3.data);
    parsed p;
    scan_body(&p, &body, &hr_api_gemini, "Read");
    assert_int_equal(p.scan.n, 3);
    assert_true(span_starts(&p, 0, "OUT1"));
    assert_false(p.scan.spans[0].json);
    assert_true(p.scan.spans[1].json); /* "meta":{"x":SAID}, the object's bytes as sent */
    hr_buf text = HR_BUF_INIT, meta = HR_BUF_INIT;
    hr_buf_printf(&meta, "{\"x\":%s}", said.data);
    assert_int_equal(hr_policy_span_text(&p.doc, &p.scan.spans[1], &text), 0);
    assert_int_equal(text.len, meta.len);
    assert_memory_equal(text.data, meta.data, meta.len);
    hr_buf_free(&text);
    hr_buf_free(&meta);
    assert_true(span_starts(&p, 2, "OUT3"));
    assert_int_equal(p.scan.skipped_excluded, 1); /* Read, by name */
    assert_int_equal(p.scan.spans[0].message, 2);
    assert_int_equal(p.scan.n_messages, 3);
    assert_true(hr_json_at(&p.doc, p.scan.system) != NULL);
    hr_buf expect = HR_BUF_INIT;
    hr_buf_append(&expect, user.data + 1, user.len - 2);
    assert_true(query_is(&p, 0, expect.data));
    parsed_free(&p);
    hr_buf *all[] = {&sys, &user, &args, &said, &out1, &out2, &out3, &body, &expect};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        hr_buf_free(all[i]);
}

static void openai_chat_and_responses(void **state)
{
    (void)state;
    hr_buf sys = big_text("SYS"), user = big_text("USER"), args = big_text("ARGS"),
           out1 = big_text("OUT1"), out2 = big_text("OUT2"), body = HR_BUF_INIT;
    hr_buf_printf(&body, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"developer\",\"content\":%s},"
                         "{\"role\":\"user\",\"content\":%s},"
                         "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"a\",\"type\":\"function\","
                         "\"function\":{\"name\":\"edit_file\",\"arguments\":%s}},{\"id\":\"b\",\"type\":\"function\","
                         "\"function\":{\"name\":\"search\",\"arguments\":\"{}\"}}]},"
                         "{\"role\":\"tool\",\"tool_call_id\":\"a\",\"content\":%s},"
                         "{\"role\":\"tool\",\"tool_call_id\":\"b\",\"content\":[{\"type\":\"text\",\"text\":%s}]}]}",
                  sys.data, user.data, args.data, out1.data, out2.data);
    parsed p;
    scan_body(&p, &body, &hr_api_openai_chat, NULL);
    assert_int_equal(p.scan.n, 1); /* edit_file is excluded by default */
    assert_true(span_starts(&p, 0, "OUT2"));
    assert_int_equal(p.scan.skipped_excluded, 1);
    assert_int_equal(p.scan.spans[0].message, 4);
    const hr_json_node *sn = hr_json_at(&p.doc, p.scan.system); /* the developer message */
    assert_non_null(sn);
    assert_true(strncmp(p.doc.src + sn->start + 1, "SYS", 3) == 0);
    /* the same body read as Anthropic or Responses finds no tool outputs */
    parsed q;
    scan_body(&q, &body, &hr_api_openai_responses, NULL);
    assert_int_equal(q.scan.n, 0);
    parsed_free(&q);
    parsed_free(&p);
    hr_buf_reset(&body);
    hr_buf_printf(&body, "{\"model\":\"gpt-4.1\",\"instructions\":%s,\"input\":["
                         "{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"find it\"}]},"
                         "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"shell\",\"arguments\":%s},"
                         "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":%s},"
                         "{\"type\":\"function_call\",\"call_id\":\"c2\",\"name\":\"apply_patch\",\"arguments\":\"{}\"},"
                         "{\"type\":\"function_call_output\",\"call_id\":\"c2\",\"output\":%s}]}",
                  sys.data, args.data, out1.data, out2.data);
    scan_body(&p, &body, &hr_api_openai_responses, NULL);
    assert_int_equal(p.scan.n, 1);
    assert_true(span_starts(&p, 0, "OUT1"));
    assert_true(query_is(&p, 0, "find it"));
    assert_int_equal(p.scan.skipped_excluded, 1);
    assert_int_equal(hr_api_guess(&p.doc), &hr_api_openai_responses);
    parsed_free(&p);
    hr_buf *all[] = {&sys, &user, &args, &out1, &out2, &body};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        hr_buf_free(all[i]);
}

static void unexpected_structures_yield_nothing(void **state)
{
    (void)state;
    const char *bodies[] = {
        "[]", "{}", "{\"messages\":{}}", "{\"messages\":[1,\"x\",null,[]]}",
        "{\"messages\":[{\"role\":\"tool\",\"content\":42}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"content\":{\"a\":1}}]}]}",
        "{\"input\":\"just a string\"}",
        /* text parts without "text" (found by fuzz_compress_pipeline) */
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"content\":"
        "[{\"type\":\"text\",\"t`xt\":\"x\"}]}]},{\"role\":\"tool\",\"content\":[{\"type\":\"text\"}]}],"
        "\"input\":[{\"type\":\"function_call_output\",\"output\":[{\"type\":\"input_text\"}]}]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        hr_buf b = HR_BUF_INIT;
        hr_buf_puts(&b, bodies[i]);
        size_t n_apis;
        const hr_api *const *apis = hr_api_all(&n_apis);
        for (size_t k = 0; k < n_apis; k++) {
            parsed p;
            scan_body(&p, &b, apis[k], NULL);
            assert_int_equal(p.scan.n, 0);
            parsed_free(&p);
        }
        hr_buf_free(&b);
    }
}

static void guesses_shapes(void **state)
{
    (void)state;
    const struct {
        const char *body;
        const hr_api *shape;
    } cases[] = {
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", &hr_api_openai_chat},
        {"{\"system\":\"s\",\"messages\":[]}", &hr_api_anthropic_messages},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"x\",\"content\":\"c\"}]}]}",
         &hr_api_anthropic_messages},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"t\"}]}]}",
         &hr_api_openai_chat},
        {"{\"input\":[]}", &hr_api_openai_responses},
        {"{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}", &hr_api_gemini},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hr_json_doc d;
        hr_json_error e;
        assert_int_equal(hr_json_parse(&d, cases[i].body, strlen(cases[i].body), NULL, &e), 0);
        assert_int_equal(hr_api_guess(&d), cases[i].shape);
        hr_json_doc_free(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(anthropic_only_tool_results),
        cmocka_unit_test(openai_chat_and_responses),
        cmocka_unit_test(gemini_function_responses),
        cmocka_unit_test(unexpected_structures_yield_nothing),
        cmocka_unit_test(guesses_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
