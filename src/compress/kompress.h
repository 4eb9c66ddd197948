/* kompress.h: Kompress, the ModernBERT text compressor (docs/compressors.md, "kompress"),
 * and the one ML session it runs through.
 *
 * What it does: split prose into words, score every word with the model's token and span
 * heads (final_scores; the max over a word's tokens), keep a word when its score is above
 * 0.5 (or, with a ratio, the top share of each chunk) or when it is a must-keep word, and
 * write the kept words back with the input's line structure. Fixes of the original's weak
 * points (shared/docs/modernbert.md):
 *   - no word goes unscored: a chunk ends before the word that would pass 512 tokens, and
 *     the next chunk starts with it (a single word longer than a chunk is scored on the
 *     tokens that fit);
 *   - newlines and indentation survive: words are dropped inside lines, each line keeps
 *     its leading whitespace and terminator; a line whose every word was dropped goes;
 *   - must-keep words (numbers, hex, paths, file.ext, --flags, dotted names, CamelCase,
 *     ALLCAPS, snake_case, URLs, quoted strings, error and negation words) are kept
 *     whatever the model says.
 * Same contract as every compressor (compressor.h): one marker (unit "words") naming the
 * content hash of the input, deterministic output (the encoder's results do not depend on
 * the thread count), fail open: a missing or corrupt model, a busy session, a deadline
 * reached (or sure to be reached, at the measured time per chunk) before a chunk, or any
 * error gives "not compressed" and is counted.
 *
 * The session: hr_kompress_open creates one ML session (ml/session.h, kind "kompress",
 * name "kompress"): nothing loads until the first prose section arrives; the helper
 * unloads it when idle, turns callers away after the queue limit and runs on the one
 * worker pool; /debug/memory lists it with the other sessions.
 *
 * Tokenizer seam: the model file's byte-level BPE vocab is turned into a tokenizer when
 * the session first works after a load (and freed at unload) through hr_kompress_tok ops;
 * the default ops are the C byte-level BPE (ml/bytebpe.h).
 *
 * Ownership: hr_kompress_open copies the config's strings; hr_kompress_close closes the
 * session. The instance is thread-safe (calls serialise on the session).
 */
#ifndef HR_COMPRESS_KOMPRESS_H
#define HR_COMPRESS_KOMPRESS_H

#include "compress/compressor.h"
#include "ml/model_file.h"
#include "ml/session.h"
#include "sys/buf.h"

#include <stddef.h>
#include <stdint.h>

#define HR_KOMPRESS_CHUNK_WORDS 350 /* words per chunk, as the original */
#define HR_KOMPRESS_MIN_WORDS 10    /* fewer words pass through */
#define HR_KOMPRESS_MIN_BYTES 2048  /* default size threshold for routing a section here */

/* Tokenizer ops: make one from the model file's vocab (its strings live in the mapping,
 * which outlives the tokenizer), encode one pre-split word (first: the chunk's first
 * word), give ids back. encode_word returns how many ids the word needs (may exceed cap;
 * ids[0..min(need, cap)) are written) or -1. */
typedef struct hr_kompress_tok {
    const char *name;
    int (*make)(const hr_model_vocab *v, void **tok, hr_ml_error *err);
    void (*free)(void *tok);
    int (*encode_word)(const void *tok, const char *w, size_t len, int first, int32_t *ids,
                       size_t cap);
} hr_kompress_tok;

/* The C byte-level BPE, or NULL when this build has none (Kompress then fails open with
 * "no byte-level BPE tokenizer in this build"). */
const hr_kompress_tok *hr_kompress_default_tok(void);

typedef struct hr_kompress_config {
    const char *model_path;     /* headroom model file (copied) */
    size_t min_bytes;           /* sections shorter than this go elsewhere (HR_KOMPRESS_MIN_BYTES) */
    int code;                   /* 1: code sections are sent here too (default 0) */
    double ratio;               /* 0: keep score > 0.5; (0,1): keep top max(1, n*ratio) per chunk */
    long idle_unload_ms;        /* HR_ML_FROM_ENV (ml/session.h) or ms; 0 never */
    long queue_ms;              /* HR_ML_FROM_ENV or ms */
    const hr_kompress_tok *tok; /* NULL: hr_kompress_default_tok() */
} hr_kompress_config;

void hr_kompress_config_init(hr_kompress_config *c, const char *model_path);

typedef struct hr_kompress hr_kompress;

/* Opens the instance and its (unloaded) session. NULL with err filled on a bad config. */
hr_kompress *hr_kompress_open(const hr_kompress_config *c, hr_ml_error *err);
void hr_kompress_close(hr_kompress *k); /* NULL is a no-op */

const char *hr_kompress_model_path(const hr_kompress *k);
hr_ml_session *hr_kompress_session(hr_kompress *k);

/* 1 when a section of this kind and size goes to Kompress (k may be NULL: no). */
int hr_kompress_wants(const hr_kompress *k, int is_code, size_t len);

typedef struct hr_kompress_stats {
    uint64_t calls;      /* sections handed to Kompress */
    uint64_t compressed; /* of those, compressed (before the pipeline's ratio rule) */
    uint64_t passed;     /* too few words, or nothing worth dropping */
    uint64_t failed_open;/* errors + busy + deadline: forwarded without Kompress */
    uint64_t errors, busy, deadline;
    uint64_t words_in, words_kept; /* over compressed sections */
    uint64_t chunks;     /* encoder runs */
    double chunk_ms;     /* moving mean time of one chunk (0 before the first): a section
                            whose chunks cannot end before the deadline is not started */
    char last_error[256];
} hr_kompress_stats;

void hr_kompress_stats_get(hr_kompress *k, hr_kompress_stats *out);
/* {"model":"...","calls":..,...,"session":{...}} */
int hr_kompress_stats_json(hr_kompress *k, hr_buf *out);

/* Compresses in[0..len) (compressor contract). deadline_ms: CLOCK_MONOTONIC milliseconds
 * after which no further chunk starts (0 = none); past it the result is "not compressed".
 * 0 (res filled, maybe not compressed: fail open counted in the stats), -1 out of memory. */
int hr_kompress_compress(hr_kompress *k, const char *in, size_t len, double deadline_ms,
                         hr_compress_result *res);

/* Compressor contract through opts->kompress (not compressed when it is NULL). */
int hr_compress_kompress(const char *in, size_t len, const hr_compress_opts *opts,
                         hr_compress_result *res);

/* Per-word scores only (for checks against a reference): words as the compressor splits
 * them, scores[i] the max final_score of word i's tokens. *n_words receives the count;
 * scores may be NULL to count. HR_ML_OK / HR_ML_BUSY / HR_ML_ERROR (err filled). */
hr_ml_rc hr_kompress_score_words(hr_kompress *k, const char *in, size_t len, float *scores,
                                 size_t cap, size_t *n_words, hr_ml_error *err);

/* final_scores of ids already made ([CLS] ... [SEP], 1 <= n <= the session's max_seq)
 * through the same session and scratch (benchmarks and checks that feed fixed ids).
 * scores receives n floats. HR_ML_OK / HR_ML_BUSY / HR_ML_ERROR. */
hr_ml_rc hr_kompress_score_ids(hr_kompress *k, const int32_t *ids, int n, float *scores,
                               hr_ml_error *err);

/* ---- the text side, pure functions (exposed for tests) ------------------------------ */

typedef struct hr_kword {
    size_t start, len; /* the word in the input: a maximal run of non-whitespace bytes */
    uint32_t line;     /* 0-based line of the input it sits on */
    uint8_t must;      /* a must-keep word */
} hr_kword;

typedef struct hr_kwords {
    hr_kword *v; /* owned */
    size_t n;
} hr_kwords;

/* Splits in[0..len) into words (spaces, tabs, CR, LF, FF and VT separate) and marks the
 * must-keep ones (quoted runs across words included). 0 ok, -1 out of memory. */
int hr_kompress_split(const char *in, size_t len, hr_kwords *out);
void hr_kwords_free(hr_kwords *w);

/* 1 if the word alone is a must-keep word (see the top of this file). */
int hr_kompress_must_keep(const char *w, size_t n);

/* Writes the kept words (keep[i] != 0) back into lines: every line that keeps a word
 * keeps its indentation and terminator; a kept word after another on its line is preceded
 * by the whitespace that preceded it in the input; blank lines stay blank (one terminator
 * each). Appends to out. 0 ok, -1 out of memory. */
int hr_kompress_render(const char *in, size_t len, const hr_kwords *w, const uint8_t *keep,
                       hr_buf *out);

#endif
