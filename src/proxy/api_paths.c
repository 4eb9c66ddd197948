/* api_paths.c: the Google and Azure API rows (see api_paths.h). */
#include "proxy/api_paths.h"

#include "proxy/config.h"
#include "sys/ascii.h"

#include <stdio.h>
#include <string.h>

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The method after the model's ':' in a Google path: 1 generateContent, 2 the streaming
 * one, 0 neither. */
static int gemini_method(const char *path)
{
    if (ends(path, ":generateContent"))
        return 1;
    return ends(path, ":streamGenerateContent") ? 2 : 0;
}

static int match_gemini_api(const char *path, int post, hr_api_path *out)
{
    int models = starts(path, "/v1beta/models/") || starts(path, "/v1alpha/models/") ||
                 starts(path, "/v1/models/");
    int method = models ? gemini_method(path) : 0;
    if (!method && !starts(path, "/v1beta/") && !starts(path, "/v1alpha/"))
        return 0; /* /v1/models/... without a Gemini method is OpenAI's */
    *out = (hr_api_path){post && method, HR_SHAPE_GEMINI, HR_PROVIDER_GEMINI, HR_BASE_GEMINI,
                         method == 1   ? "generate_content"
                         : method == 2 ? "stream_generate_content"
                                       : "gemini"};
    return 1;
}

static int match_vertex(const char *path, int post, hr_api_path *out)
{
    if (!starts(path, "/v1/projects/") && !starts(path, "/v1beta1/projects/"))
        return 0;
    *out = (hr_api_path){0, HR_SHAPE_GEMINI, HR_PROVIDER_GEMINI, HR_BASE_VERTEX, "vertex"};
    if (strstr(path, "/publishers/anthropic/models/")) {
        int raw = ends(path, ":rawPredict"), stream = ends(path, ":streamRawPredict");
        out->errors = HR_PROVIDER_ANTHROPIC;
        out->shape = HR_SHAPE_ANTHROPIC_MESSAGES;
        out->compressible = post && (raw || stream);
        out->label = raw ? "raw_predict" : stream ? "stream_raw_predict" : "vertex";
    } else if (strstr(path, "/publishers/google/models/")) {
        int method = gemini_method(path);
        out->compressible = post && method;
        out->label = method == 1 ? "generate_content" : method == 2 ? "stream_generate_content"
                                                                    : "vertex";
    }
    return 1;
}

/* /openai/deployments/{d}/<rest> or /openai/v1/<rest>: rest, else NULL. */
static const char *azure_operation(const char *path)
{
    if (starts(path, "/openai/v1/"))
        return path + strlen("/openai/v1/");
    if (!starts(path, "/openai/deployments/"))
        return NULL;
    const char *d = path + strlen("/openai/deployments/");
    const char *slash = strchr(d, '/');
    return slash && slash > d ? slash + 1 : NULL;
}

static int match_azure(const char *path, int post, hr_api_path *out)
{
    if (!starts(path, "/openai/"))
        return 0;
    const char *op = azure_operation(path);
    *out = (hr_api_path){0, HR_SHAPE_OPENAI_CHAT, HR_PROVIDER_OPENAI, HR_BASE_AZURE, "azure"};
    if (op && !strcmp(op, "chat/completions")) {
        out->compressible = post;
        out->label = "azure_chat_completions";
    } else if (op && !strcmp(op, "responses")) {
        out->compressible = post;
        out->shape = HR_SHAPE_OPENAI_RESPONSES;
        out->label = "azure_responses";
    }
    return 1;
}

int hr_api_path_match(const char *method, const char *path, hr_api_path *out)
{
    int post = !strcmp(method, "POST");
    return match_vertex(path, post, out) || match_gemini_api(path, post, out) ||
           match_azure(path, post, out);
}

const char *hr_upstream_base_name(hr_upstream_base b)
{
    static const char *const names[] = {"openai", "anthropic", "gemini", "vertex", "azure"};
    return (unsigned)b < sizeof names / sizeof names[0] ? names[b] : "openai";
}

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
        if (!(hr_is_lower(c) || hr_is_digit(c) || c == '-') || n + 1 >= cap ||
            n >= 63)
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

int hr_api_base_url(hr_upstream_base b, const char *path, char *out, size_t outlen,
                    const char **reason)
{
    const hr_proxy_config *cfg = hr_proxy_config_current();
    const char *url = b == HR_BASE_ANTHROPIC ? cfg->anthropic_url
                      : b == HR_BASE_GEMINI  ? cfg->gemini_url
                      : b == HR_BASE_VERTEX  ? cfg->vertex_url
                      : b == HR_BASE_AZURE   ? cfg->azure_url
                                             : cfg->openai_url;
    if (b == HR_BASE_VERTEX && !*url) {
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
