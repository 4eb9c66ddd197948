/* HTML fragments (no doctype, no <html>) are detected and sent to the HTML compressor;
 * code that merely contains tags keeps its own route. Both sides use files in
 * tests/html_fragments (tests/html_fragments/README.md says where each comes from): the
 * positives are cut from Debian's HTML docs on this machine or captured from real tools
 * (curl -v against a loopback server, Python's email package); the negatives are JSX, TSX,
 * Vue, XML, markdown and Python written by hand, and a real diff and grep over HTML. Each
 * rule is shown to matter: the markup of a negative, taken out of its code, is HTML. */
#include "unit/textcomp_fixtures.h"

#include "compress/compressors.h"
#include "compress/detect.h"
#include "compress/html.h"
#include "compress/html_fragment.h"

#include <time.h>

static void read_fixture(const char *name, hr_buf *out)
{
    char rel[512];
    snprintf(rel, sizeof rel, "tests/html_fragments/%s", name);
    fx_read_source(rel, out);
}

/* The HTML sections of in: how many, and the first one's start (SIZE_MAX if none). */
static size_t html_sections(const char *in, size_t len, size_t *first_start, size_t *bytes)
{
    hr_sections s;
    assert_int_equal(hr_detect_sections(in, len, &s), 0);
    size_t n = 0;
    *first_start = SIZE_MAX;
    *bytes = 0;
    for (size_t k = 0; k < s.n; k++) {
        if (s.v[k].type != HR_CT_HTML)
            continue;
        if (!n++)
            *first_start = s.v[k].start;
        *bytes += s.v[k].end - s.v[k].start;
    }
    hr_sections_free(&s);
    return n;
}

/* Offset of the start of the line holding the first occurrence of needle. */
static size_t line_of(const hr_buf *b, const char *needle)
{
    const char *p = memmem(b->data, b->len, needle, strlen(needle));
    assert_non_null(p);
    while (p > b->data && p[-1] != '\n')
        p--;
    return (size_t)(p - b->data);
}

/* Through the pipeline's entry: compressed, smaller, and every href of the input kept. */
static void compresses_keeping_links(const hr_buf *in, const char *compressor)
{
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    hr_compress_result r;
    assert_int_equal(hr_compress_detected(in->data, in->len, &o, NULL, &r), 0);
    assert_true(r.compressed);
    assert_string_equal(r.compressor, compressor);
    assert_true(r.out.len < in->len);
    for (const char *p = in->data; (p = memmem(p, in->len - (size_t)(p - in->data), "href=\"", 6));
         p++) {
        const char *q = memchr(p + 6, '"', in->len - (size_t)(p + 6 - in->data));
        assert_non_null(q);
        if (!memmem(r.out.data, r.out.len, p, (size_t)(q - p) + 1))
            fail_msg("lost %.*s", (int)(q - p) + 1, p);
    }
    hr_compress_result_free(&r);
}

/* A <div> tree, a <body> cut short (inside a tag), a <table> dump: one HTML section each. */
static void whole_fragments_are_html(void **state)
{
    (void)state;
    static const char *const names[] = {"bzip2_div.html", "fontconfig_body_cut.html",
                                        "nodejs_dns_table.html"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        hr_buf in = HR_BUF_INIT;
        read_fixture(names[i], &in);
        size_t start, bytes;
        assert_int_equal(html_sections(in.data, in.len, &start, &bytes), 1);
        assert_int_equal(start, 0);
        assert_int_equal(bytes, in.len);
        assert_int_equal(hr_detect(in.data, in.len), HR_CT_HTML);
        compresses_keeping_links(&in, "html");
        hr_buf_free(&in);
    }
}

/* After a curl -v transfer log, after an e-mail's MIME headers: the fragment is its own
 * section from its first tag's line, the text before it keeps its type. */
static void fragments_after_other_text(void **state)
{
    (void)state;
    static const char *const names[] = {"curl_v_fragment.txt", "email_html_part.eml"};
    static const char *const first[] = {"<div class=\"sect1\">", "<div dir=\"ltr\">"};
    for (size_t i = 0; i < 2; i++) {
        hr_buf in = HR_BUF_INIT;
        read_fixture(names[i], &in);
        size_t start, bytes;
        assert_int_equal(html_sections(in.data, in.len, &start, &bytes), 1);
        assert_int_equal(start, line_of(&in, first[i]));
        assert_true(bytes >= 4000);
        compresses_keeping_links(&in, "mixed");
        hr_buf_free(&in);
    }
}

/* JSX/TSX, Vue, XML, markdown with inline tags, HTML in a Python string, a diff of an HTML
 * file, grep over HTML files: no HTML section; the diff and the grep keep their routes. */
static void code_with_tags_keeps_its_route(void **state)
{
    (void)state;
    static const char *const names[] = {"component.tsx", "plain_markup.jsx", "widget.vue",
                                        "pom.xml", "feed.xml", "schema.xml",
                                        "readme_inline_tags.md",
                                        "html_in_string.py", "html_file.diff",
                                        "grep_rn_html.txt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        hr_buf in = HR_BUF_INIT;
        read_fixture(names[i], &in);
        size_t start, bytes;
        if (html_sections(in.data, in.len, &start, &bytes) != 0)
            fail_msg("%s: HTML section at %zu", names[i], start);
        hr_buf_free(&in);
    }
    hr_buf d = HR_BUF_INIT, g = HR_BUF_INIT;
    read_fixture("html_file.diff", &d);
    read_fixture("grep_rn_html.txt", &g);
    assert_int_equal(hr_detect(d.data, d.len), HR_CT_DIFF);
    assert_int_equal(hr_detect(g.data, g.len), HR_CT_SEARCH);
    hr_buf_free(&d);
    hr_buf_free(&g);
}

/* The lines of f from the one holding `from` through the one holding `to`. */
static void cut_lines(const char *name, const char *from, const char *to, hr_buf *out)
{
    hr_buf in = HR_BUF_INIT;
    read_fixture(name, &in);
    size_t a = line_of(&in, from);
    const char *t = memmem(in.data + a, in.len - a, to, strlen(to));
    assert_non_null(t);
    const char *nl = memchr(t, '\n', in.len - (size_t)(t - in.data));
    size_t e = nl ? (size_t)(nl - in.data) + 1 : in.len;
    assert_int_equal(hr_buf_append(out, in.data + a, e - a), 0);
    hr_buf_free(&in);
}

static int is_fragment(const hr_buf *b)
{
    size_t scanned;
    return hr_html_fragment_end(b->data, b->len, 0, &scanned) == b->len;
}

/* Each rule is what rejects its negative: the same markup without what the rule looks at
 * is HTML. The plain JSX and the Python string are rejected by where they sit; the TSX by
 * its syntax, which it keeps when taken out. */
static void each_rule_decides(void **state)
{
    (void)state;
    hr_buf jsx = HR_BUF_INIT, py = HR_BUF_INIT, tsx = HR_BUF_INIT, vue = HR_BUF_INIT;
    cut_lines("plain_markup.jsx", "<section>", "</section>", &jsx);
    cut_lines("html_in_string.py", "<div>", "</div>", &py);
    cut_lines("component.tsx", "<div className", "    </div>", &tsx);
    cut_lines("widget.vue", "  <div class", "  </div>", &vue);
    assert_true(is_fragment(&jsx));
    assert_true(is_fragment(&py));
    assert_false(is_fragment(&tsx));
    assert_false(is_fragment(&vue)); /* {{ }}, v-for, :key, @click */
    /* the same Vue markup with its bindings taken out is HTML */
    hr_buf plain = HR_BUF_INIT;
    for (size_t i = 0; i < vue.len; i++) {
        if (vue.data[i] == '{' || vue.data[i] == '}' || vue.data[i] == '@' || vue.data[i] == ':')
            continue;
        assert_int_equal(hr_buf_putc(&plain, vue.data[i]), 0);
    }
    char *v = memmem(plain.data, plain.len, "v-for", 5);
    assert_non_null(v);
    v[0] = 'x'; /* x-for: an attribute HTML allows */
    assert_true(is_fragment(&plain));
    /* a component tag around HTML: the component's block is skipped whole */
    hr_buf comp = HR_BUF_INIT;
    assert_int_equal(hr_buf_puts(&comp, "<Card>\n"), 0);
    assert_int_equal(hr_buf_append(&comp, jsx.data, jsx.len), 0);
    assert_int_equal(hr_buf_puts(&comp, "</Card>\n"), 0);
    size_t start, bytes;
    assert_int_equal(html_sections(comp.data, comp.len, &start, &bytes), 0);
    /* what comes before decides: a greeting ending in ',' opens an e-mail; '[' an array */
    hr_buf mail = HR_BUF_INIT, arr = HR_BUF_INIT;
    assert_int_equal(hr_buf_puts(&mail, "Hi Bob,\n\n"), 0);
    assert_int_equal(hr_buf_append(&mail, jsx.data, jsx.len), 0);
    assert_int_equal(hr_buf_puts(&arr, "const pages = [\n"), 0);
    assert_int_equal(hr_buf_append(&arr, jsx.data, jsx.len), 0);
    assert_int_equal(html_sections(mail.data, mail.len, &start, &bytes), 1);
    assert_int_equal(bytes, jsx.len);
    assert_int_equal(html_sections(arr.data, arr.len, &start, &bytes), 0);
    hr_buf_free(&mail);
    hr_buf_free(&arr);
    /* too small to be worth a section: the first list alone */
    hr_buf small = HR_BUF_INIT;
    cut_lines("plain_markup.jsx", "      <ul>", "      </ul>", &small);
    assert_true(small.len < HR_HTML_FRAGMENT_MIN_BYTES);
    assert_false(is_fragment(&small));
    hr_buf_free(&small);
    hr_buf_free(&comp);
    hr_buf_free(&plain);
    hr_buf_free(&jsx);
    hr_buf_free(&py);
    hr_buf_free(&tsx);
    hr_buf_free(&vue);
}

/* Detection stays linear with many lines starting with '<': unclosed component tags, a
 * quote that never ends, non-HTML tags, one tag spanning every line. Quadratic would take
 * minutes at this size. */
static void many_tag_lines_are_linear(void **state)
{
    (void)state;
    static const char *const lines[] = {"<Foo>\n", "<x a=\"\n", "<item>\n", "<x\n",
                                        "<b>x</b>\n"};
    for (size_t k = 0; k < sizeof lines / sizeof lines[0]; k++) {
        hr_buf in = HR_BUF_INIT;
        assert_int_equal(hr_buf_puts(&in, "some text first\n"), 0);
        for (int i = 0; i < 200000; i++)
            assert_int_equal(hr_buf_puts(&in, lines[k]), 0);
        assert_int_equal(hr_buf_puts(&in, ">\n"), 0); /* "<x" lines: one tag to here */
        clock_t t0 = clock();
        size_t start, bytes, n = html_sections(in.data, in.len, &start, &bytes);
        double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
        assert_true(s < 5.0);
        assert_int_equal(n, k == 4); /* only the run of <b> elements is HTML */
        hr_buf_free(&in);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_fragments_are_html),
        cmocka_unit_test(fragments_after_other_text),
        cmocka_unit_test(code_with_tags_keeps_its_route),
        cmocka_unit_test(each_rule_decides),
        cmocka_unit_test(many_tag_lines_are_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
