/* ranks.c: the BPE rank table, parsed from a standard .tiktoken file (one line per token:
 * base64 of its bytes, a space, its rank). Owns the token bytes (one arena), the
 * rank -> bytes index used by decode, and an open-addressing hash from bytes to rank that
 * the merge loop queries for every candidate pair, so lookups are kept allocation-free.
 * A table is immutable after parsing and may be shared by any number of threads.
 */
#include "tokens/bpe.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t offset; /* into arena */
    uint32_t len;    /* 0 = no token has this rank */
} token_span;

/* A slot carries the token's first 8 bytes and length, so a probe is settled without
 * touching the arena for tokens up to 8 bytes (most of them): one cache miss per lookup
 * instead of three. */
typedef struct {
    uint64_t head;   /* first min(8, len) bytes, zero padded */
    uint32_t rank1;  /* rank + 1; 0 = empty */
    uint32_t len;
} hash_slot;

struct hr_ranks {
    uint8_t *arena;
    size_t arena_len;
    token_span *by_rank; /* indexed by rank */
    size_t n_ranks;      /* max rank + 1 */
    size_t n_tokens;
    size_t max_len;      /* longest token: longer lookups miss without hashing */
    hash_slot *slots;
    size_t mask; /* slot count - 1 */
    int counted; /* its bytes are in g_bytes_held */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static uint64_t head_of(const uint8_t *p, size_t n)
{
    uint64_t h = 0;
    memcpy(&h, p, n < 8 ? n : 8);
    return h;
}

static uint64_t mix(uint64_t h)
{
    h *= 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 32);
}

/* Multiply-xorshift hash. Most tokens fit in 8 bytes, so their hash is one multiply of
 * the head (already loaded for the slot comparison) and the length. */
static inline uint64_t hash_bytes(const uint8_t *p, size_t n, uint64_t head)
{
    uint64_t h = mix(head ^ ((uint64_t)n << 58) ^ 0x9E3779B97F4A7C15ull);
    for (size_t i = 8; i < n; i += 8) {
        uint64_t w = 0;
        memcpy(&w, p + i, n - i < 8 ? n - i : 8);
        h = mix(h ^ w);
    }
    return h;
}

static inline bool slot_matches(const hr_ranks *r, const hash_slot *s, const uint8_t *bytes,
                                size_t n, uint64_t head)
{
    if (s->len != n || s->head != head)
        return false;
    return n <= 8 || memcmp(r->arena + r->by_rank[s->rank1 - 1].offset + 8, bytes + 8, n - 8) == 0;
}

uint32_t hr_ranks_lookup(const hr_ranks *r, const uint8_t *bytes, size_t n)
{
    if (n > r->max_len)
        return UINT32_MAX;
    uint64_t head = head_of(bytes, n);
    size_t i = hash_bytes(bytes, n, head) & r->mask;
    for (;;) {
        const hash_slot *s = &r->slots[i];
        if (!s->rank1)
            return UINT32_MAX;
        if (slot_matches(r, s, bytes, n, head))
            return s->rank1 - 1;
        i = (i + 1) & r->mask;
    }
}

const uint8_t *hr_ranks_bytes(const hr_ranks *r, uint32_t rank, size_t *n)
{
    if (rank >= r->n_ranks || r->by_rank[rank].len == 0)
        return NULL;
    *n = r->by_rank[rank].len;
    return r->arena + r->by_rank[rank].offset;
}

size_t hr_ranks_size(const hr_ranks *r) { return r->n_tokens; }

/* Bytes of every live table's arrays, for /debug/memory's accounting. */
static atomic_size_t g_bytes_held;

static size_t table_bytes(const hr_ranks *r)
{
    return r->arena_len + 4 + r->n_ranks * sizeof *r->by_rank + (r->mask + 1) * sizeof *r->slots;
}

size_t hr_ranks_bytes_held(void) { return atomic_load(&g_bytes_held); }

void hr_ranks_free(hr_ranks *r)
{
    if (!r)
        return;
    if (r->counted)
        atomic_fetch_sub(&g_bytes_held, table_bytes(r));
    free(r->arena);
    free(r->by_rank);
    free(r->slots);
    free(r);
}

static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decodes standard padded base64 into out (capacity >= 3 * n / 4); returns the length or
 * -1 when malformed. */
static long b64_decode(const uint8_t *in, size_t n, uint8_t *out)
{
    if (n == 0 || n % 4)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (in[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0, pad++;
            } else {
                if (pad)
                    return -1;
                v[k] = b64_value(in[i + k]);
                if (v[k] < 0)
                    return -1;
            }
        }
        uint32_t q = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (uint8_t)(q >> 16);
        if (pad < 2)
            out[o++] = (uint8_t)(q >> 8);
        if (pad < 1)
            out[o++] = (uint8_t)q;
    }
    return (long)o;
}

typedef struct {
    const uint8_t *tok; /* base64 text */
    size_t tok_len;
    uint32_t rank;
} line_t;

/* Splits data into (base64, rank) lines; *lines is malloc'd. */
static int split_lines(const uint8_t *d, size_t len, line_t **lines, size_t *count, char *err,
                       size_t errlen)
{
    size_t cap = 1024, n = 0, lineno = 0;
    line_t *v = malloc(cap * sizeof *v);
    if (!v)
        return set_err(err, errlen, "out of memory"), -1;
    size_t p = 0;
    while (p < len) {
        lineno++;
        const uint8_t *nl = memchr(d + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - d) : len;
        size_t le = e;
        if (le > p && d[le - 1] == '\r')
            le--;
        if (le > p) {
            const uint8_t *sp = memchr(d + p, ' ', le - p);
            if (!sp || sp == d + p || sp + 1 == d + le) {
                free(v);
                return set_err(err, errlen, "line %zu: expected '<base64> <rank>'", lineno), -1;
            }
            uint64_t rank = 0;
            for (const uint8_t *q = sp + 1; q < d + le; q++) {
                if (*q < '0' || *q > '9' || rank > 100000000) {
                    free(v);
                    return set_err(err, errlen, "line %zu: bad rank", lineno), -1;
                }
                rank = rank * 10 + (uint64_t)(*q - '0');
            }
            if (n == cap) {
                line_t *nv = realloc(v, 2 * cap * sizeof *v);
                if (!nv) {
                    free(v);
                    return set_err(err, errlen, "out of memory"), -1;
                }
                v = nv, cap *= 2;
            }
            v[n++] = (line_t){d + p, (size_t)(sp - (d + p)), (uint32_t)rank};
        }
        p = e + 1;
    }
    *lines = v;
    *count = n;
    return 0;
}

/* Inserts rank into the hash; -1 when its bytes are already present. */
/* Inserts rank into the hash; -1 when its bytes are already present. */
static int insert_rank(hr_ranks *r, uint32_t rank)
{
    const token_span *t = &r->by_rank[rank];
    const uint8_t *b = r->arena + t->offset;
    uint64_t head = head_of(b, t->len);
    size_t i = hash_bytes(b, t->len, head) & r->mask;
    while (r->slots[i].rank1) {
        if (slot_matches(r, &r->slots[i], b, t->len, head))
            return -1;
        i = (i + 1) & r->mask;
    }
    r->slots[i] = (hash_slot){head, rank + 1, t->len};
    return 0;
}

static int build_table(hr_ranks *r, const line_t *lines, size_t n, char *err, size_t errlen)
{
    size_t max_rank = 0, b64_total = 0;
    for (size_t i = 0; i < n; i++) {
        if (lines[i].rank > max_rank)
            max_rank = lines[i].rank;
        b64_total += lines[i].tok_len;
    }
    r->n_ranks = max_rank + 1;
    r->arena = malloc(b64_total / 4 * 3 + 4);
    r->by_rank = calloc(r->n_ranks, sizeof *r->by_rank);
    size_t slots = 1024;
    while (slots < n * 2 + 2)
        slots <<= 1;
    r->slots = calloc(slots, sizeof *r->slots);
    r->mask = slots - 1;
    if (!r->arena || !r->by_rank || !r->slots)
        return set_err(err, errlen, "out of memory"), -1;
    for (size_t i = 0; i < n; i++) {
        long bl = b64_decode(lines[i].tok, lines[i].tok_len, r->arena + r->arena_len);
        if (bl <= 0)
            return set_err(err, errlen, "rank %u: bad base64", lines[i].rank), -1;
        token_span *t = &r->by_rank[lines[i].rank];
        if (t->len)
            return set_err(err, errlen, "rank %u appears twice", lines[i].rank), -1;
        t->offset = (uint32_t)r->arena_len;
        t->len = (uint32_t)bl;
        r->arena_len += (size_t)bl;
        if ((size_t)bl > r->max_len)
            r->max_len = (size_t)bl;
        if (insert_rank(r, lines[i].rank) != 0)
            return set_err(err, errlen, "rank %u: token bytes appear twice", lines[i].rank), -1;
    }
    r->n_tokens = n;
    for (int b = 0; b < 256; b++) {
        uint8_t byte = (uint8_t)b;
        if (hr_ranks_lookup(r, &byte, 1) == UINT32_MAX)
            return set_err(err, errlen, "byte 0x%02x has no rank", b), -1;
    }
    r->counted = 1;
    atomic_fetch_add(&g_bytes_held, table_bytes(r));
    return 0;
}

int hr_ranks_parse(const char *data, size_t len, hr_ranks **out, char *err, size_t errlen)
{
    *out = NULL;
    line_t *lines = NULL;
    size_t n = 0;
    if (split_lines((const uint8_t *)data, len, &lines, &n, err, errlen) != 0)
        return -1;
    if (n == 0) {
        free(lines);
        return set_err(err, errlen, "no tokens"), -1;
    }
    hr_ranks *r = calloc(1, sizeof *r);
    if (!r) {
        free(lines);
        return set_err(err, errlen, "out of memory"), -1;
    }
    int rc = build_table(r, lines, n, err, errlen);
    free(lines);
    if (rc != 0) {
        hr_ranks_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

int hr_ranks_load_file(const char *path, hr_ranks **out, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return set_err(err, errlen, "%s: %s", path, strerror(errno)), -1;
    char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 1 << 20;
            char *nd = realloc(data, ncap);
            if (!nd) {
                free(data);
                fclose(f);
                return set_err(err, errlen, "out of memory"), -1;
            }
            data = nd, cap = ncap;
        }
        size_t got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int read_err = ferror(f);
    fclose(f);
    if (read_err) {
        free(data);
        return set_err(err, errlen, "%s: read error", path), -1;
    }
    int rc = hr_ranks_parse(data, len, out, err, errlen);
    free(data);
    return rc;
}
