/* store_sqlite.c: the embedded default CCR backend, one SQLite file per data dir.
 *
 * <data_dir>/ccr.sqlite3 in WAL mode with synchronous=NORMAL: a committed put survives
 * kill -9 of the process, and readers never block the writer. Files are created 0600
 * (umask around the open, chmod of the -wal/-shm side files) because originals are user
 * data. Several processes share the file (busy timeout); threads of one process share one
 * connection behind a mutex. Size cap: triggers keep the total bytes in ccr_meta, and each
 * put evicts least-recently-used rows (a logical clock bumped by every put and hit, so the
 * order is exact even within one millisecond) until the total fits. Expired rows are never
 * returned and are purged a few at a time by puts.
 *
 * Reads never write. A hit's recency stamp is noted in memory (a bounded list, oldest
 * dropped when full) and written by the next put, in its own transaction before the put's
 * evictions, or at close; a failed stamp write is forgotten, never an error. So a full disk
 * (SQLITE_FULL on every write) still serves every stored original, and the data an agent
 * needs back is never lost to a bookkeeping write.
 *
 * The WAL is truncated after checkpoints (journal_size_limit) so the store's own log cannot
 * keep the disk full, and an open that cannot write (the disk filled, by us or anyone)
 * still opens the existing store read-only in effect: gets work, puts fail and the proxy
 * forwards originals, until space returns.
 */
#include "ccr/store_backend.h"
#include "sys/assert.h"
#include "sys/clock.h"
#include "sys/datadir.h"
#include "sys/hash.h"
#include "sys/log.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SQLITE_FILE "ccr.sqlite3"
#define DEFAULT_MAX_BYTES ((size_t)512 << 20)
/* Hits whose stamps wait for the next write; beyond this the oldest are dropped (their
 * entries then just look older to eviction). */
#define PENDING_TOUCHES 256
/* WAL bytes kept after a checkpoint. */
#define WAL_KEEP_BYTES (4 << 20)

enum { ST_GET, ST_PUT, ST_TICK, ST_TOUCH, ST_PURGE, ST_EVICT, ST_TOTAL, ST_COUNT };

static const char *const STATEMENTS[ST_COUNT] = {
    [ST_GET] = "SELECT data, expires_at FROM ccr_entries WHERE tenant=?1 AND hash=?2",
    [ST_PUT] = "INSERT INTO ccr_entries(tenant,hash,data,size,expires_at,last_used) "
               "VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(tenant,hash) DO UPDATE SET "
               "expires_at=excluded.expires_at, last_used=excluded.last_used",
    [ST_TICK] = "UPDATE ccr_meta SET v=v+1 WHERE k='clock' RETURNING v",
    [ST_TOUCH] = "UPDATE ccr_entries SET last_used=?3 WHERE tenant=?1 AND hash=?2",
    [ST_PURGE] = "DELETE FROM ccr_entries WHERE rowid IN (SELECT rowid FROM ccr_entries "
                 "WHERE expires_at<=?1 LIMIT 64)",
    [ST_EVICT] = "DELETE FROM ccr_entries WHERE rowid IN (SELECT rowid FROM ccr_entries "
                 "ORDER BY last_used LIMIT 1)",
    [ST_TOTAL] = "SELECT (SELECT v FROM ccr_meta WHERE k='bytes'), "
                 "(SELECT v FROM ccr_meta WHERE k='entries')",
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS ccr_entries("
    " tenant TEXT NOT NULL, hash TEXT NOT NULL, data BLOB NOT NULL, size INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL, last_used INTEGER NOT NULL, UNIQUE(tenant, hash));"
    "CREATE INDEX IF NOT EXISTS ccr_entries_lru ON ccr_entries(last_used);"
    "CREATE INDEX IF NOT EXISTS ccr_entries_expiry ON ccr_entries(expires_at);"
    "CREATE TABLE IF NOT EXISTS ccr_meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO ccr_meta VALUES('bytes',0),('entries',0),('clock',0);"
    "CREATE TRIGGER IF NOT EXISTS ccr_entries_add AFTER INSERT ON ccr_entries BEGIN"
    " UPDATE ccr_meta SET v=v+NEW.size WHERE k='bytes';"
    " UPDATE ccr_meta SET v=v+1 WHERE k='entries'; END;"
    "CREATE TRIGGER IF NOT EXISTS ccr_entries_remove AFTER DELETE ON ccr_entries BEGIN"
    " UPDATE ccr_meta SET v=v-OLD.size WHERE k='bytes';"
    " UPDATE ccr_meta SET v=v-1 WHERE k='entries'; END;";

typedef struct touch {
    char tenant[HR_TENANT_MAX + 1];
    char hash[HR_CONTENT_HASH_HEX + 1];
} touch;

typedef struct sqlite_store {
    pthread_mutex_t lock;
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    size_t max_bytes;
    uint64_t evictions;
    touch pending[PENDING_TOUCHES]; /* ring, in the order of the hits */
    unsigned pending_start, pending_n;
} sqlite_store;

static void restrict_side_files(const char *db_path)
{
    char p[4200];
    static const char *const suffix[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", db_path, suffix[i]);
        chmod(p, 0600); /* absent files are fine */
    }
}

static int fail_db(sqlite_store *s, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "sqlite %s: %s", what, s->db ? sqlite3_errmsg(s->db) : "no handle");
    return -1;
}

static void sqlite_close_store(void *self)
{
    sqlite_store *s = self;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* WAL mode, its size limit and the schema, in one write transaction. 0 ok, -1 (err). */
static int setup_schema(sqlite_store *s, char *err, size_t errlen)
{
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=%d;",
             WAL_KEEP_BYTES);
    if (sqlite3_exec(s->db, pragmas, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fail_db(s, "setup", err, errlen);
    if (sqlite3_exec(s->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fail_db(s, "schema", err, errlen);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

static int prepare_all(sqlite_store *s)
{
    for (int i = 0; i < ST_COUNT; i++)
        if (!s->st[i] && sqlite3_prepare_v3(s->db, STATEMENTS[i], -1, SQLITE_PREPARE_PERSISTENT,
                                            &s->st[i], NULL) != SQLITE_OK)
            return -1;
    return 0;
}

void *hr_ccr_sqlite_open(const hr_ccr_config *c, char *err, size_t errlen)
{
    char dir[4096], path[4200];
    if (hr_data_dir_resolve(c->data_dir, dir, sizeof dir, err, errlen) < 0 ||
        hr_make_dirs(dir, err, errlen) < 0 || hr_data_dir_secure(dir, err, errlen) < 0)
        return NULL;
    snprintf(path, sizeof path, "%s/%s", dir, SQLITE_FILE);

    sqlite_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->max_bytes = c->max_bytes ? c->max_bytes : DEFAULT_MAX_BYTES;

    /* umask is process-wide: for the duration of this open, files other threads create
     * get stricter modes, never looser ones; chmod below covers a pre-existing file. */
    mode_t old_mask = umask(077);
    int rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    umask(old_mask);
    if (rc != SQLITE_OK) {
        fail_db(s, "open", err, errlen);
        sqlite_close_store(s);
        return NULL;
    }
    chmod(path, 0600);
    sqlite3_busy_timeout(s->db, 5000);
    char setup_err[256] = "";
    if (setup_schema(s, setup_err, sizeof setup_err) != 0) {
        /* Nothing could be written (typically a full disk). An existing store still serves
         * its originals: go on if its statements compile, i.e. the schema is there. */
        if (prepare_all(s) != 0) {
            snprintf(err, errlen, "%s", setup_err);
            sqlite_close_store(s);
            return NULL;
        }
        hr_log_fields(HR_LOG_WARN, "ccr store opened without write access", "reason", setup_err,
                      "effect", "reads only until writes succeed; originals are forwarded",
                      (const char *)NULL);
        return s;
    }
    /* A WAL grown by an earlier run (it may be what filled the disk) is folded into the
     * database and cut back now; best effort. */
    sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    restrict_side_files(path);
    if (prepare_all(s) != 0) {
        fail_db(s, "prepare", err, errlen);
        sqlite_close_store(s);
        return NULL;
    }
    return s;
}

/* Runs a statement that returns no rows (or whose rows are ignored) and resets it. */
static int step_done(sqlite3_stmt *st)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int next_tick(sqlite_store *s, sqlite3_int64 *tick)
{
    sqlite3_stmt *st = s->st[ST_TICK];
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *tick = sqlite3_column_int64(st, 0);
    int rc2 = step_done(st);
    return rc == SQLITE_ROW && rc2 == 0 ? 0 : -1;
}

static int total_bytes(sqlite_store *s, sqlite3_int64 *bytes, sqlite3_int64 *entries)
{
    sqlite3_stmt *st = s->st[ST_TOTAL];
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *bytes = sqlite3_column_int64(st, 0);
        *entries = sqlite3_column_int64(st, 1);
    }
    return (step_done(st) == 0 && rc == SQLITE_ROW) ? 0 : -1;
}

static int evict_to_cap(sqlite_store *s)
{
    sqlite3_int64 bytes = 0, entries = 0;
    for (;;) {
        if (total_bytes(s, &bytes, &entries) < 0)
            return -1;
        if ((size_t)bytes <= s->max_bytes || entries <= 1)
            return 0;
        if (step_done(s->st[ST_EVICT]) < 0)
            return -1;
        s->evictions += (uint64_t)sqlite3_changes(s->db);
    }
}

/* Notes a hit for the next write (never writes itself). Caller holds the lock. */
static void note_touch_locked(sqlite_store *s, const char *tenant, const char *hash)
{
    HR_ASSERT_HELD(&s->lock);
    if (s->pending_n == PENDING_TOUCHES) { /* full: the oldest hit loses its stamp */
        s->pending_start = (s->pending_start + 1) % PENDING_TOUCHES;
        s->pending_n--;
    }
    touch *t = &s->pending[(s->pending_start + s->pending_n) % PENDING_TOUCHES];
    snprintf(t->tenant, sizeof t->tenant, "%s", tenant);
    snprintf(t->hash, sizeof t->hash, "%s", hash);
    s->pending_n++;
}

/* Writes the noted hits' stamps in one transaction, in the order of the hits. Best effort:
 * on any failure they are rolled back and forgotten (recency is a hint, not data). */
static void flush_touches_locked(sqlite_store *s)
{
    HR_ASSERT_HELD(&s->lock);
    if (!s->pending_n)
        return;
    int ok = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    for (unsigned i = 0; ok && i < s->pending_n; i++) {
        const touch *t = &s->pending[(s->pending_start + i) % PENDING_TOUCHES];
        sqlite3_int64 tick;
        sqlite3_stmt *st = s->st[ST_TOUCH];
        ok = next_tick(s, &tick) == 0;
        if (!ok)
            break;
        sqlite3_bind_text(st, 1, t->tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, t->hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, tick);
        ok = step_done(st) == 0;
    }
    if (ok)
        ok = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    if (!ok && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->pending_start = s->pending_n = 0;
}

static int put_locked(sqlite_store *s, const char *tenant, const char *hash, const void *data,
                      size_t len, unsigned ttl_seconds)
{
    HR_ASSERT_HELD(&s->lock);
    long long now = hr_wall_ms();
    sqlite3_int64 tick;
    sqlite3_bind_int64(s->st[ST_PURGE], 1, now);
    if (step_done(s->st[ST_PURGE]) < 0 || next_tick(s, &tick) < 0)
        return -1;
    sqlite3_stmt *st = s->st[ST_PUT];
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 3, data, len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)len);
    sqlite3_bind_int64(st, 5, now + (long long)ttl_seconds * 1000);
    sqlite3_bind_int64(st, 6, tick);
    if (step_done(st) < 0)
        return -1;
    return evict_to_cap(s);
}

static int sqlite_put(void *self, const char *tenant, const char *hash, const void *data,
                      size_t len, unsigned ttl_seconds, char *err, size_t errlen)
{
    sqlite_store *s = self;
    if (len > s->max_bytes) {
        snprintf(err, errlen, "original of %zu bytes exceeds the store cap", len);
        return -1;
    }
    pthread_mutex_lock(&s->lock);
    flush_touches_locked(s); /* before the put's evictions, so they see the hits */
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    if (rc == 0) {
        rc = put_locked(s, tenant, hash, data, len, ttl_seconds);
        if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = -1;
        if (rc != 0) {
            fail_db(s, "put", err, errlen);
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
    } else
        fail_db(s, "begin", err, errlen);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Reads the row (a plain read transaction: no write, so a full disk cannot fail it). */
static hr_ccr_status get_locked(sqlite_store *s, const char *tenant, const char *hash,
                                hr_buf *out)
{
    HR_ASSERT_HELD(&s->lock);
    sqlite3_stmt *st = s->st[ST_GET];
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    hr_ccr_status res = HR_CCR_NOT_FOUND;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_int64(st, 1) > hr_wall_ms()) {
            const void *p = sqlite3_column_blob(st, 0);
            int n = sqlite3_column_bytes(st, 0);
            res = hr_buf_append(out, p ? p : "", (size_t)n) == 0 ? HR_CCR_FOUND : HR_CCR_ERROR;
        }
    } else if (rc != SQLITE_DONE)
        res = HR_CCR_ERROR;
    step_done(st);
    if (res == HR_CCR_FOUND)
        note_touch_locked(s, tenant, hash);
    return res;
}

static hr_ccr_status sqlite_get(void *self, const char *tenant, const char *hash, hr_buf *out,
                                char *err, size_t errlen)
{
    sqlite_store *s = self;
    size_t mark = out->len;
    pthread_mutex_lock(&s->lock);
    hr_ccr_status res = get_locked(s, tenant, hash, out);
    if (res == HR_CCR_ERROR) {
        fail_db(s, "get", err, errlen);
        hr_buf_truncate(out, mark); /* nothing half-appended */
    }
    pthread_mutex_unlock(&s->lock);
    return res;
}

static void sqlite_stats(void *self, hr_ccr_stats *st)
{
    sqlite_store *s = self;
    pthread_mutex_lock(&s->lock);
    sqlite3_int64 bytes, entries;
    if (total_bytes(s, &bytes, &entries) == 0) {
        st->bytes = bytes;
        st->entries = entries;
    }
    st->evictions = s->evictions;
    pthread_mutex_unlock(&s->lock);
}

/* At close the noted hits get their stamps (best effort), then the store is released. */
static void sqlite_close(void *self)
{
    sqlite_store *s = self;
    pthread_mutex_lock(&s->lock);
    flush_touches_locked(s);
    pthread_mutex_unlock(&s->lock);
    sqlite_close_store(s);
}

const hr_ccr_backend_ops hr_ccr_sqlite_ops = {"sqlite", sqlite_put, sqlite_get, sqlite_stats,
                                              sqlite_close};
