/*
 * import.h - the import engine (DESIGN §5, §8): eUICC data (.ifppe, Esed2/ESED201) and bundles
 * of BPPs (.ifppb + .ifppb.p7s, ESBPP01) from files or from a scanned directory (a mounted
 * stick) into the store. A library: it never prints. Progress goes through a callback; every
 * file gets one import_file_t in the report, naming the file, the entry and the reason.
 *
 * What is checked (nothing reaches the store unless all of it holds):
 *   .ifppe  CMS attached; the signer is an EUM certificate chaining to a configured CI and is
 *           the batch's eumCertificate; every eUICC chain CI -> EUM -> eUICC with the GSMA
 *           EID-prefix rule (cert_verify_euicc_chain), the EID equals the certificate's; every
 *           one-time key signature by SK.EUICC over ifpp_otk_tbs(). Size limit 64 MiB (the
 *           attached CMS is verified in memory).
 *   .ifppb  detached CMS FILE.ifppb.p7s beside it over the file's bytes: signer chains to a
 *           configured CI, is an SM-DPf certificate (dp-auth or dp-pb) whose SAN registeredID
 *           is in the allowed list and equals the header's smdpfOid; CERT.DPpb (first header
 *           certificate, the rest as intermediates) verifies with role dp-pb and carries the
 *           same OID. Per BPP (pre-flight): bpp_parse structure and CRT, entry transactionId ==
 *           BF23 transactionId; eUICC known -> the one-time key is known, unused or
 *           requested (it becomes bound), and smdpSign verifies with PK.DPpb over
 *           bpp_smdp_sign_tbs(its otPK) (a mis-bound BPP is refused here, not on the line);
 *           eUICC unknown -> policy refuse or hold (stored pending, checked by the card).
 *           transactionId unique per SM-DPf (in the file and against the store), one live
 *           BPP per one-time key.
 *
 * Bundles are streamed: ONE pass over the file. The bundle reader parses entry by entry (memory
 * bounded by the largest entry, <= IFPP_MAX_ENTRY_LEN) and tees every byte it consumes into a
 * small queue that cms_verify_detached() reads as its content BIO, so the CMS digest, the
 * structure, the pre-flight and the inserts all happen in that single read. Everything goes
 * into one store transaction that commits only after the signature verified at the end of the
 * pass (all-or-nothing; a crash at any point leaves the bundle absent). The file's SHA-256 (the
 * store's idempotency key) is the signed messageDigest, proven by that verification.
 * Same bundleId with the same bytes = unchanged; same bundleId with other bytes = refused.
 * The write lock is held for the whole pass: a line worker's state change waits (busy timeout).
 *
 * Files and directories: a path naming a directory is scanned (not recursively): names are
 * taken in byte order, every entry is lstat'ed and opened with openat() relative to the
 * directory's fd with O_NOFOLLOW, so nothing outside it is read. Symbolic links are refused
 * (never followed), names containing ".." are refused, other non-regular entries and names
 * without an IFPP suffix are skipped (reported), a .p7s is taken with its .ifppb. A path naming a
 * file is opened the same way relative to its parent (the file itself must not be a symlink;
 * its parent path is the caller's choice). All eUICC data files of a run are imported before
 * its bundles, so a stick carrying both pre-flights the bundles against the new data.
 * Every file gets an audit row: import.edata / import.bundle (imported or unchanged, in the
 * same transaction as the data) or import.refused (after the rollback).
 */
#ifndef IFPP_IMPORT_H
#define IFPP_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "crypto/cert.h"
#include "store.h"

#define IMPORT_NO_ENTRY   SIZE_MAX
#define IMPORT_REASON_MAX 320
#define IMPORT_EDATA_MAX  (64u << 20) /* an attached CMS is verified in memory (cms.c limit) */

typedef enum {
    IMPORT_UNKNOWN_EID_REFUSE = 0, /* same values as config_unknown_eid_t */
    IMPORT_UNKNOWN_EID_HOLD = 1,
} import_unknown_eid_t;

typedef enum {
    IMPORT_KIND_OTHER = 0,
    IMPORT_KIND_EDATA = 1,  /* .ifppe */
    IMPORT_KIND_BUNDLE = 2, /* .ifppb (+ .ifppb.p7s) */
} import_kind_t;

typedef enum {
    IMPORT_IMPORTED = 0,  /* new data committed */
    IMPORT_UNCHANGED = 1, /* everything already there (same bundle, same eUICC data) */
    IMPORT_REFUSED = 2,   /* nothing of this file imported; st/entry/reason say why */
    IMPORT_SKIPPED = 3,   /* not an IFPP file (directory scan), nothing read */
} import_outcome_t;

/* The outcome of one file. */
typedef struct {
    char *file; /* as reported: the path given, or DIR/NAME for a scanned entry; owned */
    import_kind_t kind;
    import_outcome_t outcome;
    st_t st;      /* refused: the status behind the reason; ST_OK otherwise */
    size_t entry; /* refused in entry N (bundle entry / eUICC, 0-based) or IMPORT_NO_ENTRY */
    size_t key;   /* .ifppe: the one-time key index inside the entry, or IMPORT_NO_ENTRY */
    bool has_eid;
    uint8_t eid[STORE_EID_LEN];
    bool has_bundle_id;
    uint8_t bundle_id[STORE_ID_LEN];
    char smdpf_oid[STORE_OID_MAX];  /* bundles: the signer's OID once known */
    char reason[IMPORT_REASON_MAX]; /* refused/skipped: why; "" otherwise */
    uint64_t n_bpps;                /* bundles: BPPs imported (held ones included) */
    uint64_t n_held;                /* bundles: BPPs for eUICCs without data (policy hold) */
    uint64_t n_euiccs, n_euiccs_new, n_keys, n_keys_new; /* .ifppe */
    uint64_t bytes;                                      /* bytes read from the file */
} import_file_t;

typedef struct {
    import_file_t *v; /* owned; import_report_free */
    size_t n;
    size_t n_imported, n_unchanged, n_refused, n_skipped;
} import_report_t;

/* Progress of the file being imported (callback). */
typedef struct {
    const char *file;
    import_kind_t kind;
    uint64_t bytes_done, bytes_total;
    uint64_t entries_done, entries_total; /* BPPs / eUICCs */
    bool done;                            /* last call for this file */
} import_progress_t;

typedef void (*import_progress_fn)(const import_progress_t *p, void *ud);

typedef struct {
    store_t *store;                   /* read-write, borrowed; no transaction open */
    cert_trust_t *trust;              /* the configured CIs, borrowed */
    const char *const *allowed_smdpf; /* dotted OIDs whose bundles are accepted */
    size_t n_allowed;
    import_unknown_eid_t unknown_eid;
    const char *actor;           /* audit actor; NULL: "import" */
    import_progress_fn progress; /* may be NULL */
    void *progress_ud;
} import_opts_t;

/*
 * Imports every path (file or directory, see above), appending one import_file_t per file to
 * *rep (which the caller initialised to zero and frees with import_report_free). Returns ST_OK
 * when nothing was refused, the first refusal's status otherwise (ST_E_INVAL/ST_E_NOMEM for
 * errors that stop the whole run; then *rep holds what was done so far).
 */
st_t import_paths(const import_opts_t *o, const char *const *paths, size_t n, import_report_t *rep);

/* Frees the contents of rep; NULL-tolerant; leaves it zeroed. */
void import_report_free(import_report_t *rep);

/*
 * One line for the operator, without a trailing newline:
 *   refused   "FILE: entry 12 (EID 89049032...): smdpSign does not verify ..." (entry/EID
 *             only when known)
 *   imported  "FILE: imported 10000 BPPs (bundle 0123..., SM-DPf 2.999.10), 3 held"
 *   unchanged "FILE: unchanged (bundle 0123... already imported)"
 *   skipped   "FILE: skipped: not an IFPP file"
 * Returns buf (always NUL-terminated when len > 0).
 */
const char *import_file_format(const import_file_t *f, char *buf, size_t len);

const char *import_outcome_name(import_outcome_t o); /* "imported", "refused"... */

#endif
