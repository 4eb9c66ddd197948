/* safetensors.h: a read-only reader for HuggingFace .safetensors files (import side).
 *
 * Format: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape,
 * data_offsets: [begin, end)}, "__metadata__": {...}}, then the raw little-endian data.
 * The file is mapped read-only; every offset is checked against the file before use.
 *
 * Ownership: hr_safetensors_open allocates the reader (mapping + parsed header);
 * hr_safetensors_close releases both. hr_safetensors_read_f32 returns a malloc'd fp32
 * copy the caller frees: the importer quantises from it, so converting F16/BF16 here keeps
 * one code path downstream.
 */
#ifndef HR_ML_SAFETENSORS_H
#define HR_ML_SAFETENSORS_H

#include "ml/model_file.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hr_safetensors hr_safetensors;

typedef struct hr_st_info {
    uint32_t ndim;
    uint32_t shape[4];
    size_t count;
    char dtype[8]; /* "F32", "F16", "BF16", ... as written */
} hr_st_info;

int hr_safetensors_open(const char *path, hr_safetensors **out, hr_ml_error *err);
void hr_safetensors_close(hr_safetensors *st);

/* Number of tensors and the name of tensor i (valid while st is open). */
uint32_t hr_safetensors_count(const hr_safetensors *st);
const char *hr_safetensors_name(const hr_safetensors *st, uint32_t i);

/* Shape and dtype of a tensor; -1 if absent or malformed (err filled). */
int hr_safetensors_info(const hr_safetensors *st, const char *name, hr_st_info *info,
                        hr_ml_error *err);
/* fp32 copy of a F32/F16/BF16 tensor in *out (caller frees); -1 if absent, another dtype
 * or malformed. info (optional) receives its shape. */
int hr_safetensors_read_f32(const hr_safetensors *st, const char *name, float **out,
                            hr_st_info *info, hr_ml_error *err);

#endif
