/* compressor.c: what every compressor shares (see compressor.h): the option defaults, read
 * from the compressor table (compressors.h), the preamble that names a result and turns
 * away input that is empty or already compressed, the end that closes a line-based
 * result with its marker, and cleanup. One copy here instead of one per compressor file. */
#include "compress/compressor.h"

#include "ccr/marker.h"
#include "compress/compressors.h"

#include <string.h>

static unsigned *limit_field(hr_compress_opts *o, const hr_compressor_limit *l)
{
    return (unsigned *)(void *)((char *)o + l->offset);
}

/* Sets every limit of row r that is 0 in o to its default. */
static void fill_limits(const hr_compressor *r, hr_compress_opts *o)
{
    for (size_t k = 0; k < HR_COMPRESSOR_MAX_LIMITS && r->limits[k].name; k++) {
        unsigned *f = limit_field(o, &r->limits[k]);
        if (!*f)
            *f = r->limits[k].def;
    }
}

void hr_compress_opts_default(hr_compress_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int id = 0; id < HR_COMPRESSOR_COUNT; id++)
        fill_limits(hr_compressor_row((hr_compressor_id)id), o);
}

void hr_compress_limits(hr_compressor_id id, const hr_compress_opts *given, hr_compress_opts *out)
{
    if (!given) {
        hr_compress_opts_default(out);
        return;
    }
    *out = *given;
    fill_limits(hr_compressor_row(id), out);
}

void hr_compress_name(hr_compressor_id id, hr_compress_result *res)
{
    const hr_compressor *r = hr_compressor_row(id);
    memset(res, 0, sizeof *res);
    res->unit = r->unit;
    res->compressor = r->name;
}

int hr_compress_begin(hr_compressor_id id, const char *in, size_t len,
                      const hr_compress_opts *given, hr_compress_opts *o, hr_compress_result *res)
{
    hr_compress_name(id, res);
    if (o)
        hr_compress_limits(id, given, o);
    return in && len && !hr_marker_present(in, len);
}

int hr_compress_end(hr_compress_result *res, int rc)
{
    if (rc != 0)
        hr_compress_result_free(res);
    return rc;
}

int hr_compress_finish(const char *in, size_t len, hr_compress_result *res,
                       unsigned long long total, unsigned long long kept)
{
    hr_content_hash(in, len, res->hash);
    res->units_total = total;
    res->units_kept = kept;
    int rc = 0;
    if (res->out.len && res->out.data[res->out.len - 1] != '\n' &&
        res->out.data[res->out.len - 1] != ' ')
        rc |= hr_buf_putc(&res->out, '\n');
    rc |= hr_marker_write(&res->out, total, res->unit, kept, res->hash);
    if (rc != 0 || res->out.len >= len) {
        hr_buf_free(&res->out);
        res->compressed = 0;
        return rc ? -1 : 0;
    }
    res->compressed = 1;
    return 0;
}

void hr_compress_result_free(hr_compress_result *r)
{
    hr_buf_free(&r->out);
    r->compressed = 0;
}
