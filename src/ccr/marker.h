/* marker.h: the one marker grammar every compressor writes and the one parser that reads it.
 *
 *   [<N> <unit> compressed to <M>. Retrieve more: hash=<24 hex>]
 *   [<N> <unit> omitted. Retrieve more: hash=<24 hex>]
 *
 * The first closes a compressed output (one per compressed output). The second, the gap
 * form, stands where N units were cut, inside the output (SmartCrusher writes it as a JSON
 * string at the first cut of each container; later cuts get the plain note "[N items
 * omitted]"), so the model sees where items went and how to get them back; it promises the
 * same thing for the same hash.
 * unit is one of items, lines, matches, hunks (a word of lowercase letters in general); a
 * count of 1 is written singular ("[1 line omitted]") and both forms parse.
 * N is the count in the original, M the count kept, hash the content hash (sys/hash.h) of
 * the original bytes the compressor was given. The CCR store keeps those bytes under that
 * hash, so a marker is always a promise that the original can be retrieved.
 */
#ifndef HR_CCR_MARKER_H
#define HR_CCR_MARKER_H

#include "sys/buf.h"
#include "sys/hash.h"

#include <stddef.h>

typedef struct hr_marker {
    unsigned long long total;  /* N */
    unsigned long long kept;   /* M */
    int gap;                   /* 1 for the gap form: total = N omitted, kept = 0 */
    char unit[16];
    char hash[HR_CONTENT_HASH_HEX + 1];
    size_t start, end;         /* byte span of the marker in the scanned text */
} hr_marker;

/* Appends one marker (no newline) to out. 0 ok, -1 on allocation failure. */
int hr_marker_write(hr_buf *out, unsigned long long total, const char *unit,
                    unsigned long long kept, const char *hash);

/* Appends one gap marker (no newline). 0 ok, -1 on allocation failure. */
int hr_marker_write_gap(hr_buf *out, unsigned long long omitted, const char *unit,
                        const char *hash);

/* Appends the plain note of a marker (no newline): the same words without the retrieval
 * part, "[N unit omitted]" (gap) or "[N unit compressed to M]". A note stands where a
 * marker's hash would not be stored (a section inside a compressed span, a container's
 * later cuts, a compressor's own count of lines it dropped); the parser never takes it for
 * a marker. 0 ok, -1 on allocation failure. */
int hr_marker_write_note(hr_buf *out, unsigned long long total, const char *unit,
                         unsigned long long kept, int gap);

/* The one rule for every cut: 1 if a note of `note` bytes is shorter than the `removed`
 * bytes it would stand for (both counted with their line ending, if any). A note as long
 * as what it replaces loses both bytes and information, so such a cut keeps its content
 * instead; kept whole, that content needs no retrieval hash either. */
int hr_note_pays(size_t note, size_t removed);

/* Applies that rule to a note just written: the caller wrote, at out[mark..], the note
 * standing for content[0..n); if it does not pay, it is replaced by the content. Returns 1
 * if the content was kept, 0 if the note stayed, -1 no memory. */
int hr_note_settle(hr_buf *out, size_t mark, const char *content, size_t n);

/* Finds the first well-formed marker at or after text+from. 1 found (m filled), 0 none. */
int hr_marker_find(const char *text, size_t len, size_t from, hr_marker *m);

/* 1 if the text holds at least one marker (already compressed: leave it alone). */
int hr_marker_present(const char *text, size_t len);

#endif
