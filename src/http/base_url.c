/* base_url.c: the per-request upstream's allowlist check (see base_url.h for the rules and
 * why they are strict). An origin is parsed into {https, host, port}; the list is parsed
 * entry by entry at each check (a handful of entries: cheaper than keeping state). */
#include "http/base_url.h"

#include "sys/ascii.h"

#include <curl/curl.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 254

typedef struct origin {
    int https;
    char host[HOST_MAX + 1]; /* lowercased; IPv6 with its brackets */
    unsigned port;
} origin;

static int is_name_char(char c) { return hr_is_alnum(c) || c == '.' || c == '-'; }

static int is_ipv6_char(char c) { return hr_is_xdigit(c) || c == ':' || c == '.'; }

/* Parses "host[:port]" (n bytes, no user info) into o. 0 ok, -1 refused. */
static int parse_authority(const char *a, size_t n, origin *o)
{
    size_t i = 0, h = 0;
    if (n && a[0] == '[') {
        for (i = 1; i < n && a[i] != ']'; i++)
            if (!is_ipv6_char(a[i]))
                return -1;
        if (i >= n || i == 1)
            return -1;
        i++; /* past ']' */
    } else {
        while (i < n && a[i] != ':') {
            if (!is_name_char(a[i]))
                return -1;
            i++;
        }
        if (i == 0)
            return -1;
    }
    if (i > HOST_MAX)
        return -1;
    for (h = 0; h < i; h++)
        o->host[h] = (char)hr_to_lower(a[h]);
    o->host[h] = 0;
    if (i == n)
        return 0;
    if (a[i] != ':' || i + 1 == n || n - i - 1 > 5) /* ":" then 1..5 digits */
        return -1;
    unsigned port = 0;
    for (i++; i < n; i++) {
        if (!hr_is_digit(a[i]))
            return -1;
        port = port * 10 + (unsigned)(a[i] - '0');
    }
    if (port == 0 || port > 65535)
        return -1;
    o->port = port;
    return 0;
}

/* Parses the scheme and authority of s (n bytes). need_scheme: a bare host is refused (a
 * client URL); else it means https (a list entry). *rest gets what follows the authority.
 * 0 ok, -1 refused. */
static int parse_origin(const char *s, size_t n, int need_scheme, origin *o, const char **rest)
{
    memset(o, 0, sizeof *o);
    o->https = 1;
    if (n >= 8 && !strncasecmp(s, "https://", 8)) {
        s += 8;
        n -= 8;
    } else if (n >= 7 && !strncasecmp(s, "http://", 7)) {
        o->https = 0;
        s += 7;
        n -= 7;
    } else if (need_scheme || memmem(s, n, "://", 3)) {
        return -1;
    }
    size_t a = 0;
    while (a < n && s[a] != '/')
        a++;
    if (memchr(s, '@', a)) /* user info: the classic way to make a URL look like another */
        return -1;
    if (parse_authority(s, a, o) != 0)
        return -1;
    if (!o->port)
        o->port = o->https ? 443 : 80;
    *rest = s + a;
    return 0;
}

static int same_origin(const origin *a, const origin *b)
{
    return a->https == b->https && a->port == b->port && !strcmp(a->host, b->host);
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* Calls fn for each entry of list; stops at the first nonzero return and returns it. A bad
 * entry returns -1 with *bad pointing at it. */
typedef int (*entry_fn)(const origin *o, void *user);

static int each_entry(const char *list, entry_fn fn, void *user, const char **bad, size_t *bad_len)
{
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *e = p, *rest = NULL;
        trim(&e, &n);
        if (n) {
            origin o;
            if (parse_origin(e, n, 0, &o, &rest) != 0 || rest != e + n) {
                *bad = e;
                *bad_len = n;
                return -1;
            }
            int rc = fn(&o, user);
            if (rc)
                return rc;
        }
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

static int accept_any(const origin *o, void *user)
{
    (void)o;
    (void)user;
    return 0;
}

int hr_base_url_allowlist_check(const char *list, char *err, size_t errlen)
{
    const char *bad = NULL;
    size_t bad_len = 0;
    if (each_entry(list, accept_any, NULL, &bad, &bad_len) == 0)
        return 0;
    snprintf(err, errlen,
             "--allow-base-url: '%.*s' is not an origin (https://host[:port], http://host[:port] "
             "or host[:port]; no user info, path or query)",
             (int)(bad_len > 200 ? 200 : bad_len), bad);
    return -1;
}

static int matches(const origin *o, void *user)
{
    return same_origin(o, user) ? 1 : 0;
}

/* Path bytes after the authority: printable ASCII without the characters that end or
 * escape a path ('?', '#', '%', '\\'); the caller appends an origin-form target to it. */
static int path_ok(const char *p)
{
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p; /* printable ASCII is 0x21..0x7e */
        if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '%' || c == '\\')
            return 0;
    }
    return 1;
}

/* libcurl's reading of url must be ours: scheme, host and port. */
static int curl_agrees(const char *url, const origin *o)
{
    CURLU *h = curl_url();
    if (!h)
        return 0;
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
    int ok = curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
             curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
             curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
             curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_NO_USER;
    if (ok) {
        char want_port[8];
        snprintf(want_port, sizeof want_port, "%u", o->port);
        ok = !strcasecmp(scheme, o->https ? "https" : "http") && !strcasecmp(host, o->host) &&
             !strcmp(port, want_port);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_url_cleanup(h);
    return ok;
}

int hr_base_url_allowed(const char *list, const char *url, const char **reason)
{
    origin o;
    const char *rest = NULL;
    if (!list || !*list) {
        *reason = "per-request upstreams are not enabled on this proxy (--allow-base-url)";
        return -1;
    }
    if (parse_origin(url, strlen(url), 1, &o, &rest) != 0 || !path_ok(rest)) {
        *reason = "x-headroom-base-url must be http(s)://host[:port][/path] without user info, "
                  "percent-escapes, query or fragment";
        return -1;
    }
    const char *bad = NULL;
    size_t bad_len = 0;
    if (each_entry(list, matches, &o, &bad, &bad_len) != 1) {
        *reason = "x-headroom-base-url names an origin that is not on the proxy's allowlist "
                  "(--allow-base-url)";
        return -1;
    }
    if (!curl_agrees(url, &o)) {
        *reason = "x-headroom-base-url is read differently by the upstream client; refused";
        return -1;
    }
    return 0;
}
