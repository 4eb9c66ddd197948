/* Image codec tests on real files made at test time by ImageMagick (/usr/bin/convert, the
 * Debian package; nothing is committed): JPEG, PNG (with alpha), lossless and lossy WebP,
 * EXIF orientations 2..8, dimensions that exceed the pixel cap (headers patched to claim
 * 40000 x 40000 on an otherwise valid file), truncated and corrupt files. References are
 * ImageMagick's own decodes (`convert F -auto-orient rgb:-`) and its Lanczos resize.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "image/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IM "/usr/bin/convert"
#define CAP 50000000ull

static char g_dir[256];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static uint8_t *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static void spill(const char *name, const uint8_t *b, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

/* ImageMagick's decode of name (oriented, alpha over white) as RGB; *w, *h from identify. */
static uint8_t *im_rgb(const char *name, int *w, int *h)
{
    char out[64];
    snprintf(out, sizeof out, "%s.ref.rgb", name);
    assert_int_equal(run("cd %s && " IM " %s -auto-orient +repage -background white -flatten -depth 8 rgb:%s"
                         " && " IM " %s -auto-orient -format '%%w %%h' info:- > %s.dims",
                         g_dir, name, out, name, name), 0);
    char dims[64];
    snprintf(dims, sizeof dims, "%s.dims", name);
    size_t n;
    char *d = (char *)slurp(dims, &n);
    d[n] = '\0';
    assert_int_equal(sscanf(d, "%d %d", w, h), 2);
    free(d);
    return slurp(out, &n);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "image-codec-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    /* a gradient with text and an asymmetric mark (so every orientation is distinct) */
    return run("cd %s && " IM " -size 240x160 gradient:navy-orange -fill white -draw 'rectangle 10,10 60,30'"
               " -fill black -font /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf -pointsize 20 -draw \"text 70,100 'headroom 42'\" base.png"
               " && " IM " base.png -quality 92 base.jpg"
               " && " IM " base.png -define webp:lossless=true base_lossless.webp"
               " && " IM " base.png -quality 70 base_lossy.webp"
               " && " IM " -size 120x90 gradient:red-blue -alpha set -channel A -evaluate set 40%% +channel"
               " -fill '#00ff0080' -draw 'circle 60,45 60,10' alpha.png",
               g_dir) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return run("rm -rf %s", g_dir) == 0 ? 0 : -1;
}

static void assert_close_to_im(const char *name, int tolerance)
{
    size_t n;
    uint8_t *data = slurp(name, &n);
    assert_non_null(data);
    hr_image img;
    hr_image_error err;
    assert_int_equal(hr_image_decode(data, n, CAP, &img, &err), 0);
    int w, h;
    uint8_t *ref = im_rgb(name, &w, &h);
    assert_int_equal(img.w, w);
    assert_int_equal(img.h, h);
    int worst = 0;
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        int d = abs((int)img.rgb[i] - (int)ref[i]);
        worst = d > worst ? d : worst;
    }
    if (worst > tolerance)
        fail_msg("%s: max pixel difference %d > %d", name, worst, tolerance);
    free(ref);
    free(data);
    hr_image_free(&img);
}

static void decodes_like_imagemagick(void **state)
{
    (void)state;
    assert_close_to_im("base.png", 1);           /* IM writes 16-bit PNG: rounding to 8 */
    assert_close_to_im("base.jpg", 1);           /* same libjpeg-turbo underneath */
    assert_close_to_im("base_lossless.webp", 0);
    assert_close_to_im("base_lossy.webp", 3);    /* libwebp's and IM's YUV->RGB rounding */
    assert_close_to_im("alpha.png", 1);          /* alpha composited over white */
}

static void sniff_and_probe(void **state)
{
    (void)state;
    static const struct { const char *name; hr_image_format f; } cases[] = {
        {"base.png", HR_IMG_PNG}, {"base.jpg", HR_IMG_JPEG}, {"base_lossy.webp", HR_IMG_WEBP}};
    for (size_t i = 0; i < 3; i++) {
        size_t n;
        uint8_t *d = slurp(cases[i].name, &n);
        hr_image_info info;
        hr_image_error err;
        assert_int_equal(hr_image_sniff(d, n), cases[i].f);
        assert_int_equal(hr_image_probe(d, n, &info, &err), 0);
        assert_int_equal(info.w, 240);
        assert_int_equal(info.h, 160);
        assert_int_equal(info.orientation, 1);
        free(d);
    }
    const uint8_t gif[] = "GIF89a\x01\x00\x01\x00";
    assert_int_equal(hr_image_sniff(gif, sizeof gif - 1), HR_IMG_GIF);
    assert_int_equal(hr_image_sniff((const uint8_t *)"hello", 5), HR_IMG_UNKNOWN);
}

/* ImageMagick 6 only writes an EXIF orientation into a file that already has an EXIF
 * profile, so the test inserts a minimal APP1 (big-endian TIFF, IFD0 with the orientation
 * tag) after SOI of the JPEG ImageMagick wrote; ImageMagick's -auto-orient then reads the
 * same tag and gives the reference. */
static void write_with_exif(const char *from, const char *to, int o)
{
    size_t n;
    uint8_t *d = slurp(from, &n);
    const uint8_t app1[] = {0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42,
                            0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (uint8_t)o, 0, 0,
                            0, 0, 0, 0};
    uint8_t *out = malloc(n + sizeof app1);
    memcpy(out, d, 2);
    memcpy(out + 2, app1, sizeof app1);
    memcpy(out + 2 + sizeof app1, d + 2, n - 2);
    spill(to, out, n + sizeof app1);
    free(out);
    free(d);
}

static void exif_orientation_is_applied(void **state)
{
    (void)state;
    for (int o = 1; o <= 8; o++) {
        char jpg[32];
        snprintf(jpg, sizeof jpg, "orient%d.jpg", o);
        write_with_exif("base.jpg", jpg, o);
        assert_int_equal(run("cd %s && test \"$(identify -format '%%[EXIF:Orientation]' %s)\" = %d", g_dir, jpg, o), 0);
        size_t n;
        uint8_t *d = slurp(jpg, &n);
        hr_image_info info;
        hr_image_error err;
        assert_int_equal(hr_image_probe(d, n, &info, &err), 0);
        assert_int_equal(info.orientation, o);
        free(d);
        assert_close_to_im(jpg, 1);
    }
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void assert_refused_by_cap(const uint8_t *d, size_t n, const char *what)
{
    hr_image img;
    hr_image_error err;
    hr_image_info info;
    assert_int_equal(hr_image_probe(d, n, &info, &err), 0); /* the header itself is valid */
    assert_true((uint64_t)info.w * (uint64_t)info.h > CAP);
    assert_int_equal(hr_image_decode(d, n, CAP, &img, &err), -1);
    if (!strstr(err.msg, "pixel cap"))
        fail_msg("%s: expected the pixel-cap refusal, got '%s'", what, err.msg);
    assert_null(img.rgb);
}

static void huge_dimensions_refused_before_decoding(void **state)
{
    (void)state;
    size_t n;
    uint8_t *png = slurp("base.png", &n);
    put_be32(png + 16, 40000); /* IHDR width, height, then its CRC over type + data */
    put_be32(png + 20, 40000);
    put_be32(png + 29, crc32_png(png + 12, 17));
    assert_refused_by_cap(png, n, "png");
    free(png);

    uint8_t *jpg = slurp("base.jpg", &n);
    size_t i = 2;
    while (i + 9 < n && !(jpg[i] == 0xFF && (jpg[i + 1] == 0xC0 || jpg[i + 1] == 0xC2)))
        i++;
    assert_true(i + 9 < n);
    jpg[i + 5] = 40000 >> 8; /* SOF: length(2) precision(1) height(2) width(2) */
    jpg[i + 6] = 40000 & 0xFF;
    jpg[i + 7] = 40000 >> 8;
    jpg[i + 8] = 40000 & 0xFF;
    assert_refused_by_cap(jpg, n, "jpeg");
    free(jpg);

    /* WebP lossy: the VP8 key frame's 14-bit sizes (max 16383^2 = 268 M pixels) */
    uint8_t *webp = slurp("base_lossy.webp", &n);
    assert_memory_equal(webp + 12, "VP8 ", 4);
    webp[26] = 0xFF; webp[27] = 0x3F;
    webp[28] = 0xFF; webp[29] = 0x3F;
    assert_refused_by_cap(webp, n, "webp");
    free(webp);
}

static void truncated_and_corrupt_files_fail_cleanly(void **state)
{
    (void)state;
    static const char *const names[] = {"base.png", "base.jpg", "base_lossless.webp", "base_lossy.webp"};
    for (size_t k = 0; k < 4; k++) {
        size_t n;
        uint8_t *d = slurp(names[k], &n);
        hr_image img;
        hr_image_error err;
        for (size_t cut = 0; cut < n; cut += n / 7 + 1) {
            if (hr_image_decode(d, cut, CAP, &img, &err) == 0)
                fail_msg("%s cut at %zu of %zu decoded", names[k], cut, n);
            assert_true(err.msg[0] != '\0');
        }
        /* corrupt: every 97th byte after the first 40 flipped; must not crash, and
         * whatever decodes has the right size */
        for (size_t i = 40; i < n; i += 97)
            d[i] ^= 0x5A;
        if (hr_image_decode(d, n, CAP, &img, &err) == 0) {
            assert_int_equal(img.w * img.h, 240 * 160);
            hr_image_free(&img);
        }
        free(d);
    }
}

static void resize_matches_imagemagick_lanczos(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d = slurp("base.png", &n);
    hr_image src, out, again;
    hr_image_error err;
    assert_int_equal(hr_image_decode(d, n, CAP, &src, &err), 0);
    assert_int_equal(hr_image_resize(&src, 90, 60, &out, &err), 0);
    assert_int_equal(hr_image_resize(&src, 90, 60, &again, &err), 0);
    assert_memory_equal(out.rgb, again.rgb, 90 * 60 * 3); /* deterministic */
    assert_int_equal(run("cd %s && " IM " base.png -filter Lanczos -resize 90x60! -depth 8 rgb:small.rgb", g_dir), 0);
    size_t rn;
    uint8_t *ref = slurp("small.rgb", &rn);
    assert_int_equal(rn, 90 * 60 * 3);
    double sum = 0;
    for (size_t i = 0; i < rn; i++)
        sum += abs((int)out.rgb[i] - (int)ref[i]);
    if (sum / rn > 2.0)
        fail_msg("mean |diff| vs ImageMagick Lanczos %.3f", sum / rn);
    /* a flat image stays flat (weights sum to one, no ringing on a constant) */
    memset(src.rgb, 77, (size_t)src.w * src.h * 3);
    hr_image flat;
    assert_int_equal(hr_image_resize(&src, 31, 17, &flat, &err), 0);
    for (size_t i = 0; i < 31 * 17 * 3; i++)
        assert_int_equal(flat.rgb[i], 77);
    free(ref);
    free(d);
    hr_image_free(&src);
    hr_image_free(&out);
    hr_image_free(&again);
    hr_image_free(&flat);
}

/* JPEG DCT scaling: the largest 1/2^k that keeps the long side >= the target. */
static void jpeg_scaled_decode(void **state)
{
    (void)state;
    assert_int_equal(run("cd %s && " IM " -size 2000x1000 gradient:navy-orange -quality 90 big.jpg", g_dir), 0);
    size_t n;
    uint8_t *d = slurp("big.jpg", &n);
    hr_image img;
    hr_image_error err;
    static const int cases[][3] = {{0, 2000, 1000}, {512, 1000, 500}, {400, 500, 250},
                                   {100, 250, 125}, {2000, 2000, 1000}, {3000, 2000, 1000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(hr_image_decode_scaled(d, n, CAP, cases[i][0], &img, &err), 0);
        assert_int_equal(img.w, cases[i][1]);
        assert_int_equal(img.h, cases[i][2]);
        hr_image_free(&img);
    }
    free(d);
}

static void fit_size_keeps_aspect(void **state)
{
    (void)state;
    int w, h;
    assert_int_equal(hr_image_fit_size(1024, 768, 512, &w, &h), 1);
    assert_int_equal(w, 512);
    assert_int_equal(h, 384);
    assert_int_equal(hr_image_fit_size(300, 4000, 512, &w, &h), 1);
    assert_int_equal(w, 38);
    assert_int_equal(h, 512);
    assert_int_equal(hr_image_fit_size(512, 100, 512, &w, &h), 0);
    assert_int_equal(hr_image_fit_size(5000, 1, 512, &w, &h), 1);
    assert_int_equal(h, 1);
}

static void jpeg_encode_roundtrip(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d = slurp("base.png", &n);
    hr_image src;
    hr_image_error err;
    assert_int_equal(hr_image_decode(d, n, CAP, &src, &err), 0);
    hr_buf a = HR_BUF_INIT, b = HR_BUF_INIT;
    assert_int_equal(hr_image_encode_jpeg(&src, 85, &a, &err), 0);
    assert_int_equal(hr_image_encode_jpeg(&src, 85, &b, &err), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    spill("enc.jpg", (const uint8_t *)a.data, a.len);
    assert_int_equal(run("cd %s && test \"$(identify -format '%%m %%w %%h %%Q %%[colorspace]' enc.jpg)\" = 'JPEG 240 160 85 sRGB'", g_dir), 0);
    assert_close_to_im("enc.jpg", 1);
    hr_buf_free(&a);
    hr_buf_free(&b);
    hr_image_free(&src);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_like_imagemagick),
        cmocka_unit_test(sniff_and_probe),
        cmocka_unit_test(exif_orientation_is_applied),
        cmocka_unit_test(huge_dimensions_refused_before_decoding),
        cmocka_unit_test(truncated_and_corrupt_files_fail_cleanly),
        cmocka_unit_test(resize_matches_imagemagick_lanczos),
        cmocka_unit_test(fit_size_keeps_aspect),
        cmocka_unit_test(jpeg_scaled_decode),
        cmocka_unit_test(jpeg_encode_roundtrip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
