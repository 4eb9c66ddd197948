/* config_compat.c: the original's proxy flags and variables as aliases of ours (see
 * config_compat.h). Every original name is one row of ROWS; translation, the start-up
 * warning and the docs table are all derived from it. */
#include "proxy/config_compat.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/config.h"
#include "sys/buf.h"

typedef struct compat_row {
    const char *flag;         /* the original's flag, or NULL for a variable only */
    const char *alt;          /* its other spelling (-p, the --no-/--enable- form), or NULL */
    const char *env;          /* the original's variable, or NULL */
    const char *ours;         /* our flag it becomes; NULL: accepted, warned, no effect */
    const char *fixed;        /* value given to `ours` for a boolean flag; NULL: its value */
    unsigned char value;      /* 1: the original's flag takes a value */
    const char *note;         /* why, for the docs table */
} compat_row;

/* Passthrough for --no-optimize: no tool output reaches this size (bodies are capped at
 * --max-body-bytes), so nothing is compressed, marked or offered a retrieval tool. */
#define NO_OPTIMIZE_MIN_BYTES "1073741824"

static const compat_row ROWS[] = {
    /* listening and connections */
    {"--host", NULL, "HEADROOM_HOST", "--host", NULL, 1, NULL},
    {"--port", "-p", "HEADROOM_PORT", "--port", NULL, 1, NULL},
    {"--limit-concurrency", NULL, "HEADROOM_LIMIT_CONCURRENCY", "--limit-concurrency", NULL, 1,
     "simultaneous client connections (ours defaults to 4096)"},
    {"--max-connections", NULL, "HEADROOM_MAX_CONNECTIONS", NULL, NULL, 1,
     "the original's upstream pool size; upstream connections here follow client requests"},
    {"--max-keepalive", NULL, "HEADROOM_MAX_KEEPALIVE", NULL, NULL, 1,
     "idle upstream connections are capped per worker thread"},
    {"--keepalive-expiry", NULL, "HEADROOM_KEEPALIVE_EXPIRY", NULL, NULL, 1,
     "libcurl's connection cache expires idle connections"},
    {"--workers", NULL, "HEADROOM_WORKERS", NULL, NULL, 1,
     "one process, one thread per connection"},
    /* compression */
    {"--mode", NULL, "HEADROOM_MODE", "--mode", NULL, 1,
     "legacy values token_mode, token_savings, token_headroom, cache_mode, cost_savings too"},
    {"--no-optimize", NULL, NULL, "--min-bytes", NO_OPTIMIZE_MIN_BYTES, 0,
     "passthrough: no tool output is compressed"},
    {"--target-ratio", NULL, "HEADROOM_TARGET_RATIO", "--kompress-ratio", NULL, 1,
     "Kompress keeps that share of each chunk's words"},
    {"--intercept-tool-results", NULL, NULL, NULL, NULL, 0, "no ast-grep interceptors"},
    {"--code-aware", "--no-code-aware", "HEADROOM_CODE_AWARE_ENABLED", NULL, NULL, 0,
     "no tree-sitter code compressor"},
    {"--disable-kompress", NULL, "HEADROOM_DISABLE_KOMPRESS", "--kompress-model", "off", 0,
     "Kompress off: prose goes to the text compressor"},
    {"--disable-kompress-fallback", NULL, "HEADROOM_DISABLE_KOMPRESS_FALLBACK", NULL, NULL, 0,
     "Kompress always fails open to the text compressor"},
    {"--disable-kompress-anthropic", "--enable-kompress-anthropic",
     "HEADROOM_DISABLE_KOMPRESS_ANTHROPIC", NULL, NULL, 0,
     "Kompress is on or off for every provider (--kompress-model)"},
    {"--disable-kompress-openai", "--enable-kompress-openai", "HEADROOM_DISABLE_KOMPRESS_OPENAI",
     NULL, NULL, 0, "Kompress is on or off for every provider (--kompress-model)"},
    {"--code-graph", NULL, NULL, NULL, NULL, 0, "no codebase-memory-mcp indexer"},
    {"--no-read-lifecycle", NULL, NULL, NULL, NULL, 0,
     "Read outputs are excluded from compression here"},
    {"--read-maturation", NULL, "HEADROOM_READ_MATURATION", NULL, NULL, 0,
     "Read outputs are excluded from compression here"},
    {"--read-maturation-quiesce-turns", NULL, "HEADROOM_READ_MATURATION_QUIESCE_TURNS", NULL,
     NULL, 1, "as --read-maturation"},
    {"--read-maturation-max-hold-turns", NULL, "HEADROOM_READ_MATURATION_MAX_HOLD_TURNS", NULL,
     NULL, 1, "as --read-maturation"},
    {"--read-maturation-min-size-bytes", NULL, "HEADROOM_READ_MATURATION_MIN_SIZE_BYTES", NULL,
     NULL, 1, "as --read-maturation"},
    {"--exclude-tools", NULL, "HEADROOM_EXCLUDE_TOOLS", "--exclude-tools", NULL, 1,
     "merged with the defaults, case-insensitive, glob patterns"},
    {"--protect-tool-results", NULL, "HEADROOM_PROTECT_TOOL_RESULTS", "--protect-tool-results",
     NULL, 1, "these tools' outputs are never compressed"},
    {NULL, NULL, "HEADROOM_MAX_ITEMS", "--max-items", NULL, 1,
     "items SmartCrusher keeps from a JSON array"},
    {NULL, NULL, "HEADROOM_MIN_TOKENS", NULL, NULL, 1,
     "threshold in tokens; ours is --min-bytes (HEADROOM_MIN_BYTES)"},
    {NULL, NULL, "HEADROOM_COMPRESS_USER_MESSAGES", NULL, NULL, 1,
     "user-typed text is never compressed"},
    {NULL, NULL, "HEADROOM_COMPRESS_SYSTEM_MESSAGES", NULL, NULL, 1,
     "system prompts are never compressed"},
    {NULL, NULL, "HEADROOM_SMART_CRUSHER_COMPACTION", NULL, NULL, 1, "no compaction variant"},
    {NULL, NULL, "HEADROOM_SAVINGS_PROFILE", NULL, NULL, 1, "one profile"},
    {NULL, NULL, "HEADROOM_PROTECT_RECENT", NULL, NULL, 1,
     "token mode replays earlier turns byte for byte"},
    {NULL, NULL, "HEADROOM_PROTECT_ANALYSIS_CONTEXT", NULL, NULL, 1, "no analysis context"},
    {NULL, NULL, "HEADROOM_ACCURACY_GUARD", NULL, NULL, 1,
     "every result must beat --max-ratio"},
    {NULL, NULL, "HEADROOM_COMPRESSION_STABLE_AFTER_TURN", NULL, NULL, 1,
     "token mode keeps earlier turns stable from the first"},
    {NULL, NULL, "HEADROOM_STALE_READ_COMPRESS_AFTER_TURNS", NULL, NULL, 1,
     "Read outputs are excluded"},
    /* CCR */
    {"--no-ccr-inject-tool", NULL, "HEADROOM_NO_CCR_INJECT_TOOL", "--no-ccr-inject-tool", NULL, 0, "compression only; originals stay retrievable by /v1/retrieve, CLI and MCP"},
    {"--no-ccr-marker", NULL, "HEADROOM_NO_CCR_MARKER", NULL, NULL, 0,
     "the marker is what makes compression reversible"},
    {"--no-ccr-proactive-expansion", NULL, "HEADROOM_NO_CCR_PROACTIVE_EXPANSION", NULL, NULL, 0, "no proactive expansion"},
    {NULL, NULL, "HEADROOM_CCR_TTL_SECONDS", "--ccr-ttl", NULL, 1, NULL},
    {"--stateless", NULL, "HEADROOM_STATELESS", "--ccr-backend", "memory", 0,
     "no filesystem writes: originals kept in memory"},
    {NULL, NULL, "HEADROOM_WORKSPACE_DIR", "--data-dir", NULL, 1,
     "the original's read-write state root"},
    /* upstream */
    {"--openai-api-url", NULL, "OPENAI_TARGET_API_URL", "--openai-api-url", NULL, 1, NULL},
    {"--anthropic-api-url", NULL, "ANTHROPIC_TARGET_API_URL", "--anthropic-api-url", NULL, 1,
     NULL},
    {"--gemini-api-url", NULL, "GEMINI_TARGET_API_URL", "--gemini-api-url", NULL, 1, NULL},
    {"--cloudcode-api-url", NULL, "CLOUDCODE_TARGET_API_URL", NULL, NULL, 1,
     "no Cloud Code route"},
    {"--vertex-api-url", NULL, "VERTEX_TARGET_API_URL", "--vertex-api-url", NULL, 1, NULL},
    {"--bedrock-api-url", NULL, "BEDROCK_TARGET_API_URL", "--bedrock-api-url", NULL, 1, NULL},
    {"--backend", NULL, "HEADROOM_BACKEND", NULL, NULL, 1,
     "Anthropic and OpenAI directly (their *_TARGET_API_URL for a gateway)"},
    {"--anyllm-provider", NULL, "HEADROOM_ANYLLM_PROVIDER", NULL, NULL, 1, "as --backend"},
    {"--region", NULL, "HEADROOM_REGION", NULL, NULL, 1, "as --backend"},
    {"--bedrock-region", NULL, NULL, "--bedrock-region", NULL, 1, NULL},
    {"--bedrock-profile", NULL, NULL, "--bedrock-profile", NULL, 1, NULL},
    {"--retry-max-attempts", NULL, "HEADROOM_RETRY_MAX_ATTEMPTS", "--retry-attempts", NULL, 1,
     NULL},
    {"--request-timeout-seconds", NULL, "HEADROOM_REQUEST_TIMEOUT", "--upstream-timeout", NULL, 1, "ours: seconds without a byte from the upstream"},
    {"--connect-timeout-seconds", NULL, "HEADROOM_CONNECT_TIMEOUT_SECONDS", "--connect-timeout",
     NULL, 1, NULL},
    {"--anthropic-buffered-request-timeout-seconds", NULL,
     "HEADROOM_ANTHROPIC_BUFFERED_REQUEST_TIMEOUT_SECONDS", NULL, NULL, 1,
     "one upstream timeout for every request (--upstream-timeout)"},
    {"--anthropic-pre-upstream-concurrency", NULL, "HEADROOM_ANTHROPIC_PRE_UPSTREAM_CONCURRENCY",
     NULL, NULL, 1, "no pre-upstream semaphore: compression has a deadline instead"},
    {"--anthropic-pre-upstream-acquire-timeout-seconds", NULL,
     "HEADROOM_ANTHROPIC_PRE_UPSTREAM_ACQUIRE_TIMEOUT_SECONDS", NULL, NULL, 1,
     "as --anthropic-pre-upstream-concurrency"},
    {"--anthropic-pre-upstream-memory-context-timeout-seconds", NULL,
     "HEADROOM_ANTHROPIC_PRE_UPSTREAM_MEMORY_CONTEXT_TIMEOUT_SECONDS", NULL, NULL, 1,
     "no memory context"},
    {"--no-subscription-tracking", NULL, "HEADROOM_NO_SUBSCRIPTION_TRACKING", NULL, NULL, 0,
     "no subscription poller"},
    {"--subscription-poll-interval", NULL, "HEADROOM_SUBSCRIPTION_POLL_INTERVAL", NULL, NULL, 1, "no subscription poller"},
    /* logging */
    {"--log-file", NULL, "HEADROOM_LOG_FILE", "--log-file", NULL, 1,
     "our log lines (one per request) appended to the file"},
    {"--log-messages", NULL, "HEADROOM_LOG_MESSAGES", "--log-messages", NULL, 0, NULL},
    {"--codex-wire-debug", NULL, NULL, NULL, NULL, 0, "no Codex wire snapshots"},
    {"--codex-wire-debug-dir", NULL, NULL, NULL, NULL, 1, "no Codex wire snapshots"},
    /* features the original has and this proxy does not */
    {"--no-cache", NULL, NULL, NULL, NULL, 0, "no semantic response cache"},
    {"--no-rate-limit", NULL, NULL, NULL, NULL, 0, "no rate limiting"},
    {"--rpm", NULL, "HEADROOM_RPM", NULL, NULL, 1, "no rate limiting"},
    {"--tpm", NULL, "HEADROOM_TPM", NULL, NULL, 1, "no rate limiting"},
    {"--budget", NULL, "HEADROOM_BUDGET", NULL, NULL, 1, "no spending limit"},
    {"--budget-period", NULL, "HEADROOM_BUDGET_PERIOD", NULL, NULL, 1, "no spending limit"},
    {"--proxy-extension", NULL, "HEADROOM_PROXY_EXTENSIONS", NULL, NULL, 1,
     "no Python entry points"},
    {"--memory", NULL, NULL, NULL, NULL, 0, "no persistent memory"},
    {"--memory-db-path", NULL, "HEADROOM_MEMORY_DB_PATH", NULL, NULL, 1, "as --memory"},
    {"--memory-storage", NULL, NULL, NULL, NULL, 1, "as --memory"},
    {"--memory-project-root", NULL, "HEADROOM_MEMORY_PROJECT_ROOT", NULL, NULL, 1,
     "as --memory"},
    {"--no-memory-tools", NULL, "HEADROOM_NO_MEMORY_TOOLS", NULL, NULL, 0, "as --memory"},
    {"--no-memory-context", NULL, "HEADROOM_NO_MEMORY_CONTEXT", NULL, NULL, 0, "as --memory"},
    {"--memory-top-k", NULL, "HEADROOM_MEMORY_TOP_K", NULL, NULL, 1, "as --memory"},
    {"--memory-qdrant-url", NULL, "HEADROOM_QDRANT_URL", NULL, NULL, 1, "as --memory"},
    {"--memory-qdrant-host", NULL, "HEADROOM_QDRANT_HOST", NULL, NULL, 1, "as --memory"},
    {"--memory-qdrant-port", NULL, "HEADROOM_QDRANT_PORT", NULL, NULL, 1, "as --memory"},
    {"--memory-qdrant-api-key", NULL, "HEADROOM_QDRANT_API_KEY", NULL, NULL, 1, "as --memory"},
    {"--learn", NULL, NULL, NULL, NULL, 0, "no traffic learning"},
    {"--no-learn", NULL, NULL, NULL, NULL, 0, "no traffic learning"},
    {"--min-evidence", NULL, "HEADROOM_MIN_EVIDENCE", NULL, NULL, 1, "no traffic learning"},
    {"--telemetry", NULL, NULL, NULL, NULL, 0, "no telemetry is ever sent"},
    {"--no-telemetry", NULL, "HEADROOM_TELEMETRY", NULL, NULL, 0, "no telemetry is ever sent"},
    {"--embedding-server", "--no-embedding-server", "HEADROOM_EMBEDDING_SERVER", NULL, NULL, 0,
     "the embedder runs in the ML session helper"},
    {"--embedding-server-socket", NULL, "HEADROOM_EMBEDDING_SERVER_SOCKET", NULL, NULL, 1,
     "as --embedding-server"},
    /* variables the original reads outside its flags */
    {NULL, NULL, "HEADROOM_LICENSE_KEY", NULL, NULL, 1, "no managed mode"},
    {NULL, NULL, "HEADROOM_AGENT_TYPE", NULL, NULL, 1, "no traffic learning"},
    {NULL, NULL, "HEADROOM_CONFIG_DIR", NULL, NULL, 1, "no models.json; see --data-dir"},
    {NULL, NULL, "HEADROOM_MODEL_LIMITS", NULL, NULL, 1, "no context-limit table"},
    {NULL, NULL, "HEADROOM_SAVINGS_PATH", NULL, NULL, 1, "savings are in /stats"},
    {NULL, NULL, "HEADROOM_TOIN_PATH", NULL, NULL, 1, "no TOIN telemetry"},
    {NULL, NULL, "HEADROOM_DETACHED_PROFILE", NULL, NULL, 1, "no detached mode"},
    {NULL, NULL, "HEADROOM_STRIP_INTERNAL_HEADERS", NULL, NULL, 1,
     "x-headroom-* request headers are always stripped"},
    {NULL, NULL, "HEADROOM_PROXY_STRIP_INTERNAL_HEADERS", NULL, NULL, 1,
     "as HEADROOM_STRIP_INTERNAL_HEADERS"},
    {NULL, NULL, "HEADROOM_TLS_STRICT", NULL, NULL, 1,
     "TLS is always verified; a private CA goes in --upstream-ca-file"},
    {NULL, NULL, "HEADROOM_CONTEXT_TOOL", NULL, NULL, 1, "wrap installs no rtk / lean-ctx"},
};

#define N_ROWS (sizeof ROWS / sizeof ROWS[0])

static int truthy(const char *v)
{
    return !strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
           !strcasecmp(v, "on");
}

typedef struct builder {
    char **argv;
    int argc, cap;
    hr_buf ignored;
    int oom;
} builder;

static void push(builder *b, const char *s)
{
    if (b->oom)
        return;
    if (b->argc + 2 > b->cap) {
        int cap = b->cap ? b->cap * 2 : 16;
        char **n = realloc(b->argv, (size_t)cap * sizeof *n);
        if (!n) {
            b->oom = 1;
            return;
        }
        b->argv = n;
        b->cap = cap;
    }
    char *copy = strdup(s);
    if (!copy) {
        b->oom = 1;
        return;
    }
    b->argv[b->argc++] = copy;
    b->argv[b->argc] = NULL;
}

static void note_ignored(builder *b, const char *name)
{
    /* each name once, even when both the flag and its variable are given */
    size_t n = strlen(name);
    for (const char *p = b->ignored.data; p && (p = strstr(p, name)); p += n)
        if ((p == b->ignored.data || p[-1] == ' ') && (p[n] == ',' || p[n] == 0))
            return;
    if (b->ignored.len && hr_buf_puts(&b->ignored, ", ") != 0)
        b->oom = 1;
    if (hr_buf_puts(&b->ignored, name) != 0)
        b->oom = 1;
}

/* 1 when one of our setting rows reads env under this very name already. */
static int ours_reads(const char *env)
{
    const hr_setting_row *r = hr_proxy_setting_named(env);
    return r && !strcmp(r->env, env);
}

int hr_proxy_compat_check(char *err, size_t errlen)
{
    for (size_t i = 0; i < N_ROWS; i++) {
        const hr_setting_row *r = ROWS[i].ours ? hr_proxy_setting_named(ROWS[i].ours) : NULL;
        if (ROWS[i].ours && !(r && r->flag && !strcmp(r->flag, ROWS[i].ours))) {
            snprintf(err, errlen, "%s maps to %s, which is no setting's flag",
                     ROWS[i].flag ? ROWS[i].flag : ROWS[i].env, ROWS[i].ours);
            return -1;
        }
    }
    return 0;
}

/* The original's variables that are not ours: become flags placed before the user's. */
static void from_env(builder *b)
{
    for (size_t i = 0; i < N_ROWS; i++) {
        const compat_row *r = &ROWS[i];
        const char *v = r->env ? getenv(r->env) : NULL;
        if (!v || !*v || ours_reads(r->env))
            continue;
        if (!r->value && !truthy(v))
            continue; /* a boolean switched off is the default */
        if (!r->ours) {
            note_ignored(b, r->env);
            continue;
        }
        push(b, r->ours);
        push(b, r->fixed ? r->fixed : v);
    }
}

static const compat_row *find_row(const char *arg, const char **inline_value)
{
    for (size_t i = 0; i < N_ROWS; i++) {
        const char *names[2] = {ROWS[i].flag, ROWS[i].alt};
        for (int k = 0; k < 2; k++) {
            size_t n = names[k] ? strlen(names[k]) : 0;
            if (!n || strncmp(arg, names[k], n) != 0)
                continue;
            if (arg[n] == 0 || (arg[n] == '=' && ROWS[i].value)) {
                *inline_value = arg[n] == '=' ? arg + n + 1 : NULL;
                return &ROWS[i];
            }
        }
    }
    return NULL;
}

static int from_args(builder *b, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        const compat_row *r = find_row(argv[i], &v);
        if (!r) {
            push(b, argv[i]); /* ours, or unknown: our parser decides */
            continue;
        }
        if (r->value && !v) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "%s needs a value", argv[i]);
                return -1;
            }
            v = argv[++i];
        }
        if (!r->ours) {
            note_ignored(b, r->flag);
            continue;
        }
        push(b, r->ours);
        if (r->fixed)
            push(b, r->fixed);
        else if (v)
            push(b, v);
    }
    return 0;
}

int hr_proxy_compat_args(int argc, char **argv, hr_compat_args *out, char *err, size_t errlen)
{
    builder b = {0};
    memset(out, 0, sizeof *out);
    push(&b, argc > 0 ? argv[0] : "proxy");
    from_env(&b);
    int rc = from_args(&b, argc, argv, err, errlen);
    out->argc = b.argc;
    out->argv = b.argv;
    out->ignored = b.ignored.len ? hr_buf_steal(&b.ignored, NULL) : NULL;
    hr_buf_free(&b.ignored);
    if (b.oom) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    if (rc != 0)
        hr_proxy_compat_free(out);
    return rc;
}

void hr_proxy_compat_free(hr_compat_args *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
    free(a->argv);
    free(a->ignored);
    memset(a, 0, sizeof *a);
}

void hr_proxy_compat_table(FILE *out)
{
    fprintf(out, "| original flag | original variable | here | status |\n|---|---|---|---|\n");
    for (size_t i = 0; i < N_ROWS; i++) {
        const compat_row *r = &ROWS[i];
        fputs("| ", out);
        if (r->flag)
            fprintf(out, "`%s`", r->flag);
        if (r->alt)
            fprintf(out, " / `%s`", r->alt);
        fputs(" | ", out);
        if (r->env)
            fprintf(out, "`%s`", r->env);
        fputs(" | ", out);
        if (r->ours)
            fprintf(out, "`%s%s%s`", r->ours, r->fixed ? " " : "", r->fixed ? r->fixed : "");
        const char *status = !r->ours                                   ? "accepted, no effect"
                             : r->flag && !strcmp(r->flag, r->ours) ? "same"
                                                                      : "mapped";
        fprintf(out, " | %s%s%s |\n", status, r->note ? ": " : "", r->note ? r->note : "");
    }
}
