/* cmd_proxy.c: `headroom proxy`: reads the configuration (defaults, environment, flags;
 * see proxy/config.h), after rewriting the Python original's flags and variables into ours
 * (proxy/config_compat.h; the ones without a meaning here are named in one warning, never
 * a failed start), opens the CCR store it names (a store that cannot be opened as
 * configured is a start-up error, not a silent fallback to another store), and runs the
 * proxy until SIGTERM/SIGINT; the store is closed after the drain.
 * `headroom proxy --compat-table` prints the original-name table of docs/configuration.md. */
#include "ccr/store.h"
#include "cli/commands.h"
#include "proxy/config.h"
#include "proxy/config_compat.h"
#include "proxy/proxy.h"
#include "tokens/tokens.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* --log-file: stderr itself goes to the file, so every line (the logger's and the few
 * start-up messages printed before it) lands in one place, appended. */
static int redirect_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "headroom proxy: cannot open the log file %s: %m\n", path);
        return -1;
    }
    int rc = dup2(fd, STDERR_FILENO) < 0 ? -1 : 0;
    close(fd);
    return rc;
}

/* Fills cfg; its CCR strings borrow from args, which the caller frees after the run.
 * 0 ok, -1 --help was printed, else the exit code. */
static int read_config(hr_proxy_config *cfg, hr_compat_args *args, int argc, char **argv)
{
    char err[512];
    hr_proxy_config_defaults(cfg);
    if (hr_proxy_config_from_env(cfg, err, sizeof err) != 0) {
        fprintf(stderr, "headroom proxy: %s\n", err);
        return 2;
    }
    if (hr_proxy_compat_args(argc, argv, args, err, sizeof err) != 0) {
        fprintf(stderr, "headroom proxy: %s\n", err);
        return 2;
    }
    int rc = hr_proxy_config_from_args(cfg, args->argc, args->argv, err, sizeof err);
    if (rc == 1) {
        hr_proxy_config_usage(stdout);
    } else if (rc != 0) {
        fprintf(stderr, "headroom proxy: %s\n", err);
        rc = 2;
    } else if (cfg->log_file[0] && redirect_log(cfg->log_file) != 0) {
        rc = 2;
    } else if (args->ignored) {
        fprintf(stderr, "headroom proxy: warning: accepted without effect here (the original "
                        "proxy's options; see docs/configuration.md): %s\n", args->ignored);
    }
    return rc == 1 ? -1 : rc;
}

static int run(hr_proxy_config *cfg)
{
    char err[512];
    if (cfg->ccr.data_dir) /* one data dir for the store and the token counter's rank files */
        hr_tokens_set_data_dir(cfg->ccr.data_dir);
    if (hr_ccr_process_configure(&cfg->ccr, err, sizeof err) != 0) {
        fprintf(stderr, "headroom proxy: cannot open the CCR store (%s): %s\n",
                hr_ccr_backend_name(cfg->ccr.backend), err);
        return 1;
    }
    int rc = hr_proxy_run(cfg);
    hr_ccr_process_close(); /* hr_proxy_run returns after the drain: no request holds it */
    return rc;
}

int hr_cmd_proxy(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--compat-table")) {
        hr_proxy_compat_table(stdout);
        return 0;
    }
    hr_proxy_config cfg;
    hr_compat_args args = {0};
    int rc = read_config(&cfg, &args, argc, argv);
    if (rc == 0)
        rc = run(&cfg);
    hr_proxy_compat_free(&args); /* after the run: cfg.ccr borrowed its strings */
    return rc < 0 ? 0 : rc;      /* -1: --help was printed */
}
