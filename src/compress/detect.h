/* detect.h: content detection and routing: which compressor fits a span of tool output.
 *
 * A span is cut into sections at line boundaries, each with one content type: a diff,
 * a JSON value spanning lines, the inside of a ``` fence, a run of search results, and
 * the plain text around them classified as file listing, log, code or prose by line votes. Small plain
 * bits next to a diff, log or search section (a commit message, a fence line, a heading)
 * join it, since those compressors keep foreign lines verbatim. Detection is a pure,
 * allocation-light scan over the bytes (no regex), deterministic, and bounded per line.
 *
 * Routing reads the compressor table (compressors.h: each row names the content types it
 * takes): JSON goes to the caller's JSON compressor (SmartCrusher lives in the pipeline's
 * part of src/compress), logs / search / diff / listings to their compressors, code and prose to the
 * text compressor; a compressor that finds nothing to do falls back to the text one. With a
 * Kompress model (opts->kompress), prose sections above its size threshold go to Kompress
 * first (code too when its option says so).
 */
#ifndef HR_COMPRESS_DETECT_H
#define HR_COMPRESS_DETECT_H

#include "compress/compressor.h"

#include <stddef.h>

typedef enum {
    HR_CT_EMPTY = 0, /* nothing but whitespace */
    HR_CT_BINARY,    /* NUL bytes or mostly control bytes: never compressed */
    HR_CT_JSON,
    HR_CT_LOG,
    HR_CT_SEARCH,
    HR_CT_DIFF,
    HR_CT_LISTING,   /* find / git ls-files / tree / ls -R output */
    HR_CT_TABLE,     /* column tables: ls -l, dpkg -l, ps, docker ps, kubectl get */
    HR_CT_PROGRESS,  /* progress logs: apt term.log, npm install (few line kinds) */
    HR_CT_GITSTAT,   /* git log --stat */
    HR_CT_HTML,      /* an HTML document: <!DOCTYPE html> or <html> to </html> */
    HR_CT_CODE,
    HR_CT_PROSE,
} hr_content_type;

const char *hr_content_type_name(hr_content_type t); /* "json", "log", ... (static) */

typedef struct hr_section {
    size_t start, end; /* byte span [start, end); sections tile the input in order */
    hr_content_type type;
} hr_section;

/* Sections of a span. Owner: the caller, released with hr_sections_free. */
typedef struct hr_sections {
    hr_section *v;
    size_t n;
} hr_sections;

/* Cuts in[0..len) into typed sections covering every byte. 0 ok, -1 no memory. */
int hr_detect_sections(const char *in, size_t len, hr_sections *out);
void hr_sections_free(hr_sections *s);

/* Type of the span as a whole: the type holding the most bytes among its sections
 * (HR_CT_EMPTY / HR_CT_BINARY for those spans). */
hr_content_type hr_detect(const char *in, size_t len);

/* The compressor for one content type; NULL for JSON (the caller's SmartCrusher), empty
 * and binary content. */
hr_compressor_fn hr_detect_compressor(hr_content_type t);

/* Picks the compressor for a span: the one for its type as a whole (hr_detect). *type
 * (optional) receives the type. NULL when nothing of ours applies (JSON, empty, binary). */
hr_compressor_fn hr_detect_pick(const char *in, size_t len, hr_content_type *type);

/* Compresses a span of any content under the compressor contract (compressor.h): one
 * section goes to its compressor (then the text compressor if that found nothing);
 * several sections are compressed one by one and joined, each inner marker replaced by a
 * plain note, with one marker (unit "lines": input lines compressed to output lines, notes
 * included) for the whole span. json_fn compresses JSON sections (may be NULL: JSON then
 * passes unchanged); a run of many JSON sections (jq's stream of values) is cut by whole
 * values, the ends and the question's best matches kept, like an array. */
int hr_compress_detected(const char *in, size_t len, const hr_compress_opts *opts,
                         hr_compressor_fn json_fn, hr_compress_result *res);

#endif
