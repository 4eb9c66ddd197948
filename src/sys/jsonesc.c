/* jsonesc.c: JSON string escaping, kept in src/sys so code below the JSON layer (the
 * logger) writes strings the same way the writer does; see jsonesc.h. */
#include "sys/jsonesc.h"

/* Copies runs of plain bytes in one append; only the bytes JSON requires escaping (quote,
 * backslash, controls) take the slow path. */
int hr_json_escape(hr_buf *out, const char *s, size_t len)
{
    if (hr_buf_reserve(out, len + 2) != 0 || hr_buf_putc(out, '"') != 0)
        return -1;
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len) {
            unsigned char c = (unsigned char)s[run];
            if (c == '"' || c == '\\' || c < 0x20)
                break;
            run++;
        }
        if (hr_buf_append(out, s + i, run - i) != 0)
            return -1;
        if (run >= len)
            break;
        unsigned char c = (unsigned char)s[run];
        int rc;
        switch (c) {
        case '"': rc = hr_buf_append(out, "\\\"", 2); break;
        case '\\': rc = hr_buf_append(out, "\\\\", 2); break;
        case '\n': rc = hr_buf_append(out, "\\n", 2); break;
        case '\r': rc = hr_buf_append(out, "\\r", 2); break;
        case '\t': rc = hr_buf_append(out, "\\t", 2); break;
        case '\b': rc = hr_buf_append(out, "\\b", 2); break;
        case '\f': rc = hr_buf_append(out, "\\f", 2); break;
        default: rc = hr_buf_printf(out, "\\u%04x", c); break;
        }
        if (rc != 0)
            return -1;
        i = run + 1;
    }
    return hr_buf_putc(out, '"');
}
