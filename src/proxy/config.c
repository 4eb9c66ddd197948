/* config.c: defaults, environment and flags for hr_proxy_config (see config.h). Every
 * setting is one row of ROWS (sys/settings.h), so defaults, flag parsing, env parsing, --help
 * and the docs table stay in step. */
#include "proxy/config.h"

#include "http/base_url.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static hr_proxy_config g_current;

/* Parsers of the proxy's own value kinds (the generic kinds are sys/conf.c's). */
static int parse_url(const char *v, void *field, size_t size, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    return hr_normalize_upstream_url(v, field, size);
}

static int parse_log_format(const char *v, void *field, size_t size, char *err, size_t errlen)
{
    (void)size, (void)err, (void)errlen;
    return hr_log_format_parse(v, field);
}

static int parse_server_model(const char *v, void *field, size_t size, char *err, size_t errlen)
{
    (void)size, (void)err, (void)errlen;
    hr_http_model *m = field;
    if (strcasecmp(v, "threads") == 0)
        *m = HR_HTTP_MODEL_THREADS;
    else if (strcasecmp(v, "events") == 0)
        *m = HR_HTTP_MODEL_EVENTS;
    else
        return -1;
    return 0;
}

static int parse_log_level(const char *v, void *field, size_t size, char *err, size_t errlen)
{
    (void)size, (void)err, (void)errlen;
    return hr_log_level_parse(v, field);
}

/* The origins x-headroom-base-url may name (http/base_url.h): every entry must parse; the
 * check's own error names the bad entry. */
static int parse_origins(const char *v, void *field, size_t size, char *err, size_t errlen)
{
    if (strlen(v) >= size || hr_base_url_allowlist_check(v, err, errlen) != 0)
        return -1; /* too long: the generic message */
    memcpy(field, v, strlen(v) + 1);
    return 0;
}

/* name, flag, variable, type, field, bounds, default, help */
#define ROW(...) HR_SETTING_ROW(hr_proxy_config, __VA_ARGS__, 0)
#define CUSTOM(name, flag, env, parse, f, dflt, help)                                             \
    HR_SETTING_CUSTOM(hr_proxy_config, name, flag, env, parse, NULL, f, dflt, help, 0)
#define BIG 1000000000LL /* the largest plain count or MB a flag takes */

/* The order is --help's. docs/configuration.md ("Proxy") has a line per row; a test checks. */
static const hr_setting_row ROWS[] = {
    ROW("host", "--host", "HEADROOM_HOST", HR_SETTING_STRING, host, 1, 0, "127.0.0.1",
        "listen address (127.0.0.1)"),
    ROW("port", "--port", "HEADROOM_PORT", HR_SETTING_INT, port, 0, 65535, "8787",
        "listen port (8787; 0 = any free port)"),
    CUSTOM("openai_url", "--openai-api-url", "OPENAI_TARGET_API_URL", parse_url, openai_url,
           "https://api.openai.com", "OpenAI upstream (https://api.openai.com)"),
    CUSTOM("anthropic_url", "--anthropic-api-url", "ANTHROPIC_TARGET_API_URL", parse_url,
           anthropic_url, "https://api.anthropic.com",
           "Anthropic upstream (https://api.anthropic.com)"),
    CUSTOM("chatgpt_url", "--chatgpt-backend-url", "HEADROOM_CHATGPT_BACKEND_URL", parse_url,
           chatgpt_url, "https://chatgpt.com/backend-api/codex",
           "where Responses requests carrying chatgpt-account-id go (Codex signed in with "
           "ChatGPT) (https://chatgpt.com/backend-api/codex)"),
    CUSTOM("bedrock_url", "--bedrock-api-url", "BEDROCK_TARGET_API_URL", parse_url, bedrock_url,
           NULL, "Bedrock Runtime upstream (https://bedrock-runtime.REGION.amazonaws.com)"),
    ROW("bedrock_region", "--bedrock-region", "HEADROOM_BEDROCK_REGION", HR_SETTING_STRING,
        bedrock_region, 1, 0, NULL,
        "AWS region Bedrock requests are signed for (AWS_REGION, AWS_DEFAULT_REGION, the "
        "profile's; us-east-1)"),
    ROW("bedrock_profile", "--bedrock-profile", "HEADROOM_BEDROCK_PROFILE", HR_SETTING_STRING,
        bedrock_profile, 1, 0, NULL,
        "AWS profile to sign Bedrock requests with (the environment's AWS_ACCESS_KEY_ID..., "
        "else AWS_PROFILE or default; none: Bedrock passes through)"),
    CUSTOM("gemini_url", "--gemini-api-url", "GEMINI_TARGET_API_URL", parse_url, gemini_url,
           "https://generativelanguage.googleapis.com",
           "Gemini API upstream (https://generativelanguage.googleapis.com)"),
    CUSTOM("vertex_url", "--vertex-api-url", "VERTEX_TARGET_API_URL", parse_url, vertex_url, NULL,
           "Vertex AI upstream (unset: https://{location}-aiplatform.googleapis.com from the "
           "request path's locations/{location})"),
    CUSTOM("azure_url", "--azure-api-url", "AZURE_TARGET_API_URL", parse_url, azure_url, NULL,
           "Azure OpenAI resource, e.g. https://NAME.openai.azure.com (unset: /openai/... "
           "requests get 502)"),
    CUSTOM("allow_base_urls", "--allow-base-url", "HEADROOM_ALLOW_BASE_URLS", parse_origins,
           allow_base_urls, NULL,
           "comma-separated origins (https://host[:port]) a request may name in "
           "x-headroom-base-url as its upstream (none)"),
    ROW("max_body_bytes", "--max-body-bytes", "HEADROOM_MAX_BODY_BYTES", HR_SETTING_INT,
        max_body_bytes, 1, LLONG_MAX, "104857600",
        "largest request body, after decoding (104857600)"),
    ROW("max_inflight_body_mb", "--max-inflight-body-mb", "HEADROOM_MAX_INFLIGHT_BODY_MB",
        HR_SETTING_INT, max_inflight_body_mb, 0, BIG, "512",
        "MB of request bodies, decoded bodies and held answers in flight, all requests "
        "together; past it 503 (512; 0 = unlimited)"),
    ROW("memory_budget_mb", "--memory-budget-mb", "HEADROOM_MEMORY_BUDGET_MB", HR_SETTING_INT,
        memory_budget_mb, 0, BIG, "0",
        "MB the proxy promises to stay under (RssAnon + request bytes held); before it: ML "
        "off at 70 %, compression skipped at 85 %, 503 + Retry-After at 95 % (0 = none)"),
    ROW("low_memory", "--low-memory", "HEADROOM_LOW_MEMORY", HR_SETTING_SWITCH, low_memory, 0, 1,
        "off",
        "the low-memory profile: smaller limits, caches and stores, one ML thread, one malloc "
        "arena, a 256 MB budget, each still settable (docs/deployment.md) (off)"),
    ROW("max_decode_ratio", "--max-decode-ratio", "HEADROOM_MAX_DECODE_RATIO", HR_SETTING_INT,
        max_decode_ratio, 0, BIG, "1000",
        "largest decoded/encoded ratio of a compressed body past 1 MiB decoded; past it 413 "
        "(1000; 0 = off)"),
    ROW("max_answer_bytes", "--max-answer-bytes", "HEADROOM_MAX_ANSWER_BYTES", HR_SETTING_INT,
        max_answer_bytes, 1, LLONG_MAX, "67108864",
        "largest upstream answer held whole (non-streaming answers, tool calls a stream "
        "holds back); past it 502 or the stream's error event (67108864)"),
    CUSTOM("log_format", "--log-format", "HEADROOM_LOG_FORMAT", parse_log_format, log_format,
           "text", "text | json (text)"),
    CUSTOM("log_level", "--log-level", "HEADROOM_LOG_LEVEL", parse_log_level, log_level, "info",
           "debug | info | warn | error (info)"),
    ROW("log_file", "--log-file", "HEADROOM_LOG_FILE", HR_SETTING_STRING, log_file, 1, 0, NULL,
        "append the log lines to this file instead of stderr"),
    ROW("log_messages", "--log-messages", "HEADROOM_LOG_MESSAGES", HR_SETTING_SWITCH, log_messages,
        0, 1, "off", "also log request bodies (off; never headers or credentials)"),
    ROW("graceful_shutdown_timeout_s", "--graceful-shutdown-timeout",
        "HEADROOM_GRACEFUL_SHUTDOWN_TIMEOUT", HR_SETTING_INT, graceful_shutdown_timeout_s, 0, BIG,
        "30", "seconds to finish in-flight requests on SIGTERM (30)"),
    ROW("upstream_timeout", "--upstream-timeout", "HEADROOM_UPSTREAM_TIMEOUT",
        HR_SETTING_SECONDS_MS, upstream_timeout_ms, 0, 86400, "600",
        "seconds without a byte from upstream before giving up: 504 (600)"),
    ROW("connect_timeout", "--connect-timeout", "HEADROOM_CONNECT_TIMEOUT", HR_SETTING_SECONDS_MS,
        connect_timeout_ms, 0, 86400, "10", "seconds to connect upstream before 502 (10)"),
    ROW("retry_attempts", "--retry-attempts", "HEADROOM_RETRY_ATTEMPTS", HR_SETTING_INT,
        retry_attempts, 1, 20, "3", "attempts on connect errors and 5xx, never 4xx (3)"),
    ROW("retry_base_ms", "--retry-base-ms", "HEADROOM_RETRY_BASE_MS", HR_SETTING_INT, retry_base_ms,
        0, BIG, "1000", "first backoff; doubles, capped at 30000, jittered x U(0.5,1.5) (1000)"),
    ROW("limit_concurrency", "--limit-concurrency", "HEADROOM_LIMIT_CONCURRENCY", HR_SETTING_INT,
        max_connections, 1, BIG, "4096",
        "requests relayed at once (threads: client connections); more get 503 at once; capped by the open-file limit (4096)"),
    CUSTOM("server_model", "--server-model", "HEADROOM_SERVER_MODEL", parse_server_model,
           server_model, "threads",
           "threads (a thread per connection) | events (one event loop, a worker per request "
           "in flight; docs/design.md) (threads)"),
    ROW("idle_timeout_s", "--idle-timeout", "HEADROOM_IDLE_TIMEOUT", HR_SETTING_INT, idle_timeout_s,
        0, BIG, "300", "seconds before an idle keep-alive connection is closed (300)"),
    ROW("max_connections_per_address", "--max-connections-per-address",
        "HEADROOM_MAX_CONNECTIONS_PER_ADDRESS", HR_SETTING_INT, max_connections_per_address, 0, BIG,
        "1024", "open connections from one client address; more get 429 at once (1024; 0 = no limit)"),
    ROW("client_header_timeout", "--client-header-timeout", "HEADROOM_CLIENT_HEADER_TIMEOUT",
        HR_SETTING_SECONDS_MS, client_header_timeout_ms, 0, 86400, "10",
        "seconds for a whole request head, from its first byte, before 408 (10)"),
    ROW("client_body_timeout", "--client-body-timeout", "HEADROOM_CLIENT_BODY_TIMEOUT",
        HR_SETTING_SECONDS_MS, client_body_timeout_ms, 0, 86400, "120",
        "seconds for a whole request body before 408 (120)"),
    ROW("ws_idle_timeout", "--ws-idle-timeout", "HEADROOM_WS_IDLE_TIMEOUT", HR_SETTING_SECONDS_MS,
        ws_idle_timeout_ms, 0, 86400, "600",
        "seconds a WebSocket session may pass with no frame either way before both sides get "
        "a 1001 close (600)"),
    ROW("no_ccr_inject_tool", "--no-ccr-inject-tool", "HEADROOM_NO_CCR_INJECT_TOOL",
        HR_SETTING_SWITCH, no_ccr_tool, 0, 1, "off",
        "never offer the headroom_retrieve tool: compression only (the original's flag)"),
    ROW("upstream_ca_file", "--upstream-ca-file", "HEADROOM_UPSTREAM_CA_FILE", HR_SETTING_STRING,
        upstream_ca_file, 1, 0, NULL, "PEM CA bundle to verify upstream TLS with (system bundle)"),
};

const hr_setting_table hr_proxy_settings = HR_SETTING_TABLE(ROWS);

const hr_setting_table *const *hr_proxy_setting_tables(size_t *n)
{
    static const hr_setting_table *const tables[] = {
        &hr_proxy_settings, &hr_pipeline_settings, &hr_ccr_settings,
        &hr_savings_settings, &hr_image_settings, &hr_ml_settings};
    *n = sizeof tables / sizeof tables[0];
    return tables;
}

const hr_setting_row *hr_proxy_setting_named(const char *name)
{
    size_t n;
    const hr_setting_table *const *t = hr_proxy_setting_tables(&n);
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < t[k]->n; i++) {
            const hr_setting_row *r = &t[k]->rows[i];
            if ((r->flag && !strcmp(r->flag, name)) || !strcmp(r->env, name))
                return r;
        }
    return NULL;
}

void hr_proxy_config_defaults(hr_proxy_config *c)
{
    hr_settings_init(&hr_proxy_settings, c, sizeof *c);
    c->retry_max_ms = 30000; /* fixed: the cap named in --retry-base-ms's help */
    hr_pipeline_config_default(&c->pipeline);
    hr_ccr_config_default(&c->ccr);
    hr_savings_config_default(&c->savings);
    hr_image_config_default(&c->images);
    hr_ml_config_default(&c->ml);
}

int hr_normalize_upstream_url(const char *url, char *out, size_t outlen)
{
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return -1;
    /* request targets are appended to it: a query, fragment or space would swallow them */
    if (strpbrk(url, "?# \t\r\n\\"))
        return -1;
    size_t n = strlen(url);
    for (;;) {
        while (n && url[n - 1] == '/')
            n--;
        if (n >= 3 && strncmp(url + n - 3, "/v1", 3) == 0)
            n -= 3;
        else
            break;
    }
    if (n + 1 > outlen || n <= 8)
        return -1;
    memcpy(out, url, n);
    out[n] = 0;
    return 0;
}

int hr_proxy_config_from_env(hr_proxy_config *c, char *err, size_t errlen)
{
    if (hr_settings_from_env(&hr_proxy_settings, c, err, errlen) != 0)
        return -1;
    if (hr_pipeline_config_from_env(&c->pipeline, err, errlen) != 0)
        return -1;
    if (hr_ccr_config_from_env(&c->ccr, err, errlen) != 0)
        return -1;
    if (hr_settings_from_env(&hr_savings_settings, &c->savings, err, errlen) != 0)
        return -1;
    if (hr_image_config_from_env(&c->images, err, errlen) != 0)
        return -1;
    return hr_ml_config_from_env(&c->ml, err, errlen);
}

int hr_proxy_config_from_args(hr_proxy_config *c, int argc, char **argv, char *err,
                              size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return 1;
        /* the proxy's rows, then the compression settings', then the CCR store's */
        int rc = hr_settings_arg(&hr_proxy_settings, c, argc, argv, &i, err, errlen);
        if (rc == 0)
            rc = hr_pipeline_config_arg(&c->pipeline, argc, argv, &i, err, errlen);
        if (rc == 0)
            rc = hr_ccr_config_arg(&c->ccr, argc, argv, &i, err, errlen);
        if (rc == 1)
            continue;
        if (rc == 0)
            snprintf(err, errlen, "unknown option '%s' (see headroom proxy --help)", a);
        return -1;
    }
    return 0;
}

void hr_proxy_config_usage(FILE *out)
{
    fprintf(out, "usage: headroom proxy [options]\n\n"
                 "Runs the compression proxy. Options (flag, environment variable):\n");
    hr_settings_usage(&hr_proxy_settings, out);
    fprintf(out, "  %-30s\n      this help\n\n", "--help");
    fprintf(out, "Compression options (docs/compression.md; Kompress, the ModernBERT prose "
                 "compressor: docs/compressors.md):\n");
    hr_settings_usage(&hr_pipeline_settings, out);
    fprintf(out, "\nCCR store options (docs/ccr.md; originals behind markers):\n");
    hr_settings_usage(&hr_ccr_settings, out);
    fprintf(out, "\nSavings statistics (docs/stats.md; kept in <data dir>/stats.sqlite3):\n");
    hr_settings_usage(&hr_savings_settings, out);
    fprintf(out, "\nImages (docs/images.md):\n");
    hr_settings_usage(&hr_image_settings, out);
    fprintf(out, "\nML runtime (docs/ml-runtime.md; Kompress and the image models):\n");
    hr_settings_usage(&hr_ml_settings, out);
    fprintf(out, "\nThe Python original's flags and variables are accepted too: mapped to the\n"
                 "above or, without a meaning here, named in one warning (docs/configuration.md;\n"
                 "`headroom proxy --compat-table` prints the table).\n");
}

int hr_proxy_port_of(const char *flag_value, int *port, char *err, size_t errlen)
{
    const hr_setting_row *r = hr_settings_find(&hr_proxy_settings, "port");
    const char *env = getenv(r->env);
    const char *v = flag_value ? flag_value : env && *env ? env : r->dflt;
    hr_proxy_config c;
    if (hr_setting_set(r, &c, v, flag_value ? r->flag : r->env, err, errlen) != 0)
        return -1;
    if (c.port == 0) { /* "any free port" is for listening; a client needs the real one */
        snprintf(err, errlen, "invalid value '0' for %s", flag_value ? r->flag : r->env);
        return -1;
    }
    *port = c.port;
    return 0;
}

long hr_retry_delay_ms(const hr_proxy_config *c, int n, double u)
{
    double d = (double)c->retry_base_ms;
    for (int i = 0; i < n && d < (double)c->retry_max_ms; i++)
        d *= 2;
    if (d > (double)c->retry_max_ms)
        d = (double)c->retry_max_ms;
    return (long)(d * (0.5 + u));
}

const hr_proxy_config *hr_proxy_config_current(void) { return &g_current; }
void hr_proxy_config_set_current(const hr_proxy_config *c) { g_current = *c; }
