/* Unit tests for src/http/base_url.c: which x-headroom-base-url values the per-request
 * upstream accepts. The verdicts follow from the rule (exact origin on the operator's list,
 * one reading shared with libcurl), written by hand from RFC 3986 and the usual SSRF
 * tricks, not from our output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/base_url.h"

#include <string.h>

static int allowed(const char *list, const char *url)
{
    const char *reason = NULL;
    int rc = hr_base_url_allowed(list, url, &reason);
    if (rc != 0)
        assert_true(reason && strlen(reason) > 20);
    return rc == 0;
}

#define LIST "https://gw.example.com, http://127.0.0.1:9000 ,[::1]:8443,api.example.org:444"

static void nothing_is_allowed_by_default(void **state)
{
    (void)state;
    assert_false(allowed("", "https://gw.example.com"));
    assert_false(allowed(NULL, "https://api.openai.com"));
}

static void listed_origins_pass_with_any_path(void **state)
{
    (void)state;
    assert_true(allowed(LIST, "https://gw.example.com"));
    assert_true(allowed(LIST, "https://GW.Example.COM/openai/v1/"));
    assert_true(allowed(LIST, "https://gw.example.com:443/x"));
    assert_true(allowed(LIST, "http://127.0.0.1:9000"));
    assert_true(allowed(LIST, "https://[::1]:8443/base"));
    assert_true(allowed(LIST, "https://api.example.org:444"));
}

static void other_hosts_ports_and_schemes_are_refused(void **state)
{
    (void)state;
    const char *no[] = {
        "https://evil.example.com", "http://gw.example.com", /* scheme differs */
        "https://gw.example.com:8443", "http://127.0.0.1:9001", "http://127.0.0.1",
        "https://api.example.org", /* listed with :444 only */
        "https://gw.example.com.evil.net", "https://x.gw.example.com", "https://gw.example.com.",
        "https://example.com", "ftp://gw.example.com", "gw.example.com", "//gw.example.com",
        "file:///etc/passwd", "gopher://127.0.0.1:9000/",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (allowed(LIST, no[i]))
            fail_msg("allowed %s", no[i]);
}

static void userinfo_and_parser_confusion_are_refused(void **state)
{
    (void)state;
    const char *no[] = {
        "https://gw.example.com@evil.com", "https://evil.com@gw.example.com",
        "https://gw.example.com:443@evil.com/", "https://user:pw@gw.example.com",
        "https://evil.com\\@gw.example.com", "https://gw.example.com\\.evil.com",
        "https://evil.com#@gw.example.com", "https://evil.com?@gw.example.com",
        "https://gw.example.com/?x", "https://gw.example.com/#x",
        "https://gw%2eexample.com", "https://gw.example.com/%2e%2e/", "https://gw.example.com /",
        "https://gw.example.com\t", "https://gw.example.com:", "https://gw.example.com:99999",
        "https://gw.example.com:0443x", "https://gw.example.com/\xc3\xa9", "https://",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (allowed(LIST, no[i]))
            fail_msg("allowed %s", no[i]);
}

static void other_spellings_of_a_listed_ip_are_refused(void **state)
{
    (void)state;
    const char *no[] = {
        "http://127.1:9000", "http://0x7f.0.0.1:9000", "http://0177.0.0.1:9000",
        "http://2130706433:9000", "http://127.000.000.001:9000", "http://localhost:9000",
        "http://[::ffff:127.0.0.1]:9000", "http://[::ffff:7f00:1]:9000", "http://0.0.0.0:9000",
        "https://[0:0:0:0:0:0:0:1]:8443", "https://[::1%25lo]:8443",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (allowed(LIST, no[i]))
            fail_msg("allowed %s", no[i]);
}

static void the_list_itself_is_checked(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(hr_base_url_allowlist_check("", err, sizeof err), 0);
    assert_int_equal(hr_base_url_allowlist_check(LIST, err, sizeof err), 0);
    const char *bad[] = {"https://u@h", "https://h/path", "ftp://h", "h:0", "h:70000",
                         "https://h?x", "ex ample.com", "[zz]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        if (hr_base_url_allowlist_check(bad[i], err, sizeof err) == 0)
            fail_msg("accepted list %s", bad[i]);
        assert_non_null(strstr(err, "--allow-base-url"));
    }
    /* a bad entry makes the check refuse even a URL that a good entry would allow */
    assert_false(allowed("https://u@h,https://gw.example.com", "https://gw.example.com"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_is_allowed_by_default),
        cmocka_unit_test(listed_origins_pass_with_any_path),
        cmocka_unit_test(other_hosts_ports_and_schemes_are_refused),
        cmocka_unit_test(userinfo_and_parser_confusion_are_refused),
        cmocka_unit_test(other_spellings_of_a_listed_ip_are_refused),
        cmocka_unit_test(the_list_itself_is_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
