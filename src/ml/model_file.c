/* model_file.c: reads (mmap, validate) and writes the headroom model file.
 *
 * The layout is documented in docs/model-format.md; the offsets below are that document
 * in code. Reading never trusts a number from the file: every section and tensor is
 * bounds-checked with overflow-safe arithmetic before a pointer into the mapping is made,
 * so fuzzed, truncated or foreign files fail with a message instead of faulting.
 */
#include "ml/model_file.h"

#include "ml/kernels.h"

#include "sys/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- layout constants (docs/model-format.md) ----------------------------------------- */

enum {
    HDR_BYTES = 128,
    HDR_VERSION = 8,
    HDR_HEADER_BYTES = 12,
    HDR_FILE_SIZE = 16,
    HDR_CONFIG = 24, /* off, len */
    HDR_VOCAB = 40,
    HDR_TABLE = 56,
    HDR_DATA = 72,
    HDR_N_TENSORS = 88,
    HDR_FLAGS = 92,
    HDR_CHECKSUM = 96, /* 32 bytes, zero while hashing */
    CONFIG_BYTES = 128,
    VOCAB_FIXED = 64,  /* fixed part of the tokenizer section */
    VOCAB_N_MERGES = 48, /* version 2: BPE merges, options, added tokens */
    VOCAB_BPE_FLAGS = 52,
    VOCAB_N_ADDED = 56,
    VOCAB_RESERVED = 60,
    ENTRY_BYTES = 128,
    ENTRY_DTYPE = 64,
    ENTRY_NDIM = 68,
    ENTRY_SHAPE = 72,
    ENTRY_OFFSET = 88,
    ENTRY_NBYTES = 96,
    ENTRY_SCALE_OFFSET = 104,
    ENTRY_SCALE_KIND = 112,
};

_Static_assert(sizeof(hr_model_config) == CONFIG_BYTES, "config section is 128 bytes");

/* Sanity limits: far above any encoder we run, low enough that products cannot overflow. */
#define MAX_DIM (1u << 24)
#define MAX_TENSORS 100000u
#define MAX_VOCAB (1u << 22)
#define KNOWN_BPEF (HR_BPEF_ADD_PREFIX_SPACE | HR_BPEF_IGNORE_MERGES | HR_BPEF_NO_REGEX)
#define KNOWN_ADDF (HR_ADDF_SPECIAL | HR_ADDF_NORMALIZED | HR_ADDF_LSTRIP | HR_ADDF_RSTRIP | \
                    HR_ADDF_SINGLE_WORD)

/* Bytes of the tokenizer section's variable part: offsets, blob, padding to 4, then (BPE,
 * version 2) the merge triples and added-token pairs. */
static uint64_t vocab_tail_bytes(uint64_t n_tokens, uint64_t blob_len, uint64_t n_merges,
                                 uint64_t n_added)
{
    uint64_t strings = (n_tokens + 1) * 4 + blob_len;
    return (strings + 3) / 4 * 4 + n_merges * 12 + n_added * 8;
}

void hr_ml_error_set(hr_ml_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

int hr_ml_map_readonly(const char *path, hr_ml_map_accept accept, void **map, size_t *size,
                       hr_ml_error *err)
{
    *map = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        hr_ml_error_set(err, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    int known = fstat(fd, &st) == 0;
    int regular = known && S_ISREG(st.st_mode);
    size_t len = known && st.st_size > 0 ? (size_t)st.st_size : 0;
    if (accept(path, regular, len, err) != 0) {
        close(fd);
        return -1;
    }
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd); /* the mapping keeps the file referenced */
    if (m == MAP_FAILED) {
        hr_ml_error_set(err, "cannot map %s: %s", path, strerror(errno));
        return -1;
    }
    *map = m;
    *size = len;
    return 0;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static size_t align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

/* 1 if [off, off+len) lies inside [0, size). */
static int in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

const char *hr_dtype_name(uint32_t dtype)
{
    switch (dtype) {
    case HR_DT_F32: return "f32";
    case HR_DT_F16: return "f16";
    case HR_DT_I8: return "i8";
    case HR_DT_I8P: return "i8panels";
    default: return "?";
    }
}

size_t hr_dtype_size(uint32_t dtype)
{
    switch (dtype) {
    case HR_DT_F32: return 4;
    case HR_DT_F16: return 2;
    case HR_DT_I8: return 1;
    case HR_DT_I8P: return 1;
    default: return 0;
    }
}

const char *hr_arch_name(uint32_t arch)
{
    switch (arch) {
    case HR_ARCH_BERT: return "bert";
    case HR_ARCH_MODERNBERT: return "modernbert";
    case HR_ARCH_SIGLIP: return "siglip";
    default: return "?";
    }
}

/* ---- fp16 (IEEE binary16), portable so files read the same on every CPU --------------- */

float hr_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t hr_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
    if (absx >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
        return (uint16_t)(sign | 0x7c00);
    if (absx < 0x38800000u) { /* below the smallest normal: subnormal or zero */
        if (absx < 0x33000000u)
            return (uint16_t)sign;
        uint32_t e = absx >> 23, man = (absx & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14 .. 24 */
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    /* normal: round to nearest even on the 13 dropped bits */
    uint32_t h = ((absx - 0x38000000u) >> 13);
    uint32_t rem = absx & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;
    return (uint16_t)(sign | h);
}

/* ---- reading -------------------------------------------------------------------------- */

static void checksum_of(const uint8_t *bytes, size_t size, uint8_t out[32])
{
    uint8_t hdr[HDR_BYTES];
    memcpy(hdr, bytes, HDR_BYTES);
    memset(hdr + HDR_CHECKSUM, 0, 32);
    hr_sha256_ctx h;
    hr_sha256_init(&h);
    hr_sha256_update(&h, hdr, HDR_BYTES);
    hr_sha256_update(&h, bytes + HDR_BYTES, size - HDR_BYTES);
    hr_sha256_final(&h, out);
}

static int check_config(const hr_model_config *c, hr_ml_error *err)
{
    if (c->arch != HR_ARCH_BERT && c->arch != HR_ARCH_MODERNBERT && c->arch != HR_ARCH_SIGLIP) {
        hr_ml_error_set(err, "unknown architecture %u", c->arch);
        return -1;
    }
    if (!c->vocab_size || c->vocab_size > MAX_VOCAB || !c->hidden || c->hidden > 65536 ||
        !c->n_layers || c->n_layers > 1024 || !c->n_heads || !c->head_dim ||
        (uint64_t)c->n_heads * c->head_dim != c->hidden || !c->intermediate ||
        c->intermediate > 1u << 20 || c->max_positions > 1u << 20 || c->type_vocab > 1024 ||
        !c->max_seq || c->max_seq > 1u << 16 || c->pooling > HR_POOL_CLS ||
        !(c->norm_eps > 0.0f && c->norm_eps < 1.0f)) {
        hr_ml_error_set(err, "config section holds impossible sizes (hidden %u, heads %u x %u, "
                             "layers %u, vocab %u)",
                        c->hidden, c->n_heads, c->head_dim, c->n_layers, c->vocab_size);
        return -1;
    }
    if (c->arch == HR_ARCH_MODERNBERT &&
        (!(c->rope_theta_global > 1.0f) || !(c->rope_theta_local > 1.0f) || !c->global_every ||
         c->local_window < 2 || c->head_dim % 2)) {
        hr_ml_error_set(err, "config section: invalid ModernBERT rope/attention settings");
        return -1;
    }
    if (c->arch == HR_ARCH_BERT && c->max_seq > c->max_positions) {
        hr_ml_error_set(err, "max_seq %u exceeds the %u position embeddings", c->max_seq,
                        c->max_positions);
        return -1;
    }
    return 0;
}

/* Version 2's BPE part: merge triples and added tokens after the strings, every id inside
 * the vocabulary, options known. Version 1 files have none (those bytes were zero). */
static int parse_bpe_part(const uint8_t *sec, uint64_t len, uint32_t version, uint32_t blob_len,
                          hr_model_vocab *v, hr_ml_error *err)
{
    v->bpe_flags = v->n_merges = v->n_added = 0;
    v->merges = v->added = NULL;
    if (version < 2)
        return 0;
    v->n_merges = rd32(sec + VOCAB_N_MERGES);
    v->bpe_flags = rd32(sec + VOCAB_BPE_FLAGS);
    v->n_added = rd32(sec + VOCAB_N_ADDED);
    if ((v->bpe_flags & ~KNOWN_BPEF) || rd32(sec + VOCAB_RESERVED) != 0 ||
        (v->kind != HR_TOK_BPE && (v->n_merges || v->n_added || v->bpe_flags)) ||
        v->n_merges > MAX_VOCAB || v->n_added > MAX_VOCAB) {
        hr_ml_error_set(err, "tokenizer section: bad BPE options (flags %#x, %u merges, %u added)",
                        v->bpe_flags, v->n_merges, v->n_added);
        return -1;
    }
    uint64_t need = VOCAB_FIXED + vocab_tail_bytes(v->n_tokens, blob_len, v->n_merges, v->n_added);
    if (need > len) {
        hr_ml_error_set(err, "tokenizer section truncated (%llu of %llu bytes with merges)",
                        (unsigned long long)len, (unsigned long long)need);
        return -1;
    }
    const uint8_t *p = sec + VOCAB_FIXED + vocab_tail_bytes(v->n_tokens, blob_len, 0, 0);
    v->merges = (const uint32_t *)(const void *)p;
    v->added = (const uint32_t *)(const void *)(p + (size_t)v->n_merges * 12);
    for (uint64_t i = 0; i < (uint64_t)v->n_merges * 3; i++)
        if (v->merges[i] >= v->n_tokens) {
            hr_ml_error_set(err, "BPE merge %llu names token %u outside the vocabulary",
                            (unsigned long long)(i / 3), v->merges[i]);
            return -1;
        }
    for (uint32_t i = 0; i < v->n_added; i++)
        if (v->added[2 * i] >= v->n_tokens || (v->added[2 * i + 1] & ~KNOWN_ADDF) ||
            v->offsets[v->added[2 * i] + 1] == v->offsets[v->added[2 * i]]) {
            hr_ml_error_set(err, "added token %u: bad id %u, empty text or unknown flags", i,
                            v->added[2 * i]);
            return -1;
        }
    return 0;
}

static int parse_vocab(const uint8_t *sec, uint64_t len, uint32_t version,
                       const hr_model_config *cfg, hr_model_vocab *v, hr_ml_error *err)
{
    if (len < VOCAB_FIXED) {
        hr_ml_error_set(err, "tokenizer section too short (%llu bytes)", (unsigned long long)len);
        return -1;
    }
    v->kind = rd32(sec);
    v->flags = rd32(sec + 4);
    v->n_tokens = rd32(sec + 8);
    v->unk_id = (int32_t)rd32(sec + 12);
    v->cls_id = (int32_t)rd32(sec + 16);
    v->sep_id = (int32_t)rd32(sec + 20);
    v->pad_id = (int32_t)rd32(sec + 24);
    v->mask_id = (int32_t)rd32(sec + 28);
    v->max_chars_per_word = rd32(sec + 32);
    memcpy(v->prefix, sec + 36, 8);
    uint32_t blob_len = rd32(sec + 44);
    if (v->prefix[7] != '\0' || (v->kind != HR_TOK_WORDPIECE && v->kind != HR_TOK_BPE)) {
        hr_ml_error_set(err, "tokenizer section: bad kind %u or prefix", v->kind);
        return -1;
    }
    if (v->n_tokens == 0 || v->n_tokens > MAX_VOCAB || v->n_tokens > cfg->vocab_size) {
        hr_ml_error_set(err, "tokenizer holds %u tokens for a vocabulary of %u", v->n_tokens,
                        cfg->vocab_size);
        return -1;
    }
    uint64_t need = VOCAB_FIXED + ((uint64_t)v->n_tokens + 1) * 4 + blob_len;
    if (need > len) {
        hr_ml_error_set(err, "tokenizer section truncated (%llu of %llu bytes)",
                        (unsigned long long)len, (unsigned long long)need);
        return -1;
    }
    const int32_t ids[] = {v->unk_id, v->cls_id, v->sep_id, v->pad_id};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ids[i] < 0 || (uint32_t)ids[i] >= v->n_tokens) {
            hr_ml_error_set(err, "special token id %d out of the vocabulary", ids[i]);
            return -1;
        }
    if (v->mask_id < -1 || v->mask_id >= (int32_t)v->n_tokens) {
        hr_ml_error_set(err, "mask id %d out of the vocabulary", v->mask_id);
        return -1;
    }
    /* offsets are 4-byte aligned: the section starts 64-aligned and VOCAB_FIXED is 64 */
    v->offsets = (const uint32_t *)(const void *)(sec + VOCAB_FIXED);
    v->blob = (const char *)(sec + VOCAB_FIXED + ((size_t)v->n_tokens + 1) * 4);
    if (v->offsets[0] != 0 || v->offsets[v->n_tokens] != blob_len) {
        hr_ml_error_set(err, "tokenizer string table does not span its blob");
        return -1;
    }
    for (uint32_t i = 0; i < v->n_tokens; i++)
        if (v->offsets[i + 1] < v->offsets[i]) {
            hr_ml_error_set(err, "tokenizer string table not monotonic at token %u", i);
            return -1;
        }
    return parse_bpe_part(sec, len, version, blob_len, v, err);
}

/* Validates table entry i against the data section; fills out when it is sound. */
static int parse_entry(const hr_model_file *mf, uint32_t i, const uint8_t *data, uint64_t data_len,
                       hr_tensor *t, hr_ml_error *err)
{
    const uint8_t *e = mf->table + (size_t)i * ENTRY_BYTES;
    if (!memchr(e, '\0', HR_MODEL_NAME_MAX) || e[0] == '\0') {
        hr_ml_error_set(err, "tensor %u: name missing or not terminated", i);
        return -1;
    }
    t->name = (const char *)e;
    t->dtype = rd32(e + ENTRY_DTYPE);
    t->ndim = rd32(e + ENTRY_NDIM);
    if (!hr_dtype_size(t->dtype) || t->ndim < 1 || t->ndim > 4) {
        hr_ml_error_set(err, "tensor '%s': bad dtype %u or rank %u", t->name, t->dtype, t->ndim);
        return -1;
    }
    uint64_t count = 1;
    for (uint32_t d = 0; d < 4; d++) {
        t->shape[d] = d < t->ndim ? rd32(e + ENTRY_SHAPE + 4 * d) : 1;
        if (!t->shape[d] || t->shape[d] > MAX_DIM) {
            hr_ml_error_set(err, "tensor '%s': bad dimension %u", t->name, t->shape[d]);
            return -1;
        }
        count *= t->shape[d];
        if (count > (1ull << 40)) {
            hr_ml_error_set(err, "tensor '%s': too many elements", t->name);
            return -1;
        }
    }
    t->count = (size_t)count;
    uint64_t off = rd64(e + ENTRY_OFFSET), nbytes = rd64(e + ENTRY_NBYTES);
    if (nbytes != count * hr_dtype_size(t->dtype) || off % HR_MODEL_ALIGN ||
        !in_bounds(off, nbytes, data_len)) {
        hr_ml_error_set(err, "tensor '%s': data [%llu, +%llu) outside the data section or "
                             "misaligned",
                        t->name, (unsigned long long)off, (unsigned long long)nbytes);
        return -1;
    }
    t->data = data + off;
    t->scale_kind = rd32(e + ENTRY_SCALE_KIND);
    t->scales = NULL;
    if (t->dtype == HR_DT_I8) {
        uint64_t soff = rd64(e + ENTRY_SCALE_OFFSET), slen = (uint64_t)t->shape[0] * 4;
        if (t->scale_kind != HR_SCALE_ROW || t->ndim != 2 || soff % 4 ||
            !in_bounds(soff, slen, data_len)) {
            hr_ml_error_set(err, "tensor '%s': int8 without valid per-row scales", t->name);
            return -1;
        }
        t->scales = (const float *)(const void *)(data + soff);
    } else if (t->dtype == HR_DT_I8P && (mf->version < 3 || t->ndim != 2 ||
                                         !hr_u8_panels_fit((int)t->shape[0], (int)t->shape[1]))) {
        hr_ml_error_set(err, "tensor '%s': int8 panels of shape [%u, %u] in a version %u file",
                        t->name, t->shape[0], t->shape[1], mf->version);
        return -1;
    } else if (t->scale_kind != HR_SCALE_NONE) {
        hr_ml_error_set(err, "tensor '%s': scales on a float tensor", t->name);
        return -1;
    }
    return 0;
}

int hr_model_file_parse(const uint8_t *bytes, size_t size, unsigned flags, hr_model_file *mf,
                        hr_ml_error *err)
{
    memset(mf, 0, sizeof *mf);
    if (size < HDR_BYTES || memcmp(bytes, HR_MODEL_MAGIC, 8) != 0) {
        hr_ml_error_set(err, "not a headroom model file (bad magic or shorter than a header)");
        return -1;
    }
    uint32_t version = rd32(bytes + HDR_VERSION);
    if (version < HR_MODEL_VERSION_MIN || version > HR_MODEL_VERSION) {
        hr_ml_error_set(err, "model file version %u, this build reads versions %u to %u "
                             "(re-import the model)",
                        version, HR_MODEL_VERSION_MIN, HR_MODEL_VERSION);
        return -1;
    }
    if (rd32(bytes + HDR_HEADER_BYTES) != HDR_BYTES || rd32(bytes + HDR_FLAGS) != 0) {
        hr_ml_error_set(err, "model file header has unknown size or flags");
        return -1;
    }
    uint64_t declared = rd64(bytes + HDR_FILE_SIZE);
    if (declared != size) {
        hr_ml_error_set(err, "model file is %zu bytes but its header says %llu (truncated?)",
                        size, (unsigned long long)declared);
        return -1;
    }
    static const char *const names[] = {"config", "tokenizer", "tensor table", "tensor data"};
    uint64_t off[4], len[4];
    for (int s = 0; s < 4; s++) {
        off[s] = rd64(bytes + HDR_CONFIG + 16 * s);
        len[s] = rd64(bytes + HDR_CONFIG + 16 * s + 8);
        if (off[s] < HDR_BYTES || off[s] % HR_MODEL_ALIGN || !in_bounds(off[s], len[s], size)) {
            hr_ml_error_set(err, "%s section [%llu, +%llu) outside the file or misaligned",
                            names[s], (unsigned long long)off[s], (unsigned long long)len[s]);
            return -1;
        }
    }
    if (flags & HR_MODEL_OPEN_VERIFY) {
        uint8_t sum[32];
        checksum_of(bytes, size, sum);
        if (memcmp(sum, bytes + HDR_CHECKSUM, 32) != 0) {
            hr_ml_error_set(err, "model file checksum mismatch (corrupt file)");
            return -1;
        }
    }
    hr_hex(bytes + HDR_CHECKSUM, 32, mf->checksum_hex);
    if (len[0] != CONFIG_BYTES) {
        hr_ml_error_set(err, "config section is %llu bytes, expected %d",
                        (unsigned long long)len[0], CONFIG_BYTES);
        return -1;
    }
    memcpy(&mf->config, bytes + off[0], CONFIG_BYTES);
    if (check_config(&mf->config, err) || parse_vocab(bytes + off[1], len[1], version,
                                                      &mf->config, &mf->vocab, err))
        return -1;
    mf->n_tensors = rd32(bytes + HDR_N_TENSORS);
    if (mf->n_tensors > MAX_TENSORS || len[2] != (uint64_t)mf->n_tensors * ENTRY_BYTES) {
        hr_ml_error_set(err, "tensor table size does not match %u tensors", mf->n_tensors);
        return -1;
    }
    mf->table = bytes + off[2];
    mf->version = version;
    mf->map = bytes;
    mf->size = size;
    for (uint32_t i = 0; i < mf->n_tensors; i++) {
        hr_tensor t;
        if (parse_entry(mf, i, bytes + off[3], len[3], &t, err))
            return -1;
    }
    return 0;
}

/* The data section as the (already validated) header records it. */
static const uint8_t *data_section(const hr_model_file *mf, uint64_t *len)
{
    *len = rd64(mf->map + HDR_DATA + 8);
    return mf->map + rd64(mf->map + HDR_DATA);
}

int hr_model_tensor_at(const hr_model_file *mf, uint32_t i, hr_tensor *out)
{
    if (i >= mf->n_tensors)
        return -1;
    uint64_t len;
    const uint8_t *data = data_section(mf, &len);
    return parse_entry(mf, i, data, len, out, NULL);
}

int hr_model_tensor(const hr_model_file *mf, const char *name, hr_tensor *out)
{
    for (uint32_t i = 0; i < mf->n_tensors; i++)
        if (!strncmp((const char *)(mf->table + (size_t)i * ENTRY_BYTES), name, HR_MODEL_NAME_MAX))
            return hr_model_tensor_at(mf, i, out);
    return -1;
}

static int accept_model_file(const char *path, int regular, size_t size, hr_ml_error *err)
{
    if (!regular) {
        hr_ml_error_set(err, "%s is not a regular file", path);
        return -1;
    }
    if (size < HDR_BYTES) {
        hr_ml_error_set(err, "%s: %zu bytes is too short for a model file", path, size);
        return -1;
    }
    return 0;
}

int hr_model_file_open(const char *path, unsigned flags, hr_model_file **out, hr_ml_error *err)
{
    *out = NULL;
    void *map;
    size_t size;
    if (hr_ml_map_readonly(path, accept_model_file, &map, &size, err) != 0)
        return -1;
    hr_model_file *mf = malloc(sizeof *mf);
    if (!mf) {
        munmap(map, size);
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    hr_ml_error inner;
    if (hr_model_file_parse(map, size, flags, mf, &inner) != 0) {
        hr_ml_error_set(err, "%s: %s", path, inner.msg);
        munmap(map, size);
        free(mf);
        return -1;
    }
    *out = mf;
    return 0;
}

void hr_model_file_close(hr_model_file *mf)
{
    if (!mf)
        return;
    if (mf->map)
        munmap((void *)mf->map, mf->size);
    free(mf);
}

/* ---- writing -------------------------------------------------------------------------- */

void hr_quantize_rows_i8(const float *x, size_t rows, size_t cols, int8_t *q, float *scales)
{
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * cols;
        float amax = 0.0f;
        for (size_t c = 0; c < cols; c++)
            amax = fmaxf(amax, fabsf(row[c]));
        float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
        float inv = 1.0f / scale;
        for (size_t c = 0; c < cols; c++) {
            long v = lrintf(row[c] * inv);
            q[r * cols + c] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
        scales[r] = scale;
    }
}

typedef struct wtensor {
    char name[HR_MODEL_NAME_MAX];
    uint32_t dtype, ndim, shape[4];
    uint8_t *bytes; /* owned: payload in its stored dtype */
    size_t nbytes;
    float *scales;  /* owned: per-row scales for int8 */
    size_t n_scales;
} wtensor;

struct hr_model_writer {
    hr_model_config cfg;
    hr_model_vocab vmeta;
    uint32_t *offsets; /* owned */
    char *blob;        /* owned */
    uint32_t n_tokens, blob_len;
    uint32_t *merges;  /* owned: 3 per merge */
    uint32_t *added;   /* owned: 2 per added token */
    wtensor *t;        /* owned array */
    uint32_t n, cap;
};

hr_model_writer *hr_model_writer_new(const hr_model_config *cfg)
{
    hr_model_writer *w = calloc(1, sizeof *w);
    if (w)
        w->cfg = *cfg;
    return w;
}

void hr_model_writer_free(hr_model_writer *w)
{
    if (!w)
        return;
    for (uint32_t i = 0; i < w->n; i++) {
        free(w->t[i].bytes);
        free(w->t[i].scales);
    }
    free(w->t);
    free(w->offsets);
    free(w->blob);
    free(w->merges);
    free(w->added);
    free(w);
}

int hr_model_writer_set_vocab(hr_model_writer *w, const hr_model_vocab *meta,
                              const char *const *tokens, uint32_t n)
{
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += strlen(tokens[i]);
    if (total > UINT32_MAX)
        return -1;
    uint32_t *offsets = malloc(((size_t)n + 1) * sizeof *offsets);
    char *blob = malloc(total ? total : 1);
    if (!offsets || !blob) {
        free(offsets);
        free(blob);
        return -1;
    }
    size_t pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        offsets[i] = (uint32_t)pos;
        size_t l = strlen(tokens[i]);
        memcpy(blob + pos, tokens[i], l);
        pos += l;
    }
    offsets[n] = (uint32_t)pos;
    free(w->offsets);
    free(w->blob);
    uint32_t bpe_flags = w->vmeta.bpe_flags, nm = w->vmeta.n_merges, na = w->vmeta.n_added;
    w->vmeta = *meta;
    w->vmeta.bpe_flags = bpe_flags; /* set by hr_model_writer_set_bpe only */
    w->vmeta.n_merges = nm;
    w->vmeta.n_added = na;
    w->offsets = offsets;
    w->blob = blob;
    w->n_tokens = n;
    w->blob_len = (uint32_t)pos;
    return 0;
}

int hr_model_writer_set_bpe(hr_model_writer *w, const hr_model_vocab *meta)
{
    size_t nm = (size_t)meta->n_merges * 3, na = (size_t)meta->n_added * 2;
    uint32_t *m = malloc((nm ? nm : 1) * sizeof *m), *a = malloc((na ? na : 1) * sizeof *a);
    if (!m || !a) {
        free(m);
        free(a);
        return -1;
    }
    if (nm)
        memcpy(m, meta->merges, nm * sizeof *m);
    if (na)
        memcpy(a, meta->added, na * sizeof *a);
    free(w->merges);
    free(w->added);
    w->merges = m;
    w->added = a;
    w->vmeta.bpe_flags = meta->bpe_flags;
    w->vmeta.n_merges = meta->n_merges;
    w->vmeta.n_added = meta->n_added;
    return 0;
}

/* Room for one more tensor. 0 / -1 (out of memory). */
static int grow(hr_model_writer *w)
{
    if (w->n < w->cap)
        return 0;
    uint32_t cap = w->cap ? w->cap * 2 : 64;
    wtensor *t = realloc(w->t, cap * sizeof *t);
    if (!t)
        return -1;
    w->t = t;
    w->cap = cap;
    return 0;
}

int hr_model_writer_add(hr_model_writer *w, const char *name, uint32_t dtype, uint32_t ndim,
                        const uint32_t *shape, const float *data, hr_ml_error *err)
{
    if (strlen(name) >= HR_MODEL_NAME_MAX || ndim < 1 || ndim > 4 || !hr_dtype_size(dtype) ||
        dtype == HR_DT_I8P || (dtype == HR_DT_I8 && ndim != 2)) {
        hr_ml_error_set(err, "tensor '%s': cannot store rank %u as %s", name, ndim,
                        hr_dtype_name(dtype));
        return -1;
    }
    if (grow(w) != 0)
        goto oom;
    wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dtype;
    t->ndim = ndim;
    size_t count = 1;
    for (uint32_t d = 0; d < 4; d++) {
        t->shape[d] = d < ndim ? shape[d] : 0;
        if (d < ndim)
            count *= shape[d];
    }
    t->nbytes = count * hr_dtype_size(dtype);
    t->bytes = malloc(t->nbytes ? t->nbytes : 1);
    if (!t->bytes)
        goto oom;
    if (dtype == HR_DT_F32) {
        memcpy(t->bytes, data, t->nbytes);
    } else if (dtype == HR_DT_F16) {
        for (size_t i = 0; i < count; i++) {
            uint16_t h = hr_f32_to_f16(data[i]);
            memcpy(t->bytes + 2 * i, &h, 2);
        }
    } else {
        t->n_scales = shape[0];
        t->scales = malloc(t->n_scales * sizeof *t->scales);
        if (!t->scales) {
            free(t->bytes);
            goto oom;
        }
        hr_quantize_rows_i8(data, shape[0], shape[1], (int8_t *)t->bytes, t->scales);
    }
    w->n++;
    return 0;
oom:
    hr_ml_error_set(err, "out of memory adding tensor '%s'", name);
    return -1;
}

int hr_model_writer_add_panels(hr_model_writer *w, const char *name, hr_ml_error *err)
{
    uint32_t src = w->n;
    for (uint32_t i = 0; i < w->n && src == w->n; i++)
        if (!strcmp(w->t[i].name, name) && w->t[i].dtype == HR_DT_I8)
            src = i;
    char pname[HR_MODEL_NAME_MAX];
    if (src == w->n || snprintf(pname, sizeof pname, "%s.panels", name) >= (int)sizeof pname) {
        hr_ml_error_set(err, "tensor '%s': no int8 tensor to store as panels", name);
        return -1;
    }
    const uint32_t rows = w->t[src].shape[0], cols = w->t[src].shape[1];
    const size_t nbytes = w->t[src].nbytes;
    if (!hr_u8_panels_fit((int)rows, (int)cols))
        return 1;
    int8_t *packed = malloc(nbytes);
    if (!packed || grow(w) != 0) {
        free(packed);
        hr_ml_error_set(err, "out of memory adding tensor '%s'", pname);
        return -1;
    }
    hr_pack_u8_panels((const int8_t *)w->t[src].bytes, (int)rows, (int)cols, packed);
    wtensor *t = &w->t[w->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", pname);
    t->dtype = HR_DT_I8P;
    t->ndim = 2;
    t->shape[0] = rows;
    t->shape[1] = cols;
    t->bytes = (uint8_t *)packed;
    t->nbytes = nbytes;
    return 0;
}

/* Lays out sections and tensors; returns the file size. */
static size_t plan_layout(hr_model_writer *w, uint64_t off[4], uint64_t len[4], uint64_t *tensor_off,
                          uint64_t *scale_off)
{
    off[0] = HDR_BYTES;
    len[0] = CONFIG_BYTES;
    off[1] = align_up(off[0] + len[0], HR_MODEL_ALIGN);
    len[1] = VOCAB_FIXED + vocab_tail_bytes(w->n_tokens, w->blob_len, w->vmeta.n_merges,
                                            w->vmeta.n_added);
    off[2] = align_up(off[1] + len[1], HR_MODEL_ALIGN);
    len[2] = (uint64_t)w->n * ENTRY_BYTES;
    off[3] = align_up(off[2] + len[2], HR_MODEL_ALIGN);
    uint64_t pos = 0;
    for (uint32_t i = 0; i < w->n; i++) {
        tensor_off[i] = pos;
        pos = align_up(pos + w->t[i].nbytes, HR_MODEL_ALIGN);
        scale_off[i] = 0;
        if (w->t[i].scales) {
            scale_off[i] = pos;
            pos = align_up(pos + w->t[i].n_scales * 4, HR_MODEL_ALIGN);
        }
    }
    len[3] = pos;
    return (size_t)(off[3] + len[3]);
}

static void fill_image(const hr_model_writer *w, uint8_t *img, size_t size, const uint64_t off[4],
                       const uint64_t len[4], const uint64_t *tensor_off, const uint64_t *scale_off)
{
    memcpy(img, HR_MODEL_MAGIC, 8);
    wr32(img + HDR_VERSION, HR_MODEL_VERSION);
    wr32(img + HDR_HEADER_BYTES, HDR_BYTES);
    wr64(img + HDR_FILE_SIZE, size);
    for (int s = 0; s < 4; s++) {
        wr64(img + HDR_CONFIG + 16 * s, off[s]);
        wr64(img + HDR_CONFIG + 16 * s + 8, len[s]);
    }
    wr32(img + HDR_N_TENSORS, w->n);
    memcpy(img + off[0], &w->cfg, CONFIG_BYTES);

    uint8_t *v = img + off[1];
    const hr_model_vocab *m = &w->vmeta;
    wr32(v, m->kind);
    wr32(v + 4, m->flags);
    wr32(v + 8, w->n_tokens);
    wr32(v + 12, (uint32_t)m->unk_id);
    wr32(v + 16, (uint32_t)m->cls_id);
    wr32(v + 20, (uint32_t)m->sep_id);
    wr32(v + 24, (uint32_t)m->pad_id);
    wr32(v + 28, (uint32_t)m->mask_id);
    wr32(v + 32, m->max_chars_per_word);
    memcpy(v + 36, m->prefix, 7); /* byte 43 stays NUL */
    wr32(v + 44, w->blob_len);
    if (w->offsets)
        memcpy(v + VOCAB_FIXED, w->offsets, ((size_t)w->n_tokens + 1) * 4);
    if (w->blob_len)
        memcpy(v + VOCAB_FIXED + ((size_t)w->n_tokens + 1) * 4, w->blob, w->blob_len);
    wr32(v + VOCAB_N_MERGES, m->n_merges);
    wr32(v + VOCAB_BPE_FLAGS, m->bpe_flags);
    wr32(v + VOCAB_N_ADDED, m->n_added);
    uint8_t *bpe = v + VOCAB_FIXED + vocab_tail_bytes(w->n_tokens, w->blob_len, 0, 0);
    for (size_t i = 0; i < (size_t)m->n_merges * 3; i++)
        wr32(bpe + 4 * i, w->merges[i]);
    bpe += (size_t)m->n_merges * 12;
    for (size_t i = 0; i < (size_t)m->n_added * 2; i++)
        wr32(bpe + 4 * i, w->added[i]);

    for (uint32_t i = 0; i < w->n; i++) {
        const wtensor *t = &w->t[i];
        uint8_t *e = img + off[2] + (size_t)i * ENTRY_BYTES;
        memcpy(e, t->name, HR_MODEL_NAME_MAX);
        wr32(e + ENTRY_DTYPE, t->dtype);
        wr32(e + ENTRY_NDIM, t->ndim);
        for (int d = 0; d < 4; d++)
            wr32(e + ENTRY_SHAPE + 4 * d, t->shape[d]);
        wr64(e + ENTRY_OFFSET, tensor_off[i]);
        wr64(e + ENTRY_NBYTES, t->nbytes);
        wr64(e + ENTRY_SCALE_OFFSET, scale_off[i]);
        wr32(e + ENTRY_SCALE_KIND, t->scales ? HR_SCALE_ROW : HR_SCALE_NONE);
        memcpy(img + off[3] + tensor_off[i], t->bytes, t->nbytes);
        if (t->scales)
            memcpy(img + off[3] + scale_off[i], t->scales, t->n_scales * 4);
    }
    uint8_t sum[32];
    checksum_of(img, size, sum);
    memcpy(img + HDR_CHECKSUM, sum, 32);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int hr_model_writer_write(hr_model_writer *w, const char *path, hr_ml_error *err)
{
    if (!w->offsets) {
        hr_ml_error_set(err, "no tokenizer data set");
        return -1;
    }
    uint64_t off[4], len[4];
    uint64_t *toff = calloc(w->n + 1, sizeof *toff), *soff = calloc(w->n + 1, sizeof *soff);
    uint8_t *img = NULL;
    int rc = -1, fd = -1;
    char tmp[4096];
    if (!toff || !soff) {
        hr_ml_error_set(err, "out of memory");
        goto out;
    }
    size_t size = plan_layout(w, off, len, toff, soff);
    img = calloc(1, size);
    if (!img) {
        hr_ml_error_set(err, "out of memory for a %zu-byte image", size);
        goto out;
    }
    fill_image(w, img, size, off, len, toff, soff);
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        hr_ml_error_set(err, "path too long");
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, img, size) != 0 || fsync(fd) != 0) {
        hr_ml_error_set(err, "cannot write %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            unlink(tmp);
        goto out;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        fd = -1;
        hr_ml_error_set(err, "cannot move %s into place: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    fd = -1;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(img);
    free(toff);
    free(soff);
    return rc;
}
