/* proxy_ctl.c: probing, starting and stopping a background proxy (see proxy_ctl.h). The
 * probe is a plain HTTP/1.0 request over a loopback socket: no libcurl needed to ask our
 * own proxy whether it is ready. */
#include "cli/proxy_ctl.h"

#include "cli/conf_edit.h"
#include "sys/buf.h"
#include "sys/clock.h"
#include "tokens/tokens.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int hr_data_path(const char *rel, char *out, size_t n)
{
    char dir[3072];
    if (hr_tokens_data_dir(dir, sizeof dir) != 0)
        return -1;
    return snprintf(out, n, "%s/%s", dir, rel) < (int)n ? 0 : -1;
}

int hr_self_exe(char *out, size_t n)
{
    ssize_t k = readlink("/proc/self/exe", out, n - 1);
    if (k <= 0)
        return -1;
    out[k] = 0;
    return 0;
}

int hr_proxy_probe(int port, const char *path, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    long deadline = hr_now_ms64() + timeout_ms;
    int status = -1;
    struct pollfd p = {fd, POLLOUT, 0};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS)
        goto out;
    if (poll(&p, 1, timeout_ms) != 1 || (p.revents & (POLLERR | POLLHUP)))
        goto out;
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n)
        goto out;
    char resp[64] = {0};
    size_t got = 0;
    while (got < sizeof resp - 1) {
        long left = deadline - hr_now_ms64();
        p.events = POLLIN;
        if (left <= 0 || poll(&p, 1, (int)left) != 1)
            break;
        ssize_t r = read(fd, resp + got, sizeof resp - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (memchr(resp, '\n', got))
            break;
    }
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
out:
    close(fd);
    return status;
}

static int pid_path(int port, char *out, size_t n)
{
    char rel[64];
    snprintf(rel, sizeof rel, "proxy-%d.pid", port);
    return hr_data_path(rel, out, n);
}

pid_t hr_proxy_detached_pid(int port)
{
    char path[4096];
    if (pid_path(port, path, sizeof path) != 0)
        return 0;
    char *s = hr_buf_read_file(path, NULL);
    long pid = s ? strtol(s, NULL, 10) : 0;
    free(s);
    return pid > 0 && kill((pid_t)pid, 0) == 0 ? (pid_t)pid : 0;
}

/* The child: its own session (the agent's Ctrl-C does not reach it), output to the log. */
static void exec_proxy(const char *exe, int port, char *const *extra, int log_fd)
{
    setsid();
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0)
        dup2(null, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    char ports[16];
    snprintf(ports, sizeof ports, "%d", port);
    char *argv[64] = {(char *)exe, "proxy", "--port", ports};
    int k = 4;
    for (; extra && *extra && k < 63; extra++)
        argv[k++] = *extra;
    argv[k] = NULL;
    execv(exe, argv);
    _exit(127);
}

/* Double fork: the proxy is re-parented to init, so it is never a zombie of the agent that
 * wrap execs next, and its death is visible to kill(pid, 0). Returns its pid, or -1. */
static pid_t spawn_detached(const char *exe, int port, char *const *extra, int log_fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    pid_t mid = fork();
    if (mid == 0) {
        close(fds[0]);
        pid_t pid = fork();
        if (pid == 0)
            exec_proxy(exe, port, extra, log_fd);
        ssize_t w = write(fds[1], &pid, sizeof pid);
        _exit(w == (ssize_t)sizeof pid && pid > 0 ? 0 : 1);
    }
    close(fds[1]);
    pid_t pid = -1;
    if (mid < 0 || read(fds[0], &pid, sizeof pid) != (ssize_t)sizeof pid)
        pid = -1;
    close(fds[0]);
    if (mid > 0)
        waitpid(mid, NULL, 0);
    return pid;
}

static void log_tail(const char *log, char *out, size_t n)
{
    size_t len = 0;
    char *s = hr_buf_read_file(log, &len);
    const char *t = s ? (len > 600 ? s + len - 600 : s) : "(no log)";
    snprintf(out, n, "%s", t);
    free(s);
}

int hr_proxy_ensure(int port, char *const *extra_args, int timeout_s, int *started, char *err,
                    size_t errlen)
{
    *started = 0;
    if (hr_proxy_probe(port, "/readyz", 1000) == 200)
        return 0;
    char exe[4096], log[4096], rel[64], pidf[4096], logs_dir[4096];
    snprintf(rel, sizeof rel, "logs/proxy-%d.log", port);
    if (hr_self_exe(exe, sizeof exe) != 0 || hr_data_path(rel, log, sizeof log) != 0 ||
        pid_path(port, pidf, sizeof pidf) != 0 || hr_data_path("logs", logs_dir, sizeof logs_dir) != 0 ||
        hr_conf_mkdirs(NULL, logs_dir) != 0) {
        snprintf(err, errlen, "cannot prepare the data directory for the proxy's log");
        return -1;
    }
    int log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", log, strerror(errno));
        return -1;
    }
    pid_t pid = spawn_detached(exe, port, extra_args, log_fd);
    close(log_fd);
    if (pid < 0) {
        snprintf(err, errlen, "cannot start the proxy: %s", strerror(errno));
        return -1;
    }
    FILE *pf = fopen(pidf, "w");
    if (pf) {
        fprintf(pf, "%ld\n", (long)pid);
        fclose(pf);
    }
    long deadline = hr_now_ms64() + timeout_s * 1000L;
    while (hr_now_ms64() < deadline) {
        if (hr_proxy_probe(port, "/readyz", 500) == 200) {
            *started = 1;
            return 0;
        }
        if (kill(pid, 0) != 0) {
            char tail[640];
            log_tail(log, tail, sizeof tail);
            snprintf(err, errlen, "the proxy exited at start (log %s):\n%s", log, tail);
            unlink(pidf);
            return -1;
        }
        usleep(50 * 1000);
    }
    kill(pid, SIGTERM);
    snprintf(err, errlen, "the proxy was not ready on port %d within %d s (log %s; "
             "HEADROOM_WRAP_PROXY_TIMEOUT sets the wait)", port, timeout_s, log);
    return -1;
}

int hr_proxy_stop_detached(int port, int timeout_s)
{
    pid_t pid = hr_proxy_detached_pid(port);
    char pidf[4096];
    if (pid_path(port, pidf, sizeof pidf) != 0)
        return 0;
    if (!pid) {
        unlink(pidf);
        return 0;
    }
    kill(pid, SIGTERM);
    long deadline = hr_now_ms64() + timeout_s * 1000L;
    while (kill(pid, 0) == 0 && hr_now_ms64() < deadline) {
        usleep(50 * 1000);
    }
    if (kill(pid, 0) == 0)
        return -1;
    unlink(pidf);
    return 1;
}
