/* logs.c: the build/test log compressor (see logs.h) and the log-line recognisers.
 *
 * Selection is a keep-mask over lines: head, tail, error lines with context, the first
 * stack traces, first occurrences of distinct warnings, summary lines. Everything else is
 * omitted and counted by level. Matching is plain byte scanning (no regex engine): it is
 * fast on multi-megabyte logs and cannot blow up on hostile input.
 */
#include "compress/logs.h"

#include "ccr/marker.h"
#include "compress/compressors.h"
#include "compress/rows.h"
#include "compress/text.h"
#include "sys/ascii.h"
#include "sys/relevance.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    HEAD_LINES = 5,
    TAIL_LINES = 10,
    ERROR_CONTEXT = 3,
    ERRORS_WITH_CONTEXT = 5, /* when error lines are common, only the first this many get
                              * context; the rest are kept bare */
    MAX_TRACES = 3,
    TRACE_LINES = 20,
    MAX_WARNINGS = 5,
    SCAN_PREFIX = 160, /* signatures live at the start of a line */
};


static int starts(const char *s, size_t n, const char *lit)
{
    if (n == 0 || s[0] != lit[0]) /* most calls end here, before strlen */
        return 0;
    size_t k = strlen(lit);
    return n >= k && memcmp(s, lit, k) == 0;
}

static int contains(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (k > n)
        return 0;
    for (const char *p = s, *e = s + n - k + 1; p < e;) {
        const char *q = memchr(p, lit[0], (size_t)(e - p));
        if (!q)
            return 0;
        if (q[k - 1] == lit[k - 1] && memcmp(q, lit, k) == 0) /* last byte filters first */
            return 1;
        p = q + 1;
    }
    return 0;
}

static int eq_ci_at(const char *s, size_t n, size_t i, const char *w, size_t k)
{
    if (n - i < k)
        return 0;
    for (size_t j = 0; j < k; j++)
        if (hr_to_lower((unsigned char)s[i + j]) != w[j])
            return 0;
    return 1;
}

/* A word (or CamelCase part) starts at i: "ValueError", "error:", not "stderr", and not
 * inside snake_case names ("test_error_path PASSED" is a passing test). Parts of an
 * all-caps constant do start words: ERR_GATEWAY_TIMEOUT, E_FAIL name error states. */
static int word_start(const char *s, size_t i)
{
    if (i == 0)
        return 1;
    int p = (unsigned char)s[i - 1], c = (unsigned char)s[i];
    if (p == '_')
        return i >= 2 && hr_is_upper(c) && hr_is_upper((unsigned char)s[i - 2]);
    if (!hr_is_alpha(p))
        return 1;
    return hr_is_upper(c) && hr_is_lower(p);
}

/* Negated counts: "0 failed", "no errors". */
static int negated(const char *s, size_t i)
{
    if (i >= 2 && s[i - 1] == ' ' && s[i - 2] == '0' && (i == 2 || !hr_is_digit((unsigned char)s[i - 3])))
        return 1;
    return i >= 3 && s[i - 1] == ' ' && hr_to_lower((unsigned char)s[i - 2]) == 'o' &&
           hr_to_lower((unsigned char)s[i - 3]) == 'n' && (i == 3 || !hr_is_alpha((unsigned char)s[i - 4]));
}

/* A word list: lowercase words matched as word-start prefixes ("fail" finds "FAILED"). */
typedef struct word {
    const char *w;
    unsigned char n;
} word;
#define W(lit) {lit, sizeof lit - 1}

static const word ERROR_WORDS[] = {
    W("error"),    W("exception"), W("fail"),     W("fatal"),     W("panic"),
    W("crash"),    W("abort"),     W("timeout"),  W("timed out"), W("denied"),
    W("rejected"), W("critical"),  W("segfault"), W("segmentation fault"),
    W("traceback"), W("err!"),     {NULL, 0},
};
static const word WARN_WORDS[] = {W("warn"), W("deprecat"), {NULL, 0}};

/* 1 if any word of the list occurs in s. A first-letter mask skips most positions. */
static int has_any_word(const char *s, size_t n, const word *words)
{
    uint32_t firsts = 0;
    for (const word *w = words; w->w; w++)
        firsts |= 1u << (w->w[0] - 'a');
    for (size_t i = 0; i < n;) {
        int c = hr_to_lower((unsigned char)s[i]);
        if (c < 'a' || c > 'z') {
            i++;
            continue;
        }
        if ((firsts & (1u << (c - 'a'))) && word_start(s, i))
            for (const word *w = words; w->w; w++)
                if (w->w[0] == c && eq_ci_at(s, n, i, w->w, w->n) && !negated(s, i))
                    return 1;
        /* No word starts inside a lowercase run: skip to its end (an uppercase letter may
         * start a CamelCase part, anything else ends the word). */
        for (i++; i < n && hr_is_lower((unsigned char)s[i]); i++)
            ;
    }
    return 0;
}

static size_t skip_ws(const char *s, size_t n, size_t i);

/* jest heads each failure with "  ● Suite › test" (and console output with "  ● Console"). */
static int jest_failure_heading(const char *s, size_t n)
{
    size_t i = skip_ws(s, n, 0);
    return starts(s + i, n - i, "\xe2\x97\x8f ") && !starts(s + i, n - i, "\xe2\x97\x8f Console");
}

/* A TAP result line ("ok 3 - name", "not ok 7 - name", indented in subtests: node --test,
 * tap, prove): 2 for a failure, 1 for a pass, 0 for anything else. A failure holds no
 * error word, yet names the failing test. */
static int tap_result(const char *s, size_t n)
{
    size_t i = skip_ws(s, n, 0);
    int failed = starts(s + i, n - i, "not ok ");
    if (failed)
        i += 7;
    else if (starts(s + i, n - i, "ok "))
        i += 3;
    else
        return 0;
    return i < n && hr_is_digit((unsigned char)s[i]) ? 1 + failed : 0;
}

/* valgrind starts every line with "==PID== " (the tool's report) or "--PID-- " (its own
 * notes); the prefix's length, 0 if there is none. */
static size_t valgrind_prefix(const char *s, size_t n)
{
    if (n < 5 || s[0] != s[1] || (s[0] != '=' && s[0] != '-'))
        return 0;
    size_t i = 2;
    while (i < n && i < 12 && hr_is_digit((unsigned char)s[i]))
        i++;
    if (i == 2 || i + 2 > n || s[i] != s[0] || s[i + 1] != s[0])
        return 0;
    i += 2;
    return i < n && s[i] == ' ' ? i + 1 : i;
}

/* The heading of a memcheck error record ("Invalid read of size 1", "Conditional jump ...",
 * a definitely or possibly lost block): the report's errors hold no error word. Frames and
 * "Address ..." lines are indented under it; still reachable and indirectly lost blocks
 * are no error. */
static int memcheck_error(const char *s, size_t n)
{
    static const char *const heads[] = {
        "Invalid ", "Conditional jump", "Use of uninitialised", "Syscall param",
        "Mismatched free", "Source and destination overlap", "Argument '", "Process terminating",
        NULL};
    size_t p = valgrind_prefix(s, n);
    if (!p || p >= n || s[p] == ' ' || s[0] != '=')
        return 0;
    for (const char *const *h = heads; *h; h++)
        if (starts(s + p, n - p, *h))
            return 1;
    return contains(s + p, n - p, " are definitely lost") ||
           contains(s + p, n - p, " are possibly lost");
}

int hr_log_has_error_word(const char *s, size_t n)
{
    if (contains(s, n, "\xe2\x9c\x95") || contains(s, n, "\xe2\x9c\x97") ||
        contains(s, n, "\xe2\x9c\x98") || starts(s, n, "E   ") || jest_failure_heading(s, n))
        return 1;
    return has_any_word(s, n, ERROR_WORDS);
}

int hr_log_has_warn_word(const char *s, size_t n) { return has_any_word(s, n, WARN_WORDS); }

hr_log_line_level hr_log_level_of(const char *s, size_t n)
{
    if (hr_log_has_error_word(s, n) || memcheck_error(s, n) || tap_result(s, n) == 2)
        return HR_LOG_LEVEL_ERROR;
    if (hr_log_has_warn_word(s, n))
        return HR_LOG_LEVEL_WARN;
    return HR_LOG_LEVEL_OTHER;
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

/* Digits at s[i..] of exactly k characters followed by sep (0: anything). */
static int digits_then(const char *s, size_t n, size_t i, size_t k, char sep)
{
    if (n - i < k + (sep ? 1 : 0))
        return 0;
    for (size_t j = 0; j < k; j++)
        if (!hr_is_digit((unsigned char)s[i + j]))
            return 0;
    return !sep || s[i + k] == sep;
}

static int leading_timestamp(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && (s[i] == '[' || s[i] == '('))
        i++;
    if (i >= n)
        return 0;
    if (digits_then(s, n, i, 4, '-') && digits_then(s, n, i + 5, 2, '-'))
        return 1; /* 2024-05-01 */
    if (digits_then(s, n, i, 4, '/') && digits_then(s, n, i + 5, 2, '/'))
        return 1; /* 2024/05/01 */
    if (digits_then(s, n, i, 2, ':') && digits_then(s, n, i + 3, 2, ':'))
        return 1; /* 12:30:45 */
    static const char *const months[] = {"Jan ", "Feb ", "Mar ", "Apr ", "May ", "Jun ",
                                         "Jul ", "Aug ", "Sep ", "Oct ", "Nov ", "Dec ", NULL};
    for (const char *const *m = months; *m; m++)
        if (starts(s + i, n - i, *m) && n - i > 6 &&
            (hr_is_digit((unsigned char)s[i + 4]) || s[i + 4] == ' '))
            return 1;
    if (contains(s, n, " Test #") && contains(s, n, "sec"))
        return 1; /* ctest: "3/7 Test #10: unit.x ....   Passed    0.25 sec" */
    if ((s[0] == 'I' || s[0] == 'W' || s[0] == 'E' || s[0] == 'F') && digits_then(s, n, 1, 4, ' ') &&
        digits_then(s, n, 6, 2, ':'))
        return 1; /* glog / klog: I0312 10:00:00.123456 */
    if (s[0] == '[') { /* dmesg: [   12.345678] */
        size_t j = skip_ws(s, n, 1), d = 0;
        while (j < n && hr_is_digit((unsigned char)s[j]))
            j++, d++;
        if (d && j < n && s[j] == '.')
            return 1;
    }
    return 0;
}

/* An uppercase level token as a whole word: INFO, WARN, ERROR, ... or level=... */
static int level_token(const char *s, size_t n)
{
    static const char *const levels[] = {"INFO", "WARN", "WARNING", "ERROR", "DEBUG",
                                         "TRACE", "FATAL", "CRITICAL", "NOTICE", NULL};
    for (size_t i = 0; i < n; i++) {
        if (!hr_is_upper((unsigned char)s[i]) || (i && hr_is_alpha((unsigned char)s[i - 1])))
            continue;
        for (const char *const *l = levels; *l; l++) {
            size_t k = strlen(*l);
            if (n - i >= k && memcmp(s + i, *l, k) == 0 &&
                (i + k == n || !hr_is_alpha((unsigned char)s[i + k])))
                return 1;
        }
    }
    return contains(s, n, "level=") || contains(s, n, "\"level\":");
}

static int runner_shape(const char *s, size_t n)
{
    static const char *const prefixes[] = {
        "PASS ", "FAIL ", "FAIL\t", "ok  \t", "ok \t", "--- FAIL", "--- PASS", "--- SKIP",
        "=== RUN", "=== PAUSE", "=== CONT", "npm ERR!", "npm WARN", "npm notice", "npm http",
        "npm info", "npm verb", "npm timing", "added ", "audited ", "up to date", "make[",
        "make: ", "Traceback", "E   ", "error[", "error:", "warning:", "note:", "running ",
        "test result:", "collected ", "Step ", "BUILD ", "Build ", "Compiling ", "Finished ",
        "Running ", "Downloading ", "Downloaded ", "Installing ", "Collecting ", "[INFO]",
        "[WARNING]", "[ERROR]", "\xe2\x9c\x93", "\xe2\x9c\x95", "\xe2\x97\x8f", "Test Suites:",
        "Tests:", "Snapshots:", "Time:", "Ran ", "FAILED ", "ERROR ", "PASSED ", "panic:",
        "goroutine ", "thread '", "stack backtrace:", "In file included", "[ RUN ", "[       OK ]",
        "[  FAILED  ]", "[  PASSED  ]", "[  SKIPPED ]", "[  ERROR   ]", "[==========]",
        "[----------]", "Test project ", "Test command:", "Total Test time", "-- ",
        "TAP version", "# Subtest:", "Checking ", "#", NULL};
    size_t i = skip_ws(s, n, 0);
    const char *t = s + i;
    size_t m = n - i;
    if (m == 0)
        return 0;
    if (tap_result(s, n))
        return 1;
    for (const char *const *p = prefixes; *p; p++)
        if (starts(t, m, *p)) {
            if ((*p)[0] == '#' && !(*p)[1]) /* buildkit "#5 [2/4] RUN ...", not a comment */
                return m > 2 && hr_is_digit((unsigned char)t[1]);
            if ((*p)[0] == '-' && (*p)[1] == '-' && (*p)[2] == ' ') /* cmake "-- Configuring" */
                return m > 3 && hr_is_upper((unsigned char)t[3]);
            return 1;
        }
    if (starts(t, m, "at ") && i > 0)
        return 1; /* JS / Java frame */
    if (t[0] == '[' && m > 4 && (hr_is_digit((unsigned char)t[1]) || t[1] == ' ')) {
        size_t j = 1;
        while (j < m && (hr_is_digit((unsigned char)t[j]) || t[j] == ' '))
            j++;
        if (j < m && (t[j] == '/' || t[j] == '%'))
            return 1; /* ninja [3/20], make/cmake [ 50%] */
    }
    if (starts(t, m, "===") || starts(t, m, "___"))
        return m > 6 && contains(t, m, " ");
    if (contains(s, n, "::") &&
        (contains(s, n, "PASSED") || contains(s, n, "FAILED") || contains(s, n, "SKIPPED")))
        return 1; /* pytest -v */
    if (contains(s, n, ": error:") || contains(s, n, ": warning:") || contains(s, n, ": note:"))
        return 1; /* gcc/clang diagnostics */
    if (starts(t, m, "test ") && (contains(t, m, " ... ok") || contains(t, m, " ... FAILED") ||
                                  contains(t, m, " ... ignored")))
        return 1; /* cargo test */
    return 0;
}

/* ctest -V / make -j prefix every line of a job with "<job>: "; look past it. */
static const char *skip_job_prefix(const char *s, size_t *n)
{
    size_t i = 0;
    while (i < *n && i < 6 && hr_is_digit((unsigned char)s[i]))
        i++;
    if (i > 0 && i + 1 < *n && s[i] == ':' && s[i + 1] == ' ') {
        *n -= i + 2;
        return s + i + 2;
    }
    return s;
}

int hr_log_line_signature(const char *s, size_t n)
{
    if (n > SCAN_PREFIX)
        n = SCAN_PREFIX;
    s = skip_job_prefix(s, &n);
    if (n == 0)
        return 0;
    return valgrind_prefix(s, n) > 0 || leading_timestamp(s, n) || runner_shape(s, n) || level_token(s, n) ||
           hr_log_is_summary(s, n);
}

/* "<digits> <word>" where word is a result word: "5 passed", "12 tests", "3 total". */
static int count_phrase(const char *s, size_t n)
{
    static const char *const words[] = {"passed", "failed", "skipped", "error", "warning",
                                        "tests", "test ", "test(s)", "total", "deselected", "xfailed",
                                        "xpassed", "suites", "succeeded", "pending", "todo",
                                        NULL};
    for (size_t i = 0; i < n; i++) {
        unsigned char p = i ? (unsigned char)s[i - 1] : ' ';
        if (!hr_is_digit((unsigned char)s[i]) || hr_is_alpha(p) || hr_is_digit(p) || p == '_' || p == '.')
            continue;
        size_t j = i;
        while (j < n && hr_is_digit((unsigned char)s[j]))
            j++;
        if (j < n && s[j] == ' ') { /* result words are lowercase: "2 failed", not "0 PASSED" */
            for (const char *const *w = words; *w; w++) {
                if (j + 1 >= n || (*w)[0] != s[j + 1])
                    continue;
                size_t k = strlen(*w);
                if (n - (j + 1) >= k && memcmp(s + j + 1, *w, k) == 0)
                    return 1;
            }
        }
        i = j;
    }
    return 0;
}

int hr_log_is_summary(const char *s, size_t n)
{
    size_t i = skip_ws(s, n, 0);
    const char *t = s + i;
    size_t m = n - i;
    static const char *const prefixes[] = {
        "test result:", "Tests:", "Test Suites:", "Ran ", "OK (", "FAILED (", "ok  \t",
        "FAIL\t", "make: ***", "BUILD SUCCESSFUL", "BUILD FAILED", "Build succeeded",
        "Build FAILED", "npm ERR! code", "error: could not compile", "Finished ",
        NULL};
    for (const char *const *p = prefixes; *p; p++)
        if (starts(t, m, *p))
            return 1;
    if ((m == 4 && memcmp(t, "PASS", 4) == 0) || (m == 4 && memcmp(t, "FAIL", 4) == 0) ||
        (m == 2 && memcmp(t, "OK", 2) == 0))
        return 1;
    if (contains(t, m, "short test summary info"))
        return 1;
    return count_phrase(t, m);
}

/* ---- format detection ------------------------------------------------------------- */

typedef struct format_sig {
    const char *name;
    const char *const *needles; /* substrings that vote for the format */
} format_sig;

static const char *const PYTEST[] = {"test session starts", "short test summary info", "::test_",
                                     "E   ", "collected ", NULL};
static const char *const JEST[] = {"Test Suites:", "PASS ", "FAIL ", "\xe2\x97\x8f ", ".test.js",
                                   ".test.ts", NULL};
static const char *const CARGO[] = {"Compiling ", "test result:", "error[E", "--> src/",
                                    "running ", "cargo ", NULL};
static const char *const GOTEST[] = {"=== RUN", "--- FAIL:", "--- PASS:", "ok  \t", "FAIL\t",
                                     "_test.go:", NULL};
static const char *const NPM[] = {"npm ERR!", "npm WARN", "npm notice", "node_modules", NULL};
static const char *const MAKE[] = {"make[", "make: ", ": error:", ": warning:", "gcc ", "cc -",
                                   "In file included", NULL};
static const format_sig FORMATS[] = {{"pytest", PYTEST}, {"jest", JEST},     {"cargo", CARGO},
                                     {"go test", GOTEST}, {"npm", NPM},       {"make/gcc", MAKE}};

const char *hr_log_format_name(const char *in, size_t len)
{
    enum { NFMT = sizeof FORMATS / sizeof FORMATS[0] };
    size_t votes[NFMT] = {0};
    size_t scanned = 0;
    for (const char *p = in, *e = in + len; p < e && scanned < 4000; scanned++) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = (size_t)((nl ? nl : e) - p);
        if (n > SCAN_PREFIX)
            n = SCAN_PREFIX;
        for (size_t f = 0; f < NFMT; f++)
            for (const char *const *k = FORMATS[f].needles; *k; k++)
                if (contains(p, n, *k)) {
                    votes[f]++;
                    break;
                }
        p = nl ? nl + 1 : e;
    }
    size_t best = NFMT;
    for (size_t f = 0; f < NFMT; f++)
        if (votes[f] >= 2 && (best == NFMT || votes[f] > votes[best]))
            best = f;
    return best == NFMT ? "generic" : FORMATS[best].name;
}

/* ---- selection -------------------------------------------------------------------- */

/* Warning identity: numbers, hex ids and path-like tokens do not make a warning new. */
static uint64_t warning_key(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n;) {
        if (s[i] == ' ' || s[i] == '\t') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && s[j] != ' ' && s[j] != '\t')
            j++;
        int pathy = memchr(s + i, '/', j - i) != NULL || memchr(s + i, '\\', j - i) != NULL;
        size_t letters = 0;
        uint64_t tok = pathy ? 0x9e3779b97f4a7c15ULL : hr_line_shape_hash(s + i, j - i, &letters);
        h = (h ^ tok) * 1099511628211ULL;
        i = j;
    }
    return h;
}

static int is_frame_line(const char *s, size_t n)
{
    size_t i = skip_ws(s, n, 0);
    return (i > 0 && i < n) || starts(s, n, "Caused by") || starts(s, n, "... ");
}

/* End (exclusive) of the context kept after error line i: ERROR_CONTEXT lines, or a
 * memcheck record to its blank "==PID==" line, or a TAP failure's YAML block to its "..."
 * (at most TRACE_LINES): the frames in the program's code, where the block was alloc'd or
 * free'd, a test's location, error and stack say where the bug is. */
static size_t error_context_end(const char *in, const hr_lines *l, size_t i)
{
    size_t end = i + ERROR_CONTEXT + 1;
    int memcheck = memcheck_error(in + l->start[i], hr_line_len(in, l, i));
    if (!memcheck && tap_result(in + l->start[i], hr_line_len(in, l, i)) != 2)
        return end;
    size_t cap = l->n - i < TRACE_LINES ? l->n : i + TRACE_LINES, k = i + 1;
    for (; k < cap; k++) {
        const char *t = in + l->start[k];
        size_t m = hr_line_len(in, l, k), p = memcheck ? valgrind_prefix(t, m) : skip_ws(t, m, 0);
        if (memcheck ? !p || hr_line_is_blank(t + p, m - p) : starts(t + p, m - p, "...")) {
            k += !memcheck; /* the YAML block's closing "..." stays with it */
            break;
        }
    }
    return k > end ? k : end;
}

/* End (exclusive, at most TRACE_LINES after i) of a stack trace starting at line i, or i
 * if no trace starts there. */
static size_t trace_end(const char *in, const hr_lines *l, size_t i)
{
    const char *s = in + l->start[i];
    size_t n = hr_line_len(in, l, i), end = i;
    size_t cap = l->n - i < TRACE_LINES ? l->n : i + TRACE_LINES;
    if (contains(s, n, "Traceback (most recent call last)") || starts(s, n, "stack backtrace:")) {
        end = i + 1;
        while (end < cap && is_frame_line(in + l->start[end], hr_line_len(in, l, end)))
            end++;
        if (end < cap && s[0] == 'T' && !hr_line_is_blank(in + l->start[end],
                                                          hr_line_len(in, l, end)))
            end++; /* python's final "ValueError: ..." line */
    } else if (starts(s, n, "goroutine ") || starts(s, n, "panic: ")) {
        end = i + 1;
        if (end < cap && starts(s, n, "panic: ") && hr_line_is_blank(in + l->start[end],
                                                                     hr_line_len(in, l, end)))
            end++;
        while (end < cap && !hr_line_is_blank(in + l->start[end], hr_line_len(in, l, end)))
            end++;
    } else if (i + 1 < l->n && !is_frame_line(s, n)) {
        const char *t = in + l->start[i + 1];
        size_t m = hr_line_len(in, l, i + 1), k = skip_ws(t, m, 0);
        if (k > 0 && starts(t + k, m - k, "at ")) { /* JS / Java: message, then frames */
            end = i + 1;
            while (end < cap && is_frame_line(in + l->start[end], hr_line_len(in, l, end)))
                end++;
        }
    }
    return end;
}

typedef struct log_scan {
    unsigned char *keep;
    unsigned char *level;
} log_scan;

static void keep_range(unsigned char *keep, size_t n, size_t a, size_t b)
{
    for (size_t k = a; k < b && k < n; k++)
        keep[k] = 1;
}

static void select_lines(const char *in, const hr_lines *l, log_scan *sc)
{
    size_t n = l->n, traces = 0, nwarn = 0, errors = 0, seen = 0;
    uint64_t warn_keys[MAX_WARNINGS];
    keep_range(sc->keep, n, 0, HEAD_LINES);
    keep_range(sc->keep, n, n > TAIL_LINES ? n - TAIL_LINES : 0, n);
    for (size_t i = 0; i < n; i++) {
        sc->level[i] = (unsigned char)hr_log_level_of(in + l->start[i], hr_line_len(in, l, i));
        errors += sc->level[i] == HR_LOG_LEVEL_ERROR;
    }
    /* Every error line stays; its context only while errors are rare (sys/relevance's
     * rule) or for the first few: a -Werror build where every third line is an error
     * keeps the errors, not three times as many lines around them. */
    int rare = hr_rel_is_rare(errors, n);
    for (size_t i = 0; i < n; i++) {
        const char *s = in + l->start[i];
        size_t len = hr_line_len(in, l, i);
        if (sc->level[i] == HR_LOG_LEVEL_ERROR && (rare || seen++ < ERRORS_WITH_CONTEXT))
            keep_range(sc->keep, n, i >= ERROR_CONTEXT ? i - ERROR_CONTEXT : 0,
                       error_context_end(in, l, i));
        else if (sc->level[i] == HR_LOG_LEVEL_ERROR)
            sc->keep[i] = 1;
        if (hr_log_is_summary(s, len))
            sc->keep[i] = 1;
        if (sc->level[i] == HR_LOG_LEVEL_WARN) {
            uint64_t k = warning_key(s, len);
            size_t w = 0;
            while (w < nwarn && warn_keys[w] != k)
                w++;
            if (w == nwarn && nwarn < MAX_WARNINGS) {
                warn_keys[nwarn++] = k;
                sc->keep[i] = 1;
            }
        }
        if (traces < MAX_TRACES) {
            size_t e = trace_end(in, l, i);
            if (e > i) {
                keep_range(sc->keep, n, i, e);
                traces++;
            }
        }
    }
}

static int write_kept(const char *in, const hr_lines *l, const log_scan *sc, hr_buf *out,
                      size_t counts[3], size_t *kept)
{
    for (size_t i = 0; i < l->n;) {
        if (sc->keep[i]) {
            if (hr_lines_append(out, in, l, i) != 0)
                return -1;
            (*kept)++;
            i++;
            continue;
        }
        size_t j = i;
        while (j < l->n && !sc->keep[j])
            j++;
        int cut = hr_lines_cut(out, in, l, i, j, "lines");
        if (cut < 0)
            return -1;
        if (cut == 1) /* a note would cost more than the lines: they stand as kept */
            *kept += j - i;
        else
            while (i < j)
                counts[sc->level[i++]]++;
        i = j;
    }
    return 0;
}

int hr_compress_logs(const char *in, size_t len, const hr_compress_opts *opts,
                     hr_compress_result *res)
{
    hr_compress_opts o;
    if (!hr_compress_begin(HR_COMPRESSOR_LOGS, in, len, opts, &o, res))
        return 0;
    hr_lines l;
    if (hr_lines_split(in, len, &l) != 0)
        return -1;
    if (l.n < o.log_min_lines) {
        hr_lines_free(&l);
        return 0;
    }
    log_scan sc = {calloc(l.n, 1), calloc(l.n, 1)};
    int rc = -1;
    if (sc.keep && sc.level && hr_rows_mark(in, len, opts, sc.keep) == 0) {
        select_lines(in, &l, &sc);
        size_t counts[3] = {0, 0, 0}, kept = 0;
        rc = write_kept(in, &l, &sc, &res->out, counts, &kept);
        size_t omitted = l.n - kept;
        if (rc == 0 && omitted > 0) {
            rc = hr_buf_printf(&res->out, "Omitted %zu lines (%s log): %zu error, %zu warn, %zu other. ",
                               omitted, hr_log_format_name(in, len), counts[HR_LOG_LEVEL_ERROR],
                               counts[HR_LOG_LEVEL_WARN], counts[HR_LOG_LEVEL_OTHER]);
            if (rc == 0)
                rc = hr_compress_finish(in, len, res, l.n, kept);
        } else {
            hr_buf_free(&res->out);
        }
    }
    free(sc.keep);
    free(sc.level);
    hr_lines_free(&l);
    return hr_compress_end(res, rc);
}
