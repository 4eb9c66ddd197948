/* cmd_wrap.c: `headroom wrap AGENT [options] [-- agent args]` and `headroom unwrap AGENT`.
 *
 * wrap: reuses the proxy answering /readyz on the port or starts one detached
 * (proxy_ctl.h), registers our MCP server with the agent (agents.h; recorded in
 * <data dir>/wrap/<agent>.state), points the agent at the proxy through the variables it
 * reads, and execs it. An editor agent (Cursor, Cline, Continue) without its command-line
 * executable gets its settings printed instead.
 * unwrap: undoes the recorded edits (the files are back byte for byte) and, when no other
 * agent is still wrapped, stops the proxy wrap started. The agent's environment needs no
 * undo: the variables only ever lived in the exec'd process.
 */
#include "cli/agents.h"
#include "cli/commands.h"
#include "cli/conf_edit.h"
#include "cli/proxy_ctl.h"
#include "proxy/command_settings.h"
#include "proxy/config.h"
#include "sys/settings.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct wrap_opts {
    const hr_agent *agent;
    int port;
    int mcp;          /* register the MCP server (default on) */
    int no_proxy;     /* --no-proxy: use the running proxy, never start one */
    int first_arg;    /* argv index of the agent's first argument */
} wrap_opts;

static void usage(FILE *out, const char *cmd)
{
    fprintf(out, "usage: headroom %s AGENT [--port N] [--no-mcp] [--no-proxy]%s\n\nagents:", cmd,
            strcmp(cmd, "wrap") ? "" : " [-- agent arguments]");
    for (size_t i = 0; hr_agent_at(i); i++)
        fprintf(out, " %s", hr_agent_name(hr_agent_at(i)));
    fprintf(out, "\n\n%s\n",
            strcmp(cmd, "wrap")
                ? "Removes what `headroom wrap AGENT` added (its MCP registration) and stops\n"
                  "the proxy wrap started once no wrapped agent is left."
                : "Runs AGENT through the proxy on 127.0.0.1:PORT (HEADROOM_PORT, else 8787),\n"
                  "starting one in the background if none answers (log and pidfile in the data\n"
                  "dir; HEADROOM_WRAP_PROXY_TIMEOUT seconds to get ready, 45), and registers\n"
                  "`headroom mcp serve` with the agent where it reads MCP servers.");
}

/* The original's wrap options with no meaning here (its rtk / lean-ctx context tools,
 * memory, learning and backends): accepted so its users' command lines keep working.
 * 1 when argv[*i] is one (*i moved past its value, left on the option for the warning). */
static int original_wrap_option(int argc, char **argv, int *i)
{
    static const char *const flags[] = {"--no-rtk", "--no-context-tool", "--learn", "--memory",
                                        "--code-graph", "--verbose", "-v", "--prepare-only"};
    static const char *const valued[] = {"--backend", "--anyllm-provider", "--region"};
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
        if (!strcmp(argv[*i], flags[k]))
            return 1;
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
        if (!strcmp(argv[*i], valued[k]) && *i + 1 < argc) {
            fprintf(stderr, "headroom: warning: %s %s has no effect here\n", argv[*i],
                    argv[*i + 1]);
            (*i)++;
            return 2;
        }
    return 0;
}

/* 0 ok, 1 help printed, 2 usage error. */
static int parse(int argc, char **argv, wrap_opts *o)
{
    const char *cmd = argv[0];
    memset(o, 0, sizeof *o);
    o->mcp = 1;
    char err[256];
    if (hr_proxy_port_of(NULL, &o->port, err, sizeof err) != 0) {
        fprintf(stderr, "headroom %s: %s\n", cmd, err);
        return 2;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout, cmd);
        return argc < 2 ? 2 : 1;
    }
    if (!(o->agent = hr_agent_find(argv[1]))) {
        fprintf(stderr, "headroom %s: unknown agent '%s'\n", cmd, argv[1]);
        usage(stderr, cmd);
        return 2;
    }
    int i = 2, k;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else if ((!strcmp(argv[i], "--port") || !strcmp(argv[i], "-p")) && i + 1 < argc) {
            if (hr_proxy_port_of(argv[++i], &o->port, err, sizeof err) != 0) {
                fprintf(stderr, "headroom %s: %s\n", cmd, err);
                return 2;
            }
        } else if (!strcmp(argv[i], "--no-mcp")) {
            o->mcp = 0;
        } else if (!strcmp(argv[i], "--no-proxy")) {
            o->no_proxy = 1;
        } else if ((k = original_wrap_option(argc, argv, &i)) != 0) {
            if (k == 1)
                fprintf(stderr, "headroom: warning: %s has no effect here\n", argv[i]);
        } else {
            break; /* the agent's own arguments start here */
        }
    }
    o->first_arg = i;
    return 0;
}

static int state_path(const hr_agent *a, char *out, size_t n)
{
    char rel[128];
    snprintf(rel, sizeof rel, "wrap/%s.state", hr_agent_name(a));
    return hr_data_path(rel, out, n);
}

/* Seconds to wait for the proxy it starts: the commands' row (proxy/command_settings.h); a
 * bad variable is said and the default used (wrap still runs the agent). */
static int wrap_timeout(void)
{
    hr_command_config cc;
    char err[256];
    if (hr_command_config_load(&cc, err, sizeof err) != 0)
        fprintf(stderr, "headroom wrap: %s; using the default\n", err);
    return cc.wrap_proxy_timeout_s;
}

static int register_mcp(const wrap_opts *o)
{
    char path[4096], err[512];
    hr_conf_state st;
    if (state_path(o->agent, path, sizeof path) != 0 || hr_conf_state_load(&st, path) != 0) {
        fprintf(stderr, "headroom wrap: cannot read the wrap state in the data dir\n");
        return -1;
    }
    int rc = hr_agent_mcp_register(o->agent, &st, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "headroom wrap: MCP registration skipped: %s\n", err);
    else if (rc == 1 && hr_conf_state_save(&st, path) != 0)
        fprintf(stderr, "headroom wrap: cannot save %s; `headroom unwrap` will not know "
                        "what to remove\n", path);
    hr_conf_state_free(&st);
    return 0; /* a failed registration never stops the agent */
}

int hr_cmd_wrap(int argc, char **argv)
{
    wrap_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    char exe_path[4096], err[1024];
    int have_exe = hr_find_on_path(hr_agent_exe(o.agent), exe_path, sizeof exe_path) == 0;
    if (!have_exe && !hr_agent_is_editor(o.agent)) {
        fprintf(stderr, "headroom wrap: '%s' is not on PATH; install %s first\n",
                hr_agent_exe(o.agent), hr_agent_name(o.agent));
        return 127;
    }
    int started = 0;
    if (o.no_proxy && hr_proxy_probe(o.port, "/readyz", 1000) != 200) {
        fprintf(stderr, "headroom wrap: --no-proxy, and no proxy answers on port %d\n", o.port);
        return 1;
    }
    if (hr_proxy_ensure(o.port, NULL, wrap_timeout(), &started, err, sizeof err) != 0) {
        fprintf(stderr, "headroom wrap: %s\n", err);
        return 1;
    }
    fprintf(stderr, "headroom: proxy on http://127.0.0.1:%d (%s)\n", o.port,
            started ? "started in the background; `headroom unwrap` stops it" : "already running");
    if (o.mcp)
        register_mcp(&o);
    if (!have_exe) {
        hr_agent_instructions(o.agent, o.port, stdout);
        return 0;
    }
    hr_agent_apply_env(o.agent, o.port, stderr);
    char **args = calloc((size_t)(argc - o.first_arg + 2), sizeof *args);
    if (!args)
        return 1;
    args[0] = exe_path;
    for (int i = o.first_arg; i < argc; i++)
        args[i - o.first_arg + 1] = argv[i];
    execv(exe_path, args);
    perror("headroom wrap: exec");
    free(args);
    return 126;
}

/* 1 if any agent still has wrap state (so the shared proxy is in use). */
static int any_wrapped(void)
{
    char dir[4096];
    if (hr_data_path("wrap", dir, sizeof dir) != 0)
        return 0;
    DIR *d = opendir(dir);
    int found = 0;
    for (struct dirent *e; d && !found && (e = readdir(d));)
        found = strstr(e->d_name, ".state") != NULL;
    if (d)
        closedir(d);
    return found;
}

int hr_cmd_unwrap(int argc, char **argv)
{
    wrap_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    char path[4096], err[512];
    hr_conf_state st;
    if (state_path(o.agent, path, sizeof path) != 0 || hr_conf_state_load(&st, path) != 0) {
        fprintf(stderr, "headroom unwrap: cannot read the wrap state\n");
        return 1;
    }
    rc = hr_agent_mcp_undo(o.agent, &st, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "headroom unwrap: %s\n", err);
    } else {
        fprintf(stderr, "headroom: %s unwrapped (%zu change%s undone)\n", hr_agent_name(o.agent),
                st.n, st.n == 1 ? "" : "s");
        unlink(path);
    }
    hr_conf_state_free(&st);
    if (rc == 0 && !any_wrapped() && hr_proxy_stop_detached(o.port, 35) == 1)
        fprintf(stderr, "headroom: stopped the background proxy on port %d\n", o.port);
    return rc == 0 ? 0 : 1;
}
