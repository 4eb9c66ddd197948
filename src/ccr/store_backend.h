/* store_backend.h: the private vtable between store.c (validation, counters, rate-limited
 * logging, config) and the three backends. Not for use outside src/ccr.
 *
 * Backends get validated tenant and hash strings and an absolute TTL in seconds, and report
 * failures with a short message in err (store.c decides whether to log it). Each backend
 * owns its own locking; store.c adds none.
 */
#ifndef HR_CCR_STORE_BACKEND_H
#define HR_CCR_STORE_BACKEND_H

#include "ccr/store.h"

typedef struct hr_ccr_backend_ops {
    const char *name;
    int (*put)(void *self, const char *tenant, const char *hash, const void *data, size_t len,
               unsigned ttl_seconds, char *err, size_t errlen);
    /* HR_CCR_FOUND (appended to out), HR_CCR_NOT_FOUND or HR_CCR_ERROR (err filled). */
    hr_ccr_status (*get)(void *self, const char *tenant, const char *hash, hr_buf *out,
                         char *err, size_t errlen);
    /* Fills evictions, entries and bytes; the counters are store.c's. */
    void (*stats)(void *self, hr_ccr_stats *st);
    void (*close)(void *self);
} hr_ccr_backend_ops;

/* Each returns the backend state or NULL with err filled. */
void *hr_ccr_sqlite_open(const hr_ccr_config *c, char *err, size_t errlen);
void *hr_ccr_memory_open(const hr_ccr_config *c, char *err, size_t errlen);
void *hr_ccr_redis_open(const hr_ccr_config *c, char *err, size_t errlen);

extern const hr_ccr_backend_ops hr_ccr_sqlite_ops;
extern const hr_ccr_backend_ops hr_ccr_memory_ops;
extern const hr_ccr_backend_ops hr_ccr_redis_ops;

#endif
