/* pipeline.c: the request hook (pipeline.h) and the configured instances behind it
 * (pipeline_instance.h). Per request: parse, let the policy pick spans, then per span
 * replay the session's earlier decision or compress (routing by content), keep the result
 * only if it saves enough tokens and its original is stored, and splice the replacements
 * in so every other byte is unchanged. Every failure path forwards the original.
 * A replayed marker is held to the same rule as a new one: sessions are per tenant, and a
 * replay stores the original again (from the request's own span) once its last put is a
 * quarter of the store's TTL old, so the marker a client is sent is one it can retrieve.
 */
#include "compress/pipeline_instance.h"

#include "ccr/marker.h"
#include "compress/detect.h"
#include "compress/embed_relevance.h"
#include "compress/images.h"
#include "compress/kompress.h"
#include "compress/session_cache.h"
#include "compress/smart_crusher.h"
#include "json/json.h"
#include "sys/clock.h"
#include "sys/log.h"
#include "tokens/tokens.h"

#include <unistd.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct hr_pipeline {
    hr_pipeline_config cfg;
    hr_pipeline_store_choice store_choice;
    hr_ccr_store *store;
    hr_session_cache *cache;
    pthread_mutex_t mu; /* guards stats */
    hr_pipeline_stats stats;
    hr_kompress *kompress;     /* NULL without a model (kompress_note says why) */
    int kompress_owned;        /* 0: borrowed from the config (see open_kompress) */
    char kompress_note[320];
    hr_embed_rel *embed;       /* NULL without an embedding model (lexical ranking) */
    char embed_note[320];
};

/* ---- Kompress -------------------------------------------------------------------------- */

/* The model file Kompress uses: the configured one, else the data dir's fetched one when
 * it exists; "" when there is none ("off", or nothing fetched). */
static void kompress_model_path(const hr_pipeline_config *c, char *out, size_t n, char *note,
                                size_t note_n)
{
    out[0] = '\0';
    if (!strcmp(c->kompress_model, "off")) {
        snprintf(note, note_n, "turned off (kompress-model off)");
        return;
    }
    if (c->kompress_model[0]) {
        snprintf(out, n, "%s", c->kompress_model);
        if (access(out, R_OK) != 0)
            snprintf(note, note_n, "model %.200s is not readable yet: prose fails open to the "
                                   "text compressor until it is", out);
        return;
    }
    char dir[1024];
    if (hr_tokens_data_dir(dir, sizeof dir) == 0 &&
        (size_t)snprintf(out, n, "%.*s/models/kompress.hrm", 900, dir) < n && access(out, R_OK) == 0)
        return;
    out[0] = '\0';
    snprintf(note, note_n, "no model (set --kompress-model or run 'headroom model fetch "
                           "kompress'): prose goes to the text compressor");
}

/* Opens Kompress for a new instance; without a model the instance runs without it. A
 * config taken from a running instance (hr_pipeline_config_of: /v1/compress overrides)
 * already names that instance's Kompress: it is borrowed, so a per-request pipeline never
 * opens a second session on the same model. */
static void open_kompress(hr_pipeline *p)
{
    if (p->cfg.opts.kompress) {
        p->kompress = p->cfg.opts.kompress;
        snprintf(p->kompress_note, sizeof p->kompress_note, "shared with the process pipeline");
        return;
    }
    char path[1024];
    kompress_model_path(&p->cfg, path, sizeof path, p->kompress_note, sizeof p->kompress_note);
    if (!path[0])
        return;
    hr_kompress_config kc;
    hr_kompress_config_init(&kc, path);
    kc.min_bytes = p->cfg.kompress_min_bytes;
    kc.code = p->cfg.kompress_code;
    kc.ratio = p->cfg.kompress_ratio;
    hr_ml_error err;
    p->kompress = hr_kompress_open(&kc, &err);
    p->kompress_owned = p->kompress != NULL;
    if (!p->kompress)
        snprintf(p->kompress_note, sizeof p->kompress_note, "%.256s", err.msg);
    else if (!p->kompress_note[0])
        snprintf(p->kompress_note, sizeof p->kompress_note, "model %.256s (loads on first use)", path);
}

/* ---- the embedder (hybrid relevance) ---------------------------------------------------- */

/* Opens the embedder when a model is configured. Only the process instance has one and
 * installs it as the hybrid scorer (hr_pipeline_configure / hr_pipeline_process); other
 * instances (/v1/compress overrides, the CLI) open none: an installed one serves every
 * ranking in the process. */
static void open_embedder(hr_pipeline *p)
{
    const char *path = p->cfg.embed_model;
    if (!path[0] || !strcmp(path, "off")) {
        snprintf(p->embed_note, sizeof p->embed_note, "no model: relevance is lexical (BM25)");
        return;
    }
    hr_embed_rel_config ec = {path, p->cfg.embed_max_items, p->cfg.embed_deadline_ms, 0};
    hr_ml_error err;
    if (!(p->embed = hr_embed_rel_open(&ec, &err))) {
        snprintf(p->embed_note, sizeof p->embed_note, "%.256s", err.msg);
        return;
    }
    if (access(path, R_OK) != 0)
        snprintf(p->embed_note, sizeof p->embed_note, "model %.200s is not readable yet: "
                 "relevance stays lexical until it is", path);
    else
        snprintf(p->embed_note, sizeof p->embed_note, "model %.256s (loads on first use)", path);
}

static void install_embedder(hr_pipeline *p)
{
    if (!p)
        return;
    open_embedder(p);
    if (p->embed)
        hr_embed_rel_install(p->embed);
}

hr_embed_rel *hr_pipeline_embedder(hr_pipeline *p) { return p ? p->embed : NULL; }
const char *hr_pipeline_embedder_note(const hr_pipeline *p) { return p ? p->embed_note : ""; }

hr_kompress *hr_pipeline_kompress(hr_pipeline *p) { return p ? p->kompress : NULL; }
const char *hr_pipeline_kompress_note(const hr_pipeline *p) { return p ? p->kompress_note : ""; }

hr_pipeline *hr_pipeline_new(const hr_pipeline_config *c, hr_pipeline_store_choice choice,
                             hr_ccr_store *store)
{
    hr_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cfg = *c;
    p->store_choice = choice;
    p->store = store;
    p->cache = hr_session_cache_new(c->max_sessions, c->max_entries, c->max_session_bytes,
                                    c->max_cache_bytes);
    if (!p->cache) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    open_kompress(p);
    p->cfg.opts.kompress = p->kompress;
    return p;
}

void hr_pipeline_free(hr_pipeline *p)
{
    if (!p)
        return;
    hr_session_cache_free(p->cache);
    if (p->kompress_owned)
        hr_kompress_close(p->kompress);
    hr_embed_rel_close(p->embed);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void hr_pipeline_config_of(const hr_pipeline *p, hr_pipeline_config *out) { *out = p->cfg; }

/* ---- originals ------------------------------------------------------------------------ */

/* A replay re-puts its original once the last put is older than TTL / this: the original
 * then outlives every forward of its marker by at least three quarters of the TTL, and a
 * long session rewrites each original at most four times per TTL. */
#define REPLAY_REFRESH_FRACTION 4

static hr_ccr_store *pipeline_store(hr_pipeline *p)
{
    return p->store_choice == HR_PIPELINE_STORE_GIVEN ? p->store : hr_ccr_process_store();
}

/* Stores the original of a compressed span under its content hash. -1 when no store is
 * available or the put fails: the caller then forwards the original. */
static int store_original(hr_pipeline *p, const char *tenant, const char *hash,
                          const char *data, size_t len)
{
    hr_ccr_store *s = pipeline_store(p);
    if (!s)
        return -1;
    char derived[HR_TENANT_MAX + 1];
    return hr_ccr_put(s, hr_tenant_or_anonymous(tenant, derived), hash, data, len, 0);
}

/* ---- one text ------------------------------------------------------------------------- */


/* Routing: JSON goes straight to SmartCrusher; anything else (or JSON it could not
 * reduce) through detection to the logs / search / diff / text compressors. */
static int route_and_compress(const char *text, size_t len, const char *hash,
                              const hr_compress_opts *opts, hr_compress_result *res)
{
    if (hr_smart_crusher_looks_json(text, len)) {
        int rc = hr_compress_smart_crusher_hashed(text, len, hash, opts, res);
        if (rc != 0 || res->compressed)
            return rc;
        hr_compress_result_free(res);
    }
    return hr_compress_detected(text, len, opts, hr_compress_smart_crusher, res);
}

static size_t count_tokens(const char *model, const char *s, size_t n, const char **counter)
{
    hr_tok_encoding used;
    size_t t = hr_tokens_count(model, s, n, &used);
    if (counter)
        *counter = hr_tok_encoding_name(used);
    return t;
}

typedef enum { TEXT_KEPT = 0, TEXT_COMPRESSED, TEXT_STORE_FAILED } text_outcome;

/* One text to compress and what it is compressed for (all borrowed). */
typedef struct text_job {
    const char *text;
    size_t len;
    const char *hash;   /* its content hash if already computed, else NULL */
    const char *model;  /* token counter */
    const hr_compress_opts *opts;
    const char *tenant; /* CCR scope of the stored original */
} text_job;

/* Compresses one text under the ratio and store rules. On TEXT_COMPRESSED res holds the
 * replacement; otherwise res is empty. dec receives the decision and token counts, counter
 * (optional) the name of the token counter. -1 on an internal error. */
static int compress_one_text(hr_pipeline *p, const text_job *job, hr_compress_result *res,
                             hr_span_decision *dec, text_outcome *outcome, const char **counter)
{
    memset(dec, 0, sizeof *dec);
    memset(res, 0, sizeof *res);
    *outcome = TEXT_KEPT;
    dec->tokens_before = dec->tokens_after =
        (long long)count_tokens(job->model, job->text, job->len, counter);
    if (hr_marker_present(job->text, job->len)) /* already compressed by us or a peer */
        return 0;
    if (route_and_compress(job->text, job->len, job->hash, job->opts, res) != 0) {
        hr_compress_result_free(res);
        return -1;
    }
    if (!res->compressed)
        return 0;
    long long after = (long long)count_tokens(job->model, res->out.data, res->out.len, NULL);
    if ((double)after > p->cfg.max_ratio * (double)dec->tokens_before) {
        hr_compress_result_free(res);
        return 0;
    }
    if (store_original(p, job->tenant, res->hash, job->text, job->len) != 0) {
        hr_compress_result_free(res);
        *outcome = TEXT_STORE_FAILED;
        return 0;
    }
    dec->compressed = 1;
    dec->tokens_after = after;
    dec->compressor = res->compressor;
    dec->units_total = res->units_total;
    dec->units_kept = res->units_kept;
    *outcome = TEXT_COMPRESSED;
    return 0;
}

static void add_compressor(hr_pipeline_stats *st, const char *name, uint64_t spans,
                           long long before, long long after)
{
    size_t i = 0;
    while (i < st->n_compressors && strcmp(st->compressors[i].name, name) != 0)
        i++;
    if (i == st->n_compressors) {
        if (i == HR_PIPELINE_MAX_COMPRESSORS)
            return;
        st->compressors[i].name = name;
        st->n_compressors++;
    }
    st->compressors[i].spans += spans;
    st->compressors[i].tokens_before += before;
    st->compressors[i].tokens_after += after;
}

static void count_compressor(hr_pipeline_stats *st, const hr_span_decision *d)
{
    if (d->compressed && d->compressor)
        add_compressor(st, d->compressor, 1, d->tokens_before, d->tokens_after);
}

int hr_pipeline_compress_text(hr_pipeline *p, const char *text, size_t len, const char *model,
                              const char *query, size_t query_len, const char *tenant,
                              hr_compress_result *res, long long *tokens_before,
                              long long *tokens_after)
{
    hr_compress_opts opts = p->cfg.opts;
    opts.query = query;
    opts.query_len = query ? query_len : 0;
    opts.deadline_ms = hr_now_ms() + p->cfg.deadline_ms;
    hr_span_decision dec;
    text_outcome outcome;
    text_job job = {text, len, NULL, model, &opts, tenant};
    int rc = compress_one_text(p, &job, res, &dec, &outcome, NULL);
    *tokens_before = dec.tokens_before;
    *tokens_after = dec.tokens_after;
    pthread_mutex_lock(&p->mu);
    p->stats.spans_seen++;
    p->stats.spans_compressed += outcome == TEXT_COMPRESSED;
    p->stats.store_failures += outcome == TEXT_STORE_FAILED;
    p->stats.failed_open += rc != 0 || outcome == TEXT_STORE_FAILED;
    p->stats.tokens_before += dec.tokens_before;
    p->stats.tokens_after += dec.tokens_after;
    count_compressor(&p->stats, &dec);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* ---- one request ---------------------------------------------------------------------- */

typedef struct request_run {
    hr_pipeline *p;
    const hr_pipeline_input *in;
    const hr_json_doc *doc; /* in->doc, or own_doc when the pipeline parsed the body */
    hr_json_doc own_doc;
    hr_policy_scan scan;
    char model[128];
    char tenant[HR_TENANT_MAX + 1];   /* effective tenant (hr_tenant_or_anonymous) */
    char session[HR_SESSION_KEY_MAX + 1];
    uint32_t prefix;
    double deadline;
    hr_buf text, query, comp;
    uint32_t query_node;   /* node query holds the text of */
    hr_pipeline_result *out; /* out->edits: the text and image stages' edits */
    hr_pipeline_stats delta;
} request_run;

/* Session key: the content hash of the tenant + NUL + the client's x-headroom-session-id,
 * else of the tenant + NUL + model + NUL + the system prompt's source bytes (a
 * conversation's fixed identity). The tenant is in it because a session's decisions carry
 * its originals' put times: two clients with the same agent prompt must not share them.
 * -1 out of memory. */
static int session_key(request_run *r)
{
    const char *sid = r->in->session_id;
    int by_id = sid && *sid;
    hr_buf b = HR_BUF_INIT;
    int ok = hr_buf_append(&b, r->tenant, strlen(r->tenant) + 1) == 0;
    if (by_id) {
        ok = ok && hr_buf_puts(&b, sid) == 0;
    } else {
        const hr_json_node *sys = hr_json_at(r->doc, r->scan.system);
        ok = ok && hr_buf_append(&b, r->model, strlen(r->model) + 1) == 0 &&
             (!sys || hr_buf_append(&b, r->doc->src + sys->start, sys->end - sys->start) == 0);
    }
    char h[HR_CONTENT_HASH_HEX + 1];
    if (ok)
        hr_content_hash(b.data, b.len, h);
    hr_buf_free(&b);
    if (!ok)
        return -1;
    snprintf(r->session, sizeof r->session, "%s:%s", by_id ? "id" : "h", h);
    return 0;
}

static void note_transform(hr_pipeline_result *out, const char *name)
{
    if (!name)
        return;
    size_t n = strlen(name), len = strlen(out->transforms);
    for (const char *t = out->transforms; (t = strstr(t, name)) != NULL; t += n)
        if ((t == out->transforms || t[-1] == ',') && (t[n] == ',' || t[n] == '\0'))
            return;
    if (len + n + 2 < sizeof out->transforms)
        snprintf(out->transforms + len, sizeof out->transforms - len, "%s%s", len ? "," : "",
                 name);
}

/* Queues "replace the node nd with text" as a JSON string (escaped here): a string span's
 * new content, or the string standing for a json span's object / array. */
static int add_edit(request_run *r, const hr_json_node *nd, const char *text, size_t len)
{
    hr_buf rep = HR_BUF_INIT;
    if (hr_json_write_string(&rep, text, len) != 0) {
        hr_buf_free(&rep);
        return -1;
    }
    return hr_json_edits_take(&r->out->edits, nd->start, nd->end, &rep);
}

static int span_query(request_run *r, const hr_policy_span *sp)
{
    if (sp->query == r->query_node)
        return 0;
    hr_buf_reset(&r->query);
    r->query_node = sp->query;
    return sp->query == HR_JSON_NONE ? 0 : hr_policy_user_text(r->doc, sp->query, &r->query);
}

/* A span forwarded as it is: its tokens count on both sides. */
static void leave_span(request_run *r, hr_span_decision *dec)
{
    memset(dec, 0, sizeof *dec);
    dec->tokens_before = dec->tokens_after =
        (long long)count_tokens(r->model, r->text.data, r->text.len, NULL);
}

/* First sight of a span in this session: compress it for the question asked before it,
 * remember the decision, and leave the replacement in r->comp. -1 internal error. */
static int compress_new_span(request_run *r, const hr_policy_span *sp, const char *hash,
                             hr_span_decision *dec)
{
    hr_pipeline *p = r->p;
    if (span_query(r, sp) != 0)
        return -1;
    hr_compress_opts opts = p->cfg.opts;
    opts.query = r->query.data;
    opts.query_len = r->query.len;
    opts.deadline_ms = r->deadline;
    hr_compress_result res;
    text_outcome outcome;
    text_job job = {r->text.data, r->text.len, hash, r->model, &opts, r->in->tenant};
    if (compress_one_text(p, &job, &res, dec, &outcome, &r->out->counter) != 0)
        return -1;
    int rc = 0;
    if (outcome == TEXT_STORE_FAILED) {
        r->delta.store_failures++;
        r->out->failed_open = 1; /* not remembered: a later request may store it */
    } else if (hr_session_cache_put(p->cache, r->session, hash, dec, res.out.data,
                                    res.out.len, (long long)hr_now_ms()) != 0) {
        rc = -1;
    }
    if (rc == 0 && dec->compressed && hr_buf_append(&r->comp, res.out.data, res.out.len) != 0)
        rc = -1;
    hr_compress_result_free(&res);
    r->delta.spans_compressed += rc == 0 && dec->compressed;
    return rc;
}

/* A replay forwards a marker again, so its original must still be in the store for this
 * tenant: re-put it from the span (which refreshes its TTL) when the last put is old.
 * 0 the marker may be forwarded, -1 it may not (no store, or the put failed). */
static int refresh_replayed_original(request_run *r, const char *hash, long long stored_ms)
{
    hr_ccr_store *s = pipeline_store(r->p);
    if (!s)
        return -1;
    long long now = (long long)hr_now_ms();
    long long ttl_ms = (long long)hr_ccr_store_ttl(s) * 1000;
    if (now - stored_ms < ttl_ms / REPLAY_REFRESH_FRACTION)
        return 0;
    if (hr_ccr_put(s, r->tenant, hash, r->text.data, r->text.len, 0) != 0)
        return -1;
    hr_session_cache_mark_stored(r->p->cache, r->session, hash, now);
    return 0;
}

/* Decides one span: replay the session's decision, leave it (cache mode's frozen prefix,
 * deadline passed), or compress it; then queues its edit. -1 internal error. */
static int run_span(request_run *r, const hr_policy_span *sp)
{
    hr_buf_reset(&r->text);
    hr_buf_reset(&r->comp);
    if (hr_policy_span_text(r->doc, sp, &r->text) != 0)
        return -1;
    char hash[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash(r->text.data, r->text.len, hash);
    r->delta.spans_seen++;
    hr_span_decision dec;
    long long stored_ms = 0;
    int hit = hr_session_cache_get(r->p->cache, r->session, hash, &dec, &r->comp, &stored_ms);
    if (hit < 0)
        return -1;
    if (hit && dec.compressed && refresh_replayed_original(r, hash, stored_ms) != 0) {
        /* this request forwards the original; the entry stays, so once the store works
         * again later turns get the same bytes as before */
        leave_span(r, &dec);
        r->delta.store_failures++;
        r->out->failed_open = 1;
    } else if (hit) {
        r->delta.spans_replayed += dec.compressed;
    } else if (r->p->cfg.mode == HR_MODE_CACHE && sp->message < r->prefix) {
        leave_span(r, &dec); /* frozen prefix: the provider saw these bytes as they are */
    } else if (hr_now_ms() > r->deadline) {
        leave_span(r, &dec);
        r->delta.deadline_exceeded += !r->out->failed_open;
        r->out->failed_open = 1;
    } else if (compress_new_span(r, sp, hash, &dec) != 0) {
        return -1;
    }
    r->out->tokens_before += dec.tokens_before;
    r->out->tokens_after += dec.tokens_after;
    count_compressor(&r->delta, &dec);
    if (!dec.compressed)
        return 0;
    note_transform(r->out, dec.compressor);
    return add_edit(r, &r->doc->nodes[sp->node], r->comp.data ? r->comp.data : "", r->comp.len);
}

static int run_request(request_run *r)
{
    const hr_pipeline_input *in = r->in;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    hr_json_error jerr;
    if (in->doc) {
        r->doc = in->doc; /* the caller's one parse of the body */
    } else {
        if (hr_json_parse(&r->own_doc, in->body, in->len, &lim, &jerr) != 0)
            return 0; /* not ours to judge: forwarded as is, the provider answers */
        r->doc = &r->own_doc;
    }
    if (hr_policy_find_spans(r->doc, in->api, &r->p->cfg, &r->scan) != 0)
        return -1;
    hr_buf m = HR_BUF_INIT;
    if (r->scan.model != HR_JSON_NONE && hr_json_string(r->doc, r->scan.model, &m) == 0 && m.data)
        snprintf(r->model, sizeof r->model, "%s", m.data);
    hr_buf_free(&m);
    count_tokens(r->model, "", 0, &r->out->counter); /* names the counter even on replays */
    char derived[HR_TENANT_MAX + 1];
    snprintf(r->tenant, sizeof r->tenant, "%s", hr_tenant_or_anonymous(r->in->tenant, derived));
    if (session_key(r) != 0)
        return -1;
    int cache_mode = r->p->cfg.mode == HR_MODE_CACHE;
    if (!r->scan.n) { /* nothing to compress, but cache mode's prefix still moves on */
        if (cache_mode)
            hr_session_cache_set_prefix(r->p->cache, r->session, r->scan.n_messages);
        return 0;
    }
    r->prefix = cache_mode ? hr_session_cache_prefix(r->p->cache, r->session) : 0;
    if (r->prefix > r->scan.n_messages)
        r->prefix = 0; /* history shrank or was rewritten: a new conversation */
    for (size_t i = 0; i < r->scan.n; i++)
        if (run_span(r, &r->scan.spans[i]) != 0)
            return -1;
    if (cache_mode)
        hr_session_cache_set_prefix(r->p->cache, r->session, r->scan.n_messages);
    return 0;
}

static void request_free(request_run *r)
{
    hr_buf_free(&r->text);
    hr_buf_free(&r->query);
    hr_buf_free(&r->comp);
    hr_policy_scan_free(&r->scan);
    hr_json_doc_free(&r->own_doc);
}

static void merge_stats(hr_pipeline *p, const request_run *r, int modified)
{
    pthread_mutex_lock(&p->mu);
    hr_pipeline_stats *s = &p->stats;
    s->requests++;
    s->requests_modified += modified;
    s->spans_seen += r->delta.spans_seen;
    s->spans_compressed += r->delta.spans_compressed;
    s->spans_replayed += r->delta.spans_replayed;
    s->deadline_exceeded += r->delta.deadline_exceeded;
    s->store_failures += r->delta.store_failures;
    s->failed_open += r->out->failed_open;
    s->tokens_before += r->out->tokens_before;
    s->tokens_after += r->out->tokens_after;
    for (size_t i = 0; i < r->delta.n_compressors; i++)
        add_compressor(s, r->delta.compressors[i].name, r->delta.compressors[i].spans,
                       r->delta.compressors[i].tokens_before, r->delta.compressors[i].tokens_after);
    pthread_mutex_unlock(&p->mu);
}

/* The image stage (images.h) on the same parse: its edits join the text stage's, its tokens
 * and transform join the result; on any error it adds nothing (fail open). */
static void run_image_stage(request_run *r)
{
    hr_pipeline_result *out = r->out;
    if (!r->doc)
        return; /* the body did not parse: nothing to do */
    hr_images_result img;
    hr_images_run(hr_image_config_process(), r->in->api, r->doc, r->deadline, &img, &out->edits);
    out->failed_open |= img.failed_open;
    out->tokens_before += img.tokens_before;
    out->tokens_after += img.tokens_after;
    if (img.images)
        add_compressor(&r->delta, "image", (uint64_t)img.edited, img.tokens_before, img.tokens_after);
    if (img.modified)
        note_transform(out, img.transform);
}

/* The one splice when the pipeline parsed the body itself (a caller that passed its parse
 * applies out->edits with its own edits instead). */
static void splice_result(request_run *r)
{
    hr_pipeline_result *out = r->out;
    out->modified = out->edits.n > 0;
    if (!out->modified || r->in->doc)
        return;
    if (hr_json_edits_apply(&out->edits, r->in->body, r->in->len, &out->body) != 0) {
        hr_buf_free(&out->body);
        hr_json_edits_truncate(&out->edits, 0);
        out->modified = 0;
        out->failed_open = 1;
        out->transforms[0] = '\0';
    }
}

int hr_pipeline_run_on(hr_pipeline *p, const hr_pipeline_input *in, hr_pipeline_result *out)
{
    memset(out, 0, sizeof *out);
    out->counter = "estimate";
    if (!p || !in || !in->body)
        return 0;
    request_run r;
    memset(&r, 0, sizeof r);
    r.p = p;
    r.in = in;
    r.out = out;
    r.query_node = HR_JSON_NONE;
    r.deadline = hr_now_ms() + p->cfg.deadline_ms;
    if (run_request(&r) != 0) {
        hr_json_edits_truncate(&out->edits, 0);
        out->failed_open = 1;
        out->transforms[0] = '\0';
    }
    run_image_stage(&r);
    splice_result(&r);
    merge_stats(p, &r, out->modified);
    request_free(&r);
    return 0;
}

/* ---- the process instance ----------------------------------------------------------- */

static pthread_mutex_t g_proc_mu = PTHREAD_MUTEX_INITIALIZER;
static hr_pipeline *g_proc;

int hr_pipeline_configure(const hr_pipeline_config *c)
{
    hr_pipeline *p = hr_pipeline_new(c, HR_PIPELINE_STORE_PROCESS, NULL);
    if (!p)
        return -1;
    pthread_mutex_lock(&g_proc_mu);
    hr_pipeline *old = g_proc;
    g_proc = p;
    pthread_mutex_unlock(&g_proc_mu);
    hr_pipeline_free(old); /* configure happens before serving: no request holds it */
    install_embedder(p);
    return 0;
}

hr_pipeline *hr_pipeline_process(void)
{
    pthread_mutex_lock(&g_proc_mu);
    if (!g_proc) {
        hr_pipeline_config c;
        char err[160];
        hr_pipeline_config_default(&c);
        if (hr_pipeline_config_from_env(&c, err, sizeof err) != 0) {
            hr_logf(HR_LOG_WARN, "compression settings: %s; using defaults", err);
            hr_pipeline_config_default(&c);
        }
        g_proc = hr_pipeline_new(&c, HR_PIPELINE_STORE_PROCESS, NULL);
        install_embedder(g_proc);
    }
    hr_pipeline *p = g_proc;
    pthread_mutex_unlock(&g_proc_mu);
    return p;
}

void hr_pipeline_process_close(void)
{
    pthread_mutex_lock(&g_proc_mu);
    hr_pipeline_free(g_proc);
    g_proc = NULL;
    pthread_mutex_unlock(&g_proc_mu);
}

int hr_pipeline_run(const hr_pipeline_input *in, hr_pipeline_result *out)
{
    return hr_pipeline_run_on(hr_pipeline_process(), in, out);
}

void hr_pipeline_result_free(hr_pipeline_result *r)
{
    hr_buf_free(&r->body);
    hr_json_edits_free(&r->edits);
}

/* ---- stats ---------------------------------------------------------------------------- */

void hr_pipeline_stats_get(hr_pipeline *p, hr_pipeline_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->mu);
}

size_t hr_pipeline_cache_bytes(hr_pipeline *p)
{
    size_t sessions = 0, entries = 0, bytes = 0;
    if (p && p->cache)
        hr_session_cache_counts(p->cache, &sessions, &entries, &bytes);
    return bytes;
}

int hr_pipeline_process_stats_json(hr_buf *out)
{
    pthread_mutex_lock(&g_proc_mu);
    hr_pipeline *p = g_proc;
    hr_pipeline_stats s;
    if (p)
        hr_pipeline_stats_get(p, &s);
    pthread_mutex_unlock(&g_proc_mu);
    return p ? hr_pipeline_stats_json(&s, out) : hr_buf_puts(out, "{}");
}

int hr_pipeline_stats_json(const hr_pipeline_stats *s, hr_buf *out)
{
    int rc = hr_buf_printf(out,
                           "{\"requests\":%llu,\"requests_modified\":%llu,\"spans_seen\":%llu,"
                           "\"spans_compressed\":%llu,\"spans_replayed\":%llu,"
                           "\"failed_open\":%llu,\"deadline_exceeded\":%llu,"
                           "\"store_failures\":%llu,\"tokens_before\":%lld,"
                           "\"tokens_after\":%lld,\"tokens_saved\":%lld,\"compressors\":{",
                           (unsigned long long)s->requests,
                           (unsigned long long)s->requests_modified,
                           (unsigned long long)s->spans_seen,
                           (unsigned long long)s->spans_compressed,
                           (unsigned long long)s->spans_replayed,
                           (unsigned long long)s->failed_open,
                           (unsigned long long)s->deadline_exceeded,
                           (unsigned long long)s->store_failures, s->tokens_before,
                           s->tokens_after, s->tokens_before - s->tokens_after);
    for (size_t i = 0; rc == 0 && i < s->n_compressors; i++)
        rc = hr_buf_printf(out, "%s\"%s\":{\"spans\":%llu,\"tokens_before\":%lld,"
                                "\"tokens_after\":%lld,\"tokens_saved\":%lld}",
                           i ? "," : "", s->compressors[i].name,
                           (unsigned long long)s->compressors[i].spans,
                           s->compressors[i].tokens_before, s->compressors[i].tokens_after,
                           s->compressors[i].tokens_before - s->compressors[i].tokens_after);
    return rc == 0 ? hr_buf_puts(out, "}}") : -1;
}
