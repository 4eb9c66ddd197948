/* rows.c: the record-per-line compressor (see rows.h).
 *
 * One selection pass shared by tables and progress logs (header, relevance, rare signals,
 * outliers, head and tail), then one writer: kept lines verbatim in order, a note at each
 * cut, and for tables a per-column summary of what was cut. Line kinds (progress logs) are
 * hashes counted through one sorted copy; nothing here outlives the call.
 */
#include "compress/rows.h"

#include "ccr/marker.h"
#include "compress/compressors.h"
#include "compress/logs.h"
#include "compress/text.h"
#include "sys/ascii.h"
#include "sys/relevance.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    ROWS_MIN_RECORDS = 10,     /* shorter tables pass */
    PROGRESS_MIN_LINES = 40,   /* shorter logs pass */
    PROGRESS_TOP_KINDS = 6,    /* the commonest kinds that must cover ... */
    PROGRESS_TOP_SHARE = 70,   /* ... this percentage of a progress log */
    PROGRESS_SECOND_SHARE = 10,/* and the second commonest kind at least this percentage */
    ROWS_MAX_RELEVANT = 40,    /* question-matching records kept, best first, ... */
    ROWS_RELEVANT_BYTES = 8192,/* ... until they fill this much (apt's 700-byte progress lines) */
    ROWS_HEAD = 2,
    ROWS_TAIL = 3,
    HEADER_SCAN = 6,           /* a table's header is among its first lines */
    MAX_COLS = 16,
    COL_VALUES = 4,            /* a column with at most this many values is listed */
    OUTLIER_MAX_COL_VALUES = 8,/* outliers come from columns this small */
    NOTE_KINDS = 3,            /* kinds named in a progress note */
    STANZA_MAX = 12,           /* a blank-separated block this short is one record's stanza */
    COMMITS_HEAD = 10,         /* a commit list keeps its newest this many commits */
    COMMITS_SHARE = 90,        /* percent of a commit list's lines that are commits or graph */
    SCAN_MAX = 4096,           /* bytes of a line looked at for fields and kinds */
};

enum { NO_COMMITS = 0, COMMIT_LIST, BLAME }; /* rows.commits */

static const char *const LS_COLS[] = {"mode", "links", "owner", "group", "size",
                                      "month", "day", "time", "name"};

/* ---- line shapes ---------------------------------------------------------------------- */

static int is_space(int c) { return c == ' ' || c == '\t' || c == '\r'; }

int hr_rows_ls_line(const char *s, size_t n)
{
    static const char types[] = "-dlcbps";
    if (n < 14 || !s[0] || !strchr(types, s[0]))
        return 0;
    for (size_t i = 1; i < 10; i++)
        if (!strchr("rwxsStT-", s[i]))
            return 0;
    size_t i = 10;
    if (s[i] == '.' || s[i] == '+' || s[i] == '@')
        i++;
    if (s[i] != ' ')
        return 0;
    while (i < n && s[i] == ' ')
        i++;
    return i < n && hr_is_digit((unsigned char)s[i]);
}

int hr_rows_stat_line(const char *s, size_t n)
{
    if (n < 6 || s[0] != ' ' || n > SCAN_MAX)
        return 0;
    const char *bar = NULL;
    for (size_t i = n; i-- > 1;)
        if (s[i] == '|' && s[i - 1] == ' ') {
            bar = s + i;
            break;
        }
    if (!bar || bar - s < 3)
        return 0;
    size_t i = (size_t)(bar - s) + 1;
    while (i < n && s[i] == ' ')
        i++;
    if (i + 3 <= n && !memcmp(s + i, "Bin", 3))
        return 1;
    size_t d = i;
    while (i < n && hr_is_digit((unsigned char)s[i]))
        i++;
    if (i == d)
        return 0;
    while (i < n && (s[i] == ' ' || s[i] == '+' || s[i] == '-'))
        i++;
    return i == n;
}

/* 1 for "commit <7+ hex>" (git log). */
static int commit_line(const char *s, size_t n)
{
    size_t i = 7;
    if (n < 14 || memcmp(s, "commit ", 7) != 0)
        return 0;
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
        i++;
    return i >= 14;
}

int hr_rows_is_gitstat(const char *in, size_t len)
{
    size_t commits = 0, stats = 0;
    for (const char *p = in, *e = in + len; p < e;) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = (size_t)((nl ? nl : e) - p);
        if (n && p[n - 1] == '\r')
            n--;
        commits += commit_line(p, n);
        stats += hr_rows_stat_line(p, n);
        p = nl ? nl + 1 : e;
    }
    return commits >= 2 && stats >= ROWS_MIN_RECORDS;
}

/* Whitespace-separated fields of s[0..n): start/end offsets; the last of max takes the rest
 * of the line. Returns the number of fields. */
static size_t split_fields(const char *s, size_t n, size_t max, size_t *fs, size_t *fe)
{
    size_t k = 0, i = 0;
    if (n > SCAN_MAX)
        n = SCAN_MAX;
    while (k < max) {
        while (i < n && is_space((unsigned char)s[i]))
            i++;
        if (i >= n)
            break;
        fs[k] = i;
        if (k + 1 == max) {
            size_t e = n;
            while (e > i && is_space((unsigned char)s[e - 1]))
                e--;
            fe[k++] = e;
            break;
        }
        while (i < n && !is_space((unsigned char)s[i]))
            i++;
        fe[k++] = i;
    }
    return k;
}

/* A table header: dpkg -l's "||/ Name ..." or 3+ fields with letters, all capitals. */
static int header_line(const char *s, size_t n)
{
    if (n >= 4 && !memcmp(s, "||/ ", 4))
        return 1;
    size_t fs[MAX_COLS], fe[MAX_COLS];
    size_t k = split_fields(s, n, MAX_COLS, fs, fe);
    if (k < 3 || k >= MAX_COLS)
        return 0;
    size_t letters = 0;
    for (size_t i = 0; i < n; i++) {
        if (hr_is_lower((unsigned char)s[i]))
            return 0;
        letters += hr_is_upper((unsigned char)s[i]);
    }
    return letters >= 2 * k;
}

static int all_lower(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!hr_is_lower((unsigned char)s[i]))
            return 0;
    return 1;
}

/* A function or system call's name before its "(": "openat", "rt_sigaction", "wait4". */
static int call_name(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!hr_is_lower((unsigned char)s[i]) && s[i] != '_' && (i == 0 || !hr_is_digit((unsigned char)s[i])))
            return 0;
    return n > 0;
}

/* A date token, "2025-06-24" or "2025-06-24T14:36:53": digits and '-' with two dashes. */
static int date_token(const char *s, size_t n)
{
    size_t dashes = 0, i = 0;
    for (; i < n && !is_space((unsigned char)s[i]); i++) {
        if (s[i] == '-')
            dashes++;
        else if (!hr_is_digit((unsigned char)s[i]) && dashes < 2)
            return 0;
    }
    return dashes >= 2 && hr_is_digit((unsigned char)s[0]);
}

/* Where the text after "name DATE TIME:" starts when the line at i opens that way (a tool
 * naming itself before each timestamp, name in lower case); i otherwise. */
static size_t skip_named_timestamp(const char *s, size_t n, size_t i)
{
    size_t k = i;
    while (k < n && (hr_is_lower((unsigned char)s[k]) || s[k] == '-' || s[k] == '_'))
        k++; /* a program's name; "Start-Date:" is a field label, its date the value */
    if (k == i || k >= n || !is_space((unsigned char)s[k]))
        return i;
    while (k < n && is_space((unsigned char)s[k]))
        k++;
    if (k >= n || !date_token(s + k, n - k))
        return i;
    for (int t = 0; t < 2 && k < n && hr_is_digit((unsigned char)s[k]); t++) {
        while (k < n && !is_space((unsigned char)s[k]))
            k++;
        while (k < n && is_space((unsigned char)s[k]))
            k++;
    }
    return k;
}

/* Kind of a log line: its first word after any leading timestamp (two words when the first
 * is a short lower-case tool name such as "npm" or "pip"), digit runs counted as one digit; 0 for lines that
 * are indented or start with punctuation. s[*from, *shown) are the bytes a note shows: the
 * kind's own words, never the timestamp or pid of the one line they were read from. */
static uint64_t line_kind(const char *s, size_t n, size_t *from, size_t *shown)
{
    size_t i = 0, words = 0;
    uint64_t h = 1469598103934665603ULL;
    if (n > SCAN_MAX)
        n = SCAN_MAX;
    while (i < n && is_space((unsigned char)s[i]))
        i++;
    size_t indent = i;
    /* Leading timestamps ("2026-12-03 09:07:13 install ...") are not the kind. */
    for (int t = 0; t < 3 && i < n && hr_is_digit((unsigned char)s[i]); t++) {
        while (i < n && !is_space((unsigned char)s[i]))
            i++;
        while (i < n && is_space((unsigned char)s[i]))
            i++;
    }
    /* "update-alternatives 2025-06-24 14:36:53: run with ...": a program's name before the
     * timestamp is not the kind either */
    i = skip_named_timestamp(s, n, i);
    size_t word_start = i;
    *from = i;
    /* Deep indents and lines that start with punctuation (code, JSON members) are never a
     * progress kind: kind 0. */
    unsigned char c0 = i < n ? (unsigned char)s[i] : 0, c1 = i + 1 < n ? (unsigned char)s[i + 1] : 0;
    int wordy = hr_is_upper(c0) || hr_is_lower(c0) || (c0 == '(' && (hr_is_upper(c1) || hr_is_lower(c1)));
    if (indent > 2 || !wordy) {
        *shown = i;
        return 0;
    }
    while (i < n && words < 2) {
        unsigned char c = (unsigned char)s[i];
        if (c == '(' && words == 0 && call_name(s + word_start, i - word_start))
            break; /* strace's "openat(AT_FDCWD, ...": the call is the kind, not its first argument */
        if (is_space(c)) {
            words++;
            if (words == 2 || i - word_start > 4 || !all_lower(s + word_start, i - word_start))
                break;
            while (i < n && is_space((unsigned char)s[i]))
                i++;
            h = (h ^ ' ') * 1099511628211ULL;
            continue;
        }
        if (hr_is_digit(c)) {
            while (i < n && hr_is_digit((unsigned char)s[i]))
                i++;
            c = '0';
        } else
            i++;
        h = (h ^ c) * 1099511628211ULL;
    }
    *shown = i;
    return h;
}

/* ---- commit lists (git log --oneline [--graph]) --------------------------------------- */

static int graph_char(int c)
{
    return c == '*' || c == '|' || c == '/' || c == '\\' || c == '_' || c == ' ' || c == '.' ||
           c == '-';
}

/* 1 for "| * 1a2b3c4 message" or "1a2b3c4 message": graph characters, an abbreviated (7-12)
 * or full (40) hex id, a space and a message. */
static int commit_list_line(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && graph_char((unsigned char)s[i]))
        i++;
    if (i && !memchr(s, '*', i))
        return 0; /* a graph's commit line has its '*' */
    size_t h = i;
    while (i < n && (hr_is_digit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
        i++;
    size_t k = i - h;
    /* "8e3a45f7 (Author 2026-11-27 ... 12) code" is git blame, whose lines are the file's */
    return ((k >= 7 && k <= 12) || k == 40) && i + 1 < n && s[i] == ' ' && s[i + 1] != ' ' &&
           s[i + 1] != '(';
}

/* "8e3a45f7 (Author 2026-11-27 03:55:41 +0000 12) code" (git blame; '^' marks a boundary
 * commit): 1 and *id_end, the end of the commit id. */
static int blame_line(const char *s, size_t n, size_t *id_end)
{
    size_t i = n && s[0] == '^';
    while (i < n && (hr_is_digit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
        i++;
    if (i < 8 || i + 2 >= n || s[i] != ' ' || s[i + 1] != '(' || !memchr(s + i, ')', n - i))
        return 0;
    *id_end = i;
    return 1;
}

static int graph_only_line(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && graph_char((unsigned char)s[i]))
        i++;
    return i == n && n > 0;
}

/* ---- state ---------------------------------------------------------------------------- */

typedef enum { ROWS_TABLE, ROWS_PROGRESS, ROWS_STAT } rows_mode;

typedef struct rows {
    rows_mode mode;
    const char *in;
    size_t len;
    hr_lines l;
    size_t first;          /* first record line; lines before it are the header */
    size_t header;         /* the header line (tables with one), else SIZE_MAX */
    size_t records;        /* non-blank lines from first on */
    unsigned char *keep;
    uint64_t *kind;        /* progress logs: per line */
    uint64_t *sorted;      /* sorted kinds of the records, for counting */
    int commits;           /* progress mode over git log --oneline (COMMIT_LIST) or blame */
} rows;

static const char *line_at(const rows *r, size_t i, size_t *n)
{
    *n = hr_line_len(r->in, &r->l, i);
    return r->in + r->l.start[i];
}

static int is_record(const rows *r, size_t i)
{
    size_t n;
    const char *s = line_at(r, i, &n);
    if (r->mode == ROWS_STAT)
        return hr_rows_stat_line(s, n);
    return i >= r->first && !hr_line_is_blank(s, n);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* First index of sorted[0..n) whose value is >= k (upper: > k). */
static size_t bound(const uint64_t *v, size_t n, uint64_t k, int upper)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < k || (upper && v[mid] == k))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Records of kind k: two binary searches, so counting every line stays O(n log n). */
static size_t kind_count(const rows *r, uint64_t k)
{
    return bound(r->sorted, r->records, k, 1) - bound(r->sorted, r->records, k, 0);
}

static int rows_init(rows *r, const char *in, size_t len)
{
    memset(r, 0, sizeof *r);
    r->in = in;
    r->len = len;
    r->header = SIZE_MAX;
    if (hr_lines_split(in, len, &r->l) != 0)
        return -1;
    r->keep = calloc(r->l.n + 1, 1);
    r->kind = calloc(r->l.n + 1, sizeof *r->kind);
    r->sorted = calloc(r->l.n + 1, sizeof *r->sorted);
    return r->keep && r->kind && r->sorted ? 0 : -1;
}

static void rows_free(rows *r)
{
    hr_lines_free(&r->l);
    free(r->keep);
    free(r->kind);
    free(r->sorted);
}

/* A record's kind: git blame's are their commits ("[18 lines omitted: 15 from 8e3a45f7, 3
 * from 0e8fc375]"), the rest line_kind's. */
static uint64_t record_kind(const rows *r, const char *s, size_t n, size_t *from, size_t *shown)
{
    size_t id;
    if (r->commits == BLAME && blame_line(s, n, &id)) {
        *from = 0;
        *shown = id;
        return hr_hash64(s, id) | 1; /* never 0, the kind of no kind */
    }
    return line_kind(s, n, from, shown);
}

/* Kinds of every record and their sorted copy. */
static void count_kinds(rows *r)
{
    r->records = 0;
    for (size_t i = r->first; i < r->l.n; i++) {
        size_t n, from, shown;
        const char *s = line_at(r, i, &n);
        if (hr_line_is_blank(s, n))
            continue;
        r->kind[i] = record_kind(r, s, n, &from, &shown);
        r->sorted[r->records++] = r->kind[i];
    }
    qsort(r->sorted, r->records, sizeof *r->sorted, cmp_u64);
}

/* COMMIT_LIST for git log --oneline [--graph], BLAME for git blame, else NO_COMMITS. */
static int commits_like(const rows *r)
{
    size_t nonblank = 0, commits = 0, graph = 0, blame = 0, id;
    for (size_t i = 0; i < r->l.n; i++) {
        size_t n = hr_line_len(r->in, &r->l, i);
        const char *s = r->in + r->l.start[i];
        if (hr_line_is_blank(s, n))
            continue;
        nonblank++;
        if (commit_list_line(s, n))
            commits++;
        else if (blame_line(s, n, &id))
            blame++;
        else
            graph += graph_only_line(s, n);
    }
    if (nonblank < PROGRESS_MIN_LINES)
        return NO_COMMITS;
    if (blame * 100 >= nonblank * COMMITS_SHARE)
        return BLAME;
    return (commits + graph) * 100 >= nonblank * COMMITS_SHARE && commits * 2 >= nonblank
               ? COMMIT_LIST
               : NO_COMMITS;
}

/* ---- detection ------------------------------------------------------------------------ */

/* Where a table's records start: after the header line, or at the first ls -l row;
 * SIZE_MAX when the text is no table. */
static size_t table_start(const rows *r, size_t *header)
{
    size_t ls = 0, nonblank = 0;
    *header = SIZE_MAX;
    for (size_t i = 0; i < r->l.n && i < HEADER_SCAN; i++) {
        size_t n;
        const char *s = line_at(r, i, &n);
        if (header_line(s, n)) {
            *header = i;
            break;
        }
    }
    size_t from = *header == SIZE_MAX ? 0 : *header + 1;
    size_t first = SIZE_MAX;
    for (size_t i = from; i < r->l.n; i++) {
        size_t n;
        const char *s = line_at(r, i, &n);
        if (hr_line_is_blank(s, n))
            continue;
        nonblank++;
        if (*header != SIZE_MAX) {
            if (first == SIZE_MAX && !(s[0] == '+' && n > 3 && s[1] == '+')) /* dpkg's +++-=== */
                first = i;
        } else if (hr_rows_ls_line(s, n)) {
            ls++;
            if (first == SIZE_MAX)
                first = i;
        }
    }
    if (*header != SIZE_MAX)
        return nonblank >= ROWS_MIN_RECORDS + 1 ? first : SIZE_MAX;
    return ls >= ROWS_MIN_RECORDS && ls * 100 >= nonblank * 90 ? first : SIZE_MAX;
}

int hr_rows_is_table(const char *in, size_t len)
{
    rows r;
    size_t header;
    int yes = rows_init(&r, in, len) == 0 && table_start(&r, &header) != SIZE_MAX;
    rows_free(&r);
    return yes;
}

static int progress_like(rows *r)
{
    count_kinds(r);
    if (r->records < PROGRESS_MIN_LINES)
        return 0;
    size_t top[PROGRESS_TOP_KINDS] = {0};
    for (size_t i = 0; i < r->records;) {
        size_t e = i;
        while (e < r->records && r->sorted[e] == r->sorted[i])
            e++;
        size_t c = r->sorted[i] ? e - i : 0;
        for (int k = 0; k < PROGRESS_TOP_KINDS; k++)
            if (c > top[k]) {
                memmove(top + k + 1, top + k, (PROGRESS_TOP_KINDS - 1 - k) * sizeof *top);
                top[k] = c;
                break;
            }
        i = e;
    }
    size_t sum = 0;
    for (int k = 0; k < PROGRESS_TOP_KINDS; k++)
        sum += top[k];
    /* Two kinds at least, the second common too: one repeated opening ("The ...", "Note:")
     * is prose or a list, which the text compressor handles. */
    return sum * 100 >= r->records * PROGRESS_TOP_SHARE &&
           top[1] * 100 >= r->records * PROGRESS_SECOND_SHARE;
}

int hr_rows_is_progress(const char *in, size_t len)
{
    rows r;
    int yes = rows_init(&r, in, len) == 0 && progress_like(&r);
    rows_free(&r);
    return yes;
}

int hr_rows_is_commits(const char *in, size_t len)
{
    rows r;
    int yes = rows_init(&r, in, len) == 0 && commits_like(&r) != NO_COMMITS;
    rows_free(&r);
    return yes;
}

/* ---- selection ------------------------------------------------------------------------ */

/* The best ROWS_MAX_RELEVANT records for the question by BM25 (sys/relevance, one pass),
 * at most ROWS_RELEVANT_BYTES of them. A question word in a large share of the records
 * (apt's "package") picks out none of them: like a signal word, it counts only where it
 * is rare. 0 ok, -1 no memory. */
/* 1 if the line's kind is a call, "openat(" (strace, ltrace). */
static int call_kind(const rows *r, size_t line)
{
    size_t n, from, shown;
    const char *s = line_at(r, line, &n);
    return r->kind[line] && record_kind(r, s, n, &from, &shown) && shown < n && s[shown] == '(';
}

/* In a trace of calls, a call kept for the question keeps the calls right before and
 * after it of its own kind: a program trying paths in turn (openat "./headroom.toml",
 * then "~/.config/headroom/config.toml", then "/etc/headroom/config.toml") reads as one
 * answer, and the question names only some of them. */
static void keep_same_kind_neighbours(rows *r, size_t line)
{
    if (r->mode != ROWS_PROGRESS || r->commits || !call_kind(r, line))
        return;
    if (line > r->first && is_record(r, line - 1) && r->kind[line - 1] == r->kind[line])
        r->keep[line - 1] = 1;
    if (line + 1 < r->l.n && is_record(r, line + 1) && r->kind[line + 1] == r->kind[line])
        r->keep[line + 1] = 1;
}

static int keep_relevant(rows *r, const hr_compress_opts *o)
{
    hr_rel_terms q;
    hr_rel_terms_parse(&q, o->query, o->query_len);
    if (!q.n)
        return 0;
    hr_rel_docs d = {0};
    for (size_t i = r->first; i < r->l.n; i++) {
        size_t n;
        const char *s = line_at(r, i, &n);
        if (is_record(r, i) && hr_rel_docs_add(&d, &q, i, s, n, 0) != 0) {
            hr_rel_docs_free(&d);
            return -1;
        }
    }
    hr_rel_docs_rank(&d, &q, 1);
    size_t bytes = 0;
    for (size_t k = 0; k < d.n && d.v[k].score > 0 && k < ROWS_MAX_RELEVANT &&
                       bytes < ROWS_RELEVANT_BYTES;
         k++) {
        size_t line = d.v[k].id;
        r->keep[line] = 1;
        keep_same_kind_neighbours(r, line);
        bytes += r->l.start[line + 1] - r->l.start[line];
    }
    hr_rel_docs_free(&d);
    return 0;
}

/* Records with an error or warning word, when such records are rare. */
static void keep_rare_signals(rows *r)
{
    size_t hits = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = r->first; i < r->l.n; i++) {
            size_t n;
            const char *s = line_at(r, i, &n);
            if (!is_record(r, i) || hr_log_level_of(s, n) == HR_LOG_LEVEL_OTHER)
                continue;
            if (pass == 0)
                hits++;
            else
                r->keep[i] = 1;
            if (pass == 0 && !hr_rel_is_rare(hits, r->records))
                return;
        }
}

/* The first ROWS_HEAD (a commit list: COMMITS_HEAD, the newest) and last ROWS_TAIL records. */
static void keep_ends(rows *r)
{
    size_t seen = 0, head = r->commits == COMMIT_LIST ? COMMITS_HEAD : ROWS_HEAD;
    for (size_t i = r->first; i < r->l.n && seen < head; i++)
        if (is_record(r, i))
            r->keep[i] = 1, seen++;
    seen = 0;
    for (size_t i = r->l.n; i > r->first && seen < ROWS_TAIL; i--)
        if (is_record(r, i - 1))
            r->keep[i - 1] = 1, seen++;
}

/* Log lines whose kind is rare in the log. */
static void keep_rare_kinds(rows *r)
{
    size_t rare = r->records / 200 > 2 ? r->records / 200 : 2;
    for (size_t i = r->first; i < r->l.n; i++)
        if (is_record(r, i) && kind_count(r, r->kind[i]) <= rare)
            r->keep[i] = 1;
}

/* apt's history.log and similar logs write one stanza per event (Start-Date, Commandline,
 * Install, End-Date, then a blank line): a kept line of a short stanza keeps the stanza's
 * first line, or "apt-get install nodejs" would stand without the date it ran. */
static void keep_stanza_heads(rows *r)
{
    size_t head = r->first;
    for (size_t i = r->first; i <= r->l.n; i++) {
        size_t n = 0;
        const char *s = i < r->l.n ? line_at(r, i, &n) : NULL;
        if (s && !hr_line_is_blank(s, n))
            continue;
        /* [head, i) is one block */
        int kept = 0;
        for (size_t k = head + 1; k < i; k++)
            kept |= r->keep[k];
        if (kept && i - head <= STANZA_MAX)
            r->keep[head] = 1;
        head = i + 1;
    }
}

int hr_rows_mark(const char *in, size_t len, const hr_compress_opts *opts, unsigned char *keep)
{
    rows r;
    int rc = rows_init(&r, in, len);
    if (rc == 0 && progress_like(&r))
        keep_rare_kinds(&r);
    if (rc == 0 && opts)
        rc = keep_relevant(&r, opts);
    for (size_t i = 0; rc == 0 && i < r.l.n; i++)
        keep[i] |= r.keep[i];
    rows_free(&r);
    return rc;
}

/* ---- table columns -------------------------------------------------------------------- */

typedef struct column {
    const char *name;
    size_t name_len;
    size_t nvals;                 /* distinct values seen, up to COL_VALUES + 1 */
    const char *val[COL_VALUES + 1];
    size_t val_len[COL_VALUES + 1];
    size_t count[COL_VALUES + 1];
    int numeric;                  /* every value so far is a plain decimal number */
    double min, max;
    const char *min_s, *max_s;    /* their text, shown as written ("0.0..34.1") */
    size_t min_n, max_n;
} column;

typedef struct table {
    size_t ncols;
    column col[MAX_COLS];
    size_t hstart[MAX_COLS + 1];  /* header field starts (tables with a header) */
    int aligned;                  /* every row's fields sit under the header's columns */
} table;

static void table_columns(const rows *r, table *t)
{
    memset(t, 0, sizeof *t);
    t->aligned = 1;
    if (r->header == SIZE_MAX) {
        t->ncols = sizeof LS_COLS / sizeof *LS_COLS;
        for (size_t k = 0; k < t->ncols; k++)
            t->col[k].name = LS_COLS[k], t->col[k].name_len = strlen(LS_COLS[k]);
    } else {
        size_t n, fe[MAX_COLS];
        const char *s = line_at(r, r->header, &n);
        t->ncols = split_fields(s, n, MAX_COLS, t->hstart, fe);
        for (size_t k = 0; k < t->ncols; k++)
            t->col[k].name = s + t->hstart[k], t->col[k].name_len = fe[k] - t->hstart[k];
        t->hstart[t->ncols] = SIZE_MAX;
    }
    for (size_t k = 0; k < t->ncols; k++)
        t->col[k].numeric = 1;
}

/* A plain decimal number, "13648" or "34.1" (ps's %CPU, df's sizes): 1 and *v. Signs,
 * exponents and units are not numbers here; a column holding them is summarised by value. */
static int parse_number(const char *s, size_t n, double *v)
{
    size_t i = 0, dot = 0;
    double x = 0, scale = 1;
    if (!n || n > 18 || !hr_is_digit((unsigned char)s[0]))
        return 0;
    for (; i < n; i++) {
        if (s[i] == '.' && !dot && i + 1 < n) {
            dot = 1;
            continue;
        }
        if (!hr_is_digit((unsigned char)s[i]))
            return 0;
        x = x * 10 + (s[i] - '0');
        if (dot)
            scale *= 10;
    }
    *v = x / scale;
    return 1;
}

static void column_add(column *c, const char *v, size_t n)
{
    double x;
    if (c->numeric && parse_number(v, n, &x)) {
        if (!c->min_s || x < c->min)
            c->min = x, c->min_s = v, c->min_n = n;
        if (!c->max_s || x > c->max)
            c->max = x, c->max_s = v, c->max_n = n;
    } else {
        c->numeric = 0;
    }
    for (size_t k = 0; k < c->nvals; k++)
        if (c->val_len[k] == n && !memcmp(c->val[k], v, n)) {
            c->count[k]++;
            return;
        }
    if (c->nvals <= COL_VALUES) {
        c->val[c->nvals] = v;
        c->val_len[c->nvals] = n;
        c->count[c->nvals++] = 1;
    }
}

/* Adds one row's fields to the column tallies. */
static void table_add_row(const rows *r, table *t, size_t i)
{
    size_t n, fs[MAX_COLS], fe[MAX_COLS];
    const char *s = line_at(r, i, &n);
    size_t k = split_fields(s, n, t->ncols, fs, fe);
    if (k < t->ncols)
        t->aligned = 0;
    for (size_t j = 0; j < k && r->header != SIZE_MAX && j + 1 < t->ncols; j++)
        if (fs[j] >= t->hstart[j + 1] || (j && fe[j] <= t->hstart[j - 1] + t->col[j - 1].name_len))
            t->aligned = 0;
    /* The last column takes the rest of the row. Starting left of its (left-aligned) header
     * it holds words of an earlier column whose values have spaces (ps -o lstart's
     * "Thu Dec  3 08:58:54 2026"): that column's first word is not its value. */
    if (r->header != SIZE_MAX && k == t->ncols && fs[k - 1] + 1 < t->hstart[k - 1])
        t->aligned = 0;
    for (size_t j = 0; j < k; j++)
        column_add(&t->col[j], s + fs[j], fe[j] - fs[j]);
}

/* Cell c of record i (its fields split into ncols): 1 and *v, *vn when the row has it. */
static int cell(const rows *r, size_t i, size_t ncols, size_t c, const char **v, size_t *vn)
{
    size_t n, fs[MAX_COLS], fe[MAX_COLS];
    const char *s = line_at(r, i, &n);
    if (!is_record(r, i) || split_fields(s, n, ncols, fs, fe) <= c)
        return 0;
    *v = s + fs[c];
    *vn = fe[c] - fs[c];
    return 1;
}

/* The values of one small column and how often each occurs. */
typedef struct small_column {
    size_t n;
    const char *val[OUTLIER_MAX_COL_VALUES];
    size_t len[OUTLIER_MAX_COL_VALUES], tally[OUTLIER_MAX_COL_VALUES];
} small_column;

static size_t value_index(const small_column *sc, const char *v, size_t vn)
{
    size_t k = 0;
    while (k < sc->n && !(sc->len[k] == vn && !memcmp(sc->val[k], v, vn)))
        k++;
    return k;
}

/* Rows whose value in a small column (at most OUTLIER_MAX_COL_VALUES values over all rows)
 * is rare: dpkg's `rc` among `ii`, a `d` among `-` modes. */
static void keep_outlier_rows(rows *r)
{
    table t;
    table_columns(r, &t);
    for (size_t c = 0; c + 1 < t.ncols; c++) {
        small_column sc = {0};
        int small = 1;
        const char *v;
        size_t vn;
        for (size_t i = r->first; i < r->l.n && small; i++) {
            if (!cell(r, i, t.ncols, c, &v, &vn))
                continue;
            size_t k = value_index(&sc, v, vn);
            if (k == sc.n && (small = sc.n < OUTLIER_MAX_COL_VALUES) != 0)
                sc.val[k] = v, sc.len[k] = vn, sc.tally[k] = 0, sc.n++;
            if (small)
                sc.tally[k]++;
        }
        if (!small || sc.n < 2)
            continue;
        for (size_t i = r->first; i < r->l.n; i++) {
            if (!cell(r, i, t.ncols, c, &v, &vn))
                continue;
            size_t k = value_index(&sc, v, vn);
            if (k < sc.n && sc.tally[k] * 100 < r->records && sc.tally[k] <= 3)
                r->keep[i] = 1;
        }
    }
}

/* The first row holding each numeric column's largest value: "which process uses the
 * most CPU", "the biggest file" are asked of ps and ls, and a summary's range alone does
 * not say which row it was. The last column (free text) is no number column. */
static void keep_column_peaks(rows *r)
{
    table t;
    table_columns(r, &t);
    for (size_t c = 0; c + 1 < t.ncols; c++) {
        size_t peak = SIZE_MAX;
        double best = 0, x;
        const char *v;
        size_t vn;
        int numeric = 1, varies = 0;
        for (size_t i = r->first; i < r->l.n && numeric; i++) {
            if (!cell(r, i, t.ncols, c, &v, &vn) || !(numeric = parse_number(v, vn, &x)))
                continue;
            varies |= peak != SIZE_MAX && x != best;
            if (peak == SIZE_MAX || x > best)
                best = x, peak = i;
        }
        if (numeric && varies && peak != SIZE_MAX)
            r->keep[peak] = 1;
    }
}

/* "[1150 rows omitted; owner: root x1150; size: 0..9811552]" for a table's cut rows. */
static int table_summary(const rows *r, hr_buf *out, size_t omitted)
{
    table t;
    table_columns(r, &t);
    for (size_t i = r->first; i < r->l.n; i++)
        if (is_record(r, i) && !r->keep[i])
            table_add_row(r, &t, i);
    int rc = hr_buf_printf(out, "[%zu of %zu rows omitted", omitted, r->records);
    for (size_t c = 0; t.aligned && c + 1 < t.ncols; c++) {
        const column *col = &t.col[c];
        if (col->numeric && col->nvals > COL_VALUES) {
            rc |= hr_buf_printf(out, "; %.*s: %.*s..%.*s", (int)col->name_len, col->name,
                                (int)col->min_n, col->min_s, (int)col->max_n, col->max_s);
        } else if (col->nvals <= COL_VALUES) {
            rc |= hr_buf_printf(out, "; %.*s:", (int)col->name_len, col->name);
            for (size_t v = 0; v < col->nvals; v++)
                rc |= hr_buf_printf(out, "%s %.*s x%zu", v ? "," : "", (int)col->val_len[v],
                                    col->val[v], col->count[v]);
        }
    }
    return rc | hr_buf_puts(out, "]\n");
}

/* ---- writing -------------------------------------------------------------------------- */

/* "[N lines omitted: 310 Unpacking, 305 Setting up]" for lines [a, b) of a progress log. */
/* "[N lines omitted: 120 commits, 14 graph lines]" for lines [a, b) of a commit list. */
static int commits_note(const rows *r, hr_buf *out, size_t a, size_t b)
{
    size_t commits = 0, other = 0;
    for (size_t i = a; i < b; i++) {
        size_t n;
        const char *s = line_at(r, i, &n);
        if (commit_list_line(s, n))
            commits++;
        else if (!hr_line_is_blank(s, n))
            other++;
    }
    int rc = hr_buf_printf(out, "[%zu lines omitted:", b - a);
    if (commits)
        rc |= hr_buf_printf(out, " %zu commit%s%s", commits, commits == 1 ? "" : "s", other ? "," : "");
    if (other)
        rc |= hr_buf_printf(out, " %zu graph line%s", other, other == 1 ? "" : "s");
    return rc | hr_buf_puts(out, "]\n");
}

static int progress_note(const rows *r, hr_buf *out, size_t a, size_t b)
{
    if (r->commits == COMMIT_LIST)
        return commits_note(r, out, a, b);
    uint64_t kinds[NOTE_KINDS];
    size_t count[NOTE_KINDS] = {0}, shown_line[NOTE_KINDS], nk = 0, other = 0, total = 0;
    for (size_t i = a; i < b; i++) {
        total++;
        if (!is_record(r, i))
            continue;
        if (!r->kind[i]) { /* no word to name it by */
            other++;
            continue;
        }
        size_t k = 0;
        while (k < nk && kinds[k] != r->kind[i])
            k++;
        if (k == nk && nk < NOTE_KINDS)
            kinds[nk] = r->kind[i], shown_line[nk++] = i;
        if (k < nk)
            count[k]++;
        else
            other++;
    }
    int rc = hr_buf_printf(out, "[%zu lines omitted:", total);
    for (size_t k = 0; k < nk; k++) {
        size_t n, from, shown;
        const char *s = line_at(r, shown_line[k], &n);
        record_kind(r, s, n, &from, &shown);
        rc |= hr_buf_printf(out, "%s %zu %s%.*s", k ? "," : "", count[k],
                            r->commits == BLAME ? "from " : "", (int)(shown - from), s + from);
    }
    if (other)
        rc |= hr_buf_printf(out, ", %zu other", other);
    return rc | hr_buf_puts(out, "]\n");
}

static int write_rows(rows *r, hr_compress_result *res)
{
    int rc = 0;
    size_t kept = 0, omitted = 0;
    for (size_t i = 0; i < r->l.n;) {
        if (i < r->first || r->keep[i]) {
            rc |= hr_lines_append(&res->out, r->in, &r->l, i++);
            kept++;
            continue;
        }
        size_t e = i, recs = 0;
        while (e < r->l.n && !r->keep[e])
            recs += is_record(r, e++);
        /* Blank lines, or one record (a stat line's bar is longer than its note): kept. */
        if (recs < (r->mode == ROWS_STAT ? 1u : 2u)) {
            while (i < e)
                rc |= hr_lines_append(&res->out, r->in, &r->l, i++), kept++;
            continue;
        }
        size_t mark = res->out.len;
        if (r->mode == ROWS_TABLE)
            rc |= hr_marker_write_note(&res->out, e - i, "rows", 0, 1) != 0 ||
                  hr_buf_putc(&res->out, '\n') != 0;
        else if (r->mode == ROWS_STAT)
            rc |= hr_buf_printf(&res->out, "[%zu more file%s]\n", recs, recs == 1 ? "" : "s");
        else
            rc |= progress_note(r, &res->out, i, e);
        int cut = rc ? -1 : hr_lines_cut_end(&res->out, mark, r->in, &r->l, i, e);
        if (cut < 0)
            return -1;
        if (cut == 1) { /* the note cost as much as the lines: they stand */
            kept += e - i;
            i = e;
            continue;
        }
        for (size_t k = i; k < e; k++)
            omitted += is_record(r, k);
        kept++;
        i = e;
    }
    if (r->mode == ROWS_TABLE && omitted)
        rc |= table_summary(r, &res->out, omitted);
    if (rc)
        return -1;
    return hr_compress_finish(r->in, r->len, res, r->l.n, kept);
}

/* Whether the text has this mode's shape; sets first / header for tables. */
static int rows_shaped(rows *r)
{
    switch (r->mode) {
    case ROWS_TABLE:
        r->first = table_start(r, &r->header);
        if (r->first == SIZE_MAX)
            return 0;
        count_kinds(r); /* the record count */
        return 1;
    case ROWS_PROGRESS:
        if ((r->commits = commits_like(r)) != NO_COMMITS) {
            count_kinds(r); /* the record count; blame: its lines' commits */
            return 1;
        }
        return progress_like(r);
    default:
        if (!hr_rows_is_gitstat(r->in, r->len))
            return 0;
        for (size_t i = 0; i < r->l.n; i++) {
            r->keep[i] = !is_record(r, i); /* commits, messages, summaries stay */
            r->records += !r->keep[i];
        }
        return 1;
    }
}

static int compress_rows(const char *in, size_t len, const hr_compress_opts *opts,
                         hr_compress_result *res, rows_mode mode)
{
    static const hr_compressor_id ids[] = {HR_COMPRESSOR_TABLE, HR_COMPRESSOR_PROGRESS,
                                           HR_COMPRESSOR_GITSTAT};
    hr_compress_name(ids[mode], res);
    rows r;
    int rc = rows_init(&r, in, len);
    r.mode = mode;
    if (rc == 0 && !rows_shaped(&r)) {
        rows_free(&r);
        return 0;
    }
    if (rc == 0)
        rc = keep_relevant(&r, opts);
    if (rc == 0 && mode != ROWS_STAT) {
        if (!r.commits) /* "fail" in a commit message or blamed code reports no failure */
            keep_rare_signals(&r);
        keep_ends(&r);
        if (mode == ROWS_TABLE) {
            keep_outlier_rows(&r);
            keep_column_peaks(&r);
        } else if (!r.commits) { /* a commit list's kinds are its messages' first words */
            keep_rare_kinds(&r);
            keep_stanza_heads(&r);
        }
    }
    if (rc == 0)
        rc = write_rows(&r, res);
    rows_free(&r);
    return hr_compress_end(res, rc);
}

int hr_compress_table(const char *in, size_t len, const hr_compress_opts *opts,
                      hr_compress_result *res)
{
    return compress_rows(in, len, opts, res, ROWS_TABLE);
}

int hr_compress_progress(const char *in, size_t len, const hr_compress_opts *opts,
                         hr_compress_result *res)
{
    return compress_rows(in, len, opts, res, ROWS_PROGRESS);
}

int hr_compress_gitstat(const char *in, size_t len, const hr_compress_opts *opts,
                        hr_compress_result *res)
{
    return compress_rows(in, len, opts, res, ROWS_STAT);
}
