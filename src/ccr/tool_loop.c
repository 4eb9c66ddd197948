/* tool_loop.c: see tool_loop.h. Reads the three response formats, writes the follow-up in
 * the request's own format by splicing into the forwarded body (the conversation prefix
 * stays byte-identical, so provider prompt caches still hit on the next round), and sums
 * usage by replacing the final response's usage numbers in place.
 */
#include "ccr/tool_loop.h"

#include "ccr/retrieve.h"
#include "json/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const hr_json_limits LIMITS = HR_JSON_LIMITS_DEFAULT;

/* Copies a string node into a fixed buffer; 0 ok, -1 not a string or too long. */
static int copy_string(const hr_json_doc *d, uint32_t n, char *out, size_t cap)
{
    if (n == HR_JSON_NONE || d->nodes[n].type != HR_JSON_STRING)
        return -1;
    hr_buf b = HR_BUF_INIT;
    int rc = hr_json_string(d, n, &b);
    if (rc == 0 && b.len < cap) {
        memcpy(out, b.data ? b.data : "", b.len);
        out[b.len] = '\0';
    } else
        rc = -1;
    hr_buf_free(&b);
    return rc;
}

/* {hash, query?} from an arguments object node. */
static int read_args_object(const hr_json_doc *d, uint32_t obj, hr_ccr_call *c)
{
    if (obj == HR_JSON_NONE || d->nodes[obj].type != HR_JSON_OBJECT)
        return -1;
    if (copy_string(d, hr_json_get(d, obj, "hash"), c->hash, sizeof c->hash) < 0)
        return -1;
    uint32_t q = hr_json_get(d, obj, "query");
    if (q != HR_JSON_NONE && d->nodes[q].type != HR_JSON_NULL &&
        copy_string(d, q, c->query, sizeof c->query) < 0)
        return -1;
    return 0;
}

/* OpenAI-style arguments: a string holding a JSON object. */
static int read_args_string(const hr_json_doc *d, uint32_t s, hr_ccr_call *c)
{
    hr_buf text = HR_BUF_INIT;
    int rc = -1;
    if (s != HR_JSON_NONE && hr_json_string(d, s, &text) == 0) {
        hr_json_doc inner = {0};
        hr_json_error err;
        if (hr_json_parse(&inner, text.data ? text.data : "", text.len, &LIMITS, &err) == 0) {
            rc = read_args_object(&inner, 0, c);
            hr_json_doc_free(&inner);
        }
    }
    hr_buf_free(&text);
    return rc;
}

static int add_call(hr_ccr_calls *calls, const hr_json_doc *d, uint32_t id, uint32_t args,
                    int args_are_string)
{
    if (calls->n == HR_CCR_MAX_CALLS)
        return -1;
    hr_ccr_call *c = &calls->call[calls->n];
    memset(c, 0, sizeof *c);
    if (copy_string(d, id, c->id, sizeof c->id) < 0)
        return -1; /* without an id the result cannot be matched to the call */
    c->args_ok = (args_are_string ? read_args_string(d, args, c) : read_args_object(d, args, c)) == 0;
    calls->n++;
    return 0;
}

static int find_chat(const hr_json_doc *d, hr_ccr_calls *calls)
{
    uint32_t choice = hr_json_index(d, hr_json_get(d, 0, "choices"), 0);
    if (choice == HR_JSON_NONE || hr_json_index(d, hr_json_get(d, 0, "choices"), 1) != HR_JSON_NONE)
        return 0; /* n > 1 choices: leave it to the client */
    uint32_t msg = hr_json_get(d, choice, "message");
    uint32_t tcs = msg != HR_JSON_NONE ? hr_json_get(d, msg, "tool_calls") : HR_JSON_NONE;
    if (tcs == HR_JSON_NONE || d->nodes[tcs].type != HR_JSON_ARRAY)
        return 0;
    for (uint32_t t = d->nodes[tcs].first_child; t != HR_JSON_NONE; t = d->nodes[t].next) {
        uint32_t fn = hr_json_get(d, t, "function");
        if (fn != HR_JSON_NONE && hr_json_string_eq(d, hr_json_get(d, fn, "name"), HR_CCR_TOOL_NAME)) {
            if (add_call(calls, d, hr_json_get(d, t, "id"), hr_json_get(d, fn, "arguments"), 1) < 0)
                return 0;
        } else
            calls->other++;
    }
    return 1;
}

static int find_anthropic(const hr_json_doc *d, hr_ccr_calls *calls)
{
    if (!hr_json_string_eq(d, hr_json_get(d, 0, "stop_reason"), "tool_use"))
        return 0;
    uint32_t content = hr_json_get(d, 0, "content");
    if (content == HR_JSON_NONE || d->nodes[content].type != HR_JSON_ARRAY)
        return 0;
    for (uint32_t b = d->nodes[content].first_child; b != HR_JSON_NONE; b = d->nodes[b].next) {
        if (!hr_json_string_eq(d, hr_json_get(d, b, "type"), "tool_use"))
            continue;
        if (hr_json_string_eq(d, hr_json_get(d, b, "name"), HR_CCR_TOOL_NAME)) {
            if (add_call(calls, d, hr_json_get(d, b, "id"), hr_json_get(d, b, "input"), 0) < 0)
                return 0;
        } else
            calls->other++;
    }
    return 1;
}

static int find_responses(const hr_json_doc *d, hr_ccr_calls *calls)
{
    uint32_t output = hr_json_get(d, 0, "output");
    if (output == HR_JSON_NONE || d->nodes[output].type != HR_JSON_ARRAY)
        return 0;
    for (uint32_t it = d->nodes[output].first_child; it != HR_JSON_NONE; it = d->nodes[it].next) {
        if (!hr_json_string_eq(d, hr_json_get(d, it, "type"), "function_call")) {
            if (!hr_json_string_eq(d, hr_json_get(d, it, "type"), "reasoning") &&
                !hr_json_string_eq(d, hr_json_get(d, it, "type"), "message"))
                calls->other++; /* built-in tools (web search, ...) end the turn too */
            continue;
        }
        if (hr_json_string_eq(d, hr_json_get(d, it, "name"), HR_CCR_TOOL_NAME)) {
            if (add_call(calls, d, hr_json_get(d, it, "call_id"), hr_json_get(d, it, "arguments"), 1) < 0)
                return 0;
        } else
            calls->other++;
    }
    return 1;
}

/* Gemini: candidates[0].content.parts[] with functionCall {name, args, id?}. Gemini call
 * ids are optional (the API matches results by name and order), so a call without one is
 * kept with an empty id and its result carries none. */
static int find_gemini(const hr_json_doc *d, hr_ccr_calls *calls)
{
    uint32_t cands = hr_json_get(d, 0, "candidates");
    uint32_t cand = hr_json_index(d, cands, 0);
    if (cand == HR_JSON_NONE || hr_json_index(d, cands, 1) != HR_JSON_NONE)
        return 0; /* several candidates: leave it to the client */
    uint32_t parts = hr_json_get(d, hr_json_get(d, cand, "content"), "parts");
    if (parts == HR_JSON_NONE || d->nodes[parts].type != HR_JSON_ARRAY)
        return 0;
    for (uint32_t p = d->nodes[parts].first_child; p != HR_JSON_NONE; p = d->nodes[p].next) {
        uint32_t fc = hr_json_get(d, p, "functionCall");
        if (fc == HR_JSON_NONE)
            continue;
        if (!hr_json_string_eq(d, hr_json_get(d, fc, "name"), HR_CCR_TOOL_NAME)) {
            calls->other++;
            continue;
        }
        if (calls->n == HR_CCR_MAX_CALLS)
            return 0;
        hr_ccr_call *c = &calls->call[calls->n++];
        memset(c, 0, sizeof *c);
        uint32_t id = hr_json_get(d, fc, "id");
        if (id != HR_JSON_NONE && copy_string(d, id, c->id, sizeof c->id) < 0)
            return 0;
        c->args_ok = read_args_object(d, hr_json_get(d, fc, "args"), c) == 0;
    }
    return 1;
}

int hr_ccr_find_calls(hr_ccr_api api, const char *response, size_t len, hr_ccr_calls *calls)
{
    memset(calls, 0, sizeof *calls);
    hr_json_doc d = {0};
    hr_json_error err;
    if (hr_json_parse(&d, response, len, &LIMITS, &err) != 0)
        return 0;
    int ok = 0;
    if (d.nodes[0].type == HR_JSON_OBJECT) {
        if (api == HR_CCR_API_ANTHROPIC)
            ok = find_anthropic(&d, calls);
        else if (api == HR_CCR_API_RESPONSES)
            ok = find_responses(&d, calls);
        else if (api == HR_CCR_API_GEMINI)
            ok = find_gemini(&d, calls);
        else
            ok = find_chat(&d, calls);
    }
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

static int write_str(hr_buf *out, const char *s) { return hr_json_write_string(out, s, strlen(s)); }

static int result_text(hr_buf *out, const hr_buf *r)
{
    return hr_json_write_string(out, r->data ? r->data : "", r->len);
}

/* Gemini: the candidate's content (role "model") as it came, then one user turn with a
 * functionResponse per call; the text goes in response.output, as Google's docs show. */
static int gemini_followup(const hr_json_doc *resp, const hr_ccr_calls *calls,
                           const hr_buf *results, hr_buf *ins)
{
    uint32_t cand = hr_json_index(resp, hr_json_get(resp, 0, "candidates"), 0);
    int rc = hr_json_write_raw(ins, resp, hr_json_get(resp, cand, "content"));
    rc |= hr_buf_puts(ins, ",{\"role\":\"user\",\"parts\":[");
    for (size_t i = 0; i < calls->n; i++) {
        rc |= hr_buf_puts(ins, i ? ",{\"functionResponse\":{" : "{\"functionResponse\":{");
        if (calls->call[i].id[0]) {
            rc |= hr_buf_puts(ins, "\"id\":");
            rc |= write_str(ins, calls->call[i].id);
            rc |= hr_buf_putc(ins, ',');
        }
        rc |= hr_buf_puts(ins, "\"name\":\"" HR_CCR_TOOL_NAME "\",\"response\":{\"output\":");
        rc |= result_text(ins, &results[i]);
        rc |= hr_buf_puts(ins, "}}}");
    }
    rc |= hr_buf_puts(ins, "]}");
    return rc ? -1 : 0;
}

/* The model's turn and the results, in the request's format, to append to the list. */
static int followup_items(hr_ccr_api api, const hr_json_doc *resp, const hr_ccr_calls *calls,
                          const hr_buf *results, hr_buf *ins)
{
    int rc = 0;
    if (api == HR_CCR_API_GEMINI)
        return gemini_followup(resp, calls, results, ins);
    if (api == HR_CCR_API_OPENAI_CHAT) {
        uint32_t msg = hr_json_get(resp, hr_json_index(resp, hr_json_get(resp, 0, "choices"), 0), "message");
        uint32_t content = hr_json_get(resp, msg, "content");
        rc |= hr_buf_puts(ins, "{\"role\":\"assistant\",\"content\":");
        rc |= content != HR_JSON_NONE ? hr_json_write_raw(ins, resp, content) : hr_buf_puts(ins, "null");
        rc |= hr_buf_puts(ins, ",\"tool_calls\":");
        rc |= hr_json_write_raw(ins, resp, hr_json_get(resp, msg, "tool_calls"));
        rc |= hr_buf_putc(ins, '}');
        for (size_t i = 0; i < calls->n; i++) {
            rc |= hr_buf_puts(ins, ",{\"role\":\"tool\",\"tool_call_id\":");
            rc |= write_str(ins, calls->call[i].id);
            rc |= hr_buf_puts(ins, ",\"content\":");
            rc |= result_text(ins, &results[i]);
            rc |= hr_buf_putc(ins, '}');
        }
    } else if (api == HR_CCR_API_ANTHROPIC) {
        rc |= hr_buf_puts(ins, "{\"role\":\"assistant\",\"content\":");
        rc |= hr_json_write_raw(ins, resp, hr_json_get(resp, 0, "content"));
        rc |= hr_buf_puts(ins, "},{\"role\":\"user\",\"content\":[");
        for (size_t i = 0; i < calls->n; i++) {
            rc |= hr_buf_puts(ins, i ? ",{\"type\":\"tool_result\",\"tool_use_id\":"
                                     : "{\"type\":\"tool_result\",\"tool_use_id\":");
            rc |= write_str(ins, calls->call[i].id);
            rc |= hr_buf_puts(ins, ",\"content\":");
            rc |= result_text(ins, &results[i]);
            rc |= hr_buf_putc(ins, '}');
        }
        rc |= hr_buf_puts(ins, "]}");
    } else {
        uint32_t output = hr_json_get(resp, 0, "output");
        int first = 1;
        for (uint32_t it = resp->nodes[output].first_child; it != HR_JSON_NONE; it = resp->nodes[it].next) {
            if (!first)
                rc |= hr_buf_putc(ins, ',');
            rc |= hr_json_write_raw(ins, resp, it);
            first = 0;
        }
        for (size_t i = 0; i < calls->n; i++) {
            rc |= hr_buf_puts(ins, first ? "" : ",");
            rc |= hr_buf_puts(ins, "{\"type\":\"function_call_output\",\"call_id\":");
            rc |= write_str(ins, calls->call[i].id);
            rc |= hr_buf_puts(ins, ",\"output\":");
            rc |= result_text(ins, &results[i]);
            rc |= hr_buf_putc(ins, '}');
            first = 0;
        }
    }
    return rc ? -1 : 0;
}

int hr_ccr_build_followup(hr_ccr_api api, const char *request, size_t req_len,
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
    uint32_t list = hr_json_get(&req, 0, api == HR_CCR_API_RESPONSES ? "input"
                                         : api == HR_CCR_API_GEMINI  ? "contents"
                                                                     : "messages");
    if (list == HR_JSON_NONE)
        goto done;
    hr_json_edit e;
    if (req.nodes[list].type == HR_JSON_ARRAY) {
        if (req.nodes[list].count && hr_buf_putc(&ins, ',') < 0)
            goto done;
        if (followup_items(api, &resp, calls, results, &ins) < 0)
            goto done;
        e = (hr_json_edit){req.nodes[list].end - 1, req.nodes[list].end - 1, NULL, 0};
    } else if (api == HR_CCR_API_RESPONSES && req.nodes[list].type == HR_JSON_STRING) {
        /* input given as one string: it becomes the first user message of a list */
        if (hr_buf_puts(&ins, "[{\"role\":\"user\",\"content\":") < 0 ||
            hr_json_write_raw(&ins, &req, list) < 0 || hr_buf_puts(&ins, "},") < 0 ||
            followup_items(api, &resp, calls, results, &ins) < 0 || hr_buf_putc(&ins, ']') < 0)
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

typedef struct usage_field {
    const char *key;
    size_t offset; /* into hr_ccr_usage */
} usage_field;

static const usage_field CHAT_FIELDS[] = {
    {"prompt_tokens", offsetof(hr_ccr_usage, input)},
    {"completion_tokens", offsetof(hr_ccr_usage, output)},
    {"total_tokens", offsetof(hr_ccr_usage, total)},
    {NULL, 0}};
static const usage_field ANTHROPIC_FIELDS[] = {
    {"input_tokens", offsetof(hr_ccr_usage, input)},
    {"output_tokens", offsetof(hr_ccr_usage, output)},
    {"cache_read_input_tokens", offsetof(hr_ccr_usage, cache_read)},
    {"cache_creation_input_tokens", offsetof(hr_ccr_usage, cache_creation)},
    {NULL, 0}};
static const usage_field RESPONSES_FIELDS[] = {
    {"input_tokens", offsetof(hr_ccr_usage, input)},
    {"output_tokens", offsetof(hr_ccr_usage, output)},
    {"total_tokens", offsetof(hr_ccr_usage, total)},
    {NULL, 0}};

static const usage_field GEMINI_FIELDS[] = {
    {"promptTokenCount", offsetof(hr_ccr_usage, input)},
    {"candidatesTokenCount", offsetof(hr_ccr_usage, output)},
    {"totalTokenCount", offsetof(hr_ccr_usage, total)},
    {"cachedContentTokenCount", offsetof(hr_ccr_usage, cache_read)},
    {NULL, 0}};

static const usage_field *fields_of(hr_ccr_api api)
{
    return api == HR_CCR_API_ANTHROPIC ? ANTHROPIC_FIELDS
           : api == HR_CCR_API_RESPONSES ? RESPONSES_FIELDS
           : api == HR_CCR_API_GEMINI    ? GEMINI_FIELDS
                                         : CHAT_FIELDS;
}

/* The object holding the usage numbers: "usage", Gemini's "usageMetadata". */
static uint32_t usage_node(hr_ccr_api api, const hr_json_doc *d)
{
    if (d->nodes[0].type != HR_JSON_OBJECT)
        return HR_JSON_NONE;
    return hr_json_get(d, 0, api == HR_CCR_API_GEMINI ? "usageMetadata" : "usage");
}

static long long *field_ptr(hr_ccr_usage *u, const usage_field *f)
{
    return (long long *)((char *)u + f->offset);
}

int hr_ccr_read_usage(hr_ccr_api api, const char *response, size_t len, hr_ccr_usage *acc)
{
    hr_json_doc d = {0};
    hr_json_error err;
    if (hr_json_parse(&d, response, len, &LIMITS, &err) != 0)
        return -1;
    uint32_t usage = usage_node(api, &d);
    for (const usage_field *f = fields_of(api); usage != HR_JSON_NONE && f->key; f++) {
        int64_t v;
        if (hr_json_int64(&d, hr_json_get(&d, usage, f->key), &v) == 0)
            *field_ptr(acc, f) += v;
    }
    hr_json_doc_free(&d);
    return 0;
}

int hr_ccr_merge_usage(hr_ccr_api api, const char *response, size_t len,
                       const hr_ccr_usage *earlier, hr_buf *out)
{
    hr_json_doc d = {0};
    hr_json_error err;
    if (hr_json_parse(&d, response, len, &LIMITS, &err) != 0)
        return -1;
    uint32_t usage = usage_node(api, &d);
    hr_json_edit edits[4];
    char nums[4][24];
    size_t n = 0;
    for (const usage_field *f = fields_of(api); usage != HR_JSON_NONE && f->key; f++) {
        uint32_t node = hr_json_get(&d, usage, f->key);
        int64_t v;
        if (hr_json_int64(&d, node, &v) != 0)
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

int hr_ccr_tool_loop(hr_ccr_api api, hr_ccr_store *store, const char *tenant,
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
