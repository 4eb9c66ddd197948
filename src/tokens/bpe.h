/* bpe.h: the exact tokenizer behind tokens.h, split in the three parts tiktoken has:
 *   pretok.c  the encoding's pre-tokenisation regex, matched by hand (no regex engine);
 *   ranks.c   the rank table parsed from a standard .tiktoken file (base64 token, rank);
 *   bpe.c     the byte-pair merge loop, encode/count/decode, special tokens, and the
 *             process-wide table singletons loaded lazily from the data dir.
 * Exposed to the rest of the project through tokens.h; this header is for tests, the
 * benchmark and the CLI, which need ids and explicit tables.
 */
#ifndef HR_TOKENS_BPE_H
#define HR_TOKENS_BPE_H

#include "tokens/tokens.h"

#include <stddef.h>
#include <stdint.h>

/* ---- pre-tokeniser (pretok.c) ---- */

/* Byte length of the regex match of encoding enc that starts at text[pos] (pos < len);
 * always >= 1, so repeated calls partition the text exactly as tiktoken's find_iter.
 * Invalid UTF-8 bytes are taken one at a time as characters of no class (like
 * punctuation), so any byte string is split and encodable. */
size_t hr_pretok_next(hr_tok_encoding enc, const char *text, size_t len, size_t pos);

/* The same for GPT-2's pattern, the ByteLevel pre-tokenizer of HF tokenizers (r50k, RoBERTa,
 * ModernBERT): 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
size_t hr_pretok_gpt2_next(const char *text, size_t len, size_t pos);
/* Classes (HR_UC_* of unicode_tables.h) of the character at text[pos] (pos < len) and its
 * byte length in *clen; an invalid UTF-8 byte is one character of no class. */
uint8_t hr_pretok_class_at(const char *text, size_t len, size_t pos, size_t *clen);

/* ---- rank table (ranks.c) ---- */

typedef struct hr_ranks hr_ranks;

/* Parses .tiktoken data. On success *out owns a new table (free with hr_ranks_free) and 0
 * is returned; on malformed data -1 and a reason in err. Requires all 256 single bytes to
 * have ranks (the merge loop relies on it) and unique tokens and ranks. */
int hr_ranks_parse(const char *data, size_t len, hr_ranks **out, char *err, size_t errlen);
int hr_ranks_load_file(const char *path, hr_ranks **out, char *err, size_t errlen);
void hr_ranks_free(hr_ranks *r);

/* Rank of the byte string, or UINT32_MAX when it is not a token. */
uint32_t hr_ranks_lookup(const hr_ranks *r, const uint8_t *bytes, size_t n);
/* Bytes of a rank (NULL when unknown); *n receives the length. */
const uint8_t *hr_ranks_bytes(const hr_ranks *r, uint32_t rank, size_t *n);
size_t hr_ranks_size(const hr_ranks *r);

/* ---- merge loop and encoder (bpe.c) ---- */

/* Merges one piece into tokens the way tiktoken does (lowest rank first, leftmost on
 * ties), writing each token's end offset into ends (capacity n); returns the count.
 * Short pieces use a linear scan, long ones a heap: both are exposed so tests can check
 * they agree. */
size_t hr_bpe_merge(const hr_ranks *r, const uint8_t *piece, size_t n, size_t *ends);
size_t hr_bpe_merge_scan(const hr_ranks *r, const uint8_t *piece, size_t n, size_t *ends);
size_t hr_bpe_merge_heap(const hr_ranks *r, const uint8_t *piece, size_t n, size_t *ends);

typedef struct hr_bpe hr_bpe;

/* Builds an encoder for enc over a rank table; takes ownership of ranks (also on error).
 * NULL on allocation failure. */
hr_bpe *hr_bpe_new(hr_tok_encoding enc, hr_ranks *ranks);
void hr_bpe_free(hr_bpe *b);
const hr_ranks *hr_bpe_ranks(const hr_bpe *b);
hr_tok_encoding hr_bpe_encoding(const hr_bpe *b);

/* The encoder for enc from <data dir>/tokenizers/<name>.tiktoken, loaded on first use and
 * kept for the process (read-only, thread-safe). NULL when the file is missing or invalid;
 * the failure is remembered (no re-reading per call) until hr_tokens_set_data_dir. */
const hr_bpe *hr_bpe_get(hr_tok_encoding enc);
/* Lets hr_bpe_get retry encodings whose load failed (called when the data dir changes). */
void hr_bpe_forget_failures(void);

/* Token ids of text (pieces over 256 KiB are merged in 256 KiB chunks, docs/tokens.md).
 * allow_special: the encoding's special-token strings become their ids
 * (tiktoken encode(allowed_special="all")); otherwise they are ordinary text
 * (encode_ordinary). *ids is malloc'd, owned by the caller. 0 ok, -1 out of memory. */
int hr_bpe_encode(const hr_bpe *b, const char *text, size_t len, int allow_special,
                  uint32_t **ids, size_t *n);
/* Same count as encode_ordinary, without building the id array. */
size_t hr_bpe_count(const hr_bpe *b, const char *text, size_t len);
/* Appends the bytes of ids to *out (malloc'd, caller frees); -1 on an unknown id. */
int hr_bpe_decode(const hr_bpe *b, const uint32_t *ids, size_t n, char **out, size_t *out_len);

#endif
