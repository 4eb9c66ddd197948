/* Memory tests for the ML runtime (memory, not time): the guarantees docs/ml-runtime.md
 * makes, measured from /proc/self/status around a real encoder session on a model of the
 * all-MiniLM-L6-v2 shape (random weights from tools/gen_model.py, imported with
 * `headroom model import` into the build dir at test time; nothing is committed).
 *   - three load -> 50 inferences -> unload cycles: after each unload RssAnon within 256 KB
 *     of the pre-load baseline (a leak of 6 KB per inference is 300 KB a cycle) and no
 *     growth from one cycle to the next beyond 64 KB (a leak too small for the first limit
 *     still adds up), RssFile back to it (1 MB for code pages touched on first use), thread
 *     count equal to it;
 *   - RssAnon during a 256-token inference <= baseline + 16 MB (peak via VmHWM reset);
 *   - two such cycles with a 2-thread pool (workers must not leave allocator arenas behind).
 * Under HEADROOM_SANITIZE the same cases run (states, thread counts, mappings, determinism
 * across cycles, the ids path; ASan's leak check covers the heap) with fewer inferences,
 * but without the RSS limits: sanitizer allocators keep freed memory in quarantine and
 * their shadow memory is anonymous, so RssAnon says nothing about our code there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ml/model_file.h"
#include "ml/session.h"
#include "ml/wordpiece.h"
#include "sys/mem.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MB (1024L * 1024L)
#define KB 1024L
#define DIM_MAX 1024

#ifdef HEADROOM_SANITIZE
#define MEASURE_RSS 0
#define INFERENCES 8 /* an unoptimised sanitizer build is ~20x slower */
#else
#define MEASURE_RSS 1
#define INFERENCES 50
#endif

/* RssAnon after an unload: at most this above the pre-load baseline ... */
#define CYCLE_ANON_LIMIT (256 * KB)
/* ... and at most this above the first cycle's (allocator noise; a leak accumulates). */
#define CYCLE_GROWTH_LIMIT (64 * KB)

static char g_model[512];

/* Builds the model once per build dir: generate the HF directory, import it. */
static int prepare_model(void **state)
{
    (void)state;
    const char *bdir = getenv("HEADROOM_BUILD_DIR");
    const char *sdir = getenv("HEADROOM_SOURCE_DIR");
    const char *bin = getenv("HEADROOM_BIN");
    const char *py = getenv("HEADROOM_PYTHON");
    if (!bdir || !sdir || !bin) {
        fprintf(stderr, "test_ml_memory: run through ctest (needs HEADROOM_BUILD_DIR, "
                        "HEADROOM_SOURCE_DIR, HEADROOM_BIN)\n");
        return -1;
    }
    snprintf(g_model, sizeof g_model, "%s/ml-test-models/minilm-s7.hrm", bdir);
    /* Reuse the cached file unless the generator or the importer (the binary) is newer. */
    struct stat st, gen, imp;
    char gen_path[512];
    snprintf(gen_path, sizeof gen_path, "%s/tools/gen_model.py", sdir);
    if (stat(g_model, &st) == 0 && st.st_size > 0 && stat(gen_path, &gen) == 0 && stat(bin, &imp) == 0 &&
        st.st_mtime >= gen.st_mtime && st.st_mtime >= imp.st_mtime)
        return 0;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "set -e; d='%s/ml-test-models'; mkdir -p \"$d\"; "
             "'%s' '%s/tools/gen_model.py' --arch bert --size minilm --seed 7 --out \"$d/minilm-s7\" >/dev/null; "
             "'%s' model import \"$d/minilm-s7\" --out \"$d/minilm-s7.hrm.tmp\" >/dev/null; "
             "mv \"$d/minilm-s7.hrm.tmp\" '%s'",
             bdir, py ? py : "/usr/bin/python3", sdir, bin, g_model);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_ml_memory: could not generate/import the model: %s\n", cmd);
        return -1;
    }
    return 0;
}

/* Deterministic English-like text of about `words` words. */
static size_t make_text(char *buf, size_t cap, int words, unsigned seed)
{
    static const char *vocab[] = {
        "the", "proxy", "compressed", "tool", "output", "error", "timeout", "request", "memory",
        "returned", "baseline", "after", "unload", "session", "tokens", "kernel", "mapping",
        "anonymous", "pages", "weights", "inference", "latency", "retrieve", "hash", "json",
        "array", "items", "log", "lines", "warning", "failed", "connection", "refused", "user",
        "agent", "model", "embedding", "vector", "search", "results", "file", "path", "diff",
    };
    size_t n = 0;
    unsigned s = seed * 2654435761u + 1;
    for (int i = 0; i < words && n + 32 < cap; i++) {
        s = s * 1103515245u + 12345u;
        const char *w = vocab[(s >> 8) % (sizeof vocab / sizeof *vocab)];
        n += (size_t)snprintf(buf + n, cap - n, i ? " %s" : "%s", w);
        if ((s >> 20) % 11 == 0)
            n += (size_t)snprintf(buf + n, cap - n, " %u.", (s >> 4) % 10000);
    }
    return n;
}

static hr_mem_snapshot settled_snapshot(void)
{
    hr_heap_trim(NULL);
    hr_mem_snapshot s;
    assert_int_equal(hr_mem_read(0, &s), 0);
    return s;
}

/* The kernel drops an exited thread from the count a moment after pthread_join returns,
 * so wait up to 1 s for the count (only) before taking the snapshot. */
static hr_mem_snapshot read_after_threads_settle(int want)
{
    hr_mem_snapshot s;
    hr_mem_read(0, &s);
    for (int i = 0; i < 200 && s.threads != want; i++) {
        struct timespec ts = {0, 5000000L};
        nanosleep(&ts, NULL);
        hr_mem_read(0, &s);
    }
    return s;
}

static hr_ml_session *open_embedder(int threads)
{
    hr_ml_session_config cfg;
    hr_ml_session_config_init(&cfg, "embedder", &hr_ml_kind_encoder, g_model);
    cfg.threads = threads;
    cfg.queue_ms = 1000;
    cfg.idle_unload_ms = 300000; /* the default: a reaper thread while loaded */
    hr_ml_error err;
    hr_ml_session *s = hr_ml_session_open(&cfg, &err);
    assert_non_null(s);
    return s;
}

static void assert_unit_vector(const float *v, int dim)
{
    double sq = 0;
    for (int i = 0; i < dim; i++) {
        assert_true(isfinite(v[i]));
        sq += (double)v[i] * v[i];
    }
    assert_true(fabs(sq - 1.0) < 1e-3);
}

/* INFERENCES inferences of 6..45 words (8..~60 tokens); returns the embedding of the first
 * text in first. */
static void run_inferences(hr_ml_session *s, float *first, int *dim)
{
    static char text[8192];
    float out[DIM_MAX];
    hr_ml_error err;
    for (int i = 0; i < INFERENCES; i++) {
        size_t len = make_text(text, sizeof text, 6 + (i * 37) % 40, (unsigned)i);
        hr_ml_embed_info info;
        hr_ml_rc rc = hr_ml_embed(s, text, len, out, DIM_MAX, &info, &err);
        if (rc != HR_ML_OK)
            fail_msg("embed %d: rc %d: %s", i, rc, err.msg);
        assert_true(info.n_tokens >= 8);
        assert_unit_vector(out, info.dim);
        if (i == 0) {
            memcpy(first, out, sizeof(float) * (size_t)info.dim);
            *dim = info.dim;
        }
    }
}

static void report(const char *what, const hr_mem_snapshot *s, const hr_mem_snapshot *base)
{
    print_message("  %-22s RssAnon %7.2f MB (%+8.1f KB)  RssFile %7.2f MB (%+8.1f KB)  threads %d\n",
                  what, (double)s->rss_anon / MB, ((double)s->rss_anon - (double)base->rss_anon) / 1024,
                  (double)s->rss_file / MB, ((double)s->rss_file - (double)base->rss_file) / 1024,
                  s->threads);
}

static void cycles_with_threads(int threads, int cycles)
{
    hr_ml_session *s = open_embedder(threads);
    hr_mem_snapshot base = settled_snapshot();
    report("baseline", &base, &base);
    float ref[DIM_MAX], again[DIM_MAX];
    int dim = 0, dim2 = 0;
    size_t first_after_anon = 0;
    for (int cycle = 0; cycle < cycles; cycle++) {
        run_inferences(s, cycle == 0 ? ref : again, cycle == 0 ? &dim : &dim2);
        if (cycle > 0) {
            assert_int_equal(dim, dim2);
            assert_memory_equal(ref, again, sizeof(float) * (size_t)dim); /* deterministic */
        }
        hr_mem_snapshot loaded;
        hr_mem_read(0, &loaded);
        report("loaded, inferences run", &loaded, &base);
        hr_ml_session_status st;
        hr_ml_session_status_get(s, &st);
        assert_int_equal(st.state, HR_ML_READY);
        assert_true(st.mapped_bytes > 10 * MB);
        /* the weights are file-backed pages: RssFile grew */
        assert_true(loaded.rss_file > base.rss_file + 5 * MB);
        assert_int_equal(loaded.threads, base.threads + threads); /* workers + reaper */

        assert_int_equal(hr_ml_session_unload(s), 1);
        hr_mem_snapshot after = read_after_threads_settle(base.threads);
        report("after unload", &after, &base);
        if (MEASURE_RSS) {
            if (after.rss_anon > base.rss_anon + (size_t)CYCLE_ANON_LIMIT)
                fail_msg("cycle %d: RssAnon %+ld KB over the baseline (limit %ld KB)", cycle,
                         ((long)after.rss_anon - (long)base.rss_anon) / KB, CYCLE_ANON_LIMIT / KB);
            if (cycle == 0)
                first_after_anon = after.rss_anon;
            else if (after.rss_anon > first_after_anon + (size_t)CYCLE_GROWTH_LIMIT)
                fail_msg("cycle %d: RssAnon grew %+ld KB since the first cycle (limit %ld KB)", cycle,
                         ((long)after.rss_anon - (long)first_after_anon) / KB, CYCLE_GROWTH_LIMIT / KB);
            assert_true(after.rss_file <= base.rss_file + (size_t)MB);
        }
        assert_int_equal(after.threads, base.threads);
        hr_ml_session_status_get(s, &st);
        assert_int_equal(st.mapped_bytes, 0);
        assert_int_equal(st.scratch_bytes, 0);
        assert_true(st.has_trim);
#ifdef HEADROOM_SANITIZE
        assert_int_equal(st.last_trim, HR_TRIM_UNAVAILABLE); /* the sanitizer owns the heap */
#else
        assert_true(st.last_trim == HR_TRIM_RELEASED || st.last_trim == HR_TRIM_NOTHING);
#endif
    }
    hr_ml_session_close(s);
}

static void three_cycles_return_to_baseline(void **state)
{
    (void)state;
    cycles_with_threads(1, 3);
}

static void cycles_with_two_threads(void **state)
{
    (void)state;
    cycles_with_threads(2, 2); /* two cycles: enough to see a retained arena */
}

/* Resets VmHWM to the current RSS (Linux >= 4.0); 0 ok. */
static int reset_peak(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok ? 0 : -1;
}

static void scratch_bound_at_256_tokens(void **state)
{
    (void)state;
    hr_ml_session *s = open_embedder(1);
    hr_mem_snapshot base = settled_snapshot();
    static char text[16384];
    size_t len = make_text(text, sizeof text, 600, 99);
    float out[DIM_MAX];
    hr_ml_embed_info info;
    hr_ml_error err;
    assert_int_equal(hr_ml_session_load(s, &err), HR_ML_OK);
    hr_mem_snapshot loaded;
    hr_mem_read(0, &loaded);
    int have_peak = reset_peak() == 0;
    assert_int_equal(hr_ml_embed(s, text, len, out, DIM_MAX, &info, &err), HR_ML_OK);
    hr_mem_snapshot during;
    hr_mem_read(0, &during);
    assert_int_equal(info.n_tokens, 256);
    assert_true(info.truncated);
    assert_unit_vector(out, info.dim);
    report("loaded", &loaded, &base);
    report("after 256 tokens", &during, &base);
    /* scratch pages stay resident until unload, so this is at least the in-call use */
    if (MEASURE_RSS)
        assert_true(during.rss_anon <= base.rss_anon + 16 * (size_t)MB);
    if (MEASURE_RSS && have_peak) {
        /* file pages only grow during the call, so the peak's anon part is at most this */
        size_t peak_anon = during.vm_hwm - during.rss_file - during.rss_shmem;
        print_message("  peak anon during call %7.2f MB (%+.1f KB vs baseline)\n", (double)peak_anon / MB,
                      ((double)peak_anon - (double)base.rss_anon) / 1024);
        assert_true(peak_anon <= base.rss_anon + 16 * (size_t)MB);
    }
    hr_ml_session_status st;
    hr_ml_session_status_get(s, &st);
    assert_true(st.scratch_bytes <= 16 * (size_t)MB);
    hr_ml_session_close(s);
    hr_mem_snapshot after;
    hr_mem_read(0, &after);
    if (MEASURE_RSS)
        assert_true(after.rss_anon <= base.rss_anon + (size_t)MB);
}

/* The ids entry point gives the same bytes as the text path for the same ids, and refuses
 * lengths the session cannot take. */
static void embed_ids_matches_text_path(void **state)
{
    (void)state;
    hr_ml_error err;
    hr_model_file *mf;
    assert_int_equal(hr_model_file_open(g_model, 0, &mf, &err), 0);
    hr_wordpiece *tok;
    assert_int_equal(hr_wordpiece_new(&mf->vocab, &tok, &err), 0);
    static char text[4096];
    size_t len = make_text(text, sizeof text, 40, 5);
    int32_t ids[256];
    size_t n = 0;
    int trunc = 0;
    assert_int_equal(hr_wordpiece_encode(tok, text, len, ids, 256, &n, &trunc), 0);
    hr_wordpiece_free(tok);
    hr_model_file_close(mf);

    hr_ml_session *s = open_embedder(1);
    float a[DIM_MAX], b[DIM_MAX];
    hr_ml_embed_info ia, ib;
    assert_int_equal(hr_ml_embed(s, text, len, a, DIM_MAX, &ia, &err), HR_ML_OK);
    assert_int_equal(hr_ml_embed_ids(s, ids, (int)n, b, DIM_MAX, &ib, &err), HR_ML_OK);
    assert_int_equal(ia.n_tokens, (int)n);
    assert_int_equal(ib.n_tokens, (int)n);
    assert_memory_equal(a, b, sizeof(float) * (size_t)ia.dim);
    assert_int_equal(hr_ml_embed_ids(s, ids, 0, b, DIM_MAX, &ib, &err), HR_ML_ERROR);
    static int32_t many[300];
    for (int i = 0; i < 300; i++)
        many[i] = ids[i % (int)n];
    assert_int_equal(hr_ml_embed_ids(s, many, 300, b, DIM_MAX, &ib, &err), HR_ML_ERROR);
    assert_int_equal(hr_ml_embed(s, text, len, a, 8, &ia, &err), HR_ML_ERROR); /* out too small */
    hr_ml_session_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_cycles_return_to_baseline),
        cmocka_unit_test(scratch_bound_at_256_tokens),
        cmocka_unit_test(cycles_with_two_threads),
        cmocka_unit_test(embed_ids_matches_text_path),
    };
    return cmocka_run_group_tests(tests, prepare_model, NULL);
}
