/* Unit tests for src/http/h1parse.c (request framing of the events server model). The
 * expected verdicts come from RFC 9112 (message syntax, chunked coding) and from what a
 * proxy must refuse to avoid request smuggling, not from our output. Smuggling-shaped
 * heads are run through the parser and then reqcheck.h, as the server does. Oversized heads
 * (414/431) are the server's limit and are covered on the real server by the
 * node_events.hostile_http suite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/h1parse.h"
#include "http/reqcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses text (a whole head) in a private copy; returns the status, 0 = parsed. */
static int parse(const char *text, hr_h1_head *h, char **copy)
{
    size_t n = strlen(text);
    *copy = malloc(n + 1);
    memcpy(*copy, text, n + 1);
    const char *reason = NULL;
    int st = hr_h1_parse_head(*copy, n, h, &reason);
    if (st)
        assert_non_null(reason);
    return st;
}

static int parse_status(const char *text)
{
    hr_h1_head h;
    char *copy;
    int st = parse(text, &h, &copy);
    hr_h1_head_free(&h);
    free(copy);
    return st;
}

/* Parser, then the reqcheck rules over the fields, as evserver.c runs them: the status the
 * client gets (0 = accepted). */
static int verdict(const char *text)
{
    hr_h1_head h;
    char *copy;
    int st = parse(text, &h, &copy);
    if (!st) {
        hr_reqcheck_result r = {0};
        hr_reqcheck_framing f = {0};
        for (size_t i = 0; i < h.n_fields && !r.status; i++) {
            hr_reqcheck_field(h.fields[2 * i], h.fields[2 * i + 1], h.value_lens[i], &r);
            hr_reqcheck_framing_add(&f, h.fields[2 * i], h.fields[2 * i + 1]);
        }
        f.http11 = h.http11;
        if (!r.status && hr_reqcheck_target(h.target, &r) == 0)
            hr_reqcheck_framing_verdict(&f, &r);
        st = r.status;
    }
    hr_h1_head_free(&h);
    free(copy);
    return st;
}

static void head_end_is_the_first_empty_line(void **state)
{
    (void)state;
    const char *a = "GET / HTTP/1.1\r\nHost: x\r\n\r\nNEXT";
    assert_int_equal(hr_h1_head_end(a, strlen(a)), strlen(a) - 4);
    const char *partial = "GET / HTTP/1.1\r\nHost: x\r\n";
    assert_int_equal(hr_h1_head_end(partial, strlen(partial)), 0);
    /* empty lines before the request line belong to the head (RFC 9112 2.2) */
    const char *lead = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    assert_int_equal(hr_h1_head_end(lead, strlen(lead)), strlen(lead));
    /* a bare-LF head ends too, so it is refused at once instead of waiting for a deadline */
    const char *lf = "GET / HTTP/1.1\nHost: x\n\n";
    assert_int_equal(hr_h1_head_end(lf, strlen(lf)), strlen(lf));
}

static void a_plain_head_parses(void **state)
{
    (void)state;
    hr_h1_head h;
    char *copy;
    assert_int_equal(parse("\r\nPOST /v1/x?a=1 HTTP/1.1\r\nHost: h\r\nX-A:  v w \t\r\n"
                           "X-Empty:\r\n\r\n", &h, &copy), 0);
    assert_string_equal(h.method, "POST");
    assert_string_equal(h.target, "/v1/x?a=1");
    assert_int_equal(h.http11, 1);
    assert_int_equal(h.n_fields, 3);
    assert_string_equal(h.fields[0], "Host");
    assert_string_equal(h.fields[3], "v w"); /* blanks around the value are not part of it */
    assert_int_equal(h.value_lens[1], 3);
    assert_string_equal(h.fields[5], "");
    hr_h1_head_free(&h);
    free(copy);
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &h, &copy), 0);
    assert_int_equal(h.http11, 0);
    hr_h1_head_free(&h);
    free(copy);
}

static void malformed_request_lines_are_refused(void **state)
{
    (void)state;
    assert_int_equal(parse_status("GARBAGE\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET  / HTTP/1.1\r\n\r\n"), 400);   /* two spaces */
    assert_int_equal(parse_status("GET / HTTP/1.1 \r\n\r\n"), 400);   /* trailing blank */
    assert_int_equal(parse_status("GET /\tx HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET / http/1.1\r\n\r\n"), 400);    /* case-sensitive */
    assert_int_equal(parse_status("GET / HTTP/1.12\r\n\r\n"), 400);
    assert_int_equal(parse_status("G(T / HTTP/1.1\r\n\r\n"), 400);    /* method is a token */
    assert_int_equal(parse_status("GET / HTTP/9.9\r\n\r\n"), 505);
    assert_int_equal(parse_status("GET / HTTP/2.0\r\n\r\n"), 505);
    assert_int_equal(parse_status("GET /a\rb HTTP/1.1\r\n\r\n"), 400); /* bare CR in target */
}

static void bare_lf_obs_fold_and_blank_before_colon_are_refused(void **state)
{
    (void)state;
    assert_int_equal(parse_status("GET / HTTP/1.1\nHost: x\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: x\n\r\n"), 400);
    assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: x\r\n\n"), 400);
    /* obs-fold: a continuation line would join the previous value for one reader only */
    assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n"), 400);
    /* "Transfer-Encoding : chunked" is ignored by some readers, honoured by others */
    assert_int_equal(parse_status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n"),
                     400);
    assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n"), 400);
}

static void smuggling_shaped_heads_are_refused(void **state)
{
    (void)state;
    const char *h = "POST /v1/x HTTP/1.1\r\nHost: x\r\n";
    char buf[512];
    const char *bad[] = {
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",   /* CL + TE */
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        "Content-Length: 5\r\nContent-Length: 6\r\n",            /* duplicate CL, differing */
        "Content-Length: 5, 6\r\n",
        "Content-Length: +5\r\n",
        "Content-Length: 0x5\r\n",
        "X-A: a\rb\r\n",                                          /* bare CR in a value */
        "Host: y\r\n",                                            /* second Host */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s\r\n", h, bad[i]);
        if (verdict(buf) != 400)
            fail_msg("accepted: %s", bad[i]);
    }
    snprintf(buf, sizeof buf, "%sTransfer-Encoding: gzip, chunked\r\n\r\n", h);
    assert_int_equal(verdict(buf), 501);
    snprintf(buf, sizeof buf, "%sContent-Length: 5\r\nContent-Length: 5\r\n\r\n", h);
    assert_int_equal(verdict(buf), 0); /* equal copies are one length (RFC 9112 6.3) */
    snprintf(buf, sizeof buf, "%sTransfer-Encoding: chunked\r\n\r\n", h);
    assert_int_equal(verdict(buf), 0);
}

/* ---- chunked -------------------------------------------------------------------------- */

typedef struct sink {
    char data[256];
    size_t len;
} sink;

static int to_sink(void *arg, const char *p, size_t n)
{
    sink *s = arg;
    if (s->len + n > sizeof s->data)
        return -1;
    memcpy(s->data + s->len, p, n);
    s->len += n;
    return 0;
}

/* Feeds text whole (step 0) or step bytes at a time; returns the final code and fills the
 * decoded body and how many bytes the body took. */
static hr_h1_chunk_rc feed(const char *text, size_t step, sink *s, size_t *taken)
{
    hr_h1_chunked c = {0};
    memset(s, 0, sizeof *s);
    size_t len = strlen(text), off = 0;
    hr_h1_chunk_rc rc = HR_H1_MORE;
    while (off < len && rc == HR_H1_MORE) {
        size_t n = step && len - off > step ? step : len - off, used = 0;
        rc = hr_h1_chunked_feed(&c, text + off, n, &used, to_sink, s);
        assert_true(used <= n);
        if (rc == HR_H1_MORE)
            assert_int_equal(used, n);
        off += used;
    }
    *taken = off;
    return rc;
}

static void chunked_bodies_decode_the_same_in_any_slices(void **state)
{
    (void)state;
    const char *body = "5\r\nhello\r\nA;ext=1;b\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nGET /next";
    size_t body_len = strlen(body) - strlen("GET /next");
    for (size_t step = 0; step <= 7; step++) {
        sink s;
        size_t taken;
        assert_int_equal(feed(body, step, &s, &taken), HR_H1_DONE);
        assert_int_equal(taken, body_len); /* the next request's bytes are not taken */
        assert_int_equal(s.len, 15);
        assert_memory_equal(s.data, "hello0123456789", 15);
    }
    sink s;
    size_t taken;
    assert_int_equal(feed("0\r\n\r\n", 0, &s, &taken), HR_H1_DONE);
    assert_int_equal(s.len, 0);
    assert_int_equal(feed("3\r\nabc\r\n", 0, &s, &taken), HR_H1_MORE); /* no last chunk yet */
    assert_int_equal(feed("a\r\n0123456789\r\n0\r\n\r\n", 1, &s, &taken), HR_H1_DONE);
    assert_int_equal(feed("A\r\n0123456789\r\n0\r\n\r\n", 1, &s, &taken), HR_H1_DONE);
}

static void chunked_framing_errors_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "\r\n",                          /* no size */
        "g\r\n",                         /* not hex */
        "+5\r\nhello\r\n0\r\n\r\n",      /* sign */
        " 5\r\nhello\r\n0\r\n\r\n",      /* leading blank */
        "5 \r\nhello\r\n0\r\n\r\n",      /* trailing blank */
        "5\nhello\r\n0\r\n\r\n",         /* bare LF after the size */
        "5\r\nhelloX\r\n0\r\n\r\n",      /* data longer than its size */
        "5\r\nhello\n0\r\n\r\n",         /* bare LF after the data */
        "5\r\nhello\r\n0\r\n\n",         /* bare LF at the end */
        "0\r\nX: a\nb\r\n\r\n",          /* bare LF in a trailer */
        "5;a\x01" "b\r\nhello\r\n0\r\n\r\n", /* control byte in an extension */
        "10000000000000000\r\n",         /* 2^64: overflows */
        "fffffffffffffff0\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (size_t step = 0; step <= 1; step++) {
            sink s;
            size_t taken;
            if (feed(bad[i], step, &s, &taken) != HR_H1_BAD)
                fail_msg("accepted chunked framing #%zu (step %zu)", i, step);
        }
    }
    /* a chunk-size line with 100 KB of extensions is refused, not held */
    size_t n = 100000;
    char *ext = malloc(n + 8);
    memcpy(ext, "1;", 2);
    memset(ext + 2, 'a', n);
    memcpy(ext + 2 + n, "\r\nx", 4);
    sink s;
    size_t taken;
    assert_int_equal(feed(ext, 0, &s, &taken), HR_H1_BAD);
    assert_true(taken < 8192);
    free(ext);
}

static void chunked_emit_refusal_stops(void **state)
{
    (void)state;
    sink s; /* 256 bytes: a 300-byte chunk makes the sink refuse */
    size_t taken;
    char big[400];
    snprintf(big, sizeof big, "12c\r\n%0300d\r\n0\r\n\r\n", 0);
    assert_int_equal(feed(big, 0, &s, &taken), HR_H1_BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(head_end_is_the_first_empty_line),
        cmocka_unit_test(a_plain_head_parses),
        cmocka_unit_test(malformed_request_lines_are_refused),
        cmocka_unit_test(bare_lf_obs_fold_and_blank_before_colon_are_refused),
        cmocka_unit_test(smuggling_shaped_heads_are_refused),
        cmocka_unit_test(chunked_bodies_decode_the_same_in_any_slices),
        cmocka_unit_test(chunked_framing_errors_are_refused),
        cmocka_unit_test(chunked_emit_refusal_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
