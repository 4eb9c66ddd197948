/* codex.c: Codex's route aliases and the ChatGPT-backend choice (see codex.h). */
#include "proxy/codex.h"

#include "api/api.h"
#include "proxy/config.h"

#include <string.h>

static const char *const ALIASES[] = {"/backend-api/codex", "/v1/codex"};

/* The part of s after prefix when prefix ends at a segment boundary ('/', '?' or end). */
static const char *after_prefix(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) != 0)
        return NULL;
    return (s[n] == 0 || s[n] == '/' || s[n] == '?') ? s + n : NULL;
}

static const char *after_alias(const char *s)
{
    for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++) {
        const char *rest = after_prefix(s, ALIASES[i]);
        if (rest)
            return rest;
    }
    return NULL;
}

int hr_codex_is_alias(const char *path) { return after_alias(path) != NULL; }

int hr_codex_is_responses(const char *path)
{
    const hr_api *a = hr_api_for_route("POST", path); /* the rows own the paths */
    return a == &hr_api_openai_responses || a == &hr_api_codex_responses;
}

int hr_codex_upstream_url(const char *target, const char *account_id, hr_buf *url)
{
    const hr_proxy_config *cfg = hr_proxy_config_current();
    int chatgpt = account_id && *account_id;
    const char *rest = after_alias(target);
    int alias = rest != NULL;
    if (!rest && after_prefix(target, "/v1/responses"))
        rest = target + 3; /* "/responses..." */
    if (!rest || (!alias && !chatgpt))
        return 0;
    if (chatgpt)
        return hr_buf_puts(url, cfg->chatgpt_url) == 0 && hr_buf_puts(url, rest) == 0 ? 1 : -1;
    return hr_buf_puts(url, cfg->openai_url) == 0 && hr_buf_puts(url, "/v1") == 0 &&
                   hr_buf_puts(url, rest) == 0
               ? 1
               : -1;
}
