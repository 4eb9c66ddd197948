/* The upstream handle pool's shrink (idle maintenance), observed from the upstream's side:
 * a loopback HTTP/1.1 server counts the keep-alive connections the proxy's curl handles
 * hold open. After N concurrent transfers the pool holds N handle pairs and the server sees
 * N open connections; hr_upstream_pool_shrink(keep) must close exactly the N - keep oldest
 * pairs, so their connections close (a shrink that only forgot the handles, or never closed
 * them, keeps the burst's memory and sockets), and the kept pairs must still be warm: the
 * next transfer reuses an open connection instead of connecting again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/upstream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64
#define BURST 12

/* ---- a loopback HTTP/1.1 server that answers once `release_at` requests wait ----------- */

typedef struct server {
    int listen_fd, port;
    pthread_t thread;
    atomic_int stop;
    atomic_int accepted;  /* connections ever accepted */
    atomic_int open;      /* connections currently open (closed by the peer = gone) */
    atomic_int answered;  /* responses sent */
    int release_at;       /* hold answers until this many requests wait (a burst), then 1 */
    int running;          /* the thread was started */
} server;

typedef struct conn {
    int fd;
    int waiting; /* a full request is in, not yet answered */
    char buf[4096];
    size_t len;
} conn;

static void answer(server *s, conn *c)
{
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";
    atomic_fetch_add(&s->answered, 1); /* before the write: the client may look at once */
    c->waiting = 0;
    c->len = 0;
    if (write(c->fd, resp, sizeof resp - 1) != (ssize_t)(sizeof resp - 1))
        fail_msg("server write failed");
}

/* Reads what the peer sent; 0 when it closed. A request is complete at its blank line
 * (the test sends GETs, without a body). */
static int read_conn(conn *c)
{
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
    if (n <= 0)
        return 0;
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    if (strstr(c->buf, "\r\n\r\n"))
        c->waiting = 1;
    return 1;
}

static void *serve(void *arg)
{
    server *s = arg;
    conn conns[MAX_CONNS];
    int n = 0;
    while (!atomic_load(&s->stop)) {
        struct pollfd pf[MAX_CONNS + 1];
        pf[0] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
        for (int i = 0; i < n; i++)
            pf[i + 1] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        if (poll(pf, (nfds_t)n + 1, 20) < 0)
            break;
        if ((pf[0].revents & POLLIN) && n < MAX_CONNS) {
            int fd = accept(s->listen_fd, NULL, NULL);
            if (fd >= 0) {
                conns[n++] = (conn){.fd = fd};
                atomic_fetch_add(&s->accepted, 1);
                atomic_fetch_add(&s->open, 1);
            }
        }
        int waiting = 0;
        for (int i = 0; i < n; i++) {
            if ((pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) && !read_conn(&conns[i])) {
                close(conns[i].fd);
                atomic_fetch_sub(&s->open, 1);
                conns[i] = conns[--n];
                pf[i + 1] = pf[n + 1];
                i--;
                continue;
            }
            waiting += conns[i].waiting;
        }
        if (waiting >= s->release_at) {
            for (int i = 0; i < n; i++)
                if (conns[i].waiting)
                    answer(s, &conns[i]);
            s->release_at = 1;
        }
    }
    for (int i = 0; i < n; i++)
        close(conns[i].fd);
    return NULL;
}

static int server_start(server *s, int release_at)
{
    memset(s, 0, sizeof *s);
    s->listen_fd = -1;
    s->release_at = release_at;
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(s->listen_fd, MAX_CONNS) != 0 || getsockname(s->listen_fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    if (pthread_create(&s->thread, NULL, serve, s) != 0)
        return -1;
    s->running = 1;
    return 0;
}

static void server_stop(server *s)
{
    if (s->running) {
        atomic_store(&s->stop, 1);
        pthread_join(s->thread, NULL);
        s->running = 0;
    }
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
}

/* Polls until the server has seen `want` open connections (closes take a poll round). */
static int open_settles_to(server *s, int want)
{
    for (int i = 0; i < 200 && atomic_load(&s->open) != want; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&s->open);
}

/* ---- transfers ------------------------------------------------------------------------ */

typedef struct job {
    char url[64];
    int status;
} job;

static void *one_transfer(void *arg)
{
    job *j = arg;
    hr_upstream_request r = {.method = "GET", .url = j->url, .connect_timeout_ms = 2000,
                             .idle_timeout_ms = 5000};
    hr_upstream *u = hr_upstream_start(&r);
    j->status = -1;
    if (u && hr_upstream_wait_headers(u) == HR_UP_OK) {
        char b[64];
        ssize_t n;
        while ((n = hr_upstream_read(u, b, sizeof b)) > 0)
            ;
        j->status = n == 0 ? hr_upstream_status(u) : -2;
    }
    hr_upstream_free(u);
    return NULL;
}

/* n transfers at once: the server answers none until all n wait, so each one holds its own
 * handle pair and connection, and all n pairs go back to the pool. */
static void burst(server *s, int n)
{
    pthread_t t[BURST];
    job jobs[BURST];
    for (int i = 0; i < n; i++) {
        snprintf(jobs[i].url, sizeof jobs[i].url, "http://127.0.0.1:%d/burst/%d", s->port, i);
        assert_int_equal(pthread_create(&t[i], NULL, one_transfer, &jobs[i]), 0);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(jobs[i].status, 200);
    }
}

static void single(server *s)
{
    job j;
    snprintf(j.url, sizeof j.url, "http://127.0.0.1:%d/one", s->port);
    one_transfer(&j);
    assert_int_equal(j.status, 200);
}

/* ---- tests ---------------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    return hr_upstream_global_init(NULL);
}

static int teardown(void **state)
{
    (void)state;
    hr_upstream_global_cleanup();
    return 0;
}

/* Each case gets its server in *state and leaves nothing behind even when it fails: the
 * server stopped, the pool empty (its pairs' connections closed). */
static server g_server;

static int case_setup(void **state)
{
    memset(&g_server, 0, sizeof g_server);
    g_server.listen_fd = -1;
    *state = &g_server;
    hr_upstream_pool_shrink(0);
    return 0;
}

static int case_teardown(void **state)
{
    hr_upstream_pool_shrink(0);
    server_stop(*state);
    return 0;
}

static void shrink_closes_the_burst_handles_and_keeps_warm_ones(void **state)
{
    server *s = *state;
    assert_int_equal(server_start(s, BURST), 0);
    burst(s, BURST);
    assert_int_equal(atomic_load(&s->accepted), BURST);
    assert_int_equal(open_settles_to(s, BURST), BURST); /* each pair keeps its connection */

    assert_int_equal(hr_upstream_pool_shrink(2), BURST - 2);
    assert_int_equal(open_settles_to(s, 2), 2); /* the dropped pairs closed theirs */
    assert_int_equal(hr_upstream_pool_shrink(2), 0); /* nothing more to drop */
    assert_int_equal(open_settles_to(s, 2), 2);

    /* the kept pairs are the warm ones: a transfer reuses an open connection */
    single(s);
    assert_int_equal(atomic_load(&s->accepted), BURST);
    assert_int_equal(atomic_load(&s->answered), BURST + 1);

    assert_int_equal(hr_upstream_pool_shrink(0), 2);
    assert_int_equal(open_settles_to(s, 0), 0);
}

static void a_busy_pool_below_keep_is_left_alone(void **state)
{
    server *s = *state;
    assert_int_equal(server_start(s, 3), 0);
    burst(s, 3);
    assert_int_equal(hr_upstream_pool_shrink(4), 0);
    assert_int_equal(open_settles_to(s, 3), 3);
    single(s);
    assert_int_equal(atomic_load(&s->accepted), 3); /* still warm */
    assert_int_equal(hr_upstream_pool_shrink(0), 3);
    assert_int_equal(open_settles_to(s, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(shrink_closes_the_burst_handles_and_keeps_warm_ones, case_setup,
                                        case_teardown),
        cmocka_unit_test_setup_teardown(a_busy_pool_below_keep_is_left_alone, case_setup, case_teardown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
