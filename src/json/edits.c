/* edits.c: see edits.h. The items keep their own buffers; the splice (json.c) gets a
 * borrowed view of them built at apply time, so growing the list never leaves a dangling
 * pointer. */
#include "json/edits.h"

#include "json/json.h"
#include "sys/vec.h"

#include <stdlib.h>

int hr_json_edits_take(hr_json_edits *l, size_t start, size_t end, hr_buf *data)
{
    if (HR_VEC_RESERVE(l->item, l->cap, l->n + 1) != 0) {
        hr_buf_free(data);
        return -1;
    }
    l->item[l->n++] = (hr_json_edits_item){start, end, *data};
    *data = (hr_buf)HR_BUF_INIT;
    return 0;
}

int hr_json_edits_add(hr_json_edits *l, size_t start, size_t end, const char *data, size_t len)
{
    hr_buf b = HR_BUF_INIT;
    if (len && hr_buf_append(&b, data, len) != 0)
        return -1;
    return hr_json_edits_take(l, start, end, &b);
}

void hr_json_edits_truncate(hr_json_edits *l, size_t n)
{
    while (l->n > n)
        hr_buf_free(&l->item[--l->n].data);
}

size_t hr_json_edits_result_len(const hr_json_edits *l, size_t src_len)
{
    size_t len = src_len;
    for (size_t i = 0; i < l->n; i++)
        len = len - (l->item[i].end - l->item[i].start) + l->item[i].data.len;
    return len;
}

int hr_json_edits_apply(const hr_json_edits *l, const char *src, size_t len, hr_buf *out)
{
    hr_json_edit *e = malloc((l->n ? l->n : 1) * sizeof *e);
    if (!e)
        return -1;
    for (size_t i = 0; i < l->n; i++) {
        const hr_json_edits_item *it = &l->item[i];
        e[i] = (hr_json_edit){it->start, it->end, it->data.data ? it->data.data : "", it->data.len};
    }
    int rc = hr_json_splice(src, len, e, l->n, out);
    free(e);
    return rc;
}

void hr_json_edits_free(hr_json_edits *l)
{
    hr_json_edits_truncate(l, 0);
    free(l->item);
    *l = (hr_json_edits)HR_JSON_EDITS_INIT;
}
