/* upstream_base.h: each provider's upstream base URL (hr_api.provider names the provider:
 * openai, anthropic, gemini, vertex, azure), from the configuration; for Vertex without
 * --vertex-api-url, Google's regional endpoint named by the request path's
 * locations/{l} segment (a checked region name, so the client picks a Google region, never
 * a host). The per-request base (x-headroom-base-url) is checked in http/base_url.h.
 * Pure functions over the configuration and the path; no state.
 */
#ifndef HR_PROXY_UPSTREAM_BASE_H
#define HR_PROXY_UPSTREAM_BASE_H

#include <stddef.h>

/* The base URL for a request of provider on path. 0 ok; -1 with *reason (a static
 * string) when there is none (no Azure resource configured, a Vertex path without a
 * region, an unknown provider). */
int hr_upstream_base_url(const char *provider, const char *path, char *out, size_t outlen,
                         const char **reason);

#endif
