/* pipeline.c: the request hook of pipeline.h. Until the request policy lands it forwards
 * every body unchanged, which is the contract's fail-open answer. */
#include "compress/pipeline.h"

#include <string.h>

int hr_pipeline_run(const hr_pipeline_input *in, hr_pipeline_result *out)
{
    (void)in;
    memset(out, 0, sizeof *out);
    out->counter = "estimate";
    return 0;
}

void hr_pipeline_result_free(hr_pipeline_result *r) { hr_buf_free(&r->body); }
