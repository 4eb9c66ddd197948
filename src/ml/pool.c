/* pool.c: the process-wide ML worker pool (see pool.h for the contract).
 *
 * One mutex guards everything: job fields, chunk claims and completion counts. Chunks are
 * few (two per compute thread) and each is a large slice of a matmul, so a lock per claim
 * costs nothing measurable and rules out a late worker running an old fn on a new job's
 * range. Worker (and reaper) stacks are mmap'd here and munmapped after join: glibc would
 * otherwise keep joined threads' stacks in its cache, their touched pages in RssAnon.
 */
#include "ml/pool.h"

#include "ml/settings.h"
#include "sys/assert.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define POOL_STACK_BYTES (1u << 20) /* kernels keep activations in session scratch, not on stack */
#define CHUNKS_PER_THREAD 2

typedef struct pool_job {
    hr_ml_range_fn fn;
    void *ctx;
    size_t n;
    size_t nchunks;
    size_t next_chunk; /* next unclaimed chunk */
    size_t done_chunks;
} pool_job;

/* The singleton. Zero workers and zero holders at start; nothing allocated until acquire. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t work_cv; /* workers: a job was posted, or stop */
    pthread_cond_t done_cv; /* callers: job finished; release: pool went idle */
    int holders;
    int threads; /* compute threads incl. the caller, fixed while the pool runs */
    int nworkers;
    int stop;
    int busy;    /* a job is posted and not yet finished */
    int joining; /* the last release is joining workers; acquire waits for it */
    pool_job job;
    hr_ml_thread worker[HR_ML_POOL_MAX_THREADS];
} g_pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work_cv = PTHREAD_COND_INITIALIZER,
    .done_cv = PTHREAD_COND_INITIALIZER,
};

/* Set while a thread runs a range, so nested parallel_for calls run serially. */
static _Thread_local int t_in_range;

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

int hr_ml_pool_env_threads(void)
{
    return hr_ml_config_process().threads;
}

static void chunk_range(const pool_job *j, size_t c, size_t *begin, size_t *end)
{
    *begin = c * j->n / j->nchunks;
    *end = (c + 1) * j->n / j->nchunks;
}

static void run_range(hr_ml_range_fn fn, void *ctx, size_t begin, size_t end)
{
    t_in_range = 1;
    fn(ctx, begin, end);
    t_in_range = 0;
}

/* Claims and runs chunks of the posted job until none is left. Called with the lock held;
 * returns with it held. */
static void drain_job_locked(void)
{
    HR_ASSERT_HELD(&g_pool.lock);
    while (g_pool.busy && g_pool.job.next_chunk < g_pool.job.nchunks) {
        pool_job j = g_pool.job;
        size_t c = g_pool.job.next_chunk++;
        size_t b, e;
        chunk_range(&j, c, &b, &e);
        pthread_mutex_unlock(&g_pool.lock);
        run_range(j.fn, j.ctx, b, e);
        pthread_mutex_lock(&g_pool.lock);
        if (++g_pool.job.done_chunks == g_pool.job.nchunks)
            pthread_cond_broadcast(&g_pool.done_cv);
    }
}

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_pool.lock);
    while (!g_pool.stop) {
        drain_job_locked();
        if (!g_pool.stop)
            pthread_cond_wait(&g_pool.work_cv, &g_pool.lock);
    }
    pthread_mutex_unlock(&g_pool.lock);
    return NULL;
}

void hr_ml_parallel_for(size_t n, hr_ml_range_fn fn, void *ctx)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&g_pool.lock);
    if (t_in_range || n < 2 || g_pool.nworkers == 0 || g_pool.busy) {
        pthread_mutex_unlock(&g_pool.lock);
        fn(ctx, 0, n);
        return;
    }
    size_t chunks = (size_t)(g_pool.nworkers + 1) * CHUNKS_PER_THREAD;
    g_pool.job = (pool_job){.fn = fn, .ctx = ctx, .n = n, .nchunks = chunks < n ? chunks : n};
    g_pool.busy = 1;
    pthread_cond_broadcast(&g_pool.work_cv);
    drain_job_locked();
    while (g_pool.job.done_chunks < g_pool.job.nchunks)
        pthread_cond_wait(&g_pool.done_cv, &g_pool.lock);
    g_pool.busy = 0;
    pthread_cond_broadcast(&g_pool.done_cv); /* a release may be waiting for idle */
    pthread_mutex_unlock(&g_pool.lock);
}

static int create_thread(pthread_t *tid, pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(tid, attr, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int hr_ml_thread_start(hr_ml_thread *t, size_t stack_bytes, void *(*fn)(void *), void *arg)
{
    memset(t, 0, sizeof *t);
    size_t guard = page_size();
    void *mem = mmap(NULL, stack_bytes + guard, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (mem != MAP_FAILED) {
        pthread_attr_t attr;
        int ok = mprotect(mem, guard, PROT_NONE) == 0 && pthread_attr_init(&attr) == 0;
        if (ok) {
            ok = pthread_attr_setstack(&attr, (char *)mem + guard, stack_bytes) == 0 &&
                 create_thread(&t->tid, &attr, fn, arg) == 0;
            pthread_attr_destroy(&attr);
        }
        if (ok) {
            t->stack = mem;
            t->stack_bytes = stack_bytes + guard;
            t->started = 1;
            return 0;
        }
        munmap(mem, stack_bytes + guard);
    }
    pthread_attr_t attr; /* fallback: a default stack of the same size */
    if (pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setstacksize(&attr, stack_bytes);
    int rc = create_thread(&t->tid, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -1;
    t->started = 1;
    return 0;
}

void hr_ml_thread_join(hr_ml_thread *t)
{
    if (!t->started)
        return;
    pthread_join(t->tid, NULL);
    if (t->stack)
        munmap(t->stack, t->stack_bytes);
    memset(t, 0, sizeof *t);
}

int hr_ml_pool_acquire(int threads)
{
    pthread_mutex_lock(&g_pool.lock);
    while (g_pool.joining) /* worker[] and stop still belong to the exiting workers */
        pthread_cond_wait(&g_pool.done_cv, &g_pool.lock);
    int rc = 0;
    if (g_pool.holders++ == 0) {
        if (threads <= 0)
            threads = hr_ml_pool_env_threads();
        if (threads > HR_ML_POOL_MAX_THREADS)
            threads = HR_ML_POOL_MAX_THREADS;
        g_pool.threads = threads;
        g_pool.stop = 0;
        for (int i = 0; i < threads - 1; i++) {
            if (hr_ml_thread_start(&g_pool.worker[i], POOL_STACK_BYTES, worker_main, NULL) != 0) {
                rc = -1;
                break;
            }
            g_pool.nworkers++;
        }
    }
    pthread_mutex_unlock(&g_pool.lock);
    return rc;
}

void hr_ml_pool_release(void)
{
    pthread_mutex_lock(&g_pool.lock);
    if (g_pool.holders == 0 || --g_pool.holders > 0) {
        pthread_mutex_unlock(&g_pool.lock);
        return;
    }
    /* Last holder: let a running job finish (its caller may not hold the pool), then stop. */
    while (g_pool.busy)
        pthread_cond_wait(&g_pool.done_cv, &g_pool.lock);
    int n = g_pool.nworkers;
    g_pool.stop = 1;
    g_pool.nworkers = 0; /* from here parallel_for runs on callers */
    g_pool.joining = 1;
    pthread_cond_broadcast(&g_pool.work_cv);
    pthread_mutex_unlock(&g_pool.lock);

    for (int i = 0; i < n; i++)
        hr_ml_thread_join(&g_pool.worker[i]);
    pthread_mutex_lock(&g_pool.lock);
    g_pool.joining = 0;
    pthread_cond_broadcast(&g_pool.done_cv);
    pthread_mutex_unlock(&g_pool.lock);
}

int hr_ml_pool_workers(void)
{
    pthread_mutex_lock(&g_pool.lock);
    int n = g_pool.nworkers;
    pthread_mutex_unlock(&g_pool.lock);
    return n;
}

int hr_ml_pool_holders(void)
{
    pthread_mutex_lock(&g_pool.lock);
    int n = g_pool.holders;
    pthread_mutex_unlock(&g_pool.lock);
    return n;
}
