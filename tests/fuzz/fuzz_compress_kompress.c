/* libFuzzer target: Kompress's text side (no model): hr_kompress_split gives in-order,
 * non-overlapping words without whitespace that cover every non-whitespace byte, and
 * hr_kompress_render with any keep pattern writes exactly the kept words in order (its
 * non-whitespace bytes are their concatenation) and never more lines than the input. */
#include "compress/kompress.h"

#include <stdlib.h>
#include <string.h>

static int ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static size_t count(const char *s, size_t n, char c)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == c;
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    hr_kwords w;
    if (hr_kompress_split(in, size, &w) != 0)
        return 0;
    size_t nonws = 0, covered = 0, end = 0;
    for (size_t i = 0; i < size; i++)
        nonws += !ws(data[i]);
    uint8_t *keep = malloc(w.n ? w.n : 1);
    char *want = malloc(size ? size : 1);
    size_t wn = 0;
    for (size_t i = 0; i < w.n; i++) {
        const hr_kword *k = &w.v[i];
        if (k->len == 0 || k->start < end || k->start + k->len > size)
            abort();
        for (size_t j = 0; j < k->len; j++)
            if (ws(data[k->start + j]))
                abort();
        covered += k->len;
        end = k->start + k->len;
        keep[i] = k->must || ((i * 2654435761u) >> 7) % 3 != 0;
        if (keep[i]) {
            memcpy(want + wn, in + k->start, k->len);
            wn += k->len;
        }
    }
    if (covered != nonws)
        abort();
    hr_buf out = HR_BUF_INIT;
    if (hr_kompress_render(in, size, &w, keep, &out) == 0) {
        size_t got = 0;
        for (size_t i = 0; i < out.len; i++)
            if (!ws((unsigned char)out.data[i]) && (got >= wn || out.data[i] != want[got++]))
                abort();
        if (got != wn || count(out.data, out.len, '\n') > count(in, size, '\n'))
            abort();
    }
    hr_buf_free(&out);
    free(keep);
    free(want);
    hr_kwords_free(&w);
    return 0;
}
