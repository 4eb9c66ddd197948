/* stats_store.h: savings counters that survive restarts. Per hour, model, provider,
 * compressor set and tenant (the 16-hex hash of the credential, never the credential) it
 * counts requests, tokens before/after compression, provider usage (input, output,
 * prompt-cache read and creation), headroom_retrieve calls answered, fail-opens and cache
 * busts we caused.
 *
 * Two layers: requests add to an in-memory table (a mutex and an array; no I/O), and the
 * housekeeping point (today proxy.c's once-a-second idle loop; issue 12's tick will own
 * it) calls hr_stats_store_flush, which upserts the pending rows into
 * <data_dir>/stats.sqlite3 in one transaction (WAL, synchronous=NORMAL: a committed flush
 * survives kill -9, so at most one flush period is lost) and deletes rows older than the
 * retention. Readers get the union of what is stored and what is pending.
 *
 * A documented singleton (one per process, like the metrics). Fails open: when the data
 * dir cannot be used the counters still work in memory and /stats says "persistent": false.
 */
#ifndef HR_PROXY_STATS_STORE_H
#define HR_PROXY_STATS_STORE_H

#include "sys/buf.h"

#include <stddef.h>

/* One row per counter: the SQL columns, the JSON names and the add loops derive from it. */
#define HR_STAT_FIELDS(X)                                                                        \
    X(REQUESTS, "requests")                                                                      \
    X(TOKENS_BEFORE, "tokens_before")                                                            \
    X(TOKENS_AFTER, "tokens_after")                                                              \
    X(INPUT, "input_tokens")                                                                     \
    X(OUTPUT, "output_tokens")                                                                   \
    X(CACHE_READ, "cache_read_tokens")                                                           \
    X(CACHE_WRITE, "cache_write_tokens")                                                         \
    X(RETRIEVALS, "retrievals")                                                                  \
    X(FAILED_OPEN, "failed_open")                                                                \
    X(CACHE_BUSTS, "cache_busts")

enum {
#define HR_STAT_ENUM(id, name) HR_STAT_##id,
    HR_STAT_FIELDS(HR_STAT_ENUM)
#undef HR_STAT_ENUM
    HR_STAT_N
};

extern const char *const HR_STAT_NAMES[HR_STAT_N];

typedef struct hr_stat_counts {
    long long v[HR_STAT_N];
} hr_stat_counts;

typedef struct hr_stat_key {
    long long hour;          /* unix time / 3600 */
    char model[96];
    char provider[16];
    char compressor[64];     /* comma-separated compressors applied, "none" */
    char tenant[17];
} hr_stat_key;

/* Opens (creating) <dir>/stats.sqlite3 and sets the retention. dir NULL: the data dir
 * lookup of sys/datadir.h. 0 ok; -1 with err filled (the counters keep working in memory). */
int hr_stats_store_open(const char *dir, int retention_days, char *err, size_t errlen);
/* Final flush, then closes the file. Idempotent. */
void hr_stats_store_close(void);

/* Adds c to the row of k. Memory only; safe from any thread. */
void hr_stats_store_add(const hr_stat_key *k, const hr_stat_counts *c);

/* Writes the pending rows and prunes old ones. Never call on a request path.
 * 0 ok (or nothing to do), -1 the write failed (rows stay pending for the next try). */
int hr_stats_store_flush(void);

/* Calls fn for every row, stored and pending (a row may come twice: once stored, once
 * pending; the reader adds them). Returns what the last fn returned if non-zero, else 0. */
typedef int (*hr_stat_row_fn)(const hr_stat_key *k, const hr_stat_counts *c, void *user);
int hr_stats_store_each(hr_stat_row_fn fn, void *user);

int hr_stats_store_persistent(void);      /* 1 when rows are written to a file */
const char *hr_stats_store_path(void);    /* the file, or "" */

/* For tests: forget everything in memory and close the file without a flush. */
void hr_stats_store_reset(void);

#endif
