/* session.h: the one helper that opens every ML session (embedder now, Kompress later).
 *
 * Why one helper: in the original each ML path built its own runtime session with its own
 * threads and nothing ever unloaded, so memory climbed and stayed. Here every model goes
 * through hr_ml_session_open with the same thread cap, load policy, queue limit and unload
 * path, and a session's memory is owned and given back:
 *   - lazy: nothing loads until the first call (or at open with HR_ML_LOAD_EAGER);
 *   - weights are the kind's mmap'd model file (file-backed pages, RssFile);
 *   - activations live in ONE scratch region per session, mmap'd at load with the size the
 *     kind asks for at the session's max sequence length, munmapped at unload;
 *   - unload (explicit, after HEADROOM_ML_IDLE_UNLOAD_S idle, or at close) unmaps both,
 *     releases the worker pool hold, then trims the heap (hr_heap_trim) outside every lock a
 *     loader takes, and records what the trim reported;
 *   - a call waits at most HEADROOM_ML_QUEUE_MS for a busy session, then gets HR_ML_BUSY and
 *     the caller forwards its content unchanged (fail open).
 * A model kind is a small vtable (hr_ml_kind): open/close/sizes. Work runs through
 * hr_ml_session_run with the loaded model and the scratch region.
 *
 * Threads: one process-wide idle reaper (a documented singleton) runs only while some
 * session with an idle timeout is loaded; it is joined when the last such session unloads
 * explicitly or closes. With HEADROOM_ML_THREADS = 1 (default) and idle unload, a loaded
 * process has exactly one extra thread; an unloaded one has none.
 *
 * Ownership: hr_ml_session_open allocates the session (copies name and path); the caller
 * closes it with hr_ml_session_close, which unloads first. All functions are thread-safe.
 */
#ifndef HR_ML_SESSION_H
#define HR_ML_SESSION_H

#include "ml/model_file.h" /* hr_ml_error */
#include "sys/buf.h"
#include "sys/mem.h"

#include <stddef.h>
#include <stdint.h>

/* Return values of calls into a session; anything but HR_ML_OK means "fail open". */
typedef enum {
    HR_ML_OK = 0,
    HR_ML_BUSY = 1,   /* waited queue_ms for the session; nothing ran */
    HR_ML_ERROR = -1, /* load or work failed; err says why */
} hr_ml_rc;

typedef enum { HR_ML_UNLOADED = 0, HR_ML_LOADING = 1, HR_ML_READY = 2 } hr_ml_state;
typedef enum { HR_ML_LOAD_LAZY = 0, HR_ML_LOAD_EAGER = 1 } hr_ml_load_policy;

/* A model kind. open maps/prepares the model at path for inputs of up to max_seq tokens
 * and returns the kind's handle in *model (owned by the session until close). Sizes are
 * asked after open; scratch_bytes must cover one call at the given max_seq. */
typedef struct hr_ml_kind {
    const char *name;
    int (*open)(const char *path, void **model, hr_ml_error *err);
    void (*close)(void *model);
    size_t (*mapped_bytes)(const void *model);
    int (*max_seq)(const void *model); /* the longest input the model takes */
    size_t (*scratch_bytes)(const void *model, int max_seq);
} hr_ml_kind;

/* What a work function gets: the loaded model and this session's scratch region. */
typedef struct hr_ml_loaded {
    void *model;          /* the kind's handle */
    void *scratch;        /* mmap'd, page aligned, scratch_bytes long */
    size_t scratch_bytes;
    int max_seq;          /* session max_seq clamped to the model's */
} hr_ml_loaded;

/* Runs with the session held exclusively; returns 0 or -1 with err filled. Must not keep
 * pointers into scratch after returning. */
typedef int (*hr_ml_work_fn)(const hr_ml_loaded *l, void *arg, hr_ml_error *err);

#define HR_ML_FROM_ENV (-1)

typedef struct hr_ml_session_config {
    const char *name;        /* for status and logs, e.g. "embedder" (copied) */
    const hr_ml_kind *kind;
    const char *model_path;  /* copied */
    int max_seq;             /* 0 = the model's own */
    int threads;             /* pool cap; 0 = HEADROOM_ML_THREADS (default 1) */
    hr_ml_load_policy load;
    long idle_unload_ms;     /* HR_ML_FROM_ENV: HEADROOM_ML_IDLE_UNLOAD_S (default 300 s); 0 = never */
    long queue_ms;           /* HR_ML_FROM_ENV: HEADROOM_ML_QUEUE_MS (default 25) */
    long retry_ms;           /* after a failed load, calls fail fast this long (default 30000) */
} hr_ml_session_config;

/* Fills defaults: lazy, env-driven idle and queue limits, model max_seq, env threads. */
void hr_ml_session_config_init(hr_ml_session_config *cfg, const char *name,
                               const hr_ml_kind *kind, const char *model_path);

typedef struct hr_ml_session hr_ml_session;

/* Creates the session (nothing loaded unless cfg->load is eager; an eager load failure is
 * recorded in the status, not fatal). NULL only on invalid config or out of memory. */
hr_ml_session *hr_ml_session_open(const hr_ml_session_config *cfg, hr_ml_error *err);
/* Unloads (waiting for a running call) and frees. NULL is a no-op. */
void hr_ml_session_close(hr_ml_session *s);

/* Loads if needed (lazy), then runs fn(loaded, arg) exclusively. HR_ML_BUSY when the
 * session stayed busy (in use or loading) for queue_ms; HR_ML_ERROR if the load or fn
 * failed (err filled). */
hr_ml_rc hr_ml_session_run(hr_ml_session *s, hr_ml_work_fn fn, void *arg, hr_ml_error *err);

/* Loads now if unloaded (waits for a running load). HR_ML_OK or HR_ML_ERROR. */
hr_ml_rc hr_ml_session_load(hr_ml_session *s, hr_ml_error *err);

/* Unloads if loaded, waiting for a running call, then trims the heap. Returns 1 if it
 * unloaded, 0 if there was nothing loaded. */
int hr_ml_session_unload(hr_ml_session *s);

/* Unloads every open session (e.g. under memory pressure); returns how many unloaded. */
int hr_ml_unload_all(void);

typedef struct hr_ml_session_status {
    char name[64];
    char kind[32];
    hr_ml_state state;
    size_t mapped_bytes;       /* the model file mapping while loaded, else 0 */
    size_t scratch_bytes;      /* the scratch region while loaded, else 0 */
    int max_seq;               /* effective, while loaded */
    uint64_t inferences;       /* successful runs since open */
    uint64_t busy;             /* calls turned away after queue_ms */
    uint64_t errors;           /* failed loads and failed runs */
    uint64_t loads, unloads, idle_unloads;
    double last_load_ms;       /* duration of the last successful load */
    int64_t last_use_unix_ms;  /* 0 = never used */
    int64_t idle_ms;           /* since last use (or load); -1 when unloaded */
    long idle_unload_ms, queue_ms;
    int has_trim;              /* a trim ran after an unload */
    hr_trim_result last_trim;
    long last_trim_released_bytes;
    char last_error[256];
} hr_ml_session_status;

void hr_ml_session_status_get(hr_ml_session *s, hr_ml_session_status *out);
const char *hr_ml_state_name(hr_ml_state st);

/* JSON object for one session / array of every open session (for /debug/memory). Appends
 * to out; 0 or -1 on allocation failure. */
int hr_ml_session_status_json(hr_ml_session *s, hr_buf *out);
int hr_ml_sessions_json(hr_buf *out);
/* {"pool_workers":N,"pool_holders":N,"reaper_running":bool,"paused":bool,"sessions":[...]}
 * (paused: the memory budget's ML stage, hr_ml_set_paused) */
int hr_ml_runtime_json(hr_buf *out);

/* ---- encoder kinds (BERT family now; ModernBERT through the same encoder.h) ----------
 * hr_ml_kind_encoder opens a model file with hr_model_open (mmap, read-only) and builds its
 * tokenizer from the vocab stored in the file; scratch = token ids + encoder activations.
 */
extern const hr_ml_kind hr_ml_kind_encoder;

typedef struct hr_ml_embed_info {
    int n_tokens;  /* ids fed to the encoder, [CLS] and [SEP] included */
    int truncated; /* the text had more pieces than max_seq allowed */
    int dim;       /* floats written */
} hr_ml_embed_info;

/* Sentence embedding through an encoder session: tokenize into the scratch, encode, pool
 * and L2-normalise into out[0..dim) (out_cap >= the model's hidden size). Nothing is
 * allocated per call. info may be NULL. HR_ML_OK, HR_ML_BUSY or HR_ML_ERROR (fail open). */
hr_ml_rc hr_ml_embed(hr_ml_session *s, const char *text, size_t len, float *out, size_t out_cap,
                     hr_ml_embed_info *info, hr_ml_error *err);

/* The same from token ids already made ([CLS] ... [SEP], 1 <= n <= the session's max_seq;
 * e.g. a caller that tokenizes pre-split words, or a benchmark feeding fixed ids). */
hr_ml_rc hr_ml_embed_ids(hr_ml_session *s, const int32_t *ids, int n, float *out, size_t out_cap,
                         hr_ml_embed_info *info, hr_ml_error *err);

/* ---- hooks for a process with its own periodic tick and memory budget (the proxy) ----
 * hr_ml_use_external_reaper(1): no reaper thread is ever started; the caller's tick calls
 * hr_ml_reap_idle(), which unloads every session idle past its timeout (returns how many).
 * hr_ml_set_paused(1): under memory pressure every hr_ml_session_run returns HR_ML_BUSY at
 * once without loading (callers fail open to their heuristic path); counted in
 * hr_ml_paused_calls. hr_ml_scratch_mapped: scratch bytes mapped by loaded sessions now. */
void hr_ml_use_external_reaper(int on);
int hr_ml_reap_idle(void);
void hr_ml_set_paused(int on);
int hr_ml_paused(void);
unsigned long long hr_ml_paused_calls(void);
size_t hr_ml_scratch_mapped(void);

/* What a work function on an encoder session (hr_ml_kind_encoder) may use: the model, its
 * tokenizer, the ids area at the start of the scratch (max_seq int32) and the activation
 * area after it. For heads built on the encoder in their own files (classifier.c). */
typedef struct hr_ml_encoder_view {
    const struct hr_model *model;
    const struct hr_wordpiece *tok;
    int32_t *ids;
    void *act;
    size_t act_bytes;
} hr_ml_encoder_view;

void hr_ml_encoder_view_of(const hr_ml_loaded *l, hr_ml_encoder_view *v);
/* The session's kind (e.g. to check a session is an encoder before running on it). */
const hr_ml_kind *hr_ml_session_kind(const hr_ml_session *s);

/* Live threads owned by the ML runtime (pool workers + reaper), for tests and status. */
int hr_ml_runtime_threads(void);

#endif
