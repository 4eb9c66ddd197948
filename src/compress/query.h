/* query.h: what the latest user message asks for, in the two forms compressors use to
 * decide relevance: BM25 terms and exact anchors.
 *
 * Anchors are the strings a user quotes when hunting for one record: UUIDs, IDs of 4+
 * digits (matched on digit boundaries, so 1234 does not match 12345), hostnames and IPv4
 * addresses, emails, and quoted strings ("..", '..', `..`). Hostnames, emails and UUIDs
 * match case-insensitively, quoted strings and IDs exactly.
 * Terms are lowercase alphanumeric words of 2+ characters minus a few stopwords, hashed.
 *
 * Ownership: hr_query is plain data filled by hr_query_parse; it copies what it keeps from
 * the message (fixed-size arrays, no allocation), so the message may go away afterwards.
 */
#ifndef HR_COMPRESS_QUERY_H
#define HR_COMPRESS_QUERY_H

#include <stddef.h>
#include <stdint.h>

#define HR_QUERY_MAX_TERMS 32
#define HR_QUERY_MAX_ANCHORS 16
#define HR_QUERY_ANCHOR_MAX 128

typedef enum {
    HR_ANCHOR_ID = 0,   /* digits, boundary-checked */
    HR_ANCHOR_UUID,
    HR_ANCHOR_HOST,
    HR_ANCHOR_EMAIL,
    HR_ANCHOR_QUOTED,
} hr_anchor_kind;

typedef struct hr_query_anchor {
    hr_anchor_kind kind;
    size_t len;
    char text[HR_QUERY_ANCHOR_MAX];
} hr_query_anchor;

typedef struct hr_query {
    size_t n_terms;
    uint64_t terms[HR_QUERY_MAX_TERMS]; /* hr_query_term_hash of each distinct term */
    size_t n_anchors;
    hr_query_anchor anchors[HR_QUERY_MAX_ANCHORS];
} hr_query;

/* Parses the message (NULL or empty gives an empty query). Never fails; extra terms and
 * anchors beyond the caps are ignored (first ones win, deterministic). */
void hr_query_parse(hr_query *q, const char *text, size_t len);

/* Hash of a word as terms are stored: lowercase ASCII, other bytes as they are. */
uint64_t hr_query_term_hash(const char *word, size_t len);

/* Index of the term in q->terms, or -1. */
int hr_query_term_index(const hr_query *q, uint64_t hash);

/* 1 if text holds any anchor of q. */
int hr_query_matches_anchor(const hr_query *q, const char *text, size_t len);

/* Word scanner shared by the compressors: finds the next run of ASCII letters, digits or
 * bytes >= 0x80 at or after *pos; sets start and wlen and advances *pos. 0 when none left. */
int hr_next_word(const char *s, size_t len, size_t *pos, size_t *start, size_t *wlen);

#endif
