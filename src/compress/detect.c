/* detect.c: content detection and routing (see detect.h).
 *
 * Two passes. The structural pass walks lines and cuts out what has a hard shape: fenced
 * blocks, diffs (consumed by their hunk counts), JSON values spanning lines (checked by the
 * JSON layer's validate-only mode). Between them lies plain text, which the vote pass cuts
 * into runs of search results and the rest, typed listing / log / code / prose by the share of lines
 * carrying each signature. A tidy-up merges blank and tiny pieces into their neighbours.
 * Per-line work is bounded (signatures look at the first bytes of a line), so a 10 MB line
 * costs one memchr.
 */
#include "compress/detect.h"

#include "ccr/marker.h"
#include "compress/compressors.h"
#include "compress/diff.h"
#include "compress/html.h"
#include "compress/html_fragment.h"
#include "compress/kompress.h"
#include "compress/listing.h"
#include "compress/logs.h"
#include "compress/rows.h"
#include "compress/search.h"
#include "compress/text.h"
#include "json/json.h"
#include "sys/ascii.h"
#include "sys/relevance.h"
#include "sys/vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    JSON_MAX_DEPTH = 1024,
    JSON_MIN_LINES = 3,    /* a JSON value inside other text must span this many lines */
    SEARCH_MIN_MATCHES = 3,
    SMALL_SECTION = 6,     /* plain pieces with fewer non-blank lines join a neighbour */
    LOG_SHARE = 30,        /* percent of non-blank lines with a log signature */
    CODE_SHARE = 40,
    LISTING_SHARE = 80,    /* percent of non-blank lines that are paths / tree entries */
    LISTING_MIN_ENTRIES = 10,
    SCAN = 200,            /* bytes of a line the signatures look at */
    LEADING_CONTEXT_MAX = 16, /* grep -B/-C lines looked past to find their match */
    VOTE_SAMPLE = 512,     /* lines a long plain block votes with */
    STREAM_MIN_VALUES = 10, /* this many JSON values in a row are a stream (jq's output) */
    STREAM_HEAD = 2,        /* a stream keeps its first values, ... */
    STREAM_TAIL = 1,        /* ... its last, ... */
    STREAM_RELEVANT = 10,   /* ... and the values that best match the question */
};

const char *hr_content_type_name(hr_content_type t)
{
    static const char *const names[] = {"empty", "binary", "json",    "log",
                                        "search", "diff",  "listing", "table",
                                        "progress", "gitstat", "html", "code", "prose"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

/* ---- JSON validator --------------------------------------------------------------- */

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && hr_is_json_ws(s[i]))
        i++;
    return i;
}

/* Offset just past the JSON value that starts at s[i] (no leading ws), or 0 if s[i..n)
 * does not begin with a valid value. The JSON layer's validate-only mode: the same grammar
 * the proxy parses with, stopping at the value's end, allocating only its container stack. */
static size_t json_value_end(const char *s, size_t n, size_t i)
{
    hr_json_limits lim = {JSON_MAX_DEPTH, SIZE_MAX, SIZE_MAX, 0};
    size_t end;
    return hr_json_validate(s + i, n - i, &lim, &end, NULL) == 0 ? i + end : 0;
}

/* ---- line facts --------------------------------------------------------------------- */

typedef struct det {
    const char *in;
    size_t len;
    hr_lines l;
    hr_sections out;
    size_t cap;
    size_t json_budget; /* bytes the JSON validator may still scan (keeps detection linear) */
    size_t html_from;   /* first line that may start an HTML fragment (past rejected blocks) */
} det;

static const char *line(const det *d, size_t i, size_t *n)
{
    *n = hr_line_len(d->in, &d->l, i);
    return d->in + d->l.start[i];
}

static int starts(const char *s, size_t n, const char *lit)
{
    if (n == 0 || s[0] != lit[0]) /* most calls end here, before strlen */
        return 0;
    size_t k = strlen(lit);
    return n >= k && memcmp(s, lit, k) == 0;
}

static int blank_at(const det *d, size_t i)
{
    size_t n;
    const char *s = line(d, i, &n);
    return hr_line_is_blank(s, n < SCAN ? n : SCAN) && (n < SCAN || hr_line_is_blank(s, n));
}

/* Skips leading ANSI colour sequences (ESC [ ... letter), common in captured logs. */
static const char *skip_ansi(const char *s, size_t *n)
{
    while (*n >= 3 && s[0] == '\x1b' && s[1] == '[') {
        size_t k = 2;
        while (k < *n && ((s[k] >= '0' && s[k] <= '9') || s[k] == ';'))
            k++;
        if (k >= *n)
            break;
        s += k + 1;
        *n -= k + 1;
    }
    return s;
}

static int is_fence(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && i < 3 && s[i] == ' ')
        i++;
    return starts(s + i, n - i, "```") || starts(s + i, n - i, "~~~");
}

/* Code-ish: a line that starts with a keyword or ends like a statement or a block. */
static int code_line(const char *s, size_t n)
{
    static const char *const kw[] = {
        "#include", "#define", "#if", "#endif", "#pragma", "import ", "from ", "def ",
        "class ", "function ", "const ", "let ", "var ", "return", "if (", "if(", "for (",
        "for(", "while (", "} else", "else {", "public ", "private ", "protected ",
        "static ", "fn ", "pub ", "use ", "package ", "func ", "struct ", "impl ", "enum ",
        "int ", "void ", "char ", "#[", "//", "/*", "*/", "#!", "async ", "export ",
        "try:", "try {", "except ", "catch", "switch", "case ", "self.", "this.", "typedef ",
        "elif ", "else:", "@", NULL};
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    const char *t = s + i;
    size_t m = n - i;
    if (m == 0)
        return 0;
    for (const char *const *k = kw; *k; k++)
        if (starts(t, m, *k))
            return 1;
    while (m && (t[m - 1] == ' ' || t[m - 1] == '\t'))
        m--;
    char last = t[m - 1];
    if (last == ';' || last == '{' || last == '}' || (m >= 2 && t[m - 2] == ')' && last == ':'))
        return 1;
    return m == 1 && (last == '}' || last == ')' || last == ']');
}

typedef enum { V_BLANK, V_SEARCH, V_LISTING, V_LOG, V_CODE, V_PROSE, V_COUNT } vote;

/* A "path:12:" line that is really a compiler diagnostic belongs to a log. */
static int diagnostic(const char *s, size_t n, const hr_search_hit *h)
{
    const char *t = s + h->content;
    size_t m = n - h->content;
    while (m && *t == ' ')
        t++, m--;
    return starts(t, m, "error") || starts(t, m, "warning") || starts(t, m, "note:") ||
           starts(t, m, "fatal error") || starts(t, m, "In function") ||
           starts(t, m, "style:") || starts(t, m, "performance:") || /* cppcheck */
           starts(t, m, "portability:") || starts(t, m, "information:");
}

static vote line_vote(const char *s, size_t n)
{
    if (n > SCAN)
        n = SCAN;
    s = skip_ansi(s, &n);
    if (hr_line_is_blank(s, n))
        return V_BLANK;
    hr_search_hit h;
    if (hr_search_parse_match(s, n, &h))
        return diagnostic(s, n, &h) ? V_LOG : V_SEARCH;
    if (hr_listing_line(s, n))
        return V_LISTING;
    if (hr_log_line_signature(s, n))
        return V_LOG;
    if (s[0] == '{' && s[n - 1] == '}')
        return V_LOG; /* one JSON object per line: a structured log */
    return code_line(s, n) ? V_CODE : V_PROSE;
}

/* ---- section list ------------------------------------------------------------------- */

static int push(det *d, size_t a_line, size_t b_line, hr_content_type t)
{
    if (a_line >= b_line)
        return 0;
    if (HR_VEC_RESERVE(d->out.v, d->cap, d->out.n + 1) != 0)
        return -1;
    d->out.v[d->out.n++] = (hr_section){d->l.start[a_line], d->l.start[b_line], t};
    return 0;
}

/* Type of a plain block [a, b) by line votes. Long blocks vote by an evenly spaced sample
 * of VOTE_SAMPLE lines: the shares settle long before that, and detection stays fast. */
static hr_content_type vote_type(const det *d, size_t a, size_t b)
{
    size_t counts[V_COUNT] = {0};
    size_t stride = (b - a) > VOTE_SAMPLE ? (b - a) / VOTE_SAMPLE : 1;
    for (size_t i = a; i < b; i += stride) {
        size_t n;
        const char *s = line(d, i, &n);
        counts[line_vote(s, n)]++;
    }
    size_t nonblank = counts[V_SEARCH] + counts[V_LISTING] + counts[V_LOG] + counts[V_CODE] +
                      counts[V_PROSE];
    if (!nonblank)
        return HR_CT_EMPTY;
    if (counts[V_SEARCH] * 2 > nonblank && counts[V_SEARCH] >= SEARCH_MIN_MATCHES)
        return HR_CT_SEARCH;
    if (counts[V_LISTING] * 100 >= nonblank * LISTING_SHARE &&
        counts[V_LISTING] >= LISTING_MIN_ENTRIES)
        return HR_CT_LISTING;
    const char *block = d->in + d->l.start[a];
    size_t block_len = d->l.start[b] - d->l.start[a];
    if (hr_rows_is_table(block, block_len))
        return HR_CT_TABLE;
    if (hr_rows_is_gitstat(block, block_len))
        return HR_CT_GITSTAT;
    if (hr_rows_is_commits(block, block_len)) /* git log --oneline: before the log vote */
        return HR_CT_PROGRESS;
    if ((counts[V_LOG] + counts[V_SEARCH]) * 100 >= nonblank * LOG_SHARE)
        return HR_CT_LOG;
    if (counts[V_CODE] * 100 >= nonblank * CODE_SHARE)
        return HR_CT_CODE;
    /* Few line kinds over many lines (apt's Unpacking / Setting up): a progress log. */
    if (hr_rows_is_progress(block, block_len))
        return HR_CT_PROGRESS;
    return HR_CT_PROSE;
}

/* ---- search runs inside plain text --------------------------------------------------- */

/* ripgrep heading: a path line followed by a "12:" line. */
static int heading_at(const det *d, size_t i, size_t b)
{
    size_t n, m;
    if (i + 1 >= b)
        return 0;
    const char *t = line(d, i + 1, &m);
    if (m == 0 || t[0] < '0' || t[0] > '9') /* cheap test first: most lines fail it */
        return 0;
    unsigned long ln;
    int ctx;
    const char *s = line(d, i, &n);
    return n < SCAN && hr_search_parse_numbered(t, m < SCAN ? m : SCAN, &ln, &ctx) &&
           hr_search_is_path(s, n);
}

/* "path-12-text": a grep -C context line of the file last matched. */
static int context_of(const char *s, size_t n, const char *path, size_t path_len)
{
    if (!path_len || n <= path_len + 2 || memcmp(s, path, path_len) != 0 || s[path_len] != '-')
        return 0;
    size_t i = path_len + 1;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i > path_len + 1 && i < n && s[i] == '-';
}

/* grep -B / -C: a context line printed before its match, "path-11-text", where the path is
 * that of a match line a few lines below (the lines between are context of the same path).
 * Paths may hold '-' and digits, so the path is learnt from the match, not parsed here. */
static int dash_number_dash(const char *s, size_t n)
{
    for (const char *p = memchr(s, '-', n); p; p = memchr(p + 1, '-', n - (size_t)(p + 1 - s))) {
        const char *q = p + 1, *e = s + n;
        while (q < e && *q >= '0' && *q <= '9')
            q++;
        if (q > p + 1 && q < e && *q == '-')
            return 1;
        if (q >= e)
            return 0;
    }
    return 0;
}

static int leading_context_at(const det *d, size_t i, size_t b)
{
    size_t n;
    const char *s = line(d, i, &n);
    if (n == 0 || n >= SCAN || s[0] == '-' || !dash_number_dash(s, n))
        return 0;
    for (size_t k = i + 1; k < b && k <= i + LEADING_CONTEXT_MAX; k++) {
        size_t m;
        const char *t = line(d, k, &m);
        hr_search_hit h;
        if (m >= SCAN)
            return 0;
        if (hr_search_parse_match(t, m, &h))
            return !diagnostic(t, m, &h) && context_of(s, n, t, h.path_len);
        if (m == 2 && t[0] == '-' && t[1] == '-')
            return 0;
    }
    return 0;
}

/* End of the search run starting at line i (a match or heading), counting matches. A run
 * holds matches, ripgrep headings with their numbered lines, "--" separators and -C
 * context lines; each line is parsed once. */
static size_t search_run_end(const det *d, size_t i, size_t b, size_t *matches)
{
    const char *path = NULL;
    size_t path_len = 0, j = i;
    int heading = 0;
    *matches = 0;
    for (; j < b; j++) {
        size_t n;
        const char *s = line(d, j, &n);
        size_t m = n < SCAN ? n : SCAN;
        hr_search_hit h;
        unsigned long ln;
        int ctx;
        if (hr_search_parse_match(s, m, &h)) {
            if (diagnostic(s, m, &h))
                break;
            path = s;
            path_len = h.path_len;
            (*matches)++;
        } else if (m == 2 && s[0] == '-' && s[1] == '-') {
            continue;
        } else if (heading && hr_search_parse_numbered(s, m, &ln, &ctx)) {
            *matches += !ctx;
        } else if (context_of(s, m, path, path_len) || (!heading && leading_context_at(d, j, b))) {
            continue;
        } else if (heading_at(d, j, b)) {
            heading = 1;
        } else if (!(heading && blank_at(d, j) && j + 1 < b && heading_at(d, j + 1, b))) {
            break;
        }
    }
    return j;
}

/* Plain text [a, b): runs of search results become their own sections. */
static int split_plain(det *d, size_t a, size_t b)
{
    size_t rest = a;
    for (size_t i = a; i < b;) {
        size_t n, matches = 0;
        const char *s = line(d, i, &n);
        hr_search_hit h;
        int start = heading_at(d, i, b) ||
                    (hr_search_parse_match(s, n < SCAN ? n : SCAN, &h) && !diagnostic(s, n, &h)) ||
                    leading_context_at(d, i, b);
        if (!start) {
            i++;
            continue;
        }
        size_t e = search_run_end(d, i, b, &matches);
        if (matches < SEARCH_MIN_MATCHES) {
            i = e > i ? e : i + 1;
            continue;
        }
        if (push(d, rest, i, vote_type(d, rest, i)) != 0 || push(d, i, e, HR_CT_SEARCH) != 0)
            return -1;
        rest = i = e;
    }
    return push(d, rest, b, vote_type(d, rest, b));
}

/* ---- structural pass ---------------------------------------------------------------- */

static int diff_header_line(const char *s, size_t n)
{
    static const char *const h[] = {"index ", "new file mode", "deleted file mode", "old mode",
                                    "new mode", "similarity index", "dissimilarity index",
                                    "rename from", "rename to", "copy from", "copy to",
                                    "Binary files", "--- ", "+++ ", NULL};
    for (const char *const *p = h; *p; p++)
        if (starts(s, n, *p))
            return 1;
    return 0;
}

static int diff_start_at(const det *d, size_t i)
{
    size_t n, m = 0;
    const char *s = line(d, i, &n);
    if (n < 4 || (s[0] != 'd' && s[0] != '-' && s[0] != '@'))
        return 0;
    const char *next = i + 1 < d->l.n ? line(d, i + 1, &m) : NULL;
    unsigned long a, b;
    return hr_diff_file_start(s, n, next, m) || hr_diff_hunk_header(s, n, &a, &b);
}

/* Lines of the hunk body after header h, by its counts (or prefixes without counts). */
static size_t hunk_end(const det *d, size_t h)
{
    size_t n;
    const char *s = line(d, h, &n);
    unsigned long old_n = 0, new_n = 0;
    int counted = hr_diff_hunk_header(s, n, &old_n, &new_n);
    size_t i = h + 1;
    for (; i < d->l.n; i++) {
        s = line(d, i, &n);
        char c = n ? s[0] : ' ';
        if (c == '\\')
            continue;
        if (counted ? (old_n == 0 && new_n == 0) : (c != ' ' && c != '+' && c != '-'))
            break;
        if (!counted && diff_start_at(d, i))
            break;
        if (c != ' ' && c != '+' && c != '-')
            break;
        if (c != '+' && old_n)
            old_n--;
        if (c != '-' && new_n)
            new_n--;
    }
    return i;
}

static size_t diff_end(const det *d, size_t i)
{
    int header = 0;
    while (i < d->l.n) {
        size_t n, m = 0;
        const char *s = line(d, i, &n);
        const char *next = i + 1 < d->l.n ? line(d, i + 1, &m) : NULL;
        if (hr_diff_file_start(s, n, next, m)) {
            i += starts(s, n, "--- ") ? 2 : 1;
            header = 1;
        } else if (starts(s, n, "@@")) {
            i = hunk_end(d, i);
            header = 0;
        } else if (header && diff_header_line(s, n)) {
            i++;
        } else {
            break;
        }
    }
    return i;
}

/* End line of a JSON value starting on line i, or i if there is none worth a section. */
static size_t json_block_end(det *d, size_t i)
{
    size_t n;
    const char *s = line(d, i, &n);
    size_t k = 0;
    while (k < n && (s[k] == ' ' || s[k] == '\t'))
        k++;
    if (k >= n || (s[k] != '{' && s[k] != '['))
        return i;
    size_t at = d->l.start[i] + k;
    size_t limit = d->len - at < d->json_budget ? d->len : at + d->json_budget;
    size_t e = json_value_end(d->in, limit, at);
    d->json_budget -= (e ? e : limit) - at;
    if (!e)
        return i;
    size_t after = skip_ws(d->in, d->len, e);
    const char *nl = memchr(d->in + e, '\n', d->len - e);
    size_t line_end = nl ? (size_t)(nl - d->in) : d->len;
    if (after < line_end && after < d->len)
        return i; /* something follows the value on its last line */
    size_t j = i;
    while (j < d->l.n && d->l.start[j + 1] <= e)
        j++;
    if (j < d->l.n)
        j++; /* the line holding the closing bracket */
    int whole = i == 0 && after >= d->len;
    return (whole || j - i >= JSON_MIN_LINES) ? j : i;
}

/* Closing fence for the one opening at line i, or 0. */
static size_t fence_close(const det *d, size_t i)
{
    for (size_t j = i + 1; j < d->l.n; j++) {
        size_t n;
        const char *s = line(d, j, &n);
        if (is_fence(s, n))
            return j;
    }
    return 0;
}

/* The line after the HTML document that starts at line i: past the line holding "</html>",
 * or the end of the input (a page cut short is still HTML to its end). */
static size_t html_end(const det *d, size_t i)
{
    for (size_t k = i; k < d->l.n; k++) {
        size_t n;
        const char *s = line(d, k, &n);
        if (hr_html_ends(s, n))
            return k + 1;
    }
    return d->l.n;
}

/* The line after the HTML fragment (html_fragment.h) that starts at line i, or i when the
 * block there is not one. A rejected block's lines start no fragment of their own (the <ul>
 * inside a JSX component is not HTML either), which also keeps detection linear. */
static size_t html_fragment_at(det *d, size_t i)
{
    size_t scanned, end = hr_html_fragment_end(d->in, d->len, d->l.start[i], &scanned);
    size_t stop = end ? end : scanned, k = i;
    while (k < d->l.n && d->l.start[k] < stop)
        k++;
    d->html_from = k;
    return end ? k : i;
}

/* The line after the HTML starting at line i (s, n): a document from its doctype or <html>,
 * else a fragment; i when there is none. */
static size_t html_at(det *d, size_t i, const char *s, size_t n)
{
    if (hr_html_starts(s, n))
        return html_end(d, i);
    return i >= d->html_from ? html_fragment_at(d, i) : i;
}

/* Type of a fenced block's inside, taken whole. */
static hr_content_type inner_type(det *d, size_t a, size_t b)
{
    if (a >= b)
        return HR_CT_EMPTY;
    if (diff_start_at(d, a) && diff_end(d, a) >= b)
        return HR_CT_DIFF;
    size_t k = json_block_end(d, a);
    if (k > a && k >= b)
        return HR_CT_JSON;
    return vote_type(d, a, b);
}

/* First non-blank byte of a line (0 if none within SCAN): the structural checks below
 * only run for lines that can start what they look for. */
static char lead_byte(const char *s, size_t n)
{
    for (size_t i = 0; i < n && i < SCAN; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return s[i];
    return 0;
}

static int structural_pass(det *d)
{
    size_t plain = 0;
    for (size_t i = 0; i < d->l.n;) {
        size_t n, e;
        const char *s = line(d, i, &n);
        char c = lead_byte(s, n);
        if (c != '`' && c != '~' && c != 'd' && c != '-' && c != '@' && c != '{' && c != '[' &&
            c != '<') {
            i++;
            continue;
        }
        if (c == '<' && (e = html_at(d, i, s, n)) > i) {
            if (split_plain(d, plain, i) != 0 || push(d, i, e, HR_CT_HTML) != 0)
                return -1;
            plain = i = e;
            continue;
        }
        if (is_fence(s, n) && (e = fence_close(d, i)) > 0) {
            if (split_plain(d, plain, i + 1) != 0 || push(d, i + 1, e, inner_type(d, i + 1, e)))
                return -1;
            plain = i = e;
            i++;
            continue;
        }
        if (diff_start_at(d, i) && (e = diff_end(d, i)) > i + 1) {
            if (split_plain(d, plain, i) != 0 || push(d, i, e, HR_CT_DIFF) != 0)
                return -1;
            plain = i = e;
            continue;
        }
        if ((e = json_block_end(d, i)) > i) {
            if (split_plain(d, plain, i) != 0 || push(d, i, e, HR_CT_JSON) != 0)
                return -1;
            plain = i = e;
            continue;
        }
        i++;
    }
    return split_plain(d, plain, d->l.n);
}

/* ---- tidy-up ------------------------------------------------------------------------ */

static int structured(hr_content_type t)
{
    return t == HR_CT_LOG || t == HR_CT_SEARCH || t == HR_CT_DIFF;
}

static size_t nonblank_lines(const det *d, const hr_section *s)
{
    size_t c = 0;
    for (const char *p = d->in + s->start, *e = d->in + s->end; p < e;) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = (size_t)((nl ? nl : e) - p);
        c += !hr_line_is_blank(p, n < SCAN ? n : SCAN) || (n >= SCAN && !hr_line_is_blank(p, n));
        if (c >= SMALL_SECTION)
            break; /* only "small or not" matters */
        p = nl ? nl + 1 : e;
    }
    return c;
}

/* The tidy-up passes compact the list in place, so each is linear in the sections. */
static void merge_blank_pieces(hr_sections *s)
{
    size_t w = 0, pending = SIZE_MAX; /* start of leading blank pieces */
    for (size_t k = 0; k < s->n; k++) {
        hr_section c = s->v[k];
        if (c.type == HR_CT_EMPTY) {
            if (w > 0)
                s->v[w - 1].end = c.end;
            else if (pending == SIZE_MAX)
                pending = c.start;
            continue;
        }
        if (pending != SIZE_MAX) {
            c.start = pending;
            pending = SIZE_MAX;
        }
        s->v[w++] = c;
    }
    if (w == 0 && s->n > 0) { /* all blank */
        s->v[0] = (hr_section){s->v[0].start, s->v[s->n - 1].end, HR_CT_EMPTY};
        w = 1;
    }
    s->n = w;
}

/* 1 if the section opens with a git commit header ("commit 903e372..."): in `git log -p`
 * a long commit message between two commits' diffs belongs to the diff, whose compressor
 * keeps it verbatim and ranks the commits together. */
static int commit_header(const det *d, const hr_section *c)
{
    const char *p = d->in + c->start;
    size_t n = c->end - c->start, i = 7;
    while (n && (*p == '\n' || *p == '\r'))
        p++, n--;
    if (n < 14 || memcmp(p, "commit ", 7) != 0)
        return 0;
    while (i < n && ((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
        i++;
    return i >= 14;
}

static void absorb_small_pieces(const det *d, hr_sections *s)
{
    size_t w = 0;
    for (size_t k = 0; k < s->n; k++) {
        hr_section c = s->v[k];
        int text = c.type == HR_CT_PROSE || c.type == HR_CT_CODE;
        int small = text && (nonblank_lines(d, &c) < SMALL_SECTION ||
                             (w > 0 && s->v[w - 1].type == HR_CT_DIFF && commit_header(d, &c)));
        if (small && w > 0 && structured(s->v[w - 1].type)) {
            s->v[w - 1].end = c.end;
            continue;
        }
        if (small && k + 1 < s->n && structured(s->v[k + 1].type)) {
            s->v[k + 1].start = c.start;
            continue;
        }
        s->v[w++] = c;
    }
    s->n = w;
}

static void merge_same_type(hr_sections *s)
{
    size_t w = 0;
    for (size_t k = 0; k < s->n; k++) {
        if (w > 0 && s->v[w - 1].type == s->v[k].type && s->v[k].type != HR_CT_JSON)
            s->v[w - 1].end = s->v[k].end;
        else
            s->v[w++] = s->v[k];
    }
    s->n = w;
}

static void tidy(det *d)
{
    merge_blank_pieces(&d->out);
    absorb_small_pieces(d, &d->out);
    merge_same_type(&d->out);
}

static int binary(const char *in, size_t len)
{
    if (memchr(in, '\0', len))
        return 1;
    size_t n = len < 4096 ? len : 4096, ctl = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        ctl += c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != 0x1b && c != '\f';
    }
    return ctl * 10 > n;
}

static int single(hr_sections *out, size_t len, hr_content_type t)
{
    out->v = malloc(sizeof *out->v);
    if (!out->v)
        return -1;
    out->v[0] = (hr_section){0, len, t};
    out->n = 1;
    return 0;
}

int hr_detect_sections(const char *in, size_t len, hr_sections *out)
{
    out->v = NULL;
    out->n = 0;
    if (!in || len == 0 || hr_line_is_blank(in, len))
        return single(out, len, HR_CT_EMPTY);
    if (binary(in, len))
        return single(out, len, HR_CT_BINARY);
    det d = {in, len, {0, NULL}, {NULL, 0}, 0, 2 * len + 4096, 0};
    if (hr_lines_split(in, len, &d.l) != 0)
        return -1;
    int rc = structural_pass(&d);
    hr_lines_free(&d.l);
    if (rc != 0) {
        free(d.out.v);
        return -1;
    }
    tidy(&d);
    *out = d.out;
    return 0;
}

void hr_sections_free(hr_sections *s)
{
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

hr_content_type hr_detect(const char *in, size_t len)
{
    hr_sections s;
    if (hr_detect_sections(in, len, &s) != 0)
        return HR_CT_PROSE; /* out of memory: the text compressor is the safe route */
    size_t bytes[HR_CT_PROSE + 1] = {0};
    for (size_t k = 0; k < s.n; k++)
        bytes[s.v[k].type] += s.v[k].end - s.v[k].start;
    hr_content_type best = s.n ? s.v[0].type : HR_CT_EMPTY;
    for (int t = 0; t <= HR_CT_PROSE; t++)
        if (bytes[t] > bytes[best])
            best = (hr_content_type)t;
    hr_sections_free(&s);
    return best;
}

/* ---- routing: the compressor table's types (compressors.h) ------------------------- */

hr_compressor_fn hr_detect_compressor(hr_content_type t)
{
    const hr_compressor *r = t == HR_CT_JSON ? NULL : hr_compressor_for_type(t);
    return r ? r->fn : NULL;
}

hr_compressor_fn hr_detect_pick(const char *in, size_t len, hr_content_type *type)
{
    hr_content_type t = hr_detect(in, len);
    if (type)
        *type = t;
    return hr_detect_compressor(t);
}

/* Compresses one section with its compressor, then the text compressor as a fallback. */
static int compress_one(const char *in, size_t len, hr_content_type t, const hr_compress_opts *o,
                        hr_compressor_fn json_fn, hr_compress_result *res)
{
    hr_compress_name(HR_COMPRESSOR_NONE, res); /* names stay valid when nothing applies */
    /* the table routes (prose above Kompress's size threshold goes to it when a model is
     * configured, code only when asked); whatever a compressor leaves falls back to the
     * text compressor below */
    const hr_compressor *row = hr_compressor_route(t, o, len);
    hr_compressor_fn fn = t == HR_CT_JSON ? json_fn : row ? row->fn : NULL;
    if (fn && fn(in, len, o, res) != 0)
        hr_compress_result_free(res);
    if (res->compressed || t == HR_CT_JSON || t == HR_CT_BINARY || t == HR_CT_EMPTY ||
        fn == hr_compress_text)
        return 0;
    hr_compress_result_free(res);
    return hr_compress_text(in, len, o, res);
}

/* Appends a section's compressed output with every marker in it turned into a plain note:
 * inner markers name the section's hash, which is not stored; the span's one marker,
 * written last, names the whole input, which is. */
static int append_inner(hr_buf *out, const hr_compress_result *r, int newline)
{
    hr_marker m;
    size_t from = 0;
    while (hr_marker_find(r->out.data, r->out.len, from, &m)) {
        int rc = hr_buf_append(out, r->out.data + from, m.start - from);
        rc |= hr_marker_write_note(out, m.total, m.unit, m.kept, m.gap);
        if (rc != 0)
            return -1;
        from = m.end;
    }
    if (hr_buf_append(out, r->out.data + from, r->out.len - from) != 0)
        return -1;
    return newline ? hr_buf_putc(out, '\n') : 0;
}

static unsigned long long count_lines(const char *s, size_t n)
{
    unsigned long long c = 0;
    for (const char *p = s, *e = s + n; p < e; c++) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        p = nl ? nl + 1 : e;
    }
    return c;
}

/* The first section after a run of JSON sections starting at k. */
static size_t json_run_end(const hr_sections *s, size_t k)
{
    size_t e = k;
    while (e < s->n && s->v[e].type == HR_CT_JSON)
        e++;
    return e;
}

/* Marks the values of the stream [a, b) to keep: the ends and the best matches. */
static int mark_stream(const char *in, const hr_sections *s, size_t a, size_t b,
                       const hr_compress_opts *o, unsigned char *keep)
{
    for (size_t k = a; k < b; k++)
        keep[k - a] = k - a < STREAM_HEAD || b - k <= STREAM_TAIL;
    hr_rel_terms q;
    hr_rel_terms_parse(&q, o->query, o->query_len);
    if (!q.n)
        return 0;
    hr_rel_docs d = {0};
    for (size_t k = a; k < b; k++)
        if (hr_rel_docs_add(&d, &q, k - a, in + s->v[k].start, s->v[k].end - s->v[k].start, 0) != 0) {
            hr_rel_docs_free(&d);
            return -1;
        }
    hr_rel_docs_rank(&d, &q, 1);
    for (size_t r = 0; r < d.n && r < STREAM_RELEVANT && d.v[r].score > 0; r++)
        keep[d.v[r].id] = 1;
    hr_rel_docs_free(&d);
    return 0;
}

static int append_section(const char *in, const hr_section *sec, const hr_compress_opts *o,
                          hr_compressor_fn json_fn, hr_buf *out, int *any);

/* A stream of JSON values ([a, b), STREAM_MIN_VALUES+ of them: `jq '.[] | {...}'`) is
 * cut like an array: whole values kept (each through json_fn, as a lone JSON section
 * is), each run of cut ones a note in place. Each value alone is mostly too small for
 * SmartCrusher, and together they are no one document. */
static int compress_stream(const char *in, const hr_sections *s, size_t a, size_t b,
                           const hr_compress_opts *o, hr_compressor_fn json_fn, hr_buf *out)
{
    unsigned char *keep = calloc(b - a, 1);
    if (!keep || mark_stream(in, s, a, b, o, keep) != 0) {
        free(keep);
        return -1;
    }
    int rc = 0;
    for (size_t k = a; k < b && rc == 0;) {
        if (keep[k - a]) {
            int any;
            rc = append_section(in, &s->v[k], o, json_fn, out, &any);
            k++;
            continue;
        }
        size_t e = k;
        while (e < b && !keep[e - a])
            e++;
        size_t mark = out->len, from = s->v[k].start, to = s->v[e - 1].end;
        rc = hr_marker_write_note(out, e - k, "values", 0, 1) | hr_buf_putc(out, '\n');
        int kept = rc ? -1 : hr_note_settle(out, mark, in + from, to - from);
        if (kept == 1 && to > from && in[to - 1] != '\n') /* ends as the note did */
            kept = hr_buf_putc(out, '\n');
        rc = kept < 0 ? -1 : 0;
        k = e;
    }
    free(keep);
    return rc;
}

/* Appends one section, compressed when its compressor finds something to cut (*any). */
static int append_section(const char *in, const hr_section *sec, const hr_compress_opts *o,
                          hr_compressor_fn json_fn, hr_buf *out, int *any)
{
    hr_compress_result r;
    if (compress_one(in + sec->start, sec->end - sec->start, sec->type, o, json_fn, &r) != 0)
        return -1;
    int rc;
    *any = r.compressed;
    if (r.compressed)
        rc = append_inner(out, &r, in[sec->end - 1] == '\n');
    else
        rc = hr_buf_append(out, in + sec->start, sec->end - sec->start);
    hr_compress_result_free(&r);
    return rc;
}

static int compress_sections(const char *in, size_t len, const hr_sections *s,
                             const hr_compress_opts *o, hr_compressor_fn json_fn,
                             hr_compress_result *res)
{
    int any = 0;
    for (size_t k = 0; k < s->n; k++) {
        const hr_section *sec = &s->v[k];
        size_t run = json_run_end(s, k);
        if (run - k >= STREAM_MIN_VALUES) {
            if (compress_stream(in, s, k, run, o, json_fn, &res->out) != 0)
                return -1;
            any = 1;
            k = run - 1;
            continue;
        }
        int compressed;
        if (append_section(in, sec, o, json_fn, &res->out, &compressed) != 0)
            return -1;
        any |= compressed;
    }
    if (!any) {
        hr_buf_free(&res->out);
        return 0;
    }
    unsigned long long kept = count_lines(res->out.data, res->out.len);
    const hr_compressor *mixed = hr_compressor_row(HR_COMPRESSOR_MIXED);
    res->unit = mixed->unit;
    res->compressor = mixed->name;
    return hr_compress_finish(in, len, res, count_lines(in, len), kept);
}

int hr_compress_detected(const char *in, size_t len, const hr_compress_opts *opts,
                         hr_compressor_fn json_fn, hr_compress_result *res)
{
    if (!hr_compress_begin(HR_COMPRESSOR_NONE, in, len, opts, NULL, res))
        return 0;
    hr_sections s;
    if (hr_detect_sections(in, len, &s) != 0)
        return -1;
    int rc;
    if (s.n == 1)
        rc = compress_one(in, len, s.v[0].type, opts, json_fn, res);
    else
        rc = compress_sections(in, len, &s, opts, json_fn, res);
    hr_sections_free(&s);
    return hr_compress_end(res, rc);
}
