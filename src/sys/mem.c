/* mem.c: see mem.h. */
#include "sys/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static size_t kb_field(const char *line, const char *key)
{
    size_t klen = strlen(key);
    if (strncmp(line, key, klen) != 0 || line[klen] != ':')
        return (size_t)-1;
    unsigned long long kb = 0;
    if (sscanf(line + klen + 1, " %llu", &kb) != 1)
        return (size_t)-1;
    return (size_t)kb * 1024;
}

int hr_mem_read(pid_t pid, hr_mem_snapshot *out)
{
    memset(out, 0, sizeof *out);
    char path[64];
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/status");
    else
        snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        size_t v;
        if ((v = kb_field(line, "VmRSS")) != (size_t)-1) out->vm_rss = v;
        else if ((v = kb_field(line, "RssAnon")) != (size_t)-1) out->rss_anon = v;
        else if ((v = kb_field(line, "RssFile")) != (size_t)-1) out->rss_file = v;
        else if ((v = kb_field(line, "RssShmem")) != (size_t)-1) out->rss_shmem = v;
        else if ((v = kb_field(line, "VmHWM")) != (size_t)-1) out->vm_hwm = v;
        else if (strncmp(line, "Threads:", 8) == 0) out->threads = (int)strtol(line + 8, NULL, 10);
    }
    fclose(f);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    if (pid == 0) {
        struct mallinfo2 mi = mallinfo2();
        out->heap_in_use = mi.uordblks + mi.hblkhd;
        out->heap_free = mi.fordblks;
    }
#endif
    return 0;
}

hr_trim_result hr_heap_trim_with(hr_trim_fn trim, long *released_bytes)
{
    if (released_bytes)
        *released_bytes = 0;
    if (!trim)
        return HR_TRIM_UNAVAILABLE;
    hr_mem_snapshot before, after;
    int have = hr_mem_read(0, &before) == 0;
    int released = trim(0);
    if (have && hr_mem_read(0, &after) == 0 && released_bytes)
        *released_bytes = (long)before.rss_anon - (long)after.rss_anon;
    return released ? HR_TRIM_RELEASED : HR_TRIM_NOTHING;
}

hr_trim_result hr_heap_trim(long *released_bytes)
{
#if defined(__GLIBC__) && !defined(HEADROOM_SANITIZE)
    return hr_heap_trim_with(malloc_trim, released_bytes);
#else
    /* Sanitizer runtimes replace malloc; glibc's trim would not see their heap. */
    return hr_heap_trim_with(NULL, released_bytes);
#endif
}

const char *hr_trim_result_name(hr_trim_result r)
{
    switch (r) {
    case HR_TRIM_RELEASED: return "released";
    case HR_TRIM_NOTHING: return "nothing_to_release";
    default: return "unavailable";
    }
}
