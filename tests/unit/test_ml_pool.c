/* Unit tests for src/ml/pool: the thread cap, coverage of every index exactly once, results
 * independent of the thread count, nesting, concurrent callers, and no thread left behind
 * after the last release (counted in /proc/self/status, not by the pool's own word). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ml/pool.h"
#include "sys/mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Marks each index it is given; a second visit of an index is recorded as an error. */
typedef struct cover_ctx {
    size_t n;
    atomic_int *hits;
    atomic_int calls;
    pthread_t caller;
    atomic_int off_caller; /* ranges run on a thread other than the caller */
} cover_ctx;

static void cover_fn(void *p, size_t begin, size_t end)
{
    cover_ctx *c = p;
    atomic_fetch_add(&c->calls, 1);
    if (!pthread_equal(pthread_self(), c->caller))
        atomic_fetch_add(&c->off_caller, 1);
    for (size_t i = begin; i < end; i++)
        atomic_fetch_add(&c->hits[i], 1);
}

static void run_cover(size_t n, cover_ctx *c)
{
    c->n = n;
    c->hits = calloc(n ? n : 1, sizeof *c->hits);
    assert_non_null(c->hits);
    atomic_init(&c->calls, 0);
    atomic_init(&c->off_caller, 0);
    c->caller = pthread_self();
    hr_ml_parallel_for(n, cover_fn, c);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(atomic_load(&c->hits[i]), 1);
    free(c->hits);
}

static void env_threads_parsed_and_clamped(void **state)
{
    (void)state;
    unsetenv("HEADROOM_ML_THREADS");
    assert_int_equal(hr_ml_pool_env_threads(), 1);
    setenv("HEADROOM_ML_THREADS", "3", 1);
    assert_int_equal(hr_ml_pool_env_threads(), 3);
    setenv("HEADROOM_ML_THREADS", "0", 1);
    assert_int_equal(hr_ml_pool_env_threads(), 1);
    setenv("HEADROOM_ML_THREADS", "2x", 1);
    assert_int_equal(hr_ml_pool_env_threads(), 1);
    setenv("HEADROOM_ML_THREADS", "100000", 1);
    assert_int_equal(hr_ml_pool_env_threads(), HR_ML_POOL_MAX_THREADS);
    unsetenv("HEADROOM_ML_THREADS");
}

static void default_cap_runs_on_caller_without_threads(void **state)
{
    (void)state;
    unsetenv("HEADROOM_ML_THREADS");
    int base = proc_threads();
    assert_int_equal(hr_ml_pool_acquire(0), 0);
    assert_int_equal(hr_ml_pool_workers(), 0);
    assert_int_equal(threads_settle_to(base), base);
    cover_ctx c;
    run_cover(1000, &c);
    assert_int_equal(atomic_load(&c.calls), 1); /* one range: the whole of [0, n) */
    assert_int_equal(atomic_load(&c.off_caller), 0);
    hr_ml_pool_release();
    assert_int_equal(hr_ml_pool_holders(), 0);
}

static void without_holder_runs_on_caller(void **state)
{
    (void)state;
    assert_int_equal(hr_ml_pool_holders(), 0);
    cover_ctx c;
    run_cover(777, &c);
    assert_int_equal(atomic_load(&c.calls), 1);
    run_cover(0, &c);
    assert_int_equal(atomic_load(&c.calls), 0);
}

static void capped_pool_covers_every_index_once_and_joins(void **state)
{
    (void)state;
    int base = proc_threads();
    assert_int_equal(hr_ml_pool_acquire(4), 0);
    assert_int_equal(hr_ml_pool_workers(), 3);
    assert_int_equal(proc_threads(), base + 3); /* cap 4 = caller + 3 workers, no more */
    for (int round = 0; round < 50; round++) {
        cover_ctx c;
        run_cover(1 + (size_t)round * 37, &c);
        assert_true(atomic_load(&c.calls) >= 1);
        assert_true(atomic_load(&c.calls) <= 8);
    }
    assert_int_equal(proc_threads(), base + 3); /* never a thread per call */
    hr_ml_pool_release();
    assert_int_equal(hr_ml_pool_workers(), 0);
    assert_int_equal(threads_settle_to(base), base);
}

static void holds_are_counted(void **state)
{
    (void)state;
    int base = proc_threads();
    assert_int_equal(hr_ml_pool_acquire(2), 0);
    assert_int_equal(hr_ml_pool_acquire(8), 0); /* shares the running pool as it is */
    assert_int_equal(hr_ml_pool_workers(), 1);
    hr_ml_pool_release();
    assert_int_equal(hr_ml_pool_workers(), 1);
    assert_int_equal(proc_threads(), base + 1);
    hr_ml_pool_release();
    assert_int_equal(threads_settle_to(base), base);
    hr_ml_pool_release(); /* an extra release is harmless */
    assert_int_equal(hr_ml_pool_holders(), 0);
}

/* A dot product per output row: same bytes whatever the thread count. */
typedef struct rows_ctx {
    const float *a;
    const float *x;
    float *y;
    size_t cols;
} rows_ctx;

static void rows_fn(void *p, size_t begin, size_t end)
{
    rows_ctx *r = p;
    for (size_t i = begin; i < end; i++) {
        float s = 0.f;
        for (size_t j = 0; j < r->cols; j++)
            s += r->a[i * r->cols + j] * r->x[j];
        r->y[i] = s;
    }
}

static void results_identical_across_thread_counts(void **state)
{
    (void)state;
    enum { ROWS = 301, COLS = 97 };
    static float a[ROWS * COLS], x[COLS], y1[ROWS], y3[ROWS];
    unsigned s = 12345;
    for (size_t i = 0; i < ROWS * COLS; i++) {
        s = s * 1103515245u + 12345u;
        a[i] = (float)((s >> 8) & 0xffff) / 65536.f - 0.5f;
    }
    for (size_t j = 0; j < COLS; j++)
        x[j] = (float)j / COLS - 0.3f;
    rows_ctx r1 = {a, x, y1, COLS}, r3 = {a, x, y3, COLS};
    hr_ml_parallel_for(ROWS, rows_fn, &r1);
    assert_int_equal(hr_ml_pool_acquire(3), 0);
    hr_ml_parallel_for(ROWS, rows_fn, &r3);
    hr_ml_pool_release();
    assert_memory_equal(y1, y3, sizeof y1);
}

/* A range that itself calls parallel_for must not deadlock on the pool. */
typedef struct nest_ctx {
    atomic_int inner_calls;
    atomic_int inner_items;
} nest_ctx;

static void inner_fn(void *p, size_t begin, size_t end)
{
    nest_ctx *c = p;
    atomic_fetch_add(&c->inner_calls, 1);
    atomic_fetch_add(&c->inner_items, (int)(end - begin));
}

static void outer_fn(void *p, size_t begin, size_t end)
{
    for (size_t i = begin; i < end; i++)
        hr_ml_parallel_for(10, inner_fn, p);
}

static void nested_calls_run_serially(void **state)
{
    (void)state;
    assert_int_equal(hr_ml_pool_acquire(3), 0);
    nest_ctx c;
    atomic_init(&c.inner_calls, 0);
    atomic_init(&c.inner_items, 0);
    hr_ml_parallel_for(20, outer_fn, &c);
    assert_int_equal(atomic_load(&c.inner_calls), 20); /* one serial range per inner call */
    assert_int_equal(atomic_load(&c.inner_items), 200);
    hr_ml_pool_release();
}

static void *concurrent_caller(void *p)
{
    (void)p;
    for (int i = 0; i < 200; i++) {
        cover_ctx c;
        c.n = 513;
        c.hits = calloc(c.n, sizeof *c.hits);
        if (!c.hits)
            return (void *)1;
        atomic_init(&c.calls, 0);
        atomic_init(&c.off_caller, 0);
        c.caller = pthread_self();
        hr_ml_parallel_for(c.n, cover_fn, &c);
        for (size_t k = 0; k < c.n; k++)
            if (atomic_load(&c.hits[k]) != 1) {
                free(c.hits);
                return (void *)1;
            }
        free(c.hits);
    }
    return NULL;
}

static void concurrent_callers_each_complete(void **state)
{
    (void)state;
    assert_int_equal(hr_ml_pool_acquire(3), 0);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, concurrent_caller, NULL), 0);
    for (int i = 0; i < 3; i++) {
        void *rv = (void *)1;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
    hr_ml_pool_release();
    assert_int_equal(hr_ml_pool_workers(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(env_threads_parsed_and_clamped),
        cmocka_unit_test(default_cap_runs_on_caller_without_threads),
        cmocka_unit_test(without_holder_runs_on_caller),
        cmocka_unit_test(capped_pool_covers_every_index_once_and_joins),
        cmocka_unit_test(holds_are_counted),
        cmocka_unit_test(results_identical_across_thread_counts),
        cmocka_unit_test(nested_calls_run_serially),
        cmocka_unit_test(concurrent_callers_each_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
