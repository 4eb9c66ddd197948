/* import_npz.c: the SigLIP image signals' text embeddings for `headroom model import`.
 *
 * Where they come from: the original computed them once from SigLIP's text tower
 * (TrainedRouter._compute_text_embeddings: two prompts per signal, L2-normalised) and its
 * ONNX package (chopratejas/siglip-image-encoder-onnx) ships the result as data,
 * text_embeddings.npz: one float array [prompts, dim] per signal name. We ship no text tower;
 * the importer copies that file's arrays into the model file as "signal.<name>" (vision.h),
 * as stored, so the proxy needs nothing beside the model file.
 *
 * The reader handles what numpy.savez / savez_compressed write: a zip (stored or deflate
 * entries, zip64 sizes in the central directory's extra field) of .npy files, version 1-3
 * headers, little-endian float32 or float64, C order, 2-D. Caps: the file <= 64 MiB, an
 * array <= 1 Mi floats; anything else is refused with a message naming it.
 */
#include "ml/import_internal.h"
#include "ml/vision.h"

#include <zlib.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPZ_MAX_FILE ((size_t)64 << 20)
#define NPY_MAX_VALUES ((size_t)1 << 20)

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

typedef struct npz_entry {
    char name[64];
    uint32_t method;
    uint64_t csize, usize, local;
} npz_entry;

/* zip64 extended information (tag 1): the fields whose 32-bit value was 0xFFFFFFFF, in order. */
static void zip64_sizes(const uint8_t *x, size_t n, npz_entry *e, int need_u, int need_c, int need_off)
{
    for (size_t i = 0; i + 4 <= n;) {
        uint32_t tag = le16(x + i), len = le16(x + i + 2);
        const uint8_t *d = x + i + 4, *end = d + len;
        if (i + 4 + len > n)
            return;
        if (tag == 1) {
            if (need_u && d + 8 <= end)
                e->usize = le64(d), d += 8;
            if (need_c && d + 8 <= end)
                e->csize = le64(d), d += 8;
            if (need_off && d + 8 <= end)
                e->local = le64(d);
            return;
        }
        i += 4 + len;
    }
}

/* The entry named name (e.g. "has_text.npy") from the central directory; 1 found, 0 not. */
static int find_entry(const uint8_t *z, size_t n, const char *name, npz_entry *out)
{
    size_t eocd = SIZE_MAX;
    for (size_t i = n >= 22 ? n - 22 : 0; n >= 22 && i + 65557 >= n; i--) {
        if (le32(z + i) == 0x06054b50) {
            eocd = i;
            break;
        }
        if (i == 0)
            break;
    }
    if (eocd == SIZE_MAX)
        return 0;
    uint64_t count = le16(z + eocd + 10), off = le32(z + eocd + 16);
    for (uint64_t k = 0; k < count && off + 46 <= n; k++) {
        const uint8_t *c = z + off;
        if (le32(c) != 0x02014b50)
            return 0;
        uint32_t nl = le16(c + 28), xl = le16(c + 30), cl = le16(c + 32);
        if (off + 46 + nl + xl > n)
            return 0;
        if (nl == strlen(name) && !memcmp(c + 46, name, nl)) {
            npz_entry e = {.method = le16(c + 10), .csize = le32(c + 20), .usize = le32(c + 24),
                           .local = le32(c + 42)};
            zip64_sizes(c + 46 + nl, xl, &e, e.usize == 0xFFFFFFFFu, e.csize == 0xFFFFFFFFu,
                        e.local == 0xFFFFFFFFu);
            snprintf(e.name, sizeof e.name, "%s", name);
            *out = e;
            return 1;
        }
        off += 46 + nl + xl + cl;
    }
    return 0;
}

/* The entry's bytes (malloc'd, usize long). 0 ok, -1 with err. */
static int entry_bytes(const uint8_t *z, size_t n, const npz_entry *e, uint8_t **out, hr_ml_error *err)
{
    *out = NULL;
    if (e->local + 30 > n || le32(z + e->local) != 0x04034b50 || e->usize > NPZ_MAX_FILE) {
        hr_ml_error_set(err, "text_embeddings.npz: %s: bad zip entry", e->name);
        return -1;
    }
    uint64_t data = e->local + 30 + le16(z + e->local + 26) + le16(z + e->local + 28);
    if (data > n || e->csize > n - data || (e->method != 0 && e->method != 8) ||
        (e->method == 0 && e->csize != e->usize)) {
        hr_ml_error_set(err, "text_embeddings.npz: %s: unsupported or truncated entry", e->name);
        return -1;
    }
    uint8_t *buf = malloc(e->usize ? e->usize : 1);
    if (!buf) {
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    if (e->method == 0) {
        memcpy(buf, z + data, e->usize);
    } else {
        z_stream zs = {0};
        int ok = inflateInit2(&zs, -15) == Z_OK;
        zs.next_in = (Bytef *)(z + data);
        zs.avail_in = (uInt)e->csize;
        zs.next_out = buf;
        zs.avail_out = (uInt)e->usize;
        ok = ok && inflate(&zs, Z_FINISH) == Z_STREAM_END && zs.total_out == e->usize;
        inflateEnd(&zs);
        if (!ok) {
            free(buf);
            hr_ml_error_set(err, "text_embeddings.npz: %s: corrupt deflate data", e->name);
            return -1;
        }
    }
    *out = buf;
    return 0;
}

/* A 2-D little-endian float .npy into fp32 (malloc'd). 0 ok, -1 with err. */
static int npy_floats(const uint8_t *p, size_t n, const char *name, float **out, uint32_t *rows,
                      uint32_t *cols, hr_ml_error *err)
{
    *out = NULL;
    if (n < 10 || memcmp(p, "\x93NUMPY", 6) || p[6] < 1 || p[6] > 3)
        goto bad;
    size_t hl = p[6] == 1 ? le16(p + 8) : (n >= 12 ? le32(p + 8) : SIZE_MAX), h0 = p[6] == 1 ? 10 : 12;
    if (hl > 65536 || h0 + hl > n)
        goto bad;
    char hdr[65537];
    memcpy(hdr, p + h0, hl);
    hdr[hl] = '\0';
    int f8 = strstr(hdr, "'<f8'") != NULL;
    const char *shape = strstr(hdr, "'shape':");
    unsigned long r, c;
    if ((!f8 && !strstr(hdr, "'<f4'")) || !strstr(hdr, "'fortran_order': False") || !shape ||
        sscanf(shape, "'shape': (%lu, %lu)", &r, &c) != 2 || !r || !c || r * c > NPY_MAX_VALUES)
        goto bad;
    size_t count = r * c, width = f8 ? 8 : 4;
    if (n - h0 - hl < count * width)
        goto bad;
    float *v = malloc(count * sizeof *v);
    if (!v) {
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    const uint8_t *d = p + h0 + hl;
    for (size_t i = 0; i < count; i++) {
        if (f8) {
            uint64_t u = le64(d + 8 * i);
            double x;
            memcpy(&x, &u, 8);
            v[i] = (float)x;
        } else {
            uint32_t u = le32(d + 4 * i);
            memcpy(&v[i], &u, 4);
        }
    }
    *out = v;
    *rows = (uint32_t)r;
    *cols = (uint32_t)c;
    return 0;
bad:
    hr_ml_error_set(err, "text_embeddings.npz: %s: need a 2-D little-endian float32/float64 "
                         "C-order array", name);
    return -1;
}

static int read_file(const char *path, uint8_t **out, size_t *n, hr_ml_error *err)
{
    FILE *f = fopen(path, "rb");
    *out = NULL;
    if (!f)
        return 0;
    uint8_t *buf = NULL;
    int rc = fseek(f, 0, SEEK_END) == 0 ? 0 : -1;
    long size = rc == 0 ? ftell(f) : -1;
    if (size < 0 || (size_t)size > NPZ_MAX_FILE || fseek(f, 0, SEEK_SET) != 0 ||
        !(buf = malloc(size ? (size_t)size : 1)) || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        hr_ml_error_set(err, "%s: unreadable or over %zu bytes", path, NPZ_MAX_FILE);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    *out = buf;
    *n = (size_t)size;
    return 1;
}

int hr_import_signal_npz(const char *dir, hr_model_writer *w, uint32_t hidden, int *added,
                         hr_ml_error *err)
{
    char path[4096];
    uint8_t *z;
    size_t n = 0;
    *added = 0;
    snprintf(path, sizeof path, "%s/text_embeddings.npz", dir);
    int got = read_file(path, &z, &n, err);
    if (got <= 0)
        return got; /* 0: no file, the model carries no signals */
    int rc = 0;
    for (int i = 0; rc == 0 && i < HR_SIG_COUNT; i++) {
        char entry[64], tensor[HR_MODEL_NAME_MAX];
        npz_entry e;
        snprintf(entry, sizeof entry, "%s.npy", hr_vit_signal_names[i]);
        if (!find_entry(z, n, entry, &e))
            continue;
        uint8_t *raw = NULL;
        float *v = NULL;
        uint32_t rows = 0, cols = 0;
        rc = entry_bytes(z, n, &e, &raw, err);
        if (rc == 0)
            rc = npy_floats(raw, e.usize, entry, &v, &rows, &cols, err);
        if (rc == 0 && cols != hidden) {
            hr_ml_error_set(err, "text_embeddings.npz: %s has %u columns, the encoder gives %u",
                            entry, cols, hidden);
            rc = -1;
        }
        snprintf(tensor, sizeof tensor, "signal.%s", hr_vit_signal_names[i]);
        uint32_t shape[2] = {rows, cols};
        if (rc == 0)
            rc = hr_model_writer_add(w, tensor, HR_DT_F32, 2, shape, v, err);
        *added += rc == 0;
        free(raw);
        free(v);
    }
    free(z);
    return rc;
}
