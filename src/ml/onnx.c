/* onnx.c: the ONNX protobuf reader of onnx.h.
 *
 * Protobuf wire format, as much as ModelProto needs: each field is a varint key
 * (number << 3 | wire type) followed by a varint (type 0), 8 bytes (1), a length-prefixed
 * run (2: strings, bytes, sub-messages, packed repeated scalars) or 4 bytes (5). A cursor
 * (pb) walks one message's bytes; sub-messages get their own cursor over their slice, so a
 * length can never reach past its parent. Field numbers are onnx.proto's (ONNX IR 3-10).
 */
#include "ml/onnx.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_NODES (1u << 18)  /* BERT-base exports have ~1k nodes, Kompress ~2k */
#define MAX_INITS (1u << 16)
#define MAX_IO 4096u          /* inputs or outputs of one node */
#define MAX_ATTRS 256u
#define MAX_NAME 4096u
#define MAX_ELEMS ((uint64_t)1 << 40)
#define MAX_EXT 16            /* distinct external data files */

typedef struct ext_ref {      /* a tensor's external data, resolved after parsing */
    uint32_t tensor;
    char *location;
    uint64_t offset, length;
    int has_length;
} ext_ref;

typedef struct ext_map {
    char *location;
    uint8_t *map;
    size_t size;
} ext_map;

struct hr_onnx_model {
    hr_onnx_tensor *inits;
    uint32_t n_inits, cap_inits;
    hr_onnx_node *nodes;
    uint32_t n_nodes, cap_nodes;
    ext_ref *ext;
    uint32_t n_ext, cap_ext;
    ext_map maps[MAX_EXT];
    uint32_t n_maps;
    uint8_t *map; /* the model file (hr_onnx_open) */
    size_t size;
};

/* ---- wire format ------------------------------------------------------------------------ */

typedef struct pb {
    const uint8_t *p, *end;
} pb;

typedef struct pb_field {
    uint32_t num, type;
    uint64_t v;               /* varint / fixed value */
    const uint8_t *data;      /* wire type 2 */
    size_t len;
} pb_field;

static int pb_varint(pb *c, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end)
            return -1;
        uint8_t b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1; /* more than ten bytes */
}

/* Next field of the message: 1 read, 0 at the end, -1 malformed. */
static int pb_next(pb *c, pb_field *f)
{
    if (c->p >= c->end)
        return 0;
    uint64_t key;
    if (pb_varint(c, &key) != 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return -1;
    f->num = (uint32_t)(key >> 3);
    f->type = (uint32_t)(key & 7);
    f->data = NULL;
    f->len = 0;
    switch (f->type) {
    case 0:
        return pb_varint(c, &f->v) == 0 ? 1 : -1;
    case 1:
    case 5: {
        size_t n = f->type == 1 ? 8 : 4;
        if ((size_t)(c->end - c->p) < n)
            return -1;
        f->v = 0;
        for (size_t i = 0; i < n; i++)
            f->v |= (uint64_t)c->p[i] << (8 * i);
        c->p += n;
        return 1;
    }
    case 2: {
        uint64_t n;
        if (pb_varint(c, &n) != 0 || n > (uint64_t)(c->end - c->p))
            return -1;
        f->data = c->p;
        f->len = (size_t)n;
        c->p += n;
        return 1;
    }
    default: /* groups (3, 4) are not in onnx.proto; 6, 7 do not exist */
        return -1;
    }
}

static pb sub(const pb_field *f)
{
    pb c = {f->data, f->data ? f->data + f->len : NULL}; /* only wire type 2 has data */
    return c;
}

static char *dup_str(const pb_field *f)
{
    if (f->type != 2 || f->len > MAX_NAME || memchr(f->data, 0, f->len))
        return NULL;
    char *s = malloc(f->len + 1);
    if (s) {
        memcpy(s, f->data, f->len);
        s[f->len] = '\0';
    }
    return s;
}

static int grow(void **arr, uint32_t *cap, uint32_t n, size_t elem, uint32_t max)
{
    if (n < *cap)
        return 0;
    if (n >= max)
        return -1;
    uint32_t nc = *cap ? *cap * 2 : 16;
    if (nc > max)
        nc = max;
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p)
        return -1;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *arr = p;
    *cap = nc;
    return 0;
}

/* ---- TensorProto ------------------------------------------------------------------------- */

static int add_dim(hr_onnx_tensor *t, uint64_t d, hr_ml_error *err)
{
    if (t->ndim >= HR_ONNX_MAX_DIMS || (int64_t)d < 0) {
        hr_ml_error_set(err, "tensor with more than %d dims or a negative dim", HR_ONNX_MAX_DIMS);
        return -1;
    }
    t->dims[t->ndim++] = d;
    return 0;
}

/* dims: packed (wire type 2) or one varint per field. */
static int read_dims(hr_onnx_tensor *t, const pb_field *f, hr_ml_error *err)
{
    if (f->type == 0)
        return add_dim(t, f->v, err);
    if (f->type != 2) {
        hr_ml_error_set(err, "malformed tensor dims");
        return -1;
    }
    pb c = sub(f);
    while (c.p < c.end) {
        uint64_t d;
        if (pb_varint(&c, &d) != 0 || add_dim(t, d, err) != 0) {
            hr_ml_error_set(err, "malformed tensor dims");
            return -1;
        }
    }
    return 0;
}

/* One StringStringEntryProto of external_data (key 1, value 2). */
static int read_ext_entry(ext_ref *e, const pb_field *f, hr_ml_error *err)
{
    pb c = sub(f);
    pb_field g;
    char *key = NULL, *val = NULL;
    int r, rc = -1;
    while ((r = pb_next(&c, &g)) == 1) {
        char **dst = g.num == 1 ? &key : g.num == 2 ? &val : NULL;
        if (dst) {
            free(*dst);
            if (!(*dst = dup_str(&g)))
                goto out;
        }
    }
    if (r < 0 || !key || !val)
        goto out;
    if (!strcmp(key, "location")) {
        free(e->location);
        e->location = val;
        val = NULL;
    } else if (!strcmp(key, "offset") || !strcmp(key, "length")) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(val, &end, 10);
        if (errno || end == val || *end || val[0] == '-')
            goto out;
        if (key[0] == 'o') {
            e->offset = v;
        } else {
            e->length = v;
            e->has_length = 1;
        }
    }
    rc = 0;
out:
    if (rc)
        hr_ml_error_set(err, "malformed external_data entry");
    free(key);
    free(val);
    return rc;
}

static int read_tensor(hr_onnx_model *m, const pb_field *tf, const char *name_override,
                       hr_ml_error *err)
{
    if (grow((void **)&m->inits, &m->cap_inits, m->n_inits, sizeof *m->inits, MAX_INITS) != 0) {
        hr_ml_error_set(err, "too many initializers (or out of memory)");
        return -1;
    }
    hr_onnx_tensor *t = &m->inits[m->n_inits];
    memset(t, 0, sizeof *t);
    ext_ref e = {0};
    int external = 0;
    pb c = sub(tf);
    pb_field f;
    int r;
    while ((r = pb_next(&c, &f)) == 1) {
        switch (f.num) {
        case 1:
            if (read_dims(t, &f, err) != 0)
                goto fail;
            break;
        case 2:
            t->dtype = (int32_t)f.v;
            break;
        case 8:
            free(t->name);
            if (!(t->name = dup_str(&f))) {
                hr_ml_error_set(err, "malformed tensor name");
                goto fail;
            }
            break;
        case 4: case 5: case 7: case 9: case 10: /* float, int32, int64, raw, double data */
            if (f.type != 2) {
                hr_ml_error_set(err, "tensor data field %u is not packed", f.num);
                goto fail;
            }
            t->data = f.data;
            t->len = f.len;
            t->field = f.num;
            break;
        case 13:
            if (f.type != 2 || read_ext_entry(&e, &f, err) != 0)
                goto fail;
            break;
        case 14:
            external = f.v == 1;
            break;
        case 3:
            hr_ml_error_set(err, "segmented tensors are not supported");
            goto fail;
        default:
            break;
        }
    }
    if (r < 0) {
        hr_ml_error_set(err, "malformed TensorProto");
        goto fail;
    }
    if (name_override) {
        free(t->name);
        if (!(t->name = strdup(name_override))) {
            hr_ml_error_set(err, "out of memory");
            goto fail;
        }
    }
    if (!t->name || !t->name[0]) {
        hr_ml_error_set(err, "an initializer has no name");
        goto fail;
    }
    t->count = 1;
    for (uint32_t i = 0; i < t->ndim; i++) {
        if (t->dims[i] && t->count > MAX_ELEMS / t->dims[i]) {
            hr_ml_error_set(err, "tensor '%s' is too large", t->name);
            goto fail;
        }
        t->count *= t->dims[i];
    }
    if (external) {
        if (!e.location ||
            grow((void **)&m->ext, &m->cap_ext, m->n_ext, sizeof *m->ext, MAX_INITS) != 0) {
            hr_ml_error_set(err, "tensor '%s': external data without a location", t->name);
            goto fail;
        }
        e.tensor = m->n_inits;
        m->ext[m->n_ext++] = e;
        t->field = 9;
        t->data = NULL;
        t->len = 0;
    } else {
        free(e.location);
    }
    m->n_inits++;
    return 0;
fail:
    free(e.location);
    free(t->name);
    t->name = NULL;
    return -1;
}

/* ---- NodeProto -------------------------------------------------------------------------- */

static int read_attr(hr_onnx_model *m, hr_onnx_node *n, const pb_field *af, hr_ml_error *err)
{
    pb c = sub(af);
    pb_field f;
    int r;
    char *name = NULL;
    int64_t iv = 0;
    pb_field tensor = {0};
    while ((r = pb_next(&c, &f)) == 1) {
        if (f.num == 1) {
            free(name);
            if (!(name = dup_str(&f)))
                break;
        } else if (f.num == 3 && f.type == 0) {
            iv = (int64_t)f.v;
        } else if (f.num == 5 && f.type == 2) {
            tensor = f;
        }
    }
    if (r != 0 || !name) {
        free(name);
        hr_ml_error_set(err, "malformed attribute");
        return -1;
    }
    /* a Constant's value is an initializer under the node's output name */
    if (tensor.data && !strcmp(n->op, "Constant") && !strcmp(name, "value")) {
        free(name);
        if (n->n_out != 1) {
            hr_ml_error_set(err, "Constant node without exactly one output");
            return -1;
        }
        return read_tensor(m, &tensor, n->out[0], err);
    }
    if (n->n_attrs >= MAX_ATTRS) {
        free(name);
        hr_ml_error_set(err, "node with too many attributes");
        return -1;
    }
    n->attrs[n->n_attrs].name = name;
    n->attrs[n->n_attrs++].i = iv;
    return 0;
}

static int push_name(char ***arr, uint32_t *n, const pb_field *f, hr_ml_error *err)
{
    if (*n >= MAX_IO || f->type != 2) {
        hr_ml_error_set(err, "malformed node input/output list");
        return -1;
    }
    char **p = realloc(*arr, (size_t)(*n + 1) * sizeof *p);
    if (!p) {
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    *arr = p;
    if (!(p[*n] = dup_str(f))) {
        hr_ml_error_set(err, "malformed node input/output name");
        return -1;
    }
    (*n)++;
    return 0;
}

static void free_node(hr_onnx_node *n)
{
    for (uint32_t i = 0; i < n->n_in; i++)
        free(n->in[i]);
    for (uint32_t i = 0; i < n->n_out; i++)
        free(n->out[i]);
    for (uint32_t i = 0; i < n->n_attrs; i++)
        free(n->attrs[i].name);
    free(n->in);
    free(n->out);
    free(n->attrs);
    free(n->name);
    free(n->op);
    memset(n, 0, sizeof *n);
}

/* Two passes over the node's bytes: names and op first, so attributes (a Constant's value)
 * can be read knowing the node they belong to whatever the field order. */
static int read_node(hr_onnx_model *m, const pb_field *nf, hr_ml_error *err)
{
    if (grow((void **)&m->nodes, &m->cap_nodes, m->n_nodes, sizeof *m->nodes, MAX_NODES) != 0) {
        hr_ml_error_set(err, "too many nodes (or out of memory)");
        return -1;
    }
    hr_onnx_node *n = &m->nodes[m->n_nodes];
    memset(n, 0, sizeof *n);
    pb c = sub(nf);
    pb_field f;
    int r;
    uint32_t n_attr_fields = 0;
    while ((r = pb_next(&c, &f)) == 1) {
        int rc = 0;
        if (f.num == 1)
            rc = push_name(&n->in, &n->n_in, &f, err);
        else if (f.num == 2)
            rc = push_name(&n->out, &n->n_out, &f, err);
        else if (f.num == 3 || f.num == 4) {
            char **dst = f.num == 3 ? &n->name : &n->op;
            free(*dst);
            if (!(*dst = dup_str(&f))) {
                hr_ml_error_set(err, "malformed node name or op_type");
                rc = -1;
            }
        } else if (f.num == 5)
            n_attr_fields++;
        if (rc)
            goto fail;
    }
    if (r < 0) {
        hr_ml_error_set(err, "malformed NodeProto");
        goto fail;
    }
    if ((!n->name && !(n->name = strdup(""))) || (!n->op && !(n->op = strdup("")))) {
        hr_ml_error_set(err, "out of memory");
        goto fail;
    }
    if (n_attr_fields > MAX_ATTRS) {
        hr_ml_error_set(err, "node '%s' has too many attributes", n->name);
        goto fail;
    }
    if (n_attr_fields && !(n->attrs = calloc(n_attr_fields, sizeof *n->attrs))) {
        hr_ml_error_set(err, "out of memory");
        goto fail;
    }
    c = sub(nf);
    while (pb_next(&c, &f) == 1)
        if (f.num == 5 && (f.type != 2 || read_attr(m, n, &f, err) != 0)) {
            if (f.type != 2)
                hr_ml_error_set(err, "malformed attribute");
            goto fail;
        }
    m->n_nodes++;
    return 0;
fail:
    free_node(n);
    return -1;
}

/* ---- ModelProto / GraphProto -------------------------------------------------------------- */

static int read_graph(hr_onnx_model *m, const pb_field *gf, hr_ml_error *err)
{
    pb c = sub(gf);
    pb_field f;
    int r;
    while ((r = pb_next(&c, &f)) == 1) {
        if (f.type != 2)
            continue;
        if (f.num == 1 && read_node(m, &f, err) != 0)
            return -1;
        if (f.num == 5 && read_tensor(m, &f, NULL, err) != 0)
            return -1;
        if (f.num == 15) {
            hr_ml_error_set(err, "sparse initializers are not supported");
            return -1;
        }
    }
    if (r < 0) {
        hr_ml_error_set(err, "malformed GraphProto");
        return -1;
    }
    return 0;
}

static int parse_model(hr_onnx_model *m, const uint8_t *bytes, size_t size, hr_ml_error *err)
{
    pb c = {bytes, bytes + size};
    pb_field f;
    int r, graphs = 0;
    while ((r = pb_next(&c, &f)) == 1)
        if (f.num == 7 && f.type == 2) {
            if (graphs++ || read_graph(m, &f, err) != 0) {
                if (graphs > 1)
                    hr_ml_error_set(err, "more than one graph");
                return -1;
            }
        }
    if (r < 0) {
        hr_ml_error_set(err, "not an ONNX model (malformed protobuf)");
        return -1;
    }
    if (!graphs || !m->n_nodes) {
        hr_ml_error_set(err, "not an ONNX model (no graph with nodes)");
        return -1;
    }
    return 0;
}

void hr_onnx_free(hr_onnx_model *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->n_inits; i++)
        free(m->inits[i].name);
    for (uint32_t i = 0; i < m->n_nodes; i++)
        free_node(&m->nodes[i]);
    for (uint32_t i = 0; i < m->n_ext; i++)
        free(m->ext[i].location);
    for (uint32_t i = 0; i < m->n_maps; i++) {
        free(m->maps[i].location);
        if (m->maps[i].map)
            munmap(m->maps[i].map, m->maps[i].size);
    }
    free(m->inits);
    free(m->nodes);
    free(m->ext);
    if (m->map)
        munmap(m->map, m->size);
    free(m);
}

static hr_onnx_model *new_model(hr_ml_error *err)
{
    hr_onnx_model *m = calloc(1, sizeof *m);
    if (!m)
        hr_ml_error_set(err, "out of memory");
    return m;
}

int hr_onnx_parse(const uint8_t *bytes, size_t size, hr_onnx_model **out, hr_ml_error *err)
{
    hr_onnx_model *m = new_model(err);
    *out = NULL;
    if (!m || parse_model(m, bytes, size, err) != 0) {
        hr_onnx_free(m);
        return -1;
    }
    if (m->n_ext) {
        hr_ml_error_set(err, "tensor '%s' keeps its data in an external file",
                        m->inits[m->ext[0].tensor].name);
        hr_onnx_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

static int accept_onnx_file(const char *path, int regular, size_t size, hr_ml_error *err)
{
    if (!regular || size == 0) {
        hr_ml_error_set(err, "%s: not a non-empty regular file", path);
        return -1;
    }
    return 0;
}

static uint8_t *map_path(const char *path, size_t *size, hr_ml_error *err)
{
    void *p;
    return hr_ml_map_readonly(path, accept_onnx_file, &p, size, err) == 0 ? p : NULL;
}

/* External data lives in files named relative to the model's directory; a location that
 * is absolute or climbs out of it ("..") is refused, as ONNX's own checker does. */
static int resolve_external(hr_onnx_model *m, const char *model_path, hr_ml_error *err)
{
    const char *slash = strrchr(model_path, '/');
    int dlen = slash ? (int)(slash - model_path) : 1;
    const char *dir = slash ? model_path : ".";
    for (uint32_t i = 0; i < m->n_ext; i++) {
        ext_ref *e = &m->ext[i];
        hr_onnx_tensor *t = &m->inits[e->tensor];
        if (e->location[0] == '/' || strstr(e->location, "..")) {
            hr_ml_error_set(err, "tensor '%s': external location '%s' leaves the model directory",
                            t->name, e->location);
            return -1;
        }
        ext_map *xm = NULL;
        for (uint32_t k = 0; k < m->n_maps && !xm; k++)
            if (!strcmp(m->maps[k].location, e->location))
                xm = &m->maps[k];
        if (!xm) {
            if (m->n_maps >= MAX_EXT) {
                hr_ml_error_set(err, "more than %d external data files", MAX_EXT);
                return -1;
            }
            char path[4096];
            if (snprintf(path, sizeof path, "%.*s/%s", dlen, dir, e->location) >= (int)sizeof path) {
                hr_ml_error_set(err, "external data path too long");
                return -1;
            }
            xm = &m->maps[m->n_maps];
            if (!(xm->map = map_path(path, &xm->size, err)))
                return -1;
            if (!(xm->location = strdup(e->location))) {
                munmap(xm->map, xm->size);
                xm->map = NULL;
                hr_ml_error_set(err, "out of memory");
                return -1;
            }
            m->n_maps++;
        }
        uint64_t len = e->has_length ? e->length : xm->size - (e->offset < xm->size ? e->offset : xm->size);
        if (e->offset > xm->size || len > xm->size - e->offset) {
            hr_ml_error_set(err, "tensor '%s': external data [%llu, +%llu) is outside %s", t->name,
                            (unsigned long long)e->offset, (unsigned long long)len, e->location);
            return -1;
        }
        t->data = xm->map + e->offset;
        t->len = (size_t)len;
    }
    return 0;
}

int hr_onnx_open(const char *path, hr_onnx_model **out, hr_ml_error *err)
{
    hr_onnx_model *m = new_model(err);
    *out = NULL;
    if (!m || !(m->map = map_path(path, &m->size, err)) ||
        parse_model(m, m->map, m->size, err) != 0 || resolve_external(m, path, err) != 0) {
        hr_onnx_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

uint32_t hr_onnx_n_nodes(const hr_onnx_model *m) { return m->n_nodes; }
const hr_onnx_node *hr_onnx_node_at(const hr_onnx_model *m, uint32_t i)
{
    return i < m->n_nodes ? &m->nodes[i] : NULL;
}
uint32_t hr_onnx_n_inits(const hr_onnx_model *m) { return m->n_inits; }
const hr_onnx_tensor *hr_onnx_init_at(const hr_onnx_model *m, uint32_t i)
{
    return i < m->n_inits ? &m->inits[i] : NULL;
}

int64_t hr_onnx_attr_int(const hr_onnx_node *n, const char *name, int64_t dflt)
{
    for (uint32_t i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name))
            return n->attrs[i].i;
    return dflt;
}

/* ---- element conversion -------------------------------------------------------------------- */

static float half_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (e == 0) {
        float v = ldexpf((float)mant, -24);
        return sign ? -v : v;
    }
    bits = e == 31 ? sign | 0x7f800000u | (mant << 13) : sign | ((e + 112) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Raw little-endian data: size of one element of dtype, 0 if not converted. */
static size_t raw_size(int32_t dtype)
{
    switch (dtype) {
    case HR_ONNX_FLOAT: case HR_ONNX_INT32: return 4;
    case HR_ONNX_UINT8: case HR_ONNX_INT8: return 1;
    case HR_ONNX_INT64: case HR_ONNX_DOUBLE: return 8;
    case HR_ONNX_FLOAT16: case HR_ONNX_BFLOAT16: return 2;
    default: return 0;
    }
}

static float raw_elem(int32_t dtype, const uint8_t *p)
{
    uint64_t v = le(p, raw_size(dtype));
    switch (dtype) {
    case HR_ONNX_FLOAT: {
        uint32_t b = (uint32_t)v;
        float f;
        memcpy(&f, &b, 4);
        return f;
    }
    case HR_ONNX_DOUBLE: {
        double d;
        memcpy(&d, &v, 8);
        return (float)d;
    }
    case HR_ONNX_UINT8: return (float)(uint8_t)v;
    case HR_ONNX_INT8: return (float)(int8_t)(uint8_t)v;
    case HR_ONNX_INT32: return (float)(int32_t)(uint32_t)v;
    case HR_ONNX_INT64: return (float)(int64_t)v;
    case HR_ONNX_FLOAT16: return half_to_f32((uint16_t)v);
    default: { /* bfloat16 */
        uint32_t b = (uint32_t)v << 16;
        float f;
        memcpy(&f, &b, 4);
        return f;
    }
    }
}

/* int32_data holds int8/uint8/int32 and the 16-bit floats' bits as varints; int64_data
 * int64 as varints. */
static int varint_field(const hr_onnx_tensor *t, float *out, hr_ml_error *err)
{
    pb c = {t->data, t->data + t->len};
    uint64_t i = 0, v;
    int is64 = t->field == 7;
    if ((is64 && t->dtype != HR_ONNX_INT64) || (!is64 && t->dtype == HR_ONNX_INT64))
        goto bad;
    while (c.p < c.end) {
        if (i >= t->count || pb_varint(&c, &v) != 0)
            goto bad;
        switch (t->dtype) {
        case HR_ONNX_FLOAT16: out[i] = half_to_f32((uint16_t)v); break;
        case HR_ONNX_BFLOAT16: { uint32_t b = (uint32_t)(v & 0xffff) << 16; memcpy(&out[i], &b, 4); break; }
        case HR_ONNX_INT64: out[i] = (float)(int64_t)v; break;
        case HR_ONNX_UINT8: out[i] = (float)(uint8_t)v; break;
        case HR_ONNX_INT8: out[i] = (float)(int8_t)(uint8_t)v; break;
        case HR_ONNX_INT32: out[i] = (float)(int32_t)(uint32_t)v; break;
        default: goto bad;
        }
        i++;
    }
    if (i == t->count)
        return 0;
bad:
    hr_ml_error_set(err, "tensor '%s': typed data does not hold %llu elements of type %d", t->name,
                    (unsigned long long)t->count, t->dtype);
    return -1;
}

int hr_onnx_tensor_fits(const hr_onnx_tensor *t)
{
    size_t es = raw_size(t->dtype);
    if (!es)
        return 0;
    if (t->field == 5 || t->field == 7) /* varints: at least one byte each */
        return t->count <= t->len;
    size_t want = t->field == 4 ? 4 : t->field == 10 ? 8 : es;
    return t->data && t->count <= t->len / want && t->len == t->count * want;
}

int hr_onnx_tensor_f32(const hr_onnx_tensor *t, float *out, hr_ml_error *err)
{
    size_t es = raw_size(t->dtype);
    if (!es) {
        hr_ml_error_set(err, "tensor '%s': data type %d is not a number type the importer reads",
                        t->name, t->dtype);
        return -1;
    }
    if (t->field == 5 || t->field == 7)
        return varint_field(t, out, err);
    size_t want = t->field == 4 ? 4 : t->field == 10 ? 8 : es;
    int32_t as = t->field == 4 ? HR_ONNX_FLOAT : t->field == 10 ? HR_ONNX_DOUBLE : t->dtype;
    if ((t->field == 4 && t->dtype != HR_ONNX_FLOAT) || (t->field == 10 && t->dtype != HR_ONNX_DOUBLE) ||
        !t->data || t->count > t->len / want || t->len != t->count * want) {
        hr_ml_error_set(err, "tensor '%s': %zu data bytes do not hold %llu elements of type %d",
                        t->name, t->len, (unsigned long long)t->count, t->dtype);
        return -1;
    }
    for (uint64_t i = 0; i < t->count; i++)
        out[i] = raw_elem(as, t->data + i * want);
    return 0;
}
