/* download.h: one file over HTTP(S) to disk, resumable and verified (`headroom model fetch`).
 *
 * Bytes go to PATH.part (mode 0600) as they arrive; an interrupted transfer leaves the part
 * file, and the next call asks only for the rest (Range: bytes=K-). A server that answers
 * 200 instead of 206 is fine: the part restarts from zero. When the body is complete its
 * SHA-256 (computed over the part file as it grows, so nothing is read twice) is compared
 * with the pinned value; a mismatch deletes the part (it cannot be resumed into a good
 * file) and fails. Only a verified file is renamed to PATH, so PATH is always complete.
 * An already present PATH whose hash matches is not downloaded again.
 *
 * Runs on the calling thread with a blocking curl easy handle; the caller owns the
 * process-wide curl_global_init. Never logs request headers (no credentials are sent).
 */
#ifndef HR_HTTP_DOWNLOAD_H
#define HR_HTTP_DOWNLOAD_H

#include <stdint.h>
#include <sys/types.h>

typedef struct hr_download {
    const char *url;
    const char *path;        /* final file; partial data in path + ".part" */
    const char *sha256_hex;  /* 64 lowercase hex digits, or NULL: not pinned (hash reported) */
    /* progress (optional): bytes on disk so far and the full size (0 = unknown yet) */
    void (*progress)(void *ud, uint64_t done, uint64_t total);
    void *progress_ud;
    long stall_timeout_s;    /* abort when nothing arrives for this long (0 = 60) */
    /* results */
    char sha256_out[65];     /* SHA-256 of the file (hex) */
    uint64_t resumed_from;   /* bytes already in the part file when this call started */
    uint64_t size;           /* final size */
    int already_present;     /* PATH existed and verified: nothing was downloaded */
} hr_download;

/* 0 ok (PATH complete and, when pinned, verified); -1 with a one-line reason in err. */
int hr_download_file(hr_download *d, char *err, size_t errlen);

/* mkdir -p with mode for every directory created; 0 ok, -1 (errno set). */
int hr_mkdir_p(const char *path, mode_t mode);

#endif
