/* config.c: defaults, environment and flags for hr_proxy_config (see config.h). Every
 * option is one row of OPTIONS, so flag parsing, env parsing and --help stay in step. */
#include "proxy/config.h"

#include "http/base_url.h"
#include "sys/parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static hr_proxy_config g_current;

typedef enum { T_STR, T_INT, T_SIZE, T_BOOL, T_URL, T_LOGFMT, T_LOGLVL, T_SECONDS_MS, T_ORIGINS } opt_type;

typedef struct option {
    const char *flag;
    const char *env;
    opt_type type;
    size_t offset;
    size_t size;    /* for strings */
    const char *help;
} option;

#define OFF(f) offsetof(hr_proxy_config, f)
#define SZ(f) sizeof(((hr_proxy_config *)0)->f)

static const option OPTIONS[] = {
    {"--host", "HEADROOM_HOST", T_STR, OFF(host), SZ(host), "listen address (127.0.0.1)"},
    {"--port", "HEADROOM_PORT", T_INT, OFF(port), 0, "listen port (8787; 0 = any free port)"},
    {"--openai-api-url", "OPENAI_TARGET_API_URL", T_URL, OFF(openai_url), SZ(openai_url),
     "OpenAI upstream (https://api.openai.com)"},
    {"--anthropic-api-url", "ANTHROPIC_TARGET_API_URL", T_URL, OFF(anthropic_url),
     SZ(anthropic_url), "Anthropic upstream (https://api.anthropic.com)"},
    {"--chatgpt-backend-url", "HEADROOM_CHATGPT_BACKEND_URL", T_URL, OFF(chatgpt_url),
     SZ(chatgpt_url), "where Responses requests carrying chatgpt-account-id go (Codex signed "
     "in with ChatGPT) (https://chatgpt.com/backend-api/codex)"},
    {"--bedrock-api-url", "BEDROCK_TARGET_API_URL", T_URL, OFF(bedrock_url), SZ(bedrock_url),
     "Bedrock Runtime upstream (https://bedrock-runtime.REGION.amazonaws.com)"},
    {"--bedrock-region", "HEADROOM_BEDROCK_REGION", T_STR, OFF(bedrock_region),
     SZ(bedrock_region), "AWS region Bedrock requests are signed for (AWS_REGION, "
     "AWS_DEFAULT_REGION, the profile's; us-east-1)"},
    {"--bedrock-profile", "HEADROOM_BEDROCK_PROFILE", T_STR, OFF(bedrock_profile),
     SZ(bedrock_profile), "AWS profile to sign Bedrock requests with (the environment's "
     "AWS_ACCESS_KEY_ID..., else AWS_PROFILE or default; none: Bedrock passes through)"},
    {"--gemini-api-url", "GEMINI_TARGET_API_URL", T_URL, OFF(gemini_url), SZ(gemini_url),
     "Gemini API upstream (https://generativelanguage.googleapis.com)"},
    {"--vertex-api-url", "VERTEX_TARGET_API_URL", T_URL, OFF(vertex_url), SZ(vertex_url),
     "Vertex AI upstream (unset: https://{location}-aiplatform.googleapis.com from the "
     "request path's locations/{location})"},
    {"--azure-api-url", "AZURE_TARGET_API_URL", T_URL, OFF(azure_url), SZ(azure_url),
     "Azure OpenAI resource, e.g. https://NAME.openai.azure.com (unset: /openai/... "
     "requests get 502)"},
    {"--allow-base-url", "HEADROOM_ALLOW_BASE_URLS", T_ORIGINS, OFF(allow_base_urls),
     SZ(allow_base_urls),
     "comma-separated origins (https://host[:port]) a request may name in "
     "x-headroom-base-url as its upstream (none)"},
    {"--max-body-bytes", "HEADROOM_MAX_BODY_BYTES", T_SIZE, OFF(max_body_bytes), 0,
     "largest request body, after decoding (104857600)"},
    {"--max-inflight-body-mb", "HEADROOM_MAX_INFLIGHT_BODY_MB", T_INT, OFF(max_inflight_body_mb), 0,
     "MB of request bodies, decoded bodies and held answers in flight, all requests "
     "together; past it 503 (512; 0 = unlimited)"},
    {"--memory-budget-mb", "HEADROOM_MEMORY_BUDGET_MB", T_INT, OFF(memory_budget_mb), 0,
     "MB the proxy promises to stay under (RssAnon + request bytes held); before it: ML "
     "off at 70 %, compression skipped at 85 %, 503 + Retry-After at 95 % (0 = none)"},
    {"--low-memory", "HEADROOM_LOW_MEMORY", T_BOOL, OFF(low_memory), 0,
     "the low-memory profile: smaller limits, caches and stores, one ML thread, one malloc "
     "arena, a 256 MB budget, each still settable (docs/deployment.md) (off)"},
    {"--max-decode-ratio", "HEADROOM_MAX_DECODE_RATIO", T_INT, OFF(max_decode_ratio), 0,
     "largest decoded/encoded ratio of a compressed body past 1 MiB decoded; past it 413 "
     "(1000; 0 = off)"},
    {"--max-answer-bytes", "HEADROOM_MAX_ANSWER_BYTES", T_SIZE, OFF(max_answer_bytes), 0,
     "largest upstream answer held whole (non-streaming answers, tool calls a stream "
     "holds back); past it 502 or the stream's error event (67108864)"},
    {"--log-format", "HEADROOM_LOG_FORMAT", T_LOGFMT, OFF(log_format), 0, "text | json (text)"},
    {"--log-level", "HEADROOM_LOG_LEVEL", T_LOGLVL, OFF(log_level), 0,
     "debug | info | warn | error (info)"},
    {"--log-file", "HEADROOM_LOG_FILE", T_STR, OFF(log_file), SZ(log_file),
     "append the log lines to this file instead of stderr"},
    {"--log-messages", "HEADROOM_LOG_MESSAGES", T_BOOL, OFF(log_messages), 0,
     "also log request bodies (off; never headers or credentials)"},
    {"--graceful-shutdown-timeout", "HEADROOM_GRACEFUL_SHUTDOWN_TIMEOUT", T_INT,
     OFF(graceful_shutdown_timeout_s), 0, "seconds to finish in-flight requests on SIGTERM (30)"},
    {"--upstream-timeout", "HEADROOM_UPSTREAM_TIMEOUT", T_SECONDS_MS, OFF(upstream_timeout_ms), 0,
     "seconds without a byte from upstream before giving up: 504 (600)"},
    {"--connect-timeout", "HEADROOM_CONNECT_TIMEOUT", T_SECONDS_MS, OFF(connect_timeout_ms), 0,
     "seconds to connect upstream before 502 (10)"},
    {"--retry-attempts", "HEADROOM_RETRY_ATTEMPTS", T_INT, OFF(retry_attempts), 0,
     "attempts on connect errors and 5xx, never 4xx (3)"},
    {"--retry-base-ms", "HEADROOM_RETRY_BASE_MS", T_INT, OFF(retry_base_ms), 0,
     "first backoff; doubles, capped at 30000, jittered x U(0.5,1.5) (1000)"},
    {"--limit-concurrency", "HEADROOM_LIMIT_CONCURRENCY", T_INT, OFF(max_connections), 0,
     "simultaneous client connections; more get 503 at once (4096)"},
    {"--idle-timeout", "HEADROOM_IDLE_TIMEOUT", T_INT, OFF(idle_timeout_s), 0,
     "seconds before an idle keep-alive connection is closed (300)"},
    {"--max-connections-per-address", "HEADROOM_MAX_CONNECTIONS_PER_ADDRESS", T_INT,
     OFF(max_connections_per_address), 0,
     "open connections from one client address; more get 429 at once (1024; 0 = no limit)"},
    {"--client-header-timeout", "HEADROOM_CLIENT_HEADER_TIMEOUT", T_SECONDS_MS,
     OFF(client_header_timeout_ms), 0,
     "seconds for a whole request head, from its first byte, before 408 (10)"},
    {"--client-body-timeout", "HEADROOM_CLIENT_BODY_TIMEOUT", T_SECONDS_MS,
     OFF(client_body_timeout_ms), 0, "seconds for a whole request body before 408 (120)"},
    {"--no-ccr-inject-tool", "HEADROOM_NO_CCR_INJECT_TOOL", T_BOOL, OFF(no_ccr_tool), 0,
     "never offer the headroom_retrieve tool: compression only (the original's flag)"},
    {"--upstream-ca-file", "HEADROOM_UPSTREAM_CA_FILE", T_STR, OFF(upstream_ca_file),
     SZ(upstream_ca_file), "PEM CA bundle to verify upstream TLS with (system bundle)"},
};

#define N_OPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

void hr_proxy_config_defaults(hr_proxy_config *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->host, "127.0.0.1");
    c->port = 8787;
    strcpy(c->openai_url, "https://api.openai.com");
    strcpy(c->anthropic_url, "https://api.anthropic.com");
    strcpy(c->chatgpt_url, "https://chatgpt.com/backend-api/codex");
    strcpy(c->gemini_url, "https://generativelanguage.googleapis.com");
    c->max_body_bytes = (size_t)100 << 20;
    c->max_inflight_body_mb = 512;
    c->max_decode_ratio = 1000;
    c->max_answer_bytes = (size_t)64 << 20;
    c->log_format = HR_LOG_TEXT;
    c->log_level = HR_LOG_INFO;
    c->graceful_shutdown_timeout_s = 30;
    c->upstream_timeout_ms = 600000;
    c->connect_timeout_ms = 10000;
    c->retry_attempts = 3;
    c->retry_base_ms = 1000;
    c->retry_max_ms = 30000;
    c->max_connections = 4096;
    c->idle_timeout_s = 300;
    c->max_connections_per_address = 1024;
    c->client_header_timeout_ms = 10000;
    c->client_body_timeout_ms = 120000;
    hr_pipeline_config_default(&c->pipeline);
    hr_ccr_config_default(&c->ccr);
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

static int apply(hr_proxy_config *c, const option *o, const char *v, const char *source,
                 char *err, size_t errlen)
{
    char *field = (char *)c + o->offset;
    long n;
    int ok = 0;
    switch (o->type) {
    case T_STR:
        ok = strlen(v) < o->size && *v;
        if (ok)
            strcpy(field, v);
        break;
    case T_URL:
        ok = hr_normalize_upstream_url(v, field, o->size) == 0;
        break;
    case T_ORIGINS: /* its own error names the bad entry */
        if (strlen(v) >= o->size || hr_base_url_allowlist_check(v, err, errlen) != 0) {
            if (strlen(v) >= o->size)
                snprintf(err, errlen, "%s: the list is longer than %zu bytes", source, o->size - 1);
            return -1;
        }
        strcpy(field, v);
        return 0;
    case T_INT:
        ok = hr_parse_long(v, 0, 1000000000L, &n) == 0;
        if (ok && o->offset == OFF(port))
            ok = n <= 65535;
        if (ok && o->offset == OFF(retry_attempts))
            ok = n >= 1 && n <= 20;
        if (ok && o->offset == OFF(max_connections))
            ok = n >= 1;
        if (ok) {
            if (o->offset == OFF(retry_base_ms) || o->offset == OFF(max_inflight_body_mb) ||
                o->offset == OFF(memory_budget_mb) ||
                o->offset == OFF(max_decode_ratio))
                *(long *)field = n;
            else if (o->offset == OFF(max_connections) || o->offset == OFF(idle_timeout_s) ||
                     o->offset == OFF(max_connections_per_address))
                *(unsigned *)field = (unsigned)n;
            else
                *(int *)field = (int)n;
        }
        break;
    case T_SECONDS_MS: {
        double s;
        ok = hr_parse_double(v, &s) == 0 && s > 0 && s <= 86400;
        if (ok)
            *(long *)field = (long)(s * 1000.0 + 0.5);
        break;
    }
    case T_SIZE: {
        uint64_t s;
        ok = hr_parse_u64(v, SIZE_MAX, &s) == 0 && s > 0;
        if (ok)
            *(size_t *)field = (size_t)s;
        break;
    }
    case T_BOOL:
        ok = hr_parse_bool(v, (int *)field) == 0;
        break;
    case T_LOGFMT:
        ok = hr_log_format_parse(v, (hr_log_format *)field) == 0;
        break;
    case T_LOGLVL:
        ok = hr_log_level_parse(v, (hr_log_level *)field) == 0;
        break;
    }
    if (!ok) { /* the value may be a URL with credentials: shown masked, like everywhere */
        hr_buf shown = HR_BUF_INIT;
        int masked = hr_log_redact(v, &shown) == 0 && shown.data;
        snprintf(err, errlen, "invalid value '%s' for %s", masked ? shown.data : "(not shown)",
                 source);
        hr_buf_free(&shown);
    }
    return ok ? 0 : -1;
}

int hr_proxy_config_from_env(hr_proxy_config *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const char *v = getenv(OPTIONS[i].env);
        if (v && *v && apply(c, &OPTIONS[i], v, OPTIONS[i].env, err, errlen) != 0)
            return -1;
    }
    if (hr_pipeline_config_from_env(&c->pipeline, err, errlen) != 0)
        return -1;
    return hr_ccr_config_from_env(&c->ccr, err, errlen);
}

int hr_proxy_config_from_args(hr_proxy_config *c, int argc, char **argv, char *err,
                              size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return 1;
        const option *o = NULL;
        const char *value = NULL;
        for (size_t k = 0; k < N_OPTIONS && !o; k++) {
            size_t fl = strlen(OPTIONS[k].flag);
            if (strncmp(a, OPTIONS[k].flag, fl) != 0)
                continue;
            if (a[fl] == '=') {
                o = &OPTIONS[k];
                value = a + fl + 1;
            } else if (a[fl] == 0) {
                o = &OPTIONS[k];
            }
        }
        if (!o) {
            int rc = hr_pipeline_config_arg(&c->pipeline, argc, argv, &i, err, errlen);
            if (rc == 0)
                rc = hr_ccr_config_arg(&c->ccr, argc, argv, &i, err, errlen);
            if (rc == 1)
                continue;
            if (rc == 0)
                snprintf(err, errlen, "unknown option '%s' (see headroom proxy --help)", a);
            return -1;
        }
        if (!value && o->type == T_BOOL) {
            value = "true";
        } else if (!value) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "%s needs a value", o->flag);
                return -1;
            }
            value = argv[++i];
        }
        if (apply(c, o, value, o->flag, err, errlen) != 0)
            return -1;
    }
    return 0;
}

void hr_proxy_config_usage(FILE *out)
{
    fprintf(out, "usage: headroom proxy [options]\n\n"
                 "Runs the compression proxy. Options (flag, environment variable):\n");
    for (size_t i = 0; i < N_OPTIONS; i++)
        fprintf(out, "  %-30s %-36s\n      %s\n", OPTIONS[i].flag, OPTIONS[i].env, OPTIONS[i].help);
    fprintf(out, "  %-30s\n      this help\n\n", "--help");
    fprintf(out, "Compression options (docs/compression.md), also as flags here:\n"
                 "  --mode token|cache (HEADROOM_MODE), --compression-deadline-ms MS,\n"
                 "  --exclude-tools LIST (merged with Read,Glob,Grep,Write,Edit,...; globs),\n"
                 "  --protect-tool-results LIST, --min-bytes N, --max-ratio R, --max-items N\n"
                 "Kompress, the ModernBERT prose compressor (docs/compressors.md):\n"
                 "  --kompress-model PATH|off (HEADROOM_KOMPRESS_MODEL; <data dir>/models/kompress.hrm\n"
                 "      when present), --kompress-min-bytes N (2048), --kompress-code on|off (off),\n"
                 "  --kompress-ratio R (0 = the model's 0.5 threshold)\n"
                 "Hybrid relevance (SmartCrusher, search, CCR queries; docs/configuration.md):\n"
                 "  --embed-model PATH|off (HEADROOM_EMBED_MODEL; none = lexical BM25 only),\n"
                 "  --embed-max-items N (32), --embed-deadline-ms MS (300) per ranking\n");
    fprintf(out, "\nCCR store options (docs/ccr.md; originals behind markers):\n"
                 "  --ccr-backend sqlite|memory|redis (HEADROOM_CCR_BACKEND; sqlite)\n"
                 "  --data-dir DIR (HEADROOM_DATA_DIR; $XDG_DATA_HOME/headroom, else ~/.headroom;\n"
                 "      also where the token counter finds its rank files)\n"
                 "  --ccr-ttl SECONDS (HEADROOM_CCR_TTL; 1800)\n"
                 "  --ccr-max-bytes N (512 MiB sqlite, 64 MiB memory)\n"
                 "  --redis-url URL (HEADROOM_REDIS_URL; redis://127.0.0.1:6379/0)\n");
    fprintf(out, "\nSavings statistics (docs/stats.md; kept in <data dir>/stats.sqlite3):\n"
                 "  HEADROOM_STATS_FLUSH_S (10), HEADROOM_STATS_RETENTION_DAYS (30),\n"
                 "  HEADROOM_PRICING_FILE (your prices, before data/pricing.tsv),\n"
                 "  HEADROOM_DASHBOARD_PUBLIC=1 (/dashboard beyond loopback clients)\n");
    fprintf(out, "\nThe Python original's flags and variables are accepted too: mapped to the\n"
                 "above or, without a meaning here, named in one warning (docs/configuration.md;\n"
                 "`headroom proxy --compat-table` prints the table).\n");
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
