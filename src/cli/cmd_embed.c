/* cmd_embed.c: `headroom embed --model FILE`: one line of stdin in, one JSON line out
 * ({"index":i,"tokens":n,"embedding":[...]}), through the one ML session helper so the
 * command exercises the same load, scratch and unload path the proxy uses.
 */
#include "cli/commands.h"

#include "ml/session.h"
#include "sys/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void embed_usage(FILE *out)
{
    fprintf(out, "usage: headroom embed --model FILE [--max-seq N] [--threads N]\n\n"
                 "Reads text lines from stdin and writes one JSON object per line:\n"
                 "  {\"index\":0,\"tokens\":7,\"embedding\":[...]}\n"
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

int hr_cmd_embed(int argc, char **argv)
{
    const char *model = getenv("HEADROOM_EMBED_MODEL");
    int max_seq = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            embed_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model = argv[++i];
        } else if (!strcmp(argv[i], "--max-seq") && i + 1 < argc) {
            max_seq = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else {
            embed_usage(stderr);
            return 2;
        }
    }
    if (!model || !*model || max_seq < 0 || threads < 0) {
        embed_usage(stderr);
        return 2;
    }
    hr_ml_session_config cfg;
    hr_ml_session_config_init(&cfg, "embedder", &hr_ml_kind_encoder, model);
    cfg.max_seq = max_seq;
    cfg.threads = threads;
    cfg.idle_unload_ms = 0; /* a one-shot command: no reaper thread */
    hr_ml_error err;
    hr_ml_session *s = hr_ml_session_open(&cfg, &err);
    if (!s) {
        fprintf(stderr, "headroom embed: %s\n", err.msg);
        return 1;
    }
    int rc = embed_lines(s);
    hr_ml_session_close(s);
    return rc;
}
