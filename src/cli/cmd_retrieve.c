/* cmd_retrieve.c: `headroom retrieve HASH [--query Q]`, the command-line way back to an
 * original. It opens the same store the proxy writes (same --data-dir / backend options
 * and HEADROOM_* environment), so a hash seen in a marker can be inspected by hand.
 * Output: the original's exact bytes on stdout (or, with --json, the route's JSON object).
 * Exit codes: 0 found, 1 unknown or expired, 2 usage or malformed hash, 3 store failure.
 */
#include "cli/commands.h"

#include "ccr/retrieve.h"
#include "ccr/store.h"

#include <stdio.h>
#include <string.h>

static void retrieve_usage(FILE *out)
{
    fprintf(out,
            "usage: headroom retrieve HASH [--query Q] [--json]\n"
            "                         [--tenant KEY | --api-key-env VAR | --bearer-env VAR]\n"
            "                         [--ccr-backend sqlite|memory|redis] [--data-dir DIR]\n"
            "                         [--redis-url URL]\n\n"
            "Prints the original stored under HASH (24 hex chars from a marker). With\n"
            "--query, only the most relevant items or lines (BM25, top 20).\n"
            "Originals belong to the API key that sent them. Default: requests without\n"
            "a credential. --api-key-env VAR: the key in $VAR as sent in x-api-key\n"
            "(Anthropic clients); --bearer-env VAR: as Authorization: Bearer (OpenAI\n"
            "clients); --tenant KEY: a tenant key as the proxy logs it.\n"
            "Environment: HEADROOM_DATA_DIR, HEADROOM_CCR_BACKEND, HEADROOM_REDIS_URL.\n");
}

int hr_cmd_retrieve(int argc, char **argv)
{
    hr_ccr_config cfg;
    hr_ccr_config_default(&cfg);
    char err[256];
    if (hr_ccr_config_from_env(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "headroom retrieve: %s\n", err);
        return 2;
    }
    const char *hash = NULL, *query = NULL;
    char tenant[HR_TENANT_MAX + 1];
    hr_tenant_derive(NULL, 0, tenant);
    int json = 0;
    for (int i = 1; i < argc; i++) {
        int r = hr_ccr_config_arg(&cfg, argc, argv, &i, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "headroom retrieve: %s\n", err);
            return 2;
        }
        if (r == 0)
            r = hr_ccr_tenant_arg(argc, argv, &i, tenant, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "headroom retrieve: %s\n", err);
            return 2;
        }
        if (r > 0)
            continue;
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            retrieve_usage(stdout);
            return 0;
        } else if ((!strcmp(a, "--query") || !strcmp(a, "-q")) && i + 1 < argc) {
            query = argv[++i];
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (a[0] != '-' && !hash) {
            hash = a;
        } else {
            retrieve_usage(stderr);
            return 2;
        }
    }
    if (!hash) {
        retrieve_usage(stderr);
        return 2;
    }
    hr_ccr_store *store = hr_ccr_store_open(&cfg, err, sizeof err);
    if (!store) {
        fprintf(stderr, "headroom retrieve: cannot open the CCR store: %s\n", err);
        return 3;
    }
    hr_ccr_retrieval r;
    hr_ccr_status st = hr_ccr_retrieve(store, tenant, hash, strlen(hash), query,
                                       query ? strlen(query) : 0, &r);
    int code = 0;
    if (st == HR_CCR_FOUND) {
        hr_buf out = HR_BUF_INIT;
        if (json) {
            hr_ccr_retrieval_json(&r, hash, query, query ? strlen(query) : 0, &out);
            hr_buf_putc(&out, '\n');
        } else
            hr_ccr_retrieval_text(&r, hash, strlen(hash), &out);
        if (out.len && fwrite(out.data, 1, out.len, stdout) != out.len)
            code = 3;
        hr_buf_free(&out);
    } else if (st == HR_CCR_NOT_FOUND) {
        fprintf(stderr, "headroom retrieve: no original for hash %s (unknown or expired)\n",
                hash);
        code = 1;
    } else if (st == HR_CCR_INVALID) {
        fprintf(stderr, "headroom retrieve: malformed hash or tenant (a hash is 24 lowercase "
                        "hex characters)\n");
        code = 2;
    } else {
        fprintf(stderr, "headroom retrieve: the CCR store failed to read\n");
        code = 3;
    }
    hr_ccr_retrieval_free(&r);
    hr_ccr_store_close(store);
    return code;
}
