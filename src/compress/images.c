/* images.c: the image stage of images.h.
 *
 * One pass over the caller's parse of the request collects edits (replace a string, insert
 * a member) into the caller's list, which the caller splices with the other stages' edits
 * once; every byte outside an edit is the client's.
 * The router runs once per request (one question), through a process-wide encoder session
 * opened lazily on first use: shared, idle-unloaded and capped like every ML session.
 */
#include "compress/images.h"

#include "compress/image_signals.h"
#include "compress/policy.h"
#include "image/image.h"
#include "json/json.h"
#include "ml/classifier.h"
#include "ml/session.h"
#include "sys/base64.h"
#include "sys/budget.h"
#include "sys/clock.h"
#include "sys/log.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- configuration ---------------------------------------------------------------------- */

static int parse_default(const char *v, void *field, size_t size, char *err, size_t errlen)
{
    (void)size, (void)err, (void)errlen;
    if (strcmp(v, "full_low") && strcmp(v, "preserve"))
        return -1;
    *(int *)field = !strcmp(v, "preserve");
    return 0;
}

#define ROW(name, ...) HR_SETTING_ROW(hr_image_config, name, NULL, __VA_ARGS__, 0)

/* docs/configuration.md ("Images") has a line per row; a test checks. */
static const hr_setting_row ROWS[] = {
    ROW("images", "HEADROOM_IMAGES", HR_SETTING_ONOFF, enabled, 0, 1, "on",
        "the image stage: on | off (on)"),
    HR_SETTING_CUSTOM(hr_image_config, "image_default", NULL, "HEADROOM_IMAGE_DEFAULT",
                      parse_default, "full_low or preserve", default_preserve, "full_low",
                      "technique without a router: full_low | preserve (full_low)", 0),
    ROW("image_router_model", "HEADROOM_IMAGE_ROUTER_MODEL", HR_SETTING_STRING, router_model, 0,
        0, NULL, "router model file (unset: the default technique)"),
    ROW("image_encoder_model", "HEADROOM_IMAGE_ENCODER_MODEL", HR_SETTING_STRING, encoder_model,
        0, 0, NULL, "SigLIP encoder with signal text embeddings (unset: no image signals)"),
    ROW("image_max_pixels", "HEADROOM_IMAGE_MAX_PIXELS", HR_SETTING_INT, max_pixels, 1,
        1000000000LL, "40000000",
        "decoded width x height cap, checked before any pixel memory (40000000)"),
    ROW("image_max_bytes", "HEADROOM_IMAGE_MAX_BYTES", HR_SETTING_INT, max_bytes, 1, 1LL << 30,
        "20971520", "largest encoded image decoded (20971520)"),
    ROW("image_max_side", "HEADROOM_IMAGE_MAX_SIDE", HR_SETTING_INT, max_side, 16, 8192, "512",
        "long side an Anthropic image is resized to (512)"),
    ROW("image_jpeg_quality", "HEADROOM_IMAGE_JPEG_QUALITY", HR_SETTING_INT, quality, 1, 100, "85",
        "JPEG quality of a resized image (85)"),
};

const hr_setting_table hr_image_settings = HR_SETTING_TABLE(ROWS);

void hr_image_config_default(hr_image_config *c)
{
    hr_settings_init(&hr_image_settings, c, sizeof *c);
}

int hr_image_config_from_env(hr_image_config *c, char *err, size_t errlen)
{
    hr_image_config n = *c; /* all or nothing */
    if (hr_settings_from_env(&hr_image_settings, &n, err, errlen) != 0)
        return -1;
    *c = n;
    return 0;
}

static pthread_once_t g_cfg_once = PTHREAD_ONCE_INIT;
static hr_image_config g_cfg;
static int g_configured; /* hr_image_configure ran (before any thread) */

static void cfg_init(void)
{
    char err[200];
    if (g_configured)
        return;
    hr_image_config_default(&g_cfg);
    if (hr_image_config_from_env(&g_cfg, err, sizeof err) != 0)
        hr_logf(HR_LOG_WARN, "image settings: %s; using defaults", err);
}

void hr_image_configure(const hr_image_config *c)
{
    g_cfg = *c;
    g_configured = 1;
}

const hr_image_config *hr_image_config_process(void)
{
    pthread_once(&g_cfg_once, cfg_init);
    return &g_cfg;
}

/* ---- token estimates ---------------------------------------------------------------------- */

long long hr_image_tokens_openai(int w, int h, int low_detail)
{
    if (low_detail || w < 1 || h < 1)
        return 85;
    double fw = w, fh = h;
    double s = fmin(1.0, 2048.0 / fmax(fw, fh)); /* fit in 2048 x 2048 */
    fw *= s;
    fh *= s;
    s = fmin(1.0, 768.0 / fmin(fw, fh)); /* shortest side to 768 */
    fw *= s;
    fh *= s;
    long long tiles = (long long)ceil(fw / 512.0) * (long long)ceil(fh / 512.0);
    return 85 + 170 * tiles;
}

long long hr_image_tokens_anthropic(int w, int h)
{
    if (w < 1 || h < 1)
        return 0;
    int fw, fh;
    hr_image_fit_size(w, h, 1568, &fw, &fh); /* the provider's own downscale */
    return ((long long)fw * fh + 749) / 750;
}

/* ---- the router ----------------------------------------------------------------------------- */

static pthread_mutex_t g_router_mu = PTHREAD_MUTEX_INITIALIZER;
static hr_ml_session *g_router;
static char g_router_path[512];

static hr_ml_session *router_session(const char *path)
{
    pthread_mutex_lock(&g_router_mu);
    if (!g_router || strcmp(g_router_path, path)) {
        hr_ml_session_close(g_router);
        hr_ml_session_config sc;
        hr_ml_error err;
        hr_ml_session_config_init(&sc, "image_router", &hr_ml_kind_encoder, path);
        g_router = hr_ml_session_open(&sc, &err);
        snprintf(g_router_path, sizeof g_router_path, "%s", path);
        if (!g_router)
            hr_logf(HR_LOG_WARN, "image router: %s", err.msg);
    }
    hr_ml_session *s = g_router;
    pthread_mutex_unlock(&g_router_mu);
    return s;
}

/* The technique for this question: the router's label (its confidence in *conf), or the
 * configured default when no router is set (confidence 1). NULL = the router failed (fail
 * open: leave the images). */
static const char *choose_technique(const hr_image_config *c, const char *q, size_t qlen,
                                    float *conf)
{
    static const char *const known[] = {"full_low", "preserve", "crop", "transcode"};
    *conf = 1.0f;
    if (!c->router_model[0])
        return c->default_preserve ? "preserve" : "full_low";
    hr_ml_session *s = router_session(c->router_model);
    hr_ml_class_result r;
    hr_ml_error err;
    if (!s || hr_ml_classify(s, q ? q : "", qlen, &r, &err) != HR_ML_OK)
        return NULL;
    *conf = r.confidence;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(r.label, known[i]))
            return known[i];
    return "preserve"; /* a label we do not implement: leave the image */
}

/* ---- one request ---------------------------------------------------------------------------- */

#define MAX_EDITS 512

typedef struct image_run {
    const hr_image_config *c;
    const hr_api *api;
    hr_json_doc doc;
    double deadline;
    hr_json_edit edits[MAX_EDITS];
    hr_buf reps[MAX_EDITS];
    size_t n_edits;
    hr_buf question;    /* the question the current technique was chosen for */
    const char *technique; /* NULL until the first user message */
    float confidence;   /* the router's for technique */
    int counting;       /* first pass: only count image parts (no decoding) */
    int did_low, did_resize;
    hr_buf raw, enc;
    hr_images_result *out;
} image_run;

static int str_eq(const image_run *r, uint32_t obj, const char *key, const char *want)
{
    return hr_json_string_eq(&r->doc, hr_json_get(&r->doc, obj, key), want);
}

/* Queues "replace [start, end) with text" (text copied). -1: no room or out of memory. */
static int add_edit(image_run *r, size_t start, size_t end, const char *text, size_t len)
{
    if (r->n_edits == MAX_EDITS)
        return -1;
    hr_buf *b = &r->reps[r->n_edits];
    if (hr_buf_append(b, text, len) != 0)
        return -1;
    r->edits[r->n_edits++] = (hr_json_edit){start, end, b->data, b->len};
    return 0;
}

/* Dimensions of a data: URL's image (header only); 0 if unknown. */
static int data_url_size(image_run *r, uint32_t url, int *w, int *h)
{
    hr_buf s = HR_BUF_INIT;
    int ok = 0;
    if (hr_json_string(&r->doc, url, &s) == 0 && s.data && !strncmp(s.data, "data:", 5)) {
        const char *comma = strstr(s.data, ";base64,");
        hr_buf_reset(&r->raw);
        hr_image_info info;
        hr_image_error err;
        if (comma && s.len - (size_t)(comma + 8 - s.data) <= r->c->max_bytes / 3 * 4 + 4 &&
            hr_base64_decode(comma + 8, s.len - (size_t)(comma + 8 - s.data), &r->raw) == 0 &&
            hr_image_probe((const uint8_t *)r->raw.data, r->raw.len, &info, &err) == 0) {
            int swap = info.orientation >= 5;
            *w = swap ? info.h : info.w;
            *h = swap ? info.w : info.h;
            ok = 1;
        }
    }
    hr_buf_free(&s);
    return ok;
}

/* The most a decode of info's image holds at once: the codec's RGBA (PNG, WebP; a JPEG's
 * scaled decode holds less), its RGB copy, and a rotated copy when the orientation asks.
 * A 100 KB PNG can declare 40 Mpx, so a decode is charged to the process budget
 * (sys/budget.h) before it starts: N concurrent requests cannot multiply memory by the
 * compression ratio of their images, and a refusal leaves the image as it came. */
static size_t decode_bytes(const hr_image_info *info)
{
    size_t px = (size_t)info->w * (size_t)info->h;
    return px * 7 + (info->orientation > 1 ? px * 3 : 0);
}

/* The image in r->raw, when it needs a decision (image_signals.h): its signals adjust the
 * router's confidence for this question. Never changes the edit; failures only count. */
static void analyse(image_run *r, const hr_image_info *info)
{
    if (!r->c->router_model[0] || !r->c->encoder_model[0] || !hr_image_needs_signals(r->technique) ||
        hr_now_ms() > r->deadline)
        return;
    hr_image_signals sg;
    size_t need = decode_bytes(info);
    if (hr_budget_reserve(hr_budget_process(), need) != 0)
        return;
    int rc = hr_image_signals_of(r->c->encoder_model, (const uint8_t *)r->raw.data, r->raw.len,
                                 r->c->max_pixels, &sg);
    hr_budget_release(hr_budget_process(), need);
    if (rc != 0)
        return;
    float conf = r->confidence;
    const char *note = hr_image_adjust_confidence(r->technique, &sg, &conf);
    hr_image_signal_count_adjustment(note);
    r->out->analysed++;
    r->out->confidence = conf;
    r->out->note = note;
    hr_logf(HR_LOG_DEBUG, "image signals: technique=%s has_text=%.3f is_document=%.3f "
                          "is_complex=%.3f has_small_details=%.3f confidence=%.3f->%.3f%s%s",
            r->technique, sg.score[0], sg.score[1], sg.score[2], sg.score[3], r->confidence,
            conf, note ? " note=" : "", note ? note : "");
}

/* OpenAI: set "detail":"low" on obj (chat's image_url object, or a Responses part). */
static int openai_low(image_run *r, uint32_t obj, uint32_t url)
{
    const hr_json_node *o = hr_json_at(&r->doc, obj);
    int w = 0, h = 0;
    int known = url != HR_JSON_NONE && data_url_size(r, url, &w, &h);
    if (known) {
        hr_image_info info = {.w = w, .h = h, .orientation = 8}; /* a rotation: the most */
        analyse(r, &info);
    }
    uint32_t d = hr_json_get(&r->doc, obj, "detail");
    int already = d != HR_JSON_NONE && hr_json_string_eq(&r->doc, d, "low");
    long long before = known ? hr_image_tokens_openai(w, h, already) : 0;
    long long after = known ? 85 : 0;
    int keep = already || strcmp(r->technique, "full_low") != 0;
    r->out->tokens_before += before;
    r->out->tokens_after += keep ? before : after;
    if (keep)
        return 0;
    static const char low[] = "\"low\"", member[] = ",\"detail\":\"low\"";
    int rc = d != HR_JSON_NONE
                 ? add_edit(r, r->doc.nodes[d].start, r->doc.nodes[d].end, low, sizeof low - 1)
                 : add_edit(r, o->end - 1, o->end - 1, member, sizeof member - 1);
    r->out->edited += rc == 0;
    r->did_low |= rc == 0;
    return rc;
}

typedef long long (*tokens_fn)(int w, int h);

/* Gemini: images up to 384 px on both sides cost 258 tokens; larger ones are cut into
 * 768x768 tiles of 258 tokens each (Google's "Image understanding" token rules). */
static long long tokens_gemini(int w, int h)
{
    if (w <= 384 && h <= 384)
        return 258;
    return (long long)((w + 767) / 768) * ((h + 767) / 768) * 258;
}

/* A base64 image in a JSON string node `data` with its MIME type in the string node
 * `media`: decode, fit to max_side, re-encode as JPEG; edits both. An image that already
 * fits, or a technique other than full_low, is left byte for byte. */
static int resize_base64(image_run *r, uint32_t data, uint32_t media, int max_side, tokens_fn tokens)
{
    const hr_json_node *dn = hr_json_at(&r->doc, data);
    const hr_json_node *mn = hr_json_at(&r->doc, media);
    if (!dn || dn->type != HR_JSON_STRING || !mn || mn->type != HR_JSON_STRING)
        return 0;
    if ((size_t)(dn->end - dn->start) > r->c->max_bytes / 3 * 4 + 6) {
        r->out->failed_open = 1;
        return 0;
    }
    hr_buf_reset(&r->raw);
    hr_buf_reset(&r->enc);
    /* base64 has no escapes: the span between the quotes is the text */
    hr_image_info info;
    hr_image_error err;
    if (hr_base64_decode(r->doc.src + dn->start + 1, dn->end - dn->start - 2, &r->raw) != 0 ||
        hr_image_probe((const uint8_t *)r->raw.data, r->raw.len, &info, &err) != 0) {
        r->out->failed_open = 1;
        return 0;
    }
    analyse(r, &info);
    int w = info.orientation >= 5 ? info.h : info.w, h = info.orientation >= 5 ? info.w : info.h;
    int tw, th;
    long long before = tokens(w, h);
    r->out->tokens_before += before;
    if (!hr_image_fit_size(w, h, max_side, &tw, &th) || strcmp(r->technique, "full_low")) {
        r->out->tokens_after += before;
        return 0;
    }
    hr_image img, small;
    size_t need = decode_bytes(&info);
    int reserved = hr_now_ms() <= r->deadline && hr_budget_reserve(hr_budget_process(), need) == 0;
    if (!reserved || hr_image_decode_scaled((const uint8_t *)r->raw.data, r->raw.len,
                                            r->c->max_pixels, max_side, &img, &err) != 0) {
        if (reserved)
            hr_budget_release(hr_budget_process(), need);
        r->out->tokens_after += before;
        r->out->failed_open = 1;
        return 0;
    }
    int rc = hr_image_resize(&img, tw, th, &small, &err);
    hr_image_free(&img);
    hr_buf jpeg = HR_BUF_INIT;
    if (rc == 0)
        rc = hr_image_encode_jpeg(&small, r->c->quality, &jpeg, &err);
    hr_image_free(&small);
    hr_budget_release(hr_budget_process(), need);
    if (rc == 0)
        rc = hr_buf_putc(&r->enc, '"') || hr_base64_encode(jpeg.data, jpeg.len, &r->enc) ||
             hr_buf_putc(&r->enc, '"');
    hr_buf_free(&jpeg);
    static const char jpeg_type[] = "\"image/jpeg\"";
    if (rc != 0 || add_edit(r, dn->start, dn->end, r->enc.data, r->enc.len) != 0 ||
        add_edit(r, mn->start, mn->end, jpeg_type, sizeof jpeg_type - 1) != 0) {
        r->out->tokens_after += before;
        r->out->failed_open = 1;
        return -1;
    }
    r->out->tokens_after += tokens(tw, th);
    r->out->edited++;
    r->did_resize = 1;
    return 0;
}

/* Anthropic base64 source: fit to max_side (URL and file sources are never fetched). */
static int anthropic_resize(image_run *r, uint32_t source)
{
    if (!str_eq(r, source, "type", "base64"))
        return 0;
    return resize_base64(r, hr_json_get(&r->doc, source, "data"),
                         hr_json_get(&r->doc, source, "media_type"), r->c->max_side,
                         hr_image_tokens_anthropic);
}

/* Gemini inlineData / inline_data (the row's image_part): fit to 768 px, Gemini's tile
 * size, so the image costs at most one tile. */
#define GEMINI_MAX_SIDE 768

/* in: the inlineData object; mime: its image MIME type node (the row checked it). */
static int gemini_resize(image_run *r, uint32_t in, uint32_t mime)
{
    return resize_base64(r, hr_json_get(&r->doc, in, "data"), mime, GEMINI_MAX_SIDE, tokens_gemini);
}

static int walk_parts(image_run *r, uint32_t content, int depth);

/* One content part of any shape. */
static int visit_part(image_run *r, uint32_t part, int depth)
{
    const hr_json_node *p = hr_json_at(&r->doc, part);
    if (!p || p->type != HR_JSON_OBJECT)
        return 0;
    hr_api_image im = r->api->image_part ? r->api->image_part(&r->doc, part)
                                         : (hr_api_image){HR_API_IMAGE_NONE, 0, 0};
    if (im.kind == HR_API_IMAGE_URL) {
        const hr_json_node *n = hr_json_at(&r->doc, im.holder);
        r->out->images++;
        return !r->counting && n && n->type == HR_JSON_OBJECT && n->count
                   ? openai_low(r, im.holder, im.url)
                   : 0;
    }
    if (im.kind == HR_API_IMAGE_SOURCE) {
        r->out->images++;
        return r->counting ? 0 : anthropic_resize(r, im.holder);
    }
    if (im.kind == HR_API_IMAGE_INLINE) {
        r->out->images++;
        return r->counting ? 0 : gemini_resize(r, im.holder, im.url);
    }
    /* tool results (Anthropic) and nested content carry images too */
    return depth < 2 ? walk_parts(r, hr_json_get(&r->doc, part, "content"), depth + 1) : 0;
}

static int walk_parts(image_run *r, uint32_t content, int depth)
{
    const hr_json_node *c = hr_json_at(&r->doc, content);
    if (!c || c->type != HR_JSON_ARRAY)
        return 0;
    for (uint32_t i = c->first_child; i != HR_JSON_NONE; i = r->doc.nodes[i].next)
        if (visit_part(r, i, depth) != 0)
            return -1;
    return 0;
}

/* The messages (chat, Anthropic) or input items (Responses) array. */
static uint32_t message_list(const image_run *r)
{
    return hr_json_get(&r->doc, 0, r->api->conversation_key);
}

/* A message's parts: "content", or the row's parts_key (Gemini's "parts"). */
static uint32_t message_parts(const image_run *r, uint32_t msg)
{
    return hr_json_get(&r->doc, msg, r->api->parts_key ? r->api->parts_key : "content");
}

/* The user's words in a message: Gemini's text parts carry no "type". */
static int user_text(const image_run *r, uint32_t parts, hr_buf *q)
{
    if (!r->api->parts_key)
        return hr_policy_user_text(&r->doc, parts, q);
    const hr_json_node *a = hr_json_at(&r->doc, parts);
    if (!a || a->type != HR_JSON_ARRAY)
        return 0;
    for (uint32_t p = a->first_child; p != HR_JSON_NONE; p = r->doc.nodes[p].next) {
        uint32_t t = hr_json_get(&r->doc, p, "text");
        const hr_json_node *tn = hr_json_at(&r->doc, t);
        if (!tn || tn->type != HR_JSON_STRING)
            continue;
        if ((q->len && hr_buf_putc(q, '\n') != 0) || hr_json_string(&r->doc, t, q) != 0)
            return -1;
    }
    return 0;
}


/* The technique for question q, asking the router only when q differs from the previous
 * question asked (a conversation's images mostly share one). NULL router result: leave
 * the images (fail open). */
static void set_question(image_run *r, const hr_buf *q)
{
    if (r->technique && r->question.len == q->len &&
        (q->len == 0 || memcmp(r->question.data, q->data, q->len) == 0))
        return;
    hr_buf_reset(&r->question);
    if (q->len)
        hr_buf_append(&r->question, q->data, q->len);
    r->technique = choose_technique(r->c, q->data, q->len, &r->confidence);
    if (!r->technique) {
        r->technique = "preserve";
        r->out->failed_open = 1;
    }
    r->out->technique = r->technique;
    r->out->confidence = r->confidence;
}

/* Each image is decided by the question asked with it: the text of the latest user message
 * at or before it. So an image's bytes depend only on the conversation up to it, and
 * earlier turns keep their bytes when a later question differs (cache prefixes stay). */
static int walk_messages(image_run *r, uint32_t msgs)
{
    const hr_json_node *m = hr_json_at(&r->doc, msgs);
    if (!m || m->type != HR_JSON_ARRAY)
        return 0;
    hr_buf q = HR_BUF_INIT;
    int rc = 0;
    for (uint32_t i = m->first_child; rc == 0 && i != HR_JSON_NONE; i = r->doc.nodes[i].next) {
        uint32_t content = message_parts(r, i);
        if (!r->counting && str_eq(r, i, "role", "user")) {
            hr_buf_reset(&q);
            if (user_text(r, content, &q) != 0)
                rc = -1;
            else if (q.len || !r->technique)
                set_question(r, &q);
        }
        if (rc == 0 && !r->counting && !r->technique) { /* images before any user text */
            hr_buf_reset(&q);
            set_question(r, &q);
        }
        if (rc == 0)
            rc = walk_parts(r, content, 0);
    }
    hr_buf_free(&q);
    return rc;
}

static int run_images(image_run *r, hr_json_edits *edits)
{
    uint32_t msgs = message_list(r);
    r->counting = 1;
    walk_messages(r, msgs);
    r->counting = 0;
    if (!r->out->images)
        return 0;
    r->out->images = 0;
    if (walk_messages(r, msgs) != 0 || !r->n_edits)
        return r->n_edits ? -1 : 0;
    for (size_t i = 0; i < r->n_edits; i++)
        if (hr_json_edits_take(edits, r->edits[i].start, r->edits[i].end, &r->reps[i]) != 0)
            return -1;
    r->out->modified = 1;
    r->out->transform = r->did_low && r->did_resize ? "image" : r->did_low ? "image_low" : "image_resize";
    return 0;
}

int hr_images_run(const hr_image_config *c, const hr_api *api, const hr_json_doc *doc,
                  double deadline_ms, hr_images_result *out, hr_json_edits *edits)
{
    memset(out, 0, sizeof *out);
    const hr_json_node *root = hr_json_at(doc, 0);
    if (!c->enabled || !root || !memmem(doc->src + root->start, root->end - root->start, "image", 5))
        return 0; /* no image part can exist without the word in a type */
    image_run *r = calloc(1, sizeof *r);
    if (!r) {
        out->failed_open = 1;
        return 0;
    }
    r->c = c;
    r->api = api;
    r->doc = *doc; /* a borrowed view of the caller's parse: never freed here */
    r->deadline = deadline_ms;
    r->out = out;
    size_t had = edits->n;
    if (run_images(r, edits) != 0) {
        hr_json_edits_truncate(edits, had);
        out->modified = 0;
        out->failed_open = 1;
        out->tokens_after = out->tokens_before;
    }
    for (size_t i = 0; i < MAX_EDITS; i++)
        hr_buf_free(&r->reps[i]);
    hr_buf_free(&r->raw);
    hr_buf_free(&r->enc);
    hr_buf_free(&r->question);
    free(r);
    return 0;
}
