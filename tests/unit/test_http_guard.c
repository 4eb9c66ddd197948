/* Unit tests for src/http/guard.c's deadlines on real loopback sockets: a head that never
 * comes is cut with a 408, and a head that came but sits unread in the socket (the proxy's
 * thread starved, not the client slow) gets its limit once more before the cut. Assertions
 * are about order (not cut before the grace could end, cut eventually), so a loaded machine
 * only makes them slower, never wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/guard.h"
#include "sys/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LIMIT_MS 300

/* A connected loopback pair: *client is the test's end, *server the guarded one. */
static void tcp_pair(int *client, int *server)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(l >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
    *client = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(*client, (struct sockaddr *)&a, sizeof a), 0);
    *server = accept(l, NULL, NULL);
    assert_true(*server >= 0);
    close(l);
}

/* What the guard wrote to the client so far ("" when nothing yet). */
static void read_now(int fd, char *buf, size_t cap)
{
    ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
    buf[n > 0 ? n : 0] = '\0';
}

/* Waits up to 10 s for the guard's answer on fd. */
static void wait_answer(int fd, char *buf, size_t cap)
{
    double end = hr_now_ms() + 10000;
    do {
        read_now(fd, buf, cap);
        if (buf[0])
            return;
        usleep(20000);
    } while (hr_now_ms() < end);
}

static hr_guard *start(void)
{
    hr_guard_opts o = {.header_timeout_ms = LIMIT_MS, .body_timeout_ms = LIMIT_MS};
    hr_guard *g = hr_guard_start(&o);
    assert_non_null(g);
    return g;
}

/* A guarded connection: its HEADERS phase (and deadline) starts now. */
static hr_guard_conn *open_guarded(hr_guard *g, int *client, int *server)
{
    int refused = 0;
    tcp_pair(client, server);
    hr_guard_conn *c = hr_guard_open(g, *server, NULL, &refused);
    assert_non_null(c);
    assert_int_equal(refused, 0);
    return c;
}

static void close_guarded(hr_guard *g, hr_guard_conn *c, int client, int server)
{
    hr_guard_close(g, c);
    hr_guard_stop(g);
    close(client);
    close(server);
}

static void missing_head_is_cut_without_grace(void **state)
{
    (void)state;
    hr_guard *g = start();
    int client, server;
    hr_guard_conn *c = open_guarded(g, &client, &server);
    char buf[512];
    wait_answer(client, buf, sizeof buf);
    assert_non_null(strstr(buf, "408 Request Timeout"));
    assert_int_equal(hr_guard_timeouts(g), 1);
    assert_int_equal(hr_guard_graces(g), 0);
    close_guarded(g, c, client, server);
}

static void unread_head_gets_its_limit_once_more(void **state)
{
    (void)state;
    hr_guard *g = start();
    int client, server;
    double t0 = hr_now_ms();
    hr_guard_conn *c = open_guarded(g, &client, &server);
    /* the client sends a head; the "proxy" (this test) never reads it */
    const char head[] = "GET /livez HTTP/1.1\r\nHost: x\r\n";
    assert_int_equal(send(client, head, sizeof head - 1, 0), (ssize_t)(sizeof head - 1));
    /* the first deadline cannot be checked before LIMIT_MS, so a cut cannot come before
     * 2 x LIMIT_MS: at 1.5 x LIMIT_MS (if this thread gets there in time) nothing is cut */
    usleep(LIMIT_MS * 1500);
    char buf[512];
    if (hr_now_ms() - t0 < 2 * LIMIT_MS) {
        read_now(client, buf, sizeof buf);
        assert_string_equal(buf, "");
    }
    wait_answer(client, buf, sizeof buf);
    assert_true(hr_now_ms() - t0 >= 2 * LIMIT_MS);
    assert_non_null(strstr(buf, "408 Request Timeout"));
    assert_int_equal(hr_guard_graces(g), 1);
    assert_int_equal(hr_guard_timeouts(g), 1);
    close_guarded(g, c, client, server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_head_is_cut_without_grace),
        cmocka_unit_test(unread_head_gets_its_limit_once_more),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
