/* memmap.h: where the process's resident memory lives, by kind of mapping, from
 * /proc/self/smaps. The accounting half of /debug/memory: status (mem.h) says how much
 * RssAnon there is; this says which mappings hold it, so owners can be matched to it.
 *
 * Kinds (anonymous bytes, the "Anonymous:" lines, which sum to RssAnon):
 *   heap_arenas    [heap] and glibc's per-thread arena heaps (rw anonymous mappings aligned
 *                  to the 64 MiB heap size and followed by their reserved PROT_NONE tail);
 *   thread_stacks  rw anonymous mappings right above a PROT_NONE guard of at most 64 KiB
 *                  (glibc puts a thread's guard below its stack), and [stack];
 *   anon_mmaps     every other anonymous mapping: malloc's own mmaps of large blocks, ML
 *                  scratch regions, libraries' private mappings;
 *   file_private   anonymous pages inside file mappings (libraries' relocated data).
 * File-backed resident bytes (RssFile) split into shared libraries (*.so) and other files
 * (model mmaps, rank files).
 */
#ifndef HR_SYS_MEMMAP_H
#define HR_SYS_MEMMAP_H

#include <stddef.h>

typedef struct hr_memmap {
    size_t anon_total;
    size_t heap_arenas;
    size_t thread_stacks;
    int n_thread_stacks;
    size_t anon_mmaps;
    size_t file_private;
    size_t file_libraries; /* resident file pages of *.so mappings */
    size_t file_other;     /* resident file pages of other files (models) */
} hr_memmap;

/* 0 ok, -1 when /proc/self/smaps cannot be read (out zeroed). */
int hr_memmap_read(hr_memmap *out);

/* Classification of one mapping (exposed for tests): perms like "rw-p", path "" for
 * anonymous; prev_* describe the mapping just below (prev_end == start when adjacent);
 * next_* the one just above. */
typedef enum { HR_MAP_HEAP, HR_MAP_STACK, HR_MAP_ANON, HR_MAP_FILE } hr_map_kind;
hr_map_kind hr_memmap_classify(unsigned long start, unsigned long end, const char *perms,
                               const char *path, unsigned long prev_start, unsigned long prev_end,
                               int prev_none, unsigned long next_start, int next_none);

#endif
