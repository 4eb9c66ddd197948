/* cmd_compress.c: `headroom compress`: the proxy's compression on stdin, result on stdout.
 *
 * Input is either a request body (a JSON object with "messages", "input" or "contents"; its shape is
 * guessed or given with --shape) that goes through the same pipeline as a proxied request,
 * or a raw tool output that goes through the same routing and rules as one span. Originals
 * go to the CCR store (--ccr-backend etc., as `headroom retrieve` reads them), so every
 * marker printed can be resolved. Fail open: anything that cannot be compressed is printed
 * unchanged. --stats prints token counts and the compressors used on stderr.
 */
#include "ccr/store.h"
#include "cli/commands.h"
#include "compress/pipeline_instance.h"
#include "compress/policy.h"
#include "json/json.h"
#include "tokens/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_INPUT ((size_t)256 << 20)

typedef enum { FMT_AUTO = 0, FMT_MESSAGES, FMT_RAW } input_format;

typedef struct compress_args {
    int stats;
    input_format format;
    int shape_given;
    const hr_api *shape;
    const char *model;
    const char *query;
    const char *session;
    hr_pipeline_config pipe;
    hr_ccr_config ccr;
} compress_args;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: headroom compress [options] < input > output\n\n"
            "Compresses a request body (JSON with \"messages\" or \"input\") or a raw tool output\n"
            "read from stdin, exactly as the proxy would, and writes the result to stdout.\n\n"
            "  --stats               token counts and compressors used, on stderr\n"
            "  --format F            auto (default) | messages | raw\n"
            "  --shape S             openai | anthropic | responses | gemini | bedrock |\n"
            "                        bedrock-converse (default: guessed)\n"
            "  --model M             token counter for raw input (default: estimate)\n"
            "  --query Q             what the user asked (raw input; relevance and anchors)\n"
            "  --session ID          session id (as x-headroom-session-id)\n"
            "  --mode token|cache    --compression-deadline-ms MS   --exclude-tools LIST\n"
            "  --min-bytes N         --max-ratio R   --max-items N\n"
            "  --ccr-backend B       --ccr-ttl S   --data-dir DIR   --redis-url URL\n");
}

/* --shape names an API row (api/api.h: hr_api.name). */
static int parse_shape(const char *s, const hr_api **out)
{
    const hr_api *api = hr_api_by_name(s);
    if (!api)
        return -1;
    *out = api;
    return 0;
}

/* Value of a "--name value" option at argv[*i]; NULL (with a message) when missing. */
static const char *option_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "headroom compress: %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

/* 0 ok, 1 --help, 2 usage error. */
static int parse_args(compress_args *a, int argc, char **argv)
{
    char err[200];
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v;
        int rc = hr_pipeline_config_arg(&a->pipe, argc, argv, &i, err, sizeof err);
        if (rc == 0)
            rc = hr_ccr_config_arg(&a->ccr, argc, argv, &i, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "headroom compress: %s\n", err);
            return 2;
        }
        if (rc > 0)
            continue;
        if (!strcmp(o, "--help") || !strcmp(o, "-h"))
            return 1;
        if (!strcmp(o, "--stats")) {
            a->stats = 1;
            continue;
        }
        if (strcmp(o, "--format") && strcmp(o, "--shape") && strcmp(o, "--model") &&
            strcmp(o, "--query") && strcmp(o, "--session")) {
            fprintf(stderr, "headroom compress: unknown option '%s'\n", o);
            return 2;
        }
        if (!(v = option_value(argc, argv, &i)))
            return 2;
        if (!strcmp(o, "--format")) {
            if (!strcmp(v, "auto"))
                a->format = FMT_AUTO;
            else if (!strcmp(v, "messages"))
                a->format = FMT_MESSAGES;
            else if (!strcmp(v, "raw"))
                a->format = FMT_RAW;
            else {
                fprintf(stderr, "headroom compress: --format must be auto, messages or raw\n");
                return 2;
            }
        } else if (!strcmp(o, "--shape")) {
            if (parse_shape(v, &a->shape) != 0) {
                fprintf(stderr, "headroom compress: --shape must be openai, anthropic, responses, gemini, "
                                "bedrock or bedrock-converse\n");
                return 2;
            }
            a->shape_given = 1;
        } else if (!strcmp(o, "--model")) {
            a->model = v;
        } else if (!strcmp(o, "--query")) {
            a->query = v;
        } else {
            a->session = v;
        }
    }
    return 0;
}

static int write_all(const char *p, size_t n)
{
    return fwrite(p, 1, n, stdout) == n && fflush(stdout) == 0 ? 0 : -1;
}

static void print_stats(long long before, long long after, const char *transforms,
                        const char *counter, int failed_open)
{
    long long saved = before - after;
    fprintf(stderr,
            "tokens_before=%lld tokens_after=%lld tokens_saved=%lld saved_pct=%.1f "
            "transforms=%s counter=%s%s\n",
            before, after, saved, before > 0 ? 100.0 * (double)saved / (double)before : 0.0,
            transforms && *transforms ? transforms : "none", counter ? counter : "estimate",
            failed_open ? " failed_open=1" : "");
}

/* 1 when the input is a request body (an object holding a messages/input array). */
static int is_request_body(const hr_buf *in, const hr_api **guessed)
{
    hr_json_doc d;
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, in->data ? in->data : "", in->len, &lim, &e) != 0)
        return 0;
    int yes = d.nodes[0].type == HR_JSON_OBJECT &&
              (hr_json_get(&d, 0, "messages") != HR_JSON_NONE ||
               hr_json_get(&d, 0, "input") != HR_JSON_NONE ||
               hr_json_get(&d, 0, "contents") != HR_JSON_NONE);
    *guessed = hr_api_guess(&d);
    hr_json_doc_free(&d);
    return yes;
}

static int run_messages(hr_pipeline *p, const compress_args *a, const hr_buf *in, const hr_api *shape)
{
    hr_pipeline_input pin = {shape, in->data, in->len, a->session, NULL, "cli", NULL};
    hr_pipeline_result r;
    hr_pipeline_run_on(p, &pin, &r);
    int rc = r.modified ? write_all(r.body.data, r.body.len) : write_all(in->data, in->len);
    if (a->stats)
        print_stats(r.tokens_before, r.tokens_after, r.transforms, r.counter, r.failed_open);
    hr_pipeline_result_free(&r);
    return rc;
}

static int run_raw(hr_pipeline *p, const compress_args *a, const hr_buf *in)
{
    hr_compress_result res;
    long long before = 0, after = 0;
    int err = hr_pipeline_compress_text(p, in->data ? in->data : "", in->len, a->model, a->query,
                                        a->query ? strlen(a->query) : 0, NULL, &res, &before,
                                        &after);
    int rc = res.compressed ? write_all(res.out.data, res.out.len) : write_all(in->data, in->len);
    hr_tok_encoding used;
    hr_tokens_count(a->model, "", 0, &used); /* names the counter that answered */
    if (a->stats)
        print_stats(before, after, res.compressed ? res.compressor : "", hr_tok_encoding_name(used),
                    err != 0);
    hr_compress_result_free(&res);
    return rc;
}

int hr_cmd_compress(int argc, char **argv)
{
    compress_args a;
    memset(&a, 0, sizeof a);
    hr_pipeline_config_default(&a.pipe);
    hr_ccr_config_default(&a.ccr);
    char err[200];
    if (hr_pipeline_config_from_env(&a.pipe, err, sizeof err) != 0 ||
        hr_ccr_config_from_env(&a.ccr, err, sizeof err) != 0) {
        fprintf(stderr, "headroom compress: %s\n", err);
        return 2;
    }
    int prc = parse_args(&a, argc, argv);
    if (prc == 1) {
        usage(stdout);
        return 0;
    }
    if (prc) {
        usage(stderr);
        return 2;
    }
    hr_buf in = HR_BUF_INIT;
    if (hr_buf_read_stream(&in, stdin, MAX_INPUT) != 0) {
        fprintf(stderr, "headroom compress: cannot read stdin (limit %zu MiB)\n", MAX_INPUT >> 20);
        hr_buf_free(&in);
        return 1;
    }
    /* the store the proxy and `headroom retrieve` use; without it nothing is omitted */
    if (hr_ccr_process_configure(&a.ccr, err, sizeof err) != 0)
        fprintf(stderr, "headroom compress: no CCR store (%s): output left uncompressed\n", err);
    hr_pipeline *p = hr_pipeline_new(&a.pipe, HR_PIPELINE_STORE_PROCESS, NULL);
    if (!p) {
        write_all(in.data, in.len);
        hr_buf_free(&in);
        return 1;
    }
    const hr_api *shape = hr_api_default();
    int looks_like_body = is_request_body(&in, &shape);
    int body = a.format == FMT_MESSAGES || (a.format == FMT_AUTO && looks_like_body);
    if (a.shape_given)
        shape = a.shape;
    int rc = body ? run_messages(p, &a, &in, shape) : run_raw(p, &a, &in);
    hr_pipeline_free(p);
    hr_ccr_process_close();
    hr_buf_free(&in);
    if (rc != 0) {
        fprintf(stderr, "headroom compress: write error\n");
        return 1;
    }
    return 0;
}
