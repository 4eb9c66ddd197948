/* libFuzzer target: SmartCrusher must never crash, and whatever it compresses must be
 * deterministic, shorter than its input, valid JSON up to its one closing marker line (gap
 * markers inside it as strings), name the content hash of the input in every marker, and,
 * when it dropped nothing (tables only), expand back to exactly the minified input.
 * Input: an optional query, a NUL, the JSON. */
#include "ccr/marker.h"
#include "compress/json_table.h"
#include "compress/smart_crusher.h"
#include "json/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Gap markers stand inside the JSON as strings; exactly one closing marker ends the
 * output on its own line. Returns the length of the JSON part, which must parse. */
static size_t check_markers(const hr_compress_result *r, const char *hash)
{
    hr_marker m;
    size_t from = 0, closing_at = 0, closing = 0;
    while (hr_marker_find(r->out.data, r->out.len, from, &m)) {
        if (strcmp(m.hash, hash) != 0)
            abort();
        if (m.gap && (m.start == 0 || r->out.data[m.start - 1] != '"' || m.total == 0))
            abort();
        if (!m.gap) {
            if (m.kept > m.total)
                abort();
            closing_at = m.start;
            closing++;
        }
        from = m.end;
    }
    if (closing != 1 || from != r->out.len || closing_at == 0 || r->out.data[closing_at - 1] != '\n')
        abort();
    hr_json_doc d;
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, r->out.data, closing_at - 1, &lim, &e) != 0)
        abort();
    hr_json_doc_free(&d);
    return closing_at - 1;
}

/* Nothing dropped (only tables): expanding the tables gives the minified input exactly. */
static void check_lossless(const hr_compress_result *r, size_t json_len, const char *in, size_t len)
{
    hr_buf back = HR_BUF_INIT, want = HR_BUF_INIT;
    hr_json_doc d;
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, in, len, &lim, &e) != 0)
        abort();
    if (hr_json_write_minified(&want, &d, 0) != 0 ||
        hr_json_table_expand(r->out.data, json_len, &back) != 0)
        return; /* out of memory */
    if (back.len != want.len || memcmp(back.data, want.data, want.len) != 0)
        abort();
    hr_json_doc_free(&d);
    hr_buf_free(&back);
    hr_buf_free(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nul = memchr(s, '\0', size);
    size_t qlen = nul ? (size_t)(nul - s) : 0;
    const char *json = nul ? nul + 1 : s;
    size_t jlen = nul ? size - qlen - 1 : size;
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.query = nul ? s : NULL;
    o.query_len = qlen;
    o.min_items = 3; /* small inputs reach the selection code */
    hr_compress_result a, b;
    if (hr_compress_smart_crusher(json, jlen, &o, &a) != 0)
        return 0; /* out of memory: the caller forwards the original */
    if (hr_compress_smart_crusher(json, jlen, &o, &b) != 0)
        abort();
    if (a.compressed != b.compressed || a.out.len != b.out.len ||
        (a.out.len && memcmp(a.out.data, b.out.data, a.out.len) != 0))
        abort();
    if (a.compressed) {
        char hash[HR_CONTENT_HASH_HEX + 1];
        hr_content_hash(json, jlen, hash);
        if (strcmp(hash, a.hash) != 0 || a.out.len >= jlen || a.units_kept > a.units_total)
            abort();
        size_t json_len = check_markers(&a, hash);
        if (a.units_kept == a.units_total)
            check_lossless(&a, json_len, json, jlen);
    } else if (a.out.len) {
        abort();
    }
    hr_compress_result_free(&a);
    hr_compress_result_free(&b);
    return 0;
}
