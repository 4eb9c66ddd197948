/* html_fragment.h: recognising HTML that has no doctype and no <html> (a <div> tree from a
 * web fetch, a <body> without <html>, an HTML e-mail part, a <table> dump), so detection
 * sends it to the HTML compressor instead of the prose path (docs/compressors.md,
 * "Detection and routing").
 *
 * Code that merely contains tags must keep its own compressor: JSX/TSX, Vue / Svelte /
 * Angular templates, XML, a markdown file with a few inline tags, PHP and Jinja templates.
 * The rule (html_fragment.c says why each part is there): a block of sibling elements
 * that start lines, where
 *   - at most one tag in ten has a name that is not HTML's (XML, SVG files);
 *   - template or JSX syntax is rare: at most one sign per HR_HTML_FRAGMENT_TAGS_PER_SIGNAL
 *     tags (a Capitalised tag name such as <Button>, className, v-if, :prop, @click,
 *     on:click, *ngIf, [prop], (event), an attribute value in braces, text opening with
 *     {name}, and {{ / {% / {# / ${ outside <code>, <pre>, <tt>...), so a page whose text
 *     mentions "{{" once stays HTML; none at all when the root is <template> or the block
 *     holds <?php / <% outside quoted code (server templates);
 *   - markup is at least HR_HTML_FRAGMENT_MARKUP_SHARE percent of the non-blank bytes,
 *     with at least HR_HTML_FRAGMENT_MIN_TAGS tags over HR_HTML_FRAGMENT_MIN_BYTES bytes
 *     (a README's centred logo block stays markdown; a text-heavy manual page is 11%
 *     markup, a page in one <pre> 5%);
 *   - it is not embedded in code: the line before it does not end like an expression
 *     waiting for a value ("return (", "=", "=>", "[", "{", an opening quote) and the line
 *     after it does not close one (")", ";", "}", ",", a quote).
 *
 * Bounds: one pass over the block, no stack (the depth of the block's root element is one
 * counter). The caller skips candidate starts inside a rejected block, so detection stays
 * linear however many lines start with '<'.
 */
#ifndef HR_COMPRESS_HTML_FRAGMENT_H
#define HR_COMPRESS_HTML_FRAGMENT_H

#include <stddef.h>

enum {
    HR_HTML_FRAGMENT_MIN_TAGS = 8,
    HR_HTML_FRAGMENT_MIN_BYTES = 512,
    HR_HTML_FRAGMENT_MARKUP_SHARE = 10,
    HR_HTML_FRAGMENT_TAGS_PER_SIGNAL = 50,
};

/* in[0..len) is the whole span; at is the start of a line whose first non-blank byte is
 * '<'. Returns the end of the HTML fragment starting there (the start of the line after
 * it, or len), or 0 when the block there is not one. *scanned is set to the end of what
 * was looked at (>= at): no other fragment can start before it. */
size_t hr_html_fragment_end(const char *in, size_t len, size_t at, size_t *scanned);

#endif
