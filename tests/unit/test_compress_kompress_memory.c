/* Memory of Kompress across its session's lifecycle (docs/ml-runtime.md's guarantees, on
 * the compressor's whole path: byte-level BPE made at first use, chunk scratch, the
 * compressor's own word arrays): three cycles of load -> 50 chunks of compression ->
 * unload, on the ModernBERT-shaped test model (kompress_model.h).
 *   - after each unload RssAnon is within 1 MB of the pre-load baseline and the thread
 *     count is back to it;
 *   - no growth across cycles: the third cycle ends within 256 KB of the first.
 * Skipped under HEADROOM_SANITIZE (quarantine and shadow memory are anonymous).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "compress/kompress.h"
#include "kompress_model.h"
#include "sys/buf.h"
#include "sys/mem.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define MB (1024L * 1024L)

#ifndef HEADROOM_SANITIZE

static char g_model[512];

static int setup_model(void **state)
{
    (void)state;
    return kompress_test_model("tiny", 5, g_model, sizeof g_model);
}

/* About 1,750 words of prose in lines: five chunks of 350 words. */
static void make_text(hr_buf *b, unsigned seed)
{
    static const char *const w[] = {"the", "proxy", "compressed", "tool", "output", "request",
                                    "memory", "returned", "after", "session", "tokens", "pages",
                                    "weights", "latency", "retrieve", "agent", "model", "vector",
                                    "quietly", "moved", "through", "small", "queue", "today"};
    for (unsigned i = 0; i < 1750; i++) {
        seed = seed * 1103515245u + 12345u;
        hr_buf_printf(b, "%s%s", w[(seed >> 16) % 24], i % 14 == 13 ? "\n" : " ");
    }
}

static hr_mem_snapshot settled(int threads)
{
    hr_heap_trim(NULL);
    hr_mem_snapshot s;
    hr_mem_read(0, &s);
    for (int i = 0; i < 200 && threads >= 0 && s.threads != threads; i++) {
        struct timespec ts = {0, 5000000L};
        nanosleep(&ts, NULL);
        hr_mem_read(0, &s);
    }
    return s;
}

static void report(const char *what, const hr_mem_snapshot *s, const hr_mem_snapshot *base)
{
    print_message("  %-24s RssAnon %7.2f MB (%+8.1f KB)  RssFile %7.2f MB  threads %d\n", what,
                  (double)s->rss_anon / MB, ((double)s->rss_anon - (double)base->rss_anon) / 1024,
                  (double)s->rss_file / MB, s->threads);
}

static void three_cycles_of_fifty_chunks_return_to_baseline(void **state)
{
    (void)state;
    hr_kompress_config c;
    hr_kompress_config_init(&c, g_model);
    c.idle_unload_ms = 300000; /* the default: a reaper thread while loaded */
    c.queue_ms = 5000;
    hr_ml_error err;
    hr_kompress *k = hr_kompress_open(&c, &err);
    assert_non_null(k);
    hr_buf texts[10];
    for (unsigned i = 0; i < 10; i++) {
        texts[i] = (hr_buf)HR_BUF_INIT;
        make_text(&texts[i], i + 1);
    }
    hr_mem_snapshot base = settled(-1);
    report("baseline", &base, &base);
    size_t first_after = 0;
    uint64_t chunks = 0;
    for (int cycle = 0; cycle < 3; cycle++) {
        for (unsigned i = 0; i < 10; i++) {
            hr_compress_result r;
            assert_int_equal(hr_kompress_compress(k, texts[i].data, texts[i].len, 0, &r), 0);
            assert_int_equal(r.compressed, 1);
            hr_compress_result_free(&r);
        }
        hr_kompress_stats st;
        hr_kompress_stats_get(k, &st);
        assert_int_equal(st.failed_open, 0);
        assert_true(st.chunks - chunks >= 50);
        chunks = st.chunks;
        hr_mem_snapshot loaded;
        hr_mem_read(0, &loaded);
        report("loaded, 50 chunks", &loaded, &base);
        assert_int_equal(hr_ml_session_unload(hr_kompress_session(k)), 1);
        hr_mem_snapshot after = settled(base.threads);
        report("after unload", &after, &base);
        assert_true(after.rss_anon <= base.rss_anon + (size_t)MB);
        assert_int_equal(after.threads, base.threads);
        if (cycle == 0)
            first_after = after.rss_anon;
        else
            assert_true(after.rss_anon <= first_after + 256 * 1024); /* no growth */
    }
    for (unsigned i = 0; i < 10; i++)
        hr_buf_free(&texts[i]);
    hr_kompress_close(k);
}

#else

static void skipped_under_sanitizers(void **state)
{
    (void)state;
    skip();
}
#define three_cycles_of_fifty_chunks_return_to_baseline skipped_under_sanitizers
#define setup_model NULL

#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_cycles_of_fifty_chunks_return_to_baseline),
    };
    return cmocka_run_group_tests(tests, setup_model, NULL);
}
