/* json_table.h: the lossless step of SmartCrusher: an array of similar objects, or an
 * object whose members are similar objects (package-lock's "packages", `npm ls --json`
 * dependency maps, pip inspect's installed list), written once as a header of keys and
 * rows of values instead of repeating every key in every item.
 *
 *   [{"name":"a","size":1},{"name":"b","size":2},{"size":3}]
 *     -> {"[columns]":["name","size"],"[rows]":[["a",1],["b",2],{"size":3}]}
 *   {"node_modules/x":{"version":"1.0.0"},"node_modules/y":{"version":"2.1.0"}}
 *     -> {"[columns]":["[key]","version"],"[rows]":[["node_modules/x","1.0.0"],
 *                                                   ["node_modules/y","2.1.0"]]}
 *
 * The header is the most common key sequence of the items (exact keys in exact order; the
 * first such item on ties). A value that is, in every row, an object with one same key
 * sequence (a GitHub item's "repository", its "owner") is flattened the same way: its
 * header entry is {"key":[sub-keys]} and its cell an array of its values:
 *   {"[columns]":["path",{"repo":["id","private"]}],"[rows]":[["a.py",[7,true]]]} Items with exactly that sequence become rows (arrays of their
 * values in header order); every other item stays an object, so nothing is ever invented:
 * no null stands in for a missing key. A map's non-matching members carry their member name
 * under "[key]" ({"[key]":"node_modules/z","version":...}). Keys in brackets are headroom's,
 * like every note it writes; the marker after the document retrieves the original bytes.
 *
 * The table is used only when it is smaller: hr_json_table_plan counts the bytes of the keys
 * the rows no longer repeat against the header and wrapper it adds, and declines when the
 * saving is under HR_JSON_TABLE_MIN_SAVING of the items' bytes or fewer than
 * HR_JSON_TABLE_MIN_ROWS items match.
 *
 * Ownership: plain data over a parsed document the caller owns; the writer calls back for
 * every value it emits (so the caller can still compress nested arrays inside cells) and
 * for every run of items the caller dropped (so the cut is noted where it happened).
 */
#ifndef HR_COMPRESS_JSON_TABLE_H
#define HR_COMPRESS_JSON_TABLE_H

#include "json/json.h"
#include "sys/buf.h"

#include <stddef.h>
#include <stdint.h>

#define HR_JSON_TABLE_MIN_ROWS 3
#define HR_JSON_TABLE_MIN_SAVING 0.10
#define HR_JSON_TABLE_MAX_NESTED 16 /* nested objects flattened into the header */
#define HR_JSON_TABLE_MAX_DEPTH 3   /* how deep they may sit in an item */

typedef struct hr_json_table {
    uint32_t container; /* the array or object */
    uint32_t header;    /* item whose key sequence is the header */
    uint64_t shape;     /* hash of that key sequence */
    uint32_t rows;      /* items (kept ones, when planned with a mask) that match it */
    int is_map;         /* container is an object: rows start with the member name */
    uint32_t nested[HR_JSON_TABLE_MAX_NESTED]; /* header-item nodes written as sub-headers */
    unsigned n_nested;
    size_t saved;       /* bytes the table saves over the items' source text (estimate) */
} hr_json_table;

/* Plans a table for container (an array or object with objects as children); keep (one
 * byte per child, nonzero = written) or NULL for all. 1 worth it (t filled), 0 not. */
int hr_json_table_plan(const hr_json_doc *d, uint32_t container, const uint8_t *keep,
                       hr_json_table *t);

typedef struct hr_json_table_io {
    /* Writes the value at node (a cell, or a whole non-matching item's member value). */
    int (*value)(void *ctx, uint32_t node);
    /* Writes the element noting `omitted` dropped items at this place. */
    int (*gap)(void *ctx, uint32_t omitted);
    void *ctx;
} hr_json_table_io;

/* Writes the table: children with keep[i] == 0 are skipped, each run of them noted once
 * through io->gap. 0 ok, -1 out of memory (io errors propagate). */
int hr_json_table_write(hr_buf *out, const hr_json_doc *d, const hr_json_table *t,
                        const uint8_t *keep, const hr_json_table_io *io);

/* The inverse, for tests and tools: parses json[0..len) and writes it minified with every
 * table turned back into the array or object of objects it came from (gap markers stay
 * where they are). Keys and values are copied verbatim, so a table of a container nothing
 * was cut from expands to exactly the minified original. 0 ok, -1 not JSON or out of
 * memory. */
int hr_json_table_expand(const char *json, size_t len, hr_buf *out);

#endif
