/* policy.c: settings of the pipeline and what to do with the candidate spans an API's
 * conversation walk reports (api/api.h; see policy.h). The walk reads the scanner's tree only; it never copies
 * the body, and a body of an unexpected structure yields no spans rather than an error. */
#include "compress/policy.h"

#include "compress/compressors.h"
#include "sys/ascii.h"
#include "sys/parse.h"
#include "sys/vec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void hr_pipeline_config_default(hr_pipeline_config *c)
{
    hr_settings_init(&hr_pipeline_settings, c, sizeof *c);
    hr_compress_opts_default(&c->opts); /* max_items's default is SmartCrusher's row's */
    /* memory bounds of the session cache: not settings (the low-memory profile sets them) */
    c->max_sessions = 256;
    c->max_entries = 2048;
    c->max_session_bytes = (size_t)8 << 20;
    c->max_cache_bytes = (size_t)64 << 20;
}

int hr_compress_mode_parse(const char *s, hr_compress_mode *out)
{
    /* the original's legacy names, still accepted there (case-insensitive) */
    static const char *const token[] = {"token", "token_mode", "token_savings", "token_headroom"};
    static const char *const cache[] = {"cache", "cache_mode", "cost_savings"};
    for (size_t i = 0; i < sizeof token / sizeof token[0]; i++)
        if (!strcasecmp(s, token[i]))
            return *out = HR_MODE_TOKEN, 0;
    for (size_t i = 0; i < sizeof cache / sizeof cache[0]; i++)
        if (!strcasecmp(s, cache[i]))
            return *out = HR_MODE_CACHE, 0;
    return -1;
}

const char *hr_compress_mode_name(hr_compress_mode m)
{
    return m == HR_MODE_CACHE ? "cache" : "token";
}

/* ---- settings: one row each (sys/settings.h) ------------------------------------------- */

static int parse_mode(const char *v, void *field, size_t size, char *err, size_t errlen)
{
    (void)size, (void)err, (void)errlen;
    return hr_compress_mode_parse(v, field);
}

/* Merged with the defaults, as the original does; a later list replaces an earlier one. */
static int parse_exclude(const char *v, void *field, size_t size, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    int n = snprintf(field, size, "%s%s%s", HR_POLICY_DEFAULT_EXCLUDE, *v ? "," : "", v);
    if (n >= 0 && (size_t)n < size)
        return 0;
    snprintf(field, size, "%s", HR_POLICY_DEFAULT_EXCLUDE);
    return -1;
}

static int parse_ratio(const char *s, double *out)
{
    double v;
    if (hr_parse_double(s, &v) != 0 || !(v > 0 && v <= 1))
        return -1;
    *out = v;
    return 0;
}

static int parse_max_ratio(const char *v, void *field, size_t size, char *err, size_t errlen)
{
    (void)size, (void)err, (void)errlen;
    return parse_ratio(v, field);
}

/* "0" (the model's own threshold) or a share in (0, 1). */
static int parse_kompress_ratio(const char *v, void *field, size_t size, char *err,
                                size_t errlen)
{
    (void)size, (void)err, (void)errlen;
    double r;
    if (!strcmp(v, "0"))
        return *(double *)field = 0, 0;
    if (parse_ratio(v, &r) != 0 || r >= 1)
        return -1;
    return *(double *)field = r, 0;
}

/* max_items's bounds are SmartCrusher's limit row's (compress/compressors.c), its default
 * too (hr_compress_opts_default): the row names no numbers of its own. */
static void max_items_bounds(long long *min, long long *max)
{
    const hr_compressor_limit *l = hr_compressor_limit_find("max_items");
    *min = l->min;
    *max = l->max;
}

#define ROW(...) HR_SETTING_ROW(hr_pipeline_config, __VA_ARGS__)
#define CUSTOM(...) HR_SETTING_CUSTOM(hr_pipeline_config, __VA_ARGS__)
#define GIB (1LL << 30)

/* docs/configuration.md ("Compression", "Kompress") has a line per row; a test checks.
 * HR_SETTING_OVERRIDE rows may be set per request by /v1/compress's "config". */
static const hr_setting_row ROWS[] = {
    CUSTOM("mode", "--mode", "HEADROOM_MODE", parse_mode, "token or cache", mode, "token",
           "token | cache (token; the original's legacy names too)", 0),
    ROW("compression_deadline_ms", "--compression-deadline-ms",
        "HEADROOM_COMPRESSION_DEADLINE_MS", HR_SETTING_INT, deadline_ms, 0, 600000, "2000",
        "per request; past it the remaining tool outputs pass as they are (2000)", 0),
    CUSTOM("exclude_tools", "--exclude-tools", "HEADROOM_EXCLUDE_TOOLS", parse_exclude,
           "a list of tool names", exclude_tools, "",
           "tools whose outputs are never compressed, merged with Read,Glob,Grep,Write,Edit,... "
           "(globs)", 0),
    ROW("protect_tool_results", "--protect-tool-results", "HEADROOM_PROTECT_TOOL_RESULTS",
        HR_SETTING_STRING, protect_tools, 0, 0, NULL, "more tools whose outputs are never compressed",
        0),
    ROW("min_bytes", "--min-bytes", "HEADROOM_MIN_BYTES", HR_SETTING_INT, min_bytes, 0, GIB, "512",
        "tool outputs shorter than this are left alone (512)", HR_SETTING_OVERRIDE),
    CUSTOM("max_ratio", "--max-ratio", "HEADROOM_MAX_RATIO", parse_max_ratio, "in (0, 1]",
           max_ratio, "0.85", "keep a result only if tokens after <= ratio x before (0.85)",
           HR_SETTING_OVERRIDE),
    {.name = "max_items", .flag = "--max-items", .env = "HEADROOM_MAX_ITEMS",
     .type = HR_SETTING_INT, HR_SETTING_FIELD(hr_pipeline_config, opts.max_items),
     .bounds = max_items_bounds,
     .help = "items SmartCrusher keeps from a JSON array (its compressor row's default)",
     .flags = HR_SETTING_OVERRIDE},
    ROW("kompress_model", "--kompress-model", "HEADROOM_KOMPRESS_MODEL", HR_SETTING_STRING,
        kompress_model, 0, 0, NULL,
        "Kompress model file, or off (<data dir>/models/kompress.hrm when present)", 0),
    ROW("kompress_min_bytes", "--kompress-min-bytes", "HEADROOM_KOMPRESS_MIN_BYTES", HR_SETTING_INT,
        kompress_min_bytes, 0, GIB, "2048",
        "prose sections shorter than this go to the text compressor (2048)", 0),
    ROW("kompress_code", "--kompress-code", "HEADROOM_KOMPRESS_CODE", HR_SETTING_ONOFF,
        kompress_code, 0, 1, "off", "on: code sections go to Kompress too (off)", 0),
    CUSTOM("kompress_ratio", "--kompress-ratio", "HEADROOM_KOMPRESS_RATIO", parse_kompress_ratio,
           "0 or in (0, 1)", kompress_ratio, "0",
           "share of each chunk's words Kompress keeps (0 = the model's 0.5 threshold)", 0),
    ROW("embed_model", "--embed-model", "HEADROOM_EMBED_MODEL", HR_SETTING_STRING, embed_model, 0,
        0, NULL, "sentence-encoder model file for hybrid relevance, or off (none: BM25 only)", 0),
    ROW("embed_max_items", "--embed-max-items", "HEADROOM_EMBED_MAX_ITEMS", HR_SETTING_INT,
        embed_max_items, 1, 4096, "32", "items embedded per ranking, the best lexical first (32)",
        0),
    ROW("embed_deadline_ms", "--embed-deadline-ms", "HEADROOM_EMBED_DEADLINE_MS", HR_SETTING_INT,
        embed_deadline_ms, 1, 60000, "300",
        "a ranking not embedded within this many ms stays lexical (300)", 0),
};

const hr_setting_table hr_pipeline_settings = HR_SETTING_TABLE(ROWS);

int hr_pipeline_config_from_env(hr_pipeline_config *c, char *err, size_t errlen)
{
    return hr_settings_from_env(&hr_pipeline_settings, c, err, errlen);
}

int hr_pipeline_config_arg(hr_pipeline_config *c, int argc, char **argv, int *i, char *err,
                           size_t errlen)
{
    return hr_settings_arg(&hr_pipeline_settings, c, argc, argv, i, err, errlen);
}

/* Glob match of pattern[0..plen) against name[0..nlen), ASCII case-insensitive; '*' is
 * any run, '?' one byte. Backtracks to the last '*' only: linear in practice. */
static int glob_match(const char *pat, size_t plen, const char *name, size_t nlen)
{
    size_t p = 0, n = 0, star = (size_t)-1, mark = 0;
    while (n < nlen) {
        if (p < plen && pat[p] == '*') {
            star = p++;
            mark = n;
        } else if (p < plen && (pat[p] == '?' || hr_to_lower((unsigned char)pat[p]) == hr_to_lower((unsigned char)name[n]))) {
            p++;
            n++;
        } else if (star != (size_t)-1) {
            p = star + 1;
            n = ++mark;
        } else {
            return 0;
        }
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

int hr_policy_tool_excluded(const char *list, const char *name, size_t len)
{
    const char *p = list;
    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && *p == ' ') {
            p++;
            n--;
        }
        while (n && p[n - 1] == ' ')
            n--;
        if (n && len && glob_match(p, n, name, len))
            return 1;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

/* ---- the walk ------------------------------------------------------------------------- */

typedef struct tool_ref {
    uint32_t id, name; /* string nodes of a tool call's id and its tool name */
} tool_ref;

typedef struct walker {
    const hr_json_doc *d;
    const hr_pipeline_config *c;
    hr_policy_scan *out;
    tool_ref *tools;
    size_t n_tools, cap_tools;
    uint32_t query;  /* latest user-typed content so far */
    hr_buf scratch;
    int oom;
} walker;

static uint32_t get(const hr_json_doc *d, uint32_t obj, const char *key)
{
    if (!hr_json_is(d, obj, HR_JSON_OBJECT))
        return HR_JSON_NONE;
    return hr_json_get(d, obj, key);
}

static void remember_tool(walker *w, uint32_t id, uint32_t name)
{
    if (!hr_json_is(w->d, id, HR_JSON_STRING) || !hr_json_is(w->d, name, HR_JSON_STRING))
        return;
    if (HR_VEC_RESERVE(w->tools, w->cap_tools, w->n_tools + 1) != 0) {
        w->oom = 1;
        return;
    }
    w->tools[w->n_tools++] = (tool_ref){id, name};
}

/* 1 if the tool output answering call id `id` came from an excluded tool. */
static int excluded_call(walker *w, uint32_t id)
{
    if (!hr_json_is(w->d, id, HR_JSON_STRING))
        return 0;
    hr_buf_reset(&w->scratch);
    if (hr_json_string(w->d, id, &w->scratch) != 0 || !w->scratch.data)
        return 0;
    for (size_t i = w->n_tools; i-- > 0;) {
        if (!hr_json_string_eq(w->d, w->tools[i].id, w->scratch.data))
            continue;
        hr_buf_reset(&w->scratch);
        if (hr_json_string(w->d, w->tools[i].name, &w->scratch) != 0 || !w->scratch.data)
            return 0;
        return hr_policy_tool_excluded(w->c->exclude_tools, w->scratch.data, w->scratch.len) ||
               hr_policy_tool_excluded(w->c->protect_tools, w->scratch.data, w->scratch.len);
    }
    return 0;
}

/* A candidate: a string node, or with json an object / array node (its source text). */
static void add_value_span(walker *w, uint32_t node, uint32_t message, int excluded, int json)
{
    const hr_json_node *nd = &w->d->nodes[node];
    hr_policy_scan *s = w->out;
    if (excluded) {
        s->skipped_excluded++;
        return;
    }
    if (nd->flags & HR_JSON_F_BAD_UTF8) {
        s->skipped_bad_utf8++;
        return;
    }
    if ((size_t)(nd->end - nd->start) < w->c->min_bytes + 2) {
        s->skipped_small++;
        return;
    }
    if (HR_VEC_RESERVE(s->spans, s->cap, s->n + 1) != 0) {
        w->oom = 1;
        return;
    }
    s->spans[s->n++] = (hr_policy_span){node, message, w->query, json};
}

static void add_span(walker *w, uint32_t node, uint32_t message, int excluded)
{
    if (hr_json_is(w->d, node, HR_JSON_STRING)) /* absent ("text" missing) or not a string */
        add_value_span(w, node, message, excluded, 0);
}

/* A tool output's content: a string, or an array of parts whose "text" strings are the
 * spans (type "text", "input_text" or "output_text"; images and the like are left alone). */
static void add_content_spans(walker *w, uint32_t content, uint32_t message, int excluded)
{
    const hr_json_doc *d = w->d;
    if (hr_json_is(d, content, HR_JSON_STRING)) {
        add_span(w, content, message, excluded);
        return;
    }
    if (!hr_json_is(d, content, HR_JSON_ARRAY))
        return;
    HR_JSON_FOREACH(d, content, p)
        if (hr_api_member_is(d, p, "type", "text") || hr_api_member_is(d, p, "type", "input_text") ||
            hr_api_member_is(d, p, "type", "output_text"))
            add_span(w, get(d, p, "text"), message, excluded);
}

/* ---- the visitor of the API's conversation walk (api/api.h) ---------------------------- */

static void on_tool_call(void *user, uint32_t id, uint32_t name)
{
    remember_tool(user, id, name);
}

static void on_tool_output(void *user, uint32_t content, uint32_t message, uint32_t call_id)
{
    walker *w = user;
    add_content_spans(w, content, message, excluded_call(w, call_id));
}

static void on_tool_json(void *user, uint32_t value, uint32_t message, uint32_t call_id)
{
    walker *w = user;
    if (hr_json_is(w->d, value, HR_JSON_OBJECT) || hr_json_is(w->d, value, HR_JSON_ARRAY))
        add_value_span(w, value, message, excluded_call(w, call_id), 1);
}

static void on_user_text(void *user, uint32_t content)
{
    ((walker *)user)->query = content;
}

static void on_system(void *user, uint32_t content)
{
    walker *w = user;
    if (w->out->system == HR_JSON_NONE) /* the first system message is the prompt */
        w->out->system = content;
}

int hr_policy_find_spans(const hr_json_doc *d, const hr_api *api, const hr_pipeline_config *c,
                         hr_policy_scan *out)
{
    memset(out, 0, sizeof *out);
    out->model = out->system = HR_JSON_NONE;
    if (!d->n || d->nodes[0].type != HR_JSON_OBJECT)
        return 0;
    walker w = {.d = d, .c = c, .out = out, .query = HR_JSON_NONE};
    uint32_t model = get(d, 0, "model");
    out->model = hr_json_is(d, model, HR_JSON_STRING) ? model : HR_JSON_NONE;
    if (api->system_key)
        out->system = get(d, 0, api->system_key);
    uint32_t list = get(d, 0, api->conversation_key);
    hr_api_visitor v = {&w, on_tool_call, on_tool_output, on_user_text, on_system, on_tool_json};
    if (api->walk && hr_json_is(d, list, HR_JSON_ARRAY))
        api->walk(d, list, &v);
    out->n_messages = hr_json_is(d, list, HR_JSON_ARRAY) ? d->nodes[list].count : 0;
    free(w.tools);
    hr_buf_free(&w.scratch);
    if (w.oom) {
        hr_policy_scan_free(out);
        return -1;
    }
    return 0;
}

void hr_policy_scan_free(hr_policy_scan *s)
{
    free(s->spans);
    s->spans = NULL;
    s->n = s->cap = 0;
}

int hr_policy_span_text(const hr_json_doc *d, const hr_policy_span *sp, hr_buf *out)
{
    if (!sp->json)
        return hr_json_string(d, sp->node, out);
    const hr_json_node *nd = &d->nodes[sp->node];
    return hr_buf_append(out, d->src + nd->start, nd->end - nd->start);
}

int hr_policy_user_text(const hr_json_doc *d, uint32_t content, hr_buf *out)
{
    if (hr_json_is(d, content, HR_JSON_STRING))
        return hr_json_string(d, content, out);
    if (!hr_json_is(d, content, HR_JSON_ARRAY))
        return 0;
    int first = 1;
    HR_JSON_FOREACH(d, content, p) {
        uint32_t text = get(d, p, "text");
        if (!(hr_api_member_is(d, p, "type", "text") || hr_api_member_is(d, p, "type", "input_text")) ||
            !hr_json_is(d, text, HR_JSON_STRING))
            continue;
        if ((!first && hr_buf_putc(out, '\n') != 0) || hr_json_string(d, text, out) != 0)
            return -1;
        first = 0;
    }
    return 0;
}
