/* fuzz_tokens_encode.c: the tokenizer on arbitrary bytes (invalid UTF-8 included). Checks
 * the invariants the counter relies on: pre-tokenisation partitions the input for both
 * encodings; encode then decode gives the input back (ordinary and with special tokens);
 * count equals the number of encoded ids; the scan and heap merges agree on every piece.
 * Uses a synthetic rank table (deterministic, no files), and the real o200k/cl100k tables
 * as well when HEADROOM_DATA_DIR holds them (tests/node/tiktoken_export.mjs writes them). */
#include "tokens/bpe.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 256 bytes plus every 2- and 3-byte string over a small alphabet that mixes ASCII letters,
 * space, apostrophe, a UTF-8 lead byte and a continuation byte. */
static hr_ranks *synthetic_table(void)
{
    static const char A[] = "aest '\n\xc3\xa9";
    const size_t k = sizeof A - 1;
    size_t cap = 256 * 10 + (k * k + k * k * k) * 12 + 64, len = 0, rank = 0;
    char *text = malloc(cap);
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t tok[3];
    for (size_t n = 1; n <= 3; n++) {
        size_t count = n == 1 ? 256 : (n == 2 ? k * k : k * k * k);
        for (size_t i = 0; i < count; i++) {
            if (n == 1) {
                tok[0] = (uint8_t)i;
            } else {
                tok[0] = (uint8_t)A[i % k];
                tok[1] = (uint8_t)A[(i / k) % k];
                if (n == 3)
                    tok[2] = (uint8_t)A[i / (k * k)];
            }
            uint32_t v = (uint32_t)tok[0] << 16 | (n > 1 ? (uint32_t)tok[1] << 8 : 0) | (n > 2 ? tok[2] : 0);
            text[len++] = B64[v >> 18 & 63];
            text[len++] = B64[v >> 12 & 63];
            text[len++] = n > 1 ? B64[v >> 6 & 63] : '=';
            text[len++] = n > 2 ? B64[v & 63] : '=';
            len += (size_t)snprintf(text + len, cap - len, " %zu\n", rank++);
        }
    }
    hr_ranks *r = NULL;
    char err[128];
    if (hr_ranks_parse(text, len, &r, err, sizeof err) != 0) {
        fprintf(stderr, "synthetic table: %s\n", err);
        abort();
    }
    free(text);
    return r;
}

static hr_bpe *encoders[4];
static size_t n_encoders;

static void init(void)
{
    encoders[n_encoders++] = hr_bpe_new(HR_TOK_O200K, synthetic_table());
    encoders[n_encoders++] = hr_bpe_new(HR_TOK_CL100K, synthetic_table());
    const char *dir = getenv("HEADROOM_DATA_DIR");
    for (int e = HR_TOK_O200K; dir && e <= HR_TOK_CL100K; e++) {
        char path[4096];
        hr_ranks *r = NULL;
        snprintf(path, sizeof path, "%s/tokenizers/%s.tiktoken", dir, hr_tok_encoding_name((hr_tok_encoding)e));
        if (hr_ranks_load_file(path, &r, NULL, 0) == 0)
            encoders[n_encoders++] = hr_bpe_new((hr_tok_encoding)e, r);
    }
}

static void check_round_trip(const hr_bpe *b, const char *text, size_t len, int special)
{
    uint32_t *ids = NULL;
    size_t n = 0;
    if (hr_bpe_encode(b, text, len, special, &ids, &n) != 0)
        abort();
    if (!special && n != hr_bpe_count(b, text, len))
        abort();
    char *back = NULL;
    size_t back_len = 0;
    if (hr_bpe_decode(b, ids, n, &back, &back_len) != 0 || back_len != len ||
        memcmp(back, text, len) != 0)
        abort();
    free(back);
    free(ids);
}

static void check_pieces(const hr_bpe *b, hr_tok_encoding enc, const char *text, size_t len)
{
    size_t ends1[512], ends2[512];
    for (size_t pos = 0; pos < len;) {
        size_t k = hr_pretok_next(enc, text, len, pos);
        if (k == 0 || pos + k > len)
            abort();
        if (k <= 512) {
            const uint8_t *p = (const uint8_t *)text + pos;
            size_t a = hr_bpe_merge_scan(hr_bpe_ranks(b), p, k, ends1);
            size_t c = hr_bpe_merge_heap(hr_bpe_ranks(b), p, k, ends2);
            if (a != c || memcmp(ends1, ends2, a * sizeof *ends1) != 0 || ends1[a - 1] != k)
                abort();
        }
        pos += k;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!n_encoders)
        init();
    const char *text = (const char *)data;
    for (size_t i = 0; i < n_encoders; i++) {
        check_pieces(encoders[i], hr_bpe_encoding(encoders[i]), text, size);
        check_round_trip(encoders[i], text, size, 0);
        check_round_trip(encoders[i], text, size, 1);
    }
    return 0;
}
