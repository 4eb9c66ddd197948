/* libFuzzer target: the JSON scanner must never crash, validate-only mode must give the
 * parser's verdict (and, stopping after the first value, end where the root ends), and
 * whatever it accepts must minify to a document it accepts again with the same shape. */
#include "json/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    lim.max_depth = 64;
    hr_json_doc d;
    hr_json_error e;
    int parsed = hr_json_parse(&d, (const char *)data, size, &lim, &e) == 0;
    size_t end = 0;
    if ((hr_json_validate((const char *)data, size, &lim, NULL, &e) == 0) != parsed)
        abort();
    if (!parsed)
        return 0;
    if (hr_json_validate((const char *)data, size, &lim, &end, &e) != 0 || end != d.nodes[0].end)
        abort();
    hr_buf min = HR_BUF_INIT;
    if (hr_json_write_minified(&min, &d, 0) != 0)
        abort();
    hr_json_doc again;
    if (hr_json_parse(&again, min.data ? min.data : "", min.len, &lim, &e) != 0 || again.n != d.n)
        abort();
    for (uint32_t i = 0; i < d.n; i++) {
        if (d.nodes[i].type != again.nodes[i].type || d.nodes[i].count != again.nodes[i].count)
            abort();
        if (d.nodes[i].type == HR_JSON_STRING) {
            hr_buf a = HR_BUF_INIT, b = HR_BUF_INIT;
            if (hr_json_string(&d, i, &a) != 0 || hr_json_string(&again, i, &b) != 0 ||
                a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
                abort();
            /* Re-escaping the value must parse back to the same bytes. */
            hr_buf w = HR_BUF_INIT;
            hr_json_doc one;
            if (hr_json_write_string(&w, a.data ? a.data : "", a.len) != 0 ||
                hr_json_parse(&one, w.data, w.len, NULL, NULL) != 0)
                abort();
            hr_json_doc_free(&one);
            hr_buf_free(&w);
            hr_buf_free(&a);
            hr_buf_free(&b);
        }
    }
    hr_json_doc_free(&again);
    hr_json_doc_free(&d);
    hr_buf_free(&min);
    return 0;
}
