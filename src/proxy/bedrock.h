/* bedrock.h: Amazon Bedrock Runtime behind the proxy — what differs from the other APIs:
 *
 *   POST /model/{modelId}/invoke                        Anthropic Messages body, JSON answer
 *   POST /model/{modelId}/invoke-with-response-stream   same body, event-stream answer whose
 *        "chunk" events carry {"bytes": base64(one Anthropic stream event)}
 *   POST /model/{modelId}/converse                      Converse body (toolResult blocks)
 *   POST /model/{modelId}/converse-stream               Converse body, event-stream answer
 *
 * Auth is AWS SigV4, and the client's signature covers the body and the Host it sent to
 * (the proxy), so a request can only be changed if the proxy signs it again. With
 * credentials (http/aws_credentials.h: --bedrock-profile, the environment, AWS_PROFILE or
 * the default profile) the proxy compresses toolResult / tool_result content and re-signs
 * for the Bedrock host; without them every Bedrock request is forwarded byte for byte, its
 * Host and signature untouched, and the answer says why in x-headroom-bedrock.
 *
 * Before lending its credentials the proxy checks the client's own signature with them:
 * only a client holding the same secret (normally the same ~/.aws files or environment)
 * gets its requests signed; anything else is refused with 403 in Bedrock's shape, so the
 * proxy is never a way to use credentials the caller does not have. The signature must
 * also cover what AWS demands (scope service bedrock, Host, every x-amz-/x-amzn- header
 * but x-amzn-trace-id): the proxy never signs a header the client left unsigned there.
 *
 * Upstream: --bedrock-api-url (BEDROCK_TARGET_API_URL), else
 * https://bedrock-runtime.{region}.amazonaws.com with the region of --bedrock-region,
 * AWS_REGION, AWS_DEFAULT_REGION or the profile (us-east-1 when none is set).
 * The routes, body shapes, error shape and usage fields are the two API rows in
 * src/api/bedrock.c; this file is what needs more than JSON: credentials, signatures and
 * the event stream.
 *
 * Ownership: the settings are set once by hr_bedrock_setup before serving and only read
 * afterwards; hr_bedrock_signed and hr_bedrock_stream are owned by the caller (their
 * _free functions).
 */
#ifndef HR_PROXY_BEDROCK_H
#define HR_PROXY_BEDROCK_H

#include "api/api.h"
#include "http/eventstream.h"
#include "proxy/usage.h"
#include "sys/buf.h"

#include <stddef.h>
#include <time.h>

/* 1 when api is one of the Bedrock rows (api/bedrock.c): requests are signed or passed
 * through as below. */
int hr_bedrock_is_api(const hr_api *api);
/* 1 when the operation of path streams its answer (invoke-with-response-stream,
 * converse-stream). */
int hr_bedrock_streams(const char *path);
/* The model id of a /model/{id}/{operation} path (already decoded) into out ("" if none). */
void hr_bedrock_model_id(const char *path, char *out, size_t cap);

/* Loads credentials and settles region and URL, before serving. url may be "" (the AWS
 * endpoint of the region; a given one was checked by the config). Cannot fail: a profile
 * that is missing or a region that is not one is logged as a warning and Bedrock then
 * passes through (Bedrock must not stop the proxy's other routes). Logs where the
 * credentials came from, never what they are. */
void hr_bedrock_setup(const char *url, const char *region, const char *profile);
/* 1 when the proxy holds credentials to sign with. */
int hr_bedrock_can_sign(void);
/* The upstream base URL (no trailing '/'). */
const char *hr_bedrock_url(void);
/* For /health: "environment", "profile NAME (FILE)" or "none"; and the region. */
const char *hr_bedrock_credentials_source(void);
const char *hr_bedrock_region(void);

/* ---- the request going upstream --------------------------------------------------------- */

typedef struct hr_bedrock_signed {
    const char **headers; /* pairs to send; strings borrowed from the input or owned below */
    size_t n;
    char host[256];
    char amz_date[20];
    char payload_hash[65];
    hr_buf authorization;
} hr_bedrock_signed;

/* Checks the client's signature (client_headers: every header as received, pairs;
 * body: the bytes as received) against the proxy's credentials at time now. 0 valid;
 * -1 not (why written into why). */
int hr_bedrock_verify_client(const char *method, const char *target,
                             const char *const *client_headers, size_t n_client,
                             const char *body, size_t len, time_t now, char *why,
                             size_t whylen);

/* Builds the headers for the upstream: fwd (pairs the proxy forwards anyway) without the
 * client's auth headers, plus host, x-amz-date, x-amz-security-token (with a session
 * token), x-amz-content-sha256 (when the client sent one) and a new Authorization over
 * target (as on the wire) and body. 0 ok, -1 failure (fail closed: nothing is sent). */
int hr_bedrock_sign(const char *method, const char *target, const char *const *fwd, size_t n_fwd,
                    const char *body, size_t len, time_t now, hr_bedrock_signed *out);
void hr_bedrock_signed_free(hr_bedrock_signed *s);

/* ---- answers ---------------------------------------------------------------------------- */

/* Reads usage from an event stream while it is relayed: invoke's chunk events (the
 * Anthropic events inside "bytes") and converse-stream's metadata event; a frame over 1 MiB
 * stops the reading (not the relay), so a stream holds at most that much here. */
typedef struct hr_bedrock_stream {
    hr_es_decoder es;
    hr_usage *usage;
} hr_bedrock_stream;

void hr_bedrock_stream_init(hr_bedrock_stream *s, hr_usage *usage);
/* 0 ok; -1 once the framing is broken (the bytes are still relayed, only not read). */
int hr_bedrock_stream_feed(hr_bedrock_stream *s, const char *data, size_t len);
/* 1 when the bytes so far end on a message boundary (a frame may be appended). */
int hr_bedrock_stream_at_boundary(const hr_bedrock_stream *s);
void hr_bedrock_stream_free(hr_bedrock_stream *s);

/* Appends the exception message that ends a stream the upstream broke (msg unescaped). */
int hr_bedrock_exception_frame(hr_buf *out, const char *msg);

#endif
