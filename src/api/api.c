/* api.c: the registry of API rows (see api.h) and the lookups every caller uses to find a
 * row: by route, by path, by auth headers, by name, or by guessing from a body. Also the
 * few helpers several rows share (reading a headroom_retrieve call's arguments, user text,
 * SSE error events), so no row file repeats them.
 */
#include "api/api.h"

#include "sys/ascii.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The registry: one line per API. Order is the auth-header precedence (api.h), and the
 * order /health lists the providers' upstreams in. */
static const hr_api *const REGISTRY[] = {
    &hr_api_openai_chat,
    &hr_api_anthropic_messages,
    &hr_api_openai_responses,
    &hr_api_codex_responses,
    &hr_api_bedrock_converse,
    &hr_api_bedrock_invoke, /* owns the rest of /model/ */
    &hr_api_gemini,
    /* path-only rows (no auth headers of their own); Vertex's Anthropic row before its
     * Google one, whose /v1/projects/ prefix would claim rawPredict too */
    &hr_api_vertex_anthropic,
    &hr_api_vertex_gemini,
    &hr_api_azure_chat,
    &hr_api_azure_responses,
};

#define N_REGISTRY (sizeof REGISTRY / sizeof REGISTRY[0])

const hr_api *const *hr_api_all(size_t *n_out)
{
    *n_out = N_REGISTRY;
    return REGISTRY;
}

const hr_api *hr_api_default(void) { return &hr_api_openai_chat; }

const char *hr_api_usage_key(const hr_api *api) { return api->usage_key ? api->usage_key : "usage"; }

/* ---- usage --------------------------------------------------------------------------------- */

int hr_api_usage_field_summable(const hr_api_usage_field *f)
{
    return !f->within && f->kind != HR_API_USAGE_PLUS_OUTPUT;
}

/* Field f's number in the usage object, or -1 when absent or not a non-negative integer. */
static long long usage_number(const hr_json_doc *d, uint32_t usage, const hr_api_usage_field *f)
{
    uint32_t obj = f->within ? hr_json_get(d, usage, f->within) : usage;
    int64_t v;
    if (!hr_json_is(d, obj, HR_JSON_OBJECT) || hr_json_int64(d, hr_json_get(d, obj, f->key), &v) != 0)
        return -1;
    return v < 0 ? -1 : v;
}

#define USAGE_SLOTS (sizeof(hr_api_usage) / sizeof(long long))
#define SLOT(member) (offsetof(hr_api_usage, member) / sizeof(long long))

/* One usage object: the row's numbers, then cache reads moved out of input and extra output
 * added, as the kinds say. */
static int read_usage_object(const hr_api *api, const hr_json_doc *d, uint32_t usage,
                             hr_api_usage *u)
{
    if (!hr_json_is(d, usage, HR_JSON_OBJECT))
        return 0;
    long long as_is[USAGE_SLOTS], cached = -1, extra = -1;
    for (size_t i = 0; i < USAGE_SLOTS; i++)
        as_is[i] = -1;
    for (const hr_api_usage_field *f = api->usage_fields; f && f->key; f++) {
        long long v = usage_number(d, usage, f);
        if (v < 0)
            continue;
        if (f->kind == HR_API_USAGE_CACHED_IN_INPUT)
            cached = v;
        else if (f->kind == HR_API_USAGE_PLUS_OUTPUT)
            extra = v;
        else
            as_is[f->offset / sizeof(long long)] = v;
    }
    int found = 0;
    if (as_is[SLOT(input)] >= 0) {
        long long input = as_is[SLOT(input)], cache_read = as_is[SLOT(cache_read)];
        if (cached >= 0 && cached <= input) {
            input -= cached;
            cache_read = cached;
        }
        u->input = input;
        if (cache_read >= 0)
            u->cache_read = cache_read;
        if (as_is[SLOT(cache_creation)] >= 0)
            u->cache_creation = as_is[SLOT(cache_creation)];
        found = 1;
    }
    if (as_is[SLOT(output)] >= 0 || extra >= 0) {
        u->output = (as_is[SLOT(output)] > 0 ? as_is[SLOT(output)] : 0) + (extra > 0 ? extra : 0);
        found = 1;
    }
    if (as_is[SLOT(total)] >= 0)
        u->total = as_is[SLOT(total)];
    return found;
}

int hr_api_read_usage(const hr_api *api, const hr_json_doc *d, hr_api_usage *u)
{
    if (!d->n || d->nodes[0].type != HR_JSON_OBJECT)
        return 0;
    const char *key = hr_api_usage_key(api);
    int found = read_usage_object(api, d, hr_json_get(d, 0, key), u);
    for (const char *const *w = api->usage_wrappers; w && *w; w++)
        found |= read_usage_object(api, d, hr_json_get(d, hr_json_get(d, 0, *w), key), u);
    return found;
}

static int route_matches(const hr_api *a, const char *method, const char *path)
{
    if (a->match)
        return a->match(method, path);
    return a->path && !strcmp(a->method, method) && !strcmp(a->path, path);
}

const hr_api *hr_api_for_route(const char *method, const char *path)
{
    for (size_t i = 0; i < N_REGISTRY; i++)
        if (route_matches(REGISTRY[i], method, path))
            return REGISTRY[i];
    return NULL;
}

const hr_api *hr_api_for_path(const char *path)
{
    for (size_t i = 0; i < N_REGISTRY; i++) {
        const hr_api *a = REGISTRY[i];
        const char *pre = a->owns_prefix;
        if ((a->path && !strcmp(a->path, path)) || (a->match && a->match("POST", path)) ||
            (pre && !strncmp(path, pre, strlen(pre))))
            return a;
    }
    return NULL;
}

static int claims_headers(const hr_api *a, hr_api_header_fn header, void *user)
{
    for (const char *const *h = a->auth_headers; h && *h; h++)
        if (header(user, *h))
            return 1;
    if (!a->bearer_prefix)
        return 0;
    const char *auth = header(user, "authorization");
    size_t n = strlen(a->bearer_prefix);
    return auth && !strncasecmp(auth, "Bearer ", 7) && !strncasecmp(auth + 7, a->bearer_prefix, n);
}

const hr_api *hr_api_from_headers(hr_api_header_fn header, void *user)
{
    for (size_t i = 0; i < N_REGISTRY; i++)
        if (claims_headers(REGISTRY[i], header, user))
            return REGISTRY[i];
    return hr_api_default();
}

const hr_api *hr_api_by_name(const char *name)
{
    for (size_t i = 0; i < N_REGISTRY; i++)
        if (!strcmp(REGISTRY[i]->name, name))
            return REGISTRY[i];
    return NULL;
}

/* ---- guessing ------------------------------------------------------------------------------ */

static int is_type(const hr_json_doc *d, uint32_t n, hr_json_type t)
{
    return n != HR_JSON_NONE && d->nodes[n].type == t;
}

static int has_anthropic_block(const hr_json_doc *d, uint32_t messages)
{
    HR_JSON_FOREACH(d, messages, m) {
        uint32_t content = hr_json_get(d, m, "content");
        if (!is_type(d, content, HR_JSON_ARRAY))
            continue;
        HR_JSON_FOREACH(d, content, b)
            if (hr_api_member_is(d, b, "type", "tool_use") ||
                hr_api_member_is(d, b, "type", "tool_result") ||
                hr_api_member_is(d, b, "type", "thinking"))
                return 1;
    }
    return 0;
}

const hr_api *hr_api_guess(const hr_json_doc *d)
{
    if (!d->n || d->nodes[0].type != HR_JSON_OBJECT)
        return &hr_api_openai_chat;
    uint32_t messages = hr_json_get(d, 0, "messages");
    if (!is_type(d, messages, HR_JSON_ARRAY) && is_type(d, hr_json_get(d, 0, "contents"), HR_JSON_ARRAY))
        return &hr_api_gemini;
    if (!is_type(d, messages, HR_JSON_ARRAY))
        return hr_json_get(d, 0, "input") != HR_JSON_NONE ? &hr_api_openai_responses
                                                         : &hr_api_openai_chat;
    if (hr_json_get(d, 0, "system") != HR_JSON_NONE || has_anthropic_block(d, messages))
        return &hr_api_anthropic_messages;
    return &hr_api_openai_chat;
}

/* ---- shared helpers ------------------------------------------------------------------------ */

/* The location of a Vertex path, checked to be a Google region name. 0 ok (copied to loc),
 * -1 absent or not a region name. */
static int vertex_location(const char *path, char *loc, size_t cap)
{
    const char *p = strstr(path, "/locations/");
    if (!p)
        return -1;
    p += strlen("/locations/");
    size_t n = 0;
    while (p[n] && p[n] != '/') {
        char c = p[n];
        if (!(hr_is_lower(c) || hr_is_digit(c) || c == '-') || n + 1 >= cap || n >= 63)
            return -1;
        loc[n] = c;
        n++;
    }
    loc[n] = 0;
    return n ? 0 : -1;
}

int hr_api_google_path_model(const char *path, char *out, size_t outlen)
{
    const char *m = strstr(path, "/models/");
    const char *colon = m ? strchr(m + 8, ':') : NULL;
    if (!colon || colon == m + 8)
        return 0;
    snprintf(out, outlen, "%.*s", (int)(colon - m - 8), m + 8);
    return 1;
}

int hr_api_vertex_base(const char *path, char *out, size_t outlen)
{
    char loc[64];
    if (vertex_location(path, loc, sizeof loc) != 0)
        return -1;
    int n;
    if (!strcmp(loc, "global"))
        n = snprintf(out, outlen, "https://aiplatform.googleapis.com");
    else if (!strcmp(loc, "us") || !strcmp(loc, "eu"))
        n = snprintf(out, outlen, "https://aiplatform.%s.rep.googleapis.com", loc);
    else
        n = snprintf(out, outlen, "https://%s-aiplatform.googleapis.com", loc);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int hr_api_member_is(const hr_json_doc *d, uint32_t obj, const char *key, const char *value)
{
    return obj != HR_JSON_NONE && d->nodes[obj].type == HR_JSON_OBJECT &&
           hr_json_string_eq(d, hr_json_get(d, obj, key), value);
}

int hr_api_has_user_text(const hr_json_doc *d, uint32_t content)
{
    if (is_type(d, content, HR_JSON_STRING))
        return d->nodes[content].end - d->nodes[content].start > 2;
    if (!is_type(d, content, HR_JSON_ARRAY))
        return 0;
    HR_JSON_FOREACH(d, content, p)
        if (hr_api_member_is(d, p, "type", "text") || hr_api_member_is(d, p, "type", "input_text"))
            return 1;
    return 0;
}

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
static int read_args_object(const hr_json_doc *d, uint32_t obj, hr_api_call *c)
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
static int read_args_string(const hr_json_doc *d, uint32_t s, hr_api_call *c)
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

int hr_api_add_call(hr_api_calls *calls, const hr_json_doc *d, uint32_t id, uint32_t args,
                    int args_are_string)
{
    if (calls->n == HR_API_MAX_CALLS)
        return -1;
    hr_api_call *c = &calls->call[calls->n];
    memset(c, 0, sizeof *c);
    if (id != HR_API_NO_ID && copy_string(d, id, c->id, sizeof c->id) < 0)
        return -1; /* without an id the result cannot be matched to the call */
    c->args_ok = (args_are_string ? read_args_string(d, args, c) : read_args_object(d, args, c)) == 0;
    calls->n++;
    return 0;
}

int hr_api_take_call(hr_api_calls *calls, const hr_json_doc *d, uint32_t call,
                     hr_api_retrieve_call_fn retrieve_call)
{
    uint32_t id, args;
    int args_string;
    if (!retrieve_call(d, call, &id, &args, &args_string)) {
        calls->other++;
        return 0;
    }
    return hr_api_add_call(calls, d, id, args, args_string);
}

int hr_api_sse_error(hr_buf *out, const char *event, const char *fmt, const char *msg)
{
    hr_buf m = HR_BUF_INIT;
    int rc = hr_json_write_string(&m, msg, strlen(msg));
    if (rc == 0 && event)
        rc = hr_buf_printf(out, "event: %s\n", event);
    if (rc == 0)
        rc = hr_buf_puts(out, "data: ");
    if (rc == 0)
        rc = hr_buf_printf(out, fmt, m.data);
    if (rc == 0)
        rc = hr_buf_puts(out, "\n\n");
    hr_buf_free(&m);
    return rc ? -1 : 0;
}

int hr_api_tool_result(hr_buf *out, const char *open, const char *id, const char *key,
                       const hr_buf *result)
{
    int rc = hr_buf_puts(out, open);
    rc |= hr_json_write_string(out, id, strlen(id));
    rc |= hr_buf_printf(out, ",\"%s\":", key);
    rc |= hr_json_write_string(out, result->data ? result->data : "", result->len);
    rc |= hr_buf_putc(out, '}');
    return rc ? -1 : 0;
}

int hr_api_results_turn(hr_buf *out, const char *open, const hr_api_calls *calls,
                        const hr_buf *results,
                        int (*tool_result)(hr_buf *, const char *, const hr_buf *))
{
    int rc = hr_buf_puts(out, open);
    for (size_t i = 0; i < calls->n; i++) {
        if (i)
            rc |= hr_buf_putc(out, ',');
        rc |= tool_result(out, calls->call[i].id, &results[i]);
    }
    rc |= hr_buf_puts(out, "]}");
    return rc ? -1 : 0;
}

const char *hr_api_azure_operation(const char *path)
{
    if (!strncmp(path, "/openai/v1/", 11))
        return path + 11;
    if (strncmp(path, "/openai/deployments/", 20) != 0)
        return NULL;
    const char *slash = strchr(path + 20, '/');
    return slash && slash > path + 20 ? slash + 1 : NULL;
}
