/* log.c: see log.h. State: the configured level and format (set once at start-up). */
#include "sys/log.h"

#include "sys/buf.h"
#include "sys/jsonesc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static hr_log_level g_min_level = HR_LOG_INFO;
static hr_log_format g_format = HR_LOG_TEXT;

static const char *level_name(hr_log_level l)
{
    switch (l) {
    case HR_LOG_DEBUG: return "debug";
    case HR_LOG_INFO: return "info";
    case HR_LOG_WARN: return "warn";
    default: return "error";
    }
}

void hr_log_configure(hr_log_level min_level, hr_log_format format)
{
    g_min_level = min_level;
    g_format = format;
}

int hr_log_level_parse(const char *s, hr_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0) {
            *out = (hr_log_level)i;
            return 0;
        }
    if (strcasecmp(s, "warning") == 0) {
        *out = HR_LOG_WARN;
        return 0;
    }
    return -1;
}

int hr_log_format_parse(const char *s, hr_log_format *out)
{
    if (strcasecmp(s, "text") == 0)
        *out = HR_LOG_TEXT;
    else if (strcasecmp(s, "json") == 0)
        *out = HR_LOG_JSON;
    else
        return -1;
    return 0;
}

int hr_log_enabled(hr_log_level level) { return level >= g_min_level; }

/* Characters that end a URL's authority (RFC 3986) or the URL inside free text. */
static int ends_authority(char c)
{
    return !c || strchr("/?#\"' \t\r\n<>", c) != NULL;
}

int hr_log_redact(const char *s, hr_buf *out)
{
    int rc = 0;
    for (;;) {
        const char *scheme_end = strstr(s, "://");
        if (!scheme_end)
            break;
        const char *auth = scheme_end + 3, *at = NULL;
        for (const char *p = auth; !ends_authority(*p); p++)
            if (*p == '@')
                at = p;
        rc |= hr_buf_append(out, s, (size_t)(auth - s));
        if (at) {
            rc |= hr_buf_puts(out, "***");
            s = at;
        } else {
            s = auth;
        }
    }
    rc |= hr_buf_puts(out, s);
    return rc ? -1 : 0;
}

/* s (NULL = "") with URL credentials masked, in tmp; a placeholder if that fails (out of
 * memory must not print what it was meant to hide). */
static const char *redacted(const char *s, hr_buf *tmp)
{
    if (!s)
        return "";
    if (!strstr(s, "://"))
        return s;
    hr_buf_reset(tmp);
    return hr_log_redact(s, tmp) == 0 && tmp->data ? tmp->data : "[redacted]";
}

static void put_json_string(hr_buf *b, const char *s) { hr_json_escape(b, s, strlen(s)); }

/* Text values with spaces or quotes are quoted so a line stays machine-splittable. */
static void put_text_value(hr_buf *b, const char *s)
{
    if (*s && !strpbrk(s, " \"=\t\n")) {
        hr_buf_puts(b, s);
        return;
    }
    put_json_string(b, s);
}

static void timestamp(char *out, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void emit(hr_log_level level, const char *msg, va_list fields)
{
    char ts[40];
    timestamp(ts, sizeof ts);
    hr_buf b = HR_BUF_INIT, v = HR_BUF_INIT;
    if (g_format == HR_LOG_JSON) {
        hr_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_name(level));
        put_json_string(&b, redacted(msg, &v));
        for (const char *k; (k = va_arg(fields, const char *));) {
            const char *val = redacted(va_arg(fields, const char *), &v);
            hr_buf_putc(&b, ',');
            put_json_string(&b, k);
            hr_buf_putc(&b, ':');
            put_json_string(&b, val);
        }
        hr_buf_puts(&b, "}\n");
    } else {
        hr_buf_printf(&b, "%s %-5s %s", ts, level_name(level), redacted(msg, &v));
        for (const char *k; (k = va_arg(fields, const char *));) {
            const char *val = redacted(va_arg(fields, const char *), &v);
            hr_buf_printf(&b, " %s=", k);
            put_text_value(&b, val);
        }
        hr_buf_putc(&b, '\n');
    }
    if (!hr_buf_failed(&b)) {
        ssize_t w = write(STDERR_FILENO, b.data, b.len);
        (void)w;
    }
    hr_buf_free(&b);
    hr_buf_free(&v);
}

void hr_log_fields(hr_log_level level, const char *msg, ...)
{
    if (!hr_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, msg);
    emit(level, msg, ap);
    va_end(ap);
}

static void emit_no_fields(hr_log_level level, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    emit(level, msg, ap);
    va_end(ap);
}

void hr_logf(hr_log_level level, const char *fmt, ...)
{
    if (!hr_log_enabled(level))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit_no_fields(level, msg, (const char *)NULL);
}
