/* api.h: one row per API shape (OpenAI chat, Anthropic Messages, OpenAI Responses, ...),
 * the way curl describes each protocol with one scheme row and one table of hooks. Everything
 * that differs between the APIs a client may speak lives in that API's row and its file
 * (src/api/<name>.c): the path it is served on, its provider (upstream and error shape), the
 * auth headers that name the provider on paths that do not, where the conversation and its
 * tool outputs live, how the headroom_retrieve tool is offered and its calls answered, how
 * usage is reported, and its error shapes. The proxy, the pipeline and CCR never ask "which
 * API?": they take a `const hr_api *` and call its hooks.
 *
 * Layering: src/api depends on json and sys only, so ccr, compress and proxy can all use
 * the rows (the include graph stays acyclic). What needs more than JSON (the CCR store, the
 * compressors, the proxy config) stays in its subsystem and is reached from there.
 *
 * ADDING AN API (the checklist; also in docs/design.md):
 *   1. Write src/api/<name>.c defining `const hr_api hr_api_<name> = {...};` with the
 *      designated initialisers below (copy the closest existing file). Hooks marked
 *      "optional" may stay NULL: the feature is then off for that API (e.g. no
 *      tool_definition: the proxy never offers headroom_retrieve on it; no walk: nothing
 *      in it is compressed, the body is forwarded as sent).
 *   2. Declare it below (`extern const hr_api hr_api_<name>;`) and add `&hr_api_<name>` to
 *      the registry in src/api/api.c. Order matters only for hr_api_from_headers (first
 *      row whose auth headers are present wins).
 *   3. A new provider also needs its upstream base URL setting (src/proxy/config.c), named
 *      by the row's upstream_setting.
 *   4. Tests: tests/unit/test_api_rows.c checks every registered row for the invariants
 *      (names unique, error JSON parses, the tool definition parses, ...) automatically;
 *      add the API's own request/response examples there and a node test with its SDK.
 *
 * Ownership: rows are static and immutable; hooks borrow their arguments for the call and
 * write only into the hr_buf / structs they are given. All hooks are pure functions of
 * their input (no I/O, no globals), so outputs are deterministic.
 */
#ifndef HR_API_API_H
#define HR_API_API_H

#include "json/edits.h"
#include "json/json.h"
#include "sys/buf.h"
#include "sys/hash.h"

#include <stddef.h>
#include <stdint.h>

#define HR_API_TOOL_NAME "headroom_retrieve"

/* ---- what the hooks exchange ------------------------------------------------------------ */

#define HR_API_MAX_CALLS 16

/* One headroom_retrieve call found in a model's turn. */
typedef struct hr_api_call {
    char id[128];   /* tool_call id / tool_use id / call_id */
    char hash[HR_CONTENT_HASH_HEX + 8]; /* as given by the model (validated later) */
    char query[512];
    int args_ok;    /* the arguments parsed as {hash: string, query?: string} */
} hr_api_call;

typedef struct hr_api_calls {
    size_t n;            /* headroom_retrieve calls found */
    size_t other;        /* calls of any other tool */
    hr_api_call call[HR_API_MAX_CALLS];
} hr_api_calls;

/* Token usage summed over rounds (CCR) or read from one answer. */
typedef struct hr_api_usage {
    long long input, output, total;          /* total only where the API reports one */
    long long cache_read, cache_creation;    /* Anthropic */
} hr_api_usage;

/* How a usage number is counted (hr_api_read_usage). */
typedef enum {
    HR_API_USAGE_AS_IS = 0,       /* the number as reported */
    HR_API_USAGE_CACHED_IN_INPUT, /* cache reads the provider counts inside the input number
                                     (OpenAI's cached_tokens, Gemini's cachedContentTokenCount):
                                     moved out of input into offset (cache_read), so each is
                                     priced at its own rate */
    HR_API_USAGE_PLUS_OUTPUT,     /* billed as output besides it (Gemini's thoughtsTokenCount) */
} hr_api_usage_kind;

/* One usage number of a response's usage object: its key and where it goes. */
typedef struct hr_api_usage_field {
    const char *key;
    size_t offset;          /* into hr_api_usage */
    hr_api_usage_kind kind; /* AS_IS unless said */
    const char *within;     /* the member object of the usage object holding key
                               ("prompt_tokens_details"); NULL: the usage object itself */
} hr_api_usage_field;

/* A row's usage number: its key and the hr_api_usage member it goes to (AS_IS, at the top
 * of the usage object); HR_API_USAGE_COUNTED adds how it counts and where it sits.
 * {.key = NULL} ends a list. */
#define HR_API_USAGE_NUMBER(key_, member_)                                                 \
    {.key = key_, .offset = offsetof(hr_api_usage, member_)}
#define HR_API_USAGE_COUNTED(key_, member_, kind_, within_)                                \
    {.key = key_, .offset = offsetof(hr_api_usage, member_), .kind = kind_, .within = within_}

/* What a request's conversation walk reports (compress/policy.c is the visitor). Node
 * indices are into the parsed request; HR_JSON_NONE when absent. */
typedef struct hr_api_visitor {
    void *user;
    /* a tool call made by the model earlier in the conversation (id and name nodes) */
    void (*tool_call)(void *user, uint32_t id, uint32_t name);
    /* a tool output: its content node (a string, or an array of text parts), the index of
     * the message / input item holding it, and the id of the call it answers */
    void (*tool_output)(void *user, uint32_t content, uint32_t message, uint32_t call_id);
    /* a user-typed message's content (the latest one before a tool output is its query) */
    void (*user_text)(void *user, uint32_t content);
    /* a system / developer message's content (in the conversation itself) */
    void (*system)(void *user, uint32_t content);
    /* optional (walks check for NULL): a tool output the client sent as structure, a JSON
     * object or array (Converse's toolResult json parts, the non-string members of
     * Gemini's functionResponse.response). Its JSON text is the span; once compressed it
     * goes back as a JSON string in the value's place, which both APIs accept there (a
     * Converse json part is any JSON document, a Struct member any Value). */
    void (*tool_json)(void *user, uint32_t value, uint32_t message, uint32_t call_id);
} hr_api_visitor;

/* An image content part, as images.c edits it. */
typedef enum {
    HR_API_IMAGE_NONE = 0,
    HR_API_IMAGE_URL,    /* OpenAI: holder is the object that gets "detail", url its URL */
    HR_API_IMAGE_SOURCE, /* Anthropic: holder is the "source" object (base64 data) */
    HR_API_IMAGE_INLINE, /* Gemini: holder is the inlineData / inline_data object, url its
                            MIME type node */
} hr_api_image_kind;

typedef struct hr_api_image {
    hr_api_image_kind kind;
    uint32_t holder;
    uint32_t url;
} hr_api_image;

/* One tool call element in an API's form (a tool_use block, a tool_calls entry, a
 * function_call item, a functionCall object): 1 when it calls headroom_retrieve, with *id
 * its id node (HR_JSON_NONE when absent; HR_API_NO_ID for an API whose calls may have
 * none), *args its arguments node and *args_string 1 when the API sends arguments as a
 * string holding JSON; 0 for another tool. The caller checks the element's type. */
typedef int (*hr_api_retrieve_call_fn)(const hr_json_doc *d, uint32_t call, uint32_t *id,
                                       uint32_t *args, int *args_string);

/* Header lookup the proxy gives hooks that read request headers: value or NULL. */
typedef const char *(*hr_api_header_fn)(void *user, const char *name);

/* ---- the row ---------------------------------------------------------------------------- */

typedef struct hr_api {
    /* identity */
    const char *name;      /* "openai", "anthropic", "responses": `headroom compress --shape` */
    const char *label;     /* route label in logs and metrics: "chat_completions", ... */
    const char *provider;  /* "openai", "anthropic": upstream base URL and log field */

    /* routing: the compressible route. match (optional) decides instead of method + path
     * when the path carries parameters (e.g. /v1beta/models/{model}:generateContent). */
    const char *method;
    const char *path;
    int (*match)(const char *method, const char *path);
    /* Other paths under this prefix are this provider's too (their errors take its shape),
     * e.g. "/v1/messages" also claims /v1/messages/count_tokens. NULL: none. */
    const char *owns_prefix;

    /* auth: on paths no row claims, the provider is the first row's whose auth header is
     * present (NULL-terminated names) or whose "Authorization: Bearer" value starts with
     * bearer_prefix. Both NULL: never chosen from headers (hr_api_default is the fallback). */
    const char *const *auth_headers;
    const char *bearer_prefix;
    /* upstream: the proxy setting holding this provider's base URL (the snake_case name of
     * its row in proxy/config.c, e.g. "openai_url"); NULL: the proxy picks the base itself
     * (Bedrock: proxy/bedrock.c). When that setting is empty, default_base (optional)
     * derives the base from the path; without one the request is refused with
     * upstream_missing (a static message naming the flag to set). */
    const char *upstream_setting;
    int (*default_base)(const char *path, char *out, size_t outlen);
    const char *upstream_missing;
    /* optional: the model a path names, for the log line when the body names none (Google's
     * .../models/{m}:method). Writes it (truncated to outlen) and returns 1, else 0. */
    int (*path_model)(const char *path, char *out, size_t outlen);
    /* optional: the upstream URL when it is not the configured base + the request target
     * (per-request deployments). Must not let the client choose scheme, host or port. */
    int (*upstream_url)(const char *base, const char *target, hr_api_header_fn header,
                        void *user, hr_buf *out);

    /* errors */
    /* Appends a JSON error body of this API's shape. type is the generic kind
     * ("invalid_request_error", "api_error", "not_found_error", "timeout_error", ...), code
     * a machine-readable detail or NULL, status the HTTP status it goes with. 0 / -1. */
    int (*error_json)(hr_buf *out, int status, const char *type, const char *code,
                      const char *msg);
    /* Appends the SSE event that ends a stream of this API in an error (msg unescaped).
     * NULL for an API whose streams are not SSE (Bedrock's AWS event streams end in
     * proxy/bedrock.c). */
    int (*error_event)(hr_buf *out, const char *msg);
    /* optional: a header every error answer of this API carries besides the body, and its
     * value for a status (Bedrock: x-amzn-errortype, which the AWS SDKs read the exception
     * name from). */
    const char *error_header;
    const char *(*error_header_value)(int status);
    const char *overloaded_type; /* error type of a 503 for memory ("overloaded_error") */
    const char *too_large_type;  /* error type of a 413 */

    /* the request: where the conversation lives */
    const char *conversation_key; /* "messages" / "input": the list tool results go into */
    const char *system_key;       /* top-level system prompt member, or NULL */
    int conversation_may_be_string; /* "input":"text" is a one-message conversation */
    /* optional: walks the conversation list (conversation_key's array) reporting tool
     * calls, tool outputs, user text and system messages in order. */
    void (*walk)(const hr_json_doc *d, uint32_t list, const hr_api_visitor *v);
    /* optional: classifies a content part as an image (kind NONE when it is not one). */
    hr_api_image (*image_part)(const hr_json_doc *d, uint32_t part);
    /* optional: the edit a streamed request needs to report usage (OpenAI chat:
     * stream_options.include_usage), appended to edits over d's source. 1 added, 0 nothing
     * to do, -1 no memory. */
    int (*stream_request)(const hr_json_doc *d, hr_json_edits *edits);

    /* the model's way back (CCR): all optional together (tool_definition NULL = off) */
    int (*tool_definition)(hr_buf *out);  /* headroom_retrieve in this API's tools format */
    uint32_t (*tool_name)(const hr_json_doc *d, uint32_t tool); /* a tools[] element's name */
    /* 1 when offering a tool would change the request's meaning (e.g. legacy functions) */
    int (*tool_offer_blocked)(const hr_json_doc *d);
    /* optional: the root member that holds the "tools" array (Converse: "toolConfig", which
     * also holds its toolChoice), created when absent; NULL: "tools" is a root member. */
    const char *tools_holder;
    /* Reads a buffered response's final turn: 1 when it ends in tool calls (calls filled:
     * ours in call[], others counted), 0 not a tool-call ending. */
    int (*find_calls)(const hr_json_doc *resp, hr_api_calls *calls);
    /* Appends the model's turn (from resp) and one tool result per call (results[i]) as
     * conversation items, comma-separated, without the enclosing brackets. */
    int (*followup_items)(const hr_json_doc *resp, const hr_api_calls *calls,
                          const hr_buf *results, hr_buf *out);
    /* One call element read (find_calls uses it; so does POST /v1/retrieve/tool_call). */
    hr_api_retrieve_call_fn retrieve_call;
    /* Appends one tool result item answering call id ("" when the call had none) with
     * result as its text. */
    int (*tool_result)(hr_buf *out, const char *id, const hr_buf *result);
    /* usage: the numbers of the response's usage object ({NULL} ends), the object's key
     * (NULL = "usage") and the root members that may hold that object instead (NULL-ended,
     * e.g. Anthropic's message_start event {"message":{"usage":...}}). Read by
     * hr_api_read_usage for the proxy's statistics and summed over rounds by CCR. */
    const hr_api_usage_field *usage_fields;
    const char *usage_key;
    const char *const *usage_wrappers;
    /* the message member holding a message's parts; NULL = "content" (Gemini: "parts") */
    const char *parts_key;
} hr_api;

/* ---- the registry ----------------------------------------------------------------------- */

extern const hr_api hr_api_openai_chat;
extern const hr_api hr_api_anthropic_messages;
extern const hr_api hr_api_openai_responses;
extern const hr_api hr_api_codex_responses; /* Codex's aliases (openai_responses.c) */
extern const hr_api hr_api_bedrock_converse;
extern const hr_api hr_api_bedrock_invoke;
extern const hr_api hr_api_gemini;           /* src/api/gemini.c */
extern const hr_api hr_api_vertex_gemini;    /* src/api/gemini.c: Google models on Vertex */
extern const hr_api hr_api_vertex_anthropic; /* src/api/anthropic_messages.c: rawPredict */
extern const hr_api hr_api_azure_chat;       /* src/api/openai_chat.c: Azure deployments */
extern const hr_api hr_api_azure_responses;  /* src/api/openai_responses.c */

/* "usage" or the row's usage_key. */
const char *hr_api_usage_key(const hr_api *api);
/* Reads the usage one response body or stream event (d, parsed) reports in api's shape:
 * every usage object found (the root's, then each wrapper's) sets the numbers it holds in
 * u; the others keep their values (start them at -1 for "not seen"). Cache numbers count
 * only beside an input number (a delta event reporting output alone leaves them). 1 found,
 * 0 none. */
int hr_api_read_usage(const hr_api *api, const hr_json_doc *d, hr_api_usage *u);
/* 1 when field f is one of the numbers the response reports as such at the usage object's
 * top (what CCR sums over rounds and rewrites in the final answer). */
int hr_api_usage_field_summable(const hr_api_usage_field *f);

/* Every registered row, in registry order; n_out receives the count. */
const hr_api *const *hr_api_all(size_t *n_out);
/* The fallback when nothing names a provider (OpenAI chat, as the original does). */
const hr_api *hr_api_default(void);

/* The row whose compressible route is method + path, or NULL (passthrough). */
const hr_api *hr_api_for_route(const char *method, const char *path);
/* The row that owns path (its route or its owns_prefix), or NULL. */
const hr_api *hr_api_for_path(const char *path);
/* The row chosen from the auth headers (see auth_headers above); hr_api_default() when no
 * row's headers are present. */
const hr_api *hr_api_from_headers(hr_api_header_fn header, void *user);
/* The row named name (hr_api.name), or NULL. */
const hr_api *hr_api_by_name(const char *name);
/* The API of a body that comes without a route (CLI, POST /v1/compress): "input" without
 * "messages" is Responses; a top-level "system", or any tool_use, tool_result or thinking
 * block is Anthropic; anything else OpenAI chat. */
const hr_api *hr_api_guess(const hr_json_doc *d);

/* ---- helpers shared by the rows (api.c) --------------------------------------------------- */

/* Adds a headroom_retrieve call: id node, arguments node (an object, or when
 * args_are_string a string holding one). -1 when full or the id is not a string. id
 * HR_API_NO_ID: an API whose calls may come without ids (Gemini matches results by name
 * and order); the call's id stays "". */
#define HR_API_NO_ID (HR_JSON_NONE - 1)
int hr_api_add_call(hr_api_calls *calls, const hr_json_doc *d, uint32_t id, uint32_t args,
                    int args_are_string);
/* One call element of a response through the row's retrieve_call: ours is added
 * (hr_api_add_call), another tool's counted in calls->other. 0 ok, -1 as hr_api_add_call. */
int hr_api_take_call(hr_api_calls *calls, const hr_json_doc *d, uint32_t call,
                     hr_api_retrieve_call_fn retrieve_call);
/* 1 when a message content (a string, or parts with type text/input_text) has user text. */
int hr_api_has_user_text(const hr_json_doc *d, uint32_t content);
/* 1 when node is an object member key == value (string). */
int hr_api_member_is(const hr_json_doc *d, uint32_t obj, const char *key, const char *value);
/* Appends "data: <json>\n\n" (with "event: name\n" first when name is not NULL) where
 * json is fmt with %s replaced by msg as a JSON string. Helper for error_event hooks. */
int hr_api_sse_error(hr_buf *out, const char *event, const char *fmt, const char *msg);
/* Appends `open` + id as a JSON string + `,"<key>":` + result as a JSON string + `}`: one
 * tool result item of a follow-up (open is e.g. `{"role":"tool","tool_call_id":`). */
int hr_api_tool_result(hr_buf *out, const char *open, const char *id, const char *key,
                       const hr_buf *result);
/* Appends the user turn answering calls: `open` (e.g. `{"role":"user","content":[`), one
 * tool_result item per call (results[i] answering call i), comma-joined, then `]}`. The
 * second half of the followup_items of the APIs that answer in one user message. */
int hr_api_results_turn(hr_buf *out, const char *open, const hr_api_calls *calls,
                        const hr_buf *results,
                        int (*tool_result)(hr_buf *, const char *, const hr_buf *));
/* Anthropic's body hooks (anthropic_messages.c), shared by the rows that speak Anthropic's
 * bodies: the Messages API, Vertex's rawPredict and Bedrock's invoke. */
void hr_api_anthropic_walk(const hr_json_doc *d, uint32_t messages, const hr_api_visitor *v);
hr_api_image hr_api_anthropic_image_part(const hr_json_doc *d, uint32_t part);
int hr_api_anthropic_tool_definition(hr_buf *out);
uint32_t hr_api_anthropic_tool_name(const hr_json_doc *d, uint32_t tool);
int hr_api_anthropic_find_calls(const hr_json_doc *d, hr_api_calls *calls);
int hr_api_anthropic_followup_items(const hr_json_doc *resp, const hr_api_calls *calls,
                                    const hr_buf *results, hr_buf *out);
int hr_api_anthropic_retrieve_call(const hr_json_doc *d, uint32_t block, uint32_t *id,
                                   uint32_t *args, int *args_string);
int hr_api_anthropic_tool_result(hr_buf *out, const char *id, const hr_buf *result);
extern const hr_api_usage_field hr_api_anthropic_usage[];
extern const char *const hr_api_anthropic_usage_wrappers[];
#define HR_API_ANTHROPIC_BODY                                                              \
    .walk = hr_api_anthropic_walk, .image_part = hr_api_anthropic_image_part,              \
    .tool_definition = hr_api_anthropic_tool_definition,                                   \
    .tool_name = hr_api_anthropic_tool_name, .find_calls = hr_api_anthropic_find_calls,    \
    .followup_items = hr_api_anthropic_followup_items,                                     \
    .retrieve_call = hr_api_anthropic_retrieve_call,                                       \
    .tool_result = hr_api_anthropic_tool_result, .usage_fields = hr_api_anthropic_usage,   \
    .usage_wrappers = hr_api_anthropic_usage_wrappers
/* The OpenAI error body {"error":{"message","type","code"}} (openai_chat.c), shared by the
 * provider's rows. */
int hr_api_openai_error_json(hr_buf *out, int status, const char *type, const char *code,
                             const char *msg);
/* Vertex AI's own endpoint for a path's ".../locations/{l}/..." (a checked Google region
 * name: 1..63 of [a-z0-9-], so the client picks a region, never a host), as Google's SDKs
 * build it: the default_base of the Vertex rows. 0 ok, -1 no location or not a region. */
int hr_api_vertex_base(const char *path, char *out, size_t outlen);
/* Google's paths name the model: ".../models/{m}:method" (the path_model of the Gemini
 * and Vertex rows). */
int hr_api_google_path_model(const char *path, char *out, size_t outlen);
#define HR_API_VERTEX_UPSTREAM                                                             \
    .path_model = hr_api_google_path_model,                                                \
    .upstream_setting = "vertex_url", .default_base = hr_api_vertex_base,                  \
    .upstream_missing = "the Vertex path names no location (.../locations/{region}/...) "  \
                        "and no --vertex-api-url is set"
/* The Azure rows' upstream: only the configured resource (no default). */
#define HR_API_AZURE_UPSTREAM                                                              \
    .upstream_setting = "azure_url",                                                       \
    .upstream_missing = "no Azure OpenAI upstream is configured on this proxy (--azure-api-url)"
/* Azure OpenAI paths: what follows /openai/deployments/{d}/ or /openai/v1/ ("chat/
 * completions", "responses", ...), or NULL for other paths. */
const char *hr_api_azure_operation(const char *path);
/* The tool description and JSON schema shared by every API's tool_definition. */
#define HR_API_TOOL_DESCRIPTION                                                            \
    "Retrieve original content that was compressed to save context. Compressed content "   \
    "ends with a marker like [100 items compressed to 12. Retrieve more: hash=abc...]. "   \
    "Call this with that hash to get the full original, or add a query to get only the " \
    "most relevant items or lines."
#define HR_API_TOOL_SCHEMA                                                                 \
    "{\"type\":\"object\",\"properties\":{\"hash\":{\"type\":\"string\",\"description\":" \
    "\"the 24 hex characters after hash= in the marker\"},\"query\":{\"type\":\"string\"," \
    "\"description\":\"optional: what to look for; returns only matching items\"}},"       \
    "\"required\":[\"hash\"]}"

#endif
