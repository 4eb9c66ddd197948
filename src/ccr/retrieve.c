/* retrieve.c: see retrieve.h. Lookup through the store, then (with a query) BM25 over the
 * original's items. Items are byte spans into the original, so what comes back is always
 * the original's own text; nothing is re-serialised. Deterministic: ties in score keep the
 * earlier item.
 */
#include "ccr/retrieve.h"

#include "json/json.h"
#include "sys/hash.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_QUERY_TERMS 32
#define BM25_K1 1.5
#define BM25_B 0.75

typedef struct span {
    size_t start, end;
} span;

typedef struct term {
    const char *p;
    size_t len;
} term;

/* Word bytes: ASCII letters and digits, and every byte of a multi-byte UTF-8 sequence so
 * non-English words stay whole. */
static int is_word_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c >= 0x80;
}

static unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static int term_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* Distinct query terms, in order of first appearance. */
static size_t query_terms(const char *q, size_t len, term *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n < MAX_QUERY_TERMS;) {
        if (!is_word_byte((unsigned char)q[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && is_word_byte((unsigned char)q[j]))
            j++;
        int seen = 0;
        for (size_t k = 0; k < n && !seen; k++)
            seen = term_eq(out[k].p, out[k].len, q + i, j - i);
        if (!seen)
            out[n++] = (term){q + i, j - i};
        i = j;
    }
    return n;
}

static int push_span(span **v, size_t *n, size_t *cap, size_t start, size_t end)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        span *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = (span){start, end};
    return 0;
}

/* The array whose elements are the items of a JSON document: the root if it is an array,
 * else the largest array inside it (tool outputs like {"results": [...]}); HR_JSON_NONE
 * when there is none with at least two elements. */
static uint32_t item_array(const hr_json_doc *d)
{
    if (d->nodes[0].type == HR_JSON_ARRAY)
        return 0;
    uint32_t best = HR_JSON_NONE;
    for (uint32_t i = 0; i < d->n; i++)
        if (d->nodes[i].type == HR_JSON_ARRAY && d->nodes[i].count >= 2 &&
            (best == HR_JSON_NONE || d->nodes[i].count > d->nodes[best].count))
            best = i; /* ties: the first in document order */
    return best;
}

/* Items of a JSON document's item array (1 returned), else lines (0), -1 out of memory. */
static int split_items(const char *text, size_t len, span **items, size_t *n)
{
    size_t cap = 0;
    *items = NULL;
    *n = 0;
    hr_json_doc doc = {0};
    hr_json_error jerr;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    size_t lead = 0;
    while (lead < len && (text[lead] == ' ' || text[lead] == '\n' || text[lead] == '\t' ||
                          text[lead] == '\r'))
        lead++;
    if (lead < len && (text[lead] == '[' || text[lead] == '{') &&
        hr_json_parse(&doc, text, len, &lim, &jerr) == 0) {
        uint32_t arr = item_array(&doc);
        for (uint32_t c = arr != HR_JSON_NONE ? doc.nodes[arr].first_child : HR_JSON_NONE;
             c != HR_JSON_NONE; c = doc.nodes[c].next)
            if (push_span(items, n, &cap, doc.nodes[c].start, doc.nodes[c].end) < 0) {
                hr_json_doc_free(&doc);
                return -1;
            }
        hr_json_doc_free(&doc);
        if (arr != HR_JSON_NONE)
            return 1;
    }
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        if (push_span(items, n, &cap, i, end) < 0)
            return -1;
        i = end + 1;
    }
    return 0;
}

/* Term frequencies of every query term in one item, and the item's length in terms. */
static size_t count_terms(const char *p, size_t len, const term *terms, size_t nt,
                          uint32_t *tf)
{
    size_t dl = 0;
    memset(tf, 0, nt * sizeof *tf);
    for (size_t i = 0; i < len;) {
        if (!is_word_byte((unsigned char)p[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && is_word_byte((unsigned char)p[j]))
            j++;
        dl++;
        for (size_t k = 0; k < nt; k++)
            if (term_eq(terms[k].p, terms[k].len, p + i, j - i))
                tf[k]++;
        i = j;
    }
    return dl;
}

typedef struct scored {
    size_t index;
    double score;
} scored;

static int by_score_then_index(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->index < y->index ? -1 : (x->index > y->index);
}

static int by_index(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    return x->index < y->index ? -1 : (x->index > y->index);
}

/* BM25 scores of all items; fills sc (n entries). */
static int score_items(const char *text, const span *items, size_t n, const term *terms,
                       size_t nt, scored *sc)
{
    uint32_t *tf = calloc(n * nt + 1, sizeof *tf);
    size_t *dl = calloc(n + 1, sizeof *dl);
    uint32_t df[MAX_QUERY_TERMS] = {0};
    if (!tf || !dl) {
        free(tf);
        free(dl);
        return -1;
    }
    double total_len = 0;
    for (size_t i = 0; i < n; i++) {
        dl[i] = count_terms(text + items[i].start, items[i].end - items[i].start, terms, nt,
                            tf + i * nt);
        total_len += (double)dl[i];
        for (size_t k = 0; k < nt; k++)
            df[k] += tf[i * nt + k] > 0;
    }
    double avgdl = n && total_len > 0 ? total_len / (double)n : 1.0;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = 0; k < nt; k++) {
            double f = tf[i * nt + k];
            if (f == 0)
                continue;
            double idf = log(((double)n - df[k] + 0.5) / (df[k] + 0.5) + 1.0);
            s += idf * f * (BM25_K1 + 1) /
                 (f + BM25_K1 * (1 - BM25_B + BM25_B * (double)dl[i] / avgdl));
        }
        sc[i] = (scored){i, s};
    }
    free(tf);
    free(dl);
    return 0;
}

static int write_selection(const char *text, const span *items, const scored *top, size_t k,
                           int json, hr_buf *out)
{
    int rc = json ? hr_buf_putc(out, '[') : 0;
    if (k == 0 && !json)
        return hr_buf_append(out, "", 0);
    for (size_t i = 0; i < k && rc == 0; i++) {
        const span *sp = &items[top[i].index];
        if (i)
            rc = hr_buf_putc(out, json ? ',' : '\n');
        if (rc == 0)
            rc = hr_buf_append(out, text + sp->start, sp->end - sp->start);
    }
    if (rc == 0 && json)
        rc = hr_buf_putc(out, ']');
    return rc;
}

int hr_ccr_select(const char *text, size_t len, const char *query, size_t query_len,
                  size_t top_k, hr_ccr_retrieval *out)
{
    term terms[MAX_QUERY_TERMS];
    size_t nt = query_terms(query, query_len, terms);
    span *items = NULL;
    size_t n = 0;
    int json = split_items(text, len, &items, &n);
    if (json < 0)
        return -1;
    scored *sc = calloc(n + 1, sizeof *sc);
    if (!sc || score_items(text, items, n, terms, nt, sc) < 0) {
        free(sc);
        free(items);
        return -1;
    }
    qsort(sc, n, sizeof *sc, by_score_then_index);
    size_t k = 0;
    while (k < n && k < top_k && sc[k].score > 0)
        k++;
    qsort(sc, k, sizeof *sc, by_index);
    out->status = HR_CCR_FOUND;
    out->queried = 1;
    out->json_items = json;
    out->items_total = n;
    out->items_returned = k;
    int rc = write_selection(text, items, sc, k, json, &out->content);
    free(sc);
    free(items);
    return rc;
}

hr_ccr_status hr_ccr_retrieve(hr_ccr_store *s, const char *tenant, const char *hash,
                              size_t hash_len, const char *query, size_t query_len,
                              hr_ccr_retrieval *out)
{
    memset(out, 0, sizeof *out);
    if (!hash || !hr_content_hash_valid(hash, hash_len))
        return out->status = HR_CCR_INVALID;
    char h[HR_CONTENT_HASH_HEX + 1];
    memcpy(h, hash, HR_CONTENT_HASH_HEX);
    h[HR_CONTENT_HASH_HEX] = '\0';
    hr_buf original = HR_BUF_INIT;
    out->status = hr_ccr_get(s, tenant, h, &original);
    term terms[MAX_QUERY_TERMS];
    if (query && query_terms(query, query_len, terms) == 0)
        query_len = 0; /* only punctuation: nothing to rank by, so the whole original */
    if (out->status != HR_CCR_FOUND || !query || !query_len) {
        if (out->status == HR_CCR_FOUND)
            out->content = original;
        else
            hr_buf_free(&original);
        return out->status;
    }
    if (hr_ccr_select(original.data ? original.data : "", original.len, query, query_len,
                      HR_CCR_TOP_K, out) < 0) {
        hr_buf_free(&out->content);
        out->status = HR_CCR_ERROR;
    }
    hr_buf_free(&original);
    return out->status;
}

void hr_ccr_retrieval_free(hr_ccr_retrieval *r)
{
    hr_buf_free(&r->content);
    r->status = HR_CCR_NOT_FOUND;
}

int hr_ccr_retrieval_json(const hr_ccr_retrieval *r, const char *hash, const char *query,
                          size_t query_len, hr_buf *out)
{
    int rc = hr_buf_puts(out, "{\"hash\":");
    rc |= hr_json_write_string(out, hash, strlen(hash));
    if (r->queried) {
        rc |= hr_buf_puts(out, ",\"query\":");
        rc |= hr_json_write_string(out, query ? query : "", query ? query_len : 0);
    }
    rc |= hr_buf_puts(out, ",\"content\":");
    rc |= hr_json_write_string(out, r->content.data ? r->content.data : "", r->content.len);
    if (r->queried)
        rc |= hr_buf_printf(out, ",\"items_total\":%zu,\"items_returned\":%zu", r->items_total,
                            r->items_returned);
    rc |= hr_buf_printf(out, ",\"bytes\":%zu", r->content.len);
    /* the original's names too: original_content for the whole original; results (the
     * matching items, when they are JSON values) and count for a query */
    if (!r->queried) {
        rc |= hr_buf_puts(out, ",\"original_content\":");
        rc |= hr_json_write_string(out, r->content.data ? r->content.data : "", r->content.len);
    } else {
        if (r->json_items && r->content.len)
            rc |= hr_buf_puts(out, ",\"results\":") |
                  hr_buf_append(out, r->content.data, r->content.len);
        rc |= hr_buf_printf(out, ",\"count\":%zu", r->items_returned);
    }
    rc |= hr_buf_putc(out, '}');
    return rc ? -1 : 0;
}

int hr_ccr_retrieval_text(const hr_ccr_retrieval *r, const char *hash, size_t hash_len,
                          hr_buf *out)
{
    int hl = (int)(hash_len > 64 ? 64 : hash_len);
    switch (r->status) {
    case HR_CCR_FOUND:
        if (r->queried && r->items_returned == 0)
            return hr_buf_printf(out, "No items of the original (hash=%.*s, %zu items) match "
                                      "the query; call headroom_retrieve without a query for "
                                      "the whole original.", hl, hash, r->items_total);
        return hr_buf_append(out, r->content.data ? r->content.data : "", r->content.len);
    case HR_CCR_NOT_FOUND:
        return hr_buf_printf(out, "Error: no original stored for hash=%.*s (unknown or "
                                  "expired); continue with the compressed content.", hl, hash);
    case HR_CCR_INVALID:
        return hr_buf_puts(out, "Error: malformed hash; pass the 24 lowercase hex characters "
                                "after hash= in the marker.");
    default:
        return hr_buf_puts(out, "Error: the original could not be read right now (store "
                                "unavailable); continue with the compressed content.");
    }
}
