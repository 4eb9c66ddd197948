/* tool_loop.c: see tool_loop.h. Reads a response through its API row's find_calls, writes
 * the follow-up in the request's own format (the row's followup_items) by splicing into the
 * forwarded body (the conversation prefix stays byte-identical, so provider prompt caches still hit on the next round), and sums
 * usage by replacing the final response's usage numbers in place.
 */
#include "ccr/tool_loop.h"

#include "ccr/retrieve.h"
#include "json/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const hr_json_limits LIMITS = HR_JSON_LIMITS_DEFAULT;

int hr_ccr_find_calls(const hr_api *api, const char *response, size_t len, hr_ccr_calls *calls)
{
    memset(calls, 0, sizeof *calls);
    hr_json_doc d = {0};
    hr_json_error err;
    if (hr_json_parse(&d, response, len, &LIMITS, &err) != 0)
        return 0;
    int ok = 0;
    if (d.nodes[0].type == HR_JSON_OBJECT && api->find_calls)
        ok = api->find_calls(&d, calls);
    hr_json_doc_free(&d);
    return ok && calls->n > 0 && calls->other == 0;
}

int hr_ccr_answer_calls(hr_ccr_store *store, const char *tenant, const hr_ccr_calls *calls,
                        hr_buf *results)
{
    for (size_t i = 0; i < calls->n; i++) {
        const hr_ccr_call *c = &calls->call[i];
        hr_ccr_retrieval r;
        if (!c->args_ok) {
            memset(&r, 0, sizeof r);
            r.status = HR_CCR_INVALID;
        } else
            hr_ccr_retrieve(store, tenant, c->hash, strlen(c->hash), c->query, strlen(c->query), &r);
        int rc = hr_ccr_retrieval_text(&r, c->hash, strlen(c->hash), &results[i]);
        hr_ccr_retrieval_free(&r);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- follow-up request ------------------------------------------------------------ */

int hr_ccr_build_followup(const hr_api *api, const char *request, size_t req_len,
                          const char *response, size_t resp_len, const hr_ccr_calls *calls,
                          const hr_buf *results, hr_buf *out)
{
    hr_json_doc req = {0}, resp = {0};
    hr_json_error err;
    hr_buf ins = HR_BUF_INIT;
    int rc = -1;
    if (hr_json_parse(&req, request, req_len, &LIMITS, &err) != 0 ||
        hr_json_parse(&resp, response, resp_len, &LIMITS, &err) != 0 ||
        req.nodes[0].type != HR_JSON_OBJECT)
        goto done;
    uint32_t list = hr_json_get(&req, 0, api->conversation_key);
    if (list == HR_JSON_NONE || !api->followup_items)
        goto done;
    hr_json_edit e;
    if (req.nodes[list].type == HR_JSON_ARRAY) {
        if (req.nodes[list].count && hr_buf_putc(&ins, ',') < 0)
            goto done;
        if (api->followup_items(&resp, calls, results, &ins) < 0)
            goto done;
        e = (hr_json_edit){req.nodes[list].end - 1, req.nodes[list].end - 1, NULL, 0};
    } else if (api->conversation_may_be_string && req.nodes[list].type == HR_JSON_STRING) {
        /* input given as one string: it becomes the first user message of a list */
        if (hr_buf_puts(&ins, "[{\"role\":\"user\",\"content\":") < 0 ||
            hr_json_write_raw(&ins, &req, list) < 0 || hr_buf_puts(&ins, "},") < 0 ||
            api->followup_items(&resp, calls, results, &ins) < 0 || hr_buf_putc(&ins, ']') < 0)
            goto done;
        e = (hr_json_edit){req.nodes[list].start, req.nodes[list].end, NULL, 0};
    } else
        goto done;
    e.data = ins.data;
    e.len = ins.len;
    rc = hr_json_splice(request, req_len, &e, 1, out);
done:
    hr_buf_free(&ins);
    hr_json_doc_free(&req);
    hr_json_doc_free(&resp);
    return rc;
}

/* ---- usage ------------------------------------------------------------------------- */

static long long *field_ptr(hr_ccr_usage *u, const hr_api_usage_field *f)
{
    return (long long *)((char *)u + f->offset);
}

/* Parses response into d; its usage object (HR_JSON_NONE when absent). -1 not JSON. */
static int parse_usage(const hr_api *api, const char *response, size_t len, hr_json_doc *d,
                       uint32_t *usage)
{
    hr_json_error err;
    memset(d, 0, sizeof *d);
    if (hr_json_parse(d, response, len, &LIMITS, &err) != 0)
        return -1;
    *usage = d->nodes[0].type == HR_JSON_OBJECT ? hr_json_get(d, 0, hr_api_usage_key(api))
                                                : HR_JSON_NONE;
    return 0;
}

int hr_ccr_read_usage(const hr_api *api, const char *response, size_t len, hr_ccr_usage *acc)
{
    hr_json_doc d;
    uint32_t usage;
    if (parse_usage(api, response, len, &d, &usage) != 0)
        return -1;
    for (const hr_api_usage_field *f = api->usage_fields; usage != HR_JSON_NONE && f && f->key; f++) {
        int64_t v;
        if (hr_api_usage_field_summable(f) && hr_json_int64(&d, hr_json_get(&d, usage, f->key), &v) == 0)
            *field_ptr(acc, f) += v;
    }
    hr_json_doc_free(&d);
    return 0;
}

int hr_ccr_merge_usage(const hr_api *api, const char *response, size_t len,
                       const hr_ccr_usage *earlier, hr_buf *out)
{
    hr_json_doc d;
    uint32_t usage;
    if (parse_usage(api, response, len, &d, &usage) != 0)
        return -1;
    enum { MAX_SUMMED = 8 }; /* more than any row's usage numbers (Converse has five) */
    hr_json_edit edits[MAX_SUMMED];
    char nums[MAX_SUMMED][24];
    size_t n = 0;
    for (const hr_api_usage_field *f = api->usage_fields;
         usage != HR_JSON_NONE && f && f->key && n < MAX_SUMMED; f++) {
        uint32_t node = hr_json_get(&d, usage, f->key);
        int64_t v;
        if (!hr_api_usage_field_summable(f) || hr_json_int64(&d, node, &v) != 0)
            continue;
        int w = snprintf(nums[n], sizeof nums[n], "%lld",
                         (long long)v + *field_ptr((hr_ccr_usage *)earlier, f));
        edits[n] = (hr_json_edit){d.nodes[node].start, d.nodes[node].end, nums[n], (size_t)w};
        n++;
    }
    int rc = hr_json_splice(response, len, edits, n, out);
    hr_json_doc_free(&d);
    return rc;
}

/* ---- the driver --------------------------------------------------------------------- */

int hr_ccr_tool_loop(const hr_api *api, hr_ccr_store *store, const char *tenant,
                     const char *request, size_t req_len, const char *response,
                     size_t resp_len, hr_ccr_send_fn send, void *user, hr_buf *final,
                     int *final_status)
{
    hr_ccr_calls *calls = malloc(sizeof *calls);
    if (!calls)
        return 0;
    if (hr_ccr_find_calls(api, response, resp_len, calls) != 1) {
        free(calls);
        return 0;
    }
    hr_buf req = HR_BUF_INIT, resp = HR_BUF_INIT, next = HR_BUF_INIT;
    hr_ccr_usage usage = {0};
    int answered = 0, status = 200;
    if (hr_buf_append(&req, request, req_len) < 0 || hr_buf_append(&resp, response, resp_len) < 0)
        goto done;
    for (int round = 0; round < HR_CCR_MAX_ROUNDS; round++) {
        hr_buf results[HR_CCR_MAX_CALLS];
        for (size_t i = 0; i < HR_CCR_MAX_CALLS; i++)
            results[i] = (hr_buf)HR_BUF_INIT;
        hr_buf_reset(&next);
        int ok = hr_ccr_answer_calls(store, tenant, calls, results) == 0 &&
                 hr_ccr_build_followup(api, req.data, req.len, resp.data, resp.len, calls,
                                       results, &next) == 0;
        for (size_t i = 0; i < calls->n; i++)
            hr_buf_free(&results[i]);
        if (!ok)
            break;
        hr_ccr_read_usage(api, resp.data, resp.len, &usage);
        hr_buf_reset(&resp);
        if (send(user, next.data, next.len, &resp, &status) != 0) {
            answered = 0; /* the client gets the first response as it came */
            break;
        }
        answered = 1;
        hr_buf tmp = req;
        req = next;
        next = tmp;
        if (status != 200 || hr_ccr_find_calls(api, resp.data, resp.len, calls) != 1)
            break; /* a final answer (or an upstream error, passed on as it is) */
    }
    if (answered) {
        hr_buf_reset(final);
        if (status != 200 || hr_ccr_merge_usage(api, resp.data, resp.len, &usage, final) != 0) {
            hr_buf_reset(final);
            hr_buf_append(final, resp.data ? resp.data : "", resp.len);
        }
        *final_status = status;
    }
done:
    hr_buf_free(&req);
    hr_buf_free(&resp);
    hr_buf_free(&next);
    free(calls);
    return answered;
}
