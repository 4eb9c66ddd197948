/* cmd_mcp.c: `headroom mcp [serve]`, the MCP server over stdio (src/ccr/mcp.c) wired to the CCR
 * store and to the compression pipeline. headroom_compress runs a pipeline instance of its
 * own (hr_pipeline_compress_text: the proxy's routing, ratio and store rules for one raw
 * tool output) whose originals go to this server's store, so --data-dir and the backend
 * options hold for compress and retrieve alike. stdout carries protocol messages only;
 * logs go to stderr.
 */
#include "cli/commands.h"

#include "ccr/mcp.h"
#include "ccr/store.h"
#include "compress/pipeline_instance.h"

#include <stdio.h>
#include <string.h>

typedef struct mcp_compress_ctx {
    hr_pipeline *pipeline;
    const char *tenant;
} mcp_compress_ctx;

static int compress_with_pipeline(void *user, const char *content, size_t len,
                                  const char *query, size_t qlen, hr_buf *out, char *transform,
                                  size_t transform_len, long long tokens[2])
{
    mcp_compress_ctx *ctx = user;
    hr_compress_result res;
    memset(&res, 0, sizeof res);
    long long before = 0, after = 0;
    int rc = hr_pipeline_compress_text(ctx->pipeline, content, len, NULL, query, qlen,
                                       ctx->tenant, &res, &before, &after);
    int compressed = 0;
    if (rc == 0 && res.compressed) {
        compressed = hr_buf_append(out, res.out.data ? res.out.data : "", res.out.len) == 0 ? 1 : -1;
        snprintf(transform, transform_len, "%s", res.compressor ? res.compressor : "");
    }
    hr_compress_result_free(&res);
    tokens[0] = before;
    tokens[1] = compressed == 1 ? after : before;
    return rc == 0 ? compressed : -1;
}

int hr_cmd_mcp(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "install") || !strcmp(argv[1], "uninstall") ||
                      !strcmp(argv[1], "status")))
        return hr_cmd_mcp_admin(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "serve")) { /* what the original registers */
        argc--;
        argv++;
    }
    hr_ccr_config cfg;
    hr_ccr_config_default(&cfg);
    char err[256];
    if (hr_ccr_config_from_env(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "headroom mcp: %s\n", err);
        return 2;
    }
    char tenant[HR_TENANT_MAX + 1];
    hr_tenant_derive(NULL, 0, tenant);
    for (int i = 1; i < argc; i++) {
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
                "usage: headroom mcp [serve] [--tenant KEY | --api-key-env VAR | --bearer-env VAR]\n"
                "                    [--ccr-backend sqlite|memory|redis] [--data-dir DIR]\n"
                "                    [--redis-url URL] [--ccr-ttl S]\n"
                "       headroom mcp install|uninstall [--agent NAME]...\n"
                "       headroom mcp status\n\n"
                "MCP server on stdin/stdout (JSON-RPC, one message per line) with the\n"
                "tools headroom_retrieve, headroom_compress and headroom_stats, over the\n"
                "same CCR store as the proxy. Configure it in an MCP client as the\n"
                "command `headroom mcp serve`; `install` does that for the coding agents\n"
                "found here (claude, codex, copilot, cursor, cline, continue, vibe).\n");
        return !strcmp(argv[i], "--help") ? 0 : 2;
    }
    hr_ccr_store *store = hr_ccr_store_open(&cfg, err, sizeof err);
    if (!store) {
        fprintf(stderr, "headroom mcp: cannot open the CCR store: %s\n", err);
        return 3;
    }
    hr_pipeline_config pcfg;
    hr_pipeline_config_default(&pcfg);
    if (hr_pipeline_config_from_env(&pcfg, err, sizeof err) != 0) {
        fprintf(stderr, "headroom mcp: %s\n", err);
        hr_ccr_store_close(store);
        return 2;
    }
    hr_pipeline *pipeline = hr_pipeline_new(&pcfg, HR_PIPELINE_STORE_GIVEN, store);
    if (!pipeline) {
        fprintf(stderr, "headroom mcp: out of memory\n");
        hr_ccr_store_close(store);
        return 3;
    }
    mcp_compress_ctx ctx = {pipeline, tenant};
    hr_mcp_server srv = {0};
    srv.store = store;
    srv.tenant = tenant;
    srv.compress = compress_with_pipeline;
    srv.compress_user = &ctx;
    int rc = hr_mcp_serve(&srv, stdin, stdout);
    hr_pipeline_free(pipeline);
    hr_ccr_store_close(store);
    return rc == 0 ? 0 : 1;
}
