/* cmd_mcp.c: `headroom mcp`, the MCP server over stdio (src/ccr/mcp.c) wired to the CCR
 * store and to the compression pipeline. headroom_compress runs the very pipeline the
 * proxy runs: the content is wrapped as one OpenAI tool message (the query, if any, as the
 * latest user message, which the compressors use for relevance) and the compressed tool
 * message is taken back out. stdout carries protocol messages only; logs go to stderr.
 */
#include "cli/commands.h"

#include "ccr/mcp.h"
#include "ccr/store.h"
#include "compress/pipeline.h"
#include "json/json.h"

#include <stdio.h>
#include <string.h>

typedef struct mcp_compress_ctx {
    const char *tenant;
} mcp_compress_ctx;

static int wrap_as_chat(hr_buf *body, const char *content, size_t len, const char *query,
                        size_t qlen)
{
    int rc = hr_buf_puts(body, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
                               "\"content\":");
    rc |= hr_json_write_string(body, query ? query : "", query ? qlen : 0);
    rc |= hr_buf_puts(body, "},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{"
                            "\"id\":\"call_headroom_mcp\",\"type\":\"function\",\"function\":"
                            "{\"name\":\"tool\",\"arguments\":\"{}\"}}]},{\"role\":\"tool\","
                            "\"tool_call_id\":\"call_headroom_mcp\",\"content\":");
    rc |= hr_json_write_string(body, content, len);
    rc |= hr_buf_puts(body, "}]}");
    return rc ? -1 : 0;
}

/* The tool message's content in the pipeline's output body. */
static int unwrap_tool_content(const hr_buf *body, hr_buf *out)
{
    hr_json_doc d = {0};
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, body->data, body->len, &lim, &err) != 0)
        return -1;
    uint32_t msgs = hr_json_get(&d, 0, "messages");
    uint32_t tool = msgs != HR_JSON_NONE ? hr_json_index(&d, msgs, 2) : HR_JSON_NONE;
    uint32_t content = tool != HR_JSON_NONE ? hr_json_get(&d, tool, "content") : HR_JSON_NONE;
    int rc = content != HR_JSON_NONE ? hr_json_string(&d, content, out) : -1;
    hr_json_doc_free(&d);
    return rc;
}

static int compress_with_pipeline(void *user, const char *content, size_t len,
                                  const char *query, size_t qlen, hr_buf *out, char *transform,
                                  size_t transform_len)
{
    mcp_compress_ctx *ctx = user;
    hr_buf body = HR_BUF_INIT;
    if (wrap_as_chat(&body, content, len, query, qlen) < 0) {
        hr_buf_free(&body);
        return -1;
    }
    hr_pipeline_input in = {HR_SHAPE_OPENAI_CHAT, body.data, body.len, NULL, ctx->tenant,
                            "mcp"};
    hr_pipeline_result res;
    int rc = 0;
    if (hr_pipeline_run(&in, &res) == 0 && res.modified) {
        rc = unwrap_tool_content(&res.body, out) == 0 ? 1 : -1;
        snprintf(transform, transform_len, "%s", res.transforms);
    }
    hr_pipeline_result_free(&res);
    hr_buf_free(&body);
    return rc;
}

int hr_cmd_mcp(int argc, char **argv)
{
    hr_ccr_config cfg;
    hr_ccr_config_default(&cfg);
    char err[256];
    if (hr_ccr_config_from_env(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "headroom mcp: %s\n", err);
        return 2;
    }
    char tenant[HR_CCR_TENANT_MAX + 1];
    hr_ccr_tenant_derive(NULL, 0, tenant);
    for (int i = 1; i < argc;) {
        int r = hr_ccr_config_arg(&cfg, argc, argv, &i, err, sizeof err);
        if (r == 0)
            r = hr_ccr_tenant_arg(argc, argv, &i, tenant, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "headroom mcp: %s\n", err);
            return 2;
        }
        if (r > 0)
            continue;
        fprintf(!strcmp(argv[i], "--help") ? stdout : stderr,
                "usage: headroom mcp [--tenant KEY | --api-key-env VAR | --bearer-env VAR]\n"
                "                    [--ccr-backend sqlite|memory|redis] [--data-dir DIR]\n"
                "                    [--redis-url URL] [--ccr-ttl S]\n\n"
                "MCP server on stdin/stdout (JSON-RPC, one message per line) with the\n"
                "tools headroom_retrieve, headroom_compress and headroom_stats, over the\n"
                "same CCR store as the proxy. Configure it in an MCP client as the\n"
                "command `headroom mcp`.\n");
        return !strcmp(argv[i], "--help") ? 0 : 2;
    }
    hr_ccr_store *store = hr_ccr_store_open(&cfg, err, sizeof err);
    if (!store) {
        fprintf(stderr, "headroom mcp: cannot open the CCR store: %s\n", err);
        return 3;
    }
    mcp_compress_ctx ctx = {tenant};
    hr_mcp_server srv = {0};
    srv.store = store;
    srv.tenant = tenant;
    srv.compress = compress_with_pipeline;
    srv.compress_user = &ctx;
    int rc = hr_mcp_serve(&srv, stdin, stdout);
    hr_ccr_store_close(store);
    return rc == 0 ? 0 : 1;
}
