/* mem.h: memory accounting and heap trimming, the observability half of the memory
 * invariants (docs/design.md).
 *
 * hr_mem_read fills a snapshot from /proc/self/status (VmRSS, RssAnon, RssFile, VmHWM,
 * Threads) and mallinfo2 (heap in use). hr_heap_trim wraps malloc_trim(0) and says what
 * happened, so callers can report truthfully whether memory went back to the kernel.
 */
#ifndef HR_SYS_MEM_H
#define HR_SYS_MEM_H

#include <stddef.h>
#include <sys/types.h>

typedef struct hr_mem_snapshot {
    size_t vm_rss;     /* bytes */
    size_t rss_anon;   /* bytes */
    size_t rss_file;   /* bytes */
    size_t rss_shmem;  /* bytes */
    size_t vm_hwm;     /* peak RSS, bytes */
    size_t heap_in_use; /* bytes allocated by malloc (mallinfo2 uordblks + hblkhd) */
    size_t heap_free;   /* bytes free inside the heap (fordblks) */
    int threads;
} hr_mem_snapshot;

/* 0 on success, -1 if /proc is unavailable (fields then zero). pid 0 = self. */
int hr_mem_read(pid_t pid, hr_mem_snapshot *out);

typedef enum {
    HR_TRIM_RELEASED = 0,     /* malloc_trim returned memory to the kernel */
    HR_TRIM_NOTHING = 1,      /* it ran and found nothing to release */
    HR_TRIM_UNAVAILABLE = 2,  /* no malloc_trim on this platform / allocator */
} hr_trim_result;

/* Trims the heap; *released_bytes (optional) is the RssAnon drop observed around it. */
hr_trim_result hr_heap_trim(long *released_bytes);

/* The same with the trim primitive given (malloc_trim's signature); NULL means the platform
 * has none. hr_heap_trim passes malloc_trim where glibc's heap is the one in use. Exposed so
 * every outcome can be tested in every build. */
typedef int (*hr_trim_fn)(size_t pad);
hr_trim_result hr_heap_trim_with(hr_trim_fn trim, long *released_bytes);
const char *hr_trim_result_name(hr_trim_result r);

#endif
