/* test_compress_json_table.c: what a compressed JSON document may and may not say.
 * Tables (json_table.c) expand back to exactly the minified original; SmartCrusher cuts
 * positional siblings (enum / enumDescriptions, columns) together or not at all, never
 * cuts small arrays or the rows of an array of arrays, notes every cut where it happened,
 * crushes maps of similar objects keeping the member a question names, and treats an
 * error word as a signal only where it is rare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ccr/marker.h"
#include "compress/json_table.h"
#include "compress/smart_crusher.h"
#include "json/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void assert_has(const hr_buf *b, const char *needle)
{
    if (!memmem(b->data, b->len, needle, strlen(needle)))
        fail_msg("missing %s in %.300s", needle, b->data);
}

static hr_compress_result crush(const hr_buf *in, const char *query)
{
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.query = query;
    o.query_len = query ? strlen(query) : 0;
    hr_compress_result r;
    assert_int_equal(hr_compress_smart_crusher(in->data, in->len, &o, &r), 0);
    return r;
}

/* Length of the JSON part: everything before the first closing (non-gap) marker line. */
static size_t json_len(const hr_compress_result *r)
{
    hr_marker m;
    size_t from = 0;
    while (hr_marker_find(r->out.data, r->out.len, from, &m) && m.gap)
        from = m.end;
    assert_true(hr_marker_find(r->out.data, r->out.len, from, &m) && !m.gap);
    assert_true(m.start > 0 && r->out.data[m.start - 1] == '\n');
    return m.start - 1;
}

static void parse(hr_json_doc *d, const char *s, size_t n)
{
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(d, s, n, &lim, &e), 0);
}

static void minified(const hr_buf *in, hr_buf *out)
{
    hr_json_doc d;
    parse(&d, in->data, in->len);
    assert_int_equal(hr_json_write_minified(out, &d, 0), 0);
    hr_json_doc_free(&d);
}

static int write_plain(void *ctx, uint32_t node)
{
    const hr_json_doc *d = ((void **)ctx)[0];
    return hr_json_write_minified(((void **)ctx)[1], d, node);
}

static int write_no_gap(void *ctx, uint32_t omitted)
{
    (void)ctx;
    (void)omitted;
    return -1; /* nothing is dropped in these tables */
}

/* Writes the root container of in as a table, expands it, and compares with the minified
 * original. Returns the table text in *table (caller frees). */
static void table_round_trip(const hr_buf *in, hr_buf *table)
{
    hr_json_doc d;
    parse(&d, in->data, in->len);
    hr_json_table t;
    assert_int_equal(hr_json_table_plan(&d, 0, NULL, &t), 1);
    void *ctx[2] = {&d, table};
    hr_json_table_io io = {write_plain, write_no_gap, ctx};
    assert_int_equal(hr_json_table_write(table, &d, &t, NULL, &io), 0);
    hr_buf back = HR_BUF_INIT, want = HR_BUF_INIT;
    assert_int_equal(hr_json_table_expand(table->data, table->len, &back), 0);
    minified(in, &want);
    assert_int_equal(back.len, want.len);
    assert_memory_equal(back.data, want.data, want.len);
    assert_true(table->len < want.len);
    hr_buf_free(&back);
    hr_buf_free(&want);
    hr_json_doc_free(&d);
}

static void table_of_array_is_lossless(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT, table = HR_BUF_INIT;
    hr_buf_puts(&in, "[");
    for (int i = 0; i < 12; i++)
        hr_buf_printf(&in, "%s{\"name\":\"pkg%d\", \"repo\":{\"id\":%d,\"owner\":{\"login\":\"o%d\"}},"
                           "\"tags\":[%d,\"x\"]}",
                      i ? "," : "", i, 100 + i, i % 3, i);
    /* an item with other keys stays an object; one with a differently shaped "repo"
     * stops that column from being flattened */
    hr_buf_puts(&in, ",{\"name\":\"odd\",\"extra\":true},{\"name\":\"p\",\"repo\":{\"id\":1},\"tags\":[]}]");
    table_round_trip(&in, &table);
    /* the header names every key once; rows hold values */
    assert_has(&table, "\"[columns]\":[\"name\",\"repo\",\"tags\"]");
    assert_has(&table, "[\"pkg3\",{\"id\":103,");
    assert_has(&table, "{\"name\":\"odd\",\"extra\":true}");
    hr_buf_free(&in);
    hr_buf_free(&table);
}

static void table_flattens_nested_objects_of_one_shape(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT, table = HR_BUF_INIT;
    hr_buf_puts(&in, "[");
    for (int i = 0; i < 10; i++)
        hr_buf_printf(&in, "%s{\"path\":\"src/f%d.c\",\"repository\":{\"id\":%d,\"owner\":"
                           "{\"login\":\"acme\",\"type\":\"Org\"}}}",
                      i ? "," : "", i, 7 + i);
    hr_buf_puts(&in, "]");
    table_round_trip(&in, &table);
    const char *hdr = "\"[columns]\":[\"path\",{\"repository\":[\"id\",{\"owner\":[\"login\",\"type\"]}]}]";
    assert_non_null(memmem(table.data, table.len, hdr, strlen(hdr)));
    assert_has(&table, "[\"src/f2.c\",[9,[\"acme\",\"Org\"]]]");
    hr_buf_free(&in);
    hr_buf_free(&table);
}

static void table_of_map_is_lossless(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT, table = HR_BUF_INIT;
    hr_buf_puts(&in, "{");
    for (int i = 0; i < 10; i++)
        hr_buf_printf(&in, "%s\"node_modules/m%d\":{\"version\":\"1.%d.0\",\"resolved\":"
                           "\"https://registry.npmjs.org/m%d/-/m%d-1.%d.0.tgz\"}",
                      i ? "," : "", i, i, i, i, i);
    hr_buf_puts(&in, ",\"node_modules/dev\":{\"version\":\"2.0.0\",\"dev\":true},\"odd\":3}");
    table_round_trip(&in, &table);
    assert_has(&table, "[\"[key]\",\"version\",\"resolved\"]");
    assert_has(&table, "{\"[key]\":\"node_modules/dev\",\"version\"");
    assert_has(&table, "{\"[key]\":\"odd\",\"[value]\":3}");
    hr_buf_free(&in);
    hr_buf_free(&table);
}

static void table_declined_when_it_saves_nothing(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    hr_buf_puts(&in, "[{\"a\":1},{\"b\":2},{\"c\":3},{\"d\":4},{\"e\":5}]"); /* no shared shape */
    hr_json_doc d;
    parse(&d, in.data, in.len);
    hr_json_table t;
    assert_int_equal(hr_json_table_plan(&d, 0, NULL, &t), 0);
    hr_json_doc_free(&d);
    hr_buf_free(&in);
}

/* A list whose table is small enough keeps every item: SmartCrusher writes the table and
 * drops nothing, and the output expands to exactly the minified input. */
static void lossless_before_lossy(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    hr_buf_puts(&in, "{\"pods\": [");
    for (int i = 0; i < 20; i++)
        hr_buf_printf(&in, "%s\n  {\"namespace\": \"payments\", \"name\": \"api-%d\", \"ready\": \"%d/1\", "
                           "\"restarts\": %d, \"status\": \"%s\"}",
                      i ? "," : "", i, i != 9, i == 9 ? 14 : 0, i == 9 ? "CrashLoopBackOff" : "Running");
    hr_buf_puts(&in, "\n]}");
    assert_true(in.len > 1500);
    hr_compress_result r = crush(&in, NULL);
    assert_true(r.compressed);
    assert_int_equal(r.units_kept, r.units_total);
    assert_int_equal(r.units_total, 20);
    hr_buf back = HR_BUF_INIT, want = HR_BUF_INIT;
    assert_int_equal(hr_json_table_expand(r.out.data, json_len(&r), &back), 0);
    minified(&in, &want);
    assert_int_equal(back.len, want.len);
    assert_memory_equal(back.data, want.data, want.len);
    hr_buf_free(&back);
    hr_buf_free(&want);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* {"enum":[...n], "enumDescriptions":[...n]}: value i is described by description i. */
static void discovery_doc(hr_buf *b, int n, int long_values)
{
    hr_buf_puts(b, "{\"type\":\"string\",\"enum\":[");
    for (int i = 0; i < n; i++)
        hr_buf_printf(b, "%s\"%sV%02d\"", i ? "," : "", long_values ? "LONG_ENUM_VALUE_NAME_" : "", i);
    hr_buf_puts(b, "],\"enumDescriptions\":[");
    for (int i = 0; i < n; i++)
        hr_buf_printf(b, "%s\"Value %02d: the %s mode of the scheduler, used when %s\"", i ? "," : "",
                      i, i == 17 ? "preemptive" : "default", i % 2 ? "idle" : "busy");
    hr_buf_puts(b, "]}");
}

/* Items a gap element stands for: the first gap of a container is a gap marker (with the
 * hash, *marker set), later ones the note "[N items omitted]"; -1 when s is no gap. */
static long gap_items(const char *s, size_t n, int *marker)
{
    hr_marker m;
    *marker = hr_marker_find(s, n, 0, &m);
    if (*marker)
        return m.gap ? (long)m.total : -1;
    unsigned k;
    char tail[32];
    if (sscanf(s, "[%u items omitted%31s", &k, tail) == 2 && strcmp(tail, "]") == 0)
        return k;
    return -1;
}

/* Walks two arrays of the output in step: a gap marker in one must face a gap marker with
 * the same count in the other, and kept values must keep their original positions. */
static void assert_aligned(const char *out, size_t len)
{
    hr_json_doc d;
    parse(&d, out, len);
    uint32_t a = hr_json_get(&d, 0, "enum"), b = hr_json_get(&d, 0, "enumDescriptions");
    assert_true(a != HR_JSON_NONE && b != HR_JSON_NONE);
    assert_int_equal(d.nodes[a].count, d.nodes[b].count);
    int pos = 0;
    for (uint32_t x = d.nodes[a].first_child, y = d.nodes[b].first_child; x != HR_JSON_NONE;
         x = d.nodes[x].next, y = d.nodes[y].next) {
        hr_buf sx = HR_BUF_INIT, sy = HR_BUF_INIT;
        assert_int_equal(hr_json_string(&d, x, &sx), 0);
        assert_int_equal(hr_json_string(&d, y, &sy), 0);
        int mx, my;
        long gx = gap_items(sx.data, sx.len, &mx), gy = gap_items(sy.data, sy.len, &my);
        assert_int_equal(gx, gy);
        assert_int_equal(mx, my);
        if (gx >= 0) {
            pos += (int)gx;
        } else {
            char want[16];
            snprintf(want, sizeof want, "V%02d", pos);
            assert_non_null(strstr(sx.data, want));
            snprintf(want, sizeof want, "Value %02d:", pos);
            assert_non_null(strstr(sy.data, want));
            pos++;
        }
        hr_buf_free(&sx);
        hr_buf_free(&sy);
    }
    assert_int_equal(pos, 100);
    hr_json_doc_free(&d);
}

static void parallel_arrays_cut_together(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    discovery_doc(&in, 100, 1); /* enum of 3 KB: above what stays whole */
    hr_compress_result r = crush(&in, "which value selects the preemptive scheduler?");
    assert_true(r.compressed);
    assert_aligned(r.out.data, json_len(&r));
    assert_has(&r.out, "LONG_ENUM_VALUE_NAME_V17");
    assert_has(&r.out, "Value 17: the preemptive");
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void parallel_arrays_whole_when_one_is_small(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    discovery_doc(&in, 100, 0); /* "V00".."V99": 600 bytes, an array that stays whole */
    hr_compress_result r = crush(&in, "which value selects the preemptive scheduler?");
    assert_false(r.compressed); /* so its long sibling is not cut either */
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void rows_of_an_array_of_arrays_never_cut(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    hr_buf_puts(&in, "{\"columns\":[\"t\",\"host\",\"cpu\",\"mem\",\"disk\",\"net\"],\"data\":[");
    for (int i = 0; i < 60; i++)
        hr_buf_printf(&in, "%s[%d,\"host-%02d.example.internal\",%d,%d,%d,%d]", i ? "," : "",
                      1700000000 + i, i, i * 7 % 100, 50 + i % 9, 70, i == 30 ? 99999 : 10);
    hr_buf_puts(&in, "]}");
    hr_compress_result r = crush(&in, NULL);
    assert_false(r.compressed); /* a row is one record: cutting values out would misalign it */
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void small_arrays_stay_whole(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    hr_buf_puts(&in, "{\"scopes\":[\"read\",\"write\",\"admin\",\"audit\",\"billing\",\"deploy\",\"ops\"],"
                     "\"ids\":[1,2,3,4,5,6,7,8,9,10,11,12]}");
    hr_compress_result r = crush(&in, "admin");
    assert_false(r.compressed);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void gap_markers_stand_where_items_went(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    hr_buf_puts(&in, "[");
    for (int i = 0; i < 80; i++)
        hr_buf_printf(&in, "%s{\"id\":%d,\"msg\":\"request served in %d ms by worker %d\"}", i ? "," : "",
                      1000 + i, 10 + i % 7, i % 4);
    hr_buf_puts(&in, "]");
    hr_compress_result r = crush(&in, "what happened to requests 1020 and 1050?"); /* anchors */
    assert_true(r.compressed);
    size_t jl = json_len(&r);
    hr_buf x = HR_BUF_INIT;
    assert_int_equal(hr_json_table_expand(r.out.data, jl, &x), 0);
    /* walk the expanded array: ids of kept items plus gap counts cover 0..79 in order */
    hr_json_doc d;
    parse(&d, x.data, x.len);
    int next = 1000, gaps = 0;
    for (uint32_t c = d.nodes[0].first_child; c != HR_JSON_NONE; c = d.nodes[c].next) {
        if (d.nodes[c].type == HR_JSON_STRING) {
            hr_buf g = HR_BUF_INIT;
            assert_int_equal(hr_json_string(&d, c, &g), 0);
            int is_marker;
            long k = gap_items(g.data, g.len, &is_marker);
            assert_true(k > 0);
            assert_int_equal(is_marker, gaps == 0); /* the hash stands at the first gap */
            if (is_marker) {
                hr_marker m;
                assert_true(hr_marker_find(g.data, g.len, 0, &m));
                assert_string_equal(m.hash, r.hash);
            }
            hr_buf_free(&g);
            next += (int)k;
            gaps++;
            continue;
        }
        int64_t id;
        assert_int_equal(hr_json_int64(&d, hr_json_get(&d, c, "id"), &id), 0);
        assert_int_equal(id, next);
        next++;
    }
    assert_int_equal(next, 1080);
    assert_true(gaps >= 3); /* a marker, then notes */
    assert_int_equal(r.units_total, 80);
    hr_json_doc_free(&d);
    hr_buf_free(&x);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void map_of_similar_objects_keeps_the_named_member(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    hr_buf_puts(&in, "{\"name\":\"app\",\"lockfileVersion\":3,\"packages\":{");
    for (int i = 0; i < 60; i++)
        hr_buf_printf(&in, "%s\"node_modules/%s%d\":{\"version\":\"%d.%d.%d\",\"resolved\":\"https://"
                           "registry.npmjs.org/p/-/p-%d.tgz\",\"integrity\":\"sha512-%08x\"%s}",
                      i ? "," : "", i == 41 ? "leftpad" : "pkg", i, i % 5, i % 7, i % 3, i,
                      i * 2654435761u, i % 4 ? "" : ",\"dev\":true");
    hr_buf_puts(&in, "}}");
    hr_compress_result r = crush(&in, "which version of leftpad is installed?");
    assert_true(r.compressed);
    size_t jl = json_len(&r);
    hr_buf x = HR_BUF_INIT;
    assert_int_equal(hr_json_table_expand(r.out.data, jl, &x), 0);
    assert_has(&x, "\"node_modules/leftpad41\":{\"version\":\"1.6.2\"");
    assert_has(&x, "{\"name\":\"app\",\"lockfileVersion\":3,\"packages\":{");
    assert_true(r.units_total == 60 && r.units_kept < 20);
    assert_true(r.out.len * 2 < in.len);
    hr_buf_free(&x);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void record_objects_are_not_maps(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    hr_buf_puts(&in, "{");
    static const char *const sect[] = {"server", "database", "cache", "queue", "auth", "metrics"};
    for (int i = 0; i < 6; i++)
        hr_buf_printf(&in, "%s\"%s\":{\"%s_url\":\"https://%s.example.internal:%d/path/to/resource\","
                           "\"%s_timeout\":%d,\"%s_note\":\"%s settings for the production cluster\"}",
                      i ? "," : "", sect[i], sect[i], sect[i], 8000 + i, sect[i], 30 + i, sect[i], sect[i]);
    hr_buf_puts(&in, "}");
    hr_compress_result r = crush(&in, "cache");
    assert_false(r.compressed); /* members share no key: a record, not a map */
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* n packages, `with_error` of them with "error" in their summary. */
static void packages(hr_buf *b, int n, int with_error)
{
    hr_buf_puts(b, "[");
    for (int i = 0; i < n; i++)
        hr_buf_printf(b, "%s{\"name\":\"lib%d\",\"version\":\"%d.0\",\"summary\":\"%s for %s\"}", i ? "," : "",
                      i, i % 9, i < with_error ? "Friendly error handling helpers" : "Small utilities",
                      i % 2 ? "web apps" : "command line tools");
    hr_buf_puts(b, "]");
}

static void error_words_count_only_when_rare(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    packages(&in, 60, 2);
    hr_compress_result r = crush(&in, NULL);
    assert_true(r.compressed);
    assert_has(&r.out, "\"lib1\""); /* a rare error item is kept */
    hr_compress_result_free(&r);
    hr_buf_reset(&in);
    packages(&in, 60, 30); /* half of them: no signal */
    r = crush(&in, NULL);
    assert_true(r.compressed);
    assert_true(r.units_kept < 30); /* were they signals, all 30 would be kept */
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* A question naming three packages keeps all three, even when one of them repeats its
 * name so often that summed BM25 scores would leave the others far behind. */
static void each_named_item_is_kept(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    hr_buf_puts(&in, "[");
    for (int i = 0; i < 60; i++) {
        hr_buf_printf(&in, "%s{\"name\":\"%s\",\"version\":\"%d.%d\",\"summary\":\"", i ? "," : "",
                      i == 10 ? "numpy" : i == 30 ? "cryptography" : i == 50 ? "pyyaml" : "lib", i % 7, i);
        for (int k = 0; k < (i == 10 ? 40 : 3); k++)
            hr_buf_puts(&in, i == 10 ? "numpy arrays for numpy users " : "small helpers for scripts ");
        hr_buf_puts(&in, "\"}");
    }
    hr_buf_puts(&in, "]");
    hr_compress_result r = crush(&in, "which versions of numpy, cryptography and pyyaml are installed?");
    assert_true(r.compressed);
    assert_has(&r.out, "\"numpy\"");
    assert_has(&r.out, "\"cryptography\"");
    assert_has(&r.out, "\"pyyaml\"");
    assert_true(r.units_kept < 10);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* ---- real outputs: every kept value where it was, parallel arrays aligned ------------ */

/* Items a gap element or member name stands for ("[N items omitted" + marker or "]"),
 * else 0. */
static uint32_t gap_of(const hr_json_doc *d, uint32_t node, int key)
{
    hr_buf s = HR_BUF_INIT;
    int rc = key ? hr_json_key(d, node, &s) : hr_json_string(d, node, &s);
    unsigned k = 0;
    if (rc != 0 || !s.len || sscanf(s.data, "[%u items omitted", &k) != 1)
        k = 0;
    hr_buf_free(&s);
    return k;
}

static int raw_equal(const hr_json_doc *a, uint32_t x, const hr_json_doc *b, uint32_t y)
{
    hr_buf p = HR_BUF_INIT, q = HR_BUF_INIT;
    int eq = hr_json_write_minified(&p, a, x) == 0 && hr_json_write_minified(&q, b, y) == 0 &&
             p.len == q.len && memcmp(p.data, q.data, p.len) == 0;
    hr_buf_free(&p);
    hr_buf_free(&q);
    return eq;
}

#define MAX_KEPT_SIGS 64

/* Checks that the (expanded) output node o says only what the original node g says: every
 * kept child at its original position, gaps accounting for the rest. *sig gets a hash of
 * the positions an array kept, so siblings can be compared. */
static void same_meaning(const hr_json_doc *od, uint32_t o, const hr_json_doc *gd, uint32_t g,
                         uint64_t *sig)
{
    const hr_json_node *on = &od->nodes[o], *gn = &gd->nodes[g];
    *sig = 0;
    if (gn->type != HR_JSON_ARRAY && gn->type != HR_JSON_OBJECT) {
        assert_true(raw_equal(od, o, gd, g));
        return;
    }
    assert_int_equal(on->type, gn->type);
    int obj = gn->type == HR_JSON_OBJECT;
    uint32_t gc = gn->first_child, pos = 0;
    uint32_t lens[MAX_KEPT_SIGS];
    uint64_t sigs[MAX_KEPT_SIGS];
    int n_sigs = 0;
    for (uint32_t oc = on->first_child; oc != HR_JSON_NONE; oc = od->nodes[oc].next) {
        assert_true(gc != HR_JSON_NONE);
        int matches = obj ? od->nodes[oc].key_end - od->nodes[oc].key_start ==
                                    gd->nodes[gc].key_end - gd->nodes[gc].key_start &&
                                !memcmp(od->src + od->nodes[oc].key_start, gd->src + gd->nodes[gc].key_start,
                                        od->nodes[oc].key_end - od->nodes[oc].key_start)
                          : od->nodes[oc].type != HR_JSON_STRING || raw_equal(od, oc, gd, gc);
        uint32_t gap = matches ? 0 : gap_of(od, oc, obj);
        if (gap) {
            for (uint32_t k = 0; k < gap; k++, pos++) {
                assert_true(gc != HR_JSON_NONE);
                gc = gd->nodes[gc].next;
            }
            continue;
        }
        uint64_t child_sig;
        same_meaning(od, oc, gd, gc, &child_sig);
        if (obj && gd->nodes[gc].type == HR_JSON_ARRAY && n_sigs < MAX_KEPT_SIGS) {
            lens[n_sigs] = gd->nodes[gc].count;
            sigs[n_sigs++] = child_sig;
        }
        *sig = (*sig ^ (pos + 1)) * 0x100000001b3ULL;
        gc = gd->nodes[gc].next;
        pos++;
    }
    assert_true(gc == HR_JSON_NONE); /* everything accounted for */
    for (int a = 0; a < n_sigs; a++)
        for (int b = a + 1; b < n_sigs; b++)
            if (lens[a] == lens[b] && lens[a] > 1)
                assert_true(sigs[a] == sigs[b]); /* parallel arrays kept the same positions */
}

static void read_file(const char *path, hr_buf *out)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(hr_buf_read_stream(out, f, 0), 0);
    fclose(f);
}

static void corpus_json_says_nothing_false(void **state)
{
    (void)state;
    static const char *const names[] = {"discovery_storage_v1", "package_lock", "npm_ls_all",
                                        "pip_inspect", "sbom_cyclonedx"};
    const char *src = getenv("HEADROOM_SOURCE_DIR");
    assert_non_null(src);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1024];
        hr_buf in = HR_BUF_INIT, meta = HR_BUF_INIT, question = HR_BUF_INIT, x = HR_BUF_INIT;
        snprintf(path, sizeof path, "%s/tests/corpus/%s.txt", src, names[i]);
        read_file(path, &in);
        snprintf(path, sizeof path, "%s/tests/corpus/%s.meta.json", src, names[i]);
        read_file(path, &meta);
        hr_json_doc md, od, gd;
        parse(&md, meta.data, meta.len);
        assert_int_equal(hr_json_string(&md, hr_json_get(&md, 0, "question"), &question), 0);
        hr_compress_result r = crush(&in, question.data);
        if (!r.compressed)
            fail_msg("%s: not compressed", names[i]);
        assert_true(r.out.len < in.len);
        assert_int_equal(hr_json_table_expand(r.out.data, json_len(&r), &x), 0);
        parse(&od, x.data, x.len);
        parse(&gd, in.data, in.len);
        uint64_t sig;
        same_meaning(&od, 0, &gd, 0, &sig);
        hr_json_doc_free(&md);
        hr_json_doc_free(&od);
        hr_json_doc_free(&gd);
        hr_compress_result_free(&r);
        hr_buf_free(&in);
        hr_buf_free(&meta);
        hr_buf_free(&question);
        hr_buf_free(&x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_of_array_is_lossless),
        cmocka_unit_test(table_flattens_nested_objects_of_one_shape),
        cmocka_unit_test(table_of_map_is_lossless),
        cmocka_unit_test(table_declined_when_it_saves_nothing),
        cmocka_unit_test(lossless_before_lossy),
        cmocka_unit_test(parallel_arrays_cut_together),
        cmocka_unit_test(parallel_arrays_whole_when_one_is_small),
        cmocka_unit_test(rows_of_an_array_of_arrays_never_cut),
        cmocka_unit_test(small_arrays_stay_whole),
        cmocka_unit_test(gap_markers_stand_where_items_went),
        cmocka_unit_test(map_of_similar_objects_keeps_the_named_member),
        cmocka_unit_test(record_objects_are_not_maps),
        cmocka_unit_test(error_words_count_only_when_rare),
        cmocka_unit_test(each_named_item_is_kept),
        cmocka_unit_test(corpus_json_says_nothing_false),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
