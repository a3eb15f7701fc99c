/*
 * fuzz_ifppe: .ifppe decoder on arbitrary bytes; on success the re-encoding must be accepted
 * and identical to the input (one DER encoding per value), and decoding it again must work.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/ifpp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ifpp_edata_t *d = NULL;
    ifpp_err_t err;
    buf_t out = BUF_INIT;
    st_t st;
    char msg[256];

    if ((st = ifpp_edata_decode_ex(data, size, &d, &err)) != ST_OK) {
        if (d || err.st != st)
            abort();
        (void)ifpp_err_format(&err, msg, sizeof(msg));
        return 0;
    }
    if (ifpp_edata_encode(d, &out) != ST_OK || out.len != size || memcmp(out.data, data, size) != 0)
        abort();
    for (size_t i = 0; i < d->n_euiccs; i++)
        for (size_t k = 0; k < d->euiccs[i].n_keys; k++) {
            buf_t tbs = BUF_INIT;
            if (ifpp_otk_tbs(d->euiccs[i].eid, d->euiccs[i].keys[k].key_index,
                             d->euiccs[i].keys[k].otpk, &tbs)
                != ST_OK)
                abort();
            buf_free(&tbs);
        }
    ifpp_edata_free(d);
    buf_free(&out);
    return 0;
}
