/* Marker grammar: what compressors write, the one parser reads back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ccr/marker.h"

#include <string.h>

static void write_then_find_round_trips(void **state)
{
    (void)state;
    hr_buf b = HR_BUF_INIT;
    hr_buf_puts(&b, "[{\"id\":1}]\n");
    assert_int_equal(hr_marker_write(&b, 100, "items", 12, "0123456789abcdef01234567"), 0);
    hr_marker m;
    assert_int_equal(hr_marker_find(b.data, b.len, 0, &m), 1);
    assert_int_equal(m.total, 100);
    assert_int_equal(m.kept, 12);
    assert_string_equal(m.unit, "items");
    assert_string_equal(m.hash, "0123456789abcdef01234567");
    assert_int_equal(m.end, b.len);
    assert_string_equal(b.data + m.start,
                        "[100 items compressed to 12. Retrieve more: hash=0123456789abcdef01234567]");
    hr_buf_free(&b);
}

static void gap_form_round_trips(void **state)
{
    (void)state;
    hr_buf b = HR_BUF_INIT;
    hr_buf_puts(&b, "[{\"id\":1},\"");
    assert_int_equal(hr_marker_write_gap(&b, 37, "items", "0123456789abcdef01234567"), 0);
    hr_buf_puts(&b, "\",{\"id\":39}]");
    hr_marker m;
    assert_int_equal(hr_marker_find(b.data, b.len, 0, &m), 1);
    assert_int_equal(m.gap, 1);
    assert_int_equal(m.total, 37);
    assert_int_equal(m.kept, 0);
    assert_string_equal(m.hash, "0123456789abcdef01234567");
    assert_memory_equal(b.data + m.start, "[37 items omitted. Retrieve more: hash=0123456789abcdef01234567]",
                        m.end - m.start);
    /* the closing form is not a gap; a gap note without its hash is no marker */
    hr_buf_reset(&b);
    hr_buf_puts(&b, "[37 items omitted] [37 items omitted. Retrieve more: hash=0123]");
    assert_int_equal(hr_marker_find(b.data, b.len, 0, &m), 0);
    hr_marker_write(&b, 5, "items", 2, "0123456789abcdef01234567");
    assert_int_equal(hr_marker_find(b.data, b.len, 0, &m), 1);
    assert_int_equal(m.gap, 0);
    hr_buf_free(&b);
}

/* A note is its marker without the retrieval part, in both forms, and never parses as one:
 * a found marker written back as a note gives the same words (what detection does to the
 * markers of the sections inside a span). */
static void notes_are_markers_without_the_way_back(void **state)
{
    (void)state;
    static const char *const hash = "0123456789abcdef01234567";
    hr_buf b = HR_BUF_INIT, note = HR_BUF_INIT;
    assert_int_equal(hr_marker_write_note(&b, 300, "lines", 41, 0), 0);
    assert_string_equal(b.data, "[300 lines compressed to 41]");
    hr_buf_reset(&b);
    assert_int_equal(hr_marker_write_note(&b, 37, "items", 0, 1), 0);
    assert_string_equal(b.data, "[37 items omitted]");
    hr_marker m;
    assert_int_equal(hr_marker_find(b.data, b.len, 0, &m), 0);
    for (int gap = 0; gap <= 1; gap++) {
        hr_buf_reset(&b);
        hr_buf_reset(&note);
        int rc = gap ? hr_marker_write_gap(&b, 9, "hunks", hash) : hr_marker_write(&b, 9, "hunks", 4, hash);
        assert_int_equal(rc, 0);
        assert_int_equal(hr_marker_find(b.data, b.len, 0, &m), 1);
        assert_int_equal(hr_marker_write_note(&note, m.total, m.unit, m.kept, m.gap), 0);
        size_t head = strlen(note.data) - 1; /* the note without its ']' */
        assert_memory_equal(note.data, b.data, head);
        assert_string_equal(b.data + head, ". Retrieve more: hash=0123456789abcdef01234567]");
        assert_int_equal(hr_marker_find(note.data, note.len, 0, &m), 0);
    }
    hr_buf_free(&b);
    hr_buf_free(&note);
}

static void near_misses_are_not_markers(void **state)
{
    (void)state;
    const char *bad[] = {
        "[100 items compressed to 12. Retrieve more: hash=0123456789ABCDEF01234567]",
        "[100 items compressed to 12. Retrieve more: hash=0123456789abcdef0123456]",
        "[100 items compressed to 12. Retrieve more: hash=0123456789abcdef012345678]",
        "[ 100 items compressed to 12. Retrieve more: hash=0123456789abcdef01234567]",
        "[100 Items compressed to 12. Retrieve more: hash=0123456789abcdef01234567]",
        "[100 items compressed to . Retrieve more: hash=0123456789abcdef01234567]",
        "[99999999999999999999 lines compressed to 1. Retrieve more: hash=0123456789abcdef01234567]",
        "[100 items compressed to 12. Retrieve more: hash=0123456789abcdef01234567",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hr_marker_present(bad[i], strlen(bad[i])), 0);
}

static void finds_every_unit_after_noise(void **state)
{
    (void)state;
    const char *t = "log [x] [[3 lines compressed to 1. Retrieve more: hash=aaaaaaaaaaaaaaaaaaaaaaaa]"
                    " and [7 hunks compressed to 2. Retrieve more: hash=bbbbbbbbbbbbbbbbbbbbbbbb]";
    hr_marker m;
    assert_int_equal(hr_marker_find(t, strlen(t), 0, &m), 1);
    assert_string_equal(m.unit, "lines");
    assert_int_equal(hr_marker_find(t, strlen(t), m.end, &m), 1);
    assert_string_equal(m.unit, "hunks");
    assert_string_equal(m.hash, "bbbbbbbbbbbbbbbbbbbbbbbb");
    assert_int_equal(hr_marker_find(t, strlen(t), m.end, &m), 0);
}

/* A count of 1 reads singular in the omitted forms ("match", not "matche"); the one
 * parser reads singular and plural alike, so a retrieval gap keeps working either way. */
static void one_unit_reads_singular_and_parses(void **state)
{
    (void)state;
    static const struct { unsigned long long n; const char *unit, *want; } cases[] = {
        {1, "lines", "[1 line omitted]"},     {2, "lines", "[2 lines omitted]"},
        {1, "matches", "[1 match omitted]"},  {1, "boxes", "[1 box omitted]"},
        {1, "items", "[1 item omitted]"},     {0, "items", "[0 items omitted]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hr_buf b = HR_BUF_INIT;
        assert_int_equal(hr_marker_write_note(&b, cases[i].n, cases[i].unit, 0, 1), 0);
        assert_string_equal(b.data, cases[i].want);
        hr_buf_free(&b);
    }
    for (unsigned long long n = 1; n <= 2; n++) {
        hr_buf b = HR_BUF_INIT;
        assert_int_equal(hr_marker_write_gap(&b, n, "items", "0123456789abcdef01234567"), 0);
        hr_marker m;
        assert_int_equal(hr_marker_find(b.data, b.len, 0, &m), 1);
        assert_int_equal(m.gap, 1);
        assert_int_equal(m.total, n);
        assert_string_equal(m.unit, n == 1 ? "item" : "items");
        assert_int_equal(m.end, b.len);
        hr_buf_free(&b);
    }
    /* the closing marker keeps the compressor's unit as written, whatever the count */
    hr_buf b = HR_BUF_INIT;
    assert_int_equal(hr_marker_write(&b, 1, "hunks", 1, "0123456789abcdef01234567"), 0);
    hr_marker m;
    assert_int_equal(hr_marker_find(b.data, b.len, 0, &m), 1);
    assert_string_equal(m.unit, "hunks");
    hr_buf_free(&b);
}

/* The one rule of every cut: a note stays only when shorter than what it stands for. */
static void a_note_stays_only_when_shorter(void **state)
{
    (void)state;
    assert_true(hr_note_pays(16, 17));
    assert_false(hr_note_pays(17, 17));
    assert_false(hr_note_pays(18, 3));
    const char *content[] = {"ok\n", "a line long enough to cost more than its note\n"};
    for (int i = 0; i < 2; i++) {
        hr_buf b = HR_BUF_INIT;
        hr_buf_puts(&b, "kept\n");
        size_t mark = b.len;
        hr_marker_write_note(&b, 1, "lines", 0, 1);
        hr_buf_putc(&b, '\n');
        size_t note = b.len - mark;
        int kept = hr_note_settle(&b, mark, content[i], strlen(content[i]));
        assert_int_equal(kept, note >= strlen(content[i]));
        assert_string_equal(b.data + mark, kept ? content[i] : "[1 line omitted]\n");
        hr_buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_then_find_round_trips),
        cmocka_unit_test(gap_form_round_trips),
        cmocka_unit_test(notes_are_markers_without_the_way_back),
        cmocka_unit_test(near_misses_are_not_markers),
        cmocka_unit_test(finds_every_unit_after_noise),
        cmocka_unit_test(one_unit_reads_singular_and_parses),
        cmocka_unit_test(a_note_stays_only_when_shorter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
