/* listing.h: the file-listing compressor (find, fd, git ls-files, tree, ls -R).
 *
 * A listing of thousands of paths mostly tells the model the shape of a tree; a few paths
 * answer the question. Kept verbatim: paths sharing words with opts->query (best first, at
 * most LISTING_MAX_RELEVANT), error-ish names (error, fail, crash, panic, ...), files at the
 * top level, tree's directory entries of the top two levels, ls -R headers, and any line
 * that is not a path. The rest is collapsed per directory into one note at the place of
 * its first omitted line, "[src/ui/components/ (214 files: 180 .tsx, 30 .css, 4 .md)]",
 * grouped at a shallower depth when there would be too many notes. Unit "lines".
 * Contract: compress/compressor.h.
 */
#ifndef HR_COMPRESS_LISTING_H
#define HR_COMPRESS_LISTING_H

#include "compress/compressor.h"

#include <stddef.h>

/* 1 if the line is an entry of a file listing: a path without spaces holding a '/' or an
 * extension, a tree(1) branch line, or an ls -R "dir:" header. Detection votes with it. */
int hr_listing_line(const char *s, size_t n);

/* Compressor contract (compressor.h). */
int hr_compress_listing(const char *in, size_t len, const hr_compress_opts *opts,
                        hr_compress_result *res);

#endif
