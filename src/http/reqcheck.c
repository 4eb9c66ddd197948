/* reqcheck.c: the request-head checks of reqcheck.h (target form, field bytes, framing).
 * Each check names the rule it enforces; the reasons go to the client verbatim. */
#include "http/reqcheck.h"

#include "sys/ascii.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int refuse(hr_reqcheck_result *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(hr_reqcheck_result *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    r->status = status;
    return status;
}

/* ---- target ----------------------------------------------------------------------------- */

/* RFC 3986 pchar without '%' (unreserved, sub-delims, ':' '@'); the query adds '/' '?'. */
static int is_pchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c && strchr("-._~!$&'()*+,;=:@", c) != NULL;
}

/* Beyond pchar: '/' and the bytes that WHATWG URL serialisers (fetch, browsers, most SDKs)
 * leave unencoded although RFC 3986 reserves them; harmless here, because the target is
 * appended after the base's authority and never parsed as a URL of its own. Never: space,
 * controls, '"', '#', '<', '>', and '\\' in the path (some servers read it as '/'). */
#define PATH_EXTRA "/[]|^"
#define QUERY_EXTRA "/?[]{}|\\^`"

/* Incremental UTF-8 check over decoded bytes (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF). need = continuation bytes still expected; lo/hi bound the next one. */
typedef struct utf8_state {
    int need;
    unsigned char lo, hi;
} utf8_state;

static int utf8_feed(utf8_state *u, unsigned char c)
{
    if (u->need) {
        if (c < u->lo || c > u->hi)
            return -1;
        u->need--;
        u->lo = 0x80;
        u->hi = 0xBF;
        return 0;
    }
    u->lo = 0x80;
    u->hi = 0xBF;
    if (c < 0x80)
        return 0;
    if (c >= 0xC2 && c <= 0xDF)
        u->need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        u->need = 2;
        if (c == 0xE0)
            u->lo = 0xA0;
        if (c == 0xED)
            u->hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        u->need = 3;
        if (c == 0xF0)
            u->lo = 0x90;
        if (c == 0xF4)
            u->hi = 0x8F;
    } else
        return -1;
    return 0;
}

/* Checks one component (path or query) of length n. in_path adds the path-only rules. */
static int check_component(const char *s, size_t n, int in_path, hr_reqcheck_result *r)
{
    const char *what = in_path ? "path" : "query";
    utf8_state u = {0, 0x80, 0xBF};
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || !hr_is_xdigit((unsigned char)s[i + 1]) || !hr_is_xdigit((unsigned char)s[i + 2]))
                return refuse(r, 400, "the request %s has a '%%' not followed by two hex digits",
                              what);
            c = (unsigned char)(hr_hex_val((unsigned char)s[i + 1]) * 16 +
                                hr_hex_val((unsigned char)s[i + 2]));
            i += 2;
            if (c < 0x20 || c == 0x7F)
                return refuse(r, 400, "the request %s encodes a control byte (%%%02X)", what, c);
            if (in_path && (c == '/' || c == '\\'))
                return refuse(r, 400, "the request path encodes a '%c' (%%%02X); send it unencoded",
                              c, c);
        } else if (!is_pchar(c) && !(c && strchr(in_path ? PATH_EXTRA : QUERY_EXTRA, c))) {
            return refuse(r, 400, "the request %s has a byte not allowed in a URI (0x%02X)", what, c);
        }
        if (utf8_feed(&u, c) != 0)
            return refuse(r, 400, "the request %s decodes to invalid UTF-8", what);
    }
    if (u.need)
        return refuse(r, 400, "the request %s decodes to invalid UTF-8", what);
    return 0;
}

/* A segment that is "." or ".." once decoded ("%2e", "%2E%2e", ...). */
static int is_dot_segment(const char *s, size_t n)
{
    int dots = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.')
            dots++;
        else if (s[i] == '%' && i + 2 < n && s[i + 1] == '2' && (s[i + 2] | 0x20) == 'e') {
            dots++;
            i += 2;
        } else
            return 0;
    }
    return dots == 1 || dots == 2;
}

static int check_segments(const char *path, size_t n, hr_reqcheck_result *r)
{
    size_t start = 1;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && path[i] != '/')
            continue;
        if (is_dot_segment(path + start, i - start))
            return refuse(r, 400, "the request path has a dot-segment ('.' or '..')");
        start = i + 1;
    }
    return 0;
}

int hr_reqcheck_target(const char *target, hr_reqcheck_result *r)
{
    r->status = 0;
    r->reason[0] = 0;
    if (!target || !*target)
        return refuse(r, 400, "empty request target");
    if (target[0] != '/') {
        if (strstr(target, "://"))
            return refuse(r, 400, "absolute-form request targets are not accepted: send the "
                                  "path only (origin-form, e.g. /v1/chat/completions)");
        return refuse(r, 400, "the request target must start with '/' (origin-form)");
    }
    if (target[1] == '/')
        return refuse(r, 400, "the request path must not start with '//'");
    const char *q = strchr(target, '?');
    size_t path_len = q ? (size_t)(q - target) : strlen(target);
    if (check_component(target, path_len, 1, r) || check_segments(target, path_len, r))
        return r->status;
    return q ? check_component(q + 1, strlen(q + 1), 0, r) : 0;
}

/* ---- fields ----------------------------------------------------------------------------- */

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int hr_reqcheck_field(const char *name, const char *value, size_t value_len,
                      hr_reqcheck_result *r)
{
    r->status = 0;
    if (!*name)
        return refuse(r, 400, "a header field has an empty name");
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (!is_tchar(*p))
            return refuse(r, 400, "a header field name has a byte not allowed in a token (0x%02X)",
                          *p);
    for (size_t i = 0; i < value_len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c == '\r' || c == '\n' || c == 0)
            return refuse(r, 400, "the %.64s header value holds a bare %s", name,
                          c == '\r' ? "CR" : c == '\n' ? "LF" : "NUL");
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return refuse(r, 400, "the %.64s header value holds a control byte (0x%02X)", name, c);
    }
    return 0;
}

void hr_reqcheck_framing_add(hr_reqcheck_framing *f, const char *name, const char *value)
{
    if (!strcasecmp(name, "host")) {
        f->n_host++;
    } else if (!strcasecmp(name, "content-length")) {
        if (f->n_content_length++ == 0)
            f->content_length = value;
        else if (strcmp(f->content_length, value) != 0)
            f->content_length_differs = 1;
    } else if (!strcasecmp(name, "transfer-encoding")) {
        if (f->n_transfer_encoding++ == 0)
            f->transfer_encoding = value;
    }
}

/* 1*DIGIT and no more than 19 digits (fits in 63 bits). */
static int is_decimal_length(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 19)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int hr_reqcheck_framing_verdict(const hr_reqcheck_framing *f, hr_reqcheck_result *r)
{
    r->status = 0;
    if (f->http11 && f->n_host != 1)
        return refuse(r, 400, f->n_host ? "more than one Host header"
                                        : "an HTTP/1.1 request needs a Host header");
    if (f->n_transfer_encoding && f->n_content_length)
        return refuse(r, 400, "Transfer-Encoding and Content-Length together (RFC 9112 6.3)");
    if (f->content_length_differs)
        return refuse(r, 400, "Content-Length headers with different values");
    if (f->n_content_length && !is_decimal_length(f->content_length))
        return refuse(r, 400, "Content-Length is not a decimal number");
    if (f->n_transfer_encoding > 1 || (f->n_transfer_encoding &&
                                       strcasecmp(f->transfer_encoding, "chunked") != 0))
        return refuse(r, 501, "only Transfer-Encoding: chunked is implemented");
    return 0;
}

int hr_http_list_has(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *end = p;
        while (*end && *end != ',' && *end != ' ' && *end != '\t')
            end++;
        if ((size_t)(end - p) == n && strncasecmp(p, token, n) == 0)
            return 1;
        p = end;
    }
    return 0;
}
