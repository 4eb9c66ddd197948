/* libFuzzer target: detection never crashes, its sections tile the input in order and are
 * the same on a second run, and the routed compression (hr_compress_detected) keeps the
 * compressor contract (see textcomp_fuzz.h). */
#include "compress/detect.h"
#include "compress/smart_crusher.h"
#include "fuzz/textcomp_fuzz.h"

/* Routed compression with the real JSON compressor, as the pipeline calls it. */
static int detected(const char *in, size_t len, const hr_compress_opts *o, hr_compress_result *r)
{
    return hr_compress_detected(in, len, o, hr_compress_smart_crusher, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    hr_sections a, b;
    if (hr_detect_sections(in, size, &a) != 0 || hr_detect_sections(in, size, &b) != 0)
        abort();
    if (a.n == 0 || a.n != b.n || a.v[0].start != 0 || a.v[a.n - 1].end != size)
        abort();
    for (size_t k = 0; k < a.n; k++) {
        if (a.v[k].start != b.v[k].start || a.v[k].end != b.v[k].end || a.v[k].type != b.v[k].type)
            abort();
        if ((k + 1 < a.n && a.v[k].end != a.v[k + 1].start) || a.v[k].start > a.v[k].end)
            abort();
        if (a.v[k].type > HR_CT_PROSE)
            abort();
    }
    hr_sections_free(&a);
    hr_sections_free(&b);
    hr_compress_opts o;
    fz_opts(data, size, &o);
    fz_check(detected, data, size, &o, 0, 1); /* notes; SmartCrusher may mark twice */
    return 0;
}
