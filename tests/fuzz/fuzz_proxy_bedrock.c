/* fuzz_proxy_bedrock: the Bedrock readers of untrusted bytes: the AWS event-stream decoder
 * under the usage observer (upstream streams: frames, then JSON, then base64, then the
 * Anthropic event inside), and the parser of a client's SigV4 Authorization header.
 * Invariants checked: the messages and usage read are the same whatever the chunking
 * (whole input vs. chunks sized by the first byte); a decoder that failed stays failed and
 * holds no bytes; a parsed Authorization's spans lie inside the header. */
#include "http/sigv4.h"
#include "proxy/bedrock.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct seen {
    size_t messages;
    hr_usage usage;
    int failed;
} seen;

static seen run(const uint8_t *data, size_t size, size_t piece)
{
    seen s = {0, HR_USAGE_INIT, 0};
    hr_bedrock_stream bs;
    hr_bedrock_stream_init(&bs, &s.usage);
    bs.es.max_message = 4096; /* small, so inputs reach the bound */
    for (size_t i = 0; i < size; i += piece)
        s.failed |= hr_bedrock_stream_feed(&bs, (const char *)data + i,
                                           size - i < piece ? size - i : piece) != 0;
    if (s.failed && (bs.es.pending.len || hr_bedrock_stream_feed(&bs, "x", 1) != -1))
        abort();
    s.messages = bs.es.messages;
    hr_bedrock_stream_free(&bs);
    return s;
}

static void parse_authorization(const uint8_t *data, size_t size)
{
    char *v = malloc(size + 1);
    if (!v)
        return;
    memcpy(v, data, size);
    v[size] = '\0';
    hr_sigv4_parsed p;
    if (hr_sigv4_parse_authorization(v, &p) == 0) {
        const char *end = v + strlen(v);
        const char *starts[] = {p.access_key_id, p.date, p.region, p.service, p.signed_headers,
                                p.signature};
        size_t lens[] = {p.access_key_id_len, p.date_len, p.region_len, p.service_len,
                         p.signed_headers_len, p.signature_len};
        for (size_t i = 0; i < 6; i++)
            if (starts[i] < v || starts[i] + lens[i] > end)
                abort();
    }
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seen whole = run(data, size, size ? size : 1);
    size_t piece = size ? (size_t)data[0] % 17 + 1 : 1;
    seen parts = run(data, size, piece);
    if (whole.failed != parts.failed || whole.messages != parts.messages ||
        memcmp(&whole.usage, &parts.usage, sizeof whole.usage) != 0)
        abort();
    parse_authorization(data, size);
    return 0;
}
