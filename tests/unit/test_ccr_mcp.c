/* MCP server message handling (mcp.c) without a process: JSON-RPC framing (ids echoed raw,
 * notifications unanswered, parse errors, unknown methods), protocol version negotiation,
 * and headroom_compress's CCR guarantee: a marker naming the original is served from the
 * store; a marker the store cannot serve makes the tool return the original instead.
 * The compress callbacks below stand in for src/compress, which this library cannot link
 * (compress depends on ccr); the end-to-end path is tests/node/ccr_mcp.test.mjs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ccr/marker.h"
#include "ccr/mcp.h"
#include "sys/hash.h"

#include <string.h>

/* Keeps the first line and appends the marker for the whole input. */
static int keep_first_line(void *user, const char *content, size_t len, const char *query,
                           size_t qlen, hr_buf *out, char *transform, size_t tlen,
                           long long tokens[2])
{
    (void)user, (void)query, (void)qlen, (void)tlen, (void)tokens;
    const char *nl = memchr(content, '\n', len);
    size_t keep = nl ? (size_t)(nl - content) + 1 : len;
    char h[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash(content, len, h);
    hr_buf_append(out, content, keep);
    hr_marker_write(out, 3, "lines", 1, h);
    transform[0] = '\0';
    return 1;
}

/* Claims a hash nobody stored. */
static int foreign_marker(void *user, const char *content, size_t len, const char *query,
                          size_t qlen, hr_buf *out, char *transform, size_t tlen,
                          long long tokens[2])
{
    (void)user, (void)content, (void)len, (void)query, (void)qlen, (void)transform, (void)tlen;
    tokens[0] = 10, tokens[1] = 1;
    hr_buf_puts(out, "x");
    return hr_marker_write(out, 3, "lines", 1, "00000000000000000000abcd") == 0 ? 1 : -1;
}

static hr_ccr_store *memory_store(void)
{
    hr_ccr_config c;
    hr_ccr_config_default(&c);
    c.backend = HR_CCR_BACKEND_MEMORY;
    char err[128];
    return hr_ccr_store_open(&c, err, sizeof err);
}

static void handle(hr_mcp_server *srv, const char *line, hr_buf *out)
{
    hr_buf_reset(out);
    assert_int_equal(hr_mcp_handle(srv, line, strlen(line), out), 0);
}

static void framing_and_negotiation(void **state)
{
    (void)state;
    hr_ccr_store *s = memory_store();
    hr_mcp_server srv = {.store = s, .tenant = "anonymous"};
    hr_buf out = HR_BUF_INIT;
    handle(&srv, "{\"jsonrpc\":\"2.0\",\"id\":\"s-1\",\"method\":\"initialize\",\"params\":"
                 "{\"protocolVersion\":\"2024-11-05\"}}\n", &out);
    assert_non_null(strstr(out.data, "\"id\":\"s-1\""));
    assert_non_null(strstr(out.data, "\"protocolVersion\":\"2024-11-05\""));
    assert_int_equal(out.data[out.len - 1], '\n');
    handle(&srv, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"initialize\",\"params\":"
                 "{\"protocolVersion\":\"1999-01-01\"}}", &out);
    assert_non_null(strstr(out.data, "\"protocolVersion\":\"2025-06-18\""));
    handle(&srv, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", &out);
    assert_int_equal(out.len, 0);
    handle(&srv, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"resources/list\"}", &out);
    assert_non_null(strstr(out.data, "\"id\":8,\"error\":{\"code\":-32601"));
    handle(&srv, "{\"id\":9,", &out);
    assert_non_null(strstr(out.data, "\"id\":null,\"error\":{\"code\":-32700"));
    handle(&srv, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/call\",\"params\":"
                 "{\"name\":\"nope\"}}", &out);
    assert_non_null(strstr(out.data, "-32602"));
    hr_buf_free(&out);
    hr_ccr_store_close(s);
}

static void compress_stores_what_its_marker_names(void **state)
{
    (void)state;
    hr_ccr_store *s = memory_store();
    hr_mcp_server srv = {.store = s, .tenant = "anonymous", .compress = keep_first_line};
    hr_buf out = HR_BUF_INIT;
    handle(&srv, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"headroom_compress\",\"arguments\":{\"content\":\"one\\ntwo\\nthree\"}}}", &out);
    char h[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash("one\ntwo\nthree", 13, h);
    /* the original's answer: a JSON object (escaped inside the text content) */
    char want[160];
    snprintf(want, sizeof want, "\\\"compressed\\\":\\\"one\\\\n[3 lines compressed to 1. "
                                "Retrieve more: hash=%s]\\\",\\\"hash\\\":\\\"%s\\\"", h, h);
    assert_non_null(strstr(out.data, want));
    assert_non_null(strstr(out.data, "\\\"original_tokens\\\":4,"));
    assert_non_null(strstr(out.data, "Use mcp__headroom__headroom_retrieve"));
    hr_buf orig = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(s, "anonymous", h, &orig), HR_CCR_FOUND);
    assert_string_equal(orig.data, "one\ntwo\nthree");
    hr_buf_free(&orig);

    char req[256];
    snprintf(req, sizeof req, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
                              "{\"name\":\"headroom_retrieve\",\"arguments\":{\"hash\":\"%s\"}}}", h);
    handle(&srv, req, &out);
    assert_non_null(strstr(out.data, "\"text\":\"one\\ntwo\\nthree\"}],\"isError\":false"));

    srv.compress = foreign_marker;
    handle(&srv, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"headroom_compress\",\"arguments\":{\"content\":\"keep me whole\"}}}", &out);
    assert_non_null(strstr(out.data, "\\\"compressed\\\":\\\"keep me whole\\\""));
    assert_non_null(strstr(out.data, "\\\"tokens_saved\\\":0,"));
    assert_non_null(strstr(out.data, "\\\"transforms\\\":[]"));
    assert_null(strstr(out.data, "Retrieve more"));

    handle(&srv, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"headroom_stats\",\"arguments\":{}}}", &out);
    assert_non_null(strstr(out.data, "\\\"compress_calls\\\":2,\\\"compressed\\\":1"));
    hr_buf_free(&out);
    hr_ccr_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(framing_and_negotiation),
        cmocka_unit_test(compress_stores_what_its_marker_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
