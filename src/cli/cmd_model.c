/* cmd_model.c: `headroom model import DIR|FILE.onnx --out FILE` and `headroom model info FILE`.
 * import converts a HuggingFace directory or an exported ONNX graph into our model file (ml/import.h); info maps a
 * model file, verifies its checksum and prints config, tokenizer and tensor table.
 */
#include "cli/commands.h"

#include "ml/import.h"
#include "ml/model_file.h"
#include "proxy/command_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void model_usage(FILE *out)
{
    fprintf(out, "usage: headroom model import DIR|FILE.onnx --out FILE [--max-seq N]\n"
                 "       headroom model info FILE [--tensors]\n"
                 "       headroom model fetch kompress|router|siglip [--out FILE] [options]\n\n"
                 "import  convert a HuggingFace model directory (config.json, model.safetensors,\n"
                 "        tokenizer.json or vocab.txt), or an exported ONNX graph (fp32 or int8;\n"
                 "        config and tokenizer from its directory), into a headroom model file:\n"
                 "        int8 linear weights, mmap-ready (docs/model-format.md)\n"
                 "info    verify a model file and print what is inside\n"
                 "fetch   download the pinned Kompress checkpoint, verify and import it\n"
                 "        (headroom model fetch --help)\n");
}

static int cmd_import(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    hr_import_opts opts = {0};
    hr_command_config cc; /* --max-seq: the commands' row (proxy/command_settings.h) */
    char msg[256];
    if (hr_command_config_load(&cc, msg, sizeof msg) != 0) {
        fprintf(stderr, "headroom model import: %s\n", msg);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        int rc = hr_settings_alias(&hr_command_settings, "model_max_seq", "--max-seq", &cc,
                                   argc, argv, &i, msg, sizeof msg);
        if (rc < 0) {
            fprintf(stderr, "headroom model import: %s\n", msg);
            return 2;
        } else if (rc == 1) {
            continue;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (argv[i][0] != '-' && !dir) {
            dir = argv[i];
        } else {
            model_usage(stderr);
            return 2;
        }
    }
    if (!dir || !out) {
        model_usage(stderr);
        return 2;
    }
    opts.max_seq = cc.model_max_seq;
    hr_ml_error err;
    if (hr_model_import(dir, out, &opts, &err) != 0) {
        fprintf(stderr, "headroom model import: %s\n", err.msg);
        return 1;
    }
    hr_model_file *mf;
    if (hr_model_file_open(out, HR_MODEL_OPEN_VERIFY, &mf, &err) != 0) {
        fprintf(stderr, "headroom model import: wrote %s but it does not verify: %s\n", out, err.msg);
        return 1;
    }
    printf("imported %s -> %s (%zu bytes, %u tensors, sha256 %s)\n", dir, out, mf->size,
           mf->n_tensors, mf->checksum_hex);
    hr_model_file_close(mf);
    return 0;
}

static void print_config(const hr_model_file *mf)
{
    const hr_model_config *c = &mf->config;
    const char *pool = c->pooling == HR_POOL_MEAN ? "mean" : c->pooling == HR_POOL_CLS ? "cls" : "none";
    printf("arch          %s\n", hr_arch_name(c->arch));
    printf("hidden        %u (%u heads x %u)\n", c->hidden, c->n_heads, c->head_dim);
    printf("layers        %u\n", c->n_layers);
    printf("intermediate  %u\n", c->intermediate);
    printf("vocab         %u\n", c->vocab_size);
    printf("positions     %u (type vocab %u)\n", c->max_positions, c->type_vocab);
    printf("max_seq       %u\n", c->max_seq);
    printf("norm_eps      %g\n", (double)c->norm_eps);
    printf("pooling       %s\n", pool);
    if (c->arch == HR_ARCH_MODERNBERT)
        printf("attention     global every %u layers (rope theta %g), else window %u "
               "(rope theta %g)\n",
               c->global_every, (double)c->rope_theta_global, c->local_window,
               (double)c->rope_theta_local);
}

static void print_tokenizer(const hr_model_vocab *v)
{
    if (v->kind == HR_TOK_WORDPIECE)
        printf("tokenizer     wordpiece, %u tokens, prefix \"%s\", max %u chars/word\n",
               v->n_tokens, v->prefix, v->max_chars_per_word);
    else if (v->n_merges)
        printf("tokenizer     byte-level bpe, %u tokens, %u merges, %u added tokens%s%s\n",
               v->n_tokens, v->n_merges, v->n_added,
               v->bpe_flags & HR_BPEF_ADD_PREFIX_SPACE ? ", add_prefix_space" : "",
               v->bpe_flags & HR_BPEF_NO_REGEX ? ", no regex split" : "");
    else
        printf("tokenizer     bpe, %u tokens (vocabulary only: a version 1 file has no merges;"
               " re-import it)\n", v->n_tokens);
    printf("normalizer    %s%s%s%s%s\n", v->flags ? "" : "none",
           v->flags & HR_TOKF_LOWERCASE ? "lowercase " : "",
           v->flags & HR_TOKF_STRIP_ACCENTS ? "strip-accents " : "",
           v->flags & HR_TOKF_CHINESE_CHARS ? "chinese-chars " : "",
           v->flags & HR_TOKF_CLEAN_TEXT ? "clean-text" : "");
    printf("special ids   unk %d cls %d sep %d pad %d mask %d\n", v->unk_id, v->cls_id, v->sep_id,
           v->pad_id, v->mask_id);
}

static void print_tensors(const hr_model_file *mf, int list)
{
    size_t by_dtype[3] = {0, 0, 0};
    for (uint32_t i = 0; i < mf->n_tensors; i++) {
        hr_tensor t;
        if (hr_model_tensor_at(mf, i, &t) != 0)
            continue;
        size_t bytes = t.count * hr_dtype_size(t.dtype) + (t.scales ? t.shape[0] * 4 : 0);
        by_dtype[t.dtype] += bytes;
        if (!list)
            continue;
        printf("  %-28s %-4s [", t.name, hr_dtype_name(t.dtype));
        for (uint32_t d = 0; d < t.ndim; d++)
            printf(d ? ", %u" : "%u", t.shape[d]);
        printf("]%s\n", t.scales ? " + row scales" : "");
    }
    printf("tensors       %u: f32 %zu B, f16 %zu B, i8 %zu B (scales included)\n", mf->n_tensors,
           by_dtype[HR_DT_F32], by_dtype[HR_DT_F16], by_dtype[HR_DT_I8]);
}

static int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tensors"))
            list = 1;
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            model_usage(stderr);
            return 2;
        }
    }
    if (!path) {
        model_usage(stderr);
        return 2;
    }
    hr_model_file *mf;
    hr_ml_error err;
    if (hr_model_file_open(path, HR_MODEL_OPEN_VERIFY, &mf, &err) != 0) {
        fprintf(stderr, "headroom model info: %s\n", err.msg);
        return 1;
    }
    printf("file          %s\n", path);
    printf("format        headroom model v%u, %zu bytes, sha256 %s (verified)\n", mf->version,
           mf->size, mf->checksum_hex);
    print_config(mf);
    print_tokenizer(&mf->vocab);
    print_tensors(mf, list);
    hr_model_file_close(mf);
    return 0;
}

int hr_cmd_model(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        model_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "import"))
        return cmd_import(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info"))
        return cmd_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "fetch"))
        return hr_cmd_model_fetch(argc - 1, argv + 1);
    fprintf(stderr, "headroom model: unknown subcommand '%s'\n", argv[1]);
    model_usage(stderr);
    return 2;
}
