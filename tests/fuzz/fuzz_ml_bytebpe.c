/* libFuzzer target: the byte-level BPE tokenizer on arbitrary bytes (invalid UTF-8
 * included) must never crash; every id must be in the vocabulary; whole texts must be
 * [CLS] ... [SEP] within max_ids with truncation a prefix of the full encoding; and, since
 * no added token here strips whitespace, encoding must be lossless: the bytes of the ids
 * are the input, for whole texts and for the input taken as one pre-split word (whose
 * needed count must not depend on the room given). */
#include "ml/bytebpe.h"
#include "unit/gpt2_bytes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ids 0..255: byte b; then merges; then added tokens (not stripping). */
static const struct {
    int left, right;
} MERGES[] = {{'t', 'h'}, {256, 'e'}, {' ', 'a'}, {'a', 'a'}, {259, 259}, {0xC3, 0xA9},
              {' ', ' '}, {262, 262}, {'\n', '\n'}, {'1', '2'}};
#define N_MERGES (int)(sizeof MERGES / sizeof MERGES[0])
static const char *const ADDED[] = {"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "<sw>", "   "};
static const uint32_t ADDED_FLAGS[] = {1, 1, 1, 1, 1, HR_ADDF_SINGLE_WORD, HR_ADDF_NORMALIZED};
#define N_ADDED (int)(sizeof ADDED / sizeof ADDED[0])
#define N_TOK (256 + N_MERGES + N_ADDED)

static char g_bytes[N_TOK][16];   /* raw bytes of each token */
static size_t g_blen[N_TOK];
static char g_blob[N_TOK * 32];
static uint32_t g_offsets[N_TOK + 1], g_merges[3 * N_MERGES], g_added[2 * N_ADDED];

static hr_model_vocab build(void)
{
    for (int b = 0; b < 256; b++)
        g_bytes[b][0] = (char)b, g_blen[b] = 1;
    for (int m = 0; m < N_MERGES; m++) {
        int l = MERGES[m].left, r = MERGES[m].right, id = 256 + m;
        memcpy(g_bytes[id], g_bytes[l], g_blen[l]);
        memcpy(g_bytes[id] + g_blen[l], g_bytes[r], g_blen[r]);
        g_blen[id] = g_blen[l] + g_blen[r];
        g_merges[3 * m] = (uint32_t)l, g_merges[3 * m + 1] = (uint32_t)r, g_merges[3 * m + 2] = (uint32_t)id;
    }
    size_t pos = 0;
    for (int id = 0; id < N_TOK; id++) {
        g_offsets[id] = (uint32_t)pos;
        if (id < 256 + N_MERGES) {
            for (size_t k = 0; k < g_blen[id]; k++)
                pos += gpt2_byte_utf8((uint8_t)g_bytes[id][k], g_blob + pos);
        } else {
            const char *a = ADDED[id - 256 - N_MERGES];
            g_blen[id] = strlen(a);
            memcpy(g_bytes[id], a, g_blen[id]);
            memcpy(g_blob + pos, a, g_blen[id]);
            pos += g_blen[id];
            g_added[2 * (id - 256 - N_MERGES)] = (uint32_t)id;
            g_added[2 * (id - 256 - N_MERGES) + 1] = ADDED_FLAGS[id - 256 - N_MERGES];
        }
    }
    g_offsets[N_TOK] = (uint32_t)pos;
    hr_model_vocab v = {0};
    v.kind = HR_TOK_BPE;
    v.n_tokens = N_TOK;
    v.unk_id = 256 + N_MERGES, v.cls_id = v.unk_id + 1, v.sep_id = v.unk_id + 2;
    v.pad_id = v.unk_id + 3, v.mask_id = v.unk_id + 4;
    v.offsets = g_offsets;
    v.blob = g_blob;
    v.n_merges = N_MERGES, v.merges = g_merges;
    v.n_added = N_ADDED, v.added = g_added;
    return v;
}

/* The ids' bytes equal text[0..len). */
static void check_lossless(const int32_t *ids, size_t n, const uint8_t *text, size_t len)
{
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= N_TOK)
            abort();
        size_t k = g_blen[ids[i]];
        if (pos + k > len || memcmp(text + pos, g_bytes[ids[i]], k) != 0)
            abort();
        pos += k;
    }
    if (pos != len)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hr_bytebpe *tok;
    static hr_model_vocab vocab;
    if (!tok) { /* built once; lives for the fuzzing process */
        hr_ml_error err;
        vocab = build();
        if (hr_bytebpe_new(&vocab, &tok, &err) != 0)
            abort();
    }
    if (size < 1 || size > 4000)
        return 0;
    size_t small = 2 + data[0] % 16;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    static int32_t full[4096], cut[20], word[4096];
    size_t nf = 0, nc = 0;
    int tf = 0, tc = 0;
    if (hr_bytebpe_encode(tok, text, len, full, 4096, &nf, &tf) != 0 ||
        hr_bytebpe_encode(tok, text, len, cut, small, &nc, &tc) != 0)
        abort();
    if (tf || nf < 2 || full[0] != vocab.cls_id || full[nf - 1] != vocab.sep_id)
        abort();
    check_lossless(full + 1, nf - 2, (const uint8_t *)text, len);
    if (nc > small || cut[nc - 1] != vocab.sep_id || tc != (nf > small) ||
        memcmp(cut, full, (nc - 1) * sizeof *cut) != 0)
        abort();
    int nw = hr_bytebpe_encode_word(tok, text, len, 1, word, 4096);
    int nw_small = hr_bytebpe_encode_word(tok, text, len, 0, cut, small);
    if (nw < 0 || nw != nw_small || memcmp(cut, word, (size_t)(nw < (int)small ? nw : (int)small) * sizeof *cut))
        abort();
    check_lossless(word, (size_t)nw, (const uint8_t *)text, len);
    return 0;
}
