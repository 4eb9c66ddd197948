/* log.h: the process-wide logger (a documented singleton).
 *
 * One line per event on stderr, as text or JSON (--log-format). Callers pass structured
 * key/value fields; the logger owns escaping so no caller can emit a broken JSON line.
 * Credentials never reach here: callers log ids, routes and sizes, never headers or bodies
 * (bodies only behind --log-messages, decided by the caller); and as a second line of
 * defence every value has the user:password part of any URL masked (hr_log_redact). Thread-safe: each line is
 * built in a local buffer and written with one write(2).
 */
#ifndef HR_SYS_LOG_H
#define HR_SYS_LOG_H

#include "sys/buf.h"

typedef enum { HR_LOG_DEBUG = 0, HR_LOG_INFO, HR_LOG_WARN, HR_LOG_ERROR } hr_log_level;
typedef enum { HR_LOG_TEXT = 0, HR_LOG_JSON } hr_log_format;

void hr_log_configure(hr_log_level min_level, hr_log_format format);
int hr_log_level_parse(const char *s, hr_log_level *out);   /* 0 ok, -1 unknown */
int hr_log_format_parse(const char *s, hr_log_format *out); /* 0 ok, -1 unknown */
int hr_log_enabled(hr_log_level level);

/* Fields: alternating key, value C strings terminated by a NULL key. Values are logged
 * as strings; keys should be simple identifiers. */
void hr_log_fields(hr_log_level level, const char *msg, ...);

/* Copies s to out with the credentials of every URL in it masked: "http://user:pw@host/x"
 * becomes "http://(3 stars)@host/x". The logger applies it to every value it writes; anything
 * else that shows a configured URL (/health) uses it too. 0 ok, -1 out of memory. */
int hr_log_redact(const char *s, hr_buf *out);

/* printf-style message without fields. */
void hr_logf(hr_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
