/* workers.c: the worker pool of workers.h (first written for branch relay14): a mutex-guarded ring of jobs and detached
 * threads that wait on one condition variable. A pool's threads are counted, not tracked:
 * stop waits for the count to reach zero. */
#include "http/workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/* The absolute CLOCK_REALTIME time ms from now, as pthread_cond_timedwait takes it. */
static struct timespec deadline_in_ms(unsigned ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

typedef struct job {
    hr_worker_fn fn;
    void *arg;
} job;

struct hr_workers {
    hr_workers_opts opts;
    pthread_mutex_t mu;
    pthread_cond_t work;    /* a job was queued, or stop */
    pthread_cond_t gone;    /* a thread exited */
    job *ring;
    unsigned head, count;   /* ring[head] is the oldest waiting job */
    unsigned threads, idle;
    unsigned busy;          /* threads running a job; threads - busy will take queued ones */
    unsigned long refused;
    int stopping;
};

static int pop_locked(hr_workers *w, job *out)
{
    if (!w->count)
        return 0;
    *out = w->ring[w->head];
    w->head = (w->head + 1) % w->opts.max_queued;
    w->count--;
    return 1;
}

/* Waits for a job, idle_ms at a time. 1 with *out filled, 0 when the thread should exit
 * (stopping, or idle past idle_ms while more than min_threads run). */
static int next_job_locked(hr_workers *w, job *out)
{
    struct timespec until = deadline_in_ms(w->opts.idle_ms);
    for (;;) {
        if (pop_locked(w, out))
            return 1;
        if (w->stopping)
            return 0;
        w->idle++;
        int rc = pthread_cond_timedwait(&w->work, &w->mu, &until);
        w->idle--;
        if (rc != ETIMEDOUT || w->count)
            continue;
        if (w->threads > w->opts.min_threads)
            return 0;
        until = deadline_in_ms(w->opts.idle_ms); /* one of min_threads: keep waiting */
    }
}

static void *worker_main(void *arg)
{
    hr_workers *w = arg;
    pthread_mutex_lock(&w->mu);
    job j;
    while (next_job_locked(w, &j)) {
        w->busy++;
        pthread_mutex_unlock(&w->mu);
        j.fn(j.arg);
        pthread_mutex_lock(&w->mu);
        w->busy--;
    }
    w->threads--;
    pthread_cond_broadcast(&w->gone);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static int spawn_locked(hr_workers *w)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (w->opts.stack_bytes)
        pthread_attr_setstacksize(&attr, w->opts.stack_bytes);
    pthread_t t;
    int rc = pthread_create(&t, &attr, worker_main, w);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -1;
    w->threads++;
    return 0;
}

hr_workers *hr_workers_start(const hr_workers_opts *opts)
{
    hr_workers *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->opts = *opts;
    if (!w->opts.max_threads)
        w->opts.max_threads = 1;
    if (w->opts.min_threads > w->opts.max_threads)
        w->opts.min_threads = w->opts.max_threads;
    if (!w->opts.max_queued)
        w->opts.max_queued = 1;
    w->ring = calloc(w->opts.max_queued, sizeof *w->ring);
    if (!w->ring) {
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->gone, NULL);
    return w;
}

int hr_workers_submit(hr_workers *w, hr_worker_fn fn, void *arg)
{
    pthread_mutex_lock(&w->mu);
    int ok = !w->stopping && w->count < w->opts.max_queued;
    /* a thread per waiting job up to the cap: a job never waits behind one that blocks.
     * Counted from the busy threads, not the waiting ones: a thread between two jobs is
     * not waiting yet but will take one, and a burst must not start threads it then drops
     * (their stacks and arenas are what stays after it). */
    if (ok && w->threads - w->busy <= w->count && w->threads < w->opts.max_threads)
        ok = spawn_locked(w) == 0 || w->threads > 0;
    if (ok) {
        w->ring[(w->head + w->count) % w->opts.max_queued] = (job){fn, arg};
        w->count++;
        pthread_cond_signal(&w->work);
    } else {
        w->refused++;
    }
    pthread_mutex_unlock(&w->mu);
    return ok ? 0 : -1;
}

unsigned hr_workers_threads(const hr_workers *w)
{
    hr_workers *m = (hr_workers *)w;
    pthread_mutex_lock(&m->mu);
    unsigned n = m->threads;
    pthread_mutex_unlock(&m->mu);
    return n;
}

unsigned long hr_workers_refused(const hr_workers *w)
{
    hr_workers *m = (hr_workers *)w;
    pthread_mutex_lock(&m->mu);
    unsigned long n = m->refused;
    pthread_mutex_unlock(&m->mu);
    return n;
}

void hr_workers_stop(hr_workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->work);
    while (w->threads)
        pthread_cond_wait(&w->gone, &w->mu);
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->gone);
    pthread_mutex_destroy(&w->mu);
    free(w->ring);
    free(w);
}
