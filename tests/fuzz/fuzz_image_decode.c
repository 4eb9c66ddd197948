/* fuzz_image_decode: the image decoders read client bytes (base64 images in requests), so
 * any input must decode cleanly or fail with a message: never crash, leak, read out of
 * bounds or allocate past the cap. The first byte picks a pixel cap (tiny to 1 M pixels)
 * so the cap check runs on both sides; the rest is the file, tried as is and behind each
 * format's magic (so JPEG / PNG / WebP parsers and the EXIF readers all see fuzzed data).
 * Invariants: a decoded image has w x h <= cap and both sides >= 1; what decodes resizes
 * to <= 64 px and re-encodes as JPEG. */
#include "image/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void one(const uint8_t *d, size_t n, uint64_t cap)
{
    hr_image img, small;
    hr_image_error err;
    hr_image_info info;
    (void)hr_image_probe(d, n, &info, &err);
    if (hr_image_decode(d, n, cap, &img, &err) != 0)
        return;
    if (img.w < 1 || img.h < 1 || (uint64_t)img.w * (uint64_t)img.h > cap)
        abort();
    int w, h;
    hr_image_fit_size(img.w, img.h, 64, &w, &h);
    if (hr_image_resize(&img, w, h, &small, &err) == 0) {
        hr_buf out = HR_BUF_INIT;
        if (hr_image_encode_jpeg(&small, 85, &out, &err) != 0 || out.len < 4)
            abort();
        hr_buf_free(&out);
        hr_image_free(&small);
    }
    hr_image_free(&img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint64_t caps[4] = {1, 4096, 65536, 1u << 20};
    const uint64_t cap = caps[data[0] & 3];
    data++;
    size--;
    one(data, size, cap);
    static const struct { const char *magic; size_t len; } heads[] = {
        {"\xFF\xD8\xFF", 3}, {"\x89PNG\r\n\x1a\n", 8}, {"RIFF\0\0\0\0WEBP", 12}};
    uint8_t *buf = malloc(size + 12);
    if (!buf)
        return 0;
    for (size_t k = 0; k < 3; k++) {
        memcpy(buf, heads[k].magic, heads[k].len);
        memcpy(buf + heads[k].len, data, size);
        one(buf, size + heads[k].len, cap);
    }
    free(buf);
    return 0;
}
