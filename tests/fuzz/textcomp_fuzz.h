/* textcomp_fuzz.h: the invariants the text-compressor fuzz targets check on any input:
 * no crash, deterministic output, and when something was compressed, one marker ending
 * the output and every marker naming hr_content_hash of the input, with every line of the
 * output either an input line, a "[...]" note, or the marker line. abort() on violation.
 */
#ifndef TEXTCOMP_FUZZ_H
#define TEXTCOMP_FUZZ_H

#include "ccr/marker.h"
#include "compress/compressor.h"
#include "sys/hash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 1 if the line s[0..n) occurs in in as a whole line. */
static int fz_is_input_line(const char *in, size_t len, const char *s, size_t n)
{
    for (const char *p = in, *e = in + len; p < e;) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t m = (size_t)((nl ? nl : e) - p);
        if (m == n && memcmp(p, s, n) == 0)
            return 1;
        p = nl ? nl + 1 : e;
    }
    return 0;
}

/* multi_ok: more than one marker is allowed (SmartCrusher writes one per crushed array,
 * all naming the input); the last one must end the output either way. */
static void fz_check(hr_compressor_fn fn, const uint8_t *data, size_t size, const hr_compress_opts *o,
                     int lines_verbatim, int multi_ok)
{
    const char *in = (const char *)data;
    hr_compress_result a, b;
    if (fn(in, size, o, &a) != 0 || fn(in, size, o, &b) != 0)
        abort(); /* only allocation failure may fail, and fuzz inputs are small */
    if (a.compressed != b.compressed || a.out.len != b.out.len ||
        (a.out.len && memcmp(a.out.data, b.out.data, a.out.len) != 0))
        abort();
    if (a.compressed) {
        char want[HR_CONTENT_HASH_HEX + 1];
        hr_content_hash(in, size, want);
        hr_marker m;
        size_t from = 0, found = 0, last_end = 0;
        while (hr_marker_find(a.out.data, a.out.len, from, &m)) {
            if (strcmp(m.hash, want) != 0)
                abort(); /* every marker must be retrievable: it names the input */
            found++;
            last_end = from = m.end;
        }
        if (a.out.len >= size || strcmp(a.hash, want) != 0 || !found || last_end != a.out.len ||
            (found > 1 && !multi_ok))
            abort();
        for (const char *p = a.out.data, *e = a.out.data + a.out.len; lines_verbatim && p < e;) {
            const char *nl = memchr(p, '\n', (size_t)(e - p));
            size_t n = (size_t)((nl ? nl : e) - p);
            int note = n > 1 && p[0] == '[' && p[n - 1] == ']';
            if (nl && !note && !fz_is_input_line(in, size, p, n))
                abort(); /* a kept line was changed or invented */
            p = nl ? nl + 1 : e;
        }
    } else if (a.out.len != 0) {
        abort();
    }
    hr_compress_result_free(&a);
    hr_compress_result_free(&b);
}

/* Options steered by the first input byte so small inputs reach the caps. */
static void fz_opts(const uint8_t *data, size_t size, hr_compress_opts *o)
{
    hr_compress_opts_default(o);
    if (!size)
        return;
    unsigned k = data[0];
    o->log_min_lines = 1 + (k & 7);
    o->search_per_file = 1 + (k & 3);
    o->search_total = 2 + (k & 7);
    o->search_files = 1 + ((k >> 3) & 3);
    o->diff_context = 1 + ((k >> 2) & 1);
    o->diff_hunks_per_file = 1 + ((k >> 4) & 1);
    o->diff_files = 1 + ((k >> 5) & 1);
    if (k & 0x80) {
        o->query = "error token expired retry";
        o->query_len = strlen(o->query);
    }
}

#endif
