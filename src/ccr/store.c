/* store.c: the backend-independent half of store.h: configuration (defaults, env, CLI
 * options), argument validation, the counters behind hr_ccr_stats, the once-a-minute
 * failure log, and tenant derivation. Backends live in store_{sqlite,memory,redis}.c.
 */
#include "ccr/store.h"

#include "ccr/store_backend.h"
#include "sys/clock.h"
#include "sys/hash.h"
#include "sys/log.h"
#include "sys/parse.h"

#include <errno.h>
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
    memset(c, 0, sizeof *c);
    c->backend = HR_CCR_BACKEND_SQLITE;
    c->ttl_seconds = HR_CCR_DEFAULT_TTL;
    c->max_bytes = 0; /* per-backend default, resolved at open */
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

static int set_option(hr_ccr_config *c, const char *name, const char *val, char *err,
                      size_t errlen)
{
    uint64_t v;
    if (!strcmp(name, "ccr-backend")) {
        if (hr_ccr_backend_parse(val, &c->backend) == 0)
            return 0;
        snprintf(err, errlen, "unknown CCR backend '%s' (sqlite, memory, redis)", val);
        return -1;
    }
    if (!strcmp(name, "ccr-ttl")) {
        if (hr_parse_u64(val, 30ULL * 24 * 3600, &v) == 0 && v > 0) {
            c->ttl_seconds = (unsigned)v;
            return 0;
        }
        snprintf(err, errlen, "bad CCR TTL '%s' (seconds, 1..2592000)", val);
        return -1;
    }
    if (!strcmp(name, "ccr-max-bytes")) {
        if (hr_parse_u64(val, SIZE_MAX, &v) == 0 && v >= 4096) {
            c->max_bytes = (size_t)v;
            return 0;
        }
        snprintf(err, errlen, "bad CCR size cap '%s' (bytes, >= 4096)", val);
        return -1;
    }
    if (!strcmp(name, "data-dir")) {
        c->data_dir = val;
        return 0;
    }
    if (!strcmp(name, "redis-url")) {
        c->redis_url = val;
        return 0;
    }
    return 1;
}

int hr_ccr_config_from_env(hr_ccr_config *c, char *err, size_t errlen)
{
    static const struct { const char *env, *opt; } map[] = {
        {"HEADROOM_CCR_BACKEND", "ccr-backend"},
        {"HEADROOM_CCR_TTL", "ccr-ttl"},
        {"HEADROOM_DATA_DIR", "data-dir"},
        {"HEADROOM_REDIS_URL", "redis-url"},
    };
    for (size_t k = 0; k < sizeof map / sizeof map[0]; k++) {
        const char *v = getenv(map[k].env);
        if (v && *v && set_option(c, map[k].opt, v, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int hr_ccr_config_arg(hr_ccr_config *c, int argc, char **argv, int *i, char *err,
                      size_t errlen)
{
    static const char *const names[] = {"ccr-backend", "ccr-ttl", "ccr-max-bytes", "data-dir",
                                        "redis-url"};
    const char *a = argv[*i];
    if (strncmp(a, "--", 2) != 0)
        return 0;
    a += 2;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t n = strlen(names[k]);
        if (strncmp(a, names[k], n) != 0 || (a[n] != '\0' && a[n] != '='))
            continue;
        const char *val;
        if (a[n] == '=') {
            val = a + n + 1;
        } else {
            if (*i + 1 >= argc) {
                snprintf(err, errlen, "--%s needs a value", names[k]);
                return -1;
            }
            val = argv[*i + 1];
            *i += 1;
        }
        return set_option(c, names[k], val, err, errlen) < 0 ? -1 : 1;
    }
    return 0;
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

