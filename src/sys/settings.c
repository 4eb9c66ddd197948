/* settings.c: the machinery behind setting rows (see settings.h): one parser per type, shared
 * by defaults, environment, flags and per-request overrides; the numbers and booleans
 * themselves are sys/parse.h's. */
#include "sys/settings.h"

#include "sys/buf.h"
#include "sys/log.h"
#include "sys/parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Integer fields are 4 bytes (int, unsigned) or 8 (long, size_t); bounds are non-negative
 * in every table, so one bit pattern serves the signed and the unsigned kind. */
static int store_int(void *field, size_t size, long v)
{
    if (size == sizeof(int32_t)) {
        int32_t x = (int32_t)v;
        memcpy(field, &x, sizeof x);
    } else if (size == sizeof(int64_t)) {
        int64_t x = (int64_t)v;
        memcpy(field, &x, sizeof x);
    } else {
        return -1;
    }
    return 0;
}

static int parse_seconds_ms(const char *s, long long max_s, long *out)
{
    double v;
    if (hr_parse_double(s, &v) != 0 || !(v > 0 && v <= (double)max_s))
        return -1;
    *out = (long)(v * 1000.0 + 0.5);
    return 0;
}

static void bounds(const hr_setting_row *r, long long *lo, long long *hi)
{
    *lo = r->min;
    *hi = r->max;
    if (r->bounds)
        r->bounds(lo, hi);
}

static int parse_value(const hr_setting_row *r, void *field, const char *v, char *err,
                       size_t errlen)
{
    long n;
    long long lo, hi;
    switch (r->type) {
    case HR_SETTING_STRING:
        if (strlen(v) >= r->size || (long long)strlen(v) < r->min)
            return -1;
        memcpy(field, v, strlen(v) + 1);
        return 0;
    case HR_SETTING_BORROW:
        *(const char **)field = v;
        return 0;
    case HR_SETTING_INT:
        bounds(r, &lo, &hi);
        if (hr_parse_long(v, (long)lo, (long)hi, &n) != 0)
            return -1;
        return store_int(field, r->size, n);
    case HR_SETTING_SECONDS_MS:
        return parse_seconds_ms(v, r->max, (long *)field);
    case HR_SETTING_SWITCH:
    case HR_SETTING_ONOFF:
        return hr_parse_bool(v, (int *)field);
    case HR_SETTING_CUSTOM:
        return r->parse(v, field, r->size, err, errlen);
    }
    return -1;
}

int hr_setting_set(const hr_setting_row *r, void *base, const char *v, const char *source,
                   char *err, size_t errlen)
{
    if (errlen)
        err[0] = 0;
    if (parse_value(r, (char *)base + r->offset, v, err, errlen) == 0)
        return 0;
    if (errlen && err[0])
        return -1; /* the row's parser said why */
    /* the value may be a URL with credentials: shown masked, like everywhere */
    hr_buf shown = HR_BUF_INIT;
    int masked = hr_log_redact(v, &shown) == 0 && shown.data;
    snprintf(err, errlen, "invalid value '%s' for %s", masked ? shown.data : "(not shown)",
             source);
    hr_buf_free(&shown);
    return -1;
}

int hr_settings_defaults(const hr_setting_table *t, void *base, char *err, size_t errlen)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->rows[i].dflt &&
            hr_setting_set(&t->rows[i], base, t->rows[i].dflt, t->rows[i].env, err, errlen) != 0)
            return -1;
    return 0;
}

void hr_settings_init(const hr_setting_table *t, void *base, size_t size)
{
    char err[256];
    memset(base, 0, size);
    if (hr_settings_defaults(t, base, err, sizeof err) != 0) {
        fprintf(stderr, "headroom: bad default in a setting row: %s\n", err);
        abort();
    }
}

int hr_settings_from_env(const hr_setting_table *t, void *base, char *err, size_t errlen)
{
    for (size_t i = 0; i < t->n; i++) {
        const char *v = getenv(t->rows[i].env);
        if (v && *v && hr_setting_set(&t->rows[i], base, v, t->rows[i].env, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* The row whose flag arg is ("--flag" or "--flag=..."); *value set after the '='. */
static const hr_setting_row *match_flag(const hr_setting_table *t, const char *arg, const char **value)
{
    for (size_t k = 0; k < t->n; k++) {
        const char *flag = t->rows[k].flag;
        size_t fl = flag ? strlen(flag) : 0;
        if (!fl || strncmp(arg, flag, fl) != 0)
            continue;
        if (arg[fl] == '=') {
            *value = arg + fl + 1;
            return &t->rows[k];
        }
        if (arg[fl] == 0) {
            *value = NULL;
            return &t->rows[k];
        }
    }
    return NULL;
}

/* The value of flag at argv[*i] (inline after '=', else the next argument) into r. */
static int take_value(const hr_setting_row *r, const char *flag, const char *value, void *base,
                      int argc, char **argv, int *i, char *err, size_t errlen)
{
    if (!value && r->type == HR_SETTING_SWITCH) {
        value = "true";
    } else if (!value) {
        if (*i + 1 >= argc) {
            snprintf(err, errlen, "%s needs a value", flag);
            return -1;
        }
        value = argv[++*i];
    }
    return hr_setting_set(r, base, value, flag, err, errlen) == 0 ? 1 : -1;
}

int hr_settings_arg(const hr_setting_table *t, void *base, int argc, char **argv, int *i,
                    char *err, size_t errlen)
{
    const char *value;
    const hr_setting_row *r = match_flag(t, argv[*i], &value);
    if (!r)
        return 0;
    return take_value(r, r->flag, value, base, argc, argv, i, err, errlen);
}

int hr_settings_alias(const hr_setting_table *t, const char *name, const char *flag, void *base,
                      int argc, char **argv, int *i, char *err, size_t errlen)
{
    size_t fl = strlen(flag);
    const char *a = argv[*i];
    if (strncmp(a, flag, fl) != 0 || (a[fl] != 0 && a[fl] != '='))
        return 0;
    const hr_setting_row *r = hr_settings_find(t, name);
    if (!r) {
        snprintf(err, errlen, "%s: no setting %s", flag, name);
        return -1;
    }
    return take_value(r, flag, a[fl] ? a + fl + 1 : NULL, base, argc, argv, i, err, errlen);
}

const hr_setting_row *hr_settings_find(const hr_setting_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->rows[i].name, name))
            return &t->rows[i];
    return NULL;
}

void hr_setting_range(const hr_setting_row *r, char *out, size_t outlen)
{
    if (r->range)
        snprintf(out, outlen, "%s", r->range);
    else if (r->type == HR_SETTING_INT) {
        long long lo, hi;
        bounds(r, &lo, &hi);
        snprintf(out, outlen, "%lld..%lld", lo, hi);
    }
    else if (r->type == HR_SETTING_SWITCH || r->type == HR_SETTING_ONOFF)
        snprintf(out, outlen, "on or off");
    else
        snprintf(out, outlen, "valid");
}

void hr_settings_usage(const hr_setting_table *t, FILE *out)
{
    for (size_t i = 0; i < t->n; i++) {
        const hr_setting_row *r = &t->rows[i];
        if (r->flag)
            fprintf(out, "  %-30s %-36s\n      %s\n", r->flag, r->env, r->help);
        else
            fprintf(out, "  %s\n      %s\n", r->env, r->help);
    }
}
