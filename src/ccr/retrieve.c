/* retrieve.c: see retrieve.h. Lookup through the store, then (with a query) BM25 over the
 * original's items, scored by sys/relevance.h like every other ranking in headroom. Items are byte spans into the original, so what comes back is always
 * the original's own text; nothing is re-serialised. Deterministic: ties in score keep the
 * earlier item.
 */
#include "ccr/retrieve.h"

#include "json/json.h"
#include "sys/hash.h"
#include "sys/hybrid.h"
#include "sys/relevance.h"
#include "sys/vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct span {
    size_t start, end;
    int member; /* an object member ("key": value): written wrapped in braces */
} span;

static int push_span(span **v, size_t *n, size_t *cap, size_t start, size_t end, int member)
{
    if (HR_VEC_RESERVE(*v, *cap, *n + 1) != 0)
        return -1;
    (*v)[(*n)++] = (span){start, end, member};
    return 0;
}

/* 1 if every member of obj (2 or more) is an object: a map of records (package-lock's
 * "packages", a discovery document's "schemas"), whose members are items. */
static int is_map(const hr_json_doc *d, uint32_t obj)
{
    if (d->nodes[obj].count < 2)
        return 0;
    HR_JSON_FOREACH(d, obj, c)
        if (d->nodes[c].type != HR_JSON_OBJECT)
            return 0;
    return 1;
}

typedef struct item_list {
    span *v;
    size_t n, cap;
} item_list;

/* The items of a JSON document: the elements of its outermost arrays and the members of
 * its outermost maps, wherever they sit ({"components":[..],"dependencies":[..]} gives
 * both lists; the root's own elements when it is an array). Objects that are records are
 * looked into, not split. Items never nest, so each byte is in at most one item. */
static int collect_items(const hr_json_doc *d, uint32_t node, item_list *l)
{
    const hr_json_node *nd = &d->nodes[node];
    int map = nd->type == HR_JSON_OBJECT && is_map(d, node);
    for (uint32_t c = nd->first_child; c != HR_JSON_NONE; c = d->nodes[c].next) {
        const hr_json_node *ch = &d->nodes[c];
        int rc = 0;
        if (nd->type == HR_JSON_ARRAY)
            rc = push_span(&l->v, &l->n, &l->cap, ch->start, ch->end, 0);
        else if (map)
            rc = push_span(&l->v, &l->n, &l->cap, ch->key_start, ch->end, 1);
        else if (ch->type == HR_JSON_ARRAY || ch->type == HR_JSON_OBJECT)
            rc = collect_items(d, c, l);
        if (rc < 0)
            return -1;
    }
    return 0;
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
        item_list l = {NULL, 0, 0};
        int rc = collect_items(&doc, 0, &l);
        hr_json_doc_free(&doc);
        if (rc < 0) {
            free(l.v);
            return -1;
        }
        if (l.n >= 2) {
            *items = l.v;
            *n = l.n;
            return 1;
        }
        free(l.v);
    }
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        if (push_span(items, n, &cap, i, end, 0) < 0)
            return -1;
        i = end + 1;
    }
    return 0;
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

/* The hybrid score (sys/hybrid.h) in place of BM25 when an embedder is installed; the
 * scores stay BM25 when none is or it fails open. */
static void rescore_hybrid(const char *text, const span *items, size_t n, const char *query,
                           size_t query_len, scored *sc)
{
    if (!hr_hybrid_installed())
        return;
    hr_hybrid_doc *docs = malloc((n + 1) * sizeof *docs);
    double *v = malloc((n + 1) * sizeof *v);
    if (docs && v) {
        for (size_t i = 0; i < n; i++) {
            docs[i] = (hr_hybrid_doc){text + items[i].start, items[i].end - items[i].start};
            v[i] = sc[i].score;
        }
        if (hr_hybrid_rescore(query, query_len, docs, n, v))
            for (size_t i = 0; i < n; i++)
                sc[i].score = v[i];
    }
    free(docs);
    free(v);
}

/* BM25 scores of all items (relevance.h, the items as documents), hybrid with an embedder;
 * fills sc (n entries). */
static int score_items(const char *text, const span *items, size_t n, const hr_rel_terms *q,
                       const char *query, size_t query_len, scored *sc)
{
    size_t nt = q->n;
    uint32_t *tf = calloc(n * nt + 1, sizeof *tf);
    size_t *dl = calloc(n + 1, sizeof *dl);
    uint32_t df[HR_REL_MAX_TERMS] = {0};
    if (!tf || !dl) {
        free(tf);
        free(dl);
        return -1;
    }
    double total_len = 0;
    for (size_t i = 0; i < n; i++) {
        dl[i] = hr_rel_count(q, text + items[i].start, items[i].end - items[i].start,
                             tf + i * nt);
        total_len += (double)dl[i];
        for (size_t k = 0; k < nt; k++)
            df[k] += tf[i * nt + k] > 0;
    }
    hr_bm25 m;
    hr_bm25_init(&m, nt, n, df, total_len);
    for (size_t i = 0; i < n; i++)
        sc[i] = (scored){i, hr_bm25_score(&m, tf + i * nt, dl[i])};
    free(tf);
    free(dl);
    rescore_hybrid(text, items, n, query, query_len, sc);
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
        if (rc == 0 && sp->member)
            rc = hr_buf_putc(out, '{');
        if (rc == 0)
            rc = hr_buf_append(out, text + sp->start, sp->end - sp->start);
        if (rc == 0 && sp->member)
            rc = hr_buf_putc(out, '}');
    }
    if (rc == 0 && json)
        rc = hr_buf_putc(out, ']');
    return rc;
}

int hr_ccr_scores(const char *text, size_t len, const char *query, size_t query_len,
                  double **scores, size_t *n)
{
    hr_rel_terms q;
    hr_rel_terms_parse(&q, query, query_len);
    span *items = NULL;
    *scores = NULL;
    *n = 0;
    if (split_items(text, len, &items, n) < 0)
        return -1;
    scored *sc = calloc(*n + 1, sizeof *sc);
    double *v = calloc(*n + 1, sizeof *v);
    int rc = sc && v ? score_items(text, items, *n, &q, query, query_len, sc) : -1;
    for (size_t i = 0; rc == 0 && i < *n; i++)
        v[sc[i].index] = sc[i].score;
    free(sc);
    free(items);
    if (rc != 0)
        free(v);
    else
        *scores = v;
    return rc;
}

int hr_ccr_select(const char *text, size_t len, const char *query, size_t query_len,
                  size_t top_k, hr_ccr_retrieval *out)
{
    hr_rel_terms q;
    hr_rel_terms_parse(&q, query, query_len);
    span *items = NULL;
    size_t n = 0;
    int json = split_items(text, len, &items, &n);
    if (json < 0)
        return -1;
    scored *sc = calloc(n + 1, sizeof *sc);
    if (!sc || score_items(text, items, n, &q, query, query_len, sc) < 0) {
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
    hr_rel_terms terms;
    hr_rel_terms_parse(&terms, query, query ? query_len : 0);
    if (terms.n == 0)
        query_len = 0; /* only punctuation or stopwords: nothing to rank by, so the whole original */
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
