/* tool_stream.c: see tool_stream.h. The Anthropic stream is rebuilt block by block (text,
 * thinking with its signature, tool_use with its streamed input JSON), the OpenAI chat
 * stream as text plus tool calls by index, so that a turn that ends in headroom_retrieve
 * can be replayed to the model as a normal assistant message;
 * hr_ccr_find_calls and hr_ccr_build_followup then do the rest exactly as for buffered
 * responses. Events are re-emitted with their original data except the fields rewritten on
 * purpose: "index" of content block events after the first round and message_delta usage
 * (Anthropic); the chunk "id" after the first round and the usage chunk (OpenAI chat).
 */
#include "ccr/tool_stream.h"

#include "json/json.h"
#include "sys/budget.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCKS 64

typedef enum { B_NONE = 0, B_TEXT, B_THINKING, B_TOOL_USE, B_OTHER } block_kind;

typedef struct block {
    block_kind kind;
    hr_buf text;      /* text, thinking, or the tool input's partial JSON */
    hr_buf signature; /* thinking */
    hr_buf start;     /* raw content_block of content_block_start (other kinds, tool ids) */
} block;

/* Each API whose streamed headroom_retrieve turns can be resolved: its event rewriter and
 * how a held turn is replayed as the buffered response its row's find_calls reads. The
 * rewriters keep state in hr_ccr_stream (block texts, ids, numbering), which is CCR's, so
 * they live here rather than in the API rows; an API missing from GRAMMARS (below) is
 * relayed plainly. */
typedef struct grammar {
    const hr_api *api;
    int (*event)(hr_ccr_stream *s, const char *event, const char *data, size_t len, hr_buf *out);
    int (*synthetic_response)(const hr_ccr_stream *s, hr_buf *out);
} grammar;

struct hr_ccr_stream {
    const hr_api *api;
    const grammar *g;       /* the API's event rewriter (GRAMMARS below) */
    hr_buf request;         /* the request of the current round */
    int round;
    int holding;            /* a headroom_retrieve block started: hold everything */
    int untrackable;        /* something we cannot replay: never resolve */
    unsigned offset;        /* index shift of this round's blocks for the client */
    unsigned client_blocks; /* blocks the client has seen started (all rounds) */
    block blocks[MAX_BLOCKS];
    unsigned n_blocks;
    char stop_reason[32];
    long long out_prev, in_prev;     /* usage of finished rounds */
    long long out_round, in_round;   /* usage of this round */
    hr_buf held;
    /* OpenAI chat: the assistant text and the tool calls (by tool_calls index) */
    hr_buf chat_text;
    int chat_has_text;
    char chat_id[128];               /* first round's chunk id, kept on continuations */
    /* Responses: the first response id, what the client has seen, the round's final object */
    char resp_id[128];
    long long seq_base, seq_next;    /* sequence_number shift; next number the client expects */
    unsigned items_base, items_seen; /* output_index shift; items the client has seen added */
    hr_buf prev_items, round_items;  /* client-visible output items (JSON, comma-joined) */
    hr_buf completed;                /* the round's response.completed "response" object */
    /* Gemini: the round's model parts as they came (JSON, comma-joined) */
    hr_buf gem_parts;
    size_t limit;                    /* most bytes kept to replay a turn; 0 = no cap */
    hr_budget_lease lease;           /* those bytes, on the process in-flight budget */
    const char *refusal;             /* why a held turn was refused */
};

static const hr_json_limits LIMITS = HR_JSON_LIMITS_DEFAULT;

/* Parses an event's data as a JSON object. 1 and d filled (caller frees) when it is one;
 * 0 otherwise (d empty): the caller passes such events on as they came. */
static int parse_object(const char *data, size_t len, hr_json_doc *d)
{
    hr_json_error err;
    if (hr_json_parse(d, data, len, &LIMITS, &err) == 0 && d->nodes[0].type == HR_JSON_OBJECT)
        return 1;
    hr_json_doc_free(d);
    return 0;
}

static const grammar *grammar_of(const hr_api *api);

hr_ccr_stream *hr_ccr_stream_new(const hr_api *api, const char *request, size_t len)
{
    const grammar *g = grammar_of(api);
    hr_ccr_stream *s = g ? calloc(1, sizeof *s) : NULL;
    if (!s)
        return NULL;
    s->api = api;
    s->g = g;
    s->lease = (hr_budget_lease)HR_BUDGET_LEASE_INIT(hr_budget_process());
    if (hr_buf_append(&s->request, request, len) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void clear_blocks(hr_ccr_stream *s)
{
    for (unsigned i = 0; i < MAX_BLOCKS; i++) {
        hr_buf_free(&s->blocks[i].text);
        hr_buf_free(&s->blocks[i].signature);
        hr_buf_free(&s->blocks[i].start);
        s->blocks[i].kind = B_NONE;
    }
    s->n_blocks = 0;
    hr_buf_reset(&s->chat_text);
    s->chat_has_text = 0;
    hr_buf_reset(&s->gem_parts);
}

void hr_ccr_stream_free(hr_ccr_stream *s)
{
    if (!s)
        return;
    clear_blocks(s);
    hr_budget_lease_end(&s->lease);
    hr_buf_free(&s->request);
    hr_buf_free(&s->held);
    hr_buf_free(&s->chat_text);
    hr_buf_free(&s->prev_items);
    hr_buf_free(&s->round_items);
    hr_buf_free(&s->completed);
    hr_buf_free(&s->gem_parts);
    free(s);
}

static int write_event(hr_buf *out, const char *event, const char *data, size_t len)
{
    int rc = 0;
    if (event && *event)
        rc |= hr_buf_printf(out, "event: %s\n", event);
    rc |= hr_buf_puts(out, "data: ");
    rc |= hr_buf_append(out, data, len);
    rc |= hr_buf_puts(out, "\n\n");
    return rc ? -1 : 0;
}

static int emit(hr_ccr_stream *s, hr_buf *out, const char *event, const char *data, size_t len)
{
    return write_event(s->holding ? &s->held : out, event, data, len);
}

/* data with its top-level "index" shifted by the round's offset. */
static int shifted(hr_ccr_stream *s, const hr_json_doc *d, const char *data, size_t len,
                   hr_buf *tmp)
{
    uint32_t idx = hr_json_get(d, 0, "index");
    if (s->offset == 0 || idx == HR_JSON_NONE)
        return hr_buf_append(tmp, data, len);
    int64_t v;
    if (hr_json_int64(d, idx, &v) != 0)
        return hr_buf_append(tmp, data, len);
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", (long long)v + s->offset);
    hr_json_edit e = {d->nodes[idx].start, d->nodes[idx].end, num, (size_t)n};
    return hr_json_splice(data, len, &e, 1, tmp);
}

static block *block_at(hr_ccr_stream *s, const hr_json_doc *d)
{
    int64_t i;
    if (hr_json_int64(d, hr_json_get(d, 0, "index"), &i) != 0 || i < 0 || i >= MAX_BLOCKS) {
        s->untrackable = 1;
        return NULL;
    }
    if ((unsigned)i + 1 > s->n_blocks)
        s->n_blocks = (unsigned)i + 1;
    return &s->blocks[i];
}

static void on_block_start(hr_ccr_stream *s, const hr_json_doc *d)
{
    block *b = block_at(s, d);
    uint32_t cb = hr_json_get(d, 0, "content_block");
    if (!b || cb == HR_JSON_NONE)
        return;
    uint32_t type = hr_json_get(d, cb, "type");
    hr_buf_reset(&b->start);
    hr_json_write_raw(&b->start, d, cb);
    if (hr_json_string_eq(d, type, "text")) {
        b->kind = B_TEXT;
        hr_json_string(d, hr_json_get(d, cb, "text"), &b->text);
    } else if (hr_json_string_eq(d, type, "thinking")) {
        b->kind = B_THINKING;
        hr_json_string(d, hr_json_get(d, cb, "thinking"), &b->text);
    } else if (hr_json_string_eq(d, type, "tool_use")) {
        b->kind = B_TOOL_USE;
        if (hr_json_string_eq(d, hr_json_get(d, cb, "name"), HR_CCR_TOOL_NAME))
            s->holding = 1;
    } else
        b->kind = B_OTHER; /* redacted_thinking, server tools: replayed from start */
}

static void on_block_delta(hr_ccr_stream *s, const hr_json_doc *d)
{
    block *b = block_at(s, d);
    uint32_t delta = hr_json_get(d, 0, "delta");
    if (!b || delta == HR_JSON_NONE)
        return;
    uint32_t type = hr_json_get(d, delta, "type");
    if (hr_json_string_eq(d, type, "text_delta"))
        hr_json_string(d, hr_json_get(d, delta, "text"), &b->text);
    else if (hr_json_string_eq(d, type, "input_json_delta") && b->kind == B_TOOL_USE)
        hr_json_string(d, hr_json_get(d, delta, "partial_json"), &b->text);
    else if (hr_json_string_eq(d, type, "thinking_delta"))
        hr_json_string(d, hr_json_get(d, delta, "thinking"), &b->text);
    else if (hr_json_string_eq(d, type, "signature_delta"))
        hr_json_string(d, hr_json_get(d, delta, "signature"), &b->signature);
    else
        s->untrackable = 1; /* a delta we could not replay (server tool input, citations) */
}

static void read_usage(const hr_json_doc *d, uint32_t usage, long long *in, long long *out)
{
    int64_t v;
    if (usage == HR_JSON_NONE)
        return;
    if (hr_json_int64(d, hr_json_get(d, usage, "input_tokens"), &v) == 0)
        *in = v;
    if (hr_json_int64(d, hr_json_get(d, usage, "output_tokens"), &v) == 0)
        *out = v;
}

/* message_delta with usage counting earlier rounds too. */
static int summed_delta(hr_ccr_stream *s, const hr_json_doc *d, const char *data, size_t len,
                        hr_buf *tmp)
{
    uint32_t usage = hr_json_get(d, 0, "usage");
    hr_json_edit e[2];
    char nums[2][24];
    size_t n = 0;
    static const char *const keys[2] = {"output_tokens", "input_tokens"};
    long long add[2] = {s->out_prev, s->in_prev};
    for (int k = 0; k < 2 && usage != HR_JSON_NONE; k++) {
        uint32_t node = hr_json_get(d, usage, keys[k]);
        int64_t v;
        if (hr_json_int64(d, node, &v) != 0)
            continue;
        int w = snprintf(nums[n], sizeof nums[n], "%lld", (long long)v + add[k]);
        e[n] = (hr_json_edit){d->nodes[node].start, d->nodes[node].end, nums[n], (size_t)w};
        n++;
    }
    return hr_json_splice(data, len, e, n, tmp);
}

static int anthropic_event(hr_ccr_stream *s, const char *event, const char *data, size_t len,
                           hr_buf *out)
{
    hr_json_doc d;
    if (!parse_object(data, len, &d))
        return emit(s, out, event, data, len);
    uint32_t type = hr_json_get(&d, 0, "type");
    hr_buf tmp = HR_BUF_INIT;
    int rc = 0;
    if (hr_json_string_eq(&d, type, "message_start")) {
        uint32_t msg = hr_json_get(&d, 0, "message");
        read_usage(&d, msg != HR_JSON_NONE ? hr_json_get(&d, msg, "usage") : HR_JSON_NONE,
                   &s->in_round, &s->out_round);
        if (s->round == 0)
            rc = emit(s, out, event, data, len); /* later rounds continue the same message */
    } else if (hr_json_string_eq(&d, type, "content_block_start") ||
               hr_json_string_eq(&d, type, "content_block_delta") ||
               hr_json_string_eq(&d, type, "content_block_stop")) {
        if (hr_json_string_eq(&d, type, "content_block_start"))
            on_block_start(s, &d);
        else if (hr_json_string_eq(&d, type, "content_block_delta"))
            on_block_delta(s, &d);
        rc = shifted(s, &d, data, len, &tmp);
        if (rc == 0)
            rc = emit(s, out, event, tmp.data, tmp.len);
        if (!s->holding && hr_json_string_eq(&d, type, "content_block_start"))
            s->client_blocks++;
    } else if (hr_json_string_eq(&d, type, "message_delta")) {
        uint32_t delta = hr_json_get(&d, 0, "delta");
        hr_buf sr = HR_BUF_INIT;
        if (delta != HR_JSON_NONE &&
            hr_json_string(&d, hr_json_get(&d, delta, "stop_reason"), &sr) == 0 && sr.len < sizeof s->stop_reason)
            memcpy(s->stop_reason, sr.data ? sr.data : "", sr.len + 1);
        hr_buf_free(&sr);
        read_usage(&d, hr_json_get(&d, 0, "usage"), &s->in_round, &s->out_round);
        rc = s->round ? summed_delta(s, &d, data, len, &tmp) : hr_buf_append(&tmp, data, len);
        if (rc == 0)
            rc = emit(s, out, event, tmp.data, tmp.len);
    } else if (hr_json_string_eq(&d, type, "ping"))
        rc = write_event(out, event, data, len); /* keep-alive: never held */
    else
        rc = emit(s, out, event, data, len); /* message_stop, error, unknown */
    hr_buf_free(&tmp);
    hr_json_doc_free(&d);
    return rc;
}

/* ---- OpenAI chat completions chunks ------------------------------------------------ */

/* Tool calls reuse the block slots by tool_calls index: start = id, signature = function
 * name, text = the arguments as streamed. */

/* A stream's usage object (keys: input, output, total; cumulative within a round): on
 * continuation rounds each number gets the earlier rounds added (edits into e, their text
 * in nums); the round's input and output are remembered. Returns the edits written. */
static size_t summed_usage(hr_ccr_stream *s, const hr_json_doc *d, uint32_t usage,
                           const char *const keys[3], hr_json_edit *e, char nums[][24])
{
    if (!hr_json_is(d, usage, HR_JSON_OBJECT))
        return 0;
    long long add[3] = {s->in_prev, s->out_prev, s->in_prev + s->out_prev};
    int64_t v[3] = {0, 0, 0};
    size_t n = 0;
    for (int k = 0; k < 3; k++) {
        uint32_t node = hr_json_get(d, usage, keys[k]);
        if (hr_json_int64(d, node, &v[k]) != 0 || !s->round)
            continue;
        int w = snprintf(nums[n], 24, "%lld", (long long)v[k] + add[k]);
        e[n] = (hr_json_edit){d->nodes[node].start, d->nodes[node].end, nums[n], (size_t)w};
        n++;
    }
    s->in_round = v[0];
    s->out_round = v[1];
    return n;
}

static int chat_event(hr_ccr_stream *s, const char *event, const char *data, size_t len,
                      hr_buf *out)
{
    hr_json_doc d;
    if (!parse_object(data, len, &d))
        return emit(s, out, event, data, len); /* [DONE] and anything unexpected */
    uint32_t id = hr_json_get(&d, 0, "id");
    if (s->round == 0 && !s->chat_id[0] && id != HR_JSON_NONE) {
        hr_buf v = HR_BUF_INIT;
        if (hr_json_string(&d, id, &v) == 0 && v.len < sizeof s->chat_id)
            memcpy(s->chat_id, v.data ? v.data : "", v.len + 1);
        hr_buf_free(&v);
    }
    uint32_t choices = hr_json_get(&d, 0, "choices");
    if (choices != HR_JSON_NONE && d.nodes[choices].count > 1)
        s->untrackable = 1; /* n > 1: not one turn to replay */
    uint32_t choice = hr_json_index(&d, choices, 0);
    uint32_t delta = choice != HR_JSON_NONE ? hr_json_get(&d, choice, "delta") : HR_JSON_NONE;
    if (delta != HR_JSON_NONE) {
        uint32_t content = hr_json_get(&d, delta, "content");
        if (hr_json_is(&d, content, HR_JSON_STRING)) {
            hr_json_string(&d, content, &s->chat_text);
            s->chat_has_text = 1;
        }
        uint32_t tcs = hr_json_get(&d, delta, "tool_calls");
        for (uint32_t tc = tcs != HR_JSON_NONE ? d.nodes[tcs].first_child : HR_JSON_NONE;
             tc != HR_JSON_NONE; tc = d.nodes[tc].next) {
            int64_t i;
            if (hr_json_int64(&d, hr_json_get(&d, tc, "index"), &i) != 0 || i < 0 || i >= MAX_BLOCKS) {
                s->untrackable = 1;
                continue;
            }
            block *b = &s->blocks[i];
            if ((unsigned)i + 1 > s->n_blocks)
                s->n_blocks = (unsigned)i + 1;
            b->kind = B_TOOL_USE;
            uint32_t fn = hr_json_get(&d, tc, "function");
            uint32_t tid = hr_json_get(&d, tc, "id");
            if (hr_json_is(&d, tid, HR_JSON_STRING))
                hr_json_string(&d, tid, &b->start);
            uint32_t name = fn != HR_JSON_NONE ? hr_json_get(&d, fn, "name") : HR_JSON_NONE;
            if (hr_json_is(&d, name, HR_JSON_STRING)) {
                hr_json_string(&d, name, &b->signature);
                if (hr_json_string_eq(&d, name, HR_CCR_TOOL_NAME))
                    s->holding = 1;
            }
            uint32_t args = fn != HR_JSON_NONE ? hr_json_get(&d, fn, "arguments") : HR_JSON_NONE;
            if (hr_json_is(&d, args, HR_JSON_STRING))
                hr_json_string(&d, args, &b->text);
        }
        uint32_t fr = hr_json_get(&d, choice, "finish_reason");
        hr_buf v = HR_BUF_INIT;
        if (hr_json_is(&d, fr, HR_JSON_STRING) &&
            hr_json_string(&d, fr, &v) == 0 && v.len < sizeof s->stop_reason)
            memcpy(s->stop_reason, v.data ? v.data : "", v.len + 1);
        hr_buf_free(&v);
    }
    /* Continuations keep the first round's id; the usage chunk counts every round. */
    hr_json_edit e[4];
    char nums[3][24];
    size_t n = 0;
    hr_buf quoted_id = HR_BUF_INIT;
    if (s->round && id != HR_JSON_NONE && s->chat_id[0] &&
        hr_json_write_string(&quoted_id, s->chat_id, strlen(s->chat_id)) == 0)
        e[n++] = (hr_json_edit){d.nodes[id].start, d.nodes[id].end, quoted_id.data, quoted_id.len};
    static const char *const keys[3] = {"prompt_tokens", "completion_tokens", "total_tokens"};
    n += summed_usage(s, &d, hr_json_get(&d, 0, "usage"), keys, e + n, nums);
    hr_buf tmp = HR_BUF_INIT;
    int rc = hr_json_splice(data, len, e, n, &tmp);
    if (rc == 0)
        rc = emit(s, out, event, tmp.data, tmp.len);
    hr_buf_free(&tmp);
    hr_buf_free(&quoted_id);
    hr_json_doc_free(&d);
    return rc;
}

/* ---- OpenAI Responses events ------------------------------------------------------ */

static int append_item(hr_buf *list, const hr_json_doc *d, uint32_t item)
{
    if (list->len && hr_buf_putc(list, ',') < 0)
        return -1;
    return hr_json_write_raw(list, d, item);
}

/* response.completed of a continuation: the first response's id, every item the client has
 * seen plus this round's, usage over all rounds. */
static int continued_response(hr_ccr_stream *s, const hr_json_doc *d, uint32_t resp,
                              hr_json_edit *e, size_t *n, hr_buf *id_buf, hr_buf *items,
                              char nums[3][24])
{
    uint32_t id = hr_json_get(d, resp, "id");
    if (id != HR_JSON_NONE && s->resp_id[0]) {
        if (hr_json_write_string(id_buf, s->resp_id, strlen(s->resp_id)) < 0)
            return -1;
        e[(*n)++] = (hr_json_edit){d->nodes[id].start, d->nodes[id].end, id_buf->data, id_buf->len};
    }
    uint32_t output = hr_json_get(d, resp, "output");
    if (hr_json_is(d, output, HR_JSON_ARRAY)) {
        int rc = hr_buf_putc(items, '[');
        rc |= hr_buf_append(items, s->prev_items.data ? s->prev_items.data : "", s->prev_items.len);
        HR_JSON_FOREACH(d, output, it) {
            if (s->prev_items.len || it != d->nodes[output].first_child)
                rc |= hr_buf_putc(items, ',');
            rc |= hr_json_write_raw(items, d, it);
        }
        rc |= hr_buf_putc(items, ']');
        if (rc)
            return -1;
        e[(*n)++] = (hr_json_edit){d->nodes[output].start, d->nodes[output].end, items->data, items->len};
    }
    uint32_t usage = hr_json_get(d, resp, "usage");
    static const char *const keys[3] = {"input_tokens", "output_tokens", "total_tokens"};
    long long add[3] = {s->in_prev, s->out_prev, s->in_prev + s->out_prev};
    for (int k = 0; k < 3 && usage != HR_JSON_NONE; k++) {
        uint32_t node = hr_json_get(d, usage, keys[k]);
        int64_t v;
        if (hr_json_int64(d, node, &v) != 0)
            continue;
        int w = snprintf(nums[k], sizeof nums[k], "%lld", (long long)v + add[k]);
        e[(*n)++] = (hr_json_edit){d->nodes[node].start, d->nodes[node].end, nums[k], (size_t)w};
    }
    return 0;
}

static void copy_id(const hr_json_doc *d, uint32_t node, char *out, size_t cap)
{
    hr_buf v = HR_BUF_INIT;
    if (node != HR_JSON_NONE && hr_json_string(d, node, &v) == 0 && v.len < cap)
        memcpy(out, v.data ? v.data : "", v.len + 1);
    hr_buf_free(&v);
}

static int responses_event(hr_ccr_stream *s, const char *event, const char *data, size_t len,
                           hr_buf *out)
{
    hr_json_doc d;
    if (!parse_object(data, len, &d))
        return emit(s, out, event, data, len);
    uint32_t type = hr_json_get(&d, 0, "type");
    uint32_t resp = hr_json_get(&d, 0, "response");
    int rc = 0;
    if (s->round && (hr_json_string_eq(&d, type, "response.created") ||
                     hr_json_string_eq(&d, type, "response.in_progress"))) {
        hr_json_doc_free(&d); /* the client's response is already under way */
        return 0;
    }
    if (s->round == 0 && hr_json_string_eq(&d, type, "response.created") && resp != HR_JSON_NONE)
        copy_id(&d, hr_json_get(&d, resp, "id"), s->resp_id, sizeof s->resp_id);
    uint32_t item = hr_json_get(&d, 0, "item");
    int added = hr_json_string_eq(&d, type, "response.output_item.added");
    if (added && item != HR_JSON_NONE &&
        hr_json_string_eq(&d, hr_json_get(&d, item, "type"), "function_call") &&
        hr_json_string_eq(&d, hr_json_get(&d, item, "name"), HR_CCR_TOOL_NAME))
        s->holding = 1;
    if (!s->holding && hr_json_string_eq(&d, type, "response.output_item.done") && item != HR_JSON_NONE)
        rc |= append_item(&s->round_items, &d, item);
    int completed = hr_json_string_eq(&d, type, "response.completed") ||
                    hr_json_string_eq(&d, type, "response.incomplete");
    if (completed && resp != HR_JSON_NONE) {
        hr_buf_reset(&s->completed);
        rc |= hr_json_write_raw(&s->completed, &d, resp);
        read_usage(&d, hr_json_get(&d, resp, "usage"), &s->in_round, &s->out_round);
    }
    /* Edits: sequence_number and output_index continue the client's numbering. */
    hr_json_edit e[8];
    char nums[5][24];
    size_t n = 0;
    hr_buf id_buf = HR_BUF_INIT, items = HR_BUF_INIT;
    uint32_t seq = hr_json_get(&d, 0, "sequence_number");
    int64_t v;
    if (seq != HR_JSON_NONE && hr_json_int64(&d, seq, &v) == 0) {
        long long shifted_seq = (long long)v + s->seq_base;
        if (s->round) {
            int w = snprintf(nums[3], sizeof nums[3], "%lld", shifted_seq);
            e[n++] = (hr_json_edit){d.nodes[seq].start, d.nodes[seq].end, nums[3], (size_t)w};
        }
        if (!s->holding && shifted_seq + 1 > s->seq_next)
            s->seq_next = shifted_seq + 1;
    }
    uint32_t oi = hr_json_get(&d, 0, "output_index");
    if (s->round && oi != HR_JSON_NONE && hr_json_int64(&d, oi, &v) == 0) {
        int w = snprintf(nums[4], sizeof nums[4], "%lld", (long long)v + s->items_base);
        e[n++] = (hr_json_edit){d.nodes[oi].start, d.nodes[oi].end, nums[4], (size_t)w};
    }
    if (s->round && completed && resp != HR_JSON_NONE)
        rc |= continued_response(s, &d, resp, e, &n, &id_buf, &items, nums);
    if (added && !s->holding)
        s->items_seen++;
    hr_buf tmp = HR_BUF_INIT;
    if (rc == 0)
        rc = hr_json_splice(data, len, e, n, &tmp);
    if (rc == 0)
        rc = emit(s, out, event, tmp.data, tmp.len);
    hr_buf_free(&tmp);
    hr_buf_free(&id_buf);
    hr_buf_free(&items);
    hr_json_doc_free(&d);
    return rc;
}

/* ---- Gemini events ------------------------------------------------------------------ */

/* streamGenerateContent?alt=sse: every event is a whole GenerateContentResponse chunk
 * (no event names, no indices): the parts of candidates[0] are kept to replay the turn,
 * a functionCall of headroom_retrieve starts holding, and on continuation rounds the
 * cumulative usageMetadata counts get the earlier rounds added. */
static int gemini_event(hr_ccr_stream *s, const char *event, const char *data, size_t len,
                        hr_buf *out)
{
    hr_json_doc d;
    if (!parse_object(data, len, &d))
        return emit(s, out, event, data, len);
    uint32_t cands = hr_json_get(&d, 0, "candidates");
    if (cands != HR_JSON_NONE && d.nodes[cands].count > 1)
        s->untrackable = 1; /* several candidates: not one turn to replay */
    uint32_t parts = hr_json_get(&d, hr_json_get(&d, hr_json_index(&d, cands, 0), "content"), "parts");
    for (uint32_t p = parts != HR_JSON_NONE ? d.nodes[parts].first_child : HR_JSON_NONE;
         p != HR_JSON_NONE; p = d.nodes[p].next) {
        if ((s->gem_parts.len && hr_buf_putc(&s->gem_parts, ',') < 0) ||
            hr_json_write_raw(&s->gem_parts, &d, p) < 0)
            s->untrackable = 1;
        uint32_t fc = hr_json_get(&d, p, "functionCall");
        if (fc != HR_JSON_NONE && hr_json_string_eq(&d, hr_json_get(&d, fc, "name"), HR_CCR_TOOL_NAME))
            s->holding = 1;
    }
    hr_json_edit e[3];
    char nums[3][24];
    static const char *const keys[3] = {"promptTokenCount", "candidatesTokenCount", "totalTokenCount"};
    size_t n = summed_usage(s, &d, hr_json_get(&d, 0, "usageMetadata"), keys, e, nums);
    hr_buf tmp = HR_BUF_INIT;
    int rc = hr_json_splice(data, len, e, n, &tmp);
    if (rc == 0)
        rc = emit(s, out, event, tmp.data, tmp.len);
    hr_buf_free(&tmp);
    hr_json_doc_free(&d);
    return rc;
}

void hr_ccr_stream_set_limit(hr_ccr_stream *s, size_t max_bytes) { s->limit = max_bytes; }
const char *hr_ccr_stream_refusal(const hr_ccr_stream *s) { return s->refusal ? s->refusal : ""; }

/* Bytes kept to replay the current turn. */
static size_t kept_bytes(const hr_ccr_stream *s)
{
    size_t n = s->held.cap + s->chat_text.cap + s->round_items.cap + s->completed.cap +
               s->gem_parts.cap;
    for (unsigned i = 0; i < s->n_blocks; i++)
        n += s->blocks[i].text.cap + s->blocks[i].signature.cap + s->blocks[i].start.cap;
    return n;
}

/* Drops the held events: what the client must never see. */
static void drop_held(hr_ccr_stream *s, const char *why)
{
    hr_buf_free(&s->held);
    s->holding = 0;
    s->refusal = why;
}

/* Past the cap, or past what the process in-flight budget (sys/budget.h) can hold: an
 * ordinary turn stops being tracked (its events already went out), a held headroom_retrieve
 * turn is refused. The kept bytes are on the budget because every stream offered the tool
 * keeps its turn: without it N concurrent streams would hold N x --max-answer-bytes. */
static int enforce_limit(hr_ccr_stream *s)
{
    size_t kept = kept_bytes(s);
    int over = s->limit && kept > s->limit;
    if (!over && hr_budget_lease_cover(&s->lease, kept) == 0)
        return 0;
    int rc = 0;
    clear_blocks(s);
    hr_buf_free(&s->chat_text); /* clear_blocks keeps their memory for the next round */
    hr_buf_free(&s->gem_parts);
    if (s->holding) {
        drop_held(s, over ? "the model's headroom_retrieve turn is larger than --max-answer-bytes"
                          : "the model's headroom_retrieve turn does not fit the proxy's "
                            "in-flight budget (--max-inflight-body-mb)");
        rc = -2;
    } else {
        hr_buf_free(&s->round_items);
        hr_buf_free(&s->completed);
    }
    s->untrackable = 1;
    hr_budget_lease_end(&s->lease); /* what is left is small: held again as it stands */
    (void)hr_budget_lease_cover(&s->lease, kept_bytes(s));
    return rc;
}

int hr_ccr_stream_event(hr_ccr_stream *s, const char *event, const char *data, size_t len,
                        hr_buf *out)
{
    int rc = s->g->event(s, event, data, len, out);
    return rc != 0 ? rc : enforce_limit(s);
}

/* The round's turn as a non-streaming chat completion, for find_calls/build_followup. */
static int synthetic_chat_response(const hr_ccr_stream *s, hr_buf *out)
{
    int rc = hr_buf_puts(out, "{\"choices\":[{\"index\":0,\"finish_reason\":");
    rc |= hr_json_write_string(out, s->stop_reason, strlen(s->stop_reason));
    rc |= hr_buf_puts(out, ",\"message\":{\"role\":\"assistant\",\"content\":");
    if (s->chat_has_text)
        rc |= hr_json_write_string(out, s->chat_text.data ? s->chat_text.data : "", s->chat_text.len);
    else
        rc |= hr_buf_puts(out, "null");
    rc |= hr_buf_puts(out, ",\"tool_calls\":[");
    for (unsigned i = 0; i < s->n_blocks; i++) {
        const block *b = &s->blocks[i];
        if (b->kind != B_TOOL_USE)
            return -1;
        rc |= hr_buf_puts(out, i ? ",{\"id\":" : "{\"id\":");
        rc |= hr_json_write_string(out, b->start.data ? b->start.data : "", b->start.len);
        rc |= hr_buf_puts(out, ",\"type\":\"function\",\"function\":{\"name\":");
        rc |= hr_json_write_string(out, b->signature.data ? b->signature.data : "", b->signature.len);
        rc |= hr_buf_puts(out, ",\"arguments\":");
        rc |= hr_json_write_string(out, b->text.data ? b->text.data : "", b->text.len);
        rc |= hr_buf_puts(out, "}}");
    }
    rc |= hr_buf_puts(out, "]}}]}");
    return rc ? -1 : 0;
}

static int json_object_text(const char *t, size_t len)
{
    hr_json_doc d;
    int ok = len && parse_object(t, len, &d);
    if (ok)
        hr_json_doc_free(&d);
    return ok;
}

/* Responses: response.completed carries the whole turn. */
static int synthetic_responses_response(const hr_ccr_stream *s, hr_buf *out)
{
    return s->completed.len ? hr_buf_append(out, s->completed.data, s->completed.len) : -1;
}

/* The round's turn as a non-streaming Messages response, for find_calls/build_followup. */
static int synthetic_anthropic_response(const hr_ccr_stream *s, hr_buf *out)
{
    int rc = hr_buf_puts(out, "{\"type\":\"message\",\"role\":\"assistant\",\"stop_reason\":");
    rc |= hr_json_write_string(out, s->stop_reason, strlen(s->stop_reason));
    rc |= hr_buf_puts(out, ",\"content\":[");
    for (unsigned i = 0; i < s->n_blocks; i++) {
        const block *b = &s->blocks[i];
        const char *t = b->text.data ? b->text.data : "";
        if (i)
            rc |= hr_buf_putc(out, ',');
        switch (b->kind) {
        case B_TEXT:
            rc |= hr_buf_puts(out, "{\"type\":\"text\",\"text\":");
            rc |= hr_json_write_string(out, t, b->text.len);
            rc |= hr_buf_putc(out, '}');
            break;
        case B_THINKING:
            rc |= hr_buf_puts(out, "{\"type\":\"thinking\",\"thinking\":");
            rc |= hr_json_write_string(out, t, b->text.len);
            rc |= hr_buf_puts(out, ",\"signature\":");
            rc |= hr_json_write_string(out, b->signature.data ? b->signature.data : "", b->signature.len);
            rc |= hr_buf_putc(out, '}');
            break;
        case B_TOOL_USE: {
            /* content_block_start carries id and name with "input":{}; the input streamed. */
            hr_json_doc d = {0};
            hr_json_error err;
            if (hr_json_parse(&d, b->start.data ? b->start.data : "", b->start.len, &LIMITS, &err) != 0)
                return -1;
            rc |= hr_buf_puts(out, "{\"type\":\"tool_use\",\"id\":");
            rc |= hr_json_write_raw(out, &d, hr_json_get(&d, 0, "id"));
            rc |= hr_buf_puts(out, ",\"name\":");
            rc |= hr_json_write_raw(out, &d, hr_json_get(&d, 0, "name"));
            rc |= hr_buf_puts(out, ",\"input\":");
            /* Streamed input that is not a JSON object is replayed as {}: the call is then
             * answered with an error result the model can act on, and the replayed turn
             * stays valid JSON. */
            rc |= json_object_text(t, b->text.len) ? hr_buf_append(out, t, b->text.len)
                                                   : hr_buf_puts(out, "{}");
            rc |= hr_buf_putc(out, '}');
            hr_json_doc_free(&d);
            break;
        }
        case B_OTHER:
            rc |= hr_buf_append(out, b->start.data ? b->start.data : "{}", b->start.len);
            break;
        default:
            return -1; /* a gap in the indices */
        }
    }
    rc |= hr_buf_puts(out, "]}");
    return rc ? -1 : 0;
}

/* Gemini: the parts as they came, as one candidate. */
static int synthetic_gemini_response(const hr_ccr_stream *s, hr_buf *out)
{
    int rc = hr_buf_puts(out, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[");
    rc |= hr_buf_append(out, s->gem_parts.data ? s->gem_parts.data : "", s->gem_parts.len);
    rc |= hr_buf_puts(out, "]}}]}");
    return rc ? -1 : 0;
}

/* ---- the stream grammars ------------------------------------------------------------ */

static const grammar GRAMMARS[] = {
    {&hr_api_anthropic_messages, anthropic_event, synthetic_anthropic_response},
    {&hr_api_openai_chat, chat_event, synthetic_chat_response},
    {&hr_api_openai_responses, responses_event, synthetic_responses_response},
    {&hr_api_codex_responses, responses_event, synthetic_responses_response},
    {&hr_api_vertex_anthropic, anthropic_event, synthetic_anthropic_response},
    {&hr_api_azure_chat, chat_event, synthetic_chat_response},
    {&hr_api_azure_responses, responses_event, synthetic_responses_response},
    {&hr_api_gemini, gemini_event, synthetic_gemini_response},
    {&hr_api_vertex_gemini, gemini_event, synthetic_gemini_response},
};

static const grammar *grammar_of(const hr_api *api)
{
    for (size_t i = 0; i < sizeof GRAMMARS / sizeof GRAMMARS[0]; i++)
        if (GRAMMARS[i].api == api)
            return &GRAMMARS[i];
    return NULL;
}

int hr_ccr_stream_end(hr_ccr_stream *s, hr_ccr_store *store, const char *tenant,
                      hr_buf *followup, hr_buf *out)
{
    (void)out; /* what goes to the client now is already there: held events never do */
    if (!s->holding)
        return s->refusal ? -1 : 0;
    if (s->untrackable || s->round + 1 > HR_CCR_MAX_ROUNDS) {
        drop_held(s, s->untrackable ? "the stream's turn could not be tracked"
                                    : "the model kept calling headroom_retrieve past the round cap");
        return -1;
    }
    hr_buf resp = HR_BUF_INIT, next = HR_BUF_INIT;
    hr_buf results[HR_CCR_MAX_CALLS];
    for (size_t i = 0; i < HR_CCR_MAX_CALLS; i++)
        results[i] = (hr_buf)HR_BUF_INIT;
    hr_ccr_calls *calls = calloc(1, sizeof *calls); /* n = 0 until find_calls fills it */
    int found = calls && s->g->synthetic_response(s, &resp) == 0
                    ? hr_ccr_find_calls(s->api, resp.data, resp.len, calls) : -1;
    int resolved = found == 1 && hr_ccr_answer_calls(store, tenant, calls, results) == 0 &&
                   hr_ccr_build_followup(s->api, s->request.data, s->request.len,
                                         resp.data, resp.len, calls, results, &next) == 0;
    int mixed = found == 0 && calls && calls->other > 0;
    for (size_t i = 0; calls && i < calls->n; i++)
        hr_buf_free(&results[i]);
    free(calls);
    hr_buf_free(&resp);
    if (!resolved) {
        hr_buf_free(&next);
        drop_held(s, mixed ? "the model called headroom_retrieve together with another tool"
                           : "the model's headroom_retrieve turn could not be answered");
        return -1;
    }
    hr_buf_reset(followup);
    hr_buf_append(followup, next.data, next.len);
    hr_buf_free(&s->request);
    s->request = next; /* the next round's request */
    hr_buf_reset(&s->held);
    s->holding = 0;
    s->round++;
    s->offset = s->client_blocks;
    s->out_prev += s->out_round;
    s->in_prev += s->in_round;
    s->out_round = s->in_round = 0;
    s->stop_reason[0] = '\0';
    clear_blocks(s);
    if (s->round_items.len) { /* what the client saw of this round stays in its response */
        if (s->prev_items.len)
            hr_buf_putc(&s->prev_items, ',');
        hr_buf_append(&s->prev_items, s->round_items.data, s->round_items.len);
    }
    hr_buf_reset(&s->round_items);
    hr_buf_reset(&s->completed);
    s->seq_base = s->seq_next;
    s->items_base = s->items_seen;
    return 1;
}
