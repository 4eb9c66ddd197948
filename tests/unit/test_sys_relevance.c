/* Unit tests for src/sys/relevance: word scanner, stopwords, question terms, term matching
 * (exact, prefix, CamelCase parts), BM25 (values worked out by hand from the published
 * formula, saturation, length normalisation) and the rarity rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sys/relevance.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static size_t words_of(const char *s, char out[][32], size_t max)
{
    size_t pos = 0, b, n, k = 0;
    while (k < max && hr_rel_next_word(s, strlen(s), &pos, &b, &n)) {
        memcpy(out[k], s + b, n);
        out[k++][n] = '\0';
    }
    return k;
}

static void scanner_splits_on_underscore_and_punctuation(void **state)
{
    (void)state;
    char w[8][32];
    size_t n = words_of("retry_budget_left(x) caf\xc3\xa9-42 ", w, 8);
    assert_int_equal(n, 6);
    assert_string_equal(w[0], "retry");
    assert_string_equal(w[2], "left");
    assert_string_equal(w[3], "x");
    assert_string_equal(w[4], "caf\xc3\xa9"); /* UTF-8 stays inside the word */
    assert_string_equal(w[5], "42");
    size_t pos = 0, b = 99, len = 99;
    assert_int_equal(hr_rel_next_word(" ,;", 3, &pos, &b, &len), 0);
    assert_int_equal(pos, 3);
}

static void stopwords_are_case_insensitive_and_spare_domain_words(void **state)
{
    (void)state;
    assert_true(hr_rel_is_stopword("The", 3));
    assert_true(hr_rel_is_stopword("WHICH", 5));
    assert_true(hr_rel_is_stopword("files", 5));
    assert_false(hr_rel_is_stopword("error", 5));
    assert_false(hr_rel_is_stopword("config", 6));
    assert_false(hr_rel_is_stopword("th", 2)); /* a prefix of "the" is not "the" */
}

static void terms_are_distinct_lowercase_content_words(void **state)
{
    (void)state;
    hr_rel_terms q;
    const char *msg = "Where is the Token refresh handler? token REFRESH id x";
    hr_rel_terms_parse(&q, msg, strlen(msg));
    assert_int_equal(q.n, 4);
    assert_string_equal(q.t[0].text, "token");
    assert_string_equal(q.t[1].text, "refresh");
    assert_string_equal(q.t[2].text, "handler");
    assert_string_equal(q.t[3].text, "id"); /* 2 bytes is enough; "x" is not */
    assert_int_equal(hr_rel_terms_index(&q, hr_rel_hash("HANDLER", 7)), 2);
    assert_int_equal(hr_rel_terms_index(&q, hr_rel_hash("the", 3)), -1);
    hr_rel_terms_parse(&q, NULL, 0);
    assert_int_equal(q.n, 0);
}

static void terms_stop_at_the_cap_in_order(void **state)
{
    (void)state;
    char msg[2048] = "";
    for (int i = 0; i < HR_REL_MAX_TERMS + 10; i++) {
        char w[16];
        snprintf(w, sizeof w, "w%03d ", i);
        strcat(msg, w);
    }
    hr_rel_terms q;
    hr_rel_terms_parse(&q, msg, strlen(msg));
    assert_int_equal(q.n, HR_REL_MAX_TERMS);
    assert_string_equal(q.t[0].text, "w000");
    assert_string_equal(q.t[HR_REL_MAX_TERMS - 1].text, "w031");
}

static unsigned hits(const char *question, const char *text)
{
    hr_rel_terms q;
    hr_rel_terms_parse(&q, question, strlen(question));
    uint32_t tf[HR_REL_MAX_TERMS] = {0};
    hr_rel_count(&q, text, strlen(text), tf);
    unsigned sum = 0;
    for (size_t k = 0; k < q.n; k++)
        sum += tf[k];
    return sum;
}

static void matching_uses_prefixes_and_camel_parts_for_long_terms(void **state)
{
    (void)state;
    assert_int_equal(hits("fail", "failed FailFast fail_fast"), 3);
    assert_int_equal(hits("invoices", "reconcileInvoices invoicesX"), 2);
    assert_int_equal(hits("token", "TOKENS tokenizer"), 2);
    /* short terms match whole words only */
    assert_int_equal(hits("out", "route outline out"), 1);
    assert_int_equal(hits("id", "idle ID uid"), 1);
    /* not inside a lower-case run */
    assert_int_equal(hits("voice", "invoice"), 0);
    /* a word matching two terms counts for both */
    assert_int_equal(hits("token tokens", "tokens"), 2);
    hr_rel_terms q;
    hr_rel_terms_parse(&q, "refresh", 7);
    assert_true(hr_rel_mentions(&q, "a refreshToken b", 16));
    assert_false(hr_rel_mentions(&q, "a fresh b", 9));
}

/* One-pass ranking: only matching documents are kept, best first, ties by id; a term in
 * most documents counts for nothing when asked; a bonus alone keeps a document. */
static void docs_rank_in_one_pass(void **state)
{
    (void)state;
    hr_rel_terms q;
    const char *question = "which package sets up the retry budget?";
    hr_rel_terms_parse(&q, question, strlen(question));
    const char *lines[] = {"Setting up package alpha", "Setting up package retry-helper",
                           "Setting up package budget retry", "Setting up package beta",
                           "Setting up package gamma", "unrelated words here"};
    hr_rel_docs d = {0};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(hr_rel_docs_add(&d, &q, i, lines[i], strlen(lines[i]), i == 5 ? 0.01 : 0), 0);
    assert_int_equal(d.total, 6);
    assert_int_equal(d.n, 6); /* "package" is in 5 lines, the bonus keeps the sixth */
    hr_rel_docs_rank(&d, &q, 1);
    /* "package" (5 of 6) counts for nothing: retry + budget first, then retry alone */
    assert_int_equal(d.v[0].id, 2);
    assert_int_equal(d.v[1].id, 1);
    assert_true(d.v[1].score > d.v[2].score && d.v[2].score > 0);
    assert_int_equal(d.v[2].id, 5); /* the bonus */
    assert_true(d.v[3].score == 0 && d.v[3].id == 0); /* package only: nothing, in id order */
    hr_rel_docs_free(&d);
    hr_rel_docs_add(&d, &q, 0, lines[0], strlen(lines[0]), 0);
    hr_rel_docs_rank(&d, &q, 0); /* counted: "package" alone now scores */
    assert_true(d.v[0].score > 0);
    hr_rel_docs_free(&d);
}

static void library_names_match_with_or_without_lib(void **state)
{
    (void)state;
    assert_int_equal(hits("hiredis", "ii  libhiredis-dev:amd64 0.14.1-3"), 1);
    assert_int_equal(hits("libmicrohttpd", "/usr/include/microhttpd.h"), 1);
    assert_int_equal(hits("libcurl", "libcurl.so.4"), 1);
    /* "library" is a word, not lib + "rary"; short names after lib need whole words */
    assert_int_equal(hits("library", "rary"), 0);
    assert_int_equal(hits("curl", "libcurl4-openssl-dev"), 1);
    assert_int_equal(hits("ssl", "libssl3"), 0);
}

static void bm25_matches_the_published_formula(void **state)
{
    (void)state;
    /* 10 documents of average length 5; the term is in 1 of them. By hand:
     * idf = ln(1 + 9.5/1.5) = 1.992430; one occurrence in a 5-word document:
     * 1.992430 * 1 * 2.2 / (1 + 1.2) = 1.992430. */
    uint32_t df[1] = {1}, tf[1] = {1};
    hr_bm25 m;
    hr_bm25_init(&m, 1, 10, df, 50);
    assert_true(fabs(m.idf[0] - 1.992430) < 1e-5);
    assert_true(fabs(hr_bm25_score(&m, tf, 5) - 1.992430) < 1e-5);
    /* a term in every document still scores above zero (no negative idf) */
    df[0] = 10;
    hr_bm25_init(&m, 1, 10, df, 50);
    assert_true(m.idf[0] > 0 && m.idf[0] < 0.1);
    tf[0] = 0;
    assert_true(hr_bm25_score(&m, tf, 5) == 0.0);
}

static void bm25_saturates_and_normalises_length(void **state)
{
    (void)state;
    uint32_t df[2] = {2, 8};
    hr_bm25 m;
    hr_bm25_init(&m, 2, 10, df, 100);
    uint32_t once[2] = {1, 0}, ten[2] = {10, 0}, common[2] = {0, 1};
    double s1 = hr_bm25_score(&m, once, 10), s10 = hr_bm25_score(&m, ten, 10);
    assert_true(s10 > s1);
    assert_true(s10 < 2.5 * s1); /* K1 = 1.2: ten mentions are worth barely twice one */
    assert_true(hr_bm25_score(&m, once, 40) < s1); /* longer document, same count */
    assert_true(hr_bm25_score(&m, common, 10) < s1); /* the rarer term weighs more */
}

static void rarity_rule(void **state)
{
    (void)state;
    assert_true(hr_rel_is_rare(0, 0));
    assert_true(hr_rel_is_rare(3, 4));     /* a few hits are always a signal */
    assert_true(hr_rel_is_rare(20, 100));  /* 20% */
    assert_false(hr_rel_is_rare(21, 100)); /* above 20%: no signal */
    assert_false(hr_rel_is_rare(150, 300));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scanner_splits_on_underscore_and_punctuation),
        cmocka_unit_test(stopwords_are_case_insensitive_and_spare_domain_words),
        cmocka_unit_test(terms_are_distinct_lowercase_content_words),
        cmocka_unit_test(terms_stop_at_the_cap_in_order),
        cmocka_unit_test(matching_uses_prefixes_and_camel_parts_for_long_terms),
        cmocka_unit_test(library_names_match_with_or_without_lib),
        cmocka_unit_test(docs_rank_in_one_pass),
        cmocka_unit_test(bm25_matches_the_published_formula),
        cmocka_unit_test(bm25_saturates_and_normalises_length),
        cmocka_unit_test(rarity_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
