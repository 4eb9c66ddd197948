/* libFuzzer target: the diff compressor never crashes, is deterministic, and whatever it
 * compresses ends with one marker naming the input's content hash, keeping lines verbatim
 * (see textcomp_fuzz.h). */
#include "compress/diff.h"
#include "fuzz/textcomp_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hr_compress_opts o;
    fz_opts(data, size, &o);
    fz_check(hr_compress_diff, data, size, &o, 1, 0);
    return 0;
}
