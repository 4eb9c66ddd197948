/* `headroom model import` on the published Kompress checkpoint layouts, generated at test
 * time by tools/gen_model.py --arch modernbert --layout hf|merged|peft (random weights, the
 * real shapes and the original's tensor names):
 *   - merged (encoder.* + token_head + span_conv.0/.2) imports to the same bytes as the HF
 *     layout of the same weights;
 *   - PEFT/LoRA (base_model.model.*, M.base_layer + M.lora_A/B.default, adapter_config.json):
 *     every merged fp32 weight equals NumPy's W + (alpha/r) B A written by the generator
 *     (--merged-out), the trained modules_to_save head wins over original_module, and the
 *     whole import equals the import of the NumPy-merged checkpoint;
 *   - an added token sharing its id with a vocabulary entry of another spelling (ModernBERT's
 *     space runs: raw "  " added, byte-mapped "ĠĠ" in the vocab) keeps the merge that makes
 *     the id and is matched by its raw text;
 *   - PEFT applied to the encoder only (encoder.base_model.model.*) imports to the same bytes;
 *   - clear errors: LoRA weights without adapter_config.json, an adapter config without
 *     LoRA weights, DoRA, a regex target_modules, targets matching nothing, a wrong rank,
 *     no safetensors at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ml_test_files.h"
#include "ml/bytebpe.h"
#include "ml/import.h"
#include "ml/import_internal.h"
#include "ml/model_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char g_dir[512];

static int run(const char *cmd)
{
    int rc = system(cmd);
    return rc == 0 ? 0 : -1;
}

static void gen(const char *layout, const char *extra)
{
    const char *sdir = getenv("HEADROOM_SOURCE_DIR"), *py = getenv("HEADROOM_PYTHON");
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' '%s/tools/gen_model.py' --arch modernbert --size tiny --seed 6 --layout %s "
             "--out '%s/%s' %s >/dev/null",
             py ? py : "/usr/bin/python3", sdir ? sdir : ".", layout, g_dir, layout, extra);
    assert_int_equal(run(cmd), 0);
}

static int setup(void **state)
{
    (void)state;
    const char *bdir = getenv("HEADROOM_BUILD_DIR");
    snprintf(g_dir, sizeof g_dir, "%s/ml-import-layouts", bdir ? bdir : ".");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", g_dir, g_dir);
    if (run(cmd))
        return -1;
    gen("hf", "");
    gen("merged", "");
    char extra[700];
    snprintf(extra, sizeof extra, "--merged-out '%s/numpy'", g_dir);
    gen("peft", extra);
    gen("peft-encoder", "");
    /* the NumPy merge is a merged-layout checkpoint: give it the same config and tokenizer */
    snprintf(cmd, sizeof cmd, "cp '%s/hf/config.json' '%s/hf/tokenizer.json' '%s/numpy/'", g_dir,
             g_dir, g_dir);
    return run(cmd);
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

static void import_ok(const char *name, char *out, size_t cap)
{
    char dir[700];
    path_of(dir, sizeof dir, name);
    snprintf(out, cap, "%s.hrm", dir);
    hr_ml_error err;
    if (hr_model_import(dir, out, NULL, &err) != 0)
        fail_msg("import %s: %s", name, err.msg);
}

static void test_merged_layout_equals_hf_layout(void **state)
{
    (void)state;
    char a[800], b[800];
    import_ok("hf", a, sizeof a);
    import_ok("merged", b, sizeof b);
    size_t la, lb;
    uint8_t *x = read_all(a, &la), *y = read_all(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(x, y, la); /* a pure renaming: same weights, same bytes */
    free(x);
    free(y);
}

/* Max |ours - numpy| over one tensor, and max |numpy - base| (the LoRA delta's size). */
static void compare_merge(hr_weight_src *peft, hr_safetensors *numpy, hr_weight_src *hf,
                          const char *logical, const char *stored)
{
    float *ours, *ref, *base;
    hr_st_info io, ir, ib;
    hr_ml_error err;
    assert_int_equal(hr_weight_read(peft, logical, &ours, &io, &err), 0);
    assert_int_equal(hr_safetensors_read_f32(numpy, stored, &ref, &ir, &err), 0);
    assert_int_equal(hr_weight_read(hf, logical, &base, &ib, &err), 0);
    assert_int_equal(io.count, ir.count);
    double diff = 0, delta = 0, mag = 0;
    for (size_t i = 0; i < io.count; i++) {
        diff = fmax(diff, fabs((double)ours[i] - ref[i]));
        delta = fmax(delta, fabs((double)ref[i] - base[i]));
        mag = fmax(mag, fabs((double)ref[i]));
    }
    if (diff > 1e-6 * mag || delta < 1e-3 * mag)
        fail_msg("%s: |ours - numpy| %.3g, LoRA delta %.3g, max |w| %.3g", logical, diff, delta, mag);
    free(ours);
    free(ref);
    free(base);
}

static void test_peft_merge_equals_numpy(void **state)
{
    (void)state;
    char dir[700], npath[800];
    hr_weight_src peft, hf;
    hr_safetensors *numpy;
    hr_ml_error err;
    path_of(dir, sizeof dir, "peft");
    assert_int_equal(hr_weight_src_open(dir, NULL, "embeddings.tok_embeddings.weight", &peft, &err), 0);
    assert_string_equal(peft.root, "base_model.model.");
    assert_string_equal(peft.enc, "encoder.");
    assert_int_equal(peft.r, 8);
    assert_true(fabs(peft.scale - 2.0) < 1e-12); /* lora_alpha 16 / r 8 */
    path_of(dir, sizeof dir, "hf");
    assert_int_equal(hr_weight_src_open(dir, NULL, "embeddings.tok_embeddings.weight", &hf, &err), 0);
    path_of(npath, sizeof npath, "numpy/model.safetensors");
    assert_int_equal(hr_safetensors_open(npath, &numpy, &err), 0);
    for (int l = 0; l < 4; l++) {
        static const char *const mods[] = {"attn.Wqkv", "attn.Wo", "mlp.Wi", "mlp.Wo"};
        for (int m = 0; m < 4; m++) {
            char logical[96], stored[128];
            snprintf(logical, sizeof logical, "layers.%d.%s.weight", l, mods[m]);
            snprintf(stored, sizeof stored, "encoder.%s", logical);
            compare_merge(&peft, numpy, &hf, logical, stored);
        }
    }
    assert_int_equal(peft.merged, 16);
    assert_int_equal(hr_weight_src_finish(&peft, &err), 0);
    /* the trained head (modules_to_save) is read, not original_module: equals the HF head */
    float *a, *b;
    hr_st_info ia, ib;
    assert_int_equal(hr_weight_read(&peft, "kompress.token_head.weight", &a, &ia, &err), 0);
    assert_int_equal(hr_weight_read(&hf, "kompress.token_head.weight", &b, &ib, &err), 0);
    assert_int_equal(ia.count, ib.count);
    assert_memory_equal(a, b, ia.count * sizeof *a);
    free(a);
    free(b);
    hr_safetensors_close(numpy);
    hr_weight_src_close(&peft);
    hr_weight_src_close(&hf);
}

/* PEFT wrapping only the encoder: same weights and deltas, so the same model file. */
static void test_peft_on_encoder_equals_peft_on_model(void **state)
{
    (void)state;
    char a[800], b[800];
    import_ok("peft", a, sizeof a);
    import_ok("peft-encoder", b, sizeof b);
    size_t la, lb;
    uint8_t *x = read_all(a, &la), *y = read_all(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(x, y, la);
    free(x);
    free(y);
}

static void test_peft_import_equals_numpy_import(void **state)
{
    (void)state;
    char a[800], b[800];
    import_ok("peft", a, sizeof a);
    import_ok("numpy", b, sizeof b);
    hr_model_file *x, *y;
    hr_ml_error err;
    assert_int_equal(hr_model_file_open(a, HR_MODEL_OPEN_VERIFY, &x, &err), 0);
    assert_int_equal(hr_model_file_open(b, HR_MODEL_OPEN_VERIFY, &y, &err), 0);
    assert_int_equal(x->n_tensors, y->n_tensors);
    size_t int8_total = 0, int8_off = 0;
    for (uint32_t i = 0; i < x->n_tensors; i++) {
        hr_tensor t, u;
        assert_int_equal(hr_model_tensor_at(x, i, &t), 0);
        assert_int_equal(hr_model_tensor(y, t.name, &u), 0);
        assert_int_equal(t.count, u.count);
        if (t.dtype != HR_DT_I8) {
            assert_memory_equal(t.data, u.data, t.count * hr_dtype_size(t.dtype));
            continue;
        }
        /* int8 rows: the same up to a last-bit difference of the double sums (other BLAS) */
        const int8_t *p = t.data, *q = u.data;
        for (size_t k = 0; k < t.count; k++) {
            assert_true(abs(p[k] - q[k]) <= 1);
            int8_off += p[k] != q[k];
        }
        int8_total += t.count;
        for (uint32_t r = 0; r < t.shape[0]; r++)
            assert_true(fabsf(t.scales[r] - u.scales[r]) <= 1e-6f * fabsf(u.scales[r]));
    }
    assert_true(int8_off * 1000 <= int8_total);
    hr_model_file_close(x);
    hr_model_file_close(y);
}

/* Imports dir `name` after writing adapter_config.json (NULL: delete it); expects failure
 * with `expect` in the message. */
static void expect_refused(const char *adapter, const char *expect)
{
    char dir[700], cmd[8192], out[800];
    path_of(dir, sizeof dir, "peft-edit");
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp '%s/peft/'*.json '%s/' && "
                              "ln -s '%s/peft/model.safetensors' '%s/model.safetensors'",
             dir, dir, g_dir, dir, g_dir, dir);
    assert_int_equal(run(cmd), 0);
    char path[800];
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    if (adapter) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(adapter, f);
        fclose(f);
    } else {
        remove(path);
    }
    snprintf(out, sizeof out, "%s.hrm", dir);
    remove(out);
    hr_ml_error err = {{0}};
    assert_int_equal(hr_model_import(dir, out, NULL, &err), -1);
    if (!strstr(err.msg, expect))
        fail_msg("expected '%s' in '%s'", expect, err.msg);
    FILE *f = fopen(out, "rb");
    assert_null(f);
}

static void test_bad_layouts_are_named(void **state)
{
    (void)state;
    expect_refused(NULL, "adapter_config.json (r, lora_alpha, target_modules) is missing");
    expect_refused("{\"r\": 8, \"lora_alpha\": 16, \"target_modules\": [\"Wqkv\"], \"use_dora\": true}",
                   "use_dora");
    expect_refused("{\"r\": 8, \"lora_alpha\": 16, \"target_modules\": \".*Wqkv\"}", "regex");
    expect_refused("{\"r\": 4, \"lora_alpha\": 16, \"target_modules\": [\"Wqkv\", \"Wo\", \"Wi\"]}",
                   "do not fit");
    expect_refused("{\"r\": 8, \"lora_alpha\": 16, \"target_modules\": [\"query\"]}",
                   "no weight the importer reads is a LoRA target");
    /* an adapter config beside a checkpoint without LoRA weights */
    char dir[700], cmd[8192], out[800];
    path_of(dir, sizeof dir, "merged");
    snprintf(cmd, sizeof cmd, "cp '%s/peft/adapter_config.json' '%s/'", g_dir, dir);
    assert_int_equal(run(cmd), 0);
    snprintf(out, sizeof out, "%s-x.hrm", dir);
    hr_ml_error err;
    assert_int_equal(hr_model_import(dir, out, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "holds no lora_A weights"));
    snprintf(cmd, sizeof cmd, "rm '%s/adapter_config.json' && mv '%s/model.safetensors' '%s/m.pt'",
             dir, dir, dir);
    assert_int_equal(run(cmd), 0);
    assert_int_equal(hr_model_import(dir, out, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "safetensors"));
    snprintf(cmd, sizeof cmd, "mv '%s/m.pt' '%s/model.safetensors'", dir, dir);
    assert_int_equal(run(cmd), 0);
}

static void test_added_token_sharing_a_vocab_id(void **state)
{
    (void)state;
    char dir[700], cmd[8192], out[800];
    path_of(dir, sizeof dir, "shared-id");
    const char *py = getenv("HEADROOM_PYTHON");
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && cp -r '%s/hf' '%s' && '%s' -c \"import json,sys; p=sys.argv[1]; "
             "t=json.load(open(p)); i=t['model']['vocab']['\\u0120\\u0120']; "
             "t['added_tokens'].append({'id': i, 'content': '  ', 'single_word': False, "
             "'lstrip': False, 'rstrip': False, 'normalized': True, 'special': False}); "
             "json.dump(t, open(p, 'w'))\" '%s/tokenizer.json'",
             dir, g_dir, dir, py ? py : "/usr/bin/python3", dir);
    assert_int_equal(run(cmd), 0);
    snprintf(out, sizeof out, "%s.hrm", dir);
    hr_ml_error err;
    if (hr_model_import(dir, out, NULL, &err) != 0)
        fail_msg("import: %s", err.msg);
    hr_model_file *mf;
    assert_int_equal(hr_model_file_open(out, HR_MODEL_OPEN_VERIFY, &mf, &err), 0);
    hr_bytebpe *t;
    assert_int_equal(hr_bytebpe_new(&mf->vocab, &t, &err), 0);
    int32_t id = hr_bytebpe_token_id(t, "  ", 2); /* the table holds the added text */
    assert_true(id >= 256);
    assert_int_equal(hr_bytebpe_token_id(t, "\xc4\xa0\xc4\xa0", 4), -1);
    int found = 0; /* the merge G+G still produces that id */
    int32_t g = hr_bytebpe_token_id(t, "\xc4\xa0", 2);
    for (uint32_t m = 0; m < mf->vocab.n_merges; m++)
        found |= (int32_t)mf->vocab.merges[3 * m] == g && (int32_t)mf->vocab.merges[3 * m + 1] == g &&
                 (int32_t)mf->vocab.merges[3 * m + 2] == id;
    assert_true(found);
    /* "a  b": the two spaces match the added token by their raw text */
    int32_t ids[8];
    size_t n;
    assert_int_equal(hr_bytebpe_encode(t, "a  b", 4, ids, 8, &n, NULL), 0);
    assert_int_equal(n, 5);
    assert_int_equal(ids[2], id);
    hr_bytebpe_free(t);
    hr_model_file_close(mf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merged_layout_equals_hf_layout),
        cmocka_unit_test(test_peft_merge_equals_numpy),
        cmocka_unit_test(test_peft_import_equals_numpy_import),
        cmocka_unit_test(test_peft_on_encoder_equals_peft_on_model),
        cmocka_unit_test(test_bad_layouts_are_named),
        cmocka_unit_test(test_added_token_sharing_a_vocab_id),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
