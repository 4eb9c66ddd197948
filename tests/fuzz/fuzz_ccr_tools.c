/* fuzz_ccr_tools: the CCR code that reads untrusted bytes (request bodies, model output,
 * upstream SSE events, MCP messages, stored originals) must never crash, leak or emit
 * invalid JSON. The first byte picks the API; the rest is used as a request body, as a
 * response body, as SSE event lines, as MCP lines and as an original with a query.
 * Invariants checked: an injected body and a built follow-up parse as JSON. */
#include "ccr/mcp.h"
#include "ccr/retrieve.h"
#include "ccr/tool_stream.h"
#include "json/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static hr_ccr_store *store(void)
{
    static hr_ccr_store *s;
    if (!s) {
        hr_ccr_config c;
        hr_ccr_config_default(&c);
        c.backend = HR_CCR_BACKEND_MEMORY;
        c.max_bytes = 1 << 20;
        char err[64];
        s = hr_ccr_store_open(&c, err, sizeof err);
        hr_ccr_put(s, "abc", "0123456789abcdef01234567", "x\ny\n", 4, 0);
    }
    return s;
}

static void must_parse(const hr_buf *b)
{
    hr_json_doc d = {0};
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, b->data ? b->data : "", b->len, &lim, &err) != 0)
        abort();
    hr_json_doc_free(&d);
}

/* The API row picked by the input's first byte (every registered row gets fuzzed). */
static const hr_api *fuzz_api(uint8_t b)
{
    size_t n;
    const hr_api *const *all = hr_api_all(&n);
    return all[b % n];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const hr_api *api = fuzz_api(data[0]);
    const char *body = (const char *)data + 1;
    size_t len = size - 1;

    hr_buf out = HR_BUF_INIT;
    if (hr_ccr_inject_tool(api, body, len, &out) == 1)
        must_parse(&out);
    hr_buf_free(&out);

    hr_ccr_calls *calls = malloc(sizeof *calls);
    if (hr_ccr_find_calls(api, body, len, calls) == 1) {
        hr_buf results[HR_CCR_MAX_CALLS];
        for (size_t i = 0; i < HR_CCR_MAX_CALLS; i++)
            results[i] = (hr_buf)HR_BUF_INIT;
        hr_ccr_answer_calls(store(), "abc", calls, results);
        const char *req = "{\"messages\":[],\"input\":[]}";
        if (hr_ccr_build_followup(api, req, strlen(req), body, len, calls, results, &out) == 0)
            must_parse(&out);
        for (size_t i = 0; i < calls->n; i++)
            hr_buf_free(&results[i]);
        hr_buf_free(&out);
    }
    free(calls);
    hr_ccr_usage u = {0};
    hr_ccr_read_usage(api, body, len, &u);
    if (hr_ccr_merge_usage(api, body, len, &u, &out) == 0 && out.len != len)
        must_parse(&out);
    hr_buf_free(&out);

    /* Lines as SSE events (alternating with and without an event name) and MCP messages. */
    hr_ccr_stream *st = hr_ccr_stream_new(api, "{\"messages\":[],\"input\":[]}", 27);
    hr_mcp_server srv = {.store = store(), .tenant = "abc"};
    hr_buf followup = HR_BUF_INIT;
    for (int round = 0; round < 2 && st; round++) {
        size_t at = 0;
        int k = 0;
        while (at < len) {
            const char *nl = memchr(body + at, '\n', len - at);
            size_t end = nl ? (size_t)(nl - body) : len;
            hr_ccr_stream_event(st, (k++ & 1) ? "message_delta" : NULL, body + at, end - at, &out);
            if (round == 0)
                hr_mcp_handle(&srv, body + at, end - at, &out);
            at = end + 1;
        }
        if (hr_ccr_stream_end(st, store(), "abc", &followup, &out) != 1)
            break;
        must_parse(&followup);
    }
    hr_ccr_stream_free(st);
    hr_buf_free(&followup);
    hr_buf_free(&out);

    hr_ccr_retrieval r;
    memset(&r, 0, sizeof r);
    size_t q = len > 8 ? 8 : len;
    hr_ccr_select(body, len, body, q, HR_CCR_TOP_K, &r);
    hr_ccr_retrieval_free(&r);
    return 0;
}
