/* Kompress (compress/kompress.h): the word model (split, must-keeps, quoted runs), line
 * rendering, and the compressor on a real ModernBERT-shaped model with both heads (random
 * weights, generated and imported at test time: kompress_model.h) through the C byte-level
 * BPE: contract and marker, line structure, must-keeps kept, every word scored past 512
 * tokens, determinism across thread counts and restarts, fail open (missing, corrupt,
 * vanished model; deadline) counted, and routing from detection.
 */
#include "textcomp_fixtures.h"

#include "compress/detect.h"
#include "compress/kompress.h"
#include "compress/text.h"
#include "kompress_model.h"

#include <ctype.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

/* ---- words, must-keeps, rendering ------------------------------------------------------ */

static void must_keep_words(void **state)
{
    (void)state;
    static const char *const keep[] = {
        "42", "0x1f3a", "3.14", "v1.2.3", "/usr/lib/libc.so", "src/main.c", "config.yaml",
        "--verbose", "-v", "os.path.join", "HttpClient", "getValue", "ERROR", "HTTP",
        "https://example.com/a", "snake_case", "error:", "Failed", "not", "(foo.c),",
        "\"quoted\"", "`make`", "can't", "NULL", "~/.bashrc", "a::b", "x=1", "f()", "#123",
        "Exception.", "timeout,", "EACCES",
    };
    static const char *const drop[] = {"the", "proxy", "sits", "between", "-", "and,", "(see",
                                       "I", "Hello", "quickly.", "—", "agent's"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        if (!hr_kompress_must_keep(keep[i], strlen(keep[i])))
            fail_msg("'%s' should be a must-keep word", keep[i]);
    for (size_t i = 0; i < sizeof drop / sizeof *drop; i++)
        if (hr_kompress_must_keep(drop[i], strlen(drop[i])))
            fail_msg("'%s' should not be a must-keep word", drop[i]);
}

static void split_marks_quoted_runs_per_line(void **state)
{
    (void)state;
    const char *in = "say \"hello big world\" now\n  next 'a b' c \"open\nquote ends here";
    hr_kwords w;
    assert_int_equal(hr_kompress_split(in, strlen(in), &w), 0);
    static const char *const words[] = {"say", "\"hello", "big", "world\"", "now", "next", "'a",
                                        "b'", "c", "\"open", "quote", "ends", "here"};
    static const int must[] = {0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 0};
    static const int line[] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2};
    assert_int_equal(w.n, sizeof words / sizeof *words);
    for (size_t i = 0; i < w.n; i++) {
        assert_int_equal(w.v[i].len, strlen(words[i]));
        assert_memory_equal(in + w.v[i].start, words[i], w.v[i].len);
        if (w.v[i].must != must[i])
            fail_msg("word %zu '%s': must %d, want %d", i, words[i], w.v[i].must, must[i]);
        assert_int_equal(w.v[i].line, line[i]);
    }
    hr_kwords_free(&w);
}

static void render(const char *in, const uint8_t *keep, const char *want)
{
    hr_kwords w;
    assert_int_equal(hr_kompress_split(in, strlen(in), &w), 0);
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_kompress_render(in, strlen(in), &w, keep, &out), 0);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    hr_buf_free(&out);
    hr_kwords_free(&w);
}

static void render_keeps_indentation_terminators_and_blank_lines(void **state)
{
    (void)state;
    /* line 1 keeps two of three words; line 3 loses all (the line goes); CRLF stays */
    render("  alpha beta gamma\r\n\n\tdelta epsilon\nzeta eta\n",
           (const uint8_t[]){0, 1, 1, 0, 0, 1, 0}, "  beta gamma\r\n\nzeta\n");
    /* the whitespace before a kept word is the original's; a last line without newline */
    render("a   b\tc\n    d e", (const uint8_t[]){1, 0, 1, 0, 1}, "a\tc\n    e");
    render("one two", (const uint8_t[]){0, 0}, "");
}

/* ---- on the model ------------------------------------------------------------------------ */

static char g_model[512];

static int setup_model(void **state)
{
    (void)state;
    return kompress_test_model("tiny", 5, g_model, sizeof g_model);
}

static hr_kompress *open_kq(const char *path, long queue_ms)
{
    hr_kompress_config c;
    hr_kompress_config_init(&c, path);
    c.min_bytes = 256;
    c.idle_unload_ms = 0;
    c.queue_ms = queue_ms;
    hr_ml_error err;
    hr_kompress *k = hr_kompress_open(&c, &err);
    if (!k)
        fail_msg("open: %s", err.msg);
    return k;
}

static hr_kompress *open_k(const char *path) { return open_kq(path, 5000); }

/* Prose in indented lines, each starting with its own must-keep label "L<n>:", with
 * must-keep words (paths, flags, numbers, CamelCase, error words) among plain ones. */
static void kx_prose(hr_buf *b, unsigned lines, unsigned seed)
{
    static const char *const plain[] = {"the", "proxy", "quietly", "moved", "every", "request",
                                        "through", "a", "small", "queue", "and", "then", "we",
                                        "looked", "at", "what", "remained", "of", "it", "today"};
    static const char *const special[] = {"src/main.c", "--retry", "404", "HttpClient", "failed",
                                          "config.yaml", "0xdeadbeef", "ERROR", "not"};
    for (unsigned i = 0; i < lines; i++) {
        FX(b, "%*sL%u:", (int)(i % 3) * 2, "", i);
        for (unsigned k = 0; k < 12; k++) {
            unsigned r = fx_rand(&seed);
            FX(b, " %s", r % 7 == 0 ? special[r % 9] : plain[r % 20]);
        }
        FX(b, "%s", i % 5 == 4 ? "\n\n" : "\n");
    }
}

/* The words of s[0..n), each as (start, len). */
static size_t words_of(const char *s, size_t n, size_t *st, size_t *ln, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap;) {
        if (isspace((unsigned char)s[i])) {
            i++;
            continue;
        }
        size_t a = i;
        while (i < n && !isspace((unsigned char)s[i]))
            i++;
        st[k] = a;
        ln[k++] = i - a;
    }
    return k;
}

/* Every output line (before the marker) is an input line with words removed: the same
 * label, the same indentation, its words a subsequence of that line's words. And every
 * must-keep word of the input is in the output. */
static void assert_lines_are_subsequences(const char *in, size_t len, const char *out, size_t olen)
{
    hr_lines li, lo;
    assert_int_equal(hr_lines_split(in, len, &li), 0);
    assert_int_equal(hr_lines_split(out, olen, &lo), 0);
    size_t from = 0, matched = 0;
    for (size_t i = 0; i + 1 < lo.n; i++) { /* the last line is the marker */
        const char *o = out + lo.start[i];
        size_t on = hr_line_len(out, &lo, i);
        if (on == 0)
            continue;
        size_t ow[64], owl[64], iw[64], iwl[64];
        size_t no = words_of(o, on, ow, owl, 64);
        assert_true(no > 0);
        size_t j = from;
        for (; j < li.n; j++) {
            const char *s = in + li.start[j];
            size_t sn = hr_line_len(in, &li, j), ni = words_of(s, sn, iw, iwl, 64);
            if (ni && iwl[0] == owl[0] && !memcmp(s + iw[0], o + ow[0], owl[0]))
                break;
        }
        if (j == li.n)
            fail_msg("output line %zu has no input line: %.*s", i, (int)on, o);
        const char *s = in + li.start[j];
        size_t sn = hr_line_len(in, &li, j), ni = words_of(s, sn, iw, iwl, 64);
        assert_int_equal(ow[0], iw[0]); /* same indentation */
        assert_memory_equal(o, s, ow[0]);
        size_t q = 0;
        for (size_t p = 0; p < no; p++) {
            while (q < ni && !(iwl[q] == owl[p] && !memcmp(s + iw[q], o + ow[p], owl[p])))
                q++;
            if (q == ni)
                fail_msg("line %zu: word %zu not in order: %.*s", i, p, (int)on, o);
            q++;
        }
        matched++;
        from = j + 1;
    }
    assert_true(matched > 0);
    hr_lines_free(&li);
    hr_lines_free(&lo);
    hr_kwords w;
    assert_int_equal(hr_kompress_split(in, len, &w), 0);
    for (size_t i = 0; i < w.n; i++)
        if (w.v[i].must) {
            /* find it as a whole word on some output line */
            const char *p = out;
            int found = 0;
            while (!found && (p = memmem(p, olen - (size_t)(p - out), in + w.v[i].start, w.v[i].len))) {
                size_t at = (size_t)(p - out), e = at + w.v[i].len;
                found = (at == 0 || isspace((unsigned char)out[at - 1])) &&
                        (e == olen || isspace((unsigned char)out[e]));
                p++;
            }
            if (!found)
                fail_msg("must-keep word '%.*s' was dropped", (int)w.v[i].len, in + w.v[i].start);
        }
    hr_kwords_free(&w);
}

static void compresses_prose_keeping_lines_and_must_keeps(void **state)
{
    (void)state;
    hr_kompress *k = open_k(g_model);
    hr_buf in = HR_BUF_INIT;
    kx_prose(&in, 60, 11);
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.kompress = k;
    hr_compress_result r = fx_check_contract(hr_compress_kompress, in.data, in.len, &o);
    assert_int_equal(r.compressed, 1);
    assert_string_equal(r.compressor, "kompress");
    assert_string_equal(r.unit, "words");
    assert_true(r.units_kept < r.units_total);
    assert_lines_are_subsequences(in.data, in.len, r.out.data, r.out.len);
    hr_kompress_stats st;
    hr_kompress_stats_get(k, &st);
    assert_int_equal(st.calls, 2); /* the contract check runs it twice */
    assert_int_equal(st.compressed, 2);
    assert_int_equal(st.failed_open, 0);
    assert_int_equal(st.words_in, 2 * r.units_total);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
    hr_kompress_close(k);
}

/* Long words push a 350-word chunk far past 512 tokens: every word still gets a score
 * (final_scores are products of a softmax and a sigmoid, so a scored word is > 0), over
 * several chunks; a single word longer than a whole chunk is scored on what fits. */
static void every_word_scored_past_512_tokens(void **state)
{
    (void)state;
    hr_kompress *k = open_k(g_model);
    hr_buf in = HR_BUF_INIT;
    unsigned seed = 7;
    for (unsigned i = 0; i < 300; i++) {
        if (i == 150) {
            for (unsigned c = 0; c < 3000; c++)
                FX(&in, "%c", "qzxj"[fx_rand(&seed) % 4]);
            FX(&in, " ");
        }
        for (unsigned c = 0; c < 18; c++)
            FX(&in, "%c", 'a' + fx_rand(&seed) % 26);
        FX(&in, "%s", i % 9 == 8 ? "\n" : " ");
    }
    size_t n = 0;
    hr_ml_error err;
    assert_int_equal(hr_kompress_score_words(k, in.data, in.len, NULL, 0, &n, &err), HR_ML_OK);
    assert_int_equal(n, 301);
    float *scores = calloc(n, sizeof *scores);
    assert_int_equal(hr_kompress_score_words(k, in.data, in.len, scores, n, &n, &err), HR_ML_OK);
    for (size_t i = 0; i < n; i++)
        if (!(scores[i] > 0.0f && scores[i] <= 1.0f))
            fail_msg("word %zu unscored: %g", i, scores[i]);
    hr_kompress_stats st;
    hr_kompress_stats_get(k, &st);
    /* 301 words fit one 350-word chunk; the tokens made it several */
    assert_true(st.chunks >= 4);
    free(scores);
    hr_buf_free(&in);
    hr_kompress_close(k);
}

static hr_buf compress_with_threads(const char *threads, const char *in, size_t len)
{
    setenv("HEADROOM_ML_THREADS", threads, 1);
    hr_kompress *k = open_k(g_model);
    hr_compress_result r;
    assert_int_equal(hr_kompress_compress(k, in, len, 0, &r), 0);
    assert_int_equal(r.compressed, 1);
    hr_kompress_close(k);
    unsetenv("HEADROOM_ML_THREADS");
    return r.out;
}

static void same_bytes_across_thread_counts_and_restarts(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    kx_prose(&in, 80, 23);
    hr_buf a = compress_with_threads("1", in.data, in.len);
    hr_buf b = compress_with_threads("2", in.data, in.len);
    hr_buf c = compress_with_threads("1", in.data, in.len);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_int_equal(a.len, c.len);
    assert_memory_equal(a.data, c.data, a.len);
    hr_buf_free(&a);
    hr_buf_free(&b);
    hr_buf_free(&c);
    hr_buf_free(&in);
}

static void expect_failed_open(hr_kompress *k, const char *in, size_t len, double deadline,
                               uint64_t errors, uint64_t deadlines)
{
    hr_compress_result r;
    assert_int_equal(hr_kompress_compress(k, in, len, deadline, &r), 0);
    assert_int_equal(r.compressed, 0);
    assert_int_equal(r.out.len, 0);
    hr_kompress_stats st;
    hr_kompress_stats_get(k, &st);
    assert_int_equal(st.errors, errors);
    assert_int_equal(st.deadline, deadlines);
    assert_int_equal(st.failed_open, errors + deadlines);
}

static int copy_file(const char *from, const char *to, size_t max)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    int ok = a && b;
    char buf[65536];
    size_t n, total = 0;
    while (ok && total < max && (n = fread(buf, 1, sizeof buf, a)) > 0) {
        if (n > max - total)
            n = max - total;
        ok = fwrite(buf, 1, n, b) == n;
        total += n;
    }
    if (a)
        fclose(a);
    if (b)
        fclose(b);
    return ok ? 0 : -1;
}

static void fails_open_on_missing_corrupt_or_vanished_model(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    kx_prose(&in, 20, 3);
    char path[600];
    snprintf(path, sizeof path, "%s.copy-%d", g_model, (int)getpid());

    hr_kompress *k = open_k("/nonexistent/kompress.hrm");
    expect_failed_open(k, in.data, in.len, 0, 1, 0);
    hr_kompress_close(k);

    assert_int_equal(copy_file(g_model, path, 4096), 0); /* truncated */
    k = open_k(path);
    expect_failed_open(k, in.data, in.len, 0, 1, 0);
    hr_kompress_close(k);

    /* loaded once, unloaded, then the file goes: the next load fails, counted */
    assert_int_equal(copy_file(g_model, path, (size_t)-1), 0);
    k = open_k(path);
    hr_compress_result r;
    assert_int_equal(hr_kompress_compress(k, in.data, in.len, 0, &r), 0);
    assert_int_equal(r.compressed, 1);
    hr_compress_result_free(&r);
    assert_int_equal(hr_ml_session_unload(hr_kompress_session(k)), 1);
    assert_int_equal(unlink(path), 0);
    expect_failed_open(k, in.data, in.len, 0, 1, 0);

    hr_kompress_close(k);
    hr_buf_free(&in);
}

static void stops_at_the_deadline(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    kx_prose(&in, 20, 4);
    hr_kompress *k = open_k(g_model);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    expect_failed_open(k, in.data, in.len, ts.tv_sec * 1e3 + ts.tv_nsec / 1e6, 0, 1);
    /* once the time of a chunk is known, a section that cannot end in time is not started */
    hr_compress_result r;
    assert_int_equal(hr_kompress_compress(k, in.data, in.len, 0, &r), 0);
    assert_int_equal(r.compressed, 1);
    hr_compress_result_free(&r);
    hr_kompress_stats st;
    hr_kompress_stats_get(k, &st);
    assert_true(st.chunk_ms > 0);
    uint64_t chunks = st.chunks;
    hr_buf big = HR_BUF_INIT;
    kx_prose(&big, 300, 9); /* 3,900 words: at least 12 chunks */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    expect_failed_open(k, big.data, big.len, ts.tv_sec * 1e3 + ts.tv_nsec / 1e6 + 4 * st.chunk_ms, 0, 2);
    hr_kompress_stats_get(k, &st);
    assert_int_equal(st.chunks, chunks);
    hr_buf_free(&big);
    hr_kompress_close(k);
    hr_buf_free(&in);
}

/* A session held by another caller past the queue limit: the section fails open, counted
 * as busy (the request is not held up). */
typedef struct holder {
    hr_kompress *k;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started;
} holder;

static int hold_work(const hr_ml_loaded *l, void *arg, hr_ml_error *err)
{
    (void)l;
    (void)err;
    holder *h = arg;
    pthread_mutex_lock(&h->mu);
    h->started = 1;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    struct timespec ts = {0, 400000000L};
    nanosleep(&ts, NULL);
    return 0;
}

static void *hold_session(void *arg)
{
    holder *h = arg;
    hr_ml_error err;
    hr_ml_session_run(hr_kompress_session(h->k), hold_work, h, &err);
    return NULL;
}

static void busy_session_fails_open_counted(void **state)
{
    (void)state;
    holder h = {open_kq(g_model, 10), PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hold_session, &h), 0);
    pthread_mutex_lock(&h.mu);
    while (!h.started)
        pthread_cond_wait(&h.cv, &h.mu);
    pthread_mutex_unlock(&h.mu);
    hr_buf in = HR_BUF_INIT;
    kx_prose(&in, 20, 6);
    hr_compress_result r;
    assert_int_equal(hr_kompress_compress(h.k, in.data, in.len, 0, &r), 0);
    assert_int_equal(r.compressed, 0);
    hr_kompress_stats st;
    hr_kompress_stats_get(h.k, &st);
    assert_int_equal(st.busy, 1);
    assert_int_equal(st.failed_open, 1);
    assert_int_equal(st.errors, 0);
    pthread_join(t, NULL);
    /* free again: the same text compresses */
    assert_int_equal(hr_kompress_compress(h.k, in.data, in.len, 0, &r), 0);
    assert_int_equal(r.compressed, 1);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
    hr_kompress_close(h.k);
}

static void few_words_pass_and_markers_are_left_alone(void **state)
{
    (void)state;
    hr_kompress *k = open_k(g_model);
    hr_compress_result r;
    const char *few = "just nine words of text that say very little";
    assert_int_equal(hr_kompress_compress(k, few, strlen(few), 0, &r), 0);
    assert_int_equal(r.compressed, 0);
    hr_kompress_stats st;
    hr_kompress_stats_get(k, &st);
    assert_int_equal(st.passed, 1);
    assert_int_equal(st.chunks, 0);
    /* already compressed by us or a peer: left alone without running the model */
    hr_buf in = HR_BUF_INIT;
    kx_prose(&in, 10, 2);
    FX(&in, "[5 lines compressed to 2. Retrieve more: hash=0123456789abcdef01234567]\n");
    assert_int_equal(hr_kompress_compress(k, in.data, in.len, 0, &r), 0);
    assert_int_equal(r.compressed, 0);
    hr_kompress_stats_get(k, &st);
    assert_int_equal(st.chunks, 0);
    hr_buf_free(&in);
    hr_kompress_close(k);
}

static void routed_from_detection_for_prose_only(void **state)
{
    (void)state;
    hr_kompress *k = open_k(g_model);
    assert_false(hr_kompress_wants(NULL, 0, 100000));
    assert_false(hr_kompress_wants(k, 0, 255));
    assert_true(hr_kompress_wants(k, 0, 256));
    assert_false(hr_kompress_wants(k, 1, 100000)); /* code: off by default */
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.kompress = k;
    hr_buf prose = HR_BUF_INIT, code = HR_BUF_INIT;
    fx_prose(&prose, 12);
    fx_c_code(&code, 30);
    hr_compress_result r;
    assert_int_equal(hr_compress_detected(prose.data, prose.len, &o, NULL, &r), 0);
    assert_int_equal(r.compressed, 1);
    assert_string_equal(r.compressor, "kompress");
    hr_compress_result_free(&r);
    assert_int_equal(hr_compress_detected(code.data, code.len, &o, NULL, &r), 0);
    assert_true(!r.compressed || strcmp(r.compressor, "kompress") != 0);
    hr_compress_result_free(&r);
    hr_kompress_stats st;
    hr_kompress_stats_get(k, &st);
    assert_int_equal(st.calls, 1); /* the code never reached the model */
    hr_buf_free(&prose);
    hr_buf_free(&code);
    hr_kompress_close(k);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(must_keep_words),
        cmocka_unit_test(split_marks_quoted_runs_per_line),
        cmocka_unit_test(render_keeps_indentation_terminators_and_blank_lines),
    };
    const struct CMUnitTest model[] = {
        cmocka_unit_test(compresses_prose_keeping_lines_and_must_keeps),
        cmocka_unit_test(every_word_scored_past_512_tokens),
        cmocka_unit_test(same_bytes_across_thread_counts_and_restarts),
        cmocka_unit_test(fails_open_on_missing_corrupt_or_vanished_model),
        cmocka_unit_test(stops_at_the_deadline),
        cmocka_unit_test(busy_session_fails_open_counted),
        cmocka_unit_test(few_words_pass_and_markers_are_left_alone),
        cmocka_unit_test(routed_from_detection_for_prose_only),
    };
    int rc = cmocka_run_group_tests_name("kompress_words", pure, NULL, NULL);
    return rc | cmocka_run_group_tests_name("kompress_model", model, setup_model, NULL);
}
