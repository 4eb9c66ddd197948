/* resize.c: Lanczos-3 resampling, fit-to-side sizing and EXIF orientation of image.h.
 *
 * Resampling is separable: a horizontal pass into a float buffer [src_h][dst_w][3], then a
 * vertical pass to 8-bit. Each output coordinate maps to the source centre
 * (x + 0.5) * scale - 0.5; when shrinking, the kernel is stretched by the scale (support
 * 3 * scale source pixels) so it also low-passes, which is what keeps text legible after a
 * 4x reduction. Weights are normalised per output pixel (edges clamp). The arithmetic is
 * plain C in a fixed order, so results are identical run to run.
 */
#include "image/image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LANCZOS_A 3.0

static double sinc(double x)
{
    if (x == 0.0)
        return 1.0;
    x *= M_PI;
    return sin(x) / x;
}

static double lanczos(double x)
{
    return fabs(x) < LANCZOS_A ? sinc(x) * sinc(x / LANCZOS_A) : 0.0;
}

/* Contributions of the source pixels to each of n_out outputs: first[i], count[i] and
 * count[i] weights at w + i * taps. */
typedef struct contrib {
    int taps;
    int *first, *count;
    float *w;
} contrib;

static void contrib_free(contrib *c)
{
    free(c->first);
    free(c->count);
    free(c->w);
}

static int contrib_build(int n_in, int n_out, contrib *c)
{
    const double scale = (double)n_in / n_out;
    const double stretch = scale > 1.0 ? scale : 1.0;
    const double support = LANCZOS_A * stretch;
    c->taps = (int)ceil(support) * 2 + 1;
    c->first = malloc((size_t)n_out * sizeof *c->first);
    c->count = malloc((size_t)n_out * sizeof *c->count);
    c->w = malloc((size_t)n_out * c->taps * sizeof *c->w);
    if (!c->first || !c->count || !c->w) {
        contrib_free(c);
        return -1;
    }
    for (int i = 0; i < n_out; i++) {
        const double centre = (i + 0.5) * scale - 0.5;
        int lo = (int)ceil(centre - support), hi = (int)floor(centre + support);
        lo = lo < 0 ? 0 : lo;
        hi = hi > n_in - 1 ? n_in - 1 : hi;
        if (hi - lo + 1 > c->taps)
            hi = lo + c->taps - 1;
        float *w = c->w + (size_t)i * c->taps;
        double sum = 0.0;
        for (int j = lo; j <= hi; j++)
            sum += lanczos((j - centre) / stretch);
        for (int j = lo; j <= hi; j++)
            w[j - lo] = sum != 0.0 ? (float)(lanczos((j - centre) / stretch) / sum) : 0.0f;
        if (sum == 0.0) /* cannot happen for a >= 1 tap window; keep a valid pixel anyway */
            w[0] = 1.0f;
        c->first[i] = lo;
        c->count[i] = hi - lo + 1;
    }
    return 0;
}

static uint8_t to_u8(float v)
{
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)(v + 0.5f);
}

int hr_image_resize(const hr_image *src, int w, int h, hr_image *out, hr_image_error *err)
{
    memset(out, 0, sizeof *out);
    if (!src->rgb || w < 1 || h < 1 || w > 65535 || h > 65535) {
        snprintf(err->msg, sizeof err->msg, "resize: invalid size %dx%d", w, h);
        return -1;
    }
    contrib cx = {0}, cy = {0};
    float *tmp = malloc((size_t)src->h * w * 3 * sizeof *tmp);
    uint8_t *dst = malloc((size_t)w * h * 3);
    if (!tmp || !dst || contrib_build(src->w, w, &cx) || contrib_build(src->h, h, &cy)) {
        free(tmp);
        free(dst);
        contrib_free(&cx);
        contrib_free(&cy);
        snprintf(err->msg, sizeof err->msg, "resize: out of memory");
        return -1;
    }
    for (int y = 0; y < src->h; y++) { /* horizontal */
        const uint8_t *row = src->rgb + (size_t)y * src->w * 3;
        float *o = tmp + (size_t)y * w * 3;
        for (int x = 0; x < w; x++) {
            const float *wt = cx.w + (size_t)x * cx.taps;
            const uint8_t *p = row + (size_t)cx.first[x] * 3;
            float r = 0, g = 0, b = 0;
            for (int k = 0; k < cx.count[x]; k++) {
                r += wt[k] * p[k * 3];
                g += wt[k] * p[k * 3 + 1];
                b += wt[k] * p[k * 3 + 2];
            }
            o[x * 3] = r;
            o[x * 3 + 1] = g;
            o[x * 3 + 2] = b;
        }
    }
    for (int y = 0; y < h; y++) { /* vertical */
        const float *wt = cy.w + (size_t)y * cy.taps;
        uint8_t *o = dst + (size_t)y * w * 3;
        for (int x = 0; x < w * 3; x++) {
            float acc = 0;
            for (int k = 0; k < cy.count[y]; k++)
                acc += wt[k] * tmp[(size_t)(cy.first[y] + k) * w * 3 + x];
            o[x] = to_u8(acc);
        }
    }
    free(tmp);
    contrib_free(&cx);
    contrib_free(&cy);
    out->w = w;
    out->h = h;
    out->rgb = dst;
    return 0;
}

int hr_image_fit_size(int w, int h, int max_side, int *out_w, int *out_h)
{
    *out_w = w;
    *out_h = h;
    int longest = w > h ? w : h;
    if (max_side < 1 || longest <= max_side)
        return 0;
    const double s = (double)max_side / longest;
    *out_w = w >= h ? max_side : (int)lround(w * s);
    *out_h = h >= w ? max_side : (int)lround(h * s);
    *out_w = *out_w < 1 ? 1 : *out_w;
    *out_h = *out_h < 1 ? 1 : *out_h;
    return 1;
}

/* Source pixel for destination (x, y) of an image W x H (as stored) under orientation o. */
static void orient_src(int o, int W, int H, int x, int y, int *sx, int *sy)
{
    switch (o) {
    case 2: *sx = W - 1 - x; *sy = y; break;         /* mirror horizontal */
    case 3: *sx = W - 1 - x; *sy = H - 1 - y; break; /* rotate 180 */
    case 4: *sx = x; *sy = H - 1 - y; break;         /* mirror vertical */
    case 5: *sx = y; *sy = x; break;                 /* transpose */
    case 6: *sx = y; *sy = H - 1 - x; break;         /* rotate 90 clockwise */
    case 7: *sx = W - 1 - y; *sy = H - 1 - x; break; /* transverse */
    default: *sx = W - 1 - y; *sy = x; break;        /* 8: rotate 90 counter-clockwise */
    }
}

int hr_image_orient(hr_image *img, int o, hr_image_error *err)
{
    if (o < 2 || o > 8)
        return 0;
    const int W = img->w, H = img->h, dw = o >= 5 ? H : W, dh = o >= 5 ? W : H;
    uint8_t *dst = malloc((size_t)W * H * 3);
    if (!dst) {
        snprintf(err->msg, sizeof err->msg, "orient: out of memory");
        return -1;
    }
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++) {
            int sx, sy;
            orient_src(o, W, H, x, y, &sx, &sy);
            memcpy(dst + ((size_t)y * dw + x) * 3, img->rgb + ((size_t)sy * W + sx) * 3, 3);
        }
    free(img->rgb);
    img->rgb = dst;
    img->w = dw;
    img->h = dh;
    return 0;
}

int hr_image_model_input(const uint8_t *data, size_t len, uint64_t max_pixels, int S, float *px,
                         hr_image_error *err)
{
    hr_image img = {0}, fit = {0};
    if (S < 1 || S > 4096) {
        snprintf(err->msg, sizeof err->msg, "model input: invalid side %d", S);
        return -1;
    }
    int rc = hr_image_decode(data, len, max_pixels, &img, err);
    if (rc == 0 && (img.w != S || img.h != S))
        rc = hr_image_resize(&img, S, S, &fit, err);
    const hr_image *use = fit.rgb ? &fit : &img;
    for (size_t i = 0; rc == 0 && i < (size_t)S * S; i++)
        for (int c = 0; c < 3; c++)
            px[(size_t)c * S * S + i] = use->rgb[i * 3 + c] / 255.0f * 2.0f - 1.0f;
    hr_image_free(&img);
    hr_image_free(&fit);
    return rc;
}
