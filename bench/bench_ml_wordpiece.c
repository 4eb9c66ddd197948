/* bench_ml_wordpiece.c: throughput of the C WordPiece tokenizer, the C arm of
 * bench/bench_ml_wordpiece.mjs (which runs @huggingface/tokenizers on the same texts in the
 * same run). Usage: bench_ml_wordpiece VOCAB_TXT CORPUS_HEX_LINES RUNS [MAX_IDS]
 * Prints one JSON line: texts, bytes, runs, seconds, MB/s, microseconds per text and the
 * sum of all ids (equal to the JS arm's when both tokenized identically). */
#include "bench_corpus.h"
#include "ml/wordpiece.h"

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
    struct timespec t0;
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
    print_result("headroom C", n, bytes, runs, seconds_since(&t0), idsum);
    free(ids);
    free(texts);
    free(lens);
    hr_wordpiece_free(tok);
    free(owned);
    free(vtxt);
    free(ctxt);
    return 0;
}
