/* Text compressor: blank runs, identical repeats and near-identical runs (progress bars,
 * recursive stack frames) collapse with counts; kept lines are never changed; text with
 * nothing repeated, numeric tables and short runs pass; the contract holds and bad input
 * is harmless. Fixtures are generated in textcomp_fixtures.h. */
#include "unit/textcomp_fixtures.h"

#include "compress/text.h"

static int has(const hr_buf *b, const char *line) { return fx_has_line(b->data, b->len, line, strlen(line)); }

static hr_compress_result run_asked(const hr_buf *in, const char *query)
{
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.query = query;
    o.query_len = query ? strlen(query) : 0;
    hr_compress_result r = fx_check_contract(hr_compress_text, in->data, in->len, &o);
    if (r.compressed) {
        assert_string_equal(r.unit, "lines");
        assert_string_equal(r.compressor, "text");
        fx_kept_lines_verbatim(in->data, in->len, &r.out);
    }
    return r;
}

static hr_compress_result run(const hr_buf *in) { return run_asked(in, NULL); }

static void progress_bar_keeps_first_and_last(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    FX(&in, "Fetching model.onnx\n");
    for (unsigned i = 0; i <= 100; i++) {
        FX(&in, "model.onnx: %3u%%|", i);
        for (unsigned k = 0; k < 20; k++)
            FX(&in, "%s", k < i / 5 ? "\xe2\x96\x88" : " ");
        FX(&in, "| %u/1000 [00:%02u<00:%02u, %u.%uMB/s]\n", i * 10, i % 60, (100 - i) % 60, 9 + i % 3, i % 10);
    }
    FX(&in, "Saved to /models/model.onnx\n");
    hr_compress_result r = run(&in);
    assert_true(r.compressed);
    assert_non_null(strstr(r.out.data, "model.onnx:   0%|"));
    assert_non_null(strstr(r.out.data, "model.onnx: 100%|"));
    assert_true(has(&r.out, "[99 similar lines omitted]"));
    assert_true(has(&r.out, "Saved to /models/model.onnx"));
    assert_int_equal(r.units_total, 103);
    assert_int_equal(r.units_kept, 4);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void identical_lines_and_blank_runs(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_prose(&in, 2);
    for (int i = 0; i < 50; i++)
        FX(&in, "Retrying connection to db-primary:5432 ...\n");
    for (int i = 0; i < 12; i++)
        FX(&in, "\n");
    FX(&in, "Connected.\nok\nok\n");
    hr_compress_result r = run(&in);
    assert_true(r.compressed);
    assert_true(has(&r.out, "Retrying connection to db-primary:5432 ..."));
    assert_true(has(&r.out, "[previous line repeated 49 more times]"));
    assert_non_null(strstr(r.out.data, "...\n[previous line repeated 49 more times]\n\nConnected.\nok\nok\n"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* Four "  }" lines in a row: "[previous line repeated 3 more times]" would cost more than
 * the three lines it stands for, so they stay; the long repeated run still collapses. */
static void a_repeat_note_never_costs_more_than_its_lines(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_prose(&in, 2);
    for (int i = 0; i < 4; i++)
        FX(&in, "  }\n");
    for (int i = 0; i < 50; i++)
        FX(&in, "Retrying connection to db-primary:5432 ...\n");
    FX(&in, "Connected.\n");
    hr_compress_result r = run(&in);
    assert_true(r.compressed);
    assert_non_null(strstr(r.out.data, "\n  }\n  }\n  }\n  }\nRetrying"));
    assert_false(has(&r.out, "[previous line repeated 3 more times]"));
    assert_true(has(&r.out, "[previous line repeated 49 more times]"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void recursive_stack_frames(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    FX(&in, "Traceback (most recent call last):\n");
    for (int i = 0; i < 30; i++)
        FX(&in, "  File \"/srv/app/tree.py\", line 41, in walk\n    return walk(node.child)\n"
                "  File \"/srv/app/tree.py\", line 57, in visit\n");
    for (int i = 0; i < 30; i++) /* near-identical: the depth changes */
        FX(&in, "    at Tree.walk (tree.js:%d:12)\n    at Tree.visit (tree.js:%d:5)\n", 100 + i, 200 + i);
    FX(&in, "RecursionError: maximum recursion depth exceeded\n");
    hr_compress_result r = run(&in);
    assert_true(r.compressed);
    assert_true(has(&r.out, "[previous 3 lines repeated 29 more times]"));
    assert_true(has(&r.out, "    at Tree.walk (tree.js:100:12)"));
    assert_true(has(&r.out, "    at Tree.visit (tree.js:229:5)"));
    assert_true(has(&r.out, "[56 similar lines omitted]"));
    assert_true(has(&r.out, "RecursionError: maximum recursion depth exceeded"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void nothing_repeated_passes(void **state)
{
    (void)state;
    hr_buf code = HR_BUF_INIT, table = HR_BUF_INIT, pairs = HR_BUF_INIT;
    fx_c_code(&code, 12);
    hr_compress_result r = run(&code);
    assert_false(r.compressed);
    for (int i = 0; i < 200; i++) /* numbers without words are data, not noise */
        FX(&table, "%d,%d,%d.%d\n", i, i * 7 % 13, i * 3, i % 10);
    r = run(&table);
    assert_false(r.compressed);
    for (int i = 0; i < 40; i++) /* runs of two are too short to be worth a note */
        FX(&pairs, "step %c\nstep %c\n", 'a' + i % 26, 'a' + i % 26);
    r = run(&pairs);
    assert_false(r.compressed);
    hr_buf_free(&code);
    hr_buf_free(&table);
    hr_buf_free(&pairs);
}

static void crlf_and_bad_input(void **state)
{
    (void)state;
    hr_buf crlf = HR_BUF_INIT, bin = HR_BUF_INIT, big = HR_BUF_INIT, utf = HR_BUF_INIT;
    for (int i = 0; i < 40; i++)
        FX(&crlf, "Downloading layer %d/40 sha256:%08x\n", i + 1, 0xabc000u + (unsigned)i);
    FX(&crlf, "Done\n");
    fx_crlf(&crlf);
    hr_compress_result r = run(&crlf);
    assert_true(r.compressed);
    assert_true(has(&r.out, "Downloading layer 1/40 sha256:00abc000\r"));
    assert_true(has(&r.out, "Downloading layer 40/40 sha256:00abc027\r"));
    assert_true(has(&r.out, "Done\r"));
    hr_compress_result_free(&r);

    fx_binary(&bin, 32 * 1024);
    r = run(&bin);
    hr_compress_result_free(&r);

    fx_long_line(&big, 10u << 20, 'z');
    r = run(&big);
    assert_false(r.compressed);

    for (int i = 0; i < 30; i++)
        FX(&utf, "caf\xe9 \xff\xfe broken \xe2\x82\n");
    r = run(&utf);
    assert_true(r.compressed);
    assert_true(has(&r.out, "caf\xe9 \xff\xfe broken \xe2\x82"));
    assert_true(has(&r.out, "[previous line repeated 29 more times]"));
    hr_compress_result_free(&r);

    /* the last line without a newline is kept whole */
    hr_buf tail = HR_BUF_INIT;
    for (int i = 0; i < 40; i++)
        FX(&tail, "the same line again\n");
    FX(&tail, "last line without newline");
    r = run(&tail);
    assert_true(r.compressed);
    assert_non_null(strstr(r.out.data, "\nlast line without newline\n["));
    hr_compress_result_free(&r);
    hr_buf_free(&tail);
    hr_buf_free(&crlf);
    hr_buf_free(&bin);
    hr_buf_free(&big);
    hr_buf_free(&utf);
}

static void shape_ignores_numbers_and_bars(void **state)
{
    (void)state;
    size_t l1, l2, l3;
    const char *a = "Epoch 1/50 [=====>      ] loss: 0.9132 acc: 0.41";
    const char *b = "Epoch 12/50 [=============>] loss: 0.2210 acc: 0.88";
    const char *c = "Epoch 12/50 [=============>] LOSS: 0.2210 acc: 0.88";
    assert_true(hr_line_shape_hash(a, strlen(a), &l1) == hr_line_shape_hash(b, strlen(b), &l2));
    assert_true(hr_line_shape_hash(b, strlen(b), &l2) != hr_line_shape_hash(c, strlen(c), &l3));
    assert_true(l1 >= 10);
}

/* A CSV of 600 alike rows: the row the question names by its rare value (a hex input)
 * stays where it stands, between two notes; a question word in every row ("float32")
 * changes nothing. Before, the asked row was folded into "[N similar lines omitted]". */
static void question_breaks_similar_runs(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    FX(&in, "dtype,input,output,ulperrortol\n");
    for (unsigned i = 0; i < 600; i++)
        FX(&in, "np.float32,0x%08x,0x%08x,3\n", 0x3e000000u + i * 7919u, 0xbf000000u + i * 104729u);
    char row[64];
    snprintf(row, sizeof row, "np.float32,0x%08x,0x%08x,3", 0x3e000000u + 300 * 7919u, 0xbf000000u + 300 * 104729u);
    char query[96];
    snprintf(query, sizeof query, "expected log2 for float32 input 0x%08x?", 0x3e000000u + 300 * 7919u);
    hr_compress_result plain = run(&in);
    assert_true(plain.compressed);
    assert_false(has(&plain.out, row));
    hr_compress_result asked = run_asked(&in, query);
    assert_true(asked.compressed);
    assert_true(has(&asked.out, row));
    assert_true(asked.out.len < in.len / 10);
    hr_compress_result common = run_asked(&in, "which float32 rows are there?");
    assert_int_equal(common.out.len, plain.out.len);
    assert_memory_equal(common.out.data, plain.out.data, plain.out.len);
    hr_compress_result_free(&plain);
    hr_compress_result_free(&asked);
    hr_compress_result_free(&common);
    hr_buf_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(progress_bar_keeps_first_and_last),
        cmocka_unit_test(question_breaks_similar_runs),
        cmocka_unit_test(identical_lines_and_blank_runs),
        cmocka_unit_test(recursive_stack_frames),
        cmocka_unit_test(nothing_repeated_passes),
        cmocka_unit_test(a_repeat_note_never_costs_more_than_its_lines),
        cmocka_unit_test(crlf_and_bad_input),
        cmocka_unit_test(shape_ignores_numbers_and_bars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
