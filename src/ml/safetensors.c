/* safetensors.c: the .safetensors reader of safetensors.h (used by `headroom model import`).
 * The header is parsed with our JSON scanner; tensor data is read straight from the
 * read-only mapping and converted to fp32 into a caller-owned buffer.
 */
#include "ml/safetensors.h"

#include "json/json.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_HEADER ((uint64_t)100 << 20) /* the format's own limit is 100 MB */

struct hr_safetensors {
    uint8_t *map;
    size_t size;
    size_t data_base;   /* 8 + header length */
    hr_json_doc doc;
    uint32_t n;
    char **names;       /* owned, unescaped */
    uint32_t *nodes;    /* json node of each tensor's descriptor */
};

void hr_safetensors_close(hr_safetensors *st)
{
    if (!st)
        return;
    for (uint32_t i = 0; i < st->n; i++)
        free(st->names[i]);
    free(st->names);
    free(st->nodes);
    hr_json_doc_free(&st->doc);
    if (st->map)
        munmap(st->map, st->size);
    free(st);
}

static int accept_safetensors(const char *path, int regular, size_t size, hr_ml_error *err)
{
    (void)regular; /* anything else fails at mmap, with its own reason */
    if (size < 8) {
        hr_ml_error_set(err, "%s: too short for safetensors", path);
        return -1;
    }
    return 0;
}

static int map_file(const char *path, hr_safetensors *st, hr_ml_error *err)
{
    void *m;
    if (hr_ml_map_readonly(path, accept_safetensors, &m, &st->size, err) != 0)
        return -1;
    st->map = m;
    return 0;
}

static int index_tensors(hr_safetensors *st, hr_ml_error *err)
{
    const hr_json_node *root = hr_json_at(&st->doc, 0);
    if (root->type != HR_JSON_OBJECT) {
        hr_ml_error_set(err, "safetensors header is not a JSON object");
        return -1;
    }
    st->names = calloc(root->count + 1, sizeof *st->names);
    st->nodes = calloc(root->count + 1, sizeof *st->nodes);
    if (!st->names || !st->nodes) {
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    for (uint32_t c = root->first_child; c != HR_JSON_NONE; c = st->doc.nodes[c].next) {
        if (hr_json_key_eq(&st->doc, c, "__metadata__"))
            continue;
        hr_buf name = HR_BUF_INIT;
        if (hr_json_key(&st->doc, c, &name) != 0 || !name.data) {
            hr_buf_free(&name);
            hr_ml_error_set(err, "safetensors header: unreadable tensor name");
            return -1;
        }
        st->names[st->n] = hr_buf_steal(&name, NULL);
        st->nodes[st->n++] = c;
    }
    return 0;
}

int hr_safetensors_open(const char *path, hr_safetensors **out, hr_ml_error *err)
{
    *out = NULL;
    hr_safetensors *st = calloc(1, sizeof *st);
    if (!st) {
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    if (map_file(path, st, err) != 0)
        goto fail;
    uint64_t hlen;
    memcpy(&hlen, st->map, 8);
    if (hlen > MAX_HEADER || hlen > st->size - 8) {
        hr_ml_error_set(err, "%s: header length %llu exceeds the file", path, (unsigned long long)hlen);
        goto fail;
    }
    st->data_base = 8 + (size_t)hlen;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    lim.max_depth = 8;
    hr_json_error jerr;
    if (hr_json_parse(&st->doc, (const char *)st->map + 8, (size_t)hlen, &lim, &jerr) != 0) {
        hr_ml_error_set(err, "%s: header is not valid JSON: %s", path, jerr.msg);
        goto fail;
    }
    if (index_tensors(st, err) != 0)
        goto fail;
    *out = st;
    return 0;
fail:
    hr_safetensors_close(st);
    return -1;
}

uint32_t hr_safetensors_count(const hr_safetensors *st) { return st->n; }

const char *hr_safetensors_name(const hr_safetensors *st, uint32_t i)
{
    return i < st->n ? st->names[i] : NULL;
}

static size_t dtype_bytes(const char *dt)
{
    if (!strcmp(dt, "F32"))
        return 4;
    if (!strcmp(dt, "F16") || !strcmp(dt, "BF16"))
        return 2;
    return 0;
}

/* Resolves name to its descriptor and validated data span. */
static int locate(const hr_safetensors *st, const char *name, hr_st_info *info,
                  const uint8_t **data, hr_ml_error *err)
{
    uint32_t node = HR_JSON_NONE;
    for (uint32_t i = 0; i < st->n; i++)
        if (!strcmp(st->names[i], name))
            node = st->nodes[i];
    if (node == HR_JSON_NONE) {
        hr_ml_error_set(err, "tensor '%s' not in model.safetensors", name);
        return -1;
    }
    const hr_json_doc *d = &st->doc;
    uint32_t dt = hr_json_get(d, node, "dtype"), shape = hr_json_get(d, node, "shape"),
             offs = hr_json_get(d, node, "data_offsets");
    hr_buf s = HR_BUF_INIT;
    memset(info, 0, sizeof *info);
    int ok = dt != HR_JSON_NONE && hr_json_string(d, dt, &s) == 0 && s.data && s.len < 8;
    if (ok)
        memcpy(info->dtype, s.data, s.len + 1);
    hr_buf_free(&s);
    const hr_json_node *sh = hr_json_at(d, shape), *of = hr_json_at(d, offs);
    if (!ok || !sh || sh->type != HR_JSON_ARRAY || sh->count > 4 || !of ||
        of->type != HR_JSON_ARRAY || of->count != 2) {
        hr_ml_error_set(err, "tensor '%s': malformed descriptor", name);
        return -1;
    }
    info->ndim = sh->count;
    uint64_t count = 1;
    for (uint32_t i = 0; i < 4; i++) {
        int64_t v = 1;
        if (i < sh->count && (hr_json_int64(d, hr_json_index(d, shape, i), &v) != 0 || v <= 0 ||
                              v > (1 << 24))) {
            hr_ml_error_set(err, "tensor '%s': bad shape", name);
            return -1;
        }
        info->shape[i] = i < sh->count ? (uint32_t)v : 1;
        count *= (uint64_t)v;
    }
    info->count = (size_t)count;
    int64_t b, e;
    size_t esz = dtype_bytes(info->dtype);
    if (hr_json_int64(d, hr_json_index(d, offs, 0), &b) != 0 ||
        hr_json_int64(d, hr_json_index(d, offs, 1), &e) != 0 || b < 0 || e < b ||
        (uint64_t)e > st->size - st->data_base || (esz && (uint64_t)(e - b) != count * esz)) {
        hr_ml_error_set(err, "tensor '%s': data offsets outside the file or not matching its shape",
                        name);
        return -1;
    }
    *data = st->map + st->data_base + b;
    return 0;
}

int hr_safetensors_info(const hr_safetensors *st, const char *name, hr_st_info *info,
                        hr_ml_error *err)
{
    const uint8_t *data;
    return locate(st, name, info, &data, err);
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int hr_safetensors_read_f32(const hr_safetensors *st, const char *name, float **out,
                            hr_st_info *info, hr_ml_error *err)
{
    hr_st_info local;
    hr_st_info *in = info ? info : &local;
    const uint8_t *data;
    *out = NULL;
    if (locate(st, name, in, &data, err) != 0)
        return -1;
    if (!dtype_bytes(in->dtype)) {
        hr_ml_error_set(err, "tensor '%s': dtype %s not supported (F32, F16, BF16)", name,
                        in->dtype);
        return -1;
    }
    float *f = malloc(in->count * sizeof *f + 1);
    if (!f) {
        hr_ml_error_set(err, "out of memory reading '%s'", name);
        return -1;
    }
    if (!strcmp(in->dtype, "F32")) {
        memcpy(f, data, in->count * 4);
    } else {
        for (size_t i = 0; i < in->count; i++) {
            uint16_t h;
            memcpy(&h, data + 2 * i, 2);
            f[i] = in->dtype[0] == 'B' ? bf16_to_f32(h) : hr_f16_to_f32(h);
        }
    }
    *out = f;
    return 0;
}
