/* pool.h: the one process-wide worker pool for ML compute (a documented singleton).
 *
 * Why one pool: the original let every ML path size its own runtime threads, so thread
 * counts (and the per-thread allocator arenas that come with them) grew with each model.
 * Here no ML code creates threads; kernels split work through hr_ml_parallel_for and the
 * pool runs it on at most HEADROOM_ML_THREADS threads in total, the caller included.
 *
 * Lifetime: the pool has no threads until a holder acquires it (the session helper does at
 * load) and its threads are joined, and their stacks unmapped, when the last holder
 * releases it (at unload), so "no thread left behind" holds. With a cap of 1 (the default)
 * or without a holder, hr_ml_parallel_for simply runs fn(ctx, 0, n) on the caller.
 *
 * Contract for fn: ranges [begin, end) partition [0, n); each range may run on any thread,
 * so fn must write only to the outputs of its own indices and must not reduce across
 * ranges (that keeps results identical for every thread count: deterministic output).
 * fn must not malloc (a worker's first malloc would create a glibc arena that outlives the
 * pool) and must not block. Nested calls from inside fn run serially on that thread.
 */
#ifndef HR_ML_POOL_H
#define HR_ML_POOL_H

#include <pthread.h>
#include <stddef.h>

typedef void (*hr_ml_range_fn)(void *ctx, size_t begin, size_t end);

/* Runs fn over [0, n) split into contiguous ranges across the pool and the caller; returns
 * when every range is done. When no one holds the pool, the cap is 1, n < 2, or the pool is
 * busy with another caller's job, everything runs on the caller: never an extra thread. */
void hr_ml_parallel_for(size_t n, hr_ml_range_fn fn, void *ctx);

/* Takes a hold on the pool. The first holder starts it with `threads` compute threads in
 * total (caller included, so threads - 1 workers); threads <= 0 means HEADROOM_ML_THREADS
 * (default 1). The value is clamped to [1, HR_ML_POOL_MAX_THREADS]. Later holders share the
 * running pool as it is. Returns 0, or -1 if a thread could not be started (the pool then
 * runs with the threads it has, possibly none: still correct, only slower). */
int hr_ml_pool_acquire(int threads);

/* Drops a hold; the last one stops and joins every worker before returning. */
void hr_ml_pool_release(void);

#define HR_ML_POOL_MAX_THREADS 64

/* The process's thread cap: HEADROOM_ML_THREADS through its row (ml/settings.h), clamped to
 * HR_ML_POOL_MAX_THREADS (default 1). */
int hr_ml_pool_env_threads(void);

/* The ML runtime's threads (pool workers and the session helper's idle reaper) start
 * here: on a stack mmap'd by us with a guard page, unmapped at join (glibc would keep a
 * joined thread's stack cached and its touched pages in RssAnon), with every signal
 * blocked so signals stay with the application's threads. Where a caller-provided stack
 * is refused (some sanitizer runtimes), the thread starts on a default stack instead. */
typedef struct hr_ml_thread {
    pthread_t tid;
    void *stack;       /* our mapping, or NULL when on a default stack */
    size_t stack_bytes;
    int started;
} hr_ml_thread;

int hr_ml_thread_start(hr_ml_thread *t, size_t stack_bytes, void *(*fn)(void *), void *arg);
/* Joins and unmaps; a no-op if not started. */
void hr_ml_thread_join(hr_ml_thread *t);

/* Introspection for status and tests. */
int hr_ml_pool_workers(void);  /* worker threads currently alive (excludes callers) */
int hr_ml_pool_holders(void);  /* current holds */

#endif
