/* store.h: the CCR store, where every original a compressor replaced is kept so the model
 * (tool), the routes, `headroom retrieve` and `headroom mcp` can get its exact bytes back.
 *
 * One interface, three backends chosen by hr_ccr_config.backend:
 *   sqlite (default) embedded file <data_dir>/ccr.sqlite3, WAL, mode 0600, TTL, LRU size
 *                    cap; survives restarts and kill -9; shared by threads and processes.
 *   memory           bounded in-process table (tests, ephemeral use).
 *   redis            hiredis; SET .. EX (value and TTL set atomically) so a fleet shares it;
 *                    short timeouts and reconnect so a dead Redis fails fast, never hangs.
 * Entries are scoped by tenant: a hex key derived from the client's credential
 * (hr_tenant_derive), never the credential itself. Keys are (tenant, content hash).
 *
 * Errors: put/get return them; the caller decides (the pipeline forwards the original on
 * a failed put). Every failure is counted in the stats and logged at most once a minute.
 * Ownership: hr_ccr_store_open returns a store the caller closes with hr_ccr_store_close.
 * A store is safe to use from several threads at once.
 */
#ifndef HR_CCR_STORE_H
#define HR_CCR_STORE_H

#include "sys/buf.h"
#include "sys/settings.h"
#include "sys/tenant.h"

#include <stddef.h>
#include <stdint.h>

#define HR_CCR_DEFAULT_TTL 1800       /* seconds (--ccr-ttl) */

typedef enum {
    HR_CCR_BACKEND_SQLITE = 0,
    HR_CCR_BACKEND_MEMORY,
    HR_CCR_BACKEND_REDIS,
} hr_ccr_backend;

typedef struct hr_ccr_config {
    hr_ccr_backend backend;
    const char *data_dir;   /* sqlite: directory; NULL = $HEADROOM_DATA_DIR, else
                               $XDG_DATA_HOME/headroom, else ~/.headroom */
    const char *redis_url;  /* redis://[:password@]host[:port][/db]; NULL = env or default */
    unsigned ttl_seconds;   /* default TTL for put(ttl=0) */
    size_t max_bytes;       /* size cap of stored originals (LRU eviction beyond it) */
    size_t max_entries;     /* memory backend: entry cap as well */
    int redis_timeout_ms;   /* connect and command timeout */
} hr_ccr_config;

/* Defaults: sqlite, TTL 1800 s, 512 MiB (sqlite) / 64 MiB and 65536 entries (memory),
 * Redis timeout 250 ms. */
void hr_ccr_config_default(hr_ccr_config *c);
/* The store's settings, one row each (store.c). */
extern const hr_setting_table hr_ccr_settings;

/* Applies the rows' variables: HEADROOM_CCR_BACKEND, HEADROOM_DATA_DIR, HEADROOM_CCR_TTL,
 * HEADROOM_CCR_MAX_BYTES, HEADROOM_REDIS_URL. The strings stay owned by the environment. 0 ok, -1 with err filled on a bad value. */
int hr_ccr_config_from_env(hr_ccr_config *c, char *err, size_t errlen);
/* Consumes one command-line option at argv[*i] if it is one of --ccr-backend B,
 * --ccr-ttl SECONDS, --ccr-max-bytes N, --data-dir DIR, --redis-url URL (also --opt=value).
 * Returns 1 consumed, 0 not a CCR option, -1 bad value (err). Like every option parser here
 * it leaves *i on the last argument it consumed, so `for (...; i++)` loops step past it. */
int hr_ccr_config_arg(hr_ccr_config *c, int argc, char **argv, int *i, char *err,
                      size_t errlen);
int hr_ccr_backend_parse(const char *s, hr_ccr_backend *out); /* 0 ok, -1 unknown */
const char *hr_ccr_backend_name(hr_ccr_backend b);

typedef struct hr_ccr_store hr_ccr_store;

/* Opens the configured backend. NULL with err filled on failure (bad dir, bad URL...).
 * A Redis that is down at open is not an error: puts fail until it comes back. */
hr_ccr_store *hr_ccr_store_open(const hr_ccr_config *c, char *err, size_t errlen);
void hr_ccr_store_close(hr_ccr_store *s);

/* Stores data under (tenant, hash) for ttl_seconds (0 = the configured default). Storing
 * the same hash again refreshes its TTL. 0 ok, -1 failure (counted, rate-limited log). */
int hr_ccr_put(hr_ccr_store *s, const char *tenant, const char *hash, const void *data,
               size_t len, unsigned ttl_seconds);

/* The TTL a put with ttl_seconds 0 gets (the configured default), so a caller that keeps
 * handing out a stored hash knows when to store it again. */
unsigned hr_ccr_store_ttl(const hr_ccr_store *s);

typedef enum {
    HR_CCR_FOUND = 0,
    HR_CCR_NOT_FOUND = 1, /* unknown, expired, evicted, or another tenant's */
    HR_CCR_INVALID = 2,   /* malformed hash or tenant */
    HR_CCR_ERROR = -1,    /* backend failure (disk, Redis down, no memory) */
} hr_ccr_status;

/* Appends the stored bytes to out (exactly as put) when found. */
hr_ccr_status hr_ccr_get(hr_ccr_store *s, const char *tenant, const char *hash, hr_buf *out);

typedef struct hr_ccr_stats {
    const char *backend;       /* "sqlite", "memory", "redis" (static) */
    uint64_t puts, put_failures;
    uint64_t gets, hits, misses, get_failures;
    uint64_t evictions;        /* removed by the size cap (this process) */
    int64_t entries;           /* live entries in the store, -1 unknown (redis) */
    int64_t bytes;             /* bytes of originals in the store, -1 unknown */
} hr_ccr_stats;

void hr_ccr_store_stats(hr_ccr_store *s, hr_ccr_stats *out);
/* Appends the stats as one JSON object (for /v1/retrieve/stats and headroom_stats). */
int hr_ccr_stats_json(const hr_ccr_stats *st, hr_buf *out);

/* ---- the process's store (a documented singleton) ----------------------------------
 * The proxy, its retrieve routes, the pipeline and the tool loop share one store per
 * process. hr_ccr_process_configure opens it from the proxy's flags at start-up; if nobody
 * configured it, the first hr_ccr_process_store call opens it from defaults + environment.
 * NULL means no store could be opened (logged once): callers then forward originals and
 * routes answer 503. Thread-safe. */
int hr_ccr_process_configure(const hr_ccr_config *c, char *err, size_t errlen);
hr_ccr_store *hr_ccr_process_store(void);
void hr_ccr_process_close(void); /* at shutdown, after the last request */

/* Consumes a tenant option at argv[*i] for the CLI: --tenant KEY (a tenant key as the proxy
 * logs it), --api-key-env VAR (the key in $VAR, sent as x-api-key) or --bearer-env VAR (sent
 * as Authorization: Bearer). Fills out. 1 consumed (*i left on the value), 0 not a tenant
 * option, -1 error (err). */
int hr_ccr_tenant_arg(int argc, char **argv, int *i, char out[HR_TENANT_MAX + 1],
                      char *err, size_t errlen);

#endif
