/* marker.c: write and parse the marker grammar of marker.h. The parser is a hand-written
 * matcher (no regex engine) so it is exact, fast on large texts, and has no allocation. */
#include "ccr/marker.h"

#include <string.h>

/* The unit's length as written for `total`: one of a plural unit reads singular ("1 line",
 * "1 match", not "1 lines"); the parser takes any lowercase word, so both forms read back. */
static int unit_len(unsigned long long total, const char *unit)
{
    size_t n = strlen(unit);
    if (total != 1 || n < 2 || unit[n - 1] != 's')
        return (int)n;
    int es = n > 4 && unit[n - 2] == 'e' &&
             (unit[n - 3] == 'x' || (unit[n - 3] == 'h' && strchr("cs", unit[n - 4])) ||
              (unit[n - 3] == 's' && unit[n - 4] == 's'));
    return (int)(n - 1 - (size_t)es);
}

/* "[N unit omitted" or "[N unit compressed to M": what a marker and its note share. */
static int write_head(hr_buf *out, unsigned long long total, const char *unit,
                      unsigned long long kept, int gap)
{
    /* Only the omitted forms read singular: the closing marker's unit names the
     * compressor's unit (compressors.c), which readers match as written. */
    return gap ? hr_buf_printf(out, "[%llu %.*s omitted", total, unit_len(total, unit), unit)
               : hr_buf_printf(out, "[%llu %s compressed to %llu", total, unit, kept);
}

int hr_marker_write(hr_buf *out, unsigned long long total, const char *unit,
                    unsigned long long kept, const char *hash)
{
    return write_head(out, total, unit, kept, 0) != 0 ? -1
           : hr_buf_printf(out, ". Retrieve more: hash=%s]", hash);
}

int hr_marker_write_gap(hr_buf *out, unsigned long long omitted, const char *unit,
                        const char *hash)
{
    return write_head(out, omitted, unit, 0, 1) != 0 ? -1
           : hr_buf_printf(out, ". Retrieve more: hash=%s]", hash);
}

int hr_marker_write_note(hr_buf *out, unsigned long long total, const char *unit,
                         unsigned long long kept, int gap)
{
    return write_head(out, total, unit, kept, gap) != 0 ? -1 : hr_buf_putc(out, ']');
}

int hr_note_pays(size_t note, size_t removed)
{
    return note < removed;
}

int hr_note_settle(hr_buf *out, size_t mark, const char *content, size_t n)
{
    if (hr_buf_failed(out))
        return -1;
    if (hr_note_pays(out->len - mark, n))
        return 0;
    hr_buf_truncate(out, mark);
    return hr_buf_append(out, content, n) != 0 ? -1 : 1;
}

/* Reads decimal digits at *p; returns 0 if none or overflow. */
static int read_count(const char *s, size_t len, size_t *p, unsigned long long *out)
{
    size_t i = *p;
    unsigned long long v = 0;
    size_t digits = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (~0ULL - d) / 10)
            return 0;
        v = v * 10 + d;
        i++;
        digits++;
    }
    if (!digits || digits > 19)
        return 0;
    *p = i;
    *out = v;
    return 1;
}

static int expect(const char *s, size_t len, size_t *p, const char *lit)
{
    size_t n = strlen(lit);
    if (len - *p < n || memcmp(s + *p, lit, n) != 0)
        return 0;
    *p += n;
    return 1;
}

/* Tries to match a whole marker starting at the '[' at s[at]. */
static int match_at(const char *s, size_t len, size_t at, hr_marker *m)
{
    size_t p = at + 1;
    if (!read_count(s, len, &p, &m->total) || !expect(s, len, &p, " "))
        return 0;
    size_t u = 0;
    while (p < len && s[p] >= 'a' && s[p] <= 'z' && u < sizeof m->unit - 1)
        m->unit[u++] = s[p++];
    m->unit[u] = '\0';
    if (!u)
        return 0;
    m->gap = expect(s, len, &p, " omitted");
    m->kept = 0;
    if (!m->gap && (!expect(s, len, &p, " compressed to ") || !read_count(s, len, &p, &m->kept)))
        return 0;
    if (!expect(s, len, &p, ". Retrieve more: hash="))
        return 0;
    if (len - p < HR_CONTENT_HASH_HEX + 1 || !hr_content_hash_valid(s + p, HR_CONTENT_HASH_HEX) ||
        s[p + HR_CONTENT_HASH_HEX] != ']')
        return 0;
    memcpy(m->hash, s + p, HR_CONTENT_HASH_HEX);
    m->hash[HR_CONTENT_HASH_HEX] = '\0';
    m->start = at;
    m->end = p + HR_CONTENT_HASH_HEX + 1;
    return 1;
}

int hr_marker_find(const char *text, size_t len, size_t from, hr_marker *m)
{
    for (size_t i = from; i < len; i++) {
        const char *b = memchr(text + i, '[', len - i);
        if (!b)
            return 0;
        i = (size_t)(b - text);
        if (match_at(text, len, i, m))
            return 1;
    }
    return 0;
}

int hr_marker_present(const char *text, size_t len)
{
    hr_marker m;
    return hr_marker_find(text, len, 0, &m);
}
