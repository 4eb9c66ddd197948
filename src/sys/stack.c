/* stack.c: see stack.h. The bounds come from pthread_getattr_np, which for threads other
 * than the main one reads the thread's own descriptor (no /proc access); the guard page sits
 * below the returned base and is never touched. */
#include "sys/stack.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

size_t hr_stack_release_below(size_t margin)
{
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return 0;
    void *base = NULL;
    size_t size = 0;
    int rc = pthread_attr_getstack(&attr, &base, &size);
    pthread_attr_destroy(&attr);
    if (rc != 0 || !base)
        return 0;
    char here;
    uintptr_t lo = (uintptr_t)base, sp = (uintptr_t)&here;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    if (sp < lo || sp - lo > size || sp - lo <= margin + page)
        return 0; /* not this thread's stack (a sanitizer's fake frame), or nothing below */
    uintptr_t hi = (sp - margin) & ~(page - 1);
    if (madvise((void *)lo, hi - lo, MADV_DONTNEED) != 0)
        return 0;
    return hi - lo;
}
