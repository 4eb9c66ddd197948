/* Unit tests for src/sys/hybrid: the original's adaptive alpha (each pattern it looks for,
 * the precedence between them), the blend (normalisation and clamps worked out by hand),
 * and hr_hybrid_rescore's contract: nothing changes without a scorer or a question, only
 * the max_items best lexical documents are embedded (ties to the lower index), the rest
 * take cosine 0, and a failing scorer leaves every score lexical. The scorer here is the
 * function-pointer seam the embedder installs through; the embedder itself is tested
 * against ONNX Runtime in tests/node/ml_hybrid.test.mjs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sys/hybrid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double alpha_of(const char *q) { return hr_hybrid_alpha(q, strlen(q)); }

static void alpha_follows_the_exact_match_patterns(void **state)
{
    (void)state;
    assert_float_equal(alpha_of("show me the failed requests"), 0.5, 1e-12);
    assert_float_equal(alpha_of(""), 0.5, 1e-12);
    assert_float_equal(alpha_of("find 550e8400-e29b-41d4-a716-446655440000 please"), 0.85, 1e-12);
    assert_float_equal(alpha_of("orders 12345 and 67890"), 0.75, 1e-12);
    assert_float_equal(alpha_of("order 12345"), 0.65, 1e-12);
    /* digits inside a word are no numeric id (\b\d{4,}\b), nor are 3-digit numbers */
    assert_float_equal(alpha_of("build abc12345 took 999 ms"), 0.5, 1e-12);
    assert_float_equal(alpha_of("id_12345"), 0.5, 1e-12);
    assert_float_equal(alpha_of("is api.example.com down"), 0.6, 1e-12);
    assert_float_equal(alpha_of("mail bob@example.org"), 0.6, 1e-12);
    /* a sentence's full stop followed by a space is no hostname */
    assert_float_equal(alpha_of("it failed. why"), 0.5, 1e-12);
    /* a UUID wins over ids and hosts */
    assert_float_equal(alpha_of("host db.local 1234 5678 550E8400-E29B-41D4-A716-446655440000"), 0.85,
                       1e-12);
}

static void blend_normalises_and_clamps(void **state)
{
    (void)state;
    assert_float_equal(hr_hybrid_blend(0.5, 5.0, 0.4), 0.5 * 0.5 + 0.5 * 0.4, 1e-12);
    assert_float_equal(hr_hybrid_blend(0.75, 30.0, 0.2), 0.75 * 1 + 0.25 * 0.2, 1e-12);
    assert_float_equal(hr_hybrid_blend(0.5, 0, -0.3), 0, 1e-12);
    assert_float_equal(hr_hybrid_blend(0.6, 2.0, 1.5), 0.6 * 0.2 + 0.4, 1e-12);
}

/* A scorer whose cosine for a document is the number written in it ("0.8"), recording
 * which documents it was asked about. */
typedef struct probe {
    int fail;
    size_t asked;
    char seen[8][16];
} probe;

static int probe_fn(void *ctx, const char *q, size_t qlen, const hr_hybrid_doc *docs, size_t n,
                    float *cos)
{
    probe *p = ctx;
    (void)q;
    (void)qlen;
    p->asked = n;
    for (size_t i = 0; i < n && i < 8; i++) {
        snprintf(p->seen[i], sizeof p->seen[i], "%.*s", (int)docs[i].len, docs[i].s);
        cos[i] = strtof(p->seen[i], NULL);
    }
    return p->fail ? -1 : 0;
}

static void rescore_embeds_the_best_lexical_and_fails_open(void **state)
{
    (void)state;
    hr_hybrid_doc docs[4] = {{"0.9", 3}, {"0.1", 3}, {"0.5", 3}, {"0.7", 3}};
    double sc[4] = {0, 4, 2, 4};
    double before[4];
    memcpy(before, sc, sizeof sc);
    assert_int_equal(hr_hybrid_rescore("q", 1, docs, 4, sc), 0); /* nothing installed */
    assert_memory_equal(sc, before, sizeof sc);

    probe p = {0};
    hr_hybrid_scorer s = {probe_fn, &p, 2};
    hr_hybrid_install(&s);
    assert_true(hr_hybrid_installed());
    assert_int_equal(hr_hybrid_rescore("", 0, docs, 4, sc), 0); /* no question */
    assert_int_equal(p.asked, 0);

    assert_int_equal(hr_hybrid_rescore("q", 1, docs, 4, sc), 1);
    assert_int_equal(p.asked, 2);
    assert_string_equal(p.seen[0], "0.1"); /* lexical 4, index 1 */
    assert_string_equal(p.seen[1], "0.7"); /* lexical 4, index 3 */
    assert_float_equal(sc[0], 0.5 * 0 + 0.5 * 0, 1e-12);     /* not embedded: cosine 0 */
    assert_float_equal(sc[1], 0.5 * 0.4 + 0.5 * 0.1, 1e-6);
    assert_float_equal(sc[2], 0.5 * 0.2, 1e-12);             /* not embedded */
    assert_float_equal(sc[3], 0.5 * 0.4 + 0.5 * 0.7, 1e-6);

    memcpy(sc, before, sizeof sc);
    p.fail = 1;
    assert_int_equal(hr_hybrid_rescore("q", 1, docs, 4, sc), 0);
    assert_memory_equal(sc, before, sizeof sc);
    hr_hybrid_install(NULL);
    assert_false(hr_hybrid_installed());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alpha_follows_the_exact_match_patterns),
        cmocka_unit_test(blend_normalises_and_clamps),
        cmocka_unit_test(rescore_embeds_the_best_lexical_and_fails_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
