/* codec.c: the decoders and the JPEG encoder of image.h over libjpeg-turbo, libpng and
 * libwebp, plus the EXIF orientation reader.
 *
 * Every decoder follows the same order: parse the header, check width x height against the
 * caller's cap (the decompression-bomb guard), only then allocate the RGB buffer and
 * decode into it. Library errors never reach stderr or abort: libjpeg's error_exit
 * longjmps back here, libpng's simplified API and libwebp return status codes. A JPEG that
 * decodes with warnings (truncated or corrupt entropy data, which libjpeg pads with grey)
 * is an error too: we would otherwise re-encode a damaged picture.
 */
#include "image/image.h"

#include <stdio.h> /* before jpeglib.h, which uses FILE */

#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>

#define HR_IMAGE_SIDE_MAX 65535 /* JPEG's own limit; applied to every format */

static void set_err(hr_image_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(hr_image_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

hr_image_format hr_image_sniff(const uint8_t *d, size_t n)
{
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return HR_IMG_JPEG;
    if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
        return HR_IMG_PNG;
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
        return HR_IMG_WEBP;
    if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6)))
        return HR_IMG_GIF;
    return HR_IMG_UNKNOWN;
}

const char *hr_image_format_name(hr_image_format f)
{
    static const char *const names[] = {"unknown", "jpeg", "png", "webp", "gif"};
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "unknown";
}

const char *hr_image_media_type(hr_image_format f)
{
    static const char *const types[] = {"application/octet-stream", "image/jpeg", "image/png",
                                        "image/webp", "image/gif"};
    return (unsigned)f < sizeof types / sizeof types[0] ? types[f] : types[0];
}

/* ---- EXIF orientation ----------------------------------------------------------------- */

static unsigned rd16(const uint8_t *p, int le) { return le ? p[0] | p[1] << 8 : p[0] << 8 | p[1]; }
static uint32_t rd32(const uint8_t *p, int le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Orientation (tag 0x0112 in IFD0) of a TIFF-structured EXIF block, optionally preceded by
 * "Exif\0\0"; 1 when absent or malformed. Every read is bounds-checked against n. */
static int exif_orientation(const uint8_t *d, size_t n)
{
    if (n >= 6 && !memcmp(d, "Exif\0\0", 6)) {
        d += 6;
        n -= 6;
    }
    if (n < 8 || !(memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return 1;
    const int le = d[0] == 'I';
    uint32_t ifd = rd32(d + 4, le);
    if (ifd > n - 2)
        return 1;
    unsigned count = rd16(d + ifd, le);
    for (unsigned i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e + 12 > n)
            return 1;
        if (rd16(d + e, le) == 0x0112 && rd16(d + e + 2, le) == 3 /* SHORT */) {
            unsigned v = rd16(d + e + 8, le);
            return v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
    return 1;
}

/* WebP: the RIFF "EXIF" chunk, if any. */
static int webp_orientation(const uint8_t *d, size_t n)
{
    size_t off = 12;
    while (off + 8 <= n) {
        uint32_t size = rd32(d + off + 4, 1);
        if (size > n - off - 8)
            return 1;
        if (!memcmp(d + off, "EXIF", 4))
            return exif_orientation(d + off + 8, size);
        off += 8 + (size_t)size + (size & 1);
    }
    return 1;
}

/* PNG: the "eXIf" chunk, if any (before IDAT by the spec; we scan all). */
static int png_orientation(const uint8_t *d, size_t n)
{
    size_t off = 8;
    while (off + 12 <= n) {
        uint32_t size = rd32(d + off, 0);
        if (size > n - off - 12)
            return 1;
        if (!memcmp(d + off + 4, "eXIf", 4))
            return exif_orientation(d + off + 8, size);
        if (!memcmp(d + off + 4, "IEND", 4))
            break;
        off += 12 + (size_t)size;
    }
    return 1;
}

/* ---- JPEG ------------------------------------------------------------------------------- */

typedef struct jpeg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_error_exit(j_common_ptr c)
{
    jpeg_err *e = (jpeg_err *)(void *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jump, 1);
}

static void jpeg_quiet(j_common_ptr c, int level)
{
    if (level < 0) /* a warning: counted, checked after the decode */
        c->err->num_warnings++;
}

static void jpeg_err_init(jpeg_err *e, j_common_ptr c)
{
    c->err = jpeg_std_error(&e->pub);
    e->pub.error_exit = jpeg_error_exit;
    e->pub.emit_message = jpeg_quiet;
    e->msg[0] = '\0';
}

/* Reads the header of a JPEG (APP1 kept for EXIF) into cinfo, which the caller destroys. */
static void jpeg_open_header(struct jpeg_decompress_struct *ci, const uint8_t *d, size_t n)
{
    jpeg_create_decompress(ci);
    jpeg_mem_src(ci, d, (unsigned long)n);
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(ci, TRUE);
}

static int jpeg_marker_orientation(const struct jpeg_decompress_struct *ci)
{
    for (jpeg_saved_marker_ptr m = ci->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && !memcmp(m->data, "Exif\0\0", 6))
            return exif_orientation(m->data, m->data_length);
    return 1;
}

static int jpeg_probe(const uint8_t *d, size_t n, hr_image_info *info, hr_image_error *err)
{
    struct jpeg_decompress_struct ci;
    jpeg_err je;
    jpeg_err_init(&je, (j_common_ptr)&ci);
    if (setjmp(je.jump)) {
        jpeg_destroy_decompress(&ci);
        set_err(err, "jpeg: %s", je.msg);
        return -1;
    }
    jpeg_open_header(&ci, d, n);
    info->w = (int)ci.image_width;
    info->h = (int)ci.image_height;
    info->orientation = jpeg_marker_orientation(&ci);
    jpeg_destroy_decompress(&ci);
    return 0;
}

static int check_pixels(uint64_t w, uint64_t h, uint64_t max_pixels, hr_image_error *err)
{
    if (w == 0 || h == 0 || w > HR_IMAGE_SIDE_MAX || h > HR_IMAGE_SIDE_MAX) {
        set_err(err, "image size %llux%llu out of range", (unsigned long long)w, (unsigned long long)h);
        return -1;
    }
    if (w * h > max_pixels) {
        set_err(err, "image %llux%llu exceeds the %llu-pixel cap", (unsigned long long)w,
                (unsigned long long)h, (unsigned long long)max_pixels);
        return -1;
    }
    return 0;
}

/* The largest libjpeg DCT scale-down (1/1, 1/2, 1/4, 1/8) that keeps the long side at
 * least min_long (0: full size): decoding an 8x smaller image costs ~1/64 of the memory. */
static unsigned jpeg_denom(unsigned w, unsigned h, int min_long)
{
    const unsigned longest = w > h ? w : h;
    unsigned denom = 1;
    while (min_long > 0 && denom < 8 && longest / (denom * 2) >= (unsigned)min_long)
        denom *= 2;
    return denom;
}

static int jpeg_decode(const uint8_t *d, size_t n, uint64_t max_pixels, int min_long,
                       hr_image *out, int *orient, hr_image_error *err)
{
    struct jpeg_decompress_struct ci;
    jpeg_err je;
    uint8_t *volatile rgb = NULL;
    jpeg_err_init(&je, (j_common_ptr)&ci);
    if (setjmp(je.jump)) {
        jpeg_destroy_decompress(&ci);
        free(rgb);
        set_err(err, "jpeg: %s", je.msg);
        return -1;
    }
    jpeg_open_header(&ci, d, n);
    *orient = jpeg_marker_orientation(&ci);
    if (check_pixels(ci.image_width, ci.image_height, max_pixels, err) != 0) {
        jpeg_destroy_decompress(&ci);
        return -1;
    }
    ci.out_color_space = JCS_RGB;
    ci.dct_method = JDCT_ISLOW; /* exact integer IDCT: the same pixels everywhere */
    ci.scale_num = 1;
    ci.scale_denom = jpeg_denom(ci.image_width, ci.image_height, min_long);
    jpeg_start_decompress(&ci);
    const size_t stride = (size_t)ci.output_width * 3;
    rgb = malloc(stride * ci.output_height);
    if (!rgb) {
        jpeg_destroy_decompress(&ci);
        set_err(err, "out of memory");
        return -1;
    }
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = rgb + stride * ci.output_scanline;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    jpeg_finish_decompress(&ci);
    long warnings = je.pub.num_warnings;
    out->w = (int)ci.output_width;
    out->h = (int)ci.output_height;
    jpeg_destroy_decompress(&ci);
    if (warnings) {
        free(rgb);
        set_err(err, "jpeg: corrupt or truncated data");
        return -1;
    }
    out->rgb = rgb;
    return 0;
}

int hr_image_encode_jpeg(const hr_image *img, int quality, hr_buf *out, hr_image_error *err)
{
    struct jpeg_compress_struct ci;
    jpeg_err je;
    unsigned char *volatile mem = NULL;
    unsigned long mem_len = 0;
    if (!img->rgb || img->w < 1 || img->h < 1 || quality < 1 || quality > 100) {
        set_err(err, "jpeg encode: invalid image or quality");
        return -1;
    }
    jpeg_err_init(&je, (j_common_ptr)&ci);
    if (setjmp(je.jump)) {
        jpeg_destroy_compress(&ci);
        free(mem);
        set_err(err, "jpeg encode: %s", je.msg);
        return -1;
    }
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, (unsigned char **)&mem, &mem_len);
    ci.image_width = (JDIMENSION)img->w;
    ci.image_height = (JDIMENSION)img->h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    ci.dct_method = JDCT_ISLOW;
    ci.optimize_coding = TRUE; /* smaller, and still deterministic */
    jpeg_start_compress(&ci, TRUE);
    const size_t stride = (size_t)img->w * 3;
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = img->rgb + stride * ci.next_scanline;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    int rc = hr_buf_append(out, mem, mem_len);
    free(mem);
    if (rc != 0)
        set_err(err, "out of memory");
    return rc;
}

/* Composites RGBA over white in sRGB values (as browsers and ImageMagick flatten) and packs
 * to RGB in place (the write index never passes the read index); returns the buffer,
 * shrunk when realloc allows. */
static uint8_t *rgba_to_rgb(uint8_t *buf, size_t px)
{
    for (size_t i = 0; i < px; i++) {
        const unsigned a = buf[i * 4 + 3];
        for (int c = 0; c < 3; c++)
            buf[i * 3 + c] = (uint8_t)((buf[i * 4 + c] * a + 255u * (255u - a) + 127u) / 255u);
    }
    uint8_t *rgb = realloc(buf, px * 3);
    return rgb ? rgb : buf;
}

/* ---- PNG (libpng simplified API) ----------------------------------------------------------- */

/* Reads the header into im (the caller finishes or frees it). */
static int png_begin(const uint8_t *d, size_t n, png_image *im, hr_image_error *err)
{
    memset(im, 0, sizeof *im);
    im->version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(im, d, n)) {
        set_err(err, "png: %s", im->message);
        return -1;
    }
    return 0;
}

static int png_probe(const uint8_t *d, size_t n, hr_image_info *info, hr_image_error *err)
{
    png_image im;
    if (png_begin(d, n, &im, err) != 0)
        return -1;
    info->w = (int)im.width;
    info->h = (int)im.height;
    info->orientation = png_orientation(d, n);
    png_image_free(&im);
    return 0;
}

static int png_decode(const uint8_t *d, size_t n, uint64_t max_pixels, hr_image *out,
                      hr_image_error *err)
{
    png_image im;
    if (png_begin(d, n, &im, err) != 0)
        return -1;
    if (check_pixels(im.width, im.height, max_pixels, err) != 0) {
        png_image_free(&im);
        return -1;
    }
    im.format = PNG_FORMAT_RGBA; /* 8-bit sRGB; alpha composited as for WebP */
    const size_t px = (size_t)im.width * im.height;
    uint8_t *rgba = malloc(px * 4);
    if (!rgba) {
        png_image_free(&im);
        set_err(err, "out of memory");
        return -1;
    }
    if (!png_image_finish_read(&im, NULL, rgba, 0, NULL)) {
        set_err(err, "png: %s", im.message);
        free(rgba);
        return -1;
    }
    out->w = (int)im.width;
    out->h = (int)im.height;
    out->rgb = rgba_to_rgb(rgba, px);
    return 0;
}

/* ---- WebP ---------------------------------------------------------------------------------- */

static int webp_probe(const uint8_t *d, size_t n, hr_image_info *info, hr_image_error *err)
{
    int w, h;
    if (!WebPGetInfo(d, n, &w, &h)) {
        set_err(err, "webp: invalid header");
        return -1;
    }
    info->w = w;
    info->h = h;
    info->orientation = webp_orientation(d, n);
    return 0;
}

static int webp_decode(const uint8_t *d, size_t n, uint64_t max_pixels, hr_image *out,
                       hr_image_error *err)
{
    hr_image_info info;
    if (webp_probe(d, n, &info, err) != 0 ||
        check_pixels((uint64_t)info.w, (uint64_t)info.h, max_pixels, err) != 0)
        return -1;
    const int w = info.w, h = info.h;
    const size_t px = (size_t)w * (size_t)h;
    uint8_t *buf = malloc(px * 4);
    if (!buf) {
        set_err(err, "out of memory");
        return -1;
    }
    if (!WebPDecodeRGBAInto(d, n, buf, px * 4, w * 4)) {
        free(buf);
        set_err(err, "webp: corrupt or truncated data");
        return -1;
    }
    out->w = w;
    out->h = h;
    out->rgb = rgba_to_rgb(buf, px);
    return 0;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

int hr_image_probe(const uint8_t *data, size_t len, hr_image_info *info, hr_image_error *err)
{
    memset(info, 0, sizeof *info);
    info->format = hr_image_sniff(data, len);
    info->orientation = 1;
    switch (info->format) {
    case HR_IMG_JPEG: return jpeg_probe(data, len, info, err);
    case HR_IMG_PNG: return png_probe(data, len, info, err);
    case HR_IMG_WEBP: return webp_probe(data, len, info, err);
    default:
        set_err(err, "%s images are not decoded", hr_image_format_name(info->format));
        return -1;
    }
}

int hr_image_decode(const uint8_t *data, size_t len, uint64_t max_pixels, hr_image *out,
                    hr_image_error *err)
{
    return hr_image_decode_scaled(data, len, max_pixels, 0, out, err);
}

int hr_image_decode_scaled(const uint8_t *data, size_t len, uint64_t max_pixels, int min_long,
                           hr_image *out, hr_image_error *err)
{
    memset(out, 0, sizeof *out);
    int orientation = 1, rc;
    hr_image_format f = hr_image_sniff(data, len);
    switch (f) {
    case HR_IMG_JPEG: rc = jpeg_decode(data, len, max_pixels, min_long, out, &orientation, err); break;
    case HR_IMG_PNG:
        rc = png_decode(data, len, max_pixels, out, err);
        orientation = png_orientation(data, len);
        break;
    case HR_IMG_WEBP:
        rc = webp_decode(data, len, max_pixels, out, err);
        orientation = webp_orientation(data, len);
        break;
    default:
        set_err(err, "%s images are not decoded", hr_image_format_name(f));
        return -1;
    }
    if (rc == 0 && hr_image_orient(out, orientation, err) != 0) {
        hr_image_free(out);
        return -1;
    }
    return rc;
}

void hr_image_free(hr_image *img)
{
    if (!img)
        return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}
