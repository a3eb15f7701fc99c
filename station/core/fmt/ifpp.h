/*
 * ifpp.h - the IFPP exchange files of DESIGN §5 (project-local until SGP.42 is public).
 *
 * The normative definition is the ASN.1 module docs/ifpp-files.asn (DER, version field first,
 * SGP.22 types reused). This module is the only place that knows those encodings, so it can be
 * swapped when SGP.42 appears.
 *
 *   .ifppe       Esed2/ESED201 eUICC data, CMS attached, signed by the EUM
 *   .ifppr       ESBPP02 BPP request, CMS attached, signed by the DM station key
 *   .ifppb       ESBPP01 bundle of BPPs (plain DER, streamed) + .ifppb.p7s detached CMS by
 *                the SM-DPf's bundle signer
 *   .ifppl       ESBPP03 Profile Loading Report, CMS attached, signed by the DM station key
 *
 * One-time key signature (GENS12, DPFF10): SK.EUICC signs, raw r||s ECDSA-SHA256,
 *   TBS = 5A 10 EID || 02 L keyIndex || 5F49 41 otPK.EUICC    (ifpp_otk_tbs)
 *
 * Decoded structures own their memory (one allocation tree, freed by the matching _free).
 */
#ifndef IFPP_IFPP_H
#define IFPP_IFPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "base/buf.h"
#include "base/status.h"

#define IFPP_FORMAT_VERSION 1
#define IFPP_ID_LEN 16       /* bundleId, requestId, reportId */
#define IFPP_EID_LEN 16
#define IFPP_ICCID_LEN 10
#define IFPP_OTPK_LEN 65
#define IFPP_SIG_LEN 64
#define IFPP_MAX_TID_LEN 16
#define IFPP_MAX_OID_LEN 64  /* DER value octets */
#define IFPP_MAX_ENTRY_LEN (4u << 20) /* one bundle entry (BPP) at most 4 MiB */

typedef struct {
    uint8_t *p; /* owned DER */
    size_t len;
} ifpp_blob_t;

/* ---- one-time keys and eUICC data (.ifppe) ---- */

typedef struct {
    uint32_t key_index;
    uint8_t otpk[IFPP_OTPK_LEN];
    uint8_t sig[IFPP_SIG_LEN]; /* by SK.EUICC over ifpp_otk_tbs() */
} ifpp_otk_t;

typedef struct {
    uint8_t eid[IFPP_EID_LEN];
    ifpp_blob_t euicc_info2; /* BF22 TLV as the card returns it (may be empty) */
    ifpp_blob_t cert_euicc;  /* DER */
    ifpp_otk_t *keys;
    size_t n_keys;
} ifpp_euicc_t;

typedef struct {
    uint32_t version;
    char batch_id[64];       /* NUL-terminated UTF-8 */
    time_t created_at;
    ifpp_blob_t cert_eum;    /* DER, once per batch */
    ifpp_euicc_t *euiccs;
    size_t n_euiccs;
} ifpp_edata_t;

/* TBS of a one-time key signature (see above). */
st_t ifpp_otk_tbs(const uint8_t eid[IFPP_EID_LEN], uint32_t key_index,
                  const uint8_t otpk[IFPP_OTPK_LEN], buf_t *tbs);

st_t ifpp_edata_encode(const ifpp_edata_t *d, buf_t *der);
st_t ifpp_edata_decode(const uint8_t *der, size_t len, ifpp_edata_t **out);
void ifpp_edata_free(ifpp_edata_t *d);

/* ---- BPP request (.ifppr) ---- */

typedef struct {
    uint8_t eid[IFPP_EID_LEN];
    ifpp_blob_t euicc_info2;
    ifpp_blob_t cert_euicc;
    uint32_t eum_index;      /* index into ifpp_request_t.certs_eum */
    ifpp_otk_t key;          /* the one-time key the BPP shall be bound to */
    char profile_type[64];   /* may be empty */
} ifpp_req_entry_t;

typedef struct {
    uint32_t version;
    uint8_t request_id[IFPP_ID_LEN];
    char dm_id[64];
    time_t created_at;
    ifpp_blob_t *certs_eum;
    size_t n_certs_eum;
    ifpp_req_entry_t *entries;
    size_t n_entries;
} ifpp_request_t;

st_t ifpp_request_encode(const ifpp_request_t *r, buf_t *der);
st_t ifpp_request_decode(const uint8_t *der, size_t len, ifpp_request_t **out);
void ifpp_request_free(ifpp_request_t *r);

/* ---- bundle (.ifppb), streamed ---- */

typedef struct {
    uint32_t version;
    uint8_t bundle_id[IFPP_ID_LEN];
    uint8_t smdpf_oid[IFPP_MAX_OID_LEN]; /* DER value octets */
    size_t smdpf_oid_len;
    time_t created_at;
    uint64_t count;              /* number of entries that follow */
    ifpp_blob_t *smdpf_certs;    /* CERT.DPpb first, then the rest of the SM-DPf chain */
    size_t n_smdpf_certs;
} ifpp_bundle_hdr_t;

typedef struct {
    uint8_t eid[IFPP_EID_LEN];
    uint32_t key_index;
    uint8_t tid[IFPP_MAX_TID_LEN];
    size_t tid_len;
    uint8_t iccid[IFPP_ICCID_LEN];
    char profile_type[64];
    const uint8_t *bpp; /* BF36, borrowed from the reader's entry buffer until the next call */
    size_t bpp_len;
    const uint8_t *raw; /* the whole entry DER (same lifetime), for hashing/storing */
    size_t raw_len;
} ifpp_bundle_entry_t;

void ifpp_bundle_hdr_free(ifpp_bundle_hdr_t *h); /* frees the contents, not h */

/* Writer: entries can be appended one by one; the file is assembled at close. */
typedef struct ifpp_bundle_writer ifpp_bundle_writer_t;
/* Starts a bundle at `path` (written atomically at close). hdr->count is set by close. */
st_t ifpp_bundle_writer_open(const char *path, const ifpp_bundle_hdr_t *hdr,
                             ifpp_bundle_writer_t **out);
st_t ifpp_bundle_writer_add(ifpp_bundle_writer_t *w, const ifpp_bundle_entry_t *e);
/* Finishes the file; NULL-tolerant abort when st != ST_OK was seen by the caller. */
st_t ifpp_bundle_writer_close(ifpp_bundle_writer_t *w);
void ifpp_bundle_writer_abort(ifpp_bundle_writer_t *w);

/*
 * Reader: memory bounded by the largest entry (<= IFPP_MAX_ENTRY_LEN), whatever the file size.
 * Every byte read is also fed to `tee` when given (e.g. a BIO computing the detached CMS
 * digest), so one pass checks structure and signature.
 */
typedef struct ifpp_bundle_reader ifpp_bundle_reader_t;
st_t ifpp_bundle_reader_open(FILE *f, ifpp_bundle_reader_t **out);
/* Header, available after open (borrowed, lives as long as the reader). */
const ifpp_bundle_hdr_t *ifpp_bundle_reader_header(const ifpp_bundle_reader_t *r);
/* Next entry: ST_OK, ST_E_NOENT at the clean end (count checked, no trailing bytes). */
st_t ifpp_bundle_reader_next(ifpp_bundle_reader_t *r, ifpp_bundle_entry_t *e);
/* Byte offset of the last error (for messages). */
uint64_t ifpp_bundle_reader_offset(const ifpp_bundle_reader_t *r);
void ifpp_bundle_reader_free(ifpp_bundle_reader_t *r);

/* ---- Profile Loading Report (.ifppl) ---- */

typedef enum {
    IFPP_RESULT_INSTALLED = 0,
    IFPP_RESULT_FAILED = 1,
    IFPP_RESULT_DELETED = 2,
} ifpp_result_kind_t;

typedef struct {
    ifpp_result_kind_t kind;
    uint8_t eid[IFPP_EID_LEN];
    uint8_t tid[IFPP_MAX_TID_LEN];
    size_t tid_len;
    uint8_t iccid[IFPP_ICCID_LEN];
    bool has_iccid;
    time_t at;
    uint32_t fpa_error_code; /* failed: project error code table (reports/) */
    char text[128];          /* failed: operator-readable reason */
    ifpp_blob_t pir;         /* BF37 byte-exact; empty for a failure without one */
} ifpp_report_entry_t;

typedef struct {
    uint32_t version;
    uint8_t report_id[IFPP_ID_LEN];
    char dm_id[64];
    char station_id[64];
    uint8_t smdpf_oid[IFPP_MAX_OID_LEN];
    size_t smdpf_oid_len;
    uint8_t (*bundle_ids)[IFPP_ID_LEN];
    size_t n_bundle_ids;
    time_t period_start, period_end;
    ifpp_report_entry_t *entries;
    size_t n_entries;
} ifpp_report_t;

st_t ifpp_report_encode(const ifpp_report_t *r, buf_t *der);
st_t ifpp_report_decode(const uint8_t *der, size_t len, ifpp_report_t **out);
void ifpp_report_free(ifpp_report_t *r);

#endif
