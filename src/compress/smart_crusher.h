/* smart_crusher.h: SmartCrusher, the JSON compressor (contract: compressor.h). The full
 * rules, with their reasons, are in docs/compression.md ("SmartCrusher"); in short:
 *
 * Eligible: containers nested at most opts->max_depth (50) deep with at least
 * opts->min_items (5) children, 512+ bytes of text and more than 2 KB once written as a
 * table (smaller ones keep every item: lossless before lossy): arrays of all objects, all strings
 * or all numbers, and maps of similar records (every member an object, one key in 80% of
 * them). Equal-length sibling arrays (enum / enumDescriptions) are cut together or not at
 * all; arrays inside arrays with equal-length siblings (table rows) are never cut.
 * Kept per container: first and last; error items only where rare (sys/relevance.h);
 * numeric outliers and change points; items matching anchors of opts->query; the
 * question's items (BM25: the top 3, those within 0.7 of the best, the best per term);
 * and, only when the question picked none, a diversity budget sized by the knee of the
 * unique-bigram curve, capped at opts->max_items (15).
 * Written: the document minified, kept items verbatim in order (their own containers
 * crushed too), a string where each run of items went (the container's first gap a gap
 * marker "[N items omitted. Retrieve more: hash=H]", later ones "[N items omitted]"), similar objects as a header and rows (json_table.h) where smaller,
 * then one closing marker line "\n[N items compressed to M. Retrieve more: hash=H]" where
 * H is the content hash of the whole input (the pipeline stores the input under H).
 *
 * Not compressed (res->compressed = 0): not JSON, invalid UTF-8 anywhere, nothing
 * eligible, or nothing smaller.
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
