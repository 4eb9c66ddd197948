/* cmd_kompress.c: `headroom kompress --model FILE [--scores]`: Kompress alone on stdin,
 * through the same instance and session the proxy uses (compress/kompress.h). Without
 * --scores it writes the compressed text (or the input unchanged when Kompress leaves it
 * or fails open; the reason goes to stderr); with --scores one JSON object with every
 * word's score, for checks against a reference runtime and for looking at what the model
 * keeps. */
#include "cli/commands.h"

#include "compress/kompress.h"
#include "compress/policy.h"
#include "ml/settings.h"
#include "sys/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void kompress_usage(FILE *out)
{
    fprintf(out, "usage: headroom kompress --model FILE [--scores] [--ratio R] [--threads N]\n\n"
                 "Runs Kompress (the ModernBERT prose compressor) on stdin. FILE is a model\n"
                 "written by 'headroom model import' (default: $HEADROOM_KOMPRESS_MODEL).\n"
                 "  --scores   write {\"words\":N,\"chunks\":C,\"scores\":[...]} instead: the max\n"
                 "             final_score of each whitespace-separated word's tokens\n"
                 "  --ratio R  keep the top R of each chunk's words instead of score > 0.5\n"
                 "  --threads N  ML compute threads (HEADROOM_ML_THREADS)\n");
}

static int write_scores(hr_kompress *k, const hr_buf *in)
{
    size_t n = 0;
    hr_ml_error err;
    if (hr_kompress_score_words(k, in->data, in->len, NULL, 0, &n, &err) != HR_ML_OK)
        return -1;
    float *s = malloc((n ? n : 1) * sizeof *s);
    hr_buf out = HR_BUF_INIT;
    int rc = s ? 0 : -1;
    if (rc == 0 && hr_kompress_score_words(k, in->data, in->len, s, n, &n, &err) != HR_ML_OK) {
        fprintf(stderr, "headroom kompress: %s\n", err.msg);
        rc = -1;
    }
    hr_kompress_stats st;
    hr_kompress_stats_get(k, &st);
    if (rc == 0)
        rc = hr_buf_printf(&out, "{\"words\":%zu,\"chunks\":%llu,\"scores\":[", n,
                           (unsigned long long)st.chunks);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = hr_buf_printf(&out, i ? ",%.9g" : "%.9g", (double)s[i]);
    if (rc == 0)
        rc = hr_buf_puts(&out, "]}\n");
    if (rc == 0 && fwrite(out.data, 1, out.len, stdout) != out.len)
        rc = -1;
    hr_buf_free(&out);
    free(s);
    return rc;
}

static int write_compressed(hr_kompress *k, const hr_buf *in)
{
    hr_compress_result r;
    if (hr_kompress_compress(k, in->data, in->len, 0, &r) != 0)
        return -1;
    hr_kompress_stats st;
    hr_kompress_stats_get(k, &st);
    const char *data = r.compressed ? r.out.data : in->data;
    size_t len = r.compressed ? r.out.len : in->len;
    int rc = len && fwrite(data, 1, len, stdout) != len ? -1 : 0;
    if (r.compressed)
        fprintf(stderr, "kompress: %llu words -> %llu\n", r.units_total, r.units_kept);
    else
        fprintf(stderr, "kompress: left unchanged%s%s\n", st.last_error[0] ? ": " : "", st.last_error);
    hr_compress_result_free(&r);
    return rc;
}

/* --model, --ratio and --threads are the proxy's settings under this command's names:
 * parsed by the same rows (HEADROOM_KOMPRESS_MODEL, HEADROOM_KOMPRESS_RATIO,
 * HEADROOM_ML_THREADS from the environment first). 0 ok, 1 --help, 2 usage error. */
static int parse_args(int argc, char **argv, hr_pipeline_config *pc, hr_ml_config *ml,
                      int *scores)
{
    char err[256];
    hr_pipeline_config_default(pc);
    hr_ml_config_default(ml);
    if (hr_pipeline_config_from_env(pc, err, sizeof err) != 0 ||
        hr_ml_config_from_env(ml, err, sizeof err) != 0) {
        fprintf(stderr, "headroom kompress: %s\n", err);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        int rc = hr_settings_alias(&hr_pipeline_settings, "kompress_model", "--model", pc, argc,
                                   argv, &i, err, sizeof err);
        if (rc == 0)
            rc = hr_settings_alias(&hr_pipeline_settings, "kompress_ratio", "--ratio", pc, argc,
                                   argv, &i, err, sizeof err);
        if (rc == 0)
            rc = hr_settings_alias(&hr_ml_settings, "ml_threads", "--threads", ml, argc, argv, &i,
                                   err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "headroom kompress: %s\n", err);
            return 2;
        }
        if (rc == 0 && !strcmp(argv[i], "--scores"))
            *scores = 1;
        else if (rc == 0) {
            kompress_usage(strcmp(argv[i], "--help") ? stderr : stdout);
            return strcmp(argv[i], "--help") ? 2 : 1;
        }
    }
    if (!pc->kompress_model[0] || !strcmp(pc->kompress_model, "off")) {
        kompress_usage(stderr);
        return 2;
    }
    return 0;
}

int hr_cmd_kompress(int argc, char **argv)
{
    hr_pipeline_config pc;
    hr_ml_config ml;
    int scores = 0;
    int prc = parse_args(argc, argv, &pc, &ml, &scores);
    if (prc != 0)
        return prc == 1 ? 0 : prc;
    hr_ml_configure(&ml); /* the thread cap, before the session starts any thread */
    const char *model = pc.kompress_model;
    hr_kompress_config c;
    hr_kompress_config_init(&c, model);
    c.ratio = pc.kompress_ratio;
    c.idle_unload_ms = 0;
    c.queue_ms = 60000;
    hr_ml_error err;
    hr_kompress *k = hr_kompress_open(&c, &err);
    if (!k) {
        fprintf(stderr, "headroom kompress: %s\n", err.msg);
        return 2;
    }
    hr_buf in = HR_BUF_INIT;
    int rc = hr_buf_read_stream(&in, stdin, 0) == 0 ? 0 : -1;
    if (rc == 0)
        rc = scores ? write_scores(k, &in) : write_compressed(k, &in);
    if (rc != 0)
        fprintf(stderr, "headroom kompress: failed\n");
    hr_buf_free(&in);
    hr_kompress_close(k);
    return rc == 0 ? 0 : 1;
}
