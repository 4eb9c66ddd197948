/* html_fragment.c: is the block starting at this line an HTML fragment? (see
 * html_fragment.h for the rule).
 *
 * The block: from the candidate line, one element after another (its root tag, then
 * everything up to the end tag that balances it, counting only tags of the root's name),
 * as long as the next non-blank byte after an element opens another tag. A root that is
 * never closed runs to the end of the span: a page cut short is still HTML. The bodies of
 * <script>, <style>, <svg> and <math> are markup whatever they hold (their tag names are
 * not HTML's, their braces not JSX).
 *
 * Why each test:
 *   - tag names: XML (<project>, <dependency>), SVG files and custom markup fail the HTML
 *     name set; JSX components are Capitalised (<Button>), which HTML never is except as
 *     all capitals (old pages write <TABLE>);
 *   - template syntax: JSX and Vue/Svelte/Angular templates use HTML's names, so their
 *     syntax is what tells them apart: attribute names (className, htmlFor, v-*, :x, @x,
 *     on:x, bind:x, *ngX, [x], (x), #x, {...spread}), attribute values in braces, text
 *     opening with "{name" / "{/ *" (a JSX comment) / "{...", "{{" / "{%" / "{#" / "${"
 *     anywhere. Counted, not absolute: a page of release notes may mention "{{" once,
 *     while a component has a sign on most lines. Text inside <code>, <pre>, <tt>, <kbd>,
 *     <samp>, <var>, <textarea> is quoted code ("${prefix}" in a build manual) and is not
 *     looked at; a lone "{" between tags is highlighted code (pygments) and not taken.
 *     <?php / <% outside such quoted code and a <template> root are server or component
 *     templates whatever else the block holds;
 *   - markup share and size: a markdown file with a few tags (a centred logo, <br>s,
 *     <details>) is mostly prose, and a small block is not worth a section of its own;
 *   - the surrounding lines: JSX without any of the syntax above still sits in code,
 *     after "return (" or "=" and before ")" / ";" / "}", and HTML in a string literal
 *     sits between quotes.
 */
#include "compress/html_fragment.h"

#include "sys/ascii.h"

#include <stdlib.h>
#include <string.h>

enum { NAME_MAX_LEN = 16 };

typedef struct frag {
    const char *in;
    size_t len;
    size_t tags, foreign; /* tags read; those whose name is not HTML's */
    size_t markup, text;  /* non-blank bytes inside tags (and raw bodies) / outside */
    size_t signals;       /* template / JSX syntax seen: Capitalised names, bound attributes... */
    int server;           /* a server template (<?php, <%) or a <template> root: never HTML */
    unsigned literal;     /* open <code>, <pre>, <tt>...: their text is quoted code, not syntax */
} frag;

typedef struct tag_info {
    char name[NAME_MAX_LEN + 1]; /* lowercase; "" when longer than NAME_MAX_LEN */
    int closing, self_closing;
} tag_info;

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* HTML's element names (the living standard's, plus the obsolete ones old pages and
 * generated docs still use). Sorted: looked up by bsearch. */
static int html_name(const char *name)
{
    static const char *const names[] = {
        "a", "abbr", "acronym", "address", "area", "article", "aside", "audio", "b", "base",
        "bdi", "bdo", "big", "blockquote", "body", "br", "button", "canvas", "caption",
        "center", "cite", "code", "col", "colgroup", "data", "datalist", "dd", "del",
        "details", "dfn", "dialog", "dir", "div", "dl", "dt", "em", "embed", "fieldset",
        "figcaption", "figure", "font", "footer", "form", "frame", "frameset", "h1", "h2",
        "h3", "h4", "h5", "h6", "head", "header", "hgroup", "hr", "i", "iframe", "img",
        "input", "ins", "kbd", "label", "legend", "li", "link", "main", "map", "mark", "math",
        "menu", "meta", "meter", "nav", "nobr", "noscript", "object", "ol", "optgroup",
        "option", "output", "p", "param", "picture", "pre", "progress", "q", "rp", "rt",
        "ruby", "s", "samp", "script", "search", "section", "select", "small", "source",
        "span", "strike", "strong", "style", "sub", "summary", "sup", "svg", "table", "tbody",
        "td", "template", "textarea", "tfoot", "th", "thead", "time", "title", "tr", "track",
        "tt", "u", "ul", "var", "video", "wbr"};
    const char *key = name;
    return name[0] && bsearch(&key, names, sizeof names / sizeof names[0], sizeof names[0],
                              cmp_name) != NULL;
}

/* Elements without an end tag: such a root is a block by itself. */
static int void_name(const char *name)
{
    static const char *const names[] = {"area", "base", "br", "col", "embed", "hr", "img",
                                        "input", "link", "meta", "param", "source", "track",
                                        "wbr", NULL};
    for (const char *const *p = names; *p; p++)
        if (!strcmp(*p, name))
            return 1;
    return 0;
}

/* Elements whose text is code quoted by the page (a doc's "${prefix}", "{leading: false}"). */
static int literal_name(const char *name)
{
    static const char *const names[] = {"code", "kbd", "pre", "samp", "textarea", "tt", "var",
                                        NULL};
    for (const char *const *p = names; *p; p++)
        if (!strcmp(*p, name))
            return 1;
    return 0;
}

/* Elements whose body is not HTML text: skipped to their end tag as markup. */
static int raw_body_name(const char *name)
{
    return !strcmp(name, "script") || !strcmp(name, "style") || !strcmp(name, "svg") ||
           !strcmp(name, "math");
}

static size_t nonblank(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += !hr_is_space((unsigned char)s[i]);
    return c;
}

/* Offset of the first case-insensitive occurrence of lit in in[from..len), or len. */
static size_t find_ci(const frag *f, size_t from, const char *lit)
{
    size_t k = strlen(lit);
    for (size_t i = from; i + k <= f->len; i++) {
        const char *p = memchr(f->in + i, lit[0], f->len - i);
        if (!p)
            break;
        i = (size_t)(p - f->in);
        size_t j = 0;
        while (j < k && i + j < f->len && hr_to_lower((unsigned char)f->in[i + j]) == lit[j])
            j++;
        if (j == k)
            return i;
    }
    return f->len;
}

/* Attribute names only templates and JSX write. */
static int template_attr(const char *s, size_t n)
{
    static const char *const exact[] = {"className", "htmlFor", "dangerouslySetInnerHTML", NULL};
    if (strchr(":@*[(#{", s[0]))
        return 1;
    if ((n > 2 && !memcmp(s, "v-", 2)) || (n > 3 && !memcmp(s, "on:", 3)) ||
        (n > 5 && !memcmp(s, "bind:", 5)))
        return 1;
    for (const char *const *p = exact; *p; p++)
        if (strlen(*p) == n && !memcmp(*p, s, n))
            return 1;
    return 0;
}

/* The attributes of a tag whose name ends at i, through its '>'. Returns the offset past
 * '>', or 0 when the tag (or a quoted value) never ends. */
static size_t attributes(frag *f, size_t i, tag_info *t)
{
    const char *s = f->in;
    for (;;) {
        while (i < f->len && hr_is_space((unsigned char)s[i]))
            i++;
        if (i >= f->len)
            return 0;
        if (s[i] == '>')
            return i + 1;
        if (s[i] == '/' || s[i] == '=') {
            t->self_closing = s[i] == '/' && i + 1 < f->len && s[i + 1] == '>';
            i += 1 + (size_t)t->self_closing;
            if (t->self_closing)
                return i;
            continue;
        }
        size_t a = i;
        while (i < f->len && !hr_is_space((unsigned char)s[i]) && s[i] != '=' && s[i] != '>' &&
               s[i] != '/')
            i++;
        f->signals += (size_t)template_attr(s + a, i - a);
        while (i < f->len && hr_is_space((unsigned char)s[i]))
            i++;
        if (i >= f->len || s[i] != '=')
            continue;
        for (i++; i < f->len && hr_is_space((unsigned char)s[i]);)
            i++;
        if (i < f->len && s[i] == '{')
            f->signals++; /* onClick={handler}: a JSX expression */
        if (i < f->len && (s[i] == '"' || s[i] == '\'')) {
            const char *q = memchr(s + i + 1, s[i], f->len - i - 1);
            if (!q)
                return 0;
            i = (size_t)(q - s) + 1;
            continue;
        }
        while (i < f->len && !hr_is_space((unsigned char)s[i]) && s[i] != '>')
            i++;
    }
}

/* The tag at i ('<' then a letter, or "</" then a letter). Returns the offset past its '>'
 * or 0 when it never ends. Counts it and its bytes. */
static size_t read_tag(frag *f, size_t i, tag_info *t)
{
    const char *s = f->in;
    t->closing = s[i + 1] == '/';
    t->self_closing = 0;
    size_t a = i + 1 + (size_t)t->closing, b = a;
    int upper = 0, lower = 0;
    while (b < f->len && (hr_is_alnum((unsigned char)s[b]) || s[b] == '-' || s[b] == ':' ||
                          s[b] == '_' || s[b] == '.')) {
        upper |= hr_is_upper((unsigned char)s[b]);
        lower |= hr_is_lower((unsigned char)s[b]);
        b++;
    }
    size_t n = b - a < NAME_MAX_LEN ? b - a : 0;
    for (size_t k = 0; k < n; k++)
        t->name[k] = (char)hr_to_lower((unsigned char)s[a + k]);
    t->name[n] = '\0';
    f->signals += (size_t)(upper && lower); /* <Button>, <Foo.Bar>: a component */
    f->tags++;
    f->foreign += !html_name(t->name);
    size_t e = attributes(f, b, t);
    if (e)
        f->markup += nonblank(s + i, e - i);
    return e;
}

/* Text s[a..b) between tags: counted, and checked for template syntax. */
static void text(frag *f, size_t a, size_t b)
{
    const char *s = f->in;
    f->text += nonblank(s + a, b - a);
    if (f->literal)
        return;
    size_t first = a;
    while (first < b && hr_is_space((unsigned char)s[first]))
        first++;
    for (const char *p = memchr(s + a, '{', b - a); p; p = memchr(p + 1, '{', (size_t)(s + b - p - 1))) {
        size_t i = (size_t)(p - s);
        char next = i + 1 < b ? s[i + 1] : '\0';
        if (next == '{' || next == '%' || next == '#' || (i > a && s[i - 1] == '$'))
            f->signals++;
        if (i == first && (hr_is_alpha((unsigned char)next) || next == '_' || next == '/' ||
                           next == '.'))
            f->signals++; /* {title}, a {/ * comment * /}, {...props}: JSX */
        if (i + 1 >= b)
            break;
    }
}

/* Something at i that starts with '<' but is not a tag: a comment, a declaration, a
 * processing instruction (PHP, ASP), or a '<' in text. Returns where it ends. */
static size_t other(frag *f, size_t i)
{
    const char *s = f->in;
    char c = i + 1 < f->len ? s[i + 1] : '\0';
    size_t e;
    if ((c == '?' || c == '%') && !f->literal)
        f->server = 1; /* <?php, <%= %>: a server template */
    if (c == '!' && i + 3 < f->len && s[i + 2] == '-' && s[i + 3] == '-') {
        e = find_ci(f, i + 4, "-->");
        e = e < f->len ? e + 3 : e;
    } else if (c == '!' || c == '?' || c == '%') {
        const char *gt = memchr(s + i, '>', f->len - i);
        e = gt ? (size_t)(gt - s) + 1 : f->len;
    } else {
        f->text++;
        return i + 1;
    }
    f->markup += nonblank(s + i, e - i);
    return e;
}

static int tag_at(const frag *f, size_t i)
{
    const char *s = f->in;
    if (i + 2 >= f->len || s[i] != '<')
        return 0;
    return hr_is_alpha((unsigned char)s[i + 1]) ||
           (s[i + 1] == '/' && hr_is_alpha((unsigned char)s[i + 2]));
}

/* Past the end tag of a raw body opened by `name` at i (or len), counted as markup. */
static size_t raw_body(frag *f, size_t i, const char *name)
{
    char close[NAME_MAX_LEN + 3] = "</";
    memcpy(close + 2, name, strlen(name) + 1);
    size_t e = find_ci(f, i, close);
    f->markup += nonblank(f->in + i, e - i);
    return e;
}

/* The element whose start tag is at i, through the end tag that balances it. Returns the
 * offset past it, len when the span ends first (inside a tag too), 0 when its start tag
 * never ends. */
static size_t element(frag *f, size_t i)
{
    tag_info root, t;
    size_t e = read_tag(f, i, &root);
    if (!e || root.closing || root.self_closing || void_name(root.name))
        return e;
    if (raw_body_name(root.name))
        return raw_body(f, e, root.name);
    for (unsigned depth = 1; e < f->len;) {
        const char *lt = memchr(f->in + e, '<', f->len - e);
        size_t at = lt ? (size_t)(lt - f->in) : f->len;
        text(f, e, at);
        if (at >= f->len)
            break;
        if (!tag_at(f, at)) {
            e = other(f, at);
            continue;
        }
        if (!(e = read_tag(f, at, &t)))
            return f->len; /* a tag cut off by the end of the span: a page cut short */
        if (!t.self_closing && !strcmp(t.name, root.name) && (depth += t.closing ? -1u : 1u) == 0)
            return e;
        if (literal_name(t.name) && !t.self_closing)
            f->literal = t.closing ? f->literal - (f->literal > 0) : f->literal + 1;
        if (!t.closing && !t.self_closing && raw_body_name(t.name))
            e = raw_body(f, e, t.name);
    }
    return f->len;
}

static size_t line_end(const frag *f, size_t i)
{
    const char *nl = i < f->len ? memchr(f->in + i, '\n', f->len - i) : NULL;
    return nl ? (size_t)(nl - f->in) + 1 : f->len;
}

/* The last non-blank line before at ends like code waiting for a value. */
static int code_before(const frag *f, size_t at)
{
    const char *s = f->in;
    size_t e = at;
    while (e > 0 && hr_is_space((unsigned char)s[e - 1]))
        e--;
    if (e == 0)
        return 0;
    char c = s[e - 1];
    if (c == '(' || c == '[' || c == '{' || c == '=' || c == '"' || c == '\'' || c == '`')
        return 1; /* not ',': "Hi Bob," may open an e-mail's HTML */
    if (e >= 2 && s[e - 2] == '=' && c == '>')
        return 1; /* () => */
    return e >= 6 && !memcmp(s + e - 6, "return", 6) && (e == 6 || !hr_is_alnum((unsigned char)s[e - 7]));
}

/* The first non-blank byte from `from` closes code around the block. */
static int code_after(const frag *f, size_t from)
{
    while (from < f->len && hr_is_space((unsigned char)f->in[from]))
        from++;
    return from < f->len && strchr(");}\"'`,", f->in[from]) != NULL;
}

static int looks_like_html(const frag *f, size_t at, size_t end)
{
    size_t all = f->markup + f->text;
    return !f->server && f->signals * HR_HTML_FRAGMENT_TAGS_PER_SIGNAL <= f->tags &&
           f->tags >= HR_HTML_FRAGMENT_MIN_TAGS &&
           end - at >= HR_HTML_FRAGMENT_MIN_BYTES && f->foreign * 10 <= f->tags &&
           f->markup * 100 >= all * HR_HTML_FRAGMENT_MARKUP_SHARE && !code_before(f, at) &&
           !code_after(f, end);
}

size_t hr_html_fragment_end(const char *in, size_t len, size_t at, size_t *scanned)
{
    frag f = {in, len, 0, 0, 0, 0, 0, 0, 0};
    size_t i = at;
    *scanned = at;
    while (i < len && (in[i] == ' ' || in[i] == '\t'))
        i++;
    if (!tag_at(&f, i) || in[i + 1] == '/')
        return 0;
    /* Cheap refusal first (most lines starting with '<' stop here): a root that is neither
     * HTML's nor code's. A code root (<Card>, <template>) is read to its end all the same,
     * so the HTML-looking elements inside it are not taken for a fragment of their own. */
    frag probe = f;
    tag_info root;
    size_t e = read_tag(&probe, i, &root);
    if (!e) {
        *scanned = len; /* a tag that never ends: nothing after it reads as HTML */
        return 0;
    }
    if (!html_name(root.name) && !probe.signals) {
        *scanned = e; /* the lines inside this tag start nothing: each is read once */
        return 0;
    }
    f.server = !strcmp(root.name, "template"); /* Vue / Svelte single-file components */
    size_t end = i;
    while (tag_at(&f, i)) {
        e = element(&f, i);
        if (!e) {
            *scanned = len;
            return 0;
        }
        end = e;
        for (i = e; i < len && hr_is_space((unsigned char)in[i]);)
            i++;
    }
    size_t eol = line_end(&f, end);
    text(&f, end, eol);
    *scanned = eol;
    return looks_like_html(&f, at, eol) ? eol : 0;
}
