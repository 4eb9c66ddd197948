/* ws_ccr.c: headroom_retrieve over a Responses WebSocket (see ws_ccr.h). */
#include "proxy/ws_ccr.h"

#include "ccr/store.h"
#include "ccr/tool_stream.h"
#include "json/edits.h"
#include "json/json.h"
#include "proxy/ccr_glue.h"
#include "sys/log.h"
#include "sys/tenant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hr_ws_ccr {
    const hr_api *api;
    hr_ccr_stream *rewriter;
    char tenant[HR_TENANT_MAX + 1];
};

/* A message parsed with limits that never refuse a valid body for its strings. */
static int parse_message(const char *msg, size_t len, hr_json_doc *d)
{
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    lim.max_string = len ? len : 1;
    return hr_json_parse(d, msg, len, &lim, &err);
}

/* body with the tool offered (api's edit, spliced) in out: 1; 0 no tool. */
static int offer_tool(const hr_api *api, const char *body, size_t len, hr_buf *out)
{
    hr_json_doc d;
    if (parse_message(body, len, &d) != 0)
        return 0;
    hr_json_edits e = HR_JSON_EDITS_INIT;
    int offered = hr_ccrw_offer_tool(api, &d, &e) == 1 && hr_json_edits_apply(&e, body, len, out) == 0;
    hr_json_edits_free(&e);
    hr_json_doc_free(&d);
    return offered;
}

hr_ws_ccr *hr_ws_ccr_begin(const hr_api *api, const char *body, size_t len, const char *tenant,
                           size_t max_held, hr_buf *out)
{
    if (!offer_tool(api, body, len, out)) {
        hr_buf_reset(out);
        return NULL;
    }
    hr_ws_ccr *t = calloc(1, sizeof *t);
    if (t) {
        t->api = api;
        t->rewriter = hr_ccr_stream_new(api, out->data, out->len);
    }
    if (!t || !t->rewriter) {
        free(t);
        hr_buf_reset(out);
        return NULL; /* the original goes, without the tool */
    }
    hr_ccr_stream_set_limit(t->rewriter, max_held);
    snprintf(t->tenant, sizeof t->tenant, "%s", tenant);
    return t;
}

/* The rewriter writes "data: <json>\n\n" per event (no event names: we pass none), and the
 * JSON has no raw line breaks: each data payload is one client message. */
static int emit_sse(const hr_buf *sse, hr_ws_ccr_emit emit, void *arg)
{
    const char *p = sse->data, *end = sse->data + sse->len;
    while (p && p < end) {
        const char *stop = memmem(p, (size_t)(end - p), "\n\n", 2);
        if (!stop)
            break;
        if (!strncmp(p, "data: ", 6) && emit(arg, p + 6, (size_t)(stop - p - 6)) != 0)
            return -1;
        p = stop + 2;
    }
    return 0;
}

int hr_ws_event_is(const char *msg, size_t len, const char *types)
{
    hr_json_doc d;
    if (parse_message(msg, len, &d) != 0)
        return 0;
    int yes = 0;
    uint32_t type = hr_json_at(&d, 0)->type == HR_JSON_OBJECT ? hr_json_get(&d, 0, "type") : HR_JSON_NONE;
    for (const char *t = types; type != HR_JSON_NONE && *t && !yes; t += strlen(t) + 1)
        yes = hr_json_string_eq(&d, type, t);
    hr_json_doc_free(&d);
    return yes;
}

/* The events that end a response (and so a headroom_retrieve round). */
static const char TURN_ENDS[] = "response.completed\0response.incomplete\0response.failed\0error\0";

/* The turn cannot be resolved: the client gets an error event instead of a tool it does
 * not know. */
static int refuse(hr_ws_ccr *t, hr_ws_ccr_emit emit, void *arg)
{
    char m[256];
    snprintf(m, sizeof m, "headroom: %s", hr_ccr_stream_refusal(t->rewriter));
    hr_log_fields(HR_LOG_WARN, "headroom_retrieve over websocket refused", "reason",
                  hr_ccr_stream_refusal(t->rewriter), (const char *)NULL);
    hr_buf ev = HR_BUF_INIT;
    int rc = hr_ccrw_error_event(t->api, m, &ev) == 0 ? emit_sse(&ev, emit, arg) : -1;
    hr_buf_free(&ev);
    return rc;
}

int hr_ws_ccr_message(hr_ws_ccr *t, char *msg, size_t len, hr_ws_ccr_emit emit, void *arg,
                      hr_buf *followup)
{
    for (size_t i = 0; i < len; i++)
        if (msg[i] == '\r' || msg[i] == '\n')
            msg[i] = ' ';
    hr_buf out = HR_BUF_INIT;
    int rc = hr_ccr_stream_event(t->rewriter, NULL, msg, len, &out);
    int end = rc == 0 && hr_ws_event_is(msg, len, TURN_ENDS);
    if (rc == 0)
        rc = emit_sse(&out, emit, arg);
    else if (rc == -2)
        rc = refuse(t, emit, arg) == 0 ? HR_WS_CCR_DONE : -1;
    if (rc == 0 && end) {
        hr_buf_reset(&out);
        int r = hr_ccr_stream_end(t->rewriter, hr_ccr_process_store(), t->tenant, followup, &out);
        rc = r == 1 ? HR_WS_CCR_FOLLOWUP : r == 0 ? HR_WS_CCR_DONE
                                                  : (refuse(t, emit, arg) == 0 ? HR_WS_CCR_DONE : -1);
    }
    hr_buf_free(&out);
    return rc;
}

void hr_ws_ccr_free(hr_ws_ccr *t)
{
    if (!t)
        return;
    hr_ccr_stream_free(t->rewriter);
    free(t);
}
