/* libFuzzer target: the request pipeline on arbitrary bodies (first byte picks the shape).
 * It must never crash; when it changes a body, the result parses as JSON, is the same in a
 * fresh pipeline (determinism) and again in the same session (token-mode replay), and
 * every byte outside the candidate tool outputs is the input's own: each of those spans
 * (string literals, or JSON values such as Converse json parts) is either unchanged or one
 * new JSON string literal (whitespace, escapes and line ends around it stay as sent). The headroom_retrieve tool the proxy then adds is checked
 * separately: one insertion into the compressed body, every other byte kept. */
#include "ccr/store.h"
#include "ccr/tool_inject.h"
#include "compress/pipeline_instance.h"
#include "compress/policy.h"
#include "json/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static hr_ccr_store *store(void)
{
    static hr_ccr_store *s; /* one memory store for the whole run (a fuzzing harness) */
    if (!s) {
        hr_ccr_config c;
        hr_ccr_config_default(&c);
        c.backend = HR_CCR_BACKEND_MEMORY;
        char err[200];
        s = hr_ccr_store_open(&c, err, sizeof err);
        if (!s)
            abort();
    }
    return s;
}

static void run(hr_pipeline *p, const hr_pipeline_input *in, hr_pipeline_result *r)
{
    if (hr_pipeline_run_on(p, in, r) != 0)
        abort();
}

/* End (exclusive) of the JSON string literal starting at s[i], or 0 if there is none. */
static size_t literal_end(const char *s, size_t len, size_t i)
{
    if (i >= len || s[i] != '"')
        return 0;
    for (size_t j = i + 1; j < len; j++) {
        if (s[j] == '\\')
            j++;
        else if (s[j] == '"')
            return j + 1;
    }
    return 0;
}

static void check_same(const char *a, const char *b, size_t n)
{
    if (memcmp(a, b, n) != 0)
        abort(); /* a byte outside the tool outputs changed */
}

/* out equals in except that candidate spans (the policy's tool-output string nodes, and
 * tool outputs sent as JSON values) may each have become another string literal; at least
 * one did. */
static void check_bytes_outside_spans(const hr_pipeline_config *c, const hr_pipeline_input *in,
                                      const hr_buf *out)
{
    hr_json_doc d;
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, in->body, in->len, &lim, &e) != 0)
        abort(); /* a body that does not parse is never modified */
    hr_policy_scan scan;
    memset(&scan, 0, sizeof scan);
    if (hr_policy_find_spans(&d, in->api, c, &scan) != 0)
        abort();
    size_t i = 0, j = 0, replaced = 0;
    for (size_t k = 0; k < scan.n; k++) { /* spans come in document order */
        const hr_json_node *nd = &d.nodes[scan.spans[k].node];
        if (nd->start < i || j + (nd->start - i) > out->len)
            abort();
        check_same(in->body + i, out->data + j, nd->start - i);
        j += nd->start - i;
        size_t end = literal_end(out->data, out->len, j), n = nd->end - nd->start;
        if (!end && scan.spans[k].json && j + n <= out->len) {
            check_same(in->body + nd->start, out->data + j, n); /* a JSON value left as sent */
            end = j + n;
        }
        if (!end)
            abort(); /* the span did not stay a string literal (or its JSON value) */
        replaced += end - j != nd->end - nd->start || memcmp(out->data + j, in->body + nd->start, end - j);
        i = nd->end;
        j = end;
    }
    if (out->len - j != in->len - i)
        abort();
    check_same(in->body + i, out->data + j, in->len - i);
    if (!replaced)
        abort(); /* modified, yet no span changed */
    hr_policy_scan_free(&scan);
    hr_json_doc_free(&d);
}

static size_t count_name(const char *s, size_t len)
{
    size_t n = 0;
    const size_t k = sizeof HR_CCR_TOOL_NAME - 1;
    for (const char *p = s; (p = memmem(p, len - (size_t)(p - s), HR_CCR_TOOL_NAME, k)) != NULL; p += k)
        n++;
    return n;
}

/* The tool injection on the compressed body: when it applies, the result is the body with
 * one insertion holding the tool (so the client's prefix bytes are untouched), it parses,
 * and it is the same bytes every time. */
static void check_injection(const hr_api *shape, const hr_buf *body)
{
    hr_buf a = HR_BUF_INIT, b = HR_BUF_INIT;
    int ra = hr_ccr_inject_tool(shape, body->data, body->len, &a);
    int rb = hr_ccr_inject_tool(shape, body->data, body->len, &b);
    if (ra != rb)
        abort();
    if (ra == 1) {
        if (a.len != b.len || memcmp(a.data, b.data, a.len) || a.len <= body->len)
            abort();
        size_t pre = 0;
        while (pre < body->len && a.data[pre] == body->data[pre])
            pre++;
        size_t post = 0;
        while (post < body->len - pre && a.data[a.len - 1 - post] == body->data[body->len - 1 - post])
            post++;
        if (pre + post != body->len)
            abort(); /* more than one insertion */
        if (count_name(a.data, a.len) != count_name(body->data, body->len) + 1)
            abort(); /* the insertion is not the tool */
        hr_json_doc d;
        hr_json_error e;
        hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
        if (hr_json_parse(&d, a.data, a.len, &lim, &e) != 0)
            abort();
        hr_json_doc_free(&d);
    }
    hr_buf_free(&a);
    hr_buf_free(&b);
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
    hr_pipeline_config c;
    hr_pipeline_config_default(&c);
    c.min_bytes = 16; /* small inputs reach the compressors */
    c.opts.min_items = 3;
    hr_pipeline_input in = {fuzz_api(data[0]), (const char *)data + 1, size - 1, "fuzz",
                            NULL, "fuzz", NULL};
    hr_pipeline *a = hr_pipeline_new(&c, HR_PIPELINE_STORE_GIVEN, store());
    hr_pipeline *b = hr_pipeline_new(&c, HR_PIPELINE_STORE_GIVEN, store());
    if (!a || !b)
        abort();
    hr_pipeline_result r1, r2, r3;
    run(a, &in, &r1);
    run(b, &in, &r2);
    run(a, &in, &r3);
    if (r1.modified != r2.modified || r1.modified != r3.modified)
        abort();
    if (r1.modified) {
        if (r1.body.len != r2.body.len || memcmp(r1.body.data, r2.body.data, r1.body.len) ||
            r1.body.len != r3.body.len || memcmp(r1.body.data, r3.body.data, r1.body.len))
            abort();
        hr_json_doc d;
        hr_json_error e;
        hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
        if (hr_json_parse(&d, r1.body.data, r1.body.len, &lim, &e) != 0)
            abort();
        hr_json_doc_free(&d);
        check_bytes_outside_spans(&c, &in, &r1.body);
        check_injection(in.api, &r1.body);
    }
    hr_pipeline_result_free(&r1);
    hr_pipeline_result_free(&r2);
    hr_pipeline_result_free(&r3);
    hr_pipeline_free(a);
    hr_pipeline_free(b);
    return 0;
}
