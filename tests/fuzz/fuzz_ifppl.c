/*
 * fuzz_ifppl: .ifppl decoder on arbitrary bytes; a decoded report re-encodes to the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/ifpp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ifpp_report_t *r = NULL;
    ifpp_err_t err;
    buf_t out = BUF_INIT;
    st_t st;

    if ((st = ifpp_report_decode_ex(data, size, &r, &err)) != ST_OK) {
        if (r || err.st != st)
            abort();
        return 0;
    }
    if (ifpp_report_encode(r, &out) != ST_OK || out.len != size
        || memcmp(out.data, data, size) != 0)
        abort();
    ifpp_report_free(r);
    buf_free(&out);
    return 0;
}
