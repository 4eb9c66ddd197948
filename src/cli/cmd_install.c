/* cmd_install.c: `headroom install` / `uninstall` / `status`, as the original's persistent
 * install: a systemd service running the proxy, enabled and started; a user service
 * (~/.config/systemd/user) for a user, a system service (/etc/systemd/system) as root or
 * with --system. `status` says what runs where: the proxy on the port, the service, the
 * background proxy `wrap` started, wrapped agents and MCP registrations.
 *
 * The unit runs this very binary (its absolute path) with `proxy --port N` and the proxy
 * flags given after `--`; the data dir is pinned in the unit so the service, `wrap` and
 * `mcp serve` share one CCR store. Where systemd does not run (a container, a chroot) the
 * unit is still written and the message says how to start it.
 */
#include "cli/agents.h"
#include "cli/commands.h"
#include "cli/proxy_ctl.h"
#include "proxy/config.h"
#include "tokens/tokens.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNIT "headroom.service"

typedef struct install_opts {
    int system;          /* system service (root) rather than user service */
    int port;
    const char *unit_dir; /* NULL: systemd's directory for the scope */
    int first_proxy_arg; /* argv index after "--", or argc */
} install_opts;

static int parse(int argc, char **argv, install_opts *o)
{
    memset(o, 0, sizeof *o);
    o->system = geteuid() == 0;
    char err[256];
    if (hr_proxy_port_of(NULL, &o->port, err, sizeof err) != 0) {
        fprintf(stderr, "headroom %s: %s\n", argv[0], err);
        return 2;
    }
    o->first_proxy_arg = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            o->first_proxy_arg = i + 1;
            break;
        } else if (!strcmp(argv[i], "--system")) {
            o->system = 1;
        } else if (!strcmp(argv[i], "--user")) {
            o->system = 0;
        } else if ((!strcmp(argv[i], "--port") || !strcmp(argv[i], "-p")) && i + 1 < argc) {
            if (hr_proxy_port_of(argv[++i], &o->port, err, sizeof err) != 0) {
                fprintf(stderr, "headroom %s: %s\n", argv[0], err);
                return 2;
            }
        } else if (!strcmp(argv[i], "--unit-dir") && i + 1 < argc) {
            o->unit_dir = argv[++i];
        } else {
            FILE *out = !strcmp(argv[i], "--help") ? stdout : stderr;
            fprintf(out, "usage: headroom %s [--user | --system] [--port N] [--unit-dir DIR]%s\n\n"
                         "A systemd service running the proxy: a user service, or a system "
                         "service as root\n(or with --system). --unit-dir writes the unit "
                         "elsewhere (for packaging).\n",
                    argv[0], strcmp(argv[0], "install") ? "" : " [-- proxy flags]");
            return out == stdout ? 1 : 2;
        }
    }
    return 0;
}

static int unit_path(const install_opts *o, char *out, size_t n)
{
    if (o->unit_dir)
        return snprintf(out, n, "%s/" UNIT, o->unit_dir) < (int)n ? 0 : -1;
    if (o->system)
        return snprintf(out, n, "/etc/systemd/system/" UNIT) < (int)n ? 0 : -1;
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        return snprintf(out, n, "%s/systemd/user/" UNIT, xdg) < (int)n ? 0 : -1;
    if (!home || !*home)
        return -1;
    return snprintf(out, n, "%s/.config/systemd/user/" UNIT, home) < (int)n ? 0 : -1;
}

/* systemd quoting for ExecStart words: double quotes, with \ and " escaped; % doubled. */
static void put_word(FILE *f, const char *w)
{
    fputc('"', f);
    for (; *w; w++) {
        if (*w == '"' || *w == '\\')
            fputc('\\', f);
        if (*w == '%')
            fputc('%', f);
        fputc(*w, f);
    }
    fputc('"', f);
}

static int write_unit(const install_opts *o, const char *path, int argc, char **argv)
{
    char exe[4096], data[3072];
    if (hr_self_exe(exe, sizeof exe) != 0 || hr_tokens_data_dir(data, sizeof data) != 0)
        return -1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    if (hr_conf_mkdirs(NULL, dir) != 0)
        return -1;
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "# written by `headroom install`; `headroom uninstall` removes it\n"
               "[Unit]\nDescription=headroom context-compression proxy (127.0.0.1:%d)\n"
               "After=network-online.target\nWants=network-online.target\n\n"
               "[Service]\nType=simple\nExecStart=",
            o->port);
    put_word(f, exe);
    fprintf(f, " proxy --port %d", o->port);
    for (int i = o->first_proxy_arg; i < argc; i++) {
        fputc(' ', f);
        put_word(f, argv[i]);
    }
    fputs("\nEnvironment=", f);
    char env[3200];
    snprintf(env, sizeof env, "HEADROOM_DATA_DIR=%s", data);
    put_word(f, env);
    /* SIGTERM drains in-flight requests (--graceful-shutdown-timeout, 30 s) */
    fputs("\nRestart=on-failure\nRestartSec=2\nTimeoutStopSec=45\nNoNewPrivileges=yes\n"
          "PrivateTmp=yes\n",
          f);
    if (o->system)
        fprintf(f, "ProtectSystem=full\nReadWritePaths=-%s\n", data);
    fprintf(f, "\n[Install]\nWantedBy=%s\n", o->system ? "multi-user.target" : "default.target");
    return fclose(f) == 0 ? 0 : -1;
}

/* Runs systemctl [--user] args...; its exit status, or -1 when it cannot run. */
static int systemctl(int user, const char *a, const char *b, const char *c)
{
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[6] = {"systemctl"};
        int k = 1;
        if (user)
            argv[k++] = "--user";
        argv[k++] = a;
        if (b)
            argv[k++] = b;
        if (c)
            argv[k++] = c;
        argv[k] = NULL;
        execvp("systemctl", (char **)argv);
        _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) == 127)
        return -1;
    return WEXITSTATUS(st);
}

int hr_cmd_install(int argc, char **argv)
{
    install_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    char path[4096];
    if (unit_path(&o, path, sizeof path) != 0 || write_unit(&o, path, argc, argv) != 0) {
        fprintf(stderr, "headroom install: cannot write the unit file %s: %s\n", path,
                strerror(errno));
        return 1;
    }
    printf("wrote %s\n", path);
    if (o.unit_dir)
        return 0; /* packaging: enabling is the package manager's business */
    int user = !o.system;
    if (systemctl(user, "daemon-reload", NULL, NULL) != 0 ||
        systemctl(user, "enable", "--now", UNIT) != 0) {
        printf("systemd is not running here (or refused); start the proxy with:\n"
               "  systemctl %senable --now " UNIT "\nor run it directly: headroom proxy "
               "--port %d\n", user ? "--user " : "", o.port);
        return 1;
    }
    printf("enabled and started %s" UNIT "; http://127.0.0.1:%d (headroom status)\n",
           user ? "user service " : "system service ", o.port);
    return 0;
}

int hr_cmd_uninstall(int argc, char **argv)
{
    install_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    char path[4096];
    if (unit_path(&o, path, sizeof path) != 0)
        return 1;
    int user = !o.system;
    if (!o.unit_dir)
        systemctl(user, "disable", "--now", UNIT); /* fine if it was not enabled */
    if (unlink(path) != 0 && errno != ENOENT) {
        fprintf(stderr, "headroom uninstall: cannot remove %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (!o.unit_dir)
        systemctl(user, "daemon-reload", NULL, NULL);
    printf("removed %s\n", path);
    return 0;
}

/* ---- status ---------------------------------------------------------------------------- */

static void status_service(const char *scope, int user, const char *path)
{
    if (access(path, F_OK) != 0)
        return;
    int active = systemctl(user, "is-active", "--quiet", UNIT);
    printf("service   %s %s (%s)\n", scope, path,
           active == 0 ? "active" : active < 0 ? "systemd not available" : "inactive");
}

static void status_wrapped(void)
{
    char dir[4096];
    if (hr_data_path("wrap", dir, sizeof dir) != 0)
        return;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char *dot = strstr(e->d_name, ".state");
        if (dot)
            printf("wrapped   %.*s\n", (int)(dot - e->d_name), e->d_name);
    }
    if (d)
        closedir(d);
}

int hr_cmd_status(int argc, char **argv)
{
    install_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    int ready = hr_proxy_probe(o.port, "/readyz", 1000);
    printf("proxy     http://127.0.0.1:%d %s\n", o.port,
           ready == 200 ? "ready" : ready > 0 ? "answering, not ready" : "not running");
    pid_t pid = hr_proxy_detached_pid(o.port);
    if (pid)
        printf("background proxy started by wrap: pid %ld\n", (long)pid);
    char path[4096];
    install_opts u = o, s = o;
    u.system = 0;
    s.system = 1;
    if (unit_path(&u, path, sizeof path) == 0)
        status_service("user  ", 1, path);
    if (unit_path(&s, path, sizeof path) == 0)
        status_service("system", 0, path);
    status_wrapped();
    for (size_t i = 0; hr_agent_at(i); i++)
        if (hr_agent_mcp_registered(hr_agent_at(i)) &&
            hr_agent_mcp_path(hr_agent_at(i), path, sizeof path) == 0)
            printf("mcp       %s: %s\n", hr_agent_name(hr_agent_at(i)), path);
    char data[3072];
    if (hr_tokens_data_dir(data, sizeof data) == 0)
        printf("data dir  %s\n", data);
    return ready == 200 ? 0 : 3;
}

/* `headroom probe [PATH] [--port N]`: exit 0 when GET PATH (/livez) on 127.0.0.1 answers
 * 200 within 2 s. The container's HEALTHCHECK: the runtime image has no curl. */
int hr_cmd_probe(int argc, char **argv)
{
    const char *path = "/livez";
    int port;
    char err[256];
    if (hr_proxy_port_of(NULL, &port, err, sizeof err) != 0) {
        fprintf(stderr, "headroom probe: %s\n", err);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "--port") || !strcmp(argv[i], "-p")) && i + 1 < argc) {
            if (hr_proxy_port_of(argv[++i], &port, err, sizeof err) != 0) {
                fprintf(stderr, "headroom probe: %s\n", err);
                return 2;
            }
        } else if (argv[i][0] == '/')
            path = argv[i];
        else {
            fprintf(stderr, "usage: headroom probe [/PATH] [--port N]\n");
            return 2;
        }
    }
    int status = hr_proxy_probe(port, path, 2000);
    if (status != 200)
        fprintf(stderr, "headroom probe: http://127.0.0.1:%d%s: %s%d\n", port, path,
                status < 0 ? "no answer " : "status ", status);
    return status == 200 ? 0 : 1;
}
