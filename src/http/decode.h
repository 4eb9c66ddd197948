/* decode.h: request body Content-Encoding decoding (gzip, deflate, zstd), bounded.
 *
 * Clients may compress large request bodies; the proxy must see the JSON. A few KB of
 * zstd can expand to gigabytes, so decoding is bounded three ways and stops the moment a
 * bound is crossed, never after: the decoded size (max_out: the same 413 as a large plain
 * body; a zstd frame that declares a larger size is refused before any output), the ratio
 * of decoded to encoded bytes (max_ratio, checked once the output passes ratio_floor so
 * small bodies are never refused for compressing well), and the process-wide in-flight
 * budget (lease: each 64 KiB of output is reserved before it is written, so N concurrent
 * bombs together cannot pass the budget). Ownership: out is the caller's hr_buf; the
 * lease keeps what it reserved until its owner ends it.
 */
#ifndef HR_HTTP_DECODE_H
#define HR_HTTP_DECODE_H

#include "sys/budget.h"
#include "sys/buf.h"

#include <stddef.h>

typedef enum {
    HR_DECODE_OK = 0,
    HR_DECODE_IDENTITY,     /* no or identity encoding: nothing to do, out untouched */
    HR_DECODE_UNSUPPORTED,  /* an encoding we do not decode (e.g. br) */
    HR_DECODE_CORRUPT,      /* the bytes are not valid for the encoding */
    HR_DECODE_TOO_LARGE,    /* decoded size would exceed max_out */
    HR_DECODE_NOMEM,
    HR_DECODE_RATIO,        /* decoded/encoded would exceed max_ratio */
    HR_DECODE_BUDGET,       /* the in-flight budget cannot hold the decoded bytes */
} hr_decode_result;

typedef struct hr_decode_limits {
    size_t max_out;          /* decoded bytes */
    unsigned max_ratio;      /* 0 = no ratio check */
    size_t ratio_floor;      /* outputs up to this many bytes pass whatever their ratio */
    hr_budget_lease *lease;  /* optional */
} hr_decode_limits;

/* encoding: the Content-Encoding header value or NULL ("gzip", "x-gzip", "deflate" (zlib
 * or raw), "zstd", "identity"; case-insensitive). On any result but OK, out is as it was
 * (its capacity may have grown). */
hr_decode_result hr_decode_body_limited(const char *encoding, const char *in, size_t len,
                                        const hr_decode_limits *lim, hr_buf *out);
/* The same bounded by max_out only. */
hr_decode_result hr_decode_body(const char *encoding, const char *in, size_t len,
                                size_t max_out, hr_buf *out);

#endif
