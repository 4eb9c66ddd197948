/* memmap.c: /proc/self/smaps by kind of mapping (see memmap.h). One pass, one line buffer;
 * a mapping's kind needs its neighbours, so each is classified when the next header is
 * read. */
#include "sys/memmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_HEAP_ALIGN (64UL << 20) /* glibc's HEAP_MAX_SIZE on 64-bit */
#define MAX_GUARD (64UL << 10)

hr_map_kind hr_memmap_classify(unsigned long start, unsigned long end, const char *perms,
                               const char *path, unsigned long prev_start, unsigned long prev_end,
                               int prev_none, unsigned long next_start, int next_none)
{
    (void)end;
    if (path[0] == '/')
        return HR_MAP_FILE;
    if (!strcmp(path, "[heap]"))
        return HR_MAP_HEAP;
    if (!strcmp(path, "[stack]"))
        return HR_MAP_STACK;
    if (path[0] || strncmp(perms, "rw", 2) != 0)
        return HR_MAP_ANON;
    if (start % ARENA_HEAP_ALIGN == 0 && next_none && next_start == end)
        return HR_MAP_HEAP;
    if (prev_none && prev_end == start && prev_end - prev_start <= MAX_GUARD)
        return HR_MAP_STACK;
    return HR_MAP_ANON;
}

typedef struct mapping {
    unsigned long start, end;
    char perms[8];
    char path[256];
    size_t rss, anon;
    int none; /* PROT_NONE anonymous */
} mapping;

static int is_library(const char *path)
{
    const char *so = strstr(path, ".so");
    return so && (so[3] == 0 || so[3] == '.');
}

static void add(hr_memmap *m, const mapping *cur, const mapping *prev, const mapping *next)
{
    hr_map_kind k = hr_memmap_classify(cur->start, cur->end, cur->perms, cur->path,
                                       prev ? prev->start : 0, prev ? prev->end : 0,
                                       prev && prev->none, next ? next->start : 0,
                                       next && next->none);
    m->anon_total += cur->anon;
    switch (k) {
    case HR_MAP_FILE:
        m->file_private += cur->anon;
        if (is_library(cur->path))
            m->file_libraries += cur->rss - cur->anon;
        else
            m->file_other += cur->rss - cur->anon;
        break;
    case HR_MAP_HEAP: m->heap_arenas += cur->anon; break;
    case HR_MAP_STACK:
        m->thread_stacks += cur->anon;
        m->n_thread_stacks++;
        break;
    default: m->anon_mmaps += cur->anon; break;
    }
}

static int parse_header(const char *line, mapping *out)
{
    memset(out, 0, sizeof *out);
    char path[256] = "";
    int n = sscanf(line, "%lx-%lx %7s %*s %*s %*s %255[^\n]", &out->start, &out->end,
                   out->perms, path);
    if (n < 3)
        return -1;
    snprintf(out->path, sizeof out->path, "%s", n == 4 ? path : "");
    out->none = !strncmp(out->perms, "---", 3) && !out->path[0];
    return 0;
}

static size_t kb_value(const char *line, const char *key)
{
    size_t kl = strlen(key);
    if (strncmp(line, key, kl) != 0)
        return (size_t)-1;
    return (size_t)strtoull(line + kl, NULL, 10) * 1024;
}

int hr_memmap_read(hr_memmap *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f)
        return -1;
    mapping win[3]; /* prev, cur, next: cur is added once next's header is read */
    int have = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        mapping m;
        size_t v;
        if (parse_header(line, &m) == 0) { /* field lines ("Rss:   4 kB") never parse */
            if (have == 3) {
                win[0] = win[1];
                win[1] = win[2];
                have = 2;
            }
            win[have++] = m;
            if (have == 3)
                add(out, &win[1], &win[0], &win[2]);
            else if (have == 2)
                add(out, &win[0], NULL, &win[1]);
        } else if (have && (v = kb_value(line, "Rss:")) != (size_t)-1) {
            win[have - 1].rss = v;
        } else if (have && (v = kb_value(line, "Anonymous:")) != (size_t)-1) {
            win[have - 1].anon = v;
        }
    }
    fclose(f);
    if (have >= 2)
        add(out, &win[have - 1], &win[have - 2], NULL);
    else if (have == 1)
        add(out, &win[0], NULL, NULL);
    return 0;
}
