/* Streaming resolution (tool_stream.c): a turn that ends in headroom_retrieve is held back,
 * answered from the store, continued with the follow-up request, and the client receives
 * one coherent message (one message_start, one message_stop, contiguous block indices,
 * summed usage, no headroom_retrieve), for Anthropic, OpenAI chat, Responses and Gemini streams.
 * A turn that also calls another tool, or outgrows the cap, is refused without the tool
 * ever reaching the client; a malformed call is answered with an error result.
 *
 * Driver mode for tests/node/ccr_stream_sdk.test.mjs, which checks the output with the
 * real SDK stream parsers:
 *   test_ccr_stream --relay API ROUND1.sse ROUND2.sse ORIGINAL FOLLOWUP_OUT
 * stores ORIGINAL (tenant "abc"), relays ROUND1 then ROUND2 through one hr_ccr_stream and
 * writes the client's bytes to stdout and the follow-up request to FOLLOWUP_OUT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ccr/tool_stream.h"
#include "json/json.h"
#include "sys/hash.h"

#include <stdio.h>
#include <string.h>

static void feed(hr_ccr_stream *s, const char *type, const char *data, hr_buf *client)
{
    assert_int_equal(hr_ccr_stream_event(s, type, data, strlen(data), client), 0);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* A memory store for the tests (originals put by each test). */
static hr_ccr_store *memory_store(void)
{
    hr_ccr_config c;
    hr_ccr_config_default(&c);
    c.backend = HR_CCR_BACKEND_MEMORY;
    char err[128];
    hr_ccr_store *store = hr_ccr_store_open(&c, err, sizeof err);
    assert_non_null(store);
    return store;
}

static void round1_calls_tool(hr_ccr_stream *s, const char *hash, const char *other_tool, hr_buf *client)
{
    char buf[512];
    feed(s, "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
                             "\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":400,\"output_tokens\":1}}}", client);
    feed(s, "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}", client);
    feed(s, "ping", "{\"type\":\"ping\"}", client);
    feed(s, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Let me check.\"}}", client);
    feed(s, "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}", client);
    int idx = 1;
    if (other_tool) {
        snprintf(buf, sizeof buf, "{\"type\":\"content_block_start\",\"index\":%d,\"content_block\":{\"type\":\"tool_use\","
                                  "\"id\":\"toolu_b\",\"name\":\"%s\",\"input\":{}}}", idx, other_tool);
        feed(s, "content_block_start", buf, client);
        snprintf(buf, sizeof buf, "{\"type\":\"content_block_stop\",\"index\":%d}", idx);
        feed(s, "content_block_stop", buf, client);
        idx++;
    }
    snprintf(buf, sizeof buf, "{\"type\":\"content_block_start\",\"index\":%d,\"content_block\":{\"type\":\"tool_use\","
                              "\"id\":\"toolu_a\",\"name\":\"headroom_retrieve\",\"input\":{}}}", idx);
    feed(s, "content_block_start", buf, client);
    snprintf(buf, sizeof buf, "{\"type\":\"content_block_delta\",\"index\":%d,\"delta\":{\"type\":\"input_json_delta\","
                              "\"partial_json\":\"{\\\"hash\\\": \\\"%.10s\"}}", idx, hash);
    feed(s, "content_block_delta", buf, client);
    snprintf(buf, sizeof buf, "{\"type\":\"content_block_delta\",\"index\":%d,\"delta\":{\"type\":\"input_json_delta\","
                              "\"partial_json\":\"%s\\\", \\\"query\\\": \\\"disk\\\"}\"}}", idx, hash + 10);
    feed(s, "content_block_delta", buf, client);
    snprintf(buf, sizeof buf, "{\"type\":\"content_block_stop\",\"index\":%d}", idx);
    feed(s, "content_block_stop", buf, client);
    feed(s, "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
                             "\"usage\":{\"output_tokens\":30}}", client);
    feed(s, "message_stop", "{\"type\":\"message_stop\"}", client);
}

static void resolves_and_continues_one_message(void **state)
{
    (void)state;
    hr_ccr_config c;
    hr_ccr_config_default(&c);
    c.backend = HR_CCR_BACKEND_MEMORY;
    char err[128], hash[HR_CONTENT_HASH_HEX + 1];
    hr_ccr_store *store = hr_ccr_store_open(&c, err, sizeof err);
    const char *original = "ok\ndisk full on /var\nok\n";
    hr_content_hash(original, strlen(original), hash);
    assert_int_equal(hr_ccr_put(store, "abc123", hash, original, strlen(original), 0), 0);

    const char *request = "{\"model\":\"claude\",\"stream\":true,\"max_tokens\":100,\"messages\":"
                          "[{\"role\":\"user\",\"content\":\"why?\"}],\"tools\":[]}";
    hr_ccr_stream *s = hr_ccr_stream_new(&hr_api_anthropic_messages, request, strlen(request));
    hr_buf client = HR_BUF_INIT, followup = HR_BUF_INIT;
    round1_calls_tool(s, hash, NULL, &client);
    assert_null(strstr(client.data, "headroom_retrieve"));
    assert_null(strstr(client.data, "message_stop"));
    assert_non_null(strstr(client.data, "Let me check."));
    assert_int_equal(hr_ccr_stream_end(s, store, "abc123", &followup, &client), 1);

    /* The follow-up replays the turn (text + tool_use with the streamed input) and answers
     * the call with the query's selection of the original. */
    hr_json_doc d = {0};
    hr_json_error jerr;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(&d, followup.data, followup.len, &lim, &jerr), 0);
    uint32_t msgs = hr_json_get(&d, 0, "messages");
    assert_int_equal(d.nodes[msgs].count, 3);
    uint32_t turn = hr_json_get(&d, hr_json_index(&d, msgs, 1), "content");
    uint32_t use = hr_json_index(&d, turn, 1);
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, hr_json_get(&d, use, "input"), "query"), "disk"));
    uint32_t result = hr_json_index(&d, hr_json_get(&d, hr_json_index(&d, msgs, 2), "content"), 0);
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, result, "tool_use_id"), "toolu_a"));
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, result, "content"), "disk full on /var"));
    assert_true(hr_json_is_true(&d, hr_json_get(&d, 0, "stream")));
    hr_json_doc_free(&d);

    /* Round 2 streams the answer. */
    feed(s, "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"type\":\"message\","
                             "\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":450,\"output_tokens\":1}}}", &client);
    feed(s, "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}", &client);
    feed(s, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"The disk is full.\"}}", &client);
    feed(s, "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}", &client);
    feed(s, "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
                             "\"usage\":{\"output_tokens\":12}}", &client);
    feed(s, "message_stop", "{\"type\":\"message_stop\"}", &client);
    assert_int_equal(hr_ccr_stream_end(s, store, "abc123", &followup, &client), 0);

    assert_int_equal(count(client.data, "event: message_start"), 1);
    assert_int_equal(count(client.data, "event: message_stop"), 1);
    assert_int_equal(count(client.data, "\"msg_2\""), 0);
    assert_non_null(strstr(client.data, "\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"The disk is full.\"}"));
    assert_int_equal(count(client.data, "\"index\":0"), 3); /* block 0 start, delta, stop: round 1 */
    assert_int_equal(count(client.data, "\"index\":1"), 3); /* round 2 block 0, shifted */
    assert_non_null(strstr(client.data, "\"usage\":{\"output_tokens\":42}"));
    assert_null(strstr(client.data, "headroom_retrieve"));
    assert_null(strstr(client.data, "tool_use"));
    hr_buf_free(&client);
    hr_buf_free(&followup);
    hr_ccr_stream_free(s);
    hr_ccr_store_close(store);
}

/* headroom_retrieve together with another tool: the turn cannot be resolved without the
 * client, and the client must never see a tool it did not define. What went out before
 * the held call stays sent; the held events are dropped and the caller ends the stream
 * with the provider's error event (-1 and a reason). */
static void mixed_turn_is_refused_and_never_shows_the_tool(void **state)
{
    (void)state;
    hr_ccr_store *store = memory_store();
    const char *request = "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    hr_ccr_stream *s = hr_ccr_stream_new(&hr_api_anthropic_messages, request, strlen(request));
    hr_buf client = HR_BUF_INIT, followup = HR_BUF_INIT;
    round1_calls_tool(s, "0123456789abcdef01234567", "Bash", &client);
    assert_int_equal(hr_ccr_stream_end(s, store, "abc123", &followup, &client), -1);
    assert_int_equal(followup.len, 0);
    assert_non_null(strstr(hr_ccr_stream_refusal(s), "another tool"));
    assert_non_null(strstr(client.data, "\"name\":\"Bash\""));
    assert_null(strstr(client.data, "headroom_retrieve"));
    assert_int_equal(count(client.data, "event: message_stop"), 0);
    hr_buf_free(&client);
    hr_ccr_stream_free(s);

    /* Events without a tool call pass through byte for byte. */
    s = hr_ccr_stream_new(&hr_api_openai_responses, request, strlen(request));
    feed(s, "response.output_text.delta", "{\"type\":\"response.output_text.delta\",\"delta\":\"hi\"}", &client);
    assert_string_equal(client.data, "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"hi\"}\n\n");
    assert_int_equal(hr_ccr_stream_end(s, store, "abc123", &followup, &client), 0);
    hr_buf_free(&client);
    hr_ccr_stream_free(s);
    hr_ccr_store_close(store);
}

static void chat_stream_resolves_with_one_id_and_summed_usage(void **state)
{
    (void)state;
    hr_ccr_config c;
    hr_ccr_config_default(&c);
    c.backend = HR_CCR_BACKEND_MEMORY;
    char err[128], hash[HR_CONTENT_HASH_HEX + 1], buf[512];
    hr_ccr_store *store = hr_ccr_store_open(&c, err, sizeof err);
    const char *original = "[{\"id\":1,\"state\":\"ok\"},{\"id\":2,\"state\":\"crashed\"}]";
    hr_content_hash(original, strlen(original), hash);
    assert_int_equal(hr_ccr_put(store, "abc123", hash, original, strlen(original), 0), 0);
    const char *request = "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"which crashed?\"}]}";
    hr_ccr_stream *s = hr_ccr_stream_new(&hr_api_openai_chat, request, strlen(request));
    hr_buf client = HR_BUF_INIT, followup = HR_BUF_INIT;
    feed(s, NULL, "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}", &client);
    snprintf(buf, sizeof buf, "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
             "\"id\":\"call_7\",\"type\":\"function\",\"function\":{\"name\":\"headroom_retrieve\",\"arguments\":\"{\\\"hash\\\":\\\"%s\"}}]},\"finish_reason\":null}]}", hash);
    feed(s, NULL, buf, &client);
    feed(s, NULL, "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\",\\\"query\\\":\\\"crashed\\\"}\"}}]},\"finish_reason\":null}]}", &client);
    feed(s, NULL, "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}", &client);
    feed(s, NULL, "{\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20,\"total_tokens\":120}}", &client);
    feed(s, NULL, "[DONE]", &client);
    assert_null(strstr(client.data, "headroom_retrieve"));
    assert_null(strstr(client.data, "[DONE]"));
    assert_int_equal(hr_ccr_stream_end(s, store, "abc123", &followup, &client), 1);
    assert_non_null(strstr(followup.data, "\"role\":\"tool\",\"tool_call_id\":\"call_7\",\"content\":\"[{\\\"id\\\":2,\\\"state\\\":\\\"crashed\\\"}]\""));
    feed(s, NULL, "{\"id\":\"chatcmpl-2\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Item 2.\"},\"finish_reason\":null}]}", &client);
    feed(s, NULL, "{\"id\":\"chatcmpl-2\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}", &client);
    feed(s, NULL, "{\"id\":\"chatcmpl-2\",\"choices\":[],\"usage\":{\"prompt_tokens\":150,\"completion_tokens\":5,\"total_tokens\":155}}", &client);
    feed(s, NULL, "[DONE]", &client);
    assert_int_equal(hr_ccr_stream_end(s, store, "abc123", &followup, &client), 0);
    assert_null(strstr(client.data, "chatcmpl-2"));
    assert_int_equal(count(client.data, "chatcmpl-1"), 4);
    assert_int_equal(count(client.data, "[DONE]"), 1);
    assert_non_null(strstr(client.data, "\"usage\":{\"prompt_tokens\":250,\"completion_tokens\":25,\"total_tokens\":275}"));
    assert_non_null(strstr(client.data, "Item 2."));
    assert_null(strstr(client.data, "tool_calls"));
    hr_buf_free(&client);
    hr_buf_free(&followup);
    hr_ccr_stream_free(s);
    hr_ccr_store_close(store);
}

static void responses_stream_continues_the_first_response(void **state)
{
    (void)state;
    hr_ccr_config c;
    hr_ccr_config_default(&c);
    c.backend = HR_CCR_BACKEND_MEMORY;
    char err[128], hash[HR_CONTENT_HASH_HEX + 1], buf[1024];
    hr_ccr_store *store = hr_ccr_store_open(&c, err, sizeof err);
    const char *original = "alpha\nbeta timeout\ngamma\n";
    hr_content_hash(original, strlen(original), hash);
    assert_int_equal(hr_ccr_put(store, "abc123", hash, original, strlen(original), 0), 0);
    const char *request = "{\"model\":\"gpt-4o\",\"stream\":true,\"input\":\"what timed out?\"}";
    hr_ccr_stream *s = hr_ccr_stream_new(&hr_api_openai_responses, request, strlen(request));
    hr_buf client = HR_BUF_INIT, followup = HR_BUF_INIT;
    const char *reasoning = "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[]}";
    char call[256];
    snprintf(call, sizeof call, "{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_1\",\"name\":\"headroom_retrieve\","
             "\"arguments\":\"{\\\"hash\\\":\\\"%s\\\",\\\"query\\\":\\\"timeout\\\"}\"}", hash);
    feed(s, "response.created", "{\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"output\":[]}}", &client);
    feed(s, "response.in_progress", "{\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{\"id\":\"resp_1\"}}", &client);
    snprintf(buf, sizeof buf, "{\"type\":\"response.output_item.added\",\"sequence_number\":2,\"output_index\":0,\"item\":%s}", reasoning);
    feed(s, "response.output_item.added", buf, &client);
    snprintf(buf, sizeof buf, "{\"type\":\"response.output_item.done\",\"sequence_number\":3,\"output_index\":0,\"item\":%s}", reasoning);
    feed(s, "response.output_item.done", buf, &client);
    feed(s, "response.output_item.added", "{\"type\":\"response.output_item.added\",\"sequence_number\":4,\"output_index\":1,\"item\":"
         "{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_1\",\"name\":\"headroom_retrieve\",\"arguments\":\"\"}}", &client);
    feed(s, "response.function_call_arguments.delta", "{\"type\":\"response.function_call_arguments.delta\",\"sequence_number\":5,\"output_index\":1,\"item_id\":\"fc_1\",\"delta\":\"{}\"}", &client);
    snprintf(buf, sizeof buf, "{\"type\":\"response.output_item.done\",\"sequence_number\":6,\"output_index\":1,\"item\":%s}", call);
    feed(s, "response.output_item.done", buf, &client);
    snprintf(buf, sizeof buf, "{\"type\":\"response.completed\",\"sequence_number\":7,\"response\":{\"id\":\"resp_1\",\"status\":\"completed\","
             "\"output\":[%s,%s],\"usage\":{\"input_tokens\":100,\"output_tokens\":20,\"total_tokens\":120}}}", reasoning, call);
    feed(s, "response.completed", buf, &client);
    assert_null(strstr(client.data, "headroom_retrieve"));
    assert_null(strstr(client.data, "response.completed"));
    assert_int_equal(hr_ccr_stream_end(s, store, "abc123", &followup, &client), 1);
    assert_non_null(strstr(followup.data, "{\"type\":\"function_call_output\",\"call_id\":\"call_1\",\"output\":\"beta timeout\"}"));
    assert_non_null(strstr(followup.data, "\"input\":[{\"role\":\"user\",\"content\":\"what timed out?\"},"));

    const char *message = "{\"type\":\"message\",\"id\":\"msg_9\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"beta\"}]}";
    feed(s, "response.created", "{\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_2\",\"output\":[]}}", &client);
    feed(s, "response.in_progress", "{\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{\"id\":\"resp_2\"}}", &client);
    snprintf(buf, sizeof buf, "{\"type\":\"response.output_item.added\",\"sequence_number\":2,\"output_index\":0,\"item\":%s}", message);
    feed(s, "response.output_item.added", buf, &client);
    snprintf(buf, sizeof buf, "{\"type\":\"response.output_item.done\",\"sequence_number\":3,\"output_index\":0,\"item\":%s}", message);
    feed(s, "response.output_item.done", buf, &client);
    snprintf(buf, sizeof buf, "{\"type\":\"response.completed\",\"sequence_number\":4,\"response\":{\"id\":\"resp_2\",\"status\":\"completed\","
             "\"output\":[%s],\"usage\":{\"input_tokens\":150,\"output_tokens\":10,\"total_tokens\":160}}}", message);
    feed(s, "response.completed", buf, &client);
    assert_int_equal(hr_ccr_stream_end(s, store, "abc123", &followup, &client), 0);

    assert_int_equal(count(client.data, "event: response.created"), 1);
    assert_int_equal(count(client.data, "event: response.completed"), 1);
    assert_null(strstr(client.data, "resp_2"));
    assert_null(strstr(client.data, "headroom_retrieve"));
    assert_non_null(strstr(client.data, "\"sequence_number\":6,\"output_index\":1,\"item\":{\"type\":\"message\""));
    snprintf(buf, sizeof buf, "\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"output\":[%s,%s],"
             "\"usage\":{\"input_tokens\":250,\"output_tokens\":30,\"total_tokens\":280}}", reasoning, message);
    assert_non_null(strstr(client.data, buf));
    hr_buf_free(&client);
    hr_buf_free(&followup);
    hr_ccr_stream_free(s);
    hr_ccr_store_close(store);
}

/* A headroom_retrieve call whose streamed input is not JSON: answered with an error
 * result to the model (the turn replayed with input {}), the conversation goes on. */
/* Gemini alt=sse: the chunk holding the headroom_retrieve functionCall is held back, the
 * follow-up replays the model's parts as they streamed, and the continuation's cumulative
 * usageMetadata gets the first round added. */
static void gemini_stream_resolves_with_summed_usage(void **state)
{
    (void)state;
    hr_ccr_store *store = memory_store();
    char hash[HR_CONTENT_HASH_HEX + 1], buf[512];
    const char *original = "line 1 ok\nline 2 disk full\n";
    hr_content_hash(original, strlen(original), hash);
    assert_int_equal(hr_ccr_put(store, "abc123", hash, original, strlen(original), 0), 0);
    const char *request = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"why?\"}]}]}";
    hr_ccr_stream *s = hr_ccr_stream_new(&hr_api_gemini, request, strlen(request));
    hr_buf client = HR_BUF_INIT, followup = HR_BUF_INIT;
    feed(s, NULL, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Checking. \"}]}}],"
                  "\"usageMetadata\":{\"promptTokenCount\":100,\"totalTokenCount\":100}}", &client);
    snprintf(buf, sizeof buf, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":"
             "{\"name\":\"headroom_retrieve\",\"args\":{\"hash\":\"%s\"}}}]},\"finishReason\":\"STOP\"}],"
             "\"usageMetadata\":{\"promptTokenCount\":100,\"candidatesTokenCount\":8,\"totalTokenCount\":108}}", hash);
    feed(s, NULL, buf, &client);
    assert_non_null(strstr(client.data, "Checking. "));
    assert_null(strstr(client.data, "headroom_retrieve"));
    assert_int_equal(hr_ccr_stream_end(s, store, "abc123", &followup, &client), 1);
    hr_json_doc d;
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(&d, followup.data, followup.len, &lim, &err), 0);
    uint32_t contents = hr_json_get(&d, 0, "contents");
    assert_int_equal(d.nodes[contents].count, 3);
    uint32_t model_parts = hr_json_get(&d, hr_json_index(&d, contents, 1), "parts");
    assert_int_equal(d.nodes[model_parts].count, 2); /* the text and the call, as streamed */
    uint32_t fr = hr_json_get(&d, hr_json_index(&d, hr_json_get(&d, hr_json_index(&d, contents, 2), "parts"), 0),
                              "functionResponse");
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, hr_json_get(&d, fr, "response"), "output"), original));
    hr_json_doc_free(&d);
    feed(s, NULL, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Disk full.\"}]},"
                  "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":150,\"candidatesTokenCount\":3,"
                  "\"totalTokenCount\":153}}", &client);
    assert_int_equal(hr_ccr_stream_end(s, store, "abc123", &followup, &client), 0);
    assert_non_null(strstr(client.data, "Disk full."));
    assert_non_null(strstr(client.data, "\"usageMetadata\":{\"promptTokenCount\":250,\"candidatesTokenCount\":11,"
                                        "\"totalTokenCount\":261}"));
    assert_null(strstr(client.data, "headroom_retrieve"));
    hr_buf_free(&client);
    hr_buf_free(&followup);
    hr_ccr_stream_free(s);
    hr_ccr_store_close(store);
}

static void malformed_call_is_answered_with_an_error_result(void **state)
{
    (void)state;
    hr_ccr_store *store = memory_store();
    const char *request = "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    hr_ccr_stream *s = hr_ccr_stream_new(&hr_api_anthropic_messages, request, strlen(request));
    hr_buf client = HR_BUF_INIT, followup = HR_BUF_INIT;
    feed(s, "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":5}}}", &client);
    feed(s, "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\","
                                   "\"id\":\"toolu_x\",\"name\":\"headroom_retrieve\",\"input\":{}}}", &client);
    feed(s, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
                                   "\"partial_json\":\"{\\\"hash\\\": \\\"abc\"}}", &client); /* never closed */
    feed(s, "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}", &client);
    feed(s, "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":3}}", &client);
    feed(s, "message_stop", "{\"type\":\"message_stop\"}", &client);
    assert_int_equal(hr_ccr_stream_end(s, store, "abc123", &followup, &client), 1);
    assert_null(client.data ? strstr(client.data, "headroom_retrieve") : NULL);
    hr_json_doc d = {0};
    hr_json_error jerr;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(&d, followup.data, followup.len, &lim, &jerr), 0);
    uint32_t msgs = hr_json_get(&d, 0, "messages");
    uint32_t use = hr_json_index(&d, hr_json_get(&d, hr_json_index(&d, msgs, 1), "content"), 0);
    assert_int_equal(d.nodes[hr_json_get(&d, use, "input")].type, HR_JSON_OBJECT);
    uint32_t result = hr_json_index(&d, hr_json_get(&d, hr_json_index(&d, msgs, 2), "content"), 0);
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, result, "tool_use_id"), "toolu_x"));
    hr_buf text = HR_BUF_INIT;
    assert_int_equal(hr_json_string(&d, hr_json_get(&d, result, "content"), &text), 0);
    assert_non_null(strstr(text.data, "hash")); /* the explanation names what was missing */
    hr_buf_free(&text);
    hr_json_doc_free(&d);
    hr_buf_free(&client);
    hr_buf_free(&followup);
    hr_ccr_stream_free(s);
    hr_ccr_store_close(store);
}

/* Streams a tool call of `calls` deltas of 1 KiB arguments each, OpenAI chat style. */
static int stream_big_call(hr_ccr_stream *s, const char *name, int calls, hr_buf *client)
{
    char big[1200], ev[1600];
    memset(big, 'a', 1024);
    big[1024] = 0;
    snprintf(ev, sizeof ev, "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
             "\"id\":\"call_1\",\"function\":{\"name\":\"%s\",\"arguments\":\"\"}}]}}]}", name);
    int rc = hr_ccr_stream_event(s, NULL, ev, strlen(ev), client);
    for (int i = 0; i < calls && rc == 0; i++) {
        snprintf(ev, sizeof ev, "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
                 "\"function\":{\"arguments\":\"%s\"}}]}}]}", big);
        rc = hr_ccr_stream_event(s, NULL, ev, strlen(ev), client);
    }
    return rc;
}

static void held_turn_over_the_cap_is_refused_at_once(void **state)
{
    (void)state;
    const char *request = "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    hr_ccr_stream *s = hr_ccr_stream_new(&hr_api_openai_chat, request, strlen(request));
    hr_ccr_stream_set_limit(s, 256 * 1024);
    hr_buf client = HR_BUF_INIT;
    assert_int_equal(stream_big_call(s, "headroom_retrieve", 4096, &client), -2); /* 4 MB offered */
    assert_non_null(strstr(hr_ccr_stream_refusal(s), "--max-answer-bytes"));
    assert_null(client.data ? strstr(client.data, "headroom_retrieve") : NULL);
    hr_buf_free(&client);
    hr_ccr_stream_free(s);
}

static void ordinary_turn_over_the_cap_passes_untracked(void **state)
{
    (void)state;
    hr_ccr_store *store = memory_store();
    const char *request = "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    hr_ccr_stream *s = hr_ccr_stream_new(&hr_api_openai_chat, request, strlen(request));
    hr_ccr_stream_set_limit(s, 256 * 1024);
    hr_buf client = HR_BUF_INIT, followup = HR_BUF_INIT;
    assert_int_equal(stream_big_call(s, "Bash", 2048, &client), 0); /* the client's own tool */
    assert_int_equal(count(client.data, "aaaaaaaa\"}}]}}]}"), 2048);   /* every delta went out */
    assert_int_equal(hr_ccr_stream_end(s, store, "abc123", &followup, &client), 0);
    hr_buf_free(&client);
    hr_buf_free(&followup);
    hr_ccr_stream_free(s);
    hr_ccr_store_close(store);
}

static int read_file(const char *path, hr_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        hr_buf_append(out, chunk, n);
    fclose(f);
    return 0;
}

/* Minimal SSE reader for the driver: events separated by blank lines, "event:" and
 * "data:" fields (one data line per event, as providers send them). */
static void relay_file(hr_ccr_stream *s, const hr_buf *sse, hr_buf *client)
{
    char event[128] = "";
    const char *p = sse->data ? sse->data : "", *end = p + sse->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n >= 6 && !strncmp(p, "event:", 6)) {
            const char *v = p + 6 + (p[6] == ' ');
            snprintf(event, sizeof event, "%.*s", (int)(p + n - v), v);
        } else if (n >= 5 && !strncmp(p, "data:", 5)) {
            const char *v = p + 5 + (p[5] == ' ');
            hr_ccr_stream_event(s, event[0] ? event : NULL, v, (size_t)(p + n - v), client);
            event[0] = '\0';
        }
        p += n + 1;
    }
}

static int relay_main(int argc, char **argv)
{
    if (argc != 7)
        return 2;
    const hr_api *api = !strcmp(argv[2], "anthropic") ? &hr_api_anthropic_messages
                     : !strcmp(argv[2], "responses") ? &hr_api_openai_responses
                                                     : &hr_api_openai_chat;
    hr_buf r1 = HR_BUF_INIT, r2 = HR_BUF_INIT, orig = HR_BUF_INIT, client = HR_BUF_INIT,
           followup = HR_BUF_INIT;
    if (read_file(argv[3], &r1) || read_file(argv[4], &r2) || read_file(argv[5], &orig))
        return 2;
    hr_ccr_config c;
    hr_ccr_config_default(&c);
    c.backend = HR_CCR_BACKEND_MEMORY;
    char err[128], hash[HR_CONTENT_HASH_HEX + 1];
    hr_ccr_store *store = hr_ccr_store_open(&c, err, sizeof err);
    hr_content_hash(orig.data ? orig.data : "", orig.len, hash);
    hr_ccr_put(store, "abc", hash, orig.data ? orig.data : "", orig.len, 0);
    const char *request = api == &hr_api_openai_responses
                              ? "{\"model\":\"gpt-4o\",\"stream\":true,\"input\":\"q\"}"
                              : "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}";
    hr_ccr_stream *s = hr_ccr_stream_new(api, request, strlen(request));
    relay_file(s, &r1, &client);
    int code = 0;
    if (hr_ccr_stream_end(s, store, "abc", &followup, &client) != 1)
        code = 3;
    relay_file(s, &r2, &client);
    if (hr_ccr_stream_end(s, store, "abc", &followup, &client) != 0)
        code = 4;
    fwrite(client.data ? client.data : "", 1, client.len, stdout);
    FILE *f = fopen(argv[6], "wb");
    if (f) {
        fwrite(followup.data ? followup.data : "", 1, followup.len, f);
        fclose(f);
    }
    hr_ccr_stream_free(s);
    hr_ccr_store_close(store);
    hr_buf_free(&r1);
    hr_buf_free(&r2);
    hr_buf_free(&orig);
    hr_buf_free(&client);
    hr_buf_free(&followup);
    return code;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--relay"))
        return relay_main(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resolves_and_continues_one_message),
        cmocka_unit_test(mixed_turn_is_refused_and_never_shows_the_tool),
        cmocka_unit_test(malformed_call_is_answered_with_an_error_result),
        cmocka_unit_test(held_turn_over_the_cap_is_refused_at_once),
        cmocka_unit_test(ordinary_turn_over_the_cap_passes_untracked),
        cmocka_unit_test(chat_stream_resolves_with_one_id_and_summed_usage),
        cmocka_unit_test(responses_stream_continues_the_first_response),
        cmocka_unit_test(gemini_stream_resolves_with_summed_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
