/* low_memory.c: the low-memory profile's table and where each value goes (low_memory.h). */
#include "proxy/low_memory.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIB ((size_t)1 << 20)

/* The profile, one row per value: what it is called on the start-up line and in /health.
 * The numbers are applied in hr_low_memory_apply_defaults / _process below. */
static const struct {
    const char *name, *value;
} PROFILE[] = {
    {"memory_budget_mb", "256"},     {"max_inflight_body_mb", "64"},
    {"max_answer_bytes", "16777216"}, {"limit_concurrency", "256"},
    {"cache_sessions", "64"},        {"cache_entries", "512"},
    {"cache_session_bytes", "2097152"}, {"cache_bytes", "16777216"},
    {"ccr_memory_bytes", "16777216"}, {"ccr_memory_entries", "8192"},
    {"ml_threads", "1"},             {"ml_idle_unload_s", "30"},
    {"malloc_arenas", "1"},
};
#define N_PROFILE (sizeof PROFILE / sizeof PROFILE[0])

/* --low-memory's own row parses both the variable and a --low-memory=VALUE flag. */
int hr_low_memory_requested(int argc, char **argv)
{
    const hr_setting_row *r = hr_settings_find(&hr_proxy_settings, "low_memory");
    hr_proxy_config c;
    char err[256];
    size_t fl = strlen(r->flag);
    c.low_memory = 0;
    const char *env = getenv(r->env);
    if (env && *env && hr_setting_set(r, &c, env, r->env, err, sizeof err) != 0)
        c.low_memory = 0; /* the full parse reports it */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], r->flag))
            return 1;
        else if (!strncmp(argv[i], r->flag, fl) && argv[i][fl] == '=' &&
                 hr_setting_set(r, &c, argv[i] + fl + 1, r->flag, err, sizeof err) == 0 &&
                 c.low_memory)
            return 1;
    return c.low_memory;
}

void hr_low_memory_apply_defaults(hr_proxy_config *c)
{
    c->low_memory = 1;
    c->memory_budget_mb = 256;
    c->max_inflight_body_mb = 64;
    c->max_answer_bytes = 16 * MIB;
    c->max_connections = 256;
    c->pipeline.max_sessions = 64;
    c->pipeline.max_entries = 512;
    c->pipeline.max_session_bytes = 2 * MIB;
    c->pipeline.max_cache_bytes = 16 * MIB;
    c->ccr.max_entries = 8192;
    c->ml.threads = 1;
    c->ml.idle_unload_s = 30;
}

void hr_low_memory_finish(hr_proxy_config *c)
{
    /* the size cap is shared by the backends; only the in-process one is memory */
    if (c->low_memory && c->ccr.backend == HR_CCR_BACKEND_MEMORY && !c->ccr.max_bytes)
        c->ccr.max_bytes = 16 * MIB;
}

int hr_low_memory_apply_process(const hr_proxy_config *c)
{
    /* the ML values are defaults of cfg->ml, set by hr_low_memory_apply_defaults */
    return c->low_memory ? HR_LOW_MEMORY_ARENA_MAX : 0;
}

int hr_low_memory_describe(hr_buf *out)
{
    int rc = 0;
    for (size_t i = 0; i < N_PROFILE; i++)
        rc |= hr_buf_printf(out, "%s%s=%s", i ? " " : "", PROFILE[i].name, PROFILE[i].value);
    return rc ? -1 : 0;
}

int hr_low_memory_json(hr_buf *out)
{
    int rc = hr_buf_putc(out, '{');
    for (size_t i = 0; i < N_PROFILE; i++)
        rc |= hr_buf_printf(out, "%s\"%s\":%s", i ? "," : "", PROFILE[i].name, PROFILE[i].value);
    rc |= hr_buf_putc(out, '}');
    return rc ? -1 : 0;
}
