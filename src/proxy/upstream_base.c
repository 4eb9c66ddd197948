/* upstream_base.c: see upstream_base.h. The rows say which setting; this file reads it. */
#include "proxy/upstream_base.h"

#include "proxy/config.h"

#include <string.h>

/* The configured value of the string setting named name, or NULL when there is no such
 * row (the tests check every row names one). */
static const char *setting_text(const char *name)
{
    const hr_setting_row *row = name ? hr_settings_find(&hr_proxy_settings, name) : NULL;
    if (!row || row->type == HR_SETTING_BORROW || row->size == 0)
        return NULL;
    return (const char *)hr_proxy_config_current() + row->offset;
}

int hr_upstream_base_url(const hr_api *api, const char *path, char *out, size_t outlen,
                         const char **reason)
{
    const char *url = setting_text(api->upstream_setting);
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
