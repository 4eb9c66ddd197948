/* proxy.h: the running proxy: `headroom proxy` calls hr_proxy_run, which starts the upstream
 * client and the HTTP server, serves until SIGTERM/SIGINT, then drains gracefully (stop
 * accepting, /readyz 503, wait for in-flight requests up to the graceful timeout) and
 * returns the exit code (0 after a clean drain).
 *
 * Process-wide state (a documented singleton: readiness, draining, in-flight count) lives
 * in proxy.c; the functions below read it for the health routes.
 */
#ifndef HR_PROXY_PROXY_H
#define HR_PROXY_PROXY_H

#include "proxy/config.h"

int hr_proxy_run(const hr_proxy_config *cfg);

int hr_proxy_ready(void);      /* serving and not draining */
int hr_proxy_draining(void);
int hr_proxy_in_flight(void);  /* requests received and not yet finished */
int hr_proxy_port(void);       /* the port listened on (the system's choice for --port 0);
                                  0 before the server listens */
unsigned hr_proxy_connections(void); /* open client connections (0 when not serving) */
/* The effective limits (--limit-concurrency capped by the open-file limit, proxy.c
 * connection_limits): client connections and requests relayed at once; 0 before serving. */
unsigned hr_proxy_max_connections(void);
unsigned hr_proxy_max_active(void);
/* Client connections cut at a header/body deadline (408) and refused over the per-address
 * limit (429) since start (0 when not serving). */
void hr_proxy_client_guard_counts(unsigned long *cut, unsigned long *refused);

#endif
