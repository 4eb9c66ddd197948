/* diff.c: the unified-diff compressor (see diff.h).
 *
 * Parsing gives every line a role (outside, file header, hunk header, context, added,
 * removed, "\ No newline") and its file and hunk. Hunk bodies are consumed by the line
 * counts in their header, so a removed line that reads "--- x" is not mistaken for a file
 * header; headers without counts fall back to prefix rules. Choosing is then simple: the
 * first N files, the first K hunks of each, and context within diff_context of a change.
 * An omitted context stretch of 3+ lines gets a note. A shorter gap between two kept lines
 * of a hunk is kept: cut silently it would join lines that were apart ("if (!colon)" then
 * "size_t plen = ...", its "return 0;" gone), and a note would cost as much as the lines.
 * Only a short stretch at a hunk's end, before the next header, is cut without a note.
 * A merge's combined diff ("@@@" headers) has one column per parent; a line is context only
 * when all of them are blank.
 */
#include "compress/diff.h"

#include "compress/compressors.h"
#include "compress/text.h"
#include "sys/relevance.h"

#include <stdlib.h>
#include <string.h>

enum { R_OUT = 0, R_FHDR, R_HHDR, R_CTX, R_ADD, R_DEL, R_NONL };
enum { NOTE_MIN_CONTEXT = 3 };
#define RELEVANT_SHARE 0.5 /* relevant: at least this share of the best score */
#define PATH_BONUS 20.0    /* per rare question word in a file's path */
enum { MAX_COMMITS = 3 }; /* commits whose diffs a multi-commit log shows */

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

/* One file of the diff: where its name is, what it changes, whether it is shown. */
typedef struct diff_file {
    const char *path;
    size_t path_len;
    size_t hunks, added, removed;
    double score;   /* relevance to the question (path and changed lines) */
    size_t group;   /* 1-based commit (run of files after text outside the diff) */
    int keep;
} diff_file;

typedef struct diff_doc {
    const char *in;
    hr_lines l;
    diff_line *d;
    size_t files, hunks;
    diff_file *f; /* files + 1 entries, 1-based */
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

/* Columns of a hunk's body lines: 1, or one per parent in a merge's combined diff, whose
 * hunk headers open with one '@' more than it has parents ("@@@ -a,b -c,d +e,f @@@"). */
static size_t hunk_columns(const char *s, size_t n)
{
    size_t ats = 0;
    while (ats < n && s[ats] == '@')
        ats++;
    return ats > 2 ? ats - 1 : 1;
}

/* Role of a combined-diff body line: a change if any column has '+' or '-' (" +x" is a
 * line added against the first parent, not context), context only if all are blank. */
static int combined_role(const char *s, size_t n, size_t cols)
{
    int add = 0, del = 0;
    for (size_t c = 0; c < cols; c++) {
        char ch = c < n ? s[c] : ' ';
        if (ch == '+')
            add = 1;
        else if (ch == '-')
            del = 1;
        else if (ch != ' ')
            return -1;
    }
    return add ? R_ADD : del ? R_DEL : R_CTX;
}

/* Role of a body line by its first byte (its first cols bytes in a combined diff); -1 if
 * it cannot be part of a hunk body. */
static int body_role(const char *s, size_t n, size_t cols)
{
    if (n == 0)
        return R_CTX; /* some tools strip the space of empty context lines */
    if (cols > 1 && s[0] != '\\')
        return combined_role(s, n, cols);
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
    size_t cols = hunk_columns(s, n);
    x->d[h] = (diff_line){R_HHDR, 0, file, hunk};
    size_t i = h + 1;
    for (; i < x->l.n; i++) {
        s = line_at(x, i, &n);
        int role = body_role(s, n, cols);
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

/* Keeps every run of fewer than NOTE_MIN_CONTEXT unkept lines between two kept lines of
 * the hunk body [a, b) (see the header). */
static void keep_short_gaps(diff_doc *x, size_t a, size_t b)
{
    size_t last = SIZE_MAX; /* the last kept line seen */
    for (size_t i = a; i < b; i++) {
        if (!x->d[i].keep)
            continue;
        if (last != SIZE_MAX && i - last - 1 > 0 && i - last - 1 < NOTE_MIN_CONTEXT)
            for (size_t k = last + 1; k < i; k++)
                x->d[k].keep = 1;
        last = i;
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
    keep_short_gaps(x, a, b);
}

static void choose(diff_doc *x, const hr_compress_opts *o, size_t *kept_hunks)
{
    for (size_t i = 0; i < x->l.n;) {
        diff_line *dl = &x->d[i];
        int file_kept = x->f[dl->file].keep;
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

/* "[3 files omitted: src/a.c (2 hunks, +10 -3), ...]" for the omitted files [a, b]:
 * every file is named, with what it changes, where it was. */
static int note_files(const diff_doc *x, size_t a, size_t b, hr_buf *out)
{
    int rc = hr_buf_printf(out, "[%zu file%s omitted:", b - a + 1, a == b ? "" : "s");
    for (size_t f = a; f <= b; f++)
        rc |= hr_buf_printf(out, "%s %.*s (%zu hunk%s, +%zu -%zu)", f == a ? "" : ",",
                            (int)x->f[f].path_len, x->f[f].path, x->f[f].hunks,
                            x->f[f].hunks == 1 ? "" : "s", x->f[f].added, x->f[f].removed);
    return rc | hr_buf_puts(out, "]\n");
}

/* "[N unchanged lines omitted]" for the run of `run` context lines ending at line `last`
 * (none below NOTE_MIN_CONTEXT), or those lines when they are one stretch and the note
 * would not be shorter (the rule of every cut, hr_note_pays). */
static int note_context(const diff_doc *x, hr_buf *out, size_t run, size_t last)
{
    if (run < NOTE_MIN_CONTEXT)
        return 0;
    size_t mark = out->len, a = last + 1 - run;
    if (hr_buf_printf(out, "[%zu unchanged lines omitted]\n", run) != 0)
        return -1;
    for (size_t k = a; k <= last; k++)
        if (x->d[k].keep || x->d[k].role != R_CTX || x->d[k].file != x->d[last].file)
            return 0; /* not one stretch: the note stands */
    return hr_lines_cut_end(out, mark, x->in, &x->l, a, last + 1) < 0 ? -1 : 0;
}

static int write_kept(const diff_doc *x, const hr_compress_opts *o, hr_buf *out)
{
    tally file_rest = {0, 0, 0, 0};
    size_t ctx_run = 0, ctx_last = 0, dropped_from = 0;
    for (size_t i = 0; i < x->l.n; i++) {
        const diff_line *dl = &x->d[i];
        if (dl->file && !x->f[dl->file].keep) {
            if (!dropped_from)
                dropped_from = dl->file;
            int run_ends = i + 1 == x->l.n || (x->d[i + 1].file != dl->file &&
                                               (!x->d[i + 1].file || x->f[x->d[i + 1].file].keep));
            if (run_ends && note_files(x, dropped_from, dl->file, out) != 0)
                return -1;
            if (run_ends)
                dropped_from = 0;
            continue;
        }
        if (dl->keep) {
            if (note_context(x, out, ctx_run, ctx_last) != 0)
                return -1;
            ctx_run = 0;
            if (hr_lines_append(out, x->in, &x->l, i) != 0)
                return -1;
        } else if (dl->role == R_CTX && dl->hunk <= o->diff_hunks_per_file) {
            ctx_run++;
            ctx_last = i;
        } else {
            count_line(dl, &file_rest);
        }
        int file_ends = i + 1 == x->l.n || x->d[i + 1].file != dl->file;
        if (dl->file && file_ends) {
            if (note_context(x, out, ctx_run, ctx_last) != 0)
                return -1;
            ctx_run = 0;
            if (note_file_end(out, &file_rest) != 0)
                return -1;
            file_rest = (tally){0, 0, 0, 0};
        }
    }
    return 0;
}

/* The path a file header names: "diff --git a/x b/y" -> y, "+++ b/y" -> y, "--- x" -> x. */
static void file_path(const diff_doc *x, size_t i, diff_file *f)
{
    size_t n;
    const char *s = line_at(x, i, &n);
    const char *b = NULL;
    if (starts(s, n, "diff --git ")) {
        for (size_t k = n; k > 11; k--)
            if (s[k - 1] == ' ' && k + 1 < n && s[k] == 'b' && s[k + 1] == '/') {
                b = s + k + 2;
                break;
            }
    } else if (starts(s, n, "diff ")) {
        for (size_t k = n; k > 5 && !b; k--)
            if (s[k - 1] == ' ')
                b = s + k;
    } else if (starts(s, n, "--- ") || starts(s, n, "+++ ")) {
        b = s + 4;
        if (n > 6 && (s[4] == 'a' || s[4] == 'b') && s[5] == '/')
            b = s + 6;
    }
    if (!b)
        b = s;
    size_t m = (size_t)(s + n - b);
    for (size_t k = 0; k < m; k++)
        if (b[k] == '\t') /* diff -u: "--- a.c\t2024-01-01 ..." */
            m = k;
    f->path = b;
    f->path_len = m;
}

/* Per file: its path, hunks, changed lines and commit (a run of files after text outside
 * the diff: `git log -p` holds one per commit). */
static size_t file_facts(diff_doc *x, size_t *group)
{
    size_t groups = 0;
    int text_before = 1;
    for (size_t i = 0; i < x->l.n; i++) {
        const diff_line *d = &x->d[i];
        diff_file *f = &x->f[d->file];
        if (!d->file) {
            text_before = 1;
            continue;
        }
        if (d->role == R_FHDR && (i == 0 || x->d[i - 1].file != d->file)) {
            file_path(x, i, f);
            groups += text_before;
            text_before = 0;
            group[d->file] = f->group = groups;
        }
        f->hunks += d->role == R_HHDR;
        f->added += d->role == R_ADD;
        f->removed += d->role == R_DEL;
    }
    return groups;
}

/* 1 if term k of q matches a word of the path. */
static int path_mentions(const hr_rel_terms *q, size_t k, const char *p, size_t n)
{
    uint32_t tf[HR_REL_MAX_TERMS] = {0};
    hr_rel_count(q, p, n, tf);
    return tf[k] > 0;
}

/* BM25 score of every file for the question. The documents are the files (path and
 * changed lines; a path word counts three times: the file a question names is the file it
 * is about) or, when the diff holds several commits, the commits (message, paths and
 * changed lines; message words count three times too), every file taking its commit's
 * score. BM25's idf weighs words common to many files or commits down. */
static void score_files(diff_doc *x, const hr_compress_opts *o)
{
    hr_rel_terms q;
    hr_rel_terms_parse(&q, o->query, o->query ? o->query_len : 0);
    size_t *group = calloc(x->files + 1, sizeof *group);
    if (!group)
        return;
    size_t groups = file_facts(x, group), ndocs = groups > 1 ? groups : x->files;
    uint32_t(*tf)[HR_REL_MAX_TERMS] = q.n ? calloc(ndocs + 1, sizeof *tf) : NULL;
    size_t *dl = q.n ? calloc(ndocs + 1, sizeof *dl) : NULL;
    if (!tf || !dl) {
        free(tf);
        free(dl);
        free(group);
        return;
    }
    size_t next_doc = 1; /* commit text belongs to the commit whose files follow it */
    for (size_t i = 0; i < x->l.n; i++) {
        const diff_line *d = &x->d[i];
        size_t n, doc = d->file ? (groups > 1 ? group[d->file] : d->file) : 0;
        const char *s = line_at(x, i, &n);
        if (d->file && groups > 1)
            next_doc = doc + 1;
        if (!d->file && groups > 1 && next_doc <= ndocs) { /* a commit message: weight 3 */
            uint32_t mtf[HR_REL_MAX_TERMS] = {0};
            dl[next_doc] += hr_rel_count(&q, s, n, mtf);
            for (size_t k = 0; k < q.n; k++)
                tf[next_doc][k] += 3 * mtf[k];
        }
        if (d->role == R_ADD || d->role == R_DEL)
            dl[doc] += hr_rel_count(&q, s, n, tf[doc]);
    }
    uint32_t path_df[HR_REL_MAX_TERMS] = {0};
    for (size_t f = 1; f <= x->files; f++) {
        uint32_t ptf[HR_REL_MAX_TERMS] = {0};
        size_t doc = groups > 1 ? group[f] : f;
        dl[doc] += hr_rel_count(&q, x->f[f].path, x->f[f].path_len, ptf);
        for (size_t k = 0; k < q.n; k++) {
            tf[doc][k] += 3 * ptf[k];
            path_df[k] += ptf[k] > 0;
        }
    }
    uint32_t df[HR_REL_MAX_TERMS] = {0};
    double words = 0;
    for (size_t doc = 1; doc <= ndocs; doc++) {
        words += (double)dl[doc];
        for (size_t k = 0; k < q.n; k++)
            df[k] += tf[doc][k] > 0;
    }
    hr_bm25 m;
    hr_bm25_init(&m, q.n, ndocs, df, words);
    for (size_t f = 1; f <= x->files; f++) {
        size_t doc = groups > 1 ? group[f] : f;
        x->f[f].score = hr_bm25_score(&m, tf[doc], dl[doc]);
        /* A question word in few paths (at most 2 or 10%: "upstream", not "src" or a
         * top directory) names the file the question is about. */
        for (size_t k = 0; k < q.n; k++)
            if (path_df[k] && (path_df[k] <= 2 || path_df[k] * 10 <= x->files) &&
                path_mentions(&q, k, x->f[f].path, x->f[f].path_len))
                x->f[f].score += PATH_BONUS;
    }
    free(tf);
    free(dl);
    free(group);
}

/* Which files are shown: all when there are at most diff_files; else the diff_files files
 * that match the question best (in order of appearance on ties), or the first diff_files
 * when none matches. The rest are named in notes. */
static void choose_files(diff_doc *x, const hr_compress_opts *o)
{
    size_t relevant = 0;
    double best = 0;
    for (size_t f = 1; f <= x->files; f++)
        best = x->f[f].score > best ? x->f[f].score : best;
    /* Relevant: within RELEVANT_SHARE of the best score. A file that shares one common
     * word with a long question is not what the question is about. */
    for (size_t f = 1; f <= x->files; f++) {
        if (x->f[f].score < best * RELEVANT_SHARE)
            x->f[f].score = 0;
        relevant += x->f[f].score > 0;
    }
    if (x->files <= o->diff_files || !relevant) {
        for (size_t f = 1; f <= x->files && f <= o->diff_files; f++)
            x->f[f].keep = 1;
        return;
    }
    if (x->f[x->files].group > 1) { /* commits: the MAX_COMMITS best, each file of them */
        for (size_t c = 0; c < MAX_COMMITS; c++) {
            size_t top = 0;
            for (size_t f = 1; f <= x->files; f++)
                if (!x->f[f].keep && x->f[f].score > 0 && (!top || x->f[f].score > x->f[top].score))
                    top = f;
            for (size_t f = 1; top && f <= x->files; f++)
                if (x->f[f].group == x->f[top].group)
                    x->f[f].keep = 1;
        }
        return;
    }
    for (size_t kept = 0; kept < o->diff_files && kept < relevant; kept++) {
        size_t best = 0;
        for (size_t f = 1; f <= x->files; f++)
            if (!x->f[f].keep && x->f[f].score > 0 && (!best || x->f[f].score > x->f[best].score))
                best = f;
        x->f[best].keep = 1;
    }
}

int hr_compress_diff(const char *in, size_t len, const hr_compress_opts *opts,
                     hr_compress_result *res)
{
    hr_compress_opts o;
    if (!hr_compress_begin(HR_COMPRESSOR_DIFF, in, len, opts, &o, res))
        return 0;
    diff_doc x = {in, {0, NULL}, NULL, 0, 0, NULL};
    if (hr_lines_split(in, len, &x.l) != 0)
        return -1;
    int rc = -1;
    x.d = calloc(x.l.n ? x.l.n : 1, sizeof *x.d);
    if (x.d) {
        parse_diff(&x);
        rc = 0;
        x.f = calloc(x.files + 1, sizeof *x.f);
        if (!x.f)
            rc = -1;
        if (rc == 0 && x.hunks > 0) {
            size_t kept = 0;
            score_files(&x, &o);
            choose_files(&x, &o);
            choose(&x, &o, &kept);
            rc = write_kept(&x, &o, &res->out);
            if (rc == 0)
                rc = hr_compress_finish(in, len, res, x.hunks, kept);
        }
    }
    free(x.f);
    free(x.d);
    hr_lines_free(&x.l);
    return hr_compress_end(res, rc);
}
