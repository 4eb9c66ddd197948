/* fuzz_ml_model: the model file reader must reject any corrupt image with an error and
 * never read outside it. Inputs are used two ways: as a whole image, and as a list of
 * (offset, byte) edits applied to a valid small model (so the fuzzer reaches the checks
 * behind the magic and version). Edited images are parsed without the checksum (the
 * structural checks alone must hold) and every view a successful parse hands out (tensor
 * data, scales, vocab strings) is read end to end, so ASan sees any out-of-bounds view.
 */
#include "ml/model_file.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t *g_valid;
static size_t g_valid_len;

/* A 1-layer-shaped model with every dtype, written once through the real writer. */
static void build_valid(void)
{
    hr_model_config c;
    memset(&c, 0, sizeof c);
    c.arch = HR_ARCH_BERT, c.vocab_size = 6, c.hidden = 8, c.n_layers = 1, c.n_heads = 2;
    c.head_dim = 4, c.intermediate = 16, c.max_positions = 8, c.type_vocab = 1;
    c.pooling = HR_POOL_MEAN, c.max_seq = 8, c.norm_eps = 1e-12f;
    hr_model_writer *w = hr_model_writer_new(&c);
    static const char *const tokens[6] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "##b"};
    hr_model_vocab v;
    memset(&v, 0, sizeof v);
    v.kind = HR_TOK_WORDPIECE, v.unk_id = 1, v.cls_id = 2, v.sep_id = 3, v.mask_id = -1;
    v.max_chars_per_word = 100;
    strcpy(v.prefix, "##");
    hr_model_writer_set_vocab(w, &v, tokens, 6);
    float data[6 * 8];
    for (int i = 0; i < 48; i++)
        data[i] = (float)(i % 7) - 3.0f;
    uint32_t s2[2] = {6, 8}, s1[1] = {8};
    hr_ml_error err;
    hr_model_writer_add(w, "emb.word", HR_DT_F16, 2, s2, data, &err);
    hr_model_writer_add(w, "q.w", HR_DT_I8, 2, s2, data, &err);
    hr_model_writer_add(w, "q.b", HR_DT_F32, 1, s1, data, &err);
    char path[] = "/tmp/fuzz_ml_model_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    close(fd);
    if (hr_model_writer_write(w, path, &err) != 0)
        abort();
    hr_model_writer_free(w);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    g_valid_len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    g_valid = malloc(g_valid_len);
    if (fread(g_valid, 1, g_valid_len, f) != g_valid_len)
        abort();
    fclose(f);
    unlink(path);
}

static volatile uint32_t g_sink;

static void touch_views(const uint8_t *img, size_t len, unsigned flags)
{
    uint8_t *copy = malloc(len ? len : 1); /* exact size: overreads are ASan errors */
    memcpy(copy, img, len);
    hr_model_file mf;
    hr_ml_error err;
    if (hr_model_file_parse(copy, len, flags, &mf, &err) == 0) {
        for (uint32_t i = 0; i < mf.n_tensors; i++) {
            hr_tensor t;
            if (hr_model_tensor_at(&mf, i, &t) != 0)
                abort(); /* validated at parse: must resolve */
            const uint8_t *d = t.data;
            for (size_t b = 0; b < t.count * hr_dtype_size(t.dtype); b++)
                g_sink += d[b];
            if (t.scales)
                for (uint32_t r = 0; r < t.shape[0]; r++)
                    g_sink += (uint32_t)t.scales[r];
        }
        const hr_model_vocab *v = &mf.vocab;
        for (uint32_t i = 0; i < v->n_tokens; i++)
            for (uint32_t b = v->offsets[i]; b < v->offsets[i + 1]; b++)
                g_sink += (uint8_t)v->blob[b];
    } else if (err.msg[0] == '\0') {
        abort(); /* every failure explains itself */
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_valid)
        build_valid();
    touch_views(data, size, HR_MODEL_OPEN_VERIFY);
    touch_views(data, size, 0);
    /* edits: 3 bytes each = 16-bit offset into the valid image + new byte value */
    uint8_t *img = malloc(g_valid_len);
    memcpy(img, g_valid, g_valid_len);
    for (size_t i = 0; i + 3 <= size; i += 3) {
        size_t off = ((size_t)data[i] | (size_t)data[i + 1] << 8) % g_valid_len;
        img[off] = data[i + 2];
    }
    size_t len = g_valid_len;
    if (size % 3 == 1) /* a trailing byte truncates */
        len = (size_t)data[size - 1] * g_valid_len / 256;
    touch_views(img, len, 0);
    free(img);
    return 0;
}
