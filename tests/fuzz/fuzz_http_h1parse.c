/* fuzz_http_h1parse: the request framing of the events server model (src/http/h1parse.c).
 * The input after its first byte goes to hr_h1_head_end and hr_h1_parse_head; from the
 * offset the first byte picks, to the chunked decoder twice, whole and one byte at a time.
 * Invariants: no crash or sanitizer report; a parsed head's method is a non-empty token, its
 * target has no blank or control byte, its field names are tokens and no value holds LF or
 * starts or ends with a blank; the chunked decoder gives the same verdict, the same decoded
 * bytes and the same consumed count however the bytes are sliced, and never consumes more
 * than it was given. */
#include "http/h1parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static int is_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              strchr("!#$%&'*+-.^_`|~", *s)))
            return 0;
    return 1;
}

static void fuzz_head(const uint8_t *data, size_t len)
{
    size_t end = hr_h1_head_end((const char *)data, len);
    check(end <= len, "head end within the input");
    if (!end)
        return;
    char *buf = malloc(end + 1);
    memcpy(buf, data, end);
    buf[end] = 0;
    hr_h1_head h;
    const char *reason = NULL;
    int st = hr_h1_parse_head(buf, end, &h, &reason);
    if (st == 0) {
        check(is_token(h.method), "method is a token");
        for (const char *p = h.target; *p; p++)
            check((unsigned char)*p > ' ' && *p != 0x7f, "target has no blank or control");
        for (size_t i = 0; i < h.n_fields; i++) {
            const char *v = h.fields[2 * i + 1];
            size_t vl = h.value_lens[i];
            check(is_token(h.fields[2 * i]), "field name is a token");
            check(!memchr(v, '\n', vl), "no LF in a value");
            check(!vl || (v[0] != ' ' && v[0] != '\t' && v[vl - 1] != ' ' && v[vl - 1] != '\t'),
                  "value trimmed");
        }
    } else {
        check(reason != NULL, "a refusal has a reason");
    }
    hr_h1_head_free(&h);
    free(buf);
}

typedef struct out {
    uint8_t *p;
    size_t len;
} out;

static int collect(void *arg, const char *p, size_t n)
{
    out *o = arg;
    memcpy(o->p + o->len, p, n);
    o->len += n;
    return 0;
}

static hr_h1_chunk_rc decode(const uint8_t *data, size_t len, size_t step, out *o, size_t *taken)
{
    hr_h1_chunked c = {0};
    hr_h1_chunk_rc rc = HR_H1_MORE;
    size_t off = 0;
    while (off < len && rc == HR_H1_MORE) {
        size_t n = step && len - off > step ? step : len - off, used = 0;
        rc = hr_h1_chunked_feed(&c, (const char *)data + off, n, &used, collect, o);
        check(used <= n, "consumed no more than given");
        off += used;
    }
    *taken = off;
    return rc;
}

static void fuzz_chunked(const uint8_t *data, size_t len)
{
    out a = {malloc(len + 1), 0}, b = {malloc(len + 1), 0};
    size_t ta, tb;
    hr_h1_chunk_rc ra = decode(data, len, 0, &a, &ta);
    hr_h1_chunk_rc rb = decode(data, len, 1, &b, &tb);
    check(ra == rb, "same verdict whole and byte by byte");
    check(ta == tb, "same consumed count");
    check(a.len == b.len && !memcmp(a.p, b.p, a.len), "same decoded bytes");
    check(a.len <= ta, "decoded bytes come from consumed bytes");
    free(a.p);
    free(b.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1, split = data[0] % (n + 1);
    fuzz_head(p, n);
    fuzz_chunked(p + split, n - split);
    return 0;
}
