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

#endif
