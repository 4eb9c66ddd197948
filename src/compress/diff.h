/* diff.h: the unified-diff compressor (git diff, diff -u, git show / log -p) and the line
 * recognisers detection shares.
 *
 * Keeps every file header, every hunk header and every +/- line of the hunks it keeps;
 * context inside a hunk is cut to opts->diff_context lines (2) next to a change. At most
 * opts->diff_hunks_per_file hunks (10) per file and opts->diff_files files (20) are kept;
 * notes say how many hunks, files and added/removed lines were left out. Text outside the
 * diff (commit messages) is kept. Kept lines are verbatim, so hunk headers still state the
 * original ranges. The marker's unit is "hunks". Contract: compress/compressor.h.
 */
#ifndef HR_COMPRESS_DIFF_H
#define HR_COMPRESS_DIFF_H

#include "compress/compressor.h"

#include <stddef.h>

/* 1 if the line starts a file section: "diff --git ", "diff -u"/"diff -r" style, or
 * "--- path" when next (may be NULL) is "+++ path". */
int hr_diff_file_start(const char *s, size_t n, const char *next, size_t next_n);

/* 1 for "@@ -a[,b] +c[,d] @@..."; fills the old and new line counts (b, d; 1 if absent). */
int hr_diff_hunk_header(const char *s, size_t n, unsigned long *old_n, unsigned long *new_n);

/* Compressor contract (compressor.h). */
int hr_compress_diff(const char *in, size_t len, const hr_compress_opts *opts,
                     hr_compress_result *res);

#endif
