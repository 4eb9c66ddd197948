/* workers.h: the worker pool of the event-driven server model (server.h, model "events").
 *
 * The event loop threads never block; whatever may block (a request handler waiting on its
 * upstream, compression, a stream's producer) runs here. Threads are started on demand up
 * to max_threads and exit after idle_ms without work (down to min_threads), so an idle
 * proxy holds a few threads whatever its number of keep-alive connections. Jobs beyond the
 * running threads wait in a bounded FIFO; a full FIFO refuses the job (the caller answers
 * 503 or does the work its cheap way), counted in hr_workers_refused.
 *
 * Ownership: the pool owns its threads and queue; a job's arg stays the caller's.
 */
#ifndef HR_HTTP_WORKERS_H
#define HR_HTTP_WORKERS_H

#include <stddef.h>

typedef struct hr_workers hr_workers;
typedef void (*hr_worker_fn)(void *arg);

typedef struct hr_workers_opts {
    unsigned min_threads;   /* kept when idle */
    unsigned max_threads;   /* started at most */
    unsigned max_queued;    /* jobs waiting beyond the running ones; more are refused */
    unsigned idle_ms;       /* a thread above min_threads exits after this long idle */
    size_t stack_bytes;     /* 0 = library default */
} hr_workers_opts;

hr_workers *hr_workers_start(const hr_workers_opts *opts);
/* 0 queued (runs soon, in FIFO order), -1 refused (queue full, or no thread could start). */
int hr_workers_submit(hr_workers *w, hr_worker_fn fn, void *arg);
unsigned hr_workers_threads(const hr_workers *w);
unsigned long hr_workers_refused(const hr_workers *w);
/* Waits for every queued and running job to finish, then joins the threads. */
void hr_workers_stop(hr_workers *w);

#endif
