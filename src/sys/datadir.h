/* datadir.h: where headroom keeps its files (the CCR store, persistent stats), one lookup
 * for every subsystem so they all agree: an explicit directory (--data-dir), else
 * $HEADROOM_DATA_DIR, else $XDG_DATA_HOME/headroom, else ~/.headroom. */
#ifndef HR_SYS_DATADIR_H
#define HR_SYS_DATADIR_H

#include <stddef.h>

/* Writes the data dir into out (cap bytes). explicit_dir may be NULL or "". 0 ok, -1 with
 * err filled (no HOME, or the path does not fit). */
int hr_data_dir_resolve(const char *explicit_dir, char *out, size_t cap, char *err, size_t errlen);

/* mkdir -p with mode 0700 (the data dir holds user content). 0 ok, -1 with err filled. */
int hr_make_dirs(const char *dir, char *err, size_t errlen);

/* The data dir holds user content: an existing dir another user owns is refused, a shared
 * one (sticky or world-writable, like /tmp) is refused, one of ours others can enter is
 * tightened to 0700 (logged). 0 ok, -1 with err filled. */
int hr_data_dir_secure(const char *dir, char *err, size_t errlen);

#endif
