/* json.c: the validating span scanner, accessors, writer and splice of json.h.
 *
 * The parser is iterative (an explicit stack of open containers), so nesting depth is a
 * limit we check, not a recursion that can overflow the C stack: a body nested 100,000 deep
 * gets a clear error at depth 512. Nodes are appended to one growable array in document
 * order and linked by index, which keeps a node at 36 bytes and makes freeing one call.
 */
#include "json/json.h"
#include "sys/ascii.h"
#include "sys/jsonesc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parser state --------------------------------------------------------------- */

typedef struct frame {
    uint32_t node;       /* the open container */
    uint32_t last_child; /* HR_JSON_NONE until its first child */
    int is_obj;          /* kept here so validate-only mode needs no node array */
} frame;

typedef struct parser {
    hr_json_doc *doc;
    const unsigned char *s;
    size_t len;
    size_t p;
    hr_json_limits lim;
    hr_json_error *err;
    frame *stack;
    uint32_t depth;
    uint32_t stack_cap;
    int validate_only; /* count values, store none (hr_json_validate) */
    int stop_after;    /* end at the first complete value, trailing bytes allowed */
} parser;

static int fail(parser *ps, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(parser *ps, size_t at, const char *fmt, ...)
{
    if (ps->err) {
        ps->err->offset = at;
        ps->err->kind = HR_JSON_ERR_SYNTAX;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err->msg, sizeof ps->err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* fail's result with the error's kind set (fail itself reports syntax errors). */
static int kind(parser *ps, hr_json_error_kind k, int rc)
{
    if (ps->err)
        ps->err->kind = k;
    return rc;
}

static int fail_unexpected(parser *ps, const char *wanted)
{
    if (ps->p >= ps->len)
        return fail(ps, ps->p, "unexpected end of input at byte %zu (expected %s)", ps->p, wanted);
    unsigned char c = ps->s[ps->p];
    if (c >= 0x20 && c < 0x7f)
        return fail(ps, ps->p, "unexpected character '%c' at byte %zu (expected %s)", c, ps->p,
                    wanted);
    return fail(ps, ps->p, "unexpected byte 0x%02x at byte %zu (expected %s)", c, ps->p, wanted);
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->len && hr_is_json_ws(ps->s[ps->p]))
        ps->p++;
}

static int new_node(parser *ps, hr_json_type type, size_t start, size_t key_s, size_t key_e,
                    uint32_t *out)
{
    hr_json_doc *d = ps->doc;
    if (d->n >= ps->lim.max_nodes || d->n == HR_JSON_NONE - 1)
        return kind(ps, HR_JSON_ERR_LIMIT, fail(ps, start, "too many JSON values (limit %zu) at byte %zu",
                                                ps->lim.max_nodes, start));
    if (ps->validate_only) {
        *out = d->n++;
        return 0;
    }
    if (d->n == d->cap) {
        uint32_t cap = d->cap ? d->cap : 64;
        cap = cap > UINT32_MAX / 2 ? UINT32_MAX - 1 : cap * 2;
        hr_json_node *nodes = realloc(d->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return kind(ps, HR_JSON_ERR_NOMEM, fail(ps, start, "out of memory at byte %zu", start));
        d->nodes = nodes;
        d->cap = cap;
    }
    uint32_t idx = d->n++;
    hr_json_node *nd = &d->nodes[idx];
    nd->type = (uint8_t)type;
    nd->flags = 0;
    nd->start = (uint32_t)start;
    nd->end = (uint32_t)start;
    nd->key_start = (uint32_t)key_s;
    nd->key_end = (uint32_t)key_e;
    nd->first_child = HR_JSON_NONE;
    nd->next = HR_JSON_NONE;
    nd->count = 0;
    nd->parent = HR_JSON_NONE;
    if (ps->depth) {
        frame *f = &ps->stack[ps->depth - 1];
        nd->parent = f->node;
        if (f->last_child == HR_JSON_NONE)
            d->nodes[f->node].first_child = idx;
        else
            d->nodes[f->last_child].next = idx;
        f->last_child = idx;
        d->nodes[f->node].count++;
    }
    *out = idx;
    return 0;
}

/* Node writes go through these so validate-only mode (no node array) can skip them. */
static void set_end(parser *ps, uint32_t idx, size_t end)
{
    if (!ps->validate_only)
        ps->doc->nodes[idx].end = (uint32_t)end;
}

static void set_flags(parser *ps, uint32_t idx, uint8_t flags)
{
    if (!ps->validate_only)
        ps->doc->nodes[idx].flags = flags;
}

/* Length of a valid UTF-8 sequence starting at s[0] (1..4), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

static unsigned hex_value(const char *s);

/* 1 if s starts with a well-formed \uXXXX escape. */
static int is_u_escape(const unsigned char *s, size_t avail)
{
    return avail >= 6 && s[0] == '\\' && s[1] == 'u' && hr_is_xdigit(s[2]) && hr_is_xdigit(s[3]) &&
           hr_is_xdigit(s[4]) && hr_is_xdigit(s[5]);
}

/* Invalid UTF-8 bytes or an unpaired surrogate escape: flag the string (the UTF-8 policy of
 * json.h), or fail when the limits say to reject. */
static int mark_bad_unicode(parser *ps, uint8_t *flags, const char *what)
{
    if (ps->lim.reject_bad_utf8)
        return fail(ps, ps->p, "%s in string at byte %zu", what, ps->p);
    *flags |= HR_JSON_F_BAD_UTF8;
    ps->doc->bad_utf8 = 1;
    return 0;
}

/* Scans a string starting at the opening quote; on success ps->p is past the closing quote
 * and *flags says whether it had escapes or invalid UTF-8. */
static int scan_string(parser *ps, uint8_t *flags)
{
    size_t start = ps->p++;
    const unsigned char *s = ps->s;
    *flags = 0;
    for (;;) {
        /* Fast path: plain ASCII that needs no attention. */
        while (ps->p < ps->len) {
            unsigned char c = s[ps->p];
            if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
                break;
            ps->p++;
        }
        if (ps->p >= ps->len)
            return fail(ps, start, "unterminated string starting at byte %zu", start);
        unsigned char c = s[ps->p];
        if (c == '"') {
            ps->p++;
            if (ps->p - start - 2 > ps->lim.max_string)
                return kind(ps, HR_JSON_ERR_LIMIT,
                            fail(ps, start, "string at byte %zu is longer than the limit of %zu bytes",
                                 start, ps->lim.max_string));
            return 0;
        }
        if (c == '\\') {
            *flags |= HR_JSON_F_ESCAPED;
            if (ps->p + 1 >= ps->len)
                return fail(ps, ps->p, "unterminated escape at byte %zu", ps->p);
            unsigned char e = s[ps->p + 1];
            if (e == 'u') {
                if (!is_u_escape(s + ps->p, ps->len - ps->p))
                    return fail(ps, ps->p, "invalid \\u escape at byte %zu", ps->p);
                unsigned cp = hex_value((const char *)s + ps->p + 2);
                ps->p += 6;
                /* An unpaired surrogate has no UTF-8 form: unescaping would be lossy, so the
                 * string is treated like invalid UTF-8 (forwarded as sent, never rewritten). */
                int paired = cp >= 0xD800 && cp <= 0xDBFF && is_u_escape(s + ps->p, ps->len - ps->p) &&
                             (hex_value((const char *)s + ps->p + 2) & 0xFC00) == 0xDC00;
                if (paired)
                    ps->p += 6;
                else if (cp >= 0xD800 && cp <= 0xDFFF && mark_bad_unicode(ps, flags, "unpaired surrogate escape") != 0)
                    return -1;
            } else if (strchr("\"\\/bfnrt", e) && e) {
                ps->p += 2;
            } else {
                return fail(ps, ps->p, "invalid escape '\\%c' at byte %zu",
                            e >= 0x20 && e < 0x7f ? e : '?', ps->p);
            }
            continue;
        }
        if (c < 0x20)
            return fail(ps, ps->p, "unescaped control character 0x%02x in string at byte %zu", c,
                        ps->p);
        size_t n = utf8_seq_len(s + ps->p, ps->len - ps->p);
        if (n == 0) {
            if (mark_bad_unicode(ps, flags, "invalid UTF-8") != 0)
                return -1;
            n = 1;
        }
        ps->p += n;
    }
}

/* Past the marker byte at *p ('.', 'e', or an exponent's sign): one or more digits, *p
 * moved past them; else the error naming what was expected. */
static int scan_digits(parser *ps, size_t *p, const char *what)
{
    const unsigned char *s = ps->s;
    size_t q = *p + 1;
    if (q >= ps->len || !(s[q] >= '0' && s[q] <= '9')) {
        ps->p = q;
        return fail_unexpected(ps, what);
    }
    while (q < ps->len && s[q] >= '0' && s[q] <= '9')
        q++;
    *p = q;
    return 0;
}

static int scan_number(parser *ps)
{
    const unsigned char *s = ps->s;
    size_t p = ps->p;
    if (p < ps->len && s[p] == '-')
        p++;
    if (p >= ps->len || !(s[p] >= '0' && s[p] <= '9')) {
        ps->p = p;
        return fail_unexpected(ps, "a digit");
    }
    if (s[p] == '0')
        p++;
    else
        while (p < ps->len && s[p] >= '0' && s[p] <= '9')
            p++;
    if (p < ps->len && s[p] == '.' && scan_digits(ps, &p, "a digit after the decimal point") != 0)
        return -1;
    if (p < ps->len && (s[p] == 'e' || s[p] == 'E')) {
        if (p + 1 < ps->len && (s[p + 1] == '+' || s[p + 1] == '-'))
            p++;
        if (scan_digits(ps, &p, "a digit in the exponent") != 0)
            return -1;
    }
    ps->p = p;
    return 0;
}

static int scan_literal(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if (ps->len - ps->p < n || memcmp(ps->s + ps->p, word, n) != 0)
        return fail_unexpected(ps, "a JSON value");
    ps->p += n;
    return 0;
}

static int push_frame(parser *ps, uint32_t node, int is_obj)
{
    if (ps->depth >= ps->lim.max_depth)
        return kind(ps, HR_JSON_ERR_LIMIT, fail(ps, ps->p, "nesting deeper than %u levels at byte %zu",
                                                ps->lim.max_depth, ps->p));
    if (ps->depth == ps->stack_cap) {
        uint32_t cap = ps->stack_cap ? ps->stack_cap * 2 : 32;
        frame *st = realloc(ps->stack, (size_t)cap * sizeof *st);
        if (!st)
            return kind(ps, HR_JSON_ERR_NOMEM, fail(ps, ps->p, "out of memory at byte %zu", ps->p));
        ps->stack = st;
        ps->stack_cap = cap;
    }
    ps->stack[ps->depth].node = node;
    ps->stack[ps->depth].last_child = HR_JSON_NONE;
    ps->stack[ps->depth].is_obj = is_obj;
    ps->depth++;
    return 0;
}

/* Parses one value at ps->p (whitespace skipped). A scalar is complete on return; a
 * container is left open on the stack. *opened says which happened. */
static int begin_value(parser *ps, size_t key_s, size_t key_e, int *opened)
{
    *opened = 0;
    if (ps->p >= ps->len)
        return fail_unexpected(ps, "a JSON value");
    size_t start = ps->p;
    unsigned char c = ps->s[start];
    uint32_t idx;
    hr_json_type type;
    switch (c) {
    case '{':
    case '[':
        type = c == '{' ? HR_JSON_OBJECT : HR_JSON_ARRAY;
        if (new_node(ps, type, start, key_s, key_e, &idx) || push_frame(ps, idx, c == '{'))
            return -1;
        ps->p++;
        *opened = 1;
        return 0;
    case '"': {
        uint8_t flags;
        if (scan_string(ps, &flags) || new_node(ps, HR_JSON_STRING, start, key_s, key_e, &idx))
            return -1;
        set_flags(ps, idx, flags);
        break;
    }
    case 't':
        if (scan_literal(ps, "true") || new_node(ps, HR_JSON_TRUE, start, key_s, key_e, &idx))
            return -1;
        break;
    case 'f':
        if (scan_literal(ps, "false") || new_node(ps, HR_JSON_FALSE, start, key_s, key_e, &idx))
            return -1;
        break;
    case 'n':
        if (scan_literal(ps, "null") || new_node(ps, HR_JSON_NULL, start, key_s, key_e, &idx))
            return -1;
        break;
    default:
        if (c != '-' && !(c >= '0' && c <= '9'))
            return fail_unexpected(ps, "a JSON value");
        if (scan_number(ps) || new_node(ps, HR_JSON_NUMBER, start, key_s, key_e, &idx))
            return -1;
        break;
    }
    set_end(ps, idx, ps->p);
    return 0;
}

/* Reads `"key" :` and leaves ps->p at the value. */
static int read_member_key(parser *ps, size_t *key_s, size_t *key_e)
{
    if (ps->p >= ps->len || ps->s[ps->p] != '"')
        return fail_unexpected(ps, "an object key string");
    uint8_t flags;
    *key_s = ps->p;
    if (scan_string(ps, &flags))
        return -1;
    *key_e = ps->p;
    skip_ws(ps);
    if (ps->p >= ps->len || ps->s[ps->p] != ':')
        return fail_unexpected(ps, "':' after an object key");
    ps->p++;
    skip_ws(ps);
    return 0;
}

/* The next item of the open container: an object's member (key, ':', then its value) or an
 * array's element. */
static int begin_item(parser *ps, int is_obj, int *opened)
{
    size_t key_s = 0, key_e = 0;
    if (is_obj && read_member_key(ps, &key_s, &key_e))
        return -1;
    return begin_value(ps, key_s, key_e, opened);
}

static int run_parser(parser *ps)
{
    int opened;
    skip_ws(ps);
    if (begin_value(ps, 0, 0, &opened))
        return -1;
    for (;;) {
        if (opened) {
            /* Just opened a container: it is empty, or its first member follows. */
            frame *f = &ps->stack[ps->depth - 1];
            int is_obj = f->is_obj;
            skip_ws(ps);
            if (ps->p < ps->len && ps->s[ps->p] == (is_obj ? '}' : ']')) {
                set_end(ps, f->node, ++ps->p);
                ps->depth--;
            } else {
                if (begin_item(ps, is_obj, &opened))
                    return -1;
                continue;
            }
        }
        /* A value just completed: continue its container, or finish the document. */
        opened = 0;
        if (ps->depth == 0)
            break;
        frame *f = &ps->stack[ps->depth - 1];
        int is_obj = f->is_obj;
        skip_ws(ps);
        if (ps->p < ps->len && ps->s[ps->p] == ',') {
            ps->p++;
            skip_ws(ps);
            if (begin_item(ps, is_obj, &opened))
                return -1;
            continue;
        }
        if (ps->p < ps->len && ps->s[ps->p] == (is_obj ? '}' : ']')) {
            set_end(ps, f->node, ++ps->p);
            ps->depth--;
            continue;
        }
        return fail_unexpected(ps, is_obj ? "',' or '}'" : "',' or ']'");
    }
    if (ps->stop_after)
        return 0; /* ps->p is just past the value */
    skip_ws(ps);
    if (ps->p != ps->len)
        return fail(ps, ps->p, "unexpected data after the JSON value at byte %zu", ps->p);
    return 0;
}

/* Sets up ps over src with the limits (0 fields take the defaults) and runs it. */
static int parse_with(parser *ps, hr_json_doc *doc, const char *src, size_t len,
                      const hr_json_limits *limits, hr_json_error *err)
{
    static const hr_json_limits defaults = HR_JSON_LIMITS_DEFAULT;
    memset(doc, 0, sizeof *doc);
    doc->src = src;
    doc->len = len;
    ps->doc = doc;
    ps->s = (const unsigned char *)src;
    ps->len = len;
    ps->lim = limits ? *limits : defaults;
    ps->err = err;
    if (ps->lim.max_depth == 0)
        ps->lim.max_depth = defaults.max_depth;
    if (ps->lim.max_string == 0)
        ps->lim.max_string = defaults.max_string;
    if (ps->lim.max_nodes == 0)
        ps->lim.max_nodes = defaults.max_nodes;
    int rc;
    if (len >= UINT32_MAX)
        rc = kind(ps, HR_JSON_ERR_LIMIT, fail(ps, 0, "document of %zu bytes is too large (limit 4 GiB)", len));
    else
        rc = run_parser(ps);
    free(ps->stack);
    return rc;
}

int hr_json_validate(const char *src, size_t len, const hr_json_limits *limits, size_t *end,
                     hr_json_error *err)
{
    hr_json_doc counts; /* holds the value count and bad_utf8; never a node array */
    parser ps = {.validate_only = 1, .stop_after = end != NULL};
    int rc = parse_with(&ps, &counts, src, len, limits, err);
    if (rc == 0 && end)
        *end = ps.p;
    return rc;
}

int hr_json_parse(hr_json_doc *doc, const char *src, size_t len, const hr_json_limits *limits,
                  hr_json_error *err)
{
    parser ps = {0};
    int rc = parse_with(&ps, doc, src, len, limits, err);
    if (rc != 0) {
        hr_json_doc_free(doc);
        doc->src = src;
        doc->len = len;
    }
    return rc;
}

void hr_json_doc_free(hr_json_doc *doc)
{
    free(doc->nodes);
    memset(doc, 0, sizeof *doc);
}

/* ---- accessors ------------------------------------------------------------------- */

/* Compares the JSON string literal at src[qs..qe) (quotes included) with s. */
static int literal_eq(const char *src, uint32_t qs, uint32_t qe, const char *s)
{
    const char *body = src + qs + 1;
    size_t blen = qe - qs - 2;
    if (!memchr(body, '\\', blen))
        return strlen(s) == blen && memcmp(body, s, blen) == 0;
    hr_buf b = HR_BUF_INIT;
    int eq = hr_json_unescape(body, blen, &b) == 0 && strlen(s) == b.len &&
             memcmp(b.data ? b.data : "", s, b.len) == 0;
    hr_buf_free(&b);
    return eq;
}

uint32_t hr_json_get(const hr_json_doc *d, uint32_t obj, const char *key)
{
    if (obj == HR_JSON_NONE || obj >= d->n || d->nodes[obj].type != HR_JSON_OBJECT)
        return HR_JSON_NONE;
    uint32_t found = HR_JSON_NONE;
    for (uint32_t c = d->nodes[obj].first_child; c != HR_JSON_NONE; c = d->nodes[c].next)
        if (literal_eq(d->src, d->nodes[c].key_start, d->nodes[c].key_end, key))
            found = c;
    return found;
}

uint32_t hr_json_get_typed(const hr_json_doc *d, uint32_t obj, const char *key, hr_json_type t)
{
    uint32_t m = hr_json_get(d, obj, key);
    return hr_json_is(d, m, t) ? m : HR_JSON_NONE;
}

uint32_t hr_json_index(const hr_json_doc *d, uint32_t arr, uint32_t i)
{
    if (arr == HR_JSON_NONE || arr >= d->n || d->nodes[arr].type != HR_JSON_ARRAY)
        return HR_JSON_NONE;
    uint32_t c = d->nodes[arr].first_child;
    while (c != HR_JSON_NONE && i--)
        c = d->nodes[c].next;
    return c;
}

int hr_json_string(const hr_json_doc *d, uint32_t node, hr_buf *out)
{
    if (node == HR_JSON_NONE || node >= d->n || d->nodes[node].type != HR_JSON_STRING)
        return -1;
    const hr_json_node *n = &d->nodes[node];
    if (!(n->flags & HR_JSON_F_ESCAPED))
        return hr_buf_append(out, d->src + n->start + 1, n->end - n->start - 2);
    return hr_json_unescape(d->src + n->start + 1, n->end - n->start - 2, out);
}

int hr_json_string_eq(const hr_json_doc *d, uint32_t node, const char *s)
{
    if (node == HR_JSON_NONE || node >= d->n || d->nodes[node].type != HR_JSON_STRING)
        return 0;
    return literal_eq(d->src, d->nodes[node].start, d->nodes[node].end, s);
}

int hr_json_key_eq(const hr_json_doc *d, uint32_t node, const char *s)
{
    if (node == HR_JSON_NONE || node >= d->n || d->nodes[node].key_end == 0)
        return 0;
    return literal_eq(d->src, d->nodes[node].key_start, d->nodes[node].key_end, s);
}

int hr_json_key(const hr_json_doc *d, uint32_t node, hr_buf *out)
{
    if (node == HR_JSON_NONE || node >= d->n || d->nodes[node].key_end == 0)
        return -1;
    const hr_json_node *n = &d->nodes[node];
    return hr_json_unescape(d->src + n->key_start + 1, n->key_end - n->key_start - 2, out);
}

/* Copies a number's text into buf (NUL-terminated); -1 if not a number or too long. */
static int number_text(const hr_json_doc *d, uint32_t node, char *buf, size_t cap)
{
    if (node == HR_JSON_NONE || node >= d->n || d->nodes[node].type != HR_JSON_NUMBER)
        return -1;
    size_t n = d->nodes[node].end - d->nodes[node].start;
    if (n >= cap)
        return -1;
    memcpy(buf, d->src + d->nodes[node].start, n);
    buf[n] = '\0';
    return 0;
}

int hr_json_int64(const hr_json_doc *d, uint32_t node, int64_t *out)
{
    char buf[32];
    if (number_text(d, node, buf, sizeof buf) != 0 || strpbrk(buf, ".eE"))
        return -1;
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

int hr_json_double(const hr_json_doc *d, uint32_t node, double *out)
{
    char buf[512];
    if (number_text(d, node, buf, sizeof buf) != 0)
        return -1;
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int hr_json_is_true(const hr_json_doc *d, uint32_t node)
{
    return node != HR_JSON_NONE && node < d->n && d->nodes[node].type == HR_JSON_TRUE;
}

static unsigned hex_value(const char *s)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++)
        v = v * 16 + (unsigned)hr_hex_val((unsigned char)s[i]);
    return v;
}

static int put_utf8(hr_buf *out, unsigned cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12);
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | cp >> 18);
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return hr_buf_append(out, b, n);
}

int hr_json_unescape(const char *s, size_t len, hr_buf *out)
{
    if (hr_buf_reserve(out, len) != 0)
        return -1;
    size_t i = 0;
    while (i < len) {
        const char *bs = memchr(s + i, '\\', len - i);
        size_t run = bs ? (size_t)(bs - (s + i)) : len - i;
        if (hr_buf_append(out, s + i, run) != 0)
            return -1;
        i += run;
        if (i >= len)
            break;
        if (i + 1 >= len)
            return -1;
        char e = s[i + 1];
        int rc = 0;
        switch (e) {
        case '"': rc = hr_buf_putc(out, '"'); break;
        case '\\': rc = hr_buf_putc(out, '\\'); break;
        case '/': rc = hr_buf_putc(out, '/'); break;
        case 'b': rc = hr_buf_putc(out, '\b'); break;
        case 'f': rc = hr_buf_putc(out, '\f'); break;
        case 'n': rc = hr_buf_putc(out, '\n'); break;
        case 'r': rc = hr_buf_putc(out, '\r'); break;
        case 't': rc = hr_buf_putc(out, '\t'); break;
        case 'u': {
            if (len - i < 6)
                return -1;
            unsigned cp = hex_value(s + i + 2);
            i += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF && len - i >= 6 && s[i] == '\\' && s[i + 1] == 'u') {
                unsigned lo = hex_value(s + i + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD; /* a lone surrogate has no UTF-8 form */
            if (put_utf8(out, cp) != 0)
                return -1;
            continue;
        }
        default: return -1;
        }
        if (rc != 0)
            return -1;
        i += 2;
    }
    return 0;
}

/* ---- writer ---------------------------------------------------------------------- */

int hr_json_write_string(hr_buf *out, const char *s, size_t len)
{
    return hr_json_escape(out, s, len);
}

int hr_json_write_raw(hr_buf *out, const hr_json_doc *d, uint32_t node)
{
    if (node == HR_JSON_NONE || node >= d->n)
        return -1;
    return hr_buf_append(out, d->src + d->nodes[node].start,
                         d->nodes[node].end - d->nodes[node].start);
}

int hr_json_write_minified(hr_buf *out, const hr_json_doc *d, uint32_t node)
{
    if (node == HR_JSON_NONE || node >= d->n)
        return -1;
    const char *s = d->src;
    size_t i = d->nodes[node].start, end = d->nodes[node].end;
    if (hr_buf_reserve(out, end - i) != 0)
        return -1;
    while (i < end) {
        /* Copy a run up to the next whitespace or string; strings are copied whole. */
        size_t run = i;
        while (run < end && s[run] != ' ' && s[run] != '\n' && s[run] != '\r' && s[run] != '\t' &&
               s[run] != '"')
            run++;
        if (hr_buf_append(out, s + i, run - i) != 0)
            return -1;
        i = run;
        if (i >= end)
            break;
        if (s[i] == '"') {
            size_t j = i + 1;
            while (j < end && s[j] != '"')
                j += s[j] == '\\' ? 2 : 1;
            j = j + 1 > end ? end : j + 1;
            if (hr_buf_append(out, s + i, j - i) != 0)
                return -1;
            i = j;
        } else {
            i++; /* whitespace outside strings */
        }
    }
    return 0;
}

/* ---- splice ---------------------------------------------------------------------- */

static int edit_cmp(const void *a, const void *b)
{
    const hr_json_edit *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

int hr_json_splice(const char *src, size_t len, hr_json_edit *edits, size_t n, hr_buf *out)
{
    qsort(edits, n, sizeof *edits, edit_cmp);
    size_t grow = len;
    for (size_t i = 0; i < n; i++) {
        if (edits[i].start > edits[i].end || edits[i].end > len)
            return -1;
        if (i && edits[i].start < edits[i - 1].end)
            return -1;
        grow += edits[i].len;
    }
    if (hr_buf_reserve(out, grow) != 0)
        return -1;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (hr_buf_append(out, src + at, edits[i].start - at) != 0 ||
            hr_buf_append(out, edits[i].data, edits[i].len) != 0)
            return -1;
        at = edits[i].end;
    }
    return hr_buf_append(out, src + at, len - at);
}
