/* pretok.c: tiktoken's pre-tokenisation patterns for cl100k_base and o200k_base, matched
 * by hand. Each function below is one alternative of the pattern, returning the length of
 * its match at pos (0 = no match); hr_pretok_next tries them in pattern order, which is
 * exactly the leftmost-first semantics of the regex (every position matches some
 * alternative, so matches are contiguous). Backtracking inside an alternative is resolved
 * analytically; the comments give the regex each function implements.
 *
 * Character classes come from unicode_tables.c. \s is Unicode White_Space, as in the Rust
 * regex crate tiktoken uses; the case-insensitive contractions also accept U+017F (long s,
 * which folds to 's'). Invalid UTF-8 bytes are single characters of no class.
 */
#include "tokens/bpe.h"
#include "tokens/unicode_tables.h"

#include <stdbool.h>

#define NO_CP 0xFFFFFFFFu

typedef struct {
    uint32_t cp;  /* code point, NO_CP for an invalid byte */
    uint8_t cls;  /* HR_UC_* flags */
    uint8_t len;  /* bytes, 1..4 */
} uchar;

/* Strict UTF-8 decoding of a non-ASCII lead byte (no overlongs, surrogates or values
 * above U+10FFFF); anything else is one invalid byte. */
static uchar decode_multibyte(const uint8_t *s, size_t len, size_t pos)
{
    uchar u = {NO_CP, 0, 1};
    uint8_t b0 = s[pos];
    uint32_t cp;
    size_t need;
    uint32_t min;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        cp = b0 & 0x1F, need = 1, min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        cp = b0 & 0x0F, need = 2, min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        cp = b0 & 0x07, need = 3, min = 0x10000;
    } else {
        return u;
    }
    if (len - pos <= need)
        return u;
    for (size_t k = 1; k <= need; k++) {
        uint8_t b = s[pos + k];
        if ((b & 0xC0) != 0x80)
            return u;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return u;
    u.cp = cp;
    u.cls = hr_uni_class(cp);
    u.len = (uint8_t)(need + 1);
    return u;
}

/* ASCII is most of what agents send; its classes come from the first table block, which
 * stays in cache, and the call is inlined. */
static inline uchar decode_at(const uint8_t *s, size_t len, size_t pos)
{
    uint8_t b0 = s[pos];
    if (b0 < 0x80)
        return (uchar){b0, hr_uni_stage2[0][b0], 1};
    return decode_multibyte(s, len, pos);
}

typedef struct {
    const uint8_t *s;
    size_t len;
} text_t;

static bool at_end(const text_t *t, size_t pos) { return pos >= t->len; }

static uchar char_at(const text_t *t, size_t pos) { return decode_at(t->s, t->len, pos); }

static bool is_newline(uchar c) { return c.cp == '\r' || c.cp == '\n'; }

/* [^\r\n\p{L}\p{N}] */
static bool is_prefix_char(uchar c) { return !is_newline(c) && !(c.cls & (HR_UC_L | HR_UC_N)); }

/* [^\s\p{L}\p{N}] */
static bool is_punct(uchar c) { return !(c.cls & (HR_UC_L | HR_UC_N | HR_UC_WS)); }

/* End of the longest run starting at pos of characters having any flag in mask. */
static size_t run_of(const text_t *t, size_t pos, uint8_t mask)
{
    while (!at_end(t, pos)) {
        uchar c = char_at(t, pos);
        if (!(c.cls & mask))
            break;
        pos += c.len;
    }
    return pos;
}

static size_t punct_run(const text_t *t, size_t pos)
{
    while (!at_end(t, pos)) {
        uchar c = char_at(t, pos);
        if (!is_punct(c))
            break;
        pos += c.len;
    }
    return pos;
}

/* Case-insensitive ASCII letter test that also lets U+017F stand for 's' (simple case
 * folding, as the Rust regex crate applies under (?i)). */
static bool letter_is(uchar c, char lower)
{
    if (c.cp == 0x17F)
        return lower == 's';
    return c.cp == (uint32_t)lower || c.cp == (uint32_t)(lower - 32);
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d), the same set as cl100k's '(?i:[sdmt]|ll|ve|re). */
static size_t contraction(const text_t *t, size_t pos)
{
    if (at_end(t, pos) || t->s[pos] != '\'' || at_end(t, pos + 1))
        return 0;
    uchar a = char_at(t, pos + 1);
    if (letter_is(a, 's') || letter_is(a, 't') || letter_is(a, 'm') || letter_is(a, 'd'))
        return 1 + a.len;
    size_t p2 = pos + 1 + a.len;
    if (at_end(t, p2))
        return 0;
    uchar b = char_at(t, p2);
    if ((letter_is(a, 'r') && letter_is(b, 'e')) || (letter_is(a, 'v') && letter_is(b, 'e')) ||
        (letter_is(a, 'l') && letter_is(b, 'l')))
        return 1 + a.len + b.len;
    return 0;
}

/* \p{N}{1,3} */
static size_t numbers(const text_t *t, size_t pos)
{
    size_t p = pos;
    for (int k = 0; k < 3 && !at_end(t, p); k++) {
        uchar c = char_at(t, p);
        if (!(c.cls & HR_UC_N))
            break;
        p += c.len;
    }
    return p - pos;
}

/* " ?[^\s\p{L}\p{N}]+" followed by a greedy run of the given tail characters
 * ([\r\n]* for cl100k, [\r\n/]* for o200k). */
static size_t punctuation(const text_t *t, size_t pos, bool slash_tail)
{
    size_t p = pos;
    if (t->s[p] == ' ' && !at_end(t, p + 1) && is_punct(char_at(t, p + 1)))
        p++;
    size_t e = punct_run(t, p);
    if (e == p)
        return 0;
    while (!at_end(t, e) && (t->s[e] == '\r' || t->s[e] == '\n' || (slash_tail && t->s[e] == '/')))
        e++;
    return e - pos;
}

/* The whitespace run at pos: returns its end; *last_start receives where its last
 * character starts and *last_nl_end the end of its last newline (0 if none). */
static size_t ws_run(const text_t *t, size_t pos, size_t *last_start, size_t *last_nl_end)
{
    size_t p = pos;
    *last_start = pos;
    *last_nl_end = 0;
    while (!at_end(t, p)) {
        uchar c = char_at(t, p);
        if (!(c.cls & HR_UC_WS))
            break;
        *last_start = p;
        p += c.len;
        if (is_newline(c))
            *last_nl_end = p;
    }
    return p;
}

/* \s+(?!\S) then \s+: the whole run at the end of text, else all but its last character,
 * or a lone whitespace character before non-space. */
static size_t ws_tail_rule(const text_t *t, size_t pos, size_t end, size_t last_start)
{
    if (at_end(t, end) || last_start == pos)
        return end - pos;
    return last_start - pos;
}

/* The three whitespace alternatives, in order:
 *   \s*[\r\n]+ (cl100k's \s*[\r\n] matches the same): up to the run's last newline;
 *   \s+(?!\S) and \s+ (ws_tail_rule). */
static size_t whitespace(const text_t *t, size_t pos)
{
    size_t last_start, last_nl_end, p = ws_run(t, pos, &last_start, &last_nl_end);
    if (p == pos)
        return 0;
    if (last_nl_end)
        return last_nl_end - pos;
    return ws_tail_rule(t, pos, p, last_start);
}

/* cl100k: [^\r\n\p{L}\p{N}]?+\p{L}+ */
static size_t cl100k_word(const text_t *t, size_t pos)
{
    uchar c = char_at(t, pos);
    size_t p = pos;
    if (!(c.cls & HR_UC_L)) {
        if (!is_prefix_char(c))
            return 0;
        p += c.len;
    }
    size_t e = run_of(t, p, HR_UC_L);
    return e == p ? 0 : e - pos;
}

/* o200k, first word alternative from start k (after the optional prefix):
 * [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ — the greedy upper run gives
 * back characters until a lower-ish one can start the lower run. Returns the end or 0. */
static size_t o200k_lower_tail_word(const text_t *t, size_t k)
{
    size_t j = k, last_lower = (size_t)-1;
    while (!at_end(t, j)) {
        uchar c = char_at(t, j);
        if (!(c.cls & HR_UC_UPPERISH))
            break;
        if (c.cls & HR_UC_LOWERISH)
            last_lower = j;
        j += c.len;
    }
    size_t q;
    if (!at_end(t, j) && (char_at(t, j).cls & HR_UC_LOWERISH))
        q = j;
    else if (last_lower != (size_t)-1)
        q = last_lower;
    else
        return 0;
    return run_of(t, q, HR_UC_LOWERISH);
}

/* o200k, second word alternative from k: [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]* */
static size_t o200k_upper_head_word(const text_t *t, size_t k)
{
    size_t j = run_of(t, k, HR_UC_UPPERISH);
    if (j == k)
        return 0;
    return run_of(t, j, HR_UC_LOWERISH);
}

/* [^\r\n\p{L}\p{N}]?<word>(?i:'s|'t|'re|'ve|'m|'ll|'d)? — the optional prefix is tried
 * taken first, then skipped. */
static size_t o200k_word(const text_t *t, size_t pos, size_t (*word)(const text_t *, size_t))
{
    uchar c = char_at(t, pos);
    size_t e = 0;
    if (is_prefix_char(c) && !at_end(t, pos + c.len))
        e = word(t, pos + c.len);
    if (!e)
        e = word(t, pos);
    if (!e)
        return 0;
    return e + contraction(t, e) - pos;
}

/* ---- ASCII fast paths ----
 * Most pieces are an ASCII word with an optional ASCII prefix (" the", ".com", "JSON").
 * These compute the same match as the general alternatives when the word ends at an ASCII
 * byte, and return 0 (use the general path) whenever a non-ASCII byte could continue it. */

static bool ascii_upper(uint8_t c) { return c >= 'A' && c <= 'Z'; }
static bool ascii_lower(uint8_t c) { return c >= 'a' && c <= 'z'; }
static bool ascii_letter(uint8_t c) { return ascii_upper(c) || ascii_lower(c); }

/* [^\r\n\p{L}\p{N}] restricted to ASCII. */
static bool ascii_prefix(uint8_t c)
{
    return c < 0x80 && c != '\r' && c != '\n' && !ascii_letter(c) && !(c >= '0' && c <= '9');
}

/* Start of the ASCII word after an optional ASCII prefix, or SIZE_MAX. */
static size_t ascii_word_start(const text_t *t, size_t pos)
{
    const uint8_t *s = t->s;
    if (ascii_letter(s[pos]))
        return pos;
    if (ascii_prefix(s[pos]) && pos + 1 < t->len && ascii_letter(s[pos + 1]))
        return pos + 1;
    return SIZE_MAX;
}

/* o200k's two word alternatives: uppers then lowers ("Hello", "HTTPServer", "parse") as
 * alternative 1, or uppers alone ("JSON") as alternative 2; then a contraction. */
static size_t o200k_ascii_word(const text_t *t, size_t pos)
{
    size_t p = ascii_word_start(t, pos);
    if (p == SIZE_MAX)
        return 0;
    const uint8_t *s = t->s;
    size_t j = p;
    while (j < t->len && ascii_upper(s[j]))
        j++;
    size_t e = j;
    while (e < t->len && ascii_lower(s[e]))
        e++;
    if (e < t->len && s[e] >= 0x80)
        return 0;
    return e + contraction(t, e) - pos;
}

/* cl100k: [^\r\n\p{L}\p{N}]?+\p{L}+ over ASCII letters. */
static size_t cl100k_ascii_word(const text_t *t, size_t pos)
{
    size_t p = ascii_word_start(t, pos);
    if (p == SIZE_MAX)
        return 0;
    const uint8_t *s = t->s;
    size_t e = p;
    while (e < t->len && ascii_letter(s[e]))
        e++;
    if (e < t->len && s[e] >= 0x80)
        return 0;
    return e - pos;
}

static size_t next_cl100k(const text_t *t, size_t pos)
{
    size_t n;
    if (t->s[pos] != '\'' && (n = cl100k_ascii_word(t, pos)))
        return n;
    if ((n = contraction(t, pos)) || (n = cl100k_word(t, pos)) || (n = numbers(t, pos)) ||
        (n = punctuation(t, pos, false)) || (n = whitespace(t, pos)))
        return n;
    return char_at(t, pos).len; /* unreachable: every character is L, N, \s or punctuation */
}

static size_t next_o200k(const text_t *t, size_t pos)
{
    size_t n;
    if ((n = o200k_ascii_word(t, pos)))
        return n;
    if ((n = o200k_word(t, pos, o200k_lower_tail_word)) ||
        (n = o200k_word(t, pos, o200k_upper_head_word)) || (n = numbers(t, pos)) ||
        (n = punctuation(t, pos, true)) || (n = whitespace(t, pos)))
        return n;
    return char_at(t, pos).len;
}

size_t hr_pretok_next(hr_tok_encoding enc, const char *text, size_t len, size_t pos)
{
    text_t t = {(const uint8_t *)text, len};
    if (pos >= len)
        return 0;
    return enc == HR_TOK_CL100K ? next_cl100k(&t, pos) : next_o200k(&t, pos);
}

/* ---- GPT-2 / byte-level BPE (HF tokenizers' ByteLevel pre-tokenizer) ----
 * 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * Case-sensitive contractions, unbounded letter and digit runs, and no newline
 * alternative: the whitespace rule is the cl100k one without \s*[\r\n]+. */

static size_t gpt2_contraction(const text_t *t, size_t pos)
{
    const uint8_t *s = t->s;
    if (s[pos] != '\'' || at_end(t, pos + 1))
        return 0;
    uint8_t a = s[pos + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if (at_end(t, pos + 2))
        return 0;
    uint8_t b = s[pos + 2];
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

/* " ?" followed by a run of one class: letters, digits or [^\s\p{L}\p{N}]. */
static size_t gpt2_class_run(const text_t *t, size_t pos)
{
    size_t p = pos;
    if (t->s[p] == ' ' && !at_end(t, p + 1))
        p++;
    uchar c = char_at(t, p);
    size_t e;
    if (c.cls & HR_UC_L)
        e = run_of(t, p, HR_UC_L);
    else if (c.cls & HR_UC_N)
        e = run_of(t, p, HR_UC_N);
    else if (is_punct(c))
        e = punct_run(t, p);
    else
        return 0; /* whitespace after the optional space: the space goes alone */
    return e - pos;
}

/* \s+(?!\S)|\s+ (GPT-2 has no newline alternative). */
static size_t gpt2_whitespace(const text_t *t, size_t pos)
{
    size_t last_start, last_nl_end, p = ws_run(t, pos, &last_start, &last_nl_end);
    return p == pos ? 0 : ws_tail_rule(t, pos, p, last_start);
}

uint8_t hr_pretok_class_at(const char *text, size_t len, size_t pos, size_t *clen)
{
    uchar c = decode_at((const uint8_t *)text, len, pos);
    *clen = c.len;
    return c.cls;
}

size_t hr_pretok_gpt2_next(const char *text, size_t len, size_t pos)
{
    text_t t = {(const uint8_t *)text, len};
    size_t n;
    if (pos >= len)
        return 0;
    if ((n = gpt2_contraction(&t, pos)) || (n = gpt2_class_run(&t, pos)) ||
        (n = gpt2_whitespace(&t, pos)))
        return n;
    return char_at(&t, pos).len; /* unreachable: every character is in one class */
}
