/* onnx.h: a read-only reader for ONNX model files (the import side of the published
 * router, SigLIP and Kompress exports).
 *
 * An .onnx file is a protobuf ModelProto. This reader decodes the wire format by hand (no
 * generated code, no libprotobuf): of the ModelProto only the graph; of the GraphProto
 * its nodes (name, op_type, inputs, outputs and integer attributes) and initializers
 * (TensorProto: name, dims, data_type and the data, from raw_data, a packed typed field or
 * an external data file beside the model); Constant nodes' tensor values count as
 * initializers named by their output. Everything else (value_info, metadata, doc strings,
 * training info) is skipped by wire type. Every length, offset and count is checked
 * against the bytes before use, so hostile input gets an error, never a read out of bounds
 * (tests/fuzz/fuzz_ml_onnx.c).
 *
 * Ownership: hr_onnx_open maps the file (and any external data files) read-only and
 * allocates the parsed tables; tensor data pointers point into those mappings;
 * hr_onnx_free releases all of it. What the graph means (which initializer is which
 * weight) is import_onnx.c's business, not this file's.
 */
#ifndef HR_ML_ONNX_H
#define HR_ML_ONNX_H

#include "ml/model_file.h"

#include <stddef.h>
#include <stdint.h>

#define HR_ONNX_MAX_DIMS 8

/* TensorProto.DataType values this reader converts. */
enum {
    HR_ONNX_FLOAT = 1,
    HR_ONNX_UINT8 = 2,
    HR_ONNX_INT8 = 3,
    HR_ONNX_INT32 = 6,
    HR_ONNX_INT64 = 7,
    HR_ONNX_FLOAT16 = 10,
    HR_ONNX_DOUBLE = 11,
    HR_ONNX_BFLOAT16 = 16
};

typedef struct hr_onnx_tensor {
    char *name;           /* owned */
    int32_t dtype;        /* HR_ONNX_* (others are kept, and refused when read) */
    uint32_t ndim;
    uint64_t dims[HR_ONNX_MAX_DIMS];
    uint64_t count;       /* product of dims (1 for a scalar) */
    const uint8_t *data;  /* raw little-endian bytes, or a packed typed field */
    size_t len;
    uint32_t field;       /* 9 raw_data / external; else the typed field (4, 5, 7, 10) */
} hr_onnx_tensor;

typedef struct hr_onnx_attr {
    char *name; /* owned */
    int64_t i;  /* AttributeProto.i (0 when the attribute is not an int) */
} hr_onnx_attr;

typedef struct hr_onnx_node {
    char *name, *op;      /* owned; "" when absent */
    char **in, **out;     /* owned; an omitted optional input is "" */
    uint32_t n_in, n_out;
    hr_onnx_attr *attrs;  /* owned */
    uint32_t n_attrs;
} hr_onnx_node;

typedef struct hr_onnx_model hr_onnx_model;

/* Maps path and parses it. 0 ok; -1 with err naming what is wrong (nothing to free). */
int hr_onnx_open(const char *path, hr_onnx_model **out, hr_ml_error *err);
/* Parses bytes (which must outlive the model); external data is refused here since there is
 * no directory to find it in (the fuzz target's entry point). */
int hr_onnx_parse(const uint8_t *bytes, size_t size, hr_onnx_model **out, hr_ml_error *err);
void hr_onnx_free(hr_onnx_model *m);

uint32_t hr_onnx_n_nodes(const hr_onnx_model *m);
const hr_onnx_node *hr_onnx_node_at(const hr_onnx_model *m, uint32_t i);
uint32_t hr_onnx_n_inits(const hr_onnx_model *m);
const hr_onnx_tensor *hr_onnx_init_at(const hr_onnx_model *m, uint32_t i);

/* The integer attribute name of node n, or dflt when absent. */
int64_t hr_onnx_attr_int(const hr_onnx_node *n, const char *name, int64_t dflt);

/* 1 when t's data can hold its count elements of its (convertible) type: check before
 * allocating count floats for a tensor whose dims a hostile file may have inflated. */
int hr_onnx_tensor_fits(const hr_onnx_tensor *t);

/* t's elements converted to fp32 (integers exactly, as values) into out[0..t->count).
 * -1 with err when the dtype is not convertible or the data does not hold count elements. */
int hr_onnx_tensor_f32(const hr_onnx_tensor *t, float *out, hr_ml_error *err);

#endif
