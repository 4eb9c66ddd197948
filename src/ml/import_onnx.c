/* import_onnx.c: the weights of an exported ONNX graph under their checkpoint names, so
 * `headroom model import` reads an .onnx exactly as it reads model.safetensors
 * (import_internal.h, "ONNX weights").
 *
 * Exports do not keep the checkpoint's names. torch.onnx.export (and optimum, which drives
 * it) constant-folds each nn.Linear's transposed weight into an anonymous initializer
 * ("onnx::MatMul_1234", layout [in, out]) while biases, LayerNorm parameters, embeddings
 * and Gemm/Conv weights keep their names; ONNX Runtime's quantize_dynamic then replaces
 * weights by "<name>_quantized" int8/uint8 initializers with a scale and zero point,
 * consumed by MatMulInteger / ConvInteger (the scale multiplies the result afterwards),
 * by a DequantizeLinear (weight-only and QDQ files, quantised Gather tables) or by ORT's
 * fused DynamicQuantizeMatMul / MatMulIntegerToFloat. So each weight is found through the
 * graph, not by name:
 *   - the consumer says what the initializer is: MatMul-like ops take it as B ([in, out],
 *     transposed to the checkpoint's [out, in]), Gemm as B with transB, Conv as W, Gather
 *     as the table; a Transpose or DequantizeLinear between the initializer and its
 *     consumer is followed;
 *   - a quantised weight's scale comes from the node that applies it: DequantizeLinear's
 *     inputs, or for MatMulInteger/ConvInteger the Mul after the Cast of its result (the
 *     factor that is an initializer, not the activation scale);
 *   - an anonymous weight is named by its bias: the Add its product flows into (through
 *     the Cast/Mul of a quantised product) holds "<module>.bias", so the weight is
 *     "<module>.weight"; without a named bias (ModernBERT has none), by the node's scope,
 *     which torch writes as the module path ("/encoder/layers.0/attn/Wqkv/MatMul");
 *   - an anonymous table added under an "embeddings" scope is SigLIP's position table
 *     (folded from its constant position_ids lookup);
 *   - two or three products under one nn.MultiheadAttention scope (SigLIP's pooling head:
 *     torch projects the query and the packed key|value separately) are concatenated in
 *     graph order into "<scope>.in_proj_weight" / "in_proj_bias", the checkpoint's names.
 * Dequantisation is exact: (q - zero_point) * scale in fp32, per tensor or per channel,
 * the value ONNX Runtime's own DequantizeLinear computes; the model writer then quantises
 * as it does for safetensors. Graphs fused by ORT's transformer optimiser (Attention,
 * EmbedLayerNormalization, ...) or using 4-bit MatMulNBits are refused by name.
 */
#include "ml/import_internal.h"
#include "ml/onnx.h"
#include "sys/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTS 3

typedef struct wref {      /* how to produce one weight's values */
    int32_t q, scale, zp;  /* initializer indices (scale / zp -1 when not quantised) */
    int32_t axis;          /* DequantizeLinear axis, -1 = infer from the scale's length */
    int transpose;         /* 2-D swap to the checkpoint layout */
} wref;

typedef struct wentry {
    char *name;            /* checkpoint name, owned */
    wref part[MAX_PARTS];  /* rows concatenated in order (in_proj); usually one */
    uint32_t n_parts;
    uint32_t node;         /* first node that produced it (graph order of in_proj parts) */
    int ambiguous;         /* two different weights claimed this name */
} wentry;

typedef struct value {     /* a named value of the graph */
    const char *name;
    int32_t init;          /* initializer index or -1 */
    int32_t producer;      /* node index or -1 */
    uint32_t cons0, n_cons;
} value;

struct hr_onnx_weights {
    hr_onnx_model *m;
    value *vals;
    uint32_t n_vals, table_cap;
    uint32_t *table;       /* open addressing: value index + 1, 0 empty */
    uint32_t *cons;        /* consumer node indices, grouped by value (cons0, n_cons) */
    wentry *e;
    uint32_t n_e, cap_e;
    char path[4096];
};

/* ---- value table ------------------------------------------------------------------------- */

static uint32_t *slot(hr_onnx_weights *w, const char *name)
{
    uint32_t mask = w->table_cap - 1, i = (uint32_t)hr_hash64(name, strlen(name)) & mask;
    while (w->table[i] && strcmp(w->vals[w->table[i] - 1].name, name))
        i = (i + 1) & mask;
    return &w->table[i];
}

static int32_t find(const hr_onnx_weights *w, const char *name)
{
    if (!name || !name[0])
        return -1;
    uint32_t v = *slot((hr_onnx_weights *)w, name);
    return v ? (int32_t)v - 1 : -1;
}

static int32_t intern(hr_onnx_weights *w, const char *name)
{
    if (!name[0])
        return -1;
    uint32_t *s = slot(w, name);
    if (!*s) {
        value *v = &w->vals[w->n_vals];
        v->name = name;
        v->init = v->producer = -1;
        *s = ++w->n_vals;
    }
    return (int32_t)*s - 1;
}

static int build_values(hr_onnx_weights *w, hr_ml_error *err)
{
    const hr_onnx_model *m = w->m;
    size_t names = hr_onnx_n_inits(m);
    for (uint32_t i = 0; i < hr_onnx_n_nodes(m); i++)
        names += (size_t)hr_onnx_node_at(m, i)->n_in + hr_onnx_node_at(m, i)->n_out;
    size_t cap = 16;
    while (cap < names * 2)
        cap *= 2;
    if (names > (1u << 26) || !(w->vals = calloc(names + 1, sizeof *w->vals)) ||
        !(w->table = calloc(cap, sizeof *w->table))) {
        hr_ml_error_set(err, "graph too large (or out of memory)");
        return -1;
    }
    w->table_cap = (uint32_t)cap;
    for (uint32_t i = 0; i < hr_onnx_n_inits(m); i++)
        w->vals[intern(w, hr_onnx_init_at(m, i)->name)].init = (int32_t)i;
    size_t n_uses = 0;
    for (uint32_t i = 0; i < hr_onnx_n_nodes(m); i++) {
        const hr_onnx_node *n = hr_onnx_node_at(m, i);
        for (uint32_t k = 0; k < n->n_out; k++) {
            int32_t v = intern(w, n->out[k]);
            if (v >= 0 && w->vals[v].producer < 0)
                w->vals[v].producer = (int32_t)i;
        }
        for (uint32_t k = 0; k < n->n_in; k++) {
            int32_t v = intern(w, n->in[k]);
            if (v >= 0) {
                w->vals[v].n_cons++;
                n_uses++;
            }
        }
    }
    if (!(w->cons = malloc((n_uses + 1) * sizeof *w->cons))) {
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    uint32_t at = 0;
    for (uint32_t v = 0; v < w->n_vals; v++) {
        w->vals[v].cons0 = at;
        at += w->vals[v].n_cons;
        w->vals[v].n_cons = 0;
    }
    for (uint32_t i = 0; i < hr_onnx_n_nodes(m); i++) {
        const hr_onnx_node *n = hr_onnx_node_at(m, i);
        for (uint32_t k = 0; k < n->n_in; k++) {
            int32_t v = find(w, n->in[k]);
            if (v >= 0)
                w->cons[w->vals[v].cons0 + w->vals[v].n_cons++] = i;
        }
    }
    return 0;
}

static const hr_onnx_node *node(const hr_onnx_weights *w, int32_t i)
{
    return i >= 0 ? hr_onnx_node_at(w->m, (uint32_t)i) : NULL;
}

static const char *input(const hr_onnx_node *n, uint32_t k)
{
    return k < n->n_in ? n->in[k] : "";
}

static int32_t init_of(const hr_onnx_weights *w, const char *name)
{
    int32_t v = find(w, name);
    return v >= 0 ? w->vals[v].init : -1;
}

/* The only consumer of value name, or NULL when it has none or several. */
static const hr_onnx_node *sole_consumer(const hr_onnx_weights *w, const char *name)
{
    int32_t v = find(w, name);
    if (v < 0 || w->vals[v].n_cons != 1)
        return NULL;
    return node(w, (int32_t)w->cons[w->vals[v].cons0]);
}

static int is_op(const hr_onnx_node *n, const char *op) { return n && !strcmp(n->op, op); }

static int ends_with(const char *s, const char *suffix);

/* ---- naming -------------------------------------------------------------------------------- */

/* Exports name folded constants "onnx::MatMul_12" or "/scope/Constant_output_0"; checkpoint
 * parameters are dotted module paths. */
static int anonymous(const char *name)
{
    return strstr(name, "::") || name[0] == '/' || !strchr(name, '.');
}

/* "<name>_quantized" -> "<name>" (quantize_dynamic's spelling), into buf. */
static const char *unquantized(const char *name, char *buf, size_t cap)
{
    size_t n = strlen(name), s = strlen("_quantized");
    if (n > s && !strcmp(name + n - s, "_quantized"))
        n -= s;
    snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), name);
    return buf;
}

/* The module path of a node from torch's scope name: "/bert/encoder/layer.0/attention/
 * self/query/MatMul" -> "bert.encoder.layer.0.attention.self.query". 0 ok, -1 no scope. */
static int scope_of(const hr_onnx_node *n, char *out, size_t cap)
{
    const char *s = n->name, *last = strrchr(s, '/');
    if (s[0] != '/' || !last || last == s || (size_t)(last - s) >= cap)
        return -1;
    size_t k = 0;
    for (const char *p = s + 1; p < last; p++)
        out[k++] = *p == '/' ? '.' : *p;
    out[k] = '\0';
    return 0;
}

/* The Add a product flows into (through a quantised product's Cast and Mul) and the index
 * of its other input; NULL if the product is not biased right away. */
static const hr_onnx_node *bias_add(const hr_onnx_weights *w, const char *out, int *other)
{
    int cast = 0;
    for (int hop = 0; hop < 4; hop++) {
        const hr_onnx_node *c = sole_consumer(w, out);
        if (!c || c->n_out < 1)
            return NULL;
        if (is_op(c, "Add") && c->n_in == 2) {
            *other = !strcmp(c->in[0], out) ? 1 : 0;
            return init_of(w, c->in[*other]) >= 0 ? c : NULL;
        }
        if (!is_op(c, "Cast") && !(cast && is_op(c, "Mul")))
            return NULL; /* a Mul only scales a quantised product, after its Cast */
        cast |= is_op(c, "Cast");
        out = c->out[0];
    }
    return NULL;
}

/* ---- entries ------------------------------------------------------------------------------- */

static int add_entry(hr_onnx_weights *w, const char *name, const wref *r, uint32_t at,
                     hr_ml_error *err)
{
    for (uint32_t i = 0; i < w->n_e; i++) {
        wentry *e = &w->e[i];
        if (strcmp(e->name, name))
            continue;
        for (uint32_t p = 0; p < e->n_parts; p++)
            if (e->part[p].q == r->q)
                return 0; /* the same initializer seen from another consumer */
        if (e->n_parts < MAX_PARTS)
            e->part[e->n_parts++] = *r;
        else
            e->ambiguous = 1;
        return 0;
    }
    if (w->n_e == w->cap_e) {
        uint32_t nc = w->cap_e ? w->cap_e * 2 : 64;
        wentry *p = realloc(w->e, nc * sizeof *p);
        if (!p) {
            hr_ml_error_set(err, "out of memory");
            return -1;
        }
        w->e = p;
        w->cap_e = nc;
    }
    wentry *e = &w->e[w->n_e];
    memset(e, 0, sizeof *e);
    if (!(e->name = strdup(name))) {
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    e->part[0] = *r;
    e->n_parts = 1;
    e->node = at;
    w->n_e++;
    return 0;
}

/* What value name holds as a weight: an initializer, or one reached through DequantizeLinear
 * and/or a 2-D Transpose. 0 found (r filled, transpose toggled by a Transpose), -1 not. */
static int weight_of(const hr_onnx_weights *w, const char *name, wref *r)
{
    for (int hop = 0; hop < 3; hop++) {
        int32_t v = find(w, name);
        if (v < 0)
            return -1;
        if (w->vals[v].init >= 0) {
            r->q = w->vals[v].init;
            return 0;
        }
        const hr_onnx_node *p = node(w, w->vals[v].producer);
        if (is_op(p, "Transpose")) {
            r->transpose = !r->transpose;
            name = input(p, 0);
        } else if (is_op(p, "DequantizeLinear") && r->scale < 0) {
            r->scale = init_of(w, input(p, 1));
            r->zp = init_of(w, input(p, 2));
            r->axis = (int32_t)hr_onnx_attr_int(p, "axis", 1);
            if (r->scale < 0)
                return -1;
            name = input(p, 0);
        } else {
            return -1;
        }
    }
    return -1;
}

/* The weight scale of a MatMulInteger / ConvInteger: its result is Cast to float and
 * multiplied by (activation scale x weight scale) or by the weight scale alone. */
static int32_t integer_scale(const hr_onnx_weights *w, const hr_onnx_node *n)
{
    const hr_onnx_node *cast = n->n_out ? sole_consumer(w, n->out[0]) : NULL;
    const hr_onnx_node *mul = is_op(cast, "Cast") && cast->n_out ? sole_consumer(w, cast->out[0]) : NULL;
    if (!is_op(mul, "Mul") || mul->n_in != 2)
        return -1;
    const char *f = !strcmp(mul->in[0], cast->out[0]) ? mul->in[1] : mul->in[0];
    int32_t s = init_of(w, f);
    if (s >= 0)
        return s;
    int32_t v = find(w, f);
    const hr_onnx_node *p = v >= 0 ? node(w, w->vals[v].producer) : NULL;
    if (!is_op(p, "Mul") || p->n_in != 2)
        return -1;
    int32_t a = init_of(w, p->in[0]), b = init_of(w, p->in[1]);
    return (a >= 0) != (b >= 0) ? (a >= 0 ? a : b) : -1;
}

/* Names the weight of product node n (result `out`) and its bias: the checkpoint name when
 * the initializer kept one, else from the named bias, else from the scope. */
static int add_product(hr_onnx_weights *w, uint32_t at, const hr_onnx_node *n, const char *out,
                       const wref *r, const char *bias_input, hr_ml_error *err)
{
    char module[512], name[560], buf[512];
    const hr_onnx_tensor *t = hr_onnx_init_at(w->m, (uint32_t)r->q);
    const char *own = unquantized(t->name, buf, sizeof buf);
    int other = 0;
    const hr_onnx_node *add = bias_input && bias_input[0] ? NULL : bias_add(w, out, &other);
    const char *bname = bias_input && bias_input[0] ? bias_input : add ? add->in[other] : NULL;
    size_t bl = bname ? strlen(bname) : 0;
    if (!anonymous(own)) {
        return add_entry(w, own, r, at, err);
    } else if (bname && !anonymous(bname) && bl > 5 && !strcmp(bname + bl - 5, ".bias")) {
        snprintf(module, sizeof module, "%.*s", (int)(bl - 5), bname);
    } else if (scope_of(n, module, sizeof module) != 0) {
        return 0; /* unnamed and unscoped: left out (the importer reports what it misses) */
    }
    snprintf(name, sizeof name, "%s.weight", module);
    if (add_entry(w, name, r, at, err) != 0)
        return -1;
    int32_t bi = bname ? init_of(w, bname) : -1;
    if (bi >= 0 && anonymous(bname)) { /* an anonymous bias takes the weight's module */
        wref br = {bi, -1, -1, -1, 0};
        snprintf(name, sizeof name, "%s.bias", module);
        return add_entry(w, name, &br, at, err);
    }
    return 0;
}

static int refused_op(const hr_onnx_node *n, hr_ml_error *err)
{
    static const char *const fused[] = {"Attention", "QAttention", "MultiHeadAttention",
                                        "EmbedLayerNormalization", "SkipLayerNormalization",
                                        "QOrderedMatMul", "MatMulNBits", "MatMulFpQ4"};
    for (size_t i = 0; i < sizeof fused / sizeof fused[0]; i++)
        if (!strcmp(n->op, fused[i])) {
            hr_ml_error_set(err, "node '%s' is ONNX Runtime's fused %s: import the export before "
                                 "ORT's transformer optimisation / 4-bit quantisation", n->name,
                            n->op);
            return -1;
        }
    return 0;
}

/* SigLIP's position table: HF looks it up with a constant position_ids buffer, so torch's
 * constant folding turns the Gather into an anonymous [1, N, H] constant added to the patch
 * embeddings, under the embeddings scope. */
static int position_table(hr_onnx_weights *w, uint32_t at, const hr_onnx_node *n, hr_ml_error *err)
{
    char scope[512], name[560];
    for (uint32_t k = 0; k < 2; k++) {
        wref r = {init_of(w, n->in[k]), -1, -1, -1, 0};
        if (r.q < 0 || !anonymous(n->in[k]) || hr_onnx_init_at(w->m, (uint32_t)r.q)->ndim < 2 ||
            scope_of(n, scope, sizeof scope) != 0 || !ends_with(scope, "embeddings"))
            continue;
        snprintf(name, sizeof name, "%s.position_embedding.weight", scope);
        return add_entry(w, name, &r, at, err);
    }
    return 0;
}

/* One node's weight, if the node consumes one. */
static int scan_node(hr_onnx_weights *w, uint32_t at, hr_ml_error *err)
{
    const hr_onnx_node *n = hr_onnx_node_at(w->m, at);
    wref r = {-1, -1, -1, -1, 0};
    const char *out = n->n_out ? n->out[0] : "";
    if (refused_op(n, err) != 0)
        return -1;
    if (is_op(n, "MatMul") || is_op(n, "Gemm")) {
        if (weight_of(w, input(n, 1), &r) != 0)
            return 0; /* activation x activation (attention scores) */
        int transB = is_op(n, "Gemm") && hr_onnx_attr_int(n, "transB", 0);
        r.transpose ^= !transB;
        return add_product(w, at, n, out, &r, is_op(n, "Gemm") ? input(n, 2) : NULL, err);
    }
    if (is_op(n, "MatMulInteger") || is_op(n, "DynamicQuantizeMatMul") ||
        is_op(n, "MatMulIntegerToFloat")) {
        int fused = !is_op(n, "MatMulInteger"), itf = is_op(n, "MatMulIntegerToFloat");
        r.q = init_of(w, input(n, 1));
        r.scale = fused ? init_of(w, input(n, itf ? 3 : 2)) : integer_scale(w, n);
        r.zp = init_of(w, input(n, fused ? (itf ? 5 : 3) : 3));
        r.transpose = 1;
        if (r.q < 0 || r.scale < 0) {
            hr_ml_error_set(err, "node '%s' (%s): its weight or weight scale is not an initializer",
                            n->name, n->op);
            return -1;
        }
        return add_product(w, at, n, out, &r, fused ? input(n, itf ? 6 : 4) : NULL, err);
    }
    if (is_op(n, "Conv") || is_op(n, "ConvInteger")) {
        int integer = is_op(n, "ConvInteger");
        if (integer) {
            r.q = init_of(w, input(n, 1));
            r.scale = integer_scale(w, n);
            r.zp = init_of(w, input(n, 3));
            r.axis = 0; /* per output channel */
        } else if (weight_of(w, input(n, 1), &r) != 0) {
            return 0;
        }
        if (r.q < 0 || (integer && r.scale < 0)) {
            hr_ml_error_set(err, "node '%s' (%s): its weight or weight scale is not an initializer",
                            n->name, n->op);
            return -1;
        }
        return add_product(w, at, n, out, &r, integer ? NULL : input(n, 2), err);
    }
    if (is_op(n, "Add") && n->n_in == 2)
        return position_table(w, at, n, err);
    if (is_op(n, "Gather") && (r.q = init_of(w, input(n, 0))) >= 0) {
        const hr_onnx_node *dq = sole_consumer(w, out);
        if (is_op(dq, "DequantizeLinear") && !strcmp(input(dq, 0), out)) {
            r.scale = init_of(w, input(dq, 1));
            r.zp = init_of(w, input(dq, 2));
        }
        char buf[512];
        const char *name = unquantized(hr_onnx_init_at(w->m, (uint32_t)r.q)->name, buf, sizeof buf);
        return anonymous(name) ? 0 : add_entry(w, name, &r, at, err);
    }
    return 0;
}

/* Named initializers nobody above claimed (norms, biases, position tables, the probe, a
 * DequantizeLinear'd "<name>_quantized"), in their stored layout. */
static int add_named(hr_onnx_weights *w, hr_ml_error *err)
{
    for (uint32_t i = 0; i < hr_onnx_n_inits(w->m); i++) {
        const hr_onnx_tensor *t = hr_onnx_init_at(w->m, i);
        char buf[512];
        wref r = {(int32_t)i, -1, -1, -1, 0};
        if (anonymous(t->name) || ends_with(t->name, "_scale") || ends_with(t->name, "_zero_point"))
            continue;
        int32_t v = find(w, t->name);
        const hr_onnx_node *dq = v >= 0 ? sole_consumer(w, t->name) : NULL;
        if (is_op(dq, "DequantizeLinear") && !strcmp(input(dq, 0), t->name)) {
            r.scale = init_of(w, input(dq, 1));
            r.zp = init_of(w, input(dq, 2));
            r.axis = (int32_t)hr_onnx_attr_int(dq, "axis", 1);
        }
        const char *name = unquantized(t->name, buf, sizeof buf);
        if (hr_onnx_weights_has(w, name))
            continue;
        if (add_entry(w, name, &r, UINT32_MAX, err) != 0)
            return -1;
    }
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* nn.MultiheadAttention's products (SigLIP's pooling head: the query and the packed
 * key|value projected separately, or one packed product) carry the checkpoint's in_proj
 * names: "<scope>.attention.weight" -> "<scope>.attention.in_proj_weight". */
static int rename_in_proj(hr_onnx_weights *w, hr_ml_error *err)
{
    for (uint32_t i = 0; i < w->n_e; i++) {
        wentry *e = &w->e[i];
        int is_w = ends_with(e->name, "attention.weight");
        if (!is_w && !ends_with(e->name, "attention.bias"))
            continue;
        size_t base = strlen(e->name) - (is_w ? strlen("weight") : strlen("bias"));
        const char *suffix = is_w ? "in_proj_weight" : "in_proj_bias";
        char *nn = malloc(base + strlen(suffix) + 1);
        if (!nn) {
            hr_ml_error_set(err, "out of memory");
            return -1;
        }
        memcpy(nn, e->name, base);
        strcpy(nn + base, suffix);
        free(e->name);
        e->name = nn;
    }
    return 0;
}

void hr_onnx_weights_close(hr_onnx_weights *w)
{
    if (!w)
        return;
    for (uint32_t i = 0; i < w->n_e; i++)
        free(w->e[i].name);
    free(w->e);
    free(w->vals);
    free(w->table);
    free(w->cons);
    hr_onnx_free(w->m);
    free(w);
}

static int map_graph(hr_onnx_weights *w, hr_ml_error *err)
{
    if (build_values(w, err) != 0)
        return -1;
    for (uint32_t i = 0; i < hr_onnx_n_nodes(w->m); i++)
        if (scan_node(w, i, err) != 0)
            return -1;
    return add_named(w, err) == 0 && rename_in_proj(w, err) == 0 ? 0 : -1;
}

int hr_onnx_weights_open(const char *path, hr_onnx_weights **out, hr_ml_error *err)
{
    hr_onnx_model *m;
    *out = NULL;
    if (hr_onnx_open(path, &m, err) == 0 && hr_onnx_weights_from_model(m, out, err) == 0) {
        snprintf((*out)->path, sizeof (*out)->path, "%s", path);
        return 0;
    }
    if (err) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        hr_ml_error_set(err, "%s: %s", path, msg);
    }
    return -1;
}

int hr_onnx_weights_from_model(hr_onnx_model *m, hr_onnx_weights **out, hr_ml_error *err)
{
    *out = NULL;
    hr_onnx_weights *w = calloc(1, sizeof *w);
    if (!w) {
        hr_onnx_free(m);
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    w->m = m;
    snprintf(w->path, sizeof w->path, "the ONNX graph");
    if (map_graph(w, err) != 0) {
        hr_onnx_weights_close(w);
        return -1;
    }
    *out = w;
    return 0;
}

/* ---- reading ------------------------------------------------------------------------------ */

static const wentry *entry(const hr_onnx_weights *w, const char *name)
{
    for (uint32_t i = 0; i < w->n_e; i++)
        if (!strcmp(w->e[i].name, name))
            return &w->e[i];
    return NULL;
}

int hr_onnx_weights_has(const hr_onnx_weights *w, const char *name)
{
    return entry(w, name) != NULL;
}

uint32_t hr_onnx_weights_count(const hr_onnx_weights *w) { return w->n_e; }
const char *hr_onnx_weights_name(const hr_onnx_weights *w, uint32_t i)
{
    return i < w->n_e ? w->e[i].name : NULL;
}

static float *read_init(const hr_onnx_weights *w, int32_t i, uint64_t *count, hr_ml_error *err)
{
    const hr_onnx_tensor *t = hr_onnx_init_at(w->m, (uint32_t)i);
    if (!t || !hr_onnx_tensor_fits(t)) {
        hr_ml_error_set(err, "tensor '%s': its data does not hold its %llu elements (or the "
                             "type is not a number)", t ? t->name : "?",
                        t ? (unsigned long long)t->count : 0ULL);
        return NULL;
    }
    float *v = malloc((size_t)(t->count ? t->count : 1) * sizeof *v);
    if (!v) {
        hr_ml_error_set(err, "tensor '%s': out of memory", t->name);
        return NULL;
    }
    if (hr_onnx_tensor_f32(t, v, err) != 0) {
        free(v);
        return NULL;
    }
    *count = t->count;
    return v;
}

/* (q - zp) * scale over the channels of the quantisation axis, in place in q. */
static int dequantize(const hr_onnx_weights *w, const wref *r, float *q, hr_ml_error *err)
{
    const hr_onnx_tensor *t = hr_onnx_init_at(w->m, (uint32_t)r->q);
    uint64_t ns = 0, nz = 0;
    float *s = read_init(w, r->scale, &ns, err), *z = NULL;
    int rc = -1;
    if (!s || (r->zp >= 0 && !(z = read_init(w, r->zp, &nz, err))))
        goto out;
    uint64_t inner = 1, channels = 1;
    if (ns > 1) {
        int32_t axis = r->axis;
        if (axis < 0) /* MatMulInteger's per-column scale: the dim that matches */
            for (uint32_t d = t->ndim; d-- > 0 && axis < 0;)
                if (t->dims[d] == ns)
                    axis = (int32_t)d;
        if (axis < 0 || (uint32_t)axis >= t->ndim || t->dims[axis] != ns) {
            hr_ml_error_set(err, "tensor '%s': %llu scales fit no axis", t->name, (unsigned long long)ns);
            goto out;
        }
        channels = ns;
        for (uint32_t d = (uint32_t)axis + 1; d < t->ndim; d++)
            inner *= t->dims[d];
    }
    if (z && nz != ns) {
        hr_ml_error_set(err, "tensor '%s': %llu zero points for %llu scales", t->name,
                        (unsigned long long)nz, (unsigned long long)ns);
        goto out;
    }
    for (uint64_t i = 0; i < t->count; i++) {
        uint64_t c = channels > 1 ? (i / inner) % channels : 0;
        q[i] = (q[i] - (z ? z[c] : 0.0f)) * s[c];
    }
    rc = 0;
out:
    free(s);
    free(z);
    return rc;
}

/* One part: values, dequantised and in the checkpoint layout; shape into dims/ndim. */
static float *read_part(const hr_onnx_weights *w, const wref *r, uint64_t dims[HR_ONNX_MAX_DIMS],
                        uint32_t *ndim, hr_ml_error *err)
{
    const hr_onnx_tensor *t = hr_onnx_init_at(w->m, (uint32_t)r->q);
    uint64_t n;
    float *v = read_init(w, r->q, &n, err);
    if (!v || (r->scale >= 0 && dequantize(w, r, v, err) != 0)) {
        free(v);
        return NULL;
    }
    *ndim = t->ndim;
    memcpy(dims, t->dims, sizeof t->dims);
    if (!r->transpose)
        return v;
    if (t->ndim != 2) {
        hr_ml_error_set(err, "tensor '%s': a %u-D weight where a matrix was expected", t->name, t->ndim);
        free(v);
        return NULL;
    }
    float *tr = malloc((size_t)n * sizeof *tr);
    if (!tr) {
        hr_ml_error_set(err, "out of memory");
        free(v);
        return NULL;
    }
    const uint64_t R = t->dims[0], C = t->dims[1];
    for (uint64_t i = 0; i < R; i++)
        for (uint64_t j = 0; j < C; j++)
            tr[j * R + i] = v[i * C + j];
    free(v);
    dims[0] = C;
    dims[1] = R;
    return tr;
}

int hr_onnx_weights_read(const hr_onnx_weights *w, const char *name, float **out, hr_st_info *info,
                         hr_ml_error *err)
{
    const wentry *e = entry(w, name);
    *out = NULL;
    if (!e) {
        hr_ml_error_set(err, "%s: no weight '%s' in the graph", w->path, name);
        return -1;
    }
    if (e->ambiguous) {
        hr_ml_error_set(err, "%s: more than one weight maps to '%s'", w->path, name);
        return -1;
    }
    float *all = NULL;
    uint64_t rows = 0, cols = 0, dims[HR_ONNX_MAX_DIMS];
    uint32_t ndim = 0;
    for (uint32_t p = 0; p < e->n_parts; p++) {
        uint64_t d[HR_ONNX_MAX_DIMS];
        uint32_t nd;
        float *v = read_part(w, &e->part[p], d, &nd, err);
        if (!v)
            goto fail;
        uint64_t pc = nd >= 2 ? d[1] : 0;
        for (uint32_t k = 2; k < nd; k++)
            pc *= d[k];
        if (p == 0) {
            ndim = nd;
            memcpy(dims, d, sizeof d);
            cols = pc;
        } else if (nd != ndim || pc != cols || nd == 0) {
            free(v);
            hr_ml_error_set(err, "'%s': its parts have different shapes", name);
            goto fail;
        }
        uint64_t prow = nd ? d[0] : 1, width = cols ? cols : 1;
        float *grown = realloc(all, (size_t)((rows + prow) * width) * sizeof *grown);
        if (!grown) {
            free(v);
            hr_ml_error_set(err, "out of memory");
            goto fail;
        }
        all = grown;
        memcpy(all + rows * width, v, (size_t)(prow * width) * sizeof *v);
        rows += prow;
        free(v);
    }
    if (ndim > 4) {
        hr_ml_error_set(err, "'%s': more than 4 dims", name);
        goto fail;
    }
    memset(info, 0, sizeof *info);
    info->ndim = ndim;
    info->count = 1;
    for (uint32_t k = 0; k < ndim; k++) {
        uint64_t d = k == 0 ? rows : dims[k];
        if (d > UINT32_MAX) {
            hr_ml_error_set(err, "'%s': a dim is too large", name);
            goto fail;
        }
        info->shape[k] = (uint32_t)d;
        info->count *= d;
    }
    snprintf(info->dtype, sizeof info->dtype, "F32");
    *out = all;
    return 0;
fail:
    free(all);
    return -1;
}
