/* base_url.h: the per-request upstream. A client may name another upstream base URL for one
 * request (x-headroom-base-url); it is honoured only when its origin (scheme, host, port) is
 * one the operator listed (--allow-base-url; nothing by default), so the header is never a
 * way to reach an address the operator did not allow (SSRF).
 *
 * Why exact origins and a strict parser: the proxy and libcurl must read the URL the same
 * way, or a URL that "looks" allowed to us could connect elsewhere. So the URL is refused,
 * never rewritten, when it holds anything two parsers could disagree on: user info ('@'),
 * percent-escapes, backslashes, '?', '#', whitespace, control or non-ASCII bytes, an empty
 * port, a port beyond 65535. The host is compared as text, lowercased, against the list:
 * other spellings of a listed IP address (127.1, 0x7f.0.0.1, 2130706433, [::ffff:7f00:1]) and
 * names not on the list (sub-domains, a trailing dot, suffixes) do not match. After the
 * check, libcurl's own URL parser is asked for the host, port and scheme it will connect to,
 * and they must equal ours (a belt to the braces above). Redirects are never followed by the
 * upstream client (http/upstream.c), so an allowed host cannot bounce the request on.
 *
 * Allowlist grammar (comma-separated entries, spaces around entries ignored):
 *   https://host[:port] | http://host[:port] | host[:port]  (no scheme = https)
 * host is a DNS name, a dotted IPv4 address or a bracketed IPv6 address, matched exactly
 * (case-insensitive); an absent port is the scheme's default (443 / 80).
 *
 * Pure functions over strings (plus libcurl's parser); no state, no allocation that
 * outlives a call.
 */
#ifndef HR_HTTP_BASE_URL_H
#define HR_HTTP_BASE_URL_H

#include <stddef.h>

/* 0 when every entry of list parses (an empty list is valid and allows nothing); -1 with
 * err filled naming the bad entry. */
int hr_base_url_allowlist_check(const char *list, char *err, size_t errlen);

/* Decides whether url may be used as the upstream base for one request. 0: allowed (the
 * caller normalises it like a configured upstream, proxy/config.h). -1: refused, *reason
 * says why in words for the client (a static string). */
int hr_base_url_allowed(const char *list, const char *url, const char **reason);

#endif
