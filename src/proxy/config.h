/* config.h: the proxy's settings, from defaults, then environment, then command-line flags
 * (later wins). Each setting is one row (sys/settings.h): the proxy's own in config.c, the
 * pipeline's in compress/policy.c, the CCR store's in ccr/store.c; defaults, variables,
 * flags, hr_proxy_config_usage (--help) and the docs/configuration.md tables (checked by
 * tests/unit/test_proxy_config.c) all come from those rows.
 *
 * The running proxy keeps one read-only copy (hr_proxy_config_current, set by hr_proxy_run)
 * so handlers can read settings without a global they could write.
 */
#ifndef HR_PROXY_CONFIG_H
#define HR_PROXY_CONFIG_H

#include "ccr/store.h"
#include "compress/images.h"
#include "compress/policy.h"
#include "ml/settings.h"
#include "proxy/savings.h"
#include "sys/log.h"
#include "sys/settings.h"

#include <stddef.h>
#include <stdio.h>

typedef struct hr_proxy_config {
    char host[256];
    int port;
    char openai_url[1024];      /* normalized: no trailing '/' or "/v1" */
    char anthropic_url[1024];
    char chatgpt_url[1024];     /* ChatGPT's Codex backend (codex.h), same normalization */
    char bedrock_url[1024];     /* "" = https://bedrock-runtime.{region}.amazonaws.com */
    char bedrock_region[64];    /* "" = AWS_REGION, AWS_DEFAULT_REGION, the profile's */
    char bedrock_profile[128];  /* "" = the environment's credentials, else AWS_PROFILE */
    char gemini_url[1024];      /* Gemini API (generativelanguage.googleapis.com) */
    char vertex_url[1024];      /* "" = from the request's locations/{l} (hr_api_vertex_base) */
    char azure_url[1024];       /* "" = none configured: Azure paths answer 502 */
    char allow_base_urls[2048]; /* origins x-headroom-base-url may name (http/base_url.h);
                                   "" = none */
    size_t max_body_bytes;
    long memory_budget_mb;      /* --memory-budget-mb: 0 = none (backpressure.h) */
    int low_memory;             /* the low-memory profile set the defaults (low_memory.h) */
    long max_inflight_body_mb;  /* process-wide budget for bodies, decoded bodies and held
                                   answers in flight (sys/budget.h); 0 = unlimited */
    long max_decode_ratio;      /* decoded/encoded bytes above 1 MiB of output; 0 = off */
    size_t max_answer_bytes;    /* a buffered upstream answer, or what a stream holds back
                                   to resolve headroom_retrieve */
    hr_log_format log_format;
    hr_log_level log_level;
    int log_messages;           /* log request bodies (off by default) */
    char log_file[1024];        /* "" = stderr; else the log lines are appended here */
    int no_ccr_tool;            /* never offer headroom_retrieve (compression only; markers
                                   stay, originals stay retrievable by route, CLI and MCP) */
    int graceful_shutdown_timeout_s;
    long upstream_timeout_ms;   /* idle: waiting for headers or between body bytes */
    long connect_timeout_ms;
    int retry_attempts;         /* total attempts, >= 1 */
    long retry_base_ms;         /* backoff: min(base * 2^n, max) * U(0.5, 1.5) */
    long retry_max_ms;
    unsigned max_connections;
    unsigned idle_timeout_s;    /* keep-alive connections idle this long are closed */
    unsigned max_connections_per_address; /* 0 = no limit */
    long client_header_timeout_ms; /* the whole request head, from its first byte */
    long client_body_timeout_ms;   /* the whole request body, after the head */
    long ws_idle_timeout_ms;       /* a WebSocket session with no frame either way this long
                                      is closed (1001) */
    char upstream_ca_file[1024]; /* PEM CA bundle for upstream TLS; "" = the system's */
    hr_pipeline_config pipeline; /* compression settings (--mode, ...; compress/policy.h),
                                    handed to hr_pipeline_configure before serving */
    hr_ccr_config ccr;          /* CCR store settings (--ccr-backend, --data-dir, ...;
                                   ccr/store.h), opened by hr_proxy_run before serving;
                                   its strings are borrowed from argv / the environment */
    hr_savings_config savings;  /* statistics and dashboard (variables only; savings.h) */
    hr_image_config images;     /* the image stage (variables only; compress/images.h), set
                                   for the process by hr_proxy_run before serving */
    hr_ml_config ml;            /* the ML runtime (variables only; ml/settings.h), set for
                                   the process by hr_proxy_run before any thread */
} hr_proxy_config;

/* The proxy's own settings, one row each (config.c); the pipeline's and the CCR store's
 * are their own tables (hr_pipeline_settings, hr_ccr_settings). */
extern const hr_setting_table hr_proxy_settings;

/* Every table `headroom proxy` reads, in --help's order: its own, the pipeline's, the CCR
 * store's, the statistics', the images', the ML runtime's. */
const hr_setting_table *const *hr_proxy_setting_tables(size_t *n);
/* The row of any of those tables whose flag or variable is name; NULL if none. */
const hr_setting_row *hr_proxy_setting_named(const char *name);

void hr_proxy_config_defaults(hr_proxy_config *c);
/* Applies HEADROOM_HOST, HEADROOM_PORT, OPENAI_TARGET_API_URL, ANTHROPIC_TARGET_API_URL,
 * HEADROOM_MAX_BODY_BYTES, HEADROOM_MAX_INFLIGHT_BODY_MB, HEADROOM_MAX_DECODE_RATIO,
 * HEADROOM_MAX_ANSWER_BYTES, HEADROOM_LOG_FORMAT, HEADROOM_LOG_LEVEL, HEADROOM_LOG_MESSAGES,
 * HEADROOM_GRACEFUL_SHUTDOWN_TIMEOUT, HEADROOM_UPSTREAM_TIMEOUT, HEADROOM_CONNECT_TIMEOUT,
 * HEADROOM_RETRY_ATTEMPTS, HEADROOM_RETRY_BASE_MS, HEADROOM_LIMIT_CONCURRENCY, HEADROOM_LOG_FILE,
 * HEADROOM_NO_CCR_INJECT_TOOL, HEADROOM_IDLE_TIMEOUT, HEADROOM_MAX_CONNECTIONS_PER_ADDRESS,
 * HEADROOM_CLIENT_HEADER_TIMEOUT, HEADROOM_CLIENT_BODY_TIMEOUT, the compression settings'
 * own variables (HEADROOM_MODE, ...;
 * hr_pipeline_config_from_env) and the CCR store's (HEADROOM_CCR_BACKEND, HEADROOM_DATA_DIR,
 * ...; hr_ccr_config_from_env). 0 ok, -1 with err filled when a value is invalid. */
int hr_proxy_config_from_env(hr_proxy_config *c, char *err, size_t errlen);
/* argv[0] is the command name. Options the proxy does not know are offered to the
 * compression settings (hr_pipeline_config_arg: --mode, --min-bytes, ...), then to the CCR
 * store settings (hr_ccr_config_arg: --ccr-backend, --data-dir, ...).
 * 0 ok, 1 --help was asked, -1 error (err filled). */
int hr_proxy_config_from_args(hr_proxy_config *c, int argc, char **argv, char *err,
                              size_t errlen);
void hr_proxy_config_usage(FILE *out);

/* Copies url without trailing '/' and without a trailing "/v1" (both tolerated). 0 ok,
 * -1 when it is not an http(s) URL, has a query, fragment, space or backslash (request
 * targets are appended to it), or is too long. User info (user:password@) is kept and
 * used; it is masked wherever the URL is shown (hr_log_redact). */
int hr_normalize_upstream_url(const char *url, char *out, size_t outlen);

/* For the commands that talk to a running proxy (stats, wrap, install, probe): its port, read
 * through the proxy's own port row: flag_value (their --port) when not NULL, else
 * HEADROOM_PORT, else the default; 0 is refused (a client needs the real port).
 * 0 ok, -1 with err naming the flag or variable. */
int hr_proxy_port_of(const char *flag_value, int *port, char *err, size_t errlen);

/* Backoff before retry number n (0 for the first retry), given u in [0, 1). */
long hr_retry_delay_ms(const hr_proxy_config *c, int n, double u);

const hr_proxy_config *hr_proxy_config_current(void);
/* Copies c; called once by hr_proxy_run before any handler thread starts. Handlers read the
 * copy without a lock, so it is never written again while serving (the port the system
 * chose for --port 0 is hr_proxy_port(), proxy.h). */
void hr_proxy_config_set_current(const hr_proxy_config *c);

#endif
