/* arm_ours.c: the "ours" arm of the side-by-side ML memory benchmark (bench/ml/run.sh).
 *
 * One fresh process: baseline -> load an encoder session -> N inferences over the shared
 * ids file -> unload (the session trims the heap) -> report. Memory comes from
 * /proc/self/status, measured exactly as the ONNX Runtime arms measure it (arm_ort.mjs):
 * peak = VmHWM after a reset at "loaded" (clear_refs 5), peak anon = VmHWM - RssFile -
 * RssShmem at the end of the run, also the largest RssAnon sampled after each inference.
 * Latency covers the call only (pooling included, tokenization excluded in every arm);
 * process CPU time per call is reported beside it.
 *
 * usage: arm_ours MODEL.hrm IDS.bin THREADS [kompress]   (prints one JSON object on stdout)
 * IDS.bin: u32 count, then per sequence u32 length and that many i32 ids (little-endian).
 * "kompress": the model is Kompress-shaped (ModernBERT + heads) and each call is
 * hr_kompress_score_ids through the compressor's own session (final_scores, one per id);
 * "first" is then sequence 0's scores. Otherwise an embedder session (hr_ml_embed_ids).
 */
#include "compress/kompress.h"
#include "ml/session.h"
#include "sys/mem.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct ids_set {
    uint32_t count;
    uint32_t *lens;
    int32_t **seqs;
    void *blob; /* owns everything above */
} ids_set;

static int read_ids(const char *path, ids_set *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)size);
    if (!b || fread(b, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(b);
        return -1;
    }
    fclose(f);
    memcpy(&out->count, b, 4);
    out->lens = calloc(out->count, sizeof *out->lens);
    out->seqs = calloc(out->count, sizeof *out->seqs);
    size_t off = 4;
    for (uint32_t i = 0; i < out->count; i++) {
        if (off + 4 > (size_t)size)
            return -1;
        memcpy(&out->lens[i], b + off, 4);
        off += 4;
        out->seqs[i] = (int32_t *)(b + off);
        off += (size_t)out->lens[i] * 4;
        if (off > (size_t)size)
            return -1;
    }
    out->blob = b;
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Process CPU time: what the call cost, less sensitive than wall time to other jobs. */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void reset_peak(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "5", 1) != 1) {
            /* older kernels: VmHWM then covers the whole run, still an upper bound */
        }
        close(fd);
    }
}

static void print_snap(const char *key, const hr_mem_snapshot *s)
{
    printf("\"%s\":{\"rss\":%zu,\"anon\":%zu,\"file\":%zu,\"threads\":%d},", key, s->vm_rss, s->rss_anon,
           s->rss_file, s->threads);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int kompress = argc == 5 && !strcmp(argv[4], "kompress");
    if (argc != 4 && !kompress) {
        fprintf(stderr, "usage: arm_ours MODEL.hrm IDS.bin THREADS [kompress]\n");
        return 2;
    }
    ids_set ids;
    if (read_ids(argv[2], &ids) != 0) {
        fprintf(stderr, "arm_ours: cannot read %s\n", argv[2]);
        return 1;
    }
    double *lat = calloc(ids.count, sizeof *lat);
    double *cpu = calloc(ids.count, sizeof *cpu);
    float *out = calloc(4096, sizeof *out);
    hr_mem_snapshot base, loaded, end, dropped;
    hr_mem_read(0, &base);

    hr_ml_session_config cfg;
    hr_ml_session_config_init(&cfg, "embedder", &hr_ml_kind_encoder, argv[1]);
    cfg.threads = atoi(argv[3]);
    cfg.queue_ms = 60000;
    hr_ml_error err;
    hr_kompress *k = NULL;
    hr_ml_session *s;
    if (kompress) {
        setenv("HEADROOM_ML_THREADS", argv[3], 1);
        hr_kompress_config kc;
        hr_kompress_config_init(&kc, argv[1]);
        kc.queue_ms = 60000;
        kc.idle_unload_ms = 0;
        k = hr_kompress_open(&kc, &err);
        s = hr_kompress_session(k);
    } else {
        s = hr_ml_session_open(&cfg, &err);
    }
    double t0 = now_ms();
    if (!s || hr_ml_session_load(s, &err) != HR_ML_OK) {
        fprintf(stderr, "arm_ours: %s\n", err.msg);
        return 1;
    }
    double load_ms = now_ms() - t0;
    hr_mem_read(0, &loaded);
    reset_peak();

    size_t max_anon = loaded.rss_anon;
    float first[4096];
    int dim = 0;
    for (uint32_t i = 0; i < ids.count; i++) {
        hr_ml_embed_info info;
        double c = cpu_ms();
        double a = now_ms();
        hr_ml_rc rc = kompress ? hr_kompress_score_ids(k, ids.seqs[i], (int)ids.lens[i], out, &err)
                               : hr_ml_embed_ids(s, ids.seqs[i], (int)ids.lens[i], out, 4096, &info, &err);
        info.dim = kompress ? (int)ids.lens[i] : info.dim;
        lat[i] = now_ms() - a;
        cpu[i] = cpu_ms() - c;
        if (i == 0 && rc == HR_ML_OK) {
            dim = info.dim;
            memcpy(first, out, sizeof(float) * (size_t)dim);
        }
        if (rc != HR_ML_OK) {
            fprintf(stderr, "arm_ours: inference %u: %s\n", i, err.msg);
            return 1;
        }
        hr_mem_snapshot m;
        hr_mem_read(0, &m);
        if (m.rss_anon > max_anon)
            max_anon = m.rss_anon;
    }
    hr_mem_read(0, &end);
    size_t peak_rss = end.vm_hwm;
    size_t peak_anon_hwm = end.vm_hwm - end.rss_file - end.rss_shmem;
    if (peak_anon_hwm > max_anon)
        max_anon = peak_anon_hwm;

    hr_ml_session_status st;
    hr_ml_session_unload(s); /* unmaps weights and scratch, joins threads, trims the heap */
    hr_ml_session_status_get(s, &st);
    if (k)
        hr_kompress_close(k);
    else
        hr_ml_session_close(s);
    hr_mem_read(0, &dropped);

    double sum = 0, cpu_sum = 0;
    for (uint32_t i = 0; i < ids.count; i++) {
        sum += lat[i];
        cpu_sum += cpu[i];
    }
    qsort(lat, ids.count, sizeof *lat, cmp_double);
    qsort(cpu, ids.count, sizeof *cpu, cmp_double);
    printf("{\"arm\":\"ours\",\"threads\":%d,\"inferences\":%u,\"load_ms\":%.2f,", cfg.threads, ids.count,
           load_ms);
    print_snap("baseline", &base);
    print_snap("loaded", &loaded);
    print_snap("dropped", &dropped);
    printf("\"peak\":{\"rss\":%zu,\"anon\":%zu},", peak_rss, max_anon);
    printf("\"trim\":\"%s\",", st.has_trim ? hr_trim_result_name(st.last_trim) : "none");
    printf("\"latency_ms\":{\"mean\":%.3f,\"p50\":%.3f,\"p95\":%.3f},", sum / ids.count,
           lat[ids.count / 2], lat[(size_t)(ids.count * 0.95)]);
    printf("\"cpu_ms\":{\"mean\":%.3f,\"p50\":%.3f},", cpu_sum / ids.count, cpu[ids.count / 2]);
    printf("\"first\":[");
    for (int i = 0; i < dim; i++)
        printf(i ? ",%.9g" : "%.9g", (double)first[i]);
    printf("]}\n");
    free(lat);
    free(cpu);
    free(out);
    free(ids.lens);
    free(ids.seqs);
    free(ids.blob);
    return 0;
}
