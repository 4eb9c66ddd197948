/* cache_watch.c: see cache_watch.h. Message identity is a 64-bit hash of its exact bytes
 * (hr_hash64); a collision could hide one bust, never invent one. */
#include "proxy/cache_watch.h"

#include "json/json.h"
#include "sys/assert.h"
#include "sys/hash.h"
#include "sys/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SESSIONS 256
#define MAX_MESSAGES 512 /* messages remembered per turn; later ones are not compared */

typedef struct session {
    char id[64];
    unsigned long long last_use;
    size_t n;                                     /* messages of the previous turn */
    uint64_t sent[MAX_MESSAGES], fwd[MAX_MESSAGES];
    unsigned long long turns, busts;
    long long cache_read, cache_write, input;
    char reason[96];
} session;

static struct {
    pthread_mutex_t mu;
    session *s[MAX_SESSIONS];
    unsigned long long clock, busts;
} W = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The session's slot (created, or the least recently used one reused); NULL on OOM. */
static session *find_locked(const char *id)
{
    HR_ASSERT_HELD(&W.mu);
    size_t lru = 0;
    for (size_t i = 0; i < MAX_SESSIONS; i++) {
        if (W.s[i] && !strcmp(W.s[i]->id, id)) {
            W.s[i]->last_use = ++W.clock;
            return W.s[i];
        }
        if (!W.s[i] || (W.s[lru] && W.s[i]->last_use < W.s[lru]->last_use))
            lru = i;
    }
    if (!W.s[lru] && !(W.s[lru] = malloc(sizeof(session))))
        return NULL;
    memset(W.s[lru], 0, sizeof(session));
    snprintf(W.s[lru]->id, sizeof W.s[lru]->id, "%s", id);
    W.s[lru]->last_use = ++W.clock;
    return W.s[lru];
}

/* Where the span [*start, *end) of d's source lies in the forwarded body: moved by the
 * edits before it, resized by those inside it. -1 when an edit crosses one of its edges
 * (or inserts right at its start, which could be read as either side). */
static int forwarded_span(const hr_json_edits *edits, size_t *start, size_t *end)
{
    size_t s = *start, e = *end;
    long long shift = 0, grow = 0;
    for (size_t i = 0; edits && i < edits->n; i++) {
        const hr_json_edits_item *it = &edits->item[i];
        long long delta = (long long)it->data.len - (long long)(it->end - it->start);
        if (it->start >= e)
            continue; /* after it */
        if (it->end <= s && it->start < s)
            shift += delta;
        else if (it->start >= s && it->end <= e && !(it->start == s && it->end == s))
            grow += delta;
        else
            return -1;
    }
    *start = (size_t)((long long)s + shift);
    *end = (size_t)((long long)e + shift + grow);
    return 0;
}

/* Hashes of each element of the messages array as sent (sent[]) and as forwarded (fwd[]).
 * The count, or 0 when the turn cannot be compared. */
static size_t message_hashes(const hr_json_doc *d, uint32_t messages, const hr_json_edits *edits,
                             const char *fwd, size_t fwd_len, uint64_t *sent, uint64_t *fwds)
{
    size_t n = 0;
    HR_JSON_FOREACH(d, messages, c) {
        if (n == MAX_MESSAGES)
            break;
        size_t start = d->nodes[c].start, end = d->nodes[c].end;
        sent[n] = hr_hash64(d->src + start, end - start);
        if (forwarded_span(edits, &start, &end) != 0 || end > fwd_len)
            return 0;
        fwds[n++] = hr_hash64(fwd + start, end - start);
    }
    return n;
}

int hr_cache_watch_turn(const char *id, const char *request_id, const hr_json_doc *d,
                        uint32_t messages, const hr_json_edits *edits, const char *fwd,
                        size_t fwd_len)
{
    if (!id || !*id)
        return 0;
    uint64_t *h = malloc(2 * MAX_MESSAGES * sizeof *h);
    if (!h)
        return 0;
    if (!edits) { /* forwarded as sent */
        fwd = d->src;
        fwd_len = d->len;
    }
    size_t ns = message_hashes(d, messages, edits, fwd, fwd_len, h, h + MAX_MESSAGES);
    size_t nf = ns;
    int bust = 0;
    char reason[96] = "";
    pthread_mutex_lock(&W.mu);
    session *s = find_locked(id);
    if (s && ns == nf) {
        /* only messages the client re-sent unchanged count: an edited history is theirs */
        for (size_t i = 0; i < s->n && i < ns && !bust; i++)
            if (s->sent[i] == h[i] && s->fwd[i] != h[MAX_MESSAGES + i]) {
                bust = 1;
                snprintf(reason, sizeof reason, "message %zu compressed differently than last turn", i);
            }
        s->n = ns;
        memcpy(s->sent, h, ns * sizeof *h);
        memcpy(s->fwd, h + MAX_MESSAGES, ns * sizeof *h);
        s->turns++;
        if (bust) {
            s->busts++;
            W.busts++;
            snprintf(s->reason, sizeof s->reason, "%s", reason);
        }
    }
    pthread_mutex_unlock(&W.mu);
    free(h);
    if (bust)
        hr_log_fields(HR_LOG_WARN, "prompt cache bust caused by compression", "id", request_id ? request_id : "",
                      "session", id, "reason", reason, NULL);
    return bust;
}

void hr_cache_watch_usage(const char *id, const hr_request_record *r)
{
    if (!id || !*id)
        return;
    pthread_mutex_lock(&W.mu);
    session *s = find_locked(id);
    if (s) {
        s->cache_read += r->cache_read_tokens;
        s->cache_write += r->cache_creation_tokens;
        s->input += r->input_tokens;
    }
    pthread_mutex_unlock(&W.mu);
}

static int by_recent(const void *a, const void *b)
{
    const session *x = *(session *const *)a, *y = *(session *const *)b;
    return (x->last_use < y->last_use) - (x->last_use > y->last_use);
}

int hr_cache_watch_json(hr_buf *o)
{
    session *list[MAX_SESSIONS];
    size_t n = 0;
    pthread_mutex_lock(&W.mu);
    for (size_t i = 0; i < MAX_SESSIONS; i++)
        if (W.s[i])
            list[n++] = W.s[i];
    qsort(list, n, sizeof *list, by_recent);
    int rc = hr_buf_printf(o, "{\"sessions_tracked\":%zu,\"busts\":%llu,\"sessions\":[", n, W.busts);
    for (size_t i = 0; i < n && i < 20; i++) {
        const session *s = list[i];
        long long all = s->cache_read + s->cache_write + s->input;
        rc |= hr_buf_puts(o, i ? ",{\"session\":" : "{\"session\":");
        rc |= hr_json_write_string(o, s->id, strlen(s->id));
        rc |= hr_buf_printf(o, ",\"turns\":%llu,\"cache_read_tokens\":%lld,\"cache_write_tokens\":%lld,"
                               "\"input_tokens\":%lld,\"hit_rate\":%.4f,\"busts\":%llu,\"last_bust_reason\":",
                            s->turns, s->cache_read, s->cache_write, s->input,
                            all > 0 ? (double)s->cache_read / (double)all : 0.0, s->busts);
        rc |= hr_json_write_string(o, s->reason, strlen(s->reason));
        rc |= hr_buf_putc(o, '}');
    }
    pthread_mutex_unlock(&W.mu);
    rc |= hr_buf_puts(o, "]}");
    return rc;
}

void hr_cache_watch_reset(void)
{
    pthread_mutex_lock(&W.mu);
    for (size_t i = 0; i < MAX_SESSIONS; i++) {
        free(W.s[i]);
        W.s[i] = NULL;
    }
    W.busts = W.clock = 0;
    pthread_mutex_unlock(&W.mu);
}
