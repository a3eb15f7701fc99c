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
 * Decoded structures own their memory (one allocation tree, freed by the matching _free;
 * every _free is NULL-tolerant). Encoders append DER to *der (left unchanged on failure) and
 * refuse (ST_E_INVAL, logged) what the decoders would refuse; `version` 0 in an input struct
 * means "current". Decoders are strict: version exactly 1 (else ST_E_VERSION), exact sizes,
 * DER lengths, no unknown or trailing elements (ST_E_TRAILING), every overrun ST_E_TRUNCATED,
 * counts and sizes within the IFPP_MAX_* limits (ST_E_TOO_LARGE); *out is NULL on failure.
 * Embedded SGP.22 objects (certificates, BF22, BF36, BF37) are only framed, never judged:
 * callers run cert/bpp_parse/pir_parse on them.
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
#define IFPP_ID_LEN         16 /* bundleId, requestId, reportId */
#define IFPP_EID_LEN        16
#define IFPP_ICCID_LEN      10
#define IFPP_OTPK_LEN       65
#define IFPP_SIG_LEN        64
#define IFPP_MAX_TID_LEN    16
#define IFPP_MAX_OID_LEN    64         /* DER value octets */
#define IFPP_MAX_ENTRY_LEN  (4u << 20) /* one bundle entry (BPP) at most 4 MiB */

/* Decoder limits (added; the encoders refuse what the decoders would refuse). */
#define IFPP_MAX_CERT_LEN        (32u << 10)   /* one Certificate */
#define IFPP_MAX_EUICC_INFO2_LEN (8u << 10)    /* BF22 */
#define IFPP_MAX_PIR_LEN         (64u << 10)   /* one BF37 in a report */
#define IFPP_MAX_KEYS            1024u         /* one-time keys per eUICC in .ifppe */
#define IFPP_MAX_EUICCS          1000000u      /* eUICCs per .ifppe, entries per .ifppr */
#define IFPP_MAX_EUM_CERTS       64u           /* EUM certificates per .ifppr */
#define IFPP_MAX_SMDPF_CERTS     8u            /* SM-DPf chain in a bundle header */
#define IFPP_MAX_BUNDLE_IDS      65536u        /* bundle ids per report */
#define IFPP_MAX_REPORT_ENTRIES  10000000u     /* entries per report */
#define IFPP_MAX_BUNDLE_HDR_LEN  (1u << 20)    /* the bundle's header SEQUENCE */
#define IFPP_MAX_BUNDLE_LEN      0xFFFFFFFFull /* the TLV codec's 4 length octets: 4 GiB - 1 */

/*
 * Where a decoder stopped (added). Every decoder logs the same at ST_LOG_DEBUG; the station
 * turns it into "file X, entry N: reason" with ifpp_err_format().
 */
#define IFPP_ERR_NONE SIZE_MAX
typedef struct {
    st_t st;           /* the status returned */
    size_t entry;      /* eUICC / request entry / bundle entry / report entry index (0-based),
                          IFPP_ERR_NONE when the error is in the file's header */
    size_t sub;        /* one-time key / certificate / bundle id index inside it, or NONE */
    const char *field; /* static ASN.1 field name ("oneTimeKeys.euiccOtpk"), NULL if none */
    uint64_t offset;   /* byte offset in the file of the offending TLV (or where one was due) */
} ifpp_err_t;

/* Resets e to "no error". */
void ifpp_err_clear(ifpp_err_t *e);
/* "entry 12, item 3, field oneTimeKeys.euiccOtpk at byte 4711: malformed data" into buf;
 * returns buf (always NUL-terminated when len > 0). */
const char *ifpp_err_format(const ifpp_err_t *e, char *buf, size_t len);

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
    char batch_id[64]; /* NUL-terminated UTF-8 */
    time_t created_at;
    ifpp_blob_t cert_eum; /* DER, once per batch */
    ifpp_euicc_t *euiccs;
    size_t n_euiccs;
} ifpp_edata_t;

/* TBS of a one-time key signature (see above). */
st_t ifpp_otk_tbs(const uint8_t eid[IFPP_EID_LEN], uint32_t key_index,
                  const uint8_t otpk[IFPP_OTPK_LEN], buf_t *tbs);

st_t ifpp_edata_encode(const ifpp_edata_t *d, buf_t *der);
st_t ifpp_edata_decode(const uint8_t *der, size_t len, ifpp_edata_t **out);
/* Same, and fills *err (may be NULL) with where it failed. *out is owned by the caller. */
st_t ifpp_edata_decode_ex(const uint8_t *der, size_t len, ifpp_edata_t **out, ifpp_err_t *err);
void ifpp_edata_free(ifpp_edata_t *d);

/* ---- BPP request (.ifppr) ---- */

typedef struct {
    uint8_t eid[IFPP_EID_LEN];
    ifpp_blob_t euicc_info2;
    ifpp_blob_t cert_euicc;
    uint32_t eum_index;    /* index into ifpp_request_t.certs_eum */
    ifpp_otk_t key;        /* the one-time key the BPP shall be bound to */
    char profile_type[64]; /* may be empty */
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
st_t ifpp_request_decode_ex(const uint8_t *der, size_t len, ifpp_request_t **out, ifpp_err_t *err);
void ifpp_request_free(ifpp_request_t *r);

/* ---- bundle (.ifppb), streamed ---- */

typedef struct {
    uint32_t version;
    uint8_t bundle_id[IFPP_ID_LEN];
    uint8_t smdpf_oid[IFPP_MAX_OID_LEN]; /* DER value octets */
    size_t smdpf_oid_len;
    time_t created_at;
    uint64_t count;           /* number of entries that follow */
    ifpp_blob_t *smdpf_certs; /* CERT.DPpb first, then the rest of the SM-DPf chain */
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

/*
 * Writer: entries can be appended one by one; the file is assembled at close. Entries go to an
 * anonymous temp file in the target's directory (created O_EXCL, unlinked at once); close
 * writes PATH.tmp-XXXXXX (mode 0644), fsyncs it, renames it over PATH and fsyncs the directory.
 * A bundle is at most IFPP_MAX_BUNDLE_LEN bytes (ST_E_TOO_LARGE from add beyond that).
 */
typedef struct ifpp_bundle_writer ifpp_bundle_writer_t;
/* Starts a bundle at `path` (written atomically at close). hdr->count is set by close.
 * hdr is copied (the caller keeps ownership). */
st_t ifpp_bundle_writer_open(const char *path, const ifpp_bundle_hdr_t *hdr,
                             ifpp_bundle_writer_t **out);
/* e->raw is ignored; e->bpp must be one BF36 TLV. An entry refused for its content
 * (ST_E_INVAL / ST_E_TOO_LARGE) leaves the writer usable; an I/O error poisons it. */
st_t ifpp_bundle_writer_add(ifpp_bundle_writer_t *w, const ifpp_bundle_entry_t *e);
/* Finishes the file and frees w in every case (a poisoned writer returns its error and
 * writes nothing). ifpp_bundle_writer_abort() frees w without writing (NULL-tolerant). */
st_t ifpp_bundle_writer_close(ifpp_bundle_writer_t *w);
void ifpp_bundle_writer_abort(ifpp_bundle_writer_t *w);

/*
 * Reader: memory bounded by the largest entry (<= IFPP_MAX_ENTRY_LEN), whatever the file size.
 * Every byte read is also fed to `tee` when given (e.g. a BIO computing the detached CMS
 * digest), so one pass checks structure and signature.
 */
typedef struct ifpp_bundle_reader ifpp_bundle_reader_t;
st_t ifpp_bundle_reader_open(FILE *f, ifpp_bundle_reader_t **out);
/*
 * Tee (added): fn receives every byte the reader consumes from f, in file order, exactly once
 * (the outer headers, the header, each entry, and the final end-of-file probe reads nothing).
 * After ifpp_bundle_reader_next() returned ST_E_NOENT the tee has seen the whole file, so a
 * digest fed by it is the detached CMS content digest. A non-ST_OK return from fn aborts the
 * read with that status. To feed a BIO: fn = BIO_write wrapper returning ST_E_CRYPTO on <= 0.
 */
typedef st_t (*ifpp_tee_fn)(const uint8_t *p, size_t n, void *ud);
/* open with a tee (fn may be NULL) and an error context (err may be NULL). f is borrowed. */
st_t ifpp_bundle_reader_open_ex(FILE *f, ifpp_tee_fn tee, void *tee_ud, ifpp_bundle_reader_t **out,
                                ifpp_err_t *err);
/* Header, available after open (borrowed, lives as long as the reader). */
const ifpp_bundle_hdr_t *ifpp_bundle_reader_header(const ifpp_bundle_reader_t *r);
/* Next entry: ST_OK, ST_E_NOENT at the clean end (count checked, no trailing bytes). The
 * entry's pointers live until the next call. Errors are sticky (every later call returns the
 * same status); ifpp_bundle_reader_error() says where. */
st_t ifpp_bundle_reader_next(ifpp_bundle_reader_t *r, ifpp_bundle_entry_t *e);
/* Byte offset of the last error (for messages). */
uint64_t ifpp_bundle_reader_offset(const ifpp_bundle_reader_t *r);
/* Where the last failing call stopped (st == ST_OK when nothing failed). Borrowed. */
const ifpp_err_t *ifpp_bundle_reader_error(const ifpp_bundle_reader_t *r);
/* Entries returned so far. */
uint64_t ifpp_bundle_reader_count(const ifpp_bundle_reader_t *r);
/* Heap bytes the reader holds right now (entry buffer + header): the memory bound, for tests. */
size_t ifpp_bundle_reader_mem(const ifpp_bundle_reader_t *r);
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
st_t ifpp_report_decode_ex(const uint8_t *der, size_t len, ifpp_report_t **out, ifpp_err_t *err);
void ifpp_report_free(ifpp_report_t *r);

#endif
