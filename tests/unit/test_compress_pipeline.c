/* test_compress_pipeline.c: the request policy and pipeline on real-shaped Anthropic,
 * OpenAI chat and Responses bodies: only tool outputs change and every other byte is
 * identical; excluded tools, small spans and user text stay; originals are stored under
 * the marker's hash; token-mode replay over 30 turns and cache mode keep earlier bytes;
 * determinism across two processes; fail-open paths (no store, bad JSON, deadline);
 * replayed markers stay retrievable (per tenant, after the store's TTL, and a replay whose
 * store fails forwards the original). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ccr/marker.h"
#include "ccr/store.h"
#include "ccr_store_fixture.h"
#include "compress/pipeline_instance.h"
#include "compress_scenarios.h"
#include "json/json.h"

#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static hr_pipeline *pipeline_with(hr_ccr_store *store, hr_compress_mode mode)
{
    hr_pipeline_config c;
    hr_pipeline_config_default(&c);
    c.mode = mode;
    hr_pipeline *p = hr_pipeline_new(&c, HR_PIPELINE_STORE_GIVEN, store);
    assert_non_null(p);
    return p;
}

static void put_json_string(hr_buf *b, const hr_buf *s)
{
    assert_int_equal(hr_json_write_string(b, s->data, s->len), 0);
}

/* A Claude Code-like conversation: system blocks, user text, thinking, tool_use Bash with a
 * JSON tool_result (DB rows), tool_use Read with a large file (excluded), a small result,
 * and a last user question. "messages" is the last member so bodies of later turns extend
 * earlier ones. */
static void anthropic_body(hr_buf *b, hr_buf *rows, hr_buf *file)
{
    scen_db_rows(rows, 120, 4);
    for (int i = 0; i < 80; i++)
        hr_buf_printf(file, "%4d\tstatic int helper_%d(void) { return %d; }\n", i + 1, i, i);
    hr_buf_puts(b, "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,\"system\":[{\"type\":"
                   "\"text\",\"text\":\"You are Claude Code.\"}],\"messages\":[");
    hr_buf_puts(b, "{\"role\":\"user\",\"content\":\"list failing accounts, and why dana.reyes@"
                   "example.com cannot log in\"},");
    hr_buf_puts(b, "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":"
                   "\"I will query the db\",\"signature\":\"c2ln\"},{\"type\":\"tool_use\",\"id\":"
                   "\"toolu_01\",\"name\":\"Bash\",\"input\":{\"command\":\"psql -c 'select *'\"}},"
                   "{\"type\":\"tool_use\",\"id\":\"toolu_02\",\"name\":\"Read\",\"input\":"
                   "{\"file_path\":\"/src/a.c\"}}]},");
    hr_buf_puts(b, "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
                   "\"toolu_01\",\"content\":");
    put_json_string(b, rows);
    hr_buf_puts(b, "},{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_02\",\"content\":[{\"type\":"
                   "\"text\",\"text\":");
    put_json_string(b, file);
    hr_buf_puts(b, "}]}]},{\"role\":\"assistant\",\"content\":\"Looking.\"},"
                   "{\"role\":\"user\",\"content\":\"and the failed one?\"}]}");
}

static hr_pipeline_result run(hr_pipeline *p, const hr_api *shape, const hr_buf *body,
                              const char *session)
{
    hr_pipeline_input in = {shape, body->data, body->len, session, "0123456789abcdef", "hr-t", NULL};
    hr_pipeline_result out;
    assert_int_equal(hr_pipeline_run_on(p, &in, &out), 0);
    return out;
}

/* cmp-style: the bodies are equal except for one span [start, in_end) of the input that
 * became [start, out_end) of the output; returns the span start. */
static size_t single_changed_span(const hr_buf *in, const hr_buf *out, size_t *in_end,
                                  size_t *out_end)
{
    size_t a = 0;
    while (a < in->len && a < out->len && in->data[a] == out->data[a])
        a++;
    size_t i = in->len, o = out->len;
    while (i > a && o > a && in->data[i - 1] == out->data[o - 1]) {
        i--;
        o--;
    }
    *in_end = i;
    *out_end = o;
    return a;
}

static void anthropic_only_tool_output_changes(void **state)
{
    (void)state;
    hr_ccr_store *st = memory_store();
    hr_pipeline *p = pipeline_with(st, HR_MODE_TOKEN);
    hr_buf body = HR_BUF_INIT, rows = HR_BUF_INIT, file = HR_BUF_INIT, esc = HR_BUF_INIT;
    anthropic_body(&body, &rows, &file);
    hr_pipeline_result r = run(p, &hr_api_anthropic_messages, &body, NULL);
    assert_true(r.modified);
    assert_false(r.failed_open);
    assert_string_equal(r.transforms, "smart_crusher");
    assert_true(r.tokens_after < r.tokens_before);
    /* the only difference is inside the rows string */
    put_json_string(&esc, &rows);
    const char *rows_at = memmem(body.data, body.len, esc.data, esc.len);
    assert_non_null(rows_at);
    size_t in_end, out_end, a = single_changed_span(&body, &r.body, &in_end, &out_end);
    assert_true(a > (size_t)(rows_at - body.data));
    assert_true(in_end < (size_t)(rows_at - body.data) + esc.len);
    /* the Read output (excluded tool) and user text are untouched */
    hr_buf_reset(&esc);
    put_json_string(&esc, &file);
    assert_non_null(memmem(r.body.data, r.body.len, esc.data, esc.len));
    /* the new body is valid JSON and its tool_result holds a marker whose original is
     * stored under the request's tenant */
    hr_json_doc d;
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(&d, r.body.data, r.body.len, &lim, &e), 0);
    hr_json_doc_free(&d);
    hr_marker m;
    assert_true(hr_marker_find(r.body.data, r.body.len, 0, &m));
    hr_buf got = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(st, "0123456789abcdef", m.hash, &got), HR_CCR_FOUND);
    assert_int_equal(got.len, rows.len);
    assert_memory_equal(got.data, rows.data, rows.len);
    /* the needle the user asked about survived */
    assert_non_null(memmem(r.body.data, r.body.len, "dana.reyes@example.com", 22));
    hr_buf_free(&got);
    hr_pipeline_result_free(&r);
    hr_buf_free(&body);
    hr_buf_free(&rows);
    hr_buf_free(&file);
    hr_buf_free(&esc);
    hr_pipeline_free(p);
    hr_ccr_store_close(st);
}

static void openai_chat_and_responses_shapes(void **state)
{
    (void)state;
    hr_ccr_store *st = memory_store();
    hr_pipeline *p = pipeline_with(st, HR_MODE_TOKEN);
    hr_buf out1 = HR_BUF_INIT, out2 = HR_BUF_INIT, body = HR_BUF_INIT;
    scen_code_search(&out1, 100, 8);
    scen_api_orders(&out2, 80, 9);
    hr_buf_puts(&body, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
                       "{\"role\":\"user\",\"content\":\"where is validate_refresh_token?\"},"
                       "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\","
                       "\"type\":\"function\",\"function\":{\"name\":\"search\",\"arguments\":\"{}\"}},"
                       "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"orders\","
                       "\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":");
    put_json_string(&body, &out1);
    hr_buf_puts(&body, "},{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":[{\"type\":\"text\",\"text\":");
    put_json_string(&body, &out2);
    hr_buf_puts(&body, "}]}]}");
    hr_pipeline_result r = run(p, &hr_api_openai_chat, &body, NULL);
    assert_true(r.modified);
    assert_non_null(memmem(r.body.data, r.body.len, "validate_refresh_token(", 23));
    assert_non_null(memmem(r.body.data, r.body.len, "\"content\":\"be brief\"", 20));
    /* two markers: both outputs compressed */
    hr_marker m;
    assert_true(hr_marker_find(r.body.data, r.body.len, 0, &m));
    size_t from = m.end;
    int n = 1;
    while (hr_marker_find(r.body.data, r.body.len, from, &m)) {
        from = m.end;
        n++;
    }
    assert_true(n >= 2);
    hr_pipeline_result_free(&r);

    hr_buf_reset(&body);
    hr_buf_puts(&body, "{\"model\":\"gpt-4.1\",\"instructions\":\"x\",\"input\":[{\"role\":\"user\","
                       "\"content\":[{\"type\":\"input_text\",\"text\":\"search tokens\"}]},"
                       "{\"type\":\"function_call\",\"call_id\":\"fc_1\",\"name\":\"shell\",\"arguments\":\"{}\"},"
                       "{\"type\":\"function_call_output\",\"call_id\":\"fc_1\",\"output\":");
    put_json_string(&body, &out1);
    hr_buf_puts(&body, "}]}");
    r = run(p, &hr_api_openai_responses, &body, NULL);
    assert_true(r.modified);
    assert_true(r.tokens_after * 2 < r.tokens_before);
    hr_pipeline_result_free(&r);
    /* the same body as chat shape has no tool messages: nothing changes */
    r = run(p, &hr_api_openai_chat, &body, NULL);
    assert_false(r.modified);
    hr_pipeline_result_free(&r);
    hr_buf_free(&out1);
    hr_buf_free(&out2);
    hr_buf_free(&body);
    hr_pipeline_free(p);
    hr_ccr_store_close(st);
}

/* Grows an OpenAI conversation turn by turn; "messages" is last, so the forwarded body of
 * turn k without its closing "]}" must be a prefix of the forwarded body of turn k+1. */
static void append_turn(hr_buf *msgs, int turn)
{
    hr_buf out = HR_BUF_INIT;
    switch (turn % 4) {
    case 0: scen_db_rows(&out, 60 + turn, (uint64_t)turn); break;
    case 1: scen_metrics(&out, 200, (uint64_t)turn); break;
    case 2: scen_api_orders(&out, 40, (uint64_t)turn); break;
    default: scen_code_search(&out, 50, (uint64_t)turn); break;
    }
    hr_buf_printf(msgs, ",{\"role\":\"user\",\"content\":\"turn %d: look at record %d\"}", turn,
                  5000 + turn * 3);
    hr_buf_printf(msgs, ",{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c%d\","
                        "\"type\":\"function\",\"function\":{\"name\":\"q\",\"arguments\":\"{}\"}}]}",
                  turn);
    hr_buf_printf(msgs, ",{\"role\":\"tool\",\"tool_call_id\":\"c%d\",\"content\":", turn);
    put_json_string(msgs, &out);
    hr_buf_putc(msgs, '}');
    hr_buf_free(&out);
}

static void replay_turns(hr_compress_mode mode, int turns)
{
    hr_ccr_store *st = memory_store();
    hr_pipeline *p = pipeline_with(st, mode);
    hr_buf msgs = HR_BUF_INIT, body = HR_BUF_INIT, prev = HR_BUF_INIT;
    hr_buf_puts(&msgs, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"}");
    for (int t = 0; t < turns; t++) {
        append_turn(&msgs, t);
        hr_buf_reset(&body);
        hr_buf_append(&body, msgs.data, msgs.len);
        hr_buf_puts(&body, "]}");
        hr_pipeline_result r = run(p, &hr_api_openai_chat, &body, NULL);
        assert_true(r.modified);
        const hr_buf *fwd = &r.body;
        if (prev.len) {
            assert_true(fwd->len > prev.len - 2);
            assert_memory_equal(fwd->data, prev.data, prev.len - 2);
        }
        hr_buf_reset(&prev);
        hr_buf_append(&prev, fwd->data, fwd->len);
        hr_pipeline_result_free(&r);
    }
    hr_pipeline_stats s;
    hr_pipeline_stats_get(p, &s);
    assert_int_equal(s.requests, (uint64_t)turns);
    hr_buf js = HR_BUF_INIT;
    assert_int_equal(hr_pipeline_stats_json(&s, &js), 0);
    hr_json_doc jd;
    hr_json_error je;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(&jd, js.data, js.len, &lim, &je), 0);
    int64_t saved = 0;
    uint32_t sc = hr_json_get(&jd, hr_json_get(&jd, 0, "compressors"), "smart_crusher");
    assert_int_equal(hr_json_int64(&jd, hr_json_get(&jd, sc, "tokens_saved"), &saved), 0);
    assert_true(saved > 0);
    hr_json_doc_free(&jd);
    hr_buf_free(&js);
    assert_true(s.spans_replayed >= (uint64_t)(turns * (turns - 1) / 2) * 9 / 10);
    hr_buf_free(&msgs);
    hr_buf_free(&body);
    hr_buf_free(&prev);
    hr_pipeline_free(p);
    hr_ccr_store_close(st);
}

static void token_mode_replay_30_turns(void **state)
{
    (void)state;
    replay_turns(HR_MODE_TOKEN, 30);
}

static void cache_mode_keeps_frozen_prefix(void **state)
{
    (void)state;
    replay_turns(HR_MODE_CACHE, 8);
}

/* Cache mode compresses only what is new: a session whose previous request already had
 * as many messages leaves the output at an old index alone (the provider cached it as is). */
static void cache_mode_never_compresses_old_content(void **state)
{
    (void)state;
    hr_ccr_store *st = memory_store();
    hr_pipeline_config c;
    hr_pipeline_config_default(&c);
    c.mode = HR_MODE_CACHE;
    hr_pipeline *p = hr_pipeline_new(&c, HR_PIPELINE_STORE_GIVEN, st);
    hr_buf msgs = HR_BUF_INIT, body = HR_BUF_INIT;
    hr_buf_puts(&msgs, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"}");
    append_turn(&msgs, 0);
    hr_buf_append(&body, msgs.data, msgs.len);
    hr_buf_puts(&body, "]}");
    hr_pipeline_result r = run(p, &hr_api_openai_chat, &body, "sess-1");
    assert_true(r.modified); /* new session: everything is new */
    hr_pipeline_result_free(&r);
    /* a different session id whose previous request had the same messages */
    hr_buf small = HR_BUF_INIT;
    hr_buf_puts(&small, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
                        "{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"},"
                        "{\"role\":\"user\",\"content\":\"c\"}]}");
    r = run(p, &hr_api_openai_chat, &small, "sess-2");
    assert_false(r.modified);
    hr_pipeline_result_free(&r);
    r = run(p, &hr_api_openai_chat, &body, "sess-2"); /* its tool output sits at index 3 */
    assert_false(r.modified);
    assert_int_equal(r.tokens_before, r.tokens_after);
    hr_pipeline_result_free(&r);
    hr_buf_free(&small);
    hr_buf_free(&msgs);
    hr_buf_free(&body);
    hr_pipeline_free(p);
    hr_ccr_store_close(st);
}

static void deterministic_across_processes(void **state)
{
    (void)state;
    hr_buf body = HR_BUF_INIT, rows = HR_BUF_INIT, file = HR_BUF_INIT;
    anthropic_body(&body, &rows, &file);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        hr_ccr_store *st = memory_store();
        hr_pipeline *p = pipeline_with(st, HR_MODE_TOKEN);
        hr_pipeline_result r = run(p, &hr_api_anthropic_messages, &body, NULL);
        size_t off = 0;
        while (off < r.body.len) {
            ssize_t w = write(fds[1], r.body.data + off, r.body.len - off);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(fds[1]);
    hr_buf child = HR_BUF_INIT;
    char chunk[65536];
    ssize_t n;
    while ((n = read(fds[0], chunk, sizeof chunk)) > 0)
        hr_buf_append(&child, chunk, (size_t)n);
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    hr_ccr_store *st = memory_store();
    hr_pipeline *p = pipeline_with(st, HR_MODE_TOKEN);
    hr_pipeline_result r = run(p, &hr_api_anthropic_messages, &body, NULL);
    assert_true(r.modified);
    assert_int_equal(child.len, r.body.len);
    assert_memory_equal(child.data, r.body.data, r.body.len);
    hr_pipeline_result_free(&r);
    hr_pipeline_free(p);
    hr_ccr_store_close(st);
    hr_buf_free(&child);
    hr_buf_free(&body);
    hr_buf_free(&rows);
    hr_buf_free(&file);
}

static void fails_open(void **state)
{
    (void)state;
    hr_buf body = HR_BUF_INIT, rows = HR_BUF_INIT, file = HR_BUF_INIT;
    anthropic_body(&body, &rows, &file);
    /* no store: nothing may be omitted */
    hr_pipeline *p = pipeline_with(NULL, HR_MODE_TOKEN);
    hr_pipeline_result r = run(p, &hr_api_anthropic_messages, &body, NULL);
    assert_false(r.modified);
    assert_true(r.failed_open);
    hr_pipeline_result_free(&r);
    hr_pipeline_stats s;
    hr_pipeline_stats_get(p, &s);
    assert_int_equal(s.store_failures, 1);
    hr_pipeline_free(p);
    /* truncated JSON: forwarded as is */
    hr_ccr_store *st = memory_store();
    p = pipeline_with(st, HR_MODE_TOKEN);
    hr_buf cut = HR_BUF_INIT;
    hr_buf_append(&cut, body.data, body.len / 2);
    r = run(p, &hr_api_anthropic_messages, &cut, NULL);
    assert_false(r.modified);
    hr_pipeline_result_free(&r);
    hr_pipeline_free(p);
    /* deadline already passed */
    hr_pipeline_config c;
    hr_pipeline_config_default(&c);
    c.deadline_ms = 0;
    p = hr_pipeline_new(&c, HR_PIPELINE_STORE_GIVEN, st);
    r = run(p, &hr_api_anthropic_messages, &body, NULL);
    /* the deadline is taken before the parse, so it has passed at the first span */
    assert_false(r.modified);
    assert_true(r.failed_open);
    assert_true(r.tokens_before > 0 && r.tokens_before == r.tokens_after);
    hr_pipeline_result_free(&r);
    hr_pipeline_stats_get(p, &s);
    assert_int_equal(s.deadline_exceeded, 1);
    hr_pipeline_free(p);
    /* a tool output that already holds a marker is left alone */
    hr_buf m = HR_BUF_INIT, b2 = HR_BUF_INIT;
    hr_buf_append(&m, rows.data, rows.len);
    hr_buf_puts(&m, "\n[5 items compressed to 2. Retrieve more: hash=0123456789abcdef01234567]");
    hr_buf_puts(&b2, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":");
    put_json_string(&b2, &m);
    hr_buf_puts(&b2, "}]}");
    p = pipeline_with(st, HR_MODE_TOKEN);
    r = run(p, &hr_api_openai_chat, &b2, NULL);
    assert_false(r.modified);
    assert_true(r.tokens_before > 0 && r.tokens_before == r.tokens_after);
    hr_pipeline_result_free(&r);
    hr_pipeline_free(p);
    hr_ccr_store_close(st);
    hr_buf_free(&m);
    hr_buf_free(&b2);
    hr_buf_free(&cut);
    hr_buf_free(&body);
    hr_buf_free(&rows);
    hr_buf_free(&file);
}

/* ---- replayed markers stay retrievable ------------------------------------------------ */

static hr_pipeline_result run_as(hr_pipeline *p, const hr_buf *body, const char *session,
                                 const char *tenant)
{
    hr_pipeline_input in = {&hr_api_anthropic_messages, body->data, body->len, session, tenant,
                            "hr-t", NULL};
    hr_pipeline_result out;
    assert_int_equal(hr_pipeline_run_on(p, &in, &out), 0);
    return out;
}

/* The forwarded body names one marker; its original must be in st for tenant. */
static void assert_retrievable(hr_ccr_store *st, const char *tenant, const hr_pipeline_result *r,
                               const hr_buf *original)
{
    hr_marker m;
    assert_true(r->modified);
    assert_true(hr_marker_find(r->body.data, r->body.len, 0, &m));
    hr_buf got = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(st, tenant, m.hash, &got), HR_CCR_FOUND);
    assert_int_equal(got.len, original->len);
    assert_memory_equal(got.data, original->data, original->len);
    hr_buf_free(&got);
}

static void assert_same_body(const hr_pipeline_result *a, const hr_pipeline_result *b)
{
    assert_true(a->modified && b->modified);
    assert_int_equal(a->body.len, b->body.len);
    assert_memory_equal(a->body.data, b->body.data, a->body.len);
}

static hr_ccr_store *memory_store_ttl(unsigned ttl)
{
    hr_ccr_config c;
    hr_ccr_config_default(&c);
    c.backend = HR_CCR_BACKEND_MEMORY;
    c.ttl_seconds = ttl;
    char err[200];
    hr_ccr_store *s = hr_ccr_store_open(&c, err, sizeof err);
    assert_non_null(s);
    return s;
}

/* Two clients with the same agent prompt (and, separately, the same session id) each get
 * a marker they can retrieve; a tenant's own replay within the TTL does not put again. */
static void replay_is_per_tenant(void **state)
{
    (void)state;
    hr_ccr_store *st = memory_store();
    hr_pipeline *p = pipeline_with(st, HR_MODE_TOKEN);
    hr_buf body = HR_BUF_INIT, rows = HR_BUF_INIT, file = HR_BUF_INIT;
    anthropic_body(&body, &rows, &file);
    const char *a = "aaaaaaaaaaaaaaaa", *b = "bbbbbbbbbbbbbbbb";
    const char *sessions[] = {NULL, "shared-session-id"};
    for (int k = 0; k < 2; k++) {
        hr_pipeline_result ra = run_as(p, &body, sessions[k], a);
        hr_pipeline_result rb = run_as(p, &body, sessions[k], b);
        assert_retrievable(st, a, &ra, &rows);
        assert_retrievable(st, b, &rb, &rows);
        assert_same_body(&ra, &rb); /* deterministic: B's own compression, same bytes */
        hr_pipeline_result_free(&ra);
        hr_pipeline_result_free(&rb);
    }
    hr_pipeline_stats ps;
    hr_pipeline_stats_get(p, &ps);
    assert_int_equal(ps.spans_replayed, 0); /* no session crossed tenants */
    hr_ccr_stats before, after;
    hr_ccr_store_stats(st, &before);
    hr_pipeline_result again = run_as(p, &body, NULL, a);
    assert_retrievable(st, a, &again, &rows);
    hr_pipeline_stats_get(p, &ps);
    assert_int_equal(ps.spans_replayed, 1);
    hr_ccr_store_stats(st, &after);
    assert_int_equal(after.puts, before.puts); /* stored moments ago: no rewrite */
    hr_pipeline_result_free(&again);
    hr_buf_free(&body);
    hr_buf_free(&rows);
    hr_buf_free(&file);
    hr_pipeline_free(p);
    hr_ccr_store_close(st);
}

/* The session cache outlives the store's TTL: a replay after the original expired stores
 * it again and forwards the same bytes as before. */
static void replay_after_ttl_stores_again(void **state)
{
    (void)state;
    hr_ccr_store *st = memory_store_ttl(1);
    hr_pipeline *p = pipeline_with(st, HR_MODE_TOKEN);
    hr_buf body = HR_BUF_INIT, rows = HR_BUF_INIT, file = HR_BUF_INIT;
    anthropic_body(&body, &rows, &file);
    const char *t = "0123456789abcdef";
    hr_pipeline_result first = run_as(p, &body, NULL, t);
    assert_retrievable(st, t, &first, &rows);
    hr_marker m;
    assert_true(hr_marker_find(first.body.data, first.body.len, 0, &m));
    usleep(1100 * 1000);
    hr_buf got = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(st, t, m.hash, &got), HR_CCR_NOT_FOUND); /* expired */
    hr_pipeline_result second = run_as(p, &body, NULL, t);
    assert_same_body(&first, &second);
    assert_false(second.failed_open);
    assert_retrievable(st, t, &second, &rows);
    hr_pipeline_stats ps;
    hr_pipeline_stats_get(p, &ps);
    assert_int_equal(ps.spans_replayed, 1);
    hr_pipeline_result_free(&first);
    hr_pipeline_result_free(&second);
    hr_buf_free(&got);
    hr_buf_free(&body);
    hr_buf_free(&rows);
    hr_buf_free(&file);
    hr_pipeline_free(p);
    hr_ccr_store_close(st);
}

/* A 127.0.0.1 port nobody listens on: bound, then closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &n), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void configure_process_store(hr_ccr_backend backend, const char *redis_url)
{
    hr_ccr_config c;
    hr_ccr_config_default(&c);
    c.backend = backend;
    c.redis_url = redis_url;
    c.redis_timeout_ms = 100;
    c.ttl_seconds = 1;
    char err[200] = "";
    assert_int_equal(hr_ccr_process_configure(&c, err, sizeof err), 0);
}

/* The store goes away between turns (a Redis that died): the replay cannot store its
 * original, so that request forwards the original span; once the store works again the
 * next turn gets the same bytes as the first. */
static void replay_with_failing_store_forwards_original(void **state)
{
    (void)state;
    configure_process_store(HR_CCR_BACKEND_MEMORY, NULL);
    hr_pipeline_config c;
    hr_pipeline_config_default(&c);
    hr_pipeline *p = hr_pipeline_new(&c, HR_PIPELINE_STORE_PROCESS, NULL);
    assert_non_null(p);
    hr_buf body = HR_BUF_INIT, rows = HR_BUF_INIT, file = HR_BUF_INIT;
    anthropic_body(&body, &rows, &file);
    const char *t = "0123456789abcdef";
    hr_pipeline_result first = run_as(p, &body, NULL, t);
    assert_retrievable(hr_ccr_process_store(), t, &first, &rows);

    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", closed_port());
    configure_process_store(HR_CCR_BACKEND_REDIS, url);
    usleep(300 * 1000); /* past a quarter of the 1 s TTL: the replay must put again */
    hr_pipeline_result down = run_as(p, &body, NULL, t);
    assert_false(down.modified);
    assert_true(down.failed_open);
    assert_true(down.tokens_before > 0 && down.tokens_before == down.tokens_after);
    hr_pipeline_stats ps;
    hr_pipeline_stats_get(p, &ps);
    assert_int_equal(ps.store_failures, 1);
    assert_int_equal(ps.spans_replayed, 0);

    configure_process_store(HR_CCR_BACKEND_MEMORY, NULL);
    hr_pipeline_result back = run_as(p, &body, NULL, t);
    assert_same_body(&first, &back);
    assert_retrievable(hr_ccr_process_store(), t, &back, &rows);
    hr_pipeline_stats_get(p, &ps);
    assert_int_equal(ps.spans_replayed, 1);
    hr_ccr_process_close();
    hr_pipeline_result_free(&first);
    hr_pipeline_result_free(&down);
    hr_pipeline_result_free(&back);
    hr_buf_free(&body);
    hr_buf_free(&rows);
    hr_buf_free(&file);
    hr_pipeline_free(p);
}

/* Bodies at the edges: each is forwarded unchanged or changed only inside a tool output. */
static void bad_request_bodies(void **state)
{
    (void)state;
    hr_ccr_store *st = memory_store();
    hr_pipeline *p = pipeline_with(st, HR_MODE_TOKEN);
    hr_buf b = HR_BUF_INIT, rows = HR_BUF_INIT;
    /* depth 100,000 inside a tool call's arguments: a parse limit, forwarded as is */
    hr_buf_puts(&b, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":");
    for (int i = 0; i < 100000; i++)
        hr_buf_putc(&b, '[');
    for (int i = 0; i < 100000; i++)
        hr_buf_putc(&b, ']');
    hr_buf_puts(&b, "}]}");
    hr_pipeline_result r = run(p, &hr_api_openai_chat, &b, NULL);
    assert_false(r.modified);
    hr_pipeline_result_free(&r);
    /* invalid UTF-8 in a large tool output: never compressed */
    hr_buf_reset(&b);
    scen_db_rows(&rows, 80, 2);
    hr_buf_puts(&b, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":\"");
    hr_buf_puts(&b, "\xff\xfe");
    for (size_t i = 0; i < rows.len; i++)
        if (rows.data[i] != '"')
            hr_buf_putc(&b, rows.data[i]);
    hr_buf_puts(&b, "\"}]}");
    r = run(p, &hr_api_openai_chat, &b, NULL);
    assert_false(r.modified);
    hr_pipeline_result_free(&r);
    /* duplicate "messages" (the last one counts, as providers parse it) and a huge number
     * elsewhere: only the tool output inside the last messages changes */
    hr_buf_reset(&b);
    hr_buf_puts(&b, "{\"model\":\"gpt-4o\",\"seed\":12345678901234567890123,\"messages\":[],"
                    "\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":");
    put_json_string(&b, &rows);
    hr_buf_puts(&b, "}],\"n\":-0.000e-00}");
    r = run(p, &hr_api_openai_chat, &b, NULL);
    assert_true(r.modified);
    size_t in_end, out_end, a = single_changed_span(&b, &r.body, &in_end, &out_end);
    assert_true(a > strlen("{\"model\":\"gpt-4o\",\"seed\":12345678901234567890123,\"messages\":[],"));
    (void)out_end;
    assert_true(in_end > b.len - rows.len / 2); /* the change ends inside the tool output */
    assert_memory_equal(r.body.data + r.body.len - 19, "\"}],\"n\":-0.000e-00}", 19);
    hr_pipeline_result_free(&r);
    /* a 50 MB tool output string: handled within the deadline, valid JSON either way */
    hr_buf_reset(&b);
    size_t big = (size_t)50 << 20;
    hr_buf_puts(&b, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":\"");
    assert_int_equal(hr_buf_reserve(&b, big + 64), 0);
    for (size_t i = 0; i < big; i += 64)
        hr_buf_puts(&b, "2026-11-27 INFO worker heartbeat ok, queue depth 3, lag 12ms\\n");
    hr_buf_puts(&b, "\"}]}");
    r = run(p, &hr_api_openai_chat, &b, NULL);
    if (r.modified) {
        hr_json_doc d;
        hr_json_error e;
        hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
        assert_int_equal(hr_json_parse(&d, r.body.data, r.body.len, &lim, &e), 0);
        hr_json_doc_free(&d);
        assert_true(r.body.len < b.len);
    }
    hr_pipeline_result_free(&r);
    hr_buf_free(&b);
    hr_buf_free(&rows);
    hr_pipeline_free(p);
    hr_ccr_store_close(st);
}

static void config_from_args(void **state)
{
    (void)state;
    hr_pipeline_config c;
    hr_pipeline_config_default(&c);
    char *argv[] = {"x", "--mode", "cache", "--compression-deadline-ms=50", "--exclude-tools",
                    "Foo, Bar", "--max-ratio", "2", "--other"};
    char err[160];
    int i = 1;
    assert_int_equal(hr_pipeline_config_arg(&c, 9, argv, &i, err, sizeof err), 1);
    assert_int_equal(i, 2);
    assert_int_equal(c.mode, HR_MODE_CACHE);
    i = 3;
    assert_int_equal(hr_pipeline_config_arg(&c, 9, argv, &i, err, sizeof err), 1);
    assert_int_equal(c.deadline_ms, 50);
    i = 4;
    assert_int_equal(hr_pipeline_config_arg(&c, 9, argv, &i, err, sizeof err), 1);
    assert_true(hr_policy_tool_excluded(c.exclude_tools, "Bar", 3));
    assert_true(hr_policy_tool_excluded(c.exclude_tools, "Read", 4)); /* merged with defaults */
    assert_false(hr_policy_tool_excluded(c.exclude_tools, "Bash", 4));
    i = 6;
    assert_int_equal(hr_pipeline_config_arg(&c, 9, argv, &i, err, sizeof err), -1);
    assert_non_null(strstr(err, "max-ratio"));
    i = 8;
    assert_int_equal(hr_pipeline_config_arg(&c, 9, argv, &i, err, sizeof err), 0);
}

/* The proxy's mode: it passes its one parse of the body and gets edits, which it splices
 * together with its own. Spliced, they are the same bytes as the body the pipeline writes
 * when it parses the body itself, and no body is written. Fresh pipelines each, so both
 * runs see a first sight. */
static void edits_on_the_callers_parse(void **state)
{
    (void)state;
    hr_buf body = HR_BUF_INIT, rows = HR_BUF_INIT, file = HR_BUF_INIT, spliced = HR_BUF_INIT;
    anthropic_body(&body, &rows, &file);
    hr_ccr_store *st1 = memory_store(), *st2 = memory_store();
    hr_pipeline *own = pipeline_with(st1, HR_MODE_TOKEN);
    hr_pipeline_result whole = run(own, &hr_api_anthropic_messages, &body, NULL);
    assert_true(whole.modified);
    hr_json_doc d;
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(&d, body.data, body.len, &lim, &err), 0);
    hr_pipeline *given = pipeline_with(st2, HR_MODE_TOKEN);
    hr_pipeline_input in = {&hr_api_anthropic_messages, body.data, body.len, NULL,
                            "0123456789abcdef", "hr-t", &d};
    hr_pipeline_result parts;
    assert_int_equal(hr_pipeline_run_on(given, &in, &parts), 0);
    assert_true(parts.modified);
    assert_int_equal(parts.body.len, 0); /* the caller splices */
    assert_true(parts.edits.n > 0);
    assert_int_equal(hr_json_edits_apply(&parts.edits, body.data, body.len, &spliced), 0);
    assert_int_equal(spliced.len, whole.body.len);
    assert_memory_equal(spliced.data, whole.body.data, spliced.len);
    assert_int_equal(hr_json_edits_result_len(&parts.edits, body.len), whole.body.len);
    assert_string_equal(parts.transforms, whole.transforms);
    assert_int_equal(parts.tokens_after, whole.tokens_after);
    hr_pipeline_result_free(&whole);
    hr_pipeline_result_free(&parts);
    hr_json_doc_free(&d);
    hr_pipeline_free(own);
    hr_pipeline_free(given);
    hr_ccr_store_close(st1);
    hr_ccr_store_close(st2);
    hr_buf_free(&body);
    hr_buf_free(&rows);
    hr_buf_free(&file);
    hr_buf_free(&spliced);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(anthropic_only_tool_output_changes),
        cmocka_unit_test(edits_on_the_callers_parse),
        cmocka_unit_test(openai_chat_and_responses_shapes),
        cmocka_unit_test(token_mode_replay_30_turns),
        cmocka_unit_test(cache_mode_keeps_frozen_prefix),
        cmocka_unit_test(cache_mode_never_compresses_old_content),
        cmocka_unit_test(deterministic_across_processes),
        cmocka_unit_test(fails_open),
        cmocka_unit_test(replay_is_per_tenant),
        cmocka_unit_test(replay_after_ttl_stores_again),
        cmocka_unit_test(replay_with_failing_store_forwards_original),
        cmocka_unit_test(bad_request_bodies),
        cmocka_unit_test(config_from_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
