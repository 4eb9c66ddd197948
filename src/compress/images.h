/* images.h: the image stage of the pipeline (docs/images.md): the edits that cut vision
 * tokens, per request shape, after the text stage.
 *
 *   OpenAI chat   content part {"type":"image_url","image_url":{"url":..,"detail":..}}
 *                 -> "detail":"low" (85 tokens whatever the size), for data: and http URLs;
 *   Responses     {"type":"input_image","image_url":..,"detail":..} -> "detail":"low";
 *   Anthropic     {"type":"image","source":{"type":"base64","media_type":..,"data":..}},
 *                 also inside tool_result content -> resized to <= max_side (512) on the
 *                 long side, re-encoded as JPEG quality 85; URL sources are left (never
 *                 fetched), as are images that already fit;
 *   Gemini        part {"inlineData":{"mimeType":"image/..","data":..}} (or inline_data /
 *                 mime_type) -> resized to <= 768 px (one Gemini tile), JPEG the same way.
 * The technique comes from the router model when one is configured (the question = the
 * text of the latest user message at or before the image, so an image's bytes depend only
 * on the conversation up to it): full_low applies the edit; preserve, crop and transcode leave
 * the image as it is (no model here does crops or transcodes yet). Without a router the
 * default technique applies (full_low unless HEADROOM_IMAGE_DEFAULT=preserve). With an
 * image encoder configured too, each base64 image's SigLIP signals adjust the router's
 * confidence (image_signals.h; the technique stays the question's).
 *
 * Determinism: same image + same question -> same bytes (fixed decoder paths, Lanczos in a
 * fixed order, libjpeg-turbo's integer DCT; no markers). Fail open: an image that cannot be
 * decoded, exceeds a cap, or comes after the deadline is forwarded unchanged.
 *
 * Ownership: the stage reads the caller's parse and appends its edits (with their bytes) to
 * the caller's edit list; the result is plain data.
 */
#ifndef HR_COMPRESS_IMAGES_H
#define HR_COMPRESS_IMAGES_H

#include "compress/pipeline.h"
#include "json/edits.h"
#include "sys/buf.h"
#include "sys/settings.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hr_image_config {
    int enabled;            /* HEADROOM_IMAGES on|off (on) */
    uint64_t max_pixels;    /* HEADROOM_IMAGE_MAX_PIXELS: decode cap, width x height (40,000,000) */
    size_t max_bytes;       /* HEADROOM_IMAGE_MAX_BYTES: largest encoded image decoded (20 MiB) */
    int max_side;           /* HEADROOM_IMAGE_MAX_SIDE: Anthropic resize target (512) */
    int quality;            /* HEADROOM_IMAGE_JPEG_QUALITY (85) */
    int default_preserve;   /* HEADROOM_IMAGE_DEFAULT full_low|preserve (full_low) */
    char router_model[512]; /* HEADROOM_IMAGE_ROUTER_MODEL: router model file; "" = none */
    char encoder_model[512]; /* HEADROOM_IMAGE_ENCODER_MODEL: SigLIP encoder with signal
                              * embeddings (image_signals.h); "" = none */
} hr_image_config;

/* The image stage's settings, one row each (images.c; variables only). */
extern const hr_setting_table hr_image_settings;

void hr_image_config_default(hr_image_config *c);
/* 0 ok; -1 with err filled on a bad value (c keeps its previous values). */
int hr_image_config_from_env(hr_image_config *c, char *err, size_t errlen);
/* Sets the process's settings (the proxy, from its configuration, before any thread);
 * without it the first hr_image_config_process reads defaults + environment. */
void hr_image_configure(const hr_image_config *c);
/* The process's settings. */
const hr_image_config *hr_image_config_process(void);

typedef struct hr_images_result {
    int modified;              /* edits were added */
    int images, edited;        /* image parts seen / changed */
    int failed_open;           /* some image was left because of an error or the deadline */
    long long tokens_before, tokens_after; /* estimated vision tokens of images with known size */
    const char *technique;     /* "full_low", "preserve", ... (static); NULL when no image */
    const char *transform;     /* "image_low" / "image_resize" / both as "image" (static) */
    float confidence;          /* the router's, adjusted by the last analysed image's signals */
    int analysed;              /* images whose signals were computed */
    const char *note;          /* the last adjustment's note (static) or NULL */
} hr_images_result;

/* Runs the stage over a parsed request (the route's API row says where image parts are)
 * and appends its edits (over doc's source) to edits. deadline_ms: CLOCK_MONOTONIC ms past
 * which remaining images are left. 0 always (errors mean "left unchanged": the edits it
 * added are taken back). */
int hr_images_run(const hr_image_config *c, const hr_api *api, const hr_json_doc *doc,
                  double deadline_ms, hr_images_result *out, hr_json_edits *edits);

/* Vision-token estimates used for the savings (docs/images.md). */
long long hr_image_tokens_openai(int w, int h, int low_detail);
long long hr_image_tokens_anthropic(int w, int h);

#endif
