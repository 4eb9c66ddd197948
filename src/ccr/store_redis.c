/* store_redis.c: the shared CCR backend for fleets of proxies (--ccr-backend redis).
 *
 * Keys are headroom:ccr:<tenant>:<hash>; values are the original bytes, written with
 * SET key value EX ttl so value and expiry land atomically (no window where an entry has
 * no TTL). Size limits and eviction are Redis's own (maxmemory-policy); see docs/ccr.md.
 * A dead Redis must never hang a request: connect and command timeouts are short
 * (redis_timeout_ms), a broken connection is dropped and re-dialled on the next call, and
 * after a failed dial the backend fails fast for a second instead of dialling per request.
 * One hiredis context behind a mutex (hiredis contexts are not thread-safe).
 * The URL may carry a password; it is kept in memory for AUTH and never logged.
 */
#include "ccr/store_backend.h"
#include "sys/clock.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REDIS_DEFAULT_URL "redis://127.0.0.1:6379/0"
#define REDIAL_BACKOFF_MS 1000

typedef struct redis_store {
    pthread_mutex_t lock;
    redisContext *ctx;       /* NULL while disconnected */
    long long next_dial_ms;  /* monotonic; no dial before this */
    int timeout_ms;
    char host[256];
    int port;
    int db;
    char user[128];
    char password[256];
} redis_store;

/* redis://[[user]:password@]host[:port][/db] */
static int parse_url(redis_store *r, const char *url, char *err, size_t errlen)
{
    const char *p = url;
    if (strncmp(p, "redis://", 8) != 0) {
        snprintf(err, errlen, "Redis URL must start with redis://");
        return -1;
    }
    p += 8;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon || (size_t)(at - colon - 1) >= sizeof r->password ||
            (size_t)(colon - p) >= sizeof r->user) {
            snprintf(err, errlen, "Redis URL: credentials must be [user]:password@");
            return -1;
        }
        memcpy(r->user, p, (size_t)(colon - p));
        memcpy(r->password, colon + 1, (size_t)(at - colon - 1));
        p = at + 1;
    }
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof r->host) {
        snprintf(err, errlen, "Redis URL: missing or overlong host");
        return -1;
    }
    memcpy(r->host, p, hl);
    p += hl;
    r->port = 6379;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535) {
            snprintf(err, errlen, "Redis URL: bad port");
            return -1;
        }
        r->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1]) {
        char *end;
        long db = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end || db < 0 || db > 1000000) {
            snprintf(err, errlen, "Redis URL: bad database number");
            return -1;
        }
        r->db = (int)db;
    } else if (*p && strcmp(p, "/") != 0) {
        snprintf(err, errlen, "Redis URL: unexpected text after host");
        return -1;
    }
    return 0;
}

void *hr_ccr_redis_open(const hr_ccr_config *c, char *err, size_t errlen)
{
    redis_store *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *url = c->redis_url;
    if (!url || !*url) /* HEADROOM_REDIS_URL is its setting row's (store.c), read by callers */
        url = REDIS_DEFAULT_URL;
    if (parse_url(r, url, err, errlen) < 0) {
        free(r);
        return NULL;
    }
    r->timeout_ms = c->redis_timeout_ms > 0 ? c->redis_timeout_ms : 250;
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

static void drop_connection(redis_store *r)
{
    if (r->ctx)
        redisFree(r->ctx);
    r->ctx = NULL;
    r->next_dial_ms = hr_now_ms64() + REDIAL_BACKOFF_MS;
}

/* Sends one command and checks the reply type; drops the connection on I/O errors. */
static redisReply *command_ok(redis_store *r, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(r->ctx, fmt, ap);
    va_end(ap);
    if (!rep) {
        snprintf(err, errlen, "redis: %s", r->ctx->errstr[0] ? r->ctx->errstr : "I/O error");
        drop_connection(r);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "redis error: %.100s", rep->str ? rep->str : "");
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

static int ensure_connected(redis_store *r, char *err, size_t errlen)
{
    if (r->ctx)
        return 0;
    if (hr_now_ms64() < r->next_dial_ms) {
        snprintf(err, errlen, "redis unavailable (retrying shortly)");
        return -1;
    }
    struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
    r->ctx = redisConnectWithTimeout(r->host, r->port, tv);
    if (!r->ctx || r->ctx->err) {
        snprintf(err, errlen, "redis connect %s:%d: %s", r->host, r->port,
                 r->ctx ? r->ctx->errstr : "out of memory");
        drop_connection(r);
        return -1;
    }
    redisSetTimeout(r->ctx, tv);
    redisReply *rep = NULL;
    if (r->password[0]) {
        rep = r->user[0] ? command_ok(r, err, errlen, "AUTH %s %s", r->user, r->password)
                         : command_ok(r, err, errlen, "AUTH %s", r->password);
        if (!rep) {
            drop_connection(r);
            return -1;
        }
        freeReplyObject(rep);
    }
    if (r->db) {
        if (!(rep = command_ok(r, err, errlen, "SELECT %d", r->db))) {
            drop_connection(r);
            return -1;
        }
        freeReplyObject(rep);
    }
    return 0;
}

static void make_key(char *key, size_t cap, const char *tenant, const char *hash)
{
    snprintf(key, cap, "headroom:ccr:%s:%s", tenant, hash);
}

static int redis_put(void *self, const char *tenant, const char *hash, const void *data,
                     size_t len, unsigned ttl_seconds, char *err, size_t errlen)
{
    redis_store *r = self;
    char key[160];
    make_key(key, sizeof key, tenant, hash);
    int rc = -1;
    pthread_mutex_lock(&r->lock);
    if (ensure_connected(r, err, errlen) == 0) {
        redisReply *rep = command_ok(r, err, errlen, "SET %s %b EX %u", key, data, len,
                                     ttl_seconds);
        if (rep) {
            rc = rep->type == REDIS_REPLY_STATUS ? 0 : -1;
            if (rc)
                snprintf(err, errlen, "redis SET: unexpected reply");
            freeReplyObject(rep);
        }
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

static hr_ccr_status redis_get(void *self, const char *tenant, const char *hash, hr_buf *out,
                               char *err, size_t errlen)
{
    redis_store *r = self;
    char key[160];
    make_key(key, sizeof key, tenant, hash);
    hr_ccr_status st = HR_CCR_ERROR;
    pthread_mutex_lock(&r->lock);
    if (ensure_connected(r, err, errlen) == 0) {
        redisReply *rep = command_ok(r, err, errlen, "GET %s", key);
        if (rep) {
            if (rep->type == REDIS_REPLY_NIL)
                st = HR_CCR_NOT_FOUND;
            else if (rep->type == REDIS_REPLY_STRING)
                st = hr_buf_append(out, rep->str, rep->len) == 0 ? HR_CCR_FOUND : HR_CCR_ERROR;
            else
                snprintf(err, errlen, "redis GET: unexpected reply");
            freeReplyObject(rep);
        }
    }
    pthread_mutex_unlock(&r->lock);
    return st;
}

static void redis_stats(void *self, hr_ccr_stats *st)
{
    (void)self;
    st->entries = -1; /* counting a tenant's keys would need SCAN: not per request */
    st->bytes = -1;
}

static void redis_close(void *self)
{
    redis_store *r = self;
    if (r->ctx)
        redisFree(r->ctx);
    memset(r->password, 0, sizeof r->password);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

const hr_ccr_backend_ops hr_ccr_redis_ops = {"redis", redis_put, redis_get, redis_stats,
                                             redis_close};
