/* memory_report.h: /debug/memory's "accounting" object: RssAnon explained by owner.
 *
 * Why: a budget is only a promise if every resident byte has an owner an operator can act
 * on. The report joins where memory lives (sys/memmap.h: heap arenas, thread stacks,
 * anonymous mmaps, libraries' private pages) with what the allocator and the subsystems
 * say they hold (mallinfo2; the in-flight budget; the session cache; the memory CCR store;
 * token rank tables; ML scratch):
 *   owners.thread_stacks      connections' and workers' stacks (touched pages), count
 *   owners.request_buffers    bytes requests hold now (the in-flight budget's reservations)
 *   owners.session_cache      compressed text the session cache holds
 *   owners.ccr_memory_store   originals in the memory CCR store (0 for sqlite/redis)
 *   owners.token_ranks        loaded tiktoken rank tables
 *   owners.ml_scratch         ML sessions' scratch regions (mapped)
 *   owners.heap_free_held     free bytes the allocator keeps (trimmed when idle)
 *   owners.other_allocations  the rest of malloc's in-use bytes (libcurl, libmicrohttpd,
 *                             parsed JSON, connection state)
 *   owners.library_data       libraries' private (relocated, written) pages
 * explained = the sum, capped per mapping kind at what is resident there; unexplained =
 * RssAnon - explained; explained_ratio = explained / RssAnon. RssFile: libraries vs other
 * files (model mmaps).
 */
#ifndef HR_PROXY_MEMORY_REPORT_H
#define HR_PROXY_MEMORY_REPORT_H

#include "sys/buf.h"
#include "sys/mem.h"

/* Reads /proc/self/status and smaps itself, retrying until the two agree ("settled":
 * false when memory kept moving through every try).
 * Appends {"settled":..,"rss_anon":..,"explained_ratio":..,"owners":{..},"mappings":{..},"rss_file":{..}}.
 * 0 ok, -1 on allocation failure or unreadable /proc. */
int hr_memory_report_json(hr_buf *out);

#endif
