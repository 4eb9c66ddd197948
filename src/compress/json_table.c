/* json_table.c: header-and-rows re-encoding of similar objects (see json_table.h). Two
 * passes over the children: the plan counts key sequences and bytes, the writer emits.
 * Keys are compared as their raw source bytes, so the header is exactly what the items
 * said and a row matches only an item with byte-identical keys in the same order. */
#include "compress/json_table.h"

#include "sys/hash.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SHAPES 64 /* distinct key sequences counted; rarer ones can't be the header */

static const char COLUMNS_KEY[] = "\"[columns]\"";
static const char ROWS_KEY[] = "\"[rows]\"";
static const char MEMBER_KEY[] = "\"[key]\"";

static uint64_t key_shape(const hr_json_doc *d, uint32_t obj)
{
    uint64_t h = 0x84222325cbf29ce4ULL ^ d->nodes[obj].count;
    HR_JSON_FOREACH(d, obj, c) {
        const hr_json_node *n = &d->nodes[c];
        h = (h ^ hr_hash64(d->src + n->key_start, n->key_end - n->key_start)) *
            0x100000001b3ULL;
    }
    return h;
}

static int same_keys(const hr_json_doc *d, uint32_t a, uint32_t b)
{
    if (d->nodes[a].count != d->nodes[b].count)
        return 0;
    for (uint32_t x = d->nodes[a].first_child, y = d->nodes[b].first_child; x != HR_JSON_NONE;
         x = d->nodes[x].next, y = d->nodes[y].next) {
        const hr_json_node *p = &d->nodes[x], *q = &d->nodes[y];
        size_t n = p->key_end - p->key_start;
        if (n != q->key_end - q->key_start || memcmp(d->src + p->key_start, d->src + q->key_start, n))
            return 0;
    }
    return 1;
}

static size_t key_bytes(const hr_json_doc *d, uint32_t obj)
{
    size_t b = 0;
    HR_JSON_FOREACH(d, obj, c)
        b += d->nodes[c].key_end - d->nodes[c].key_start + 1; /* "key": */
    return b;
}

typedef struct shape_count {
    uint64_t shape;
    uint32_t first, count;
} shape_count;

/* The most common key sequence among the kept object children; 0 when there is none. */
static int pick_header(const hr_json_doc *d, uint32_t container, const uint8_t *keep,
                       shape_count *best)
{
    shape_count v[MAX_SHAPES];
    int n = 0;
    uint32_t i = 0;
    for (uint32_t c = d->nodes[container].first_child; c != HR_JSON_NONE; c = d->nodes[c].next, i++) {
        if ((keep && !keep[i]) || d->nodes[c].type != HR_JSON_OBJECT || d->nodes[c].count == 0)
            continue;
        uint64_t s = key_shape(d, c);
        int k = 0;
        while (k < n && v[k].shape != s)
            k++;
        if (k < n)
            v[k].count++;
        else if (n < MAX_SHAPES)
            v[n++] = (shape_count){s, c, 1};
    }
    if (!n)
        return 0;
    int b = 0;
    for (int k = 1; k < n; k++)
        if (v[k].count > v[b].count)
            b = k;
    *best = v[b];
    return 1;
}

static int is_nested(const hr_json_table *t, uint32_t header_node)
{
    for (unsigned i = 0; i < t->n_nested; i++)
        if (t->nested[i] == header_node)
            return 1;
    return 0;
}


/* Bytes of the keys a row no longer repeats: its own and those of flattened values. */
static size_t nested_key_bytes(const hr_json_doc *d, const hr_json_table *t, uint32_t obj)
{
    size_t b = key_bytes(d, obj);
    HR_JSON_FOREACH(d, obj, c)
        if (is_nested(t, c))
            b += nested_key_bytes(d, t, c);
    return b;
}

/* Finds the values of the header item that can be flattened: objects that, in every row
 * (rows[0..n), the nodes at the same place in each matching item), have the header's key
 * sequence. Recurses into them up to HR_JSON_TABLE_MAX_DEPTH. -1 out of memory. */
static int find_nested(const hr_json_doc *d, hr_json_table *t, uint32_t hobj, uint32_t *rows,
                       uint32_t n, unsigned depth)
{
    if (depth >= HR_JSON_TABLE_MAX_DEPTH)
        return 0;
    uint32_t *sub = malloc((n ? n : 1) * sizeof *sub);
    if (!sub)
        return -1;
    int rc = 0;
    for (uint32_t hc = d->nodes[hobj].first_child, pos = 0; hc != HR_JSON_NONE && rc == 0;
         hc = d->nodes[hc].next, pos++) {
        if (d->nodes[hc].type != HR_JSON_OBJECT || d->nodes[hc].count == 0 ||
            t->n_nested >= HR_JSON_TABLE_MAX_NESTED)
            continue;
        int all = 1;
        for (uint32_t r = 0; r < n && all; r++) {
            uint32_t v = d->nodes[rows[r]].first_child;
            for (uint32_t k = 0; k < pos; k++)
                v = d->nodes[v].next;
            sub[r] = v;
            all = d->nodes[v].type == HR_JSON_OBJECT && same_keys(d, v, hc);
        }
        if (!all)
            continue;
        t->nested[t->n_nested++] = hc;
        rc = find_nested(d, t, hc, sub, n, depth + 1);
    }
    free(sub);
    return rc;
}

static int matches_header(const hr_json_doc *d, const hr_json_table *t, uint32_t c)
{
    return d->nodes[c].type == HR_JSON_OBJECT && key_shape(d, c) == t->shape &&
           same_keys(d, c, t->header);
}

int hr_json_table_plan(const hr_json_doc *d, uint32_t container, const uint8_t *keep,
                       hr_json_table *t)
{
    const hr_json_node *cn = &d->nodes[container];
    if (cn->type != HR_JSON_ARRAY && cn->type != HR_JSON_OBJECT)
        return 0;
    shape_count h;
    if (!pick_header(d, container, keep, &h))
        return 0;
    memset(t, 0, sizeof *t);
    t->container = container;
    t->header = h.first;
    t->shape = h.shape;
    t->is_map = cn->type == HR_JSON_OBJECT;
    size_t total = 0;
    uint32_t i = 0, *rows = malloc((cn->count ? cn->count : 1) * sizeof *rows);
    if (!rows)
        return 0; /* out of memory: no table, the plain writer still works */
    for (uint32_t c = cn->first_child; c != HR_JSON_NONE; c = d->nodes[c].next, i++) {
        if (keep && !keep[i])
            continue;
        total += d->nodes[c].end - d->nodes[c].start;
        if (matches_header(d, t, c))
            rows[t->rows++] = c;
    }
    int rc = find_nested(d, t, t->header, rows, t->rows, 0);
    free(rows);
    if (rc != 0)
        return 0;
    size_t per_row = nested_key_bytes(d, t, t->header), saved = per_row * t->rows;
    size_t cost = sizeof COLUMNS_KEY + sizeof ROWS_KEY + 8 + per_row +
                  (t->is_map ? sizeof MEMBER_KEY : 0);
    t->saved = saved > cost ? saved - cost : 0;
    return t->rows >= HR_JSON_TABLE_MIN_ROWS && saved > cost &&
           (double)(saved - cost) >= HR_JSON_TABLE_MIN_SAVING * (double)total;
}

/* The header entries of obj's keys: "key", or {"key":[sub-entries]} for a flattened value. */
static int write_keys(hr_buf *out, const hr_json_doc *d, const hr_json_table *t, uint32_t obj,
                      int comma_first)
{
    int rc = 0;
    HR_JSON_FOREACH(d, obj, c) {
        if (comma_first || c != d->nodes[obj].first_child)
            rc |= hr_buf_putc(out, ',');
        int nested = is_nested(t, c);
        if (nested)
            rc |= hr_buf_putc(out, '{');
        rc |= hr_buf_append(out, d->src + d->nodes[c].key_start,
                            d->nodes[c].key_end - d->nodes[c].key_start);
        if (nested) {
            rc |= hr_buf_puts(out, ":[");
            rc |= write_keys(out, d, t, c, 0);
            rc |= hr_buf_puts(out, "]}");
        }
    }
    return rc;
}

static int write_header(hr_buf *out, const hr_json_doc *d, const hr_json_table *t)
{
    int rc = hr_buf_putc(out, '{') | hr_buf_puts(out, COLUMNS_KEY) | hr_buf_puts(out, ":[");
    if (t->is_map)
        rc |= hr_buf_puts(out, MEMBER_KEY);
    rc |= write_keys(out, d, t, t->header, t->is_map);
    rc |= hr_buf_puts(out, "],") | hr_buf_puts(out, ROWS_KEY) | hr_buf_puts(out, ":[");
    return rc ? -1 : 0;
}

static int write_member_name(hr_buf *out, const hr_json_doc *d, uint32_t item)
{
    const hr_json_node *n = &d->nodes[item];
    return hr_buf_append(out, d->src + n->key_start, n->key_end - n->key_start);
}

/* The values of obj in header order (hobj: the header item's node at the same place);
 * flattened values as arrays of their own values. */
static int write_cells(hr_buf *out, const hr_json_doc *d, const hr_json_table *t, uint32_t hobj,
                       uint32_t obj, int comma_first, const hr_json_table_io *io)
{
    for (uint32_t c = d->nodes[obj].first_child, hc = d->nodes[hobj].first_child;
         c != HR_JSON_NONE; c = d->nodes[c].next, hc = d->nodes[hc].next) {
        if ((comma_first || c != d->nodes[obj].first_child) && hr_buf_putc(out, ',') != 0)
            return -1;
        if (!is_nested(t, hc)) {
            if (io->value(io->ctx, c) != 0)
                return -1;
        } else if (hr_buf_putc(out, '[') || write_cells(out, d, t, hc, c, 0, io) ||
                   hr_buf_putc(out, ']')) {
            return -1;
        }
    }
    return 0;
}

/* A matching item as a row of its values in header order. */
static int write_row(hr_buf *out, const hr_json_doc *d, const hr_json_table *t, uint32_t item,
                     const hr_json_table_io *io)
{
    if (hr_buf_putc(out, '[') != 0 || (t->is_map && write_member_name(out, d, item) != 0) ||
        write_cells(out, d, t, t->header, item, t->is_map, io) != 0)
        return -1;
    return hr_buf_putc(out, ']');
}

/* Any other item as an object (a map's member name under "[key]"). */
static int write_object_row(hr_buf *out, const hr_json_doc *d, const hr_json_table *t,
                            uint32_t item, const hr_json_table_io *io)
{
    const hr_json_node *n = &d->nodes[item];
    if (n->type != HR_JSON_OBJECT) { /* a map member that is not an object */
        if (!t->is_map)
            return io->value(io->ctx, item);
        if (hr_buf_putc(out, '{') || hr_buf_puts(out, MEMBER_KEY) || hr_buf_putc(out, ':') ||
            write_member_name(out, d, item) || hr_buf_puts(out, ",\"[value]\":") ||
            io->value(io->ctx, item))
            return -1;
        return hr_buf_putc(out, '}');
    }
    if (hr_buf_putc(out, '{') != 0)
        return -1;
    if (t->is_map && (hr_buf_puts(out, MEMBER_KEY) || hr_buf_putc(out, ':') ||
                      write_member_name(out, d, item) || (n->count && hr_buf_putc(out, ','))))
        return -1;
    for (uint32_t c = n->first_child; c != HR_JSON_NONE; c = d->nodes[c].next) {
        if (c != n->first_child && hr_buf_putc(out, ',') != 0)
            return -1;
        if (hr_buf_append(out, d->src + d->nodes[c].key_start,
                          d->nodes[c].key_end - d->nodes[c].key_start) != 0 ||
            hr_buf_putc(out, ':') != 0 || io->value(io->ctx, c) != 0)
            return -1;
    }
    return hr_buf_putc(out, '}');
}

int hr_json_table_write(hr_buf *out, const hr_json_doc *d, const hr_json_table *t,
                        const uint8_t *keep, const hr_json_table_io *io)
{
    if (write_header(out, d, t) != 0)
        return -1;
    uint32_t i = 0, run = 0;
    int first = 1;
    for (uint32_t c = d->nodes[t->container].first_child;; c = d->nodes[c].next, i++) {
        int end = c == HR_JSON_NONE;
        if (!end && keep && !keep[i]) {
            run++;
            continue;
        }
        if (run) {
            if ((!first && hr_buf_putc(out, ',') != 0) || io->gap(io->ctx, run) != 0)
                return -1;
            first = 0;
            run = 0;
        }
        if (end)
            break;
        if (!first && hr_buf_putc(out, ',') != 0)
            return -1;
        first = 0;
        int row = matches_header(d, t, c);
        if ((row ? write_row(out, d, t, c, io) : write_object_row(out, d, t, c, io)) != 0)
            return -1;
    }
    return hr_buf_puts(out, "]}");
}

/* ---- expansion (the inverse) ---------------------------------------------------------- */

static int expand(hr_buf *out, const hr_json_doc *d, uint32_t node);

static int is_table(const hr_json_doc *d, uint32_t node)
{
    const hr_json_node *n = &d->nodes[node];
    if (n->type != HR_JSON_OBJECT || n->count != 2)
        return 0;
    uint32_t cols = n->first_child, rows = d->nodes[cols].next;
    return hr_json_key_eq(d, cols, "[columns]") && d->nodes[cols].type == HR_JSON_ARRAY &&
           hr_json_key_eq(d, rows, "[rows]") && d->nodes[rows].type == HR_JSON_ARRAY;
}

static int put_raw(hr_buf *out, const hr_json_doc *d, uint32_t node)
{
    return hr_buf_append(out, d->src + d->nodes[node].start, d->nodes[node].end - d->nodes[node].start);
}

/* Cells back to members: each header entry is "key" (cell as is) or {"key":[entries]}
 * (cell an array of the sub-values). */
static int expand_cells(hr_buf *out, const hr_json_doc *d, uint32_t col, uint32_t cell)
{
    if (hr_buf_putc(out, '{'))
        return -1;
    for (int first = 1; col != HR_JSON_NONE && cell != HR_JSON_NONE;
         col = d->nodes[col].next, cell = d->nodes[cell].next, first = 0) {
        if (!first && hr_buf_putc(out, ','))
            return -1;
        if (d->nodes[col].type == HR_JSON_OBJECT && d->nodes[col].count == 1) {
            uint32_t sub = d->nodes[col].first_child;
            if (hr_buf_append(out, d->src + d->nodes[sub].key_start,
                              d->nodes[sub].key_end - d->nodes[sub].key_start) ||
                hr_buf_putc(out, ':') || d->nodes[cell].type != HR_JSON_ARRAY ||
                expand_cells(out, d, d->nodes[sub].first_child, d->nodes[cell].first_child))
                return -1;
        } else if (put_raw(out, d, col) || hr_buf_putc(out, ':') || expand(out, d, cell)) {
            return -1;
        }
    }
    return hr_buf_putc(out, '}');
}

/* A row array back to an object; in a map, preceded by its member name (the first cell). */
static int expand_row(hr_buf *out, const hr_json_doc *d, uint32_t cols, uint32_t row, int is_map)
{
    uint32_t col = d->nodes[cols].first_child, cell = d->nodes[row].first_child;
    if (is_map) {
        if (cell == HR_JSON_NONE || put_raw(out, d, cell) || hr_buf_putc(out, ':'))
            return -1;
        col = d->nodes[col].next;
        cell = d->nodes[cell].next;
    }
    return expand_cells(out, d, col, cell);
}

/* An object row; in a map its "[key]" member is the member name ("[value]": a non-object). */
static int expand_object_row(hr_buf *out, const hr_json_doc *d, uint32_t row, int is_map)
{
    uint32_t c = d->nodes[row].first_child;
    if (is_map) {
        if (c == HR_JSON_NONE || !hr_json_key_eq(d, c, "[key]") || put_raw(out, d, c) ||
            hr_buf_putc(out, ':'))
            return -1;
        c = d->nodes[c].next;
        if (c != HR_JSON_NONE && hr_json_key_eq(d, c, "[value]"))
            return expand(out, d, c);
    }
    if (hr_buf_putc(out, '{'))
        return -1;
    for (int first = 1; c != HR_JSON_NONE; c = d->nodes[c].next, first = 0)
        if ((!first && hr_buf_putc(out, ',')) ||
            hr_buf_append(out, d->src + d->nodes[c].key_start, d->nodes[c].key_end - d->nodes[c].key_start) ||
            hr_buf_putc(out, ':') || expand(out, d, c))
            return -1;
    return hr_buf_putc(out, '}');
}

static int expand_table(hr_buf *out, const hr_json_doc *d, uint32_t node)
{
    uint32_t cols = d->nodes[node].first_child, rows = d->nodes[cols].next;
    uint32_t c0 = d->nodes[cols].first_child;
    int is_map = c0 != HR_JSON_NONE && hr_json_string_eq(d, c0, "[key]");
    if (hr_buf_putc(out, is_map ? '{' : '['))
        return -1;
    HR_JSON_FOREACH(d, rows, r) {
        const hr_json_node *rn = &d->nodes[r];
        if (r != d->nodes[rows].first_child && hr_buf_putc(out, ','))
            return -1;
        int rc = rn->type == HR_JSON_ARRAY    ? expand_row(out, d, cols, r, is_map)
                 : rn->type == HR_JSON_OBJECT ? expand_object_row(out, d, r, is_map)
                 : is_map ? (put_raw(out, d, r) || hr_buf_puts(out, ":null")) /* a gap */
                          : put_raw(out, d, r);
        if (rc)
            return -1;
    }
    return hr_buf_putc(out, is_map ? '}' : ']');
}

static int expand(hr_buf *out, const hr_json_doc *d, uint32_t node)
{
    const hr_json_node *n = &d->nodes[node];
    if (is_table(d, node))
        return expand_table(out, d, node);
    if (n->type != HR_JSON_ARRAY && n->type != HR_JSON_OBJECT)
        return hr_json_write_minified(out, d, node);
    int is_obj = n->type == HR_JSON_OBJECT;
    if (hr_buf_putc(out, is_obj ? '{' : '['))
        return -1;
    for (uint32_t c = n->first_child; c != HR_JSON_NONE; c = d->nodes[c].next) {
        if (c != n->first_child && hr_buf_putc(out, ','))
            return -1;
        if (is_obj && (hr_buf_append(out, d->src + d->nodes[c].key_start,
                                     d->nodes[c].key_end - d->nodes[c].key_start) ||
                       hr_buf_putc(out, ':')))
            return -1;
        if (expand(out, d, c))
            return -1;
    }
    return hr_buf_putc(out, is_obj ? '}' : ']');
}

int hr_json_table_expand(const char *json, size_t len, hr_buf *out)
{
    hr_json_doc d;
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, json, len, &lim, &e) != 0)
        return -1;
    int rc = expand(out, &d, 0);
    hr_json_doc_free(&d);
    return rc ? -1 : 0;
}
