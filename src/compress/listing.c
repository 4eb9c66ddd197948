/* listing.c: the file-listing compressor (see listing.h).
 *
 * Three passes: parse (each line becomes an entry with its directory, or a line kept as
 * is; tree(1) paths are rebuilt from the branch depth, ls -R from the last "dir:" header),
 * choose (relevant and error-ish names, the top of the tree), write (kept lines verbatim in
 * order, one note per collapsed directory group where its first omitted line was). The
 * directory strings are built in one side buffer owned by the parse state; nothing here
 * outlives the call.
 */
#include "compress/listing.h"

#include "compress/compressors.h"
#include "compress/text.h"
#include "sys/ascii.h"
#include "sys/relevance.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    LISTING_MIN_LINES = 30,    /* shorter listings pass */
    LISTING_MAX_RELEVANT = 40, /* query-matching paths kept, best first */
    LISTING_MAX_GROUPS = 40,   /* collapsed-directory notes before grouping coarser */
    TREE_MAX_DEPTH = 64,
    TREE_INFO_MAX = 64,        /* longest "[perms user group size date]" before a tree name */
    TOP_TREE_DIR_DEPTH = 2,    /* tree directory entries kept down to this depth */
    MAX_EXTS = 4,              /* extensions named in a note */
    EXT_SLOTS = 64,            /* distinct extensions counted per group */
    EXT_TABLES_MAX = 256,      /* groups whose extension tables are filled in one pass */
    PREFIX_MAX_FIELDS = 4,     /* du / find -printf / wc -l: fields before the path */
    PREFIX_HEX_MIN = 32,       /* sha256sum / md5sum: a digest before the path */
    NUMBERED_ENDS = 3,         /* numbered listings keep this many first and last entries */
};

enum { E_KEEP = 0, E_FILE, E_DIR };

typedef struct entry {
    unsigned char kind;
    unsigned char keep;
    size_t dir_off, dir_len;   /* in the side buffer: "a/b" without a trailing '/' */
    size_t name_off, name_len; /* in the input: the last path component */
    size_t group;
} entry;

typedef struct listing {
    const char *in;
    hr_lines l;
    entry *e;
    hr_buf dirs;  /* owned: every entry's directory */
    int ls_r;     /* ls -R: every directory has its own header line */
    int numbered; /* entries carry numbers before the path (du, find -printf): often sorted */
} listing;

static int is_word(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* "├── ", "└── " (a branch) or "│   ", "    " (an indent): UTF-8 box drawing, and the
 * ASCII forms of tree --charset=ascii ("|-- ", "`-- ", "|   "). Bytes consumed, 0 none. */
static size_t tree_branch(const char *s, size_t n)
{
    static const char *const b[] = {"\xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 ",
                                    "\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 ", "|-- ", "`-- ", NULL};
    for (const char *const *p = b; *p; p++) {
        size_t k = strlen(*p);
        if (n >= k && memcmp(s, *p, k) == 0)
            return k;
    }
    return 0;
}

static size_t tree_indent(const char *s, size_t n)
{
    static const char *const b[] = {"\xe2\x94\x82\xc2\xa0\xc2\xa0 ", "\xe2\x94\x82   ", "|   ", "    ",
                                    NULL};
    for (const char *const *p = b; *p; p++) {
        size_t k = strlen(*p);
        if (n >= k && memcmp(s, *p, k) == 0)
            return k;
    }
    return 0;
}

/* The file info tree -s / -h / -p / -u / -D prints before a name, "[4.0K]  " or
 * "[-rw-r--r-- root  35K]  ": bytes consumed, 0 none. It is no part of the path. */
static size_t tree_info(const char *s, size_t n)
{
    if (n < 4 || s[0] != '[')
        return 0;
    for (size_t i = 1; i + 2 < n && i < TREE_INFO_MAX; i++)
        if (s[i] == ']')
            return s[i + 1] == ' ' && s[i + 2] == ' ' && i + 3 < n ? i + 3 : 0;
    return 0;
}

/* Depth of a tree line (1 = child of the root) and where its name starts; 0 if none. */
static unsigned tree_line(const char *s, size_t n, size_t *name)
{
    size_t i = 0, k;
    unsigned depth = 0;
    while ((k = tree_indent(s + i, n - i)) != 0 && depth < TREE_MAX_DEPTH)
        i += k, depth++;
    if ((k = tree_branch(s + i, n - i)) == 0 || i + k >= n)
        return 0;
    *name = i + k + tree_info(s + i + k, n - i - k);
    return depth + 1;
}

static int plain_path(const char *s, size_t n)
{
    if (n == 0 || n > 4096 || s[0] == '-' || s[0] == '[' || s[0] == '#')
        return 0;
    int sep = 0, ext = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == ':' || c < 0x20 || c == '"' || c == '=' || c == ',' ||
            c == '(' || c == ';' || c == '{' || c == '}')
            return 0;
        sep |= c == '/';
        if (c == '.' && i + 1 < n && i > 0 && s[i - 1] != '/' && s[i - 1] != '.' &&
            is_word((unsigned char)s[i + 1]))
            ext = 1;
    }
    return sep || ext;
}

/* One field before a path: a number-ish token (size "4.0K", count, date, time) or a
 * digest. */
static int prefix_field(const char *s, size_t n)
{
    if (n && s[0] >= '0' && s[0] <= '9')
        return 1;
    size_t k = 0;
    while (k < n && hr_is_xdigit((unsigned char)s[k]))
        k++;
    return k == n && n >= PREFIX_HEX_MIN;
}

/* "263M\t/usr/lib/fpc" (du), "99408\t2023-02-20\t/usr/share/doc/x/changelog.gz"
 * (find -printf), "  42 src/a.c" (wc -l), "<sha256>  ./pkg.tar" (sha256sum): up to
 * PREFIX_MAX_FIELDS number-ish fields, then a path holding a '/'. Returns where the path
 * starts, 0 when the line is not one. */
static size_t prefixed_path(const char *s, size_t n)
{
    size_t i = 0, fields = 0;
    while (i < n && fields <= PREFIX_MAX_FIELDS) {
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        size_t a = i;
        while (i < n && s[i] != ' ' && s[i] != '\t')
            i++;
        if (i >= n) /* the last field: the path */
            return fields && plain_path(s + a, n - a) && memchr(s + a, '/', n - a) ? a : 0;
        if (!prefix_field(s + a, i - a))
            return 0;
        fields++;
    }
    return 0;
}

/* "./src/ui:" (ls -R header). */
static int ls_header(const char *s, size_t n)
{
    return n >= 2 && s[n - 1] == ':' && (plain_path(s, n - 1) || (n == 2 && s[0] == '.'));
}

int hr_listing_line(const char *s, size_t n)
{
    size_t name;
    return plain_path(s, n) || tree_line(s, n, &name) || ls_header(s, n) || prefixed_path(s, n);
}

/* ---- parse -------------------------------------------------------------------------- */

static const char *strip_dot_slash(const char *s, size_t *n)
{
    while (*n >= 2 && s[0] == '.' && s[1] == '/')
        s += 2, *n -= 2;
    return s;
}

/* Entry for path s[0..n) (a plain listing line or a rebuilt tree path in scratch). */
static int set_path(listing *L, entry *e, const char *s, size_t n, size_t name_in_input,
                    size_t name_len)
{
    const char *slash = NULL;
    for (size_t i = n; i-- > 0;)
        if (s[i] == '/') {
            slash = s + i;
            break;
        }
    e->dir_off = L->dirs.len;
    e->dir_len = slash ? (size_t)(slash - s) : 0;
    e->name_off = name_in_input;
    e->name_len = name_len;
    return e->dir_len ? hr_buf_append(&L->dirs, s, e->dir_len) : 0;
}

static int parse_plain(listing *L, size_t i, const char *s, size_t n)
{
    entry *e = &L->e[i];
    size_t m = n;
    const char *p = strip_dot_slash(s, &m);
    while (m && p[m - 1] == '/') /* "dir/" as listed by some tools: a directory */
        m--, e->kind = E_DIR;
    if (e->kind != E_DIR)
        e->kind = E_FILE;
    size_t name = m;
    while (name && p[name - 1] != '/')
        name--;
    return set_path(L, e, p, m, (size_t)(p + name - L->in), m - name);
}

typedef struct tree_state {
    size_t off[TREE_MAX_DEPTH + 1], len[TREE_MAX_DEPTH + 1]; /* names on the path, in input */
    hr_buf scratch;
} tree_state;

static int parse_tree(listing *L, tree_state *t, size_t i, const char *s, size_t n,
                      unsigned depth, size_t name)
{
    entry *e = &L->e[i];
    t->off[depth] = (size_t)(s + name - L->in);
    t->len[depth] = n - name;
    hr_buf_reset(&t->scratch);
    for (unsigned d = 1; d <= depth; d++)
        if ((d > 1 && hr_buf_putc(&t->scratch, '/') != 0) ||
            hr_buf_append(&t->scratch, L->in + t->off[d], t->len[d]) != 0)
            return -1;
    size_t nn;
    unsigned next = 0;
    if (i + 1 < L->l.n)
        next = tree_line(L->in + L->l.start[i + 1], hr_line_len(L->in, &L->l, i + 1), &nn);
    e->kind = next > depth ? E_DIR : E_FILE;
    if (e->kind == E_DIR && depth <= TOP_TREE_DIR_DEPTH)
        e->kind = E_KEEP;
    return set_path(L, e, t->scratch.data, t->scratch.len, t->off[depth], t->len[depth]);
}

static int parse(listing *L)
{
    tree_state t;
    memset(&t, 0, sizeof t);
    size_t cur_off = 0, cur_len = 0; /* ls -R: the current directory, in the input */
    int rc = 0;
    for (size_t i = 0; i < L->l.n && rc == 0; i++) {
        const char *s = L->in + L->l.start[i];
        size_t n = hr_line_len(L->in, &L->l, i), name;
        entry *e = &L->e[i];
        e->kind = E_KEEP;
        unsigned depth = tree_line(s, n, &name);
        if (depth) {
            rc = parse_tree(L, &t, i, s, n, depth, name);
        } else if (ls_header(s, n)) {
            L->ls_r = 1;
            size_t m = n - 1;
            const char *p = strip_dot_slash(s, &m);
            cur_off = (size_t)(p - L->in);
            cur_len = m == 1 && p[0] == '.' ? 0 : m;
        } else if (!cur_len && (name = prefixed_path(s, n)) != 0) {
            L->numbered = 1;
            rc = parse_plain(L, i, s + name, n - name);
        } else if (plain_path(s, n) || (cur_len && n && !memchr(s, ' ', n) && !memchr(s, ':', n))) {
            if (cur_len && !memchr(s, '/', n)) { /* ls -R: a name in the current directory */
                e->kind = E_FILE;
                e->dir_off = L->dirs.len;
                e->dir_len = cur_len;
                e->name_off = (size_t)(s - L->in);
                e->name_len = n;
                rc = hr_buf_append(&L->dirs, L->in + cur_off, cur_len);
            } else {
                rc = parse_plain(L, i, s, n);
            }
        }
    }
    hr_buf_free(&t.scratch);
    return rc;
}

/* ---- choose ------------------------------------------------------------------------- */

/* w in s: paths are short, where glibc's memmem spends more on set-up than on search. */
static int holds(const char *s, size_t n, const char *w, size_t m)
{
    if (m == 0 || m > n)
        return m == 0;
    for (const char *p = s, *e = s + n - m + 1; (p = memchr(p, w[0], (size_t)(e - p))) != NULL; p++)
        if (memcmp(p, w, m) == 0)
            return 1;
    return 0;
}

static int errorish(const char *lowered, size_t n)
{
    static const char *const w[] = {"error", "fail", "crash", "panic", "exception", "fatal",
                                    "traceback", "hs_err", ".rej", ".orig", NULL};
    for (const char *const *p = w; *p; p++)
        if (holds(lowered, n, *p, strlen(*p)))
            return 1;
    return 0;
}

/* Relevance of the paths to the question, through sys/relevance: BM25 over the words of
 * each path (directory and name), plus NAMED_BONUS when the question names the file itself
 * ("messages.ts"): that file, not its siblings in other directories, is the one asked for. */
#define NAMED_BONUS 100.0

/* 1 if the question (lowercased) names the file itself: "messages.ts". */
static int named(const hr_buf *question, const char *lowered_name, size_t n)
{
    return n >= 4 && memchr(lowered_name, '.', n) && holds(question->data, question->len, lowered_name, n);
}

/* "dir/name" of an entry, lowercased into scratch (reset first). */
static int lowered_path(const listing *L, const entry *e, hr_buf *scratch)
{
    hr_buf_reset(scratch);
    if (hr_buf_reserve(scratch, e->dir_len + 1 + e->name_len) != 0)
        return -1;
    const char *parts[2] = {L->dirs.data + e->dir_off, L->in + e->name_off};
    size_t lens[2] = {e->dir_len, e->name_len};
    for (int p = 0; p < 2; p++) {
        for (size_t k = 0; k < lens[p]; k++)
            scratch->data[scratch->len++] = (char)hr_to_lower((unsigned char)parts[p][k]);
        if (p == 0)
            scratch->data[scratch->len++] = '/';
    }
    return 0;
}

/* du | sort -h, wc -l | sort -n: a listing with numbers is often sorted by them, so its
 * first and last entries are the extremes asked about ("the biggest directory"), and du's
 * last line is the total. */
static void keep_numbered_ends(listing *L)
{
    for (int end = 0; end < 2; end++)
        for (size_t k = 0, seen = 0; k < L->l.n && seen < NUMBERED_ENDS; k++) {
            entry *e = &L->e[end ? L->l.n - 1 - k : k];
            if (e->kind != E_KEEP) {
                e->keep = 1;
                seen++;
            }
        }
}

/* Keeps error-ish names (while rare), the top level, lines that are not entries, and the
 * LISTING_MAX_RELEVANT paths that best match the question: BM25 over the words of each
 * path (sys/relevance, one pass) plus NAMED_BONUS when the question names the file
 * itself: that file, not its namesakes in other directories, is the one asked for. */
static int choose(listing *L, const hr_compress_opts *o)
{
    hr_rel_terms q;
    const char *qt = o ? o->query : NULL;
    size_t qn = qt ? o->query_len : 0;
    hr_rel_terms_parse(&q, qt, qn);
    hr_buf question = HR_BUF_INIT, path = HR_BUF_INIT;
    int rc = hr_buf_reserve(&question, qn + 1);
    for (size_t i = 0; rc == 0 && i < qn; i++)
        question.data[question.len++] = (char)hr_to_lower((unsigned char)qt[i]);
    hr_rel_docs d = {0};
    size_t entries = 0, errorish_n = 0;
    for (size_t i = 0; rc == 0 && i < L->l.n; i++) {
        entry *e = &L->e[i];
        if (e->kind == E_KEEP || e->dir_len == 0 || (rc = lowered_path(L, e, &path)) != 0)
            continue;
        entries++;
        e->keep = (unsigned char)errorish(path.data, path.len); /* a candidate; rarity decides */
        errorish_n += e->keep;
        int nm = named(&question, path.data + path.len - e->name_len, e->name_len);
        rc = hr_rel_docs_add(&d, &q, i, path.data, path.len, nm ? NAMED_BONUS : 0);
    }
    /* Error-ish names are a signal only where they are rare (a package's errors.js, .d.ts,
     * .map ... in every directory of node_modules say nothing). */
    int errorish_rare = hr_rel_is_rare(errorish_n, entries);
    for (size_t i = 0; rc == 0 && i < L->l.n; i++) {
        entry *e = &L->e[i];
        e->keep = (unsigned char)(e->kind == E_KEEP || e->dir_len == 0 || (errorish_rare && e->keep));
    }
    if (rc == 0) {
        hr_rel_docs_rank(&d, &q, 1);
        for (size_t k = 0, kept = 0; k < d.n && kept < LISTING_MAX_RELEVANT; k++)
            if (d.v[k].score > 0 && !L->e[d.v[k].id].keep) {
                L->e[d.v[k].id].keep = 1;
                kept++;
            }
    }
    hr_rel_docs_free(&d);
    hr_buf_free(&path);
    hr_buf_free(&question);
    if (rc == 0 && L->numbered)
        keep_numbered_ends(L);
    return rc;
}

/* ---- groups ------------------------------------------------------------------------- */

/* Length of the first `depth` components of dir. */
static size_t dir_prefix(const char *d, size_t n, unsigned depth)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] == '/' && --depth == 0)
            return i;
    return n;
}

typedef struct groups {
    size_t *key_off, *key_len; /* into dirs */
    size_t *files, *dirs, *first, *last;
    size_t *next; /* per line: the next omitted line of the same group (SIZE_MAX: none) */
    size_t n, cap;
    int64_t *table;
    size_t tcap;
} groups;

static void groups_free(groups *g)
{
    free(g->key_off);
    free(g->key_len);
    free(g->files);
    free(g->dirs);
    free(g->first);
    free(g->last);
    free(g->next);
    free(g->table);
    memset(g, 0, sizeof *g);
}

/* Assigns every omitted entry the group of its directory cut to `depth` components.
 * Returns the number of groups, or SIZE_MAX on allocation failure. */
static size_t group_at(listing *L, groups *g, unsigned depth)
{
    groups_free(g);
    g->tcap = 64;
    while (g->tcap < 2 * L->l.n)
        g->tcap *= 2;
    g->cap = L->l.n ? L->l.n : 1;
    g->table = malloc(g->tcap * sizeof *g->table);
    g->key_off = malloc(g->cap * sizeof(size_t));
    g->key_len = malloc(g->cap * sizeof(size_t));
    g->files = calloc(g->cap, sizeof(size_t));
    g->dirs = calloc(g->cap, sizeof(size_t));
    g->first = malloc(g->cap * sizeof(size_t));
    g->last = malloc(g->cap * sizeof(size_t));
    g->next = malloc(g->cap * sizeof(size_t));
    if (!g->table || !g->key_off || !g->key_len || !g->files || !g->dirs || !g->first ||
        !g->last || !g->next)
        return SIZE_MAX;
    memset(g->table, 0xff, g->tcap * sizeof *g->table);
    for (size_t i = 0; i < L->l.n; i++) {
        entry *e = &L->e[i];
        if (e->keep)
            continue;
        const char *d = L->dirs.data + e->dir_off;
        size_t n = dir_prefix(d, e->dir_len, depth);
        size_t slot = (size_t)hr_hash64(d, n) & (g->tcap - 1);
        while (g->table[slot] >= 0) {
            size_t k = (size_t)g->table[slot];
            if (g->key_len[k] == n && memcmp(L->dirs.data + g->key_off[k], d, n) == 0)
                break;
            slot = (slot + 1) & (g->tcap - 1);
        }
        if (g->table[slot] < 0) {
            g->table[slot] = (int64_t)g->n;
            g->key_off[g->n] = e->dir_off;
            g->key_len[g->n] = n;
            g->first[g->n] = i;
            g->last[g->n] = i;
            g->n++;
        }
        e->group = (size_t)g->table[slot];
        g->next[i] = SIZE_MAX;
        if (g->last[e->group] != i)
            g->next[g->last[e->group]] = i;
        g->last[e->group] = i;
        if (e->kind == E_DIR)
            g->dirs[e->group]++;
        else
            g->files[e->group]++;
    }
    return g->n;
}

static unsigned max_dir_depth(const listing *L)
{
    unsigned best = 1;
    for (size_t i = 0; i < L->l.n; i++) {
        const entry *e = &L->e[i];
        if (e->keep || !e->dir_len)
            continue;
        unsigned d = 1;
        for (size_t k = 0; k < e->dir_len; k++)
            d += L->dirs.data[e->dir_off + k] == '/';
        best = d > best ? d : best;
    }
    return best;
}

/* ---- write -------------------------------------------------------------------------- */

typedef struct ext_count {
    const char *s;
    size_t n, count;
} ext_count;

static void name_ext(const char *s, size_t n, const char **ext, size_t *len)
{
    *ext = NULL;
    *len = 0;
    for (size_t i = n; i-- > 1;)
        if (s[i] == '.') {
            if (n - i <= 12 && s[i - 1] != '.') {
                *ext = s + i;
                *len = n - i;
            }
            return;
        }
}

/* Distinct extensions of one group; past EXT_SLOTS they count as "other". */
typedef struct ext_table {
    ext_count v[EXT_SLOTS];
    size_t n, overflow;
} ext_table;

static void ext_add(ext_table *t, const char *name, size_t len)
{
    const char *x;
    size_t xl;
    name_ext(name, len, &x, &xl);
    size_t j = 0;
    while (j < t->n && !(t->v[j].n == xl && (xl == 0 || memcmp(t->v[j].s, x, xl) == 0)))
        j++;
    if (j == t->n) {
        if (t->n == EXT_SLOTS) {
            t->overflow++;
            return;
        }
        t->v[t->n++] = (ext_count){x, xl, 0};
    }
    t->v[j].count++;
}

static void ext_table_of_group(const listing *L, const groups *g, size_t k, ext_table *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = g->first[k]; i != SIZE_MAX; i = g->next[i])
        if (L->e[i].kind == E_FILE)
            ext_add(t, L->in + L->e[i].name_off, L->e[i].name_len);
}

/* "[dir/ (3 dirs, 214 files: 180 .tsx, 30 .css, 4 other)]" for group k; t is consumed. */
static int write_note(const listing *L, const groups *g, size_t k, ext_table *t, hr_buf *out)
{
    ext_count top[MAX_EXTS];
    size_t ntop = 0, others = t->overflow;
    for (size_t pick = 0; pick < MAX_EXTS; pick++) { /* ties: first seen wins */
        size_t best = SIZE_MAX;
        for (size_t j = 0; j < t->n; j++)
            if (t->v[j].count && (best == SIZE_MAX || t->v[j].count > t->v[best].count))
                best = j;
        if (best == SIZE_MAX)
            break;
        top[ntop++] = t->v[best];
        t->v[best].count = 0;
    }
    for (size_t j = 0; j < t->n; j++)
        others += t->v[j].count;
    size_t klen = g->key_len[k];
    /* ls -R: the note follows its own directory's header, which already names it */
    int rc = L->ls_r ? hr_buf_puts(out, "[")
                     : hr_buf_printf(out, "[%.*s%s (", (int)klen, L->dirs.data + g->key_off[k],
                                     klen ? "/" : "./");
    if (rc == 0 && g->dirs[k])
        rc = hr_buf_printf(out, "%zu dir%s%s", g->dirs[k], g->dirs[k] == 1 ? "" : "s",
                           g->files[k] ? ", " : "");
    /* du lists directories, find -printf both: a numbered entry is no known file */
    const char *what = L->numbered ? (g->files[k] == 1 ? "entry" : "entries")
                                   : (g->files[k] == 1 ? "file" : "files");
    if (rc == 0 && g->files[k])
        rc = hr_buf_printf(out, "%zu %s", g->files[k], what);
    for (size_t j = 0; rc == 0 && j < ntop; j++)
        rc = hr_buf_printf(out, "%s%zu %.*s", j ? ", " : ": ", top[j].count,
                           top[j].n ? (int)top[j].n : 7, top[j].n ? top[j].s : "no ext.");
    if (rc == 0 && others)
        rc = hr_buf_printf(out, ", %zu other", others);
    return rc == 0 ? hr_buf_puts(out, L->ls_r ? "]\n" : ")]\n") : -1;
}

/* Kept lines and notes in input order. With few groups the extension tables are filled in
 * one sequential pass (walking each group's chain reads the entries out of order, a third
 * of the time on a 200,000-path listing); with many, per note from the group's chain. */
static int write_out(const listing *L, const groups *g, hr_buf *out, size_t *lines_out)
{
    ext_table *tables = g->n <= EXT_TABLES_MAX ? calloc(g->n ? g->n : 1, sizeof *tables) : NULL;
    if (tables)
        for (size_t i = 0; i < L->l.n; i++) {
            const entry *e = &L->e[i];
            if (!e->keep && e->kind == E_FILE)
                ext_add(&tables[e->group], L->in + e->name_off, e->name_len);
        }
    ext_table one;
    int rc = 0;
    *lines_out = 0;
    for (size_t i = 0; i < L->l.n && rc == 0; i++) {
        const entry *e = &L->e[i];
        if (e->keep) {
            rc = hr_lines_append(out, L->in, &L->l, i);
        } else if (g->first[e->group] == i && g->files[e->group] + g->dirs[e->group] == 1) {
            rc = hr_lines_append(out, L->in, &L->l, i); /* a note would be no shorter */
        } else if (g->first[e->group] == i) {
            ext_table *t = tables ? &tables[e->group] : &one;
            if (!tables)
                ext_table_of_group(L, g, e->group, &one);
            rc = write_note(L, g, e->group, t, out);
        } else {
            continue;
        }
        (*lines_out)++;
    }
    free(tables);
    return rc;
}

/* ---- entry point -------------------------------------------------------------------- */

static int listing_shaped(const listing *L)
{
    size_t entries = 0, nonblank = 0;
    for (size_t i = 0; i < L->l.n; i++) {
        size_t n = hr_line_len(L->in, &L->l, i);
        if (hr_line_is_blank(L->in + L->l.start[i], n))
            continue;
        nonblank++;
        entries += L->e[i].kind != E_KEEP || hr_listing_line(L->in + L->l.start[i], n);
    }
    return nonblank >= LISTING_MIN_LINES && entries * 10 >= nonblank * 8;
}

int hr_compress_listing(const char *in, size_t len, const hr_compress_opts *opts,
                        hr_compress_result *res)
{
    if (!hr_compress_begin(HR_COMPRESSOR_LISTING, in, len, opts, NULL, res) || memchr(in, '\0', len))
        return 0;
    listing L;
    memset(&L, 0, sizeof L);
    L.in = in;
    groups g;
    memset(&g, 0, sizeof g);
    int rc = hr_lines_split(in, len, &L.l);
    if (rc == 0 && !(L.e = calloc(L.l.n ? L.l.n : 1, sizeof *L.e)))
        rc = -1;
    if (rc == 0)
        rc = parse(&L);
    if (rc == 0 && listing_shaped(&L)) {
        rc = choose(&L, opts);
        unsigned depth = rc == 0 ? max_dir_depth(&L) : 1;
        size_t ng = 0;
        while (rc == 0) {
            ng = group_at(&L, &g, depth);
            if (ng == SIZE_MAX)
                rc = -1;
            else if (ng <= LISTING_MAX_GROUPS || depth <= 1 || L.ls_r) /* ls -R: per header */
                break;
            else
                depth--;
        }
        size_t lines_out = 0;
        if (rc == 0 && ng > 0)
            rc = write_out(&L, &g, &res->out, &lines_out);
        if (rc == 0 && ng > 0)
            rc = hr_compress_finish(in, len, res, L.l.n, lines_out);
    }
    groups_free(&g);
    free(L.e);
    hr_buf_free(&L.dirs);
    hr_lines_free(&L.l);
    return hr_compress_end(res, rc);
}
