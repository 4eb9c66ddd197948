/* bytebpe.c: the byte-level BPE tokenizer (contract and behaviour in bytebpe.h).
 *
 * Owns: one allocation holding the token-string index (open addressing over hr_hash64),
 * the merge index keyed by the (left, right) id pair, and the added tokens sorted for
 * matching. The merge loop is HF tokenizers' Word::merge_all: a min-heap of candidate
 * pairs ordered by (rank, position), stale entries skipped when popped, so the lowest
 * rank merges first and the leftmost wins ties. Its scratch lives on the stack for pieces
 * up to BPE_STACK_BYTES; longer pieces take one heap block for the call.
 */
#include "ml/bytebpe.h"

#include "sys/hash.h"
#include "tokens/bpe.h"
#include "tokens/unicode_tables.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define BPE_STACK_BYTES 256
/* Longest piece merged as one (see bytebpe.h): bounds the merge scratch to ~3 MB. */
#define BPE_MAX_PIECE 65536
#define DEAD_SYMBOL (-1)

typedef struct {
    uint32_t id1; /* token id + 1; 0 = empty */
} tok_slot;

typedef struct {
    uint64_t key;    /* (left << 32 | right) + 1; 0 = empty */
    uint32_t rank;
    int32_t result;
} merge_slot;

typedef struct {
    const char *s;   /* borrowed from the vocab blob */
    uint32_t len;
    int32_t id;
    uint32_t flags;  /* HR_ADDF_* */
} added_tok;

/* Added tokens of one matching pass, by first byte: tokens[first[b] .. first[b + 1]) start
 * with byte b, longest first, so the first hit is the leftmost-longest match. */
typedef struct {
    const added_tok *tokens;
    uint32_t first[257];
} added_pass;

struct hr_bytebpe {
    hr_model_vocab v;        /* view: strings, merges, added table are borrowed */
    int32_t byte_id[256];    /* token of each byte's GPT-2 character; -1 if missing */
    uint32_t tok_mask;
    tok_slot *toks;          /* into this allocation */
    uint32_t merge_mask;
    merge_slot *merges;      /* into this allocation */
    added_tok *added;        /* into this allocation: pass 1 then pass 2 */
    added_pass pass[2];      /* [0] normalized = false, [1] normalized = true */
};

/* ---- indexes ----------------------------------------------------------------------------- */

static const char *token_at(const hr_model_vocab *v, uint32_t id, size_t *len)
{
    *len = v->offsets[id + 1] - v->offsets[id];
    return v->blob + v->offsets[id];
}

int32_t hr_bytebpe_token_id(const hr_bytebpe *t, const char *s, size_t len)
{
    for (uint32_t i = (uint32_t)hr_hash64(s, len) & t->tok_mask;; i = (i + 1) & t->tok_mask) {
        uint32_t id1 = t->toks[i].id1;
        if (!id1)
            return -1;
        size_t tlen;
        const char *ts = token_at(&t->v, id1 - 1, &tlen);
        if (tlen == len && memcmp(ts, s, len) == 0)
            return (int32_t)(id1 - 1);
    }
}

static uint64_t pair_key(int32_t left, int32_t right)
{
    return ((uint64_t)(uint32_t)left << 32 | (uint32_t)right) + 1;
}

static uint32_t pair_slot(uint64_t key, uint32_t mask)
{
    return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

/* The merge of (left, right): its rank and merged id, or NULL. */
static const merge_slot *merge_find(const hr_bytebpe *t, int32_t left, int32_t right)
{
    uint64_t key = pair_key(left, right);
    for (uint32_t i = pair_slot(key, t->merge_mask);; i = (i + 1) & t->merge_mask) {
        const merge_slot *m = &t->merges[i];
        if (m->key == key)
            return m;
        if (!m->key)
            return NULL;
    }
}

static uint32_t pow2_above(uint64_t n)
{
    uint32_t p = 16;
    while (p < 2 * n)
        p <<= 1;
    return p;
}

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 to
 * U+0100.. in byte order. Writes the character's UTF-8 into out; returns its length. */
static size_t byte_char(uint8_t b, char out[2])
{
    uint32_t cp = b;
    if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE))) {
        uint32_t n = 0;
        for (uint32_t x = 0; x < b; x++)
            if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE)))
                n++;
        cp = 256 + n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* String -> id for byte tokens and ignore_merges. A string held twice (an added token
 * repeating a vocabulary entry) resolves to its lower id, as the model's own vocab map. */
static void build_token_index(hr_bytebpe *t)
{
    for (uint32_t id = 0; id < t->v.n_tokens; id++) {
        size_t len;
        const char *s = token_at(&t->v, id, &len);
        if (hr_bytebpe_token_id(t, s, len) >= 0)
            continue;
        uint32_t i = (uint32_t)hr_hash64(s, len) & t->tok_mask;
        while (t->toks[i].id1)
            i = (i + 1) & t->tok_mask;
        t->toks[i].id1 = id + 1;
    }
    for (int b = 0; b < 256; b++) {
        char c[2];
        size_t n = byte_char((uint8_t)b, c);
        t->byte_id[b] = hr_bytebpe_token_id(t, c, n);
    }
}

/* Merges in rank order; a repeated pair keeps its first (lowest) rank, as HF's map does
 * when it is built from the list. */
static void build_merge_index(hr_bytebpe *t)
{
    for (uint32_t r = 0; r < t->v.n_merges; r++) {
        const uint32_t *m = t->v.merges + 3 * (size_t)r;
        uint64_t key = pair_key((int32_t)m[0], (int32_t)m[1]);
        uint32_t i = pair_slot(key, t->merge_mask);
        while (t->merges[i].key && t->merges[i].key != key)
            i = (i + 1) & t->merge_mask;
        if (!t->merges[i].key)
            t->merges[i] = (merge_slot){key, r, (int32_t)m[2]};
    }
}

static int added_cmp(const void *a, const void *b)
{
    const added_tok *x = a, *y = b;
    int px = !!(x->flags & HR_ADDF_NORMALIZED), py = !!(y->flags & HR_ADDF_NORMALIZED);
    if (px != py)
        return px - py;
    uint8_t fx = (uint8_t)x->s[0], fy = (uint8_t)y->s[0];
    if (fx != fy)
        return fx - fy;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return x->id - y->id;
}

static void build_added(hr_bytebpe *t)
{
    uint32_t n = t->v.n_added, n_plain = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t len;
        int32_t id = (int32_t)t->v.added[2 * i];
        t->added[i] = (added_tok){token_at(&t->v, (uint32_t)id, &len), 0, id, t->v.added[2 * i + 1]};
        t->added[i].len = (uint32_t)len;
        n_plain += !(t->added[i].flags & HR_ADDF_NORMALIZED);
    }
    qsort(t->added, n, sizeof *t->added, added_cmp);
    for (int p = 0; p < 2; p++) {
        added_pass *ap = &t->pass[p];
        uint32_t lo = p ? n_plain : 0, hi = p ? n : n_plain;
        ap->tokens = t->added + lo;
        uint32_t k = 0;
        for (int b = 0; b <= 256; b++) {
            while (k < hi - lo && b < 256 && (uint8_t)ap->tokens[k].s[0] < b)
                k++;
            ap->first[b] = b < 256 ? k : hi - lo;
        }
    }
}

int hr_bytebpe_new(const hr_model_vocab *vocab, hr_bytebpe **out, hr_ml_error *err)
{
    *out = NULL;
    if (vocab->kind != HR_TOK_BPE || vocab->n_merges == 0) {
        hr_ml_error_set(err, "model has no byte-level BPE merges (kind %u, %u merges): "
                             "re-import it with this version",
                        vocab->kind, vocab->n_merges);
        return -1;
    }
    if (vocab->cls_id < 0 || vocab->sep_id < 0) {
        hr_ml_error_set(err, "BPE vocabulary lacks [CLS] or [SEP]");
        return -1;
    }
    uint32_t tok_slots = pow2_above(vocab->n_tokens), merge_slots = pow2_above(vocab->n_merges);
    size_t bytes = sizeof(hr_bytebpe) + (size_t)tok_slots * sizeof(tok_slot) +
                   (size_t)merge_slots * sizeof(merge_slot) + (size_t)vocab->n_added * sizeof(added_tok);
    hr_bytebpe *t = calloc(1, bytes);
    if (!t) {
        hr_ml_error_set(err, "out of memory for the BPE index");
        return -1;
    }
    t->v = *vocab;
    t->merges = (merge_slot *)(void *)(t + 1);
    t->toks = (tok_slot *)(void *)(t->merges + merge_slots);
    t->added = (added_tok *)(void *)(t->toks + tok_slots);
    t->tok_mask = tok_slots - 1;
    t->merge_mask = merge_slots - 1;
    build_token_index(t);
    build_merge_index(t);
    build_added(t);
    *out = t;
    return 0;
}

void hr_bytebpe_free(hr_bytebpe *t) { free(t); }

int32_t hr_bytebpe_cls_id(const hr_bytebpe *t) { return t->v.cls_id; }
int32_t hr_bytebpe_sep_id(const hr_bytebpe *t) { return t->v.sep_id; }

/* ---- output ------------------------------------------------------------------------------ */

/* Ids go to ids[0..cap); n counts every id produced. Encoding stops early once n > stop
 * (whole texts: the rest would be truncated anyway); words count all their ids. */
typedef struct {
    int32_t *ids;
    size_t cap, n, stop;
    int oom;
} emitter;

static void emit(emitter *e, int32_t id)
{
    if (e->n < e->cap)
        e->ids[e->n] = id;
    e->n++;
}

static bool full(const emitter *e) { return e->n > e->stop || e->oom; }

/* ---- merge loop -------------------------------------------------------------------------- */

typedef struct {
    uint32_t rank, pos;
    int32_t result;
    int32_t left, right; /* the pair as queued: a pop finding it unchanged skips the lookup */
} cand;

static bool cand_less(cand a, cand b) { return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos); }

static void heap_push(cand *h, size_t *n, cand c)
{
    size_t i = (*n)++;
    while (i > 0 && cand_less(c, h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = c;
}

static cand heap_pop(cand *h, size_t *n)
{
    cand top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && cand_less(h[c + 1], h[c]))
            c++;
        if (!cand_less(h[c], last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = last;
    return top;
}

typedef struct {
    int32_t *sym, *next, *prev;
    cand *heap;
    size_t n_heap;
} word_state;

static void push_pair(const hr_bytebpe *t, word_state *w, int32_t pos)
{
    int32_t nx = w->next[pos];
    if (nx < 0)
        return;
    const merge_slot *m = merge_find(t, w->sym[pos], w->sym[nx]);
    if (m)
        heap_push(w->heap, &w->n_heap,
                  (cand){m->rank, (uint32_t)pos, m->result, w->sym[pos], w->sym[nx]});
}

static void merge_all(const hr_bytebpe *t, word_state *w, int32_t m)
{
    for (int32_t i = 0; i + 1 < m; i++)
        push_pair(t, w, i);
    while (w->n_heap) {
        cand c = heap_pop(w->heap, &w->n_heap);
        int32_t pos = (int32_t)c.pos, nx = w->next[pos];
        if (w->sym[pos] == DEAD_SYMBOL || nx < 0)
            continue;
        if (w->sym[pos] != c.left || w->sym[nx] != c.right) {
            /* changed since queued: HF still merges when the new pair makes the same token */
            const merge_slot *cur = merge_find(t, w->sym[pos], w->sym[nx]);
            if (!cur || cur->result != c.result)
                continue;
        }
        w->sym[pos] = c.result;
        w->sym[nx] = DEAD_SYMBOL;
        w->next[pos] = w->next[nx];
        if (w->next[pos] >= 0)
            w->prev[w->next[pos]] = pos;
        if (w->prev[pos] >= 0)
            push_pair(t, w, w->prev[pos]);
        push_pair(t, w, pos);
    }
}

/* A piece that is itself a token, by its byte-mapped string (ignore_merges). */
static int32_t whole_piece_id(const hr_bytebpe *t, const uint8_t *p, size_t n)
{
    char buf[2 * BPE_STACK_BYTES];
    if (n > BPE_STACK_BYTES)
        return -1; /* no such long token exists in practice; merge instead */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += byte_char(p[i], buf + k);
    return hr_bytebpe_token_id(t, buf, k);
}

static void bpe_piece_whole(const hr_bytebpe *t, const uint8_t *p, size_t n, emitter *e);

/* Byte-level BPE of one pre-tokenized piece; an over-long one in BPE_MAX_PIECE slices. */
static void bpe_piece(const hr_bytebpe *t, const uint8_t *p, size_t n, emitter *e)
{
    for (size_t off = 0; off < n && !e->oom; off += BPE_MAX_PIECE)
        bpe_piece_whole(t, p + off, n - off < BPE_MAX_PIECE ? n - off : BPE_MAX_PIECE, e);
}

static void bpe_piece_whole(const hr_bytebpe *t, const uint8_t *p, size_t n, emitter *e)
{
    if (n == 1) {
        if (t->byte_id[p[0]] >= 0)
            emit(e, t->byte_id[p[0]]);
        return;
    }
    if (t->v.bpe_flags & HR_BPEF_IGNORE_MERGES) {
        int32_t id = whole_piece_id(t, p, n);
        if (id >= 0) {
            emit(e, id);
            return;
        }
    }
    int32_t stack_ints[3 * BPE_STACK_BYTES];
    cand stack_heap[3 * BPE_STACK_BYTES];
    void *block = NULL;
    word_state w = {stack_ints, stack_ints + BPE_STACK_BYTES, stack_ints + 2 * BPE_STACK_BYTES,
                    stack_heap, 0};
    if (n > BPE_STACK_BYTES) {
        block = malloc(n * (3 * sizeof(int32_t) + 3 * sizeof(cand)));
        if (!block) {
            e->oom = 1;
            return;
        }
        w.heap = block;
        w.sym = (int32_t *)(void *)(w.heap + 3 * n);
        w.next = w.sym + n;
        w.prev = w.next + n;
    }
    int32_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (t->byte_id[p[i]] >= 0) /* a byte without a token is skipped (no unk_token) */
            w.sym[m++] = t->byte_id[p[i]];
    for (int32_t i = 0; i < m; i++) {
        w.prev[i] = i - 1;
        w.next[i] = i + 1 < m ? i + 1 : -1;
    }
    merge_all(t, &w, m);
    for (int32_t i = 0; i >= 0 && m > 0; i = w.next[i])
        emit(e, w.sym[i]);
    free(block);
}

/* ---- pre-tokenization -------------------------------------------------------------------- */

/* A gap between added tokens: GPT-2 split (unless use_regex is off), BPE per piece. */
static void split_pieces(const hr_bytebpe *t, const char *s, size_t len, emitter *e)
{
    if (t->v.bpe_flags & HR_BPEF_NO_REGEX) {
        bpe_piece(t, (const uint8_t *)s, len, e);
        return;
    }
    for (size_t pos = 0; pos < len && !full(e);) {
        size_t k = hr_pretok_gpt2_next(s, len, pos);
        bpe_piece(t, (const uint8_t *)s + pos, k, e);
        pos += k;
    }
}

/* add_prefix_space: the gap is split as " " + gap unless it starts with a space. */
static void encode_gap(const hr_bytebpe *t, const char *s, size_t len, emitter *e)
{
    if (len == 0)
        return;
    if (!(t->v.bpe_flags & HR_BPEF_ADD_PREFIX_SPACE) || s[0] == ' ') {
        split_pieces(t, s, len, e);
        return;
    }
    char stack[BPE_STACK_BYTES + 1];
    char *buf = len < BPE_STACK_BYTES ? stack : malloc(len + 1);
    if (!buf) {
        e->oom = 1;
        return;
    }
    buf[0] = ' ';
    memcpy(buf + 1, s, len);
    split_pieces(t, buf, len + 1, e);
    if (buf != stack)
        free(buf);
}

static bool is_ws_at(const char *s, size_t len, size_t pos, size_t *clen)
{
    return hr_pretok_class_at(s, len, pos, clen) & HR_UC_WS;
}

static bool is_word_at(const char *s, size_t len, size_t pos)
{
    size_t clen;
    return hr_pretok_class_at(s, len, pos, &clen) & (HR_UC_L | HR_UC_N);
}

/* Start of the whitespace run that ends at `end`, scanning from `from` (<= end). */
static size_t trailing_ws_start(const char *s, size_t from, size_t end)
{
    size_t run = end, pos = from, clen;
    while (pos < end) {
        bool ws = is_ws_at(s, end, pos, &clen);
        if (ws && run == end)
            run = pos;
        else if (!ws)
            run = end;
        pos += clen;
    }
    return run;
}

/* Whether the text before `start` ends in a word character (single_word). */
static bool word_before(const char *s, size_t from, size_t start)
{
    size_t pos = from, last = SIZE_MAX, clen;
    while (pos < start) {
        last = pos;
        hr_pretok_class_at(s, start, pos, &clen);
        pos += clen;
    }
    return last != SIZE_MAX && is_word_at(s, start, last);
}

/* Longest token of the pass matching at s[pos], or NULL. */
static const added_tok *match_at(const added_pass *ap, const char *s, size_t len, size_t pos)
{
    uint8_t b = (uint8_t)s[pos];
    for (uint32_t k = ap->first[b]; k < ap->first[b + 1]; k++) {
        const added_tok *a = &ap->tokens[k];
        if (a->len <= len - pos && memcmp(s + pos, a->s, a->len) == 0)
            return a;
    }
    return NULL;
}

/* Splits s[0..len) on the pass's added tokens (HF AddedVocabulary::find_matches): gaps go
 * to the next pass (or the pre-tokenizer after the last), tokens out as their ids. */
static void split_added(const hr_bytebpe *t, int pass, const char *s, size_t len, emitter *e)
{
    const added_pass *ap = &t->pass[pass];
    size_t gap = 0, pos = 0;
    while (pos < len && !full(e)) {
        const added_tok *a = ap->first[(uint8_t)s[pos]] < ap->first[(uint8_t)s[pos] + 1]
                                 ? match_at(ap, s, len, pos) : NULL;
        if (!a) {
            pos++;
            continue;
        }
        size_t start = pos, stop = pos + a->len, clen;
        pos = stop;
        if ((a->flags & HR_ADDF_SINGLE_WORD) &&
            (word_before(s, gap, start) || (stop < len && is_word_at(s, len, stop))))
            continue; /* inside a word: left as text */
        if (a->flags & HR_ADDF_LSTRIP)
            start = trailing_ws_start(s, gap, start);
        if (a->flags & HR_ADDF_RSTRIP)
            while (stop < len && is_ws_at(s, len, stop, &clen))
                stop += clen;
        if (pass == 0)
            split_added(t, 1, s + gap, start - gap, e);
        else
            encode_gap(t, s + gap, start - gap, e);
        emit(e, a->id);
        gap = pos = stop;
    }
    if (full(e))
        return;
    if (pass == 0)
        split_added(t, 1, s + gap, len - gap, e);
    else
        encode_gap(t, s + gap, len - gap, e);
}

/* ---- API --------------------------------------------------------------------------------- */

int hr_bytebpe_encode_word(const hr_bytebpe *t, const char *w, size_t len, int first,
                           int32_t *ids, size_t cap)
{
    (void)first; /* ByteLevel treats every word alike (bytebpe.h) */
    if (!t || (!w && len) || (!ids && cap))
        return -1;
    emitter e = {ids, cap, 0, SIZE_MAX, 0};
    split_added(t, 0, w, len, &e);
    if (e.oom || e.n > INT32_MAX)
        return -1;
    return (int)e.n;
}

int hr_bytebpe_encode(const hr_bytebpe *t, const char *text, size_t len, int32_t *ids,
                      size_t max_ids, size_t *n_out, int *truncated)
{
    if (!t || (!text && len) || !ids || max_ids < 2 || !n_out)
        return -1;
    ids[0] = t->v.cls_id;
    emitter e = {ids + 1, max_ids - 2, 0, max_ids - 2, 0};
    split_added(t, 0, text, len, &e);
    if (e.oom)
        return -1;
    size_t n = e.n < e.cap ? e.n : e.cap;
    ids[1 + n] = t->v.sep_id;
    *n_out = n + 2;
    if (truncated)
        *truncated = e.n > e.cap;
    return 0;
}
