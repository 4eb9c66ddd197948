/* libFuzzer target: the record-per-line compressors (column tables and progress logs)
 * never crash, are deterministic, and whatever they compress ends with one marker naming
 * the input's content hash, keeping lines verbatim (see textcomp_fuzz.h). The first input
 * byte picks the table or the progress compressor. Seeds: ls -la, dpkg -l, apt term.log. */
#include "compress/rows.h"
#include "fuzz/textcomp_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    hr_compress_opts o;
    fz_opts(data + 1, size - 1, &o);
    fz_check(data[0] & 1 ? hr_compress_table : hr_compress_progress, data + 1, size - 1, &o, 1, 0);
    return 0;
}
