/* low_memory.h: the low-memory profile (HEADROOM_LOW_MEMORY=1 / --low-memory).
 *
 * Why one switch: a small VM or a sidecar wants the proxy small without learning a dozen
 * limits. The profile replaces the *defaults* before the environment and the flags are
 * read, so anything set explicitly still wins; what it sets is one table (below), printed
 * on the start-up line, returned by /health and listed in docs/deployment.md:
 *   memory budget 256 MB, in-flight bytes 64 MB, held answers 16 MiB, 256 connections,
 *   session cache 64 sessions / 512 entries / 2 MiB each / 16 MiB in all,
 *   memory CCR store 16 MiB / 8192 entries, ML threads 1, ML idle unload 30 s,
 *   malloc arenas 1.
 */
#ifndef HR_PROXY_LOW_MEMORY_H
#define HR_PROXY_LOW_MEMORY_H

#include "proxy/config.h"
#include "sys/buf.h"

/* 1 when HEADROOM_LOW_MEMORY is true or argv holds --low-memory (checked before parsing,
 * so the profile's values can sit under the environment and the flags). */
int hr_low_memory_requested(int argc, char **argv);
/* Sets the profile's values as cfg's defaults (cfg->low_memory = 1). */
void hr_low_memory_apply_defaults(hr_proxy_config *cfg);
/* After the environment and the flags: values that depend on them (the memory CCR
 * store's size, when that backend was chosen and no size given). */
void hr_low_memory_finish(hr_proxy_config *cfg);
/* At start-up, before any thread: the malloc arena cap to use (0 = the normal). */
int hr_low_memory_apply_process(const hr_proxy_config *cfg);
/* "name=value ..." for the start-up line; JSON object for /health. 0 or -1 (no memory). */
int hr_low_memory_describe(hr_buf *out);
int hr_low_memory_json(hr_buf *out);

#define HR_LOW_MEMORY_ARENA_MAX 1

#endif
