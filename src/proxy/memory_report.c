/* memory_report.c: RssAnon by owner (see memory_report.h). */
#include "proxy/memory_report.h"

#include "ccr/store.h"
#include "compress/pipeline_instance.h"
#include "ml/session.h"
#include "sys/budget.h"
#include "sys/memmap.h"
#include "tokens/bpe.h"

#include <string.h>

typedef struct owners {
    size_t stacks, requests, cache, ccr, ranks, scratch, heap_free, other, libdata;
} owners;

static size_t ccr_memory_bytes(void)
{
    hr_ccr_store *s = hr_ccr_process_store();
    if (!s)
        return 0;
    hr_ccr_stats st;
    hr_ccr_store_stats(s, &st);
    return st.backend && !strcmp(st.backend, "memory") && st.bytes > 0 ? (size_t)st.bytes : 0;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* malloc's bytes live in the heap arenas and (large blocks) in anonymous mmaps; ML scratch
 * in anonymous mmaps too. Named owners come out of malloc's in-use bytes first; what the
 * allocator says exceeds what is resident (untouched pages) is capped to the residents. */
static void attribute(const hr_mem_snapshot *m, const hr_memmap *mm, owners *o)
{
    memset(o, 0, sizeof *o);
    o->stacks = mm->thread_stacks;
    o->libdata = mm->file_private;
    size_t resident_heapish = mm->heap_arenas + mm->anon_mmaps;
    o->scratch = min_size(hr_ml_scratch_mapped(), mm->anon_mmaps);
    size_t malloc_resident = resident_heapish - o->scratch;
    /* another allocator (LD_PRELOAD, a sanitizer) hides its heap from mallinfo2: then all
     * of what is resident there counts as in use */
    size_t in_use = m->heap_in_use ? m->heap_in_use : malloc_resident;
    o->requests = min_size(hr_budget_used(hr_budget_process()), in_use);
    o->cache = min_size(hr_pipeline_cache_bytes(hr_pipeline_process()), in_use - o->requests);
    o->ccr = min_size(ccr_memory_bytes(), in_use - o->requests - o->cache);
    o->ranks = min_size(hr_ranks_bytes_held(), in_use - o->requests - o->cache - o->ccr);
    size_t named = o->requests + o->cache + o->ccr + o->ranks;
    o->other = in_use - named;
    o->heap_free = m->heap_free;
    /* Untouched pages are not resident: what malloc and the reservations claim beyond
     * what is resident there is cut, from the least specific owner to the most (free
     * bytes held, other allocations, then reservations, which are upper bounds). */
    size_t *cut_order[] = {&o->heap_free, &o->other, &o->requests, &o->cache, &o->ccr, &o->ranks};
    size_t claimed = in_use + o->heap_free;
    size_t over = claimed > malloc_resident ? claimed - malloc_resident : 0;
    for (size_t i = 0; i < sizeof cut_order / sizeof cut_order[0] && over; i++) {
        size_t cut = min_size(over, *cut_order[i]);
        *cut_order[i] -= cut;
        over -= cut;
    }
}

static size_t abs_diff(size_t a, size_t b) { return a > b ? a - b : b - a; }

/* status and smaps are two reads a moment apart; while bodies arrive RssAnon can grow tens
 * of MB between them. Read status on both sides of smaps and retry until the two agree
 * within 1 % (or 256 KiB), so the kinds of mapping add up to the RssAnon reported beside
 * them. Returns 1 when settled, 0 when memory kept moving through every try, -1 on error. */
static int read_settled(hr_mem_snapshot *m, hr_memmap *mm)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        hr_mem_snapshot before;
        if (hr_mem_read(0, &before) != 0 || hr_memmap_read(mm) != 0 || hr_mem_read(0, m) != 0)
            return -1;
        size_t slack = m->rss_anon / 100 > 256 * 1024 ? m->rss_anon / 100 : 256 * 1024;
        if (abs_diff(before.rss_anon, m->rss_anon) <= slack &&
            abs_diff(mm->anon_total, m->rss_anon) <= slack)
            return 1;
    }
    return 0;
}

int hr_memory_report_json(hr_buf *out)
{
    hr_mem_snapshot snap;
    hr_memmap mm;
    int settled = read_settled(&snap, &mm);
    if (settled < 0)
        return -1;
    const hr_mem_snapshot *m = &snap;
    owners o;
    attribute(m, &mm, &o);
    size_t explained = o.stacks + o.requests + o.cache + o.ccr + o.ranks + o.scratch +
                       o.heap_free + o.other + o.libdata;
    if (explained > m->rss_anon && m->rss_anon)
        explained = m->rss_anon; /* the two reads are a moment apart */
    double ratio = m->rss_anon ? (double)explained / (double)m->rss_anon : 1.0;
    return hr_buf_printf(out,
        "{\"settled\":%s,\"rss_anon\":%zu,\"explained\":%zu,\"unexplained\":%zu,\"explained_ratio\":%.4f,"
        "\"owners\":{\"thread_stacks\":%zu,\"threads\":%d,\"request_buffers\":%zu,"
        "\"session_cache\":%zu,\"ccr_memory_store\":%zu,\"token_ranks\":%zu,\"ml_scratch\":%zu,"
        "\"heap_free_held\":%zu,\"other_allocations\":%zu,\"library_data\":%zu},"
        "\"mappings\":{\"heap_arenas\":%zu,\"thread_stacks\":%zu,\"stack_count\":%d,"
        "\"anon_mmaps\":%zu,\"file_private\":%zu,\"anon_total\":%zu},"
        "\"rss_file\":{\"total\":%zu,\"libraries\":%zu,\"other_files\":%zu}}",
        settled ? "true" : "false", m->rss_anon, explained, m->rss_anon - explained, ratio, o.stacks, m->threads,
        o.requests, o.cache, o.ccr, o.ranks, o.scratch, o.heap_free, o.other, o.libdata,
        mm.heap_arenas, mm.thread_stacks, mm.n_thread_stacks, mm.anon_mmaps, mm.file_private,
        mm.anon_total, m->rss_file, mm.file_libraries, mm.file_other);
}
