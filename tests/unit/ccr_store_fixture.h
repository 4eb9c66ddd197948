/* ccr_store_fixture.h: a temporary data dir for the CCR store tests (test_ccr_store.c,
 * test_ccr_fulldisk.c): mkdtemp'd by setup, removed with everything in it by teardown,
 * and an open that fails the test with the store's reason; and an in-memory store for the
 * tests that only need somewhere to keep originals (the pipeline's). */
#ifndef CCR_STORE_FIXTURE_H
#define CCR_STORE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ccr/store.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    char dir[256];
    hr_ccr_config cfg;
} fixture;

static inline void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
            continue;
        if (unlink(p) != 0)
            remove_tree(p); /* a subdirectory */
    }
    closedir(d);
    rmdir(dir);
}

/* A fixture for backend in a fresh /tmp/<prefix>XXXXXX; NULL if mkdtemp failed. */
static inline fixture *fixture_new(const char *prefix, hr_ccr_backend backend)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/%sXXXXXX", prefix);
    if (!mkdtemp(f->dir)) {
        free(f);
        return NULL;
    }
    hr_ccr_config_default(&f->cfg);
    f->cfg.backend = backend;
    f->cfg.data_dir = f->dir;
    return f;
}

static inline void fixture_free(fixture *f)
{
    remove_tree(f->dir);
    free(f);
}

static inline hr_ccr_store *open_store(fixture *f)
{
    char err[256] = "";
    hr_ccr_store *s = hr_ccr_store_open(&f->cfg, err, sizeof err);
    if (!s)
        fail_msg("open: %s", err);
    return s;
}

/* A memory-backed store with default limits (nothing on disk); fails the test if it
 * cannot open. */
static inline hr_ccr_store *memory_store(void)
{
    hr_ccr_config c;
    hr_ccr_config_default(&c);
    c.backend = HR_CCR_BACKEND_MEMORY;
    char err[200] = "";
    hr_ccr_store *s = hr_ccr_store_open(&c, err, sizeof err);
    if (!s)
        fail_msg("memory store: %s", err);
    return s;
}

#endif
