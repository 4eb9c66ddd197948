/* The BERT encoder (src/ml/encoder.c) on a generated model (tools/gen_model.py, imported
 * at test time), against the independent float64 NumPy forward pass tools/ref_bert.py:
 *   - embeddings (cosine >= 0.999) and every token's last hidden state (>= 0.999) for
 *     sequences of 2 .. 256 tokens, on every kernel set the CPU has (scalar, AVX2,
 *     AVX-512 VNNI);
 *   - deterministic: the same input gives the same bytes, serial or with a 2-thread pool;
 *   - all activations inside the caller's scratch: an exact-size heap block (ASan sees
 *     any overrun), an unaligned base, and too-small scratch refused;
 *   - invalid input refused: no tokens, more than max_seq, ids outside the vocabulary;
 *   - a model file without the encoder's tensors, or with one of the wrong shape or
 *     dtype, fails to open with a message naming the tensor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "json/json.h"
#include "ml/encoder.h"
#include "ml/import.h"
#include "ml/kernels.h"
#include "ml/pool.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_SEQ 5
static const int k_lens[N_SEQ] = {2, 3, 17, 64, 256};

static char g_dir[512], g_model[600];
static int32_t *g_ids[N_SEQ];
static float *g_ref_emb[N_SEQ], *g_ref_hidden[N_SEQ];
static hr_model *g_m;

/* Deterministic ids: [CLS] random pieces [SEP] (LCG, no libc rand state). */
static void make_ids(int32_t *ids, int n, uint32_t vocab, unsigned seed)
{
    uint32_t s = seed * 2654435761u + 12345u;
    ids[0] = 101;
    for (int i = 1; i < n - 1; i++) {
        s = s * 1664525u + 1013904223u;
        ids[i] = (int32_t)(104 + (s >> 8) % (vocab - 104));
    }
    ids[n - 1] = 102;
}

static float *json_floats(const hr_json_doc *d, uint32_t arr, size_t *n)
{
    const hr_json_node *a = hr_json_at(d, arr);
    if (!a || a->type != HR_JSON_ARRAY)
        return NULL;
    float *v = malloc((a->count + 1) * sizeof *v);
    size_t i = 0;
    for (uint32_t c = a->first_child; c != HR_JSON_NONE; c = d->nodes[c].next) {
        double x;
        if (hr_json_double(d, c, &x) != 0) {
            free(v);
            return NULL;
        }
        v[i++] = (float)x;
    }
    *n = i;
    return v;
}

/* Runs tools/ref_bert.py over all sequences and keeps embeddings and hidden states. */
static int run_reference(const char *py, const char *sdir, const char *model_dir, int hidden)
{
    char in_path[700], out_path[700], cmd[2400];
    snprintf(in_path, sizeof in_path, "%s/ids.jsonl", g_dir);
    snprintf(out_path, sizeof out_path, "%s/ref.jsonl", g_dir);
    FILE *f = fopen(in_path, "w");
    if (!f)
        return -1;
    for (int s = 0; s < N_SEQ; s++) {
        fputc('[', f);
        for (int i = 0; i < k_lens[s]; i++)
            fprintf(f, i ? ",%d" : "%d", g_ids[s][i]);
        fputs("]\n", f);
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' '%s/tools/ref_bert.py' --model '%s' --hidden < '%s' > '%s'", py,
             sdir, model_dir, in_path, out_path);
    if (system(cmd) != 0)
        return -1;
    f = fopen(out_path, "r");
    if (!f)
        return -1;
    static char line[1 << 24];
    for (int s = 0; s < N_SEQ; s++) {
        if (!fgets(line, sizeof line, f))
            break;
        hr_json_doc d;
        hr_json_error je;
        hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
        if (hr_json_parse(&d, line, strlen(line), &lim, &je) != 0)
            break;
        size_t n;
        g_ref_emb[s] = json_floats(&d, hr_json_get(&d, 0, "embedding"), &n);
        uint32_t hid = hr_json_get(&d, 0, "hidden");
        g_ref_hidden[s] = malloc((size_t)k_lens[s] * hidden * sizeof(float));
        uint32_t row = hr_json_at(&d, hid) ? d.nodes[hid].first_child : HR_JSON_NONE;
        for (int i = 0; i < k_lens[s] && row != HR_JSON_NONE; i++, row = d.nodes[row].next) {
            float *r = json_floats(&d, row, &n);
            if (r && n == (size_t)hidden)
                memcpy(g_ref_hidden[s] + (size_t)i * hidden, r, n * sizeof *r);
            free(r);
        }
        hr_json_doc_free(&d);
    }
    fclose(f);
    for (int s = 0; s < N_SEQ; s++)
        if (!g_ref_emb[s] || !g_ref_hidden[s])
            return -1;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    const char *bdir = getenv("HEADROOM_BUILD_DIR"), *sdir = getenv("HEADROOM_SOURCE_DIR");
    const char *py = getenv("HEADROOM_PYTHON") ? getenv("HEADROOM_PYTHON") : "/usr/bin/python3";
    if (!bdir || !sdir) {
        fprintf(stderr, "test_ml_encoder: run through ctest (HEADROOM_BUILD_DIR, HEADROOM_SOURCE_DIR)\n");
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "%s/ml-test-encoder", bdir);
    snprintf(g_model, sizeof g_model, "%s/tiny-s11.hrm", g_dir);
    char cmd[2048], model_dir[600];
    snprintf(model_dir, sizeof model_dir, "%s/tiny-s11", g_dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && '%s' '%s/tools/gen_model.py' --arch bert --size tiny "
                              "--seed 11 --out '%s' >/dev/null",
             g_dir, py, sdir, model_dir);
    if (system(cmd) != 0)
        return -1;
    hr_ml_error err;
    if (hr_model_import(model_dir, g_model, NULL, &err) != 0 ||
        hr_model_open(g_model, HR_MODEL_OPEN_VERIFY, &g_m, &err) != 0) {
        fprintf(stderr, "test_ml_encoder: %s\n", err.msg);
        return -1;
    }
    const hr_model_config *c = hr_model_config_of(g_m);
    for (int s = 0; s < N_SEQ; s++) {
        g_ids[s] = malloc((size_t)k_lens[s] * sizeof(int32_t));
        make_ids(g_ids[s], k_lens[s], c->vocab_size, (unsigned)s + 1);
    }
    return run_reference(py, sdir, model_dir, (int)c->hidden);
}

static int teardown(void **state)
{
    (void)state;
    for (int s = 0; s < N_SEQ; s++) {
        free(g_ids[s]);
        free(g_ref_emb[s]);
        free(g_ref_hidden[s]);
    }
    hr_model_close(g_m);
    return 0;
}

static double cosine(const float *a, const float *b, size_t n)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / (sqrt(aa) * sqrt(bb) + 1e-300);
}

/* Embeds sequence s into out with an exact-size scratch block. */
static void embed_exact(int s, float *out)
{
    size_t bytes = hr_encoder_scratch_bytes(g_m, k_lens[s]);
    void *scratch = malloc(bytes);
    assert_non_null(scratch);
    assert_int_equal(hr_encoder_embed(g_m, g_ids[s], k_lens[s], scratch, bytes, out), 0);
    free(scratch);
}

static void test_matches_numpy_reference(void **state)
{
    (void)state;
    const int H = hr_model_dim(g_m);
    hr_isa isas[3] = {HR_ISA_AVX512VNNI, HR_ISA_AVX2, HR_ISA_SCALAR};
    float *emb = malloc((size_t)H * sizeof *emb);
    for (int i = 0; i < 3; i++) {
        hr_isa got = hr_kernels_select(isas[i]);
        if (got != isas[i]) /* not on this CPU */
            continue;
        for (int s = 0; s < N_SEQ; s++) {
            embed_exact(s, emb);
            double c = cosine(emb, g_ref_emb[s], (size_t)H);
            print_message("%-8s %3d tokens: embedding cosine %.6f\n", hr_isa_name(got), k_lens[s], c);
            if (c < 0.999)
                fail_msg("%d tokens on %s: embedding cosine %.6f", k_lens[s], hr_isa_name(got), c);
            /* unit length */
            assert_true(fabs(cosine(emb, emb, (size_t)H) - 1.0) < 1e-6);
            double norm = 0;
            for (int d = 0; d < H; d++)
                norm += (double)emb[d] * emb[d];
            assert_true(fabs(norm - 1.0) < 1e-4);

            size_t bytes = hr_encoder_scratch_bytes(g_m, k_lens[s]);
            void *scratch = malloc(bytes);
            const float *hidden;
            assert_int_equal(hr_encoder_forward(g_m, g_ids[s], k_lens[s], scratch, bytes, &hidden), 0);
            for (int t = 0; t < k_lens[s]; t++) {
                double ct = cosine(hidden + (size_t)t * H, g_ref_hidden[s] + (size_t)t * H, (size_t)H);
                if (ct < 0.999)
                    fail_msg("%d tokens: token %d hidden cosine %.6f", k_lens[s], t, ct);
            }
            free(scratch);
        }
    }
    hr_kernels_select(HR_ISA_AUTO);
    free(emb);
}

static void test_deterministic_across_threads(void **state)
{
    (void)state;
    const int H = hr_model_dim(g_m);
    float *a = malloc((size_t)H * sizeof *a), *b = malloc((size_t)H * sizeof *b);
    float *c = malloc((size_t)H * sizeof *c);
    embed_exact(4, a);
    embed_exact(4, b);
    assert_memory_equal(a, b, (size_t)H * sizeof *a);
    assert_int_equal(hr_ml_pool_acquire(2), 0);
    embed_exact(4, c);
    hr_ml_pool_release();
    assert_memory_equal(a, c, (size_t)H * sizeof *a);
    /* different inputs give different vectors */
    embed_exact(3, b);
    assert_true(cosine(a, b, (size_t)H) < 0.999);
    free(a), free(b), free(c);
}

static void test_scratch_contract(void **state)
{
    (void)state;
    const int H = hr_model_dim(g_m);
    float *ref = malloc((size_t)H * sizeof *ref), *out = malloc((size_t)H * sizeof *out);
    embed_exact(2, ref);
    /* an unaligned base works: the size includes the alignment slack */
    size_t bytes = hr_encoder_scratch_bytes(g_m, k_lens[2]);
    uint8_t *block = malloc(bytes + 1);
    assert_int_equal(hr_encoder_embed(g_m, g_ids[2], k_lens[2], block + 1, bytes, out), 0);
    assert_memory_equal(ref, out, (size_t)H * sizeof *ref);
    /* too small is refused, not overrun */
    assert_int_equal(hr_encoder_embed(g_m, g_ids[2], k_lens[2], block, bytes / 2, out), -1);
    free(block);
    /* scratch sized for max_seq serves every shorter input; larger requests clamp */
    const hr_model_config *c = hr_model_config_of(g_m);
    assert_true(hr_encoder_scratch_bytes(g_m, 0) == hr_encoder_scratch_bytes(g_m, (int)c->max_seq));
    assert_true(hr_encoder_scratch_bytes(g_m, 100000) == hr_encoder_scratch_bytes(g_m, (int)c->max_seq));
    assert_true(hr_encoder_scratch_bytes(g_m, 8) < hr_encoder_scratch_bytes(g_m, 256));
    free(ref), free(out);
}

static void test_invalid_input(void **state)
{
    (void)state;
    const hr_model_config *c = hr_model_config_of(g_m);
    size_t bytes = hr_encoder_scratch_bytes(g_m, 0);
    void *scratch = malloc(bytes);
    float out[1024];
    int32_t ids[300];
    make_ids(ids, 300, c->vocab_size, 9);
    assert_int_equal(hr_encoder_embed(g_m, ids, 0, scratch, bytes, out), -1);
    assert_int_equal(hr_encoder_embed(g_m, ids, (int)c->max_seq + 1, scratch, bytes, out), -1);
    assert_int_equal(hr_encoder_embed(g_m, NULL, 3, scratch, bytes, out), -1);
    ids[1] = -1;
    assert_int_equal(hr_encoder_embed(g_m, ids, 3, scratch, bytes, out), -1);
    ids[1] = (int32_t)c->vocab_size;
    assert_int_equal(hr_encoder_embed(g_m, ids, 3, scratch, bytes, out), -1);
    ids[1] = (int32_t)c->vocab_size - 1;
    assert_int_equal(hr_encoder_embed(g_m, ids, 3, scratch, bytes, out), 0);
    /* an embedding model has no Kompress heads */
    assert_int_equal(hr_encoder_token_scores(g_m, ids, 3, scratch, bytes, out), -1);
    free(scratch);
}

static void test_incomplete_model_refused(void **state)
{
    (void)state;
    hr_model_config cfg = *hr_model_config_of(g_m);
    hr_model_writer *w = hr_model_writer_new(&cfg);
    const hr_model_file *f = hr_model_file_of(g_m);
    /* same tokenizer, but only the word embedding */
    const char **tokens = calloc(f->vocab.n_tokens, sizeof *tokens);
    char *strings = calloc(f->vocab.offsets[f->vocab.n_tokens] + f->vocab.n_tokens, 1);
    size_t pos = 0;
    for (uint32_t i = 0; i < f->vocab.n_tokens; i++) {
        size_t l = f->vocab.offsets[i + 1] - f->vocab.offsets[i];
        memcpy(strings + pos, f->vocab.blob + f->vocab.offsets[i], l);
        tokens[i] = strings + pos;
        pos += l + 1;
    }
    assert_int_equal(hr_model_writer_set_vocab(w, &f->vocab, tokens, f->vocab.n_tokens), 0);
    float *emb = calloc((size_t)cfg.vocab_size * cfg.hidden, sizeof *emb);
    uint32_t shape[2] = {cfg.vocab_size, cfg.hidden};
    hr_ml_error err;
    assert_int_equal(hr_model_writer_add(w, "emb.word", HR_DT_F16, 2, shape, emb, &err), 0);
    char path[700];
    snprintf(path, sizeof path, "%s/incomplete.hrm", g_dir);
    assert_int_equal(hr_model_writer_write(w, path, &err), 0);
    hr_model *m = NULL;
    assert_int_equal(hr_model_open(path, HR_MODEL_OPEN_VERIFY, &m, &err), -1);
    assert_null(m);
    assert_non_null(strstr(err.msg, "lacks tensor 'emb.pos'"));
    hr_model_writer_free(w);
    free(emb), free(tokens), free(strings);
}

/* Rewrites the test model with one tensor's shape or dtype changed: binding must refuse
 * it with a message naming the tensor, never read past it. */
static void write_variant(const char *path, const char *victim, int change_dtype)
{
    const hr_model_file *f = hr_model_file_of(g_m);
    hr_model_config cfg = *hr_model_config_of(g_m);
    hr_model_writer *w = hr_model_writer_new(&cfg);
    const char **tokens = calloc(f->vocab.n_tokens, sizeof *tokens);
    char *strings = calloc(f->vocab.offsets[f->vocab.n_tokens] + f->vocab.n_tokens, 1);
    size_t pos = 0;
    for (uint32_t i = 0; i < f->vocab.n_tokens; i++) {
        size_t l = f->vocab.offsets[i + 1] - f->vocab.offsets[i];
        memcpy(strings + pos, f->vocab.blob + f->vocab.offsets[i], l);
        tokens[i] = strings + pos;
        pos += l + 1;
    }
    assert_int_equal(hr_model_writer_set_vocab(w, &f->vocab, tokens, f->vocab.n_tokens), 0);
    hr_ml_error err;
    for (uint32_t i = 0; i < f->n_tensors; i++) {
        hr_tensor t;
        assert_int_equal(hr_model_tensor_at(f, i, &t), 0);
        float *v = malloc(t.count * sizeof *v);
        for (size_t e = 0; e < t.count; e++) /* back to fp32 from any stored dtype */
            v[e] = t.dtype == HR_DT_F32   ? ((const float *)t.data)[e]
                   : t.dtype == HR_DT_F16 ? hr_f16_to_f32(((const uint16_t *)t.data)[e])
                                          : ((const int8_t *)t.data)[e] * t.scales[e / t.shape[1]];
        uint32_t shape[4] = {t.shape[0], t.shape[1], t.shape[2], t.shape[3]}, ndim = t.ndim;
        uint32_t dtype = t.dtype;
        if (!strcmp(t.name, victim)) {
            if (change_dtype)
                dtype = dtype == HR_DT_I8 ? HR_DT_F32 : HR_DT_F16;
            else if (ndim == 2)
                shape[0] = t.shape[1], shape[1] = t.shape[0]; /* transposed */
            else
                ndim = 2, shape[0] = 1, shape[1] = t.shape[0];
        }
        assert_int_equal(hr_model_writer_add(w, t.name, dtype, ndim, shape, v, &err), 0);
        free(v);
    }
    assert_int_equal(hr_model_writer_write(w, path, &err), 0);
    hr_model_writer_free(w);
    free(tokens), free(strings);
}

static void test_wrong_shapes_refused(void **state)
{
    (void)state;
    static const struct {
        const char *tensor;
        int change_dtype;
    } cases[] = {{"layer.1.mlp.up.w", 0},  {"layer.0.attn.qkv.w", 1}, {"layer.1.attn.norm.b", 0},
                 {"emb.pos", 0},           {"emb.word", 0},           {"layer.0.mlp.down.b", 1}};
    char path[700];
    snprintf(path, sizeof path, "%s/variant.hrm", g_dir);
    /* control: the same rewrite with nothing changed opens */
    write_variant(path, "", 0);
    hr_model *m = NULL;
    hr_ml_error err;
    assert_int_equal(hr_model_open(path, HR_MODEL_OPEN_VERIFY, &m, &err), 0);
    hr_model_close(m);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        write_variant(path, cases[c].tensor, cases[c].change_dtype);
        m = NULL;
        err.msg[0] = '\0';
        if (hr_model_open(path, HR_MODEL_OPEN_VERIFY, &m, &err) != -1)
            fail_msg("%s: a wrong tensor was accepted", cases[c].tensor);
        assert_null(m);
        if (!strstr(err.msg, cases[c].tensor))
            fail_msg("%s: message '%s' does not name it", cases[c].tensor, err.msg);
    }
}

/* ModernBERT (pre-norm, RoPE, GeGLU, global + sliding-window layers) on a generated tiny
 * model, against tools/ref_modernbert.py: every token's last hidden state >= 0.999 and
 * every Kompress score within 0.02 end to end and 2e-3 from the reference hidden state, on
 * sequences shorter and much longer than the local window. */
static void test_modernbert_matches_reference(void **state)
{
    (void)state;
    const char *sdir = getenv("HEADROOM_SOURCE_DIR");
    const char *py = getenv("HEADROOM_PYTHON") ? getenv("HEADROOM_PYTHON") : "/usr/bin/python3";
    char dir[700], model[760], ids_path[760], out_path[760], cmd[3200];
    snprintf(dir, sizeof dir, "%s/mb-tiny-s3", g_dir);
    snprintf(model, sizeof model, "%s.hrm", dir);
    snprintf(cmd, sizeof cmd, "'%s' '%s/tools/gen_model.py' --arch modernbert --size tiny --seed 3 "
                              "--out '%s' >/dev/null", py, sdir, dir);
    assert_int_equal(system(cmd), 0);
    hr_ml_error err;
    if (hr_model_import(dir, model, NULL, &err) != 0)
        fail_msg("import: %s", err.msg);
    hr_model *m;
    if (hr_model_open(model, HR_MODEL_OPEN_VERIFY, &m, &err) != 0)
        fail_msg("open: %s", err.msg);
    const hr_model_config *c = hr_model_config_of(m);
    assert_int_equal(c->arch, HR_ARCH_MODERNBERT);
    assert_true(c->local_window > 0 && c->global_every > 1);
    enum { N_MB = 3 };
    const int lens[N_MB] = {5, 3 * 16 + 7, 130};
    int32_t *ids[N_MB];
    snprintf(ids_path, sizeof ids_path, "%s/mb-ids.jsonl", g_dir);
    snprintf(out_path, sizeof out_path, "%s/mb-ref.jsonl", g_dir);
    FILE *f = fopen(ids_path, "w");
    assert_non_null(f);
    for (int s = 0; s < N_MB; s++) {
        ids[s] = malloc((size_t)lens[s] * sizeof(int32_t));
        uint32_t r = 77u + (uint32_t)s;
        for (int i = 0; i < lens[s]; i++) {
            r = r * 1664525u + 1013904223u;
            ids[s][i] = (int32_t)((r >> 8) % c->vocab_size);
        }
        fputc('[', f);
        for (int i = 0; i < lens[s]; i++)
            fprintf(f, i ? ",%d" : "%d", ids[s][i]);
        fputs("]\n", f);
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' '%s/tools/ref_modernbert.py' --model '%s' --hidden < '%s' > '%s'",
             py, sdir, dir, ids_path, out_path);
    assert_int_equal(system(cmd), 0);
    f = fopen(out_path, "r");
    assert_non_null(f);
    static char line[1 << 22];
    const int H = (int)c->hidden;
    size_t bytes = hr_encoder_scratch_bytes(m, 0);
    void *scratch = malloc(bytes);
    double worst = 1.0, worst_score = 0.0, worst_head = 0.0;
    for (int s = 0; s < N_MB; s++) {
        assert_non_null(fgets(line, sizeof line, f));
        hr_json_doc d;
        hr_json_error je;
        hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
        assert_int_equal(hr_json_parse(&d, line, strlen(line), &lim, &je), 0);
        const float *hidden;
        assert_int_equal(hr_encoder_forward(m, ids[s], lens[s], scratch, bytes, &hidden), 0);
        uint32_t row = d.nodes[hr_json_get(&d, 0, "hidden")].first_child;
        float *ref_hidden = malloc((size_t)lens[s] * H * sizeof *ref_hidden);
        for (int i = 0; i < lens[s]; i++, row = d.nodes[row].next) {
            size_t n;
            float *ref = json_floats(&d, row, &n);
            assert_int_equal(n, (size_t)H);
            double cs = cosine(hidden + (size_t)i * H, ref, (size_t)H);
            worst = cs < worst ? cs : worst;
            if (cs < 0.999)
                fail_msg("%d tokens: token %d hidden cosine %.6f", lens[s], i, cs);
            memcpy(ref_hidden + (size_t)i * H, ref, (size_t)H * sizeof *ref);
            free(ref);
        }
        /* Kompress scores. End to end they carry the encoder's int8 noise (a hidden-state
         * cosine of 0.9996 moves a score near 0.5 by up to ~0.01); on the reference hidden
         * state the heads alone must agree to 2e-3 (int8 conv taps only). */
        size_t ns;
        float *ref_scores = json_floats(&d, hr_json_get(&d, 0, "final_scores"), &ns);
        float *scores = malloc((size_t)lens[s] * sizeof *scores);
        float *head_only = malloc((size_t)lens[s] * sizeof *head_only);
        assert_int_equal(ns, (size_t)lens[s]);
        assert_int_equal(hr_encoder_token_scores(m, ids[s], lens[s], scratch, bytes, scores), 0);
        assert_int_equal(hr_encoder_head_scores(m, ref_hidden, lens[s], scratch, bytes, head_only), 0);
        for (int i = 0; i < lens[s]; i++) {
            double diff = fabs((double)scores[i] - ref_scores[i]);
            double hdiff = fabs((double)head_only[i] - ref_scores[i]);
            worst_score = diff > worst_score ? diff : worst_score;
            worst_head = hdiff > worst_head ? hdiff : worst_head;
            if (diff > 0.02 || hdiff > 2e-3 || !(scores[i] >= 0.0f && scores[i] <= 1.0f))
                fail_msg("%d tokens: token %d score %.5f (heads alone %.5f), reference %.5f",
                         lens[s], i, scores[i], head_only[i], ref_scores[i]);
        }
        free(scores);
        free(head_only);
        free(ref_hidden);
        free(ref_scores);
        hr_json_doc_free(&d);
        free(ids[s]);
    }
    print_message("modernbert: worst token cosine %.6f, worst score |diff| %.5f end to end, "
                  "%.5f heads alone\n", worst, worst_score, worst_head);
    fclose(f);
    /* a token-level model has no sentence vector */
    float out[128];
    int32_t two[2] = {1, 2};
    assert_int_equal(hr_encoder_embed(m, two, 2, scratch, bytes, out), -1);
    free(scratch);
    hr_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_numpy_reference),
        cmocka_unit_test(test_deterministic_across_threads),
        cmocka_unit_test(test_scratch_contract),
        cmocka_unit_test(test_invalid_input),
        cmocka_unit_test(test_incomplete_model_refused),
        cmocka_unit_test(test_wrong_shapes_refused),
        cmocka_unit_test(test_modernbert_matches_reference),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
