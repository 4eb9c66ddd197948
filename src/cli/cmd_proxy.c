/* cmd_proxy.c: `headroom proxy`: reads the configuration (defaults, environment, flags;
 * see proxy/config.h) and runs the proxy until SIGTERM/SIGINT. */
#include "cli/commands.h"
#include "proxy/config.h"
#include "proxy/proxy.h"

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
    return hr_proxy_run(&cfg);
}
