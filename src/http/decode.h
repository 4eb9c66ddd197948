/* decode.h: request body Content-Encoding decoding (gzip, deflate, zstd), bounded.
 *
 * Clients may compress large request bodies; the proxy must see the JSON. Decoding stops
 * at max_out bytes so a small compressed body cannot expand without limit (a "zip bomb"
 * gets the same 413 as a large plain body). Ownership: out is the caller's hr_buf.
 */
#ifndef HR_HTTP_DECODE_H
#define HR_HTTP_DECODE_H

#include "sys/buf.h"

#include <stddef.h>

typedef enum {
    HR_DECODE_OK = 0,
    HR_DECODE_IDENTITY,     /* no or identity encoding: nothing to do, out untouched */
    HR_DECODE_UNSUPPORTED,  /* an encoding we do not decode (e.g. br) */
    HR_DECODE_CORRUPT,      /* the bytes are not valid for the encoding */
    HR_DECODE_TOO_LARGE,    /* decoded size would exceed max_out */
    HR_DECODE_NOMEM,
} hr_decode_result;

/* encoding: the Content-Encoding header value or NULL ("gzip", "x-gzip", "deflate" (zlib
 * or raw), "zstd", "identity"; case-insensitive). */
hr_decode_result hr_decode_body(const char *encoding, const char *in, size_t len,
                                size_t max_out, hr_buf *out);

#endif
