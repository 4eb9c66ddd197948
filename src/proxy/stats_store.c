/* stats_store.c: see stats_store.h.
 *
 * Locking: `mu` guards the pending table and is all a request takes (a hash lookup and some
 * adds, never I/O). `file` (a rwlock) guards the database: a flush holds it exclusively,
 * moves the pending rows out under `mu` (requests then fill a fresh table) and writes them;
 * readers hold it shared, so they see the moved rows either still pending or committed,
 * never neither. The connection is opened serialized (SQLITE_OPEN_FULLMUTEX) because
 * several readers may use it at once. */
#include "proxy/stats_store.h"

#include "sys/assert.h"
#include "sys/datadir.h"
#include "sys/hash.h"
#include "sys/log.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STATS_FILE "stats.sqlite3"
#define MAX_PENDING 4096 /* distinct rows between two flushes; beyond, adds are dropped */

const char *const HR_STAT_NAMES[HR_STAT_N] = {
#define HR_STAT_NAME(id, name) name,
    HR_STAT_FIELDS(HR_STAT_NAME)
#undef HR_STAT_NAME
};

typedef struct pending_row {
    hr_stat_key k;
    hr_stat_counts c;
} pending_row;

static struct {
    pthread_mutex_t mu;
    pthread_rwlock_t file;
    sqlite3 *db;
    char path[4200];
    int retention_days;
    pending_row *rows;
    size_t n, cap;
    uint32_t slots[2 * MAX_PENDING]; /* open addressing: row index + 1, 0 = empty */
    unsigned long long dropped;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .file = PTHREAD_RWLOCK_INITIALIZER};

static int same_key(const hr_stat_key *a, const hr_stat_key *b)
{
    return a->hour == b->hour && !strcmp(a->model, b->model) && !strcmp(a->provider, b->provider) &&
           !strcmp(a->compressor, b->compressor) && !strcmp(a->tenant, b->tenant);
}

static size_t key_slot(const hr_stat_key *k)
{
    uint64_t h = hr_hash64(&k->hour, sizeof k->hour);
    h ^= hr_hash64(k->model, strlen(k->model)) * 31;
    h ^= hr_hash64(k->provider, strlen(k->provider)) * 131;
    h ^= hr_hash64(k->compressor, strlen(k->compressor)) * 1031;
    h ^= hr_hash64(k->tenant, strlen(k->tenant)) * 10007;
    return (size_t)(h % (2 * MAX_PENDING));
}

/* The pending row of k: its index, or S.n when absent; *slot is where it is or would go.
 * The table is at most half full (MAX_PENDING rows, 2 x MAX_PENDING slots). */
static size_t find_locked(const hr_stat_key *k, size_t *slot)
{
    HR_ASSERT_HELD(&S.mu);
    size_t j = key_slot(k);
    while (S.slots[j] && !same_key(&S.rows[S.slots[j] - 1].k, k))
        j = (j + 1) % (2 * MAX_PENDING);
    *slot = j;
    return S.slots[j] ? S.slots[j] - 1 : S.n;
}

void hr_stats_store_add(const hr_stat_key *k, const hr_stat_counts *c)
{
    pthread_mutex_lock(&S.mu);
    size_t slot, i = find_locked(k, &slot);
    if (i == S.n) {
        if (S.n == S.cap) {
            size_t cap = S.cap ? S.cap * 2 : 16;
            pending_row *grown = cap <= MAX_PENDING ? realloc(S.rows, cap * sizeof *grown) : NULL;
            if (!grown) {
                S.dropped++;
                pthread_mutex_unlock(&S.mu);
                return;
            }
            S.rows = grown;
            S.cap = cap;
        }
        memset(&S.rows[i], 0, sizeof S.rows[i]);
        S.rows[i].k = *k;
        S.slots[slot] = (uint32_t)i + 1;
        S.n++;
    }
    for (int f = 0; f < HR_STAT_N; f++)
        S.rows[i].c.v[f] += c->v[f];
    pthread_mutex_unlock(&S.mu);
}

static void forget_pending_locked(void)
{
    HR_ASSERT_HELD(&S.mu);
    S.n = 0;
    memset(S.slots, 0, sizeof S.slots);
}

/* ---- the file ---------------------------------------------------------------------------- */

static int exec_sql(const char *sql)
{
    return sqlite3_exec(S.db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* "CREATE TABLE ..." and the upsert, written from HR_STAT_FIELDS. */
static int build_sql(hr_buf *create, hr_buf *upsert)
{
    hr_buf_puts(create, "CREATE TABLE IF NOT EXISTS stats_hourly(hour INTEGER NOT NULL, "
                        "model TEXT NOT NULL, provider TEXT NOT NULL, compressor TEXT NOT NULL, "
                        "tenant TEXT NOT NULL");
    hr_buf_puts(upsert, "INSERT INTO stats_hourly(hour,model,provider,compressor,tenant");
    for (int f = 0; f < HR_STAT_N; f++) {
        hr_buf_printf(create, ", %s INTEGER NOT NULL DEFAULT 0", HR_STAT_NAMES[f]);
        hr_buf_printf(upsert, ",%s", HR_STAT_NAMES[f]);
    }
    hr_buf_puts(create, ", PRIMARY KEY(hour,model,provider,compressor,tenant));"
                        "CREATE INDEX IF NOT EXISTS stats_hourly_hour ON stats_hourly(hour);");
    hr_buf_puts(upsert, ") VALUES(?,?,?,?,?");
    for (int f = 0; f < HR_STAT_N; f++)
        hr_buf_puts(upsert, ",?");
    hr_buf_puts(upsert, ") ON CONFLICT(hour,model,provider,compressor,tenant) DO UPDATE SET ");
    for (int f = 0; f < HR_STAT_N; f++)
        hr_buf_printf(upsert, "%s%s=%s+excluded.%s", f ? "," : "", HR_STAT_NAMES[f],
                      HR_STAT_NAMES[f], HR_STAT_NAMES[f]);
    return hr_buf_failed(create) || hr_buf_failed(upsert) ? -1 : 0;
}

static void close_db_locked(void)
{
    HR_ASSERT_RW_HELD(&S.file);
    if (S.db)
        sqlite3_close(S.db);
    S.db = NULL;
    S.path[0] = '\0';
}

int hr_stats_store_open(const char *dir_opt, int retention_days, char *err, size_t errlen)
{
    char dir[4096];
    if (hr_data_dir_resolve(dir_opt, dir, sizeof dir, err, errlen) < 0 || hr_make_dirs(dir, err, errlen) < 0 ||
        hr_data_dir_secure(dir, err, errlen) < 0)
        return -1;
    pthread_rwlock_wrlock(&S.file);
    close_db_locked();
    S.retention_days = retention_days > 0 ? retention_days : 30;
    snprintf(S.path, sizeof S.path, "%s/%s", dir, STATS_FILE);
    mode_t old_mask = umask(077);
    int rc = sqlite3_open_v2(S.path, &S.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    umask(old_mask);
    chmod(S.path, 0600); /* also a file an older run left; SQLite gives -wal/-shm its mode */
    hr_buf create = HR_BUF_INIT, upsert = HR_BUF_INIT;
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(S.db, 2000);
        rc = build_sql(&create, &upsert) != 0 ||
             exec_sql("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;") != 0 ||
             exec_sql(create.data) != 0;
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "stats store %s: %s", S.path, S.db ? sqlite3_errmsg(S.db) : "cannot open");
        close_db_locked();
    }
    hr_buf_free(&create);
    hr_buf_free(&upsert);
    int ok = S.db != NULL;
    pthread_rwlock_unlock(&S.file);
    return ok ? 0 : -1;
}

static int write_rows(sqlite3_stmt *st, const pending_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const pending_row *r = &rows[i];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, r->k.hour);
        sqlite3_bind_text(st, 2, r->k.model, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, r->k.provider, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, r->k.compressor, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, r->k.tenant, -1, SQLITE_STATIC);
        for (int f = 0; f < HR_STAT_N; f++)
            sqlite3_bind_int64(st, 6 + f, r->c.v[f]);
        if (sqlite3_step(st) != SQLITE_DONE)
            return -1;
    }
    return 0;
}

static int prune_locked(void) /* caller holds `file` */
{
    HR_ASSERT_RW_HELD(&S.file);
    sqlite3_stmt *st = NULL;
    long long oldest = (long long)time(NULL) / 3600 - (long long)S.retention_days * 24;
    int rc = sqlite3_prepare_v2(S.db, "DELETE FROM stats_hourly WHERE hour < ?", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, oldest);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Takes the pending rows (requests start a fresh table). Caller holds `file`. */
static pending_row *take_pending(size_t *n)
{
    pthread_mutex_lock(&S.mu);
    pending_row *rows = S.rows;
    *n = S.n;
    S.rows = NULL;
    S.cap = 0;
    forget_pending_locked();
    pthread_mutex_unlock(&S.mu);
    return rows;
}

/* A failed write: the taken rows go back into the table (added to any new ones). */
static void give_back(const pending_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hr_stats_store_add(&rows[i].k, &rows[i].c);
}

int hr_stats_store_flush(void)
{
    pthread_rwlock_wrlock(&S.file);
    size_t n = 0;
    pending_row *rows = S.db ? take_pending(&n) : NULL;
    if (n == 0) {
        free(rows);
        pthread_rwlock_unlock(&S.file);
        return 0;
    }
    hr_buf create = HR_BUF_INIT, upsert = HR_BUF_INIT;
    sqlite3_stmt *st = NULL;
    int rc = build_sql(&create, &upsert) != 0 ||
             sqlite3_prepare_v2(S.db, upsert.data, -1, &st, NULL) != SQLITE_OK ||
             exec_sql("BEGIN IMMEDIATE") != 0;
    if (rc == 0) {
        rc = write_rows(st, rows, n) != 0 || prune_locked() != 0 || exec_sql("COMMIT") != 0;
        if (rc != 0)
            exec_sql("ROLLBACK");
    }
    if (rc != 0) {
        hr_log_fields(HR_LOG_WARN, "stats flush failed", "path", S.path, "error", sqlite3_errmsg(S.db), NULL);
        give_back(rows, n);
    }
    sqlite3_finalize(st);
    hr_buf_free(&create);
    hr_buf_free(&upsert);
    free(rows);
    pthread_rwlock_unlock(&S.file);
    return rc ? -1 : 0;
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

static int each_stored_locked(hr_stat_row_fn fn, void *user)
{
    HR_ASSERT_RW_HELD(&S.file);
    hr_buf sql = HR_BUF_INIT;
    hr_buf_puts(&sql, "SELECT hour,model,provider,compressor,tenant");
    for (int f = 0; f < HR_STAT_N; f++)
        hr_buf_printf(&sql, ",%s", HR_STAT_NAMES[f]);
    hr_buf_puts(&sql, " FROM stats_hourly ORDER BY hour");
    sqlite3_stmt *st = NULL;
    if (hr_buf_failed(&sql) || sqlite3_prepare_v2(S.db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        hr_buf_free(&sql);
        return -1;
    }
    hr_buf_free(&sql);
    int out = 0;
    while (out == 0 && sqlite3_step(st) == SQLITE_ROW) {
        hr_stat_key k;
        hr_stat_counts c;
        k.hour = sqlite3_column_int64(st, 0);
        copy_text(k.model, sizeof k.model, sqlite3_column_text(st, 1));
        copy_text(k.provider, sizeof k.provider, sqlite3_column_text(st, 2));
        copy_text(k.compressor, sizeof k.compressor, sqlite3_column_text(st, 3));
        copy_text(k.tenant, sizeof k.tenant, sqlite3_column_text(st, 4));
        for (int f = 0; f < HR_STAT_N; f++)
            c.v[f] = sqlite3_column_int64(st, 5 + f);
        out = fn(&k, &c, user);
    }
    sqlite3_finalize(st);
    return out;
}

int hr_stats_store_each(hr_stat_row_fn fn, void *user)
{
    pthread_rwlock_rdlock(&S.file);
    int out = S.db ? each_stored_locked(fn, user) : 0;
    if (out < 0)
        out = 0; /* an unreadable file: show what is pending */
    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; out == 0 && i < S.n; i++)
        out = fn(&S.rows[i].k, &S.rows[i].c, user);
    pthread_mutex_unlock(&S.mu);
    pthread_rwlock_unlock(&S.file);
    return out;
}

int hr_stats_store_persistent(void)
{
    pthread_rwlock_rdlock(&S.file);
    int p = S.db != NULL;
    pthread_rwlock_unlock(&S.file);
    return p;
}

const char *hr_stats_store_path(void)
{
    return S.path; /* written only by open/close, before and after serving */
}

void hr_stats_store_close(void)
{
    hr_stats_store_flush();
    pthread_rwlock_wrlock(&S.file);
    close_db_locked();
    pthread_rwlock_unlock(&S.file);
}

void hr_stats_store_reset(void)
{
    pthread_rwlock_wrlock(&S.file);
    close_db_locked();
    pthread_rwlock_unlock(&S.file);
    pthread_mutex_lock(&S.mu);
    free(S.rows);
    S.rows = NULL;
    forget_pending_locked();
    S.cap = 0;
    S.dropped = 0;
    pthread_mutex_unlock(&S.mu);
}
