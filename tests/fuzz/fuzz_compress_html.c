/* libFuzzer target: the HTML compressor never crashes, is deterministic, and whatever it
 * compresses ends with one marker naming the input's content hash (textcomp_fuzz.h). It
 * also invents nothing: the output, with its "[N bytes|items omitted]" notes and the marker
 * taken out, is a subsequence of the input once whitespace is ignored (cuts and
 * collapsed whitespace only remove bytes). */
#include "compress/html.h"
#include "fuzz/textcomp_fuzz.h"
#include "sys/ascii.h"

/* Length of a "[N bytes omitted]" or "[N items omitted]" note at s, or 0. */
static size_t note_len(const char *s, size_t n)
{
    static const char *const tails[] = {" bytes omitted]", " items omitted]"};
    size_t i = 1;
    if (n < 2 || s[0] != '[')
        return 0;
    while (i < n && hr_is_digit((unsigned char)s[i]))
        i++;
    for (size_t k = 0; i > 1 && k < 2; k++) {
        size_t t = strlen(tails[k]);
        if (n - i >= t && memcmp(s + i, tails[k], t) == 0)
            return i + t;
    }
    return 0;
}

static void check_subsequence(const char *in, size_t len, const hr_compress_result *r)
{
    hr_marker m;
    size_t end = r->out.len, from = 0;
    while (hr_marker_find(r->out.data, r->out.len, from, &m))
        end = m.start, from = m.end;
    size_t j = 0;
    for (size_t i = 0; i < end; i++) {
        size_t skip = note_len(r->out.data + i, end - i);
        if (skip) {
            i += skip - 1;
            continue;
        }
        unsigned char c = (unsigned char)r->out.data[i];
        if (hr_is_space(c))
            continue;
        while (j < len && (unsigned char)in[j] != c)
            j++;
        if (j == len)
            abort(); /* the output holds a byte the input does not have there */
        j++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hr_compress_opts o;
    fz_opts(data, size, &o);
    o.query = size > 1 ? (const char *)data + 1 : NULL; /* some inputs name their own blocks */
    o.query_len = size > 1 ? (size - 1 < 12 ? size - 1 : 12) : 0;
    fz_check(hr_compress_html, data, size, &o, 0, 0);
    hr_compress_result r;
    if (hr_compress_html((const char *)data, size, &o, &r) != 0)
        abort();
    if (r.compressed)
        check_subsequence((const char *)data, size, &r);
    hr_compress_result_free(&r);
    return 0;
}
