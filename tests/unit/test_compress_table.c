/* test_compress_table.c: the compressor table (compress/compressors.h) is the one place
 * that says which compressors exist: docs/compressors.md's table matches its rows; routing
 * sends each content type to its row's function; every result a real compressor produces
 * on the corpus carries its row's name and unit, and its marker counts in that unit; the
 * option defaults and the preamble's "0 means default" come from the rows; and /stats
 * keeps a counter for every compressor the corpus reaches (it used to drop names past 8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ccr/marker.h"
#include "ccr/store.h"
#include "ccr_store_fixture.h"
#include "compress/compressors.h"
#include "compress/detect.h"
#include "compress/pipeline_instance.h"
#include "compress/smart_crusher.h"
#include "ml_test_files.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The file as a NUL-terminated string (read_all gives an exact-size block). */
static char *read_text(const char *path, size_t *len)
{
    uint8_t *b = read_all(path, len);
    char *z = malloc(*len + 1);
    assert_non_null(z);
    memcpy(z, b, *len);
    z[*len] = '\0';
    free(b);
    return z;
}

static const char *source_dir(void)
{
    const char *s = getenv("HEADROOM_SOURCE_DIR");
    assert_non_null(s); /* set by ctest */
    return s;
}

/* Calls fn on the bytes of every .txt file in tests/corpus. */
typedef void (*corpus_fn)(const char *in, size_t len, void *ctx);

static void for_each_corpus_file(corpus_fn fn, void *ctx)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/corpus", source_dir());
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".txt") != 0)
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        uint8_t *in = read_all(path, &len);
        fn((const char *)in, len, ctx);
        free(in);
    }
    closedir(d);
}

/* ---- the docs table ---------------------------------------------------------------- */

/* The docs cells a row implies: types ("-" when none, then the docs' own words) and
 * limits ("max_items 15 (1..100000), min_items 5"), as written on the page. */
static void expected_cells(const hr_compressor *r, hr_buf *types, hr_buf *limits)
{
    for (int t = 0; t < 32; t++)
        if (r->types & HR_COMPRESSOR_TYPE(t))
            hr_buf_printf(types, "%s%s", types->len ? ", " : "",
                          hr_content_type_name((hr_content_type)t));
    for (size_t k = 0; k < HR_COMPRESSOR_MAX_LIMITS && r->limits[k].name; k++) {
        const hr_compressor_limit *l = &r->limits[k];
        hr_buf_printf(limits, "%s%s %u", k ? ", " : "", l->name, l->def);
        if (l->max)
            hr_buf_printf(limits, " (%u..%u)", l->min, l->max);
    }
    if (!limits->len)
        hr_buf_puts(limits, "-");
}

/* Splits "| a | b | c |" into trimmed cells (in place). Returns the count. */
static int split_cells(char *line, char **cells, int max)
{
    int n = 0;
    char *p = strchr(line, '|');
    while (p && n < max) {
        char *next = strchr(p + 1, '|');
        if (!next)
            break;
        *next = '\0';
        char *c = p + 1;
        while (*c == ' ')
            c++;
        char *e = c + strlen(c);
        while (e > c && e[-1] == ' ')
            *--e = '\0';
        cells[n++] = c;
        p = next;
    }
    return n;
}

static void test_docs_table_matches_rows(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/compressors.md", source_dir());
    size_t len;
    char *doc = read_text(path, &len);
    assert_non_null(doc);
    char *section = strstr(doc, "## The compressor table");
    assert_non_null(section);
    int seen[HR_COMPRESSOR_COUNT] = {0};
    for (char *line = section; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (!strncmp(line, "## ", 3) && line != section)
            break;
        char *cells[8];
        if (!strncmp(line, "| `", 3) && split_cells(line, cells, 8) == 5) {
            char name[64];
            assert_true(sscanf(cells[0], "`%63[a-z_]`", name) == 1);
            const hr_compressor *r = hr_compressor_by_name(name);
            if (!r)
                fail_msg("docs/compressors.md lists '%s', which has no row", name);
            seen[r - hr_compressor_row(0)]++;
            assert_string_equal(cells[1], r->unit);
            hr_buf types = HR_BUF_INIT, limits = HR_BUF_INIT;
            expected_cells(r, &types, &limits);
            /* the types, then at most a note in brackets; "-" and a note for none */
            const char *rest = cells[2] + (types.len ? types.len : 1);
            assert_memory_equal(cells[2], types.len ? types.data : "-", types.len ? types.len : 1);
            assert_true(*rest == '\0' || !strncmp(rest, " (", 2));
            assert_string_equal(cells[3], limits.data);
            assert_string_equal(cells[4], r->listed ? "yes" : "no");
            hr_buf_free(&types);
            hr_buf_free(&limits);
        }
        line = nl ? nl + 1 : NULL;
    }
    for (int id = 0; id < HR_COMPRESSOR_COUNT; id++)
        if (seen[id] != 1)
            fail_msg("row '%s' is listed %d times in docs/compressors.md",
                     hr_compressor_row((hr_compressor_id)id)->name, seen[id]);
    free(doc);
}

/* ---- routing, names and units --------------------------------------------------------- */

static void test_routing_follows_rows(void **state)
{
    (void)state;
    /* each content type has exactly one row that takes it always, and detection's router
     * agrees with it; rows that take a type only when they want it come on top */
    for (int t = HR_CT_EMPTY; t <= HR_CT_PROSE; t++) {
        int owners = 0;
        for (int id = 0; id < HR_COMPRESSOR_COUNT; id++) {
            const hr_compressor *c = hr_compressor_row((hr_compressor_id)id);
            owners += (c->types & HR_COMPRESSOR_TYPE(t)) && !c->wants;
        }
        const hr_compressor *r = hr_compressor_for_type((hr_content_type)t);
        if (t == HR_CT_EMPTY || t == HR_CT_BINARY) {
            assert_int_equal(owners, 0);
            assert_null(r);
            assert_null(hr_detect_compressor((hr_content_type)t));
            continue;
        }
        assert_int_equal(owners, 1);
        assert_non_null(r->fn);
        /* JSON goes to the caller's SmartCrusher (detect.h), the rest to the row's fn */
        if (t == HR_CT_JSON)
            assert_ptr_equal(r->fn, hr_compress_smart_crusher);
        else
            assert_ptr_equal(hr_detect_compressor((hr_content_type)t), r->fn);
    }
    /* without a model Kompress wants nothing: prose routes to text */
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    assert_ptr_equal(hr_compressor_route(HR_CT_PROSE, &o, 1 << 20),
                     hr_compressor_row(HR_COMPRESSOR_TEXT));
    assert_ptr_equal(hr_compressor_route(HR_CT_PROSE, NULL, 1 << 20),
                     hr_compressor_row(HR_COMPRESSOR_TEXT));
    assert_ptr_equal(hr_compressor_route(HR_CT_LOG, &o, 100), hr_compressor_row(HR_COMPRESSOR_LOGS));
    assert_non_null(hr_compressor_row(HR_COMPRESSOR_KOMPRESS)->wants);
    /* names are unique, so /stats and /metrics cannot merge two compressors */
    for (int a = 0; a < HR_COMPRESSOR_COUNT; a++)
        for (int b = a + 1; b < HR_COMPRESSOR_COUNT; b++)
            assert_string_not_equal(hr_compressor_row((hr_compressor_id)a)->name,
                                    hr_compressor_row((hr_compressor_id)b)->name);
    assert_null(hr_compressor_row(HR_COMPRESSOR_COUNT));
    assert_null(hr_compressor_by_name("no_such_compressor"));
}

/* One corpus file through detection's pick (JSON through SmartCrusher): the result names
 * the row it came from, and its closing marker counts in that row's unit. ctx: the rows
 * that compressed something. */
static void check_result_row(const char *in, size_t len, void *ctx)
{
    int *reached = ctx;
    hr_content_type t;
    hr_compressor_fn fn = hr_detect_pick(in, len, &t);
    const hr_compressor *row = hr_compressor_for_type(t);
    if (t == HR_CT_JSON)
        fn = hr_compress_smart_crusher;
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    hr_compress_result res;
    assert_non_null(fn);
    assert_int_equal(fn(in, len, &o, &res), 0);
    /* compressed or not, the result carries its row's static name and unit */
    assert_ptr_equal(res.compressor, row->name);
    assert_ptr_equal(res.unit, row->unit);
    if (res.compressed) {
        hr_marker m, closing;
        memset(&closing, 0, sizeof closing);
        for (size_t from = 0; hr_marker_find(res.out.data, res.out.len, from, &m); from = m.end)
            closing = m;
        assert_int_equal(closing.end, res.out.len); /* the closing marker ends the output */
        assert_string_equal(closing.unit, row->unit);
        assert_int_equal(closing.total, res.units_total);
        assert_string_equal(closing.hash, res.hash);
        reached[row - hr_compressor_row(0)] = 1;
    }
    hr_compress_result_free(&res);
}

static void test_results_carry_their_row(void **state)
{
    (void)state;
    int reached[HR_COMPRESSOR_COUNT] = {0};
    for_each_corpus_file(check_result_row, reached);
    int distinct = 0;
    for (int id = 0; id < HR_COMPRESSOR_COUNT; id++)
        distinct += reached[id];
    assert_true(distinct >= 8); /* the corpus reaches the line compressors and SmartCrusher */
}

/* ---- limits ------------------------------------------------------------------------ */

static unsigned field(const hr_compress_opts *o, const hr_compressor_limit *l)
{
    return *(const unsigned *)(const void *)((const char *)o + l->offset);
}

static void test_limits_come_from_rows(void **state)
{
    (void)state;
    hr_compress_opts def;
    hr_compress_opts_default(&def);
    for (int id = 0; id < HR_COMPRESSOR_COUNT; id++) {
        const hr_compressor *r = hr_compressor_row((hr_compressor_id)id);
        for (size_t k = 0; k < HR_COMPRESSOR_MAX_LIMITS && r->limits[k].name; k++) {
            const hr_compressor_limit *l = &r->limits[k];
            assert_true(l->def > 0); /* 0 means "the default": a default of 0 could not be set */
            assert_int_equal(field(&def, l), l->def);
            assert_ptr_equal(hr_compressor_limit_find(l->name), l);
            assert_true(l->max == 0 || (l->min <= l->def && l->def <= l->max));
        }
    }
    /* the preamble keeps what is given and fills only the zeros of its own row */
    hr_compress_opts given;
    memset(&given, 0, sizeof given);
    given.search_total = 7;
    given.max_items = 3;
    hr_compress_opts o;
    hr_compress_limits(HR_COMPRESSOR_SEARCH, &given, &o);
    assert_int_equal(o.search_total, 7);
    assert_int_equal(o.search_per_file, def.search_per_file);
    assert_int_equal(o.search_files, def.search_files);
    assert_int_equal(o.max_items, 3);
    assert_int_equal(o.diff_files, 0); /* another row's limit: not this preamble's business */
    hr_compress_limits(HR_COMPRESSOR_DIFF, NULL, &o);
    assert_memory_equal(&o, &def, sizeof o);
    const hr_compressor_limit *cap = hr_compressor_limit_find("max_items");
    assert_non_null(cap);
    assert_ptr_equal(cap, &hr_compressor_row(HR_COMPRESSOR_SMART_CRUSHER)->limits[0]);
    assert_null(hr_compressor_limit_find("no_such_limit"));
}

/* ---- stats keep every row ------------------------------------------------------------- */

typedef struct stats_run {
    hr_pipeline *p;
    int compressed_by[HR_COMPRESSOR_COUNT];
} stats_run;

/* One text through the pipeline, remembering which row compressed it. */
static void run_text(const char *in, size_t len, void *ctx)
{
    stats_run *r = ctx;
    hr_compress_result res;
    long long before, after;
    assert_int_equal(hr_pipeline_compress_text(r->p, in, len, NULL, NULL, 0, NULL, &res, &before, &after), 0);
    if (res.compressed)
        r->compressed_by[hr_compressor_by_name(res.compressor) - hr_compressor_row(0)] = 1;
    hr_compress_result_free(&res);
}

static void test_stats_keep_every_compressor(void **state)
{
    (void)state;
    hr_ccr_store *store = memory_store();
    hr_pipeline_config c;
    hr_pipeline_config_default(&c);
    stats_run r = {hr_pipeline_new(&c, HR_PIPELINE_STORE_GIVEN, store), {0}};
    assert_non_null(r.p);
    for_each_corpus_file(run_text, &r);
    /* plain text of repeats adds the text compressor's name */
    hr_buf extra = HR_BUF_INIT;
    for (int i = 0; i < 200; i++)
        hr_buf_printf(&extra, "The same sentence of prose, repeated for the text compressor.\n");
    run_text(extra.data, extra.len, &r);
    hr_buf_free(&extra);
    assert_true(r.compressed_by[HR_COMPRESSOR_TEXT]);
    hr_pipeline_stats s;
    hr_pipeline_stats_get(r.p, &s);
    int expected = 0;
    for (int id = 0; id < HR_COMPRESSOR_COUNT; id++) {
        if (!r.compressed_by[id])
            continue;
        expected++;
        const char *name = hr_compressor_row((hr_compressor_id)id)->name;
        int found = 0;
        for (size_t k = 0; k < s.n_compressors; k++)
            found |= !strcmp(s.compressors[k].name, name);
        if (!found)
            fail_msg("stats dropped compressor '%s'", name);
    }
    assert_true(expected > 8); /* more names than the old fixed room of 8 */
    assert_int_equal(s.n_compressors, (size_t)expected);
    hr_pipeline_free(r.p);
    hr_ccr_store_close(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docs_table_matches_rows),
        cmocka_unit_test(test_routing_follows_rows),
        cmocka_unit_test(test_results_carry_their_row),
        cmocka_unit_test(test_limits_come_from_rows),
        cmocka_unit_test(test_stats_keep_every_compressor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
