/* download.c: resumable, verified single-file download (contract in download.h).
 *
 * The Range request uses CURLOPT_RANGE rather than CURLOPT_RESUME_FROM: with the latter
 * curl fails a 200 answer outright, while here the write callback looks at the status of
 * the final response (after redirects: the Hub sends LFS files to a CDN) and restarts the
 * part file when the server ignored the range.
 */
#include "http/download.h"

#include "sys/hash.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hr_mkdir_p(const char *path, mode_t mode)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return (mkdir(tmp, mode) != 0 && errno != EEXIST) ? -1 : 0;
}

/* SHA-256 of the first `len` bytes of fd (from offset 0) into h. */
static int hash_prefix(int fd, uint64_t len, hr_sha256_ctx *h)
{
    char buf[1 << 16];
    uint64_t off = 0;
    while (off < len) {
        size_t want = len - off < sizeof buf ? (size_t)(len - off) : sizeof buf;
        ssize_t k = pread(fd, buf, want, (off_t)off);
        if (k <= 0) {
            if (k < 0 && errno == EINTR)
                continue;
            return -1;
        }
        hr_sha256_update(h, buf, (size_t)k);
        off += (uint64_t)k;
    }
    return 0;
}

static int file_sha256(const char *path, char hex[65], uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    hr_sha256_ctx h;
    uint8_t sum[32];
    hr_sha256_init(&h);
    int rc = hash_prefix(fd, (uint64_t)sb.st_size, &h);
    close(fd);
    hr_sha256_final(&h, sum);
    hr_hex(sum, 32, hex);
    *size = (uint64_t)sb.st_size;
    return rc;
}

typedef struct {
    hr_download *d;
    CURL *curl;
    int fd;
    hr_sha256_ctx sha;
    uint64_t have;     /* bytes in the part file */
    uint64_t base;     /* bytes present when the current response started */
    int started;       /* the first body byte of this response was seen */
    long status;
    int write_error;
    int discard;       /* a 416 answer's body: not file data */
} transfer;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    transfer *t = ud;
    size_t k = size * n;
    if (!t->started) {
        t->started = 1;
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
        if (t->status == 200 && t->have > 0) { /* range ignored: start over */
            if (ftruncate(t->fd, 0) != 0)
                return t->write_error = 1, 0;
            hr_sha256_init(&t->sha);
            t->have = t->base = 0;
        } else if (t->status == 416 && t->have > 0) {
            t->discard = 1; /* the part already holds the whole file */
        } else if (t->status != 200 && t->status != 206) {
            return 0; /* an error page is not the file */
        }
    }
    if (t->discard)
        return k;
    for (size_t off = 0; off < k;) {
        ssize_t w = write(t->fd, p + off, k - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            t->write_error = 1;
            return 0;
        }
        off += (size_t)w;
    }
    hr_sha256_update(&t->sha, p, k);
    t->have += k;
    return k;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dlnow, (void)ultotal, (void)ulnow;
    transfer *t = ud;
    if (t->d->progress)
        t->d->progress(t->d->progress_ud, t->have,
                       dltotal > 0 && t->started ? t->base + (uint64_t)dltotal : 0);
    return 0;
}

static CURLcode perform(transfer *t)
{
    CURL *c = t->curl;
    char range[32];
    curl_easy_setopt(c, CURLOPT_URL, t->d->url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "headroom-model-fetch");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, t->d->stall_timeout_s > 0 ? t->d->stall_timeout_s : 60L);
    if (t->have) {
        snprintf(range, sizeof range, "%llu-", (unsigned long long)t->have);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    return curl_easy_perform(c);
}

/* Opens the part file for appending and hashes what it already holds. */
static int open_part(transfer *t, const char *part, char *err, size_t errlen)
{
    struct stat sb;
    t->fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (t->fd < 0 || fstat(t->fd, &sb) != 0) {
        snprintf(err, errlen, "cannot open %s: %s", part, strerror(errno));
        return -1;
    }
    hr_sha256_init(&t->sha);
    int rfd = open(part, O_RDONLY | O_CLOEXEC);
    int rc = rfd >= 0 ? hash_prefix(rfd, (uint64_t)sb.st_size, &t->sha) : -1;
    if (rfd >= 0)
        close(rfd);
    if (rc != 0) {
        snprintf(err, errlen, "cannot read %s: %s", part, strerror(errno));
        return -1;
    }
    t->have = t->base = (uint64_t)sb.st_size;
    t->d->resumed_from = t->have;
    return 0;
}

/* Finishes a complete part: verify, then rename into place (or delete on a mismatch). */
static int finish(transfer *t, const char *part, char *err, size_t errlen)
{
    uint8_t sum[32];
    hr_sha256_final(&t->sha, sum);
    hr_hex(sum, 32, t->d->sha256_out);
    t->d->size = t->have;
    if (fsync(t->fd) != 0 || close(t->fd) != 0) {
        t->fd = -1;
        snprintf(err, errlen, "cannot write %s: %s", part, strerror(errno));
        return -1;
    }
    t->fd = -1;
    if (t->d->sha256_hex && strcmp(t->d->sha256_hex, t->d->sha256_out) != 0) {
        unlink(part);
        snprintf(err, errlen, "SHA-256 mismatch for %s: expected %s, got %s (partial data "
                              "deleted)", t->d->url, t->d->sha256_hex, t->d->sha256_out);
        return -1;
    }
    if (rename(part, t->d->path) != 0) {
        snprintf(err, errlen, "cannot move %s into place: %s", part, strerror(errno));
        return -1;
    }
    return 0;
}

int hr_download_file(hr_download *d, char *err, size_t errlen)
{
    char part[4200];
    snprintf(part, sizeof part, "%s.part", d->path);
    d->already_present = 0;
    d->resumed_from = 0;
    if (d->sha256_hex && file_sha256(d->path, d->sha256_out, &d->size) == 0 &&
        !strcmp(d->sha256_out, d->sha256_hex)) {
        d->already_present = 1;
        return 0;
    }
    transfer t = {.d = d, .fd = -1};
    if (open_part(&t, part, err, errlen) != 0) {
        if (t.fd >= 0)
            close(t.fd);
        return -1;
    }
    if (!(t.curl = curl_easy_init())) {
        close(t.fd);
        snprintf(err, errlen, "curl_easy_init failed");
        return -1;
    }
    CURLcode rc = perform(&t);
    long status = 0;
    curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(t.curl);
    /* 416 on a resumed request: the part already holds the whole file */
    if (rc == CURLE_OK && (status == 200 || status == 206 || (status == 416 && t.have > 0)))
        return finish(&t, part, err, errlen);
    close(t.fd);
    if (t.write_error)
        snprintf(err, errlen, "cannot write %s: %s", part, strerror(errno));
    else if (status >= 300 && !t.have)
        snprintf(err, errlen, "%s: HTTP %ld", d->url, status);
    else if (status >= 300)
        snprintf(err, errlen, "%s: HTTP %ld (%llu bytes kept in %s; run again to resume)",
                 d->url, status, (unsigned long long)t.have, part);
    else
        snprintf(err, errlen, "%s: %s (%llu bytes kept in %s; run again to resume)", d->url,
                 curl_easy_strerror(rc), (unsigned long long)t.have, part);
    return -1;
}
