/*
 * pir.c - ProfileInstallationResult (BF37): parse, verify euiccSignPIR, build (card side).
 * SGP.22 §5.7.x ES10b.LoadBoundProfilePackage, ASN.1 of research §5.1.
 */
#include "pir.h"

#include <string.h>

#include "base/log.h"
#include "crypto/ec.h"

#define PIR_MAX_TID_LEN 16
#define PIR_MAX_OID_LEN 64
#define PIR_MIN_AID_LEN 5
#define PIR_MAX_AID_LEN 16
#define PIR_SIG_LEN     64

/* SAIP EUICCResponse of a plain success (SGP.32 CompactSuccessResult, research §5.1). */
static const uint8_t compact_success_sima[] = {0x30, 0x07, 0xA0, 0x05, 0x30,
                                               0x03, 0x80, 0x01, 0x00};
/* NotificationEvent BIT STRING {notificationInstall(0)}: 7 unused bits, 0x80. */
static const uint8_t event_install[] = {0x07, 0x80};

const char *pir_cmd_name(unsigned cmd) {
    switch (cmd) {
    case PIR_CMD_INITIALISE_SECURE_CHANNEL:
        return "initialiseSecureChannel";
    case PIR_CMD_CONFIGURE_ISDP:
        return "configureISDP";
    case PIR_CMD_STORE_METADATA:
        return "storeMetadata";
    case PIR_CMD_STORE_METADATA2:
        return "storeMetadata2";
    case PIR_CMD_REPLACE_SESSION_KEYS:
        return "replaceSessionKeys";
    case PIR_CMD_LOAD_PROFILE_ELEMENTS:
        return "loadProfileElements";
    default:
        return "unknownBppCommand";
    }
}

const char *pir_reason_name(unsigned reason) {
    switch (reason) {
    case PIR_ERR_INCORRECT_INPUT_VALUES:
        return "incorrectInputValues";
    case PIR_ERR_INVALID_SIGNATURE:
        return "invalidSignature";
    case PIR_ERR_INVALID_TRANSACTION_ID:
        return "invalidTransactionId";
    case PIR_ERR_UNSUPPORTED_CRT_VALUES:
        return "unsupportedCrtValues";
    case PIR_ERR_UNSUPPORTED_REMOTE_OPERATION_TYPE:
        return "unsupportedRemoteOperationType";
    case PIR_ERR_UNSUPPORTED_PROFILE_CLASS:
        return "unsupportedProfileClass";
    case PIR_ERR_SCP03T_STRUCTURE_ERROR:
        return "scp03tStructureError";
    case PIR_ERR_SCP03T_SECURITY_ERROR:
        return "scp03tSecurityError";
    case PIR_ERR_ICCID_ALREADY_EXISTS:
        return "installFailedDueToIccidAlreadyExistsOnEuicc";
    case PIR_ERR_INSUFFICIENT_MEMORY:
        return "installFailedDueToInsufficientMemoryForProfile";
    case PIR_ERR_INTERRUPTION:
        return "installFailedDueToInterruption";
    case PIR_ERR_PE_PROCESSING_ERROR:
        return "installFailedDueToPEProcessingError";
    case PIR_ERR_DATA_MISMATCH:
        return "installFailedDueToDataMismatch";
    case PIR_ERR_INVALID_NAA_KEY:
        return "testProfileInstallFailedDueToInvalidNaaKey";
    case PIR_ERR_PPR_NOT_ALLOWED:
        return "pprNotAllowed";
    case PIR_ERR_UNKNOWN:
        return "installFailedDueToUnknownError";
    default:
        return "unknownErrorReason";
    }
}

static st_t pir_fail(st_t st, const char *what) {
    st_log(ST_LOG_DEBUG, "pir: %s: %s", what, st_str(st));
    return st;
}

static st_t next_child(tlv_iter_t *it, uint32_t tag, const char *what, tlv_t *out) {
    st_t st = tlv_iter_next(it, out);
    if (st == ST_E_NOENT)
        return pir_fail(ST_E_PARSE, what);
    if (st != ST_OK)
        return pir_fail(st, what);
    if (out->tag != tag) {
        st_log(ST_LOG_DEBUG, "pir: %s: tag %X where %X was expected", what, (unsigned)out->tag,
               (unsigned)tag);
        return ST_E_PARSE;
    }
    return ST_OK;
}

/* Optional child: consumed only when the next sibling has `tag`. */
static st_t opt_child(tlv_iter_t *it, uint32_t tag, const char *what, tlv_t *out, bool *present) {
    tlv_iter_t peek = *it;
    st_t st = tlv_iter_next(&peek, out);
    *present = false;
    if (st == ST_E_NOENT)
        return ST_OK;
    if (st != ST_OK)
        return pir_fail(st, what);
    if (out->tag != tag)
        return ST_OK;
    *it = peek;
    *present = true;
    return ST_OK;
}

static st_t end_of(tlv_iter_t *it, const char *what) {
    tlv_t t;
    st_t st = tlv_iter_next(it, &t);
    if (st == ST_E_NOENT)
        return ST_OK;
    return pir_fail(st == ST_OK ? ST_E_TRAILING : st, what);
}

/* INTEGER that must fit in `unsigned` (BppCommandId, ErrorReason). */
static st_t get_small_uint(const tlv_t *t, const char *what, unsigned *v) {
    uint64_t x;
    st_t st = tlv_get_uint(t, &x);
    if (st != ST_OK)
        return pir_fail(st, what);
    if (x > 0xFFFFFFFFu)
        return pir_fail(ST_E_TOO_LARGE, what);
    *v = (unsigned)x;
    return ST_OK;
}

/*
 * SGP.22's RSPDefinitions module is "EXTENSIBILITY IMPLIED": a newer card may append elements
 * to any SEQUENCE. Inside the signed BF27 they are skipped (well-formed TLVs only; the signature
 * covers them because it hashes the received bytes), so a genuine PIR is never lost.
 */
static st_t skip_extensions(tlv_iter_t *it, const char *what) {
    tlv_t t;
    st_t st;
    while ((st = tlv_iter_next(it, &t)) == ST_OK)
        st_log(ST_LOG_DEBUG, "pir: %s: skipping extension element %X", what, (unsigned)t.tag);
    if (st != ST_E_NOENT)
        return pir_fail(st, what);
    return ST_OK;
}

/* NotificationMetadata BF2F. */
static st_t parse_metadata(const tlv_t *md, pir_view_t *v) {
    tlv_iter_t it;
    tlv_t t;
    bool present;
    st_t st;

    tlv_iter_children(&it, md);
    if ((st = next_child(&it, 0x80, "BF2F seqNumber", &t)) != ST_OK)
        return st;
    if ((st = tlv_get_uint(&t, &v->seq_number)) != ST_OK)
        return pir_fail(st, "BF2F seqNumber");
    if ((st = next_child(&it, 0x81, "BF2F profileManagementOperation", &t)) != ST_OK)
        return st;
    /* BIT STRING: unused-bits octet 0..7 and at least one data octet */
    if (t.len < 2 || t.value[0] > 7)
        return pir_fail(ST_E_PARSE, "BF2F profileManagementOperation");
    v->event = t.value;
    v->event_len = t.len;
    if ((st = next_child(&it, 0x0C, "BF2F notificationAddress", &t)) != ST_OK)
        return st;
    v->notif_address = t.value;
    v->notif_address_len = t.len;
    if ((st = opt_child(&it, 0x5A, "BF2F iccid", &t, &present)) != ST_OK)
        return st;
    if (present) {
        if (t.len != sizeof(v->iccid))
            return pir_fail(ST_E_PARSE, "BF2F iccid (10 bytes)");
        memcpy(v->iccid, t.value, sizeof(v->iccid));
        v->has_iccid = true;
    }
    return skip_extensions(&it, "BF2F");
}

static st_t parse_final_result(const tlv_t *a2, pir_view_t *v) {
    tlv_iter_t it, rit;
    tlv_t res, t;
    bool present;
    st_t st;

    tlv_iter_children(&it, a2);
    st = tlv_iter_next(&it, &res);
    if (st == ST_E_NOENT)
        return pir_fail(ST_E_PARSE, "finalResult empty");
    if (st != ST_OK)
        return pir_fail(st, "finalResult");
    if ((st = end_of(&it, "finalResult after the CHOICE")) != ST_OK)
        return st;
    tlv_iter_children(&rit, &res);
    if (res.tag == 0xA0) {
        v->success = true;
        if ((st = next_child(&rit, 0x4F, "successResult aid", &t)) != ST_OK)
            return st;
        if (t.len < PIR_MIN_AID_LEN || t.len > PIR_MAX_AID_LEN)
            return pir_fail(ST_E_PARSE, "successResult aid length");
        v->aid = t.value;
        v->aid_len = t.len;
        if ((st = next_child(&rit, 0x04, "successResult simaResponse", &t)) != ST_OK)
            return st;
        v->sima_response = t.value;
        v->sima_response_len = t.len;
        return skip_extensions(&rit, "successResult");
    }
    if (res.tag == 0xA1) {
        v->success = false;
        if ((st = next_child(&rit, 0x80, "errorResult bppCommandId", &t)) != ST_OK)
            return st;
        if ((st = get_small_uint(&t, "errorResult bppCommandId", &v->error_cmd)) != ST_OK)
            return st;
        if ((st = next_child(&rit, 0x81, "errorResult errorReason", &t)) != ST_OK)
            return st;
        if ((st = get_small_uint(&t, "errorResult errorReason", &v->error_reason)) != ST_OK)
            return st;
        if ((st = opt_child(&rit, 0x82, "errorResult simaResponse", &t, &present)) != ST_OK)
            return st;
        if (present) {
            v->sima_response = t.value;
            v->sima_response_len = t.len;
        }
        return skip_extensions(&rit, "errorResult");
    }
    st_log(ST_LOG_DEBUG, "pir: finalResult: tag %X is neither A0 nor A1", (unsigned)res.tag);
    return ST_E_PARSE;
}

st_t pir_parse(const uint8_t *p, size_t n, pir_view_t *out) {
    pir_view_t v;
    tlv_iter_t it, dit;
    tlv_t t, md;
    char oid[128];
    st_t st;

    memset(&v, 0, sizeof(v));
    memset(out, 0, sizeof(*out));
    if (!p && n)
        return ST_E_INVAL;
    if ((st = tlv_parse_exact(p, n, &v.pir)) != ST_OK)
        return pir_fail(st, "BF37");
    if (v.pir.tag != 0xBF37)
        return pir_fail(ST_E_PARSE, "not a ProfileInstallationResult (BF37)");
    tlv_iter_children(&it, &v.pir);
    if ((st = next_child(&it, 0xBF27, "profileInstallationResultData", &v.data)) != ST_OK)
        return st;
    if ((st = next_child(&it, 0x5F37, "euiccSignPIR", &t)) != ST_OK)
        return st;
    if (t.len != PIR_SIG_LEN)
        return pir_fail(ST_E_PARSE, "euiccSignPIR (64 bytes)");
    v.signature = t.value;
    v.signature_len = t.len;
    if ((st = end_of(&it, "BF37 after euiccSignPIR")) != ST_OK)
        return st;

    tlv_iter_children(&dit, &v.data);
    if ((st = next_child(&dit, 0x80, "BF27 transactionId", &t)) != ST_OK)
        return st;
    if (t.len < 1 || t.len > PIR_MAX_TID_LEN)
        return pir_fail(ST_E_PARSE, "BF27 transactionId length");
    v.tid = t.value;
    v.tid_len = t.len;
    if ((st = next_child(&dit, 0xBF2F, "BF27 notificationMetadata", &md)) != ST_OK)
        return st;
    if ((st = parse_metadata(&md, &v)) != ST_OK)
        return st;
    if ((st = next_child(&dit, 0x06, "BF27 smdpOid", &t)) != ST_OK)
        return st;
    if (t.len > PIR_MAX_OID_LEN || der_oid_to_str(t.value, t.len, oid, sizeof(oid)) != ST_OK)
        return pir_fail(ST_E_PARSE, "BF27 smdpOid");
    v.smdp_oid = t.value;
    v.smdp_oid_len = t.len;
    if ((st = next_child(&dit, 0xA2, "BF27 finalResult", &t)) != ST_OK)
        return st;
    if ((st = parse_final_result(&t, &v)) != ST_OK)
        return st;
    if ((st = skip_extensions(&dit, "BF27")) != ST_OK)
        return st;
    *out = v;
    return ST_OK;
}

/* euiccSignPIR (SGP.22 §5.7.x, research §5.2): ECDSA over the received BF27 TLV verbatim. */
st_t pir_verify(const pir_view_t *v, EVP_PKEY *euicc_pub) {
    if (!v || !euicc_pub || !v->data.raw || !v->signature)
        return ST_E_INVAL;
    return ec_verify_raw(euicc_pub, v->data.raw, v->data.raw_len, v->signature, v->signature_len);
}

static st_t check_fields(const pir_fields_t *f) {
    char oid[128];
    if (!f->tid || f->tid_len < 1 || f->tid_len > PIR_MAX_TID_LEN)
        return pir_fail(ST_E_INVAL, "build: transactionId (1..16 bytes)");
    if (!f->notif_address)
        return pir_fail(ST_E_INVAL, "build: notificationAddress");
    if (!f->smdp_oid || f->smdp_oid_len > PIR_MAX_OID_LEN
        || der_oid_to_str(f->smdp_oid, f->smdp_oid_len, oid, sizeof(oid)) != ST_OK)
        return pir_fail(ST_E_INVAL, "build: smdpOid");
    if (f->success && (!f->aid || f->aid_len < PIR_MIN_AID_LEN || f->aid_len > PIR_MAX_AID_LEN))
        return pir_fail(ST_E_INVAL, "build: aid (5..16 bytes)");
    if (f->sima_response_len && !f->sima_response)
        return pir_fail(ST_E_INVAL, "build: simaResponse");
    return ST_OK;
}

/* Card side of ES10b.LoadBoundProfilePackage (SGP.22 §5.7.x): the final BF37. */
st_t pir_build(const pir_fields_t *f, EVP_PKEY *euicc_priv, buf_t *out) {
    tlv_writer_t *w = NULL;
    buf_t data = BUF_INIT;
    uint8_t sig[EC_SIG_RAW_LEN];
    size_t start = out->len;
    st_t st;

    if (!f || !euicc_priv)
        return ST_E_INVAL;
    if ((st = check_fields(f)) != ST_OK)
        return st;
    w = tlv_writer_new();
    if (!w) {
        st = ST_E_NOMEM;
        goto out;
    }
    tlv_w_begin(w, 0xBF27);
    tlv_w_put(w, 0x80, f->tid, f->tid_len);
    tlv_w_begin(w, 0xBF2F);
    tlv_w_uint(w, 0x80, f->seq_number);
    tlv_w_put(w, 0x81, event_install, sizeof(event_install));
    tlv_w_put(w, 0x0C, f->notif_address, strlen(f->notif_address));
    if (f->iccid)
        tlv_w_put(w, 0x5A, f->iccid, 10);
    tlv_w_end(w);
    tlv_w_put(w, 0x06, f->smdp_oid, f->smdp_oid_len);
    tlv_w_begin(w, 0xA2);
    if (f->success) {
        tlv_w_begin(w, 0xA0);
        tlv_w_put(w, 0x4F, f->aid, f->aid_len);
        if (f->sima_response)
            tlv_w_put(w, 0x04, f->sima_response, f->sima_response_len);
        else
            tlv_w_put(w, 0x04, compact_success_sima, sizeof(compact_success_sima));
        tlv_w_end(w);
    } else {
        tlv_w_begin(w, 0xA1);
        tlv_w_uint(w, 0x80, f->error_cmd);
        tlv_w_uint(w, 0x81, f->error_reason);
        if (f->sima_response)
            tlv_w_put(w, 0x82, f->sima_response, f->sima_response_len);
        tlv_w_end(w);
    }
    tlv_w_end(w);
    tlv_w_end(w);
    if ((st = tlv_w_finish(w, &data)) != ST_OK)
        goto out;
    if ((st = ec_sign_raw(euicc_priv, data.data, data.len, sig)) != ST_OK)
        goto out;
    st = tlv_buf_header(out, 0xBF37, data.len + tlv_header_len(0x5F37, sizeof(sig)) + sizeof(sig));
    if (st == ST_OK)
        st = buf_append(out, data.data, data.len);
    if (st == ST_OK)
        st = tlv_buf_put(out, 0x5F37, sig, sizeof(sig));
out:
    if (st != ST_OK)
        out->len = start;
    tlv_writer_free(w);
    buf_free(&data);
    return st;
}
