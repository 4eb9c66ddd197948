/* Logs compressor: every error / failing test / summary line survives for each recognised
 * tool, stack traces and warnings are capped as documented, the contract holds (one
 * marker naming the input's hash, deterministic), and bad input never crashes or loses
 * the original. Fixtures are generated in textcomp_fixtures.h. */
#include "unit/textcomp_fixtures.h"

#include "compress/detect.h"
#include "compress/logs.h"

static int is_error(const char *s, size_t n) { return hr_log_has_error_word(s, n); }
static int is_summary(const char *s, size_t n) { return hr_log_is_summary(s, n); }

static int has_line(const hr_buf *b, const char *line)
{
    return fx_has_line(b->data, b->len, line, strlen(line));
}

static size_t count_occurrences(const hr_buf *b, const char *needle)
{
    size_t c = 0, k = strlen(needle);
    for (const char *p = b->data; p && (p = memmem(p, b->len - (size_t)(p - b->data), needle, k));
         p += k)
        c++;
    return c;
}

/* Compresses, checks the contract, and that all error and summary lines survive. */
static hr_compress_result compress_checked(const hr_buf *in, size_t *errors)
{
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    hr_compress_result r = fx_check_contract(hr_compress_logs, in->data, in->len, &o);
    assert_true(r.compressed);
    assert_string_equal(r.compressor, "logs");
    assert_string_equal(r.unit, "lines");
    size_t e = fx_lines_survive(in->data, in->len, &r.out, is_error);
    fx_lines_survive(in->data, in->len, &r.out, is_summary);
    fx_kept_lines_verbatim(in->data, in->len, &r.out);
    if (errors)
        *errors = e;
    return r;
}

static void pytest_failures_and_summary_survive(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_pytest(&in, 400, 97, 40);
    size_t errors = 0;
    hr_compress_result r = compress_checked(&in, &errors);
    assert_true(errors >= 8); /* FAILED lines, E lines, AssertionError lines */
    assert_true(fx_has_line(r.out.data, r.out.len, "tests/test_api_1.py::test_endpoint_40 FAILED [ 10%]",
                            strlen("tests/test_api_1.py::test_endpoint_40 FAILED [ 10%]")));
    assert_non_null(strstr(r.out.data, "4 failed, 396 passed in 12.34s"));
    assert_non_null(strstr(r.out.data, "(pytest log)"));
    assert_true(r.out.len * 4 < in.len); /* a mostly-passing run shrinks a lot */
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void each_tool_keeps_its_failures(void **state)
{
    (void)state;
    struct {
        const char *format;
        const char *must; /* a failure line the tool prints */
    } cases[] = {
        {"jest", "  \xe2\x9c\x95 handles click (12 ms)"},
        {"cargo", "test tests::case_20 ... FAILED"},
        {"go test", "--- FAIL: TestHandler30 (0.01s)"},
        {"npm", "npm ERR! code ERESOLVE"},
        {"make/gcc", "make: *** [Makefile:136: all] Error 2"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        hr_buf in = HR_BUF_INIT;
        switch (k) {
        case 0: fx_jest(&in, 30, 1); break;
        case 1: fx_cargo(&in, 60, 0); break;
        case 2: fx_gotest(&in, 60); break;
        case 3: fx_npm(&in, 80); break;
        default: fx_make(&in, 80, 1); break;
        }
        hr_compress_result r = compress_checked(&in, NULL);
        assert_true(fx_has_line(r.out.data, r.out.len, cases[k].must, strlen(cases[k].must)));
        char fmt[64];
        snprintf(fmt, sizeof fmt, "(%s log)", cases[k].format);
        if (!strstr(r.out.data, fmt))
            fail_msg("format %s not recognised: %s", cases[k].format, strstr(r.out.data, "Omitted"));
        hr_compress_result_free(&r);
        hr_buf_free(&in);
    }
}

static void cargo_compile_error_keeps_diagnostic(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_cargo(&in, 80, 1);
    hr_compress_result r = compress_checked(&in, NULL);
    assert_non_null(strstr(r.out.data, "error[E0308]: mismatched types\n  --> src/main.rs:14:20\n"));
    assert_non_null(strstr(r.out.data, "error: could not compile `app`"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* 2,000-line service log: errors with 3 lines of context each side, the first trace. */
static void applog_errors_keep_context(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_applog(&in, 2000, 150);
    size_t errors = 0;
    hr_compress_result r = compress_checked(&in, &errors);
    assert_true(errors >= 13);
    assert_non_null(strstr(r.out.data, "\tat com.acme.payment.Processor.run(Processor.java:41)\n"));
    /* Context: the 3 lines before and after every ERROR line are kept. */
    const char *p = in.data;
    size_t checked = 0;
    while ((p = strstr(p, " ERROR ")) != NULL) {
        const char *ls = p;
        while (ls > in.data && ls[-1] != '\n')
            ls--;
        const char *a = ls;
        for (int k = 0; k < 3 && a > in.data; k++) {
            a--;
            while (a > in.data && a[-1] != '\n')
                a--;
        }
        const char *nl = strchr(p, '\n');
        const char *z = nl + 1;
        for (int k = 0; k < 3 && *z; k++)
            z = strchr(z, '\n') + 1;
        assert_non_null(memmem(r.out.data, r.out.len, a, (size_t)(z - a)));
        checked++;
        p = nl;
    }
    assert_true(checked >= 13);
    assert_true(r.out.len * 3 < in.len);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void traces_are_capped_at_three(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    for (unsigned t = 0; t < 5; t++) {
        for (unsigned i = 0; i < 20; i++)
            FX(&in, "2024-03-12 10:00:%02u INFO request %u served\n", i, t * 100 + i);
        FX(&in, "Traceback (most recent call last):\n");
        for (unsigned f = 0; f < 8; f++)
            FX(&in, "  File \"/srv/app/layer%u_t%u.py\", line %u, in call_%u\n    return next_%u()\n",
               f, t, 10 + f, f, f);
        FX(&in, "KeyError: 'user_%u'\n", t);
    }
    hr_compress_result r = compress_checked(&in, NULL);
    char frame[128];
    for (unsigned t = 0; t < 5; t++) {
        snprintf(frame, sizeof frame, "  File \"/srv/app/layer3_t%u.py\", line 13, in call_3\n", t);
        if (t < 3)
            assert_non_null(strstr(r.out.data, frame));
        else
            assert_null(strstr(r.out.data, frame)); /* beyond the 3 traces, not in any context */
        snprintf(frame, sizeof frame, "KeyError: 'user_%u'", t);
        assert_non_null(strstr(r.out.data, frame)); /* the error itself always survives */
    }
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void warnings_are_deduplicated(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    for (unsigned i = 0; i < 10; i++) /* head and tail are kept anyway: keep them neutral */
        FX(&in, "INFO starting part %u\n", i);
    for (unsigned i = 0; i < 300; i++) {
        if (i % 3 == 0)
            FX(&in, "WARN cache miss for key user:%u at /var/lib/cache/shard%u/%x.bin (took %ums)\n",
               1000 + i, i % 7, 0xbeef00u + i, i % 13);
        else
            FX(&in, "INFO step %u done\n", i);
        if (i % 50 == 1)
            FX(&in, "WARN distinct warning kind %c%c about subsystem\n", 'a' + (int)(i / 50),
               'k' + (int)(i / 50));
    }
    for (unsigned i = 0; i < 12; i++)
        FX(&in, "INFO finishing part %u\n", i);
    hr_compress_result r = compress_checked(&in, NULL);
    /* The first cache-miss warning is kept verbatim; its 99 variants are not. */
    assert_non_null(strstr(r.out.data,
                           "WARN cache miss for key user:1000 at /var/lib/cache/shard0/beef00.bin (took 0ms)\n"));
    assert_int_equal(count_occurrences(&r.out, "WARN cache miss"), 1);
    /* 1 + 6 distinct kinds, at most 5 distinct kept. */
    assert_int_equal(count_occurrences(&r.out, "WARN "), 5);
    assert_non_null(strstr(r.out.data, " warn, "));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void short_logs_pass_through(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_applog(&in, 49, 0);
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    hr_compress_result r = fx_check_contract(hr_compress_logs, in.data, in.len, &o);
    assert_false(r.compressed);
    o.log_min_lines = 20; /* the threshold is an option */
    hr_compress_result r2 = fx_check_contract(hr_compress_logs, in.data, in.len, &o);
    assert_true(r2.compressed);
    hr_compress_result_free(&r2);
    hr_buf_free(&in);
}

static void already_compressed_is_left_alone(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_applog(&in, 300, 50);
    FX(&in, "[300 lines compressed to 20. Retrieve more: hash=0123456789abcdef01234567]\n");
    hr_compress_result r;
    assert_int_equal(hr_compress_logs(in.data, in.len, NULL, &r), 0);
    assert_false(r.compressed);
    hr_buf_free(&in);
}

static void crlf_log_keeps_lines_byte_exact(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_pytest(&in, 200, 50, 10);
    fx_crlf(&in);
    hr_compress_result r = compress_checked(&in, NULL);
    const char *want = "tests/test_api_0.py::test_endpoint_10 FAILED [  5%]\r";
    assert_true(fx_has_line(r.out.data, r.out.len, want, strlen(want)));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void bad_input_never_crashes_or_loses(void **state)
{
    (void)state;
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    hr_buf bin = HR_BUF_INIT, big = HR_BUF_INIT, utf = HR_BUF_INIT;
    fx_binary(&bin, 64 * 1024);
    fx_long_line(&big, 10u << 20, 'x');
    fx_bad_utf8(&utf, 300);
    hr_compress_result r = fx_check_contract(hr_compress_logs, bin.data, bin.len, &o);
    hr_compress_result_free(&r);
    r = fx_check_contract(hr_compress_logs, big.data, big.len, &o);
    assert_false(r.compressed); /* one line: nothing to select */
    r = fx_check_contract(hr_compress_logs, utf.data, utf.len, &o);
    assert_true(r.compressed);
    assert_int_equal(fx_lines_survive(utf.data, utf.len, &r.out, is_error), 12);
    hr_compress_result_free(&r);
    r = fx_check_contract(hr_compress_logs, "", 0, &o);
    assert_false(r.compressed);
    hr_buf_free(&bin);
    hr_buf_free(&big);
    hr_buf_free(&utf);
}

static void error_words_are_words(void **state)
{
    (void)state;
    struct {
        const char *line;
        int error;
    } cases[] = {
        {"ValueError: bad input", 1},       {"FAILED tests/x.py::t", 1},
        {"connection timeout after 30s", 1}, {"panicked at src/lib.rs", 1},
        {"permission denied", 1},           {"npm ERR! code E404", 1},
        {"redirecting stderr to file", 0},  {"5 passed, 0 failed", 0},
        {"no errors found", 0},             {"terror and horror", 0},
        {"  \xe2\x9c\x95 renders", 1},      {"INFO all good", 0},
        {"tests/x.py::test_error_path PASSED", 0}, {"on_error_hook registered", 0},
        {"  \xe2\x97\x8f Cart \xe2\x80\xba adds item", 1}, {"  \xe2\x97\x8f Console", 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        if (hr_log_has_error_word(cases[k].line, strlen(cases[k].line)) != cases[k].error)
            fail_msg("error word on '%s': want %d", cases[k].line, cases[k].error);
}

/* Edge lines in exactly sized heap copies, so the sanitizer build catches any overread
 * (a fuzz find: "0:  " is a job prefix followed by nothing but a space). */
static void recognisers_stay_in_bounds(void **state)
{
    (void)state;
    const char *edge[] = {"", " ", "0: ", "0:  ", "12: \t", "[", "[ ", "[1", "#", "#5", "-- ", "--",
                          "E", "E   ", "\x1b[", "\x1b[31m", "I0312 10", "Jan ", "2024-", "ok  \t",
                          "\xe2\x9c", "at ", "  at", "5 ", "0 failed", "no", "test ", "===", "___"};
    for (size_t k = 0; k < sizeof edge / sizeof edge[0]; k++) {
        size_t n = strlen(edge[k]);
        char *s = malloc(n ? n : 1);
        assert_non_null(s);
        memcpy(s, edge[k], n);
        (void)hr_log_line_signature(s, n);
        (void)hr_log_is_summary(s, n);
        (void)hr_log_level_of(s, n);
        free(s);
    }
    assert_false(hr_log_line_signature("0:  ", 4));
    assert_true(hr_log_line_signature("3: [ RUN      ] case", 20));
}

/* A memcheck error heading of the corpus capture (pid 12468): the report's errors hold
 * no error word, so they were cut like the library frames around them. */
static int memcheck_heading(const char *s, size_t n)
{
    static const char pfx[] = "==12468== ";
    size_t p = sizeof pfx - 1;
    if (n <= p || memcmp(s, pfx, p) != 0)
        return 0;
    return (n - p > 8 && memcmp(s + p, "Invalid ", 8) == 0) ||
           (n - p > 16 && memcmp(s + p, "Conditional jump", 16) == 0) ||
           memmem(s, n, "are definitely lost", 19) != NULL;
}

/* valgrind --leak-check=full: the "==PID==" lines are a log; every error record stays
 * whole (heading, frames, where the block was alloc'd or free'd), the still-reachable and
 * indirectly-lost library stacks go. The capture was prose and passed whole (27K tokens). */
static void valgrind_error_records_survive(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_read_corpus("valgrind_memcheck", &in);
    assert_int_equal(hr_detect(in.data, in.len), HR_CT_LOG);
    hr_compress_result r = compress_checked(&in, NULL);
    assert_int_equal(fx_lines_survive(in.data, in.len, &r.out, memcheck_heading), 10); /* "10 contexts" */
    /* the double free: both frees and the allocation, 4-9 lines below the heading */
    assert_true(has_line(&r.out, "==12468==    by 0x109506: main (kvload.c:57)"));
    assert_true(has_line(&r.out, "==12468==  Block was alloc'd at"));
    assert_true(r.out.len * 5 < in.len);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static int tap_failure(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] == ' ')
        i++;
    return n - i > 7 && memcmp(s + i, "not ok ", 7) == 0;
}

/* node --test's TAP output: the "not ok N - name" lines hold no error word; each stays,
 * with its YAML block (location, error, stack) up to "...". A capture of 68 tests, 5
 * failing, was prose and passed whole; the failure names were cut when read as a log. */
static void tap_failures_survive_with_their_block(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_read_corpus("node_test_fail", &in);
    assert_int_equal(hr_detect(in.data, in.len), HR_CT_LOG);
    hr_compress_result r = compress_checked(&in, NULL);
    assert_int_equal(fx_lines_survive(in.data, in.len, &r.out, tap_failure), 9); /* 5 tests, 4 suites */
    assert_true(has_line(&r.out, "      location: '/tmp/qa4cap/nt/semver.test.mjs:16:5'"));
    assert_true(has_line(&r.out, "        TestContext.<anonymous> (file:///tmp/qa4cap/nt/semver.test.mjs:16:56)"));
    assert_false(has_line(&r.out, "    ok 11 - compare(0.1.1, 1.0.0) === -compare(1.0.0, 0.1.1)"));
    assert_true(r.out.len * 2 < in.len);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* cppcheck: "Checking x.c ..." progress and "x.c:82:9: error: Memory leak: out [memleak]"
 * findings (style / performance / portability severities too) are a log, not prose and
 * not search matches; the capture passed whole. Every error and warning finding stays. */
static int cppcheck_finding(const char *s, size_t n)
{
    return n > 4 && memcmp(s, "src/", 4) == 0 &&
           (memmem(s, n, ": error: ", 9) || memmem(s, n, ": warning: ", 11));
}

static void cppcheck_is_a_log(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_read_corpus("cppcheck_src", &in);
    assert_int_equal(hr_detect(in.data, in.len), HR_CT_LOG);
    hr_compress_result r = compress_checked(&in, NULL);
    assert_int_equal(fx_lines_survive(in.data, in.len, &r.out, cppcheck_finding), 12);
    assert_true(r.out.len * 2 < in.len);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* Two errors whose kept context leaves one line between them: a note for that line would
 * cost more than the line, so the line stays; a long line between them gets its note, and
 * the long run of plain lines before them still gets one. */
static void a_cut_never_costs_more_than_its_lines(void **state)
{
    (void)state;
    const char *gap_lines[] = {"ok", "2024-03-12 10:01:44 INFO request 104 served to the client"};
    for (int g = 0; g < 2; g++) {
        hr_buf in = HR_BUF_INIT;
        for (unsigned i = 0; i < 200; i++) {
            if (i == 100 || i == 108)
                FX(&in, "2024-03-12 10:01:%02u ERROR payment %u failed\n", i % 60, i);
            else if (i == 104)
                FX(&in, "%s\n", gap_lines[g]);
            else
                FX(&in, "2024-03-12 10:01:%02u INFO request %u served\n", i % 60, i);
        }
        hr_compress_result r = compress_checked(&in, NULL);
        /* head 0..4 and the context from 97 on are kept: lines 5..96 are one cut */
        assert_int_equal(count_occurrences(&r.out, "[92 lines omitted]\n"), 1);
        assert_int_equal(has_line(&r.out, gap_lines[g]), g == 0);
        assert_int_equal(count_occurrences(&r.out, "[1 line omitted]\n"), g == 1);
        assert_int_equal(count_occurrences(&r.out, "[1 lines omitted]"), 0);
        hr_compress_result_free(&r);
        hr_buf_free(&in);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pytest_failures_and_summary_survive),
        cmocka_unit_test(each_tool_keeps_its_failures),
        cmocka_unit_test(cargo_compile_error_keeps_diagnostic),
        cmocka_unit_test(applog_errors_keep_context),
        cmocka_unit_test(traces_are_capped_at_three),
        cmocka_unit_test(warnings_are_deduplicated),
        cmocka_unit_test(short_logs_pass_through),
        cmocka_unit_test(already_compressed_is_left_alone),
        cmocka_unit_test(crlf_log_keeps_lines_byte_exact),
        cmocka_unit_test(bad_input_never_crashes_or_loses),
        cmocka_unit_test(error_words_are_words),
        cmocka_unit_test(recognisers_stay_in_bounds),
        cmocka_unit_test(valgrind_error_records_survive),
        cmocka_unit_test(tap_failures_survive_with_their_block),
        cmocka_unit_test(cppcheck_is_a_log),
        cmocka_unit_test(a_cut_never_costs_more_than_its_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
