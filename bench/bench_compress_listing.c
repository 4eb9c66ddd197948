/* bench_compress_listing: speed and savings of the file-listing compressor on a generated
 * `find . -type f` listing (200,000 paths, ~10 MB, 6 services x 5 dirs x 40 subdirs), with
 * side-by-side baselines in the same run: a memchr line scan and the SHA-256 content hash
 * every compressed output must name. Also the speed of detection on the same bytes.
 * Each figure is the best of RUNS runs. Usage: bench_compress_listing [runs]. */
#include "compress/detect.h"
#include "compress/listing.h"
#include "sys/buf.h"
#include "sys/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void gen_find(hr_buf *b, unsigned n)
{
    static const char *const svc[] = {"billing", "auth", "orders", "search", "notify", "gateway"};
    static const char *const dir[] = {"app", "tests", "migrations", "config", "docs"};
    static const char *const ext[] = {"py", "py", "py", "yaml", "md", "json", "sql", "txt"};
    unsigned long long s = 88172645463325252ull;
    for (unsigned i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        hr_buf_printf(b, "./services/%s/%s/part%llu/mod_%u.%s\n", svc[s % 6], dir[(s >> 8) % 5],
                      (s >> 16) % 40, i, ext[(s >> 24) % 8]);
    }
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    hr_buf in = HR_BUF_INIT;
    gen_find(&in, 200000);
    double mb = (double)in.len / 1e6, best_scan = 1e9, best_hash = 1e9, best_det = 1e9,
           best_comp = 1e9;
    size_t lines = 0, out_len = 0;
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.query = "where is the retry budget configured for billing?";
    o.query_len = strlen(o.query);
    for (int r = 0; r < runs; r++) {
        double t = now();
        lines = 0;
        for (const char *p = in.data, *e = in.data + in.len; p && p < e; lines++) {
            p = memchr(p, '\n', (size_t)(e - p));
            p = p ? p + 1 : NULL;
        }
        double t1 = now();
        char h[HR_CONTENT_HASH_HEX + 1];
        hr_content_hash(in.data, in.len, h);
        double t2 = now();
        hr_content_type ty = hr_detect(in.data, in.len);
        double t3 = now();
        hr_compress_result res;
        if (hr_compress_listing(in.data, in.len, &o, &res) != 0 || !res.compressed ||
            ty != HR_CT_LISTING) {
            fprintf(stderr, "listing not detected or not compressed\n");
            return 1;
        }
        double t4 = now();
        out_len = res.out.len;
        hr_compress_result_free(&res);
        best_scan = t1 - t < best_scan ? t1 - t : best_scan;
        best_hash = t2 - t1 < best_hash ? t2 - t1 : best_hash;
        best_det = t3 - t2 < best_det ? t3 - t2 : best_det;
        best_comp = t4 - t3 < best_comp ? t4 - t3 : best_comp;
    }
    printf("input: %zu lines, %.1f MB\n", lines, mb);
    printf("baseline line scan   %8.0f MB/s\n", mb / best_scan);
    printf("baseline SHA-256     %8.0f MB/s\n", mb / best_hash);
    printf("detection            %8.0f MB/s\n", mb / best_det);
    printf("listing compressor   %8.0f MB/s  (%.1f ms)\n", mb / best_comp, best_comp * 1e3);
    printf("bytes %zu -> %zu (%.2f%%)\n", in.len, out_len, 100.0 * (1.0 - (double)out_len / (double)in.len));
    hr_buf_free(&in);
    return 0;
}
