/* Record-per-line compressor (compress/rows): column tables (ls -l, dpkg -l, ps / kubectl
 * headers) and progress logs (apt term.log). The header, the question's rows, rare signal
 * rows and outliers survive verbatim; every cut has a note; a table's omitted rows are
 * summarised per column with counts that add up; the contract holds; detection routes both
 * shapes; a word in most rows (error in every description) is no signal; short or
 * irregular text passes. Fixtures are generated here. */
#include "unit/textcomp_fixtures.h"

#include "compress/detect.h"
#include "compress/rows.h"

static hr_compress_result run(hr_compressor_fn fn, const hr_buf *in, const char *query)
{
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.query = query;
    o.query_len = query ? strlen(query) : 0;
    hr_compress_result r = fx_check_contract(fn, in->data, in->len, &o);
    if (r.compressed) {
        assert_string_equal(r.unit, "lines");
        fx_kept_lines_verbatim(in->data, in->len, &r.out);
    }
    return r;
}

static int has(const hr_buf *b, const char *line) { return fx_has_line(b->data, b->len, line, strlen(line)); }

/* Detection routes in to type t and fn compresses it (for the question). */
static hr_compress_result routed(hr_content_type t, hr_compressor_fn fn, const hr_buf *in, const char *query)
{
    assert_int_equal(hr_detect(in->data, in->len), t);
    hr_compress_result r = run(fn, in, query);
    assert_true(r.compressed);
    return r;
}

/* ls -la of a library directory: n files, every 3rd a symlink, one directory. */
static void gen_ls(hr_buf *b, unsigned n)
{
    FX(b, "total %u\n", n * 8);
    FX(b, "drwxr-xr-x 47 root root    53248 Dec  3 09:07 .\n");
    FX(b, "drwxr-xr-x 61 root root     4096 Dec  3 09:13 ..\n");
    for (unsigned i = 0; i < n; i++) {
        if (i % 3 == 0)
            FX(b, "lrwxrwxrwx  1 root root       %2u May  8  2026 libmod%u.so -> libmod%u.so.1.0\n",
               10 + i % 50, i, i);
        else
            FX(b, "-rw-r--r--  1 root root   %6u May  8  2026 libmod%u.so.1.0\n", 1000 + i * 7, i);
    }
    FX(b, "drwxr-xr-x  2 root root     4096 Sep 22 04:38 valgrind\n");
}

static void ls_table_keeps_header_question_and_summarises(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    gen_ls(&in, 300);
    assert_true(hr_rows_is_table(in.data, in.len));
    assert_int_equal(hr_detect(in.data, in.len), HR_CT_TABLE);
    hr_compress_result r = run(hr_compress_table, &in, "where does libmod157.so point?");
    assert_true(r.compressed);
    assert_string_equal(r.compressor, "table");
    assert_true(has(&r.out, "total 2400"));
    assert_true(has(&r.out, "-rw-r--r--  1 root root     2099 May  8  2026 libmod157.so.1.0"));
    assert_false(has(&r.out, "-rw-r--r--  1 root root     1700 May  8  2026 libmod100.so.1.0"));
    /* the last rows (tail) stay; the one directory among 300 files is an outlier */
    assert_true(has(&r.out, "drwxr-xr-x  2 root root     4096 Sep 22 04:38 valgrind"));
    /* every cut has a note, and the summary's counts add up to the omitted rows */
    assert_non_null(strstr(r.out.data, " rows omitted]\n"));
    const char *sum = strstr(r.out.data, "rows omitted; mode: ");
    assert_non_null(sum);
    unsigned omitted = 0, files = 0, links = 0;
    const char *last = strstr(r.out.data, " of 303 rows omitted");
    assert_non_null(last);
    while (last > r.out.data && last[-1] != '[')
        last--;
    assert_int_equal(sscanf(last, "%u", &omitted), 1);
    const char *f = strstr(sum, "-rw-r--r-- x"), *l = strstr(sum, "lrwxrwxrwx x");
    assert_non_null(f);
    assert_non_null(l);
    assert_int_equal(sscanf(f, "-rw-r--r-- x%u", &files), 1);
    assert_int_equal(sscanf(l, "lrwxrwxrwx x%u", &links), 1);
    assert_int_equal(files + links, omitted);
    assert_non_null(strstr(sum, "owner: root x"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* dpkg -l: a package in state rc among ii rows is an outlier; "error" in every fourth
 * description is no signal; the question's package is kept. */
static void dpkg_table_outliers_and_common_words(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    FX(&in, "Desired=Unknown/Install/Remove/Purge/Hold\n");
    FX(&in, "| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend\n");
    FX(&in, "|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)\n");
    FX(&in, "||/ Name           Version      Architecture Description\n");
    FX(&in, "+++-==============-============-============-=================================\n");
    for (unsigned i = 0; i < 200; i++)
        FX(&in, "%s  pkg%-11u 1.%u-1        amd64        %s\n", i == 120 ? "rc" : "ii", i, i,
           i % 4 ? "library for things" : "error handling library");
    hr_compress_result r = run(hr_compress_table, &in, "which version of pkg77 is installed?");
    assert_true(r.compressed);
    char row[160];
    assert_true(has(&r.out, "||/ Name           Version      Architecture Description"));
    snprintf(row, sizeof row, "ii  pkg%-11u 1.%u-1        amd64        %s", 77u, 77u, "library for things");
    assert_true(has(&r.out, row));
    snprintf(row, sizeof row, "rc  pkg%-11u 1.%u-1        amd64        %s", 120u, 120u, "error handling library");
    assert_true(has(&r.out, row));
    snprintf(row, sizeof row, "ii  pkg%-11u 1.%u-1        amd64        %s", 40u, 40u, "error handling library");
    assert_false(has(&r.out, row));
    assert_non_null(strstr(r.out.data, "; Architecture: amd64 x"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* apt's term.log: Selecting / Preparing / Unpacking / Setting up per package; the rare
 * lines (a failed daemon start, a warning) stay; progress is collapsed with named kinds. */
static void progress_log_keeps_rare_lines(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    FX(&in, "Log started: 2025-06-24  14:36:29\n");
    for (unsigned i = 0; i < 80; i++) {
        FX(&in, "Selecting previously unselected package pkg%u.\n", i);
        FX(&in, "Preparing to unpack .../%03u-pkg%u_1.%u_amd64.deb ...\n", i, i, i);
        FX(&in, "Unpacking pkg%u (1.%u) ...\n", i, i);
    }
    for (unsigned i = 0; i < 80; i++) {
        FX(&in, "Setting up pkg%u (1.%u) ...\n", i, i);
        if (i == 50)
            FX(&in, "start-stop-daemon: unable to stat /usr/libexec/polkitd (No such file or directory)\n");
    }
    FX(&in, "Processing triggers for libc-bin (2.36-9) ...\nLog ended: 2025-06-24  14:37:04\n");
    assert_true(hr_rows_is_progress(in.data, in.len));
    assert_int_equal(hr_detect(in.data, in.len), HR_CT_PROGRESS);
    hr_compress_result r = run(hr_compress_progress, &in, "did anything fail?");
    assert_true(r.compressed);
    assert_string_equal(r.compressor, "progress");
    assert_true(has(&r.out, "start-stop-daemon: unable to stat /usr/libexec/polkitd (No such file or directory)"));
    assert_true(has(&r.out, "Log ended: 2025-06-24  14:37:04"));
    assert_false(has(&r.out, "Unpacking pkg40 (1.40) ..."));
    assert_non_null(strstr(r.out.data, " Selecting, "));
    assert_non_null(strstr(r.out.data, " Setting"));
    assert_true(r.out.len * 5 < in.len);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* A header-less text, prose, code and short tables are not these shapes. */
static void other_text_passes(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    gen_ls(&in, 5);
    assert_false(hr_rows_is_table(in.data, in.len));
    hr_compress_result r = run(hr_compress_table, &in, NULL);
    assert_false(r.compressed);
    hr_buf_reset(&in);
    for (unsigned i = 0; i < 60; i++)
        FX(&in, "    if (x%u > %u) {\n        y += f(x%u);\n    }\n", i, i, i);
    assert_false(hr_rows_is_progress(in.data, in.len));
    r = run(hr_compress_progress, &in, NULL);
    assert_false(r.compressed);
    hr_buf_reset(&in);
    for (unsigned i = 0; i < 60; i++)
        FX(&in, "The %s of line %u says something %s about the %s.\n", i % 2 ? "word" : "text", i,
           i % 3 ? "new" : "else", i % 5 ? "weather" : "sea");
    assert_false(hr_rows_is_progress(in.data, in.len));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* ps aux: the header is all capitals; the question's process row stays. */
static void ps_header_table(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    FX(&in, "USER       PID %%CPU %%MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n");
    for (unsigned i = 0; i < 120; i++)
        FX(&in, "root     %5u  0.0  0.0      0     0 ?        I<   08:58   0:00 [kworker/R-q%u]\n", 100 + i, i);
    FX(&in, "www       4242 97.0  2.1 861832 44860 ?        Rl   09:18  12:00 nginx: worker process\n");
    for (unsigned i = 0; i < 20; i++)
        FX(&in, "root     %5u  0.0  0.0   5264  2956 ?        S    09:18   0:00 bash /dev/fd/%u\n", 500 + i, i);
    assert_int_equal(hr_detect(in.data, in.len), HR_CT_TABLE);
    hr_compress_result r = run(hr_compress_table, &in, "why is nginx using so much CPU?");
    assert_true(r.compressed);
    assert_true(has(&r.out, "USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND"));
    assert_true(has(&r.out, "www       4242 97.0  2.1 861832 44860 ?        Rl   09:18  12:00 nginx: worker process"));
    assert_non_null(strstr(r.out.data, "USER: root x"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* ps -eo: "which process uses the most CPU / memory" names no word of the row; each number
 * column's peak row stays, and decimal columns (%CPU) are summarised by their range as
 * written. Before, both rows were cut and %CPU had no summary. */
static void table_keeps_numeric_peaks(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    FX(&in, "  PID  PPID USER     STAT %%CPU %%MEM   RSS COMMAND\n");
    for (unsigned i = 0; i < 150; i++)
        FX(&in, "%5u     2 root     S     %u.%u  0.%u  %4u kworker/q%u\n", 100 + i, i % 3, i % 7,
           i % 10, 1000 + i, i);
    FX(&in, "%5u     2 root     S    38.8  0.2 61716 node\n", 18420);
    FX(&in, "%5u     2 root     S    14.2  1.0 255080 node\n", 18503);
    for (unsigned i = 0; i < 30; i++)
        FX(&in, "%5u     2 root     S     0.0  0.%u  2956 bash\n", 20000 + i, i % 10);
    hr_compress_result r = run(hr_compress_table, &in, "which process uses the most CPU?");
    assert_true(r.compressed);
    assert_true(has(&r.out, "18420     2 root     S    38.8  0.2 61716 node"));
    assert_true(has(&r.out, "18503     2 root     S    14.2  1.0 255080 node"));
    assert_false(has(&r.out, "  170     2 root     S     1.0  0.0  1070 kworker/q70"));
    assert_non_null(strstr(r.out.data, "; %CPU: 0.0..2.6;"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* ps -o lstart: the STARTED values have spaces, so the words of a row do not fall into
 * the header's columns; the summary names no column rather than "STARTED: Thu x150"
 * (the first word of a date called the column's value). */
static void table_spaced_values_no_column_summary(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    FX(&in, "  PID  PPID USER     STAT   RSS                  STARTED COMMAND\n");
    for (unsigned i = 0; i < 150; i++)
        FX(&in, "%5u     2 root     I<    %4u Thu Dec  3 08:%02u:%02u 2026 kworker/q%u\n", 100 + i,
           1000 + i, i / 60, i % 60, i);
    hr_compress_result r = routed(HR_CT_TABLE, hr_compress_table, &in, "which worker is q77?");
    assert_true(has(&r.out, "  177     2 root     I<    1077 Thu Dec  3 08:01:17 2026 kworker/q77"));
    assert_null(strstr(r.out.data, "STARTED: Thu"));
    assert_non_null(strstr(r.out.data, " rows omitted]"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* apt's history.log: one stanza per run. The question's Commandline keeps its stanza's
 * Start-Date ("when was nodejs installed?"); before, the date was cut. */
static void progress_stanza_keeps_its_head(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    for (unsigned i = 0; i < 30; i++) {
        FX(&in, "\nStart-Date: 2026-05-%02u  1%u:0%u:2%u\n", 1 + i % 28, i % 10, i % 7, i % 9);
        FX(&in, "Commandline: apt-get install -y pkg%u\n", i);
        FX(&in, "Install: pkg%u:amd64 (1.%u-1)\n", i, i);
        FX(&in, "End-Date: 2026-05-%02u  1%u:0%u:3%u\n", 1 + i % 28, i % 10, i % 7, i % 9);
    }
    hr_compress_result r = routed(HR_CT_PROGRESS, hr_compress_progress, &in, "when was pkg17 installed?");
    assert_non_null(strstr(r.out.data, "Start-Date: 2026-05-18  17:03:28\nCommandline: apt-get install -y pkg17\n"));
    assert_false(has(&r.out, "Start-Date: 2026-05-17  16:02:27"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* alternatives.log names its tool before each timestamp: the kinds are what follows
 * ("run with", "link group"), so it is a progress log (before, one kind: passed whole),
 * and a note names kinds without the timestamp of the one line it read them from. */
static void progress_named_timestamps(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    for (unsigned i = 0; i < 40; i++) {
        FX(&in, "update-alternatives 2025-06-24 14:%02u:%02u: run with --install /usr/bin/t%u t%u /usr/lib/t%u 50\n",
           i / 60, i % 60, i, i, i);
        FX(&in, "update-alternatives 2025-06-24 14:%02u:%02u: link group t%u updated to point to /usr/lib/t%u\n",
           i / 60, i % 60, i, i);
    }
    hr_compress_result r = routed(HR_CT_PROGRESS, hr_compress_progress, &in, "where does t17 point?");
    assert_true(has(&r.out, "update-alternatives 2025-06-24 14:00:17: link group t17 updated to point to /usr/lib/t17"));
    const char *note = strstr(r.out.data, " lines omitted: ");
    assert_non_null(note);
    assert_true(strncmp(strchr(note, ':') + 2, "2025", 4) != 0);
    assert_non_null(strstr(note, " run with"));
    assert_non_null(strstr(note, " link group"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* git log --oneline --graph: a commit list (before, prose passed whole). The newest 10
 * commits, the asked one and the oldest stay; cuts count commits and graph lines; a
 * commit message's "fail" is no signal. git blame (also prose before) keeps the asked
 * line and names the commits of each cut. */
static void commit_list(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT, blame = HR_BUF_INIT;
    for (unsigned i = 0; i < 120; i++) {
        FX(&in, "%s %07x %s change %u of the %s module\n", i % 10 == 5 ? "| *" : "*", 0x1a2b3c0u + i * 977u,
           i % 4 ? "tests:" : "docs:", i, i == 77 ? "retry budget" : i % 3 ? "fail-open" : "parser");
        if (i % 10 == 5)
            FX(&in, "|/\n");
        FX(&blame, "%08x (Seed maintainers 2026-11-27 03:55:41 +0000 %3u)     int v%u = %u;\n",
           i % 5 ? 0x8e3a45f7u : 0x0e8fc375u, i + 1, i, i);
    }
    assert_true(hr_rows_is_commits(in.data, in.len));
    assert_true(hr_rows_is_commits(blame.data, blame.len));
    hr_compress_result b = routed(HR_CT_PROGRESS, hr_compress_progress, &blame, "who set v63?");
    assert_true(has(&b.out, "8e3a45f7 (Seed maintainers 2026-11-27 03:55:41 +0000  64)     int v63 = 63;"));
    assert_false(has(&b.out, "8e3a45f7 (Seed maintainers 2026-11-27 03:55:41 +0000  50)     int v49 = 49;"));
    assert_non_null(strstr(b.out.data, " from 8e3a45f7, "));
    assert_non_null(strstr(b.out.data, " from 0e8fc375"));
    hr_compress_result_free(&b);
    hr_compress_result r = routed(HR_CT_PROGRESS, hr_compress_progress, &in, "which commit touched the retry budget?");
    char line[128];
    snprintf(line, sizeof line, "* %07x tests: change 77 of the retry budget module", 0x1a2b3c0u + 77 * 977u);
    assert_true(has(&r.out, line));
    snprintf(line, sizeof line, "* %07x docs: change 8 of the fail-open module", 0x1a2b3c0u + 8 * 977u);
    assert_true(has(&r.out, line)); /* the tenth line (a graph line among them) */
    snprintf(line, sizeof line, "* %07x tests: change 50 of the fail-open module", 0x1a2b3c0u + 50 * 977u);
    assert_false(has(&r.out, line));
    assert_non_null(strstr(r.out.data, " commits, "));
    assert_non_null(strstr(r.out.data, " graph line"));
    assert_true(r.out.len < in.len / 3);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
    hr_buf_free(&blame);
}

/* git log --stat: every commit header, message and summary stays; of the stat lines only
 * the question's file; the others are counted per commit. */
static void git_log_stat_keeps_messages_and_asked_file(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    for (unsigned c = 0; c < 8; c++) {
        FX(&in, "commit %040u\nAuthor: A <a@b.c>\nDate:   Mon Jan %u 10:00:00 2024 +0000\n\n", c, c + 1);
        FX(&in, "    change number %u\n\n", c);
        for (unsigned f = 0; f < 4; f++)
            FX(&in, " src/mod%u/file%u.c | %2u ++++++++----\n", c, f, 12 + f);
        if (c == 5)
            FX(&in, " src/retry/budget.c | 40 ++++++++++++++++++++++++++++++++++++----\n");
        FX(&in, " %u files changed, 40 insertions(+), 16 deletions(-)\n\n", c == 5 ? 5 : 4);
    }
    assert_int_equal(hr_detect(in.data, in.len), HR_CT_GITSTAT);
    hr_compress_result r = run(hr_compress_gitstat, &in, "which commit touched the retry budget?");
    assert_true(r.compressed);
    assert_true(has(&r.out, " src/retry/budget.c | 40 ++++++++++++++++++++++++++++++++++++----"));
    assert_true(has(&r.out, "    change number 7"));
    assert_true(has(&r.out, "commit 0000000000000000000000000000000000000003"));
    assert_true(has(&r.out, " 5 files changed, 40 insertions(+), 16 deletions(-)"));
    assert_false(has(&r.out, " src/mod2/file1.c | 13 ++++++++----"));
    assert_true(has(&r.out, "[4 more files]"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* strace -f of a Python script: a call's kind is its name ("openat"), not its first
 * argument ("openat(AT_FDCWD,"), so the trace is a progress log of few kinds (it passed
 * whole as prose: 39K tokens); a call kept for the question keeps its neighbours of the
 * same call, the paths tried in turn, though the question names only two of them. */
static void strace_calls_are_kinds_and_tries_stay_together(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_read_corpus("strace_f_python", &in);
    hr_compress_result r = routed(HR_CT_PROGRESS, hr_compress_progress, &in,
                                  "Which config file paths did app.py try to open?");
    assert_true(has(&r.out, "10624 openat(AT_FDCWD, \"./headroom.toml\", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)"));
    assert_true(has(&r.out, "10624 openat(AT_FDCWD, \"/root/.config/headroom/config.toml\", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)"));
    assert_true(has(&r.out, "10624 openat(AT_FDCWD, \"/etc/headroom/config.toml\", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)"));
    assert_true(r.out.len * 4 < in.len);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ls_table_keeps_header_question_and_summarises),
        cmocka_unit_test(dpkg_table_outliers_and_common_words),
        cmocka_unit_test(progress_log_keeps_rare_lines),
        cmocka_unit_test(other_text_passes),
        cmocka_unit_test(ps_header_table),
        cmocka_unit_test(table_keeps_numeric_peaks),
        cmocka_unit_test(table_spaced_values_no_column_summary),
        cmocka_unit_test(progress_stanza_keeps_its_head),
        cmocka_unit_test(progress_named_timestamps),
        cmocka_unit_test(commit_list),
        cmocka_unit_test(git_log_stat_keeps_messages_and_asked_file),
        cmocka_unit_test(strace_calls_are_kinds_and_tries_stay_together),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
