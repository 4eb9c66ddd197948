/* decode.c: see decode.h. zlib for gzip/deflate (deflate accepts the zlib wrapper and, as
 * browsers do, raw deflate), libzstd streaming API for zstd (frames may omit their size). */
#include "http/decode.h"

#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

#define CHUNK (64 * 1024)

static hr_decode_result inflate_all(const char *in, size_t len, int window_bits, size_t max_out,
                                    hr_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, window_bits) != Z_OK)
        return HR_DECODE_NOMEM;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len; /* bodies are bounded by max_body_bytes (< 4 GiB) */
    size_t base = out->len;
    hr_decode_result res = HR_DECODE_OK;
    for (;;) {
        if (hr_buf_reserve(out, CHUNK) != 0) {
            res = HR_DECODE_NOMEM;
            break;
        }
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = CHUNK;
        int rc = inflate(&z, Z_NO_FLUSH);
        out->len += CHUNK - z.avail_out;
        if (out->len - base > max_out) {
            res = HR_DECODE_TOO_LARGE;
            break;
        }
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_in > 0)) {
            res = HR_DECODE_CORRUPT;
            break;
        }
        if (z.avail_in == 0 && z.avail_out != 0) { /* input ended before the stream did */
            res = HR_DECODE_CORRUPT;
            break;
        }
    }
    inflateEnd(&z);
    if (res != HR_DECODE_OK)
        out->len = base;
    if (out->data)
        out->data[out->len] = 0;
    return res;
}

static hr_decode_result unzstd_all(const char *in, size_t len, size_t max_out, hr_buf *out)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds)
        return HR_DECODE_NOMEM;
    ZSTD_initDStream(ds);
    ZSTD_inBuffer ib = {in, len, 0};
    size_t base = out->len, last = 1;
    hr_decode_result res = HR_DECODE_OK;
    while (ib.pos < ib.size || last != 0) {
        if (hr_buf_reserve(out, CHUNK) != 0) {
            res = HR_DECODE_NOMEM;
            break;
        }
        ZSTD_outBuffer ob = {out->data + out->len, CHUNK, 0};
        size_t before = ib.pos;
        last = ZSTD_decompressStream(ds, &ob, &ib);
        if (ZSTD_isError(last)) {
            res = HR_DECODE_CORRUPT;
            break;
        }
        out->len += ob.pos;
        if (out->len - base > max_out) {
            res = HR_DECODE_TOO_LARGE;
            break;
        }
        if (ib.pos == ib.size && ob.pos < CHUNK && last != 0) { /* truncated frame */
            res = HR_DECODE_CORRUPT;
            break;
        }
        if (ib.pos == before && ob.pos == 0 && last == 0)
            break;
    }
    ZSTD_freeDStream(ds);
    if (res != HR_DECODE_OK)
        out->len = base;
    if (out->data)
        out->data[out->len] = 0;
    return res;
}

hr_decode_result hr_decode_body(const char *encoding, const char *in, size_t len,
                                size_t max_out, hr_buf *out)
{
    if (!encoding || !*encoding || strcasecmp(encoding, "identity") == 0)
        return HR_DECODE_IDENTITY;
    if (strcasecmp(encoding, "gzip") == 0 || strcasecmp(encoding, "x-gzip") == 0)
        return inflate_all(in, len, 16 + MAX_WBITS, max_out, out);
    if (strcasecmp(encoding, "deflate") == 0) {
        /* zlib-wrapped per the RFC, but raw deflate is common in the wild */
        int zlib_header = len >= 2 && (in[0] & 0x0f) == 8 &&
                          ((((unsigned char)in[0]) << 8) | (unsigned char)in[1]) % 31 == 0;
        return inflate_all(in, len, zlib_header ? MAX_WBITS : -MAX_WBITS, max_out, out);
    }
    if (strcasecmp(encoding, "zstd") == 0)
        return unzstd_all(in, len, max_out, out);
    return HR_DECODE_UNSUPPORTED;
}
