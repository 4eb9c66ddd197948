/* libFuzzer target: the WordPiece tokenizer must never crash on arbitrary bytes, every id
 * must be in the vocabulary, output must be [CLS] ... [SEP] within max_ids, and truncation
 * must be a prefix of the untruncated encoding (what the embedder relies on). */
#include "ml/wordpiece.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char VOCAB[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n##a\nb\n##b\nab\n##ab\n"
                            "the\n##s\n,\n.\n!\n中\ncafe\n##e\né\n##é\n1\n##1\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hr_wordpiece *tok;
    static hr_model_vocab vocab;
    static void *owned;
    if (!tok) { /* built once; lives for the fuzzing process */
        hr_ml_error err;
        if (hr_wordpiece_vocab_from_txt(VOCAB, sizeof VOCAB - 1, &vocab, &owned, &err) != 0 ||
            hr_wordpiece_new(&vocab, &tok, &err) != 0)
            abort();
    }
    if (size < 1)
        return 0;
    size_t small = 2 + data[0] % 16;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    static int32_t full[4096], cut[20];
    size_t nf = 0, nc = 0;
    int tf = 0, tc = 0;
    if (hr_wordpiece_encode(tok, text, len, full, 4096, &nf, &tf) != 0 ||
        hr_wordpiece_encode(tok, text, len, cut, small, &nc, &tc) != 0)
        abort();
    if (nf < 2 || nf > 4096 || full[0] != vocab.cls_id || full[nf - 1] != vocab.sep_id)
        abort();
    for (size_t i = 0; i < nf; i++)
        if (full[i] < 0 || (uint32_t)full[i] >= vocab.n_tokens)
            abort();
    if (nc > small || cut[nc - 1] != vocab.sep_id)
        abort();
    if (!tf && (memcmp(cut, full, (nc - 1) * sizeof *cut) != 0 || tc != (nf > small)))
        abort();
    return 0;
}
