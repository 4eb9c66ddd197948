/* relevance.h: the one owner of "how relevant is this text to the question": one word
 * scanner, one stopword list, one term matcher, one BM25 with fixed constants, and the
 * rarity rule for signal words. SmartCrusher, the search / listing / diff compressors,
 * the query parser (src/compress/query.c) and CCR retrieval (src/ccr/retrieve.c) all rank
 * through it, so a question scores the same words the same way everywhere.
 *
 * Why it lives in src/sys and not src/compress: CCR retrieval sits below the compressors
 * in the dependency graph (compress links ccr for markers), so the shared ranking code must
 * sit below both. It depends on nothing but libc and libm.
 *
 * Words. A word is a maximal run of ASCII letters, ASCII digits and bytes >= 0x80 (so UTF-8
 * words stay whole). Everything else separates, '_' included: `retry_budget_left` is three
 * words, which is what lets a question about "retry" find it. CamelCase parts are not
 * separate words for counting document length, but terms match at them (below).
 *
 * Terms. The distinct words of a question, lowercased, at least HR_REL_MIN_TERM bytes and
 * shorter than HR_REL_TERM_MAX, minus the stopwords, first HR_REL_MAX_TERMS in order of
 * appearance (deterministic).
 *
 * Matching. A term t matches a word w, ASCII case-insensitively, when w == t, or when t has
 * at least HR_REL_PREFIX_MIN bytes and w, or a CamelCase part of w, starts with t: "fail"
 * finds "failed" and "FailFast", "invoices" finds "reconcileInvoices", "token" finds
 * "tokens". Shorter terms match whole words only: "id" never finds "idle", and "out"
 * finds neither "route" nor "outline". Library names match with or without "lib" (one
 * side has it, the rest is HR_REL_PREFIX_MIN+ bytes and not "r...", so "library" stays a
 * word): "hiredis" finds "libhiredis", "libmicrohttpd" finds "microhttpd".
 *
 * BM25 (Robertson/Sparck Jones, the form Lucene uses):
 *   score(d) = sum over terms t with tf > 0 of
 *              idf(t) * tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl))
 *   idf(t)   = ln(1 + (N - df + 0.5) / (df + 0.5))      (never negative)
 * with dl = words in the document, avgdl over the N documents being ranked together (the
 * items of one array, the lines or files of one output, the items of one original).
 * K1 = 1.2: term frequency saturates quickly, so an item repeating the word ten times does
 * not bury one that names it once; B = 0.75: the standard length normalisation, so a long
 * item is not relevant just for being long. Both are the published defaults; they are
 * fixed here and nowhere else.
 *
 * Signals only when rare. A signal word (error, fail, timeout, ...) marks an item as
 * worth keeping only where it is rare: hr_rel_is_rare says whether `hits` of `total`
 * items is few enough (at most HR_REL_RARE_MIN, or at most HR_REL_RARE_SHARE_PCT percent).
 * In a package list where every fifth description says "error", the word says nothing about
 * which package the agent needs; query words and anchors outrank it.
 *
 * Ownership: everything is plain data or pure functions; hr_rel_terms copies the words it
 * keeps, so the question text may go away after hr_rel_terms_parse.
 */
#ifndef HR_SYS_RELEVANCE_H
#define HR_SYS_RELEVANCE_H

#include <stddef.h>
#include <stdint.h>

#define HR_REL_MAX_TERMS 32
#define HR_REL_TERM_MAX 32      /* a term is shorter than this (bytes), NUL included */
#define HR_REL_MIN_TERM 2       /* shorter question words are not terms */
#define HR_REL_PREFIX_MIN 4     /* terms this long also match as word (part) prefixes */
#define HR_BM25_K1 1.2
#define HR_BM25_B 0.75
#define HR_REL_RARE_MIN 3       /* this many hits are always rare */
#define HR_REL_RARE_SHARE_PCT 20 /* above this share of the items, a signal is no signal */

/* 1 for bytes that belong to words (see above). */
int hr_rel_is_word_byte(unsigned char c);

/* Finds the next word at or after *pos in s[0..len): sets *start and *wlen, advances *pos
 * past it and returns 1; returns 0 (and *pos = len) when none is left. */
int hr_rel_next_word(const char *s, size_t len, size_t *pos, size_t *start, size_t *wlen);

/* Hash of a word as terms store it: FNV-1a over its ASCII-lowercased bytes. */
uint64_t hr_rel_hash(const char *w, size_t n);

/* 1 if w (any case) is one of the stopwords: question words, pronouns, articles,
 * prepositions and the verbs agents use to ask ("find", "show", "list"). */
int hr_rel_is_stopword(const char *w, size_t n);

typedef struct hr_rel_term {
    uint64_t hash;
    uint8_t len;
    char text[HR_REL_TERM_MAX]; /* lowercased, NUL-terminated */
} hr_rel_term;

typedef struct hr_rel_terms {
    size_t n;
    hr_rel_term t[HR_REL_MAX_TERMS];
} hr_rel_terms;

/* The terms of a question (NULL or empty text gives none). Never fails. */
void hr_rel_terms_parse(hr_rel_terms *q, const char *text, size_t len);

/* Index of the term whose hash is h, or -1. */
int hr_rel_terms_index(const hr_rel_terms *q, uint64_t h);

/* Adds 1 to tf[k] for every term k that matches the word w[0..n) (a word can match more
 * than one: "token" and "tokens"). Returns how many terms matched. */
unsigned hr_rel_count_word(const hr_rel_terms *q, const char *w, size_t n, uint32_t *tf);

/* Adds the term frequencies of every word of s[0..len) to tf (q->n entries, the caller
 * zeroes them) and returns the number of words (the BM25 document length). */
size_t hr_rel_count(const hr_rel_terms *q, const char *s, size_t len, uint32_t *tf);

/* 1 if any word of s[0..len) matches a term of q. */
int hr_rel_mentions(const hr_rel_terms *q, const char *s, size_t len);

/* BM25 over one set of documents: idf per term and the average length. */
typedef struct hr_bm25 {
    size_t n_terms;
    double avgdl;
    double idf[HR_REL_MAX_TERMS];
} hr_bm25;

/* df[k]: documents holding term k (n_terms entries); total_words: sum of all document
 * lengths over the n_docs documents. */
void hr_bm25_init(hr_bm25 *m, size_t n_terms, size_t n_docs, const uint32_t *df,
                  double total_words);

/* Score of one document from its term frequencies (n_terms entries) and length. 0 when no
 * term occurs. */
double hr_bm25_score(const hr_bm25 *m, const uint32_t *tf, size_t dl);

/* 1 if a signal seen in `hits` of `total` items is rare enough to mean something there. */
int hr_rel_is_rare(size_t hits, size_t total);

/* One-pass BM25 over many small documents (lines, paths): every document is counted for
 * the document frequencies and the average length, but only those that match a term (or
 * carry a bonus) keep their term counts, so a 100,000-line input stores a handful. After
 * the pass, hr_rel_docs_rank scores the kept ones and sorts them best first.
 * Ownership: the caller zero-initialises hr_rel_docs and frees it with hr_rel_docs_free. */
typedef struct hr_rel_doc {
    size_t id, dl;            /* the caller's index (a line), length in words */
    double bonus, score;      /* score = BM25 + bonus, filled by hr_rel_docs_rank */
    uint32_t tf[HR_REL_MAX_TERMS];
} hr_rel_doc;

typedef struct hr_rel_docs {
    hr_rel_doc *v;
    size_t n, cap;
    size_t total;             /* documents counted */
    double words;             /* their total length */
    uint32_t df[HR_REL_MAX_TERMS];
} hr_rel_docs;

/* Counts document `id` (text s[0..len)) and keeps it when a term of q occurs in it or
 * bonus > 0. 0 ok, -1 no memory. */
int hr_rel_docs_add(hr_rel_docs *d, const hr_rel_terms *q, size_t id, const char *s,
                    size_t len, double bonus);

/* Scores the kept documents and sorts them: best score first, lower id on ties
 * (deterministic). With common_count_nothing set, a term found in a large share of the
 * documents (not hr_rel_is_rare) counts for nothing: "package" in every line of apt's log
 * picks out none of them. */
void hr_rel_docs_rank(hr_rel_docs *d, const hr_rel_terms *q, int common_count_nothing);

void hr_rel_docs_free(hr_rel_docs *d);

#endif
