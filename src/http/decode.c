/* decode.c: see decode.h. zlib for gzip/deflate (deflate accepts the zlib wrapper and, as
 * browsers do, raw deflate), libzstd streaming API for zstd (frames may omit their size).
 * Both loops decode into at most one CHUNK (or what is left below max_out + 1) per step
 * and ask limit_step before and after it, so no bound is ever passed by more than a step. */
#include "http/decode.h"

#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

#define CHUNK (64 * 1024)

typedef struct decode_run {
    const hr_decode_limits *lim;
    hr_buf *out;
    size_t base;      /* out->len before decoding */
    size_t reserved;  /* decoded bytes reserved on the lease so far */
} decode_run;

static size_t produced(const decode_run *r) { return r->out->len - r->base; }

/* Room for the next step: budget first, then memory. Sets *room to the step's size: one
 * byte past max_out at most, so crossing it is seen without decoding further. */
static hr_decode_result make_room(decode_run *r, size_t *room)
{
    size_t left = r->lim->max_out - produced(r); /* limit_step keeps produced <= max_out */
    *room = left < CHUNK ? left + 1 : CHUNK;
    size_t need = produced(r) + *room;
    if (r->lim->lease && need > r->reserved) {
        if (hr_budget_lease_add(r->lim->lease, need - r->reserved) != 0)
            return HR_DECODE_BUDGET;
        r->reserved = need;
    }
    return hr_buf_reserve(r->out, *room) == 0 ? HR_DECODE_OK : HR_DECODE_NOMEM;
}

/* After a step that consumed `consumed` input bytes in all. */
static hr_decode_result limit_step(const decode_run *r, size_t consumed)
{
    size_t n = produced(r);
    if (n > r->lim->max_out)
        return HR_DECODE_TOO_LARGE;
    if (r->lim->max_ratio && n > r->lim->ratio_floor && consumed &&
        n / r->lim->max_ratio > consumed)
        return HR_DECODE_RATIO;
    return HR_DECODE_OK;
}

static hr_decode_result finish(decode_run *r, hr_decode_result res)
{
    if (res != HR_DECODE_OK)
        r->out->len = r->base;
    if (r->out->cap) /* zlib / zstd write in place: the NUL is ours to put back */
        r->out->data[r->out->len] = 0;
    return res;
}

static hr_decode_result inflate_all(const char *in, size_t len, int window_bits, decode_run *r)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, window_bits) != Z_OK)
        return HR_DECODE_NOMEM;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len; /* bodies are bounded by max_body_bytes (< 4 GiB) */
    hr_decode_result res;
    for (;;) {
        size_t room;
        if ((res = make_room(r, &room)) != HR_DECODE_OK)
            break;
        z.next_out = (Bytef *)r->out->data + r->out->len;
        z.avail_out = (uInt)room;
        int rc = inflate(&z, Z_NO_FLUSH);
        r->out->len += room - z.avail_out;
        if ((res = limit_step(r, z.total_in)) != HR_DECODE_OK || rc == Z_STREAM_END)
            break;
        if ((rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_in > 0)) ||
            (z.avail_in == 0 && z.avail_out != 0)) { /* bad data, or input ended early */
            res = HR_DECODE_CORRUPT;
            break;
        }
    }
    inflateEnd(&z);
    return finish(r, res);
}

static hr_decode_result unzstd_all(const char *in, size_t len, decode_run *r)
{
    /* A frame that declares its size is judged before any output. */
    unsigned long long declared = ZSTD_getFrameContentSize(in, len);
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
        declared > r->lim->max_out)
        return finish(r, HR_DECODE_TOO_LARGE);
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds)
        return HR_DECODE_NOMEM;
    ZSTD_initDStream(ds);
    ZSTD_inBuffer ib = {in, len, 0};
    size_t last = 1;
    hr_decode_result res = HR_DECODE_OK;
    while (ib.pos < ib.size || last != 0) {
        size_t room;
        if ((res = make_room(r, &room)) != HR_DECODE_OK)
            break;
        ZSTD_outBuffer ob = {r->out->data + r->out->len, room, 0};
        size_t before = ib.pos;
        last = ZSTD_decompressStream(ds, &ob, &ib);
        if (ZSTD_isError(last)) {
            res = HR_DECODE_CORRUPT;
            break;
        }
        r->out->len += ob.pos;
        if ((res = limit_step(r, ib.pos)) != HR_DECODE_OK)
            break;
        if (ib.pos == ib.size && ob.pos < room && last != 0) { /* truncated frame */
            res = HR_DECODE_CORRUPT;
            break;
        }
        if (ib.pos == before && ob.pos == 0 && last == 0)
            break;
    }
    ZSTD_freeDStream(ds);
    return finish(r, res);
}

hr_decode_result hr_decode_body_limited(const char *encoding, const char *in, size_t len,
                                        const hr_decode_limits *lim, hr_buf *out)
{
    if (!encoding || !*encoding || strcasecmp(encoding, "identity") == 0)
        return HR_DECODE_IDENTITY;
    decode_run r = {lim, out, out->len, 0};
    if (strcasecmp(encoding, "gzip") == 0 || strcasecmp(encoding, "x-gzip") == 0)
        return inflate_all(in, len, 16 + MAX_WBITS, &r);
    if (strcasecmp(encoding, "deflate") == 0) {
        /* zlib-wrapped per the RFC, but raw deflate is common in the wild */
        int zlib_header = len >= 2 && (in[0] & 0x0f) == 8 &&
                          ((((unsigned char)in[0]) << 8) | (unsigned char)in[1]) % 31 == 0;
        return inflate_all(in, len, zlib_header ? MAX_WBITS : -MAX_WBITS, &r);
    }
    if (strcasecmp(encoding, "zstd") == 0)
        return unzstd_all(in, len, &r);
    return HR_DECODE_UNSUPPORTED;
}

hr_decode_result hr_decode_body(const char *encoding, const char *in, size_t len,
                                size_t max_out, hr_buf *out)
{
    hr_decode_limits lim = {max_out, 0, 0, NULL};
    return hr_decode_body_limited(encoding, in, len, &lim, out);
}
