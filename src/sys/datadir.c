/* datadir.c: see datadir.h. */
#include "sys/datadir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int hr_data_dir_resolve(const char *explicit_dir, char *out, size_t cap, char *err, size_t errlen)
{
    const char *env;
    int n;
    if (explicit_dir && *explicit_dir)
        n = snprintf(out, cap, "%s", explicit_dir);
    else if ((env = getenv("HEADROOM_DATA_DIR")) && *env)
        n = snprintf(out, cap, "%s", env);
    else if ((env = getenv("XDG_DATA_HOME")) && *env)
        n = snprintf(out, cap, "%s/headroom", env);
    else if ((env = getenv("HOME")) && *env)
        n = snprintf(out, cap, "%s/.headroom", env);
    else {
        snprintf(err, errlen, "no data dir: set --data-dir, HEADROOM_DATA_DIR or HOME");
        return -1;
    }
    if (n < 0 || (size_t)n >= cap) {
        snprintf(err, errlen, "data dir path too long");
        return -1;
    }
    return 0;
}

int hr_make_dirs(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        snprintf(err, errlen, "data dir path too long");
        return -1;
    }
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(path, 0700) != 0 && errno != EEXIST) {
                snprintf(err, errlen, "cannot create data dir %s: %s", path, strerror(errno));
                return -1;
            }
            *p = saved;
            if (!saved)
                break;
        }
    }
    return 0;
}
