/* bedrock.c: Amazon Bedrock Runtime; see bedrock.h for the signing rule and the
 * passthrough rule. The forwarding core (forward.c) asks this file three things: whether a
 * client may have its request signed, which headers go upstream (signed or untouched), and
 * what the event stream coming back says about usage (and how to end it on a break). */
#include "proxy/bedrock.h"

#include "http/aws_credentials.h"
#include "http/sigv4.h"
#include "json/json.h"
#include "proxy/config.h"
#include "sys/ascii.h"
#include "sys/base64.h"
#include "sys/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Set once by hr_bedrock_setup before the server starts; read-only while serving. */
static hr_aws_credentials g_creds;
static char g_url[1024];
static char g_region[64] = "us-east-1";

/* ---- routes ------------------------------------------------------------------------------- */

#define MODEL_PREFIX "/model/"

int hr_bedrock_is_api(const hr_api *api)
{
    return api && !strcmp(api->provider, "bedrock");
}

int hr_bedrock_streams(const char *path)
{
    size_t n = strlen(path);
    return n > 7 && !strcmp(path + n - 7, "-stream");
}

/* The id sits between /model/ and the last segment (the operation); an ARN id may itself
 * hold '/' once decoded, so the last segment is what is cut. */
void hr_bedrock_model_id(const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    size_t p = sizeof MODEL_PREFIX - 1;
    const char *op = strrchr(path, '/');
    if (strncmp(path, MODEL_PREFIX, p) != 0 || !op || op <= path + p)
        return;
    snprintf(out, cap, "%.*s", (int)(op - path - p), path + p);
}

/* ---- settings ----------------------------------------------------------------------------- */

static int region_name(const char *r)
{
    for (const char *p = r; *p; p++) /* it becomes part of a host name */
        if (!(hr_is_lower(*p) || hr_is_digit(*p) || *p == '-'))
            return 0;
    return *r != '\0';
}

/* Bedrock is optional: a profile that is not there or a region that is not one must not
 * stop the proxy for everyone else, so they are logged and Bedrock passes through. */
void hr_bedrock_setup(const char *url, const char *region, const char *profile)
{
    char why[300];
    if (hr_aws_credentials_load(&g_creds, profile, region, why, sizeof why) != 0) {
        hr_log_fields(HR_LOG_WARN, "bedrock credentials unusable, Bedrock passes through",
                      "error", why, (const char *)NULL);
        char keep[sizeof g_creds.region]; /* the region found before the failure stays */
        snprintf(keep, sizeof keep, "%s", g_creds.region);
        memset(&g_creds, 0, sizeof g_creds);
        snprintf(g_creds.source, sizeof g_creds.source, "none");
        memcpy(g_creds.region, keep, sizeof keep);
    }
    if (g_creds.region[0] && region_name(g_creds.region))
        snprintf(g_region, sizeof g_region, "%s", g_creds.region);
    else if (g_creds.region[0])
        hr_log_fields(HR_LOG_WARN, "bedrock region is not a region name, using us-east-1",
                      "region", g_creds.region, (const char *)NULL);
    if (url && *url)
        snprintf(g_url, sizeof g_url, "%s", url);
    else
        snprintf(g_url, sizeof g_url, "https://bedrock-runtime.%s.amazonaws.com", g_region);
    hr_log_fields(HR_LOG_INFO, "bedrock", "credentials", g_creds.source, "region", g_region,
                  "mode", g_creds.present ? "compress and re-sign" : "passthrough",
                  (const char *)NULL);
}

int hr_bedrock_can_sign(void) { return g_creds.present; }
const char *hr_bedrock_url(void) { return g_url; }
const char *hr_bedrock_credentials_source(void) { return g_creds.source; }
const char *hr_bedrock_region(void) { return g_region; }

/* ---- checking the client's signature ------------------------------------------------------ */

static const char *header_of(const char *const *h, size_t n, const char *name, size_t name_len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(h[2 * i]) == name_len && !strncasecmp(h[2 * i], name, name_len))
            return h[2 * i + 1];
    return NULL;
}

/* The client's headers named in its SignedHeaders list, in pairs (repeats kept). */
static const char **signed_subset(const hr_sigv4_parsed *a, const char *const *h, size_t n,
                                  size_t *n_out, char *why, size_t whylen)
{
    const char **out = malloc((n ? n : 1) * 2 * sizeof *out);
    if (!out)
        return NULL;
    size_t k = 0;
    const char *p = a->signed_headers, *end = p + a->signed_headers_len;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        size_t len = (size_t)((semi ? semi : end) - p);
        int found = 0;
        for (size_t i = 0; i < n; i++)
            if (strlen(h[2 * i]) == len && !strncasecmp(h[2 * i], p, len)) {
                out[2 * k] = h[2 * i];
                out[2 * k + 1] = h[2 * i + 1];
                k++;
                found = 1;
            }
        if (!found) {
            snprintf(why, whylen, "signed header %.*s is missing", (int)len, p);
            free(out);
            return NULL;
        }
        p += len + 1;
    }
    *n_out = k;
    return out;
}

/* Seconds between an x-amz-date value and now, or -1 when it is not one. */
static long long skew_seconds(const char *amz_date, time_t now)
{
    struct tm tm = {0};
    const char *end = amz_date ? strptime(amz_date, "%Y%m%dT%H%M%SZ", &tm) : NULL;
    if (!end || *end)
        return -1;
    long long d = (long long)timegm(&tm) - (long long)now;
    return d < 0 ? -d : d;
}

#define MAX_SKEW_S (15 * 60) /* AWS refuses signatures older or newer than 15 minutes */

/* 1 when the client's SignedHeaders list names name (len bytes). */
static int client_signed(const hr_sigv4_parsed *a, const char *name, size_t len)
{
    const char *p = a->signed_headers, *end = p + a->signed_headers_len;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        size_t n = (size_t)((semi ? semi : end) - p);
        if (n == len && !strncasecmp(p, name, len))
            return 1;
        p += n + 1;
    }
    return 0;
}

/* What AWS itself demands of a signature's coverage, so a partial one cannot borrow the
 * proxy's: the scope is Bedrock's (a signature made for another service with the same key
 * is not one for this), Host is signed, and so is every x-amz- / x-amzn- header sent
 * (x-amzn-trace-id aside, which AWS leaves unsigned). Without this, headers nobody signed
 * would reach Bedrock under the proxy's own signature. 0 ok, else -1 with why. */
static int coverage_ok(const hr_sigv4_parsed *a, const char *const *h, size_t n, char *why,
                       size_t whylen)
{
    if (a->service_len != 7 || memcmp(a->service, "bedrock", 7) != 0) {
        snprintf(why, whylen, "its credential scope names service '%.*s', not bedrock",
                 (int)(a->service_len > 32 ? 32 : a->service_len), a->service);
        return -1;
    }
    if (!client_signed(a, "host", 4)) {
        snprintf(why, whylen, "Host is not among its signed headers");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = h[2 * i];
        if (strncasecmp(name, "x-amz-", 6) != 0 && strncasecmp(name, "x-amzn-", 7) != 0)
            continue;
        if (strcasecmp(name, "x-amzn-trace-id") != 0 && !client_signed(a, name, strlen(name))) {
            snprintf(why, whylen, "header %.64s is sent but not signed", name);
            return -1;
        }
    }
    return 0;
}

int hr_bedrock_verify_client(const char *method, const char *target,
                             const char *const *h, size_t n, const char *body, size_t len,
                             time_t now, char *why, size_t whylen)
{
    hr_sigv4_parsed a;
    const char *auth = header_of(h, n, "authorization", 13);
    if (hr_sigv4_parse_authorization(auth, &a) != 0) {
        snprintf(why, whylen, "the request carries no AWS SigV4 Authorization header");
        return -1;
    }
    if (!hr_sigv4_equal(a.access_key_id, a.access_key_id_len, g_creds.access_key_id,
                        strlen(g_creds.access_key_id))) {
        snprintf(why, whylen, "it is signed with another access key than the proxy's");
        return -1;
    }
    if (coverage_ok(&a, h, n, why, whylen) != 0)
        return -1;
    const char *date = header_of(h, n, "x-amz-date", 10);
    long long skew = skew_seconds(date, now);
    if (skew < 0 || skew > MAX_SKEW_S || memcmp(date, a.date, 8) != 0) {
        snprintf(why, whylen, "x-amz-date is missing or more than 15 minutes off");
        return -1;
    }
    size_t k = 0;
    const char **sh = signed_subset(&a, h, n, &k, why, whylen);
    if (!sh)
        return -1;
    char hash[65], region[64], service[64];
    const char *given = header_of(h, n, "x-amz-content-sha256", 20);
    hr_sigv4_payload_hash(body, len, hash);
    snprintf(region, sizeof region, "%.*s", (int)a.region_len, a.region);
    snprintf(service, sizeof service, "%.*s", (int)a.service_len, a.service);
    hr_buf path = HR_BUF_INIT, mine = HR_BUF_INIT;
    const char *q = strchr(target, '?');
    int rc = hr_buf_append(&path, target, q ? (size_t)(q - target) : strlen(target));
    hr_sigv4_input in = {method, path.data ? path.data : "/", q ? q + 1 : "", sh, k,
                         given ? given : hash, date, region, service,
                         g_creds.access_key_id, g_creds.secret_access_key};
    rc |= hr_sigv4_authorization(&in, &mine);
    const char *sig = rc == 0 ? strstr(mine.data, "Signature=") : NULL;
    int ok = sig && hr_sigv4_equal(sig + 10, strlen(sig + 10), a.signature, a.signature_len) &&
             (!given || !strcmp(given, hash));
    if (!ok)
        snprintf(why, whylen, "the signature does not match the proxy's credentials");
    free(sh);
    hr_buf_free(&path);
    hr_buf_free(&mine);
    return ok ? 0 : -1;
}

/* ---- signing for the upstream ------------------------------------------------------------- */

/* Not signed by the proxy: the client's auth (replaced), and headers a hop may change. */
static int replaced(const char *name)
{
    static const char *const R[] = {"authorization", "x-amz-date", "x-amz-security-token",
                                    "x-amz-content-sha256", "host"};
    for (size_t i = 0; i < sizeof R / sizeof R[0]; i++)
        if (!strcasecmp(name, R[i]))
            return 1;
    return 0;
}

static int unsigned_header(const char *name)
{
    static const char *const U[] = {"user-agent", "expect", "x-amzn-trace-id", "content-length"};
    for (size_t i = 0; i < sizeof U / sizeof U[0]; i++)
        if (!strcasecmp(name, U[i]))
            return 1;
    return 0;
}

/* host[:port] of the upstream URL, as libcurl's Host header would say it. */
static int url_host(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    if (!p)
        return -1;
    p += 3;
    size_t n = strcspn(p, "/");
    const char *at = memchr(p, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (!n || n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

int hr_bedrock_sign(const char *method, const char *target, const char *const *fwd, size_t n_fwd,
                    const char *body, size_t len, time_t now, hr_bedrock_signed *s)
{
    memset(s, 0, sizeof *s);
    if (!g_creds.present || url_host(g_url, s->host, sizeof s->host) != 0)
        return -1;
    s->headers = malloc((n_fwd + 6) * 2 * sizeof *s->headers);
    const char **sign = malloc((n_fwd + 6) * 2 * sizeof *sign);
    if (!s->headers || !sign) {
        free(sign);
        return -1;
    }
    size_t n = 0, k = 0;
    int wants_hash = 0;
    for (size_t i = 0; i < n_fwd; i++) {
        const char *name = fwd[2 * i];
        wants_hash |= !strcasecmp(name, "x-amz-content-sha256");
        if (replaced(name))
            continue;
        s->headers[2 * n] = name;
        s->headers[2 * n + 1] = fwd[2 * i + 1];
        n++;
    }
    hr_sigv4_amz_date(now, s->amz_date);
    hr_sigv4_payload_hash(body, len, s->payload_hash);
    const char *ours[] = {"host", s->host, "x-amz-date", s->amz_date,
                          "x-amz-security-token", g_creds.session_token,
                          "x-amz-content-sha256", s->payload_hash};
    for (size_t i = 0; i < 4; i++) {
        if ((i == 2 && !g_creds.session_token[0]) || (i == 3 && !wants_hash))
            continue;
        s->headers[2 * n] = ours[2 * i];
        s->headers[2 * n + 1] = ours[2 * i + 1];
        n++;
    }
    for (size_t i = 0; i < n; i++)
        if (!unsigned_header(s->headers[2 * i])) {
            sign[2 * k] = s->headers[2 * i];
            sign[2 * k + 1] = s->headers[2 * i + 1];
            k++;
        }
    hr_buf path = HR_BUF_INIT;
    const char *q = strchr(target, '?');
    int rc = hr_buf_append(&path, target, q ? (size_t)(q - target) : strlen(target));
    hr_sigv4_input in = {method, path.data ? path.data : "/", q ? q + 1 : "", sign, k,
                         s->payload_hash, s->amz_date, g_region, "bedrock",
                         g_creds.access_key_id, g_creds.secret_access_key};
    rc |= hr_sigv4_authorization(&in, &s->authorization);
    hr_buf_free(&path);
    free(sign);
    if (rc != 0)
        return -1;
    s->headers[2 * n] = "authorization";
    s->headers[2 * n + 1] = s->authorization.data;
    s->n = n + 1;
    return 0;
}

void hr_bedrock_signed_free(hr_bedrock_signed *s)
{
    free(s->headers);
    hr_buf_free(&s->authorization);
    memset(s, 0, sizeof *s);
}

/* ---- the event stream coming back --------------------------------------------------------- */

/* invoke-with-response-stream: {"bytes":"<base64 of an Anthropic event>"}; the event is
 * read for usage like an SSE data line. */
static void read_chunk(hr_bedrock_stream *s, const hr_es_message *m)
{
    hr_json_doc d;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    lim.max_string = m->payload_len + 1; /* "bytes" is most of the payload */
    hr_json_error err;
    if (hr_json_parse(&d, (const char *)m->payload, m->payload_len, &lim, &err) != 0)
        return;
    hr_buf b64 = HR_BUF_INIT, event = HR_BUF_INIT;
    uint32_t bytes = d.nodes[0].type == HR_JSON_OBJECT ? hr_json_get(&d, 0, "bytes") : HR_JSON_NONE;
    if (bytes != HR_JSON_NONE && hr_json_string(&d, bytes, &b64) == 0 && b64.data &&
        hr_base64_decode(b64.data, b64.len, &event) == 0 && event.data)
        hr_usage_from_json(&hr_api_bedrock_invoke, event.data, event.len, s->usage);
    hr_buf_free(&b64);
    hr_buf_free(&event);
    hr_json_doc_free(&d);
}

static void on_message(void *user, const hr_es_message *m)
{
    hr_bedrock_stream *s = user;
    size_t k = 0, e = 0;
    const char *type = hr_es_header_string(m, ":message-type", &k);
    const char *event = hr_es_header_string(m, ":event-type", &e);
    if (!type || k != 5 || memcmp(type, "event", 5) != 0 || !event)
        return;
    if (e == 5 && !memcmp(event, "chunk", 5))
        read_chunk(s, m);
    else if (e == 8 && !memcmp(event, "metadata", 8)) /* converse-stream's usage */
        hr_usage_from_json(&hr_api_bedrock_converse, (const char *)m->payload, m->payload_len,
                           s->usage);
}

/* Bedrock's frames are deltas of a few hundred bytes; a frame past this is relayed but not
 * read (usage is optional), so each stream holds at most this much besides the relay. */
#define OBSERVED_FRAME_MAX (1u << 20)

void hr_bedrock_stream_init(hr_bedrock_stream *s, hr_usage *usage)
{
    hr_es_decoder_init(&s->es, on_message, s, OBSERVED_FRAME_MAX);
    s->usage = usage;
}

int hr_bedrock_stream_feed(hr_bedrock_stream *s, const char *data, size_t len)
{
    return hr_es_feed(&s->es, data, len);
}

int hr_bedrock_stream_at_boundary(const hr_bedrock_stream *s)
{
    return !s->es.failed && s->es.pending.len == 0;
}

void hr_bedrock_stream_free(hr_bedrock_stream *s)
{
    hr_es_decoder_free(&s->es);
}

int hr_bedrock_exception_frame(hr_buf *out, const char *msg)
{
    hr_buf payload = HR_BUF_INIT;
    const hr_es_string_header h[] = {{":message-type", "exception"},
                                     {":exception-type", "internalServerException"},
                                     {":content-type", "application/json"}};
    int rc = hr_buf_puts(&payload, "{\"message\":") | hr_json_write_string(&payload, msg, strlen(msg)) |
             hr_buf_putc(&payload, '}');
    if (rc == 0)
        rc = hr_es_encode(out, h, 3, payload.data, payload.len);
    hr_buf_free(&payload);
    return rc;
}
