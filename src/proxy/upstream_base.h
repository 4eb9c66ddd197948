/* upstream_base.h: an API's upstream base URL, from the configuration setting its row
 * names (hr_api.upstream_setting); when that is empty, the row's default_base (Vertex:
 * Google's regional endpoint named by the request path's locations/{l} segment). The
 * per-request base (x-headroom-base-url) is checked in http/base_url.h; Bedrock's base is
 * proxy/bedrock.c's. Pure functions over the configuration and the path; no state.
 */
#ifndef HR_PROXY_UPSTREAM_BASE_H
#define HR_PROXY_UPSTREAM_BASE_H

#include "api/api.h"

#include <stddef.h>

/* The base URL for a request of api on path. 0 ok; -1 with *reason (a static string) when
 * there is none (no Azure resource configured, a Vertex path without a region, a row
 * naming no setting). */
int hr_upstream_base_url(const hr_api *api, const char *path, char *out, size_t outlen,
                         const char **reason);
/* The configured value of the setting api names ("" when unset), or NULL when it names
 * none (Bedrock's rows). */
const char *hr_upstream_setting_value(const hr_api *api);

/* Calls fn once per provider with its configured upstream ("" when unset: Vertex then
 * derives it from the request's region, Azure has none), in registry order (a provider
 * whose rows share one setting once), then Bedrock's (proxy/bedrock.c: configured, else
 * the region's endpoint). /health and the start-up line list the upstreams this way. Stops
 * at fn's first non-zero return, which it returns; 0 when all were visited. */
typedef int (*hr_upstream_visit)(void *user, const char *provider, const char *url);
int hr_upstream_each(hr_upstream_visit fn, void *user);

#endif
