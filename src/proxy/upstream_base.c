/* upstream_base.c: see upstream_base.h. The rows say which setting; this file reads it. */
#include "proxy/upstream_base.h"

#include "proxy/bedrock.h"
#include "proxy/config.h"

#include <string.h>

/* The tests check every row names a URL setting. */
const char *hr_upstream_setting_value(const hr_api *api)
{
    const char *name = api->upstream_setting;
    const hr_setting_row *row = name ? hr_settings_find(&hr_proxy_settings, name) : NULL;
    if (!row || row->type == HR_SETTING_BORROW || row->size == 0)
        return NULL;
    return (const char *)hr_proxy_config_current() + row->offset;
}

int hr_upstream_base_url(const hr_api *api, const char *path, char *out, size_t outlen,
                         const char **reason)
{
    const char *url = hr_upstream_setting_value(api);
    if (!url) {
        *reason = "no upstream is known for this API's provider";
        return -1;
    }
    if (!*url) {
        if (api->default_base && api->default_base(path, out, outlen) == 0)
            return 0;
        *reason = api->upstream_missing ? api->upstream_missing
                                        : "no upstream is configured for this API's provider";
        return -1;
    }
    if (strlen(url) >= outlen) {
        *reason = "the upstream URL is too long";
        return -1;
    }
    strcpy(out, url);
    return 0;
}

int hr_upstream_each(hr_upstream_visit fn, void *user)
{
    size_t n;
    const hr_api *const *all = hr_api_all(&n);
    for (size_t i = 0; i < n; i++) {
        const char *url = hr_upstream_setting_value(all[i]);
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = !strcmp(all[k]->provider, all[i]->provider);
        int rc = url && !seen ? fn(user, all[i]->provider, url) : 0;
        if (rc)
            return rc;
    }
    return fn(user, "bedrock", hr_bedrock_url());
}
