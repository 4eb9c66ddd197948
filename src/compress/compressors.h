/* compressors.h: the compressor table, one row per compressor (the way ggml keeps per-type
 * facts in one designated-initializer table). Everything that needs to know which
 * compressors exist reads it: detection routing (which content types go where), the
 * shared opening and closing of every compressor (its name, marker unit and option
 * defaults; declared below, written in compressor.c), policy and /v1/compress (the bounds of the settings that reach a
 * compressor), /stats (room for one counter per row), /metrics (the series listed before
 * first use) and docs/compressors.md ("The compressor table", checked against the rows by
 * tests/unit/test_compress_table.c).
 *
 * A new compressor = its own file with an hr_compressor_fn, one id here and one row in
 * compressors.c; routing, stats and metrics pick it up from the row, and the docs table
 * needs its line (unit.compress_table fails until it has one).
 *
 * The rows are static and read-only: no ownership questions, safe from any thread.
 */
#ifndef HR_COMPRESS_COMPRESSORS_H
#define HR_COMPRESS_COMPRESSORS_H

#include "compress/compressor.h"
#include "compress/detect.h"

#include <stddef.h>

/* Row order is the order of /metrics' series: keep new rows before HR_COMPRESSOR_MIXED. */
typedef enum {
    HR_COMPRESSOR_SMART_CRUSHER = 0,
    HR_COMPRESSOR_LOGS,
    HR_COMPRESSOR_SEARCH,
    HR_COMPRESSOR_DIFF,
    HR_COMPRESSOR_TEXT,
    HR_COMPRESSOR_LISTING,
    HR_COMPRESSOR_TABLE,
    HR_COMPRESSOR_PROGRESS,
    HR_COMPRESSOR_GITSTAT,
    HR_COMPRESSOR_HTML,
    HR_COMPRESSOR_KOMPRESS,
    HR_COMPRESSOR_MIXED, /* detection's join of several compressed sections (detect.h) */
    HR_COMPRESSOR_IMAGE, /* the image stage (images.h): counted in stats, not a text fn */
    HR_COMPRESSOR_NONE,  /* the name a result carries when nothing applied */
    HR_COMPRESSOR_COUNT
} hr_compressor_id;

/* One numeric option of hr_compress_opts that belongs to a compressor. A value of 0 in the
 * options a compressor is given means "the default" (the preamble fills it in). */
typedef struct hr_compressor_limit {
    const char *name;   /* the hr_compress_opts field, also its name in docs and overrides */
    size_t offset;      /* offsetof(hr_compress_opts, field); the field is an unsigned */
    unsigned def;       /* the default */
    unsigned min, max;  /* what a setting (flag, environment, /v1/compress) may set; 0, 0
                           where no setting reaches it */
} hr_compressor_limit;

#define HR_COMPRESSOR_MAX_LIMITS 3

typedef struct hr_compressor {
    const char *name;   /* in results, transforms, /stats, /metrics and savings records */
    const char *unit;   /* what its marker counts: items, lines, matches, hunks, words */
    hr_compressor_fn fn; /* NULL for rows that only name results (mixed, image, none) */
    unsigned types;     /* content types detection routes here: bits HR_COMPRESSOR_TYPE(t) */
    /* NULL: the row takes every section of its types. Otherwise it takes one only when
     * this says so, and routing asks it before the row that takes them all (Kompress:
     * prose, and code when asked, when a model is configured and the section is big). */
    int (*wants)(const hr_compress_opts *o, hr_content_type t, size_t len);
    int listed;         /* 1: a /metrics series from the start (0 before first use) */
    hr_compressor_limit limits[HR_COMPRESSOR_MAX_LIMITS]; /* unused entries have name NULL */
} hr_compressor;

#define HR_COMPRESSOR_TYPE(t) (1u << (unsigned)(t))

/* The row of id; NULL for an id outside the table. */
const hr_compressor *hr_compressor_row(hr_compressor_id id);

/* The row named name (NUL-terminated); NULL for a name not in the table. */
const hr_compressor *hr_compressor_by_name(const char *name);

/* The row that takes every section of type t (JSON: SmartCrusher; code and prose: text);
 * NULL for empty and binary content. */
const hr_compressor *hr_compressor_for_type(hr_content_type t);

/* Routing of one section of type t and len bytes under options o: the first row of t whose
 * wants says yes, else hr_compressor_for_type(t). */
const hr_compressor *hr_compressor_route(hr_content_type t, const hr_compress_opts *o, size_t len);

/* The limit named name (the hr_compress_opts field, e.g. "max_items") in any row; NULL
 * if none. Settings use its min / max so bounds live in one place. */
const hr_compressor_limit *hr_compressor_limit_find(const char *name);

/* ---- the shared preamble and end of every compressor (compressor.c) ------------------ */

/* Zeroes res and gives it row id's name and unit (static strings, valid even when nothing
 * is compressed). */
void hr_compress_name(hr_compressor_id id, hr_compress_result *res);

/* The opening of every compressor: hr_compress_name, then, when o is not NULL, the options
 * it runs with (hr_compress_limits of given). Returns 1 when in[0..len) is worth a look:
 * non-empty and holding no marker (already compressed: leave it alone); 0: return res as
 * it is. */
int hr_compress_begin(hr_compressor_id id, const char *in, size_t len,
                      const hr_compress_opts *given, hr_compress_opts *o, hr_compress_result *res);

/* The closing of every compressor: on an error (rc != 0) the result is emptied, so a
 * caller never sees half an output. Returns rc. */
int hr_compress_end(hr_compress_result *res, int rc);

/* The options a compressor runs with: given (the defaults when NULL) with every limit of
 * row id that is 0 set to its default. */
void hr_compress_limits(hr_compressor_id id, const hr_compress_opts *given, hr_compress_opts *out);

/* The shared end of the line-based compressors: appends "\n" unless res->out ends with a
 * newline or a space (a caller's lead-in text on the marker line), then the marker for
 * in[0..len) in res->unit, and fills hash and counts. Marks the result compressed only if
 * it is smaller than the input; otherwise empties it (the caller forwards the original).
 * 0 ok, -1 no memory (result emptied). */
int hr_compress_finish(const char *in, size_t len, hr_compress_result *res,
                       unsigned long long total, unsigned long long kept);

#endif
