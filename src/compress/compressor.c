/* compressor.c: defaults and cleanup shared by every compressor (see compressor.h). */
#include "compress/compressor.h"

#include <string.h>

void hr_compress_opts_default(hr_compress_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_items = 15;
    o->min_items = 5;
    o->max_depth = 50;
    o->log_min_lines = 50;
    o->search_per_file = 5;
    o->search_total = 30;
    o->search_files = 15;
    o->diff_context = 2;
    o->diff_hunks_per_file = 10;
    o->diff_files = 20;
}

void hr_compress_result_free(hr_compress_result *r)
{
    hr_buf_free(&r->out);
    r->compressed = 0;
}
