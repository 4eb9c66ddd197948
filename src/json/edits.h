/* edits.h: a list of edits to one parsed document, each owning its replacement bytes, applied
 * with one splice. It lets every stage that changes a request (compression, images, the
 * headroom_retrieve tool, stream_options.include_usage) work on the one parse of the body
 * and leave the bytes to the end: the body is parsed once and copied once.
 *
 * Positions are byte offsets into the document's source; edits must not overlap (the
 * splice refuses overlaps). Ownership: the list owns its items and their bytes;
 * hr_json_edits_free releases everything.
 */
#ifndef HR_JSON_EDITS_H
#define HR_JSON_EDITS_H

#include "sys/buf.h"

#include <stddef.h>

typedef struct hr_json_edits_item {
    size_t start, end; /* source span replaced, [start, end); start == end inserts */
    hr_buf data;       /* replacement bytes (owned) */
} hr_json_edits_item;

typedef struct hr_json_edits {
    hr_json_edits_item *item;
    size_t n, cap;
} hr_json_edits;

#define HR_JSON_EDITS_INIT {NULL, 0, 0}

/* Appends an edit taking data's bytes (data is left empty). 0 ok, -1 out of memory (data
 * is then freed). */
int hr_json_edits_take(hr_json_edits *l, size_t start, size_t end, hr_buf *data);
/* Appends an edit with a copy of data. 0 ok, -1 out of memory. */
int hr_json_edits_add(hr_json_edits *l, size_t start, size_t end, const char *data, size_t len);
/* Drops the edits after the first n (a stage that failed takes back what it added). */
void hr_json_edits_truncate(hr_json_edits *l, size_t n);
/* Length of src once the edits are applied. */
size_t hr_json_edits_result_len(const hr_json_edits *l, size_t src_len);
/* Writes src with every edit applied into out (one copy). 0 ok, -1 overlap or no memory. */
int hr_json_edits_apply(const hr_json_edits *l, const char *src, size_t len, hr_buf *out);
void hr_json_edits_free(hr_json_edits *l);

#endif
