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
    memset(c, 0, sizeof *c);
    c->mode = HR_MODE_TOKEN;
    c->min_bytes = 512;
    c->max_ratio = 0.85;
    c->deadline_ms = 2000;
    snprintf(c->exclude_tools, sizeof c->exclude_tools, "%s", HR_POLICY_DEFAULT_EXCLUDE);
    c->max_sessions = 256;
    c->max_entries = 2048;
    c->max_session_bytes = (size_t)8 << 20;
    c->max_cache_bytes = (size_t)64 << 20;
    hr_compress_opts_default(&c->opts);
    c->kompress_min_bytes = 2048;
    c->embed_max_items = 32;
    c->embed_deadline_ms = 300;
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

static int parse_ratio(const char *s, double *out)
{
    double v;
    if (hr_parse_double(s, &v) != 0 || !(v > 0 && v <= 1))
        return -1;
    *out = v;
    return 0;
}

/* Applies one setting by name; shared by the environment and the command line. */
static int apply_setting(hr_pipeline_config *c, const char *name, const char *v, char *err,
                         size_t errlen)
{
    uint64_t u;
    if (!strcmp(name, "mode")) {
        if (hr_compress_mode_parse(v, &c->mode) == 0)
            return 0;
    } else if (!strcmp(name, "compression-deadline-ms")) {
        if (hr_parse_u64(v, 600000, &u) == 0) {
            c->deadline_ms = (unsigned)u;
            return 0;
        }
    } else if (!strcmp(name, "exclude-tools")) {
        /* merged with the defaults, as the original does; a later list replaces an earlier */
        int n = snprintf(c->exclude_tools, sizeof c->exclude_tools, "%s%s%s",
                         HR_POLICY_DEFAULT_EXCLUDE, *v ? "," : "", v);
        if (n >= 0 && (size_t)n < sizeof c->exclude_tools)
            return 0;
        snprintf(c->exclude_tools, sizeof c->exclude_tools, "%s", HR_POLICY_DEFAULT_EXCLUDE);
    } else if (!strcmp(name, "protect-tool-results")) {
        if (strlen(v) < sizeof c->protect_tools) {
            snprintf(c->protect_tools, sizeof c->protect_tools, "%s", v);
            return 0;
        }
    } else if (!strcmp(name, "min-bytes")) {
        if (hr_parse_u64(v, (uint64_t)1 << 30, &u) == 0) {
            c->min_bytes = u;
            return 0;
        }
    } else if (!strcmp(name, "max-ratio")) {
        if (parse_ratio(v, &c->max_ratio) == 0)
            return 0;
    } else if (!strcmp(name, "kompress-model")) {
        if (strlen(v) < sizeof c->kompress_model) {
            snprintf(c->kompress_model, sizeof c->kompress_model, "%s", v);
            return 0;
        }
    } else if (!strcmp(name, "kompress-min-bytes")) {
        if (hr_parse_u64(v, (uint64_t)1 << 30, &u) == 0) {
            c->kompress_min_bytes = u;
            return 0;
        }
    } else if (!strcmp(name, "kompress-code")) {
        if (hr_parse_bool(v, &c->kompress_code) == 0)
            return 0;
    } else if (!strcmp(name, "kompress-ratio")) {
        if (!strcmp(v, "0")) {
            c->kompress_ratio = 0;
            return 0;
        }
        if (parse_ratio(v, &c->kompress_ratio) == 0 && c->kompress_ratio < 1)
            return 0;
    } else if (!strcmp(name, "embed-model")) {
        if (strlen(v) < sizeof c->embed_model) {
            snprintf(c->embed_model, sizeof c->embed_model, "%s", v);
            return 0;
        }
    } else if (!strcmp(name, "embed-max-items")) {
        if (hr_parse_u64(v, 4096, &u) == 0 && u > 0) {
            c->embed_max_items = u;
            return 0;
        }
    } else if (!strcmp(name, "embed-deadline-ms")) {
        if (hr_parse_u64(v, 60000, &u) == 0 && u > 0) {
            c->embed_deadline_ms = (long)u;
            return 0;
        }
    } else if (!strcmp(name, "max-items")) {
        const hr_compressor_limit *l = hr_compressor_limit_find("max_items"); /* its row */
        if (hr_parse_u64(v, l->max, &u) == 0 && u >= l->min) {
            c->opts.max_items = (unsigned)u;
            return 0;
        }
    }
    snprintf(err, errlen, "invalid value for %s: '%s'", name, v);
    return -1;
}

int hr_pipeline_config_from_env(hr_pipeline_config *c, char *err, size_t errlen)
{
    static const char *const map[][2] = {{"HEADROOM_MODE", "mode"},
                                         {"HEADROOM_COMPRESSION_DEADLINE_MS",
                                          "compression-deadline-ms"},
                                         {"HEADROOM_EXCLUDE_TOOLS", "exclude-tools"},
                                         {"HEADROOM_PROTECT_TOOL_RESULTS",
                                          "protect-tool-results"},
                                         {"HEADROOM_MIN_BYTES", "min-bytes"},
                                         {"HEADROOM_MAX_RATIO", "max-ratio"},
                                         {"HEADROOM_KOMPRESS_MODEL", "kompress-model"},
                                         {"HEADROOM_KOMPRESS_MIN_BYTES", "kompress-min-bytes"},
                                         {"HEADROOM_KOMPRESS_CODE", "kompress-code"},
                                         {"HEADROOM_KOMPRESS_RATIO", "kompress-ratio"},
                                         {"HEADROOM_EMBED_MODEL", "embed-model"},
                                         {"HEADROOM_EMBED_MAX_ITEMS", "embed-max-items"},
                                         {"HEADROOM_EMBED_DEADLINE_MS", "embed-deadline-ms"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const char *v = getenv(map[i][0]);
        if (v && *v && apply_setting(c, map[i][1], v, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int hr_pipeline_config_arg(hr_pipeline_config *c, int argc, char **argv, int *i, char *err,
                           size_t errlen)
{
    static const char *const names[] = {"mode",          "compression-deadline-ms",
                                        "exclude-tools", "protect-tool-results",
                                        "min-bytes",     "max-ratio",
                                        "max-items",     "kompress-model",
                                        "kompress-min-bytes", "kompress-code",
                                        "kompress-ratio", "embed-model",
                                        "embed-max-items", "embed-deadline-ms"};
    const char *a = argv[*i];
    if (strncmp(a, "--", 2) != 0)
        return 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t n = strlen(names[k]);
        if (strncmp(a + 2, names[k], n) != 0)
            continue;
        if (a[2 + n] == '=')
            return apply_setting(c, names[k], a + 3 + n, err, errlen) == 0 ? 1 : -1;
        if (a[2 + n] != '\0')
            continue;
        if (*i + 1 >= argc) {
            snprintf(err, errlen, "--%s needs a value", names[k]);
            return -1;
        }
        if (apply_setting(c, names[k], argv[*i + 1], err, errlen) != 0)
            return -1;
        *i += 1;
        return 1;
    }
    return 0;
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

static void add_span(walker *w, uint32_t node, uint32_t message, int excluded)
{
    if (!hr_json_is(w->d, node, HR_JSON_STRING)) /* absent ("text" missing) or not a string */
        return;
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
    s->spans[s->n++] = (hr_policy_span){node, message, w->query};
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
    hr_api_visitor v = {&w, on_tool_call, on_tool_output, on_user_text, on_system};
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
