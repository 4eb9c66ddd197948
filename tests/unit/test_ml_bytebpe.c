/* The byte-level BPE tokenizer (src/ml/bytebpe.h) on a hand-built vocabulary whose expected
 * ids follow from the BPE rules by hand (each case says why): byte mapping (GPT-2's
 * bytes_to_unicode, rebuilt here independently), merge order by rank with leftmost ties,
 * GPT-2 pre-token split, added tokens (two passes, lstrip, rstrip, single_word), the
 * [CLS] ... [SEP] template with truncation, pre-split words without a prefix space, the
 * needed-count contract of hr_bytebpe_encode_word, add_prefix_space, and refusal of a
 * vocabulary without merges (a version 1 model file).
 *
 * The same executable is the driver of tests/node/ml_bpe.test.mjs, which compares ids with
 * @huggingface/tokenizers on the GPT-2-ranked fixture (tools/gen_bpe_fixture.mjs):
 *   test_ml_bytebpe --encode MODEL_FILE MAX   hex text per line -> ids per line
 *   test_ml_bytebpe --words MODEL_FILE MAX    hex words separated by spaces per line ->
 *                                             [CLS] word ids... [SEP], truncated at MAX
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ml/bytebpe.h"
#include "ml/model_file.h"
#include "unit/gpt2_bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a hand-built vocabulary ------------------------------------------------------------ */

/* ids 0..255: the character of byte b is token b; then merges and specials. */
enum {
    ID_AB = 256, ID_ABC, ID_BC, ID_GA, ID_AA, ID_UNK, ID_CLS, ID_SEP, ID_PAD, ID_MASK, ID_SW,
    ID_2SP, ID_R, N_TOK
};
#define SP_ID 32 /* the token of the space byte ("Ġ") */

static char g_strings[N_TOK][16];
static uint32_t g_offsets[N_TOK + 1];
static char g_blob[N_TOK * 16];
static uint32_t g_merges[5 * 3];
static uint32_t g_added[8 * 2];

static hr_model_vocab make_vocab(uint32_t bpe_flags)
{
    for (int b = 0; b < 256; b++)
        g_strings[b][gpt2_byte_utf8((uint8_t)b, g_strings[b])] = 0;
    static const char *const rest[] = {"ab", "abc", "bc", "\xc4\xa0" "a", "aa", "[UNK]", "[CLS]",
                                       "[SEP]", "[PAD]", "[MASK]", "<sw>", "  ", "<r>"};
    for (int i = 0; i < N_TOK - 256; i++)
        strcpy(g_strings[256 + i], rest[i]);
    uint32_t pos = 0;
    for (int i = 0; i < N_TOK; i++) {
        g_offsets[i] = pos;
        memcpy(g_blob + pos, g_strings[i], strlen(g_strings[i]));
        pos += (uint32_t)strlen(g_strings[i]);
    }
    g_offsets[N_TOK] = pos;
    /* rank order: a+b, ab+c, b+c, Ġ+a, a+a */
    const uint32_t m[] = {'a', 'b', ID_AB, ID_AB, 'c', ID_ABC, 'b', 'c', ID_BC,
                          SP_ID, 'a', ID_GA, 'a', 'a', ID_AA};
    memcpy(g_merges, m, sizeof m);
    const uint32_t a[] = {ID_UNK, HR_ADDF_SPECIAL, ID_CLS, HR_ADDF_SPECIAL, ID_SEP, HR_ADDF_SPECIAL,
                          ID_PAD, HR_ADDF_SPECIAL, ID_MASK, HR_ADDF_SPECIAL | HR_ADDF_LSTRIP,
                          ID_SW, HR_ADDF_SINGLE_WORD, ID_2SP, HR_ADDF_NORMALIZED,
                          ID_R, HR_ADDF_RSTRIP};
    memcpy(g_added, a, sizeof a);
    hr_model_vocab v = {0};
    v.kind = HR_TOK_BPE;
    v.n_tokens = N_TOK;
    v.unk_id = ID_UNK;
    v.cls_id = ID_CLS;
    v.sep_id = ID_SEP;
    v.pad_id = ID_PAD;
    v.mask_id = ID_MASK;
    v.offsets = g_offsets;
    v.blob = g_blob;
    v.bpe_flags = bpe_flags;
    v.n_merges = 5;
    v.merges = g_merges;
    v.n_added = 8;
    v.added = g_added;
    return v;
}

static int setup(void **state)
{
    hr_model_vocab v = make_vocab(0);
    hr_ml_error err;
    hr_bytebpe *t;
    if (hr_bytebpe_new(&v, &t, &err) != 0)
        return -1;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    hr_bytebpe_free(*state);
    return 0;
}

/* Word ids of s (pre-split word API) must equal want[0..n). */
static void expect_word(const hr_bytebpe *t, const char *s, const int32_t *want, int n)
{
    int32_t ids[32];
    int got = hr_bytebpe_encode_word(t, s, strlen(s), 1, ids, 32);
    if (got != n)
        fail_msg("'%s': %d ids, want %d", s, got, n);
    for (int i = 0; i < n; i++)
        if (ids[i] != want[i])
            fail_msg("'%s': id %d is %d, want %d", s, i, ids[i], want[i]);
}

/* Whole-text ids (with [CLS] and [SEP]) must equal want. */
static void expect_text(const hr_bytebpe *t, const char *s, const int32_t *want, size_t n)
{
    int32_t ids[64];
    size_t got = 0;
    int trunc = -1;
    assert_int_equal(hr_bytebpe_encode(t, s, strlen(s), ids, 64, &got, &trunc), 0);
    assert_int_equal(trunc, 0);
    if (got != n + 2)
        fail_msg("'%s': %zu ids, want %zu", s, got, n + 2);
    assert_int_equal(ids[0], ID_CLS);
    assert_int_equal(ids[n + 1], ID_SEP);
    for (size_t i = 0; i < n; i++)
        if (ids[1 + i] != want[i])
            fail_msg("'%s': id %zu is %d, want %d", s, i, ids[1 + i], want[i]);
}

static void test_bytes_map_to_their_tokens(void **state)
{
    const hr_bytebpe *t = *state;
    /* NUL maps to U+0100, 0xFF stays; a token id equals its byte only if the map is right */
    expect_word(t, "\x00", (int32_t[]){0}, 0); /* strlen stops at NUL: the empty word */
    int32_t ids[4];
    assert_int_equal(hr_bytebpe_encode_word(t, "\x00", 1, 0, ids, 4), 1);
    assert_int_equal(ids[0], 0);
    expect_word(t, "\xff", (int32_t[]){0xff}, 1);      /* invalid UTF-8: one byte, one token */
    expect_word(t, "x", (int32_t[]){'x'}, 1);
    expect_word(t, "\xc3\xa9", (int32_t[]){0xc3, 0xa9}, 2); /* é: two bytes, no merge */
    assert_int_equal(hr_bytebpe_token_id(t, "\xc4\xa0", 2), SP_ID);
}

static void test_merges_follow_rank_then_position(void **state)
{
    const hr_bytebpe *t = *state;
    /* a+b (rank 0) then ab+c (rank 1) */
    expect_word(t, "abc", (int32_t[]){ID_ABC}, 1);
    /* b c a b: a+b (rank 0) beats b+c (rank 2); then b+c; c+ab has no merge */
    expect_word(t, "bcab", (int32_t[]){ID_BC, ID_AB}, 2);
    /* a a a: two a+a candidates of equal rank, the leftmost merges */
    expect_word(t, "aaa", (int32_t[]){ID_AA, 'a'}, 2);
    expect_word(t, "aaaa", (int32_t[]){ID_AA, ID_AA}, 2);
    /* a b c b c: ab, abc, then the remaining b+c */
    expect_word(t, "abcbc", (int32_t[]){ID_ABC, ID_BC}, 2);
}

static void test_pre_split_words_get_no_prefix_space(void **state)
{
    const hr_bytebpe *t = *state;
    /* every word, first or not, is encoded alone: "a" not "Ġa" */
    int32_t ids[4];
    assert_int_equal(hr_bytebpe_encode_word(t, "a", 1, 1, ids, 4), 1);
    assert_int_equal(ids[0], 'a');
    assert_int_equal(hr_bytebpe_encode_word(t, "a", 1, 0, ids, 4), 1);
    assert_int_equal(ids[0], 'a');
    /* while in running text the space joins the word: " a" -> Ġa */
    expect_text(t, "x a", (int32_t[]){'x', ID_GA}, 2);
}

static void test_gpt2_split(void **state)
{
    const hr_bytebpe *t = *state;
    /* "abc abc abc": pieces "abc", " abc", " abc"; " abc" = Ġ + abc (Ġ+ab has no merge) */
    expect_text(t, "abc abc abc", (int32_t[]){ID_ABC, SP_ID, ID_ABC, SP_ID, ID_ABC}, 5);
    /* letters and digits split: "ab1" -> ab, 1 */
    expect_text(t, "ab1", (int32_t[]){ID_AB, '1'}, 2);
    /* contraction "'s" is its own piece; "a's" -> a, ', s */
    expect_text(t, "a's", (int32_t[]){'a', '\'', 's'}, 3);
    /* trailing spaces stay together at the end, Ġ Ġ */
    expect_text(t, "a\n", (int32_t[]){'a', '\n'}, 2); /* \n maps to U+010A, token 10 */
}

static void test_added_tokens(void **state)
{
    const hr_bytebpe *t = *state;
    /* [MASK] lstrip swallows the space before it */
    expect_text(t, "x [MASK]", (int32_t[]){'x', ID_MASK}, 2);
    /* single_word: inside a word it is text (<, s, w, >), between spaces a token */
    expect_text(t, "x<sw>", (int32_t[]){'x', '<', 's', 'w', '>'}, 5);
    expect_text(t, "x <sw> y", (int32_t[]){'x', SP_ID, ID_SW, SP_ID, 'y'}, 5);
    /* rstrip swallows the spaces after */
    expect_text(t, "x<r>  y", (int32_t[]){'x', ID_R, 'y'}, 3);
    /* a normalized token (two spaces) matches in the second pass, inside the gaps */
    expect_text(t, "a   b", (int32_t[]){'a', ID_2SP, SP_ID, 'b'}, 4);
    /* literal specials in text are their ids */
    expect_text(t, "[CLS]ab", (int32_t[]){ID_CLS, ID_AB}, 2);
}

static void test_truncation_keeps_sep(void **state)
{
    const hr_bytebpe *t = *state;
    int32_t ids[8];
    size_t n = 0;
    int trunc = 0;
    assert_int_equal(hr_bytebpe_encode(t, "abc abc abc", 11, ids, 4, &n, &trunc), 0);
    assert_int_equal(n, 4);
    assert_int_equal(trunc, 1);
    const int32_t want[] = {ID_CLS, ID_ABC, SP_ID, ID_SEP};
    assert_memory_equal(ids, want, sizeof want);
    assert_int_equal(hr_bytebpe_encode(t, "abc abc abc", 11, ids, 7, &n, &trunc), 0);
    assert_int_equal(n, 7);
    assert_int_equal(trunc, 0);
    assert_int_equal(hr_bytebpe_encode(t, "", 0, ids, 2, &n, &trunc), 0);
    assert_int_equal(n, 2);
    assert_int_equal(hr_bytebpe_encode(t, "x", 1, ids, 1, &n, &trunc), -1);
    assert_int_equal(hr_bytebpe_cls_id(t), ID_CLS);
    assert_int_equal(hr_bytebpe_sep_id(t), ID_SEP);
}

static void test_word_reports_needed_count(void **state)
{
    const hr_bytebpe *t = *state;
    int32_t ids[2] = {-7, -7};
    /* needs 2, room for 1: writes the first, reports 2 */
    assert_int_equal(hr_bytebpe_encode_word(t, "abcbc", 5, 0, ids, 1), 2);
    assert_int_equal(ids[0], ID_ABC);
    assert_int_equal(ids[1], -7);
    assert_int_equal(hr_bytebpe_encode_word(t, "abcbc", 5, 0, NULL, 0), 2);
    assert_int_equal(hr_bytebpe_encode_word(t, "", 0, 0, ids, 2), 0);
    /* a long piece (no break for 5,000 bytes) takes the heap path and still merges */
    char *w = malloc(5000);
    assert_non_null(w);
    memset(w, 'a', 5000);
    int32_t *many = malloc(5000 * sizeof *many);
    assert_non_null(many);
    assert_int_equal(hr_bytebpe_encode_word(t, w, 5000, 0, many, 5000), 2500);
    for (int i = 0; i < 2500; i++)
        assert_int_equal(many[i], ID_AA);
    free(many);
    free(w);
    /* a piece over 64 KiB is merged in 64 KiB slices: 100,001 a's = 65,536 + 34,465 a's,
     * i.e. 32,768 aa + (17,232 aa + 1 a) */
    w = malloc(100001);
    many = malloc(60000 * sizeof *many);
    assert_non_null(w);
    assert_non_null(many);
    memset(w, 'a', 100001);
    assert_int_equal(hr_bytebpe_encode_word(t, w, 100001, 0, many, 60000), 32768 + 17232 + 1);
    assert_int_equal(many[32768 + 17232], 'a');
    assert_int_equal(many[32768 + 17231], ID_AA);
    free(many);
    free(w);
}

static void test_add_prefix_space(void **state)
{
    (void)state;
    hr_model_vocab v = make_vocab(HR_BPEF_ADD_PREFIX_SPACE);
    hr_bytebpe *t;
    hr_ml_error err;
    assert_int_equal(hr_bytebpe_new(&v, &t, &err), 0);
    /* every word (and the text) gets " " first: "a" -> Ġa, first or not */
    expect_word(t, "a", (int32_t[]){ID_GA}, 1);
    int32_t ids[4];
    assert_int_equal(hr_bytebpe_encode_word(t, "a", 1, 0, ids, 4), 1);
    assert_int_equal(ids[0], ID_GA);
    expect_text(t, "a a", (int32_t[]){ID_GA, ID_GA}, 2);
    /* a gap after an added token gets its own prefix: "[CLS]a" -> [CLS], Ġa */
    expect_text(t, "[CLS]a", (int32_t[]){ID_CLS, ID_GA}, 2);
    hr_bytebpe_free(t);
}

static void test_refuses_vocab_without_merges(void **state)
{
    (void)state;
    hr_model_vocab v = make_vocab(0);
    v.n_merges = 0; /* what a version 1 model file gives */
    hr_bytebpe *t = (hr_bytebpe *)&v;
    hr_ml_error err = {{0}};
    assert_int_equal(hr_bytebpe_new(&v, &t, &err), -1);
    assert_null(t);
    assert_non_null(strstr(err.msg, "re-import"));
    v = make_vocab(0);
    v.kind = HR_TOK_WORDPIECE;
    assert_int_equal(hr_bytebpe_new(&v, &t, &err), -1);
}

/* ---- driver for tests/node/ml_bpe.test.mjs ---------------------------------------------- */

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes hex s[0..n) into out; returns bytes. */
static size_t unhex(const char *s, size_t n, char *out)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        out[i / 2] = (char)(hexval(s[i]) * 16 + hexval(s[i + 1]));
    return n / 2;
}

/* [CLS] words... [SEP] truncated at max, the way HF truncates is_split_into_words input. */
static size_t encode_words(const hr_bytebpe *t, char *line, size_t len, char *buf, int32_t *ids,
                           size_t max)
{
    size_t n = 1, room = max - 2;
    ids[0] = hr_bytebpe_cls_id(t);
    int first = 1;
    for (char *w = line, *end = line + len; w < end && n - 1 < room;) {
        char *sp = memchr(w, ' ', (size_t)(end - w));
        size_t wl = (size_t)((sp ? sp : end) - w);
        size_t bl = unhex(w, wl, buf);
        int k = hr_bytebpe_encode_word(t, buf, bl, first, ids + n, room - (n - 1));
        if (k < 0)
            return 0;
        n += (size_t)k < room - (n - 1) ? (size_t)k : room - (n - 1);
        first = 0;
        w += wl + 1;
    }
    ids[n++] = hr_bytebpe_sep_id(t);
    return n;
}

static int driver(const char *mode, const char *model, size_t max)
{
    hr_model_file *mf;
    hr_bytebpe *t;
    hr_ml_error err;
    if (hr_model_file_open(model, 0, &mf, &err) != 0 || hr_bytebpe_new(&mf->vocab, &t, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    int32_t *ids = malloc(max * sizeof *ids);
    char *line = NULL, *buf = NULL;
    size_t cap = 0;
    ssize_t got;
    while (ids && (got = getline(&line, &cap, stdin)) > 0) {
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        char *grown = realloc(buf, len / 2 + 1);
        if (!grown)
            break;
        buf = grown;
        size_t n = 0;
        if (!strcmp(mode, "--words"))
            n = encode_words(t, line, len, buf, ids, max);
        else if (hr_bytebpe_encode(t, buf, unhex(line, len, buf), ids, max, &n, NULL) != 0)
            n = 0;
        for (size_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    free(line);
    free(buf);
    free(ids);
    hr_bytebpe_free(t);
    hr_model_file_close(mf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && (!strcmp(argv[1], "--encode") || !strcmp(argv[1], "--words")))
        return driver(argv[1], argv[2], (size_t)strtoul(argv[3], NULL, 10));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bytes_map_to_their_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merges_follow_rank_then_position, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pre_split_words_get_no_prefix_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpt2_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_added_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation_keeps_sep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_word_reports_needed_count, setup, teardown),
        cmocka_unit_test(test_add_prefix_space),
        cmocka_unit_test(test_refuses_vocab_without_merges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
