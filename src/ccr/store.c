/* store.c: the backend-independent half of store.h: configuration (defaults, env, CLI
 * options), argument validation, the counters behind hr_ccr_stats, the once-a-minute
 * failure log, and tenant derivation. Backends live in store_{sqlite,memory,redis}.c.
 */
#include "ccr/store.h"

#include "ccr/store_backend.h"
#include "sys/clock.h"
#include "sys/hash.h"
#include "sys/log.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct hr_ccr_store {
    const hr_ccr_backend_ops *ops;
    void *self;
    unsigned ttl_seconds;
    atomic_uint_fast64_t puts, put_failures, gets, hits, misses, get_failures;
    atomic_llong last_log; /* monotonic seconds of the last failure log line */
};

void hr_ccr_config_default(hr_ccr_config *c)
{
    hr_settings_init(&hr_ccr_settings, c, sizeof *c); /* max_bytes 0: the backend's own
                                                           default, resolved at open */
    c->max_entries = 65536;
    c->redis_timeout_ms = 250;
}

int hr_ccr_backend_parse(const char *s, hr_ccr_backend *out)
{
    if (!strcmp(s, "sqlite"))
        *out = HR_CCR_BACKEND_SQLITE;
    else if (!strcmp(s, "memory"))
        *out = HR_CCR_BACKEND_MEMORY;
    else if (!strcmp(s, "redis"))
        *out = HR_CCR_BACKEND_REDIS;
    else
        return -1;
    return 0;
}

const char *hr_ccr_backend_name(hr_ccr_backend b)
{
    switch (b) {
    case HR_CCR_BACKEND_MEMORY: return "memory";
    case HR_CCR_BACKEND_REDIS: return "redis";
    default: return "sqlite";
    }
}

/* ---- settings: one row each (sys/settings.h) ------------------------------------------- */

static int parse_backend(const char *v, void *field, size_t size, char *err, size_t errlen)
{
    (void)size;
    if (hr_ccr_backend_parse(v, field) == 0)
        return 0;
    snprintf(err, errlen, "unknown CCR backend '%s' (sqlite, memory, redis)", v);
    return -1;
}

#define ROW(...) HR_SETTING_ROW(hr_ccr_config, __VA_ARGS__, 0)
#define STR_(x) #x
#define STR(x) STR_(x)

/* docs/configuration.md ("CCR store") has a line per row; a test checks. */
static const hr_setting_row ROWS[] = {
    HR_SETTING_CUSTOM(hr_ccr_config, "ccr_backend", "--ccr-backend", "HEADROOM_CCR_BACKEND",
                      parse_backend, "sqlite, memory or redis", backend, "sqlite",
                      "where originals are kept: sqlite | memory | redis (sqlite)", 0),
    ROW("data_dir", "--data-dir", "HEADROOM_DATA_DIR", HR_SETTING_BORROW, data_dir, 0, 0, NULL,
        "the data directory ($XDG_DATA_HOME/headroom, else ~/.headroom; also where the token "
        "counter finds its rank files)"),
    ROW("ccr_ttl", "--ccr-ttl", "HEADROOM_CCR_TTL", HR_SETTING_INT, ttl_seconds, 1, 30LL * 24 * 3600,
        STR(HR_CCR_DEFAULT_TTL), "seconds an original is kept (1800)"),
    ROW("ccr_max_bytes", "--ccr-max-bytes", "HEADROOM_CCR_MAX_BYTES", HR_SETTING_INT, max_bytes,
        4096, LLONG_MAX, NULL, "size cap of the originals, LRU beyond it (512 MiB sqlite, 64 MiB "
        "memory)"),
    ROW("redis_url", "--redis-url", "HEADROOM_REDIS_URL", HR_SETTING_BORROW, redis_url, 0, 0, NULL,
        "the redis backend's server (redis://127.0.0.1:6379/0)"),
};

const hr_setting_table hr_ccr_settings = HR_SETTING_TABLE(ROWS);

int hr_ccr_config_from_env(hr_ccr_config *c, char *err, size_t errlen)
{
    return hr_settings_from_env(&hr_ccr_settings, c, err, errlen);
}

int hr_ccr_config_arg(hr_ccr_config *c, int argc, char **argv, int *i, char *err,
                      size_t errlen)
{
    return hr_settings_arg(&hr_ccr_settings, c, argc, argv, i, err, errlen);
}

hr_ccr_store *hr_ccr_store_open(const hr_ccr_config *c, char *err, size_t errlen)
{
    hr_ccr_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    switch (c->backend) {
    case HR_CCR_BACKEND_MEMORY:
        s->ops = &hr_ccr_memory_ops;
        s->self = hr_ccr_memory_open(c, err, errlen);
        break;
    case HR_CCR_BACKEND_REDIS:
        s->ops = &hr_ccr_redis_ops;
        s->self = hr_ccr_redis_open(c, err, errlen);
        break;
    default:
        s->ops = &hr_ccr_sqlite_ops;
        s->self = hr_ccr_sqlite_open(c, err, errlen);
        break;
    }
    if (!s->self) {
        free(s);
        return NULL;
    }
    s->ttl_seconds = c->ttl_seconds ? c->ttl_seconds : HR_CCR_DEFAULT_TTL;
    atomic_init(&s->last_log, -60);
    return s;
}

void hr_ccr_store_close(hr_ccr_store *s)
{
    if (!s)
        return;
    s->ops->close(s->self);
    free(s);
}

/* Failures can come once per request while a disk is full or Redis is down; one line a
 * minute says so without flooding the log. The message never holds keys or content. */
static void log_failure(hr_ccr_store *s, const char *op, const char *why)
{
    long long now = hr_now_ms64() / 1000;
    long long last = atomic_load(&s->last_log);
    if (now - last < 60 || !atomic_compare_exchange_strong(&s->last_log, &last, now))
        return;
    char failures[32];
    snprintf(failures, sizeof failures, "%llu",
             (unsigned long long)(atomic_load(&s->put_failures) + atomic_load(&s->get_failures)));
    hr_log_fields(HR_LOG_WARN, "ccr store failure", "backend", s->ops->name, "op", op, "error",
                  why, "failures_total", failures, (const char *)NULL);
}

int hr_ccr_put(hr_ccr_store *s, const char *tenant, const char *hash, const void *data,
               size_t len, unsigned ttl_seconds)
{
    atomic_fetch_add(&s->puts, 1);
    if (!hr_tenant_valid(tenant) || !hash ||
        !hr_content_hash_valid(hash, strlen(hash)) || (!data && len)) {
        atomic_fetch_add(&s->put_failures, 1);
        return -1;
    }
    char err[160] = "";
    int rc = s->ops->put(s->self, tenant, hash, data ? data : "", len,
                         ttl_seconds ? ttl_seconds : s->ttl_seconds, err, sizeof err);
    if (rc != 0) {
        atomic_fetch_add(&s->put_failures, 1);
        log_failure(s, "put", err);
        return -1;
    }
    return 0;
}

unsigned hr_ccr_store_ttl(const hr_ccr_store *s) { return s->ttl_seconds; }

hr_ccr_status hr_ccr_get(hr_ccr_store *s, const char *tenant, const char *hash, hr_buf *out)
{
    atomic_fetch_add(&s->gets, 1);
    if (!hash || !hr_content_hash_valid(hash, strlen(hash)) || !hr_tenant_valid(tenant))
        return HR_CCR_INVALID;
    char err[160] = "";
    hr_ccr_status st = s->ops->get(s->self, tenant, hash, out, err, sizeof err);
    if (st == HR_CCR_FOUND)
        atomic_fetch_add(&s->hits, 1);
    else if (st == HR_CCR_NOT_FOUND)
        atomic_fetch_add(&s->misses, 1);
    else {
        atomic_fetch_add(&s->get_failures, 1);
        log_failure(s, "get", err);
    }
    return st;
}

void hr_ccr_store_stats(hr_ccr_store *s, hr_ccr_stats *out)
{
    memset(out, 0, sizeof *out);
    out->backend = s->ops->name;
    out->puts = atomic_load(&s->puts);
    out->put_failures = atomic_load(&s->put_failures);
    out->gets = atomic_load(&s->gets);
    out->hits = atomic_load(&s->hits);
    out->misses = atomic_load(&s->misses);
    out->get_failures = atomic_load(&s->get_failures);
    out->entries = -1;
    out->bytes = -1;
    s->ops->stats(s->self, out);
}

int hr_ccr_stats_json(const hr_ccr_stats *st, hr_buf *out)
{
    return hr_buf_printf(out,
                         "{\"backend\":\"%s\",\"puts\":%llu,\"put_failures\":%llu,"
                         "\"gets\":%llu,\"hits\":%llu,\"misses\":%llu,\"get_failures\":%llu,"
                         "\"evictions\":%llu,\"entries\":%lld,\"bytes\":%lld}",
                         st->backend, (unsigned long long)st->puts,
                         (unsigned long long)st->put_failures, (unsigned long long)st->gets,
                         (unsigned long long)st->hits, (unsigned long long)st->misses,
                         (unsigned long long)st->get_failures,
                         (unsigned long long)st->evictions, (long long)st->entries,
                         (long long)st->bytes);
}

int hr_ccr_tenant_arg(int argc, char **argv, int *i, char out[HR_TENANT_MAX + 1],
                      char *err, size_t errlen)
{
    const char *a = argv[*i];
    int tenant = !strcmp(a, "--tenant"), key = !strcmp(a, "--api-key-env"),
        bearer = !strcmp(a, "--bearer-env");
    if (!tenant && !key && !bearer)
        return 0;
    if (*i + 1 >= argc) {
        snprintf(err, errlen, "%s needs a value", a);
        return -1;
    }
    const char *v = argv[*i + 1];
    *i += 1;
    if (tenant) {
        if (!hr_tenant_valid(v)) {
            snprintf(err, errlen, "--tenant must be 1-64 characters of [0-9a-z]");
            return -1;
        }
        snprintf(out, HR_TENANT_MAX + 1, "%s", v);
        return 1;
    }
    const char *secret = getenv(v);
    if (!secret || !*secret) {
        snprintf(err, errlen, "%s: environment variable %s is empty or unset", a, v);
        return -1;
    }
    if (hr_tenant_for_key(secret, bearer, out) < 0) {
        snprintf(err, errlen, "%s: the key in %s is too long", a, v);
        return -1;
    }
    return 1;
}

