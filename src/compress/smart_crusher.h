/* smart_crusher.h: SmartCrusher, the JSON-array compressor (contract: compressor.h).
 *
 * Input is a JSON document (a tool output). Every array nested at most opts->max_depth (50)
 * deep with at least opts->min_items (5) elements that are all objects, all strings or all
 * numbers is reduced to the items that carry information:
 *   must-keeps   first and last; items with error words (in string values, or an
 *                error-named key with a non-empty value); numeric outliers (> 2 sigma on
 *                any numeric field); change points (a level shift of a numeric field, a
 *                switch of a low-cardinality string field); items matching anchors of
 *                opts->query (UUIDs, IDs of 4+ digits, hostnames, emails, quoted strings);
 *                the top 3 items by BM25 relevance to opts->query;
 *   budget       k more, one per SimHash near-duplicate cluster not yet represented
 *                (relevant first, then spread over the array), where k is the knee of the
 *                cumulative unique-bigram curve over the clusters, capped at
 *                opts->max_items (15): a repetitive array keeps few, a varied one the cap.
 * Kept items stay in their original order and are written minified and verbatim (numbers
 * byte-exact, strings as escaped in the source); everything outside crushed arrays keeps
 * its schema, minified. Arrays of arrays, mixed arrays and anything deeper than max_depth
 * pass through verbatim (minified). The output is the JSON, then one line per crushed
 * array: "\n[N items compressed to M. Retrieve more: hash=H]" where H is the content hash
 * of the whole input (the pipeline stores the input under H).
 *
 * Not compressed (res->compressed = 0): not JSON, invalid UTF-8 anywhere, nothing
 * eligible, or no item could be dropped.
 */
#ifndef HR_COMPRESS_SMART_CRUSHER_H
#define HR_COMPRESS_SMART_CRUSHER_H

#include "compress/compressor.h"

#include <stddef.h>

int hr_compress_smart_crusher(const char *in, size_t len, const hr_compress_opts *opts,
                              hr_compress_result *res);

/* The same with the content hash of in[0..len) already computed by the caller (the
 * pipeline hashes every span for its session cache; hashing 100 KB twice costs more than
 * crushing it). hash must be hr_content_hash(in, len). */
int hr_compress_smart_crusher_hashed(const char *in, size_t len, const char *hash,
                                     const hr_compress_opts *opts, hr_compress_result *res);

/* 1 if in[0..len) looks like a JSON array or object (first non-space byte is [ or {):
 * the cheap test routing uses before paying for a parse. */
int hr_smart_crusher_looks_json(const char *in, size_t len);

#endif
