/* Unit tests for src/http/sse.c: event framing under every chunking and line ending. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/sse.h"

#include <stdio.h>
#include <string.h>

typedef struct seen {
    char log[4096];
    int n;
} seen;

static void record(void *user, const char *event, const char *data, size_t len)
{
    seen *s = user;
    size_t used = strlen(s->log);
    snprintf(s->log + used, sizeof s->log - used, "[%s|%.*s]", event, (int)len, data);
    s->n++;
}

static void feed_in_pieces(const char *text, size_t piece, seen *s, size_t max_event)
{
    hr_sse_parser p;
    hr_sse_init(&p, record, s, max_event);
    size_t len = strlen(text);
    for (size_t i = 0; i < len; i += piece)
        assert_int_equal(hr_sse_feed(&p, text + i, len - i < piece ? len - i : piece), 0);
    hr_sse_free(&p);
}

static const char STREAM[] =
    "event: message_start\ndata: {\"a\":1}\n\n"
    ": a comment line\n"
    "data: line one\ndata: line two\n\n"
    "event: ping\r\ndata:no-space\r\n\r\n"
    "event: cr\rdata: x\r\r"
    "id: 7\nretry: 10\n\n"      /* no data: not an event */
    "data: [DONE]\n\n";

static const char EXPECTED[] =
    "[message_start|{\"a\":1}][message|line one\nline two][ping|no-space][cr|x][message|[DONE]]";

static void every_chunking_gives_the_same_events(void **state)
{
    (void)state;
    for (size_t piece = 1; piece <= sizeof STREAM; piece++) {
        seen s = {{0}, 0};
        feed_in_pieces(STREAM, piece, &s, 0);
        assert_string_equal(s.log, EXPECTED);
        assert_int_equal(s.n, 5);
    }
}

static void incomplete_event_is_not_reported(void **state)
{
    (void)state;
    seen s = {{0}, 0};
    feed_in_pieces("data: partial\n", 3, &s, 0);
    assert_int_equal(s.n, 0);
}

static void oversized_event_is_skipped_and_parsing_resumes(void **state)
{
    (void)state;
    char text[512];
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    snprintf(text, sizeof text, "data: %s\n\ndata: small\n\n", big);
    for (size_t piece = 1; piece < 40; piece += 7) {
        seen s = {{0}, 0};
        feed_in_pieces(text, piece, &s, 64);
        assert_string_equal(s.log, "[message|small]");
    }
}

static void long_field_line_drops_its_event_under_any_chunking(void **state)
{
    (void)state;
    char text[1024];
    char name[300];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = 0;
    snprintf(text, sizeof text, "event: %s\ndata: a\n\ndata: b\n\n", name);
    for (size_t piece = 1; piece <= strlen(text); piece += 13) {
        seen s = {{0}, 0};
        feed_in_pieces(text, piece, &s, 128);
        assert_string_equal(s.log, "[message|b]");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_chunking_gives_the_same_events),
        cmocka_unit_test(incomplete_event_is_not_reported),
        cmocka_unit_test(oversized_event_is_skipped_and_parsing_resumes),
        cmocka_unit_test(long_field_line_drops_its_event_under_any_chunking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
