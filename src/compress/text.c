/* text.c: the plain-text compressor and the shared line model (see text.h).
 *
 * One pass over the lines; at each position the longest collapsible run wins:
 *   - blank runs keep their first blank line;
 *   - exact repeats of a block of 1..4 lines keep the first block and say how often it
 *     repeated ("[previous line repeated 49 more times]");
 *   - near-identical runs (same shape, see hr_line_shape_hash) keep the first and the last
 *     block, since the last state of a progress bar or loop is what matters, and say how
 *     many lines were omitted ("[42 similar lines omitted]").
 * Kept lines are copied byte for byte. Runs shorter than MIN_OMIT lines are left alone:
 * a note would cost about as much as it saves.
 *
 * The question breaks near-identical runs: a line naming a word of the question that few
 * lines hold (the hex input of one CSV row among 1,600 alike) is no "similar line" to the
 * reader who asked for it, so it is kept where it stands. Question words in many lines
 * ("float64" in half of them) pick out nothing and change nothing.
 */
#include "compress/text.h"

#include "ccr/marker.h"
#include "compress/compressors.h"
#include "sys/ascii.h"
#include "sys/relevance.h"

#include <stdlib.h>
#include <string.h>

enum {
    MAX_PERIOD = 4,
    MIN_OMIT = 3,
    MIN_SHAPE_LETTERS = 2,
    ASKED_MAX_LINES = 40, /* a question word in more lines than this picks out none of them */
};

int hr_lines_split(const char *in, size_t len, hr_lines *lines)
{
    lines->n = 0;
    lines->start = NULL;
    size_t n = 0;
    for (const char *p = in, *e = in + len; p < e;) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        n++;
        p = nl ? nl + 1 : e;
    }
    size_t *st = malloc((n + 1) * sizeof *st);
    if (!st)
        return -1;
    size_t i = 0;
    for (const char *p = in, *e = in + len; p < e;) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        st[i++] = (size_t)(p - in);
        p = nl ? nl + 1 : e;
    }
    st[n] = len;
    lines->n = n;
    lines->start = st;
    return 0;
}

void hr_lines_free(hr_lines *lines)
{
    free(lines->start);
    lines->start = NULL;
    lines->n = 0;
}

int hr_line_is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

int hr_lines_append(hr_buf *out, const char *in, const hr_lines *l, size_t i)
{
    size_t a = l->start[i], b = l->start[i + 1];
    if (hr_buf_append(out, in + a, b - a) != 0)
        return -1;
    if (b == a || in[b - 1] != '\n')
        return hr_buf_putc(out, '\n');
    return 0;
}

int hr_lines_cut_end(hr_buf *out, size_t mark, const char *in, const hr_lines *l, size_t a,
                     size_t b)
{
    size_t from = l->start[a], to = l->start[b];
    int kept = hr_note_settle(out, mark, in + from, to - from);
    /* Kept lines end with a newline as the note did (the input's last line may lack one). */
    if (kept == 1 && to > from && in[to - 1] != '\n' && hr_buf_putc(out, '\n') != 0)
        return -1;
    return kept;
}

int hr_lines_cut(hr_buf *out, const char *in, const hr_lines *l, size_t a, size_t b,
                 const char *unit)
{
    size_t mark = out->len;
    if (hr_marker_write_note(out, b - a, unit, 0, 1) != 0 || hr_buf_putc(out, '\n') != 0)
        return -1;
    return hr_lines_cut_end(out, mark, in, l, a, b);
}

/* Characters progress bars and rules are drawn with; a run of them counts as one. */
static int is_bar_char(unsigned char c)
{
    return c == ' ' || c == '=' || c == '#' || c == '-' || c == '.' || c == '*' || c == '>' ||
           c == '|' || c == '\t' || c == '_' || c == '~' || c >= 0x80;
}

#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

static uint64_t fnv_byte(uint64_t h, unsigned char c) { return (h ^ c) * FNV_PRIME; }

/* Length of a hex run at s that reads as an id (6+ hex chars with a digit), else 0. */
static size_t hex_id_len(const char *s, size_t n)
{
    size_t k = 0;
    int digit = 0;
    while (k < n && hr_is_xdigit((unsigned char)s[k])) {
        digit |= s[k] >= '0' && s[k] <= '9';
        k++;
    }
    return (k >= 6 && digit) ? k : 0;
}

uint64_t hr_line_shape_hash(const char *s, size_t n, size_t *letters)
{
    uint64_t h = FNV_OFFSET;
    size_t nl = 0;
    unsigned char prev = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t hx = (i == 0 || !hr_is_xdigit((unsigned char)s[i - 1])) ? hex_id_len(s + i, n - i) : 0;
        if (hx || (c >= '0' && c <= '9')) {
            if (!hx)
                while (i < n && s[i] >= '0' && s[i] <= '9')
                    i++;
            else
                i += hx;
            if (prev != '0')
                h = fnv_byte(h, '0');
            prev = '0';
            continue;
        }
        i++;
        if (c == '\r' || c == '\n')
            continue;
        if (is_bar_char(c)) {
            if (prev != '~')
                h = fnv_byte(h, '~');
            prev = '~';
            continue;
        }
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            nl++;
        h = fnv_byte(h, c);
        prev = c;
    }
    *letters = nl;
    return h;
}

/* Per-line facts the run finder compares. */
typedef struct line_info {
    uint64_t exact; /* hash of the content without terminator */
    uint64_t shape;
    unsigned blank : 1;
    unsigned wordy : 1; /* enough letters to be compared by shape */
    unsigned asked : 1; /* names a rare word of the question: never folded into a run */
} line_info;

static int same_exact(const char *in, const hr_lines *l, const line_info *li, size_t a, size_t b)
{
    if (li[a].exact != li[b].exact)
        return 0;
    size_t na = hr_line_len(in, l, a), nb = hr_line_len(in, l, b);
    return na == nb && memcmp(in + l->start[a], in + l->start[b], na) == 0;
}

static int same_shape(const line_info *li, size_t a, size_t b)
{
    return li[a].wordy && li[b].wordy && !li[a].asked && !li[b].asked && li[a].shape == li[b].shape;
}

/* End (exclusive) of the run starting at i in which line k equals line k - p. */
static size_t run_end(const char *in, const hr_lines *l, const line_info *li, size_t i,
                      size_t p, int exact)
{
    size_t k = i + p;
    while (k < l->n && (exact ? same_exact(in, l, li, k, k - p) : same_shape(li, k, k - p)))
        k++;
    return k;
}

typedef struct run_choice {
    size_t end;     /* first line after the run */
    size_t period;
    size_t omitted;
    int exact;
} run_choice;

/* Picks the collapse at line i that omits the most lines (ties: exact, then shorter period). */
static run_choice best_run(const char *in, const hr_lines *l, const line_info *li, size_t i)
{
    run_choice best = {0, 0, 0, 0};
    for (int exact = 1; exact >= 0; exact--) {
        for (size_t p = 1; p <= MAX_PERIOD && i + p <= l->n; p++) {
            size_t e = run_end(in, l, li, i, p, exact);
            size_t reps = (e - i) / p; /* whole blocks, the first included */
            size_t omitted = exact ? (reps - 1) * p : (reps >= 2 ? (reps - 2) * p : 0);
            if (omitted >= MIN_OMIT && omitted > best.omitted) {
                best.end = i + reps * p;
                best.period = p;
                best.omitted = omitted;
                best.exact = exact;
            }
        }
    }
    return best;
}

static int append_range(hr_buf *out, const char *in, const hr_lines *l, size_t a, size_t b)
{
    for (size_t k = a; k < b; k++)
        if (hr_lines_append(out, in, l, k) != 0)
            return -1;
    return 0;
}

/* The run's first period, then its note, then (similar lines) its last period. The note
 * stands for lines [i + period, i + period + omitted) and follows the rule of every cut
 * (hr_lines_cut_end): not shorter than those lines, it gives way to them. */
static int emit_run(hr_buf *out, const char *in, const hr_lines *l, size_t i, run_choice r,
                    size_t *kept, size_t *omitted)
{
    size_t a = i + r.period, b = a + r.omitted;
    int rc = append_range(out, in, l, i, a);
    size_t mark = out->len;
    if (r.exact && r.period == 1)
        rc |= hr_buf_printf(out, "[previous line repeated %zu more times]\n", r.omitted);
    else if (r.exact)
        rc |= hr_buf_printf(out, "[previous %zu lines repeated %zu more times]\n", r.period,
                            r.omitted / r.period);
    else
        rc |= hr_buf_printf(out, "[%zu similar lines omitted]\n", r.omitted);
    int cut = rc ? -1 : hr_lines_cut_end(out, mark, in, l, a, b);
    if (cut < 0)
        return -1;
    *kept += r.period + (cut == 1 ? r.omitted : 0);
    *omitted += cut == 1 ? 0 : r.omitted;
    if (!r.exact) {
        rc |= append_range(out, in, l, b, r.end);
        *kept += r.period;
    }
    return rc ? -1 : 0;
}

/* Marks the lines that hold a rare word of the question (see the header). Two passes over
 * the lines, counting each line's terms afresh: the lines each term occurs in, then the
 * lines holding a term that is rare (no per-line table: a 10 MB input costs no memory). */
static void mark_asked(const char *in, const hr_lines *l, line_info *li, const hr_compress_opts *o)
{
    hr_rel_terms q;
    hr_rel_terms_parse(&q, o ? o->query : NULL, o ? o->query_len : 0);
    if (!q.n)
        return;
    uint32_t df[HR_REL_MAX_TERMS] = {0}, tf[HR_REL_MAX_TERMS];
    size_t lines = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < l->n; i++) {
            if (li[i].blank)
                continue;
            memset(tf, 0, sizeof tf);
            hr_rel_count(&q, in + l->start[i], hr_line_len(in, l, i), tf);
            lines += pass == 0;
            for (size_t k = 0; k < q.n; k++) {
                if (pass == 0)
                    df[k] += tf[k] > 0;
                else if (tf[k] && df[k] <= ASKED_MAX_LINES && hr_rel_is_rare(df[k], lines))
                    li[i].asked = 1;
            }
        }
}

static line_info *describe_lines(const char *in, const hr_lines *l, const hr_compress_opts *o)
{
    line_info *li = calloc(l->n ? l->n : 1, sizeof *li);
    if (!li)
        return NULL;
    for (size_t i = 0; i < l->n; i++) {
        const char *s = in + l->start[i];
        size_t n = hr_line_len(in, l, i), letters = 0;
        li[i].exact = hr_hash64(s, n);
        li[i].shape = hr_line_shape_hash(s, n, &letters);
        li[i].blank = (unsigned)hr_line_is_blank(s, n);
        li[i].wordy = letters >= MIN_SHAPE_LETTERS;
    }
    mark_asked(in, l, li, o);
    return li;
}

/* Writes the collapsed lines into res->out; *kept counts original lines kept. */
static int collapse_lines(const char *in, const hr_lines *l, const line_info *li, hr_buf *out,
                          size_t *kept, size_t *omitted)
{
    for (size_t i = 0; i < l->n;) {
        if (li[i].blank) {
            size_t j = i + 1;
            while (j < l->n && li[j].blank)
                j++;
            if (hr_lines_append(out, in, l, i) != 0)
                return -1;
            (*kept)++;
            *omitted += j - i - 1;
            i = j;
            continue;
        }
        run_choice r = best_run(in, l, li, i);
        if (r.omitted) {
            if (emit_run(out, in, l, i, r, kept, omitted) != 0)
                return -1;
            i = r.end;
            continue;
        }
        if (hr_lines_append(out, in, l, i) != 0)
            return -1;
        (*kept)++;
        i++;
    }
    return 0;
}

int hr_compress_text(const char *in, size_t len, const hr_compress_opts *opts,
                     hr_compress_result *res)
{
    if (!hr_compress_begin(HR_COMPRESSOR_TEXT, in, len, opts, NULL, res))
        return 0;
    hr_lines l;
    if (hr_lines_split(in, len, &l) != 0)
        return -1;
    line_info *li = describe_lines(in, &l, opts);
    if (!li) {
        hr_lines_free(&l);
        return -1;
    }
    size_t kept = 0, omitted = 0;
    int rc = collapse_lines(in, &l, li, &res->out, &kept, &omitted);
    if (rc == 0 && omitted > 0)
        rc = hr_compress_finish(in, len, res, l.n, kept);
    else
        hr_buf_free(&res->out);
    free(li);
    hr_lines_free(&l);
    return hr_compress_end(res, rc);
}
