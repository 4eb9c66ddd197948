/* html.c: the HTML compressor (see html.h for what goes and what stays).
 *
 * One left-to-right pass over the bytes. At each position the input is either text (up to
 * the next '<'), a comment, a declaration (<!DOCTYPE ...>, <?xml ...?>), a tag, or a '<'
 * that opens nothing (copied as text, as browsers do). A tag is re-written from its parts:
 * its name, then each attribute that carries meaning copied byte for byte, so what the
 * model reads is the original minus the cuts, never a re-serialisation. After the opening
 * tag of a script, style or svg, the body up to its closing tag is either kept (the
 * question names something in it) or replaced by a note; the closing tag is then read as
 * an ordinary tag.
 *
 * Bounds: every byte is looked at a constant number of times (the closing-tag search
 * starts where the body starts and the pass resumes where it ended), and no structure
 * grows with nesting: <pre>/<textarea>/<code> are tracked by one counter. Anything
 * malformed that would need guessing (a tag with no '>', a quote with no end) ends the
 * rewriting: the rest of the input is copied verbatim.
 */
#include "compress/html.h"

#include "ccr/marker.h"
#include "compress/compressors.h"
#include "sys/ascii.h"
#include "sys/relevance.h"

#include <string.h>

enum { NAME_MAX_LEN = 32, DATA_URI_HEAD_MAX = 80 };

typedef struct html {
    const char *in;
    size_t len;
    hr_buf *out;
    hr_rel_terms q;
    unsigned raw; /* open <pre>, <textarea>, <code>: whitespace is kept there */
    int rc;       /* first append error (sticky) */
} html;

static void put(html *h, const char *s, size_t n)
{
    h->rc |= hr_buf_append(h->out, s, n);
}

static void put_omitted(html *h, size_t n)
{
    h->rc |= hr_marker_write_note(h->out, n, "bytes", 0, 1);
}

/* 1 if s[0..n) starts with lit, ASCII case-insensitively. */
static int ci_prefix(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (hr_to_lower((unsigned char)s[i]) != lit[i])
            return 0;
    return 1;
}

/* Offset of the first case-insensitive occurrence of lit (which starts with '<' or '-')
 * in in[from..len), or len. Linear: memchr to each candidate first byte, a bounded compare. */
static size_t find_ci(const html *h, size_t from, const char *lit)
{
    for (size_t i = from; i < h->len;) {
        const char *p = memchr(h->in + i, lit[0], h->len - i);
        if (!p)
            break;
        i = (size_t)(p - h->in);
        if (ci_prefix(p, h->len - i, lit))
            return i;
        i++;
    }
    return h->len;
}

int hr_html_starts(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
        i++;
    return ci_prefix(s + i, n - i, "<!doctype html") || ci_prefix(s + i, n - i, "<html");
}

int hr_html_ends(const char *s, size_t n)
{
    for (const char *p = s, *e = s + n; p < e;) {
        const char *lt = memchr(p, '<', (size_t)(e - p));
        if (!lt)
            return 0;
        if (ci_prefix(lt, (size_t)(e - lt), "</html"))
            return 1;
        p = lt + 1;
    }
    return 0;
}

/* A block the model does not need unless asked: kept when the question names a word in
 * it (or it is blank, where a note would cost more), otherwise one note. */
static void block(html *h, size_t a, size_t b)
{
    const char *s = h->in + a;
    size_t n = b - a, k = 0;
    while (k < n && hr_is_space((unsigned char)s[k]))
        k++;
    if (k == n || hr_rel_mentions(&h->q, s, n))
        put(h, s, n);
    else
        put_omitted(h, n);
}

/* Text up to the next '<' from i; returns where it ends. Whitespace runs collapse outside
 * raw elements: one newline if the run holds one, else one space. */
static size_t text(html *h, size_t i)
{
    const char *lt = memchr(h->in + i, '<', h->len - i);
    size_t e = lt ? (size_t)(lt - h->in) : h->len;
    if (h->raw) {
        put(h, h->in + i, e - i);
        return e;
    }
    while (i < e) {
        size_t a = i;
        while (i < e && !hr_is_space((unsigned char)h->in[i]))
            i++;
        put(h, h->in + a, i - a);
        if (i == e)
            break;
        int nl = 0;
        for (; i < e && hr_is_space((unsigned char)h->in[i]); i++)
            nl |= h->in[i] == '\n';
        put(h, nl ? "\n" : " ", 1);
    }
    return e;
}

/* "<!--" at i: the comment up to "-->" (or the end: HTML ends an unclosed comment there). */
static size_t comment(html *h, size_t i)
{
    size_t e = find_ci(h, i + 4, "-->");
    put(h, "<!--", 4);
    block(h, i + 4, e);
    if (e == h->len)
        return e;
    put(h, "-->", 3);
    return e + 3;
}

/* Attributes that only say how a page looks, or run script; dropped. */
static int dropped_attr(const char *s, size_t n)
{
    static const char *const names[] = {
        "class", "style", "width", "height", "align", "valign", "bgcolor", "border",
        "cellpadding", "cellspacing", "color", "face", "nowrap", "background", "hspace",
        "vspace", "frameborder", "marginwidth", "marginheight", NULL};
    if (n > 2 && ci_prefix(s, n, "on"))
        return 1; /* onclick, oninput, ...: script, like a <script> body */
    for (size_t k = 0; names[k]; k++)
        if (strlen(names[k]) == n && ci_prefix(s, n, names[k]))
            return 1;
    return 0;
}

typedef struct attr {
    size_t name, name_end; /* the name */
    size_t val, val_end;   /* the value without quotes; val == val_end == 0 when none */
    size_t end;            /* just past the attribute (closing quote included) */
} attr;

/* Parses one attribute at i (no leading blanks). 0 ok, -1 an unterminated quote. */
static int parse_attr(const html *h, size_t i, attr *a)
{
    const char *s = h->in;
    a->name = i;
    while (i < h->len && !hr_is_space((unsigned char)s[i]) && s[i] != '=' && s[i] != '>' &&
           !(s[i] == '/' && i > a->name))
        i++;
    if (i == a->name)
        i++; /* a stray '=' or '/' as its own token */
    a->name_end = i;
    a->val = a->val_end = 0;
    size_t j = i;
    while (j < h->len && hr_is_space((unsigned char)s[j]))
        j++;
    if (j >= h->len || s[j] != '=' || a->name_end - a->name == 1) {
        a->end = i;
        return 0;
    }
    j++;
    while (j < h->len && hr_is_space((unsigned char)s[j]))
        j++;
    if (j < h->len && (s[j] == '"' || s[j] == '\'')) {
        const char *q = memchr(s + j + 1, s[j], h->len - j - 1);
        if (!q)
            return -1;
        a->val = j + 1;
        a->val_end = (size_t)(q - s);
        a->end = a->val_end + 1;
        return 0;
    }
    a->val = j;
    while (j < h->len && !hr_is_space((unsigned char)s[j]) && s[j] != '>')
        j++;
    a->val_end = a->end = j;
    return 0;
}

/* Writes an attribute the model keeps; a long data: URI keeps its head up to the comma
 * (the media type) and names the size of the rest. */
static void put_attr(html *h, const attr *a)
{
    const char *s = h->in;
    size_t vn = a->val_end - a->val;
    put(h, " ", 1);
    if (vn <= HR_HTML_DATA_URI_MAX || !ci_prefix(s + a->val, vn, "data:")) {
        put(h, s + a->name, a->end - a->name);
        return;
    }
    const char *comma = memchr(s + a->val, ',', vn < DATA_URI_HEAD_MAX ? vn : DATA_URI_HEAD_MAX);
    size_t head = comma ? (size_t)(comma - s) + 1 : a->val + 5;
    put(h, s + a->name, head - a->name);
    put_omitted(h, a->val_end - head);
    put(h, s + a->val_end, a->end - a->val_end);
}

/* Tag names are compared in lowercase; longer names are no element this file knows. */
static void tag_name(const html *h, size_t a, size_t b, char *name)
{
    size_t n = b - a < NAME_MAX_LEN ? b - a : 0;
    for (size_t k = 0; k < n; k++)
        name[k] = (char)hr_to_lower((unsigned char)h->in[a + k]);
    name[n] = '\0';
}

static int raw_element(const char *name)
{
    return !strcmp(name, "pre") || !strcmp(name, "textarea") || !strcmp(name, "code");
}

static int omitted_element(const char *name)
{
    return !strcmp(name, "script") || !strcmp(name, "style") || !strcmp(name, "svg");
}

/* Attributes of the tag whose name ends at i, up to and including its '>'. Returns the
 * offset past '>', or 0 when the tag never closes. *self_closing: it ended in "/>". */
static size_t attributes(html *h, size_t i, int closing, int *self_closing)
{
    *self_closing = 0;
    for (;;) {
        while (i < h->len && hr_is_space((unsigned char)h->in[i]))
            i++;
        if (i >= h->len)
            return 0;
        if (h->in[i] == '>') {
            put(h, ">", 1);
            return i + 1;
        }
        if (h->in[i] == '/' && i + 1 < h->len && h->in[i + 1] == '>') {
            *self_closing = 1;
            put(h, "/>", 2);
            return i + 2;
        }
        attr a;
        if (parse_attr(h, i, &a) != 0)
            return 0;
        int keep = !closing && (!dropped_attr(h->in + a.name, a.name_end - a.name) ||
                                hr_rel_mentions(&h->q, h->in + a.val, a.val_end - a.val));
        if (keep)
            put_attr(h, &a);
        i = a.end;
    }
}

/* A tag at i ('<' then a letter, or "</" then a letter). Returns the offset after what it
 * consumed (the tag, and a cut body after a script / style / svg), or 0 if the input ends
 * inside the tag. */
static size_t tag(html *h, size_t i)
{
    size_t out_mark = h->out->len;
    int closing = h->in[i + 1] == '/';
    size_t a = i + 1 + (size_t)closing, b = a;
    while (b < h->len && (hr_is_alnum((unsigned char)h->in[b]) || h->in[b] == '-' ||
                          h->in[b] == ':' || h->in[b] == '_'))
        b++;
    char name[NAME_MAX_LEN + 1];
    tag_name(h, a, b, name);
    put(h, h->in + i, b - i);
    int self_closing;
    size_t e = attributes(h, b, closing, &self_closing);
    if (!e) {
        h->out->len = out_mark < h->out->len ? out_mark : h->out->len; /* drop the partial tag */
        return 0;
    }
    if (raw_element(name) && !self_closing) {
        if (!closing)
            h->raw++;
        else if (h->raw)
            h->raw--;
    }
    if (closing || self_closing || !omitted_element(name))
        return e;
    char close[NAME_MAX_LEN + 3] = "</";
    memcpy(close + 2, name, strlen(name) + 1);
    size_t body_end = find_ci(h, e, close);
    block(h, e, body_end);
    return body_end;
}

/* Declarations and processing instructions (<!DOCTYPE html>, <?xml ...?>, <![CDATA[):
 * copied through their '>'. Returns 0 when there is none. */
static size_t declaration(html *h, size_t i)
{
    const char *gt = memchr(h->in + i, '>', h->len - i);
    if (!gt)
        return 0;
    size_t e = (size_t)(gt - h->in) + 1;
    put(h, h->in + i, e - i);
    return e;
}

static void rewrite(html *h)
{
    size_t i = 0;
    while (i < h->len && !h->rc) {
        if (h->in[i] != '<') {
            i = text(h, i);
            continue;
        }
        unsigned char c = i + 1 < h->len ? (unsigned char)h->in[i + 1] : 0;
        unsigned char c2 = i + 2 < h->len ? (unsigned char)h->in[i + 2] : 0;
        size_t e = 0;
        if (ci_prefix(h->in + i, h->len - i, "<!--"))
            e = comment(h, i);
        else if (c == '!' || c == '?')
            e = declaration(h, i);
        else if (hr_is_alpha(c) || (c == '/' && hr_is_alpha(c2)))
            e = tag(h, i);
        else {
            put(h, "<", 1); /* a '<' that opens nothing is text */
            i++;
            continue;
        }
        if (!e) { /* unterminated: fail open for the rest */
            put(h, h->in + i, h->len - i);
            break;
        }
        i = e;
    }
}

int hr_compress_html(const char *in, size_t len, const hr_compress_opts *opts,
                     hr_compress_result *res)
{
    if (!hr_compress_begin(HR_COMPRESSOR_HTML, in, len, opts, NULL, res))
        return 0;
    html h = {.in = in, .len = len, .out = &res->out};
    hr_rel_terms_parse(&h.q, opts ? opts->query : NULL, opts ? opts->query_len : 0);
    rewrite(&h);
    if (h.rc)
        return hr_compress_end(res, -1);
    unsigned long long kept = res->out.len;
    return hr_compress_end(res, hr_compress_finish(in, len, res, len, kept));
}
