/* compressor.h: the contract every content compressor follows (SmartCrusher, logs, search
 * results, diffs, text). A compressor is a pure function: bytes + options -> bytes + stats.
 * No I/O, no global state, deterministic: the same input and options give the same bytes.
 *
 * Ownership: the caller owns in and opts; the compressor fills res->out (caller frees with
 * hr_compress_result_free). When res->compressed is 0 the compressor found nothing worth
 * removing and res->out is empty: the caller forwards the original.
 *
 * Every compressed output ends with exactly one marker (ccr/marker.h) naming res->hash, the
 * content hash of in[0..len): the pipeline stores in[0..len) under that hash before it
 * forwards the output (nothing is omitted without a way back).
 *
 * Each compressor is a row of the compressor table (compressors.h: name, unit, defaults of
 * its options) and shares one opening and closing: hr_compress_begin (name, unit, options
 * with defaults; empty or already-marked input turned away), hr_compress_finish (the
 * marker, line-based ones) and hr_compress_end (emptied on error).
 */
#ifndef HR_COMPRESS_COMPRESSOR_H
#define HR_COMPRESS_COMPRESSOR_H

#include "sys/buf.h"
#include "sys/hash.h"

#include <stddef.h>

struct hr_kompress; /* compress/kompress.h */

typedef struct hr_compress_opts {
    const char *query;      /* latest user message (relevance, anchors); may be NULL */
    size_t query_len;
    unsigned max_items;     /* SmartCrusher cap before must-keeps (default 15) */
    unsigned min_items;     /* SmartCrusher: arrays shorter than this pass (default 5) */
    unsigned max_depth;     /* SmartCrusher: deepest array considered (default 50) */
    unsigned log_min_lines; /* logs shorter than this pass (default 50) */
    unsigned search_per_file, search_total, search_files;   /* 5, 30, 15 */
    unsigned diff_context, diff_hunks_per_file, diff_files; /* 2, 10, 20 */
    struct hr_kompress *kompress; /* the ML text compressor for prose; NULL = none (borrowed) */
    double deadline_ms;     /* CLOCK_MONOTONIC ms after which ML work stops; 0 = none */
} hr_compress_opts;

void hr_compress_opts_default(hr_compress_opts *o);

typedef struct hr_compress_result {
    int compressed;           /* 1: out holds the compressed text with its marker */
    hr_buf out;
    unsigned long long units_total; /* N in the marker */
    unsigned long long units_kept;  /* M in the marker */
    const char *unit;         /* "items", "lines", "matches", "hunks" (static) */
    const char *compressor;   /* "smart_crusher", "logs", ... (static) */
    char hash[HR_CONTENT_HASH_HEX + 1];
} hr_compress_result;

typedef int (*hr_compressor_fn)(const char *in, size_t len, const hr_compress_opts *opts,
                                hr_compress_result *res);

void hr_compress_result_free(hr_compress_result *r);

#endif
