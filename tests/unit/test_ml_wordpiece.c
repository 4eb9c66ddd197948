/* test_ml_wordpiece.c: unit tests of the C WordPiece tokenizer (src/ml/wordpiece.c) and
 * its generated Unicode tables, on a small hand-written vocabulary whose expected pieces
 * follow from BERT's rules. The id-for-id comparison with @huggingface/tokenizers on a
 * generated model lives in tests/node/ml_tokenizer.test.mjs.
 *
 * The same executable is that test's driver: `test_ml_wordpiece --encode VOCAB_TXT MAX`
 * reads hex-encoded UTF-8 texts, one per line, from stdin and prints the ids of each as a
 * space-separated line (hex keeps newlines, NULs and invalid bytes in the texts intact).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ml/unicode_wordpiece.h"
#include "ml/wordpiece.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const VOCAB_LINES[] = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", ",", "!", "un", "##aff",
    "##able", "cafe", "resume", "中", "文", "\xF0\xA0\x80\x80" /* U+20000 */, "a", "##a", "b",
    "##b", "ab", "c", "d", "«", "»", "hi", "$", "`", "x", "οδοσ", "\xE1\x84\x92" /* U+1112 */,
    "##\xE1\x85\xA1" /* U+1161 */, "##\xE1\x86\xAB" /* U+11AB */, "1", "##2", "naive", "i",
};
enum { ID_UNK = 1, ID_CLS = 2, ID_SEP = 3, ID_MASK = 4 };

typedef struct {
    hr_model_vocab vocab;
    void *owned;
    hr_wordpiece *tok;
} fixture;

static char *vocab_txt(size_t *len)
{
    size_t n = sizeof VOCAB_LINES / sizeof VOCAB_LINES[0], total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(VOCAB_LINES[i]) + 1;
    char *txt = malloc(total + 1), *p = txt;
    assert_non_null(txt);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s\n", VOCAB_LINES[i]);
    *len = total;
    return txt;
}

static int32_t id_of(const char *s)
{
    for (size_t i = 0; i < sizeof VOCAB_LINES / sizeof VOCAB_LINES[0]; i++)
        if (strcmp(VOCAB_LINES[i], s) == 0)
            return (int32_t)i;
    fail_msg("token %s not in the test vocabulary", s);
    return -1;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    size_t len;
    char *txt = vocab_txt(&len);
    hr_ml_error err = {{0}};
    assert_int_equal(hr_wordpiece_vocab_from_txt(txt, len, &f->vocab, &f->owned, &err), 0);
    free(txt); /* the vocab copied what it needs */
    assert_int_equal(hr_wordpiece_new(&f->vocab, &f->tok, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hr_wordpiece_free(f->tok);
    free(f->owned);
    free(f);
    return 0;
}

/* Encodes text (max_ids ids) and compares with the expected tokens between [CLS] and
 * [SEP], given as a NULL-terminated list of vocabulary strings. */
static void expect_pieces(const hr_wordpiece *tok, const char *text, size_t len, size_t max_ids,
                          const char *const *expected)
{
    int32_t ids[600];
    size_t n = 0;
    int truncated = -1;
    assert_true(max_ids <= 600);
    assert_int_equal(hr_wordpiece_encode(tok, text, len, ids, max_ids, &n, &truncated), 0);
    size_t k = 0;
    while (expected[k])
        k++;
    if (n != k + 2) {
        fprintf(stderr, "text '%.*s': got", (int)len, text);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "\n");
    }
    assert_int_equal(n, k + 2);
    assert_int_equal(ids[0], ID_CLS);
    assert_int_equal(ids[n - 1], ID_SEP);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(ids[i + 1], id_of(expected[i]));
}

#define EXPECT(tok, text, ...)                                                                 \
    do {                                                                                       \
        const char *const exp_[] = {__VA_ARGS__, NULL};                                        \
        expect_pieces(tok, text, strlen(text), 256, exp_);                                     \
    } while (0)

static void test_words_and_punctuation(void **state)
{
    fixture *f = *state;
    EXPECT(f->tok, "Hello, World!", "hello", ",", "world", "!");
    EXPECT(f->tok, "  hello\t\nworld  ", "hello", "world");
    EXPECT(f->tok, "$x`hi`", "$", "x", "`", "hi", "`");
    EXPECT(f->tok, "\xC2\xAB" "hi\xC2\xBB", "«", "hi", "»"); /* Unicode Pi/Pf punctuation */
}

static void test_subwords_and_unknown(void **state)
{
    fixture *f = *state;
    EXPECT(f->tok, "unaffable", "un", "##aff", "##able");
    EXPECT(f->tok, "ab abba", "ab", "ab", "##b", "##a");
    EXPECT(f->tok, "12", "1", "##2");
    EXPECT(f->tok, "unq hello", "[UNK]", "hello"); /* rest "q" unmatched: whole word [UNK] */
    EXPECT(f->tok, "zebra", "[UNK]");
}

static void test_word_length_limit(void **state)
{
    fixture *f = *state;
    char word[102];
    memset(word, 'a', sizeof word);
    const char *pieces[102];
    pieces[0] = "a";
    for (int i = 1; i < 100; i++)
        pieces[i] = "##a";
    pieces[100] = NULL;
    expect_pieces(f->tok, word, 100, 256, pieces); /* 100 chars: still split */
    const char *unk[] = {"[UNK]", NULL};
    expect_pieces(f->tok, word, 101, 256, unk);     /* 101 chars: [UNK] */
    /* The limit counts code points, not bytes: 60 x U+00E1 (2 bytes, folds to 'a'). */
    char accented[120];
    for (int i = 0; i < 60; i++)
        memcpy(accented + 2 * i, "\xC3\xA1", 2);
    pieces[60] = NULL;
    expect_pieces(f->tok, accented, 120, 256, pieces);
}

static void test_accents_and_case(void **state)
{
    fixture *f = *state;
    EXPECT(f->tok, "Caf\xC3\xA9 R\xC3\xA9sum\xC3\xA9", "cafe", "resume");
    EXPECT(f->tok, "Cafe\xCC\x81", "cafe");                  /* combining acute (Mn) */
    EXPECT(f->tok, "NA\xC3\x8FVE", "naive");                 /* uppercase with diaeresis */
    EXPECT(f->tok, "\xC4\xB0", "i");                         /* U+0130 -> i + U+0307 -> i */
    /* Per-code-point lowercasing as HF's Rust normalizer: a final capital sigma becomes
     * sigma, not final sigma (tokenizers.js would apply the Final_Sigma rule here). */
    EXPECT(f->tok, "\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3", "οδοσ");
}

static void test_cjk_and_hangul(void **state)
{
    fixture *f = *state;
    EXPECT(f->tok, "\xE4\xB8\xAD\xE6\x96\x87", "中", "文");
    EXPECT(f->tok, "a\xE4\xB8\xAD" "b", "a", "中", "b");
    /* Astral CJK (Extension B) is split too, as HF tokenizers' BertNormalizer does. */
    EXPECT(f->tok, "a\xF0\xA0\x80\x80" "b", "a", "\xF0\xA0\x80\x80", "b");
    /* Hangul syllable U+D55C decomposes (NFD) into jamo U+1112 U+1161 U+11AB. */
    EXPECT(f->tok, "\xED\x95\x9C", "\xE1\x84\x92", "##\xE1\x85\xA1", "##\xE1\x86\xAB");
}

static void test_cleaning(void **state)
{
    fixture *f = *state;
    EXPECT(f->tok, "a\x01" "b", "ab");                 /* Cc dropped, word joins */
    EXPECT(f->tok, "a\xE2\x80\x8B" "b", "ab");         /* U+200B (Cf) dropped */
    EXPECT(f->tok, "a\xC2\xA0" "b", "a", "b");         /* NBSP is whitespace */
    EXPECT(f->tok, "a\xE3\x80\x80" "b", "a", "b");     /* ideographic space */
    EXPECT(f->tok, "a\xEF\xBF\xBD" "b", "ab");         /* U+FFFD dropped */
    EXPECT(f->tok, "a\xFF" "b", "ab");                 /* invalid byte -> U+FFFD */
    EXPECT(f->tok, "a\xE2\x82" "b", "ab");             /* truncated sequence, b survives */
    EXPECT(f->tok, "a\xE2\x82\xAC" "b", "[UNK]");      /* U+20AC is a word char */
    const char nul[] = {'a', 0, 'b'};
    const char *ab[] = {"ab", NULL};
    expect_pieces(f->tok, nul, 3, 256, ab);
}

static void test_literal_special_tokens(void **state)
{
    fixture *f = *state;
    EXPECT(f->tok, "a[SEP]b", "a", "[SEP]", "b");
    EXPECT(f->tok, "[MASK] [UNK]", "[MASK]", "[UNK]");
    EXPECT(f->tok, "[sep]", "[UNK]", "[UNK]", "[UNK]"); /* case matters: "[" "sep" "]" */
    (void)ID_MASK;
}

static void test_truncation(void **state)
{
    fixture *f = *state;
    int32_t ids[8];
    size_t n = 0;
    int truncated = 0;
    assert_int_equal(hr_wordpiece_encode(f->tok, "a b c d", 7, ids, 4, &n, &truncated), 0);
    assert_int_equal(n, 4);
    assert_int_equal(truncated, 1);
    assert_int_equal(ids[0], ID_CLS);
    assert_int_equal(ids[1], id_of("a"));
    assert_int_equal(ids[2], id_of("b"));
    assert_int_equal(ids[3], ID_SEP);
    assert_int_equal(hr_wordpiece_encode(f->tok, "a b", 3, ids, 4, &n, &truncated), 0);
    assert_int_equal(n, 4);
    assert_int_equal(truncated, 0);
    assert_int_equal(hr_wordpiece_encode(f->tok, "", 0, ids, 2, &n, &truncated), 0);
    assert_int_equal(n, 2);
    assert_int_equal(hr_wordpiece_encode(f->tok, "a", 1, ids, 1, &n, NULL), -1);
}

static void test_token_id_and_errors(void **state)
{
    fixture *f = *state;
    assert_int_equal(hr_wordpiece_token_id(f->tok, "##aff", 5), id_of("##aff"));
    assert_int_equal(hr_wordpiece_token_id(f->tok, "aff", 3), -1);

    hr_ml_error err = {{0}};
    hr_model_vocab v;
    void *owned = NULL;
    const char no_unk[] = "[CLS]\n[SEP]\nx\n";
    assert_int_equal(hr_wordpiece_vocab_from_txt(no_unk, strlen(no_unk), &v, &owned, &err), -1);
    assert_non_null(strstr(err.msg, "[UNK]"));
    assert_null(owned);

    const char crlf[] = "[UNK]\r\n[CLS]\r\n[SEP]\r\nx";
    assert_int_equal(hr_wordpiece_vocab_from_txt(crlf, strlen(crlf), &v, &owned, &err), 0);
    assert_int_equal(v.n_tokens, 4);
    hr_wordpiece *tok = NULL;
    assert_int_equal(hr_wordpiece_new(&v, &tok, &err), 0);
    assert_int_equal(hr_wordpiece_token_id(tok, "x", 1), 3);
    hr_wordpiece_free(tok);

    v.flags &= ~(uint32_t)HR_TOKF_LOWERCASE; /* cased vocab: refused, not mis-tokenized */
    assert_int_equal(hr_wordpiece_new(&v, &tok, &err), -1);
    assert_null(tok);
    free(owned);
}

static void test_generated_tables_are_ordered(void **state)
{
    (void)state;
    assert_true(hr_wp_uc_class_count > 100);
    for (size_t i = 0; i < hr_wp_uc_class_count; i++) {
        assert_true(hr_wp_uc_class_ranges[i].first <= hr_wp_uc_class_ranges[i].last);
        if (i > 0)
            assert_true(hr_wp_uc_class_ranges[i - 1].last < hr_wp_uc_class_ranges[i].first);
    }
    assert_true(hr_wp_uc_fold_count > 1000);
    for (size_t i = 0; i < hr_wp_uc_fold_count; i++) {
        assert_true(hr_wp_uc_fold_map[i].len <= HR_WP_FOLD_MAX);
        if (i > 0)
            assert_true(hr_wp_uc_fold_map[i - 1].cp < hr_wp_uc_fold_map[i].cp);
    }
}

static uint32_t table_class(uint32_t cp)
{
    for (size_t i = 0; i < hr_wp_uc_class_count; i++)
        if (cp >= hr_wp_uc_class_ranges[i].first && cp <= hr_wp_uc_class_ranges[i].last)
            return hr_wp_uc_class_ranges[i].cls;
    return HR_WP_WORD;
}

/* The encoder classifies ASCII without the tables; its behaviour on "a<c>a" must follow
 * the generated class of every ASCII code point. */
static void test_ascii_fast_path_matches_tables(void **state)
{
    fixture *f = *state;
    int32_t a = id_of("a"), cont_a = id_of("##a");
    for (uint32_t cp = 1; cp < 0x80; cp++) {
        char text[3] = {'a', (char)cp, 'a'};
        int32_t ids[8];
        size_t n = 0;
        assert_int_equal(hr_wordpiece_encode(f->tok, text, 3, ids, 8, &n, NULL), 0);
        switch (table_class(cp)) {
        case HR_WP_DROP: /* removed: "aa" is one word */
            assert_int_equal(n, 4);
            assert_int_equal(ids[1], a);
            assert_int_equal(ids[2], cont_a);
            break;
        case HR_WP_SPACE:
            assert_int_equal(n, 4);
            assert_int_equal(ids[1], a);
            assert_int_equal(ids[2], a);
            break;
        case HR_WP_PUNCT: /* a word of its own between two "a" */
            assert_int_equal(n, 5);
            assert_int_equal(ids[1], a);
            assert_int_equal(ids[3], a);
            break;
        default: /* part of one word: no second standalone "a" */
            assert_true(n >= 3);
            assert_int_not_equal(ids[2], a);
            break;
        }
    }
}

/* ---- driver mode for the Node reference test ------------------------------------------ */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int encode_driver(const char *vocab_path, size_t max_ids)
{
    FILE *vf = fopen(vocab_path, "rb");
    if (!vf) {
        perror(vocab_path);
        return 2;
    }
    char *txt = NULL;
    size_t cap = 0, len = 0, got;
    char chunk[65536];
    while ((got = fread(chunk, 1, sizeof chunk, vf)) > 0) {
        if (len + got > cap) {
            cap = (len + got) * 2;
            char *grown = realloc(txt, cap);
            if (!grown) {
                free(txt);
                fclose(vf);
                return 2;
            }
            txt = grown;
        }
        memcpy(txt + len, chunk, got);
        len += got;
    }
    fclose(vf);
    hr_ml_error err = {{0}};
    hr_model_vocab v;
    void *owned;
    hr_wordpiece *tok;
    if (hr_wordpiece_vocab_from_txt(txt, len, &v, &owned, &err) != 0 ||
        hr_wordpiece_new(&v, &tok, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    free(txt);
    int32_t *ids = malloc(max_ids * sizeof *ids);
    if (!ids)
        return 2;
    char *line = NULL, *text = NULL;
    size_t lcap = 0;
    ssize_t llen;
    while ((llen = getline(&line, &lcap, stdin)) > 0) {
        size_t hexlen = (size_t)llen;
        while (hexlen > 0 && (line[hexlen - 1] == '\n' || line[hexlen - 1] == '\r'))
            hexlen--;
        char *grown = realloc(text, hexlen / 2 + 1);
        if (!grown)
            break;
        text = grown;
        for (size_t i = 0; i + 1 < hexlen; i += 2)
            text[i / 2] = (char)(hexval(line[i]) * 16 + hexval(line[i + 1]));
        size_t n = 0;
        hr_wordpiece_encode(tok, text, hexlen / 2, ids, max_ids, &n, NULL);
        for (size_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    free(line);
    free(text);
    free(ids);
    hr_wordpiece_free(tok);
    free(owned);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--encode") == 0)
        return encode_driver(argv[2], (size_t)strtoul(argv[3], NULL, 10));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_words_and_punctuation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subwords_and_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_word_length_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accents_and_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cjk_and_hangul, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cleaning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_literal_special_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_id_and_errors, setup, teardown),
        cmocka_unit_test(test_generated_tables_are_ordered),
        cmocka_unit_test_setup_teardown(test_ascii_fast_path_matches_tables, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
