/* datadir.c: see datadir.h. */
#include "sys/datadir.h"

#include "sys/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The data dir holds user content: it must be ours and private. An existing dir someone
 * else owns is refused (they could read or swap our files); one of ours that others can
 * enter (made 0755 by hand or an older version) is tightened to 0700, as ssh does for
 * ~/.ssh. Parents are left alone (/tmp is meant to be shared). */
int hr_data_dir_secure(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "data dir %s is not a directory", dir);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen, "data dir %s belongs to uid %u, not to this user (uid %u): "
                 "refusing to keep data there; pass --data-dir with a directory of yours",
                 dir, (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if ((st.st_mode & 077) == 0)
        return 0;
    if ((st.st_mode & (S_ISVTX | S_IWOTH)) != 0) { /* /tmp and its like: never chmod those */
        snprintf(err, errlen, "data dir %s is a shared directory (mode %04o): refusing to keep "
                 "data there; pass --data-dir with a directory of its own", dir,
                 (unsigned)(st.st_mode & 07777));
        return -1;
    }
    if (chmod(dir, 0700) != 0) {
        snprintf(err, errlen, "data dir %s is open to other users (mode %03o) and cannot be "
                 "made private: %s", dir, (unsigned)(st.st_mode & 0777), strerror(errno));
        return -1;
    }
    char mode[8];
    snprintf(mode, sizeof mode, "%03o", (unsigned)(st.st_mode & 0777));
    hr_log_fields(HR_LOG_WARN, "data dir made private", "dir", dir, "was", mode, "now", "700",
                  (const char *)NULL);
    return 0;
}
