/* pipeline.h: the one hook through which every request body passes before it is forwarded.
 *
 * The proxy hands over the parsed-from-the-wire body of a compressible route and gets back
 * either "unchanged" (forward the original bytes) or a new body in which only the spans the
 * request policy chose were replaced. Fail open: any error inside returns "unchanged".
 *
 * Ownership: the caller owns in->body; the pipeline fills out->body (an hr_buf the caller
 * frees with hr_pipeline_result_free) only when out->modified is 1.
 */
#ifndef HR_COMPRESS_PIPELINE_H
#define HR_COMPRESS_PIPELINE_H

#include "api/api.h"
#include "json/edits.h"
#include "json/json.h"
#include "sys/buf.h"

#include <stddef.h>

typedef struct hr_pipeline_input {
    const hr_api *api;       /* the route's API (api/api.h): where the tool outputs are */
    const char *body;        /* request body, already decoded (gzip/zstd) */
    size_t len;
    const char *session_id;  /* x-headroom-session-id, or NULL */
    const char *tenant;      /* hex key derived from the credential (never the credential) */
    const char *request_id;
    const hr_json_doc *doc;  /* optional: body already parsed (the proxy's one parse). Then
                                the result holds edits only (out->edits over this doc) and
                                the caller splices them with its own; NULL: the pipeline
                                parses body and splices out->body itself */
} hr_pipeline_input;

typedef struct hr_pipeline_result {
    int modified;            /* 1: forward body; 0: forward the original bytes */
    hr_buf body;             /* the new body (only when in->doc was NULL) */
    hr_json_edits edits;     /* the edits body is made of, over the parsed input */
    long long tokens_before; /* of the whole request's compressible content */
    long long tokens_after;
    const char *counter;     /* token counter that answered (static string) */
    char transforms[256];    /* comma-separated compressors applied, e.g. "smart_crusher" */
    int failed_open;         /* an error or deadline made it forward the original */
} hr_pipeline_result;

int hr_pipeline_run(const hr_pipeline_input *in, hr_pipeline_result *out);
void hr_pipeline_result_free(hr_pipeline_result *r);

#endif
