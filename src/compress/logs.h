/* logs.h: the build/test log compressor and the line recognisers detection shares.
 *
 * Logs of at least opts->log_min_lines lines (default 50) keep: every error/failure line
 * with 3 lines of context each side, up to 3 stack traces of up to 20 lines, the first
 * occurrence of up to 5 distinct warnings (numbers, paths and hex ids normalised for the
 * comparison), every summary line ("5 passed, 2 failed", "test result:", "make: ***"),
 * and the head and tail. Omitted stretches become "[N lines omitted]"; the last line says
 * how many lines of each level were omitted and ends with the marker (unit "lines").
 * Recognised formats: pytest, jest, cargo, go test, npm, make/gcc, generic timestamped,
 * valgrind ("==PID==" lines; a memcheck error record is an error line kept whole), TAP
 * (node --test: a "not ok" line is an error line kept with its YAML block).
 * Contract: compress/compressor.h.
 */
#ifndef HR_COMPRESS_LOGS_H
#define HR_COMPRESS_LOGS_H

#include "compress/compressor.h"

#include <stddef.h>

typedef enum {
    HR_LOG_LEVEL_OTHER = 0,
    HR_LOG_LEVEL_WARN,
    HR_LOG_LEVEL_ERROR,
} hr_log_line_level;

/* 1 if the line holds an error word (error, exception, fail..., fatal, panic, crash,
 * abort, timeout, denied, rejected, critical, ✕) as a word or CamelCase part, not
 * preceded by "0 " or "no " ("0 failed" is good news). */
int hr_log_has_error_word(const char *s, size_t n);
int hr_log_has_warn_word(const char *s, size_t n);
hr_log_line_level hr_log_level_of(const char *s, size_t n);

/* 1 if the line carries a log signature: a leading timestamp, a level token, or a line
 * shape of a known test runner / build tool. Detection votes with it. */
int hr_log_line_signature(const char *s, size_t n);

/* 1 for a result summary line ("5 passed, 2 failed in 1.2s", "test result: ok.",
 * "Tests: 1 failed, 3 total", "make: *** [all] Error 2", "ok  \tpkg\t0.1s"). */
int hr_log_is_summary(const char *s, size_t n);

/* Name of the tool that wrote the log: "pytest", "jest", "cargo", "go test", "npm",
 * "make/gcc" or "generic" (static string). */
const char *hr_log_format_name(const char *in, size_t len);

/* Compressor contract (compressor.h). */
int hr_compress_logs(const char *in, size_t len, const hr_compress_opts *opts,
                     hr_compress_result *res);

#endif
