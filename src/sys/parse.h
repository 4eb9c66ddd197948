/* parse.h: number and boolean parsing for settings, arguments and environment variables.
 *
 * Every parser takes the whole string (no trailing bytes, not empty), decimal only, and
 * refuses out-of-range values instead of clamping or wrapping, so a typo in a setting is an
 * error the caller reports, never a silently different number. Leading white space is
 * accepted (as strtol does); unsigned parsers refuse any minus sign (strtoull would wrap
 * "-1" to the largest value). 0 ok (*out set), -1 refused (*out untouched).
 */
#ifndef HR_SYS_PARSE_H
#define HR_SYS_PARSE_H

#include <stdint.h>

int hr_parse_long(const char *s, long min, long max, long *out);
int hr_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* Finite values only (no nan, inf); the range is the caller's. */
int hr_parse_double(const char *s, double *out);
/* 1/true/yes/on and 0/false/no/off, any case. */
int hr_parse_bool(const char *s, int *out);

/* getenv(name) parsed with hr_parse_long: 1 set and valid (*out set), 0 unset or empty,
 * -1 set but invalid (the caller says so or falls back). */
int hr_env_long(const char *name, long min, long max, long *out);

#endif
