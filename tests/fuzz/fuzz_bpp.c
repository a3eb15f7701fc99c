/*
 * fuzz_bpp: bpp_parse on arbitrary bytes; on success the §2.5.5 segments must partition the
 * BPP exactly (contiguous, in order, nothing lost) and the smdpSign TBS must be buildable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/bpp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bpp_view_t v;
    bpp_segment_t *segs = NULL;
    size_t n = 0, off = 0;
    static const uint8_t otpk[65] = {0x04};
    buf_t tbs = BUF_INIT;

    if (bpp_parse(data, size, &v) != ST_OK)
        return 0;
    (void)bpp_check_crt(&v);
    if (bpp_segments(&v, &segs, &n) != ST_OK)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (segs[i].p != data + off || segs[i].len == 0)
            abort();
        off += segs[i].len;
    }
    if (off != size)
        abort();
    free(segs);
    if (bpp_smdp_sign_tbs(&v, otpk, sizeof(otpk), &tbs) != ST_OK)
        abort();
    buf_free(&tbs);
    return 0;
}
