/* fuzz_http_stream: the HTTP layer's readers of untrusted bytes: the SSE framer (upstream
 * streams) and the request-body decoder (client gzip/deflate/zstd). Neither may crash,
 * leak, or grow past its bound. Invariants checked: SSE events are the same whatever the
 * chunking (whole input vs. chunks sized by the first byte); a decoded body never exceeds
 * the limit it was given. */
#include "http/decode.h"
#include "http/sse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct trace {
    uint64_t hash; /* FNV-1a over event names and data, in order */
    size_t events;
} trace;

static void mix(trace *t, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        t->hash = (t->hash ^ s[i]) * 1099511628211ull;
}

static void on_event(void *user, const char *event, const char *data, size_t len)
{
    trace *t = user;
    mix(t, event, strlen(event) + 1);
    mix(t, data, len);
    mix(t, "|", 1);
    t->events++;
}

static trace frame(const uint8_t *data, size_t size, size_t piece)
{
    trace t = {1469598103934665603ull, 0};
    hr_sse_parser p;
    hr_sse_init(&p, on_event, &t, 512); /* small, so inputs reach the bound */
    for (size_t i = 0; i < size; i += piece)
        hr_sse_feed(&p, (const char *)data + i, size - i < piece ? size - i : piece);
    hr_sse_free(&p);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = (size_t)(data[0] % 17) + 1;
    trace whole = frame(data + 1, size - 1, size);
    trace chunked = frame(data + 1, size - 1, piece);
    if (whole.hash != chunked.hash || whole.events != chunked.events)
        abort();

    static const char *const encodings[] = {"gzip", "deflate", "zstd", "br", NULL};
    const char *enc = encodings[data[0] % 5];
    size_t limit = 1u << 16;
    hr_buf out = HR_BUF_INIT;
    hr_decode_result r = hr_decode_body(enc, (const char *)data + 1, size - 1, limit, &out);
    if (r == HR_DECODE_OK && out.len > limit)
        abort();
    if (r != HR_DECODE_OK && out.len != 0)
        abort();
    hr_buf_free(&out);
    return 0;
}
