/* search.c: the search-results compressor (see search.h).
 *
 * Three passes over the lines: parse (match / context / heading / other, and which file),
 * choose (ranked files, then matches by tier under the three caps), write (kept lines in
 * their original order, with counts where matches or files were dropped). Context lines
 * ("path-12-text") belong to the nearest match of the same file and live or die with it;
 * in a merged -C group a line between two matches lives if either of them does.
 * Lines that are none of these (tool banners, "Binary file x matches") are always kept.
 */
#include "compress/search.h"

#include "compress/compressors.h"
#include "compress/logs.h"
#include "compress/text.h"
#include "sys/ascii.h"
#include "sys/hybrid.h"
#include "sys/relevance.h"
#include "sys/vec.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { K_OTHER = 0, K_MATCH, K_CONTEXT, K_HEADING, K_SEP, K_BLANK };
enum { NO_FILE = -1, NEIGHBOUR_LINES = 3 };


/* "C:\" or "C:/": a Windows drive prefix, whose colon is part of the path. */
static size_t drive_prefix(const char *s, size_t n)
{
    return (n > 3 && hr_is_alpha((unsigned char)s[0]) && s[1] == ':' && (s[2] == '\\' || s[2] == '/'))
               ? 2
               : 0;
}

int hr_search_is_path(const char *s, size_t n)
{
    if (n == 0 || n > 1024 || s[0] == '[' || s[0] == '(' || s[0] == '"' || s[0] == '-' ||
        s[0] == '#' || s[0] == '=' || s[0] == '+' || s[0] == '@' || s[0] == '<')
        return 0;
    int sep = 0, dot_ext = 0, letters = 0, lowers = 0, plain = 1;
    for (size_t i = drive_prefix(s, n); i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'a' && c <= 'z') { /* the common case first: paths are mostly lowercase */
            lowers++;
            continue;
        }
        if (hr_is_digit(c) || c == '_' || c == '-')
            continue;
        if (c >= 'A' && c <= 'Z') {
            letters++;
            continue;
        }
        if (c == ' ' || c == '\t' || c == ':' || c < 0x20 || c == '"' || c == '\'')
            return 0;
        plain = 0;
        sep |= c == '/' || c == '\\';
        if (c == '.' && i + 1 < n && hr_is_alpha((unsigned char)s[i + 1]))
            dot_ext = 1;
    }
    letters += lowers;
    if (!letters)
        return 0;
    if (sep || dot_ext)
        return 1;
    /* A bare name (Makefile, Dockerfile) must start with a letter and not be a level
     * word or a date ("ERROR", "2024-01-01T12"). */
    return plain && hr_is_alpha((unsigned char)s[0]) && lowers > 0;
}

/* Digits at s[*i] followed by ':' (or '-' when dash is set). */
static int read_num(const char *s, size_t n, size_t *i, unsigned long *v, char term)
{
    size_t j = *i;
    unsigned long x = 0;
    while (j < n && hr_is_digit((unsigned char)s[j]) && j - *i < 10)
        x = x * 10 + (unsigned long)(s[j++] - '0');
    if (j == *i || j >= n || s[j] != term)
        return 0;
    *v = x;
    *i = j + 1;
    return 1;
}

/* Length of a git revision before "path:line:" in `git grep PATTERN REV` output
 * ("HEAD:", "v1.2:", "HEAD~3:", a commit id), colon included; 0 if there is none. */
static size_t rev_prefix(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && i < 64 && s[i] != ':') {
        unsigned char c = (unsigned char)s[i];
        if (!(hr_is_alpha(c) || hr_is_digit(c) || c == '~' || c == '^' || c == '.' || c == '-' ||
              c == '_'))
            return 0;
        i++;
    }
    return i > 0 && i < n && s[i] == ':' ? i + 1 : 0;
}

static int parse_match_at(const char *s, size_t n, size_t skip, hr_search_hit *hit);

int hr_search_parse_match(const char *s, size_t n, hr_search_hit *hit)
{
    if (parse_match_at(s, n, drive_prefix(s, n), hit))
        return 1;
    size_t rev = rev_prefix(s, n); /* the path then includes "HEAD:", the same for every line */
    return rev && parse_match_at(s, n, rev, hit);
}

static int parse_match_at(const char *s, size_t n, size_t skip, hr_search_hit *hit)
{
    const char *colon = memchr(s + skip, ':', (n < 1100 ? n : 1100) - skip);
    if (!colon)
        return 0;
    size_t plen = (size_t)(colon - s), i = plen + 1;
    unsigned long line = 0, col = 0;
    size_t from = skip > 2 ? skip : 0; /* a revision prefix is not part of the path test */
    if (!read_num(s, n, &i, &line, ':') || !hr_search_is_path(s + from, plen - from))
        return 0;
    size_t after_line = i;
    if (!read_num(s, n, &i, &col, ':'))
        i = after_line;
    hit->path_len = plen;
    hit->lineno = line;
    hit->content = i;
    return 1;
}

int hr_search_parse_numbered(const char *s, size_t n, unsigned long *lineno, int *context)
{
    size_t i = 0;
    if (read_num(s, n, &i, lineno, ':')) {
        *context = 0;
        return 1;
    }
    i = 0;
    if (read_num(s, n, &i, lineno, '-')) {
        *context = 1;
        return 1;
    }
    return 0;
}

/* ---- parse -------------------------------------------------------------------------- */

typedef struct file_rec {
    size_t path_off, path_len;
    size_t matches, kept;
    size_t first, last;     /* line index of the first / last match */
    size_t last_line;       /* last line of any kind that belongs to the file */
    int best_score;
    int keep;
} file_rec;

typedef struct line_rec {
    unsigned char kind;
    int file;               /* index into files or NO_FILE */
    size_t anchor;          /* context: the match line it belongs to */
    size_t after;           /* context between two matches of a merged -C group: the next
                             * one, which it is also context of (SIZE_MAX: none) */
    unsigned long lineno;   /* matches: the line number the tool printed */
    int score;
    int keep;
} line_rec;

typedef struct search_doc {
    const char *in;
    hr_lines l;
    line_rec *lines;
    file_rec *files;
    size_t nfiles, capfiles;
    size_t nmatches;
    int32_t *table; /* path hash table: file index or -1 */
    size_t tcap;
} search_doc;

static int path_eq(const search_doc *d, const file_rec *f, const char *p, size_t n)
{
    return f->path_len == n && memcmp(d->in + f->path_off, p, n) == 0;
}

/* Index of the file with this path, adding it if new; -1 on allocation failure. */
static int file_index(search_doc *d, const char *p, size_t n)
{
    size_t slot = (size_t)hr_hash64(p, n) & (d->tcap - 1);
    while (d->table[slot] >= 0) {
        if (path_eq(d, &d->files[d->table[slot]], p, n))
            return d->table[slot];
        slot = (slot + 1) & (d->tcap - 1);
    }
    if (HR_VEC_RESERVE(d->files, d->capfiles, d->nfiles + 1) != 0)
        return -1;
    file_rec *f = &d->files[d->nfiles];
    memset(f, 0, sizeof *f);
    f->path_off = (size_t)(p - d->in);
    f->path_len = n;
    d->table[slot] = (int32_t)d->nfiles;
    return (int)d->nfiles++;
}

static int is_sep(const char *s, size_t n) { return n == 2 && s[0] == '-' && s[1] == '-'; }

/* "path-12-text" for a known path. */
static int is_context_of(const search_doc *d, int file, const char *s, size_t n)
{
    if (file < 0)
        return 0;
    const file_rec *f = &d->files[file];
    if (n <= f->path_len + 2 || memcmp(s, d->in + f->path_off, f->path_len) != 0 ||
        s[f->path_len] != '-')
        return 0;
    size_t i = f->path_len + 1;
    unsigned long v;
    return read_num(s, n, &i, &v, '-');
}

static void add_match(search_doc *d, size_t i, int file)
{
    file_rec *f = &d->files[file];
    if (f->matches == 0)
        f->first = i;
    f->last = i;
    f->matches++;
    d->nmatches++;
    d->lines[i].kind = K_MATCH;
    d->lines[i].file = file;
}

/* First pass: match lines, ripgrep headings and their numbered lines. */
static int parse_matches(search_doc *d)
{
    int heading = NO_FILE;
    for (size_t i = 0; i < d->l.n; i++) {
        const char *s = d->in + d->l.start[i];
        size_t n = hr_line_len(d->in, &d->l, i);
        line_rec *r = &d->lines[i];
        r->file = NO_FILE;
        hr_search_hit hit;
        unsigned long ln;
        int ctx;
        if (hr_line_is_blank(s, n)) {
            r->kind = K_BLANK;
            heading = NO_FILE;
        } else if (is_sep(s, n)) {
            r->kind = K_SEP;
        } else if (heading != NO_FILE && hr_search_parse_numbered(s, n, &ln, &ctx)) {
            if (ctx) {
                r->kind = K_CONTEXT;
                r->file = heading;
            } else {
                add_match(d, i, heading);
                r->lineno = ln;
            }
        } else if (i + 1 < d->l.n && hr_search_is_path(s, n) &&
                   hr_search_parse_numbered(d->in + d->l.start[i + 1],
                                            hr_line_len(d->in, &d->l, i + 1), &ln, &ctx)) {
            heading = file_index(d, s, n);
            if (heading < 0)
                return -1;
            r->kind = K_HEADING;
            r->file = heading;
        } else if (hr_search_parse_match(s, n, &hit)) {
            int f = file_index(d, s, hit.path_len);
            if (f < 0)
                return -1;
            add_match(d, i, f);
            r->lineno = hit.lineno;
        }
    }
    return 0;
}

/* Second pass: grep -C context lines and their anchors (the nearest match of the file). */
static void attach_context(search_doc *d)
{
    size_t n = d->l.n;
    size_t prev = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        line_rec *r = &d->lines[i];
        if (r->kind == K_MATCH) {
            prev = i;
            continue;
        }
        if (r->kind == K_SEP || r->kind == K_BLANK)
            prev = SIZE_MAX;
        if (r->kind == K_CONTEXT) { /* ripgrep heading mode: file already known */
            r->anchor = prev != SIZE_MAX && d->lines[prev].file == r->file ? prev : SIZE_MAX;
            continue;
        }
        if (r->kind != K_OTHER)
            continue;
        const char *s = d->in + d->l.start[i];
        size_t len = hr_line_len(d->in, &d->l, i);
        if (prev != SIZE_MAX && is_context_of(d, d->lines[prev].file, s, len)) {
            r->kind = K_CONTEXT;
            r->file = d->lines[prev].file;
            r->anchor = prev;
        }
    }
    /* Leading context (before its match) and heading-mode context before the first match:
     * anchor to the next match of the same file. */
    size_t next = SIZE_MAX;
    for (size_t i = n; i-- > 0;) {
        line_rec *r = &d->lines[i];
        if (r->kind == K_MATCH) {
            next = i;
            continue;
        }
        if (r->kind == K_SEP || r->kind == K_BLANK || r->kind == K_HEADING)
            next = SIZE_MAX;
        const char *s = d->in + d->l.start[i];
        size_t len = hr_line_len(d->in, &d->l, i);
        if (r->kind == K_OTHER && next != SIZE_MAX &&
            is_context_of(d, d->lines[next].file, s, len)) {
            r->kind = K_CONTEXT;
            r->file = d->lines[next].file;
            r->anchor = next;
        } else if (r->kind == K_CONTEXT && r->anchor == SIZE_MAX && next != SIZE_MAX &&
                   d->lines[next].file == r->file) {
            r->anchor = next;
        }
        r->after = r->kind == K_CONTEXT && next != SIZE_MAX && next != r->anchor &&
                           d->lines[next].file == r->file
                       ? next
                       : SIZE_MAX;
    }
    for (size_t i = 0; i < n; i++)
        if (d->lines[i].file >= 0)
            d->files[d->lines[i].file].last_line = i;
}

/* ---- relevance ---------------------------------------------------------------------- */

/* Relevance of the matches to the question, through sys/relevance: a match scores 2 per
 * question word in its line or in its file's path (paths count: the file a question names
 * is the file it is about), and 2 more for an error word. A question word, or the error
 * words, found in a large share of the matches count for nothing there (`grep -rn error`
 * matches "error" on every line: the word says nothing about which line is wanted). */
typedef struct relevance {
    hr_rel_terms q;
    int term_counts[HR_REL_MAX_TERMS]; /* 1: the term is rare enough to count */
    int errors_count;
} relevance;

static size_t capped(size_t n) { return n > 4096 ? 4096 : n; } /* bounds huge lines' cost */

static void line_terms(const relevance *rv, const char *s, size_t n, uint32_t *tf)
{
    memset(tf, 0, HR_REL_MAX_TERMS * sizeof *tf);
    hr_rel_count(&rv->q, s, capped(n), tf);
}

static void relevance_init(relevance *rv, const search_doc *d, const hr_compress_opts *o)
{
    memset(rv, 0, sizeof *rv);
    hr_rel_terms_parse(&rv->q, o->query, o->query ? o->query_len : 0);
    size_t df[HR_REL_MAX_TERMS] = {0}, errors = 0;
    uint32_t tf[HR_REL_MAX_TERMS];
    for (size_t i = 0; i < d->l.n; i++) {
        if (d->lines[i].kind != K_MATCH)
            continue;
        const char *s = d->in + d->l.start[i];
        size_t n = hr_line_len(d->in, &d->l, i);
        errors += hr_log_has_error_word(s, capped(n));
        line_terms(rv, s, n, tf);
        for (size_t k = 0; k < rv->q.n; k++)
            df[k] += tf[k] > 0;
    }
    for (size_t k = 0; k < rv->q.n; k++)
        rv->term_counts[k] = hr_rel_is_rare(df[k], d->nmatches);
    rv->errors_count = hr_rel_is_rare(errors, d->nmatches);
}

static int match_score(const relevance *rv, const search_doc *d, size_t i)
{
    const char *s = d->in + d->l.start[i];
    size_t n = hr_line_len(d->in, &d->l, i);
    const file_rec *f = &d->files[d->lines[i].file];
    uint32_t tf[HR_REL_MAX_TERMS], ptf[HR_REL_MAX_TERMS];
    line_terms(rv, s, n, tf);
    line_terms(rv, d->in + f->path_off, f->path_len, ptf);
    int score = 0;
    for (size_t k = 0; k < rv->q.n; k++)
        score += 2 * (rv->term_counts[k] && tf[k] > 0) + 2 * (ptf[k] > 0);
    if (rv->errors_count && hr_log_has_error_word(s, capped(n)))
        score += 2;
    return score;
}

/* ---- choose ------------------------------------------------------------------------- */

/* Keeps at most max_files files: the most relevant first (best match score, earlier file on
 * ties), then the rest in order. Linear passes per score level keep it allocation-free. */
static void rank_files(search_doc *d, unsigned max_files)
{
    size_t kept = 0;
    int top = 0;
    for (size_t f = 0; f < d->nfiles; f++)
        if (d->files[f].matches && d->files[f].best_score > top)
            top = d->files[f].best_score;
    for (int level = top; level >= 0 && kept < max_files; level--)
        for (size_t f = 0; f < d->nfiles && kept < max_files; f++)
            if (!d->files[f].keep && d->files[f].matches && d->files[f].best_score >= level) {
                d->files[f].keep = 1;
                kept++;
            }
}

typedef struct caps {
    size_t per_file, total, kept;
} caps;

static void take(search_doc *d, size_t i, caps *c)
{
    line_rec *r = &d->lines[i];
    file_rec *f = &d->files[r->file];
    if (r->keep || !f->keep || f->kept >= c->per_file || c->kept >= c->total)
        return;
    r->keep = 1;
    f->kept++;
    c->kept++;
}

/* The matches within NEIGHBOUR_LINES source lines of a best match, in the same file: the
 * answer often sits next to the line the question words found (the call before the log
 * line that names the error). */
static void take_neighbours(search_doc *d, size_t i, caps *c)
{
    const line_rec *m = &d->lines[i];
    size_t from = i > 2 * NEIGHBOUR_LINES ? i - 2 * NEIGHBOUR_LINES : 0;
    for (size_t j = from; j < d->l.n && j <= i + 2 * NEIGHBOUR_LINES; j++) {
        const line_rec *r = &d->lines[j];
        unsigned long gap = r->lineno > m->lineno ? r->lineno - m->lineno : m->lineno - r->lineno;
        if (j != i && r->kind == K_MATCH && r->file == m->file && gap <= NEIGHBOUR_LINES)
            take(d, j, c);
    }
}

typedef struct scored {
    size_t line;
    int score;
} scored;

static int by_score(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->score != y->score)
        return y->score - x->score;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* With an embedder installed (sys/hybrid.h) the match scores become hybrid ones: the
 * lexical score above counts as the BM25 part, each match line (first 4096 bytes) is the
 * document, and the blend is kept as an integer in hundredths (levels for rank_files).
 * Without one, or when it fails open, the scores stay as they are. */
#define HYBRID_LEVELS 100

static void rescore_hybrid(search_doc *d, const hr_compress_opts *o)
{
    if (!hr_hybrid_installed() || !d->nmatches)
        return;
    size_t *at = malloc(d->nmatches * sizeof *at);
    hr_hybrid_doc *docs = malloc(d->nmatches * sizeof *docs);
    double *v = malloc(d->nmatches * sizeof *v);
    size_t m = 0;
    for (size_t i = 0; at && docs && v && i < d->l.n && m < d->nmatches; i++) {
        if (d->lines[i].kind != K_MATCH)
            continue;
        docs[m] = (hr_hybrid_doc){d->in + d->l.start[i], capped(hr_line_len(d->in, &d->l, i))};
        v[m] = d->lines[i].score;
        at[m++] = i;
    }
    if (at && docs && v && hr_hybrid_rescore(o->query, o->query_len, docs, m, v))
        for (size_t k = 0; k < m; k++)
            d->lines[at[k]].score = (int)lround(v[k] * HYBRID_LEVELS);
    free(at);
    free(docs);
    free(v);
}

static int choose(search_doc *d, const hr_compress_opts *o)
{
    relevance rv;
    relevance_init(&rv, d, o);
    scored *sc = malloc((d->nmatches ? d->nmatches : 1) * sizeof *sc);
    if (!sc)
        return -1;
    size_t ns = 0;
    for (size_t i = 0; i < d->l.n; i++)
        if (d->lines[i].kind == K_MATCH)
            d->lines[i].score = match_score(&rv, d, i);
    if (rv.q.n)
        rescore_hybrid(d, o);
    for (size_t i = 0; i < d->l.n; i++) {
        line_rec *r = &d->lines[i];
        if (r->kind != K_MATCH)
            continue;
        file_rec *f = &d->files[r->file];
        if (r->score > f->best_score)
            f->best_score = r->score;
        if (r->score > 0)
            sc[ns++] = (scored){i, r->score};
    }
    rank_files(d, o->search_files);
    caps c = {o->search_per_file, o->search_total, 0};
    for (size_t f = 0; f < d->nfiles; f++)
        if (d->files[f].matches)
            take(d, d->files[f].first, &c);
    qsort(sc, ns, sizeof *sc, by_score);
    for (size_t k = 0; k < ns; k++) {
        take(d, sc[k].line, &c);
        if (sc[k].score == sc[0].score)
            take_neighbours(d, sc[k].line, &c);
    }
    for (size_t f = 0; f < d->nfiles; f++)
        if (d->files[f].matches)
            take(d, d->files[f].last, &c);
    free(sc);
    return 0;
}

/* ---- write -------------------------------------------------------------------------- */

static int line_kept(const search_doc *d, size_t i)
{
    const line_rec *r = &d->lines[i];
    switch (r->kind) {
    case K_MATCH:
        return r->keep;
    case K_CONTEXT:
        return (r->anchor != SIZE_MAX && d->lines[r->anchor].keep) ||
               (r->after != SIZE_MAX && d->lines[r->after].keep);
    case K_HEADING:
        return d->files[r->file].keep;
    case K_OTHER:
        return 1;
    default:
        return 0;
    }
}

static int write_kept(const search_doc *d, hr_buf *out)
{
    for (size_t i = 0; i < d->l.n; i++) {
        const line_rec *r = &d->lines[i];
        if (line_kept(d, i) && hr_lines_append(out, d->in, &d->l, i) != 0)
            return -1;
        if (r->file < 0 || d->files[r->file].last_line != i)
            continue;
        const file_rec *f = &d->files[r->file];
        if (f->keep && f->kept < f->matches &&
            hr_buf_printf(out, "[%zu more matches in %.*s]\n", f->matches - f->kept,
                          (int)f->path_len, d->in + f->path_off) != 0)
            return -1;
    }
    /* Every omitted file is named with its match count: nothing vanishes unnamed. */
    size_t files = 0, matches = 0;
    for (size_t f = 0; f < d->nfiles; f++)
        if (!d->files[f].keep && d->files[f].matches) {
            files++;
            matches += d->files[f].matches;
        }
    if (!files)
        return 0;
    int rc = hr_buf_printf(out, "[%zu more files with %zu matches omitted:", files, matches);
    size_t named = 0;
    for (size_t f = 0; f < d->nfiles; f++)
        if (!d->files[f].keep && d->files[f].matches)
            rc |= hr_buf_printf(out, "%s %.*s (%zu)", named++ ? "," : "", (int)d->files[f].path_len,
                                d->in + d->files[f].path_off, d->files[f].matches);
    return rc | hr_buf_puts(out, "]\n");
}

/* Results that fit every cap are left whole: there is nothing to choose between. */
static int within_caps(const search_doc *d, const hr_compress_opts *o)
{
    size_t files = 0;
    for (size_t f = 0; f < d->nfiles; f++) {
        files += d->files[f].matches > 0;
        if (d->files[f].matches > o->search_per_file)
            return 0;
    }
    return files <= o->search_files && d->nmatches <= o->search_total;
}

static void doc_free(search_doc *d)
{
    free(d->lines);
    free(d->files);
    free(d->table);
    hr_lines_free(&d->l);
}

static int doc_init(search_doc *d, const char *in, size_t len)
{
    memset(d, 0, sizeof *d);
    d->in = in;
    if (hr_lines_split(in, len, &d->l) != 0)
        return -1;
    d->tcap = 64;
    while (d->tcap < 2 * d->l.n)
        d->tcap *= 2;
    d->lines = calloc(d->l.n ? d->l.n : 1, sizeof *d->lines);
    d->table = malloc(d->tcap * sizeof *d->table);
    if (!d->lines || !d->table)
        return -1;
    memset(d->table, 0xff, d->tcap * sizeof *d->table);
    return 0;
}

int hr_compress_search(const char *in, size_t len, const hr_compress_opts *opts,
                       hr_compress_result *res)
{
    hr_compress_opts o;
    if (!hr_compress_begin(HR_COMPRESSOR_SEARCH, in, len, opts, &o, res))
        return 0;
    search_doc d;
    int rc = doc_init(&d, in, len);
    if (rc == 0)
        rc = parse_matches(&d);
    if (rc == 0 && d.nmatches > 0 && !within_caps(&d, &o)) {
        attach_context(&d);
        rc = choose(&d, &o);
        size_t kept = 0;
        for (size_t f = 0; f < d.nfiles; f++)
            kept += d.files[f].kept;
        if (rc == 0 && kept < d.nmatches) {
            rc = write_kept(&d, &res->out);
            if (rc == 0)
                rc = hr_compress_finish(in, len, res, d.nmatches, kept);
        }
    }
    doc_free(&d);
    return hr_compress_end(res, rc);
}
