#include "es10f.h"

#include "tlv/tlv.h"

const char *es10f_result_name(unsigned result) {
    switch (result) {
    case ES10F_OK:
        return "ok";
    case ES10F_NOT_AUTHORISED:
        return "notAuthorised";
    case ES10F_INVALID_SIGNATURE:
        return "invalidSignature";
    case ES10F_NO_CHALLENGE:
        return "noChallenge";
    case ES10F_INVALID_CERTIFICATE:
        return "invalidCertificate";
    case ES10F_UNKNOWN_KEY:
        return "unknownKey";
    case ES10F_KEY_CONSUMED:
        return "keyConsumed";
    case ES10F_NOTHING_TO_DELETE:
        return "nothingToDelete";
    case ES10F_UNSUPPORTED_VERSION:
        return "unsupportedVersion";
    case ES10F_UNDEFINED_ERROR:
        return "undefinedError";
    default:
        return "unknownResult";
    }
}

st_t es10f_auth_tbs(const uint8_t eid[16], const uint8_t challenge[ES10F_CHALLENGE_LEN],
                    buf_t *tbs) {
    st_t st = tlv_buf_put(tbs, 0x5A, eid, 16);
    if (st == ST_OK)
        st = tlv_buf_put(tbs, 0x80, challenge, ES10F_CHALLENGE_LEN);
    return st;
}
