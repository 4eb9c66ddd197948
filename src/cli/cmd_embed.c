/* cmd_embed.c: `headroom embed --model FILE`: one line of stdin in, one JSON line out
 * ({"index":i,"tokens":n,"embedding":[...]}; with --classify the classification head's
 * {"index","tokens","label","confidence","logits","probs"}), through the one ML session helper so the
 * command exercises the same load, scratch and unload path the proxy uses.
 */
#include "cli/commands.h"

#include "ccr/retrieve.h"
#include "compress/embed_relevance.h"
#include "compress/policy.h"
#include "json/json.h"
#include "ml/classifier.h"
#include "image/image.h"
#include "ml/session.h"
#include "ml/settings.h"
#include "ml/vision.h"
#include "proxy/command_settings.h"
#include "sys/buf.h"
#include "sys/hybrid.h"
#include "sys/parse.h"
#include "sys/settings.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void embed_usage(FILE *out)
{
    fprintf(out, "usage: headroom embed --model FILE [--max-seq N] [--threads N] [--classify]\n\n"
                 "Reads text lines from stdin and writes one JSON object per line:\n"
                 "  {\"index\":0,\"tokens\":7,\"embedding\":[...]}\n"
                 "--vision (SigLIP vision models): each line is an image FILE (JPEG, PNG, WebP),\n"
                 "  resized to the model's input (Lanczos), pixels to [-1, 1]:\n"
                 "  {\"index\":0,\"file\":\"x.png\",\"embedding\":[...]} (the pooled output)\n"
                 "--signals (vision models imported with text_embeddings.npz): the four image\n"
                 "  signals instead of the embedding: {\"index\":0,\"file\":..,\"signals\":\n"
                 "  {\"has_text\":..,\"is_document\":..,\"is_complex\":..,\"has_small_details\":..}}\n"
                 "--classify (models with a classification head, e.g. the technique router):\n"
                 "  {\"index\":0,\"tokens\":7,\"label\":\"preserve\",\"confidence\":0.8,\n"
                 "   \"logits\":[...],\"probs\":[...]}\n"
                 "--rank QUESTION: stdin is one original (a JSON document or lines), split into\n"
                 "  items as CCR retrieval does; prints every item's lexical (BM25) and hybrid\n"
                 "  score: {\"alpha\":0.5,\"embedded\":N,\"lexical\":[...],\"hybrid\":[...]}\n"
                 "  (HEADROOM_EMBED_MAX_ITEMS items embedded, best lexical first)\n"
                 "FILE is a model written by 'headroom model import' (default:\n"
                 "$HEADROOM_EMBED_MODEL). Vectors are mean-pooled and unit length.\n");
}

/* Widest hidden size a model file may declare (model_file.c validates hidden <= 65536). */
#define EMBED_DIM_MAX 65536

static int write_vector(hr_buf *b, size_t index, const hr_ml_embed_info *info, const float *v)
{
    b->len = 0;
    if (hr_buf_printf(b, "{\"index\":%zu,\"tokens\":%d,\"embedding\":[", index, info->n_tokens))
        return -1;
    for (int d = 0; d < info->dim; d++)
        if (hr_buf_printf(b, d ? ",%.9g" : "%.9g", (double)v[d]))
            return -1;
    if (hr_buf_puts(b, "]}\n"))
        return -1;
    return fwrite(b->data, 1, b->len, stdout) == b->len ? 0 : -1;
}

static int write_floats(hr_buf *b, const char *key, const float *v, int n)
{
    if (hr_buf_printf(b, ",\"%s\":[", key))
        return -1;
    for (int d = 0; d < n; d++)
        if (hr_buf_printf(b, d ? ",%.9g" : "%.9g", (double)v[d]))
            return -1;
    return hr_buf_putc(b, ']');
}

static int write_doubles(hr_buf *b, const char *key, const double *v, size_t n)
{
    int rc = hr_buf_printf(b, "\"%s\":[", key);
    for (size_t i = 0; i < n; i++)
        rc |= hr_buf_printf(b, i ? ",%.9g" : "%.9g", v[i]);
    return rc | hr_buf_putc(b, ']');
}

/* One line through the classification head as one JSON line (the label is escaped: the
 * head accepts any printable ASCII name). */
static int classify_line(hr_ml_session *s, hr_buf *b, size_t index, const char *line, size_t len,
                         hr_ml_error *err)
{
    hr_ml_class_result r;
    hr_ml_rc rc = hr_ml_classify(s, line, len, &r, err);
    if (rc != HR_ML_OK) {
        if (rc == HR_ML_BUSY)
            hr_ml_error_set(err, "session busy");
        return -1;
    }
    b->len = 0;
    if (hr_buf_printf(b, "{\"index\":%zu,\"tokens\":%d,\"label\":", index, r.n_tokens) ||
        hr_json_write_string(b, r.label, strlen(r.label)) ||
        hr_buf_printf(b, ",\"confidence\":%.9g", (double)r.confidence) ||
        write_floats(b, "logits", r.logits, r.n_labels) ||
        write_floats(b, "probs", r.probs, r.n_labels) || hr_buf_puts(b, "}\n") ||
        fwrite(b->data, 1, b->len, stdout) != b->len) {
        hr_ml_error_set(err, "cannot write output");
        return -1;
    }
    return 0;
}

static int classify_lines(hr_ml_session *s)
{
    char *line = NULL;
    size_t cap = 0, index = 0;
    ssize_t got;
    hr_buf b = HR_BUF_INIT;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        hr_ml_error err;
        if (classify_line(s, &b, index, line, len, &err) != 0) {
            fprintf(stderr, "headroom embed: line %zu: %s\n", index + 1, err.msg);
            rc = 1;
        }
        index++;
    }
    free(line);
    hr_buf_free(&b);
    return rc;
}

/* One image file as the model's CHW [-1, 1] input of side S (resized when needed). */
static int image_pixels(const char *path, int S, float *px, hr_ml_error *err)
{
    FILE *f = fopen(path, "rb");
    hr_buf data = HR_BUF_INIT;
    if (!f) {
        hr_ml_error_set(err, "%s: cannot open", path);
        return -1;
    }
    int unread = hr_buf_read_stream(&data, f, 0) != 0;
    fclose(f);
    if (unread) {
        hr_ml_error_set(err, "%s: cannot read", path);
        hr_buf_free(&data);
        return -1;
    }
    hr_image_error ierr;
    int rc = hr_image_model_input((const uint8_t *)data.data, data.len, 100000000ull, S, px, &ierr);
    if (rc != 0)
        hr_ml_error_set(err, "%s: %s", path, ierr.msg);
    hr_buf_free(&data);
    return rc;
}

/* The image signals as a JSON member: ,"signals":{"has_text":0.5,...}. */
static int write_signals(hr_buf *b, const hr_image_signals *sg)
{
    int rc = hr_buf_puts(b, ",\"signals\":{");
    for (int i = 0; i < HR_SIG_COUNT; i++)
        rc |= hr_buf_printf(b, "%s\"%s\":%.9g", i ? "," : "", hr_vit_signal_names[i],
                            (double)sg->score[i]);
    return rc | hr_buf_putc(b, '}');
}

static int vision_lines(hr_ml_session *s, const char *model, int signals)
{
    hr_model_file *mf;
    hr_ml_error err;
    if (hr_model_file_open(model, 0, &mf, &err) != 0) {
        fprintf(stderr, "headroom embed: %s\n", err.msg);
        return 1;
    }
    const int S = (int)mf->config.reserved[HR_VIT_CFG_IMAGE];
    const int arch = (int)mf->config.arch;
    hr_model_file_close(mf);
    if (arch != HR_ARCH_SIGLIP || S < 1) {
        fprintf(stderr, "headroom embed: %s is not a vision model\n", model);
        return 1;
    }
    float *px = malloc((size_t)3 * S * S * sizeof *px), *vec = calloc(EMBED_DIM_MAX, sizeof *vec);
    char *line = NULL;
    size_t cap = 0, index = 0;
    ssize_t got;
    hr_buf b = HR_BUF_INIT;
    int rc = px && vec ? 0 : 1;
    while (rc == 0 && (got = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        line[len] = '\0';
        int dim = 0;
        hr_ml_rc r = HR_ML_ERROR;
        hr_image_signals sg;
        if (image_pixels(line, S, px, &err) == 0)
            r = signals ? hr_ml_image_signals(s, px, (size_t)3 * S * S, &sg, &err)
                        : hr_ml_embed_pixels(s, px, (size_t)3 * S * S, vec, EMBED_DIM_MAX, &dim, &err);
        b.len = 0;
        if (r != HR_ML_OK) {
            fprintf(stderr, "headroom embed: line %zu: %s\n", index + 1,
                    r == HR_ML_BUSY ? "session busy" : err.msg);
            rc = 1;
        } else if (hr_buf_printf(&b, "{\"index\":%zu,\"file\":", index++) ||
                   hr_json_write_string(&b, line, len) ||
                   (signals ? write_signals(&b, &sg) : write_floats(&b, "embedding", vec, dim)) ||
                   hr_buf_puts(&b, "}\n") || fwrite(b.data, 1, b.len, stdout) != b.len) {
            rc = 1;
        }
    }
    free(line);
    free(px);
    free(vec);
    hr_buf_free(&b);
    return rc;
}

static int embed_lines(hr_ml_session *s)
{
    float *vec = calloc(EMBED_DIM_MAX, sizeof *vec);
    char *line = NULL;
    size_t cap = 0, index = 0;
    ssize_t got;
    hr_buf b = HR_BUF_INIT;
    int rc = vec ? 0 : 1;
    while (rc == 0 && (got = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        hr_ml_embed_info info;
        hr_ml_error err;
        hr_ml_rc r = hr_ml_embed(s, line, len, vec, EMBED_DIM_MAX, &info, &err);
        if (r != HR_ML_OK) {
            fprintf(stderr, "headroom embed: line %zu: %s\n", index + 1,
                    r == HR_ML_BUSY ? "session busy" : err.msg);
            rc = 1;
        } else if (write_vector(&b, index++, &info, vec) != 0) {
            fprintf(stderr, "headroom embed: cannot write output\n");
            rc = 1;
        }
    }
    free(line);
    free(vec);
    hr_buf_free(&b);
    return rc;
}

/* --rank QUESTION: stdin is one original as CCR retrieval splits it (JSON items or lines);
 * prints {"alpha":a,"lexical":[...],"hybrid":[...]}: every item's score without and with
 * the embedder installed as the hybrid scorer, exactly as the proxy's rankers see them. */
static int rank_stdin(const hr_pipeline_config *pc, const char *question, int max_seq)
{
    hr_buf in = HR_BUF_INIT, b = HR_BUF_INIT;
    if (hr_buf_read_stream(&in, stdin, 0) != 0) {
        hr_buf_free(&in);
        return 1;
    }
    const char *text = in.data ? in.data : "";
    size_t qlen = strlen(question), n = 0, n2 = 0;
    double *lex = NULL, *hyb = NULL;
    hr_embed_rel_config ec = {pc->embed_model, pc->embed_max_items, pc->embed_deadline_ms,
                              max_seq};
    hr_ml_error err;
    hr_embed_rel *e = hr_embed_rel_open(&ec, &err);
    int rc = e ? 0 : 1;
    if (!e)
        fprintf(stderr, "headroom embed: %s\n", err.msg);
    if (rc == 0)
        rc = hr_ccr_scores(text, in.len, question, qlen, &lex, &n) != 0;
    if (rc == 0) {
        hr_embed_rel_install(e);
        rc = hr_ccr_scores(text, in.len, question, qlen, &hyb, &n2) != 0 || n2 != n;
    }
    hr_embed_rel_stats st;
    hr_embed_rel_stats_get(e, &st);
    if (rc == 0 && st.rankings != 1) {
        fprintf(stderr, "headroom embed: the ranking stayed lexical (busy, deadline or error)\n");
        rc = 1;
    }
    if (rc == 0) {
        rc |= hr_buf_printf(&b, "{\"alpha\":%.6f,\"embedded\":%llu,", hr_hybrid_alpha(question, qlen),
                            (unsigned long long)st.texts - 1);
        rc |= write_doubles(&b, "lexical", lex, n);
        rc |= hr_buf_putc(&b, ',');
        rc |= write_doubles(&b, "hybrid", hyb, n);
        rc |= hr_buf_puts(&b, "}\n");
        rc |= fwrite(b.data, 1, b.len, stdout) != b.len;
    }
    hr_embed_rel_close(e);
    free(lex);
    free(hyb);
    hr_buf_free(&in);
    hr_buf_free(&b);
    return rc ? 1 : 0;
}

/* --model is the proxy's embed_model row under this command's name (HEADROOM_EMBED_MODEL
 * from the environment first); --rank reads HEADROOM_EMBED_MAX_ITEMS and
 * HEADROOM_EMBED_DEADLINE_MS through the same rows. --threads is the ML runtime's
 * HEADROOM_ML_THREADS row. */
int hr_cmd_embed(int argc, char **argv)
{
    hr_pipeline_config pc;
    hr_ml_config ml;
    char msg[256];
    const char *rank = NULL;
    int max_seq = 0, classify = 0, vision = 0, signals = 0;
    hr_pipeline_config_default(&pc);
    pc.embed_deadline_ms = 60000; /* a one-shot command waits for the model (the variable wins) */
    hr_ml_config_default(&ml);
    if (hr_pipeline_config_from_env(&pc, msg, sizeof msg) != 0 ||
        hr_ml_config_from_env(&ml, msg, sizeof msg) != 0) {
        fprintf(stderr, "headroom embed: %s\n", msg);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        int rc = hr_settings_alias(&hr_pipeline_settings, "embed_model", "--model", &pc, argc,
                                   argv, &i, msg, sizeof msg);
        if (rc == 0)
            rc = hr_settings_alias(&hr_ml_settings, "ml_threads", "--threads", &ml, argc, argv, &i,
                                   msg, sizeof msg);
        if (rc < 0) {
            fprintf(stderr, "headroom embed: %s\n", msg);
            return 2;
        } else if (rc == 1) {
            continue;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            embed_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--max-seq") && i + 1 < argc) {
            long v; /* this run's truncation, not a setting: no variable */
            if (hr_parse_long(argv[++i], 1, HR_COMMAND_MAX_SEQ_MAX, &v) != 0) {
                fprintf(stderr, "headroom embed: invalid --max-seq '%s' (expected 1..%d)\n",
                        argv[i], HR_COMMAND_MAX_SEQ_MAX);
                return 2;
            }
            max_seq = (int)v;
        } else if (!strcmp(argv[i], "--classify")) {
            classify = 1;
        } else if (!strcmp(argv[i], "--vision")) {
            vision = 1;
        } else if (!strcmp(argv[i], "--signals")) {
            vision = signals = 1;
        } else if (!strcmp(argv[i], "--rank") && i + 1 < argc) {
            rank = argv[++i];
        } else {
            embed_usage(stderr);
            return 2;
        }
    }
    const char *model = pc.embed_model;
    if (!*model) {
        embed_usage(stderr);
        return 2;
    }
    if (rank)
        return rank_stdin(&pc, rank, max_seq);
    hr_ml_session_config cfg;
    hr_ml_session_config_init(&cfg, vision ? "image_encoder" : "embedder",
                              vision ? &hr_ml_kind_vision : &hr_ml_kind_encoder, model);
    cfg.max_seq = max_seq;
    cfg.threads = ml.threads;
    cfg.idle_unload_ms = 0; /* a one-shot command: no reaper thread */
    hr_ml_error err;
    hr_ml_session *s = hr_ml_session_open(&cfg, &err);
    if (!s) {
        fprintf(stderr, "headroom embed: %s\n", err.msg);
        return 1;
    }
    int rc = vision ? vision_lines(s, model, signals) : classify ? classify_lines(s) : embed_lines(s);
    hr_ml_session_close(s);
    return rc;
}
