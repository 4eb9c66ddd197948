/* query.c: terms (through relevance.h) and anchors of the latest user message (see query.h). Hand-written
 * recognisers, no regex engine: deterministic, allocation-free, linear in the message. */
#include "compress/query.h"

#include "sys/ascii.h"

#include <string.h>


static void add_anchor(hr_query *q, hr_anchor_kind kind, const char *s, size_t n)
{
    if (n == 0 || n >= HR_QUERY_ANCHOR_MAX || q->n_anchors >= HR_QUERY_MAX_ANCHORS)
        return;
    for (size_t i = 0; i < q->n_anchors; i++)
        if (q->anchors[i].len == n && memcmp(q->anchors[i].text, s, n) == 0)
            return;
    hr_query_anchor *a = &q->anchors[q->n_anchors++];
    a->kind = kind;
    a->len = n;
    memcpy(a->text, s, n);
    a->text[n] = '\0';
}

/* A "token" for anchor purposes: a run of [A-Za-z0-9._@-]. */
static int is_token_byte(unsigned char c)
{
    return hr_is_alpha(c) || hr_is_digit(c) || c == '.' || c == '_' || c == '@' || c == '-';
}

static int looks_uuid(const char *s, size_t n)
{
    static const size_t groups[5] = {8, 4, 4, 4, 12};
    if (n != 36)
        return 0;
    size_t p = 0;
    for (int g = 0; g < 5; g++) {
        for (size_t k = 0; k < groups[g]; k++, p++)
            if (!hr_is_xdigit((unsigned char)s[p]))
                return 0;
        if (g < 4 && s[p++] != '-')
            return 0;
    }
    return 1;
}

static int looks_email(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    if (!at || at == s)
        return 0;
    size_t dom = (size_t)(at - s) + 1;
    const char *dot = memchr(s + dom, '.', n - dom);
    return dot && dot > s + dom && (size_t)(dot - s) + 1 < n;
}

/* Two or more dot-separated labels, the last one alphabetic (a TLD or a short name like
 * "internal"), or a dotted quad. */
static int looks_host(const char *s, size_t n)
{
    if (n < 4 || s[0] == '.' || s[n - 1] == '.' || !memchr(s, '.', n) || memchr(s, '@', n))
        return 0;
    size_t last = n;
    while (last > 0 && s[last - 1] != '.')
        last--;
    int alpha_tld = 1, dots = 0, all_digits_dots = 1;
    for (size_t i = last; i < n; i++)
        if (!hr_is_alpha((unsigned char)s[i]))
            alpha_tld = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            dots++;
            if (i + 1 < n && s[i + 1] == '.')
                return 0;
        } else if (!hr_is_digit((unsigned char)s[i])) {
            all_digits_dots = 0;
        }
    }
    if (all_digits_dots)
        return dots == 3;
    return alpha_tld && n - last >= 2;
}

static void scan_tokens_for_anchors(hr_query *q, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && !is_token_byte((unsigned char)s[i]))
            i++;
        size_t b = i;
        while (i < len && is_token_byte((unsigned char)s[i]))
            i++;
        size_t e = i;
        while (e > b && (s[e - 1] == '.' || s[e - 1] == '-' || s[e - 1] == '_'))
            e--; /* sentence punctuation */
        size_t n = e - b;
        if (!n)
            continue;
        const char *t = s + b;
        if (looks_uuid(t, n))
            add_anchor(q, HR_ANCHOR_UUID, t, n);
        else if (looks_email(t, n))
            add_anchor(q, HR_ANCHOR_EMAIL, t, n);
        else if (looks_host(t, n))
            add_anchor(q, HR_ANCHOR_HOST, t, n);
        /* digit runs of 4+ inside the token (ORD-12345, build 9876) */
        for (size_t k = 0; k < n;) {
            if (!hr_is_digit((unsigned char)t[k])) {
                k++;
                continue;
            }
            size_t d = k;
            while (k < n && hr_is_digit((unsigned char)t[k]))
                k++;
            if (k - d >= 4 && (looks_uuid(t, n) == 0))
                add_anchor(q, HR_ANCHOR_ID, t + d, k - d);
        }
    }
}

static void scan_quoted(hr_query *q, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c != '"' && c != '`' && c != '\'')
            continue;
        /* an apostrophe inside a word (don't) is not a quote */
        if (c == '\'' && i > 0 && hr_is_alpha((unsigned char)s[i - 1]))
            continue;
        const char *close = memchr(s + i + 1, c, len - i - 1);
        if (!close)
            break;
        size_t n = (size_t)(close - (s + i + 1));
        if (n >= 2 && n < HR_QUERY_ANCHOR_MAX && !memchr(s + i + 1, '\n', n))
            add_anchor(q, HR_ANCHOR_QUOTED, s + i + 1, n);
        i = (size_t)(close - s);
    }
}

void hr_query_parse(hr_query *q, const char *text, size_t len)
{
    memset(q, 0, sizeof *q);
    if (!text || !len)
        return;
    scan_quoted(q, text, len);
    scan_tokens_for_anchors(q, text, len);
    hr_rel_terms_parse(&q->terms, text, len);
}

static int ci_equal(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hr_to_lower((unsigned char)a[i]) != hr_to_lower((unsigned char)b[i]))
            return 0;
    return 1;
}

static int find_ci(const char *text, size_t len, const hr_query_anchor *a)
{
    if (a->len > len)
        return 0;
    unsigned char f = hr_to_lower((unsigned char)a->text[0]);
    for (size_t i = 0; i + a->len <= len; i++)
        if (hr_to_lower((unsigned char)text[i]) == f && ci_equal(text + i, a->text, a->len))
            return 1;
    return 0;
}

static int find_id(const char *text, size_t len, const hr_query_anchor *a)
{
    size_t from = 0;
    while (from + a->len <= len) {
        const char *p = memmem(text + from, len - from, a->text, a->len);
        if (!p)
            return 0;
        size_t at = (size_t)(p - text);
        int left_ok = at == 0 || !hr_is_digit((unsigned char)text[at - 1]);
        int right_ok = at + a->len >= len || !hr_is_digit((unsigned char)text[at + a->len]);
        if (left_ok && right_ok)
            return 1;
        from = at + 1;
    }
    return 0;
}

int hr_query_matches_anchor(const hr_query *q, const char *text, size_t len)
{
    for (size_t i = 0; i < q->n_anchors; i++) {
        const hr_query_anchor *a = &q->anchors[i];
        int hit;
        switch (a->kind) {
        case HR_ANCHOR_ID:
            hit = find_id(text, len, a);
            break;
        case HR_ANCHOR_QUOTED:
            hit = memmem(text, len, a->text, a->len) != NULL;
            break;
        default:
            hit = find_ci(text, len, a);
            break;
        }
        if (hit)
            return 1;
    }
    return 0;
}
