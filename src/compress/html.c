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

#include <stdint.h>
#include <string.h>

enum {
    NAME_MAX_LEN = 32,
    DATA_URI_HEAD_MAX = 80,
    RUN_MIN = 60,  /* a run of list items / table rows longer than this is cut */
    RUN_HEAD = 20, /* items kept at the start of a cut run (the order and the first entries) */
    RUN_TAIL = 5,  /* and at its end */
    ASKED_MAX_LINES = 40, /* a question word in more lines of a run picks out none of them */
};

typedef struct html {
    const char *in;
    size_t len;
    hr_buf *out;
    hr_rel_terms q;
    unsigned raw; /* open <pre>, <textarea>, <code>: whitespace is kept there */
    unsigned spans;     /* open <span> elements */
    uint64_t span_gone; /* bit d: the <span> opened at depth d (< 64) was dropped */
    int rc;       /* first append error (sticky) */
} html;

static void put(html *h, const char *s, size_t n)
{
    h->rc |= hr_buf_append(h->out, s, n);
}

/* The note for the n bytes at s, or those bytes when the note would not be shorter. */
static void put_omitted(html *h, const char *s, size_t n)
{
    size_t mark = h->out->len;
    h->rc |= hr_marker_write_note(h->out, n, "bytes", 0, 1);
    h->rc |= hr_note_settle(h->out, mark, s, n) < 0;
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
        put_omitted(h, s, n);
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
    int stray = a->name_end - a->name == 1 && (s[a->name] == '=' || s[a->name] == '/');
    if (j >= h->len || s[j] != '=' || stray) {
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
    put_omitted(h, s + head, a->val_end - head);
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
        char c = h->in[a.name];
        int stray = a.name_end - a.name == 1 && (c == '/' || c == '=');
        int keep = !closing && !stray &&
                   (!dropped_attr(h->in + a.name, a.name_end - a.name) ||
                    hr_rel_mentions(&h->q, h->in + a.val, a.val_end - a.val));
        if (keep)
            put_attr(h, &a);
        i = a.end;
    }
}

/* A <span> left without attributes is only a styling hook: it and its closing tag go.
 * Returns 1 when the tag just written (bare: nothing kept after its name) is dropped.
 * Depth is tracked in 64 bits; deeper spans are kept, open and close alike. */
static int span(html *h, int closing, int bare)
{
    if (!closing) {
        unsigned d = h->spans++;
        if (d >= 64)
            return 0;
        h->span_gone = bare ? h->span_gone | (1ull << d) : h->span_gone & ~(1ull << d);
        return bare;
    }
    if (!h->spans)
        return 0;
    unsigned d = --h->spans;
    return d < 64 && (h->span_gone >> d & 1u);
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
    if (!strcmp(name, "span") && !self_closing && span(h, closing, h->out->len == out_mark + (b - i) + 1))
        h->out->len = out_mark;
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

/* ---- long lists and tables ----------------------------------------------------------
 * A directory index or a data table is hundreds of lines of one shape: "<li><a href=...>"
 * or "<tr><td>...". After the rewrite such a run keeps its first RUN_HEAD and last
 * RUN_TAIL lines and every line naming a word of the question that is rare in the run; each stretch between kept
 * lines becomes one "[N items omitted]" line where it stood (the final marker brings the
 * page back). The other lines are untouched. */

/* The item kind of a rewritten line: 1 list item, 2 table row, 0 neither. */
static int item_kind(const char *s, size_t n)
{
    if (n >= 4 && s[0] == '<' && (s[3] == '>' || s[3] == ' ')) {
        if (s[1] == 'l' && s[2] == 'i')
            return 1;
        if (s[1] == 't' && s[2] == 'r')
            return 2;
    }
    return 0;
}

/* End of the line starting at s[a] (past its '\n', or n). */
static size_t line_end(const char *s, size_t n, size_t a)
{
    const char *nl = memchr(s + a, '\n', n - a);
    return nl ? (size_t)(nl - s) + 1 : n;
}

/* Which terms of the question pick out lines of a run: those in at most ASKED_MAX_LINES of
 * its lines and rare there (sys/relevance.h): "dev" in a third of a directory index picks
 * out nothing, "openssl" in five lines picks those five. */
static void asked_terms(const html *h, const char *s, size_t n, size_t a, size_t count,
                        int *asked)
{
    uint32_t df[HR_REL_MAX_TERMS] = {0}, tf[HR_REL_MAX_TERMS];
    for (size_t k = 0; k < count; k++) {
        size_t e = line_end(s, n, a);
        memset(tf, 0, sizeof tf);
        hr_rel_count(&h->q, s + a, e - a, tf);
        for (size_t t = 0; t < h->q.n; t++)
            df[t] += tf[t] > 0;
        a = e;
    }
    for (size_t t = 0; t < h->q.n; t++)
        asked[t] = df[t] && df[t] <= ASKED_MAX_LINES && hr_rel_is_rare(df[t], count);
}

/* 1 if the line s[0..n) holds a term marked in asked. */
static int asks(const html *h, const int *asked, const char *s, size_t n)
{
    uint32_t tf[HR_REL_MAX_TERMS] = {0};
    hr_rel_count(&h->q, s, n, tf);
    for (size_t t = 0; t < h->q.n; t++)
        if (asked[t] && tf[t])
            return 1;
    return 0;
}

/* Copies the run of `count` lines from s[a] into out, cut as above. Returns its end. */
static size_t put_run(html *h, hr_buf *out, const char *s, size_t n, size_t a, size_t count)
{
    int asked[HR_REL_MAX_TERMS] = {0};
    if (count > RUN_MIN)
        asked_terms(h, s, n, a, count, asked);
    size_t omitted = 0, last = 0, from = 0; /* last, from: the latest, first omitted line */
    for (size_t k = 0; k < count; k++) {
        size_t e = line_end(s, n, a);
        int keep = count <= RUN_MIN || k < RUN_HEAD || k + RUN_TAIL >= count ||
                   asks(h, asked, s + a, e - a);
        if (keep && omitted == 1) /* a note would cost what one line costs */
            h->rc |= hr_buf_append(out, s + last, a - last);
        else if (keep && omitted) {
            size_t mark = out->len;
            h->rc |= hr_marker_write_note(out, omitted, "items", 0, 1);
            h->rc |= hr_buf_putc(out, '\n');
            h->rc |= hr_note_settle(out, mark, s + from, a - from) < 0;
        }
        if (keep) {
            h->rc |= hr_buf_append(out, s + a, e - a);
            omitted = 0;
        } else {
            from = omitted++ ? from : a;
            last = a;
        }
        a = e;
    }
    return a;
}

/* Cuts the long runs of h->out's lines into out. */
static void cut_runs(html *h, hr_buf *out)
{
    const char *s = h->out->data;
    size_t n = h->out->len;
    for (size_t a = 0; a < n;) {
        size_t e = line_end(s, n, a);
        int kind = item_kind(s + a, e - a);
        if (!kind) {
            h->rc |= hr_buf_append(out, s + a, e - a);
            a = e;
            continue;
        }
        size_t count = 0;
        for (size_t b = a; b < n && item_kind(s + b, n - b) == kind; b = line_end(s, n, b))
            count++;
        a = put_run(h, out, s, n, a, count);
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
    hr_buf cut = HR_BUF_INIT;
    if (!h.rc)
        cut_runs(&h, &cut);
    hr_buf_free(&res->out);
    res->out = cut;
    if (h.rc)
        return hr_compress_end(res, -1);
    unsigned long long kept = res->out.len;
    return hr_compress_end(res, hr_compress_finish(in, len, res, len, kept));
}
