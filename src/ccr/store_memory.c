/* store_memory.c: the bounded in-process CCR backend (--ccr-backend memory).
 *
 * A chained hash table for lookup plus a doubly linked list in recency order: a put or a
 * hit moves the entry to the front, and the size cap (bytes and entries) evicts from the
 * back, so memory stays bounded however much is compressed. Expired entries are dropped
 * when met. One mutex guards everything; the critical sections are a lookup and a memcpy.
 * Ownership: each entry owns its key and bytes; close frees all of them.
 */
#include "ccr/store_backend.h"

#include "sys/clock.h"
#include "sys/hash.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct mem_entry {
    struct mem_entry *chain;      /* next in bucket */
    struct mem_entry *prev, *next; /* recency list, front = most recent */
    uint64_t key_hash;
    long long expires_ms;
    size_t len;
    char key[HR_TENANT_MAX + 1 + HR_CONTENT_HASH_HEX + 1];
    unsigned char data[]; /* len bytes */
} mem_entry;

typedef struct mem_store {
    pthread_mutex_t lock;
    mem_entry **buckets;
    size_t nbuckets; /* power of two */
    mem_entry *front, *back;
    size_t entries, bytes;
    size_t max_bytes, max_entries;
    uint64_t evictions;
} mem_store;

static void make_key(char *key, size_t cap, const char *tenant, const char *hash)
{
    snprintf(key, cap, "%s:%s", tenant, hash);
}

static mem_entry **bucket_of(mem_store *m, uint64_t h) { return &m->buckets[h & (m->nbuckets - 1)]; }

static void list_unlink(mem_store *m, mem_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        m->front = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        m->back = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_front(mem_store *m, mem_entry *e)
{
    e->prev = NULL;
    e->next = m->front;
    if (m->front)
        m->front->prev = e;
    m->front = e;
    if (!m->back)
        m->back = e;
}

static mem_entry *find(mem_store *m, const char *key, uint64_t h)
{
    for (mem_entry *e = *bucket_of(m, h); e; e = e->chain)
        if (e->key_hash == h && !strcmp(e->key, key))
            return e;
    return NULL;
}

static void remove_entry(mem_store *m, mem_entry *e)
{
    mem_entry **pp = bucket_of(m, e->key_hash);
    while (*pp != e)
        pp = &(*pp)->chain;
    *pp = e->chain;
    list_unlink(m, e);
    m->entries--;
    m->bytes -= e->len;
    free(e);
}

static void evict_to_fit(mem_store *m, size_t incoming)
{
    while (m->back && (m->bytes + incoming > m->max_bytes || m->entries + 1 > m->max_entries)) {
        remove_entry(m, m->back);
        m->evictions++;
    }
}

void *hr_ccr_memory_open(const hr_ccr_config *c, char *err, size_t errlen)
{
    mem_store *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->max_bytes = c->max_bytes ? c->max_bytes : (size_t)64 << 20;
    m->max_entries = c->max_entries ? c->max_entries : 65536;
    m->nbuckets = 1024;
    while (m->nbuckets < m->max_entries && m->nbuckets < ((size_t)1 << 20))
        m->nbuckets <<= 1;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

static int mem_put(void *self, const char *tenant, const char *hash, const void *data,
                   size_t len, unsigned ttl_seconds, char *err, size_t errlen)
{
    mem_store *m = self;
    if (len > m->max_bytes) {
        snprintf(err, errlen, "original of %zu bytes exceeds the memory store cap", len);
        return -1;
    }
    mem_entry *fresh = malloc(sizeof *fresh + len);
    if (!fresh) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memset(fresh, 0, sizeof *fresh);
    make_key(fresh->key, sizeof fresh->key, tenant, hash);
    fresh->key_hash = hr_hash64(fresh->key, strlen(fresh->key));
    fresh->len = len;
    memcpy(fresh->data, data, len);
    long long expires = hr_now_ms64() + (long long)ttl_seconds * 1000;

    pthread_mutex_lock(&m->lock);
    mem_entry *old = find(m, fresh->key, fresh->key_hash);
    if (old) { /* same content hash, same bytes: refresh TTL and recency only */
        old->expires_ms = expires;
        list_unlink(m, old);
        list_push_front(m, old);
        pthread_mutex_unlock(&m->lock);
        free(fresh);
        return 0;
    }
    evict_to_fit(m, len);
    fresh->expires_ms = expires;
    mem_entry **b = bucket_of(m, fresh->key_hash);
    fresh->chain = *b;
    *b = fresh;
    list_push_front(m, fresh);
    m->entries++;
    m->bytes += len;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static hr_ccr_status mem_get(void *self, const char *tenant, const char *hash, hr_buf *out,
                             char *err, size_t errlen)
{
    mem_store *m = self;
    char key[sizeof ((mem_entry *)0)->key];
    make_key(key, sizeof key, tenant, hash);
    uint64_t h = hr_hash64(key, strlen(key));
    hr_ccr_status st = HR_CCR_NOT_FOUND;
    pthread_mutex_lock(&m->lock);
    mem_entry *e = find(m, key, h);
    if (e && e->expires_ms <= hr_now_ms64()) {
        remove_entry(m, e);
        e = NULL;
    }
    if (e) {
        if (hr_buf_append(out, e->data, e->len) == 0) {
            list_unlink(m, e);
            list_push_front(m, e);
            st = HR_CCR_FOUND;
        } else {
            snprintf(err, errlen, "out of memory");
            st = HR_CCR_ERROR;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return st;
}

static void mem_stats(void *self, hr_ccr_stats *st)
{
    mem_store *m = self;
    pthread_mutex_lock(&m->lock);
    st->evictions = m->evictions;
    st->entries = (int64_t)m->entries;
    st->bytes = (int64_t)m->bytes;
    pthread_mutex_unlock(&m->lock);
}

static void mem_close(void *self)
{
    mem_store *m = self;
    while (m->front)
        remove_entry(m, m->front);
    pthread_mutex_destroy(&m->lock);
    free(m->buckets);
    free(m);
}

const hr_ccr_backend_ops hr_ccr_memory_ops = {"memory", mem_put, mem_get, mem_stats, mem_close};
