/* bytebpe.h: the byte-level BPE tokenizer of ModernBERT (Kompress), in C.
 *
 * Behaviour is HuggingFace tokenizers' pipeline for a tokenizer.json with added tokens,
 * no normalizer, the ByteLevel pre-tokenizer, a BPE model with merges and
 * TemplateProcessing "[CLS] $A [SEP]", checked id-for-id against @huggingface/tokenizers
 * (tests/node/ml_bpe.test.mjs). Per text:
 *   1. added tokens are split out, leftmost-longest: first those with normalized = false
 *      over the whole text, then those with normalized = true inside the gaps (the Rust
 *      order); lstrip / rstrip swallow neighbouring whitespace, single_word tokens match
 *      only outside words;
 *   2. each remaining gap: a space is prepended when add_prefix_space is set and the gap
 *      does not start with one, then GPT-2's regex splits it (hr_pretok_gpt2_next);
 *   3. every piece's bytes are one symbol each (the vocabulary holds the 256 byte
 *      characters of GPT-2's bytes_to_unicode map); adjacent symbols are merged by the
 *      lowest merge rank, leftmost first, until no pair has a merge (ignore_merges: a
 *      piece that is a whole token is taken as is).
 * Input bytes are taken as they are: invalid UTF-8 is encoded byte by byte (a JS or Python
 * string of the same bytes would hold U+FFFD instead; the proxy never sends such text).
 * One deliberate difference from HF: a single piece longer than 64 KiB (an unbroken run of
 * letters, digits or punctuation) is merged in 64 KiB slices, so merging never needs more
 * than ~3 MB of scratch; its ids may differ from HF's at the slice seams only.
 *
 * Pre-split words (what the original Kompress does: tokenizer(words,
 * is_split_into_words=True)): HF encodes each word as its own sequence through steps 1-3
 * and concatenates. ModernBERT's tokenizer.json has add_prefix_space = false, so no word,
 * first or not, gets a leading space byte: "the" and "cat" of "the cat" are encoded as
 * "the" and "cat", not "the" and " cat" (transformers issue #37883 shows this; the
 * original calls AutoTokenizer without add_prefix_space). With add_prefix_space = true HF
 * would prefix every word, again first or not; `first` is kept for tokenizers whose
 * prefix rule depends on position (Metaspace's prepend_scheme "first") and is unused here.
 *
 * Ownership: hr_bytebpe_new borrows the vocab's strings, merges and added-token table
 * (e.g. inside a mapped model file; they must outlive the tokenizer) and allocates its
 * hash indexes, released by hr_bytebpe_free. Encoding allocates only for a single piece
 * longer than 256 bytes (a run of letters, digits or punctuation without a break; at most
 * ~3 MB, freed before returning) and, with add_prefix_space, for gaps that long.
 * A tokenizer is read-only after creation and may be shared between threads.
 */
#ifndef HR_ML_BYTEBPE_H
#define HR_ML_BYTEBPE_H

#include "ml/model_file.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hr_bytebpe hr_bytebpe;

/* Builds the tokenizer over vocab (kind HR_TOK_BPE with merges: model format version 2;
 * cls / sep ids valid). 0 ok (*out owned by the caller); -1 with err filled. */
int hr_bytebpe_new(const hr_model_vocab *vocab, hr_bytebpe **out, hr_ml_error *err);
void hr_bytebpe_free(hr_bytebpe *t);

/* One pre-split word w[0..len), encoded as HF encodes one word of is_split_into_words
 * input (see above; first = 1 for a chunk's first word, unused by ByteLevel). Writes up to
 * cap ids; returns the number of ids the word needs (may be > cap; 0 for an empty word),
 * -1 on bad arguments or out of memory. */
int hr_bytebpe_encode_word(const hr_bytebpe *t, const char *w, size_t len, int first,
                           int32_t *ids, size_t cap);

/* Encodes text[0..len) as [CLS] tokens... [SEP] into ids (capacity max_ids >= 2),
 * truncating the tokens so that [SEP] always ends the sequence (HF truncation to
 * max_length = max_ids). *n_out = ids written; truncated (optional) is set to 1 when
 * tokens were cut. 0 ok; -1 on bad arguments or out of memory. */
int hr_bytebpe_encode(const hr_bytebpe *t, const char *text, size_t len, int32_t *ids,
                      size_t max_ids, size_t *n_out, int *truncated);

int32_t hr_bytebpe_cls_id(const hr_bytebpe *t);
int32_t hr_bytebpe_sep_id(const hr_bytebpe *t);

/* Id of a token string, or -1 (exact match on the stored, byte-mapped string). */
int32_t hr_bytebpe_token_id(const hr_bytebpe *t, const char *s, size_t len);

#endif
