/* policy.h: the request policy, i.e. which spans of a request body may be compressed, and
 * the settings that steer the pipeline.
 *
 * Candidates are tool outputs only: OpenAI chat role:"tool" messages (string content or
 * text parts), Anthropic tool_result blocks (string content or text blocks), Responses
 * function_call_output items (string output or text parts), and tool outputs sent as JSON
 * values (Converse json parts, Gemini functionResponse members): their JSON text.
 * User-typed text, system prompts, tool_use / tool_calls and thinking blocks are never
 * candidates. A candidate is
 * dropped when it is shorter than min_bytes, holds invalid UTF-8, or is the output of an
 * excluded tool (the agent edits that exact text; the tool name is found through the
 * matching tool_use / tool_call id).
 *
 * For each candidate the policy also names its query: the latest user-typed message
 * before it. Tying a span to the question asked before it (not to whatever the user
 * typed last) makes its compression the same in every later request and after restarts.
 *
 * Ownership: hr_policy_scan owns its span array (hr_policy_scan_free); spans refer to nodes
 * of the caller's hr_json_doc, which must outlive the scan.
 */
#ifndef HR_COMPRESS_POLICY_H
#define HR_COMPRESS_POLICY_H

#include "compress/compressor.h"
#include "compress/pipeline.h"
#include "json/json.h"
#include "sys/buf.h"
#include "sys/settings.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    HR_MODE_TOKEN = 0, /* compress every tool output once per session, replay it after */
    HR_MODE_CACHE,     /* compress only what was appended since the previous request */
} hr_compress_mode;

#define HR_POLICY_EXCLUDE_MAX 1024

typedef struct hr_pipeline_config {
    hr_compress_mode mode;
    size_t min_bytes;          /* spans shorter than this are skipped (512) */
    double max_ratio;          /* keep a result only if tokens_after <= ratio * before (0.85) */
    unsigned deadline_ms;      /* per request; past it, remaining spans pass (2000) */
    char exclude_tools[HR_POLICY_EXCLUDE_MAX]; /* comma-separated tool names or glob patterns,
                                                  case-insensitive: the defaults, then the
                                                  user's --exclude-tools (merged, as the
                                                  original does) */
    char protect_tools[HR_POLICY_EXCLUDE_MAX]; /* --protect-tool-results: same form; these
                                                  outputs are never compressed either */
    size_t max_sessions;       /* session cache: sessions kept (LRU, 256) */
    size_t max_entries;        /* per session: distinct tool outputs remembered (2048) */
    size_t max_session_bytes;  /* per session: bytes of compressed text remembered (8 MiB) */
    size_t max_cache_bytes;    /* all sessions together (64 MiB): replay memory's ceiling */
    hr_compress_opts opts;     /* compressor options (query filled per span) */
    /* Kompress (compress/kompress.h): model file; "" = <data dir>/models/kompress.hrm when
     * it exists, "off" = none. Prose sections of at least kompress_min_bytes go to it;
     * code too when kompress_code; kompress_ratio 0 = the model's 0.5 threshold. */
    char kompress_model[1024];
    size_t kompress_min_bytes; /* 2048 */
    int kompress_code;         /* 0 */
    double kompress_ratio;     /* 0 */
    /* The embedder for hybrid relevance (compress/embed_relevance.h, sys/hybrid.h): model
     * file, "" or "off" = none (lexical ranking only). Per ranking at most embed_max_items
     * documents are embedded within embed_deadline_ms, else the ranking stays lexical. */
    char embed_model[1024];
    size_t embed_max_items;    /* 32 */
    long embed_deadline_ms;    /* 300 */
} hr_pipeline_config;

/* Defaults as documented on each field; exclude_tools is HR_POLICY_DEFAULT_EXCLUDE. */
/* The original's defaults (Read, Glob, Grep, Write, Edit), then other agents' tools whose
 * exact text the agent edits, and our own retrieval tool (its answer is an original). */
#define HR_POLICY_DEFAULT_EXCLUDE                                                             \
    "Read,Glob,Grep,Write,Edit,MultiEdit,NotebookEdit,NotebookRead,str_replace_editor,"       \
    "str_replace_based_edit_tool,apply_patch,read_file,write_file,edit_file,headroom_retrieve"
void hr_pipeline_config_default(hr_pipeline_config *c);

/* The pipeline's settings, one row each (policy.c): flag, variable, bounds, default, help;
 * rows marked HR_SETTING_OVERRIDE may be set per request by /v1/compress. */
extern const hr_setting_table hr_pipeline_settings;

/* Applies the rows' variables (HEADROOM_MODE, HEADROOM_MIN_BYTES, ...). 0 ok, -1 with err
 * filled on a bad value. */
int hr_pipeline_config_from_env(hr_pipeline_config *c, char *err, size_t errlen);

/* Consumes one option at argv[*i]: --mode token|cache (also the original's legacy names
 * token_mode, token_savings, token_headroom, cache_mode, cost_savings),
 * --compression-deadline-ms MS, --exclude-tools LIST, --protect-tool-results LIST,
 * --min-bytes N, --max-ratio R, --max-items N, --kompress-model PATH,
 * --kompress-min-bytes N, --kompress-code on|off, --kompress-ratio R, --embed-model PATH,
 * --embed-max-items N, --embed-deadline-ms MS (also --opt=value).
 * 1 consumed (*i left on the last argument consumed), 0 not ours, -1 bad value (err). */
int hr_pipeline_config_arg(hr_pipeline_config *c, int argc, char **argv, int *i, char *err,
                           size_t errlen);

int hr_compress_mode_parse(const char *s, hr_compress_mode *out); /* 0 ok, -1 unknown */
const char *hr_compress_mode_name(hr_compress_mode m);

/* 1 if name (len bytes) matches an entry of the comma-separated list: ASCII
 * case-insensitive, '*' and '?' as glob wildcards ("mcp__*" excludes every MCP tool). */
int hr_policy_tool_excluded(const char *list, const char *name, size_t len);

typedef struct hr_policy_span {
    uint32_t node;     /* the string node whose content may be replaced, or with json
                          the object / array node replaced whole by a string */
    uint32_t message;  /* index of its message / input item (cache mode's frozen prefix) */
    uint32_t query;    /* content node of the latest user-typed message before it, or NONE */
    int json;          /* node is a JSON value whose source text is the span (tool_json) */
} hr_policy_span;

typedef struct hr_policy_scan {
    hr_policy_span *spans; /* owned */
    size_t n, cap;
    uint32_t n_messages;   /* messages (or input items) in the request */
    uint32_t model;        /* the "model" string node, or HR_JSON_NONE */
    uint32_t system;       /* system prompt node (system, instructions, first system
                              message's content), or HR_JSON_NONE */
    size_t skipped_small, skipped_excluded, skipped_bad_utf8;
} hr_policy_scan;

/* Finds the candidate spans of a parsed body of the given API (its row's walk says where
 * the tool outputs are; an API without one yields no spans). 0 ok (possibly none),
 * -1 out of memory. A body of an unexpected structure simply yields no spans. */
int hr_policy_find_spans(const hr_json_doc *d, const hr_api *api, const hr_pipeline_config *c,
                         hr_policy_scan *out);
void hr_policy_scan_free(hr_policy_scan *s);

/* Appends a span's text to out: a string span's decoded content, a json span's source
 * bytes as the client sent them (so the same value hashes and compresses the same way on
 * every turn). 0 ok, -1 out of memory. */
int hr_policy_span_text(const hr_json_doc *d, const hr_policy_span *sp, hr_buf *out);

/* Appends the user-typed text of a message content node (a string, or the text of its
 * text / input_text parts, joined by '\n') to out. 0 ok, -1 out of memory. */
int hr_policy_user_text(const hr_json_doc *d, uint32_t content, hr_buf *out);

#endif
