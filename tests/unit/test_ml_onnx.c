/* The ONNX protobuf reader (src/ml/onnx.c) on ModelProto bytes written here field by field
 * from onnx.proto's numbering (independently of the reader's code), so each wire-format
 * rule is checked on its own:
 *   - raw_data, packed float_data and int32_data (int8 values as sign-extended varints),
 *     float16 raw data, dims packed or one varint per field, a Constant node's value as an
 *     initializer under its output name, integer attributes, unknown fields skipped;
 *   - refused with an error: a truncated varint, a length past the end, wire types 3/4/6,
 *     raw data shorter than the dims say, dims whose product overflows, an unpacked typed
 *     field, a NUL inside a name, external data with no directory (hr_onnx_parse), two
 *     graphs, no graph.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ml/onnx.h"

#include <stdint.h>
#include <string.h>

typedef struct pbw {
    uint8_t b[4096];
    size_t n;
} pbw;

static void varint(pbw *w, uint64_t v)
{
    do {
        w->b[w->n++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v);
}

static void key(pbw *w, uint32_t field, uint32_t type) { varint(w, (uint64_t)field << 3 | type); }

static void bytes(pbw *w, uint32_t field, const void *p, size_t n)
{
    key(w, field, 2);
    varint(w, n);
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void str(pbw *w, uint32_t field, const char *s) { bytes(w, field, s, strlen(s)); }
static void msg(pbw *w, uint32_t field, const pbw *m) { bytes(w, field, m->b, m->n); }
static void vint(pbw *w, uint32_t field, uint64_t v) { key(w, field, 0); varint(w, v); }

/* ModelProto { ir_version 8, producer_name, graph { node Identity(name) , initializer t } } */
static size_t model_with(const pbw *tensor, const pbw *extra_node, uint8_t *out)
{
    pbw node = {0}, graph = {0}, model = {0};
    str(&node, 1, "w");
    str(&node, 2, "y");
    str(&node, 3, "/scope/Identity");
    str(&node, 4, "Identity");
    msg(&graph, 1, &node);
    if (extra_node)
        msg(&graph, 1, extra_node);
    str(&graph, 2, "g");
    if (tensor)
        msg(&graph, 5, tensor);
    vint(&model, 1, 8);
    str(&model, 2, "test");
    msg(&model, 7, &graph);
    memcpy(out, model.b, model.n);
    return model.n;
}

static hr_onnx_model *parse_ok(const uint8_t *b, size_t n)
{
    hr_onnx_model *m = NULL;
    hr_ml_error err;
    if (hr_onnx_parse(b, n, &m, &err) != 0)
        fail_msg("parse failed: %s", err.msg);
    return m;
}

static void parse_fails(const uint8_t *b, size_t n, const char *needle)
{
    hr_onnx_model *m = NULL;
    hr_ml_error err;
    assert_int_not_equal(hr_onnx_parse(b, n, &m, &err), 0);
    assert_null(m);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' does not mention '%s'", err.msg, needle);
}

static void test_raw_and_typed_data(void **state)
{
    (void)state;
    uint8_t buf[4096];
    const float vals[3] = {1.5f, -2.0f, 0.25f};
    /* raw_data float, dims as two unpacked varints [3, 1] */
    pbw t = {0};
    vint(&t, 1, 3);
    vint(&t, 1, 1);
    vint(&t, 2, HR_ONNX_FLOAT);
    str(&t, 8, "a.weight");
    bytes(&t, 9, vals, sizeof vals);
    vint(&t, 99, 7); /* an unknown field is skipped */
    hr_onnx_model *m = parse_ok(buf, model_with(&t, NULL, buf));
    assert_int_equal(hr_onnx_n_inits(m), 1);
    const hr_onnx_tensor *x = hr_onnx_init_at(m, 0);
    assert_string_equal(x->name, "a.weight");
    assert_int_equal(x->ndim, 2);
    assert_int_equal(x->count, 3);
    float out[3];
    assert_int_equal(hr_onnx_tensor_f32(x, out, NULL), 0);
    assert_memory_equal(out, vals, sizeof vals);
    const hr_onnx_node *n = hr_onnx_node_at(m, 0);
    assert_string_equal(n->op, "Identity");
    assert_string_equal(n->name, "/scope/Identity");
    hr_onnx_free(m);

    /* packed float_data (field 4), dims packed */
    pbw u = {0}, d = {0};
    varint(&d, 3);
    bytes(&u, 1, d.b, d.n);
    vint(&u, 2, HR_ONNX_FLOAT);
    str(&u, 8, "b");
    bytes(&u, 4, vals, sizeof vals);
    m = parse_ok(buf, model_with(&u, NULL, buf));
    assert_int_equal(hr_onnx_tensor_f32(hr_onnx_init_at(m, 0), out, NULL), 0);
    assert_memory_equal(out, vals, sizeof vals);
    hr_onnx_free(m);

    /* int8 values in int32_data: -127 is a ten-byte sign-extended varint */
    pbw v = {0}, iv = {0};
    varint(&iv, (uint64_t)(int64_t)-127);
    varint(&iv, 5);
    varint(&iv, 127);
    vint(&v, 1, 3);
    vint(&v, 2, HR_ONNX_INT8);
    str(&v, 8, "q");
    bytes(&v, 5, iv.b, iv.n);
    m = parse_ok(buf, model_with(&v, NULL, buf));
    assert_int_equal(hr_onnx_tensor_f32(hr_onnx_init_at(m, 0), out, NULL), 0);
    assert_true(out[0] == -127.0f && out[1] == 5.0f && out[2] == 127.0f);
    hr_onnx_free(m);

    /* float16 raw: 0x3c00 = 1, 0xc000 = -2, 0x0001 = 2^-24 (subnormal) */
    const uint8_t h[6] = {0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00};
    pbw f = {0};
    vint(&f, 1, 3);
    vint(&f, 2, HR_ONNX_FLOAT16);
    str(&f, 8, "h");
    bytes(&f, 9, h, sizeof h);
    m = parse_ok(buf, model_with(&f, NULL, buf));
    assert_int_equal(hr_onnx_tensor_f32(hr_onnx_init_at(m, 0), out, NULL), 0);
    assert_true(out[0] == 1.0f && out[1] == -2.0f && out[2] == 5.9604644775390625e-8f);
    hr_onnx_free(m);
}

static void test_constant_node_and_attributes(void **state)
{
    (void)state;
    uint8_t buf[4096];
    const float one = 1.0f;
    pbw t = {0}, attr = {0}, node = {0}, ax = {0}, axn = {0};
    vint(&t, 2, HR_ONNX_FLOAT);
    bytes(&t, 9, &one, 4); /* a scalar: no dims */
    str(&attr, 1, "value");
    msg(&attr, 5, &t);
    vint(&attr, 20, 4);
    str(&ax, 1, "transB");
    vint(&ax, 3, 1);
    str(&axn, 1, "axis");
    vint(&axn, 3, (uint64_t)(int64_t)-1);
    str(&node, 2, "c_out");
    str(&node, 4, "Constant");
    msg(&node, 5, &attr);
    msg(&node, 5, &ax);
    msg(&node, 5, &axn);
    hr_onnx_model *m = parse_ok(buf, model_with(NULL, &node, buf));
    assert_int_equal(hr_onnx_n_inits(m), 1);
    assert_string_equal(hr_onnx_init_at(m, 0)->name, "c_out");
    assert_int_equal(hr_onnx_init_at(m, 0)->count, 1);
    const hr_onnx_node *n = hr_onnx_node_at(m, 1);
    assert_int_equal(hr_onnx_attr_int(n, "transB", 0), 1);
    assert_int_equal(hr_onnx_attr_int(n, "axis", 0), -1);
    assert_int_equal(hr_onnx_attr_int(n, "absent", 42), 42);
    hr_onnx_free(m);
}

static void test_malformed_inputs_are_errors(void **state)
{
    (void)state;
    uint8_t buf[4096];
    size_t n = model_with(NULL, NULL, buf);
    parse_fails(buf, n - 1, "malformed");                      /* graph cut short */
    const uint8_t varint_cut[] = {0x08, 0x80};
    parse_fails(varint_cut, sizeof varint_cut, "malformed");
    const uint8_t too_long[] = {0x3a, 0x7f, 0x00};
    parse_fails(too_long, sizeof too_long, "malformed");
    const uint8_t group[] = {0x0b, 0x00};
    parse_fails(group, sizeof group, "malformed");
    parse_fails(buf, 0, "no graph");
    /* two graphs */
    uint8_t two[8192];
    memcpy(two, buf, n);
    memcpy(two + n, buf, n);
    parse_fails(two, 2 * n, "more than one graph");

    const float vals[2] = {1, 2};
    pbw t = {0};
    vint(&t, 1, 3); /* says 3, holds 2 */
    vint(&t, 2, HR_ONNX_FLOAT);
    str(&t, 8, "short");
    bytes(&t, 9, vals, sizeof vals);
    hr_onnx_model *m = parse_ok(buf, model_with(&t, NULL, buf));
    float out[3];
    hr_ml_error err;
    assert_int_not_equal(hr_onnx_tensor_f32(hr_onnx_init_at(m, 0), out, &err), 0);
    assert_non_null(strstr(err.msg, "short"));
    hr_onnx_free(m);

    pbw big = {0};
    for (int i = 0; i < 3; i++)
        vint(&big, 1, (uint64_t)1 << 20); /* 2^60 elements */
    vint(&big, 2, HR_ONNX_FLOAT);
    str(&big, 8, "huge");
    parse_fails(buf, model_with(&big, NULL, buf), "too large");

    pbw unpacked = {0};
    vint(&unpacked, 1, 1);
    vint(&unpacked, 2, HR_ONNX_INT32);
    str(&unpacked, 8, "u");
    vint(&unpacked, 5, 7);
    parse_fails(buf, model_with(&unpacked, NULL, buf), "not packed");

    pbw nul = {0};
    vint(&nul, 2, HR_ONNX_FLOAT);
    bytes(&nul, 8, "a\0b", 3);
    parse_fails(buf, model_with(&nul, NULL, buf), "name");

    pbw ext = {0}, entry = {0};
    str(&entry, 1, "location");
    str(&entry, 2, "weights.bin");
    vint(&ext, 1, 1);
    vint(&ext, 2, HR_ONNX_FLOAT);
    str(&ext, 8, "e");
    msg(&ext, 13, &entry);
    vint(&ext, 14, 1);
    parse_fails(buf, model_with(&ext, NULL, buf), "external");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_and_typed_data),
        cmocka_unit_test(test_constant_node_and_attributes),
        cmocka_unit_test(test_malformed_inputs_are_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
