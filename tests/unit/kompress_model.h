/* kompress_model.h: the Kompress-shaped test model shared by the Kompress unit and memory
 * tests: tools/gen_model.py --arch modernbert (random weights, real tensor names, a
 * byte-level BPE tokenizer.json with merges), imported with `headroom model import` into
 * the build dir at test time (cached there; nothing is committed). Run through ctest
 * (HEADROOM_BUILD_DIR, HEADROOM_SOURCE_DIR, HEADROOM_BIN, HEADROOM_PYTHON).
 */
#ifndef KOMPRESS_MODEL_H
#define KOMPRESS_MODEL_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Writes the model file path for (size, seed) into out, generating and importing it unless
 * a file newer than the generator and the importer is cached. 0 ok, -1 (message printed). */
static inline int kompress_test_model(const char *size, int seed, char *out, size_t n)
{
    const char *bdir = getenv("HEADROOM_BUILD_DIR"), *sdir = getenv("HEADROOM_SOURCE_DIR");
    const char *bin = getenv("HEADROOM_BIN"), *py = getenv("HEADROOM_PYTHON");
    if (!bdir || !sdir || !bin) {
        fprintf(stderr, "kompress tests: run through ctest (HEADROOM_BUILD_DIR, "
                        "HEADROOM_SOURCE_DIR, HEADROOM_BIN)\n");
        return -1;
    }
    snprintf(out, n, "%s/ml-test-models/modernbert-%s-s%d.hrm", bdir, size, seed);
    struct stat st, gen, gen2, imp;
    char g1[512], g2[512];
    snprintf(g1, sizeof g1, "%s/tools/gen_model.py", sdir);
    snprintf(g2, sizeof g2, "%s/tools/gen_modernbert.py", sdir);
    if (stat(out, &st) == 0 && st.st_size > 0 && stat(g1, &gen) == 0 && stat(g2, &gen2) == 0 &&
        stat(bin, &imp) == 0 && st.st_mtime >= gen.st_mtime && st.st_mtime >= gen2.st_mtime &&
        st.st_mtime >= imp.st_mtime)
        return 0;
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "set -e; d='%s/ml-test-models'; m=\"$d/modernbert-%s-s%d\"; mkdir -p \"$d\"; "
             "'%s' '%s' --arch modernbert --size %s --seed %d --out \"$m\" >/dev/null; "
             "'%s' model import \"$m\" --out \"$m.hrm.tmp.$$\" >/dev/null; "
             "mv \"$m.hrm.tmp.$$\" '%s'",
             bdir, size, seed, py ? py : "/usr/bin/python3", g1, size, seed, bin, out);
    if (system(cmd) != 0) {
        fprintf(stderr, "kompress tests: could not generate/import the model: %s\n", cmd);
        return -1;
    }
    return 0;
}

#endif
