/* relevance.c: words, stopwords, term matching, BM25 and the rarity rule (see
 * relevance.h). Pure functions over caller memory: no allocation, no global state. */
#include "sys/relevance.h"

#include "sys/ascii.h"
#include "sys/vec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int hr_rel_is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

int hr_rel_next_word(const char *s, size_t len, size_t *pos, size_t *start, size_t *wlen)
{
    size_t i = *pos;
    while (i < len && !hr_rel_is_word_byte((unsigned char)s[i]))
        i++;
    if (i >= len) {
        *pos = len;
        return 0;
    }
    size_t b = i;
    while (i < len && hr_rel_is_word_byte((unsigned char)s[i]))
        i++;
    *start = b;
    *wlen = i - b;
    *pos = i;
    return 1;
}

uint64_t hr_rel_hash(const char *w, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= hr_to_lower((unsigned char)w[i]);
        h *= 1099511628211ULL;
    }
    return h;
}

static int ci_equal_lower(const char *w, const char *lowered, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hr_to_lower((unsigned char)w[i]) != (unsigned char)lowered[i])
            return 0;
    return 1;
}

/* Words that say how a question is asked, not what it is about. Agents' questions start
 * with the verbs at the end ("find the handler", "show me all files that ..."). Domain
 * words that look common (error, test, config, out) are deliberately absent: they are what
 * questions are about, and BM25's idf already discounts words every item holds. */
static const char *const STOPWORDS[] = {
    "a",     "an",    "the",   "and",    "or",     "but",   "if",    "then",  "than",
    "so",    "as",    "of",    "in",     "on",     "at",    "to",    "for",   "from",
    "with",  "by",    "into",  "onto",   "about",  "is",    "are",   "was",   "were",
    "be",    "been",  "am",    "do",     "does",   "did",   "has",   "have",  "had",
    "it",    "its",   "this",  "that",   "these",  "those", "there", "here",  "what",
    "which", "who",   "whom",  "whose",  "where",  "when",  "why",   "how",   "can",
    "could", "should", "would", "will",  "may",    "might", "must",  "me",    "my",
    "we",    "us",    "our",   "you",    "your",   "they",  "them",  "their", "not",
    "please", "find", "show",  "list",   "all",    "any",   "some",  "each",  "every",
    "get",   "see",   "look",  "tell",   "give",   "use",   "used",  "using", "file",
    "files", "just",  "also",  "only",   "very",   "more",  "most",  "via",   NULL};

int hr_rel_is_stopword(const char *w, size_t n)
{
    for (const char *const *s = STOPWORDS; *s; s++)
        if (strlen(*s) == n && ci_equal_lower(w, *s, n))
            return 1;
    return 0;
}

int hr_rel_terms_index(const hr_rel_terms *q, uint64_t h)
{
    for (size_t i = 0; i < q->n; i++)
        if (q->t[i].hash == h)
            return (int)i;
    return -1;
}

void hr_rel_terms_parse(hr_rel_terms *q, const char *text, size_t len)
{
    memset(q, 0, sizeof *q);
    size_t pos = 0, b, n;
    while (text && q->n < HR_REL_MAX_TERMS && hr_rel_next_word(text, len, &pos, &b, &n)) {
        const char *w = text + b;
        if (n < HR_REL_MIN_TERM || n >= HR_REL_TERM_MAX || hr_rel_is_stopword(w, n))
            continue;
        uint64_t h = hr_rel_hash(w, n);
        if (hr_rel_terms_index(q, h) >= 0)
            continue;
        hr_rel_term *t = &q->t[q->n++];
        t->hash = h;
        t->len = (uint8_t)n;
        for (size_t i = 0; i < n; i++)
            t->text[i] = (char)hr_to_lower((unsigned char)w[i]);
        t->text[n] = '\0';
    }
}

#define MAX_PARTS 8 /* CamelCase parts of one word looked at (longer words: the first 8) */

/* Offsets where CamelCase parts of w start: 0, and every upper-case letter after a
 * lower-case one. Computed once per word, then shared by all terms. */
static unsigned part_starts(const char *w, size_t n, size_t *at)
{
    unsigned k = 0;
    at[k++] = 0;
    for (size_t i = 1; i < n && k < MAX_PARTS; i++)
        if (w[i] >= 'A' && w[i] <= 'Z' && w[i - 1] >= 'a' && w[i - 1] <= 'z')
            at[k++] = i;
    return k;
}

/* A word and its CamelCase part starts, computed once and shared by all terms. */
typedef struct word_parts {
    const char *w;
    size_t n;
    size_t at[MAX_PARTS];
    unsigned parts;
} word_parts;

static void word_parts_of(word_parts *wp, const char *w, size_t n)
{
    wp->w = w;
    wp->n = n;
    wp->parts = part_starts(w, n, wp->at);
}

/* Exact, or a prefix of the word or of one of its CamelCase parts (terms of
 * HR_REL_PREFIX_MIN+ bytes). */
static int text_matches(const char *t, size_t tlen, const word_parts *wp)
{
    if (wp->n == tlen)
        return ci_equal_lower(wp->w, t, tlen);
    if (tlen < HR_REL_PREFIX_MIN || wp->n < tlen)
        return 0;
    for (unsigned p = 0; p < wp->parts && wp->at[p] + tlen <= wp->n; p++)
        if (ci_equal_lower(wp->w + wp->at[p], t, tlen))
            return 1;
    return 0;
}

/* "lib" + a name of HR_REL_PREFIX_MIN+ letters, not "library"/"libre...": the name. */
static size_t lib_prefix(const char *w, size_t n)
{
    if (n < 3 + HR_REL_PREFIX_MIN || hr_to_lower((unsigned char)w[0]) != 'l' ||
        hr_to_lower((unsigned char)w[1]) != 'i' || hr_to_lower((unsigned char)w[2]) != 'b' ||
        hr_to_lower((unsigned char)w[3]) == 'r')
        return 0;
    return 3;
}

/* Library names match with or without their "lib": "hiredis" finds the package
 * "libhiredis-dev", "libmicrohttpd" finds the header "microhttpd.h". lib is the word
 * without its "lib" (NULL when it has none). */
static int term_matches(const hr_rel_term *t, const word_parts *wp, const word_parts *lib)
{
    if (text_matches(t->text, t->len, wp))
        return 1;
    size_t tl = lib_prefix(t->text, t->len);
    if (lib && !tl && text_matches(t->text, t->len, lib))
        return 1;
    return tl && !lib && text_matches(t->text + tl, t->len - tl, wp);
}

unsigned hr_rel_count_word(const hr_rel_terms *q, const char *w, size_t n, uint32_t *tf)
{
    if (!q->n)
        return 0;
    word_parts wp, lib;
    word_parts_of(&wp, w, n);
    size_t wl = lib_prefix(w, n); /* once per word, not per term */
    if (wl)
        word_parts_of(&lib, w + wl, n - wl);
    unsigned hits = 0;
    for (size_t k = 0; k < q->n; k++)
        if (term_matches(&q->t[k], &wp, wl ? &lib : NULL)) {
            if (tf && tf[k] < UINT32_MAX)
                tf[k]++;
            hits++;
        }
    return hits;
}

size_t hr_rel_count(const hr_rel_terms *q, const char *s, size_t len, uint32_t *tf)
{
    size_t pos = 0, b, n, words = 0;
    while (hr_rel_next_word(s, len, &pos, &b, &n)) {
        words++;
        hr_rel_count_word(q, s + b, n, tf);
    }
    return words;
}

int hr_rel_mentions(const hr_rel_terms *q, const char *s, size_t len)
{
    size_t pos = 0, b, n;
    while (q->n && hr_rel_next_word(s, len, &pos, &b, &n))
        if (hr_rel_count_word(q, s + b, n, NULL))
            return 1;
    return 0;
}

void hr_bm25_init(hr_bm25 *m, size_t n_terms, size_t n_docs, const uint32_t *df,
                  double total_words)
{
    memset(m, 0, sizeof *m);
    m->n_terms = n_terms < HR_REL_MAX_TERMS ? n_terms : HR_REL_MAX_TERMS;
    m->avgdl = n_docs && total_words > 0 ? total_words / (double)n_docs : 1.0;
    for (size_t k = 0; k < m->n_terms; k++) {
        double d = df[k] < n_docs ? df[k] : (double)n_docs;
        m->idf[k] = log(1.0 + ((double)n_docs - d + 0.5) / (d + 0.5));
    }
}

double hr_bm25_score(const hr_bm25 *m, const uint32_t *tf, size_t dl)
{
    double s = 0, norm = HR_BM25_K1 * (1 - HR_BM25_B + HR_BM25_B * (double)dl / m->avgdl);
    for (size_t k = 0; k < m->n_terms; k++) {
        double f = tf[k];
        if (f > 0)
            s += m->idf[k] * f * (HR_BM25_K1 + 1) / (f + norm);
    }
    return s;
}

int hr_rel_is_rare(size_t hits, size_t total)
{
    return hits <= HR_REL_RARE_MIN || hits * 100 <= total * HR_REL_RARE_SHARE_PCT;
}

int hr_rel_docs_add(hr_rel_docs *d, const hr_rel_terms *q, size_t id, const char *s,
                    size_t len, double bonus)
{
    uint32_t tf[HR_REL_MAX_TERMS] = {0};
    size_t dl = q->n ? hr_rel_count(q, s, len, tf) : 0;
    int any = bonus > 0;
    d->total++;
    d->words += (double)dl;
    for (size_t k = 0; k < q->n; k++) {
        d->df[k] += tf[k] > 0;
        any |= tf[k] > 0;
    }
    if (!any)
        return 0;
    if (HR_VEC_RESERVE(d->v, d->cap, d->n + 1) != 0)
        return -1;
    hr_rel_doc *doc = &d->v[d->n++];
    doc->id = id;
    doc->dl = dl;
    doc->bonus = bonus;
    doc->score = 0;
    memcpy(doc->tf, tf, sizeof tf);
    return 0;
}

static int by_score_then_id(const void *a, const void *b)
{
    const hr_rel_doc *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

void hr_rel_docs_rank(hr_rel_docs *d, const hr_rel_terms *q, int common_count_nothing)
{
    uint32_t df[HR_REL_MAX_TERMS];
    memcpy(df, d->df, sizeof df);
    for (size_t k = 0; common_count_nothing && k < q->n; k++)
        if (!hr_rel_is_rare(df[k], d->total))
            df[k] = 0;
    hr_bm25 m;
    hr_bm25_init(&m, q->n, d->total, df, d->words);
    for (size_t i = 0; i < d->n; i++) {
        hr_rel_doc *doc = &d->v[i];
        for (size_t k = 0; k < q->n; k++)
            doc->tf[k] = df[k] ? doc->tf[k] : 0;
        doc->score = hr_bm25_score(&m, doc->tf, doc->dl) + doc->bonus;
    }
    if (d->n)
        qsort(d->v, d->n, sizeof *d->v, by_score_then_id);
}

void hr_rel_docs_free(hr_rel_docs *d)
{
    free(d->v);
    memset(d, 0, sizeof *d);
}
