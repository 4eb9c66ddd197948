/* fuzz_ml_onnx: the ONNX reader (src/ml/onnx.c) and the graph-to-weight mapping
 * (src/ml/import_onnx.c) must turn any bytes into either weights or an error, never a read
 * outside the input or a crash. Every initializer a successful parse hands out is
 * converted end to end and every weight the mapping names is read (dequantised, transposed,
 * concatenated), so ASan sees any out-of-bounds view. Seeds (seeds/fuzz_ml_onnx) are small
 * graphs in the published exports' shapes: MatMulInteger with its Cast/Mul scale, weight-
 * only DequantizeLinear, a quantised Gather table, a Gemm, a Constant node, split in_proj.
 */
#include "ml/import_internal.h"
#include "ml/onnx.h"

#include <stdint.h>
#include <stdlib.h>

static void convert_all(const hr_onnx_model *m)
{
    for (uint32_t i = 0; i < hr_onnx_n_inits(m); i++) {
        const hr_onnx_tensor *t = hr_onnx_init_at(m, i);
        if (!hr_onnx_tensor_fits(t))
            continue; /* hr_onnx_tensor_f32 refuses it; no point allocating count floats */
        float *v = malloc((size_t)(t->count ? t->count : 1) * sizeof *v);
        hr_ml_error err;
        if (v && hr_onnx_tensor_f32(t, v, &err) == 0) {
            volatile float sink = 0;
            for (uint64_t k = 0; k < t->count; k++)
                sink += v[k];
            (void)sink;
        }
        free(v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hr_onnx_model *m;
    hr_ml_error err;
    if (hr_onnx_parse(data, size, &m, &err) != 0)
        return 0;
    convert_all(m);
    hr_onnx_weights *w;
    if (hr_onnx_weights_from_model(m, &w, &err) != 0) /* takes m over */
        return 0;
    for (uint32_t i = 0; i < hr_onnx_weights_count(w); i++) {
        float *v;
        hr_st_info info;
        if (hr_onnx_weights_read(w, hr_onnx_weights_name(w, i), &v, &info, &err) == 0) {
            if (info.count > 0 && (v[0] != v[0] || v[info.count - 1] != v[info.count - 1]))
                (void)0; /* touches both ends of what the reader claims to hold */
            free(v);
        }
    }
    hr_onnx_weights_close(w);
    return 0;
}
