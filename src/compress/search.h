/* search.h: the search-results compressor (grep -n, ripgrep, git grep; with or without
 * ripgrep's per-file headings and -C context) and the line parsers detection shares.
 *
 * Matches are grouped by file. Results within every cap pass unchanged; otherwise at most
 * opts->search_files files (15), search_per_file matches per file (5) and search_total
 * matches in all (30) are kept, and only these, chosen in this order: the first match of
 * each file, matches sharing words with opts->query or holding error words (best first),
 * the last match of each file. Files are ranked relevant first,
 * then in order of appearance. Kept matches keep their -C context lines; every kept line
 * is verbatim. Per-file and overall notes count what was omitted; the marker's unit is
 * "matches". Contract: compress/compressor.h.
 */
#ifndef HR_COMPRESS_SEARCH_H
#define HR_COMPRESS_SEARCH_H

#include "compress/compressor.h"

#include <stddef.h>

typedef struct hr_search_hit {
    size_t path_len;        /* the path is s[0..path_len) */
    unsigned long lineno;
    size_t content;         /* offset of the matched text in s */
} hr_search_hit;

/* 1 if s[0..n) is a "path:line:text" or "path:line:col:text" match line. */
int hr_search_parse_match(const char *s, size_t n, hr_search_hit *hit);

/* ripgrep heading mode: 1 if s is "line:text", "line:col:text" (match, *context = 0) or
 * "line-text" (context, *context = 1). */
int hr_search_parse_numbered(const char *s, size_t n, unsigned long *lineno, int *context);

/* 1 if s[0..n) is plausibly a file path (ripgrep heading, match prefix): no spaces or
 * colons (beyond a "C:\\" drive prefix), a '/', '\\' or an extension, or a bare name like
 * Makefile; timestamps and level words are not paths. */
int hr_search_is_path(const char *s, size_t n);

/* Compressor contract (compressor.h). */
int hr_compress_search(const char *in, size_t len, const hr_compress_opts *opts,
                       hr_compress_result *res);

#endif
