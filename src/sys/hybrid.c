/* hybrid.c: adaptive alpha, the blend and the installed embedder (see hybrid.h). */
#include "sys/hybrid.h"

#include "sys/ascii.h"

#include <stdatomic.h>
#include <stdlib.h>

/* ---- alpha: does the question need exact matching? ----------------------------------- */

/* a regex \w byte (ASCII letters, digits, '_') */
static int is_w(unsigned char c) { return hr_is_alnum(c) || c == '_'; }
static int is_host_byte(unsigned char c) { return hr_is_alnum(c) || c == '-'; }

/* 8-4-4-4-12 hex digits with dashes, anywhere (the original's pattern has no boundaries). */
static int uuid_at(const unsigned char *s, size_t len, size_t i)
{
    static const unsigned char groups[5] = {8, 4, 4, 4, 12};
    for (int g = 0; g < 5; g++) {
        if (g && (i >= len || s[i++] != '-'))
            return 0;
        for (unsigned k = 0; k < groups[g]; k++)
            if (i >= len || !hr_is_xdigit(s[i++]))
                return 0;
    }
    return 1;
}

static int has_uuid(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i + 36 <= len; i++)
        if (uuid_at(s, len, i))
            return 1;
    return 0;
}

/* Numeric ids: \b\d{4,}\b, i.e. \w runs made only of digits, at least 4 long. */
static unsigned numeric_ids(const unsigned char *s, size_t len)
{
    unsigned n = 0;
    for (size_t i = 0; i < len;) {
        if (!is_w(s[i])) {
            i++;
            continue;
        }
        size_t b = i;
        int digits = 1;
        for (; i < len && is_w(s[i]); i++)
            digits &= hr_is_digit(s[i]);
        n += digits && i - b >= 4;
    }
    return n;
}

/* The original's hostname pattern \b[alnum][-alnum]*\.[alnum][-alnum]*...\b around one dot:
 * a word boundary before an alphanumeric start on the left, one after the right part.
 * (Its e-mail pattern needs such a domain too, so it adds nothing here.) */
static int host_dot(const unsigned char *s, size_t len, size_t dot)
{
    if (dot == 0 || dot + 1 >= len || !is_host_byte(s[dot - 1]) || !hr_is_alnum(s[dot + 1]))
        return 0;
    size_t r = dot;
    while (r > 0 && is_host_byte(s[r - 1]))
        r--;
    int left = 0;
    for (size_t k = r; k < dot && !left; k++)
        left = hr_is_alnum(s[k]) && (k == 0 ? 1 : k == r ? !is_w(s[k - 1]) : s[k - 1] == '-');
    if (!left)
        return 0;
    size_t e = dot + 1;
    while (e < len && is_host_byte(s[e]))
        e++;
    for (size_t p = dot + 2; p <= e; p++)
        if (is_w(s[p - 1]) != (p < len && is_w(s[p])))
            return 1;
    return 0;
}

static int has_host(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == '.' && host_dot(s, len, i))
            return 1;
    return 0;
}

double hr_hybrid_alpha(const char *q, size_t len)
{
    double a = HR_HYBRID_ALPHA_BASE;
    const unsigned char *s = (const unsigned char *)q;
    if (!q || !len)
        return a;
    unsigned ids = numeric_ids(s, len);
    double want = has_uuid(s, len) ? 0.85 : ids >= 2 ? 0.75 : ids == 1 ? 0.65 : has_host(s, len) ? 0.6 : a;
    a = want > a ? want : a;
    return a < HR_HYBRID_ALPHA_MIN ? HR_HYBRID_ALPHA_MIN : a > HR_HYBRID_ALPHA_MAX ? HR_HYBRID_ALPHA_MAX : a;
}

double hr_hybrid_blend(double alpha, double bm25, double cosine)
{
    double lex = bm25 / HR_HYBRID_BM25_SCALE;
    lex = lex > 1 ? 1 : lex < 0 ? 0 : lex;
    double sem = cosine > 1 ? 1 : cosine < 0 ? 0 : cosine;
    return alpha * lex + (1 - alpha) * sem;
}

/* ---- the installed embedder ----------------------------------------------------------- */

static hr_hybrid_scorer g_scorer;
static _Atomic(const hr_hybrid_scorer *) g_installed;

void hr_hybrid_install(const hr_hybrid_scorer *s)
{
    if (!s || !s->fn) {
        atomic_store(&g_installed, NULL);
        return;
    }
    g_scorer = *s;
    if (!g_scorer.max_items)
        g_scorer.max_items = 1;
    atomic_store(&g_installed, &g_scorer);
}

int hr_hybrid_installed(void) { return atomic_load(&g_installed) != NULL; }

typedef struct ranked {
    double score;
    size_t index;
} ranked;

static int by_lexical(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->index < y->index ? -1 : (x->index > y->index);
}

int hr_hybrid_rescore(const char *q, size_t qlen, const hr_hybrid_doc *docs, size_t n,
                      double *score)
{
    const hr_hybrid_scorer *sc = atomic_load(&g_installed);
    if (!sc || !q || !qlen || !n)
        return 0;
    size_t m = n < sc->max_items ? n : sc->max_items;
    ranked *order = malloc(n * sizeof *order);
    hr_hybrid_doc *pick = malloc(m * sizeof *pick);
    float *cos = malloc(m * sizeof *cos);
    int done = 0;
    if (order && pick && cos) {
        for (size_t i = 0; i < n; i++)
            order[i] = (ranked){score[i], i};
        qsort(order, n, sizeof *order, by_lexical);
        for (size_t k = 0; k < m; k++)
            pick[k] = docs[order[k].index];
        done = sc->fn(sc->ctx, q, qlen, pick, m, cos) == 0;
    }
    if (done) {
        double alpha = hr_hybrid_alpha(q, qlen);
        for (size_t i = 0; i < n; i++)
            score[i] = hr_hybrid_blend(alpha, score[i], 0);
        for (size_t k = 0; k < m; k++)
            score[order[k].index] = hr_hybrid_blend(alpha, order[k].score, cos[k]);
    }
    free(order);
    free(pick);
    free(cos);
    return done;
}
