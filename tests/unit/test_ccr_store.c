/* CCR store (memory and SQLite backends): exact round trip, TTL expiry, LRU eviction under
 * the size cap, tenant isolation, 0600 files, persistence across reopen, threads and a
 * second process on the same SQLite file, and the config parsing the CLI relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ccr/store.h"
#include "ccr_store_fixture.h"
#include "sys/hash.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *TENANT_A = "aaaa0000aaaa0000aaaa0000aaaa0000";
static const char *TENANT_B = "bbbb0000bbbb0000bbbb0000bbbb0000";

static int setup_backend(void **state, hr_ccr_backend backend)
{
    fixture *f = fixture_new("hr-ccr-test-", backend);
    *state = f;
    return f ? 0 : -1;
}
static int setup_sqlite(void **state) { return setup_backend(state, HR_CCR_BACKEND_SQLITE); }
static int setup_memory(void **state) { return setup_backend(state, HR_CCR_BACKEND_MEMORY); }
static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}


/* Deterministic pseudo-random bytes including NULs and invalid UTF-8. */
static unsigned char *make_bytes(size_t n, unsigned seed)
{
    unsigned char *p = malloc(n ? n : 1);
    unsigned x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)(x >> 16);
    }
    return p;
}

static void put_content(hr_ccr_store *s, const char *tenant, const void *p, size_t n,
                        unsigned ttl, char hash[HR_CONTENT_HASH_HEX + 1])
{
    hr_content_hash(p, n, hash);
    assert_int_equal(hr_ccr_put(s, tenant, hash, p, n, ttl), 0);
}

static void round_trip_is_byte_exact(void **state)
{
    fixture *f = *state;
    hr_ccr_store *s = open_store(f);
    size_t sizes[] = {0, 1, 1000, 1 << 20};
    for (size_t k = 0; k < 4; k++) {
        unsigned char *p = make_bytes(sizes[k], (unsigned)k);
        char hash[HR_CONTENT_HASH_HEX + 1];
        put_content(s, TENANT_A, p, sizes[k], 0, hash);
        hr_buf out = HR_BUF_INIT;
        assert_int_equal(hr_ccr_get(s, TENANT_A, hash, &out), HR_CCR_FOUND);
        assert_int_equal(out.len, sizes[k]);
        if (sizes[k])
            assert_memory_equal(out.data, p, sizes[k]);
        hr_buf_free(&out);
        free(p);
    }
    hr_ccr_stats st;
    hr_ccr_store_stats(s, &st);
    assert_int_equal(st.puts, 4);
    assert_int_equal(st.hits, 4);
    assert_int_equal(st.entries, 4);
    assert_int_equal(st.bytes, 1 + 1000 + (1 << 20));
    hr_ccr_store_close(s);
}

static void unknown_and_malformed_hashes(void **state)
{
    fixture *f = *state;
    hr_ccr_store *s = open_store(f);
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(s, TENANT_A, "0123456789abcdef01234567", &out), HR_CCR_NOT_FOUND);
    assert_int_equal(hr_ccr_get(s, TENANT_A, "0123456789ABCDEF01234567", &out), HR_CCR_INVALID);
    assert_int_equal(hr_ccr_get(s, TENANT_A, "0123", &out), HR_CCR_INVALID);
    assert_int_equal(hr_ccr_get(s, "not-hex!", "0123456789abcdef01234567", &out), HR_CCR_INVALID);
    assert_int_equal(hr_ccr_put(s, TENANT_A, "xyz", "a", 1, 0), -1);
    assert_int_equal(out.len, 0);
    hr_ccr_stats st;
    hr_ccr_store_stats(s, &st);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.put_failures, 1);
    hr_ccr_store_close(s);
}

static void tenants_are_isolated(void **state)
{
    fixture *f = *state;
    hr_ccr_store *s = open_store(f);
    char hash[HR_CONTENT_HASH_HEX + 1];
    put_content(s, TENANT_A, "secret of A", 11, 0, hash);
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(s, TENANT_B, hash, &out), HR_CCR_NOT_FOUND);
    assert_int_equal(out.len, 0);
    assert_int_equal(hr_ccr_get(s, TENANT_A, hash, &out), HR_CCR_FOUND);
    assert_string_equal(out.data, "secret of A");
    hr_buf_free(&out);
    hr_ccr_store_close(s);
}

static void entries_expire_after_ttl(void **state)
{
    fixture *f = *state;
    hr_ccr_store *s = open_store(f);
    char short_hash[HR_CONTENT_HASH_HEX + 1], long_hash[HR_CONTENT_HASH_HEX + 1];
    put_content(s, TENANT_A, "short lived", 11, 1, short_hash);
    put_content(s, TENANT_A, "long lived", 10, 60, long_hash);
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(s, TENANT_A, short_hash, &out), HR_CCR_FOUND);
    hr_buf_reset(&out);
    struct timespec nap = {1, 150 * 1000 * 1000};
    nanosleep(&nap, NULL);
    assert_int_equal(hr_ccr_get(s, TENANT_A, short_hash, &out), HR_CCR_NOT_FOUND);
    assert_int_equal(hr_ccr_get(s, TENANT_A, long_hash, &out), HR_CCR_FOUND);
    assert_string_equal(out.data, "long lived");
    hr_buf_free(&out);
    hr_ccr_store_close(s);
}

/* Cap fits three 4 KiB originals: after reading the oldest, a fourth put evicts the one
 * used least recently (the second), not the oldest. */
static void size_cap_evicts_least_recently_used(void **state)
{
    fixture *f = *state;
    f->cfg.max_bytes = 3 * 4096 + 100;
    hr_ccr_store *s = open_store(f);
    char h[4][HR_CONTENT_HASH_HEX + 1];
    unsigned char *p[4];
    for (int i = 0; i < 4; i++)
        p[i] = make_bytes(4096, 100u + (unsigned)i);
    for (int i = 0; i < 3; i++)
        put_content(s, TENANT_A, p[i], 4096, 0, h[i]);
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(s, TENANT_A, h[0], &out), HR_CCR_FOUND);
    put_content(s, TENANT_A, p[3], 4096, 0, h[3]);
    hr_buf_reset(&out);
    assert_int_equal(hr_ccr_get(s, TENANT_A, h[1], &out), HR_CCR_NOT_FOUND);
    assert_int_equal(hr_ccr_get(s, TENANT_A, h[0], &out), HR_CCR_FOUND);
    assert_int_equal(hr_ccr_get(s, TENANT_A, h[2], &out), HR_CCR_FOUND);
    assert_int_equal(hr_ccr_get(s, TENANT_A, h[3], &out), HR_CCR_FOUND);
    hr_ccr_stats st;
    hr_ccr_store_stats(s, &st);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(st.entries, 3);
    assert_true(st.bytes <= (int64_t)f->cfg.max_bytes);
    /* An original larger than the whole cap is refused, not half-stored. */
    unsigned char *big = make_bytes(4 * 4096, 7);
    char bh[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash(big, 4 * 4096, bh);
    assert_int_equal(hr_ccr_put(s, TENANT_A, bh, big, 4 * 4096, 0), -1);
    free(big);
    for (int i = 0; i < 4; i++)
        free(p[i]);
    hr_buf_free(&out);
    hr_ccr_store_close(s);
}

static void sqlite_files_are_private_and_survive_reopen(void **state)
{
    fixture *f = *state;
    hr_ccr_store *s = open_store(f);
    char hash[HR_CONTENT_HASH_HEX + 1];
    put_content(s, TENANT_A, "kept across restarts", 20, 0, hash);
    char path[400];
    struct stat sb;
    static const char *const files[] = {"ccr.sqlite3", "ccr.sqlite3-wal", "ccr.sqlite3-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, files[i]);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
    }
    hr_ccr_store_close(s);
    s = open_store(f);
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(s, TENANT_A, hash, &out), HR_CCR_FOUND);
    assert_string_equal(out.data, "kept across restarts");
    hr_buf_free(&out);
    hr_ccr_store_close(s);
}

/* A process killed with SIGKILL right after its put returns (no close, no checkpoint, WAL
 * still open): a restarted store reads the entry back. */
static void sqlite_put_survives_kill_9(void **state)
{
    fixture *f = *state;
    const char *text = "committed before the crash";
    char hash[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash(text, strlen(text), hash);
    pid_t child = fork();
    if (child == 0) {
        char err[256];
        hr_ccr_store *cs = hr_ccr_store_open(&f->cfg, err, sizeof err);
        if (!cs || hr_ccr_put(cs, TENANT_A, hash, text, strlen(text), 0) != 0)
            _exit(1);
        raise(SIGKILL);
        _exit(2);
    }
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    hr_ccr_store *s = open_store(f);
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_ccr_get(s, TENANT_A, hash, &out), HR_CCR_FOUND);
    assert_string_equal(out.data, text);
    hr_buf_free(&out);
    hr_ccr_store_close(s);
}

/* A data dir that cannot be created or a file that is not a database: open fails with a
 * reason (the proxy then forwards originals), never a crash or a half-open store. */
static void unusable_data_dirs_fail_cleanly(void **state)
{
    fixture *f = *state;
    char err[256] = "";
    f->cfg.data_dir = "/proc/headroom-cannot-exist/ccr";
    assert_null(hr_ccr_store_open(&f->cfg, err, sizeof err));
    assert_non_null(strstr(err, "cannot create data dir"));
    char path[400];
    snprintf(path, sizeof path, "%s/ccr.sqlite3", f->dir);
    FILE *garbage = fopen(path, "wb");
    fputs("this is not a database file, just some text that is long enough", garbage);
    fclose(garbage);
    f->cfg.data_dir = f->dir;
    err[0] = '\0';
    assert_null(hr_ccr_store_open(&f->cfg, err, sizeof err));
    assert_non_null(strstr(err, "sqlite"));
}

/* Failures are counted one by one but logged once a minute: a full store under load must
 * not flood the log. stderr (the logger's stream) is captured in a file for the check. */
static void failures_are_counted_and_logged_once(void **state)
{
    fixture *f = *state;
    f->cfg.max_bytes = 4096;
    hr_ccr_store *s = open_store(f);
    unsigned char *big = make_bytes(8192, 3);
    char hash[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash(big, 8192, hash);
    char path[400];
    snprintf(path, sizeof path, "%s/stderr.txt", f->dir);
    fflush(stderr);
    int saved = dup(2);
    FILE *cap = fopen(path, "w+");
    dup2(fileno(cap), 2);
    for (int i = 0; i < 25; i++)
        assert_int_equal(hr_ccr_put(s, TENANT_A, hash, big, 8192, 0), -1);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(cap);
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof line, cap))
        lines += strstr(line, "ccr store failure") != NULL;
    fclose(cap);
    unlink(path);
    assert_int_equal(lines, 1);
    hr_ccr_stats st;
    hr_ccr_store_stats(s, &st);
    assert_int_equal(st.put_failures, 25);
    free(big);
    hr_ccr_store_close(s);
}

typedef struct worker {
    hr_ccr_store *s;
    int id;
    int failures;
} worker;

static void *worker_run(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 50; i++) {
        char text[64], hash[HR_CONTENT_HASH_HEX + 1];
        int n = snprintf(text, sizeof text, "worker %d item %d", w->id, i);
        hr_content_hash(text, (size_t)n, hash);
        hr_buf out = HR_BUF_INIT;
        if (hr_ccr_put(w->s, TENANT_A, hash, text, (size_t)n, 0) != 0 ||
            hr_ccr_get(w->s, TENANT_A, hash, &out) != HR_CCR_FOUND || out.len != (size_t)n ||
            memcmp(out.data, text, (size_t)n) != 0)
            w->failures++;
        hr_buf_free(&out);
    }
    return NULL;
}

/* Four threads on one store, and a child process with its own handle on the same file. */
static void concurrent_threads_and_processes(void **state)
{
    fixture *f = *state;
    hr_ccr_store *s = open_store(f);
    pid_t child = -1;
    if (f->cfg.backend == HR_CCR_BACKEND_SQLITE) {
        child = fork();
        if (child == 0) {
            char err[256];
            hr_ccr_store *cs = hr_ccr_store_open(&f->cfg, err, sizeof err);
            worker w = {cs, 99, 0};
            if (cs)
                worker_run(&w);
            hr_ccr_store_close(cs);
            _exit(cs && w.failures == 0 ? 0 : 1);
        }
    }
    pthread_t t[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){s, i, 0};
        pthread_create(&t[i], NULL, worker_run, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    if (child > 0) {
        int status = 0;
        waitpid(child, &status, 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        char hash[HR_CONTENT_HASH_HEX + 1];
        hr_content_hash("worker 99 item 49", 17, hash);
        hr_buf out = HR_BUF_INIT;
        assert_int_equal(hr_ccr_get(s, TENANT_A, hash, &out), HR_CCR_FOUND);
        hr_buf_free(&out);
    }
    hr_ccr_stats st;
    hr_ccr_store_stats(s, &st);
    assert_int_equal(st.entries, child > 0 ? 250 : 200);
    hr_ccr_store_close(s);
}

static void config_options_and_env(void **state)
{
    (void)state;
    hr_ccr_config c;
    hr_ccr_config_default(&c);
    assert_int_equal(c.backend, HR_CCR_BACKEND_SQLITE);
    assert_int_equal(c.ttl_seconds, 1800);
    char *argv[] = {"x", "--ccr-backend", "memory", "--ccr-ttl=60", "--data-dir", "/d", "--other"};
    char err[128];
    /* Each call leaves i on the last argument it consumed; the caller's loop steps past it. */
    int i = 1;
    assert_int_equal(hr_ccr_config_arg(&c, 7, argv, &i, err, sizeof err), 1);
    assert_int_equal(i, 2);
    i++;
    assert_int_equal(hr_ccr_config_arg(&c, 7, argv, &i, err, sizeof err), 1);
    assert_int_equal(i, 3);
    i++;
    assert_int_equal(hr_ccr_config_arg(&c, 7, argv, &i, err, sizeof err), 1);
    assert_int_equal(i, 5);
    i++;
    assert_int_equal(hr_ccr_config_arg(&c, 7, argv, &i, err, sizeof err), 0);
    assert_int_equal(i, 6);
    assert_int_equal(c.backend, HR_CCR_BACKEND_MEMORY);
    assert_int_equal(c.ttl_seconds, 60);
    assert_string_equal(c.data_dir, "/d");
    char *bad[] = {"x", "--ccr-ttl", "soon"};
    i = 1;
    assert_int_equal(hr_ccr_config_arg(&c, 3, bad, &i, err, sizeof err), -1);
    setenv("HEADROOM_CCR_BACKEND", "redis", 1);
    assert_int_equal(hr_ccr_config_from_env(&c, err, sizeof err), 0);
    assert_int_equal(c.backend, HR_CCR_BACKEND_REDIS);
    setenv("HEADROOM_CCR_BACKEND", "postgres", 1);
    assert_int_equal(hr_ccr_config_from_env(&c, err, sizeof err), -1);
    unsetenv("HEADROOM_CCR_BACKEND");
}

static void tenant_keys_hide_the_credential(void **state)
{
    (void)state;
    char a[HR_TENANT_MAX + 1], b[HR_TENANT_MAX + 1], none[HR_TENANT_MAX + 1];
    hr_tenant_derive("sk-ant-key-one", 14, a);
    hr_tenant_derive("sk-ant-key-two", 14, b);
    hr_tenant_derive(NULL, 0, none);
    assert_int_equal(strlen(a), 16);
    assert_true(hr_tenant_valid(a));
    assert_string_not_equal(a, b);
    char anon[HR_TENANT_MAX + 1];
    hr_tenant_derive("anonymous", 9, anon);
    assert_string_equal(none, anon); /* what the proxy uses without a credential */
    assert_true(hr_tenant_valid(none));
    assert_null(strstr(a, "sk-ant"));
    /* The documented derivation: first 16 hex of SHA-256("headroom-tenant:" + key), not the
     * plain SHA-256 of the key. */
    uint8_t d[32];
    char expect[65], plain[65];
    hr_sha256("headroom-tenant:sk-ant-key-one", 30, d);
    hr_hex(d, 8, expect);
    assert_string_equal(a, expect);
    hr_sha256("sk-ant-key-one", 14, d);
    hr_hex(d, 8, plain);
    assert_string_not_equal(a, plain);
    /* Keys as clients send them: x-api-key is the key itself; Bearer is the header value. */
    char k[HR_TENANT_MAX + 1], bearer[HR_TENANT_MAX + 1], want[HR_TENANT_MAX + 1];
    assert_int_equal(hr_tenant_for_key("sk-ant-key-one", 0, k), 0);
    assert_string_equal(k, a);
    assert_int_equal(hr_tenant_for_key("sk-ant-key-one", 1, bearer), 0);
    hr_tenant_derive("Bearer sk-ant-key-one", 21, want);
    assert_string_equal(bearer, want);
    setenv("HR_TEST_KEY", "sk-ant-key-one", 1);
    char *argv[] = {"x", "--bearer-env", "HR_TEST_KEY", "--tenant", "BAD", "--api-key-env", "HR_UNSET_X"};
    char out[HR_TENANT_MAX + 1], err[128];
    int i = 1;
    assert_int_equal(hr_ccr_tenant_arg(7, argv, &i, out, err, sizeof err), 1);
    assert_int_equal(i, 2); /* left on the value */
    assert_string_equal(out, want);
    i = 3;
    assert_int_equal(hr_ccr_tenant_arg(7, argv, &i, out, err, sizeof err), -1); /* not [0-9a-z] */
    i = 5;
    assert_int_equal(hr_ccr_tenant_arg(7, argv, &i, out, err, sizeof err), -1); /* unset */
    assert_non_null(strstr(err, "HR_UNSET_X"));
    assert_null(strstr(err, "sk-ant")); /* never echo a credential */
    unsetenv("HR_TEST_KEY");
    assert_false(hr_tenant_valid(""));
    assert_false(hr_tenant_valid("ABC"));
    assert_false(hr_tenant_valid("a:b"));
}

/* The auth scheme is case-insensitive and any run of blanks separates it from the key:
 * one key is one tenant however the client spells "Bearer" (it was two). The key itself
 * stays case-sensitive, and other schemes or a bare x-api-key value are hashed as sent. */
static void bearer_scheme_is_case_insensitive(void **state)
{
    (void)state;
    char want[HR_TENANT_MAX + 1], got[HR_TENANT_MAX + 1];
    assert_int_equal(hr_tenant_for_key("sk-Key-1", 1, want), 0);
    static const char *const same[] = {"Bearer sk-Key-1", "bearer sk-Key-1", "BEARER sk-Key-1",
                                       "Bearer  sk-Key-1", "bEaReR\tsk-Key-1"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        hr_tenant_for_header(same[i], got);
        assert_string_equal(got, want);
    }
    hr_tenant_for_header("bearer sk-key-1", got); /* another key */
    assert_string_not_equal(got, want);
    hr_tenant_for_header("Basic c2s6MQ==", got);
    char basic[HR_TENANT_MAX + 1];
    hr_tenant_derive("Basic c2s6MQ==", 14, basic);
    assert_string_equal(got, basic);
    hr_tenant_for_header("sk-Key-1", got); /* x-api-key */
    assert_int_equal(hr_tenant_for_key("sk-Key-1", 0, want), 0);
    assert_string_equal(got, want);
    hr_tenant_for_header(NULL, got);
    hr_tenant_derive(NULL, 0, want);
    assert_string_equal(got, want);
}

/* An existing data dir of ours that others can enter is made 0700; a shared one (sticky or
 * world-writable, like /tmp) or one owned by another user is refused with the reason. */
static void data_dir_is_made_private_or_refused(void **state)
{
    fixture *f = *state;
    char sub[400], err[256] = "";
    snprintf(sub, sizeof sub, "%s/open", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(chmod(sub, 0755), 0);
    f->cfg.data_dir = sub;
    hr_ccr_store *s = open_store(f);
    struct stat sb;
    assert_int_equal(stat(sub, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    hr_ccr_store_close(s);

    snprintf(sub, sizeof sub, "%s/shared", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(chmod(sub, 01777), 0);
    f->cfg.data_dir = sub;
    assert_null(hr_ccr_store_open(&f->cfg, err, sizeof err));
    assert_non_null(strstr(err, "shared directory"));
    assert_int_equal(stat(sub, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 01777); /* left as it was */

    if (geteuid() == 0) { /* only root can give a directory away */
        snprintf(sub, sizeof sub, "%s/theirs", f->dir);
        assert_int_equal(mkdir(sub, 0700), 0);
        assert_int_equal(chown(sub, 65534, 65534), 0);
        f->cfg.data_dir = sub;
        assert_null(hr_ccr_store_open(&f->cfg, err, sizeof err));
        assert_non_null(strstr(err, "belongs to uid 65534"));
    }
    f->cfg.data_dir = f->dir;
}

#define BOTH(fn) cmocka_unit_test_setup_teardown(fn, setup_sqlite, teardown), \
                 cmocka_unit_test_setup_teardown(fn, setup_memory, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(round_trip_is_byte_exact),
        BOTH(unknown_and_malformed_hashes),
        BOTH(tenants_are_isolated),
        BOTH(entries_expire_after_ttl),
        BOTH(size_cap_evicts_least_recently_used),
        BOTH(concurrent_threads_and_processes),
        cmocka_unit_test_setup_teardown(sqlite_files_are_private_and_survive_reopen,
                                        setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(sqlite_put_survives_kill_9, setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(unusable_data_dirs_fail_cleanly, setup_sqlite, teardown),
        BOTH(failures_are_counted_and_logged_once),
        cmocka_unit_test(config_options_and_env),
        cmocka_unit_test(tenant_keys_hide_the_credential),
        cmocka_unit_test(bearer_scheme_is_case_insensitive),
        cmocka_unit_test_setup_teardown(data_dir_is_made_private_or_refused, setup_sqlite,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
