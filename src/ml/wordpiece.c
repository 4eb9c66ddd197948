/* wordpiece.c: the BERT WordPiece tokenizer (contract and behaviour in wordpiece.h).
 *
 * Owns: the vocabulary hash index (one allocation, open addressing, FNV-1a) and the
 * streaming encoder. The encoder walks the UTF-8 text once, normalising code point by
 * code point into a bounded word buffer on the stack: a word longer than the per-word
 * character limit becomes [UNK] anyway, so nothing needs to grow and encoding allocates
 * nothing. Unicode facts come from the generated tables in unicode_wordpiece.c.
 */
#include "ml/wordpiece.h"

#include "ml/unicode_wordpiece.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Word buffer bound: the largest max_chars_per_word we accept. Each code point of a
 * word is at most 4 UTF-8 bytes. */
#define WP_MAX_WORD_CHARS 512
#define WP_N_SPECIALS 5
/* Membership filter over token hashes: 2^18 bits = 32 KB, small enough to stay in cache,
 * so most candidate pieces that are not tokens are rejected without touching the table. */
#define WP_FILTER_BITS 18

/* A hash slot keeps the full hash beside the id, so a probe rejects almost every
 * mismatch without touching the token bytes. */
typedef struct {
    uint32_t hash;
    uint32_t id1;           /* token id + 1; 0 = empty */
} wp_slot;

struct hr_wordpiece {
    hr_model_vocab vocab;   /* view: strings are borrowed */
    size_t prefix_len;
    size_t max_token_bytes; /* no candidate piece longer than this can match */
    uint32_t mask;          /* slots - 1 (power of two) */
    wp_slot *slots;         /* open addressing; points into this allocation */
    uint64_t *filter;       /* 1 << WP_FILTER_BITS bits; points into this allocation */
    int32_t special_ids[WP_N_SPECIALS]; /* literal special tokens matched in raw text */
};

/* ---- vocabulary index ---------------------------------------------------------------- */

static uint32_t fnv1a(uint32_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

#define FNV_BASIS 2166136261u

static const char *token_at(const hr_model_vocab *v, uint32_t id, size_t *len)
{
    *len = v->offsets[id + 1] - v->offsets[id];
    return v->blob + v->offsets[id];
}

/* Looks up prefix+s (prefix may be empty) whose FNV-1a hash h the caller computed, without
 * building the concatenation. */
static uint32_t filter_bit(uint32_t h)
{
    return (h * 2654435761u) >> (32 - WP_FILTER_BITS);
}

static int32_t lookup_hashed(const hr_wordpiece *tok, uint32_t h, const char *prefix, size_t plen,
                             const char *s, size_t n)
{
    uint32_t bit = filter_bit(h);
    if (!(tok->filter[bit >> 6] >> (bit & 63) & 1))
        return -1;
    for (uint32_t i = h & tok->mask;; i = (i + 1) & tok->mask) {
        const wp_slot *slot = &tok->slots[i];
        if (slot->id1 == 0)
            return -1;
        if (slot->hash != h)
            continue;
        size_t tlen;
        const char *t = token_at(&tok->vocab, slot->id1 - 1, &tlen);
        if (tlen == plen + n && memcmp(t, prefix, plen) == 0 && memcmp(t + plen, s, n) == 0)
            return (int32_t)(slot->id1 - 1);
    }
}

static int32_t lookup2(const hr_wordpiece *tok, const char *prefix, size_t plen, const char *s,
                       size_t n)
{
    return lookup_hashed(tok, fnv1a(fnv1a(FNV_BASIS, prefix, plen), s, n), prefix, plen, s, n);
}

int32_t hr_wordpiece_token_id(const hr_wordpiece *tok, const char *s, size_t len)
{
    return tok && s ? lookup2(tok, "", 0, s, len) : -1;
}

static bool id_valid(const hr_model_vocab *v, int32_t id)
{
    return id >= 0 && (uint32_t)id < v->n_tokens;
}

static int check_vocab(const hr_model_vocab *v, hr_ml_error *err)
{
    if (v->kind != HR_TOK_WORDPIECE) {
        hr_ml_error_set(err, "wordpiece: vocab kind %u is not WordPiece", v->kind);
        return -1;
    }
    if (v->n_tokens == 0 || v->n_tokens >= UINT32_MAX / 4 || !v->offsets || !v->blob) {
        hr_ml_error_set(err, "wordpiece: empty or missing vocabulary");
        return -1;
    }
    if (!id_valid(v, v->unk_id) || !id_valid(v, v->cls_id) || !id_valid(v, v->sep_id)) {
        hr_ml_error_set(err, "wordpiece: [UNK], [CLS] or [SEP] id out of range");
        return -1;
    }
    if (v->max_chars_per_word == 0 || v->max_chars_per_word > WP_MAX_WORD_CHARS) {
        hr_ml_error_set(err, "wordpiece: max_chars_per_word %u not in 1..%d",
                        v->max_chars_per_word, WP_MAX_WORD_CHARS);
        return -1;
    }
    /* The fold table combines lowercase and accent stripping (what every BERT uncased
     * model uses); a cased vocabulary would need other tables, so refuse it clearly. */
    const uint32_t fold_flags = HR_TOKF_LOWERCASE | HR_TOKF_STRIP_ACCENTS;
    if ((v->flags & fold_flags) != fold_flags) {
        hr_ml_error_set(err, "wordpiece: only lowercase + strip_accents vocabularies are "
                             "supported (flags 0x%x)", v->flags);
        return -1;
    }
    if (memchr(v->prefix, '\0', sizeof v->prefix) == NULL) {
        hr_ml_error_set(err, "wordpiece: continuation prefix not terminated");
        return -1;
    }
    for (uint32_t i = 0; i < v->n_tokens; i++) {
        if (v->offsets[i + 1] < v->offsets[i]) {
            hr_ml_error_set(err, "wordpiece: token offsets not ascending at %u", i);
            return -1;
        }
    }
    return 0;
}

int hr_wordpiece_new(const hr_model_vocab *vocab, hr_wordpiece **out, hr_ml_error *err)
{
    *out = NULL;
    if (check_vocab(vocab, err) != 0)
        return -1;
    uint32_t nslots = 16;
    while (nslots < vocab->n_tokens * 2u)
        nslots <<= 1;
    size_t filter_bytes = ((size_t)1 << WP_FILTER_BITS) / 8;
    hr_wordpiece *tok = calloc(1, sizeof *tok + (size_t)nslots * sizeof(wp_slot) + filter_bytes);
    if (!tok) {
        hr_ml_error_set(err, "wordpiece: out of memory for %u slots", nslots);
        return -1;
    }
    tok->vocab = *vocab;
    tok->prefix_len = strlen(vocab->prefix);
    tok->mask = nslots - 1;
    tok->slots = (wp_slot *)(tok + 1);
    tok->filter = (uint64_t *)(tok->slots + nslots);
    for (uint32_t id = 0; id < vocab->n_tokens; id++) {
        size_t len;
        const char *s = token_at(vocab, id, &len);
        if (lookup2(tok, "", 0, s, len) >= 0)
            continue; /* duplicate line: the first id wins */
        if (len > tok->max_token_bytes)
            tok->max_token_bytes = len;
        uint32_t h = fnv1a(FNV_BASIS, s, len), i = h & tok->mask;
        while (tok->slots[i].id1 != 0)
            i = (i + 1) & tok->mask;
        tok->slots[i] = (wp_slot){h, id + 1};
        uint32_t bit = filter_bit(h);
        tok->filter[bit >> 6] |= (uint64_t)1 << (bit & 63);
    }
    const int32_t specials[WP_N_SPECIALS] = {vocab->cls_id, vocab->sep_id, vocab->unk_id,
                                             vocab->pad_id, vocab->mask_id};
    for (int i = 0; i < WP_N_SPECIALS; i++)
        tok->special_ids[i] = id_valid(vocab, specials[i]) ? specials[i] : -1;
    *out = tok;
    return 0;
}

void hr_wordpiece_free(hr_wordpiece *tok)
{
    free(tok);
}

/* ---- Unicode helpers ------------------------------------------------------------------ */

/* Decodes one code point at s[0..n) (n >= 1). Invalid input yields U+FFFD and consumes
 * the maximal ill-formed subpart, as the WHATWG decoder does, so the bytes after a broken
 * sequence decode exactly as they would in the JavaScript reference. */
static uint32_t utf8_next(const uint8_t *s, size_t n, size_t *used)
{
    uint8_t b = s[0];
    *used = 1;
    if (b < 0x80)
        return b;
    int need;
    uint32_t cp;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
        cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        cp = b & 0x0F;
        if (b == 0xE0)
            lo = 0xA0;
        if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        cp = b & 0x07;
        if (b == 0xF0)
            lo = 0x90;
        if (b == 0xF4)
            hi = 0x8F;
    } else {
        return 0xFFFD;
    }
    for (int k = 1; k <= need; k++) {
        if ((size_t)k >= n || s[k] < lo || s[k] > hi) {
            *used = (size_t)k;
            return 0xFFFD;
        }
        cp = (cp << 6) | (s[k] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *used = (size_t)need + 1;
    return cp;
}

static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static uint32_t char_class(uint32_t cp)
{
    size_t lo = 0, hi = hr_wp_uc_class_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const hr_wp_uc_range *r = &hr_wp_uc_class_ranges[mid];
        if (cp < r->first)
            hi = mid;
        else if (cp > r->last)
            lo = mid + 1;
        else
            return r->cls;
    }
    return HR_WP_WORD;
}

/* char_class for ASCII, from the same definitions the generator uses (the unit test
 * checks the two agree on all 128 code points). */
static uint32_t ascii_class(uint32_t cp)
{
    if (cp == '\t' || cp == '\n' || cp == '\r' || cp == ' ')
        return HR_WP_SPACE;
    if (cp < 0x20 || cp == 0x7F)
        return HR_WP_DROP;
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
        (cp >= 123 && cp <= 126))
        return HR_WP_PUNCT;
    return HR_WP_WORD;
}

/* The CJK ideograph blocks of BERT's _is_chinese_char (HF tokenizers uses the same). */
static bool is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* Lowercase + NFD + drop Mn for one code point; returns how many code points went to out
 * (0 .. HR_WP_FOLD_MAX). */
static int fold(uint32_t cp, uint32_t out[HR_WP_FOLD_MAX])
{
    if (cp >= 0xAC00 && cp <= 0xD7A3) { /* Hangul syllable: L V (T), Unicode ch. 3.12 */
        uint32_t s = cp - 0xAC00;
        out[0] = 0x1100 + s / (21 * 28);
        out[1] = 0x1161 + (s % (21 * 28)) / 28;
        if (s % 28 == 0)
            return 2;
        out[2] = 0x11A7 + s % 28;
        return 3;
    }
    size_t lo = 0, hi = hr_wp_uc_fold_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const hr_wp_uc_fold *f = &hr_wp_uc_fold_map[mid];
        if (cp < f->cp) {
            hi = mid;
        } else if (cp > f->cp) {
            lo = mid + 1;
        } else {
            for (int i = 0; i < f->len; i++)
                out[i] = hr_wp_uc_fold_pool[f->off + i];
            return f->len;
        }
    }
    out[0] = cp;
    return 1;
}

/* ---- encoder -------------------------------------------------------------------------- */

typedef struct {
    int32_t *ids;
    size_t cap;      /* room for pieces: max_ids - 1 (the last slot is [SEP]) */
    size_t n;
    bool truncated;
} id_sink;

typedef struct {
    char bytes[WP_MAX_WORD_CHARS * 4];
    uint16_t char_off[WP_MAX_WORD_CHARS + 1];
    size_t nchars;   /* may exceed the buffer; then the word is [UNK] */
} word_buf;

static void sink_put(id_sink *out, int32_t id)
{
    if (out->n < out->cap)
        out->ids[out->n++] = id;
    else
        out->truncated = true;
}

static void word_append(word_buf *w, uint32_t cp, uint32_t max_chars)
{
    if (w->nchars < max_chars) {
        uint16_t off = w->char_off[w->nchars];
        w->char_off[w->nchars + 1] = (uint16_t)(off + utf8_put(cp, w->bytes + off));
    }
    w->nchars++;
}

/* The longest vocabulary piece of w starting at character start (with the continuation
 * prefix unless start is 0): returns its id and sets *end, or -1. Candidates longer than
 * the longest token are never tried, which keeps a 100-character word at
 * O(n * longest) probes instead of O(n^2); their hashes come from one forward pass, since
 * FNV-1a is a running hash. */
static int32_t longest_piece(const hr_wordpiece *tok, const word_buf *w, size_t start, size_t n,
                             size_t *end_out)
{
    size_t skip = start > 0 ? tok->prefix_len : 0;
    size_t room = tok->max_token_bytes > skip ? tok->max_token_bytes - skip : 0;
    const char *prefix = start > 0 ? tok->vocab.prefix : "";
    const char *s = w->bytes + w->char_off[start];
    uint32_t hashes[WP_MAX_WORD_CHARS + 1];
    uint32_t h = fnv1a(FNV_BASIS, prefix, skip);
    size_t end = start;
    while (end < n && (size_t)(w->char_off[end + 1] - w->char_off[start]) <= room) {
        h = fnv1a(h, w->bytes + w->char_off[end], (size_t)(w->char_off[end + 1] - w->char_off[end]));
        end++;
        hashes[end - start] = h;
    }
    for (; end > start; end--) {
        size_t len = (size_t)(w->char_off[end] - w->char_off[start]);
        int32_t id = lookup_hashed(tok, hashes[end - start], prefix, skip, s, len);
        if (id >= 0) {
            *end_out = end;
            return id;
        }
    }
    return -1;
}

/* Greedy longest-match-first over the buffered word, then resets it. A word past the
 * character limit, or one with a rest no piece matches, is a single [UNK]. */
static void word_flush(const hr_wordpiece *tok, word_buf *w, id_sink *out)
{
    size_t n = w->nchars;
    w->nchars = 0;
    if (n == 0)
        return;
    if (n > tok->vocab.max_chars_per_word) {
        sink_put(out, tok->vocab.unk_id);
        return;
    }
    int32_t pieces[WP_MAX_WORD_CHARS];
    size_t npieces = 0;
    for (size_t start = 0, end = 0; start < n; start = end) {
        int32_t id = longest_piece(tok, w, start, n, &end);
        if (id < 0) {
            sink_put(out, tok->vocab.unk_id);
            return;
        }
        pieces[npieces++] = id;
    }
    for (size_t i = 0; i < npieces; i++)
        sink_put(out, pieces[i]);
}

/* Special token spelled literally at text[0..len)? Returns its byte length (0 if none). */
static size_t match_special(const hr_wordpiece *tok, const char *text, size_t len, int32_t *id)
{
    if (text[0] != '[')
        return 0;
    for (int i = 0; i < WP_N_SPECIALS; i++) {
        if (tok->special_ids[i] < 0)
            continue;
        size_t slen;
        const char *s = token_at(&tok->vocab, (uint32_t)tok->special_ids[i], &slen);
        if (slen > 0 && slen <= len && memcmp(text, s, slen) == 0) {
            *id = tok->special_ids[i];
            return slen;
        }
    }
    return 0;
}

/* Feeds one raw code point through clean_text, CJK isolation, folding and the
 * whitespace/punctuation split. */
static void feed(const hr_wordpiece *tok, word_buf *w, id_sink *out, uint32_t cp)
{
    uint32_t max_chars = tok->vocab.max_chars_per_word;
    uint32_t cls = cp < 0x80 ? ascii_class(cp) : char_class(cp);
    bool clean = tok->vocab.flags & HR_TOKF_CLEAN_TEXT;
    if (clean && (cp == 0 || cp == 0xFFFD || cls == HR_WP_DROP))
        return;
    if (cls == HR_WP_MARK)
        return;
    if (cls == HR_WP_SPACE) {
        word_flush(tok, w, out);
        return;
    }
    if (cp < 0x80) { /* ASCII: the common case, without table searches */
        if (cls == HR_WP_PUNCT) {
            word_flush(tok, w, out);
            word_append(w, cp, max_chars);
            word_flush(tok, w, out);
        } else {
            word_append(w, cp >= 'A' && cp <= 'Z' ? cp + 32 : cp, max_chars);
        }
        return;
    }
    uint32_t f[HR_WP_FOLD_MAX];
    int nf = fold(cp, f);
    bool alone = (tok->vocab.flags & HR_TOKF_CHINESE_CHARS) && is_cjk(cp);
    if (alone)
        word_flush(tok, w, out);
    for (int i = 0; i < nf; i++) {
        uint32_t fc = char_class(f[i]);
        if (fc == HR_WP_SPACE) {
            word_flush(tok, w, out);
        } else if (fc == HR_WP_PUNCT) {
            word_flush(tok, w, out);
            word_append(w, f[i], max_chars);
            word_flush(tok, w, out);
        } else if (fc != HR_WP_MARK && fc != HR_WP_DROP) {
            word_append(w, f[i], max_chars);
        }
    }
    if (alone)
        word_flush(tok, w, out);
}

int hr_wordpiece_encode(const hr_wordpiece *tok, const char *text, size_t len, int32_t *ids,
                        size_t max_ids, size_t *n_out, int *truncated)
{
    if (!tok || (!text && len) || !ids || !n_out || max_ids < 2)
        return -1;
    word_buf w;
    w.nchars = 0;
    w.char_off[0] = 0;
    id_sink out = {ids, max_ids - 1, 0, false};
    sink_put(&out, tok->vocab.cls_id);
    size_t i = 0;
    while (i < len && !out.truncated) {
        int32_t special;
        size_t slen = match_special(tok, text + i, len - i, &special);
        if (slen) {
            word_flush(tok, &w, &out);
            sink_put(&out, special);
            i += slen;
            continue;
        }
        size_t used;
        uint32_t cp = utf8_next((const uint8_t *)text + i, len - i, &used);
        feed(tok, &w, &out, cp);
        i += used;
    }
    word_flush(tok, &w, &out);
    ids[out.n++] = tok->vocab.sep_id;
    *n_out = out.n;
    if (truncated)
        *truncated = out.truncated;
    return 0;
}

/* ---- vocab.txt ------------------------------------------------------------------------ */

static int32_t find_line_token(const uint32_t *offsets, const char *blob, uint32_t n,
                               const char *name)
{
    size_t nlen = strlen(name);
    for (uint32_t i = 0; i < n; i++) {
        if (offsets[i + 1] - offsets[i] == nlen && memcmp(blob + offsets[i], name, nlen) == 0)
            return (int32_t)i;
    }
    return -1;
}

static size_t count_lines(const char *txt, size_t len)
{
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += txt[i] == '\n';
    if (len > 0 && txt[len - 1] != '\n')
        lines++; /* last line without newline */
    return lines;
}

/* Copies the lines of txt (without "\n" or "\r\n") back to back into blob, recording where
 * each starts; offsets gets one more entry (the end). Returns the number of lines. */
static uint32_t split_lines(const char *txt, size_t len, uint32_t *offsets, char *blob)
{
    uint32_t n = 0;
    size_t at = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && txt[i] != '\n')
            continue;
        if (i == len && start == len)
            break; /* nothing after the final newline */
        size_t end = i;
        if (end > start && txt[end - 1] == '\r')
            end--;
        offsets[n++] = (uint32_t)at;
        memcpy(blob + at, txt + start, end - start);
        at += end - start;
        start = i + 1;
    }
    offsets[n] = (uint32_t)at;
    return n;
}

int hr_wordpiece_vocab_from_txt(const char *txt, size_t len, hr_model_vocab *out, void **owned,
                                hr_ml_error *err)
{
    *owned = NULL;
    if (len >= UINT32_MAX) {
        hr_ml_error_set(err, "vocab.txt: too large");
        return -1;
    }
    size_t lines = count_lines(txt, len);
    if (lines == 0) {
        hr_ml_error_set(err, "vocab.txt: empty");
        return -1;
    }
    /* One allocation: offsets, then the strings. */
    uint32_t *offsets = malloc((lines + 1) * sizeof *offsets + len + 1);
    if (!offsets) {
        hr_ml_error_set(err, "vocab.txt: out of memory");
        return -1;
    }
    char *blob = (char *)(offsets + lines + 1);
    memset(out, 0, sizeof *out);
    out->kind = HR_TOK_WORDPIECE;
    out->flags = HR_TOKF_LOWERCASE | HR_TOKF_STRIP_ACCENTS | HR_TOKF_CHINESE_CHARS |
                 HR_TOKF_CLEAN_TEXT;
    out->n_tokens = split_lines(txt, len, offsets, blob);
    out->offsets = offsets;
    out->blob = blob;
    out->max_chars_per_word = 100;
    memcpy(out->prefix, "##", 3);
    out->unk_id = find_line_token(offsets, blob, out->n_tokens, "[UNK]");
    out->cls_id = find_line_token(offsets, blob, out->n_tokens, "[CLS]");
    out->sep_id = find_line_token(offsets, blob, out->n_tokens, "[SEP]");
    out->pad_id = find_line_token(offsets, blob, out->n_tokens, "[PAD]");
    out->mask_id = find_line_token(offsets, blob, out->n_tokens, "[MASK]");
    if (out->unk_id < 0 || out->cls_id < 0 || out->sep_id < 0) {
        hr_ml_error_set(err, "vocab.txt: [UNK], [CLS] or [SEP] missing");
        free(offsets);
        return -1;
    }
    *owned = offsets;
    return 0;
}
