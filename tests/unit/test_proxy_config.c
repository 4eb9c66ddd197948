/* Unit tests for src/proxy/config.c: defaults, environment, flags (flags win), URL
 * normalisation, invalid values, retry backoff bounds; the setting rows (sys/settings.h) of the
 * proxy, the pipeline and the CCR store: complete, unique, in --help and in
 * docs/configuration.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proxy/command_settings.h"
#include "proxy/config.h"

#include <stdlib.h>
#include <string.h>

static void defaults_match_the_issue(void **state)
{
    (void)state;
    hr_proxy_config c;
    hr_proxy_config_defaults(&c);
    assert_string_equal(c.host, "127.0.0.1");
    assert_int_equal(c.port, 8787);
    assert_string_equal(c.openai_url, "https://api.openai.com");
    assert_string_equal(c.anthropic_url, "https://api.anthropic.com");
    assert_int_equal(c.max_body_bytes, 100u << 20);
    assert_int_equal(c.graceful_shutdown_timeout_s, 30);
    assert_int_equal(c.retry_attempts, 3);
    assert_int_equal(c.log_format, HR_LOG_TEXT);
    assert_int_equal(c.log_messages, 0);
    assert_int_equal(c.max_inflight_body_mb, 512);
    assert_int_equal(c.max_decode_ratio, 1000);
    assert_int_equal(c.max_answer_bytes, 64u << 20);
}

/* The memory limits (docs/configuration.md, "Memory limits"): env, then flags; 0 turns the
 * budget and the ratio check off; nonsense is refused with the flag's name. */
static void memory_limits(void **state)
{
    (void)state;
    hr_proxy_config c;
    char err[256];
    hr_proxy_config_defaults(&c);
    setenv("HEADROOM_MAX_INFLIGHT_BODY_MB", "64", 1);
    setenv("HEADROOM_MAX_ANSWER_BYTES", "1048576", 1);
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), 0);
    unsetenv("HEADROOM_MAX_INFLIGHT_BODY_MB");
    unsetenv("HEADROOM_MAX_ANSWER_BYTES");
    assert_int_equal(c.max_inflight_body_mb, 64);
    assert_int_equal(c.max_answer_bytes, 1048576);
    char *argv[] = {"proxy", "--max-inflight-body-mb", "0", "--max-decode-ratio=0", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 4, argv, err, sizeof err), 0);
    assert_int_equal(c.max_inflight_body_mb, 0);
    assert_int_equal(c.max_decode_ratio, 0);
    char *bad[] = {"proxy", "--max-inflight-body-mb", "-5", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 3, bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "--max-inflight-body-mb"));
    char *bad2[] = {"proxy", "--max-answer-bytes", "0", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 3, bad2, err, sizeof err), -1);
}

static void env_then_flags(void **state)
{
    (void)state;
    hr_proxy_config c;
    char err[256];
    hr_proxy_config_defaults(&c);
    setenv("HEADROOM_HOST", "0.0.0.0", 1);
    setenv("HEADROOM_PORT", "9000", 1);
    setenv("OPENAI_TARGET_API_URL", "http://127.0.0.1:1234/v1/", 1);
    setenv("ANTHROPIC_TARGET_API_URL", "https://example.test/", 1);
    setenv("HEADROOM_LOG_FORMAT", "json", 1);
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), 0);
    assert_string_equal(c.host, "0.0.0.0");
    assert_int_equal(c.port, 9000);
    assert_string_equal(c.openai_url, "http://127.0.0.1:1234");
    assert_string_equal(c.anthropic_url, "https://example.test");
    assert_int_equal(c.log_format, HR_LOG_JSON);
    char *argv[] = {"proxy", "--port", "9100", "--host=127.0.0.2", "--log-messages",
                    "--max-body-bytes", "1000", "--upstream-timeout", "0.25", "--log-level", "debug",
                    "--anthropic-api-url", "http://a.test/v1", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 13, argv, err, sizeof err), 0);
    assert_int_equal(c.port, 9100);
    assert_string_equal(c.host, "127.0.0.2");
    assert_int_equal(c.log_messages, 1);
    assert_int_equal(c.max_body_bytes, 1000);
    assert_int_equal(c.upstream_timeout_ms, 250);
    assert_int_equal(c.log_level, HR_LOG_DEBUG);
    assert_string_equal(c.anthropic_url, "http://a.test");
    /* compression flags go to the pipeline's settings */
    char *comp[] = {"proxy", "--mode", "cache", "--min-bytes=1024", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 4, comp, err, sizeof err), 0);
    assert_int_equal(c.pipeline.mode, HR_MODE_CACHE);
    assert_int_equal(c.pipeline.min_bytes, 1024);
    unsetenv("HEADROOM_HOST");
    unsetenv("HEADROOM_PORT");
    unsetenv("OPENAI_TARGET_API_URL");
    unsetenv("ANTHROPIC_TARGET_API_URL");
    unsetenv("HEADROOM_LOG_FORMAT");
}

static void invalid_values_are_refused_with_a_message(void **state)
{
    (void)state;
    hr_proxy_config c;
    char err[256];
    hr_proxy_config_defaults(&c);
    char *bad[][3] = {{"proxy", "--port", "70000"}, {"proxy", "--port", "x"},
                      {"proxy", "--openai-api-url", "ftp://x"}, {"proxy", "--log-format", "xml"},
                      {"proxy", "--retry-attempts", "0"}, {"proxy", "--frobnicate", "1"},
                      {"proxy", "--mode", "fast"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_int_equal(hr_proxy_config_from_args(&c, 3, bad[i], err, sizeof err), -1);
        assert_true(strlen(err) > 5);
    }
    char *missing[] = {"proxy", "--port"};
    assert_int_equal(hr_proxy_config_from_args(&c, 2, missing, err, sizeof err), -1);
    char *help[] = {"proxy", "--help"};
    assert_int_equal(hr_proxy_config_from_args(&c, 2, help, err, sizeof err), 1);
    setenv("HEADROOM_PORT", "-5", 1);
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "HEADROOM_PORT"));
    unsetenv("HEADROOM_PORT");
}

static void url_normalisation(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(hr_normalize_upstream_url("https://api.openai.com/v1", out, sizeof out), 0);
    assert_string_equal(out, "https://api.openai.com");
    assert_int_equal(hr_normalize_upstream_url("https://h.test/proxy/v1/", out, sizeof out), 0);
    assert_string_equal(out, "https://h.test/proxy");
    assert_int_equal(hr_normalize_upstream_url("http://h.test", out, sizeof out), 0);
    assert_string_equal(out, "http://h.test");
    assert_int_equal(hr_normalize_upstream_url("h.test", out, sizeof out), -1);
    assert_int_equal(hr_normalize_upstream_url("https://", out, sizeof out), -1);
    /* a path is appended: a query, fragment, space or backslash in the base would eat it */
    assert_int_equal(hr_normalize_upstream_url("https://h.test/?key=1", out, sizeof out), -1);
    assert_int_equal(hr_normalize_upstream_url("https://h.test/#x", out, sizeof out), -1);
    assert_int_equal(hr_normalize_upstream_url("https://h.test/a b", out, sizeof out), -1);
    assert_int_equal(hr_normalize_upstream_url("https://h.test\\@evil", out, sizeof out), -1);
    /* user info is kept (it is used upstream, and masked where shown) */
    assert_int_equal(hr_normalize_upstream_url("http://u:p@h.test/v1", out, sizeof out), 0);
    assert_string_equal(out, "http://u:p@h.test");
}

static void client_limits(void **state)
{
    (void)state;
    hr_proxy_config c;
    char err[256];
    hr_proxy_config_defaults(&c);
    assert_int_equal(c.max_connections_per_address, 1024);
    assert_int_equal(c.client_header_timeout_ms, 10000);
    assert_int_equal(c.client_body_timeout_ms, 120000);
    setenv("HEADROOM_MAX_CONNECTIONS_PER_ADDRESS", "64", 1);
    setenv("HEADROOM_CLIENT_HEADER_TIMEOUT", "2.5", 1);
    setenv("HEADROOM_CLIENT_BODY_TIMEOUT", "30", 1);
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), 0);
    unsetenv("HEADROOM_MAX_CONNECTIONS_PER_ADDRESS");
    unsetenv("HEADROOM_CLIENT_HEADER_TIMEOUT");
    unsetenv("HEADROOM_CLIENT_BODY_TIMEOUT");
    assert_int_equal(c.max_connections_per_address, 64);
    assert_int_equal(c.client_header_timeout_ms, 2500);
    assert_int_equal(c.client_body_timeout_ms, 30000);
    char *argv[] = {"proxy", "--max-connections-per-address", "0", "--client-body-timeout=1", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 4, argv, err, sizeof err), 0);
    assert_int_equal(c.max_connections_per_address, 0);
    assert_int_equal(c.client_body_timeout_ms, 1000);
    char *secret[] = {"proxy", "--openai-api-url", "http://user:pw-s3cret@h.test/?q", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 3, secret, err, sizeof err), -1);
    assert_null(strstr(err, "s3cret"));
    assert_non_null(strstr(err, "http://***@h.test"));
    char *bad[] = {"proxy", "--client-header-timeout", "0", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 3, bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "--client-header-timeout"));
}

static void backoff_doubles_caps_and_jitters(void **state)
{
    (void)state;
    hr_proxy_config c;
    hr_proxy_config_defaults(&c);
    assert_int_equal(hr_retry_delay_ms(&c, 0, 0.0), 500);
    assert_int_equal(hr_retry_delay_ms(&c, 0, 0.999999), 1499);
    assert_int_equal(hr_retry_delay_ms(&c, 1, 0.5), 2000);
    assert_int_equal(hr_retry_delay_ms(&c, 10, 0.5), 30000);
    assert_int_equal(hr_retry_delay_ms(&c, 50, 0.0), 15000);
}

/* ---- the rows (sys/settings.h) ------------------------------------------------------------- */

static const hr_setting_table *tables(size_t *n)
{
    static hr_setting_table t[8];
    const hr_setting_table *const *all = hr_proxy_setting_tables(n);
    assert_true(*n <= 8);
    for (size_t i = 0; i < *n; i++)
        t[i] = *all[i];
    return t;
}

/* The proxy's tables and the other commands' (proxy/command_settings.h): one set of names,
 * flags and variables, all in docs/configuration.md. */
static const hr_setting_table *all_tables(size_t *n)
{
    static hr_setting_table t[9];
    const hr_setting_table *p = tables(n);
    for (size_t i = 0; i < *n; i++)
        t[i] = p[i];
    t[(*n)++] = hr_command_settings;
    return t;
}

/* Every setting has a variable and a help line; names, flags and variables are unique across
 * the proxy's tables (proxy, pipeline, CCR store, statistics, ML, images: one parser sees them
 * all) and the other commands' table;
 * every default parses through the row's own parser. */
static void rows_are_complete_and_unique(void **state)
{
    (void)state;
    size_t nt;
    const hr_setting_table *t = all_tables(&nt);
    char err[256];
    for (size_t a = 0; a < nt; a++) {
        static char base[32768]; /* larger than each table's struct */
        memset(base, 0, sizeof base);
        assert_true(sizeof(hr_proxy_config) <= sizeof base);
        assert_int_equal(hr_settings_defaults(&t[a], base, err, sizeof err), 0);
        for (size_t i = 0; i < t[a].n; i++) {
            const hr_setting_row *r = &t[a].rows[i];
            assert_non_null(r->env);
            assert_non_null(r->help);
            assert_true(!r->flag || !strncmp(r->flag, "--", 2)); /* NULL: variable only */
            for (size_t b = 0; b < nt; b++)
                for (size_t k = 0; k < t[b].n; k++) {
                    const hr_setting_row *o = &t[b].rows[k];
                    if (o == r)
                        continue;
                    assert_string_not_equal(r->name, o->name);
                    assert_false(r->flag && o->flag && !strcmp(r->flag, o->flag));
                    assert_string_not_equal(r->env, o->env);
                }
        }
    }
}

static char *read_docs(void)
{
    const char *src = getenv("HEADROOM_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/configuration.md", src);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[256 * 1024];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    /* without the original's name table (dropin_flags checks it): its rows look alike */
    char *from = strstr(text, "## The original's flags and variables");
    assert_non_null(from);
    char *to = strstr(from + 1, "\n## ");
    assert_non_null(to);
    memmove(from, to, strlen(to) + 1);
    return text;
}

/* docs/configuration.md has one table line per row: `| `FLAG` | `VARIABLE` | default |`,
 * whose default cell holds the row's default (`512`, or plainly: off); and no table line names a flag and variable
 * that is not a row. */
static void docs_tables_match_the_rows(void **state)
{
    (void)state;
    size_t nt;
    const hr_setting_table *t = all_tables(&nt);
    char *docs = read_docs();
    for (size_t a = 0; a < nt; a++)
        for (size_t i = 0; i < t[a].n; i++) {
            const hr_setting_row *r = &t[a].rows[i];
            char head[256];
            if (r->flag)
                snprintf(head, sizeof head, "\n| `%s` | `%s` | ", r->flag, r->env);
            else /* a variable-only table: | variable | default | meaning | */
                snprintf(head, sizeof head, "\n| `%s` | ", r->env);
            const char *line = strstr(docs, head);
            if (!line)
                fail_msg("docs/configuration.md has no table line for %s", r->env);
            const char *cell = line + strlen(head);
            const char *cell_end = strstr(cell, " |");
            assert_non_null(cell_end);
            if (r->dflt && *r->dflt) {
                char want[128];
                snprintf(want, sizeof want, "`%s`", r->dflt);
                char *found = strstr(cell, want);
                size_t dl = strlen(r->dflt); /* or said plainly: "off" */
                int plain = !strncmp(cell, r->dflt, dl) && (cell[dl] == ' ' || cell[dl] == '|');
                if (!plain && (!found || found > cell_end))
                    fail_msg("%s: docs default cell '%.*s' lacks %s", r->flag ? r->flag : r->env,
                             (int)(cell_end - cell), cell, want);
            }
        }
    /* the reverse: each "| `--flag` | `VARIABLE` |" line is a row */
    for (const char *p = docs; (p = strstr(p, "\n| `--")); p++) {
        char flag[128], env[128];
        if (sscanf(p, "\n| `%127[^`]` | `%127[A-Z_]` |", flag, env) != 2)
            continue;
        int known = 0;
        for (size_t a = 0; a < nt && !known; a++)
            for (size_t i = 0; i < t[a].n && !known; i++)
                known = t[a].rows[i].flag && !strcmp(t[a].rows[i].flag, flag) &&
                        !strcmp(t[a].rows[i].env, env);
        if (!known)
            fail_msg("docs/configuration.md documents %s / %s, which is no row", flag, env);
    }
}

/* The row machinery through the proxy's parser: a switch alone means on, an on/off setting
 * takes its value, bounds come from the row, errors name the flag or variable, and the
 * settings that had a flag only now have a variable too. */
static void rows_parse_flags_and_variables(void **state)
{
    (void)state;
    hr_proxy_config c;
    char err[256];
    hr_proxy_config_defaults(&c);
    char *argv[] = {"proxy", "--no-ccr-inject-tool", "--kompress-code", "on", "--max-items=40",
                    "--ccr-ttl", "60", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 7, argv, err, sizeof err), 0);
    assert_int_equal(c.no_ccr_tool, 1);
    assert_int_equal(c.pipeline.kompress_code, 1);
    assert_int_equal(c.pipeline.opts.max_items, 40);
    assert_int_equal(c.ccr.ttl_seconds, 60);
    char *bad[] = {"proxy", "--max-items", "100001", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 3, bad, err, sizeof err), -1);
    assert_string_equal(err, "invalid value '100001' for --max-items");
    char *dangling[] = {"proxy", "--kompress-code", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 2, dangling, err, sizeof err), -1);
    assert_string_equal(err, "--kompress-code needs a value");

    hr_proxy_config_defaults(&c);
    setenv("HEADROOM_MAX_ITEMS", "7", 1);
    setenv("HEADROOM_CCR_MAX_BYTES", "8192", 1);
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), 0);
    assert_int_equal(c.pipeline.opts.max_items, 7);
    assert_int_equal(c.ccr.max_bytes, 8192);
    setenv("HEADROOM_CCR_MAX_BYTES", "100", 1);
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), -1);
    assert_string_equal(err, "invalid value '100' for HEADROOM_CCR_MAX_BYTES");
    unsetenv("HEADROOM_MAX_ITEMS");
    unsetenv("HEADROOM_CCR_MAX_BYTES");
    setenv("HEADROOM_CCR_BACKEND", "disk", 1);
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), -1);
    assert_string_equal(err, "unknown CCR backend 'disk' (sqlite, memory, redis)");
    unsetenv("HEADROOM_CCR_BACKEND");

    /* the provider and embedder rows that came from main: defaults, bounds, own errors */
    hr_proxy_config_defaults(&c);
    assert_string_equal(c.gemini_url, "https://generativelanguage.googleapis.com");
    assert_string_equal(c.vertex_url, "");
    assert_string_equal(c.allow_base_urls, "");
    assert_int_equal(c.pipeline.embed_max_items, 32);
    assert_int_equal(c.pipeline.embed_deadline_ms, 300);
    char *prov[] = {"proxy", "--azure-api-url", "https://r.openai.azure.com/", "--allow-base-url",
                    "https://gw.example.com, 10.0.0.1:8080", "--embed-max-items=64", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 6, prov, err, sizeof err), 0);
    assert_string_equal(c.azure_url, "https://r.openai.azure.com");
    assert_string_equal(c.allow_base_urls, "https://gw.example.com, 10.0.0.1:8080");
    assert_int_equal(c.pipeline.embed_max_items, 64);
    char *origin[] = {"proxy", "--allow-base-url", "https://u@h", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 3, origin, err, sizeof err), -1);
    assert_non_null(strstr(err, "--allow-base-url: 'https://u@h' is not an origin"));
    setenv("HEADROOM_EMBED_DEADLINE_MS", "60001", 1);
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), -1);
    assert_string_equal(err, "invalid value '60001' for HEADROOM_EMBED_DEADLINE_MS");
    unsetenv("HEADROOM_EMBED_DEADLINE_MS");
}

/* --help prints one entry per row of each table. */
static void help_lists_every_row(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    hr_proxy_config_usage(f);
    fclose(f);
    size_t nt;
    const hr_setting_table *t = tables(&nt);
    for (size_t a = 0; a < nt; a++)
        for (size_t i = 0; i < t[a].n; i++) {
            const hr_setting_row *r = &t[a].rows[i];
            char entry[256];
            if (r->flag)
                snprintf(entry, sizeof entry, "  %-30s %-36s\n      %s\n", r->flag, r->env,
                         r->help);
            else
                snprintf(entry, sizeof entry, "  %s\n      %s\n", r->env, r->help);
            if (!strstr(text, entry))
                fail_msg("--help lacks %s", r->env);
        }
    free(text);
}

/* The client commands' port (stats, wrap, install, probe) goes through the proxy's row:
 * --port, else HEADROOM_PORT, else 8787; junk and 0 are refused, naming the source. */
static void client_port_reads_the_port_row(void **state)
{
    (void)state;
    int port = -1;
    char err[256];
    unsetenv("HEADROOM_PORT");
    assert_int_equal(hr_proxy_port_of(NULL, &port, err, sizeof err), 0);
    assert_int_equal(port, 8787);
    setenv("HEADROOM_PORT", "9123", 1);
    assert_int_equal(hr_proxy_port_of(NULL, &port, err, sizeof err), 0);
    assert_int_equal(port, 9123);
    assert_int_equal(hr_proxy_port_of("9200", &port, err, sizeof err), 0);
    assert_int_equal(port, 9200);
    assert_int_equal(hr_proxy_port_of("0", &port, err, sizeof err), -1);
    assert_string_equal(err, "invalid value '0' for --port");
    setenv("HEADROOM_PORT", "80x", 1);
    assert_int_equal(hr_proxy_port_of(NULL, &port, err, sizeof err), -1);
    assert_string_equal(err, "invalid value '80x' for HEADROOM_PORT");
    unsetenv("HEADROOM_PORT");
    assert_int_equal(port, 9200); /* untouched by the refusals */
}

/* The other commands' rows (model import/fetch --max-seq, fetch --base-url, wrap's
 * timeout): defaults, variables, flags, and numbers out of bounds or not numbers refused
 * with a message naming the flag or variable (atoi read "abc" as 0 and "9x" as 9). */
static void command_rows_bound_their_values(void **state)
{
    (void)state;
    hr_command_config c;
    char err[256];
    unsetenv("HEADROOM_MODEL_MAX_SEQ");
    unsetenv("HEADROOM_HF_BASE_URL");
    unsetenv("HEADROOM_WRAP_PROXY_TIMEOUT");
    assert_int_equal(hr_command_config_load(&c, err, sizeof err), 0);
    assert_int_equal(c.model_max_seq, 0); /* the model directory's */
    assert_string_equal(c.hf_base_url, "https://huggingface.co");
    assert_int_equal(c.wrap_proxy_timeout_s, 45);
    setenv("HEADROOM_MODEL_MAX_SEQ", "1024", 1);
    setenv("HEADROOM_HF_BASE_URL", "http://127.0.0.1:9/hub", 1);
    assert_int_equal(hr_command_config_load(&c, err, sizeof err), 0);
    assert_int_equal(c.model_max_seq, 1024);
    assert_string_equal(c.hf_base_url, "http://127.0.0.1:9/hub");
    const char *bad[] = {"0", "-3", "9x", "abc", "65537", " "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("HEADROOM_MODEL_MAX_SEQ", bad[i], 1);
        err[0] = 0;
        if (hr_command_config_load(&c, err, sizeof err) == 0 && strcmp(bad[i], " "))
            fail_msg("HEADROOM_MODEL_MAX_SEQ=%s accepted", bad[i]);
    }
    setenv("HEADROOM_MODEL_MAX_SEQ", "abc", 1);
    assert_int_equal(hr_command_config_load(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "HEADROOM_MODEL_MAX_SEQ"));
    assert_int_equal(c.wrap_proxy_timeout_s, 45); /* the defaults stand after a refusal */
    unsetenv("HEADROOM_MODEL_MAX_SEQ");
    unsetenv("HEADROOM_HF_BASE_URL");
    assert_int_equal(hr_command_config_load(&c, err, sizeof err), 0);
    char *argv[] = {"import", "--max-seq", "0", "--max-seq=300", "--max-seq", "x1"};
    int i = 1;
    assert_int_equal(hr_settings_alias(&hr_command_settings, "model_max_seq", "--max-seq", &c, 6,
                                       argv, &i, err, sizeof err), -1);
    assert_non_null(strstr(err, "--max-seq"));
    i = 3;
    assert_int_equal(hr_settings_alias(&hr_command_settings, "model_max_seq", "--max-seq", &c, 6,
                                       argv, &i, err, sizeof err), 1);
    assert_int_equal(c.model_max_seq, 300);
    i = 4;
    assert_int_equal(hr_settings_alias(&hr_command_settings, "model_max_seq", "--max-seq", &c, 6,
                                       argv, &i, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_match_the_issue),
        cmocka_unit_test(memory_limits),
        cmocka_unit_test(env_then_flags),
        cmocka_unit_test(invalid_values_are_refused_with_a_message),
        cmocka_unit_test(url_normalisation),
        cmocka_unit_test(client_limits),
        cmocka_unit_test(backoff_doubles_caps_and_jitters),
        cmocka_unit_test(rows_are_complete_and_unique),
        cmocka_unit_test(docs_tables_match_the_rows),
        cmocka_unit_test(rows_parse_flags_and_variables),
        cmocka_unit_test(help_lists_every_row),
        cmocka_unit_test(client_port_reads_the_port_row),
        cmocka_unit_test(command_rows_bound_their_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
