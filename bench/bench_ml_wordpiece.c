/* bench_ml_wordpiece.c: throughput of the C WordPiece tokenizer, the C arm of
 * bench/bench_ml_wordpiece.mjs (which runs @huggingface/tokenizers on the same texts in the
 * same run). Usage: bench_ml_wordpiece VOCAB_TXT CORPUS_HEX_LINES RUNS [MAX_IDS]
 * Prints one JSON line: texts, bytes, runs, seconds, MB/s, microseconds per text and the
 * sum of all ids (equal to the JS arm's when both tokenized identically). */
#include "ml/wordpiece.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int hexval(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Decodes the hex lines in place; texts[i] / lens[i] point into buf. Returns the count. */
static size_t decode_corpus(char *buf, size_t len, char ***texts, size_t **lens)
{
    size_t cap = 1024, n = 0;
    *texts = malloc(cap * sizeof **texts);
    *lens = malloc(cap * sizeof **lens);
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && buf[j] != '\n')
            j++;
        if (n == cap) {
            cap *= 2;
            *texts = realloc(*texts, cap * sizeof **texts);
            *lens = realloc(*lens, cap * sizeof **lens);
        }
        char *out = buf + i;
        for (size_t k = i; k + 1 < j; k += 2)
            out[(k - i) / 2] = (char)(hexval(buf[k]) * 16 + hexval(buf[k + 1]));
        (*texts)[n] = out;
        (*lens)[n++] = (j - i) / 2;
        i = j + 1;
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s VOCAB_TXT CORPUS_HEX RUNS [MAX_IDS]\n", argv[0]);
        return 2;
    }
    size_t vlen, clen;
    char *vtxt = slurp(argv[1], &vlen), *ctxt = slurp(argv[2], &clen);
    int runs = atoi(argv[3]);
    size_t max_ids = argc > 4 ? (size_t)atoi(argv[4]) : 256;
    if (!vtxt || !ctxt || runs < 1 || max_ids < 2) {
        fprintf(stderr, "bench_ml_wordpiece: cannot read inputs\n");
        return 2;
    }
    hr_ml_error err;
    hr_model_vocab vocab;
    void *owned;
    hr_wordpiece *tok;
    if (hr_wordpiece_vocab_from_txt(vtxt, vlen, &vocab, &owned, &err) != 0 ||
        hr_wordpiece_new(&vocab, &tok, &err) != 0) {
        fprintf(stderr, "bench_ml_wordpiece: %s\n", err.msg);
        return 1;
    }
    char **texts;
    size_t *lens, bytes = 0;
    size_t n = decode_corpus(ctxt, clen, &texts, &lens);
    for (size_t i = 0; i < n; i++)
        bytes += lens[i];
    int32_t *ids = malloc(max_ids * sizeof *ids);
    long long idsum = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < runs; r++) {
        for (size_t i = 0; i < n; i++) {
            size_t got = 0;
            hr_wordpiece_encode(tok, texts[i], lens[i], ids, max_ids, &got, NULL);
            if (r == 0)
                for (size_t k = 0; k < got; k++)
                    idsum += ids[k];
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("{\"arm\":\"headroom C\",\"texts\":%zu,\"bytes\":%zu,\"runs\":%d,\"seconds\":%.4f,"
           "\"mb_per_s\":%.2f,\"us_per_text\":%.2f,\"id_sum\":%lld}\n",
           n, bytes, runs, secs, (double)bytes * runs / secs / 1e6, secs * 1e6 / ((double)n * runs),
           idsum);
    free(ids);
    free(texts);
    free(lens);
    hr_wordpiece_free(tok);
    free(owned);
    free(vtxt);
    free(ctxt);
    return 0;
}
