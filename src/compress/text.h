/* text.h: the plain-text compressor (prose and code without ML) and the line model the
 * line-based compressors (logs, search, diff, text) share.
 *
 * The text compressor collapses what carries no information twice: runs of blank lines,
 * runs of identical lines and runs of near-identical lines (progress bars, repeated stack
 * frames, the same message with other numbers), writing a count where it removed lines.
 * It never edits a line it keeps: every kept line is byte-identical to its original,
 * CR included. Contract: compress/compressor.h (unit "lines").
 */
#ifndef HR_COMPRESS_TEXT_H
#define HR_COMPRESS_TEXT_H

#include "compress/compressor.h"

#include <stddef.h>
#include <stdint.h>

/* Line model: line i is in[start[i] .. start[i+1]) including its '\n' (the last line may
 * lack one); start[n] == len. Owner: whoever fills it; hr_lines_free releases it. */
typedef struct hr_lines {
    size_t n;
    size_t *start; /* n + 1 offsets */
} hr_lines;

/* Splits in[0..len) at '\n'. 0 ok, -1 on allocation failure (lines left empty). */
int hr_lines_split(const char *in, size_t len, hr_lines *lines);
void hr_lines_free(hr_lines *lines);

/* Length of line i without its "\n" or "\r\n" terminator. */
static inline size_t hr_line_len(const char *in, const hr_lines *l, size_t i)
{
    size_t a = l->start[i], b = l->start[i + 1];
    if (b > a && in[b - 1] == '\n')
        b--;
    if (b > a && in[b - 1] == '\r')
        b--;
    return b - a;
}

/* 1 if the line holds only spaces, tabs and CR. */
int hr_line_is_blank(const char *s, size_t n);

/* Appends line i of in verbatim (terminator included); adds '\n' when the input's last
 * line had none, so every appended line ends with one. 0 ok, -1 no memory. */
int hr_lines_append(hr_buf *out, const char *in, const hr_lines *l, size_t i);

/* Cuts lines [a, b) of in: writes their note "[N unit omitted]\n" when that note is shorter
 * than the lines (hr_note_pays, the rule for every cut), else the lines themselves.
 * Returns 1 if the lines were kept, 0 if the note was written, -1 no memory. */
int hr_lines_cut(hr_buf *out, const char *in, const hr_lines *l, size_t a, size_t b,
                 const char *unit);

/* The same rule for a note of the caller's own words: the caller wrote the note for lines
 * [a, b) (its newline included) at out[mark..]; it stays if it pays, else it is replaced
 * by the lines. Returns 1 if the lines were kept, 0 if the note stayed, -1 no memory. */
int hr_lines_cut_end(hr_buf *out, size_t mark, const char *in, const hr_lines *l, size_t a,
                     size_t b);

/* Shape hash of a line for near-duplicate comparison: digit runs and hex ids count as one
 * '0'; a run of spaces and bar characters (= # - . * > | _ ~ and bytes >= 0x80, which
 * draw progress-bar blocks) counts as one separator. *letters receives the number of ASCII letters
 * seen: lines without words are never treated as near-identical, so numeric tables
 * survive. */
uint64_t hr_line_shape_hash(const char *s, size_t n, size_t *letters);

/* Compressor contract (compressor.h). */
int hr_compress_text(const char *in, size_t len, const hr_compress_opts *opts,
                     hr_compress_result *res);

#endif
