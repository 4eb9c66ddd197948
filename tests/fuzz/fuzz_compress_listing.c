/* libFuzzer target: the file-listing compressor never crashes, is deterministic, and
 * whatever it compresses ends with one marker naming the input's content hash, keeping
 * lines verbatim (see textcomp_fuzz.h). The seed mixes find, tree and ls -R output. */
#include "compress/listing.h"
#include "fuzz/textcomp_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hr_compress_opts o;
    fz_opts(data, size, &o);
    fz_check(hr_compress_listing, data, size, &o, 1, 0);
    return 0;
}
