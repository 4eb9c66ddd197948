/* bpe.c: tiktoken's byte-pair encoding over pre-tokenised pieces (pretok.c) with a rank
 * table (ranks.c): the merge loop, encode / count / decode, the encodings' special tokens,
 * and the process-wide encoder singletons loaded lazily from the data dir.
 *
 * The merge follows tiktoken exactly (for pieces up to MAX_PIECE bytes): a piece that is
 * itself a token is one token; otherwise adjacent parts are merged lowest rank first,
 * leftmost on ties, until no adjacent pair is a token. Short pieces use tiktoken's linear scan; long pieces (long
 * whitespace runs, CJK runs without punctuation) a heap, so they stay O(n log n).
 */
#include "tokens/bpe.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Above this piece length the heap beats the O(n * merges) scan: bench_tokens_count --merge
 * measured the crossover near 100 bytes (docs/benchmarks.md). */
#define SCAN_MAX 128
#define NO_RANK UINT32_MAX

/* Pieces longer than this (whitespace runs, unpunctuated CJK, a megabyte of one letter) are
 * merged in chunks of this size, which bounds the merge's scratch memory (~44 bytes per
 * byte, ~11 MB) at the price of exactness at chunk seams: tiktoken would merge across
 * them (and take quadratic time doing it). See docs/tokens.md. */
#define MAX_PIECE ((size_t)1 << 18)

/* ---- linear scan (tiktoken's _byte_pair_merge) ---- */

/* Rank of the bytes from part i up to (not including) part i + 2. */
static uint32_t pair_rank(const hr_ranks *r, const uint8_t *piece, const size_t *start, size_t m,
                          size_t i)
{
    if (i + 2 >= m)
        return NO_RANK;
    return hr_ranks_lookup(r, piece + start[i], start[i + 2] - start[i]);
}

size_t hr_bpe_merge_scan(const hr_ranks *r, const uint8_t *piece, size_t n, size_t *ends)
{
    if (n == 0)
        return 0;
    /* start[0..m) are part boundaries (the last is n); rank[i] is the pair at i. */
    size_t start_buf[SCAN_MAX + 1];
    uint32_t rank_buf[SCAN_MAX + 1];
    size_t *start = start_buf;
    uint32_t *rank = rank_buf;
    if (n > SCAN_MAX) {
        start = malloc((n + 1) * sizeof *start);
        rank = malloc((n + 1) * sizeof *rank);
        if (!start || !rank) {
            free(start != start_buf ? start : NULL);
            free(rank != rank_buf ? rank : NULL);
            return 0;
        }
    }
    size_t m = n + 1;
    for (size_t i = 0; i < m; i++)
        start[i] = i;
    for (size_t i = 0; i < m; i++)
        rank[i] = pair_rank(r, piece, start, m, i);
    while (m > 2) {
        uint32_t best = NO_RANK;
        size_t at = 0;
        for (size_t i = 0; i + 1 < m; i++)
            if (rank[i] < best)
                best = rank[i], at = i;
        if (best == NO_RANK)
            break;
        memmove(start + at + 1, start + at + 2, (m - at - 2) * sizeof *start);
        memmove(rank + at + 1, rank + at + 2, (m - at - 2) * sizeof *rank);
        m--;
        rank[at] = pair_rank(r, piece, start, m, at);
        if (at > 0)
            rank[at - 1] = pair_rank(r, piece, start, m, at - 1);
    }
    for (size_t i = 1; i < m; i++)
        ends[i - 1] = start[i];
    if (start != start_buf) {
        free(start);
        free(rank);
    }
    return m - 1;
}

/* ---- heap merge for long pieces ---- */

/* Parts form a linked list over byte offsets: part p spans [p, next[p]). Heap keys are
 * (rank << 32 | p), so popping the minimum yields the lowest rank, leftmost on ties.
 * Entries go stale when a part is merged away or its pair grows; a popped entry is live
 * only if its part still exists and still has that pair rank (a pair only ever grows, so
 * an old rank cannot come back). */
typedef struct {
    uint32_t *next, *prev, *rank; /* per byte offset; prev == DEAD when merged away */
    uint64_t *heap;
    size_t heap_len;
} merge_state;

#define DEAD UINT32_MAX

static void heap_push(merge_state *s, uint64_t key)
{
    size_t i = s->heap_len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (s->heap[parent] <= key)
            break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = key;
}

static uint64_t heap_pop(merge_state *s)
{
    uint64_t top = s->heap[0], last = s->heap[--s->heap_len];
    size_t i = 0, n = s->heap_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && s->heap[c + 1] < s->heap[c])
            c++;
        if (last <= s->heap[c])
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n)
        s->heap[i] = last;
    return top;
}

/* Recomputes the pair rank of part p (p with its successor) and queues it. */
static void requeue(merge_state *s, const hr_ranks *r, const uint8_t *piece, uint32_t n, uint32_t p)
{
    uint32_t q = s->next[p];
    uint32_t end = q < n ? s->next[q] : n;
    s->rank[p] = q < n ? hr_ranks_lookup(r, piece + p, end - p) : NO_RANK;
    if (s->rank[p] != NO_RANK)
        heap_push(s, (uint64_t)s->rank[p] << 32 | p);
}

size_t hr_bpe_merge_heap(const hr_ranks *r, const uint8_t *piece, size_t n, size_t *ends)
{
    if (n == 0 || n >= DEAD)
        return 0;
    uint32_t n32 = (uint32_t)n;
    merge_state s = {0};
    s.next = malloc(n * sizeof *s.next);
    s.prev = malloc(n * sizeof *s.prev);
    s.rank = malloc(n * sizeof *s.rank);
    s.heap = malloc(3 * n * sizeof *s.heap); /* n initial pushes + 2 per merge (< n merges) */
    size_t count = 0;
    if (!s.next || !s.prev || !s.rank || !s.heap)
        goto out;
    for (uint32_t i = 0; i < n32; i++)
        s.next[i] = i + 1, s.prev[i] = i ? i - 1 : 0;
    for (uint32_t i = 0; i < n32; i++)
        requeue(&s, r, piece, n32, i);
    while (s.heap_len) {
        uint64_t key = heap_pop(&s);
        uint32_t p = (uint32_t)key, rk = (uint32_t)(key >> 32);
        if (s.prev[p] == DEAD || s.rank[p] != rk)
            continue;
        uint32_t q = s.next[p];
        s.next[p] = s.next[q];
        s.prev[q] = DEAD;
        if (s.next[p] < n32)
            s.prev[s.next[p]] = p;
        requeue(&s, r, piece, n32, p);
        if (p > 0)
            requeue(&s, r, piece, n32, s.prev[p]);
    }
    for (uint32_t p = 0; p < n32; p = s.next[p])
        ends[count++] = s.next[p];
out:
    free(s.next);
    free(s.prev);
    free(s.rank);
    free(s.heap);
    return count;
}

size_t hr_bpe_merge(const hr_ranks *r, const uint8_t *piece, size_t n, size_t *ends)
{
    return n <= SCAN_MAX ? hr_bpe_merge_scan(r, piece, n, ends) : hr_bpe_merge_heap(r, piece, n, ends);
}

/* ---- encoder ---- */

typedef struct {
    const char *text;
    uint32_t id;
} special_token;

static const special_token CL100K_SPECIAL[] = {
    {"<|endoftext|>", 100257}, {"<|fim_prefix|>", 100258}, {"<|fim_middle|>", 100259},
    {"<|fim_suffix|>", 100260}, {"<|endofprompt|>", 100276},
};
static const special_token O200K_SPECIAL[] = {
    {"<|endoftext|>", 199999},
    {"<|endofprompt|>", 200018},
};

struct hr_bpe {
    hr_tok_encoding enc;
    hr_ranks *ranks;
    const special_token *special;
    size_t n_special;
};

hr_bpe *hr_bpe_new(hr_tok_encoding enc, hr_ranks *ranks)
{
    hr_bpe *b = calloc(1, sizeof *b);
    if (!b || (enc != HR_TOK_O200K && enc != HR_TOK_CL100K)) {
        free(b);
        hr_ranks_free(ranks);
        return NULL;
    }
    b->enc = enc;
    b->ranks = ranks;
    if (enc == HR_TOK_CL100K)
        b->special = CL100K_SPECIAL, b->n_special = sizeof CL100K_SPECIAL / sizeof *CL100K_SPECIAL;
    else
        b->special = O200K_SPECIAL, b->n_special = sizeof O200K_SPECIAL / sizeof *O200K_SPECIAL;
    return b;
}

void hr_bpe_free(hr_bpe *b)
{
    if (!b)
        return;
    hr_ranks_free(b->ranks);
    free(b);
}

const hr_ranks *hr_bpe_ranks(const hr_bpe *b) { return b->ranks; }

hr_tok_encoding hr_bpe_encoding(const hr_bpe *b) { return b->enc; }

/* Receives the tokens of each piece; ids is NULL when only counting. */
typedef struct {
    uint32_t *ids;
    size_t n, cap;
    bool failed;
} sink;

static void sink_put(sink *s, uint32_t id)
{
    if (s->n == s->cap && s->ids) {
        size_t ncap = s->cap * 2;
        uint32_t *nv = realloc(s->ids, ncap * sizeof *nv);
        if (!nv) {
            s->failed = true;
            return;
        }
        s->ids = nv, s->cap = ncap;
    }
    if (s->ids)
        s->ids[s->n] = id;
    s->n++;
}

/* Merges piece (not itself a token) and emits its tokens. */
static void merge_and_emit(const hr_bpe *b, const uint8_t *piece, size_t n, sink *out)
{
    size_t ends_buf[SCAN_MAX];
    size_t *ends = n <= SCAN_MAX ? ends_buf : malloc(n * sizeof *ends);
    size_t k = ends ? hr_bpe_merge(b->ranks, piece, n, ends) : 0;
    if (k == 0) {
        out->failed = true; /* out of memory */
    } else if (!out->ids) {
        out->n += k;
    } else {
        for (size_t i = 0, s = 0; i < k; s = ends[i++])
            sink_put(out, hr_ranks_lookup(b->ranks, piece + s, ends[i] - s));
    }
    if (ends != ends_buf)
        free(ends);
}

/* Where to cut a giant piece: at most MAX_PIECE bytes, backed off to a UTF-8 character
 * boundary when one is near. */
static size_t chunk_len(const uint8_t *p, size_t n)
{
    if (n <= MAX_PIECE)
        return n;
    size_t k = MAX_PIECE;
    for (int back = 0; back < 3 && (p[k] & 0xC0) == 0x80; back++)
        k--;
    return (p[k] & 0xC0) == 0x80 ? MAX_PIECE : k;
}

static void encode_piece(const hr_bpe *b, const uint8_t *piece, size_t n, sink *out)
{
    uint32_t whole = hr_ranks_lookup(b->ranks, piece, n);
    if (whole != NO_RANK) {
        sink_put(out, whole);
        return;
    }
    while (n > 0 && !out->failed) {
        size_t k = chunk_len(piece, n);
        merge_and_emit(b, piece, k, out);
        piece += k, n -= k;
    }
}

static void encode_ordinary(const hr_bpe *b, const char *text, size_t len, sink *out)
{
    for (size_t pos = 0; pos < len && !out->failed;) {
        size_t k = hr_pretok_next(b->enc, text, len, pos);
        encode_piece(b, (const uint8_t *)text + pos, k, out);
        pos += k;
    }
}

/* The leftmost special token in text[pos, len); returns its index or -1. */
static int next_special(const hr_bpe *b, const char *text, size_t len, size_t pos, size_t *at)
{
    while (pos + 1 < len) {
        const char *p = memmem(text + pos, len - pos, "<|", 2);
        if (!p)
            return -1;
        size_t off = (size_t)(p - text);
        for (size_t i = 0; i < b->n_special; i++) {
            size_t sl = strlen(b->special[i].text);
            if (sl <= len - off && memcmp(p, b->special[i].text, sl) == 0) {
                *at = off;
                return (int)i;
            }
        }
        pos = off + 1;
    }
    return -1;
}

static void encode_with_special(const hr_bpe *b, const char *text, size_t len, sink *out)
{
    size_t pos = 0;
    while (pos <= len && !out->failed) {
        size_t at = len;
        int si = next_special(b, text, len, pos, &at);
        encode_ordinary(b, text + pos, at - pos, out);
        if (si < 0)
            break;
        sink_put(out, b->special[si].id);
        pos = at + strlen(b->special[si].text);
    }
}

int hr_bpe_encode(const hr_bpe *b, const char *text, size_t len, int allow_special,
                  uint32_t **ids, size_t *n)
{
    sink s = {malloc(64 * sizeof(uint32_t)), 0, 64, false};
    *ids = NULL;
    *n = 0;
    if (!s.ids)
        return -1;
    if (allow_special)
        encode_with_special(b, text, len, &s);
    else
        encode_ordinary(b, text, len, &s);
    if (s.failed) {
        free(s.ids);
        return -1;
    }
    *ids = s.ids;
    *n = s.n;
    return 0;
}

size_t hr_bpe_count(const hr_bpe *b, const char *text, size_t len)
{
    sink s = {NULL, 0, 0, false};
    encode_ordinary(b, text, len, &s);
    /* Out of memory inside one giant piece: its bytes bound its token count from above. */
    return s.failed ? s.n + len : s.n;
}

int hr_bpe_decode(const hr_bpe *b, const uint32_t *ids, size_t n, char **out, size_t *out_len)
{
    size_t cap = 64, len = 0;
    char *buf = malloc(cap);
    *out = NULL;
    *out_len = 0;
    if (!buf)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t tl = 0;
        const uint8_t *t = hr_ranks_bytes(b->ranks, ids[i], &tl);
        for (size_t k = 0; !t && k < b->n_special; k++)
            if (b->special[k].id == ids[i])
                t = (const uint8_t *)b->special[k].text, tl = strlen(b->special[k].text);
        if (!t) {
            free(buf);
            return -1;
        }
        if (len + tl + 1 > cap) {
            while (len + tl + 1 > cap)
                cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return -1;
            }
            buf = nb;
        }
        memcpy(buf + len, t, tl);
        len += tl;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

/* ---- process-wide encoders (the documented singletons) ---- */

static _Atomic(hr_bpe *) g_loaded[3];
/* Remembered load failures, read without the lock so the estimator fallback (no rank
 * file) costs no mutex per count. */
static atomic_bool g_failed[3];
static char g_error[3][512];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static hr_bpe *load_from_data_dir(hr_tok_encoding enc, char *err, size_t errlen)
{
    char path[4200];
    if (hr_tokens_rank_path(enc, path, sizeof path) != 0) {
        snprintf(err, errlen, "no data dir (set HEADROOM_DATA_DIR or HOME)");
        return NULL;
    }
    hr_ranks *r = NULL;
    if (hr_ranks_load_file(path, &r, err, errlen) != 0)
        return NULL;
    hr_bpe *b = hr_bpe_new(enc, r);
    if (!b)
        snprintf(err, errlen, "out of memory");
    return b;
}

const hr_bpe *hr_bpe_get(hr_tok_encoding enc)
{
    if (enc != HR_TOK_O200K && enc != HR_TOK_CL100K)
        return NULL;
    hr_bpe *b = atomic_load_explicit(&g_loaded[enc], memory_order_acquire);
    if (b || atomic_load_explicit(&g_failed[enc], memory_order_relaxed))
        return b;
    pthread_mutex_lock(&g_lock);
    b = atomic_load_explicit(&g_loaded[enc], memory_order_relaxed);
    if (!b && !atomic_load_explicit(&g_failed[enc], memory_order_relaxed)) {
        b = load_from_data_dir(enc, g_error[enc], sizeof g_error[enc]);
        if (b)
            atomic_store_explicit(&g_loaded[enc], b, memory_order_release);
        else
            atomic_store_explicit(&g_failed[enc], true, memory_order_relaxed);
    }
    pthread_mutex_unlock(&g_lock);
    return b;
}

int hr_tokens_status(hr_tok_encoding enc, char *msg, size_t n)
{
    if (hr_bpe_get(enc)) {
        snprintf(msg, n, "%s loaded", hr_tok_encoding_name(enc));
        return 1;
    }
    if (enc != HR_TOK_O200K && enc != HR_TOK_CL100K) {
        snprintf(msg, n, "estimator");
        return 0;
    }
    pthread_mutex_lock(&g_lock);
    snprintf(msg, n, "%s unavailable: %s", hr_tok_encoding_name(enc), g_error[enc]);
    pthread_mutex_unlock(&g_lock);
    return 0;
}

void hr_bpe_forget_failures(void)
{
    pthread_mutex_lock(&g_lock);
    for (int e = 0; e < 3; e++)
        atomic_store_explicit(&g_failed[e], false, memory_order_relaxed);
    pthread_mutex_unlock(&g_lock);
}
