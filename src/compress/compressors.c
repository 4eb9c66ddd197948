/* compressors.c: the compressor table (see compressors.h) and the lookups over it.
 *
 * Where to change a compressor's defaults: its row below ("change the SmartCrusher keep
 * cap" is max_items in the smart_crusher row). Its rules and their reasons stay in its own
 * file; docs/compressors.md's table must match the rows (a unit test reads both).
 */
#include "compress/compressors.h"

#include "compress/diff.h"
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

static const hr_compressor k_rows[HR_COMPRESSOR_COUNT] = {
    [HR_COMPRESSOR_SMART_CRUSHER] = {"smart_crusher", "items", hr_compress_smart_crusher,
                                     HR_COMPRESSOR_TYPE(HR_CT_JSON), 1,
                                     {LIMIT(max_items, 15, 1, 100000),
                                      LIMIT(min_items, 5, 0, 0),
                                      LIMIT(max_depth, 50, 0, 0)}},
    [HR_COMPRESSOR_LOGS] = {"logs", "lines", hr_compress_logs, HR_COMPRESSOR_TYPE(HR_CT_LOG), 1,
                            {LIMIT(log_min_lines, 50, 0, 0)}},
    [HR_COMPRESSOR_SEARCH] = {"search", "matches", hr_compress_search,
                              HR_COMPRESSOR_TYPE(HR_CT_SEARCH), 1,
                              {LIMIT(search_per_file, 5, 0, 0),
                               LIMIT(search_total, 30, 0, 0),
                               LIMIT(search_files, 15, 0, 0)}},
    [HR_COMPRESSOR_DIFF] = {"diff", "hunks", hr_compress_diff, HR_COMPRESSOR_TYPE(HR_CT_DIFF), 1,
                            {LIMIT(diff_context, 2, 0, 0),
                             LIMIT(diff_hunks_per_file, 10, 0, 0),
                             LIMIT(diff_files, 20, 0, 0)}},
    [HR_COMPRESSOR_TEXT] = {"text", "lines", hr_compress_text,
                            HR_COMPRESSOR_TYPE(HR_CT_CODE) | HR_COMPRESSOR_TYPE(HR_CT_PROSE), 1,
                            {{0}}},
    [HR_COMPRESSOR_LISTING] = {"listing", "lines", hr_compress_listing,
                               HR_COMPRESSOR_TYPE(HR_CT_LISTING), 1, {{0}}},
    [HR_COMPRESSOR_TABLE] = {"table", "lines", hr_compress_table, HR_COMPRESSOR_TYPE(HR_CT_TABLE),
                             1, {{0}}},
    [HR_COMPRESSOR_PROGRESS] = {"progress", "lines", hr_compress_progress,
                                HR_COMPRESSOR_TYPE(HR_CT_PROGRESS), 1, {{0}}},
    [HR_COMPRESSOR_GITSTAT] = {"gitstat", "lines", hr_compress_gitstat,
                               HR_COMPRESSOR_TYPE(HR_CT_GITSTAT), 1, {{0}}},
    [HR_COMPRESSOR_KOMPRESS] = {"kompress", "words", hr_compress_kompress, 0, 1, {{0}}},
    [HR_COMPRESSOR_MIXED] = {"mixed", "lines", NULL, 0, 0, {{0}}},
    [HR_COMPRESSOR_IMAGE] = {"image", "images", NULL, 0, 0, {{0}}},
    [HR_COMPRESSOR_NONE] = {"none", "lines", NULL, 0, 0, {{0}}},
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
        if (k_rows[i].types & HR_COMPRESSOR_TYPE(t))
            return &k_rows[i];
    return NULL;
}

const hr_compressor_limit *hr_compressor_limit_find(const char *name)
{
    for (size_t i = 0; i < HR_COMPRESSOR_COUNT; i++)
        for (size_t k = 0; k < HR_COMPRESSOR_MAX_LIMITS && k_rows[i].limits[k].name; k++)
            if (!strcmp(k_rows[i].limits[k].name, name))
                return &k_rows[i].limits[k];
    return NULL;
}
