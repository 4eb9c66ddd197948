/* import_bpe.c: tokenizer.json -> the byte-level BPE fields of the model file (format
 * version 2; see import_internal.h and docs/model-format.md).
 *
 * Merges come in two spellings depending on the tokenizers version that saved the file:
 * "a b" strings (older) and ["a", "b"] pairs (0.20+). Both name tokens by their
 * byte-mapped strings; each merge is stored as the ids (left, right, left+right), so the
 * C tokenizer never concatenates strings. A merge whose parts or result are not in the
 * vocabulary is an error, as in HF tokenizers (MergeTokenOutOfVocabulary).
 */
#include "ml/import_internal.h"

#include "sys/hash.h"

#include <stdlib.h>
#include <string.h>

/* A throwaway string -> id index over tokens[0..n) for the import (open addressing). */
typedef struct {
    char *const *tokens;
    uint32_t *slots; /* id + 1; 0 empty */
    uint32_t mask;
} tok_index;

static int index_build(tok_index *ix, char *const *tokens, uint32_t n)
{
    uint32_t size = 16;
    while (size < 2 * n)
        size <<= 1;
    ix->tokens = tokens;
    ix->mask = size - 1;
    if (!(ix->slots = calloc(size, sizeof *ix->slots)))
        return -1;
    for (uint32_t id = 0; id < n; id++) {
        uint32_t i = (uint32_t)hr_hash64(tokens[id], strlen(tokens[id])) & ix->mask;
        while (ix->slots[i])
            i = (i + 1) & ix->mask;
        ix->slots[i] = id + 1; /* duplicates: the lower id is found first, like a map */
    }
    return 0;
}

static int64_t index_find(const tok_index *ix, const char *s, size_t len)
{
    for (uint32_t i = (uint32_t)hr_hash64(s, len) & ix->mask; ix->slots[i]; i = (i + 1) & ix->mask) {
        const char *t = ix->tokens[ix->slots[i] - 1];
        if (strlen(t) == len && memcmp(t, s, len) == 0)
            return ix->slots[i] - 1;
    }
    return -1;
}

/* Left and right parts of merge node m, either "a b" or ["a", "b"], into a and b. */
static int merge_parts(const hr_json_doc *d, uint32_t m, hr_buf *a, hr_buf *b)
{
    const hr_json_node *nd = hr_json_at(d, m);
    if (nd && nd->type == HR_JSON_ARRAY && nd->count == 2)
        return hr_json_string(d, hr_json_index(d, m, 0), a) || hr_json_string(d, hr_json_index(d, m, 1), b)
                   ? -1 : 0;
    if (!nd || nd->type != HR_JSON_STRING || hr_json_string(d, m, a) != 0 || !a->data)
        return -1;
    char *sp = memchr(a->data, ' ', a->len);
    if (!sp || memchr(sp + 1, ' ', a->len - (size_t)(sp + 1 - a->data)))
        return -1; /* HF requires exactly one space */
    size_t left = (size_t)(sp - a->data);
    if (hr_buf_append(b, sp + 1, a->len - left - 1) != 0)
        return -1;
    a->len = left;
    return 0;
}

static int read_merges(const hr_json_doc *d, uint32_t merges, const tok_index *ix,
                       hr_model_vocab *meta, uint32_t **owned, hr_ml_error *err)
{
    const hr_json_node *mn = hr_json_at(d, merges);
    if (!mn || mn->type != HR_JSON_ARRAY || mn->count == 0) {
        hr_ml_error_set(err, "tokenizer.json: BPE model without a merges list");
        return -1;
    }
    uint32_t *out = malloc((size_t)mn->count * 3 * sizeof *out);
    if (!(*owned = out)) {
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    uint32_t i = 0;
    hr_buf a = HR_BUF_INIT, b = HR_BUF_INIT;
    for (uint32_t m = mn->first_child; m != HR_JSON_NONE; m = d->nodes[m].next, i++) {
        hr_buf_reset(&a);
        hr_buf_reset(&b);
        int64_t l = -1, r = -1, j = -1;
        if (merge_parts(d, m, &a, &b) == 0 && a.len && b.len) {
            l = index_find(ix, a.data, a.len);
            r = index_find(ix, b.data, b.len);
            if (hr_buf_append(&a, b.data, b.len) == 0)
                j = index_find(ix, a.data, a.len);
        }
        if (l < 0 || r < 0 || j < 0) {
            hr_ml_error_set(err, "tokenizer.json: merge %u is malformed or names a token "
                                 "outside the vocabulary", i);
            hr_buf_free(&a);
            hr_buf_free(&b);
            return -1;
        }
        out[3 * i] = (uint32_t)l;
        out[3 * i + 1] = (uint32_t)r;
        out[3 * i + 2] = (uint32_t)j;
    }
    hr_buf_free(&a);
    hr_buf_free(&b);
    meta->merges = out;
    meta->n_merges = i;
    return 0;
}

/* tokens[id] = content when they differ (see import_internal.h). */
static int use_added_text(const hr_json_doc *d, uint32_t t, char **tokens, int64_t id)
{
    hr_buf b = HR_BUF_INIT;
    if (hr_json_string(d, hr_json_get(d, t, "content"), &b) != 0 || !b.data || !b.len) {
        hr_buf_free(&b);
        return -1;
    }
    if (strcmp(tokens[id], b.data) != 0) {
        free(tokens[id]);
        tokens[id] = hr_buf_steal(&b, NULL);
    }
    hr_buf_free(&b);
    return 0;
}

static int read_added(const hr_json_doc *d, char **tokens, hr_model_vocab *meta, uint32_t **owned,
                      hr_ml_error *err)
{
    static const struct {
        const char *key;
        uint32_t flag;
    } opts[] = {{"special", HR_ADDF_SPECIAL},   {"normalized", HR_ADDF_NORMALIZED},
                {"lstrip", HR_ADDF_LSTRIP},     {"rstrip", HR_ADDF_RSTRIP},
                {"single_word", HR_ADDF_SINGLE_WORD}};
    uint32_t added = hr_json_get(d, 0, "added_tokens");
    const hr_json_node *an = hr_json_at(d, added);
    uint32_t n = an && an->type == HR_JSON_ARRAY ? an->count : 0;
    uint32_t *out = malloc(((size_t)n * 2 + 1) * sizeof *out);
    if (!(*owned = out)) {
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t t = hr_json_index(d, added, i);
        int64_t id;
        if (hr_json_int64(d, hr_json_get(d, t, "id"), &id) != 0 || id < 0 || id >= meta->n_tokens ||
            use_added_text(d, t, tokens, id) != 0) {
            hr_ml_error_set(err, "tokenizer.json: added token %u has no valid id or content", i);
            return -1;
        }
        uint32_t flags = 0;
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
            if (hr_json_is_true(d, hr_json_get(d, t, opts[k].key)))
                flags |= opts[k].flag;
        /* HF's default for "normalized" is !special when the key is absent */
        if (hr_json_get(d, t, "normalized") == HR_JSON_NONE && !(flags & HR_ADDF_SPECIAL))
            flags |= HR_ADDF_NORMALIZED;
        out[2 * i] = (uint32_t)id;
        out[2 * i + 1] = flags;
    }
    meta->added = out;
    meta->n_added = n;
    return 0;
}

static int is_null(const hr_json_doc *d, uint32_t n)
{
    return n == HR_JSON_NONE || d->nodes[n].type == HR_JSON_NULL;
}

/* Model and pre-tokenizer options the C tokenizer implements; anything else is refused. */
static int read_options(const hr_json_doc *d, uint32_t model, hr_model_vocab *meta, hr_ml_error *err)
{
    uint32_t pre = hr_json_get(d, 0, "pre_tokenizer");
    const char *bad = NULL;
    if (!is_null(d, hr_json_get(d, 0, "normalizer")))
        bad = "a normalizer";
    else if (!hr_json_string_eq(d, hr_json_get(d, pre, "type"), "ByteLevel"))
        bad = "a pre_tokenizer other than ByteLevel";
    else if (!is_null(d, hr_json_get(d, model, "dropout")))
        bad = "BPE dropout";
    else if (hr_json_is_true(d, hr_json_get(d, model, "byte_fallback")))
        bad = "byte_fallback";
    for (int k = 0; !bad && k < 2; k++) {
        static const char *const keys[] = {"continuing_subword_prefix", "end_of_word_suffix"};
        uint32_t n = hr_json_get(d, model, keys[k]);
        if (!is_null(d, n) && !hr_json_string_eq(d, n, ""))
            bad = keys[k];
    }
    if (bad) {
        hr_ml_error_set(err, "tokenizer.json: byte-level BPE with %s is not supported", bad);
        return -1;
    }
    meta->bpe_flags = 0;
    if (hr_json_is_true(d, hr_json_get(d, pre, "add_prefix_space")))
        meta->bpe_flags |= HR_BPEF_ADD_PREFIX_SPACE;
    uint32_t re = hr_json_get(d, pre, "use_regex");
    if (re != HR_JSON_NONE && !hr_json_is_true(d, re))
        meta->bpe_flags |= HR_BPEF_NO_REGEX;
    if (hr_json_is_true(d, hr_json_get(d, model, "ignore_merges")))
        meta->bpe_flags |= HR_BPEF_IGNORE_MERGES;
    return 0;
}

/* Id of a TemplateProcessing piece {"SpecialToken": {"id": name}} via special_tokens. */
static int64_t template_special(const hr_json_doc *d, uint32_t post, uint32_t piece,
                                const tok_index *ix)
{
    uint32_t st = hr_json_get(d, piece, "SpecialToken");
    hr_buf name = HR_BUF_INIT;
    int64_t id = -1;
    if (st != HR_JSON_NONE && hr_json_string(d, hr_json_get(d, st, "id"), &name) == 0 && name.data) {
        uint32_t spec = hr_json_get(d, hr_json_get(d, post, "special_tokens"), name.data);
        uint32_t ids = hr_json_get(d, spec, "ids");
        const hr_json_node *in = hr_json_at(d, ids);
        if (in && in->type == HR_JSON_ARRAY && in->count == 1)
            hr_json_int64(d, hr_json_index(d, ids, 0), &id);
        else
            id = index_find(ix, name.data, name.len);
    }
    hr_buf_free(&name);
    return id;
}

/* The single-sequence template must be [X] $A [Y] (TemplateProcessing) or BERT/RoBERTa
 * processing: X and Y become cls_id and sep_id. */
static int read_template(const hr_json_doc *d, const tok_index *ix, hr_model_vocab *meta,
                         hr_ml_error *err)
{
    uint32_t post = hr_json_get(d, 0, "post_processor");
    int64_t cls = -1, sep = -1;
    if (hr_json_string_eq(d, hr_json_get(d, post, "type"), "TemplateProcessing")) {
        uint32_t single = hr_json_get(d, post, "single");
        const hr_json_node *sn = hr_json_at(d, single);
        if (sn && sn->type == HR_JSON_ARRAY && sn->count == 3 &&
            hr_json_get(d, hr_json_index(d, single, 1), "Sequence") != HR_JSON_NONE) {
            cls = template_special(d, post, hr_json_index(d, single, 0), ix);
            sep = template_special(d, post, hr_json_index(d, single, 2), ix);
        }
    } else if (hr_json_string_eq(d, hr_json_get(d, post, "type"), "BertProcessing") ||
               hr_json_string_eq(d, hr_json_get(d, post, "type"), "RobertaProcessing")) {
        hr_json_int64(d, hr_json_index(d, hr_json_get(d, post, "cls"), 1), &cls);
        hr_json_int64(d, hr_json_index(d, hr_json_get(d, post, "sep"), 1), &sep);
    }
    if (cls < 0 || sep < 0 || cls >= meta->n_tokens || sep >= meta->n_tokens) {
        hr_ml_error_set(err, "tokenizer.json: post_processor must be the template "
                             "\"[CLS] $A [SEP]\" (a special token, the sequence, a special token)");
        return -1;
    }
    meta->cls_id = (int32_t)cls;
    meta->sep_id = (int32_t)sep;
    return 0;
}

int hr_import_bpe(const hr_json_doc *d, char **tokens, uint32_t n, hr_model_vocab *meta,
                  uint32_t **owned_merges, uint32_t **owned_added, hr_ml_error *err)
{
    *owned_merges = *owned_added = NULL;
    meta->n_tokens = n;
    uint32_t model = hr_json_get(d, 0, "model");
    tok_index ix;
    if (index_build(&ix, tokens, n) != 0) {
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    int rc = read_options(d, model, meta, err) ||
                     read_merges(d, hr_json_get(d, model, "merges"), &ix, meta, owned_merges, err) ||
                     read_template(d, &ix, meta, err) ||
                     read_added(d, tokens, meta, owned_added, err) /* last: edits tokens */
                 ? -1 : 0;
    free(ix.slots);
    return rc;
}
