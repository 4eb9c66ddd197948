/* bench_ml_bytebpe.c: throughput of the C byte-level BPE tokenizer, the C arm of
 * bench/bench_ml_bytebpe.mjs (which runs @huggingface/tokenizers on the same texts in the
 * same run). Usage: bench_ml_bytebpe MODEL_FILE CORPUS_HEX_LINES RUNS [MAX_IDS]
 * Prints two JSON lines, one per mode, each with texts, bytes, runs, seconds, MB/s,
 * microseconds per text and the sum of the first run's ids (equal to the JS arm's when both
 * tokenized alike):
 *   text   hr_bytebpe_encode: [CLS] ... [SEP] truncated at MAX_IDS (default 512);
 *   words  hr_bytebpe_encode_word per space-separated word, no truncation (what the
 *          Kompress compressor calls, word by word). */
#include "bench_corpus.h"
#include "ml/bytebpe.h"

static long long run_texts(const hr_bytebpe *t, char **texts, size_t *lens, size_t n, int runs,
                           int32_t *ids, size_t max_ids)
{
    long long idsum = 0;
    for (int r = 0; r < runs; r++)
        for (size_t i = 0; i < n; i++) {
            size_t got = 0;
            hr_bytebpe_encode(t, texts[i], lens[i], ids, max_ids, &got, NULL);
            for (size_t k = 0; r == 0 && k < got; k++)
                idsum += ids[k];
        }
    return idsum;
}

static long long run_words(const hr_bytebpe *t, char **texts, size_t *lens, size_t n, int runs,
                           int32_t *ids, size_t cap)
{
    long long idsum = 0;
    for (int r = 0; r < runs; r++)
        for (size_t i = 0; i < n; i++)
            for (size_t a = 0; a < lens[i];) {
                size_t b = a;
                while (b < lens[i] && texts[i][b] != ' ')
                    b++;
                int k = b > a ? hr_bytebpe_encode_word(t, texts[i] + a, b - a, a == 0, ids, cap) : 0;
                for (int j = 0; r == 0 && j < k && (size_t)j < cap; j++)
                    idsum += ids[j];
                a = b + 1;
            }
    return idsum;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL_FILE CORPUS_HEX RUNS [MAX_IDS]\n", argv[0]);
        return 2;
    }
    size_t clen;
    char *ctxt = slurp(argv[2], &clen);
    int runs = atoi(argv[3]);
    size_t max_ids = argc > 4 ? (size_t)atoi(argv[4]) : 512;
    hr_model_file *mf;
    hr_bytebpe *tok;
    hr_ml_error err;
    if (!ctxt || runs < 1 || max_ids < 2 || hr_model_file_open(argv[1], 0, &mf, &err) != 0 ||
        hr_bytebpe_new(&mf->vocab, &tok, &err) != 0) {
        fprintf(stderr, "bench_ml_bytebpe: cannot read inputs (%s)\n", ctxt ? err.msg : argv[2]);
        return 2;
    }
    char **texts;
    size_t *lens, bytes = 0;
    size_t n = decode_corpus(ctxt, clen, &texts, &lens);
    for (size_t i = 0; i < n; i++)
        bytes += lens[i];
    size_t cap = max_ids > 1 << 16 ? max_ids : 1 << 16;
    int32_t *ids = malloc(cap * sizeof *ids);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long long sum = run_texts(tok, texts, lens, n, runs, ids, max_ids);
    print_result("headroom C text", n, bytes, runs, seconds_since(&t0), sum);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sum = run_words(tok, texts, lens, n, runs, ids, cap);
    print_result("headroom C words", n, bytes, runs, seconds_since(&t0), sum);
    free(ids);
    free(texts);
    free(lens);
    hr_bytebpe_free(tok);
    hr_model_file_close(mf);
    free(ctxt);
    return 0;
}
