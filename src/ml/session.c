/* session.c: the ML session helper (see session.h): lazy load, one mmap'd scratch region,
 * queue wait / busy, explicit and idle unload with a heap trim outside the loaders' locks,
 * status; plus the process-wide registry and idle reaper.
 *
 * Locking: each session has a mutex guarding its state and counters; the model and scratch
 * are owned by whoever set in_use (a call, a load or an unload), so the slow parts (opening
 * the model, running, unmapping, trimming) happen with no lock held and status stays
 * answerable. The registry lock may be taken before a session lock, never after.
 */
#include "ml/session.h"

#include "json/json.h"
#include "ml/encoder.h"
#include "ml/pool.h"
#include "ml/settings.h"
#include "ml/wordpiece.h"
#include "sys/assert.h"
#include "sys/clock.h"
#include "sys/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_RETRY_MS 30000
#define REAPER_STACK_BYTES (64u * 1024u)

struct hr_ml_session {
    pthread_mutex_t lock;
    pthread_cond_t cv; /* CLOCK_MONOTONIC; signalled when in_use or state changes */
    char name[64];
    char *path;
    hr_ml_session_config cfg; /* env values resolved; cfg.model_path == path */

    hr_ml_state state;
    int in_use; /* a call, load or unload owns model + scratch */
    void *model;
    void *scratch;
    size_t scratch_bytes;
    size_t mapped_bytes;
    int max_seq;

    int64_t last_use_mono_ms;
    int64_t last_use_unix_ms;
    int64_t failed_at_mono_ms; /* last failed load, 0 = none */
    double last_load_ms;
    uint64_t inferences, busy, errors, loads, unloads, idle_unloads;
    int has_trim;
    hr_trim_result last_trim;
    long last_trim_released;
    char last_error[256];

    /* registry fields, guarded by g_reg.lock */
    struct hr_ml_session *next;
    int pins; /* the reaper or unload_all works on it; close waits for 0 */
};

/* ---- clocks and env ------------------------------------------------------------------ */

static struct timespec mono_deadline(int64_t at_ms)
{
    struct timespec ts = {.tv_sec = at_ms / 1000, .tv_nsec = (long)(at_ms % 1000) * 1000000L};
    return ts;
}

static int init_mono_cond(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0)
        return -1;
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
    return rc == 0 ? 0 : -1;
}

/* ---- registry and idle reaper (the documented singleton) ----------------------------- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cv; /* CLOCK_MONOTONIC; reaper sleeps here; also stop/exit changes */
    int cv_ready;
    hr_ml_session *head;
    int running;  /* reaper thread is in its loop */
    int stopping; /* someone asked it to stop and is joining it */
    int stop;
    hr_ml_thread thread; /* started while a reaper is not yet joined */
} g_reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t g_reg_once = PTHREAD_ONCE_INIT;
static _Thread_local int t_is_reaper;

/* Set by a process with its own periodic tick (the proxy's housekeeping): no reaper thread
 * is started and the tick calls hr_ml_reap_idle instead. Set before any session loads. */
static atomic_int g_external_reaper;
/* Memory pressure (hr_ml_set_paused): calls fail open at once, nothing loads. */
static atomic_int g_paused;
static atomic_ullong g_paused_calls;

static void reg_init_cv(void) { g_reg.cv_ready = init_mono_cond(&g_reg.cv) == 0; }

static int reg_lock(void)
{
    pthread_once(&g_reg_once, reg_init_cv);
    if (!g_reg.cv_ready)
        return -1;
    pthread_mutex_lock(&g_reg.lock);
    return 0;
}

static void session_unload_claimed(hr_ml_session *s, int idle);

/* Unloads s if it is ready, not in use and idle past its timeout. */
static void unload_if_idle(hr_ml_session *s)
{
    pthread_mutex_lock(&s->lock);
    int due = s->state == HR_ML_READY && !s->in_use && s->cfg.idle_unload_ms > 0 &&
              hr_now_ms64() - s->last_use_mono_ms >= s->cfg.idle_unload_ms;
    if (!due) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    s->in_use = 1;
    session_unload_claimed(s, 1); /* unlocks */
}

/* One pass over the registry (reg lock held): the first session due for unload, or NULL;
 * *next_ms = earliest future deadline; *watching = some session needs the reaper. */
static hr_ml_session *reaper_scan_locked(int64_t now, int64_t *next_ms, int *watching)
{
    HR_ASSERT_HELD(&g_reg.lock);
    *next_ms = INT64_MAX;
    *watching = 0;
    for (hr_ml_session *s = g_reg.head; s; s = s->next) {
        pthread_mutex_lock(&s->lock);
        long idle = s->cfg.idle_unload_ms;
        int loaded = s->state != HR_ML_UNLOADED;
        int64_t due = s->last_use_mono_ms + idle;
        int ready_free = s->state == HR_ML_READY && !s->in_use;
        pthread_mutex_unlock(&s->lock);
        if (!loaded || idle <= 0)
            continue;
        *watching = 1;
        if (ready_free && due <= now)
            return s;
        /* a busy session's last use moves when it finishes: look again one timeout later */
        int64_t at = ready_free ? due : now + idle;
        if (at < *next_ms)
            *next_ms = at;
    }
    return NULL;
}

static void *reaper_main(void *arg)
{
    (void)arg;
    t_is_reaper = 1;
    pthread_mutex_lock(&g_reg.lock);
    while (!g_reg.stop) {
        int64_t next;
        int watching;
        hr_ml_session *victim = reaper_scan_locked(hr_now_ms64(), &next, &watching);
        if (victim) {
            victim->pins++;
            pthread_mutex_unlock(&g_reg.lock);
            unload_if_idle(victim);
            pthread_mutex_lock(&g_reg.lock);
            victim->pins--;
            pthread_cond_broadcast(&g_reg.cv);
            continue;
        }
        if (!watching)
            break; /* nothing loaded: exit; the next load or unload joins this thread */
        struct timespec ts = mono_deadline(next);
        pthread_cond_timedwait(&g_reg.cv, &g_reg.lock, &ts);
    }
    g_reg.running = 0;
    pthread_cond_broadcast(&g_reg.cv);
    pthread_mutex_unlock(&g_reg.lock);
    return NULL;
}

/* After a load with an idle timeout: make sure a reaper runs and rescans. */
static void reaper_kick(void)
{
    if (atomic_load(&g_external_reaper) || reg_lock() != 0)
        return;
    while (g_reg.stopping)
        pthread_cond_wait(&g_reg.cv, &g_reg.lock);
    if (!g_reg.running) {
        hr_ml_thread_join(&g_reg.thread); /* a reaper that exited on its own */
        g_reg.stop = 0;
        if (hr_ml_thread_start(&g_reg.thread, REAPER_STACK_BYTES, reaper_main, NULL) == 0)
            g_reg.running = 1;
        else
            hr_logf(HR_LOG_WARN, "ml: could not start the idle reaper; idle unload disabled");
    } else {
        pthread_cond_broadcast(&g_reg.cv);
    }
    pthread_mutex_unlock(&g_reg.lock);
}

static int any_session_loaded_locked(void)
{
    HR_ASSERT_HELD(&g_reg.lock);
    for (hr_ml_session *s = g_reg.head; s; s = s->next) {
        pthread_mutex_lock(&s->lock);
        int loaded = s->state != HR_ML_UNLOADED;
        pthread_mutex_unlock(&s->lock);
        if (loaded)
            return 1;
    }
    return 0;
}

/* After an unload outside the reaper: once nothing is loaded, stop and join the reaper so
 * no ML thread outlives the last session. */
static void reaper_settle(void)
{
    if (t_is_reaper || reg_lock() != 0)
        return;
    while (g_reg.stopping)
        pthread_cond_wait(&g_reg.cv, &g_reg.lock);
    if (any_session_loaded_locked()) {
        pthread_mutex_unlock(&g_reg.lock);
        return;
    }
    if (!g_reg.running) {
        hr_ml_thread_join(&g_reg.thread);
        pthread_mutex_unlock(&g_reg.lock);
        return;
    }
    g_reg.stop = 1;
    g_reg.stopping = 1;
    pthread_cond_broadcast(&g_reg.cv);
    hr_ml_thread thread = g_reg.thread;
    memset(&g_reg.thread, 0, sizeof g_reg.thread);
    pthread_mutex_unlock(&g_reg.lock);
    hr_ml_thread_join(&thread);
    pthread_mutex_lock(&g_reg.lock);
    g_reg.stop = 0;
    g_reg.stopping = 0;
    pthread_cond_broadcast(&g_reg.cv);
    pthread_mutex_unlock(&g_reg.lock);
}

void hr_ml_use_external_reaper(int on) { atomic_store(&g_external_reaper, on ? 1 : 0); }

int hr_ml_reap_idle(void)
{
    if (reg_lock() != 0)
        return 0;
    int n = 0;
    for (;;) {
        int64_t next;
        int watching;
        hr_ml_session *victim = reaper_scan_locked(hr_now_ms64(), &next, &watching);
        if (!victim)
            break;
        victim->pins++;
        pthread_mutex_unlock(&g_reg.lock);
        unload_if_idle(victim);
        n++;
        pthread_mutex_lock(&g_reg.lock);
        victim->pins--;
        pthread_cond_broadcast(&g_reg.cv);
    }
    pthread_mutex_unlock(&g_reg.lock);
    return n;
}

void hr_ml_set_paused(int on) { atomic_store(&g_paused, on ? 1 : 0); }
int hr_ml_paused(void) { return atomic_load(&g_paused); }
unsigned long long hr_ml_paused_calls(void) { return atomic_load(&g_paused_calls); }

size_t hr_ml_scratch_mapped(void)
{
    size_t n = 0;
    if (reg_lock() != 0)
        return 0;
    for (hr_ml_session *s = g_reg.head; s; s = s->next) {
        pthread_mutex_lock(&s->lock);
        n += s->scratch_bytes;
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&g_reg.lock);
    return n;
}

int hr_ml_runtime_threads(void)
{
    int n = hr_ml_pool_workers();
    if (reg_lock() == 0) {
        n += g_reg.running;
        pthread_mutex_unlock(&g_reg.lock);
    }
    return n;
}

/* ---- config -------------------------------------------------------------------------- */

void hr_ml_session_config_init(hr_ml_session_config *cfg, const char *name,
                               const hr_ml_kind *kind, const char *model_path)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->name = name;
    cfg->kind = kind;
    cfg->model_path = model_path;
    cfg->load = HR_ML_LOAD_LAZY;
    cfg->idle_unload_ms = HR_ML_FROM_ENV;
    cfg->queue_ms = HR_ML_FROM_ENV;
    cfg->retry_ms = DEFAULT_RETRY_MS;
}

/* HR_ML_FROM_ENV and 0 threads: the process's ML settings (ml/settings.h). */
static void resolve_env(hr_ml_session_config *c)
{
    hr_ml_config p = hr_ml_config_process();
    if (c->idle_unload_ms < 0)
        c->idle_unload_ms = p.idle_unload_s * 1000;
    if (c->queue_ms < 0)
        c->queue_ms = p.queue_ms;
    if (c->retry_ms < 0)
        c->retry_ms = DEFAULT_RETRY_MS;
    if (c->threads <= 0)
        c->threads = p.threads;
}

static int kind_valid(const hr_ml_kind *k)
{
    return k && k->name && k->open && k->close && k->mapped_bytes && k->max_seq && k->scratch_bytes;
}

/* ---- open / close -------------------------------------------------------------------- */

hr_ml_session *hr_ml_session_open(const hr_ml_session_config *cfg, hr_ml_error *err)
{
    if (!cfg || !kind_valid(cfg->kind) || !cfg->model_path || cfg->max_seq < 0) {
        hr_ml_error_set(err, "ml session: invalid config (kind, model path and max_seq >= 0 required)");
        return NULL;
    }
    hr_ml_session *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(cfg->model_path))) {
        free(s);
        hr_ml_error_set(err, "ml session: out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&s->lock, NULL) != 0 || init_mono_cond(&s->cv) != 0) {
        free(s->path);
        free(s);
        hr_ml_error_set(err, "ml session: cannot initialise locks");
        return NULL;
    }
    snprintf(s->name, sizeof s->name, "%s", cfg->name ? cfg->name : cfg->kind->name);
    s->cfg = *cfg;
    s->cfg.name = s->name;
    s->cfg.model_path = s->path;
    resolve_env(&s->cfg);
    s->state = HR_ML_UNLOADED;

    if (reg_lock() == 0) {
        s->next = g_reg.head;
        g_reg.head = s;
        pthread_mutex_unlock(&g_reg.lock);
    }
    if (s->cfg.load == HR_ML_LOAD_EAGER) {
        hr_ml_error e;
        if (hr_ml_session_load(s, &e) != HR_ML_OK)
            hr_log_fields(HR_LOG_WARN, "ml eager load failed", "session", s->name, "error", e.msg, NULL);
    }
    return s;
}

void hr_ml_session_close(hr_ml_session *s)
{
    if (!s)
        return;
    hr_ml_session_unload(s);
    if (reg_lock() == 0) {
        while (s->pins > 0)
            pthread_cond_wait(&g_reg.cv, &g_reg.lock);
        for (hr_ml_session **pp = &g_reg.head; *pp; pp = &(*pp)->next)
            if (*pp == s) {
                *pp = s->next;
                break;
            }
        pthread_mutex_unlock(&g_reg.lock);
    }
    reaper_settle(); /* joins a reaper that exited after this session's idle unload */
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}

/* ---- claim / load / unload ----------------------------------------------------------- */

/* Waits (lock held) until nobody owns the session, then owns it. deadline_ms < 0 waits
 * forever. 0 on success, -1 on timeout. */
static int claim_locked(hr_ml_session *s, int64_t deadline_ms)
{
    HR_ASSERT_HELD(&s->lock);
    while (s->in_use) {
        if (deadline_ms < 0) {
            pthread_cond_wait(&s->cv, &s->lock);
            continue;
        }
        if (hr_now_ms64() >= deadline_ms)
            return -1;
        struct timespec ts = mono_deadline(deadline_ms);
        pthread_cond_timedwait(&s->cv, &s->lock, &ts);
    }
    s->in_use = 1;
    return 0;
}

static void release_locked(hr_ml_session *s)
{
    HR_ASSERT_HELD(&s->lock);
    s->in_use = 0;
    pthread_cond_broadcast(&s->cv);
}

static size_t round_to_pages(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return n == 0 ? pg : (n + pg - 1) / pg * pg;
}

/* Opens the model, maps the scratch region and takes a pool hold, with no lock held.
 * On failure everything taken so far is given back. */
static int load_resources(const hr_ml_session_config *c, hr_ml_loaded *l, size_t *mapped,
                          hr_ml_error *err)
{
    memset(l, 0, sizeof *l);
    if (c->kind->open(c->model_path, &l->model, err) != 0)
        return -1;
    int model_max = c->kind->max_seq(l->model);
    l->max_seq = c->max_seq > 0 && c->max_seq < model_max ? c->max_seq : model_max;
    l->scratch_bytes = round_to_pages(c->kind->scratch_bytes(l->model, l->max_seq));
    /* MAP_NORESERVE: pages count only once touched, so short inputs cost little. */
    l->scratch = mmap(NULL, l->scratch_bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (l->scratch == MAP_FAILED) {
        hr_ml_error_set(err, "ml session: cannot map %zu bytes of scratch: %s", l->scratch_bytes,
                        strerror(errno));
        c->kind->close(l->model);
        return -1;
    }
    if (hr_ml_pool_acquire(c->threads) != 0)
        hr_logf(HR_LOG_WARN, "ml: worker pool started with fewer threads than %d", c->threads);
    *mapped = c->kind->mapped_bytes(l->model);
    return 0;
}

/* Called with the lock held and the session claimed; returns the same way. */
static int load_claimed(hr_ml_session *s, hr_ml_error *err)
{
    s->state = HR_ML_LOADING;
    pthread_mutex_unlock(&s->lock);
    double t0 = hr_now_ms();
    hr_ml_loaded l;
    size_t mapped = 0;
    int rc = load_resources(&s->cfg, &l, &mapped, err);
    double t1 = hr_now_ms();
    pthread_mutex_lock(&s->lock);
    if (rc != 0) {
        s->state = HR_ML_UNLOADED;
        s->errors++;
        s->failed_at_mono_ms = hr_now_ms64();
        snprintf(s->last_error, sizeof s->last_error, "%s", err->msg);
        return -1;
    }
    s->model = l.model;
    s->scratch = l.scratch;
    s->scratch_bytes = l.scratch_bytes;
    s->max_seq = l.max_seq;
    s->mapped_bytes = mapped;
    s->state = HR_ML_READY;
    s->loads++;
    s->failed_at_mono_ms = 0;
    s->last_error[0] = '\0';
    s->last_load_ms = t1 - t0;
    s->last_use_mono_ms = hr_now_ms64(); /* idle time counts from the load */
    return 0;
}

/* Called with the lock held and the session claimed in state READY; unlocks. Gives back
 * model, scratch and pool hold with no lock held, then trims the heap with no lock held
 * (a loader may already be mapping again) and records what the trim reported. */
static void session_unload_claimed(hr_ml_session *s, int idle)
{
    void *model = s->model;
    void *scratch = s->scratch;
    size_t scratch_bytes = s->scratch_bytes;
    pthread_mutex_unlock(&s->lock);

    s->cfg.kind->close(model);
    munmap(scratch, scratch_bytes);
    hr_ml_pool_release();

    pthread_mutex_lock(&s->lock);
    s->model = s->scratch = NULL;
    s->scratch_bytes = s->mapped_bytes = 0;
    s->max_seq = 0;
    s->state = HR_ML_UNLOADED;
    release_locked(s);
    pthread_mutex_unlock(&s->lock);

    long released = 0;
    hr_trim_result tr = hr_heap_trim(&released);

    /* The unload is counted only here, with its trim result: a reader that sees the
     * count (status, /debug/memory, a test waiting for it) also sees the trim it caused.
     * The state reads UNLOADED earlier, while the trim is still running. */
    pthread_mutex_lock(&s->lock);
    s->unloads++;
    s->idle_unloads += idle ? 1 : 0;
    s->has_trim = 1;
    s->last_trim = tr;
    s->last_trim_released = released;
    pthread_mutex_unlock(&s->lock);

    char rel[32];
    snprintf(rel, sizeof rel, "%ld", released);
    hr_log_fields(HR_LOG_INFO, "ml session unloaded", "session", s->name, "reason",
                  idle ? "idle" : "explicit", "trim", hr_trim_result_name(tr), "trim_released_bytes",
                  rel, NULL);
}

/* Outside every lock, after a successful load: one log line, and an idle reaper if the
 * session has an idle timeout. */
static void after_load(hr_ml_session *s)
{
    pthread_mutex_lock(&s->lock);
    long idle = s->cfg.idle_unload_ms;
    char ms[32], mapped[32], scratch[32];
    snprintf(ms, sizeof ms, "%.2f", s->last_load_ms);
    snprintf(mapped, sizeof mapped, "%zu", s->mapped_bytes);
    snprintf(scratch, sizeof scratch, "%zu", s->scratch_bytes);
    pthread_mutex_unlock(&s->lock);
    hr_log_fields(HR_LOG_INFO, "ml session loaded", "session", s->name, "load_ms", ms, "mapped_bytes",
                  mapped, "scratch_bytes", scratch, NULL);
    if (idle > 0)
        reaper_kick();
}

hr_ml_rc hr_ml_session_load(hr_ml_session *s, hr_ml_error *err)
{
    pthread_mutex_lock(&s->lock);
    claim_locked(s, -1);
    int loaded_now = 0, rc = 0;
    if (s->state == HR_ML_UNLOADED) {
        rc = load_claimed(s, err);
        loaded_now = rc == 0;
    }
    release_locked(s);
    pthread_mutex_unlock(&s->lock);
    if (loaded_now)
        after_load(s);
    return rc == 0 ? HR_ML_OK : HR_ML_ERROR;
}

int hr_ml_session_unload(hr_ml_session *s)
{
    pthread_mutex_lock(&s->lock);
    claim_locked(s, -1);
    if (s->state != HR_ML_READY) {
        release_locked(s);
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    session_unload_claimed(s, 0);
    reaper_settle();
    return 1;
}

int hr_ml_unload_all(void)
{
    int n = 0;
    if (reg_lock() != 0)
        return 0;
    for (hr_ml_session *s = g_reg.head; s;) {
        s->pins++;
        pthread_mutex_unlock(&g_reg.lock);
        pthread_mutex_lock(&s->lock);
        claim_locked(s, -1);
        if (s->state == HR_ML_READY) {
            session_unload_claimed(s, 0);
            n++;
        } else {
            release_locked(s);
            pthread_mutex_unlock(&s->lock);
        }
        pthread_mutex_lock(&g_reg.lock);
        hr_ml_session *next = s->next;
        s->pins--;
        pthread_cond_broadcast(&g_reg.cv);
        s = next;
    }
    pthread_mutex_unlock(&g_reg.lock);
    reaper_settle();
    return n;
}

/* ---- run ----------------------------------------------------------------------------- */

hr_ml_rc hr_ml_session_run(hr_ml_session *s, hr_ml_work_fn fn, void *arg, hr_ml_error *err)
{
    if (atomic_load(&g_paused)) {
        /* memory pressure: no load, no scratch; the caller forwards its content unchanged */
        atomic_fetch_add(&g_paused_calls, 1);
        hr_ml_error_set(err, "ml session %s paused under memory pressure", s->name);
        return HR_ML_BUSY;
    }
    pthread_mutex_lock(&s->lock);
    int64_t now = hr_now_ms64();
    if (s->state == HR_ML_UNLOADED && s->failed_at_mono_ms &&
        now - s->failed_at_mono_ms < s->cfg.retry_ms) {
        /* a load failed recently: fail fast instead of retrying it on every request */
        hr_ml_error_set(err, "%s", s->last_error);
        s->errors++;
        pthread_mutex_unlock(&s->lock);
        return HR_ML_ERROR;
    }
    if (claim_locked(s, now + s->cfg.queue_ms) != 0) {
        s->busy++;
        pthread_mutex_unlock(&s->lock);
        hr_ml_error_set(err, "ml session %s busy for %ld ms", s->name, s->cfg.queue_ms);
        return HR_ML_BUSY;
    }
    int loaded_now = 0;
    if (s->state == HR_ML_UNLOADED) {
        if (load_claimed(s, err) != 0) {
            release_locked(s);
            pthread_mutex_unlock(&s->lock);
            return HR_ML_ERROR;
        }
        loaded_now = 1;
    }
    hr_ml_loaded l = {s->model, s->scratch, s->scratch_bytes, s->max_seq};
    pthread_mutex_unlock(&s->lock);
    if (loaded_now)
        after_load(s);

    int rc = fn(&l, arg, err);

    pthread_mutex_lock(&s->lock);
    s->last_use_mono_ms = hr_now_ms64();
    s->last_use_unix_ms = hr_wall_ms();
    if (rc == 0) {
        s->inferences++;
    } else {
        s->errors++;
        snprintf(s->last_error, sizeof s->last_error, "%s", err->msg);
    }
    release_locked(s);
    pthread_mutex_unlock(&s->lock);
    return rc == 0 ? HR_ML_OK : HR_ML_ERROR;
}

/* ---- status -------------------------------------------------------------------------- */

const char *hr_ml_state_name(hr_ml_state st)
{
    switch (st) {
    case HR_ML_LOADING: return "loading";
    case HR_ML_READY: return "ready";
    default: return "unloaded";
    }
}

void hr_ml_session_status_get(hr_ml_session *s, hr_ml_session_status *o)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_lock(&s->lock);
    snprintf(o->name, sizeof o->name, "%s", s->name);
    snprintf(o->kind, sizeof o->kind, "%s", s->cfg.kind->name);
    o->state = s->state;
    o->mapped_bytes = s->mapped_bytes;
    o->scratch_bytes = s->scratch_bytes;
    o->max_seq = s->max_seq;
    o->inferences = s->inferences;
    o->busy = s->busy;
    o->errors = s->errors;
    o->loads = s->loads;
    o->unloads = s->unloads;
    o->idle_unloads = s->idle_unloads;
    o->last_load_ms = s->last_load_ms;
    o->last_use_unix_ms = s->last_use_unix_ms;
    o->idle_ms = s->state == HR_ML_READY ? hr_now_ms64() - s->last_use_mono_ms : -1;
    o->idle_unload_ms = s->cfg.idle_unload_ms;
    o->queue_ms = s->cfg.queue_ms;
    o->has_trim = s->has_trim;
    o->last_trim = s->last_trim;
    o->last_trim_released_bytes = s->last_trim_released;
    snprintf(o->last_error, sizeof o->last_error, "%s", s->last_error);
    pthread_mutex_unlock(&s->lock);
}

static int json_key_str(hr_buf *out, const char *key, const char *val)
{
    return hr_buf_printf(out, "\"%s\":", key) | hr_json_write_string(out, val, strlen(val));
}

int hr_ml_session_status_json(hr_ml_session *s, hr_buf *out)
{
    hr_ml_session_status st;
    hr_ml_session_status_get(s, &st);
    int rc = hr_buf_putc(out, '{');
    rc |= json_key_str(out, "name", st.name);
    rc |= hr_buf_putc(out, ',');
    rc |= json_key_str(out, "kind", st.kind);
    rc |= hr_buf_putc(out, ',');
    rc |= json_key_str(out, "state", hr_ml_state_name(st.state));
    rc |= hr_buf_printf(out,
                        ",\"mapped_bytes\":%zu,\"scratch_bytes\":%zu,\"max_seq\":%d,"
                        "\"inferences\":%llu,\"busy\":%llu,\"errors\":%llu,\"loads\":%llu,"
                        "\"unloads\":%llu,\"idle_unloads\":%llu,\"last_load_ms\":%.3f,"
                        "\"last_use_unix_ms\":%lld,\"idle_ms\":%lld,\"idle_unload_ms\":%ld,"
                        "\"queue_ms\":%ld,",
                        st.mapped_bytes, st.scratch_bytes, st.max_seq,
                        (unsigned long long)st.inferences, (unsigned long long)st.busy,
                        (unsigned long long)st.errors, (unsigned long long)st.loads,
                        (unsigned long long)st.unloads, (unsigned long long)st.idle_unloads,
                        st.last_load_ms, (long long)st.last_use_unix_ms, (long long)st.idle_ms,
                        st.idle_unload_ms, st.queue_ms);
    if (st.has_trim) {
        rc |= json_key_str(out, "last_trim", hr_trim_result_name(st.last_trim));
        rc |= hr_buf_printf(out, ",\"last_trim_released_bytes\":%ld,", st.last_trim_released_bytes);
    } else {
        rc |= hr_buf_puts(out, "\"last_trim\":null,\"last_trim_released_bytes\":null,");
    }
    rc |= json_key_str(out, "last_error", st.last_error);
    rc |= hr_buf_putc(out, '}');
    return rc ? -1 : 0;
}

int hr_ml_sessions_json(hr_buf *out)
{
    if (reg_lock() != 0)
        return -1;
    int rc = hr_buf_putc(out, '[');
    for (hr_ml_session *s = g_reg.head; s; s = s->next) {
        if (s != g_reg.head)
            rc |= hr_buf_putc(out, ',');
        rc |= hr_ml_session_status_json(s, out); /* reg lock before session lock: allowed */
    }
    rc |= hr_buf_putc(out, ']');
    pthread_mutex_unlock(&g_reg.lock);
    return rc ? -1 : 0;
}

/* ---- encoder kind and embedding ------------------------------------------------------ */

typedef struct encoder_handle {
    hr_model *model;
    hr_wordpiece *tok;
} encoder_handle;

static int encoder_open(const char *path, void **out, hr_ml_error *err)
{
    encoder_handle *h = calloc(1, sizeof *h);
    if (!h) {
        hr_ml_error_set(err, "ml encoder: out of memory");
        return -1;
    }
    if (hr_model_open(path, 0, &h->model, err) != 0) {
        free(h);
        return -1;
    }
    const hr_model_file *mf = hr_model_file_of(h->model);
    if (mf->vocab.kind != HR_TOK_WORDPIECE) {
        hr_ml_error_set(err, "ml encoder: %s: tokenizer kind %u is not supported yet", path,
                        (unsigned)mf->vocab.kind);
        hr_model_close(h->model);
        free(h);
        return -1;
    }
    if (hr_wordpiece_new(&mf->vocab, &h->tok, err) != 0) {
        hr_model_close(h->model);
        free(h);
        return -1;
    }
    *out = h;
    return 0;
}

static void encoder_close(void *p)
{
    encoder_handle *h = p;
    hr_wordpiece_free(h->tok); /* borrows the mapping's strings: free before unmapping */
    hr_model_close(h->model);
    free(h);
}

static size_t encoder_mapped(const void *p)
{
    return hr_model_mapped_bytes(((const encoder_handle *)p)->model);
}

static int encoder_max_seq(const void *p)
{
    return (int)hr_model_config_of(((const encoder_handle *)p)->model)->max_seq;
}

/* Scratch layout: [ids: max_seq int32, padded to 64 bytes][encoder activations]. */
static size_t ids_area_bytes(int max_seq)
{
    return ((size_t)max_seq * sizeof(int32_t) + 63) / 64 * 64;
}

static size_t encoder_scratch(const void *p, int max_seq)
{
    const encoder_handle *h = p;
    return ids_area_bytes(max_seq) + hr_encoder_scratch_bytes(h->model, max_seq) + 64;
}

const hr_ml_kind hr_ml_kind_encoder = {"encoder", encoder_open, encoder_close, encoder_mapped,
                                       encoder_max_seq, encoder_scratch};

typedef struct embed_job {
    const char *text; /* tokenized in the work function, unless ids is set */
    size_t len;
    const int32_t *ids;
    int n_ids;
    float *out;
    size_t out_cap;
    hr_ml_embed_info info;
} embed_job;

static int embed_work(const hr_ml_loaded *l, void *arg, hr_ml_error *err)
{
    embed_job *j = arg;
    const encoder_handle *h = l->model;
    int dim = hr_model_dim(h->model);
    if (dim <= 0 || (size_t)dim > j->out_cap) {
        hr_ml_error_set(err, "ml embed: output holds %zu floats, model gives %d", j->out_cap, dim);
        return -1;
    }
    const int32_t *ids = j->ids;
    size_t n = (size_t)j->n_ids;
    if (!ids) {
        int32_t *buf = l->scratch;
        if (hr_wordpiece_encode(h->tok, j->text, j->len, buf, (size_t)l->max_seq, &n, &j->info.truncated) != 0) {
            hr_ml_error_set(err, "ml embed: tokenizer failed");
            return -1;
        }
        ids = buf;
    } else if (j->n_ids < 1 || j->n_ids > l->max_seq) {
        hr_ml_error_set(err, "ml embed: %d ids, the session takes 1..%d", j->n_ids, l->max_seq);
        return -1;
    }
    uint8_t *act = (uint8_t *)l->scratch + ids_area_bytes(l->max_seq);
    size_t act_bytes = l->scratch_bytes - ids_area_bytes(l->max_seq);
    if (hr_encoder_embed(h->model, ids, (int)n, act, act_bytes, j->out) != 0) {
        hr_ml_error_set(err, "ml embed: encoder rejected %zu tokens", n);
        return -1;
    }
    j->info.n_tokens = (int)n;
    j->info.dim = dim;
    return 0;
}

static hr_ml_rc run_embed_job(hr_ml_session *s, embed_job *j, hr_ml_embed_info *info, hr_ml_error *err)
{
    if (s->cfg.kind != &hr_ml_kind_encoder) {
        hr_ml_error_set(err, "ml embed: session %s is not an encoder session", s->name);
        return HR_ML_ERROR;
    }
    hr_ml_rc rc = hr_ml_session_run(s, embed_work, j, err);
    if (info)
        *info = j->info;
    return rc;
}

hr_ml_rc hr_ml_embed(hr_ml_session *s, const char *text, size_t len, float *out, size_t out_cap,
                     hr_ml_embed_info *info, hr_ml_error *err)
{
    embed_job j = {.text = text, .len = len, .out = out, .out_cap = out_cap};
    return run_embed_job(s, &j, info, err);
}

hr_ml_rc hr_ml_embed_ids(hr_ml_session *s, const int32_t *ids, int n, float *out, size_t out_cap,
                         hr_ml_embed_info *info, hr_ml_error *err)
{
    embed_job j = {.ids = ids, .n_ids = n, .out = out, .out_cap = out_cap};
    if (!ids) {
        hr_ml_error_set(err, "ml embed: no ids");
        return HR_ML_ERROR;
    }
    return run_embed_job(s, &j, info, err);
}

void hr_ml_encoder_view_of(const hr_ml_loaded *l, hr_ml_encoder_view *v)
{
    const encoder_handle *h = l->model;
    v->model = h->model;
    v->tok = h->tok;
    v->ids = l->scratch;
    v->act = (uint8_t *)l->scratch + ids_area_bytes(l->max_seq);
    v->act_bytes = l->scratch_bytes - ids_area_bytes(l->max_seq);
}

const hr_ml_kind *hr_ml_session_kind(const hr_ml_session *s) { return s->cfg.kind; }

int hr_ml_runtime_json(hr_buf *out)
{
    int running = 0;
    if (reg_lock() == 0) {
        running = g_reg.running;
        pthread_mutex_unlock(&g_reg.lock);
    }
    int rc = hr_buf_printf(out, "{\"pool_workers\":%d,\"pool_holders\":%d,\"reaper_running\":%s,"
                                "\"paused\":%s,\"sessions\":",
                           hr_ml_pool_workers(), hr_ml_pool_holders(), running ? "true" : "false",
                           hr_ml_paused() ? "true" : "false");
    rc |= hr_ml_sessions_json(out);
    rc |= hr_buf_putc(out, '}');
    return rc ? -1 : 0;
}
