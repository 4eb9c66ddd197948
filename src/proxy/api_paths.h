/* api_paths.h: the paths of the Google and Azure APIs, one row each: which request shape a
 * path carries (for compression), whose error shape the proxy answers in, and which upstream
 * it goes to. The OpenAI and Anthropic paths stay in the forwarding core (forward.c).
 *
 *   Gemini API   POST /v1beta/models/{m}:generateContent            Gemini shape
 *                POST /v1beta/models/{m}:streamGenerateContent      (also /v1/, /v1alpha/)
 *                other /v1beta/..., /v1alpha/...                     passed through
 *   Vertex AI    POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent
 *                     (and :streamGenerateContent)                   Gemini shape
 *                POST .../publishers/anthropic/models/{m}:rawPredict (and :streamRawPredict)
 *                                                                    Anthropic shape
 *                other /v1/projects/..., /v1beta1/projects/...       passed through
 *   Azure OpenAI POST /openai/deployments/{d}/chat/completions       OpenAI chat shape
 *                POST /openai/v1/chat/completions                    OpenAI chat shape
 *                POST /openai/v1/responses, /openai/deployments/{d}/responses
 *                                                                    Responses shape
 *                other /openai/...                                   passed through
 * Errors: Google's shape for the Gemini API and Vertex's Google models, Anthropic's for
 * Vertex's rawPredict, OpenAI's for Azure (each client parses its own).
 *
 * Pure functions over strings and the configuration; no state.
 */
#ifndef HR_PROXY_API_PATHS_H
#define HR_PROXY_API_PATHS_H

#include "compress/pipeline.h"
#include "proxy/routes.h"

#include <stddef.h>

typedef enum {
    HR_BASE_OPENAI = 0,
    HR_BASE_ANTHROPIC,
    HR_BASE_GEMINI,
    HR_BASE_VERTEX,
    HR_BASE_AZURE,
} hr_upstream_base;

typedef struct hr_api_path {
    int compressible;      /* a POST whose body the pipeline may compress */
    hr_shape shape;        /* its shape (when compressible) */
    hr_provider errors;    /* the error shape the client expects */
    hr_upstream_base base; /* where it goes */
    const char *label;     /* route label for the log and /metrics */
} hr_api_path;

/* 1 when path is one of the paths above (out filled), 0 when it is not (out untouched). */
int hr_api_path_match(const char *method, const char *path, hr_api_path *out);

/* "openai", "anthropic", "gemini", "vertex", "azure": the provider label of log lines. */
const char *hr_upstream_base_name(hr_upstream_base b);

/* The configured base URL of b for a request on path; for Vertex without --vertex-api-url,
 * the regional endpoint named by the path's locations/{l} segment (letters, digits and
 * '-' only, so the client picks a Google region, never a host). 0 ok; -1 with *reason
 * (a static string) when there is none. */
int hr_api_base_url(hr_upstream_base b, const char *path, char *out, size_t outlen,
                    const char **reason);

#endif
