/* mcp.c: see mcp.h. One JSON-RPC request in, one response out; the tool bodies reuse
 * retrieve.c so the MCP answer is the same text the proxy gives the model.
 *
 * headroom_compress keeps the CCR promise itself: the compressed text may only name
 * hashes it can serve, so the original is stored under its content hash before the
 * compressed text is returned, and any marker naming a hash the store cannot serve makes
 * the tool return the original instead (fail open, nothing omitted without a way back).
 */
#include "ccr/mcp.h"

#include "ccr/marker.h"
#include "ccr/retrieve.h"
#include "json/json.h"
#include "sys/hash.h"

#include <stdlib.h>
#include <string.h>

#define JSONRPC_PARSE_ERROR -32700
#define JSONRPC_INVALID_REQUEST -32600
#define JSONRPC_METHOD_NOT_FOUND -32601
#define JSONRPC_INVALID_PARAMS -32602

static const char *const PROTOCOL_VERSIONS[] = {"2025-06-18", "2025-03-26", "2024-11-05"};

static const char TOOLS_JSON[] =
    "{\"tools\":["
    "{\"name\":\"headroom_retrieve\",\"description\":\"Retrieve the original content that "
    "headroom compressed. Pass the hash from a marker like [100 items compressed to 12. "
    "Retrieve more: hash=...]; with a query, only the most relevant items or lines (BM25, "
    "top 20) are returned.\",\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"hash\":{\"type\":\"string\",\"description\":\"24 hex characters from the marker\"},"
    "\"query\":{\"type\":\"string\",\"description\":\"optional: what to look for\"}},"
    "\"required\":[\"hash\"]}},"
    "{\"name\":\"headroom_compress\",\"description\":\"Compress a tool output (JSON, logs, "
    "search results, diffs, text) the way the headroom proxy does. The original is stored; "
    "the result ends with a marker whose hash headroom_retrieve accepts.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"content\":{\"type\":\"string\",\"description\":\"the text to compress\"},"
    "\"query\":{\"type\":\"string\",\"description\":\"optional: what matters in it\"}},"
    "\"required\":[\"content\"]}},"
    "{\"name\":\"headroom_stats\",\"description\":\"Statistics of the CCR store and of this "
    "MCP session.\",\"inputSchema\":{\"type\":\"object\",\"properties\":{}}}"
    "]}";

/* The request's id, copied raw (number or string), or null. */
static int write_id(hr_buf *out, const hr_json_doc *d, uint32_t id)
{
    if (id == HR_JSON_NONE)
        return hr_buf_puts(out, "null");
    return hr_json_write_raw(out, d, id);
}

static int respond_error(hr_buf *out, const hr_json_doc *d, uint32_t id, int code,
                         const char *msg)
{
    int rc = hr_buf_puts(out, "{\"jsonrpc\":\"2.0\",\"id\":");
    rc |= write_id(out, d, id);
    rc |= hr_buf_printf(out, ",\"error\":{\"code\":%d,\"message\":", code);
    rc |= hr_json_write_string(out, msg, strlen(msg));
    rc |= hr_buf_puts(out, "}}\n");
    return rc ? -1 : 0;
}

static int respond_result(hr_buf *out, const hr_json_doc *d, uint32_t id, const char *result,
                          size_t len)
{
    int rc = hr_buf_puts(out, "{\"jsonrpc\":\"2.0\",\"id\":");
    rc |= write_id(out, d, id);
    rc |= hr_buf_puts(out, ",\"result\":");
    rc |= hr_buf_append(out, result, len);
    rc |= hr_buf_puts(out, "}\n");
    return rc ? -1 : 0;
}

/* {"content":[{"type":"text","text":T}],"isError":E} */
static int tool_result(hr_buf *res, const char *text, size_t len, int is_error)
{
    int rc = hr_buf_puts(res, "{\"content\":[{\"type\":\"text\",\"text\":");
    rc |= hr_json_write_string(res, text ? text : "", len);
    rc |= hr_buf_printf(res, "}],\"isError\":%s}", is_error ? "true" : "false");
    return rc ? -1 : 0;
}

static int tool_error(hr_buf *res, const char *msg) { return tool_result(res, msg, strlen(msg), 1); }

static int initialize_result(const hr_json_doc *d, uint32_t params, hr_buf *res)
{
    const char *version = PROTOCOL_VERSIONS[0];
    uint32_t asked = params != HR_JSON_NONE ? hr_json_get(d, params, "protocolVersion")
                                            : HR_JSON_NONE;
    for (size_t i = 0; asked != HR_JSON_NONE && i < 3; i++)
        if (hr_json_string_eq(d, asked, PROTOCOL_VERSIONS[i]))
            version = PROTOCOL_VERSIONS[i];
    return hr_buf_printf(res,
                         "{\"protocolVersion\":\"%s\",\"capabilities\":{\"tools\":{"
                         "\"listChanged\":false}},\"serverInfo\":{\"name\":\"headroom\","
                         "\"version\":\"%s\"},\"instructions\":\"Markers like [N items "
                         "compressed to M. Retrieve more: hash=H] mean content was shortened; "
                         "call headroom_retrieve with that hash to get it back.\"}",
                         version, HEADROOM_VERSION);
}

/* Optional string argument: 1 present (appended to out), 0 absent, -1 wrong type. */
static int string_arg(const hr_json_doc *d, uint32_t args, const char *name, hr_buf *out)
{
    uint32_t n = args != HR_JSON_NONE ? hr_json_get(d, args, name) : HR_JSON_NONE;
    if (n == HR_JSON_NONE || d->nodes[n].type == HR_JSON_NULL)
        return 0;
    if (d->nodes[n].type != HR_JSON_STRING || hr_json_string(d, n, out) < 0)
        return -1;
    return 1;
}

static int tool_retrieve(hr_mcp_server *srv, const hr_json_doc *d, uint32_t args, hr_buf *res)
{
    hr_buf hash = HR_BUF_INIT, query = HR_BUF_INIT, text = HR_BUF_INIT;
    int rc;
    if (string_arg(d, args, "hash", &hash) != 1 || string_arg(d, args, "query", &query) < 0) {
        rc = tool_error(res, "Error: headroom_retrieve needs a string 'hash' (and an "
                             "optional string 'query').");
    } else {
        hr_ccr_retrieval r;
        hr_ccr_retrieve(srv->store, srv->tenant, hash.data, hash.len, query.data, query.len, &r);
        rc = hr_ccr_retrieval_text(&r, hash.data, hash.len, &text);
        rc |= tool_result(res, text.data, text.len,
                          r.status != HR_CCR_FOUND);
        hr_ccr_retrieval_free(&r);
    }
    hr_buf_free(&hash);
    hr_buf_free(&query);
    hr_buf_free(&text);
    return rc ? -1 : 0;
}

/* 1 if every marker in text names a hash the store can serve for this tenant, after
 * storing the original under its own hash when a marker names it. */
static int markers_retrievable(hr_mcp_server *srv, const char *original, size_t olen,
                               const char *text, size_t len)
{
    char own[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash(original, olen, own);
    int stored_own = 0;
    hr_marker m;
    for (size_t at = 0; hr_marker_find(text, len, at, &m); at = m.end) {
        if (!strcmp(m.hash, own)) {
            if (!stored_own && hr_ccr_put(srv->store, srv->tenant, own, original, olen, 0) != 0)
                return 0;
            stored_own = 1;
            continue;
        }
        hr_buf probe = HR_BUF_INIT;
        hr_ccr_status st = hr_ccr_get(srv->store, srv->tenant, m.hash, &probe);
        hr_buf_free(&probe);
        if (st != HR_CCR_FOUND)
            return 0;
    }
    return 1;
}

/* headroom_compress answers as the original's tool: a JSON object with the text to use
 * (compressed, or the content itself), the hash the original is stored under (always
 * stored, so the hash is retrievable either way), token counts and the transform. */
static int compress_answer(hr_buf *text, const char *out, size_t out_len, const char *hash,
                           long long before, long long after, const char *transform)
{
    long long saved = before > after ? before - after : 0;
    int rc = hr_buf_puts(text, "{\"compressed\":");
    rc |= hr_json_write_string(text, out, out_len);
    rc |= hr_buf_printf(text, ",\"hash\":\"%s\",\"original_tokens\":%lld,"
                              "\"compressed_tokens\":%lld,\"tokens_saved\":%lld,"
                              "\"savings_percent\":%.1f,\"transforms\":[",
                        hash, before, after, saved, before > 0 ? 100.0 * saved / before : 0.0);
    if (*transform)
        rc |= hr_buf_printf(text, "\"%s\"", transform);
    rc |= hr_buf_printf(text, "],\"note\":\"Original stored with hash=%s. Use "
                              "mcp__headroom__headroom_retrieve to get full content later.\"}",
                        hash);
    return rc;
}

static int tool_compress(hr_mcp_server *srv, const hr_json_doc *d, uint32_t args, hr_buf *res)
{
    hr_buf content = HR_BUF_INIT, query = HR_BUF_INIT, out = HR_BUF_INIT, text = HR_BUF_INIT;
    int rc;
    if (string_arg(d, args, "content", &content) != 1 ||
        string_arg(d, args, "query", &query) < 0) {
        rc = tool_error(res, "Error: headroom_compress needs a string 'content'.");
        goto done;
    }
    const char *in = content.data ? content.data : "";
    srv->compress_calls++;
    srv->bytes_in += content.len;
    char transform[64] = "";
    long long tokens[2] = {0, 0};
    int c = srv->compress ? srv->compress(srv->compress_user, in, content.len, query.data,
                                          query.len, &out, transform, sizeof transform, tokens)
                          : 0;
    int used = c == 1 && markers_retrievable(srv, in, content.len, out.data ? out.data : "",
                                             out.len);
    char own[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash(in, content.len, own);
    if (used) {
        srv->compressed++;
        srv->bytes_out += out.len;
    } else {
        srv->bytes_out += content.len; /* unchanged, or fail open */
        transform[0] = 0;
        tokens[1] = tokens[0];
    }
    if (hr_ccr_put(srv->store, srv->tenant, own, in, content.len, 0) != 0) {
        rc = tool_error(res, "Error: the original could not be stored.");
        goto done;
    }
    if (!tokens[0]) /* no counter: estimate as the original does without one */
        tokens[0] = (long long)(content.len + 3) / 4, tokens[1] = used ? (long long)(out.len + 3) / 4 : tokens[0];
    rc = compress_answer(&text, used ? out.data : in, used ? out.len : content.len, own,
                         tokens[0], tokens[1], transform);
    rc |= tool_result(res, text.data, text.len, 0);
done:
    hr_buf_free(&content);
    hr_buf_free(&query);
    hr_buf_free(&out);
    hr_buf_free(&text);
    return rc ? -1 : 0;
}

static int tool_stats(hr_mcp_server *srv, hr_buf *res)
{
    hr_ccr_stats st;
    hr_ccr_store_stats(srv->store, &st);
    hr_buf text = HR_BUF_INIT;
    int rc = hr_buf_puts(&text, "{\"store\":");
    rc |= hr_ccr_stats_json(&st, &text);
    rc |= hr_buf_printf(&text, ",\"mcp\":{\"calls\":%llu,\"compress_calls\":%llu,"
                               "\"compressed\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu}}",
                        srv->calls, srv->compress_calls, srv->compressed, srv->bytes_in,
                        srv->bytes_out);
    rc |= tool_result(res, text.data, text.len, 0);
    hr_buf_free(&text);
    return rc ? -1 : 0;
}

/* tools/call: 1 handled (res filled), 0 unknown tool, -1 out of memory. */
static int call_tool(hr_mcp_server *srv, const hr_json_doc *d, uint32_t params, hr_buf *res)
{
    uint32_t name = params != HR_JSON_NONE ? hr_json_get(d, params, "name") : HR_JSON_NONE;
    uint32_t args = params != HR_JSON_NONE ? hr_json_get(d, params, "arguments") : HR_JSON_NONE;
    if (args != HR_JSON_NONE && d->nodes[args].type != HR_JSON_OBJECT)
        args = HR_JSON_NONE;
    srv->calls++;
    if (hr_json_string_eq(d, name, "headroom_retrieve"))
        return tool_retrieve(srv, d, args, res) ? -1 : 1;
    if (hr_json_string_eq(d, name, "headroom_compress"))
        return tool_compress(srv, d, args, res) ? -1 : 1;
    if (hr_json_string_eq(d, name, "headroom_stats"))
        return tool_stats(srv, res) ? -1 : 1;
    return 0;
}

static int dispatch(hr_mcp_server *srv, const hr_json_doc *d, hr_buf *out)
{
    const hr_json_node *root = hr_json_at(d, 0);
    if (root->type != HR_JSON_OBJECT)
        return respond_error(out, d, HR_JSON_NONE, JSONRPC_INVALID_REQUEST, "not a request");
    uint32_t id = hr_json_get(d, 0, "id");
    uint32_t method = hr_json_get(d, 0, "method");
    uint32_t params = hr_json_get(d, 0, "params");
    if (!hr_json_is(d, method, HR_JSON_STRING))
        return id == HR_JSON_NONE ? 0 /* a response to us: we send no requests */
                                  : respond_error(out, d, id, JSONRPC_INVALID_REQUEST,
                                                  "missing method");
    if (id == HR_JSON_NONE)
        return 0; /* notifications (initialized, cancelled) need no answer */
    hr_buf res = HR_BUF_INIT;
    int rc = 0;
    if (hr_json_string_eq(d, method, "initialize"))
        rc = initialize_result(d, params, &res);
    else if (hr_json_string_eq(d, method, "ping"))
        rc = hr_buf_puts(&res, "{}");
    else if (hr_json_string_eq(d, method, "tools/list"))
        rc = hr_buf_puts(&res, TOOLS_JSON);
    else if (hr_json_string_eq(d, method, "tools/call")) {
        int handled = call_tool(srv, d, params, &res);
        if (handled == 0) {
            hr_buf_free(&res);
            return respond_error(out, d, id, JSONRPC_INVALID_PARAMS, "unknown tool");
        }
        rc = handled < 0 ? -1 : 0;
    } else {
        hr_buf_free(&res);
        return respond_error(out, d, id, JSONRPC_METHOD_NOT_FOUND, "method not found");
    }
    if (rc == 0)
        rc = respond_result(out, d, id, res.data, res.len);
    hr_buf_free(&res);
    return rc;
}

int hr_mcp_handle(hr_mcp_server *srv, const char *line, size_t len, hr_buf *out)
{
    while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    if (len == 0)
        return 0;
    hr_json_doc doc = {0};
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&doc, line, len, &lim, &err) != 0)
        return respond_error(out, &doc, HR_JSON_NONE, JSONRPC_PARSE_ERROR, err.msg);
    int rc = dispatch(srv, &doc, out);
    hr_json_doc_free(&doc);
    return rc;
}

int hr_mcp_serve(hr_mcp_server *srv, FILE *in, FILE *out)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    hr_buf reply = HR_BUF_INIT;
    int rc = 0;
    while ((n = getline(&line, &cap, in)) >= 0) {
        hr_buf_reset(&reply);
        if (hr_mcp_handle(srv, line, (size_t)n, &reply) < 0) {
            hr_buf_reset(&reply);
            respond_error(&reply, NULL, HR_JSON_NONE, -32603, "out of memory");
        }
        if (reply.len && (fwrite(reply.data, 1, reply.len, out) != reply.len || fflush(out))) {
            rc = -1;
            break;
        }
    }
    free(line);
    hr_buf_free(&reply);
    return rc;
}
