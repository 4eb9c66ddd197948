/* guard.c: the connection guard of guard.h: a list of open connections with their phase and
 * deadline, per-address counting at accept, and the watchdog thread that enforces deadlines.
 * The list is short (at most the server's connection limit) and touched a few times per
 * request, so a mutex and linear scans are enough. */
#include "http/guard.h"

#include "sys/assert.h"
#include "sys/clock.h"
#include "sys/log.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

/* Deadlines are checked this often; a phase is cut at most this late. */
#define TICK_MS 100
/* Idle keep-alive connections are asked for new bytes (one getsockopt each) every this many
 * ticks: cheap with a thousand idle connections, and a new head's deadline still counts from
 * its latest byte at that moment. */
#define IDLE_POLL_TICKS 5
/* tcpi_last_data_recv counts in jiffies (4-10 ms): bytes of the request that just completed
 * may seem to arrive this much after it; later bytes are noticed on their own. */
#define IDLE_SLACK_MS 50
/* A refused client has this long to read the refusal before its socket is shut down. */
#define REFUSED_GRACE_MS 1000
/* Cuts and refusals are logged as one summary line at most this often: an attack must not
 * turn into a flood of log lines. */
#define REPORT_EVERY_MS 10000

struct hr_guard_conn {
    hr_guard_conn *prev, *next;
    int fd;
    unsigned char addr[16]; /* IPv4 as v4-mapped IPv6, so both compare the same way */
    int has_addr;
    hr_guard_phase phase;
    double phase_start_ms;
    double deadline_ms;      /* 0 = none */
    int refused;
    int cut;                 /* the deadline fired: shut down once */
    int graced;              /* this phase's deadline was extended once for unread bytes */
};

struct hr_guard {
    hr_guard_opts opts;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int stopping;
    hr_guard_conn *head;
    unsigned served;         /* open connections that were not refused */
    unsigned long timeouts, refusals;
    unsigned long reported_timeouts, reported_refusals;
    /* head-phase cuts with bytes the client sent still unread in the socket: the proxy's
     * thread, not the client, was late (e.g. a starved machine); reported beside the cuts */
    unsigned long cut_unread, reported_cut_unread;
    /* deadlines extended once because the client's bytes sat unread in the socket */
    unsigned long graces, reported_graces;
    unsigned ticks;
    double reported_at_ms;
};

/* ---- answers written on the socket -------------------------------------------------------
 * The connection's own thread is blocked reading (HEADERS, BODY) and writes nothing, so a
 * small answer fits the empty send buffer in one non-blocking send. The body is the generic
 * error shape: no request head was parsed, so the provider is unknown. */

void hr_guard_write_answer(int fd, int status, const char *reason, const char *code,
                           const char *message)
{
    char body[256], msg[512];
    int bl = snprintf(body, sizeof body,
                      "{\"error\":{\"message\":\"%s\",\"type\":\"invalid_request_error\","
                      "\"code\":\"%s\"}}", message, code);
    int ml = snprintf(msg, sizeof msg,
                      "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nConnection: close\r\n"
                      "%sContent-Length: %d\r\n\r\n%s", status, reason,
                      status == 429 || status == 503 ? "Retry-After: 1\r\n" : "", bl, body);
    if (ml > 0 && ml < (int)sizeof msg)
        (void)!send(fd, msg, (size_t)ml, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* ---- addresses ---------------------------------------------------------------------------- */

static int addr_key(const struct sockaddr *sa, unsigned char out[16])
{
    if (!sa)
        return 0;
    if (sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 1;
    }
    if (sa->sa_family == AF_INET) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xFF;
        memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 1;
    }
    return 0;
}

static unsigned count_address_locked(const hr_guard *g, const unsigned char key[16])
{
    HR_ASSERT_HELD((pthread_mutex_t *)&g->mu);
    unsigned n = 0;
    for (const hr_guard_conn *c = g->head; c; c = c->next)
        if (c->has_addr && !c->refused && memcmp(c->addr, key, 16) == 0)
            n++;
    return n;
}

/* ---- phases ------------------------------------------------------------------------------- */

static void set_phase_locked(hr_guard *g, hr_guard_conn *c, hr_guard_phase p, double start)
{
    HR_ASSERT_HELD(&g->mu);
    c->phase = p;
    c->phase_start_ms = start;
    unsigned limit = p == HR_GUARD_HEADERS ? g->opts.header_timeout_ms
                   : p == HR_GUARD_BODY    ? g->opts.body_timeout_ms
                                           : 0;
    c->deadline_ms = limit ? start + limit : 0;
    c->graced = 0;
}

/* IDLE: has a byte arrived since the phase began? Then the next request's head has started,
 * at the time of the latest byte (the kernel keeps no earlier one). */
static void notice_new_request_locked(hr_guard *g, hr_guard_conn *c, double now)
{
    HR_ASSERT_HELD(&g->mu);
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return;
    double last_data = now - ti.tcpi_last_data_recv;
    if (last_data > c->phase_start_ms + IDLE_SLACK_MS)
        set_phase_locked(g, c, HR_GUARD_HEADERS, last_data);
}

/* A head or body phase past its deadline while the client's bytes wait unread in the socket:
 * the connection's thread, not the client, is late (a starved machine: the soak saw its own
 * requests cut at load 30). Such a phase gets its limit once more, then is cut like any
 * other; a client dribbling bytes finds the socket drained at its deadline, and one timing a
 * byte to land there gains at most one more limit. */
static int grace_for_unread_locked(hr_guard *g, hr_guard_conn *c, double now)
{
    HR_ASSERT_HELD(&g->mu);
    if (c->refused || c->graced || (c->phase != HR_GUARD_HEADERS && c->phase != HR_GUARD_BODY))
        return 0;
    int unread = 0;
    if (ioctl(c->fd, FIONREAD, &unread) != 0 || unread <= 0)
        return 0;
    c->graced = 1;
    c->deadline_ms = now + (c->phase == HR_GUARD_HEADERS ? g->opts.header_timeout_ms
                                                          : g->opts.body_timeout_ms);
    g->graces++;
    return 1;
}

static void cut_locked(hr_guard *g, hr_guard_conn *c)
{
    HR_ASSERT_HELD(&g->mu);
    c->cut = 1;
    if (!c->refused) {
        g->timeouts++;
        int unread = 0;
        if (c->phase == HR_GUARD_HEADERS && ioctl(c->fd, FIONREAD, &unread) == 0 && unread > 0)
            g->cut_unread++;
        hr_guard_write_answer(c->fd, 408, "Request Timeout", "request_timeout",
                     c->phase == HR_GUARD_HEADERS
                         ? "the request head did not arrive within the client header timeout"
                         : "the request body did not arrive within the client body timeout");
    }
    shutdown(c->fd, SHUT_RDWR);
}

static void report_locked(hr_guard *g, double now)
{
    HR_ASSERT_HELD(&g->mu);
    if ((g->timeouts == g->reported_timeouts && g->refusals == g->reported_refusals &&
         g->graces == g->reported_graces) ||
        (g->reported_at_ms && now - g->reported_at_ms < REPORT_EVERY_MS))
        return;
    char t[24], r[24], u[24], gr[24];
    snprintf(t, sizeof t, "%lu", g->timeouts - g->reported_timeouts);
    snprintf(u, sizeof u, "%lu", g->cut_unread - g->reported_cut_unread);
    snprintf(r, sizeof r, "%lu", g->refusals - g->reported_refusals);
    snprintf(gr, sizeof gr, "%lu", g->graces - g->reported_graces);
    hr_log_fields(HR_LOG_WARN, "hostile or slow clients", "cut_at_deadline", t,
                  "refused_over_limits", r, "cut_with_head_unread", u,
                  "extended_for_unread", gr, NULL);
    g->reported_graces = g->graces;
    g->reported_timeouts = g->timeouts;
    g->reported_cut_unread = g->cut_unread;
    g->reported_refusals = g->refusals;
    g->reported_at_ms = now;
}

static void tick_locked(hr_guard *g)
{
    HR_ASSERT_HELD(&g->mu);
    double now = hr_now_ms();
    report_locked(g, now);
    int poll_idle = g->opts.header_timeout_ms && ++g->ticks % IDLE_POLL_TICKS == 0;
    for (hr_guard_conn *c = g->head; c; c = c->next) {
        if (c->cut)
            continue;
        if (c->phase == HR_GUARD_IDLE && poll_idle)
            notice_new_request_locked(g, c, now);
        if (c->deadline_ms && now >= c->deadline_ms && !grace_for_unread_locked(g, c, now))
            cut_locked(g, c);
    }
}

static void *watchdog(void *arg)
{
    hr_guard *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stopping) {
        if (!g->head) { /* nothing to watch: sleep until a connection opens */
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        if (!g->stopping)
            tick_locked(g);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* ---- API ---------------------------------------------------------------------------------- */

hr_guard *hr_guard_start(const hr_guard_opts *opts)
{
    hr_guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->opts = *opts;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024); /* a loop over a list: a small stack */
    int rc = pthread_create(&g->thread, &attr, watchdog, g);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        free(g);
        return NULL;
    }
    return g;
}

void hr_guard_stop(hr_guard *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->stopping = 1;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    while (g->head) {
        hr_guard_conn *c = g->head;
        g->head = c->next;
        free(c);
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

/* The refusal, then end of stream (the client closes); the socket is shut down after a grace
 * period if the client does not. */
static void refuse_locked(hr_guard *g, hr_guard_conn *c, int status, const char *reason,
                          const char *code, const char *message)
{
    HR_ASSERT_HELD(&g->mu);
    c->refused = 1;
    g->refusals++;
    hr_guard_write_answer(c->fd, status, reason, code, message);
    shutdown(c->fd, SHUT_WR);
    c->phase = HR_GUARD_BUSY;
    c->deadline_ms = hr_now_ms() + REFUSED_GRACE_MS;
}

hr_guard_conn *hr_guard_open(hr_guard *g, int fd, const struct sockaddr *addr, int *refused)
{
    *refused = 0;
    hr_guard_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->has_addr = addr_key(addr, c->addr);
    pthread_mutex_lock(&g->mu);
    double now = hr_now_ms();
    if (g->opts.total_limit && g->served >= g->opts.total_limit) {
        refuse_locked(g, c, 503, "Service Unavailable", "server_busy",
                      "the proxy serves its maximum number of connections (--limit-concurrency)");
    } else if (g->opts.per_address_limit && c->has_addr &&
               count_address_locked(g, c->addr) >= g->opts.per_address_limit) {
        refuse_locked(g, c, 429, "Too Many Requests", "too_many_connections",
                      "too many open connections from this address (--max-connections-per-address)");
    } else {
        g->served++;
        set_phase_locked(g, c, HR_GUARD_HEADERS, now);
    }
    *refused = c->refused;
    c->next = g->head;
    if (g->head)
        g->head->prev = c;
    g->head = c;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return c;
}

void hr_guard_close(hr_guard *g, hr_guard_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    if (!c->refused)
        g->served--;
    if (c->prev)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&g->mu);
    free(c);
}

void hr_guard_set_phase(hr_guard *g, hr_guard_conn *c, hr_guard_phase phase)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    if (!c->refused && !c->cut)
        set_phase_locked(g, c, phase, hr_now_ms());
    pthread_mutex_unlock(&g->mu);
}

int hr_guard_refused(hr_guard *g, const hr_guard_conn *c)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&g->mu);
    int r = c->refused;
    pthread_mutex_unlock(&g->mu);
    return r;
}

void hr_guard_cut(hr_guard *g, hr_guard_conn *c, hr_guard_phase phase)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    if (!c->refused && !c->cut) {
        c->phase = phase;
        cut_locked(g, c);
    }
    pthread_mutex_unlock(&g->mu);
}

unsigned long hr_guard_timeouts(hr_guard *g)
{
    pthread_mutex_lock(&g->mu);
    unsigned long n = g->timeouts;
    pthread_mutex_unlock(&g->mu);
    return n;
}

unsigned long hr_guard_refusals(hr_guard *g)
{
    pthread_mutex_lock(&g->mu);
    unsigned long n = g->refusals;
    pthread_mutex_unlock(&g->mu);
    return n;
}

unsigned long hr_guard_graces(hr_guard *g)
{
    pthread_mutex_lock(&g->mu);
    unsigned long n = g->graces;
    pthread_mutex_unlock(&g->mu);
    return n;
}
