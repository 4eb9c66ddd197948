/* json.h: the JSON layer. A validating scanner (RFC 8259) that records the byte span of
 * every value, so the proxy can replace one string in place and forward every other byte
 * unchanged, and so numbers keep their exact source text (no float round-trips).
 *
 * Ownership: hr_json_parse fills an hr_json_doc that borrows the source bytes (they must
 * outlive the doc) and owns its node array; hr_json_doc_free releases the nodes.
 *
 * Tree: nodes live in one array in document order (a value before its children). Each node
 * links to its first child and next sibling by index; HR_JSON_NONE ends a chain. Object
 * members are their value nodes, with the key's span (quotes included) in key_start/key_end.
 *
 * UTF-8 policy: invalid UTF-8 inside a string does not fail the parse; the string node gets
 * HR_JSON_F_BAD_UTF8 and doc->bad_utf8 is set. An unpaired surrogate escape (\ud800 alone)
 * counts the same way: it has no UTF-8 form, so unescaping it would not round-trip. The proxy forwards such spans unchanged and
 * never compresses them (nothing is lost, and the provider gives its own verdict). Invalid
 * UTF-8 outside strings is a syntax error. Set limits.reject_bad_utf8 to fail instead.
 */
#ifndef HR_JSON_JSON_H
#define HR_JSON_JSON_H

#include "sys/buf.h"

#include <stddef.h>
#include <stdint.h>

#define HR_JSON_NONE UINT32_MAX

typedef enum {
    HR_JSON_NULL = 0,
    HR_JSON_FALSE,
    HR_JSON_TRUE,
    HR_JSON_NUMBER,
    HR_JSON_STRING,
    HR_JSON_ARRAY,
    HR_JSON_OBJECT,
} hr_json_type;

enum {
    HR_JSON_F_ESCAPED = 1,  /* string contains backslash escapes */
    HR_JSON_F_BAD_UTF8 = 2, /* invalid UTF-8 or an unpaired surrogate escape (passed through) */
};

typedef struct hr_json_node {
    uint8_t type;     /* hr_json_type */
    uint8_t flags;    /* HR_JSON_F_* */
    uint32_t start;   /* value span [start, end) in the source; strings include quotes */
    uint32_t end;
    uint32_t key_start; /* object members: key span including quotes; else both 0 */
    uint32_t key_end;
    uint32_t parent;    /* HR_JSON_NONE for the root */
    uint32_t first_child;
    uint32_t next;
    uint32_t count;     /* number of children (arrays, objects) */
} hr_json_node;

typedef struct hr_json_limits {
    uint32_t max_depth;      /* default 512 */
    size_t max_string;       /* longest string in bytes; default 64 MiB */
    size_t max_nodes;        /* default 64 Mi nodes */
    int reject_bad_utf8;     /* default 0: flag, do not fail */
} hr_json_limits;

#define HR_JSON_LIMITS_DEFAULT {512, (size_t)64 << 20, (size_t)64 << 20, 0}

typedef enum {
    HR_JSON_ERR_SYNTAX = 0, /* not JSON */
    HR_JSON_ERR_LIMIT,      /* valid so far, but past a limit (depth, string, values, size) */
    HR_JSON_ERR_NOMEM,
} hr_json_error_kind;

typedef struct hr_json_error {
    size_t offset;  /* byte offset where the problem was found */
    char msg[160];  /* human-readable: "unexpected character 'x' at byte 17", ... */
    int kind;       /* hr_json_error_kind: callers must not call a limit "invalid JSON" */
} hr_json_error;

typedef struct hr_json_doc {
    const char *src; /* borrowed */
    size_t len;
    hr_json_node *nodes; /* owned */
    uint32_t n;
    uint32_t cap;
    int bad_utf8;    /* some string held invalid UTF-8 */
} hr_json_doc;

/* Parses src[0..len). 0 on success (root is node 0); -1 with err filled on a syntax error
 * or a limit; the doc is then empty. Documents of 4 GiB or more are refused. */
int hr_json_parse(hr_json_doc *doc, const char *src, size_t len, const hr_json_limits *limits,
                  hr_json_error *err);
void hr_json_doc_free(hr_json_doc *doc);

/* Validate-only mode: the same grammar, limits and errors as hr_json_parse, without building
 * nodes (no allocation beyond the container stack). With end == NULL, src[0..len) must be
 * one JSON value; with end != NULL, it must begin with one (after white space) and scanning
 * stops right after it: *end is the offset past the value and the bytes after it are not
 * read, which is how detection finds a JSON value inside other text. 0 ok, -1 err filled. */
int hr_json_validate(const char *src, size_t len, const hr_json_limits *limits, size_t *end,
                     hr_json_error *err);

static inline const hr_json_node *hr_json_at(const hr_json_doc *d, uint32_t i)
{
    return i == HR_JSON_NONE ? NULL : &d->nodes[i];
}

/* ---- NULL-safe navigation --------------------------------------------------------------
 * Every accessor below accepts HR_JSON_NONE (and any index past the doc) and answers
 * "absent" (HR_JSON_NONE, 0, or -1 for a type), so lookups chain without a check between
 * steps: hr_json_get_arr(d, hr_json_get_obj(d, root, "a"), "b") is NONE if any step is
 * missing or has another type. O(1) unless noted. */

/* The node's hr_json_type, or -1 for HR_JSON_NONE. */
static inline int hr_json_type_of(const hr_json_doc *d, uint32_t i)
{
    return i < d->n ? d->nodes[i].type : -1;
}
static inline int hr_json_is(const hr_json_doc *d, uint32_t i, hr_json_type t)
{
    return hr_json_type_of(d, i) == (int)t;
}
/* Children of an array or object; 0 for anything else. */
static inline uint32_t hr_json_len(const hr_json_doc *d, uint32_t i)
{
    int t = hr_json_type_of(d, i);
    return t == HR_JSON_ARRAY || t == HR_JSON_OBJECT ? d->nodes[i].count : 0;
}
/* First child of a container / next sibling; HR_JSON_NONE at the end. */
static inline uint32_t hr_json_first(const hr_json_doc *d, uint32_t i)
{
    return i < d->n ? d->nodes[i].first_child : HR_JSON_NONE;
}
static inline uint32_t hr_json_next(const hr_json_doc *d, uint32_t i)
{
    return i < d->n ? d->nodes[i].next : HR_JSON_NONE;
}

/* Iterates it (a new uint32_t) over the children of parent in document order; no pass for
 * NONE or a scalar. The _ARR / _OBJ forms also make no pass when parent has the other
 * type. An object's children are its member values (hr_json_key_eq / hr_json_key read the
 * key). O(1) per step. */
#define HR_JSON_FOREACH(d, parent, it)                                                    \
    for (uint32_t it = hr_json_first((d), (parent)); it != HR_JSON_NONE;                  \
         it = hr_json_next((d), it))
#define HR_JSON_ARR_FOREACH(d, arr, it)                                                   \
    for (uint32_t it = hr_json_is((d), (arr), HR_JSON_ARRAY) ? hr_json_first((d), (arr))  \
                                                             : HR_JSON_NONE;              \
         it != HR_JSON_NONE; it = hr_json_next((d), it))
#define HR_JSON_OBJ_FOREACH(d, obj, it)                                                   \
    for (uint32_t it = hr_json_is((d), (obj), HR_JSON_OBJECT) ? hr_json_first((d), (obj)) \
                                                              : HR_JSON_NONE;             \
         it != HR_JSON_NONE; it = hr_json_next((d), it))

/* Object member by key, only when it has type t; HR_JSON_NONE otherwise. O(members). */
uint32_t hr_json_get_typed(const hr_json_doc *d, uint32_t obj, const char *key, hr_json_type t);
static inline uint32_t hr_json_get_str(const hr_json_doc *d, uint32_t obj, const char *key)
{
    return hr_json_get_typed(d, obj, key, HR_JSON_STRING);
}
static inline uint32_t hr_json_get_arr(const hr_json_doc *d, uint32_t obj, const char *key)
{
    return hr_json_get_typed(d, obj, key, HR_JSON_ARRAY);
}
static inline uint32_t hr_json_get_obj(const hr_json_doc *d, uint32_t obj, const char *key)
{
    return hr_json_get_typed(d, obj, key, HR_JSON_OBJECT);
}

/* Object member lookup by (unescaped) key; HR_JSON_NONE if absent or not an object.
 * With duplicate keys the last one wins, as in most JSON parsers providers use. */
uint32_t hr_json_get(const hr_json_doc *d, uint32_t obj, const char *key);
/* Array element by index; HR_JSON_NONE if out of range. */
uint32_t hr_json_index(const hr_json_doc *d, uint32_t arr, uint32_t i);

/* Appends the unescaped value of a string node to out. 0 ok, -1 not a string / no memory.
 * Invalid UTF-8 bytes are copied as they are. */
int hr_json_string(const hr_json_doc *d, uint32_t node, hr_buf *out);
/* 1 if node is a string whose unescaped value equals s. */
int hr_json_string_eq(const hr_json_doc *d, uint32_t node, const char *s);
/* Same for an object member's key. */
int hr_json_key_eq(const hr_json_doc *d, uint32_t node, const char *s);
/* Appends the unescaped key of an object member to out. */
int hr_json_key(const hr_json_doc *d, uint32_t node, hr_buf *out);
/* Numbers: 0 ok, -1 not a number or out of range. */
int hr_json_int64(const hr_json_doc *d, uint32_t node, int64_t *out);
int hr_json_double(const hr_json_doc *d, uint32_t node, double *out);
/* 1 if node is true, 0 if false or anything else. */
int hr_json_is_true(const hr_json_doc *d, uint32_t node);

/* Unescapes a JSON string body (no quotes) into out. 0 ok, -1 malformed. */
int hr_json_unescape(const char *s, size_t len, hr_buf *out);

/* ---- writer: minified output into an hr_buf ---------------------------------------- */

/* Appends s as a quoted JSON string, escaping " \\ and control characters (\uXXXX for
 * those without a short form). Bytes >= 0x80 are copied as they are. */
int hr_json_write_string(hr_buf *out, const char *s, size_t len);
/* Appends the source text of a node exactly as it appears (numbers byte-exact). */
int hr_json_write_raw(hr_buf *out, const hr_json_doc *d, uint32_t node);
/* Appends a node minified: whitespace outside strings removed, everything else verbatim. */
int hr_json_write_minified(hr_buf *out, const hr_json_doc *d, uint32_t node);

/* ---- splice: several replacements applied in one pass ------------------------------- */

typedef struct hr_json_edit {
    size_t start, end;   /* source span to replace, [start, end) */
    const char *data;    /* replacement bytes (borrowed) */
    size_t len;
} hr_json_edit;

/* Writes src with each edit applied; bytes outside edits are copied unchanged. Edits are
 * sorted here by start; overlapping edits are refused (-1). */
int hr_json_splice(const char *src, size_t len, hr_json_edit *edits, size_t n, hr_buf *out);

#endif
