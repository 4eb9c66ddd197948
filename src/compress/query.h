/* query.h: what the latest user message asks for, in the two forms compressors use to
 * decide relevance: BM25 terms and exact anchors.
 *
 * Anchors are the strings a user quotes when hunting for one record: UUIDs, IDs of 4+
 * digits (matched on digit boundaries, so 1234 does not match 12345), hostnames and IPv4
 * addresses, emails, and quoted strings ("..", '..', `..`). Hostnames, emails and UUIDs
 * match case-insensitively, quoted strings and IDs exactly.
 * Terms are the question's words as src/sys/relevance.h defines them (its scanner, its
 * stopwords, its matching); this file adds only the anchors.
 *
 * Ownership: hr_query is plain data filled by hr_query_parse; it copies what it keeps from
 * the message (fixed-size arrays, no allocation), so the message may go away afterwards.
 */
#ifndef HR_COMPRESS_QUERY_H
#define HR_COMPRESS_QUERY_H

#include "sys/relevance.h"

#include <stddef.h>
#include <stdint.h>

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
    hr_rel_terms terms; /* the question's terms (relevance.h) */
    size_t n_anchors;
    hr_query_anchor anchors[HR_QUERY_MAX_ANCHORS];
} hr_query;

/* Parses the message (NULL or empty gives an empty query). Never fails; extra terms and
 * anchors beyond the caps are ignored (first ones win, deterministic). */
void hr_query_parse(hr_query *q, const char *text, size_t len);

/* 1 if text holds any anchor of q. */
int hr_query_matches_anchor(const hr_query *q, const char *text, size_t len);

#endif
