/* compress_scenarios.h: generated tool outputs shaped like what agents send (search
 * results, DB rows, API responses, metrics, logs), each with known needles, shared by the
 * compress unit tests and bench/bench_compress_scenarios.c. Deterministic (a fixed LCG), so
 * a failure names one exact input. Header-only: static functions, the caller owns every
 * hr_buf it passes in.
 */
#ifndef HR_TESTS_COMPRESS_SCENARIOS_H
#define HR_TESTS_COMPRESS_SCENARIOS_H

#include "sys/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct scen_rng {
    uint64_t s;
} scen_rng;

static inline uint32_t scen_next(scen_rng *r)
{
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(r->s >> 33);
}

static inline const char *scen_word(scen_rng *r)
{
    static const char *const words[] = {
        "request", "handler", "cache",  "session", "buffer", "token",   "parse",  "route",
        "config",  "worker",  "queue",  "stream",  "client", "server",  "index",  "schema",
        "record",  "signal",  "module", "thread",  "socket", "payload", "header", "metric",
        "policy",  "retry",   "budget", "window",  "commit", "branch",  "review", "deploy"};
    return words[scen_next(r) % (sizeof words / sizeof words[0])];
}

static inline void scen_sentence(hr_buf *b, scen_rng *r, int words)
{
    for (int i = 0; i < words; i++)
        hr_buf_printf(b, "%s%s", i ? " " : "", scen_word(r));
}

/* Code search: n results {path,line,score,snippet}. Needles: result 37 mentions
 * "validate_refresh_token" (the query asks for it), result 71 holds an error message. */
static inline void scen_code_search(hr_buf *b, int n, uint64_t seed)
{
    scen_rng r = {seed};
    hr_buf_puts(b, "{\"query\":\"token refresh\",\"total\":");
    hr_buf_printf(b, "%d,\"results\":[", n);
    for (int i = 0; i < n; i++) {
        hr_buf_printf(b, "%s{\"path\":\"src/%s/%s_%d.c\",\"line\":%u,\"score\":0.%02u,\"snippet\":\"",
                      i ? "," : "", scen_word(&r), scen_word(&r), i, 10 + scen_next(&r) % 900,
                      10 + scen_next(&r) % 80);
        if (i == 37)
            hr_buf_puts(b, "static int validate_refresh_token(const char *tok, size_t n)");
        else if (i == 71)
            hr_buf_puts(b, "log_error(\\\"refresh failed: upstream rejected grant\\\")");
        else
            scen_sentence(b, &r, 8 + (int)(scen_next(&r) % 6));
        hr_buf_puts(b, "\"}");
    }
    hr_buf_puts(b, "]}");
}

/* DB rows: n rows of users. Needles: row 113 has email "dana.reyes@example.com" (anchor),
 * row 150 has status "failed", row 42 a balance far outside the others (outlier). */
static inline void scen_db_rows(hr_buf *b, int n, uint64_t seed)
{
    scen_rng r = {seed};
    hr_buf_putc(b, '[');
    for (int i = 0; i < n; i++) {
        unsigned balance = i == 42 ? 987654 : 100 + scen_next(&r) % 900;
        char email[64];
        if (i == 113)
            strcpy(email, "dana.reyes@example.com");
        else
            snprintf(email, sizeof email, "%s.%s%d@example.com", scen_word(&r), scen_word(&r), i);
        hr_buf_printf(b,
                      "%s{\"id\":%d,\"email\":\"%s\",\"status\":\"%s\",\"balance\":%u,"
                      "\"created_at\":\"2026-10-%02dT%02d:%02d:00Z\",\"plan\":\"%s\"}",
                      i ? "," : "", 5000 + i, email, i == 150 ? "failed" : "active", balance,
                      1 + i % 28, i % 24, (i * 7) % 60, (i % 3) ? "pro" : "team");
    }
    hr_buf_putc(b, ']');
}

/* API response: {"data":{"orders":[...]},"paging":{...}}, orders nested two deep. Needle:
 * order with id "7f3c9a2e-1b4d-4e8f-9a6b-2c5d8e1f0a3b" (UUID anchor). */
static inline void scen_api_orders(hr_buf *b, int n, uint64_t seed)
{
    scen_rng r = {seed};
    hr_buf_puts(b, "{\"data\":{\"orders\":[");
    for (int i = 0; i < n; i++) {
        char uuid[40];
        if (i == 58)
            strcpy(uuid, "7f3c9a2e-1b4d-4e8f-9a6b-2c5d8e1f0a3b");
        else
            snprintf(uuid, sizeof uuid, "%08x-%04x-4%03x-8%03x-%012x", scen_next(&r),
                     scen_next(&r) & 0xffff, scen_next(&r) & 0xfff, scen_next(&r) & 0xfff,
                     scen_next(&r));
        hr_buf_printf(b,
                      "%s{\"id\":\"%s\",\"customer\":{\"name\":\"%s %s\",\"tier\":\"gold\"},"
                      "\"items\":%u,\"total\":%u.%02u,\"currency\":\"EUR\",\"note\":\"",
                      i ? "," : "", uuid, scen_word(&r), scen_word(&r), 1 + scen_next(&r) % 5,
                      10 + scen_next(&r) % 200, scen_next(&r) % 100);
        scen_sentence(b, &r, 5);
        hr_buf_puts(b, "\"}");
    }
    hr_buf_printf(b, "]},\"paging\":{\"next\":null,\"count\":%d}}", n);
}

/* Metrics: n samples {ts,cpu,latency_ms}. Needles: a latency spike at 137 (outlier) and a
 * cpu level shift from 150 on (change point). */
static inline void scen_metrics(hr_buf *b, int n, uint64_t seed)
{
    scen_rng r = {seed};
    hr_buf_putc(b, '[');
    for (int i = 0; i < n; i++) {
        unsigned cpu = (i >= 150 ? 80 : 30) + scen_next(&r) % 5;
        unsigned lat = i == 137 ? 4200 : 100 + scen_next(&r) % 20;
        hr_buf_printf(b, "%s{\"ts\":%d,\"cpu\":%u,\"latency_ms\":%u}", i ? "," : "",
                      1764200000 + i * 10, cpu, lat);
    }
    hr_buf_putc(b, ']');
}

#endif
