/* mcp.h: the Model Context Protocol server behind `headroom mcp`, so MCP clients (Claude
 * Desktop, Cursor, agents without the proxy) can retrieve originals and compress on their
 * own. JSON-RPC 2.0 over stdio, one message per line (MCP stdio transport): initialize,
 * notifications (ignored), ping, tools/list, tools/call; anything else is "method not
 * found". Tools: headroom_retrieve {hash, query?}, headroom_compress {content, query?},
 * headroom_stats {}.
 *
 * Compression lives above this library (src/compress depends on src/ccr), so the caller
 * passes it in as a function; the server stores originals itself (see mcp.c) so every
 * marker it returns is retrievable from the same store.
 * Ownership: the caller owns the store and the streams; the server allocates per message.
 */
#ifndef HR_CCR_MCP_H
#define HR_CCR_MCP_H

#include "ccr/store.h"
#include "sys/buf.h"

#include <stdio.h>

/* Compresses content (query may be NULL). Fills out with the text to hand back and
 * returns 1 when it is compressed, 0 when unchanged (out may stay empty), -1 on error.
 * transform receives a short static-ish label such as "logs" (may stay empty); tokens
 * receives the counts before and after (left 0 when unknown: estimated from bytes). */
typedef int (*hr_mcp_compress_fn)(void *user, const char *content, size_t len,
                                  const char *query, size_t query_len, hr_buf *out,
                                  char *transform, size_t transform_len, long long tokens[2]);

typedef struct hr_mcp_server {
    hr_ccr_store *store;          /* borrowed */
    const char *tenant;           /* tenant the tools read and write */
    hr_mcp_compress_fn compress;  /* NULL: headroom_compress returns content unchanged */
    void *compress_user;
    /* counters reported by headroom_stats */
    unsigned long long calls, compress_calls, compressed, bytes_in, bytes_out;
} hr_mcp_server;

/* Handles one JSON-RPC message (one line, without the newline). Appends the response line
 * (with its newline) to out, or nothing for a notification. 0 ok, -1 out of memory. */
int hr_mcp_handle(hr_mcp_server *srv, const char *line, size_t len, hr_buf *out);

/* Reads messages from in until EOF, answering on out (flushed per message). 0 at EOF,
 * -1 on a write error. */
int hr_mcp_serve(hr_mcp_server *srv, FILE *in, FILE *out);

#endif
