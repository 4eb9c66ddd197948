/* Unit tests for src/ml/session: lazy load, scratch sizing and mapping, explicit and idle
 * unload, the queue wait / busy path, load failures and fail-fast retry, eager policy,
 * threads (pool + reaper) gone after unload, status and its JSON, and the heap trim
 * wrapper's three outcomes as the session reports them.
 *
 * The session is exercised through a small model kind defined here ("filemodel"): it maps
 * a real file read-only (so mapped bytes are real file-backed pages) and sizes scratch from
 * max_seq, which lets these tests control timing and failures. The real encoder kind is
 * exercised by test_ml_memory.c.
 *
 * malloc_trim is interposed below (a definition in the executable wins over glibc's) so
 * each hr_heap_trim outcome can be produced on demand; mode TRIM_REAL forwards to glibc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "json/json.h"
#include "ml/pool.h"
#include "ml/session.h"
#include "sys/mem.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- malloc_trim interposition ----------------------------------------------------- */

enum { TRIM_REAL = 0, TRIM_FAKE_RELEASED, TRIM_FAKE_NOTHING, TRIM_BLOCK, TRIM_SLOW_RELEASED };
static atomic_int g_trim_mode = TRIM_REAL;
static atomic_int g_trim_calls;
static atomic_int g_trim_entered, g_trim_release; /* TRIM_BLOCK: hold until released */

static void sleep_ms(long ms);

int malloc_trim(size_t pad);
int malloc_trim(size_t pad)
{
    atomic_fetch_add(&g_trim_calls, 1);
    switch (atomic_load(&g_trim_mode)) {
    case TRIM_FAKE_RELEASED: return 1;
    case TRIM_FAKE_NOTHING: return 0;
    case TRIM_SLOW_RELEASED: /* widens the window between UNLOADED and the recorded trim */
        sleep_ms(150);
        return 1;
    case TRIM_BLOCK:
        atomic_store(&g_trim_entered, 1);
        while (!atomic_load(&g_trim_release))
            sleep_ms(1);
        return 0;
    default: {
        int (*real)(size_t) = (int (*)(size_t))dlsym(RTLD_NEXT, "malloc_trim");
        return real ? real(pad) : 0;
    }
    }
}

/* ---- the test model kind ----------------------------------------------------------- */

#define FM_MAX_SEQ 64
#define FM_BYTES_PER_TOKEN 8192

typedef struct filemodel {
    void *map;
    size_t size;
} filemodel;

static atomic_int fm_opens, fm_closes, fm_open_delay_ms, fm_fail;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int fm_open(const char *path, void **model, hr_ml_error *err)
{
    atomic_fetch_add(&fm_opens, 1);
    if (atomic_load(&fm_open_delay_ms) > 0)
        sleep_ms(atomic_load(&fm_open_delay_ms));
    if (atomic_load(&fm_fail)) {
        hr_ml_error_set(err, "filemodel: refused to open %s", path);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        hr_ml_error_set(err, "filemodel: cannot open %s", path);
        return -1;
    }
    filemodel *m = malloc(sizeof *m);
    m->size = (size_t)st.st_size;
    m->map = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m->map == MAP_FAILED) {
        free(m);
        hr_ml_error_set(err, "filemodel: mmap failed");
        return -1;
    }
    *model = m;
    return 0;
}

static void fm_close(void *p)
{
    filemodel *m = p;
    atomic_fetch_add(&fm_closes, 1);
    munmap(m->map, m->size);
    free(m);
}

static size_t fm_mapped(const void *p) { return ((const filemodel *)p)->size; }
static int fm_max_seq(const void *p) { (void)p; return FM_MAX_SEQ; }
static size_t fm_scratch(const void *p, int max_seq) { (void)p; return (size_t)max_seq * FM_BYTES_PER_TOKEN; }

static const hr_ml_kind filemodel_kind = {"filemodel", fm_open, fm_close, fm_mapped, fm_max_seq, fm_scratch};

/* ---- work functions ---------------------------------------------------------------- */

typedef struct work_arg {
    atomic_int calls;
    long hold_ms;           /* keep the session this long */
    atomic_int entered;     /* set once fn runs */
    int fail;
    size_t scratch_seen;
    int max_seq_seen;
    unsigned checksum;      /* reads back what was written to scratch and the model */
} work_arg;

static int touch_work(const hr_ml_loaded *l, void *p, hr_ml_error *err)
{
    work_arg *a = p;
    atomic_fetch_add(&a->calls, 1);
    atomic_store(&a->entered, 1);
    a->scratch_seen = l->scratch_bytes;
    a->max_seq_seen = l->max_seq;
    memset(l->scratch, 0x5a, l->scratch_bytes); /* the whole region must be writable */
    const filemodel *m = l->model;
    unsigned sum = 0;
    for (size_t i = 0; i < m->size; i++)
        sum += ((const unsigned char *)m->map)[i];
    sum += ((unsigned char *)l->scratch)[l->scratch_bytes - 1];
    a->checksum = sum;
    if (a->hold_ms > 0)
        sleep_ms(a->hold_ms);
    if (a->fail) {
        hr_ml_error_set(err, "work failed on purpose");
        return -1;
    }
    return 0;
}

/* ---- fixtures ---------------------------------------------------------------------- */

static char g_model_path[256];
static unsigned g_model_sum;
#define MODEL_BYTES 20000

static int make_model_file(void **state)
{
    (void)state;
    snprintf(g_model_path, sizeof g_model_path, "/tmp/hr_test_ml_session_%d.bin", (int)getpid());
    FILE *f = fopen(g_model_path, "wb");
    if (!f)
        return -1;
    g_model_sum = 0;
    for (int i = 0; i < MODEL_BYTES; i++) {
        unsigned char c = (unsigned char)(i * 7 + 3);
        g_model_sum += c;
        fputc(c, f);
    }
    fclose(f);
    return 0;
}

static int remove_model_file(void **state)
{
    (void)state;
    unlink(g_model_path);
    return 0;
}

static int reset_counters(void **state)
{
    (void)state;
    atomic_store(&fm_opens, 0);
    atomic_store(&fm_closes, 0);
    atomic_store(&fm_open_delay_ms, 0);
    atomic_store(&fm_fail, 0);
    atomic_store(&g_trim_mode, TRIM_REAL);
    atomic_store(&g_trim_calls, 0);
    return 0;
}

static int proc_threads(void)
{
    hr_mem_snapshot s;
    assert_int_equal(hr_mem_read(0, &s), 0);
    return s.threads;
}

/* The kernel drops an exited thread from the count a moment after pthread_join returns
 * (the join wakes on the tid clear, before the task is released), so poll up to 1 s. */
static int threads_settle_to(int want)
{
    int n = proc_threads();
    for (int i = 0; i < 200 && n != want; i++) {
        struct timespec ts = {0, 5000000L};
        nanosleep(&ts, NULL);
        n = proc_threads();
    }
    return n;
}

static hr_ml_session *open_session(long idle_ms, long queue_ms, int max_seq)
{
    hr_ml_session_config cfg;
    hr_ml_session_config_init(&cfg, "test", &filemodel_kind, g_model_path);
    cfg.idle_unload_ms = idle_ms;
    cfg.queue_ms = queue_ms;
    cfg.max_seq = max_seq;
    cfg.threads = 1;
    hr_ml_error err;
    hr_ml_session *s = hr_ml_session_open(&cfg, &err);
    assert_non_null(s);
    return s;
}

static size_t page_round(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return (n + pg - 1) / pg * pg;
}

/* Polls cond for up to ms milliseconds. */
static int wait_until(int (*cond)(void *), void *arg, long ms)
{
    for (long t = 0; t < ms; t += 5) {
        if (cond(arg))
            return 1;
        sleep_ms(5);
    }
    return cond(arg);
}

/* Unloaded and done: the state reads UNLOADED while the heap trim still runs; the unload
 * is counted (with its trim result) only after it, so wait until every load has its
 * unload counted before reading the trim. */
static int is_unloaded(void *p)
{
    hr_ml_session_status st;
    hr_ml_session_status_get(p, &st);
    return st.state == HR_ML_UNLOADED && st.unloads == st.loads;
}

static int runtime_idle(void *p)
{
    (void)p;
    return hr_ml_runtime_threads() == 0;
}

/* ---- tests ------------------------------------------------------------------------- */

static void lazy_load_on_first_call_then_reuse(void **state)
{
    (void)state;
    hr_ml_session *s = open_session(0, 25, 0);
    hr_ml_session_status st;
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.state, HR_ML_UNLOADED);
    assert_int_equal(st.mapped_bytes, 0);
    assert_int_equal(st.scratch_bytes, 0);
    assert_int_equal(atomic_load(&fm_opens), 0); /* nothing loads at open */

    work_arg a = {0};
    hr_ml_error err;
    for (int i = 0; i < 5; i++)
        assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_OK);
    assert_int_equal(atomic_load(&fm_opens), 1);
    assert_int_equal(a.calls, 5);
    assert_int_equal(a.checksum, g_model_sum + 0x5a);
    assert_int_equal(a.max_seq_seen, FM_MAX_SEQ);
    assert_int_equal(a.scratch_seen, page_round((size_t)FM_MAX_SEQ * FM_BYTES_PER_TOKEN));

    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.state, HR_ML_READY);
    assert_int_equal(st.mapped_bytes, MODEL_BYTES);
    assert_int_equal(st.scratch_bytes, a.scratch_seen);
    assert_int_equal(st.inferences, 5);
    assert_int_equal(st.loads, 1);
    assert_true(st.last_use_unix_ms > 0);
    assert_true(st.last_load_ms >= 0.0);
    assert_true(st.idle_ms >= 0);
    hr_ml_session_close(s);
    assert_int_equal(atomic_load(&fm_closes), 1);
}

static void max_seq_sizes_scratch_and_is_clamped(void **state)
{
    (void)state;
    work_arg a = {0};
    hr_ml_error err;
    hr_ml_session *s = open_session(0, 25, 16);
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_OK);
    assert_int_equal(a.max_seq_seen, 16);
    assert_int_equal(a.scratch_seen, page_round(16 * FM_BYTES_PER_TOKEN));
    hr_ml_session_close(s);

    s = open_session(0, 25, 100000); /* longer than the model takes: clamped */
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_OK);
    assert_int_equal(a.max_seq_seen, FM_MAX_SEQ);
    hr_ml_session_close(s);
}

static int scratch_is_mapped(void *addr)
{
    unsigned char v;
    return mincore(addr, 1, &v) == 0; /* ENOMEM once unmapped */
}

typedef struct addr_arg {
    void *scratch;
} addr_arg;

static int grab_scratch(const hr_ml_loaded *l, void *p, hr_ml_error *err)
{
    (void)err;
    ((addr_arg *)p)->scratch = l->scratch;
    ((char *)l->scratch)[0] = 1;
    return 0;
}

static void explicit_unload_unmaps_and_trims(void **state)
{
    (void)state;
    hr_ml_session *s = open_session(0, 25, 0);
    addr_arg aa = {0};
    hr_ml_error err;
    assert_int_equal(hr_ml_session_run(s, grab_scratch, &aa, &err), HR_ML_OK);
    assert_true(scratch_is_mapped(aa.scratch));
    assert_int_equal(hr_ml_session_unload(s), 1);
    assert_false(scratch_is_mapped(aa.scratch)); /* the scratch region went back */
    assert_int_equal(atomic_load(&fm_closes), 1);

    hr_ml_session_status st;
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.state, HR_ML_UNLOADED);
    assert_int_equal(st.mapped_bytes, 0);
    assert_int_equal(st.scratch_bytes, 0);
    assert_int_equal(st.unloads, 1);
    assert_int_equal(st.idle_ms, -1);
    assert_true(st.has_trim);
#ifdef HEADROOM_SANITIZE
    assert_int_equal(st.last_trim, HR_TRIM_UNAVAILABLE);
#else
    assert_int_equal(atomic_load(&g_trim_calls), 1);
    assert_true(st.last_trim == HR_TRIM_RELEASED || st.last_trim == HR_TRIM_NOTHING);
#endif
    assert_int_equal(hr_ml_session_unload(s), 0); /* nothing left to unload */

    /* the next call loads again */
    work_arg a = {0};
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_OK);
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.loads, 2);
    assert_int_equal(atomic_load(&fm_opens), 2);
    hr_ml_session_close(s);
    assert_int_equal(atomic_load(&fm_closes), 2);
}

typedef struct holder {
    hr_ml_session *s;
    work_arg a;
    hr_ml_rc rc;
} holder;

static void *hold_session(void *p)
{
    holder *h = p;
    hr_ml_error err;
    h->rc = hr_ml_session_run(h->s, touch_work, &h->a, &err);
    return NULL;
}

static void busy_after_queue_wait_fails_open(void **state)
{
    (void)state;
    hr_ml_session *s = open_session(0, 20, 0);
    hr_ml_error err;
    work_arg warm = {0};
    assert_int_equal(hr_ml_session_run(s, touch_work, &warm, &err), HR_ML_OK);

    holder h = {.s = s, .a = {.hold_ms = 600}};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hold_session, &h), 0);
    while (!atomic_load(&h.a.entered))
        sleep_ms(1);

    work_arg b = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(hr_ml_session_run(s, touch_work, &b, &err), HR_ML_BUSY);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long waited = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_int_equal(b.calls, 0);  /* nothing ran: the caller forwards its original */
    assert_true(waited >= 19);     /* it did wait its queue time ... */
    assert_true(waited < 500);     /* ... and not for the holder */
    assert_non_null(strstr(err.msg, "busy"));

    pthread_join(t, NULL);
    assert_int_equal(h.rc, HR_ML_OK);
    hr_ml_session_status st;
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.busy, 1);
    assert_int_equal(st.inferences, 2);
    assert_int_equal(hr_ml_session_run(s, touch_work, &b, &err), HR_ML_OK); /* free again */
    hr_ml_session_close(s);
}

static void queue_wait_admits_when_session_frees_in_time(void **state)
{
    (void)state;
    hr_ml_session *s = open_session(0, 3000, 0);
    hr_ml_error err;
    holder h = {.s = s, .a = {.hold_ms = 50}};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hold_session, &h), 0);
    while (!atomic_load(&h.a.entered))
        sleep_ms(1);
    work_arg b = {0};
    assert_int_equal(hr_ml_session_run(s, touch_work, &b, &err), HR_ML_OK);
    assert_int_equal(b.calls, 1);
    pthread_join(t, NULL);
    hr_ml_session_close(s);
}

static void caller_waiting_on_a_slow_load_gets_busy(void **state)
{
    (void)state;
    atomic_store(&fm_open_delay_ms, 500);
    hr_ml_session *s = open_session(0, 20, 0);
    holder h = {.s = s};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hold_session, &h), 0);
    hr_ml_session_status st;
    for (int i = 0; i < 5000; i++) {
        hr_ml_session_status_get(s, &st); /* status answers while the load runs */
        if (st.state == HR_ML_LOADING)
            break;
        sleep_ms(1);
    }
    assert_int_equal(st.state, HR_ML_LOADING);
    work_arg b = {0};
    hr_ml_error err;
    assert_int_equal(hr_ml_session_run(s, touch_work, &b, &err), HR_ML_BUSY);
    pthread_join(t, NULL);
    assert_int_equal(h.rc, HR_ML_OK);
    assert_int_equal(atomic_load(&fm_opens), 1); /* one load, not two */
    hr_ml_session_close(s);
}

static void load_failure_fails_fast_then_retries(void **state)
{
    (void)state;
    atomic_store(&fm_fail, 1);
    hr_ml_session_config cfg;
    hr_ml_session_config_init(&cfg, "failing", &filemodel_kind, g_model_path);
    cfg.idle_unload_ms = 0;
    cfg.retry_ms = 60000;
    hr_ml_error err;
    hr_ml_session *s = hr_ml_session_open(&cfg, &err);
    assert_non_null(s);
    work_arg a = {0};
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_ERROR);
    assert_non_null(strstr(err.msg, "refused"));
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_ERROR);
    assert_non_null(strstr(err.msg, "refused"));
    assert_int_equal(atomic_load(&fm_opens), 1); /* the second call did not retry the load */
    assert_int_equal(a.calls, 0);
    hr_ml_session_status st;
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.state, HR_ML_UNLOADED);
    assert_int_equal(st.errors, 2);
    assert_non_null(strstr(st.last_error, "refused"));
    assert_int_equal(hr_ml_runtime_threads(), 0);
    /* an explicit load retries at once and succeeds once the cause is gone */
    atomic_store(&fm_fail, 0);
    assert_int_equal(hr_ml_session_load(s, &err), HR_ML_OK);
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_OK);
    hr_ml_session_status_get(s, &st);
    assert_string_equal(st.last_error, "");
    hr_ml_session_close(s);

    /* a missing file is an error, not a crash */
    cfg.model_path = "/nonexistent/model.hrm";
    cfg.retry_ms = 0;
    s = hr_ml_session_open(&cfg, &err);
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_ERROR);
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_ERROR);
    assert_int_equal(atomic_load(&fm_opens), 4); /* retry_ms 0: every call tries again */
    hr_ml_session_close(s);
}

static void work_failure_is_reported(void **state)
{
    (void)state;
    hr_ml_session *s = open_session(0, 25, 0);
    work_arg a = {.fail = 1};
    hr_ml_error err;
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_ERROR);
    hr_ml_session_status st;
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.state, HR_ML_READY); /* the model stays usable */
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.inferences, 0);
    hr_ml_session_close(s);
}

static void eager_policy_loads_at_open(void **state)
{
    (void)state;
    hr_ml_session_config cfg;
    hr_ml_session_config_init(&cfg, "eager", &filemodel_kind, g_model_path);
    cfg.load = HR_ML_LOAD_EAGER;
    cfg.idle_unload_ms = 0;
    hr_ml_error err;
    hr_ml_session *s = hr_ml_session_open(&cfg, &err);
    hr_ml_session_status st;
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.state, HR_ML_READY);
    assert_int_equal(atomic_load(&fm_opens), 1);
    hr_ml_session_close(s);
}

typedef struct thread_counts {
    int runtime, proc;
} thread_counts;

static int count_threads(const hr_ml_loaded *l, void *p, hr_ml_error *err)
{
    (void)l;
    (void)err;
    thread_counts *tc = p;
    tc->runtime = hr_ml_runtime_threads();
    tc->proc = proc_threads();
    return 0;
}

static void idle_unload_then_no_thread_left(void **state)
{
    (void)state;
    int base = proc_threads();
    hr_ml_session *s = open_session(150, 25, 0);
    assert_int_equal(proc_threads(), base); /* lazy: no thread before the first call */
    work_arg a = {0};
    hr_ml_error err;
    /* counted inside the call: a session in use cannot be reaped, so this cannot race */
    thread_counts tc = {0};
    assert_int_equal(hr_ml_session_run(s, count_threads, &tc, &err), HR_ML_OK);
    assert_int_equal(tc.runtime, 1); /* the reaper, nothing else at cap 1 */
    assert_int_equal(tc.proc, base + 1);

    assert_true(wait_until(is_unloaded, s, 5000));
    hr_ml_session_status st;
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.idle_unloads, 1);
    assert_int_equal(st.mapped_bytes, 0);
    assert_true(st.has_trim);
    assert_int_equal(atomic_load(&fm_closes), 1);
    assert_true(wait_until(runtime_idle, NULL, 2000));
    assert_int_equal(threads_settle_to(base), base);

    /* used again: loads again, and a second idle period unloads again */
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_OK);
    assert_true(wait_until(is_unloaded, s, 5000));
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.idle_unloads, 2);
    hr_ml_session_close(s);
    assert_int_equal(hr_ml_runtime_threads(), 0);
    assert_int_equal(threads_settle_to(base), base);
}

/* A reader that sees the unload counted sees its trim too: with a slow trim the state
 * reads UNLOADED 150 ms before the trim result exists (the flake this guards against). */
static void idle_unload_counted_with_its_trim(void **state)
{
    (void)state;
    atomic_store(&g_trim_mode, TRIM_SLOW_RELEASED);
    hr_ml_session *s = open_session(30, 25, 0);
    work_arg a = {0};
    hr_ml_error err;
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_OK);
    assert_true(wait_until(is_unloaded, s, 5000));
    hr_ml_session_status st;
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.idle_unloads, 1);
    assert_true(st.has_trim);
#ifdef HEADROOM_SANITIZE
    /* the wrapper never calls malloc_trim there (no slow trim): the order still holds */
    assert_int_equal(st.last_trim, HR_TRIM_UNAVAILABLE);
#else
    assert_int_equal(st.last_trim, HR_TRIM_RELEASED);
#endif
    hr_ml_session_close(s);
    atomic_store(&g_trim_mode, TRIM_REAL);
}

static void use_postpones_idle_unload(void **state)
{
    (void)state;
    hr_ml_session *s = open_session(1000, 25, 0);
    work_arg a = {0};
    hr_ml_error err;
    for (int i = 0; i < 8; i++) { /* 8 x 100 ms gaps, each far below the timeout */
        assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_OK);
        sleep_ms(100);
    }
    hr_ml_session_status st;
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.state, HR_ML_READY);
    assert_int_equal(st.loads, 1);
    assert_true(wait_until(is_unloaded, s, 5000));
    hr_ml_session_close(s);
}

static void explicit_unload_joins_reaper_and_pool(void **state)
{
    (void)state;
    int base = proc_threads();
    hr_ml_session_config cfg;
    hr_ml_session_config_init(&cfg, "threaded", &filemodel_kind, g_model_path);
    cfg.idle_unload_ms = 60000;
    cfg.threads = 3;
    hr_ml_error err;
    hr_ml_session *s = hr_ml_session_open(&cfg, &err);
    work_arg a = {0};
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_OK);
    assert_int_equal(hr_ml_pool_workers(), 2);
    assert_int_equal(proc_threads(), base + 3); /* 2 workers + the reaper */
    assert_int_equal(hr_ml_session_unload(s), 1);
    assert_int_equal(hr_ml_runtime_threads(), 0); /* joined before unload returned */
    assert_int_equal(threads_settle_to(base), base);
    hr_ml_session_close(s);
}

static void unload_all_and_two_sessions_share_the_pool(void **state)
{
    (void)state;
    int base = proc_threads();
    hr_ml_session *a = open_session(60000, 25, 0);
    hr_ml_session *b = open_session(60000, 25, 0);
    work_arg w = {0};
    hr_ml_error err;
    assert_int_equal(hr_ml_session_run(a, touch_work, &w, &err), HR_ML_OK);
    assert_int_equal(hr_ml_session_run(b, touch_work, &w, &err), HR_ML_OK);
    assert_int_equal(hr_ml_pool_holders(), 2);
    assert_int_equal(proc_threads(), base + 1); /* one reaper for all sessions */
    assert_int_equal(hr_ml_session_unload(a), 1);
    assert_int_equal(proc_threads(), base + 1); /* b still loaded: reaper stays */
    assert_int_equal(hr_ml_session_run(a, touch_work, &w, &err), HR_ML_OK);
    assert_int_equal(hr_ml_unload_all(), 2);
    assert_int_equal(hr_ml_pool_holders(), 0);
    assert_int_equal(threads_settle_to(base), base);
    hr_ml_session_close(a);
    hr_ml_session_close(b);
}

static void *hammer(void *p)
{
    hr_ml_session *s = p;
    work_arg a = {0};
    hr_ml_error err;
    for (int i = 0; i < 40; i++) {
        if (hr_ml_session_run(s, touch_work, &a, &err) != HR_ML_OK)
            return (void *)1;
        if (i % 10 == 9)
            hr_ml_session_unload(s); /* unloads racing runs: each run still sees a model */
    }
    return NULL;
}

static void concurrent_runs_and_unloads(void **state)
{
    (void)state;
    int base = proc_threads();
    hr_ml_session *s = open_session(0, 10000, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, s), 0);
    for (int i = 0; i < 4; i++) {
        void *rv = (void *)1;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
    hr_ml_session_status st;
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.inferences, 160);
    assert_int_equal(atomic_load(&fm_opens) - atomic_load(&fm_closes), st.state == HR_ML_READY);
    hr_ml_session_close(s);
    assert_int_equal(atomic_load(&fm_opens), atomic_load(&fm_closes));
    assert_int_equal(threads_settle_to(base), base);
}

static void *run_with_gaps(void *p)
{
    hr_ml_session *s = p;
    work_arg a = {0};
    hr_ml_error err;
    for (int i = 0; i < 40; i++) {
        if (hr_ml_session_run(s, touch_work, &a, &err) != HR_ML_OK)
            return (void *)1;
        sleep_ms(i % 3); /* gaps around the idle timeout: the reaper races the callers */
    }
    return NULL;
}

static void idle_reaper_racing_callers(void **state)
{
    (void)state;
    int base = proc_threads();
    hr_ml_session *s = open_session(1, 10000, 0);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, run_with_gaps, s), 0);
    for (int i = 0; i < 3; i++) {
        void *rv = (void *)1;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
    hr_ml_session_status st;
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.inferences, 120);
    assert_true(wait_until(is_unloaded, s, 5000));
    hr_ml_session_status_get(s, &st);
    assert_true(st.idle_unloads >= 1);
    hr_ml_session_close(s);
    assert_int_equal(atomic_load(&fm_opens), atomic_load(&fm_closes));
    assert_int_equal(hr_ml_runtime_threads(), 0);
    assert_int_equal(threads_settle_to(base), base);
}

static void status_json_is_valid_and_truthful(void **state)
{
    (void)state;
    hr_ml_session *s = open_session(0, 25, 0);
    work_arg a = {0};
    hr_ml_error err;
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_OK);
    hr_buf b = HR_BUF_INIT;
    assert_int_equal(hr_ml_sessions_json(&b), 0);
    hr_json_doc d;
    hr_json_error je;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(&d, b.data, b.len, &lim, &je), 0);
    assert_int_equal(d.nodes[0].type, HR_JSON_ARRAY);
    assert_int_equal(d.nodes[0].count, 1);
    uint32_t o = hr_json_index(&d, 0, 0);
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, o, "state"), "ready"));
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, o, "kind"), "filemodel"));
    int64_t v;
    assert_int_equal(hr_json_int64(&d, hr_json_get(&d, o, "mapped_bytes"), &v), 0);
    assert_int_equal(v, MODEL_BYTES);
    assert_int_equal(hr_json_int64(&d, hr_json_get(&d, o, "inferences"), &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(hr_json_get(&d, o, "last_trim") != HR_JSON_NONE, 1);
    hr_json_doc_free(&d);

    hr_buf_reset(&b);
    assert_int_equal(hr_ml_runtime_json(&b), 0);
    assert_int_equal(hr_json_parse(&d, b.data, b.len, &lim, &je), 0);
    assert_int_equal(hr_json_int64(&d, hr_json_get(&d, 0, "pool_holders"), &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(d.nodes[hr_json_get(&d, 0, "sessions")].count, 1);
    hr_json_doc_free(&d);

    atomic_store(&g_trim_mode, TRIM_FAKE_NOTHING);
    hr_ml_session_unload(s);
    hr_buf_reset(&b);
    assert_int_equal(hr_ml_session_status_json(s, &b), 0);
    assert_int_equal(hr_json_parse(&d, b.data, b.len, &lim, &je), 0);
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, 0, "state"), "unloaded"));
#ifdef HEADROOM_SANITIZE
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, 0, "last_trim"), "unavailable"));
#else
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, 0, "last_trim"), "nothing_to_release"));
#endif
    hr_json_doc_free(&d);
    hr_buf_free(&b);
    hr_ml_session_close(s);
}

#ifndef HEADROOM_SANITIZE
static void *unload_in_thread(void *p)
{
    hr_ml_session_unload(p);
    return NULL;
}
#endif

/* While an unload's heap trim is still running, a loader gets in at once: the trim holds
 * no lock a loader takes. */
static void trim_runs_outside_the_loader_lock(void **state)
{
    (void)state;
#ifdef HEADROOM_SANITIZE
    skip(); /* the wrapper does not call malloc_trim there, so it cannot be held */
#else
    hr_ml_session *s = open_session(0, 25, 0);
    work_arg a = {0};
    hr_ml_error err;
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_OK);
    atomic_store(&g_trim_entered, 0);
    atomic_store(&g_trim_release, 0);
    atomic_store(&g_trim_mode, TRIM_BLOCK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, unload_in_thread, s), 0);
    while (!atomic_load(&g_trim_entered))
        sleep_ms(1);
    /* the unloader is inside malloc_trim now */
    hr_ml_session_status st;
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.state, HR_ML_UNLOADED);
    assert_int_equal(hr_ml_session_run(s, touch_work, &a, &err), HR_ML_OK); /* 25 ms queue */
    hr_ml_session_status_get(s, &st);
    assert_int_equal(st.state, HR_ML_READY);
    assert_int_equal(st.loads, 2);
    atomic_store(&g_trim_release, 1);
    pthread_join(t, NULL);
    atomic_store(&g_trim_mode, TRIM_REAL);
    hr_ml_session_close(s);
#endif
}

/* ---- the trim wrapper's three outcomes (src/sys/mem.c), each where it can occur ----- */

static void trim_reports_released(void **state)
{
    (void)state;
#ifdef HEADROOM_SANITIZE
    skip(); /* sanitizer allocators: the wrapper reports unavailable (tested below) */
#else
    atomic_store(&g_trim_mode, TRIM_FAKE_RELEASED);
    long rel = -1;
    assert_int_equal(hr_heap_trim(&rel), HR_TRIM_RELEASED);
    assert_int_equal(atomic_load(&g_trim_calls), 1);

    /* and with glibc's own malloc_trim: free pages held inside the heap are returned */
    atomic_store(&g_trim_mode, TRIM_REAL);
    enum { N = 4096 };
    static void *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(8000); /* below the mmap threshold: heap pages */
        memset(blocks[i], 1, 8000);
    }
    for (int i = 0; i < N - 1; i++) /* the last block pins the top, so free() cannot trim */
        free(blocks[i]);
    hr_mem_snapshot before, after;
    hr_mem_read(0, &before);
    assert_int_equal(hr_heap_trim(&rel), HR_TRIM_RELEASED);
    hr_mem_read(0, &after);
    assert_true(rel > 8 * 1024 * 1024); /* ~32 MB were sitting free in the heap */
    assert_true(after.rss_anon + 8 * 1024 * 1024 < before.rss_anon);
    free(blocks[N - 1]);
#endif
}

static void trim_reports_nothing(void **state)
{
    (void)state;
#ifdef HEADROOM_SANITIZE
    skip();
#else
    atomic_store(&g_trim_mode, TRIM_FAKE_NOTHING);
    long rel = -1;
    assert_int_equal(hr_heap_trim(&rel), HR_TRIM_NOTHING);
    assert_int_equal(atomic_load(&g_trim_calls), 1);
    assert_string_equal(hr_trim_result_name(HR_TRIM_NOTHING), "nothing_to_release");
#endif
}

static void trim_reports_unavailable(void **state)
{
    (void)state;
#ifdef HEADROOM_SANITIZE
    long rel = -1;
    assert_int_equal(hr_heap_trim(&rel), HR_TRIM_UNAVAILABLE);
    assert_int_equal(rel, 0);
    assert_int_equal(atomic_load(&g_trim_calls), 0); /* it did not pretend to trim */
    assert_string_equal(hr_trim_result_name(HR_TRIM_UNAVAILABLE), "unavailable");
#else
    skip(); /* glibc build: malloc_trim exists; the sanitizer build covers this case */
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(lazy_load_on_first_call_then_reuse, reset_counters),
        cmocka_unit_test_setup(max_seq_sizes_scratch_and_is_clamped, reset_counters),
        cmocka_unit_test_setup(explicit_unload_unmaps_and_trims, reset_counters),
        cmocka_unit_test_setup(busy_after_queue_wait_fails_open, reset_counters),
        cmocka_unit_test_setup(queue_wait_admits_when_session_frees_in_time, reset_counters),
        cmocka_unit_test_setup(caller_waiting_on_a_slow_load_gets_busy, reset_counters),
        cmocka_unit_test_setup(load_failure_fails_fast_then_retries, reset_counters),
        cmocka_unit_test_setup(work_failure_is_reported, reset_counters),
        cmocka_unit_test_setup(eager_policy_loads_at_open, reset_counters),
        cmocka_unit_test_setup(idle_unload_then_no_thread_left, reset_counters),
        cmocka_unit_test_setup(idle_unload_counted_with_its_trim, reset_counters),
        cmocka_unit_test_setup(use_postpones_idle_unload, reset_counters),
        cmocka_unit_test_setup(explicit_unload_joins_reaper_and_pool, reset_counters),
        cmocka_unit_test_setup(unload_all_and_two_sessions_share_the_pool, reset_counters),
        cmocka_unit_test_setup(concurrent_runs_and_unloads, reset_counters),
        cmocka_unit_test_setup(idle_reaper_racing_callers, reset_counters),
        cmocka_unit_test_setup(status_json_is_valid_and_truthful, reset_counters),
        cmocka_unit_test_setup(trim_runs_outside_the_loader_lock, reset_counters),
        cmocka_unit_test_setup(trim_reports_released, reset_counters),
        cmocka_unit_test_setup(trim_reports_nothing, reset_counters),
        cmocka_unit_test_setup(trim_reports_unavailable, reset_counters),
    };
    return cmocka_run_group_tests(tests, make_model_file, remove_model_file);
}
