/* textcomp_fixtures.h: real-shaped tool outputs generated in code for the detection and
 * text-compressor tests (pytest, jest, cargo, go test, npm, make/gcc and timestamped logs;
 * grep / ripgrep / git grep output; git diffs; source code; prose; JSON), plus the checks
 * every compressor must pass (contract, determinism, round-trip hash, bad input).
 * Generators are deterministic (fixed LCG) and append to an hr_buf the caller frees.
 */
#ifndef TEXTCOMP_FIXTURES_H
#define TEXTCOMP_FIXTURES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ccr/marker.h"
#include "compress/compressor.h"
#include "sys/buf.h"
#include "sys/hash.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline unsigned fx_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

#define FX(b, ...) assert_int_equal(hr_buf_printf((b), __VA_ARGS__), 0)

/* ---- logs ------------------------------------------------------------------------- */

/* pytest -v: n tests, the ones with index % fail_every == fail_at fail (fail_every 0: none). */
static inline void fx_pytest(hr_buf *b, unsigned n, unsigned fail_every, unsigned fail_at)
{
    FX(b, "============================= test session starts ==============================\n");
    FX(b, "platform linux -- Python 3.11.2, pytest-7.4.0, pluggy-1.2.0\n");
    FX(b, "rootdir: /home/dev/project\ncollected %u items\n\n", n);
    unsigned failed = 0;
    for (unsigned i = 0; i < n; i++) {
        int f = fail_every && i % fail_every == fail_at;
        failed += f;
        FX(b, "tests/test_api_%u.py::test_endpoint_%u %s [%3u%%]\n", i / 25, i,
           f ? "FAILED" : "PASSED", (i + 1) * 100 / n);
        if (i % 40 == 7)
            FX(b, "tests/test_api_%u.py:%u: DeprecationWarning: datetime.utcnow() is deprecated\n",
               i / 25, 10 + i);
    }
    if (failed) {
        FX(b, "\n=================================== FAILURES ===================================\n");
        for (unsigned i = 0; i < n; i++)
            if (fail_every && i % fail_every == fail_at) {
                FX(b, "_______________________________ test_endpoint_%u ________________________________\n", i);
                FX(b, "\n    def test_endpoint_%u(client):\n        resp = client.get('/api/v1/items/%u')\n", i, i);
                FX(b, ">       assert resp.status_code == 200\nE       assert 500 == 200\n");
                FX(b, "E        +  where 500 = <Response [500]>.status_code\n\n");
                FX(b, "tests/test_api_%u.py:%u: AssertionError\n", i / 25, 40 + i);
            }
        FX(b, "=========================== short test summary info ============================\n");
        for (unsigned i = 0; i < n; i++)
            if (fail_every && i % fail_every == fail_at)
                FX(b, "FAILED tests/test_api_%u.py::test_endpoint_%u - assert 500 == 200\n", i / 25, i);
    }
    FX(b, "======================== %u failed, %u passed in 12.34s =========================\n",
       failed, n - failed);
}

static inline void fx_jest(hr_buf *b, unsigned suites, int with_failure)
{
    for (unsigned s = 0; s < suites; s++) {
        int fail = with_failure && s == suites / 2;
        FX(b, "%s src/components/Widget%u.test.js\n", fail ? "FAIL" : "PASS", s);
        for (unsigned t = 0; t < 4; t++)
            FX(b, "  \xe2\x9c\x93 renders variant %u (%u ms)\n", t, 3 + t);
        if (fail) {
            FX(b, "  \xe2\x9c\x95 handles click (12 ms)\n\n");
            FX(b, "  \xe2\x97\x8f Widget%u \xe2\x80\xba handles click\n\n", s);
            FX(b, "    expect(received).toBe(expected) // Object.is equality\n\n");
            FX(b, "    Expected: 2\n    Received: 1\n\n");
            FX(b, "      at Object.<anonymous> (src/components/Widget%u.test.js:42:23)\n", s);
            FX(b, "      at processTicksAndRejections (node:internal/process/task_queues:95:5)\n\n");
        }
    }
    FX(b, "Test Suites: %u failed, %u passed, %u total\n", with_failure ? 1u : 0u,
       suites - (with_failure ? 1u : 0u), suites);
    FX(b, "Tests:       %u failed, %u passed, %u total\n", with_failure ? 1u : 0u,
       suites * 4, suites * 4 + (with_failure ? 1u : 0u));
    FX(b, "Snapshots:   0 total\nTime:        4.512 s\nRan all test suites.\n");
}

static inline void fx_cargo(hr_buf *b, unsigned crates, int with_error)
{
    for (unsigned c = 0; c < crates; c++)
        FX(b, "   Compiling dep-crate-%u v0.%u.%u\n", c, c % 7, c % 3);
    if (with_error) {
        FX(b, "error[E0308]: mismatched types\n  --> src/main.rs:14:20\n   |\n");
        FX(b, "14 |     let x: u32 = \"hello\";\n   |            ---   ^^^^^^^ expected `u32`, found `&str`\n");
        FX(b, "   |            |\n   |            expected due to this\n\n");
        FX(b, "error: could not compile `app` (bin \"app\") due to 1 previous error\n");
        return;
    }
    FX(b, "    Finished test [unoptimized + debuginfo] target(s) in 21.07s\n");
    FX(b, "     Running unittests src/lib.rs (target/debug/deps/app-1a2b3c4d)\n\n");
    FX(b, "running %u tests\n", crates);
    for (unsigned t = 0; t < crates; t++)
        FX(b, "test tests::case_%u ... %s\n", t, t == crates / 3 ? "FAILED" : "ok");
    FX(b, "\nfailures:\n\n---- tests::case_%u stdout ----\n", crates / 3);
    FX(b, "thread 'tests::case_%u' panicked at src/lib.rs:88:9:\nassertion `left == right` failed\n", crates / 3);
    FX(b, "  left: 3\n right: 4\n\ntest result: FAILED. %u passed; 1 failed; 0 ignored\n", crates - 1);
}

static inline void fx_gotest(hr_buf *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        FX(b, "=== RUN   TestHandler%u\n", i);
        if (i == n / 2) {
            FX(b, "    handler_test.go:%u: expected status 200, got 503\n", 20 + i);
            FX(b, "--- FAIL: TestHandler%u (0.01s)\n", i);
        } else {
            FX(b, "--- PASS: TestHandler%u (0.00s)\n", i);
        }
    }
    FX(b, "FAIL\nFAIL\tgithub.com/acme/api/handlers\t0.412s\nok  \tgithub.com/acme/api/store\t0.101s\n");
}

static inline void fx_npm(hr_buf *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (i % 9 == 2)
            FX(b, "npm WARN deprecated left-pad@1.%u.0: use String.prototype.padStart()\n", i);
        else
            FX(b, "npm http fetch GET 200 https://registry.npmjs.org/pkg-%u 34ms (cache hit)\n", i);
    }
    FX(b, "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree\n");
    FX(b, "npm ERR! Found: react@18.2.0\nnpm ERR! A complete log of this run can be found in: /root/.npm/_logs/debug-0.log\n");
}

static inline void fx_make(hr_buf *b, unsigned n, int with_error)
{
    FX(b, "make[1]: Entering directory '/home/dev/proj/build'\n");
    for (unsigned i = 0; i < n; i++) {
        FX(b, "[%3u%%] Building C object CMakeFiles/app.dir/src/mod%u.c.o\n", (i + 1) * 100 / n, i);
        if (i % 11 == 3)
            FX(b, "/home/dev/proj/src/mod%u.c:%u:9: warning: unused variable 'tmp%u' [-Wunused-variable]\n",
               i, 30 + i, i);
    }
    if (with_error) {
        FX(b, "/home/dev/proj/src/net.c:212:5: error: implicit declaration of function 'sendmsgx'\n");
        FX(b, "  212 |     sendmsgx(fd, &msg, 0);\n      |     ^~~~~~~~\n");
        FX(b, "make[2]: *** [CMakeFiles/app.dir/build.make:76: CMakeFiles/app.dir/src/net.c.o] Error 1\n");
        FX(b, "make: *** [Makefile:136: all] Error 2\n");
    } else {
        FX(b, "[100%%] Linking C executable app\n[100%%] Built target app\n");
    }
}

/* Generic timestamped service log; every error_every-th line is an ERROR (0: none); a Java
 * stack trace after the first error. */
static inline void fx_applog(hr_buf *b, unsigned n, unsigned error_every)
{
    unsigned seed = 7;
    int traced = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned ms = fx_rand(&seed) % 900;
        FX(b, "2024-03-1%u 10:%02u:%02u.%03u ", i / 1000 % 10, i / 60 % 60, i % 60, ms);
        if (error_every && i % error_every == error_every - 1) {
            FX(b, "ERROR [worker-%u] payment.Processor - charge failed for order %u: upstream timeout\n",
               i % 8, 100000 + i);
            if (!traced) {
                traced = 1;
                FX(b, "java.net.SocketTimeoutException: Read timed out\n");
                FX(b, "\tat java.base/java.net.SocketInputStream.read(SocketInputStream.java:168)\n");
                FX(b, "\tat com.acme.payment.Gateway.charge(Gateway.java:88)\n");
                FX(b, "\tat com.acme.payment.Processor.run(Processor.java:41)\n");
            }
        } else if (i % 97 == 13) {
            FX(b, "WARN  [worker-%u] cache.Pool - pool 0x%x near capacity (%u/512)\n", i % 8,
               0x7f00u + i, 400 + i % 100);
        } else {
            FX(b, "INFO  [worker-%u] http.Server - GET /api/v1/orders/%u 200 %ums\n", i % 8,
               100000 + i, ms % 50);
        }
    }
}

/* ---- search results ------------------------------------------------------------------ */

/* grep -rn: files x matches_each lines; col adds ripgrep --vimgrep columns. */
static inline void fx_grep(hr_buf *b, unsigned files, unsigned matches_each, int col)
{
    for (unsigned f = 0; f < files; f++)
        for (unsigned m = 0; m < matches_each; m++) {
            FX(b, "src/services/svc_%u/handler.py:%u:", f, 12 + m * 17);
            if (col)
                FX(b, "%u:", 5 + m % 9);
            FX(b, "    conn = pool.acquire(wait=%u)  # retry %u\n", m + 1, m);
        }
}

static inline void fx_rg_heading(hr_buf *b, unsigned files, unsigned matches_each)
{
    for (unsigned f = 0; f < files; f++) {
        if (f)
            FX(b, "\n");
        FX(b, "internal/store/shard_%u.go\n", f);
        for (unsigned m = 0; m < matches_each; m++)
            FX(b, "%u:\tif err := s.db.QueryRowContext(ctx, q, id%u).Scan(&v); err != nil {\n",
               40 + m * 9, m);
    }
}

static inline void fx_grep_context(hr_buf *b, unsigned files, unsigned matches_each)
{
    for (unsigned f = 0; f < files; f++)
        for (unsigned m = 0; m < matches_each; m++) {
            unsigned ln = 100 + m * 20;
            if (f || m)
                FX(b, "--\n");
            FX(b, "lib/auth/token_%u.rb-%u-  def refresh!\n", f, ln - 1);
            FX(b, "lib/auth/token_%u.rb:%u:    expires_at = Time.now + TTL_%u\n", f, ln, m);
            FX(b, "lib/auth/token_%u.rb-%u-    save!\n", f, ln + 1);
        }
}

/* grep -n over log files: the payload looks like a log, the shape is search results. */
static inline void fx_grep_logs(hr_buf *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        FX(b, "logs/app-%u.log:%u:2024-03-12 10:%02u:%02u ERROR [db] connection reset by peer\n",
           i % 4, 1000 + i * 37, i % 60, (i * 7) % 60);
}

/* ---- diffs ------------------------------------------------------------------------- */

static inline void fx_diff(hr_buf *b, unsigned files, unsigned hunks, unsigned ctx)
{
    for (unsigned f = 0; f < files; f++) {
        FX(b, "diff --git a/src/core/module_%u.c b/src/core/module_%u.c\n", f, f);
        FX(b, "index 3f2a1b%u..9c8d7e%u 100644\n--- a/src/core/module_%u.c\n+++ b/src/core/module_%u.c\n",
           f % 10, (f + 3) % 10, f, f);
        for (unsigned h = 0; h < hunks; h++) {
            unsigned at = 10 + h * 60;
            FX(b, "@@ -%u,%u +%u,%u @@ static int handler_%u(struct req *r)\n", at, 2 * ctx + 1, at,
               2 * ctx + 2, h);
            for (unsigned c = 0; c < ctx; c++)
                FX(b, "     int v%u_%u = r->field_%u;\n", h, c, c);
            FX(b, "-    return legacy_path_%u_%u(r);\n", f, h);
            FX(b, "+    if (!r) return -EINVAL;\n+    return fast_path_%u_%u(r);\n", f, h);
            for (unsigned c = 0; c < ctx; c++)
                FX(b, "     log_debug(\"after %u_%u\");\n", h, c);
        }
    }
}

/* A diff of a JSON config file: its lines look like JSON, the shape is a diff. */
static inline void fx_diff_json(hr_buf *b)
{
    FX(b, "diff --git a/config/settings.json b/config/settings.json\nindex 1a2b3c4..5d6e7f8 100644\n");
    FX(b, "--- a/config/settings.json\n+++ b/config/settings.json\n@@ -1,8 +1,9 @@\n {\n");
    FX(b, "   \"name\": \"api\",\n-  \"timeout\": 30,\n+  \"timeout\": 60,\n+  \"retries\": 3,\n");
    FX(b, "   \"features\": {\n     \"beta\": false\n   },\n   \"port\": 8080\n }\n");
}

/* ---- code, prose, JSON --------------------------------------------------------------- */

static inline void fx_c_code(hr_buf *b, unsigned fns)
{
    FX(b, "#include <stdio.h>\n#include <stdlib.h>\n\n");
    for (unsigned i = 0; i < fns; i++) {
        FX(b, "static int parse_field_%u(const char *s, size_t n, int *out)\n{\n", i);
        FX(b, "    if (!s || n == 0)\n        return -1;\n    int v = 0;\n");
        FX(b, "    for (size_t k = 0; k < n; k++) {\n        if (s[k] < '0' || s[k] > '9')\n");
        FX(b, "            return -1;\n        v = v * 10 + (s[k] - '0');\n    }\n");
        FX(b, "    *out = v + %u;\n    return 0;\n}\n\n", i);
    }
}

static inline void fx_python(hr_buf *b, unsigned fns)
{
    FX(b, "import os\nimport json\nfrom dataclasses import dataclass\n\n\n");
    for (unsigned i = 0; i < fns; i++) {
        FX(b, "@dataclass\nclass Record%u:\n    name: str\n    size: int\n\n", i);
        FX(b, "def load_record_%u(path):\n    with open(path) as fh:\n", i);
        FX(b, "        data = json.load(fh)\n    if data.get(\"size\", 0) > %u:\n", i * 10);
        FX(b, "        raise ValueError(\"too large\")\n    return Record%u(**data)\n\n\n", i);
    }
}

static inline void fx_js(hr_buf *b, unsigned fns)
{
    FX(b, "import express from 'express';\nconst app = express();\n\n");
    for (unsigned i = 0; i < fns; i++) {
        FX(b, "export async function fetchUser%u(id) {\n  const res = await fetch(`/api/users/${id}`);\n", i);
        FX(b, "  if (!res.ok) {\n    throw new Error('status ' + res.status);\n  }\n");
        FX(b, "  return res.json();\n}\n\n");
    }
}

static inline void fx_go(hr_buf *b, unsigned fns)
{
    FX(b, "package store\n\nimport (\n\t\"context\"\n\t\"database/sql\"\n)\n\n");
    for (unsigned i = 0; i < fns; i++) {
        FX(b, "func (s *Store) Get%u(ctx context.Context, id int64) (*Item, error) {\n", i);
        FX(b, "\tvar it Item\n\terr := s.db.QueryRowContext(ctx, q%u, id).Scan(&it.ID, &it.Name)\n", i);
        FX(b, "\tif err != nil {\n\t\treturn nil, err\n\t}\n\treturn &it, nil\n}\n\n");
    }
}

static inline void fx_rust(hr_buf *b, unsigned fns)
{
    FX(b, "use std::collections::HashMap;\n\n");
    for (unsigned i = 0; i < fns; i++) {
        FX(b, "pub fn merge_%u(a: &HashMap<String, u32>, b: &HashMap<String, u32>) -> HashMap<String, u32> {\n", i);
        FX(b, "    let mut out = a.clone();\n    for (k, v) in b {\n");
        FX(b, "        *out.entry(k.clone()).or_insert(0) += v;\n    }\n    out\n}\n\n");
    }
}

static inline void fx_java(hr_buf *b, unsigned fns)
{
    FX(b, "package com.acme.billing;\n\nimport java.util.List;\n\npublic class Invoices {\n");
    for (unsigned i = 0; i < fns; i++) {
        FX(b, "    public long total%u(List<Line> lines) {\n        long sum = 0;\n", i);
        FX(b, "        for (Line l : lines) {\n            sum += l.amount() * %u;\n        }\n", i + 1);
        FX(b, "        return sum;\n    }\n\n");
    }
    FX(b, "}\n");
}

static inline void fx_prose(hr_buf *b, unsigned paragraphs)
{
    static const char *const s[] = {
        "The proxy sits between the agent and the provider and shrinks what the agent sends.",
        "Every original is kept, so the model can ask for the full text when it needs it.",
        "Most of the tokens an agent spends are tool outputs that nobody reads in full.",
        "We measured the savings on real sessions and report them per workload below.",
        "When the context fills up, older turns are compressed more aggressively than new ones.",
        "This keeps prompt caches warm because bytes that were sent once never change again.",
    };
    unsigned seed = 3;
    for (unsigned p = 0; p < paragraphs; p++) {
        for (unsigned k = 0; k < 4; k++)
            FX(b, "%s%s", k ? " " : "", s[fx_rand(&seed) % 6]);
        FX(b, "\n\n");
    }
}

static inline void fx_markdown(hr_buf *b, unsigned sections)
{
    FX(b, "# Project notes\n\n");
    for (unsigned i = 0; i < sections; i++) {
        FX(b, "## Topic %u\n\nThe team agreed to revisit the plan for topic %u next week.\n", i, i);
        FX(b, "Open questions remain about ownership and about the timeline for the rollout.\n\n");
        FX(b, "- decide who owns the migration\n- write down the rollback steps\n- agree on a date\n\n");
    }
}

static inline void fx_json_array(hr_buf *b, unsigned n, int pretty)
{
    FX(b, "[");
    for (unsigned i = 0; i < n; i++) {
        if (pretty)
            FX(b, "%s\n  {\n    \"id\": %u,\n    \"name\": \"item-%u\",\n    \"status\": \"%s\",\n"
                  "    \"tags\": [\"a\", \"b\"],\n    \"score\": %u.5\n  }",
               i ? "," : "", i, i, i % 5 ? "ok" : "degraded", i * 3);
        else
            FX(b, "%s{\"id\":%u,\"name\":\"item-%u\",\"status\":\"ok\",\"score\":%u}", i ? "," : "", i,
               i, i * 3);
    }
    FX(b, pretty ? "\n]\n" : "]");
}

/* ---- transforms and bad input ---------------------------------------------------------- */

/* Replaces every "\n" of b with "\r\n" in place. */
static inline void fx_crlf(hr_buf *b)
{
    hr_buf o = HR_BUF_INIT;
    for (size_t i = 0; i < b->len; i++) {
        if (b->data[i] == '\n')
            assert_int_equal(hr_buf_putc(&o, '\r'), 0);
        assert_int_equal(hr_buf_putc(&o, b->data[i]), 0);
    }
    hr_buf_free(b);
    *b = o;
}

static inline void fx_binary(hr_buf *b, size_t n)
{
    unsigned seed = 99;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hr_buf_putc(b, (char)(fx_rand(&seed) & 0xff)), 0);
    assert_int_equal(hr_buf_putc(b, '\0'), 0);
}

/* One line of n bytes (no newline), e.g. a minified bundle; c repeats. */
static inline void fx_long_line(hr_buf *b, size_t n, char c)
{
    assert_int_equal(hr_buf_reserve(b, n), 0);
    memset(b->data + b->len, c, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Text lines with invalid UTF-8 (lone continuation bytes, truncated sequences, 0xff). */
static inline void fx_bad_utf8(hr_buf *b, unsigned lines)
{
    for (unsigned i = 0; i < lines; i++)
        FX(b, "line %u \x80\xbf bad \xe2\x82 seq \xff\xfe end %s\n", i, i % 25 ? "ok" : "ERROR x");
}

/* ---- checks --------------------------------------------------------------------------- */

/* Runs fn on in twice and checks the contract: determinism, exactly one marker at the end
 * naming hr_content_hash(in), counts as in the marker, input untouched. Returns the
 * first result (caller frees). */
static inline hr_compress_result fx_check_contract(hr_compressor_fn fn, const char *in, size_t len,
                                                   const hr_compress_opts *o)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, in, len);
    hr_compress_result a, b;
    assert_int_equal(fn(in, len, o, &a), 0);
    assert_int_equal(fn(in, len, o, &b), 0);
    assert_memory_equal(copy, in, len); /* the original is never modified */
    free(copy);
    assert_int_equal(a.compressed, b.compressed);
    assert_int_equal(a.out.len, b.out.len);
    if (a.out.len)
        assert_memory_equal(a.out.data, b.out.data, a.out.len);
    hr_compress_result_free(&b);
    if (!a.compressed) {
        assert_int_equal(a.out.len, 0);
        return a;
    }
    assert_true(a.out.len < len);
    char want[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash(in, len, want);
    assert_string_equal(a.hash, want);
    hr_marker m;
    assert_int_equal(hr_marker_find(a.out.data, a.out.len, 0, &m), 1);
    assert_int_equal(m.end, a.out.len); /* the marker ends the output ... */
    assert_string_equal(m.hash, want);  /* ... and names the original */
    assert_int_equal(m.total, a.units_total);
    assert_int_equal(m.kept, a.units_kept);
    assert_string_equal(m.unit, a.unit);
    hr_marker again;
    assert_int_equal(hr_marker_find(a.out.data, a.out.len, m.end, &again), 0); /* only one */
    return a;
}

/* Appends the source tree's file at rel (tests/...) to b; the source tree comes from
 * HEADROOM_SOURCE_DIR, which ctest sets. */
static inline void fx_read_source(const char *rel, hr_buf *b)
{
    const char *src = getenv("HEADROOM_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", src, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(hr_buf_read_stream(b, f, 0), 0);
    fclose(f);
}

/* Appends tests/corpus/<name>.txt (a real capture) to b. */
static inline void fx_read_corpus(const char *name, hr_buf *b)
{
    char rel[512];
    snprintf(rel, sizeof rel, "tests/corpus/%s.txt", name);
    fx_read_source(rel, b);
}

/* 1 if line (no newline) appears in text as a whole line. */
static inline int fx_has_line(const char *text, size_t len, const char *line, size_t n)
{
    for (const char *p = text, *e = text + len; p < e;) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t m = (size_t)((nl ? nl : e) - p);
        if (m == n && memcmp(p, line, n) == 0)
            return 1;
        p = nl ? nl + 1 : e;
    }
    return 0;
}

/* Every line of in for which pred() holds appears verbatim in out; returns how many. */
static inline size_t fx_lines_survive(const char *in, size_t len, const hr_buf *out,
                                      int (*pred)(const char *, size_t))
{
    size_t count = 0;
    for (const char *p = in, *e = in + len; p < e;) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t m = (size_t)((nl ? nl : e) - p);
        if (pred(p, m)) {
            if (!fx_has_line(out->data, out->len, p, m))
                fail_msg("line lost: %.*s", (int)(m > 200 ? 200 : m), p);
            count++;
        }
        p = nl ? nl + 1 : e;
    }
    return count;
}

/* Every non-note line of out is a line of in (kept lines are never changed). Notes are
 * the compressor's own "[...]" lines and the final marker line. */
static inline void fx_kept_lines_verbatim(const char *in, size_t len, const hr_buf *out)
{
    for (const char *p = out->data, *e = out->data + out->len; p < e;) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t m = (size_t)((nl ? nl : e) - p);
        int note = m > 1 && p[0] == '[' && p[m - 1] == ']';
        int last = nl == NULL;
        if (!note && !last && !fx_has_line(in, len, p, m))
            fail_msg("changed or invented line: %.*s", (int)(m > 200 ? 200 : m), p);
        p = nl ? nl + 1 : e;
    }
}

#endif
