/* Diff compressor: every header and +/- line of kept hunks survives, context is cut to
 * 2 lines next to a change, the hunk and file caps hold with counted notes, hunk bodies
 * are read by their counts (a removed "--- x" line is not a file header), the contract
 * holds and bad input is harmless. Fixtures are generated in textcomp_fixtures.h. */
#include "unit/textcomp_fixtures.h"

#include "compress/diff.h"

static int is_change(const char *s, size_t n) { return n > 0 && (s[0] == '+' || s[0] == '-'); }
static int is_header(const char *s, size_t n)
{
    return (n > 2 && s[0] == '@' && s[1] == '@') || (n > 5 && memcmp(s, "diff ", 5) == 0) ||
           (n > 6 && memcmp(s, "index ", 6) == 0);
}

static int has(const hr_buf *b, const char *line) { return fx_has_line(b->data, b->len, line, strlen(line)); }

static hr_compress_result run(const hr_buf *in, const hr_compress_opts *o)
{
    hr_compress_result r = fx_check_contract(hr_compress_diff, in->data, in->len, o);
    if (r.compressed) {
        assert_string_equal(r.unit, "hunks");
        fx_kept_lines_verbatim(in->data, in->len, &r.out);
    }
    return r;
}

static void changes_and_headers_survive_context_shrinks(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_diff(&in, 3, 4, 6);
    hr_compress_result r = run(&in, NULL);
    assert_true(r.compressed);
    assert_int_equal(r.units_total, 12);
    assert_int_equal(r.units_kept, 12);
    assert_int_equal(fx_lines_survive(in.data, in.len, &r.out, is_change), 3 * (2 + 4 * 3));
    assert_int_equal(fx_lines_survive(in.data, in.len, &r.out, is_header), 3 * (2 + 4));
    /* 6 context lines each side: the 2 nearest the change stay, the others go */
    assert_true(has(&r.out, "     int v2_4 = r->field_4;"));
    assert_true(has(&r.out, "     int v2_5 = r->field_5;"));
    assert_false(has(&r.out, "     int v2_3 = r->field_3;"));
    assert_true(has(&r.out, "     log_debug(\"after 2_1\");"));
    assert_false(has(&r.out, "     log_debug(\"after 2_2\");"));
    assert_true(has(&r.out, "[4 unchanged lines omitted]"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* Two changes 5 context lines apart (2 kept after the first, 2 before the second): the
 * one line between them stays. Cut without a note it joined "if (!colon)" to the
 * declaration after its "return 0;", a meaning the file never had. */
static void short_context_gap_is_kept(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    FX(&in, "--- a/s.c\n+++ b/s.c\n@@ -1,20 +1,20 @@\n");
    for (unsigned i = 0; i < 6; i++)
        FX(&in, "     int a%u = %u;\n", i, i);
    FX(&in, "-    x = 1;\n+    x = 2;\n");
    FX(&in, "     if (!colon)\n     y = 0;\n         return 0;\n     size_t plen = 3;\n     int z = 4;\n");
    FX(&in, "-    w = 1;\n+    w = 2;\n");
    for (unsigned i = 0; i < 6; i++)
        FX(&in, "     int b%u = %u;\n", i, i);
    hr_compress_result r = run(&in, NULL);
    assert_true(r.compressed);
    assert_non_null(strstr(r.out.data, "     if (!colon)\n     y = 0;\n         return 0;\n     size_t plen = 3;\n"));
    assert_false(has(&r.out, "     int a1 = 1;"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* Three context lines cut between two changes: short ones ("  }") cost less than their
 * note and stay; long ones get "[3 unchanged lines omitted]". */
static void context_cut_never_costs_more_than_its_lines(void **state)
{
    (void)state;
    const char *middle[] = {"  }", "    int a_long_enough_context_line = 0;"};
    for (int g = 0; g < 2; g++) {
        hr_buf in = HR_BUF_INIT;
        FX(&in, "--- a/s.c\n+++ b/s.c\n@@ -1,20 +1,20 @@\n");
        FX(&in, "-    x = 1;\n+    x = 2;\n");
        for (unsigned i = 0; i < 2; i++) /* the default diff_context: kept */
            FX(&in, "     int a%u = %u;\n", i, i);
        for (unsigned i = 0; i < 3; i++)
            FX(&in, " %s\n", middle[g]);
        for (unsigned i = 0; i < 2; i++)
            FX(&in, "     int b%u = %u;\n", i, i);
        FX(&in, "-    w = 1;\n+    w = 2;\n");
        for (unsigned i = 0; i < 12; i++)
            FX(&in, "     int c%u = %u;\n", i, i);
        hr_compress_result r = run(&in, NULL);
        assert_true(r.compressed);
        assert_int_equal(has(&r.out, "[3 unchanged lines omitted]"), g == 1);
        char line[64];
        snprintf(line, sizeof line, " %s", middle[g]);
        assert_int_equal(has(&r.out, line), g == 0);
        assert_true(has(&r.out, "     int a1 = 1;") && has(&r.out, "     int b0 = 0;"));
        hr_compress_result_free(&r);
        hr_buf_free(&in);
    }
}

/* A merge's combined diff ("@@@", one column per parent): " +x" and "- x" are changes
 * against one parent, not context. Read by the first column only, git show 99f92ab had
 * codex.c (a file new to one side, all " +") cut as "[25 unchanged lines omitted]". */
static int combined_change(const char *s, size_t n)
{
    int header = (n >= 4 && (memcmp(s, "--- ", 4) == 0 || memcmp(s, "+++ ", 4) == 0));
    return !header && n >= 2 && (s[0] == '+' || s[0] == '-' || s[1] == '+' || s[1] == '-');
}

static void combined_diff_changes_survive(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_read_corpus("git_show_merge", &in);
    hr_compress_result r = fx_check_contract(hr_compress_diff, in.data, in.len, NULL);
    const hr_buf *o = r.compressed ? &r.out : &in;
    assert_true(fx_lines_survive(in.data, in.len, o, combined_change) > 500);
    assert_true(has(o, " +static const char *const ALIASES[] = {\"/backend-api/codex\", \"/v1/codex\"};"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);

    /* context far from every column's change still goes, with a note */
    FX(&in, "diff --cc s.c\nindex 1111111,2222222..3333333\n--- a/s.c\n+++ b/s.c\n"
            "@@@ -1,12 -1,12 +1,13 @@@\n");
    for (unsigned i = 0; i < 8; i++)
        FX(&in, "      int a%u = %u;\n", i, i);
    FX(&in, " +    x = 2;\n- y = 1;\n++    z = 3;\n      int b = 0;\n");
    r = run(&in, NULL);
    assert_true(r.compressed);
    assert_true(has(&r.out, "[6 unchanged lines omitted]"));
    assert_true(has(&r.out, "      int a6 = 6;"));
    assert_true(has(&r.out, " +    x = 2;") && has(&r.out, "- y = 1;") && has(&r.out, "++    z = 3;"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void hunk_and_file_caps(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_diff(&in, 25, 12, 3);
    hr_compress_result r = run(&in, NULL);
    assert_true(r.compressed);
    assert_int_equal(r.units_total, 25 * 12);
    assert_int_equal(r.units_kept, 20 * 10);
    assert_true(has(&r.out, "diff --git a/src/core/module_19.c b/src/core/module_19.c"));
    assert_false(has(&r.out, "diff --git a/src/core/module_20.c b/src/core/module_20.c"));
    assert_true(has(&r.out, "+    return fast_path_0_9(r);"));
    assert_false(has(&r.out, "+    return fast_path_0_10(r);"));
    assert_true(has(&r.out, "[2 more hunks in this file omitted: +4 -2 lines]"));
    /* every omitted file is named, with what it changes (fx_diff: 12 hunks of +2 -1) */
    assert_true(has(&r.out, "[5 files omitted: src/core/module_20.c (12 hunks, +24 -12), "
                            "src/core/module_21.c (12 hunks, +24 -12), src/core/module_22.c (12 "
                            "hunks, +24 -12), src/core/module_23.c (12 hunks, +24 -12), "
                            "src/core/module_24.c (12 hunks, +24 -12)]"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* Over the file cap, the files the question names are shown wherever they are, and every
 * other file is named in a note where it was. */
static void question_picks_files_others_named(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_diff(&in, 25, 2, 3);
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.query = "What changed in module_22?";
    o.query_len = strlen(o.query);
    hr_compress_result r = run(&in, &o);
    assert_true(r.compressed);
    assert_true(has(&r.out, "diff --git a/src/core/module_22.c b/src/core/module_22.c"));
    assert_false(has(&r.out, "diff --git a/src/core/module_0.c b/src/core/module_0.c"));
    assert_false(has(&r.out, "diff --git a/src/core/module_23.c b/src/core/module_23.c"));
    assert_non_null(strstr(r.out.data, "[22 files omitted: src/core/module_0.c (2 hunks, +4 -2), "));
    assert_non_null(strstr(r.out.data, "src/core/module_21.c (2 hunks, +4 -2)]"));
    assert_true(has(&r.out, "[2 files omitted: src/core/module_23.c (2 hunks, +4 -2), "
                            "src/core/module_24.c (2 hunks, +4 -2)]"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* git log -p: every commit message stays; the diffs shown are those of the commit the
 * question is about; the other commits' files are named. */
static void git_log_shows_the_commit_asked_about(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    for (int c = 0; c < 6; c++) {
        hr_buf_printf(&in, "commit %040d\nAuthor: A <a@b.c>\nDate:   Mon Jan 1 00:00:00 2024\n\n", c);
        hr_buf_printf(&in, "    %s\n\n", c == 3 ? "retry budget: stop retrying after the deadline"
                                               : "parser: tidy the tokenizer tables");
        for (int f = 0; f < 6; f++)
            hr_buf_printf(&in,
                          "diff --git a/src/c%d_f%d.c b/src/c%d_f%d.c\nindex 1..2 100644\n"
                          "--- a/src/c%d_f%d.c\n+++ b/src/c%d_f%d.c\n@@ -1,3 +1,3 @@\n ctx\n"
                          "-old %d\n+new %d\n ctx\n",
                          c, f, c, f, c, f, c, f, f, f);
    }
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.query = "Which commit changed the retry budget?";
    o.query_len = strlen(o.query);
    hr_compress_result r = run(&in, &o);
    assert_true(r.compressed);
    assert_true(has(&r.out, "    retry budget: stop retrying after the deadline"));
    assert_true(has(&r.out, "    parser: tidy the tokenizer tables"));
    for (int f = 0; f < 6; f++) {
        char want[80], other[80];
        snprintf(want, sizeof want, "diff --git a/src/c3_f%d.c b/src/c3_f%d.c", f, f);
        snprintf(other, sizeof other, "diff --git a/src/c0_f%d.c b/src/c0_f%d.c", f, f);
        assert_true(has(&r.out, want));
        assert_false(has(&r.out, other));
    }
    assert_non_null(strstr(r.out.data, "[6 files omitted: src/c0_f0.c (1 hunk, +1 -1), "));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void body_lines_that_look_like_headers(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    FX(&in, "diff --git a/db/schema.sql b/db/schema.sql\n--- a/db/schema.sql\n+++ b/db/schema.sql\n");
    FX(&in, "@@ -1,3 +1,3 @@\n context one\n--- old comment\n+++ new comment\n context two\n");
    FX(&in, "@@ -40,20 +40,20 @@\n");
    for (int i = 0; i < 20; i++)
        FX(&in, "-DROP TABLE x%d;\n", i);
    for (int i = 0; i < 20; i++)
        FX(&in, "+DROP TABLE y%d;\n", i);
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.diff_hunks_per_file = 1;
    hr_compress_result r = run(&in, &o);
    assert_true(r.compressed);
    assert_int_equal(r.units_total, 2); /* one file, two hunks: "--- old" is a removed line */
    assert_int_equal(r.units_kept, 1);
    assert_true(has(&r.out, "--- old comment"));
    assert_true(has(&r.out, "+++ new comment"));
    assert_false(has(&r.out, "+DROP TABLE y0;"));
    assert_true(has(&r.out, "[1 more hunks in this file omitted: +20 -20 lines]"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void commit_text_and_no_newline_marker_kept(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    FX(&in, "commit 4f2a9c1e0b7d\nAuthor: Dev <dev@example.com>\nDate:   Tue Mar 12 10:00:00 2024\n\n");
    FX(&in, "    Fix the retry loop\n\n");
    fx_diff(&in, 2, 3, 8);
    FX(&in, "diff --git a/VERSION b/VERSION\n--- a/VERSION\n+++ b/VERSION\n@@ -1 +1 @@\n-1.2.3\n"
            "\\ No newline at end of file\n+1.2.4\n\\ No newline at end of file\n");
    hr_compress_result r = run(&in, NULL);
    assert_true(r.compressed);
    assert_true(has(&r.out, "    Fix the retry loop"));
    assert_true(has(&r.out, "Author: Dev <dev@example.com>"));
    assert_true(has(&r.out, "+1.2.4"));
    assert_true(has(&r.out, "\\ No newline at end of file"));
    assert_int_equal(fx_lines_survive(in.data, in.len, &r.out, is_change), 2 * (2 + 3 * 3) + 4);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void nothing_to_cut_passes(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_diff_json(&in);
    hr_compress_result r = run(&in, NULL);
    assert_false(r.compressed);
    hr_buf_free(&in);
}

static void crlf_and_bad_input(void **state)
{
    (void)state;
    hr_buf crlf = HR_BUF_INIT, bin = HR_BUF_INIT, big = HR_BUF_INIT, utf = HR_BUF_INIT;
    fx_diff(&crlf, 2, 3, 5);
    fx_crlf(&crlf);
    hr_compress_result r = run(&crlf, NULL);
    assert_true(r.compressed);
    assert_true(has(&r.out, "+    return fast_path_1_2(r);\r"));
    assert_int_equal(fx_lines_survive(crlf.data, crlf.len, &r.out, is_change), 2 * (2 + 3 * 3));
    hr_compress_result_free(&r);

    fx_binary(&bin, 32 * 1024);
    r = run(&bin, NULL);
    hr_compress_result_free(&r);

    FX(&big, "diff --git a/min.js b/min.js\n--- a/min.js\n+++ b/min.js\n@@ -1 +1 @@\n-");
    fx_long_line(&big, 5u << 20, 'a');
    FX(&big, "\n+");
    fx_long_line(&big, 5u << 20, 'b');
    r = run(&big, NULL);
    assert_false(r.compressed); /* nothing but changes: all kept, so forwarded as is */

    FX(&utf, "diff --git a/t.txt b/t.txt\n--- a/t.txt\n+++ b/t.txt\n@@ -1,21 +1,21 @@\n");
    for (int i = 0; i < 10; i++)
        FX(&utf, " ctx \xff\xfe %d\n", i);
    FX(&utf, "-caf\xe9\n+caf\xc3\xa9\n");
    for (int i = 0; i < 10; i++)
        FX(&utf, " tail \x80 %d\n", i);
    r = run(&utf, NULL);
    assert_true(r.compressed);
    assert_true(has(&r.out, "-caf\xe9"));
    assert_true(has(&r.out, "+caf\xc3\xa9"));
    hr_compress_result_free(&r);
    hr_buf_free(&crlf);
    hr_buf_free(&bin);
    hr_buf_free(&big);
    hr_buf_free(&utf);
}

static void hunk_header_parser(void **state)
{
    (void)state;
    unsigned long a = 0, b = 0;
    assert_true(hr_diff_hunk_header("@@ -10,7 +12,9 @@ fn x()", 23, &a, &b));
    assert_int_equal(a, 7);
    assert_int_equal(b, 9);
    assert_true(hr_diff_hunk_header("@@ -1 +1 @@", 11, &a, &b));
    assert_int_equal(a, 1);
    assert_int_equal(b, 1);
    assert_false(hr_diff_hunk_header("@@ -x,1 +1 @@", 13, &a, &b));
    assert_false(hr_diff_hunk_header("@@ -1,2 +1,2", 12, &a, &b));
    assert_true(hr_diff_file_start("--- a/x", 7, "+++ b/x", 7));
    assert_false(hr_diff_file_start("--- a/x", 7, " ctx", 4));
    assert_false(hr_diff_file_start("--- a/x", 7, NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(changes_and_headers_survive_context_shrinks),
        cmocka_unit_test(hunk_and_file_caps),
        cmocka_unit_test(question_picks_files_others_named),
        cmocka_unit_test(git_log_shows_the_commit_asked_about),
        cmocka_unit_test(body_lines_that_look_like_headers),
        cmocka_unit_test(commit_text_and_no_newline_marker_kept),
        cmocka_unit_test(nothing_to_cut_passes),
        cmocka_unit_test(crlf_and_bad_input),
        cmocka_unit_test(hunk_header_parser),
        cmocka_unit_test(short_context_gap_is_kept),
        cmocka_unit_test(context_cut_never_costs_more_than_its_lines),
        cmocka_unit_test(combined_diff_changes_survive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
