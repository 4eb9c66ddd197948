/* cmd_proxy.c: `headroom proxy`: reads the configuration (defaults, environment, flags;
 * see proxy/config.h), opens the CCR store it names (a store that cannot be opened as
 * configured is a start-up error, not a silent fallback to another store), and runs the
 * proxy until SIGTERM/SIGINT; the store is closed after the drain. */
#include "ccr/store.h"
#include "cli/commands.h"
#include "proxy/config.h"
#include "proxy/proxy.h"
#include "tokens/tokens.h"

#include <stdio.h>

int hr_cmd_proxy(int argc, char **argv)
{
    hr_proxy_config cfg;
    char err[512];
    hr_proxy_config_defaults(&cfg);
    if (hr_proxy_config_from_env(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "headroom proxy: %s\n", err);
        return 2;
    }
    int rc = hr_proxy_config_from_args(&cfg, argc, argv, err, sizeof err);
    if (rc == 1) {
        hr_proxy_config_usage(stdout);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "headroom proxy: %s\n", err);
        return 2;
    }
    if (cfg.ccr.data_dir) /* one data dir for the store and the token counter's rank files */
        hr_tokens_set_data_dir(cfg.ccr.data_dir);
    if (hr_ccr_process_configure(&cfg.ccr, err, sizeof err) != 0) {
        fprintf(stderr, "headroom proxy: cannot open the CCR store (%s): %s\n",
                hr_ccr_backend_name(cfg.ccr.backend), err);
        return 1;
    }
    rc = hr_proxy_run(&cfg);
    hr_ccr_process_close(); /* hr_proxy_run returns after the drain: no request holds it */
    return rc;
}
