/* Content detection: a table of real-shaped samples generated in code (logs of seven tools,
 * grep / ripgrep / git grep output with and without -A/-B/-C context, file listings (find,
 * git ls-files, tree, ls -R), diffs, JSON, code in seven languages, prose, mixed
 * content), including the tricky ones: JSON inside logs, diffs of JSON files, grep of
 * logs, CRLF. Each sample checks the type of the whole span and, where content is mixed,
 * that the expected section was cut out. Also: sections tile the input, routing picks the
 * right compressor, and mixed content compresses section by section under one marker. */
#include "unit/textcomp_fixtures.h"

#include "compress/detect.h"
#include "compress/diff.h"
#include "compress/listing.h"
#include "compress/logs.h"
#include "compress/search.h"
#include "compress/smart_crusher.h"
#include "compress/text.h"

#define NONE ((hr_content_type)-1)

/* ---- sample generators (each appends one sample) ------------------------------------ */

static void g_pytest_pass(hr_buf *b) { fx_pytest(b, 60, 0, 0); }
static void g_pytest_fail(hr_buf *b) { fx_pytest(b, 300, 50, 7); }
static void g_jest_fail(hr_buf *b) { fx_jest(b, 10, 1); }
static void g_jest_pass(hr_buf *b) { fx_jest(b, 12, 0); }
static void g_cargo_test(hr_buf *b) { fx_cargo(b, 40, 0); }
static void g_cargo_error(hr_buf *b) { fx_cargo(b, 30, 1); }
static void g_gotest(hr_buf *b) { fx_gotest(b, 30); }
static void g_npm(hr_buf *b) { fx_npm(b, 60); }
static void g_make_ok(hr_buf *b) { fx_make(b, 40, 0); }
static void g_make_error(hr_buf *b) { fx_make(b, 40, 1); }
static void g_applog(hr_buf *b) { fx_applog(b, 300, 50); }
static void g_applog_crlf(hr_buf *b)
{
    fx_applog(b, 200, 40);
    fx_crlf(b);
}
static void g_syslog(hr_buf *b)
{
    for (int i = 0; i < 40; i++)
        FX(b, "Mar 12 10:%02d:01 web-%d sshd[%d]: Accepted publickey for dev from 10.0.0.%d port %d ssh2\n",
           i % 60, i % 3, 1200 + i, i, 50000 + i);
}
static void g_ndjson(hr_buf *b)
{
    for (int i = 0; i < 40; i++)
        FX(b, "{\"ts\":\"2024-03-12T10:00:%02dZ\",\"level\":\"%s\",\"msg\":\"request\",\"path\":\"/api/%d\"}\n",
           i % 60, i % 9 ? "info" : "error", i);
}
static void g_ansi(hr_buf *b)
{
    for (int i = 0; i < 30; i++)
        FX(b, "\x1b[32mINFO\x1b[0m [%d] server listening on :%d\n", i, 8000 + i);
}
static void g_docker(hr_buf *b)
{
    for (int i = 1; i <= 8; i++)
        FX(b, "#%d [%d/8] RUN apt-get install -y pkg%d\n#%d 0.%d41 Reading package lists...\n#%d DONE %d.1s\n",
           i + 4, i, i, i + 4, i, i + 4, i);
}
static void g_maven(hr_buf *b)
{
    for (int i = 0; i < 30; i++)
        FX(b, "[INFO] Building module-%d 1.0-SNAPSHOT [%d/30]\n%s", i, i + 1,
           i % 7 ? "" : "[WARNING] Using platform encoding (UTF-8 actually) to copy filtered resources\n");
    FX(b, "[INFO] BUILD SUCCESS\n");
}
static void g_log_json_lines(hr_buf *b) /* tricky: one-line JSON payloads inside a log */
{
    for (int i = 0; i < 40; i++) {
        FX(b, "2024-03-12 10:00:%02d INFO request body={\"id\":%d,\"items\":[1,2]}\n", i % 60, i);
        if (i % 10 == 3)
            FX(b, "{\"event\":\"retry\",\"attempt\":%d}\n", i);
    }
}
static void g_log_json_blob(hr_buf *b) /* tricky: a pretty JSON document inside a log */
{
    fx_applog(b, 40, 0);
    fx_json_array(b, 4, 1);
    fx_applog(b, 40, 20);
}
static void g_traceback_log(hr_buf *b)
{
    for (int i = 0; i < 20; i++)
        FX(b, "2024-03-12 10:00:%02d,123 INFO worker: job %d done\n", i, i);
    FX(b, "2024-03-12 10:00:21,001 ERROR worker: job failed\nTraceback (most recent call last):\n"
          "  File \"/app/worker.py\", line 12, in run\n    do()\nValueError: bad\n");
}
static void g_dmesg(hr_buf *b)
{
    for (int i = 0; i < 30; i++)
        FX(b, "[   %d.%06d] usb 1-%d: new high-speed USB device number %d using xhci_hcd\n", i, i * 7919, i % 4, i);
}
static void g_glog(hr_buf *b)
{
    for (int i = 0; i < 30; i++)
        FX(b, "I0312 10:00:%02d.%06d       1 controller.go:%d] Syncing deployment default/web-%d\n", i, i * 31,
           100 + i, i);
}
static void g_cmake(hr_buf *b)
{
    FX(b, "-- The C compiler identification is GNU 12.2.0\n-- Detecting C compiler ABI info\n");
    for (int i = 0; i < 20; i++)
        FX(b, "-- Looking for header%d.h\n-- Looking for header%d.h - found\n", i, i);
    FX(b, "-- Configuring done\n-- Generating done\n-- Build files have been written to: /src/build\n");
}
static void g_levels(hr_buf *b)
{
    for (int i = 0; i < 30; i++)
        FX(b, "%s: step %d of the migration finished\n", i % 10 == 9 ? "ERROR" : (i % 5 ? "INFO" : "WARNING"), i);
}

static void g_ctest(hr_buf *b) /* ctest -V: job-prefixed cmocka output */
{
    FX(b, "Test project /work/build\n");
    for (int t = 0; t < 4; t++) {
        FX(b, "test %d\n    Start %d: unit.part_%d\n\n%d: Test command: /work/build/test_part_%d\n", t, t, t, t, t);
        FX(b, "%d: [==========] Running 3 test(s).\n", t);
        for (int k = 0; k < 3; k++)
            FX(b, "%d: [ RUN      ] case_%d\n%d: [       OK ] case_%d\n", t, k, t, k);
        FX(b, "%d: [  PASSED  ] 3 test(s).\n%d/4 Test #%d: unit.part_%d ......   Passed    0.0%d sec\n", t,
           t + 1, t, t, t);
    }
    FX(b, "\n100%% tests passed, 0 tests failed out of 4\n\nTotal Test time (real) =   0.35 sec\n");
}

static void g_grep(hr_buf *b) { fx_grep(b, 10, 4, 0); }
static void g_vimgrep(hr_buf *b) { fx_grep(b, 8, 5, 1); }
static void g_rg_heading(hr_buf *b) { fx_rg_heading(b, 6, 5); }
static void g_grep_context(hr_buf *b) { fx_grep_context(b, 3, 5); }
static void g_grep_logs(hr_buf *b) { fx_grep_logs(b, 50); }
static void g_git_grep(hr_buf *b)
{
    for (int i = 0; i < 20; i++)
        FX(b, "docs/guide/chapter%d.md:%d:The `retry` option controls how often a request is retried.\n", i % 5, 10 + i);
}
static void g_grep_crlf(hr_buf *b)
{
    fx_grep(b, 6, 6, 0);
    fx_crlf(b);
}
static void g_grep_json_files(hr_buf *b) /* tricky: matched lines are JSON fragments */
{
    for (int i = 0; i < 20; i++)
        FX(b, "packages/pkg-%d/package.json:%d:  \"version\": \"1.%d.0\",\n", i, 3, i);
}
static void g_grep_one_file(hr_buf *b)
{
    for (int i = 0; i < 40; i++)
        FX(b, "main.go:%d:\tlog.Printf(\"handler %%d\", %d)\n", 10 + i * 3, i);
}
static void g_grep_makefiles(hr_buf *b)
{
    for (int i = 0; i < 15; i++)
        FX(b, "Makefile:%d:\t$(CC) $(CFLAGS) -c src/part%d.c\nsub/Makefile:%d:\t$(AR) rcs lib%d.a\n", 5 + i, i, 9 + i, i);
}

/* grep -rn -A/-B/-C over many files, one match per file (the scenario's shape): context
 * lines before a match carry a path no line above has named yet. Paths hold '-' and digits
 * so "path-12-text" cannot be split by parsing alone. */
static void grep_context_many(hr_buf *b, int before, int after, int separators)
{
    for (int i = 0; i < 14; i++) {
        char path[96];
        snprintf(path, sizeof path, "services/pay-api-%d/app/retry-v%d.py", i % 5, i);
        unsigned ln = 40u + 7u * (unsigned)i;
        if (i && separators)
            FX(b, "--\n");
        for (int k = before; k > 0; k--)
            FX(b, "%s-%u-    budget = settings.RETRY_%d\n", path, ln - (unsigned)k, k);
        FX(b, "%s:%u:    return retry_budget_left(budget, attempt=%d)\n", path, ln, i);
        for (int k = 1; k <= after; k++)
            FX(b, "%s-%u-\n", path, ln + (unsigned)k); /* an empty context line */
    }
}
static void g_grep_C2_many(hr_buf *b) { grep_context_many(b, 2, 2, 1); }
static void g_grep_B3_many(hr_buf *b) { grep_context_many(b, 3, 0, 1); }
static void g_grep_A2_many(hr_buf *b) { grep_context_many(b, 0, 2, 1); }
static void g_grep_B1_no_sep(hr_buf *b) { grep_context_many(b, 1, 0, 0); }
/* rg --heading -C1: numbered match and context lines under each path, "--" between
 * groups of one file, a blank line between files. */
static void g_rg_context_headings(hr_buf *b)
{
    for (int f = 0; f < 5; f++) {
        FX(b, "%ssrc/billing/retry_%d.c\n", f ? "\n" : "", f);
        for (int m = 0; m < 3; m++) {
            unsigned ln = 20u + 30u * (unsigned)m;
            if (m)
                FX(b, "--\n");
            FX(b, "%u-static const unsigned budget_max = %d;\n", ln - 1, m);
            FX(b, "%u:static unsigned retry_budget_left(const struct budget *b)\n", ln);
            FX(b, "%u-{\n", ln + 1);
        }
    }
}

/* File listings: find (with "./"), git ls-files, tree (UTF-8 box drawing), ls -R. */
static void listing_paths(hr_buf *b, const char *prefix)
{
    static const char *const dir[] = {"src/api", "src/ui/components", "tests/unit", "docs"};
    static const char *const ext[] = {"ts", "tsx", "css", "md", "json"};
    for (int i = 0; i < 60; i++)
        FX(b, "%s%s/item_%d.%s\n", prefix, dir[i % 4], i, ext[i % 5]);
}
static void g_find(hr_buf *b) { listing_paths(b, "./"); }
static void g_git_ls_files(hr_buf *b) { listing_paths(b, ""); }
static void g_tree(hr_buf *b)
{
    FX(b, ".\n\xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 package.json\n\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 src\n");
    for (int d = 0; d < 4; d++) {
        FX(b, "    \xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 mod%d\n", d);
        for (int f = 0; f < 10; f++)
            FX(b, "    \xe2\x94\x82   \xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 part%d.ts\n", f);
    }
    FX(b, "\n6 directories, 41 files\n");
}
static void g_ls_r(hr_buf *b)
{
    FX(b, ".:\nMakefile\nsrc\n\n");
    for (int d = 0; d < 4; d++) {
        FX(b, "./src/ui%d:\n", d);
        for (int f = 0; f < 12; f++)
            FX(b, "Widget%d.tsx\n", f);
        FX(b, "\n");
    }
}

static void g_git_diff(hr_buf *b) { fx_diff(b, 3, 4, 3); }
static void g_diff_u(hr_buf *b)
{
    FX(b, "--- config.old\t2024-03-12 10:00:00.000000000 +0000\n+++ config.new\t2024-03-12 11:00:00.000000000 +0000\n");
    for (int h = 0; h < 5; h++)
        FX(b, "@@ -%d,4 +%d,4 @@\n listen 80;\n-worker_processes %d;\n+worker_processes %d;\n keepalive 65;\n gzip on;\n",
           h * 20 + 1, h * 20 + 1, h, h + 1);
}
static void g_git_show(hr_buf *b)
{
    FX(b, "commit 9f8e7d6c5b4a39281706f5e4d3c2b1a098765432\nAuthor: Dev <dev@example.com>\n"
          "Date:   Tue Mar 12 10:00:00 2024 +0000\n\n    Speed up the parser\n\n");
    fx_diff(b, 2, 3, 3);
}
static void g_diff_json(hr_buf *b) { fx_diff_json(b); }
static void g_diff_new_file(hr_buf *b)
{
    FX(b, "diff --git a/src/new.c b/src/new.c\nnew file mode 100644\nindex 0000000..e69de29\n--- /dev/null\n+++ b/src/new.c\n@@ -0,0 +1,12 @@\n");
    for (int i = 0; i < 12; i++)
        FX(b, "+int added_%d(void) { return %d; }\n", i, i);
}
static void g_diff_rename(hr_buf *b)
{
    FX(b, "diff --git a/img/a.png b/img/b.png\nsimilarity index 90%%\nrename from img/a.png\nrename to img/b.png\n"
          "Binary files a/img/a.png and b/img/b.png differ\n");
    fx_diff(b, 1, 3, 2);
}
static void g_git_log_p(hr_buf *b)
{
    for (int c = 0; c < 2; c++) {
        FX(b, "commit %d1a2b3c4d5e6f\nAuthor: A <a@x.org>\nDate:   Mon Mar 11 09:00:00 2024\n\n    change %d\n\n", c, c);
        fx_diff(b, 2, 2, 3);
    }
}
static void g_diff_crlf(hr_buf *b)
{
    fx_diff(b, 2, 3, 3);
    fx_crlf(b);
}
static void g_diff_in_fence(hr_buf *b) /* tricky: a diff fenced in a chat answer */
{
    FX(b, "Here is the change I made:\n\n```diff\n");
    fx_diff(b, 2, 3, 3);
    FX(b, "```\n\nIt fixes the off-by-one.\n");
}
static void g_diff_of_log(hr_buf *b) /* tricky: the changed lines are log lines */
{
    FX(b, "diff --git a/expected.log b/expected.log\n--- a/expected.log\n+++ b/expected.log\n@@ -1,12 +1,12 @@\n");
    for (int i = 0; i < 6; i++)
        FX(b, " 2024-03-12 10:00:0%d INFO step %d\n", i, i);
    FX(b, "-2024-03-12 10:00:06 ERROR step 6 failed\n+2024-03-12 10:00:06 INFO step 6\n");
    for (int i = 7; i < 12; i++)
        FX(b, " 2024-03-12 10:00:%02d INFO step %d\n", i, i);
}

static void g_json_pretty(hr_buf *b) { fx_json_array(b, 30, 1); }
static void g_json_min(hr_buf *b) { fx_json_array(b, 50, 0); }
static void g_json_nested(hr_buf *b)
{
    FX(b, "{\n  \"data\": {\n    \"items\": ");
    fx_json_array(b, 5, 0);
    FX(b, ",\n    \"next\": null\n  },\n  \"meta\": {\"page\": 1, \"ok\": true}\n}\n");
}
static void g_json_escapes(hr_buf *b)
{
    FX(b, "[");
    for (int i = 0; i < 10; i++)
        FX(b, "%s\n  {\"msg\": \"line one\\nline \\\"two\\\" \\u00e9 \\\\ end\", \"n\": %d}", i ? "," : "", i);
    FX(b, "\n]");
}
static void g_json_numbers(hr_buf *b)
{
    FX(b, "[\n");
    for (int i = 0; i < 40; i++)
        FX(b, "  %d.5e-3,\n  -%d,\n", i, i * 7);
    FX(b, "  0\n]\n");
}
static void g_json_line(hr_buf *b) { FX(b, "{\"status\":\"ok\",\"count\":3,\"items\":[{\"id\":1},{\"id\":2}]}"); }
static void g_json_unicode(hr_buf *b)
{
    FX(b, "{\n  \"name\": \"caf\xc3\xa9 \xe2\x98\x95\",\n  \"city\": \"\xe6\x9d\xb1\xe4\xba\xac\",\n  \"ok\": true\n}\n");
}
static void g_json_crlf(hr_buf *b)
{
    fx_json_array(b, 10, 1);
    fx_crlf(b);
}
static void g_json_trailing(hr_buf *b)
{
    fx_json_array(b, 5, 1);
    FX(b, "\n\n  \n");
}

static void g_c(hr_buf *b) { fx_c_code(b, 5); }
static void g_python(hr_buf *b) { fx_python(b, 5); }
static void g_js(hr_buf *b) { fx_js(b, 6); }
static void g_go(hr_buf *b) { fx_go(b, 5); }
static void g_rust(hr_buf *b) { fx_rust(b, 5); }
static void g_java(hr_buf *b) { fx_java(b, 5); }
static void g_c_header(hr_buf *b)
{
    FX(b, "#ifndef API_H\n#define API_H\n\n#include <stddef.h>\n\n");
    for (int i = 0; i < 15; i++)
        FX(b, "int api_call_%d(const char *name, size_t len);\n", i);
    FX(b, "\n#endif\n");
}
static void g_typescript(hr_buf *b)
{
    for (int i = 0; i < 8; i++)
        FX(b, "export interface Item%d {\n  id: number;\n  label: string;\n}\n\n"
              "export const label%d = (it: Item%d): string => {\n  return it.label.trim();\n};\n\n", i, i, i);
}

static void g_prose(hr_buf *b) { fx_prose(b, 5); }
static void g_markdown(hr_buf *b) { fx_markdown(b, 4); }
static void g_issue(hr_buf *b)
{
    FX(b, "When I start the proxy behind our corporate gateway, every request fails after a minute.\n"
          "I expected the retries to kick in, but nothing happens and the client just hangs.\n\n"
          "Steps to reproduce:\n\n1. Start the proxy with the default settings.\n"
          "2. Send a long request through the gateway.\n3. Wait for about sixty seconds.\n\n"
          "This started after the upgrade last week. Any idea what changed?\n");
}
static void g_email(hr_buf *b)
{
    FX(b, "Hi team,\n\nThanks for the quick turnaround on the release. The customer confirmed the fix works\n"
          "on their side, and they would like to schedule a call next week to discuss the roadmap.\n\n"
          "Could you send me your availability by Thursday? Tuesday afternoon would suit them best.\n\n"
          "Best regards,\nAlex\n");
}
static void g_inline_code(hr_buf *b)
{
    for (int i = 0; i < 5; i++)
        FX(b, "To run the checks, use `make test` in the project root; step %d installs what is missing.\n"
              "The output lists every suite and how long it took, which helps when a run is slow.\n\n", i);
}

static void g_prose_python_fence(hr_buf *b) /* mixed: prose with a fenced code block */
{
    fx_prose(b, 2);
    FX(b, "```python\n");
    fx_python(b, 8);
    FX(b, "```\n\n");
    fx_prose(b, 2);
}
static void g_prose_json_fence(hr_buf *b)
{
    fx_prose(b, 3);
    FX(b, "```json\n");
    fx_json_array(b, 6, 1);
    FX(b, "```\n");
    fx_prose(b, 2);
}
static void g_search_then_prose(hr_buf *b)
{
    fx_grep(b, 12, 4, 0);
    FX(b, "\n");
    fx_prose(b, 8);
}
static void g_log_then_diff(hr_buf *b)
{
    fx_cargo(b, 30, 0);
    FX(b, "\n");
    fx_diff(b, 3, 3, 3);
}

static void g_empty(hr_buf *b) { (void)b; }
static void g_blank(hr_buf *b) { FX(b, "  \n\n \t\n\r\n"); }
static void g_binary(hr_buf *b) { fx_binary(b, 4096); }

typedef struct sample {
    const char *name;
    void (*gen)(hr_buf *);
    hr_content_type type;  /* of the span as a whole */
    hr_content_type also;  /* a section of this type must be cut out (NONE: one section) */
} sample;

static const sample SAMPLES[] = {
    {"pytest pass", g_pytest_pass, HR_CT_LOG, NONE},
    {"pytest fail", g_pytest_fail, HR_CT_LOG, NONE},
    {"jest fail", g_jest_fail, HR_CT_LOG, NONE},
    {"jest pass", g_jest_pass, HR_CT_LOG, NONE},
    {"cargo test", g_cargo_test, HR_CT_LOG, NONE},
    {"cargo build error", g_cargo_error, HR_CT_LOG, NONE},
    {"go test", g_gotest, HR_CT_LOG, NONE},
    {"npm install", g_npm, HR_CT_LOG, NONE},
    {"make ok", g_make_ok, HR_CT_LOG, NONE},
    {"make/gcc error", g_make_error, HR_CT_LOG, NONE},
    {"service log", g_applog, HR_CT_LOG, NONE},
    {"service log CRLF", g_applog_crlf, HR_CT_LOG, NONE},
    {"syslog", g_syslog, HR_CT_LOG, NONE},
    {"ndjson log", g_ndjson, HR_CT_LOG, NONE},
    {"ansi coloured log", g_ansi, HR_CT_LOG, NONE},
    {"docker build", g_docker, HR_CT_LOG, NONE},
    {"maven", g_maven, HR_CT_LOG, NONE},
    {"log with one-line JSON", g_log_json_lines, HR_CT_LOG, NONE},
    {"log with a JSON document", g_log_json_blob, HR_CT_LOG, HR_CT_JSON},
    {"log with traceback", g_traceback_log, HR_CT_LOG, NONE},
    {"dmesg", g_dmesg, HR_CT_LOG, NONE},
    {"glog", g_glog, HR_CT_LOG, NONE},
    {"cmake configure", g_cmake, HR_CT_LOG, NONE},
    {"level-prefixed lines", g_levels, HR_CT_LOG, NONE},
    {"ctest -V", g_ctest, HR_CT_LOG, NONE},
    {"grep -rn", g_grep, HR_CT_SEARCH, NONE},
    {"rg --vimgrep", g_vimgrep, HR_CT_SEARCH, NONE},
    {"rg headings", g_rg_heading, HR_CT_SEARCH, NONE},
    {"grep -C", g_grep_context, HR_CT_SEARCH, NONE},
    {"grep of logs", g_grep_logs, HR_CT_SEARCH, NONE},
    {"git grep", g_git_grep, HR_CT_SEARCH, NONE},
    {"grep -C2, a file per match", g_grep_C2_many, HR_CT_SEARCH, NONE},
    {"grep -B3, a file per match", g_grep_B3_many, HR_CT_SEARCH, NONE},
    {"grep -A2, a file per match", g_grep_A2_many, HR_CT_SEARCH, NONE},
    {"grep -B1 without separators", g_grep_B1_no_sep, HR_CT_SEARCH, NONE},
    {"rg --heading -C1", g_rg_context_headings, HR_CT_SEARCH, NONE},
    {"grep CRLF", g_grep_crlf, HR_CT_SEARCH, NONE},
    {"grep of JSON files", g_grep_json_files, HR_CT_SEARCH, NONE},
    {"grep one file", g_grep_one_file, HR_CT_SEARCH, NONE},
    {"grep Makefiles", g_grep_makefiles, HR_CT_SEARCH, NONE},
    {"find . -type f", g_find, HR_CT_LISTING, NONE},
    {"git ls-files", g_git_ls_files, HR_CT_LISTING, NONE},
    {"tree", g_tree, HR_CT_LISTING, NONE},
    {"ls -R", g_ls_r, HR_CT_LISTING, NONE},
    {"git diff", g_git_diff, HR_CT_DIFF, NONE},
    {"diff -u", g_diff_u, HR_CT_DIFF, NONE},
    {"git show", g_git_show, HR_CT_DIFF, NONE},
    {"diff of JSON file", g_diff_json, HR_CT_DIFF, NONE},
    {"diff new file", g_diff_new_file, HR_CT_DIFF, NONE},
    {"diff rename + binary", g_diff_rename, HR_CT_DIFF, NONE},
    {"git log -p", g_git_log_p, HR_CT_DIFF, NONE},
    {"diff CRLF", g_diff_crlf, HR_CT_DIFF, NONE},
    {"diff in a fence", g_diff_in_fence, HR_CT_DIFF, NONE},
    {"diff of a log file", g_diff_of_log, HR_CT_DIFF, NONE},
    {"JSON pretty array", g_json_pretty, HR_CT_JSON, NONE},
    {"JSON minified array", g_json_min, HR_CT_JSON, NONE},
    {"JSON nested object", g_json_nested, HR_CT_JSON, NONE},
    {"JSON escapes", g_json_escapes, HR_CT_JSON, NONE},
    {"JSON numbers", g_json_numbers, HR_CT_JSON, NONE},
    {"JSON one line", g_json_line, HR_CT_JSON, NONE},
    {"JSON unicode", g_json_unicode, HR_CT_JSON, NONE},
    {"JSON CRLF", g_json_crlf, HR_CT_JSON, NONE},
    {"JSON trailing blank lines", g_json_trailing, HR_CT_JSON, NONE},
    {"C", g_c, HR_CT_CODE, NONE},
    {"Python", g_python, HR_CT_CODE, NONE},
    {"JavaScript", g_js, HR_CT_CODE, NONE},
    {"Go", g_go, HR_CT_CODE, NONE},
    {"Rust", g_rust, HR_CT_CODE, NONE},
    {"Java", g_java, HR_CT_CODE, NONE},
    {"C header", g_c_header, HR_CT_CODE, NONE},
    {"TypeScript", g_typescript, HR_CT_CODE, NONE},
    {"prose", g_prose, HR_CT_PROSE, NONE},
    {"markdown", g_markdown, HR_CT_PROSE, NONE},
    {"issue body", g_issue, HR_CT_PROSE, NONE},
    {"email", g_email, HR_CT_PROSE, NONE},
    {"prose with inline code", g_inline_code, HR_CT_PROSE, NONE},
    {"prose + python fence", g_prose_python_fence, HR_CT_CODE, HR_CT_PROSE},
    {"prose + JSON fence", g_prose_json_fence, HR_CT_PROSE, HR_CT_JSON},
    {"grep + prose", g_search_then_prose, HR_CT_SEARCH, HR_CT_PROSE},
    {"cargo log + diff", g_log_then_diff, HR_CT_DIFF, HR_CT_LOG},
    {"empty", g_empty, HR_CT_EMPTY, NONE},
    {"blank", g_blank, HR_CT_EMPTY, NONE},
    {"binary", g_binary, HR_CT_BINARY, NONE},
};
#define NSAMPLES (sizeof SAMPLES / sizeof SAMPLES[0])

static void check_tiling(const hr_sections *s, size_t len)
{
    assert_true(s->n >= 1);
    assert_int_equal(s->v[0].start, 0);
    for (size_t k = 0; k + 1 < s->n; k++)
        assert_int_equal(s->v[k].end, s->v[k + 1].start);
    assert_int_equal(s->v[s->n - 1].end, len);
}

static void table_of_samples(void **state)
{
    (void)state;
    assert_true(NSAMPLES >= 60);
    size_t wrong = 0;
    for (size_t k = 0; k < NSAMPLES; k++) {
        hr_buf b = HR_BUF_INIT;
        SAMPLES[k].gen(&b);
        hr_content_type got = hr_detect(b.data, b.len);
        hr_sections s;
        assert_int_equal(hr_detect_sections(b.data, b.len, &s), 0);
        check_tiling(&s, b.len);
        int ok = got == SAMPLES[k].type;
        if (SAMPLES[k].also == NONE) {
            ok &= s.n == 1;
        } else {
            int found = 0;
            for (size_t i = 0; i < s.n; i++)
                found |= s.v[i].type == SAMPLES[k].also;
            ok &= found && s.n >= 2;
        }
        if (!ok) {
            wrong++;
            print_message("sample '%s': want %s%s%s, got %s in %zu sections:", SAMPLES[k].name,
                          hr_content_type_name(SAMPLES[k].type),
                          SAMPLES[k].also == NONE ? "" : " with a section of ",
                          SAMPLES[k].also == NONE ? "" : hr_content_type_name(SAMPLES[k].also),
                          hr_content_type_name(got), s.n);
            for (size_t i = 0; i < s.n; i++)
                print_message(" %s[%zu,%zu)", hr_content_type_name(s.v[i].type), s.v[i].start, s.v[i].end);
            print_message("\n");
        }
        /* deterministic: a second run gives the same sections */
        hr_sections again;
        assert_int_equal(hr_detect_sections(b.data, b.len, &again), 0);
        assert_int_equal(again.n, s.n);
        for (size_t i = 0; i < s.n; i++) {
            assert_int_equal(again.v[i].start, s.v[i].start);
            assert_int_equal(again.v[i].end, s.v[i].end);
            assert_int_equal(again.v[i].type, s.v[i].type);
        }
        hr_sections_free(&again);
        hr_sections_free(&s);
        hr_buf_free(&b);
    }
    assert_int_equal(wrong, 0);
}

static void routing_picks_compressors(void **state)
{
    (void)state;
    assert_ptr_equal(hr_detect_compressor(HR_CT_LOG), hr_compress_logs);
    assert_ptr_equal(hr_detect_compressor(HR_CT_SEARCH), hr_compress_search);
    assert_ptr_equal(hr_detect_compressor(HR_CT_DIFF), hr_compress_diff);
    assert_ptr_equal(hr_detect_compressor(HR_CT_LISTING), hr_compress_listing);
    assert_ptr_equal(hr_detect_compressor(HR_CT_CODE), hr_compress_text);
    assert_ptr_equal(hr_detect_compressor(HR_CT_PROSE), hr_compress_text);
    assert_null(hr_detect_compressor(HR_CT_JSON));
    assert_null(hr_detect_compressor(HR_CT_BINARY));
    assert_null(hr_detect_compressor(HR_CT_EMPTY));
    hr_buf b = HR_BUF_INIT;
    fx_grep_logs(&b, 60);
    hr_content_type t;
    assert_ptr_equal(hr_detect_pick(b.data, b.len, &t), hr_compress_search);
    assert_int_equal(t, HR_CT_SEARCH);
    hr_buf_reset(&b);
    fx_json_array(&b, 10, 1);
    assert_null(hr_detect_pick(b.data, b.len, &t));
    assert_int_equal(t, HR_CT_JSON);
    hr_buf_free(&b);
}

/* hr_compress_detected under the plain compressor signature (no JSON compressor). */
static int detected_without_json(const char *in, size_t len, const hr_compress_opts *o,
                                 hr_compress_result *res)
{
    return hr_compress_detected(in, len, o, NULL, res);
}

static void detected_routes_to_the_fitting_compressor(void **state)
{
    (void)state;
    struct {
        void (*gen)(hr_buf *);
        const char *by;
    } cases[] = {{g_pytest_fail, "logs"}, {g_grep_logs, "search"}, {g_git_log_p, "diff"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        hr_buf b = HR_BUF_INIT;
        cases[k].gen(&b);
        if (k == 2) /* make the diff worth cutting: wide context */
            fx_diff(&b, 2, 3, 9);
        hr_compress_opts o;
        hr_compress_opts_default(&o);
        hr_compress_result r = fx_check_contract(detected_without_json, b.data, b.len, &o);
        assert_true(r.compressed);
        assert_string_equal(r.compressor, cases[k].by);
        hr_compress_result_free(&r);
        hr_buf_free(&b);
    }
}

/* A short log (under 50 lines) full of repeats: the logs compressor passes, text collapses. */
static void falls_back_to_text(void **state)
{
    (void)state;
    hr_buf b = HR_BUF_INIT;
    for (int i = 0; i < 40; i++)
        FX(&b, "2024-03-12 10:00:00 INFO waiting for lock /var/run/app.lock\n");
    hr_compress_result r;
    assert_int_equal(hr_compress_detected(b.data, b.len, NULL, NULL, &r), 0);
    assert_true(r.compressed);
    assert_string_equal(r.compressor, "text");
    hr_compress_result_free(&r);
    hr_buf_free(&b);
}

/* Log + JSON document + log: each part on its own, the JSON untouched without a JSON
 * compressor, inner markers become notes, one marker for the whole span. */
static void mixed_content_one_marker(void **state)
{
    (void)state;
    hr_buf b = HR_BUF_INIT, json = HR_BUF_INIT;
    fx_applog(&b, 300, 0);
    fx_json_array(&json, 8, 1);
    assert_int_equal(hr_buf_append(&b, json.data, json.len), 0);
    fx_applog(&b, 300, 100);
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    hr_compress_result r, r2;
    assert_int_equal(hr_compress_detected(b.data, b.len, &o, NULL, &r), 0);
    assert_int_equal(hr_compress_detected(b.data, b.len, &o, NULL, &r2), 0);
    assert_true(r.compressed);
    assert_string_equal(r.compressor, "mixed");
    assert_int_equal(r.out.len, r2.out.len);
    assert_memory_equal(r.out.data, r2.out.data, r.out.len);
    assert_non_null(memmem(r.out.data, r.out.len, json.data, json.len)); /* JSON verbatim */
    hr_marker m;
    assert_int_equal(hr_marker_find(r.out.data, r.out.len, 0, &m), 1);
    assert_int_equal(m.end, r.out.len);
    char want[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash(b.data, b.len, want);
    assert_string_equal(m.hash, want);
    assert_non_null(strstr(r.out.data, " lines compressed to ")); /* the inner notes */
    assert_non_null(strstr(r.out.data, "ERROR [worker-"));       /* errors survive */
    hr_compress_result_free(&r);
    hr_compress_result_free(&r2);
    hr_buf_free(&b);
    hr_buf_free(&json);
}

/* The same with the real JSON compressor (SmartCrusher): its inner markers (the closing one
 * and the gap markers inside the JSON) become notes too, so the output still holds exactly
 * one marker, for the whole span. */
static void mixed_content_with_smart_crusher(void **state)
{
    (void)state;
    hr_buf b = HR_BUF_INIT;
    fx_applog(&b, 200, 0);
    fx_json_array(&b, 40, 1);
    fx_applog(&b, 200, 70);
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    hr_compress_result r;
    assert_int_equal(hr_compress_detected(b.data, b.len, &o, hr_compress_smart_crusher, &r), 0);
    assert_true(r.compressed);
    assert_non_null(strstr(r.out.data, "[40 items compressed to "));
    assert_non_null(strstr(r.out.data, " items omitted]\"")); /* gap markers as notes, in place */
    hr_marker m, next;
    assert_int_equal(hr_marker_find(r.out.data, r.out.len, 0, &m), 1);
    assert_int_equal(m.end, r.out.len);
    assert_int_equal(hr_marker_find(r.out.data, r.out.len, m.end, &next), 0);
    char want[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash(b.data, b.len, want);
    assert_string_equal(m.hash, want);
    assert_non_null(strstr(r.out.data, "ERROR [worker-"));
    hr_compress_result_free(&r);
    hr_buf_free(&b);
}

static void bad_input_is_classified_safely(void **state)
{
    (void)state;
    hr_buf big = HR_BUF_INIT, utf = HR_BUF_INIT, deep = HR_BUF_INIT;
    fx_long_line(&big, 10u << 20, 'q');
    assert_int_equal(hr_detect(big.data, big.len), HR_CT_PROSE);
    fx_bad_utf8(&utf, 50);
    hr_sections s;
    assert_int_equal(hr_detect_sections(utf.data, utf.len, &s), 0);
    check_tiling(&s, utf.len);
    hr_sections_free(&s);
    for (int i = 0; i < 5000; i++) /* deeper than the validator's stack: not JSON, no crash */
        assert_int_equal(hr_buf_putc(&deep, '['), 0);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(hr_buf_putc(&deep, ']'), 0);
    assert_true(hr_detect(deep.data, deep.len) != HR_CT_JSON);
    hr_compress_result r;
    assert_int_equal(hr_compress_detected(big.data, big.len, NULL, NULL, &r), 0);
    assert_false(r.compressed);
    hr_buf bin = HR_BUF_INIT;
    fx_binary(&bin, 8192);
    assert_int_equal(hr_detect(bin.data, bin.len), HR_CT_BINARY);
    assert_int_equal(hr_compress_detected(bin.data, bin.len, NULL, hr_compress_smart_crusher, &r), 0);
    assert_false(r.compressed);
    assert_string_equal(r.compressor, "none"); /* names stay valid for stats */
    hr_buf_free(&bin);
    hr_buf_free(&big);
    hr_buf_free(&utf);
    hr_buf_free(&deep);
}

/* jq '.packages | to_entries[] | {...}': 244 pretty-printed objects, one after another.
 * Each was its own JSON section, too small to crush, so 9K tokens passed whole. As a
 * stream they are cut like an array: the ends and the values the question matches stay
 * whole, each run of cut values is a note in place. */
static void json_stream_is_cut_by_whole_values(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_read_corpus("jq_lock_licenses", &in);
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.query = "Which version of ws is installed?";
    o.query_len = strlen(o.query);
    hr_compress_result r = fx_check_contract(detected_without_json, in.data, in.len, &o);
    assert_true(r.compressed);
    fx_kept_lines_verbatim(in.data, in.len, &r.out);
    static const char ws[] = "{\n  \"name\": \"ws\",\n  \"version\": \"8.18.3\",\n"
                             "  \"license\": \"MIT\",\n  \"dev\": false\n}\n";
    static const char note[] = " values omitted]\n";
    assert_non_null(memmem(r.out.data, r.out.len, ws, sizeof ws - 1));
    assert_non_null(memmem(r.out.data, r.out.len, note, sizeof note - 1));
    /* every kept value is whole: as many "{" lines as "}" lines */
    size_t open = 0, close = 0;
    for (const char *p = r.out.data, *e = p + r.out.len; p < e; p++)
        if (p == r.out.data || p[-1] == '\n')
            open += *p == '{' && p + 1 < e && p[1] == '\n', close += *p == '}';
    assert_int_equal(open, close);
    assert_true(open >= 4);
    assert_true(r.out.len * 10 < in.len);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_of_samples),
        cmocka_unit_test(routing_picks_compressors),
        cmocka_unit_test(detected_routes_to_the_fitting_compressor),
        cmocka_unit_test(falls_back_to_text),
        cmocka_unit_test(mixed_content_one_marker),
        cmocka_unit_test(mixed_content_with_smart_crusher),
        cmocka_unit_test(bad_input_is_classified_safely),
        cmocka_unit_test(json_stream_is_cut_by_whole_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
