/* The model file (docs/model-format.md) and the importer:
 *   - writer -> reader round trip: config, vocab strings, f32/f16/int8 tensors, 64-byte
 *     alignment, mode 0600, a read-only file-backed mapping (checked in /proc/self/maps);
 *   - corruption: every truncation of a small file, every single-byte flip (caught by the
 *     checksum), and flips with the checksum re-signed (caught by structural validation,
 *     never a crash: the image sits in an exact-size heap block so ASan sees overreads);
 *     wrong version, bad magic, offsets outside the file, misaligned tensors;
 *   - format version 2's byte-level BPE part (merges, options, added tokens) round trip, its
 *     corruptions, and version 1 files still loading (a v1 BPE file has no merges: the
 *     tokenizer refuses it with "re-import");
 *   - format version 3's weight panels: the stored bytes follow the documented layout,
 *     shapes without a panel form are skipped, a version 2 file with panels is refused and
 *     one without them still loads;
 *   - import of a generated HF directory (tools/gen_model.py): sizes, tokenizer, fused QKV
 *     whose dequantised rows match the safetensors originals; malformed safetensors;
 *   - the one read-only mapping helper (hr_ml_map_readonly): what it asks the caller, what
 *     it maps, and each opener keeping its own refusal (model, safetensors, ONNX).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ml_test_files.h"
#include "ml/bytebpe.h"
#include "ml/import.h"
#include "ml/kernels.h"
#include "ml/model_file.h"
#include "ml/onnx.h"
#include "ml/safetensors.h"
#include "sys/hash.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[512];

static int setup(void **state)
{
    (void)state;
    const char *bdir = getenv("HEADROOM_BUILD_DIR");
    snprintf(g_dir, sizeof g_dir, "%s/ml-test-model", bdir ? bdir : ".");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

/* ---- a small model built with the writer --------------------------------------------- */

#define T_VOCAB 8
#define T_H 8
static const char *const k_tokens[T_VOCAB] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                                              "hello", "##lo", "w\xc3\xb6rld"};

static hr_model_config small_config(void)
{
    hr_model_config c;
    memset(&c, 0, sizeof c);
    c.arch = HR_ARCH_BERT;
    c.vocab_size = T_VOCAB;
    c.hidden = T_H;
    c.n_layers = 1;
    c.n_heads = 2;
    c.head_dim = 4;
    c.intermediate = 16;
    c.max_positions = 16;
    c.type_vocab = 2;
    c.pooling = HR_POOL_MEAN;
    c.max_seq = 16;
    c.norm_eps = 1e-12f;
    return c;
}

static float g_w[3 * T_H * T_H], g_b[T_H], g_e[T_VOCAB * T_H];

static void write_small(const char *path)
{
    hr_model_config c = small_config();
    hr_model_writer *w = hr_model_writer_new(&c);
    assert_non_null(w);
    hr_model_vocab meta = {0};
    meta.kind = HR_TOK_WORDPIECE;
    meta.flags = HR_TOKF_LOWERCASE | HR_TOKF_CLEAN_TEXT;
    meta.unk_id = 1, meta.cls_id = 2, meta.sep_id = 3, meta.pad_id = 0, meta.mask_id = 4;
    meta.max_chars_per_word = 100;
    strcpy(meta.prefix, "##");
    assert_int_equal(hr_model_writer_set_vocab(w, &meta, k_tokens, T_VOCAB), 0);
    for (size_t i = 0; i < sizeof g_w / sizeof *g_w; i++)
        g_w[i] = sinf((float)i * 0.37f) * (float)(1 + i % 5);
    for (int i = 0; i < T_H; i++)
        g_b[i] = 0.25f * (float)i - 1.0f;
    for (int i = 0; i < T_VOCAB * T_H; i++)
        g_e[i] = cosf((float)i) * 0.5f;
    hr_ml_error err;
    uint32_t s_w[2] = {3 * T_H, T_H}, s_b[1] = {T_H}, s_e[2] = {T_VOCAB, T_H};
    assert_int_equal(hr_model_writer_add(w, "layer.0.attn.qkv.w", HR_DT_I8, 2, s_w, g_w, &err), 0);
    assert_int_equal(hr_model_writer_add(w, "layer.0.attn.qkv.b", HR_DT_F32, 1, s_b, g_b, &err), 0);
    assert_int_equal(hr_model_writer_add(w, "emb.word", HR_DT_F16, 2, s_e, g_e, &err), 0);
    /* names that do not fit, and int8 of rank 1, are refused */
    assert_int_equal(hr_model_writer_add(w, "x234567890123456789012345678901234567890123456789012345678901234",
                                         HR_DT_F32, 1, s_b, g_b, &err), -1);
    assert_int_equal(hr_model_writer_add(w, "bad", HR_DT_I8, 1, s_b, g_b, &err), -1);
    assert_int_equal(hr_model_writer_write(w, path, &err), 0);
    hr_model_writer_free(w);
}

/* Re-signs an image after an edit, as a careless or hostile writer would. */
static void resign(uint8_t *img, size_t len)
{
    uint8_t hdr[128], sum[32];
    memcpy(hdr, img, 128);
    memset(hdr + 96, 0, 32);
    hr_sha256_ctx h;
    hr_sha256_init(&h);
    hr_sha256_update(&h, hdr, 128);
    hr_sha256_update(&h, img + 128, len - 128);
    hr_sha256_final(&h, sum);
    memcpy(img + 96, sum, 32);
}

/* Parses a private exact-size copy so any overread is an ASan error, not silence. */
static int parse_copy(const uint8_t *img, size_t len, unsigned flags, hr_ml_error *err)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, img, len);
    hr_model_file mf;
    int rc = hr_model_file_parse(copy, len, flags, &mf, err);
    if (rc == 0) { /* a file that parses must give usable views of every tensor */
        for (uint32_t i = 0; i < mf.n_tensors; i++) {
            hr_tensor t;
            assert_int_equal(hr_model_tensor_at(&mf, i, &t), 0);
            const uint8_t *d = t.data;
            assert_true(d >= copy && d + t.count * hr_dtype_size(t.dtype) <= copy + len);
        }
    }
    free(copy);
    return rc;
}

/* 1 if addr lies in a read-only private mapping of a file named like path. */
static int mapped_readonly_from_file(const void *addr, const char *path)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;
    char line[1024];
    int found = 0;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
            continue;
        if ((uintptr_t)addr >= lo && (uintptr_t)addr < hi)
            found = !strcmp(perms, "r--p") && strstr(line, base) != NULL;
    }
    fclose(f);
    return found;
}

static void test_round_trip(void **state)
{
    (void)state;
    char path[600];
    path_of(path, sizeof path, "small.hrm");
    write_small(path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    hr_model_file *mf;
    hr_ml_error err;
    assert_int_equal(hr_model_file_open(path, HR_MODEL_OPEN_VERIFY, &mf, &err), 0);
    assert_int_equal(mf->config.hidden, T_H);
    assert_int_equal(mf->config.n_heads, 2);
    assert_true(mf->config.norm_eps == 1e-12f);
    assert_int_equal(mf->vocab.n_tokens, T_VOCAB);
    assert_int_equal(mf->vocab.cls_id, 2);
    assert_string_equal(mf->vocab.prefix, "##");
    for (int i = 0; i < T_VOCAB; i++) {
        uint32_t a = mf->vocab.offsets[i], b = mf->vocab.offsets[i + 1];
        assert_int_equal(b - a, strlen(k_tokens[i]));
        assert_memory_equal(mf->vocab.blob + a, k_tokens[i], b - a);
    }
    assert_int_equal(mf->n_tensors, 3);

    hr_tensor t;
    assert_int_equal(hr_model_tensor(mf, "layer.0.attn.qkv.b", &t), 0);
    assert_memory_equal(t.data, g_b, sizeof g_b);
    assert_int_equal((uintptr_t)t.data % 64, 0);
    assert_true(mapped_readonly_from_file(t.data, path));

    assert_int_equal(hr_model_tensor(mf, "layer.0.attn.qkv.w", &t), 0);
    assert_int_equal(t.dtype, HR_DT_I8);
    assert_int_equal(t.shape[0], 3 * T_H);
    assert_non_null(t.scales);
    const int8_t *q = t.data;
    for (int r = 0; r < 3 * T_H; r++)
        for (int c = 0; c < T_H; c++) {
            float v = q[r * T_H + c] * t.scales[r], ref = g_w[r * T_H + c];
            assert_true(fabsf(v - ref) <= t.scales[r] * 0.5001f);
        }
    assert_int_equal(hr_model_tensor(mf, "emb.word", &t), 0);
    const uint16_t *h = t.data;
    for (int i = 0; i < T_VOCAB * T_H; i++)
        assert_true(fabsf(hr_f16_to_f32(h[i]) - g_e[i]) <= 1e-3f * fabsf(g_e[i]) + 1e-7f);
    assert_int_equal(hr_model_tensor(mf, "missing", &t), -1);
    hr_model_file_close(mf);

    assert_int_equal(hr_model_file_open("/nonexistent/x.hrm", 0, &mf, &err), -1);
    assert_non_null(strstr(err.msg, "cannot open"));
}

static void test_truncations_fail_cleanly(void **state)
{
    (void)state;
    char path[600];
    path_of(path, sizeof path, "small.hrm");
    write_small(path);
    size_t len;
    uint8_t *img = read_all(path, &len);
    hr_ml_error err;
    assert_int_equal(parse_copy(img, len, HR_MODEL_OPEN_VERIFY, &err), 0);
    for (size_t cut = 0; cut < len; cut++) {
        err.msg[0] = '\0';
        assert_int_equal(parse_copy(img, cut, 0, &err), -1);
        assert_true(err.msg[0] != '\0');
    }
    /* a truncated file on disk gives the same clear error through open */
    char tpath[640];
    path_of(tpath, sizeof tpath, "truncated.hrm");
    FILE *f = fopen(tpath, "wb");
    assert_non_null(f);
    fwrite(img, 1, len - 100, f);
    fclose(f);
    hr_model_file *mf;
    assert_int_equal(hr_model_file_open(tpath, HR_MODEL_OPEN_VERIFY, &mf, &err), -1);
    assert_non_null(strstr(err.msg, "truncated"));
    free(img);
}

static void test_flips(void **state)
{
    (void)state;
    char path[600];
    path_of(path, sizeof path, "small.hrm");
    write_small(path);
    size_t len;
    uint8_t *img = read_all(path, &len);
    hr_ml_error err;
    int structural_rejects = 0;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            img[i] ^= (uint8_t)(1u << bit);
            /* any flip is caught by the checksum (or earlier by the header checks) */
            assert_int_equal(parse_copy(img, len, HR_MODEL_OPEN_VERIFY, &err), -1);
            /* re-signed, structure must hold or fail cleanly; never crash */
            uint8_t saved[32];
            memcpy(saved, img + 96, 32);
            resign(img, len);
            if (parse_copy(img, len, HR_MODEL_OPEN_VERIFY, &err) != 0)
                structural_rejects++;
            memcpy(img + 96, saved, 32);
            img[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* header, config, vocab table and tensor table flips must mostly be rejected */
    assert_true(structural_rejects > 300);
    assert_int_equal(parse_copy(img, len, HR_MODEL_OPEN_VERIFY, &err), 0);
    free(img);
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

typedef struct corruption {
    const char *what, *expect;
    size_t at;
    int width; /* 4 or 8 */
    uint64_t value;
} corruption;

/* Each case: write value at `at` into a copy of img, re-sign, expect a parse error whose
 * message contains `expect`. */
static void expect_corruptions(const uint8_t *img, size_t len, const corruption *cases, size_t n)
{
    uint8_t *work = malloc(len);
    assert_non_null(work);
    hr_ml_error err;
    for (size_t c = 0; c < n; c++) {
        memcpy(work, img, len);
        if (cases[c].width == 4)
            put32(work + cases[c].at, (uint32_t)cases[c].value);
        else
            put64(work + cases[c].at, cases[c].value);
        resign(work, len);
        err.msg[0] = '\0';
        assert_int_equal(parse_copy(work, len, HR_MODEL_OPEN_VERIFY, &err), -1);
        if (!strstr(err.msg, cases[c].expect))
            fail_msg("%s: message '%s' lacks '%s'", cases[c].what, err.msg, cases[c].expect);
    }
    free(work);
}

static void test_specific_corruptions(void **state)
{
    (void)state;
    char path[600];
    path_of(path, sizeof path, "small.hrm");
    write_small(path);
    size_t len;
    uint8_t *img = read_all(path, &len);
    uint64_t table_off;
    memcpy(&table_off, img + 56, 8);
    const corruption cases[] = {
        {"version", "version 4", 8, 4, 4},
        {"magic", "not a headroom model", 0, 4, 0x4c4d5248},
        {"file size", "header says", 16, 8, 1u << 30},
        {"config offset", "config section", 24, 8, 1u << 30},
        {"vocab length", "tokenizer section", 48, 8, (uint64_t)1 << 40},
        {"table misaligned", "tensor table section", 56, 8, 130},
        {"tensor count", "tensor table size", 88, 4, 5},
        {"tensor offset", "outside the data section", table_off + 88, 8, 1u << 30},
        {"tensor misaligned", "misaligned", table_off + 88, 8, 4},
        {"tensor dtype", "bad dtype", table_off + 64, 4, 9},
        {"tensor rank", "bad dtype", table_off + 68, 4, 7},
        {"tensor shape", "data [", table_off + 72, 4, 1000},
        {"int8 scales", "per-row scales", table_off + 104, 8, (uint64_t)1 << 40},
    };
    expect_corruptions(img, len, cases, sizeof cases / sizeof cases[0]);
    free(img);
}

/* ---- format version 2: the byte-level BPE part ----------------------------------------- */

/* A BPE vocab: a, b, ab, [UNK] [CLS] [SEP] [PAD] [MASK]; merge a+b; [MASK] lstrip. */
static const char *const k_bpe_tokens[8] = {"a", "b", "ab", "[UNK]", "[CLS]", "[SEP]", "[PAD]",
                                            "[MASK]"};

static void write_bpe(const char *path)
{
    hr_model_config c = small_config();
    hr_model_writer *w = hr_model_writer_new(&c);
    assert_non_null(w);
    hr_model_vocab meta = {0};
    meta.kind = HR_TOK_BPE;
    meta.unk_id = 3, meta.cls_id = 4, meta.sep_id = 5, meta.pad_id = 6, meta.mask_id = 7;
    static const uint32_t merges[3] = {0, 1, 2};
    static const uint32_t added[4] = {4, HR_ADDF_SPECIAL, 7, HR_ADDF_SPECIAL | HR_ADDF_LSTRIP};
    meta.bpe_flags = HR_BPEF_IGNORE_MERGES;
    meta.n_merges = 1, meta.merges = merges;
    meta.n_added = 2, meta.added = added;
    assert_int_equal(hr_model_writer_set_vocab(w, &meta, k_bpe_tokens, 8), 0);
    assert_int_equal(hr_model_writer_set_bpe(w, &meta), 0);
    hr_ml_error err;
    uint32_t s_e[2] = {T_VOCAB, T_H};
    assert_int_equal(hr_model_writer_add(w, "emb.word", HR_DT_F16, 2, s_e, g_e, &err), 0);
    assert_int_equal(hr_model_writer_write(w, path, &err), 0);
    hr_model_writer_free(w);
}

static void test_bpe_part_round_trip(void **state)
{
    (void)state;
    char path[600];
    path_of(path, sizeof path, "bpe.hrm");
    write_bpe(path);
    hr_model_file *mf;
    hr_ml_error err;
    assert_int_equal(hr_model_file_open(path, HR_MODEL_OPEN_VERIFY, &mf, &err), 0);
    const hr_model_vocab *v = &mf->vocab;
    assert_int_equal(mf->version, HR_MODEL_VERSION);
    assert_int_equal(v->kind, HR_TOK_BPE);
    assert_int_equal(v->bpe_flags, HR_BPEF_IGNORE_MERGES);
    assert_int_equal(v->n_merges, 1);
    assert_int_equal(v->merges[0], 0);
    assert_int_equal(v->merges[1], 1);
    assert_int_equal(v->merges[2], 2);
    assert_int_equal(v->n_added, 2);
    assert_int_equal(v->added[2], 7);
    assert_int_equal(v->added[3], HR_ADDF_SPECIAL | HR_ADDF_LSTRIP);
    assert_int_equal((uintptr_t)v->merges % 4, 0);
    /* the tokenizer runs straight over the mapping */
    hr_bytebpe *t;
    assert_int_equal(hr_bytebpe_new(v, &t, &err), 0);
    int32_t ids[4];
    size_t n;
    assert_int_equal(hr_bytebpe_encode(t, "ab [MASK]", 9, ids, 4, &n, NULL), 0);
    const int32_t want[] = {4, 2, 7, 5}; /* [CLS] ab [MASK] (swallowed the space) [SEP] */
    assert_int_equal(n, 4);
    assert_memory_equal(ids, want, sizeof want);
    hr_bytebpe_free(t);
    hr_model_file_close(mf);
}

static void test_bpe_part_corruptions(void **state)
{
    (void)state;
    char path[600];
    path_of(path, sizeof path, "bpe.hrm");
    write_bpe(path);
    size_t len;
    uint8_t *img = read_all(path, &len);
    uint64_t voff;
    memcpy(&voff, img + 40, 8);
    /* merges follow offsets (9 x 4) and the blob, padded to 4 */
    size_t blob = 0;
    for (int i = 0; i < 8; i++)
        blob += strlen(k_bpe_tokens[i]);
    size_t merges_at = voff + 64 + (9 * 4 + blob + 3) / 4 * 4;
    const corruption cases[] = {
        {"merge id", "outside the vocabulary", merges_at + 4, 4, 8},
        {"merged id", "outside the vocabulary", merges_at + 8, 4, 1000},
        {"bpe flags", "bad BPE options", voff + 52, 4, 1u << 9},
        {"reserved", "bad BPE options", voff + 60, 4, 1},
        {"merge count", "truncated", voff + 48, 4, 100000},
        {"added id", "added token", merges_at + 12, 4, 99},
        {"added flags", "added token", merges_at + 16, 4, 1u << 8},
    };
    expect_corruptions(img, len, cases, sizeof cases / sizeof cases[0]);
    free(img);
}

/* A version 1 file (as earlier builds wrote: version 1, those fields zero) still loads. */
static void test_version1_still_loads(void **state)
{
    (void)state;
    char path[600];
    hr_ml_error err;
    const char *names[2] = {"small.hrm", "bpe.hrm"};
    for (int k = 0; k < 2; k++) {
        path_of(path, sizeof path, names[k]);
        if (k == 0)
            write_small(path);
        else
            write_bpe(path);
        size_t len;
        uint8_t *img = read_all(path, &len);
        uint64_t voff;
        memcpy(&voff, img + 40, 8);
        put32(img + 8, 1);
        memset(img + voff + 48, 0, 16); /* v1 wrote zeros here */
        resign(img, len);
        hr_model_file mf;
        assert_int_equal(hr_model_file_parse(img, len, HR_MODEL_OPEN_VERIFY, &mf, &err), 0);
        assert_int_equal(mf.version, 1);
        assert_int_equal(mf.vocab.n_merges, 0);
        assert_null(mf.vocab.merges);
        hr_tensor t;
        assert_int_equal(hr_model_tensor(&mf, "emb.word", &t), 0);
        if (k == 1) { /* v1 BPE: vocabulary only, the tokenizer asks for a re-import */
            hr_bytebpe *tok;
            assert_int_equal(hr_bytebpe_new(&mf.vocab, &tok, &err), -1);
            assert_non_null(strstr(err.msg, "re-import"));
        }
        free(img);
    }
}

/* Version 3: "<name>.panels" holds the int8 weights in the layout docs/model-format.md
 * gives (checked byte by byte against that formula, not against the packer). */
static void test_panels(void **state)
{
    (void)state;
    enum { R = 64, K = 12 };
    static float wf[R * K];
    for (int i = 0; i < R * K; i++)
        wf[i] = sinf((float)i * 0.71f) * (float)(1 + i % 7);
    hr_model_config c = small_config();
    hr_model_writer *w = hr_model_writer_new(&c);
    assert_non_null(w);
    hr_model_vocab meta = {0};
    meta.kind = HR_TOK_WORDPIECE;
    meta.unk_id = 1, meta.cls_id = 2, meta.sep_id = 3, meta.pad_id = 0, meta.mask_id = 4;
    meta.max_chars_per_word = 100;
    assert_int_equal(hr_model_writer_set_vocab(w, &meta, k_tokens, T_VOCAB), 0);
    hr_ml_error err;
    uint32_t s_w[2] = {R, K}, s_odd[2] = {T_H, T_H};
    assert_int_equal(hr_model_writer_add(w, "a.w", HR_DT_I8, 2, s_w, wf, &err), 0);
    assert_int_equal(hr_model_writer_add(w, "b.w", HR_DT_I8, 2, s_odd, wf, &err), 0);
    assert_int_equal(hr_model_writer_add(w, "c", HR_DT_F32, 2, s_w, wf, &err), 0);
    assert_int_equal(hr_model_writer_add_panels(w, "a.w", &err), 0);
    assert_int_equal(hr_model_writer_add_panels(w, "b.w", &err), 1); /* 8 rows: no panel */
    assert_int_equal(hr_model_writer_add_panels(w, "c", &err), -1);  /* not int8 */
    assert_int_equal(hr_model_writer_add_panels(w, "nope", &err), -1);
    assert_int_equal(hr_model_writer_add(w, "d", HR_DT_I8P, 2, s_w, wf, &err), -1);
    char path[600];
    path_of(path, sizeof path, "panels.hrm");
    assert_int_equal(hr_model_writer_write(w, path, &err), 0);
    hr_model_writer_free(w);

    size_t len;
    uint8_t *img = read_all(path, &len);
    hr_model_file mf;
    assert_int_equal(hr_model_file_parse(img, len, HR_MODEL_OPEN_VERIFY, &mf, &err), 0);
    assert_int_equal(mf.version, 3);
    hr_tensor t, p;
    assert_int_equal(hr_model_tensor(&mf, "a.w", &t), 0);
    assert_int_equal(hr_model_tensor(&mf, "a.w.panels", &p), 0);
    assert_int_equal(hr_model_tensor(&mf, "b.w.panels", &p) == -1, 1);
    assert_int_equal(hr_model_tensor(&mf, "a.w.panels", &p), 0);
    assert_int_equal(p.dtype, HR_DT_I8P);
    assert_true(p.ndim == 2 && p.shape[0] == R && p.shape[1] == K && p.scales == NULL);
    assert_int_equal(((const uint8_t *)p.data - img) % 64, 0);
    const int8_t *q = t.data, *pk = p.data;
    for (int n = 0; n < R; n++)
        for (int i = 0; i < K; i++) {
            const int pan = n / 32, f = n % 32, quad = i / 4, j = i % 4;
            if (pk[((pan * (K / 4) + quad) * 32 + f) * 4 + j] != q[n * K + i])
                fail_msg("panel byte of weight [%d][%d] differs", n, i);
        }
    /* the same file marked version 2: panels are a version 3 dtype */
    put32(img + 8, 2);
    resign(img, len);
    assert_int_equal(hr_model_file_parse(img, len, HR_MODEL_OPEN_VERIFY, &mf, &err), -1);
    assert_non_null(strstr(err.msg, "panels"));
    free(img);
    /* a version 2 file without panels still loads */
    path_of(path, sizeof path, "small.hrm");
    write_small(path);
    img = read_all(path, &len);
    put32(img + 8, 2);
    resign(img, len);
    assert_int_equal(hr_model_file_parse(img, len, HR_MODEL_OPEN_VERIFY, &mf, &err), 0);
    assert_int_equal(mf.version, 2);
    free(img);
}

static void test_f16(void **state)
{
    (void)state;
    const float vals[] = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f,
                          0.333251953125f, 1e-3f};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        float back = hr_f16_to_f32(hr_f32_to_f16(vals[i]));
        assert_true(fabsf(back - vals[i]) <= fabsf(vals[i]) * 4.9e-4f);
        assert_true(signbit(back) == signbit(vals[i]));
    }
    assert_true(isinf(hr_f16_to_f32(hr_f32_to_f16(1e6f))));
    assert_true(isnan(hr_f16_to_f32(hr_f32_to_f16(NAN))));
    assert_true(hr_f16_to_f32(hr_f32_to_f16(1e-9f)) == 0.0f);
    assert_int_equal(hr_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(hr_f32_to_f16(1.0f + 1.0f / 2048), 0x3c00); /* tie rounds to even */
    assert_int_equal(hr_f32_to_f16(1.0f + 3.0f / 2048), 0x3c02);
}

/* ---- import --------------------------------------------------------------------------- */

static int generate_tiny(char *dir, size_t cap)
{
    const char *sdir = getenv("HEADROOM_SOURCE_DIR"), *py = getenv("HEADROOM_PYTHON");
    snprintf(dir, cap, "%s/tiny-s3", g_dir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tools/gen_model.py' --arch bert --size tiny --seed 3 --out '%s' >/dev/null",
             py ? py : "/usr/bin/python3", sdir ? sdir : ".", dir);
    return system(cmd);
}

static void test_import_generated(void **state)
{
    (void)state;
    char dir[600], out[700], st_path[700];
    assert_int_equal(generate_tiny(dir, sizeof dir), 0);
    snprintf(out, sizeof out, "%s.hrm", dir);
    hr_ml_error err;
    if (hr_model_import(dir, out, NULL, &err) != 0)
        fail_msg("import: %s", err.msg);
    hr_model_file *mf;
    assert_int_equal(hr_model_file_open(out, HR_MODEL_OPEN_VERIFY, &mf, &err), 0);
    const hr_model_config *c = &mf->config;
    assert_int_equal(c->arch, HR_ARCH_BERT);
    assert_int_equal(c->hidden, 64);
    assert_int_equal(c->n_layers, 2);
    assert_int_equal(c->n_heads, 4);
    assert_int_equal(c->head_dim, 16);
    assert_int_equal(c->intermediate, 128);
    assert_int_equal(c->max_seq, 256);
    assert_int_equal(c->pooling, HR_POOL_MEAN);
    assert_int_equal(mf->vocab.n_tokens, c->vocab_size);
    assert_int_equal(mf->vocab.cls_id, 101);
    assert_int_equal(mf->vocab.unk_id, 100);
    assert_int_equal(mf->vocab.flags & (HR_TOKF_LOWERCASE | HR_TOKF_STRIP_ACCENTS),
                     HR_TOKF_LOWERCASE | HR_TOKF_STRIP_ACCENTS); /* strip_accents null */
    const hr_model_vocab *v = &mf->vocab;
    assert_memory_equal(v->blob + v->offsets[101], "[CLS]", 5);

    /* fused QKV: rows [H, 2H) are the key projection, row-quantised */
    hr_tensor t;
    assert_int_equal(hr_model_tensor(mf, "layer.1.attn.qkv.w", &t), 0);
    assert_int_equal(t.shape[0], 3 * 64);
    snprintf(st_path, sizeof st_path, "%s/model.safetensors", dir);
    hr_safetensors *st;
    assert_int_equal(hr_safetensors_open(st_path, &st, &err), 0);
    float *key;
    hr_st_info info;
    assert_int_equal(hr_safetensors_read_f32(st, "encoder.layer.1.attention.self.key.weight", &key,
                                             &info, &err), 0);
    assert_int_equal(info.shape[0], 64);
    const int8_t *q = t.data;
    for (int r = 0; r < 64; r++)
        for (int k = 0; k < 64; k++) {
            float deq = q[(64 + r) * 64 + k] * t.scales[64 + r];
            assert_true(fabsf(deq - key[r * 64 + k]) <= t.scales[64 + r] * 0.5001f);
        }
    free(key);
    assert_int_equal(hr_safetensors_read_f32(st, "no.such.tensor", &key, NULL, &err), -1);
    hr_safetensors_close(st);
    hr_model_file_close(mf);

    /* --max-seq is capped by the position table */
    hr_import_opts opts = {1000};
    assert_int_equal(hr_model_import(dir, out, &opts, &err), 0);
    assert_int_equal(hr_model_file_open(out, HR_MODEL_OPEN_VERIFY, &mf, &err), 0);
    assert_int_equal(mf->config.max_seq, 512);
    hr_model_file_close(mf);

    /* a directory without config.json */
    assert_int_equal(hr_model_import(g_dir, out, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "config.json"));
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_safetensors_malformed(void **state)
{
    (void)state;
    char path[700];
    path_of(path, sizeof path, "bad.safetensors");
    hr_safetensors *st;
    hr_ml_error err;
    /* header length beyond the file */
    uint8_t buf[256] = {0};
    put64(buf, 1000);
    write_file(path, buf, 64);
    assert_int_equal(hr_safetensors_open(path, &st, &err), -1);
    assert_non_null(strstr(err.msg, "exceeds"));
    /* data offsets past the end, and not matching the shape */
    const char *hdrs[] = {
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,800]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
        "{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}",
    };
    for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
        size_t hl = strlen(hdrs[i]);
        memset(buf, 0, sizeof buf);
        put64(buf, hl);
        memcpy(buf + 8, hdrs[i], hl);
        write_file(path, buf, 8 + hl + 8);
        assert_int_equal(hr_safetensors_open(path, &st, &err), 0);
        float *data = NULL;
        assert_int_equal(hr_safetensors_read_f32(st, "a", &data, NULL, &err), -1);
        assert_null(data);
        hr_safetensors_close(st);
    }
    /* and a well-formed F16 tensor converts */
    const char *ok = "{\"a\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},\"__metadata__\":{}}";
    size_t hl = strlen(ok);
    memset(buf, 0, sizeof buf);
    put64(buf, hl);
    memcpy(buf + 8, ok, hl);
    uint16_t h[4] = {0x3c00, 0xc000, 0x3800, 0};
    memcpy(buf + 8 + hl, h, 8);
    write_file(path, buf, 8 + hl + 8);
    assert_int_equal(hr_safetensors_open(path, &st, &err), 0);
    assert_int_equal(hr_safetensors_count(st), 1);
    float *data;
    hr_st_info info;
    assert_int_equal(hr_safetensors_read_f32(st, "a", &data, &info, &err), 0);
    assert_int_equal(info.ndim, 2);
    assert_true(data[0] == 1.0f && data[1] == -2.0f && data[2] == 0.5f && data[3] == 0.0f);
    free(data);
    hr_safetensors_close(st);
}

/* ---- the shared read-only mapping ------------------------------------------------------ */

static int g_seen_regular;
static size_t g_seen_size;

static int accept_at_least_4(const char *path, int regular, size_t size, hr_ml_error *err)
{
    g_seen_regular = regular;
    g_seen_size = size;
    if (!regular || size < 4) {
        hr_ml_error_set(err, "%s: the caller's own refusal", path);
        return -1;
    }
    return 0;
}

static void test_map_readonly(void **state)
{
    (void)state;
    char path[700];
    path_of(path, sizeof path, "mapped.bin");
    write_file(path, "abcdefg", 7);
    void *map = (void *)1;
    size_t size = 99;
    hr_ml_error err = {{0}};
    assert_int_equal(hr_ml_map_readonly(path, accept_at_least_4, &map, &size, &err), 0);
    assert_int_equal(g_seen_regular, 1);
    assert_int_equal(g_seen_size, 7);
    assert_int_equal(size, 7);
    assert_memory_equal(map, "abcdefg", 7);
    munmap(map, size);

    /* refused by the caller: its message, nothing held */
    write_file(path, "abc", 3);
    assert_int_equal(hr_ml_map_readonly(path, accept_at_least_4, &map, &size, &err), -1);
    assert_null(map);
    assert_non_null(strstr(err.msg, "the caller's own refusal"));
    /* a directory is not regular; a missing file cannot be opened */
    assert_int_equal(hr_ml_map_readonly(g_dir, accept_at_least_4, &map, &size, &err), -1);
    assert_int_equal(g_seen_regular, 0);
    path_of(path, sizeof path, "no-such-file.bin");
    assert_int_equal(hr_ml_map_readonly(path, accept_at_least_4, &map, &size, &err), -1);
    assert_non_null(strstr(err.msg, "cannot open"));
    assert_null(map);
}

/* Each opener keeps its own size check and message on top of the shared mapping. */
static void test_openers_keep_their_refusals(void **state)
{
    (void)state;
    char path[700];
    path_of(path, sizeof path, "tiny.bin");
    write_file(path, "abc", 3);
    hr_ml_error err = {{0}};
    hr_model_file *mf = NULL;
    assert_int_equal(hr_model_file_open(path, 0, &mf, &err), -1);
    assert_non_null(strstr(err.msg, "3 bytes is too short for a model file"));
    assert_int_equal(hr_model_file_open(g_dir, 0, &mf, &err), -1);
    assert_non_null(strstr(err.msg, "is not a regular file"));
    hr_safetensors *st = NULL;
    assert_int_equal(hr_safetensors_open(path, &st, &err), -1);
    assert_non_null(strstr(err.msg, "too short for safetensors"));
    write_file(path, "", 0);
    hr_onnx_model *om = NULL;
    assert_int_equal(hr_onnx_open(path, &om, &err), -1);
    assert_non_null(strstr(err.msg, "not a non-empty regular file"));
    assert_int_equal(hr_onnx_open(g_dir, &om, &err), -1);
    assert_non_null(strstr(err.msg, "not a non-empty regular file"));
    assert_null(mf);
    assert_null(st);
    assert_null(om);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncations_fail_cleanly),
        cmocka_unit_test(test_flips),
        cmocka_unit_test(test_specific_corruptions),
        cmocka_unit_test(test_bpe_part_round_trip),
        cmocka_unit_test(test_bpe_part_corruptions),
        cmocka_unit_test(test_version1_still_loads),
        cmocka_unit_test(test_panels),
        cmocka_unit_test(test_f16),
        cmocka_unit_test(test_import_generated),
        cmocka_unit_test(test_safetensors_malformed),
        cmocka_unit_test(test_map_readonly),
        cmocka_unit_test(test_openers_keep_their_refusals),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
