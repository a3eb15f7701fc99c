/*
 * fuzz_pir: pir_parse on arbitrary bytes; on success every borrowed pointer lies inside the
 * input and the signed BF27 is inside the BF37. A fixed key checks pir_verify never crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ec.h"
#include "fmt/pir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *key;

static int inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size) {
    return n == 0 || (p >= data && p + n <= data + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    pir_view_t v;
    if (!key && ec_key_generate(EC_CURVE_P256, &key) != ST_OK)
        abort();
    if (pir_parse(data, size, &v) != ST_OK)
        return 0;
    if (!inside(v.data.raw, v.data.raw_len, data, size) || !inside(v.tid, v.tid_len, data, size)
        || !inside(v.notif_address, v.notif_address_len, data, size)
        || !inside(v.smdp_oid, v.smdp_oid_len, data, size) || !inside(v.aid, v.aid_len, data, size)
        || !inside(v.sima_response, v.sima_response_len, data, size)
        || !inside(v.signature, v.signature_len, data, size) || v.signature_len != 64)
        abort();
    (void)pir_cmd_name(v.error_cmd);
    (void)pir_reason_name(v.error_reason);
    if (pir_verify(&v, key) == ST_OK)
        abort(); /* nobody else holds this key */
    return 0;
}
