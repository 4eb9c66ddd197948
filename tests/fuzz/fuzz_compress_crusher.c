/* libFuzzer target: SmartCrusher must never crash, and whatever it compresses must be
 * deterministic, shorter than its input, valid JSON up to its marker lines, and name the
 * content hash of the input in every marker. Input: an optional query, a NUL, the JSON. */
#include "ccr/marker.h"
#include "compress/smart_crusher.h"
#include "json/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_markers(const hr_compress_result *r, const char *hash)
{
    hr_marker m;
    size_t from = 0, first = (size_t)-1, markers = 0;
    while (hr_marker_find(r->out.data, r->out.len, from, &m)) {
        if (strcmp(m.hash, hash) != 0 || m.kept >= m.total)
            abort();
        if (first == (size_t)-1)
            first = m.start;
        from = m.end;
        markers++;
    }
    if (!markers || from != r->out.len || first == 0 || r->out.data[first - 1] != '\n')
        abort();
    hr_json_doc d;
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, r->out.data, first - 1, &lim, &e) != 0)
        abort();
    hr_json_doc_free(&d);
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
        if (strcmp(hash, a.hash) != 0 || a.out.len >= jlen || a.units_kept >= a.units_total)
            abort();
        check_markers(&a, hash);
    } else if (a.out.len) {
        abort();
    }
    hr_compress_result_free(&a);
    hr_compress_result_free(&b);
    return 0;
}
