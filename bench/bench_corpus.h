/* bench_corpus.h: the hex-lines corpus format the ML tokenizer benchmarks share (one text
 * per line, hex-encoded so every byte reaches the tokenizer as the JS arm sees it), and the
 * one-JSON-line result both C arms print. Header-only: each bench is its own program. */
#ifndef HR_BENCH_CORPUS_H
#define HR_BENCH_CORPUS_H

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

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void print_result(const char *arm, size_t n, size_t bytes, int runs, double secs,
                         long long idsum)
{
    printf("{\"arm\":\"%s\",\"texts\":%zu,\"bytes\":%zu,\"runs\":%d,\"seconds\":%.4f,"
           "\"mb_per_s\":%.2f,\"us_per_text\":%.2f,\"id_sum\":%lld}\n",
           arm, n, bytes, runs, secs, (double)bytes * runs / secs / 1e6,
           secs * 1e6 / ((double)n * runs), idsum);
}

#endif
