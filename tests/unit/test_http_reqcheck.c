/* Unit tests for src/http/reqcheck.c (request target, field bytes, framing) and the URL
 * credential masking of src/sys/log.c that the proxy shows configured URLs through. The
 * expected verdicts come from RFC 3986 / 9110 / 9112, not from our output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/reqcheck.h"
#include "sys/log.h"

#include <string.h>

static int target(const char *t)
{
    hr_reqcheck_result r;
    int st = hr_reqcheck_target(t, &r);
    assert_int_equal(st, r.status);
    if (st)
        assert_true(strlen(r.reason) > 10);
    return st;
}

static void origin_form_targets_pass(void **state)
{
    (void)state;
    const char *ok[] = {
        "/", "/v1/chat/completions", "/v1/models/ft:gpt-4o:org:abc", "/v1/retrieve/abc?query=a+b",
        "/v1/models?q=caf%C3%A9", "/v1/x?a=1&b=/c?d", "/@host:1/x", "/a/..b/c", "/a/.../c",
        "/v1/models?x=%F0%9F%98%80", "/v1/%7Euser", "/a;b=c,d",
        /* left raw by WHATWG URL serialisers (fetch, browsers) */
        "/v1/x?ids[]=1&f={a}|b^c`d\\e", "/v1/x[0]|y^z",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (target(ok[i]) != 0)
            fail_msg("refused %s", ok[i]);
    }
}

static void other_forms_and_authorities_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "@localhost:8080/v1/models", "localhost:443", "http://evil/v1/models", "*",
        "//evil.example/v1", "v1/models", ":x@h:1/x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (target(bad[i]) != 400)
            fail_msg("accepted %s", bad[i]);
}

static void dot_segments_and_encoded_separators_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "/..", "/v1/../x", "/v1/./x", "/v1/.", "/v1/%2e%2e/x", "/v1/%2E./x", "/v1/.%2e",
        "/v1%2fx", "/v1%2Fx", "/v1%5cx", "/x/..?q=1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (target(bad[i]) != 400)
            fail_msg("accepted %s", bad[i]);
    /* an encoded slash is only a separator in the path; in the query it is data */
    assert_int_equal(target("/v1/x?path=a%2Fb"), 0);
}

static void bytes_and_percent_encoding(void **state)
{
    (void)state;
    const char *bad[] = {
        "/a b", "/a\"b", "/a<b", "/a\\b", "/a{b", "/a`b", "/a#b", "/a\x7f", "/a?q=a b",
        "/a?q=<x>", "/a?q=\"", "/a?q=x#frag", "/a?q=\x01",
        "/caf\xc3\xa9",       /* raw UTF-8: must be percent-encoded */
        "/a%", "/a%4", "/a%zz", "/a%4g",
        "/a%00b", "/a%0d%0aX:1", "/a?q=%7f",  /* encoded control bytes */
        "/a?q=%ff%fe", "/a?q=%C3", "/a?q=%C0%AF", "/a?q=%ED%A0%80", "/a?q=%F4%90%80%80",
        "/a?q=%E2%82",         /* truncated sequence at the end */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (target(bad[i]) != 400)
            fail_msg("accepted %s", bad[i]);
}

static int field(const char *name, const char *value, size_t len)
{
    hr_reqcheck_result r;
    return hr_reqcheck_field(name, value, len, &r);
}

static void field_bytes(void **state)
{
    (void)state;
    assert_int_equal(field("X-A", "plain value\twith tab", 20), 0);
    assert_int_equal(field("X-A", "caf\xc3\xa9", 5), 0); /* obs-text is allowed */
    assert_int_equal(field("X-A", "a\rb", 3), 400);
    assert_int_equal(field("X-A", "a\nb", 3), 400);
    assert_int_equal(field("X-A", "a\0b", 3), 400); /* longer than strlen: a NUL inside */
    assert_int_equal(field("X-A", "a\x01", 2), 400);
    assert_int_equal(field("X-A", "a\x7f", 2), 400);
    assert_int_equal(field("Bad Name", "v", 1), 400);
    assert_int_equal(field("Bad:Name", "v", 1), 400);
    assert_int_equal(field("", "v", 1), 400);
    assert_int_equal(field("x-weird_but.ok~!", "v", 1), 0);
}

static int framing(int http11, const char *const *fields, size_t n, const char **reason)
{
    static hr_reqcheck_result r;
    hr_reqcheck_framing f = {0};
    f.http11 = http11;
    for (size_t i = 0; i < n; i++)
        hr_reqcheck_framing_add(&f, fields[2 * i], fields[2 * i + 1]);
    int st = hr_reqcheck_framing_verdict(&f, &r);
    *reason = r.reason;
    return st;
}

static void framing_rules(void **state)
{
    (void)state;
    const char *why;
    const char *plain[] = {"Host", "h", "Content-Length", "12"};
    assert_int_equal(framing(1, plain, 2, &why), 0);
    const char *no_host[] = {"Content-Length", "12"};
    assert_int_equal(framing(1, no_host, 1, &why), 400);
    assert_int_equal(framing(0, no_host, 1, &why), 0); /* HTTP/1.0 needs no Host */
    const char *two_hosts[] = {"Host", "a", "host", "b"};
    assert_int_equal(framing(1, two_hosts, 2, &why), 400);
    const char *cl_te[] = {"Host", "h", "Content-Length", "3", "Transfer-Encoding", "chunked"};
    assert_int_equal(framing(1, cl_te, 3, &why), 400);
    assert_non_null(strstr(why, "Transfer-Encoding and Content-Length"));
    const char *two_cl[] = {"Host", "h", "Content-Length", "2", "content-length", "3"};
    assert_int_equal(framing(1, two_cl, 3, &why), 400);
    const char *same_cl[] = {"Host", "h", "Content-Length", "2", "content-length", "2"};
    assert_int_equal(framing(1, same_cl, 3, &why), 0);
    const char *bad_cl[] = {"Host", "h", "Content-Length", "+2"};
    assert_int_equal(framing(1, bad_cl, 2, &why), 400);
    const char *huge_cl[] = {"Host", "h", "Content-Length", "99999999999999999999"};
    assert_int_equal(framing(1, huge_cl, 2, &why), 400);
    const char *chunked[] = {"Host", "h", "Transfer-Encoding", "Chunked"};
    assert_int_equal(framing(1, chunked, 2, &why), 0);
    const char *gzip[] = {"Host", "h", "Transfer-Encoding", "gzip, chunked"};
    assert_int_equal(framing(1, gzip, 2, &why), 501);
    const char *two_te[] = {"Host", "h", "Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked"};
    assert_int_equal(framing(1, two_te, 3, &why), 501);
}

static void redact(const char *in, const char *want)
{
    hr_buf b = HR_BUF_INIT;
    assert_int_equal(hr_log_redact(in, &b), 0);
    assert_string_equal(b.data ? b.data : "", want);
    hr_buf_free(&b);
}

static void url_credentials_are_masked(void **state)
{
    (void)state;
    redact("http://user:pw@host:1/x", "http://***@host:1/x");
    redact("https://tok@api.example", "https://***@api.example");
    redact("https://api.example/a@b", "https://api.example/a@b"); /* '@' in the path: no user */
    redact("a=http://u:p@h1 b=https://h2 c=redis://:pw@h3:6379/0",
           "a=http://***@h1 b=https://h2 c=redis://***@h3:6379/0");
    redact("http://u:p@q@h/x", "http://***@h/x"); /* the last '@' of the authority ends it */
    redact("no url here", "no url here");
    redact("", "");
}

/* Token lists as Connection and Upgrade carry them (RFC 9110 5.6.1): commas, optional blanks,
 * case-insensitive; a token is never matched inside a longer one. */
static void token_lists(void **state)
{
    (void)state;
    assert_true(hr_http_list_has("Upgrade", "upgrade"));
    assert_true(hr_http_list_has("keep-alive, Upgrade", "upgrade"));
    assert_true(hr_http_list_has("keep-alive,upgrade ,close", "UPGRADE"));
    assert_true(hr_http_list_has("websocket", "websocket"));
    assert_false(hr_http_list_has("upgraded", "upgrade"));
    assert_false(hr_http_list_has("x-upgrade", "upgrade"));
    assert_false(hr_http_list_has("", "upgrade"));
    assert_false(hr_http_list_has(NULL, "upgrade"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(origin_form_targets_pass),
        cmocka_unit_test(other_forms_and_authorities_are_refused),
        cmocka_unit_test(dot_segments_and_encoded_separators_are_refused),
        cmocka_unit_test(bytes_and_percent_encoding),
        cmocka_unit_test(field_bytes),
        cmocka_unit_test(framing_rules),
        cmocka_unit_test(url_credentials_are_masked),
        cmocka_unit_test(token_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
