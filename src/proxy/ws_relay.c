/* ws_relay.c: the Responses API over WebSocket (what Codex uses when the server offers
 * it): the client's upgrade request is checked, a WebSocket of our own is opened to the
 * upstream (ws_upstream.h, same routing as HTTP: codex.h), and only when the upstream said
 * 101 does the client get its 101 (a refusal such as 401 is handed back as it came). Then
 * one loop on the client connection's thread relays frames both ways until either side
 * closes.
 *
 * What is changed in flight, and why only that: a client text message whose JSON is a
 * `response.create` event carries the same `input` array as a /v1/responses body, so its
 * tool outputs (`function_call_output`) are compressed by the same pipeline
 * (HR_SHAPE_OPENAI_RESPONSES) and the event is sent as one new masked frame. Every other
 * frame goes through byte for byte: the client's frames are already valid client frames
 * (masked) for the upstream and the upstream's are valid server frames for the client,
 * so pings, pongs, binary and upstream messages (fragments included) keep their framing,
 * and a client text message that is not compressed is sent as the frames it came in.
 * Compression fails open: any error sends the original frames.
 *
 * headroom_retrieve: a compressed response.create that carries markers is offered the tool,
 * and the model's calls to it are answered on the same WebSocket (ws_ccr.h): while such a
 * turn is live, upstream text messages are assembled and go through the same Responses
 * stream rewriter as HTTP streams, the rest still passes as it came.
 *
 * Limits: a frame or an assembled client text message longer than --max-body-bytes closes
 * the connection with 1009; every byte buffered (frames being read, the message, the
 * compression copies) is first reserved on the in-flight budget (sys/budget.h), and a
 * refusal closes with 1013 (try again later). The close handshake is relayed: a close from
 * either side goes to the other; an end of stream without one becomes a close (1001 to
 * the upstream, 1011 to the client), and a proxy shutting down (SIGTERM: draining) closes
 * both with 1001 at once rather than waiting out the graceful-shutdown timeout.
 *
 * Idle timeout: a session that passes --ws-idle-timeout with no byte read from either side
 * (pings and pongs are traffic too) holds a thread and two sockets for nothing, so the
 * proxy closes both sides with 1001 (going away: the proxy, an endpoint for each side, is
 * leaving this session; 1000 would tell the client its purpose was fulfilled, while 1001 is
 * the code clients already treat as "open a new one", as on shutdown). It then waits up to
 * CLOSE_GRACE_MS for the two close replies before dropping the sockets, and frames that
 * arrive meanwhile are not relayed (nothing may follow a close frame). Logged at info
 * ("websocket idle timeout") and counted in /metrics.
 *
 * Usage: each turn's response.completed is read through the Responses row's usage reader
 * as over HTTP, and the session's request record (log line, /stats, /metrics, savings)
 * counts the sum over its turns.
 *
 * Ownership: the session (ws_session) is created by hr_ws_relay_handle, run and freed by
 * the server's upgrade callbacks (server.h); it owns the upstream connection, its buffers
 * and its budget lease. It writes the request record of its exchange (tokens, bytes),
 * which the exchange's done callback reads after the session has ended.
 */
#include "proxy/proxy_internal.h"

#include "compress/pipeline.h"
#include "http/reqcheck.h"
#include "http/ws_frame.h"
#include "http/ws_upstream.h"
#include "json/json.h"
#include "proxy/backpressure.h"
#include "proxy/codex.h"
#include "proxy/config.h"
#include "proxy/metrics.h"
#include "proxy/proxy.h"
#include "proxy/usage.h"
#include "proxy/ws_ccr.h"
#include "sys/budget.h"
#include "sys/buf.h"
#include "sys/clock.h"
#include "sys/log.h"
#include "sys/tenant.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>

#define CLOSE_TRY_LATER 1013 /* RFC 6455 registry: the budget is full now */
#define READ_CHUNK (64 * 1024)
#define POLL_SLICE_MS 200
#define CLOSE_GRACE_MS 5000 /* how long a close we sent waits for the peers' replies */
#define LINGER_MS 1000      /* how long a refused client's late bytes are read and dropped */

typedef struct ws_side {
    int from_client;    /* frames read here are client frames (masked) */
    hr_buf in;          /* bytes read, not yet a whole frame */
    int close_seen;     /* this side sent a close frame */
    int close_sent;     /* a close frame went to this side */
    int eof;
} ws_side;

typedef struct ws_session {
    hr_ws_upstream *up;
    int fd;                       /* the client socket (owned by the server) */
    const atomic_int *stopping;
    ws_side c, u;                 /* read from the client / from the upstream */
    int msg_opcode;               /* the client data message in progress, 0 none */
    int msg_text;                 /* ...it is a text message being assembled */
    hr_buf msg;                   /* its payload, unmasked */
    hr_buf raw;                   /* its frames as they came */
    hr_ws_ccr *turn;              /* a response.create we offered headroom_retrieve to */
    int umsg_opcode;              /* an upstream text message assembled for the turn */
    hr_buf umsg;                  /* ...its payload */
    int uwatch;                   /* a fragmented upstream text message passing through:
                                     UWATCH_* (its copy in uusage, read for usage) */
    hr_buf uusage;
    hr_budget_lease lease;
    uint64_t max_message;
    long send_timeout_ms;
    long idle_timeout_ms;         /* --ws-idle-timeout */
    double last_traffic_ms;       /* hr_now_ms of the last byte read from either side */
    double closing_until_ms;      /* the proxy closed both sides: give up waiting then */
    hr_req_ctx *ctx;              /* valid for the whole session (freed after it) */
    char session_id[64];
    char tenant[HR_TENANT_MAX + 1];
    char request_id[24];
    const hr_api *api;            /* the Responses API's row (or Codex's) for this path */
    int done;
    int bypass;                   /* x-headroom-bypass / passthrough: relay only */
    unsigned long messages_compressed;
} ws_session;

/* ---- the two transports ------------------------------------------------------------------ */

static ssize_t side_recv(ws_session *s, ws_side *side, void *buf, size_t n)
{
    if (side == &s->u)
        return hr_ws_upstream_recv(s->up, buf, n);
    ssize_t k = recv(s->fd, buf, n, MSG_DONTWAIT);
    if (k < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -2 : -1;
    return k;
}

static ssize_t side_send(ws_session *s, ws_side *to, const void *buf, size_t n)
{
    if (to == &s->u)
        return hr_ws_upstream_send(s->up, buf, n);
    ssize_t k = send(s->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -2 : -1;
    return k;
}

static int side_fd(const ws_session *s, const ws_side *side)
{
    return side == &s->u ? hr_ws_upstream_fd(s->up) : s->fd;
}

/* Sends everything, waiting for the peer to take it (a slow reader slows the relay: that
 * is the back-pressure, nothing piles up here). -1 failed or timed out. */
static int send_all(ws_session *s, ws_side *to, const void *data, size_t n)
{
    const char *p = data;
    long waited = 0;
    while (n) {
        ssize_t k = side_send(s, to, p, n);
        if (k == -1)
            return -1;
        if (k == -2) {
            struct pollfd pf = {.fd = side_fd(s, to), .events = POLLOUT};
            if (poll(&pf, 1, POLL_SLICE_MS) == 0 && (waited += POLL_SLICE_MS) > s->send_timeout_ms)
                return -1;
            if (atomic_load(s->stopping))
                return -1;
            continue;
        }
        waited = 0;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* ---- frames we write ourselves ------------------------------------------------------------ */

/* One whole frame: masked when it goes to the upstream (we are its client). */
static int send_frame(ws_session *s, ws_side *to, int opcode, const void *payload, size_t n)
{
    uint8_t head[HR_WS_MAX_HEAD], mask[4];
    int masked = to == &s->u;
    if (masked && getrandom(mask, sizeof mask, 0) != (ssize_t)sizeof mask)
        return -1;
    size_t hl = hr_ws_write_head(head, 1, opcode, masked ? mask : NULL, n);
    hr_buf frame = HR_BUF_INIT;
    int rc = -1;
    if (hr_buf_append(&frame, head, hl) == 0 && hr_buf_append(&frame, payload, n) == 0) {
        if (masked)
            hr_ws_mask((uint8_t *)frame.data + hl, n, mask, 0);
        rc = send_all(s, to, frame.data, frame.len);
    }
    hr_buf_free(&frame);
    return rc;
}

static void send_close(ws_session *s, ws_side *to, int code, const char *reason)
{
    if (to->close_sent || to->eof)
        return;
    uint8_t p[HR_WS_MAX_CONTROL];
    size_t rl = strnlen(reason, sizeof p - 2);
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    memcpy(p + 2, reason, rl);
    to->close_sent = 1;
    send_frame(s, to, HR_WS_OP_CLOSE, p, rl + 2);
}

/* Ends the session: the client gets code and reason, the upstream 1001. */
static void fail_session(ws_session *s, int code, const char *reason)
{
    char c[8];
    snprintf(c, sizeof c, "%d", code);
    hr_log_fields(HR_LOG_WARN, "websocket closed by the proxy", "id", s->request_id, "code", c,
                  "reason", reason, (const char *)NULL);
    send_close(s, &s->c, code, reason);
    send_close(s, &s->u, HR_WS_CLOSE_GOING_AWAY, "the client's connection ended");
    s->done = 1;
}

/* ---- budget ------------------------------------------------------------------------------ */

static size_t held_bytes(const ws_session *s)
{
    return s->c.in.len + s->u.in.len + s->msg.len + s->raw.len + s->umsg.len + s->uusage.len;
}

/* A buffer emptied after a large frame or message gives its memory back: a WebSocket may
 * stay open for hours after one big response.create. */
#define KEEP_EMPTY_CAP (4 * READ_CHUNK)
static void trim(hr_buf *b)
{
    if (b->len == 0 && b->cap > KEEP_EMPTY_CAP)
        hr_buf_free(b);
}

/* Reserves room for extra more bytes than are buffered now. */
static int reserve(ws_session *s, size_t extra)
{
    return hr_budget_lease_cover(&s->lease, held_bytes(s) + extra);
}

/* ---- compression of response.create, and the tool offer ----------------------------------- */

static void record_compression(ws_session *s, const hr_pipeline_result *pr)
{
    hr_request_record *r = &s->ctx->rec;
    r->tokens_before += pr->tokens_before;
    r->tokens_after += pr->tokens_after;
    r->token_counter = pr->counter;
    if (pr->failed_open)
        r->failed_open = 1;
    if (pr->transforms[0])
        snprintf(s->ctx->compressors, sizeof s->ctx->compressors, "%.63s", pr->transforms);
}

/* A whole client text message. A response.create is compressed (when the pipeline changes
 * it) and offered headroom_retrieve (when it carries markers; ws_ccr.h), then sent as one
 * frame; anything else goes as the frames it came in. */
static int finish_text_message(ws_session *s)
{
    int create = !s->bypass && hr_ws_event_is(s->msg.data, s->msg.len, "response.create\0");
    const char *body = NULL; /* NULL: the original frames */
    size_t blen = 0;
    hr_pipeline_result pr;
    int ran = 0;
    if (create && hr_backpressure_allow_compression() && reserve(s, s->msg.len * 2) == 0) {
        hr_pipeline_input in = {s->api, s->msg.data, s->msg.len,
                                s->session_id[0] ? s->session_id : NULL, s->tenant,
                                s->request_id, NULL /* the pipeline parses and splices */};
        hr_pipeline_run(&in, &pr);
        ran = 1;
        record_compression(s, &pr);
        if (pr.modified && pr.body.len <= s->max_message) {
            body = pr.body.data;
            blen = pr.body.len;
            s->messages_compressed++;
        }
    }
    hr_buf with_tool = HR_BUF_INIT;
    if (create && !s->turn) {
        s->turn = hr_ws_ccr_begin(s->api, body ? body : s->msg.data, body ? blen : s->msg.len, s->tenant,
                                  hr_proxy_config_current()->max_answer_bytes, &with_tool);
        if (s->turn) {
            body = with_tool.data;
            blen = with_tool.len;
        }
    }
    int rc = body ? send_frame(s, &s->u, HR_WS_OP_TEXT, body, blen)
                  : send_all(s, &s->u, s->raw.data, s->raw.len);
    hr_buf_free(&with_tool);
    if (ran)
        hr_pipeline_result_free(&pr);
    hr_buf_reset(&s->msg);
    hr_buf_reset(&s->raw);
    trim(&s->msg);
    trim(&s->raw);
    s->msg_opcode = 0;
    return rc;
}

/* ---- usage: what each turn's response.completed reports ----------------------------------- */

/* One socket carries many turns, each ended by a response.completed (or .incomplete /
 * .failed) holding that turn's usage, read through the row as over HTTP. The session's
 * request record counts the sum of its turns; events without usage (deltas, "usage":null
 * of response.created) add nothing. */
static void add_event_usage(ws_session *s, const char *msg, size_t len)
{
    hr_usage u = HR_USAGE_INIT;
    if (hr_usage_from_json(s->api, msg, len, &u) == 1)
        hr_usage_add(&s->ctx->relay->usage, &u);
}

enum { UWATCH_NONE = 0, UWATCH_COPYING, UWATCH_SKIPPING };

/* An upstream data frame passing through as it came: a whole text message is read in
 * place; a fragmented one is copied (budget and --max-body-bytes permitting, else its usage
 * is not counted: statistics never cost the relay) and read at its last fragment. */
static void watch_upstream_frame(ws_session *s, const hr_ws_head *h, const uint8_t *frame)
{
    const char *payload = (const char *)frame + h->head_len;
    size_t n = (size_t)h->payload_len;
    if (h->opcode == HR_WS_OP_TEXT && h->fin) {
        add_event_usage(s, payload, n);
        return;
    }
    if (h->opcode == HR_WS_OP_TEXT)
        s->uwatch = UWATCH_COPYING;
    else if (h->opcode != HR_WS_OP_CONT || s->uwatch == UWATCH_NONE)
        return; /* binary */
    if (s->uwatch == UWATCH_COPYING &&
        (s->uusage.len + n > s->max_message || reserve(s, n) != 0 ||
         hr_buf_append(&s->uusage, payload, n) != 0))
        s->uwatch = UWATCH_SKIPPING;
    if (h->fin && s->uwatch == UWATCH_COPYING)
        add_event_usage(s, s->uusage.data, s->uusage.len);
    if (h->fin || s->uwatch == UWATCH_SKIPPING) {
        hr_buf_reset(&s->uusage);
        trim(&s->uusage);
    }
    if (h->fin)
        s->uwatch = UWATCH_NONE;
}

/* ---- upstream messages during a headroom_retrieve turn ------------------------------------ */

/* The rewriter's messages: the turn's final response.completed carries the usage of all
 * its rounds (as CCR sums it over HTTP), so usage is read here, not from the upstream's. */
static int emit_to_client(void *arg, const char *msg, size_t len)
{
    ws_session *s = arg;
    add_event_usage(s, msg, len);
    return send_frame(s, &s->c, HR_WS_OP_TEXT, msg, len);
}

static int turn_message(ws_session *s)
{
    hr_buf followup = HR_BUF_INIT;
    int r = hr_ws_ccr_message(s->turn, s->umsg.data, s->umsg.len, emit_to_client, s, &followup);
    int rc = 0;
    if (r == HR_WS_CCR_FOLLOWUP) {
        rc = send_frame(s, &s->u, HR_WS_OP_TEXT, followup.data, followup.len);
    } else if (r != HR_WS_CCR_GOING) {
        hr_ws_ccr_free(s->turn);
        s->turn = NULL;
        if (r < 0) {
            fail_session(s, HR_WS_CLOSE_INTERNAL, "headroom_retrieve could not be answered");
            rc = -1;
        }
    }
    hr_buf_free(&followup);
    hr_buf_reset(&s->umsg);
    trim(&s->umsg);
    s->umsg_opcode = 0;
    return rc;
}

/* An upstream data frame while a turn is live: text messages are assembled and go through
 * the rewriter; a binary message, or one begun before the turn, passes as it came. */
static int upstream_data_frame(ws_session *s, const hr_ws_head *h, const uint8_t *frame)
{
    size_t total = h->head_len + (size_t)h->payload_len;
    int starts_text = h->opcode == HR_WS_OP_TEXT;
    if (!starts_text && !(h->opcode == HR_WS_OP_CONT && s->umsg_opcode))
        return send_all(s, &s->c, frame, total);
    if (s->umsg.len + h->payload_len > s->max_message) {
        fail_session(s, HR_WS_CLOSE_TOO_BIG, "upstream message larger than --max-body-bytes");
        return -1;
    }
    if (reserve(s, (size_t)h->payload_len) != 0 ||
        hr_buf_append(&s->umsg, frame + h->head_len, (size_t)h->payload_len) != 0) {
        fail_session(s, CLOSE_TRY_LATER, "the proxy's in-flight budget is full");
        return -1;
    }
    s->umsg_opcode = HR_WS_OP_TEXT;
    return h->fin ? turn_message(s) : 0;
}

/* ---- frames read from the client ---------------------------------------------------------- */

/* A data frame of a client message. Binary messages are passed on frame by frame; text
 * messages are assembled (payload unmasked, frames kept) to be looked at whole. */
static int client_data_frame(ws_session *s, const hr_ws_head *h, const uint8_t *frame)
{
    if ((h->opcode == HR_WS_OP_CONT) != (s->msg_opcode != 0)) {
        fail_session(s, HR_WS_CLOSE_PROTOCOL, "continuation frame out of sequence");
        return -1;
    }
    if (h->opcode != HR_WS_OP_CONT) {
        s->msg_opcode = h->opcode;
        s->msg_text = h->opcode == HR_WS_OP_TEXT;
    }
    size_t total = h->head_len + (size_t)h->payload_len;
    if (!s->msg_text) {
        if (h->fin)
            s->msg_opcode = 0;
        return send_all(s, &s->u, frame, total);
    }
    if (s->msg.len + h->payload_len > s->max_message) {
        fail_session(s, HR_WS_CLOSE_TOO_BIG, "message larger than --max-body-bytes");
        return -1;
    }
    if (reserve(s, 2 * (size_t)h->payload_len) != 0) {
        fail_session(s, CLOSE_TRY_LATER, "the proxy's in-flight budget is full");
        return -1;
    }
    size_t at = s->msg.len;
    if (hr_buf_append(&s->msg, frame + h->head_len, (size_t)h->payload_len) != 0 ||
        hr_buf_append(&s->raw, frame, total) != 0) {
        fail_session(s, HR_WS_CLOSE_INTERNAL, "out of memory");
        return -1;
    }
    hr_ws_mask((uint8_t *)s->msg.data + at, (size_t)h->payload_len, h->mask, 0);
    return h->fin ? finish_text_message(s) : 0;
}

/* A close frame is relayed as it came, so it is checked first: a bad one (a 1-byte body, a
 * reserved code) would make the other side fail the connection over bytes we sent it. */
static int close_payload_ok(const hr_ws_head *h, const uint8_t *frame)
{
    uint8_t p[HR_WS_MAX_CONTROL]; /* control frames are at most this long (ws_frame.c) */
    size_t n = (size_t)h->payload_len;
    memcpy(p, frame + h->head_len, n);
    hr_ws_mask(p, n, h->mask, 0); /* the mask is zero for the upstream's frames */
    return hr_ws_close_payload_valid(p, n);
}

/* One whole frame read from side: relayed to the other side (or assembled). */
static int on_frame(ws_session *s, ws_side *from, const hr_ws_head *h, const uint8_t *frame)
{
    ws_side *to = from == &s->c ? &s->u : &s->c;
    size_t total = h->head_len + (size_t)h->payload_len;
    if (h->opcode != HR_WS_OP_CLOSE && to->close_sent)
        return 0; /* the proxy closed that side (idle, shutdown): nothing may follow */
    if (h->opcode == HR_WS_OP_CLOSE) {
        if (!close_payload_ok(h, frame)) {
            fail_session(s, HR_WS_CLOSE_PROTOCOL, "invalid close frame");
            return -1;
        }
        from->close_seen = 1;
        if (to->close_sent)
            return 0; /* the reply to a close we sent on the proxy's behalf */
        to->close_sent = 1;
        return send_all(s, to, frame, total);
    }
    if (from == &s->c && h->opcode < HR_WS_OP_CLOSE)
        return client_data_frame(s, h, frame);
    if (from == &s->u && h->opcode < HR_WS_OP_CLOSE && (s->turn || s->umsg_opcode))
        return upstream_data_frame(s, h, frame);
    if (from == &s->u && h->opcode < HR_WS_OP_CLOSE)
        watch_upstream_frame(s, h, frame);
    return send_all(s, to, frame, total); /* pings, pongs, everything from upstream */
}

/* Handles every whole frame in from->in. -1 ends the session. */
static int drain_frames(ws_session *s, ws_side *from)
{
    size_t at = 0;
    int rc = 0;
    while (!s->done && at < from->in.len) {
        const uint8_t *p = (const uint8_t *)from->in.data + at;
        size_t avail = from->in.len - at;
        hr_ws_head h;
        int code = 0;
        int hl = hr_ws_parse_head(p, avail, from->from_client, s->max_message, &h, &code);
        if (hl < 0) {
            fail_session(s, code, code == HR_WS_CLOSE_TOO_BIG ? "frame larger than --max-body-bytes"
                                                              : "protocol error");
            rc = -1;
            break;
        }
        if (hl == 0 || avail < (size_t)hl + h.payload_len)
            break; /* wait for the rest */
        if (on_frame(s, from, &h, p) != 0) {
            rc = -1;
            break;
        }
        at += (size_t)hl + (size_t)h.payload_len;
    }
    if (at) {
        memmove(from->in.data, from->in.data + at, from->in.len - at);
        from->in.len -= at;
        trim(&from->in);
    }
    return rc;
}

/* Reads what side has now (non-blocking). 1 read something, 0 nothing, -1 end. */
static int pump(ws_session *s, ws_side *side)
{
    if (side->eof)
        return 0;
    if (reserve(s, READ_CHUNK) != 0) {
        fail_session(s, CLOSE_TRY_LATER, "the proxy's in-flight budget is full");
        return -1;
    }
    if (hr_buf_reserve(&side->in, READ_CHUNK) != 0) {
        fail_session(s, HR_WS_CLOSE_INTERNAL, "out of memory");
        return -1;
    }
    ssize_t n = side_recv(s, side, side->in.data + side->in.len, READ_CHUNK);
    if (n == -2)
        return 0;
    if (n <= 0) {
        side->eof = 1;
        return -1;
    }
    side->in.len += (size_t)n;
    s->last_traffic_ms = hr_now_ms();
    if (side == &s->u)
        atomic_fetch_add(&s->ctx->relay->bytes_out, (size_t)n); /* the log's bytes_out */
    else
        s->ctx->rec.bytes_in += (size_t)n;
    return drain_frames(s, side) == 0 ? 1 : -1;
}

/* An end of stream on one side, without the close handshake done: tell the other. */
static void on_eof(ws_session *s)
{
    if (s->c.eof && !s->c.close_seen)
        send_close(s, &s->u, HR_WS_CLOSE_GOING_AWAY, "the client's connection ended");
    if (s->u.eof && !s->u.close_seen)
        send_close(s, &s->c, HR_WS_CLOSE_INTERNAL, "the upstream's connection ended");
    s->done = 1;
}

static void wait_readable(ws_session *s)
{
    struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN}, {.fd = hr_ws_upstream_fd(s->up), .events = POLLIN}};
    poll(p, 2, POLL_SLICE_MS);
}

/* Nothing was read for --ws-idle-timeout: both sides get a 1001 close (see the header). */
static void close_idle(ws_session *s, double now)
{
    char secs[32];
    snprintf(secs, sizeof secs, "%g", s->idle_timeout_ms / 1000.0);
    hr_log_fields(HR_LOG_INFO, "websocket idle timeout", "id", s->request_id, "idle_s", secs,
                  (const char *)NULL);
    hr_metrics_count_ws_idle_close();
    send_close(s, &s->c, HR_WS_CLOSE_GOING_AWAY, "idle timeout");
    send_close(s, &s->u, HR_WS_CLOSE_GOING_AWAY, "idle timeout");
    s->closing_until_ms = now + CLOSE_GRACE_MS;
}

/* Called when neither side had anything: 1 when the session should end now. */
static int idle_expired(ws_session *s)
{
    double now = hr_now_ms();
    if (s->closing_until_ms > 0)
        return now >= s->closing_until_ms;
    if (now - s->last_traffic_ms >= (double)s->idle_timeout_ms)
        close_idle(s, now);
    return 0;
}

/* The proxy closed the client's side (a refusal, an error, an idle or shutdown close) and
 * the client has not answered with its own close: it may still be sending, a large message
 * in flight. Closing the socket with bytes unread makes the kernel answer with a reset,
 * which throws away the close frame the client has not read yet, so it would never learn
 * why (1013: try later). So the session sends nothing more (FIN after the close frame) and
 * reads and drops what still comes until the client closes or LINGER_MS has passed. */
static void linger_client(ws_session *s)
{
    if (!s->c.close_sent || s->c.close_seen || s->c.eof || s->fd < 0)
        return;
    shutdown(s->fd, SHUT_WR);
    char sink[16384];
    double until = hr_now_ms() + LINGER_MS;
    for (double left; (left = until - hr_now_ms()) > 0 && !atomic_load(s->stopping);) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, left < POLL_SLICE_MS ? (int)left + 1 : POLL_SLICE_MS) < 0 && errno != EINTR)
            return;
        ssize_t n = recv(s->fd, sink, sizeof sink, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return;
    }
}

static void run_session(void *arg, const hr_http_upgraded *io)
{
    ws_session *s = arg;
    s->fd = io->fd;
    s->stopping = io->stopping;
    s->last_traffic_ms = hr_now_ms();
    if (io->extra_len && (reserve(s, io->extra_len) != 0 ||
                          hr_buf_append(&s->c.in, io->extra, io->extra_len) != 0 ||
                          drain_frames(s, &s->c) != 0))
        s->done = 1;
    while (!s->done) {
        if (atomic_load(s->stopping) || hr_proxy_draining()) { /* SIGTERM: a WebSocket may
                                                                   * live for hours */
            send_close(s, &s->c, HR_WS_CLOSE_GOING_AWAY, "the proxy is shutting down");
            send_close(s, &s->u, HR_WS_CLOSE_GOING_AWAY, "the proxy is shutting down");
            break;
        }
        int a = pump(s, &s->c);
        int b = a < 0 || s->done ? 0 : pump(s, &s->u);
        if (a < 0 || b < 0 || (s->c.close_seen && s->u.close_seen)) {
            on_eof(s);
            break;
        }
        if (!a && !b && idle_expired(s))
            break;
        if (!a && !b)
            wait_readable(s);
    }
    linger_client(s);
    char n[24];
    snprintf(n, sizeof n, "%lu", s->messages_compressed);
    hr_log_fields(HR_LOG_DEBUG, "websocket ended", "id", s->request_id, "compressed_messages", n,
                  (const char *)NULL);
}

static void session_free(void *arg)
{
    ws_session *s = arg;
    hr_ws_upstream_free(s->up);
    hr_buf_free(&s->c.in);
    hr_buf_free(&s->u.in);
    hr_buf_free(&s->msg);
    hr_buf_free(&s->raw);
    hr_buf_free(&s->umsg);
    hr_buf_free(&s->uusage);
    hr_ws_ccr_free(s->turn);
    hr_budget_lease_end(&s->lease);
    free(s);
}

/* ---- the opening handshake ---------------------------------------------------------------- */

static int is_upgrade_request(const hr_request *req)
{
    return !strcmp(req->method, "GET") && hr_http_list_has(hr_request_header(req, "upgrade"), "websocket");
}

/* The client's half of RFC 6455 4.2.1. 0 ok; else answered with the error. */
static int check_client_handshake(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_request *req)
{
    const char *version = hr_request_header(req, "sec-websocket-version");
    if (!version || strcmp(version, "13") != 0) {
        hr_response res = HR_RESPONSE_INIT;
        hr_response_error(&res, req->api, 426, "invalid_request_error", "websocket_version",
                          "only WebSocket version 13 is served (Sec-WebSocket-Version: 13)");
        hr_response_header(&res, "Sec-WebSocket-Version", "13");
        hr_send_response(ex, ctx, &res);
        hr_response_free(&res);
        return -1;
    }
    if (!hr_ws_key_valid(hr_request_header(req, "sec-websocket-key")) ||
        !hr_http_list_has(hr_request_header(req, "connection"), "upgrade")) {
        hr_send_error(ex, ctx, req->api, 400, "invalid_request_error", "bad_websocket_handshake",
                      "a WebSocket upgrade needs Connection: Upgrade and a Sec-WebSocket-Key of "
                      "16 base64-encoded bytes");
        return -1;
    }
    return 0;
}

/* Headers for the upstream's handshake: as for HTTP, minus the handshake fields we write
 * ourselves (our key, our version, no extension). */
static size_t upstream_headers(const hr_request *req, const char **out)
{
    const char *conn = hr_request_header(req, "connection");
    size_t n = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *name = req->headers[2 * i];
        if (!hr_forward_request_header(name, conn, 0) || !strcasecmp(name, "sec-websocket-key") ||
            !strcasecmp(name, "sec-websocket-version") ||
            !strcasecmp(name, "sec-websocket-extensions"))
            continue;
        out[2 * n] = name;
        out[2 * n + 1] = req->headers[2 * i + 1];
        n++;
    }
    return n;
}

static hr_ws_upstream *open_upstream(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_request *req)
{
    const hr_proxy_config *cfg = hr_proxy_config_current();
    hr_buf url = HR_BUF_INIT;
    const char **h = malloc((req->n_headers ? req->n_headers : 1) * 2 * sizeof *h);
    hr_ws_upstream *up = NULL;
    char err[256] = "out of memory";
    if (h && hr_upstream_url_for(req, hr_http_target(ex), &url) == 0) {
        hr_ws_upstream_request ur = {url.data, h, upstream_headers(req, h), cfg->connect_timeout_ms,
                                     cfg->upstream_timeout_ms};
        double t0 = hr_now_ms();
        up = hr_ws_upstream_connect(&ur, err, sizeof err);
        ctx->rec.upstream_ms = hr_now_ms() - t0;
    }
    if (!up) {
        hr_buf shown = HR_BUF_INIT;
        hr_send_error(ex, ctx, req->api, 502, "api_error", "upstream_unreachable",
                      "the WebSocket to the upstream could not be opened: %s",
                      hr_log_redact(err, &shown) == 0 && shown.data ? shown.data : "");
        hr_buf_free(&shown);
    }
    free(h);
    hr_buf_free(&url);
    return up;
}

/* The upstream refused the upgrade: its status, content type and body go to the client. */
static void relay_refusal(hr_http_exchange *ex, hr_req_ctx *ctx, hr_ws_upstream *up)
{
    size_t len;
    const char *body = hr_ws_upstream_body(up, &len);
    const char *ct = hr_ws_upstream_header(up, "content-type");
    const char *h[] = {"Content-Type", ct ? ct : "application/json", "x-headroom-request-id", ctx->id};
    ctx->rec.status = hr_ws_upstream_status(up);
    ctx->rec.bytes_out = len;
    hr_http_respond(ex, hr_ws_upstream_status(up), h, 2, body, len);
}

static ws_session *session_new(hr_req_ctx *ctx, const hr_request *req, hr_ws_upstream *up)
{
    const hr_proxy_config *cfg = hr_proxy_config_current();
    ws_session *s = calloc(1, sizeof *s);
    hr_relay_stats *st = calloc(1, sizeof *st);
    if (!s || !st) {
        free(s);
        free(st);
        return NULL;
    }
    atomic_init(&st->refs, 1); /* the request context's; the session only borrows it */
    st->usage = (hr_usage)HR_USAGE_INIT;
    ctx->relay = st;
    s->up = up;
    s->c.from_client = 1;
    s->lease = (hr_budget_lease)HR_BUDGET_LEASE_INIT(hr_budget_process());
    s->max_message = cfg->max_body_bytes;
    s->send_timeout_ms = cfg->upstream_timeout_ms;
    s->idle_timeout_ms = cfg->ws_idle_timeout_ms;
    s->ctx = ctx;
    s->bypass = hr_request_bypass(req);
    s->api = req->api;
    ctx->rec.bypass = s->bypass;
    const char *sid = hr_request_header(req, "x-headroom-session-id");
    snprintf(s->session_id, sizeof s->session_id, "%s", sid ? sid : "");
    snprintf(s->tenant, sizeof s->tenant, "%s", req->tenant);
    snprintf(s->request_id, sizeof s->request_id, "%s", ctx->id);
    snprintf(ctx->session, sizeof ctx->session, "%s", s->session_id);
    return s;
}

int hr_ws_relay_handle(hr_http_exchange *ex, hr_req_ctx *ctx, const hr_request *req)
{
    if (!is_upgrade_request(req))
        return 0;
    ctx->rec.route = "responses_ws";
    ctx->rec.provider = hr_request_header(req, "chatgpt-account-id") ? "chatgpt" : "openai";
    if (!hr_codex_is_responses(req->path)) {
        hr_send_error(ex, ctx, req->api, 404, "not_found_error", "not_found",
                      "WebSocket is served on the Responses paths only (/v1/responses, "
                      "/backend-api/codex/responses, /v1/codex/responses), not %s", req->path);
        return 1;
    }
    if (check_client_handshake(ex, ctx, req) != 0)
        return 1;
    if (!hr_backpressure_admit()) {
        hr_send_error(ex, ctx, req->api, 503, "server_error", "memory_budget_exceeded",
                      "the proxy is near its memory budget; retry shortly");
        return 1;
    }
    hr_ws_upstream *up = open_upstream(ex, ctx, req);
    if (!up)
        return 1;
    if (hr_ws_upstream_status(up) != 101) {
        relay_refusal(ex, ctx, up);
        hr_ws_upstream_free(up);
        return 1;
    }
    ws_session *s = session_new(ctx, req, up);
    if (!s) {
        hr_ws_upstream_free(up);
        return 1; /* the server answers 500 */
    }
    char accept[HR_WS_ACCEPT_LEN + 1];
    hr_ws_accept(hr_request_header(req, "sec-websocket-key"), accept);
    const char *proto = hr_ws_upstream_header(up, "sec-websocket-protocol");
    const char *h[] = {"Upgrade", "websocket", "Sec-WebSocket-Accept", accept,
                       "x-headroom-request-id", ctx->id, "Sec-WebSocket-Protocol", proto};
    ctx->rec.status = 101;
    ctx->rec.stream = 1;
    hr_http_respond_upgrade(ex, h, proto ? 4 : 3, run_session, s, session_free);
    return 1;
}
