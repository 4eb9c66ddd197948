/* SQLite CCR store on a full disk. A VFS shim over SQLite's own unix VFS answers every
 * write with SQLITE_FULL while the "disk" is full (exactly what SQLite reports on ENOSPC),
 * and counts writes, so these tests run anywhere without mounting a filesystem:
 *   - reads of stored originals make no write at all, and succeed on a full disk;
 *   - puts fail cleanly there (the proxy then forwards originals) and work again after;
 *   - a store whose WAL was being written when the disk filled reopens (reads only while
 *     still full), and once space is back its WAL is cut back at open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ccr/store.h"
#include "ccr_store_fixture.h"
#include "sys/hash.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the full-disk VFS shim --------------------------------------------------------------- */

static sqlite3_vfs *g_real;
static sqlite3_vfs g_shim;
static int g_full;            /* writes fail with SQLITE_FULL */
static unsigned long g_writes; /* writes attempted */

typedef struct shim_file {
    sqlite3_file base;
    sqlite3_file *real; /* lives right after this struct */
} shim_file;

#define REAL(f) (((shim_file *)(f))->real)

static int s_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int s_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return REAL(f)->pMethods->xRead(REAL(f), b, n, o); }
static int s_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    g_writes++;
    return g_full ? SQLITE_FULL : REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int s_truncate(sqlite3_file *f, sqlite3_int64 n) { return REAL(f)->pMethods->xTruncate(REAL(f), n); }
static int s_sync(sqlite3_file *f, int fl) { return REAL(f)->pMethods->xSync(REAL(f), fl); }
static int s_size(sqlite3_file *f, sqlite3_int64 *n) { return REAL(f)->pMethods->xFileSize(REAL(f), n); }
static int s_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int s_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int s_check(sqlite3_file *f, int *o) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), o); }
static int s_fcntl(sqlite3_file *f, int op, void *a)
{
    if (op == SQLITE_FCNTL_SIZE_HINT && g_full) /* growing a file needs space too */
        return SQLITE_FULL;
    return REAL(f)->pMethods->xFileControl(REAL(f), op, a);
}
static int s_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int s_devchar(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int s_shmmap(sqlite3_file *f, int i, int sz, int ext, void volatile **p) { return REAL(f)->pMethods->xShmMap(REAL(f), i, sz, ext, p); }
static int s_shmlock(sqlite3_file *f, int o, int n, int fl) { return REAL(f)->pMethods->xShmLock(REAL(f), o, n, fl); }
static void s_shmbarrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int s_shmunmap(sqlite3_file *f, int d) { return REAL(f)->pMethods->xShmUnmap(REAL(f), d); }
static int s_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **p) { return REAL(f)->pMethods->xFetch(REAL(f), o, n, p); }
static int s_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p) { return REAL(f)->pMethods->xUnfetch(REAL(f), o, p); }

static const sqlite3_io_methods SHIM_IO = {
    3, s_close, s_read, s_write, s_truncate, s_sync, s_size, s_lock, s_unlock, s_check,
    s_fcntl, s_sector, s_devchar, s_shmmap, s_shmlock, s_shmbarrier, s_shmunmap, s_fetch,
    s_unfetch,
};

static int s_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)vfs;
    shim_file *sf = (shim_file *)f;
    sf->real = (sqlite3_file *)&sf[1];
    int rc = g_real->xOpen(g_real, name, sf->real, flags, out);
    sf->base.pMethods = rc == SQLITE_OK && sf->real->pMethods ? &SHIM_IO : NULL;
    return rc;
}

static void install_shim(void)
{
    if (g_real)
        return;
    g_real = sqlite3_vfs_find(NULL);
    g_shim = *g_real; /* every other entry is the real VFS's own */
    g_shim.zName = "headroom-fulldisk";
    g_shim.szOsFile = (int)sizeof(shim_file) + g_real->szOsFile;
    g_shim.pNext = NULL;
    g_shim.xOpen = s_open;
    sqlite3_vfs_register(&g_shim, 1);
}

/* ---- fixture ------------------------------------------------------------------------------ */

static const char *TENANT = "aaaa0000aaaa0000";

static int setup(void **state)
{
    install_shim();
    g_full = 0;
    fixture *f = fixture_new("hr-fulldisk-", HR_CCR_BACKEND_SQLITE);
    *state = f;
    return f ? 0 : -1;
}

static int teardown(void **state)
{
    g_full = 0;
    fixture_free(*state);
    return 0;
}

/* Stores n bytes of text derived from seed; hash out. */
static int put_text(hr_ccr_store *s, int seed, size_t n, char hash[HR_CONTENT_HASH_HEX + 1])
{
    char *t = malloc(n);
    for (size_t i = 0; i < n; i++)
        t[i] = (char)('a' + (i * 7 + (size_t)seed * 13) % 26);
    hr_content_hash(t, n, hash);
    int rc = hr_ccr_put(s, TENANT, hash, t, n, 0);
    free(t);
    return rc;
}

static void assert_found(hr_ccr_store *s, const char *hash, size_t n)
{
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(s, TENANT, hash, &out), HR_CCR_FOUND);
    assert_int_equal(out.len, n);
    char again[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash(out.data, out.len, again);
    assert_string_equal(again, hash); /* the very bytes stored */
    hr_buf_free(&out);
}

static long long file_size(const fixture *f, const char *name)
{
    char p[400];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", f->dir, name);
    return stat(p, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void reads_never_write(void **state)
{
    fixture *f = *state;
    hr_ccr_store *s = open_store(f);
    char h[3][HR_CONTENT_HASH_HEX + 1];
    for (int i = 0; i < 3; i++)
        assert_int_equal(put_text(s, i, 5000, h[i]), 0);
    unsigned long before = g_writes;
    for (int round = 0; round < 4; round++)
        for (int i = 0; i < 3; i++)
            assert_found(s, h[i], 5000);
    assert_int_equal(g_writes, before); /* twelve hits, not one write */
    hr_ccr_store_close(s);
}

static void full_disk_still_serves_originals(void **state)
{
    fixture *f = *state;
    hr_ccr_store *s = open_store(f);
    char a[HR_CONTENT_HASH_HEX + 1], b[HR_CONTENT_HASH_HEX + 1], c[HR_CONTENT_HASH_HEX + 1];
    assert_int_equal(put_text(s, 1, 20000, a), 0);
    assert_int_equal(put_text(s, 2, 30000, b), 0);
    g_full = 1;
    unsigned long before = g_writes;
    assert_found(s, a, 20000);
    assert_found(s, b, 30000);
    assert_int_equal(put_text(s, 3, 10000, c), -1); /* refused cleanly: forwarded instead */
    assert_true(g_writes > before);                 /* the put did try, and failed */
    assert_found(s, a, 20000);                      /* the failed put broke nothing */
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(s, TENANT, c, &out), HR_CCR_NOT_FOUND);
    hr_buf_free(&out);
    g_full = 0; /* space is back: the same store writes again, without a restart */
    assert_int_equal(put_text(s, 3, 10000, c), 0);
    assert_found(s, c, 10000);
    assert_found(s, b, 30000);
    hr_ccr_store_close(s);
}

static void store_whose_wal_filled_the_disk_recovers_at_restart(void **state)
{
    fixture *f = *state;
    hr_ccr_store *s = open_store(f);
    char h[40][HR_CONTENT_HASH_HEX + 1];
    for (int i = 0; i < 40; i++) /* 8 MB through the WAL: it grows past its checkpoints */
        assert_int_equal(put_text(s, i, 200000, h[i]), 0);
    assert_found(s, h[5], 200000); /* a hit waiting for its stamp when the disk fills */
    g_full = 1;                    /* the disk fills while the WAL is being written */
    char extra[HR_CONTENT_HASH_HEX + 1];
    assert_int_equal(put_text(s, 99, 200000, extra), -1);
    hr_ccr_store_close(s); /* its stamp flush fails too: ignored */

    s = open_store(f); /* restart on the still-full disk: opens, serves reads */
    for (int i = 0; i < 40; i += 7)
        assert_found(s, h[i], 200000);
    assert_int_equal(put_text(s, 99, 200000, extra), -1);
    hr_ccr_store_close(s);

    g_full = 0; /* space is back: the next start cuts the WAL back and writes again */
    s = open_store(f);
    assert_int_equal(file_size(f, "ccr.sqlite3-wal"), 0);
    assert_int_equal(put_text(s, 99, 200000, extra), 0);
    assert_found(s, extra, 200000);
    assert_found(s, h[39], 200000);
    hr_ccr_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reads_never_write, setup, teardown),
        cmocka_unit_test_setup_teardown(full_disk_still_serves_originals, setup, teardown),
        cmocka_unit_test_setup_teardown(store_whose_wal_filled_the_disk_recovers_at_restart,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
