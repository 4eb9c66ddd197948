/* compressors.c: the compressor table (see compressors.h) and the lookups over it.
 *
 * Where to change a compressor's defaults: its row below ("change the SmartCrusher keep
 * cap" is max_items in the smart_crusher row). Its rules and their reasons stay in its own
 * file; docs/compressors.md's table must match the rows (a unit test reads both).
 */
#include "compress/compressors.h"

#include "compress/diff.h"
#include "compress/html.h"
#include "compress/kompress.h"
#include "compress/listing.h"
#include "compress/logs.h"
#include "compress/rows.h"
#include "compress/search.h"
#include "compress/smart_crusher.h"
#include "compress/text.h"

#include <string.h>

#define LIMIT(field, def_, min_, max_)                                                        \
    {#field, offsetof(hr_compress_opts, field), (def_), (min_), (max_)}

static int kompress_wants(const hr_compress_opts *o, hr_content_type t, size_t len)
{
    return o && hr_kompress_wants(o->kompress, t == HR_CT_CODE, len);
}

#define TYPE(t) HR_COMPRESSOR_TYPE(HR_CT_##t)

static const hr_compressor k_rows[HR_COMPRESSOR_COUNT] = {
    [HR_COMPRESSOR_SMART_CRUSHER] = {
        .name = "smart_crusher", .unit = "items", .fn = hr_compress_smart_crusher,
        .types = TYPE(JSON), .listed = 1,
        .limits = {LIMIT(max_items, 15, 1, 100000), LIMIT(min_items, 5, 0, 0),
                   LIMIT(max_depth, 50, 0, 0)},
    },
    [HR_COMPRESSOR_LOGS] = {
        .name = "logs", .unit = "lines", .fn = hr_compress_logs, .types = TYPE(LOG), .listed = 1,
        .limits = {LIMIT(log_min_lines, 50, 0, 0)},
    },
    [HR_COMPRESSOR_SEARCH] = {
        .name = "search", .unit = "matches", .fn = hr_compress_search, .types = TYPE(SEARCH),
        .listed = 1,
        .limits = {LIMIT(search_per_file, 5, 0, 0), LIMIT(search_total, 30, 0, 0),
                   LIMIT(search_files, 15, 0, 0)},
    },
    [HR_COMPRESSOR_DIFF] = {
        .name = "diff", .unit = "hunks", .fn = hr_compress_diff, .types = TYPE(DIFF), .listed = 1,
        .limits = {LIMIT(diff_context, 2, 0, 0), LIMIT(diff_hunks_per_file, 10, 0, 0),
                   LIMIT(diff_files, 20, 0, 0)},
    },
    [HR_COMPRESSOR_TEXT] = {.name = "text", .unit = "lines", .fn = hr_compress_text,
                            .types = TYPE(CODE) | TYPE(PROSE), .listed = 1},
    [HR_COMPRESSOR_LISTING] = {.name = "listing", .unit = "lines", .fn = hr_compress_listing,
                               .types = TYPE(LISTING), .listed = 1},
    [HR_COMPRESSOR_TABLE] = {.name = "table", .unit = "lines", .fn = hr_compress_table,
                             .types = TYPE(TABLE), .listed = 1},
    [HR_COMPRESSOR_PROGRESS] = {.name = "progress", .unit = "lines", .fn = hr_compress_progress,
                                .types = TYPE(PROGRESS), .listed = 1},
    [HR_COMPRESSOR_GITSTAT] = {.name = "gitstat", .unit = "lines", .fn = hr_compress_gitstat,
                               .types = TYPE(GITSTAT), .listed = 1},
    [HR_COMPRESSOR_HTML] = {.name = "html", .unit = "bytes", .fn = hr_compress_html,
                            .types = TYPE(HTML), .listed = 1},
    [HR_COMPRESSOR_KOMPRESS] = {.name = "kompress", .unit = "words", .fn = hr_compress_kompress,
                                .types = TYPE(CODE) | TYPE(PROSE), .wants = kompress_wants,
                                .listed = 1},
    [HR_COMPRESSOR_MIXED] = {.name = "mixed", .unit = "lines"},
    [HR_COMPRESSOR_IMAGE] = {.name = "image", .unit = "images"},
    [HR_COMPRESSOR_NONE] = {.name = "none", .unit = "lines"},
};

const hr_compressor *hr_compressor_row(hr_compressor_id id)
{
    return (unsigned)id < HR_COMPRESSOR_COUNT ? &k_rows[id] : NULL;
}

const hr_compressor *hr_compressor_by_name(const char *name)
{
    for (size_t i = 0; name && i < HR_COMPRESSOR_COUNT; i++)
        if (!strcmp(k_rows[i].name, name))
            return &k_rows[i];
    return NULL;
}

const hr_compressor *hr_compressor_for_type(hr_content_type t)
{
    for (size_t i = 0; i < HR_COMPRESSOR_COUNT; i++)
        if ((k_rows[i].types & HR_COMPRESSOR_TYPE(t)) && !k_rows[i].wants)
            return &k_rows[i];
    return NULL;
}

const hr_compressor *hr_compressor_route(hr_content_type t, const hr_compress_opts *o, size_t len)
{
    for (size_t i = 0; i < HR_COMPRESSOR_COUNT; i++)
        if ((k_rows[i].types & HR_COMPRESSOR_TYPE(t)) && k_rows[i].wants &&
            k_rows[i].wants(o, t, len))
            return &k_rows[i];
    return hr_compressor_for_type(t);
}

const hr_compressor_limit *hr_compressor_limit_find(const char *name)
{
    for (size_t i = 0; i < HR_COMPRESSOR_COUNT; i++)
        for (size_t k = 0; k < HR_COMPRESSOR_MAX_LIMITS && k_rows[i].limits[k].name; k++)
            if (!strcmp(k_rows[i].limits[k].name, name))
                return &k_rows[i].limits[k];
    return NULL;
}
