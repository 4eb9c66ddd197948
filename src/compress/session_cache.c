/* session_cache.c: the per-session replay cache (see session_cache.h). Sessions and
 * entries are small arrays scanned linearly with a use tick for LRU: a request touches a
 * few dozen spans and a session holds at most a few thousand entries, so a scan of 24-byte
 * keys costs microseconds and keeps the structure obvious. */
#include "compress/session_cache.h"

#include "sys/vec.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char hash[HR_CONTENT_HASH_HEX + 1];
    hr_span_decision dec;
    char *text;  /* owned; NULL when not compressed */
    size_t len;
    long long stored_ms; /* when the original was last put for the session's tenant */
    uint64_t used;
} entry;

typedef struct session {
    char key[HR_SESSION_KEY_MAX + 1];
    entry *entries;
    size_t n, cap, bytes;
    uint32_t prefix;
    uint64_t used;
} session;

struct hr_session_cache {
    pthread_mutex_t mu;
    session *sessions;
    size_t n, max_sessions, max_entries, max_bytes;
    size_t total_bytes, max_total_bytes; /* over all sessions */
    uint64_t tick;
};

hr_session_cache *hr_session_cache_new(size_t max_sessions, size_t max_entries,
                                       size_t max_bytes, size_t max_total_bytes)
{
    hr_session_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->max_sessions = max_sessions ? max_sessions : 1;
    c->max_entries = max_entries ? max_entries : 1;
    c->max_bytes = max_bytes;
    c->max_total_bytes = max_total_bytes;
    c->sessions = calloc(c->max_sessions, sizeof *c->sessions);
    if (!c->sessions) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void session_clear(session *s)
{ /* the caller adjusts the cache's total_bytes */
    for (size_t i = 0; i < s->n; i++)
        free(s->entries[i].text);
    free(s->entries);
    memset(s, 0, sizeof *s);
}

void hr_session_cache_free(hr_session_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        session_clear(&c->sessions[i]);
    free(c->sessions);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Index of the least recently used session other than keep (NULL: any). */
static size_t lru_session(hr_session_cache *c, const session *keep)
{
    size_t lru = c->n;
    for (size_t i = 0; i < c->n; i++)
        if (&c->sessions[i] != keep && (lru == c->n || c->sessions[i].used < c->sessions[lru].used))
            lru = i;
    return lru;
}

static void evict_session(hr_session_cache *c, size_t i)
{
    c->total_bytes -= c->sessions[i].bytes;
    session_clear(&c->sessions[i]);
    c->sessions[i] = c->sessions[--c->n];
    memset(&c->sessions[c->n], 0, sizeof c->sessions[c->n]);
}

static session *find_session(hr_session_cache *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->sessions[i].key, key)) {
            c->sessions[i].used = ++c->tick;
            return &c->sessions[i];
        }
    return NULL;
}

/* Finds or creates the session, evicting the least recently used one when full. */
static session *open_session(hr_session_cache *c, const char *key)
{
    session *s = find_session(c, key);
    if (s)
        return s;
    if (c->n == c->max_sessions)
        evict_session(c, lru_session(c, NULL));
    s = &c->sessions[c->n++];
    memset(s, 0, sizeof *s);
    strncpy(s->key, key, HR_SESSION_KEY_MAX);
    s->used = ++c->tick;
    return s;
}

static entry *find_entry(session *s, const char *hash)
{
    for (size_t i = 0; i < s->n; i++)
        if (!memcmp(s->entries[i].hash, hash, HR_CONTENT_HASH_HEX))
            return &s->entries[i];
    return NULL;
}

static void evict_lru_entry(hr_session_cache *c, session *s)
{
    size_t lru = 0;
    for (size_t i = 1; i < s->n; i++)
        if (s->entries[i].used < s->entries[lru].used)
            lru = i;
    s->bytes -= s->entries[lru].len;
    c->total_bytes -= s->entries[lru].len;
    free(s->entries[lru].text);
    s->entries[lru] = s->entries[--s->n];
}

int hr_session_cache_get(hr_session_cache *c, const char *session_key, const char *hash,
                         hr_span_decision *dec, hr_buf *text, long long *stored_ms)
{
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    session *s = find_session(c, session_key);
    entry *e = s ? find_entry(s, hash) : NULL;
    if (e) {
        e->used = ++c->tick;
        *dec = e->dec;
        if (stored_ms)
            *stored_ms = e->stored_ms;
        rc = e->text && hr_buf_append(text, e->text, e->len) != 0 ? -1 : 1;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int hr_session_cache_put(hr_session_cache *c, const char *session_key, const char *hash,
                         const hr_span_decision *dec, const char *text, size_t len,
                         long long stored_ms)
{
    char *copy = NULL;
    if (dec->compressed) {
        copy = malloc(len ? len : 1);
        if (!copy)
            return -1;
        memcpy(copy, text, len);
    } else {
        len = 0;
    }
    if (c->max_bytes && len > c->max_bytes) {
        free(copy);
        return 0; /* too big to remember: it will be recompressed, deterministically */
    }
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    session *s = open_session(c, session_key);
    entry *e = find_entry(s, hash);
    if (e) {
        s->bytes -= e->len;
        c->total_bytes -= e->len;
        free(e->text);
    } else {
        while (s->n >= c->max_entries)
            evict_lru_entry(c, s);
        if (HR_VEC_RESERVE(s->entries, s->cap, s->n + 1) != 0) {
            rc = -1;
            free(copy);
            goto out;
        }
        e = &s->entries[s->n++];
        memcpy(e->hash, hash, HR_CONTENT_HASH_HEX);
        e->hash[HR_CONTENT_HASH_HEX] = '\0';
    }
    e->dec = *dec;
    e->text = copy;
    e->len = len;
    e->stored_ms = stored_ms;
    e->used = ++c->tick;
    s->bytes += len;
    c->total_bytes += len;
    while (c->max_bytes && s->bytes > c->max_bytes && s->n > 1) {
        entry keep = *e; /* never evict the entry just written */
        size_t at = (size_t)(e - s->entries);
        s->entries[at].used = UINT64_MAX;
        evict_lru_entry(c, s);
        e = find_entry(s, keep.hash);
        e->used = keep.used;
    }
    /* over the global ceiling: whole sessions go, least recently used first (never the
     * one just written; its own bound keeps it under max_bytes) */
    while (c->max_total_bytes && c->total_bytes > c->max_total_bytes && c->n > 1) {
        char key[HR_SESSION_KEY_MAX + 1];
        memcpy(key, s->key, sizeof key);
        evict_session(c, lru_session(c, s));
        s = find_session(c, key);
    }
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void hr_session_cache_mark_stored(hr_session_cache *c, const char *session_key, const char *hash,
                                  long long stored_ms)
{
    pthread_mutex_lock(&c->mu);
    session *s = find_session(c, session_key);
    entry *e = s ? find_entry(s, hash) : NULL;
    if (e)
        e->stored_ms = stored_ms;
    pthread_mutex_unlock(&c->mu);
}

uint32_t hr_session_cache_prefix(hr_session_cache *c, const char *session_key)
{
    pthread_mutex_lock(&c->mu);
    session *s = find_session(c, session_key);
    uint32_t n = s ? s->prefix : 0;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void hr_session_cache_set_prefix(hr_session_cache *c, const char *session_key, uint32_t n)
{
    pthread_mutex_lock(&c->mu);
    session *s = open_session(c, session_key);
    s->prefix = n;
    pthread_mutex_unlock(&c->mu);
}

void hr_session_cache_counts(hr_session_cache *c, size_t *sessions, size_t *entries,
                             size_t *bytes)
{
    pthread_mutex_lock(&c->mu);
    size_t e = 0;
    for (size_t i = 0; i < c->n; i++)
        e += c->sessions[i].n;
    *sessions = c->n;
    *entries = e;
    *bytes = c->total_bytes;
    pthread_mutex_unlock(&c->mu);
}
