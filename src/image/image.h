/* image.h: decode, orient, resize and re-encode the images clients send (the image edits of
 * the pipeline; docs/images.md).
 *
 * Why here and not in the compressors: images arrive as base64 inside JSON and leave as a
 * smaller JPEG; everything between is pixels, with its own hazards (decompression bombs,
 * corrupt files, EXIF rotation). Decoding uses Debian's maintained libraries: libjpeg-turbo,
 * libpng (simplified API) and libwebp. Each decoder reads the header first and refuses an
 * image whose width x height exceeds the caller's cap BEFORE any pixel buffer exists, so a
 * tiny file that claims 100k x 100k costs nothing.
 *
 * Pixels are always 8-bit RGB, row-major, no padding (alpha is composited over white, as a
 * JPEG re-encode would need anyway). Resizing is Lanczos-3 (separable, support widened by
 * the scale when shrinking), in plain C with a fixed summation order: the same input gives
 * the same bytes on every machine. Errors come back as a message; callers fail open.
 *
 * Ownership: hr_image owns its pixel buffer (malloc); release with hr_image_free. Encoders
 * append to a caller-owned hr_buf.
 */
#ifndef HR_IMAGE_IMAGE_H
#define HR_IMAGE_IMAGE_H

#include "sys/buf.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    HR_IMG_UNKNOWN = 0,
    HR_IMG_JPEG = 1,
    HR_IMG_PNG = 2,
    HR_IMG_WEBP = 3,
    HR_IMG_GIF = 4, /* recognised (and counted) but never decoded or edited */
} hr_image_format;

typedef struct hr_image {
    int w, h;
    uint8_t *rgb; /* w * h * 3 bytes, owned */
} hr_image;

typedef struct hr_image_info {
    hr_image_format format;
    int w, h;        /* as stored, before orientation */
    int orientation; /* EXIF orientation 1..8 (1 = as stored; JPEG and WebP EXIF) */
} hr_image_info;

typedef struct hr_image_error {
    char msg[160];
} hr_image_error;

/* Format from the first bytes (magic numbers), HR_IMG_UNKNOWN if none matches. */
hr_image_format hr_image_sniff(const uint8_t *data, size_t len);
const char *hr_image_format_name(hr_image_format f);
const char *hr_image_media_type(hr_image_format f);

/* Reads only the header: format, stored size and EXIF orientation. 0 or -1 (not an image
 * we decode, corrupt header). */
int hr_image_probe(const uint8_t *data, size_t len, hr_image_info *info, hr_image_error *err);

/* Decodes to RGB with the EXIF orientation applied, refusing images of more than
 * max_pixels (width x height) before allocating any pixel memory. 0 or -1 with err. */
int hr_image_decode(const uint8_t *data, size_t len, uint64_t max_pixels, hr_image *out,
                    hr_image_error *err);

/* The same, for a caller that will shrink the image to a long side of min_long anyway:
 * JPEGs are decoded with libjpeg's DCT scaling (1/2, 1/4 or 1/8) as far as the long side
 * stays >= min_long, so a 12-megapixel photo bound for 512 px decodes at 1/4 size
 * (1/16 of the memory and most of the time). The cap still applies to the stored size.
 * min_long 0 = full size. Other formats decode at full size. */
int hr_image_decode_scaled(const uint8_t *data, size_t len, uint64_t max_pixels, int min_long,
                           hr_image *out, hr_image_error *err);

/* Lanczos-3 resample of src to w x h (both >= 1). 0 or -1 (out of memory, bad size). */
int hr_image_resize(const hr_image *src, int w, int h, hr_image *out, hr_image_error *err);

/* Target size that fits max_side on the long side keeping the aspect ratio (rounded, each
 * side >= 1); returns 0 if the image already fits (no resize needed), 1 otherwise. */
int hr_image_fit_size(int w, int h, int max_side, int *out_w, int *out_h);

/* Baseline JPEG of img at quality 1..100 (4:2:0, no metadata), appended to out. 0 or -1. */
int hr_image_encode_jpeg(const hr_image *img, int quality, hr_buf *out, hr_image_error *err);

/* Rotates/flips img by EXIF orientation 2..8 into a new buffer (1 or invalid: no-op). */
int hr_image_orient(hr_image *img, int orientation, hr_image_error *err);

/* A vision model's input from encoded bytes: decode (cap max_pixels), Lanczos-resize to
 * S x S (aspect not kept, as the original's PIL resize), RGB scaled to [-1, 1] as CHW floats
 * into px (3 x S x S). The SigLIP preprocessing of the original's image analysis. 0 or -1. */
int hr_image_model_input(const uint8_t *data, size_t len, uint64_t max_pixels, int S, float *px,
                         hr_image_error *err);

void hr_image_free(hr_image *img);

#endif
