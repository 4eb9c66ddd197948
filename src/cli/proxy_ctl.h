/* proxy_ctl.h: a proxy in the background for `headroom wrap` (and `status`): probe one on
 * 127.0.0.1:port, start one detached (own session, log file and pidfile in the data dir,
 * wait for /readyz), stop the one we started.
 *
 * Files: <data dir>/proxy-<port>.pid and <data dir>/logs/proxy-<port>.log, so proxies on
 * different ports never share them.
 */
#ifndef HR_CLI_PROXY_CTL_H
#define HR_CLI_PROXY_CTL_H

#include <stddef.h>
#include <sys/types.h>

/* HTTP status of GET path on 127.0.0.1:port within timeout_ms; -1 no answer. */
int hr_proxy_probe(int port, const char *path, int timeout_ms);

/* Reuses a proxy answering /readyz on port, else starts `headroom proxy --port port` with
 * extra_args, detached, and waits up to timeout_s for /readyz. started: 1 when we started
 * it. 0 ok, -1 failed (err names why, with the log's tail). */
int hr_proxy_ensure(int port, char *const *extra_args, int timeout_s, int *started, char *err,
                    size_t errlen);

/* The pid recorded for port's detached proxy if that process still runs, else 0. */
pid_t hr_proxy_detached_pid(int port);

/* SIGTERM to port's detached proxy and wait up to timeout_s for it to exit. 1 stopped,
 * 0 none was running, -1 still running. */
int hr_proxy_stop_detached(int port, int timeout_s);

/* <data dir>/<rel>; 0 ok. */
int hr_data_path(const char *rel, char *out, size_t n);

/* The absolute path of this executable (what agents' MCP configs and services run). */
int hr_self_exe(char *out, size_t n);

#endif
