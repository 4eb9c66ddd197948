/* config_compat.h: the Python original's `headroom proxy` flags and HEADROOM_* variables,
 * read as aliases of ours so its users' command lines, service files and shells keep
 * working (issue 15).
 *
 * One row per original name (config_compat.c): the flag, its short or paired form, its
 * variable, and what it becomes here: our own flag of the same name (same), another of our
 * flags (mapped, optionally with a fixed value), or nothing (accepted; one warning at start
 * names every such flag and variable; never a failed start). A variable that one of our
 * setting rows (sys/settings.h: proxy, pipeline, CCR store) reads under the same name is left
 * to that row; the others become flags. docs/configuration.md embeds
 * the table hr_proxy_compat_table prints, and a test checks the two agree.
 *
 * hr_proxy_compat_args rewrites argv before hr_proxy_config_from_args sees it:
 *   argv[0], flags derived from the original's variables (so an explicit flag still wins,
 *   as our variables lose to flags), then the user's flags with the original's names
 *   replaced by ours. Flags we do not know at all are left for our parser to reject.
 * Ownership: the result owns its argv strings; free with hr_proxy_compat_free.
 */
#ifndef HR_PROXY_CONFIG_COMPAT_H
#define HR_PROXY_CONFIG_COMPAT_H

#include <stdio.h>

typedef struct hr_compat_args {
    int argc;
    char **argv;    /* NULL-terminated */
    char *ignored;  /* "--budget, HEADROOM_RPM, ..." accepted without effect, or NULL */
} hr_compat_args;

/* 0 ok, -1 out of memory or an original value flag without its value (err filled). */
int hr_proxy_compat_args(int argc, char **argv, hr_compat_args *out, char *err, size_t errlen);
void hr_proxy_compat_free(hr_compat_args *a);

/* 0 when every original name that maps to one of our flags names a flag of a setting row
 * (hr_proxy_setting_named); -1 naming the first that does not (a renamed row). */
int hr_proxy_compat_check(char *err, size_t errlen);

/* The markdown table for docs/configuration.md: original name | ours | status. */
void hr_proxy_compat_table(FILE *out);

#endif
