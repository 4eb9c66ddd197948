/* Unit tests for the src/sys toolbox: clock, number parsing, ASCII classes, growable array,
 * JSON string escaping, HR_ASSERT and the lock-held probe, tenant keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sys/ascii.h"
#include "sys/assert.h"
#include "sys/buf.h"
#include "sys/clock.h"
#include "sys/jsonesc.h"
#include "sys/parse.h"
#include "sys/tenant.h"
#include "sys/vec.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void clocks_agree_and_advance(void **state)
{
    (void)state;
    double a = hr_now_ms();
    int64_t a64 = hr_now_ms64();
    double s = hr_now_s();
    struct timespec nap = {0, 20 * 1000000L};
    nanosleep(&nap, NULL);
    double b = hr_now_ms();
    int64_t b64 = hr_now_ms64();
    assert_true(b - a >= 19.0);
    assert_true(b64 - a64 >= 19);
    /* the three monotonic readings are the same clock in different units */
    assert_true(a64 >= (int64_t)a && a64 - (int64_t)a < 5);
    assert_true(s * 1e3 - a >= 0 && s * 1e3 - a < 5);
    /* time() reads glibc's coarse clock, which may still show the previous second just
     * after a boundary: bracket the fine reading with two coarse ones */
    int64_t t0 = (int64_t)time(NULL) * 1000;
    int64_t wall = hr_wall_ms();
    int64_t t1 = (int64_t)time(NULL) * 1000;
    assert_true(wall >= t0 - 1000 && wall <= t1 + 2000);
}

static void parse_long_whole_string_and_bounds(void **state)
{
    (void)state;
    long v = 7;
    assert_int_equal(hr_parse_long("42", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(hr_parse_long("-5", -10, 10, &v), 0);
    assert_int_equal(v, -5);
    v = 7;
    assert_int_equal(hr_parse_long("101", 0, 100, &v), -1);
    assert_int_equal(hr_parse_long("12x", 0, 100, &v), -1);
    assert_int_equal(hr_parse_long("", 0, 100, &v), -1);
    assert_int_equal(hr_parse_long(NULL, 0, 100, &v), -1);
    assert_int_equal(hr_parse_long("0x10", 0, 100, &v), -1);
    assert_int_equal(hr_parse_long("99999999999999999999999", 0, LONG_MAX, &v), -1);
    assert_int_equal(v, 7); /* untouched on refusal */
}

static void parse_u64_refuses_signs_and_overflow(void **state)
{
    (void)state;
    uint64_t v = 3;
    assert_int_equal(hr_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(hr_parse_u64("18446744073709551616", UINT64_MAX, &v), -1);
    assert_int_equal(hr_parse_u64("-1", UINT64_MAX, &v), -1);
    assert_int_equal(hr_parse_u64(" -1", UINT64_MAX, &v), -1); /* strtoull would wrap */
    assert_int_equal(hr_parse_u64("11", 10, &v), -1);
    assert_int_equal(hr_parse_u64("10", 10, &v), 0);
    assert_true(v == 10);
}

static void parse_double_and_bool(void **state)
{
    (void)state;
    double d = 0;
    assert_int_equal(hr_parse_double("0.25", &d), 0);
    assert_true(d == 0.25);
    assert_int_equal(hr_parse_double("1e3", &d), 0);
    assert_true(d == 1000.0);
    assert_int_equal(hr_parse_double("nan", &d), -1);
    assert_int_equal(hr_parse_double("inf", &d), -1);
    assert_int_equal(hr_parse_double("1e999", &d), -1);
    assert_int_equal(hr_parse_double("0.5s", &d), -1);
    int b = -1;
    const char *yes[] = {"1", "true", "YES", "On"}, *no[] = {"0", "False", "no", "OFF"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(hr_parse_bool(yes[i], &b), 0);
        assert_int_equal(b, 1);
        assert_int_equal(hr_parse_bool(no[i], &b), 0);
        assert_int_equal(b, 0);
    }
    assert_int_equal(hr_parse_bool("2", &b), -1);
    assert_int_equal(hr_parse_bool("", &b), -1);
}

static void env_long_three_outcomes(void **state)
{
    (void)state;
    long v = 0;
    unsetenv("HR_TEST_TOOLBOX_N");
    assert_int_equal(hr_env_long("HR_TEST_TOOLBOX_N", 0, 10, &v), 0);
    setenv("HR_TEST_TOOLBOX_N", "", 1);
    assert_int_equal(hr_env_long("HR_TEST_TOOLBOX_N", 0, 10, &v), 0);
    setenv("HR_TEST_TOOLBOX_N", "9", 1);
    assert_int_equal(hr_env_long("HR_TEST_TOOLBOX_N", 0, 10, &v), 1);
    assert_int_equal(v, 9);
    setenv("HR_TEST_TOOLBOX_N", "11", 1);
    assert_int_equal(hr_env_long("HR_TEST_TOOLBOX_N", 0, 10, &v), -1);
    unsetenv("HR_TEST_TOOLBOX_N");
}

/* The oracle is <ctype.h> in the C locale, which is ASCII for bytes < 0x80; above that our
 * classes answer "none" whatever the locale. */
static void ascii_matches_c_locale(void **state)
{
    (void)state;
    setlocale(LC_CTYPE, "C");
    for (int c = 0; c < 256; c++) {
        int ascii = c < 0x80;
        assert_int_equal(hr_is_digit(c), ascii && isdigit(c) != 0);
        assert_int_equal(hr_is_alpha(c), ascii && isalpha(c) != 0);
        assert_int_equal(hr_is_alnum(c), ascii && isalnum(c) != 0);
        assert_int_equal(hr_is_upper(c), ascii && isupper(c) != 0);
        assert_int_equal(hr_is_lower(c), ascii && islower(c) != 0);
        assert_int_equal(hr_is_xdigit(c), ascii && isxdigit(c) != 0);
        assert_int_equal(hr_is_space(c), ascii && isspace(c) != 0);
        assert_int_equal(hr_to_lower(c), ascii ? tolower(c) : c);
        assert_int_equal(hr_to_upper(c), ascii ? toupper(c) : c);
        if (hr_is_xdigit(c)) {
            char s[2] = {(char)c, 0};
            assert_int_equal(hr_hex_val(c), (int)strtol(s, NULL, 16));
        } else {
            assert_int_equal(hr_hex_val(c), -1);
        }
        assert_int_equal(hr_is_json_ws(c), c == ' ' || c == '\t' || c == '\n' || c == '\r');
    }
    assert_int_equal(hr_is_alpha(-1), 0); /* EOF and negative chars are safe */
    assert_int_equal(hr_is_space((char)0xa0), 0);
}

static void vec_grows_keeps_contents(void **state)
{
    (void)state;
    int *v = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(HR_VEC_RESERVE(v, cap, n + 1), 0);
        assert_true(cap >= n + 1);
        v[n++] = i;
    }
    for (int i = 0; i < 1000; i++)
        assert_int_equal(v[i], i);
    size_t before = cap;
    assert_int_equal(HR_VEC_RESERVE(v, cap, 10), 0); /* already there: no change */
    assert_int_equal(cap, before);
    int *keep = v;
    assert_int_equal(HR_VEC_RESERVE(v, cap, SIZE_MAX / 2), -1); /* byte size overflows */
    assert_ptr_equal(v, keep);
    assert_int_equal(cap, before);
    free(v);
}

static void json_escape_short_forms_and_controls(void **state)
{
    (void)state;
    hr_buf b = HR_BUF_INIT;
    const char in[] = "a\"b\\c\n\r\t\b\f\x01\x1f\x7f\xc3\xa9";
    assert_int_equal(hr_json_escape(&b, in, sizeof in - 1), 0);
    /* RFC 8259 section 7: quote, backslash and controls escaped; DEL and UTF-8 verbatim */
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\xc3\xa9\"");
    hr_buf_reset(&b);
    assert_int_equal(hr_json_escape(&b, "x\0y", 3), 0); /* NUL inside the length */
    assert_string_equal(b.data, "\"x\\u0000y\"");
    hr_buf_free(&b);
}

static void mutex_held_probe(void **state)
{
    (void)state;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    assert_int_equal(hr_mutex_held(&mu), 0);
    assert_int_equal(pthread_mutex_trylock(&mu), 0); /* the probe left it unlocked */
    assert_int_equal(hr_mutex_held(&mu), 1);
    pthread_mutex_unlock(&mu);
}

/* A failed HR_ASSERT aborts in builds where asserts are on and is not evaluated where off. */
static void assert_aborts_when_on(void **state)
{
    (void)state;
    int evaluated = 0;
    HR_ASSERT((evaluated = 1) == 1);
    assert_int_equal(evaluated, HR_ASSERTS_ON);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull_fd = open("/dev/null", 1);
        if (devnull_fd >= 0)
            dup2(devnull_fd, 2);
        HR_ASSERT(pid == 1);
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (HR_ASSERTS_ON)
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    else
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A request without a credential reads and writes as the tenant of the word "anonymous";
 * a set tenant passes through untouched (the same pointer). */
static void tenant_or_anonymous(void **state)
{
    (void)state;
    char out[HR_TENANT_MAX + 1], want[HR_TENANT_MAX + 1];
    hr_tenant_derive(HR_TENANT_NO_CREDENTIAL, strlen(HR_TENANT_NO_CREDENTIAL), want);
    assert_string_equal(hr_tenant_or_anonymous(NULL, out), want);
    assert_string_equal(hr_tenant_or_anonymous("", out), want);
    assert_int_equal(strlen(want), HR_TENANT_DERIVED_HEX);
    assert_true(hr_tenant_valid(want));
    const char *mine = "abc123";
    assert_ptr_equal(hr_tenant_or_anonymous(mine, out), mine);
    /* Bearer scheme is case-insensitive and blank runs fold: one tenant */
    char a[HR_TENANT_MAX + 1], b[HR_TENANT_MAX + 1];
    hr_tenant_for_header("Bearer sk-1", a);
    hr_tenant_for_header("bearer \t sk-1", b);
    assert_string_equal(a, b);
    hr_tenant_for_header("sk-1", b); /* x-api-key form differs */
    assert_string_not_equal(a, b);
}

/* Whole streams and files into buffers: every byte (across the 64 KiB reads), the cap
 * refused, a missing file NULL with fopen's errno, an empty file "". */
static void read_stream_and_file(void **state)
{
    (void)state;
    char path[] = "/tmp/hr_toolbox_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = 200000;
    char *data = malloc(n);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(i * 7 + i / 251);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
    size_t len = 0;
    char *text = hr_buf_read_file(path, &len);
    assert_non_null(text);
    assert_int_equal(len, n);
    assert_memory_equal(text, data, n);
    assert_int_equal(text[n], 0);
    free(text);
    FILE *f = fopen(path, "rb");
    hr_buf b = HR_BUF_INIT;
    hr_buf_puts(&b, "x"); /* appends after what is there */
    assert_int_equal(hr_buf_read_stream(&b, f, 0), 0);
    assert_int_equal(b.len, n + 1);
    assert_memory_equal(b.data + 1, data, n);
    rewind(f);
    hr_buf_reset(&b);
    assert_int_equal(hr_buf_read_stream(&b, f, n - 1), -1); /* one byte past the cap */
    rewind(f);
    hr_buf_reset(&b);
    assert_int_equal(hr_buf_read_stream(&b, f, n), 0);
    fclose(f);
    hr_buf_free(&b);
    assert_int_equal(truncate(path, 0), 0);
    text = hr_buf_read_file(path, &len);
    assert_non_null(text);
    assert_int_equal(len, 0);
    assert_string_equal(text, "");
    free(text);
    unlink(path);
    errno = 0;
    assert_null(hr_buf_read_file(path, &len));
    assert_int_equal(errno, ENOENT);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clocks_agree_and_advance),
        cmocka_unit_test(parse_long_whole_string_and_bounds),
        cmocka_unit_test(parse_u64_refuses_signs_and_overflow),
        cmocka_unit_test(parse_double_and_bool),
        cmocka_unit_test(env_long_three_outcomes),
        cmocka_unit_test(ascii_matches_c_locale),
        cmocka_unit_test(vec_grows_keeps_contents),
        cmocka_unit_test(json_escape_short_forms_and_controls),
        cmocka_unit_test(mutex_held_probe),
        cmocka_unit_test(assert_aborts_when_on),
        cmocka_unit_test(tenant_or_anonymous),
        cmocka_unit_test(read_stream_and_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
