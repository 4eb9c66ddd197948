/* compress_route.c: POST /v1/compress (registered in routes.def): the proxy's compression
 * without an upstream call, for SDKs and tools that send their own requests.
 *
 *   request   {"messages": [...], "model"?: M, "config"?: {"max_items", "min_bytes",
 *              "max_ratio", "exclude_tools": [names] or "a,b"}}
 *   response  {"messages": [...same shape, tool outputs compressed...], "tokens_before",
 *              "tokens_after", "tokens_saved", "compression_ratio" (after / before, 1 when
 *              nothing was compressible), "transforms_applied": [names], "ccr_hashes":
 *              [the hashes of the markers this run added, as the original answers]}
 *             plus x-headroom-tokens-before/-after/-saved headers.
 * The messages' shape (OpenAI chat or Anthropic) is guessed from their content; the run is
 * the process pipeline's (same session cache, same CCR store, same tenant scoping), or a
 * one-off instance when "config" overrides settings. Fail open: when nothing can be
 * compressed the messages come back byte for byte. 400 on a body that is not an object
 * with a messages array.
 */
#include "proxy/routes.h"

#include "ccr/marker.h"
#include "compress/compressors.h"
#include "compress/pipeline_instance.h"
#include "compress/policy.h"
#include "json/json.h"

#include <stdio.h>
#include <string.h>

/* One numeric override through its setting row (compress/policy.c): the row's parser and
 * bounds, so a value accepted here is one the flag would accept. 0 ok, -1 with err. */
static int apply_row(const hr_json_doc *d, uint32_t n, const hr_setting_row *r, hr_pipeline_config *c,
                     char *err, size_t errlen)
{
    char text[64], source[48], range[48];
    const hr_json_node *v = &d->nodes[n];
    size_t len = v->end - v->start;
    snprintf(source, sizeof source, "config.%s", r->name);
    if (v->type == HR_JSON_NUMBER && len < sizeof text) {
        memcpy(text, d->src + v->start, len);
        text[len] = 0;
        if (hr_setting_set(r, c, text, source, err, errlen) == 0)
            return 0;
    }
    hr_setting_range(r, range, sizeof range);
    snprintf(err, errlen, "%s must be %s", source, range);
    return -1;
}

/* Applies the "config" object's overrides: the pipeline rows marked HR_SETTING_OVERRIDE
 * (min_bytes, max_ratio, max_items), and exclude_tools, which here replaces the list (a
 * caller asking per request says exactly which tools to leave alone). 0 ok, -1 with a
 * reason in err. */
static int apply_overrides(const hr_json_doc *d, uint32_t cfg, hr_pipeline_config *c, char *err,
                           size_t errlen)
{
    uint32_t n;
    const hr_setting_table *t = &hr_pipeline_settings;
    for (size_t i = 0; i < t->n; i++)
        if ((t->rows[i].flags & HR_SETTING_OVERRIDE) &&
            (n = hr_json_get(d, cfg, t->rows[i].name)) != HR_JSON_NONE &&
            apply_row(d, n, &t->rows[i], c, err, errlen) != 0)
            return -1;
    if ((n = hr_json_get(d, cfg, "exclude_tools")) != HR_JSON_NONE) {
        hr_buf list = HR_BUF_INIT;
        int ok = 1;
        if (d->nodes[n].type == HR_JSON_STRING)
            ok = hr_json_string(d, n, &list) == 0;
        else if (d->nodes[n].type == HR_JSON_ARRAY)
            for (uint32_t t = d->nodes[n].first_child; ok && t != HR_JSON_NONE; t = d->nodes[t].next)
                ok = d->nodes[t].type == HR_JSON_STRING &&
                     (list.len == 0 || hr_buf_putc(&list, ',') == 0) &&
                     hr_json_string(d, t, &list) == 0;
        else
            ok = 0;
        ok = ok && list.len < sizeof c->exclude_tools;
        if (ok)
            snprintf(c->exclude_tools, sizeof c->exclude_tools, "%s", list.data ? list.data : "");
        hr_buf_free(&list);
        if (!ok)
            return snprintf(err, errlen, "config.exclude_tools must be a list of tool names"), -1;
    }
    return 0;
}

/* "ccr_hashes":[...]: each marker hash in out[0..len) that the request did not hold already
 * (a marker carried over from an earlier turn is not this run's), once, in order. Markers
 * hold no character JSON escapes, so they are found in the JSON text as they are. */
static int put_ccr_hashes(hr_buf *b, const char *in, size_t in_len, const char *out,
                          size_t out_len)
{
    int rc = hr_buf_puts(b, ",\"ccr_hashes\":[");
    size_t first = b->len;
    hr_marker m;
    for (size_t at = 0; rc == 0 && hr_marker_find(out, out_len, at, &m); at = m.end) {
        char quoted[HR_CONTENT_HASH_HEX + 3];
        snprintf(quoted, sizeof quoted, "\"%s\"", m.hash);
        if (memmem(in, in_len, m.hash, HR_CONTENT_HASH_HEX) ||
            memmem(b->data + first, b->len - first, quoted, strlen(quoted)))
            continue;
        rc = hr_buf_printf(b, "%s%s", b->len > first ? "," : "", quoted);
    }
    return rc || hr_buf_putc(b, ']');
}

static int write_answer(hr_response *res, const char *req_body, size_t req_len,
                        const char *body, size_t len, const hr_pipeline_result *pr)
{
    hr_json_doc d;
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, body, len, &lim, &e) != 0)
        return -1;
    const hr_json_node *msgs = hr_json_at(&d, hr_json_get(&d, 0, "messages"));
    long long before = pr->tokens_before, after = pr->tokens_after;
    hr_buf out = HR_BUF_INIT;
    int rc = msgs ? 0 : -1;
    rc = rc || hr_buf_puts(&out, "{\"messages\":") ||
         hr_buf_append(&out, body + msgs->start, msgs->end - msgs->start) ||
         hr_buf_printf(&out, ",\"tokens_before\":%lld,\"tokens_after\":%lld,\"tokens_saved\":%lld,"
                             "\"compression_ratio\":%.4f,\"transforms_applied\":[",
                       before, after, before - after,
                       before > 0 ? (double)after / (double)before : 1.0);
    const char *t = pr->transforms;
    for (int first = 1; rc == 0 && *t; first = 0) {
        size_t n = strcspn(t, ",");
        rc = hr_buf_printf(&out, "%s\"%.*s\"", first ? "" : ",", (int)n, t);
        t += n + (t[n] == ',');
    }
    rc = rc || hr_buf_putc(&out, ']') ||
         put_ccr_hashes(&out, req_body, req_len, body + msgs->start, msgs->end - msgs->start) ||
         hr_buf_putc(&out, '}') || hr_response_json(res, 200, out.data, out.len);
    char num[32];
    snprintf(num, sizeof num, "%lld", before);
    rc = rc || hr_response_header(res, "x-headroom-tokens-before", num);
    snprintf(num, sizeof num, "%lld", after);
    rc = rc || hr_response_header(res, "x-headroom-tokens-after", num);
    snprintf(num, sizeof num, "%lld", before - after);
    rc = rc || hr_response_header(res, "x-headroom-tokens-saved", num);
    rc = rc || hr_response_header(res, "x-headroom-token-counter",
                                  pr->counter ? pr->counter : "estimate");
    hr_buf_free(&out);
    hr_json_doc_free(&d);
    return rc ? -1 : 0;
}

int hr_route_compress(const hr_request *req, hr_response *res)
{
    hr_json_doc d;
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    lim.max_string = req->body_len ? req->body_len : 1; /* bounded by --max-body-bytes */
    if (hr_json_parse(&d, req->body, req->body_len, &lim, &e) != 0)
        return e.kind == HR_JSON_ERR_SYNTAX
                   ? hr_response_error(res, req->api, 400, "invalid_request_error",
                                       "invalid_json", "request body is not valid JSON: %s", e.msg)
                   : hr_response_error(res, req->api, 400, "invalid_request_error",
                                       "json_limit_exceeded",
                                       "request body is beyond what the proxy parses: %s", e.msg);
    uint32_t msgs = hr_json_get(&d, 0, "messages");
    if (d.nodes[0].type != HR_JSON_OBJECT || msgs == HR_JSON_NONE ||
        d.nodes[msgs].type != HR_JSON_ARRAY) {
        hr_json_doc_free(&d);
        return hr_response_error(res, req->api, 400, "invalid_request_error", NULL,
                                 "expected {\"messages\": [...], \"model\"?: ..., \"config\"?: {...}}");
    }
    hr_pipeline *proc = hr_pipeline_process(), *p = proc;
    uint32_t cfg = hr_json_get(&d, 0, "config");
    if (hr_json_is(&d, cfg, HR_JSON_OBJECT) && proc) {
        hr_pipeline_config c;
        char err[160];
        hr_pipeline_config_of(proc, &c);
        if (apply_overrides(&d, cfg, &c, err, sizeof err) != 0) {
            hr_json_doc_free(&d);
            return hr_response_error(res, req->api, 400, "invalid_request_error", NULL,
                                     "%s", err);
        }
        p = hr_pipeline_new(&c, HR_PIPELINE_STORE_PROCESS, NULL);
    }
    hr_pipeline_input in = {hr_api_guess(&d), req->body, req->body_len,
                            hr_request_header(req, "x-headroom-session-id"), req->tenant,
                            req->request_id, NULL};
    hr_json_doc_free(&d);
    hr_pipeline_result pr;
    hr_pipeline_run_on(p, &in, &pr); /* p NULL (no memory): unchanged, as fail-open wants */
    if (p != proc)
        hr_pipeline_free(p);
    int rc = pr.modified ? write_answer(res, req->body, req->body_len, pr.body.data,
                                        pr.body.len, &pr)
                         : write_answer(res, req->body, req->body_len, req->body, req->body_len,
                                        &pr);
    hr_pipeline_result_free(&pr);
    return rc;
}
