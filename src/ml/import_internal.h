/* import_internal.h: the parts of `headroom model import` that live beside import.c.
 *
 * import_bpe.c reads what a byte-level BPE tokenizer needs from tokenizer.json (merges,
 * added-token options, ByteLevel settings, the [CLS] $A [SEP] template) into the model
 * file's version 2 tokenizer fields. Only import.c includes this header.
 */
#ifndef HR_ML_IMPORT_INTERNAL_H
#define HR_ML_IMPORT_INTERNAL_H

#include "json/json.h"
#include "ml/model_file.h"

/* The BPE half of tokenizer.json d, over the vocabulary tokens[0..n) already read (ids
 * from the model vocab plus added tokens). Fills meta's bpe_flags, n_merges / merges,
 * n_added / added, cls_id and sep_id (from the post-processor). The merges and added
 * arrays are malloc'd into *owned_merges / *owned_added (caller frees, also on error).
 * Refuses what the C tokenizer does not implement (a normalizer, another pre-tokenizer,
 * byte fallback, dropout, subword prefixes, other templates) with a message naming it.
 * 0 ok; -1 with err filled. */
int hr_import_bpe(const hr_json_doc *d, char *const *tokens, uint32_t n, hr_model_vocab *meta,
                  uint32_t **owned_merges, uint32_t **owned_added, hr_ml_error *err);

#endif
