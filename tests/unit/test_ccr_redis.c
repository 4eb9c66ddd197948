/* CCR Redis backend against a real redis-server started here on 127.0.0.1 at a free port:
 * exact round trip, TTL set with the value, tenant isolation, two processes sharing
 * entries, a stopped Redis failing puts fast and cleanly, and reconnection after restart.
 * Skips (not passes) when redis-server is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "unit/ci_deps.h"

#include "ccr/store.h"
#include "sys/hash.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *TENANT_A = "aaaa0000aaaa0000aaaa0000aaaa0000";
static const char *TENANT_B = "bbbb0000bbbb0000bbbb0000bbbb0000";

typedef struct redis_fixture {
    pid_t pid;
    int port;
    char url[64];
} redis_fixture;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &n) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static int port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int start_redis(redis_fixture *f)
{
    char port[16];
    snprintf(port, sizeof port, "%d", f->port);
    f->pid = fork();
    if (f->pid == 0) {
        freopen("/dev/null", "w", stdout);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", (char *)NULL);
        _exit(127);
    }
    for (double t0 = now_s(); now_s() - t0 < 5;) {
        if (port_open(f->port))
            return 0;
        int status;
        if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
            f->pid = -1;
            return -1;
        }
        usleep(20000);
    }
    return -1;
}

static void stop_redis(redis_fixture *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
        f->pid = -1;
    }
}

static int setup(void **state)
{
    if (system("command -v redis-server >/dev/null 2>&1") != 0)
        return 0; /* tests skip */
    redis_fixture *f = calloc(1, sizeof *f);
    f->port = free_port();
    snprintf(f->url, sizeof f->url, "redis://127.0.0.1:%d/0", f->port);
    if (f->port < 0 || start_redis(f) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    redis_fixture *f = *state;
    if (f) {
        stop_redis(f);
        free(f);
    }
    return 0;
}

static hr_ccr_store *open_store(redis_fixture *f)
{
    hr_ccr_config c;
    hr_ccr_config_default(&c);
    c.backend = HR_CCR_BACKEND_REDIS;
    c.redis_url = f->url;
    char err[256] = "";
    hr_ccr_store *s = hr_ccr_store_open(&c, err, sizeof err);
    if (!s)
        fail_msg("open: %s", err);
    return s;
}

static redis_fixture *need_redis(void **state)
{
    if (!*state)
        HR_SKIP_OR_FAIL("redis-server");
    return *state;
}

static void round_trip_ttl_and_tenants(void **state)
{
    redis_fixture *f = need_redis(state);
    hr_ccr_store *s = open_store(f);
    char bytes[3000];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (char)(i * 7);
    char h[HR_CONTENT_HASH_HEX + 1], hs[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash(bytes, sizeof bytes, h);
    assert_int_equal(hr_ccr_put(s, TENANT_A, h, bytes, sizeof bytes, 0), 0);
    hr_content_hash("brief", 5, hs);
    assert_int_equal(hr_ccr_put(s, TENANT_A, hs, "brief", 5, 1), 0);
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(s, TENANT_A, h, &out), HR_CCR_FOUND);
    assert_int_equal(out.len, sizeof bytes);
    assert_memory_equal(out.data, bytes, sizeof bytes);
    hr_buf_reset(&out);
    assert_int_equal(hr_ccr_get(s, TENANT_B, h, &out), HR_CCR_NOT_FOUND);
    assert_int_equal(hr_ccr_get(s, TENANT_A, hs, &out), HR_CCR_FOUND);
    usleep(1200 * 1000);
    hr_buf_reset(&out);
    assert_int_equal(hr_ccr_get(s, TENANT_A, hs, &out), HR_CCR_NOT_FOUND);
    assert_int_equal(hr_ccr_get(s, TENANT_A, h, &out), HR_CCR_FOUND);
    hr_buf_free(&out);
    hr_ccr_store_close(s);
}

static void two_processes_share_entries(void **state)
{
    redis_fixture *f = need_redis(state);
    char h[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash("from the other proxy", 20, h);
    pid_t child = fork();
    if (child == 0) {
        hr_ccr_config c;
        hr_ccr_config_default(&c);
        c.backend = HR_CCR_BACKEND_REDIS;
        c.redis_url = f->url;
        char err[256];
        hr_ccr_store *cs = hr_ccr_store_open(&c, err, sizeof err);
        int rc = cs ? hr_ccr_put(cs, TENANT_A, h, "from the other proxy", 20, 0) : -1;
        hr_ccr_store_close(cs);
        _exit(rc == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    hr_ccr_store *s = open_store(f);
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(s, TENANT_A, h, &out), HR_CCR_FOUND);
    assert_string_equal(out.data, "from the other proxy");
    hr_buf_free(&out);
    hr_ccr_store_close(s);
}

static void stopped_redis_fails_fast_then_reconnects(void **state)
{
    redis_fixture *f = need_redis(state);
    hr_ccr_store *s = open_store(f);
    char h[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash("x", 1, h);
    assert_int_equal(hr_ccr_put(s, TENANT_A, h, "x", 1, 0), 0);
    stop_redis(f);
    double t0 = now_s();
    for (int i = 0; i < 20; i++)
        assert_int_equal(hr_ccr_put(s, TENANT_A, h, "x", 1, 0), -1);
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(s, TENANT_A, h, &out), HR_CCR_ERROR);
    assert_true(now_s() - t0 < 1.0);
    hr_ccr_stats st;
    hr_ccr_store_stats(s, &st);
    assert_int_equal(st.put_failures, 20);
    assert_int_equal(st.get_failures, 1);
    assert_int_equal(start_redis(f), 0);
    usleep(1100 * 1000); /* past the redial backoff */
    assert_int_equal(hr_ccr_put(s, TENANT_A, h, "x", 1, 0), 0);
    assert_int_equal(hr_ccr_get(s, TENANT_A, h, &out), HR_CCR_FOUND);
    hr_buf_free(&out);
    hr_ccr_store_close(s);
}

static void bad_urls_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {"http://127.0.0.1:6379", "redis://", "redis://h:99999", "redis://h/x"};
    for (size_t i = 0; i < 4; i++) {
        hr_ccr_config c;
        hr_ccr_config_default(&c);
        c.backend = HR_CCR_BACKEND_REDIS;
        c.redis_url = bad[i];
        char err[256] = "";
        hr_ccr_store *s = hr_ccr_store_open(&c, err, sizeof err);
        assert_null(s);
        assert_true(strlen(err) > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip_ttl_and_tenants, setup, teardown),
        cmocka_unit_test_setup_teardown(two_processes_share_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(stopped_redis_fails_fast_then_reconnects, setup,
                                        teardown),
        cmocka_unit_test(bad_urls_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
