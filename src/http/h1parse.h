/* h1parse.h: strict HTTP/1.1 request framing for the events server model (evserver.c).
 *
 * Owns the bytes-level grammar of RFC 9112 for requests, nothing above it: where a head
 * ends, the request line, the field lines, and chunked body framing. It is strict where a
 * lenient reader would let the next hop frame the request differently (smuggling): every
 * line ends in CRLF (a bare LF or CR is refused), no obs-fold (a field line starting with
 * blank), no blank between a field name and its colon, one SP between the parts of the
 * request line, version HTTP/1.0 or HTTP/1.1, chunk sizes in hex without sign or blank and
 * without overflow, a CRLF after every chunk's data, bounded chunk-size and trailer lines.
 * What the fields say (Host, Content-Length copies, Transfer-Encoding, target form) is
 * reqcheck.h's job, run on the parsed pieces.
 *
 * Pure functions with no allocation but the field array the caller frees: the fuzz target
 * (tests/fuzz/fuzz_h1parse.c) and the unit tests (tests/unit/test_http_h1parse.c) drive them
 * directly.
 */
#ifndef HR_HTTP_H1PARSE_H
#define HR_HTTP_H1PARSE_H

#include <stddef.h>

/* Where the head ends: the offset just past the empty line that closes it (CRLF CRLF),
 * 0 if it has not arrived yet. Empty lines before the request line (RFC 9112 2.2) are
 * part of the head. */
size_t hr_h1_head_end(const char *buf, size_t len);

/* A parsed head; every string points into the caller's buffer, cut with NULs in place. */
typedef struct hr_h1_head {
    const char *method;
    const char *target;
    int http11;          /* HTTP/1.1 (else HTTP/1.0) */
    const char **fields; /* name/value pairs (values trimmed of blanks); malloc'd, caller frees */
    size_t n_fields;
    size_t *value_lens;  /* in the same block as fields: each value's length (it may hold a
                            NUL, which reqcheck refuses) */
} hr_h1_head;

/* Parses buf[0..len) (a whole head as hr_h1_head_end delimited it) in place. 0 ok, else
 * the status to answer with (400, 505; -1 out of memory) and a reason (static). */
int hr_h1_parse_head(char *buf, size_t len, hr_h1_head *out, const char **reason);
void hr_h1_head_free(hr_h1_head *h);

/* Chunked body decoder, fed any slices of the byte stream. */
typedef struct hr_h1_chunked {
    int state;
    unsigned long long left;   /* data bytes left in the current chunk */
    size_t line;               /* bytes of the current size or trailer line */
    int digits;
} hr_h1_chunked;

typedef enum {
    HR_H1_MORE = 0, /* consumed all of in; more bytes needed */
    HR_H1_DONE,     /* the body ended; *used says where (the rest belongs to the next request) */
    HR_H1_BAD       /* framing error: answer 400 and close */
} hr_h1_chunk_rc;

/* Decodes from in[0..len): data bytes go to emit(arg, p, n) (returning nonzero stops with
 * HR_H1_BAD); *used is how much of in was consumed. */
hr_h1_chunk_rc hr_h1_chunked_feed(hr_h1_chunked *c, const char *in, size_t len, size_t *used,
                                  int (*emit)(void *arg, const char *p, size_t n), void *arg);

#endif
