/* upstream_base.c: see upstream_base.h. One row per provider: its setting. */
#include "proxy/upstream_base.h"

#include "proxy/config.h"
#include "sys/ascii.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *provider;
    size_t offset; /* of the char[] setting in hr_proxy_config */
} BASES[] = {
    {"openai", offsetof(hr_proxy_config, openai_url)},
    {"anthropic", offsetof(hr_proxy_config, anthropic_url)},
    {"gemini", offsetof(hr_proxy_config, gemini_url)},
    {"vertex", offsetof(hr_proxy_config, vertex_url)},
    {"azure", offsetof(hr_proxy_config, azure_url)},
};

/* The location of a Vertex path (".../locations/{l}/..."), checked to be a Google region
 * name: 1..63 of [a-z0-9-]. 0 ok (copied to loc), -1 absent or not a region name. */
static int vertex_location(const char *path, char *loc, size_t cap)
{
    const char *p = strstr(path, "/locations/");
    if (!p)
        return -1;
    p += strlen("/locations/");
    size_t n = 0;
    while (p[n] && p[n] != '/') {
        char c = p[n];
        if (!(hr_is_lower(c) || hr_is_digit(c) || c == '-') || n + 1 >= cap || n >= 63)
            return -1;
        loc[n] = c;
        n++;
    }
    loc[n] = 0;
    return n ? 0 : -1;
}

/* Vertex's own endpoints, as Google's SDKs build them from the location. */
static int vertex_default_url(const char *path, char *out, size_t outlen)
{
    char loc[64];
    if (vertex_location(path, loc, sizeof loc) != 0)
        return -1;
    int n;
    if (!strcmp(loc, "global"))
        n = snprintf(out, outlen, "https://aiplatform.googleapis.com");
    else if (!strcmp(loc, "us") || !strcmp(loc, "eu"))
        n = snprintf(out, outlen, "https://aiplatform.%s.rep.googleapis.com", loc);
    else
        n = snprintf(out, outlen, "https://%s-aiplatform.googleapis.com", loc);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int hr_upstream_base_url(const char *provider, const char *path, char *out, size_t outlen,
                         const char **reason)
{
    const hr_proxy_config *cfg = hr_proxy_config_current();
    const char *url = NULL;
    for (size_t i = 0; i < sizeof BASES / sizeof BASES[0]; i++)
        if (!strcmp(BASES[i].provider, provider))
            url = (const char *)cfg + BASES[i].offset;
    if (!url) {
        *reason = "no upstream is known for this API's provider";
        return -1;
    }
    if (!strcmp(provider, "vertex") && !*url) {
        if (vertex_default_url(path, out, outlen) == 0)
            return 0;
        *reason = "the Vertex path names no location (.../locations/{region}/...) and no "
                  "--vertex-api-url is set";
        return -1;
    }
    if (!*url) {
        *reason = "no Azure OpenAI upstream is configured on this proxy (--azure-api-url)";
        return -1;
    }
    if (strlen(url) >= outlen) {
        *reason = "the upstream URL is too long";
        return -1;
    }
    strcpy(out, url);
    return 0;
}
