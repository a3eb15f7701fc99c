/*
 * plr.h - Profile Loading Reports (SGP.41 ESBPP03, steps 13-16; DESIGN §5 .ifppl, §8):
 * build, sign, export and verify.
 *
 * One report per SM-DPf: header (reportId: 16 random bytes, DM id, station id, SM-DPf OID,
 * the bundle ids its entries come from, period = first..last result time) and one entry per
 * result the store recorded: `installed` with the BF37 byte-exact as the card returned it,
 * `failed` for every dead BPP (no successful PIR) with its fpaErrorCode (plr_codes.h), text
 * and, when the card gave one, its eUICC-signed error BF37. Entries are in result order.
 * Counts are not a header field: they follow from the entries (plr_counts_t).
 * The content is DER (IfppLoadingReport, docs/ifpp-files.asn) in a CMS SignedData with the
 * content attached, signed by the DM station key with its certificate and chain included, so
 * `openssl cms -verify -binary -inform DER -CAfile dm-ca.pem` checks it with stock tools.
 * What is signed is exactly the DER the station encoded; the file name and everything
 * printed about a report are unauthenticated.
 *
 * Export, and the crash rules (DESIGN §8: each result in exactly one exported report per
 * SM-DPf). For each SM-DPf with results in no report yet:
 *   1. journal: JOURNAL/plr-<reportId hex>.pending is created durably;
 *   2. claim: store_report_create() takes every unreported result of the SM-DPf into the new
 *      report, atomically (results recorded meanwhile by the engine go into the next one);
 *      with a `since` time, store_report_create_since() takes only those recorded from then
 *      until now: earlier ones stay unreported and go into a later export without it;
 *   3. build + sign the file content from the claimed results;
 *   4. write DIR/NAME atomically: temp file .NAME.tmp-XXXXXX (O_CREAT|O_EXCL|O_NOFOLLOW|
 *      O_CLOEXEC, 0600) in DIR, write, fsync, rename without replacing, fsync(DIR);
 *   5. mark exported (store_report_mark_exported) and append the audit row, one transaction;
 *   6. the journal entry is removed.
 * A crash (or an I/O error) after 2 leaves the report claimed but not exported. It is never
 * discarded silently, since its file may already exist: the next export (of that SM-DPf)
 * re-exports it first, with the same reportId and entries, under its recorded name (if that
 * file is already in DIR and is this report, it is kept and only marked). A failure before
 * anything reached DIR's final name discards the report (its results go into the next one).
 * Nothing ever stands under a final name that is not a complete, signed report.
 *
 * NAME = PLR_<oid>_<station>_<YYYYmmddTHHMMSSZ>_<first 8 hex digits of reportId>.ifppl
 * (UTC creation time); a re-export (--again) gets a name with the time of the re-export, and
 * "-2", "-3"... before the extension if that name is taken.
 */
#ifndef IFPP_PLR_H
#define IFPP_PLR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/status.h"
#include "crypto/cert.h"
#include "plr_codes.h"
#include "store.h"

#define PLR_EXT      ".ifppl"
#define PLR_NAME_MAX STORE_TEXT_MAX /* a report file name, NUL included */
#define PLR_PATH_MAX 4096
#define PLR_ID_MAX   64 /* DM and station ids, NUL included (IfppName: 1..63 octets) */

/* ---- the DM signer ---- */

typedef struct plr_signer plr_signer_t;

/*
 * Loads the DM signing key (PEM or anything OpenSSL loads; the key file should be 0600), its
 * certificate and the chain (PEM, may be NULL) and checks that they belong together and that
 * the certificate carries the DM role (CERT_POLICY_IFPP_DM). dm_id and station_id (1..63
 * bytes) go into every report. Caller owns *out (plr_signer_free).
 */
st_t plr_signer_load(const char *key_path, const char *cert_path, const char *chain_path,
                     const char *dm_id, const char *station_id, plr_signer_t **out);

/* The same from objects (tests): key, cert and the chain's certificates are up-ref'd (the
 * caller keeps its own references); chain may be NULL. */
st_t plr_signer_new(EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain, const char *dm_id,
                    const char *station_id, plr_signer_t **out);

/* NULL-tolerant; the key is released with the object. */
void plr_signer_free(plr_signer_t *sg);

/*
 * The trust set for report verification: every certificate of chain_path (the DM CA; a chain
 * file as in [dm] chain), or, without a chain, the DM certificate itself. Caller owns *out.
 */
st_t plr_trust_load(const char *cert_path, const char *chain_path, cert_trust_t **out);

/* ---- build ---- */

typedef struct {
    uint64_t entries;
    uint64_t installed;
    uint64_t failed;
    uint64_t deleted;
    uint64_t failed_with_pir; /* failed entries that carry the card's BF37 */
} plr_counts_t;

/*
 * Builds the signed .ifppl of report `rep` (a row of store_report_create/get) from the results
 * it claimed, and appends the CMS DER to *out. Installed PIRs the engine did not mark verified
 * are verified here with CERT.EUICC (ST_E_BAD_SIGNATURE, logged with the transaction, when one
 * does not); the signature is checked before the function returns (self-check). `counts` may
 * be NULL. ST_E_NOENT for a report without results.
 */
st_t plr_build(store_t *s, const plr_signer_t *sg, const store_report_t *rep, buf_t *out,
               plr_counts_t *counts);

/* The file name of a report (see above) into out (PLR_NAME_MAX is enough); `when` UTC. */
st_t plr_file_name(const char *smdpf_oid, const char *station_id, int64_t when,
                   const uint8_t report_id[STORE_ID_LEN], char *out, size_t len);

/* ---- export ---- */

typedef enum {
    PLR_FILE_NEW = 0,       /* a new report of results not reported before */
    PLR_FILE_RECOVERED = 1, /* a report claimed by an export that did not finish */
    PLR_FILE_AGAIN = 2,     /* --again: an exported report written once more */
} plr_file_kind_t;

/* One report file written (or, for a recovered one, found complete in DIR). */
typedef struct {
    plr_file_kind_t kind;
    char path[PLR_PATH_MAX];
    uint8_t report_id[STORE_ID_LEN];
    char smdpf_oid[STORE_OID_MAX];
    plr_counts_t counts;
} plr_file_t;

/* Called after each file is durable and marked exported; borrowed for the call. A status
 * other than ST_OK stops the export. */
typedef st_t (*plr_file_cb)(void *ud, const plr_file_t *f);

typedef struct {
    const char *smdpf_oid; /* only this SM-DPf; NULL: every SM-DPf with bundles in the store */
    const uint8_t *again;  /* STORE_ID_LEN bytes: re-export this report only; NULL: new results */
    /* Directory of the export journal (the state directory): required for new exports (it is
     * what makes a crash recoverable); it also holds the lock (plr.lock) that keeps two
     * exports from running at once (ST_E_LOCKED). */
    const char *journal_dir;
    const char *actor; /* audit actor; NULL: "report" */
    /* > 0: new reports carry only the results recorded at or after this time (Unix seconds)
     * and not after the export; 0: every unreported result. Not with `again`; reports left
     * claimed by an interrupted export are recovered whole. */
    int64_t since;
    plr_file_cb on_file;
    void *ud;
} plr_export_opts_t;

typedef struct {
    unsigned files;     /* files written (every kind) */
    unsigned recovered; /* of which recovered */
    unsigned failed;    /* reports that could not be exported (each logged) */
    uint64_t entries;   /* entries in the files written */
} plr_export_sum_t;

/*
 * Exports into directory `dir` (see the top of this file): first the reports an interrupted
 * export left claimed (of the selected SM-DPf), then one new report per SM-DPf with unreported
 * results; or, with o->again, that report alone (ST_E_NOENT if unknown). Nothing new to report
 * writes nothing and returns ST_OK. Each report that fails is logged and counted, the others
 * still go out; the first failure's status is returned. `sum` may be NULL.
 */
st_t plr_export(store_t *s, const plr_signer_t *sg, const char *dir, const plr_export_opts_t *o,
                plr_export_sum_t *sum);

/* ---- verify ---- */

typedef struct {
    uint8_t report_id[STORE_ID_LEN];
    char smdpf_oid[STORE_OID_MAX];
    char dm_id[PLR_ID_MAX];
    char station_id[PLR_ID_MAX];
    char signer[256]; /* the signer's subject, one line */
    int64_t period_start, period_end;
    size_t n_bundles;
    plr_counts_t counts;
    uint64_t pirs_verified; /* PIR signatures checked with CERT.EUICC */
    int64_t exported_at;    /* from the store; 0 when the store never marked it exported */
    size_t bad_entry;       /* on failure: the entry index, or SIZE_MAX for the whole file */
    char reason[512];       /* on failure: why, one line for the operator */
} plr_summary_t;

/*
 * Verifies a report file against the trust set (plr_trust_load) and the store: the CMS
 * signature, the signer's chain and DM role; the content decodes; the report is one this
 * store issued (reportId) for that SM-DPf, with exactly the results it claimed (same
 * transactions, EIDs, kinds, BF37 bytes, in order: so the counts match); every PIR parses,
 * names the entry's transaction and the report's SM-DPf, agrees with the entry's kind, and its
 * euiccSignPIR verifies with CERT.EUICC from the store. ST_OK when all hold; otherwise the
 * first mismatch's status (ST_E_BAD_SIGNATURE, ST_E_UNTRUSTED, ST_E_PARSE, ST_E_NOENT,
 * ST_E_CONFLICT...) with sum->reason saying what and where. sum is required.
 */
st_t plr_verify(store_t *s, cert_trust_t *trust, const uint8_t *der, size_t len,
                plr_summary_t *sum);
/* The same on a file (at most 1 GiB). */
st_t plr_verify_file(store_t *s, cert_trust_t *trust, const char *path, plr_summary_t *sum);

#endif
