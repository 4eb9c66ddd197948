/* kompress.c: the Kompress compressor (kompress.h): words and must-keeps, chunks scored
 * through the "kompress" ML session, the keep rule, and lines written back.
 *
 * Flow of one section: split into words -> chunks of at most 350 words and max_seq - 2
 * tokens, each scored in one session call (tokenize the chunk's words into the scratch,
 * encoder + heads, max over each word's tokens) -> keep rule per chunk -> render the kept
 * words into the input's lines -> marker. The deadline is checked before each chunk, so a
 * section never holds a request past it by more than one chunk.
 */
#include "compress/kompress.h"

#include "compress/compressors.h"
#include "compress/text.h"
#include "json/json.h"
#include "ml/encoder.h"
#include "sys/ascii.h"
#include "sys/clock.h"
#include "sys/log.h"

#if defined(__has_include)
#if __has_include("ml/bytebpe.h")
#include "ml/bytebpe.h"
#include "sys/vec.h"
#define HR_KOMPRESS_HAVE_BYTEBPE 1
#endif
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- words and must-keeps ------------------------------------------------------------ */

/* Words that carry the outcome of what a tool did, and negations (dropping "not" inverts
 * a sentence). Prefixes: "fail" covers failed, failure, failing. */
static const char *const k_error_prefixes[] = {
    "error", "fail", "fatal", "exception", "panic", "warn", "denied", "refuse", "timeout",
    "invalid", "abort", "crash", "traceback", "segfault", "critical", "unable", "missing",
    "reject", "forbidden", "unauthori", "deprecat", "violat", "corrupt", "overflow", "leak",
};
static const char *const k_error_words[] = {
    "not", "no", "never", "cannot", "can't", "won't", "don't", "doesn't", "isn't", "didn't",
    "wasn't", "aren't", "none", "nothing", "without", "killed", "broken", "timed",
};

static int lower_equal(const char *w, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (m != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (hr_to_lower((unsigned char)w[i]) != lit[i])
            return 0;
    return 1;
}

static int lower_prefix(const char *w, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return m <= n && lower_equal(w, m, lit);
}

static int is_error_word(const char *w, size_t n)
{
    for (size_t i = 0; i < sizeof k_error_prefixes / sizeof *k_error_prefixes; i++)
        if (lower_prefix(w, n, k_error_prefixes[i]))
            return 1;
    for (size_t i = 0; i < sizeof k_error_words / sizeof *k_error_words; i++)
        if (lower_equal(w, n, k_error_words[i]))
            return 1;
    return 0;
}

/* The word without the punctuation prose wraps it in ("(see foo.c)," -> "see foo.c"). */
static void word_core(const char **w, size_t *n)
{
    static const char lead[] = "([{<\"'`*", trail[] = ")]}>,.;:!?\"'`*";
    while (*n && strchr(lead, (*w)[0]))
        (*w)++, (*n)--;
    while (*n && strchr(trail, (*w)[*n - 1]))
        (*n)--;
}

static int has_inner(const char *w, size_t n, char c)
{
    for (size_t i = 1; i + 1 < n; i++)
        if (w[i] == c && hr_is_alnum((unsigned char)w[i - 1]) && hr_is_alnum((unsigned char)w[i + 1]))
            return 1;
    return 0;
}

/* Identifiers, paths, numbers and machine text: the words a reader needs verbatim. */
static int is_technical(const char *w, size_t n)
{
    int upper = 0, lower = 0, camel = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (hr_is_digit(c) || c == '/' || c == '\\' || c == '=' || c == '(' || c == '@' ||
            c == '#' || c == '$' || c == '%' || c == '<' || c == '>' || c == '|')
            return 1;
        if (c == ':' && i + 1 < n && (w[i + 1] == ':' || w[i + 1] == '/'))
            return 1; /* a::b, scheme:// */
        if (c == '-' && i + 1 < n && w[i + 1] == '>')
            return 1;
        camel |= i > 0 && hr_is_upper(c) && hr_is_lower((unsigned char)w[i - 1]);
        upper += hr_is_upper(c) != 0;
        lower += hr_is_lower(c) != 0;
    }
    if (camel || (upper >= 2 && lower == 0))
        return 1; /* CamelCase, ALLCAPS */
    if (n >= 2 && w[0] == '-' && (hr_is_alpha((unsigned char)w[1]) || w[1] == '-'))
        return 1; /* --flag, -f */
    return w[0] == '~' || has_inner(w, n, '.') || has_inner(w, n, '_');
}

int hr_kompress_must_keep(const char *w, size_t n)
{
    if (memchr(w, '"', n) || memchr(w, '`', n) || (n >= 2 && w[0] == '\'' && w[n - 1] == '\''))
        return 1; /* a quoted string, or part of one */
    const char *c = w;
    size_t m = n;
    word_core(&c, &m);
    if (m == 0)
        return 0; /* punctuation alone */
    return is_technical(c, m) || is_error_word(c, m) || (n >= 2 && w[0] == '-' && is_technical(w, n));
}

void hr_kwords_free(hr_kwords *w)
{
    free(w->v);
    w->v = NULL;
    w->n = 0;
}

static size_t count_char(const char *w, size_t n, char q)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += w[i] == q;
    return k;
}

/* Quoted strings: a word opening a quote ("..., '..., `...) and every word up to the one
 * closing it on the same line are kept; so is any word with a double quote or backtick. */
static void mark_quotes(const char *in, hr_kwords *ws)
{
    char open = 0;
    uint32_t line = 0;
    for (size_t i = 0; i < ws->n; i++) {
        hr_kword *k = &ws->v[i];
        const char *w = in + k->start;
        if (k->line != line)
            open = 0, line = k->line; /* an unbalanced quote ends with its line */
        if (open) {
            k->must = 1;
            if (count_char(w, k->len, open) % 2)
                open = 0;
            continue;
        }
        if (memchr(w, '"', k->len) || memchr(w, '`', k->len))
            k->must = 1;
        char q = w[0];
        if (q == '"' || q == '`' || q == '\'') {
            k->must = 1;
            if (count_char(w, k->len, q) % 2)
                open = q;
        }
    }
}

int hr_kompress_split(const char *in, size_t len, hr_kwords *out)
{
    out->v = NULL;
    out->n = 0;
    size_t cap = 0;
    uint32_t line = 0;
    for (size_t i = 0; i < len;) {
        if (hr_is_space((unsigned char)in[i])) {
            line += in[i++] == '\n';
            continue;
        }
        size_t s = i;
        while (i < len && !hr_is_space((unsigned char)in[i]))
            i++;
        if (HR_VEC_RESERVE(out->v, cap, out->n + 1) != 0) {
            hr_kwords_free(out);
            return -1;
        }
        out->v[out->n++] = (hr_kword){s, i - s, line, (uint8_t)hr_kompress_must_keep(in + s, i - s)};
    }
    mark_quotes(in, out);
    return 0;
}

/* ---- rendering ------------------------------------------------------------------------ */

static int is_blank_byte(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

/* One line in[a..next): its words from *wi on; appends what survives. */
static int render_line(const char *in, size_t a, size_t next, const hr_kwords *w,
                       const uint8_t *keep, size_t *wi, hr_buf *out)
{
    size_t term = next; /* the terminator: "\n" or "\r\n" (none on a last line without) */
    if (term > a && in[term - 1] == '\n') {
        term--;
        if (term > a && in[term - 1] == '\r')
            term--;
    }
    size_t ind = a;
    while (ind < term && (in[ind] == ' ' || in[ind] == '\t'))
        ind++;
    int any_word = 0, emitted = 0, rc = 0;
    for (; *wi < w->n && w->v[*wi].start < next; (*wi)++) {
        const hr_kword *k = &w->v[*wi];
        any_word = 1;
        if (!keep[*wi])
            continue;
        size_t s = k->start;
        while (s > ind && is_blank_byte(in[s - 1]))
            s--;
        rc |= emitted ? hr_buf_append(out, in + s, k->start - s) : hr_buf_append(out, in + a, ind - a);
        rc |= hr_buf_append(out, in + k->start, k->len);
        emitted = 1;
    }
    if (emitted || !any_word)
        rc |= hr_buf_append(out, in + term, next - term);
    return rc ? -1 : 0;
}

int hr_kompress_render(const char *in, size_t len, const hr_kwords *w, const uint8_t *keep,
                       hr_buf *out)
{
    size_t wi = 0;
    for (size_t a = 0; a < len;) {
        const char *nl = memchr(in + a, '\n', len - a);
        size_t next = nl ? (size_t)(nl - in) + 1 : len;
        if (render_line(in, a, next, w, keep, &wi, out) != 0)
            return -1;
        a = next;
    }
    return 0;
}

/* ---- the tokenizer seam ---------------------------------------------------------------- */

#ifdef HR_KOMPRESS_HAVE_BYTEBPE
static int bpe_make(const hr_model_vocab *v, void **tok, hr_ml_error *err)
{
    hr_bytebpe *t = NULL;
    if (hr_bytebpe_new(v, &t, err) != 0)
        return -1;
    *tok = t;
    return 0;
}
static void bpe_free(void *tok) { hr_bytebpe_free(tok); }
static int bpe_word(const void *tok, const char *w, size_t len, int first, int32_t *ids, size_t cap)
{
    return hr_bytebpe_encode_word(tok, w, len, first, ids, cap);
}
static const hr_kompress_tok k_bytebpe = {"bytebpe", bpe_make, bpe_free, bpe_word};
const hr_kompress_tok *hr_kompress_default_tok(void) { return &k_bytebpe; }
#else
const hr_kompress_tok *hr_kompress_default_tok(void) { return NULL; }
#endif

/* ---- the session kind ------------------------------------------------------------------ */

/* The loaded model; the tokenizer is made by the first chunk after a load (it needs the
 * ops of the instance, which the kind's open does not get) and freed at unload. */
typedef struct kompress_model {
    hr_model *model;
    const hr_kompress_tok *ops;
    void *tok;
} kompress_model;

static int kind_open(const char *path, void **out, hr_ml_error *err)
{
    kompress_model *h = calloc(1, sizeof *h);
    if (!h) {
        hr_ml_error_set(err, "kompress: out of memory");
        return -1;
    }
    if (hr_model_open(path, 0, &h->model, err) != 0) {
        free(h);
        return -1;
    }
    const hr_model_file *mf = hr_model_file_of(h->model);
    if (mf->config.arch != HR_ARCH_MODERNBERT || mf->vocab.kind != HR_TOK_BPE) {
        hr_ml_error_set(err, "kompress: %s is not a ModernBERT model with a byte-level BPE vocab", path);
        hr_model_close(h->model);
        free(h);
        return -1;
    }
    *out = h;
    return 0;
}

static void kind_close(void *p)
{
    kompress_model *h = p;
    if (h->tok)
        h->ops->free(h->tok); /* borrows the mapping's strings: free before unmapping */
    hr_model_close(h->model);
    free(h);
}

static size_t kind_mapped(const void *p) { return hr_model_mapped_bytes(((const kompress_model *)p)->model); }

static int kind_max_seq(const void *p)
{
    return (int)hr_model_config_of(((const kompress_model *)p)->model)->max_seq;
}

/* Scratch: [ids][token -> word][token scores] (max_seq each, 64-byte sections), then the
 * encoder's activations. */
static size_t area_bytes(int max_seq) { return ((size_t)max_seq * 4 + 63) / 64 * 64; }

static size_t kind_scratch(const void *p, int max_seq)
{
    return 3 * area_bytes(max_seq) + hr_encoder_scratch_bytes(((const kompress_model *)p)->model, max_seq) + 64;
}

static const hr_ml_kind k_kind = {"kompress", kind_open, kind_close, kind_mapped, kind_max_seq, kind_scratch};

/* ---- scoring one chunk ----------------------------------------------------------------- */

struct hr_kompress {
    hr_kompress_config cfg;
    char *path;
    hr_ml_session *s;
    pthread_mutex_t mu; /* guards stats (chunk_ms included) */
    hr_kompress_stats st;
};

typedef struct chunk_job {
    const hr_kompress_tok *ops;
    const char *in;
    const hr_kword *words;
    size_t n, from;   /* score words from..; consumed receives how many were */
    float *scores;    /* per word of the whole section */
    size_t consumed;
} chunk_job;

/* Tokenizes words from j->from on into ids[1..] until the chunk is full (350 words or
 * max_tokens), recording each token's word. A first word longer than the whole chunk is
 * taken truncated (still scored); a later word that does not fit starts the next chunk.
 * Returns the token count (without [CLS]/[SEP]) or -1. */
static int fill_chunk(const kompress_model *h, chunk_job *j, int32_t *ids, int32_t *owner,
                      int max_tokens)
{
    int n = 0;
    size_t w = j->from;
    for (; w < j->n && w - j->from < HR_KOMPRESS_CHUNK_WORDS; w++) {
        const hr_kword *k = &j->words[w];
        int room = max_tokens - n;
        int need = h->ops->encode_word(h->tok, j->in + k->start, k->len, w == j->from,
                                       ids + 1 + n, (size_t)room);
        if (need < 0)
            return -1;
        if (need > room && w > j->from)
            break;
        int take = need < room ? need : room;
        for (int t = 0; t < take; t++)
            owner[n + t] = (int32_t)(w - j->from);
        n += take;
        if (n == max_tokens) {
            w++;
            break;
        }
    }
    j->consumed = w - j->from;
    return n;
}

static int chunk_work(const hr_ml_loaded *l, void *arg, hr_ml_error *err)
{
    chunk_job *j = arg;
    kompress_model *h = l->model;
    if (!h->tok) {
        const hr_model_file *mf = hr_model_file_of(h->model);
        if (j->ops->make(&mf->vocab, &h->tok, err) != 0)
            return -1;
        h->ops = j->ops;
    }
    size_t a = area_bytes(l->max_seq);
    int32_t *ids = l->scratch;
    int32_t *owner = (int32_t *)((uint8_t *)l->scratch + a);
    float *ts = (float *)((uint8_t *)l->scratch + 2 * a);
    uint8_t *act = (uint8_t *)l->scratch + 3 * a;
    const hr_model_vocab *v = &hr_model_file_of(h->model)->vocab;
    int n = fill_chunk(h, j, ids, owner, l->max_seq - 2);
    if (n < 0) {
        hr_ml_error_set(err, "kompress: tokenizer failed on word %zu", j->from);
        return -1;
    }
    ids[0] = v->cls_id;
    ids[n + 1] = v->sep_id;
    if (hr_encoder_token_scores(h->model, ids, n + 2, act, l->scratch_bytes - 3 * a, ts) != 0) {
        hr_ml_error_set(err, "kompress: the model has no Kompress heads or rejected %d tokens", n + 2);
        return -1;
    }
    for (size_t w = 0; w < j->consumed; w++)
        j->scores[j->from + w] = 0.0f; /* a word with no token (cannot happen) scores 0 */
    for (int t = 0; t < n; t++) {
        float *s = &j->scores[j->from + (size_t)owner[t]];
        if (ts[t + 1] > *s)
            *s = ts[t + 1];
    }
    return 0;
}

typedef struct ids_job {
    const int32_t *ids;
    int n;
    float *scores;
} ids_job;

static int ids_work(const hr_ml_loaded *l, void *arg, hr_ml_error *err)
{
    ids_job *j = arg;
    const kompress_model *h = l->model;
    size_t a = area_bytes(l->max_seq);
    if (j->n < 1 || j->n > l->max_seq ||
        hr_encoder_token_scores(h->model, j->ids, j->n, (uint8_t *)l->scratch + 3 * a,
                                l->scratch_bytes - 3 * a, j->scores) != 0) {
        hr_ml_error_set(err, "kompress: %d ids rejected (1..%d, ids in the vocabulary)", j->n, l->max_seq);
        return -1;
    }
    return 0;
}

/* ---- the instance ----------------------------------------------------------------------- */

void hr_kompress_config_init(hr_kompress_config *c, const char *model_path)
{
    memset(c, 0, sizeof *c);
    c->model_path = model_path;
    c->min_bytes = HR_KOMPRESS_MIN_BYTES;
    c->idle_unload_ms = HR_ML_FROM_ENV;
    c->queue_ms = HR_ML_FROM_ENV;
}

hr_kompress *hr_kompress_open(const hr_kompress_config *c, hr_ml_error *err)
{
    if (!c || !c->model_path || !*c->model_path || c->ratio < 0 || c->ratio >= 1) {
        hr_ml_error_set(err, "kompress: a model path and a ratio in [0, 1) are required");
        return NULL;
    }
    hr_kompress *k = calloc(1, sizeof *k);
    if (!k || !(k->path = strdup(c->model_path))) {
        free(k);
        hr_ml_error_set(err, "kompress: out of memory");
        return NULL;
    }
    k->cfg = *c;
    k->cfg.model_path = k->path;
    if (!k->cfg.tok)
        k->cfg.tok = hr_kompress_default_tok();
    hr_ml_session_config sc;
    hr_ml_session_config_init(&sc, "kompress", &k_kind, k->path);
    sc.idle_unload_ms = c->idle_unload_ms;
    sc.queue_ms = c->queue_ms;
    if (!(k->s = hr_ml_session_open(&sc, err))) {
        free(k->path);
        free(k);
        return NULL;
    }
    pthread_mutex_init(&k->mu, NULL);
    return k;
}

void hr_kompress_close(hr_kompress *k)
{
    if (!k)
        return;
    hr_ml_session_close(k->s);
    pthread_mutex_destroy(&k->mu);
    free(k->path);
    free(k);
}

const char *hr_kompress_model_path(const hr_kompress *k) { return k ? k->path : NULL; }
hr_ml_session *hr_kompress_session(hr_kompress *k) { return k ? k->s : NULL; }

int hr_kompress_wants(const hr_kompress *k, int is_code, size_t len)
{
    return k && len >= k->cfg.min_bytes && (!is_code || k->cfg.code);
}

void hr_kompress_stats_get(hr_kompress *k, hr_kompress_stats *out)
{
    pthread_mutex_lock(&k->mu);
    *out = k->st;
    pthread_mutex_unlock(&k->mu);
}

int hr_kompress_stats_json(hr_kompress *k, hr_buf *out)
{
    hr_kompress_stats s;
    hr_kompress_stats_get(k, &s);
    int rc = hr_buf_puts(out, "{\"model\":");
    rc |= hr_json_write_string(out, k->path, strlen(k->path));
    rc |= hr_buf_printf(out, ",\"tokenizer\":\"%s\",\"calls\":%llu,\"compressed\":%llu,\"passed\":%llu,"
                             "\"failed_open\":%llu,\"errors\":%llu,\"busy\":%llu,\"deadline\":%llu,"
                             "\"words_in\":%llu,\"words_kept\":%llu,\"chunks\":%llu,\"chunk_ms\":%.1f,"
                             "\"last_error\":",
                        k->cfg.tok ? k->cfg.tok->name : "none", (unsigned long long)s.calls,
                        (unsigned long long)s.compressed, (unsigned long long)s.passed,
                        (unsigned long long)s.failed_open, (unsigned long long)s.errors,
                        (unsigned long long)s.busy, (unsigned long long)s.deadline,
                        (unsigned long long)s.words_in, (unsigned long long)s.words_kept,
                        (unsigned long long)s.chunks, s.chunk_ms);
    rc |= hr_json_write_string(out, s.last_error, strlen(s.last_error));
    rc |= hr_buf_puts(out, ",\"session\":");
    rc |= hr_ml_session_status_json(k->s, out);
    return rc | hr_buf_putc(out, '}') ? -1 : 0;
}

typedef enum { SCORED = 0, FAIL_ERROR, FAIL_BUSY, FAIL_DEADLINE } score_outcome;

/* Ratio rule on one chunk: keep the top max(1, n * ratio) words by score (ties: earlier
 * word first, so the choice is deterministic). */
static void keep_top(const float *scores, size_t from, size_t n, double ratio, uint8_t *keep)
{
    size_t want = (size_t)((double)n * ratio);
    if (want < 1)
        want = 1;
    for (size_t i = 0; i < n; i++) {
        size_t better = 0;
        for (size_t j = 0; j < n && better < want; j++)
            better += scores[from + j] > scores[from + i] || (scores[from + j] == scores[from + i] && j < i);
        keep[from + i] = better < want;
    }
}

/* The mean time of a chunk so far (0 before the first), and an update with one more. */
static double chunk_ms(hr_kompress *k)
{
    pthread_mutex_lock(&k->mu);
    double v = k->st.chunk_ms;
    pthread_mutex_unlock(&k->mu);
    return v;
}

static void note_chunk_ms(hr_kompress *k, double ms)
{
    pthread_mutex_lock(&k->mu);
    k->st.chunk_ms = k->st.chunk_ms > 0 ? 0.8 * k->st.chunk_ms + 0.2 * ms : ms;
    pthread_mutex_unlock(&k->mu);
}

/* 1 if `chunks` more chunks at the usual speed still end before the deadline. A section
 * that cannot finish is given up before its first chunk (or before the chunk that would
 * cross the deadline), not after spending the request's time on it: the result would be
 * forwarded unchanged either way. */
static int fits(hr_kompress *k, size_t chunks, double deadline_ms)
{
    return deadline_ms <= 0 || hr_now_ms() + (double)chunks * chunk_ms(k) < deadline_ms;
}

/* Scores every word chunk by chunk; with keep, applies the keep rule per chunk. */
static score_outcome score_all(hr_kompress *k, const char *in, const hr_kwords *w, float *scores,
                               uint8_t *keep, double deadline_ms, uint64_t *chunks, hr_ml_error *err)
{
    if (!k->cfg.tok) {
        hr_ml_error_set(err, "kompress: no byte-level BPE tokenizer in this build");
        return FAIL_ERROR;
    }
    /* at least this many chunks: a chunk holds at most 350 words */
    if (!fits(k, (w->n + HR_KOMPRESS_CHUNK_WORDS - 1) / HR_KOMPRESS_CHUNK_WORDS, deadline_ms))
        return FAIL_DEADLINE;
    for (size_t from = 0; from < w->n;) {
        if (!fits(k, 1, deadline_ms))
            return FAIL_DEADLINE;
        chunk_job j = {k->cfg.tok, in, w->v, w->n, from, scores, 0};
        double t0 = hr_now_ms();
        hr_ml_rc rc = hr_ml_session_run(k->s, chunk_work, &j, err);
        if (rc == HR_ML_BUSY)
            return FAIL_BUSY;
        if (rc != HR_ML_OK)
            return FAIL_ERROR;
        note_chunk_ms(k, hr_now_ms() - t0);
        (*chunks)++;
        if (keep && k->cfg.ratio > 0)
            keep_top(scores, from, j.consumed, k->cfg.ratio, keep);
        else if (keep)
            for (size_t i = from; i < from + j.consumed; i++)
                keep[i] = scores[i] > 0.5f;
        from += j.consumed;
    }
    return SCORED;
}

hr_ml_rc hr_kompress_score_ids(hr_kompress *k, const int32_t *ids, int n, float *scores,
                               hr_ml_error *err)
{
    ids_job j = {ids, n, scores};
    return hr_ml_session_run(k->s, ids_work, &j, err);
}

hr_ml_rc hr_kompress_score_words(hr_kompress *k, const char *in, size_t len, float *scores,
                                 size_t cap, size_t *n_words, hr_ml_error *err)
{
    hr_kwords w;
    if (hr_kompress_split(in, len, &w) != 0) {
        hr_ml_error_set(err, "kompress: out of memory");
        return HR_ML_ERROR;
    }
    *n_words = w.n;
    hr_ml_rc rc = HR_ML_OK;
    if (scores && w.n > cap) {
        hr_ml_error_set(err, "kompress: %zu words, room for %zu", w.n, cap);
        rc = HR_ML_ERROR;
    } else if (scores) {
        uint64_t chunks = 0;
        score_outcome o = score_all(k, in, &w, scores, NULL, 0, &chunks, err);
        rc = o == SCORED ? HR_ML_OK : o == FAIL_BUSY ? HR_ML_BUSY : HR_ML_ERROR;
        pthread_mutex_lock(&k->mu);
        k->st.chunks += chunks;
        pthread_mutex_unlock(&k->mu);
    }
    hr_kwords_free(&w);
    return rc;
}

/* Records one call's outcome; an error's message is logged when it differs from the last. */
static void account(hr_kompress *k, score_outcome o, int compressed, const hr_kwords *w,
                    size_t kept, uint64_t chunks, const hr_ml_error *err)
{
    int log_it = 0;
    pthread_mutex_lock(&k->mu);
    hr_kompress_stats *s = &k->st;
    s->calls++;
    s->chunks += chunks;
    s->failed_open += o != SCORED;
    s->errors += o == FAIL_ERROR;
    s->busy += o == FAIL_BUSY;
    s->deadline += o == FAIL_DEADLINE;
    if (o == FAIL_ERROR && strcmp(s->last_error, err->msg) != 0) {
        snprintf(s->last_error, sizeof s->last_error, "%s", err->msg);
        log_it = 1;
    }
    if (o == SCORED && compressed) {
        s->compressed++;
        s->words_in += w->n;
        s->words_kept += kept;
    } else if (o == SCORED) {
        s->passed++;
    }
    pthread_mutex_unlock(&k->mu);
    if (log_it)
        hr_logf(HR_LOG_WARN, "kompress failed open: %s", err->msg);
}

/* Scores, applies the rules and renders; fills res when it saves bytes. */
static int compress_words(hr_kompress *k, const char *in, size_t len, const hr_kwords *w,
                          double deadline_ms, hr_compress_result *res)
{
    float *scores = malloc(w->n * sizeof *scores);
    uint8_t *keep = malloc(w->n);
    if (!scores || !keep) {
        free(scores);
        free(keep);
        return -1;
    }
    hr_ml_error err = {{0}};
    uint64_t chunks = 0;
    score_outcome o = score_all(k, in, w, scores, keep, deadline_ms, &chunks, &err);
    size_t kept = 0;
    int rc = 0;
    if (o == SCORED) {
        for (size_t i = 0; i < w->n; i++)
            kept += (keep[i] |= w->v[i].must);
        if (kept < w->n && (rc = hr_kompress_render(in, len, w, keep, &res->out)) == 0)
            rc = hr_compress_finish(in, len, res, w->n, kept);
    }
    account(k, o, res->compressed, w, kept, chunks, &err);
    free(scores);
    free(keep);
    return rc;
}

int hr_kompress_compress(hr_kompress *k, const char *in, size_t len, double deadline_ms,
                         hr_compress_result *res)
{
    if (!hr_compress_begin(HR_COMPRESSOR_KOMPRESS, in, len, NULL, NULL, res) || !k)
        return 0;
    hr_kwords w;
    if (hr_kompress_split(in, len, &w) != 0)
        return -1;
    int rc = 0;
    if (w.n < HR_KOMPRESS_MIN_WORDS)
        account(k, SCORED, 0, &w, 0, 0, NULL);
    else
        rc = compress_words(k, in, len, &w, deadline_ms, res);
    hr_kwords_free(&w);
    return hr_compress_end(res, rc);
}

int hr_compress_kompress(const char *in, size_t len, const hr_compress_opts *opts,
                         hr_compress_result *res)
{
    return hr_kompress_compress(opts ? opts->kompress : NULL, in, len, opts ? opts->deadline_ms : 0, res);
}
