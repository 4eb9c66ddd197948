/* wordpiece.h: the BERT WordPiece tokenizer (all-MiniLM-L6-v2 family), in C.
 *
 * Behaviour is HuggingFace tokenizers' BertNormalizer + BertPreTokenizer + WordPiece +
 * TemplateProcessing "[CLS] $A [SEP]", checked id-for-id against @huggingface/tokenizers
 * (tests/node/ml_tokenizer.test.mjs). Pipeline per text:
 *   1. special tokens ([CLS] [SEP] [PAD] [UNK] [MASK]) written literally in the text are
 *      matched first, as the reference does for its non-normalized added tokens;
 *   2. clean: NUL, U+FFFD and control/format/private-use chars dropped (\t \n \r kept),
 *      whitespace becomes a space;
 *   3. CJK ideographs become words of their own;
 *   4. lowercase (full Unicode, per code point), NFD, non-spacing marks (Mn) dropped;
 *   5. split on whitespace and punctuation (ASCII symbol ranges + Unicode P*);
 *   6. greedy longest-match-first WordPiece with the "##" prefix; a word longer than
 *      max_chars_per_word code points, or with an unmatched rest, becomes [UNK].
 * Invalid UTF-8 bytes decode as U+FFFD and are therefore dropped (what a JS string of the
 * same bytes would give). Unicode tables come from tools/gen_unicode_tables.py.
 *
 * Ownership: hr_wordpiece_new borrows the vocab's strings (e.g. inside a mapped model file;
 * they must outlive the tokenizer) and allocates one block for its hash index, released
 * by hr_wordpiece_free. Encoding allocates nothing. A tokenizer is read-only after
 * creation and may be shared between threads.
 */
#ifndef HR_ML_WORDPIECE_H
#define HR_ML_WORDPIECE_H

#include "ml/model_file.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hr_wordpiece hr_wordpiece;

/* Builds the tokenizer over vocab (kind HR_TOK_WORDPIECE; flags HR_TOKF_*; unk/cls/sep ids
 * valid; prefix e.g. "##"). 0 ok (*out owned by the caller); -1 with err filled. */
int hr_wordpiece_new(const hr_model_vocab *vocab, hr_wordpiece **out, hr_ml_error *err);
void hr_wordpiece_free(hr_wordpiece *tok);

/* Encodes text[0..len) as [CLS] pieces... [SEP] into ids (capacity max_ids >= 2),
 * truncating the pieces so that [SEP] always ends the sequence (max_ids = the model's max
 * sequence length, 256 for MiniLM). *n_out = ids written. If truncated is not NULL it is
 * set to 1 when pieces were cut. 0 ok; -1 if max_ids < 2 or arguments are NULL. */
int hr_wordpiece_encode(const hr_wordpiece *tok, const char *text, size_t len, int32_t *ids,
                        size_t max_ids, size_t *n_out, int *truncated);

/* Id of a token string, or -1 (exact match, no normalisation). */
int32_t hr_wordpiece_token_id(const hr_wordpiece *tok, const char *s, size_t len);

/* Reads a vocab.txt image (one token per line, id = line number, "\r\n" accepted) into
 * *out with BERT defaults (flags = lowercase | strip accents | chinese chars | clean text,
 * prefix "##", max 100 chars per word, special ids looked up by name: [UNK] required,
 * [CLS] and [SEP] required). *owned receives the one allocation holding the offsets and
 * the string blob; free() it after the tokenizer built over *out is freed. 0 / -1. */
int hr_wordpiece_vocab_from_txt(const char *txt, size_t len, hr_model_vocab *out,
                                void **owned, hr_ml_error *err);

#endif
