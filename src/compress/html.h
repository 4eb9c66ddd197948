/* html.h: the HTML compressor (web fetches, curl bodies, docs pages). Contract:
 * compress/compressor.h (unit "bytes": the marker says how many bytes of HTML were kept).
 *
 * What carries no meaning for the model goes, each cut named where it stood:
 *   - <script>, <style> and <svg> bodies become "[N bytes omitted]" between their tags
 *     (the opening tag stays, so a script's src and the kind of block are visible);
 *   - comments become "<!--[N bytes omitted]-->";
 *   - class, style, on* handlers and presentational attributes (width, align, bgcolor...)
 *     are dropped, and a <span> left with no attribute goes with its closing tag (a styling
 *     hook, no meaning); a data: URI longer than HR_HTML_DATA_URI_MAX keeps its media type and
 *     becomes "data:image/png;base64,[N bytes omitted]";
 *   - whitespace runs collapse where HTML itself collapses them: a run holding a newline
 *     becomes one newline, any other run one space; never inside <pre>, <textarea>,
 *     <code>, nor inside a tag or a kept block.
 * What carries meaning stays byte for byte: all text and character references, tag names,
 * href / src / id / name / alt / title / value / type and every other attribute, table and
 * list structure, code. The question decides: a script, style, svg or comment whose body
 * mentions a word of the question (sys/relevance.h) is kept whole.
 *
 * Linear time and no nesting stack: one pass with a counter for the raw-text elements; a
 * tag without its '>' or a quote without its end copies the rest of the input verbatim
 * (fail open on invalid HTML). The whole original comes back from the final marker.
 */
#ifndef HR_COMPRESS_HTML_H
#define HR_COMPRESS_HTML_H

#include "compress/compressor.h"

#include <stddef.h>

enum { HR_HTML_DATA_URI_MAX = 64 };

/* 1 if the line s[0..n) opens an HTML document: "<!DOCTYPE html" or "<html" (any case,
 * leading blanks allowed). Detection cuts an HTML section from such a line. */
int hr_html_starts(const char *s, size_t n);

/* 1 if s[0..n) holds "</html>" (any case): the line that ends an HTML section. */
int hr_html_ends(const char *s, size_t n);

/* Compressor contract (compressor.h). */
int hr_compress_html(const char *in, size_t len, const hr_compress_opts *opts,
                     hr_compress_result *res);

#endif
