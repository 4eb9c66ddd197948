/* smart_crusher.c: SmartCrusher (see smart_crusher.h). One parse with the span scanner,
 * then a recursive writer that copies the document minified and, at every eligible array
 * or map, writes only the selected items (through itself, so kept items are crushed too),
 * with a gap marker where each run of dropped items was and, where it is smaller, as a
 * table (json_table.c). Selection per container runs in passes over the items: features
 * (tokens, SimHash, term counts, error words, numeric/categorical columns), must-keeps, the
 * question's items (BM25 from sys/relevance.h), then the diversity budget, whose size is
 * the knee of the cumulative unique-bigram curve (knee_keep_count). Equal-length sibling
 * arrays merge their selections (merge_parallel). All buffers are owned by one container's
 * selection and freed before the writer moves on; nothing outlives the call.
 */
#include "compress/smart_crusher.h"

#include "ccr/marker.h"
#include "compress/compressors.h"
#include "compress/json_table.h"
#include "compress/query.h"
#include "json/json.h"
#include "sys/ascii.h"
#include "sys/hybrid.h"
#include "sys/relevance.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLUMNS 16      /* numeric/categorical fields tracked per array */
#define MAX_CLUSTER_REPS 128 /* SimHash representatives compared against; items unlike
                                all of them form their own clusters (already far more
                                than the budget, so finer clustering changes nothing) */
#define MAX_CATEGORY_BYTES 64 /* longer strings are text, not categories */
#define SIMHASH_NEAR 3      /* Hamming distance at or below which two items are near-dupes */
#define BM25_MUST_KEEP 3    /* top relevant items that are always kept */
#define RELEVANT_SHARE 0.7  /* items scoring this share of the best also answer the question */
#define QUERY_FILL 0        /* diversity items added when the question picks items itself */
#define MAX_CATEGORIES 8    /* distinct values of a field that can have change points */
#define KNEE_MIN_GAIN 0.05  /* Kneedle: a curve within this of its diagonal never saturates */

enum {
    KEEP_EDGE = 1,
    KEEP_ERROR = 2,
    KEEP_OUTLIER = 4,
    KEEP_CHANGE = 8,
    KEEP_ANCHOR = 16,
    KEEP_RELEVANT = 32,
    KEEP_BUDGET = 64,
    KEEP_SHORT = 128, /* a cut whose note would not be shorter than the items (hr_note_pays) */
};

typedef enum { COL_UNSET = 0, COL_NUM, COL_STR, COL_MIXED } col_kind;

typedef struct column {
    const char *key;  /* raw key bytes (inside the source), without quotes */
    size_t key_len;
    col_kind kind;
    uint32_t present; /* items that have this field with this kind */
    double *num;      /* n values (COL_NUM), NAN where absent */
    uint64_t *str;    /* n value hashes (COL_STR), 0 where absent */
} column;

typedef struct item {
    uint32_t node;
    uint32_t cluster;
    uint32_t tokens;
    uint8_t keep;
    uint8_t error;
    double score; /* BM25 */
    uint64_t simhash;
} item;

typedef struct array_sel {
    const hr_json_doc *doc;
    const hr_query *q;
    uint32_t n;
    item *items;
    uint32_t *tf;     /* n * q->terms.n term counts, NULL without terms */
    column cols[MAX_COLUMNS];
    int n_cols;
    uint32_t clusters;
    hr_bm25 bm25;     /* this array's BM25 model (score_bm25) */
    const hr_compress_opts *opts; /* the question's text, for the hybrid rescore */
} array_sel;

typedef struct crush_ctx {
    const hr_json_doc *doc;
    const hr_compress_opts *opts;
    const hr_query *q;
    hr_buf *out;
    hr_buf markers;
    const char *hash;
    unsigned long long total, kept;
    unsigned crushed;
    unsigned long long tabled; /* items of lossless tables (no cut, no marker of their own) */
} crush_ctx;

int hr_smart_crusher_looks_json(const char *in, size_t len)
{
    size_t i = 0;
    while (i < len && (in[i] == ' ' || in[i] == '\n' || in[i] == '\r' || in[i] == '\t'))
        i++;
    return i < len && (in[i] == '[' || in[i] == '{');
}

/* ---- words: error words, SimHash, BM25 term counts ----------------------------------- */


typedef struct word_lit {
    const char *s;
    size_t n;
} word_lit;

#define LIT(x) {x, sizeof x - 1}

static int starts_with_ci(const char *w, size_t n, const word_lit *stem)
{
    if (n < stem->n)
        return 0;
    for (size_t i = 0; i < stem->n; i++)
        if (hr_to_lower((unsigned char)w[i]) != (unsigned char)stem->s[i])
            return 0;
    return 1;
}

static int equals_ci(const char *w, size_t n, const word_lit *lit)
{
    return n == lit->n && starts_with_ci(w, n, lit);
}

/* Stems of error words; a word matches when it starts with one (errors, failed, crashed). */
static const word_lit ERROR_STEMS[] = {LIT("error"), LIT("exception"), LIT("fail"),
                                       LIT("critical"), LIT("fatal"), LIT("crash"),
                                       LIT("panic"), LIT("abort"), LIT("timeout"),
                                       LIT("denied"), LIT("reject")};

static int part_is_error_word(const char *w, size_t n)
{
    if (n < 4)
        return 0;
    unsigned char f = hr_to_lower((unsigned char)w[0]);
    if (f != 'e' && f != 'f' && f != 'c' && f != 'p' && f != 'a' && f != 't' && f != 'd' &&
        f != 'r')
        return 0; /* cheap first-letter filter: most words stop here */
    for (size_t i = 0; i < sizeof ERROR_STEMS / sizeof ERROR_STEMS[0]; i++)
        if ((unsigned char)ERROR_STEMS[i].s[0] == f && starts_with_ci(w, n, &ERROR_STEMS[i]))
            return 1;
    return 0;
}

/* CamelCase parts count as words (NullPointerException, ConnectionTimeout). */
static int word_has_error(const char *w, size_t n)
{
    size_t b = 0;
    for (size_t i = 1; i <= n; i++) {
        int split = i == n || (hr_to_lower((unsigned char)w[i]) != (unsigned char)w[i] &&
                               hr_to_lower((unsigned char)w[i - 1]) == (unsigned char)w[i - 1] &&
                               w[i - 1] >= 'a' && w[i - 1] <= 'z');
        if (split) {
            if (part_is_error_word(w + b, i - b))
                return 1;
            b = i;
        }
    }
    return 0;
}

static int is_negation(const char *w, size_t n)
{
    static const word_lit neg[] = {LIT("no"), LIT("0"), LIT("zero"), LIT("without"), LIT("not")};
    for (size_t i = 0; i < sizeof neg / sizeof neg[0]; i++)
        if (equals_ci(w, n, &neg[i]))
            return 1;
    return 0;
}

static int has_digit(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (w[i] >= '0' && w[i] <= '9')
            return 1;
    return 0;
}

/* Words with a digit (ids, counts, timestamps, commit hashes, line numbers) say which record
 * an item is, not what kind: for near-duplicate and novelty measures they are one symbol. */
static const uint64_t DIGITS_SYMBOL = 0x9e3779b97f4a7c15ULL;

static uint64_t shape_hash(const char *w, size_t n)
{
    return has_digit(w, n) ? DIGITS_SYMBOL : hr_rel_hash(w, n);
}

/* SimHash accumulator. Per-bit counts of set bits live in 16-bit lanes, four to a 64-bit
 * word, so adding one word's hash is 16 table lookups and adds instead of 64 branches;
 * lanes are flushed to 32-bit totals before they can overflow. */
typedef struct word_acc {
    uint64_t lanes[16];  /* lanes[g] holds the counts of bits 4g..4g+3 */
    uint32_t totals[64];
    uint32_t pending;    /* words added since the last flush */
    uint32_t tokens;
    int error;
} word_acc;

static const uint64_t *spread4(void)
{
    static const uint64_t t[16] = {
#define S(v) ((uint64_t)((v) & 1) | (uint64_t)(((v) >> 1) & 1) << 16 | \
              (uint64_t)(((v) >> 2) & 1) << 32 | (uint64_t)(((v) >> 3) & 1) << 48)
        S(0), S(1), S(2),  S(3),  S(4),  S(5),  S(6),  S(7),
        S(8), S(9), S(10), S(11), S(12), S(13), S(14), S(15),
#undef S
    };
    return t;
}

static void simhash_flush(word_acc *acc)
{
    for (int g = 0; g < 16; g++) {
        for (int k = 0; k < 4; k++)
            acc->totals[4 * g + k] += (uint32_t)(acc->lanes[g] >> (16 * k)) & 0xffff;
        acc->lanes[g] = 0;
    }
    acc->pending = 0;
}

static void simhash_add(word_acc *acc, uint64_t h)
{
    const uint64_t *t = spread4();
    for (int g = 0; g < 16; g++)
        acc->lanes[g] += t[(h >> (4 * g)) & 15];
    if (++acc->pending == 0xffff)
        simhash_flush(acc);
}

/* Bit b is set when more than half the words had it set (the sign of the +1/-1 sum). */
static uint64_t simhash_final(word_acc *acc)
{
    simhash_flush(acc);
    uint64_t h = 0;
    for (int b = 0; b < 64; b++)
        if (2 * (uint64_t)acc->totals[b] > acc->tokens)
            h |= 1ULL << b;
    return h;
}

/* Feeds the words of a value's text to the accumulators of one item. Words with digits
 * enter the SimHash as one symbol (shape_hash), so rows that differ only in ids, counts and
 * hashes are near-duplicates; they still count as BM25 terms. */
static void scan_words(const array_sel *sel, uint32_t idx, const char *s, size_t len,
                       int check_errors, word_acc *acc)
{
    size_t pos = 0, b, n, prev_b = 0, prev_n = 0;
    while (hr_rel_next_word(s, len, &pos, &b, &n)) {
        acc->tokens++;
        simhash_add(acc, shape_hash(s + b, n));
        if (sel->tf)
            hr_rel_count_word(&sel->q->terms, s + b, n, sel->tf + (size_t)idx * sel->q->terms.n);
        if (check_errors && !acc->error && word_has_error(s + b, n) &&
            !(prev_n && is_negation(s + prev_b, prev_n)))
            acc->error = 1;
        prev_b = b;
        prev_n = n;
    }
}

/* ---- per-item features ------------------------------------------------------------- */

/* An error-named key with a value that says something happened ("error": "...",
 * "failed": true, "errors": 3); "error": null, "" or 0 and empty containers do not. */
static int key_names_error(const char *k, size_t n)
{
    static const word_lit keys[] = {LIT("error"),    LIT("errors"),     LIT("err"),
                                    LIT("exception"), LIT("exceptions"), LIT("failure"),
                                    LIT("failures"), LIT("failed"),     LIT("fatal"),
                                    LIT("crash"),    LIT("crashed"),    LIT("panic"),
                                    LIT("denied"),   LIT("rejected")};
    size_t pos = 0, b, wn;
    while (hr_rel_next_word(k, n, &pos, &b, &wn))
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (equals_ci(k + b, wn, &keys[i]))
                return 1;
    return 0;
}

static int value_is_truthy(const hr_json_doc *d, uint32_t v)
{
    const hr_json_node *nd = &d->nodes[v];
    double x;
    switch (nd->type) {
    case HR_JSON_NULL:
    case HR_JSON_FALSE:
        return 0;
    case HR_JSON_STRING:
        return nd->end - nd->start > 2;
    case HR_JSON_NUMBER:
        return hr_json_double(d, v, &x) == 0 && x != 0;
    case HR_JSON_ARRAY:
    case HR_JSON_OBJECT:
        return nd->count > 0;
    default:
        return 1;
    }
}

static column *column_for(array_sel *sel, const char *key, size_t key_len)
{
    for (int c = 0; c < sel->n_cols; c++)
        if (sel->cols[c].key_len == key_len && !memcmp(sel->cols[c].key, key, key_len))
            return &sel->cols[c];
    if (sel->n_cols >= MAX_COLUMNS)
        return NULL;
    column *col = &sel->cols[sel->n_cols++];
    memset(col, 0, sizeof *col);
    col->key = key;
    col->key_len = key_len;
    return col;
}

/* Records a top-level field of item idx in its column (numbers and strings only). */
static int record_field(array_sel *sel, uint32_t idx, const char *key, size_t key_len, uint32_t v)
{
    const hr_json_doc *d = sel->doc;
    const hr_json_node *nd = &d->nodes[v];
    col_kind kind = nd->type == HR_JSON_NUMBER ? COL_NUM
                    : nd->type == HR_JSON_STRING && nd->end - nd->start <= MAX_CATEGORY_BYTES
                        ? COL_STR
                        : COL_MIXED;
    column *col = column_for(sel, key, key_len);
    if (!col || col->kind == COL_MIXED)
        return 0;
    if (kind == COL_MIXED) { /* objects, arrays, literals: not a column we can use */
        col->kind = COL_MIXED;
        return 0;
    }
    if (col->kind == COL_UNSET) {
        col->kind = kind;
        if (kind == COL_NUM) {
            col->num = malloc(sel->n * sizeof *col->num);
            if (!col->num)
                return -1;
            for (uint32_t i = 0; i < sel->n; i++)
                col->num[i] = NAN;
        } else if (kind == COL_STR) {
            col->str = calloc(sel->n, sizeof *col->str);
            if (!col->str)
                return -1;
        }
    }
    if (col->kind != kind) {
        col->kind = COL_MIXED;
        return 0;
    }
    if (kind == COL_NUM) {
        double x;
        if (hr_json_double(d, v, &x) != 0 || !isfinite(x))
            return 0;
        col->num[idx] = x;
    } else {
        col->str[idx] = hr_hash64(d->src + nd->start, nd->end - nd->start) | 1;
    }
    col->present++;
    return 0;
}

/* Walks the subtree of item idx in document order (nodes of a subtree are contiguous). */
static int item_features(array_sel *sel, uint32_t idx)
{
    const hr_json_doc *d = sel->doc;
    item *it = &sel->items[idx];
    uint32_t root = it->node;
    const hr_json_node *rn = &d->nodes[root];
    word_acc acc;
    memset(&acc, 0, sizeof acc);
    if (rn->key_end > rn->key_start) /* a map member: its name is what a question names */
        scan_words(sel, idx, d->src + rn->key_start + 1, rn->key_end - rn->key_start - 2, 0, &acc);
    for (uint32_t j = root; j < d->n && d->nodes[j].start < rn->end; j++) {
        const hr_json_node *nd = &d->nodes[j];
        if (nd->type == HR_JSON_STRING)
            scan_words(sel, idx, d->src + nd->start + 1, nd->end - nd->start - 2, 1, &acc);
        else if (nd->type == HR_JSON_NUMBER)
            scan_words(sel, idx, d->src + nd->start, nd->end - nd->start, 0, &acc);
        if (nd->key_end > nd->key_start) {
            const char *k = d->src + nd->key_start + 1;
            size_t kn = nd->key_end - nd->key_start - 2;
            if (!acc.error && key_names_error(k, kn) && value_is_truthy(d, j))
                acc.error = 1;
            if (nd->parent == root &&
                record_field(sel, idx, k, kn, j) != 0)
                return -1;
        }
    }
    if (rn->type == HR_JSON_NUMBER && record_field(sel, idx, "", 0, root) != 0)
        return -1;
    it->tokens = acc.tokens;
    it->error = (uint8_t)acc.error;
    it->simhash = simhash_final(&acc);
    return 0;
}

/* ---- must-keeps ---------------------------------------------------------------------- */

static void mean_sd(const column *col, uint32_t n, double *mean, double *sd)
{
    double sum = 0, sq = 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!isnan(col->num[i])) {
            sum += col->num[i];
            k++;
        }
    *mean = k ? sum / k : 0;
    for (uint32_t i = 0; i < n; i++)
        if (!isnan(col->num[i]))
            sq += (col->num[i] - *mean) * (col->num[i] - *mean);
    *sd = k ? sqrt(sq / k) : 0;
}

static void mark_outliers(array_sel *sel, const column *col, double mean, double sd)
{
    for (uint32_t i = 0; i < sel->n; i++)
        if (!isnan(col->num[i]) && fabs(col->num[i] - mean) > 2 * sd)
            sel->items[i].keep |= KEEP_OUTLIER;
}

/* Level shifts: the difference of the means of the w values before and after i, kept
 * where it peaks above 1.5 sigma of the whole field. A ramp (ids, timestamps) never
 * peaks that high; a step between two regimes always does. */
static int mark_numeric_changes(array_sel *sel, const column *col, double sd)
{
    uint32_t n = sel->n, w = n / 10;
    if (w < 2)
        w = 2;
    if (w > 10)
        w = 10;
    if (col->present != n || n < 2 * w + 1 || sd <= 0)
        return 0;
    double *pre = malloc((n + 1) * sizeof *pre);
    if (!pre)
        return -1;
    pre[0] = 0;
    for (uint32_t i = 0; i < n; i++)
        pre[i + 1] = pre[i] + col->num[i];
    double prev_d = 0;
    for (uint32_t i = w; i + w <= n; i++) {
        double d = fabs((pre[i + w] - pre[i]) - (pre[i] - pre[i - w])) / w;
        double next_d = i + w + 1 <= n ? fabs((pre[i + 1 + w] - pre[i + 1]) -
                                              (pre[i + 1] - pre[i + 1 - w])) / w
                                       : 0;
        if (d > 1.5 * sd && d >= prev_d && d > next_d)
            sel->items[i].keep |= KEEP_CHANGE;
        prev_d = d;
    }
    free(pre);
    return 0;
}

/* A low-cardinality string field (status, level, region) that switches value a few times:
 * the first item of each new run is kept, except the return to the old value right after
 * a one-item blip (A A B A A keeps B, not the A after it: that A says nothing new). */
static void mark_categorical_changes(array_sel *sel, const column *col)
{
    uint32_t n = sel->n;
    if (col->present != n)
        return;
    uint64_t seen[MAX_CATEGORIES];
    int distinct = 0;
    uint32_t transitions = 0;
    for (uint32_t i = 0; i < n; i++) {
        int known = 0;
        for (int k = 0; k < distinct; k++)
            known |= seen[k] == col->str[i];
        if (!known) {
            if (distinct == MAX_CATEGORIES)
                return;
            seen[distinct++] = col->str[i];
        }
        transitions += i > 0 && col->str[i] != col->str[i - 1];
    }
    uint32_t max_transitions = n / 8 > 2 ? n / 8 : 2;
    if (distinct < 2 || transitions > max_transitions)
        return;
    for (uint32_t i = 1; i < n; i++) {
        int resumes = i >= 2 && col->str[i] == col->str[i - 2];
        if (col->str[i] != col->str[i - 1] && !resumes)
            sel->items[i].keep |= KEEP_CHANGE;
    }
}

static int mark_column_keeps(array_sel *sel)
{
    for (int c = 0; c < sel->n_cols; c++) {
        const column *col = &sel->cols[c];
        if (col->kind == COL_NUM && col->present >= 5) {
            double mean, sd;
            mean_sd(col, sel->n, &mean, &sd);
            if (sd > 0) {
                mark_outliers(sel, col, mean, sd);
                if (mark_numeric_changes(sel, col, sd) != 0)
                    return -1;
            }
        } else if (col->kind == COL_STR) {
            mark_categorical_changes(sel, col);
        }
    }
    return 0;
}

/* With an embedder installed (sys/hybrid.h), the items' BM25 scores become the hybrid
 * score of each item's JSON text; otherwise (or when it fails open) they stay as they are. */
static void rescore_hybrid(array_sel *sel)
{
    const hr_compress_opts *o = sel->opts;
    if (!hr_hybrid_installed() || !o || !o->query || !o->query_len)
        return;
    hr_hybrid_doc *docs = malloc(sel->n * sizeof *docs);
    double *sc = malloc(sel->n * sizeof *sc);
    if (docs && sc) {
        for (uint32_t i = 0; i < sel->n; i++) {
            const hr_json_node *nd = &sel->doc->nodes[sel->items[i].node];
            docs[i] = (hr_hybrid_doc){sel->doc->src + nd->start, nd->end - nd->start};
            sc[i] = sel->items[i].score;
        }
        if (hr_hybrid_rescore(o->query, o->query_len, docs, sel->n, sc))
            for (uint32_t i = 0; i < sel->n; i++)
                sel->items[i].score = sc[i];
    }
    free(docs);
    free(sc);
}

/* BM25 (relevance.h) with the items of this array as the documents. A term most items
 * share says nothing about which one is meant: it gets no weight here, so an array where
 * every item names the queried service is not "all relevant" (which would turn the
 * relevant-first budget into array order). */
static void score_bm25(array_sel *sel)
{
    size_t nq = sel->q->terms.n;
    if (!sel->tf)
        return;
    uint32_t df[HR_REL_MAX_TERMS] = {0};
    double words = 0;
    for (uint32_t i = 0; i < sel->n; i++) {
        words += sel->items[i].tokens;
        for (size_t t = 0; t < nq; t++)
            df[t] += sel->tf[(size_t)i * nq + t] > 0;
    }
    hr_bm25 *m = &sel->bm25;
    hr_bm25_init(m, nq, sel->n, df, words);
    for (size_t t = 0; t < nq; t++)
        if (df[t] * 2 > sel->n)
            m->idf[t] = 0;
    for (uint32_t i = 0; i < sel->n; i++)
        sel->items[i].score = hr_bm25_score(m, sel->tf + (size_t)i * nq, sel->items[i].tokens);
    rescore_hybrid(sel);
}

/* A question naming several things ("numpy, cryptography and PyYAML") is answered by one
 * item per thing: for every term that tells items apart (non-zero idf), the item where
 * that term alone scores best is kept, whatever the summed scores say. */
static void mark_best_per_term(array_sel *sel)
{
    size_t nq = sel->q->terms.n;
    uint32_t one[HR_REL_MAX_TERMS];
    for (size_t t = 0; sel->tf && t < nq; t++) {
        if (sel->bm25.idf[t] <= 0)
            continue;
        double best = 0;
        uint32_t at = UINT32_MAX;
        for (uint32_t i = 0; i < sel->n; i++) {
            if (!sel->tf[(size_t)i * nq + t])
                continue;
            memset(one, 0, nq * sizeof *one);
            one[t] = sel->tf[(size_t)i * nq + t];
            double sc = hr_bm25_score(&sel->bm25, one, sel->items[i].tokens);
            if (sc > best) {
                best = sc;
                at = i;
            }
        }
        if (at != UINT32_MAX)
            sel->items[at].keep |= KEEP_RELEVANT;
    }
}

static int by_score_then_index(const void *a, const void *b, const item *items)
{
    const item *x = &items[*(const uint32_t *)a], *y = &items[*(const uint32_t *)b];
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* qsort has no context argument in C17: a small insertion sort keeps this reentrant. The
 * lists sorted here are cluster representatives or relevant items, rarely large. */
static void sort_by_score(uint32_t *idx, uint32_t m, const item *items)
{
    for (uint32_t i = 1; i < m; i++) {
        uint32_t v = idx[i], j = i;
        while (j > 0 && by_score_then_index(&v, &idx[j - 1], items) < 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

/* The question's own items: the top BM25_MUST_KEEP, and every item scoring at least
 * RELEVANT_SHARE of the best (up to max_items in all, best first), so a question naming a
 * function keeps its definition and all its callers, not three of them. */
static int mark_relevant(array_sel *sel, unsigned max_items)
{
    uint32_t *idx = malloc(sel->n * sizeof *idx), m = 0;
    if (!idx)
        return -1;
    for (uint32_t i = 0; i < sel->n; i++)
        if (sel->items[i].score > 0)
            idx[m++] = i;
    /* partial selection of the best without sorting everything */
    double best_score = 0;
    for (uint32_t k = 0; k < m && k < max_items; k++) {
        uint32_t best = k;
        for (uint32_t j = k + 1; j < m; j++)
            if (by_score_then_index(&idx[j], &idx[best], sel->items) < 0)
                best = j;
        uint32_t t = idx[k];
        idx[k] = idx[best];
        idx[best] = t;
        double sc = sel->items[idx[k]].score;
        if (k == 0)
            best_score = sc;
        if (k >= BM25_MUST_KEEP && sc < RELEVANT_SHARE * best_score)
            break;
        sel->items[idx[k]].keep |= KEEP_RELEVANT;
    }
    free(idx);
    return 0;
}

/* ---- diversity budget ---------------------------------------------------------------- */

static void cluster_items(array_sel *sel)
{
    uint64_t reps[MAX_CLUSTER_REPS];
    uint32_t n_reps = 0;
    sel->clusters = 0;
    for (uint32_t i = 0; i < sel->n; i++) {
        uint32_t c = UINT32_MAX;
        for (uint32_t r = 0; r < n_reps; r++)
            if (__builtin_popcountll(reps[r] ^ sel->items[i].simhash) <= SIMHASH_NEAR) {
                c = r;
                break;
            }
        if (c == UINT32_MAX) {
            c = sel->clusters++;
            if (n_reps < MAX_CLUSTER_REPS)
                reps[n_reps++] = sel->items[i].simhash;
        }
        sel->items[i].cluster = c;
    }
}

/* ---- adaptive keep count: the knee of the unique-bigram curve ------------------------- */

#define KNEE_MAX_REPS 1024  /* clusters the curve is drawn over (the first ones, in order) */
#define KNEE_MAX_WORDS 512  /* words of one item that enter the curve */

/* Open-addressing set of 64-bit bigram hashes (0 marks an empty slot). */
typedef struct bigram_set {
    uint64_t *slots;
    size_t cap, count;
} bigram_set;

static void bigram_add(bigram_set *s, uint64_t h)
{
    size_t i = (size_t)(h ^ (h >> 29)) & (s->cap - 1);
    while (s->slots[i]) {
        if (s->slots[i] == h)
            return;
        i = (i + 1) & (s->cap - 1);
    }
    s->slots[i] = h;
    s->count++;
}

static void add_word_bigrams(bigram_set *set, const char *s, size_t len, uint64_t *prev,
                             unsigned *words)
{
    size_t pos = 0, b, n;
    while (*words < KNEE_MAX_WORDS && hr_rel_next_word(s, len, &pos, &b, &n)) {
        uint64_t w = shape_hash(s + b, n);
        uint64_t h = (*prev * 0xff51afd7ed558ccdULL) ^ (w + 0x632be59bd9b4e019ULL);
        bigram_add(set, h | 1);
        *prev = w;
        (*words)++;
    }
}

/* Adds the bigrams of item idx's value words (keys are structure, not information; words
 * with digits are one symbol, as in the SimHash). */
static void item_bigrams(const array_sel *sel, uint32_t idx, bigram_set *set)
{
    const hr_json_doc *d = sel->doc;
    uint32_t root = sel->items[idx].node;
    uint32_t end = d->nodes[root].end;
    uint64_t prev = 0x2545f4914f6cdd1dULL; /* item start */
    unsigned words = 0;
    for (uint32_t j = root; j < d->n && d->nodes[j].start < end; j++) {
        const hr_json_node *nd = &d->nodes[j];
        if (nd->type == HR_JSON_STRING)
            add_word_bigrams(set, d->src + nd->start + 1, nd->end - nd->start - 2, &prev, &words);
        else if (nd->type == HR_JSON_NUMBER)
            add_word_bigrams(set, d->src + nd->start, nd->end - nd->start, &prev, &words);
    }
}

/* Kneedle on the cumulative curve c[1..m] (c[i] = unique bigrams of the first i distinct
 * items): both axes are normalised from the first item to the last, so the words every
 * item shares (its structure, all seen in the first item) do not count as saturation. The
 * knee is the count i where the curve stands furthest above its diagonal; 0 when it never
 * stands KNEE_MIN_GAIN above it (every distinct item adds as much as any other: nothing
 * saturates). A curve flat after the first item has its knee there. */
static uint32_t kneedle(const size_t *c, uint32_t m)
{
    if (m <= 2)
        return m ? m : 1;
    if (c[m] == c[1])
        return 1;
    double best = -1;
    uint32_t at = 0;
    for (uint32_t i = 1; i <= m; i++) {
        double gain = (double)(c[i] - c[1]) / (double)(c[m] - c[1]) - (double)(i - 1) / (double)(m - 1);
        if (gain > best) {
            best = gain;
            at = i;
        }
    }
    return best < KNEE_MIN_GAIN ? 0 : at;
}

/* How many items the diversity budget may add: near-duplicates count once (the curve runs
 * over one representative per SimHash cluster, in array order), and the count is the knee
 * of the cumulative unique-bigram curve, so an array whose distinct items keep repeating
 * the same word pairs saturates early and keeps few, while one whose items each bring new
 * pairs has no knee and keeps up to cap. 0 ok (*k set), -1 out of memory. */
static int knee_keep_count(const array_sel *sel, unsigned cap, uint32_t *k)
{
    uint32_t m = 0;
    size_t words = 0;
    uint32_t *reps = malloc((sel->clusters < KNEE_MAX_REPS ? sel->clusters + 1 : KNEE_MAX_REPS) *
                            sizeof *reps);
    if (!reps)
        return -1;
    for (uint32_t i = 0, next = 0; i < sel->n && m < KNEE_MAX_REPS; i++)
        if (sel->items[i].cluster == next) { /* clusters are numbered in order of first item */
            reps[m++] = i;
            next++;
            words += sel->items[i].tokens < KNEE_MAX_WORDS ? sel->items[i].tokens : KNEE_MAX_WORDS;
        }
    bigram_set set = {NULL, 16, 0};
    while (set.cap < 2 * words + 16)
        set.cap *= 2;
    set.slots = calloc(set.cap, sizeof *set.slots);
    size_t *curve = malloc((m + 1) * sizeof *curve);
    if (!set.slots || !curve) {
        free(reps);
        free(set.slots);
        free(curve);
        return -1;
    }
    curve[0] = 0;
    for (uint32_t r = 0; r < m; r++) {
        item_bigrams(sel, reps[r], &set);
        curve[r + 1] = set.count;
    }
    uint32_t knee = kneedle(curve, m);
    *k = knee == 0 || knee > cap ? cap : knee;
    free(reps);
    free(set.slots);
    free(curve);
    return 0;
}

/* Up to k more items (knee_keep_count), one per cluster no kept item represents yet, each
 * cluster offered by its most relevant item (the first on ties): relevant candidates first
 * by BM25, the rest spread evenly over the array. */
static int fill_budget(array_sel *sel, unsigned max_items)
{
    uint32_t n = sel->n, nc = sel->clusters, k;
    if (knee_keep_count(sel, max_items, &k) != 0)
        return -1;
    /* a question that picks items itself needs only a glimpse of the rest (the gap markers
     * say where it is and retrieval with the question brings back more) */
    for (uint32_t i = 0; i < n && k > QUERY_FILL; i++)
        if (sel->items[i].keep & KEEP_RELEVANT)
            k = QUERY_FILL;
    uint8_t *covered = calloc(nc ? nc : 1, 1);
    uint32_t *best = malloc((nc ? nc : 1) * sizeof *best);
    uint32_t *cand = malloc(n * sizeof *cand);
    if (!covered || !best || !cand) {
        free(covered);
        free(best);
        free(cand);
        return -1;
    }
    for (uint32_t i = 0; i < n; i++)
        if (sel->items[i].keep)
            covered[sel->items[i].cluster] = 1;
    for (uint32_t c = 0; c < nc; c++)
        best[c] = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t c = sel->items[i].cluster;
        if (!covered[c] && (best[c] == UINT32_MAX || sel->items[i].score > sel->items[best[c]].score))
            best[c] = i;
    }
    uint32_t m = 0, relevant = 0;
    for (uint32_t i = 0; i < n; i++)
        if (best[sel->items[i].cluster] == i) {
            cand[m++] = i;
            relevant += sel->items[i].score > 0;
        }
    uint32_t budget = k < m ? k : m, taken = 0;
    if (relevant) {
        uint32_t *rel = malloc(relevant * sizeof *rel), r = 0;
        if (!rel) {
            free(covered);
            free(best);
            free(cand);
            return -1;
        }
        for (uint32_t j = 0; j < m; j++)
            if (sel->items[cand[j]].score > 0)
                rel[r++] = cand[j];
        sort_by_score(rel, relevant, sel->items);
        for (uint32_t j = 0; j < relevant && taken < budget; j++, taken++)
            sel->items[rel[j]].keep |= KEEP_BUDGET;
        free(rel);
    }
    uint32_t rest = 0;
    for (uint32_t j = 0; j < m; j++)
        if (!sel->items[cand[j]].keep)
            cand[rest++] = cand[j];
    uint32_t want = budget - taken;
    for (uint32_t j = 0; j < want && rest; j++)
        sel->items[cand[(size_t)(2 * j + 1) * rest / (2 * want)]].keep |= KEEP_BUDGET;
    free(covered);
    free(best);
    free(cand);
    return 0;
}

/* ---- one array ------------------------------------------------------------------------ */

static void sel_free(array_sel *sel)
{
    for (int c = 0; c < sel->n_cols; c++) {
        free(sel->cols[c].num);
        free(sel->cols[c].str);
    }
    free(sel->items);
    free(sel->tf);
}

/* Arrays and maps whose whole text is shorter than this stay whole: cutting them saves
 * little and an enum or a short list is meaning, not bulk (the pipeline's own floor). */
#define SMALL_CONTAINER_BYTES 512
#define MAP_KEY_SHARE 0.8   /* a map's members are similar when one key is in this share */
#define MAX_PARALLEL 8      /* sibling arrays cut together; larger groups stay whole */
#define MAX_MAP_KEYS 64     /* distinct member keys counted when testing a map */
#define LOSSLESS_ENOUGH 2048 /* a container this small once written as a table loses nothing */

static int is_small(const hr_json_doc *d, uint32_t node, unsigned min_items)
{
    const hr_json_node *n = &d->nodes[node];
    return n->count < min_items || n->count < 3 || n->end - n->start < SMALL_CONTAINER_BYTES;
}

/* An array whose items are all objects, all strings or all numbers. */
static int array_eligible(const hr_json_doc *d, uint32_t arr, unsigned min_items)
{
    const hr_json_node *a = &d->nodes[arr];
    if (a->type != HR_JSON_ARRAY || is_small(d, arr, min_items))
        return 0;
    uint8_t kind = d->nodes[a->first_child].type;
    if (kind != HR_JSON_OBJECT && kind != HR_JSON_STRING && kind != HR_JSON_NUMBER)
        return 0;
    for (uint32_t c = a->first_child; c != HR_JSON_NONE; c = d->nodes[c].next)
        if (d->nodes[c].type != kind)
            return 0;
    return 1;
}

/* An object used as a map of similar records (package-lock's "packages", npm ls's
 * "dependencies"): every member an object, and one key held by MAP_KEY_SHARE of them, so a
 * record-like object ({"server":{..},"db":{..}}) whose members differ is not a map. */
static int map_eligible(const hr_json_doc *d, uint32_t obj, unsigned min_items)
{
    const hr_json_node *o = &d->nodes[obj];
    if (o->type != HR_JSON_OBJECT || is_small(d, obj, min_items))
        return 0;
    uint64_t keys[MAX_MAP_KEYS];
    uint32_t counts[MAX_MAP_KEYS], best = 0;
    int n = 0;
    for (uint32_t c = o->first_child; c != HR_JSON_NONE; c = d->nodes[c].next) {
        if (d->nodes[c].type != HR_JSON_OBJECT)
            return 0;
        HR_JSON_FOREACH(d, c, k) {
            uint64_t h = hr_hash64(d->src + d->nodes[k].key_start,
                                   d->nodes[k].key_end - d->nodes[k].key_start);
            int at = 0;
            while (at < n && keys[at] != h)
                at++;
            if (at == n && n < MAX_MAP_KEYS) {
                keys[n] = h;
                counts[n++] = 0;
            }
            if (at < n && ++counts[at] > best)
                best = counts[at];
        }
    }
    return best >= MAP_KEY_SHARE * o->count;
}

static int container_eligible(const hr_json_doc *d, uint32_t node, unsigned min_items)
{
    return array_eligible(d, node, min_items) || map_eligible(d, node, min_items);
}

/* Fills sel with the items of arr and their keep flags. 0 ok, -1 out of memory. */
static int select_items(array_sel *sel, const hr_json_doc *d, uint32_t arr, const hr_query *q,
                        const hr_compress_opts *opts)
{
    unsigned max_items = opts->max_items;
    memset(sel, 0, sizeof *sel);
    sel->doc = d;
    sel->q = q;
    sel->opts = opts;
    sel->n = d->nodes[arr].count;
    if (sel->n == 0)
        return -1; /* callers check eligibility first; this keeps the edges below in range */
    sel->items = calloc(sel->n, sizeof *sel->items);
    if (!sel->items)
        return -1;
    if (q->terms.n) {
        sel->tf = calloc((size_t)sel->n * q->terms.n, sizeof *sel->tf);
        if (!sel->tf)
            return -1;
    }
    uint32_t i = 0;
    HR_JSON_FOREACH(d, arr, c)
        sel->items[i++].node = c;
    uint32_t errors = 0;
    for (i = 0; i < sel->n; i++) {
        if (item_features(sel, i) != 0)
            return -1;
        errors += sel->items[i].error;
    }
    /* an error word most items share (package descriptions mentioning "error handling", a
     * field every record fills) says nothing about which item matters */
    int errors_signal = hr_rel_is_rare(errors, sel->n);
    for (i = 0; i < sel->n; i++) {
        const hr_json_node *nd = &d->nodes[sel->items[i].node];
        if (sel->items[i].error && errors_signal)
            sel->items[i].keep |= KEEP_ERROR;
        if (q->n_anchors && hr_query_matches_anchor(q, d->src + nd->start, nd->end - nd->start))
            sel->items[i].keep |= KEEP_ANCHOR;
    }
    sel->items[0].keep |= KEEP_EDGE;
    sel->items[sel->n - 1].keep |= KEEP_EDGE;
    score_bm25(sel);
    if (mark_column_keeps(sel) != 0 || mark_relevant(sel, max_items) != 0)
        return -1;
    mark_best_per_term(sel);
    cluster_items(sel);
    return fill_budget(sel, max_items);
}

/* ---- the writer ----------------------------------------------------------------------- */

static int emit(crush_ctx *cx, uint32_t node, unsigned depth);

/* The writer of one container's values and gaps (also handed to json_table.c). Values go
 * through emit, so a kept item's own big arrays and maps are crushed as well. */
typedef struct value_ctx {
    crush_ctx *cx;
    unsigned depth;
    int in_map; /* a gap inside an object needs a member, not an element */
    unsigned gaps; /* gaps written so far in this container */
} value_ctx;

static int write_value(void *p, uint32_t node)
{
    value_ctx *v = p;
    return emit(v->cx, node, v->depth + 1);
}

/* What stands where `omitted` items were cut, as a JSON string (its text needs no
 * escaping; in an object, a member name with a null value): the container's first gap is a
 * gap marker with the hash, later ones the short note "[N items omitted]" (the hash once
 * per container is enough to find the way back; repeated, it cost ~14 tokens per gap and
 * doubled the output of a sparse selection). */
static int write_gap(void *p, uint32_t omitted)
{
    value_ctx *v = p;
    hr_buf *out = v->cx->out;
    int rc = hr_buf_putc(out, '"');
    if (v->gaps++ == 0)
        rc |= hr_marker_write_gap(out, omitted, "items", v->cx->hash);
    else
        rc |= hr_marker_write_note(out, omitted, "items", 0, 1);
    if (rc != 0 || hr_buf_putc(out, '"') != 0)
        return -1;
    return v->in_map ? hr_buf_puts(out, ":null") : 0;
}

/* A cut container in its own shape: the kept items, and a gap for each run of dropped
 * ones, at the place they were. */
static int emit_cut(crush_ctx *cx, uint32_t node, const uint8_t *keep, value_ctx *v)
{
    const hr_json_doc *d = cx->doc;
    int is_map = d->nodes[node].type == HR_JSON_OBJECT, first = 1;
    uint32_t i = 0, run = 0;
    if (hr_buf_putc(cx->out, is_map ? '{' : '[') != 0)
        return -1;
    for (uint32_t c = d->nodes[node].first_child;; c = d->nodes[c].next, i++) {
        int end = c == HR_JSON_NONE;
        if (!end && !keep[i]) {
            run++;
            continue;
        }
        if (run) {
            if ((!first && hr_buf_putc(cx->out, ',') != 0) || write_gap(v, run) != 0)
                return -1;
            first = 0;
            run = 0;
        }
        if (end)
            break;
        if (!first && hr_buf_putc(cx->out, ',') != 0)
            return -1;
        first = 0;
        const hr_json_node *ch = &d->nodes[c];
        if (is_map && (hr_buf_append(cx->out, d->src + ch->key_start, ch->key_end - ch->key_start) ||
                       hr_buf_putc(cx->out, ':')))
            return -1;
        if (write_value(v, c) != 0)
            return -1;
    }
    return hr_buf_putc(cx->out, is_map ? '}' : ']');
}

/* Lossless before lossy: a container whose table (or text, when no table pays) is at most
 * LOSSLESS_ENOUGH bytes keeps every item; dropping some would save little and lose them. */
static int lossless_is_enough(const hr_json_doc *d, uint32_t node)
{
    hr_json_table t;
    size_t bytes = d->nodes[node].end - d->nodes[node].start;
    if (bytes > 8 * LOSSLESS_ENOUGH)
        return 0; /* a table saves the keys, never 7/8 of the text: skip planning one */
    if (hr_json_table_plan(d, node, NULL, &t))
        bytes -= t.saved < bytes ? t.saved : bytes;
    return bytes <= LOSSLESS_ENOUGH;
}

/* The one test of whether items may be dropped from node (emit and merge_parallel agree,
 * so a group of parallel arrays is cut by the same rule it is judged by). */
static int may_cut(const hr_json_doc *d, uint32_t node, unsigned min_items)
{
    return container_eligible(d, node, min_items) && !lossless_is_enough(d, node);
}

/* Arrays that pair by position with a sibling (equal length: enum / enumDescriptions,
 * keys / values, the columns of columnar data) are cut together or not at all: the keep
 * flags of every sibling array of the same length are merged into sel, so all of them keep
 * the same positions. Siblings bring their reasons (errors, outliers, anchors, the
 * question's items), not their diversity picks: spread picks of eight columns would keep
 * eight times the rows for nothing. 1 cut allowed, 0 leave whole (a sibling that may not be cut, too
 * many siblings, or arrays inside an array: the rows or columns of a table), -1 out of
 * memory. */
static int merge_parallel(crush_ctx *cx, uint32_t node, array_sel *sel, int *alone)
{
    *alone = 1;
    const hr_json_doc *d = cx->doc;
    uint32_t parent = d->nodes[node].parent, n = d->nodes[node].count;
    if (d->nodes[node].type != HR_JSON_ARRAY || parent == HR_JSON_NONE)
        return 1;
    int siblings = 0;
    HR_JSON_FOREACH(d, parent, c) {
        if (c == node || d->nodes[c].type != HR_JSON_ARRAY || d->nodes[c].count != n)
            continue;
        if (d->nodes[parent].type == HR_JSON_ARRAY || ++siblings > MAX_PARALLEL ||
            !may_cut(d, c, cx->opts->min_items))
            return 0;
        *alone = 0;
        array_sel other;
        int rc = select_items(&other, d, c, cx->q, cx->opts);
        for (uint32_t i = 0; rc == 0 && i < n; i++)
            sel->items[i].keep |= other.items[i].keep & ~KEEP_BUDGET;
        sel_free(&other);
        if (rc != 0)
            return -1;
    }
    return 1;
}

static int emit_selection(crush_ctx *cx, uint32_t node, unsigned depth, const array_sel *sel,
                          uint32_t kept)
{
    uint8_t *keep = malloc(sel->n);
    if (!keep)
        return -1;
    for (uint32_t i = 0; i < sel->n; i++)
        keep[i] = sel->items[i].keep != 0;
    value_ctx v = {cx, depth, 0, 0};
    hr_json_table t;
    hr_json_table_io io = {write_value, write_gap, &v};
    int rc;
    if (hr_json_table_plan(cx->doc, node, keep, &t)) {
        rc = hr_json_table_write(cx->out, cx->doc, &t, keep, &io);
    } else {
        v.in_map = cx->doc->nodes[node].type == HR_JSON_OBJECT;
        rc = emit_cut(cx, node, keep, &v);
    }
    free(keep);
    if (rc != 0)
        return -1;
    cx->total += sel->n;
    cx->kept += kept;
    cx->crushed++;
    return 0;
}

/* The rule of every cut (hr_note_pays): a run of dropped items whose note, as written
 * where they stood ("[N items omitted]" as a string, its member value and separator),
 * would not be shorter than their source text is kept. Sizes are the plain note's: the
 * container's first gap carries the hash, and a run kept whole hands it to the next. Only
 * for a container cut alone: parallel siblings must keep the same positions. */
static int keep_short_cuts(const hr_json_doc *d, uint32_t node, array_sel *sel)
{
    int is_map = d->nodes[node].type == HR_JSON_OBJECT;
    hr_buf note = HR_BUF_INIT;
    for (uint32_t a = 0; a < sel->n;) {
        if (sel->items[a].keep) {
            a++;
            continue;
        }
        uint32_t b = a;
        size_t removed = 0;
        for (; b < sel->n && !sel->items[b].keep; b++) {
            const hr_json_node *it = &d->nodes[sel->items[b].node];
            removed += it->end - it->start + 1 + (is_map ? it->key_end - it->key_start + 1 : 0);
        }
        hr_buf_truncate(&note, 0);
        if (hr_marker_write_note(&note, b - a, "items", 0, 1) != 0) {
            hr_buf_free(&note);
            return -1;
        }
        if (!hr_note_pays(note.len + 3 + (is_map ? 5 : 0), removed))
            for (uint32_t i = a; i < b; i++)
                sel->items[i].keep |= KEEP_SHORT;
        a = b;
    }
    hr_buf_free(&note);
    return 0;
}

/* 1 crushed (written), 0 not worth it (nothing written), -1 out of memory. */
static int try_crush(crush_ctx *cx, uint32_t node, unsigned depth)
{
    array_sel sel;
    int alone = 0;
    int rc = select_items(&sel, cx->doc, node, cx->q, cx->opts);
    if (rc == 0)
        rc = merge_parallel(cx, node, &sel, &alone);
    if (rc == 1 && alone && keep_short_cuts(cx->doc, node, &sel) != 0)
        rc = -1;
    if (rc == 1) {
        uint32_t kept = 0;
        for (uint32_t i = 0; i < sel.n; i++)
            kept += sel.items[i].keep != 0;
        rc = kept < sel.n ? (emit_selection(cx, node, depth, &sel, kept) == 0 ? 1 : -1) : 0;
    }
    sel_free(&sel);
    return rc;
}

/* The lossless step alone: a container of similar objects nothing is cut from, written as
 * a table when that is smaller. 1 written, 0 not a table. */
static int try_table(crush_ctx *cx, uint32_t node, unsigned depth)
{
    hr_json_table t;
    if (is_small(cx->doc, node, cx->opts->min_items) || !hr_json_table_plan(cx->doc, node, NULL, &t))
        return 0;
    value_ctx v = {cx, depth, 0, 0};
    hr_json_table_io io = {write_value, write_gap, &v};
    if (hr_json_table_write(cx->out, cx->doc, &t, NULL, &io) != 0)
        return -1;
    cx->tabled += cx->doc->nodes[node].count;
    return 1;
}

static int emit_container(crush_ctx *cx, uint32_t node, unsigned depth)
{
    const hr_json_doc *d = cx->doc;
    const hr_json_node *nd = &d->nodes[node];
    int is_obj = nd->type == HR_JSON_OBJECT;
    if (hr_buf_putc(cx->out, is_obj ? '{' : '[') != 0)
        return -1;
    for (uint32_t c = nd->first_child; c != HR_JSON_NONE; c = d->nodes[c].next) {
        if (c != nd->first_child && hr_buf_putc(cx->out, ',') != 0)
            return -1;
        const hr_json_node *ch = &d->nodes[c];
        if (is_obj && (hr_buf_append(cx->out, d->src + ch->key_start,
                                     ch->key_end - ch->key_start) != 0 ||
                       hr_buf_putc(cx->out, ':') != 0))
            return -1;
        if (emit(cx, c, depth + 1) != 0)
            return -1;
    }
    return hr_buf_putc(cx->out, is_obj ? '}' : ']');
}

static int emit(crush_ctx *cx, uint32_t node, unsigned depth)
{
    const hr_json_node *nd = &cx->doc->nodes[node];
    int container = nd->type == HR_JSON_ARRAY || nd->type == HR_JSON_OBJECT;
    if (!container || depth > cx->opts->max_depth || nd->count == 0)
        return hr_json_write_minified(cx->out, cx->doc, node);
    int rc = 0;
    if (may_cut(cx->doc, node, cx->opts->min_items))
        rc = try_crush(cx, node, depth);
    if (rc == 0)
        rc = try_table(cx, node, depth);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    return emit_container(cx, node, depth);
}

int hr_compress_smart_crusher(const char *in, size_t len, const hr_compress_opts *opts,
                              hr_compress_result *res)
{
    return hr_compress_smart_crusher_hashed(in, len, NULL, opts, res);
}

int hr_compress_smart_crusher_hashed(const char *in, size_t len, const char *hash,
                                     const hr_compress_opts *opts, hr_compress_result *res)
{
    hr_compress_name(HR_COMPRESSOR_SMART_CRUSHER, res);
    if (!hr_smart_crusher_looks_json(in, len))
        return 0;
    hr_json_doc doc;
    hr_json_error jerr;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&doc, in, len, &lim, &jerr) != 0)
        return 0; /* not JSON: not ours */
    hr_query q;
    hr_query_parse(&q, opts->query, opts->query_len);
    if (hash && hr_content_hash_valid(hash, strlen(hash)))
        memcpy(res->hash, hash, HR_CONTENT_HASH_HEX + 1);
    else
        hr_content_hash(in, len, res->hash);
    crush_ctx cx = {.doc = &doc, .opts = opts, .q = &q, .out = &res->out, .hash = res->hash};
    int rc = doc.bad_utf8 ? 0 : emit(&cx, 0, 0);
    if (rc == 0 && !cx.crushed && cx.tabled) { /* only lossless tables */
        cx.total = cx.kept = cx.tabled;
        cx.crushed = 1;
    }
    /* one closing marker for the document: the gap markers already say what went where */
    if (rc == 0 && cx.crushed)
        rc = hr_buf_putc(&cx.markers, '\n') != 0 ||
             hr_marker_write(&cx.markers, cx.total, "items", cx.kept, cx.hash) != 0 ? -1 : 0;
    if (rc == 0 && cx.crushed && hr_buf_append(&res->out, cx.markers.data, cx.markers.len) == 0 &&
        res->out.len < len) {
        res->compressed = 1;
        res->units_total = cx.total;
        res->units_kept = cx.kept;
    } else {
        hr_buf_free(&res->out);
    }
    hr_buf_free(&cx.markers);
    hr_json_doc_free(&doc);
    return rc < 0 ? -1 : 0;
}
