/* rows.h: the record-per-line compressor: column tables (`ls -l`, `dpkg -l`, `ps aux`,
 * `docker ps`, `kubectl get`), progress logs (apt's term.log, `npm install` output) and
 * `git log --stat`, where one line is one record and most records look alike.
 *
 * Both keep the lines an agent needs and summarise the rest:
 *   - everything before the first record (a table's header, `total N`) verbatim;
 *   - the records that match the question best (BM25 over the records through
 *     sys/relevance, at most ROWS_MAX_RELEVANT, ranked, then in order);
 *   - signal records (an error or warning word) only where such records are rare
 *     (hr_rel_is_rare): in a package list where every fifth description says "error",
 *     the word picks out nothing;
 *   - outliers: a table row whose value in a low-cardinality column is rare (a package in
 *     state `rc` among 800 `ii`), a log line whose kind (its first word or two, digits
 *     normalised) is rare in the log (`start-stop-daemon: unable to stat ...` among
 *     thousands of `Unpacking` / `Setting up` lines);
 *   - the first ROWS_HEAD records and the last ROWS_TAIL (a log's end says how it ended).
 * Every cut gets a note in place: tables `[N rows omitted]`, logs `[N lines omitted:
 * 310 Unpacking, 305 Setting up]` (the commonest kinds of that stretch). A table ends with
 * one summary of all omitted rows per column (`owner: root x1150; size: 0..9811552`),
 * then the marker (unit "lines").
 *
 * `git log --stat` keeps every commit header, message and "N files changed" summary; its
 * records are the ` path | 12 ++--` lines, of which only those matching the question stay
 * (`[5 more files]` for the rest of a commit's list).
 *
 * Contract: compress/compressor.h. Deterministic, no I/O.
 */
#ifndef HR_COMPRESS_ROWS_H
#define HR_COMPRESS_ROWS_H

#include "compress/compressor.h"

#include <stddef.h>

/* 1 if the line is an `ls -l` row: a mode string (`-rw-r--r--`, `lrwxrwxrwx`, with an
 * optional `.`/`+`/`@`) then a link count. Detection votes with it. */
int hr_rows_ls_line(const char *s, size_t n);

/* 1 if in[0..len) reads as a column table: `ls -l` rows, or a header line (all capitals
 * with 3+ columns as in ps / docker / kubectl, or dpkg -l's `||/ Name`) near the top,
 * followed by 10+ rows. */
int hr_rows_is_table(const char *in, size_t len);

/* 1 if in[0..len) reads as a progress log: 40+ non-blank lines of which the 6 commonest
 * line kinds make up at least 70%, the second commonest at least 10%. */
int hr_rows_is_progress(const char *in, size_t len);

/* 1 if in[0..len) reads as `git log --oneline` (with or without `--graph`): 40+ non-blank
 * lines, 90% of them commit lines (graph characters, then a 7-12 or 40 digit hex id and a
 * message) or graph-only lines, at least half commit lines; or as `git blame` (90% of 40+
 * lines "id (Author date n) code"). Compressed as a progress log: the question's lines,
 * the 10 newest commits (blame: the first 2 lines) and the last 3 stay; cuts count commits
 * and graph lines, or for blame name the commits of the cut lines. */
int hr_rows_is_commits(const char *in, size_t len);

/* For other line compressors (logs): sets keep[i] for the lines these rules pick in
 * in[0..len): the best matches for opts->query, and, when the text is dominated by a few
 * line kinds (hr_rows_is_progress), every line whose kind is rare there (dpkg.log's five
 * `remove` lines among thousands of `status` / `install` lines). keep has one entry per
 * line as hr_lines_split cuts in. 0 ok, -1 no memory. */
int hr_rows_mark(const char *in, size_t len, const hr_compress_opts *opts, unsigned char *keep);

/* 1 for a diffstat line: " path | 12 +++--" or " path | Bin 0 -> 10 bytes". */
int hr_rows_stat_line(const char *s, size_t n);

/* 1 if in[0..len) reads as `git log --stat`: 2+ "commit <hex>" lines and 10+ stat lines. */
int hr_rows_is_gitstat(const char *in, size_t len);

/* Compressor contracts (compressor.h). */
int hr_compress_table(const char *in, size_t len, const hr_compress_opts *opts,
                      hr_compress_result *res);
int hr_compress_progress(const char *in, size_t len, const hr_compress_opts *opts,
                         hr_compress_result *res);
int hr_compress_gitstat(const char *in, size_t len, const hr_compress_opts *opts,
                        hr_compress_result *res);

#endif
