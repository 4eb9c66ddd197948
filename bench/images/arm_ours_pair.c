/* arm_ours_pair.c: the "ours" arm of the image-model memory benchmark (bench/images/ml_memory.sh).
 *
 * One fresh process: baseline -> load the router (BERT classifier) and the image encoder
 * (SigLIP) sessions -> N images, each = one router call on a question + one encoder call
 * on 3 x S x S pixels (seeded) -> unload both (the sessions trim the heap) -> one JSON
 * line. Memory as in bench/ml/arm_ours.c: /proc/self/status, peak = VmHWM after a reset at
 * "loaded" minus file and shmem pages; retained = RssAnon after unload - baseline.
 * Latency: wall per image (the pair), and the encoder call alone as wall and as process
 * CPU time (less sensitive than wall time to other jobs on a loaded machine).
 *
 * usage: arm_ours_pair ROUTER.hrm VIT.hrm N THREADS
 */
#include "ml/classifier.h"
#include "ml/session.h"
#include "ml/vision.h"
#include "sys/mem.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void snap_json(const char *key, const hr_mem_snapshot *s)
{
    printf("\"%s\":{\"rss\":%zu,\"anon\":%zu,\"file\":%zu,\"threads\":%d},", key, s->vm_rss,
           s->rss_anon, s->rss_file, s->threads);
}

static hr_ml_session *open_session(const char *name, const hr_ml_kind *kind, const char *path,
                                   int threads)
{
    hr_ml_session_config c;
    hr_ml_error err;
    hr_ml_session_config_init(&c, name, kind, path);
    c.threads = threads;
    c.idle_unload_ms = 0;
    hr_ml_session *s = hr_ml_session_open(&c, &err);
    if (!s || hr_ml_session_load(s, &err) != HR_ML_OK) {
        fprintf(stderr, "arm_ours_pair: %s: %s\n", path, err.msg);
        exit(1);
    }
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: arm_ours_pair ROUTER.hrm VIT.hrm N THREADS\n");
        return 2;
    }
    const int n = atoi(argv[3]), threads = atoi(argv[4]);
    hr_model_file *mf;
    hr_ml_error err;
    if (n < 1 || hr_model_file_open(argv[2], 0, &mf, &err) != 0) {
        fprintf(stderr, "arm_ours_pair: %s\n", n < 1 ? "N >= 1" : err.msg);
        return 1;
    }
    const int S = (int)mf->config.reserved[HR_VIT_CFG_IMAGE];
    hr_model_file_close(mf);
    const size_t npx = (size_t)3 * S * S;
    float *px = malloc(npx * sizeof *px), *emb = calloc(4096, sizeof *emb);
    double *lat = calloc((size_t)n, sizeof *lat), *vit_lat = calloc((size_t)n, sizeof *vit_lat),
           *vit_cpu = calloc((size_t)n, sizeof *vit_cpu);
    hr_mem_snapshot base, loaded, end, dropped;
    hr_mem_read(0, &base);
    double t0 = now_ms();
    hr_ml_session *router = open_session("image_router", &hr_ml_kind_encoder, argv[1], threads);
    hr_ml_session *vit = open_session("image_encoder", &hr_ml_kind_vision, argv[2], threads);
    double load_ms = now_ms() - t0;
    hr_mem_read(0, &loaded);
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "5", 1) != 1) { /* VmHWM then spans the run: still an upper bound */ }
        close(fd);
    }
    static const char *const qs[] = {"What is in this image?", "Read the error message exactly.",
                                     "Summarise the document in two lines.", "Is the chart going up?"};
    uint32_t seed = 7;
    float first = 0;
    char first_label[HR_LABEL_BYTES] = "";
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < npx; k++) { /* xorshift pixels in [-1, 1] */
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            px[k] = (float)(seed % 2001) / 1000.0f - 1.0f;
        }
        hr_ml_class_result r;
        int dim;
        double a = now_ms();
        if (hr_ml_classify(router, qs[i % 4], strlen(qs[i % 4]), &r, &err) != HR_ML_OK) {
            fprintf(stderr, "arm_ours_pair: %s\n", err.msg);
            return 1;
        }
        double v = now_ms(), c = cpu_ms();
        if (hr_ml_embed_pixels(vit, px, npx, emb, 4096, &dim, &err) != HR_ML_OK) {
            fprintf(stderr, "arm_ours_pair: %s\n", err.msg);
            return 1;
        }
        vit_cpu[i] = cpu_ms() - c;
        vit_lat[i] = now_ms() - v;
        lat[i] = now_ms() - a;
        if (i == 0) {
            first = emb[0];
            memcpy(first_label, r.label, sizeof first_label);
        }
    }
    hr_mem_read(0, &end);
    hr_ml_session_close(router);
    hr_ml_session_close(vit);
    hr_mem_read(0, &dropped);
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    qsort(vit_lat, (size_t)n, sizeof *vit_lat, cmp_double);
    qsort(vit_cpu, (size_t)n, sizeof *vit_cpu, cmp_double);
    printf("{\"arm\":\"ours\",\"threads\":%d,\"images\":%d,\"load_ms\":%.2f,", threads, n, load_ms);
    snap_json("baseline", &base);
    snap_json("loaded", &loaded);
    snap_json("dropped", &dropped);
    printf("\"peak\":{\"rss\":%zu,\"anon\":%zu},", end.vm_hwm,
           end.vm_hwm > end.rss_file + end.rss_shmem ? end.vm_hwm - end.rss_file - end.rss_shmem : 0);
    printf("\"latency_ms\":{\"p50\":%.3f,\"max\":%.3f},", lat[n / 2], lat[n - 1]);
    printf("\"encoder_ms\":{\"p50\":%.3f,\"cpu_p50\":%.3f},", vit_lat[n / 2], vit_cpu[n / 2]);
    printf("\"first\":[%.6g],\"first_label\":\"%s\"}\n", (double)first, first_label);
    free(px);
    free(emb);
    free(lat);
    free(vit_lat);
    free(vit_cpu);
    return 0;
}
