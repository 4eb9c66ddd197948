/* retrieve.h: getting an original back, whole or by relevance. Shared by the proxy's
 * retrieve routes, the headroom_retrieve tool loop, `headroom retrieve` and `headroom mcp`,
 * so all four answer the same bytes for the same (tenant, hash, query).
 *
 * Without a query the whole original comes back, byte-exact. With a query the original is
 * split into items (the elements of a JSON document's outermost arrays and the members of
 * its outermost maps of records, wherever they sit: {"results": [...]}, package-lock's
 * "packages", a CycloneDX document's "components" and "dependencies"; else its lines),
 * scored with
 * BM25 with the question's terms, both as src/sys/relevance.h defines them (its words,
 * stopwords, prefix matching and constants) - or, with an embedder installed, the hybrid
 * score of src/sys/hybrid.h - and the best 20 items with a
 * positive score are returned in their original order: a JSON array of the items' exact
 * source text (a map member as a one-member object, {"key": value}), or the lines joined
 * with '\n'.
 *
 * Ownership: the caller owns hr_ccr_retrieval and frees it with hr_ccr_retrieval_free.
 */
#ifndef HR_CCR_RETRIEVE_H
#define HR_CCR_RETRIEVE_H

#include "ccr/store.h"
#include "sys/buf.h"

#include <stddef.h>

#define HR_CCR_TOP_K 20

/* The score of every item of text for query, in item order, as retrieval ranks them (BM25,
 * or hybrid when an embedder is installed): *scores is malloc'd (the caller frees it),
 * *n its length. For `headroom embed --rank` and tests. 0 ok, -1 out of memory. */
int hr_ccr_scores(const char *text, size_t len, const char *query, size_t query_len,
                  double **scores, size_t *n);

typedef struct hr_ccr_retrieval {
    hr_ccr_status status;
    hr_buf content;        /* the original, or the selected items */
    int queried;           /* 1 when a non-empty query selected items */
    int json_items;        /* 1: items were JSON array elements (content is a JSON array) */
    size_t items_total;    /* items in the original (queried only) */
    size_t items_returned; /* items in content (queried only) */
} hr_ccr_retrieval;

/* Looks up (tenant, hash[0..hash_len)) and applies the query (NULL or empty = whole).
 * Returns out->status: FOUND, NOT_FOUND (unknown or expired), INVALID (malformed hash or
 * tenant) or ERROR (store failure, no memory). */
hr_ccr_status hr_ccr_retrieve(hr_ccr_store *s, const char *tenant, const char *hash,
                              size_t hash_len, const char *query, size_t query_len,
                              hr_ccr_retrieval *out);

/* The pure half: selects the top_k items of text for query into out (status FOUND).
 * 0 ok, -1 out of memory. */
int hr_ccr_select(const char *text, size_t len, const char *query, size_t query_len,
                  size_t top_k, hr_ccr_retrieval *out);

void hr_ccr_retrieval_free(hr_ccr_retrieval *r);

/* The answer as one JSON object, for routes and tools:
 *   {"hash":H,"content":C,"bytes":N}                                   (whole)
 *   {"hash":H,"query":Q,"content":C,"items_total":N,"items_returned":M,"bytes":B} (query)
 * Only for status FOUND. 0 ok, -1 out of memory. */
int hr_ccr_retrieval_json(const hr_ccr_retrieval *r, const char *hash, const char *query,
                          size_t query_len, hr_buf *out);

/* The text a model sees as the headroom_retrieve result: the content itself when found
 * (or a note that nothing matched the query), else a one-line explanation of why not. */
int hr_ccr_retrieval_text(const hr_ccr_retrieval *r, const char *hash, size_t hash_len,
                          hr_buf *out);

#endif
