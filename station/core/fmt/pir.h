/*
 * pir.h - ProfileInstallationResult (BF37), SGP.22 §5.7.x / ES10b.LoadBoundProfilePackage.
 *
 *   BF37 { BF27 { 80 tid, BF2F { 80 seq, 81 event, 0C address, [5A iccid] }, 06 smdpOid,
 *                 A2 { A0 { 4F aid, 04 simaResponse } | A1 { 80 cmdId, 81 reason, [82 sima] } } },
 *          5F37 euiccSignPIR }
 * euiccSignPIR is raw r||s ECDSA-SHA256 by SK.EUICC over the *received* BF27 bytes (tag and
 * length included): verification hashes them verbatim, never a re-encoding.
 */
#ifndef IFPP_PIR_H
#define IFPP_PIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/buf.h"
#include "base/status.h"
#include "tlv/tlv.h"

/* SGP.22 BppCommandId */
typedef enum {
    PIR_CMD_INITIALISE_SECURE_CHANNEL = 0,
    PIR_CMD_CONFIGURE_ISDP = 1,
    PIR_CMD_STORE_METADATA = 2,
    PIR_CMD_STORE_METADATA2 = 3,
    PIR_CMD_REPLACE_SESSION_KEYS = 4,
    PIR_CMD_LOAD_PROFILE_ELEMENTS = 5,
} pir_cmd_t;

/* SGP.22 ErrorReason */
typedef enum {
    PIR_ERR_INCORRECT_INPUT_VALUES = 1,
    PIR_ERR_INVALID_SIGNATURE = 2,
    PIR_ERR_INVALID_TRANSACTION_ID = 3,
    PIR_ERR_UNSUPPORTED_CRT_VALUES = 4,
    PIR_ERR_UNSUPPORTED_REMOTE_OPERATION_TYPE = 5,
    PIR_ERR_UNSUPPORTED_PROFILE_CLASS = 6,
    PIR_ERR_SCP03T_STRUCTURE_ERROR = 7,
    PIR_ERR_SCP03T_SECURITY_ERROR = 8,
    PIR_ERR_ICCID_ALREADY_EXISTS = 9,
    PIR_ERR_INSUFFICIENT_MEMORY = 10,
    PIR_ERR_INTERRUPTION = 11,
    PIR_ERR_PE_PROCESSING_ERROR = 12,
    PIR_ERR_DATA_MISMATCH = 13,
    PIR_ERR_INVALID_NAA_KEY = 14,
    PIR_ERR_PPR_NOT_ALLOWED = 15,
    PIR_ERR_UNKNOWN = 127,
} pir_reason_t;

const char *pir_cmd_name(unsigned cmd);
const char *pir_reason_name(unsigned reason);

typedef struct {
    tlv_t pir;  /* BF37 */
    tlv_t data; /* BF27 (the signed bytes: data.raw, data.raw_len) */
    const uint8_t *tid;
    size_t tid_len;
    uint64_t seq_number;
    const uint8_t *notif_address; /* UTF-8, not NUL-terminated */
    size_t notif_address_len;
    bool has_iccid;
    uint8_t iccid[10];
    const uint8_t *smdp_oid; /* OID value octets */
    size_t smdp_oid_len;
    bool success;
    const uint8_t *aid; /* success: ISD-P AID */
    size_t aid_len;
    unsigned error_cmd;       /* failure: bppCommandId */
    unsigned error_reason;    /* failure: errorReason */
    const uint8_t *signature; /* 5F37 value */
    size_t signature_len;
    /* added after the first version of this header: */
    const uint8_t *sima_response; /* success: 04 value; failure: 82 value or NULL if absent */
    size_t sima_response_len;
    const uint8_t *event; /* BF2F/81 NotificationEvent BIT STRING value (07 80 = install) */
    size_t event_len;
} pir_view_t;

/*
 * Parses a BF37 (exactly one TLV, ST_E_TRAILING otherwise). Strict on what SGP.22 v2.5
 * defines: order, mandatory smdpOid, tid 1..16, ICCID 10, AID 5..16, euiccSignPIR 64 bytes,
 * nothing after 5F37, exactly one finalResult alternative. Elements appended at the end of
 * BF27, BF2F, successResult or errorResult are skipped (RSPDefinitions is "EXTENSIBILITY
 * IMPLIED"; they are inside the signed bytes). Values are not judged (pir_verify, the caller).
 * The view borrows `p`.
 */
st_t pir_parse(const uint8_t *p, size_t n, pir_view_t *out);

/* Verifies euiccSignPIR over the received BF27 bytes with PK.EUICC. */
st_t pir_verify(const pir_view_t *v, EVP_PKEY *euicc_pub);

/* Builder input (the card side and tests). */
typedef struct {
    const uint8_t *tid;
    size_t tid_len;
    uint64_t seq_number;
    const char *notif_address;
    const uint8_t *iccid;    /* 10 bytes or NULL */
    const uint8_t *smdp_oid; /* OID value octets */
    size_t smdp_oid_len;
    bool success;
    const uint8_t *aid;
    size_t aid_len;
    const uint8_t
        *sima_response; /* may be NULL (success: the compact 9-byte success value is used) */
    size_t sima_response_len;
    unsigned error_cmd;
    unsigned error_reason;
} pir_fields_t;

/* Encodes BF27, signs it with SK.EUICC (raw r||s) and appends the BF37 to out. */
st_t pir_build(const pir_fields_t *f, EVP_PKEY *euicc_priv, buf_t *out);

#endif
