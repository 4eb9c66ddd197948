/* settings.h: settings declared as rows (the way Redis's config.c declares each setting once).
 *
 * Why: a setting used to live in four places (a default in code, a getenv, a flag parser,
 * a line of --help) and each subsystem (proxy, pipeline, CCR store, CLI commands) had its
 * own copies of the parsers. A row says everything about one setting: its name, flag,
 * environment variable (every setting has one), type, bounds, default and help. Defaults,
 * the environment, the command line, --help, the docs tables (a test checks
 * docs/configuration.md against the rows) and the /v1/compress overrides all read the same
 * rows, so they cannot drift apart.
 *
 * A table is an array of rows over one struct (the row holds the field's offset and size);
 * a subsystem owns its table and its struct, this file owns only the machinery.
 * Precedence is the caller's order: defaults, then hr_settings_from_env, then hr_settings_arg
 * (later wins).
 */
#ifndef HR_SYS_SETTINGS_H
#define HR_SYS_SETTINGS_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    HR_SETTING_STRING,     /* char[size]; min = shortest length accepted (1: not empty) */
    HR_SETTING_BORROW,     /* const char *: points at the argv / environment string itself */
    HR_SETTING_INT,        /* integer in [min, max]; the field is 4 (int, unsigned) or 8
                              bytes (long, size_t) wide */
    HR_SETTING_SECONDS_MS, /* seconds, fractions allowed, in (0, max]; the field is long ms */
    HR_SETTING_SWITCH,     /* int 0/1; the flag alone means on; 1/true/yes/on, 0/false/no/off */
    HR_SETTING_ONOFF,      /* as SWITCH, but the flag always takes its value (--x on) */
    HR_SETTING_CUSTOM,     /* parsed by the row's parse function */
} hr_setting_type;

/* Row flags */
#define HR_SETTING_OVERRIDE 1u /* may be overridden per request (/v1/compress "config") */

/* A custom parser: 0 ok (field written), -1 refused. It may write its own message into err
 * (else the generic "invalid value" one is used). */
typedef int (*hr_setting_parse_fn)(const char *v, void *field, size_t size, char *err,
                                   size_t errlen);

typedef struct hr_setting_row {
    const char *name;   /* snake_case, unique: /v1/compress "config" keys, lookups */
    const char *flag;   /* "--port", or NULL for a setting read from its variable only */
    const char *env;    /* never NULL: no setting without an environment variable */
    hr_setting_type type;
    size_t offset;      /* of the field in the table's struct */
    size_t size;        /* of the field */
    long long min, max; /* bounds of INT (SECONDS_MS: max seconds; STRING: min length) */
    const char *dflt;   /* the default, as text parsed like a given value; NULL: zero */
    const char *help;   /* one line for --help; the docs table says more */
    hr_setting_parse_fn parse; /* HR_SETTING_CUSTOM */
    const char *range;  /* how bounds are said in errors when not min..max ("(0, 1]") */
    unsigned flags;     /* HR_SETTING_OVERRIDE */
    /* INT bounds owned elsewhere (a compressor's limit row): replaces min and max */
    void (*bounds)(long long *min, long long *max);
} hr_setting_row;

/* Rows are written with designated fields, through these macros over the table's struct T:
 * a plain row (any type but CUSTOM) and a row with its own parser. flags: HR_SETTING_*. */
#define HR_SETTING_FIELD(T, f) .offset = offsetof(T, f), .size = sizeof(((T *)0)->f)
#define HR_SETTING_ROW(T, name_, flag_, env_, type_, f, min_, max_, dflt_, help_, flags_)         \
    {.name = name_, .flag = flag_, .env = env_, .type = type_, HR_SETTING_FIELD(T, f),            \
     .min = min_, .max = max_, .dflt = dflt_, .help = help_, .flags = flags_}
#define HR_SETTING_CUSTOM(T, name_, flag_, env_, parse_, range_, f, dflt_, help_, flags_)         \
    {.name = name_, .flag = flag_, .env = env_, .type = HR_SETTING_CUSTOM,                        \
     HR_SETTING_FIELD(T, f), .dflt = dflt_, .help = help_, .parse = parse_, .range = range_,      \
     .flags = flags_}

typedef struct hr_setting_table {
    const hr_setting_row *rows;
    size_t n;
} hr_setting_table;

#define HR_SETTING_TABLE(rows) {(rows), sizeof(rows) / sizeof((rows)[0])}

/* Zeroes base (size bytes), then sets every row's default: the start of each subsystem's
 * *_default function. A default that does not parse is a bug in the table; it aborts
 * (the tests run every table's defaults). */
void hr_settings_init(const hr_setting_table *t, void *base, size_t size);

/* Sets every row's default into base. 0 ok, -1 (err filled) when a default does not parse:
 * a bug in the table, which the tests check for every table. */
int hr_settings_defaults(const hr_setting_table *t, void *base, char *err, size_t errlen);

/* Applies every row whose variable is set and not empty. 0 ok, -1 with err naming the
 * variable when a value is invalid. */
int hr_settings_from_env(const hr_setting_table *t, void *base, char *err, size_t errlen);

/* Consumes one option at argv[*i] (--flag VALUE, --flag=VALUE, or a SWITCH alone).
 * 1 consumed (*i on the last argument used), 0 not one of the table's, -1 error (err). */
int hr_settings_arg(const hr_setting_table *t, void *base, int argc, char **argv, int *i,
                    char *err, size_t errlen);

/* A command's own spelling of a shared setting (`headroom kompress --model` for
 * --kompress-model): when argv[*i] is flag (or flag=VALUE), the value goes through the row
 * named name. 1 consumed (*i on the last argument used), 0 not it, -1 error (err). */
int hr_settings_alias(const hr_setting_table *t, const char *name, const char *flag, void *base,
                      int argc, char **argv, int *i, char *err, size_t errlen);

/* Parses v into the row's field. source names the value in the error ("--port",
 * "HEADROOM_PORT", "config.max_items"). A refused value is shown with any URL credentials
 * masked. 0 ok, -1 error. */
int hr_setting_set(const hr_setting_row *r, void *base, const char *v, const char *source,
                   char *err, size_t errlen);

/* The row named name (snake_case), or NULL. */
const hr_setting_row *hr_settings_find(const hr_setting_table *t, const char *name);

/* The accepted values of a row, for messages: "1..100000", or the row's range text. */
void hr_setting_range(const hr_setting_row *r, char *out, size_t outlen);

/* One entry per row: "  FLAG  VARIABLE\n      help\n" ("  VARIABLE\n      help\n" for a
 * row without a flag). */
void hr_settings_usage(const hr_setting_table *t, FILE *out);

#endif
