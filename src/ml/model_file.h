/* model_file.h: the headroom model file (docs/model-format.md), mapped read-only.
 *
 * One versioned file holds config, tokenizer data, a tensor table and 64-byte aligned
 * tensor data, with a SHA-256 over the whole file. hr_model_file_open maps it with
 * mmap(PROT_READ, MAP_PRIVATE): weights stay file-backed pages (RssFile), shared between
 * processes and reclaimable; nothing is copied to the heap except the small struct itself.
 * Every offset and size is validated before use, so a corrupt, truncated or foreign file
 * gives a clear error and never a crash.
 *
 * Ownership: hr_model_file_open allocates the hr_model_file; hr_model_file_close unmaps
 * and frees it. Every pointer handed out (tensor data, vocab strings) points into the
 * mapping and dies with it. The writer (hr_model_writer) is used by the importer.
 */
#ifndef HR_ML_MODEL_FILE_H
#define HR_ML_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#define HR_MODEL_MAGIC "HRMODEL\0"
#define HR_MODEL_VERSION 3u     /* written; versions 1 (no BPE merges) and 2 (no weight
                                 * panels) still load */
#define HR_MODEL_VERSION_MIN 1u
#define HR_MODEL_ALIGN 64u
#define HR_MODEL_NAME_MAX 64 /* tensor names, NUL included */
#define HR_MAX_LABELS 16     /* classification heads: at most this many classes */
#define HR_LABEL_BYTES 32    /* a label name, NUL included (head.labels row width) */

/* Errors carry a human-readable message; functions return 0 / -1. */
typedef struct hr_ml_error {
    char msg[256];
} hr_ml_error;

void hr_ml_error_set(hr_ml_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What a caller of hr_ml_map_readonly accepts, asked after fstat and before mmap: regular
 * is 0 for anything else (or when fstat failed, size 0 then). Returns 0 to map, or -1
 * having set err with the caller's own message (each format states its own minimum). */
typedef int (*hr_ml_map_accept)(const char *path, int regular, size_t size, hr_ml_error *err);
/* The one open + fstat + read-only private mmap for model, safetensors and ONNX files.
 * 0: map and size hold the mapping, which the caller owns (munmap(map, size)); the file
 * descriptor is already closed (the mapping keeps the file referenced). -1: err set
 * ("cannot open", accept's refusal, "cannot map"), map NULL, nothing held. */
int hr_ml_map_readonly(const char *path, hr_ml_map_accept accept, void **map, size_t *size,
                       hr_ml_error *err);

typedef enum { HR_ARCH_BERT = 1, HR_ARCH_MODERNBERT = 2, HR_ARCH_SIGLIP = 3 } hr_model_arch;
typedef enum { HR_POOL_NONE = 0, HR_POOL_MEAN = 1, HR_POOL_CLS = 2 } hr_model_pooling;
/* HR_DT_I8P (version 3): an int8 tensor's weights in the uint8 kernels' panel layout
 * (kernels.h, hr_pack_u8_panels), stored beside it as "<name>.panels" with its shape and no
 * scales of its own. */
typedef enum { HR_DT_F32 = 0, HR_DT_F16 = 1, HR_DT_I8 = 2, HR_DT_I8P = 3 } hr_dtype;
typedef enum { HR_SCALE_NONE = 0, HR_SCALE_ROW = 1 } hr_scale_kind;

/* Tokenizer kinds and normalizer flags (BERT WordPiece: BertNormalizer options). */
typedef enum { HR_TOK_WORDPIECE = 1, HR_TOK_BPE = 2 } hr_tok_kind;
enum {
    HR_TOKF_LOWERCASE = 1u << 0,
    HR_TOKF_STRIP_ACCENTS = 1u << 1,
    HR_TOKF_CHINESE_CHARS = 1u << 2,
    HR_TOKF_CLEAN_TEXT = 1u << 3,
};

/* Byte-level BPE options (tokenizer.json's ByteLevel pre-tokenizer and BPE model). */
enum {
    HR_BPEF_ADD_PREFIX_SPACE = 1u << 0, /* prepend " " to each split not starting with one */
    HR_BPEF_IGNORE_MERGES = 1u << 1,    /* a piece that is a whole token skips the merges */
    HR_BPEF_NO_REGEX = 1u << 2,         /* ByteLevel use_regex: false (no GPT-2 split) */
};
/* Added-token options (tokenizer.json "added_tokens"). */
enum {
    HR_ADDF_SPECIAL = 1u << 0,
    HR_ADDF_NORMALIZED = 1u << 1,  /* matched after normalisation (second pass) */
    HR_ADDF_LSTRIP = 1u << 2,      /* swallows whitespace on its left */
    HR_ADDF_RSTRIP = 1u << 3,      /* swallows whitespace on its right */
    HR_ADDF_SINGLE_WORD = 1u << 4, /* only matched when not inside a word */
};

/* The config section as stored (little-endian, 128 bytes). */
typedef struct hr_model_config {
    uint32_t arch;            /* hr_model_arch */
    uint32_t vocab_size;
    uint32_t hidden;
    uint32_t n_layers;
    uint32_t n_heads;
    uint32_t head_dim;
    uint32_t intermediate;
    uint32_t max_positions;   /* learned position table rows (BERT) */
    uint32_t type_vocab;      /* token-type rows (BERT); 0 if none */
    uint32_t pooling;         /* hr_model_pooling */
    uint32_t max_seq;         /* longest input the model is used with (256 for MiniLM) */
    float norm_eps;
    /* ModernBERT (zero for BERT) */
    float rope_theta_global;
    float rope_theta_local;
    uint32_t local_window;    /* full window; token i sees j when |i-j| <= window/2 */
    uint32_t global_every;    /* layer i is global when i % global_every == 0 */
    uint32_t reserved[16];
} hr_model_config;

/* Tokenizer data as a view into the mapping. Token i is
 * blob[offsets[i] .. offsets[i+1]) (not NUL-terminated). */
typedef struct hr_model_vocab {
    uint32_t kind;            /* hr_tok_kind */
    uint32_t flags;           /* HR_TOKF_* */
    uint32_t n_tokens;
    int32_t unk_id, cls_id, sep_id, pad_id, mask_id;
    uint32_t max_chars_per_word; /* WordPiece: longer words become [UNK] */
    char prefix[8];           /* WordPiece continuation prefix, NUL-terminated ("##") */
    const uint32_t *offsets;  /* n_tokens + 1 entries */
    const char *blob;
    /* Byte-level BPE (kind HR_TOK_BPE, format version 2; all zero in version 1 files). */
    uint32_t bpe_flags;       /* HR_BPEF_* */
    uint32_t n_merges;
    const uint32_t *merges;   /* 3 per merge in rank order: left id, right id, merged id */
    uint32_t n_added;
    const uint32_t *added;    /* 2 per added token: id, HR_ADDF_* (content = token string) */
} hr_model_vocab;

/* One tensor as a view into the mapping. */
typedef struct hr_tensor {
    const char *name;         /* NUL-terminated, inside the mapping */
    uint32_t dtype;           /* hr_dtype */
    uint32_t ndim;
    uint32_t shape[4];
    size_t count;             /* product of shape */
    const void *data;         /* 64-byte aligned */
    uint32_t scale_kind;      /* hr_scale_kind; HR_SCALE_ROW: one float per shape[0] row */
    const float *scales;      /* NULL unless int8 */
} hr_tensor;

typedef struct hr_model_file {
    const uint8_t *map;       /* the whole file, PROT_READ */
    size_t size;
    uint32_t version;         /* format version of this file (1 to 3) */
    hr_model_config config;
    hr_model_vocab vocab;
    uint32_t n_tensors;
    const uint8_t *table;     /* raw tensor table inside the mapping */
    char checksum_hex[65];
} hr_model_file;

enum {
    HR_MODEL_OPEN_VERIFY = 1u << 0, /* verify the SHA-256 (touches every page once) */
};

/* Maps and validates path. flags: HR_MODEL_OPEN_*. 0 ok; -1 with err filled. */
int hr_model_file_open(const char *path, unsigned flags, hr_model_file **out, hr_ml_error *err);
/* Validates an in-memory image (used by open, tests and the fuzzer). On success mf's views
 * point into bytes, which the caller keeps alive and releases itself: never pass such an
 * mf to hr_model_file_close (that is only for files from hr_model_file_open). */
int hr_model_file_parse(const uint8_t *bytes, size_t size, unsigned flags, hr_model_file *mf,
                        hr_ml_error *err);
void hr_model_file_close(hr_model_file *mf);

/* Tensor by index (0 <= i < n_tensors) or by name; -1 if absent. */
int hr_model_tensor_at(const hr_model_file *mf, uint32_t i, hr_tensor *out);
int hr_model_tensor(const hr_model_file *mf, const char *name, hr_tensor *out);

const char *hr_dtype_name(uint32_t dtype);
const char *hr_arch_name(uint32_t arch);
size_t hr_dtype_size(uint32_t dtype);

float hr_f16_to_f32(uint16_t h);
uint16_t hr_f32_to_f16(float f);

/* ---- writer (importer side) ----------------------------------------------------------
 * Collects tensors in memory, then writes the file in one pass with its checksum, to a
 * temporary name renamed into place (mode 0600), so a reader never sees half a file. */
typedef struct hr_model_writer hr_model_writer;

hr_model_writer *hr_model_writer_new(const hr_model_config *cfg);
void hr_model_writer_free(hr_model_writer *w);
/* Vocab: tokens[i] (NUL-terminated) for i < n; copies everything. */
int hr_model_writer_set_vocab(hr_model_writer *w, const hr_model_vocab *meta,
                              const char *const *tokens, uint32_t n);
/* Byte-level BPE data (meta's bpe_flags, merges and added tokens); copies the arrays.
 * Call after hr_model_writer_set_vocab. 0 / -1 (out of memory). */
int hr_model_writer_set_bpe(hr_model_writer *w, const hr_model_vocab *meta);
/* Adds an fp32 tensor, stored as dtype HR_DT_F32 or HR_DT_F16 (converted here), or
 * HR_DT_I8 (symmetric per-row int8 with fp32 scales; 2-D only). Copies the data. */
int hr_model_writer_add(hr_model_writer *w, const char *name, uint32_t dtype, uint32_t ndim,
                        const uint32_t *shape, const float *data, hr_ml_error *err);
/* Adds "<name>.panels" (HR_DT_I8P): the int8 tensor name, added before, in the panel
 * layout. 0; 1 when its shape has no panel form (hr_u8_panels_fit; nothing added); -1 with
 * err (no such int8 tensor, out of memory). */
int hr_model_writer_add_panels(hr_model_writer *w, const char *name, hr_ml_error *err);
int hr_model_writer_write(hr_model_writer *w, const char *path, hr_ml_error *err);

/* Symmetric per-row int8 quantisation: scale[r] = max|row|/127, q = round(x/scale). */
void hr_quantize_rows_i8(const float *x, size_t rows, size_t cols, int8_t *q, float *scales);

#endif
