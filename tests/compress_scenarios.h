/* compress_scenarios.h: generated tool outputs shaped like what agents send (search
 * results, DB rows, API responses, metrics, logs), each with known needles, shared by the
 * compress unit tests and bench/bench_compress_scenarios.c. Deterministic (a fixed LCG), so
 * a failure names one exact input. Header-only: static functions, the caller owns every
 * hr_buf it passes in.
 *
 * Two generations: the small scen_* shapes at the top (unit tests), and the scen_real_*
 * shapes below, sized and shaped like real tool outputs for the savings benchmark (GitHub
 * code-search API items with repository metadata and code fragments, wide payments rows,
 * service logs with timestamps/levels/components/request ids, grep -rn hits, GitHub issues
 * with template bodies, a file tree), needles placed at given positions.
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

/* ---- realistic shapes (bench_compress_scenarios, needle tests) ----------------------- */

static inline const char *scen_pick(scen_rng *r, const char *const *v, size_t n)
{
    return v[scen_next(r) % n];
}
#define SCEN_PICK(r, arr) scen_pick(r, arr, sizeof arr / sizeof arr[0])

/* Appends s as the inside of a JSON string (quotes, backslashes, newlines, tabs escaped). */
static inline void scen_json_text(hr_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            hr_buf_printf(b, "\\%c", *s);
        else if (*s == '\n')
            hr_buf_puts(b, "\\n");
        else if (*s == '\t')
            hr_buf_puts(b, "\\t");
        else
            hr_buf_putc(b, *s);
    }
}

static inline void scen_hex(hr_buf *b, scen_rng *r, int digits)
{
    for (int i = 0; i < digits; i++)
        hr_buf_putc(b, "0123456789abcdef"[scen_next(r) & 15]);
}

/* Lines of a Python auth service, the code a "token refresh" search lands in. */
static const char *const SCEN_CODE_LINES[] = {
    "    session = await store.load_session(session_id)\n",
    "    new_token = issuer.mint_access_token(user, scopes=grant.scopes)\n",
    "    if token.expires_at - now < REFRESH_WINDOW_S:\n",
    "        return await self._refresh(token, reason=\"expiring\")\n",
    "    cache.set(f\"rt:{user.id}\", refresh_token, ttl=REFRESH_TTL)\n",
    "    metrics.increment(\"auth.token.refresh\", tags={\"client\": client.name})\n",
    "def rotate_refresh_token(old: RefreshToken, clock: Clock) -> RefreshToken:\n",
    "    headers = {\"Authorization\": f\"Bearer {access_token}\"}\n",
    "class SessionTokenRefresher(BaseRefresher):\n",
    "    resp = await http.post(TOKEN_URL, data={\"grant_type\": \"refresh_token\", \"refresh_token\": rt})\n",
    "    assert refreshed.access_token != original.access_token\n",
    "    return TokenPair(access=access, refresh=rotate_refresh_token(refresh, clock))\n",
    "    refresh_token = request.cookies.get(REFRESH_COOKIE)\n",
    "    await audit.record(\"token_refreshed\", user_id=user.id, client_id=client.id)\n",
    "async def test_refresh_rotates_token(client, user_factory):\n",
    "    user = user_factory(scopes=[\"read\", \"write\"])\n",
    "    response.set_cookie(REFRESH_COOKIE, pair.refresh, httponly=True, secure=True)\n",
    "    grant = await grants.get(client_id=client.id, user_id=user.id)\n",
    "REFRESH_WINDOW_S = int(os.environ.get(\"REFRESH_WINDOW_S\", \"300\"))\n",
    "    refresher = SessionTokenRefresher(store=store, issuer=issuer, clock=clock)\n",
};

static const char *const SCEN_SERVICES[] = {"auth", "gateway", "billing", "users", "sessions", "mobile-bff"};
static const char *const SCEN_DIRS[] = {"app/tokens", "app/handlers", "app/clients", "tests/unit", "app/middleware", "tests/integration"};
static const char *const SCEN_FILES[] = {"refresh", "session", "tokens", "oauth", "cookies", "grants", "issuer", "rotation", "client", "deps"};

/* GitHub code-search API response ({total_count, items:[...]}, text-match media type):
 * n items with name, path, sha, html_url, repository and owner, score, line numbers and a
 * three-line code fragment with its match offsets (~180 o200k tokens per item). Needles:
 * item def_at defines validate_refresh_token, item err_at logs "refresh failed", and the
 * items in callers[0..n_callers) call validate_refresh_token. */
static inline void scen_real_code_search(hr_buf *b, int n, uint64_t seed, int def_at, int err_at,
                                         const int *callers, int n_callers)
{
    scen_rng r = {seed};
    hr_buf_printf(b, "{\"total_count\":%d,\"incomplete_results\":false,\"items\":[", n * 3 + 17);
    for (int i = 0; i < n; i++) {
        int caller = 0;
        for (int k = 0; k < n_callers; k++)
            caller |= callers[k] == i;
        const char *svc = SCEN_PICK(&r, SCEN_SERVICES), *dir = SCEN_PICK(&r, SCEN_DIRS);
        const char *file = SCEN_PICK(&r, SCEN_FILES);
        char path[160];
        if (i == def_at)
            snprintf(path, sizeof path, "services/auth/app/tokens/validation.py");
        else
            snprintf(path, sizeof path, "services/%s/%s/%s%s.py", svc, dir,
                     dir[0] == 't' ? "test_" : "", file);
        const char *base = strrchr(path, '/') + 1;
        int repo = (int)(scen_next(&r) % 3);
        static const char *const repos[] = {"platform", "mobile-api", "billing-core"};
        static const unsigned repo_ids[] = {48213377, 51190023, 39917730};
        hr_buf sha = HR_BUF_INIT;
        scen_hex(&sha, &r, 40);
        unsigned line = 20 + scen_next(&r) % 400;
        hr_buf_printf(b,
                      "%s{\"name\":\"%s\",\"path\":\"%s\",\"sha\":\"%s\",\"html_url\":\"https://github.com/"
                      "acme/%s/blob/main/%s\",\"repository\":{\"id\":%u,\"full_name\":\"acme/%s\","
                      "\"private\":true,\"owner\":{\"login\":\"acme\",\"type\":\"Organization\"}},"
                      "\"score\":%u.%02u,\"line_numbers\":[%u,%u,%u],\"text_matches\":[{\"object_type\":"
                      "\"FileContent\",\"property\":\"content\",\"fragment\":\"",
                      i ? "," : "", base, path, sha.data, repos[repo], path, repo_ids[repo], repos[repo],
                      18 - i / 8, scen_next(&r) % 100, line, line + 1, line + 2);
        hr_buf_free(&sha);
        if (i == def_at) {
            scen_json_text(b, "def validate_refresh_token(token: str, *, now: float) -> bool:\n"
                              "    claims = decode_jwt(token, verify_exp=False)\n"
                              "    return claims.get(\"typ\") == \"refresh\" and claims[\"exp\"] > now\n");
        } else if (i == err_at) {
            scen_json_text(b, "    if resp.status_code != 200:\n"
                              "        log.error(\"refresh failed: upstream rejected grant %s\", grant.id)\n"
                              "        raise RefreshRejected(grant.id)\n");
        } else {
            for (int k = 0; k < 3; k++) {
                if (caller && k == 1)
                    scen_json_text(b, "    if not validate_refresh_token(body.refresh_token, now=clock.now()):\n");
                else
                    scen_json_text(b, SCEN_PICK(&r, SCEN_CODE_LINES));
            }
        }
        unsigned at = 4 + scen_next(&r) % 40;
        hr_buf_printf(b, "\",\"matches\":[{\"text\":\"refresh\",\"indices\":[%u,%u]}]}]}", at, at + 7);
    }
    hr_buf_puts(b, "]}");
}

/* Payments table rows (SELECT * FROM payments ...): 22 columns per row. Needles: the row of
 * customer "dana.reyes@example.com" (anchor), rows failed_at[0..n_failed) with status
 * "failed" and a gateway timeout, row slow_at with gateway_latency_ms 30000 (outlier). */
static inline void scen_real_payment_rows(hr_buf *b, int n, uint64_t seed, int dana_at,
                                          const int *failed_at, int n_failed, int slow_at)
{
    static const char *const first[] = {"alex", "maria", "li", "sam", "noor", "ivan", "zoe", "omar", "kai", "ana", "tom", "yuki"};
    static const char *const last[] = {"smith", "garcia", "chen", "okafor", "novak", "silva", "kim", "haddad", "berg", "rossi"};
    static const char *const gw[] = {"stripe-eu", "stripe-us", "adyen-eu"};
    static const char *const brand[] = {"visa", "mastercard", "amex"};
    static const char *const region[] = {"eu-west-1", "us-east-1", "eu-central-1"};
    scen_rng r = {seed};
    hr_buf_putc(b, '[');
    for (int i = 0; i < n; i++) {
        int failed = 0;
        for (int k = 0; k < n_failed; k++)
            failed |= failed_at[k] == i;
        char email[80];
        if (i == dana_at)
            snprintf(email, sizeof email, "dana.reyes@example.com");
        else
            snprintf(email, sizeof email, "%s.%s%u@%s", SCEN_PICK(&r, first), SCEN_PICK(&r, last),
                     scen_next(&r) % 100, scen_next(&r) % 4 ? "gmail.com" : "example.com");
        unsigned lat = i == slow_at ? 30000 : 180 + scen_next(&r) % 160;
        int sec = i * 9;
        hr_buf_printf(b,
                      "%s{\"id\":%d,\"order_id\":%u,\"customer_id\":\"cus_%08x\",\"customer_email\":\"%s\","
                      "\"amount_cents\":%u,\"currency\":\"EUR\",\"status\":\"%s\",\"failure_code\":%s,"
                      "\"gateway\":\"%s\",\"gateway_txn_id\":\"",
                      i ? "," : "", 912400 + i, 88000 + i * 7 + scen_next(&r) % 5, scen_next(&r),
                      email, 500 + scen_next(&r) % 40000, failed ? "failed" : "succeeded",
                      failed ? "\"gateway_timeout\"" : "null", SCEN_PICK(&r, gw));
        scen_hex(b, &r, 24);
        hr_buf_printf(b,
                      "\",\"gateway_latency_ms\":%u,\"attempt\":1,\"card_brand\":\"%s\",\"card_last4\":\"%04u\","
                      "\"region\":\"%s\",\"risk_score\":%u,\"idempotency_key\":\"",
                      lat, SCEN_PICK(&r, brand), scen_next(&r) % 10000, SCEN_PICK(&r, region),
                      scen_next(&r) % 60);
        scen_hex(b, &r, 8);
        hr_buf_putc(b, '-');
        scen_hex(b, &r, 4);
        hr_buf_puts(b, "-4");
        scen_hex(b, &r, 3);
        hr_buf_puts(b, "-a");
        scen_hex(b, &r, 3);
        hr_buf_putc(b, '-');
        scen_hex(b, &r, 12);
        hr_buf_printf(b,
                      "\",\"created_at\":\"2026-11-27T%02d:%02d:%02d.%03uZ\",\"updated_at\":"
                      "\"2026-11-27T%02d:%02d:%02d.%03uZ\",\"captured\":%s,\"refunded_cents\":0,"
                      "\"metadata\":{\"source\":\"checkout-web\",\"app_version\":\"4.%u.%u\"}}",
                      2 + sec / 3600, (sec / 60) % 60, sec % 60, scen_next(&r) % 1000,
                      2 + sec / 3600, (sec / 60) % 60, (sec + 1) % 60, scen_next(&r) % 1000,
                      failed ? "false" : "true", 18 + scen_next(&r) % 3, scen_next(&r) % 10);
    }
    hr_buf_putc(b, ']');
}

/* A service log: ISO timestamps, level, component, request id, structured fields; INFO
 * traffic, periodic WARNs, and at error_at an error burst (the error line, a Python
 * traceback, a retry, a second error) and, when fatal is given, a FATAL line at fatal_at. */
static inline void scen_real_service_log(hr_buf *b, int n, uint64_t seed, int error_at,
                                         const char *error, int fatal_at, const char *fatal)
{
    static const char *const comp[] = {"payments-api", "checkout", "ledger", "gateway-client", "auth-mw"};
    static const char *const route[] = {"POST /v1/charges", "GET /v1/orders", "POST /v1/refunds", "GET /v1/customers", "POST /v1/checkout/session"};
    static const char *const info[] = {"request completed", "cache hit", "db query finished", "webhook delivered", "token validated"};
    scen_rng r = {seed};
    for (int i = 0; i < n; i++) {
        int sec = 7 * 60 + i * 2;
        hr_buf_printf(b, "2026-11-27T03:%02d:%02d.%03uZ ", (sec / 60) % 60, sec % 60, scen_next(&r) % 1000);
        if (i == error_at) {
            hr_buf_printf(b, "ERROR payments-api [req=%08x] %s\n", scen_next(&r), error);
            hr_buf_puts(b, "Traceback (most recent call last):\n"
                           "  File \"/srv/payments/app/charges.py\", line 212, in create_charge\n"
                           "    result = await gateway.charge(order, timeout=GATEWAY_TIMEOUT_S)\n"
                           "  File \"/srv/payments/app/gateway/client.py\", line 88, in charge\n"
                           "    resp = await self._http.post(url, json=body, timeout=timeout)\n"
                           "TimeoutError: upstream did not answer in 2.0s\n");
            continue;
        }
        if (fatal && i == fatal_at) {
            hr_buf_printf(b, "FATAL ledger [req=%08x] %s\n", scen_next(&r), fatal);
            continue;
        }
        if (i % 23 == 11) {
            hr_buf_printf(b, "WARN  gateway-client [req=%08x] slow upstream: stripe-eu p95=%ums (budget 800ms) pool=%u/64\n",
                          scen_next(&r), 700 + scen_next(&r) % 600, 40 + scen_next(&r) % 24);
            continue;
        }
        hr_buf_printf(b, "INFO  %s [req=%08x] %s %s status=200 dur=%ums user=u_%u region=eu-west-1 pod=%s-%05x\n",
                      SCEN_PICK(&r, comp), scen_next(&r), SCEN_PICK(&r, route), SCEN_PICK(&r, info),
                      5 + scen_next(&r) % 240, 10000 + scen_next(&r) % 90000, SCEN_PICK(&r, comp),
                      scen_next(&r) & 0xfffff);
    }
}

/* grep -rn output over a service tree: path:line:code, or with context > 0 the
 * grep -rn -C<context> form (path-line-code context lines, "--" between groups). The match
 * at needle_at is needle. */
static inline void scen_real_grep(hr_buf *b, int n, uint64_t seed, int needle_at, const char *needle_path,
                                  const char *needle, int context)
{
    static const char *const code[] = {
        "    gateway = GatewayClient(base_url=settings.GATEWAY_URL, timeout=settings.GATEWAY_TIMEOUT_S)",
        "from app.gateway.client import GatewayClient, GatewayResponse",
        "    result = await gateway.charge(order, idempotency_key=order.key)",
        "    \"\"\"Charge through the configured gateway; retries are the caller's job.\"\"\"",
        "GATEWAY_URL = os.environ.get(\"GATEWAY_URL\", \"https://gw.internal.acme.dev\")",
        "    assert gateway.calls == 1",
        "    monkeypatch.setattr(charges, \"gateway\", FakeGateway(latency_ms=5))",
        "  gateway_pool_size: 64",
        "    span.set_attribute(\"gateway.name\", gateway.name)",
        "        metrics.observe(\"gateway.latency_ms\", elapsed_ms, tags={\"gw\": gateway.name})",
    };
    static const char *const around[] = {
        "", "    async with tracer.start_as_current_span(\"charge\") as span:",
        "    order = await orders.get(order_id)", "    settings = get_settings()",
        "    return result", "    elapsed_ms = (time.monotonic() - started) * 1000",
        "@pytest.mark.asyncio", "import os", "    if not order.payable:", "        return None"};
    scen_rng r = {seed};
    for (int i = 0; i < n; i++) {
        char path[128];
        unsigned line = 10 + scen_next(&r) % 600;
        if (i == needle_at)
            snprintf(path, sizeof path, "%s", needle_path);
        else
            snprintf(path, sizeof path, "services/%s/%s/%s.py", SCEN_PICK(&r, SCEN_SERVICES),
                     SCEN_PICK(&r, SCEN_DIRS), SCEN_PICK(&r, SCEN_FILES));
        if (context && i)
            hr_buf_puts(b, "--\n");
        for (int k = context; k > 0; k--)
            hr_buf_printf(b, "%s-%u-%s\n", path, line - (unsigned)k, SCEN_PICK(&r, around));
        hr_buf_printf(b, "%s:%u:%s\n", path, line, i == needle_at ? needle : SCEN_PICK(&r, code));
        for (int k = 1; k <= context; k++)
            hr_buf_printf(b, "%s-%u-%s\n", path, line + (unsigned)k, SCEN_PICK(&r, around));
    }
}

/* GitHub issues API list: n issues with user, labels, timestamps and template bodies
 * (mostly feature requests and questions). Needle: issue crash_at is the startup panic. */
static inline void scen_real_issues(hr_buf *b, int n, uint64_t seed, int crash_at)
{
    static const char *const verb[] = {"Support", "Document", "Allow configuring", "Expose",
                                       "Add pagination to", "Speed up", "Add tests for", "Deprecate",
                                       "Add metrics for", "Clean up"};
    static const char *const obj[] = {"custom retry budgets per route", "the webhook signature header",
                                      "invoice export as CSV", "p95 latency in the admin dashboard",
                                      "the session TTL", "the audit log API", "onboarding emails",
                                      "the refund flow", "rate limits per API key", "SSO for SAML providers",
                                      "the billing portal", "currency rounding rules"};
    static const char *const who[] = {"mkovacs", "priya-dev", "jlaurent", "tkato", "osei-b", "rdiaz"};
    scen_rng r = {seed};
    hr_buf_putc(b, '[');
    for (int i = 0; i < n; i++) {
        int num = 4100 + n - i;
        char title[120];
        if (i == crash_at)
            snprintf(title, sizeof title, "Crash on startup: panic in config loader");
        else
            snprintf(title, sizeof title, "%s %s", SCEN_PICK(&r, verb), SCEN_PICK(&r, obj));
        const char *user = SCEN_PICK(&r, who);
        hr_buf_printf(b,
                      "%s{\"url\":\"https://api.github.com/repos/acme/platform/issues/%d\",\"repository_url\":"
                      "\"https://api.github.com/repos/acme/platform\",\"html_url\":\"https://github.com/acme/"
                      "platform/issues/%d\",\"id\":%u,\"number\":%d,\"title\":\"%s\",\"user\":{\"login\":\"%s\","
                      "\"id\":%u,\"type\":\"User\",\"site_admin\":false},\"labels\":[{\"name\":\"%s\",\"color\":"
                      "\"%s\"}],\"state\":\"open\",\"locked\":false,\"assignee\":null,\"comments\":%u,"
                      "\"created_at\":\"2026-11-%02dT%02d:%02d:00Z\",\"updated_at\":\"2026-11-%02dT%02d:%02d:00Z\","
                      "\"author_association\":\"MEMBER\",\"body\":\"",
                      i ? "," : "", num, num, 2000000000u + scen_next(&r) % 100000000u, num, title, user,
                      100000 + scen_next(&r) % 900000, i == crash_at ? "bug" : "enhancement",
                      i == crash_at ? "d73a4a" : "a2eeef", scen_next(&r) % 9, 1 + i % 26, scen_next(&r) % 24,
                      scen_next(&r) % 60, 1 + i % 26, scen_next(&r) % 24, scen_next(&r) % 60);
        if (i == crash_at)
            scen_json_text(b, "### What happened\nThe service exits right after start: `panic: config loader: "
                              "missing key 'region'` (exit code 2).\n\n### Steps to reproduce\n1. Deploy 4.19.0 "
                              "with the default values file\n2. Watch the pod restart\n\n### Environment\n"
                              "- version: 4.19.0\n- platform: kubernetes 1.30\n");
        else {
            hr_buf_printf(b, "### Summary\\n%s.\\n\\n### Motivation\\nTeams using the %s service asked for "
                             "this in the last planning round; today they work around it by hand.\\n\\n"
                             "### Proposal\\nAdd an option under `%s.%s` and document it in the admin "
                             "guide.\\n\\n### Alternatives considered\\nNone that keep the current "
                             "behaviour for existing users.\\n\\n### Additional context\\n_No response_",
                          title, SCEN_PICK(&r, SCEN_SERVICES), SCEN_PICK(&r, SCEN_SERVICES),
                          SCEN_PICK(&r, SCEN_FILES));
        }
        hr_buf_puts(b, "\"}");
    }
    hr_buf_putc(b, ']');
}

/* `find . -type f` over a repository: n paths. */
static inline void scen_real_tree(hr_buf *b, int n, uint64_t seed)
{
    static const char *const ext[] = {"py", "py", "py", "yaml", "md", "json", "sql", "txt"};
    scen_rng r = {seed};
    for (int i = 0; i < n; i++)
        hr_buf_printf(b, "./services/%s/%s/%s_%s.%s\n", SCEN_PICK(&r, SCEN_SERVICES),
                      SCEN_PICK(&r, SCEN_DIRS), SCEN_PICK(&r, SCEN_FILES), scen_word(&r), SCEN_PICK(&r, ext));
}

#endif
