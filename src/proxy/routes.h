/* routes.h: the route table and the request/response abstraction every route handler uses.
 *
 * The server (http/server.c) turns each HTTP request into an hr_request and dispatches it:
 *   1. routes in the table below, first match wins (method + exact path or path prefix);
 *   2. otherwise the forwarding core (proxy/forward.c): the three compressible routes
 *      (POST /v1/chat/completions, /v1/messages, /v1/responses) go through hr_pipeline_run,
 *      everything else is passed through to the provider chosen from the auth headers.
 * Handlers here are for local answers (health, stats, compress, retrieve, debug): they get
 * the whole (decoded) request body and fill a buffered hr_response. Streaming upstream
 * relays live in the forwarding core only.
 *
 * ADDING A ROUTE (no edit of the core needed):
 *   - write `int hr_route_foo(const hr_request *req, hr_response *res)` in src/proxy/foo.c
 *     (include this header);
 *   - add ONE line to src/proxy/routes.def:
 *         HR_ROUTE("POST", "/v1/foo", HR_MATCH_EXACT, hr_route_foo)
 *     routes.def is an X-macro list: this header expands it into the prototypes and
 *     route_table.c into the table, so that one line is the whole registration.
 *   Match kinds: HR_MATCH_EXACT (path equal), HR_MATCH_PREFIX (path starts with; e.g.
 *   "/v1/retrieve/" gets "/v1/retrieve/<hash>"). Method "*" matches any method; a path that
 *   matches with another method gets a 405 in the provider's error shape.
 *   Paths under /debug/ answer only to loopback clients (enforced by the core: 404 else).
 *
 * Unit tests of a handler can build an hr_request by hand (it is plain data) and call the
 * handler directly; no server is needed.
 *
 * Ownership: the core owns hr_request and everything it points to (valid only during the
 * handler call). The handler fills res through the hr_response_* functions below; the core
 * owns res and frees it after sending. A handler returns 0 when res holds the answer; a
 * non-zero return makes the core answer 500 in the provider's error shape (fail safe).
 * Handlers run on the connection's own thread and may block (file/db/network I/O is fine).
 */
#ifndef HR_PROXY_ROUTES_H
#define HR_PROXY_ROUTES_H

#include "api/api.h"
#include "sys/buf.h"

#include <stddef.h>

typedef struct hr_request {
    const char *method;      /* "GET", "POST", ... */
    const char *path;        /* decoded path without the query, e.g. "/v1/retrieve/abc" */
    const char *query;       /* raw query string without '?', "" when none */
    const char *body;        /* request body, Content-Encoding (gzip/deflate/zstd) decoded; */
    size_t body_len;         /*   NUL-terminated for convenience; may be "" (len 0) */
    const char *client_addr; /* numeric address of the client, e.g. "127.0.0.1" */
    int client_is_loopback;  /* 1 for 127.0.0.0/8, ::1, ::ffff:127.x */
    const char *request_id;  /* "hr-" + 16 hex; also sent as x-headroom-request-id */
    const char *tenant;      /* 16 hex of SHA-256("headroom-tenant:" + credential), where the
                                credential is x-api-key, Authorization, x-goog-api-key or
                                api-key, the first present ("anonymous" when none); never
                                the credential itself */
    const hr_api *api;       /* the API row owning the path, else the one the auth headers
                                name (hr_api_for_path, hr_api_from_headers); never NULL:
                                selects the error shape and the upstream */
    const char *const *headers; /* n_headers name/value pairs: headers[2i] is a name (as the
                                client sent it), headers[2i+1] its value */
    size_t n_headers;
} hr_request;

/* Case-insensitive header lookup; NULL when absent. The returned string lives as long as
 * the request. */
const char *hr_request_header(const hr_request *req, const char *name);

/* URL-decoded value of a query parameter into out (appended). 1 found, 0 absent,
 * -1 out of memory. */
int hr_request_query_param(const hr_request *req, const char *name, hr_buf *out);

#define HR_RESPONSE_MAX_HEADERS 32

typedef struct hr_response {
    int status;                   /* 0 until set */
    hr_buf body;
    char *content_type;           /* owned; NULL = "application/json" */
    int n_headers;
    char *header_names[HR_RESPONSE_MAX_HEADERS];  /* owned */
    char *header_values[HR_RESPONSE_MAX_HEADERS]; /* owned */
} hr_response;

#define HR_RESPONSE_INIT {0, HR_BUF_INIT, NULL, 0, {0}, {0}}

/* Sets status and a JSON body (copied). 0 ok, -1 out of memory. */
int hr_response_json(hr_response *res, int status, const char *json, size_t len);
/* Sets status, content type and body (copied). */
int hr_response_body(hr_response *res, int status, const char *content_type,
                     const char *data, size_t len);
/* Adds a response header (copied). -1 when full or out of memory. */
int hr_response_header(hr_response *res, const char *name, const char *value);
/* An error in the API's own JSON shape (its row's error_json), e.g.
 *   OpenAI:    {"error":{"message":msg,"type":type,"code":code}}
 *   Anthropic: {"type":"error","error":{"type":type,"message":msg}}
 * type is e.g. "invalid_request_error", "not_found_error", "api_error"; code (OpenAI only)
 * may be NULL (written as null). msg is printf-formatted and should say what was wrong. */
int hr_response_error(hr_response *res, const hr_api *api, int status, const char *type,
                      const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void hr_response_free(hr_response *res);


/* ---- the table ------------------------------------------------------------------------ */

typedef enum { HR_MATCH_EXACT = 0, HR_MATCH_PREFIX = 1 } hr_route_match;

typedef int (*hr_route_handler)(const hr_request *req, hr_response *res);

typedef struct hr_route {
    const char *method;       /* "GET", "POST", ..., or "*" for any */
    const char *path;
    hr_route_match match;
    hr_route_handler handler;
    const char *name;         /* label in logs and metrics (the handler's name) */
} hr_route;

/* The prototype of every handler in routes.def, so each handler's definition is checked
 * against it (the file defining it includes this header). */
#define HR_ROUTE(method, path, match, handler) int handler(const hr_request *req, hr_response *res);
#include "proxy/routes.def"
#undef HR_ROUTE

/* The table expanded from routes.def; n_out receives its length. */
const hr_route *hr_routes(size_t *n_out);

/* Finds the route for method + path. Returns the route, or NULL. *path_matched is set to 1
 * when some route has this path but another method (the core answers 405). */
const hr_route *hr_route_find(const char *method, const char *path, int *path_matched);

#endif
