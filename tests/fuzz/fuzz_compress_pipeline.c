/* libFuzzer target: the request pipeline on arbitrary bodies (first byte picks the shape).
 * It must never crash; when it changes a body, the result parses as JSON, is the same in a
 * fresh pipeline (determinism) and again in the same session (token-mode replay). */
#include "ccr/store.h"
#include "compress/pipeline_instance.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    hr_pipeline_config c;
    hr_pipeline_config_default(&c);
    c.min_bytes = 16; /* small inputs reach the compressors */
    c.opts.min_items = 3;
    hr_pipeline_input in = {(hr_shape)(data[0] % 3), (const char *)data + 1, size - 1, "fuzz",
                            NULL, "fuzz"};
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
    }
    hr_pipeline_result_free(&r1);
    hr_pipeline_result_free(&r2);
    hr_pipeline_result_free(&r3);
    hr_pipeline_free(a);
    hr_pipeline_free(b);
    return 0;
}
