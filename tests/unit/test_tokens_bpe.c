/* Unit tests for the rank table (ranks.c) and the merge loop / encoder (bpe.c) over small
 * synthetic .tiktoken tables: hand-worked merges (including leftmost-on-ties), the scan
 * and heap merges agreeing on random pieces, special tokens, decode round trips on
 * invalid UTF-8, malformed rank files, and the data-dir singleton with its fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sys/buf.h"
#include "tokens/bpe.h"
#include "tokens/tokens.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void b64(const uint8_t *in, size_t n, hr_buf *out)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        hr_buf_putc(out, A[v >> 18 & 63]);
        hr_buf_putc(out, A[v >> 12 & 63]);
        hr_buf_putc(out, i + 1 < n ? A[v >> 6 & 63] : '=');
        hr_buf_putc(out, i + 2 < n ? A[v & 63] : '=');
    }
}

/* A .tiktoken text: the 256 single bytes at ranks 0..255, then the given merges. */
static void make_table(hr_buf *out, const char *const *merges, size_t n)
{
    for (int b = 0; b < 256; b++) {
        uint8_t byte = (uint8_t)b;
        b64(&byte, 1, out);
        hr_buf_printf(out, " %d\n", b);
    }
    for (size_t i = 0; i < n; i++) {
        b64((const uint8_t *)merges[i], strlen(merges[i]), out);
        hr_buf_printf(out, " %zu\n", 256 + i);
    }
}

static const char *const MERGES[] = {"ab", "bc", "abc", "aa", "aaaa", "ca", "bb", "cab", "bcab",
                                     " a", " ab", "abcabc", "cc", "ccc", "bca"};
#define N_MERGES (sizeof MERGES / sizeof MERGES[0])

static hr_ranks *table(void)
{
    hr_buf t = HR_BUF_INIT;
    make_table(&t, MERGES, N_MERGES);
    hr_ranks *r = NULL;
    char err[128];
    assert_int_equal(hr_ranks_parse(t.data, t.len, &r, err, sizeof err), 0);
    hr_buf_free(&t);
    return r;
}

static size_t merge_str(const hr_ranks *r, const char *s, size_t *ends, int heap)
{
    return heap ? hr_bpe_merge_heap(r, (const uint8_t *)s, strlen(s), ends)
                : hr_bpe_merge_scan(r, (const uint8_t *)s, strlen(s), ends);
}

static void ranks_lookup_and_bytes(void **state)
{
    (void)state;
    hr_ranks *r = table();
    assert_int_equal(hr_ranks_size(r), 256 + N_MERGES);
    assert_int_equal(hr_ranks_lookup(r, (const uint8_t *)"abc", 3), 258);
    assert_int_equal(hr_ranks_lookup(r, (const uint8_t *)"a", 1), 'a');
    assert_int_equal(hr_ranks_lookup(r, (const uint8_t *)"abd", 3), UINT32_MAX);
    assert_int_equal(hr_ranks_lookup(r, (const uint8_t *)"abcabcabc", 9), UINT32_MAX);
    size_t n = 0;
    const uint8_t *b = hr_ranks_bytes(r, 264, &n);
    assert_non_null(b);
    assert_int_equal(n, 4);
    assert_memory_equal(b, "bcab", 4);
    assert_null(hr_ranks_bytes(r, 9999, &n));
    hr_ranks_free(r);
}

static void hand_worked_merges(void **state)
{
    (void)state;
    hr_ranks *r = table();
    size_t ends[64];
    for (int heap = 0; heap < 2; heap++) {
        /* ab(256) before bc(257), then abc(258): one token. */
        assert_int_equal(merge_str(r, "abc", ends, heap), 1);
        assert_int_equal(ends[0], 3);
        /* "aaa": both pairs are aa(259); the leftmost merges first -> aa|a. */
        assert_int_equal(merge_str(r, "aaa", ends, heap), 2);
        assert_int_equal(ends[0], 2);
        /* aaaaa: aa|a|a|a -> aa|aa|a -> aaaa|a. */
        assert_int_equal(merge_str(r, "aaaaa", ends, heap), 2);
        assert_int_equal(ends[0], 4);
        assert_int_equal(ends[1], 5);
        /* "bcab": pairs bc(257) ca(261) ab(256): ab first, then bc, then bc|ab -> bcab(264). */
        assert_int_equal(merge_str(r, "bcab", ends, heap), 1);
        /* "xyz": no merges, one token per byte. */
        assert_int_equal(merge_str(r, "xyz", ends, heap), 3);
        assert_int_equal(ends[2], 3);
        assert_int_equal(merge_str(r, "q", ends, heap), 1);
    }
    hr_ranks_free(r);
}

static void scan_and_heap_agree_on_random_pieces(void **state)
{
    (void)state;
    hr_ranks *r = table();
    size_t cap = 3000;
    char *s = malloc(cap + 1);
    size_t *e1 = malloc(cap * sizeof *e1), *e2 = malloc(cap * sizeof *e2);
    unsigned seed = 12345;
    for (int iter = 0; iter < 400; iter++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 8) % (iter < 300 ? 200 : cap);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            s[i] = "abc abcx"[(seed >> 16) % 8];
        }
        s[n] = '\0';
        size_t k1 = hr_bpe_merge_scan(r, (const uint8_t *)s, n, e1);
        size_t k2 = hr_bpe_merge_heap(r, (const uint8_t *)s, n, e2);
        assert_int_equal(k1, k2);
        assert_memory_equal(e1, e2, k1 * sizeof *e1);
        assert_int_equal(e1[k1 - 1], n);
        assert_true(k1 <= n);
        for (size_t i = 0; i < k1; i++) /* every part is a token */
            assert_int_not_equal(hr_ranks_lookup(r, (const uint8_t *)s + (i ? e1[i - 1] : 0),
                                                 e1[i] - (i ? e1[i - 1] : 0)),
                                 UINT32_MAX);
    }
    free(s);
    free(e1);
    free(e2);
    hr_ranks_free(r);
}

static void encode_decode_and_special(void **state)
{
    (void)state;
    hr_bpe *b = hr_bpe_new(HR_TOK_O200K, table());
    assert_non_null(b);
    uint32_t *ids = NULL;
    size_t n = 0;
    const char text[] = "abc ab\xff\xfe<|endoftext|>aaa\xe4\xbd";
    size_t len = sizeof text - 1;
    assert_int_equal(hr_bpe_encode(b, text, len, 0, &ids, &n), 0);
    assert_int_equal(hr_bpe_count(b, text, len), n);
    char *back = NULL;
    size_t back_len = 0;
    assert_int_equal(hr_bpe_decode(b, ids, n, &back, &back_len), 0);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, text, len);
    free(back);
    /* Pieces: "abc" -> 258, " ab" -> 266 (whole-piece hits). */
    assert_true(n >= 2);
    assert_int_equal(ids[0], 258);
    assert_int_equal(ids[1], 266);
    free(ids);

    assert_int_equal(hr_bpe_encode(b, text, len, 1, &ids, &n), 0);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found += ids[i] == 199999;
    assert_int_equal(found, 1);
    assert_int_equal(hr_bpe_decode(b, ids, n, &back, &back_len), 0);
    assert_memory_equal(back, text, len);
    free(back);
    free(ids);
    uint32_t bogus = 150000;
    assert_int_equal(hr_bpe_decode(b, &bogus, 1, &back, &back_len), -1);
    assert_int_equal(hr_bpe_count(b, "", 0), 0);
    hr_bpe_free(b);
}

static void long_piece_uses_heap(void **state)
{
    (void)state;
    hr_bpe *b = hr_bpe_new(HR_TOK_CL100K, table());
    size_t n = 200000;
    char *s = malloc(n);
    memset(s, 'a', n); /* one 200 kB piece: aaaa tokens */
    assert_int_equal(hr_bpe_count(b, s, n), n / 4);
    free(s);
    /* 1 MB: merged in 256 KiB chunks (a multiple of 4, so still exact here); ids decode. */
    n = 1 << 20;
    s = malloc(n);
    memset(s, 'a', n);
    s[300000] = '\xc3'; /* a 2-byte character straddling nothing: chunking stays byte-exact */
    s[300001] = '\xa9';
    uint32_t *ids = NULL;
    size_t k = 0;
    assert_int_equal(hr_bpe_encode(b, s, n, 0, &ids, &k), 0);
    assert_int_equal(hr_bpe_count(b, s, n), k);
    char *back = NULL;
    size_t back_len = 0;
    assert_int_equal(hr_bpe_decode(b, ids, k, &back, &back_len), 0);
    assert_int_equal(back_len, n);
    assert_memory_equal(back, s, n);
    free(back);
    free(ids);
    memset(s, 'a', n);
    assert_int_equal(hr_bpe_count(b, s, n), n / 4);
    free(s);
    hr_bpe_free(b);
}

static void malformed_rank_files(void **state)
{
    (void)state;
    hr_ranks *r = (hr_ranks *)1;
    char err[128];
    const char *bad[] = {
        "",
        "YQ== 0\n",                               /* missing bytes */
        "not base64! 0\n",
        "YQ==\n",
        "YQ== x\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(hr_ranks_parse(bad[i], strlen(bad[i]), &r, err, sizeof err), -1);
        assert_null(r);
        assert_true(strlen(err) > 0);
    }
    hr_buf t = HR_BUF_INIT;
    const char *dup_bytes[] = {"ab", "ab"};
    make_table(&t, dup_bytes, 2);
    assert_int_equal(hr_ranks_parse(t.data, t.len, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "twice"));
    hr_buf_reset(&t);
    make_table(&t, NULL, 0);
    hr_buf_puts(&t, "YWI= 5\n"); /* rank 5 reused */
    assert_int_equal(hr_ranks_parse(t.data, t.len, &r, err, sizeof err), -1);
    hr_buf_free(&t);
    assert_int_equal(hr_ranks_load_file("/nonexistent/x.tiktoken", &r, err, sizeof err), -1);
}

static void singleton_loads_from_data_dir_and_falls_back(void **state)
{
    (void)state;
    char dir[] = "/tmp/hr-tokens-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    hr_tokens_set_data_dir(dir);
    hr_tok_encoding used = HR_TOK_O200K;
    assert_int_equal(hr_tokens_count("gpt-4", "abcabc", 6, &used), 2); /* ceil(6/4) */
    assert_int_equal(used, HR_TOK_ESTIMATE);
    char msg[600];
    assert_int_equal(hr_tokens_status(HR_TOK_CL100K, msg, sizeof msg), 0);
    assert_non_null(strstr(msg, "cl100k_base.tiktoken"));

    char path[512];
    snprintf(path, sizeof path, "%s/tokenizers", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/tokenizers/cl100k_base.tiktoken", dir);
    hr_buf t = HR_BUF_INIT;
    make_table(&t, MERGES, N_MERGES);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(t.data, 1, t.len, f), t.len);
    fclose(f);
    hr_buf_free(&t);

    /* The failure is remembered until the data dir is set again. */
    assert_int_equal(hr_tokens_count("gpt-4", "abcabc", 6, &used), 2);
    assert_int_equal(used, HR_TOK_ESTIMATE);
    hr_tokens_set_data_dir(dir);
    assert_int_equal(hr_tokens_count("gpt-4", "abcabc", 6, &used), 1); /* abcabc */
    assert_int_equal(used, HR_TOK_CL100K);
    assert_int_equal(hr_tokens_status(HR_TOK_CL100K, msg, sizeof msg), 1);
    assert_ptr_equal(hr_bpe_get(HR_TOK_CL100K), hr_bpe_get(HR_TOK_CL100K));
    assert_null(hr_bpe_get(HR_TOK_ESTIMATE));
    unlink(path);
    snprintf(path, sizeof path, "%s/tokenizers", dir);
    rmdir(path);
    rmdir(dir);
    hr_tokens_set_data_dir(NULL);
}

typedef struct {
    size_t count;
    const hr_bpe *bpe;
} race_result;

static void *count_in_thread(void *arg)
{
    race_result *r = arg;
    r->count = hr_tokens_count("gpt-4o", "abcabc aaaa bcab", 16, NULL);
    r->bpe = hr_bpe_get(HR_TOK_O200K);
    return NULL;
}

/* First use from several threads at once loads the table exactly once. */
static void singleton_first_use_from_threads(void **state)
{
    (void)state;
    char dir[] = "/tmp/hr-tokens-race-XXXXXX", path[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/tokenizers", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/tokenizers/o200k_base.tiktoken", dir);
    hr_buf t = HR_BUF_INIT;
    make_table(&t, MERGES, N_MERGES);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(t.data, 1, t.len, f), t.len);
    fclose(f);
    hr_buf_free(&t);
    hr_tokens_set_data_dir(dir);
    pthread_t th[6];
    race_result res[6];
    for (int i = 0; i < 6; i++)
        assert_int_equal(pthread_create(&th[i], NULL, count_in_thread, &res[i]), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 6; i++) {
        assert_non_null(res[i].bpe);
        assert_ptr_equal(res[i].bpe, res[0].bpe);
        /* abcabc | " " aaaa (aa merges first, then aaaa) | " " bcab: 5 tokens */
        assert_int_equal(res[i].count, 5);
    }
    uint32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(hr_bpe_encode(res[0].bpe, "abcabc aaaa bcab", 16, 0, &ids, &n), 0);
    assert_int_equal(n, res[0].count);
    free(ids);
    unlink(path);
    snprintf(path, sizeof path, "%s/tokenizers", dir);
    rmdir(path);
    rmdir(dir);
    hr_tokens_set_data_dir(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ranks_lookup_and_bytes),
        cmocka_unit_test(hand_worked_merges),
        cmocka_unit_test(scan_and_heap_agree_on_random_pieces),
        cmocka_unit_test(encode_decode_and_special),
        cmocka_unit_test(long_piece_uses_heap),
        cmocka_unit_test(malformed_rank_files),
        cmocka_unit_test(singleton_loads_from_data_dir_and_falls_back),
        cmocka_unit_test(singleton_first_use_from_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
