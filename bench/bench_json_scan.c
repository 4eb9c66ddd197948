/* bench_json_scan: JSON scanner throughput on typical request bodies (an agent
 * conversation with tool outputs: JSON arrays of objects, logs as escaped strings).
 * Baseline side by side in the same run: a plain byte loop (memchr for quotes), the
 * floor any scanner pays to look at every byte. Then the validate-only mode (no nodes).
 * usage: bench_json_scan [MB]   (default 64 MB of scanned input per measurement) */
#include "json/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void build_body(hr_buf *b)
{
    hr_buf_puts(b, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a"
                   " coding agent.\"}");
    for (int turn = 0; turn < 40; turn++) {
        hr_buf_printf(b, ",{\"role\":\"user\",\"content\":\"please look at issue %d\"}", turn);
        hr_buf_puts(b, ",{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"[");
        for (int i = 0; i < 60; i++)
            hr_buf_printf(b, "%s{\\\"id\\\":%d,\\\"name\\\":\\\"service-%d\\\",\\\"status\\\":"
                             "\\\"ok\\\",\\\"latency_ms\\\":%d.%d,\\\"tags\\\":[\\\"a\\\",\\\"b\\\"]}",
                          i ? "," : "", turn * 1000 + i, i % 7, 10 + i % 13, i % 10);
        hr_buf_puts(b, "]\"}");
        hr_buf_puts(b, ",{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\","
                       "\"type\":\"function\",\"function\":{\"name\":\"grep\",\"arguments\":"
                       "\"{\\\"q\\\":\\\"x\\\"}\"}}]}");
    }
    hr_buf_puts(b, "]}");
}

int main(int argc, char **argv)
{
    double mb = argc > 1 ? atof(argv[1]) : 64;
    hr_buf body = HR_BUF_INIT;
    build_body(&body);
    int reps = (int)(mb * 1e6 / body.len) + 1;
    size_t sink = 0;

    double t0 = now();
    for (int r = 0; r < reps; r++) {
        const char *p = body.data, *end = body.data + body.len;
        while ((p = memchr(p, '"', (size_t)(end - p)))) {
            sink++;
            p++;
        }
    }
    double base = now() - t0;

    t0 = now();
    for (int r = 0; r < reps; r++) {
        hr_json_doc d;
        if (hr_json_parse(&d, body.data, body.len, NULL, NULL) != 0) {
            fprintf(stderr, "parse failed\n");
            return 1;
        }
        sink += d.n;
        hr_json_doc_free(&d);
    }
    double scan = now() - t0;

    /* validate-only mode: the same grammar without the node array (content detection) */
    t0 = now();
    for (int r = 0; r < reps; r++) {
        if (hr_json_validate(body.data, body.len, NULL, NULL, NULL) != 0) {
            fprintf(stderr, "validate failed\n");
            return 1;
        }
        sink++;
    }
    double validate = now() - t0;
    double total_mb = (double)body.len * reps / 1e6;
    printf("body %zu bytes x %d reps (%.0f MB)\n", body.len, reps, total_mb);
    printf("baseline memchr('\"') : %8.1f MB/s\n", total_mb / base);
    printf("hr_json_parse        : %8.1f MB/s\n", total_mb / scan);
    printf("hr_json_validate     : %8.1f MB/s\n", total_mb / validate);
    printf("(sink %zu)\n", sink);
    hr_buf_free(&body);
    return 0;
}
