/* diff.c: the unified-diff compressor (see diff.h).
 *
 * Parsing gives every line a role (outside, file header, hunk header, context, added,
 * removed, "\ No newline") and its file and hunk. Hunk bodies are consumed by the line
 * counts in their header, so a removed line that reads "--- x" is not mistaken for a file
 * header; headers without counts fall back to prefix rules. Choosing is then simple: the
 * first N files, the first K hunks of each, and context within diff_context of a change.
 * An omitted context stretch of 3+ lines gets a note; shorter ones are cut silently (the
 * kept hunk header still states the original ranges).
 */
#include "compress/diff.h"

#include "ccr/marker.h"
#include "compress/text.h"

#include <stdlib.h>
#include <string.h>

enum { R_OUT = 0, R_FHDR, R_HHDR, R_CTX, R_ADD, R_DEL, R_NONL };
enum { NOTE_MIN_CONTEXT = 3 };

static int starts(const char *s, size_t n, const char *lit)
{
    if (n == 0 || s[0] != lit[0]) /* most calls end here, before strlen */
        return 0;
    size_t k = strlen(lit);
    return n >= k && memcmp(s, lit, k) == 0;
}

int hr_diff_file_start(const char *s, size_t n, const char *next, size_t next_n)
{
    if (starts(s, n, "diff --git ") || starts(s, n, "diff --cc ") ||
        starts(s, n, "diff --combined ") || starts(s, n, "diff -u") || starts(s, n, "diff -r") ||
        starts(s, n, "diff -N"))
        return 1;
    return starts(s, n, "--- ") && next && starts(next, next_n, "+++ ");
}

static int read_ulong(const char *s, size_t n, size_t *i, unsigned long *v)
{
    size_t j = *i;
    unsigned long x = 0;
    while (j < n && s[j] >= '0' && s[j] <= '9' && j - *i < 10)
        x = x * 10 + (unsigned long)(s[j++] - '0');
    if (j == *i)
        return 0;
    *i = j;
    *v = x;
    return 1;
}

/* Reads "<start>[,<count>]" and returns the count (1 when absent). */
static int read_range(const char *s, size_t n, size_t *i, unsigned long *count)
{
    unsigned long start;
    if (!read_ulong(s, n, i, &start))
        return 0;
    *count = 1;
    if (*i < n && s[*i] == ',') {
        (*i)++;
        if (!read_ulong(s, n, i, count))
            return 0;
    }
    return 1;
}

int hr_diff_hunk_header(const char *s, size_t n, unsigned long *old_n, unsigned long *new_n)
{
    size_t i = 4;
    if (!starts(s, n, "@@ -") || !read_range(s, n, &i, old_n) || !starts(s + i, n - i, " +"))
        return 0;
    i += 2;
    return read_range(s, n, &i, new_n) && starts(s + i, n - i, " @@");
}

typedef struct diff_line {
    unsigned char role;
    unsigned char keep;
    size_t file; /* 1-based; 0 outside any file */
    size_t hunk; /* 1-based within its file; 0 for headers and outside */
} diff_line;

typedef struct diff_doc {
    const char *in;
    hr_lines l;
    diff_line *d;
    size_t files, hunks;
} diff_doc;

static const char *line_at(const diff_doc *x, size_t i, size_t *n)
{
    *n = hr_line_len(x->in, &x->l, i);
    return x->in + x->l.start[i];
}

static int starts_file_at(const diff_doc *x, size_t i)
{
    size_t n, m = 0;
    const char *s = line_at(x, i, &n);
    const char *next = i + 1 < x->l.n ? line_at(x, i + 1, &m) : NULL;
    return hr_diff_file_start(s, n, next, m);
}

/* Role of a body line by its first byte; -1 if it cannot be part of a hunk body. */
static int body_role(const char *s, size_t n)
{
    if (n == 0)
        return R_CTX; /* some tools strip the space of empty context lines */
    switch (s[0]) {
    case ' ':
        return R_CTX;
    case '+':
        return R_ADD;
    case '-':
        return R_DEL;
    case '\\':
        return R_NONL;
    default:
        return -1;
    }
}

/* Consumes the body of the hunk whose header is line h; returns the first line after it. */
static size_t parse_hunk(diff_doc *x, size_t h, size_t file, size_t hunk)
{
    size_t n;
    const char *s = line_at(x, h, &n);
    unsigned long old_n = 0, new_n = 0;
    int counted = hr_diff_hunk_header(s, n, &old_n, &new_n);
    x->d[h] = (diff_line){R_HHDR, 0, file, hunk};
    size_t i = h + 1;
    for (; i < x->l.n; i++) {
        s = line_at(x, i, &n);
        int role = body_role(s, n);
        if (counted && old_n == 0 && new_n == 0 && role != R_NONL)
            break;
        if (role < 0 || (!counted && (starts_file_at(x, i) || starts(s, n, "@@"))))
            break;
        if (role == R_CTX && counted && n == 0 && (old_n == 0 || new_n == 0))
            break;
        if ((role == R_CTX || role == R_DEL) && old_n)
            old_n--;
        if ((role == R_CTX || role == R_ADD) && new_n)
            new_n--;
        x->d[i] = (diff_line){(unsigned char)role, 0, file, hunk};
    }
    return i;
}

static void parse_diff(diff_doc *x)
{
    size_t file = 0, hunk = 0;
    int in_file = 0;
    for (size_t i = 0; i < x->l.n;) {
        size_t n;
        const char *s = line_at(x, i, &n);
        /* "--- a/x" right after "diff --git" belongs to the same file's header */
        int same_file_header = in_file && hunk == 0 && starts(s, n, "--- ");
        if (starts_file_at(x, i) && !same_file_header) {
            file = ++x->files;
            hunk = 0;
            in_file = 1;
            x->d[i++] = (diff_line){R_FHDR, 0, file, 0};
            if (starts(s, n, "--- ") && i < x->l.n) /* the "+++ " line */
                x->d[i++] = (diff_line){R_FHDR, 0, file, 0};
            continue;
        }
        if (in_file && starts(s, n, "@@")) {
            x->hunks++;
            i = parse_hunk(x, i, file, ++hunk);
            continue;
        }
        if (in_file && hunk == 0) { /* index, mode, rename, ---/+++ lines */
            x->d[i++] = (diff_line){R_FHDR, 0, file, 0};
            continue;
        }
        in_file = 0;
        x->d[i++] = (diff_line){R_OUT, 0, 0, 0};
    }
}

/* Marks context lines within ctx lines of a change in the hunk body [a, b). */
static void keep_near_changes(diff_doc *x, size_t a, size_t b, size_t ctx)
{
    for (size_t i = a; i < b; i++) {
        if (x->d[i].role == R_CTX)
            continue;
        x->d[i].keep = 1;
        if (x->d[i].role == R_NONL)
            continue;
        for (size_t k = 1; k <= ctx && i >= a + k; k++)
            if (x->d[i - k].role == R_CTX)
                x->d[i - k].keep = 1;
        for (size_t k = 1; k <= ctx && i + k < b; k++)
            if (x->d[i + k].role == R_CTX)
                x->d[i + k].keep = 1;
    }
}

static void choose(diff_doc *x, const hr_compress_opts *o, size_t *kept_hunks)
{
    for (size_t i = 0; i < x->l.n;) {
        diff_line *dl = &x->d[i];
        int file_kept = dl->file <= o->diff_files;
        if (dl->role == R_OUT || (dl->role == R_FHDR && file_kept)) {
            dl->keep = 1;
            i++;
            continue;
        }
        if (dl->role != R_HHDR || !file_kept || dl->hunk > o->diff_hunks_per_file) {
            i++;
            continue;
        }
        dl->keep = 1;
        (*kept_hunks)++;
        size_t b = i + 1;
        while (b < x->l.n && x->d[b].role >= R_CTX && x->d[b].file == dl->file &&
               x->d[b].hunk == dl->hunk)
            b++;
        keep_near_changes(x, i + 1, b, o->diff_context);
        i = b;
    }
}

typedef struct tally {
    size_t hunks, files, added, removed;
} tally;

static void count_line(const diff_line *dl, tally *t)
{
    t->added += dl->role == R_ADD;
    t->removed += dl->role == R_DEL;
    t->hunks += dl->role == R_HHDR;
}

/* After the last line of a kept file: the hunks of that file left out. */
static int note_file_end(hr_buf *out, const tally *t)
{
    if (!t->hunks)
        return 0;
    return hr_buf_printf(out, "[%zu more hunks in this file omitted: +%zu -%zu lines]\n",
                         t->hunks, t->added, t->removed);
}

static int write_kept(const diff_doc *x, const hr_compress_opts *o, hr_buf *out)
{
    tally file_rest = {0, 0, 0, 0}, dropped_files = {0, 0, 0, 0};
    size_t ctx_run = 0;
    for (size_t i = 0; i < x->l.n; i++) {
        const diff_line *dl = &x->d[i];
        if (dl->file > o->diff_files) {
            count_line(dl, &dropped_files);
            if (i == 0 || x->d[i - 1].file != dl->file)
                dropped_files.files++;
            continue;
        }
        if (dl->keep) {
            if (ctx_run >= NOTE_MIN_CONTEXT &&
                hr_buf_printf(out, "[%zu unchanged lines omitted]\n", ctx_run) != 0)
                return -1;
            ctx_run = 0;
            if (hr_lines_append(out, x->in, &x->l, i) != 0)
                return -1;
        } else if (dl->role == R_CTX && dl->hunk <= o->diff_hunks_per_file) {
            ctx_run++;
        } else {
            count_line(dl, &file_rest);
        }
        int file_ends = i + 1 == x->l.n || x->d[i + 1].file != dl->file;
        if (dl->file && file_ends) {
            if (ctx_run >= NOTE_MIN_CONTEXT &&
                hr_buf_printf(out, "[%zu unchanged lines omitted]\n", ctx_run) != 0)
                return -1;
            ctx_run = 0;
            if (note_file_end(out, &file_rest) != 0)
                return -1;
            file_rest = (tally){0, 0, 0, 0};
        }
    }
    if (dropped_files.files &&
        hr_buf_printf(out, "[%zu more files omitted: %zu hunks, +%zu -%zu lines]\n",
                      dropped_files.files, dropped_files.hunks, dropped_files.added,
                      dropped_files.removed) != 0)
        return -1;
    return 0;
}

static void fill_opts(hr_compress_opts *o, const hr_compress_opts *given)
{
    hr_compress_opts_default(o);
    if (!given)
        return;
    if (given->diff_context)
        o->diff_context = given->diff_context;
    if (given->diff_hunks_per_file)
        o->diff_hunks_per_file = given->diff_hunks_per_file;
    if (given->diff_files)
        o->diff_files = given->diff_files;
}

int hr_compress_diff(const char *in, size_t len, const hr_compress_opts *opts,
                     hr_compress_result *res)
{
    memset(res, 0, sizeof *res);
    res->unit = "hunks";
    res->compressor = "diff";
    if (!in || len == 0 || hr_marker_present(in, len))
        return 0;
    hr_compress_opts o;
    fill_opts(&o, opts);
    diff_doc x = {in, {0, NULL}, NULL, 0, 0};
    if (hr_lines_split(in, len, &x.l) != 0)
        return -1;
    int rc = -1;
    x.d = calloc(x.l.n ? x.l.n : 1, sizeof *x.d);
    if (x.d) {
        parse_diff(&x);
        rc = 0;
        if (x.hunks > 0) {
            size_t kept = 0;
            choose(&x, &o, &kept);
            rc = write_kept(&x, &o, &res->out);
            if (rc == 0)
                rc = hr_text_finish(in, len, res, x.hunks, kept, "hunks", "diff");
        }
    }
    free(x.d);
    hr_lines_free(&x.l);
    if (rc != 0)
        hr_compress_result_free(res);
    return rc;
}
