/* File-listing compressor: find / git ls-files / tree / ls -R output. Needles (paths named
 * by the query, error-ish names, top-level files) survive verbatim, the rest collapses per
 * directory into notes that count files by extension, the contract holds (one marker with
 * the input's hash, deterministic, kept lines unchanged) and bad input is handled
 * (binary, CRLF, a 10 MB line, invalid UTF-8). Detection routes listings here. */
#include "unit/textcomp_fixtures.h"

#include "compress/detect.h"
#include "compress/listing.h"

static const char *const SERVICES[] = {"billing", "auth", "orders", "search", "notify", "gateway"};
static const char *const DIRS[] = {"app", "tests", "migrations", "config", "docs"};
static const char *const EXT[] = {"py", "py", "py", "yaml", "md", "json"};

/* `find . -type f`: n paths under services/<svc>/<dir>/, plus a few root files. */
static void gen_find(hr_buf *b, unsigned n, const char *prefix)
{
    unsigned seed = 7;
    FX(b, "%sREADME.md\n%sMakefile\n", prefix, prefix);
    for (unsigned i = 0; i < n; i++) {
        unsigned r = fx_rand(&seed);
        FX(b, "%sservices/%s/%s/mod_%u.%s\n", prefix, SERVICES[r % 6], DIRS[(r / 7) % 5], i,
           EXT[(r / 35) % 6]);
    }
}

static hr_compress_result run(const hr_buf *in, const char *query)
{
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.query = query;
    o.query_len = query ? strlen(query) : 0;
    hr_compress_result r = fx_check_contract(hr_compress_listing, in->data, in->len, &o);
    if (r.compressed) {
        assert_string_equal(r.unit, "lines");
        assert_string_equal(r.compressor, "listing");
        fx_kept_lines_verbatim(in->data, in->len, &r.out);
    }
    return r;
}

static int has(const hr_buf *b, const char *line) { return fx_has_line(b->data, b->len, line, strlen(line)); }
static int contains(const hr_buf *b, const char *s) { return memmem(b->data, b->len, s, strlen(s)) != NULL; }

/* Sum of the file counts in the notes plus kept path lines equals the input's paths. */
static size_t counted_files(const hr_buf *out)
{
    size_t total = 0;
    for (const char *p = out->data, *e = out->data + out->len; p < e;) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t m = (size_t)((nl ? nl : e) - p);
        const char *paren = memchr(p, '(', m);
        if (m > 2 && p[0] == '[' && p[m - 1] == ']' && paren) {
            char tmp[64];
            size_t k = (size_t)(p + m - paren) < sizeof tmp ? (size_t)(p + m - paren) : sizeof tmp - 1;
            memcpy(tmp, paren, k);
            tmp[k] = '\0';
            unsigned long files = 0;
            if (sscanf(tmp, "(%lu file", &files) == 1)
                total += files;
        } else if (nl && m && p[0] != '[') {
            total++;
        }
        p = nl ? nl + 1 : e;
    }
    return total;
}

static void find_needles_survive_and_rest_collapses(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    gen_find(&in, 1500, "./");
    FX(&in, "./services/billing/app/retry_budget.py\n");
    FX(&in, "./services/orders/app/crash_report_2026.txt\n");
    gen_find(&in, 500, "./");
    hr_compress_result r = run(&in, "how does retry_budget_left decide?");
    assert_true(r.compressed);
    assert_true(has(&r.out, "./services/billing/app/retry_budget.py"));     /* query word */
    assert_true(has(&r.out, "./services/orders/app/crash_report_2026.txt")); /* error-ish */
    assert_true(has(&r.out, "./README.md"));                                /* top level */
    assert_true(has(&r.out, "./Makefile"));
    assert_false(has(&r.out, "./services/auth/app/mod_3.py"));
    assert_true(contains(&r.out, "[services/billing/app/ ("));
    assert_true(contains(&r.out, " .py"));
    assert_int_equal(r.units_total, 2006);
    assert_true(r.units_kept < 100);
    assert_int_equal(counted_files(&r.out), 2006);
    assert_true(r.out.len * 10 < in.len);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* Many directories: notes group at a shallower depth so there are at most 40 of them. */
static void many_directories_group_coarser(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    for (unsigned d = 0; d < 300; d++)
        for (unsigned f = 0; f < 4; f++)
            FX(&in, "src/pkg%u/sub%u/file%u.go\n", d % 10, d, f);
    hr_compress_result r = run(&in, NULL);
    assert_true(r.compressed);
    assert_true(r.units_kept <= 40);
    assert_true(has(&r.out, "[src/pkg0/ (120 files: 120 .go)]"));
    assert_int_equal(counted_files(&r.out), 1200);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void tree_output(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    FX(&in, ".\n\xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 README.md\n\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 src\n");
    for (unsigned d = 0; d < 6; d++) {
        FX(&in, "    \xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 mod%u\n", d);
        for (unsigned f = 0; f < 20; f++)
            FX(&in, "    \xe2\x94\x82   \xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 %s%u.ts\n",
               d == 4 && f == 7 ? "token_refresh" : "part", f);
    }
    FX(&in, "\n8 directories, 121 files\n");
    hr_compress_result r = run(&in, "where is the token refresh logic?");
    assert_true(r.compressed);
    assert_true(has(&r.out, "    \xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 mod3"));  /* top structure */
    assert_true(has(&r.out, "    \xe2\x94\x82   \xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 token_refresh7.ts"));
    assert_true(has(&r.out, "8 directories, 121 files"));
    assert_true(has(&r.out, "[src/mod0/ (20 files: 20 .ts)]"));
    assert_true(has(&r.out, "[src/mod4/ (19 files: 19 .ts)]"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void ls_recursive(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    FX(&in, ".:\nMakefile\nsrc\n\n");
    for (unsigned d = 0; d < 5; d++) {
        FX(&in, "./src/ui%u:\n", d);
        for (unsigned f = 0; f < 30; f++)
            FX(&in, "%s%u.%s\n", f == 3 && d == 2 ? "ErrorBoundary" : "Widget", f, f % 3 ? "tsx" : "css");
        FX(&in, "\n");
    }
    hr_compress_result r = run(&in, NULL);
    assert_true(r.compressed);
    assert_true(has(&r.out, "./src/ui1:"));
    assert_true(has(&r.out, "ErrorBoundary3.css"));
    /* each directory's header keeps its own summary right below it (no empty-looking dirs) */
    assert_non_null(strstr(r.out.data, "./src/ui0:\n[30 files: 20 .tsx, 10 .css]\n"));
    assert_non_null(strstr(r.out.data, "./src/ui2:\n[29 files: 20 .tsx, 9 .css]\n"));
    assert_non_null(strstr(r.out.data, "./src/ui4:\n[30 files: 20 .tsx, 10 .css]\n"));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void short_or_not_a_listing_passes(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    gen_find(&in, 20, "");
    hr_compress_result r = run(&in, NULL);
    assert_false(r.compressed); /* under 30 lines */
    hr_buf_reset(&in);
    fx_prose(&in, 20);
    r = run(&in, NULL);
    assert_false(r.compressed);
    hr_buf_free(&in);
}

static void bad_input(void **state)
{
    (void)state;
    hr_buf bin = HR_BUF_INIT, crlf = HR_BUF_INIT, big = HR_BUF_INIT, utf = HR_BUF_INIT;
    fx_binary(&bin, 8192);
    hr_compress_result r = run(&bin, NULL);
    assert_false(r.compressed);

    gen_find(&crlf, 600, "");
    FX(&crlf, "lib/errors/handler.rb\n");
    fx_crlf(&crlf);
    r = run(&crlf, NULL);
    assert_true(r.compressed);
    assert_non_null(memmem(r.out.data, r.out.len, "lib/errors/handler.rb\r\n", 23));
    hr_compress_result_free(&r);

    fx_long_line(&big, 10u << 20, 'a');
    r = run(&big, NULL);
    assert_false(r.compressed);
    hr_buf_reset(&big);
    gen_find(&big, 100, "");
    FX(&big, "src/");
    fx_long_line(&big, 10u << 20, 'b');
    r = run(&big, NULL); /* one huge path: kept or collapsed, never cut */
    if (r.compressed)
        assert_true(r.out.len < big.len);
    hr_compress_result_free(&r);

    for (unsigned i = 0; i < 200; i++)
        FX(&utf, "docs/i18n/caf\xe9_%u/\xc3\xffmsg\xf0\x9f\x98_%u.po\n", i % 7, i);
    r = run(&utf, NULL);
    assert_true(r.compressed);
    assert_int_equal(r.units_total, 200);
    hr_compress_result_free(&r);
    hr_buf_free(&bin);
    hr_buf_free(&crlf);
    hr_buf_free(&big);
    hr_buf_free(&utf);
}

static void detection_routes_listings(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    gen_find(&in, 200, "./");
    assert_int_equal(hr_detect(in.data, in.len), HR_CT_LISTING);
    assert_ptr_equal(hr_detect_pick(in.data, in.len, NULL), hr_compress_listing);
    assert_string_equal(hr_content_type_name(HR_CT_LISTING), "listing");
    hr_buf_reset(&in);
    gen_find(&in, 200, ""); /* git ls-files: no "./" */
    assert_int_equal(hr_detect(in.data, in.len), HR_CT_LISTING);
    hr_compress_result r;
    assert_int_equal(hr_compress_detected(in.data, in.len, NULL, NULL, &r), 0);
    assert_true(r.compressed);
    assert_string_equal(r.compressor, "listing");
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static int has_line(const hr_buf *b, const char *line) { return fx_has_line(b->data, b->len, line, strlen(line)); }

/* du -h | sort -h and find -printf: numbers before each path. They are listings (before,
 * they passed whole as prose); sorted by size, the last lines are the biggest and du's
 * total, and stay; a question word in every path ("usr") picks out none of them; notes count
 * "entries" (du lists directories, not files). */
static void numbered_listings(void **state)
{
    (void)state;
    hr_buf du = HR_BUF_INIT;
    for (unsigned i = 0; i < 300; i++)
        FX(&du, "%uK\t/usr/lib/%s/%s/m%u\n", 4 + i, SERVICES[i % 6], DIRS[(i / 6) % 5], i);
    FX(&du, "263M\t/usr/lib/fpc\n1.1G\t/usr/lib\n");
    assert_int_equal(hr_detect(du.data, du.len), HR_CT_LISTING);
    hr_compress_result r = run(&du, "which directory under /usr/lib takes the most space?");
    assert_true(r.compressed);
    assert_true(has_line(&r.out, "263M\t/usr/lib/fpc"));
    assert_true(has_line(&r.out, "1.1G\t/usr/lib"));
    assert_false(has_line(&r.out, "24K\t/usr/lib/orders/config/m20"));
    assert_non_null(strstr(r.out.data, " entries"));
    assert_null(strstr(r.out.data, " files"));
    assert_true(r.out.len < du.len / 5);
    hr_compress_result_free(&r);

    hr_buf find = HR_BUF_INIT;
    for (unsigned i = 0; i < 400; i++)
        FX(&find, "%u\t2023-02-%02u\t/usr/share/doc/%s/%s/f%u.%s\n", 100 + i * 13, 1 + i % 28,
           SERVICES[i % 6], DIRS[(i / 6) % 5], i, EXT[i % 6]);
    assert_int_equal(hr_detect(find.data, find.len), HR_CT_LISTING);
    r = run(&find, "how big is f233.json and when was it changed?");
    assert_true(r.compressed);
    assert_true(has_line(&r.out, "3129\t2023-02-10\t/usr/share/doc/gateway/config/f233.json"));
    hr_compress_result_free(&r);
    hr_buf_free(&find);
    hr_buf_free(&du);
}

/* tree -s -h puts "[4.0K]  " before every name: file info, not part of the path. Read as
 * part of it, the notes named "[[4.0K]  bench/[4.0K]  ccr/ (3 files ...)]". */
static void tree_file_info_is_no_path(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    fx_read_corpus("tree_repo", &in);
    hr_compress_result r = run(&in, "How big is src/compress/rows.c?");
    assert_true(r.compressed);
    size_t notes = 0;
    for (const char *p = r.out.data, *e = p + r.out.len; p < e;) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t m = (size_t)((nl ? nl : e) - p);
        if (m > 2 && p[0] == '[' && p[m - 1] == ']' && memchr(p + 1, '/', m - 2)) {
            notes++;
            assert_null(memchr(p + 1, '[', m - 2)); /* "[src/api/ (7 files: ...)]" */
        }
        p = nl ? nl + 1 : e;
    }
    assert_true(notes >= 5);
    assert_true(contains(&r.out, "\n[src/api/ ("));
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(find_needles_survive_and_rest_collapses),
        cmocka_unit_test(many_directories_group_coarser),
        cmocka_unit_test(tree_output),
        cmocka_unit_test(ls_recursive),
        cmocka_unit_test(short_or_not_a_listing_passes),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(detection_routes_listings),
        cmocka_unit_test(numbered_listings),
        cmocka_unit_test(tree_file_info_is_no_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
